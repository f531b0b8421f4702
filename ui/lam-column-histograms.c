#include "lam-column-histograms.h"

#include <math.h>

#include "lam-ui-util.h"

#define BINS LAM_COLUMN_HISTOGRAMS_BINS
#define ROW_HEIGHT 44
#define ROW_GAP 8

typedef struct
{
  char *name;
  double low, high;
  int n_bins;   /* BINS, or the number of classes */
  int *counts;  /* n_bins */
  int max;
} Column;

struct _LamColumnHistograms
{
  GtkWidget parent_instance;
  GArray *columns; /* of Column */
};

G_DEFINE_FINAL_TYPE (LamColumnHistograms, lam_column_histograms, GTK_TYPE_WIDGET)

static void
column_clear (gpointer data)
{
  Column *c = data;
  g_free (c->name);
  g_free (c->counts);
}

static void
count_values (Column *c, const float *values, int n, int stride)
{
  c->low = G_MAXDOUBLE;
  c->high = -G_MAXDOUBLE;
  for (int i = 0; i < n; i++) {
    c->low = MIN (c->low, values[(gsize) i * stride]);
    c->high = MAX (c->high, values[(gsize) i * stride]);
  }
  c->n_bins = BINS;
  c->counts = g_new0 (int, BINS);
  double span = c->high - c->low;
  for (int i = 0; i < n; i++) {
    int bin = span > 0 ? (int) ((values[(gsize) i * stride] - c->low) / span * BINS) : 0;
    c->counts[CLAMP (bin, 0, BINS - 1)]++;
  }
}

void
lam_column_histograms_set_table (LamColumnHistograms *self, const LamDataset *table)
{
  g_return_if_fail (LAM_IS_COLUMN_HISTOGRAMS (self));
  g_array_set_size (self->columns, 0);
  if (table != NULL && lam_dataset_is_table (table) && table->n > 0) {
    for (int j = 0; j < table->n_features; j++) {
      Column c = { g_strdup (table->feature_names[j]), 0, 0, 0, NULL, 0 };
      count_values (&c, table->features + j, table->n, table->n_features);
      g_array_append_val (self->columns, c);
    }
    if (table->task == LAM_TASK_REGRESSION) {
      for (int t = 0; t < table->n_targets; t++) {
        Column c = { g_strdup_printf ("→ %s", table->target_names[t]), 0, 0, 0, NULL, 0 };
        count_values (&c, table->targets + t, table->n, table->n_targets);
        g_array_append_val (self->columns, c);
      }
    } else {
      Column c = { g_strdup_printf ("→ %s", table->target_names[0]), 0, table->n_classes - 1,
                   table->n_classes, g_new0 (int, MAX (table->n_classes, 1)), 0 };
      for (int i = 0; i < table->n; i++)
        c.counts[table->labels[i]]++;
      g_array_append_val (self->columns, c);
    }
    for (guint k = 0; k < self->columns->len; k++) {
      Column *c = &g_array_index (self->columns, Column, k);
      for (int b = 0; b < c->n_bins; b++)
        c->max = MAX (c->max, c->counts[b]);
    }
  }
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

int
lam_column_histograms_get_n_columns (LamColumnHistograms *self)
{
  g_return_val_if_fail (LAM_IS_COLUMN_HISTOGRAMS (self), 0);
  return (int) self->columns->len;
}

int
lam_column_histograms_get_count (LamColumnHistograms *self, int column, int bin)
{
  g_return_val_if_fail (LAM_IS_COLUMN_HISTOGRAMS (self), 0);
  if (column < 0 || column >= (int) self->columns->len)
    return 0;
  const Column *c = &g_array_index (self->columns, Column, column);
  return bin >= 0 && bin < c->n_bins ? c->counts[bin] : 0;
}

static double
row_height (GtkWidget *widget)
{
  return MAX (ROW_HEIGHT, 3.2 * lam_ui_font_pixels (widget));
}

static void
lam_column_histograms_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  LamColumnHistograms *self = LAM_COLUMN_HISTOGRAMS (widget);
  int width = gtk_widget_get_width (widget);
  if (self->columns->len == 0 || width <= 0)
    return;
  double row = row_height (widget);
  cairo_t *cr = gtk_snapshot_append_cairo (
    snapshot, &GRAPHENE_RECT_INIT (0, 0, (float) width,
                                   (float) (self->columns->len * (row + ROW_GAP))));
  GdkRGBA fg;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
  g_autoptr (PangoLayout) layout = lam_ui_create_layout (widget, "", PANGO_SCALE_SMALL, FALSE,
                                                         TRUE);
  for (guint k = 0; k < self->columns->len; k++) {
    const Column *c = &g_array_index (self->columns, Column, k);
    double y = k * (row + ROW_GAP);
    g_autofree char *caption = g_strdup_printf ("%s   %.4g … %.4g", c->name, c->low, c->high);
    pango_layout_set_text (layout, caption, -1);
    int tw, th;
    pango_layout_get_pixel_size (layout, &tw, &th);
    cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.8);
    cairo_move_to (cr, 0, y);
    pango_cairo_show_layout (cr, layout);
    double bars_top = y + th + 2, bars_height = row - th - 2;
    double bar_width = (double) width / c->n_bins;
    cairo_set_source_rgba (cr, 0.21, 0.52, 0.89, 0.85);
    for (int b = 0; b < c->n_bins; b++) {
      double height = c->max > 0 ? bars_height * c->counts[b] / c->max : 0;
      cairo_rectangle (cr, b * bar_width + 0.5, bars_top + bars_height - height,
                       MAX (bar_width - 1, 1), height);
    }
    cairo_fill (cr);
  }
  cairo_destroy (cr);
}

static void
lam_column_histograms_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                               int *minimum, int *natural, int *minimum_baseline,
                               int *natural_baseline)
{
  LamColumnHistograms *self = LAM_COLUMN_HISTOGRAMS (widget);
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    *minimum = 160;
    *natural = 300;
    return;
  }
  *minimum = *natural =
    (int) ceil (self->columns->len * (row_height (widget) + ROW_GAP));
}

static void
lam_column_histograms_finalize (GObject *object)
{
  LamColumnHistograms *self = LAM_COLUMN_HISTOGRAMS (object);
  g_array_unref (self->columns);
  G_OBJECT_CLASS (lam_column_histograms_parent_class)->finalize (object);
}

static void
lam_column_histograms_class_init (LamColumnHistogramsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lam_column_histograms_finalize;
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  widget_class->snapshot = lam_column_histograms_snapshot;
  widget_class->measure = lam_column_histograms_measure;
  gtk_widget_class_set_css_name (widget_class, "columnhistograms");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lam_column_histograms_init (LamColumnHistograms *self)
{
  lam_ui_set_accessible_label (GTK_WIDGET (self), "Histograms of the table's columns");
  self->columns = g_array_new (FALSE, TRUE, sizeof (Column));
  g_array_set_clear_func (self->columns, column_clear);
}

GtkWidget *
lam_column_histograms_new (void)
{
  return g_object_new (LAM_TYPE_COLUMN_HISTOGRAMS, NULL);
}
