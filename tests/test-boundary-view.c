/* test-boundary-view.c: the playground's map. A linear model with known
 * weights splits the plane along x1 + x2 = 0: the map says so cell by
 * cell, classifies the Gaussian blobs as the rule does, and draws. */
#include <gtk/gtk.h>
#include <math.h>

#include "lam-boundary-view.h"
#include "lam-neuron-maps.h"
#include "lam-playground-dialog.h"
#include "lam-playground.h"
#include "lam-test-util.h"
#include "lam-ui-util.h"

static void
test_linear_boundary (void)
{
  LamPlaygroundParams params = { LAM_PLAYGROUND_GAUSS, 200, 0.1, 0, 5 };
  g_autoptr (GError) error = NULL;
  g_autoptr (LamPlaygroundSet) set = lam_playground_generate (&params, &error);
  g_assert_no_error (error);

  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 400, 400);
  GtkWidget *view = lam_boundary_view_new ();
  gtk_window_set_child (GTK_WINDOW (window), view);
  gtk_window_present (GTK_WINDOW (window));
  lam_boundary_view_set_points (LAM_BOUNDARY_VIEW (view), set->n, set->xy, set->labels,
                                set->n_classes, NULL, LAM_PLAYGROUND_EXTENT);
  g_assert_cmpint (lam_boundary_view_get_class_at (LAM_BOUNDARY_VIEW (view), 0, 0), ==, -1);

  /* Two inputs, two scores: class 1 scores x1 + x2, class 0 its
   * opposite, so class 1 wins above the line x1 + x2 = 0 (the Gaussian
   * set's class 1 blob lies up and to the right). */
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("linear:2", &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = lam_shape_flat (2);
  const float weights[] = { -1, -1, 1, 1, 0, 0 };
  const float mean[2] = { 0, 0 }, std[2] = { 1, 1 };
  gboolean mapped =
    lam_boundary_view_set_model (LAM_BOUNDARY_VIEW (view), spec, weights, 6, mean, std, &error);
  g_assert_no_error (error);
  g_assert_true (mapped);
  /* Row 0 is the top (x2 large): top right is class 1, bottom left 0. */
  g_assert_cmpint (lam_boundary_view_get_class_at (LAM_BOUNDARY_VIEW (view), 0,
                                                   LAM_BOUNDARY_VIEW_GRID - 1), ==, 1);
  g_assert_cmpint (lam_boundary_view_get_class_at (LAM_BOUNDARY_VIEW (view),
                                                   LAM_BOUNDARY_VIEW_GRID - 1, 0), ==, 0);
  /* Cell by cell, the rule. */
  for (int row = 0; row < LAM_BOUNDARY_VIEW_GRID; row++)
    for (int column = 0; column < LAM_BOUNDARY_VIEW_GRID; column++) {
      double x1 = -6 + (column + 0.5) * 12.0 / LAM_BOUNDARY_VIEW_GRID;
      double x2 = 6 - (row + 0.5) * 12.0 / LAM_BOUNDARY_VIEW_GRID;
      if (fabs (x1 + x2) < 1e-6)
        continue;
      g_assert_cmpint (lam_boundary_view_get_class_at (LAM_BOUNDARY_VIEW (view), row, column), ==,
                       x1 + x2 > 0 ? 1 : 0);
    }
  /* The points: the same rule, counted against their labels. */
  int right = 0;
  for (int i = 0; i < set->n; i++)
    right += (set->xy[2 * i] + set->xy[2 * i + 1] > 0 ? 1 : 0) == set->labels[i];
  g_assert_cmpfloat_with_epsilon (lam_boundary_view_get_accuracy (LAM_BOUNDARY_VIEW (view)),
                                  (double) right / set->n, 1e-9);

  /* Two well-separated blobs: the line gets nearly all. */
  g_assert_cmpfloat (lam_boundary_view_get_accuracy (LAM_BOUNDARY_VIEW (view)), >, 0.95);

  /* The wrong number of weights is an error, not a crash. */
  g_assert_false (lam_boundary_view_set_model (LAM_BOUNDARY_VIEW (view), spec, weights, 5, mean,
                                               std, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);

  lam_test_settle (200);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", "boundary-linear.png", NULL);
  g_autoptr (GError) save_error = NULL;
  g_assert_true (lam_ui_save_png (window, path, &save_error));
  g_test_message ("saved %s (accuracy %.3f)", path,
                  lam_boundary_view_get_accuracy (LAM_BOUNDARY_VIEW (view)));
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Two hidden units that copy x1 and x2 through tanh: the first map grows
 * from left to right, the second from bottom to top. */
static void
test_neuron_maps (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("linear:2,tanh,linear:2", &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = lam_shape_flat (2);
  /* linear 2→2: identity, bias 0; then linear 2→2: anything. */
  const float weights[] = { 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0 };
  const float mean[2] = { 0, 0 }, std[2] = { 3, 3 };
  GtkWidget *maps = g_object_ref_sink (lam_neuron_maps_new ());
  const LamBoundaryPlane square = { -6, 6, -6, 6 };
  g_assert_true (lam_neuron_maps_set_model (LAM_NEURON_MAPS (maps), spec, weights, 12, mean, std,
                                            &square, &error));
  g_assert_no_error (error);
  g_assert_cmpint (lam_neuron_maps_get_layer (LAM_NEURON_MAPS (maps)), ==, 1);
  g_assert_cmpint (lam_neuron_maps_get_n_units (LAM_NEURON_MAPS (maps)), ==, 2);
  int mid = LAM_NEURON_MAPS_GRID / 2, last = LAM_NEURON_MAPS_GRID - 1;
  LamNeuronMaps *m = LAM_NEURON_MAPS (maps);
  /* Unit 0 is tanh (x1 / 3): low at the left, high at the right, and
   * as the rule says at a cell. */
  g_assert_cmpfloat (lam_neuron_maps_get_value (m, 0, mid, 0), <, 0);
  g_assert_cmpfloat (lam_neuron_maps_get_value (m, 0, mid, last), >, 0);
  double x1 = -6 + (last + 0.5) * 12.0 / LAM_NEURON_MAPS_GRID;
  g_assert_cmpfloat_with_epsilon (lam_neuron_maps_get_value (m, 0, mid, last), tanh (x1 / 3),
                                  1e-5);
  /* Unit 1 is tanh (x2 / 3): high at the top. */
  g_assert_cmpfloat (lam_neuron_maps_get_value (m, 1, 0, mid), >, 0);
  g_assert_cmpfloat (lam_neuron_maps_get_value (m, 1, last, mid), <, 0);
  /* A model without a hidden layer has nothing to map. */
  g_autoptr (LamModelSpec) flat = lam_model_spec_from_text ("linear:2", &error);
  flat->has_input = TRUE;
  flat->input = lam_shape_flat (2);
  g_assert_true (lam_neuron_maps_set_model (LAM_NEURON_MAPS (maps), flat, weights, 6, mean, std,
                                            &square, &error));
  g_assert_cmpint (lam_neuron_maps_get_n_units (LAM_NEURON_MAPS (maps)), ==, 0);
  g_object_unref (maps);
}

/* A table's two columns in their own units (hours 0 to 10, marks 40 to
 * 100) lie outside the playground's square: the plane shown is fitted to
 * them, so the points are in sight and the map shows the boundary the
 * model draws among them (here: pass above 70 marks). */
/* Pixels in the rectangle (x, y, w, h) of a w_all-wide ARGB32 image dark
 * enough to be text or ticks. */
static int
count_ink (const guint8 *data, gsize stride, int x, int y, int w, int h)
{
  int ink = 0;
  for (int row = MAX (y, 0); row < y + h; row++)
    for (int column = MAX (x, 0); column < x + w; column++) {
      const guint8 *p = data + (gsize) row * stride + 4 * (gsize) column;
      if (p[0] + p[1] + p[2] < 3 * 128)
        ink++;
    }
  return ink;
}

/* The plane had no axis names or ticks: nothing said which column was
 * which axis, nor what the numbers were. Round ticks in the data's units
 * and the two names now frame it, to its left and below. */
static void
test_axes (void)
{
  double ticks[8];
  g_assert_cmpint (lam_boundary_axis_ticks (37, 103, 5, ticks), ==, 4);
  g_assert_cmpfloat (ticks[0], ==, 40);
  g_assert_cmpfloat (ticks[3], ==, 100);
  g_assert_cmpint (lam_boundary_axis_ticks (-6, 6, 5, ticks), ==, 3);
  g_assert_cmpfloat (ticks[1], ==, 0);
  int n = lam_boundary_axis_ticks (-0.55, 10.55, 5, ticks);
  g_assert_cmpint (n, >=, 3);
  for (int i = 0; i < n; i++)
    g_assert_cmpfloat (ticks[i], >=, -0.55);
  g_assert_cmpfloat (ticks[n - 1], <=, 10.55);

  enum
  {
    N = 50
  };
  float xy[2 * N];
  guint8 labels[N];
  for (int i = 0; i < N; i++) {
    xy[2 * i] = 10.0f * i / (N - 1);
    xy[2 * i + 1] = 40 + 60.0f * ((i * 7) % N) / (N - 1);
    labels[i] = xy[2 * i + 1] > 70;
  }
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 400, 400);
  GtkWidget *view = lam_boundary_view_new ();
  gtk_window_set_child (GTK_WINDOW (window), view);
  gtk_window_present (GTK_WINDOW (window));
  lam_boundary_view_set_points (LAM_BOUNDARY_VIEW (view), N, xy, labels, 2, NULL,
                                LAM_PLAYGROUND_EXTENT);
  lam_boundary_view_set_axis_names (LAM_BOUNDARY_VIEW (view), "hours", "marks");
  lam_test_settle (200);

  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", "boundary-axes.png", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (window, path, &error));
  g_assert_no_error (error);
  g_test_message ("saved %s", path);

  double x, y, side;
  lam_boundary_view_get_square (LAM_BOUNDARY_VIEW (view), &x, &y, &side);
  double font = lam_ui_font_pixels (view);
  int height = gtk_widget_get_height (view);
  g_test_message ("square at (%.0f, %.0f), side %.0f; font %.1f px", x, y, side, font);
  /* Room for a name and a tick label at the left and below, and still
   * most of the view. */
  g_assert_cmpfloat (x, >, 2 * font);
  g_assert_cmpfloat (height - (y + side), >, 2 * font);
  g_assert_cmpfloat (side, >, 0.7 * MIN (gtk_widget_get_width (view), height));

  /* Something is written there: the window's PNG has ink left of the
   * square and under it. */
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GdkTexture) texture = gdk_texture_new_from_file (file, &error);
  g_assert_no_error (error);
  int w = gdk_texture_get_width (texture), h = gdk_texture_get_height (texture);
  gsize stride = 4 * (gsize) w;
  g_autofree guint8 *data = g_malloc (stride * h);
  gdk_texture_download (texture, data, stride);
  /* The PNG may be of the window at the screen's scale. */
  double scale = (double) w / gtk_widget_get_width (window);
  graphene_point_t origin;
  g_assert_true (gtk_widget_compute_point (view, window, &GRAPHENE_POINT_INIT (0, 0), &origin));
  int left = count_ink (data, stride, (int) (origin.x * scale), (int) ((origin.y + y) * scale),
                        (int) ((x - 2) * scale), (int) (side * scale));
  int below = count_ink (data, stride, (int) ((origin.x + x) * scale),
                         (int) ((origin.y + y + side + 2) * scale), (int) (side * scale),
                         (int) ((height - y - side - 2) * scale));
  g_test_message ("ink: %d pixels at the left, %d below", left, below);
  g_assert_cmpint (left, >, 40);
  g_assert_cmpint (below, >, 40);
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_table_plane (void)
{
  enum
  {
    N = 50
  };
  float xy[2 * N];
  guint8 labels[N];
  for (int i = 0; i < N; i++) {
    xy[2 * i] = 10.0f * i / (N - 1);
    xy[2 * i + 1] = 40 + 60.0f * ((i * 7) % N) / (N - 1);
    labels[i] = xy[2 * i + 1] > 70;
  }
  GtkWidget *view = g_object_ref_sink (lam_boundary_view_new ());
  lam_boundary_view_set_points (LAM_BOUNDARY_VIEW (view), N, xy, labels, 2, NULL,
                                LAM_PLAYGROUND_EXTENT);
  LamBoundaryPlane plane;
  lam_boundary_view_get_plane (LAM_BOUNDARY_VIEW (view), &plane);
  for (int i = 0; i < N; i++) {
    g_assert_cmpfloat (xy[2 * i], >, plane.x1_low);
    g_assert_cmpfloat (xy[2 * i], <, plane.x1_high);
    g_assert_cmpfloat (xy[2 * i + 1], >, plane.x2_low);
    g_assert_cmpfloat (xy[2 * i + 1], <, plane.x2_high);
  }
  /* Each axis its own range: not a square about the origin wide enough for
   * the marks, where the hours would be a sliver. */
  g_assert_cmpfloat (plane.x1_high - plane.x1_low, <, 2 * 10);

  /* Class 1 scores the standardised marks, class 0 their opposite. */
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("linear:2", &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = lam_shape_flat (2);
  const float weights[] = { 0, -1, 0, 1, 0, 0 };
  const float mean[2] = { 5, 70 }, std[2] = { 3, 17 };
  g_assert_true (
    lam_boundary_view_set_model (LAM_BOUNDARY_VIEW (view), spec, weights, 6, mean, std, &error));
  g_assert_no_error (error);
  int last = LAM_BOUNDARY_VIEW_GRID - 1;
  g_assert_cmpint (lam_boundary_view_get_class_at (LAM_BOUNDARY_VIEW (view), 0, 0), ==, 1);
  g_assert_cmpint (lam_boundary_view_get_class_at (LAM_BOUNDARY_VIEW (view), last, last), ==, 0);
  g_assert_cmpfloat (lam_boundary_view_get_accuracy (LAM_BOUNDARY_VIEW (view)), ==, 1.0);

  /* A playground's points keep its square. */
  LamPlaygroundParams params = { LAM_PLAYGROUND_GAUSS, 200, 0.1, 0, 5 };
  g_autoptr (LamPlaygroundSet) set = lam_playground_generate (&params, &error);
  g_assert_no_error (error);
  lam_boundary_view_set_points (LAM_BOUNDARY_VIEW (view), set->n, set->xy, set->labels,
                                set->n_classes, NULL, LAM_PLAYGROUND_EXTENT);
  lam_boundary_view_get_plane (LAM_BOUNDARY_VIEW (view), &plane);
  g_assert_cmpfloat (plane.x1_low, ==, -LAM_PLAYGROUND_EXTENT);
  g_assert_cmpfloat (plane.x2_high, ==, LAM_PLAYGROUND_EXTENT);
  g_object_unref (view);
}

/* Weights of two classes kept after a table of three opened (Moons, then
 * a table of blobs): the map would colour the plane in two classes under
 * points of three, a boundary of the set before. None is drawn, as the
 * Evaluate page shows no predictions of them. */
static void
test_fewer_classes_than_points (void)
{
  LamPlaygroundParams params = { LAM_PLAYGROUND_BLOBS, 90, 0.1, 3, 5 };
  g_autoptr (GError) error = NULL;
  g_autoptr (LamPlaygroundSet) set = lam_playground_generate (&params, &error);
  g_assert_no_error (error);
  g_assert_cmpint (set->n_classes, ==, 3);
  GtkWidget *view = g_object_ref_sink (lam_boundary_view_new ());
  lam_boundary_view_set_points (LAM_BOUNDARY_VIEW (view), set->n, set->xy, set->labels,
                                set->n_classes, NULL, LAM_PLAYGROUND_EXTENT);
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("linear:2", &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = lam_shape_flat (2);
  const float weights[] = { -1, -1, 1, 1, 0, 0 };
  const float mean[2] = { 0, 0 }, std[2] = { 1, 1 };
  g_assert_false (
    lam_boundary_view_set_model (LAM_BOUNDARY_VIEW (view), spec, weights, 6, mean, std, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_cmpint (lam_boundary_view_get_class_at (LAM_BOUNDARY_VIEW (view), 0, 0), ==, -1);
  g_object_unref (view);
}

static void
on_chosen (LamPlaygroundDialog *dialog, const char *uri, char **out)
{
  *out = g_strdup (uri);
}

/* The dialog previews the set and hands over its name. */
static void
test_playground_dialog (void)
{
  LamPlaygroundDialog *dialog = lam_playground_dialog_new (NULL);
  gtk_window_present (GTK_WINDOW (dialog));
  LamPlaygroundParams params;
  lam_playground_params_init (&params, LAM_PLAYGROUND_BLOBS);
  params.n_classes = 5;
  params.n_points = 300;
  params.seed = 3;
  lam_playground_dialog_set_params (dialog, &params);
  LamPlaygroundParams shown;
  lam_playground_dialog_get_params (dialog, &shown);
  g_assert_cmpint (shown.kind, ==, LAM_PLAYGROUND_BLOBS);
  g_assert_cmpint (shown.n_classes, ==, 5);
  g_assert_cmpint (shown.n_points, ==, 300);
  lam_test_settle (300);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", "playground-dialog.png", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (GTK_WIDGET (dialog), path, &error));
  g_test_message ("saved %s", path);

  g_autofree char *chosen = NULL;
  g_signal_connect (dialog, "chosen", G_CALLBACK (on_chosen), &chosen);
  lam_playground_dialog_use (dialog);
  g_assert_cmpstr (chosen, ==, "playground:blobs?points=300&noise=0.1&classes=5&seed=3");
}

int
main (int argc, char **argv)
{
  g_setenv ("GTK_A11Y", "none", TRUE);
  gtk_init ();
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/boundary-view/linear", test_linear_boundary);
  g_test_add_func ("/boundary-view/playground-dialog", test_playground_dialog);
  g_test_add_func ("/boundary-view/neuron-maps", test_neuron_maps);
  g_test_add_func ("/boundary-view/table-plane", test_table_plane);
  g_test_add_func ("/boundary-view/axes/names-and-ticks", test_axes);
  g_test_add_func ("/boundary-view/fewer-classes-than-points", test_fewer_classes_than_points);
  return g_test_run ();
}
