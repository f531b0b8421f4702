#include "lam-probability-bars.h"

#include "lam-ui-util.h"

#include <math.h>
#include <string.h>

/* Layout, in logical pixels. */
#define ROW_PAD 3      /* above and below each bar's text */
#define MARK_WIDTH 16  /* the column of the true-class mark */
#define GAP 8
#define BAR_MIN 60
#define BAR_NATURAL 140
#define BAR_HEIGHT_FRACTION 0.6
#define HIGHLIGHTED 3  /* how many of the most likely classes stand out */
#define NOTABLE 0.01   /* ...when they reach this probability */
#define NO_CLASS_NAME "No class"

struct _LamProbabilityBars
{
  GtkWidget parent_instance;

  int n_classes;
  char **names; /* owned, n_classes + 1: the last names the no-class row */
  /* A model of more outputs than classes can give its most probable one
   * to an output with no class: a row after the classes shows the most
   * probable of those, so that the top row is the model's prediction. */
  int n_rows;          /* n_classes, or n_classes + 1 with that row */
  int no_class_output; /* the output that row shows, -1 without it */
  float *probs;        /* owned, n_rows; NULL when none are shown */
  int *ranked;         /* owned, n_rows: row indices, most likely first */
  int true_class;

  PangoLayout **name_layouts; /* owned, plain and bold per row: 2 × (n_classes + 1) */
  int name_width;
  int percent_width;
  int text_height;

  GdkRGBA fg;
  GdkRGBA accent;
  GdkRGBA correct;
  GdkRGBA wrong;
  char *style_key; /* owned: see lam_ui_update_style_key */
};

G_DEFINE_FINAL_TYPE (LamProbabilityBars, lam_probability_bars, GTK_TYPE_WIDGET)

static void
clear_layouts (LamProbabilityBars *self)
{
  for (int i = 0; self->name_layouts != NULL && i < 2 * (self->n_classes + 1); i++)
    g_clear_object (&self->name_layouts[i]);
  g_clear_pointer (&self->name_layouts, g_free);
}

static PangoLayout *
create_layout (LamProbabilityBars *self, const char *text, gboolean bold)
{
  return lam_ui_create_layout (GTK_WIDGET (self), text, 1.0, bold, TRUE);
}

static void
ensure_layouts (LamProbabilityBars *self)
{
  if (self->name_layouts != NULL)
    return;
  self->name_layouts = g_new0 (PangoLayout *, 2 * (self->n_classes + 1));
  self->name_width = 0;
  int w, h;
  g_autoptr (PangoLayout) probe = create_layout (self, "100.0%", TRUE);
  pango_layout_get_pixel_size (probe, &self->percent_width, &self->text_height);
  pango_layout_set_text (probe, ">99.9%", -1);
  pango_layout_get_pixel_size (probe, &w, NULL);
  self->percent_width = MAX (self->percent_width, w);
  for (int c = 0; c <= self->n_classes; c++)
    for (int bold = 0; bold < 2; bold++) {
      PangoLayout *layout = create_layout (self, self->names[c], bold);
      self->name_layouts[2 * c + bold] = layout;
      pango_layout_get_pixel_size (layout, &w, &h);
      self->name_width = MAX (self->name_width, w);
      self->text_height = MAX (self->text_height, h);
    }
}

static int
row_height (LamProbabilityBars *self)
{
  return self->text_height + 2 * ROW_PAD;
}

static void
lam_probability_bars_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                              int *minimum, int *natural, int *minimum_baseline,
                              int *natural_baseline)
{
  LamProbabilityBars *self = LAM_PROBABILITY_BARS (widget);
  ensure_layouts (self);
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    int fixed = MARK_WIDTH + self->name_width + 2 * GAP + self->percent_width;
    *minimum = fixed + BAR_MIN;
    *natural = fixed + BAR_NATURAL;
  } else {
    *minimum = *natural = self->n_rows * row_height (self);
  }
}

static int
rank_of (LamProbabilityBars *self, int c)
{
  for (int r = 0; r < self->n_rows; r++)
    if (self->ranked[r] == c)
      return r;
  return self->n_rows;
}

static void
format_percent (char *buf, gsize size, double p)
{
  p = CLAMP (p, 0, 1);
  if (p > 0 && p < 0.0005)
    g_strlcpy (buf, "<0.1%", size);
  else if (p < 1 && p >= 0.9995)
    g_strlcpy (buf, ">99.9%", size);
  else
    g_snprintf (buf, size, "%.1f%%", 100 * p);
}

/* The bar's colour: the most likely class green when it is the true one
 * and red when it is not, the next likely ones in the accent colour, the
 * true class green wherever it ranks, the rest grey. */
static const GdkRGBA *
bar_color (LamProbabilityBars *self, int c, int rank, double *alpha)
{
  *alpha = 1;
  if (rank == 0 && self->true_class >= 0)
    return c == self->true_class ? &self->correct : &self->wrong;
  if (c == self->true_class)
    return &self->correct;
  if (rank < HIGHLIGHTED) {
    *alpha = rank == 0 ? 1 : 0.6;
    return &self->accent;
  }
  *alpha = 0.35;
  return &self->fg;
}

static void
lam_probability_bars_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  LamProbabilityBars *self = LAM_PROBABILITY_BARS (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  if (self->n_classes == 0 || width <= 0 || height <= 0)
    return;
  ensure_layouts (self);

  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  int row_h = row_height (self);
  double bar_x = MARK_WIDTH + self->name_width + GAP;
  double bar_w = MAX (width - bar_x - GAP - self->percent_width, 10);
  double bar_h = floor (self->text_height * BAR_HEIGHT_FRACTION);
  g_autoptr (PangoLayout) number = create_layout (self, "", FALSE);
  g_autoptr (PangoLayout) check = create_layout (self, "✓", TRUE);

  for (int c = 0; c < self->n_rows; c++) {
    double y = c * row_h;
    int rank = self->probs != NULL ? rank_of (self, c) : self->n_rows;
    gboolean top = self->probs != NULL && rank < HIGHLIGHTED && self->probs[c] >= NOTABLE;
    gboolean strong = top || c == self->true_class;

    if (c == self->true_class) {
      int w, h;
      pango_layout_get_pixel_size (check, &w, &h);
      lam_ui_set_source (cr, &self->correct, 1);
      cairo_move_to (cr, (MARK_WIDTH - w) / 2.0, y + ROW_PAD);
      pango_cairo_show_layout (cr, check);
    }

    lam_ui_set_source (cr, &self->fg, strong ? 1 : 0.7);
    cairo_move_to (cr, MARK_WIDTH, y + ROW_PAD);
    pango_cairo_show_layout (cr, self->name_layouts[2 * c + top]);

    double bar_y = y + (row_h - bar_h) / 2;
    lam_ui_set_source (cr, &self->fg, 0.08);
    lam_ui_rounded_rect (cr, bar_x, bar_y, bar_w, bar_h, bar_h / 2);
    cairo_fill (cr);
    if (self->probs == NULL)
      continue;

    double p = CLAMP (self->probs[c], 0, 1);
    double alpha;
    const GdkRGBA *color = bar_color (self, c, top ? rank : self->n_rows, &alpha);
    if (p * bar_w >= 1) {
      lam_ui_set_source (cr, color, alpha);
      lam_ui_rounded_rect (cr, bar_x, bar_y, p * bar_w, bar_h, MIN (bar_h, p * bar_w) / 2);
      cairo_fill (cr);
    }

    char text[16];
    format_percent (text, sizeof text, p);
    pango_layout_set_text (number, text, -1);
    g_autoptr (PangoAttrList) attrs = pango_attr_list_new ();
    pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum"));
    if (top)
      pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
    pango_layout_set_attributes (number, attrs);
    int w, h;
    pango_layout_get_pixel_size (number, &w, &h);
    lam_ui_set_source (cr, &self->fg, strong ? 1 : 0.7);
    cairo_move_to (cr, width - w, y + ROW_PAD);
    pango_cairo_show_layout (cr, number);
  }
  cairo_destroy (cr);
}

static void
update_colors (LamProbabilityBars *self)
{
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (self));
  gtk_style_context_get_color (context, &self->fg);
  if (!gtk_style_context_lookup_color (context, "theme_selected_bg_color", &self->accent))
    gdk_rgba_parse (&self->accent, "#3584e4");
  gboolean dark = 0.2126 * self->fg.red + 0.7152 * self->fg.green + 0.0722 * self->fg.blue > 0.5;
  gdk_rgba_parse (&self->correct, dark ? "#57e389" : "#26a269");
  gdk_rgba_parse (&self->wrong, dark ? "#ff7b63" : "#e01b24");
  if (dark) {
    self->accent.red += (1 - self->accent.red) * 0.35f;
    self->accent.green += (1 - self->accent.green) * 0.35f;
    self->accent.blue += (1 - self->accent.blue) * 0.35f;
  }
}

static void
lam_probability_bars_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  LamProbabilityBars *self = LAM_PROBABILITY_BARS (widget);
  GTK_WIDGET_CLASS (lam_probability_bars_parent_class)->css_changed (widget, change);
  if (!lam_ui_update_style_key (widget, &self->style_key))
    return;
  update_colors (self);
  clear_layouts (self);
  gtk_widget_queue_resize (widget);
}

/* Named from the start, so that a screen reader meeting the bars before
 * any image is classified hears what they are for, not nothing. */
static void
update_accessible_label (LamProbabilityBars *self)
{
  g_autoptr (GString) text = g_string_new ("Class probabilities");
  if (self->probs == NULL)
    g_string_append (text, ": none yet");
  else
    for (int r = 0; r < MIN (HIGHLIGHTED, self->n_rows); r++) {
      char percent[16];
      format_percent (percent, sizeof percent, self->probs[self->ranked[r]]);
      g_string_append_printf (text, "%s %s %s", r == 0 ? ":" : ",", self->names[self->ranked[r]],
                              percent);
    }
  if (self->true_class >= 0)
    g_string_append_printf (text, "; true class %s", self->names[self->true_class]);
  lam_ui_set_accessible_label (GTK_WIDGET (self), text->str);
}

static void
lam_probability_bars_finalize (GObject *object)
{
  LamProbabilityBars *self = LAM_PROBABILITY_BARS (object);
  clear_layouts (self);
  g_free (self->style_key);
  g_strfreev (self->names);
  g_free (self->probs);
  g_free (self->ranked);
  G_OBJECT_CLASS (lam_probability_bars_parent_class)->finalize (object);
}

static void
lam_probability_bars_class_init (LamProbabilityBarsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->finalize = lam_probability_bars_finalize;
  widget_class->measure = lam_probability_bars_measure;
  widget_class->snapshot = lam_probability_bars_snapshot;
  widget_class->css_changed = lam_probability_bars_css_changed;
  gtk_widget_class_set_css_name (widget_class, "probabilitybars");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lam_probability_bars_init (LamProbabilityBars *self)
{
  self->true_class = -1;
  self->names = g_new0 (char *, 1);
  update_colors (self);
  update_accessible_label (self);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  "How likely the model finds each class for the image, the "
                                  "most likely first",
                                  -1);
}

GtkWidget *
lam_probability_bars_new (void)
{
  return g_object_new (LAM_TYPE_PROBABILITY_BARS, NULL);
}

void
lam_probability_bars_set_classes (LamProbabilityBars *self, const char *const *names, int n)
{
  g_return_if_fail (LAM_IS_PROBABILITY_BARS (self));
  g_return_if_fail (n >= 0 && (n == 0 || names != NULL));
  clear_layouts (self);
  g_strfreev (self->names);
  g_clear_pointer (&self->probs, g_free);
  g_clear_pointer (&self->ranked, g_free);
  self->n_classes = self->n_rows = n;
  self->no_class_output = -1;
  self->names = g_new0 (char *, n + 2);
  for (int c = 0; c < n; c++)
    self->names[c] = g_strdup (names[c]);
  self->names[n] = g_strdup (NO_CLASS_NAME);
  self->true_class = -1;
  update_accessible_label (self);
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

int
lam_probability_bars_get_n_classes (LamProbabilityBars *self)
{
  g_return_val_if_fail (LAM_IS_PROBABILITY_BARS (self), 0);
  return self->n_classes;
}

static int
compare_ranked (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const float *probs = user_data;
  int ca = *(const int *) a, cb = *(const int *) b;
  if (probs[ca] != probs[cb])
    return probs[ca] > probs[cb] ? -1 : 1;
  return ca - cb;
}

void
lam_probability_bars_set_outputs (LamProbabilityBars *self, const float *probs, int n_outputs,
                                  int true_class)
{
  g_return_if_fail (LAM_IS_PROBABILITY_BARS (self));
  g_return_if_fail (probs == NULL || n_outputs >= self->n_classes);
  g_clear_pointer (&self->probs, g_free);
  g_clear_pointer (&self->ranked, g_free);
  int n_rows = self->n_rows;
  self->n_rows = self->n_classes;
  self->no_class_output = -1;
  self->true_class = true_class >= 0 && true_class < self->n_classes ? true_class : -1;
  if (probs != NULL && self->n_classes > 0) {
    /* The first of equal outputs wins, as the prediction's argmax. */
    for (int o = self->n_classes; o < n_outputs; o++)
      if (self->no_class_output < 0 || probs[o] > probs[self->no_class_output])
        self->no_class_output = o;
    if (self->no_class_output >= 0)
      self->n_rows = self->n_classes + 1;
    self->probs = g_new (float, self->n_rows);
    memcpy (self->probs, probs, sizeof (float) * self->n_classes);
    if (self->no_class_output >= 0)
      self->probs[self->n_classes] = probs[self->no_class_output];
    self->ranked = g_new (int, self->n_rows);
    for (int c = 0; c < self->n_rows; c++)
      self->ranked[c] = c;
    g_qsort_with_data (self->ranked, self->n_rows, sizeof (int), compare_ranked, self->probs);
  }
  update_accessible_label (self);
  if (self->n_rows != n_rows)
    gtk_widget_queue_resize (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lam_probability_bars_set_probabilities (LamProbabilityBars *self, const float *probs,
                                        int true_class)
{
  lam_probability_bars_set_outputs (self, probs, self->n_classes, true_class);
}

int
lam_probability_bars_get_no_class_output (LamProbabilityBars *self)
{
  g_return_val_if_fail (LAM_IS_PROBABILITY_BARS (self), -1);
  return self->no_class_output;
}

double
lam_probability_bars_get_probability (LamProbabilityBars *self, int c)
{
  g_return_val_if_fail (LAM_IS_PROBABILITY_BARS (self), NAN);
  if (self->probs == NULL || c < 0 || c >= self->n_rows)
    return NAN;
  return self->probs[c];
}

int
lam_probability_bars_get_ranked (LamProbabilityBars *self, int rank)
{
  g_return_val_if_fail (LAM_IS_PROBABILITY_BARS (self), -1);
  if (self->probs == NULL || rank < 0 || rank >= self->n_rows)
    return -1;
  return self->ranked[rank];
}

char *
lam_probability_bars_format_percent (double p)
{
  char text[16];
  format_percent (text, sizeof text, p);
  return g_strdup (text);
}

char *
lam_probability_bars_dup_percent_text (LamProbabilityBars *self, int c)
{
  g_return_val_if_fail (LAM_IS_PROBABILITY_BARS (self), NULL);
  if (self->probs == NULL || c < 0 || c >= self->n_rows)
    return NULL;
  return lam_probability_bars_format_percent (self->probs[c]);
}

char *
lam_probability_bars_dup_guess (LamProbabilityBars *self)
{
  g_return_val_if_fail (LAM_IS_PROBABILITY_BARS (self), NULL);
  if (self->probs == NULL || self->n_classes == 0)
    return NULL;
  int best = self->ranked[0];
  g_autofree char *percent = lam_probability_bars_format_percent (self->probs[best]);
  if (best == self->n_classes)
    return g_strdup_printf ("Output %d, which is no class, %s sure", self->no_class_output,
                            percent);
  return g_strdup_printf ("%s, %s sure", self->names[best], percent);
}
