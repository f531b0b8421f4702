/* lamina export: a PyTorch script from a checkpoint, and Lamina's own
 * per-image predictions to compare it with. */
#include <string.h>

#include "lam-checkpoint.h"
#include "lam-cli.h"
#include "lam-dataset.h"
#include "lam-device.h"
#include "lam-export.h"
#include "lam-file.h"
#include "lam-loader.h"
#include "lam-predict.h"
#include "lam-model.h"
#include "lam-project-file.h"
#include "lam-playground.h"

/* Images per forward pass for --predictions. */
#define PREDICT_BATCH 256

/* Prints the predicted class of each of the first `count` test images, one
 * a line, through the same loader and normalisation as `lamina eval`; for
 * a table, of its test rows, and for a regression the predicted values in
 * the targets' units instead (comma-separated, in the fewest digits that
 * read back the same float). */
static int
print_predictions (const LamCheckpointInfo *info, const float *params, const char *dir,
                   const char *count_text, const char *device)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  if (info->table != NULL
        ? !lam_table_info_load (info->table, dir, (const char *const *) info->class_names, &train,
                                &test, &error)
        : !lam_dataset_load_dir (dir, &train, &test, &error)) {
    lam_cli_print_error ("export", error);
    return LAM_EXIT_DATA;
  }
  LamDataset *dataset = test != NULL ? test : train;
  LamShape data_shape = lam_dataset_get_input_shape (dataset);
  if (!lam_shape_equal (&data_shape, &info->spec->input)) {
    g_autofree char *a = lam_shape_to_string (&data_shape);
    g_autofree char *b = lam_shape_to_string (&info->spec->input);
    g_printerr ("lamina export: %s has %s of %s but the model expects %s\n", dataset->name,
                lam_dataset_is_table (dataset) ? "rows" : "images", a, b);
    return LAM_EXIT_DATA;
  }
  gboolean regression = dataset->task == LAM_TASK_REGRESSION;

  gint64 count = dataset->n;
  if (count_text != NULL && !lam_cli_parse_int ("--count", count_text, 1, dataset->n, &count,
                                                &error)) {
    lam_cli_print_error ("export", error);
    return LAM_EXIT_USAGE;
  }

  LamBackend *backend = lam_device_open (device, NULL, &error);
  if (backend == NULL) {
    lam_cli_print_error ("export", error);
    return LAM_EXIT_DEVICE;
  }
  LamModel *model = lam_model_new (info->spec, backend, PREDICT_BATCH, 0, &error);
  if (model == NULL) {
    lam_cli_print_error ("export", error);
    lam_backend_free (backend);
    return LAM_EXIT_MODEL;
  }
  lam_model_set_params_host (model, params);

  g_autofree guint32 *indices = g_new (guint32, count);
  for (gint64 i = 0; i < count; i++)
    indices[i] = (guint32) i;
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = regression ? LAM_PREDICT_VALUES : LAM_PREDICT_CLASSES;
  g_autoptr (LamPrediction) prediction = lam_model_predict (
    model, dataset, indices, (gsize) count, info->mean, info->std, &request, NULL, &error);
  int status = LAM_EXIT_OK;
  g_autoptr (GString) out = g_string_new (NULL);
  if (prediction == NULL) {
    lam_cli_print_error ("export", error);
    status = error->domain == LAM_PREDICT_ERROR && error->code == LAM_PREDICT_ERROR_MISMATCH
               ? LAM_EXIT_DATA
               : LAM_EXIT_DEVICE;
  } else if (regression) {
    for (int i = 0; i < prediction->n_images; i++) {
      for (int j = 0; j < prediction->n_targets; j++) {
        if (j > 0)
          g_string_append_c (out, ',');
        lam_json_append_float (out, prediction->values[(gsize) i * prediction->n_targets + j]);
      }
      g_string_append_c (out, '\n');
    }
  } else {
    for (int i = 0; i < prediction->n_images; i++)
      g_string_append_printf (out, "%d\n", prediction->predicted[i]);
  }
  lam_model_free (model);
  lam_backend_free (backend);
  if (status == LAM_EXIT_OK)
    g_print ("%s", out->str);
  return status;
}

int
lam_cli_export (int argc, char **argv)
{
  gboolean pytorch = FALSE, predictions = FALSE;
  g_autofree char *load_path = NULL;
  g_autofree char *output_path = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *optimizer_text = NULL;
  g_autofree char *lr_text = NULL;
  g_autofree char *l1_text = NULL;
  g_autofree char *batch_text = NULL;
  g_autofree char *epochs_text = NULL;
  g_autofree char *count_text = NULL;
  g_autofree char *device = NULL;
  /* A bare checkpoint records no settings: its script trains as `lamina
   * train` would have by default. */
  const LamTrainerConfig defaults = lam_trainer_config_lesson_default ();
  g_autofree char *optimizer_help =
    g_strdup_printf ("Optimizer the script trains with: sgd, adam or adamw (default %s)",
                     lam_optimizer_kind_to_string (defaults.optimizer.kind));
  g_autofree char *batch_help =
    g_strdup_printf ("Batch size for the script (default %d)", defaults.batch_size);
  g_autofree char *epochs_help =
    g_strdup_printf ("Epochs for the script (default %d)", defaults.epochs);
  GOptionEntry entries[] = {
    { "pytorch", 0, 0, G_OPTION_ARG_NONE, &pytorch, "Write a PyTorch script", NULL },
    { "load", 'l', 0, G_OPTION_ARG_FILENAME, &load_path,
      "A project (.lamina), or weights saved by 'lamina train --save' (.safetensors, or its "
      ".json)", "FILE" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output_path,
      "The script to write ('-' for standard output)", "SCRIPT.py" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      "Dataset folder (default: the one the checkpoint was trained on)", "DIR" },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &optimizer_text, optimizer_help, "NAME" },
    { "lr", 0, 0, G_OPTION_ARG_STRING, &lr_text,
      "Learning rate for the script (default: 0.01 for sgd, 0.001 for adam/adamw)", "X" },
    { "l1", 0, 0, G_OPTION_ARG_STRING, &l1_text,
      "L1 penalty for the script's training (default: the project's, else 0)", "X" },
    { "batch-size", 'b', 0, G_OPTION_ARG_STRING, &batch_text, batch_help, "B" },
    { "epochs", 'e', 0, G_OPTION_ARG_STRING, &epochs_text, epochs_help, "N" },
    { "predictions", 0, 0, G_OPTION_ARG_NONE, &predictions,
      "Diagnostic: instead of a script, print Lamina's predicted class for each test image, "
      "one a line", NULL },
    { "count", 'n', 0, G_OPTION_ARG_STRING, &count_text,
      "With --predictions: only the first N test images (default all)", "N" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device,
      "With --predictions: auto, cpu or cuda (default auto)", "DEVICE" },
    { NULL }
  };
  g_autoptr (GOptionContext) context =
    g_option_context_new ("- write a PyTorch script that rebuilds a saved model");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (
    context,
    "The script rebuilds the model as a torch.nn.Sequential, loads the checkpoint's\n"
    ".safetensors weights with torch alone (their names match its state dict), and\n"
    "trains it again with --train using the dataset, normalisation, loss and\n"
    "optimizer settings Lamina used. A project (.lamina) records them all; a bare\n"
    "checkpoint does not, and its script gets Lamina's defaults. --optimizer, --lr,\n"
    "--batch-size and --epochs override either.\n"
    "\n"
    "Examples: lamina export --pytorch --load mlp.lamina -o mlp.py\n"
    "          lamina export --pytorch --load mlp.safetensors -o mlp.py\n"
    "\n"
    "--predictions is a diagnostic for comparing the script's predictions with\n"
    "Lamina's: lamina export --predictions --load mlp.safetensors --count 1000\n");
  if (!lam_cli_parse_options ("export", context, entries, &argc, &argv))
    return LAM_EXIT_USAGE;
  if (argc > 1) {
    g_printerr ("lamina export: unexpected argument \"%s\" (see lamina export --help)\n", argv[1]);
    return LAM_EXIT_USAGE;
  }
  if (pytorch == predictions) {
    g_printerr ("lamina export: %s\n", pytorch ? "--pytorch and --predictions exclude each other"
                                               : "say what to write: --pytorch (a PyTorch script)");
    return LAM_EXIT_USAGE;
  }
  if (load_path == NULL) {
    g_printerr ("lamina export: --load FILE is required (weights saved by 'lamina train "
                "--save')\n");
    return LAM_EXIT_USAGE;
  }
  if (pytorch && output_path == NULL) {
    g_printerr ("lamina export: -o SCRIPT.py is required ('-' for standard output)\n");
    return LAM_EXIT_USAGE;
  }
  if (pytorch && !g_str_equal (output_path, "-") &&
      !lam_cli_check_writable ("-o", output_path, &error)) {
    lam_cli_print_error ("export", error);
    return LAM_EXIT_IO;
  }
  if (predictions &&
      (output_path || optimizer_text || lr_text || l1_text || batch_text || epochs_text)) {
    g_printerr ("lamina export: -o, --optimizer, --lr, --l1, --batch-size and --epochs apply "
                "to --pytorch only\n");
    return LAM_EXIT_USAGE;
  }
  if (pytorch && (count_text || device)) {
    g_printerr ("lamina export: --count and --device apply to --predictions only\n");
    return LAM_EXIT_USAGE;
  }

  /* A project brings its own settings and weights; the options below
   * override its settings. */
  g_autoptr (LamProjectFile) project = NULL;
  gboolean is_project = g_str_has_suffix (load_path, LAM_PROJECT_FILE_SUFFIX);
  if (is_project) {
    project = lam_project_file_load (load_path, &error);
    if (project == NULL) {
      lam_cli_print_error ("export", error);
      return LAM_EXIT_MODEL;
    }
    /* First: it can be why there are no weights. */
    if (project->note != NULL)
      g_printerr ("lamina export: %s\n", project->note);
    if (project->params == NULL) {
      g_printerr ("lamina export: %s has no trained weights: train it first ('lamina train "
                  "--load %s')\n",
                  load_path, load_path);
      return LAM_EXIT_MODEL;
    }
  }


  LamTrainerConfig config = project != NULL ? project->config : defaults;
  if (optimizer_text != NULL) {
    LamOptimizerKind kind;
    if (!lam_optimizer_kind_from_string (optimizer_text, &kind)) {
      g_printerr ("lamina export: --optimizer: expected sgd, adam or adamw, got \"%s\"\n",
                  optimizer_text);
      return LAM_EXIT_USAGE;
    }
    config.optimizer = lam_optimizer_config_default (kind);
  }
  gint64 value;
  if (batch_text != NULL) {
    if (!lam_cli_parse_int ("--batch-size", batch_text, 1, 65536, &value, &error)) {
      lam_cli_print_error ("export", error);
      return LAM_EXIT_USAGE;
    }
    config.batch_size = (int) value;
  }
  if (epochs_text != NULL) {
    if (!lam_cli_parse_int ("--epochs", epochs_text, 1, 100000, &value, &error)) {
      lam_cli_print_error ("export", error);
      return LAM_EXIT_USAGE;
    }
    config.epochs = (int) value;
  }
  if (lr_text != NULL && !lam_cli_parse_double ("--lr", lr_text, 0, 100, TRUE,
                                                &config.optimizer.lr, &error)) {
    lam_cli_print_error ("export", error);
    return LAM_EXIT_USAGE;
  }
  if (l1_text != NULL && !lam_cli_parse_double ("--l1", l1_text, 0, 10, FALSE,
                                                &config.optimizer.l1, &error)) {
    lam_cli_print_error ("export", error);
    return LAM_EXIT_USAGE;
  }

  g_autoptr (LamCheckpointInfo) info = NULL;
  g_autofree float *params = NULL;
  if (project != NULL) {
    info = lam_project_file_dup_checkpoint_info (project);
    params = g_steal_pointer (&project->params);
  } else if (!lam_checkpoint_load (load_path, &info, &params, &error)) {
    lam_cli_print_error ("export", error);
    return LAM_EXIT_MODEL;
  }
  if (info->note != NULL)
    g_printerr ("lamina export: %s\n", info->note);
  const char *dir = data_dir != NULL          ? data_dir
                    : info->dataset != NULL ? info->dataset
                                            : LAM_DATASET_DEFAULT_DIR;

  if (predictions)
    return print_predictions (info, params, dir, count_text, device);

  gboolean to_stdout = g_str_equal (output_path, "-");
  g_autofree char *weights_path = is_project ? lam_project_file_weights_path (load_path)
                                             : lam_checkpoint_weights_path (load_path);
  /* The script (and a playground's points beside it) must not land on
   * the weights it loads, the files they came with, or the data the
   * script reads (the table it was trained on, say). */
  g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func (g_free);
  if (is_project) {
    lam_cli_add_project_paths (inputs, load_path);
  } else {
    lam_cli_add_path (inputs, load_path);
    lam_cli_add_path (inputs, weights_path);
    g_ptr_array_add (inputs, lam_checkpoint_spec_path (weights_path));
  }
  lam_cli_add_dataset_paths (inputs, dir);
  g_autoptr (GPtrArray) outputs = g_ptr_array_new_with_free_func (g_free);
  if (!to_stdout)
    lam_cli_add_path (outputs, output_path);
  if (!lam_cli_check_outputs ("-o", outputs, inputs, &error)) {
    lam_cli_print_error ("export", error);
    return LAM_EXIT_USAGE;
  }

  LamExportOptions options;
  lam_export_options_init (&options, info->spec);
  options.weights_path = weights_path;
  options.script_path = to_stdout ? NULL : output_path;
  /* A checkpoint without normalisation was trained on pixels in [0, 1]:
   * the defaults. */
  if (info->n_channels > 0) {
    options.n_channels = info->n_channels;
    memcpy (options.mean, info->mean, sizeof options.mean);
    memcpy (options.std, info->std, sizeof options.std);
  }
  options.dataset = info->table != NULL ? LAM_EXPORT_DATASET_TABLE
                                         : lam_export_dataset_for_dir (dir);
  /* The script reads IDX folders, CIFAR-10 and tables; a folder of image
   * files by class would have it look for IDX files that are not there. */
  g_autofree char *idx = g_build_filename (dir, "train-images-idx3-ubyte", NULL);
  g_autofree char *idx_gz = g_strconcat (idx, ".gz", NULL);
  if (options.dataset == LAM_EXPORT_DATASET_FOLDER && !g_file_test (idx, G_FILE_TEST_EXISTS) &&
      !g_file_test (idx_gz, G_FILE_TEST_EXISTS) && lam_dataset_is_image_folder (dir)) {
    g_printerr ("lamina export: %s is a folder of images by class, which the script cannot read; "
                "import it as a dataset first (the window's Data page, Import Image Folder…) and "
                "export a model trained on the import\n",
                dir);
    return LAM_EXIT_DATA;
  }
  options.dataset_dir = dir;
  /* A playground set exists only as its name: its points, train and
   * test, are written beside the script for the script to read. */
  g_autofree char *points_path = NULL;
  if (info->table != NULL && lam_playground_is_uri (dir)) {
    if (to_stdout) {
      g_printerr ("lamina export: %s is written beside the script as a CSV file: give the "
                  "script a name (-o FILE.py)\n", dir);
      return LAM_EXIT_USAGE;
    }
    g_autofree char *stem = g_str_has_suffix (output_path, ".py")
                              ? g_strndup (output_path, strlen (output_path) - 3)
                              : g_strdup (output_path);
    points_path = g_strconcat (stem, "-points.csv", NULL);
    g_ptr_array_set_size (outputs, 0);
    lam_cli_add_path (outputs, points_path);
    if (!lam_cli_check_outputs ("-o", outputs, inputs, &error)) {
      lam_cli_print_error ("export", error);
      return LAM_EXIT_USAGE;
    }
    g_autoptr (LamDataset) train = NULL;
    g_autoptr (LamDataset) test = NULL;
    if (!lam_table_info_load (info->table, dir, (const char *const *) info->class_names, &train,
                              &test, &error)) {
      lam_cli_print_error ("export", error);
      return LAM_EXIT_DATA;
    }
    if (!lam_dataset_table_write_csv (train, test, "split", points_path, &error)) {
      g_printerr ("lamina export: %s\n", error->message);
      return LAM_EXIT_IO;
    }
    options.dataset_dir = points_path;
    options.table_split_column = "split";
  }
  options.config = config;
  options.table = info->table;
  options.class_names = info->class_names;

  g_autofree char *script = lam_export_pytorch_script (&options, &error);
  if (script == NULL) {
    lam_cli_print_error ("export", error);
    return LAM_EXIT_MODEL;
  }
  if (to_stdout) {
    g_print ("%s", script);
    return LAM_EXIT_OK;
  }
  if (!lam_file_replace_contents (output_path, script, strlen (script), &error)) {
    g_printerr ("lamina export: %s\n", error->message);
    return LAM_EXIT_IO;
  }
  g_print ("Wrote %s (%s): 'python3 %s' evaluates the weights, '--train' trains it again\n",
           output_path, lam_export_dataset_to_string (options.dataset), output_path);
  if (points_path != NULL)
    g_print ("Wrote %s: the points of %s\n", points_path, dir);
  return LAM_EXIT_OK;
}
