#include "lam-activations-view.h"

#include <math.h>
#include <string.h>

#include "lam-layer-class.h"

#define MAX_MAPS 16          /* channel maps shown per rank-3 output */
#define MAX_BARS 256         /* values shown per rank-1 output */
#define MAX_LABELLED 20      /* the last layer gets a labelled bar per class up to this */
#define MAP_SIDE 56          /* target side of a channel map, logical pixels */
#define STRIP_HEIGHT 56
#define LABELLED_ROW 24      /* height of one labelled bar */
#define LABEL_WIDTH 96       /* room for a class name beside its bar */

typedef struct
{
  int layer;      /* -1 for the input */
  LamLayerKind kind;
  LamShape shape;
  float *values;  /* owned, numel of shape */
  gsize n;
  float lo, hi;   /* over what is shown */
  int n_maps;     /* rank 3: channels shown */
  int map_px;     /* rank 3: pixels per value */
  gboolean labelled;
  GtkWidget *header;  /* borrowed, a child of the rows box */
  GPtrArray *areas;   /* owned array of borrowed drawing areas */
} Row;

struct _LamActivationsView
{
  GtkWidget parent_instance;

  GtkWidget *scrolled; /* owned child */
  GtkWidget *box;      /* borrowed, in scrolled: the rows */
  GtkWidget *intro;    /* borrowed, the colour scale above the rows */
  GtkWidget *placeholder;

  GPtrArray *rows;     /* owned, Row */
  char **class_names;  /* owned, may be NULL */
  int n_class_names;
};

G_DEFINE_FINAL_TYPE (LamActivationsView, lam_activations_view, GTK_TYPE_WIDGET)

static void
row_free (gpointer data)
{
  Row *row = data;
  g_free (row->values);
  g_clear_pointer (&row->areas, g_ptr_array_unref);
  g_free (row);
}

/* An approximation of matplotlib's viridis: perceptually even and legible
 * in grey, so that a bright value reads as large on a projector too. */
static void
viridis (double t, double *r, double *g, double *b)
{
  static const guint8 stops[9][3] = {
    { 0x44, 0x01, 0x54 }, { 0x47, 0x2c, 0x7a }, { 0x3b, 0x51, 0x8b },
    { 0x2c, 0x71, 0x8e }, { 0x21, 0x90, 0x8d }, { 0x27, 0xad, 0x81 },
    { 0x5c, 0xc8, 0x63 }, { 0xaa, 0xdc, 0x32 }, { 0xfd, 0xe7, 0x25 },
  };
  double s = CLAMP (t, 0, 1) * 8;
  int i = MIN ((int) s, 7);
  double f = s - i;
  *r = (stops[i][0] * (1 - f) + stops[i + 1][0] * f) / 255;
  *g = (stops[i][1] * (1 - f) + stops[i + 1][1] * f) / 255;
  *b = (stops[i][2] * (1 - f) + stops[i + 1][2] * f) / 255;
}

static guint32
pack_rgb (double r, double g, double b)
{
  return 0xff000000u | (guint32) lround (CLAMP (r, 0, 1) * 255) << 16 |
         (guint32) lround (CLAMP (g, 0, 1) * 255) << 8 | (guint32) lround (CLAMP (b, 0, 1) * 255);
}

static void
get_accent (GtkWidget *widget, GdkRGBA *accent)
{
  GtkStyleContext *context = gtk_widget_get_style_context (widget);
  if (!gtk_style_context_lookup_color (context, "accent_color", accent) &&
      !gtk_style_context_lookup_color (context, "theme_selected_bg_color", accent))
    gdk_rgba_parse (accent, "#3584e4");
}

static void
get_fg (GtkWidget *widget, GdkRGBA *fg)
{
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), fg);
}

static gboolean
is_image_row (const Row *row)
{
  return row->layer < 0 && row->shape.rank == 3;
}

/* A channel map (or the input image) drawn with crisp pixels. */
static void
draw_map (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  Row *row = data;
  int channel = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (area), "channel"));
  int c = row->shape.dims[0], h = row->shape.dims[1], w = row->shape.dims[2];
  gsize plane = (gsize) h * w;
  double range = row->hi - row->lo;
  gboolean rgb = is_image_row (row) && c == 3;

  if (!(range > 0))
    range = 1;
  cairo_surface_t *image = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  guint8 *pixels = cairo_image_surface_get_data (image);
  int stride = cairo_image_surface_get_stride (image);
  const float *v = row->values + (gsize) channel * plane;
  for (int y = 0; y < h; y++) {
    guint32 *out = (guint32 *) (pixels + (gsize) y * stride);
    for (int x = 0; x < w; x++) {
      gsize i = (gsize) y * w + x;
      double t = (v[i] - row->lo) / range, r, g, b;
      if (rgb) {
        r = t;
        g = (v[plane + i] - row->lo) / range;
        b = (v[2 * plane + i] - row->lo) / range;
      } else if (is_image_row (row)) {
        r = g = b = t;
      } else {
        viridis (t, &r, &g, &b);
      }
      out[x] = pack_rgb (r, g, b);
    }
  }
  cairo_surface_mark_dirty (image);

  double px = row->map_px;
  double ox = floor ((width - w * px) / 2), oy = floor ((height - h * px) / 2);
  cairo_save (cr);
  cairo_translate (cr, ox, oy);
  cairo_scale (cr, px, px);
  cairo_set_source_surface (cr, image, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_rectangle (cr, 0, 0, w, h);
  cairo_fill (cr);
  cairo_restore (cr);
  cairo_surface_destroy (image);
}

static const char *
class_name (LamActivationsView *self, int i, char *buffer, gsize size)
{
  if (self->class_names != NULL && i < self->n_class_names)
    return self->class_names[i];
  g_snprintf (buffer, size, "%d", i);
  return buffer;
}

/* The last layer, one labelled horizontal bar per class, the largest in
 * the accent colour. */
static void
draw_labelled (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  Row *row = data;
  LamActivationsView *self =
    LAM_ACTIVATIONS_VIEW (gtk_widget_get_ancestor (GTK_WIDGET (area), LAM_TYPE_ACTIVATIONS_VIEW));
  GdkRGBA fg, accent;
  get_fg (GTK_WIDGET (area), &fg);
  get_accent (GTK_WIDGET (area), &accent);

  gsize best = 0;
  for (gsize i = 1; i < row->n; i++)
    if (row->values[i] > row->values[best])
      best = i;

  double lo = MIN (row->lo, 0), hi = MAX (row->hi, 0);
  double range = hi - lo > 0 ? hi - lo : 1;
  double value_width = 64;
  /* Bars longer than this are harder to compare, not easier. */
  double bar_x = LABEL_WIDTH, bar_w = CLAMP (width - LABEL_WIDTH - value_width, 40, 480);
  double zero_x = bar_x + (0 - lo) / range * bar_w;

  for (gsize i = 0; i < row->n; i++) {
    double y = i * LABELLED_ROW;
    char buffer[32];
    const char *name = self != NULL ? class_name (self, (int) i, buffer, sizeof buffer) : "";
    g_autoptr (PangoLayout) label = gtk_widget_create_pango_layout (GTK_WIDGET (area), name);
    pango_layout_set_width (label, (LABEL_WIDTH - 10) * PANGO_SCALE);
    pango_layout_set_ellipsize (label, PANGO_ELLIPSIZE_END);
    pango_layout_set_alignment (label, PANGO_ALIGN_RIGHT);
    if (i == best) {
      g_autoptr (PangoAttrList) attrs = pango_attr_list_new ();
      pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
      pango_layout_set_attributes (label, attrs);
    }
    int lw, lh;
    pango_layout_get_pixel_size (label, &lw, &lh);
    cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha * (i == best ? 1 : 0.8));
    cairo_move_to (cr, 0, y + (LABELLED_ROW - lh) / 2.0);
    pango_cairo_show_layout (cr, label);

    double v = row->values[i];
    double x = bar_x + (v - lo) / range * bar_w;
    double left = MIN (x, zero_x), right = MAX (x, zero_x);
    if (i == best)
      gdk_cairo_set_source_rgba (cr, &accent);
    else
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha * 0.35);
    cairo_rectangle (cr, left, y + 4, MAX (right - left, 1), LABELLED_ROW - 8);
    cairo_fill (cr);

    char text[32];
    g_snprintf (text, sizeof text, "%s%.2f", v < 0 ? "−" : "", fabs (v));
    g_autoptr (PangoLayout) value = gtk_widget_create_pango_layout (GTK_WIDGET (area), text);
    int vw, vh;
    pango_layout_get_pixel_size (value, &vw, &vh);
    cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha * 0.7);
    cairo_move_to (cr, bar_x + bar_w + 8, y + (LABELLED_ROW - vh) / 2.0);
    pango_cairo_show_layout (cr, value);
  }

  /* The zero line, so that negative logits read as negative. */
  if (lo < 0) {
    cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha * 0.5);
    cairo_set_line_width (cr, 1);
    cairo_move_to (cr, floor (zero_x) + 0.5, 0);
    cairo_line_to (cr, floor (zero_x) + 0.5, height);
    cairo_stroke (cr);
  }
}

/* A rank-1 output: a bar per value around a zero line. */
static void
draw_strip (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  Row *row = data;
  GdkRGBA fg, accent;
  get_fg (GTK_WIDGET (area), &fg);
  get_accent (GTK_WIDGET (area), &accent);

  gsize n = MIN (row->n, (gsize) MAX_BARS);
  double scale = MAX (fabs (row->lo), fabs (row->hi));
  if (!(scale > 0))
    scale = 1;
  gboolean has_negative = row->lo < 0;
  double zero_y = has_negative ? height / 2.0 : height - 1;
  double reach = has_negative ? height / 2.0 - 1 : height - 2;
  double step = (double) width / n;

  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha * 0.06);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_fill (cr);

  gdk_cairo_set_source_rgba (cr, &accent);
  for (gsize i = 0; i < n; i++) {
    double v = row->values[i] / scale * reach;
    double x0 = floor (i * step), x1 = floor ((i + 1) * step);
    double w = MAX (x1 - x0 - (step >= 4 ? 1 : 0), 1);
    if (v >= 0)
      cairo_rectangle (cr, x0, zero_y - v, w, v);
    else
      cairo_rectangle (cr, x0, zero_y, w, -v);
  }
  cairo_fill (cr);

  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha * 0.4);
  cairo_set_line_width (cr, 1);
  cairo_move_to (cr, 0, floor (zero_y) + 0.5);
  cairo_line_to (cr, width, floor (zero_y) + 0.5);
  cairo_stroke (cr);
}

static char *
layer_title (const LamModelPlan *plan, int index)
{
  if (index < 0)
    return g_strdup ("Input");
  const LamLayer *layer = &plan->layers[index];
  const LamLayerClass *klass = lam_layer_class (layer->spec.kind);
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "Layer %d · %s", index + 1, klass->name);
  if (klass->append_caption != NULL)
    klass->append_caption (s, &layer->spec);
  return g_string_free (s, FALSE);
}

/* "−0.42": a real minus sign reads better than a hyphen on a projector. */
static char *
format_value (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  g_snprintf (buffer, sizeof buffer, "%.3g", fabs (value));
  return g_strdup_printf ("%s%s", value < 0 ? "−" : "", buffer);
}

static void
update_header (Row *row, const LamModelPlan *plan)
{
  g_autofree char *title = layer_title (plan, row->layer);
  g_autofree char *shape = lam_shape_to_string (&row->shape);
  g_autofree char *escaped = g_markup_escape_text (title, -1);
  GString *markup = g_string_new (NULL);
  g_string_append_printf (markup, "<b>%s</b>   <span alpha=\"70%%\">%s", escaped, shape);
  if (row->shape.rank == 3 && row->n_maps < row->shape.dims[0])
    g_string_append_printf (markup, " · first %d of %d channels", row->n_maps,
                            row->shape.dims[0]);
  else if (row->shape.rank == 1 && row->n > MAX_BARS && !row->labelled)
    g_string_append_printf (markup, " · first %d of %zu values", MAX_BARS, row->n);
  g_autofree char *lo = format_value (row->lo);
  g_autofree char *hi = format_value (row->hi);
  g_string_append_printf (markup, " · %s to %s</span>", lo, hi);
  gtk_label_set_markup (GTK_LABEL (row->header), markup->str);
  g_string_free (markup, TRUE);
}

static void
compute_range (Row *row)
{
  gsize shown = row->n;
  if (row->shape.rank == 3 && !is_image_row (row))
    shown = (gsize) row->n_maps * row->shape.dims[1] * row->shape.dims[2];
  else if (row->shape.rank == 1 && !row->labelled)
    shown = MIN (row->n, (gsize) MAX_BARS);
  float lo = G_MAXFLOAT, hi = -G_MAXFLOAT;
  for (gsize i = 0; i < shown; i++) {
    float v = row->values[i];
    if (!isfinite (v))
      continue;
    lo = MIN (lo, v);
    hi = MAX (hi, v);
  }
  if (lo > hi)
    lo = hi = 0;
  row->lo = lo;
  row->hi = hi;
}

static GtkWidget *
new_area (Row *row, int width, int height, GtkDrawingAreaDrawFunc draw)
{
  GtkWidget *area = gtk_drawing_area_new ();
  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (area), width);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (area), height);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (area), draw, row, NULL);
  g_ptr_array_add (row->areas, area);
  return area;
}

/* "Channel 3: −0.42 to 1.7": a feature map's range, made when the
 * pointer rests on it. Set on every map at every image, the small CNN's
 * tooltips took about 1.9 ms a row of 16 maps, each asking the display
 * where the pointer is. */
static char *
dup_channel_tooltip (const Row *row, guint channel)
{
  gsize plane = (gsize) row->shape.dims[1] * row->shape.dims[2];
  float lo = G_MAXFLOAT, hi = -G_MAXFLOAT;
  for (gsize j = 0; j < plane; j++) {
    lo = MIN (lo, row->values[channel * plane + j]);
    hi = MAX (hi, row->values[channel * plane + j]);
  }
  g_autofree char *lo_text = format_value (lo);
  g_autofree char *hi_text = format_value (hi);
  return g_strdup_printf ("Channel %u: %s to %s", channel, lo_text, hi_text);
}

static gboolean
query_channel_tooltip (GtkWidget *area, int x, int y, gboolean keyboard, GtkTooltip *tooltip,
                       gpointer data)
{
  g_autofree char *text = dup_channel_tooltip (
    data, (guint) GPOINTER_TO_INT (g_object_get_data (G_OBJECT (area), "channel")));
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static gboolean
has_channel_tooltips (const Row *row)
{
  return row->shape.rank == 3 && !is_image_row (row);
}

static GtkWidget *
build_content (Row *row)
{
  if (row->shape.rank == 3) {
    int h = row->shape.dims[1], w = row->shape.dims[2];
    /* Whole pixels per value, about the same size whatever the layer. */
    row->map_px = MAX (1, (int) lround ((double) MAP_SIDE / MAX (h, w)));
    if (is_image_row (row)) {
      row->map_px *= 2;
      GtkWidget *area = new_area (row, w * row->map_px, h * row->map_px, draw_map);
      gtk_widget_set_halign (area, GTK_ALIGN_START);
      return area;
    }
    GtkWidget *flow = gtk_flow_box_new ();
    gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (flow), GTK_SELECTION_NONE);
    gtk_flow_box_set_homogeneous (GTK_FLOW_BOX (flow), TRUE);
    gtk_flow_box_set_max_children_per_line (GTK_FLOW_BOX (flow), MAX_MAPS);
    gtk_flow_box_set_column_spacing (GTK_FLOW_BOX (flow), 6);
    gtk_flow_box_set_row_spacing (GTK_FLOW_BOX (flow), 6);
    gtk_widget_set_halign (flow, GTK_ALIGN_START);
    gtk_widget_set_can_focus (flow, FALSE);
    for (int c = 0; c < row->n_maps; c++) {
      GtkWidget *area = new_area (row, w * row->map_px, h * row->map_px, draw_map);
      g_object_set_data (G_OBJECT (area), "channel", GINT_TO_POINTER (c));
      if (has_channel_tooltips (row)) {
        gtk_widget_set_has_tooltip (area, TRUE);
        g_signal_connect (area, "query-tooltip", G_CALLBACK (query_channel_tooltip), row);
      }
      gtk_flow_box_append (GTK_FLOW_BOX (flow), area);
      gtk_widget_set_can_focus (gtk_widget_get_parent (area), FALSE);
    }
    return flow;
  }
  if (row->labelled) {
    GtkWidget *area = new_area (row, LABEL_WIDTH + 240, (int) row->n * LABELLED_ROW, draw_labelled);
    gtk_widget_set_halign (area, GTK_ALIGN_FILL);
    gtk_widget_set_hexpand (area, TRUE);
    return area;
  }
  GtkWidget *area = new_area (row, 200, STRIP_HEIGHT, draw_strip);
  gtk_widget_set_hexpand (area, TRUE);
  return area;
}

static Row *
row_new (int layer, LamLayerKind kind, const LamShape *shape, const float *values,
         gboolean last)
{
  Row *row = g_new0 (Row, 1);
  row->layer = layer;
  row->kind = kind;
  row->shape = *shape;
  row->n = lam_shape_numel (shape);
  row->values = g_memdup2 (values, row->n * sizeof (float));
  row->areas = g_ptr_array_new ();
  if (shape->rank == 3)
    row->n_maps = MIN (shape->dims[0], MAX_MAPS);
  row->labelled = last && shape->rank == 1 && row->n <= MAX_LABELLED;
  compute_range (row);
  return row;
}

static void
draw_scale (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  cairo_pattern_t *gradient = cairo_pattern_create_linear (0, 0, width, 0);
  for (int i = 0; i <= 8; i++) {
    double r, g, b;
    viridis (i / 8.0, &r, &g, &b);
    cairo_pattern_add_color_stop_rgb (gradient, i / 8.0, r, g, b);
  }
  cairo_set_source (cr, gradient);
  cairo_paint (cr);
  cairo_pattern_destroy (gradient);
}

static GtkWidget *
build_intro (void)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *scale = gtk_drawing_area_new ();
  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (scale), 120);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (scale), 12);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (scale), draw_scale, NULL, NULL);
  gtk_widget_set_valign (scale, GTK_ALIGN_CENTER);
  GtkWidget *low = gtk_label_new ("low");
  GtkWidget *high = gtk_label_new ("high");
  GtkWidget *note = gtk_label_new ("— one scale per layer; point at a map for its range");
  gtk_widget_add_css_class (note, "dim-label");
  gtk_label_set_wrap (GTK_LABEL (note), TRUE);
  gtk_label_set_xalign (GTK_LABEL (note), 0);
  gtk_box_append (GTK_BOX (box), low);
  gtk_box_append (GTK_BOX (box), scale);
  gtk_box_append (GTK_BOX (box), high);
  gtk_box_append (GTK_BOX (box), note);
  gtk_widget_set_margin_bottom (box, 6);
  return box;
}

static void
remove_rows (LamActivationsView *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_last_child (self->box)) != self->intro)
    gtk_box_remove (GTK_BOX (self->box), child);
  g_ptr_array_set_size (self->rows, 0);
  self->placeholder = NULL;
}

static void
show_placeholder (LamActivationsView *self)
{
  remove_rows (self);
  gtk_widget_set_visible (self->intro, FALSE);
  self->placeholder =
    gtk_label_new ("Draw a digit or pick an image to see what each layer makes of it.");
  gtk_label_set_wrap (GTK_LABEL (self->placeholder), TRUE);
  gtk_widget_add_css_class (self->placeholder, "dim-label");
  gtk_widget_set_vexpand (self->placeholder, TRUE);
  gtk_widget_set_valign (self->placeholder, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (self->box), self->placeholder);
}

/* Whether the rows on screen are for this plan, so that a new image only
 * replaces numbers: the drawing pad sends one many times a second. */
static gboolean
rows_match (LamActivationsView *self, const LamModelPlan *plan)
{
  if (self->rows->len != (guint) plan->n_layers + 1)
    return FALSE;
  for (guint i = 0; i < self->rows->len; i++) {
    Row *row = g_ptr_array_index (self->rows, i);
    const LamShape *shape = i == 0 ? &plan->input : &plan->layers[i - 1].out_shape;
    if (!lam_shape_equal (&row->shape, shape))
      return FALSE;
    if (i > 0 && row->kind != plan->layers[i - 1].spec.kind)
      return FALSE;
  }
  return TRUE;
}

static void
lam_activations_view_dispose (GObject *object)
{
  LamActivationsView *self = LAM_ACTIVATIONS_VIEW (object);
  g_clear_pointer (&self->scrolled, gtk_widget_unparent);
  G_OBJECT_CLASS (lam_activations_view_parent_class)->dispose (object);
}

static void
lam_activations_view_finalize (GObject *object)
{
  LamActivationsView *self = LAM_ACTIVATIONS_VIEW (object);
  g_clear_pointer (&self->rows, g_ptr_array_unref);
  g_clear_pointer (&self->class_names, g_strfreev);
  G_OBJECT_CLASS (lam_activations_view_parent_class)->finalize (object);
}

static void
lam_activations_view_class_init (LamActivationsViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lam_activations_view_dispose;
  object_class->finalize = lam_activations_view_finalize;

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "activations-view");
}

static void
lam_activations_view_init (LamActivationsView *self)
{
  self->rows = g_ptr_array_new_with_free_func (row_free);

  self->scrolled = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (self->scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (self->scrolled), TRUE);
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (self->scrolled), 200);
  gtk_widget_set_parent (self->scrolled, GTK_WIDGET (self));
  /* GTK makes a scrolled window with nothing focusable inside a Tab stop of
   * its own. This one grows to its rows (the page around it scrolls), so
   * that stop had nothing to scroll, showed no focus and had no name. The
   * rows hold nothing to focus (their maps are not focusable either), and
   * "focusable" alone would leave Tab stuck before it. */
  gtk_widget_set_can_focus (self->scrolled, FALSE);

  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_margin_start (self->box, 12);
  gtk_widget_set_margin_end (self->box, 12);
  gtk_widget_set_margin_top (self->box, 12);
  gtk_widget_set_margin_bottom (self->box, 12);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scrolled), self->box);
  self->intro = build_intro ();
  gtk_box_append (GTK_BOX (self->box), self->intro);

  show_placeholder (self);
}

GtkWidget *
lam_activations_view_new (void)
{
  return g_object_new (LAM_TYPE_ACTIVATIONS_VIEW, NULL);
}

static void
append_row (LamActivationsView *self, Row *row, const LamModelPlan *plan)
{
  row->header = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (row->header), 0);
  gtk_label_set_wrap (GTK_LABEL (row->header), TRUE);
  if (self->rows->len > 0)
    gtk_widget_set_margin_top (row->header, 12);
  update_header (row, plan);
  gtk_box_append (GTK_BOX (self->box), row->header);
  gtk_box_append (GTK_BOX (self->box), build_content (row));
  g_ptr_array_add (self->rows, row);
}

void
lam_activations_view_set (LamActivationsView *self, const LamModelPlan *plan, const float *input,
                          const float *const *layer_outputs)
{
  g_return_if_fail (LAM_IS_ACTIVATIONS_VIEW (self));
  g_return_if_fail (plan != NULL);
  g_return_if_fail (input != NULL);
  g_return_if_fail (layer_outputs != NULL || plan->n_layers == 0);

  if (rows_match (self, plan)) {
    for (guint i = 0; i < self->rows->len; i++) {
      Row *row = g_ptr_array_index (self->rows, i);
      memcpy (row->values, i == 0 ? input : layer_outputs[i - 1], row->n * sizeof (float));
      compute_range (row);
      update_header (row, plan);
      for (guint j = 0; j < row->areas->len; j++)
        gtk_widget_queue_draw (g_ptr_array_index (row->areas, j));
    }
    return;
  }

  remove_rows (self);
  gtk_widget_set_visible (self->intro, TRUE);
  append_row (self, row_new (-1, LAM_N_LAYER_KINDS, &plan->input, input, FALSE), plan);
  for (int i = 0; i < plan->n_layers; i++) {
    const LamLayer *layer = &plan->layers[i];
    g_return_if_fail (layer_outputs[i] != NULL);
    append_row (self,
                row_new (i, layer->spec.kind, &layer->out_shape, layer_outputs[i],
                         i == plan->n_layers - 1),
                plan);
  }
}

void
lam_activations_view_clear (LamActivationsView *self)
{
  g_return_if_fail (LAM_IS_ACTIVATIONS_VIEW (self));
  if (self->placeholder == NULL)
    show_placeholder (self);
}

void
lam_activations_view_set_class_names (LamActivationsView *self, const char *const *names,
                                      int n_classes)
{
  g_return_if_fail (LAM_IS_ACTIVATIONS_VIEW (self));
  g_return_if_fail (names != NULL || n_classes == 0);

  g_clear_pointer (&self->class_names, g_strfreev);
  self->n_class_names = 0;
  if (names != NULL && n_classes > 0) {
    self->class_names = g_new0 (char *, n_classes + 1);
    for (int i = 0; i < n_classes; i++)
      self->class_names[i] = g_strdup (names[i] != NULL ? names[i] : "");
    self->n_class_names = n_classes;
  }
  for (guint i = 0; i < self->rows->len; i++) {
    Row *row = g_ptr_array_index (self->rows, i);
    if (row->labelled)
      for (guint j = 0; j < row->areas->len; j++)
        gtk_widget_queue_draw (g_ptr_array_index (row->areas, j));
  }
}

guint
lam_activations_view_get_n_rows (LamActivationsView *self)
{
  g_return_val_if_fail (LAM_IS_ACTIVATIONS_VIEW (self), 0);
  return self->rows->len;
}

char *
lam_activations_view_dup_channel_tooltip (LamActivationsView *self, guint row, guint channel)
{
  g_return_val_if_fail (LAM_IS_ACTIVATIONS_VIEW (self), NULL);
  if (row >= self->rows->len)
    return NULL;
  const Row *r = g_ptr_array_index (self->rows, row);
  if (!has_channel_tooltips (r) || channel >= (guint) r->n_maps)
    return NULL;
  return dup_channel_tooltip (r, channel);
}
