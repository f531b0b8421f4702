/* The scaling chart of lamina bench --scaling: the points and limits land
 * where the axes say, in the widths' colours; PNG and SVG are written;
 * a bad name or folder is refused with the file named. */
#include <cairo.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "lam-scaling-chart.h"

static const int widths[] = { 64, 1024 };
static const int batches[] = { 16, 32, 64, 128, 256 };
/* Width 64 is fast and flat, width 1024 slow and falling. */
static const double seconds[] = {
  0.30, 0.20, 0.15, 0.12, NAN, /* a missing point leaves a gap */
  9.00, 5.00, 3.00, 2.00, 1.60,
};
static const double epoch_flops[] = { 2e9, 60e9 };

static LamScalingChart
chart_of (void)
{
  return (LamScalingChart) { G_N_ELEMENTS (widths), G_N_ELEMENTS (batches), widths, batches,
                             seconds, epoch_flops, 100, "test", "a device" };
}

/* The RGB of a pixel of a PNG surface, 0..1. */
static void
pixel (cairo_surface_t *surface, double x, double y, double rgb[3])
{
  int stride = cairo_image_surface_get_stride (surface);
  const guint8 *data = cairo_image_surface_get_data (surface);
  guint32 p = *(const guint32 *) (data + (gsize) lround (y) * stride + 4 * lround (x));
  rgb[0] = ((p >> 16) & 0xff) / 255.0;
  rgb[1] = ((p >> 8) & 0xff) / 255.0;
  rgb[2] = (p & 0xff) / 255.0;
}

/* A thin line is antialiased over the rows around it: the row of the three
 * nearest y that is closest to the colour wanted must be it, nearly. */
static void
assert_line_at (cairo_surface_t *surface, double x, double y, double r, double g, double b)
{
  double best = INFINITY;
  for (int dy = -1; dy <= 1; dy++) {
    double rgb[3];
    pixel (surface, x, y + dy, rgb);
    best = MIN (best, fabs (rgb[0] - r) + fabs (rgb[1] - g) + fabs (rgb[2] - b));
  }
  g_assert_cmpfloat (best, <, 0.25);
}

static void
assert_rgb (const double got[3], double r, double g, double b)
{
  g_assert_cmpfloat_with_epsilon (got[0], r, 0.02);
  g_assert_cmpfloat_with_epsilon (got[1], g, 0.02);
  g_assert_cmpfloat_with_epsilon (got[2], b, 0.02);
}

static void
test_png (void)
{
  LamScalingChart chart = chart_of ();
  g_autofree char *dir = g_dir_make_tmp ("lamina-chart-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "scaling.png", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_scaling_chart_write (&chart, path, &error));
  g_assert_no_error (error);

  cairo_surface_t *surface = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (surface), ==, LAM_SCALING_CHART_WIDTH);
  g_assert_cmpint (cairo_image_surface_get_height (surface), ==, LAM_SCALING_CHART_HEIGHT);

  /* Each measured point is a dot of its width's colour. */
  double x, y, rgb[3];
  lam_scaling_chart_point (&chart, 32, 0.20, &x, &y);
  pixel (surface, x, y, rgb);
  assert_rgb (rgb, 0.12, 0.47, 0.71);
  lam_scaling_chart_point (&chart, 256, 1.60, &x, &y);
  pixel (surface, x, y, rgb);
  assert_rgb (rgb, 1.00, 0.50, 0.05);
  /* Larger batches are to the right, longer epochs higher up. */
  double x2, y2;
  lam_scaling_chart_point (&chart, 64, 3.0, &x2, &y2);
  lam_scaling_chart_point (&chart, 32, 5.0, &x, &y);
  g_assert_cmpfloat (x2, >, x);
  g_assert_cmpfloat (y2, >, y);

  /* The limits: 2e9 FLOPs at 100 GFLOP/s is 0.02 s, 60e9 is 0.6 s; their
   * dashes start at the smallest batch. */
  lam_scaling_chart_point (&chart, 16, 0.02, &x, &y);
  assert_line_at (surface, x + 2, y, 0.12, 0.47, 0.71);
  lam_scaling_chart_point (&chart, 16, 0.6, &x, &y);
  assert_line_at (surface, x + 2, y, 1.00, 0.50, 0.05);
  /* No point for width 64 at batch 256: no line goes on from 128. */
  lam_scaling_chart_point (&chart, sqrt (128.0 * 256.0), 0.13, &x, &y);
  pixel (surface, x, y, rgb);
  assert_rgb (rgb, 1, 1, 1);

  cairo_surface_destroy (surface);
  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_svg (void)
{
  LamScalingChart chart = chart_of ();
  g_autofree char *dir = g_dir_make_tmp ("lamina-chart-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "scaling.svg", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_scaling_chart_write (&chart, path, &error));
  g_assert_no_error (error);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "<svg"));
  g_assert_nonnull (strstr (text, "width=\"960\""));
  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_refusals (void)
{
  LamScalingChart chart = chart_of ();
  g_autoptr (GError) error = NULL;
  g_assert_false (lam_scaling_chart_write (&chart, "/tmp/scaling.jpeg", &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL);
  g_assert_nonnull (strstr (error->message, "/tmp/scaling.jpeg"));
  g_assert_nonnull (strstr (error->message, ".png or .svg"));
  g_clear_error (&error);

  g_assert_false (lam_scaling_chart_write (&chart, "/nonexistent-folder/scaling.png", &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_nonnull (strstr (error->message, "/nonexistent-folder/scaling.png"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/scaling-chart/png", test_png);
  g_test_add_func ("/scaling-chart/svg", test_svg);
  g_test_add_func ("/scaling-chart/refusals", test_refusals);
  return g_test_run ();
}
