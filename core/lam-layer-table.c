/* lam-layer-table.c: the registry of layer kinds, indexed by LamLayerKind,
 * and the helpers its entries share. */
#include "lam-layer-class.h"

#include <math.h>

#include "lam-layer-private.h"

static const LamLayerClass *const layer_classes[LAM_N_LAYER_KINDS] = {
  [LAM_LAYER_LINEAR] = &lam_layer_class_linear,
  [LAM_LAYER_CONV2D] = &lam_layer_class_conv2d,
  [LAM_LAYER_MAXPOOL2D] = &lam_layer_class_maxpool2d,
  [LAM_LAYER_AVGPOOL2D] = &lam_layer_class_avgpool2d,
  [LAM_LAYER_RELU] = &lam_layer_class_relu,
  [LAM_LAYER_LEAKY_RELU] = &lam_layer_class_leaky_relu,
  [LAM_LAYER_SIGMOID] = &lam_layer_class_sigmoid,
  [LAM_LAYER_TANH] = &lam_layer_class_tanh,
  [LAM_LAYER_FLATTEN] = &lam_layer_class_flatten,
  [LAM_LAYER_DROPOUT] = &lam_layer_class_dropout,
  [LAM_LAYER_SOFTMAX] = &lam_layer_class_softmax,
  [LAM_LAYER_LOG_SOFTMAX] = &lam_layer_class_log_softmax,
  [LAM_LAYER_BATCHNORM1D] = &lam_layer_class_batchnorm1d,
  [LAM_LAYER_BATCHNORM2D] = &lam_layer_class_batchnorm2d,
};

const LamLayerClass *
lam_layer_class (LamLayerKind kind)
{
  if ((int) kind < 0 || kind >= LAM_N_LAYER_KINDS)
    return NULL;
  return layer_classes[kind];
}

const LamLayerClass *
lam_layer_class_lookup (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);

  for (int i = 0; i < LAM_N_LAYER_KINDS; i++)
    if (g_ascii_strcasecmp (name, layer_classes[i]->name) == 0)
      return layer_classes[i];
  for (int i = 0; i < LAM_N_LAYER_KINDS; i++) {
    const char *const *aliases = layer_classes[i]->aliases;
    for (int j = 0; aliases != NULL && aliases[j] != NULL; j++)
      if (g_ascii_strcasecmp (name, aliases[j]) == 0)
        return layer_classes[i];
  }
  return NULL;
}

const LamLayerArg *
lam_layer_class_find_arg (const LamLayerClass *klass, const char *name)
{
  g_return_val_if_fail (klass != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < klass->n_args; i++)
    if (g_str_equal (klass->args[i].name, name))
      return &klass->args[i];
  return NULL;
}

gboolean
lam_layer_class_has_state (const LamLayerClass *klass, LamLayerStateRole role)
{
  g_return_val_if_fail (klass != NULL, FALSE);

  for (guint i = 0; i < klass->n_states; i++)
    if (klass->states[i].role == role)
      return TRUE;
  return FALSE;
}

double
lam_layer_arg_get (const LamLayerArg *arg, const LamLayerSpec *spec)
{
  g_return_val_if_fail (arg != NULL && spec != NULL, 0);

  const char *field = (const char *) spec + arg->offset;
  switch (arg->type) {
  case LAM_VALUE_INT:
    return *(const int *) field;
  case LAM_VALUE_FLOAT:
    return *(const float *) field;
  case LAM_VALUE_DOUBLE:
    return *(const double *) field;
  case LAM_VALUE_BOOL:
    return *(const gboolean *) field ? 1 : 0;
  default:
    break;
  }
  g_assert_not_reached ();
  return 0;
}

gboolean
lam_layer_arg_set (const LamLayerArg *arg, LamLayerSpec *spec, double value)
{
  g_return_val_if_fail (arg != NULL && spec != NULL, FALSE);

  char *field = (char *) spec + arg->offset;
  switch (arg->type) {
  case LAM_VALUE_INT: {
    int *slot = (int *) field;
    int v = (int) lround (value);
    if (*slot == v)
      return FALSE;
    *slot = v;
    return TRUE;
  }
  case LAM_VALUE_FLOAT: {
    float *slot = (float *) field;
    float v = (float) value;
    if (*slot == v)
      return FALSE;
    *slot = v;
    return TRUE;
  }
  case LAM_VALUE_DOUBLE: {
    double *slot = (double *) field;
    if (*slot == value)
      return FALSE;
    *slot = value;
    return TRUE;
  }
  case LAM_VALUE_BOOL: {
    gboolean *slot = (gboolean *) field;
    gboolean v = value != 0;
    if (*slot == v)
      return FALSE;
    *slot = v;
    return TRUE;
  }
  default:
    break;
  }
  g_assert_not_reached ();
  return FALSE;
}

char *
lam_layer_arg_range_words (const LamLayerArg *arg)
{
  g_return_val_if_fail (arg != NULL, NULL);

  const char *below = (arg->flags & LAM_LAYER_ARG_BELOW_MAX) ? "below" : "at most";
  if (isfinite (arg->min) && isfinite (arg->max))
    return g_strdup_printf ("at least %g and %s %g", arg->min, below, arg->max);
  if (isfinite (arg->min))
    return g_strdup_printf ("at least %g", arg->min);
  if (isfinite (arg->max))
    return g_strdup_printf ("%s %g", below, arg->max);
  return g_strdup ("a number");
}

/* Shared by the layer files */

const LamLayerState lam_layer_weight_and_bias[2] = {
  { "weight", LAM_LAYER_STATE_PARAMETER },
  { "bias", LAM_LAYER_STATE_PARAMETER },
};

int
lam_layer_window_out (int size, int kernel, int stride, int padding)
{
  gint64 span = (gint64) size + 2 * (gint64) padding - kernel;
  if (span < 0)
    return 0;
  return (int) (span / stride + 1);
}

void
lam_layer_init_uniform (const LamLayer *layer, float *params, GRand *rng, double fan_in)
{
  double bound = 1.0 / sqrt (fan_in);

  float *w = params + layer->weight_offset;
  for (gsize i = 0; i < layer->n_weights; i++)
    w[i] = (float) g_rand_double_range (rng, -bound, bound);
  float *b = params + layer->bias_offset;
  for (gsize i = 0; i < layer->n_bias; i++)
    b[i] = (float) g_rand_double_range (rng, -bound, bound);
}
