/* lam-model.c: a planned stack on a backend, with every buffer a training
 * step needs allocated once in lam_model_new. */
#include "lam-model.h"

#include "lam-device.h"

/* Saved-state blocks start on this boundary so int32 argmax and float masks
 * stay aligned whatever the layer before them kept. */
#define SAVED_ALIGN 64

/* What one step of a forward or backward pass runs. */
typedef enum
{
  STEP_LAYER,             /* one layer through lam_layer_forward/backward */
  STEP_ACTIVATION_POOL,   /* a ReLU and the max pool after it: pooled_activation_forward */
  STEP_CONV_POOL,         /* a convolution, maybe its activation, a 2×2 pool: conv_pool_forward */
  STEP_LINEAR_ACTIVATION, /* a linear layer and its activation: linear_activation_forward */
} ModelStepKind;

typedef struct
{
  ModelStepKind kind;
  int first; /* the layers first..last, whose output is last's */
  int last;
} ModelStep;

struct _LamModel
{
  LamModelSpec *spec;   /* owned copy */
  LamModelPlan *plan;   /* owned */
  LamBackend *backend;  /* borrowed */
  int max_batch;

  /* Device buffers, owned. */
  float *params;        /* n_params */
  float *grads;         /* n_params */
  float *activations;   /* input, then each layer's output, each (max_batch, shape) */
  float *act_grads;     /* the gradient of each activation, laid out as they are */
  void *saved;          /* every layer's saved state */
  float *scratch;       /* shared by all layers */
  float *output_grad;   /* (max_batch, n_classes) */

  /* Host arrays of pointers into the buffers above, n_layers + 1 and
   * n_layers entries, filled once. */
  float **act;
  void **layer_saved;
  /* n_layers + 1 entries: the gradient of act[i], in act_grads laid out as
   * the activations, the last being output_grad (and a flatten's input's
   * being its output's). Each activation having its own keeps it with the
   * thread that works on it step after step, where two buffers shared by
   * all layers would be split at different places by each. */
  float **act_grad;
  /* The stack planned into steps twice: fused (what training runs) and
   * one layer per step (every layer's output written, for views of
   * activations); `steps` points at one of them. */
  ModelStep *fused_steps;
  int n_fused_steps;
  ModelStep *unfused_steps;
  int n_unfused_steps;
  gboolean unfused;

  /* What the last forward ran with; backward must see the same dropout. */
  gboolean training;
  guint64 seed;
};

static void
free_buffer (LamBackend *backend, void *ptr)
{
  if (ptr != NULL)
    backend->free (backend, ptr);
}

void
lam_model_free (LamModel *model)
{
  if (model == NULL)
    return;

  LamBackend *be = model->backend;
  free_buffer (be, model->params);
  free_buffer (be, model->grads);
  free_buffer (be, model->activations);
  free_buffer (be, model->act_grads);
  free_buffer (be, model->saved);
  free_buffer (be, model->scratch);
  free_buffer (be, model->output_grad);
  g_free (model->act);
  g_free (model->layer_saved);
  g_free (model->act_grad);
  g_free (model->fused_steps);
  g_free (model->unfused_steps);
  g_clear_pointer (&model->plan, lam_model_plan_free);
  g_clear_pointer (&model->spec, lam_model_spec_free);
  g_free (model);
}

/* Allocates `bytes` on the backend, or sets the error naming the buffer.
 * Zero bytes is not an allocation: *ptr stays NULL. */
static gboolean
alloc_buffer (LamModel *model, void **ptr, gsize bytes, const char *what, GError **error)
{
  if (bytes == 0)
    return TRUE;
  *ptr = model->backend->alloc (model->backend, bytes);
  if (*ptr == NULL) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_MEMORY,
                 "%s: could not allocate %.1f MB for the %s (batch %d) on the %s backend",
                 model->spec->name != NULL ? model->spec->name : "model",
                 (double) bytes / (1024.0 * 1024.0), what, model->max_batch,
                 model->backend->name);
    return FALSE;
  }
  return TRUE;
}

static gboolean
init_params (LamModel *model, guint64 seed, GError **error)
{
  gsize n = model->plan->n_params;
  if (n == 0)
    return TRUE;

  g_autofree float *host = g_try_new0 (float, n);
  if (host == NULL) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_MEMORY,
                 "could not allocate %.1f MB of host memory for the initial parameters",
                 (double) (n * sizeof (float)) / (1024.0 * 1024.0));
    return FALSE;
  }

  guint32 words[2] = { (guint32) seed, (guint32) (seed >> 32) };
  GRand *rng = g_rand_new_with_seed_array (words, 2);
  for (int i = 0; i < model->plan->n_layers; i++)
    if (model->plan->layers[i].n_weights + model->plan->layers[i].n_bias > 0)
      lam_layer_init (&model->plan->layers[i], host, rng);
  g_rand_free (rng);

  model->backend->upload (model->backend, model->params, host, n * sizeof (float));
  return TRUE;
}

static gboolean
is_activation (LamLayerKind kind)
{
  return kind == LAM_LAYER_RELU || kind == LAM_LAYER_LEAKY_RELU || kind == LAM_LAYER_SIGMOID ||
         kind == LAM_LAYER_TANH;
}

/* The backend's name for an activation layer's function. */
static LamActivation
activation_of (const LamLayer *layer)
{
  switch (layer->spec.kind) {
  case LAM_LAYER_LEAKY_RELU:
    return LAM_ACTIVATION_LEAKY_RELU;
  case LAM_LAYER_SIGMOID:
    return LAM_ACTIVATION_SIGMOID;
  case LAM_LAYER_TANH:
    return LAM_ACTIVATION_TANH;
  default:
    return LAM_ACTIVATION_RELU;
  }
}

/* The fusion pass: which layers run together as one step. A flatten is no
 * step at all (its output is its input's floats). Without fuse, every
 * other layer is a step of its own. */
/* pooled_activation[i]: layer i is a ReLU (or leaky ReLU with a
 * non-negative slope) that a max pool follows, see
 * pooled_activation_forward; conv_pool[i]: for a convolution whose output
 * reaches a 2×2 max pool of stride 2 (through such an activation or
 * directly), that pool's index, else 0, see conv_pool_forward;
 * linear_activation[i]: layer i is a linear layer and an activation follows
 * it, see linear_activation_forward. NULL for no fusion. */
static ModelStep *
plan_steps (LamModel *model, const gboolean *pooled_activation, const int *conv_pool,
            const gboolean *linear_activation, int *n_steps)
{
  int n_layers = model->plan->n_layers;
  ModelStep *steps = g_new0 (ModelStep, MAX (n_layers, 1));
  int n = 0;
  for (int i = 0; i < n_layers; i++) {
    if (model->plan->layers[i].spec.kind == LAM_LAYER_FLATTEN)
      continue;
    if (conv_pool != NULL && conv_pool[i] > 0)
      steps[n++] = (ModelStep){ STEP_CONV_POOL, i, conv_pool[i] };
    else if (pooled_activation != NULL && pooled_activation[i])
      steps[n++] = (ModelStep){ STEP_ACTIVATION_POOL, i, i + 1 };
    else if (linear_activation != NULL && linear_activation[i])
      steps[n++] = (ModelStep){ STEP_LINEAR_ACTIVATION, i, i + 1 };
    else
      steps[n++] = (ModelStep){ STEP_LAYER, i, i };
    i = steps[n - 1].last;
  }
  *n_steps = n;
  return steps;
}

char *
lam_model_describe_steps (LamModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  const ModelStep *steps = model->unfused ? model->unfused_steps : model->fused_steps;
  int n_steps = model->unfused ? model->n_unfused_steps : model->n_fused_steps;
  GString *text = g_string_new (NULL);
  for (int s = 0; s < n_steps; s++) {
    if (s > 0)
      g_string_append (text, ", ");
    for (int i = steps[s].first; i <= steps[s].last; i++)
      g_string_append_printf (text, "%s%s", i > steps[s].first ? "+" : "",
                              lam_layer_kind_to_string (model->plan->layers[i].spec.kind));
  }
  return g_string_free (text, FALSE);
}

guint64
lam_model_plan_estimate_bytes (const LamModelPlan *plan, int max_batch)
{
  g_return_val_if_fail (plan != NULL && max_batch > 0, 0);
  guint64 batch = (guint64) max_batch;
  guint64 params = 2 * (guint64) plan->n_params * sizeof (float);
  guint64 activations = 2 * (guint64) plan->activation_floats_per_sample * batch * sizeof (float);
  guint64 saved = (guint64) plan->saved_bytes_per_sample * batch;
  guint64 scratch = (guint64) plan->scratch_floats_per_sample * batch * sizeof (float);
  return params + activations + saved + scratch;
}

/* With `given`, the parameters are params (n_params of them), else drawn
 * from seed. */
static LamModel *
model_new (const LamModelSpec *spec, LamBackend *backend, int max_batch, guint64 seed,
           gboolean given, const float *params, gsize n_params, GError **error)
{
  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (backend != NULL, NULL);
  g_return_val_if_fail (max_batch > 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  LamModelPlan *plan = lam_model_plan_new (spec, error);
  if (plan == NULL)
    return NULL;
  if (given && n_params != plan->n_params) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "the weights hold %zu numbers but the model needs %zu", n_params, plan->n_params);
    lam_model_plan_free (plan);
    return NULL;
  }

  g_autoptr (LamModel) model = g_new0 (LamModel, 1);
  model->spec = lam_model_spec_copy (spec);
  model->plan = plan;
  model->backend = backend;
  model->max_batch = max_batch;

  int n_layers = plan->n_layers;
  gsize batch = (gsize) max_batch;

  /* Offsets into the arenas: activations laid out layer after layer, each
   * (max_batch, shape); saved state likewise, aligned. */
  model->act = g_new0 (float *, n_layers + 1);
  model->layer_saved = g_new0 (void *, MAX (n_layers, 1));
  g_autofree gboolean *pooled_activation = g_new0 (gboolean, MAX (n_layers, 1));
  for (int i = 0; i + 2 <= n_layers; i++) {
    const LamLayerSpec *layer = &plan->layers[i].spec;
    pooled_activation[i] =
      (layer->kind == LAM_LAYER_RELU || (layer->kind == LAM_LAYER_LEAKY_RELU && layer->slope >= 0)) &&
      plan->layers[i + 1].spec.kind == LAM_LAYER_MAXPOOL2D;
  }
  g_autofree gsize *act_offset = g_new0 (gsize, n_layers + 1);
  g_autofree gsize *saved_offset = g_new0 (gsize, MAX (n_layers, 1));
  gsize act_floats = lam_shape_numel (&plan->input) * batch;
  gsize saved_bytes = 0;
  gsize scratch_floats = plan->scratch_floats_per_sample;

  for (int i = 0; i < n_layers; i++) {
    const LamLayer *layer = &plan->layers[i];
    gsize out = lam_shape_numel (&layer->out_shape) * batch;
    /* A flatten's output is its input, seen flat: the same floats. */
    if (layer->spec.kind == LAM_LAYER_FLATTEN) {
      act_offset[i + 1] = act_offset[i];
    } else {
      act_offset[i + 1] = act_floats;
      act_floats += out;
    }
    saved_offset[i] = saved_bytes;
    saved_bytes += (layer->saved_bytes_per_sample * batch + SAVED_ALIGN - 1) /
                   SAVED_ALIGN * SAVED_ALIGN;
    scratch_floats = MAX (scratch_floats, layer->scratch_floats_per_sample);
  }
  scratch_floats *= batch;

  int n_classes = (int) lam_shape_numel (&plan->output);
  gsize param_bytes = plan->n_params * sizeof (float);

  if (!alloc_buffer (model, (void **) &model->params, param_bytes, "parameters", error) ||
      !alloc_buffer (model, (void **) &model->grads, param_bytes, "parameter gradients", error) ||
      !alloc_buffer (model, (void **) &model->activations, act_floats * sizeof (float),
                     "activations", error) ||
      !alloc_buffer (model, (void **) &model->act_grads, act_floats * sizeof (float),
                     "activation gradients", error) ||
      !alloc_buffer (model, &model->saved, saved_bytes, "saved state", error) ||
      !alloc_buffer (model, (void **) &model->scratch, scratch_floats * sizeof (float),
                     "scratch", error) ||
      !alloc_buffer (model, (void **) &model->output_grad,
                     (gsize) n_classes * batch * sizeof (float), "output gradient", error))
    return NULL;

  for (int i = 0; i <= n_layers; i++)
    model->act[i] = model->activations + act_offset[i];
  for (int i = 0; i < n_layers; i++)
    model->layer_saved[i] =
      plan->layers[i].saved_bytes_per_sample > 0 ? (char *) model->saved + saved_offset[i] : NULL;
  model->act_grad = g_new0 (float *, n_layers + 1);
  model->act_grad[n_layers] = model->output_grad;
  for (int i = n_layers - 1; i >= 0; i--)
    model->act_grad[i] = plan->layers[i].spec.kind == LAM_LAYER_FLATTEN
                           ? model->act_grad[i + 1]
                           : model->act_grads + act_offset[i];
  /* The pair's backward rewrites the pool's output gradient in place: not
   * when that is the output gradient. */
  for (int i = 0; i + 2 <= n_layers; i++)
    if (pooled_activation[i] && model->act_grad[i + 2] == model->output_grad)
      pooled_activation[i] = FALSE;
  g_autofree int *conv_pool = g_new0 (int, MAX (n_layers, 1));
  for (int i = 0; i + 2 <= n_layers; i++) {
    if (plan->layers[i].spec.kind != LAM_LAYER_CONV2D)
      continue;
    int pool = pooled_activation[i + 1] ? i + 2 : i + 1;
    const LamLayer *p = &plan->layers[pool];
    if (pool < n_layers && p->spec.kind == LAM_LAYER_MAXPOOL2D && p->spec.kernel == 2 &&
        p->spec.stride == 2 && p->spec.padding == 0 && p->out_shape.dims[1] >= 1 &&
        p->out_shape.dims[2] >= 1)
      conv_pool[i] = pool;
  }

  g_autofree gboolean *linear_activation = g_new0 (gboolean, MAX (n_layers, 1));
  for (int i = 0; i + 2 <= n_layers; i++)
    linear_activation[i] = plan->layers[i].spec.kind == LAM_LAYER_LINEAR &&
                           is_activation (plan->layers[i + 1].spec.kind) &&
                           !pooled_activation[i + 1];

  model->fused_steps =
    plan_steps (model, pooled_activation, conv_pool, linear_activation, &model->n_fused_steps);
  model->unfused_steps = plan_steps (model, NULL, NULL, NULL, &model->n_unfused_steps);

  if (given)
    lam_model_set_params_host (model, params);
  else if (!init_params (model, seed, error))
    return NULL;

  return g_steal_pointer (&model);
}

LamModel *
lam_model_new (const LamModelSpec *spec, LamBackend *backend, int max_batch, guint64 seed,
               GError **error)
{
  return model_new (spec, backend, max_batch, seed, FALSE, NULL, 0, error);
}

LamModel *
lam_model_new_with_params (const LamModelSpec *spec, LamBackend *backend, int max_batch,
                           const float *params, gsize n_params, GError **error)
{
  g_return_val_if_fail (params != NULL || n_params == 0, NULL);
  return model_new (spec, backend, max_batch, 0, TRUE, params, n_params, error);
}

const LamModelSpec *
lam_model_get_spec (LamModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->spec;
}

const LamModelPlan *
lam_model_get_plan (LamModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->plan;
}

LamBackend *
lam_model_get_backend (LamModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->backend;
}

int
lam_model_get_max_batch (LamModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->max_batch;
}

int
lam_model_get_n_classes (LamModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return (int) lam_shape_numel (&model->plan->output);
}

gsize
lam_model_get_n_params (LamModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->plan->n_params;
}

float *
lam_model_get_params (LamModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->params;
}

float *
lam_model_get_grads (LamModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->grads;
}

float *
lam_model_get_input (LamModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->act[0];
}

float *
lam_model_get_input_in_memory (LamModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return lam_backend_cpu_threads (model->backend) > 0 ? model->act[0] : NULL;
}

float *
lam_model_get_layer_output (LamModel *model, int layer)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (layer >= -1 && layer < model->plan->n_layers, NULL);
  return model->act[layer + 1];
}

float *
lam_model_get_output (LamModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->act[model->plan->n_layers];
}

float *
lam_model_get_output_grad (LamModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->output_grad;
}

static void
init_context (LamModel *model, LamLayerContext *ctx, int batch)
{
  ctx->backend = model->backend;
  ctx->batch = batch;
  ctx->training = model->training;
  ctx->seed = model->seed;
  ctx->params = model->params;
  ctx->grads = model->grads;
  ctx->saved = NULL;
  ctx->scratch = model->scratch;
}

/* A ReLU (or leaky ReLU with a non-negative slope) before a max pool runs
 * after it instead, on a quarter of the values: the activation does not
 * decrease, so the max of the activated window is the activation of its
 * max, and the gradients come out the same (where the two argmaxes differ,
 * among values ReLU flattens to 0, the gradient is 0 either way). The
 * activation's own output buffer is left unwritten; nothing reads it. This
 * saves four passes over the largest activation maps of a CNN. Only a NaN
 * input is treated differently: ReLU no longer turns it into 0 before the
 * max sees it. */
static void
pooled_activation_forward (LamModel *model, LamLayerContext *ctx, int i)
{
  const LamLayer *activation = &model->plan->layers[i], *pool = &model->plan->layers[i + 1];
  LamBackend *be = model->backend;
  gsize n = lam_shape_numel (&pool->out_shape) * (gsize) ctx->batch;

  // act[i] (batch, c, h, w) -> act[i+2] (batch, c, oh, ow), the argmax saved
  ctx->saved = model->layer_saved[i + 1];
  lam_layer_forward (pool, ctx, model->act[i], model->act[i + 2]);
  // act[i+2] = f(act[i+2]), in place
  be->activation_forward (be,
                          activation->spec.kind == LAM_LAYER_RELU ? LAM_ACTIVATION_RELU
                                                                  : LAM_ACTIVATION_LEAKY_RELU,
                          activation->spec.slope, model->act[i + 2], model->act[i + 2], n);
}

/* The backward of the pair: the activation's derivative at the pooled
 * values (positive exactly where the window's max was), applied to the
 * pooled gradient dy in place, then the pool's scatter straight into dx. */
static void
pooled_activation_backward (LamModel *model, LamLayerContext *ctx, int i, float *dy, float *dx)
{
  const LamLayer *activation = &model->plan->layers[i], *pool = &model->plan->layers[i + 1];
  LamBackend *be = model->backend;
  gsize n = lam_shape_numel (&pool->out_shape) * (gsize) ctx->batch;
  const float *pooled = model->act[i + 2];

  // dy (batch, c, oh, ow) = f'(pooled) * dy
  be->activation_backward (be,
                           activation->spec.kind == LAM_LAYER_RELU ? LAM_ACTIVATION_RELU
                                                                   : LAM_ACTIVATION_LEAKY_RELU,
                           activation->spec.slope, pooled, pooled, dy, dy, n);
  // dy through the argmax -> dx (batch, c, h, w)
  ctx->saved = model->layer_saved[i + 1];
  lam_layer_backward (pool, ctx, model->act[i], model->act[i + 2], dy, dx);
}

/* A convolution, then (maybe) the activation, then the 2×2 pool, as one
 * backend op for the convolution and the pool, which lets the backend pool
 * each image while its convolution output is in cache; the activation then
 * runs on the pooled values as in pooled_activation_forward. Every buffer
 * is written as the layers one by one would. */
static void
conv_pool_forward (LamModel *model, LamLayerContext *ctx, int i, int p)
{
  const LamLayer *conv = &model->plan->layers[i];
  const LamLayer *pool = &model->plan->layers[p];
  const LamShape *in = &conv->in_shape;
  LamBackend *be = model->backend;

  // act[i] (batch, c, h, w) -> act[i+1] (batch, out, oh, ow) -> act[p+1] pooled, argmax saved
  be->conv2d_maxpool2_forward (
    be, model->act[i], ctx->params + conv->weight_offset,
    conv->n_bias > 0 ? ctx->params + conv->bias_offset : NULL, model->act[i + 1],
    model->act[p + 1], model->layer_saved[p], ctx->batch, in->dims[0], in->dims[1], in->dims[2],
    conv->out_shape.dims[0], conv->spec.kernel, conv->spec.kernel, conv->spec.stride,
    conv->spec.padding, ctx->scratch, conv->scratch_floats_per_sample * (gsize) ctx->batch);
  if (p == i + 2) {
    const LamLayer *activation = &model->plan->layers[i + 1];
    gsize n = lam_shape_numel (&pool->out_shape) * (gsize) ctx->batch;
    // act[p+1] = f(act[p+1]), in place
    be->activation_forward (be,
                            activation->spec.kind == LAM_LAYER_RELU ? LAM_ACTIVATION_RELU
                                                                    : LAM_ACTIVATION_LEAKY_RELU,
                            activation->spec.slope, model->act[p + 1], model->act[p + 1], n);
  }
}

/* The backward of conv_pool_forward from dy, the pool's output gradient:
 * the activation's derivative applied in place, then one op for the pool's
 * scatter and the convolution's backward. */
static void
conv_pool_backward (LamModel *model, LamLayerContext *ctx, int i, int p, float *dy, float *dx)
{
  const LamLayer *conv = &model->plan->layers[i];
  const LamLayer *pool = &model->plan->layers[p];
  const LamShape *in = &conv->in_shape;
  LamBackend *be = model->backend;

  if (p == i + 2) {
    const LamLayer *activation = &model->plan->layers[i + 1];
    gsize n = lam_shape_numel (&pool->out_shape) * (gsize) ctx->batch;
    const float *pooled = model->act[p + 1];
    // dy (batch, out, oh/2, ow/2) = f'(pooled) * dy
    be->activation_backward (be,
                             activation->spec.kind == LAM_LAYER_RELU ? LAM_ACTIVATION_RELU
                                                                     : LAM_ACTIVATION_LEAKY_RELU,
                             activation->spec.slope, pooled, pooled, dy, dy, n);
  }
  // dy through the argmax -> act_grad[i+1]; then dW +=, db +=, dx
  be->conv2d_maxpool2_backward (
    be, model->act[i], ctx->params + conv->weight_offset, dy, model->layer_saved[p],
    model->act_grad[i + 1], ctx->grads + conv->weight_offset,
    conv->n_bias > 0 ? ctx->grads + conv->bias_offset : NULL, dx, ctx->batch, in->dims[0],
    in->dims[1], in->dims[2], conv->out_shape.dims[0], conv->spec.kernel, conv->spec.kernel,
    conv->spec.stride, conv->spec.padding, ctx->scratch,
    conv->scratch_floats_per_sample * (gsize) ctx->batch);
}

/* A linear layer and its activation as one backend op, which lets the
 * backend run each thread's share of the product, the bias and the
 * activation together. Every buffer is written as the layers one by one
 * would. */
static void
linear_activation_forward (LamModel *model, LamLayerContext *ctx, int i)
{
  const LamLayer *linear = &model->plan->layers[i];
  const LamLayer *activation = &model->plan->layers[i + 1];
  LamBackend *be = model->backend;
  int in = (int) lam_shape_numel (&linear->in_shape);
  int out = (int) lam_shape_numel (&linear->out_shape);

  // act[i] (batch, in) -> act[i+1] (batch, out) -> act[i+2] = f(act[i+1])
  be->linear_activation_forward (be, model->act[i], ctx->params + linear->weight_offset,
                                 linear->n_bias > 0 ? ctx->params + linear->bias_offset : NULL,
                                 model->act[i + 1], model->act[i + 2], ctx->batch, in, out,
                                 activation_of (activation), activation->spec.slope);
}

/* Its backward from dy, the activation's output gradient: the linear
 * layer's output gradient into act_grad[i+1], dW and db written (not
 * added to: zero_added_grads leaves them), dx. */
static void
linear_activation_backward (LamModel *model, LamLayerContext *ctx, int i, const float *dy,
                            float *dx)
{
  const LamLayer *linear = &model->plan->layers[i];
  const LamLayer *activation = &model->plan->layers[i + 1];
  LamBackend *be = model->backend;
  int in = (int) lam_shape_numel (&linear->in_shape);
  int out = (int) lam_shape_numel (&linear->out_shape);

  be->linear_activation_backward (
    be, model->act[i], ctx->params + linear->weight_offset, model->act[i + 1], model->act[i + 2],
    dy, model->act_grad[i + 1], ctx->grads + linear->weight_offset,
    linear->n_bias > 0 ? ctx->grads + linear->bias_offset : NULL, dx, ctx->batch, in, out,
    activation_of (activation), activation->spec.slope);
}

void
lam_model_forward (LamModel *model, int batch, gboolean training, guint64 seed)
{
  g_return_if_fail (model != NULL);
  g_return_if_fail (batch > 0 && batch <= model->max_batch);

  model->training = training;
  model->seed = seed;

  const ModelStep *steps = model->unfused ? model->unfused_steps : model->fused_steps;
  int n_steps = model->unfused ? model->n_unfused_steps : model->n_fused_steps;
  LamLayerContext ctx;
  init_context (model, &ctx, batch);
  for (int s = 0; s < n_steps; s++) {
    int i = steps[s].first;
    switch (steps[s].kind) {
    case STEP_CONV_POOL:
      conv_pool_forward (model, &ctx, i, steps[s].last);
      break;
    case STEP_ACTIVATION_POOL:
      pooled_activation_forward (model, &ctx, i);
      break;
    case STEP_LINEAR_ACTIVATION:
      linear_activation_forward (model, &ctx, i);
      break;
    case STEP_LAYER:
      ctx.saved = model->layer_saved[i];
      // act[i] (batch, in_shape) -> act[i+1] (batch, out_shape)
      lam_layer_forward (&model->plan->layers[i], &ctx, model->act[i], model->act[i + 1]);
      break;
    }
  }
}

/* Zeroes the parameter gradients the steps add to: all but those of a
 * linear layer fused with its activation, whose op writes them. The
 * parameters lie layer after layer. */
static void
zero_added_grads (LamModel *model, const ModelStep *steps, int n_steps)
{
  LamBackend *be = model->backend;
  gsize from = 0; /* the gradients from here to the next written ones are added to */
  for (int s = 0; s < n_steps; s++) {
    if (steps[s].kind != STEP_LINEAR_ACTIVATION)
      continue;
    const LamLayer *linear = &model->plan->layers[steps[s].first];
    if (linear->weight_offset > from)
      be->fill (be, model->grads + from, linear->weight_offset - from, 0.0f);
    from = linear->weight_offset + linear->n_weights + linear->n_bias;
  }
  if (model->plan->n_params > from)
    be->fill (be, model->grads + from, model->plan->n_params - from, 0.0f);
}

/* Backward from the output gradient; the gradient w.r.t. the input is
 * computed too when to_input. */
static void
backward (LamModel *model, int batch, gboolean to_input)
{

  /* Without to_input, gradients need to flow down only as far as the
   * lowest layer with parameters: below it nobody reads them (an MLP's
   * first linear layer sits on a flatten, and its input gradient would cost
   * a third of the step's products). */
  int lowest = 0;
  while (!to_input && lowest < model->plan->n_layers &&
         model->plan->layers[lowest].n_weights + model->plan->layers[lowest].n_bias == 0)
    lowest++;

  const ModelStep *steps = model->unfused ? model->unfused_steps : model->fused_steps;
  int n_steps = model->unfused ? model->n_unfused_steps : model->n_fused_steps;
  zero_added_grads (model, steps, n_steps);
  LamLayerContext ctx;
  init_context (model, &ctx, batch);
  /* No step straddles `lowest`: a fused step starts with a convolution or
   * a linear layer (layers with parameters) or holds none. */
  for (int s = n_steps - 1; s >= 0 && steps[s].first >= lowest; s--) {
    int i = steps[s].first;
    float *dy = model->act_grad[steps[s].last + 1];
    float *dx = i > lowest || to_input ? model->act_grad[i] : NULL;
    switch (steps[s].kind) {
    case STEP_CONV_POOL:
      conv_pool_backward (model, &ctx, i, steps[s].last, dy, dx);
      break;
    case STEP_ACTIVATION_POOL:
      /* dy is not the output gradient (lam_model_new), and since the
       * activation has no parameters, i > lowest: dx is wanted. */
      pooled_activation_backward (model, &ctx, i, dy, dx);
      break;
    case STEP_LINEAR_ACTIVATION:
      linear_activation_backward (model, &ctx, i, dy, dx);
      break;
    case STEP_LAYER:
      ctx.saved = model->layer_saved[i];
      // dy (batch, out_shape) -> dx (batch, in_shape), grads +=
      lam_layer_backward (&model->plan->layers[i], &ctx, model->act[i], model->act[i + 1], dy, dx);
      break;
    }
  }
}

void
lam_model_backward (LamModel *model, int batch)
{
  g_return_if_fail (model != NULL);
  g_return_if_fail (batch > 0 && batch <= model->max_batch);
  backward (model, batch, FALSE);
}

void
lam_model_backward_to_input (LamModel *model, int batch)
{
  g_return_if_fail (model != NULL);
  g_return_if_fail (batch > 0 && batch <= model->max_batch);
  backward (model, batch, TRUE);
}

void
lam_model_set_unfused (LamModel *model, gboolean unfused)
{
  g_return_if_fail (model != NULL);
  model->unfused = unfused;
}

gboolean
lam_model_get_unfused (LamModel *model)
{
  g_return_val_if_fail (model != NULL, FALSE);
  return model->unfused;
}

float *
lam_model_get_input_grad (LamModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->act_grad[0];
}

float *
lam_model_get_layer_output_grad (LamModel *model, int layer)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (layer >= -1 && layer < model->plan->n_layers, NULL);
  return model->act_grad[layer + 1];
}

void
lam_model_set_output_grad_class (LamModel *model, int batch, int klass)
{
  g_return_if_fail (model != NULL);
  g_return_if_fail (batch > 0 && batch <= model->max_batch);
  int n_classes = lam_model_get_n_classes (model);
  g_return_if_fail (klass >= 0 && klass < n_classes);
  LamBackend *be = model->backend;
  be->fill (be, model->output_grad, (size_t) batch * n_classes, 0.0f);
  const float one = 1.0f;
  for (int b = 0; b < batch; b++)
    be->upload (be, model->output_grad + (size_t) b * n_classes + klass, &one, sizeof one);
}

void
lam_model_get_params_host (LamModel *model, float *dst)
{
  g_return_if_fail (model != NULL);
  g_return_if_fail (dst != NULL || model->plan->n_params == 0);

  if (model->plan->n_params > 0)
    model->backend->download (model->backend, dst, model->params,
                              model->plan->n_params * sizeof (float));
}

void
lam_model_set_params_host (LamModel *model, const float *src)
{
  g_return_if_fail (model != NULL);
  g_return_if_fail (src != NULL || model->plan->n_params == 0);

  if (model->plan->n_params > 0)
    model->backend->upload (model->backend, model->params, src,
                            model->plan->n_params * sizeof (float));
}

void
lam_model_loss (LamModel *model, LamLossKind kind, const int32_t *labels, int batch,
                float *loss_acc)
{
  g_return_if_fail (batch > 0);
  lam_model_loss_scaled (model, kind, labels, batch, 1.0f / (float) batch, loss_acc);
}

void
lam_model_loss_scaled (LamModel *model, LamLossKind kind, const int32_t *labels, int batch,
                       float scale, float *loss_acc)
{
  g_return_if_fail (model != NULL);
  g_return_if_fail (labels != NULL && loss_acc != NULL);
  g_return_if_fail (batch > 0 && batch <= model->max_batch);

  LamBackend *be = model->backend;
  const float *out = lam_model_get_output (model);
  int n_classes = lam_model_get_n_classes (model);

  // output (batch, n_classes), labels (batch) -> output_grad (batch, n_classes), loss_acc +=
  switch (kind) {
  case LAM_LOSS_CROSS_ENTROPY:
    be->softmax_xent (be, out, labels, batch, n_classes, scale, model->output_grad, loss_acc);
    break;
  case LAM_LOSS_NLL:
    be->nll (be, out, labels, batch, n_classes, scale, model->output_grad, loss_acc);
    break;
  case LAM_LOSS_MSE:
    be->mse (be, out, labels, batch, n_classes, scale, model->output_grad, loss_acc);
    break;
  case LAM_LOSS_L1: /* no classes version: the trainer and predict refuse it */
  default:
    g_return_if_reached ();
  }
}

void
lam_model_loss_targets (LamModel *model, LamLossKind kind, const float *targets, int batch,
                        float *loss_acc)
{
  g_return_if_fail (batch > 0);
  lam_model_loss_targets_scaled (model, kind, targets, batch, 1.0f / (float) batch, loss_acc);
}

void
lam_model_loss_targets_scaled (LamModel *model, LamLossKind kind, const float *targets, int batch,
                               float scale, float *loss_acc)
{
  g_return_if_fail (model != NULL);
  g_return_if_fail (targets != NULL && loss_acc != NULL);
  g_return_if_fail (batch > 0 && batch <= model->max_batch);

  LamBackend *be = model->backend;
  const float *out = lam_model_get_output (model);
  int n_out = lam_model_get_n_classes (model);

  // output (batch, n_out), targets (batch, n_out) -> output_grad (batch, n_out), loss_acc +=
  switch (kind) {
  case LAM_LOSS_MSE:
    be->mse_targets (be, out, targets, batch, n_out, scale, model->output_grad, loss_acc);
    break;
  case LAM_LOSS_L1:
    be->l1_targets (be, out, targets, batch, n_out, scale, model->output_grad, loss_acc);
    break;
  case LAM_LOSS_CROSS_ENTROPY:
  case LAM_LOSS_NLL:
  default:
    g_return_if_reached ();
  }
}
