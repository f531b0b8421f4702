#include "lam-weights-view.h"

#include <math.h>
#include <string.h>

/* Layout, in logical pixels. */
#define MARGIN 12
#define GAP 8            /* between tiles */
#define TEXT_GAP 6       /* between lines of text */
#define SECTION_GAP 14   /* between the text, the tiles and the legend */
#define LEGEND_WIDTH 180
#define LEGEND_HEIGHT 14

#define NO_MODEL_TEXT "No weights to show yet: build a model and train it."
#define NO_WEIGHTS_TEXT "This model has no weights: none of its layers learns anything."

#define DEFAULT_MAX_TILES 64
#define DEFAULT_TILE_SIZE 80

typedef enum
{
  TILES_NONE,
  TILES_DIVERGING, /* one channel (or a mean), blue–white–red */
  TILES_RGB,       /* three channels as colour, grey at 0 */
} TileStyle;

struct _LamWeightsView
{
  GtkWidget parent_instance;

  guint max_tiles;
  int tile_size;

  /* What is shown; layer is -1 when nothing is. */
  int layer;
  LamLayerKind kind;
  TileStyle style;
  guint n_units;
  guint n_tiles;      /* on this page */
  guint page;         /* max_tiles units a page */
  int tile_w, tile_h; /* weights per tile side */
  /* The layer's weights, copied so that paging needs no new call. */
  float *weights; /* owned, n_units × per_unit */
  gsize per_unit;
  int channels;
  gsize plane;    /* floats between channels, and the values a tile shows */
  cairo_surface_t *strip; /* owned, RGB24 (tile_h, tile_w * n_tiles) */
  float *tile_min;        /* owned, n_tiles: for the tooltip */
  float *tile_max;
  char *title;   /* owned */
  char *caption; /* owned */
  char **input_names;     /* owned: a table's columns, NULL when not given */
  const char *empty_text; /* static: said instead when there are no tiles */
  char *measured;         /* owned: what the last size was measured from (measure_key) */

  /* Shown when the units take more than one page. */
  GtkWidget *pager; /* owned child */
  GtkLabel *pager_label;

  /* Layout of the last allocation. */
  int columns;
  int tiles_top;

  gboolean colors_valid;
  GdkRGBA fg;
};

G_DEFINE_FINAL_TYPE (LamWeightsView, lam_weights_view, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_MAX_TILES,
  PROP_TILE_SIZE,
  PROP_PAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void update_pager (LamWeightsView *self);
static void action_page (GtkWidget *widget, const char *action_name, GVariant *parameter);

/* ColorBrewer's RdBu, negative blue: reads on a projector and for the
 * common red–green colour blindness. */
static void
diverging_color (double t, double *r, double *g, double *b)
{
  static const double stops[5][3] = {
    { 0x21, 0x66, 0xac }, { 0x67, 0xa9, 0xcf }, { 0xf7, 0xf7, 0xf7 },
    { 0xef, 0x8a, 0x62 }, { 0xb2, 0x18, 0x2b },
  };
  double s = (CLAMP (t, -1, 1) + 1) * 2; /* 0..4 */
  int i = MIN ((int) s, 3);
  double f = s - i;
  *r = (stops[i][0] * (1 - f) + stops[i + 1][0] * f) / 255;
  *g = (stops[i][1] * (1 - f) + stops[i + 1][1] * f) / 255;
  *b = (stops[i][2] * (1 - f) + stops[i + 1][2] * f) / 255;
}

static guint32
pack_rgb (double r, double g, double b)
{
  guint32 ri = (guint32) lround (CLAMP (r, 0, 1) * 255);
  guint32 gi = (guint32) lround (CLAMP (g, 0, 1) * 255);
  guint32 bi = (guint32) lround (CLAMP (b, 0, 1) * 255);
  return 0xff000000u | ri << 16 | gi << 8 | bi;
}

static int
pixels_per_weight (LamWeightsView *self)
{
  int side = MAX (self->tile_w, self->tile_h);
  return MAX (1, (int) lround ((double) self->tile_size / MAX (side, 1)));
}

static void
tile_pixel_size (LamWeightsView *self, int *w, int *h)
{
  int px = pixels_per_weight (self);
  *w = self->tile_w * px;
  *h = self->tile_h * px;
}

static PangoLayout *
create_layout (LamWeightsView *self, const char *text, double scale, gboolean bold, int width)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  g_autoptr (PangoAttrList) attrs = pango_attr_list_new ();
  if (scale != 1)
    pango_attr_list_insert (attrs, pango_attr_scale_new (scale));
  if (bold)
    pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  pango_layout_set_attributes (layout, attrs);
  if (width > 0) {
    pango_layout_set_width (layout, width * PANGO_SCALE);
    pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  }
  return layout;
}

static int
layout_height (PangoLayout *layout)
{
  int h;
  pango_layout_get_pixel_size (layout, NULL, &h);
  return h;
}

typedef struct
{
  PangoLayout *title;   /* owned */
  PangoLayout *caption; /* owned */
  PangoLayout *legend_low;
  PangoLayout *legend_zero;
  PangoLayout *legend_high;
  PangoLayout *legend_text;
  int columns;
  int tile_w, tile_h;
  int pager_top, pager_height; /* height 0 when there is one page */
  int tiles_top;
  int tiles_height;
  int legend_top;
  int height;
} Layout;

static void
layout_clear (Layout *layout)
{
  g_clear_object (&layout->title);
  g_clear_object (&layout->caption);
  g_clear_object (&layout->legend_low);
  g_clear_object (&layout->legend_zero);
  g_clear_object (&layout->legend_high);
  g_clear_object (&layout->legend_text);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Layout, layout_clear)

static void
compute_layout (LamWeightsView *self, int width, Layout *layout)
{
  int text_width = MAX (width - 2 * MARGIN, 40);
  int y = MARGIN;

  memset (layout, 0, sizeof *layout);
  if (self->layer < 0 || self->n_tiles == 0) {
    layout->caption = create_layout (self, self->empty_text, 1, FALSE, text_width);
    pango_layout_set_alignment (layout->caption, PANGO_ALIGN_CENTER);
    layout->height = 2 * MARGIN + layout_height (layout->caption) + 48;
    return;
  }

  layout->title = create_layout (self, self->title, 1.2, TRUE, text_width);
  y += layout_height (layout->title) + TEXT_GAP;
  layout->caption = create_layout (self, self->caption, 1, FALSE, text_width);
  y += layout_height (layout->caption) + SECTION_GAP;

  /* Above the tiles, where it stays in sight however many rows follow. */
  if (gtk_widget_get_visible (self->pager)) {
    gtk_widget_measure (self->pager, GTK_ORIENTATION_VERTICAL, text_width, NULL,
                        &layout->pager_height, NULL, NULL);
    layout->pager_top = y;
    y += layout->pager_height + SECTION_GAP / 2;
  }

  tile_pixel_size (self, &layout->tile_w, &layout->tile_h);
  layout->columns = MAX (1, (width - 2 * MARGIN + GAP) / (layout->tile_w + GAP));
  int rows = (int) ((self->n_tiles + layout->columns - 1) / layout->columns);
  layout->tiles_top = y;
  layout->tiles_height = rows * layout->tile_h + (rows - 1) * GAP;
  y += layout->tiles_height + SECTION_GAP;

  layout->legend_top = y;
  if (self->style == TILES_DIVERGING) {
    layout->legend_low = create_layout (self, "−", 1, TRUE, -1);
    layout->legend_zero = create_layout (self, "0", 0.9, FALSE, -1);
    layout->legend_high = create_layout (self, "+", 1, TRUE, -1);
    layout->legend_text = create_layout (self,
                                         "blue pulls the unit down, red pushes it up; "
                                         "each tile is scaled to its own largest weight",
                                         0.9, FALSE,
                                         MAX (text_width - LEGEND_WIDTH - 2 * MARGIN, 80));
  } else {
    layout->legend_text = create_layout (self,
                                         "grey is 0; a colour brighter than grey pushes the "
                                         "unit up where the image has it, a darker one pulls "
                                         "it down; each tile is scaled to its own largest weight",
                                         0.9, FALSE, text_width);
  }
  int legend_h = layout_height (layout->legend_text);
  if (layout->legend_zero != NULL)
    legend_h = MAX (legend_h, LEGEND_HEIGHT + TEXT_GAP / 2 + layout_height (layout->legend_zero));
  y += legend_h;
  layout->height = y + MARGIN;
}

static void
update_colors (LamWeightsView *self)
{
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (self));
  gtk_style_context_get_color (context, &self->fg);
  self->colors_valid = TRUE;
}

static void
set_source_fg (LamWeightsView *self, cairo_t *cr, double alpha)
{
  cairo_set_source_rgba (cr, self->fg.red, self->fg.green, self->fg.blue, self->fg.alpha * alpha);
}

static void
draw_legend (LamWeightsView *self, cairo_t *cr, const Layout *layout, int width)
{
  double x = MARGIN, y = layout->legend_top;

  if (layout->legend_zero != NULL) {
    cairo_pattern_t *gradient = cairo_pattern_create_linear (x, 0, x + LEGEND_WIDTH, 0);
    for (int i = 0; i <= 16; i++) {
      double r, g, b;
      diverging_color (i / 8.0 - 1, &r, &g, &b);
      cairo_pattern_add_color_stop_rgb (gradient, i / 16.0, r, g, b);
    }
    cairo_rectangle (cr, x, y, LEGEND_WIDTH, LEGEND_HEIGHT);
    cairo_set_source (cr, gradient);
    cairo_fill_preserve (cr);
    cairo_pattern_destroy (gradient);
    set_source_fg (self, cr, 0.25);
    cairo_set_line_width (cr, 1);
    cairo_stroke (cr);

    int w, h;
    double label_y = y + LEGEND_HEIGHT + TEXT_GAP / 2;
    set_source_fg (self, cr, 0.8);
    pango_layout_get_pixel_size (layout->legend_low, &w, &h);
    cairo_move_to (cr, x, label_y - 2);
    pango_cairo_show_layout (cr, layout->legend_low);
    pango_layout_get_pixel_size (layout->legend_zero, &w, &h);
    cairo_move_to (cr, x + (LEGEND_WIDTH - w) / 2.0, label_y);
    pango_cairo_show_layout (cr, layout->legend_zero);
    pango_layout_get_pixel_size (layout->legend_high, &w, &h);
    cairo_move_to (cr, x + LEGEND_WIDTH - w, label_y - 2);
    pango_cairo_show_layout (cr, layout->legend_high);
    x += LEGEND_WIDTH + 2 * MARGIN;
  }

  set_source_fg (self, cr, 0.75);
  cairo_move_to (cr, x, y - 1);
  pango_cairo_show_layout (cr, layout->legend_text);
}

static void ensure_strip (LamWeightsView *self);

static void
lam_weights_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  LamWeightsView *self = LAM_WEIGHTS_VIEW (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  if (width <= 0 || height <= 0)
    return;
  if (!self->colors_valid)
    update_colors (self);

  g_auto (Layout) layout = { 0 };
  compute_layout (self, width, &layout);
  self->columns = layout.columns;
  self->tiles_top = layout.tiles_top;

  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));

  if (layout.title == NULL) {
    int h = layout_height (layout.caption);
    set_source_fg (self, cr, 0.55);
    cairo_move_to (cr, MARGIN, floor ((height - h) / 2.0));
    pango_cairo_show_layout (cr, layout.caption);
    cairo_destroy (cr);
    return;
  }

  double y = MARGIN;
  set_source_fg (self, cr, 1);
  cairo_move_to (cr, MARGIN, y);
  pango_cairo_show_layout (cr, layout.title);
  y += layout_height (layout.title) + TEXT_GAP;
  set_source_fg (self, cr, 0.8);
  cairo_move_to (cr, MARGIN, y);
  pango_cairo_show_layout (cr, layout.caption);

  int px = pixels_per_weight (self);
  ensure_strip (self);
  for (guint t = 0; t < self->n_tiles; t++) {
    int column = (int) (t % layout.columns), row = (int) (t / layout.columns);
    double tx = MARGIN + column * (layout.tile_w + GAP);
    double ty = layout.tiles_top + row * (layout.tile_h + GAP);
    if (ty > height)
      break;

    cairo_save (cr);
    cairo_translate (cr, tx, ty);
    cairo_scale (cr, px, px);
    cairo_set_source_surface (cr, self->strip, -(double) t * self->tile_w, 0);
    cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle (cr, 0, 0, self->tile_w, self->tile_h);
    cairo_fill (cr);
    cairo_restore (cr);

    /* The map's middle is near white: the frame keeps tiles apart on a
     * light background. */
    set_source_fg (self, cr, 0.22);
    cairo_set_line_width (cr, 1);
    cairo_rectangle (cr, tx - 0.5, ty - 0.5, layout.tile_w + 1, layout.tile_h + 1);
    cairo_stroke (cr);
  }

  draw_legend (self, cr, &layout, width);
  cairo_destroy (cr);

  gtk_widget_snapshot_child (widget, self->pager, snapshot);
}

static void
lam_weights_view_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  LamWeightsView *self = LAM_WEIGHTS_VIEW (widget);
  if (!gtk_widget_get_visible (self->pager))
    return;
  g_auto (Layout) layout = { 0 };
  compute_layout (self, width, &layout);
  gtk_widget_size_allocate (self->pager,
                            &(GtkAllocation) { MARGIN, layout.pager_top,
                                               MAX (width - 2 * MARGIN, 1),
                                               layout.pager_height },
                            -1);
}

static GtkSizeRequestMode
lam_weights_view_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
lam_weights_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                          int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  LamWeightsView *self = LAM_WEIGHTS_VIEW (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    int tile_w = 0, tile_h = 0;
    if (self->layer >= 0)
      tile_pixel_size (self, &tile_w, &tile_h);
    int columns = self->n_tiles > 0 ? (int) MIN (self->n_tiles, 8u) : 4;
    int pager = 0;
    if (gtk_widget_get_visible (self->pager))
      gtk_widget_measure (self->pager, GTK_ORIENTATION_HORIZONTAL, -1, &pager, NULL, NULL, NULL);
    *minimum = 2 * MARGIN + MAX (MAX (tile_w, 160), pager);
    *natural = MAX (*minimum, 2 * MARGIN + columns * (MAX (tile_w, 64) + GAP) - GAP);
    return;
  }

  int width = for_size > 0 ? for_size : 2 * MARGIN + 8 * (DEFAULT_TILE_SIZE + GAP);
  g_auto (Layout) layout = { 0 };
  compute_layout (self, width, &layout);
  *minimum = *natural = layout.height;
}

static void
lam_weights_view_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  LamWeightsView *self = LAM_WEIGHTS_VIEW (widget);
  GTK_WIDGET_CLASS (lam_weights_view_parent_class)->css_changed (widget, change);
  self->colors_valid = FALSE;
  /* The font may have changed, and the text's height with it. */
  gtk_widget_queue_resize (widget);
}

static int
tile_at (LamWeightsView *self, double x, double y)
{
  if (self->layer < 0 || self->columns <= 0)
    return -1;
  int tile_w, tile_h;
  tile_pixel_size (self, &tile_w, &tile_h);
  double xx = x - MARGIN, yy = y - self->tiles_top;
  if (xx < 0 || yy < 0)
    return -1;
  int column = (int) (xx / (tile_w + GAP)), row = (int) (yy / (tile_h + GAP));
  if (column >= self->columns || xx - column * (tile_w + GAP) >= tile_w ||
      yy - row * (tile_h + GAP) >= tile_h)
    return -1;
  guint t = (guint) (row * self->columns + column);
  return t < self->n_tiles ? (int) t : -1;
}

static guint
first_unit (LamWeightsView *self)
{
  return self->page * self->max_tiles;
}

static gboolean
lam_weights_view_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard,
                                GtkTooltip *tooltip)
{
  LamWeightsView *self = LAM_WEIGHTS_VIEW (widget);
  int t = tile_at (self, x, y);
  if (t < 0)
    return FALSE;
  ensure_strip (self);
  /* Counted from 1, as the pager counts them. */
  g_autofree char *text =
    g_strdup_printf ("%s %u: weights from %.3g to %.3g",
                     self->kind == LAM_LAYER_CONV2D ? "Filter" : "Unit",
                     first_unit (self) + (guint) t + 1, self->tile_min[t], self->tile_max[t]);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
lam_weights_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamWeightsView *self = LAM_WEIGHTS_VIEW (object);
  switch (prop_id) {
  case PROP_MAX_TILES:
    g_value_set_uint (value, self->max_tiles);
    break;
  case PROP_TILE_SIZE:
    g_value_set_int (value, self->tile_size);
    break;
  case PROP_PAGE:
    g_value_set_uint (value, self->page);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_weights_view_set_property (GObject *object, guint prop_id, const GValue *value,
                               GParamSpec *pspec)
{
  LamWeightsView *self = LAM_WEIGHTS_VIEW (object);
  switch (prop_id) {
  case PROP_MAX_TILES:
    lam_weights_view_set_max_tiles (self, g_value_get_uint (value));
    break;
  case PROP_TILE_SIZE:
    lam_weights_view_set_tile_size (self, g_value_get_int (value));
    break;
  case PROP_PAGE:
    lam_weights_view_set_page (self, g_value_get_uint (value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
clear_page (LamWeightsView *self)
{
  self->n_tiles = 0;
  g_clear_pointer (&self->strip, cairo_surface_destroy);
  g_clear_pointer (&self->tile_min, g_free);
  g_clear_pointer (&self->tile_max, g_free);
}

static void
clear_weights (LamWeightsView *self)
{
  clear_page (self);
  self->layer = -1;
  self->style = TILES_NONE;
  self->n_units = 0;
  self->tile_w = self->tile_h = 0;
  g_clear_pointer (&self->weights, g_free);
  g_clear_pointer (&self->title, g_free);
  g_clear_pointer (&self->caption, g_free);
}

static void
lam_weights_view_dispose (GObject *object)
{
  LamWeightsView *self = LAM_WEIGHTS_VIEW (object);
  g_clear_pointer (&self->pager, gtk_widget_unparent);
  G_OBJECT_CLASS (lam_weights_view_parent_class)->dispose (object);
}

static void
lam_weights_view_finalize (GObject *object)
{
  LamWeightsView *self = LAM_WEIGHTS_VIEW (object);
  clear_weights (self);
  g_strfreev (self->input_names);
  g_free (self->measured);
  G_OBJECT_CLASS (lam_weights_view_parent_class)->finalize (object);
}

static void
lam_weights_view_class_init (LamWeightsViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = lam_weights_view_get_property;
  object_class->set_property = lam_weights_view_set_property;
  object_class->dispose = lam_weights_view_dispose;
  object_class->finalize = lam_weights_view_finalize;

  widget_class->snapshot = lam_weights_view_snapshot;
  widget_class->size_allocate = lam_weights_view_size_allocate;
  widget_class->get_request_mode = lam_weights_view_get_request_mode;
  widget_class->measure = lam_weights_view_measure;
  widget_class->css_changed = lam_weights_view_css_changed;
  widget_class->query_tooltip = lam_weights_view_query_tooltip;

  properties[PROP_MAX_TILES] =
    g_param_spec_uint ("max-tiles", NULL, NULL, 1, 4096, DEFAULT_MAX_TILES,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_TILE_SIZE] =
    g_param_spec_int ("tile-size", NULL, NULL, 8, 512, DEFAULT_TILE_SIZE,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_PAGE] =
    g_param_spec_uint ("page", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_action (widget_class, "weights.previous-page", NULL, action_page);
  gtk_widget_class_install_action (widget_class, "weights.next-page", NULL, action_page);

  gtk_widget_class_set_css_name (widget_class, "weights-view");
  /* A group, not an image: the pager's buttons are in it. */
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static GtkWidget *
pager_button (const char *icon, const char *action, const char *tooltip)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_widget_add_css_class (button, "flat");
  return button;
}

static void
lam_weights_view_init (LamWeightsView *self)
{
  self->max_tiles = DEFAULT_MAX_TILES;
  self->tile_size = DEFAULT_TILE_SIZE;
  self->layer = -1;
  self->empty_text = NO_MODEL_TEXT;
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);

  self->pager = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_halign (self->pager, GTK_ALIGN_START);
  gtk_box_append (GTK_BOX (self->pager),
                  pager_button ("go-previous-symbolic", "weights.previous-page",
                                "The previous units"));
  self->pager_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_widget_add_css_class (GTK_WIDGET (self->pager_label), "numeric");
  gtk_box_append (GTK_BOX (self->pager), GTK_WIDGET (self->pager_label));
  gtk_box_append (GTK_BOX (self->pager),
                  pager_button ("go-next-symbolic", "weights.next-page", "The next units"));
  gtk_widget_set_visible (self->pager, FALSE);
  gtk_widget_set_parent (self->pager, GTK_WIDGET (self));
  update_pager (self);
}

GtkWidget *
lam_weights_view_new (void)
{
  return g_object_new (LAM_TYPE_WEIGHTS_VIEW, NULL);
}

/* The image a linear layer's weights can be laid out on: the shape its
 * input had before flattening, through layers that keep pixels where they
 * are (activations, dropout, pooling). FALSE when it has none. */
static gboolean
linear_image_shape (const LamModelPlan *plan, int index, LamShape *shape)
{
  const LamLayer *layer = &plan->layers[index];
  gsize in = lam_shape_numel (&layer->in_shape);

  if (layer->in_shape.rank == 3) {
    *shape = layer->in_shape;
    return TRUE;
  }
  for (int j = index - 1; j >= 0; j--) {
    const LamLayer *prev = &plan->layers[j];
    if (prev->in_shape.rank == 3 && lam_shape_numel (&prev->in_shape) == in) {
      *shape = prev->in_shape;
      return TRUE;
    }
    if (lam_shape_numel (&prev->in_shape) != in)
      return FALSE;
  }
  if (plan->input.rank == 3 && lam_shape_numel (&plan->input) == in) {
    *shape = plan->input;
    return TRUE;
  }
  return FALSE;
}

/* Fills tile t of the strip from one unit's weights: `channels` planes
 * `plane` floats apart, each with n values laid out in rows of wd. */
static void
fill_tile (LamWeightsView *self, guint t, const float *w, int channels, gsize plane, gsize n,
           int wd)
{
  guint8 *data = cairo_image_surface_get_data (self->strip);
  int stride = cairo_image_surface_get_stride (self->strip);
  int h = self->tile_h;
  g_autofree float *mean = NULL;
  const float *values = w;
  float lo = G_MAXFLOAT, hi = -G_MAXFLOAT;

  if (self->style == TILES_DIVERGING && channels > 1) {
    mean = g_new0 (float, n);
    for (int c = 0; c < channels; c++)
      for (gsize i = 0; i < n; i++)
        mean[i] += w[c * plane + i] / channels;
    values = mean;
  }
  int shown = self->style == TILES_RGB ? 3 : 1;
  for (int c = 0; c < shown; c++) {
    for (gsize i = 0; i < n; i++) {
      float v = values[c * plane + i];
      lo = MIN (lo, v);
      hi = MAX (hi, v);
    }
  }
  self->tile_min[t] = lo;
  self->tile_max[t] = hi;
  double scale = MAX (fabs (lo), fabs (hi));
  if (!(scale > 0))
    scale = 1;

  for (int y = 0; y < h; y++) {
    guint32 *row = (guint32 *) (data + (gsize) y * stride) + (gsize) t * self->tile_w;
    for (int x = 0; x < self->tile_w; x++) {
      if ((gsize) y * wd + x >= n) {
        row[x] = pack_rgb (0.97, 0.97, 0.97);
        continue;
      }
      gsize i = (gsize) y * wd + x;
      double r, g, b;
      if (self->style == TILES_RGB) {
        r = values[i] / scale / 2 + 0.5;
        g = values[plane + i] / scale / 2 + 0.5;
        b = values[2 * plane + i] / scale / 2 + 0.5;
      } else {
        diverging_color (values[i] / scale, &r, &g, &b);
      }
      row[x] = pack_rgb (r, g, b);
    }
  }
}

/* A flat input is a table's row, not a picture: its squares are inputs,
 * named when the columns are known and few enough to list. */
static char *
flat_caption (LamWeightsView *self, int index, gsize per_unit)
{
  if (self->input_names != NULL && g_strv_length (self->input_names) == per_unit && per_unit <= 6) {
    g_autofree char *names = g_strjoinv (", ", self->input_names);
    return g_strdup_printf ("Each tile is what one unit of layer %d looks for: one square per "
                            "input (%s), red where a larger input pushes it up, blue where it "
                            "pulls it down.",
                            index + 1, names);
  }
  return g_strdup_printf ("Each tile is what one unit of layer %d looks for: one square per "
                          "input, red where a larger input pushes it up, blue where it pulls "
                          "it down.",
                          index + 1);
}

static void
take_weights (LamWeightsView *self, const LamModelPlan *plan, const float *params)
{
  int index = -1;
  /* The first layer whose weights are templates of its input (a batch
   * norm's are one scale per channel). */
  for (int i = 0; i < plan->n_layers && index < 0; i++)
    if ((plan->layers[i].spec.kind == LAM_LAYER_LINEAR ||
         plan->layers[i].spec.kind == LAM_LAYER_CONV2D) &&
        plan->layers[i].n_weights > 0)
      index = i;
  if (index < 0) {
    self->empty_text = NO_WEIGHTS_TEXT;
    return;
  }

  const LamLayer *layer = &plan->layers[index];
  const float *weights = params + layer->weight_offset;
  int channels, h, w;
  gsize per_unit;

  self->layer = index;
  self->kind = layer->spec.kind;
  self->n_units = (guint) layer->spec.out;

  if (layer->spec.kind == LAM_LAYER_CONV2D) {
    int k = layer->spec.kernel;
    channels = layer->in_shape.dims[0];
    h = w = k;
    per_unit = (gsize) channels * k * k;
    self->style = channels == 3 ? TILES_RGB : TILES_DIVERGING;
    self->title = g_strdup_printf ("Layer %d · conv2d · %d filters of %d×%d", index + 1,
                                   layer->spec.out, k, k);
    if (self->style == TILES_RGB)
      self->caption = g_strdup_printf ("Each tile is one %d×%d filter of layer %d, in colour: it "
                                       "responds where a patch of the image looks like it.",
                                       k, k, index + 1);
    else if (channels > 1)
      self->caption = g_strdup_printf ("Each tile is one %d×%d filter of layer %d (the mean over "
                                       "its %d input channels): red pixels push its response "
                                       "up, blue pull it down.",
                                       k, k, index + 1, channels);
    else
      self->caption = g_strdup_printf ("Each tile is one %d×%d filter of layer %d, slid over the "
                                       "image: red pixels push its response up, blue pull it "
                                       "down.",
                                       k, k, index + 1);
  } else {
    LamShape image;
    per_unit = lam_shape_numel (&layer->in_shape);
    gboolean flat = !linear_image_shape (plan, index, &image);
    if (!flat) {
      channels = image.dims[0];
      h = image.dims[1];
      w = image.dims[2];
      self->style = channels == 3 ? TILES_RGB : TILES_DIVERGING;
    } else {
      /* A flat input has no picture: its weights go in rows, square-ish. */
      channels = 1;
      w = (int) ceil (sqrt ((double) per_unit));
      h = (int) ((per_unit + w - 1) / w);
      self->style = TILES_DIVERGING;
    }
    self->title = g_strdup_printf ("Layer %d · linear · %zu inputs → %d units", index + 1,
                                   per_unit, layer->spec.out);
    if (self->style == TILES_RGB)
      self->caption = g_strdup_printf ("Each tile is what one unit of layer %d looks for, in "
                                       "colour: its %zu weights laid out on the %d×%d image.",
                                       index + 1, per_unit, h, w);
    else if (channels > 1)
      self->caption = g_strdup_printf ("Each tile is what one unit of layer %d looks for (the "
                                       "mean over %d channels): red pixels push it up, blue "
                                       "pull it down.",
                                       index + 1, channels);
    else if (!flat)
      self->caption = g_strdup_printf ("Each tile is what one unit of layer %d looks for: red "
                                       "pixels push it up, blue pull it down.",
                                       index + 1);
    else
      self->caption = flat_caption (self, index, per_unit);
  }

  self->tile_w = w;
  self->tile_h = h;
  self->per_unit = per_unit;
  self->channels = channels;
  self->plane = MIN ((gsize) h * w, per_unit);
  self->weights = g_memdup2 (weights, sizeof (float) * per_unit * self->n_units);
}

static guint
n_pages (LamWeightsView *self)
{
  return self->layer < 0 ? 0 : (self->n_units + self->max_tiles - 1) / self->max_tiles;
}

/* The tiles of the current page, from the kept weights: counted now,
 * painted when first drawn or asked about (ensure_strip). The Evaluate
 * page gives this view every epoch's weights while another tab shows. */
static void
count_page_tiles (LamWeightsView *self)
{
  clear_page (self);
  if (self->layer < 0 || self->n_units == 0)
    return;
  guint first = first_unit (self);
  self->n_tiles = MIN (self->max_tiles, self->n_units - first);
}

static void
ensure_strip (LamWeightsView *self)
{
  if (self->strip != NULL || self->n_tiles == 0)
    return;
  guint first = first_unit (self);
  self->strip = cairo_image_surface_create (CAIRO_FORMAT_RGB24,
                                            (int) (self->tile_w * self->n_tiles), self->tile_h);
  self->tile_min = g_new (float, self->n_tiles);
  self->tile_max = g_new (float, self->n_tiles);
  for (guint t = 0; t < self->n_tiles; t++)
    fill_tile (self, t, self->weights + (gsize) (first + t) * self->per_unit, self->channels,
               self->plane, self->plane, self->tile_w);
  cairo_surface_mark_dirty (self->strip);
}

/* The pager shows only when the units take more than one page; its
 * buttons are enabled where there is a page to go to. */
static void
update_pager (LamWeightsView *self)
{
  guint pages = n_pages (self);
  gtk_widget_set_visible (self->pager, pages > 1);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "weights.previous-page", self->page > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "weights.next-page", self->page + 1 < pages);
  if (pages <= 1) {
    gtk_label_set_text (self->pager_label, "");
    return;
  }
  guint first = first_unit (self);
  /* "Units 65–128 of 256", counted from 1. */
  g_autofree char *text =
    g_strdup_printf ("%s %u–%u of %u", self->kind == LAM_LAYER_CONV2D ? "Filters" : "Units",
                     first + 1, first + self->n_tiles, self->n_units);
  gtk_label_set_text (self->pager_label, text);
}

/* Everything the view's size follows from, bar its style (css_changed
 * asks again for that). */
static char *
measure_key (LamWeightsView *self)
{
  int tile_w = 0, tile_h = 0;
  if (self->layer >= 0)
    tile_pixel_size (self, &tile_w, &tile_h);
  return g_strdup_printf ("%d %u %d %d %d\n%s\n%s\n%s", self->layer, self->n_tiles, tile_w, tile_h,
                          gtk_widget_get_visible (self->pager), self->title ? self->title : "",
                          self->caption ? self->caption : "", self->empty_text);
}

static void
show_page (LamWeightsView *self, guint page)
{
  guint pages = n_pages (self);
  page = pages > 0 ? MIN (page, pages - 1) : 0;
  gboolean changed = page != self->page;
  self->page = page;
  count_page_tiles (self);
  update_pager (self);
  /* The next epoch's weights of the same layer keep the size. Measured
   * again after every epoch though another tab showed, the Evaluate
   * page's frame after an MLP epoch took 38.5 ms (quartiles 34.3-41.2)
   * instead of 35.8 (31.3-39.8), 48 epochs each way in alternating runs
   * of lamina bench --latency. */
  g_autofree char *key = measure_key (self);
  if (g_strcmp0 (key, self->measured) != 0) {
    g_free (self->measured);
    self->measured = g_steal_pointer (&key);
    gtk_widget_queue_resize (GTK_WIDGET (self));
  }
  gtk_widget_queue_draw (GTK_WIDGET (self));
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PAGE]);
}

static void
action_page (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  LamWeightsView *self = LAM_WEIGHTS_VIEW (widget);
  if (g_str_equal (action_name, "weights.next-page"))
    show_page (self, self->page + 1);
  else if (self->page > 0)
    show_page (self, self->page - 1);
}

void
lam_weights_view_set_weights (LamWeightsView *self, const LamModelPlan *plan, const float *params)
{
  g_return_if_fail (LAM_IS_WEIGHTS_VIEW (self));
  g_return_if_fail (plan == NULL || params != NULL || plan->n_params == 0);

  /* New weights of the same layer (the next epoch's) stay on the page
   * the person turned to. */
  int layer = self->layer;
  guint units = self->n_units;
  clear_weights (self);
  self->empty_text = NO_MODEL_TEXT;
  if (plan != NULL)
    take_weights (self, plan, params);
  show_page (self, self->layer >= 0 && self->layer == layer && self->n_units == units ? self->page
                                                                                       : 0);
}

void
lam_weights_view_set_input_names (LamWeightsView *self, const char *const *names)
{
  g_return_if_fail (LAM_IS_WEIGHTS_VIEW (self));
  g_strfreev (self->input_names);
  self->input_names = g_strdupv ((char **) names);
}

const char *
lam_weights_view_get_caption (LamWeightsView *self)
{
  g_return_val_if_fail (LAM_IS_WEIGHTS_VIEW (self), NULL);
  return self->caption;
}

void
lam_weights_view_clear (LamWeightsView *self)
{
  g_return_if_fail (LAM_IS_WEIGHTS_VIEW (self));
  lam_weights_view_set_weights (self, NULL, NULL);
}

int
lam_weights_view_get_layer (LamWeightsView *self)
{
  g_return_val_if_fail (LAM_IS_WEIGHTS_VIEW (self), -1);
  return self->layer;
}

guint
lam_weights_view_get_n_tiles (LamWeightsView *self)
{
  g_return_val_if_fail (LAM_IS_WEIGHTS_VIEW (self), 0);
  return self->n_tiles;
}

guint
lam_weights_view_get_n_units (LamWeightsView *self)
{
  g_return_val_if_fail (LAM_IS_WEIGHTS_VIEW (self), 0);
  return self->n_units;
}

guint
lam_weights_view_get_page (LamWeightsView *self)
{
  g_return_val_if_fail (LAM_IS_WEIGHTS_VIEW (self), 0);
  return self->page;
}

guint
lam_weights_view_get_n_pages (LamWeightsView *self)
{
  g_return_val_if_fail (LAM_IS_WEIGHTS_VIEW (self), 0);
  return n_pages (self);
}

void
lam_weights_view_set_page (LamWeightsView *self, guint page)
{
  g_return_if_fail (LAM_IS_WEIGHTS_VIEW (self));
  show_page (self, page);
}

guint
lam_weights_view_get_first_unit (LamWeightsView *self)
{
  g_return_val_if_fail (LAM_IS_WEIGHTS_VIEW (self), 0);
  return first_unit (self);
}

const char *
lam_weights_view_get_page_text (LamWeightsView *self)
{
  g_return_val_if_fail (LAM_IS_WEIGHTS_VIEW (self), NULL);
  return gtk_widget_get_visible (self->pager) ? gtk_label_get_text (self->pager_label) : NULL;
}

void
lam_weights_view_set_max_tiles (LamWeightsView *self, guint max_tiles)
{
  g_return_if_fail (LAM_IS_WEIGHTS_VIEW (self));
  max_tiles = MAX (max_tiles, 1);
  if (self->max_tiles == max_tiles)
    return;
  /* The page that now holds the first unit shown. */
  guint first = first_unit (self);
  self->max_tiles = max_tiles;
  show_page (self, first / max_tiles);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_TILES]);
}

void
lam_weights_view_set_tile_size (LamWeightsView *self, int tile_size)
{
  g_return_if_fail (LAM_IS_WEIGHTS_VIEW (self));
  tile_size = CLAMP (tile_size, 8, 512);
  if (self->tile_size == tile_size)
    return;
  self->tile_size = tile_size;
  gtk_widget_queue_resize (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TILE_SIZE]);
}
