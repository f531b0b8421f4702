/* lam-pool2d.c: what maxpool2d and avgpool2d share — a square window slid
 * over each channel, with a stride that defaults to the window's size. */
#include "lam-layer-private.h"

const LamLayerArg lam_layer_pool2d_args[3] = {
  {
    .name = "kernel",
    .type = LAM_VALUE_INT,
    .flags = LAM_LAYER_ARG_REQUIRED | LAM_LAYER_ARG_SQUARE,
    .offset = G_STRUCT_OFFSET (LamLayerSpec, kernel),
    .position = 1,
    .noun = "kernel size",
    .min = 1,
    .max = LAM_LAYER_MAX_SIZE,
    .label = "Window size (square)",
    .editor = { .start = 2, .lower = 1, .upper = 99, .step = 1, .width_chars = 2 },
  },
  {
    .name = "stride",
    .type = LAM_VALUE_INT,
    .flags = LAM_LAYER_ARG_AUTO,
    .offset = G_STRUCT_OFFSET (LamLayerSpec, stride),
    .short_form = 's',
    .min = 1,
    .max = LAM_LAYER_MAX_SIZE,
    .auto_from = "kernel",
    .label = "Stride (auto: the window size)",
    .editor = { .start = 0, .lower = 0, .upper = 16, .step = 1, .width_chars = 4 },
  },
  {
    .name = "padding",
    .type = LAM_VALUE_INT,
    .flags = LAM_LAYER_ARG_LIMIT_IN_PLAN,
    .offset = G_STRUCT_OFFSET (LamLayerSpec, padding),
    .short_form = 'p',
    .min = 0,
    .max = LAM_LAYER_MAX_SIZE,
    .label = "Padding (at most half the window)",
    .editor = { .start = 0, .lower = 0, .upper = 16, .step = 1, .width_chars = 2 },
  },
};

gboolean
lam_layer_pool2d_plan (LamLayer *layer, const char *name, const char *prev_name, GError **error)
{
  const LamLayerSpec *spec = &layer->spec;
  const LamShape *in_shape = &layer->in_shape;

  int k = spec->kernel;
  int stride = spec->stride > 0 ? spec->stride : k;
  /* PyTorch refuses padding over half the kernel: a window could then lie
   * wholly in the padding. */
  if (spec->padding < 0 || spec->padding > k / 2) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: padding must be between 0 and half the kernel (%d), got %d", name, k / 2,
                 spec->padding);
    return FALSE;
  }
  if (in_shape->rank != 3) {
    g_autofree char *s = lam_shape_to_string (in_shape);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "%s needs a channels×height×width input, gets %s from %s", name, s, prev_name);
    return FALSE;
  }

  int c = in_shape->dims[0], h = in_shape->dims[1], w = in_shape->dims[2];
  int oh = lam_layer_window_out (h, k, stride, spec->padding);
  int ow = lam_layer_window_out (w, k, stride, spec->padding);
  if (oh < 1 || ow < 1) {
    g_autofree char *s = lam_shape_to_string (in_shape);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "%s: a %d×%d window does not fit the %s input from %s with padding %d", name, k, k,
                 s, prev_name, spec->padding);
    return FALSE;
  }

  layer->spec.stride = stride;
  layer->out_shape = lam_shape_chw (c, oh, ow);
  gsize out_numel = lam_shape_numel (&layer->out_shape);
  /* Checked: padding lets a window be far larger than its input (a
   * 16777216×16777216 one over 1×1 images). */
  if (!g_uint64_checked_mul (&layer->flops, (guint64) out_numel, (guint64) k * (guint64) k)) {
    g_autofree char *s = lam_shape_to_string (&layer->out_shape);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "%s: a %d×%d window for each of its %s outputs is too large", name, k, k, s);
    return FALSE;
  }
  return TRUE;
}

/* The plan has filled in the stride. */
void
lam_layer_pool2d_append_pytorch (GString *s, const LamLayer *layer, const char *module)
{
  g_string_append_printf (s, "%s(kernel_size=%d, stride=%d, padding=%d)", module,
                          layer->spec.kernel, layer->spec.stride, layer->spec.padding);
}

void
lam_layer_pool2d_append_caption (GString *s, const LamLayerSpec *spec)
{
  g_string_append_printf (s, " %d", spec->kernel);
}
