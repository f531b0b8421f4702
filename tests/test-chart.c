#include <math.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "lam-axis-ticks.h"
#include "lam-chart.h"
#include "lam-chart-private.h"
#include "lam-test-util.h"

#define PLOT_W 400
#define PLOT_H 300

static LamChart *
new_chart (void)
{
  return LAM_CHART (g_object_ref_sink (lam_chart_new ()));
}

/* Draws once so that the layout is that of a PLOT_W x PLOT_H image. */
static cairo_surface_t *
draw_to_surface (LamChart *chart, int width, int height)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);

  lam_chart_draw (chart, cr, width, height);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  return surface;
}

static gboolean
inside_plot (LamChart *chart, double x, double y)
{
  double wx, wy;

  if (!lam_chart_data_to_widget (chart, x, y, &wx, &wy))
    return FALSE;
  return lam_chart_widget_to_data (chart, wx, wy, NULL, NULL);
}

static void
test_series_append (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  guint a = lam_chart_add_series (chart, "train loss", NULL, LAM_CHART_SERIES_NONE);
  guint b = lam_chart_add_series (chart, "val loss", NULL, LAM_CHART_SERIES_POINTS);
  double px, py;

  g_assert_cmpuint (a, !=, 0);
  g_assert_cmpuint (b, !=, 0);
  g_assert_cmpuint (a, !=, b);
  g_assert_cmpuint (lam_chart_get_n_series (chart), ==, 2);
  g_assert_false (lam_chart_get_point_near (chart, a, 1.0, &px, &py));

  for (guint i = 0; i < 100; i++)
    lam_chart_append (chart, a, i / 10.0, 2.0 - i / 100.0);
  for (guint i = 1; i <= 3; i++)
    lam_chart_append (chart, b, i, 1.0 / i);

  g_assert_cmpuint (lam_chart_get_n_points (chart, a), ==, 100);
  g_assert_cmpuint (lam_chart_get_n_points (chart, b), ==, 3);

  g_assert_true (lam_chart_get_point_near (chart, a, 4.23, &px, &py));
  g_assert_cmpfloat_with_epsilon (px, 4.2, 1e-12);
  g_assert_cmpfloat_with_epsilon (py, 1.58, 1e-12);
  g_assert_true (lam_chart_get_point_near (chart, b, 100, &px, &py));
  g_assert_cmpfloat (px, ==, 3.0);
  g_assert_true (lam_chart_get_point_near (chart, b, -5, &px, &py));
  g_assert_cmpfloat (px, ==, 1.0);

  /* x going backwards (a restarted run) must still find the nearest point. */
  lam_chart_append (chart, b, 0.5, 7.0);
  g_assert_true (lam_chart_get_point_near (chart, b, 0.4, &px, &py));
  g_assert_cmpfloat (px, ==, 0.5);
  g_assert_cmpfloat (py, ==, 7.0);
}

static void
test_series_remove_keeps_ids (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  guint a = lam_chart_add_series (chart, "a", NULL, LAM_CHART_SERIES_NONE);
  guint b = lam_chart_add_series (chart, "b", NULL, LAM_CHART_SERIES_NONE);
  guint c = lam_chart_add_series (chart, "c", NULL, LAM_CHART_SERIES_NONE);
  guint d;
  double px, py;

  for (guint i = 0; i < 5; i++)
    lam_chart_append (chart, a, i, i);
  for (guint i = 0; i < 7; i++)
    lam_chart_append (chart, b, i, i);
  for (guint i = 0; i < 9; i++)
    lam_chart_append (chart, c, i, 10.0 * i);

  lam_chart_remove_series (chart, b);
  g_assert_cmpuint (lam_chart_get_n_series (chart), ==, 2);
  g_assert_cmpuint (lam_chart_get_n_points (chart, a), ==, 5);
  g_assert_cmpuint (lam_chart_get_n_points (chart, c), ==, 9);
  lam_chart_append (chart, c, 9, 90);
  g_assert_cmpuint (lam_chart_get_n_points (chart, c), ==, 10);
  g_assert_true (lam_chart_get_point_near (chart, c, 8.9, &px, &py));
  g_assert_cmpfloat (py, ==, 90.0);

  d = lam_chart_add_series (chart, "d", NULL, LAM_CHART_SERIES_NONE);
  g_assert_cmpuint (d, !=, a);
  g_assert_cmpuint (d, !=, b);
  g_assert_cmpuint (d, !=, c);
  g_assert_cmpuint (lam_chart_get_n_points (chart, d), ==, 0);

  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*s != NULL*");
  lam_chart_append (chart, b, 1, 1);
  g_test_assert_expected_messages ();

  lam_chart_add_marker (chart, 2, "lr 0.1");
  lam_chart_clear (chart);
  g_assert_cmpuint (lam_chart_get_n_series (chart), ==, 0);
  g_assert_cmpuint (lam_chart_get_n_markers (chart), ==, 0);
  g_assert_cmpuint (lam_chart_add_series (chart, "e", NULL, 0), >, d);
}

static void
test_axes_rescale (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  guint s = lam_chart_add_series (chart, "loss", NULL, LAM_CHART_SERIES_NONE);
  cairo_surface_t *surface;
  double wx, wy;

  for (guint i = 0; i <= 10; i++)
    lam_chart_append (chart, s, i / 10.0, 1.0 - i / 20.0);
  surface = draw_to_surface (chart, PLOT_W, PLOT_H);
  cairo_surface_destroy (surface);

  g_assert_true (inside_plot (chart, 0.5, 0.75));
  g_assert_false (inside_plot (chart, 40, 25));

  lam_chart_append (chart, s, 40, 25);
  g_assert_true (lam_chart_data_to_widget (chart, 40, 25, &wx, &wy));
  g_assert_cmpfloat (wx, >, 0);
  g_assert_cmpfloat (wx, <, PLOT_W);
  g_assert_cmpfloat (wy, >, 0);
  g_assert_cmpfloat (wy, <, PLOT_H);
  g_assert_true (inside_plot (chart, 40, 25));
  g_assert_true (inside_plot (chart, 0, 1));

  /* And the other way: a big negative value widens the range downwards. */
  lam_chart_append (chart, s, 41, -30);
  g_assert_true (inside_plot (chart, 41, -30));
  g_assert_true (inside_plot (chart, 40, 25));
}

static void
assert_round_trip (LamChart *chart, double x, double y)
{
  double wx, wy, rx, ry;

  g_assert_true (lam_chart_data_to_widget (chart, x, y, &wx, &wy));
  lam_chart_widget_to_data (chart, wx, wy, &rx, &ry);
  g_assert_cmpfloat (fabs (rx - x), <=, 1e-9 * MAX (1.0, fabs (x)));
  g_assert_cmpfloat (fabs (ry - y), <=, 1e-9 * MAX (1.0, fabs (y)));
}

static void
test_axes_round_trip (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  guint s = lam_chart_add_series (chart, "loss", NULL, LAM_CHART_SERIES_NONE);
  const double points[][2] = { { 0, 0.1 }, { 0.37, 2.3 }, { 3.5, 1.0 }, { 7, 0.01 }, { 12, 5 } };
  cairo_surface_t *surface;

  for (guint i = 0; i < 50; i++)
    lam_chart_append (chart, s, i * 0.2, 0.05 + 2.0 * exp (-(double) i * 0.1));
  surface = draw_to_surface (chart, PLOT_W, PLOT_H);
  cairo_surface_destroy (surface);

  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    assert_round_trip (chart, points[i][0], points[i][1]);
  lam_chart_set_log_y (chart, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    assert_round_trip (chart, points[i][0], points[i][1]);
}

static void
count_notify (GObject *object, GParamSpec *pspec, guint *count)
{
  (*count)++;
}

static void
test_axes_log_y (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  guint s = lam_chart_add_series (chart, "loss", NULL, LAM_CHART_SERIES_NONE);
  guint notified = 0;
  cairo_surface_t *surface;
  double w01, w1, w10, w100, before, after, linear_w1, wx;

  g_signal_connect (chart, "notify::log-y", G_CALLBACK (count_notify), &notified);
  for (guint i = 0; i < 40; i++)
    lam_chart_append (chart, s, i * 0.25, 0.05 * pow (10, i / 39.0 * 2.5));
  surface = draw_to_surface (chart, PLOT_W, PLOT_H);
  cairo_surface_destroy (surface);
  g_assert_true (lam_chart_data_to_widget (chart, 1, 1, NULL, &linear_w1));

  g_assert_false (lam_chart_get_log_y (chart));
  lam_chart_set_log_y (chart, TRUE);
  lam_chart_set_log_y (chart, TRUE);
  g_assert_true (lam_chart_get_log_y (chart));
  g_assert_cmpuint (notified, ==, 1);

  g_assert_true (lam_chart_data_to_widget (chart, 1, 0.1, NULL, &w01));
  g_assert_true (lam_chart_data_to_widget (chart, 1, 1, NULL, &w1));
  g_assert_true (lam_chart_data_to_widget (chart, 1, 10, NULL, &w10));
  g_assert_true (lam_chart_data_to_widget (chart, 1, 100, NULL, &w100));
  g_assert_cmpfloat (w01 - w1, >, 20);
  g_assert_cmpfloat_with_epsilon (w01 - w1, w1 - w10, 1e-6);
  g_assert_cmpfloat_with_epsilon (w1 - w10, w10 - w100, 1e-6);
  g_assert_cmpfloat (fabs (w1 - linear_w1), >, 5);

  g_assert_false (lam_chart_data_to_widget (chart, 1, 0, &wx, NULL));
  g_assert_false (lam_chart_data_to_widget (chart, 1, -2, NULL, NULL));

  /* Non-positive values are kept but ignored by the axis. */
  lam_chart_data_to_widget (chart, 1, 1, NULL, &before);
  lam_chart_append (chart, s, 10.25, 0);
  lam_chart_append (chart, s, 10.5, -3);
  lam_chart_data_to_widget (chart, 1, 1, NULL, &after);
  g_assert_cmpuint (lam_chart_get_n_points (chart, s), ==, 42);
  g_assert_cmpfloat_with_epsilon (before, after, 1e-9);

  surface = draw_to_surface (chart, PLOT_W, PLOT_H);
  cairo_surface_destroy (surface);
}

static void
test_axes_fixed_limits (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  guint s = lam_chart_add_series (chart, "accuracy", NULL, LAM_CHART_SERIES_NONE);
  cairo_surface_t *surface;
  double w0, w1, w1_after, wx;

  for (guint i = 0; i <= 20; i++)
    lam_chart_append (chart, s, i * 0.25, 0.2 + 0.6 * i / 20.0);
  surface = draw_to_surface (chart, PLOT_W, PLOT_H);
  cairo_surface_destroy (surface);

  /* Automatic: 0 and 1 lie outside the range of 0.2..0.8. */
  g_assert_false (inside_plot (chart, 2, 0.0));
  g_assert_false (inside_plot (chart, 2, 1.0));

  lam_chart_set_y_limits (chart, 0, 1);
  lam_chart_set_y_format (chart, LAM_CHART_FORMAT_PERCENT);
  g_assert_true (lam_chart_data_to_widget (chart, 2, 0, &wx, &w0));
  g_assert_true (lam_chart_data_to_widget (chart, 2, 1, &wx, &w1));
  g_assert_true (lam_chart_widget_to_data (chart, wx, w0 - 0.01, NULL, NULL));
  g_assert_false (lam_chart_widget_to_data (chart, wx, w0 + 0.5, NULL, NULL));
  g_assert_true (lam_chart_widget_to_data (chart, wx, w1 + 0.01, NULL, NULL));
  g_assert_false (lam_chart_widget_to_data (chart, wx, w1 - 0.5, NULL, NULL));

  /* Data beyond the limits does not move them. */
  lam_chart_append (chart, s, 5.25, 1.7);
  lam_chart_append (chart, s, 5.5, -0.4);
  g_assert_true (lam_chart_data_to_widget (chart, 2, 1, NULL, &w1_after));
  g_assert_cmpfloat_with_epsilon (w1, w1_after, 1e-9);
  surface = draw_to_surface (chart, PLOT_W, PLOT_H);
  cairo_surface_destroy (surface);

  /* One end fixed, the other automatic. */
  lam_chart_set_y_limits (chart, 0, NAN);
  g_assert_true (inside_plot (chart, 5.25, 1.7));
  g_assert_true (lam_chart_data_to_widget (chart, 2, 0, &wx, &w0));
  g_assert_true (lam_chart_widget_to_data (chart, wx, w0 - 0.01, NULL, NULL));
  g_assert_false (lam_chart_widget_to_data (chart, wx, w0 + 0.5, NULL, NULL));

  lam_chart_set_y_limits (chart, NAN, NAN);
  g_assert_true (inside_plot (chart, 5.5, -0.4));
}

static void
test_smoothing_raw_points (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  guint s = lam_chart_add_series (chart, "train", NULL, LAM_CHART_SERIES_SMOOTHED);
  guint notified = 0;
  double px, py;

  g_signal_connect (chart, "notify::smoothing", G_CALLBACK (count_notify), &notified);
  lam_chart_set_smoothing (chart, 0.9);
  lam_chart_set_smoothing (chart, 0.9);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_cmpfloat (lam_chart_get_smoothing (chart), ==, 0.9);

  for (guint i = 0; i < 200; i++)
    lam_chart_append (chart, s, i, i % 2 ? 1.0 : 0.0);
  g_assert_true (lam_chart_get_point_near (chart, s, 5.2, &px, &py));
  g_assert_cmpfloat (px, ==, 5.0);
  g_assert_cmpfloat (py, ==, 1.0);
  g_assert_true (lam_chart_get_point_near (chart, s, 150.4, &px, &py));
  g_assert_cmpfloat (py, ==, 0.0);

  lam_chart_set_smoothing (chart, 5.0);
  g_assert_cmpfloat (lam_chart_get_smoothing (chart), ==, 0.99);
  g_object_set (chart, "smoothing", 0.0, NULL);
  g_assert_cmpfloat (lam_chart_get_smoothing (chart), ==, 0.0);
  g_assert_cmpuint (notified, ==, 3);
}

static void
test_markers (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  guint s = lam_chart_add_series (chart, "loss", NULL, LAM_CHART_SERIES_NONE);
  cairo_surface_t *surface;

  for (guint i = 0; i <= 10; i++)
    lam_chart_append (chart, s, i * 0.2, 1.0 / (1 + i));
  surface = draw_to_surface (chart, PLOT_W, PLOT_H);
  cairo_surface_destroy (surface);

  g_assert_cmpuint (lam_chart_get_n_markers (chart), ==, 0);
  g_assert_false (inside_plot (chart, 9, 0.5));
  lam_chart_add_marker (chart, 1, "lr 0.01");
  lam_chart_add_marker (chart, 1.05, "lr 0.001");
  lam_chart_add_marker (chart, 9, NULL);
  g_assert_cmpuint (lam_chart_get_n_markers (chart), ==, 3);
  /* A marker past the data widens the x axis to show it. */
  g_assert_true (inside_plot (chart, 9, 0.5));

  surface = draw_to_surface (chart, PLOT_W, PLOT_H);
  cairo_surface_destroy (surface);
  lam_chart_clear (chart);
  g_assert_cmpuint (lam_chart_get_n_markers (chart), ==, 0);
}

static gboolean
pixel_near_color (cairo_surface_t *surface, double cx, double cy, int radius, const GdkRGBA *c)
{
  const guchar *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  int width = cairo_image_surface_get_width (surface);
  int height = cairo_image_surface_get_height (surface);

  for (int y = (int) cy - radius; y <= (int) cy + radius; y++)
    for (int x = (int) cx - radius; x <= (int) cx + radius; x++)
      {
        guint32 p;

        if (x < 0 || y < 0 || x >= width || y >= height)
          continue;
        p = *(const guint32 *) (data + y * stride + x * 4);
        if (fabs (((p >> 16) & 0xff) / 255.0 - c->red) < 0.12
            && fabs (((p >> 8) & 0xff) / 255.0 - c->green) < 0.12
            && fabs ((p & 0xff) / 255.0 - c->blue) < 0.12)
          return TRUE;
      }
  return FALSE;
}

static guint
count_color (cairo_surface_t *surface, const GdkRGBA *c)
{
  int width = cairo_image_surface_get_width (surface);
  int height = cairo_image_surface_get_height (surface);
  guint count = 0;

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      count += pixel_near_color (surface, x, y, 0, c);
  return count;
}

static void
test_draw_pixels (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  const GdkRGBA red = { 0.9, 0.1, 0.1, 1.0 };
  const GdkRGBA blue = { 0.1, 0.3, 0.9, 1.0 };
  guint a = lam_chart_add_series (chart, "train", &red, LAM_CHART_SERIES_NONE);
  guint b = lam_chart_add_series (chart, "validation", &blue, LAM_CHART_SERIES_POINTS);
  cairo_surface_t *surface;
  guint hits_a = 0, hits_b = 0, total_a, total_b;

  lam_chart_set_title (chart, "Loss");
  lam_chart_set_axis_labels (chart, "epoch", "loss");
  for (guint i = 0; i <= 100; i++)
    lam_chart_append (chart, a, i / 10.0, 2.0 * exp (-(double) i / 30.0) + 0.1);
  for (guint i = 1; i <= 10; i++)
    lam_chart_append (chart, b, i, 2.2 * exp (-(double) i / 3.0) + 0.3);

  surface = draw_to_surface (chart, PLOT_W, PLOT_H);

  for (guint i = 1; i <= 9; i++)
    {
      double x = i + 0.5, wx, wy;
      double ya = 2.0 * exp (-x * 10 / 30.0) + 0.1;
      double yb = 2.2 * exp (-(double) i / 3.0) + 0.3;

      g_assert_true (lam_chart_data_to_widget (chart, x, ya, &wx, &wy));
      hits_a += pixel_near_color (surface, wx, wy, 2, &red);
      g_assert_true (lam_chart_data_to_widget (chart, i, yb, &wx, &wy));
      hits_b += pixel_near_color (surface, wx, wy, 2, &blue);
    }
  /* The legend may cover one of them. */
  g_assert_cmpuint (hits_a, >=, 8);
  g_assert_cmpuint (hits_b, >=, 8);

  /* Background and the empty middle of the plot are not painted in series colours. */
  g_assert_false (pixel_near_color (surface, 2, 2, 1, &red));
  g_assert_false (pixel_near_color (surface, PLOT_W - 3, PLOT_H - 3, 1, &blue));
  {
    double wx, wy;
    lam_chart_data_to_widget (chart, 7, 1.8, &wx, &wy);
    g_assert_false (pixel_near_color (surface, wx, wy, 3, &red));
    g_assert_false (pixel_near_color (surface, wx, wy, 3, &blue));
  }
  total_a = count_color (surface, &red);
  total_b = count_color (surface, &blue);
  g_test_message ("series pixels: %u red, %u blue of %d", total_a, total_b, PLOT_W * PLOT_H);
  g_assert_cmpuint (total_a, >, 200);
  g_assert_cmpuint (total_b, >, 50);
  g_assert_cmpuint (total_a + total_b, <, PLOT_W * PLOT_H / 10);
  cairo_surface_destroy (surface);
}

static void
test_draw_smoothed (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  const GdkRGBA green = { 0.1, 0.6, 0.3, 1.0 };
  guint s = lam_chart_add_series (chart, "train", &green, LAM_CHART_SERIES_SMOOTHED);
  cairo_surface_t *surface;
  double wx, wy;
  guint hits = 0;

  lam_chart_set_smoothing (chart, 0.95);
  for (guint i = 0; i < 400; i++)
    lam_chart_append (chart, s, i / 100.0, i % 2 ? 1.0 : 0.0);
  surface = draw_to_surface (chart, PLOT_W, PLOT_H);

  /* The full-strength line runs through the average, where no raw point is. */
  for (guint i = 1; i < 4; i++)
    {
      g_assert_true (lam_chart_data_to_widget (chart, i, 0.5, &wx, &wy));
      hits += pixel_near_color (surface, wx, wy, 2, &green);
    }
  g_assert_cmpuint (hits, ==, 3);
  cairo_surface_destroy (surface);
}

static void
test_draw_degenerate (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  guint s;
  cairo_surface_t *surface;

  surface = draw_to_surface (chart, PLOT_W, PLOT_H);
  cairo_surface_destroy (surface);
  s = lam_chart_add_series (chart, NULL, NULL, LAM_CHART_SERIES_SMOOTHED);
  lam_chart_append (chart, s, 0, 3);
  surface = draw_to_surface (chart, PLOT_W, PLOT_H);
  cairo_surface_destroy (surface);
  g_assert_true (inside_plot (chart, 0, 3));

  lam_chart_append (chart, s, 1, NAN);
  lam_chart_append (chart, s, 2, INFINITY);
  lam_chart_append (chart, s, 3, 1e300);
  lam_chart_set_log_y (chart, TRUE);
  for (int size = 1; size <= 64; size *= 4)
    {
      surface = draw_to_surface (chart, size, size);
      cairo_surface_destroy (surface);
    }
  lam_chart_clear (chart);
  s = lam_chart_add_series (chart, "negative", NULL, LAM_CHART_SERIES_NONE);
  lam_chart_append (chart, s, 0, -1);
  surface = draw_to_surface (chart, PLOT_W, PLOT_H);
  cairo_surface_destroy (surface);
}

static void
test_properties (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  g_autofree char *title = NULL;
  double width;
  guint notified = 0;

  g_assert_cmpint (gtk_accessible_get_accessible_role (GTK_ACCESSIBLE (chart)), ==,
                   GTK_ACCESSIBLE_ROLE_IMG);
  g_signal_connect (chart, "notify", G_CALLBACK (count_notify), &notified);
  lam_chart_set_title (chart, "Accuracy");
  lam_chart_set_title (chart, "Accuracy");
  g_object_get (chart, "title", &title, "line-width", &width, NULL);
  g_assert_cmpstr (title, ==, "Accuracy");
  g_assert_cmpfloat (width, ==, 1.5);
  lam_chart_set_line_width (chart, 4);
  g_assert_cmpfloat (lam_chart_get_line_width (chart), ==, 4);
  g_assert_cmpuint (notified, ==, 2);

  int min, nat;
  gtk_widget_measure (GTK_WIDGET (chart), GTK_ORIENTATION_HORIZONTAL, -1, &min, &nat, NULL, NULL);
  g_assert_cmpint (min, >=, 320);
  gtk_widget_measure (GTK_WIDGET (chart), GTK_ORIENTATION_VERTICAL, -1, &min, &nat, NULL, NULL);
  g_assert_cmpint (min, >=, 200);
}

static double
channel_linear (double c)
{
  return c <= 0.04045 ? c / 12.92 : pow ((c + 0.055) / 1.055, 2.4);
}

/* WCAG's relative luminance and contrast ratio. */
static double
relative_luminance (const GdkRGBA *c)
{
  return 0.2126 * channel_linear (c->red) + 0.7152 * channel_linear (c->green)
         + 0.0722 * channel_linear (c->blue);
}

static double
contrast_ratio (const GdkRGBA *a, const GdkRGBA *b)
{
  double la = relative_luminance (a), lb = relative_luminance (b);

  return (MAX (la, lb) + 0.05) / (MIN (la, lb) + 0.05);
}

static void
to_lab (const GdkRGBA *c, double lab[3])
{
  double r = channel_linear (c->red), g = channel_linear (c->green), b = channel_linear (c->blue);
  double xyz[3] = { (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
                    0.2126 * r + 0.7152 * g + 0.0722 * b,
                    (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883 };
  double f[3];

  for (int i = 0; i < 3; i++)
    f[i] = xyz[i] > 0.008856 ? cbrt (xyz[i]) : 7.787 * xyz[i] + 16.0 / 116;
  lab[0] = 116 * f[1] - 16;
  lab[1] = 500 * (f[0] - f[1]);
  lab[2] = 200 * (f[1] - f[2]);
}

/* Every run colour reads on the light theme's background (#fafafa) and the
 * dark one's (#242424), and any two are far apart. */
static void
test_run_colors_readable (void)
{
  const GdkRGBA light = { 0.98, 0.98, 0.98, 1 }, dark = { 0.14, 0.14, 0.14, 1 };
  double closest = INFINITY;

  for (guint i = 0; i < LAM_CHART_N_RUN_COLORS; i++)
    {
      GdkRGBA a, again;
      double lab_a[3];

      lam_chart_get_run_color (i, &a);
      lam_chart_get_run_color (i + LAM_CHART_N_RUN_COLORS, &again);
      g_assert_true (gdk_rgba_equal (&a, &again));
      g_assert_cmpfloat (a.alpha, ==, 1);
      g_assert_cmpfloat (contrast_ratio (&a, &light), >=, 3.0);
      g_assert_cmpfloat (contrast_ratio (&a, &dark), >=, 3.0);
      to_lab (&a, lab_a);
      for (guint k = 0; k < i; k++)
        {
          GdkRGBA b;
          double lab_b[3];

          lam_chart_get_run_color (k, &b);
          to_lab (&b, lab_b);
          closest = MIN (closest, sqrt ((lab_a[0] - lab_b[0]) * (lab_a[0] - lab_b[0])
                                        + (lab_a[1] - lab_b[1]) * (lab_a[1] - lab_b[1])
                                        + (lab_a[2] - lab_b[2]) * (lab_a[2] - lab_b[2])));
        }
    }
  g_test_message ("closest two run colours: %.1f apart in CIELAB", closest);
  g_assert_cmpfloat (closest, >=, 20);
}

/* Runs overlaid with projector-thick lines: each earlier run, faded, still
 * shows its own colour, apart from the others and from the background; the
 * current one is drawn at full strength. */
static void
test_run_colors_drawn (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  const guint n_runs = LAM_CHART_N_RUN_COLORS;
  GdkRGBA seen[LAM_CHART_N_RUN_COLORS], bg;
  cairo_surface_t *surface;
  const guchar *data;
  int stride;

  lam_chart_set_line_width (chart, 3.5);
  lam_chart_set_y_limits (chart, 0, n_runs + 1);
  for (guint r = 0; r < n_runs; r++)
    {
      GdkRGBA color;
      g_autofree char *name = g_strdup_printf ("Run %u", r + 1);
      guint id;

      lam_chart_get_run_color (r, &color);
      id = lam_chart_add_series (chart, name, &color,
                                 r + 1 < n_runs ? LAM_CHART_SERIES_FADED : LAM_CHART_SERIES_NONE);
      lam_chart_append (chart, id, 0, r + 1);
      lam_chart_append (chart, id, 4, r + 1);
    }
  surface = draw_to_surface (chart, 2 * PLOT_W, 2 * PLOT_H);
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);

  {
    guint32 p = *(const guint32 *) data;
    bg = (GdkRGBA) { ((p >> 16) & 0xff) / 255.0, ((p >> 8) & 0xff) / 255.0, (p & 0xff) / 255.0, 1 };
  }
  for (guint r = 0; r < n_runs; r++)
    {
      double wx, wy;
      guint32 p;

      /* Left of the middle, clear of the legend in a corner. */
      g_assert_true (lam_chart_data_to_widget (chart, 1.5, r + 1, &wx, &wy));
      p = *(const guint32 *) (data + (int) round (wy) * stride + (int) round (wx) * 4);
      seen[r] = (GdkRGBA) { ((p >> 16) & 0xff) / 255.0, ((p >> 8) & 0xff) / 255.0,
                            (p & 0xff) / 255.0, 1 };
      g_assert_cmpfloat (fabs (seen[r].red - bg.red) + fabs (seen[r].green - bg.green)
                           + fabs (seen[r].blue - bg.blue), >, 0.3);
      for (guint k = 0; k < r; k++)
        g_assert_cmpfloat (fabs (seen[r].red - seen[k].red) + fabs (seen[r].green - seen[k].green)
                             + fabs (seen[r].blue - seen[k].blue), >, 0.1);
    }
  /* The current run at full strength: its own colour exactly. */
  {
    GdkRGBA current;

    lam_chart_get_run_color (n_runs - 1, &current);
    g_assert_cmpfloat (fabs (seen[n_runs - 1].red - current.red), <, 0.02);
    g_assert_cmpfloat (fabs (seen[n_runs - 1].green - current.green), <, 0.02);
    g_assert_cmpfloat (fabs (seen[n_runs - 1].blue - current.blue), <, 0.02);
  }
  cairo_surface_destroy (surface);
}

/* Pixels down the plot at data x whose blue stands well above their red. */
static guint
count_tinted_column (LamChart *chart, cairo_surface_t *surface, double x)
{
  const guchar *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  int height = cairo_image_surface_get_height (surface);
  double wx, wy;
  guint count = 0;

  lam_chart_data_to_widget (chart, x, 1, &wx, &wy);
  for (int y = 0; y < height; y++)
    {
      guint32 p = *(const guint32 *) (data + y * stride + (int) floor (wx) * 4);

      if ((p & 0xff) / 255.0 - ((p >> 16) & 0xff) / 255.0 > 0.15)
        count++;
    }
  return count;
}

/* Series report their name, colour and flags; a series kept out of the
 * legend is still drawn; markers keep their place, label and colour. */
static void
test_series_queries (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  GdkRGBA orange, teal, got;
  guint a, b;
  double x;
  const char *label;
  cairo_surface_t *surface;

  lam_chart_get_run_color (1, &orange);
  a = lam_chart_add_series (chart, "Run 1 · Fashion-MNIST · mlp · Adam 0.001", &orange,
                            LAM_CHART_SERIES_SMOOTHED | LAM_CHART_SERIES_FADED);
  b = lam_chart_add_series (chart, "Run 1 validation", &orange,
                            LAM_CHART_SERIES_POINTS | LAM_CHART_SERIES_NO_LEGEND);
  g_assert_cmpuint (lam_chart_get_nth_series (chart, 0), ==, a);
  g_assert_cmpuint (lam_chart_get_nth_series (chart, 1), ==, b);
  g_assert_cmpuint (lam_chart_get_nth_series (chart, 2), ==, 0);
  g_assert_cmpstr (lam_chart_get_series_name (chart, a), ==,
                   "Run 1 · Fashion-MNIST · mlp · Adam 0.001");
  lam_chart_get_series_color (chart, b, &got);
  g_assert_true (gdk_rgba_equal (&got, &orange));
  g_assert_cmpint (lam_chart_get_series_flags (chart, a), ==,
                   LAM_CHART_SERIES_SMOOTHED | LAM_CHART_SERIES_FADED);
  for (guint i = 0; i <= 10; i++)
    {
      lam_chart_append (chart, a, i * 0.2, 1.0 / (1 + i));
      lam_chart_append (chart, b, i * 0.2, 1.2 / (1 + i));
    }

  lam_chart_get_run_color (7, &teal);
  lam_chart_add_marker_full (chart, 0.5, "lr 0.01", &teal, LAM_CHART_SERIES_FADED);
  lam_chart_add_marker (chart, 1.5, "lr 0.001");
  g_assert_cmpuint (lam_chart_get_n_markers (chart), ==, 2);
  lam_chart_get_marker (chart, 0, &x, &label);
  g_assert_cmpfloat (x, ==, 0.5);
  g_assert_cmpstr (label, ==, "lr 0.01");
  lam_chart_get_marker (chart, 1, &x, NULL);
  g_assert_cmpfloat (x, ==, 1.5);

  /* The coloured marker's dashed line, a lighter teal, down the plot at
   * x = 0.5; the other marker's, grey, has no tint. */
  surface = draw_to_surface (chart, PLOT_W, PLOT_H);
  g_assert_cmpuint (count_tinted_column (chart, surface, 0.5), >, 40);
  g_assert_cmpuint (count_tinted_column (chart, surface, 1.5), <, 5);
  cairo_surface_destroy (surface);
}

/* Axis ticks */

static void
assert_step (double step, double expected)
{
  g_assert_cmpfloat_with_epsilon (step, expected, expected * 1e-9);
}

/* The ticks of step over [low, high]: inside it, on multiples of the step,
 * one step apart; returns how many. */
static guint
assert_ticks_on_step (double low, double high, double step)
{
  double ticks[64];
  guint n = lam_axis_ticks (low, high, step, ticks, G_N_ELEMENTS (ticks));

  g_assert_cmpuint (n, ==, lam_axis_count_ticks (low, high, step));
  for (guint i = 0; i < n; i++) {
    double k = ticks[i] / step;

    g_assert_cmpfloat (ticks[i], >=, low - step * 1e-9);
    g_assert_cmpfloat (ticks[i], <=, high + step * 1e-9);
    g_assert_cmpfloat_with_epsilon (k, round (k), 1e-9);
    if (i > 0)
      g_assert_cmpfloat_with_epsilon (ticks[i] - ticks[i - 1], step, step * 1e-9);
  }
  return n;
}

static void
assert_tick_text (double value, double step, const char *expected)
{
  g_autofree char *text = lam_axis_format_tick (value, lam_axis_step_decimals (step));

  g_assert_cmpstr (text, ==, expected);
}

/* The chart and the 2-D plot of a table chose their ticks each their own
 * way; one helper chooses them for both, the plot's steps allowing 2.5. */
static void
test_axis_ticks (void)
{
  const struct
  {
    double low, high;
    double near_1_2_5;   /* nearest span / 5 */
    double near_2_5;     /* the same, 2.5 allowed */
    double at_least_2_5; /* at least span / 4, 2.5 allowed: the plot's five ticks */
  } spans[] = {
    { 0, 0.07, 0.01, 0.01, 0.02 }, { 0, 1, 0.2, 0.2, 0.25 },     { 0, 7.5, 2, 2, 2 },
    { 0, 13, 2, 2.5, 5 },          { 0, 1e4, 2000, 2000, 2500 }, { -13, -0.5, 2, 2.5, 5 },
    { -6, 6, 2, 2.5, 5 },          { 37, 103, 10, 10, 20 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (spans); i++) {
    double low = spans[i].low, high = spans[i].high;
    double step = lam_axis_step_near (low, high, 5, LAM_AXIS_STEPS_1_2_5);

    g_test_message ("[%g, %g]: steps %g, %g, %g", low, high, step,
                    lam_axis_step_near (low, high, 5, LAM_AXIS_STEPS_1_2_2_5_5),
                    lam_axis_step_at_least (low, high, 4, LAM_AXIS_STEPS_1_2_2_5_5));
    assert_step (step, spans[i].near_1_2_5);
    assert_step (lam_axis_step_near (high, low, 5, LAM_AXIS_STEPS_1_2_5), step);
    assert_step (lam_axis_step_near (low, high, 5, LAM_AXIS_STEPS_1_2_2_5_5), spans[i].near_2_5);
    assert_step (lam_axis_step_at_least (low, high, 4, LAM_AXIS_STEPS_1_2_2_5_5),
                 spans[i].at_least_2_5);
    g_assert_cmpuint (assert_ticks_on_step (low, high, step), >=, 4);
    g_assert_cmpuint (assert_ticks_on_step (low, high, spans[i].at_least_2_5), <=, 5);
    g_assert_cmpuint (assert_ticks_on_step (low, high, spans[i].at_least_2_5), >=, 2);
  }

  /* A zero span gives a step of the value's size, 1 around 0. */
  assert_step (lam_axis_step_near (3, 3, 5, LAM_AXIS_STEPS_1_2_5), 0.5);
  assert_step (lam_axis_step_near (-250, -250, 5, LAM_AXIS_STEPS_1_2_5), 50);
  assert_step (lam_axis_step_near (0, 0, 5, LAM_AXIS_STEPS_1_2_5), 0.2);
  assert_step (lam_axis_step_at_least (0, 0, 4, LAM_AXIS_STEPS_1_2_2_5_5), 0.25);
  g_assert_cmpuint (assert_ticks_on_step (3, 3, 0.5), ==, 1);
  g_assert_cmpuint (assert_ticks_on_step (3.1, 3.1, 0.5), ==, 0);

  /* Steps in order, with and without 2.5. */
  assert_step (lam_axis_step_coarser (2, LAM_AXIS_STEPS_1_2_5), 5);
  assert_step (lam_axis_step_coarser (2, LAM_AXIS_STEPS_1_2_2_5_5), 2.5);
  assert_step (lam_axis_step_coarser (5, LAM_AXIS_STEPS_1_2_5), 10);
  assert_step (lam_axis_step_coarser (0.1, LAM_AXIS_STEPS_1_2_5), 0.2);
  assert_step (lam_axis_step_finer (1, LAM_AXIS_STEPS_1_2_5), 0.5);
  assert_step (lam_axis_step_finer (5, LAM_AXIS_STEPS_1_2_2_5_5), 2.5);
  assert_step (lam_axis_step_finer (2.5, LAM_AXIS_STEPS_1_2_2_5_5), 2);
  assert_step (lam_axis_step_finer (0.2, LAM_AXIS_STEPS_1_2_5), 0.1);

  /* Ticks of 0.1 summed ten times miss 1.0; multiples do not. */
  double ticks[16];
  g_assert_cmpuint (lam_axis_ticks (0, 1, 0.1, ticks, 16), ==, 11);
  g_assert_cmpfloat (ticks[10], ==, 1.0);
  g_assert_cmpfloat (ticks[3], ==, 3 * 0.1);
  g_assert_cmpuint (lam_axis_ticks (-1, 1, 0.1, ticks, 16), ==, 16);
  g_assert_cmpfloat (ticks[10], ==, 0.0);

  /* As many decimals as the step needs, no more. */
  g_assert_cmpint (lam_axis_step_decimals (0.25), ==, 2);
  g_assert_cmpint (lam_axis_step_decimals (2.5), ==, 1);
  g_assert_cmpint (lam_axis_step_decimals (0.01), ==, 2);
  g_assert_cmpint (lam_axis_step_decimals (5), ==, 0);
  g_assert_cmpint (lam_axis_step_decimals (2000), ==, 0);
  assert_tick_text (0.25, 0.25, "0.25");
  assert_tick_text (0.5, 0.25, "0.50");
  assert_tick_text (7.5, 2.5, "7.5");
  assert_tick_text (5, 2.5, "5.0");
  assert_tick_text (0.07, 0.01, "0.07");
  assert_tick_text (8000, 2000, "8000");
  assert_tick_text (-12, 2,
                    "\xe2\x88\x92"
                    "12");
  assert_tick_text (-1e-17, 0.1, "0.0");
  assert_tick_text (2.5e6, 5e5, "2.5e+06");
}

/* Windows */

static void
wait_for_size (GtkWidget *widget)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!gtk_widget_get_mapped (widget) || gtk_widget_get_width (widget) <= 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  lam_test_settle (100);
}

static gboolean
count_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

/* The widget paintable shows what the last frame drew, so let one be drawn. */
static void
wait_for_frame (GtkWidget *widget)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  guint ticks = 0;
  guint id = gtk_widget_add_tick_callback (widget, count_tick, &ticks, NULL);

  gtk_widget_queue_draw (widget);
  while (ticks < 2)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  gtk_widget_remove_tick_callback (widget, id);
}

static GdkTexture *
render_node (GtkWidget *widget, GskRenderNode *node)
{
  return gsk_renderer_render_texture (
    gtk_native_get_renderer (gtk_widget_get_native (widget)), node,
    &GRAPHENE_RECT_INIT (0, 0, gtk_widget_get_width (widget), gtk_widget_get_height (widget)));
}

static GdkTexture *
render_widget (GtkWidget *widget)
{
  g_autoptr (GdkPaintable) paintable = NULL;
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  GskRenderNode *node;
  GdkTexture *texture;

  wait_for_frame (widget);
  paintable = gtk_widget_paintable_new (widget);
  gdk_paintable_snapshot (paintable, snapshot, gtk_widget_get_width (widget),
                          gtk_widget_get_height (widget));
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  texture = render_node (widget, node);
  gsk_render_node_unref (node);
  return texture;
}

static double
mean_luminance (GdkTexture *texture)
{
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);
  g_autofree guchar *data = g_malloc ((gsize) width * height * 4);
  double sum = 0;

  gdk_texture_download (texture, data, width * 4);
  for (int i = 0; i < width * height; i++)
    {
      guint32 p = ((guint32 *) data)[i];
      sum += 0.2126 * ((p >> 16) & 0xff) + 0.7152 * ((p >> 8) & 0xff) + 0.0722 * (p & 0xff);
    }
  return sum / (width * height * 255.0);
}

static void
save_png (GdkTexture *texture, const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_BUILT, name, NULL);
  GStatBuf st;

  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 10000);
  g_test_message ("wrote %s (%ld bytes)", path, (long) st.st_size);
}

static void
emit_motion (GtkWidget *widget, const char *signal, double x, double y)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);
  gboolean found = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_EVENT_CONTROLLER_MOTION (controller))
        continue;
      if (g_str_equal (signal, "leave"))
        g_signal_emit_by_name (controller, signal);
      else
        g_signal_emit_by_name (controller, signal, x, y);
      found = TRUE;
    }
  g_assert_true (found);
}

static double
noise (GRand *rand)
{
  return g_rand_double_range (rand, -1, 1) + g_rand_double_range (rand, -1, 1);
}

static GtkWidget *
demo_loss_chart (void)
{
  LamChart *chart = LAM_CHART (lam_chart_new ());
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  guint prev, train, val;

  lam_chart_set_title (chart, "Loss");
  lam_chart_set_axis_labels (chart, "epoch", "cross-entropy");
  lam_chart_set_smoothing (chart, 0.85);
  train = lam_chart_add_series (chart, "train", NULL, LAM_CHART_SERIES_SMOOTHED);
  val = lam_chart_add_series (chart, "validation", NULL, LAM_CHART_SERIES_POINTS);
  prev = lam_chart_add_series (chart, "previous run", NULL,
                               LAM_CHART_SERIES_SMOOTHED | LAM_CHART_SERIES_FADED);
  for (guint i = 1; i <= 600; i++)
    {
      double x = i / 100.0;
      double drop = x > 3 ? 0.12 * (1 - exp (-(x - 3) * 4)) : 0;
      lam_chart_append (chart, prev, x, 0.55 + 1.75 * exp (-x * 0.9) + 0.06 * noise (rand));
      lam_chart_append (chart, train, x,
                        0.32 + 1.95 * exp (-x * 1.6) - drop + 0.09 * noise (rand));
      if (i % 100 == 0)
        lam_chart_append (chart, val, x, 0.42 + 1.5 * exp (-x * 1.3) - drop * 0.8);
    }
  lam_chart_add_marker (chart, 3, "lr 0.01");
  g_object_set_data (G_OBJECT (chart), "train", GUINT_TO_POINTER (train));
  return GTK_WIDGET (chart);
}

static GtkWidget *
demo_accuracy_chart (void)
{
  LamChart *chart = LAM_CHART (lam_chart_new ());
  g_autoptr (GRand) rand = g_rand_new_with_seed (11);
  guint train, val;

  lam_chart_set_title (chart, "Accuracy");
  lam_chart_set_axis_labels (chart, "epoch", "accuracy");
  lam_chart_set_y_limits (chart, 0, 1);
  lam_chart_set_y_format (chart, LAM_CHART_FORMAT_PERCENT);
  lam_chart_set_smoothing (chart, 0.85);
  train = lam_chart_add_series (chart, "train", NULL, LAM_CHART_SERIES_SMOOTHED);
  val = lam_chart_add_series (chart, "validation", NULL, LAM_CHART_SERIES_POINTS);
  for (guint i = 1; i <= 600; i++)
    {
      double x = i / 100.0;
      double drop = x > 3 ? 0.025 * (1 - exp (-(x - 3) * 4)) : 0;
      lam_chart_append (chart, train, x,
                        MIN (1.0, 0.9 - 0.78 * exp (-x * 2.2) + drop + 0.02 * noise (rand)));
      if (i % 100 == 0)
        lam_chart_append (chart, val, x, 0.87 - 0.5 * exp (-x * 1.6) + drop * 0.8);
    }
  lam_chart_add_marker (chart, 3, "lr 0.01");
  return GTK_WIDGET (chart);
}

typedef struct
{
  GtkWidget *window;
  GtkWidget *loss;
  GtkWidget *accuracy;
} Demo;

static void
demo_open (Demo *demo)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);

  demo->window = gtk_window_new ();
  gtk_window_set_decorated (GTK_WINDOW (demo->window), FALSE);
  gtk_window_set_default_size (GTK_WINDOW (demo->window), 1100, 420);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 12);
  demo->loss = demo_loss_chart ();
  demo->accuracy = demo_accuracy_chart ();
  gtk_widget_set_hexpand (demo->loss, TRUE);
  gtk_widget_set_hexpand (demo->accuracy, TRUE);
  gtk_box_append (GTK_BOX (box), demo->loss);
  gtk_box_append (GTK_BOX (box), demo->accuracy);
  gtk_window_set_child (GTK_WINDOW (demo->window), box);
  gtk_window_present (GTK_WINDOW (demo->window));
  wait_for_size (demo->loss);
  wait_for_size (demo->accuracy);
}

static void
hover_at (GtkWidget *chart, double x, double y)
{
  double wx, wy;

  g_assert_true (lam_chart_data_to_widget (LAM_CHART (chart), x, y, &wx, &wy));
  emit_motion (chart, "motion", wx, wy);
}

/* Ten kept runs behind the current one, as the Train page draws them at
 * 1024×768: the hover box listed all 21 rows, taller than the chart, and
 * the current run's, last, fell off the bottom. It fits the chart and
 * keeps the current run, counting the rows left out. */
static void
test_hover_many_runs (void)
{
  GtkWidget *window = gtk_window_new ();
  LamChart *chart = LAM_CHART (lam_chart_new ());

  gtk_window_set_decorated (GTK_WINDOW (window), FALSE);
  gtk_window_set_default_size (GTK_WINDOW (window), 600, 320);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (chart));
  lam_chart_set_axis_labels (chart, "epoch", "loss");
  for (int run = 1; run <= 11; run++) {
    gboolean current = run == 11;
    LamChartSeriesFlags faded = current ? 0 : LAM_CHART_SERIES_FADED;
    g_autofree char *train_name =
      g_strdup_printf ("Run %d · Fashion-MNIST · mlp · Adam 0.00%d", run, run);
    g_autofree char *val_name = g_strdup_printf ("Run %d validation", run);
    GdkRGBA color;
    guint train, val;

    lam_chart_get_run_color (run - 1, &color);
    train = lam_chart_add_series (chart, train_name, &color, LAM_CHART_SERIES_SMOOTHED | faded);
    val = lam_chart_add_series (chart, val_name, &color,
                                LAM_CHART_SERIES_POINTS | faded |
                                  (current ? 0 : LAM_CHART_SERIES_NO_LEGEND));
    for (int e = 1; e <= 300; e++) {
      lam_chart_append (chart, train, e, 2.0 / (e + run));
      lam_chart_append (chart, val, e, 2.2 / (e + run));
    }
  }
  gtk_window_present (GTK_WINDOW (window));
  wait_for_size (GTK_WIDGET (chart));
  hover_at (GTK_WIDGET (chart), 150, 0.05);

  graphene_rect_t box;
  g_autofree char *text = lam_chart_dup_hover_text (chart, &box);
  g_assert_nonnull (text);
  g_test_message ("hover box %.0f×%.0f at %.0f,%.0f:\n%s", box.size.width, box.size.height,
                  box.origin.x, box.origin.y, text);
  g_assert_cmpfloat (box.origin.y, >=, 0);
  g_assert_cmpfloat (box.origin.y + box.size.height, <=,
                     gtk_widget_get_height (GTK_WIDGET (chart)) + 0.5);
  g_assert_nonnull (strstr (text, "Run 11 · Fashion-MNIST · mlp · Adam 0.0011: "));
  g_assert_nonnull (strstr (text, "Run 11 validation: "));
  g_assert_nonnull (strstr (text, "more"));

  /* One run: every row, nothing left out. */
  lam_chart_clear (chart);
  guint train = lam_chart_add_series (chart, "Run 1 train", NULL, LAM_CHART_SERIES_SMOOTHED);
  guint val = lam_chart_add_series (chart, "Run 1 validation", NULL, LAM_CHART_SERIES_POINTS);
  for (int e = 1; e <= 300; e++) {
    lam_chart_append (chart, train, e, 2.0 / e);
    lam_chart_append (chart, val, e, 2.2 / e);
  }
  lam_test_settle (50);
  hover_at (GTK_WIDGET (chart), 150, 0.05);
  g_autofree char *one = lam_chart_dup_hover_text (chart, NULL);
  g_auto (GStrv) lines = g_strsplit (one, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  g_assert_true (g_str_has_prefix (lines[1], "Run 1 train: "));
  g_assert_true (g_str_has_prefix (lines[2], "Run 1 validation: "));
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Eleven runs with the Train page's long names, in a chart as small as
 * the loss chart in presentation mode at 1024×768: the legend was taller
 * than the plot and was not drawn at all, the current run's name with
 * it. It fits, names the current run and counts the earlier runs left
 * out. */
static void
test_legend_many_runs (void)
{
  GtkWidget *window = gtk_window_new ();
  LamChart *chart = LAM_CHART (lam_chart_new ());

  gtk_window_set_decorated (GTK_WINDOW (window), FALSE);
  gtk_window_set_default_size (GTK_WINDOW (window), 480, 260);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (chart));
  lam_chart_set_title (chart, "Loss");
  lam_chart_set_axis_labels (chart, "epoch", "loss");
  for (int run = 1; run <= 11; run++) {
    gboolean current = run == 11;
    LamChartSeriesFlags faded = current ? 0 : LAM_CHART_SERIES_FADED;
    g_autofree char *train_name = g_strdup_printf (
      "Run %d · Fashion-MNIST · flatten,linear:128,relu,linear:10 · Adam 0.00%d", run, run);
    g_autofree char *val_name = g_strdup_printf ("Run %d validation", run);
    GdkRGBA color;
    guint train, val;

    lam_chart_get_run_color (run - 1, &color);
    train = lam_chart_add_series (chart, train_name, &color, LAM_CHART_SERIES_SMOOTHED | faded);
    val = lam_chart_add_series (chart, val_name, &color,
                                LAM_CHART_SERIES_POINTS | faded |
                                  (current ? 0 : LAM_CHART_SERIES_NO_LEGEND));
    for (int e = 1; e <= 100; e++) {
      lam_chart_append (chart, train, e, 2.0 / (e + run));
      lam_chart_append (chart, val, e, 2.2 / (e + run));
    }
  }
  gtk_window_present (GTK_WINDOW (window));
  wait_for_size (GTK_WIDGET (chart));

  graphene_rect_t box;
  g_autofree char *text = lam_chart_dup_legend_text (chart, &box);
  g_assert_nonnull (text);
  g_test_message ("legend %.0f×%.0f at %.0f,%.0f:\n%s", box.size.width, box.size.height,
                  box.origin.x, box.origin.y, text);
  g_assert_cmpfloat (box.origin.x, >=, 0);
  g_assert_cmpfloat (box.origin.y, >=, 0);
  g_assert_cmpfloat (box.origin.x + box.size.width, <=,
                     gtk_widget_get_width (GTK_WIDGET (chart)) + 0.5);
  g_assert_cmpfloat (box.origin.y + box.size.height, <=,
                     gtk_widget_get_height (GTK_WIDGET (chart)) + 0.5);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = g_strv_length (lines);
  g_assert_cmpuint (n, >=, 3);
  g_assert_true (g_str_has_prefix (lines[n - 3], "Run 11 · Fashion-MNIST"));
  g_assert_cmpstr (lines[n - 2], ==, "Run 11 validation");
  g_autofree char *more = g_strdup_printf ("… and %u more", 11 + 2 - n);
  g_assert_cmpstr (lines[n - 1], ==, more);

  /* One run: both its names, nothing left out. */
  lam_chart_clear (chart);
  guint train = lam_chart_add_series (chart, "Run 1 train", NULL, LAM_CHART_SERIES_SMOOTHED);
  guint val = lam_chart_add_series (chart, "Run 1 validation", NULL, LAM_CHART_SERIES_POINTS);
  for (int e = 1; e <= 100; e++) {
    lam_chart_append (chart, train, e, 2.0 / e);
    lam_chart_append (chart, val, e, 2.2 / e);
  }
  g_autofree char *one = lam_chart_dup_legend_text (chart, NULL);
  g_assert_cmpstr (one, ==, "Run 1 train\nRun 1 validation");
  gtk_window_destroy (GTK_WINDOW (window));
}

/* A run's curves reach every corner of the plot, as a loss chart's do with
 * earlier runs kept: the legend, in the corner covering the fewest points,
 * still hid curves, worst in presentation mode and with long run names.
 * It lies outside the plot, within the chart, its long name cut short. */
static void
test_legend_outside_plot (void)
{
  GtkWidget *window = gtk_window_new ();
  LamChart *chart = LAM_CHART (lam_chart_new ());
  const char *long_name =
    "Run 3 · Fashion-MNIST · flatten,linear:128,relu,linear:64,relu,linear:10 "
    "· Adam 0.001, batch 64, cosine schedule";

  gtk_window_set_decorated (GTK_WINDOW (window), FALSE);
  gtk_window_set_default_size (GTK_WINDOW (window), 420, 240);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (chart));
  lam_chart_set_title (chart, "Loss");
  lam_chart_set_axis_labels (chart, "epoch", "loss");
  for (int run = 1; run <= 3; run++) {
    gboolean current = run == 3;
    g_autofree char *name = current ? g_strdup (long_name) : g_strdup_printf ("Run %d", run);
    GdkRGBA color;
    lam_chart_get_run_color (run - 1, &color);
    guint id = lam_chart_add_series (chart, name, &color, current ? 0 : LAM_CHART_SERIES_FADED);
    /* Falling, rising and flat at the top: points in all four corners. */
    for (int e = 0; e <= 40; e++) {
      double t = e / 40.0;
      double y = run == 1 ? 2 - 2 * t : run == 2 ? 2 * t : 2;
      lam_chart_append (chart, id, e, y);
    }
    if (current) {
      guint val = lam_chart_add_series (chart, "Run 3 validation", &color, LAM_CHART_SERIES_POINTS);
      for (int e = 0; e <= 40; e += 4)
        lam_chart_append (chart, val, e, 0);
    }
  }
  gtk_window_present (GTK_WINDOW (window));
  wait_for_size (GTK_WIDGET (chart));
  g_autoptr (GdkTexture) texture = render_widget (window);
  save_png (texture, "chart-legend-outside.png");

  graphene_rect_t box;
  g_autofree char *text = lam_chart_dup_legend_text (chart, &box);
  g_assert_nonnull (text);
  g_test_message ("legend %.0f×%.0f at %.0f,%.0f:\n%s", box.size.width, box.size.height,
                  box.origin.x, box.origin.y, text);
  g_assert_nonnull (strstr (text, long_name));
  int width = gtk_widget_get_width (GTK_WIDGET (chart));
  int height = gtk_widget_get_height (GTK_WIDGET (chart));
  g_assert_cmpfloat (box.origin.x, >=, 0);
  g_assert_cmpfloat (box.origin.y, >=, 0);
  g_assert_cmpfloat (box.origin.x + box.size.width, <=, width + 0.5);
  g_assert_cmpfloat (box.origin.y + box.size.height, <=, height + 0.5);
  /* No point of the legend is in the plot. */
  for (double y = box.origin.y; y <= box.origin.y + box.size.height; y += 2)
    for (double x = box.origin.x; x <= box.origin.x + box.size.width; x += 2) {
      double dx, dy;
      g_assert_false (lam_chart_widget_to_data (chart, x, y, &dx, &dy));
    }
  /* And the plot keeps most of the chart's height. */
  double top, bottom, dummy;
  g_assert_true (lam_chart_data_to_widget (chart, 0, 2, &dummy, &top));
  g_assert_true (lam_chart_data_to_widget (chart, 0, 0, &dummy, &bottom));
  g_assert_cmpfloat (bottom - top, >, height / 3.0);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* A run named by dataset, model and optimizer, in a narrow chart: its
 * hover row ran past the chart's right edge, value and all. The name is
 * cut short; the value stays. */
static void
test_hover_long_name (void)
{
  GtkWidget *window = gtk_window_new ();
  LamChart *chart = LAM_CHART (lam_chart_new ());
  const char *name = "Run 10 · Fashion-MNIST · flatten,linear:128,relu,linear:64,relu,linear:10 · "
                     "Adam 0.001, batch 64, cosine schedule";

  gtk_window_set_decorated (GTK_WINDOW (window), FALSE);
  gtk_window_set_default_size (GTK_WINDOW (window), 360, 260);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (chart));
  lam_chart_set_axis_labels (chart, "epoch", "loss");
  guint train = lam_chart_add_series (chart, name, NULL, LAM_CHART_SERIES_NONE);
  for (int e = 1; e <= 100; e++)
    lam_chart_append (chart, train, e, 0.5);
  gtk_window_present (GTK_WINDOW (window));
  wait_for_size (GTK_WIDGET (chart));
  hover_at (GTK_WIDGET (chart), 50, 0.5);

  graphene_rect_t box;
  g_autofree char *text = lam_chart_dup_hover_text (chart, &box);
  g_assert_nonnull (text);
  g_test_message ("hover box %.0f×%.0f at %.0f,%.0f:\n%s", box.size.width, box.size.height,
                  box.origin.x, box.origin.y, text);
  g_assert_cmpfloat (box.origin.x, >=, 0);
  g_assert_cmpfloat (box.origin.x + box.size.width, <=,
                     gtk_widget_get_width (GTK_WIDGET (chart)) + 0.5);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  g_assert_true (g_str_has_prefix (lines[1], "Run 10 · Fashion-MNIST"));
  g_assert_true (g_str_has_suffix (lines[1], "…: 0.5"));
  gtk_window_destroy (GTK_WINDOW (window));
}

static double light_luminance = -1;

static void
test_render_window (void)
{
  Demo demo;
  g_autoptr (GdkTexture) texture = NULL;

  demo_open (&demo);
  hover_at (demo.accuracy, 4.3, 0.5);
  texture = render_widget (demo.window);
  save_png (texture, "chart.png");
  light_luminance = mean_luminance (texture);
  g_assert_cmpfloat (light_luminance, >, 0.5);
  gtk_window_destroy (GTK_WINDOW (demo.window));
}

/* Presentation mode on a log axis: thick lines, decades. */
static void
test_render_log_y (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *chart = demo_loss_chart ();
  g_autoptr (GdkTexture) texture = NULL;
  double w01, w1, w10;

  gtk_window_set_decorated (GTK_WINDOW (window), FALSE);
  gtk_window_set_default_size (GTK_WINDOW (window), 640, 400);
  gtk_window_set_child (GTK_WINDOW (window), chart);
  lam_chart_set_log_y (LAM_CHART (chart), TRUE);
  lam_chart_set_line_width (LAM_CHART (chart), 3.5);
  gtk_window_present (GTK_WINDOW (window));
  wait_for_size (chart);

  g_assert_true (lam_chart_data_to_widget (LAM_CHART (chart), 1, 0.1, NULL, &w01));
  g_assert_true (lam_chart_data_to_widget (LAM_CHART (chart), 1, 1, NULL, &w1));
  g_assert_true (lam_chart_data_to_widget (LAM_CHART (chart), 1, 10, NULL, &w10));
  g_assert_cmpfloat_with_epsilon (w01 - w1, w1 - w10, 1e-6);
  g_assert_true (inside_plot (LAM_CHART (chart), 1, 0.1));
  g_assert_true (inside_plot (LAM_CHART (chart), 1, 1));

  texture = render_widget (window);
  save_png (texture, "chart-log.png");
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Losses of 3.3 down to 0.8 in a chart too short for labels two lines
 * apart: the axis had no tick in view, then 5 and 10, the data squeezed
 * into its lowest quarter. It moves out only to the ticks around the
 * data, 0 and 4 or 5, and the data keeps most of the plot. */
static void
test_axes_short_plot_fills (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  guint train = lam_chart_add_series (chart, "train", NULL, LAM_CHART_SERIES_NONE);
  guint moved = 0;

  lam_chart_set_title (chart, "Loss");
  lam_chart_set_axis_labels (chart, "epoch", "loss");
  for (int e = 0; e < 6; e++)
    lam_chart_append (chart, train, e, 0.8 + 2.5 * exp (-e));
  for (int height = 80; height <= 200; height += 5) {
    cairo_surface_t *surface = draw_to_surface (chart, 460, height);
    double plot_h, top, bottom;
    g_auto (GStrv) labels = lam_chart_dup_y_tick_labels (chart, &plot_h);
    g_autofree char *joined = g_strjoinv (" ", labels);

    cairo_surface_destroy (surface);
    g_assert_true (lam_chart_data_to_widget (chart, 0, 3.3, NULL, &top));
    g_assert_true (lam_chart_data_to_widget (chart, 0, 0.8, NULL, &bottom));
    g_test_message ("chart %d px tall, plot %.0f px: %s; data over %.0f%% of it", height, plot_h,
                    joined, 100 * (bottom - top) / plot_h);
    if (plot_h >= 60)
      g_assert_cmpuint (g_strv_length (labels), >=, 2);
    if (g_strv_length (labels) >= 2)
      g_assert_cmpfloat ((bottom - top) / plot_h, >=, 0.45);
    moved += g_strv_length (labels) >= 2 && g_ascii_strtod (labels[1], NULL) > 3.3;
  }
  /* Some heights had to move the axis's ends. */
  g_assert_cmpuint (moved, >, 0);
}

/* A regression's loss, 12.3 down to 0.04, in presentation mode in a
 * chart as short as the Train page's at 1024×768: its y axis carried a
 * single tick, 0, and no scale to read. Every plot 60 pixels tall or more
 * labels two ticks at least, on a linear axis and on a log one. */
static void
test_axes_short_plot (void)
{
  g_autoptr (GtkCssProvider) provider = gtk_css_provider_new ();
  guint short_plots = 0;

  gtk_css_provider_load_from_data (provider, "window.presentation { font-size: 1.5em; }", -1);
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  /* The first loss decides the linear axis's step: between 2.9 and 5
   * (as 0 to 4.1), room for labels two lines apart asked for a step of 5,
   * and only 0 was left in view. On a log axis, 0.13 to 7 holds one
   * decade, 0.4 to 0.9 none. */
  const struct
  {
    double first, last;
  } losses[] = { { 12.3, 0.04 }, { 4.1, 0.04 }, { 1.7, 0.04 }, { 7, 0.13 }, { 0.9, 0.4 } };

  for (guint f = 0; f < G_N_ELEMENTS (losses); f++)
    for (int height = 200; height <= 320; height += 40)
      for (int log_y = 0; log_y <= 1; log_y++) {
        double first = losses[f].first, last = losses[f].last;
        GtkWidget *window = gtk_window_new ();
        LamChart *chart = LAM_CHART (lam_chart_new ());
        guint train, val;
        double plot_h;

        gtk_window_set_decorated (GTK_WINDOW (window), FALSE);
        gtk_widget_add_css_class (window, "presentation");
        gtk_window_set_default_size (GTK_WINDOW (window), 460, height);
        gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (chart));
        lam_chart_set_title (chart, "Loss");
        lam_chart_set_axis_labels (chart, "epoch", "loss (MSE)");
        lam_chart_set_log_y (chart, log_y);
        train = lam_chart_add_series (chart, "Run 1 train", NULL, LAM_CHART_SERIES_SMOOTHED);
        val = lam_chart_add_series (chart, "Run 1 validation", NULL, LAM_CHART_SERIES_POINTS);
        for (int e = 0; e < 40; e++) {
          lam_chart_append (chart, train, e + 1, last + (first - last) * exp (-e / 3.0));
          lam_chart_append (chart, val, e + 1, last + 0.9 * (first - last) * exp (-e / 3.0));
        }
        gtk_window_present (GTK_WINDOW (window));
        wait_for_size (GTK_WIDGET (chart));

        g_auto (GStrv) labels = lam_chart_dup_y_tick_labels (chart, &plot_h);
        g_autofree char *joined = g_strjoinv (" ", labels);
        g_test_message ("losses from %g, %s axis, chart %d px tall, plot %.0f px: %s", first,
                        log_y ? "log" : "linear", gtk_widget_get_height (GTK_WIDGET (chart)),
                        plot_h, joined);
        if (plot_h >= 60) {
          g_assert_cmpuint (g_strv_length (labels), >=, 2);
          if (plot_h < 100)
            short_plots++;
        }
        if (height == 200 && !log_y) {
          g_autoptr (GdkTexture) texture = render_widget (window);
          g_autofree char *name = g_strdup_printf ("chart-short-plot-%g.png", first);
          save_png (texture, name);
        }
        gtk_window_destroy (GTK_WINDOW (window));
      }
  /* The plots that failed were tried. */
  g_assert_cmpuint (short_plots, >=, 10);
  gtk_style_context_remove_provider_for_display (gdk_display_get_default (),
                                                 GTK_STYLE_PROVIDER (provider));
  lam_test_settle (50);
}

static gboolean
prefers_dark (GtkWidget *widget)
{
  GdkRGBA fg;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  return 0.2126 * fg.red + 0.7152 * fg.green + 0.0722 * fg.blue > 0.5;
}

static void
test_render_window_dark (void)
{
  Demo demo;
  g_autoptr (GdkTexture) texture = NULL;
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  double dark_luminance;

  demo_open (&demo);
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", TRUE, NULL);
  while (!prefers_dark (demo.loss))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  lam_test_settle (200);
  hover_at (demo.loss, 1.5, 1.0);
  texture = render_widget (demo.window);
  save_png (texture, "chart-dark.png");
  dark_luminance = mean_luminance (texture);
  g_test_message ("mean luminance: light %.3f, dark %.3f", light_luminance, dark_luminance);
  g_assert_cmpfloat (dark_luminance, <, 0.4);
  gtk_window_destroy (GTK_WINDOW (demo.window));
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", FALSE, NULL);
  lam_test_settle (50);
}

static void
collect_cairo_nodes (GskRenderNode *node, GPtrArray *out)
{
  switch (gsk_render_node_get_node_type (node))
    {
    case GSK_CAIRO_NODE:
      g_ptr_array_add (out, node);
      break;
    case GSK_CONTAINER_NODE:
      for (guint i = 0; i < gsk_container_node_get_n_children (node); i++)
        collect_cairo_nodes (gsk_container_node_get_child (node, i), out);
      break;
    case GSK_TRANSFORM_NODE:
      collect_cairo_nodes (gsk_transform_node_get_child (node), out);
      break;
    case GSK_CLIP_NODE:
      collect_cairo_nodes (gsk_clip_node_get_child (node), out);
      break;
    case GSK_ROUNDED_CLIP_NODE:
      collect_cairo_nodes (gsk_rounded_clip_node_get_child (node), out);
      break;
    case GSK_OPACITY_NODE:
      collect_cairo_nodes (gsk_opacity_node_get_child (node), out);
      break;
    case GSK_DEBUG_NODE:
      collect_cairo_nodes (gsk_debug_node_get_child (node), out);
      break;
    default:
      break;
    }
}

/* Only the chart's own drawing, without its CSS box, straight from its vfunc. */
static GskRenderNode *
snapshot_chart (GtkWidget *widget)
{
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  GskRenderNode *node;

  GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return node;
}

static void
test_hover_reuses_lines (void)
{
  Demo demo;
  g_autoptr (GPtrArray) before = g_ptr_array_new ();
  g_autoptr (GPtrArray) during = g_ptr_array_new ();
  g_autoptr (GPtrArray) after = g_ptr_array_new ();
  GskRenderNode *n1, *n2, *n3;
  guint train;

  demo_open (&demo);
  n1 = snapshot_chart (demo.loss);
  collect_cairo_nodes (n1, before);
  hover_at (demo.loss, 2.0, 1.0);
  n2 = snapshot_chart (demo.loss);
  collect_cairo_nodes (n2, during);
  emit_motion (demo.loss, "leave", 0, 0);
  n3 = snapshot_chart (demo.loss);
  collect_cairo_nodes (n3, after);

  g_assert_cmpuint (before->len, ==, 1);
  g_assert_cmpuint (during->len, ==, 2);
  g_assert_cmpuint (after->len, ==, 1);
  g_assert_true (before->pdata[0] == during->pdata[0]);
  g_assert_true (before->pdata[0] == after->pdata[0]);

  /* New data does re-stroke. */
  train = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (demo.loss), "train"));
  lam_chart_append (LAM_CHART (demo.loss), train, 6.01, 0.3);
  g_ptr_array_set_size (after, 0);
  gsk_render_node_unref (n3);
  n3 = snapshot_chart (demo.loss);
  collect_cairo_nodes (n3, after);
  g_assert_cmpuint (after->len, ==, 1);
  g_assert_true (before->pdata[0] != after->pdata[0]);

  gsk_render_node_unref (n1);
  gsk_render_node_unref (n2);
  gsk_render_node_unref (n3);
  gtk_window_destroy (GTK_WINDOW (demo.window));
}

static void
test_stress (void)
{
  GtkWidget *window = gtk_window_new ();
  LamChart *chart = LAM_CHART (lam_chart_new ());
  g_autoptr (GRand) rand = g_rand_new_with_seed (3);
  g_autoptr (GdkTexture) first = NULL;
  g_autoptr (GdkTexture) hovered = NULL;
  guint ids[3];
  gint64 t0, t_append, t_draw_cold, t_draw, t_first, t_hover, t_blank;
  cairo_surface_t *surface;
  const guint n = 20000;
  GskRenderNode *node;

  gtk_window_set_decorated (GTK_WINDOW (window), FALSE);
  gtk_window_set_default_size (GTK_WINDOW (window), 900, 500);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (chart));
  lam_chart_set_smoothing (chart, 0.9);
  lam_chart_set_axis_labels (chart, "epoch", "loss");
  for (guint k = 0; k < 3; k++)
    ids[k] = lam_chart_add_series (chart, k == 0 ? "train" : k == 1 ? "validation" : "previous",
                                   NULL,
                                   k == 0   ? LAM_CHART_SERIES_SMOOTHED
                                   : k == 2 ? LAM_CHART_SERIES_FADED
                                            : LAM_CHART_SERIES_NONE);

  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    for (guint k = 0; k < 3; k++)
      lam_chart_append (chart, ids[k], i / 1000.0,
                        0.2 + (1 + k * 0.3) * exp (-(double) i / 4000.0) + 0.05 * noise (rand));
  t_append = g_get_monotonic_time () - t0;
  for (guint k = 0; k < 3; k++)
    g_assert_cmpuint (lam_chart_get_n_points (chart, ids[k]), ==, n);

  t0 = g_get_monotonic_time ();
  surface = draw_to_surface (chart, 900, 500);
  t_draw_cold = g_get_monotonic_time () - t0;
  cairo_surface_destroy (surface);
  lam_chart_append (chart, ids[0], n / 1000.0, 0.3);
  t0 = g_get_monotonic_time ();
  surface = draw_to_surface (chart, 900, 500);
  t_draw = g_get_monotonic_time () - t0;
  g_assert_cmpuint (count_color (surface, &(GdkRGBA) { 0.208, 0.518, 0.894, 1 }), >, 500);
  cairo_surface_destroy (surface);

  gtk_window_present (GTK_WINDOW (window));
  wait_for_size (GTK_WIDGET (chart));
  lam_chart_append (chart, ids[0], n / 1000.0, 0.3);

  t0 = g_get_monotonic_time ();
  node = snapshot_chart (GTK_WIDGET (chart));
  first = render_node (GTK_WIDGET (chart), node);
  t_first = g_get_monotonic_time () - t0;
  gsk_render_node_unref (node);
  hover_at (GTK_WIDGET (chart), 10, 0.5);
  t0 = g_get_monotonic_time ();
  node = snapshot_chart (GTK_WIDGET (chart));
  hovered = render_node (GTK_WIDGET (chart), node);
  t_hover = g_get_monotonic_time () - t0;
  gsk_render_node_unref (node);
  g_clear_object (&hovered);

  /* What an offscreen render and its read-back cost here, whatever is drawn. */
  node = gsk_color_node_new (&(GdkRGBA) { 1, 1, 1, 1 }, &GRAPHENE_RECT_INIT (0, 0, 900, 500));
  t0 = g_get_monotonic_time ();
  hovered = render_node (GTK_WIDGET (chart), node);
  t_blank = g_get_monotonic_time () - t0;
  gsk_render_node_unref (node);
  g_clear_object (&hovered);

  hovered = render_widget (window);
  save_png (hovered, "chart-stress.png");

  g_test_message ("3 x %u points: append %.1f ms; lam_chart_draw 900x500 %.1f ms cold, "
                  "%.1f ms after one more point; widget snapshot + render %.1f ms, "
                  "hover snapshot + render %.1f ms, blank render %.1f ms (%s)",
                  n, t_append / 1000.0, t_draw_cold / 1000.0, t_draw / 1000.0, t_first / 1000.0,
                  t_hover / 1000.0, t_blank / 1000.0,
                  G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (window))));
  gtk_window_destroy (GTK_WINDOW (window));
}

/* What lies under the current run, kept drawn */

/* Ten kept runs of 300 epochs, ten steps an epoch, and their validation
 * points behind a current run halfway through, as the Train page draws
 * them with "Keep earlier runs" on, in a window of its own. */
typedef struct
{
  GtkWidget *window;
  LamChart *chart;
  guint train; /* the current run's series */
  guint val;
  guint earlier_train; /* the fifth run's, one in the middle */
  GRand *rand;
  double epoch; /* the current run's last */
} Kept;

/* The runs but the one numbered hidden (0: none). */
static void
kept_fill (Kept *kept, int hidden)
{
  LamChart *chart = kept->chart;

  g_rand_set_seed (kept->rand, 5);
  for (int run = 1; run <= 11; run++) {
    gboolean current = run == 11;
    LamChartSeriesFlags faded = current ? 0 : LAM_CHART_SERIES_FADED;
    g_autofree char *train_name = g_strdup_printf ("Run %d", run);
    g_autofree char *val_name = g_strdup_printf ("Run %d validation", run);
    int epochs = current ? 150 : 300;
    GdkRGBA color;
    guint train, val;

    lam_chart_get_run_color (run - 1, &color);
    train = lam_chart_add_series (chart, train_name, &color, LAM_CHART_SERIES_SMOOTHED | faded);
    val = lam_chart_add_series (chart, val_name, &color,
                                LAM_CHART_SERIES_POINTS | faded |
                                  (current ? 0 : LAM_CHART_SERIES_NO_LEGEND));
    for (int e = 0; e < epochs; e++) {
      for (int k = 1; k <= 10; k++) {
        double x = e + k / 10.0;
        lam_chart_append (chart, train, x,
                          0.2 + 2.0 / (1 + x * 0.05 * run) + 0.05 * noise (kept->rand));
      }
      lam_chart_append (chart, val, e + 1, 0.25 + 2.0 / (1 + (e + 1) * 0.05 * run));
    }
    if (run == 5)
      kept->earlier_train = train;
    kept->train = train;
    kept->val = val;
    if (run == hidden) {
      lam_chart_remove_series (chart, train);
      lam_chart_remove_series (chart, val);
    }
  }
  lam_chart_add_marker_full (chart, 100, "run 1: lr 0.01", &(GdkRGBA){ 0.2, 0.5, 0.9, 1 },
                             LAM_CHART_SERIES_FADED);
  kept->epoch = 150;
}

static void
kept_open (Kept *kept)
{
  LamChart *chart = LAM_CHART (lam_chart_new ());

  kept->chart = chart;
  kept->rand = g_rand_new_with_seed (5);
  lam_chart_set_title (chart, "Loss");
  lam_chart_set_axis_labels (chart, "epoch", "loss");
  lam_chart_set_smoothing (chart, 0.6);
  kept_fill (kept, 0);

  kept->window = gtk_window_new ();
  gtk_window_set_decorated (GTK_WINDOW (kept->window), FALSE);
  gtk_window_set_default_size (GTK_WINDOW (kept->window), 1000, 450);
  gtk_widget_set_halign (GTK_WIDGET (chart), GTK_ALIGN_START);
  gtk_widget_set_valign (GTK_WIDGET (chart), GTK_ALIGN_START);
  gtk_widget_set_size_request (GTK_WIDGET (chart), 900, 360);
  gtk_window_set_child (GTK_WINDOW (kept->window), GTK_WIDGET (chart));
  gtk_window_present (GTK_WINDOW (kept->window));
  wait_for_size (GTK_WIDGET (chart));
}

static void
kept_close (Kept *kept)
{
  gtk_window_destroy (GTK_WINDOW (kept->window));
  g_rand_free (kept->rand);
}

/* One epoch report of the current run: ten steps and a validation point,
 * within the axes' ranges. */
static void
kept_epoch (Kept *kept)
{
  for (int k = 1; k <= 10; k++)
    lam_chart_append (kept->chart, kept->train, kept->epoch + k / 10.0,
                      0.3 + 0.05 * noise (kept->rand));
  kept->epoch += 1;
  lam_chart_append (kept->chart, kept->val, kept->epoch, 0.35);
}

/* At the widget's scale, as its window draws it. */
static GdkTexture *
render_chart (LamChart *chart)
{
  GtkWidget *widget = GTK_WIDGET (chart);
  int scale = gtk_widget_get_scale_factor (widget);
  GskRenderNode *node = snapshot_chart (widget);
  GdkTexture *texture;

  if (scale != 1) {
    GskTransform *transform = gsk_transform_scale (NULL, scale, scale);
    GskRenderNode *child = node;

    node = gsk_transform_node_new (child, transform);
    gsk_transform_unref (transform);
    gsk_render_node_unref (child);
  }
  texture =
    gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)), node,
                                 &GRAPHENE_RECT_INIT (0, 0, gtk_widget_get_width (widget) * scale,
                                                      gtk_widget_get_height (widget) * scale));
  gsk_render_node_unref (node);
  return texture;
}

static guchar *
texture_pixels (GdkTexture *texture)
{
  int width = gdk_texture_get_width (texture);
  guchar *data = g_malloc ((gsize) width * gdk_texture_get_height (texture) * 4);

  gdk_texture_download (texture, data, width * 4);
  return data;
}

/* The chart as the widget draws it with what lies under the current run
 * kept from its last draw equals, pixel for pixel, the chart drawn
 * without keeping it. */
static void
assert_as_uncached (LamChart *chart, const char *after)
{
  g_autoptr (GdkTexture) cached = render_chart (chart);
  g_autoptr (GdkTexture) direct = NULL;
  g_autofree guchar *a = NULL;
  g_autofree guchar *b = NULL;
  int width = gdk_texture_get_width (cached);
  int height = gdk_texture_get_height (cached);
  guint differ = 0;
  int most = 0, x0 = G_MAXINT, y0 = G_MAXINT, x1 = -1, y1 = -1;

  lam_chart_set_under_cache (chart, FALSE);
  direct = render_chart (chart);
  lam_chart_set_under_cache (chart, TRUE);

  g_assert_cmpint (gdk_texture_get_width (direct), ==, width);
  g_assert_cmpint (gdk_texture_get_height (direct), ==, height);
  a = texture_pixels (cached);
  b = texture_pixels (direct);
  for (int i = 0; i < width * height; i++) {
    if (((guint32 *) a)[i] == ((guint32 *) b)[i])
      continue;
    differ++;
    for (int c = 0; c < 4; c++)
      most = MAX (most, ABS (a[4 * i + c] - b[4 * i + c]));
    x0 = MIN (x0, i % width);
    x1 = MAX (x1, i % width);
    y0 = MIN (y0, i / width);
    y1 = MAX (y1, i / width);
  }
  if (differ > 0) {
    g_autofree char *name_a = g_strdup_printf ("chart-under-%s-cached.png", after);
    g_autofree char *name_b = g_strdup_printf ("chart-under-%s-direct.png", after);

    g_test_message ("after %s: %u of %d pixels differ, by up to %d in a channel, within "
                    "%d,%d–%d,%d",
                    after, differ, width * height, most, x0, y0, x1, y1);
    save_png (cached, name_a);
    save_png (direct, name_b);
  }
  g_assert_cmpuint (differ, ==, 0);
}

static void
change_current_point (Kept *kept)
{
  kept_epoch (kept);
}

static void
change_y_extends (Kept *kept)
{
  lam_chart_append (kept->chart, kept->train, kept->epoch + 0.1, 3.5);
}

static void
change_x_extends (Kept *kept)
{
  lam_chart_append (kept->chart, kept->val, 420, 0.3);
}

static void
change_resize (Kept *kept)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  gtk_widget_set_size_request (GTK_WIDGET (kept->chart), 700, 300);
  while (gtk_widget_get_width (GTK_WIDGET (kept->chart)) != 700) {
    g_assert_cmpint (g_get_monotonic_time (), <, end);
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  }
}

static void
change_log_y (Kept *kept)
{
  lam_chart_set_log_y (kept->chart, TRUE);
}

static void
change_smoothing (Kept *kept)
{
  lam_chart_set_smoothing (kept->chart, 0.95);
}

static void
change_line_width (Kept *kept)
{
  lam_chart_set_line_width (kept->chart, 3.5);
}

static void
change_y_limits (Kept *kept)
{
  lam_chart_set_y_limits (kept->chart, 0.1, 1.5);
}

static void
change_series_removed (Kept *kept)
{
  lam_chart_remove_series (kept->chart, kept->earlier_train);
}

/* As the Train page hides a run: every run shown drawn again, from
 * scratch. The axes stay as they were. */
static void
change_run_hidden (Kept *kept)
{
  lam_chart_clear (kept->chart);
  kept_fill (kept, 5);
}

/* Within the axes' ranges. */
static void
change_earlier_point (Kept *kept)
{
  lam_chart_append (kept->chart, kept->earlier_train, 299.95, 1.8);
}

static void
change_marker (Kept *kept)
{
  lam_chart_add_marker_full (kept->chart, kept->epoch, "lr 0.001", &(GdkRGBA){ 0.9, 0.4, 0, 1 },
                             LAM_CHART_SERIES_NONE);
}

static void
change_dark (Kept *kept)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", TRUE, NULL);
  while (!prefers_dark (GTK_WIDGET (kept->chart))) {
    g_assert_cmpint (g_get_monotonic_time (), <, end);
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  }
  lam_test_settle (100);
}

/* As the app's style sheet does in presentation mode. */
static void
change_presentation (Kept *kept)
{
  GtkCssProvider *provider = gtk_css_provider_new ();

  gtk_css_provider_load_from_data (provider, "window.presentation { font-size: 1.5em; }", -1);
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  g_object_set_data_full (G_OBJECT (kept->window), "provider", provider, g_object_unref);
  gtk_widget_add_css_class (kept->window, "presentation");
  lam_test_settle (100);
}

typedef struct
{
  const char *name;
  void (*change) (Kept *kept);
  gboolean redraws_under; /* the earlier runs must be drawn again */
} UnderChange;

static const UnderChange under_changes[] = {
  { "current-point", change_current_point, FALSE },
  { "y-extends", change_y_extends, TRUE },
  { "x-extends", change_x_extends, TRUE },
  { "resize", change_resize, TRUE },
  { "log-y", change_log_y, TRUE },
  { "smoothing", change_smoothing, TRUE },
  { "line-width", change_line_width, TRUE },
  { "y-limits", change_y_limits, TRUE },
  { "series-removed", change_series_removed, TRUE },
  { "run-hidden", change_run_hidden, TRUE },
  { "earlier-point", change_earlier_point, TRUE },
  { "marker", change_marker, TRUE },
  { "dark", change_dark, TRUE },
  { "presentation", change_presentation, TRUE },
};

/* After each change that alters what lies under the current run, the
 * widget draws what it would have drawn without keeping it; after one
 * that does not, it draws the earlier runs no more. */
static void
test_under_change (gconstpointer data)
{
  const UnderChange *c = data;
  Kept kept;
  g_autoptr (GdkTexture) first = NULL;
  guint draws;

  kept_open (&kept);
  first = render_chart (kept.chart);
  draws = lam_chart_get_under_draws (kept.chart);
  c->change (&kept);
  assert_as_uncached (kept.chart, c->name);
  /* The uncached draw counts one. */
  g_assert_cmpuint (lam_chart_get_under_draws (kept.chart), ==, draws + 1 + c->redraws_under);

  kept_close (&kept);
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", FALSE, NULL);
  lam_test_settle (50);
}

static int
compare_times (gconstpointer a, gconstpointer b)
{
  gint64 ta = *(const gint64 *) a, tb = *(const gint64 *) b;

  return ta < tb ? -1 : ta > tb;
}

/* Median time of n epoch reports, each followed by the widget's drawing
 * as a frame has it: its snapshot and the render of the node. */
static double
median_epoch_ms (Kept *kept, guint n, guint *under_draws)
{
  g_autofree gint64 *times = g_new (gint64, n);
  guint draws = lam_chart_get_under_draws (kept->chart);
  double median;

  for (guint i = 0; i < n; i++) {
    gint64 t0;

    kept_epoch (kept);
    t0 = g_get_monotonic_time ();
    g_object_unref (render_chart (kept->chart));
    times[i] = g_get_monotonic_time () - t0;
  }
  *under_draws = lam_chart_get_under_draws (kept->chart) - draws;
  qsort (times, n, sizeof (gint64), compare_times);
  median = times[n / 2] / 1000.0;
  return median;
}

/* The current run's epoch reports and the pointer's motion leave the
 * earlier runs as they were drawn. */
static void
test_under_not_redrawn (void)
{
  Kept kept;
  guint draws;
  double cached_ms, direct_ms;

  kept_open (&kept);
  g_object_unref (render_chart (kept.chart));
  draws = lam_chart_get_under_draws (kept.chart);
  g_assert_cmpuint (draws, ==, 1);

  cached_ms = median_epoch_ms (&kept, 41, &draws);
  g_assert_cmpuint (draws, ==, 0);

  hover_at (GTK_WIDGET (kept.chart), kept.epoch, 0.5);
  g_object_unref (render_chart (kept.chart));
  emit_motion (GTK_WIDGET (kept.chart), "leave", 0, 0);
  g_object_unref (render_chart (kept.chart));
  g_assert_cmpuint (lam_chart_get_under_draws (kept.chart), ==, 1);

  lam_chart_set_under_cache (kept.chart, FALSE);
  direct_ms = median_epoch_ms (&kept, 41, &draws);
  g_assert_cmpuint (draws, ==, 41);
  g_test_message (
    "10 earlier runs of 3000 + 300 points, %d×%d, %s: an epoch report's "
    "snapshot + render takes %.2f ms (median of 41), %.2f ms drawing them anew",
    gtk_widget_get_width (GTK_WIDGET (kept.chart)), gtk_widget_get_height (GTK_WIDGET (kept.chart)),
    G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (kept.window))), cached_ms, direct_ms);
  kept_close (&kept);
}

/* Saving */

static char *
tmp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("lamina-chart-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static guint
count_files (const char *dir)
{
  g_autoptr (GDir) handle = g_dir_open (dir, 0, NULL);
  guint n = 0;

  g_assert_nonnull (handle);
  while (g_dir_read_name (handle) != NULL)
    n++;
  return n;
}

/* A red line falling from 2 to 0.2 over ten epochs, drawn once at 400 × 250
 * so that the chart's size is known before it has a window. */
static LamChart *
saved_chart (const GdkRGBA *red)
{
  LamChart *chart = new_chart ();
  guint a = lam_chart_add_series (chart, "train, \"fast\"", red, LAM_CHART_SERIES_NONE);
  cairo_surface_t *surface;

  lam_chart_set_title (chart, "Loss");
  lam_chart_set_axis_labels (chart, "epoch", "loss");
  for (guint i = 0; i <= 10; i++)
    lam_chart_append (chart, a, i, 2.0 - 0.18 * i);
  surface = draw_to_surface (chart, 400, 250);
  cairo_surface_destroy (surface);
  return chart;
}

static void
test_save_png (void)
{
  const GdkRGBA red = { 1.0, 0.25, 0.0, 1.0 };
  g_autoptr (LamChart) chart = saved_chart (&red);
  g_autofree char *dir = tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "loss.png", NULL);
  g_autofree char *sized = g_build_filename (dir, "sized.png", NULL);
  g_autofree char *kept = g_test_build_filename (G_TEST_BUILT, "chart-saved.png", NULL);
  g_autoptr (GError) error = NULL;
  cairo_surface_t *png;
  guint hits = 0;

  /* By default twice the chart's size: the same layout, sharper. */
  g_assert_true (lam_chart_save (chart, path, LAM_CHART_FILE_AUTO, 0, 0, &error));
  g_assert_no_error (error);
  png = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (png), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (png), ==, 800);
  g_assert_cmpint (cairo_image_surface_get_height (png), ==, 500);
  for (guint i = 0; i < 10; i++)
    {
      double x = i + 0.5, wx, wy;

      g_assert_true (lam_chart_data_to_widget (chart, x, 2.0 - 0.18 * x, &wx, &wy));
      hits += pixel_near_color (png, 2 * wx, 2 * wy, 2, &red);
    }
  /* The legend may cover one of them. */
  g_assert_cmpuint (hits, >=, 9);
  g_assert_false (pixel_near_color (png, 3, 3, 2, &red));
  g_assert_cmpuint (count_color (png, &red), >, 1000);
  /* Opaque, in the theme's background colour, where nothing is drawn. */
  g_assert_cmpuint (*(const guint32 *) cairo_image_surface_get_data (png) >> 24, ==, 0xff);
  cairo_surface_destroy (png);

  /* At the size asked for, laid out for it. */
  g_assert_true (lam_chart_save (chart, sized, LAM_CHART_FILE_PNG, 640, 360, &error));
  g_assert_no_error (error);
  png = cairo_image_surface_create_from_png (sized);
  g_assert_cmpint (cairo_surface_status (png), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (png), ==, 640);
  g_assert_cmpint (cairo_image_surface_get_height (png), ==, 360);
  g_assert_cmpuint (count_color (png, &red), >, 300);
  cairo_surface_destroy (png);

  /* A copy for a person to look at. */
  g_assert_true (lam_chart_save (chart, kept, LAM_CHART_FILE_AUTO, 0, 0, &error));
  g_assert_no_error (error);
  g_test_message ("wrote %s", kept);

  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_remove (sized), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

typedef struct
{
  guint elements;
  guint paths;
  char *root;
  char *width;
} SvgCount;

static void
svg_start (GMarkupParseContext *context, const char *name, const char **attribute_names,
           const char **attribute_values, gpointer user_data, GError **error)
{
  SvgCount *count = user_data;

  if (count->elements++ == 0)
    {
      count->root = g_strdup (name);
      for (guint i = 0; attribute_names[i] != NULL; i++)
        if (g_str_equal (attribute_names[i], "width"))
          count->width = g_strdup (attribute_values[i]);
    }
  if (g_str_equal (name, "path"))
    count->paths++;
}

static void
test_save_svg (void)
{
  const GdkRGBA red = { 1.0, 0.25, 0.0, 1.0 };
  g_autoptr (LamChart) chart = saved_chart (&red);
  g_autofree char *path = g_test_build_filename (G_TEST_BUILT, "chart-saved.svg", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *svg = NULL;
  gsize length;
  const GMarkupParser parser = { svg_start, NULL, NULL, NULL, NULL };
  SvgCount count = { 0 };
  GMarkupParseContext *context;

  g_assert_true (lam_chart_save (chart, path, LAM_CHART_FILE_AUTO, 0, 0, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &svg, &length, &error));
  g_assert_no_error (error);

  context = g_markup_parse_context_new (&parser, 0, &count, NULL);
  g_assert_true (g_markup_parse_context_parse (context, svg, length, &error));
  g_assert_no_error (error);
  g_assert_true (g_markup_parse_context_end_parse (context, &error));
  g_assert_no_error (error);
  g_markup_parse_context_free (context);

  /* A vector drawing of the chart's size, its lines and glyphs as paths. */
  g_assert_cmpstr (count.root, ==, "svg");
  g_assert_nonnull (count.width);
  g_assert_cmpfloat (g_ascii_strtod (count.width, NULL), ==, 400);
  g_assert_cmpuint (count.paths, >, 10);
  /* The series' colour, as cairo writes it. */
  g_assert_nonnull (strstr (svg, "rgb(100%,25%,0%)"));
  g_test_message ("wrote %s: %u elements, %u paths", path, count.elements, count.paths);
  g_free (count.root);
  g_free (count.width);
}

static void
test_save_csv (void)
{
  g_autoptr (LamChart) chart = new_chart ();
  guint a = lam_chart_add_series (chart, "train, \"fast\"", NULL, LAM_CHART_SERIES_SMOOTHED);
  guint b = lam_chart_add_series (chart, "validation", NULL, LAM_CHART_SERIES_NONE);
  g_autofree char *dir = tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "data.csv", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *csv = NULL;

  lam_chart_set_smoothing (chart, 0.9);
  lam_chart_append (chart, a, 0, 2.5);
  lam_chart_append (chart, a, 0.5, NAN);
  lam_chart_append (chart, a, 1, INFINITY);
  lam_chart_append (chart, b, 1, 0.125);
  lam_chart_append (chart, b, 2.25, 1.0 / 3.0);

  /* The values appended, not the smoothed ones drawn. */
  csv = lam_chart_dup_csv (chart);
  g_assert_cmpstr (csv, ==,
                   "series,x,y\r\n"
                   "\"train, \"\"fast\"\"\",0,2.5\r\n"
                   "\"train, \"\"fast\"\"\",0.5,nan\r\n"
                   "\"train, \"\"fast\"\"\",1,inf\r\n"
                   "validation,1,0.125\r\n"
                   "validation,2.25,0.3333333333\r\n");

  g_assert_true (lam_chart_save (chart, path, LAM_CHART_FILE_AUTO, 0, 0, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, csv);

  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
assert_contents (const char *path, const char *expected)
{
  g_autofree char *contents = NULL;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, expected);
}

static void
test_save_errors (void)
{
  const GdkRGBA red = { 1.0, 0.25, 0.0, 1.0 };
  g_autoptr (LamChart) chart = saved_chart (&red);
  g_autofree char *dir = tmp_dir ();
  g_autofree char *missing = g_build_filename (dir, "no-such-folder", "chart.png", NULL);
  g_autofree char *taken = g_build_filename (dir, "taken.svg", NULL);
  g_autofree char *inside = g_build_filename (taken, "keep.txt", NULL);
  g_autofree char *unknown = g_build_filename (dir, "chart.gif", NULL);
  g_autofree char *existing = g_build_filename (dir, "existing.png", NULL);
  g_autoptr (GError) error = NULL;
  GStatBuf st;

  /* A folder that does not exist: the error names the path. */
  g_assert_false (lam_chart_save (chart, missing, LAM_CHART_FILE_AUTO, 0, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  /* A folder in the way is left as it was, and no temporary file stays. */
  g_assert_cmpint (g_mkdir (taken, 0755), ==, 0);
  g_assert_true (g_file_set_contents (inside, "keep", -1, NULL));
  g_assert_false (lam_chart_save (chart, taken, LAM_CHART_FILE_AUTO, 0, 0, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, taken));
  g_clear_error (&error);
  assert_contents (inside, "keep");
  g_assert_cmpuint (count_files (dir), ==, 1);

  /* A name that says no format: refused before anything is written. */
  g_assert_true (g_file_set_contents (unknown, "old", -1, NULL));
  g_assert_false (lam_chart_save (chart, unknown, LAM_CHART_FILE_AUTO, 0, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, unknown));
  g_clear_error (&error);
  assert_contents (unknown, "old");

  /* A file the user cannot write over keeps its contents (root writes
   * anywhere, so there only the replacing is checked). */
  g_assert_true (g_file_set_contents (existing, "old", -1, NULL));
  if (geteuid () != 0)
    {
      g_assert_cmpint (g_chmod (dir, 0555), ==, 0);
      g_assert_false (lam_chart_save (chart, existing, LAM_CHART_FILE_AUTO, 0, 0, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
      g_assert_nonnull (strstr (error->message, existing));
      g_clear_error (&error);
      assert_contents (existing, "old");
      g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
    }
  /* A file that can be written over is replaced whole. */
  g_assert_true (lam_chart_save (chart, existing, LAM_CHART_FILE_AUTO, 0, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (existing, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 1000);
  g_assert_cmpuint (count_files (dir), ==, 3);

  g_assert_cmpint (g_remove (existing), ==, 0);
  g_assert_cmpint (g_remove (unknown), ==, 0);
  g_assert_cmpint (g_remove (inside), ==, 0);
  g_assert_cmpint (g_rmdir (taken), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static GtkGesture *
find_context_gesture (GtkWidget *widget)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_GESTURE_CLICK (controller)
          && gtk_gesture_single_get_button (GTK_GESTURE_SINGLE (controller))
               == GDK_BUTTON_SECONDARY)
        return GTK_GESTURE (controller);
    }
  return NULL;
}

static GtkWidget *
find_file_chooser (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWidget) window = g_list_model_get_item (toplevels, i);

      if (GTK_IS_FILE_CHOOSER (window) && gtk_widget_get_visible (window))
        return window;
    }
  return NULL;
}

static gboolean
file_exists (gpointer path)
{
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* The context menu's entries, and one of them taken through the file
 * chooser to a file. */
static void
test_context_menu (void)
{
  const GdkRGBA red = { 1.0, 0.25, 0.0, 1.0 };
  LamChart *chart = saved_chart (&red);
  GtkWidget *window = gtk_window_new ();
  g_autofree char *dir = tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "Loss.csv", NULL);
  g_autoptr (GFile) folder = g_file_new_for_path (dir);
  g_autofree char *expected = lam_chart_dup_csv (chart);
  GtkGesture *gesture;
  GtkWidget *menu;
  GtkWidget *chooser;

  gtk_window_set_default_size (GTK_WINDOW (window), 500, 320);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (chart));
  gtk_window_present (GTK_WINDOW (window));
  wait_for_size (GTK_WIDGET (chart));

  gesture = find_context_gesture (GTK_WIDGET (chart));
  g_assert_nonnull (gesture);
  g_signal_emit_by_name (gesture, "pressed", 1, 40.0, 30.0);
  lam_test_settle (100);
  menu = gtk_widget_get_first_child (GTK_WIDGET (chart));
  g_assert_true (GTK_IS_POPOVER_MENU (menu));
  g_assert_true (gtk_widget_get_visible (menu));
  {
    GMenuModel *model = gtk_popover_menu_get_menu_model (GTK_POPOVER_MENU (menu));
    const char *actions[] = { "chart.save-png", "chart.save-svg", "chart.save-csv" };

    g_assert_cmpint (g_menu_model_get_n_items (model), ==, 3);
    for (int i = 0; i < 3; i++)
      {
        g_autofree char *action = NULL;

        g_assert_true (g_menu_model_get_item_attribute (model, i, G_MENU_ATTRIBUTE_ACTION, "s",
                                                        &action));
        g_assert_cmpstr (action, ==, actions[i]);
      }
  }
  gtk_popover_popdown (GTK_POPOVER (menu));

  /* Without a portal the native chooser is a GtkFileChooserDialog. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chart), "chart.save-csv", NULL));
  lam_test_settle (200);
  chooser = find_file_chooser ();
  if (chooser == NULL)
    {
      g_test_message ("no file chooser window to drive here");
    }
  else
    {
      g_autofree char *name = gtk_file_chooser_get_current_name (GTK_FILE_CHOOSER (chooser));

      /* Named after the chart's title. */
      g_assert_cmpstr (name, ==, "Loss.csv");
      g_assert_true (gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), folder,
                                                          NULL));
      lam_test_settle (100);
      gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_ACCEPT);
      g_assert_true (lam_test_iterate_until (file_exists, path, 5000));
      assert_contents (path, expected);
      g_assert_cmpint (g_remove (path), ==, 0);
    }

  gtk_window_destroy (GTK_WINDOW (window));
  lam_test_settle (50);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int argc, char **argv)

{
  /* Tests run without a session bus, which the accessibility bridge would warn about. */
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();

  g_test_add_func ("/chart/series/append", test_series_append);
  g_test_add_func ("/chart/series/remove-keeps-ids", test_series_remove_keeps_ids);
  g_test_add_func ("/chart/axes/rescale", test_axes_rescale);
  g_test_add_func ("/chart/axes/round-trip", test_axes_round_trip);
  g_test_add_func ("/chart/axes/log-y", test_axes_log_y);
  g_test_add_func ("/chart/axes/fixed-limits", test_axes_fixed_limits);
  g_test_add_func ("/chart/axes/ticks", test_axis_ticks);
  g_test_add_func ("/chart/axes/short-plot", test_axes_short_plot);
  g_test_add_func ("/chart/axes/short-plot-fills", test_axes_short_plot_fills);
  g_test_add_func ("/chart/smoothing/raw-points", test_smoothing_raw_points);
  g_test_add_func ("/chart/markers", test_markers);
  g_test_add_func ("/chart/series/queries", test_series_queries);
  g_test_add_func ("/chart/run-colors/readable", test_run_colors_readable);
  g_test_add_func ("/chart/run-colors/drawn", test_run_colors_drawn);
  g_test_add_func ("/chart/properties", test_properties);
  g_test_add_func ("/chart/draw/pixels", test_draw_pixels);
  g_test_add_func ("/chart/draw/smoothed", test_draw_smoothed);
  g_test_add_func ("/chart/draw/degenerate", test_draw_degenerate);
  g_test_add_func ("/chart/hover/reuses-lines", test_hover_reuses_lines);
  g_test_add_func ("/chart/hover/many-runs", test_hover_many_runs);
  g_test_add_func ("/chart/hover/long-name", test_hover_long_name);
  g_test_add_func ("/chart/legend/many-runs", test_legend_many_runs);
  g_test_add_func ("/chart/legend/outside-plot", test_legend_outside_plot);
  g_test_add_func ("/chart/stress/20000-points", test_stress);
  g_test_add_func ("/chart/under-cache/not-redrawn", test_under_not_redrawn);
  for (guint i = 0; i < G_N_ELEMENTS (under_changes); i++) {
    g_autofree char *path = g_strdup_printf ("/chart/under-cache/%s", under_changes[i].name);
    g_test_add_data_func (path, &under_changes[i], test_under_change);
  }
  g_test_add_func ("/chart/render/window", test_render_window);
  g_test_add_func ("/chart/render/log-y", test_render_log_y);
  g_test_add_func ("/chart/render/window-dark", test_render_window_dark);
  g_test_add_func ("/chart/save/png", test_save_png);
  g_test_add_func ("/chart/save/svg", test_save_svg);
  g_test_add_func ("/chart/save/csv", test_save_csv);
  g_test_add_func ("/chart/save/errors", test_save_errors);
  g_test_add_func ("/chart/save/context-menu", test_context_menu);

  return g_test_run ();
}
