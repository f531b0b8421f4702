#include "lam-feature-map-view.h"

#include <math.h>

#include "lam-chart.h"
#include "lam-ui-util.h"

/* Layout, in logical pixels. */
#define MARGIN 6
#define GAP 6             /* between caption, plot and legend */
#define LEGEND_SPACING 14 /* between legend items */
#define FIT_PAD 8         /* a fitted view keeps the dots this far from the frame */
#define HIT_SLOP 4        /* a dot answers the pointer this far beyond its rim */
#define CELL 16           /* hit-testing grid */
#define DRAG_THRESHOLD 4  /* less movement than this is a click */
#define ZOOM_STEP 1.25
#define PAN_STEP 0.1      /* of the plot's shorter side */
/* How far a view may zoom, against the fitted one. */
#define MAX_ZOOM 500.0
#define MIN_ZOOM 0.05

enum
{
  VARIANT_NORMAL,
  VARIANT_DIMMED, /* outside the selection */
  VARIANT_WRONG,  /* misclassified: ringed */
  N_VARIANTS
};

typedef struct
{
  double x0, y0, x1, y1;
} Box;

typedef enum
{
  DRAG_NONE,
  DRAG_PAN,
  DRAG_LASSO,
} DragKind;

struct _LamFeatureMapView
{
  GtkWidget parent_instance;

  int n;
  float *xy;          /* owned: n × 2 */
  gint32 *labels;     /* owned: n, clamped: n_classes for a label out of range */
  gint32 *predicted;  /* owned: n, or NULL */
  int n_valid;        /* points with finite coordinates */
  int n_classes;
  char **class_names; /* owned: n_classes */
  char *caption;      /* owned */

  guint8 *selected;   /* owned: n, or NULL for no selection */
  guint n_selected;
  GArray *selection_polygon; /* owned: doubles, (x, y) in map coordinates */

  gboolean marker_shown;
  double marker_x, marker_y;
  char *marker_label; /* owned */

  LamFeatureMapThumbnailFunc thumbnail_func;
  gpointer thumbnail_data;
  GDestroyNotify thumbnail_destroy;
  int thumb_index;            /* the point thumb_surface shows, -1 */
  cairo_surface_t *thumb_surface; /* owned, may be NULL */
  LamFeatureMapCardLinesFunc card_lines_func;
  gpointer card_lines_data;
  GDestroyNotify card_lines_destroy;

  gboolean lasso;
  gboolean rows; /* the points are a table's rows, not images */

  /* The view: map point (cx, cy) at the plot's centre, radius map units
   * across half the plot's shorter side. While auto_fit, they are fitted
   * to fit_box at every layout, so a resize keeps the map whole. */
  gboolean auto_fit;
  gboolean has_fit_box;
  Box fit_box;
  double cx, cy, radius;

  /* Layout of the last allocation. */
  int width, height;
  gboolean layout_valid;
  double plot_x, plot_y, plot_w, plot_h;
  double scale; /* pixels per map unit */
  double caption_y;
  double dot_radius;
  int n_legend; /* n_classes, plus one item for the ring when predictions are set */
  double *legend_x, *legend_y; /* owned: n_legend */
  double legend_line;

  PangoLayout **legend_layouts; /* owned: n_legend */
  PangoLayout *caption_layout;  /* owned */
  PangoLayout *status_layout;   /* owned */
  PangoLayout *empty_layout;    /* owned */

  /* The dots, drawn once per change of points or view: pointer motion
   * reuses them, and a renderer keeps the texture uploaded. */
  gboolean screen_valid;
  float *screen;      /* owned: n × 2 widget coordinates, NAN where not shown */
  int grid_w, grid_h;
  int *grid_start;    /* owned: grid_w × grid_h + 1 */
  int *grid_items;    /* owned: n */
  GdkTexture *dots;   /* owned, NULL when stale */
  cairo_surface_t **sprites; /* owned: (n_classes + 1) × N_VARIANTS, at sprite_scale */
  int n_sprites;
  int sprite_scale;
  int sprite_center;  /* device pixels from a sprite's edge to its centre pixel */

  /* Interaction. */
  int hover;
  gboolean pointer_inside;
  double pointer_x, pointer_y;
  DragKind drag;
  double drag_cx, drag_cy;
  GArray *lasso_points; /* owned: doubles, (x, y) in widget coordinates */
  GtkGesture *drag_gesture; /* borrowed: the widget holds it */
  double pinch_scale;

  GdkRGBA fg, bg, accent, error;
  gboolean dark;
  char *style_key; /* owned: see lam_ui_update_style_key */
};

G_DEFINE_FINAL_TYPE (LamFeatureMapView, lam_feature_map_view, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_CAPTION,
  PROP_LASSO,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SELECTION_CHANGED,
  POINT_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Colours and shapes */

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

/* The charts' run palette: ten hues that keep their contrast on light and
 * dark backgrounds alike. Past ten classes (EMNIST has 47) the hues come
 * round again, so the shape changes with each round instead. */
static void
class_color (LamFeatureMapView *self, int k, GdkRGBA *color)
{
  if (k < 0 || k >= self->n_classes) {
    *color = mix (&self->fg, &self->bg, 0.45);
    return;
  }
  lam_chart_get_run_color ((guint) k, color);
}

static int
class_shape (LamFeatureMapView *self, int k)
{
  if (k < 0 || k >= self->n_classes)
    return 0;
  return (k / LAM_CHART_N_RUN_COLORS) % 4;
}

/* A circle, square, diamond or triangle of about the same area. */
static void
shape_path (cairo_t *cr, int shape, double x, double y, double r)
{
  switch (shape) {
  case 1:
    r *= 0.89;
    cairo_rectangle (cr, x - r, y - r, 2 * r, 2 * r);
    break;
  case 2:
    r *= 1.25;
    cairo_move_to (cr, x, y - r);
    cairo_line_to (cr, x + r, y);
    cairo_line_to (cr, x, y + r);
    cairo_line_to (cr, x - r, y);
    cairo_close_path (cr);
    break;
  case 3:
    r *= 1.35;
    cairo_move_to (cr, x, y - r);
    cairo_line_to (cr, x + r * 0.866, y + r * 0.5);
    cairo_line_to (cr, x - r * 0.866, y + r * 0.5);
    cairo_close_path (cr);
    break;
  default:
    cairo_new_sub_path (cr);
    cairo_arc (cr, x, y, r, 0, 2 * G_PI);
    break;
  }
}

/* One dot as the map draws it: filled in its class's colour with a rim of
 * the background, which keeps overlapping dots apart; a ring in the text
 * colour around a mistake; faint and rimless outside a selection, so the
 * selection stands out and the crowd behind it still shows its density. */
static void
draw_dot (LamFeatureMapView *self, cairo_t *cr, int k, int variant, double x, double y, double r)
{
  GdkRGBA color;
  class_color (self, k, &color);
  int shape = class_shape (self, k);
  if (variant == VARIANT_WRONG) {
    cairo_new_sub_path (cr);
    cairo_arc (cr, x, y, r + 1.8, 0, 2 * G_PI);
    /* Light rings glare on a dark page: a thousand mistakes must not
     * drown the colours. */
    lam_ui_set_source (cr, &self->fg, self->dark ? 0.6 : 0.85);
    cairo_set_line_width (cr, self->dark ? 1.1 : 1.3);
    cairo_stroke (cr);
  }
  shape_path (cr, shape, x, y, r);
  if (variant == VARIANT_DIMMED) {
    lam_ui_set_source (cr, &color, self->dark ? 0.3 : 0.22);
    cairo_fill (cr);
    return;
  }
  lam_ui_set_source (cr, &color, 1);
  cairo_fill_preserve (cr);
  lam_ui_set_source (cr, &self->bg, 0.85);
  cairo_set_line_width (cr, 0.8);
  cairo_stroke (cr);
}

static void
clear_sprites (LamFeatureMapView *self)
{
  for (int i = 0; i < self->n_sprites; i++)
    g_clear_pointer (&self->sprites[i], cairo_surface_destroy);
  g_clear_pointer (&self->sprites, g_free);
  self->n_sprites = 0;
}

/* Every dot is one of a few small pictures: a map of ten thousand dots is
 * then ten thousand small copies instead of as many paths to fill. */
static void
ensure_sprites (LamFeatureMapView *self, int scale)
{
  if (self->sprites != NULL && self->sprite_scale == scale)
    return;
  clear_sprites (self);
  self->sprite_scale = scale;
  self->sprite_center = (int) ceil ((self->dot_radius * 1.4 + 3) * scale);
  int side = 2 * self->sprite_center + 1;
  double centre = (self->sprite_center + 0.5) / scale;
  self->n_sprites = (self->n_classes + 1) * N_VARIANTS;
  self->sprites = g_new0 (cairo_surface_t *, self->n_sprites);
  for (int k = 0; k <= self->n_classes; k++)
    for (int v = 0; v < N_VARIANTS; v++) {
      cairo_surface_t *sprite = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, side, side);
      cairo_t *cr = cairo_create (sprite);
      cairo_scale (cr, scale, scale);
      draw_dot (self, cr, k, v, centre, centre, self->dot_radius);
      cairo_destroy (cr);
      cairo_surface_flush (sprite);
      self->sprites[k * N_VARIANTS + v] = sprite;
    }
}

static void
invalidate_dots (LamFeatureMapView *self)
{
  self->screen_valid = FALSE;
  g_clear_object (&self->dots);
}

static void
invalidate_layout (LamFeatureMapView *self)
{
  self->layout_valid = FALSE;
  invalidate_dots (self);
}

static void
clear_layouts (LamFeatureMapView *self)
{
  for (int i = 0; self->legend_layouts != NULL && i < self->n_legend; i++)
    g_clear_object (&self->legend_layouts[i]);
  g_clear_pointer (&self->legend_layouts, g_free);
  g_clear_pointer (&self->legend_x, g_free);
  g_clear_pointer (&self->legend_y, g_free);
  g_clear_object (&self->caption_layout);
  g_clear_object (&self->status_layout);
  g_clear_object (&self->empty_layout);
  self->n_legend = 0;
  invalidate_layout (self);
}

static void
update_colors (LamFeatureMapView *self)
{
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (self));
  gtk_style_context_get_color (context, &self->fg);
  self->fg.alpha = 1;
  self->dark = luminance (&self->fg) > 0.5;
  if (!gtk_style_context_lookup_color (context, "theme_base_color", &self->bg))
    gdk_rgba_parse (&self->bg, self->dark ? "#1e1e1e" : "#ffffff");
  self->bg.alpha = 1;
  if (!gtk_style_context_lookup_color (context, "theme_selected_bg_color", &self->accent))
    gdk_rgba_parse (&self->accent, "#3584e4");
  self->accent.alpha = 1;
  /* The dark style's accent is too dark to outline on a dark page. */
  if (self->dark) {
    GdkRGBA white = { 1, 1, 1, 1 };
    self->accent = mix (&self->accent, &white, 0.45);
  }
  gdk_rgba_parse (&self->error, self->dark ? "#f66151" : "#c01c28");
}

/* Layout and view */

static double
dot_radius_for (LamFeatureMapView *self)
{
  /* Larger dots while they are few; presentation mode enlarges them with
   * the text. */
  double r = self->n_valid <= 300 ? 4.5 : self->n_valid <= 2000 ? 3.5 : 2.75;
  return r * MAX (1.0, lam_ui_font_pixels (GTK_WIDGET (self)) / 13.0);
}

static const char *
class_name (LamFeatureMapView *self, int k)
{
  if (k >= 0 && k < self->n_classes && self->class_names != NULL)
    return self->class_names[k];
  return "Unknown class";
}

static void
ensure_text_layouts (LamFeatureMapView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  if (self->legend_layouts == NULL) {
    self->n_legend = self->n_classes + (self->predicted != NULL ? 1 : 0);
    self->legend_layouts = g_new0 (PangoLayout *, MAX (self->n_legend, 1));
    self->legend_x = g_new0 (double, MAX (self->n_legend, 1));
    self->legend_y = g_new0 (double, MAX (self->n_legend, 1));
    for (int k = 0; k < self->n_legend; k++) {
      const char *text = k < self->n_classes ? class_name (self, k) : "misclassified";
      self->legend_layouts[k] = lam_ui_create_layout (widget, text, PANGO_SCALE_SMALL, FALSE,
                                                      FALSE);
    }
  }
  if (self->caption_layout == NULL) {
    self->caption_layout = lam_ui_create_layout (widget, self->caption ? self->caption : "",
                                                 PANGO_SCALE_SMALL, FALSE, TRUE);
    pango_layout_set_ellipsize (self->caption_layout, PANGO_ELLIPSIZE_END);
  }
  if (self->status_layout == NULL) {
    g_autofree char *text = NULL;
    if (self->selected != NULL) {
      g_autofree char *count = lam_ui_format_count (self->n_selected);
      text = g_strdup_printf ("%s selected · Esc clears", count);
    }
    self->status_layout = lam_ui_create_layout (widget, text ? text : "", PANGO_SCALE_SMALL,
                                                FALSE, TRUE);
  }
  if (self->empty_layout == NULL)
    self->empty_layout = lam_ui_create_layout (widget, "No map yet", 1.0, FALSE, FALSE);
}

/* The view that shows box whole in the current plot. */
static void
fit_view (LamFeatureMapView *self, const Box *box)
{
  double half = MAX (MIN (self->plot_w, self->plot_h), 1) / 2;
  double usable_w = MAX (self->plot_w - 2 * (FIT_PAD + self->dot_radius), 1);
  double usable_h = MAX (self->plot_h - 2 * (FIT_PAD + self->dot_radius), 1);
  double span_w = box->x1 - box->x0, span_h = box->y1 - box->y0;
  /* A map whose points all coincide still gets a finite view. */
  double span = MAX (span_w, span_h);
  if (!(span > 1e-12))
    span = 1;
  span_w = MAX (span_w, span * 1e-3);
  span_h = MAX (span_h, span * 1e-3);
  double scale = MIN (usable_w / span_w, usable_h / span_h);
  self->cx = (box->x0 + box->x1) / 2;
  self->cy = (box->y0 + box->y1) / 2;
  self->radius = half / scale;
}

static double
fit_span (LamFeatureMapView *self)
{
  if (!self->has_fit_box)
    return 1;
  double span = MAX (self->fit_box.x1 - self->fit_box.x0, self->fit_box.y1 - self->fit_box.y0);
  return span > 1e-12 ? span : 1;
}

static void
ensure_layout (LamFeatureMapView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  if (self->layout_valid && width == self->width && height == self->height)
    return;
  invalidate_dots (self);
  self->width = width;
  self->height = height;
  self->layout_valid = TRUE;
  ensure_text_layouts (self);
  self->dot_radius = dot_radius_for (self);
  clear_sprites (self);

  /* Caption and selection status on the first line, kept even when both
   * are empty: a selection appearing must not shift the map under the
   * lasso that made it. */
  int cw, ch, sw, sh;
  pango_layout_set_width (self->caption_layout, -1);
  pango_layout_get_pixel_size (self->caption_layout, &cw, &ch);
  pango_layout_get_pixel_size (self->status_layout, &sw, &sh);
  double top = MARGIN;
  self->caption_y = top;
  double room = width - 2 * MARGIN - (sw > 0 ? sw + 2 * GAP : 0);
  pango_layout_set_width (self->caption_layout, (int) MAX (room, 1) * PANGO_SCALE);
  top += MAX (ch, sh) + GAP;

  /* The legend below the plot, its items flowing into centred rows. */
  double swatch = self->dot_radius * 2 + 4;
  double max_row = MAX (width - 2 * MARGIN, 1);
  self->legend_line = 0;
  for (int k = 0; k < self->n_legend; k++) {
    int w, h;
    pango_layout_get_pixel_size (self->legend_layouts[k], &w, &h);
    self->legend_line = MAX (self->legend_line, MAX (h, swatch));
  }
  int rows = 0;
  int row_start = 0;
  double row_width = 0;
  for (int k = 0; k <= self->n_legend; k++) {
    double item = 0;
    if (k < self->n_legend) {
      int w, h;
      pango_layout_get_pixel_size (self->legend_layouts[k], &w, &h);
      item = swatch + 4 + w;
    }
    if (k == self->n_legend || (k > row_start && row_width + LEGEND_SPACING + item > max_row)) {
      /* Lay out the row just ended, centred. */
      double x = MARGIN + MAX (0, (max_row - row_width) / 2);
      for (int j = row_start; j < k; j++) {
        int w, h;
        pango_layout_get_pixel_size (self->legend_layouts[j], &w, &h);
        self->legend_x[j] = x;
        self->legend_y[j] = rows * self->legend_line;
        x += swatch + 4 + w + LEGEND_SPACING;
      }
      if (k > row_start)
        rows++;
      row_start = k;
      row_width = 0;
    }
    if (k < self->n_legend)
      row_width += (row_width > 0 ? LEGEND_SPACING : 0) + item;
  }
  double legend_h = rows * self->legend_line;
  double legend_top = height - MARGIN - legend_h;
  for (int k = 0; k < self->n_legend; k++)
    self->legend_y[k] += legend_top;

  self->plot_x = MARGIN;
  self->plot_y = top;
  self->plot_w = MAX (width - 2 * MARGIN, 0);
  self->plot_h = MAX (legend_top - (rows > 0 ? GAP : 0) - top, 0);

  if (self->auto_fit && self->has_fit_box)
    fit_view (self, &self->fit_box);
  self->scale = MIN (self->plot_w, self->plot_h) / (2 * self->radius);
}

static gboolean
has_plot (LamFeatureMapView *self)
{
  ensure_layout (self);
  return self->plot_w > 1 && self->plot_h > 1 && self->scale > 0 && isfinite (self->scale);
}

static void
to_widget (LamFeatureMapView *self, double x, double y, double *wx, double *wy)
{
  *wx = self->plot_x + self->plot_w / 2 + (x - self->cx) * self->scale;
  *wy = self->plot_y + self->plot_h / 2 - (y - self->cy) * self->scale;
}

static void
to_map (LamFeatureMapView *self, double wx, double wy, double *x, double *y)
{
  *x = self->cx + (wx - self->plot_x - self->plot_w / 2) / self->scale;
  *y = self->cy - (wy - self->plot_y - self->plot_h / 2) / self->scale;
}

static void
update_accessible_label (LamFeatureMapView *self)
{
  g_autoptr (GString) text = g_string_new ("Map of what the network learned");
  if (self->n_valid > 0) {
    g_autofree char *count = lam_ui_format_count ((guint64) self->n_valid);
    g_string_append_printf (text, ": %s %s in %d classes, placed by their features", count,
                            self->rows ? "rows" : "images", self->n_classes);
  }
  if (self->selected != NULL)
    g_string_append_printf (text, "; %u selected", self->n_selected);
  lam_ui_set_accessible_label (GTK_WIDGET (self), text->str);
}

/* Leaves fitting: from now on the view moves only when asked to. */
static gboolean
take_view (LamFeatureMapView *self)
{
  if (!has_plot (self))
    return FALSE;
  self->auto_fit = FALSE;
  return TRUE;
}

static void set_hover (LamFeatureMapView *self, int index);

static void
view_changed (LamFeatureMapView *self)
{
  self->scale = MIN (self->plot_w, self->plot_h) / (2 * self->radius);
  invalidate_dots (self);
  /* What lies under a still pointer changed with the view. */
  if (self->pointer_inside && self->drag == DRAG_NONE)
    set_hover (self, lam_feature_map_view_get_point_at (self, self->pointer_x, self->pointer_y));
  else if (self->drag != DRAG_NONE)
    set_hover (self, -1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Dots and hit testing */

static void
ensure_screen (LamFeatureMapView *self)
{
  if (self->screen_valid)
    return;
  self->screen_valid = TRUE;
  g_clear_pointer (&self->grid_start, g_free);
  self->grid_w = self->grid_h = 0;
  if (self->n == 0 || !has_plot (self))
    return;
  self->grid_w = (int) ceil (self->plot_w / CELL);
  self->grid_h = (int) ceil (self->plot_h / CELL);
  int cells = self->grid_w * self->grid_h;
  self->grid_start = g_new0 (int, cells + 1);
  /* A counting sort of the shown points into cells. */
  int *cell_of = g_new (int, self->n);
  double margin = self->dot_radius;
  for (int i = 0; i < self->n; i++) {
    double x = self->xy[2 * i], y = self->xy[2 * i + 1];
    cell_of[i] = -1;
    self->screen[2 * i] = self->screen[2 * i + 1] = NAN;
    if (!isfinite (x) || !isfinite (y))
      continue;
    double wx, wy;
    to_widget (self, x, y, &wx, &wy);
    double px = wx - self->plot_x, py = wy - self->plot_y;
    if (px < -margin || py < -margin || px > self->plot_w + margin ||
        py > self->plot_h + margin)
      continue;
    self->screen[2 * i] = (float) wx;
    self->screen[2 * i + 1] = (float) wy;
    int gx = CLAMP ((int) (px / CELL), 0, self->grid_w - 1);
    int gy = CLAMP ((int) (py / CELL), 0, self->grid_h - 1);
    cell_of[i] = gy * self->grid_w + gx;
    self->grid_start[cell_of[i] + 1]++;
  }
  for (int c = 0; c < cells; c++)
    self->grid_start[c + 1] += self->grid_start[c];
  g_autofree int *fill = g_memdup2 (self->grid_start, sizeof (int) * cells);
  for (int i = 0; i < self->n; i++)
    if (cell_of[i] >= 0)
      self->grid_items[fill[cell_of[i]]++] = i;
  g_free (cell_of);
}

static int
variant_of (LamFeatureMapView *self, int i)
{
  if (self->selected != NULL && !self->selected[i])
    return VARIANT_DIMMED;
  if (self->predicted != NULL && self->predicted[i] != self->labels[i])
    return VARIANT_WRONG;
  return VARIANT_NORMAL;
}

static void
ensure_dots (LamFeatureMapView *self)
{
  if (self->dots != NULL)
    return;
  ensure_screen (self);
  if (self->n_valid == 0 || !has_plot (self))
    return;
  int scale = gtk_widget_get_scale_factor (GTK_WIDGET (self));
  ensure_sprites (self, scale);
  int width = (int) ceil (self->plot_w * scale), height = (int) ceil (self->plot_h * scale);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);
  int side = 2 * self->sprite_center + 1;
  /* Faint dots first, mistakes last: what matters lies on top. Within a
   * pass, the data's order. */
  static const int passes[] = { VARIANT_DIMMED, VARIANT_NORMAL, VARIANT_WRONG };
  for (guint pass = 0; pass < G_N_ELEMENTS (passes); pass++)
    for (int i = 0; i < self->n; i++) {
      if (isnan (self->screen[2 * i]) || variant_of (self, i) != passes[pass])
        continue;
      /* Whole device pixels: the copy is then a plain blit. */
      int ox = (int) floor ((self->screen[2 * i] - self->plot_x) * scale) - self->sprite_center;
      int oy =
        (int) floor ((self->screen[2 * i + 1] - self->plot_y) * scale) - self->sprite_center;
      cairo_set_source_surface (cr, self->sprites[self->labels[i] * N_VARIANTS + passes[pass]],
                                ox, oy);
      cairo_rectangle (cr, ox, oy, side, side);
      cairo_fill (cr);
    }
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  int stride = cairo_image_surface_get_stride (surface);
  g_autoptr (GBytes) bytes =
    g_bytes_new_with_free_func (cairo_image_surface_get_data (surface), (gsize) stride * height,
                                (GDestroyNotify) cairo_surface_destroy, surface);
  self->dots = gdk_memory_texture_new (width, height, GDK_MEMORY_DEFAULT, bytes, stride);
}

/* Drawing */

static void
show_layout_at (cairo_t *cr, PangoLayout *layout, const GdkRGBA *color, double alpha, double x,
                double y)
{
  lam_ui_set_source (cr, color, alpha);
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
}

/* Everything below the dots: the frame, the axes through the origin, the
 * caption and the legend. */
static void
draw_chrome (LamFeatureMapView *self, cairo_t *cr)
{
  double x = self->plot_x, y = self->plot_y, w = self->plot_w, h = self->plot_h;
  lam_ui_rounded_rect (cr, x + 0.5, y + 0.5, w - 1, h - 1, 6);
  lam_ui_set_source (cr, &self->bg, self->dark ? 0.5 : 0.7);
  cairo_fill_preserve (cr);
  lam_ui_set_source (cr, &self->fg, 0.15);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);

  if (self->n_valid > 0) {
    double ox, oy;
    to_widget (self, 0, 0, &ox, &oy);
    cairo_save (cr);
    cairo_rectangle (cr, x, y, w, h);
    cairo_clip (cr);
    lam_ui_set_source (cr, &self->fg, 0.12);
    double dash[] = { 4, 3 };
    cairo_set_dash (cr, dash, 2, 0);
    cairo_move_to (cr, round (ox) + 0.5, y);
    cairo_line_to (cr, round (ox) + 0.5, y + h);
    cairo_move_to (cr, x, round (oy) + 0.5);
    cairo_line_to (cr, x + w, round (oy) + 0.5);
    cairo_stroke (cr);
    cairo_restore (cr);
  } else {
    int ew, eh;
    pango_layout_get_pixel_size (self->empty_layout, &ew, &eh);
    show_layout_at (cr, self->empty_layout, &self->fg, 0.5, x + (w - ew) / 2, y + (h - eh) / 2);
  }

  show_layout_at (cr, self->caption_layout, &self->fg, 0.7, MARGIN, self->caption_y);
  int sw, sh;
  pango_layout_get_pixel_size (self->status_layout, &sw, &sh);
  if (sw > 0)
    show_layout_at (cr, self->status_layout, &self->accent, 1, self->width - MARGIN - sw,
                    self->caption_y);

  double swatch = self->dot_radius * 2 + 4;
  for (int k = 0; k < self->n_legend; k++) {
    int w_text, h_text;
    pango_layout_get_pixel_size (self->legend_layouts[k], &w_text, &h_text);
    double cy = self->legend_y[k] + self->legend_line / 2;
    double cx = self->legend_x[k] + swatch / 2;
    if (k < self->n_classes)
      draw_dot (self, cr, k, VARIANT_NORMAL, cx, cy, self->dot_radius * 1.2);
    else
      draw_dot (self, cr, self->n_classes, VARIANT_WRONG, cx, cy, self->dot_radius);
    show_layout_at (cr, self->legend_layouts[k], &self->fg, 0.85, self->legend_x[k] + swatch + 4,
                    cy - h_text / 2.0);
  }
}

static void
polygon_path (cairo_t *cr, const double *xy, guint n)
{
  for (guint v = 0; v < n; v++)
    if (v == 0)
      cairo_move_to (cr, xy[0], xy[1]);
    else
      cairo_line_to (cr, xy[2 * v], xy[2 * v + 1]);
  cairo_close_path (cr);
}

static void
draw_lasso (LamFeatureMapView *self, cairo_t *cr, const double *xy, guint n, gboolean active)
{
  if (n < 2)
    return;
  polygon_path (cr, xy, n);
  lam_ui_set_source (cr, &self->accent, active ? 0.12 : 0.06);
  cairo_fill_preserve (cr);
  lam_ui_set_source (cr, &self->accent, active ? 0.9 : 0.6);
  cairo_set_line_width (cr, 1.5);
  double dash[] = { 5, 3 };
  cairo_set_dash (cr, dash, 2, 0);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
}

/* A four-pointed star: no dot looks like it. */
static void
draw_marker (LamFeatureMapView *self, cairo_t *cr, double x, double y)
{
  double r = MAX (9, lam_ui_font_pixels (GTK_WIDGET (self)) * 0.8);
  for (int p = 0; p < 8; p++) {
    double angle = p * G_PI / 4 - G_PI / 2;
    double d = p % 2 == 0 ? r : r * 0.38;
    if (p == 0)
      cairo_move_to (cr, x + d * cos (angle), y + d * sin (angle));
    else
      cairo_line_to (cr, x + d * cos (angle), y + d * sin (angle));
  }
  cairo_close_path (cr);
  lam_ui_set_source (cr, &self->bg, 1);
  cairo_set_line_width (cr, 4);
  cairo_stroke_preserve (cr);
  lam_ui_set_source (cr, &self->accent, 1);
  cairo_fill_preserve (cr);
  lam_ui_set_source (cr, &self->fg, 1);
  cairo_set_line_width (cr, 1.2);
  cairo_stroke (cr);

  if (self->marker_label == NULL || self->marker_label[0] == '\0')
    return;
  g_autoptr (PangoLayout) layout =
    lam_ui_create_layout (GTK_WIDGET (self), self->marker_label, PANGO_SCALE_SMALL, TRUE, FALSE);
  int w, h;
  pango_layout_get_pixel_size (layout, &w, &h);
  double lx = x + r + 4, ly = y - h / 2.0;
  if (lx + w > self->plot_x + self->plot_w)
    lx = x - r - 4 - w;
  /* A halo of the background keeps the label legible over the dots. */
  cairo_move_to (cr, lx, ly);
  pango_cairo_layout_path (cr, layout);
  lam_ui_set_source (cr, &self->bg, 0.9);
  cairo_set_line_width (cr, 3);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_stroke (cr);
  show_layout_at (cr, layout, &self->fg, 1, lx, ly);
}

static cairo_surface_t *
surface_from_texture (GdkTexture *texture)
{
  int w = gdk_texture_get_width (texture), h = gdk_texture_get_height (texture);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  cairo_surface_flush (surface);
  gdk_texture_download (texture, cairo_image_surface_get_data (surface),
                        cairo_image_surface_get_stride (surface));
  cairo_surface_mark_dirty (surface);
  return surface;
}

static void
ensure_thumbnail (LamFeatureMapView *self)
{
  if (self->thumb_index == self->hover)
    return;
  g_clear_pointer (&self->thumb_surface, cairo_surface_destroy);
  self->thumb_index = self->hover;
  if (self->hover < 0 || self->thumbnail_func == NULL)
    return;
  g_autoptr (GdkTexture) texture = self->thumbnail_func ((guint) self->hover,
                                                         self->thumbnail_data);
  if (texture != NULL)
    self->thumb_surface = surface_from_texture (texture);
}

/* A few of a row's values are enough to tell it from its neighbours. */
#define CARD_VALUE_LINES 6
#define CARD_PAD 6

/* The text of point i's card, each part a layout: its title, its values
 * (a table row's, NULL for an image) and what it was taken for (NULL
 * without predictions). The values are as many lines as fit the view. */
static void
create_card_layouts (LamFeatureMapView *self, int i, PangoLayout **title_layout,
                     PangoLayout **values_layout, PangoLayout **note_layout)
{
  g_autofree char *title = lam_feature_map_view_dup_card_title (self, i);
  *title_layout = lam_ui_create_layout (GTK_WIDGET (self), title, PANGO_SCALE_SMALL, TRUE, FALSE);
  *note_layout = NULL;
  if (self->predicted != NULL) {
    g_autofree char *note =
      self->predicted[i] == self->labels[i]
        ? g_strdup ("recognised")
        : g_strdup_printf ("taken for %s", class_name (self, self->predicted[i]));
    *note_layout = lam_ui_create_layout (GTK_WIDGET (self), note, PANGO_SCALE_SMALL, FALSE, FALSE);
  }
  *values_layout = NULL;
  if (self->card_lines_func == NULL)
    return;
  int th, nh = 0, line_h;
  pango_layout_get_pixel_size (*title_layout, NULL, &th);
  if (*note_layout != NULL)
    pango_layout_get_pixel_size (*note_layout, NULL, &nh);
  g_autoptr (PangoLayout) measure =
    lam_ui_create_layout (GTK_WIDGET (self), "Ag", PANGO_SCALE_SMALL, FALSE, TRUE);
  pango_layout_get_pixel_size (measure, NULL, &line_h);
  /* The card keeps 2 pixels from each edge of the view, and 4 between
   * its values and its title. */
  int room = self->height - 4 - 2 * CARD_PAD - th - nh - 4;
  int max_lines = MIN (CARD_VALUE_LINES, room / MAX (line_h, 1));
  if (max_lines < 1)
    return;
  g_auto (GStrv) lines = self->card_lines_func (
    (guint) i, max_lines, measure, self->width - 4 - 2 * CARD_PAD, self->card_lines_data);
  if (lines == NULL || lines[0] == NULL)
    return;
  g_autofree char *text = g_strjoinv ("\n", lines);
  *values_layout = lam_ui_create_layout (GTK_WIDGET (self), text, PANGO_SCALE_SMALL, FALSE, TRUE);
}

/* The hovered point's card: its image or values, class and place in the
 * test set, beside the dot and inside the widget. */
static void
draw_card (LamFeatureMapView *self, cairo_t *cr, double dot_x, double dot_y)
{
  int i = self->hover;
  ensure_thumbnail (self);
  double font = lam_ui_font_pixels (GTK_WIDGET (self));
  double pad = CARD_PAD;

  g_autoptr (PangoLayout) title_layout = NULL;
  g_autoptr (PangoLayout) values_layout = NULL;
  g_autoptr (PangoLayout) note_layout = NULL;
  create_card_layouts (self, i, &title_layout, &values_layout, &note_layout);
  int vw = 0, vh = 0;
  if (values_layout != NULL)
    pango_layout_get_pixel_size (values_layout, &vw, &vh);
  int tw, th, nw = 0, nh = 0;
  pango_layout_get_pixel_size (title_layout, &tw, &th);
  if (note_layout != NULL)
    pango_layout_get_pixel_size (note_layout, &nw, &nh);

  double thumb_w = 0, thumb_h = 0, thumb_scale = 1;
  if (self->thumb_surface != NULL) {
    int iw = cairo_image_surface_get_width (self->thumb_surface);
    int ih = cairo_image_surface_get_height (self->thumb_surface);
    double target = round (6 * font);
    thumb_scale = target / MAX (MAX (iw, ih), 1);
    /* Whole multiples keep small images' pixels square. */
    if (thumb_scale > 1)
      thumb_scale = floor (thumb_scale);
    thumb_w = iw * thumb_scale;
    thumb_h = ih * thumb_scale;
  }
  double card_w = MAX (MAX (thumb_w, vw), MAX (tw, nw)) + 2 * pad;
  double card_h = pad + (thumb_h > 0 ? thumb_h + 4 : 0) + (vh > 0 ? vh + 4 : 0) + th + nh + pad;

  /* Below right of the dot, flipped where the widget ends. */
  double offset = self->dot_radius + 10;
  double x = dot_x + offset, y = dot_y + offset;
  if (x + card_w > self->width - 2)
    x = dot_x - offset - card_w;
  if (y + card_h > self->height - 2)
    y = dot_y - offset - card_h;
  x = CLAMP (x, 2, MAX (2, self->width - 2 - card_w));
  y = CLAMP (y, 2, MAX (2, self->height - 2 - card_h));

  lam_ui_rounded_rect (cr, x + 1, y + 2, card_w, card_h, 6);
  cairo_set_source_rgba (cr, 0, 0, 0, self->dark ? 0.4 : 0.15);
  cairo_fill (cr);
  lam_ui_rounded_rect (cr, x, y, card_w, card_h, 6);
  lam_ui_set_source (cr, &self->bg, 1);
  cairo_fill_preserve (cr);
  lam_ui_set_source (cr, &self->fg, 0.2);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);

  double cy = y + pad;
  if (self->thumb_surface != NULL) {
    double tx = x + (card_w - thumb_w) / 2;
    cairo_save (cr);
    cairo_translate (cr, tx, cy);
    cairo_scale (cr, thumb_scale, thumb_scale);
    cairo_set_source_surface (cr, self->thumb_surface, 0, 0);
    if (thumb_scale >= 2)
      cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
    cairo_paint (cr);
    cairo_restore (cr);
    cy += thumb_h + 4;
  }
  /* A row's values stand where an image's picture would. */
  if (values_layout != NULL) {
    show_layout_at (cr, values_layout, &self->fg, 0.8, x + pad, cy);
    cy += vh + 4;
  }
  show_layout_at (cr, title_layout, &self->fg, 1, x + pad, cy);
  cy += th;
  if (note_layout != NULL)
    show_layout_at (cr, note_layout,
                    self->predicted[i] == self->labels[i] ? &self->fg : &self->error,
                    self->predicted[i] == self->labels[i] ? 0.7 : 1, x + pad, cy);
}

/* What changes with the pointer, above the dots. */
static void
draw_overlay (LamFeatureMapView *self, cairo_t *cr)
{
  cairo_save (cr);
  cairo_rectangle (cr, self->plot_x, self->plot_y, self->plot_w, self->plot_h);
  cairo_clip (cr);
  if (self->selection_polygon != NULL && self->selection_polygon->len >= 6) {
    guint n = self->selection_polygon->len / 2;
    g_autofree double *xy = g_new (double, 2 * n);
    const double *map = (const double *) (void *) self->selection_polygon->data;
    for (guint v = 0; v < n; v++)
      to_widget (self, map[2 * v], map[2 * v + 1], &xy[2 * v], &xy[2 * v + 1]);
    draw_lasso (self, cr, xy, n, FALSE);
  }
  if (self->drag == DRAG_LASSO && self->lasso_points->len >= 4)
    draw_lasso (self, cr, (const double *) (void *) self->lasso_points->data,
                self->lasso_points->len / 2, TRUE);

  if (self->marker_shown && isfinite (self->marker_x) && isfinite (self->marker_y)) {
    double mx, my;
    to_widget (self, self->marker_x, self->marker_y, &mx, &my);
    draw_marker (self, cr, mx, my);
  }
  cairo_restore (cr);

  if (self->hover >= 0 && self->hover < self->n && isfinite (self->xy[2 * self->hover]) &&
      isfinite (self->xy[2 * self->hover + 1])) {
    double hx, hy;
    to_widget (self, self->xy[2 * self->hover], self->xy[2 * self->hover + 1], &hx, &hy);
    if (hx >= self->plot_x && hy >= self->plot_y && hx <= self->plot_x + self->plot_w &&
        hy <= self->plot_y + self->plot_h) {
      /* The dot again above its neighbours, and a ring wider and thicker
       * than a mistake's, with a halo, so it is found among a thousand of
       * those (the accent would vanish in a blue cluster). */
      draw_dot (self, cr, self->labels[self->hover], variant_of (self, self->hover), hx, hy,
                self->dot_radius);
      cairo_new_sub_path (cr);
      cairo_arc (cr, hx, hy, self->dot_radius + 5, 0, 2 * G_PI);
      lam_ui_set_source (cr, &self->bg, 1);
      cairo_set_line_width (cr, 5);
      cairo_stroke_preserve (cr);
      lam_ui_set_source (cr, &self->fg, 1);
      cairo_set_line_width (cr, 2.5);
      cairo_stroke (cr);
      draw_card (self, cr, hx, hy);
    }
  }

  if (gtk_widget_has_visible_focus (GTK_WIDGET (self))) {
    lam_ui_rounded_rect (cr, self->plot_x + 1, self->plot_y + 1, self->plot_w - 2,
                         self->plot_h - 2, 5);
    lam_ui_set_source (cr, &self->accent, 1);
    cairo_set_line_width (cr, 2);
    cairo_stroke (cr);
  }
}

static void
lam_feature_map_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  LamFeatureMapView *self = LAM_FEATURE_MAP_VIEW (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  if (width <= 0 || height <= 0)
    return;
  ensure_layout (self);
  if (self->plot_w < 2 || self->plot_h < 2)
    return;
  graphene_rect_t all = GRAPHENE_RECT_INIT (0, 0, width, height);

  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &all);
  draw_chrome (self, cr);
  cairo_destroy (cr);

  if (self->n_valid > 0 && has_plot (self)) {
    ensure_dots (self);
    if (self->dots != NULL) {
      int scale = gtk_widget_get_scale_factor (widget);
      graphene_rect_t plot = GRAPHENE_RECT_INIT (
        self->plot_x, self->plot_y, gdk_texture_get_width (self->dots) / (float) scale,
        gdk_texture_get_height (self->dots) / (float) scale);
      gtk_snapshot_append_texture (snapshot, self->dots, &plot);
    }
  }

  cr = gtk_snapshot_append_cairo (snapshot, &all);
  draw_overlay (self, cr);
  cairo_destroy (cr);
}

static void
lam_feature_map_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                              int *minimum, int *natural, int *minimum_baseline,
                              int *natural_baseline)
{
  double font = lam_ui_font_pixels (widget);
  *minimum = (int) ceil (12 * font);
  *natural = (int) ceil ((orientation == GTK_ORIENTATION_HORIZONTAL ? 36 : 30) * font);
}

static void
lam_feature_map_view_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  ensure_layout (LAM_FEATURE_MAP_VIEW (widget));
}

static void
lam_feature_map_view_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  LamFeatureMapView *self = LAM_FEATURE_MAP_VIEW (widget);
  GTK_WIDGET_CLASS (lam_feature_map_view_parent_class)->css_changed (widget, change);
  if (!lam_ui_update_style_key (widget, &self->style_key))
    return;
  update_colors (self);
  clear_layouts (self);
  clear_sprites (self);
  gtk_widget_queue_resize (widget);
}

static void
scale_factor_changed (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  LamFeatureMapView *self = LAM_FEATURE_MAP_VIEW (object);
  clear_sprites (self);
  invalidate_dots (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Interaction */

static void
set_hover (LamFeatureMapView *self, int index)
{
  if (index == self->hover)
    return;
  self->hover = index;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
motion (GtkEventControllerMotion *controller, double x, double y, LamFeatureMapView *self)
{
  self->pointer_inside = TRUE;
  self->pointer_x = x;
  self->pointer_y = y;
  if (self->drag == DRAG_NONE)
    set_hover (self, lam_feature_map_view_get_point_at (self, x, y));
}

static void
leave (GtkEventControllerMotion *controller, LamFeatureMapView *self)
{
  self->pointer_inside = FALSE;
  set_hover (self, -1);
}

static gboolean
scroll (GtkEventControllerScroll *controller, double dx, double dy, LamFeatureMapView *self)
{
  if (self->n_valid == 0 || !has_plot (self))
    return FALSE;
  double x = self->pointer_inside ? self->pointer_x : self->plot_x + self->plot_w / 2;
  double y = self->pointer_inside ? self->pointer_y : self->plot_y + self->plot_h / 2;
  lam_feature_map_view_zoom (self, pow (ZOOM_STEP, -dy), x, y);
  return TRUE;
}

static void
pinch_begin (GtkGesture *gesture, GdkEventSequence *sequence, LamFeatureMapView *self)
{
  self->pinch_scale = 1;
}

static void
pinch_scale_changed (GtkGestureZoom *gesture, double scale, LamFeatureMapView *self)
{
  double x, y;
  if (scale <= 0 || !gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y))
    return;
  lam_feature_map_view_zoom (self, scale / self->pinch_scale, x, y);
  self->pinch_scale = scale;
}

static void
drag_begin (GtkGestureDrag *gesture, double x, double y, LamFeatureMapView *self)
{
  guint button = gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture));
  if (button != GDK_BUTTON_PRIMARY && button != GDK_BUTTON_MIDDLE) {
    gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
    return;
  }
  if (gtk_widget_get_focus_on_click (GTK_WIDGET (self)))
    gtk_widget_grab_focus (GTK_WIDGET (self));
  GdkModifierType state =
    gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (gesture));
  gboolean lasso = button == GDK_BUTTON_PRIMARY && (self->lasso || (state & GDK_SHIFT_MASK));
  self->drag = lasso ? DRAG_LASSO : DRAG_PAN;
  g_array_set_size (self->lasso_points, 0);
  if (lasso) {
    double start[2] = { x, y };
    g_array_append_vals (self->lasso_points, start, 2);
  }
  has_plot (self);
  self->drag_cx = self->cx;
  self->drag_cy = self->cy;
}

static void
drag_update (GtkGestureDrag *gesture, double dx, double dy, LamFeatureMapView *self)
{
  double sx, sy;
  gtk_gesture_drag_get_start_point (gesture, &sx, &sy);
  if (self->drag == DRAG_LASSO) {
    guint n = self->lasso_points->len;
    const double *last = &g_array_index (self->lasso_points, double, n - 2);
    if (hypot (sx + dx - last[0], sy + dy - last[1]) < 2)
      return;
    double point[2] = { sx + dx, sy + dy };
    g_array_append_vals (self->lasso_points, point, 2);
    gtk_widget_queue_draw (GTK_WIDGET (self));
  } else if (self->drag == DRAG_PAN && hypot (dx, dy) >= DRAG_THRESHOLD) {
    if (self->n_valid == 0 || !take_view (self))
      return;
    self->cx = self->drag_cx - dx / self->scale;
    self->cy = self->drag_cy + dy / self->scale;
    view_changed (self);
  }
}

static void
click (LamFeatureMapView *self, double x, double y)
{
  int index = lam_feature_map_view_get_point_at (self, x, y);
  if (index >= 0)
    g_signal_emit (self, signals[POINT_ACTIVATED], 0, (guint) index);
  else
    lam_feature_map_view_clear_selection (self);
}

static void
drag_end (GtkGestureDrag *gesture, double dx, double dy, LamFeatureMapView *self)
{
  DragKind kind = self->drag;
  self->drag = DRAG_NONE;
  double sx, sy;
  gtk_gesture_drag_get_start_point (gesture, &sx, &sy);
  guint button = gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture));
  gboolean moved = hypot (dx, dy) >= DRAG_THRESHOLD;
  if (kind == DRAG_LASSO && moved && self->lasso_points->len >= 6 && has_plot (self)) {
    guint n = self->lasso_points->len / 2;
    g_autofree double *map = g_new (double, 2 * n);
    for (guint v = 0; v < n; v++)
      to_map (self, g_array_index (self->lasso_points, double, 2 * v),
              g_array_index (self->lasso_points, double, 2 * v + 1), &map[2 * v],
              &map[2 * v + 1]);
    lam_feature_map_view_select_polygon (self, (int) n, map);
  } else if (kind != DRAG_NONE && !moved && button == GDK_BUTTON_PRIMARY) {
    click (self, sx, sy);
  }
  g_array_set_size (self->lasso_points, 0);
  if (self->pointer_inside)
    set_hover (self, lam_feature_map_view_get_point_at (self, self->pointer_x, self->pointer_y));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
drag_cancel (GtkGesture *gesture, GdkEventSequence *sequence, LamFeatureMapView *self)
{
  self->drag = DRAG_NONE;
  g_array_set_size (self->lasso_points, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
key_pressed (GtkEventControllerKey *controller, guint keyval, guint keycode,
             GdkModifierType state, LamFeatureMapView *self)
{
  if (keyval == GDK_KEY_Escape) {
    if (self->drag == DRAG_LASSO) {
      /* Its cancel handler drops the lasso. */
      gtk_event_controller_reset (GTK_EVENT_CONTROLLER (self->drag_gesture));
      return TRUE;
    }
    if (self->selected == NULL)
      return FALSE;
    lam_feature_map_view_clear_selection (self);
    return TRUE;
  }
  if (self->n_valid == 0 || !has_plot (self))
    return FALSE;
  double centre_x = self->plot_x + self->plot_w / 2, centre_y = self->plot_y + self->plot_h / 2;
  double step = PAN_STEP * MIN (self->plot_w, self->plot_h);
  switch (keyval) {
  case GDK_KEY_plus:
  case GDK_KEY_equal:
  case GDK_KEY_KP_Add:
    lam_feature_map_view_zoom (self, ZOOM_STEP, centre_x, centre_y);
    return TRUE;
  case GDK_KEY_minus:
  case GDK_KEY_KP_Subtract:
    lam_feature_map_view_zoom (self, 1 / ZOOM_STEP, centre_x, centre_y);
    return TRUE;
  case GDK_KEY_0:
  case GDK_KEY_KP_0:
    lam_feature_map_view_reset_view (self);
    return TRUE;
  /* An arrow moves the view that way, as scrolling a page would. */
  case GDK_KEY_Left:
  case GDK_KEY_KP_Left:
    lam_feature_map_view_pan (self, step, 0);
    return TRUE;
  case GDK_KEY_Right:
  case GDK_KEY_KP_Right:
    lam_feature_map_view_pan (self, -step, 0);
    return TRUE;
  case GDK_KEY_Up:
  case GDK_KEY_KP_Up:
    lam_feature_map_view_pan (self, 0, step);
    return TRUE;
  case GDK_KEY_Down:
  case GDK_KEY_KP_Down:
    lam_feature_map_view_pan (self, 0, -step);
    return TRUE;
  default:
    return FALSE;
  }
}

/* GObject */

static void
lam_feature_map_view_get_property (GObject *object, guint prop_id, GValue *value,
                                   GParamSpec *pspec)
{
  LamFeatureMapView *self = LAM_FEATURE_MAP_VIEW (object);
  switch (prop_id) {
  case PROP_CAPTION:
    g_value_set_string (value, self->caption);
    break;
  case PROP_LASSO:
    g_value_set_boolean (value, self->lasso);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_feature_map_view_set_property (GObject *object, guint prop_id, const GValue *value,
                                   GParamSpec *pspec)
{
  LamFeatureMapView *self = LAM_FEATURE_MAP_VIEW (object);
  switch (prop_id) {
  case PROP_CAPTION:
    lam_feature_map_view_set_caption (self, g_value_get_string (value));
    break;
  case PROP_LASSO:
    lam_feature_map_view_set_lasso (self, g_value_get_boolean (value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_feature_map_view_finalize (GObject *object)
{
  LamFeatureMapView *self = LAM_FEATURE_MAP_VIEW (object);
  clear_layouts (self);
  clear_sprites (self);
  g_free (self->xy);
  g_free (self->labels);
  g_free (self->predicted);
  g_strfreev (self->class_names);
  g_free (self->caption);
  g_free (self->selected);
  g_clear_pointer (&self->selection_polygon, g_array_unref);
  g_free (self->marker_label);
  if (self->thumbnail_destroy != NULL)
    self->thumbnail_destroy (self->thumbnail_data);
  g_clear_pointer (&self->thumb_surface, cairo_surface_destroy);
  if (self->card_lines_destroy != NULL)
    self->card_lines_destroy (self->card_lines_data);
  g_free (self->screen);
  g_free (self->grid_start);
  g_free (self->grid_items);
  g_clear_object (&self->dots);
  g_array_unref (self->lasso_points);
  g_free (self->style_key);
  G_OBJECT_CLASS (lam_feature_map_view_parent_class)->finalize (object);
}

static void
lam_feature_map_view_class_init (LamFeatureMapViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = lam_feature_map_view_get_property;
  object_class->set_property = lam_feature_map_view_set_property;
  object_class->finalize = lam_feature_map_view_finalize;
  widget_class->snapshot = lam_feature_map_view_snapshot;
  widget_class->measure = lam_feature_map_view_measure;
  widget_class->size_allocate = lam_feature_map_view_size_allocate;
  widget_class->css_changed = lam_feature_map_view_css_changed;

  properties[PROP_CAPTION] =
    g_param_spec_string ("caption", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LASSO] =
    g_param_spec_boolean ("lasso", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The selection was replaced or cleared: read it with dup_selection. */
  signals[SELECTION_CHANGED] =
    g_signal_new ("selection-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 0);
  /* A dot was clicked: the index of its point. */
  signals[POINT_ACTIVATED] =
    g_signal_new ("point-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_UINT);

  gtk_widget_class_set_css_name (widget_class, "featuremapview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lam_feature_map_view_init (LamFeatureMapView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  self->hover = -1;
  self->thumb_index = -1;
  self->auto_fit = TRUE;
  self->radius = 1;
  self->lasso_points = g_array_new (FALSE, FALSE, sizeof (double));
  gtk_widget_set_focusable (widget, TRUE);
  gtk_widget_set_overflow (widget, GTK_OVERFLOW_HIDDEN);

  GtkEventController *motion_controller = gtk_event_controller_motion_new ();
  g_signal_connect (motion_controller, "motion", G_CALLBACK (motion), self);
  g_signal_connect (motion_controller, "leave", G_CALLBACK (leave), self);
  gtk_widget_add_controller (widget, motion_controller);

  GtkEventController *scroll_controller =
    gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect (scroll_controller, "scroll", G_CALLBACK (scroll), self);
  gtk_widget_add_controller (widget, scroll_controller);

  GtkGesture *pinch = gtk_gesture_zoom_new ();
  g_signal_connect (pinch, "begin", G_CALLBACK (pinch_begin), self);
  g_signal_connect (pinch, "scale-changed", G_CALLBACK (pinch_scale_changed), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (pinch));

  GtkGesture *drag = gtk_gesture_drag_new ();
  self->drag_gesture = drag;
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), 0);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (drag_end), self);
  g_signal_connect (drag, "cancel", G_CALLBACK (drag_cancel), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (drag));

  GtkEventController *keys = gtk_event_controller_key_new ();
  g_signal_connect (keys, "key-pressed", G_CALLBACK (key_pressed), self);
  gtk_widget_add_controller (widget, keys);

  g_signal_connect (self, "notify::scale-factor", G_CALLBACK (scale_factor_changed), NULL);

  update_colors (self);
  update_accessible_label (self);
}

/* Public */

GtkWidget *
lam_feature_map_view_new (void)
{
  return g_object_new (LAM_TYPE_FEATURE_MAP_VIEW, NULL);
}

static gboolean
points_box (LamFeatureMapView *self, Box *box)
{
  box->x0 = box->y0 = INFINITY;
  box->x1 = box->y1 = -INFINITY;
  for (int i = 0; i < self->n; i++) {
    double x = self->xy[2 * i], y = self->xy[2 * i + 1];
    if (!isfinite (x) || !isfinite (y))
      continue;
    box->x0 = MIN (box->x0, x);
    box->x1 = MAX (box->x1, x);
    box->y0 = MIN (box->y0, y);
    box->y1 = MAX (box->y1, y);
  }
  return box->x0 <= box->x1;
}

static void
drop_selection (LamFeatureMapView *self)
{
  g_clear_pointer (&self->selected, g_free);
  g_clear_pointer (&self->selection_polygon, g_array_unref);
  self->n_selected = 0;
  g_clear_object (&self->status_layout);
  invalidate_layout (self);
}

void
lam_feature_map_view_set_points (LamFeatureMapView *self, int n, const float *xy,
                                 const gint32 *labels, int n_classes,
                                 const char *const *class_names, gboolean keep_view)
{
  g_return_if_fail (LAM_IS_FEATURE_MAP_VIEW (self));
  g_return_if_fail (n >= 0 && (n == 0 || (xy != NULL && labels != NULL)));
  g_return_if_fail (n_classes >= 0);

  gboolean had_selection = self->selected != NULL;
  gboolean same_images = keep_view && n == self->n;
  if (!same_images)
    drop_selection (self);

  g_free (self->xy);
  g_free (self->labels);
  g_clear_pointer (&self->predicted, g_free);
  g_clear_pointer (&self->class_names, g_strfreev);
  g_free (self->screen);
  g_free (self->grid_items);
  self->n = n;
  self->xy = g_memdup2 (xy, sizeof (float) * 2 * (gsize) n);
  self->labels = g_new (gint32, MAX (n, 1));
  self->screen = g_new (float, 2 * (gsize) MAX (n, 1));
  self->grid_items = g_new (int, MAX (n, 1));
  self->n_classes = n_classes;
  self->n_valid = 0;
  for (int i = 0; i < n; i++) {
    self->labels[i] = labels[i] >= 0 && labels[i] < n_classes ? labels[i] : n_classes;
    self->n_valid += isfinite (xy[2 * i]) && isfinite (xy[2 * i + 1]);
  }
  self->class_names = g_new0 (char *, n_classes + 1);
  for (int k = 0; k < n_classes; k++)
    self->class_names[k] = class_names != NULL && class_names[k] != NULL
                             ? g_strdup (class_names[k])
                             : g_strdup_printf ("%d", k);

  Box box;
  if (!(keep_view && self->has_fit_box)) {
    self->has_fit_box = points_box (self, &box);
    if (self->has_fit_box)
      self->fit_box = box;
    self->auto_fit = TRUE;
  }
  self->hover = -1;
  self->thumb_index = -1;
  g_clear_pointer (&self->thumb_surface, cairo_surface_destroy);
  clear_layouts (self);
  clear_sprites (self);
  update_accessible_label (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  if (had_selection && !same_images)
    g_signal_emit (self, signals[SELECTION_CHANGED], 0);
}

int
lam_feature_map_view_get_n_points (LamFeatureMapView *self)
{
  g_return_val_if_fail (LAM_IS_FEATURE_MAP_VIEW (self), 0);
  return self->n;
}

void
lam_feature_map_view_set_predictions (LamFeatureMapView *self, const gint32 *predicted)
{
  g_return_if_fail (LAM_IS_FEATURE_MAP_VIEW (self));
  g_clear_pointer (&self->predicted, g_free);
  if (predicted != NULL && self->n > 0)
    self->predicted = g_memdup2 (predicted, sizeof (gint32) * (gsize) self->n);
  self->thumb_index = -1;
  /* The legend gains or loses its ring. */
  clear_layouts (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lam_feature_map_view_set_speaks_of_rows (LamFeatureMapView *self, gboolean rows)
{
  g_return_if_fail (LAM_IS_FEATURE_MAP_VIEW (self));
  if (self->rows == !!rows)
    return;
  self->rows = !!rows;
  update_accessible_label (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

char *
lam_feature_map_view_dup_card_title (LamFeatureMapView *self, int index)
{
  g_return_val_if_fail (LAM_IS_FEATURE_MAP_VIEW (self), NULL);
  if (index < 0 || index >= self->n)
    return NULL;
  return g_strdup_printf ("%s · test %s %d", class_name (self, self->labels[index]),
                          self->rows ? "row" : "image", index);
}

char *
lam_feature_map_view_dup_card_text (LamFeatureMapView *self, int index)
{
  g_return_val_if_fail (LAM_IS_FEATURE_MAP_VIEW (self), NULL);
  if (index < 0 || index >= self->n)
    return NULL;
  g_autoptr (PangoLayout) title_layout = NULL;
  g_autoptr (PangoLayout) values_layout = NULL;
  g_autoptr (PangoLayout) note_layout = NULL;
  create_card_layouts (self, index, &title_layout, &values_layout, &note_layout);
  GString *text = g_string_new (NULL);
  if (values_layout != NULL)
    g_string_append_printf (text, "%s\n", pango_layout_get_text (values_layout));
  g_string_append (text, pango_layout_get_text (title_layout));
  if (note_layout != NULL)
    g_string_append_printf (text, "\n%s", pango_layout_get_text (note_layout));
  return g_string_free (text, FALSE);
}

void
lam_feature_map_view_set_card_lines_func (LamFeatureMapView *self, LamFeatureMapCardLinesFunc func,
                                          gpointer user_data, GDestroyNotify destroy)
{
  g_return_if_fail (LAM_IS_FEATURE_MAP_VIEW (self));
  if (self->card_lines_destroy != NULL)
    self->card_lines_destroy (self->card_lines_data);
  self->card_lines_func = func;
  self->card_lines_data = user_data;
  self->card_lines_destroy = destroy;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lam_feature_map_view_set_caption (LamFeatureMapView *self, const char *caption)
{
  g_return_if_fail (LAM_IS_FEATURE_MAP_VIEW (self));
  if (g_strcmp0 (caption, self->caption) == 0)
    return;
  g_free (self->caption);
  self->caption = g_strdup (caption);
  g_clear_object (&self->caption_layout);
  invalidate_layout (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAPTION]);
}

const char *
lam_feature_map_view_get_caption (LamFeatureMapView *self)
{
  g_return_val_if_fail (LAM_IS_FEATURE_MAP_VIEW (self), NULL);
  return self->caption;
}

void
lam_feature_map_view_set_marker (LamFeatureMapView *self, gboolean shown, float x, float y,
                                 const char *label)
{
  g_return_if_fail (LAM_IS_FEATURE_MAP_VIEW (self));
  self->marker_shown = shown;
  self->marker_x = x;
  self->marker_y = y;
  if (g_strcmp0 (label, self->marker_label) != 0) {
    g_free (self->marker_label);
    self->marker_label = g_strdup (label);
  }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
lam_feature_map_view_get_marker (LamFeatureMapView *self, float *x, float *y)
{
  g_return_val_if_fail (LAM_IS_FEATURE_MAP_VIEW (self), FALSE);
  if (x != NULL)
    *x = (float) self->marker_x;
  if (y != NULL)
    *y = (float) self->marker_y;
  return self->marker_shown;
}

void
lam_feature_map_view_set_thumbnail_func (LamFeatureMapView *self,
                                         LamFeatureMapThumbnailFunc func, gpointer user_data,
                                         GDestroyNotify destroy)
{
  g_return_if_fail (LAM_IS_FEATURE_MAP_VIEW (self));
  if (self->thumbnail_destroy != NULL)
    self->thumbnail_destroy (self->thumbnail_data);
  self->thumbnail_func = func;
  self->thumbnail_data = user_data;
  self->thumbnail_destroy = destroy;
  self->thumb_index = -1;
  g_clear_pointer (&self->thumb_surface, cairo_surface_destroy);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lam_feature_map_view_set_highlighted (LamFeatureMapView *self, int index)
{
  g_return_if_fail (LAM_IS_FEATURE_MAP_VIEW (self));
  set_hover (self, index >= 0 && index < self->n ? index : -1);
}

int
lam_feature_map_view_get_highlighted (LamFeatureMapView *self)
{
  g_return_val_if_fail (LAM_IS_FEATURE_MAP_VIEW (self), -1);
  return self->hover;
}

void
lam_feature_map_view_set_lasso (LamFeatureMapView *self, gboolean lasso)
{
  g_return_if_fail (LAM_IS_FEATURE_MAP_VIEW (self));
  lasso = !!lasso;
  if (lasso == self->lasso)
    return;
  self->lasso = lasso;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LASSO]);
}

gboolean
lam_feature_map_view_get_lasso (LamFeatureMapView *self)
{
  g_return_val_if_fail (LAM_IS_FEATURE_MAP_VIEW (self), FALSE);
  return self->lasso;
}

void
lam_feature_map_view_reset_view (LamFeatureMapView *self)
{
  g_return_if_fail (LAM_IS_FEATURE_MAP_VIEW (self));
  Box box;
  self->has_fit_box = points_box (self, &box);
  if (self->has_fit_box)
    self->fit_box = box;
  self->auto_fit = TRUE;
  invalidate_layout (self);
  if (has_plot (self))
    view_changed (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lam_feature_map_view_zoom (LamFeatureMapView *self, double factor, double x, double y)
{
  g_return_if_fail (LAM_IS_FEATURE_MAP_VIEW (self));
  if (!(factor > 0) || !isfinite (factor) || !take_view (self))
    return;
  double span = fit_span (self);
  double radius = CLAMP (self->radius / factor, span / MAX_ZOOM, span / MIN_ZOOM);
  factor = self->radius / radius;
  double mx, my;
  to_map (self, x, y, &mx, &my);
  /* The map point under (x, y) stays there. */
  self->cx = mx - (mx - self->cx) / factor;
  self->cy = my - (my - self->cy) / factor;
  self->radius = radius;
  view_changed (self);
}

void
lam_feature_map_view_pan (LamFeatureMapView *self, double dx, double dy)
{
  g_return_if_fail (LAM_IS_FEATURE_MAP_VIEW (self));
  if (!isfinite (dx) || !isfinite (dy) || !take_view (self))
    return;
  self->cx -= dx / self->scale;
  self->cy += dy / self->scale;
  view_changed (self);
}

gboolean
lam_feature_map_view_map_to_widget (LamFeatureMapView *self, double x, double y, double *wx,
                                    double *wy)
{
  g_return_val_if_fail (LAM_IS_FEATURE_MAP_VIEW (self), FALSE);
  if (!has_plot (self))
    return FALSE;
  to_widget (self, x, y, wx, wy);
  return TRUE;
}

gboolean
lam_feature_map_view_widget_to_map (LamFeatureMapView *self, double wx, double wy, double *x,
                                    double *y)
{
  g_return_val_if_fail (LAM_IS_FEATURE_MAP_VIEW (self), FALSE);
  if (!has_plot (self))
    return FALSE;
  to_map (self, wx, wy, x, y);
  return TRUE;
}

int
lam_feature_map_view_get_point_at (LamFeatureMapView *self, double x, double y)
{
  g_return_val_if_fail (LAM_IS_FEATURE_MAP_VIEW (self), -1);
  if (self->n_valid == 0 || !has_plot (self))
    return -1;
  ensure_screen (self);
  if (self->grid_start == NULL)
    return -1;
  double reach = self->dot_radius + HIT_SLOP;
  int gx0 = (int) floor ((x - reach - self->plot_x) / CELL);
  int gx1 = (int) floor ((x + reach - self->plot_x) / CELL);
  int gy0 = (int) floor ((y - reach - self->plot_y) / CELL);
  int gy1 = (int) floor ((y + reach - self->plot_y) / CELL);
  gx0 = MAX (gx0, 0);
  gy0 = MAX (gy0, 0);
  gx1 = MIN (gx1, self->grid_w - 1);
  gy1 = MIN (gy1, self->grid_h - 1);
  int best = -1;
  double best_d2 = reach * reach;
  for (int gy = gy0; gy <= gy1; gy++)
    for (int gx = gx0; gx <= gx1; gx++) {
      int cell = gy * self->grid_w + gx;
      for (int j = self->grid_start[cell]; j < self->grid_start[cell + 1]; j++) {
        int i = self->grid_items[j];
        double ddx = self->screen[2 * i] - x, ddy = self->screen[2 * i + 1] - y;
        double d2 = ddx * ddx + ddy * ddy;
        /* Ties go to the later point, which is drawn above. */
        if (d2 < best_d2 || (d2 == best_d2 && i > best)) {
          best_d2 = d2;
          best = i;
        }
      }
    }
  return best;
}

/* Even-odd rule: a ray to the right crosses the boundary an odd number of
 * times from inside. */
static gboolean
inside_polygon (const double *poly, int n, double x, double y)
{
  gboolean inside = FALSE;
  for (int a = 0, b = n - 1; a < n; b = a++) {
    double ax = poly[2 * a], ay = poly[2 * a + 1], bx = poly[2 * b], by = poly[2 * b + 1];
    if ((ay > y) != (by > y) && x < ax + (y - ay) * (bx - ax) / (by - ay))
      inside = !inside;
  }
  return inside;
}

void
lam_feature_map_view_select_polygon (LamFeatureMapView *self, int n_vertices, const double *xy)
{
  g_return_if_fail (LAM_IS_FEATURE_MAP_VIEW (self));
  g_return_if_fail (n_vertices <= 0 || xy != NULL);
  drop_selection (self);
  self->selected = g_new0 (guint8, MAX (self->n, 1));
  if (n_vertices >= 3) {
    self->selection_polygon = g_array_sized_new (FALSE, FALSE, sizeof (double), 2 * n_vertices);
    g_array_append_vals (self->selection_polygon, xy, 2 * n_vertices);
    /* A bounding box first: most points of a small lasso are far away. */
    Box box = { INFINITY, INFINITY, -INFINITY, -INFINITY };
    for (int v = 0; v < n_vertices; v++) {
      box.x0 = MIN (box.x0, xy[2 * v]);
      box.x1 = MAX (box.x1, xy[2 * v]);
      box.y0 = MIN (box.y0, xy[2 * v + 1]);
      box.y1 = MAX (box.y1, xy[2 * v + 1]);
    }
    for (int i = 0; i < self->n; i++) {
      double x = self->xy[2 * i], y = self->xy[2 * i + 1];
      if (!isfinite (x) || !isfinite (y) || x < box.x0 || x > box.x1 || y < box.y0 ||
          y > box.y1)
        continue;
      if (inside_polygon (xy, n_vertices, x, y)) {
        self->selected[i] = 1;
        self->n_selected++;
      }
    }
  }
  update_accessible_label (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[SELECTION_CHANGED], 0);
}

void
lam_feature_map_view_clear_selection (LamFeatureMapView *self)
{
  g_return_if_fail (LAM_IS_FEATURE_MAP_VIEW (self));
  if (self->selected == NULL)
    return;
  drop_selection (self);
  update_accessible_label (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[SELECTION_CHANGED], 0);
}

guint
lam_feature_map_view_get_n_selected (LamFeatureMapView *self)
{
  g_return_val_if_fail (LAM_IS_FEATURE_MAP_VIEW (self), 0);
  return self->n_selected;
}

GArray *
lam_feature_map_view_dup_selection (LamFeatureMapView *self)
{
  g_return_val_if_fail (LAM_IS_FEATURE_MAP_VIEW (self), NULL);
  GArray *indices = g_array_sized_new (FALSE, FALSE, sizeof (guint), self->n_selected);
  for (int i = 0; self->selected != NULL && i < self->n; i++)
    if (self->selected[i]) {
      guint index = (guint) i;
      g_array_append_val (indices, index);
    }
  return indices;
}
