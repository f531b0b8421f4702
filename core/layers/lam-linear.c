/* lam-linear.c: every input to every output, nn.Linear. */
#include "lam-export.h"
#include "lam-layer-private.h"

static const char *const linear_aliases[] = { "fc", "dense", NULL };

static const LamLayerArg linear_args[] = {
  {
    .name = "out",
    .type = LAM_VALUE_INT,
    .flags = LAM_LAYER_ARG_REQUIRED,
    .offset = G_STRUCT_OFFSET (LamLayerSpec, out),
    .position = 1,
    .noun = "output size",
    .min = 1,
    .max = LAM_LAYER_MAX_SIZE,
    .label = "Output features",
    .editor = { .start = 64, .lower = 1, .upper = 65536, .step = 1, .width_chars = 4 },
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
linear_state_layout (const LamLayer *layer, guint i, LamShape *shape)
{
  *shape = (LamShape){ 0 };
  if (i == 0) {
    // W (out, in)
    shape->rank = 2;
    shape->dims[0] = layer->spec.out;
    shape->dims[1] = layer->in_shape.dims[0];
    return layer->weight_offset;
  }
  // b (out), absent without bias
  shape->rank = 1;
  shape->dims[0] = layer->n_bias > 0 ? layer->spec.out : 0;
  return layer->bias_offset;
}

static gboolean
linear_plan (LamLayer *layer, const char *name, const char *prev_name, GError **error)
{
  const LamLayerSpec *spec = &layer->spec;
  const LamShape *in_shape = &layer->in_shape;

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

static void
linear_init (const LamLayer *layer, float *params, GRand *rng)
{
  int in = layer->spec.in > 0 ? layer->spec.in : layer->in_shape.dims[0];
  lam_layer_init_uniform (layer, params, rng, (double) in);
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
                 const float *y, const float *dy, float *dx)
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

static void
linear_append_pytorch (GString *s, const LamLayer *layer)
{
  g_string_append_printf (s, "Linear(%d, %d%s)", layer->in_shape.dims[0], layer->spec.out,
                          layer->spec.bias ? "" : ", bias=False");
}

const LamLayerClass lam_layer_class_linear = {
  .kind = LAM_LAYER_LINEAR,
  .name = "linear",
  .aliases = linear_aliases,
  .title = "Linear",
  .description = "every input to every output",
  .text_example = "linear:10",
  .args = linear_args,
  .n_args = G_N_ELEMENTS (linear_args),
  .states = lam_layer_weight_and_bias,
  .n_states = G_N_ELEMENTS (lam_layer_weight_and_bias),
  .state_layout = linear_state_layout,
  .plan = linear_plan,
  .init = linear_init,
  .forward = linear_forward,
  .backward = linear_backward,
  .append_pytorch = linear_append_pytorch,
};
