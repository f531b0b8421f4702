/* test-feature-map-view.c: the map of what the network learned. Ten
 * synthetic clusters of dots: hit testing against a plain nearest-dot
 * scan, zooming about the pointer, the view kept across frames, lasso
 * selection against a plain point-in-polygon test, the marker, maps
 * without points or with coordinates that are not numbers, and PNGs of
 * what it looks like (saved in the build's tests folder). */
#include <gtk/gtk.h>
#include <math.h>
#include <stdlib.h>

#include "lam-feature-map-view.h"
#include "lam-test-util.h"
#include "lam-ui-util.h"

#define N_CLASSES 10

static const char *const class_names[N_CLASSES + 1] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
  "Ankle boot", NULL,
};

typedef struct
{
  int n;
  float *xy;
  gint32 *labels;
  gint32 *predicted;
} Clusters;

static double
normal (GRand *rng)
{
  double u = g_rand_double_range (rng, 1e-12, 1), v = g_rand_double (rng);
  return sqrt (-2 * log (u)) * cos (2 * G_PI * v);
}

/* n points around ten centres on a circle of radius 6 (spread 1, a little
 * more along x), shifted by (dx, dy); about one in ten predicted as the
 * next class. */
static Clusters *
clusters_new (int n, guint32 seed, double dx, double dy)
{
  Clusters *c = g_new0 (Clusters, 1);
  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  c->n = n;
  c->xy = g_new (float, 2 * n);
  c->labels = g_new (gint32, n);
  c->predicted = g_new (gint32, n);
  for (int i = 0; i < n; i++) {
    int k = g_rand_int_range (rng, 0, N_CLASSES);
    double angle = 2 * G_PI * k / N_CLASSES;
    c->labels[i] = k;
    c->xy[2 * i] = (float) (6 * cos (angle) + 1.2 * normal (rng) + dx);
    c->xy[2 * i + 1] = (float) (6 * sin (angle) + normal (rng) + dy);
    c->predicted[i] = g_rand_double (rng) < 0.1 ? (k + 1) % N_CLASSES : k;
  }
  return c;
}

static void
clusters_free (Clusters *c)
{
  g_free (c->xy);
  g_free (c->labels);
  g_free (c->predicted);
  g_free (c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Clusters, clusters_free)

/* A 28 × 28 stand-in for a test image: a white bar whose place tells the
 * class, on black. */
static GdkTexture *
thumbnail (guint index, gpointer user_data)
{
  Clusters *c = user_data;
  int k = c->labels[index];
  g_autofree guint8 *pixels = g_new0 (guint8, 28 * 28 * 3);
  for (int y = 4; y < 24; y++)
    for (int x = 2 + 2 * k; x < 6 + 2 * k; x++)
      for (int ch = 0; ch < 3; ch++)
        pixels[(y * 28 + x) * 3 + ch] = 230;
  g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&pixels), 28 * 28 * 3);
  return gdk_memory_texture_new (28, 28, GDK_MEMORY_R8G8B8, bytes, 28 * 3);
}

typedef struct
{
  GtkWidget *window;
  LamFeatureMapView *view;
} Fixture;

static gboolean
allocated (gpointer data)
{
  return gtk_widget_get_width (data) > 0 && gtk_widget_get_mapped (data);
}

static void
fixture_init (Fixture *f, int width, int height)
{
  f->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (f->window), width, height);
  f->view = LAM_FEATURE_MAP_VIEW (lam_feature_map_view_new ());
  gtk_window_set_child (GTK_WINDOW (f->window), GTK_WIDGET (f->view));
  gtk_window_present (GTK_WINDOW (f->window));
  g_assert_true (lam_test_iterate_until (allocated, f->view, 5000));
  lam_test_settle (50);
}

static void
fixture_clear (Fixture *f)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
}

/* The widget's own drawing, now, over white: its snapshot called directly,
 * so neither the frame clock nor GTK's cache of the last frame stands
 * between a change and the pixels (or the time they take). */
static GdkTexture *
render (GtkWidget *widget)
{
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  gtk_snapshot_append_color (snapshot, &(GdkRGBA){ 1, 1, 1, 1 },
                             &GRAPHENE_RECT_INIT (0, 0, width, height));
  GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
}

static void
save_png (GtkWidget *widget, const char *name)
{
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (widget, path, &error));
  g_assert_no_error (error);
  g_test_message ("saved %s", path);
}

static void
set_clusters (Fixture *f, const Clusters *c, gboolean keep_view)
{
  lam_feature_map_view_set_points (f->view, c->n, c->xy, c->labels, N_CLASSES, class_names,
                                   keep_view);
}

/* Where point i's dot is, in widget coordinates. */
static void
dot_position (Fixture *f, const Clusters *c, int i, double *wx, double *wy)
{
  g_assert_true (
    lam_feature_map_view_map_to_widget (f->view, c->xy[2 * i], c->xy[2 * i + 1], wx, wy));
}

static void
test_hit (void)
{
  Fixture f;
  fixture_init (&f, 800, 600);
  g_autoptr (Clusters) c = clusters_new (5000, 1, 0, 0);
  set_clusters (&f, c, FALSE);

  /* The fitted view shows every dot inside the widget. */
  int width = gtk_widget_get_width (GTK_WIDGET (f.view));
  int height = gtk_widget_get_height (GTK_WIDGET (f.view));
  double *screen = g_new (double, 2 * c->n);
  for (int i = 0; i < c->n; i++) {
    dot_position (&f, c, i, &screen[2 * i], &screen[2 * i + 1]);
    g_assert_cmpfloat (screen[2 * i], >, 0);
    g_assert_cmpfloat (screen[2 * i], <, width);
    g_assert_cmpfloat (screen[2 * i + 1], >, 0);
    g_assert_cmpfloat (screen[2 * i + 1], <, height);
  }

  /* On a dot, that dot (or one drawn on exactly the same place). */
  for (int i = 0; i < c->n; i += 7) {
    int hit = lam_feature_map_view_get_point_at (f.view, screen[2 * i], screen[2 * i + 1]);
    g_assert_cmpint (hit, >=, 0);
    double d = hypot (screen[2 * hit] - screen[2 * i], screen[2 * hit + 1] - screen[2 * i + 1]);
    g_assert_cmpfloat (d, <, 1e-3);
  }

  /* Anywhere: the nearest dot by a plain scan, when it is within a few
   * pixels; none when the nearest is far. */
  g_autoptr (GRand) rng = g_rand_new_with_seed (2);
  int hits = 0, misses = 0;
  for (int q = 0; q < 3000; q++) {
    double x = g_rand_double_range (rng, 0, width), y = g_rand_double_range (rng, 0, height);
    double best_d = INFINITY;
    for (int i = 0; i < c->n; i++)
      best_d = MIN (best_d, hypot (screen[2 * i] - x, screen[2 * i + 1] - y));
    int hit = lam_feature_map_view_get_point_at (f.view, x, y);
    if (best_d <= 3) {
      g_assert_cmpint (hit, >=, 0);
    } else if (best_d > 12) {
      g_assert_cmpint (hit, ==, -1);
    }
    if (hit >= 0) {
      double d = hypot (screen[2 * hit] - x, screen[2 * hit + 1] - y);
      g_assert_cmpfloat (d, <=, best_d + 1e-3);
      hits++;
    } else {
      misses++;
    }
  }
  g_test_message ("random queries: %d on a dot, %d between dots", hits, misses);
  g_assert_cmpint (hits, >, 0);
  g_assert_cmpint (misses, >, 0);

  /* Zoomed in, the hit grid follows the view. */
  lam_feature_map_view_zoom (f.view, 3, width / 2.0, height / 2.0);
  for (int i = 0; i < c->n; i += 11) {
    double x, y;
    dot_position (&f, c, i, &x, &y);
    if (x < 20 || y < 40 || x > width - 20 || y > height - 80)
      continue;
    int hit = lam_feature_map_view_get_point_at (f.view, x, y);
    g_assert_cmpint (hit, >=, 0);
    double hx, hy;
    dot_position (&f, c, hit, &hx, &hy);
    g_assert_cmpfloat (hypot (hx - x, hy - y), <, 1e-3);
  }
  g_free (screen);
  fixture_clear (&f);
}

static void
assert_fixed (Fixture *f, double mx, double my, double wx, double wy)
{
  double x, y;
  g_assert_true (lam_feature_map_view_map_to_widget (f->view, mx, my, &x, &y));
  g_assert_cmpfloat_with_epsilon (x, wx, 1e-6);
  g_assert_cmpfloat_with_epsilon (y, wy, 1e-6);
}

static void
test_zoom (void)
{
  Fixture f;
  fixture_init (&f, 800, 600);
  g_autoptr (Clusters) c = clusters_new (5000, 3, 0, 0);
  set_clusters (&f, c, FALSE);

  const double px = 250, py = 200;
  double mx, my;
  g_assert_true (lam_feature_map_view_widget_to_map (f.view, px, py, &mx, &my));
  double ax, ay, bx, by;
  lam_feature_map_view_map_to_widget (f.view, 0, 0, &ax, &ay);
  lam_feature_map_view_map_to_widget (f.view, 1, 0, &bx, &by);
  double scale = bx - ax;
  g_assert_cmpfloat (scale, >, 0);
  g_assert_cmpfloat (by, ==, ay);

  /* The map point under the pointer stays under it, in and out. */
  lam_feature_map_view_zoom (f.view, 2.5, px, py);
  assert_fixed (&f, mx, my, px, py);
  lam_feature_map_view_map_to_widget (f.view, 0, 0, &ax, &ay);
  lam_feature_map_view_map_to_widget (f.view, 1, 0, &bx, &by);
  g_assert_cmpfloat_with_epsilon (bx - ax, 2.5 * scale, 1e-9 * scale);
  lam_feature_map_view_zoom (f.view, 1 / 1.7, px, py);
  assert_fixed (&f, mx, my, px, py);

  /* Elsewhere too; map y grows upwards. */
  double qx, qy;
  lam_feature_map_view_widget_to_map (f.view, 600, 450, &qx, &qy);
  g_assert_cmpfloat (qy, <, my);
  lam_feature_map_view_zoom (f.view, 1.25, 600, 450);
  assert_fixed (&f, qx, qy, 600, 450);

  /* Panning moves everything by the pixels asked. */
  double before_x, before_y;
  lam_feature_map_view_map_to_widget (f.view, 1, 2, &before_x, &before_y);
  lam_feature_map_view_pan (f.view, 30, -20);
  assert_fixed (&f, 1, 2, before_x + 30, before_y - 20);

  /* Resetting fits the map again. */
  lam_feature_map_view_reset_view (f.view);
  lam_feature_map_view_map_to_widget (f.view, 0, 0, &ax, &ay);
  lam_feature_map_view_map_to_widget (f.view, 1, 0, &bx, &by);
  g_assert_cmpfloat_with_epsilon (bx - ax, scale, 1e-9 * scale);

  /* Zooming has limits, and nonsense does nothing. */
  for (int i = 0; i < 100; i++)
    lam_feature_map_view_zoom (f.view, 10, px, py);
  lam_feature_map_view_map_to_widget (f.view, 0, 0, &ax, &ay);
  lam_feature_map_view_map_to_widget (f.view, 1, 0, &bx, &by);
  g_assert_true (isfinite (bx - ax));
  g_assert_cmpfloat (bx - ax, <, 1e4 * scale);
  lam_feature_map_view_zoom (f.view, NAN, px, py);
  lam_feature_map_view_zoom (f.view, 0, px, py);
  lam_feature_map_view_zoom (f.view, -2, px, py);
  double cx, cy;
  lam_feature_map_view_map_to_widget (f.view, 0, 0, &cx, &cy);
  g_assert_cmpfloat (cx, ==, ax);
  g_assert_cmpfloat (cy, ==, ay);
  fixture_clear (&f);
}

static void
test_keep_view (void)
{
  Fixture f;
  fixture_init (&f, 800, 600);
  g_autoptr (Clusters) first = clusters_new (5000, 4, 0, 0);
  /* The next epoch: the same images, moved and spread wider. */
  g_autoptr (Clusters) next = clusters_new (5000, 5, 3, -2);
  for (int i = 0; i < next->n * 2; i++)
    next->xy[i] *= 1.5f;
  set_clusters (&f, first, FALSE);

  /* A fitted view kept: it keeps fitting the first frame. */
  double fx, fy;
  lam_feature_map_view_map_to_widget (f.view, 1, 2, &fx, &fy);
  set_clusters (&f, next, TRUE);
  assert_fixed (&f, 1, 2, fx, fy);

  /* A zoomed and panned view kept. */
  lam_feature_map_view_zoom (f.view, 2, 300, 250);
  lam_feature_map_view_pan (f.view, -40, 25);
  double zx, zy;
  lam_feature_map_view_map_to_widget (f.view, 1, 2, &zx, &zy);
  set_clusters (&f, first, TRUE);
  assert_fixed (&f, 1, 2, zx, zy);

  /* Not kept: the new points fitted, so the wider spread shows whole. */
  set_clusters (&f, next, FALSE);
  double nx, ny;
  lam_feature_map_view_map_to_widget (f.view, 1, 2, &nx, &ny);
  g_assert_false (fabs (nx - zx) < 1e-3 && fabs (ny - zy) < 1e-3);
  int width = gtk_widget_get_width (GTK_WIDGET (f.view));
  int height = gtk_widget_get_height (GTK_WIDGET (f.view));
  for (int i = 0; i < next->n; i++) {
    double x, y;
    dot_position (&f, next, i, &x, &y);
    g_assert_true (x > 0 && x < width && y > 0 && y < height);
  }
  fixture_clear (&f);
}

/* A plain reference: the even-odd rule by counting crossings. */
static gboolean
reference_inside (const double *poly, int n, double x, double y)
{
  int crossings = 0;
  for (int a = 0; a < n; a++) {
    int b = (a + 1) % n;
    double ax = poly[2 * a], ay = poly[2 * a + 1], bx = poly[2 * b], by = poly[2 * b + 1];
    if ((ay <= y && by > y) || (by <= y && ay > y)) {
      double t = (y - ay) / (by - ay);
      if (x < ax + t * (bx - ax))
        crossings++;
    }
  }
  return crossings % 2 == 1;
}

static void
count_signal (LamFeatureMapView *view, int *count)
{
  (*count)++;
}

static void
test_select (void)
{
  Fixture f;
  fixture_init (&f, 800, 600);
  g_autoptr (Clusters) c = clusters_new (5000, 6, 0, 0);
  /* A few points that are not on the map at all. */
  c->xy[0] = NAN;
  c->xy[3] = INFINITY;
  set_clusters (&f, c, FALSE);
  int changes = 0;
  g_signal_connect (f.view, "selection-changed", G_CALLBACK (count_signal), &changes);

  /* A star with five points, its centre on the right-hand clusters:
   * concave, so an inside test that assumes convexity fails it. */
  double star[20];
  for (int v = 0; v < 10; v++) {
    double r = v % 2 == 0 ? 6 : 2.5, angle = G_PI / 2 + v * G_PI / 5;
    star[2 * v] = 3 + r * cos (angle);
    star[2 * v + 1] = 1 + r * sin (angle);
  }
  lam_feature_map_view_select_polygon (f.view, 10, star);
  g_assert_cmpint (changes, ==, 1);
  g_autoptr (GArray) selection = lam_feature_map_view_dup_selection (f.view);
  guint expected = 0, next = 0;
  for (int i = 0; i < c->n; i++) {
    gboolean inside = isfinite (c->xy[2 * i]) && isfinite (c->xy[2 * i + 1]) &&
                      reference_inside (star, 10, c->xy[2 * i], c->xy[2 * i + 1]);
    gboolean selected = next < selection->len && g_array_index (selection, guint, next) == (guint) i;
    g_assert_cmpint (inside, ==, selected);
    next += selected;
    expected += inside;
  }
  g_assert_cmpuint (next, ==, selection->len);
  g_assert_cmpuint (lam_feature_map_view_get_n_selected (f.view), ==, expected);
  g_test_message ("the star selects %u of %d points", expected, c->n);
  g_assert_cmpuint (expected, >, 100);
  g_assert_cmpuint (expected, <, (guint) c->n / 2);

  /* The same images in the next frame keep their selection. */
  set_clusters (&f, c, TRUE);
  g_assert_cmpuint (lam_feature_map_view_get_n_selected (f.view), ==, expected);
  g_assert_cmpint (changes, ==, 1);

  /* Fewer than three vertices select nothing, and say so. */
  lam_feature_map_view_select_polygon (f.view, 2, star);
  g_assert_cmpint (changes, ==, 2);
  g_assert_cmpuint (lam_feature_map_view_get_n_selected (f.view), ==, 0);

  lam_feature_map_view_select_polygon (f.view, 10, star);
  g_assert_cmpint (changes, ==, 3);
  lam_feature_map_view_clear_selection (f.view);
  g_assert_cmpint (changes, ==, 4);
  g_assert_cmpuint (lam_feature_map_view_get_n_selected (f.view), ==, 0);
  g_autoptr (GArray) none = lam_feature_map_view_dup_selection (f.view);
  g_assert_cmpuint (none->len, ==, 0);
  /* Clearing nothing is no change. */
  lam_feature_map_view_clear_selection (f.view);
  g_assert_cmpint (changes, ==, 4);

  /* New points (a fitted view) drop a selection, and say so. */
  lam_feature_map_view_select_polygon (f.view, 10, star);
  g_assert_cmpint (changes, ==, 5);
  set_clusters (&f, c, FALSE);
  g_assert_cmpint (changes, ==, 6);
  g_assert_cmpuint (lam_feature_map_view_get_n_selected (f.view), ==, 0);
  fixture_clear (&f);
}

/* The mean difference of two renders' pixels over a square around (x, y). */
static double
difference_around (GdkTexture *a, GdkTexture *b, int x, int y, int half)
{
  int width = gdk_texture_get_width (a), height = gdk_texture_get_height (a);
  g_assert_cmpint (gdk_texture_get_width (b), ==, width);
  gsize stride = (gsize) width * 4;
  g_autofree guint8 *pa = g_malloc (stride * height);
  g_autofree guint8 *pb = g_malloc (stride * height);
  gdk_texture_download (a, pa, stride);
  gdk_texture_download (b, pb, stride);
  double sum = 0;
  int count = 0;
  for (int row = MAX (y - half, 0); row < MIN (y + half, height); row++)
    for (int col = MAX (x - half, 0); col < MIN (x + half, width); col++)
      for (int ch = 0; ch < 3; ch++) {
        sum += abs (pa[row * stride + col * 4 + ch] - pb[row * stride + col * 4 + ch]);
        count++;
      }
  return count > 0 ? sum / count : 0;
}

static void
test_marker (void)
{
  Fixture f;
  fixture_init (&f, 600, 500);
  g_autoptr (Clusters) c = clusters_new (2000, 7, 0, 0);
  set_clusters (&f, c, FALSE);
  lam_test_settle (50);
  g_autoptr (GdkTexture) plain = render (GTK_WIDGET (f.view));

  lam_feature_map_view_set_marker (f.view, TRUE, 0.5f, -0.5f, "your drawing");
  g_autoptr (GdkTexture) marked = render (GTK_WIDGET (f.view));
  double mx, my;
  lam_feature_map_view_map_to_widget (f.view, 0.5, -0.5, &mx, &my);
  double at_marker = difference_around (plain, marked, (int) mx, (int) my, 6);
  /* The far corner, away from the marker and its label. */
  double far = difference_around (plain, marked, 30, 60, 10);
  g_test_message ("marker changes pixels by %.1f on average there, %.1f far away", at_marker,
                  far);
  g_assert_cmpfloat (at_marker, >, 20);
  g_assert_cmpfloat (far, ==, 0);

  /* Moved, it is drawn at the new place; hidden, not at all. */
  lam_feature_map_view_set_marker (f.view, TRUE, -3, 3, "your drawing");
  g_autoptr (GdkTexture) moved = render (GTK_WIDGET (f.view));
  g_assert_cmpfloat (difference_around (plain, moved, (int) mx, (int) my, 6), <, at_marker / 4);
  lam_feature_map_view_set_marker (f.view, FALSE, 0, 0, NULL);
  g_autoptr (GdkTexture) hidden = render (GTK_WIDGET (f.view));
  g_assert_cmpfloat (difference_around (plain, hidden, (int) mx, (int) my, 6), ==, 0);
  fixture_clear (&f);
}

static void
test_degenerate (void)
{
  Fixture f;
  fixture_init (&f, 400, 300);
  /* Nothing yet. */
  g_autoptr (GdkTexture) empty = render (GTK_WIDGET (f.view));
  g_assert_cmpint (lam_feature_map_view_get_point_at (f.view, 100, 100), ==, -1);
  lam_feature_map_view_zoom (f.view, 2, 100, 100);
  lam_feature_map_view_pan (f.view, 10, 10);
  lam_feature_map_view_reset_view (f.view);
  double square[] = { -1, -1, 1, -1, 1, 1, -1, 1 };
  lam_feature_map_view_select_polygon (f.view, 4, square);
  g_assert_cmpuint (lam_feature_map_view_get_n_selected (f.view), ==, 0);
  lam_feature_map_view_set_points (f.view, 0, NULL, NULL, 0, NULL, FALSE);
  lam_feature_map_view_set_predictions (f.view, NULL);
  lam_feature_map_view_set_highlighted (f.view, 3);
  g_assert_cmpint (lam_feature_map_view_get_highlighted (f.view), ==, -1);
  g_autoptr (GdkTexture) still_empty = render (GTK_WIDGET (f.view));

  /* Every coordinate not a number, or infinite. */
  const float bad[] = { NAN, 0, 0, NAN, INFINITY, 1, -INFINITY, NAN };
  const gint32 labels[] = { 0, 1, 2, 99 };
  lam_feature_map_view_set_points (f.view, 4, bad, labels, 3, NULL, FALSE);
  lam_feature_map_view_set_predictions (f.view, labels);
  g_autoptr (GdkTexture) all_bad = render (GTK_WIDGET (f.view));
  g_assert_cmpint (lam_feature_map_view_get_point_at (f.view, 200, 150), ==, -1);
  lam_feature_map_view_select_polygon (f.view, 4, square);
  g_assert_cmpuint (lam_feature_map_view_get_n_selected (f.view), ==, 0);

  /* One good point among them, and a label out of range: drawn, found,
   * selected. */
  const float one[] = { NAN, 0, 0.25f, 0.5f, INFINITY, 1, -INFINITY, NAN };
  lam_feature_map_view_set_points (f.view, 4, one, labels, 3, NULL, FALSE);
  lam_feature_map_view_set_highlighted (f.view, 1);
  lam_feature_map_view_set_marker (f.view, TRUE, NAN, 0, "nowhere");
  g_autoptr (GdkTexture) single = render (GTK_WIDGET (f.view));
  double x, y;
  g_assert_true (lam_feature_map_view_map_to_widget (f.view, 0.25, 0.5, &x, &y));
  g_assert_cmpint (lam_feature_map_view_get_point_at (f.view, x, y), ==, 1);
  lam_feature_map_view_select_polygon (f.view, 4, square);
  g_assert_cmpuint (lam_feature_map_view_get_n_selected (f.view), ==, 1);

  /* All points on one place still get a view. */
  const float same[] = { 2, 2, 2, 2, 2, 2 };
  lam_feature_map_view_set_points (f.view, 3, same, labels, 3, NULL, FALSE);
  g_assert_true (lam_feature_map_view_map_to_widget (f.view, 2, 2, &x, &y));
  g_assert_true (isfinite (x) && isfinite (y));
  g_assert_cmpint (lam_feature_map_view_get_point_at (f.view, x, y), >=, 0);
  g_autoptr (GdkTexture) coincident = render (GTK_WIDGET (f.view));

  /* Before the widget has a size, the conversions say so. */
  GtkWidget *loose = g_object_ref_sink (lam_feature_map_view_new ());
  g_assert_false (lam_feature_map_view_map_to_widget (LAM_FEATURE_MAP_VIEW (loose), 0, 0, &x, &y));
  g_assert_cmpint (lam_feature_map_view_get_point_at (LAM_FEATURE_MAP_VIEW (loose), 0, 0), ==, -1);
  g_object_unref (loose);
  fixture_clear (&f);
}

static gboolean
prefers_dark (gpointer widget)
{
  GdkRGBA fg;
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  return 0.2126 * fg.red + 0.7152 * fg.green + 0.0722 * fg.blue > 0.5;
}

static gboolean
prefers_light (gpointer widget)
{
  return !prefers_dark (widget);
}

/* The map as a lesson shows it: 5,000 test images, the mistakes ringed,
 * a caption, the drawing's marker and one image's card. */
static void
show_lesson (Fixture *f, Clusters *c)
{
  set_clusters (f, c, FALSE);
  lam_feature_map_view_set_predictions (f->view, c->predicted);
  lam_feature_map_view_set_caption (
    f->view, "PCA of the penultimate layer · axes explain 31% and 18% of the variance");
  lam_feature_map_view_set_thumbnail_func (f->view, thumbnail, c, NULL);
  lam_feature_map_view_set_marker (f->view, TRUE, 2.0f, -1.0f, "your drawing");
  /* A mistake near the middle of the map, for its card. */
  int shown = -1;
  for (int i = 0; i < c->n && shown < 0; i++)
    if (c->predicted[i] != c->labels[i] && fabs (c->xy[2 * i] - 5) < 1 &&
        fabs (c->xy[2 * i + 1] - 2) < 1)
      shown = i;
  g_assert_cmpint (shown, >=, 0);
  lam_feature_map_view_set_highlighted (f->view, shown);
  g_assert_cmpint (lam_feature_map_view_get_highlighted (f->view), ==, shown);
}

typedef struct
{
  int max_lines;
  int max_width;
} CardAsked;

/* As many "name = value" lines as the card asks for. */
static char **
card_lines (guint index, int max_lines, PangoLayout *measure, int max_width, gpointer user_data)
{
  CardAsked *asked = user_data;
  asked->max_lines = max_lines;
  asked->max_width = max_width;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  for (int i = 0; i < max_lines; i++) {
    g_autofree char *line = g_strdup_printf ("column %d = %u", i + 1, index);
    g_strv_builder_add (builder, line);
  }
  return g_strv_builder_end (builder);
}

/* A table row's card shows its values above its title, no more lines
 * than the view has room for, none wider than the view, in a projector's
 * large font too. */
static void
test_card_lines (void)
{
  static const int sizes[][2] = { { 720, 560 }, { 320, 240 } };
  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
  gtk_css_provider_load_from_data (css, "window.large { font-size: 2.5em; }", -1);
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
    Fixture f;
    fixture_init (&f, sizes[s][0], sizes[s][1]);
    if (s == 1) {
      gtk_widget_add_css_class (f.window, "large");
      lam_test_settle (100);
    }
    g_autoptr (Clusters) c = clusters_new (200, 3, 0, 0);
    set_clusters (&f, c, FALSE);
    lam_feature_map_view_set_predictions (f.view, c->predicted);
    CardAsked asked = { -1, -1 };
    lam_feature_map_view_set_card_lines_func (f.view, card_lines, &asked, NULL);
    lam_feature_map_view_set_highlighted (f.view, 7);
    g_autofree char *text = lam_feature_map_view_dup_card_text (f.view, 7);
    int width = gtk_widget_get_width (GTK_WIDGET (f.view));
    int height = gtk_widget_get_height (GTK_WIDGET (f.view));
    g_test_message ("%d × %d: %d lines of %d pixels asked\n%s", width, height, asked.max_lines,
                    asked.max_width, text);
    g_assert_cmpint (asked.max_width, >, 0);
    g_assert_cmpint (asked.max_width, <, width);
    g_assert_cmpint (asked.max_lines, >=, 1);
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, asked.max_lines + 2);
    g_assert_cmpstr (lines[0], ==, "column 1 = 7");
    g_autofree char *title = lam_feature_map_view_dup_card_title (f.view, 7);
    g_assert_cmpstr (lines[asked.max_lines], ==, title);
    /* The card's lines, with its title, note and padding, fit the view. */
    g_autoptr (PangoLayout) layout =
      lam_ui_create_layout (GTK_WIDGET (f.view), text, PANGO_SCALE_SMALL, FALSE, TRUE);
    int text_height;
    pango_layout_get_pixel_size (layout, NULL, &text_height);
    g_assert_cmpint (text_height + 2 * 6 + 4, <=, height - 4);
    g_assert_cmpint (asked.max_lines, >, 3);
    lam_test_settle (100);
    g_autofree char *png = g_strdup_printf ("feature-map-card-lines-%dx%d.png", width, height);
    save_png (f.window, png);
    fixture_clear (&f);
  }
  gtk_style_context_remove_provider_for_display (gdk_display_get_default (),
                                                 GTK_STYLE_PROVIDER (css));
}

static void
test_pictures (void)
{
  Fixture f;
  fixture_init (&f, 720, 560);
  g_autoptr (Clusters) c = clusters_new (5000, 8, 0, 0);
  show_lesson (&f, c);
  lam_test_settle (100);
  save_png (f.window, "feature-map-default.png");

  /* Zoomed on the right-hand clusters, a lasso around two of them. */
  lam_feature_map_view_set_highlighted (f.view, -1);
  double x, y;
  lam_feature_map_view_map_to_widget (f.view, 5, 2, &x, &y);
  lam_feature_map_view_zoom (f.view, 2.2, x, y);
  const double lasso[] = { 2.5, -1.0, 5.0, -3.0, 8.5, -0.5, 8.0, 3.5, 6.0, 6.5, 3.0, 6.0, 4.0, 2.0 };
  lam_feature_map_view_select_polygon (f.view, G_N_ELEMENTS (lasso) / 2, lasso);
  g_assert_cmpuint (lam_feature_map_view_get_n_selected (f.view), >, 0);
  lam_test_settle (100);
  save_png (f.window, "feature-map-lasso.png");

  /* The dark style, the whole map again. */
  lam_feature_map_view_clear_selection (f.view);
  lam_feature_map_view_reset_view (f.view);
  show_lesson (&f, c);
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", TRUE, NULL);
  g_assert_true (lam_test_iterate_until (prefers_dark, f.view, 5000));
  lam_test_settle (100);
  save_png (f.window, "feature-map-dark.png");
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", FALSE, NULL);
  g_assert_true (lam_test_iterate_until (prefers_light, f.view, 5000));
  fixture_clear (&f);
}

/* Not a timed test: the figures go to the log. */
static void
test_timing (void)
{
  Fixture f;
  fixture_init (&f, 900, 700);
  g_autoptr (Clusters) c = clusters_new (10000, 9, 0, 0);
  set_clusters (&f, c, FALSE);
  lam_feature_map_view_set_predictions (f.view, c->predicted);
  lam_feature_map_view_set_thumbnail_func (f.view, thumbnail, c, NULL);
  lam_test_settle (50);
  g_autoptr (GdkTexture) warm = render (GTK_WIDGET (f.view));

  const int rounds = 20;
  int width = gtk_widget_get_width (GTK_WIDGET (f.view));
  int height = gtk_widget_get_height (GTK_WIDGET (f.view));
  GtkWidget *widget = GTK_WIDGET (f.view);
  /* A new view each round: every dot drawn again. The view's snapshot
   * alone, then with the renderer's work on top. */
  gint64 start = g_get_monotonic_time ();
  for (int r = 0; r < rounds; r++) {
    lam_feature_map_view_zoom (f.view, r % 2 == 0 ? 1.05 : 1 / 1.05, width / 2.0, height / 2.0);
    g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
    GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
    g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  }
  double full_snapshot = (g_get_monotonic_time () - start) / 1000.0 / rounds;
  start = g_get_monotonic_time ();
  for (int r = 0; r < rounds; r++) {
    lam_feature_map_view_zoom (f.view, r % 2 == 0 ? 1.05 : 1 / 1.05, width / 2.0, height / 2.0);
    g_autoptr (GdkTexture) texture = render (widget);
  }
  double full = (g_get_monotonic_time () - start) / 1000.0 / rounds;

  /* The pointer moving from dot to dot: the dots are reused. */
  start = g_get_monotonic_time ();
  for (int r = 0; r < rounds; r++) {
    lam_feature_map_view_set_highlighted (f.view, r * 37);
    g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
    GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
    g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  }
  double hover_snapshot = (g_get_monotonic_time () - start) / 1000.0 / rounds;
  start = g_get_monotonic_time ();
  for (int r = 0; r < rounds; r++) {
    lam_feature_map_view_set_highlighted (f.view, r * 37 + 1);
    g_autoptr (GdkTexture) texture = render (widget);
  }
  double hover = (g_get_monotonic_time () - start) / 1000.0 / rounds;

  g_autoptr (GRand) rng = g_rand_new_with_seed (10);
  const int queries = 10000;
  int found = 0;
  start = g_get_monotonic_time ();
  for (int q = 0; q < queries; q++)
    found += lam_feature_map_view_get_point_at (f.view, g_rand_double_range (rng, 0, width),
                                                g_rand_double_range (rng, 0, height)) >= 0;
  double hit = (g_get_monotonic_time () - start) / (double) queries;

  g_test_message ("10,000 points at %d×%d: a new view %.2f ms to snapshot, %.2f ms rendered "
                  "(GSK_RENDERER=%s); hover %.2f ms to snapshot, %.2f ms rendered; hit test "
                  "%.2f µs (%d of %d queries on a dot)",
                  width, height, full_snapshot, full,
                  g_getenv ("GSK_RENDERER") ? g_getenv ("GSK_RENDERER") : "default", hover_snapshot,
                  hover, hit, found, queries);
  fixture_clear (&f);
}

int
main (int argc, char **argv)
{
  g_setenv ("GTK_A11Y", "none", TRUE);
  gtk_init ();
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/feature-map-view/hit", test_hit);
  g_test_add_func ("/feature-map-view/zoom-about-pointer", test_zoom);
  g_test_add_func ("/feature-map-view/keep-view", test_keep_view);
  g_test_add_func ("/feature-map-view/select-polygon", test_select);
  g_test_add_func ("/feature-map-view/marker", test_marker);
  g_test_add_func ("/feature-map-view/degenerate", test_degenerate);
  g_test_add_func ("/feature-map-view/pictures", test_pictures);
  g_test_add_func ("/feature-map-view/card-lines", test_card_lines);
  g_test_add_func ("/feature-map-view/timing", test_timing);
  return g_test_run ();
}
