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
  [LAM_EXPORT_DATASET_TABLE] = "table",
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

  /* A folder naming its classes in classes.txt is read as its own IDX
   * folder, whatever its name says, as the loader reads it: an imported
   * "fashion-photos" is not torchvision's FashionMNIST. */
  g_autofree char *classes = g_build_filename (dir, "classes.txt", NULL);
  if (g_file_test (classes, G_FILE_TEST_EXISTS))
    return LAM_EXPORT_DATASET_FOLDER;
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
  /* Positional where a reader expects it ("80.0", not "8e+01"): the
   * fewest decimals that read back the same float. */
  if (isfinite (value) && fabsf (value) >= 1e-4f && fabsf (value) < 1e16f) {
    char buf[G_ASCII_DTOSTR_BUF_SIZE + 32];
    for (int decimals = 0; decimals <= 12; decimals++) {
      char format[8];
      g_snprintf (format, sizeof format, "%%.%df", decimals);
      g_ascii_formatd (buf, sizeof buf, format, (double) value);
      if ((float) g_ascii_strtod (buf, NULL) == value) {
        g_string_append (s, buf);
        append_python_float_suffix (s, start);
        return;
      }
    }
  }
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

/* Whether the model's name may open the docstring, whose first line the
 * script hands argparse as its description: argparse %-formats it, and a
 * % there (a name like "Mine: 100%") made the script's --help fail. */
static gboolean
is_header_text (const char *text)
{
  return text != NULL && is_plain_text (text) && strchr (text, '%') == NULL;
}

static void
append_py_bool (GString *s, gboolean value)
{
  g_string_append (s, value ? "True" : "False");
}

/* Lamina adds the L1 penalty's gradient to the loss's without counting it
 * in the loss it reports; the script does the same. Nothing is written
 * without a penalty, so those scripts read as before. */
static void
append_l1_constant (GString *s, const LamOptimizerConfig *opt)
{
  if (opt->l1 <= 0)
    return;
  g_string_append (s, "\nL1_PENALTY = ");
  lam_export_append_python_double (s, opt->l1);
  g_string_append (s, "  # times the sum of |parameter|, added to the loss");
}

static void
append_backward (GString *s, const LamOptimizerConfig *opt, gboolean trainable)
{
  if (!trainable) {
    g_string_append (s, "        # No parameters: nothing to differentiate, nothing to step.\n");
    return;
  }
  if (opt->l1 <= 0) {
    g_string_append (s, "        loss.backward()\n");
    return;
  }
  g_string_append (s,
    "        penalty = L1_PENALTY * sum(p.abs().sum() for p in model.parameters())\n"
    "        (loss + penalty).backward()\n");
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
  if (loss != LAM_LOSS_CROSS_ENTROPY && loss != LAM_LOSS_NLL && loss != LAM_LOSS_MSE &&
      loss != LAM_LOSS_L1) {
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
      !isfinite (opt->l1) ||
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
  if (is_header_text (spec->name))
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
  append_l1_constant (s, &c->optimizer);
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
append_model (GString *s, const LamModelPlan *plan, gboolean table)
{
  g_autofree char *input_shape = shape_text (&plan->input);
  g_autofree char *input = g_strdup_printf (table ? "rows of %s inputs" : "%s images",
                                            input_shape);
  g_string_append_printf (s,
    "def build_model():\n"
    "    \"\"\"The network, for %s.\n"
    "\n"
    "    Each layer's index in the Sequential is its position in Lamina's\n"
    "    stack and the prefix of its weights' names (\"0.weight\", \"0.bias\").\n"
    "    The comments give each layer's output shape for one %s.\n"
    "    \"\"\"\n"
    "    return nn.Sequential(\n",
    input, table ? "row" : "image");

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

/* The settings the training part of a script follows: a model without
 * parameters has no learning rate to schedule and no penalty to add. */
static LamTrainerConfig
trainer_config_for_plan (const LamTrainerConfig *config, const LamModelPlan *plan)
{
  LamTrainerConfig trained = *config;
  if (plan->n_trainable == 0) {
    trained.schedule.kind = LAM_SCHEDULE_CONSTANT;
    trained.optimizer.l1 = 0;
  }
  return trained;
}

static void
append_loss_and_optimizer (GString *s, const LamModelSpec *spec, const LamTrainerConfig *c,
                           gboolean regression, gboolean trainable)
{
  LamLossKind loss = lam_model_spec_get_loss (spec);
  if (regression && loss == LAM_LOSS_MSE)
    g_string_append (s, "# Mean squared error against the standardised targets.\n"
                        "loss_fn = nn.MSELoss()\n\n\n");
  else if (regression && loss == LAM_LOSS_L1)
    g_string_append (s, "# Mean absolute error against the standardised targets.\n"
                        "loss_fn = nn.L1Loss()\n\n\n");
  else switch (loss) {
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
  if (!trainable) {
    /* Lamina trains such a model, its loss measured and nothing changed;
     * PyTorch refuses an optimizer over no parameters. */
    g_string_append (s, "def make_optimizer(model):\n"
                        "    # The model has no parameters: there is nothing for an optimizer to\n"
                        "    # change (PyTorch refuses one over none), so training measures the\n"
                        "    # loss alone, as Lamina's did.\n"
                        "    return None\n\n\n");
    return;
  }
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
append_loops (GString *s, const LamTrainerConfig *c, gboolean trainable)
{
  g_string_append (s, "def train_one_epoch(model, loader, optimizer, device):\n"
                      "    model.train()\n"
                      "    total_loss, correct, seen = 0.0, 0, 0\n"
                      "    for images, labels in loader:\n"
                      "        images, labels = images.to(device), labels.to(device)\n");
  if (trainable)
    g_string_append (s, "        optimizer.zero_grad()\n");
  g_string_append (s, "        outputs = model(images)\n"
                      "        loss = loss_fn(outputs, labels)\n");
  append_backward (s, &c->optimizer, trainable);
  if (trainable)
    g_string_append (s, "        optimizer.step()\n");
  g_string_append (s, "        total_loss += loss.item() * len(labels)\n"
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

/* Tables */

/* "NAME = (a, b, c)\n" from Python literals, broken after a comma where a
 * line would pass 79 columns. */
static void
append_tuple_lines (GString *s, const char *name, GPtrArray *items)
{
  gsize line_start = s->len;
  g_string_append_printf (s, "%s = (", name);
  gsize indent = s->len - line_start;
  for (guint i = 0; i < items->len; i++) {
    const char *item = g_ptr_array_index (items, i);
    if (i > 0) {
      g_string_append_c (s, ',');
      if (s->len - line_start + 1 + strlen (item) + 2 > 79) {
        g_string_append_c (s, '\n');
        line_start = s->len;
        g_string_append_printf (s, "%*s", (int) indent, "");
      } else {
        g_string_append_c (s, ' ');
      }
    }
    g_string_append (s, item);
  }
  g_string_append (s, items->len == 1 ? ",)\n" : ")\n");
}

static void
append_names_tuple (GString *s, const char *name, char **names)
{
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; names[i] != NULL; i++) {
    g_autoptr (GString) item = g_string_new (NULL);
    append_py_string (item, names[i]);
    g_ptr_array_add (items, g_string_free (g_steal_pointer (&item), FALSE));
  }
  append_tuple_lines (s, name, items);
}

static void
append_floats_tuple (GString *s, const char *name, const float *values, int n)
{
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; i < n; i++) {
    g_autoptr (GString) item = g_string_new (NULL);
    lam_export_append_python_float (item, values[i]);
    g_ptr_array_add (items, g_string_free (g_steal_pointer (&item), FALSE));
  }
  append_tuple_lines (s, name, items);
}

static gboolean
check_table (const LamExportOptions *o, const LamModelPlan *plan, GError **error)
{
  const LamTableInfo *t = o->table;
  const LamTrainerConfig *c = &o->config;
  if (t == NULL || o->dataset != LAM_EXPORT_DATASET_TABLE)
    return invalid (error, "a table's export needs both the table's description and the "
                    "dataset kind table");
  if (o->dataset_dir == NULL)
    return invalid (error, "the table's file must be named");
  if (t->inputs == NULL || t->targets == NULL || t->input_mean == NULL || t->input_std == NULL ||
      (int) g_strv_length (t->inputs) != t->n_inputs ||
      (int) g_strv_length (t->targets) != t->n_targets)
    return invalid (error, "the table's description is incomplete");
  if (plan->input.rank != 1 || plan->input.dims[0] != t->n_inputs) {
    g_autofree char *shape = shape_text (&plan->input);
    return invalid (error, "the table has %d input columns but the model's input is %s",
                    t->n_inputs, shape);
  }
  for (int j = 0; j < t->n_inputs; j++)
    if (!isfinite (t->input_mean[j]) || !(t->input_std[j] > 0) || !isfinite (t->input_std[j]))
      return invalid (error, "the standardisation of input %s: mean %g, std %g (std must be "
                      "above 0)", t->inputs[j], t->input_mean[j], t->input_std[j]);
  gsize outputs = lam_shape_numel (&plan->output);
  LamLossKind loss = lam_model_spec_get_loss (o->spec);
  if (t->task == LAM_TASK_REGRESSION) {
    if (t->target_mean == NULL || t->target_std == NULL || outputs != (gsize) t->n_targets)
      return invalid (error, "the table has %d targets but the model gives %" G_GSIZE_FORMAT
                      " outputs", t->n_targets, outputs);
    if (!lam_loss_kind_is_regression (loss))
      return invalid (error, "the loss %s compares outputs with classes, and the table's targets "
                      "are numbers", lam_loss_kind_to_string (loss));
  } else {
    guint n_classes = o->class_names ? g_strv_length (o->class_names) : 0;
    if (n_classes < 2 || outputs < n_classes)
      return invalid (error, "a classification table needs its class names (%u given) and a "
                      "model with as many outputs (%" G_GSIZE_FORMAT ")", n_classes, outputs);
    if (loss == LAM_LOSS_L1)
      return invalid (error, "the loss l1 compares outputs with numbers, and the table's target "
                      "is classes");
  }
  if (c->crop_padding != 0 || c->hflip)
    return invalid (error, "a table is not augmented: crop padding and flips must be off");
  return TRUE;
}

static void
append_table_header (GString *s, const LamModelSpec *spec, const char *script_name,
                     gboolean random_split)
{
  g_string_append (s, "\"\"\"");
  if (is_header_text (spec->name))
    g_string_append_printf (s, "%s, exported", spec->name);
  else
    g_string_append (s, "A model exported");
  g_string_append (s, " from Lamina " LAMINA_VERSION " to PyTorch, for a table.\n\n");
  g_string_append_printf (s,
    "The network is rebuilt layer for layer as an nn.Sequential whose state-dict\n"
    "names match the weights Lamina saved, so they load as they are. The table is\n"
    "read with Python's csv module, its test rows picked and its columns\n"
    "standardised as Lamina did.\n"
    "\n"
    "    python3 %s           evaluate Lamina's weights on the test rows\n"
    "    python3 %s --train   train it again from scratch, as Lamina did\n"
    "\n"
    "Needs torch only.\n"
    "\"\"\"\n", script_name, script_name);
  g_string_append_printf (s,
    "import argparse\n"
    "import csv\n"
    "import io\n"
    "import json\n"
    "import os\n"
    "import struct\n"
    "\n"
    "import torch\n"
    "import torch.nn as nn\n"
    "from torch.utils.data import DataLoader, TensorDataset%s\n"
    "\n", random_split ? ", random_split" : "");
}

static void
append_table_settings (GString *s, const LamExportOptions *o, const LamModelPlan *plan)
{
  const LamTrainerConfig *c = &o->config;
  const LamTableInfo *t = o->table;
  gboolean regression = t->task == LAM_TASK_REGRESSION;
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

  g_autofree char *table = g_canonicalize_filename (o->dataset_dir, NULL);
  g_string_append (s, "# The table Lamina read, and the columns it used.\nTABLE = ");
  append_py_string (s, table);
  g_string_append_c (s, '\n');
  append_names_tuple (s, "INPUTS", t->inputs);
  append_names_tuple (s, "TARGETS", t->targets);
  g_string_append_printf (s, "TASK = \"%s\"\n", lam_task_to_string (t->task));
  if (regression)
    g_string_append (s, "CLASSES = ()  # a regression has none\n");
  else
    append_names_tuple (s, "CLASSES", o->class_names);
  if (o->table_split_column != NULL) {
    g_string_append (s, "# The test rows: those whose SPLIT column says \"test\".\nSPLIT = ");
    append_py_string (s, o->table_split_column);
    g_string_append (s, "\n\n");
  } else {
    g_string_append (s, "# The test rows: this fraction of them, those that rank first by a hash\n"
                        "# of their index (row_hash).\nTEST_FRACTION = ");
    lam_export_append_python_double (s, t->test_fraction);
    g_string_append_printf (s, "\nSPLIT_SEED = %" G_GUINT64_FORMAT "\n\n", t->split_seed);
  }

  g_string_append_printf (s,
    "# The settings Lamina trained with.\n"
    "EPOCHS = %d\n"
    "BATCH_SIZE = %d\n"
    "LEARNING_RATE = ",
    c->epochs, c->batch_size);
  lam_export_append_python_double (s, c->optimizer.lr);
  append_l1_constant (s, &c->optimizer);
  g_string_append (s, "\nVAL_FRACTION = ");
  lam_export_append_python_double (s, c->val_fraction);
  g_string_append_printf (s,
    "  # of the training rows, held out for validation\n"
    "SEED = %" G_GUINT64_FORMAT "\n"
    "INPUT_SHAPE = (%d,)  # input columns\n"
    "NUM_CLASSES = %" G_GSIZE_FORMAT "  # outputs: %s\n"
    "\n",
    c->seed, t->n_inputs, lam_shape_numel (&plan->output),
    regression ? "one per target" : "one per class");

  g_string_append (s, "# Each input column is standardised, (x - mean) / std, with the mean and\n"
                      "# standard deviation of the training rows");
  g_string_append (s, regression ? "; the targets\n# likewise, and the model's outputs go back "
                                   "to the targets' units.\n"
                                 : ".\n");
  append_floats_tuple (s, "MEAN", t->input_mean, t->n_inputs);
  append_floats_tuple (s, "STD", t->input_std, t->n_inputs);
  if (regression) {
    append_floats_tuple (s, "TARGET_MEAN", t->target_mean, t->n_targets);
    append_floats_tuple (s, "TARGET_STD", t->target_std, t->n_targets);
  } else {
    g_string_append (s, "TARGET_MEAN = ()\nTARGET_STD = ()\n");
  }
  g_string_append (s,
    "\n"
    "\n"
    "def normalize(rows):\n"
    "    \"\"\"Standardises a batch of rows (N, inputs) column by column.\"\"\"\n"
    "    return (rows - torch.tensor(MEAN)) / torch.tensor(STD)\n"
    "\n"
    "\n"
    "def scale_targets(values):\n"
    "    \"\"\"Targets (N, outputs) in their units, standardised as training saw them.\"\"\"\n"
    "    return (values - torch.tensor(TARGET_MEAN)) / torch.tensor(TARGET_STD)\n"
    "\n"
    "\n"
    "def unscale(outputs):\n"
    "    \"\"\"The model's outputs (N, outputs) in the targets' own units.\"\"\"\n"
    "    return outputs * torch.tensor(TARGET_STD) + torch.tensor(TARGET_MEAN)\n"
    "\n"
    "\n");
}

static void
append_table_reader (GString *s, gboolean regression, gboolean split_column)
{
  if (!split_column)
    g_string_append (s,
      "def row_hash(index):\n"
      "    \"\"\"splitmix64 of the row's index and SPLIT_SEED, as Lamina ranks rows.\"\"\"\n"
      "    mask = (1 << 64) - 1\n"
      "    z = (SPLIT_SEED ^ (index * 0x9E3779B97F4A7C15)) & mask\n"
      "    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask\n"
      "    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask\n"
      "    return z ^ (z >> 31)\n"
      "\n"
      "\n");
  g_string_append (s,
    "def separator(text):\n"
    "    \"\"\"The one of , ; and tab the header line has most of, outside quotes.\"\"\"\n"
    "    counts = {\",\": 0, \";\": 0, \"\\t\": 0}  # on a tie, the first\n"
    "    quoted = False\n"
    "    for char in text:\n"
    "        if char == '\"':\n"
    "            quoted = not quoted\n"
    "        elif not quoted and char in \"\\r\\n\":\n"
    "            break\n"
    "        elif not quoted and char in counts:\n"
    "            counts[char] += 1\n"
    "    return max(counts, key=counts.get)\n"
    "\n"
    "\n"
    "def read_table(path=TABLE):\n"
    "    \"\"\"The table's rows as Lamina reads them.\n"
    "\n"
    "    Returns the inputs (N, inputs) as float32, the targets (N, outputs) as\n"
    "    float32 or the classes (N,) as int64, and the indices of the test rows.\n"
    "    \"\"\"\n"
    "    with open(path, encoding=\"utf-8-sig\", errors=\"replace\", newline=\"\") as f:\n"
    "        text = f.read()\n"
    "    delimiter = separator(text)\n"
    "    space = \" \" if delimiter == \"\\t\" else \" \\t\"\n"
    "    records = []\n"
    "    for record in csv.reader(io.StringIO(text), delimiter=delimiter):\n"
    "        record = [field.strip(space) for field in record]\n"
    "        if record and record != [\"\"]:  # blank lines are not rows\n"
    "            records.append(record)\n"
    "    header = [name or f\"column {k + 1}\" for k, name in enumerate(records[0])]\n"
    "    rows = records[1:]\n"
    "    inputs = [header.index(name) for name in INPUTS]\n"
    "    targets = [header.index(name) for name in TARGETS]\n"
    "    x = torch.tensor([[float(row[k]) for k in inputs] for row in rows],\n"
    "                     dtype=torch.float32)\n");
  if (regression)
    g_string_append (s,
      "    y = torch.tensor([[float(row[k]) for k in targets] for row in rows],\n"
      "                     dtype=torch.float32)\n");
  else
    g_string_append (s,
      "    index = {name: i for i, name in enumerate(CLASSES)}\n"
      "\n"
      "    def label(text):\n"
      "        # Whole-number classes are named by their value: \"07\" is \"7\".\n"
      "        return index[text] if text in index else index[str(int(text))]\n"
      "\n"
      "    y = torch.tensor([label(row[targets[0]]) for row in rows],\n"
      "                     dtype=torch.int64)\n");
  if (split_column)
    g_string_append (s,
      "    split = header.index(SPLIT)\n"
      "    return x, y, [i for i, row in enumerate(rows) if row[split] == \"test\"]\n");
  else
    g_string_append (s,
      "    n = len(rows)\n"
      "    n_test = min(int(n * TEST_FRACTION + 0.5), n - 1)\n"
      "    ranked = sorted(range(n), key=lambda i: (row_hash(i), i))\n"
      "    return x, y, sorted(ranked[:n_test])\n");
  g_string_append (s,
    "\n"
    "\n"
    "def load_datasets():\n"
    "    \"\"\"The training and the test rows, standardised, as TensorDatasets.\"\"\"\n"
    "    x, y, test = read_table()\n"
    "    is_test = torch.zeros(len(x), dtype=torch.bool)\n"
    "    is_test[test] = True\n"
    "    x = normalize(x)\n");
  if (regression)
    g_string_append (s, "    y = scale_targets(y)\n");
  g_string_append (s,
    "    return (TensorDataset(x[~is_test], y[~is_test]),\n"
    "            TensorDataset(x[is_test], y[is_test]))\n"
    "\n"
    "\n");
}

static void
append_table_loops (GString *s, const LamTrainerConfig *c, gboolean regression, gboolean trainable)
{
  g_string_append (s, "def train_one_epoch(model, loader, optimizer, device):\n"
                      "    model.train()\n"
                      "    total_loss, seen = 0.0, 0\n"
                      "    for rows, targets in loader:\n"
                      "        rows, targets = rows.to(device), targets.to(device)\n");
  if (trainable)
    g_string_append (s, "        optimizer.zero_grad()\n");
  g_string_append (s, "        loss = loss_fn(model(rows), targets)\n");
  append_backward (s, &c->optimizer, trainable);
  if (trainable)
    g_string_append (s, "        optimizer.step()\n");
  g_string_append (s, "        total_loss += loss.item() * len(targets)\n"
                      "        seen += len(targets)\n"
                      "    return total_loss / seen\n"
                      "\n"
                      "\n");
  if (regression)
    g_string_append (s,
      "def evaluate(model, loader, device):\n"
      "    \"\"\"The loss (on standardised targets), then MSE, MAE and R² in the\n"
      "    targets' own units, each the mean over the targets.\"\"\"\n"
      "    model.eval()\n"
      "    total_loss, seen, predicted, actual = 0.0, 0, [], []\n"
      "    with torch.no_grad():\n"
      "        for rows, targets in loader:\n"
      "            rows, targets = rows.to(device), targets.to(device)\n"
      "            outputs = model(rows)\n"
      "            total_loss += loss_fn(outputs, targets).item() * len(targets)\n"
      "            seen += len(targets)\n"
      "            predicted.append(unscale(outputs.cpu()))\n"
      "            actual.append(unscale(targets.cpu()))\n"
      "    predicted = torch.cat(predicted).double()\n"
      "    actual = torch.cat(actual).double()\n"
      "    error = predicted - actual\n"
      "    mse = (error ** 2).mean(0)\n"
      "    mae = error.abs().mean(0)\n"
      "    r2 = 1 - (error ** 2).sum(0) / ((actual - actual.mean(0)) ** 2).sum(0)\n"
      "    return (total_loss / seen, mse.mean().item(), mae.mean().item(),\n"
      "            r2.mean().item())\n"
      "\n"
      "\n");
  else
    g_string_append (s,
      "def evaluate(model, loader, device):\n"
      "    \"\"\"The loss and the accuracy.\"\"\"\n"
      "    model.eval()\n"
      "    total_loss, correct, seen = 0.0, 0, 0\n"
      "    with torch.no_grad():\n"
      "        for rows, labels in loader:\n"
      "            rows, labels = rows.to(device), labels.to(device)\n"
      "            outputs = model(rows)\n"
      "            total_loss += loss_fn(outputs, labels).item() * len(labels)\n"
      "            correct += (outputs.argmax(1) == labels).sum().item()\n"
      "            seen += len(labels)\n"
      "    return total_loss / seen, correct / seen\n"
      "\n"
      "\n");
}

static void
append_table_main (GString *s, const LamTrainerConfig *c, gboolean regression)
{
  gboolean validate = c->val_fraction > 0;
  gboolean schedule = c->schedule.kind != LAM_SCHEDULE_CONSTANT;
  const char *scores = regression ? "loss, mse, mae, r2" : "loss, accuracy";
  const char *report = regression ? "MSE {mse:.4g}  MAE {mae:.4g}  R² {r2:.4f}"
                                  : "acc {100 * accuracy:.2f}%";

  g_string_append (s,
    "def main():\n"
    "    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])\n"
    "    parser.add_argument(\"--train\", action=\"store_true\",\n"
    "                        help=\"train from scratch instead of loading \"\n"
    "                        \"Lamina's weights\")\n"
    "    parser.add_argument(\"--weights\", default=WEIGHTS,\n"
    "                        help=\"Lamina's weights (default: %(default)s)\")\n"
    "    parser.add_argument(\"--epochs\", type=int, default=EPOCHS,\n"
    "                        help=\"with --train (default: %(default)s)\")\n"
    "    parser.add_argument(\"--save\", metavar=\"FILE\",\n"
    "                        help=\"with --train: save the weights (torch.save)\")\n"
    "    args = parser.parse_args()\n"
    "\n"
    "    device = \"cuda\" if torch.cuda.is_available() else \"cpu\"\n"
    "    torch.manual_seed(SEED)\n"
    "    train_data, test_data = load_datasets()\n"
    "    test_loader = DataLoader(test_data, batch_size=BATCH_SIZE)\n"
    "    model = build_model()\n"
    "\n"
    "    if args.train:\n");
  if (validate)
    g_string_append (s,
      "        # Hold out part of the training rows for validation.\n"
      "        n_val = int(len(train_data) * VAL_FRACTION + 0.5)\n"
      "        generator = torch.Generator().manual_seed(SEED)\n"
      "        train_set, val_set = random_split(\n"
      "            train_data, [len(train_data) - n_val, n_val], generator=generator)\n"
      "        val_loader = DataLoader(val_set, batch_size=BATCH_SIZE)\n");
  else
    g_string_append (s, "        train_set = train_data\n");
  g_string_append (s,
    "        train_loader = DataLoader(train_set, batch_size=BATCH_SIZE,\n"
    "                                  shuffle=True)\n"
    "        model.to(device)\n"
    "        optimizer = make_optimizer(model)\n");
  if (schedule)
    g_string_append (s, "        scheduler = make_scheduler(optimizer)\n");
  g_string_append (s,
    "        for epoch in range(args.epochs):\n"
    "            loss = train_one_epoch(model, train_loader, optimizer, device)\n"
    "            line = f\"Epoch {epoch + 1}/{args.epochs}  train loss {loss:.4f}\"\n");
  if (validate)
    g_string_append_printf (s,
      "            %s = evaluate(model, val_loader, device)\n"
      "            line += f\"  |  val loss {loss:.4f}  %s\"\n", scores, report);
  g_string_append (s, "            print(line)\n");
  if (schedule)
    g_string_append (s, "            scheduler.step()\n");
  g_string_append_printf (s,
    "        if args.save:\n"
    "            torch.save(model.state_dict(), args.save)\n"
    "    else:\n"
    "        load_lamina_weights(model, args.weights)\n"
    "        model.to(device)\n"
    "\n"
    "    %s = evaluate(model, test_loader, device)\n"
    "    print(f\"Test: loss {loss:.4f}  %s \"\n"
    "          f\"on {len(test_data)} rows\")\n"
    "\n"
    "\n"
    "if __name__ == \"__main__\":\n"
    "    main()\n", scores, report);
}

static char *
table_script (const LamExportOptions *options, GError **error)
{
  const LamModelSpec *spec = options->spec;
  if (!check_supported (spec, error))
    return NULL;
  if (!spec->has_input) {
    invalid (error, "the model spec has no input shape (the checkpoint's spec carries one)");
    return NULL;
  }
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, error);
  if (plan == NULL)
    return NULL;
  if (!check_table (options, plan, error))
    return NULL;
  if (options->weights_path == NULL || *options->weights_path == '\0') {
    invalid (error, "no weights file given");
    return NULL;
  }
  const LamTrainerConfig *c = &options->config;
  if (c->epochs < 1 || c->batch_size < 1 || !(c->val_fraction >= 0 && c->val_fraction < 1) ||
      !(isfinite (c->optimizer.lr) && c->optimizer.lr > 0)) {
    invalid (error, "epochs %d, batch size %d, validation fraction %g or learning rate %g out of "
             "range", c->epochs, c->batch_size, c->val_fraction, c->optimizer.lr);
    return NULL;
  }
  if (c->optimizer.kind != LAM_OPTIMIZER_SGD && c->optimizer.kind != LAM_OPTIMIZER_ADAM &&
      c->optimizer.kind != LAM_OPTIMIZER_ADAMW) {
    g_set_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_UNSUPPORTED,
                 "optimizer %d has no PyTorch equivalent in the export", (int) c->optimizer.kind);
    return NULL;
  }

  g_autofree char *script_name = options->script_path != NULL
                                   ? g_path_get_basename (options->script_path)
                                   : g_strdup ("model.py");
  if (!is_plain_text (script_name)) {
    g_free (script_name);
    script_name = g_strdup ("model.py");
  }
  gboolean regression = options->table->task == LAM_TASK_REGRESSION;
  LamTrainerConfig trained = trainer_config_for_plan (c, plan);
  gboolean trainable = plan->n_trainable > 0;
  g_autoptr (GString) s = g_string_new (NULL);
  append_table_header (s, spec, script_name, c->val_fraction > 0);
  append_table_settings (s, options, plan);
  append_model (s, plan, TRUE);
  append_weights_loader (s);
  append_loss_and_optimizer (s, spec, &trained, regression, trainable);
  append_table_reader (s, regression, options->table_split_column != NULL);
  append_table_loops (s, &trained, regression, trainable);
  append_table_main (s, &trained, regression);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

char *
lam_export_pytorch_script (const LamExportOptions *options, GError **error)
{
  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (options->spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  const LamModelSpec *spec = options->spec;
  if (options->table != NULL || options->dataset == LAM_EXPORT_DATASET_TABLE)
    return table_script (options, error);
  if (!check_supported (spec, error) || !check_options (options, spec, error))
    return NULL;
  if (lam_model_spec_get_loss (spec) == LAM_LOSS_L1) {
    invalid (error, "the loss l1 compares outputs with numbers; these images have classes");
    return NULL;
  }
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

  LamTrainerConfig trained = trainer_config_for_plan (&options->config, plan);
  gboolean trainable = plan->n_trainable > 0;
  g_autoptr (GString) s = g_string_new (NULL);
  append_header (s, spec, script_name, options->config.val_fraction > 0,
                 options->dataset == LAM_EXPORT_DATASET_FOLDER);
  if (!append_settings (s, options, plan, error))
    return NULL;
  append_model (s, plan, FALSE);
  append_weights_loader (s);
  append_loss_and_optimizer (s, spec, &trained, FALSE, trainable);
  if (!append_data (s, options, plan, error))
    return NULL;
  append_loops (s, &trained, trainable);
  append_main (s, &trained);
  return g_string_free (g_steal_pointer (&s), FALSE);
}
