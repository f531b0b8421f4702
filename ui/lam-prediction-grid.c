#include "lam-prediction-grid.h"

#include "lam-scrollable-grid.h"
#include "lam-ui-util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Layout, in logical pixels. */
#define MARGIN 8          /* around the whole grid */
#define PAD 6             /* around each image inside its cell */
#define LABEL_GAP 4       /* between an image and its labels */
#define MIN_CELL_WIDTH 96 /* room for "T-shirt/top 100%" */
/* The same room in a larger font (presentation mode), in font sizes. */
#define MIN_CELL_FONTS 7.5
#define FRAME 2           /* the red frame of a mistake, outside the image */
#define SELECTION_RADIUS 6

struct _LamPredictionGrid
{
  GtkWidget parent_instance;

  LamEvaluationResult *result; /* owned reference, may be NULL */
  guint32 *positions;          /* owned: the test-image indices shown, in order */
  guint n_positions;
  guint n_wrong_positions;
  int filter_true;
  int filter_predicted;
  GHashTable *subset; /* owned, of test-image indices (GUINT_TO_POINTER (i + 1)); NULL: all */
  LamPredictionOrder order;
  int cell_size;
  int selected; /* a position in positions, or -1 */

  LamScrollableGrid scroll;

  /* Layout of the last allocation; columns is 0 before the first one. */
  int columns;
  int cell_width;
  int cell_height;
  int x0;
  int line_height;
  int label_lines; /* each label's: 1, or 2 when a class name needs them */
  int layout_width;

  /* Rows already drawn: row → GdkTexture, valid for the layout, colours
   * and scale they were drawn with. */
  GHashTable *row_textures;
  int texture_scale;

  GdkRGBA fg;
  GdkRGBA accent;
  GdkRGBA wrong;
  char *style_key; /* owned: see lam_ui_update_style_key */
};

static void lam_prediction_grid_scrollable_init (GtkScrollableInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LamPredictionGrid, lam_prediction_grid, GTK_TYPE_WIDGET,
                               G_IMPLEMENT_INTERFACE (GTK_TYPE_SCROLLABLE,
                                                      lam_prediction_grid_scrollable_init))

enum
{
  PROP_0,
  PROP_ORDER,
  PROP_CELL_SIZE,
  PROP_SELECTED,
  N_PROPS,

  PROP_HADJUSTMENT = N_PROPS,
  PROP_VADJUSTMENT,
  PROP_HSCROLL_POLICY,
  PROP_VSCROLL_POLICY,
};

static GParamSpec *properties[N_PROPS];

static void
lam_prediction_grid_scrollable_init (GtkScrollableInterface *iface)
{
}

static gboolean
is_wrong (const LamEvaluationResult *result, guint32 index)
{
  return result->predicted[index] != result->dataset->labels[index];
}

static const char *
class_name (const LamEvaluationResult *result, int c)
{
  if (c >= 0 && c < result->dataset->n_classes)
    return result->dataset->class_names[c];
  return "?";
}

static guint
n_rows (LamPredictionGrid *self)
{
  if (self->columns == 0)
    return 0;
  return (self->n_positions + self->columns - 1) / self->columns;
}

static void
invalidate_rows (LamPredictionGrid *self)
{
  g_hash_table_remove_all (self->row_textures);
}

static int
min_cell_width (LamPredictionGrid *self)
{
  return MAX (MIN_CELL_WIDTH, (int) ceil (MIN_CELL_FONTS * lam_ui_font_pixels (GTK_WIDGET (self))));
}

static PangoLayout *
create_label_layout (LamPredictionGrid *self, const char *text, gboolean bold)
{
  return lam_ui_create_layout (GTK_WIDGET (self), text, PANGO_SCALE_SMALL, bold, FALSE);
}

/* A label centred in a cell of cell_width, wrapped to it in up to lines
 * lines and shortened only past them. It kept one line by a smaller size,
 * too small to read from the back of a room in presentation mode. */
static PangoLayout *
create_cell_layout (LamPredictionGrid *self, const char *text, gboolean bold, int cell_width,
                    int lines)
{
  PangoLayout *layout = create_label_layout (self, text, bold);
  pango_layout_set_width (layout, MAX (cell_width - 6, 1) * PANGO_SCALE);
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_height (layout, -lines);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
  return layout;
}

/* The longest labels a class gives: its prediction, in bold, and its
 * truth under a mistake. */
static void
class_labels (const LamEvaluationResult *result, int c, char **prediction, char **truth)
{
  *prediction = g_strdup_printf ("%s 100%%", class_name (result, c));
  *truth = g_strdup_printf ("true: %s", class_name (result, c));
}

/* Whether a label of some class is cut in lines lines at cell_width:
 * with lines 1, whether it needs a second line. Pango shortens a label
 * held to one line instead of wrapping it, so its line count said one
 * even for "Ankle boot 9…". */
static gboolean
some_label_needs (LamPredictionGrid *self, int cell_width, int lines)
{
  if (self->result == NULL)
    return FALSE;
  for (int c = 0; c < self->result->dataset->n_classes; c++) {
    g_autofree char *prediction = NULL, *truth = NULL;
    class_labels (self->result, c, &prediction, &truth);
    for (int bold = 1; bold >= 0; bold--) {
      g_autoptr (PangoLayout) layout =
        create_cell_layout (self, bold ? prediction : truth, bold, cell_width, lines);
      if (pango_layout_is_ellipsized (layout))
        return TRUE;
    }
  }
  return FALSE;
}

static void
compute_layout (LamPredictionGrid *self, int width)
{
  int min_cell = MAX (self->cell_size + 2 * PAD, min_cell_width (self));
  int avail = MAX (width - 2 * MARGIN, min_cell);
  int columns = MAX (1, avail / min_cell);
  int cell_width = avail / columns;

  g_autoptr (PangoLayout) probe = create_label_layout (self, "Ag", TRUE);
  pango_layout_get_pixel_size (probe, NULL, &self->line_height);
  self->label_lines = some_label_needs (self, cell_width, 1) ? 2 : 1;
  int cell_height =
    PAD + self->cell_size + LABEL_GAP + 2 * self->label_lines * self->line_height + PAD;

  if (width != self->layout_width || columns != self->columns ||
      cell_width != self->cell_width || cell_height != self->cell_height)
    invalidate_rows (self);
  self->layout_width = width;
  self->columns = columns;
  self->cell_width = cell_width;
  self->cell_height = cell_height;
  self->x0 = (width - columns * cell_width) / 2;
}

static double
row_top (LamPredictionGrid *self, guint row)
{
  return MARGIN + (double) row * self->cell_height;
}

static void
configure_adjustments (LamPredictionGrid *self, int width, int height, double value)
{
  lam_scrollable_grid_configure (&self->scroll, width, height,
                                 (double) n_rows (self) * self->cell_height + 2 * MARGIN,
                                 self->cell_height, value);
}

static void
relayout (LamPredictionGrid *self)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  if (width <= 0 || height <= 0)
    return;
  compute_layout (self, width);
  configure_adjustments (self, width, height, gtk_adjustment_get_value (self->scroll.vadjustment));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
scroll_to_position (LamPredictionGrid *self, int position)
{
  if (position < 0 || self->columns == 0)
    return;
  double top = row_top (self, position / self->columns);
  gtk_adjustment_set_value (self->scroll.vadjustment,
                            lam_scrollable_grid_value_showing (&self->scroll, top,
                                                               top + self->cell_height, MARGIN));
}

static void
fill_strip (LamPredictionGrid *self, guint first, guint count, cairo_surface_t *strip)
{
  const LamDataset *dataset = self->result->dataset;
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

/* Shows a label at y; returns its height. */
static int
show_label (LamPredictionGrid *self, cairo_t *cr, const char *text, gboolean bold, double x,
            double y)
{
  g_autoptr (PangoLayout) layout =
    create_cell_layout (self, text, bold, self->cell_width, self->label_lines);
  int w, h;
  pango_layout_get_pixel_size (layout, &w, &h);
  cairo_move_to (cr, x + 3, y);
  pango_cairo_show_layout (cr, layout);
  return h;
}

/* Rounded down, so that a mistake never reads as 100% sure. */
static char *
dup_prediction_label (const LamEvaluationResult *result, guint32 index)
{
  return g_strdup_printf ("%s %d%%", class_name (result, result->predicted[index]),
                          (int) floor (100.0 * result->confidence[index]));
}

static char *
dup_truth_label (const LamEvaluationResult *result, guint32 index)
{
  return g_strdup_printf ("true: %s", class_name (result, result->dataset->labels[index]));
}

/* How many lines of values fit where an image would be. */
static int
value_lines_that_fit (LamPredictionGrid *self)
{
  return MAX (1, self->cell_size / MAX (self->line_height, 1));
}

static int
text_width (PangoLayout *measure, const char *text)
{
  int width;
  pango_layout_set_text (measure, text, -1);
  pango_layout_get_pixel_size (measure, &width, NULL);
  return width;
}

/* name with only keep of its characters, the middle given up: columns
 * often share a start ("hours studied per week", "hours studied per
 * day") and differ at their end. */
static char *
dup_shortened_name (const char *name, glong keep)
{
  glong length = g_utf8_strlen (name, -1);
  if (keep >= length)
    return g_strdup (name);
  const char *head_end = g_utf8_offset_to_pointer (name, (keep + 1) / 2);
  g_autofree char *head = g_strndup (name, head_end - name);
  g_autofree char *tail = g_strdup (g_utf8_offset_to_pointer (name, length - keep / 2));
  return g_strconcat (g_strchomp (head), "…", g_strchug (tail), NULL);
}

/* A value as wide as most that "%.4g" writes: a name shortened to leave
 * it room reads the same in every row. */
#define TYPICAL_VALUE "-0.0000"

/* name, shortened until it and then after fit max_width. */
static char *
dup_name_that_fits (const char *name, const char *after, PangoLayout *measure, int max_width)
{
  /* The most characters of the name that fit, between none and all. */
  glong fits = 0, too_many = g_utf8_strlen (name, -1) + 1;
  while (too_many - fits > 1) {
    glong keep = (fits + too_many) / 2;
    g_autofree char *shortened = dup_shortened_name (name, keep);
    g_autofree char *candidate = g_strconcat (shortened, after, NULL);
    if (text_width (measure, candidate) <= max_width)
      fits = keep;
    else
      too_many = keep;
  }
  return dup_shortened_name (name, fits);
}

char **
lam_prediction_grid_dup_row_lines (const LamDataset *dataset, int index, int max_lines,
                                   PangoLayout *measure, int max_width)
{
  g_return_val_if_fail (dataset != NULL, NULL);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  const float *row = lam_dataset_is_table (dataset) ? lam_dataset_get_row (dataset, index) : NULL;
  if (row == NULL)
    return g_strv_builder_end (builder);
  int n = dataset->n_features, fit = MAX (max_lines, 1), used = 0, shown = 0;
  for (; shown < n; shown++) {
    const char *name = dataset->feature_names[shown];
    g_autofree char *value = g_strdup_printf ("%.4g", row[shown]);
    /* The last line counts the rest when not all fit, so a wide table
     * does not read as two columns; the first value comes before it. */
    int left = fit - used - (shown + 1 < n && shown > 0 ? 1 : 0);
    if (measure == NULL) {
      if (left < 1)
        break;
      g_autofree char *line = g_strdup_printf ("%s = %s", name, value);
      g_strv_builder_add (builder, line);
      used++;
      continue;
    }
    const char *room =
      text_width (measure, value) > text_width (measure, TYPICAL_VALUE) ? value : TYPICAL_VALUE;
    g_autofree char *after = g_strdup_printf (" = %s", room);
    g_autofree char *inline_name = dup_name_that_fits (name, after, measure, max_width);
    if (strcmp (inline_name, name) == 0 || (left == 1 && shown == 0)) {
      /* Whole on one line; or, where there is only one line, the name as
       * short as it must be. */
      if (left < 1)
        break;
      g_autofree char *line = g_strdup_printf ("%s = %s", inline_name, value);
      g_strv_builder_add (builder, line);
      used++;
    } else {
      /* A name cut to a few letters does not say which column it is: on a
       * line of its own it keeps most of itself, the value under it. */
      if (left < 2)
        break;
      g_autofree char *own_line = dup_name_that_fits (name, "", measure, max_width);
      g_autofree char *line = g_strdup_printf ("= %s", value);
      g_strv_builder_add (builder, own_line);
      g_strv_builder_add (builder, line);
      used += 2;
    }
  }
  if (shown < n && used < fit) {
    g_autofree char *more = g_strdup_printf ("… and %d more", n - shown);
    g_strv_builder_add (builder, more);
  }
  return g_strv_builder_end (builder);
}

/* A table row's values as its cell shows them, in the place of an image. */
static GStrv
dup_value_lines (LamPredictionGrid *self, guint32 index)
{
  g_autoptr (PangoLayout) measure =
    lam_ui_create_layout (GTK_WIDGET (self), "", PANGO_SCALE_SMALL, FALSE, TRUE);
  return lam_prediction_grid_dup_row_lines (self->result->dataset, (int) index,
                                            value_lines_that_fit (self), measure,
                                            self->cell_width - 2 * PAD);
}

/* The layout show_values draws. */
static PangoLayout *
create_values_layout (LamPredictionGrid *self, guint32 index)
{
  g_auto (GStrv) lines = dup_value_lines (self, index);
  g_autofree char *text = g_strjoinv ("\n", lines);
  PangoLayout *layout =
    lam_ui_create_layout (GTK_WIDGET (self), text, PANGO_SCALE_SMALL, FALSE, TRUE);
  pango_layout_set_width (layout, MAX (self->cell_width - 2 * PAD, 1) * PANGO_SCALE);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
  return layout;
}

static void
show_values (LamPredictionGrid *self, cairo_t *cr, guint32 index, double x, double y)
{
  g_autoptr (PangoLayout) layout = create_values_layout (self, index);
  int h;
  pango_layout_get_pixel_size (layout, NULL, &h);
  /* Centred where an image would be, above the labels. */
  cairo_move_to (cr, x + PAD, y + floor ((self->cell_size - h) / 2.0));
  lam_ui_set_source (cr, &self->fg, 0.7);
  pango_cairo_show_layout (cr, layout);
}

/* One row of cells at the widget's scale; images scaled with the nearest
 * pixel so that they stay crisp. */
static GdkTexture *
render_row (LamPredictionGrid *self, guint row, int width, int scale)
{
  const LamEvaluationResult *result = self->result;
  const LamDataset *dataset = result->dataset;
  guint first = row * self->columns;
  guint count = MIN ((guint) self->columns, self->n_positions - first);
  int w = dataset->width, h = dataset->height;
  double factor = (double) self->cell_size / MAX (w, h);
  double shown_w = w * factor, shown_h = h * factor;
  gboolean table = lam_dataset_is_table (dataset);

  cairo_surface_t *strip = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w * (int) count, h);
  fill_strip (self, first, count, strip);

  cairo_surface_t *surface =
    cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width * scale, self->cell_height * scale);
  cairo_surface_set_device_scale (surface, scale, scale);
  cairo_t *cr = cairo_create (surface);

  for (guint k = 0; k < count; k++) {
    guint32 index = self->positions[first + k];
    gboolean wrong = is_wrong (result, index);
    double cell_x = self->x0 + (double) k * self->cell_width;
    double image_x = cell_x + floor ((self->cell_width - shown_w) / 2);
    double image_y = PAD + floor ((self->cell_size - shown_h) / 2);

    /* A table's row has no picture: a black box in a red frame would
     * read as one. Its values stand in its place. */
    if (!table) {
      if (wrong) {
        lam_ui_set_source (cr, &self->wrong, 1);
        lam_ui_rounded_rect (cr, image_x - FRAME, image_y - FRAME, shown_w + 2 * FRAME,
                             shown_h + 2 * FRAME, FRAME + 1);
        cairo_fill (cr);
      }
      cairo_save (cr);
      cairo_translate (cr, image_x, image_y);
      cairo_scale (cr, factor, factor);
      cairo_set_source_surface (cr, strip, -(double) k * w, 0);
      cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
      cairo_rectangle (cr, 0, 0, w, h);
      cairo_fill (cr);
      cairo_restore (cr);
    } else {
      show_values (self, cr, index, cell_x, PAD);
    }

    double text_y = PAD + self->cell_size + LABEL_GAP;
    g_autofree char *prediction = dup_prediction_label (result, index);
    lam_ui_set_source (cr, &self->fg, 0.9);
    double below = show_label (self, cr, prediction, wrong, cell_x, text_y);
    if (wrong) {
      g_autofree char *truth = dup_truth_label (result, index);
      lam_ui_set_source (cr, &self->wrong, 1);
      show_label (self, cr, truth, FALSE, cell_x, text_y + below);
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
forget_far_rows (LamPredictionGrid *self, guint first, guint last)
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
draw_empty_message (LamPredictionGrid *self, GtkSnapshot *snapshot, int width)
{
  g_autoptr (PangoLayout) layout =
    gtk_widget_create_pango_layout (GTK_WIDGET (self), "No test images match these filters");
  pango_layout_set_width (layout, MAX (width - 2 * MARGIN, 1) * PANGO_SCALE);
  pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD);
  GdkRGBA dim = self->fg;
  dim.alpha *= 0.55;
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (MARGIN, 48));
  gtk_snapshot_append_layout (snapshot, layout, &dim);
  gtk_snapshot_restore (snapshot);
}

static void
lam_prediction_grid_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  LamPredictionGrid *self = LAM_PREDICTION_GRID (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  if (self->result == NULL || self->columns == 0 || width <= 0)
    return;
  if (self->n_positions == 0) {
    draw_empty_message (self, snapshot, width);
    return;
  }

  int scale = gtk_widget_get_scale_factor (widget);
  if (scale != self->texture_scale) {
    invalidate_rows (self);
    self->texture_scale = scale;
  }

  double value = gtk_adjustment_get_value (self->scroll.vadjustment);
  guint rows = n_rows (self);
  guint first = (guint) (MAX (value - MARGIN, 0) / self->cell_height);
  guint last = (guint) MAX ((value + height - MARGIN) / self->cell_height, 0);
  last = MIN (last, rows - 1);

  if (self->selected >= 0) {
    guint row = (guint) self->selected / self->columns;
    guint column = (guint) self->selected % self->columns;
    GskRoundedRect outline;
    graphene_rect_t rect = GRAPHENE_RECT_INIT (self->x0 + column * self->cell_width + 1,
                                               round (row_top (self, row) - value) + 1,
                                               self->cell_width - 2, self->cell_height - 2);
    gsk_rounded_rect_init_from_rect (&outline, &rect, SELECTION_RADIUS);
    /* Full strength while the arrows move it, as the sample grid does, so
     * that a person at the keyboard sees where the focus is. */
    gboolean focused = gtk_widget_has_focus (widget);
    GdkRGBA fill = self->accent;
    fill.alpha = focused ? 0.2 : 0.1;
    gtk_snapshot_push_rounded_clip (snapshot, &outline);
    gtk_snapshot_append_color (snapshot, &fill, &rect);
    gtk_snapshot_pop (snapshot);
    GdkRGBA ring = self->accent;
    ring.alpha *= focused ? 1 : 0.6;
    float ring_width = focused ? 2 : 1;
    GdkRGBA border[4] = { ring, ring, ring, ring };
    float widths[4] = { ring_width, ring_width, ring_width, ring_width };
    gtk_snapshot_append_border (snapshot, &outline, widths, border);
  }

  for (guint row = first; row <= last && row < rows; row++) {
    GdkTexture *texture = g_hash_table_lookup (self->row_textures, GUINT_TO_POINTER (row));
    if (texture == NULL) {
      texture = render_row (self, row, width, scale);
      g_hash_table_insert (self->row_textures, GUINT_TO_POINTER (row), texture);
    }
    gtk_snapshot_append_texture (snapshot, texture,
                                 &GRAPHENE_RECT_INIT (0, round (row_top (self, row) - value),
                                                      width, self->cell_height));
  }
  forget_far_rows (self, first, last);
}

static void
lam_prediction_grid_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                             int *minimum, int *natural, int *minimum_baseline,
                             int *natural_baseline)
{
  LamPredictionGrid *self = LAM_PREDICTION_GRID (widget);
  int cell = MAX (self->cell_size + 2 * PAD, min_cell_width (self));
  *minimum = cell + 2 * MARGIN;
  *natural = (orientation == GTK_ORIENTATION_HORIZONTAL ? 4 : 3) * cell + 2 * MARGIN;
}

static void
lam_prediction_grid_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  relayout (LAM_PREDICTION_GRID (widget));
}

static void
update_colors (LamPredictionGrid *self)
{
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (self));
  gtk_style_context_get_color (context, &self->fg);
  if (!gtk_style_context_lookup_color (context, "theme_selected_bg_color", &self->accent))
    gdk_rgba_parse (&self->accent, "#3584e4");
  gboolean dark = 0.2126 * self->fg.red + 0.7152 * self->fg.green + 0.0722 * self->fg.blue > 0.5;
  gdk_rgba_parse (&self->wrong, dark ? "#ff7b63" : "#e01b24");
  /* The theme's accent is too dark for an outline on the dark style. */
  if (dark) {
    self->accent.red += (1 - self->accent.red) * 0.45f;
    self->accent.green += (1 - self->accent.green) * 0.45f;
    self->accent.blue += (1 - self->accent.blue) * 0.45f;
  }
}

static void
lam_prediction_grid_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  LamPredictionGrid *self = LAM_PREDICTION_GRID (widget);
  GTK_WIDGET_CLASS (lam_prediction_grid_parent_class)->css_changed (widget, change);
  if (!lam_ui_update_style_key (widget, &self->style_key))
    return;
  update_colors (self);
  invalidate_rows (self);
  relayout (self);
}

static int
position_at (LamPredictionGrid *self, double x, double y)
{
  if (self->columns == 0)
    return -1;
  double yy = y + gtk_adjustment_get_value (self->scroll.vadjustment) - MARGIN;
  double xx = x - self->x0;
  if (yy < 0 || xx < 0 || xx >= (double) self->columns * self->cell_width)
    return -1;
  guint position =
    (guint) (yy / self->cell_height) * self->columns + (guint) (xx / self->cell_width);
  return position < self->n_positions ? (int) position : -1;
}

static gboolean
lam_prediction_grid_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard,
                                   GtkTooltip *tooltip)
{
  LamPredictionGrid *self = LAM_PREDICTION_GRID (widget);
  int position = keyboard ? self->selected : position_at (self, x, y);
  if (position < 0 || self->result == NULL)
    return FALSE;
  g_autofree char *text = lam_prediction_grid_dup_image_text (self, (guint) position);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

/* A screen reader hears the selected image's true class and the
 * prediction, whole, in the grid's description. */
static void
update_description (LamPredictionGrid *self)
{
  g_autofree char *text =
    self->selected >= 0 ? lam_prediction_grid_dup_image_text (self, (guint) self->selected) : NULL;
  if (text != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                    text, -1);
  else
    gtk_accessible_reset_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
}

static void
notify_selected (LamPredictionGrid *self)
{
  update_description (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
}

static void
select_position (LamPredictionGrid *self, int position)
{
  scroll_to_position (self, position);
  if (position == self->selected)
    return;
  self->selected = position;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  notify_selected (self);
}

static gboolean
key_pressed (GtkEventControllerKey *controller, guint keyval, guint keycode,
             GdkModifierType state, LamPredictionGrid *self)
{
  if (self->n_positions == 0 || self->columns == 0)
    return FALSE;
  gint64 position = MAX (self->selected, 0);
  gint64 columns = self->columns;
  gint64 page_rows =
    MAX (1, (gint64) (gtk_adjustment_get_page_size (self->scroll.vadjustment) / self->cell_height));
  switch (keyval) {
  case GDK_KEY_Left:
  case GDK_KEY_KP_Left:
    position--;
    break;
  case GDK_KEY_Right:
  case GDK_KEY_KP_Right:
    position++;
    break;
  case GDK_KEY_Up:
  case GDK_KEY_KP_Up:
    if (position >= columns)
      position -= columns;
    break;
  case GDK_KEY_Down:
  case GDK_KEY_KP_Down:
    if (position + columns < (gint64) self->n_positions)
      position += columns;
    break;
  case GDK_KEY_Page_Up:
  case GDK_KEY_KP_Page_Up:
    position -= page_rows * columns;
    while (position < 0)
      position += columns;
    break;
  case GDK_KEY_Page_Down:
  case GDK_KEY_KP_Page_Down:
    position += page_rows * columns;
    while (position >= (gint64) self->n_positions && position - columns >= 0)
      position -= columns;
    break;
  case GDK_KEY_Home:
  case GDK_KEY_KP_Home:
    position = 0;
    break;
  case GDK_KEY_End:
  case GDK_KEY_KP_End:
    position = self->n_positions - 1;
    break;
  default:
    return FALSE;
  }
  select_position (self, (int) CLAMP (position, 0, (gint64) self->n_positions - 1));
  return TRUE;
}

static void
click_pressed (GtkGestureClick *gesture, int n_press, double x, double y,
               LamPredictionGrid *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self));
  int position = position_at (self, x, y);
  if (position >= 0)
    select_position (self, position);
}

/* The selection is drawn stronger while the grid has the focus. */
static void
lam_prediction_grid_state_flags_changed (GtkWidget *widget, GtkStateFlags previous)
{
  GTK_WIDGET_CLASS (lam_prediction_grid_parent_class)->state_flags_changed (widget, previous);
  if ((previous ^ gtk_widget_get_state_flags (widget)) & GTK_STATE_FLAG_FOCUSED)
    gtk_widget_queue_draw (widget);
}

static gboolean
lam_prediction_grid_focus (GtkWidget *widget, GtkDirectionType direction)
{
  /* One focus stop; arrows move the selection inside it. */
  if (gtk_widget_has_focus (widget))
    return FALSE;
  return gtk_widget_grab_focus (widget);
}

static void
relayout_widget (GtkWidget *widget)
{
  relayout (LAM_PREDICTION_GRID (widget));
}

static void
lam_prediction_grid_get_property (GObject *object, guint prop_id, GValue *value,
                                  GParamSpec *pspec)
{
  LamPredictionGrid *self = LAM_PREDICTION_GRID (object);
  switch (prop_id) {
  case PROP_ORDER:
    g_value_set_int (value, self->order);
    break;
  case PROP_CELL_SIZE:
    g_value_set_int (value, self->cell_size);
    break;
  case PROP_SELECTED:
    g_value_set_int (value, lam_prediction_grid_get_selected (self));
    break;
  default:
    if (lam_scrollable_grid_get_property (&self->scroll, PROP_HADJUSTMENT, prop_id, value))
      break;
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_prediction_grid_set_property (GObject *object, guint prop_id, const GValue *value,
                                  GParamSpec *pspec)
{
  LamPredictionGrid *self = LAM_PREDICTION_GRID (object);
  switch (prop_id) {
  case PROP_ORDER:
    lam_prediction_grid_set_order (self, g_value_get_int (value));
    break;
  case PROP_CELL_SIZE:
    lam_prediction_grid_set_cell_size (self, g_value_get_int (value));
    break;
  case PROP_SELECTED:
    lam_prediction_grid_set_selected (self, g_value_get_int (value));
    break;
  default:
    if (lam_scrollable_grid_set_property (&self->scroll, PROP_HADJUSTMENT, prop_id, value, pspec))
      break;
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_prediction_grid_dispose (GObject *object)
{
  LamPredictionGrid *self = LAM_PREDICTION_GRID (object);
  lam_scrollable_grid_clear (&self->scroll);
  G_OBJECT_CLASS (lam_prediction_grid_parent_class)->dispose (object);
}

static void
lam_prediction_grid_finalize (GObject *object)
{
  LamPredictionGrid *self = LAM_PREDICTION_GRID (object);
  g_clear_pointer (&self->row_textures, g_hash_table_unref);
  g_free (self->style_key);
  g_clear_pointer (&self->positions, g_free);
  g_clear_pointer (&self->subset, g_hash_table_unref);
  g_clear_pointer (&self->result, lam_evaluation_result_unref);
  G_OBJECT_CLASS (lam_prediction_grid_parent_class)->finalize (object);
}

static void
lam_prediction_grid_class_init (LamPredictionGridClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = lam_prediction_grid_get_property;
  object_class->set_property = lam_prediction_grid_set_property;
  object_class->dispose = lam_prediction_grid_dispose;
  object_class->finalize = lam_prediction_grid_finalize;

  widget_class->snapshot = lam_prediction_grid_snapshot;
  widget_class->measure = lam_prediction_grid_measure;
  widget_class->size_allocate = lam_prediction_grid_size_allocate;
  widget_class->css_changed = lam_prediction_grid_css_changed;
  widget_class->focus = lam_prediction_grid_focus;
  widget_class->state_flags_changed = lam_prediction_grid_state_flags_changed;
  widget_class->query_tooltip = lam_prediction_grid_query_tooltip;

  properties[PROP_ORDER] =
    g_param_spec_int ("order", NULL, NULL, LAM_PREDICTION_ORDER_CONFIDENT_WRONG,
                      LAM_PREDICTION_ORDER_INDEX, LAM_PREDICTION_ORDER_CONFIDENT_WRONG,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_CELL_SIZE] =
    g_param_spec_int ("cell-size", NULL, NULL, LAM_PREDICTION_GRID_MIN_CELL_SIZE,
                      LAM_PREDICTION_GRID_MAX_CELL_SIZE, 56,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SELECTED] =
    g_param_spec_int ("selected", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  lam_scrollable_grid_install_properties (object_class, PROP_HADJUSTMENT);

  gtk_widget_class_set_css_name (widget_class, "predictiongrid");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GRID);
}

static void
lam_prediction_grid_init (LamPredictionGrid *self)
{
  /* A grid a screen reader can name; arrow keys move through its images. */
  lam_ui_set_accessible_label (GTK_WIDGET (self), "Test images with the class the model gave each");
  self->filter_true = self->filter_predicted = -1;
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

  GtkEventController *keys = gtk_event_controller_key_new ();
  g_signal_connect (keys, "key-pressed", G_CALLBACK (key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);

  update_colors (self);
}

GtkWidget *
lam_prediction_grid_new (void)
{
  return g_object_new (LAM_TYPE_PREDICTION_GRID, NULL);
}

/* An image's place in the order as one number: mistakes first, then by
 * confidence as the order asks, then by index. Sorting these keys took a
 * third of the time that comparing through the result did for 10,000
 * images, on the main loop at every new result. */
static guint64
sort_key (const LamEvaluationResult *result, LamPredictionOrder order, guint32 index)
{
  guint64 right = is_wrong (result, index) ? 0 : 1;
  float confidence = result->confidence[index];
  guint32 bits = 0;
  if (order != LAM_PREDICTION_ORDER_INDEX) {
    /* Non-negative floats order as their bits do. A probability is never
     * below 0; -0 counts as 0, and NaN (weights gone to infinity) sorts as
     * the most confident. */
    if (!(confidence > 0.0f) && !isnan (confidence))
      confidence = 0.0f;
    memcpy (&bits, &confidence, sizeof bits);
    if (order == LAM_PREDICTION_ORDER_CONFIDENT_WRONG)
      bits = ~bits;
  }
  return right << 63 | (guint64) bits << 31 | (index & 0x7fffffffu);
}

static int
compare_keys (const void *a, const void *b)
{
  guint64 ka = *(const guint64 *) a, kb = *(const guint64 *) b;
  return ka < kb ? -1 : ka > kb;
}

/* Rebuilds what is shown and keeps the selected image selected when it is
 * still there, else selects the first. */
static void
rebuild (LamPredictionGrid *self)
{
  int old_index = lam_prediction_grid_get_selected (self);
  g_clear_pointer (&self->positions, g_free);
  self->n_positions = 0;
  self->n_wrong_positions = 0;
  self->selected = -1;
  invalidate_rows (self);

  const LamEvaluationResult *result = self->result;
  if (result != NULL) {
    self->positions = g_new (guint32, MAX (result->n_images, 1));
    for (int i = 0; i < result->n_images; i++) {
      if (self->filter_true >= 0 && result->dataset->labels[i] != self->filter_true)
        continue;
      if (self->filter_predicted >= 0 && result->predicted[i] != self->filter_predicted)
        continue;
      if (self->subset != NULL && !g_hash_table_contains (self->subset, GUINT_TO_POINTER (i + 1)))
        continue;
      self->positions[self->n_positions++] = (guint32) i;
      if (is_wrong (result, (guint32) i))
        self->n_wrong_positions++;
    }
    g_autofree guint64 *keys = g_new (guint64, MAX (self->n_positions, 1));
    for (guint p = 0; p < self->n_positions; p++)
      keys[p] = sort_key (result, self->order, self->positions[p]);
    qsort (keys, self->n_positions, sizeof (guint64), compare_keys);
    for (guint p = 0; p < self->n_positions; p++)
      self->positions[p] = (guint32) (keys[p] & 0x7fffffffu);
  }

  for (guint p = 0; old_index >= 0 && p < self->n_positions; p++)
    if (self->positions[p] == (guint32) old_index) {
      self->selected = (int) p;
      break;
    }
  if (self->selected < 0 && self->n_positions > 0)
    self->selected = 0;

  gtk_adjustment_set_value (self->scroll.vadjustment, 0);
  relayout (self);
  scroll_to_position (self, self->selected);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  /* The same image may have a new prediction. */
  update_description (self);
  if (lam_prediction_grid_get_selected (self) != old_index)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
}

void
lam_prediction_grid_set_result (LamPredictionGrid *self, LamEvaluationResult *result)
{
  g_return_if_fail (LAM_IS_PREDICTION_GRID (self));
  if (result == self->result)
    return;
  if (result != NULL)
    lam_evaluation_result_ref (result);
  /* The old result's images go with it: forget everything drawn from it
   * before it is released. */
  invalidate_rows (self);
  g_clear_pointer (&self->result, lam_evaluation_result_unref);
  self->result = result;
  if (result != NULL && (self->filter_true >= result->dataset->n_classes ||
                         self->filter_predicted >= result->dataset->n_classes))
    self->filter_true = self->filter_predicted = -1;
  rebuild (self);
  /* A new result opens at its top, where its mistakes come first; the
   * image the person chose stays selected (and in the detail view) even
   * when it now lies further down. */
  gtk_adjustment_set_value (self->scroll.vadjustment, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

LamEvaluationResult *
lam_prediction_grid_get_result (LamPredictionGrid *self)
{
  g_return_val_if_fail (LAM_IS_PREDICTION_GRID (self), NULL);
  return self->result;
}

void
lam_prediction_grid_set_filter (LamPredictionGrid *self, int true_class, int predicted_class)
{
  g_return_if_fail (LAM_IS_PREDICTION_GRID (self));
  true_class = MAX (true_class, -1);
  predicted_class = MAX (predicted_class, -1);
  if (true_class == self->filter_true && predicted_class == self->filter_predicted)
    return;
  self->filter_true = true_class;
  self->filter_predicted = predicted_class;
  rebuild (self);
}

void
lam_prediction_grid_get_filter (LamPredictionGrid *self, int *true_class, int *predicted_class)
{
  g_return_if_fail (LAM_IS_PREDICTION_GRID (self));
  if (true_class != NULL)
    *true_class = self->filter_true;
  if (predicted_class != NULL)
    *predicted_class = self->filter_predicted;
}

void
lam_prediction_grid_set_order (LamPredictionGrid *self, LamPredictionOrder order)
{
  g_return_if_fail (LAM_IS_PREDICTION_GRID (self));
  g_return_if_fail (order <= LAM_PREDICTION_ORDER_INDEX);
  if (order == self->order)
    return;
  self->order = order;
  rebuild (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ORDER]);
}

LamPredictionOrder
lam_prediction_grid_get_order (LamPredictionGrid *self)
{
  g_return_val_if_fail (LAM_IS_PREDICTION_GRID (self), LAM_PREDICTION_ORDER_CONFIDENT_WRONG);
  return self->order;
}

void
lam_prediction_grid_set_cell_size (LamPredictionGrid *self, int px)
{
  g_return_if_fail (LAM_IS_PREDICTION_GRID (self));
  px = CLAMP (px, LAM_PREDICTION_GRID_MIN_CELL_SIZE, LAM_PREDICTION_GRID_MAX_CELL_SIZE);
  if (px == self->cell_size)
    return;
  self->cell_size = px;
  invalidate_rows (self);
  gtk_widget_queue_resize (GTK_WIDGET (self));
  relayout (self);
  scroll_to_position (self, self->selected);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CELL_SIZE]);
}

int
lam_prediction_grid_get_cell_size (LamPredictionGrid *self)
{
  g_return_val_if_fail (LAM_IS_PREDICTION_GRID (self), 0);
  return self->cell_size;
}

guint
lam_prediction_grid_get_n_items (LamPredictionGrid *self)
{
  g_return_val_if_fail (LAM_IS_PREDICTION_GRID (self), 0);
  return self->n_positions;
}

int
lam_prediction_grid_get_item (LamPredictionGrid *self, guint position)
{
  g_return_val_if_fail (LAM_IS_PREDICTION_GRID (self), -1);
  return position < self->n_positions ? (int) self->positions[position] : -1;
}

guint
lam_prediction_grid_get_n_wrong_items (LamPredictionGrid *self)
{
  g_return_val_if_fail (LAM_IS_PREDICTION_GRID (self), 0);
  return self->n_wrong_positions;
}

int
lam_prediction_grid_get_selected (LamPredictionGrid *self)
{
  g_return_val_if_fail (LAM_IS_PREDICTION_GRID (self), -1);
  return self->selected >= 0 ? (int) self->positions[self->selected] : -1;
}

void
lam_prediction_grid_set_selected (LamPredictionGrid *self, int index)
{
  g_return_if_fail (LAM_IS_PREDICTION_GRID (self));
  if (index < 0) {
    select_position (self, -1);
    return;
  }
  for (guint p = 0; p < self->n_positions; p++)
    if (self->positions[p] == (guint32) index) {
      select_position (self, (int) p);
      return;
    }
}

void
lam_prediction_grid_set_subset (LamPredictionGrid *self, const guint32 *indices, guint n)
{
  g_return_if_fail (LAM_IS_PREDICTION_GRID (self));
  g_clear_pointer (&self->subset, g_hash_table_unref);
  if (indices != NULL) {
    self->subset = g_hash_table_new (NULL, NULL);
    for (guint k = 0; k < n; k++)
      g_hash_table_add (self->subset, GUINT_TO_POINTER (indices[k] + 1));
  }
  rebuild (self);
}

gboolean
lam_prediction_grid_get_has_subset (LamPredictionGrid *self)
{
  g_return_val_if_fail (LAM_IS_PREDICTION_GRID (self), FALSE);
  return self->subset != NULL;
}

char *
lam_prediction_grid_dup_cell_text (LamPredictionGrid *self, guint position)
{
  g_return_val_if_fail (LAM_IS_PREDICTION_GRID (self), NULL);
  if (self->result == NULL || position >= self->n_positions)
    return NULL;
  guint32 index = self->positions[position];
  g_autoptr (GString) text = g_string_new (NULL);
  if (lam_dataset_is_table (self->result->dataset)) {
    g_auto (GStrv) lines = dup_value_lines (self, index);
    for (guint i = 0; lines[i] != NULL; i++)
      g_string_append_printf (text, "%s\n", lines[i]);
  }
  g_autofree char *prediction = dup_prediction_label (self->result, index);
  g_string_append (text, prediction);
  if (is_wrong (self->result, index)) {
    g_autofree char *truth = dup_truth_label (self->result, index);
    g_string_append_printf (text, "\n%s", truth);
  }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

char *
lam_prediction_grid_dup_image_text (LamPredictionGrid *self, guint position)
{
  g_return_val_if_fail (LAM_IS_PREDICTION_GRID (self), NULL);
  if (self->result == NULL || position >= self->n_positions)
    return NULL;
  const LamEvaluationResult *result = self->result;
  guint32 index = self->positions[position];
  return g_strdup_printf ("Test image %u: %s\nPredicted %s (%.1f%%)%s", index,
                          class_name (result, result->dataset->labels[index]),
                          class_name (result, result->predicted[index]),
                          100.0 * result->confidence[index],
                          is_wrong (result, index) ? " — wrong" : " — right");
}

gboolean
lam_prediction_grid_get_labels_cut (LamPredictionGrid *self)
{
  g_return_val_if_fail (LAM_IS_PREDICTION_GRID (self), FALSE);
  return self->columns > 0 && some_label_needs (self, self->cell_width, self->label_lines);
}

gboolean
lam_prediction_grid_get_values_whole (LamPredictionGrid *self, guint position)
{
  g_return_val_if_fail (LAM_IS_PREDICTION_GRID (self), FALSE);
  if (self->result == NULL || position >= self->n_positions || self->columns == 0)
    return FALSE;
  g_autoptr (PangoLayout) layout = create_values_layout (self, self->positions[position]);
  if (pango_layout_is_ellipsized (layout))
    return FALSE;
  PangoRectangle ink, logical;
  pango_layout_get_pixel_extents (layout, &ink, &logical);
  /* Inside the cell's padding, and in the room of an image, above the
   * labels. */
  int x_min = MIN (ink.x, logical.x), y_min = MIN (ink.y, logical.y);
  int x_max = MAX (ink.x + ink.width, logical.x + logical.width);
  int y_max = MAX (ink.y + ink.height, logical.y + logical.height);
  return x_min >= 0 && x_max <= self->cell_width - 2 * PAD && y_max - y_min <= self->cell_size;
}
