#include "lam-confusion-view.h"

#include <math.h>

#include "lam-ui-util.h"

/* Layout, in logical pixels. */
#define MARGIN 6
#define LABEL_GAP 6     /* between the grid and its class names */
#define TITLE_GAP 4     /* between the class names and the axis titles */
#define CELL_GAP 2      /* between neighbouring cells */
#define MIN_CELL 12
#define MAX_CELL 64
#define NATURAL_CELL 32

struct _LamConfusionView
{
  GtkWidget parent_instance;

  int n_classes;
  guint64 *counts; /* owned: n_classes × n_classes, rows true class */
  guint64 *row_totals; /* owned: n_classes */
  guint64 max_error;   /* the largest count off the diagonal */
  char **class_names;  /* owned */

  int selected_true, selected_predicted; /* -1 for none */
  int hover_true, hover_predicted;       /* -1 when the pointer is on no cell */
  int cursor_true, cursor_predicted;     /* keyboard position */

  /* Layout of the last allocation. */
  double cell;
  double x0, y0;
  double name_width, name_height, title_height;

  PangoLayout **name_layouts; /* owned, n_classes */
  PangoLayout *true_title;    /* owned */
  PangoLayout *predicted_title;

  gboolean dark;
  GdkRGBA fg;
  GdkRGBA accent;
  GdkRGBA empty;
  GdkRGBA correct_full;
  GdkRGBA error_full;
  char *style_key; /* owned: see lam_ui_update_style_key */
};

G_DEFINE_FINAL_TYPE (LamConfusionView, lam_confusion_view, GTK_TYPE_WIDGET)

enum
{
  CELL_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static guint64
count_at (LamConfusionView *self, int t, int p)
{
  return self->counts[(gsize) t * self->n_classes + p];
}

static void
clear_layouts (LamConfusionView *self)
{
  for (int c = 0; self->name_layouts != NULL && c < self->n_classes; c++)
    g_clear_object (&self->name_layouts[c]);
  g_clear_pointer (&self->name_layouts, g_free);
  g_clear_object (&self->true_title);
  g_clear_object (&self->predicted_title);
}

static PangoLayout *
create_small_layout (LamConfusionView *self, const char *text, gboolean bold)
{
  return lam_ui_create_layout (GTK_WIDGET (self), text, PANGO_SCALE_SMALL, bold, FALSE);
}

static void
ensure_layouts (LamConfusionView *self)
{
  if (self->true_title != NULL)
    return;
  self->true_title = create_small_layout (self, "True class", TRUE);
  self->predicted_title = create_small_layout (self, "Predicted class", TRUE);
  int tw, th;
  pango_layout_get_pixel_size (self->true_title, &tw, &th);
  self->title_height = th;

  self->name_layouts = g_new0 (PangoLayout *, MAX (self->n_classes, 1));
  self->name_width = 0;
  self->name_height = th;
  for (int c = 0; c < self->n_classes; c++) {
    self->name_layouts[c] = create_small_layout (self, self->class_names[c], FALSE);
    int w, h;
    pango_layout_get_pixel_size (self->name_layouts[c], &w, &h);
    self->name_width = MAX (self->name_width, w);
    self->name_height = MAX (self->name_height, h);
  }
}

/* Space the names below the grid take, written at 45°. */
static double
column_names_height (LamConfusionView *self)
{
  return (self->name_width + self->name_height) * G_SQRT2 / 2;
}

static double
left_space (LamConfusionView *self)
{
  return MARGIN + self->title_height + TITLE_GAP + self->name_width + LABEL_GAP;
}

static double
bottom_space (LamConfusionView *self)
{
  return LABEL_GAP + column_names_height (self) + TITLE_GAP + self->title_height + MARGIN;
}

/* A cell that holds a four-digit count in the widget's font. */
static double
natural_cell (LamConfusionView *self)
{
  return MAX (NATURAL_CELL, ceil (2.5 * lam_ui_font_pixels (GTK_WIDGET (self))));
}

static void
compute_layout (LamConfusionView *self, int width, int height)
{
  self->cell = 0;
  if (self->n_classes == 0 || width <= 0 || height <= 0)
    return;
  ensure_layouts (self);
  int n = self->n_classes;
  double left = left_space (self);
  double cell_w = (width - left - MARGIN) / n;
  double cell_h = (height - MARGIN - bottom_space (self)) / n;
  self->cell = floor (CLAMP (MIN (cell_w, cell_h), MIN_CELL, MAX (MAX_CELL, natural_cell (self))));
  /* The block of names and grid is centred across the width. */
  double block = left + n * self->cell + MARGIN;
  self->x0 = floor (left + MAX (0, (width - block) / 2));
  self->y0 = MARGIN;
}

static void
lam_confusion_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                            int *minimum, int *natural, int *minimum_baseline,
                            int *natural_baseline)
{
  LamConfusionView *self = LAM_CONFUSION_VIEW (widget);
  if (self->n_classes == 0) {
    *minimum = *natural = 0;
    return;
  }
  ensure_layouts (self);
  int n = self->n_classes;
  double fixed = orientation == GTK_ORIENTATION_HORIZONTAL ? left_space (self) + MARGIN
                                                           : MARGIN + bottom_space (self);
  *minimum = (int) ceil (fixed + n * MIN_CELL);
  *natural = (int) ceil (fixed + n * natural_cell (self));
}

static void
lam_confusion_view_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  compute_layout (LAM_CONFUSION_VIEW (widget), width, height);
}

static double
luminance (const GdkRGBA *c)
{
  return 0.2126 * c->red + 0.7152 * c->green + 0.0722 * c->blue;
}

static GdkRGBA
mix (const GdkRGBA *a, const GdkRGBA *b, double t)
{
  return (GdkRGBA){ a->red + (b->red - a->red) * t, a->green + (b->green - a->green) * t,
                    a->blue + (b->blue - a->blue) * t, 1 };
}

static void
update_colors (LamConfusionView *self)
{
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (self));
  gtk_style_context_get_color (context, &self->fg);
  if (!gtk_style_context_lookup_color (context, "theme_selected_bg_color", &self->accent))
    gdk_rgba_parse (&self->accent, "#3584e4");
  self->dark = luminance (&self->fg) > 0.5;
  GdkRGBA base;
  if (!gtk_style_context_lookup_color (context, "theme_base_color", &base))
    gdk_rgba_parse (&base, self->dark ? "#1e1e1e" : "#ffffff");
  base.alpha = 1;
  GdkRGBA fg = self->fg;
  fg.alpha = 1;
  self->empty = mix (&base, &fg, self->dark ? 0.09 : 0.05);
  /* Green for what it gets right, red for its mistakes: saturated and dark
   * on a light page, lighter on a dark one so white and black text both
   * keep their contrast where they are used. */
  gdk_rgba_parse (&self->correct_full, self->dark ? "#2ec27e" : "#1b7d57");
  /* The theme's accent is a dark blue under the dark style: lightened, it
   * stays legible as text and outlines on dark cells. */
  if (self->dark) {
    GdkRGBA white = { 1, 1, 1, 1 };
    self->accent = mix (&self->accent, &white, 0.45);
  }
  gdk_rgba_parse (&self->error_full, self->dark ? "#f66151" : "#c01c28");
}

static GdkRGBA
cell_color (LamConfusionView *self, int t, int p)
{
  guint64 count = count_at (self, t, p);
  if (count == 0)
    return self->empty;
  double intensity;
  if (t == p) {
    double fraction = self->row_totals[t] > 0 ? (double) count / self->row_totals[t] : 0;
    intensity = 0.15 + 0.85 * fraction;
    return mix (&self->empty, &self->correct_full, intensity);
  }
  /* A square root keeps a handful of mistakes visible next to hundreds. */
  intensity = 0.1 + 0.9 * sqrt ((double) count / MAX (self->max_error, 1));
  return mix (&self->empty, &self->error_full, intensity);
}

static void
draw_counts (LamConfusionView *self, cairo_t *cr)
{
  int n = self->n_classes;
  double cell = self->cell;
  g_autoptr (PangoLayout) layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);
  PangoFontDescription *desc =
    pango_font_description_copy (pango_context_get_font_description (
      pango_layout_get_context (layout)));
  /* The widget's own size, smaller only where four digits would not fit
   * the cell. */
  double size = MAX (7, MIN (0.85 * lam_ui_font_pixels (GTK_WIDGET (self)), (cell - 4) / 2.4));
  pango_font_description_set_absolute_size (desc, size * PANGO_SCALE);
  pango_layout_set_font_description (layout, desc);
  pango_font_description_free (desc);

  gboolean selection = self->selected_true >= 0;
  for (int t = 0; t < n; t++)
    for (int p = 0; p < n; p++) {
      double x = self->x0 + p * cell, y = self->y0 + t * cell;
      GdkRGBA color = cell_color (self, t, p);
      gboolean dimmed = selection && (t != self->selected_true || p != self->selected_predicted);
      if (dimmed)
        color = mix (&color, &self->empty, 0.45);
      lam_ui_set_source (cr, &color, 1);
      lam_ui_rounded_rect (cr, x + CELL_GAP / 2.0, y + CELL_GAP / 2.0, cell - CELL_GAP, cell - CELL_GAP,
                    3);
      cairo_fill (cr);

      guint64 count = count_at (self, t, p);
      char text[32];
      g_snprintf (text, sizeof text, "%" G_GUINT64_FORMAT, count);
      pango_layout_set_text (layout, text, -1);
      int w, h;
      pango_layout_get_pixel_size (layout, &w, &h);
      if (w > cell - 4 || h > cell - 2)
        continue;
      GdkRGBA ink;
      gdk_rgba_parse (&ink, luminance (&color) < 0.55 ? "#ffffff" : "#1e1e1e");
      double alpha = count == 0 ? 0.3 : dimmed ? 0.6 : 1;
      lam_ui_set_source (cr, &ink, alpha);
      cairo_move_to (cr, x + (cell - w) / 2, y + (cell - h) / 2);
      pango_cairo_show_layout (cr, layout);
    }
}

static void
draw_outline (LamConfusionView *self, cairo_t *cr, int t, int p, const GdkRGBA *color,
              double width, gboolean dashed)
{
  double cell = self->cell;
  double inset = CELL_GAP / 2.0 - width / 2 + 0.5;
  lam_ui_rounded_rect (cr, self->x0 + p * cell + inset, self->y0 + t * cell + inset, cell - 2 * inset,
                cell - 2 * inset, 4);
  lam_ui_set_source (cr, color, 1);
  cairo_set_line_width (cr, width);
  if (dashed) {
    double dash[] = { 3, 2 };
    cairo_set_dash (cr, dash, 2, 0);
  }
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
}

static void
draw_names (LamConfusionView *self, cairo_t *cr)
{
  int n = self->n_classes;
  double cell = self->cell;
  double grid_bottom = self->y0 + n * cell;

  for (int c = 0; c < n; c++) {
    PangoLayout *layout = self->name_layouts[c];
    int w, h;
    pango_layout_get_pixel_size (layout, &w, &h);
    gboolean row_lit = c == self->hover_true || c == self->selected_true;
    gboolean column_lit = c == self->hover_predicted || c == self->selected_predicted;

    lam_ui_set_source (cr, row_lit ? &self->accent : &self->fg, row_lit ? 1 : 0.8);
    cairo_move_to (cr, self->x0 - LABEL_GAP - w, self->y0 + c * cell + (cell - h) / 2);
    pango_cairo_show_layout (cr, layout);

    /* Column names end under their column and run down to the left. */
    cairo_save (cr);
    cairo_translate (cr, self->x0 + (c + 0.5) * cell, grid_bottom + LABEL_GAP);
    cairo_rotate (cr, -G_PI / 4);
    lam_ui_set_source (cr, column_lit ? &self->accent : &self->fg, column_lit ? 1 : 0.8);
    cairo_move_to (cr, -w, -h / 2.0);
    pango_cairo_show_layout (cr, layout);
    cairo_restore (cr);
  }

  int tw, th;
  lam_ui_set_source (cr, &self->fg, 0.6);
  pango_layout_get_pixel_size (self->true_title, &tw, &th);
  cairo_save (cr);
  cairo_translate (cr, self->x0 - left_space (self) + MARGIN, self->y0 + n * cell / 2);
  cairo_rotate (cr, -G_PI / 2);
  cairo_move_to (cr, -tw / 2.0, 0);
  pango_cairo_show_layout (cr, self->true_title);
  cairo_restore (cr);

  pango_layout_get_pixel_size (self->predicted_title, &tw, &th);
  cairo_move_to (cr, self->x0 + (n * cell - tw) / 2,
                 grid_bottom + LABEL_GAP + column_names_height (self) + TITLE_GAP);
  pango_cairo_show_layout (cr, self->predicted_title);
}

static void
lam_confusion_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  LamConfusionView *self = LAM_CONFUSION_VIEW (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  if (self->n_classes == 0 || width <= 0 || height <= 0)
    return;
  compute_layout (self, width, height);
  if (self->cell <= 0)
    return;

  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  draw_counts (self, cr);
  draw_names (self, cr);
  if (self->hover_true >= 0)
    draw_outline (self, cr, self->hover_true, self->hover_predicted, &self->fg, 2, FALSE);
  if (self->selected_true >= 0)
    draw_outline (self, cr, self->selected_true, self->selected_predicted, &self->accent, 3,
                  FALSE);
  /* The cursor in the text colour: on the selected cell an accent
   * outline would vanish into the selection's. */
  if (gtk_widget_has_visible_focus (widget))
    draw_outline (self, cr, self->cursor_true, self->cursor_predicted, &self->fg, 1.5, TRUE);
  cairo_destroy (cr);
}

/* The cursor's outline shows only with the visible focus; nothing else
 * redraws the view when the focus comes or goes. */
static void
lam_confusion_view_state_flags_changed (GtkWidget *widget, GtkStateFlags previous)
{
  GTK_WIDGET_CLASS (lam_confusion_view_parent_class)->state_flags_changed (widget, previous);
  if ((previous ^ gtk_widget_get_state_flags (widget)) &
      (GTK_STATE_FLAG_FOCUSED | GTK_STATE_FLAG_FOCUS_VISIBLE))
    gtk_widget_queue_draw (widget);
}

static void
lam_confusion_view_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  LamConfusionView *self = LAM_CONFUSION_VIEW (widget);
  GTK_WIDGET_CLASS (lam_confusion_view_parent_class)->css_changed (widget, change);
  if (!lam_ui_update_style_key (widget, &self->style_key))
    return;
  update_colors (self);
  clear_layouts (self);
  gtk_widget_queue_resize (widget);
}

static gboolean
cell_at (LamConfusionView *self, double x, double y, int *t, int *p)
{
  if (self->n_classes == 0 || self->cell <= 0)
    return FALSE;
  double gx = (x - self->x0) / self->cell, gy = (y - self->y0) / self->cell;
  if (gx < 0 || gy < 0 || gx >= self->n_classes || gy >= self->n_classes)
    return FALSE;
  *t = (int) gy;
  *p = (int) gx;
  return TRUE;
}

static char *
describe_cell (LamConfusionView *self, int t, int p)
{
  guint64 count = count_at (self, t, p);
  guint64 total = self->row_totals[t];
  double percent = total > 0 ? 100.0 * count / total : 0;
  g_autofree char *count_text = lam_ui_format_count (count);
  g_autofree char *total_text = lam_ui_format_count (total);
  if (t == p)
    return g_strdup_printf ("%s: %s of %s recognised (%.1f%%)", self->class_names[t], count_text,
                            total_text, percent);
  return g_strdup_printf ("%s taken for %s: %s of %s (%.1f%%)", self->class_names[t],
                          self->class_names[p], count_text, total_text, percent);
}

/* A screen reader hears the cell under the keyboard cursor, whole, in the
 * view's description: the drawing shows it only as an outline. */
static void
update_description (LamConfusionView *self)
{
  if (self->n_classes == 0) {
    gtk_accessible_reset_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
    return;
  }
  g_autofree char *text = describe_cell (self, self->cursor_true, self->cursor_predicted);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text,
                                  -1);
}

static void
set_hover (LamConfusionView *self, int t, int p)
{
  if (t == self->hover_true && p == self->hover_predicted)
    return;
  self->hover_true = t;
  self->hover_predicted = p;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
motion (GtkEventControllerMotion *controller, double x, double y, LamConfusionView *self)
{
  int t = -1, p = -1;
  if (!cell_at (self, x, y, &t, &p))
    t = p = -1;
  set_hover (self, t, p);
}

static void
leave (GtkEventControllerMotion *controller, LamConfusionView *self)
{
  set_hover (self, -1, -1);
}

static void
pressed (GtkGestureClick *gesture, int n_press, double x, double y, LamConfusionView *self)
{
  int t, p;
  if (gtk_widget_get_focus_on_click (GTK_WIDGET (self)))
    gtk_widget_grab_focus (GTK_WIDGET (self));
  if (n_press != 1 || !cell_at (self, x, y, &t, &p))
    return;
  self->cursor_true = t;
  self->cursor_predicted = p;
  update_description (self);
  lam_confusion_view_activate_cell (self, t, p);
}

static gboolean
key_pressed (GtkEventControllerKey *controller, guint keyval, guint keycode,
             GdkModifierType state, LamConfusionView *self)
{
  int n = self->n_classes;
  if (n == 0)
    return FALSE;
  int t = self->cursor_true, p = self->cursor_predicted;
  switch (keyval) {
  case GDK_KEY_Left:
  case GDK_KEY_KP_Left:
    p = MAX (p - 1, 0);
    break;
  case GDK_KEY_Right:
  case GDK_KEY_KP_Right:
    p = MIN (p + 1, n - 1);
    break;
  case GDK_KEY_Up:
  case GDK_KEY_KP_Up:
    t = MAX (t - 1, 0);
    break;
  case GDK_KEY_Down:
  case GDK_KEY_KP_Down:
    t = MIN (t + 1, n - 1);
    break;
  case GDK_KEY_Return:
  case GDK_KEY_KP_Enter:
  case GDK_KEY_ISO_Enter:
  case GDK_KEY_space:
    lam_confusion_view_activate_cell (self, t, p);
    return TRUE;
  case GDK_KEY_Escape:
    if (self->selected_true < 0)
      return FALSE;
    lam_confusion_view_activate_cell (self, self->selected_true, self->selected_predicted);
    return TRUE;
  default:
    return FALSE;
  }
  self->cursor_true = t;
  self->cursor_predicted = p;
  update_description (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return TRUE;
}

static gboolean
lam_confusion_view_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard,
                                  GtkTooltip *tooltip)
{
  LamConfusionView *self = LAM_CONFUSION_VIEW (widget);
  int t, p;
  if (keyboard) {
    t = self->cursor_true;
    p = self->cursor_predicted;
  } else if (!cell_at (self, x, y, &t, &p)) {
    return FALSE;
  }
  if (self->n_classes == 0)
    return FALSE;
  g_autofree char *text = describe_cell (self, t, p);
  g_autofree char *full = g_strdup_printf ("%s\n%s", text,
                                           t == self->selected_true &&
                                               p == self->selected_predicted
                                             ? "Click to show all images again"
                                             : "Click to show these images");
  gtk_tooltip_set_text (tooltip, full);
  return TRUE;
}

static void
update_accessible_label (LamConfusionView *self)
{
  g_autoptr (GString) text = g_string_new ("Confusion matrix");
  if (self->n_classes > 0) {
    int worst_t = -1, worst_p = -1;
    guint64 worst = 0;
    for (int t = 0; t < self->n_classes; t++)
      for (int p = 0; p < self->n_classes; p++)
        if (t != p && count_at (self, t, p) > worst) {
          worst = count_at (self, t, p);
          worst_t = t;
          worst_p = p;
        }
    if (worst_t >= 0) {
      g_autofree char *cell = describe_cell (self, worst_t, worst_p);
      g_string_append_printf (text, "; most frequent mistake: %s", cell);
    }
  }
  lam_ui_set_accessible_label (GTK_WIDGET (self), text->str);
}

static void
lam_confusion_view_finalize (GObject *object)
{
  LamConfusionView *self = LAM_CONFUSION_VIEW (object);
  clear_layouts (self);
  g_free (self->style_key);
  g_free (self->counts);
  g_free (self->row_totals);
  g_strfreev (self->class_names);
  G_OBJECT_CLASS (lam_confusion_view_parent_class)->finalize (object);
}

static void
lam_confusion_view_class_init (LamConfusionViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = lam_confusion_view_finalize;
  widget_class->measure = lam_confusion_view_measure;
  widget_class->size_allocate = lam_confusion_view_size_allocate;
  widget_class->snapshot = lam_confusion_view_snapshot;
  widget_class->css_changed = lam_confusion_view_css_changed;
  widget_class->state_flags_changed = lam_confusion_view_state_flags_changed;
  widget_class->query_tooltip = lam_confusion_view_query_tooltip;

  /* (true class, predicted class) of the cell clicked, or (-1, -1) when a
   * click cleared the selection. */
  signals[CELL_ACTIVATED] = g_signal_new ("cell-activated", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                          G_TYPE_INT, G_TYPE_INT);

  gtk_widget_class_set_css_name (widget_class, "confusionview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lam_confusion_view_init (LamConfusionView *self)
{
  self->selected_true = self->selected_predicted = -1;
  self->hover_true = self->hover_predicted = -1;
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);

  GtkEventController *motion_controller = gtk_event_controller_motion_new ();
  g_signal_connect (motion_controller, "motion", G_CALLBACK (motion), self);
  g_signal_connect (motion_controller, "leave", G_CALLBACK (leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion_controller);

  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));

  GtkEventController *keys = gtk_event_controller_key_new ();
  g_signal_connect (keys, "key-pressed", G_CALLBACK (key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);

  update_colors (self);
  update_accessible_label (self);
}

GtkWidget *
lam_confusion_view_new (void)
{
  return g_object_new (LAM_TYPE_CONFUSION_VIEW, NULL);
}

void
lam_confusion_view_set_confusion (LamConfusionView *self, const LamConfusion *confusion,
                                  const char *const *class_names)
{
  g_return_if_fail (LAM_IS_CONFUSION_VIEW (self));
  g_return_if_fail (confusion == NULL || class_names != NULL);

  int old_n = self->n_classes;
  clear_layouts (self);
  g_clear_pointer (&self->counts, g_free);
  g_clear_pointer (&self->row_totals, g_free);
  g_clear_pointer (&self->class_names, g_strfreev);
  self->n_classes = 0;
  self->max_error = 0;

  if (confusion != NULL) {
    int n = confusion->n_classes;
    self->n_classes = n;
    self->counts = g_memdup2 (confusion->counts, sizeof (guint64) * n * n);
    self->row_totals = g_new0 (guint64, MAX (n, 1));
    self->class_names = g_new0 (char *, n + 1);
    for (int t = 0; t < n; t++) {
      self->class_names[t] = g_strdup (class_names[t]);
      for (int p = 0; p < n; p++) {
        self->row_totals[t] += count_at (self, t, p);
        if (t != p)
          self->max_error = MAX (self->max_error, count_at (self, t, p));
      }
    }
  }

  if (self->selected_true >= self->n_classes || self->selected_predicted >= self->n_classes)
    self->selected_true = self->selected_predicted = -1;
  self->hover_true = self->hover_predicted = -1;
  self->cursor_true = MIN (self->cursor_true, MAX (self->n_classes - 1, 0));
  self->cursor_predicted = MIN (self->cursor_predicted, MAX (self->n_classes - 1, 0));
  update_accessible_label (self);
  update_description (self);
  if (old_n != self->n_classes)
    gtk_widget_queue_resize (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lam_confusion_view_set_selection (LamConfusionView *self, int true_class, int predicted_class)
{
  g_return_if_fail (LAM_IS_CONFUSION_VIEW (self));
  if (true_class < 0 || predicted_class < 0 || true_class >= self->n_classes ||
      predicted_class >= self->n_classes)
    true_class = predicted_class = -1;
  if (true_class == self->selected_true && predicted_class == self->selected_predicted)
    return;
  self->selected_true = true_class;
  self->selected_predicted = predicted_class;
  /* The keys go on from the cell shown, however it was picked (a mistake's
   * shortcut, the gallery's filters): Enter there shows everything again. */
  if (true_class >= 0) {
    self->cursor_true = true_class;
    self->cursor_predicted = predicted_class;
    update_description (self);
  }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
lam_confusion_view_get_selection (LamConfusionView *self, int *true_class, int *predicted_class)
{
  g_return_val_if_fail (LAM_IS_CONFUSION_VIEW (self), FALSE);
  if (true_class != NULL)
    *true_class = self->selected_true;
  if (predicted_class != NULL)
    *predicted_class = self->selected_predicted;
  return self->selected_true >= 0;
}

void
lam_confusion_view_activate_cell (LamConfusionView *self, int true_class, int predicted_class)
{
  g_return_if_fail (LAM_IS_CONFUSION_VIEW (self));
  g_return_if_fail (true_class >= 0 && true_class < self->n_classes);
  g_return_if_fail (predicted_class >= 0 && predicted_class < self->n_classes);
  if (true_class == self->selected_true && predicted_class == self->selected_predicted)
    true_class = predicted_class = -1;
  lam_confusion_view_set_selection (self, true_class, predicted_class);
  g_signal_emit (self, signals[CELL_ACTIVATED], 0, true_class, predicted_class);
}
