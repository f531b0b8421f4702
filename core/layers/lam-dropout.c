/* lam-dropout.c: while training, zeroes each value with probability p and
 * scales the rest by 1 / (1 - p); nn.Dropout. Evaluation passes values
 * through. */
#include <math.h>

#include "lam-export.h"
#include "lam-layer-private.h"

/* The mask keeps a value when a uniform draw in 32-bit float, at most
 * 1 - 2^-24, is at least p: above that nothing would ever be kept. */
static gboolean
dropout_check_p (double value, const char *where, GError **error)
{
  if (value > (double) nextafterf (1.0f, 0.0f)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: p %.17g would drop every value; the largest p is %.8g", where, value,
                 (double) nextafterf (1.0f, 0.0f));
    return FALSE;
  }
  return TRUE;
}

static const LamLayerArg dropout_args[] = {
  {
    .name = "p",
    .type = LAM_VALUE_DOUBLE,
    .flags = LAM_LAYER_ARG_BELOW_MAX,
    .offset = G_STRUCT_OFFSET (LamLayerSpec, p),
    .position = 1,
    .value = 0.5,
    .min = 0,
    .max = 1,
    .check_value = dropout_check_p,
    .label = "Probability of zeroing each value",
    .editor = { .start = 0.25, .lower = 0, .upper = 0.95, .step = 0.05, .digits = 2,
                .width_chars = 4 },
  },
};

/* Dropout masks must differ between layers that see the same step seed. */
static guint64
dropout_seed (guint64 seed, int index)
{
  guint64 z = seed + (guint64) (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static gboolean
dropout_plan (LamLayer *layer, const char *name, const char *prev_name, GError **error)
{
  gsize numel = lam_shape_numel (&layer->in_shape);
  layer->flops = numel;
  layer->saved_bytes_per_sample = sizeof (float) * numel;
  return TRUE;
}

static void
dropout_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y)
{
  LamBackend *be = ctx->backend;
  gsize n = lam_shape_numel (&layer->in_shape) * (gsize) ctx->batch;

  // x (batch, in_shape) -> y (batch, in_shape), mask (batch, in_shape) saved
  if (!ctx->training || layer->spec.p <= 0.0f)
    be->copy (be, y, x, n * sizeof (float));
  else
    be->dropout_forward (be, x, y, ctx->saved, n, layer->spec.p,
                         dropout_seed (ctx->seed, layer->index));
}

static void
dropout_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                  const float *y, const float *dy, float *dx)
{
  LamBackend *be = ctx->backend;
  gsize n = lam_shape_numel (&layer->in_shape) * (gsize) ctx->batch;

  // dy (batch, in_shape) · mask -> dx (batch, in_shape)
  if (!ctx->training || layer->spec.p <= 0.0f)
    be->copy (be, dx, dy, n * sizeof (float));
  else
    be->dropout_backward (be, dy, ctx->saved, dx, n);
}

static void
dropout_append_pytorch (GString *s, const LamLayer *layer)
{
  g_string_append (s, "Dropout(p=");
  lam_export_append_python_double (s, layer->spec.p);
  g_string_append_c (s, ')');
}

const LamLayerClass lam_layer_class_dropout = {
  .kind = LAM_LAYER_DROPOUT,
  .name = "dropout",
  .title = "Dropout",
  .description = "random zeros while training",
  .text_example = "dropout:0.25",
  .args = dropout_args,
  .n_args = G_N_ELEMENTS (dropout_args),
  .plan = dropout_plan,
  .forward = dropout_forward,
  .backward = dropout_backward,
  .append_pytorch = dropout_append_pytorch,
};
