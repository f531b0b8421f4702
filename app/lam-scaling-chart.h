/* lam-scaling-chart: lamina bench --scaling's table as a chart — epoch
 * seconds against batch size, one line per hidden width, each width's
 * floating-point limit (its epoch's FLOPs at the machine's sgemm peak) as
 * a dashed line of the same colour. Log scales on both axes. Written as PNG
 * or SVG, by the file name's extension.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  int n_widths, n_batches;
  const int *widths;         /* n_widths hidden widths */
  const int *batches;        /* n_batches batch sizes, ascending */
  const double *seconds;     /* n_widths × n_batches epoch seconds; NAN for none */
  const double *epoch_flops; /* n_widths: one epoch's FLOPs (the same at every batch size) */
  double peak_gflops;        /* the sgemm peak; <= 0 draws no limit */
  const char *title;
  const char *subtitle; /* the device, in smaller type; may be NULL */
} LamScalingChart;

#define LAM_SCALING_CHART_WIDTH 960
#define LAM_SCALING_CHART_HEIGHT 600

/* Writes the chart to path (.png or .svg); FALSE with an error naming the
 * file otherwise. */
gboolean lam_scaling_chart_write (const LamScalingChart *chart, const char *path,
                                  GError **error);

/* Where a point (batch size, seconds) lies in the picture, in pixels from
 * its top left: what the tests look at. */
void lam_scaling_chart_point (const LamScalingChart *chart, double batch, double seconds,
                              double *x, double *y);

G_END_DECLS
