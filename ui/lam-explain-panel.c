#include "lam-explain-panel.h"

#include <glib/gi18n.h>
#include <math.h>

#include "lam-help.h"
#include "lam-predict.h"
#include "lam-ui-util.h"

#define THUMB_COLUMNS 4

struct _LamExplainPanel
{
  GtkWidget parent_instance;

  LamExplainer *explainer; /* owned */
  LamSession *session;     /* owned */

  float *normalised;       /* owned: the model's input, NULL when none */
  gsize n_normalised;
  guint8 *pixels;          /* owned: channels × height × width */
  int channels, height, width;
  /* A table's row instead of an image (lam_explain_panel_set_row): its
   * values as read and its columns' names, both owned; NULL for an image. */
  float *values;
  char **column_names;

  LamExplainMethod method;
  int klass;               /* -1: the predicted class */
  guint serial;            /* of the newest question asked */
  gboolean asked;
  gboolean held;           /* questions wait (lam_explain_panel_set_held) */
  gboolean row_mode;       /* its controls are set for a table's rows */
  float *map;              /* owned: height × width in [0, 1], NULL when none */
  float *pushes;           /* owned: a row's signed values (map_width), NULL when none */
  int map_height, map_width;
  char *status;            /* owned */
  char **class_names;      /* owned: those the class dropdown lists */

  int n_nearest;
  guint32 nearest[LAM_EXPLAIN_PANEL_N_NEAREST];
  gint32 nearest_labels[LAM_EXPLAIN_PANEL_N_NEAREST];
  /* Images: the cosine likeness (1: the same); a table's rows: the
   * distance (0: the same), as lam_explainer_nearest gives them. */
  float nearest_similarity[LAM_EXPLAIN_PANEL_N_NEAREST];

  GtkWidget *box;
  GtkDropDown *method_dropdown;
  GtkDropDown *class_dropdown;
  GtkAdjustment *opacity;
  GtkDrawingArea *image_area;
  GtkWidget *heat_label;
  GtkWidget *heat_scale;
  GtkLabel *nearest_heading;
  GtkLabel *status_label;
  GtkDrawingArea *nearest_area;
  GtkLabel *nearest_label;
};

G_DEFINE_FINAL_TYPE (LamExplainPanel, lam_explain_panel, GTK_TYPE_WIDGET)

/* The heat map's name is what the status line says of it; a screen reader
 * meeting the panel before any image still hears what the view is for. */
static void
set_status (LamExplainPanel *self, const char *text)
{
  g_free (self->status);
  self->status = g_strdup (text);
  gtk_label_set_text (self->status_label, text != NULL ? text : "");
  g_autofree char *name =
    g_strdup_printf (_ ("Where the network looked: %s"),
                     text != NULL && text[0] != '\0' ? text : _ ("no image yet"));
  lam_ui_set_accessible_label (GTK_WIDGET (self->image_area), name);
}

static const char *
class_name (LamExplainPanel *self, int c)
{
  if (self->class_names != NULL && c >= 0 && c < (int) g_strv_length (self->class_names))
    return self->class_names[c];
  return "?";
}

/* The class dropdown follows the result's classes. */
static void
sync_classes (LamExplainPanel *self)
{
  LamEvaluationResult *result = lam_explainer_get_result (self->explainer);
  char **names = result != NULL ? result->dataset->class_names : NULL;
  if (names == NULL || (self->class_names != NULL &&
                        g_strv_equal ((const char *const *) names,
                                      (const char *const *) self->class_names)))
    return;
  g_strfreev (self->class_names);
  self->class_names = g_strdupv (names);
  GtkStringList *list = gtk_string_list_new (NULL);
  gtk_string_list_append (list, _("The predicted class"));
  for (int c = 0; names[c] != NULL; c++)
    gtk_string_list_append (list, names[c]);
  gtk_drop_down_set_model (self->class_dropdown, G_LIST_MODEL (list));
  g_object_unref (list);
  self->klass = -1;
  gtk_drop_down_set_selected (self->class_dropdown, 0);
}

/* A look-alike's number as its line shows it: a row's distance in words,
 * since 0 being the best is the opposite of an image's likeness. */
static char *
nearest_score (LamExplainPanel *self, int k)
{
  if (self->values != NULL)
    return g_strdup_printf (_ ("distance %.3f"), self->nearest_similarity[k]);
  return g_strdup_printf ("%.3f", self->nearest_similarity[k]);
}

/* The look-alikes' classes and likeness, or what the line under them says
 * while there are none. */
static void
name_nearest (LamExplainPanel *self)
{
  gboolean rows = self->values != NULL;
  g_autoptr (GString) name =
    g_string_new (rows ? _ ("Nearest training rows") : _ ("Most alike training images"));
  if (self->n_nearest == 0) {
    const char *note = gtk_label_get_text (self->nearest_label);
    g_string_append_printf (name, ": %s", note[0] != '\0' ? note : _ ("none yet"));
  }
  for (int k = 0; k < self->n_nearest; k++) {
    g_autofree char *score = nearest_score (self, k);
    g_string_append_printf (name, "%s %s %s", k == 0 ? ":" : ",",
                            class_name (self, self->nearest_labels[k]), score);
  }
  lam_ui_set_accessible_label (GTK_WIDGET (self->nearest_area), name->str);
}

static void look_up_nearest (LamExplainPanel *self);

/* Whether the look-alikes are judged by the input as the network reads it:
 * a model whose last linear layer comes first (logistic regression), or
 * after only a flatten or dropout, which hand the input on unchanged. */
static gboolean
compares_inputs (const LamModelPlan *plan)
{
  int layer = lam_model_plan_penultimate_layer (plan);
  for (int l = 0; l <= layer; l++) {
    LamLayerKind kind = plan->layers[l].spec.kind;
    if (kind != LAM_LAYER_FLATTEN && kind != LAM_LAYER_DROPOUT)
      return FALSE;
  }
  return TRUE;
}

/* What the likeness under the look-alikes compares, for the model at hand:
 * "the layer before the last" of a one-layer model is its input. */
static char *
nearest_note (LamExplainPanel *self)
{
  LamEvaluationResult *result = lam_explainer_get_result (self->explainer);
  gboolean rows = self->values != NULL;
  if (result != NULL && result->plan != NULL && compares_inputs (result->plan))
    return g_strdup (rows ? _ ("Judged by the rows' own values, standardised as the network "
                               "reads them: a network of one layer has no layer in between to "
                               "judge by. Nearest first; the number is how far apart, in "
                               "standard deviations (0: the same).")
                          : _ ("Judged by the pixels themselves, normalised as the network "
                               "reads them: a network of one layer has no layer in between to "
                               "judge by. The number is how alike (1: the same)."));
  return g_strdup (rows ? _ ("Judged by what the layer before the last makes of them. Nearest "
                             "first; the number is how far apart (0: the same).")
                        : _ ("Judged by what the layer before the last makes of them; the "
                             "number is how alike (1: the same)."));
}

static void
update_nearest (LamExplainPanel *self)
{
  // The index that finishes while held is the old weights' (the refresh asks again).
  if (self->held)
    return;
  look_up_nearest (self);
  name_nearest (self);
}

static void
look_up_nearest (LamExplainPanel *self)
{
  self->n_nearest = 0;
  gtk_widget_queue_draw (GTK_WIDGET (self->nearest_area));
  if (self->normalised == NULL) {
    gtk_label_set_text (self->nearest_label, "");
    return;
  }
  g_autoptr (GError) error = NULL;
  int n = lam_explainer_nearest (self->explainer, self->normalised, LAM_EXPLAIN_PANEL_N_NEAREST,
                                 self->nearest, self->nearest_similarity, self->nearest_labels,
                                 &error);
  if (n >= 0) {
    self->n_nearest = n;
    g_autofree char *note = nearest_note (self);
    gtk_label_set_text (self->nearest_label, note);
    return;
  }
  if (g_error_matches (error, LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_NOT_READY)) {
    g_autofree char *text =
      g_strdup_printf (_("Comparing with every training image… %.0f%%"),
                       100 * lam_explainer_get_index_progress (self->explainer));
    gtk_label_set_text (self->nearest_label, text);
  } else {
    gtk_label_set_text (self->nearest_label, error->message);
  }
}

static void
ask (LamExplainPanel *self)
{
  if (self->held || self->normalised == NULL || !gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;
  sync_classes (self);
  lam_explainer_explain (self->explainer, self->normalised, self->method,
                         self->klass >= 0 ? self->klass : LAM_EXPLAIN_CLASS_PREDICTED,
                         &self->serial);
  self->asked = TRUE;
  update_nearest (self);
}

static void
on_explained (LamExplainer *explainer, guint serial, const LamExplanation *explanation,
              const GError *error, LamExplainPanel *self)
{
  if (!self->asked || serial != self->serial)
    return;
  g_clear_pointer (&self->map, g_free);
  g_clear_pointer (&self->pushes, g_free);
  if (explanation == NULL) {
    set_status (self, error != NULL ? error->message : NULL);
  } else {
    self->map_height = explanation->height;
    self->map_width = explanation->width;
    self->map = g_memdup2 (explanation->maps,
                           sizeof (float) * explanation->height * explanation->width);
    if (self->values != NULL && explanation->signed_values != NULL)
      self->pushes = g_memdup2 (explanation->signed_values, sizeof (float) * explanation->width);
    int explained = explanation->classes[0];
    /* A model with more outputs than classes may be explained for an
     * output that names none: named by its index, as the Evaluate page does. */
    g_autofree char *no_class =
      self->class_names != NULL && explained >= (int) g_strv_length (self->class_names)
        ? g_strdup_printf (_("output %d (no class)"), explained)
        : NULL;
    const char *name = no_class != NULL ? no_class : class_name (self, explained);
    g_autofree char *text = NULL;
    if (self->values != NULL)
      text = lam_explainer_map_is_blank (explanation, 0)
               ? g_strdup_printf (_ ("No column moves the score of %s."), name)
             : self->method == LAM_EXPLAIN_GRADIENT_X_INPUT
               ? g_strdup_printf (_ ("Right of the line: pushes towards %s; left: away from "
                                     "%s. Longer: the columns whose change times their value "
                                     "moves the score most."),
                                  name, name)
               : g_strdup_printf (_ ("Right of the line: raising it pushes towards %s; left: "
                                     "away from %s. Longer: the columns whose change would "
                                     "move the score most."),
                                  name, name);
    else if (lam_explainer_map_is_blank (explanation, 0))
      text = self->method == LAM_EXPLAIN_GRAD_CAM
               ? g_strdup_printf (_("Grad-CAM found nothing for %s with this model: every "
                                    "channel of its last convolution counts against it here. "
                                    "Try saliency."), name)
               : g_strdup_printf (_("No pixel moves the score of %s."), name);
    else
      text = self->method == LAM_EXPLAIN_GRAD_CAM
               ? g_strdup_printf (_("The regions the last convolution found for %s."), name)
               : g_strdup_printf (_("Bright: the pixels whose change would move the score of "
                                    "%s most."), name);
    set_status (self, text);
  }
  gtk_widget_queue_draw (GTK_WIDGET (self->image_area));
}

/* Drawing */

/* A heat ramp from transparent dark red through red and orange to yellow. */
static void
heat_color (double v, double *r, double *g, double *b)
{
  *r = MIN (1.0, 0.5 + 1.5 * v);
  *g = CLAMP (1.6 * v - 0.4, 0.0, 1.0);
  *b = CLAMP (2.0 * v - 1.6, 0.0, 1.0);
}

static cairo_surface_t *
image_surface (const guint8 *pixels, int channels, int height, int width)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
  guint8 *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  gsize plane = (gsize) width * height;
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      gsize p = (gsize) y * width + x;
      guint32 r = pixels[p], g = r, b = r;
      if (channels == 3) {
        g = pixels[plane + p];
        b = pixels[2 * plane + p];
      }
      ((guint32 *) (data + (gsize) y * stride))[x] = 0xff000000u | r << 16 | g << 8 | b;
    }
  cairo_surface_mark_dirty (surface);
  return surface;
}

/* A row has no pixels to colour: one bar per column beside its name and
 * value, as long as the map's value for it, from a centre line to the
 * right (orange) when the column pushes the score towards the class and
 * to the left (blue) when away: size alone hid which way a column
 * counts. */
/* The rows a row's view lays out: its first columns, as many as the
 * area's size request makes room for. */
#define SHOWN_COLUMNS 12

/* A column's "name = value", at most label_w wide: a name too long for it
 * wraps, since an ellipsis had cut off the value ("previous = …"). */
static void
set_column_text (LamExplainPanel *self, PangoLayout *layout, int j, double label_w)
{
  g_autofree char *text = g_strdup_printf ("%s = %.4g", self->column_names[j], self->values[j]);
  pango_layout_set_text (layout, text, -1);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_NONE);
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_width (layout, label_w > 0 ? (int) ((label_w - 6) * PANGO_SCALE) : -1);
}

/* The names take what the widest needs, from 30% to 60% of the width; the
 * bars the rest. */
static double
column_label_width (LamExplainPanel *self, PangoLayout *layout, int width)
{
  int widest = 0;
  for (int j = 0; j < self->width; j++) {
    int w;
    set_column_text (self, layout, j, -1);
    pango_layout_get_pixel_size (layout, &w, NULL);
    widest = MAX (widest, w);
  }
  return CLAMP (widest + 6, 0.3 * width, 0.6 * width);
}

/* The height the first SHOWN_COLUMNS columns take at width; *cut (unless
 * NULL) says whether any of their labels had to be shortened. */
static int
columns_height (LamExplainPanel *self, GtkWidget *area, int width, gboolean *cut)
{
  g_autoptr (PangoLayout) layout = lam_ui_create_layout (area, NULL, 1.0, FALSE, TRUE);
  double label_w = column_label_width (self, layout, width);
  int total = 0;
  for (int j = 0; j < MIN (self->width, SHOWN_COLUMNS); j++) {
    int h;
    set_column_text (self, layout, j, label_w);
    if (cut != NULL && pango_layout_is_ellipsized (layout))
      *cut = TRUE;
    pango_layout_get_pixel_size (layout, NULL, &h);
    total += h + 4;
  }
  return total;
}

/* A row has no pixels to colour: one bar per column beside its name and
 * value, as long as the map's value for it, from a centre line to the
 * right (orange) when the column pushes the score towards the class and
 * to the left (blue) when away: size alone hid which way a column
 * counts. */
static void
draw_columns (LamExplainPanel *self, GtkWidget *area, cairo_t *cr, int width)
{
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GdkRGBA fg;
  gtk_style_context_get_color (gtk_widget_get_style_context (area), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
  int n = self->width;
  g_autoptr (PangoLayout) layout = lam_ui_create_layout (area, NULL, 1.0, FALSE, TRUE);
  double label_w = column_label_width (self, layout, width), y = 0;
  double centre = label_w + (width - label_w) / 2, half = (width - label_w) / 2 - 2;
  gboolean signs = self->pushes != NULL && self->map_width == n;
  for (int j = 0; j < n; j++) {
    set_column_text (self, layout, j, label_w);
    int h;
    pango_layout_get_pixel_size (layout, NULL, &h);
    double row_y = y;
    y += h + 4;
    cairo_move_to (cr, 0, row_y + 2);
    gdk_cairo_set_source_rgba (cr, &fg);
    pango_cairo_show_layout (cr, layout);
    /* The bar beside the first line of a wrapped name. */
    h /= MAX (pango_layout_get_line_count (layout), 1);
    double v = self->map != NULL && self->map_width == n ? CLAMP (self->map[j], 0.0, 1.0) : 0;
    if (!signs) {
      double r, g, b;
      heat_color (v, &r, &g, &b);
      cairo_set_source_rgb (cr, r, g, b);
      cairo_rectangle (cr, label_w, row_y + 3, MAX (1, v * (width - label_w)), h - 2);
      cairo_fill (cr);
      continue;
    }
    double length = MAX (1, v * half);
    if (self->pushes[j] < 0) {
      cairo_set_source_rgb (cr, LAM_EXPLAIN_PANEL_AWAY_RGB);
      cairo_rectangle (cr, centre - length, row_y + 3, length, h - 2);
    } else {
      cairo_set_source_rgb (cr, LAM_EXPLAIN_PANEL_TOWARDS_RGB);
      cairo_rectangle (cr, centre, row_y + 3, length, h - 2);
    }
    cairo_fill (cr);
  }
  if (signs && n > 0) {
    gdk_cairo_set_source_rgba (cr, &fg);
    cairo_rectangle (cr, floor (centre) - 0.5, 0, 1, y);
    cairo_fill (cr);
  }
}

/* Names that wrap make a row's view taller than its line a column: the
 * area asks for what the columns take at the width it was given. */
static void
request_columns_height (LamExplainPanel *self, int width)
{
  GtkWidget *area = GTK_WIDGET (self->image_area);
  int wanted = MAX (MIN (self->width, SHOWN_COLUMNS), 1) * 22;
  if (width > 0 && self->values != NULL)
    wanted = MAX (wanted, columns_height (self, area, width, NULL));
  int request;
  gtk_widget_get_size_request (area, NULL, &request);
  if (wanted != request)
    gtk_widget_set_size_request (area, 200, wanted);
}

static void
on_image_area_resize (GtkDrawingArea *area, int width, int height, LamExplainPanel *self)
{
  if (self->values != NULL)
    request_columns_height (self, width);
}

static void
draw_image (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  LamExplainPanel *self = data;
  if (self->values != NULL) {
    draw_columns (self, GTK_WIDGET (area), cr, width);
    return;
  }
  if (self->pixels == NULL)
    return;
  int w = self->width, h = self->height;
  double factor = MAX (1, floor (MIN ((double) width / w, (double) height / h)));
  cairo_translate (cr, floor ((width - w * factor) / 2), floor ((height - h * factor) / 2));
  cairo_scale (cr, factor, factor);
  cairo_surface_t *surface = image_surface (self->pixels, self->channels, h, w);
  cairo_set_source_surface (cr, surface, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_paint (cr);
  cairo_surface_destroy (surface);

  double opacity = gtk_adjustment_get_value (self->opacity);
  if (self->map == NULL || self->map_height != h || self->map_width != w || opacity <= 0)
    return;
  cairo_surface_t *heat = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  guint8 *pixels = cairo_image_surface_get_data (heat);
  int stride = cairo_image_surface_get_stride (heat);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double v = CLAMP (self->map[(gsize) y * w + x], 0.0, 1.0), r, g, b;
      heat_color (v, &r, &g, &b);
      double a = opacity * MIN (1.0, 1.5 * v);
      /* Premultiplied, as cairo keeps ARGB32. */
      guint32 A = (guint32) (a * 255 + 0.5), R = (guint32) (r * a * 255 + 0.5),
              G = (guint32) (g * a * 255 + 0.5), B = (guint32) (b * a * 255 + 0.5);
      ((guint32 *) (pixels + (gsize) y * stride))[x] = A << 24 | R << 16 | G << 8 | B;
    }
  cairo_surface_mark_dirty (heat);
  cairo_set_source_surface (cr, heat, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_BILINEAR);
  cairo_paint (cr);
  cairo_surface_destroy (heat);
}

static char *
nearest_row_line (LamExplainPanel *self, const LamDataset *train, int k)
{
  const float *row = lam_dataset_get_row (train, (int) self->nearest[k]);
  if (row == NULL)
    return NULL;
  GString *text = g_string_new (NULL);
  g_autofree char *score = nearest_score (self, k);
  g_string_append_printf (text, "%s  %s  ", class_name (self, self->nearest_labels[k]), score);
  for (int j = 0; j < train->n_features; j++)
    g_string_append_printf (text, "%s%s = %.4g", j > 0 ? ", " : "", train->feature_names[j],
                            row[j]);
  return g_string_free (text, FALSE);
}

/* Rows have no thumbnails: a line each, its class and distance first,
 * then its first values. */
static void
draw_nearest_rows (LamExplainPanel *self, GtkWidget *area, cairo_t *cr, int width,
                   const LamDataset *train, const GdkRGBA *fg)
{
  g_autoptr (PangoLayout) layout =
    lam_ui_create_layout (area, NULL, PANGO_SCALE_SMALL, FALSE, TRUE);
  pango_layout_set_width (layout, width * PANGO_SCALE);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  double y = 0;
  for (int k = 0; k < self->n_nearest; k++) {
    g_autofree char *text = nearest_row_line (self, train, k);
    if (text == NULL)
      continue;
    pango_layout_set_text (layout, text, -1);
    int h;
    pango_layout_get_pixel_size (layout, NULL, &h);
    cairo_move_to (cr, 0, y);
    gdk_cairo_set_source_rgba (cr, fg);
    pango_cairo_show_layout (cr, layout);
    y += h + 2;
  }
}

static void
draw_nearest (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  LamExplainPanel *self = data;
  const LamDataset *train = lam_session_get_train_set (self->session);
  if (self->n_nearest == 0 || train == NULL)
    return;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GdkRGBA fg;
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (area)), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
  if (lam_dataset_is_table (train)) {
    draw_nearest_rows (self, GTK_WIDGET (area), cr, width, train, &fg);
    return;
  }
  int rows = (self->n_nearest + THUMB_COLUMNS - 1) / THUMB_COLUMNS;
  double cell_w = (double) width / THUMB_COLUMNS, cell_h = (double) height / MAX (rows, 1);
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (area), NULL);
  int text_h = 0;
  pango_layout_set_text (layout, "Ag", -1);
  pango_layout_get_pixel_size (layout, NULL, &text_h);
  for (int k = 0; k < self->n_nearest; k++) {
    const guint8 *image = lam_dataset_get_image (train, self->nearest[k]);
    if (image == NULL)
      continue;
    double x0 = (k % THUMB_COLUMNS) * cell_w, y0 = (k / THUMB_COLUMNS) * cell_h;
    double side = MIN (cell_w - 8, cell_h - 2 * text_h - 6);
    double factor = MAX (1, side / MAX (train->width, train->height));
    double iw = train->width * factor, ih = train->height * factor;
    cairo_save (cr);
    cairo_translate (cr, x0 + (cell_w - iw) / 2, y0 + 2);
    cairo_scale (cr, factor, factor);
    cairo_surface_t *surface = image_surface (image, train->channels, train->height, train->width);
    cairo_set_source_surface (cr, surface, 0, 0);
    cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
    cairo_paint (cr);
    cairo_surface_destroy (surface);
    cairo_restore (cr);

    g_autofree char *text =
      g_strdup_printf ("%s\n%.3f", class_name (self, self->nearest_labels[k]),
                       self->nearest_similarity[k]);
    pango_layout_set_text (layout, text, -1);
    pango_layout_set_width (layout, (int) ((cell_w - 4) * PANGO_SCALE));
    pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
    pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
    cairo_move_to (cr, x0 + 2, y0 + 4 + ih);
    gdk_cairo_set_source_rgba (cr, &fg);
    pango_cairo_show_layout (cr, layout);
  }
  g_object_unref (layout);
}

/* Controls */

static void
on_method_changed (LamExplainPanel *self)
{
  static const LamExplainMethod methods[] = { LAM_EXPLAIN_GRADIENT, LAM_EXPLAIN_GRADIENT_X_INPUT,
                                              LAM_EXPLAIN_GRAD_CAM };
  guint selected = gtk_drop_down_get_selected (self->method_dropdown);
  self->method = methods[MIN (selected, G_N_ELEMENTS (methods) - 1)];
  ask (self);
}

static void
on_class_changed (LamExplainPanel *self)
{
  guint selected = gtk_drop_down_get_selected (self->class_dropdown);
  self->klass = selected == GTK_INVALID_LIST_POSITION || selected == 0 ? -1 : (int) selected - 1;
  ask (self);
}

/* An image given while the panel was hidden (another tab shown, the
 * slider moved meanwhile) is explained when the panel shows. */
static void
on_mapped (LamExplainPanel *self)
{
  if (!self->asked)
    ask (self);
}

/* A row has columns, not pixels: no Grad-CAM (a table's model has no
 * convolution), no heat map to fade over an image, and rows for
 * look-alikes. */
static void
set_row_mode (LamExplainPanel *self, gboolean rows)
{
  if (rows)
    request_columns_height (self, gtk_widget_get_width (GTK_WIDGET (self->image_area)));
  else
    gtk_widget_set_size_request (GTK_WIDGET (self->image_area), 112, 112);
  if (self->row_mode == rows)
    return;
  self->row_mode = rows;
  static const char *const image_methods[] = { N_ ("Saliency"), N_ ("Gradient × input"),
                                               N_ ("Grad-CAM"), NULL };
  static const char *const row_methods[] = { N_ ("Gradient"), N_ ("Gradient × input"), NULL };
  guint selected = gtk_drop_down_get_selected (self->method_dropdown);
  g_autoptr (GtkStringList) list =
    gtk_string_list_new ((const char *const *) (rows ? row_methods : image_methods));
  gtk_drop_down_set_model (self->method_dropdown, G_LIST_MODEL (list));
  gtk_drop_down_set_selected (self->method_dropdown, MIN (selected, rows ? 1u : 2u));
  gtk_widget_set_visible (self->heat_label, !rows);
  gtk_widget_set_visible (self->heat_scale, !rows);
  gtk_widget_set_hexpand (GTK_WIDGET (self->image_area), rows);
  gtk_label_set_text (self->nearest_heading, rows ? _ ("Looks like these training rows")
                                                  : _ ("Looks like these training images"));
  gtk_widget_set_size_request (GTK_WIDGET (self->nearest_area), 240,
                               rows ? LAM_EXPLAIN_PANEL_N_NEAREST * 18 : 200);
}

/* Public */

void
lam_explain_panel_set_image (LamExplainPanel *self, const float *normalised,
                             const guint8 *pixels, int channels, int height, int width)
{
  g_return_if_fail (LAM_IS_EXPLAIN_PANEL (self));
  g_clear_pointer (&self->normalised, g_free);
  g_clear_pointer (&self->pixels, g_free);
  g_clear_pointer (&self->map, g_free);
  g_clear_pointer (&self->pushes, g_free);
  g_clear_pointer (&self->values, g_free);
  g_clear_pointer (&self->column_names, g_strfreev);
  set_row_mode (self, FALSE);
  self->asked = FALSE;
  self->n_nearest = 0;
  if (normalised != NULL && pixels != NULL) {
    gsize n = (gsize) channels * height * width;
    self->n_normalised = n;
    self->normalised = g_memdup2 (normalised, sizeof (float) * n);
    self->pixels = g_memdup2 (pixels, n);
    self->channels = channels;
    self->height = height;
    self->width = width;
    set_status (self, _("Looking…"));
  } else {
    set_status (self, NULL);
    gtk_label_set_text (self->nearest_label, "");
  }
  name_nearest (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->image_area));
  gtk_widget_queue_draw (GTK_WIDGET (self->nearest_area));
  ask (self);
}

void
lam_explain_panel_set_row (LamExplainPanel *self, const float *normalised, const float *values,
                           const char *const *names, int n)
{
  g_return_if_fail (LAM_IS_EXPLAIN_PANEL (self));
  g_return_if_fail (normalised == NULL || (values != NULL && names != NULL && n > 0));
  g_clear_pointer (&self->normalised, g_free);
  g_clear_pointer (&self->pixels, g_free);
  g_clear_pointer (&self->map, g_free);
  g_clear_pointer (&self->pushes, g_free);
  g_clear_pointer (&self->values, g_free);
  g_clear_pointer (&self->column_names, g_strfreev);
  self->asked = FALSE;
  self->n_nearest = 0;
  if (normalised != NULL) {
    self->n_normalised = (gsize) n;
    self->normalised = g_memdup2 (normalised, sizeof (float) * n);
    self->values = g_memdup2 (values, sizeof (float) * n);
    self->column_names = g_strdupv ((char **) names);
    self->channels = self->height = 1;
    self->width = n;
    set_status (self, _ ("Looking…"));
  } else {
    set_status (self, NULL);
    gtk_label_set_text (self->nearest_label, "");
  }
  set_row_mode (self, TRUE);
  name_nearest (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->image_area));
  gtk_widget_queue_draw (GTK_WIDGET (self->nearest_area));
  ask (self);
}

void
lam_explain_panel_set_method (LamExplainPanel *self, LamExplainMethod method)
{
  g_return_if_fail (LAM_IS_EXPLAIN_PANEL (self));
  guint position = method == LAM_EXPLAIN_GRAD_CAM ? 2 : method == LAM_EXPLAIN_GRADIENT_X_INPUT;
  gtk_drop_down_set_selected (self->method_dropdown, position);
}

void
lam_explain_panel_set_class (LamExplainPanel *self, int klass)
{
  g_return_if_fail (LAM_IS_EXPLAIN_PANEL (self));
  sync_classes (self);
  gtk_drop_down_set_selected (self->class_dropdown, klass < 0 ? 0 : (guint) klass + 1);
}

const float *
lam_explain_panel_get_map (LamExplainPanel *self, int *height, int *width)
{
  g_return_val_if_fail (LAM_IS_EXPLAIN_PANEL (self), NULL);
  if (height != NULL)
    *height = self->map_height;
  if (width != NULL)
    *width = self->map_width;
  return self->map;
}

const float *
lam_explain_panel_get_pushes (LamExplainPanel *self, int *n)
{
  g_return_val_if_fail (LAM_IS_EXPLAIN_PANEL (self), NULL);
  if (n != NULL)
    *n = self->pushes != NULL ? self->map_width : 0;
  return self->pushes;
}

const char *
lam_explain_panel_get_status (LamExplainPanel *self)
{
  g_return_val_if_fail (LAM_IS_EXPLAIN_PANEL (self), NULL);
  return self->status;
}

int
lam_explain_panel_get_nearest (LamExplainPanel *self, const guint32 **indices,
                               const gint32 **labels)
{
  g_return_val_if_fail (LAM_IS_EXPLAIN_PANEL (self), 0);
  if (indices != NULL)
    *indices = self->nearest;
  if (labels != NULL)
    *labels = self->nearest_labels;
  return self->n_nearest;
}

void
lam_explain_panel_refresh (LamExplainPanel *self)
{
  g_return_if_fail (LAM_IS_EXPLAIN_PANEL (self));
  ask (self);
}

void
lam_explain_panel_set_held (LamExplainPanel *self, gboolean held)
{
  g_return_if_fail (LAM_IS_EXPLAIN_PANEL (self));
  self->held = !!held;
}

gboolean
lam_explain_panel_get_held (LamExplainPanel *self)
{
  g_return_val_if_fail (LAM_IS_EXPLAIN_PANEL (self), FALSE);
  return self->held;
}

/* Object */

static GtkWidget *
heading (const char *text, const char *topic)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *label = gtk_label_new (text);
  gtk_widget_add_css_class (label, "heading");
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_box_append (GTK_BOX (row), label);
  gtk_box_append (GTK_BOX (row), lam_help_button_new (topic));
  return row;
}

static void
lam_explain_panel_dispose (GObject *object)
{
  LamExplainPanel *self = LAM_EXPLAIN_PANEL (object);
  g_clear_pointer (&self->box, gtk_widget_unparent);
  g_clear_object (&self->explainer);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (lam_explain_panel_parent_class)->dispose (object);
}

static void
lam_explain_panel_finalize (GObject *object)
{
  LamExplainPanel *self = LAM_EXPLAIN_PANEL (object);
  g_free (self->normalised);
  g_free (self->pixels);
  g_free (self->values);
  g_strfreev (self->column_names);
  g_free (self->map);
  g_free (self->pushes);
  g_free (self->status);
  g_strfreev (self->class_names);
  G_OBJECT_CLASS (lam_explain_panel_parent_class)->finalize (object);
}

static void
lam_explain_panel_class_init (LamExplainPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = lam_explain_panel_dispose;
  object_class->finalize = lam_explain_panel_finalize;
  gtk_widget_class_set_layout_manager_type (GTK_WIDGET_CLASS (klass), GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "explainpanel");
}

static void
lam_explain_panel_init (LamExplainPanel *self)
{
  self->klass = -1;
  self->method = LAM_EXPLAIN_GRADIENT;
  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));
  g_signal_connect (self, "map", G_CALLBACK (on_mapped), NULL);
  GtkBox *box = GTK_BOX (self->box);

  gtk_box_append (box, heading (_("Why it said that"), "saliency"));
  GtkWidget *controls = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  const char *const methods[] = { N_("Saliency"), N_("Gradient × input"), N_("Grad-CAM"), NULL };
  self->method_dropdown = GTK_DROP_DOWN (gtk_drop_down_new_from_strings (methods));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->method_dropdown),
                               _("How to measure where the network looked"));
  /* No label is drawn beside the two choices: named for a screen reader. */
  lam_ui_set_accessible_label (GTK_WIDGET (self->method_dropdown), _ ("Explanation method"));
  gtk_box_append (GTK_BOX (controls), GTK_WIDGET (self->method_dropdown));
  const char *const first[] = { N_("The predicted class"), NULL };
  self->class_dropdown = GTK_DROP_DOWN (gtk_drop_down_new_from_strings (first));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->class_dropdown),
                               _("The class whose score is explained"));
  lam_ui_set_accessible_label (GTK_WIDGET (self->class_dropdown), _ ("Class explained"));
  gtk_widget_set_hexpand (GTK_WIDGET (self->class_dropdown), TRUE);
  gtk_box_append (GTK_BOX (controls), GTK_WIDGET (self->class_dropdown));
  gtk_box_append (box, controls);

  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 10);
  self->image_area = GTK_DRAWING_AREA (gtk_drawing_area_new ());
  gtk_widget_set_size_request (GTK_WIDGET (self->image_area), 112, 112);
  gtk_drawing_area_set_draw_func (self->image_area, draw_image, self, NULL);
  g_signal_connect (self->image_area, "resize", G_CALLBACK (on_image_area_resize), self);
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->image_area));
  GtkWidget *side = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  gtk_widget_set_hexpand (side, TRUE);
  GtkWidget *opacity_label = gtk_label_new_with_mnemonic (_("_Heat map"));
  self->heat_label = opacity_label;
  gtk_label_set_xalign (GTK_LABEL (opacity_label), 0);
  gtk_widget_add_css_class (opacity_label, "dim-label");
  gtk_box_append (GTK_BOX (side), opacity_label);
  self->opacity = gtk_adjustment_new (0.6, 0, 1, 0.05, 0.2, 0);
  GtkWidget *scale = gtk_scale_new (GTK_ORIENTATION_HORIZONTAL, self->opacity);
  self->heat_scale = scale;
  gtk_scale_set_draw_value (GTK_SCALE (scale), FALSE);
  gtk_widget_set_tooltip_text (scale, _("How strongly the heat map covers the image"));
  gtk_label_set_mnemonic_widget (GTK_LABEL (opacity_label), scale);
  gtk_box_append (GTK_BOX (side), scale);
  self->status_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->status_label, TRUE);
  gtk_label_set_xalign (self->status_label, 0);
  gtk_label_set_max_width_chars (self->status_label, 30);
  gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "dim-label");
  gtk_box_append (GTK_BOX (side), GTK_WIDGET (self->status_label));
  gtk_box_append (GTK_BOX (row), side);
  gtk_box_append (box, row);

  GtkWidget *nearest_heading = heading (_ ("Looks like these training images"), "nearest");
  self->nearest_heading = GTK_LABEL (gtk_widget_get_first_child (nearest_heading));
  gtk_box_append (box, nearest_heading);
  self->nearest_area = GTK_DRAWING_AREA (gtk_drawing_area_new ());
  gtk_widget_set_size_request (GTK_WIDGET (self->nearest_area), 240, 200);
  gtk_drawing_area_set_draw_func (self->nearest_area, draw_nearest, self, NULL);
  gtk_box_append (box, GTK_WIDGET (self->nearest_area));
  self->nearest_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->nearest_label, TRUE);
  gtk_label_set_xalign (self->nearest_label, 0);
  gtk_label_set_max_width_chars (self->nearest_label, 40);
  gtk_widget_add_css_class (GTK_WIDGET (self->nearest_label), "dim-label");
  gtk_box_append (box, GTK_WIDGET (self->nearest_label));

  gtk_accessible_update_property (GTK_ACCESSIBLE (self->image_area),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  _ ("The image with a heat map over the parts that moved the "
                                     "network's score for the class most"),
                                  -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->nearest_area),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  _ ("The training images the network finds most like this "
                                     "one, with their classes and how alike they are"),
                                  -1);
  set_status (self, NULL);
  name_nearest (self);

  g_signal_connect_swapped (self->method_dropdown, "notify::selected",
                            G_CALLBACK (on_method_changed), self);
  g_signal_connect_swapped (self->class_dropdown, "notify::selected",
                            G_CALLBACK (on_class_changed), self);
  g_signal_connect_swapped (self->opacity, "value-changed", G_CALLBACK (gtk_widget_queue_draw),
                            self->image_area);
  g_signal_connect (self, "map", G_CALLBACK (lam_explain_panel_refresh), NULL);
}

GtkWidget *
lam_explain_panel_new (LamExplainer *explainer, LamSession *session)
{
  g_return_val_if_fail (LAM_IS_EXPLAINER (explainer), NULL);
  LamExplainPanel *self = g_object_new (LAM_TYPE_EXPLAIN_PANEL, NULL);
  self->explainer = g_object_ref (explainer);
  self->session = g_object_ref (session);
  g_signal_connect_object (explainer, "explained", G_CALLBACK (on_explained), self, 0);
  g_signal_connect_object (explainer, "index-ready", G_CALLBACK (update_nearest), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (explainer, "notify::index-progress", G_CALLBACK (update_nearest), self,
                           G_CONNECT_SWAPPED);
  return GTK_WIDGET (self);
}

char *
lam_explain_panel_dup_nearest_line (LamExplainPanel *self, int k)
{
  g_return_val_if_fail (LAM_IS_EXPLAIN_PANEL (self), NULL);
  const LamDataset *train = lam_session_get_train_set (self->session);
  if (k < 0 || k >= self->n_nearest || train == NULL || !lam_dataset_is_table (train))
    return NULL;
  return nearest_row_line (self, train, k);
}

gboolean
lam_explain_panel_get_columns_whole (LamExplainPanel *self)
{
  g_return_val_if_fail (LAM_IS_EXPLAIN_PANEL (self), FALSE);
  GtkWidget *area = GTK_WIDGET (self->image_area);
  int width = gtk_widget_get_width (area);
  if (self->values == NULL || width <= 0)
    return TRUE;
  gboolean cut = FALSE;
  int total = columns_height (self, area, width, &cut);
  return !cut && total <= gtk_widget_get_height (area);
}
