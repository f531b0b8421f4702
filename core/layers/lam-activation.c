/* lam-activation.c: the element-wise activations — ReLU, LeakyReLU,
 * Sigmoid and Tanh — each its own entry over the backend's activation
 * ops. */
#include <math.h>

#include "lam-export.h"
#include "lam-layer-private.h"

static gboolean
activation_plan (LamLayer *layer, const char *name, const char *prev_name, GError **error)
{
  layer->flops = lam_shape_numel (&layer->in_shape);
  return TRUE;
}

// x (batch, in_shape) -> y (batch, in_shape)
static void
activation_forward (const LamLayer *layer, const LamLayerContext *ctx, LamActivation activation,
                    const float *x, float *y)
{
  LamBackend *be = ctx->backend;
  gsize n = lam_shape_numel (&layer->in_shape) * (gsize) ctx->batch;
  be->activation_forward (be, activation, layer->spec.slope, x, y, n);
}

// x, y, dy (batch, in_shape) -> dx (batch, in_shape)
static void
activation_backward (const LamLayer *layer, const LamLayerContext *ctx, LamActivation activation,
                     const float *x, const float *y, const float *dy, float *dx)
{
  LamBackend *be = ctx->backend;
  gsize n = lam_shape_numel (&layer->in_shape) * (gsize) ctx->batch;
  be->activation_backward (be, activation, layer->spec.slope, x, y, dy, dx, n);
}

/* ReLU */

static void
relu_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y)
{
  activation_forward (layer, ctx, LAM_ACTIVATION_RELU, x, y);
}

static void
relu_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, const float *y,
               const float *dy, float *dx)
{
  activation_backward (layer, ctx, LAM_ACTIVATION_RELU, x, y, dy, dx);
}

static void
relu_append_pytorch (GString *s, const LamLayer *layer)
{
  g_string_append (s, "ReLU()");
}

const LamLayerClass lam_layer_class_relu = {
  .kind = LAM_LAYER_RELU,
  .name = "relu",
  .title = "ReLU",
  .description = "negative values become 0",
  .plan = activation_plan,
  .forward = relu_forward,
  .backward = relu_backward,
  .append_pytorch = relu_append_pytorch,
};

/* LeakyReLU */

static const char *const leaky_relu_aliases[] = { "leakyrelu", NULL };

static const LamLayerArg leaky_relu_args[] = {
  {
    .name = "slope",
    .type = LAM_VALUE_FLOAT,
    .offset = G_STRUCT_OFFSET (LamLayerSpec, slope),
    .position = 1,
    .value = 0.01,
    .min = -INFINITY,
    .max = INFINITY,
    .label = "Slope below zero",
    .editor = { .start = 0.01, .lower = 0, .upper = 1, .step = 0.01, .digits = 2, .width_chars = 4 },
  },
};

static void
leaky_relu_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y)
{
  activation_forward (layer, ctx, LAM_ACTIVATION_LEAKY_RELU, x, y);
}

static void
leaky_relu_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                     const float *y, const float *dy, float *dx)
{
  activation_backward (layer, ctx, LAM_ACTIVATION_LEAKY_RELU, x, y, dy, dx);
}

static void
leaky_relu_append_pytorch (GString *s, const LamLayer *layer)
{
  g_string_append (s, "LeakyReLU(negative_slope=");
  lam_export_append_python_float (s, layer->spec.slope);
  g_string_append_c (s, ')');
}

const LamLayerClass lam_layer_class_leaky_relu = {
  .kind = LAM_LAYER_LEAKY_RELU,
  .name = "leaky_relu",
  .aliases = leaky_relu_aliases,
  .title = "LeakyReLU",
  .description = "ReLU with a slope below 0",
  .text_example = "leaky_relu:0.1",
  .args = leaky_relu_args,
  .n_args = G_N_ELEMENTS (leaky_relu_args),
  .plan = activation_plan,
  .forward = leaky_relu_forward,
  .backward = leaky_relu_backward,
  .append_pytorch = leaky_relu_append_pytorch,
};

/* Sigmoid */

static void
sigmoid_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y)
{
  activation_forward (layer, ctx, LAM_ACTIVATION_SIGMOID, x, y);
}

static void
sigmoid_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                  const float *y, const float *dy, float *dx)
{
  activation_backward (layer, ctx, LAM_ACTIVATION_SIGMOID, x, y, dy, dx);
}

static void
sigmoid_append_pytorch (GString *s, const LamLayer *layer)
{
  g_string_append (s, "Sigmoid()");
}

const LamLayerClass lam_layer_class_sigmoid = {
  .kind = LAM_LAYER_SIGMOID,
  .name = "sigmoid",
  .title = "Sigmoid",
  .description = "squashes values into 0…1",
  .plan = activation_plan,
  .forward = sigmoid_forward,
  .backward = sigmoid_backward,
  .append_pytorch = sigmoid_append_pytorch,
};

/* Tanh */

static void
tanh_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y)
{
  activation_forward (layer, ctx, LAM_ACTIVATION_TANH, x, y);
}

static void
tanh_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, const float *y,
               const float *dy, float *dx)
{
  activation_backward (layer, ctx, LAM_ACTIVATION_TANH, x, y, dy, dx);
}

static void
tanh_append_pytorch (GString *s, const LamLayer *layer)
{
  g_string_append (s, "Tanh()");
}

const LamLayerClass lam_layer_class_tanh = {
  .kind = LAM_LAYER_TANH,
  .name = "tanh",
  .title = "Tanh",
  .description = "squashes values into −1…1",
  .plan = activation_plan,
  .forward = tanh_forward,
  .backward = tanh_backward,
  .append_pytorch = tanh_append_pytorch,
};
