/* lam-explain.c: saliency maps, Grad-CAM and nearest training images, on
 * top of lam_model_predict. */
#include "lam-explain.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lam-predict.h"

G_DEFINE_QUARK (lam-explain-error-quark, lam_explain_error)

/* Images per lam_model_predict call: a cancellable is checked between
 * slices, and the host copies of layer outputs stay a slice's worth. */
#define EXPLAIN_SLICE 256
/* Floats of features per slice when building an index. */
#define FEATURE_SLICE_FLOATS (4u << 20)
/* Index rows per product in a query; each product is (queries, rows). */
#define QUERY_ROWS_BLOCK 4096

const char *
lam_explain_method_to_string (LamExplainMethod method)
{
  switch (method) {
  case LAM_EXPLAIN_GRADIENT:
    return "saliency";
  case LAM_EXPLAIN_GRADIENT_X_INPUT:
    return "gradient-x-input";
  case LAM_EXPLAIN_GRAD_CAM:
    return "gradcam";
  default:
    return "unknown";
  }
}

gboolean
lam_explain_method_from_string (const char *name, LamExplainMethod *method)
{
  static const struct
  {
    const char *name;
    LamExplainMethod method;
  } names[] = {
    { "saliency", LAM_EXPLAIN_GRADIENT },
    { "gradient", LAM_EXPLAIN_GRADIENT },
    { "gradient-x-input", LAM_EXPLAIN_GRADIENT_X_INPUT },
    { "gxi", LAM_EXPLAIN_GRADIENT_X_INPUT },
    { "gradcam", LAM_EXPLAIN_GRAD_CAM },
    { "grad-cam", LAM_EXPLAIN_GRAD_CAM },
    { "grad_cam", LAM_EXPLAIN_GRAD_CAM },
  };
  g_return_val_if_fail (method != NULL, FALSE);
  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (name, names[i].name) == 0) {
      *method = names[i].method;
      return TRUE;
    }
  return FALSE;
}

void
lam_explanation_free (LamExplanation *explanation)
{
  if (explanation == NULL)
    return;
  g_free (explanation->maps);
  g_free (explanation->classes);
  g_free (explanation->scores);
  g_free (explanation->predicted);
  g_free (explanation->signed_values);
  g_free (explanation->weights);
  g_free (explanation->coarse);
  g_free (explanation);
}

int
lam_explain_grad_cam_layer (const LamModelPlan *plan)
{
  g_return_val_if_fail (plan != NULL, -1);
  int conv = -1;
  for (int i = 0; i < plan->n_layers; i++)
    if (plan->layers[i].spec.kind == LAM_LAYER_CONV2D)
      conv = i;
  if (conv < 0)
    return -1;
  /* The maps the next layers see are the convolution's after whatever
   * acts on each value alone: a ReLU's, not the raw sums. */
  int layer = conv;
  while (layer + 1 < plan->n_layers) {
    LamLayerKind kind = plan->layers[layer + 1].spec.kind;
    if (kind != LAM_LAYER_RELU && kind != LAM_LAYER_LEAKY_RELU && kind != LAM_LAYER_SIGMOID &&
        kind != LAM_LAYER_TANH && kind != LAM_LAYER_BATCHNORM2D && kind != LAM_LAYER_DROPOUT)
      break;
    layer++;
  }
  return layer;
}

void
lam_explain_upsample (const float *src, int src_h, int src_w, float *dst, int dst_h, int dst_w)
{
  g_return_if_fail (src != NULL && dst != NULL);
  g_return_if_fail (src_h > 0 && src_w > 0 && dst_h > 0 && dst_w > 0);
  double sy = (double) src_h / dst_h, sx = (double) src_w / dst_w;
  for (int y = 0; y < dst_h; y++) {
    double fy = CLAMP ((y + 0.5) * sy - 0.5, 0.0, src_h - 1.0);
    int y0 = (int) fy, y1 = MIN (y0 + 1, src_h - 1);
    double wy = fy - y0;
    for (int x = 0; x < dst_w; x++) {
      double fx = CLAMP ((x + 0.5) * sx - 0.5, 0.0, src_w - 1.0);
      int x0 = (int) fx, x1 = MIN (x0 + 1, src_w - 1);
      double wx = fx - x0;
      double top = src[y0 * src_w + x0] * (1 - wx) + src[y0 * src_w + x1] * wx;
      double bottom = src[y1 * src_w + x0] * (1 - wx) + src[y1 * src_w + x1] * wx;
      dst[y * dst_w + x] = (float) (top * (1 - wy) + bottom * wy);
    }
  }
}

/* Divides a map by its largest value; values that are not finite, and
 * every value of a map with nothing above 0, become 0. */
static void
normalise_map (float *map, gsize n)
{
  float max = 0;
  for (gsize p = 0; p < n; p++)
    if (isfinite (map[p]) && map[p] > max)
      max = map[p];
  for (gsize p = 0; p < n; p++)
    map[p] = max > 0 && isfinite (map[p]) ? MAX (map[p], 0.0f) / max : 0.0f;
}

static gpointer
try_alloc (gsize count, gsize size, const char *what, GError **error)
{
  gpointer memory = count <= G_MAXSIZE / MAX (size, 1) ? g_try_malloc0_n (MAX (count, 1), size)
                                                        : NULL;
  if (memory == NULL)
    g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_MEMORY,
                 "could not allocate %.1f MB of memory for the %s",
                 (double) count * size / (1024.0 * 1024.0), what);
  return memory;
}

/* One call's settings, checked. */
typedef struct
{
  LamModel *model;
  LamExplainMethod method;
  int klass;
  int layer; /* Grad-CAM's */
  int n_out;
  int channels, height, width; /* of the input */
  gsize input_numel;
  gboolean flat;                           /* a table's row, not channels × height × width */
  int map_channels, map_height, map_width; /* Grad-CAM's layer output */
} Explain;

static gboolean
explain_init (Explain *e, LamModel *model, const LamDataset *dataset, LamExplainMethod method,
              int klass, int layer, GError **error)
{
  const LamModelPlan *plan = lam_model_get_plan (model);
  memset (e, 0, sizeof *e);
  e->model = model;
  e->method = method;
  e->klass = klass;
  e->layer = -1;
  e->n_out = lam_model_get_n_classes (model);
  e->input_numel = lam_shape_numel (&plan->input);
  if (plan->input.rank == 3) {
    e->channels = plan->input.dims[0];
    e->height = plan->input.dims[1];
    e->width = plan->input.dims[2];
  } else {
    /* A table's row: one line of features. */
    e->flat = TRUE;
    e->channels = 1;
    e->height = 1;
    e->width = (int) e->input_numel;
  }

  if (method != LAM_EXPLAIN_GRADIENT && method != LAM_EXPLAIN_GRADIENT_X_INPUT &&
      method != LAM_EXPLAIN_GRAD_CAM) {
    g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID,
                 "no explanation method %d: expected saliency, gradient × input or Grad-CAM",
                 (int) method);
    return FALSE;
  }
  LamLossKind loss = lam_model_spec_get_loss (lam_model_get_spec (model));
  if ((dataset != NULL && dataset->task == LAM_TASK_REGRESSION) || loss == LAM_LOSS_L1) {
    g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_NO_CLASS,
                 "%s predicts numbers (regression): it has no class score to explain",
                 dataset != NULL && dataset->task == LAM_TASK_REGRESSION ? dataset->name
                                                                           : "the model");
    return FALSE;
  }
  if (klass != LAM_EXPLAIN_CLASS_PREDICTED && (klass < 0 || klass >= e->n_out)) {
    g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID,
                 "no class %d to explain: the model gives %d outputs (classes 0 to %d)", klass,
                 e->n_out, e->n_out - 1);
    return FALSE;
  }
  if (method != LAM_EXPLAIN_GRAD_CAM)
    return TRUE;

  if (layer == LAM_EXPLAIN_LAYER_AUTO) {
    layer = lam_explain_grad_cam_layer (plan);
    if (layer < 0) {
      g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_NO_CONV,
                   "Grad-CAM needs a convolution (conv2d) whose maps it weighs, and this model "
                   "has none: use a saliency map instead");
      return FALSE;
    }
  } else if (layer < 0 || layer >= plan->n_layers) {
    g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID,
                 "no layer %d for Grad-CAM: the model has layers 0 to %d", layer,
                 plan->n_layers - 1);
    return FALSE;
  }
  const LamShape *shape = &plan->layers[layer].out_shape;
  if (shape->rank != 3) {
    g_autofree char *text = lam_shape_to_string (shape);
    g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID,
                 "Grad-CAM needs a layer whose output is channels × height × width, and layer "
                 "%d (%s) gives %s", layer, lam_layer_kind_to_string (plan->layers[layer].spec.kind),
                 text);
    return FALSE;
  }
  e->layer = layer;
  e->map_channels = shape->dims[0];
  e->map_height = shape->dims[1];
  e->map_width = shape->dims[2];
  return TRUE;
}

static LamExplanation *
explanation_new (const Explain *e, int n, GError **error)
{
  g_autoptr (LamExplanation) x = g_new0 (LamExplanation, 1);
  x->method = e->method;
  x->n_images = n;
  x->height = e->height;
  x->width = e->width;
  x->layer = e->method == LAM_EXPLAIN_GRAD_CAM ? e->layer : -1;
  gsize count = (gsize) n;
  if ((x->maps = try_alloc (count * e->height * e->width, sizeof (float), "maps", error)) ==
        NULL ||
      (x->classes = try_alloc (count, sizeof (gint32), "classes", error)) == NULL ||
      (x->scores = try_alloc (count, sizeof (float), "scores", error)) == NULL ||
      (x->predicted = try_alloc (count, sizeof (gint32), "classes", error)) == NULL)
    return NULL;
  if (e->flat && e->method != LAM_EXPLAIN_GRAD_CAM &&
      (x->signed_values = try_alloc (count * e->width, sizeof (float), "signed values", error)) ==
        NULL)
    return NULL;
  if (e->method == LAM_EXPLAIN_GRAD_CAM) {
    x->n_channels = e->map_channels;
    x->layer_height = e->map_height;
    x->layer_width = e->map_width;
    if ((x->weights = try_alloc (count * e->map_channels, sizeof (float), "Grad-CAM weights",
                                 error)) == NULL ||
        (x->coarse = try_alloc (count * e->map_height * e->map_width, sizeof (float),
                                "Grad-CAM maps", error)) == NULL)
      return NULL;
  }
  return g_steal_pointer (&x);
}

static void
request_init (const Explain *e, LamPredictRequest *request, int *layers)
{
  LamPredictRequest init = LAM_PREDICT_REQUEST_INIT;
  *request = init;
  request->what = LAM_PREDICT_OUTPUTS | LAM_PREDICT_CLASSES;
  request->gradient_of = e->klass >= 0 ? e->klass : LAM_PREDICT_GRADIENT_OF_PREDICTED;
  request->layers = layers;
  if (e->method == LAM_EXPLAIN_GRAD_CAM) {
    layers[0] = e->layer;
    request->n_layers = 1;
    request->what |= LAM_PREDICT_LAYERS | LAM_PREDICT_LAYER_GRADIENTS;
  } else {
    request->what |= LAM_PREDICT_INPUT_GRADIENT;
    /* Gradient × input needs the input as the model saw it, normalised. */
    if (e->method == LAM_EXPLAIN_GRADIENT_X_INPUT) {
      layers[0] = -1;
      request->n_layers = 1;
      request->what |= LAM_PREDICT_LAYERS;
    }
  }
}

/* Fills images start.. of x from a prediction of p->n_images images. */
static void
explain_slice (const Explain *e, const LamPrediction *p, LamExplanation *x, int start)
{
  gsize hw = (gsize) e->height * e->width;
  for (int i = 0; i < p->n_images; i++) {
    int at = start + i;
    int klass = e->klass >= 0 ? e->klass : p->predicted[i];
    x->classes[at] = klass;
    x->predicted[at] = p->predicted[i];
    x->scores[at] = p->outputs[(gsize) i * p->n_outputs + klass];
    float *map = x->maps + (gsize) at * hw;

    if (e->method != LAM_EXPLAIN_GRAD_CAM) {
      const float *g = p->input_gradient + (gsize) i * e->input_numel;
      const float *in = e->method == LAM_EXPLAIN_GRADIENT_X_INPUT
                          ? p->layer_outputs[0] + (gsize) i * e->input_numel
                          : NULL;
      /* A row's columns each have one value, whose sign says for or
       * against the class: kept before the map drops it. */
      if (x->signed_values != NULL)
        for (gsize q = 0; q < hw; q++)
          x->signed_values[(gsize) at * hw + q] = in != NULL ? g[q] * in[q] : g[q];
      for (gsize q = 0; q < hw; q++) {
        float best = 0;
        for (int c = 0; c < e->channels; c++) {
          gsize at_c = (gsize) c * hw + q;
          float v = fabsf (in != NULL ? g[at_c] * in[at_c] : g[at_c]);
          best = MAX (best, v);
        }
        map[q] = best;
      }
      normalise_map (map, hw);
      continue;
    }

    /* Grad-CAM: α_k the mean of the gradient over channel k's map, then
     * the α-weighted sum of the maps, of which only what raises the score
     * is kept. */
    int channels = e->map_channels;
    gsize mhw = (gsize) e->map_height * e->map_width;
    const float *a = p->layer_outputs[0] + (gsize) i * channels * mhw;
    const float *g = p->layer_gradients[0] + (gsize) i * channels * mhw;
    float *alpha = x->weights + (gsize) at * channels;
    float *coarse = x->coarse + (gsize) at * mhw;
    g_autofree double *sum = g_new0 (double, mhw);
    for (int k = 0; k < channels; k++) {
      double mean = 0;
      for (gsize q = 0; q < mhw; q++)
        mean += g[k * mhw + q];
      mean /= (double) mhw;
      alpha[k] = (float) mean;
      for (gsize q = 0; q < mhw; q++)
        sum[q] += mean * a[k * mhw + q];
    }
    for (gsize q = 0; q < mhw; q++)
      coarse[q] = sum[q] > 0 ? (float) sum[q] : 0.0f;
    lam_explain_upsample (coarse, e->map_height, e->map_width, map, e->height, e->width);
    normalise_map (map, hw);
  }
}

LamExplanation *
lam_explain_images (LamModel *model, const LamDataset *dataset, const guint32 *indices,
                    gsize n_indices, const float *mean, const float *std,
                    LamExplainMethod method, int klass, int layer, GCancellable *cancellable,
                    GError **error)
{
  g_return_val_if_fail (model != NULL && dataset != NULL, NULL);
  g_return_val_if_fail (indices != NULL || n_indices == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  Explain e;
  if (!explain_init (&e, model, dataset, method, klass, layer, error))
    return NULL;
  for (gsize i = 0; i < n_indices; i++)
    if (indices[i] >= (guint32) MAX (dataset->n, 0)) {
      g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID,
                   "no image %u in %s: it has %d images (0 to %d)", indices[i], dataset->name,
                   dataset->n, dataset->n - 1);
      return NULL;
    }
  if (n_indices > G_MAXINT) {
    g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_MEMORY,
                 "%zu images are more than one call explains", n_indices);
    return NULL;
  }

  g_autoptr (LamExplanation) x = explanation_new (&e, (int) n_indices, error);
  if (x == NULL)
    return NULL;
  LamPredictRequest request;
  int layers[1];
  request_init (&e, &request, layers);
  for (gsize start = 0; start < n_indices; start += EXPLAIN_SLICE) {
    gsize count = MIN (EXPLAIN_SLICE, n_indices - start);
    g_autoptr (LamPrediction) p = lam_model_predict (model, dataset, indices + start, count, mean,
                                                     std, &request, cancellable, error);
    if (p == NULL)
      return NULL;
    explain_slice (&e, p, x, (int) start);
  }
  return g_steal_pointer (&x);
}

LamExplanation *
lam_explain_inputs (LamModel *model, const float *inputs, int n, LamExplainMethod method,
                    int klass, int layer, GError **error)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (n < 0 || (n > 0 && inputs == NULL)) {
    g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID,
                 "%d images given%s", n, n > 0 ? " without their values" : "");
    return NULL;
  }
  Explain e;
  if (!explain_init (&e, model, NULL, method, klass, layer, error))
    return NULL;
  g_autoptr (LamExplanation) x = explanation_new (&e, n, error);
  if (x == NULL)
    return NULL;
  LamPredictRequest request;
  int layers[1];
  request_init (&e, &request, layers);
  for (int start = 0; start < n; start += EXPLAIN_SLICE) {
    int count = MIN (EXPLAIN_SLICE, n - start);
    g_autoptr (LamPrediction) p = lam_model_predict_inputs (
      model, inputs + (gsize) start * e.input_numel, count, NULL, &request, error);
    if (p == NULL)
      return NULL;
    explain_slice (&e, p, x, start);
  }
  return g_steal_pointer (&x);
}

/* ---- features and the nearest images ---- */

struct _LamFeatureIndex
{
  gsize n, dim;
  int layer;
  LamFeatureMetric metric;
  /* owned, (n, dim): for cosine each of norm 1 or all zero, for distance
   * as given */
  float *rows;
};

static gboolean
resolve_feature_layer (LamModel *model, int *layer, gsize *dim, GError **error)
{
  const LamModelPlan *plan = lam_model_get_plan (model);
  if (*layer == LAM_EXPLAIN_LAYER_AUTO)
    *layer = lam_model_plan_penultimate_layer (plan);
  if (*layer < -1 || *layer >= plan->n_layers) {
    g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID,
                 "no layer %d to take features from: the model has layers 0 to %d (-1 the "
                 "input)", *layer, plan->n_layers - 1);
    return FALSE;
  }
  *dim = *layer < 0 ? lam_shape_numel (&plan->input)
                    : lam_shape_numel (&plan->layers[*layer].out_shape);
  return TRUE;
}

/* Images per predict call so that a slice's features stay near
 * FEATURE_SLICE_FLOATS, and at least a batch. */
static gsize
feature_slice (LamModel *model, gsize dim)
{
  gsize slice = FEATURE_SLICE_FLOATS / MAX (dim, 1);
  return MAX (slice, (gsize) lam_model_get_max_batch (model));
}

float *
lam_explain_features (LamModel *model, const LamDataset *dataset, const guint32 *indices,
                      gsize n_indices, const float *mean, const float *std, int layer, gsize *dim,
                      GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (model != NULL && dataset != NULL && dim != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!resolve_feature_layer (model, &layer, dim, error))
    return NULL;
  gsize n = indices != NULL ? n_indices : (gsize) MAX (dataset->n, 0);
  for (gsize i = 0; indices != NULL && i < n; i++)
    if (indices[i] >= (guint32) MAX (dataset->n, 0)) {
      g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID,
                   "no image %u in %s: it has %d images (0 to %d)", indices[i], dataset->name,
                   dataset->n, dataset->n - 1);
      return NULL;
    }
  g_autofree float *features = try_alloc (n * *dim, sizeof (float), "features", error);
  if (features == NULL)
    return NULL;

  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_LAYERS;
  request.layers = &layer;
  request.n_layers = 1;
  gsize slice = feature_slice (model, *dim);
  g_autofree guint32 *order = indices == NULL ? g_new (guint32, MIN (slice, MAX (n, 1))) : NULL;
  for (gsize start = 0; start < n; start += slice) {
    gsize count = MIN (slice, n - start);
    const guint32 *these = indices != NULL ? indices + start : order;
    for (gsize i = 0; indices == NULL && i < count; i++)
      order[i] = (guint32) (start + i);
    g_autoptr (LamPrediction) p = lam_model_predict (model, dataset, these, count, mean, std,
                                                     &request, cancellable, error);
    if (p == NULL)
      return NULL;
    memcpy (features + start * *dim, p->layer_outputs[0], sizeof (float) * count * *dim);
  }
  return g_steal_pointer (&features);
}

float *
lam_explain_features_inputs (LamModel *model, const float *inputs, int n, int layer, gsize *dim,
                             GError **error)
{
  g_return_val_if_fail (model != NULL && dim != NULL, NULL);
  g_return_val_if_fail (n >= 0 && (inputs != NULL || n == 0), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!resolve_feature_layer (model, &layer, dim, error))
    return NULL;
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_LAYERS;
  request.layers = &layer;
  request.n_layers = 1;
  g_autoptr (LamPrediction) p = lam_model_predict_inputs (model, inputs, n, NULL, &request, error);
  if (p == NULL)
    return NULL;
  if (n == 0)
    return g_new0 (float, 1);
  float *features = g_steal_pointer (&p->layer_outputs[0]);
  return features;
}

/* Scales a row to norm 1; a row of zeros, or one with a value that is not
 * finite, becomes zeros (similar to nothing). */
static void
normalise_row (float *row, gsize dim)
{
  double sum = 0;
  for (gsize j = 0; j < dim; j++)
    sum += (double) row[j] * row[j];
  if (!isfinite (sum) || sum <= 0) {
    memset (row, 0, sizeof (float) * dim);
    return;
  }
  double scale = 1.0 / sqrt (sum);
  for (gsize j = 0; j < dim; j++)
    row[j] = (float) (row[j] * scale);
}

LamFeatureIndex *
lam_feature_index_new_from_features (const float *features, gsize n, gsize dim, GError **error)
{
  return lam_feature_index_new_with_metric (features, n, dim, LAM_FEATURE_COSINE, error);
}

LamFeatureIndex *
lam_feature_index_new_with_metric (const float *features, gsize n, gsize dim,
                                   LamFeatureMetric metric, GError **error)
{
  g_return_val_if_fail (features != NULL || n == 0, NULL);
  g_return_val_if_fail (metric == LAM_FEATURE_COSINE || metric == LAM_FEATURE_DISTANCE, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (dim == 0) {
    g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID,
                 "features of no values cannot be compared");
    return NULL;
  }
  if (n > G_MAXUINT32) {
    g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID,
                 "%zu rows are more than an index holds", n);
    return NULL;
  }
  float *rows = try_alloc (n * dim, sizeof (float), "feature index", error);
  if (rows == NULL)
    return NULL;
  if (n > 0)
    memcpy (rows, features, sizeof (float) * n * dim);
  for (gsize i = 0; metric == LAM_FEATURE_COSINE && i < n; i++)
    normalise_row (rows + i * dim, dim);
  LamFeatureIndex *index = g_new0 (LamFeatureIndex, 1);
  index->n = n;
  index->dim = dim;
  index->layer = -2;
  index->metric = metric;
  index->rows = rows;
  return index;
}

LamFeatureIndex *
lam_feature_index_new (LamModel *model, const LamDataset *dataset, const float *mean,
                       const float *std, int layer, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (model != NULL && dataset != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  gsize dim;
  if (!resolve_feature_layer (model, &layer, &dim, error))
    return NULL;
  float *rows = lam_explain_features (model, dataset, NULL, 0, mean, std, layer, &dim,
                                      cancellable, error);
  if (rows == NULL)
    return NULL;
  gsize n = (gsize) MAX (dataset->n, 0);
  for (gsize i = 0; i < n; i++)
    normalise_row (rows + i * dim, dim);
  LamFeatureIndex *index = g_new0 (LamFeatureIndex, 1);
  index->n = n;
  index->dim = dim;
  index->layer = layer;
  index->metric = LAM_FEATURE_COSINE;
  index->rows = rows;
  return index;
}

void
lam_feature_index_free (LamFeatureIndex *index)
{
  if (index == NULL)
    return;
  g_free (index->rows);
  g_free (index);
}

gsize
lam_feature_index_get_n (const LamFeatureIndex *index)
{
  g_return_val_if_fail (index != NULL, 0);
  return index->n;
}

gsize
lam_feature_index_get_dim (const LamFeatureIndex *index)
{
  g_return_val_if_fail (index != NULL, 0);
  return index->dim;
}

int
lam_feature_index_get_layer (const LamFeatureIndex *index)
{
  g_return_val_if_fail (index != NULL, -2);
  return index->layer;
}

LamFeatureMetric
lam_feature_index_get_metric (const LamFeatureIndex *index)
{
  g_return_val_if_fail (index != NULL, LAM_FEATURE_COSINE);
  return index->metric;
}

/* similarity: larger ranks first; a distance d goes in as -d. */
typedef struct
{
  float similarity;
  guint32 row;
} Match;

/* Whether a ranks before b: more similar, or as similar and earlier. */
static inline gboolean
ranks_before (const Match *a, const Match *b)
{
  return a->similarity > b->similarity || (a->similarity == b->similarity && a->row < b->row);
}

static int
compare_matches (const void *pa, const void *pb)
{
  const Match *a = pa, *b = pb;
  return ranks_before (a, b) ? -1 : ranks_before (b, a) ? 1 : 0;
}

/* A heap of the k best so far, the one that ranks last on top, so a new
 * row is compared with one match only. */
static void
heap_offer (Match *heap, int *size, int k, Match m)
{
  int i;
  if (*size < k) {
    i = (*size)++;
    while (i > 0) {
      int parent = (i - 1) / 2;
      if (!ranks_before (&heap[parent], &m))
        break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = m;
    return;
  }
  if (!ranks_before (&m, &heap[0]))
    return;
  i = 0;
  for (;;) {
    int child = 2 * i + 1;
    if (child >= k)
      break;
    if (child + 1 < k && ranks_before (&heap[child], &heap[child + 1]))
      child++;
    if (!ranks_before (&m, &heap[child]))
      break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = m;
}

/* The search by distance, a plain loop: the rows of a table's index are
 * few and short, and the sum in double keeps a row's distance to itself
 * exactly 0, which a product-based |q|² + |r|² - 2 q·r would not. */
static int
query_distance (const LamFeatureIndex *index, const float *queries, gsize n_queries, int k,
                int found, guint32 *indices, float *distances, GError **error)
{
  gsize dim = index->dim;
  g_autofree Match *heap = try_alloc ((gsize) found, sizeof (Match), "nearest rows", error);
  if (heap == NULL)
    return -1;
  for (gsize i = 0; i < n_queries; i++) {
    const float *q = queries + i * dim;
    int size = 0;
    for (gsize r = 0; r < index->n; r++) {
      const float *row = index->rows + r * dim;
      double sum = 0;
      for (gsize j = 0; j < dim; j++) {
        double d = (double) q[j] - row[j];
        sum += d * d;
      }
      /* A value that is not finite is far from everything. */
      float distance = isfinite (sum) ? (float) sqrt (sum) : INFINITY;
      Match match = { -distance, (guint32) r };
      heap_offer (heap, &size, found, match);
    }
    qsort (heap, found, sizeof (Match), compare_matches);
    for (int j = 0; j < found; j++) {
      indices[i * k + j] = heap[j].row;
      if (distances != NULL)
        distances[i * k + j] = -heap[j].similarity;
    }
  }
  return found;
}

int
lam_feature_index_query (const LamFeatureIndex *index, const float *queries, gsize n_queries,
                         gsize dim, int k, guint32 *indices, float *similarities, GError **error)
{
  g_return_val_if_fail (index != NULL, -1);
  g_return_val_if_fail (queries != NULL || n_queries == 0, -1);
  g_return_val_if_fail (indices != NULL || n_queries == 0, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  if (dim != index->dim) {
    g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID,
                 "queries of %zu values each do not fit an index of features of %zu values", dim,
                 index->dim);
    return -1;
  }
  if (k < 1) {
    g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID,
                 "asked for %d nearest images: at least 1 is needed", k);
    return -1;
  }
  int found = (int) MIN ((gsize) k, index->n);
  /* Places a small index cannot fill say so. */
  for (gsize i = 0; i < n_queries; i++)
    for (int j = found; j < k; j++) {
      indices[i * k + j] = G_MAXUINT32;
      if (similarities != NULL)
        similarities[i * k + j] = NAN;
    }
  if (found == 0 || n_queries == 0)
    return found;
  if (index->metric == LAM_FEATURE_DISTANCE)
    return query_distance (index, queries, n_queries, k, found, indices, similarities, error);

  /* Queries go through in groups whose heaps and products stay within a
   * few MB whatever k and the index's size. */
  gsize group = CLAMP ((1u << 20) / (gsize) found, 1, 64);
  gsize block = MIN ((gsize) QUERY_ROWS_BLOCK, index->n);
  g_autofree float *q = try_alloc (group * dim, sizeof (float), "queries", error);
  g_autofree float *products = try_alloc (group * block, sizeof (float), "similarities", error);
  g_autofree Match *heaps = try_alloc (group * found, sizeof (Match), "nearest images", error);
  g_autofree int *sizes = g_new0 (int, group);
  if (q == NULL || products == NULL || heaps == NULL)
    return -1;

  for (gsize first = 0; first < n_queries; first += group) {
    gsize m = MIN (group, n_queries - first);
    memcpy (q, queries + first * dim, sizeof (float) * m * dim);
    for (gsize i = 0; i < m; i++)
      normalise_row (q + i * dim, dim);
    memset (sizes, 0, sizeof (int) * group);
    for (gsize start = 0; start < index->n; start += block) {
      gsize rows = MIN (block, index->n - start);
      // q (m, dim) · rows (rows, dim)ᵀ -> products (m, rows)
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) m, (int) rows, (int) dim, 1.0f,
                   q, (int) dim, index->rows + start * dim, (int) dim, 0.0f, products, (int) rows);
      for (gsize i = 0; i < m; i++)
        for (gsize r = 0; r < rows; r++) {
          float s = products[i * rows + r];
          Match match = { isnan (s) ? -INFINITY : s, (guint32) (start + r) };
          heap_offer (heaps + i * found, &sizes[i], found, match);
        }
    }
    for (gsize i = 0; i < m; i++) {
      Match *heap = heaps + i * found;
      qsort (heap, found, sizeof (Match), compare_matches);
      for (int j = 0; j < found; j++) {
        indices[(first + i) * k + j] = heap[j].row;
        if (similarities != NULL)
          similarities[(first + i) * k + j] = heap[j].similarity;
      }
    }
  }
  return found;
}
