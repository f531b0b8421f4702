/* Model specs: presets, shape inference, the JSON and text parsers, their
 * errors, and parameter initialisation. */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "lam-layer-class.h"
#include "lam-layer.h"
#include "lam-model.h"

/* Asserts that `error` is set with `code` and that its message contains
 * every one of the NULL-terminated words. */
static void
assert_error_says (const GError *error, int code, ...)
{
  g_assert_nonnull (error);
  if (error->domain != LAM_MODEL_ERROR || error->code != code)
    g_error ("expected error code %d, got %s %d: %s", code, g_quark_to_string (error->domain),
             error->code, error->message);

  va_list ap;
  va_start (ap, code);
  for (const char *word = va_arg (ap, const char *); word; word = va_arg (ap, const char *))
    if (strstr (error->message, word) == NULL)
      g_error ("error message \"%s\" does not contain \"%s\"", error->message, word);
  va_end (ap);
}

static LamModelSpec *
spec_from_text_or_die (const char *text)
{
  g_autoptr (GError) error = NULL;
  LamModelSpec *spec = lam_model_spec_from_text (text, &error);
  g_assert_no_error (error);
  g_assert_nonnull (spec);
  return spec;
}

/* Parses `text` and plans it, expecting the plan to fail. */
static GError *
plan_error (const char *text)
{
  g_autoptr (LamModelSpec) spec = spec_from_text_or_die (text);
  GError *error = NULL;
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &error);
  g_assert_null (plan);
  return error;
}

static GError *
json_error (const char *json)
{
  GError *error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_json (json, -1, &error);
  g_assert_null (spec);
  return error;
}

static GError *
text_error (const char *text)
{
  GError *error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (text, &error);
  g_assert_null (spec);
  return error;
}

static void
assert_same_layers (const LamModelSpec *a, const LamModelSpec *b)
{
  g_assert_cmpint (a->n_layers, ==, b->n_layers);
  for (int i = 0; i < a->n_layers; i++) {
    const LamLayerSpec *x = &a->layers[i], *y = &b->layers[i];
    g_assert_cmpint (x->kind, ==, y->kind);
    g_assert_cmpint (x->in, ==, y->in);
    g_assert_cmpint (x->out, ==, y->out);
    g_assert_cmpint (x->kernel, ==, y->kernel);
    g_assert_cmpint (x->padding, ==, y->padding);
    /* A pool's stride 0 and stride == kernel mean the same. */
    int xs = x->stride ? x->stride : x->kernel, ys = y->stride ? y->stride : y->kernel;
    g_assert_cmpint (xs, ==, ys);
    g_assert_cmpint (x->bias, ==, y->bias);
    g_assert_cmpfloat (x->p, ==, y->p);
    g_assert_cmpfloat (x->slope, ==, y->slope);
  }
}

static void
assert_same_spec (const LamModelSpec *a, const LamModelSpec *b)
{
  g_assert_cmpstr (a->name, ==, b->name);
  g_assert_cmpint (a->has_input, ==, b->has_input);
  if (a->has_input)
    g_assert_true (lam_shape_equal (&a->input, &b->input));
  g_assert_cmpint (a->has_loss, ==, b->has_loss);
  if (a->has_loss)
    g_assert_cmpint (a->loss, ==, b->loss);
  assert_same_layers (a, b);
}

/* Presets */

static const struct
{
  const char *name;
  gsize n_params; /* trained */
  int n_layers;
  gsize n_buffers; /* batch norms' running mean and variance per channel, and a count */
  int n_outputs;   /* 0: ten classes */
} presets[] = {
  { "logistic-regression", 784 * 10 + 10, 2 },
  { "mlp-32", 784 * 32 + 32 + 32 * 10 + 10, 4 },
  { "mlp", 784 * 256 + 256 + 256 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10, 9 },
  /* conv 1→32, conv 32→64, linear 3136→128, linear 128→10 */
  { "small-cnn", (9 * 32 + 32) + (32 * 9 * 64 + 64) + (3136 * 128 + 128) + (128 * 10 + 10), 10 },
  /* the same without the biases a batch norm makes redundant, and its γ and β */
  { "small-cnn-bn", 9 * 32 + 2 * 32 + 32 * 9 * 64 + 2 * 64 + 3136 * 128 + 2 * 128 + 128 * 10 + 10,
    13, (2 * 32 + 1) + (2 * 64 + 1) + (2 * 128 + 1) },
  /* six 3×3 convs 3→32→64→128→128→256→256, then 4096→1024→512→10 */
  { "cifar10-cnn",
    (3 * 9 * 32 + 32) + (32 * 9 * 64 + 64) + (64 * 9 * 128 + 128) + (128 * 9 * 128 + 128) +
      (128 * 9 * 256 + 256) + (256 * 9 * 256 + 256) + (4096 * 1024 + 1024) + (1024 * 512 + 512) +
      (512 * 10 + 10),
    21 },
  { "cifar10-cnn-bn",
    (3 * 9 * 32 + 2 * 32) + (32 * 9 * 64 + 2 * 64) + (64 * 9 * 128 + 2 * 128) +
      (128 * 9 * 128 + 2 * 128) + (128 * 9 * 256 + 2 * 256) + (256 * 9 * 256 + 2 * 256) +
      (4096 * 1024 + 1024) + (1024 * 512 + 512) + (512 * 10 + 10),
    27, (2 * 32 + 1) + (2 * 64 + 1) + 2 * (2 * 128 + 1) + 2 * (2 * 256 + 1) },
  /* the tutorials' first model, for a table of one input */
  { "one-neuron", 1 + 1, 1, 0, 1 },
  /* a 2-D playground's usual network */
  { "playground-mlp", (2 * 8 + 8) + (8 * 8 + 8) + (8 * 2 + 2), 5, 0, 2 },
};

static void
test_presets_plan (void)
{
  g_assert_cmpuint (presets[0].n_params, ==, 7850);
  g_assert_cmpuint (presets[2].n_params, ==, 242762);
  g_assert_cmpuint (presets[3].n_params, ==, 421642);

  for (gsize i = 0; i < G_N_ELEMENTS (presets); i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (LamModelSpec) spec = lam_model_spec_preset (presets[i].name, &error);
    g_assert_no_error (error);
    g_assert_nonnull (spec->name);
    g_assert_true (spec->has_input);
    g_assert_cmpint (spec->n_layers, ==, presets[i].n_layers);

    g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (plan->n_trainable, ==, presets[i].n_params);
    g_assert_cmpuint (plan->n_params, ==, presets[i].n_params + presets[i].n_buffers);
    g_assert_cmpint (plan->output.rank, ==, 1);
    g_assert_cmpint (plan->output.dims[0], ==, presets[i].n_outputs ? presets[i].n_outputs : 10);
  }
}

static void
test_presets_list (void)
{
  g_auto (GStrv) names = lam_model_spec_list_presets ();
  g_assert_cmpuint (g_strv_length (names), ==, G_N_ELEMENTS (presets));
  for (gsize i = 0; i < G_N_ELEMENTS (presets); i++)
    g_assert_cmpstr (names[i], ==, presets[i].name);
}

static void
test_presets_unknown (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_preset ("mlp-64", &error);
  g_assert_null (spec);
  assert_error_says (error, LAM_MODEL_ERROR_NOT_FOUND, "mlp-64", "small-cnn", "cifar10-cnn",
                     NULL);
}

static void
test_presets_loss (void)
{
  g_autoptr (LamModelSpec) mlp = lam_model_spec_preset ("mlp", NULL);
  g_autoptr (LamModelSpec) cnn = lam_model_spec_preset ("small-cnn", NULL);
  g_assert_cmpint (lam_model_spec_get_loss (mlp), ==, LAM_LOSS_NLL);
  g_assert_cmpint (lam_model_spec_get_loss (cnn), ==, LAM_LOSS_CROSS_ENTROPY);

  /* Without a loss field the default follows the last layer. */
  g_autoptr (LamModelSpec) a = spec_from_text_or_die ("flatten,linear:10,log_softmax");
  g_autoptr (LamModelSpec) b = spec_from_text_or_die ("flatten,linear:10");
  g_autoptr (LamModelSpec) c = spec_from_text_or_die ("flatten,linear:10,loss=mse");
  g_assert_false (a->has_loss);
  g_assert_cmpint (lam_model_spec_get_loss (a), ==, LAM_LOSS_NLL);
  g_assert_cmpint (lam_model_spec_get_loss (b), ==, LAM_LOSS_CROSS_ENTROPY);
  g_assert_cmpint (lam_model_spec_get_loss (c), ==, LAM_LOSS_MSE);
}

/* Plans */

static void
test_plan_small_cnn_shapes (void)
{
  static const char *const expected[] = {
    "32×28×28", "32×28×28", "32×14×14", "64×14×14", "64×14×14",
    "64×7×7",   "3136",     "128",      "128",      "10",
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_preset ("small-cnn", &error);
  g_assert_no_error (error);
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &error);
  g_assert_no_error (error);

  g_assert_cmpint (plan->n_layers, ==, G_N_ELEMENTS (expected));
  gsize activations = 28 * 28;
  for (int i = 0; i < plan->n_layers; i++) {
    g_autofree char *s = lam_shape_to_string (&plan->layers[i].out_shape);
    g_assert_cmpstr (s, ==, expected[i]);
    g_assert_cmpint (plan->layers[i].index, ==, i);
    if (i > 0)
      g_assert_true (lam_shape_equal (&plan->layers[i].in_shape, &plan->layers[i - 1].out_shape));
    activations += lam_shape_numel (&plan->layers[i].out_shape);
  }
  g_assert_cmpuint (plan->activation_floats_per_sample, ==, activations);

  /* Parameters lie consecutively in stack order, weight then bias. */
  gsize offset = 0;
  for (int i = 0; i < plan->n_layers; i++) {
    const LamLayer *layer = &plan->layers[i];
    g_assert_cmpint (lam_layer_kind_has_params (layer->spec.kind), ==, layer->n_weights > 0);
    g_assert_cmpuint (layer->weight_offset, ==, offset);
    offset += layer->n_weights;
    g_assert_cmpuint (layer->bias_offset, ==, offset);
    offset += layer->n_bias;
  }
  g_assert_cmpuint (offset, ==, plan->n_params);

  /* The first conv: 1 channel, 3×3, 32 filters over 28×28 outputs. */
  const LamLayer *conv = &plan->layers[0];
  g_assert_cmpuint (conv->n_weights, ==, 32 * 1 * 3 * 3);
  g_assert_cmpuint (conv->n_bias, ==, 32);
  g_assert_cmpuint (conv->scratch_floats_per_sample, ==, 1 * 9 * 28 * 28 + 32 * 28 * 28);
  /* The second conv needs more scratch; the plan keeps the largest. */
  const LamLayer *conv2 = &plan->layers[3];
  g_assert_cmpuint (conv2->scratch_floats_per_sample, ==, 32 * 9 * 14 * 14 + 64 * 14 * 14);
  g_assert_cmpuint (plan->scratch_floats_per_sample, ==, conv2->scratch_floats_per_sample);
  g_assert_cmpuint (conv2->flops, ==, 2ull * 32 * 9 * 64 * 14 * 14 + 64 * 14 * 14);

  /* Max pools keep an int32 argmax per output. */
  g_assert_cmpuint (plan->layers[2].saved_bytes_per_sample, ==, 4 * 32 * 14 * 14);
  g_assert_cmpuint (plan->layers[5].saved_bytes_per_sample, ==, 4 * 64 * 7 * 7);
  g_assert_cmpuint (plan->saved_bytes_per_sample, ==, 4 * 32 * 14 * 14 + 4 * 64 * 7 * 7);
  g_assert_cmpuint (plan->layers[2].flops, ==, 32 * 14 * 14 * 4);

  /* Linear weights are (out, in): 3136 inputs inferred from the flatten. */
  g_assert_cmpint (plan->layers[7].spec.in, ==, 3136);
  g_assert_cmpuint (plan->layers[7].n_weights, ==, 128 * 3136);

  guint64 flops = 0;
  for (int i = 0; i < plan->n_layers; i++)
    flops += plan->layers[i].flops;
  g_assert_cmpuint (plan->flops, ==, flops);
}

static void
test_plan_linear_flops (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = spec_from_text_or_die ("input=784,linear:256,linear:10:nobias");
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &error);
  g_assert_no_error (error);

  g_assert_cmpuint (plan->layers[0].flops, ==, 2 * 784 * 256 + 256);
  g_assert_cmpuint (plan->layers[1].flops, ==, 2 * 256 * 10);
  g_assert_cmpuint (plan->layers[1].n_bias, ==, 0);
  g_assert_cmpuint (plan->n_params, ==, 784 * 256 + 256 + 256 * 10);
  g_assert_cmpuint (plan->flops, ==, 2 * 784 * 256 + 256 + 2 * 256 * 10);
}

static void
test_plan_layer_kinds (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = spec_from_text_or_die (
    "input=3x32x32, conv2d:8:5:s2:p2, leaky_relu:0.2, avgpool2d:3:s2:p1, maxpool2d:2,"
    "tanh, flatten, dropout:0.25, linear:10, sigmoid, softmax");
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &error);
  g_assert_no_error (error);

  /* (32 + 4 - 5) / 2 + 1 = 16; (16 + 2 - 3) / 2 + 1 = 8; 8 / 2 = 4. */
  static const char *const expected[] = {
    "8×16×16", "8×16×16", "8×8×8", "8×4×4", "8×4×4", "128", "128", "10", "10", "10",
  };
  for (int i = 0; i < plan->n_layers; i++) {
    g_autofree char *s = lam_shape_to_string (&plan->layers[i].out_shape);
    g_assert_cmpstr (s, ==, expected[i]);
  }
  g_assert_cmpint (plan->layers[2].spec.stride, ==, 2);
  g_assert_cmpint (plan->layers[3].spec.stride, ==, 2); /* the default: kernel */
  g_assert_cmpuint (plan->layers[2].saved_bytes_per_sample, ==, 0);
  g_assert_cmpuint (plan->layers[6].saved_bytes_per_sample, ==, 4 * 128);
  g_assert_cmpuint (plan->layers[0].n_weights, ==, 8 * 3 * 5 * 5);
}

static void
test_plan_layer_direct (void)
{
  /* lam_layer_plan on its own, as the runtime model calls it. */
  LamLayerSpec spec = lam_layer_spec_default (LAM_LAYER_CONV2D);
  spec.out = 4;
  spec.kernel = 3;
  LamShape in = lam_shape_chw (2, 5, 5);
  LamLayer layer;
  g_autoptr (GError) error = NULL;

  g_assert_true (lam_layer_plan (&layer, &spec, 0, &in, "the input", &error));
  g_assert_no_error (error);
  g_autofree char *s = lam_shape_to_string (&layer.out_shape);
  g_assert_cmpstr (s, ==, "4×3×3");
  g_assert_cmpuint (layer.weight_offset, ==, 0);
  g_assert_cmpuint (layer.bias_offset, ==, 0);
  g_assert_cmpint (layer.spec.in, ==, 2);

  spec.kernel = 0;
  g_assert_false (lam_layer_plan (&layer, &spec, 1, &in, "layer 1 (relu)", &error));
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "layer 2 (conv2d): kernel must be positive",
                     "got 0", NULL);
  g_clear_error (&error);

  LamLayerSpec linear = lam_layer_spec_default (LAM_LAYER_LINEAR);
  LamShape flat = lam_shape_flat (10);
  g_assert_false (lam_layer_plan (&layer, &linear, 0, &flat, "the input", &error));
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "layer 1 (linear)", "out", NULL);
  g_clear_error (&error);

  LamLayerSpec dropout = lam_layer_spec_default (LAM_LAYER_DROPOUT);
  dropout.p = 1.0f;
  g_assert_false (lam_layer_plan (&layer, &dropout, 2, &flat, "layer 2 (relu)", &error));
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "layer 3 (dropout)", "p", NULL);
}

/* Shape errors */

static void
test_shape_linear_without_flatten (void)
{
  g_autoptr (GError) error = plan_error ("input=1x28x28,conv2d:32:3:p1,maxpool2d:2,linear:10");
  assert_error_says (error, LAM_MODEL_ERROR_SHAPE, "layer 3 (linear)", "32×14×14",
                     "layer 2 (maxpool2d)", "flatten", NULL);
}

static void
test_shape_linear_in_mismatch (void)
{
  /* 28 → 14 → 7: 32×7×7 = 1568 inputs, not the 64×7×7 = 3136 given. */
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_json (
    "{\"input\": [1, 28, 28], \"layers\": ["
    " {\"type\": \"conv2d\", \"out\": 32, \"kernel\": 3, \"padding\": 1},"
    " {\"type\": \"maxpool2d\", \"kernel\": 2},"
    " {\"type\": \"maxpool2d\", \"kernel\": 2},"
    " {\"type\": \"flatten\"},"
    " {\"type\": \"linear\", \"in\": 3136, \"out\": 10}]}",
    -1, &error);
  g_assert_no_error (error);
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &error);
  g_assert_null (plan);
  assert_error_says (error, LAM_MODEL_ERROR_SHAPE, "layer 5 (linear) expects 3136 inputs",
                     "gets 1568", "layer 4 (flatten)", NULL);
  g_clear_error (&error);

  /* The same with the flat input straight after a layer of that size. */
  g_autoptr (GError) error2 = plan_error ("input=1568,linear:1568,relu,linear:10:in=3136");
  assert_error_says (error2, LAM_MODEL_ERROR_SHAPE, "layer 3 (linear) expects 3136 inputs",
                     "gets 1568 from layer 2 (relu)", NULL);

  /* And for conv2d channels. */
  g_autoptr (GError) error3 = plan_error ("input=3x8x8,conv2d:4:3:in=1,flatten,linear:2");
  assert_error_says (error3, LAM_MODEL_ERROR_SHAPE, "layer 1 (conv2d)", "1 input channels",
                     "gets 3", "the input", NULL);
}

static void
test_shape_conv_kernel_too_large (void)
{
  g_autoptr (GError) error = plan_error ("input=1x4x4,conv2d:8:5,flatten,linear:10");
  assert_error_says (error, LAM_MODEL_ERROR_SHAPE, "layer 1 (conv2d)", "5×5", "1×4×4",
                     "the input", NULL);

  /* Padding makes it fit. */
  g_autoptr (LamModelSpec) spec = spec_from_text_or_die ("input=1x4x4,conv2d:8:5:p1,flatten,linear:10");
  g_autoptr (GError) none = NULL;
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &none);
  g_assert_no_error (none);
  g_autofree char *s = lam_shape_to_string (&plan->layers[0].out_shape);
  g_assert_cmpstr (s, ==, "8×2×2");

  /* A conv on a flat input. */
  g_autoptr (GError) error2 = plan_error ("input=784,conv2d:8:3,flatten,linear:10");
  assert_error_says (error2, LAM_MODEL_ERROR_SHAPE, "layer 1 (conv2d)", "784", NULL);
}

static void
test_shape_pool_padding (void)
{
  g_autoptr (GError) error = plan_error ("input=1x28x28,maxpool2d:2:p2,flatten,linear:10");
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "layer 1 (maxpool2d)", "padding", "got 2",
                     NULL);
  g_autoptr (GError) error2 = plan_error ("input=1x28x28,avgpool2d:3:p2,flatten,linear:10");
  assert_error_says (error2, LAM_MODEL_ERROR_INVALID, "layer 1 (avgpool2d)", "padding", NULL);

  /* Half the kernel is allowed. */
  g_autoptr (LamModelSpec) spec = spec_from_text_or_die ("input=1x5x5,maxpool2d:3:s1:p1,flatten");
  g_autoptr (GError) none = NULL;
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &none);
  g_assert_no_error (none);
  g_assert_cmpuint (lam_shape_numel (&plan->output), ==, 25);

  g_autoptr (GError) error3 = plan_error ("input=1x2x2,maxpool2d:3,flatten");
  assert_error_says (error3, LAM_MODEL_ERROR_SHAPE, "layer 1 (maxpool2d)", "1×2×2", NULL);
}

/* Padding lets a window be far larger than its input; its FLOPs, outputs
 * times k*k, wrapped past 64 bits to 0 for 2^24 channels. */
static void
test_shape_pool_window_too_large (void)
{
  g_autoptr (GError) error =
    plan_error ("input=16777216x1x1,avgpool2d:16777216:p8388608,flatten,linear:1");
  assert_error_says (error, LAM_MODEL_ERROR_SHAPE, "layer 1 (avgpool2d)", "too large", NULL);

  g_autoptr (LamModelSpec) spec =
    spec_from_text_or_die ("input=1x1x1,maxpool2d:16777216:p8388608,flatten");
  g_autoptr (GError) none = NULL;
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &none);
  g_assert_no_error (none);
  g_assert_cmpuint (plan->layers[0].flops, ==, G_GUINT64_CONSTANT (1) << 48);

  /* Four such pools of about 2^62 FLOPs each: their total wrapped. */
  g_autoptr (GError) error2 =
    plan_error ("input=1x1024x1024,maxpool2d:2097152:s1:p1048576,maxpool2d:2097152:s1:p1048576,"
                "maxpool2d:2097152:s1:p1048576,maxpool2d:2097152:s1:p1048576,flatten,linear:1");
  assert_error_says (error2, LAM_MODEL_ERROR_SHAPE, "layer 4 (maxpool2d)", "FLOPs", NULL);
}

static void
test_shape_softmax_rank3 (void)
{
  g_autoptr (GError) error = plan_error ("input=1x28x28,softmax,flatten,linear:10");
  assert_error_says (error, LAM_MODEL_ERROR_SHAPE, "layer 1 (softmax)", "1×28×28", NULL);
  g_autoptr (GError) error2 = plan_error ("input=1x28x28,relu,log_softmax");
  assert_error_says (error2, LAM_MODEL_ERROR_SHAPE, "layer 2 (log_softmax)", "layer 1 (relu)",
                     NULL);
}

static void
test_shape_not_flat_output (void)
{
  g_autoptr (GError) error = plan_error ("input=1x28x28,conv2d:32:3:p1,maxpool2d:2,conv2d:64:3:p1,"
                                         "maxpool2d:2");
  assert_error_says (error, LAM_MODEL_ERROR_SHAPE, "layer 4, maxpool2d", "64×7×7", "flatten",
                     NULL);
}

static void
test_shape_empty_stack (void)
{
  g_autoptr (LamModelSpec) spec = lam_model_spec_new ();
  spec->has_input = TRUE;
  spec->input = lam_shape_flat (10);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &error);
  g_assert_null (plan);
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "no layers", NULL);
  g_clear_error (&error);

  g_autoptr (LamModelSpec) json = lam_model_spec_from_json ("{\"layers\": []}", -1, &error);
  g_assert_no_error (error);
  json->has_input = TRUE;
  json->input = lam_shape_flat (10);
  g_autoptr (LamModelPlan) plan2 = lam_model_plan_new (json, &error);
  g_assert_null (plan2);
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "no layers", NULL);
  g_clear_error (&error);

  g_autoptr (GError) error2 = text_error ("  ");
  assert_error_says (error2, LAM_MODEL_ERROR_INVALID, "no layers", NULL);
  g_autoptr (GError) error3 = text_error ("input=784");
  assert_error_says (error3, LAM_MODEL_ERROR_INVALID, "no layers", NULL);
}

static void
test_shape_no_input (void)
{
  g_autoptr (LamModelSpec) spec = spec_from_text_or_die ("flatten,linear:10");
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &error);
  g_assert_null (plan);
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "no input shape", NULL);
}

/* JSON errors */

static void
test_json_unknown_layer (void)
{
  g_autoptr (GError) error = json_error ("{\"layers\": [{\"type\": \"flatten\"}, {\"type\": "
                                         "\"relu\"}, {\"type\": \"conv3d\"}]}");
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "layer 3", "unknown type \"conv3d\"",
                     "linear", "conv2d", "log_softmax", NULL);
}

static void
test_json_non_positive (void)
{
  g_autoptr (GError) error = json_error ("{\"layers\": [{\"type\": \"flatten\"}, {\"type\": "
                                         "\"linear\", \"out\": 0}]}");
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "layer 2 (linear)", "out", "positive",
                     "got 0", NULL);
  g_autoptr (GError) error2 = json_error ("{\"layers\": [{\"type\": \"conv2d\", \"out\": 8, "
                                          "\"kernel\": -3}]}");
  assert_error_says (error2, LAM_MODEL_ERROR_INVALID, "layer 1 (conv2d)", "kernel", "-3", NULL);
  g_autoptr (GError) error3 = json_error ("{\"layers\": [{\"type\": \"conv2d\", \"out\": 8, "
                                          "\"kernel\": 3, \"padding\": -1}]}");
  assert_error_says (error3, LAM_MODEL_ERROR_INVALID, "layer 1 (conv2d)", "padding", "-1", NULL);
  g_autoptr (GError) error4 = json_error ("{\"layers\": [{\"type\": \"dropout\", \"p\": 1.5}]}");
  assert_error_says (error4, LAM_MODEL_ERROR_INVALID, "layer 1 (dropout)", "p", "1.5", NULL);
  g_autoptr (GError) error5 = json_error ("{\"input\": [1, 0, 28], \"layers\": []}");
  assert_error_says (error5, LAM_MODEL_ERROR_INVALID, "input", "dimension 2", NULL);
  g_autoptr (GError) error6 = json_error ("{\"layers\": [{\"type\": \"linear\", \"out\": "
                                          "100000000000}]}");
  assert_error_says (error6, LAM_MODEL_ERROR_INVALID, "layer 1 (linear)", "out", "too large",
                     NULL);
}

static void
test_json_non_integer (void)
{
  g_autoptr (GError) error = json_error ("{\"layers\": [{\"type\": \"flatten\"}, {\"type\": "
                                         "\"linear\", \"out\": 2.5}]}");
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "layer 2 (linear)", "out", "2.5", NULL);
  g_autoptr (GError) error2 = json_error ("{\"layers\": [{\"type\": \"linear\", \"out\": "
                                          "\"10\"}]}");
  assert_error_says (error2, LAM_MODEL_ERROR_INVALID, "layer 1 (linear)", "out", "a string", NULL);
  g_autoptr (GError) error3 = json_error ("{\"layers\": [{\"type\": \"linear\", \"out\": 10, "
                                          "\"bias\": 1}]}");
  assert_error_says (error3, LAM_MODEL_ERROR_INVALID, "layer 1 (linear)", "bias", NULL);
  g_autoptr (GError) error4 = json_error ("{\"input\": [1, 28.5, 28], \"layers\": []}");
  assert_error_says (error4, LAM_MODEL_ERROR_INVALID, "input", "28.5", NULL);

  /* An integral number written as 10.0 is still 10. */
  g_autoptr (GError) none = NULL;
  g_autoptr (LamModelSpec) spec =
    lam_model_spec_from_json ("{\"layers\": [{\"type\": \"linear\", \"out\": 10.0}]}", -1, &none);
  g_assert_no_error (none);
  g_assert_cmpint (spec->layers[0].out, ==, 10);
}

static void
test_json_missing_field (void)
{
  g_autoptr (GError) error = json_error ("{\"layers\": [{\"type\": \"flatten\"}, {\"type\": "
                                         "\"linear\"}]}");
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "layer 2 (linear)", "missing", "out", NULL);
  g_autoptr (GError) error2 = json_error ("{\"layers\": [{\"type\": \"conv2d\", \"out\": 3}]}");
  assert_error_says (error2, LAM_MODEL_ERROR_INVALID, "layer 1 (conv2d)", "missing", "kernel",
                     NULL);
  g_autoptr (GError) error3 = json_error ("{\"layers\": [{\"out\": 3}]}");
  assert_error_says (error3, LAM_MODEL_ERROR_INVALID, "layer 1", "missing", "type", NULL);
  g_autoptr (GError) error4 = json_error ("{\"input\": [1, 28, 28]}");
  assert_error_says (error4, LAM_MODEL_ERROR_INVALID, "missing", "layers", NULL);
}

static void
test_json_unknown_field (void)
{
  g_autoptr (GError) error = json_error ("{\"layers\": [{\"type\": \"flatten\"}, {\"type\": "
                                         "\"linear\", \"out\": 10, \"outs\": 3}]}");
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "layer 2 (linear)", "\"outs\"", NULL);
  g_autoptr (GError) error2 = json_error ("{\"layers\": [{\"type\": \"relu\", \"kernel\": 3}]}");
  assert_error_says (error2, LAM_MODEL_ERROR_INVALID, "layer 1 (relu)", "\"kernel\"", NULL);
  g_autoptr (GError) error3 = json_error ("{\"layer\": []}");
  assert_error_says (error3, LAM_MODEL_ERROR_INVALID, "\"layer\"", NULL);
}

static void
test_json_bad_json (void)
{
  g_autoptr (GError) error = json_error ("{\"layers\": [\n  {\"type\": \"relu\"},\n]}");
  assert_error_says (error, LAM_MODEL_ERROR_PARSE, "JSON", ":2:", NULL);
  g_autoptr (GError) error2 = json_error ("");
  assert_error_says (error2, LAM_MODEL_ERROR_PARSE, "empty", NULL);
  g_autoptr (GError) error3 = json_error ("[1, 2]");
  assert_error_says (error3, LAM_MODEL_ERROR_PARSE, "object", NULL);
  g_autoptr (GError) error4 = json_error ("{\"layers\": [{\"type\": \"relu\"}, 3]}");
  assert_error_says (error4, LAM_MODEL_ERROR_INVALID, "layer 2", "object", NULL);
  g_autoptr (GError) error5 = json_error ("{\"layers\": {\"type\": \"relu\"}}");
  assert_error_says (error5, LAM_MODEL_ERROR_INVALID, "layers", "array", NULL);
  g_autoptr (GError) error6 = json_error ("{\"loss\": \"hinge\", \"layers\": []}");
  assert_error_says (error6, LAM_MODEL_ERROR_INVALID, "hinge", "l1", NULL);
  g_autoptr (GError) error7 = json_error ("{\"input\": [28, 28], \"layers\": []}");
  assert_error_says (error7, LAM_MODEL_ERROR_INVALID, "input", "1 or 3", NULL);
}

/* A million '[' overflowed the stack in json-glib's reader. Brackets
 * inside a string are text. */
static void
test_json_too_deep (void)
{
  const int depth = 1000000;
  GString *s = g_string_new ("{\"layers\": ");
  for (int i = 0; i < depth; i++)
    g_string_append_c (s, '[');
  for (int i = 0; i < depth; i++)
    g_string_append_c (s, ']');
  g_string_append_c (s, '}');
  g_autofree char *deep = g_string_free (s, FALSE);
  g_autoptr (GError) error = json_error (deep);
  assert_error_says (error, LAM_MODEL_ERROR_PARSE, "more than 64 deep", NULL);

  g_autofree char *brackets = g_strnfill (1000, '[');
  g_autofree char *named = g_strdup_printf (
    "{\"name\": \"\\\"%s\", \"input\": [4], \"layers\": [{\"type\": \"relu\"}]}", brackets);
  g_autoptr (GError) error2 = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_json (named, -1, &error2);
  g_assert_no_error (error2);
  g_assert_true (g_str_has_suffix (spec->name, brackets));
}

/* Text */

static void
test_text_same_as_json (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (presets); i++) {
    g_autoptr (LamModelSpec) json = lam_model_spec_preset (presets[i].name, NULL);
    g_autofree char *text = lam_model_spec_to_text (json);
    g_autoptr (GError) error = NULL;
    g_autoptr (LamModelSpec) parsed = lam_model_spec_from_text (text, &error);
    g_assert_no_error (error);
    g_assert_null (parsed->name);
    assert_same_layers (json, parsed);
    g_assert_true (lam_shape_equal (&json->input, &parsed->input));
  }

  g_autoptr (LamModelSpec) preset = lam_model_spec_preset ("small-cnn", NULL);
  g_autoptr (LamModelSpec) text = spec_from_text_or_die (
    " input = 1x28x28 , conv:32:3:p1, relu, maxpool:2, conv2d:64:3x3:padding=1, ReLU,"
    " maxpool2d:2:s2, flatten, dense:128, relu, fc:10, loss=ce ");
  g_assert_true (text->has_input);
  g_assert_true (lam_shape_equal (&text->input, &preset->input));
  g_assert_cmpint (text->loss, ==, LAM_LOSS_CROSS_ENTROPY);
  assert_same_layers (preset, text);

  g_autoptr (LamModelSpec) mlp = lam_model_spec_preset ("mlp", NULL);
  g_autoptr (LamModelSpec) mlp_text = spec_from_text_or_die (
    "flatten,linear:256,relu,linear:128,relu,linear:64,relu,linear:10,logsoftmax");
  assert_same_layers (mlp, mlp_text);
}

static void
test_text_bad_number (void)
{
  g_autoptr (GError) error = text_error ("flatten,relu,linear:abc");
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "item 3 \"linear:abc\"", "out",
                     "positive integer", "\"abc\"", NULL);
  g_autoptr (GError) error2 = text_error ("conv2d:32:3.5");
  assert_error_says (error2, LAM_MODEL_ERROR_INVALID, "item 1", "kernel", "3.5", NULL);
  g_autoptr (GError) error3 = text_error ("flatten,dropout:half");
  assert_error_says (error3, LAM_MODEL_ERROR_INVALID, "item 2", "p", "half", NULL);
  g_autoptr (GError) error4 = text_error ("input=1x28xA,flatten");
  assert_error_says (error4, LAM_MODEL_ERROR_INVALID, "item 1", "input", NULL);
  g_autoptr (GError) error5 = text_error ("conv2d:32:3:p-1");
  assert_error_says (error5, LAM_MODEL_ERROR_INVALID, "item 1", "padding", "\"-1\"", NULL);
}

/* 1e-400 is a number, but not one a double holds: it is refused as too
 * close to 0 (it used to say "must be a number"), 1e400 as too large, and
 * a float argument that would round to 0 as well, saying what is taken. */
static void
test_text_unheld_number (void)
{
  g_autoptr (GError) tiny = text_error ("input=4,dropout:1e-400,linear:2");
  assert_error_says (tiny, LAM_MODEL_ERROR_INVALID, "p 1e-400 is too close to 0", "would read as 0",
                     "p must be at least 0 and below 1", NULL);
  g_assert_null (strstr (tiny->message, "must be a number"));
  g_autoptr (GError) huge = text_error ("input=4,dropout:1e400,linear:2");
  assert_error_says (huge, LAM_MODEL_ERROR_INVALID, "p 1e400 is too large",
                     "p must be at least 0 and below 1", NULL);
  g_autoptr (GError) negative = text_error ("input=4,leaky_relu:-1e400,linear:2");
  assert_error_says (negative, LAM_MODEL_ERROR_INVALID, "slope -1e400 is too large", NULL);
  g_autoptr (GError) infinite = text_error ("input=4,dropout:inf,linear:2");
  assert_error_says (infinite, LAM_MODEL_ERROR_INVALID, "p must be a finite number", NULL);
  g_autoptr (GError) slope = text_error ("input=4,leaky_relu:1e-50,linear:2");
  assert_error_says (slope, LAM_MODEL_ERROR_INVALID, "slope 1e-50 is too close to 0 for a 32-bit",
                     "write 0", NULL);
  /* Below DBL_MIN a double still holds the number. */
  g_autoptr (LamModelSpec) small = spec_from_text_or_die ("input=4,dropout:1e-310,linear:2");
  g_assert_cmpfloat (small->layers[0].p, ==, 1e-310);
}

/* json-glib reads 1e-400 as 0 and a whole number past 64 bits as another
 * one, without a word: such numbers are refused, naming the member. */
static void
test_json_unheld_number (void)
{
  g_autoptr (GError) json = json_error ("{\"input\": [4], \"layers\": [{\"type\": \"dropout\", "
                                        "\"p\": 1e-400}, {\"type\": \"linear\", \"out\": 2}]}");
  assert_error_says (json, LAM_MODEL_ERROR_INVALID, "\"layers[0].p\" is 1e-400, too close to 0",
                     NULL);
  g_autoptr (GError) wide = json_error ("{\"input\": [4], \"layers\": [{\"type\": \"linear\", "
                                        "\"out\": 18446744073709551617}]}");
  assert_error_says (wide, LAM_MODEL_ERROR_INVALID, "\"layers[0].out\" is 18446744073709551617",
                     "past 64 bits", NULL);
}

static void
test_text_non_positive (void)
{
  g_autoptr (GError) error = text_error ("flatten,linear:0");
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "item 2 \"linear:0\"", "out", "got \"0\"",
                     NULL);
  g_autoptr (GError) error2 = text_error ("conv2d:8:-3");
  assert_error_says (error2, LAM_MODEL_ERROR_INVALID, "item 1", "kernel", "-3", NULL);
  g_autoptr (GError) error3 = text_error ("maxpool2d:2:s0");
  assert_error_says (error3, LAM_MODEL_ERROR_INVALID, "item 1", "stride", NULL);
  g_autoptr (GError) error4 = text_error ("dropout:1");
  assert_error_says (error4, LAM_MODEL_ERROR_INVALID, "item 1", "p", NULL);
  g_autoptr (GError) error5 = text_error ("input=0x28x28,flatten");
  assert_error_says (error5, LAM_MODEL_ERROR_INVALID, "item 1", "input", NULL);
}

/* A whole number past an argument's largest value is told so, as the JSON
 * reader tells it: "must be a positive integer, got 99999999" said nothing
 * of what was wrong. */
static void
test_text_too_large (void)
{
  g_autoptr (GError) error = text_error ("flatten,linear:99999999");
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "item 2 \"linear:99999999\"",
                     "out 99999999 is too large (at most 16777216)", NULL);
  g_autoptr (GError) error2 = text_error ("conv2d:8:99999999x99999999");
  assert_error_says (error2, LAM_MODEL_ERROR_INVALID, "kernel 99999999x99999999 is too large",
                     NULL);
  g_autoptr (GError) error3 = text_error ("flatten,linear:99999999999999999999999");
  assert_error_says (error3, LAM_MODEL_ERROR_INVALID, "is too large (at most 16777216)", NULL);
  g_autoptr (GError) error4 = text_error ("maxpool2d:2:stride=+20000000");
  assert_error_says (error4, LAM_MODEL_ERROR_INVALID, "stride +20000000 is too large", NULL);
  /* Too small, or no whole number: what kind of number is wanted. */
  g_autoptr (GError) error5 = text_error ("conv2d:8:3:p-1");
  assert_error_says (error5, LAM_MODEL_ERROR_INVALID, "non-negative integer", NULL);
  g_autoptr (GError) error6 = text_error ("flatten,linear:1e3");
  assert_error_says (error6, LAM_MODEL_ERROR_INVALID, "positive integer", "\"1e3\"", NULL);
  g_autoptr (GError) error7 = text_error ("flatten,linear:0x10");
  assert_error_says (error7, LAM_MODEL_ERROR_INVALID, "positive integer", "\"0x10\"", NULL);
  g_autoptr (GError) error8 = text_error ("conv2d:8:3x99999999");
  assert_error_says (error8, LAM_MODEL_ERROR_INVALID, "kernel", NULL);
}

static void
test_text_structure (void)
{
  g_autoptr (GError) error = text_error ("flatten,conv3d:3,linear:10");
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, "item 2", "unknown layer \"conv3d\"", "linear",
                     NULL);
  g_autoptr (GError) error2 = text_error ("flatten,,linear:10");
  assert_error_says (error2, LAM_MODEL_ERROR_PARSE, "item 2", "empty", NULL);
  g_autoptr (GError) error3 = text_error ("flatten,linear");
  assert_error_says (error3, LAM_MODEL_ERROR_INVALID, "item 2", "output size", NULL);
  g_autoptr (GError) error4 = text_error ("conv2d:8");
  assert_error_says (error4, LAM_MODEL_ERROR_INVALID, "item 1", "kernel", NULL);
  g_autoptr (GError) error5 = text_error ("relu:3");
  assert_error_says (error5, LAM_MODEL_ERROR_PARSE, "item 1", "no arguments", NULL);
  g_autoptr (GError) error6 = text_error ("flatten,input=784");
  assert_error_says (error6, LAM_MODEL_ERROR_PARSE, "item 2", "first", NULL);
  g_autoptr (GError) error7 = text_error ("loss=nll,flatten");
  assert_error_says (error7, LAM_MODEL_ERROR_PARSE, "item 1", "last", NULL);
  g_autoptr (GError) error8 = text_error ("linear:10:q3");
  assert_error_says (error8, LAM_MODEL_ERROR_PARSE, "item 1", "\"q3\"", NULL);
  g_autoptr (GError) error9 = text_error ("flatten,linear:10,loss=hinge");
  assert_error_says (error9, LAM_MODEL_ERROR_INVALID, "item 3", "hinge", "l1", NULL);
  g_autoptr (GError) error10 = text_error ("maxpool2d:2:in=3");
  assert_error_says (error10, LAM_MODEL_ERROR_INVALID, "item 1", "in", NULL);
}

/* Round trips */

static const char *const round_trip_texts[] = {
  "input=3x32x32,conv2d:16:5:s2:p2:nobias,leaky_relu:0.1,avgpool2d:3:s1:p1,maxpool2d:2,"
  "sigmoid,flatten,dropout:0.3,linear:64:in=1024,tanh,dropout,leaky_relu,linear:10:nobias,"
  "softmax,loss=mse",
  "flatten,linear:10",
  "input=784,linear:10,log_softmax,loss=nll",
  "input=3,linear:2,loss=l1",
};

static void
test_round_trip_json (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (presets); i++) {
    g_autoptr (LamModelSpec) spec = lam_model_spec_preset (presets[i].name, NULL);
    g_autofree char *json = lam_model_spec_to_json (spec);
    g_autoptr (GError) error = NULL;
    g_autoptr (LamModelSpec) back = lam_model_spec_from_json (json, -1, &error);
    g_assert_no_error (error);
    assert_same_spec (spec, back);
    g_autofree char *json2 = lam_model_spec_to_json (back);
    g_assert_cmpstr (json, ==, json2);
  }
  for (gsize i = 0; i < G_N_ELEMENTS (round_trip_texts); i++) {
    g_autoptr (LamModelSpec) spec = spec_from_text_or_die (round_trip_texts[i]);
    spec->name = g_strdup ("a \"quoted\" name\twith ünïcode");
    g_autofree char *json = lam_model_spec_to_json (spec);
    g_autoptr (GError) error = NULL;
    g_autoptr (LamModelSpec) back = lam_model_spec_from_json (json, -1, &error);
    g_assert_no_error (error);
    assert_same_spec (spec, back);
  }

  /* Only fields that differ from the defaults are written. */
  g_autoptr (LamModelSpec) cnn = lam_model_spec_preset ("small-cnn", NULL);
  g_autofree char *json = lam_model_spec_to_json (cnn);
  g_assert_null (strstr (json, "stride"));
  g_assert_null (strstr (json, "bias"));
  g_assert_nonnull (strstr (json, "{\"type\": \"conv2d\", \"out\": 32, \"kernel\": 3, "
                                  "\"padding\": 1}"));
  g_assert_nonnull (strstr (json, "\"input\": [1, 28, 28]"));
}

static void
test_round_trip_text (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (round_trip_texts); i++) {
    g_autoptr (LamModelSpec) spec = spec_from_text_or_die (round_trip_texts[i]);
    g_autofree char *text = lam_model_spec_to_text (spec);
    g_assert_cmpstr (text, ==, round_trip_texts[i]);
    g_autoptr (LamModelSpec) back = spec_from_text_or_die (text);
    assert_same_spec (spec, back);
  }

  /* Awkward floats survive exactly. */
  g_autoptr (LamModelSpec) spec = lam_model_spec_new ();
  LamLayerSpec drop = lam_layer_spec_default (LAM_LAYER_DROPOUT);
  drop.p = 1.0f / 3.0f;
  LamLayerSpec leaky = lam_layer_spec_default (LAM_LAYER_LEAKY_RELU);
  leaky.slope = -1e-7f;
  lam_model_spec_append (spec, &drop);
  lam_model_spec_append (spec, &leaky);
  g_autofree char *text = lam_model_spec_to_text (spec);
  g_autoptr (LamModelSpec) back = spec_from_text_or_die (text);
  assert_same_spec (spec, back);
  g_autofree char *json = lam_model_spec_to_json (spec);
  g_autoptr (LamModelSpec) back2 = lam_model_spec_from_json (json, -1, NULL);
  g_assert_nonnull (back2);
  assert_same_spec (spec, back2);
}

static void
test_copy (void)
{
  g_autoptr (LamModelSpec) spec = lam_model_spec_preset ("cifar10-cnn", NULL);
  g_autoptr (LamModelSpec) copy = lam_model_spec_copy (spec);
  g_assert_true (copy->layers != spec->layers);
  g_assert_true (copy->name != spec->name);
  assert_same_spec (spec, copy);
  copy->layers[0].out = 1;
  g_assert_cmpint (spec->layers[0].out, ==, 32);

  g_autoptr (LamModelSpec) empty = lam_model_spec_new ();
  g_autoptr (LamModelSpec) empty_copy = lam_model_spec_copy (empty);
  g_assert_cmpint (empty_copy->n_layers, ==, 0);
}

/* Names */

static void
test_kind_names (void)
{
  for (int i = 0; i < LAM_N_LAYER_KINDS; i++) {
    LamLayerKind kind;
    const char *name = lam_layer_kind_to_string ((LamLayerKind) i);
    g_assert_true (lam_layer_kind_from_string (name, &kind));
    g_assert_cmpint (kind, ==, i);
  }
  static const struct
  {
    const char *alias;
    LamLayerKind kind;
  } aliases[] = {
    { "logsoftmax", LAM_LAYER_LOG_SOFTMAX }, { "LeakyReLU", LAM_LAYER_LEAKY_RELU },
    { "maxpool", LAM_LAYER_MAXPOOL2D },      { "AvgPool", LAM_LAYER_AVGPOOL2D },
    { "conv", LAM_LAYER_CONV2D },            { "fc", LAM_LAYER_LINEAR },
    { "Dense", LAM_LAYER_LINEAR },           { "LINEAR", LAM_LAYER_LINEAR },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (aliases); i++) {
    LamLayerKind kind;
    g_assert_true (lam_layer_kind_from_string (aliases[i].alias, &kind));
    g_assert_cmpint (kind, ==, aliases[i].kind);
  }
  LamLayerKind kind;
  g_assert_false (lam_layer_kind_from_string ("conv3d", &kind));
  g_assert_false (lam_layer_kind_from_string ("", &kind));

  g_assert_true (lam_layer_kind_has_params (LAM_LAYER_LINEAR));
  g_assert_true (lam_layer_kind_has_params (LAM_LAYER_CONV2D));
  g_assert_false (lam_layer_kind_has_params (LAM_LAYER_MAXPOOL2D));
  g_assert_false (lam_layer_kind_has_params (LAM_LAYER_DROPOUT));

  LamLayerSpec conv = lam_layer_spec_default (LAM_LAYER_CONV2D);
  g_assert_cmpint (conv.stride, ==, 1);
  g_assert_true (conv.bias);
  g_assert_cmpfloat (lam_layer_spec_default (LAM_LAYER_DROPOUT).p, ==, 0.5f);
  g_assert_cmpfloat (lam_layer_spec_default (LAM_LAYER_LEAKY_RELU).slope, ==, 0.01f);
  g_assert_cmpint (lam_layer_spec_default (LAM_LAYER_MAXPOOL2D).stride, ==, 0);

  static const char *const losses[] = { "cross_entropy", "nll", "mse", "l1" };
  for (int i = 0; i < 4; i++) {
    LamLossKind loss;
    g_assert_cmpstr (lam_loss_kind_to_string ((LamLossKind) i), ==, losses[i]);
    g_assert_true (lam_loss_kind_from_string (losses[i], &loss));
    g_assert_cmpint (loss, ==, i);
  }
  LamLossKind loss;
  g_assert_true (lam_loss_kind_from_string ("crossentropy", &loss));
  g_assert_cmpint (loss, ==, LAM_LOSS_CROSS_ENTROPY);
  g_assert_true (lam_loss_kind_from_string ("MAE", &loss));
  g_assert_cmpint (loss, ==, LAM_LOSS_L1);
  g_assert_true (lam_loss_kind_is_regression (LAM_LOSS_L1));
  g_assert_true (lam_loss_kind_is_regression (LAM_LOSS_MSE));
  g_assert_false (lam_loss_kind_is_regression (LAM_LOSS_NLL));
  g_assert_true (lam_loss_kind_from_string ("ce", &loss));
  g_assert_cmpint (loss, ==, LAM_LOSS_CROSS_ENTROPY);
  g_assert_false (lam_loss_kind_from_string ("hinge", &loss));
}

/* from_string and files */

static void
test_from_string (void)
{
  g_autoptr (GError) error = NULL;

  g_autoptr (LamModelSpec) preset = lam_model_spec_from_string ("mlp", &error);
  g_assert_no_error (error);
  g_assert_cmpint (preset->n_layers, ==, 9);

  g_autoptr (LamModelSpec) inline_json =
    lam_model_spec_from_string ("  {\"layers\": [{\"type\": \"relu\"}]}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (inline_json->layers[0].kind, ==, LAM_LAYER_RELU);

  g_autoptr (LamModelSpec) text = lam_model_spec_from_string ("flatten,linear:10", &error);
  g_assert_no_error (error);
  g_assert_cmpint (text->n_layers, ==, 2);

  g_autoptr (LamModelSpec) one = lam_model_spec_from_string ("relu", &error);
  g_assert_no_error (error);
  g_assert_cmpint (one->n_layers, ==, 1);

  g_autofree char *dir = g_dir_make_tmp ("lamina-spec-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "model.json", NULL);
  g_autofree char *json = lam_model_spec_to_json (preset);
  g_assert_true (g_file_set_contents (path, json, -1, &error));
  g_autoptr (LamModelSpec) file = lam_model_spec_from_string (path, &error);
  g_assert_no_error (error);
  assert_same_spec (preset, file);

  g_autofree char *missing = g_build_filename (dir, "missing.json", NULL);
  g_autoptr (LamModelSpec) none = lam_model_spec_from_string (missing, &error);
  g_assert_null (none);
  assert_error_says (error, LAM_MODEL_ERROR_NOT_FOUND, "missing.json", NULL);
  g_clear_error (&error);

  g_autoptr (LamModelSpec) typo = lam_model_spec_from_string ("smal-cnn", &error);
  g_assert_null (typo);
  assert_error_says (error, LAM_MODEL_ERROR_NOT_FOUND, "smal-cnn", "small-cnn", NULL);
  g_clear_error (&error);

  g_autoptr (LamModelSpec) loaded = lam_model_spec_load (missing, &error);
  g_assert_null (loaded);
  assert_error_says (error, LAM_MODEL_ERROR_NOT_FOUND, missing, NULL);
  g_clear_error (&error);

  /* Errors from a file name the file. */
  g_autofree char *bad = g_build_filename (dir, "bad.json", NULL);
  g_assert_true (g_file_set_contents (bad, "{\"layers\": [{\"type\": \"conv3d\"}]}", -1, &error));
  g_autoptr (LamModelSpec) bad_spec = lam_model_spec_load (bad, &error);
  g_assert_null (bad_spec);
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, bad, "conv3d", NULL);
  g_clear_error (&error);

  g_autofree char *broken = g_build_filename (dir, "broken.json", NULL);
  g_assert_true (g_file_set_contents (broken, "{\"layers\": [", -1, &error));
  g_autoptr (LamModelSpec) broken_spec = lam_model_spec_from_string (broken, &error);
  g_assert_null (broken_spec);
  assert_error_says (error, LAM_MODEL_ERROR_PARSE, broken, NULL);
  g_clear_error (&error);

  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_remove (bad), ==, 0);
  g_assert_cmpint (g_remove (broken), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* Initialisation */

static void
test_init_bounds (void)
{
  g_autoptr (LamModelSpec) spec = lam_model_spec_preset ("small-cnn", NULL);
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, NULL);
  g_assert_nonnull (plan);

  g_autofree float *a = g_new (float, plan->n_params);
  g_autofree float *b = g_new (float, plan->n_params);
  for (gsize i = 0; i < plan->n_params; i++)
    a[i] = b[i] = NAN;

  g_autoptr (GRand) rng_a = g_rand_new_with_seed (42);
  g_autoptr (GRand) rng_b = g_rand_new_with_seed (42);
  for (int i = 0; i < plan->n_layers; i++) {
    lam_layer_init (&plan->layers[i], a, rng_a);
    lam_layer_init (&plan->layers[i], b, rng_b);
  }
  g_assert_cmpmem (a, plan->n_params * sizeof (float), b, plan->n_params * sizeof (float));

  for (int i = 0; i < plan->n_layers; i++) {
    const LamLayer *layer = &plan->layers[i];
    if (layer->n_weights == 0)
      continue;
    int k = layer->spec.kind == LAM_LAYER_CONV2D ? layer->spec.kernel : 1;
    float bound = (float) (1.0 / sqrt ((double) layer->spec.in * k * k));
    gsize n = layer->n_weights + layer->n_bias;
    const float *w = a + layer->weight_offset;
    double sum = 0, max = 0;
    g_assert_cmpuint (layer->bias_offset, ==, layer->weight_offset + layer->n_weights);
    for (gsize j = 0; j < n; j++) {
      g_assert_false (isnan (w[j]));
      g_assert_cmpfloat (fabsf (w[j]), <=, bound);
      sum += w[j];
      max = MAX (max, fabs (w[j]));
    }
    /* Uniform over ±bound: the mean is near 0 and the values reach the bound. */
    g_assert_cmpfloat (fabs (sum / (double) n), <, 0.2 * bound);
    g_assert_cmpfloat (max, >, 0.9 * bound);
    g_assert_cmpfloat (w[0], !=, w[1]);
  }

  /* Another seed gives other values. */
  g_autoptr (GRand) rng_c = g_rand_new_with_seed (43);
  for (int i = 0; i < plan->n_layers; i++)
    lam_layer_init (&plan->layers[i], b, rng_c);
  g_assert_true (memcmp (a, b, plan->n_params * sizeof (float)) != 0);
}

/* Text that is not UTF-8 is refused by the field's name: json-glib passes
 * "\214" through as a raw byte, which no later save could write back. */
static void
test_json_not_utf8 (void)
{
  g_autoptr (GError) e1 = json_error ("{\"name\": \"\\214 net\", \"input\": [4], "
                                      "\"layers\": [{\"type\": \"linear\", \"out\": 2}]}");
  assert_error_says (e1, LAM_MODEL_ERROR_PARSE, "\"name\"", "UTF-8", NULL);
  g_autoptr (GError) e2 = json_error ("{\"input\": [4], \"layers\": [{\"type\": \"relu\"}, "
                                      "{\"type\": \"linear\\377\", \"out\": 2}]}");
  assert_error_says (e2, LAM_MODEL_ERROR_PARSE, "\"layers[1].type\"", "UTF-8", NULL);

  /* A name that is not UTF-8 when set by hand is written as valid UTF-8. */
  g_autoptr (LamModelSpec) spec = spec_from_text_or_die ("input=4,linear:2");
  spec->name = g_strdup ("caf\xe9");
  g_autofree char *json = lam_model_spec_to_json (spec);
  g_assert_true (g_utf8_validate (json, -1, NULL));
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) back = lam_model_spec_from_json (json, -1, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (back->name, "caf"));
}

/* Arguments are kept as 32-bit floats: what does not fit is refused with
 * the limit, never stored as inf or rounded into a value out of range. */
static void
test_text_float_range (void)
{
  g_autoptr (GError) e1 = text_error ("input=4,leaky_relu:1e300,linear:2");
  assert_error_says (e1, LAM_MODEL_ERROR_INVALID, "slope", "32-bit float", "3.40282e+38", NULL);
  g_autoptr (GError) e2 = text_error ("input=4,dropout:0.99999999999,linear:2");
  assert_error_says (e2, LAM_MODEL_ERROR_INVALID, "would drop every value", "0.99999994", NULL);
  g_autoptr (GError) e3 = json_error ("{\"input\": [4], \"layers\": [{\"type\": \"leaky_relu\", "
                                      "\"slope\": -1e39}, {\"type\": \"linear\", \"out\": 2}]}");
  assert_error_says (e3, LAM_MODEL_ERROR_INVALID, "slope", "32-bit float", NULL);
  /* A value just past a bound is quoted as given, not rounded onto it. */
  g_autoptr (GError) e4 = text_error ("input=4,dropout:1.0000001,linear:2");
  assert_error_says (e4, LAM_MODEL_ERROR_INVALID, "dropout", "got 1.0000001", NULL);
  g_autoptr (GError) e5 = json_error ("{\"input\": [4], \"layers\": [{\"type\": \"dropout\", "
                                      "\"p\": 1.0000001}, {\"type\": \"linear\", \"out\": 2}]}");
  assert_error_says (e5, LAM_MODEL_ERROR_INVALID, "got 1.0000001", NULL);
  g_autoptr (GError) e6 = json_error ("{\"input\": [4], \"layers\": [{\"type\": \"linear\", "
                                      "\"out\": 2.0000001}]}");
  assert_error_says (e6, LAM_MODEL_ERROR_INVALID, "got 2.0000001", NULL);
  /* p is kept as written: 0.9 stays 0.9 (not 0.899999976) through JSON
   * and text. */
  g_autoptr (LamModelSpec) nine = spec_from_text_or_die ("input=4,dropout:0.9,linear:2");
  g_assert_cmpfloat (nine->layers[0].p, ==, 0.9);
  g_autofree char *nine_json = lam_model_spec_to_json (nine);
  g_assert_nonnull (strstr (nine_json, "\"p\": 0.9}"));
  g_autofree char *nine_text = lam_model_spec_to_text (nine);
  g_assert_nonnull (strstr (nine_text, "dropout:0.9,"));
  /* The largest p that is below 1 as a float still works. */
  g_autoptr (LamModelSpec) spec = spec_from_text_or_die ("input=4,dropout:0.99999994,linear:2");
  g_autofree char *json = lam_model_spec_to_json (spec);
  g_assert_null (strstr (json, "inf"));
  g_assert_null (strstr (json, "nan"));
}

/* The layer table */

static gboolean
arg_in_range (const LamLayerArg *arg, double value)
{
  if (arg->type == LAM_VALUE_BOOL)
    return value == 0 || value == 1;
  if ((arg->flags & LAM_LAYER_ARG_AUTO) && value == 0)
    return TRUE;
  gboolean below = (arg->flags & LAM_LAYER_ARG_BELOW_MAX) ? value < arg->max : value <= arg->max;
  return value >= arg->min && below;
}

/* Every kind once under its own name and each alias, in any case; no name
 * or alias belongs to two kinds. */
static void
test_table_names (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (int k = 0; k < LAM_N_LAYER_KINDS; k++) {
    const LamLayerClass *klass = lam_layer_class ((LamLayerKind) k);
    g_assert_nonnull (klass);
    g_assert_cmpint (klass->kind, ==, k);
    g_assert_nonnull (klass->title);
    g_assert_nonnull (klass->description);
    g_assert_nonnull (klass->plan);
    g_assert_nonnull (klass->forward);
    g_assert_nonnull (klass->backward);
    g_assert_nonnull (klass->append_pytorch);
    g_assert_cmpstr (lam_layer_kind_to_string ((LamLayerKind) k), ==, klass->name);

    GPtrArray *names = g_ptr_array_new ();
    g_ptr_array_add (names, (gpointer) klass->name);
    for (int i = 0; klass->aliases != NULL && klass->aliases[i] != NULL; i++)
      g_ptr_array_add (names, (gpointer) klass->aliases[i]);
    for (guint i = 0; i < names->len; i++) {
      const char *name = names->pdata[i];
      g_autofree char *folded = g_ascii_strdown (name, -1);
      g_autofree char *upper = g_ascii_strup (name, -1);
      if (g_hash_table_contains (seen, folded))
        g_error ("\"%s\" names two layer kinds", name);
      g_hash_table_add (seen, g_strdup (folded));

      LamLayerKind kind = LAM_N_LAYER_KINDS;
      g_assert_true (lam_layer_kind_from_string (name, &kind));
      g_assert_cmpint (kind, ==, k);
      g_assert_true (lam_layer_kind_from_string (upper, &kind));
      g_assert_cmpint (kind, ==, k);
      g_assert_true (lam_layer_class_lookup (name) == klass);
    }
    g_ptr_array_unref (names);
  }
  g_assert_null (lam_layer_class (LAM_N_LAYER_KINDS));
  g_assert_null (lam_layer_class_lookup ("batchnorm"));
}

/* Each argument is described so that the readers, the writers and the
 * Model page can use it: defaults and editors within the range, positions
 * in order, one argument per short form. */
static void
test_table_args (void)
{
  const LamLayerArg *short_forms[128] = { NULL };

  for (int k = 0; k < LAM_N_LAYER_KINDS; k++) {
    const LamLayerClass *klass = lam_layer_class ((LamLayerKind) k);
    LamLayerSpec def = lam_layer_spec_default ((LamLayerKind) k);
    int last_position = 0;
    gboolean options_started = FALSE;

    for (guint i = 0; i < klass->n_args; i++) {
      const LamLayerArg *arg = &klass->args[i];
      g_test_message ("%s.%s", klass->name, arg->name);
      g_assert_nonnull (arg->name);
      g_assert_true (lam_layer_class_find_arg (klass, arg->name) == arg);
      g_assert_cmpuint (arg->offset + sizeof (int), <=, sizeof (LamLayerSpec));

      if (arg->flags & LAM_LAYER_ARG_REQUIRED) {
        g_assert_cmpint (arg->position, >, 0);
        g_assert_nonnull (arg->noun);
      } else {
        g_assert_true (arg_in_range (arg, arg->value));
        g_assert_cmpfloat (lam_layer_arg_get (arg, &def), ==,
                           arg->type == LAM_VALUE_FLOAT ? (float) arg->value : arg->value);
      }

      /* The text writes positional arguments first, in position order. */
      if (arg->position > 0) {
        g_assert_false (options_started);
        g_assert_cmpint (arg->position, ==, last_position + 1);
        g_assert_cmpint (arg->type, !=, LAM_VALUE_BOOL);
        last_position = arg->position;
      } else {
        options_started = TRUE;
      }

      if (arg->short_form != 0) {
        g_assert_cmpint (arg->position, ==, 0);
        const LamLayerArg *other = short_forms[(guchar) arg->short_form];
        g_assert_true (other == NULL || g_str_equal (other->name, arg->name));
        short_forms[(guchar) arg->short_form] = arg;
      }

      if (arg->auto_from != NULL) {
        g_assert_true (arg->flags & LAM_LAYER_ARG_AUTO);
        g_assert_nonnull (lam_layer_class_find_arg (klass, arg->auto_from));
      }

      if (arg->label != NULL && arg->type != LAM_VALUE_BOOL) {
        const LamLayerArgEditor *e = &arg->editor;
        g_assert_cmpfloat (e->step, >, 0);
        g_assert_cmpfloat (e->lower, <=, e->start);
        g_assert_cmpfloat (e->start, <=, e->upper);
        g_assert_true (arg_in_range (arg, e->lower));
        g_assert_true (arg_in_range (arg, e->upper));
        g_assert_true (arg_in_range (arg, e->start));
      }
    }

    g_assert_true ((klass->init != NULL) ==
                   lam_layer_class_has_state (klass, LAM_LAYER_STATE_PARAMETER));
    g_assert_true ((klass->n_states > 0) == (klass->state_layout != NULL));
  }
}

/* A layer of the kind with its defaults and required arguments at the
 * palette's values, after an input it fits, and followed by flatten when
 * its output is not flat. */
static LamModelSpec *
spec_of_one (const LamLayerSpec *layer)
{
  LamModelSpec *spec = lam_model_spec_new ();
  LamShape inputs[] = { lam_shape_chw (1, 28, 28), lam_shape_flat (784) };
  LamLayer planned;

  spec->has_input = TRUE;
  spec->input = inputs[0];
  if (!lam_layer_plan (&planned, layer, 0, &inputs[0], NULL, NULL)) {
    spec->input = inputs[1];
    g_assert_true (lam_layer_plan (&planned, layer, 0, &inputs[1], NULL, NULL));
  }
  lam_model_spec_append (spec, layer);
  if (planned.out_shape.rank != 1) {
    LamLayerSpec flatten = lam_layer_spec_default (LAM_LAYER_FLATTEN);
    lam_model_spec_append (spec, &flatten);
  }
  return spec;
}

static LamLayerSpec
layer_with_required (LamLayerKind kind)
{
  const LamLayerClass *klass = lam_layer_class (kind);
  LamLayerSpec layer = lam_layer_spec_default (kind);
  for (guint i = 0; i < klass->n_args; i++)
    if (klass->args[i].flags & LAM_LAYER_ARG_REQUIRED)
      lam_layer_arg_set (&klass->args[i], &layer, klass->args[i].editor.start);
  return layer;
}

static void
assert_plans_and_round_trips (const LamModelSpec *spec)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &error);
  g_assert_no_error (error);

  /* The state the kind describes is the parameters planning counted. */
  const LamLayer *layer = &plan->layers[0];
  const LamLayerClass *klass = lam_layer_class (layer->spec.kind);
  gsize n_params = 0;
  for (guint i = 0; i < klass->n_states; i++) {
    LamShape shape;
    gsize offset = klass->state_layout (layer, i, &shape);
    gsize numel = lam_shape_numel (&shape);
    if (klass->states[i].role == LAM_LAYER_STATE_PARAMETER && numel > 0) {
      g_assert_true (offset == layer->weight_offset || offset == layer->bias_offset);
      n_params += numel;
    }
  }
  g_assert_cmpuint (n_params, ==, layer->n_weights + layer->n_bias);

  g_autofree char *json = lam_model_spec_to_json (spec);
  g_autoptr (LamModelSpec) from_json = lam_model_spec_from_json (json, -1, &error);
  g_assert_no_error (error);
  assert_same_spec (spec, from_json);
  g_autofree char *json2 = lam_model_spec_to_json (from_json);
  g_assert_cmpstr (json, ==, json2);

  g_autofree char *text = lam_model_spec_to_text (spec);
  g_autoptr (LamModelSpec) from_text = lam_model_spec_from_text (text, &error);
  g_assert_no_error (error);
  assert_same_spec (spec, from_text);
  g_autofree char *text2 = lam_model_spec_to_text (from_text);
  g_assert_cmpstr (text, ==, text2);
}

/* Every kind from its defaults, from the palette's values, and with each
 * optional argument moved off its default, plans and reads back equal
 * from both JSON and text. */
static void
test_table_defaults_round_trip (void)
{
  for (int k = 0; k < LAM_N_LAYER_KINDS; k++) {
    const LamLayerClass *klass = lam_layer_class ((LamLayerKind) k);
    LamLayerSpec layer = layer_with_required ((LamLayerKind) k);
    g_test_message ("%s", klass->name);

    g_autoptr (LamModelSpec) spec = spec_of_one (&layer);
    assert_plans_and_round_trips (spec);

    for (guint i = 0; i < klass->n_args; i++) {
      const LamLayerArg *arg = &klass->args[i];
      if (arg->flags & LAM_LAYER_ARG_REQUIRED)
        continue;
      LamLayerSpec moved = layer;
      if (arg->type == LAM_VALUE_BOOL)
        lam_layer_arg_set (arg, &moved, arg->value == 0);
      else if (arg->label != NULL && arg->editor.start != arg->value)
        lam_layer_arg_set (arg, &moved, arg->editor.start);
      else if (arg->label != NULL)
        lam_layer_arg_set (arg, &moved, arg->value + arg->editor.step);
      else
        continue;
      g_test_message ("%s %s=%g", klass->name, arg->name, lam_layer_arg_get (arg, &moved));
      g_autoptr (LamModelSpec) moved_spec = spec_of_one (&moved);
      assert_plans_and_round_trips (moved_spec);
    }
  }
}

static void
assert_names_layer_and_arg (const GError *error, const char *where, const char *arg)
{
  g_autofree char *words = g_strdup_printf ("%s: %s ", where, arg);
  assert_error_says (error, LAM_MODEL_ERROR_INVALID, words, NULL);
}

/* A value out of an argument's range is refused by planning and by both
 * readers, naming the layer and the argument. */
static void
test_table_out_of_range (void)
{
  for (int k = 0; k < LAM_N_LAYER_KINDS; k++) {
    const LamLayerClass *klass = lam_layer_class ((LamLayerKind) k);
    g_autofree char *where = g_strdup_printf ("layer 1 (%s)", klass->name);

    for (guint i = 0; i < klass->n_args; i++) {
      const LamLayerArg *arg = &klass->args[i];
      double bad[3];
      int n_bad = 0;

      if (arg->type == LAM_VALUE_BOOL)
        continue;
      if (isfinite (arg->min))
        bad[n_bad++] = (arg->flags & LAM_LAYER_ARG_AUTO) && arg->min - 1 == 0 ? -1 : arg->min - 1;
      if (isfinite (arg->max))
        bad[n_bad++] = (arg->flags & LAM_LAYER_ARG_BELOW_MAX) ? arg->max
                       : arg->type == LAM_VALUE_INT ? arg->max + 1
                                                    : nextafter (arg->max, INFINITY);
      if (arg->type != LAM_VALUE_INT)
        bad[n_bad++] = NAN;

      for (int b = 0; b < n_bad; b++) {
        LamLayerSpec layer = layer_with_required ((LamLayerKind) k);
        g_autoptr (LamModelSpec) spec = spec_of_one (&layer);
        lam_layer_arg_set (arg, &spec->layers[0], bad[b]);
        g_test_message ("%s %s=%g", klass->name, arg->name, bad[b]);
        g_assert_false (arg_in_range (arg, lam_layer_arg_get (arg, &spec->layers[0])));

        g_autoptr (GError) plan_error = NULL;
        g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &plan_error);
        g_assert_null (plan);
        assert_names_layer_and_arg (plan_error, where, arg->name);

        g_autofree char *json = lam_model_spec_to_json (spec);
        g_autoptr (GError) json_error = NULL;
        g_autoptr (LamModelSpec) from_json = lam_model_spec_from_json (json, -1, &json_error);
        g_assert_null (from_json);
        assert_names_layer_and_arg (json_error, where, arg->name);

        /* The text names the item, which starts with the kind. */
        g_autofree char *text = lam_model_spec_to_text (spec);
        g_autoptr (GError) text_error = NULL;
        g_autoptr (LamModelSpec) from_text = lam_model_spec_from_text (text, &text_error);
        g_assert_null (from_text);
        g_autofree char *item = g_strdup_printf ("item 2 \"%s", klass->name);
        g_autofree char *says = g_strdup_printf ("\": %s ", arg->name);
        assert_error_says (text_error, LAM_MODEL_ERROR_INVALID, item, says, NULL);
      }
    }
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/model-spec/presets/parse-and-plan", test_presets_plan);
  g_test_add_func ("/model-spec/presets/list", test_presets_list);
  g_test_add_func ("/model-spec/presets/unknown", test_presets_unknown);
  g_test_add_func ("/model-spec/presets/loss", test_presets_loss);
  g_test_add_func ("/model-spec/plan/small-cnn-shapes", test_plan_small_cnn_shapes);
  g_test_add_func ("/model-spec/plan/linear-flops", test_plan_linear_flops);
  g_test_add_func ("/model-spec/plan/every-kind", test_plan_layer_kinds);
  g_test_add_func ("/model-spec/plan/one-layer", test_plan_layer_direct);
  g_test_add_func ("/model-spec/shape/linear-without-flatten", test_shape_linear_without_flatten);
  g_test_add_func ("/model-spec/shape/linear-in-mismatch", test_shape_linear_in_mismatch);
  g_test_add_func ("/model-spec/shape/conv-kernel-too-large", test_shape_conv_kernel_too_large);
  g_test_add_func ("/model-spec/shape/pool-padding", test_shape_pool_padding);
  g_test_add_func ("/model-spec/shape/pool-window-too-large", test_shape_pool_window_too_large);
  g_test_add_func ("/model-spec/shape/softmax-rank3", test_shape_softmax_rank3);
  g_test_add_func ("/model-spec/shape/not-flat-output", test_shape_not_flat_output);
  g_test_add_func ("/model-spec/shape/empty-stack", test_shape_empty_stack);
  g_test_add_func ("/model-spec/shape/no-input", test_shape_no_input);
  g_test_add_func ("/model-spec/json/unknown-layer", test_json_unknown_layer);
  g_test_add_func ("/model-spec/json/non-positive", test_json_non_positive);
  g_test_add_func ("/model-spec/json/non-integer", test_json_non_integer);
  g_test_add_func ("/model-spec/json/missing-field", test_json_missing_field);
  g_test_add_func ("/model-spec/json/unknown-field", test_json_unknown_field);
  g_test_add_func ("/model-spec/json/bad-json", test_json_bad_json);
  g_test_add_func ("/model-spec/json/too-deep", test_json_too_deep);
  g_test_add_func ("/model-spec/json/not-utf8", test_json_not_utf8);
  g_test_add_func ("/model-spec/json/unheld-number", test_json_unheld_number);
  g_test_add_func ("/model-spec/text/float-range", test_text_float_range);
  g_test_add_func ("/model-spec/text/same-as-json", test_text_same_as_json);
  g_test_add_func ("/model-spec/text/bad-number", test_text_bad_number);
  g_test_add_func ("/model-spec/text/unheld-number", test_text_unheld_number);
  g_test_add_func ("/model-spec/text/non-positive", test_text_non_positive);
  g_test_add_func ("/model-spec/text/too-large", test_text_too_large);
  g_test_add_func ("/model-spec/text/structure", test_text_structure);
  g_test_add_func ("/model-spec/round-trip/json", test_round_trip_json);
  g_test_add_func ("/model-spec/round-trip/text", test_round_trip_text);
  g_test_add_func ("/model-spec/copy", test_copy);
  g_test_add_func ("/model-spec/names", test_kind_names);
  g_test_add_func ("/model-spec/from-string", test_from_string);
  g_test_add_func ("/model-spec/init/bounds-and-seed", test_init_bounds);
  g_test_add_func ("/model-spec/table/names", test_table_names);
  g_test_add_func ("/model-spec/table/args", test_table_args);
  g_test_add_func ("/model-spec/table/defaults-round-trip", test_table_defaults_round_trip);
  g_test_add_func ("/model-spec/table/out-of-range", test_table_out_of_range);

  return g_test_run ();
}
