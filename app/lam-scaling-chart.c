/* lam-scaling-chart.c: the scaling table drawn with Cairo. */
#include "lam-scaling-chart.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <math.h>
#include <stdio.h>

#include "lam-file.h"

#define MARGIN_LEFT 80.0
#define MARGIN_RIGHT 190.0
#define MARGIN_TOP 56.0
#define MARGIN_BOTTOM 64.0

/* Tableau's ten, in the order the widths come. */
static const double palette[][3] = {
  { 0.12, 0.47, 0.71 }, { 1.00, 0.50, 0.05 }, { 0.17, 0.63, 0.17 }, { 0.84, 0.15, 0.16 },
  { 0.58, 0.40, 0.74 }, { 0.55, 0.34, 0.29 }, { 0.89, 0.47, 0.76 }, { 0.50, 0.50, 0.50 },
  { 0.74, 0.74, 0.13 }, { 0.09, 0.75, 0.81 },
};

static double
limit_seconds (const LamScalingChart *chart, int w)
{
  if (chart->peak_gflops <= 0 || chart->epoch_flops == NULL || !(chart->epoch_flops[w] > 0))
    return NAN;
  return chart->epoch_flops[w] / (chart->peak_gflops * 1e9);
}

/* The seconds axis: whole decades around every time and limit. */
static void
seconds_range (const LamScalingChart *chart, double *lo, double *hi)
{
  double min = INFINITY, max = -INFINITY;
  for (int w = 0; w < chart->n_widths; w++) {
    for (int b = 0; b < chart->n_batches; b++) {
      double s = chart->seconds[(gsize) w * chart->n_batches + b];
      if (isfinite (s) && s > 0) {
        min = MIN (min, s);
        max = MAX (max, s);
      }
    }
    double limit = limit_seconds (chart, w);
    if (isfinite (limit) && limit > 0) {
      min = MIN (min, limit);
      max = MAX (max, limit);
    }
  }
  if (!isfinite (min)) {
    min = 0.1;
    max = 1;
  }
  *lo = pow (10, floor (log10 (min)));
  *hi = pow (10, ceil (log10 (max)));
  if (*hi <= *lo)
    *hi = *lo * 10;
}

void
lam_scaling_chart_point (const LamScalingChart *chart, double batch, double seconds, double *x,
                         double *y)
{
  g_return_if_fail (chart != NULL && chart->n_batches > 0 && x != NULL && y != NULL);
  double plot_w = LAM_SCALING_CHART_WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
  double plot_h = LAM_SCALING_CHART_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
  /* A quarter of a doubling of room on each side keeps the end points'
   * dots off the frame. */
  double b0 = log2 (chart->batches[0]) - 0.25;
  double b1 = log2 (chart->batches[chart->n_batches - 1]) + 0.25;
  double lo, hi;
  seconds_range (chart, &lo, &hi);
  double fx = (log2 (batch) - b0) / (b1 - b0);
  double fy = (log10 (seconds) - log10 (lo)) / (log10 (hi) - log10 (lo));
  *x = MARGIN_LEFT + fx * plot_w;
  *y = MARGIN_TOP + (1 - fy) * plot_h;
}

static void
show_text_at (cairo_t *cr, const char *text, double x, double y, double align_x, double align_y)
{
  cairo_text_extents_t extents;
  cairo_text_extents (cr, text, &extents);
  cairo_move_to (cr, x - extents.x_bearing - align_x * extents.width,
                 y - extents.y_bearing - align_y * extents.height);
  cairo_show_text (cr, text);
}

static void
draw (const LamScalingChart *chart, cairo_t *cr)
{
  const double width = LAM_SCALING_CHART_WIDTH, height = LAM_SCALING_CHART_HEIGHT;
  const double plot_r = width - MARGIN_RIGHT, plot_b = height - MARGIN_BOTTOM;
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_select_font_face (cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

  double lo, hi;
  seconds_range (chart, &lo, &hi);

  /* Grid and ticks: 1, 2 and 5 of each decade; every batch size. */
  cairo_set_font_size (cr, 12);
  cairo_set_line_width (cr, 1);
  for (double decade = lo; decade < hi * 1.001; decade *= 10)
    for (int m = 1; m <= 5; m += m == 1 ? 1 : 3) {
      double s = decade * m;
      if (s > hi * 1.001)
        break;
      double x, y;
      lam_scaling_chart_point (chart, chart->batches[0], s, &x, &y);
      cairo_set_source_rgb (cr, m == 1 ? 0.80 : 0.92, m == 1 ? 0.80 : 0.92, m == 1 ? 0.80 : 0.92);
      cairo_move_to (cr, MARGIN_LEFT, round (y) + 0.5);
      cairo_line_to (cr, plot_r, round (y) + 0.5);
      cairo_stroke (cr);
      char label[32];
      g_snprintf (label, sizeof label, "%g s", s);
      cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
      show_text_at (cr, label, MARGIN_LEFT - 8, y, 1, 0.5);
    }
  for (int b = 0; b < chart->n_batches; b++) {
    double x, y;
    lam_scaling_chart_point (chart, chart->batches[b], lo, &x, &y);
    cairo_set_source_rgb (cr, 0.92, 0.92, 0.92);
    cairo_move_to (cr, round (x) + 0.5, MARGIN_TOP);
    cairo_line_to (cr, round (x) + 0.5, plot_b);
    cairo_stroke (cr);
    char label[32];
    g_snprintf (label, sizeof label, "%d", chart->batches[b]);
    cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
    show_text_at (cr, label, x, plot_b + 8, 0.5, 0);
  }
  cairo_set_source_rgb (cr, 0.4, 0.4, 0.4);
  cairo_rectangle (cr, MARGIN_LEFT + 0.5, MARGIN_TOP + 0.5, plot_r - MARGIN_LEFT - 1,
                   plot_b - MARGIN_TOP - 1);
  cairo_stroke (cr);

  cairo_set_font_size (cr, 13);
  show_text_at (cr, "batch size", (MARGIN_LEFT + plot_r) / 2, height - 22, 0.5, 0.5);
  cairo_save (cr);
  cairo_translate (cr, 18, (MARGIN_TOP + plot_b) / 2);
  cairo_rotate (cr, -G_PI / 2);
  show_text_at (cr, "seconds per epoch", 0, 0, 0.5, 0.5);
  cairo_restore (cr);
  cairo_set_font_size (cr, 15);
  show_text_at (cr, chart->title != NULL ? chart->title : "", MARGIN_LEFT, 16, 0, 0.5);
  cairo_set_font_size (cr, 11);
  show_text_at (cr, chart->subtitle != NULL ? chart->subtitle : "", MARGIN_LEFT, 38, 0, 0.5);

  /* The lines, clipped to the plot; limits dashed. */
  cairo_save (cr);
  cairo_rectangle (cr, MARGIN_LEFT, MARGIN_TOP, plot_r - MARGIN_LEFT, plot_b - MARGIN_TOP);
  cairo_clip (cr);
  for (int w = 0; w < chart->n_widths; w++) {
    const double *rgb = palette[w % G_N_ELEMENTS (palette)];
    cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
    double limit = limit_seconds (chart, w);
    if (isfinite (limit)) {
      double x0, x1, y;
      lam_scaling_chart_point (chart, chart->batches[0], limit, &x0, &y);
      lam_scaling_chart_point (chart, chart->batches[chart->n_batches - 1], limit, &x1, &y);
      const double dash[] = { 6, 4 };
      cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
      cairo_set_line_width (cr, 1.5);
      cairo_move_to (cr, x0, y);
      cairo_line_to (cr, x1, y);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
    }
    cairo_set_line_width (cr, 2.5);
    gboolean drawing = FALSE;
    for (int b = 0; b < chart->n_batches; b++) {
      double s = chart->seconds[(gsize) w * chart->n_batches + b];
      if (!(isfinite (s) && s > 0)) {
        drawing = FALSE;
        continue;
      }
      double x, y;
      lam_scaling_chart_point (chart, chart->batches[b], s, &x, &y);
      if (drawing)
        cairo_line_to (cr, x, y);
      else
        cairo_move_to (cr, x, y);
      drawing = TRUE;
    }
    cairo_stroke (cr);
    for (int b = 0; b < chart->n_batches; b++) {
      double s = chart->seconds[(gsize) w * chart->n_batches + b];
      if (!(isfinite (s) && s > 0))
        continue;
      double x, y;
      lam_scaling_chart_point (chart, chart->batches[b], s, &x, &y);
      cairo_arc (cr, x, y, 4, 0, 2 * G_PI);
      cairo_fill (cr);
    }
  }
  cairo_restore (cr);

  /* The legend. */
  cairo_set_font_size (cr, 12);
  double lx = plot_r + 16, ly = MARGIN_TOP + 8;
  for (int w = 0; w < chart->n_widths; w++, ly += 22) {
    const double *rgb = palette[w % G_N_ELEMENTS (palette)];
    cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
    cairo_set_line_width (cr, 2.5);
    cairo_move_to (cr, lx, ly);
    cairo_line_to (cr, lx + 24, ly);
    cairo_stroke (cr);
    char label[64];
    g_snprintf (label, sizeof label, "hidden width %d", chart->widths[w]);
    cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
    show_text_at (cr, label, lx + 32, ly, 0, 0.5);
  }
  if (chart->peak_gflops > 0) {
    ly += 8;
    cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
    const double dash[] = { 6, 4 };
    cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
    cairo_set_line_width (cr, 1.5);
    cairo_move_to (cr, lx, ly);
    cairo_line_to (cr, lx + 24, ly);
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);
    cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
    show_text_at (cr, "its sgemm limit", lx + 32, ly, 0, 0.5);
    char peak[64];
    g_snprintf (peak, sizeof peak, "(peak %.0f GFLOP/s)", chart->peak_gflops);
    show_text_at (cr, peak, lx + 32, ly + 18, 0, 0.5);
  }
}

static cairo_status_t
append_to_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* Drawn into memory, then written in one replace: a failed write (a full
 * disk) leaves an earlier chart of that name whole. */
gboolean
lam_scaling_chart_write (const LamScalingChart *chart, const char *path, GError **error)
{
  g_return_val_if_fail (chart != NULL && path != NULL, FALSE);
  g_return_val_if_fail (chart->n_widths > 0 && chart->n_batches > 0, FALSE);
  gboolean svg = g_str_has_suffix (path, ".svg") || g_str_has_suffix (path, ".SVG");
  if (!svg && !g_str_has_suffix (path, ".png") && !g_str_has_suffix (path, ".PNG")) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                 "%s: the chart is written as .png or .svg; name the file so", path);
    return FALSE;
  }
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  cairo_surface_t *surface =
    svg ? cairo_svg_surface_create_for_stream (append_to_bytes, bytes, LAM_SCALING_CHART_WIDTH,
                                               LAM_SCALING_CHART_HEIGHT)
        : cairo_image_surface_create (CAIRO_FORMAT_RGB24, LAM_SCALING_CHART_WIDTH,
                                      LAM_SCALING_CHART_HEIGHT);
  cairo_t *cr = cairo_create (surface);
  draw (chart, cr);
  cairo_destroy (cr);
  cairo_status_t status;
  if (svg) {
    cairo_surface_finish (surface);
    status = cairo_surface_status (surface);
  } else {
    status = cairo_surface_write_to_png_stream (surface, append_to_bytes, bytes);
  }
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: could not draw the chart (%s)",
                 path, cairo_status_to_string (status));
    return FALSE;
  }
  return lam_file_replace_contents (path, bytes->data, bytes->len, error);
}
