/* lam-conv2d.c: square filters slid over a channels×height×width input,
 * nn.Conv2d. */
#include "lam-layer-private.h"

static const char *const conv2d_aliases[] = { "conv", NULL };

static const LamLayerArg conv2d_args[] = {
  {
    .name = "out",
    .type = LAM_VALUE_INT,
    .flags = LAM_LAYER_ARG_REQUIRED,
    .offset = G_STRUCT_OFFSET (LamLayerSpec, out),
    .position = 1,
    .noun = "output size",
    .min = 1,
    .max = LAM_LAYER_MAX_SIZE,
    .label = "Filters (output channels)",
    .editor = { .start = 16, .lower = 1, .upper = 4096, .step = 1, .width_chars = 4 },
  },
  {
    .name = "kernel",
    .type = LAM_VALUE_INT,
    .flags = LAM_LAYER_ARG_REQUIRED | LAM_LAYER_ARG_SQUARE,
    .offset = G_STRUCT_OFFSET (LamLayerSpec, kernel),
    .position = 2,
    .noun = "kernel size",
    .min = 1,
    .max = LAM_LAYER_MAX_SIZE,
    .label = "Kernel size (square)",
    .editor = { .start = 3, .lower = 1, .upper = 99, .step = 1, .width_chars = 2 },
  },
  {
    .name = "stride",
    .type = LAM_VALUE_INT,
    .offset = G_STRUCT_OFFSET (LamLayerSpec, stride),
    .short_form = 's',
    .value = 1,
    .min = 1,
    .max = LAM_LAYER_MAX_SIZE,
    .label = "Stride",
    .editor = { .start = 1, .lower = 1, .upper = 16, .step = 1, .width_chars = 2 },
  },
  {
    .name = "padding",
    .type = LAM_VALUE_INT,
    .offset = G_STRUCT_OFFSET (LamLayerSpec, padding),
    .short_form = 'p',
    .min = 0,
    .max = LAM_LAYER_MAX_SIZE,
    .label = "Zero padding on each side",
    .editor = { .start = 1, .lower = 0, .upper = 16, .step = 1, .width_chars = 2 },
  },
  {
    .name = "in",
    .type = LAM_VALUE_INT,
    .flags = LAM_LAYER_ARG_AUTO,
    .offset = G_STRUCT_OFFSET (LamLayerSpec, in),
    .min = 0,
    .max = LAM_LAYER_MAX_SIZE,
  },
  {
    .name = "bias",
    .type = LAM_VALUE_BOOL,
    .offset = G_STRUCT_OFFSET (LamLayerSpec, bias),
    .value = TRUE,
    .label = "Add a learned bias to each output",
  },
};

static gsize
conv2d_state_layout (const LamLayer *layer, guint i, LamShape *shape)
{
  *shape = (LamShape){ 0 };
  if (i == 0) {
    // W (out, c, k, k)
    shape->rank = 4;
    shape->dims[0] = layer->spec.out;
    shape->dims[1] = layer->in_shape.dims[0];
    shape->dims[2] = layer->spec.kernel;
    shape->dims[3] = layer->spec.kernel;
    return layer->weight_offset;
  }
  // b (out), absent without bias
  shape->rank = 1;
  shape->dims[0] = layer->n_bias > 0 ? layer->spec.out : 0;
  return layer->bias_offset;
}

static gboolean
conv2d_plan (LamLayer *layer, const char *name, const char *prev_name, GError **error)
{
  const LamLayerSpec *spec = &layer->spec;
  const LamShape *in_shape = &layer->in_shape;

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

  int oh = lam_layer_window_out (h, k, spec->stride, spec->padding);
  int ow = lam_layer_window_out (w, k, spec->stride, spec->padding);
  if (oh < 1 || ow < 1) {
    g_autofree char *s = lam_shape_to_string (in_shape);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "%s: a %d×%d kernel does not fit the %s input from %s with padding %d", name, k, k,
                 s, prev_name, spec->padding);
    return FALSE;
  }

  layer->spec.in = c;
  layer->out_shape = lam_shape_chw (spec->out, oh, ow);
  /* Checked dimension by dimension, so that the product cannot wrap. */
  guint64 n = 1;
  for (int i = 0; i < layer->out_shape.rank; i++) {
    n *= (guint64) layer->out_shape.dims[i];
    if (n > G_MAXINT) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                   "%s: its output has too many elements per sample", name);
      return FALSE;
    }
  }

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
  /* The backend's convolution may use (c*k*k + out) * oh*ow floats per
   * sample: im2col columns and the transposed output. */
  layer->scratch_floats_per_sample = (gsize) (cols + out_numel);
  return TRUE;
}

static void
conv2d_init (const LamLayer *layer, float *params, GRand *rng)
{
  int k = layer->spec.kernel;
  int in = layer->spec.in > 0 ? layer->spec.in : layer->in_shape.dims[0];
  lam_layer_init_uniform (layer, params, rng, (double) in * k * k);
}

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
                 const float *y, const float *dy, float *dx)
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

static void
conv2d_append_pytorch (GString *s, const LamLayer *layer)
{
  const LamLayerSpec *spec = &layer->spec;
  g_string_append_printf (s, "Conv2d(%d, %d, kernel_size=%d, stride=%d, padding=%d%s)",
                          layer->in_shape.dims[0], spec->out, spec->kernel, spec->stride,
                          spec->padding, spec->bias ? "" : ", bias=False");
}

static void
conv2d_append_caption (GString *s, const LamLayerSpec *spec)
{
  g_string_append_printf (s, " %d×%d", spec->kernel, spec->kernel);
}

const LamLayerClass lam_layer_class_conv2d = {
  .kind = LAM_LAYER_CONV2D,
  .name = "conv2d",
  .aliases = conv2d_aliases,
  .title = "Conv2d",
  .description = "filters slid over the image",
  .description_table = "needs an image, not a row",
  .text_example = "conv2d:32:3 or conv2d:32:3:s1:p1",
  .args = conv2d_args,
  .n_args = G_N_ELEMENTS (conv2d_args),
  .states = lam_layer_weight_and_bias,
  .n_states = G_N_ELEMENTS (lam_layer_weight_and_bias),
  .state_layout = conv2d_state_layout,
  .plan = conv2d_plan,
  .init = conv2d_init,
  .forward = conv2d_forward,
  .backward = conv2d_backward,
  .append_pytorch = conv2d_append_pytorch,
  .append_caption = conv2d_append_caption,
};
