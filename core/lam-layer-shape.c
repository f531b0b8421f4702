/* lam-layer-shape.c: per-layer shape inference, parameter counts, FLOPs
 * and PyTorch's default initialisation. */
#include "lam-layer.h"

#include <math.h>
#include <string.h>

#include "lam-model.h"

/* Keeps every count well inside gsize and every dimension inside int. */
#define MAX_DIM (1 << 24)

static const char *const kind_names[LAM_N_LAYER_KINDS] = {
  [LAM_LAYER_LINEAR] = "linear",
  [LAM_LAYER_CONV2D] = "conv2d",
  [LAM_LAYER_MAXPOOL2D] = "maxpool2d",
  [LAM_LAYER_AVGPOOL2D] = "avgpool2d",
  [LAM_LAYER_RELU] = "relu",
  [LAM_LAYER_LEAKY_RELU] = "leaky_relu",
  [LAM_LAYER_SIGMOID] = "sigmoid",
  [LAM_LAYER_TANH] = "tanh",
  [LAM_LAYER_FLATTEN] = "flatten",
  [LAM_LAYER_DROPOUT] = "dropout",
  [LAM_LAYER_SOFTMAX] = "softmax",
  [LAM_LAYER_LOG_SOFTMAX] = "log_softmax",
};

static const struct
{
  const char *alias;
  LamLayerKind kind;
} kind_aliases[] = {
  { "logsoftmax", LAM_LAYER_LOG_SOFTMAX },
  { "leakyrelu", LAM_LAYER_LEAKY_RELU },
  { "maxpool", LAM_LAYER_MAXPOOL2D },
  { "avgpool", LAM_LAYER_AVGPOOL2D },
  { "conv", LAM_LAYER_CONV2D },
  { "fc", LAM_LAYER_LINEAR },
  { "dense", LAM_LAYER_LINEAR },
};

LamLayerSpec
lam_layer_spec_default (LamLayerKind kind)
{
  LamLayerSpec spec = { .kind = kind };

  switch (kind) {
  case LAM_LAYER_LINEAR:
    spec.bias = TRUE;
    break;
  case LAM_LAYER_CONV2D:
    spec.stride = 1;
    spec.bias = TRUE;
    break;
  case LAM_LAYER_DROPOUT:
    spec.p = 0.5;
    break;
  case LAM_LAYER_LEAKY_RELU:
    spec.slope = 0.01f;
    break;
  default:
    break;
  }
  return spec;
}

const char *
lam_layer_kind_to_string (LamLayerKind kind)
{
  g_return_val_if_fail (kind >= 0 && kind < LAM_N_LAYER_KINDS, NULL);
  return kind_names[kind];
}

gboolean
lam_layer_kind_from_string (const char *name, LamLayerKind *kind)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (int i = 0; i < LAM_N_LAYER_KINDS; i++) {
    if (g_ascii_strcasecmp (name, kind_names[i]) == 0) {
      if (kind)
        *kind = (LamLayerKind) i;
      return TRUE;
    }
  }
  for (gsize i = 0; i < G_N_ELEMENTS (kind_aliases); i++) {
    if (g_ascii_strcasecmp (name, kind_aliases[i].alias) == 0) {
      if (kind)
        *kind = kind_aliases[i].kind;
      return TRUE;
    }
  }
  return FALSE;
}

gboolean
lam_layer_kind_has_params (LamLayerKind kind)
{
  return kind == LAM_LAYER_LINEAR || kind == LAM_LAYER_CONV2D;
}

static gboolean
check_positive (int index, const char *kind, const char *field, int value,
                GError **error)
{
  if (value > 0 && value <= MAX_DIM)
    return TRUE;
  if (value <= 0)
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "layer %d (%s): %s must be positive, got %d", index + 1, kind, field, value);
  else
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "layer %d (%s): %s %d is too large (at most %d)", index + 1, kind, field, value,
                 MAX_DIM);
  return FALSE;
}

/* Output size of a sliding window along one axis, or 0 if it does not fit. */
static int
window_out (int size, int kernel, int stride, int padding)
{
  gint64 span = (gint64) size + 2 * (gint64) padding - kernel;
  if (span < 0)
    return 0;
  return (int) (span / stride + 1);
}

static gboolean
check_numel (const LamShape *shape, int index, const char *kind, GError **error)
{
  guint64 n = 1;
  for (int i = 0; i < shape->rank; i++) {
    n *= (guint64) shape->dims[i];
    if (n > G_MAXINT) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                   "layer %d (%s): its output has too many elements per sample", index + 1, kind);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
plan_linear (LamLayer *layer, const LamLayerSpec *spec, const char *name, const char *prev_name,
             GError **error)
{
  const LamShape *in_shape = &layer->in_shape;
  int index = layer->index;

  if (!check_positive (index, "linear", "out", spec->out, error))
    return FALSE;
  if (spec->in < 0 || spec->in > MAX_DIM) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "layer %d (linear): in must be positive (or left out), got %d", index + 1,
                 spec->in);
    return FALSE;
  }
  if (in_shape->rank != 1) {
    g_autofree char *s = lam_shape_to_string (in_shape);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "%s needs a flat input, gets %s from %s: add a flatten layer before it", name, s,
                 prev_name);
    return FALSE;
  }

  int in = in_shape->dims[0];
  if (spec->in > 0 && spec->in != in) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "%s expects %d inputs, gets %d from %s", name, spec->in, in, prev_name);
    return FALSE;
  }

  layer->spec.in = in;
  layer->out_shape = lam_shape_flat (spec->out);
  layer->n_weights = (gsize) spec->out * (gsize) in;
  layer->n_bias = spec->bias ? (gsize) spec->out : 0;
  layer->flops = 2 * (guint64) in * (guint64) spec->out + (spec->bias ? (guint64) spec->out : 0);
  return TRUE;
}

static gboolean
plan_conv2d (LamLayer *layer, const LamLayerSpec *spec, const char *name, const char *prev_name,
             GError **error)
{
  const LamShape *in_shape = &layer->in_shape;
  int index = layer->index;

  if (!check_positive (index, "conv2d", "out", spec->out, error) ||
      !check_positive (index, "conv2d", "kernel", spec->kernel, error) ||
      !check_positive (index, "conv2d", "stride", spec->stride, error))
    return FALSE;
  if (spec->padding < 0 || spec->padding > MAX_DIM) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "layer %d (conv2d): padding must be zero or positive, got %d", index + 1,
                 spec->padding);
    return FALSE;
  }
  if (spec->in < 0 || spec->in > MAX_DIM) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "layer %d (conv2d): in must be positive (or left out), got %d", index + 1,
                 spec->in);
    return FALSE;
  }
  if (in_shape->rank != 3) {
    g_autofree char *s = lam_shape_to_string (in_shape);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "%s needs a channels×height×width input, gets %s from %s", name, s, prev_name);
    return FALSE;
  }

  int c = in_shape->dims[0], h = in_shape->dims[1], w = in_shape->dims[2];
  int k = spec->kernel;
  if (spec->in > 0 && spec->in != c) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "%s expects %d input channels, gets %d from %s", name, spec->in, c, prev_name);
    return FALSE;
  }

  int oh = window_out (h, k, spec->stride, spec->padding);
  int ow = window_out (w, k, spec->stride, spec->padding);
  if (oh < 1 || ow < 1) {
    g_autofree char *s = lam_shape_to_string (in_shape);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "%s: a %d×%d kernel does not fit the %s input from %s with padding %d", name, k, k,
                 s, prev_name, spec->padding);
    return FALSE;
  }

  layer->spec.in = c;
  layer->out_shape = lam_shape_chw (spec->out, oh, ow);
  if (!check_numel (&layer->out_shape, index, "conv2d", error))
    return FALSE;

  guint64 kk = (guint64) k * (guint64) k;
  guint64 weights = (guint64) spec->out * (guint64) c * kk;
  guint64 cols = (guint64) c * kk * (guint64) oh * (guint64) ow;
  if (weights > G_MAXINT || cols > G_MAXINT) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "%s: a %d×%d kernel over %d channels is too large", name, k, k, c);
    return FALSE;
  }

  guint64 out_numel = lam_shape_numel (&layer->out_shape);
  layer->n_weights = (gsize) weights;
  layer->n_bias = spec->bias ? (gsize) spec->out : 0;
  layer->flops = 2 * (guint64) c * kk * out_numel + (spec->bias ? out_numel : 0);
  layer->scratch_floats_per_sample = (gsize) (cols + out_numel);
  return TRUE;
}

static gboolean
plan_pool (LamLayer *layer, const LamLayerSpec *spec, const char *name, const char *prev_name,
           GError **error)
{
  const LamShape *in_shape = &layer->in_shape;
  const char *kind = lam_layer_kind_to_string (spec->kind);
  int index = layer->index;

  if (!check_positive (index, kind, "kernel", spec->kernel, error))
    return FALSE;
  if (spec->stride < 0 || spec->stride > MAX_DIM) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "layer %d (%s): stride must be positive (or left out), got %d", index + 1, kind,
                 spec->stride);
    return FALSE;
  }

  int k = spec->kernel;
  int stride = spec->stride > 0 ? spec->stride : k;
  /* PyTorch refuses padding over half the kernel: a window could then lie
   * wholly in the padding. */
  if (spec->padding < 0 || spec->padding > k / 2) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "layer %d (%s): padding must be between 0 and half the kernel (%d), got %d",
                 index + 1, kind, k / 2, spec->padding);
    return FALSE;
  }
  if (in_shape->rank != 3) {
    g_autofree char *s = lam_shape_to_string (in_shape);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "%s needs a channels×height×width input, gets %s from %s", name, s, prev_name);
    return FALSE;
  }

  int c = in_shape->dims[0], h = in_shape->dims[1], w = in_shape->dims[2];
  int oh = window_out (h, k, stride, spec->padding);
  int ow = window_out (w, k, stride, spec->padding);
  if (oh < 1 || ow < 1) {
    g_autofree char *s = lam_shape_to_string (in_shape);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "%s: a %d×%d window does not fit the %s input from %s with padding %d", name, k, k,
                 s, prev_name, spec->padding);
    return FALSE;
  }

  layer->spec.stride = stride;
  layer->out_shape = lam_shape_chw (c, oh, ow);
  gsize out_numel = lam_shape_numel (&layer->out_shape);
  layer->flops = (guint64) out_numel * (guint64) k * (guint64) k;
  if (spec->kind == LAM_LAYER_MAXPOOL2D)
    layer->saved_bytes_per_sample = sizeof (gint32) * out_numel;
  return TRUE;
}

gboolean
lam_layer_plan (LamLayer *layer, const LamLayerSpec *spec, int index, const LamShape *in_shape,
                const char *prev_name, GError **error)
{
  g_return_val_if_fail (layer != NULL, FALSE);
  g_return_val_if_fail (spec != NULL, FALSE);
  g_return_val_if_fail (in_shape != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (prev_name == NULL)
    prev_name = "the input";

  memset (layer, 0, sizeof *layer);
  layer->spec = *spec;
  layer->index = index;
  layer->in_shape = *in_shape;
  layer->out_shape = *in_shape;

  if (spec->kind < 0 || spec->kind >= LAM_N_LAYER_KINDS) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "layer %d: unknown kind %d",
                 index + 1, (int) spec->kind);
    return FALSE;
  }

  const char *kind = lam_layer_kind_to_string (spec->kind);
  g_autofree char *name = g_strdup_printf ("layer %d (%s)", index + 1, kind);
  gsize numel = lam_shape_numel (in_shape);

  switch (spec->kind) {
  case LAM_LAYER_LINEAR:
    return plan_linear (layer, spec, name, prev_name, error);

  case LAM_LAYER_CONV2D:
    return plan_conv2d (layer, spec, name, prev_name, error);

  case LAM_LAYER_MAXPOOL2D:
  case LAM_LAYER_AVGPOOL2D:
    return plan_pool (layer, spec, name, prev_name, error);

  case LAM_LAYER_LEAKY_RELU:
    if (!isfinite (spec->slope)) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "layer %d (leaky_relu): slope must be a finite number", index + 1);
      return FALSE;
    }
    layer->flops = numel;
    return TRUE;

  case LAM_LAYER_RELU:
  case LAM_LAYER_SIGMOID:
  case LAM_LAYER_TANH:
    layer->flops = numel;
    return TRUE;

  case LAM_LAYER_DROPOUT:
    if (!(spec->p >= 0.0 && spec->p < 1.0)) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "layer %d (dropout): p must be at least 0 and below 1, got %g", index + 1,
                   spec->p);
      return FALSE;
    }
    layer->flops = numel;
    layer->saved_bytes_per_sample = sizeof (float) * numel;
    return TRUE;

  case LAM_LAYER_SOFTMAX:
  case LAM_LAYER_LOG_SOFTMAX:
    if (in_shape->rank != 1) {
      g_autofree char *s = lam_shape_to_string (in_shape);
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                   "%s needs a flat input, gets %s from %s: add a flatten layer before it", name,
                   s, prev_name);
      return FALSE;
    }
    layer->flops = 3 * (guint64) numel;
    return TRUE;

  case LAM_LAYER_FLATTEN:
    if (numel > G_MAXINT) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                   "%s: its output has too many elements per sample", name);
      return FALSE;
    }
    layer->out_shape = lam_shape_flat ((int) numel);
    return TRUE;

  case LAM_N_LAYER_KINDS:
  default:
    break;
  }
  g_assert_not_reached ();
  return FALSE;
}

void
lam_layer_init (const LamLayer *layer, float *params, GRand *rng)
{
  g_return_if_fail (layer != NULL);
  g_return_if_fail (rng != NULL);

  if (!lam_layer_kind_has_params (layer->spec.kind) || layer->n_weights == 0)
    return;
  g_return_if_fail (params != NULL);

  int k = layer->spec.kind == LAM_LAYER_CONV2D ? layer->spec.kernel : 1;
  int in = layer->spec.in > 0 ? layer->spec.in : layer->in_shape.dims[0];
  double fan_in = (double) in * k * k;
  double bound = 1.0 / sqrt (fan_in);

  float *w = params + layer->weight_offset;
  for (gsize i = 0; i < layer->n_weights; i++)
    w[i] = (float) g_rand_double_range (rng, -bound, bound);
  float *b = params + layer->bias_offset;
  for (gsize i = 0; i < layer->n_bias; i++)
    b[i] = (float) g_rand_double_range (rng, -bound, bound);
}
