/* lam-maxpool2d.c: the largest value of each window, nn.MaxPool2d. */
#include "lam-layer-private.h"

static const char *const maxpool2d_aliases[] = { "maxpool", NULL };

static gboolean
maxpool2d_plan (LamLayer *layer, const char *name, const char *prev_name, GError **error)
{
  if (!lam_layer_pool2d_plan (layer, name, prev_name, error))
    return FALSE;
  /* Backward sends each gradient to where forward found the maximum. */
  layer->saved_bytes_per_sample = sizeof (gint32) * lam_shape_numel (&layer->out_shape);
  return TRUE;
}

static void
maxpool2d_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y)
{
  LamBackend *be = ctx->backend;
  const LamShape *in = &layer->in_shape;

  // x (batch*c, h, w) -> y (batch*c, oh, ow), argmax (batch*c, oh, ow) saved
  be->maxpool_forward (be, x, y, ctx->saved, ctx->batch * in->dims[0], in->dims[1], in->dims[2],
                       layer->spec.kernel, layer->spec.stride, layer->spec.padding);
}

static void
maxpool2d_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                    const float *y, const float *dy, float *dx)
{
  LamBackend *be = ctx->backend;
  const LamShape *in = &layer->in_shape;
  const LamShape *out = &layer->out_shape;

  // dy (batch*c, oh, ow) through argmax -> dx (batch*c, h, w)
  be->maxpool_backward (be, dy, ctx->saved, dx, ctx->batch * in->dims[0], in->dims[1],
                        in->dims[2], out->dims[1], out->dims[2]);
}

static void
maxpool2d_append_pytorch (GString *s, const LamLayer *layer)
{
  lam_layer_pool2d_append_pytorch (s, layer, "MaxPool2d");
}

const LamLayerClass lam_layer_class_maxpool2d = {
  .kind = LAM_LAYER_MAXPOOL2D,
  .name = "maxpool2d",
  .aliases = maxpool2d_aliases,
  .title = "MaxPool2d",
  .description = "largest of each window",
  .description_table = "needs an image, not a row",
  .text_example = "maxpool2d:2",
  .args = lam_layer_pool2d_args,
  .n_args = G_N_ELEMENTS (lam_layer_pool2d_args),
  .plan = maxpool2d_plan,
  .forward = maxpool2d_forward,
  .backward = maxpool2d_backward,
  .append_pytorch = maxpool2d_append_pytorch,
  .append_caption = lam_layer_pool2d_append_caption,
};
