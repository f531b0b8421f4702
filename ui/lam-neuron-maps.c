#include "lam-neuron-maps.h"

#include <math.h>

#include "lam-playground.h"
#include "lam-predict.h"
#include "lam-ui-util.h"

#define GRID LAM_NEURON_MAPS_GRID
#define CELLS (GRID * GRID)
#define TILE_GAP 6

struct _LamNeuronMaps
{
  GtkWidget parent_instance;
  int layer;
  int n_units;
  float values[LAM_NEURON_MAPS_MAX_UNITS][CELLS];
  cairo_surface_t *tiles[LAM_NEURON_MAPS_MAX_UNITS]; /* owned */
};

G_DEFINE_FINAL_TYPE (LamNeuronMaps, lam_neuron_maps, GTK_TYPE_WIDGET)

static void
clear_tiles (LamNeuronMaps *self)
{
  for (int u = 0; u < LAM_NEURON_MAPS_MAX_UNITS; u++)
    g_clear_pointer (&self->tiles[u], cairo_surface_destroy);
}

/* Blue for low, white for the middle, orange for high: each unit on its
 * own scale, since what matters is where it responds. */
static void
build_tiles (LamNeuronMaps *self)
{
  clear_tiles (self);
  for (int u = 0; u < self->n_units; u++) {
    float low = G_MAXFLOAT, high = -G_MAXFLOAT;
    for (int c = 0; c < CELLS; c++) {
      low = MIN (low, self->values[u][c]);
      high = MAX (high, self->values[u][c]);
    }
    double span = MAX (high - low, 1e-6);
    cairo_surface_t *tile = cairo_image_surface_create (CAIRO_FORMAT_RGB24, GRID, GRID);
    cairo_surface_flush (tile);
    guint8 *data = cairo_image_surface_get_data (tile);
    int stride = cairo_image_surface_get_stride (tile);
    for (int row = 0; row < GRID; row++)
      for (int column = 0; column < GRID; column++) {
        double t = (self->values[u][row * GRID + column] - low) / span;
        double r, g, b;
        if (t < 0.5) {
          double v = t / 0.5;
          r = 0.13 + 0.87 * v, g = 0.40 + 0.60 * v, b = 0.80 + 0.20 * v;
        } else {
          double v = (t - 0.5) / 0.5;
          r = 1.0 - 0.05 * v, g = 1.0 - 0.45 * v, b = 1.0 - 0.85 * v;
        }
        guint32 *pixel = (guint32 *) (data + row * stride) + column;
        *pixel = ((guint32) (r * 255) << 16) | ((guint32) (g * 255) << 8) | (guint32) (b * 255);
      }
    cairo_surface_mark_dirty (tile);
    self->tiles[u] = tile;
  }
}

static int
tiles_per_row (LamNeuronMaps *self, int width, double *side)
{
  int per_row = MAX (1, MIN (self->n_units, 8));
  *side = MIN (96, (width - TILE_GAP * (per_row - 1)) / (double) per_row);
  return per_row;
}

static void
lam_neuron_maps_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  LamNeuronMaps *self = LAM_NEURON_MAPS (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  if (self->n_units == 0 || width <= 0 || height <= 0)
    return;
  double side;
  int per_row = tiles_per_row (self, width, &side);
  cairo_t *cr = gtk_snapshot_append_cairo (
    snapshot, &GRAPHENE_RECT_INIT (0, 0, (float) width, (float) height));
  for (int u = 0; u < self->n_units; u++) {
    double x = (u % per_row) * (side + TILE_GAP), y = (u / per_row) * (side + TILE_GAP);
    cairo_save (cr);
    cairo_translate (cr, x, y);
    cairo_scale (cr, side / GRID, side / GRID);
    cairo_set_source_surface (cr, self->tiles[u], 0, 0);
    cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_BILINEAR);
    cairo_rectangle (cr, 0, 0, GRID, GRID);
    cairo_fill (cr);
    cairo_restore (cr);
    cairo_set_source_rgba (cr, 0, 0, 0, 0.3);
    cairo_set_line_width (cr, 1);
    cairo_rectangle (cr, x + 0.5, y + 0.5, side - 1, side - 1);
    cairo_stroke (cr);
  }
  cairo_destroy (cr);
}

static GtkSizeRequestMode
lam_neuron_maps_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
lam_neuron_maps_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                         int *minimum, int *natural, int *minimum_baseline,
                         int *natural_baseline)
{
  LamNeuronMaps *self = LAM_NEURON_MAPS (widget);
  if (self->n_units == 0) {
    *minimum = *natural = 0;
    return;
  }
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    *minimum = 120;
    *natural = 8 * (96 + TILE_GAP);
    return;
  }
  double side;
  int per_row = tiles_per_row (self, for_size > 0 ? for_size : 8 * (96 + TILE_GAP), &side);
  int rows = (self->n_units + per_row - 1) / per_row;
  *minimum = *natural = (int) ceil (rows * side + (rows - 1) * TILE_GAP);
}

static void
lam_neuron_maps_finalize (GObject *object)
{
  clear_tiles (LAM_NEURON_MAPS (object));
  G_OBJECT_CLASS (lam_neuron_maps_parent_class)->finalize (object);
}

static void
lam_neuron_maps_class_init (LamNeuronMapsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lam_neuron_maps_finalize;
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  widget_class->snapshot = lam_neuron_maps_snapshot;
  widget_class->measure = lam_neuron_maps_measure;
  widget_class->get_request_mode = lam_neuron_maps_get_request_mode;
  gtk_widget_class_set_css_name (widget_class, "neuronmaps");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lam_neuron_maps_init (LamNeuronMaps *self)
{
  lam_ui_set_accessible_label (GTK_WIDGET (self), "What each neuron responds to over the plane");
  self->layer = -1;
}

GtkWidget *
lam_neuron_maps_new (void)
{
  return g_object_new (LAM_TYPE_NEURON_MAPS, NULL);
}

/* The first hidden layer: an activation after a layer with parameters. */
static int
hidden_layer (const LamModelSpec *spec)
{
  gboolean after_params = FALSE;
  for (int l = 0; l < spec->n_layers; l++) {
    LamLayerKind kind = spec->layers[l].kind;
    if (after_params && (kind == LAM_LAYER_RELU || kind == LAM_LAYER_LEAKY_RELU ||
                         kind == LAM_LAYER_SIGMOID || kind == LAM_LAYER_TANH))
      return l;
    after_params |= lam_layer_kind_has_params (kind);
  }
  return -1;
}

gboolean
lam_neuron_maps_set_model (LamNeuronMaps *self, const LamModelSpec *spec, const float *params,
                           gsize n_params, const float *mean, const float *std,
                           const LamBoundaryPlane *plane, GError **error)
{
  g_return_val_if_fail (LAM_IS_NEURON_MAPS (self), FALSE);
  int previous = self->n_units;
  self->n_units = 0;
  self->layer = spec != NULL ? hidden_layer (spec) : -1;
  if (self->layer >= 0) {
    g_autoptr (LamUiModel) ui = lam_ui_model_new_for_rows (spec, params, n_params, 2, CELLS, error);
    gboolean ok = ui != NULL;
    if (ok) {
      LamModel *model = ui->model;
      float grid[CELLS * 2];
      lam_boundary_plane_grid (plane, GRID, GRID, grid);
      for (int i = 0; i < CELLS; i++)
        for (int c = 0; c < 2; c++)
          grid[2 * i + c] = (grid[2 * i + c] - mean[c]) / std[c];
      LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
      request.what = LAM_PREDICT_LAYERS;
      request.layers = &self->layer;
      request.n_layers = 1;
      g_autoptr (LamPrediction) prediction =
        lam_model_predict_inputs (model, grid, CELLS, NULL, &request, error);
      ok = prediction != NULL;
      if (ok) {
        int units = (int) MIN (prediction->layer_numel[0], LAM_NEURON_MAPS_MAX_UNITS);
        for (int u = 0; u < units; u++)
          for (int c = 0; c < CELLS; c++)
            self->values[u][c] =
              prediction->layer_outputs[0][(gsize) c * prediction->layer_numel[0] + u];
        self->n_units = units;
      }
    }
    if (!ok) {
      clear_tiles (self);
      gtk_widget_queue_resize (GTK_WIDGET (self));
      return FALSE;
    }
  }
  build_tiles (self);
  if (previous != self->n_units)
    gtk_widget_queue_resize (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return TRUE;
}

int
lam_neuron_maps_get_n_units (LamNeuronMaps *self)
{
  g_return_val_if_fail (LAM_IS_NEURON_MAPS (self), 0);
  return self->n_units;
}

int
lam_neuron_maps_get_layer (LamNeuronMaps *self)
{
  g_return_val_if_fail (LAM_IS_NEURON_MAPS (self), -1);
  return self->layer;
}

float
lam_neuron_maps_get_value (LamNeuronMaps *self, int unit, int row, int column)
{
  g_return_val_if_fail (LAM_IS_NEURON_MAPS (self), NAN);
  if (unit < 0 || unit >= self->n_units || row < 0 || row >= GRID || column < 0 || column >= GRID)
    return NAN;
  return self->values[unit][row * GRID + column];
}
