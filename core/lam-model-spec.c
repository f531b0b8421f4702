/* lam-model-spec.c: model specs as JSON and compact text, presets, and
 * shape inference over a whole stack.
 *
 * Compact text grammar: comma-separated items, whitespace ignored, each
 * `kind[:arg[:arg...]]`:
 *
 *   input=1x28x28            optional, first item only (also 784 or 3x32x32)
 *   linear:OUT               (fc, dense)
 *   conv2d:OUT:K[:sS][:pP]   e.g. conv2d:32:3:p1, conv2d:32:3:s2:p1
 *   maxpool2d:K[:sS][:pP]    avgpool2d likewise; stride defaults to K
 *   dropout[:P]              default 0.5
 *   leaky_relu[:SLOPE]       default 0.01
 *   flatten, relu, sigmoid, tanh, softmax, log_softmax
 *   loss=nll                 optional, last item only
 *
 * A kernel may be written 3 or 3x3 (square only). Optional arguments may
 * be written `s2`/`p1` or `stride=2`/`padding=1`; `in=784` states the
 * input size (checked against the previous layer) and `nobias` drops the
 * bias of linear and conv2d. Aliases of the layer names (fc, dense, conv,
 * maxpool, avgpool, leakyrelu, logsoftmax) are accepted in any case.
 */
#include "lam-model.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "lam-presets-resources.h"

G_DEFINE_QUARK (lam-model-error-quark, lam_model_error)

static const char *const loss_names[] = {
  [LAM_LOSS_CROSS_ENTROPY] = "cross_entropy",
  [LAM_LOSS_NLL] = "nll",
  [LAM_LOSS_MSE] = "mse",
};

const char *
lam_loss_kind_to_string (LamLossKind kind)
{
  g_return_val_if_fail (kind >= 0 && kind < (int) G_N_ELEMENTS (loss_names), NULL);
  return loss_names[kind];
}

gboolean
lam_loss_kind_from_string (const char *name, LamLossKind *kind)
{
  g_return_val_if_fail (name != NULL, FALSE);

  LamLossKind found;
  if (g_ascii_strcasecmp (name, "cross_entropy") == 0 ||
      g_ascii_strcasecmp (name, "crossentropy") == 0 || g_ascii_strcasecmp (name, "ce") == 0)
    found = LAM_LOSS_CROSS_ENTROPY;
  else if (g_ascii_strcasecmp (name, "nll") == 0)
    found = LAM_LOSS_NLL;
  else if (g_ascii_strcasecmp (name, "mse") == 0)
    found = LAM_LOSS_MSE;
  else
    return FALSE;
  if (kind)
    *kind = found;
  return TRUE;
}

/* Spec basics */

LamModelSpec *
lam_model_spec_new (void)
{
  return g_new0 (LamModelSpec, 1);
}

void
lam_model_spec_free (LamModelSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->name);
  g_free (spec->layers);
  g_free (spec);
}

LamModelSpec *
lam_model_spec_copy (const LamModelSpec *spec)
{
  g_return_val_if_fail (spec != NULL, NULL);

  LamModelSpec *copy = g_new0 (LamModelSpec, 1);
  *copy = *spec;
  copy->name = g_strdup (spec->name);
  copy->layers = spec->n_layers > 0 ? g_memdup2 (spec->layers,
                                                 sizeof (LamLayerSpec) * (gsize) spec->n_layers)
                                    : NULL;
  return copy;
}

void
lam_model_spec_append (LamModelSpec *spec, const LamLayerSpec *layer)
{
  g_return_if_fail (spec != NULL);
  g_return_if_fail (layer != NULL);

  spec->layers = g_renew (LamLayerSpec, spec->layers, spec->n_layers + 1);
  spec->layers[spec->n_layers++] = *layer;
}

LamLossKind
lam_model_spec_get_loss (const LamModelSpec *spec)
{
  g_return_val_if_fail (spec != NULL, LAM_LOSS_CROSS_ENTROPY);

  if (spec->has_loss)
    return spec->loss;
  if (spec->n_layers > 0 && spec->layers[spec->n_layers - 1].kind == LAM_LAYER_LOG_SOFTMAX)
    return LAM_LOSS_NLL;
  return LAM_LOSS_CROSS_ENTROPY;
}

/* Plan */

void
lam_model_plan_free (LamModelPlan *plan)
{
  if (plan == NULL)
    return;
  g_free (plan->layers);
  g_free (plan);
}

static gboolean
check_input (const LamShape *input, GError **error)
{
  if (input->rank != 1 && input->rank != 3) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "the input shape must have 1 or 3 dimensions, has %d", input->rank);
    return FALSE;
  }
  guint64 n = 1;
  for (int i = 0; i < input->rank; i++) {
    if (input->dims[i] <= 0) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "the input shape's dimensions must be positive, dimension %d is %d", i + 1,
                   input->dims[i]);
      return FALSE;
    }
    n *= (guint64) input->dims[i];
    if (n > G_MAXINT) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "the input shape has too many elements");
      return FALSE;
    }
  }
  return TRUE;
}

LamModelPlan *
lam_model_plan_new (const LamModelSpec *spec, GError **error)
{
  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!spec->has_input) {
    g_set_error_literal (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                         "the model has no input shape");
    return NULL;
  }
  if (!check_input (&spec->input, error))
    return NULL;
  if (spec->n_layers <= 0) {
    g_set_error_literal (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                         "the model has no layers");
    return NULL;
  }

  g_autoptr (LamModelPlan) plan = g_new0 (LamModelPlan, 1);
  plan->input = spec->input;
  plan->n_layers = spec->n_layers;
  plan->layers = g_new0 (LamLayer, spec->n_layers);
  plan->activation_floats_per_sample = lam_shape_numel (&spec->input);

  LamShape shape = spec->input;
  g_autofree char *prev_name = g_strdup ("the input");
  gsize offset = 0;

  for (int i = 0; i < spec->n_layers; i++) {
    LamLayer *layer = &plan->layers[i];

    if (!lam_layer_plan (layer, &spec->layers[i], i, &shape, prev_name, error))
      return NULL;

    layer->weight_offset = offset;
    offset += layer->n_weights;
    layer->bias_offset = offset;
    offset += layer->n_bias;

    plan->flops += layer->flops;
    plan->saved_bytes_per_sample += layer->saved_bytes_per_sample;
    plan->scratch_floats_per_sample =
      MAX (plan->scratch_floats_per_sample, layer->scratch_floats_per_sample);
    plan->activation_floats_per_sample += lam_shape_numel (&layer->out_shape);

    shape = layer->out_shape;
    g_free (prev_name);
    prev_name = g_strdup_printf ("layer %d (%s)", i + 1,
                                 lam_layer_kind_to_string (spec->layers[i].kind));
  }

  if (shape.rank != 1) {
    g_autofree char *s = lam_shape_to_string (&shape);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "the last layer (layer %d, %s) gives %s; a classifier must end with a flat "
                 "output: add flatten and linear",
                 spec->n_layers, lam_layer_kind_to_string (spec->layers[spec->n_layers - 1].kind),
                 s);
    return NULL;
  }

  plan->n_params = offset;
  plan->output = shape;
  return g_steal_pointer (&plan);
}

/* Fields a layer may have, and which kinds use them. */
enum
{
  F_IN = 1 << 0,
  F_OUT = 1 << 1,
  F_KERNEL = 1 << 2,
  F_STRIDE = 1 << 3,
  F_PADDING = 1 << 4,
  F_BIAS = 1 << 5,
  F_P = 1 << 6,
  F_SLOPE = 1 << 7,
};

static const struct
{
  const char *name;
  guint flag;
} layer_fields[] = {
  { "in", F_IN },         { "out", F_OUT },   { "kernel", F_KERNEL }, { "stride", F_STRIDE },
  { "padding", F_PADDING }, { "bias", F_BIAS }, { "p", F_P },           { "slope", F_SLOPE },
};

/* Sizes past this are typing mistakes, and keeping them small keeps every
 * product of sizes inside 64 bits. */
#define MAX_SIZE (1 << 24)

static guint
kind_fields (LamLayerKind kind)
{
  switch (kind) {
  case LAM_LAYER_LINEAR:
    return F_IN | F_OUT | F_BIAS;
  case LAM_LAYER_CONV2D:
    return F_IN | F_OUT | F_KERNEL | F_STRIDE | F_PADDING | F_BIAS;
  case LAM_LAYER_MAXPOOL2D:
  case LAM_LAYER_AVGPOOL2D:
    return F_KERNEL | F_STRIDE | F_PADDING;
  case LAM_LAYER_DROPOUT:
    return F_P;
  case LAM_LAYER_LEAKY_RELU:
    return F_SLOPE;
  default:
    return 0;
  }
}

static guint
required_fields (LamLayerKind kind)
{
  switch (kind) {
  case LAM_LAYER_LINEAR:
    return F_OUT;
  case LAM_LAYER_CONV2D:
    return F_OUT | F_KERNEL;
  case LAM_LAYER_MAXPOOL2D:
  case LAM_LAYER_AVGPOOL2D:
    return F_KERNEL;
  default:
    return 0;
  }
}

static char *
known_kinds (void)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < LAM_N_LAYER_KINDS; i++)
    g_string_append_printf (s, i ? ", %s" : "%s", lam_layer_kind_to_string ((LamLayerKind) i));
  return g_string_free (s, FALSE);
}

/* Smallest field value accepted: `in` 0 means "from the previous layer". */
static int
field_min (guint flag)
{
  return (flag == F_IN || flag == F_PADDING) ? 0 : 1;
}

static const char *
field_min_words (guint flag)
{
  return field_min (flag) == 0 ? "a non-negative integer" : "a positive integer";
}

static int *
field_int_slot (LamLayerSpec *spec, guint flag)
{
  switch (flag) {
  case F_IN:
    return &spec->in;
  case F_OUT:
    return &spec->out;
  case F_KERNEL:
    return &spec->kernel;
  case F_STRIDE:
    return &spec->stride;
  case F_PADDING:
    return &spec->padding;
  default:
    return NULL;
  }
}

static gboolean
check_float_field (guint flag, double value, const char *where, GError **error)
{
  if (!isfinite (value)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "%s: %s must be a finite number",
                 where, flag == F_P ? "p" : "slope");
    return FALSE;
  }
  if (flag == F_P && !(value >= 0.0 && value < 1.0)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: p must be at least 0 and below 1, got %g", where, value);
    return FALSE;
  }
  /* Layers keep their arguments as 32-bit floats. */
  if (fabs (value) > FLT_MAX) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: %s %g is beyond what a 32-bit float holds (at most %g)", where,
                 flag == F_P ? "p" : "slope", value, (double) FLT_MAX);
    return FALSE;
  }
  /* The mask keeps a value when a uniform draw in 32-bit float, at most
   * 1 - 2^-24, is at least p: above that nothing would ever be kept. */
  if (flag == F_P && value > (double) nextafterf (1.0f, 0.0f)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: p %.17g would drop every value; the largest p is %.8g", where, value,
                 (double) nextafterf (1.0f, 0.0f));
    return FALSE;
  }
  return TRUE;
}

/* JSON */

const char *
lam_json_node_describe (JsonNode *node)
{
  if (node == NULL)
    return "nothing";
  switch (JSON_NODE_TYPE (node)) {
  case JSON_NODE_OBJECT:
    return "an object";
  case JSON_NODE_ARRAY:
    return "an array";
  case JSON_NODE_NULL:
    return "null";
  case JSON_NODE_VALUE:
  default:
    break;
  }
  GType type = json_node_get_value_type (node);
  if (type == G_TYPE_STRING)
    return "a string";
  if (type == G_TYPE_BOOLEAN)
    return "a boolean";
  return "a number";
}

static gboolean
find_bad_text (JsonNode *node, GString *path)
{
  if (node == NULL)
    return FALSE;
  switch (JSON_NODE_TYPE (node)) {
  case JSON_NODE_OBJECT: {
    JsonObject *obj = json_node_get_object (node);
    g_autoptr (GList) members = json_object_get_members (obj);
    for (GList *l = members; l != NULL; l = l->next) {
      const char *name = l->data;
      gsize len = path->len;
      if (len > 0)
        g_string_append_c (path, '.');
      if (!g_utf8_validate (name, -1, NULL)) {
        g_string_append (path, "(a member name)");
        return TRUE;
      }
      g_string_append (path, name);
      if (find_bad_text (json_object_get_member (obj, name), path))
        return TRUE;
      g_string_truncate (path, len);
    }
    return FALSE;
  }
  case JSON_NODE_ARRAY: {
    JsonArray *array = json_node_get_array (node);
    for (guint i = 0; i < json_array_get_length (array); i++) {
      gsize len = path->len;
      g_string_append_printf (path, "[%u]", i);
      if (find_bad_text (json_array_get_element (array, i), path))
        return TRUE;
      g_string_truncate (path, len);
    }
    return FALSE;
  }
  case JSON_NODE_VALUE:
    if (json_node_get_value_type (node) == G_TYPE_STRING) {
      const char *text = json_node_get_string (node);
      return text != NULL && !g_utf8_validate (text, -1, NULL);
    }
    return FALSE;
  case JSON_NODE_NULL:
  default:
    return FALSE;
  }
}

char *
lam_json_find_bad_text (JsonNode *node)
{
  g_autoptr (GString) path = g_string_new (NULL);
  if (!find_bad_text (node, path))
    return NULL;
  if (path->len == 0)
    g_string_append (path, "(the top level)");
  return g_strdup (path->str);
}

static gboolean
json_is_number (JsonNode *node)
{
  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  GType type = json_node_get_value_type (node);
  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

/* Reads an integer in [min, MAX_SIZE]; `what` is e.g. "out". */
static gboolean
json_get_size (JsonNode *node, const char *where, const char *what, int min,
               const char *min_words, int *value, GError **error)
{
  if (!json_is_number (node)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "%s: %s must be %s, got %s",
                 where, what, min_words, lam_json_node_describe (node));
    return FALSE;
  }
  double d = json_node_get_double (node);
  gint64 v;
  if (json_node_get_value_type (node) == G_TYPE_INT64) {
    v = json_node_get_int (node);
  } else if (isfinite (d) && d == floor (d) && fabs (d) < 1e15) {
    v = (gint64) d;
  } else {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "%s: %s must be %s, got %g",
                 where, what, min_words, d);
    return FALSE;
  }
  if (v < min) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: %s must be %s, got %" G_GINT64_FORMAT, where, what, min_words, v);
    return FALSE;
  }
  if (v > MAX_SIZE) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: %s %" G_GINT64_FORMAT " is too large (at most %d)", where, what, v, MAX_SIZE);
    return FALSE;
  }
  *value = (int) v;
  return TRUE;
}

static gboolean
parse_json_layer (JsonNode *node, int index, LamLayerSpec *out, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "layer %d: must be an object such as {\"type\": \"relu\"}, got %s", index + 1,
                 lam_json_node_describe (node));
    return FALSE;
  }
  JsonObject *obj = json_node_get_object (node);
  JsonNode *type_node = json_object_get_member (obj, "type");
  if (type_node == NULL) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "layer %d: missing field \"type\"", index + 1);
    return FALSE;
  }
  if (!JSON_NODE_HOLDS_VALUE (type_node) || json_node_get_value_type (type_node) != G_TYPE_STRING) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "layer %d: type must be a string, got %s", index + 1, lam_json_node_describe (type_node));
    return FALSE;
  }
  const char *type = json_node_get_string (type_node);
  LamLayerKind kind;
  if (!lam_layer_kind_from_string (type, &kind)) {
    g_autofree char *known = known_kinds ();
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "layer %d: unknown type \"%s\" (known: %s)", index + 1, type, known);
    return FALSE;
  }

  const char *kind_name = lam_layer_kind_to_string (kind);
  g_autofree char *where = g_strdup_printf ("layer %d (%s)", index + 1, kind_name);
  LamLayerSpec spec = lam_layer_spec_default (kind);
  guint allowed = kind_fields (kind);
  guint seen = 0;

  g_autoptr (GList) members = json_object_get_members (obj);
  for (GList *l = members; l != NULL; l = l->next) {
    const char *field = l->data;
    JsonNode *value = json_object_get_member (obj, field);
    guint flag = 0;

    if (g_str_equal (field, "type"))
      continue;
    for (gsize i = 0; i < G_N_ELEMENTS (layer_fields); i++)
      if (g_str_equal (field, layer_fields[i].name))
        flag = layer_fields[i].flag;
    if (flag == 0) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "%s: unknown field \"%s\"",
                   where, field);
      return FALSE;
    }
    if (!(allowed & flag)) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "%s: field \"%s\" does not apply to %s", where, field, kind_name);
      return FALSE;
    }
    seen |= flag;

    if (flag == F_BIAS) {
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_BOOLEAN) {
        g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                     "%s: bias must be true or false, got %s", where, lam_json_node_describe (value));
        return FALSE;
      }
      spec.bias = json_node_get_boolean (value);
    } else if (flag == F_P || flag == F_SLOPE) {
      if (!json_is_number (value)) {
        g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                     "%s: %s must be a number, got %s", where, field, lam_json_node_describe (value));
        return FALSE;
      }
      double d = json_node_get_double (value);
      if (!check_float_field (flag, d, where, error))
        return FALSE;
      if (flag == F_P)
        spec.p = d;
      else
        spec.slope = (float) d;
    } else {
      if (!json_get_size (value, where, field, field_min (flag), field_min_words (flag),
                          field_int_slot (&spec, flag), error))
        return FALSE;
    }
  }

  guint missing = required_fields (kind) & ~seen;
  for (gsize i = 0; i < G_N_ELEMENTS (layer_fields); i++) {
    if (missing & layer_fields[i].flag) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "%s: missing field \"%s\"",
                   where, layer_fields[i].name);
      return FALSE;
    }
  }

  *out = spec;
  return TRUE;
}

static gboolean
parse_json_input (JsonNode *node, LamShape *shape, GError **error)
{
  if (!JSON_NODE_HOLDS_ARRAY (node)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "input must be an array of 1 or 3 positive integers such as [1, 28, 28], got %s",
                 lam_json_node_describe (node));
    return FALSE;
  }
  JsonArray *array = json_node_get_array (node);
  guint n = json_array_get_length (array);
  if (n != 1 && n != 3) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "input must have 1 or 3 dimensions (features, or channels, height, width), "
                 "has %u",
                 n);
    return FALSE;
  }
  LamShape s = { .rank = (int) n };
  for (guint i = 0; i < n; i++) {
    g_autofree char *what = g_strdup_printf ("dimension %u", i + 1);
    if (!json_get_size (json_array_get_element (array, i), "input", what, 1, "a positive integer",
                        &s.dims[i], error))
      return FALSE;
  }
  if (lam_shape_numel (&s) > G_MAXINT) {
    g_set_error_literal (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                         "input: the shape has too many elements");
    return FALSE;
  }
  *shape = s;
  return TRUE;
}

static LamModelSpec *
spec_from_json_object (JsonObject *obj, GError **error)
{
  g_autoptr (LamModelSpec) spec = lam_model_spec_new ();
  gboolean has_layers = FALSE;

  g_autoptr (GList) members = json_object_get_members (obj);
  for (GList *l = members; l != NULL; l = l->next) {
    const char *field = l->data;
    JsonNode *value = json_object_get_member (obj, field);

    if (g_str_equal (field, "name")) {
      if (JSON_NODE_HOLDS_NULL (value))
        continue;
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING) {
        g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                     "name must be a string, got %s", lam_json_node_describe (value));
        return NULL;
      }
      g_free (spec->name);
      spec->name = g_strdup (json_node_get_string (value));
    } else if (g_str_equal (field, "input")) {
      if (JSON_NODE_HOLDS_NULL (value))
        continue;
      if (!parse_json_input (value, &spec->input, error))
        return NULL;
      spec->has_input = TRUE;
    } else if (g_str_equal (field, "loss")) {
      if (JSON_NODE_HOLDS_NULL (value))
        continue;
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING) {
        g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                     "loss must be a string, got %s", lam_json_node_describe (value));
        return NULL;
      }
      const char *name = json_node_get_string (value);
      if (!lam_loss_kind_from_string (name, &spec->loss)) {
        g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                     "unknown loss \"%s\" (known: cross_entropy, nll, mse)", name);
        return NULL;
      }
      spec->has_loss = TRUE;
    } else if (g_str_equal (field, "layers")) {
      if (!JSON_NODE_HOLDS_ARRAY (value)) {
        g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                     "layers must be an array of layer objects, got %s", lam_json_node_describe (value));
        return NULL;
      }
      JsonArray *array = json_node_get_array (value);
      guint n = json_array_get_length (array);
      g_free (spec->layers);
      spec->layers = NULL;
      spec->n_layers = 0;
      for (guint i = 0; i < n; i++) {
        LamLayerSpec layer;
        if (!parse_json_layer (json_array_get_element (array, i), (int) i, &layer, error))
          return NULL;
        lam_model_spec_append (spec, &layer);
      }
      has_layers = TRUE;
    } else {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "unknown field \"%s\" (known: name, input, loss, layers)", field);
      return NULL;
    }
  }

  if (!has_layers) {
    g_set_error_literal (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                         "missing field \"layers\"");
    return NULL;
  }
  return g_steal_pointer (&spec);
}

LamModelSpec *
lam_model_spec_from_json (const char *json, gssize length, GError **error)
{
  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local_error = NULL;
  if (!json_parser_load_from_data (parser, json, length, &local_error)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE, "not valid JSON: %s",
                 local_error->message);
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL) {
    g_set_error_literal (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE,
                         "not valid JSON: the text is empty");
    return NULL;
  }
  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE,
                 "a model must be a JSON object with \"layers\", got %s", lam_json_node_describe (root));
    return NULL;
  }
  g_autofree char *bad_text = lam_json_find_bad_text (root);
  if (bad_text != NULL) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE,
                 "\"%s\" is not valid UTF-8 text", bad_text);
    return NULL;
  }

  JsonObject *obj = json_node_get_object (root);
  /* A checkpoint's .json keeps the spec under "model": accept it here so
   * the file can be named wherever a spec is expected. */
  if (json_object_has_member (obj, "lamina_checkpoint")) {
    JsonNode *model = json_object_get_member (obj, "model");
    if (model == NULL || !JSON_NODE_HOLDS_OBJECT (model)) {
      g_set_error_literal (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                           "a checkpoint description without a \"model\" object");
      return NULL;
    }
    obj = json_node_get_object (model);
  }
  return spec_from_json_object (obj, error);
}

/* Formats a float with the fewest digits that read back as the same float. */
void
lam_json_append_float (GString *s, float value)
{
  if (!isfinite (value)) {
    g_string_append (s, "null");
    return;
  }
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (int digits = 1; digits <= 9; digits++) {
    char format[8];
    g_snprintf (format, sizeof format, "%%.%dg", digits);
    g_ascii_formatd (buf, sizeof buf, format, (double) value);
    if ((float) g_ascii_strtod (buf, NULL) == value)
      break;
  }
  g_string_append (s, buf);
}

void
lam_json_append_double (GString *s, double value)
{
  if (!isfinite (value)) {
    g_string_append (s, "null");
    return;
  }
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (int digits = 1; digits <= 17; digits++) {
    char format[8];
    g_snprintf (format, sizeof format, "%%.%dg", digits);
    g_ascii_formatd (buf, sizeof buf, format, value);
    if (g_ascii_strtod (buf, NULL) == value)
      break;
  }
  g_string_append (s, buf);
}

void
lam_json_append_string (GString *s, const char *value)
{
  g_autofree char *valid = g_utf8_make_valid (value, -1);
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_VALUE);
  json_node_set_string (node, valid);
  g_autofree char *text = json_to_string (node, FALSE);
  g_string_append (s, text);
}

static void
append_json_layer (GString *s, const LamLayerSpec *layer)
{
  LamLayerSpec def = lam_layer_spec_default (layer->kind);
  guint fields = kind_fields (layer->kind);

  g_string_append_printf (s, "{\"type\": \"%s\"", lam_layer_kind_to_string (layer->kind));
  if ((fields & F_IN) && layer->in != 0)
    g_string_append_printf (s, ", \"in\": %d", layer->in);
  if (fields & F_OUT)
    g_string_append_printf (s, ", \"out\": %d", layer->out);
  if (fields & F_KERNEL)
    g_string_append_printf (s, ", \"kernel\": %d", layer->kernel);
  if ((fields & F_STRIDE) && layer->stride != def.stride &&
      !(layer->kind != LAM_LAYER_CONV2D && layer->stride == layer->kernel))
    g_string_append_printf (s, ", \"stride\": %d", layer->stride);
  if ((fields & F_PADDING) && layer->padding != 0)
    g_string_append_printf (s, ", \"padding\": %d", layer->padding);
  if ((fields & F_BIAS) && !layer->bias)
    g_string_append (s, ", \"bias\": false");
  if ((fields & F_P) && layer->p != def.p) {
    g_string_append (s, ", \"p\": ");
    lam_json_append_double (s, layer->p);
  }
  if ((fields & F_SLOPE) && layer->slope != def.slope) {
    g_string_append (s, ", \"slope\": ");
    lam_json_append_float (s, layer->slope);
  }
  g_string_append_c (s, '}');
}

char *
lam_model_spec_to_json (const LamModelSpec *spec)
{
  g_return_val_if_fail (spec != NULL, NULL);

  GString *s = g_string_new ("{\n");
  if (spec->name != NULL) {
    g_string_append (s, "  \"name\": ");
    lam_json_append_string (s, spec->name);
    g_string_append (s, ",\n");
  }
  if (spec->has_input) {
    g_string_append (s, "  \"input\": [");
    for (int i = 0; i < spec->input.rank; i++)
      g_string_append_printf (s, i ? ", %d" : "%d", spec->input.dims[i]);
    g_string_append (s, "],\n");
  }
  if (spec->has_loss)
    g_string_append_printf (s, "  \"loss\": \"%s\",\n", lam_loss_kind_to_string (spec->loss));
  g_string_append (s, "  \"layers\": [");
  for (int i = 0; i < spec->n_layers; i++) {
    g_string_append (s, i ? ",\n    " : "\n    ");
    append_json_layer (s, &spec->layers[i]);
  }
  g_string_append (s, spec->n_layers ? "\n  ]\n}\n" : "]\n}\n");
  return g_string_free (s, FALSE);
}

/* Compact text */

static char *
text_without_spaces (const char *text)
{
  GString *s = g_string_new (NULL);
  for (const char *p = text; *p; p++)
    if (!g_ascii_isspace (*p))
      g_string_append_c (s, *p);
  return g_string_free (s, FALSE);
}

/* Parses all of `text` as an integer in [min, MAX_SIZE]. */
static gboolean
text_int (const char *text, int min, int *value)
{
  if (text == NULL || *text == '\0' || !(g_ascii_isdigit (*text) || *text == '-' || *text == '+'))
    return FALSE;
  char *end = NULL;
  errno = 0;
  gint64 v = g_ascii_strtoll (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > MAX_SIZE)
    return FALSE;
  *value = (int) v;
  return TRUE;
}

static gboolean
text_float (const char *text, double *value)
{
  if (text == NULL || *text == '\0')
    return FALSE;
  char *end = NULL;
  errno = 0;
  double v = g_ascii_strtod (text, &end);
  if (errno != 0 || end == text || *end != '\0' || !isfinite (v))
    return FALSE;
  *value = v;
  return TRUE;
}

/* "1x28x28", "1×28×28" or "784". */
static gboolean
text_shape (const char *text, LamShape *shape)
{
  g_autofree char *plain = NULL;
  GString *s = g_string_new (NULL);
  for (const char *p = text; *p; p++) {
    if (g_str_has_prefix (p, "×")) {
      g_string_append_c (s, 'x');
      p += strlen ("×") - 1;
    } else {
      g_string_append_c (s, g_ascii_tolower (*p));
    }
  }
  plain = g_string_free (s, FALSE);

  g_auto (GStrv) parts = g_strsplit (plain, "x", -1);
  guint n = g_strv_length (parts);
  if (n != 1 && n != 3)
    return FALSE;
  LamShape out = { .rank = (int) n };
  for (guint i = 0; i < n; i++)
    if (!text_int (parts[i], 1, &out.dims[i]))
      return FALSE;
  if (lam_shape_numel (&out) > G_MAXINT)
    return FALSE;
  *shape = out;
  return TRUE;
}

static const char *
text_usage (LamLayerKind kind)
{
  switch (kind) {
  case LAM_LAYER_LINEAR:
    return "linear:10";
  case LAM_LAYER_CONV2D:
    return "conv2d:32:3 or conv2d:32:3:s1:p1";
  case LAM_LAYER_MAXPOOL2D:
    return "maxpool2d:2";
  case LAM_LAYER_AVGPOOL2D:
    return "avgpool2d:2";
  case LAM_LAYER_DROPOUT:
    return "dropout:0.25";
  case LAM_LAYER_LEAKY_RELU:
    return "leaky_relu:0.1";
  default:
    return lam_layer_kind_to_string (kind);
  }
}

/* One optional argument written `s2`, `p1`, `stride=2`, `padding=1`,
 * `in=784` or `nobias`. */
static gboolean
text_option (const char *arg, LamLayerSpec *spec, const char *where, GError **error)
{
  guint allowed = kind_fields (spec->kind);
  const char *kind_name = lam_layer_kind_to_string (spec->kind);

  if (g_str_equal (arg, "nobias") || g_str_equal (arg, "bias=false") ||
      g_str_equal (arg, "bias=true")) {
    if (!(allowed & F_BIAS)) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "%s: %s has no bias", where,
                   kind_name);
      return FALSE;
    }
    spec->bias = g_str_equal (arg, "bias=true");
    return TRUE;
  }

  guint flag = 0;
  const char *value = NULL;
  const char *eq = strchr (arg, '=');
  if (eq != NULL) {
    g_autofree char *key = g_strndup (arg, (gsize) (eq - arg));
    for (gsize i = 0; i < G_N_ELEMENTS (layer_fields); i++)
      if (g_str_equal (key, layer_fields[i].name))
        flag = layer_fields[i].flag;
    value = eq + 1;
  } else if (arg[0] == 's' && (g_ascii_isdigit (arg[1]) || arg[1] == '-')) {
    flag = F_STRIDE;
    value = arg + 1;
  } else if (arg[0] == 'p' && (g_ascii_isdigit (arg[1]) || arg[1] == '-')) {
    flag = F_PADDING;
    value = arg + 1;
  }
  if (flag == 0 || (flag & (F_OUT | F_KERNEL | F_P | F_SLOPE | F_BIAS))) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE,
                 "%s: unknown argument \"%s\" (e.g. %s)", where, arg, text_usage (spec->kind));
    return FALSE;
  }
  const char *field = flag == F_STRIDE ? "stride" : flag == F_PADDING ? "padding" : "in";
  if (!(allowed & flag)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: %s does not apply to %s", where, field, kind_name);
    return FALSE;
  }
  if (!text_int (value, field_min (flag), field_int_slot (spec, flag))) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: %s must be %s, got \"%s\"", where, field, field_min_words (flag), value);
    return FALSE;
  }
  return TRUE;
}

/* A kernel size written "3" or "3x3" (square only). */
static gboolean
text_kernel (const char *text, int *kernel)
{
  g_auto (GStrv) parts = g_strsplit (text, "x", -1);
  guint n = g_strv_length (parts);
  if (n != 1 && n != 2)
    return FALSE;
  int k;
  if (!text_int (parts[0], 1, &k))
    return FALSE;
  if (n == 2) {
    int k2;
    if (!text_int (parts[1], 1, &k2) || k2 != k)
      return FALSE;
  }
  *kernel = k;
  return TRUE;
}

static gboolean
parse_text_layer (const char *item, const char *where, LamLayerSpec *out, GError **error)
{
  g_auto (GStrv) args = g_strsplit (item, ":", -1);
  guint n_args = g_strv_length (args);
  LamLayerKind kind;

  if (!lam_layer_kind_from_string (args[0], &kind)) {
    g_autofree char *known = known_kinds ();
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: unknown layer \"%s\" (known: %s)", where, args[0], known);
    return FALSE;
  }

  LamLayerSpec spec = lam_layer_spec_default (kind);
  const char *kind_name = lam_layer_kind_to_string (kind);
  guint first_option = 1;

  for (guint i = 1; i < n_args; i++) {
    if (args[i][0] == '\0') {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE, "%s: empty argument (e.g. %s)",
                   where, text_usage (kind));
      return FALSE;
    }
  }

  switch (kind) {
  case LAM_LAYER_LINEAR:
  case LAM_LAYER_CONV2D:
    if (n_args < 2) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "%s: %s needs its output size (e.g. %s)", where, kind_name, text_usage (kind));
      return FALSE;
    }
    if (!text_int (args[1], 1, &spec.out)) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "%s: out must be a positive integer, got \"%s\"", where, args[1]);
      return FALSE;
    }
    first_option = 2;
    if (kind == LAM_LAYER_CONV2D) {
      if (n_args < 3) {
        g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                     "%s: conv2d needs its kernel size (e.g. %s)", where, text_usage (kind));
        return FALSE;
      }
      if (!text_kernel (args[2], &spec.kernel)) {
        g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                     "%s: kernel must be a positive integer, got \"%s\"", where, args[2]);
        return FALSE;
      }
      first_option = 3;
    }
    break;

  case LAM_LAYER_MAXPOOL2D:
  case LAM_LAYER_AVGPOOL2D:
    if (n_args < 2) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "%s: %s needs its kernel size (e.g. %s)", where, kind_name, text_usage (kind));
      return FALSE;
    }
    if (!text_kernel (args[1], &spec.kernel)) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "%s: kernel must be a positive integer, got \"%s\"", where, args[1]);
      return FALSE;
    }
    first_option = 2;
    break;

  case LAM_LAYER_DROPOUT:
  case LAM_LAYER_LEAKY_RELU:
    if (n_args > 2) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE,
                   "%s: %s takes one argument (e.g. %s)", where, kind_name, text_usage (kind));
      return FALSE;
    }
    if (n_args == 2) {
      const char *field = kind == LAM_LAYER_DROPOUT ? "p" : "slope";
      const char *arg = args[1];
      if (g_str_has_prefix (arg, field) && arg[strlen (field)] == '=')
        arg += strlen (field) + 1;
      double v;
      if (!text_float (arg, &v)) {
        g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                     "%s: %s must be a number, got \"%s\"", where, field, arg);
        return FALSE;
      }
      guint flag = kind == LAM_LAYER_DROPOUT ? F_P : F_SLOPE;
      if (!check_float_field (flag, v, where, error))
        return FALSE;
      if (kind == LAM_LAYER_DROPOUT)
        spec.p = v;
      else
        spec.slope = (float) v;
    }
    first_option = n_args;
    break;

  default:
    if (n_args > 1) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE, "%s: %s takes no arguments",
                   where, kind_name);
      return FALSE;
    }
    break;
  }

  for (guint i = first_option; i < n_args; i++)
    if (!text_option (args[i], &spec, where, error))
      return FALSE;

  *out = spec;
  return TRUE;
}

LamModelSpec *
lam_model_spec_from_text (const char *text, GError **error)
{
  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autofree char *plain = text_without_spaces (text);
  if (*plain == '\0') {
    g_set_error_literal (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                         "the model has no layers");
    return NULL;
  }

  g_autoptr (LamModelSpec) spec = lam_model_spec_new ();
  g_auto (GStrv) items = g_strsplit (plain, ",", -1);
  guint n_items = g_strv_length (items);

  for (guint i = 0; i < n_items; i++) {
    const char *item = items[i];
    g_autofree char *where = g_strdup_printf ("item %u \"%s\"", i + 1, item);

    if (*item == '\0') {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE,
                   "item %u is empty (items are separated by commas)", i + 1);
      return NULL;
    }
    if (g_str_has_prefix (item, "input=")) {
      if (i != 0) {
        g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE,
                     "%s: the input shape must be the first item", where);
        return NULL;
      }
      if (!text_shape (item + strlen ("input="), &spec->input)) {
        g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                     "%s: input must be C×H×W or a feature count, e.g. input=1x28x28", where);
        return NULL;
      }
      spec->has_input = TRUE;
      continue;
    }
    if (g_str_has_prefix (item, "loss=")) {
      if (i != n_items - 1) {
        g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE,
                     "%s: the loss must be the last item", where);
        return NULL;
      }
      if (!lam_loss_kind_from_string (item + strlen ("loss="), &spec->loss)) {
        g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                     "%s: unknown loss \"%s\" (known: cross_entropy, nll, mse)", where,
                     item + strlen ("loss="));
        return NULL;
      }
      spec->has_loss = TRUE;
      continue;
    }

    LamLayerSpec layer;
    if (!parse_text_layer (item, where, &layer, error))
      return NULL;
    lam_model_spec_append (spec, &layer);
  }

  if (spec->n_layers == 0) {
    g_set_error_literal (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                         "the model has no layers");
    return NULL;
  }
  return g_steal_pointer (&spec);
}

char *
lam_model_spec_to_text (const LamModelSpec *spec)
{
  g_return_val_if_fail (spec != NULL, NULL);

  GString *s = g_string_new (NULL);
  if (spec->has_input) {
    g_string_append (s, "input=");
    for (int i = 0; i < spec->input.rank; i++)
      g_string_append_printf (s, i ? "x%d" : "%d", spec->input.dims[i]);
  }
  for (int i = 0; i < spec->n_layers; i++) {
    const LamLayerSpec *layer = &spec->layers[i];
    LamLayerSpec def = lam_layer_spec_default (layer->kind);

    if (s->len > 0)
      g_string_append_c (s, ',');
    g_string_append (s, lam_layer_kind_to_string (layer->kind));
    switch (layer->kind) {
    case LAM_LAYER_LINEAR:
    case LAM_LAYER_CONV2D:
      g_string_append_printf (s, ":%d", layer->out);
      if (layer->kind == LAM_LAYER_CONV2D) {
        g_string_append_printf (s, ":%d", layer->kernel);
        if (layer->stride != 1)
          g_string_append_printf (s, ":s%d", layer->stride);
        if (layer->padding != 0)
          g_string_append_printf (s, ":p%d", layer->padding);
      }
      if (layer->in != 0)
        g_string_append_printf (s, ":in=%d", layer->in);
      if (!layer->bias)
        g_string_append (s, ":nobias");
      break;
    case LAM_LAYER_MAXPOOL2D:
    case LAM_LAYER_AVGPOOL2D:
      g_string_append_printf (s, ":%d", layer->kernel);
      if (layer->stride != 0 && layer->stride != layer->kernel)
        g_string_append_printf (s, ":s%d", layer->stride);
      if (layer->padding != 0)
        g_string_append_printf (s, ":p%d", layer->padding);
      break;
    case LAM_LAYER_DROPOUT:
      if (layer->p != def.p) {
        g_string_append_c (s, ':');
        lam_json_append_double (s, layer->p);
      }
      break;
    case LAM_LAYER_LEAKY_RELU:
      if (layer->slope != def.slope) {
        g_string_append_c (s, ':');
        lam_json_append_float (s, layer->slope);
      }
      break;
    default:
      break;
    }
  }
  if (spec->has_loss)
    g_string_append_printf (s, "%sloss=%s", s->len > 0 ? "," : "",
                            lam_loss_kind_to_string (spec->loss));
  return g_string_free (s, FALSE);
}

/* Presets and files */

static const char *const preset_names[] = {
  "logistic-regression", "mlp-32", "mlp", "small-cnn", "cifar10-cnn",
};

char **
lam_model_spec_list_presets (void)
{
  char **names = g_new0 (char *, G_N_ELEMENTS (preset_names) + 1);
  for (gsize i = 0; i < G_N_ELEMENTS (preset_names); i++)
    names[i] = g_strdup (preset_names[i]);
  return names;
}

static gboolean
is_preset (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (preset_names); i++)
    if (g_str_equal (name, preset_names[i]))
      return TRUE;
  return FALSE;
}

LamModelSpec *
lam_model_spec_preset (const char *name, GError **error)
{
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!is_preset (name)) {
    g_auto (GStrv) names = lam_model_spec_list_presets ();
    g_autofree char *known = g_strjoinv (", ", names);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_NOT_FOUND,
                 "no preset called \"%s\" (presets: %s)", name, known);
    return NULL;
  }

  /* The generated code registers the resource globally already; asking
   * it directly also keeps the linker from dropping it from the static
   * library. */
  g_autofree char *path = g_strdup_printf ("/org/lamina/presets/%s.json", name);
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) bytes = g_resource_lookup_data (lam_presets_get_resource (), path,
                                                     G_RESOURCE_LOOKUP_FLAGS_NONE, &local_error);
  if (bytes == NULL) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_NOT_FOUND,
                 "preset \"%s\" is missing from the build: %s", name, local_error->message);
    return NULL;
  }

  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);
  LamModelSpec *spec = lam_model_spec_from_json (data, (gssize) size, error);
  if (spec == NULL)
    g_prefix_error (error, "preset \"%s\": ", name);
  return spec;
}

LamModelSpec *
lam_model_spec_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr (GError) local_error = NULL;
  if (!g_file_get_contents (path, &contents, &length, &local_error)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_NOT_FOUND, "cannot read %s: %s", path,
                 local_error->message);
    return NULL;
  }
  LamModelSpec *spec = lam_model_spec_from_json (contents, (gssize) length, error);
  if (spec == NULL)
    g_prefix_error (error, "%s: ", path);
  return spec;
}

LamModelSpec *
lam_model_spec_from_string (const char *spec_or_path, GError **error)
{
  g_return_val_if_fail (spec_or_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autofree char *trimmed = g_strstrip (g_strdup (spec_or_path));
  const char *s = trimmed;

  if (is_preset (s))
    return lam_model_spec_preset (s, error);
  if (*s == '{')
    return lam_model_spec_from_json (s, -1, error);
  if (g_file_test (spec_or_path, G_FILE_TEST_IS_REGULAR))
    return lam_model_spec_load (spec_or_path, error);

  /* The text grammar has no '/' and no ".json": such a string is a file
   * that is not there. A single word that is no layer is taken for a
   * mistyped preset. */
  gboolean single_word = strpbrk (s, ",:=") == NULL && !lam_layer_kind_from_string (s, NULL);
  if (strchr (s, '/') != NULL || g_str_has_suffix (s, ".json") || single_word) {
    g_auto (GStrv) names = lam_model_spec_list_presets ();
    g_autofree char *known = g_strjoinv (", ", names);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_NOT_FOUND,
                 "no preset or file called \"%s\" (presets: %s)", spec_or_path, known);
    return NULL;
  }
  return lam_model_spec_from_text (s, error);
}
