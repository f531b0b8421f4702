/* lamina lr-find: the learning-rate range test on the command line. The
 * options that set up the training are named as lamina train names them
 * and mean the same, so a suggestion carries over to `lamina train --lr`. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lam-cli.h"
#include "lam-file.h"
#include "lam-dataset.h"
#include "lam-device.h"
#include "lam-lr-find.h"
#include "lam-model.h"
#include "lam-playground.h"

typedef struct
{
  gboolean bar; /* stderr is a terminal */
} Progress;

static void
on_progress (const LamLrFindResult *so_far, gpointer user_data)
{
  Progress *progress = user_data;
  if (!progress->bar)
    return;
  int i = so_far->n_steps - 1;
  fprintf (stderr, "\r\033[Kstep %d/%d  lr %.3g  loss %.4f", so_far->n_steps, so_far->n_planned,
           so_far->lrs[i], so_far->losses[i]);
  fflush (stderr);
}

static const char *
stop_reason (LamLrFindStop stop)
{
  switch (stop) {
  case LAM_LR_FIND_STOP_DIVERGED:
    return "diverged";
  case LAM_LR_FIND_STOP_NOT_FINITE:
    return "not_finite";
  case LAM_LR_FIND_STOP_END:
  default:
    return "end";
  }
}

static gboolean
write_curve (const char *path, const LamLrFindResult *result, GError **error)
{
  g_autoptr (GString) s = g_string_new ("lr,loss,smoothed_loss\n");
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE];
  for (int i = 0; i < result->n_steps; i++)
    g_string_append_printf (s, "%s,%s,%s\n", g_ascii_formatd (a, sizeof a, "%.9g", result->lrs[i]),
                            g_ascii_formatd (b, sizeof b, "%.9g", result->losses[i]),
                            g_ascii_formatd (c, sizeof c, "%.9g", result->smoothed[i]));
  return lam_file_replace_contents (path, s->str, s->len, error);
}

static void
print_json (const LamLrFindResult *result, const LamDataset *train, const char *spec_text,
            const LamTrainerConfig *config, LamBackend *backend)
{
  g_autoptr (GString) s = g_string_new ("{\"event\": \"lr_find\", \"dataset\": ");
  lam_json_append_string (s, train->name);
  g_string_append (s, ", \"model\": ");
  lam_json_append_string (s, spec_text);
  g_string_append_printf (s, ", \"optimizer\": \"%s\", \"batch_size\": %d, \"device\": \"%s\", "
                          "\"steps\": %d, \"planned\": %d, \"stop\": \"%s\", \"suggested_lr\": ",
                          lam_optimizer_kind_to_string (config->optimizer.kind),
                          config->batch_size, backend->name, result->n_steps, result->n_planned,
                          stop_reason (result->stop));
  lam_json_append_double (s, result->suggested_lr);
  g_string_append_printf (s, ", \"rule\": \"%s\", \"min_lr\": ",
                          result->steepest ? "steepest" : "minimum/10");
  lam_json_append_double (s, result->min_lr);
  g_string_append (s, ", \"min_loss\": ");
  lam_json_append_double (s, result->min_loss);
  g_string_append (s, ", \"curve\": [");
  for (int i = 0; i < result->n_steps; i++) {
    g_string_append (s, i ? ", [" : "[");
    lam_json_append_double (s, result->lrs[i]);
    g_string_append (s, ", ");
    lam_json_append_double (s, result->losses[i]);
    g_string_append (s, ", ");
    lam_json_append_double (s, result->smoothed[i]);
    g_string_append_c (s, ']');
  }
  g_string_append (s, "]}\n");
  g_print ("%s", s->str);
}

static void
print_table (const LamLrFindResult *result)
{
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE];
  /* About twenty rows: the shape of the curve, not every step. */
  int every = MAX (1, result->n_steps / 20);
  g_print ("\n  %12s %10s %10s\n", "lr", "loss", "smoothed");
  for (int i = 0; i < result->n_steps; i++) {
    gboolean marked = i == result->suggested_index || i == result->min_index;
    if (i % every != 0 && i != result->n_steps - 1 && !marked)
      continue;
    g_print ("  %12s %10s %10s%s\n", g_ascii_formatd (a, sizeof a, "%.4g", result->lrs[i]),
             g_ascii_formatd (b, sizeof b, "%.4f", result->losses[i]),
             g_ascii_formatd (c, sizeof c, "%.4f", result->smoothed[i]),
             i == result->suggested_index && result->steepest ? "  <- steepest fall"
             : i == result->min_index                         ? "  <- minimum"
                                                              : "");
  }
  g_print ("\n");
}

int
lam_cli_lr_find (int argc, char **argv)
{
  g_autofree char *data_dir = NULL;
  g_autofree char *model_text = NULL;
  g_autofree char *batch_text = NULL;
  g_autofree char *optimizer_text = NULL;
  g_autofree char *momentum_text = NULL;
  g_autofree char *weight_decay_text = NULL;
  g_autofree char *seed_text = NULL;
  g_autofree char *targets_text = NULL;
  g_autofree char *loss_text = NULL;
  g_autofree char *start_text = NULL;
  g_autofree char *end_text = NULL;
  g_autofree char *steps_text = NULL;
  g_autofree char *device = NULL;
  g_autofree char *curve_path = NULL;
  gboolean json = FALSE;

  const LamTrainerConfig defaults = lam_trainer_config_lesson_default ();
  LamLrFindOptions options;
  lam_lr_find_options_init (&options);
  g_autofree char *batch_help = g_strdup_printf ("Batch size (default %d)", defaults.batch_size);
  g_autofree char *optimizer_help = g_strdup_printf (
    "sgd, adam or adamw (default %s)", lam_optimizer_kind_to_string (defaults.optimizer.kind));
  g_autofree char *start_help =
    g_strdup_printf ("The sweep's first learning rate (default %g)", options.start_lr);
  g_autofree char *end_help =
    g_strdup_printf ("The sweep's last learning rate (default %g)", options.end_lr);
  g_autofree char *steps_help =
    g_strdup_printf ("Steps of the sweep, one batch each (default %d)", options.n_steps);
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      "Dataset folder, a table (FILE.csv, with --targets) or a playground set "
      "(playground:NAME?points=N) (default: " LAM_DATASET_DEFAULT_DIR ")",
      "DIR|FILE.csv|playground:…" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_text,
      "A preset, a .json file, inline JSON, or text like 'flatten,linear:256,relu,linear:10' "
      "(default mlp; linear:K for a table, the playground's network for a playground)",
      "SPEC" },
    { "targets", 0, 0, G_OPTION_ARG_STRING, &targets_text, "A table's target columns", "Y1,Y2" },
    { "loss", 0, 0, G_OPTION_ARG_STRING, &loss_text,
      "cross_entropy, nll, mse or l1 (default: the model's)", "LOSS" },
    { "optimizer", 'o', 0, G_OPTION_ARG_STRING, &optimizer_text, optimizer_help, "NAME" },
    { "momentum", 0, 0, G_OPTION_ARG_STRING, &momentum_text, "SGD momentum (default 0)", "M" },
    { "weight-decay", 0, 0, G_OPTION_ARG_STRING, &weight_decay_text,
      "Weight decay (default 0; 0.01 for adamw)", "W" },
    { "batch-size", 'b', 0, G_OPTION_ARG_STRING, &batch_text, batch_help, "B" },
    { "seed", 's', 0, G_OPTION_ARG_STRING, &seed_text, "Random seed (default 1)", "S" },
    { "start", 0, 0, G_OPTION_ARG_STRING, &start_text, start_help, "LR" },
    { "end", 0, 0, G_OPTION_ARG_STRING, &end_text, end_help, "LR" },
    { "steps", 0, 0, G_OPTION_ARG_STRING, &steps_text, steps_help, "N" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device,
      "auto (a GPU when one answers), cpu or cuda (default auto)", "DEVICE" },
    { "output", 0, 0, G_OPTION_ARG_FILENAME, &curve_path,
      "Write the curve as CSV (lr, loss, smoothed_loss)", "CURVE.csv" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result and curve as one JSON object",
      NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context =
    g_option_context_new ("- find a learning rate that trains well");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (
    context, "Trains a copy of the model one batch at each of a series of growing learning\n"
             "rates and suggests the one where the loss falls fastest (fastai's lr_find).\n"
             "Training settings are named and meant as in 'lamina train'.");
  g_option_context_set_description (
    context, "Example:\n  lamina lr-find --model mlp --optimizer sgd\n"
             "  lamina train --model mlp --optimizer sgd --lr SUGGESTED\n");
  if (!lam_cli_parse_options ("lr-find", context, entries, &argc, &argv))
    return LAM_EXIT_USAGE;
  if (argc > 1) {
    g_printerr ("lamina lr-find: unexpected argument \"%s\" (see lamina lr-find --help)\n",
                argv[1]);
    return LAM_EXIT_USAGE;
  }

  LamTrainerConfig config = defaults;
  gint64 value;
  double number;
  if (optimizer_text != NULL) {
    LamOptimizerKind kind;
    if (!lam_optimizer_kind_from_string (optimizer_text, &kind)) {
      g_printerr ("lamina lr-find: --optimizer: expected sgd, adam or adamw, got \"%s\"\n",
                  optimizer_text);
      return LAM_EXIT_USAGE;
    }
    config.optimizer = lam_optimizer_config_default (kind);
  }
#define PARSE_INT(text, name, min, max, field)                                                     \
  if ((text) != NULL) {                                                                            \
    if (!lam_cli_parse_int (name, text, min, max, &value, &error)) {                               \
      lam_cli_print_error ("lr-find", error);                                                      \
      return LAM_EXIT_USAGE;                                                                       \
    }                                                                                              \
    field = value;                                                                                 \
  }
#define PARSE_DOUBLE(text, name, min, max, exclusive, field)                                       \
  if ((text) != NULL) {                                                                            \
    if (!lam_cli_parse_double (name, text, min, max, exclusive, &number, &error)) {                \
      lam_cli_print_error ("lr-find", error);                                                      \
      return LAM_EXIT_USAGE;                                                                       \
    }                                                                                              \
    field = number;                                                                                \
  }
  PARSE_INT (batch_text, "--batch-size", 1, 65536, config.batch_size);
  PARSE_INT (seed_text, "--seed", 0, LAM_TRAINER_MAX_SEED, config.seed);
  PARSE_INT (steps_text, "--steps", 2, LAM_LR_FIND_MAX_STEPS, options.n_steps);
  PARSE_DOUBLE (momentum_text, "--momentum", 0, 0.9999, FALSE, config.optimizer.momentum);
  PARSE_DOUBLE (weight_decay_text, "--weight-decay", 0, 10, FALSE, config.optimizer.weight_decay);
  PARSE_DOUBLE (start_text, "--start", 0, 100, TRUE, options.start_lr);
  PARSE_DOUBLE (end_text, "--end", 0, 1000, TRUE, options.end_lr);
#undef PARSE_INT
#undef PARSE_DOUBLE
  if (curve_path != NULL && !lam_cli_check_writable ("--output", curve_path, &error)) {
    lam_cli_print_error ("lr-find", error);
    return LAM_EXIT_IO;
  }
  if (!(options.end_lr > options.start_lr)) {
    g_printerr ("lamina lr-find: --end (%g) must be above --start (%g)\n", options.end_lr,
                options.start_lr);
    return LAM_EXIT_USAGE;
  }
  LamLossKind loss_kind = LAM_LOSS_CROSS_ENTROPY;
  if (loss_text != NULL && !lam_loss_kind_from_string (loss_text, &loss_kind)) {
    g_printerr ("lamina lr-find: --loss: expected cross_entropy, nll, mse or l1, got \"%s\"\n",
                loss_text);
    return LAM_EXIT_USAGE;
  }

  /* The data as lamina train reads it: a bundled table's bare name, a
   * file, a playground, or a folder. */
  if (data_dir != NULL && !g_file_test (data_dir, G_FILE_TEST_EXISTS)) {
    char *bundled = lam_dataset_find_bundled_table (data_dir);
    if (bundled != NULL) {
      g_free (data_dir);
      data_dir = bundled;
    }
  }
  gboolean table = data_dir != NULL && g_file_test (data_dir, G_FILE_TEST_IS_REGULAR);
  gboolean playground = lam_playground_is_uri (data_dir);
  if (!table && !playground && data_dir != NULL && !g_file_test (data_dir, G_FILE_TEST_EXISTS)) {
    g_printerr ("lamina lr-find: --data: %s does not exist\n", data_dir);
    return LAM_EXIT_DATA;
  }
  if (!table && targets_text != NULL) {
    g_printerr ("lamina lr-find: --targets applies to a table of numbers (--data FILE.csv)\n");
    return LAM_EXIT_USAGE;
  }
  /* An empty --targets splits into no names at all, which the reader
   * takes as a caller's bug. */
  if (table && (targets_text == NULL || *targets_text == '\0')) {
    g_printerr ("lamina lr-find: --targets: name the column or columns of %s to predict (see "
                "lamina info --data %s)\n", data_dir, data_dir);
    return LAM_EXIT_USAGE;
  }
  g_auto (GStrv) target_names = NULL;
  LamCsvOptions csv;
  lam_csv_options_init (&csv);
  if (table) {
    target_names = g_strsplit (targets_text, ",", -1);
    csv.targets = (const char *const *) target_names;
    config.normalize_from_data = FALSE;
  }

  g_autoptr (LamModelSpec) spec = NULL;
  if ((!table && !playground) || model_text != NULL) {
    spec = lam_model_spec_from_string (model_text ? model_text : "mlp", &error);
    if (spec == NULL) {
      lam_cli_print_error ("lr-find", error);
      return LAM_EXIT_MODEL;
    }
  }
  g_autoptr (LamDataset) train = NULL;
  /* A table's test rows are held out (and left out of its statistics) as
   * lamina train holds them out, so the sweep sees the rows it trains on. */
  g_autoptr (LamDataset) held_out = NULL;
  const char *dir = data_dir ? data_dir : LAM_DATASET_DEFAULT_DIR;
  /* The curve is written after the sweep: not over the data it swept. */
  if (curve_path != NULL && !playground) {
    g_autoptr (GPtrArray) outputs = g_ptr_array_new_with_free_func (g_free);
    g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func (g_free);
    lam_cli_add_path (outputs, curve_path);
    lam_cli_add_dataset_paths (inputs, dir);
    if (!lam_cli_check_outputs ("--output", outputs, inputs, &error)) {
      lam_cli_print_error ("lr-find", error);
      return LAM_EXIT_USAGE;
    }
  }
  if (playground ? !lam_playground_load (dir, &train, NULL, &error)
      : table    ? !lam_dataset_load_csv (dir, &csv, &train, &held_out, &error)
                 : !lam_dataset_load_dir (dir, &train, NULL, &error)) {
    lam_cli_print_error ("lr-find", error);
    if (data_dir == NULL)
      g_printerr ("(the default dataset comes with Debian's dataset-fashion-mnist package)\n");
    return LAM_EXIT_DATA;
  }
  if (spec == NULL) {
    /* The defaults lamina train gives these data. */
    g_autofree char *text =
      playground ? g_strdup_printf ("linear:8,tanh,linear:8,tanh,linear:%d",
                                    lam_dataset_get_n_outputs (train))
                 : g_strdup_printf ("linear:%d", lam_dataset_get_n_outputs (train));
    spec = lam_model_spec_from_text (text, &error);
    g_assert (spec != NULL);
  }
  if (loss_text != NULL) {
    spec->has_loss = TRUE;
    spec->loss = loss_kind;
  }
  /* As lamina train: a preset's input follows the data, an input the user
   * wrote must match it; the sweep then runs, and prints, that model. */
  g_auto (GStrv) presets = lam_model_spec_list_presets ();
  gboolean input_chosen = spec->has_input && model_text != NULL &&
                          !g_strv_contains ((const char *const *) presets, model_text);
  LamShape data_shape = lam_dataset_get_input_shape (train);
  if (input_chosen && !lam_shape_equal (&spec->input, &data_shape)) {
    g_autofree char *want = lam_shape_to_string (&spec->input);
    g_autofree char *have = lam_shape_to_string (&data_shape);
    g_printerr ("lamina lr-find: the model's input is %s but %s holds %s of %s: change input= in "
                "the model or leave it out to follow the data\n",
                want, dir, lam_dataset_is_table (train) ? "rows" : "images", have);
    return LAM_EXIT_MODEL;
  }
  spec->has_input = TRUE;
  spec->input = data_shape;

  g_autofree char *note = NULL;
  LamBackend *backend = lam_device_open (device, &note, &error);
  if (backend == NULL) {
    lam_cli_print_error ("lr-find", error);
    return LAM_EXIT_DEVICE;
  }
  g_autofree char *spec_text = lam_model_spec_to_text (spec);
  if (!json) {
    g_print ("Data:   %s, %d %s\n", dir, train->n, lam_dataset_is_table (train) ? "rows" : "images");
    g_print ("Model:  %s\n", spec_text);
    g_print ("Sweep:  %s, batch %d, lr %g to %g in %d steps\n",
             lam_optimizer_kind_to_string (config.optimizer.kind), config.batch_size,
             options.start_lr, options.end_lr, options.n_steps);
    g_print ("Device: %s%s%s%s\n", backend->device_name, note ? " (" : "", note ? note : "",
             note ? ")" : "");
  }

  Progress progress = { .bar = isatty (STDERR_FILENO) };
  g_autoptr (LamLrFindResult) result =
    lam_lr_find (spec, NULL, 0, train, backend, &config, &options, on_progress, &progress, NULL,
                 &error);
  if (progress.bar)
    fprintf (stderr, "\r\033[K");
  if (result == NULL) {
    lam_cli_print_error ("lr-find", error);
    lam_backend_free (backend);
    return error->domain == LAM_TRAINER_ERROR && error->code == LAM_TRAINER_ERROR_CONFIG
             ? LAM_EXIT_USAGE
             : LAM_EXIT_MODEL;
  }
  int status = isnan (result->suggested_lr) ? LAM_EXIT_FAILED : LAM_EXIT_OK;
  if (curve_path != NULL && !write_curve (curve_path, result, &error)) {
    lam_cli_print_error ("lr-find", error);
    status = LAM_EXIT_IO;
  }
  if (json) {
    print_json (result, train, spec_text, &config, backend);
  } else {
    print_table (result);
    if (result->stop != LAM_LR_FIND_STOP_END)
      g_print ("The sweep stopped at lr %g: the loss %s.\n", result->lrs[result->n_steps - 1],
               result->stop == LAM_LR_FIND_STOP_DIVERGED
                 ? "rose above 4 times its lowest"
                 : "was no longer a finite number");
    if (isnan (result->suggested_lr)) {
      g_print ("No suggestion: no step gave a finite loss.\n");
    } else {
      g_print ("Lowest smoothed loss %.4f at lr %g.\n", result->min_loss, result->min_lr);
      g_print ("Suggested learning rate: %g (%s)\n", result->suggested_lr,
               result->steepest ? "where the loss falls fastest"
                                : "the loss never fell: a tenth of the rate at its lowest");
    }
  }
  lam_backend_free (backend);
  return status;
}
