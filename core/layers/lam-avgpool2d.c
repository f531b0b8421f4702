/* lam-avgpool2d.c: the average of each window, nn.AvgPool2d. Like
 * PyTorch's default, it divides by the whole window, padding included. */
#include "lam-layer-private.h"

static const char *const avgpool2d_aliases[] = { "avgpool", NULL };

static void
avgpool2d_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y)
{
  LamBackend *be = ctx->backend;
  const LamShape *in = &layer->in_shape;

  // x (batch*c, h, w) -> y (batch*c, oh, ow)
  be->avgpool_forward (be, x, y, ctx->batch * in->dims[0], in->dims[1], in->dims[2],
                       layer->spec.kernel, layer->spec.stride, layer->spec.padding);
}

static void
avgpool2d_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                    const float *y, const float *dy, float *dx)
{
  LamBackend *be = ctx->backend;
  const LamShape *in = &layer->in_shape;

  // dy (batch*c, oh, ow) -> dx (batch*c, h, w)
  be->avgpool_backward (be, dy, dx, ctx->batch * in->dims[0], in->dims[1], in->dims[2],
                        layer->spec.kernel, layer->spec.stride, layer->spec.padding);
}

static void
avgpool2d_append_pytorch (GString *s, const LamLayer *layer)
{
  lam_layer_pool2d_append_pytorch (s, layer, "AvgPool2d");
}

const LamLayerClass lam_layer_class_avgpool2d = {
  .kind = LAM_LAYER_AVGPOOL2D,
  .name = "avgpool2d",
  .aliases = avgpool2d_aliases,
  .title = "AvgPool2d",
  .description = "average of each window",
  .description_table = "needs an image, not a row",
  .text_example = "avgpool2d:2",
  .args = lam_layer_pool2d_args,
  .n_args = G_N_ELEMENTS (lam_layer_pool2d_args),
  .plan = lam_layer_pool2d_plan,
  .forward = avgpool2d_forward,
  .backward = avgpool2d_backward,
  .append_pytorch = avgpool2d_append_pytorch,
  .append_caption = lam_layer_pool2d_append_caption,
};
