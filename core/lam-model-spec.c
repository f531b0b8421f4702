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

#include "lam-layer-class.h"
#include "lam-presets-resources.h"

G_DEFINE_QUARK (lam-model-error-quark, lam_model_error)

static const char *const loss_names[] = {
  [LAM_LOSS_CROSS_ENTROPY] = "cross_entropy",
  [LAM_LOSS_NLL] = "nll",
  [LAM_LOSS_MSE] = "mse",
  [LAM_LOSS_L1] = "l1",
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
  else if (g_ascii_strcasecmp (name, "l1") == 0 || g_ascii_strcasecmp (name, "mae") == 0)
    found = LAM_LOSS_L1;
  else
    return FALSE;
  if (kind)
    *kind = found;
  return TRUE;
}

gboolean
lam_loss_kind_is_regression (LamLossKind kind)
{
  return kind == LAM_LOSS_MSE || kind == LAM_LOSS_L1;
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

    /* Checked: a few pools with windows far larger than their input
     * count some 2^62 each. */
    if (!g_uint64_checked_add (&plan->flops, plan->flops, layer->flops)) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                   "layer %d (%s) brings the model past %" G_GUINT64_FORMAT " FLOPs per image: "
                   "make its windows or sizes smaller",
                   i + 1, lam_layer_kind_to_string (spec->layers[i].kind), G_MAXUINT64);
      return NULL;
    }
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

  /* Buffers after every parameter: the optimizer updates a prefix. */
  plan->n_trainable = offset;
  for (int i = 0; i < plan->n_layers; i++) {
    plan->layers[i].buffer_offset = offset;
    offset += plan->layers[i].n_buffers;
  }
  plan->n_params = offset;
  plan->output = shape;
  return g_steal_pointer (&plan);
}

/* Arguments, as the layer table describes them */

#define MAX_SIZE LAM_LAYER_MAX_SIZE

static char *
known_kinds (void)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < LAM_N_LAYER_KINDS; i++)
    g_string_append_printf (s, i ? ", %s" : "%s", lam_layer_kind_to_string ((LamLayerKind) i));
  return g_string_free (s, FALSE);
}

/* Some kind's argument called `name`: a name no kind has is unknown, one
 * another kind has "does not apply". */
static const LamLayerArg *
find_any_arg (const char *name)
{
  for (int k = 0; k < LAM_N_LAYER_KINDS; k++) {
    const LamLayerArg *arg = lam_layer_class_find_arg (lam_layer_class ((LamLayerKind) k), name);
    if (arg != NULL)
      return arg;
  }
  return NULL;
}

/* Whether some kind takes `name` as a text option (in=784, s2). */
static gboolean
is_text_option (const char *name)
{
  for (int k = 0; k < LAM_N_LAYER_KINDS; k++) {
    const LamLayerArg *arg = lam_layer_class_find_arg (lam_layer_class ((LamLayerKind) k), name);
    if (arg != NULL && arg->position == 0 && arg->type != LAM_VALUE_BOOL)
      return TRUE;
  }
  return FALSE;
}

/* The argument some kind writes with the short form `c` (s2 for stride). */
static const LamLayerArg *
find_short_form (char c)
{
  for (int k = 0; k < LAM_N_LAYER_KINDS; k++) {
    const LamLayerClass *klass = lam_layer_class ((LamLayerKind) k);
    for (guint i = 0; i < klass->n_args; i++)
      if (klass->args[i].short_form != 0 && klass->args[i].short_form == c)
        return &klass->args[i];
  }
  return NULL;
}

static const char *
int_min_words (const LamLayerArg *arg)
{
  return arg->min <= 0 ? "a non-negative integer" : "a positive integer";
}

/* The readers' check of a number: finite, in range, within a 32-bit float
 * for an argument kept as one, and any rule of the kind's own. */
static gboolean
check_number (const LamLayerArg *arg, double value, const char *where, GError **error)
{
  if (!isfinite (value)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "%s: %s must be a finite number",
                 where, arg->name);
    return FALSE;
  }
  gboolean below = (arg->flags & LAM_LAYER_ARG_BELOW_MAX) ? value < arg->max : value <= arg->max;
  if (!(value >= arg->min && below)) {
    g_autofree char *words = lam_layer_arg_range_words (arg);
    g_autofree char *got = lam_format_double (value);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "%s: %s must be %s, got %s",
                 where, arg->name, words, got);
    return FALSE;
  }
  if (arg->type == LAM_VALUE_FLOAT && fabs (value) > FLT_MAX) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: %s %g is beyond what a 32-bit float holds (at most %g)", where, arg->name,
                 value, (double) FLT_MAX);
    return FALSE;
  }
  if (arg->type == LAM_VALUE_FLOAT && value != 0 && (float) value == 0) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: %s %g is too close to 0 for a 32-bit float to hold (it would read as 0; "
                 "the smallest is %g): write 0, or a larger number",
                 where, arg->name, value, (double) nextafterf (0.0f, 1.0f));
    return FALSE;
  }
  if (arg->check_value != NULL && !arg->check_value (value, where, error))
    return FALSE;
  return TRUE;
}

/* Whether a writer writes the argument: a required one always, another
 * when it is not its default, nor "left out" in other words. */
static gboolean
arg_is_written (const LamLayerArg *arg, const LamLayerSpec *layer, const LamLayerSpec *def)
{
  const LamLayerClass *klass = lam_layer_class (layer->kind);
  double value = lam_layer_arg_get (arg, layer);

  if (arg->flags & LAM_LAYER_ARG_REQUIRED)
    return TRUE;
  if (value == lam_layer_arg_get (arg, def))
    return FALSE;
  if ((arg->flags & LAM_LAYER_ARG_AUTO) && arg->auto_from != NULL) {
    const LamLayerArg *from = lam_layer_class_find_arg (klass, arg->auto_from);
    if (from != NULL && value == lam_layer_arg_get (from, layer))
      return FALSE;
  }
  return TRUE;
}

/* An argument's value as both writers write it. */
static void
append_arg_value (GString *s, const LamLayerArg *arg, const LamLayerSpec *layer)
{
  double value = lam_layer_arg_get (arg, layer);

  switch (arg->type) {
  case LAM_VALUE_INT:
    g_string_append_printf (s, "%d", (int) value);
    break;
  case LAM_VALUE_FLOAT:
    lam_json_append_float (s, (float) value);
    break;
  case LAM_VALUE_DOUBLE:
    lam_json_append_double (s, value);
    break;
  case LAM_VALUE_BOOL:
  default:
    g_string_append (s, value != 0 ? "true" : "false");
    break;
  }
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

/* Reads an integer in [min, max]; `what` is e.g. "out". */
static gboolean
json_get_size (JsonNode *node, const char *where, const char *what, int min, int max,
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
    g_autofree char *got = lam_format_double (d);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "%s: %s must be %s, got %s",
                 where, what, min_words, got);
    return FALSE;
  }
  if (v < min) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: %s must be %s, got %" G_GINT64_FORMAT, where, what, min_words, v);
    return FALSE;
  }
  if (v > max) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: %s %" G_GINT64_FORMAT " is too large (at most %d)", where, what, v, max);
    return FALSE;
  }
  *value = (int) v;
  return TRUE;
}

static gboolean
parse_json_arg (JsonNode *value, const LamLayerArg *arg, const char *where, LamLayerSpec *spec,
                GError **error)
{
  switch (arg->type) {
  case LAM_VALUE_BOOL:
    if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_BOOLEAN) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "%s: %s must be true or false, got %s", where, arg->name,
                   lam_json_node_describe (value));
      return FALSE;
    }
    lam_layer_arg_set (arg, spec, json_node_get_boolean (value));
    return TRUE;

  case LAM_VALUE_FLOAT:
  case LAM_VALUE_DOUBLE: {
    if (!json_is_number (value)) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "%s: %s must be a number, got %s", where, arg->name,
                   lam_json_node_describe (value));
      return FALSE;
    }
    double d = json_node_get_double (value);
    if (!check_number (arg, d, where, error))
      return FALSE;
    lam_layer_arg_set (arg, spec, d);
    return TRUE;
  }

  case LAM_VALUE_INT:
  default: {
    int v;
    if (!json_get_size (value, where, arg->name, (int) arg->min, (int) arg->max,
                        int_min_words (arg), &v, error))
      return FALSE;
    lam_layer_arg_set (arg, spec, v);
    return TRUE;
  }
  }
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
  const LamLayerClass *klass = lam_layer_class_lookup (type);
  if (klass == NULL) {
    g_autofree char *known = known_kinds ();
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "layer %d: unknown type \"%s\" (known: %s)", index + 1, type, known);
    return FALSE;
  }

  g_autofree char *where = g_strdup_printf ("layer %d (%s)", index + 1, klass->name);
  LamLayerSpec spec = lam_layer_spec_default (klass->kind);
  g_autofree gboolean *seen = g_new0 (gboolean, klass->n_args + 1);

  g_autoptr (GList) members = json_object_get_members (obj);
  for (GList *l = members; l != NULL; l = l->next) {
    const char *field = l->data;
    JsonNode *value = json_object_get_member (obj, field);

    if (g_str_equal (field, "type"))
      continue;
    if (find_any_arg (field) == NULL) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "%s: unknown field \"%s\"",
                   where, field);
      return FALSE;
    }
    const LamLayerArg *arg = lam_layer_class_find_arg (klass, field);
    if (arg == NULL) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "%s: field \"%s\" does not apply to %s", where, field, klass->name);
      return FALSE;
    }
    seen[arg - klass->args] = TRUE;
    if (!parse_json_arg (value, arg, where, &spec, error))
      return FALSE;
  }

  for (guint i = 0; i < klass->n_args; i++) {
    if ((klass->args[i].flags & LAM_LAYER_ARG_REQUIRED) && !seen[i]) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "%s: missing field \"%s\"",
                   where, klass->args[i].name);
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
    if (!json_get_size (json_array_get_element (array, i), "input", what, 1, MAX_SIZE,
                        "a positive integer", &s.dims[i], error))
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
                     "unknown loss \"%s\" (known: cross_entropy, nll, mse, l1)", name);
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

/* A spec nests four deep at most (a checkpoint's "model" around "layers"
 * around a layer), a project a few more. */
#define JSON_MAX_DEPTH LAM_JSON_MAX_DEPTH

gboolean
lam_json_nests_too_deep (const char *json, gssize length)
{
  gsize n = length < 0 ? strlen (json) : (gsize) length;
  gboolean in_string = FALSE;
  int depth = 0;
  for (gsize i = 0; i < n; i++) {
    char c = json[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '[' || c == '{') {
      if (++depth > JSON_MAX_DEPTH)
        return TRUE;
    } else if (c == ']' || c == '}') {
      depth--;
    }
  }
  return FALSE;
}

G_DEFINE_QUARK (lam-json-number-error-quark, lam_json_number_error)

/* Where the scan of find_unheld_number stands in one array or object. */
typedef struct
{
  gboolean array;
  int index;       /* an array's element */
  const char *key; /* an object's member, as the text spells it */
  gsize key_length;
} JsonLevel;

/* The path of the value the levels lead to: "config.seed", "loss[3]". */
static char *
json_level_path (const JsonLevel *levels, int depth)
{
  GString *s = g_string_new (NULL);
  for (int d = 0; d < depth; d++) {
    if (levels[d].array) {
      g_string_append_printf (s, "[%d]", levels[d].index);
    } else {
      if (s->len > 0)
        g_string_append_c (s, '.');
      g_string_append_len (s, levels[d].key, (gssize) levels[d].key_length);
    }
  }
  return g_string_free (s, FALSE);
}

/* json-glib reads a whole number past 64 bits as the nearest 64-bit one,
 * or as another one altogether (2^64 - 1 reads as -1), a number too close
 * to 0 for a double as 0 and one too large as infinity, and says nothing:
 * the text itself is checked. json is valid JSON nesting no more than
 * LAM_JSON_MAX_DEPTH. FALSE, with an error naming the member, for the
 * first such number. */
static gboolean
find_unheld_number (const char *json, gsize n, GError **error)
{
  JsonLevel levels[LAM_JSON_MAX_DEPTH + 1];
  int depth = 0;
  gboolean want_key = FALSE;
  for (gsize i = 0; i < n; i++) {
    char c = json[i];
    if (c == '"') {
      gsize start = ++i;
      while (i < n && json[i] != '"')
        i += json[i] == '\\' ? 2 : 1;
      if (want_key && depth > 0) {
        levels[depth - 1].key = json + start;
        levels[depth - 1].key_length = MIN (i, n) - start;
        want_key = FALSE;
      }
    } else if ((c == '{' || c == '[') && depth < LAM_JSON_MAX_DEPTH + 1) {
      levels[depth] = (JsonLevel){ .array = c == '[' };
      want_key = c == '{';
      depth++;
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    } else if (c == ',' && depth > 0) {
      if (levels[depth - 1].array)
        levels[depth - 1].index++;
      else
        want_key = TRUE;
    } else if (c == '-' || g_ascii_isdigit (c)) {
      gsize start = i;
      gboolean whole = TRUE;
      while (i + 1 < n &&
             (g_ascii_isdigit (json[i + 1]) || strchr ("+-.eE", json[i + 1]) != NULL)) {
        i++;
        if (!g_ascii_isdigit (json[i]))
          whole = FALSE;
      }
      g_autofree char *text = g_strndup (json + start, i + 1 - start);
      if (!whole) {
        errno = 0;
        double v = g_ascii_strtod (text, NULL);
        if (errno != ERANGE || (v != 0 && !isinf (v)))
          continue;
        g_autofree char *path = json_level_path (levels, depth);
        g_set_error (error, LAM_JSON_NUMBER_ERROR, 0,
                     "\"%s\" is %s, %s for a number to hold (it would read as %s)",
                     *path != '\0' ? path : "the value", text,
                     v == 0 ? "too close to 0" : "too large", v == 0 ? "0" : "infinity");
        return FALSE;
      }
      gint64 value;
      if (g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &value, NULL))
        continue;
      g_autofree char *path = json_level_path (levels, depth);
      g_set_error (
        error, LAM_JSON_NUMBER_ERROR, 0,
        "\"%s\" is %s, a whole number past 64 bits: whole numbers must lie from %" G_GINT64_FORMAT
        " to %" G_GINT64_FORMAT,
        *path != '\0' ? path : "the value", text, G_MININT64, G_MAXINT64);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
lam_json_load_data (JsonParser *parser, const char *json, gssize length, GError **error)
{
  if (lam_json_nests_too_deep (json, length)) {
    g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_PARSE,
                 "arrays and objects nest more than %d deep", LAM_JSON_MAX_DEPTH);
    return FALSE;
  }
  if (!json_parser_load_from_data (parser, json, length, error))
    return FALSE;
  return find_unheld_number (json, length < 0 ? strlen (json) : (gsize) length, error);
}

gboolean
lam_json_load_file (JsonParser *parser, const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize length;
  if (!g_file_get_contents (path, &contents, &length, error))
    return FALSE;
  return lam_json_load_data (parser, contents, (gssize) length, error);
}

LamModelSpec *
lam_model_spec_from_json (const char *json, gssize length, GError **error)
{
  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (lam_json_nests_too_deep (json, length)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE,
                 "the JSON nests arrays and objects more than %d deep; a model is "
                 "{\"layers\": [{\"type\": ...}, ...]}",
                 JSON_MAX_DEPTH);
    return NULL;
  }
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local_error = NULL;
  if (!lam_json_load_data (parser, json, length, &local_error)) {
    /* Valid JSON with a number json-glib would change: the number is wrong. */
    if (local_error->domain == LAM_JSON_NUMBER_ERROR)
      g_set_error_literal (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, local_error->message);
    else
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
  g_autofree char *text = lam_format_double (value);
  g_string_append (s, text);
}

/* A message quoting a number the user gave must not round it to the very
 * bound it broke ("must be below 1, got 1" for 1.0000001). */
char *
lam_format_double (double value)
{
  if (!isfinite (value))
    return g_strdup (isnan (value) ? "nan" : value > 0 ? "inf" : "-inf");
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (int digits = 1; digits <= 17; digits++) {
    char format[8];
    g_snprintf (format, sizeof format, "%%.%dg", digits);
    g_ascii_formatd (buf, sizeof buf, format, value);
    if (g_ascii_strtod (buf, NULL) == value)
      break;
  }
  return g_strdup (buf);
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
append_json_arg (GString *s, const LamLayerArg *arg, const LamLayerSpec *layer,
                 const LamLayerSpec *def)
{
  if (!arg_is_written (arg, layer, def))
    return;
  g_string_append_printf (s, ", \"%s\": ", arg->name);
  append_arg_value (s, arg, layer);
}

static void
append_json_layer (GString *s, const LamLayerSpec *layer)
{
  const LamLayerClass *klass = lam_layer_class (layer->kind);
  LamLayerSpec def = lam_layer_spec_default (layer->kind);

  g_string_append_printf (s, "{\"type\": \"%s\"", klass->name);
  /* Sizes taken from the input first, as PyTorch writes in_features
   * before out_features. */
  for (guint i = 0; i < klass->n_args; i++) {
    const LamLayerArg *arg = &klass->args[i];
    if ((arg->flags & LAM_LAYER_ARG_AUTO) && arg->auto_from == NULL)
      append_json_arg (s, arg, layer, &def);
  }
  for (guint i = 0; i < klass->n_args; i++) {
    const LamLayerArg *arg = &klass->args[i];
    if (!((arg->flags & LAM_LAYER_ARG_AUTO) && arg->auto_from == NULL))
      append_json_arg (s, arg, layer, &def);
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

/* Parses all of `text` as an integer in [min, max]. */
static gboolean
text_int (const char *text, int min, int max, int *value)
{
  if (text == NULL || *text == '\0' || !(g_ascii_isdigit (*text) || *text == '-' || *text == '+'))
    return FALSE;
  char *end = NULL;
  errno = 0;
  gint64 v = g_ascii_strtoll (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
    return FALSE;
  *value = (int) v;
  return TRUE;
}

/* A number as the text writes it. "inf" is read, for check_number to
 * refuse as not finite; a number too close to 0 or too large for a double
 * to hold is refused here, with the reason, rather than read as 0 or as
 * infinity. */
static gboolean
text_float (const LamLayerArg *arg, const char *text, const char *where, double *value,
            GError **error)
{
  char *end = NULL;
  errno = 0;
  double v = text != NULL && *text != '\0' ? g_ascii_strtod (text, &end) : NAN;
  if (end == NULL || end == text || *end != '\0' || isnan (v)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: %s must be a number, got \"%s\"", where, arg->name, text);
    return FALSE;
  }
  /* Below DBL_MIN a double still holds the number, with fewer digits. */
  if (errno == ERANGE && (v == 0 || isinf (v))) {
    g_autofree char *words = lam_layer_arg_range_words (arg);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: %s %s is %s for a number to hold (it would read as %s); %s must be %s", where,
                 arg->name, text, v == 0 ? "too close to 0" : "too large",
                 v == 0 ? "0" : "infinity", arg->name, words);
    return FALSE;
  }
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
    if (!text_int (parts[i], 1, MAX_SIZE, &out.dims[i]))
      return FALSE;
  if (lam_shape_numel (&out) > G_MAXINT)
    return FALSE;
  *shape = out;
  return TRUE;
}

static const char *
text_usage (const LamLayerClass *klass)
{
  return klass->text_example != NULL ? klass->text_example : klass->name;
}

/* A size written "3", or for a square one also "3x3". */
static gboolean
text_size (const LamLayerArg *arg, const char *text, int *value)
{
  if (!(arg->flags & LAM_LAYER_ARG_SQUARE))
    return text_int (text, (int) arg->min, (int) arg->max, value);

  g_auto (GStrv) parts = g_strsplit (text, "x", -1);
  guint n = g_strv_length (parts);
  if (n != 1 && n != 2)
    return FALSE;
  int k;
  if (!text_int (parts[0], (int) arg->min, (int) arg->max, &k))
    return FALSE;
  if (n == 2) {
    int k2;
    if (!text_int (parts[1], (int) arg->min, (int) arg->max, &k2) || k2 != k)
      return FALSE;
  }
  *value = k;
  return TRUE;
}

/* Whether text is a whole number (or, for a square size, 3x3) past the
 * argument's largest value, however many digits it has. */
static gboolean
text_too_large (const LamLayerArg *arg, const char *text)
{
  char *whole[] = { (char *) text, NULL };
  g_auto (GStrv) parts =
    (arg->flags & LAM_LAYER_ARG_SQUARE) ? g_strsplit (text, "x", 2) : g_strdupv (whole);
  gboolean too_large = FALSE;
  for (guint i = 0; parts[i] != NULL; i++) {
    const char *p = parts[i] + (parts[i][0] == '+');
    if (*p == '\0')
      return FALSE;
    for (const char *c = p; *c != '\0'; c++)
      if (!g_ascii_isdigit (*c))
        return FALSE;
    errno = 0;
    guint64 v = g_ascii_strtoull (p, NULL, 10);
    if (errno == ERANGE || v > (guint64) arg->max)
      too_large = TRUE;
  }
  return too_large;
}

/* One argument's value as the text writes it: 32, 3x3, 0.25, true. */
static gboolean
text_arg_value (const LamLayerArg *arg, const char *text, const char *where, LamLayerSpec *spec,
                GError **error)
{
  switch (arg->type) {
  case LAM_VALUE_INT: {
    int v;
    if (!text_size (arg, text, &v)) {
      /* linear:99999999 is a positive integer: what is wrong is its size,
       * as the JSON reader says it. */
      if (text_too_large (arg, text))
        g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                     "%s: %s %s is too large (at most %d)", where, arg->name, text, (int) arg->max);
      else
        g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                     "%s: %s must be %s, got \"%s\"", where, arg->name, int_min_words (arg), text);
      return FALSE;
    }
    lam_layer_arg_set (arg, spec, v);
    return TRUE;
  }
  case LAM_VALUE_FLOAT:
  case LAM_VALUE_DOUBLE: {
    double v;
    if (!text_float (arg, text, where, &v, error))
      return FALSE;
    if (!check_number (arg, v, where, error))
      return FALSE;
    lam_layer_arg_set (arg, spec, v);
    return TRUE;
  }
  case LAM_VALUE_BOOL:
  default:
    if (!g_str_equal (text, "true") && !g_str_equal (text, "false")) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "%s: %s must be true or false, got \"%s\"", where, arg->name, text);
      return FALSE;
    }
    lam_layer_arg_set (arg, spec, g_str_equal (text, "true"));
    return TRUE;
  }
}

/* A bool option written `nobias`, `bias=false` or `bias=true`: the
 * argument of some kind it names, and the value. */
static const LamLayerArg *
text_bool_word (const char *word, gboolean *value)
{
  for (int k = 0; k < LAM_N_LAYER_KINDS; k++) {
    const LamLayerClass *klass = lam_layer_class ((LamLayerKind) k);
    for (guint i = 0; i < klass->n_args; i++) {
      const LamLayerArg *arg = &klass->args[i];
      if (arg->type != LAM_VALUE_BOOL)
        continue;
      const char *rest = g_str_has_prefix (word, arg->name) ? word + strlen (arg->name) : NULL;
      if (g_str_has_prefix (word, "no") && g_str_equal (word + 2, arg->name)) {
        *value = FALSE;
        return arg;
      }
      if (rest != NULL && (g_str_equal (rest, "=false") || g_str_equal (rest, "=true"))) {
        *value = g_str_equal (rest, "=true");
        return arg;
      }
    }
  }
  return NULL;
}

/* One optional argument written in its short form (`s2`, `p1`), as
 * key=value (`stride=2`, `in=784`) or, for a bool, as a word (`nobias`). */
static gboolean
text_option (const char *text, const LamLayerClass *klass, LamLayerSpec *spec, const char *where,
             GError **error)
{
  gboolean bool_value;
  const LamLayerArg *bool_arg = text_bool_word (text, &bool_value);
  if (bool_arg != NULL) {
    const LamLayerArg *own = lam_layer_class_find_arg (klass, bool_arg->name);
    if (own == NULL || own->type != LAM_VALUE_BOOL || own->position != 0) {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID, "%s: %s has no %s", where,
                   klass->name, bool_arg->name);
      return FALSE;
    }
    lam_layer_arg_set (own, spec, bool_value);
    return TRUE;
  }

  const char *name = NULL;
  const char *value = NULL;
  const char *eq = strchr (text, '=');
  if (eq != NULL) {
    g_autofree char *key = g_strndup (text, (gsize) (eq - text));
    const LamLayerArg *arg = find_any_arg (key);
    if (arg != NULL)
      name = arg->name;
    value = eq + 1;
  } else if (g_ascii_isdigit (text[1]) || text[1] == '-') {
    const LamLayerArg *arg = find_short_form (text[0]);
    if (arg != NULL)
      name = arg->name;
    value = text + 1;
  }
  if (name == NULL || !is_text_option (name)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE,
                 "%s: unknown argument \"%s\" (e.g. %s)", where, text, text_usage (klass));
    return FALSE;
  }
  const LamLayerArg *own = lam_layer_class_find_arg (klass, name);
  if (own == NULL || own->position != 0) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: %s does not apply to %s", where, name, klass->name);
    return FALSE;
  }
  return text_arg_value (own, value, where, spec, error);
}

static gboolean
parse_text_layer (const char *item, const char *where, LamLayerSpec *out, GError **error)
{
  g_auto (GStrv) args = g_strsplit (item, ":", -1);
  guint n_args = g_strv_length (args);

  const LamLayerClass *klass = lam_layer_class_lookup (args[0]);
  if (klass == NULL) {
    g_autofree char *known = known_kinds ();
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                 "%s: unknown layer \"%s\" (known: %s)", where, args[0], known);
    return FALSE;
  }

  LamLayerSpec spec = lam_layer_spec_default (klass->kind);
  const char *kind_name = klass->name;

  for (guint i = 1; i < n_args; i++) {
    if (args[i][0] == '\0') {
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE, "%s: empty argument (e.g. %s)",
                   where, text_usage (klass));
      return FALSE;
    }
  }
  if (klass->n_args == 0 && n_args > 1) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE, "%s: %s takes no arguments", where,
                 kind_name);
    return FALSE;
  }

  /* Positional arguments come first, in position order. After one that
   * may be left out, no option could be told from it: there are none. */
  guint n_positional = 0;
  gboolean optional_positional = FALSE;
  for (guint i = 0; i < klass->n_args; i++) {
    if (klass->args[i].position > 0) {
      n_positional++;
      if (!(klass->args[i].flags & LAM_LAYER_ARG_REQUIRED))
        optional_positional = TRUE;
    }
  }
  if (optional_positional && n_args > n_positional + 1) {
    g_autofree char *count = n_positional == 1 ? g_strdup ("one argument")
                                               : g_strdup_printf ("%u arguments", n_positional);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_PARSE, "%s: %s takes %s (e.g. %s)", where,
                 kind_name, count, text_usage (klass));
    return FALSE;
  }

  guint first_option = 1;
  for (guint i = 0; i < klass->n_args; i++) {
    const LamLayerArg *arg = &klass->args[i];
    guint at = (guint) arg->position;
    if (at == 0)
      continue;
    if (at >= n_args) {
      if (!(arg->flags & LAM_LAYER_ARG_REQUIRED))
        continue;
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_INVALID,
                   "%s: %s needs its %s (e.g. %s)", where, kind_name, arg->noun,
                   text_usage (klass));
      return FALSE;
    }
    const char *value = args[at];
    /* A lone argument may be spelled out: dropout:p=0.25. */
    if (!(arg->flags & LAM_LAYER_ARG_REQUIRED) && g_str_has_prefix (value, arg->name) &&
        value[strlen (arg->name)] == '=')
      value += strlen (arg->name) + 1;
    if (!text_arg_value (arg, value, where, &spec, error))
      return FALSE;
    first_option = MAX (first_option, at + 1);
  }

  for (guint i = first_option; i < n_args; i++)
    if (!text_option (args[i], klass, &spec, where, error))
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
                     "%s: unknown loss \"%s\" (known: cross_entropy, nll, mse, l1)", where,
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

gboolean
lam_model_spec_equal (const LamModelSpec *a, const LamModelSpec *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);
  g_autofree char *text_a = lam_model_spec_to_text (a);
  g_autofree char *text_b = lam_model_spec_to_text (b);
  return g_str_equal (text_a, text_b);
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
    const LamLayerClass *klass = lam_layer_class (layer->kind);
    LamLayerSpec def = lam_layer_spec_default (layer->kind);

    if (s->len > 0)
      g_string_append_c (s, ',');
    g_string_append (s, klass->name);
    for (guint j = 0; j < klass->n_args; j++) {
      const LamLayerArg *arg = &klass->args[j];
      if (!arg_is_written (arg, layer, &def))
        continue;
      g_string_append_c (s, ':');
      if (arg->position > 0) {
        append_arg_value (s, arg, layer);
      } else if (arg->type == LAM_VALUE_BOOL) {
        g_string_append_printf (s, lam_layer_arg_get (arg, layer) != 0 ? "%s=true" : "no%s",
                                arg->name);
      } else if (arg->short_form != 0) {
        g_string_append_c (s, arg->short_form);
        append_arg_value (s, arg, layer);
      } else {
        g_string_append_printf (s, "%s=", arg->name);
        append_arg_value (s, arg, layer);
      }
    }
  }
  if (spec->has_loss)
    g_string_append_printf (s, "%sloss=%s", s->len > 0 ? "," : "",
                            lam_loss_kind_to_string (spec->loss));
  return g_string_free (s, FALSE);
}

/* Presets and files */

static const char *const preset_names[] = {
  "logistic-regression", "mlp-32", "mlp", "small-cnn", "small-cnn-bn", "cifar10-cnn",
  "cifar10-cnn-bn", "one-neuron", "playground-mlp",
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
  /* A file name may be any bytes; a message is text. */
  g_autofree char *shown = g_filename_display_name (path);
  if (!g_file_get_contents (path, &contents, &length, &local_error)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_NOT_FOUND, "cannot read %s: %s", shown,
                 local_error->message);
    return NULL;
  }
  LamModelSpec *spec = lam_model_spec_from_json (contents, (gssize) length, error);
  if (spec == NULL)
    g_prefix_error (error, "%s: ", shown);
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
  /* The command line hands over a file name's bytes as they are; text
   * that is not UTF-8 is no spec either. */
  if (strchr (s, '/') != NULL || g_str_has_suffix (s, ".json") || single_word ||
      !g_utf8_validate (s, -1, NULL)) {
    g_auto (GStrv) names = lam_model_spec_list_presets ();
    g_autofree char *known = g_strjoinv (", ", names);
    g_autofree char *shown = g_filename_display_name (spec_or_path);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_NOT_FOUND,
                 "no preset or file called \"%s\" (presets: %s)", shown, known);
    return NULL;
  }
  return lam_model_spec_from_text (s, error);
}
