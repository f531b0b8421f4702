#include "lam-fit-view.h"

#include <math.h>
#include <string.h>

#include "lam-predict.h"
#include "lam-ui-util.h"

#define CURVE_POINTS 200

struct _LamFitView
{
  GtkWidget parent_instance;
  LamDataset *table; /* owned copy, NULL when none */
  int target;
  gboolean has_fit;
  float *predicted;                /* owned: table->n, in the target's units */
  float curve_x[CURVE_POINTS];     /* one input: the curve, in the units of x and y */
  float curve_y[CURVE_POINTS];
  double r2, mse, mae;
  gboolean residuals; /* each row's error against its prediction instead */
};

G_DEFINE_FINAL_TYPE (LamFitView, lam_fit_view, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_RESIDUALS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static float
row_target (const LamDataset *table, int row, int target)
{
  return table->targets[(gsize) row * table->n_targets + target];
}

static gboolean
one_input (LamFitView *self)
{
  return self->table != NULL && self->table->n_features == 1;
}

typedef enum
{
  PLOT_CURVE,     /* one input: (x, y) and the model's curve */
  PLOT_SCATTER,   /* more: (actual, predicted) and the diagonal */
  PLOT_RESIDUALS, /* (predicted, actual − predicted) and the zero line */
} Plot;

static Plot
plot_of (LamFitView *self)
{
  if (self->residuals && self->has_fit)
    return PLOT_RESIDUALS;
  return one_input (self) ? PLOT_CURVE : PLOT_SCATTER;
}

/* Row i as a point of the plot; FALSE when it has none yet. */
static gboolean
row_point (LamFitView *self, Plot plot, int i, double *x, double *y)
{
  const LamDataset *t = self->table;
  double actual = row_target (t, i, self->target);
  switch (plot) {
  case PLOT_CURVE:
    *x = t->features[i];
    *y = actual;
    return TRUE;
  case PLOT_SCATTER:
    *x = actual;
    *y = self->predicted[i];
    return self->has_fit;
  case PLOT_RESIDUALS:
  default:
    *x = self->predicted[i];
    *y = actual - self->predicted[i];
    return TRUE;
  }
}

/* The plot's ranges over its points; predictions against truth share one
 * scale, and residuals always show their zero. */
static void
ranges (LamFitView *self, Plot plot, double *x0, double *x1, double *y0, double *y1)
{
  *x0 = *y0 = G_MAXDOUBLE;
  *x1 = *y1 = -G_MAXDOUBLE;
  for (int i = 0; i < self->table->n; i++) {
    double x, y;
    if (!row_point (self, plot, i, &x, &y)) {
      /* Before a fit the truth alone sets the scale. */
      x = y = row_target (self->table, i, self->target);
    }
    *x0 = MIN (*x0, x);
    *x1 = MAX (*x1, x);
    *y0 = MIN (*y0, y);
    *y1 = MAX (*y1, y);
  }
  if (plot == PLOT_SCATTER) {
    *x0 = *y0 = MIN (*x0, *y0);
    *x1 = *y1 = MAX (*x1, *y1);
  } else if (plot == PLOT_RESIDUALS) {
    double reach = MAX (fabs (*y0), fabs (*y1));
    *y0 = -reach;
    *y1 = reach;
  }
  double dx = MAX (*x1 - *x0, 1e-6) * 0.05, dy = MAX (*y1 - *y0, 1e-6) * 0.05;
  *x0 -= dx;
  *x1 += dx;
  *y0 -= dy;
  *y1 += dy;
}

/* The texts around the plot. */
typedef struct
{
  char *x_name, *y_name, *figures; /* owned; figures NULL before a fit */
  char ends[4][32];
  double x0, x1, y0, y1; /* the plot's ranges */
} Texts;

static void
texts_init (LamFitView *self, Texts *texts)
{
  Plot plot = plot_of (self);
  ranges (self, plot, &texts->x0, &texts->x1, &texts->y0, &texts->y1);
  const LamDataset *t = self->table;
  const char *target = t->target_names[self->target];
  texts->x_name = plot == PLOT_CURVE     ? g_strdup (t->feature_names[0])
                  : plot == PLOT_SCATTER ? g_strdup_printf ("actual %s", target)
                                         : g_strdup_printf ("predicted %s", target);
  texts->y_name = plot == PLOT_CURVE     ? g_strdup (target)
                  : plot == PLOT_SCATTER ? g_strdup_printf ("predicted %s", target)
                                         : g_strdup ("error: actual − predicted");
  texts->figures = self->has_fit ? g_strdup_printf ("R² %.3f · MSE %.4g · MAE %.4g", self->r2,
                                                    self->mse, self->mae)
                                 : NULL;
  const double ends[4] = { texts->x0, texts->x1, texts->y0, texts->y1 };
  for (int e = 0; e < 4; e++)
    g_snprintf (texts->ends[e], sizeof texts->ends[e], "%.3g", ends[e]);
}

static void
texts_clear (Texts *texts)
{
  g_clear_pointer (&texts->x_name, g_free);
  g_clear_pointer (&texts->y_name, g_free);
  g_clear_pointer (&texts->figures, g_free);
}

/* Sets the layout's text, wrapped to max_width (unbounded when < 0) and
 * centred, and returns its size and, in dx, where its widest line starts.
 * A text is never shortened: a line breaks between words, or inside one
 * wider than max_width. */
static void
set_text (PangoLayout *layout, const char *text, double max_width, int *width, int *height, int *dx)
{
  pango_layout_set_text (layout, text, -1);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_NONE);
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
  pango_layout_set_width (layout, max_width >= 0 ? (int) (MAX (max_width, 1) * PANGO_SCALE) : -1);
  PangoRectangle logical;
  pango_layout_get_pixel_extents (layout, NULL, &logical);
  *width = logical.width;
  *height = logical.height;
  if (dx != NULL)
    *dx = logical.x;
}

#define PAD 4.0

/* The widths compute_layout wrapped the texts to, for drawing them the
 * same way. */
typedef struct
{
  double x_title, y_title, figures;
} Wraps;

/* Every text gets a box of its own: the y title a column left of the end
 * values, the x title the row under them unless it fits between them, the
 * figures a row above the plot, clear of its points. In presentation mode
 * the fixed margins this replaces put "predicted apples" on "141". A title
 * longer than its side of the plot wraps to more lines, and its column or
 * row grows: at 1024×768 in presentation mode the y title was cut to
 * "predict…". */
static gboolean
compute_layout (LamFitView *self, PangoLayout *layout, const Texts *texts, int width, int height,
                LamFitLayout *out, Wraps *wraps)
{
  memset (out, 0, sizeof *out);
  double gap = MAX (PAD, lam_ui_font_pixels (GTK_WIDGET (self)) * 0.3);
  int ew[4], eh[4], xw, xh, yw, yh, fw = 0, fh = 0;
  for (int e = 0; e < 4; e++)
    set_text (layout, texts->ends[e], -1, &ew[e], &eh[e], NULL);
  int x_line, y_line;
  set_text (layout, texts->x_name, -1, &xw, &x_line, NULL);
  int x_whole = xw;
  set_text (layout, texts->y_name, -1, &yw, &y_line, NULL);
  double figures_wrap = MAX (width - 2 * PAD, 1);
  if (texts->figures != NULL)
    set_text (layout, texts->figures, figures_wrap, &fw, &fh, NULL);

  double top = PAD + (texts->figures != NULL ? fh + gap : 0);
  double row = MAX (eh[0], eh[1]);
  double column = y_line; /* the y title's lines, side by side */
  double left, plot_w, plot_h, title_x, x_wrap = -1;
  gboolean shared;
  /* Each pass widens the y title's column to the lines it wrapped to,
   * which narrows the plot, which may wrap the x title to more lines and
   * lower the plot: a few passes settle it. */
  for (int pass = 0;; pass++) {
    left = PAD + column + gap + MAX (ew[2], ew[3]) + gap;
    plot_w = width - PAD - left;
    if (plot_w < 2 * x_line)
      return FALSE;
    /* The x title between the end values when it fits there, centred. */
    xw = x_whole;
    xh = x_line;
    x_wrap = -1;
    title_x = left + (plot_w - xw) / 2;
    shared = title_x >= left + ew[0] + gap && title_x + xw <= left + plot_w - ew[1] - gap;
    if (!shared) {
      x_wrap = plot_w;
      set_text (layout, texts->x_name, x_wrap, &xw, &xh, NULL);
      title_x = left + (plot_w - xw) / 2;
    }
    double bottom = 2 + row + (shared ? 0 : gap + xh) + PAD;
    plot_h = height - top - bottom;
    if (plot_h < 2 * y_line)
      return FALSE;
    set_text (layout, texts->y_name, plot_h, &yw, &yh, NULL);
    if (yh <= column)
      break;
    if (pass == 4)
      return FALSE;
    column = yh;
  }
  /* Room for both end values of each axis. */
  if (plot_w < ew[0] + ew[1] + gap || plot_h < eh[2] + eh[3] + gap)
    return FALSE;
  out->plot = GRAPHENE_RECT_INIT (left, top, plot_w, plot_h);
  double under = top + plot_h + 2;
  out->ends[0] = GRAPHENE_RECT_INIT (left, under, ew[0], eh[0]);
  out->ends[1] = GRAPHENE_RECT_INIT (left + plot_w - ew[1], under, ew[1], eh[1]);
  out->ends[2] = GRAPHENE_RECT_INIT (left - gap - ew[2], top + plot_h - eh[2], ew[2], eh[2]);
  out->ends[3] = GRAPHENE_RECT_INIT (left - gap - ew[3], top, ew[3], eh[3]);
  out->x_title = GRAPHENE_RECT_INIT (title_x, shared ? under : under + row + gap, xw, xh);
  out->y_title = GRAPHENE_RECT_INIT (PAD, top + (plot_h - yw) / 2, yh, yw);
  if (texts->figures != NULL)
    out->figures = GRAPHENE_RECT_INIT (MAX (PAD, MIN (left, width - PAD - fw)), PAD, fw, fh);
  if (wraps != NULL)
    *wraps = (Wraps){ .x_title = x_wrap, .y_title = plot_h, .figures = figures_wrap };
  return TRUE;
}

gboolean
lam_fit_view_compute_layout (LamFitView *self, int width, int height, LamFitLayout *layout)
{
  g_return_val_if_fail (LAM_IS_FIT_VIEW (self), FALSE);
  g_return_val_if_fail (layout != NULL, FALSE);
  if (self->table == NULL || self->table->n == 0) {
    memset (layout, 0, sizeof *layout);
    return FALSE;
  }
  Texts texts = { 0 };
  texts_init (self, &texts);
  g_autoptr (PangoLayout) pango = lam_ui_create_layout (GTK_WIDGET (self), "", 1, FALSE, FALSE);
  gboolean fits = compute_layout (self, pango, &texts, width, height, layout, NULL);
  texts_clear (&texts);
  return fits;
}

char *
lam_fit_view_dup_title (LamFitView *self, GtkOrientation axis)
{
  g_return_val_if_fail (LAM_IS_FIT_VIEW (self), NULL);
  if (self->table == NULL || self->table->n == 0)
    return NULL;
  Texts texts = { 0 };
  texts_init (self, &texts);
  char **name = axis == GTK_ORIENTATION_HORIZONTAL ? &texts.x_name : &texts.y_name;
  char *title = g_steal_pointer (name);
  texts_clear (&texts);
  return title;
}

/* Draws text, wrapped to max_width as compute_layout did, in the box. */
static void
show_text (cairo_t *cr, PangoLayout *layout, const char *text, const graphene_rect_t *box,
           double max_width)
{
  int w, h, dx;
  set_text (layout, text, max_width, &w, &h, &dx);
  cairo_move_to (cr, box->origin.x - dx, box->origin.y);
  pango_cairo_show_layout (cr, layout);
}

static void
lam_fit_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  LamFitView *self = LAM_FIT_VIEW (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  if (self->table == NULL || self->table->n == 0)
    return;
  Texts texts = { 0 };
  texts_init (self, &texts);
  g_autoptr (PangoLayout) layout = lam_ui_create_layout (widget, "", 1, FALSE, FALSE);
  LamFitLayout parts;
  Wraps wraps;
  if (!compute_layout (self, layout, &texts, width, height, &parts, &wraps)) {
    texts_clear (&texts);
    return;
  }
  cairo_t *cr = gtk_snapshot_append_cairo (
    snapshot, &GRAPHENE_RECT_INIT (0, 0, (float) width, (float) height));
  GdkRGBA fg;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
  Plot plot = plot_of (self);
  double x0 = texts.x0, x1 = texts.x1, y0 = texts.y0, y1 = texts.y1;
  double left = parts.plot.origin.x, top = parts.plot.origin.y;
  double w = parts.plot.size.width, h = parts.plot.size.height;
#define PX(v) (left + ((v) - x0) / (x1 - x0) * w)
#define PY(v) (top + h - ((v) - y0) / (y1 - y0) * h)

  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.35);
  cairo_set_line_width (cr, 1);
  cairo_rectangle (cr, left, top, w, h);
  cairo_stroke (cr);

  /* The axes' names. */
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.8);
  show_text (cr, layout, texts.x_name, &parts.x_title, wraps.x_title);
  /* The y title upright: its lines' start at the box's bottom. */
  cairo_save (cr);
  cairo_translate (cr, parts.y_title.origin.x, parts.y_title.origin.y + parts.y_title.size.height);
  cairo_rotate (cr, -G_PI / 2);
  int yw, yh, ydx;
  set_text (layout, texts.y_name, wraps.y_title, &yw, &yh, &ydx);
  cairo_move_to (cr, -ydx, 0);
  pango_cairo_show_layout (cr, layout);
  cairo_restore (cr);

  /* The ends of both axes, so the units read off the plot. */
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.6);
  for (int e = 0; e < 4; e++)
    show_text (cr, layout, texts.ends[e], &parts.ends[e], -1);

  /* The perfect fit: the diagonal of predictions against truth, or no
   * error at all. */
  if (plot != PLOT_CURVE) {
    cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.4);
    cairo_set_dash (cr, (double[]){ 4, 4 }, 2, 0);
    cairo_move_to (cr, PX (x0), PY (plot == PLOT_SCATTER ? y0 : 0));
    cairo_line_to (cr, PX (x1), PY (plot == PLOT_SCATTER ? y1 : 0));
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);
  }

  /* The rows. */
  const LamDataset *t = self->table;
  GdkRGBA point = { 0.13, 0.45, 0.82, 0.75 };
  double radius = MAX (2.5, lam_ui_font_pixels (widget) * 0.22);
  for (int i = 0; i < t->n; i++) {
    double x, y;
    if (!row_point (self, plot, i, &x, &y))
      continue;
    cairo_arc (cr, PX (x), PY (y), radius, 0, 2 * G_PI);
    gdk_cairo_set_source_rgba (cr, &point);
    cairo_fill (cr);
  }

  /* The model's curve, over the inputs' range. */
  if (self->has_fit && plot == PLOT_CURVE) {
    cairo_set_source_rgb (cr, 0.90, 0.38, 0.0);
    cairo_set_line_width (cr, MAX (2.0, lam_ui_font_pixels (widget) * 0.18));
    for (int k = 0; k < CURVE_POINTS; k++) {
      double px = PX (self->curve_x[k]), py = PY (CLAMP (self->curve_y[k], y0, y1));
      if (k == 0)
        cairo_move_to (cr, px, py);
      else
        cairo_line_to (cr, px, py);
    }
    cairo_stroke (cr);
  }

  /* The figures, above the plot. */
  if (texts.figures != NULL) {
    cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.9);
    show_text (cr, layout, texts.figures, &parts.figures, wraps.figures);
  }
#undef PX
#undef PY
  cairo_destroy (cr);
  texts_clear (&texts);
}

static void
lam_fit_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                      int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = 160;
  *natural = 360;
}

static void
lam_fit_view_finalize (GObject *object)
{
  LamFitView *self = LAM_FIT_VIEW (object);
  g_clear_pointer (&self->table, lam_dataset_free);
  g_free (self->predicted);
  G_OBJECT_CLASS (lam_fit_view_parent_class)->finalize (object);
}

static void
lam_fit_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamFitView *self = LAM_FIT_VIEW (object);
  switch (prop_id) {
  case PROP_RESIDUALS:
    g_value_set_boolean (value, self->residuals);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_fit_view_set_property (GObject *object, guint prop_id, const GValue *value,
                           GParamSpec *pspec)
{
  switch (prop_id) {
  case PROP_RESIDUALS:
    lam_fit_view_set_residuals (LAM_FIT_VIEW (object), g_value_get_boolean (value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_fit_view_class_init (LamFitViewClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lam_fit_view_finalize;
  G_OBJECT_CLASS (klass)->get_property = lam_fit_view_get_property;
  G_OBJECT_CLASS (klass)->set_property = lam_fit_view_set_property;
  properties[PROP_RESIDUALS] =
    g_param_spec_boolean ("residuals", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (G_OBJECT_CLASS (klass), N_PROPS, properties);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  widget_class->snapshot = lam_fit_view_snapshot;
  widget_class->measure = lam_fit_view_measure;
  gtk_widget_class_set_css_name (widget_class, "fitview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lam_fit_view_init (LamFitView *self)
{
  lam_ui_set_accessible_label (GTK_WIDGET (self), "How the model fits the table");
  self->r2 = self->mse = self->mae = NAN;
}

GtkWidget *
lam_fit_view_new (void)
{
  return g_object_new (LAM_TYPE_FIT_VIEW, NULL);
}

void
lam_fit_view_set_table (LamFitView *self, const LamDataset *table, int target)
{
  g_return_if_fail (LAM_IS_FIT_VIEW (self));
  g_clear_pointer (&self->table, lam_dataset_free);
  g_clear_pointer (&self->predicted, g_free);
  self->has_fit = FALSE;
  self->r2 = self->mse = self->mae = NAN;
  if (table != NULL && table->task == LAM_TASK_REGRESSION && table->n_targets > 0) {
    self->table = lam_dataset_copy (table);
    self->target = CLAMP (target, 0, table->n_targets - 1);
    self->predicted = g_new0 (float, MAX (table->n, 1));
  }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* The model's outputs for raw rows: standardised as the loader does, the
 * outputs brought back to the target's units. */
static gboolean
predict_rows (LamModel *model, const LamDataset *t, const float *rows, int n, int target,
              float *out, GError **error)
{
  int d = t->n_features;
  g_autofree float *inputs = g_new (float, (gsize) MAX (n, 1) * d);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
      inputs[(gsize) i * d + j] = (rows[(gsize) i * d + j] - t->feature_mean[j]) / t->feature_std[j];
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_OUTPUTS;
  g_autoptr (LamPrediction) prediction =
    lam_model_predict_inputs (model, inputs, n, NULL, &request, error);
  if (prediction == NULL)
    return FALSE;
  for (int i = 0; i < n; i++)
    out[i] = prediction->outputs[(gsize) i * prediction->n_outputs + target] *
               t->target_std[target] +
             t->target_mean[target];
  return TRUE;
}

gboolean
lam_fit_view_set_model (LamFitView *self, const LamModelSpec *spec, const float *params,
                        gsize n_params, GError **error)
{
  g_return_val_if_fail (LAM_IS_FIT_VIEW (self), FALSE);
  if (spec == NULL || self->table == NULL) {
    self->has_fit = FALSE;
    gtk_widget_queue_draw (GTK_WIDGET (self));
    return TRUE;
  }
  /* Whatever fails, the fit of earlier weights is not left to be read as
   * this one's. */
  self->has_fit = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  const LamDataset *t = self->table;
  g_autoptr (LamUiModel) ui =
    lam_ui_model_new (spec, params, n_params, MAX (t->n, CURVE_POINTS), error);
  if (ui == NULL)
    return FALSE;
  LamModel *model = ui->model;
  /* Weights of another table (kept when this one was opened) would read
   * rows and outputs past their ends. */
  gsize inputs = lam_shape_numel (&lam_model_get_plan (model)->input);
  int outputs = lam_model_get_n_classes (model);
  if (inputs != (gsize) t->n_features || outputs != t->n_targets) {
    g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH,
                 "These weights take %zu input%s and give %d output%s, but %s has %d input%s "
                 "and %d target%s: train a model on it to see its fit.",
                 inputs, inputs == 1 ? "" : "s", outputs, outputs == 1 ? "" : "s", t->name,
                 t->n_features, t->n_features == 1 ? "" : "s", t->n_targets,
                 t->n_targets == 1 ? "" : "s");
    return FALSE;
  }
  gboolean ok = predict_rows (model, t, t->features, t->n, self->target, self->predicted, error);
  if (ok && one_input (self)) {
    double x0 = G_MAXDOUBLE, x1 = -G_MAXDOUBLE;
    for (int i = 0; i < t->n; i++) {
      x0 = MIN (x0, t->features[i]);
      x1 = MAX (x1, t->features[i]);
    }
    for (int k = 0; k < CURVE_POINTS; k++)
      self->curve_x[k] = (float) (x0 + (x1 - x0) * k / (CURVE_POINTS - 1));
    ok = predict_rows (model, t, self->curve_x, CURVE_POINTS, self->target, self->curve_y, error);
  }
  if (!ok)
    return FALSE;

  /* The figures, in double. */
  double sum = 0, sq = 0, ab = 0, mean = 0;
  for (int i = 0; i < t->n; i++)
    mean += row_target (t, i, self->target);
  mean /= MAX (t->n, 1);
  for (int i = 0; i < t->n; i++) {
    double actual = row_target (t, i, self->target), e = self->predicted[i] - actual;
    sq += e * e;
    ab += fabs (e);
    sum += (actual - mean) * (actual - mean);
  }
  self->mse = sq / MAX (t->n, 1);
  self->mae = ab / MAX (t->n, 1);
  self->r2 = sum > 0 ? 1 - sq / sum : NAN;
  self->has_fit = TRUE;
  return TRUE;
}

void
lam_fit_view_set_residuals (LamFitView *self, gboolean residuals)
{
  g_return_if_fail (LAM_IS_FIT_VIEW (self));
  residuals = !!residuals;
  if (self->residuals == residuals)
    return;
  self->residuals = residuals;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESIDUALS]);
}

gboolean
lam_fit_view_get_residuals (LamFitView *self)
{
  g_return_val_if_fail (LAM_IS_FIT_VIEW (self), FALSE);
  return self->residuals;
}

double
lam_fit_view_get_r2 (LamFitView *self)
{
  g_return_val_if_fail (LAM_IS_FIT_VIEW (self), NAN);
  return self->has_fit ? self->r2 : NAN;
}

double
lam_fit_view_get_mse (LamFitView *self)
{
  g_return_val_if_fail (LAM_IS_FIT_VIEW (self), NAN);
  return self->has_fit ? self->mse : NAN;
}

double
lam_fit_view_predict_at (LamFitView *self, double x)
{
  g_return_val_if_fail (LAM_IS_FIT_VIEW (self), NAN);
  if (!self->has_fit || !one_input (self))
    return NAN;
  /* On the curve, between its samples. */
  for (int k = 1; k < CURVE_POINTS; k++)
    if (x <= self->curve_x[k] || k == CURVE_POINTS - 1) {
      double span = self->curve_x[k] - self->curve_x[k - 1];
      double u = span > 0 ? (x - self->curve_x[k - 1]) / span : 0;
      return self->curve_y[k - 1] + u * (self->curve_y[k] - self->curve_y[k - 1]);
    }
  return NAN;
}
