/* test-fit.c: the window on a projector's screen. Run under an X server
 * of the size under test (tests/meson.build starts one at 1024×768 and one
 * at 1280×800): in normal and in presentation mode, every page fits the
 * screen's width, no widget is drawn outside the window or outside the
 * scrolled view that holds it, and presentation mode scales every text —
 * headings and key figures too — by one factor. After a bundled table's
 * lesson the Train page's Progress column wraps its news within the column.
 * Every page of every dataset kind, freshly opened and trained, is no
 * taller than the screen leaves it. PNGs of every page in both modes, and
 * of those Train pages, go into the build's tests folder. */
#include <gtk/gtk.h>
#include <stdlib.h>
#include <string.h>

#include "lam-data-page.h"
#include "lam-evaluate-page.h"
#include "lam-fit-view.h"
#include "lam-playground-dialog.h"
#include "lam-model-page.h"
#include "lam-session.h"
#include "lam-table-dialog.h"
#include "lam-test-util.h"
#include "lam-train-page.h"
#include "lam-ui-util.h"
#include "lam-window.h"

static LamWindow *window;
static LamSession *session;
static int screen_width, screen_height;

static const char *const pages[] = { "data", "model", "train", "evaluate" };

static void
settle (int ms)
{
  lam_test_settle (ms);
}

static void
save_png (const char *name)
{
  settle (300);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (GTK_WIDGET (window), path, &error));
  g_assert_no_error (error);
  g_test_message ("saved %s", path);
}

/* What a widget's own box may not leave: the window, or the view of the
 * scrolled window (or other clipping parent) that holds it. */
static gboolean
clip_of (GtkWidget *widget, graphene_rect_t *clip)
{
  for (GtkWidget *parent = gtk_widget_get_parent (widget); parent != NULL;
       parent = gtk_widget_get_parent (parent)) {
    if (GTK_IS_SCROLLED_WINDOW (parent) || GTK_IS_VIEWPORT (parent) ||
        gtk_widget_get_overflow (parent) == GTK_OVERFLOW_HIDDEN || GTK_IS_WINDOW (parent))
      return gtk_widget_compute_bounds (parent, GTK_WIDGET (window), clip);
  }
  return FALSE;
}

/* Counts (and names, in the log) the shown widgets that stick out of
 * their clip by more than a pixel. */
static guint
count_outside (GtkWidget *widget, GString *report)
{
  if (!gtk_widget_get_mapped (widget))
    return 0;
  guint n = 0;
  graphene_rect_t bounds, clip;
  if (widget != GTK_WIDGET (window) && gtk_widget_compute_bounds (widget, GTK_WIDGET (window), &bounds) &&
      bounds.size.width > 0 && bounds.size.height > 0 && clip_of (widget, &clip)) {
    /* Inside a scrolled view the content may extend beyond it; the view
     * itself is what must fit. */
    gboolean scrolled = gtk_widget_get_ancestor (widget, GTK_TYPE_VIEWPORT) != NULL ||
                        (gtk_widget_get_parent (widget) != NULL &&
                         GTK_IS_SCROLLED_WINDOW (gtk_widget_get_parent (widget)));
    float right = bounds.origin.x + bounds.size.width, bottom = bounds.origin.y + bounds.size.height;
    float clip_right = clip.origin.x + clip.size.width;
    float clip_bottom = clip.origin.y + clip.size.height;
    if (!scrolled && (bounds.origin.x < clip.origin.x - 1 || right > clip_right + 1 ||
                      bounds.origin.y < clip.origin.y - 1 || bottom > clip_bottom + 1)) {
      const char *text = GTK_IS_LABEL (widget) ? gtk_label_get_text (GTK_LABEL (widget)) : "";
      g_string_append_printf (report, "  %s \"%.40s\" at %.0f,%.0f %.0f×%.0f outside %.0f,%.0f %.0f×%.0f\n",
                              G_OBJECT_TYPE_NAME (widget), text, bounds.origin.x,
                              bounds.origin.y, bounds.size.width, bounds.size.height,
                              clip.origin.x, clip.origin.y, clip.size.width, clip.size.height);
      n++;
    }
  }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n += count_outside (child, report);
  return n;
}

/* A label's font size in points, as it is drawn. */
static double
label_points (GtkWidget *label)
{
  PangoContext *context = gtk_widget_get_pango_context (label);
  PangoFontDescription *font = pango_context_get_font_description (context);
  double size = pango_font_description_get_size (font) / (double) PANGO_SCALE;
  if (pango_font_description_get_size_is_absolute (font))
    size *= 72.0 / 96.0;
  return size;
}

/* The first mapped label below root that has css_class (NULL: any label
 * with none of the heading classes). */
static GtkWidget *
find_label (GtkWidget *root, const char *css_class)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    if (GTK_IS_LABEL (child) && gtk_widget_get_mapped (child) &&
        strlen (gtk_label_get_text (GTK_LABEL (child))) > 0) {
      gboolean match = css_class != NULL
                         ? gtk_widget_has_css_class (child, css_class)
                         : !gtk_widget_has_css_class (child, "heading") &&
                             !gtk_widget_has_css_class (child, "title-1") &&
                             !gtk_widget_has_css_class (child, "title-2") &&
                             !gtk_widget_has_css_class (child, "title-4") &&
                             !gtk_widget_has_css_class (child, "caption") &&
                             !gtk_widget_has_css_class (child, "caption-heading") &&
                             !gtk_widget_has_css_class (child, "stat-value");
      if (match)
        return child;
    }
    GtkWidget *found = find_label (child, css_class);
    if (found != NULL)
      return found;
  }
  return NULL;
}

/* With LAM_FIT_DEBUG set: each widget's minimum width, to find what
 * holds a page wide. */
static void
dump_widths (GtkWidget *widget, int depth, int max_depth)
{
  if (!gtk_widget_get_visible (widget) || depth > max_depth)
    return;
  int minimum = 0, natural = 0;
  gtk_widget_measure (widget, GTK_ORIENTATION_HORIZONTAL, -1, &minimum, &natural, NULL, NULL);
  const char *text = GTK_IS_LABEL (widget) ? gtk_label_get_text (GTK_LABEL (widget)) : "";
  g_test_message ("%*s%s %s min %d nat %d \"%.30s\"", depth * 2, "", G_OBJECT_TYPE_NAME (widget),
                  gtk_widget_get_css_classes (widget)[0] ? gtk_widget_get_css_classes (widget)[0] : "",
                  minimum, natural, text);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    dump_widths (child, depth + 1, max_depth);
}

static gboolean
dataset_ready (gpointer data)
{
  return lam_session_get_has_dataset (session) && !lam_session_get_loading (session);
}

static gboolean
stepped (gpointer data)
{
  return lam_session_get_step (session) >= 1;
}

static gboolean
weights_ready (gpointer data)
{
  return lam_session_get_weights_spec (session) != NULL &&
         lam_session_get_state (session) == LAM_TRAIN_STATE_IDLE;
}

/* Shows one page and checks it fits; its PNG is fit-WIDTH-MODE-PAGE.png,
 * with "-" and `state` added when given. */
static void
check_page_fits (const char *page, gboolean presentation, const char *state)
{
  lam_window_show_page (window, page);
  settle (500);
  g_autofree char *name =
    g_strdup_printf ("fit-%d-%s-%s%s%s.png", screen_width, presentation ? "presentation" : "normal",
                     page, state != NULL ? "-" : "", state != NULL ? state : "");
  save_png (name);
  GtkWidget *widget = lam_window_get_page (window, page);
  int minimum = 0;
  gtk_widget_measure (widget, GTK_ORIENTATION_HORIZONTAL, -1, &minimum, NULL, NULL, NULL);
  int min_height = 0;
  gtk_widget_measure (widget, GTK_ORIENTATION_VERTICAL,
                      MIN (screen_width, minimum > 0 ? screen_width : -1), &min_height, NULL, NULL,
                      NULL);
  g_test_message ("%s page needs %d px, and %d px of height at the screen's width", page, minimum,
                  min_height);
  if (g_getenv ("LAM_FIT_DEBUG") != NULL)
    dump_widths (widget, 0, atoi (g_getenv ("LAM_FIT_DEBUG")));
  /* The window is as wide as the screen, and no wider: nothing asks
   * for more. */
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (window)), <=, screen_width);
  g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (window)), <=, screen_height);
  g_autoptr (GString) report = g_string_new (NULL);
  guint outside = count_outside (GTK_WIDGET (window), report);
  if (outside > 0)
    g_test_message ("%s page, %s: %u widgets outside their clip:\n%s", page,
                    presentation ? "presentation" : "normal", outside, report->str);
  g_assert_cmpuint (outside, ==, 0);
}

static void
show_all_pages (gboolean presentation)
{
  lam_window_set_presentation (window, presentation);
  settle (600);
  int width = gtk_widget_get_width (GTK_WIDGET (window));
  int height = gtk_widget_get_height (GTK_WIDGET (window));
  g_test_message ("%s at %d×%d: window %d×%d", presentation ? "presentation" : "normal",
                  screen_width, screen_height, width, height);
  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    check_page_fits (pages[i], presentation, NULL);
}

static void
test_fits_normal (void)
{
  show_all_pages (FALSE);
}

static void
test_fits_presentation (void)
{
  show_all_pages (TRUE);
  /* Full screen needs a window manager to grant it, which the test's X
   * server has not; the window was given the screen's size, and its
   * surface (shadows included) keeps exactly that: nothing in
   * presentation mode asks for more. */
  GdkSurface *surface = gtk_native_get_surface (GTK_NATIVE (window));
  g_assert_cmpint (gdk_surface_get_width (surface), ==, screen_width);
  g_assert_cmpint (gdk_surface_get_height (surface), <=, screen_height);
  lam_window_set_presentation (window, FALSE);
  settle (300);
}

/* Every text grows by one factor: headings stay larger than the body. */
static void
test_presentation_scales_text (void)
{
  lam_window_show_page (window, "train");
  settle (300);
  GtkWidget *page = lam_window_get_page (window, "train");
  GtkWidget *heading = find_label (page, "heading");
  GtkWidget *body = find_label (page, NULL);
  g_assert_nonnull (heading);
  g_assert_nonnull (body);
  double heading_normal = label_points (heading), body_normal = label_points (body);
  lam_window_set_presentation (window, TRUE);
  settle (500);
  double heading_big = label_points (heading), body_big = label_points (body);
  g_test_message ("heading %.1f → %.1f pt, body %.1f → %.1f pt", heading_normal, heading_big,
                  body_normal, body_big);
  g_assert_cmpfloat (heading_normal, >, body_normal);
  g_assert_cmpfloat (heading_big, >, body_big);
  g_assert_cmpfloat (body_big, >=, 1.3 * body_normal);
  /* One factor for both. */
  g_assert_cmpfloat_with_epsilon (heading_big / heading_normal, body_big / body_normal, 0.05);
  lam_window_set_presentation (window, FALSE);
  settle (300);
}

/* The dialogs a lesson opens over the window: in presentation mode their
 * text grows with the pages', and they still fit the screen. */
static void
test_presentation_dialogs (void)
{
  g_autofree char *table = lam_dataset_find_bundled_table ("crop-yields");
  g_assert_nonnull (table);
  double normal[2] = { 0, 0 };
  for (int presentation = 0; presentation <= 1; presentation++) {
    lam_window_set_presentation (window, presentation);
    settle (300);
    g_autoptr (GError) error = NULL;
    GtkWindow *dialogs[] = {
      GTK_WINDOW (lam_playground_dialog_new (GTK_WINDOW (window))),
      GTK_WINDOW (lam_table_dialog_new (GTK_WINDOW (window), table, &error)),
    };
    g_assert_no_error (error);
    const char *names[] = { "playground-dialog", "table-dialog" };
    for (guint i = 0; i < G_N_ELEMENTS (dialogs); i++) {
      gtk_window_present (dialogs[i]);
      settle (400);
      GtkWidget *label = find_label (GTK_WIDGET (dialogs[i]), NULL);
      g_assert_nonnull (label);
      double points = label_points (label);
      g_test_message ("%s, %s: \"%.30s\" at %.1f pt", names[i],
                      presentation ? "presentation" : "normal",
                      gtk_label_get_text (GTK_LABEL (label)), points);
      if (!presentation) {
        normal[i] = points;
      } else {
        g_assert_cmpfloat (points, >=, 1.3 * normal[i]);
        int width = 0, height = 0;
        gtk_widget_measure (GTK_WIDGET (dialogs[i]), GTK_ORIENTATION_HORIZONTAL, -1, &width, NULL,
                            NULL, NULL);
        gtk_widget_measure (GTK_WIDGET (dialogs[i]), GTK_ORIENTATION_VERTICAL, width, &height, NULL,
                            NULL, NULL);
        g_test_message ("%s needs %d×%d", names[i], width, height);
        g_assert_cmpint (width, <=, screen_width);
        g_assert_cmpint (height, <=, screen_height);
        const char *dir = g_getenv ("G_TEST_BUILDDIR");
        g_autofree char *name =
          g_strdup_printf ("fit-%d-presentation-%s.png", screen_width, names[i]);
        g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
        g_assert_true (lam_ui_save_png (GTK_WIDGET (dialogs[i]), path, &error));
        g_test_message ("saved %s", path);
      }
      gtk_window_destroy (dialogs[i]);
    }
  }
  lam_window_set_presentation (window, FALSE);
  settle (300);
}

static gboolean
paused (gpointer data)
{
  return lam_session_get_state (session) == LAM_TRAIN_STATE_PAUSED;
}

/* The Model page while a run is paused, with its note that edits apply
 * to the next run: the note wraps inside the page in both modes. */
static void
test_model_page_while_training (void)
{
  GActionGroup *actions = lam_session_get_actions (session);
  g_action_group_activate_action (actions, "step", NULL);
  g_assert_true (lam_test_iterate_until (paused, NULL, 60000));
  LamModelPage *page = LAM_MODEL_PAGE (lam_window_get_page (window, "model"));
  for (int presentation = 0; presentation <= 1; presentation++) {
    lam_window_set_presentation (window, presentation);
    settle (600);
    check_page_fits ("model", presentation, "paused");
    g_assert_nonnull (lam_model_page_get_training_note (page));
  }
  lam_window_set_presentation (window, FALSE);
  g_action_group_activate_action (actions, "stop", NULL);
  g_assert_true (lam_test_iterate_until (weights_ready, NULL, 60000));
  settle (300);
}

static void on_loaded (GObject *source, GAsyncResult *result, gpointer user_data);

/* A CIFAR-10 folder in dir: n_train and n_test 32×32 colour images, one
 * class after another, under CIFAR-10's class names. */
static void
write_cifar (const char *dir, int n_train, int n_test)
{
  for (int part = 0; part < 2; part++) {
    int n = part == 0 ? n_train : n_test;
    g_autoptr (GByteArray) records = g_byte_array_new ();
    for (int i = 0; i < n; i++) {
      guint8 record[1 + 3072];
      record[0] = (guint8) (i % 10);
      for (int p = 0; p < 3072; p++)
        record[1 + p] = (guint8) ((p / 1024 == i % 3 ? 180 : 40) + (p + i) % 32);
      g_byte_array_append (records, record, sizeof record);
    }
    g_autofree char *path =
      g_build_filename (dir, part == 0 ? "data_batch_1.bin" : "test_batch.bin", NULL);
    g_assert_true (g_file_set_contents (path, (const char *) records->data, records->len, NULL));
  }
  g_autofree char *meta = g_build_filename (dir, "batches.meta.txt", NULL);
  g_assert_true (g_file_set_contents (
    meta, "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n", -1, NULL));
}

/* Whether a label shows all of its text: not ellipsized at the width it
 * was given, and as tall as its wrapped lines need. */
static gboolean
label_whole (GtkWidget *label, GString *report)
{
  PangoLayout *layout = gtk_label_get_layout (GTK_LABEL (label));
  int width = gtk_widget_get_width (label), height = gtk_widget_get_height (label);
  int needed = 0;
  gtk_widget_measure (label, GTK_ORIENTATION_VERTICAL,
                      width + gtk_widget_get_margin_start (label) +
                        gtk_widget_get_margin_end (label),
                      &needed, NULL, NULL, NULL);
  needed -= gtk_widget_get_margin_top (label) + gtk_widget_get_margin_bottom (label);
  if (!pango_layout_is_ellipsized (layout) && height >= needed)
    return TRUE;
  g_string_append_printf (report, "  \"%s\" %d×%d%s, needs height %d\n",
                          gtk_label_get_text (GTK_LABEL (label)), width, height,
                          pango_layout_is_ellipsized (layout) ? " ellipsized" : "", needed);
  return FALSE;
}

/* Counts (and names in report) the mapped labels below root that do not
 * show all their text. */
static guint
count_cut_labels (GtkWidget *root, GString *report)
{
  guint n = 0;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    if (!gtk_widget_get_mapped (child))
      continue;
    if (GTK_IS_LABEL (child) && !label_whole (child, report))
      n++;
    n += count_cut_labels (child, report);
  }
  return n;
}

/* The Data page in presentation mode: every label whole, and every class
 * name in the class list. */
static void
check_data_page_text (const char *what)
{
  lam_window_show_page (window, "data");
  settle (600);
  g_autofree char *png = g_strdup_printf ("fit-%d-presentation-data-%s.png", screen_width, what);
  save_png (png);
  LamDataPage *page = LAM_DATA_PAGE (lam_window_get_page (window, "data"));
  g_autoptr (GString) report = g_string_new (NULL);
  guint cut = count_cut_labels (GTK_WIDGET (page), report);
  if (cut > 0)
    g_test_message ("Data page, %s: %u labels cut:\n%s", what, cut, report->str);
  g_assert_cmpuint (cut, ==, 0);
  g_assert_cmpuint (lam_data_page_get_n_class_names_cut (page), ==, 0);
}

/* The header, the class list and the gallery's summary in presentation
 * mode show their whole text, on Fashion-MNIST and a CIFAR-10 set with
 * its "automobile"; the grid's captions wrap to a second line, so that
 * "automobile" is whole (it read "autom…"), and one cut past that has a
 * tooltip that names the whole class. */
static void
test_presentation_text_whole (void)
{
  lam_window_set_presentation (window, TRUE);
  settle (600);
  check_data_page_text ("default");

  LamEvaluatePage *evaluate = LAM_EVALUATE_PAGE (lam_window_get_page (window, "evaluate"));
  lam_window_show_page (window, "evaluate");
  lam_evaluate_page_show_tab (evaluate, "predictions");
  settle (600);
  g_autofree char *png = g_strdup_printf ("fit-%d-presentation-predictions.png", screen_width);
  save_png (png);
  /* The gallery's labels wrap rather than shrink (as they did) or cut,
   * and the selected image's accessible description names its true class
   * and the prediction, as its tooltip does. */
  LamPredictionGrid *gallery = lam_evaluate_page_get_gallery (evaluate);
  g_assert_false (lam_prediction_grid_get_labels_cut (gallery));
  lam_prediction_grid_set_selected (gallery, lam_prediction_grid_get_item (gallery, 1));
  g_autofree char *described = lam_prediction_grid_dup_image_text (gallery, 1);
  g_assert_nonnull (strstr (described, "Predicted "));
  g_autofree char *mismatch = gtk_test_accessible_check_property (
    GTK_ACCESSIBLE (gallery), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, described);
  g_test_message ("the gallery's description: %s", mismatch != NULL ? mismatch : described);
  g_assert_null (mismatch);
  GtkWidget *gallery_label = GTK_WIDGET (
    gtk_widget_get_template_child (GTK_WIDGET (evaluate), LAM_TYPE_EVALUATE_PAGE, "gallery_label"));
  g_assert_true (gtk_widget_get_mapped (gallery_label));
  g_autoptr (GString) report = g_string_new (NULL);
  /* Only the summary is asserted here; the rest of the tab is logged. */
  guint cut = count_cut_labels (GTK_WIDGET (evaluate), report);
  if (cut > 0)
    g_test_message ("Predictions tab: %u labels cut:\n%s", cut, report->str);
  g_string_truncate (report, 0);
  gboolean whole = label_whole (gallery_label, report);
  if (!whole)
    g_test_message ("gallery summary cut:\n%s", report->str);
  g_assert_true (whole);
  /* The order menu beside the summary keeps its own height: it stretched
   * to a wrapped three-line summary. */
  GtkWidget *order = GTK_WIDGET (gtk_widget_get_template_child (
    GTK_WIDGET (evaluate), LAM_TYPE_EVALUATE_PAGE, "order_dropdown"));
  int order_natural = 0;
  gtk_widget_measure (order, GTK_ORIENTATION_VERTICAL, gtk_widget_get_width (order), NULL,
                      &order_natural, NULL, NULL);
  order_natural -= gtk_widget_get_margin_top (order) + gtk_widget_get_margin_bottom (order);
  g_test_message ("order menu %d px high, naturally %d, beside a summary %d px high",
                  gtk_widget_get_height (order), order_natural,
                  gtk_widget_get_height (gallery_label));
  g_assert_cmpint (gtk_widget_get_height (order), ==, order_natural);

  g_autofree char *cifar = g_dir_make_tmp ("lamina-fit-cifar-XXXXXX", NULL);
  g_assert_nonnull (cifar);
  write_cifar (cifar, 200, 50);
  lam_session_load_dataset_async (session, cifar, NULL, on_loaded, NULL);
  settle (300);
  g_assert_true (lam_test_iterate_until (dataset_ready, NULL, 60000));
  g_assert_cmpstr (lam_session_get_train_set (session)->class_names[1], ==, "automobile");
  check_data_page_text ("cifar");
  LamDataPage *page = LAM_DATA_PAGE (lam_window_get_page (window, "data"));
  LamSampleGrid *grid = lam_data_page_get_grid (page);
  for (int c = 0; c < 10; c++) {
    if (!lam_sample_grid_get_caption_cut (grid, c))
      continue;
    const char *name = lam_session_get_train_set (session)->class_names[c];
    g_test_message ("the grid cuts \"%s\"", name);
    int index = -1;
    for (guint position = 0; index < 0 && position < lam_sample_grid_get_n_visible_samples (grid);
         position++) {
      int at = lam_sample_grid_get_sample_at (grid, position);
      if (lam_session_get_train_set (session)->labels[at] == c)
        index = at;
    }
    g_assert_cmpint (index, >=, 0);
    g_autofree char *text = lam_sample_grid_dup_sample_text (grid, index);
    g_assert_nonnull (strstr (text, name));
  }
  g_assert_false (lam_sample_grid_get_caption_cut (grid, 1));
  lam_test_remove_tree (cifar);

  g_autofree char *table = lam_dataset_find_bundled_table ("crop-yields");
  g_assert_nonnull (table);
  const char *inputs[] = { "temperature", "rainfall", "humidity", NULL };
  const char *targets[] = { "apples", "oranges", NULL };
  g_autofree char *name = lam_table_name_build (table, inputs, targets);
  lam_session_load_dataset_async (session, name, NULL, on_loaded, NULL);
  settle (300);
  g_assert_true (lam_test_iterate_until (dataset_ready, NULL, 60000));
  check_data_page_text ("table");
  lam_window_set_presentation (window, FALSE);
  settle (300);
}

/* A lesson of a bundled table, as test-playground-ui trains it. */
typedef struct
{
  const char *table;
  const char *inputs[4];
  const char *targets[3];
  const char *model;
  int epochs;
  int batch_size;
  double lr;
} TableLesson;

static const TableLesson table_lessons[] = {
  { "study-time", { "hours", NULL }, { "score", NULL }, "linear:1,loss=mse", 60, 8, 0.05 },
  { "crop-yields",
    { "temperature", "rainfall", "humidity", NULL },
    { "apples", "oranges", NULL },
    "linear:2,loss=mse",
    40,
    16,
    0.05 },
};

/* TRUE when a and b share more than an edge. */
static gboolean
overlap (const graphene_rect_t *a, const graphene_rect_t *b)
{
  return a->origin.x < b->origin.x + b->size.width - 0.5 &&
         b->origin.x < a->origin.x + a->size.width - 0.5 &&
         a->origin.y < b->origin.y + b->size.height - 0.5 &&
         b->origin.y < a->origin.y + a->size.height - 0.5;
}

/* Counts, and names in report, the texts of a fit view's layout that lie
 * on one another or on the plot, or outside width × height. */
static guint
count_fit_clashes (const LamFitLayout *layout, int width, int height, GString *report)
{
  const char *names[] = { "plot", "x title", "y title", "x0", "x1", "y0", "y1", "figures" };
  const graphene_rect_t *boxes[] = {
    &layout->plot,    &layout->x_title, &layout->y_title, &layout->ends[0],
    &layout->ends[1], &layout->ends[2], &layout->ends[3], &layout->figures,
  };
  guint n = 0;
  for (guint i = 0; i < G_N_ELEMENTS (boxes); i++) {
    const graphene_rect_t *a = boxes[i];
    if (a->size.width <= 0 || a->size.height <= 0)
      continue;
    if (a->origin.x < -0.5 || a->origin.y < -0.5 || a->origin.x + a->size.width > width + 0.5 ||
        a->origin.y + a->size.height > height + 0.5) {
      g_string_append_printf (report, "  %s at %.0f,%.0f %.0f×%.0f outside %d×%d\n", names[i],
                              a->origin.x, a->origin.y, a->size.width, a->size.height, width,
                              height);
      n++;
    }
    for (guint j = i + 1; j < G_N_ELEMENTS (boxes); j++) {
      const graphene_rect_t *b = boxes[j];
      if (b->size.width > 0 && b->size.height > 0 && overlap (a, b)) {
        g_string_append_printf (
          report, "  %s at %.0f,%.0f %.0f×%.0f on %s at %.0f,%.0f %.0f×%.0f (%d×%d)\n", names[i],
          a->origin.x, a->origin.y, a->size.width, a->size.height, names[j], b->origin.x,
          b->origin.y, b->size.width, b->size.height, width, height);
        n++;
      }
    }
  }
  return n;
}

/* Counts, and names in report, the axis titles whose boxes do not hold
 * them whole: a title wrapped to its box's length must fit its breadth
 * (the y title's box is upright, its lines along its height). At 1024×768
 * in presentation mode "predicted apples" was cut to "predict…". */
static guint
count_cut_titles (LamFitView *view, const LamFitLayout *layout, int width, int height,
                  GString *report)
{
  guint n = 0;
  for (int axis = 0; axis < 2; axis++) {
    gboolean x = axis == 0;
    g_autofree char *title =
      lam_fit_view_dup_title (view, x ? GTK_ORIENTATION_HORIZONTAL : GTK_ORIENTATION_VERTICAL);
    const graphene_rect_t *box = x ? &layout->x_title : &layout->y_title;
    double along = x ? box->size.width : box->size.height;
    double across = x ? box->size.height : box->size.width;
    g_autoptr (PangoLayout) text = lam_ui_create_layout (GTK_WIDGET (view), title, 1, FALSE, FALSE);
    pango_layout_set_wrap (text, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_width (text, (int) ((along + 0.5) * PANGO_SCALE));
    int w, h;
    pango_layout_get_pixel_size (text, &w, &h);
    if (h > across + 0.5) {
      g_string_append_printf (report, "  %s title \"%s\" needs %d×%d, has %.0f×%.0f (%d×%d)\n",
                              x ? "x" : "y", title, w, h, along, across, width, height);
      n++;
    }
  }
  return n;
}

/* The fit view as the page shows it, and at sizes from a sliver to a
 * wall, with its points and with its residuals: no text on another or on
 * the plot, and both titles whole. PNG:
 * fit-WIDTH-fit-view-TABLE-MODE[-residuals].png. */
static void
check_fit_view (LamFitView *view, const char *table, gboolean presentation)
{
  const char *mode = presentation ? "presentation" : "normal";
  int width = gtk_widget_get_width (GTK_WIDGET (view));
  int height = gtk_widget_get_height (GTK_WIDGET (view));
  for (int residuals = 0; residuals <= 1; residuals++) {
    lam_fit_view_set_residuals (view, residuals);
    settle (200);
    g_autoptr (GString) report = g_string_new (NULL);
    LamFitLayout layout;
    g_assert_true (lam_fit_view_compute_layout (view, width, height, &layout));
    guint clashes = count_fit_clashes (&layout, width, height, report);
    clashes += count_cut_titles (view, &layout, width, height, report);
    guint drawn = 0;
    for (int w = 120; w <= 1600; w += 40)
      for (int h = 120; h <= 900; h += 30) {
        if (!lam_fit_view_compute_layout (view, w, h, &layout)) {
          /* Too small to draw is fine for a sliver, not for a panel. */
          if (w >= 320 && h >= 200)
            g_string_append_printf (report, "  nothing drawn at %d×%d\n", w, h), clashes++;
          continue;
        }
        drawn++;
        clashes += count_fit_clashes (&layout, w, h, report);
        clashes += count_cut_titles (view, &layout, w, h, report);
      }
    g_test_message ("fit view of %s, %s%s: %d×%d, %u sizes drawn, %u clashes%s%s", table, mode,
                    residuals ? ", residuals" : "", width, height, drawn, clashes,
                    clashes > 0 ? ":\n" : "", report->str);
    g_assert_cmpuint (clashes, ==, 0);
    {
      const char *dir = g_getenv ("G_TEST_BUILDDIR");
      g_autofree char *name = g_strdup_printf ("fit-%d-fit-view-%s-%s%s.png", screen_width, table,
                                               mode, residuals ? "-residuals" : "");
      g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
      g_autoptr (GError) error = NULL;
      g_assert_true (lam_ui_save_png (GTK_WIDGET (view), path, &error));
      g_test_message ("saved %s", path);
    }
  }
  lam_fit_view_set_residuals (view, FALSE);
}

static gboolean
is_idle (gpointer data)
{
  return lam_session_get_state (session) == LAM_TRAIN_STATE_IDLE &&
         !lam_session_get_loading (session);
}

/* The bundled tables' lessons, trained in the window: the Progress column
 * says how the run ended and the test score, every word of it within the
 * column. */
static void
test_table_progress (gconstpointer data)
{
  const TableLesson *lesson = data;
  g_autofree char *path = lam_dataset_find_bundled_table (lesson->table);
  g_assert_nonnull (path);
  g_autofree char *name = lam_table_name_build (path, lesson->inputs, lesson->targets);
  lam_session_load_dataset_async (session, name, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (dataset_ready, NULL, 60000));
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (lesson->model, &error);
  g_assert_no_error (error);
  lam_session_set_spec (session, spec);
  g_object_set (session, "epochs", lesson->epochs, "batch-size", lesson->batch_size, "lr",
                lesson->lr, NULL);
  lam_window_show_page (window, "train");
  g_action_group_activate_action (lam_session_get_actions (session), "start-pause", NULL);
  g_assert_true (lam_test_iterate_until (is_idle, NULL, 120000));
  settle (1000);
  GtkWidget *page = lam_window_get_page (window, "train");
  g_test_message ("%s: %s", lesson->table, lam_train_page_get_test_text (LAM_TRAIN_PAGE (page)));
  GtkWidget *test_label =
    GTK_WIDGET (gtk_widget_get_template_child (page, LAM_TYPE_TRAIN_PAGE, "test_label"));
  g_assert_true (gtk_widget_get_mapped (test_label));
  /* The fit of the lesson: "predicted apples" lay on "141" and "19.1" in
   * presentation mode. */
  LamFitView *fit_view = lam_train_page_get_fit_view (LAM_TRAIN_PAGE (page));
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (fit_view)));
  for (int presentation = 0; presentation <= 1; presentation++) {
    lam_window_set_presentation (window, presentation);
    settle (600);
    check_fit_view (fit_view, lesson->table, presentation);
  }
  lam_window_set_presentation (window, FALSE);
  settle (300);
  GtkWidget *column = gtk_widget_get_ancestor (test_label, GTK_TYPE_SCROLLED_WINDOW);
  GtkAdjustment *scroll = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (column));
  /* The score in view with the column at its top, where Start is, in
   * both modes and at both sizes: it lay under the parameters and the
   * fold of 1280×800, and under the fold of 1024×768. */
  {
    for (int presentation = 1; presentation >= 0; presentation--) {
      lam_window_set_presentation (window, presentation);
      gtk_adjustment_set_value (scroll, 0);
      settle (600);
      graphene_rect_t score, shown;
      g_assert_true (gtk_widget_compute_bounds (test_label, column, &score));
      g_assert_true (gtk_widget_compute_bounds (column, column, &shown));
      g_test_message ("%s: the test score from y %.0f to %.0f of a column %.0f high",
                      presentation ? "presentation" : "normal", score.origin.y,
                      score.origin.y + score.size.height, shown.size.height);
      g_autofree char *top_png =
        g_strdup_printf ("fit-%d-train-%s%s-top.png", screen_width, lesson->table,
                         presentation ? "-presentation" : "");
      save_png (top_png);
      g_assert_cmpfloat (score.origin.y, >=, 0);
      g_assert_cmpfloat (score.origin.y + score.size.height, <=, shown.size.height);
      /* In view on the screen too: a page taller than the screen grows
       * the window past the screen's bottom, column and all. */
      graphene_rect_t on_window;
      g_assert_true (gtk_widget_compute_bounds (test_label, GTK_WIDGET (window), &on_window));
      g_test_message (
        "window %d×%d, the score's bottom at y %.0f", gtk_widget_get_width (GTK_WIDGET (window)),
        gtk_widget_get_height (GTK_WIDGET (window)), on_window.origin.y + on_window.size.height);
      g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (window)), <=, screen_height);
      g_assert_cmpfloat (on_window.origin.y + on_window.size.height, <=, screen_height);
    }
  }
  /* The column scrolled to its end, where the epoch table is. */
  gtk_adjustment_set_value (scroll, gtk_adjustment_get_upper (scroll));
  g_autofree char *png = g_strdup_printf ("fit-%d-train-%s.png", screen_width, lesson->table);
  save_png (png);
  /* Every label of the column is as wide as the column allows and as tall
   * as its wrapped lines need. */
  GtkWidget *progress = gtk_widget_get_parent (test_label);
  graphene_rect_t view;
  g_assert_true (gtk_widget_compute_bounds (column, progress, &view));
  for (GtkWidget *child = gtk_widget_get_first_child (progress); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    if (!GTK_IS_LABEL (child) || !gtk_widget_get_mapped (child))
      continue;
    graphene_rect_t bounds;
    g_assert_true (gtk_widget_compute_bounds (child, progress, &bounds));
    /* Measures count the margins; a widget's width and height do not. */
    int needed = 0;
    int width = gtk_widget_get_width (child) + gtk_widget_get_margin_start (child) +
                gtk_widget_get_margin_end (child);
    int height = gtk_widget_get_height (child) + gtk_widget_get_margin_top (child) +
                 gtk_widget_get_margin_bottom (child);
    gtk_widget_measure (child, GTK_ORIENTATION_VERTICAL, width, &needed, NULL, NULL, NULL);
    g_test_message ("\"%s\": %.0f×%.0f at x %.0f, needs height %d, view %.0f wide",
                    gtk_label_get_text (GTK_LABEL (child)), bounds.size.width, bounds.size.height,
                    bounds.origin.x, needed, view.size.width);
    g_assert_cmpfloat (bounds.origin.x + bounds.size.width, <=,
                       view.origin.x + view.size.width + 1);
    g_assert_cmpint (height, >=, needed);
  }
  g_autoptr (GString) report = g_string_new (NULL);
  guint outside = count_outside (GTK_WIDGET (window), report);
  if (outside > 0)
    g_test_message ("%u widgets outside their clip:\n%s", outside, report->str);
  g_assert_cmpuint (outside, ==, 0);
  if (g_getenv ("LAM_FIT_DEBUG") != NULL)
    dump_widths (page, 0, atoi (g_getenv ("LAM_FIT_DEBUG")));
}

static void
on_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  if (!lam_session_load_dataset_finish (LAM_SESSION (source), result, &error))
    g_test_message ("dataset: %s", error->message);
}

/* The Evaluate page's gallery in presentation mode after a brief run: its
 * labels whole (CIFAR-10's "true: automobile" took a smaller size to fit
 * its cell). PNG: fit-WIDTH-presentation-predictions-WHAT.png. */
static void
check_gallery_labels (const char *what)
{
  lam_window_set_presentation (window, TRUE);
  LamEvaluatePage *evaluate = LAM_EVALUATE_PAGE (lam_window_get_page (window, "evaluate"));
  lam_window_show_page (window, "evaluate");
  lam_evaluate_page_show_tab (evaluate, "predictions");
  settle (600);
  g_autofree char *png =
    g_strdup_printf ("fit-%d-presentation-predictions-%s.png", screen_width, what);
  save_png (png);
  LamPredictionGrid *gallery = lam_evaluate_page_get_gallery (evaluate);
  g_autofree char *first = lam_prediction_grid_dup_cell_text (gallery, 0);
  g_test_message ("%s gallery: first cell \"%s\", %s", what, first,
                  lam_prediction_grid_get_labels_cut (gallery) ? "labels cut" : "labels whole");
  g_assert_false (lam_prediction_grid_get_labels_cut (gallery));
  lam_window_set_presentation (window, FALSE);
  settle (300);
}

/* Every page's minimum height fits the room the window leaves it on the
 * screen, and the window the screen, in both modes: the stack is as tall
 * as its tallest page, so one page taller than the screen pushed the
 * bottom of every page below it. A page is measured at its own minimum
 * width (as the window measures itself for its minimum size) and at the
 * width it has. PNG: fit-WIDTH-MODE-WHAT-PAGE.png. Returns how many
 * pages did not fit. */
static guint
check_pages_fit_height (const char *what)
{
  guint failed = 0;
  for (int presentation = 0; presentation <= 1; presentation++) {
    lam_window_set_presentation (window, presentation);
    for (guint i = 0; i < G_N_ELEMENTS (pages); i++) {
      lam_window_show_page (window, pages[i]);
      settle (250);
      GtkWidget *page = lam_window_get_page (window, pages[i]);
      GtkWidget *stack = gtk_widget_get_parent (page);
      int window_width = gtk_widget_get_width (GTK_WIDGET (window));
      int window_height = gtk_widget_get_height (GTK_WIDGET (window));
      /* The header bar's share of the screen. */
      int room = screen_height - (window_height - gtk_widget_get_height (stack));
      /* The stack is as narrow as the page shown allows; every page is
       * measured at that width for the window's minimum height. */
      int stack_min_width = 0;
      gtk_widget_measure (stack, GTK_ORIENTATION_HORIZONTAL, -1, &stack_min_width, NULL, NULL,
                          NULL);
      int min_width = 0, narrowest = 0, min_height = 0;
      gtk_widget_measure (page, GTK_ORIENTATION_HORIZONTAL, -1, &min_width, NULL, NULL, NULL);
      gtk_widget_measure (page, GTK_ORIENTATION_VERTICAL, MAX (stack_min_width, min_width),
                          &narrowest, NULL, NULL, NULL);
      gtk_widget_measure (page, GTK_ORIENTATION_VERTICAL, gtk_widget_get_width (stack), &min_height,
                          NULL, NULL, NULL);
      int window_min_width = 0, window_min_height = 0;
      gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &window_min_width,
                          NULL, NULL, NULL);
      gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_VERTICAL, window_min_width,
                          &window_min_height, NULL, NULL, NULL);
      gboolean fits = min_width <= gtk_widget_get_width (stack) && narrowest <= room &&
                      min_height <= room && window_min_height <= screen_height &&
                      window_width <= screen_width && window_height <= screen_height;
      g_test_message ("%s, %s, %s page: needs %d wide, %d high at %d, %d at %d, of %d×%d; "
                      "window %d×%d, at least %d×%d%s",
                      what, presentation ? "presentation" : "normal", pages[i], min_width,
                      narrowest, MAX (stack_min_width, min_width), min_height,
                      gtk_widget_get_width (stack), gtk_widget_get_width (stack), room,
                      window_width, window_height, window_min_width, window_min_height,
                      fits ? "" : ": does not fit");
      /* PNGs of the presentation pages, where text is largest, and of
       * any page that does not fit. */
      if (presentation || !fits) {
        g_autofree char *png =
          g_strdup_printf ("fit-%d-%s-%s-%s.png", screen_width,
                           presentation ? "presentation" : "normal", what, pages[i]);
        save_png (png);
      }
      failed += !fits;
      g_assert_cmpint (min_width, <=, gtk_widget_get_width (stack));
      g_assert_cmpint (narrowest, <=, room);
      g_assert_cmpint (min_height, <=, room);
      g_assert_cmpint (window_min_height, <=, screen_height);
      g_assert_cmpint (window_width, <=, screen_width);
      g_assert_cmpint (window_height, <=, screen_height);
    }
  }
  lam_window_set_presentation (window, FALSE);
  settle (300);
  return failed;
}

static void
load_dataset (const char *name)
{
  lam_session_load_dataset_async (session, name, NULL, on_loaded, NULL);
  settle (300);
  g_assert_true (lam_test_iterate_until (dataset_ready, NULL, 60000));
  settle (500);
}

/* A short run of spec on the dataset open: its charts, its Evaluate
 * panels and its fit or boundary get content. */
static void
train_briefly (const char *spec_text, int epochs)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (spec_text, &error);
  g_assert_no_error (error);
  lam_session_set_spec (session, spec);
  g_assert_true (lam_session_get_model_valid (session));
  g_object_set (session, "epochs", epochs, "batch-size", 32, NULL);
  g_action_group_activate_action (lam_session_get_actions (session), "start-pause", NULL);
  settle (300);
  g_assert_true (lam_test_iterate_until (is_idle, NULL, 120000));
  g_assert_true (lam_test_iterate_until (weights_ready, NULL, 60000));
  settle (1000);
}

/* Every dataset kind, freshly opened and after a short run, in both
 * modes: every page within the screen, long content scrolling inside it.
 * A classification table's Data page in presentation mode was 912 px
 * tall at 1024×768. */
static void
test_every_page_fits (void)
{
  g_autofree char *bars = NULL;
  const char *images = "/usr/share/datasets/fashion-mnist";
  if (!g_file_test (images, G_FILE_TEST_IS_DIR))
    images = bars = lam_test_write_bars_dataset (200, 10);
  g_autofree char *cifar = g_dir_make_tmp ("lamina-fit-cifar-XXXXXX", NULL);
  g_assert_nonnull (cifar);
  write_cifar (cifar, 200, 50);
  const TableLesson *lesson = &table_lessons[1];
  g_autofree char *crops = lam_dataset_find_bundled_table (lesson->table);
  g_assert_nonnull (crops);
  g_autofree char *regression = lam_table_name_build (crops, lesson->inputs, lesson->targets);
  g_autofree char *blobs_dir = g_dir_make_tmp ("lamina-fit-blobs-XXXXXX", NULL);
  g_assert_nonnull (blobs_dir);
  g_autofree char *blobs = g_build_filename (blobs_dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (blobs, 300, 2, 3, 5);

  struct
  {
    const char *what;
    const char *path;
    const char *spec;
    int epochs;
  } kinds[] = {
    { "images", images, "flatten,linear:10", 0 },
    { "cifar", cifar, "flatten,linear:10", 1 },
    { "regression", regression, lesson->model, 5 },
    { "classification", blobs, "linear:16,relu,linear:3", 5 },
  };
  guint failed = 0;
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++) {
    load_dataset (kinds[k].path);
    g_autofree char *opened = g_strdup_printf ("%s-opened", kinds[k].what);
    failed += check_pages_fit_height (opened);
    if (kinds[k].epochs > 0) {
      train_briefly (kinds[k].spec, kinds[k].epochs);
    } else {
      /* Sixty thousand images: one batch is training enough. */
      g_autoptr (GError) error = NULL;
      g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (kinds[k].spec, &error);
      g_assert_no_error (error);
      lam_session_set_spec (session, spec);
      g_action_group_activate_action (lam_session_get_actions (session), "step", NULL);
      g_assert_true (lam_test_iterate_until (paused, NULL, 60000));
      g_action_group_activate_action (lam_session_get_actions (session), "stop", NULL);
      g_assert_true (lam_test_iterate_until (weights_ready, NULL, 60000));
      settle (1000);
    }
    g_autofree char *trained = g_strdup_printf ("%s-trained", kinds[k].what);
    failed += check_pages_fit_height (trained);
    if (strcmp (kinds[k].what, "cifar") == 0)
      check_gallery_labels (kinds[k].what);
  }
  g_test_message ("%u pages did not fit", failed);
  lam_test_remove_tree (cifar);
  lam_test_remove_tree (blobs_dir);
  if (bars != NULL)
    lam_test_remove_tree (bars);
}

int
main (int argc, char **argv)
{
  /* GTK's test context: no bus needed, and the accessible properties kept
   * where gtk_test_accessible_* read them. */
  g_setenv ("GTK_A11Y", "test", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  gtk_init ();
  g_test_init (&argc, &argv, NULL);
  /* Every page and mode is checked and reported, not only the first
   * that fails. */
  g_test_set_nonfatal_assertions ();

  GdkDisplay *display = gdk_display_get_default ();
  GdkMonitor *monitor = g_list_model_get_item (gdk_display_get_monitors (display), 0);
  GdkRectangle geometry;
  gdk_monitor_get_geometry (monitor, &geometry);
  g_object_unref (monitor);
  screen_width = geometry.width;
  screen_height = geometry.height;

  /* The default dataset when installed, else a small stand-in. */
  g_autofree char *bars = NULL;
  const char *dir = "/usr/share/datasets/fashion-mnist";
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    dir = bars = lam_test_write_bars_dataset (200, 10);
  session = lam_session_new ();
  g_object_set (session, "device", "cpu", NULL);
  lam_session_load_dataset_async (session, dir, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (dataset_ready, NULL, 60000));

  window = lam_window_new (NULL, session);
  gtk_window_set_default_size (GTK_WINDOW (window), screen_width, screen_height);
  gtk_window_present (GTK_WINDOW (window));
  settle (500);
  /* Weights to evaluate: one batch, so every Evaluate panel has content. */
  g_action_group_activate_action (lam_session_get_actions (session), "step", NULL);
  /* A stop before the batch trained would leave no weights to show. */
  g_assert_true (lam_test_iterate_until (stepped, NULL, 60000));
  g_action_group_activate_action (lam_session_get_actions (session), "stop", NULL);
  g_assert_true (lam_test_iterate_until (weights_ready, NULL, 60000));
  settle (2000);

  g_test_add_func ("/fit/normal", test_fits_normal);
  g_test_add_func ("/fit/presentation", test_fits_presentation);
  g_test_add_func ("/fit/presentation-scales-text", test_presentation_scales_text);
  g_test_add_func ("/fit/presentation-dialogs", test_presentation_dialogs);
  g_test_add_func ("/fit/model-page-while-training", test_model_page_while_training);
  /* Last: they open other datasets. */
  g_test_add_func ("/fit/presentation-text-whole", test_presentation_text_whole);
  g_test_add_data_func ("/fit/table-progress/study-time", &table_lessons[0], test_table_progress);
  g_test_add_data_func ("/fit/table-progress/crop-yields", &table_lessons[1], test_table_progress);
  g_test_add_func ("/fit/every-page", test_every_page_fits);
  int status = g_test_run ();
  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (session);
  if (bars != NULL)
    lam_test_remove_tree (bars);
  return status;
}
