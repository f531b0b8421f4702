/* lam-softmax.c: scores to probabilities over a flat input, nn.Softmax;
 * planning shared with log-softmax. */
#include "lam-layer-private.h"

gboolean
lam_layer_softmax_plan (LamLayer *layer, const char *name, const char *prev_name, GError **error)
{
  const LamShape *in_shape = &layer->in_shape;

  if (in_shape->rank != 1) {
    g_autofree char *s = lam_shape_to_string (in_shape);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "%s needs a flat input, gets %s from %s: add a flatten layer before it", name, s,
                 prev_name);
    return FALSE;
  }
  layer->flops = 3 * (guint64) lam_shape_numel (in_shape);
  return TRUE;
}

static void
softmax_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y)
{
  LamBackend *be = ctx->backend;

  // x (batch, classes) -> y (batch, classes)
  be->softmax_forward (be, x, y, ctx->batch, (int) lam_shape_numel (&layer->in_shape), FALSE);
}

static void
softmax_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                  const float *y, const float *dy, float *dx)
{
  LamBackend *be = ctx->backend;

  // y (batch, classes), dy (batch, classes) -> dx (batch, classes)
  be->softmax_backward (be, y, dy, dx, ctx->batch, (int) lam_shape_numel (&layer->in_shape),
                        FALSE);
}

static void
softmax_append_pytorch (GString *s, const LamLayer *layer)
{
  g_string_append (s, "Softmax(dim=1)");
}

const LamLayerClass lam_layer_class_softmax = {
  .kind = LAM_LAYER_SOFTMAX,
  .name = "softmax",
  .title = "Softmax",
  .description = "scores to probabilities",
  .plan = lam_layer_softmax_plan,
  .forward = softmax_forward,
  .backward = softmax_backward,
  .append_pytorch = softmax_append_pytorch,
};
