#include "lam-boundary-view.h"

#include <math.h>

#include "lam-axis-ticks.h"
#include "lam-chart.h"
#include "lam-playground.h"
#include "lam-predict.h"
#include "lam-ui-util.h"

#define GRID LAM_BOUNDARY_VIEW_GRID
#define POINT_RADIUS 3.5
#define MARGIN 8

struct _LamBoundaryView
{
  GtkWidget parent_instance;

  int n;
  float *xy;       /* owned: n × 2 */
  guint8 *labels;  /* owned, NULL for regression */
  float *values;   /* owned, NULL for classification */
  int n_classes;
  LamBoundaryPlane plane;
  float value_low, value_high; /* the points' range, for regression colours */
  double value_mean, value_std;  /* a regression's outputs back to the values' units */

  /* The map: per grid cell, the predicted class and its probability, or
   * the predicted value. */
  gboolean has_map;
  gint32 map_class[GRID * GRID];
  float map_value[GRID * GRID];
  int n_right; /* points the map's model classifies right */
  cairo_surface_t *map_surface; /* owned: GRID × GRID, drawn scaled */

  char *x_name, *y_name; /* owned, NULL when not given */
};

G_DEFINE_FINAL_TYPE (LamBoundaryView, lam_boundary_view, GTK_TYPE_WIDGET)

/* A class's colour: the charts' run palette, which reads on light and dark
 * backgrounds alike. */
static void
class_color (int k, GdkRGBA *color)
{
  lam_chart_get_run_color ((guint) MAX (k, 0), color);
}

/* Regression: low values blue, high values orange, through white. */
static void
value_color (double t, double *r, double *g, double *b)
{
  t = CLAMP (t, 0, 1);
  if (t < 0.5) {
    double u = t / 0.5;
    *r = 0.13 + 0.87 * u;
    *g = 0.40 + 0.60 * u;
    *b = 0.80 + 0.20 * u;
  } else {
    double u = (t - 0.5) / 0.5;
    *r = 1.0 - 0.05 * u;
    *g = 1.0 - 0.45 * u;
    *b = 1.0 - 0.85 * u;
  }
}

static void
rebuild_surface (LamBoundaryView *self)
{
  g_clear_pointer (&self->map_surface, cairo_surface_destroy);
  if (!self->has_map)
    return;
  self->map_surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, GRID, GRID);
  cairo_surface_flush (self->map_surface);
  guint8 *data = cairo_image_surface_get_data (self->map_surface);
  int stride = cairo_image_surface_get_stride (self->map_surface);
  for (int row = 0; row < GRID; row++)
    for (int column = 0; column < GRID; column++) {
      int cell = row * GRID + column;
      double r, g, b;
      if (self->labels != NULL) {
        /* The class's colour, paler where the model is less sure. */
        GdkRGBA color;
        class_color (self->map_class[cell], &color);
        double strength = 0.2 + 0.35 * CLAMP (self->map_value[cell], 0, 1);
        r = 1 - strength * (1 - color.red);
        g = 1 - strength * (1 - color.green);
        b = 1 - strength * (1 - color.blue);
      } else {
        double span = MAX (self->value_high - self->value_low, 1e-6);
        value_color ((self->map_value[cell] - self->value_low) / span, &r, &g, &b);
        r = 0.55 + 0.45 * r;
        g = 0.55 + 0.45 * g;
        b = 0.55 + 0.45 * b;
      }
      guint32 *pixel = (guint32 *) (data + row * stride) + column;
      *pixel = ((guint32) (r * 255) << 16) | ((guint32) (g * 255) << 8) | (guint32) (b * 255);
    }
  cairo_surface_mark_dirty (self->map_surface);
}

int
lam_boundary_axis_ticks (double low, double high, int max_ticks, double *ticks)
{
  if (!(high > low) || max_ticks < 2)
    return 0;
  /* 2.5 too: with five ticks at most, a step jumping from 2 straight to 5
   * would often leave three. */
  double step = lam_axis_step_at_least (low, high, max_ticks - 1, LAM_AXIS_STEPS_1_2_2_5_5);
  return lam_axis_ticks (low, high, step, ticks, max_ticks);
}

/* A tick's value with as many decimals as its step needs. */
static char *
format_tick (double value, double step)
{
  return lam_axis_format_tick (value, lam_axis_step_decimals (step));
}

typedef struct
{
  double x0, y0, side; /* the plane's square */
  double tick_w;       /* the widest y tick label */
  double tick_h;       /* a tick label's height */
  double name_h;       /* an axis name's height, 0 without names */
} Frame;

/* The square the plane takes, with room at its left for the y ticks and
 * name and below it for the x ticks and name; what is left stays square
 * so that a unit looks the same along both axes of a playground. */
static void
lay_out_frame (LamBoundaryView *self, Frame *frame)
{
  GtkWidget *widget = GTK_WIDGET (self);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autoptr (PangoLayout) layout = lam_ui_create_layout (widget, "0", 0.85, FALSE, TRUE);
  const LamBoundaryPlane *plane = &self->plane;
  double ticks[8];
  int n = lam_boundary_axis_ticks (plane->x2_low, plane->x2_high, 5, ticks);
  double step = n > 1 ? ticks[1] - ticks[0] : 1;
  int widest = 0, h = 0;
  for (int i = 0; i < n; i++) {
    g_autofree char *text = format_tick (ticks[i], step);
    int w;
    pango_layout_set_text (layout, text, -1);
    pango_layout_get_pixel_size (layout, &w, &h);
    widest = MAX (widest, w);
  }
  if (n == 0)
    pango_layout_get_pixel_size (layout, NULL, &h);
  frame->tick_w = widest;
  frame->tick_h = h;
  frame->name_h = 0;
  if (self->x_name != NULL || self->y_name != NULL) {
    g_autoptr (PangoLayout) name = lam_ui_create_layout (widget, "Ag", 1.0, FALSE, FALSE);
    int name_h;
    pango_layout_get_pixel_size (name, NULL, &name_h);
    frame->name_h = name_h;
  }
  double left = MARGIN + (self->y_name != NULL ? frame->name_h + 4 : 0) + widest + 6;
  double bottom = MARGIN + h + 4 + (self->x_name != NULL ? frame->name_h + 2 : 0);
  /* Room for half the last x tick's label past the right edge. */
  double right = MARGIN + h, top = MARGIN;
  double free_w = width - left - right, free_h = height - top - bottom;
  frame->side = MIN (free_w, free_h);
  frame->x0 = floor (left + (free_w - frame->side) / 2);
  frame->y0 = floor (top + (free_h - frame->side) / 2);
}

static void
show_text (cairo_t *cr, PangoLayout *layout, const char *text, double x, double y, double x_align,
           double y_align)
{
  int w, h;
  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &w, &h);
  cairo_move_to (cr, round (x - x_align * w), round (y - y_align * h));
  pango_cairo_show_layout (cr, layout);
}

/* Ticks in the data's units along the bottom and the left, and the two
 * inputs' names under them: which column is which axis. */
static void
draw_axes (LamBoundaryView *self, cairo_t *cr, const Frame *frame)
{
  GtkWidget *widget = GTK_WIDGET (self);
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GdkRGBA fg;
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
  const LamBoundaryPlane *plane = &self->plane;
  double x0 = frame->x0, y0 = frame->y0, side = frame->side;
  g_autoptr (PangoLayout) layout = lam_ui_create_layout (widget, NULL, 0.85, FALSE, TRUE);
  double ticks[8];

  cairo_set_line_width (cr, 1);
  int n = lam_boundary_axis_ticks (plane->x1_low, plane->x1_high, 5, ticks);
  for (int i = 0; i < n; i++) {
    double x = round (x0 + (ticks[i] - plane->x1_low) / (plane->x1_high - plane->x1_low) * side);
    lam_ui_set_source (cr, &fg, 0.5);
    cairo_move_to (cr, x + 0.5, y0 + side);
    cairo_line_to (cr, x + 0.5, y0 + side + 4);
    cairo_stroke (cr);
    g_autofree char *text = format_tick (ticks[i], n > 1 ? ticks[1] - ticks[0] : 1);
    lam_ui_set_source (cr, &fg, 0.75);
    show_text (cr, layout, text, x, y0 + side + 4, 0.5, 0);
  }
  n = lam_boundary_axis_ticks (plane->x2_low, plane->x2_high, 5, ticks);
  double label_right = x0 - 6;
  for (int i = 0; i < n; i++) {
    double y = round (y0 + (plane->x2_high - ticks[i]) / (plane->x2_high - plane->x2_low) * side);
    lam_ui_set_source (cr, &fg, 0.5);
    cairo_move_to (cr, x0 - 4, y + 0.5);
    cairo_line_to (cr, x0, y + 0.5);
    cairo_stroke (cr);
    g_autofree char *text = format_tick (ticks[i], n > 1 ? ticks[1] - ticks[0] : 1);
    lam_ui_set_source (cr, &fg, 0.75);
    show_text (cr, layout, text, label_right, y, 1, 0.5);
  }

  g_autoptr (PangoLayout) names = lam_ui_create_layout (widget, NULL, 1.0, FALSE, FALSE);
  lam_ui_set_source (cr, &fg, 0.9);
  if (self->x_name != NULL) {
    pango_layout_set_width (names, (int) (side * PANGO_SCALE));
    pango_layout_set_ellipsize (names, PANGO_ELLIPSIZE_MIDDLE);
    show_text (cr, names, self->x_name, x0 + side / 2, y0 + side + 4 + frame->tick_h + 2, 0.5, 0);
  }
  if (self->y_name != NULL) {
    /* Turned to read upwards, as a chart's y axis is named. */
    pango_layout_set_width (names, (int) (side * PANGO_SCALE));
    pango_layout_set_ellipsize (names, PANGO_ELLIPSIZE_MIDDLE);
    pango_layout_set_text (names, self->y_name, -1);
    int w, h;
    pango_layout_get_pixel_size (names, &w, &h);
    double x = MAX (0, label_right - frame->tick_w - 4 - frame->name_h);
    cairo_save (cr);
    cairo_translate (cr, x, round (y0 + side / 2 + w / 2.0));
    cairo_rotate (cr, -G_PI / 2);
    cairo_move_to (cr, 0, 0);
    pango_cairo_show_layout (cr, names);
    cairo_restore (cr);
  }
}

static void
lam_boundary_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  LamBoundaryView *self = LAM_BOUNDARY_VIEW (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  Frame frame;
  lay_out_frame (self, &frame);
  double side = frame.side;
  if (side <= 0)
    return;
  double x0 = frame.x0, y0 = frame.y0;
  cairo_t *cr = gtk_snapshot_append_cairo (
    snapshot, &GRAPHENE_RECT_INIT (0, 0, (float) width, (float) height));
  draw_axes (self, cr, &frame);

  /* The map, cells blown up without smoothing so the boundary is honest
   * about its resolution. */
  if (self->map_surface != NULL) {
    cairo_save (cr);
    cairo_translate (cr, x0, y0);
    cairo_scale (cr, side / GRID, side / GRID);
    cairo_set_source_surface (cr, self->map_surface, 0, 0);
    cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle (cr, 0, 0, GRID, GRID);
    cairo_fill (cr);
    cairo_restore (cr);
  } else {
    cairo_set_source_rgb (cr, 0.95, 0.95, 0.95);
    cairo_rectangle (cr, x0, y0, side, side);
    cairo_fill (cr);
  }
  const LamBoundaryPlane *plane = &self->plane;
  double x_scale = side / (plane->x1_high - plane->x1_low);
  double y_scale = side / (plane->x2_high - plane->x2_low);
  /* Axes through the origin, where it is in sight. */
  cairo_set_source_rgba (cr, 0, 0, 0, 0.25);
  cairo_set_line_width (cr, 1);
  if (plane->x1_low < 0 && plane->x1_high > 0) {
    cairo_move_to (cr, x0 - plane->x1_low * x_scale, y0);
    cairo_line_to (cr, x0 - plane->x1_low * x_scale, y0 + side);
  }
  if (plane->x2_low < 0 && plane->x2_high > 0) {
    cairo_move_to (cr, x0, y0 + plane->x2_high * y_scale);
    cairo_line_to (cr, x0 + side, y0 + plane->x2_high * y_scale);
  }
  cairo_stroke (cr);

  /* The points, each in its class's (or value's) colour with a dark rim. */
  double radius = MAX (POINT_RADIUS, lam_ui_font_pixels (widget) * 0.3);
  for (int i = 0; i < self->n; i++) {
    double px = x0 + (self->xy[2 * i] - plane->x1_low) * x_scale;
    double py = y0 + (plane->x2_high - self->xy[2 * i + 1]) * y_scale;
    double r, g, b;
    if (self->labels != NULL) {
      GdkRGBA color;
      class_color (self->labels[i], &color);
      r = color.red, g = color.green, b = color.blue;
    } else {
      double span = MAX (self->value_high - self->value_low, 1e-6);
      value_color ((self->values[i] - self->value_low) / span, &r, &g, &b);
    }
    cairo_arc (cr, px, py, radius, 0, 2 * G_PI);
    cairo_set_source_rgb (cr, r, g, b);
    cairo_fill_preserve (cr);
    cairo_set_source_rgba (cr, 0, 0, 0, 0.6);
    cairo_set_line_width (cr, 1);
    cairo_stroke (cr);
  }
  cairo_destroy (cr);
}

static void
lam_boundary_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                           int *minimum, int *natural, int *minimum_baseline,
                           int *natural_baseline)
{
  *minimum = 160;
  *natural = 360;
}

static void
lam_boundary_view_finalize (GObject *object)
{
  LamBoundaryView *self = LAM_BOUNDARY_VIEW (object);
  g_free (self->x_name);
  g_free (self->y_name);
  g_free (self->xy);
  g_free (self->labels);
  g_free (self->values);
  g_clear_pointer (&self->map_surface, cairo_surface_destroy);
  G_OBJECT_CLASS (lam_boundary_view_parent_class)->finalize (object);
}

static void
lam_boundary_view_class_init (LamBoundaryViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->finalize = lam_boundary_view_finalize;
  widget_class->snapshot = lam_boundary_view_snapshot;
  widget_class->measure = lam_boundary_view_measure;
  gtk_widget_class_set_css_name (widget_class, "boundaryview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lam_boundary_view_init (LamBoundaryView *self)
{
  lam_ui_set_accessible_label (GTK_WIDGET (self),
                               "The data points over the map of what the model predicts");
  self->plane = (LamBoundaryPlane){ -LAM_PLAYGROUND_EXTENT, LAM_PLAYGROUND_EXTENT,
                                    -LAM_PLAYGROUND_EXTENT, LAM_PLAYGROUND_EXTENT };
  self->value_mean = 0;
  self->value_std = 1;
}

void
lam_boundary_view_set_value_scaling (LamBoundaryView *self, double mean, double std)
{
  g_return_if_fail (LAM_IS_BOUNDARY_VIEW (self));
  self->value_mean = mean;
  self->value_std = std > 0 ? std : 1;
}

/* [-extent, extent]² when it holds every point, else each axis over its
 * points with a margin of 5% of their range (1 for a range of 0). */
static void
fit_plane (LamBoundaryPlane *plane, int n, const float *xy, double extent)
{
  double low[2] = { G_MAXDOUBLE, G_MAXDOUBLE }, high[2] = { -G_MAXDOUBLE, -G_MAXDOUBLE };
  for (int i = 0; i < n; i++)
    for (int c = 0; c < 2; c++) {
      low[c] = MIN (low[c], xy[2 * i + c]);
      high[c] = MAX (high[c], xy[2 * i + c]);
    }
  if (n == 0 ||
      (low[0] >= -extent && high[0] <= extent && low[1] >= -extent && high[1] <= extent)) {
    *plane = (LamBoundaryPlane){ -extent, extent, -extent, extent };
    return;
  }
  for (int c = 0; c < 2; c++) {
    double margin = high[c] > low[c] ? 0.05 * (high[c] - low[c]) : 1;
    low[c] -= margin;
    high[c] += margin;
  }
  *plane = (LamBoundaryPlane){ low[0], high[0], low[1], high[1] };
}

void
lam_boundary_plane_grid (const LamBoundaryPlane *plane, int width, int height, float *out_xy)
{
  for (int row = 0; row < height; row++)
    for (int column = 0; column < width; column++) {
      float *xy = out_xy + 2 * ((gsize) row * width + column);
      xy[0] = (float) (plane->x1_low + (column + 0.5) * (plane->x1_high - plane->x1_low) / width);
      xy[1] = (float) (plane->x2_high - (row + 0.5) * (plane->x2_high - plane->x2_low) / height);
    }
}

void
lam_boundary_view_get_plane (LamBoundaryView *self, LamBoundaryPlane *plane)
{
  g_return_if_fail (LAM_IS_BOUNDARY_VIEW (self));
  *plane = self->plane;
}

GtkWidget *
lam_boundary_view_new (void)
{
  return g_object_new (LAM_TYPE_BOUNDARY_VIEW, NULL);
}

void
lam_boundary_view_set_points (LamBoundaryView *self, int n, const float *xy,
                              const guint8 *labels, int n_classes, const float *values,
                              double extent)
{
  g_return_if_fail (LAM_IS_BOUNDARY_VIEW (self));
  g_return_if_fail (n >= 0 && (n == 0 || xy != NULL));
  g_return_if_fail ((labels != NULL) != (values != NULL) || n == 0);
  g_clear_pointer (&self->xy, g_free);
  g_clear_pointer (&self->labels, g_free);
  g_clear_pointer (&self->values, g_free);
  self->n = n;
  self->xy = g_memdup2 (xy, sizeof (float) * 2 * (gsize) n);
  self->labels = labels != NULL ? g_memdup2 (labels, (gsize) n) : NULL;
  self->values = values != NULL ? g_memdup2 (values, sizeof (float) * (gsize) n) : NULL;
  self->n_classes = n_classes;
  fit_plane (&self->plane, n, xy, extent > 0 ? extent : LAM_PLAYGROUND_EXTENT);
  self->value_low = G_MAXFLOAT;
  self->value_high = -G_MAXFLOAT;
  for (int i = 0; values != NULL && i < n; i++) {
    self->value_low = MIN (self->value_low, values[i]);
    self->value_high = MAX (self->value_high, values[i]);
  }
  self->has_map = FALSE;
  rebuild_surface (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Runs the model over the grid and the points on a CPU backend of its own,
 * normalising the inputs as training did. */
static LamPrediction *
predict (LamModel *model, const float *xy, int n, const float *mean, const float *std,
         LamPredictFlags what, GError **error)
{
  g_autofree float *inputs = g_new (float, 2 * (gsize) MAX (n, 1));
  for (int i = 0; i < n; i++)
    for (int c = 0; c < 2; c++)
      inputs[2 * i + c] = (xy[2 * i + c] - mean[c]) / std[c];
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = what;
  return lam_model_predict_inputs (model, inputs, n, NULL, &request, error);
}

gboolean
lam_boundary_view_set_model (LamBoundaryView *self, const LamModelSpec *spec,
                             const float *params, gsize n_params, const float *mean,
                             const float *std, GError **error)
{
  g_return_val_if_fail (LAM_IS_BOUNDARY_VIEW (self), FALSE);
  if (spec == NULL) {
    self->has_map = FALSE;
    rebuild_surface (self);
    gtk_widget_queue_draw (GTK_WIDGET (self));
    return TRUE;
  }
  /* A map that failed shows none rather than the model before. */
  self->has_map = FALSE;
  g_autoptr (LamUiModel) ui =
    lam_ui_model_new_for_rows (spec, params, n_params, 2, GRID * GRID, error);
  if (ui == NULL) {
    rebuild_surface (self);
    gtk_widget_queue_draw (GTK_WIDGET (self));
    return FALSE;
  }
  LamModel *model = ui->model;
  gboolean regression = self->labels == NULL;
  /* Weights kept from a set of fewer classes (Moons, then a table of
   * three) would colour the plane with the boundary of the set before,
   * under points it has no class for; the Evaluate page refuses them too. */
  if (!regression && lam_model_get_n_classes (model) < self->n_classes) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "the model gives %d scores for points of %d classes",
                 lam_model_get_n_classes (model), self->n_classes);
    rebuild_surface (self);
    gtk_widget_queue_draw (GTK_WIDGET (self));
    return FALSE;
  }

  float grid[GRID * GRID * 2];
  lam_boundary_plane_grid (&self->plane, GRID, GRID, grid);
  LamPredictFlags what = regression ? LAM_PREDICT_OUTPUTS
                                    : LAM_PREDICT_CLASSES | LAM_PREDICT_CONFIDENCE;
  g_autoptr (LamPrediction) map = predict (model, grid, GRID * GRID, mean, std, what, error);
  g_autoptr (LamPrediction) points =
    map != NULL && !regression && self->n > 0
      ? predict (model, self->xy, self->n, mean, std, LAM_PREDICT_CLASSES, error)
      : NULL;
  if (map == NULL || (!regression && self->n > 0 && points == NULL)) {
    rebuild_surface (self);
    gtk_widget_queue_draw (GTK_WIDGET (self));
    return FALSE;
  }

  for (int cell = 0; cell < GRID * GRID; cell++) {
    if (regression) {
      self->map_class[cell] = -1;
      self->map_value[cell] =
        (float) (map->outputs[(gsize) cell * map->n_outputs] * self->value_std + self->value_mean);
    } else {
      self->map_class[cell] = map->predicted[cell];
      self->map_value[cell] = map->confidence[cell];
    }
  }
  self->n_right = 0;
  for (int i = 0; points != NULL && i < self->n; i++)
    self->n_right += points->predicted[i] == self->labels[i];
  self->has_map = TRUE;
  rebuild_surface (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return TRUE;
}

int
lam_boundary_view_get_class_at (LamBoundaryView *self, int row, int column)
{
  g_return_val_if_fail (LAM_IS_BOUNDARY_VIEW (self), -1);
  if (!self->has_map || row < 0 || row >= GRID || column < 0 || column >= GRID)
    return -1;
  return self->map_class[row * GRID + column];
}

double
lam_boundary_view_get_accuracy (LamBoundaryView *self)
{
  g_return_val_if_fail (LAM_IS_BOUNDARY_VIEW (self), NAN);
  if (!self->has_map || self->n == 0 || self->labels == NULL)
    return NAN;
  return (double) self->n_right / self->n;
}

void
lam_boundary_view_set_axis_names (LamBoundaryView *self, const char *x_name, const char *y_name)
{
  g_return_if_fail (LAM_IS_BOUNDARY_VIEW (self));
  g_free (self->x_name);
  g_free (self->y_name);
  self->x_name = g_strdup (x_name);
  self->y_name = g_strdup (y_name);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const char *
lam_boundary_view_get_axis_name (LamBoundaryView *self, int axis)
{
  g_return_val_if_fail (LAM_IS_BOUNDARY_VIEW (self), NULL);
  g_return_val_if_fail (axis == 0 || axis == 1, NULL);
  return axis == 0 ? self->x_name : self->y_name;
}

void
lam_boundary_view_get_square (LamBoundaryView *self, double *x, double *y, double *side)
{
  g_return_if_fail (LAM_IS_BOUNDARY_VIEW (self));
  Frame frame;
  lay_out_frame (self, &frame);
  *x = frame.x0;
  *y = frame.y0;
  *side = frame.side;
}
