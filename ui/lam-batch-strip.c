#include "lam-batch-strip.h"

#include <math.h>
#include <string.h>

#include "lam-ui-util.h"

/* Layout, in logical pixels. A cell is an image over two lines of text.
 * Class names must stay legible from the back of a room: a narrow strip
 * shows fewer images rather than smaller ones. */
#define MIN_CELL 72  /* room for "Ankle boot" and "✗ T-shirt/top" */
#define MAX_CELL 96
#define MAX_IMAGE 64 /* wider cells give the text room, not the image */
#define PAD 4        /* around each image inside its cell */
#define FRAME 2      /* the green or red frame, outside the image */
#define LABEL_GAP 3  /* between an image and its labels */
#define TEXT_SCALE 0.8

struct _LamBatchStrip
{
  GtkWidget parent_instance;

  const LamDataset *dataset; /* borrowed */
  int n;
  guint32 indices[LAM_BATCH_STRIP_MAX_IMAGES];
  gint32 predicted[LAM_BATCH_STRIP_MAX_IMAGES];
  /* The n images side by side at their own size, made once a batch. */
  cairo_surface_t *images;

  GdkRGBA fg;
  GdkRGBA right;
  GdkRGBA wrong;
  int line_height;
  char *style_key; /* owned: see lam_ui_update_style_key */
};

G_DEFINE_FINAL_TYPE (LamBatchStrip, lam_batch_strip, GTK_TYPE_WIDGET)

static gboolean
is_right (LamBatchStrip *self, int k)
{
  return self->predicted[k] == self->dataset->labels[self->indices[k]];
}

/* A class the dataset names, or its number (a model may have more
 * outputs than the dataset has classes). */
static void
format_class (LamBatchStrip *self, int class_index, char *out, gsize size)
{
  if (class_index >= 0 && class_index < self->dataset->n_classes)
    g_strlcpy (out, self->dataset->class_names[class_index], size);
  else
    g_snprintf (out, size, "class %d", class_index);
}

static int
cell_width (int width)
{
  return CLAMP (width / LAM_BATCH_STRIP_MAX_IMAGES, MIN_CELL, MAX_CELL);
}

static int
image_side (int cell)
{
  return MIN (cell - 2 * PAD, MAX_IMAGE);
}

static int
cell_height (LamBatchStrip *self, int cell)
{
  return PAD + image_side (cell) + LABEL_GAP + 2 * self->line_height + PAD;
}

/* How many of the batch's images fit in width. */
static int
n_drawn (LamBatchStrip *self, int width)
{
  return MIN (self->n, MAX (1, width / cell_width (width)));
}

static void
make_images (LamBatchStrip *self)
{
  g_clear_pointer (&self->images, cairo_surface_destroy);
  if (self->n == 0)
    return;
  const LamDataset *dataset = self->dataset;
  int w = dataset->width, h = dataset->height;
  gsize plane = (gsize) w * h;
  self->images = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w * self->n, h);
  guint8 *data = cairo_image_surface_get_data (self->images);
  int stride = cairo_image_surface_get_stride (self->images);
  for (int k = 0; k < self->n; k++) {
    const guint8 *image = lam_dataset_get_image (dataset, (int) self->indices[k]);
    /* A table's row has no picture: its place stays blank. */
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
  cairo_surface_mark_dirty (self->images);
}

static void
show_line (LamBatchStrip *self, cairo_t *cr, const char *text, gboolean bold, double x, double y,
           int width)
{
  g_autoptr (PangoLayout) layout =
    lam_ui_create_layout (GTK_WIDGET (self), text, TEXT_SCALE, bold, FALSE);
  pango_layout_set_width (layout, MAX (width, 1) * PANGO_SCALE);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
}

static void
lam_batch_strip_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  LamBatchStrip *self = LAM_BATCH_STRIP (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  if (self->n == 0 || self->images == NULL || width <= 0 || height <= 0)
    return;

  const LamDataset *dataset = self->dataset;
  int cell = cell_width (width);
  int w = dataset->width, h = dataset->height;
  double side = image_side (cell);
  double factor = side / MAX (w, h);
  double shown_w = w * factor, shown_h = h * factor;

  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  int n = n_drawn (self, width);
  for (int k = 0; k < n; k++) {
    gboolean right = is_right (self, k);
    const GdkRGBA *mark = right ? &self->right : &self->wrong;
    double cell_x = (double) k * cell;
    double image_x = cell_x + floor ((cell - shown_w) / 2);
    double image_y = PAD + floor ((side - shown_h) / 2);

    lam_ui_set_source (cr, mark, 1);
    lam_ui_rounded_rect (cr, image_x - FRAME, image_y - FRAME, shown_w + 2 * FRAME,
                         shown_h + 2 * FRAME, FRAME + 1);
    cairo_fill (cr);

    cairo_save (cr);
    cairo_translate (cr, image_x, image_y);
    cairo_scale (cr, factor, factor);
    cairo_set_source_surface (cr, self->images, -(double) k * w, 0);
    cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle (cr, 0, 0, w, h);
    cairo_fill (cr);
    cairo_restore (cr);

    /* The truth, then the guess with a mark that does not rely on colour. */
    char truth[128], guess[128], line[160];
    format_class (self, dataset->labels[self->indices[k]], truth, sizeof truth);
    format_class (self, self->predicted[k], guess, sizeof guess);
    double text_y = PAD + side + LABEL_GAP;
    lam_ui_set_source (cr, &self->fg, 0.75);
    show_line (self, cr, truth, FALSE, cell_x + 1, text_y, cell - 2);
    g_snprintf (line, sizeof line, "%s %s", right ? "\u2713" : "\u2717", guess);
    lam_ui_set_source (cr, mark, 1);
    show_line (self, cr, line, !right, cell_x + 1, text_y + self->line_height, cell - 2);
  }
  cairo_destroy (cr);
}

static GtkSizeRequestMode
lam_batch_strip_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
lam_batch_strip_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                         int *minimum, int *natural, int *minimum_baseline,
                         int *natural_baseline)
{
  LamBatchStrip *self = LAM_BATCH_STRIP (widget);
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    *minimum = MIN_CELL;
    *natural = LAM_BATCH_STRIP_MAX_IMAGES * MAX_CELL;
  } else {
    int width = for_size >= 0 ? for_size : LAM_BATCH_STRIP_MAX_IMAGES * MAX_CELL;
    *minimum = *natural = cell_height (self, cell_width (width));
  }
}

static void
update_style (LamBatchStrip *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &self->fg);
  gboolean dark = 0.2126 * self->fg.red + 0.7152 * self->fg.green + 0.0722 * self->fg.blue > 0.5;
  /* The Evaluate page's red for a mistake; a green as legible beside it. */
  gdk_rgba_parse (&self->wrong, dark ? "#ff7b63" : "#e01b24");
  gdk_rgba_parse (&self->right, dark ? "#57e389" : "#26a269");
  g_autoptr (PangoLayout) layout = lam_ui_create_layout (widget, "Ag", TEXT_SCALE, TRUE, FALSE);
  int w, h;
  pango_layout_get_pixel_size (layout, &w, &h);
  self->line_height = h;
}

static void
lam_batch_strip_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  LamBatchStrip *self = LAM_BATCH_STRIP (widget);
  GTK_WIDGET_CLASS (lam_batch_strip_parent_class)->css_changed (widget, change);
  if (!lam_ui_update_style_key (widget, &self->style_key))
    return;
  int before = self->line_height;
  update_style (self);
  if (self->line_height != before)
    gtk_widget_queue_resize (widget);
  gtk_widget_queue_draw (widget);
}

static gboolean
lam_batch_strip_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard,
                               GtkTooltip *tooltip)
{
  LamBatchStrip *self = LAM_BATCH_STRIP (widget);
  int width = gtk_widget_get_width (widget);
  int k = x / cell_width (width);
  if (keyboard || self->n == 0 || x < 0 || k >= n_drawn (self, width))
    return FALSE;
  char truth[128], guess[128];
  format_class (self, self->dataset->labels[self->indices[k]], truth, sizeof truth);
  format_class (self, self->predicted[k], guess, sizeof guess);
  g_autofree char *text =
    g_strdup_printf ("Training image %u: %s\nThe model guessed %s%s", self->indices[k], truth,
                     guess, is_right (self, k) ? " — right" : " — wrong");
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
lam_batch_strip_finalize (GObject *object)
{
  LamBatchStrip *self = LAM_BATCH_STRIP (object);
  g_clear_pointer (&self->images, cairo_surface_destroy);
  g_clear_pointer (&self->style_key, g_free);
  G_OBJECT_CLASS (lam_batch_strip_parent_class)->finalize (object);
}

static void
lam_batch_strip_class_init (LamBatchStripClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->finalize = lam_batch_strip_finalize;
  widget_class->snapshot = lam_batch_strip_snapshot;
  widget_class->get_request_mode = lam_batch_strip_get_request_mode;
  widget_class->measure = lam_batch_strip_measure;
  widget_class->css_changed = lam_batch_strip_css_changed;
  widget_class->query_tooltip = lam_batch_strip_query_tooltip;
  gtk_widget_class_set_css_name (widget_class, "batchstrip");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lam_batch_strip_init (LamBatchStrip *self)
{
  lam_ui_set_accessible_label (GTK_WIDGET (self),
                               "The images of the latest training step, with labels and guesses");
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  update_style (self);
}

GtkWidget *
lam_batch_strip_new (void)
{
  return g_object_new (LAM_TYPE_BATCH_STRIP, NULL);
}

void
lam_batch_strip_set_dataset (LamBatchStrip *self, const LamDataset *dataset)
{
  g_return_if_fail (LAM_IS_BATCH_STRIP (self));
  self->dataset = dataset;
  lam_batch_strip_set_batch (self, 0, NULL, NULL);
}

void
lam_batch_strip_set_batch (LamBatchStrip *self, int n, const guint32 *indices,
                           const gint32 *predicted)
{
  g_return_if_fail (LAM_IS_BATCH_STRIP (self));
  g_return_if_fail (n >= 0 && n <= LAM_BATCH_STRIP_MAX_IMAGES);
  g_return_if_fail (n == 0 || (indices != NULL && predicted != NULL && self->dataset != NULL));
  for (int k = 0; k < n; k++)
    g_return_if_fail (indices[k] < (guint32) self->dataset->n);
  self->n = n;
  if (n > 0) {
    memcpy (self->indices, indices, sizeof (guint32) * n);
    memcpy (self->predicted, predicted, sizeof (gint32) * n);
  }
  make_images (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

int
lam_batch_strip_get_n_images (LamBatchStrip *self)
{
  g_return_val_if_fail (LAM_IS_BATCH_STRIP (self), 0);
  return self->n;
}

int
lam_batch_strip_get_n_right (LamBatchStrip *self)
{
  g_return_val_if_fail (LAM_IS_BATCH_STRIP (self), 0);
  int right = 0;
  for (int k = 0; k < self->n; k++)
    right += is_right (self, k);
  return right;
}
