/* The PyTorch export: the script's text for several specs, `lamina export`
 * as a user runs it, and, where torch is installed, the script itself run
 * by Python and its predictions compared with Lamina's. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lam-test-util.h"

#include "lam-checkpoint.h"
#include "lam-export.h"
#include "lam-model.h"

#define PYTHON "/usr/bin/python3"
#define FASHION_MNIST "/usr/share/datasets/fashion-mnist"

/* Helpers */

#define run_lamina(...) lam_test_run_lamina (__VA_ARGS__, NULL)
#define run_python(cwd, ...)                                                                       \
  lam_test_spawn (cwd, (const char *const[]){ PYTHON, __VA_ARGS__, NULL })

/* Each needle must occur in text, each after the previous one. */
static void
assert_in_order (const char *text, const char *const *needles)
{
  const char *at = text;
  for (int i = 0; needles[i] != NULL; i++) {
    const char *found = strstr (at, needles[i]);
    if (found == NULL) {
      g_test_message ("script:\n%s", text);
      g_error ("expected \"%s\"%s%s%s in the script", needles[i], i ? " after \"" : "",
               i ? needles[i - 1] : "", i ? "\"" : "");
    }
    at = found + strlen (needles[i]);
  }
}

static void
assert_absent (const char *text, const char *needle)
{
  if (strstr (text, needle) != NULL)
    g_error ("did not expect \"%s\" in the script:\n%s", needle, text);
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
    g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
    g_rmdir (path);
  } else {
    g_unlink (path);
  }
}

static char *
make_tmp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("lamina-export-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static gboolean
have_torch (void)
{
  static int answer = -1;
  if (answer < 0) {
    LamCliResult r = run_python (NULL, "-c", "import torch, numpy");
    answer = r.status == 0;
    lam_cli_result_clear (&r);
  }
  return answer;
}

static char *
agreement_helper (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "export_agreement.py", NULL);
  return g_canonicalize_filename (path, NULL);
}

/* The helper runs lamina from its own folder. */
static char *
lamina_binary (void)
{
  return g_canonicalize_filename (g_getenv ("LAMINA_BINARY"), NULL);
}

static LamModelSpec *
spec_from (const char *text)
{
  g_autoptr (GError) error = NULL;
  LamModelSpec *spec = lam_model_spec_from_string (text, &error);
  g_assert_no_error (error);
  return spec;
}

static char *
export_script (const LamExportOptions *options)
{
  g_autoptr (GError) error = NULL;
  char *script = lam_export_pytorch_script (options, &error);
  g_assert_no_error (error);
  g_assert_nonnull (script);
  return script;
}

/* Runs one training step of the script's model, loss and optimizer in
 * PyTorch, when it is installed. */
static void
smoke_test_script (const char *script)
{
  if (!have_torch ())
    return;
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "model.py", NULL);
  g_assert_true (g_file_set_contents (path, script, -1, NULL));
  g_autofree char *helper = agreement_helper ();
  LamCliResult r = run_python (dir, helper, "--script", path, "--smoke");
  lam_test_check_exit (&r, 0, NULL);
  g_test_message ("%s", g_strstrip (r.out));
  lam_cli_result_clear (&r);
  remove_tree (dir);
}

/* The script's text */

static void
test_script_mlp (void)
{
  g_autoptr (LamModelSpec) spec = spec_from ("mlp");
  LamExportOptions options;
  lam_export_options_init (&options, spec);
  options.weights_path = "/models/mlp.safetensors";
  options.mean[0] = 0.2858774f;
  options.std[0] = 0.35300282f;
  options.dataset_dir = FASHION_MNIST;
  g_autofree char *script = export_script (&options);

  assert_in_order (script, (const char *const[]) {
    "import torch\n", "import torch.nn as nn\n",
    "WEIGHTS = \"/models/mlp.safetensors\"\n",
    "EPOCHS = 1\n", "BATCH_SIZE = 64\n", "LEARNING_RATE = 0.001\n", "VAL_FRACTION = 0.1",
    "SEED = 1\n", "INPUT_SHAPE = (1, 28, 28)", "NUM_CLASSES = 10\n",
    "MEAN = (0.2858774,)\n", "STD = (0.35300282,)\n",
    "def build_model():", "    return nn.Sequential(\n",
    "        nn.Flatten(),", "# 0 -> 784\n",
    "        nn.Linear(784, 256),", "# 1 -> 256\n",
    "        nn.ReLU(),", "# 2 -> 256\n",
    "        nn.Linear(256, 128),", "# 3 -> 128\n",
    "        nn.ReLU(),",
    "        nn.Linear(128, 64),",
    "        nn.ReLU(),",
    "        nn.Linear(64, 10),", "# 7 -> 10\n",
    "        nn.LogSoftmax(dim=1),", "# 8 -> 10\n",
    "    )\n",
    "def load_lamina_weights(model, path):", "struct.unpack(\"<Q\", data[:8])",
    "torch.frombuffer(", ".reshape(entry[\"shape\"]).clone()",
    "model.load_state_dict(state, strict=True)",
    "loss_fn = nn.NLLLoss()\n",
    "torch.optim.Adam(model.parameters(), lr=LEARNING_RATE,",
    "betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0)",
    "from torchvision import datasets, transforms",
    "transforms.ToTensor(),", "transforms.Normalize(MEAN, STD),",
    "(Lamina read it from \"" FASHION_MNIST "\")",
    "datasets.FashionMNIST(root, train=True, download=True,",
    "datasets.FashionMNIST(root, train=False, download=True,",
    "def train_one_epoch(", "def evaluate(", "def main():", "\"--train\"",
    "random_split(", "generator=generator", "DataLoader(train_set, batch_size=BATCH_SIZE,",
    "shuffle=True)", "load_lamina_weights(model, args.weights)",
    "if __name__ == \"__main__\":\n    main()\n",
    NULL });
  /* torchvision only where the data is loaded; no augmentation asked for. */
  g_assert_nonnull (strstr (script, "\ndef load_datasets():\n    \"\"\"The training and the test "
                                    "images.\"\"\"\n    from torchvision import"));
  assert_absent (script, "\nimport torchvision");
  assert_absent (script, "\nfrom torchvision");
  assert_absent (script, "RandomCrop");
  assert_absent (script, "scheduler");
  smoke_test_script (script);
}

static void
test_script_small_cnn (void)
{
  g_autoptr (LamModelSpec) spec = spec_from ("small-cnn");
  LamExportOptions options;
  lam_export_options_init (&options, spec);
  options.weights_path = "/models/cnn.safetensors";
  options.mean[0] = 0.1307f;
  options.std[0] = 0.3081f;
  options.dataset = LAM_EXPORT_DATASET_MNIST;
  options.config.epochs = 3;
  options.config.batch_size = 128;
  options.config.optimizer = lam_optimizer_config_default (LAM_OPTIMIZER_SGD);
  options.config.optimizer.lr = 0.05;
  options.config.optimizer.momentum = 0.9;
  options.config.optimizer.nesterov = TRUE;
  options.config.optimizer.weight_decay = 5e-4;
  options.config.seed = 42;
  g_autofree char *script = export_script (&options);

  assert_in_order (script, (const char *const[]) {
    "EPOCHS = 3\n", "BATCH_SIZE = 128\n", "LEARNING_RATE = 0.05\n", "SEED = 42\n",
    "MEAN = (0.1307,)\n", "STD = (0.3081,)\n",
    "nn.Conv2d(1, 32, kernel_size=3, stride=1, padding=1),", "# 0 -> 32x28x28\n",
    "nn.ReLU(),",
    "nn.MaxPool2d(kernel_size=2, stride=2, padding=0),", "# 2 -> 32x14x14\n",
    "nn.Conv2d(32, 64, kernel_size=3, stride=1, padding=1),",
    "nn.ReLU(),",
    "nn.MaxPool2d(kernel_size=2, stride=2, padding=0),", "# 5 -> 64x7x7\n",
    "nn.Flatten(),", "# 6 -> 3136\n",
    "nn.Linear(3136, 128),",
    "nn.ReLU(),",
    "nn.Linear(128, 10),", "# 9 -> 10\n",
    "loss_fn = nn.CrossEntropyLoss()\n",
    "torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=0.9,",
    "nesterov=True, weight_decay=0.0005)",
    "datasets.MNIST(root, train=True, download=True,",
    NULL });
  assert_absent (script, "dampening");
  assert_absent (script, "LogSoftmax");
  smoke_test_script (script);
}

static void
test_script_mixed_layers (void)
{
  g_autoptr (LamModelSpec) spec = spec_from (
    "input=3x32x32,conv2d:8:5:s2:p2:nobias,leaky_relu:0.1,avgpool2d:3:s2:p1,dropout:0.25,"
    "flatten,linear:64,tanh,dropout,linear:10,sigmoid,softmax");
  LamExportOptions options;
  lam_export_options_init (&options, spec);
  g_assert_cmpint (options.n_channels, ==, 3);
  options.weights_path = "/models/cifar.safetensors";
  const float mean[] = { 0.4914f, 0.4822f, 0.4465f }, std[] = { 0.247f, 0.2435f, 0.2616f };
  memcpy (options.mean, mean, sizeof mean);
  memcpy (options.std, std, sizeof std);
  options.dataset = lam_export_dataset_for_dir ("/data/cifar-10-batches-bin");
  options.config.optimizer = lam_optimizer_config_default (LAM_OPTIMIZER_ADAMW);
  options.config.epochs = 5;
  options.config.schedule.kind = LAM_SCHEDULE_COSINE;
  options.config.schedule.t_max = 5;
  options.config.crop_padding = 4;
  options.config.hflip = TRUE;
  g_autofree char *script = export_script (&options);

  assert_in_order (script, (const char *const[]) {
    "INPUT_SHAPE = (3, 32, 32)", "MEAN = (0.4914, 0.4822, 0.4465)\n",
    "STD = (0.247, 0.2435, 0.2616)\n",
    /* Lines this long take their comments above them. */
    "        # 0 -> 8x16x16\n        nn.Conv2d(3, 8, kernel_size=5, stride=2, padding=2, "
    "bias=False),\n",
    "nn.LeakyReLU(negative_slope=0.1),",
    "# 2 -> 8x8x8\n        nn.AvgPool2d(kernel_size=3, stride=2, padding=1),",
    "nn.Dropout(p=0.25),",
    "# 4 -> 512\n        nn.Flatten(),",
    "nn.Linear(512, 64),",
    "nn.Tanh(),",
    "nn.Dropout(p=0.5),",
    "nn.Linear(64, 10),",
    "nn.Sigmoid(),",
    "# 10 -> 10\n        nn.Softmax(dim=1),\n    )\n",
    "loss_fn = nn.CrossEntropyLoss()\n",
    "torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE,",
    "betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01)",
    "torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=5,", "eta_min=0.0)",
    "transforms.RandomCrop((32, 32), padding=4),", "transforms.RandomHorizontalFlip(),",
    "datasets.CIFAR10(root, train=True, download=True,",
    "train_augmented = datasets.CIFAR10(",
    "torch.utils.data.Subset(train_augmented,",
    "scheduler = make_scheduler(optimizer)", "scheduler.step()",
    NULL });
  smoke_test_script (script);
}

static void
test_script_mse_folder (void)
{
  g_autoptr (LamModelSpec) spec = spec_from ("flatten,linear:32,sigmoid,linear:4,loss=mse");
  spec->has_input = TRUE;
  spec->input = lam_shape_chw (1, 8, 8);
  LamExportOptions options;
  lam_export_options_init (&options, spec);
  options.weights_path = "bars.safetensors";
  options.dataset = LAM_EXPORT_DATASET_FOLDER;
  options.dataset_dir = "/data/my \"bars\"";
  options.config.val_fraction = 0;
  options.config.schedule.kind = LAM_SCHEDULE_STEP;
  options.config.schedule.step_size = 2;
  options.config.schedule.gamma = 0.5;
  g_autofree char *script = export_script (&options);

  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *absolute = g_build_filename (cwd, "bars.safetensors", NULL);
  g_autofree char *weights_line = g_strdup_printf ("WEIGHTS = \"%s\"\n", absolute);
  assert_in_order (script, (const char *const[]) {
    weights_line, "VAL_FRACTION = 0.0", "NUM_CLASSES = 4\n",
    "MEAN = (0.0,)\n", "STD = (1.0,)\n",
    "nn.Flatten(),", "nn.Linear(64, 32),", "nn.Sigmoid(),", "nn.Linear(32, 4),",
    "mse_loss = nn.MSELoss()\n", "def loss_fn(outputs, labels):",
    "nn.functional.one_hot(labels, NUM_CLASSES).float()",
    "torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)",
    "def read_idx(path):", "class IdxFolder(torch.utils.data.Dataset):",
    "from torchvision import transforms\n",
    "root = \"/data/my \\\"bars\\\"\"\n",
    "train_data = IdxFolder(root, train=True,",
    "test_data = IdxFolder(root, train=False,",
    "train_set = train_data\n",
    NULL });
  assert_absent (script, "random_split");
  assert_absent (script, "download=True");
  assert_absent (script, "val_loader");
  smoke_test_script (script);
}

static void
test_script_weights_path (void)
{
  g_autoptr (LamModelSpec) spec = spec_from ("mlp-32");
  LamExportOptions options;
  lam_export_options_init (&options, spec);

  /* Beside the script, or below it: relative to the script's folder. */
  options.weights_path = "/work/runs/mlp.safetensors";
  options.script_path = "/work/runs/mlp.py";
  g_autofree char *beside = export_script (&options);
  assert_in_order (beside, (const char *const[]) {
    "    python3 mlp.py --train",
    "WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)),",
    "\"mlp.safetensors\")\n", NULL });

  options.weights_path = "/work/runs/weights/mlp.safetensors";
  g_autofree char *below = export_script (&options);
  assert_in_order (below, (const char *const[]) {
    "os.path.abspath(__file__)),", "\"weights/mlp.safetensors\")\n", NULL });

  /* Elsewhere: absolute. */
  options.script_path = "/tmp/scripts/mlp.py";
  g_autofree char *elsewhere = export_script (&options);
  assert_in_order (elsewhere, (const char *const[]) {
    "WEIGHTS = \"/work/runs/weights/mlp.safetensors\"\n", NULL });
  assert_absent (elsewhere, "__file__");
}

static void
test_script_errors (void)
{
  g_autoptr (GError) error = NULL;
  LamExportOptions options;

  /* A layer kind the export does not know: named by position. */
  g_autoptr (LamModelSpec) unknown = spec_from ("input=1x28x28,flatten,linear:10");
  unknown->layers[1].kind = LAM_N_LAYER_KINDS;
  lam_export_options_init (&options, unknown);
  options.weights_path = "m.safetensors";
  g_assert_null (lam_export_pytorch_script (&options, &error));
  g_assert_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "layer 2"));
  g_clear_error (&error);

  g_autoptr (LamModelSpec) bad_loss = spec_from ("input=1x28x28,flatten,linear:10");
  bad_loss->has_loss = TRUE;
  bad_loss->loss = (LamLossKind) 42;
  lam_export_options_init (&options, bad_loss);
  options.weights_path = "m.safetensors";
  g_assert_null (lam_export_pytorch_script (&options, &error));
  g_assert_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "loss 42"));
  g_clear_error (&error);

  /* No input shape: the layers' sizes cannot be known. */
  g_autoptr (LamModelSpec) no_input = spec_from ("flatten,linear:10");
  lam_export_options_init (&options, no_input);
  options.weights_path = "m.safetensors";
  g_assert_null (lam_export_pytorch_script (&options, &error));
  g_assert_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "input"));
  g_clear_error (&error);

  /* Layers that do not fit: the model's own error. */
  g_autoptr (LamModelSpec) misfit = spec_from ("input=1x28x28,flatten,linear:10:in=100");
  lam_export_options_init (&options, misfit);
  options.weights_path = "m.safetensors";
  g_assert_null (lam_export_pytorch_script (&options, &error));
  g_assert_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE);
  g_clear_error (&error);

  /* Options out of range, each named. */
  g_autoptr (LamModelSpec) spec = spec_from ("mlp");
  lam_export_options_init (&options, spec);
  g_assert_null (lam_export_pytorch_script (&options, &error));
  g_assert_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "weights"));
  g_clear_error (&error);

  options.weights_path = "m.safetensors";
  options.std[0] = 0;
  g_assert_null (lam_export_pytorch_script (&options, &error));
  g_assert_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "std"));
  g_clear_error (&error);

  lam_export_options_init (&options, spec);
  options.weights_path = "m.safetensors";
  options.n_channels = 3;
  g_assert_null (lam_export_pytorch_script (&options, &error));
  g_assert_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "3 channels"));
  g_clear_error (&error);

  lam_export_options_init (&options, spec);
  options.weights_path = "m.safetensors";
  options.dataset = LAM_EXPORT_DATASET_FOLDER;
  g_assert_null (lam_export_pytorch_script (&options, &error));
  g_assert_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "folder"));
  g_clear_error (&error);

  lam_export_options_init (&options, spec);
  options.weights_path = "m.safetensors";
  options.config.optimizer.lr = 0;
  g_assert_null (lam_export_pytorch_script (&options, &error));
  g_assert_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "learning rate"));
  g_clear_error (&error);

  /* torch reflects only less than the image's side. */
  lam_export_options_init (&options, spec);
  options.weights_path = "m.safetensors";
  options.config.crop_padding = 28;
  options.config.padding_mode = LAM_PADDING_REFLECT;
  g_assert_null (lam_export_pytorch_script (&options, &error));
  g_assert_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "reflect padding of 28 pixels"));
  g_clear_error (&error);
}

/* The crops pad as Lamina's did: with zeros (RandomCrop's default,
 * padding_mode="constant") or by reflection. */
static void
test_script_padding_mode (void)
{
  g_autoptr (LamModelSpec) spec = spec_from ("input=1x28x28,flatten,linear:10");
  LamExportOptions options;
  lam_export_options_init (&options, spec);
  options.weights_path = "m.safetensors";
  options.config.crop_padding = 4;
  g_autofree char *zeros = export_script (&options);
  assert_in_order (zeros, (const char *const[]) {
    "transforms.RandomCrop((28, 28), padding=4),\n", NULL });
  assert_absent (zeros, "padding_mode");

  options.config.padding_mode = LAM_PADDING_REFLECT;
  g_autofree char *reflect = export_script (&options);
  assert_in_order (reflect, (const char *const[]) {
    "transforms.RandomCrop((28, 28), padding=4, padding_mode=\"reflect\"),\n", NULL });
}

/* Python's view of a script: every statement and expression, with string
 * constants blanked, one line. Two scripts whose texts differ only in the
 * strings they carry have the same outline. */
static const char outline_program[] =
  "import ast, sys\n"
  "class Blank(ast.NodeTransformer):\n"
  "    def visit_Constant(self, node):\n"
  "        return ast.Constant('') if isinstance(node.value, (str, bytes)) else node\n"
  "    def visit_Call(self, node):\n"
  "        # A name that is not UTF-8: os.fsdecode(b'...') stands for a string.\n"
  "        f = node.func\n"
  "        if (isinstance(f, ast.Attribute) and f.attr == 'fsdecode' and\n"
  "                isinstance(f.value, ast.Name) and f.value.id == 'os' and\n"
  "                len(node.args) == 1 and isinstance(node.args[0], ast.Constant)):\n"
  "            return ast.Constant('')\n"
  "        return self.generic_visit(node)\n"
  "tree = Blank().visit(ast.parse(open(sys.argv[1], 'rb').read()))\n"
  "print(ast.dump(tree))\n";

static char *
script_outline (const char *dir, const char *script)
{
  g_autofree char *path = g_build_filename (dir, "outline-me.py", NULL);
  g_assert_true (g_file_set_contents (path, script, -1, NULL));
  LamCliResult r = run_python (dir, "-c", outline_program, path);
  lam_test_check_exit (&r, 0, NULL);
  char *outline = g_strdup (r.out);
  lam_cli_result_clear (&r);
  return outline;
}

/* Text from files (a dataset folder, a model name, the script's own name)
 * never becomes code: every line terminator Python knows, quotes,
 * backslashes, triple quotes and bytes that are not UTF-8, each trying to
 * start a statement of its own. The script parses, has exactly the
 * statements of an export with plain names, and still names the folder. */
static void
test_script_hostile_strings (void)
{
  static const char *const breakers[] = {
    "\r", "\n", "\f", "\v", "\x1c", "\x1d", "\x1e", "\xc2\x85", "\xe2\x80\xa8",
    "\xe2\x80\xa9", "\"", "\\", "\"\"\"", "'''", "\xff\xfe", "\\\r", "\x7f",
  };
  g_autofree char *dir = make_tmp_dir ();
  g_autoptr (LamModelSpec) spec = spec_from ("input=1x28x28,flatten,linear:10");
  for (int folder = 0; folder <= 1; folder++) {
    LamExportOptions options;
    lam_export_options_init (&options, spec);
    options.weights_path = "/models/plain.safetensors";
    options.dataset = folder ? LAM_EXPORT_DATASET_FOLDER : LAM_EXPORT_DATASET_FASHION_MNIST;
    options.dataset_dir = "/data/plain";
    g_free (spec->name);
    spec->name = g_strdup ("plain");
    options.script_path = "plain.py";
    g_autofree char *plain = export_script (&options);
    g_autofree char *plain_outline = script_outline (dir, plain);

    for (guint i = 0; i < G_N_ELEMENTS (breakers); i++) {
      g_autofree char *evil = g_strdup_printf ("/data/x%simport os; os.system('touch PWNED')%s#",
                                               breakers[i], breakers[i]);
      g_autofree char *weights = g_strdup_printf ("/models/w%sprint(1)%s.safetensors",
                                                  breakers[i], breakers[i]);
      g_autofree char *script_name = g_strdup_printf ("s%sprint(2).py", breakers[i]);
      g_free (spec->name);
      spec->name = g_strdup_printf ("net%sprint(3)", breakers[i]);
      options.dataset_dir = evil;
      options.weights_path = weights;
      options.script_path = script_name;
      g_autofree char *script = export_script (&options);
      g_autofree char *outline = script_outline (dir, script);
      if (g_strcmp0 (outline, plain_outline) != 0)
        g_error ("breaker %u (%s dataset) changed the script's statements", i,
                 folder ? "folder" : "torchvision");
      /* Nothing but printable ASCII and newlines, inside literals or not. */
      for (const char *p = script; *p; p++)
        g_assert_true (*p == '\n' || ((guchar) *p >= 0x20 && (guchar) *p < 0x7f));
    }
  }
  /* A name with %: argparse %-formats the docstring's first line, the
   * script's description, so the name stays out of it. */
  {
    LamExportOptions options;
    lam_export_options_init (&options, spec);
    g_free (spec->name);
    spec->name = g_strdup ("Mine: 100% (%(prog)s)");
    options.weights_path = "/models/plain.safetensors";
    options.dataset = LAM_EXPORT_DATASET_FASHION_MNIST;
    options.dataset_dir = "/data/plain";
    g_autofree char *script = export_script (&options);
    const char *doc = strstr (script, "\"\"\"");
    g_assert_nonnull (doc);
    g_autofree char *first_line = g_strndup (doc, strcspn (doc, "\n"));
    g_assert_null (strchr (first_line, '%'));
    g_assert_nonnull (strstr (script, "description=__doc__.splitlines()[0]"));
  }
  /* The names survive: Python reads back the very bytes Lamina had. */
  LamExportOptions options;
  lam_export_options_init (&options, spec);
  options.weights_path = "/models/\xff\xfe.safetensors";
  options.dataset = LAM_EXPORT_DATASET_FOLDER;
  options.dataset_dir = "/data/caf\xc3\xa9\r\xe2\x80\xa8\xff";
  g_autofree char *script = export_script (&options);
  g_autofree char *path = g_build_filename (dir, "names.py", NULL);
  g_assert_true (g_file_set_contents (path, script, -1, NULL));
  LamCliResult r =
    run_python (dir, "-c",
                "import ast, os, sys\n"
                "tree = ast.parse(open(sys.argv[1], 'rb').read())\n"
                "for node in ast.walk(tree):\n"
                "    if isinstance(node, ast.Assign) and "
                "getattr(node.targets[0], 'id', '') in ('WEIGHTS', 'root'):\n"
                "        v = eval(compile(ast.Expression(node.value), 'x', 'eval'))\n"
                "        sys.stdout.buffer.write(os.fsencode(v) + b'|')\n",
                path);
  lam_test_check_exit (&r, 0, NULL);
  g_assert_cmpstr (r.out, ==, "/models/\xff\xfe.safetensors|/data/caf\xc3\xa9\r\xe2\x80\xa8\xff|");
  lam_cli_result_clear (&r);
  remove_tree (dir);
}

static void
test_dataset_for_dir (void)
{
  g_assert_cmpint (lam_export_dataset_for_dir (FASHION_MNIST), ==,
                   LAM_EXPORT_DATASET_FASHION_MNIST);
  g_assert_cmpint (lam_export_dataset_for_dir ("/data/Fashion_MNIST/"), ==,
                   LAM_EXPORT_DATASET_FASHION_MNIST);
  g_assert_cmpint (lam_export_dataset_for_dir ("/data/mnist"), ==, LAM_EXPORT_DATASET_MNIST);
  g_assert_cmpint (lam_export_dataset_for_dir ("/data/kmnist"), ==, LAM_EXPORT_DATASET_KMNIST);
  g_assert_cmpint (lam_export_dataset_for_dir ("/data/cifar10"), ==, LAM_EXPORT_DATASET_CIFAR10);
  g_assert_cmpint (lam_export_dataset_for_dir ("/data/letters"), ==, LAM_EXPORT_DATASET_FOLDER);

  /* A CIFAR-10 folder under another name, known by its batches. */
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *images = g_build_filename (dir, "pictures", NULL);
  g_assert_cmpint (g_mkdir (images, 0700), ==, 0);
  g_assert_cmpint (lam_export_dataset_for_dir (images), ==, LAM_EXPORT_DATASET_FOLDER);
  g_autofree char *batch = g_build_filename (images, "data_batch_1.bin", NULL);
  g_assert_true (g_file_set_contents (batch, "", 0, NULL));
  g_assert_cmpint (lam_export_dataset_for_dir (images), ==, LAM_EXPORT_DATASET_CIFAR10);

  /* A folder that names its classes is its own, whatever its name says:
   * an imported folder of fashion photos is not torchvision's FashionMNIST. */
  g_autofree char *photos = g_build_filename (dir, "fashion-photos-28x28-grey", NULL);
  g_assert_cmpint (g_mkdir (photos, 0700), ==, 0);
  g_assert_cmpint (lam_export_dataset_for_dir (photos), ==, LAM_EXPORT_DATASET_FASHION_MNIST);
  g_autofree char *classes = g_build_filename (photos, "classes.txt", NULL);
  g_assert_true (g_file_set_contents (classes, "shirt\nshoe\n", -1, NULL));
  g_assert_cmpint (lam_export_dataset_for_dir (photos), ==, LAM_EXPORT_DATASET_FOLDER);
  remove_tree (dir);

  g_assert_cmpstr (lam_export_dataset_to_string (LAM_EXPORT_DATASET_KMNIST), ==, "kmnist");
}

/* The command line */

/* A checkpoint of the given spec with zero weights, as `lamina train
 * --save` writes it. */
static void
save_checkpoint (const char *path, const char *spec_text, const char *dataset)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = spec_from (spec_text);
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &error);
  g_assert_no_error (error);
  g_autofree float *params = g_new0 (float, plan->n_params);
  LamCheckpointInfo info = {
    .spec = spec,
    .n_channels = 1,
    .mean = { 0.25f },
    .std = { 0.5f },
    .dataset = (char *) dataset,
  };
  g_assert_true (lam_checkpoint_save (path, plan, &info, params, &error));
  g_assert_no_error (error);
}

static void
test_cli_errors (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *weights = g_build_filename (dir, "m.safetensors", NULL);
  g_autofree char *script = g_build_filename (dir, "m.py", NULL);
  save_checkpoint (weights, "input=1x28x28,flatten,linear:10", FASHION_MNIST);

  LamCliResult r = run_lamina ("export", "--help");
  lam_test_check_exit (&r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "--pytorch"));
  g_assert_nonnull (strstr (r.out, "--predictions"));
  g_assert_nonnull (strstr (r.out, "Diagnostic"));
  lam_cli_result_clear (&r);

  r = run_lamina ("export", "--load", weights, "-o", script);
  lam_test_check_exit (&r, 2, "--pytorch");
  lam_cli_result_clear (&r);

  r = run_lamina ("export", "--pytorch", "-o", script);
  lam_test_check_exit (&r, 2, "--load");
  lam_cli_result_clear (&r);

  r = run_lamina ("export", "--pytorch", "--load", weights);
  lam_test_check_exit (&r, 2, "-o SCRIPT.py");
  lam_cli_result_clear (&r);

  r = run_lamina ("export", "--pytorch", "--predictions", "--load", weights);
  lam_test_check_exit (&r, 2, "exclude");
  lam_cli_result_clear (&r);

  r = run_lamina ("export", "--pytorch", "--load", weights, "-o", script, "extra");
  lam_test_check_exit (&r, 2, "\"extra\"");
  lam_cli_result_clear (&r);

  r = run_lamina ("export", "--pytorch", "--load", weights, "-o", script, "--optimizer",
                  "rmsprop");
  lam_test_check_exit (&r, 2, "\"rmsprop\"");
  lam_cli_result_clear (&r);

  r = run_lamina ("export", "--pytorch", "--load", weights, "-o", script, "--lr", "0");
  lam_test_check_exit (&r, 2, "--lr");
  lam_cli_result_clear (&r);

  r = run_lamina ("export", "--pytorch", "--load", weights, "-o", script, "--epochs", "x");
  lam_test_check_exit (&r, 2, "--epochs");
  lam_cli_result_clear (&r);

  r = run_lamina ("export", "--pytorch", "--load", "/nonexistent/m.safetensors", "-o", script);
  lam_test_check_exit (&r, 4, "/nonexistent/m");
  lam_cli_result_clear (&r);

  /* Weights that lie about their size. */
  g_autofree char *broken = g_build_filename (dir, "broken.safetensors", NULL);
  g_assert_true (g_file_set_contents (broken, "\x40\0\0\0\0\0\0\0{}", 10, NULL));
  r = run_lamina ("export", "--pytorch", "--load", broken, "-o", script);
  lam_test_check_exit (&r, 4, "broken");
  lam_cli_result_clear (&r);

  g_autofree char *nowhere = g_build_filename (dir, "no-such-folder", "m.py", NULL);
  r = run_lamina ("export", "--pytorch", "--load", weights, "-o", nowhere);
  lam_test_check_exit (&r, 6, "no-such-folder");
  lam_cli_result_clear (&r);
  g_assert_false (g_file_test (script, G_FILE_TEST_EXISTS));

  r = run_lamina ("export", "--predictions", "--load", weights, "--data",
                  "/nonexistent/lamina-data");
  lam_test_check_exit (&r, 3, "/nonexistent/lamina-data");
  lam_cli_result_clear (&r);

  r = run_lamina ("export", "--predictions", "--load", weights, "--lr", "0.1");
  lam_test_check_exit (&r, 2, "--pytorch only");
  lam_cli_result_clear (&r);

  remove_tree (dir);
}

static void
test_cli_write (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *weights = g_build_filename (dir, "m.safetensors", NULL);
  g_autofree char *json = g_build_filename (dir, "m.json", NULL);
  g_autofree char *script = g_build_filename (dir, "m.py", NULL);
  save_checkpoint (weights, "input=1x28x28,conv2d:4:3:p1,relu,maxpool2d:2,flatten,linear:10",
                   "/srv/data/KMNIST");

  /* From the .json, with overrides. */
  LamCliResult r = run_lamina ("export", "--pytorch", "--load", json, "-o", script, "--optimizer",
                               "sgd", "--lr", "0.1", "--batch-size", "32", "--epochs", "4");
  lam_test_check_exit (&r, 0, NULL);
  g_assert_nonnull (strstr (r.out, script));
  lam_cli_result_clear (&r);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (script, &text, NULL, NULL));
  assert_in_order (text, (const char *const[]) {
    "os.path.abspath(__file__)),", "\"m.safetensors\")\n",
    "EPOCHS = 4\n", "BATCH_SIZE = 32\n", "LEARNING_RATE = 0.1\n",
    "MEAN = (0.25,)\n", "STD = (0.5,)\n",
    "nn.Conv2d(1, 4, kernel_size=3, stride=1, padding=1),", "nn.Linear(784, 10),",
    "torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=0.0,",
    "nesterov=False, weight_decay=0.0)",
    "(Lamina read it from \"/srv/data/KMNIST\")", "datasets.KMNIST(root, train=True", NULL });

  /* To standard output: the weights by absolute path, nothing else printed. */
  r = run_lamina ("export", "--pytorch", "--load", weights, "-o", "-");
  lam_test_check_exit (&r, 0, NULL);
  g_autofree char *weights_line = g_strdup_printf ("WEIGHTS = \"%s\"\n", weights);
  assert_in_order (r.out, (const char *const[]) {
    "\"\"\"", weights_line, "LEARNING_RATE = 0.001\n", "torch.optim.Adam(", NULL });
  g_assert_true (g_str_has_suffix (r.out, "    main()\n"));
  lam_cli_result_clear (&r);

  /* Through a symlink to /dev/null: the device is written, not replaced,
   * and the link stays. */
  g_autofree char *link = g_build_filename (dir, "null.py", NULL);
  g_assert_cmpint (symlink ("/dev/null", link), ==, 0);
  r = run_lamina ("export", "--pytorch", "--load", weights, "-o", link);
  lam_test_check_exit (&r, 0, NULL);
  lam_cli_result_clear (&r);
  GStatBuf st;
  g_assert_cmpint (g_lstat (link, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_assert_cmpint (g_stat ("/dev/null", &st), ==, 0);
  g_assert_true (S_ISCHR (st.st_mode));

  /* A folder where the script should go: refused by name, nothing made. */
  g_autofree char *folder = g_build_filename (dir, "folder.py", NULL);
  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);
  r = run_lamina ("export", "--pytorch", "--load", weights, "-o", folder);
  lam_test_check_exit (&r, 6, "folder.py");
  lam_cli_result_clear (&r);

  remove_tree (dir);
}

/* With Python and torch */

static gboolean
skip_without_torch (void)
{
  if (have_torch ())
    return FALSE;
  g_test_skip ("no torch and numpy for " PYTHON " (\"" PYTHON " -c 'import torch'\" fails)");
  return TRUE;
}

/* Three classes of 8×8 images: a bright row at 0, 3 or 6 over noise. */
static void
write_bars (const char *dir, const char *prefix, int n, guint32 seed)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  g_autofree guint8 *images = g_new (guint8, (gsize) n * 64);
  g_autofree guint8 *labels = g_new (guint8, n);
  for (int i = 0; i < n; i++) {
    int label = g_rand_int_range (rng, 0, 3);
    labels[i] = (guint8) label;
    for (int p = 0; p < 64; p++)
      images[i * 64 + p] =
        (guint8) (g_rand_int_range (rng, 0, 200) + (p / 8 == label * 3 ? 40 : 0));
  }
  g_autofree char *images_name = g_strdup_printf ("%s-images-idx3-ubyte", prefix);
  g_autofree char *labels_name = g_strdup_printf ("%s-labels-idx1-ubyte", prefix);
  g_autofree char *images_path = g_build_filename (dir, images_name, NULL);
  g_autofree char *labels_path = g_build_filename (dir, labels_name, NULL);
  guint32 image_dims[] = { n, 8, 8 };
  guint32 label_dims[] = { n };
  lam_test_write_idx (images_path, 0x803, 3, image_dims, images, (gsize) n * 64);
  lam_test_write_idx (labels_path, 0x801, 1, label_dims, labels, n);
}

/* The number after `key` in text, or NAN. */
static double
number_after (const char *text, const char *key)
{
  const char *at = text ? strstr (text, key) : NULL;
  return at ? g_ascii_strtod (at + strlen (key), NULL) : NAN;
}

/* On a folder torchvision does not know, the script reads the IDX files
 * itself, so it runs whole here, offline: its evaluation of Lamina's
 * weights gives Lamina's accuracy, and --train trains. */
static void
test_python_folder_round_trip (void)
{
  if (skip_without_torch ())
    return;
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *data = g_build_filename (dir, "bars", NULL);
  g_assert_cmpint (g_mkdir (data, 0700), ==, 0);
  write_bars (data, "train", 600, 1);
  write_bars (data, "t10k", 200, 2);
  g_autofree char *weights = g_build_filename (dir, "bars.safetensors", NULL);
  g_autofree char *script = g_build_filename (dir, "bars.py", NULL);

  LamCliResult r = run_lamina (
    "train", "--data", data, "--model", "flatten,linear:16,relu,dropout:0.1,linear:3", "--epochs",
    "3", "--batch-size", "20", "--lr", "0.01", "--device", "cpu", "--save", weights);
  lam_test_check_exit (&r, 0, NULL);
  lam_cli_result_clear (&r);
  r = run_lamina ("eval", "--load", weights, "--data", data, "--device", "cpu");
  lam_test_check_exit (&r, 0, NULL);
  double lamina_accuracy = number_after (r.out, "accuracy ");
  lam_cli_result_clear (&r);

  r = run_lamina ("export", "--pytorch", "--load", weights, "-o", script, "--epochs", "5",
                  "--batch-size", "20", "--lr", "0.01");
  lam_test_check_exit (&r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "(folder)"));
  lam_cli_result_clear (&r);

  r = run_python (dir, script);
  lam_test_check_exit (&r, 0, NULL);
  double torch_accuracy = number_after (r.out, "accuracy ");
  g_test_message ("bars: Lamina %.2f%%, the script on Lamina's weights %.2f%%", lamina_accuracy,
                  torch_accuracy);
  /* Noisy enough that a wrong normalisation or layer would show. */
  g_assert_cmpfloat (lamina_accuracy, >=, 60);
  g_assert_cmpfloat (lamina_accuracy, <, 99);
  g_assert_cmpfloat_with_epsilon (torch_accuracy, lamina_accuracy, 0.51);
  g_assert_nonnull (strstr (r.out, "on 200 images"));
  lam_cli_result_clear (&r);

  g_autofree char *saved = g_build_filename (dir, "trained.pt", NULL);
  r = run_python (dir, script, "--train", "--save", saved);
  lam_test_check_exit (&r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "Epoch 5/5  train loss"));
  g_assert_nonnull (strstr (r.out, "val loss"));
  g_test_message ("bars, trained by the script: %s", g_strstrip (r.out));
  const char *test_line = strstr (r.out, "Test: ");
  g_assert_nonnull (test_line);
  g_assert_cmpfloat (number_after (test_line, "accuracy "), >=, 60);
  g_assert_true (g_file_test (saved, G_FILE_TEST_IS_REGULAR));
  lam_cli_result_clear (&r);

  g_autofree char *helper = agreement_helper ();
  g_autofree char *binary = lamina_binary ();
  r = run_python (dir, helper, "--script", script, "--weights", weights, "--data", data,
                  "--count", "200", "--lamina", binary);
  lam_test_check_exit (&r, 0, NULL);
  g_test_message ("bars: %s", g_strstrip (r.out));
  lam_cli_result_clear (&r);

  /* Nothing left in the data folder or beside the script but what we wrote. */
  g_autofree char *cache = g_build_filename (dir, "__pycache__", NULL);
  g_autofree char *downloads = g_build_filename (dir, "data", NULL);
  g_assert_false (g_file_test (cache, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (downloads, G_FILE_TEST_EXISTS));
  remove_tree (dir);
}

/* Trains on Fashion-MNIST with Lamina, exports, and compares predictions
 * on the first 1,000 test images. */
static void
check_agreement (const char *model, const char *batch_size)
{
  if (skip_without_torch ())
    return;
  if (!g_file_test (FASHION_MNIST, G_FILE_TEST_IS_DIR)) {
    g_test_skip ("no Fashion-MNIST at " FASHION_MNIST " (Debian's dataset-fashion-mnist)");
    return;
  }
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *weights = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *script = g_build_filename (dir, "model.py", NULL);

  LamCliResult r =
    run_lamina ("train", "--data", FASHION_MNIST, "--model", model, "--epochs", "1", "--batch-size",
                batch_size, "--no-test", "--save", weights, "--device", "cpu");
  lam_test_check_exit (&r, 0, NULL);
  lam_cli_result_clear (&r);
  r = run_lamina ("export", "--pytorch", "--load", weights, "-o", script);
  lam_test_check_exit (&r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "(fashion-mnist)"));
  lam_cli_result_clear (&r);

  g_autofree char *helper = agreement_helper ();
  g_autofree char *binary = lamina_binary ();
  r = run_python (dir, helper, "--script", script, "--weights", weights, "--data", FASHION_MNIST,
                  "--count", "1000", "--lamina", binary);
  lam_test_check_exit (&r, 0, NULL);
  double agreement = number_after (r.out, "agreement ");
  g_test_message ("%s: %s", model, g_strstrip (r.out));
  g_assert_cmpfloat (agreement, >=, 0.999);
  lam_cli_result_clear (&r);
  remove_tree (dir);
}

static void
test_python_agreement_mlp (void)
{
  check_agreement ("mlp", "64");
}

static void
test_python_agreement_small_cnn (void)
{
  check_agreement ("small-cnn", "128");
}

/* Batch norms: the running statistics travel in the weights file under
 * PyTorch's names, and the script's model in eval() uses them as Lamina
 * does. */
static void
test_python_agreement_small_cnn_bn (void)
{
  check_agreement ("small-cnn-bn", "128");
}

/* Tables */

/* A description of a table of three inputs: a regression of two targets,
 * or a classification of the column "kind". */
static LamTableInfo *
table_info (LamTask task)
{
  LamTableInfo *t = g_new0 (LamTableInfo, 1);
  t->task = task;
  t->n_inputs = 3;
  t->inputs = g_strsplit ("temperature,rainfall,humidity", ",", -1);
  t->input_mean = g_memdup2 ((float[]) { 82.5f, 91.25f, 53.75f }, 3 * sizeof (float));
  t->input_std = g_memdup2 ((float[]) { 13.5f, 27.75f, 12.9f }, 3 * sizeof (float));
  if (task == LAM_TASK_REGRESSION) {
    t->n_targets = 2;
    t->targets = g_strsplit ("apples,oranges", ",", -1);
    t->target_mean = g_memdup2 ((float[]) { 80.0f, 94.5f }, 2 * sizeof (float));
    t->target_std = g_memdup2 ((float[]) { 25.25f, 25.5f }, 2 * sizeof (float));
  } else {
    t->n_targets = 1;
    t->targets = g_strsplit ("kind", ",", -1);
  }
  t->test_fraction = 0.2;
  return t;
}

static void
test_script_table (void)
{
  g_autoptr (LamTableInfo) regression = table_info (LAM_TASK_REGRESSION);
  g_autoptr (LamModelSpec) spec = spec_from ("input=3,linear:2,loss=l1");
  LamExportOptions options;
  lam_export_options_init (&options, spec);
  options.weights_path = "/models/crops.safetensors";
  options.dataset = LAM_EXPORT_DATASET_TABLE;
  options.dataset_dir = "/data/crop-yields.csv";
  options.table = regression;
  g_autofree char *script = export_script (&options);
  assert_in_order (script, (const char *const[]) {
    "for a table.", "import csv", "TensorDataset, random_split",
    "TABLE = \"/data/crop-yields.csv\"",
    "INPUTS = (\"temperature\", \"rainfall\", \"humidity\")",
    "TARGETS = (\"apples\", \"oranges\")", "TASK = \"regression\"", "CLASSES = ()",
    "TEST_FRACTION = 0.2", "SPLIT_SEED = 0", "INPUT_SHAPE = (3,)", "NUM_CLASSES = 2",
    "MEAN = (82.5, 91.25, 53.75)", "STD = (13.5, 27.75, 12.9)", "TARGET_MEAN = (80.0, 94.5)",
    "TARGET_STD = (25.25, 25.5)", "def normalize(rows):", "def unscale(outputs):",
    "for rows of 3 inputs", "nn.Linear(3, 2),", "def load_lamina_weights",
    "loss_fn = nn.L1Loss()", "def make_optimizer", "def row_hash(index):",
    "def read_table(path=TABLE):", "y = scale_targets(y)", "def evaluate", "R²",
    "on {len(test_data)} rows", NULL });
  assert_absent (script, "torchvision");
  assert_absent (script, "one_hot");
  smoke_test_script (script);

  g_autoptr (LamTableInfo) classes = table_info (LAM_TASK_CLASSIFICATION);
  g_autoptr (LamModelSpec) mlp = spec_from ("input=3,linear:8,relu,linear:3");
  char *names[] = { "big", "middle \"quoted\"", "small", NULL };
  lam_export_options_init (&options, mlp);
  options.weights_path = "/models/kinds.safetensors";
  options.dataset = LAM_EXPORT_DATASET_TABLE;
  options.dataset_dir = "/data/kinds.csv";
  options.table = classes;
  options.class_names = names;
  options.config.val_fraction = 0;
  g_autofree char *text = export_script (&options);
  assert_in_order (text, (const char *const[]) {
    "TARGETS = (\"kind\",)", "TASK = \"classification\"",
    "CLASSES = (\"big\", \"middle \\\"quoted\\\"\", \"small\")", "TARGET_MEAN = ()",
    "loss_fn = nn.CrossEntropyLoss()", "index[str(int(text))]", "correct / seen", NULL });
  assert_absent (text, "random_split");
  assert_absent (text, "scale_targets(y)");
  smoke_test_script (text);

  /* What does not fit is refused, naming it. */
  struct
  {
    const char *spec;
    LamTask task;
    const char *says;
  } bad[] = {
    { "input=4,linear:2", LAM_TASK_REGRESSION, "the table has 3 input columns but the model's "
                                               "input is 4" },
    { "input=3,linear:3,loss=mse", LAM_TASK_REGRESSION, "the table has 2 targets but the model "
                                                        "gives 3 outputs" },
    { "input=3,linear:2", LAM_TASK_REGRESSION, "the loss cross_entropy compares outputs with "
                                               "classes" },
    { "input=3,linear:2,loss=l1", LAM_TASK_CLASSIFICATION, "needs its class names" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (LamTableInfo) t = table_info (bad[i].task);
    g_autoptr (LamModelSpec) b = spec_from (bad[i].spec);
    lam_export_options_init (&options, b);
    options.weights_path = "/models/x.safetensors";
    options.dataset = LAM_EXPORT_DATASET_TABLE;
    options.dataset_dir = "/data/x.csv";
    options.table = t;
    g_autoptr (GError) error = NULL;
    g_autofree char *none = lam_export_pytorch_script (&options, &error);
    g_assert_null (none);
    g_assert_error (error, LAM_EXPORT_ERROR, LAM_EXPORT_ERROR_INVALID);
    if (strstr (error->message, bad[i].says) == NULL)
      g_error ("\"%s\" does not say \"%s\"", error->message, bad[i].says);
  }
}

/* A model trained on a table, exported: the script reads the table with
 * the csv module, picks the same test rows and standardises them as Lamina
 * did, and its predictions are Lamina's: within 1e-4 in the targets' units
 * for a regression, the same classes for at least 99.9% of the rows for a
 * classification. The script also evaluates the weights as lamina eval
 * does. */
static void
check_table_agreement (const char *table, const char *targets, const char *model,
                       const char *loss)
{
  if (skip_without_torch ())
    return;
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *weights = g_build_filename (dir, "table.safetensors", NULL);
  g_autofree char *script = g_build_filename (dir, "table.py", NULL);

  LamCliResult r =
    run_lamina ("train", "--data", table, "--targets", targets, "--model", model, "--loss", loss,
                "--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9", "--batch-size", "16",
                "--epochs", "20", "--save", weights, "--device", "cpu");
  lam_test_check_exit (&r, 0, NULL);
  lam_cli_result_clear (&r);
  r = run_lamina ("export", "--pytorch", "--load", weights, "-o", script);
  lam_test_check_exit (&r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "(table)"));
  lam_cli_result_clear (&r);

  g_autofree char *helper = agreement_helper ();
  g_autofree char *binary = lamina_binary ();
  r = run_python (dir, helper, "--script", script, "--weights", weights, "--lamina", binary,
                  "--table");
  g_test_message ("%s → %s with %s: %s", table, targets, model, g_strstrip (r.out));
  lam_test_check_exit (&r, 0, NULL);
  gboolean regression = strstr (r.out, "max abs difference") != NULL;
  if (regression)
    g_assert_cmpfloat (number_after (r.out, "max abs difference "), <=, 1e-4);
  else
    g_assert_cmpfloat (number_after (r.out, "agreement "), >=, 0.999);
  lam_cli_result_clear (&r);

  /* The script's own evaluation of the weights is lamina eval's. */
  r = run_lamina ("eval", "--load", weights, "--device", "cpu");
  lam_test_check_exit (&r, 0, NULL);
  double lamina_figure = regression ? number_after (r.out, ", MSE ")
                                    : number_after (r.out, "accuracy ");
  lam_cli_result_clear (&r);
  r = run_python (dir, script);
  lam_test_check_exit (&r, 0, NULL);
  double script_figure = regression ? number_after (r.out, "  MSE ")
                                    : number_after (r.out, "acc ");
  g_test_message ("lamina eval %g, the script %g", lamina_figure, script_figure);
  g_assert_cmpfloat (fabs (lamina_figure - script_figure), <=, 1e-3 * fabs (lamina_figure));
  lam_cli_result_clear (&r);

  /* --train trains it again, from the same rows. */
  r = run_python (dir, script, "--train", "--epochs", "2");
  lam_test_check_exit (&r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "Epoch 2/2"));
  lam_cli_result_clear (&r);
  remove_tree (dir);
}

static void
test_python_table_regression (void)
{
  g_autofree char *table =
    g_test_build_filename (G_TEST_DIST, "..", "resources", "tables", "crop-yields.csv", NULL);
  check_table_agreement (table, "apples,oranges", "linear:2", "mse");
}

static void
test_python_table_classification (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *table = g_build_filename (dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (table, 1000, 4, 3, 5);
  check_table_agreement (table, "class", "linear:16,relu,linear:3", "cross_entropy");
  remove_tree (dir);
}

/* A playground set exists only as its name: the export writes its points
 * beside the script, marked train or test, and the script's predictions
 * on the test points are Lamina's. */
static void
check_playground_agreement (const char *uri, const char *model, const char *loss)
{
  if (skip_without_torch ())
    return;
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *weights = g_build_filename (dir, "set.safetensors", NULL);
  g_autofree char *script = g_build_filename (dir, "set.py", NULL);
  g_autofree char *points = g_build_filename (dir, "set-points.csv", NULL);

  LamCliResult r =
    run_lamina ("train", "--data", uri, "--model", model, "--loss", loss, "--optimizer", "sgd",
                "--lr", "0.1", "--momentum", "0.9", "--batch-size", "16", "--epochs", "30",
                "--save", weights, "--device", "cpu");
  lam_test_check_exit (&r, 0, NULL);
  lam_cli_result_clear (&r);
  /* To standard output there is nowhere beside it for the points. */
  r = run_lamina ("export", "--pytorch", "--load", weights, "-o", "-");
  lam_test_check_exit (&r, 2, "give the script a name");
  lam_cli_result_clear (&r);
  r = run_lamina ("export", "--pytorch", "--load", weights, "-o", script);
  lam_test_check_exit (&r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "set-points.csv"));
  lam_cli_result_clear (&r);

  /* The points: a header, 300 training and 60 test points. */
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (points, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (g_strchomp (text), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 1 + 300 + 60);
  g_assert_true (g_str_has_prefix (lines[0], "x1,x2,"));
  g_assert_true (g_str_has_suffix (lines[0], ",split"));
  g_assert_true (g_str_has_suffix (lines[300], ",train"));
  g_assert_true (g_str_has_suffix (lines[301], ",test"));

  g_autofree char *helper = agreement_helper ();
  g_autofree char *binary = lamina_binary ();
  r = run_python (dir, helper, "--script", script, "--weights", weights, "--lamina", binary,
                  "--table");
  g_test_message ("%s with %s: %s", uri, model, g_strstrip (r.out));
  lam_test_check_exit (&r, 0, NULL);
  if (strstr (r.out, "max abs difference") != NULL)
    g_assert_cmpfloat (number_after (r.out, "max abs difference "), <=, 1e-4);
  else
    g_assert_cmpfloat (number_after (r.out, "agreement "), >=, 0.999);
  lam_cli_result_clear (&r);

  r = run_python (dir, script, "--train", "--epochs", "2");
  lam_test_check_exit (&r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "on 60 rows"));
  lam_cli_result_clear (&r);
  remove_tree (dir);
}

static void
test_python_playground_classification (void)
{
  check_playground_agreement ("playground:spiral?points=300&noise=0.1",
                              "linear:16,tanh,linear:16,tanh,linear:2", "cross_entropy");
}

static void
test_python_playground_regression (void)
{
  check_playground_agreement ("playground:ripple?points=300&noise=0.05",
                              "linear:16,tanh,linear:16,tanh,linear:1", "mse");
}

/* The L1 penalty's gradient joins the loss's in the script as in Lamina:
 * trained by each from its own first weights on a table where three of
 * six inputs are noise, in whole batches so that no sampling noise is
 * left, both end with those weights at zero (within two steps, 2 lr × l1) and
 * the real ones at nearly the same values (the penalised least squares
 * has one minimum; the validation rows each holds out differ). */
static void
test_python_l1_penalty (void)
{
  if (skip_without_torch ())
    return;
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *table = g_build_filename (dir, "sparse.csv", NULL);
  g_autoptr (GRand) rng = g_rand_new_with_seed (29);
  g_autoptr (GString) rows = g_string_new ("a,b,c,n1,n2,n3,y\n");
  for (int i = 0; i < 300; i++) {
    double x[6];
    for (int j = 0; j < 6; j++) {
      x[j] = g_rand_double_range (rng, -1, 1);
      g_string_append_printf (rows, "%.5f,", x[j]);
    }
    g_string_append_printf (rows, "%.5f\n",
                            3 * x[0] - 2 * x[1] + x[2] + g_rand_double_range (rng, -1, 1));
  }
  g_assert_true (g_file_set_contents (table, rows->str, -1, NULL));
  g_autofree char *weights = g_build_filename (dir, "sparse.safetensors", NULL);
  g_autofree char *script = g_build_filename (dir, "sparse.py", NULL);
  g_autofree char *trained = g_build_filename (dir, "trained.pt", NULL);

  LamCliResult r = run_lamina ("train", "--data", table, "--targets", "y", "--model", "linear:1",
                               "--optimizer", "sgd", "--lr", "0.02", "--l1", "0.05", "--batch-size",
                               "1000", "--epochs", "800", "--save", weights, "--device", "cpu");
  lam_test_check_exit (&r, 0, NULL);
  lam_cli_result_clear (&r);
  /* Weights alone carry no settings: the script is told them. */
  r = run_lamina ("export", "--pytorch", "--load", weights, "-o", script, "--optimizer", "sgd",
                  "--lr", "0.02", "--l1", "0.05", "--batch-size", "1000", "--epochs", "800");
  lam_test_check_exit (&r, 0, NULL);
  lam_cli_result_clear (&r);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (script, &text, NULL, NULL));
  assert_in_order (text, (const char *const[]) {
    "L1_PENALTY = 0.05", "(loss + penalty).backward()", NULL });
  r = run_python (dir, script, "--train", "--save", trained);
  lam_test_check_exit (&r, 0, NULL);
  lam_cli_result_clear (&r);

  g_autofree char *compare = g_build_filename (dir, "compare.py", NULL);
  g_assert_true (g_file_set_contents (compare,
    "import importlib.util, sys, torch\n"
    "spec = importlib.util.spec_from_file_location('m', sys.argv[1])\n"
    "m = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(m)\n"
    "ours = m.build_model()\n"
    "m.load_lamina_weights(ours, sys.argv[2])\n"
    "theirs = m.build_model()\n"
    "theirs.load_state_dict(torch.load(sys.argv[3]))\n"
    "for name, model in (('lamina', ours), ('pytorch', theirs)):\n"
    "    print(name, ' '.join(f'{v:.6f}' for v in model[0].weight.flatten().tolist()))\n",
    -1, NULL));
  r = run_python (dir, compare, script, weights, trained);
  lam_test_check_exit (&r, 0, NULL);
  g_test_message ("%s", g_strstrip (r.out));
  const char *lamina_line = strstr (r.out, "lamina ");
  const char *torch_line = strstr (r.out, "pytorch ");
  g_assert_nonnull (lamina_line);
  g_assert_nonnull (torch_line);
  g_auto (GStrv) ours = g_strsplit (lamina_line + strlen ("lamina "), " ", 6);
  g_auto (GStrv) theirs = g_strsplit (torch_line + strlen ("pytorch "), " ", 6);
  g_assert_cmpuint (g_strv_length (ours), ==, 6);
  g_assert_cmpuint (g_strv_length (theirs), ==, 6);
  for (int j = 0; j < 6; j++) {
    double a = g_ascii_strtod (ours[j], NULL), b = g_ascii_strtod (theirs[j], NULL);
    if (j < 3)
      g_assert_cmpfloat (fabs (a - b), <, 0.03 * fabs (a));
    else
      g_assert_true (fabs (a) <= 0.002 && fabs (b) <= 0.002);
  }
  lam_cli_result_clear (&r);
  remove_tree (dir);
}

/* A model without parameters: Lamina trains it, measuring the loss and
 * changing nothing; the script does the same, where PyTorch would refuse
 * an optimizer over no parameters and a backward pass without a gradient.
 * Its schedule and L1 penalty have nothing to act on. */
static void
test_script_no_parameters (void)
{
  g_autoptr (LamModelSpec) spec = spec_from ("input=1x28x28,flatten,log_softmax");
  LamExportOptions options;
  lam_export_options_init (&options, spec);
  options.weights_path = "/models/none.safetensors";
  options.dataset_dir = FASHION_MNIST;
  options.config.schedule.kind = LAM_SCHEDULE_STEP;
  options.config.schedule.step_size = 2;
  options.config.schedule.gamma = 0.5;
  options.config.optimizer.l1 = 0.001;
  g_autofree char *script = export_script (&options);
  assert_in_order (
    script,
    (const char *const[]){ "nn.Flatten(),", "nn.LogSoftmax(dim=1),",
                           "def make_optimizer(model):", "    return None\n",
                           "def train_one_epoch(", "loss = loss_fn(outputs, labels)\n",
                           "        # No parameters: nothing to differentiate, nothing to step.\n",
                           "total_loss += loss.item()", NULL });
  assert_absent (script, "torch.optim.");
  assert_absent (script, "optimizer.step()");
  assert_absent (script, "backward()");
  assert_absent (script, "scheduler");
  smoke_test_script (script);

  g_autoptr (LamTableInfo) classes = table_info (LAM_TASK_CLASSIFICATION);
  g_autoptr (LamModelSpec) table_spec = spec_from ("input=3,log_softmax");
  char *names[] = { "big", "middle", "small", NULL };
  lam_export_options_init (&options, table_spec);
  options.weights_path = "/models/none.safetensors";
  options.dataset = LAM_EXPORT_DATASET_TABLE;
  options.dataset_dir = "/data/kinds.csv";
  options.table = classes;
  options.class_names = names;
  g_autofree char *text = export_script (&options);
  assert_absent (text, "optimizer.step()");
  assert_absent (text, "backward()");
  smoke_test_script (text);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/export/script/mlp", test_script_mlp);
  g_test_add_func ("/export/script/small-cnn", test_script_small_cnn);
  g_test_add_func ("/export/script/no-parameters", test_script_no_parameters);
  g_test_add_func ("/export/script/mixed-layers", test_script_mixed_layers);
  g_test_add_func ("/export/script/mse-folder", test_script_mse_folder);
  g_test_add_func ("/export/script/weights-path", test_script_weights_path);
  g_test_add_func ("/export/script/errors", test_script_errors);
  g_test_add_func ("/export/script/padding-mode", test_script_padding_mode);
  g_test_add_func ("/export/script/hostile-strings", test_script_hostile_strings);
  g_test_add_func ("/export/dataset-for-dir", test_dataset_for_dir);
  g_test_add_func ("/export/script/table", test_script_table);
  g_test_add_func ("/export/cli/errors", test_cli_errors);
  g_test_add_func ("/export/cli/write", test_cli_write);
  g_test_add_func ("/export/python/folder-round-trip", test_python_folder_round_trip);
  g_test_add_func ("/export/python/agreement-mlp", test_python_agreement_mlp);
  g_test_add_func ("/export/python/agreement-small-cnn", test_python_agreement_small_cnn);
  g_test_add_func ("/export/python/agreement-small-cnn-bn", test_python_agreement_small_cnn_bn);
  g_test_add_func ("/export/python/table-regression", test_python_table_regression);
  g_test_add_func ("/export/python/table-classification", test_python_table_classification);
  g_test_add_func ("/export/python/l1-penalty", test_python_l1_penalty);
  g_test_add_func ("/export/python/playground-classification",
                   test_python_playground_classification);
  g_test_add_func ("/export/python/playground-regression", test_python_playground_regression);
  return g_test_run ();
}
