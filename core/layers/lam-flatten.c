/* lam-flatten.c: a channels×height×width sample as one long vector,
 * nn.Flatten. The values do not move. */
#include "lam-layer-private.h"

static gboolean
flatten_plan (LamLayer *layer, const char *name, const char *prev_name, GError **error)
{
  gsize numel = lam_shape_numel (&layer->in_shape);
  if (numel > G_MAXINT) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "%s: its output has too many elements per sample", name);
    return FALSE;
  }
  layer->out_shape = lam_shape_flat ((int) numel);
  return TRUE;
}

static void
flatten_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y)
{
  LamBackend *be = ctx->backend;
  gsize n = lam_shape_numel (&layer->in_shape) * (gsize) ctx->batch;

  // x (batch, c, h, w) -> y (batch, c*h*w)
  be->copy (be, y, x, n * sizeof (float));
}

static void
flatten_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                  const float *y, const float *dy, float *dx)
{
  LamBackend *be = ctx->backend;
  gsize n = lam_shape_numel (&layer->in_shape) * (gsize) ctx->batch;

  // dy (batch, c*h*w) -> dx (batch, c, h, w)
  be->copy (be, dx, dy, n * sizeof (float));
}

static void
flatten_append_pytorch (GString *s, const LamLayer *layer)
{
  g_string_append (s, "Flatten()");
}

const LamLayerClass lam_layer_class_flatten = {
  .kind = LAM_LAYER_FLATTEN,
  .name = "flatten",
  .title = "Flatten",
  .description = "image to one long vector",
  .description_table = "no change: a row is flat",
  .plan = flatten_plan,
  .forward = flatten_forward,
  .backward = flatten_backward,
  .append_pytorch = flatten_append_pytorch,
};
