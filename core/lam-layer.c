/* lam-layer.c: forward and backward of every layer kind over the backend
 * ops table. Pointers may be device memory: nothing here reads or writes
 * them directly. */
#include "lam-layer.h"

/* Dropout masks must differ between layers that see the same step seed. */
static guint64
dropout_seed (guint64 seed, int index)
{
  guint64 z = seed + (guint64) (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static LamActivation
activation_of (LamLayerKind kind)
{
  switch (kind) {
  case LAM_LAYER_RELU:
    return LAM_ACTIVATION_RELU;
  case LAM_LAYER_LEAKY_RELU:
    return LAM_ACTIVATION_LEAKY_RELU;
  case LAM_LAYER_SIGMOID:
    return LAM_ACTIVATION_SIGMOID;
  case LAM_LAYER_TANH:
    return LAM_ACTIVATION_TANH;
  default:
    g_assert_not_reached ();
  }
}

static void
linear_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y)
{
  LamBackend *be = ctx->backend;
  int in = (int) lam_shape_numel (&layer->in_shape);
  int out = (int) lam_shape_numel (&layer->out_shape);
  const float *weight = ctx->params + layer->weight_offset;

  // x (batch, in) · W (out, in)ᵀ -> y (batch, out)
  be->gemm (be, 0, 1, ctx->batch, out, in, 1.0f, x, in, weight, in, 0.0f, y, out);
  // y (batch, out) += b (out)
  if (layer->n_bias > 0)
    be->bias_add (be, y, ctx->params + layer->bias_offset, ctx->batch, out, 1);
}

static void
linear_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                 const float *dy, float *dx)
{
  LamBackend *be = ctx->backend;
  int in = (int) lam_shape_numel (&layer->in_shape);
  int out = (int) lam_shape_numel (&layer->out_shape);
  const float *weight = ctx->params + layer->weight_offset;

  // dy (batch, out)ᵀ · x (batch, in) -> dW (out, in) +=
  be->gemm (be, 1, 0, out, in, ctx->batch, 1.0f, dy, out, x, in, 1.0f,
            ctx->grads + layer->weight_offset, in);
  // dy (batch, out) -> db (out) +=
  if (layer->n_bias > 0)
    be->bias_backward (be, dy, ctx->grads + layer->bias_offset, ctx->batch, out, 1);
  // dy (batch, out) · W (out, in) -> dx (batch, in)
  if (dx != NULL)
    be->gemm (be, 0, 0, ctx->batch, in, out, 1.0f, dy, out, weight, in, 0.0f, dx, in);
}

/* The convolution is one backend op each way; the layer's planned scratch,
 * (c*k*k + out) * oh*ow floats per sample, is what the op may use. */
static void
conv2d_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y)
{
  LamBackend *be = ctx->backend;
  const LamShape *in = &layer->in_shape;

  // x (batch, c, h, w) · W (out, c, k, k) + b (out) -> y (batch, out, oh, ow)
  be->conv2d_forward (be, x, ctx->params + layer->weight_offset,
                      layer->n_bias > 0 ? ctx->params + layer->bias_offset : NULL, y, ctx->batch,
                      in->dims[0], in->dims[1], in->dims[2], layer->out_shape.dims[0],
                      layer->spec.kernel, layer->spec.kernel, layer->spec.stride,
                      layer->spec.padding, ctx->scratch,
                      layer->scratch_floats_per_sample * (gsize) ctx->batch);
}

static void
conv2d_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                 const float *dy, float *dx)
{
  LamBackend *be = ctx->backend;
  const LamShape *in = &layer->in_shape;

  // x, W, dy (batch, out, oh, ow) -> dW (out, c, k, k) +=, db (out) +=, dx (batch, c, h, w)
  be->conv2d_backward (be, x, ctx->params + layer->weight_offset, dy,
                       ctx->grads + layer->weight_offset,
                       layer->n_bias > 0 ? ctx->grads + layer->bias_offset : NULL, dx,
                       ctx->batch, in->dims[0], in->dims[1], in->dims[2],
                       layer->out_shape.dims[0], layer->spec.kernel, layer->spec.kernel,
                       layer->spec.stride, layer->spec.padding, ctx->scratch,
                       layer->scratch_floats_per_sample * (gsize) ctx->batch);
}

void
lam_layer_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y)
{
  g_return_if_fail (layer != NULL && ctx != NULL && ctx->backend != NULL);
  g_return_if_fail (ctx->batch > 0);

  LamBackend *be = ctx->backend;
  int batch = ctx->batch;
  gsize n_in = lam_shape_numel (&layer->in_shape) * (gsize) batch;
  const LamShape *in = &layer->in_shape;

  switch (layer->spec.kind) {
  case LAM_LAYER_LINEAR:
    linear_forward (layer, ctx, x, y);
    break;
  case LAM_LAYER_CONV2D:
    conv2d_forward (layer, ctx, x, y);
    break;
  case LAM_LAYER_MAXPOOL2D:
    // x (batch*c, h, w) -> y (batch*c, oh, ow), argmax (batch*c, oh, ow) saved
    be->maxpool_forward (be, x, y, ctx->saved, batch * in->dims[0], in->dims[1], in->dims[2],
                         layer->spec.kernel, layer->spec.stride, layer->spec.padding);
    break;
  case LAM_LAYER_AVGPOOL2D:
    // x (batch*c, h, w) -> y (batch*c, oh, ow)
    be->avgpool_forward (be, x, y, batch * in->dims[0], in->dims[1], in->dims[2],
                         layer->spec.kernel, layer->spec.stride, layer->spec.padding);
    break;
  case LAM_LAYER_RELU:
  case LAM_LAYER_LEAKY_RELU:
  case LAM_LAYER_SIGMOID:
  case LAM_LAYER_TANH:
    // x (batch, in_shape) -> y (batch, in_shape)
    be->activation_forward (be, activation_of (layer->spec.kind), layer->spec.slope, x, y, n_in);
    break;
  case LAM_LAYER_FLATTEN:
    // x (batch, c, h, w) -> y (batch, c*h*w)
    be->copy (be, y, x, n_in * sizeof (float));
    break;
  case LAM_LAYER_DROPOUT:
    // x (batch, in_shape) -> y (batch, in_shape), mask (batch, in_shape) saved
    if (!ctx->training || layer->spec.p <= 0.0f)
      be->copy (be, y, x, n_in * sizeof (float));
    else
      be->dropout_forward (be, x, y, ctx->saved, n_in, layer->spec.p,
                           dropout_seed (ctx->seed, layer->index));
    break;
  case LAM_LAYER_SOFTMAX:
  case LAM_LAYER_LOG_SOFTMAX:
    // x (batch, classes) -> y (batch, classes)
    be->softmax_forward (be, x, y, batch, (int) lam_shape_numel (in),
                         layer->spec.kind == LAM_LAYER_LOG_SOFTMAX);
    break;
  case LAM_N_LAYER_KINDS:
  default:
    g_assert_not_reached ();
  }
}

void
lam_layer_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                    const float *y, const float *dy, float *dx)
{
  g_return_if_fail (layer != NULL && ctx != NULL && ctx->backend != NULL);
  g_return_if_fail (ctx->batch > 0);

  LamBackend *be = ctx->backend;
  int batch = ctx->batch;
  gsize n_in = lam_shape_numel (&layer->in_shape) * (gsize) batch;
  const LamShape *in = &layer->in_shape;
  const LamShape *out = &layer->out_shape;

  switch (layer->spec.kind) {
  case LAM_LAYER_LINEAR:
    linear_backward (layer, ctx, x, dy, dx);
    return;
  case LAM_LAYER_CONV2D:
    conv2d_backward (layer, ctx, x, dy, dx);
    return;
  default:
    break;
  }

  // Kinds without parameters only have an input gradient to give.
  if (dx == NULL)
    return;

  switch (layer->spec.kind) {
  case LAM_LAYER_MAXPOOL2D:
    // dy (batch*c, oh, ow) through argmax -> dx (batch*c, h, w)
    be->maxpool_backward (be, dy, ctx->saved, dx, batch * in->dims[0], in->dims[1], in->dims[2],
                          out->dims[1], out->dims[2]);
    break;
  case LAM_LAYER_AVGPOOL2D:
    // dy (batch*c, oh, ow) -> dx (batch*c, h, w)
    be->avgpool_backward (be, dy, dx, batch * in->dims[0], in->dims[1], in->dims[2],
                          layer->spec.kernel, layer->spec.stride, layer->spec.padding);
    break;
  case LAM_LAYER_RELU:
  case LAM_LAYER_LEAKY_RELU:
  case LAM_LAYER_SIGMOID:
  case LAM_LAYER_TANH:
    // dy (batch, in_shape) -> dx (batch, in_shape)
    be->activation_backward (be, activation_of (layer->spec.kind), layer->spec.slope, x, y, dy,
                             dx, n_in);
    break;
  case LAM_LAYER_FLATTEN:
    // dy (batch, c*h*w) -> dx (batch, c, h, w)
    be->copy (be, dx, dy, n_in * sizeof (float));
    break;
  case LAM_LAYER_DROPOUT:
    // dy (batch, in_shape) · mask -> dx (batch, in_shape)
    if (!ctx->training || layer->spec.p <= 0.0f)
      be->copy (be, dx, dy, n_in * sizeof (float));
    else
      be->dropout_backward (be, dy, ctx->saved, dx, n_in);
    break;
  case LAM_LAYER_SOFTMAX:
  case LAM_LAYER_LOG_SOFTMAX:
    // y (batch, classes), dy (batch, classes) -> dx (batch, classes)
    be->softmax_backward (be, y, dy, dx, batch, (int) lam_shape_numel (in),
                          layer->spec.kind == LAM_LAYER_LOG_SOFTMAX);
    break;
  default:
    g_assert_not_reached ();
  }
}
