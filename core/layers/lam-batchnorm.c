/* lam-batchnorm.c: batch normalisation, nn.BatchNorm1d over features and
 * nn.BatchNorm2d over the channels of images.
 *
 * While training, each channel is normalised by the mean and variance of
 * the batch and the running statistics move towards them (by `momentum`,
 * with the unbiased variance); in evaluation the running statistics are
 * used. Then y = weight * x̂ + bias, per channel. The running statistics
 * and the count of batches seen are buffers: saved and loaded with the
 * weights under PyTorch's state-dict names, never trained. */
#include "lam-export.h"
#include "lam-layer-private.h"

static const LamLayerArg batchnorm_args[] = {
  {
    .name = "momentum",
    .type = LAM_VALUE_DOUBLE,
    .offset = G_STRUCT_OFFSET (LamLayerSpec, momentum),
    .value = 0.1,
    .min = 0,
    .max = 1,
    .label = "How far the running mean and variance move towards each batch's",
    .editor = { .start = 0.1, .lower = 0, .upper = 1, .step = 0.05, .digits = 2,
                .width_chars = 4 },
  },
  {
    .name = "eps",
    .type = LAM_VALUE_DOUBLE,
    .flags = 0,
    .offset = G_STRUCT_OFFSET (LamLayerSpec, eps),
    .value = 1e-5,
    .min = 1e-12,
    .max = 1,
  },
};

static const LamLayerState batchnorm_states[] = {
  { "weight", LAM_LAYER_STATE_PARAMETER },
  { "bias", LAM_LAYER_STATE_PARAMETER },
  { "running_mean", LAM_LAYER_STATE_BUFFER },
  { "running_var", LAM_LAYER_STATE_BUFFER },
  { "num_batches_tracked", LAM_LAYER_STATE_BUFFER, LAM_LAYER_STATE_INT64 },
};

/* The statistics' layout: (outer, channels, inner) per batch. */
static int
batchnorm_channels (const LamLayer *layer)
{
  return layer->in_shape.dims[0];
}

static int
batchnorm_inner (const LamLayer *layer)
{
  return layer->in_shape.rank == 3 ? layer->in_shape.dims[1] * layer->in_shape.dims[2] : 1;
}

static gsize
batchnorm_state_layout (const LamLayer *layer, guint i, LamShape *shape)
{
  int channels = batchnorm_channels (layer);
  *shape = (LamShape){ .rank = 1, .dims = { channels } };
  switch (i) {
  case 0:
    return layer->weight_offset;
  case 1:
    return layer->bias_offset;
  case 2:
    return layer->buffer_offset;
  case 3:
    return layer->buffer_offset + channels;
  default:
    // A count, a scalar as PyTorch keeps it; a float holds it exactly up to 2^24 batches.
    shape->rank = 0;
    return layer->buffer_offset + 2 * (gsize) channels;
  }
}

static gboolean
batchnorm_plan_common (LamLayer *layer, int want_rank, const char *name, const char *prev_name,
                       GError **error)
{
  const LamShape *in_shape = &layer->in_shape;
  if (in_shape->rank != want_rank) {
    g_autofree char *s = lam_shape_to_string (in_shape);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 want_rank == 1
                   ? "%s normalises features and needs a flat input, gets %s from %s: use "
                     "batchnorm2d on images, or add a flatten layer before it"
                   : "%s normalises the channels of images and needs a channels×height×width "
                     "input, gets %s from %s: use batchnorm1d after a flatten",
                 name, s, prev_name);
    return FALSE;
  }
  int channels = batchnorm_channels (layer);
  gsize numel = lam_shape_numel (in_shape);
  layer->out_shape = *in_shape;
  layer->n_weights = (gsize) channels;
  layer->n_bias = (gsize) channels;
  layer->n_buffers = 2 * (gsize) channels + 1;
  layer->flops = 2 * (guint64) numel;
  /* The batch's mean and 1/std per channel, kept for backward; planned per
   * sample as every saved state is, so a batch of one has room for them. */
  layer->saved_bytes_per_sample = 2 * sizeof (float) * (gsize) channels;
  return TRUE;
}

static gboolean
batchnorm1d_plan (LamLayer *layer, const char *name, const char *prev_name, GError **error)
{
  return batchnorm_plan_common (layer, 1, name, prev_name, error);
}

static gboolean
batchnorm2d_plan (LamLayer *layer, const char *name, const char *prev_name, GError **error)
{
  return batchnorm_plan_common (layer, 3, name, prev_name, error);
}

/* PyTorch's reset_parameters and reset_running_stats: weight 1, bias 0,
 * running mean 0, running variance 1, no batches seen. */
static void
batchnorm_init (const LamLayer *layer, float *params, GRand *rng)
{
  int channels = batchnorm_channels (layer);
  for (int c = 0; c < channels; c++) {
    params[layer->weight_offset + c] = 1.0f;
    params[layer->bias_offset + c] = 0.0f;
    params[layer->buffer_offset + c] = 0.0f;
    params[layer->buffer_offset + channels + c] = 1.0f;
  }
  params[layer->buffer_offset + 2 * (gsize) channels] = 0.0f;
}

static void
batchnorm_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y)
{
  LamBackend *be = ctx->backend;
  int channels = batchnorm_channels (layer);
  float *buffers = ctx->params + layer->buffer_offset;

  // x (batch, channels, inner) -> y, saved (mean, 1/std per channel); running statistics move
  be->batchnorm_forward (be, x, ctx->params + layer->weight_offset,
                         ctx->params + layer->bias_offset, buffers, buffers + channels,
                         buffers + 2 * channels, ctx->saved, y, ctx->batch, channels,
                         batchnorm_inner (layer), ctx->training, layer->spec.momentum,
                         layer->spec.eps);
}

static void
batchnorm_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                    const float *y, const float *dy, float *dx)
{
  LamBackend *be = ctx->backend;

  // x, dy (batch, channels, inner) -> dweight +=, dbias +=, dx
  be->batchnorm_backward (be, x, dy, ctx->params + layer->weight_offset, ctx->saved,
                          ctx->grads + layer->weight_offset, ctx->grads + layer->bias_offset, dx,
                          ctx->batch, batchnorm_channels (layer), batchnorm_inner (layer),
                          ctx->training);
}

static void
batchnorm_append_pytorch (GString *s, const LamLayer *layer, const char *module)
{
  g_string_append_printf (s, "%s(%d", module, batchnorm_channels (layer));
  if (layer->spec.eps != 1e-5) {
    g_string_append (s, ", eps=");
    lam_export_append_python_double (s, layer->spec.eps);
  }
  if (layer->spec.momentum != 0.1) {
    g_string_append (s, ", momentum=");
    lam_export_append_python_double (s, layer->spec.momentum);
  }
  g_string_append_c (s, ')');
}

static void
batchnorm1d_append_pytorch (GString *s, const LamLayer *layer)
{
  batchnorm_append_pytorch (s, layer, "BatchNorm1d");
}

static void
batchnorm2d_append_pytorch (GString *s, const LamLayer *layer)
{
  batchnorm_append_pytorch (s, layer, "BatchNorm2d");
}

static const char *const batchnorm1d_aliases[] = { "bn1d", NULL };
static const char *const batchnorm2d_aliases[] = { "bn2d", NULL };

const LamLayerClass lam_layer_class_batchnorm1d = {
  .kind = LAM_LAYER_BATCHNORM1D,
  .name = "batchnorm1d",
  .aliases = batchnorm1d_aliases,
  .title = "BatchNorm1d",
  .description = "normalises features by batch",
  .args = batchnorm_args,
  .n_args = G_N_ELEMENTS (batchnorm_args),
  .states = batchnorm_states,
  .n_states = G_N_ELEMENTS (batchnorm_states),
  .state_layout = batchnorm_state_layout,
  .plan = batchnorm1d_plan,
  .init = batchnorm_init,
  .forward = batchnorm_forward,
  .backward = batchnorm_backward,
  .append_pytorch = batchnorm1d_append_pytorch,
};

const LamLayerClass lam_layer_class_batchnorm2d = {
  .kind = LAM_LAYER_BATCHNORM2D,
  .name = "batchnorm2d",
  .aliases = batchnorm2d_aliases,
  .title = "BatchNorm2d",
  .description = "normalises channels by batch",
  .description_table = "needs an image, not a row",
  .args = batchnorm_args,
  .n_args = G_N_ELEMENTS (batchnorm_args),
  .states = batchnorm_states,
  .n_states = G_N_ELEMENTS (batchnorm_states),
  .state_layout = batchnorm_state_layout,
  .plan = batchnorm2d_plan,
  .init = batchnorm_init,
  .forward = batchnorm_forward,
  .backward = batchnorm_backward,
  .append_pytorch = batchnorm2d_append_pytorch,
};
