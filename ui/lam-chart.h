#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef enum
{
  LAM_CHART_FORMAT_NUMBER,
  LAM_CHART_FORMAT_PERCENT,
} LamChartFormat;

typedef enum
{
  LAM_CHART_SERIES_NONE = 0,
  LAM_CHART_SERIES_SMOOTHED = 1 << 0,
  LAM_CHART_SERIES_POINTS = 1 << 1,
  LAM_CHART_SERIES_FADED = 1 << 2,     /* an earlier run: lighter and thinner, drawn below */
  LAM_CHART_SERIES_NO_LEGEND = 1 << 3, /* named in the hover box only */
} LamChartSeriesFlags;

/* Colours for runs overlaid on one chart, in the order runs take them:
 * each keeps a contrast of at least 3:1 against both the light and the dark
 * theme's background, and any two lie at least 20 apart in CIELAB, so they
 * stay told apart however thick the lines. */
#define LAM_CHART_N_RUN_COLORS 10
/* index is taken modulo LAM_CHART_N_RUN_COLORS. */
void lam_chart_get_run_color (guint index, GdkRGBA *color);

/* What lam_chart_save() writes. */
typedef enum
{
  LAM_CHART_FILE_AUTO, /* from the path's extension: .png, .svg or .csv */
  LAM_CHART_FILE_PNG,
  LAM_CHART_FILE_SVG,
  LAM_CHART_FILE_CSV,
} LamChartFileFormat;

#define LAM_TYPE_CHART (lam_chart_get_type ())
G_DECLARE_FINAL_TYPE (LamChart, lam_chart, LAM, CHART, GtkWidget)

GtkWidget *lam_chart_new (void);

void lam_chart_set_title (LamChart *self, const char *title);
const char *lam_chart_get_title (LamChart *self);
/* The title over the plot's left edge rather than its middle, leaving the
 * top right corner free for buttons laid over the chart. */
void lam_chart_set_title_at_start (LamChart *self, gboolean at_start);
void lam_chart_set_axis_labels (LamChart *self, const char *x_label, const char *y_label);

void lam_chart_set_log_y (LamChart *self, gboolean log_y);
gboolean lam_chart_get_log_y (LamChart *self);
/* Either bound may be NAN to leave that end automatic. */
void lam_chart_set_y_limits (LamChart *self, double min, double max);
void lam_chart_set_y_format (LamChart *self, LamChartFormat format);
void lam_chart_set_smoothing (LamChart *self, double smoothing);
double lam_chart_get_smoothing (LamChart *self);
void lam_chart_set_line_width (LamChart *self, double width);
double lam_chart_get_line_width (LamChart *self);

/* Returns a non-zero id that stays valid until the series is removed;
 * ids are never reused. `color` may be NULL for the next palette colour. */
guint lam_chart_add_series (LamChart *self,
                            const char *name,
                            const GdkRGBA *color,
                            LamChartSeriesFlags flags);
/* y may be NAN or infinite (a diverged loss): it is kept and drawn as a gap.
 * The x axis spans at least one unit, an epoch, from the first x. */
void lam_chart_append (LamChart *self, guint series, double x, double y);
void lam_chart_remove_series (LamChart *self, guint series);
void lam_chart_clear (LamChart *self);
guint lam_chart_get_n_series (LamChart *self);
/* The id of the n-th series in the order added (0 past the end). */
guint lam_chart_get_nth_series (LamChart *self, guint n);
guint lam_chart_get_n_points (LamChart *self, guint series);
const char *lam_chart_get_series_name (LamChart *self, guint series);
void lam_chart_get_series_color (LamChart *self, guint series, GdkRGBA *color);
LamChartSeriesFlags lam_chart_get_series_flags (LamChart *self, guint series);

/* A dashed vertical line at x, labelled at the top, in the theme's text
 * colour. */
void lam_chart_add_marker (LamChart *self, double x, const char *label);
/* The same in `color` (NULL: the text colour); LAM_CHART_SERIES_FADED in
 * flags draws it lighter, as for an earlier run. */
void lam_chart_add_marker_full (LamChart *self,
                                double x,
                                const char *label,
                                const GdkRGBA *color,
                                LamChartSeriesFlags flags);
guint lam_chart_get_n_markers (LamChart *self);
/* The n-th marker's place, and its label (borrowed, may be NULL). */
void lam_chart_get_marker (LamChart *self, guint n, double *x, const char **label);

gboolean lam_chart_get_point_near (LamChart *self,
                                   guint series,
                                   double x,
                                   double *point_x,
                                   double *point_y);

/* The layout is that of the widget's allocation; before the widget has one,
 * that of the last lam_chart_draw(), else of the natural size.
 * data_to_widget() answers FALSE for values the y axis cannot show
 * (non-positive on a log axis, not finite); widget_to_data() answers FALSE
 * for points outside the plot area, but fills in the values all the same. */
gboolean lam_chart_data_to_widget (LamChart *self, double x, double y, double *wx, double *wy);
gboolean lam_chart_widget_to_data (LamChart *self, double wx, double wy, double *x, double *y);

/* The names the legend shows, one a line (the full names, where the
 * drawing cuts one short), its last line counting those left out for
 * room; NULL when no legend is drawn. bounds, unless NULL, receives the
 * legend's box in widget coordinates. */
char *lam_chart_dup_legend_text (LamChart *self, graphene_rect_t *bounds);
/* What the hover box shows while the pointer is over the plot: its
 * header and rows, one a line; NULL when it shows nothing. bounds, unless
 * NULL, receives the box in widget coordinates. */
char *lam_chart_dup_hover_text (LamChart *self, graphene_rect_t *bounds);

/* Unlike the widget, which lets its CSS background show through, this
 * paints an opaque background in the theme's colours first. */
void lam_chart_draw (LamChart *self, cairo_t *cr, int width, int height);

/* Writes the chart as the widget draws it, title and legend included but
 * not the hover overlay, over an opaque background, atomically (a failed
 * write leaves what was at path; the error names path).
 * PNG: width × height pixels; 0 for twice the widget's size (its natural
 * size before it has one). It is drawn at the largest whole scale that
 * leaves the layout at least the widget's size (2 by default), so text keeps
 * its size relative to the chart. SVG: a vector drawing of width × height
 * points, 0 for the widget's size. CSV: the data, see lam_chart_dup_csv();
 * the size is ignored. Right-clicking the chart offers the same through a
 * file chooser. */
gboolean lam_chart_save (LamChart *self,
                         const char *path,
                         LamChartFileFormat format,
                         int width,
                         int height,
                         GError **error);
/* The series as CSV (RFC 4180): a header "series,x,y", then one row a point
 * in the order added; a y that is not finite is written nan, inf or -inf. */
char *lam_chart_dup_csv (LamChart *self);

G_END_DECLS
