/* lam-layer.c: a layer's spec, planning, initialisation, forward and
 * backward, each handed to its kind's entry in the layer table after what
 * all kinds share: argument ranges, and skipping the backward of a
 * parameterless first layer. Pointers given to forward and backward may be
 * device memory: nothing here reads or writes them directly. */
#include "lam-layer.h"

#include <math.h>
#include <string.h>

#include "lam-layer-class.h"
#include "lam-model.h"

LamLayerSpec
lam_layer_spec_default (LamLayerKind kind)
{
  LamLayerSpec spec = { .kind = kind };
  const LamLayerClass *klass = lam_layer_class (kind);

  for (guint i = 0; klass != NULL && i < klass->n_args; i++)
    lam_layer_arg_set (&klass->args[i], &spec, klass->args[i].value);
  return spec;
}

const char *
lam_layer_kind_to_string (LamLayerKind kind)
{
  g_return_val_if_fail (kind >= 0 && kind < LAM_N_LAYER_KINDS, NULL);
  return lam_layer_class (kind)->name;
}

gboolean
lam_layer_kind_from_string (const char *name, LamLayerKind *kind)
{
  g_return_val_if_fail (name != NULL, FALSE);

  const LamLayerClass *klass = lam_layer_class_lookup (name);
  if (klass == NULL)
    return FALSE;
  if (kind)
    *kind = klass->kind;
  return TRUE;
}

gboolean
lam_layer_kind_has_params (LamLayerKind kind)
{
  const LamLayerClass *klass = lam_layer_class (kind);
  return klass != NULL && lam_layer_class_has_state (klass, LAM_LAYER_STATE_PARAMETER);
}

/* "positive", "zero or positive": what an int argument's minimum asks. */
static char *
int_min_words (const LamLayerArg *arg)
{
  if (arg->min == 1)
    return g_strdup ("positive");
  if (arg->min == 0)
    return g_strdup ("zero or positive");
  return g_strdup_printf ("at least %d", (int) arg->min);
}

/* Planning's check of one argument: specs built in code (the Model page,
 * tests) reach planning without passing a reader. */
static gboolean
check_arg (const LamLayerArg *arg, const LamLayerSpec *spec, const char *where, GError **error)
{
  double v = lam_layer_arg_get (arg, spec);

  switch (arg->type) {
  case LAM_VALUE_INT:
    if (arg->flags & LAM_LAYER_ARG_AUTO) {
      if (v == 0 || (v >= MAX (arg->min, 1) && v <= arg->max))
        return TRUE;
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "%s: %s must be positive (or left out), got %d", where, arg->name, (int) v);
      return FALSE;
    }
    if (v >= arg->min && v <= arg->max)
      return TRUE;
    if (arg->min >= 1 && v > arg->max) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "%s: %s %d is too large (at most %d)", where, arg->name, (int) v,
                   (int) arg->max);
    } else {
      g_autofree char *words = int_min_words (arg);
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "%s: %s must be %s, got %d",
                   where, arg->name, words, (int) v);
    }
    return FALSE;

  case LAM_VALUE_FLOAT:
  case LAM_VALUE_DOUBLE:
    if (isfinite (arg->min) || isfinite (arg->max)) {
      gboolean below = (arg->flags & LAM_LAYER_ARG_BELOW_MAX) ? v < arg->max : v <= arg->max;
      if (v >= arg->min && below)
        return TRUE;
      g_autofree char *words = lam_layer_arg_range_words (arg);
      g_autofree char *got = lam_format_double (v);
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "%s: %s must be %s, got %s",
                   where, arg->name, words, got);
      return FALSE;
    }
    if (isfinite (v))
      return TRUE;
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "%s: %s must be a finite number",
                 where, arg->name);
    return FALSE;

  case LAM_VALUE_BOOL:
  default:
    return TRUE;
  }
}

gboolean
lam_layer_plan (LamLayer *layer, const LamLayerSpec *spec, int index, const LamShape *in_shape,
                const char *prev_name, GError **error)
{
  g_return_val_if_fail (layer != NULL, FALSE);
  g_return_val_if_fail (spec != NULL, FALSE);
  g_return_val_if_fail (in_shape != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (prev_name == NULL)
    prev_name = "the input";

  memset (layer, 0, sizeof *layer);
  layer->spec = *spec;
  layer->index = index;
  layer->in_shape = *in_shape;
  layer->out_shape = *in_shape;

  const LamLayerClass *klass = lam_layer_class (spec->kind);
  if (klass == NULL) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "layer %d: unknown kind %d",
                 index + 1, (int) spec->kind);
    return FALSE;
  }

  g_autofree char *name = g_strdup_printf ("layer %d (%s)", index + 1, klass->name);
  for (guint i = 0; i < klass->n_args; i++) {
    const LamLayerArg *arg = &klass->args[i];
    if (!(arg->flags & LAM_LAYER_ARG_LIMIT_IN_PLAN) && !check_arg (arg, spec, name, error))
      return FALSE;
  }
  return klass->plan (layer, name, prev_name, error);
}

void
lam_layer_init (const LamLayer *layer, float *params, GRand *rng)
{
  g_return_if_fail (layer != NULL);
  g_return_if_fail (rng != NULL);

  const LamLayerClass *klass = lam_layer_class (layer->spec.kind);
  if (klass == NULL || klass->init == NULL || layer->n_weights == 0)
    return;
  g_return_if_fail (params != NULL);

  klass->init (layer, params, rng);
}

void
lam_layer_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y)
{
  g_return_if_fail (layer != NULL && ctx != NULL && ctx->backend != NULL);
  g_return_if_fail (ctx->batch > 0);

  const LamLayerClass *klass = lam_layer_class (layer->spec.kind);
  g_assert (klass != NULL);
  klass->forward (layer, ctx, x, y);
}

void
lam_layer_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                    const float *y, const float *dy, float *dx)
{
  g_return_if_fail (layer != NULL && ctx != NULL && ctx->backend != NULL);
  g_return_if_fail (ctx->batch > 0);

  const LamLayerClass *klass = lam_layer_class (layer->spec.kind);
  g_assert (klass != NULL);
  // Kinds without parameters only have an input gradient to give.
  if (dx == NULL && !lam_layer_class_has_state (klass, LAM_LAYER_STATE_PARAMETER))
    return;
  klass->backward (layer, ctx, x, y, dy, dx);
}
