/* lam-log-softmax.c: log-probabilities over a flat input, for the NLL
 * loss; nn.LogSoftmax. */
#include "lam-layer-private.h"

static const char *const log_softmax_aliases[] = { "logsoftmax", NULL };

static void
log_softmax_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y)
{
  LamBackend *be = ctx->backend;

  // x (batch, classes) -> y (batch, classes)
  be->softmax_forward (be, x, y, ctx->batch, (int) lam_shape_numel (&layer->in_shape), TRUE);
}

static void
log_softmax_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                      const float *y, const float *dy, float *dx)
{
  LamBackend *be = ctx->backend;

  // y (batch, classes), dy (batch, classes) -> dx (batch, classes)
  be->softmax_backward (be, y, dy, dx, ctx->batch, (int) lam_shape_numel (&layer->in_shape),
                        TRUE);
}

static void
log_softmax_append_pytorch (GString *s, const LamLayer *layer)
{
  g_string_append (s, "LogSoftmax(dim=1)");
}

const LamLayerClass lam_layer_class_log_softmax = {
  .kind = LAM_LAYER_LOG_SOFTMAX,
  .name = "log_softmax",
  .aliases = log_softmax_aliases,
  .title = "LogSoftmax",
  .description = "log-probabilities, for NLL",
  .plan = lam_layer_softmax_plan,
  .forward = log_softmax_forward,
  .backward = log_softmax_backward,
  .append_pytorch = log_softmax_append_pytorch,
};
