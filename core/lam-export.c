/* lam-export.c: writes a PyTorch script that rebuilds a Lamina model, loads
 * its .safetensors weights with torch alone, and can train it again with
 * the settings Lamina used. */
#include "lam-export.h"

#include <math.h>
#include <string.h>

#include "lam-layer-class.h"
#include "lamina-config.h"

G_DEFINE_QUARK (lam-export-error-quark, lam_export_error)

static const char *const dataset_names[] = {
  [LAM_EXPORT_DATASET_FASHION_MNIST] = "fashion-mnist",
  [LAM_EXPORT_DATASET_MNIST] = "mnist",
  [LAM_EXPORT_DATASET_KMNIST] = "kmnist",
  [LAM_EXPORT_DATASET_CIFAR10] = "cifar10",
  [LAM_EXPORT_DATASET_FOLDER] = "folder",
};

/* torchvision.datasets class and a name for the comments. */
static const struct
{
  const char *class_name;
  const char *title;
} torchvision_datasets[] = {
  [LAM_EXPORT_DATASET_FASHION_MNIST] = { "FashionMNIST", "Fashion-MNIST" },
  [LAM_EXPORT_DATASET_MNIST] = { "MNIST", "MNIST" },
  [LAM_EXPORT_DATASET_KMNIST] = { "KMNIST", "KMNIST" },
  [LAM_EXPORT_DATASET_CIFAR10] = { "CIFAR10", "CIFAR-10" },
};

const char *
lam_export_dataset_to_string (LamExportDataset dataset)
{
  g_return_val_if_fail ((int) dataset >= 0 && (int) dataset < (int) G_N_ELEMENTS (dataset_names), NULL);
  return dataset_names[dataset];
}

LamExportDataset
lam_export_dataset_for_dir (const char *dir)
{
  g_return_val_if_fail (dir != NULL, LAM_EXPORT_DATASET_FOLDER);

  g_autofree char *base = g_path_get_basename (dir);
  g_autofree char *name = g_ascii_strdown (base, -1);
  if (strstr (name, "fashion") != NULL)
    return LAM_EXPORT_DATASET_FASHION_MNIST;
  if (strstr (name, "kmnist") != NULL)
    return LAM_EXPORT_DATASET_KMNIST;
  if (strstr (name, "cifar") != NULL)
    return LAM_EXPORT_DATASET_CIFAR10;
  if (strstr (name, "mnist") != NULL)
    return LAM_EXPORT_DATASET_MNIST;

  /* Lamina reads CIFAR-10 batches directly or in this child folder. */
  g_autofree char *batch = g_build_filename (dir, "data_batch_1.bin", NULL);
  g_autofree char *child = g_build_filename (dir, "cifar-10-batches-bin", NULL);
  if (g_file_test (batch, G_FILE_TEST_EXISTS) || g_file_test (child, G_FILE_TEST_IS_DIR))
    return LAM_EXPORT_DATASET_CIFAR10;
  return LAM_EXPORT_DATASET_FOLDER;
}

void
lam_export_options_init (LamExportOptions *options, const LamModelSpec *spec)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->spec = spec;
  options->n_channels = spec != NULL && spec->has_input && spec->input.rank == 3
                          ? CLAMP (spec->input.dims[0], 1, 3)
                          : 1;
  for (int c = 0; c < 3; c++) {
    options->mean[c] = 0.0f;
    options->std[c] = 1.0f;
  }
  options->dataset = LAM_EXPORT_DATASET_FASHION_MNIST;
  options->config = lam_trainer_config_default ();
}

/* Python literals */

/* "1" would be an int in Python, and torch.tensor((1,)) an integer tensor:
 * a number written without a point, exponent or "nan" gets ".0". */
static void
append_python_float_suffix (GString *s, gsize start)
{
  if (strpbrk (s->str + start, ".en") == NULL)
    g_string_append (s, ".0");
}

void
lam_export_append_python_float (GString *s, float value)
{
  gsize start = s->len;
  lam_json_append_float (s, value);
  append_python_float_suffix (s, start);
}

void
lam_export_append_python_double (GString *s, double value)
{
  gsize start = s->len;
  lam_json_append_double (s, value);
  append_python_float_suffix (s, start);
}

/* Text from a file is data: it goes into the script only as a Python
 * string literal made of printable ASCII, every other character escaped,
 * so no line terminator Python knows (\r, \f, \v, \x1c-\x1e, \x85,
 * \u2028, \u2029) can end a line or a comment early. Text that is not
 * UTF-8 (a file name in another encoding) becomes os.fsdecode(b"...").
 * Safe in a comment too. */
static void
append_py_string (GString *s, const char *text)
{
  gboolean utf8 = g_utf8_validate (text, -1, NULL);
  g_string_append (s, utf8 ? "\"" : "os.fsdecode(b\"");
  for (const char *p = text; *p != '\0'; p = utf8 ? g_utf8_next_char (p) : p + 1) {
    guchar c = (guchar) *p;
    gunichar u = utf8 ? g_utf8_get_char (p) : c;
    if (c == '\\' || c == '"')
      g_string_append_printf (s, "\\%c", c);
    else if (u >= 0x20 && u < 0x7f)
      g_string_append_c (s, (char) c);
    else if (u < 0x100)
      g_string_append_printf (s, "\\x%02x", u);
    else if (u < 0x10000)
      g_string_append_printf (s, "\\u%04x", u);
    else
      g_string_append_printf (s, "\\U%08x", u);
  }
  g_string_append (s, utf8 ? "\"" : "\")");
}

/* Whether text may stand as it is inside the script's docstring. */
static gboolean
is_plain_text (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || (guchar) *p >= 0x7f || *p == '\\' || *p == '"')
      return FALSE;
  return TRUE;
}

static void
append_py_bool (GString *s, gboolean value)
{
  g_string_append (s, value ? "True" : "False");
}

/* "(0.5,)" or "(0.49, 0.48, 0.45)" */
static void
append_float32_tuple (GString *s, const float *values, int n)
{
  g_string_append_c (s, '(');
  for (int i = 0; i < n; i++) {
    if (i > 0)
      g_string_append (s, ", ");
    lam_export_append_python_float (s, values[i]);
  }
  g_string_append (s, n == 1 ? ",)" : ")");
}

/* "32x28x28" or "128" */
static char *
shape_text (const LamShape *shape)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < shape->rank; i++)
    g_string_append_printf (s, "%s%d", i ? "x" : "", shape->dims[i]);
  return g_string_free (s, FALSE);
}

/* "(1, 28, 28)" */
static char *
shape_tuple (const LamShape *shape)
{
  GString *s = g_string_new ("(");
  for (int i = 0; i < shape->rank; i++)
    g_string_append_printf (s, "%s%d", i ? ", " : "", shape->dims[i]);
  g_string_append (s, shape->rank == 1 ? ",)" : ")");
  return g_string_free (s, FALSE);
}

/* Checks */

static gboolean
check_supported (const LamModelSpec *spec, GError **error)
{
  for (int i = 0; i < spec->n_layers; i++) {
    LamLayerKind kind = spec->layers[i].kind;
    if (lam_layer_class (kind) == NULL) {
      g_set_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_UNSUPPORTED,
                   "layer %d: kind %d has no PyTorch equivalent in the export", i + 1, (int) kind);
      return FALSE;
    }
    if (lam_layer_class (kind)->append_pytorch == NULL) {
      g_set_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_UNSUPPORTED,
                   "layer %d (%s) has no PyTorch equivalent in the export", i + 1,
                   lam_layer_class (kind)->name);
      return FALSE;
    }
  }
  LamLossKind loss = lam_model_spec_get_loss (spec);
  if (loss != LAM_LOSS_CROSS_ENTROPY && loss != LAM_LOSS_NLL && loss != LAM_LOSS_MSE) {
    g_set_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_UNSUPPORTED,
                 "loss %d has no PyTorch equivalent in the export", (int) loss);
    return FALSE;
  }
  return TRUE;
}

static gboolean
invalid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_INVALID, message);
  return FALSE;
}

static gboolean
check_options (const LamExportOptions *o, const LamModelSpec *spec, GError **error)
{
  const LamTrainerConfig *c = &o->config;

  if (!spec->has_input)
    return invalid (error, "the model spec has no input shape (the checkpoint's spec carries one)");
  if (spec->input.rank != 3) {
    g_autofree char *shape = shape_text (&spec->input);
    return invalid (error, "the model's input is %s features; the script feeds it images, so it "
                    "needs a channels×height×width input", shape);
  }
  if (o->n_channels != spec->input.dims[0] || o->n_channels < 1 || o->n_channels > 3)
    return invalid (error, "normalisation is given for %d channels but the model's input has %d",
                    o->n_channels, spec->input.dims[0]);
  for (int i = 0; i < o->n_channels; i++)
    if (!isfinite (o->mean[i]) || !isfinite (o->std[i]) || !(o->std[i] > 0))
      return invalid (error, "normalisation of channel %d: mean %g, std %g (std must be above 0)",
                      i, (double) o->mean[i], (double) o->std[i]);
  if (o->weights_path == NULL || *o->weights_path == '\0')
    return invalid (error, "no weights file given");
  if ((int) o->dataset < 0 || o->dataset > LAM_EXPORT_DATASET_FOLDER)
    return invalid (error, "dataset kind %d is not one of fashion-mnist, mnist, kmnist, cifar10 "
                    "or a folder", (int) o->dataset);
  if (o->dataset == LAM_EXPORT_DATASET_FOLDER && o->dataset_dir == NULL)
    return invalid (error, "a dataset folder must be named for a dataset that torchvision lacks");
  if (c->epochs < 1)
    return invalid (error, "epochs must be at least 1, got %d", c->epochs);
  if (c->batch_size < 1)
    return invalid (error, "batch size must be at least 1, got %d", c->batch_size);
  if (!(c->val_fraction >= 0 && c->val_fraction < 1))
    return invalid (error, "validation fraction must be at least 0 and below 1, got %g",
                    c->val_fraction);
  if (c->crop_padding < 0)
    return invalid (error, "crop padding must be 0 or more, got %d", c->crop_padding);
  if (c->padding_mode != LAM_PADDING_ZERO && c->padding_mode != LAM_PADDING_REFLECT)
    return invalid (error, "crop padding mode %d is neither zeros nor reflect",
                    (int) c->padding_mode);
  /* torch pads by reflection only less than the image's side; Lamina's
   * loader would go on mirroring, and the script would fail where Lamina
   * trained. */
  if (c->padding_mode == LAM_PADDING_REFLECT && c->crop_padding > 0 &&
      (c->crop_padding >= spec->input.dims[1] || c->crop_padding >= spec->input.dims[2]))
    return invalid (error, "reflect padding of %d pixels needs images larger than that; the "
                    "model's input is %d×%d", c->crop_padding, spec->input.dims[1],
                    spec->input.dims[2]);

  const LamOptimizerConfig *opt = &c->optimizer;
  if (opt->kind != LAM_OPTIMIZER_SGD && opt->kind != LAM_OPTIMIZER_ADAM &&
      opt->kind != LAM_OPTIMIZER_ADAMW) {
    g_set_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_UNSUPPORTED,
                 "optimizer %d has no PyTorch equivalent in the export", (int) opt->kind);
    return FALSE;
  }
  if (!(isfinite (opt->lr) && opt->lr > 0))
    return invalid (error, "learning rate must be above 0, got %g", opt->lr);
  if (!isfinite (opt->momentum) || !isfinite (opt->dampening) || !isfinite (opt->weight_decay) ||
      !isfinite (opt->beta1) || !isfinite (opt->beta2) || !isfinite (opt->eps))
    return invalid (error, "an optimizer setting is not a finite number");

  const LamSchedule *sch = &c->schedule;
  if (sch->kind != LAM_SCHEDULE_CONSTANT && sch->kind != LAM_SCHEDULE_STEP &&
      sch->kind != LAM_SCHEDULE_COSINE) {
    g_set_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_UNSUPPORTED,
                 "learning-rate schedule %d has no PyTorch equivalent in the export",
                 (int) sch->kind);
    return FALSE;
  }
  if (sch->kind == LAM_SCHEDULE_STEP && (sch->step_size < 1 || !isfinite (sch->gamma)))
    return invalid (error, "step schedule: step size %d, gamma %g", sch->step_size, sch->gamma);
  if (sch->kind == LAM_SCHEDULE_COSINE && (sch->t_max < 1 || !isfinite (sch->eta_min)))
    return invalid (error, "cosine schedule: t_max %d, eta_min %g", sch->t_max, sch->eta_min);
  return TRUE;
}

/* The weights' path as the script writes it: relative to the script's
 * folder when they lie there or below, else absolute. */
static char *
weights_reference (const LamExportOptions *o, gboolean *relative)
{
  g_autofree char *weights = g_canonicalize_filename (o->weights_path, NULL);
  *relative = FALSE;
  if (o->script_path != NULL) {
    g_autofree char *script = g_canonicalize_filename (o->script_path, NULL);
    g_autofree char *dir = g_path_get_dirname (script);
    g_autofree char *prefix = g_str_has_suffix (dir, G_DIR_SEPARATOR_S)
                                ? g_strdup (dir)
                                : g_strconcat (dir, G_DIR_SEPARATOR_S, NULL);
    if (g_str_has_prefix (weights, prefix) && weights[strlen (prefix)] != '\0') {
      *relative = TRUE;
      return g_strdup (weights + strlen (prefix));
    }
  }
  return g_steal_pointer (&weights);
}

/* Sections of the script */

static char *
layer_code (const LamLayer *layer)
{
  g_autoptr (GString) s = g_string_new ("nn.");
  lam_layer_class (layer->spec.kind)->append_pytorch (s, layer);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
append_header (GString *s, const LamModelSpec *spec, const char *script_name,
               gboolean random_split, gboolean gzip)
{
  g_string_append (s, "\"\"\"");
  if (spec->name != NULL && is_plain_text (spec->name))
    g_string_append_printf (s, "%s, exported", spec->name);
  else
    g_string_append (s, "A model exported");
  g_string_append (s, " from Lamina " LAMINA_VERSION " to PyTorch.\n\n");
  g_string_append_printf (s,
    "The network is rebuilt layer for layer as an nn.Sequential whose state-dict\n"
    "names match the weights Lamina saved, so they load as they are.\n"
    "\n"
    "    python3 %s           evaluate Lamina's weights on the test set\n"
    "    python3 %s --train   train it again from scratch, as Lamina did\n"
    "\n"
    "Needs torch; loading the dataset also needs torchvision.\n"
    "\"\"\"\n", script_name, script_name);
  g_string_append_printf (s,
    "import argparse\n"
    "%s"
    "import json\n"
    "import os\n"
    "import struct\n"
    "\n"
    "import torch\n"
    "import torch.nn as nn\n"
    "from torch.utils.data import DataLoader%s\n"
    "\n", gzip ? "import gzip\n" : "", random_split ? ", random_split" : "");
}

static gboolean
append_settings (GString *s, const LamExportOptions *o, const LamModelPlan *plan, GError **error)
{
  const LamTrainerConfig *c = &o->config;
  gboolean relative;
  g_autofree char *weights = weights_reference (o, &relative);

  if (relative)
    g_string_append (s, "# Lamina's weights, next to this script.\n"
                        "WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)),\n"
                        "                       ");
  else
    g_string_append (s, "# Lamina's weights.\nWEIGHTS = ");
  append_py_string (s, weights);
  g_string_append (s, relative ? ")\n\n" : "\n\n");

  g_autofree char *input = shape_tuple (&plan->input);
  g_string_append_printf (s,
    "# The settings Lamina trained with.\n"
    "EPOCHS = %d\n"
    "BATCH_SIZE = %d\n"
    "LEARNING_RATE = ",
    c->epochs, c->batch_size);
  lam_export_append_python_double (s, c->optimizer.lr);
  g_string_append (s, "\nVAL_FRACTION = ");
  lam_export_append_python_double (s, c->val_fraction);
  g_string_append_printf (s,
    "  # of the training images, held out for validation\n"
    "SEED = %" G_GUINT64_FORMAT "\n"
    "INPUT_SHAPE = %s  # channels, height, width\n"
    "NUM_CLASSES = %" G_GSIZE_FORMAT "\n"
    "\n",
    c->seed, input, lam_shape_numel (&plan->output));

  g_string_append (s,
    "# Pixels are scaled to [0, 1], then normalised per channel with the mean\n"
    "# and standard deviation Lamina used.\n"
    "MEAN = ");
  append_float32_tuple (s, o->mean, o->n_channels);
  g_string_append (s, "\nSTD = ");
  append_float32_tuple (s, o->std, o->n_channels);
  g_string_append (s,
    "\n"
    "\n"
    "\n"
    "def normalize(images):\n"
    "    \"\"\"Normalises a batch of images in [0, 1] shaped (N, C, H, W).\"\"\"\n"
    "    mean = torch.tensor(MEAN).view(1, -1, 1, 1)\n"
    "    std = torch.tensor(STD).view(1, -1, 1, 1)\n"
    "    return (images - mean) / std\n"
    "\n"
    "\n");
  return TRUE;
}

static void
append_model (GString *s, const LamModelPlan *plan)
{
  g_autofree char *input = shape_text (&plan->input);
  g_string_append_printf (s,
    "def build_model():\n"
    "    \"\"\"The network, for %s images.\n"
    "\n"
    "    Each layer's index in the Sequential is its position in Lamina's\n"
    "    stack and the prefix of its weights' names (\"0.weight\", \"0.bias\").\n"
    "    The comments give each layer's output shape for one image.\n"
    "    \"\"\"\n"
    "    return nn.Sequential(\n",
    input);

  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  gsize width = 0;
  for (int i = 0; i < plan->n_layers; i++) {
    g_autofree char *code = layer_code (&plan->layers[i]);
    char *line = g_strdup_printf ("        %s,", code);
    width = MAX (width, strlen (line));
    g_ptr_array_add (lines, line);
  }
  /* Output shapes as comments beside the layers, or above them where the
   * lines would grow past 79 columns. */
  gboolean beside = TRUE;
  for (int i = 0; i < plan->n_layers; i++) {
    g_autofree char *shape = shape_text (&plan->layers[i].out_shape);
    g_autofree char *comment = g_strdup_printf ("  # %d -> %s", i, shape);
    beside = beside && width + strlen (comment) <= 79;
  }
  for (int i = 0; i < plan->n_layers; i++) {
    const char *line = g_ptr_array_index (lines, i);
    g_autofree char *shape = shape_text (&plan->layers[i].out_shape);
    if (beside)
      g_string_append_printf (s, "%-*s  # %d -> %s\n", (int) width, line, i, shape);
    else
      g_string_append_printf (s, "        # %d -> %s\n%s\n", i, shape, line);
  }
  g_string_append (s, "    )\n\n\n");
}

static void
append_weights_loader (GString *s)
{
  g_string_append (s,
    "def load_lamina_weights(model, path):\n"
    "    \"\"\"Loads the .safetensors file Lamina saved into model.\n"
    "\n"
    "    The file is an 8-byte little-endian header length, a JSON header that\n"
    "    gives each tensor's dtype, shape and byte range, then the raw data.\n"
    "    \"\"\"\n"
    "    with open(path, \"rb\") as f:\n"
    "        data = bytearray(f.read())\n"
    "    (header_len,) = struct.unpack(\"<Q\", data[:8])\n"
    "    header = json.loads(data[8:8 + header_len])\n"
    "    body = memoryview(data)[8 + header_len:]\n"
    "    dtypes = {\"F32\": torch.float32, \"I64\": torch.int64}  # I64: batch norms' counts\n"
    "    state = {}\n"
    "    for name, entry in header.items():\n"
    "        if name == \"__metadata__\":\n"
    "            continue\n"
    "        if entry[\"dtype\"] not in dtypes:\n"
    "            raise ValueError(f\"{path}: {name} is {entry['dtype']}, not F32 or I64\")\n"
    "        begin, end = entry[\"data_offsets\"]\n"
    "        tensor = torch.frombuffer(body[begin:end], dtype=dtypes[entry[\"dtype\"]])\n"
    "        state[name] = tensor.reshape(entry[\"shape\"]).clone()\n"
    "    model.load_state_dict(state, strict=True)\n"
    "    return model\n"
    "\n"
    "\n");
}

static void
append_loss_and_optimizer (GString *s, const LamModelSpec *spec, const LamTrainerConfig *c)
{
  switch (lam_model_spec_get_loss (spec)) {
  case LAM_LOSS_CROSS_ENTROPY:
    g_string_append (s, "# Cross-entropy on the logits of the last layer.\n"
                        "loss_fn = nn.CrossEntropyLoss()\n\n\n");
    break;
  case LAM_LOSS_NLL:
    g_string_append (s, "# Negative log-likelihood on the log-probabilities of the last layer.\n"
                        "loss_fn = nn.NLLLoss()\n\n\n");
    break;
  case LAM_LOSS_MSE:
    g_string_append (s,
      "# Mean squared error against one-hot targets.\n"
      "mse_loss = nn.MSELoss()\n"
      "\n"
      "\n"
      "def loss_fn(outputs, labels):\n"
      "    targets = nn.functional.one_hot(labels, NUM_CLASSES).float()\n"
      "    return mse_loss(outputs, targets)\n"
      "\n"
      "\n");
    break;
  default:
    g_assert_not_reached ();
  }

  const LamOptimizerConfig *opt = &c->optimizer;
  g_string_append (s, "def make_optimizer(model):\n    return torch.optim.");
  if (opt->kind == LAM_OPTIMIZER_SGD) {
    g_string_append (s, "SGD(model.parameters(), lr=LEARNING_RATE, momentum=");
    lam_export_append_python_double (s, opt->momentum);
    if (opt->dampening != 0) {
      g_string_append (s, ",\n                           dampening=");
      lam_export_append_python_double (s, opt->dampening);
    }
    g_string_append (s, ",\n                           nesterov=");
    append_py_bool (s, opt->nesterov);
    g_string_append (s, ", weight_decay=");
    lam_export_append_python_double (s, opt->weight_decay);
  } else {
    const char *name = opt->kind == LAM_OPTIMIZER_ADAM ? "Adam" : "AdamW";
    int indent = (int) strlen ("    return torch.optim.(") + (int) strlen (name);
    g_string_append_printf (s, "%s(model.parameters(), lr=LEARNING_RATE,\n%*sbetas=(", name,
                            indent, "");
    lam_export_append_python_double (s, opt->beta1);
    g_string_append (s, ", ");
    lam_export_append_python_double (s, opt->beta2);
    g_string_append (s, "), eps=");
    lam_export_append_python_double (s, opt->eps);
    g_string_append (s, ", weight_decay=");
    lam_export_append_python_double (s, opt->weight_decay);
  }
  g_string_append (s, ")\n\n\n");

  const LamSchedule *sch = &c->schedule;
  if (sch->kind == LAM_SCHEDULE_STEP) {
    g_string_append_printf (s,
      "def make_scheduler(optimizer):\n"
      "    # Stepped once an epoch, as Lamina's schedule.\n"
      "    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=%d, gamma=",
      sch->step_size);
    lam_export_append_python_double (s, sch->gamma);
    g_string_append (s, ")\n\n\n");
  } else if (sch->kind == LAM_SCHEDULE_COSINE) {
    g_string_append_printf (s,
      "def make_scheduler(optimizer):\n"
      "    # Stepped once an epoch, as Lamina's schedule.\n"
      "    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=%d,\n"
      "                                                      eta_min=",
      sch->t_max);
    lam_export_append_python_double (s, sch->eta_min);
    g_string_append (s, ")\n\n\n");
  }
}

static void
append_folder_reader (GString *s)
{
  g_string_append (s,
    "def read_idx(path):\n"
    "    \"\"\"An IDX file, plain or gzip-compressed, as a uint8 tensor.\"\"\"\n"
    "    if not os.path.exists(path):\n"
    "        path += \".gz\"\n"
    "    with open(path, \"rb\") as f:\n"
    "        data = f.read()\n"
    "    if data[:2] == b\"\\x1f\\x8b\":\n"
    "        data = gzip.decompress(data)\n"
    "    rank = data[3]\n"
    "    shape = struct.unpack(f\">{rank}I\", data[4:4 + 4 * rank])\n"
    "    values = bytearray(data[4 + 4 * rank:])\n"
    "    return torch.frombuffer(values, dtype=torch.uint8).reshape(shape)\n"
    "\n"
    "\n"
    "class IdxFolder(torch.utils.data.Dataset):\n"
    "    \"\"\"The train-* or t10k-* IDX image and label files of a folder.\"\"\"\n"
    "\n"
    "    def __init__(self, root, train, transform=None):\n"
    "        prefix = \"train\" if train else \"t10k\"\n"
    "        path = os.path.join(root, prefix)\n"
    "        images = path + \"-images-idx3-ubyte\"  # grey: (N, H, W)\n"
    "        if not os.path.exists(images) and not os.path.exists(images + \".gz\"):\n"
    "            images = path + \"-images-idx4-ubyte\"  # colour: (N, C, H, W)\n"
    "        self.images = read_idx(images)\n"
    "        self.labels = read_idx(path + \"-labels-idx1-ubyte\")\n"
    "        self.transform = transform\n"
    "\n"
    "    def __len__(self):\n"
    "        return len(self.labels)\n"
    "\n"
    "    def __getitem__(self, index):\n"
    "        image = self.images[index]\n"
    "        if image.dim() == 3:  # (C, H, W) -> (H, W, C), as ToTensor takes it\n"
    "            image = image.permute(1, 2, 0)\n"
    "        image = image.numpy()  # uint8\n"
    "        if self.transform is not None:\n"
    "            image = self.transform(image)\n"
    "        return image, int(self.labels[index])\n"
    "\n"
    "\n");
}

/* "    name = Factory(root, train=True, download=True, transform=t)", with
 * the transform on a line of its own, aligned, when that is too long. */
static void
append_dataset_call (GString *s, const char *variable, const char *factory, gboolean train,
                     const char *download, const char *transform)
{
  g_autofree char *head = g_strdup_printf ("    %s = %s(", variable, factory);
  g_autofree char *args = g_strdup_printf ("root, train=%s%s,", train ? "True" : "False",
                                           download);
  g_autofree char *tail = g_strdup_printf ("transform=%s)", transform);
  if (strlen (head) + strlen (args) + 1 + strlen (tail) <= 79)
    g_string_append_printf (s, "%s%s %s\n", head, args, tail);
  else
    g_string_append_printf (s, "%s%s\n%*s%s\n", head, args, (int) strlen (head), "", tail);
}

static gboolean
append_data (GString *s, const LamExportOptions *o, const LamModelPlan *plan, GError **error)
{
  const LamTrainerConfig *c = &o->config;
  gboolean augment = c->crop_padding > 0 || c->hflip;

  if (o->dataset == LAM_EXPORT_DATASET_FOLDER)
    append_folder_reader (s);

  g_string_append (s, "def load_datasets():\n    \"\"\"");
  if (augment)
    g_string_append (s, "The training images twice (plain and augmented) and the test images.");
  else
    g_string_append (s, "The training and the test images.");
  g_string_append (s, "\"\"\"\n");
  if (o->dataset == LAM_EXPORT_DATASET_FOLDER)
    g_string_append (s, "    from torchvision import transforms\n\n");
  else
    g_string_append (s, "    from torchvision import datasets, transforms\n\n");

  g_string_append (s,
    "    transform = transforms.Compose([\n"
    "        transforms.ToTensor(),  # (C, H, W), pixels scaled to [0, 1]\n"
    "        transforms.Normalize(MEAN, STD),\n"
    "    ])\n");
  if (augment) {
    g_string_append (s,
      "    # Lamina's augmentation, for the training images only.\n"
      "    augment = transforms.Compose([\n"
      "        transforms.ToTensor(),\n");
    if (c->crop_padding > 0)
      g_string_append_printf (s, "        transforms.RandomCrop((%d, %d), padding=%d%s),\n",
                              plan->input.dims[1], plan->input.dims[2], c->crop_padding,
                              c->padding_mode == LAM_PADDING_REFLECT
                                ? ", padding_mode=\"reflect\""
                                : "");
    if (c->hflip)
      g_string_append (s, "        transforms.RandomHorizontalFlip(),\n");
    g_string_append (s,
      "        transforms.Normalize(MEAN, STD),\n"
      "    ])\n");
  }

  g_autofree char *factory = NULL;
  if (o->dataset == LAM_EXPORT_DATASET_FOLDER) {
    factory = g_strdup ("IdxFolder");
    g_string_append (s, "    # The folder Lamina read.\n    root = ");
    append_py_string (s, o->dataset_dir);
    g_string_append (s, "\n");
  } else {
    factory = g_strconcat ("datasets.", torchvision_datasets[o->dataset].class_name, NULL);
    g_string_append_printf (s, "    # %s, downloaded by torchvision into ./data",
                            torchvision_datasets[o->dataset].title);
    if (o->dataset_dir != NULL) {
      g_string_append (s, "\n    # (Lamina read it from ");
      append_py_string (s, o->dataset_dir);
      g_string_append (s, ")");
    }
    g_string_append (s, ".\n    root = \"data\"\n");
  }
  const char *download = o->dataset == LAM_EXPORT_DATASET_FOLDER ? "" : ", download=True";
  append_dataset_call (s, "train_data", factory, TRUE, download, "transform");
  if (augment)
    append_dataset_call (s, "train_augmented", factory, TRUE, download, "augment");
  append_dataset_call (s, "test_data", factory, FALSE, download, "transform");
  g_string_append_printf (s, "    return train_data, %stest_data\n\n\n",
                          augment ? "train_augmented, " : "");
  return TRUE;
}

static void
append_loops (GString *s)
{
  g_string_append (s,
    "def train_one_epoch(model, loader, optimizer, device):\n"
    "    model.train()\n"
    "    total_loss, correct, seen = 0.0, 0, 0\n"
    "    for images, labels in loader:\n"
    "        images, labels = images.to(device), labels.to(device)\n"
    "        optimizer.zero_grad()\n"
    "        outputs = model(images)\n"
    "        loss = loss_fn(outputs, labels)\n"
    "        loss.backward()\n"
    "        optimizer.step()\n"
    "        total_loss += loss.item() * len(labels)\n"
    "        correct += (outputs.argmax(1) == labels).sum().item()\n"
    "        seen += len(labels)\n"
    "    return total_loss / seen, correct / seen\n"
    "\n"
    "\n"
    "def evaluate(model, loader, device):\n"
    "    model.eval()\n"
    "    total_loss, correct, seen = 0.0, 0, 0\n"
    "    with torch.no_grad():\n"
    "        for images, labels in loader:\n"
    "            images, labels = images.to(device), labels.to(device)\n"
    "            outputs = model(images)\n"
    "            total_loss += loss_fn(outputs, labels).item() * len(labels)\n"
    "            correct += (outputs.argmax(1) == labels).sum().item()\n"
    "            seen += len(labels)\n"
    "    return total_loss / seen, correct / seen\n"
    "\n"
    "\n");
}

static void
append_main (GString *s, const LamTrainerConfig *c)
{
  gboolean augment = c->crop_padding > 0 || c->hflip;
  gboolean validate = c->val_fraction > 0;
  gboolean schedule = c->schedule.kind != LAM_SCHEDULE_CONSTANT;

  g_string_append_printf (s,
    "def main():\n"
    "    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])\n"
    "    parser.add_argument(\"--train\", action=\"store_true\",\n"
    "                        help=\"train from scratch instead of loading \"\n"
    "                        \"Lamina's weights\")\n"
    "    parser.add_argument(\"--weights\", default=WEIGHTS,\n"
    "                        help=\"Lamina's weights (default: %%(default)s)\")\n"
    "    parser.add_argument(\"--epochs\", type=int, default=EPOCHS,\n"
    "                        help=\"with --train (default: %%(default)s)\")\n"
    "    parser.add_argument(\"--save\", metavar=\"FILE\",\n"
    "                        help=\"with --train: save the weights (torch.save)\")\n"
    "    args = parser.parse_args()\n"
    "\n"
    "    device = \"cuda\" if torch.cuda.is_available() else \"cpu\"\n"
    "    torch.manual_seed(SEED)\n"
    "    %s = load_datasets()\n"
    "    test_loader = DataLoader(test_data, batch_size=BATCH_SIZE)\n"
    "    model = build_model()\n"
    "\n"
    "    if args.train:\n",
    augment ? "train_data, train_augmented, test_data" : "train_data, test_data");

  if (validate) {
    g_string_append (s,
      "        # Hold out part of the training images for validation.\n"
      "        n_val = int(len(train_data) * VAL_FRACTION + 0.5)\n"
      "        generator = torch.Generator().manual_seed(SEED)\n"
      "        train_set, val_set = random_split(\n"
      "            train_data, [len(train_data) - n_val, n_val], generator=generator)\n");
    if (augment)
      g_string_append (s,
        "        # The same training indices, augmented.\n"
        "        train_set = torch.utils.data.Subset(train_augmented,\n"
        "                                            train_set.indices)\n");
  } else {
    g_string_append_printf (s, "        train_set = %s\n", augment ? "train_augmented" : "train_data");
  }
  g_string_append (s,
    "        train_loader = DataLoader(train_set, batch_size=BATCH_SIZE,\n"
    "                                  shuffle=True)\n");
  if (validate)
    g_string_append (s, "        val_loader = DataLoader(val_set, batch_size=BATCH_SIZE)\n");
  g_string_append (s,
    "        model.to(device)\n"
    "        optimizer = make_optimizer(model)\n");
  if (schedule)
    g_string_append (s, "        scheduler = make_scheduler(optimizer)\n");
  g_string_append (s,
    "        for epoch in range(args.epochs):\n"
    "            loss, accuracy = train_one_epoch(model, train_loader, optimizer,\n"
    "                                             device)\n"
    "            line = f\"Epoch {epoch + 1}/{args.epochs}  train loss {loss:.4f}  \"\n"
    "            line += f\"acc {100 * accuracy:.2f}%\"\n");
  if (validate)
    g_string_append (s,
      "            loss, accuracy = evaluate(model, val_loader, device)\n"
      "            line += f\"  |  val loss {loss:.4f}  acc {100 * accuracy:.2f}%\"\n");
  g_string_append (s, "            print(line)\n");
  if (schedule)
    g_string_append (s, "            scheduler.step()\n");
  g_string_append (s,
    "        if args.save:\n"
    "            torch.save(model.state_dict(), args.save)\n"
    "    else:\n"
    "        load_lamina_weights(model, args.weights)\n"
    "        model.to(device)\n"
    "\n"
    "    loss, accuracy = evaluate(model, test_loader, device)\n"
    "    print(f\"Test: loss {loss:.4f}  accuracy {100 * accuracy:.2f}% \"\n"
    "          f\"on {len(test_data)} images\")\n"
    "\n"
    "\n"
    "if __name__ == \"__main__\":\n"
    "    main()\n");
}

char *
lam_export_pytorch_script (const LamExportOptions *options, GError **error)
{
  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (options->spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  const LamModelSpec *spec = options->spec;
  if (!check_supported (spec, error) || !check_options (options, spec, error))
    return NULL;
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, error);
  if (plan == NULL)
    return NULL;

  g_autofree char *script_name = options->script_path != NULL
                                   ? g_path_get_basename (options->script_path)
                                   : g_strdup ("model.py");
  if (!is_plain_text (script_name)) {
    g_free (script_name);
    script_name = g_strdup ("model.py");
  }

  g_autoptr (GString) s = g_string_new (NULL);
  append_header (s, spec, script_name, options->config.val_fraction > 0,
                 options->dataset == LAM_EXPORT_DATASET_FOLDER);
  if (!append_settings (s, options, plan, error))
    return NULL;
  append_model (s, plan);
  append_weights_loader (s);
  append_loss_and_optimizer (s, spec, &options->config);
  if (!append_data (s, options, plan, error))
    return NULL;
  append_loops (s);
  append_main (s, &options->config);
  return g_string_free (g_steal_pointer (&s), FALSE);
}
