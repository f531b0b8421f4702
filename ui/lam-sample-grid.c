#include "lam-sample-grid.h"
#include "lam-ui-util.h"

#include "lam-scrollable-grid.h"

/* Layout, in logical pixels. */
#define MARGIN 8           /* around the whole grid */
#define PAD 6              /* around each image inside its cell */
#define LABEL_GAP 2        /* between an image and its label */
#define LABEL_MIN_CELL 48  /* smaller images leave no room for a readable name */
#define SELECTION_RADIUS 6
#define CAPTION_LINES 2

struct _LamSampleGrid
{
  GtkWidget parent_instance;

  const LamDataset *dataset; /* borrowed, see lam_sample_grid_set_dataset */
  guint32 *positions;        /* owned: the dataset indices shown, ascending */
  guint n_positions;
  int filter;
  int cell_size;
  int selected; /* a position in positions, or -1 */

  LamScrollableGrid scroll;

  /* Layout of the last allocation; columns is 0 before the first one. */
  int columns;
  int cell_width;
  int cell_height;
  int x0;
  int label_height;

  /* Rows already drawn: row → GdkTexture, valid for the layout above, the
   * colours below and texture_scale. Scrolling only draws the new rows. */
  GHashTable *row_textures;
  int texture_scale;
  int layout_width;
  PangoLayout **class_layouts; /* owned, one per class, wrapped to the cell */
  int n_class_layouts;
  gboolean colors_valid;
  GdkRGBA fg;
  GdkRGBA accent;
};

static void lam_sample_grid_scrollable_init (GtkScrollableInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LamSampleGrid, lam_sample_grid, GTK_TYPE_WIDGET,
                               G_IMPLEMENT_INTERFACE (GTK_TYPE_SCROLLABLE,
                                                      lam_sample_grid_scrollable_init))

enum
{
  PROP_0,
  PROP_CELL_SIZE,
  PROP_FILTER,
  PROP_SELECTED,
  N_PROPS,

  PROP_HADJUSTMENT = N_PROPS,
  PROP_VADJUSTMENT,
  PROP_HSCROLL_POLICY,
  PROP_VSCROLL_POLICY,
};

enum
{
  SAMPLE_ACTIVATED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
lam_sample_grid_scrollable_init (GtkScrollableInterface *iface)
{
}

static gboolean
show_labels (LamSampleGrid *self)
{
  return self->cell_size >= LABEL_MIN_CELL && self->dataset != NULL;
}

static guint
n_rows (LamSampleGrid *self)
{
  if (self->columns == 0)
    return 0;
  return (self->n_positions + self->columns - 1) / self->columns;
}

static void
clear_class_layouts (LamSampleGrid *self)
{
  for (int c = 0; c < self->n_class_layouts; c++)
    g_clear_object (&self->class_layouts[c]);
  g_clear_pointer (&self->class_layouts, g_free);
  self->n_class_layouts = 0;
}

static void
invalidate_rows (LamSampleGrid *self)
{
  g_hash_table_remove_all (self->row_textures);
}

static PangoLayout *
create_label_layout (LamSampleGrid *self, const char *text)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  g_autoptr (PangoAttrList) attrs = pango_attr_list_new ();
  pango_attr_list_insert (attrs, pango_attr_scale_new (PANGO_SCALE_SMALL));
  pango_layout_set_attributes (layout, attrs);
  return layout;
}

/* A caption: the class name centred under its image, wrapped to the
 * cell's width and to two lines at most; only a name longer still is cut,
 * and its tooltip and the grid's accessible description name it whole. */
static void
set_caption_width (PangoLayout *layout, int cell_width)
{
  pango_layout_set_width (layout, MAX (cell_width - 4, 1) * PANGO_SCALE);
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_height (layout, -CAPTION_LINES);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
}

/* The captions' height at a cell width: one line, or two when a class
 * name needs them ("automobile" does in presentation mode). */
static int
caption_height (LamSampleGrid *self, int cell_width)
{
  g_autoptr (PangoLayout) probe = create_label_layout (self, "Ag");
  int line = 0;
  pango_layout_get_pixel_size (probe, NULL, &line);
  set_caption_width (probe, cell_width);
  for (int c = 0; c < self->dataset->n_classes; c++) {
    pango_layout_set_text (probe, self->dataset->class_names[c], -1);
    if (pango_layout_get_line_count (probe) > 1) {
      int height = 0;
      pango_layout_get_pixel_size (probe, NULL, &height);
      return MAX (height, line);
    }
  }
  return line;
}

/* Computes columns and cell sizes for a width; keeps everything else. */
static void
compute_layout (LamSampleGrid *self, int width)
{
  int min_cell = self->cell_size + 2 * PAD;
  int avail = MAX (width - 2 * MARGIN, min_cell);
  int columns = MAX (1, avail / min_cell);
  int cell_width = avail / columns;

  self->label_height = 0;
  if (show_labels (self))
    self->label_height = caption_height (self, cell_width);
  int cell_height =
    PAD + self->cell_size + (self->label_height > 0 ? LABEL_GAP + self->label_height : 0) + PAD;

  if (width != self->layout_width || columns != self->columns ||
      cell_width != self->cell_width || cell_height != self->cell_height) {
    invalidate_rows (self);
    clear_class_layouts (self);
  }
  self->layout_width = width;
  self->columns = columns;
  self->cell_width = cell_width;
  self->cell_height = cell_height;
  self->x0 = (width - columns * cell_width) / 2;
}

static void
configure_adjustments (LamSampleGrid *self, int width, int height, double value)
{
  lam_scrollable_grid_configure (&self->scroll, width, height,
                                 (double) n_rows (self) * self->cell_height + 2 * MARGIN,
                                 self->cell_height, value);
}

static double
row_top (LamSampleGrid *self, guint row)
{
  return MARGIN + (double) row * self->cell_height;
}

/* The value that shows a position's row, moving as little as possible. */
static double
value_showing (LamSampleGrid *self, guint position)
{
  double top = row_top (self, position / self->columns);
  return lam_scrollable_grid_value_showing (&self->scroll, top, top + self->cell_height, MARGIN);
}

static void
scroll_to_position (LamSampleGrid *self, int position)
{
  if (position < 0 || self->columns == 0)
    return;
  gtk_adjustment_set_value (self->scroll.vadjustment, value_showing (self, position));
}

/* The position a relayout keeps in place: the selection if it is in view,
 * else the first sample in view; and how far below the top of the view its
 * row starts. */
static int
anchor_position (LamSampleGrid *self, double *offset)
{
  if (self->columns == 0 || self->n_positions == 0)
    return -1;
  double value = gtk_adjustment_get_value (self->scroll.vadjustment);
  double page = gtk_adjustment_get_page_size (self->scroll.vadjustment);
  int position = -1;
  if (self->selected >= 0) {
    double top = row_top (self, self->selected / self->columns);
    if (top >= value && top + self->cell_height <= value + page)
      position = self->selected;
  }
  if (position < 0) {
    guint row = (guint) (MAX (value - MARGIN, 0) / self->cell_height);
    position = (int) MIN ((guint) row * self->columns, self->n_positions - 1);
  }
  *offset = row_top (self, position / self->columns) - value;
  return position;
}

static void
relayout (LamSampleGrid *self)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  if (width <= 0 || height <= 0)
    return;

  double offset = 0;
  int anchor = anchor_position (self, &offset);
  compute_layout (self, width);
  double value = 0;
  if (anchor >= 0)
    value = row_top (self, anchor / self->columns) - offset;
  configure_adjustments (self, width, height, value);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
fill_strip (LamSampleGrid *self, guint first, guint count, cairo_surface_t *strip)
{
  const LamDataset *dataset = self->dataset;
  int w = dataset->width, h = dataset->height;
  gsize plane = (gsize) w * h;
  guint8 *data = cairo_image_surface_get_data (strip);
  int stride = cairo_image_surface_get_stride (strip);

  for (guint k = 0; k < count; k++) {
    const guint8 *image = lam_dataset_get_image (dataset, (int) self->positions[first + k]);
    /* A table's row has no picture: its cell stays blank. */
    for (int y = 0; image != NULL && y < h; y++) {
      guint32 *out = (guint32 *) (data + (gsize) y * stride) + (gsize) k * w;
      for (int x = 0; x < w; x++) {
        gsize p = (gsize) y * w + x;
        guint32 r = image[p], g = r, b = r;
        if (dataset->channels == 3) {
          g = image[plane + p];
          b = image[2 * plane + p];
        }
        out[x] = 0xff000000u | r << 16 | g << 8 | b;
      }
    }
  }
  cairo_surface_mark_dirty (strip);
}

static void
ensure_class_layouts (LamSampleGrid *self)
{
  if (self->class_layouts != NULL)
    return;
  int n_classes = self->dataset->n_classes;
  self->class_layouts = g_new0 (PangoLayout *, n_classes);
  self->n_class_layouts = n_classes;
  for (int c = 0; c < n_classes; c++) {
    PangoLayout *layout = create_label_layout (self, self->dataset->class_names[c]);
    set_caption_width (layout, self->cell_width);
    self->class_layouts[c] = layout;
  }
}

/* One row of cells drawn at the widget's scale, images scaled with the
 * nearest pixel so that they stay crisp at every zoom. */
static GdkTexture *
render_row (LamSampleGrid *self, guint row, int width, int scale)
{
  const LamDataset *dataset = self->dataset;
  guint first = row * self->columns;
  guint count = MIN ((guint) self->columns, self->n_positions - first);
  int w = dataset->width, h = dataset->height;
  double factor = (double) self->cell_size / MAX (w, h);
  double shown_w = w * factor, shown_h = h * factor;

  cairo_surface_t *strip = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w * (int) count, h);
  fill_strip (self, first, count, strip);

  cairo_surface_t *surface =
    cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width * scale, self->cell_height * scale);
  cairo_surface_set_device_scale (surface, scale, scale);
  cairo_t *cr = cairo_create (surface);

  if (show_labels (self))
    ensure_class_layouts (self);

  for (guint k = 0; k < count; k++) {
    double cell_x = self->x0 + (double) k * self->cell_width;
    double image_x = cell_x + floor ((self->cell_width - shown_w) / 2);
    double image_y = PAD + floor ((self->cell_size - shown_h) / 2);

    cairo_save (cr);
    cairo_translate (cr, image_x, image_y);
    cairo_scale (cr, factor, factor);
    cairo_set_source_surface (cr, strip, -(double) k * w, 0);
    cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle (cr, 0, 0, w, h);
    cairo_fill (cr);
    cairo_restore (cr);

    if (self->class_layouts != NULL) {
      int label = dataset->labels[self->positions[first + k]];
      cairo_move_to (cr, cell_x + 2, PAD + self->cell_size + LABEL_GAP);
      cairo_set_source_rgba (cr, self->fg.red, self->fg.green, self->fg.blue,
                             self->fg.alpha * 0.8);
      pango_cairo_show_layout (cr, self->class_layouts[label]);
    }
  }

  cairo_destroy (cr);
  cairo_surface_destroy (strip);
  cairo_surface_flush (surface);

  int stride = cairo_image_surface_get_stride (surface);
  int tex_height = cairo_image_surface_get_height (surface);
  g_autoptr (GBytes) bytes =
    g_bytes_new_with_free_func (cairo_image_surface_get_data (surface), (gsize) stride * tex_height,
                                (GDestroyNotify) cairo_surface_destroy, surface);
  return gdk_memory_texture_new (cairo_image_surface_get_width (surface), tex_height,
                                 GDK_MEMORY_DEFAULT, bytes, stride);
}

static void
forget_far_rows (LamSampleGrid *self, guint first, guint last)
{
  guint span = last - first + 1;
  if (g_hash_table_size (self->row_textures) <= 3 * span + 4)
    return;
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, self->row_textures);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    guint row = GPOINTER_TO_UINT (key);
    if (row + span < first || row > last + span)
      g_hash_table_iter_remove (&iter);
  }
}

static void
cell_rect (LamSampleGrid *self, int position, double value, graphene_rect_t *rect)
{
  guint row = (guint) position / self->columns;
  guint column = (guint) position % self->columns;
  graphene_rect_init (rect, self->x0 + column * self->cell_width + 1,
                      round (row_top (self, row) - value) + 1, self->cell_width - 2,
                      self->cell_height - 2);
}

static void
update_colors (LamSampleGrid *self)
{
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (self));
  gtk_style_context_get_color (context, &self->fg);
  if (!gtk_style_context_lookup_color (context, "theme_selected_bg_color", &self->accent))
    gdk_rgba_parse (&self->accent, "#3584e4");
  self->colors_valid = TRUE;
}

static void
lam_sample_grid_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  LamSampleGrid *self = LAM_SAMPLE_GRID (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  if (self->dataset == NULL || self->n_positions == 0 || self->columns == 0 || width <= 0)
    return;

  if (!self->colors_valid)
    update_colors (self);
  int scale = gtk_widget_get_scale_factor (widget);
  if (scale != self->texture_scale) {
    invalidate_rows (self);
    self->texture_scale = scale;
  }

  /* Whole pixels, so that the row textures are not resampled. */
  double value = round (gtk_adjustment_get_value (self->scroll.vadjustment));
  guint rows = n_rows (self);
  double top = MAX (value - MARGIN, 0);
  guint first = (guint) (top / self->cell_height);
  guint last = (guint) ((value + height - MARGIN) / self->cell_height);
  if (first >= rows)
    return;
  last = MIN (last, rows - 1);

  GskRoundedRect selection;
  gboolean show_selection = self->selected >= 0 &&
                            (guint) self->selected / self->columns >= first &&
                            (guint) self->selected / self->columns <= last;
  if (show_selection) {
    graphene_rect_t rect;
    cell_rect (self, self->selected, value, &rect);
    gsk_rounded_rect_init_from_rect (&selection, &rect, SELECTION_RADIUS);
    GdkRGBA fill = self->accent;
    fill.alpha *= 0.22;
    gtk_snapshot_push_rounded_clip (snapshot, &selection);
    gtk_snapshot_append_color (snapshot, &fill, &rect);
    gtk_snapshot_pop (snapshot);
  }

  for (guint row = first; row <= last; row++) {
    GdkTexture *texture = g_hash_table_lookup (self->row_textures, GUINT_TO_POINTER (row));
    if (texture == NULL) {
      texture = render_row (self, row, width, scale);
      g_hash_table_insert (self->row_textures, GUINT_TO_POINTER (row), texture);
    }
    gtk_snapshot_append_texture (snapshot, texture,
                                 &GRAPHENE_RECT_INIT (0, row_top (self, row) - value, width,
                                                      self->cell_height));
  }
  forget_far_rows (self, first, last);

  if (show_selection) {
    gboolean focused = gtk_widget_has_focus (widget);
    float border = focused ? 2 : 1;
    GdkRGBA ring = self->accent;
    ring.alpha *= focused ? 1 : 0.6;
    gtk_snapshot_append_border (snapshot, &selection, (float[4]) { border, border, border, border },
                                (GdkRGBA[4]) { ring, ring, ring, ring });
  }
}

static void
lam_sample_grid_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                         int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  LamSampleGrid *self = LAM_SAMPLE_GRID (widget);
  int cell = self->cell_size + 2 * PAD;
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    *minimum = cell + 2 * MARGIN;
    *natural = 6 * cell + 2 * MARGIN;
  } else {
    *minimum = cell + 2 * MARGIN;
    *natural = 4 * cell + 2 * MARGIN;
  }
}

static void
lam_sample_grid_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  relayout (LAM_SAMPLE_GRID (widget));
}


static void
lam_sample_grid_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  LamSampleGrid *self = LAM_SAMPLE_GRID (widget);
  GTK_WIDGET_CLASS (lam_sample_grid_parent_class)->css_changed (widget, change);
  self->colors_valid = FALSE;
  invalidate_rows (self);
  clear_class_layouts (self);
  /* The font may have changed, and the label height with it. */
  relayout (self);
}

/* The selection's ring is drawn stronger while the grid has the focus;
 * nothing else redraws the grid when the focus comes or goes. */
static void
lam_sample_grid_state_flags_changed (GtkWidget *widget, GtkStateFlags previous)
{
  GTK_WIDGET_CLASS (lam_sample_grid_parent_class)->state_flags_changed (widget, previous);
  if ((previous ^ gtk_widget_get_state_flags (widget)) & GTK_STATE_FLAG_FOCUSED)
    gtk_widget_queue_draw (widget);
}

static gboolean
lam_sample_grid_focus (GtkWidget *widget, GtkDirectionType direction)
{
  /* The grid is one focus stop; arrows move the selection inside it. */
  if (gtk_widget_has_focus (widget))
    return FALSE;
  return gtk_widget_grab_focus (widget);
}

static int
position_at (LamSampleGrid *self, double x, double y)
{
  if (self->columns == 0)
    return -1;
  double yy = y + gtk_adjustment_get_value (self->scroll.vadjustment) - MARGIN;
  double xx = x - self->x0;
  if (yy < 0 || xx < 0 || xx >= (double) self->columns * self->cell_width)
    return -1;
  guint position = (guint) (yy / self->cell_height) * self->columns + (guint) (xx / self->cell_width);
  return position < self->n_positions ? (int) position : -1;
}

static gboolean
lam_sample_grid_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard,
                               GtkTooltip *tooltip)
{
  LamSampleGrid *self = LAM_SAMPLE_GRID (widget);
  int position = keyboard ? self->selected : position_at (self, x, y);
  if (position < 0)
    return FALSE;
  g_autofree char *text = lam_sample_grid_dup_sample_text (self, (int) self->positions[position]);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

/* Selects a position and scrolls it into view, even when it was selected
 * already: the caller wants to see it. */
/* The selection changed: a screen reader hears the image selected in the
 * grid's description, its whole class named (a caption may be cut). */
static void
notify_selected (LamSampleGrid *self)
{
  int index = lam_sample_grid_get_selected (self);
  if (index >= 0) {
    g_autofree char *text = lam_sample_grid_dup_sample_text (self, index);
    gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                    text, -1);
  } else {
    gtk_accessible_reset_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
  }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
}

static void
select_position (LamSampleGrid *self, int position)
{
  scroll_to_position (self, position);
  if (position == self->selected)
    return;
  self->selected = position;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  notify_selected (self);
}

static void
activate_selected (LamSampleGrid *self)
{
  if (self->selected >= 0)
    g_signal_emit (self, signals[SAMPLE_ACTIVATED], 0, (int) self->positions[self->selected]);
}

static void
move_cursor (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  LamSampleGrid *self = LAM_SAMPLE_GRID (widget);
  int kind, amount;
  g_variant_get (parameter, "(ii)", &kind, &amount);
  if (self->n_positions == 0 || self->columns == 0)
    return;

  gint64 position = MAX (self->selected, 0);
  int columns = self->columns;
  switch ((LamSampleGridStep) kind) {
  case LAM_SAMPLE_GRID_STEP_ITEMS:
    position += amount;
    break;
  case LAM_SAMPLE_GRID_STEP_ROWS:
    position += (gint64) amount * columns;
    break;
  case LAM_SAMPLE_GRID_STEP_PAGES: {
    double page = gtk_adjustment_get_page_size (self->scroll.vadjustment);
    int rows = MAX (1, (int) (page / self->cell_height));
    position += (gint64) amount * rows * columns;
    break;
  }
  case LAM_SAMPLE_GRID_STEP_ENDS:
    position = amount < 0 ? 0 : (gint64) self->n_positions - 1;
    break;
  }
  /* Up or down past the ends stop in the first or last row, not beyond it. */
  if (kind == LAM_SAMPLE_GRID_STEP_ROWS || kind == LAM_SAMPLE_GRID_STEP_PAGES) {
    while (position < 0)
      position += columns;
    while (position >= (gint64) self->n_positions && position - columns >= 0)
      position -= columns;
    if (position >= (gint64) self->n_positions)
      position = self->n_positions - 1;
  }
  position = CLAMP (position, 0, (gint64) self->n_positions - 1);
  select_position (self, (int) position);
}

static void
activate_cursor (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  activate_selected (LAM_SAMPLE_GRID (widget));
}

static void
click_pressed (GtkGestureClick *gesture, int n_press, double x, double y, LamSampleGrid *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self));
  int position = position_at (self, x, y);
  if (position < 0)
    return;
  select_position (self, position);
  if (n_press == 2)
    activate_selected (self);
}

static void
relayout_widget (GtkWidget *widget)
{
  relayout (LAM_SAMPLE_GRID (widget));
}

static void
lam_sample_grid_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamSampleGrid *self = LAM_SAMPLE_GRID (object);
  switch (prop_id) {
  case PROP_CELL_SIZE:
    g_value_set_int (value, self->cell_size);
    break;
  case PROP_FILTER:
    g_value_set_int (value, self->filter);
    break;
  case PROP_SELECTED:
    g_value_set_int (value, lam_sample_grid_get_selected (self));
    break;
  default:
    if (lam_scrollable_grid_get_property (&self->scroll, PROP_HADJUSTMENT, prop_id, value))
      break;
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_sample_grid_set_property (GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec)
{
  LamSampleGrid *self = LAM_SAMPLE_GRID (object);
  switch (prop_id) {
  case PROP_CELL_SIZE:
    lam_sample_grid_set_cell_size (self, g_value_get_int (value));
    break;
  case PROP_FILTER:
    lam_sample_grid_set_filter (self, g_value_get_int (value));
    break;
  case PROP_SELECTED:
    lam_sample_grid_set_selected (self, g_value_get_int (value));
    break;
  default:
    if (lam_scrollable_grid_set_property (&self->scroll, PROP_HADJUSTMENT, prop_id, value, pspec))
      break;
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_sample_grid_dispose (GObject *object)
{
  LamSampleGrid *self = LAM_SAMPLE_GRID (object);
  lam_scrollable_grid_clear (&self->scroll);
  G_OBJECT_CLASS (lam_sample_grid_parent_class)->dispose (object);
}

static void
lam_sample_grid_finalize (GObject *object)
{
  LamSampleGrid *self = LAM_SAMPLE_GRID (object);
  clear_class_layouts (self);
  g_clear_pointer (&self->row_textures, g_hash_table_unref);
  g_clear_pointer (&self->positions, g_free);
  G_OBJECT_CLASS (lam_sample_grid_parent_class)->finalize (object);
}

static void
add_move_binding (GtkWidgetClass *widget_class, guint keyval, guint keypad_keyval,
                  LamSampleGridStep kind, int amount)
{
  gtk_widget_class_add_binding_action (widget_class, keyval, 0, "sample-grid.move-cursor",
                                       "(ii)", kind, amount);
  gtk_widget_class_add_binding_action (widget_class, keypad_keyval, 0,
                                       "sample-grid.move-cursor", "(ii)", kind, amount);
}

static void
lam_sample_grid_class_init (LamSampleGridClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = lam_sample_grid_get_property;
  object_class->set_property = lam_sample_grid_set_property;
  object_class->dispose = lam_sample_grid_dispose;
  object_class->finalize = lam_sample_grid_finalize;

  widget_class->snapshot = lam_sample_grid_snapshot;
  widget_class->measure = lam_sample_grid_measure;
  widget_class->size_allocate = lam_sample_grid_size_allocate;
  widget_class->css_changed = lam_sample_grid_css_changed;
  widget_class->focus = lam_sample_grid_focus;
  widget_class->state_flags_changed = lam_sample_grid_state_flags_changed;
  widget_class->query_tooltip = lam_sample_grid_query_tooltip;

  properties[PROP_CELL_SIZE] =
    g_param_spec_int ("cell-size", NULL, NULL, LAM_SAMPLE_GRID_MIN_CELL_SIZE,
                      LAM_SAMPLE_GRID_MAX_CELL_SIZE, 56,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_FILTER] =
    g_param_spec_int ("filter", NULL, NULL, -1, 255, -1,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SELECTED] =
    g_param_spec_int ("selected", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  lam_scrollable_grid_install_properties (object_class, PROP_HADJUSTMENT);

  /* The dataset index of the sample opened with Enter or a double click. */
  signals[SAMPLE_ACTIVATED] = g_signal_new ("sample-activated", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                            1, G_TYPE_INT);

  gtk_widget_class_install_action (widget_class, "sample-grid.move-cursor", "(ii)", move_cursor);
  gtk_widget_class_install_action (widget_class, "sample-grid.activate-cursor", NULL,
                                   activate_cursor);
  add_move_binding (widget_class, GDK_KEY_Left, GDK_KEY_KP_Left, LAM_SAMPLE_GRID_STEP_ITEMS, -1);
  add_move_binding (widget_class, GDK_KEY_Right, GDK_KEY_KP_Right, LAM_SAMPLE_GRID_STEP_ITEMS, 1);
  add_move_binding (widget_class, GDK_KEY_Up, GDK_KEY_KP_Up, LAM_SAMPLE_GRID_STEP_ROWS, -1);
  add_move_binding (widget_class, GDK_KEY_Down, GDK_KEY_KP_Down, LAM_SAMPLE_GRID_STEP_ROWS, 1);
  add_move_binding (widget_class, GDK_KEY_Page_Up, GDK_KEY_KP_Page_Up, LAM_SAMPLE_GRID_STEP_PAGES, -1);
  add_move_binding (widget_class, GDK_KEY_Page_Down, GDK_KEY_KP_Page_Down, LAM_SAMPLE_GRID_STEP_PAGES, 1);
  add_move_binding (widget_class, GDK_KEY_Home, GDK_KEY_KP_Home, LAM_SAMPLE_GRID_STEP_ENDS, -1);
  add_move_binding (widget_class, GDK_KEY_End, GDK_KEY_KP_End, LAM_SAMPLE_GRID_STEP_ENDS, 1);
  guint activate_keys[] = { GDK_KEY_Return, GDK_KEY_ISO_Enter, GDK_KEY_KP_Enter, GDK_KEY_space };
  for (guint i = 0; i < G_N_ELEMENTS (activate_keys); i++)
    gtk_widget_class_add_binding_action (widget_class, activate_keys[i], 0,
                                         "sample-grid.activate-cursor", NULL);

  gtk_widget_class_set_css_name (widget_class, "samplegrid");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GRID);
}

static void
lam_sample_grid_init (LamSampleGrid *self)
{
  /* A grid a screen reader can name; arrow keys move through its images. */
  lam_ui_set_accessible_label (GTK_WIDGET (self), "Images of the dataset, with their labels");
  self->filter = -1;
  self->selected = -1;
  self->cell_size = 56;
  self->row_textures = g_hash_table_new_full (NULL, NULL, NULL, g_object_unref);
  lam_scrollable_grid_init (&self->scroll, GTK_WIDGET (self), relayout_widget);

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self), "view");

  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (click_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
}

GtkWidget *
lam_sample_grid_new (void)
{
  return g_object_new (LAM_TYPE_SAMPLE_GRID, NULL);
}

/* positions = the dataset indices of the filtered class, ascending. */
static void
rebuild_positions (LamSampleGrid *self)
{
  g_clear_pointer (&self->positions, g_free);
  self->n_positions = 0;
  if (self->dataset == NULL)
    return;
  const LamDataset *dataset = self->dataset;
  self->positions = g_new (guint32, MAX (dataset->n, 1));
  for (int i = 0; i < dataset->n; i++)
    if (self->filter < 0 || dataset->labels[i] == self->filter)
      self->positions[self->n_positions++] = (guint32) i;
}

static int
find_position (LamSampleGrid *self, int index)
{
  guint lo = 0, hi = self->n_positions;
  while (lo < hi) {
    guint mid = lo + (hi - lo) / 2;
    if (self->positions[mid] < (guint32) index)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < self->n_positions && self->positions[lo] == (guint32) index ? (int) lo : -1;
}

void
lam_sample_grid_set_dataset (LamSampleGrid *self, const LamDataset *dataset)
{
  g_return_if_fail (LAM_IS_SAMPLE_GRID (self));

  /* The old dataset may be freed already: drop everything drawn from it
   * before looking at the new one. */
  invalidate_rows (self);
  clear_class_layouts (self);

  self->dataset = dataset;
  gboolean filter_changed = self->filter != -1;
  self->filter = -1;
  rebuild_positions (self);
  self->selected = self->n_positions > 0 ? 0 : -1;
  gtk_adjustment_set_value (self->scroll.vadjustment, 0);
  gtk_widget_queue_resize (GTK_WIDGET (self));
  relayout (self);

  if (filter_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILTER]);
  notify_selected (self);
}

const LamDataset *
lam_sample_grid_get_dataset (LamSampleGrid *self)
{
  g_return_val_if_fail (LAM_IS_SAMPLE_GRID (self), NULL);
  return self->dataset;
}

void
lam_sample_grid_set_filter (LamSampleGrid *self, int class_index)
{
  g_return_if_fail (LAM_IS_SAMPLE_GRID (self));
  g_return_if_fail (class_index >= -1);

  if (self->dataset == NULL || class_index >= self->dataset->n_classes)
    class_index = -1;
  if (class_index == self->filter)
    return;

  int old_index = lam_sample_grid_get_selected (self);
  self->filter = class_index;
  rebuild_positions (self);
  invalidate_rows (self);

  self->selected = old_index >= 0 ? find_position (self, old_index) : -1;
  if (self->selected < 0 && self->n_positions > 0)
    self->selected = 0;
  gtk_adjustment_set_value (self->scroll.vadjustment, 0);
  relayout (self);
  scroll_to_position (self, self->selected);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILTER]);
  if (lam_sample_grid_get_selected (self) != old_index)
    notify_selected (self);
}

int
lam_sample_grid_get_filter (LamSampleGrid *self)
{
  g_return_val_if_fail (LAM_IS_SAMPLE_GRID (self), -1);
  return self->filter;
}

guint
lam_sample_grid_get_n_visible_samples (LamSampleGrid *self)
{
  g_return_val_if_fail (LAM_IS_SAMPLE_GRID (self), 0);
  return self->n_positions;
}

int
lam_sample_grid_get_sample_at (LamSampleGrid *self, guint position)
{
  g_return_val_if_fail (LAM_IS_SAMPLE_GRID (self), -1);
  return position < self->n_positions ? (int) self->positions[position] : -1;
}

void
lam_sample_grid_set_cell_size (LamSampleGrid *self, int px)
{
  g_return_if_fail (LAM_IS_SAMPLE_GRID (self));
  px = CLAMP (px, LAM_SAMPLE_GRID_MIN_CELL_SIZE, LAM_SAMPLE_GRID_MAX_CELL_SIZE);
  if (px == self->cell_size)
    return;

  /* Zooming keeps the anchor sample where it was on screen. */
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  double offset = 0;
  int anchor = anchor_position (self, &offset);
  self->cell_size = px;
  if (width > 0 && height > 0) {
    compute_layout (self, width);
    double value = anchor >= 0 ? row_top (self, anchor / self->columns) - offset : 0;
    configure_adjustments (self, width, height, value);
  }
  gtk_widget_queue_resize (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CELL_SIZE]);
}

int
lam_sample_grid_get_cell_size (LamSampleGrid *self)
{
  g_return_val_if_fail (LAM_IS_SAMPLE_GRID (self), 0);
  return self->cell_size;
}

int
lam_sample_grid_get_selected (LamSampleGrid *self)
{
  g_return_val_if_fail (LAM_IS_SAMPLE_GRID (self), -1);
  return self->selected >= 0 ? (int) self->positions[self->selected] : -1;
}

void
lam_sample_grid_set_selected (LamSampleGrid *self, int index)
{
  g_return_if_fail (LAM_IS_SAMPLE_GRID (self));
  int position = index >= 0 ? find_position (self, index) : -1;
  if (index >= 0 && position < 0)
    return;
  select_position (self, position);
}

char *
lam_sample_grid_dup_sample_text (LamSampleGrid *self, int index)
{
  g_return_val_if_fail (LAM_IS_SAMPLE_GRID (self), NULL);
  g_return_val_if_fail (self->dataset != NULL && index >= 0 && index < self->dataset->n, NULL);
  return g_strdup_printf ("Sample %d: %s", index,
                          self->dataset->class_names[self->dataset->labels[index]]);
}

gboolean
lam_sample_grid_get_caption_cut (LamSampleGrid *self, int class_index)
{
  g_return_val_if_fail (LAM_IS_SAMPLE_GRID (self), FALSE);
  if (self->columns == 0 || !show_labels (self) || class_index < 0 ||
      class_index >= self->dataset->n_classes)
    return FALSE;
  ensure_class_layouts (self);
  return pango_layout_is_ellipsized (self->class_layouts[class_index]);
}
