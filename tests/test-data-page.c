/* The Data page in a real window: the grid over a small dataset written
 * here, filtering, selection, a failed load that keeps the dataset shown,
 * and Fashion-MNIST when it is installed. Saves PNGs of what it shows. */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <string.h>

#include "lam-boundary-view.h"
#include "lam-data-page.h"
#include "lam-test-util.h"

#define N_TRAIN 300
#define N_TEST 60
#define N_CLASSES 3
#define SIDE 28

/* ---- a small IDX dataset: three classes of 28×28 patterns ---- */

/* Class 0: horizontal stripes, 1: vertical stripes, 2: a ring; each shifted
 * and noisy so that no two images are the same. */
static guint8
pattern_pixel (int label, int x, int y, int shift, int noise)
{
  gboolean on = FALSE;
  if (label == 0) {
    on = ((y + shift) / 4) % 2 == 0;
  } else if (label == 1) {
    on = ((x + shift) / 4) % 2 == 0;
  } else {
    int dx = x - 14 - shift % 3, dy = y - 14;
    int r2 = dx * dx + dy * dy;
    on = r2 >= 49 && r2 <= 121;
  }
  return (guint8) CLAMP ((on ? 200 : 20) + noise, 0, 255);
}

static void
write_patterns (const char *dir, const char *prefix, int n, guint32 seed, int *counts)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  gsize image_size = SIDE * SIDE;
  g_autofree guint8 *images = g_new (guint8, n * image_size);
  g_autofree guint8 *labels = g_new (guint8, n);
  for (int i = 0; i < n; i++) {
    int label = g_rand_int_range (rng, 0, N_CLASSES);
    int shift = g_rand_int_range (rng, 0, 8);
    labels[i] = (guint8) label;
    if (counts != NULL)
      counts[label]++;
    for (int y = 0; y < SIDE; y++)
      for (int x = 0; x < SIDE; x++)
        images[i * image_size + y * SIDE + x] =
          pattern_pixel (label, x, y, shift, g_rand_int_range (rng, -20, 21));
  }
  g_autofree char *images_name = g_strdup_printf ("%s-images-idx3-ubyte", prefix);
  g_autofree char *labels_name = g_strdup_printf ("%s-labels-idx1-ubyte", prefix);
  g_autofree char *images_path = g_build_filename (dir, images_name, NULL);
  g_autofree char *labels_path = g_build_filename (dir, labels_name, NULL);
  guint32 image_dims[] = { n, SIDE, SIDE };
  guint32 label_dims[] = { n };
  lam_test_write_idx (images_path, 0x803, 3, image_dims, images, n * image_size);
  lam_test_write_idx (labels_path, 0x801, 1, label_dims, labels, n);
}

/* ---- the main loop ---- */

static gboolean
give_up (gpointer user_data)
{
  g_error ("%s did not happen within a minute", (const char *) user_data);
  return G_SOURCE_REMOVE;
}

#define WAIT_UNTIL(condition)                                                        \
  G_STMT_START                                                                       \
  {                                                                                  \
    guint timeout_ = g_timeout_add_seconds (60, give_up, (gpointer) #condition);     \
    while (!(condition))                                                             \
      g_main_context_iteration (NULL, TRUE);                                         \
    g_source_remove (timeout_);                                                      \
  }                                                                                  \
  G_STMT_END

typedef struct
{
  gboolean done;
  gboolean ok;
  GError *error;
} LoadWait;

static void
load_finished (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LoadWait *wait = user_data;
  wait->ok = lam_session_load_dataset_finish (LAM_SESSION (source), result, &wait->error);
  wait->done = TRUE;
}

static void
load_dataset (LamSession *session, const char *dir)
{
  LoadWait wait = { 0 };
  lam_session_load_dataset_async (session, dir, NULL, load_finished, &wait);
  WAIT_UNTIL (wait.done);
  g_assert_no_error (wait.error);
  g_assert_true (wait.ok);
}

static gboolean
count_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  (*(int *) user_data)++;
  return G_SOURCE_CONTINUE;
}

/* Lets the window lay out and paint a few frames. */
static void
wait_frames (GtkWidget *window, int n)
{
  int ticks = 0;
  guint id = gtk_widget_add_tick_callback (window, count_tick, &ticks, NULL);
  WAIT_UNTIL (ticks >= n);
  gtk_widget_remove_tick_callback (window, id);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

/* ---- pictures ---- */

static GdkTexture *
render_widget (GtkWidget *widget)
{
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_assert_cmpint (width, >, 0);
  g_assert_cmpint (height, >, 0);
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  return gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
}

static void
save_png (GtkWidget *window, const char *name)
{
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir != NULL ? dir : ".", name, NULL);
  g_autoptr (GdkTexture) texture = render_widget (window);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("saved %s", path);
}

/* How many different grey levels a widget shows: an empty or blank
 * rendering has one or two. */
static guint
count_levels (GtkWidget *widget)
{
  g_autoptr (GdkTexture) texture = render_widget (widget);
  int width = gdk_texture_get_width (texture), height = gdk_texture_get_height (texture);
  g_autofree guint8 *data = g_new (guint8, (gsize) width * height * 4);
  gdk_texture_download (texture, data, (gsize) width * 4);
  gboolean seen[256] = { FALSE };
  guint levels = 0;
  for (gsize p = 0; p < (gsize) width * height; p++) {
    guint8 green = data[p * 4 + 1];
    if (!seen[green]) {
      seen[green] = TRUE;
      levels++;
    }
  }
  return levels;
}

/* ---- fixture: the page in a window over the small dataset ---- */

typedef struct
{
  char *dir;
  int counts[N_CLASSES];
  LamSession *session;
  GtkWidget *window;
  LamDataPage *page;
  LamSampleGrid *grid;
} Fixture;

static void
open_window (Fixture *fixture)
{
  fixture->window = gtk_window_new ();
  gtk_window_set_title (GTK_WINDOW (fixture->window), "Lamina");
  gtk_window_set_default_size (GTK_WINDOW (fixture->window), 1200, 800);
  fixture->page = LAM_DATA_PAGE (lam_data_page_new (fixture->session));
  fixture->grid = lam_data_page_get_grid (fixture->page);
  gtk_window_set_child (GTK_WINDOW (fixture->window), GTK_WIDGET (fixture->page));
  gtk_window_present (GTK_WINDOW (fixture->window));
  WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (fixture->grid)) ||
              gtk_widget_get_mapped (GTK_WIDGET (fixture->page)));
  wait_frames (fixture->window, 3);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  fixture->dir = g_dir_make_tmp ("lamina-data-page-XXXXXX", &error);
  g_assert_no_error (error);
  write_patterns (fixture->dir, "train", N_TRAIN, 7, fixture->counts);
  write_patterns (fixture->dir, "t10k", N_TEST, 8, NULL);
  g_autofree char *classes = g_build_filename (fixture->dir, "classes.txt", NULL);
  g_file_set_contents (classes, "Stripes\nBars\nRing\n", -1, &error);
  g_assert_no_error (error);

  fixture->session = lam_session_new ();
  if (data == NULL)
    load_dataset (fixture->session, fixture->dir);
  open_window (fixture);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (fixture->window));
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
  g_clear_object (&fixture->session);
  lam_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

/* ---- tests ---- */

/* Presentation mode as the window's style sheet gives it: every text half
 * as large again. */
static void
set_presentation (Fixture *fixture)
{
  static GtkCssProvider *css; /* for the display, once */
  if (css == NULL) {
    css = gtk_css_provider_new ();
    gtk_css_provider_load_from_resource (css, "/org/lamina/Lamina/ui/style.css");
    gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                                GTK_STYLE_PROVIDER (css),
                                                GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  }
  gtk_widget_add_css_class (fixture->window, "presentation");
  wait_frames (fixture->window, 4);
}

static void
test_grid_all_samples (Fixture *fixture, gconstpointer data)
{
  g_assert_cmpuint (lam_sample_grid_get_n_visible_samples (fixture->grid), ==, N_TRAIN);
  for (guint i = 0; i < N_TRAIN; i++)
    g_assert_cmpint (lam_sample_grid_get_sample_at (fixture->grid, i), ==, (int) i);
  g_assert_cmpint (lam_sample_grid_get_sample_at (fixture->grid, N_TRAIN), ==, -1);
  g_assert_cmpint (lam_sample_grid_get_selected (fixture->grid), ==, 0);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (fixture->grid)));
  g_assert_cmpuint (count_levels (GTK_WIDGET (fixture->grid)), >, 100);
}

static void
test_grid_filter (Fixture *fixture, gconstpointer data)
{
  const LamDataset *dataset = lam_session_get_train_set (fixture->session);
  g_assert_cmpint (fixture->counts[1], >, 0);

  lam_data_page_set_class_filter (fixture->page, 1);
  g_assert_cmpint (lam_sample_grid_get_filter (fixture->grid), ==, 1);
  guint n = lam_sample_grid_get_n_visible_samples (fixture->grid);
  g_assert_cmpuint (n, ==, (guint) fixture->counts[1]);
  for (guint i = 0; i < n; i++) {
    int index = lam_sample_grid_get_sample_at (fixture->grid, i);
    g_assert_cmpint (index, >=, 0);
    g_assert_cmpint (dataset->labels[index], ==, 1);
  }
  /* The selection follows the filter. */
  int selected = lam_sample_grid_get_selected (fixture->grid);
  g_assert_cmpint (selected, >=, 0);
  g_assert_cmpint (dataset->labels[selected], ==, 1);
  wait_frames (fixture->window, 2);
  save_png (fixture->window, "data-page-small-filtered.png");

  lam_data_page_set_class_filter (fixture->page, -1);
  g_assert_cmpuint (lam_sample_grid_get_n_visible_samples (fixture->grid), ==, N_TRAIN);
  /* A class the dataset does not have shows everything. */
  lam_data_page_set_class_filter (fixture->page, 17);
  g_assert_cmpint (lam_sample_grid_get_filter (fixture->grid), ==, -1);
}

/* The test images can be browsed too: the grid, the class counts and the
 * sample panel follow, and nothing says they are augmented. */
static void
test_browse_test_set (Fixture *fixture, gconstpointer data)
{
  const LamDataset *test = lam_session_get_test_set (fixture->session);
  g_assert_nonnull (test);
  g_assert_false (lam_data_page_get_showing_test (fixture->page));
  lam_data_page_set_showing_test (fixture->page, TRUE);
  g_assert_true (lam_data_page_get_showing_test (fixture->page));
  g_assert_cmpuint (lam_sample_grid_get_n_visible_samples (fixture->grid), ==, (guint) test->n);
  lam_sample_grid_set_selected (fixture->grid, test->n - 1);
  g_assert_cmpint (lam_sample_grid_get_selected (fixture->grid), ==, test->n - 1);
  /* Per-class filtering counts the test images. */
  lam_data_page_set_class_filter (fixture->page, 1);
  guint n = lam_sample_grid_get_n_visible_samples (fixture->grid);
  guint expected = 0;
  for (int i = 0; i < test->n; i++)
    expected += test->labels[i] == 1;
  g_assert_cmpuint (n, ==, expected);
  lam_data_page_set_class_filter (fixture->page, -1);
  wait_frames (fixture->window, 2);
  save_png (fixture->window, "data-page-test-set.png");

  lam_data_page_set_showing_test (fixture->page, FALSE);
  g_assert_cmpuint (lam_sample_grid_get_n_visible_samples (fixture->grid), ==, N_TRAIN);
}

/* Another dataset opens on its training images: the test part chosen for
 * the last one does not carry over, least of all to a table, whose rows
 * have no part chooser to switch back with. */
static void
test_another_dataset_shows_training (Fixture *fixture, gconstpointer data)
{
  lam_data_page_set_showing_test (fixture->page, TRUE);
  g_assert_true (lam_data_page_get_showing_test (fixture->page));

  g_autofree char *table = g_build_filename (fixture->dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (table, 200, 2, 3, 4);
  lam_data_page_load_folder (fixture->page, table);
  WAIT_UNTIL (!lam_session_get_loading (fixture->session));
  g_assert_null (lam_data_page_get_error_message (fixture->page));
  const LamDataset *train = lam_session_get_train_set (fixture->session);
  const LamDataset *test = lam_session_get_test_set (fixture->session);
  g_assert_true (lam_dataset_is_table (train));
  g_assert_nonnull (test);
  g_assert_cmpint (test->n, !=, train->n);
  g_assert_false (lam_data_page_get_showing_test (fixture->page));
  GtkColumnView *rows = lam_data_page_get_table_rows (fixture->page);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (gtk_column_view_get_model (rows))), ==,
                    (guint) train->n);
  wait_frames (fixture->window, 2);
  save_png (fixture->window, "data-page-table-after-test-images.png");

  /* And back to images: their training part again. */
  lam_data_page_load_folder (fixture->page, fixture->dir);
  WAIT_UNTIL (!lam_session_get_loading (fixture->session));
  g_assert_false (lam_data_page_get_showing_test (fixture->page));
  g_assert_cmpuint (lam_sample_grid_get_n_visible_samples (fixture->grid), ==, N_TRAIN);
}

static void
test_grid_select (Fixture *fixture, gconstpointer data)
{
  const LamDataset *dataset = lam_session_get_train_set (fixture->session);
  lam_sample_grid_set_selected (fixture->grid, 123);
  g_assert_cmpint (lam_sample_grid_get_selected (fixture->grid), ==, 123);

  /* Filtering to the selected sample's class keeps it selected. */
  int label = dataset->labels[123];
  lam_data_page_set_class_filter (fixture->page, label);
  g_assert_cmpint (lam_sample_grid_get_selected (fixture->grid), ==, 123);

  /* A sample the filter hides cannot be selected. */
  int other = -1;
  for (int i = 0; i < dataset->n && other < 0; i++)
    if (dataset->labels[i] != label)
      other = i;
  g_assert_cmpint (other, >=, 0);
  lam_sample_grid_set_selected (fixture->grid, other);
  g_assert_cmpint (lam_sample_grid_get_selected (fixture->grid), ==, 123);

  /* Zooming keeps the selection and redraws. */
  lam_sample_grid_set_cell_size (fixture->grid, 112);
  g_assert_cmpint (lam_sample_grid_get_cell_size (fixture->grid), ==, 112);
  lam_sample_grid_set_cell_size (fixture->grid, 1000);
  g_assert_cmpint (lam_sample_grid_get_cell_size (fixture->grid), ==,
                   LAM_SAMPLE_GRID_MAX_CELL_SIZE);
  wait_frames (fixture->window, 2);
  g_assert_cmpint (lam_sample_grid_get_selected (fixture->grid), ==, 123);
  save_png (fixture->window, "data-page-small-zoomed.png");
}

static void
sample_activated (LamSampleGrid *grid, int index, gpointer user_data)
{
  *(int *) user_data = index;
}

static void
move (LamSampleGrid *grid, LamSampleGridStep step, int amount)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (grid), "sample-grid.move-cursor", "(ii)",
                                             step, amount));
}

static void
test_grid_keyboard (Fixture *fixture, gconstpointer data)
{
  LamSampleGrid *grid = fixture->grid;
  const LamDataset *dataset = lam_session_get_train_set (fixture->session);
  g_assert_cmpint (lam_sample_grid_get_selected (grid), ==, 0);

  move (grid, LAM_SAMPLE_GRID_STEP_ITEMS, 1);
  g_assert_cmpint (lam_sample_grid_get_selected (grid), ==, 1);
  move (grid, LAM_SAMPLE_GRID_STEP_ROWS, 1);
  int columns = lam_sample_grid_get_selected (grid) - 1;
  g_test_message ("%d columns", columns);
  g_assert_cmpint (columns, >=, 4);
  move (grid, LAM_SAMPLE_GRID_STEP_ROWS, -1);
  g_assert_cmpint (lam_sample_grid_get_selected (grid), ==, 1);
  move (grid, LAM_SAMPLE_GRID_STEP_ROWS, -1);
  g_assert_cmpint (lam_sample_grid_get_selected (grid), ==, 1);
  move (grid, LAM_SAMPLE_GRID_STEP_ITEMS, -5);
  g_assert_cmpint (lam_sample_grid_get_selected (grid), ==, 0);

  move (grid, LAM_SAMPLE_GRID_STEP_PAGES, 1);
  int page = lam_sample_grid_get_selected (grid);
  g_assert_cmpint (page % columns, ==, 0);
  g_assert_cmpint (page, >=, 2 * columns);

  move (grid, LAM_SAMPLE_GRID_STEP_ENDS, 1);
  g_assert_cmpint (lam_sample_grid_get_selected (grid), ==, N_TRAIN - 1);
  move (grid, LAM_SAMPLE_GRID_STEP_ROWS, 1);
  g_assert_cmpint (lam_sample_grid_get_selected (grid), ==, N_TRAIN - 1);
  move (grid, LAM_SAMPLE_GRID_STEP_ENDS, -1);
  g_assert_cmpint (lam_sample_grid_get_selected (grid), ==, 0);

  /* Within a class, the cursor walks that class's samples. */
  lam_data_page_set_class_filter (fixture->page, 2);
  move (grid, LAM_SAMPLE_GRID_STEP_ENDS, 1);
  int last = -1;
  for (int i = 0; i < dataset->n; i++)
    if (dataset->labels[i] == 2)
      last = i;
  g_assert_cmpint (lam_sample_grid_get_selected (grid), ==, last);

  int activated = -1;
  g_signal_connect (grid, "sample-activated", G_CALLBACK (sample_activated), &activated);
  g_assert_true (
    gtk_widget_activate_action (GTK_WIDGET (grid), "sample-grid.activate-cursor", NULL));
  g_assert_cmpint (activated, ==, last);
}

static void
test_error_keeps_dataset (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *empty = g_dir_make_tmp ("lamina-empty-XXXXXX", &error);
  g_assert_no_error (error);

  lam_data_page_load_folder (fixture->page, empty);
  g_assert_true (lam_session_get_loading (fixture->session));
  WAIT_UNTIL (!lam_session_get_loading (fixture->session) &&
              lam_data_page_get_error_message (fixture->page) != NULL);

  const char *message = lam_data_page_get_error_message (fixture->page);
  g_test_message ("error shown: %s", message);
  g_assert_nonnull (strstr (message, empty));
  g_assert_cmpuint (lam_sample_grid_get_n_visible_samples (fixture->grid), ==, N_TRAIN);
  g_assert_cmpstr (lam_session_get_dataset_dir (fixture->session), ==, fixture->dir);
  wait_frames (fixture->window, 2);
  save_png (fixture->window, "data-page-error.png");

  /* A dataset that loads clears the error. */
  lam_data_page_load_folder (fixture->page, fixture->dir);
  WAIT_UNTIL (!lam_session_get_loading (fixture->session));
  g_assert_null (lam_data_page_get_error_message (fixture->page));
  g_rmdir (empty);
}

static void
test_empty (Fixture *fixture, gconstpointer data)
{
  g_assert_cmpuint (lam_sample_grid_get_n_visible_samples (fixture->grid), ==, 0);
  g_assert_cmpint (lam_sample_grid_get_selected (fixture->grid), ==, -1);
  save_png (fixture->window, "data-page-empty.png");

  g_autofree char *missing = g_build_filename (fixture->dir, "not-here", NULL);
  lam_data_page_load_folder (fixture->page, missing);
  WAIT_UNTIL (!lam_session_get_loading (fixture->session) &&
              lam_data_page_get_error_message (fixture->page) != NULL);
  g_assert_nonnull (strstr (lam_data_page_get_error_message (fixture->page), missing));
  g_assert_false (lam_session_get_has_dataset (fixture->session));
  wait_frames (fixture->window, 2);
  save_png (fixture->window, "data-page-empty-error.png");

  /* The first dataset that loads fills the page. */
  lam_data_page_load_folder (fixture->page, fixture->dir);
  WAIT_UNTIL (!lam_session_get_loading (fixture->session));
  g_assert_cmpuint (lam_sample_grid_get_n_visible_samples (fixture->grid), ==, N_TRAIN);
  g_assert_cmpint (lam_sample_grid_get_selected (fixture->grid), ==, 0);
}

static void
test_fashion_mnist (Fixture *fixture, gconstpointer data)
{
  if (!g_file_test (LAM_DATASET_DEFAULT_DIR, G_FILE_TEST_IS_DIR)) {
    g_test_skip ("Fashion-MNIST is not installed at " LAM_DATASET_DEFAULT_DIR
                 " (Debian's dataset-fashion-mnist package)");
    return;
  }

  /* A new dataset resets what the page shows of the old one. */
  lam_data_page_set_class_filter (fixture->page, 1);
  lam_sample_grid_set_cell_size (fixture->grid, 84);

  gint64 start = g_get_monotonic_time ();
  lam_data_page_load_folder (fixture->page, LAM_DATASET_DEFAULT_DIR);
  wait_frames (fixture->window, 2);
  if (lam_session_get_loading (fixture->session))
    save_png (fixture->window, "data-page-loading.png");
  WAIT_UNTIL (!lam_session_get_loading (fixture->session));
  g_assert_null (lam_data_page_get_error_message (fixture->page));
  g_test_message ("Fashion-MNIST loaded in %.2f s", (g_get_monotonic_time () - start) / 1e6);

  const LamDataset *dataset = lam_session_get_train_set (fixture->session);
  g_assert_cmpint (dataset->n, ==, 60000);
  g_assert_cmpuint (lam_sample_grid_get_n_visible_samples (fixture->grid), ==, 60000);
  g_assert_cmpint (lam_sample_grid_get_filter (fixture->grid), ==, -1);
  g_assert_cmpint (lam_sample_grid_get_selected (fixture->grid), ==, 0);
  lam_sample_grid_set_cell_size (fixture->grid, 56);
  g_assert_cmpint (lam_sample_grid_get_sample_at (fixture->grid, 59999), ==, 59999);

  /* Scroll through all 60,000 and time the grid's frames: drawn (new
   * rows) and rendered, as the window would. */
  wait_frames (fixture->window, 2);
  GtkAdjustment *vadjustment = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (fixture->grid));
  double end = gtk_adjustment_get_upper (vadjustment) - gtk_adjustment_get_page_size (vadjustment);
  g_assert_cmpfloat (end, >, 0);
  g_test_message ("renderer: %s",
                  G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (fixture->window))));
  const int steps = 60;
  double step = gtk_adjustment_get_page_size (vadjustment) / 30;
  for (int smooth = 0; smooth <= 1; smooth++) {
    gint64 drawing = 0, rendering = 0;
    for (int i = 0; i < steps; i++) {
      gtk_adjustment_set_value (vadjustment, smooth ? end - step * i : end * (i + 1) / steps);
      gint64 t0 = g_get_monotonic_time ();
      GtkSnapshot *snapshot = gtk_snapshot_new ();
      gtk_widget_snapshot_child (gtk_widget_get_parent (GTK_WIDGET (fixture->grid)),
                                 GTK_WIDGET (fixture->grid), snapshot);
      g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
      gint64 t1 = g_get_monotonic_time ();
      g_assert_nonnull (node);
      graphene_rect_t bounds;
      gsk_render_node_get_bounds (node, &bounds);
      g_autoptr (GdkTexture) frame = gsk_renderer_render_texture (
        gtk_native_get_renderer (GTK_NATIVE (fixture->window)), node, &bounds);
      drawing += t1 - t0;
      rendering += g_get_monotonic_time () - t1;
    }
    g_test_message ("grid frames %s: %.2f ms drawing, %.1f ms rendering and reading back",
                    smooth ? "scrolling smoothly" : "jumping through 60,000 images",
                    drawing / 1e3 / steps, rendering / 1e3 / steps);
  }

  gtk_adjustment_set_value (vadjustment, end);
  wait_frames (fixture->window, 2);
  g_assert_cmpfloat (gtk_adjustment_get_value (vadjustment), ==, end);
  g_assert_cmpuint (count_levels (GTK_WIDGET (fixture->grid)), >, 100);

  /* The last sample is reachable by selection, and scrolls into view. */
  lam_sample_grid_set_selected (fixture->grid, 0);
  g_assert_cmpfloat (gtk_adjustment_get_value (vadjustment), ==, 0);
  lam_sample_grid_set_selected (fixture->grid, 59999);
  g_assert_cmpfloat (gtk_adjustment_get_value (vadjustment), ==, end);

  lam_sample_grid_set_selected (fixture->grid, 42);
  wait_frames (fixture->window, 3);
  save_png (fixture->window, "data-page.png");

  lam_data_page_set_class_filter (fixture->page, 7);
  guint n = lam_sample_grid_get_n_visible_samples (fixture->grid);
  g_assert_cmpuint (n, ==, 6000);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (dataset->labels[lam_sample_grid_get_sample_at (fixture->grid, i)], ==, 7);
  lam_sample_grid_set_cell_size (fixture->grid, 84);
  wait_frames (fixture->window, 3);
  save_png (fixture->window, "data-page-filtered.png");

  GtkSettings *settings = gtk_settings_get_default ();
  g_object_set (settings, "gtk-application-prefer-dark-theme", TRUE, NULL);
  lam_data_page_set_class_filter (fixture->page, -1);
  lam_sample_grid_set_cell_size (fixture->grid, 56);
  wait_frames (fixture->window, 3);
  save_png (fixture->window, "data-page-dark.png");
  g_object_set (settings, "gtk-application-prefer-dark-theme", FALSE, NULL);
}

/* A hundred classes, one with a name longer than a header row: choosing
 * it in the filter keeps the page as narrow as before, so that the window
 * still fits a 1024-pixel screen. */
static void
test_long_class_name (Fixture *fixture, gconstpointer data)
{
  g_autofree char *dir = lam_test_write_bars_dataset (1000, 100);
  const char *long_name = "Class seven, whose folder was named by someone who wanted every "
                          "detail of the pictures in it to be there in the name itself";
  g_autoptr (GString) names = g_string_new (NULL);
  for (int c = 0; c < 100; c++)
    if (c == 7)
      g_string_append_printf (names, "%s\n", long_name);
    else
      g_string_append_printf (names, "class %d\n", c);
  g_autofree char *classes = g_build_filename (dir, "classes.txt", NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (classes, names->str, -1, &error);
  g_assert_no_error (error);
  lam_data_page_load_folder (fixture->page, dir);
  WAIT_UNTIL (!lam_session_get_loading (fixture->session));
  g_assert_null (lam_data_page_get_error_message (fixture->page));
  g_assert_cmpstr (lam_session_get_train_set (fixture->session)->class_names[7], ==, long_name);
  wait_frames (fixture->window, 2);

  int all_width, all_natural;
  gtk_widget_measure (GTK_WIDGET (fixture->page), GTK_ORIENTATION_HORIZONTAL, -1, &all_width,
                      &all_natural, NULL, NULL);
  lam_data_page_set_class_filter (fixture->page, 7);
  g_assert_cmpuint (lam_sample_grid_get_n_visible_samples (fixture->grid), ==, 10);
  int chosen_width, chosen_natural;
  gtk_widget_measure (GTK_WIDGET (fixture->page), GTK_ORIENTATION_HORIZONTAL, -1, &chosen_width,
                      &chosen_natural, NULL, NULL);
  g_test_message ("the page needs %d pixels with all classes, %d with the long one", all_width,
                  chosen_width);
  g_assert_cmpint (chosen_width, <=, all_width);
  g_assert_cmpint (chosen_width, <=, 1024);
  wait_frames (fixture->window, 3);
  g_assert_cmpint (gtk_widget_get_width (fixture->window), <=, 1200);
  save_png (fixture->window, "data-page-long-class-name.png");

  lam_data_page_set_class_filter (fixture->page, 99);
  g_assert_cmpuint (lam_sample_grid_get_n_visible_samples (fixture->grid), ==, 10);
  lam_test_remove_tree (dir);
}

/* CIFAR-10's "automobile" in presentation mode at the smallest cells that
 * show captions: the caption wraps to a second line instead of "autom…",
 * and a screen reader hears the selected image's whole class in the
 * grid's description (the tooltip named it, the accessible grid did
 * not). */
static void
test_grid_caption_whole (Fixture *fixture, gconstpointer data)
{
  g_autofree char *classes = g_build_filename (fixture->dir, "classes.txt", NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (classes, "airplane\nautomobile\nRing\n", -1, &error);
  g_assert_no_error (error);
  lam_data_page_load_folder (fixture->page, fixture->dir);
  WAIT_UNTIL (!lam_session_get_loading (fixture->session));
  const LamDataset *train = lam_session_get_train_set (fixture->session);
  g_assert_cmpstr (train->class_names[1], ==, "automobile");
  set_presentation (fixture);
  lam_sample_grid_set_cell_size (fixture->grid, 48);
  wait_frames (fixture->window, 3);
  save_png (fixture->window, "data-page-caption-automobile.png");
  for (int c = 0; c < N_CLASSES; c++) {
    g_test_message ("\"%s\"%s", train->class_names[c],
                    lam_sample_grid_get_caption_cut (fixture->grid, c) ? " cut" : "");
    g_assert_false (lam_sample_grid_get_caption_cut (fixture->grid, c));
  }

  int index = 0;
  while (train->labels[index] != 1)
    index++;
  lam_sample_grid_set_selected (fixture->grid, index);
  g_autofree char *expected = lam_sample_grid_dup_sample_text (fixture->grid, index);
  g_assert_nonnull (strstr (expected, "automobile"));
  g_autofree char *mismatch = gtk_test_accessible_check_property (
    GTK_ACCESSIBLE (fixture->grid), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, expected);
  g_test_message ("the grid's description: %s", mismatch != NULL ? mismatch : expected);
  g_assert_null (mismatch);
  /* It follows the selection. */
  lam_sample_grid_set_selected (fixture->grid, index + 1);
  g_autofree char *next = lam_sample_grid_dup_sample_text (fixture->grid, index + 1);
  g_autofree char *next_mismatch = gtk_test_accessible_check_property (
    GTK_ACCESSIBLE (fixture->grid), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, next);
  g_assert_null (next_mismatch);
}

static guint
n_table_rows (Fixture *fixture)
{
  GtkColumnView *rows = lam_data_page_get_table_rows (fixture->page);
  return g_list_model_get_n_items (G_LIST_MODEL (gtk_column_view_get_model (rows)));
}

static void
sort_table_by (Fixture *fixture, guint column)
{
  GtkColumnView *rows = lam_data_page_get_table_rows (fixture->page);
  g_autoptr (GtkColumnViewColumn) by =
    g_list_model_get_item (gtk_column_view_get_columns (rows), column);
  gtk_column_view_sort_by_column (rows, by, GTK_SORT_DESCENDING);
  wait_frames (fixture->window, 2);
}

/* A table sorted by one of its columns, then another dataset: the rows
 * shown were re-sorted and redrawn from the table the session had just
 * freed, as the sorted column went (a crash, or classes read from freed
 * memory). */
static void
test_sorted_table_then_another (Fixture *fixture, gconstpointer data)
{
  g_autofree char *wide = g_build_filename (fixture->dir, "wide.csv", NULL);
  g_autofree char *narrow = g_build_filename (fixture->dir, "narrow.csv", NULL);
  lam_test_write_blobs_csv (wide, 300, 5, 3, 4);
  lam_test_write_blobs_csv (narrow, 100, 2, 2, 5);

  lam_data_page_load_folder (fixture->page, wide);
  WAIT_UNTIL (!lam_session_get_loading (fixture->session));
  sort_table_by (fixture, 4);
  lam_data_page_load_folder (fixture->page, narrow);
  WAIT_UNTIL (!lam_session_get_loading (fixture->session));
  g_assert_null (lam_data_page_get_error_message (fixture->page));
  g_assert_cmpuint (n_table_rows (fixture), ==,
                    (guint) lam_session_get_train_set (fixture->session)->n);
  wait_frames (fixture->window, 2);
  save_png (fixture->window, "data-page-table-after-sorted-table.png");

  /* Sorted by its classes, then images. */
  sort_table_by (fixture, 2);
  lam_data_page_load_folder (fixture->page, fixture->dir);
  WAIT_UNTIL (!lam_session_get_loading (fixture->session));
  g_assert_cmpuint (n_table_rows (fixture), ==, 0);
  g_assert_cmpuint (lam_sample_grid_get_n_visible_samples (fixture->grid), ==, N_TRAIN);
  wait_frames (fixture->window, 2);
}

/* A table's summary reached by the keyboard is not shown selected (GTK
 * selects a selectable label's whole text as the focus lands on it), and
 * it can still be selected to copy. */
static void
test_table_summary_unselected_on_focus (Fixture *fixture, gconstpointer data)
{
  g_autofree char *table = g_build_filename (fixture->dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (table, 120, 2, 3, 4);
  lam_data_page_load_folder (fixture->page, table);
  WAIT_UNTIL (!lam_session_get_loading (fixture->session));
  g_assert_null (lam_data_page_get_error_message (fixture->page));
  wait_frames (fixture->window, 2);

  GtkLabel *summary = GTK_LABEL (
    gtk_widget_get_template_child (GTK_WIDGET (fixture->page), LAM_TYPE_DATA_PAGE, "table_label"));
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (summary)));
  g_assert_cmpstr (gtk_label_get_text (summary), !=, "");
  gboolean select_on_focus = FALSE;
  g_object_get (gtk_widget_get_settings (GTK_WIDGET (summary)), "gtk-label-select-on-focus",
                &select_on_focus, NULL);
  g_assert_true (select_on_focus);

  /* Twice: the second arrival starts from a selection left by the user. */
  for (int round = 0; round < 2; round++) {
    /* The focus moves by Tab through gtk_widget_grab_focus. */
    g_assert_true (
      gtk_widget_grab_focus (GTK_WIDGET (lam_data_page_get_table_rows (fixture->page))));
    g_assert_true (gtk_widget_grab_focus (GTK_WIDGET (summary)));
    g_assert_true (gtk_widget_has_focus (GTK_WIDGET (summary)));
    wait_frames (fixture->window, 1);
    int start = -1, end = -1;
    g_assert_false (gtk_label_get_selection_bounds (summary, &start, &end));

    g_assert_true (gtk_label_get_selectable (summary));
    gtk_label_select_region (summary, 0, -1);
    g_assert_true (gtk_label_get_selection_bounds (summary, &start, &end));
    g_assert_cmpint (start, ==, 0);
    g_assert_cmpint (end, ==, g_utf8_strlen (gtk_label_get_text (summary), -1));
  }
}

/* The first label under widget whose text starts with prefix. */
static GtkLabel *
find_label_starting (GtkWidget *widget, const char *prefix)
{
  if (GTK_IS_LABEL (widget) && g_str_has_prefix (gtk_label_get_text (GTK_LABEL (widget)), prefix))
    return GTK_LABEL (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkLabel *found = find_label_starting (child, prefix);
    if (found != NULL)
      return found;
  }
  return NULL;
}

/* Gathers the labels under widget. */
static void
collect_labels (GtkWidget *widget, GPtrArray *labels)
{
  if (GTK_IS_LABEL (widget))
    g_ptr_array_add (labels, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_labels (child, labels);
}

/* A table of two inputs and a class in presentation mode, in a window of
 * 1014 pixels: each column's title lies whole in the rows panel's view,
 * which is as wide as its few columns. The panel kept its smallest width
 * and scrolled sideways, and the class column's "→ class" showed as
 * "→ cl" at its edge. PNG: data-page-table-presentation.png. */
static void
test_table_headers_readable (Fixture *fixture, gconstpointer data)
{
  g_autofree char *table = g_build_filename (fixture->dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (table, 120, 2, 3, 4);
  gtk_window_set_default_size (GTK_WINDOW (fixture->window), 1014, 740);
  lam_data_page_load_folder (fixture->page, table);
  WAIT_UNTIL (!lam_session_get_loading (fixture->session));
  g_assert_null (lam_data_page_get_error_message (fixture->page));
  set_presentation (fixture);
  wait_frames (fixture->window, 4);
  save_png (fixture->window, "data-page-table-presentation.png");

  GtkWidget *rows = GTK_WIDGET (lam_data_page_get_table_rows (fixture->page));
  GtkWidget *view = gtk_widget_get_ancestor (rows, GTK_TYPE_SCROLLED_WINDOW);
  g_autoptr (GPtrArray) labels = g_ptr_array_new ();
  /* The header is the column view's first child. */
  collect_labels (gtk_widget_get_first_child (rows), labels);
  g_test_message ("window %d wide, the rows' view %d wide", gtk_widget_get_width (fixture->window),
                  gtk_widget_get_width (view));
  g_assert_cmpuint (labels->len, ==, 3);
  for (guint i = 0; i < labels->len; i++) {
    GtkWidget *label = g_ptr_array_index (labels, i);
    graphene_rect_t bounds;
    g_assert_true (gtk_widget_compute_bounds (label, view, &bounds));
    g_test_message ("\"%s\" from x %.0f to %.0f", gtk_label_get_text (GTK_LABEL (label)),
                    bounds.origin.x, bounds.origin.x + bounds.size.width);
    g_assert_false (pango_layout_is_ellipsized (gtk_label_get_layout (GTK_LABEL (label))));
    g_assert_cmpfloat (bounds.origin.x, >=, 0);
    g_assert_cmpfloat (bounds.origin.x + bounds.size.width, <=, gtk_widget_get_width (view));
  }
}

static GtkWidget *
find_boundary_view (GtkWidget *widget)
{
  if (LAM_IS_BOUNDARY_VIEW (widget))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkWidget *found = find_boundary_view (child);
    if (found != NULL)
      return found;
  }
  return NULL;
}

/* A table of two inputs showed its points on a plane with nothing saying
 * which column was which axis: the plane names them after the columns. */
static void
test_table_plane_names_axes (Fixture *fixture, gconstpointer data)
{
  g_autofree char *exam = g_build_filename (fixture->dir, "exam.csv", NULL);
  lam_test_write_blobs_csv (exam, 120, 2, 2, 4);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (exam, &text, NULL, NULL));
  g_assert_true (g_str_has_prefix (text, "x1,x2,class\n"));
  g_autofree char *renamed =
    g_strconcat ("hours,marks,result\n", text + strlen ("x1,x2,class\n"), NULL);
  g_assert_true (g_file_set_contents (exam, renamed, -1, NULL));
  lam_data_page_load_folder (fixture->page, exam);
  WAIT_UNTIL (!lam_session_get_loading (fixture->session));
  g_assert_null (lam_data_page_get_error_message (fixture->page));
  wait_frames (fixture->window, 4);
  save_png (fixture->window, "data-page-table-plane-axes.png");
  GtkWidget *plane = find_boundary_view (GTK_WIDGET (fixture->page));
  g_assert_nonnull (plane);
  g_assert_true (gtk_widget_get_mapped (plane));
  g_assert_cmpstr (lam_boundary_view_get_axis_name (LAM_BOUNDARY_VIEW (plane), 0), ==, "hours");
  g_assert_cmpstr (lam_boundary_view_get_axis_name (LAM_BOUNDARY_VIEW (plane), 1), ==, "marks");
}

/* A table of one input and one target: the summary under its name read
 * "1 inputs → 1 values to predict". */
static void
test_table_summary_singular (Fixture *fixture, gconstpointer data)
{
  g_autofree char *line = g_build_filename (fixture->dir, "line.csv", NULL);
  lam_test_write_linear_csv (line, 200, 1, 1, 0.5, 3, NULL, NULL);
  lam_data_page_load_folder (fixture->page, line);
  WAIT_UNTIL (!lam_session_get_loading (fixture->session));
  g_assert_null (lam_data_page_get_error_message (fixture->page));
  wait_frames (fixture->window, 2);
  const LamDataset *train = lam_session_get_train_set (fixture->session);
  g_autofree char *prefix = g_strdup_printf ("%d rows, ", train->n);
  GtkLabel *summary = find_label_starting (GTK_WIDGET (fixture->page), prefix);
  g_assert_nonnull (summary);
  g_assert_true (g_str_has_suffix (gtk_label_get_text (summary), ", 1 input → 1 value to predict"));

  g_autofree char *wide = g_build_filename (fixture->dir, "wide.csv", NULL);
  lam_test_write_linear_csv (wide, 200, 3, 2, 0.5, 3, NULL, NULL);
  g_autofree char *two_targets = g_strconcat (wide, "?inputs=x1,x2,x3&targets=y1,y2", NULL);
  lam_data_page_load_folder (fixture->page, two_targets);
  WAIT_UNTIL (!lam_session_get_loading (fixture->session));
  wait_frames (fixture->window, 2);
  g_assert_true (
    g_str_has_suffix (gtk_label_get_text (summary), ", 3 inputs → 2 values to predict"));
}

int
main (int argc, char **argv)
{
  /* xvfb-run gives no session bus for the accessibility bridge; GTK's
   * test context needs none and keeps the accessible properties where
   * gtk_test_accessible_* read them ("none" keeps nothing). */
  g_setenv ("GTK_A11Y", "test", TRUE);
  gtk_init ();
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/data-page/grid/all-samples", Fixture, NULL, fixture_set_up,
              test_grid_all_samples, fixture_tear_down);
  g_test_add ("/data-page/grid/test-set", Fixture, NULL, fixture_set_up, test_browse_test_set,
              fixture_tear_down);
  g_test_add ("/data-page/grid/another-dataset-shows-training", Fixture, NULL, fixture_set_up,
              test_another_dataset_shows_training, fixture_tear_down);
  g_test_add ("/data-page/grid/filter-one-class", Fixture, NULL, fixture_set_up,
              test_grid_filter, fixture_tear_down);
  g_test_add ("/data-page/grid/long-class-name", Fixture, NULL, fixture_set_up,
              test_long_class_name, fixture_tear_down);
  g_test_add ("/data-page/grid/caption-whole", Fixture, NULL, fixture_set_up,
              test_grid_caption_whole, fixture_tear_down);
  g_test_add ("/data-page/grid/select-and-zoom", Fixture, NULL, fixture_set_up,
              test_grid_select, fixture_tear_down);
  g_test_add ("/data-page/grid/keyboard", Fixture, NULL, fixture_set_up, test_grid_keyboard,
              fixture_tear_down);
  g_test_add ("/data-page/table/sorted-then-another-dataset", Fixture, NULL, fixture_set_up,
              test_sorted_table_then_another, fixture_tear_down);
  g_test_add ("/data-page/table/summary-unselected-on-focus", Fixture, NULL, fixture_set_up,
              test_table_summary_unselected_on_focus, fixture_tear_down);
  g_test_add ("/data-page/table/summary-singular", Fixture, NULL, fixture_set_up,
              test_table_summary_singular, fixture_tear_down);
  g_test_add ("/data-page/table/headers-readable", Fixture, NULL, fixture_set_up,
              test_table_headers_readable, fixture_tear_down);
  g_test_add ("/data-page/table/plane-names-axes", Fixture, NULL, fixture_set_up,
              test_table_plane_names_axes, fixture_tear_down);
  g_test_add ("/data-page/error/keeps-dataset", Fixture, NULL, fixture_set_up,
              test_error_keeps_dataset, fixture_tear_down);
  g_test_add ("/data-page/empty/then-loaded", Fixture, "no dataset", fixture_set_up, test_empty,
              fixture_tear_down);
  g_test_add ("/data-page/fashion-mnist/scroll-filter", Fixture, NULL, fixture_set_up,
              test_fashion_mnist, fixture_tear_down);

  return g_test_run ();
}
