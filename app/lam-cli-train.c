/* lamina train: headless training with progress on a terminal and JSON lines. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lam-checkpoint.h"
#include "lam-cli.h"
#include "lam-dataset.h"
#include "lam-device.h"
#include "lam-model.h"
#include "lam-playground.h"
#include "lam-project-file.h"
#include "lam-trainer.h"

typedef struct
{
  GMainLoop *loop;
  gboolean json;
  gboolean progress_bar; /* stderr is a terminal */
  gboolean bar_shown;
  int exit_code;
  const LamDataset *train; /* borrowed */
  const LamDataset *test;
  gboolean regression;
  double test_accuracy;
  LamProjectRun *history; /* borrowed: where the run's figures are recorded */
} TrainRun;

/* A JSON number: the fewest digits that read back the same, or null. */
static void
append_number (GString *s, const char *key, double value)
{
  g_string_append_printf (s, ", \"%s\": ", key);
  lam_json_append_double (s, value);
}

/* "1.234", with a point whatever the locale (JSON and a terminal alike). */
static const char *
fmt (char *buf, gsize size, const char *format, double value)
{
  return g_ascii_formatd (buf, size, format, value);
}

static void
clear_bar (TrainRun *run)
{
  if (run->bar_shown) {
    fprintf (stderr, "\r\033[K");
    run->bar_shown = FALSE;
  }
}

static void
print_bar (TrainRun *run, const LamTrainerEvent *event)
{
  const int width = 30;
  double fraction = event->batches_per_epoch ? (double) event->batch / event->batches_per_epoch : 0;
  int filled = (int) (fraction * width);
  char bar[64];
  for (int i = 0; i < width; i++)
    bar[i] = i < filled ? '#' : '.';
  bar[width] = '\0';
  double left = event->samples_per_second > 0 && event->batch > 0
                  ? event->seconds * (1 - fraction) / fraction
                  : NAN;
  if (run->regression)
    fprintf (stderr, "\r\033[Kepoch %d/%d [%s] %d/%d  loss %.4f  %.0f rows/s  %.0f s left",
             event->epoch + 1, event->epochs, bar, event->batch, event->batches_per_epoch,
             event->loss, event->samples_per_second, left);
  else
    fprintf (stderr,
             "\r\033[Kepoch %d/%d [%s] %d/%d  loss %.4f  acc %5.1f%%  %.0f img/s  %.0f s left",
             event->epoch + 1, event->epochs, bar, event->batch, event->batches_per_epoch,
             event->loss, event->accuracy * 100, event->samples_per_second, left);
  fflush (stderr);
  run->bar_shown = TRUE;
}

/* A regression's epoch: the loss as optimised (on standardised targets),
 * then MSE, MAE and R² in the targets' own units. */
static void
print_regression_epoch (TrainRun *run, const LamTrainerEvent *event)
{
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE],
    d[G_ASCII_DTOSTR_BUF_SIZE];
  if (run->json) {
    g_autoptr (GString) s = g_string_new (NULL);
    g_string_append_printf (s, "{\"event\": \"epoch\", \"epoch\": %d, \"epochs\": %d, "
                            "\"step\": %" G_GINT64_FORMAT, event->epoch + 1, event->epochs,
                            event->step);
    append_number (s, "train_loss", event->loss);
    append_number (s, "train_mse", event->mse);
    append_number (s, "train_mae", event->mae);
    append_number (s, "train_r2", event->r2);
    append_number (s, "train_accuracy", NAN);
    append_number (s, "val_loss", event->val_loss);
    append_number (s, "val_mse", event->val_mse);
    append_number (s, "val_mae", event->val_mae);
    append_number (s, "val_r2", event->val_r2);
    append_number (s, "val_accuracy", NAN);
    append_number (s, "seconds", event->seconds);
    append_number (s, "samples_per_second", event->samples_per_second);
    append_number (s, "lr", event->lr);
    g_string_append (s, "}\n");
    g_print ("%s", s->str);
    return;
  }
  g_print ("Epoch %d/%d  train loss %s  MSE %s  MAE %s  R² %s", event->epoch + 1, event->epochs,
           fmt (a, sizeof a, "%.4f", event->loss), fmt (b, sizeof b, "%.4g", event->mse),
           fmt (c, sizeof c, "%.4g", event->mae), fmt (d, sizeof d, "%.4f", event->r2));
  if (!isnan (event->val_loss))
    g_print ("  |  val loss %s  MSE %s  MAE %s  R² %s", fmt (a, sizeof a, "%.4f", event->val_loss),
             fmt (b, sizeof b, "%.4g", event->val_mse), fmt (c, sizeof c, "%.4g", event->val_mae),
             fmt (d, sizeof d, "%.4f", event->val_r2));
  g_print ("  |  %s s, lr %s\n", fmt (a, sizeof a, "%.2f", event->seconds),
           fmt (b, sizeof b, "%g", event->lr));
}

static void
print_regression_test (TrainRun *run, const LamTrainerEvent *event)
{
  int rows = run->test ? run->test->n : 0;
  char **names = run->train->target_names;
  if (run->json) {
    g_autoptr (GString) s = g_string_new ("{\"event\": \"test\"");
    append_number (s, "test_loss", event->test_loss);
    append_number (s, "test_mse", event->test_mse);
    append_number (s, "test_mae", event->test_mae);
    append_number (s, "test_r2", event->test_r2);
    append_number (s, "test_accuracy", NAN);
    g_string_append_printf (s, ", \"rows\": %d, \"targets\": [", rows);
    for (int j = 0; j < event->n_targets; j++) {
      g_string_append (s, j ? ", {\"name\": " : "{\"name\": ");
      lam_json_append_string (s, names[j]);
      append_number (s, "mse", event->test_target_mse[j]);
      append_number (s, "mae", event->test_target_mae[j]);
      append_number (s, "r2", event->test_target_r2[j]);
      g_string_append (s, "}");
    }
    g_string_append (s, "]}\n");
    g_print ("%s", s->str);
    return;
  }
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE],
    d[G_ASCII_DTOSTR_BUF_SIZE];
  g_print ("Test: loss %s  MSE %s  MAE %s  R² %s on %d rows\n",
           fmt (a, sizeof a, "%.4f", event->test_loss), fmt (b, sizeof b, "%.4g", event->test_mse),
           fmt (c, sizeof c, "%.4g", event->test_mae), fmt (d, sizeof d, "%.4f", event->test_r2),
           rows);
  for (int j = 0; event->n_targets > 1 && j < event->n_targets; j++)
    g_print ("  %-14s MSE %s  MAE %s  R² %s\n", names[j],
             fmt (b, sizeof b, "%.4g", event->test_target_mse[j]),
             fmt (c, sizeof c, "%.4g", event->test_target_mae[j]),
             fmt (d, sizeof d, "%.4f", event->test_target_r2[j]));
}

static void
on_event (const LamTrainerEvent *event, gpointer user_data)
{
  TrainRun *run = user_data;

  switch (event->kind) {
  case LAM_TRAINER_EVENT_PROGRESS:
    if (run->progress_bar)
      print_bar (run, event);
    if (run->history != NULL) {
      LamRunStep step = {
        event->epoch + (double) event->batch / MAX (1, event->batches_per_epoch),
        event->loss, event->accuracy,
      };
      g_array_append_val (run->history->steps, step);
    }
    break;

  case LAM_TRAINER_EVENT_EPOCH:
    clear_bar (run);
    if (run->history != NULL) {
      LamRunEpoch row = { event->epoch + 1, event->loss, event->accuracy, event->val_loss,
                          event->val_accuracy, event->seconds, event->lr };
      g_array_append_val (run->history->epochs, row);
    }
    if (run->regression) {
      print_regression_epoch (run, event);
    } else if (run->json) {
      g_autoptr (GString) s = g_string_new (NULL);
      g_string_append_printf (s,
                              "{\"event\": \"epoch\", \"epoch\": %d, \"epochs\": %d, \"step\": "
                              "%" G_GINT64_FORMAT ", \"train_loss\": ",
                              event->epoch + 1, event->epochs, event->step);
      lam_cli_json_number (s, event->loss, 6);
      g_string_append (s, ", \"train_accuracy\": ");
      lam_cli_json_number (s, event->accuracy, 6);
      g_string_append (s, ", \"val_loss\": ");
      lam_cli_json_number (s, event->val_loss, 6);
      g_string_append (s, ", \"val_accuracy\": ");
      lam_cli_json_number (s, event->val_accuracy, 6);
      g_string_append_printf (s, ", \"seconds\": %.4f, \"samples_per_second\": %.1f, \"lr\": %g}\n",
                              event->seconds, event->samples_per_second, event->lr);
      g_print ("%s", s->str);
    } else {
      g_print ("Epoch %d/%d  train loss %.4f  acc %.2f%%", event->epoch + 1, event->epochs,
               event->loss, event->accuracy * 100);
      if (!isnan (event->val_accuracy))
        g_print ("  |  val loss %.4f  acc %.2f%%", event->val_loss, event->val_accuracy * 100);
      g_print ("  |  %.2f s, %.0f img/s, lr %g\n", event->seconds, event->samples_per_second,
               event->lr);
    }
    break;

  case LAM_TRAINER_EVENT_TEST:
    clear_bar (run);
    run->test_accuracy = event->test_accuracy;
    if (run->history != NULL) {
      run->history->test_loss = event->test_loss;
      run->history->test_accuracy = event->test_accuracy;
    }
    if (run->regression)
      print_regression_test (run, event);
    else if (run->json) {
      g_autoptr (GString) s = g_string_new ("{\"event\": \"test\", \"test_loss\": ");
      lam_cli_json_number (s, event->test_loss, 6);
      g_string_append (s, ", \"test_accuracy\": ");
      lam_cli_json_number (s, event->test_accuracy, 6);
      g_string_append_printf (s, ", \"%s\": %d}\n",
                              lam_dataset_is_table (run->train) ? "rows" : "images",
                              run->test ? run->test->n : 0);
      g_print ("%s", s->str);
    } else
      g_print ("Test: loss %.4f  accuracy %.2f%% on %d %s\n", event->test_loss,
               event->test_accuracy * 100, run->test ? run->test->n : 0,
               lam_dataset_is_table (run->train) ? "rows" : "images");
    break;

  case LAM_TRAINER_EVENT_DIVERGED:
  case LAM_TRAINER_EVENT_ERROR:
    clear_bar (run);
    run->exit_code = LAM_EXIT_FAILED;
    if (run->json) {
      g_autoptr (GString) s = g_string_new (NULL);
      g_string_append_printf (
        s, "{\"event\": \"%s\", \"step\": %" G_GINT64_FORMAT ", \"message\": ",
        event->kind == LAM_TRAINER_EVENT_DIVERGED ? "diverged" : "error", event->step);
      lam_json_append_string (s, event->message ? event->message : "");
      g_string_append (s, "}\n");
      g_print ("%s", s->str);
    }
    g_printerr ("lamina train: %s\n", event->message ? event->message : "training failed");
    break;

  case LAM_TRAINER_EVENT_FINISHED:
    clear_bar (run);
    if (run->json)
      g_print ("{\"event\": \"finished\", \"steps\": %" G_GINT64_FORMAT ", \"seconds\": %.3f, "
               "\"stopped\": %s}\n",
               event->step, event->seconds, event->stopped ? "true" : "false");
    g_main_loop_quit (run->loop);
    break;

  case LAM_TRAINER_EVENT_STARTED:
  case LAM_TRAINER_EVENT_PAUSED:
  case LAM_TRAINER_EVENT_RESUMED:
  case LAM_TRAINER_EVENT_LR_CHANGED:
  default:
    break;
  }
}

static gboolean
parse_schedule (const char *text, LamSchedule *schedule, int epochs, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (text, ":", -1);
  guint n = g_strv_length (parts);
  memset (schedule, 0, sizeof *schedule);
  if (g_str_equal (parts[0], "constant") && n == 1) {
    schedule->kind = LAM_SCHEDULE_CONSTANT;
    return TRUE;
  }
  if (g_str_equal (parts[0], "step") && (n == 2 || n == 3)) {
    gint64 size;
    double gamma = 0.1;
    if (!lam_cli_parse_int ("--schedule step:SIZE", parts[1], 1, 100000, &size, error))
      return FALSE;
    if (n == 3 && !lam_cli_parse_double ("--schedule step:SIZE:GAMMA", parts[2], 0, 1, TRUE,
                                         &gamma, error))
      return FALSE;
    schedule->kind = LAM_SCHEDULE_STEP;
    schedule->step_size = (int) size;
    schedule->gamma = gamma;
    return TRUE;
  }
  if (g_str_equal (parts[0], "cosine") && (n == 1 || n == 2)) {
    double eta_min = 0;
    if (n == 2 && !lam_cli_parse_double ("--schedule cosine:ETA_MIN", parts[1], 0, 10, FALSE,
                                         &eta_min, error))
      return FALSE;
    schedule->kind = LAM_SCHEDULE_COSINE;
    schedule->t_max = epochs;
    schedule->eta_min = eta_min;
    return TRUE;
  }
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "--schedule: expected constant, step:SIZE[:GAMMA] or cosine[:ETA_MIN], got \"%s\"",
               text);
  return FALSE;
}

static void
append_columns (GString *s, char **names, const float *mean, const float *std, int n)
{
  g_string_append_c (s, '[');
  for (int j = 0; j < n; j++) {
    g_string_append (s, j ? ", {\"name\": " : "{\"name\": ");
    lam_json_append_string (s, names[j]);
    if (mean != NULL) {
      g_string_append (s, ", \"mean\": ");
      lam_json_append_float (s, mean[j]);
      g_string_append (s, ", \"std\": ");
      lam_json_append_float (s, std[j]);
    }
    g_string_append_c (s, '}');
  }
  g_string_append_c (s, ']');
}

static void
print_columns (const char *role, char **names, const float *mean, const float *std, int n)
{
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  for (int j = 0; j < n; j++)
    g_print ("        %-7s %-16s mean %12s  std %12s\n", j == 0 ? role : "", names[j],
             fmt (a, sizeof a, "%.6g", mean[j]), fmt (b, sizeof b, "%.6g", std[j]));
}

/* What a table's run starts with: its columns and their standardisation
 * (the statistics of the training rows), the task, the model. */
static void
print_table_start (gboolean json, const char *path, const LamDataset *train,
                   const LamDataset *test, const char *spec_text, const LamModelPlan *plan,
                   const LamModelSpec *spec, LamBackend *backend, const char *note,
                   const LamTrainerConfig *config, double load_seconds)
{
  gboolean regression = train->task == LAM_TASK_REGRESSION;
  LamLossKind loss = lam_model_spec_get_loss (spec);
  if (json) {
    g_autoptr (GString) s = g_string_new ("{\"event\": \"start\", \"dataset\": ");
    lam_json_append_string (s, train->name);
    g_string_append_printf (s, ", \"task\": \"%s\", \"train_rows\": %d, \"test_rows\": %d",
                            lam_task_to_string (train->task), train->n, test ? test->n : 0);
    g_string_append (s, ", \"inputs\": ");
    append_columns (s, train->feature_names, train->feature_mean, train->feature_std,
                    train->n_features);
    g_string_append (s, ", \"targets\": ");
    append_columns (s, train->target_names, regression ? train->target_mean : NULL,
                    train->target_std, regression ? train->n_targets : 1);
    if (!regression) {
      g_string_append (s, ", \"classes\": [");
      for (int c = 0; c < train->n_classes; c++) {
        if (c > 0)
          g_string_append (s, ", ");
        lam_json_append_string (s, train->class_names[c]);
      }
      g_string_append_c (s, ']');
    }
    g_string_append (s, ", \"model\": ");
    lam_json_append_string (s, spec_text);
    g_string_append_printf (s, ", \"params\": %" G_GSIZE_FORMAT ", \"loss\": \"%s\", "
                            "\"device\": \"%s\", \"optimizer\": \"%s\"",
                            plan->n_trainable, lam_loss_kind_to_string (loss), backend->name,
                            lam_optimizer_kind_to_string (config->optimizer.kind));
    append_number (s, "lr", config->optimizer.lr);
    g_string_append_printf (s, ", \"batch_size\": %d, \"epochs\": %d", config->batch_size,
                            config->epochs);
    append_number (s, "load_seconds", load_seconds);
    g_string_append (s, "}\n");
    g_print ("%s", s->str);
    return;
  }
  g_print ("Data:   %s, %d rows for training and %d held out for testing (loaded in %.2f s)\n",
           path, train->n, test ? test->n : 0, load_seconds);
  if (regression) {
    g_autofree char *targets = g_strjoinv (", ", train->target_names);
    g_print ("Task:   regression: predict %s from %d input%s\n", targets, train->n_features,
             train->n_features == 1 ? "" : "s");
  } else {
    g_autofree char *classes = g_strjoinv (", ", train->class_names);
    g_print ("Task:   classification: %s into %d classes (%s) from %d input%s\n",
             train->target_names[0], train->n_classes, classes, train->n_features,
             train->n_features == 1 ? "" : "s");
  }
  gboolean standardized = FALSE;
  for (int j = 0; j < train->n_features; j++)
    standardized = standardized || train->feature_mean[j] != 0 || train->feature_std[j] != 1;
  g_print ("Scale:  %s\n", standardized
                             ? "each column standardised as (x - mean) / std, with the statistics "
                               "of the training rows; predictions and errors in the targets' "
                               "own units"
                             : "none (--normalize none): the numbers as they are");
  print_columns ("inputs", train->feature_names, train->feature_mean, train->feature_std,
                 train->n_features);
  if (regression)
    print_columns ("targets", train->target_names, train->target_mean, train->target_std,
                   train->n_targets);
  g_print ("Model:  %s  (%" G_GSIZE_FORMAT " parameters, loss %s)\n", spec_text, plan->n_trainable,
           lam_loss_kind_to_string (loss));
  g_print ("Train:  %s lr %g, batch %d, %d epoch%s, validation %.0f%%, seed %" G_GUINT64_FORMAT "\n",
           lam_optimizer_kind_to_string (config->optimizer.kind), config->optimizer.lr,
           config->batch_size, config->epochs, config->epochs == 1 ? "" : "s",
           config->val_fraction * 100, config->seed);
  g_print ("Device: %s%s%s%s\n", backend->device_name, note ? " (" : "", note ? note : "",
           note ? ")" : "");
}

/* A project is written to a --save named .lamina, or back to the project
 * --load read when there is no --save; any other --save gets the weights
 * and the spec, as its help says, whatever was loaded. */
static gboolean
saves_project (const char *save_path, const LamProjectFile *loaded)
{
  return save_path != NULL ? g_str_has_suffix (save_path, ".lamina") : loaded != NULL;
}

/* Whether every file the save writes can be written: a project's files
 * beside it (NAME.optimizer.safetensors the longest of their names), or
 * the weights and their description (NAME.bin.json for NAME.bin). */
static gboolean
check_save_writable (const char *option, const char *path, gboolean project_files, GError **error)
{
  g_autoptr (GPtrArray) outputs = g_ptr_array_new_with_free_func (g_free);
  if (project_files) {
    lam_cli_add_project_paths (outputs, path);
  } else {
    lam_cli_add_path (outputs, path);
    g_ptr_array_add (outputs, lam_checkpoint_spec_path (path));
  }
  for (guint i = 0; i < outputs->len; i++)
    if (!lam_cli_check_writable (option, g_ptr_array_index (outputs, i), error))
      return FALSE;
  return TRUE;
}

/* Refuses, before any training, a --save that would overwrite what this
 * run reads: the dataset's files, or the loaded project's own files
 * (unless it is written back as itself). */
static gboolean
check_save_path (const char *option, const char *save_path, const char *load_path,
                 const LamProjectFile *project, const char *dataset, GError **error)
{
  if (save_path == NULL)
    return TRUE;
  /* A project's files and a checkpoint's share names: p.lamina keeps its
   * weights in p.safetensors, which a checkpoint saved as p.safetensors
   * would replace, and the other way round. */
  if (saves_project (save_path, project)) {
    g_autoptr (GError) sibling_error = NULL;
    if (!lam_project_file_check_siblings (save_path, &sibling_error)) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s: %s", option,
                   sibling_error->message);
      return FALSE;
    }
  } else {
    static const char *const project_suffixes[] = { ".optimizer.safetensors",
                                                    ".snapshots.safetensors", ".safetensors" };
    for (guint i = 0; i < G_N_ELEMENTS (project_suffixes); i++) {
      if (!g_str_has_suffix (save_path, project_suffixes[i]))
        continue;
      g_autofree char *stem =
        g_strndup (save_path, strlen (save_path) - strlen (project_suffixes[i]));
      g_autofree char *owner = g_strconcat (stem, ".lamina", NULL);
      if (g_file_test (owner, G_FILE_TEST_EXISTS)) {
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     "%s: %s is one of the files of the project %s, which would then not "
                     "open; %s",
                     option, save_path, owner,
                     g_str_equal (option, "--save") ? "choose another name"
                                                    : "name where the weights go with --save");
        return FALSE;
      }
      break;
    }
  }
  g_autoptr (GPtrArray) outputs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func (g_free);
  if (saves_project (save_path, project)) {
    lam_cli_add_project_paths (outputs, save_path);
  } else {
    lam_cli_add_path (outputs, save_path);
    g_ptr_array_add (outputs, lam_checkpoint_spec_path (save_path));
  }
  /* Written back as itself: a project to its .lamina, a checkpoint to its
   * weights (and the .json beside them). */
  g_autofree char *loaded_weights = load_path ? lam_checkpoint_weights_path (load_path) : NULL;
  gboolean written_back =
    project != NULL && project->version == 0
      ? !saves_project (save_path, project) && lam_cli_same_file (save_path, loaded_weights)
      : saves_project (save_path, project) && lam_cli_same_file (save_path, load_path);
  if (load_path != NULL && !written_back)
    lam_cli_add_project_paths (inputs, load_path);
  g_autoptr (GPtrArray) dataset_files = g_ptr_array_new_with_free_func (g_free);
  lam_cli_add_dataset_paths (dataset_files, dataset);
  for (guint i = 0; i < dataset_files->len; i++) {
    const char *file = g_ptr_array_index (dataset_files, i);
    /* Written back, the loaded files replace themselves: lying in the
     * dataset's folder does not make them its data. */
    gboolean own = FALSE;
    for (guint o = 0; written_back && o < outputs->len; o++)
      own = own || lam_cli_same_file (file, g_ptr_array_index (outputs, o));
    if (!own)
      lam_cli_add_path (inputs, file);
  }
  return lam_cli_check_outputs (option, outputs, inputs, error);
}

/* Fills `file` with the run's settings, weights and position and saves it. */
static gboolean
write_project (LamProjectFile *file, const char *path, LamTrainer *trainer,
               const LamModelSpec *spec, const LamDataset *train, const char *dir,
               const char *device, const LamTrainerConfig *config, GError **error)
{
  LamModel *model = lam_trainer_get_model (trainer);
  lam_model_spec_free (file->spec);
  file->spec = lam_model_spec_copy (lam_model_get_spec (model));
  file->config = *config;
  file->config.report_every = 0;
  g_free (file->device);
  file->device = g_strdup (device ? device : "auto");
  g_free (file->dataset_dir);
  file->dataset_dir = g_strdup (dir);
  g_free (file->dataset_name);
  file->dataset_name = g_strdup (train->name);

  float mean[3], std[3];
  lam_trainer_get_normalization (trainer, mean, std);
  gsize n = 0;
  g_autofree float *params = lam_trainer_dup_params (trainer, &n);
  lam_project_file_set_weights (file, params, n, train->channels, mean, std);
  int epochs_done, batches_done;
  gint64 step;
  if (lam_trainer_get_position (trainer, &epochs_done, &batches_done, &step)) {
    LamOptimizer *optimizer = lam_trainer_get_optimizer (trainer);
    int n_state = lam_optimizer_get_n_state (optimizer);
    float *state[2] = { NULL, NULL };
    for (int i = 0; i < n_state; i++) {
      state[i] = g_new (float, MAX (n, 1));
      lam_optimizer_get_state (optimizer, i, state[i]);
    }
    lam_project_file_set_resume (file, epochs_done, batches_done, step,
                                 (const float *const *) state, n_state);
    for (int i = 0; i < n_state; i++)
      g_free (state[i]);
  }
  (void) spec;
  return lam_project_file_save (file, path, error);
}

int
lam_cli_train (int argc, char **argv)
{
  g_autofree char *data_dir = NULL;
  g_autofree char *model_text = NULL;
  g_autofree char *epochs_text = NULL;
  g_autofree char *batch_text = NULL;
  g_autofree char *optimizer_text = NULL;
  g_autofree char *lr_text = NULL;
  g_autofree char *momentum_text = NULL;
  g_autofree char *weight_decay_text = NULL;
  g_autofree char *l1_text = NULL;
  g_autofree char *val_text = NULL;
  g_autofree char *seed_text = NULL;
  g_autofree char *normalize_text = NULL;
  g_autofree char *schedule_text = NULL;
  g_autofree char *crop_text = NULL;
  g_autofree char *padding_mode_text = NULL;
  g_autofree char *device = NULL;
  g_autofree char *save_path = NULL;
  g_autofree char *load_path = NULL;
  g_autofree char *inputs_text = NULL;
  g_autofree char *targets_text = NULL;
  g_autofree char *task_text = NULL;
  g_autofree char *loss_text = NULL;
  g_autofree char *test_fraction_text = NULL;
  gboolean nesterov = FALSE, hflip = FALSE, json = FALSE, no_test = FALSE;

  /* The help states the defaults from where they are set, so that the two
   * cannot drift apart as "Epochs (default 1)" once did. */
  const LamTrainerConfig defaults = lam_trainer_config_lesson_default ();
  g_autofree char *epochs_help =
    g_strdup_printf ("Epochs (default %d; with --load, how many more, default 1)", defaults.epochs);
  g_autofree char *batch_help = g_strdup_printf ("Batch size (default %d)", defaults.batch_size);
  g_autofree char *optimizer_help = g_strdup_printf (
    "sgd, adam or adamw (default %s)", lam_optimizer_kind_to_string (defaults.optimizer.kind));
  g_autofree char *val_help =
    g_strdup_printf ("Fraction of the training images held out for validation, 0 for none "
                     "(default %g)", defaults.val_fraction);
  g_autofree char *seed_help =
    g_strdup_printf ("Random seed (default %" G_GUINT64_FORMAT ")", defaults.seed);
  g_autofree char *normalize_help = g_strdup_printf (
    "Normalisation: 'data' (mean/std of the training split), 'none' (pixels in [0,1]), or "
    "MEAN[,MEAN,MEAN]/STD[,STD,STD] like 0.5/0.5 (default %s)",
    defaults.normalize_from_data ? "data" : "none");
  g_autofree char *padding_mode_help =
    g_strdup_printf ("What --crop-padding pads with: zeros, or the image mirrored at its edges "
                     "(reflect) (default %s)", lam_padding_mode_to_string (defaults.padding_mode));

  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      "Dataset folder: IDX files (MNIST, Fashion-MNIST, KMNIST) or CIFAR-10 batches, or a "
      "table of numbers (FILE.csv, with --targets) (default: " LAM_DATASET_DEFAULT_DIR ")",
      "DIR|FILE.csv" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_text,
      "A preset (logistic-regression, mlp-32, mlp, small-cnn, small-cnn-bn, cifar10-cnn, "
      "cifar10-cnn-bn), a .json file, inline JSON, or text like "
      "'flatten,linear:256,relu,linear:10' (default mlp; linear:K for a table)",
      "SPEC" },
    { "inputs", 0, 0, G_OPTION_ARG_STRING, &inputs_text,
      "A table's input columns, comma-separated (default: every column but the targets)", "A,B,C" },
    { "targets", 0, 0, G_OPTION_ARG_STRING, &targets_text,
      "A table's target columns: numbers make a regression (one output each), one column of "
      "text or a few whole numbers a classification",
      "Y1,Y2" },
    { "task", 0, 0, G_OPTION_ARG_STRING, &task_text,
      "regression or classification, when the targets' values should not decide", "TASK" },
    { "test-fraction", 0, 0, G_OPTION_ARG_STRING, &test_fraction_text,
      "Fraction of a table's rows held out as its test set (default 0.2)", "F" },
    { "loss", 0, 0, G_OPTION_ARG_STRING, &loss_text,
      "cross_entropy, nll, mse or l1 (default: the model's; cross_entropy for classes, mse for "
      "a regression)",
      "LOSS" },
    { "epochs", 'e', 0, G_OPTION_ARG_STRING, &epochs_text, epochs_help, "N" },
    { "batch-size", 'b', 0, G_OPTION_ARG_STRING, &batch_text, batch_help, "B" },
    { "optimizer", 'o', 0, G_OPTION_ARG_STRING, &optimizer_text, optimizer_help, "NAME" },
    { "lr", 0, 0, G_OPTION_ARG_STRING, &lr_text,
      "Learning rate (default: 0.01 for sgd, 0.001 for adam/adamw)", "X" },
    { "momentum", 0, 0, G_OPTION_ARG_STRING, &momentum_text, "SGD momentum (default 0)", "M" },
    { "nesterov", 0, 0, G_OPTION_ARG_NONE, &nesterov, "SGD with Nesterov momentum", NULL },
    { "weight-decay", 0, 0, G_OPTION_ARG_STRING, &weight_decay_text,
      "Weight decay (default 0; 0.01 for adamw)", "W" },
    { "l1", 0, 0, G_OPTION_ARG_STRING, &l1_text,
      "L1 penalty: X times the sum of |parameter| joins the loss's gradient (default 0)", "X" },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &schedule_text,
      "Learning-rate schedule per epoch: constant, step:SIZE[:GAMMA] or cosine[:ETA_MIN]", "KIND" },
    { "val-fraction", 0, 0, G_OPTION_ARG_STRING, &val_text, val_help, "F" },
    { "seed", 's', 0, G_OPTION_ARG_STRING, &seed_text, seed_help, "S" },
    { "normalize", 'n', 0, G_OPTION_ARG_STRING, &normalize_text, normalize_help, "HOW" },
    { "crop-padding", 0, 0, G_OPTION_ARG_STRING, &crop_text,
      "Augmentation: random crops from images padded by P pixels (default 0)", "P" },
    { "padding-mode", 0, 0, G_OPTION_ARG_STRING, &padding_mode_text, padding_mode_help, "MODE" },
    { "hflip", 0, 0, G_OPTION_ARG_NONE, &hflip, "Augmentation: random horizontal flips", NULL },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device,
      "auto (a GPU when one answers), cpu or cuda (default auto)", "DEVICE" },
    { "save", 0, 0, G_OPTION_ARG_FILENAME, &save_path,
      "Save a project (FILE.lamina: settings, history, weights and optimizer state, so "
      "training can continue), or else the weights (.safetensors, PyTorch nn.Sequential "
      "names) and the spec (.json)",
      "FILE" },
    { "load", 'l', 0, G_OPTION_ARG_FILENAME, &load_path,
      "Continue the run saved in a project (.lamina) for --epochs more epochs (default 1) "
      "and write the project back, or to --save; or train on from the weights of a "
      "checkpoint (.safetensors, or its .json) and write them back",
      "FILE" },
    { "no-test", 0, 0, G_OPTION_ARG_NONE, &no_test, "Skip the test-set evaluation at the end",
      NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object per epoch", NULL },
    { NULL }
  };

  g_autoptr (GOptionContext) context = g_option_context_new ("- train a model on a dataset");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (
    context, "Examples:\n"
             "  lamina train --model mlp --epochs 5 --lr 0.003 --save mlp.lamina\n"
             "  lamina train --load mlp.lamina --epochs 3\n"
             "  lamina train --model mlp --epochs 5 --save mlp.safetensors  (weights only)\n");
  if (!lam_cli_parse_options ("train", context, entries, &argc, &argv))
    return LAM_EXIT_USAGE;
  if (argc > 1) {
    g_printerr ("lamina train: unexpected argument \"%s\" (see lamina train --help)\n", argv[1]);
    return LAM_EXIT_USAGE;
  }

  /* A saved run continues with the settings it was saved with: options that
   * would change its model or its arithmetic are refused. */
  g_autoptr (LamProjectFile) project = NULL;
  gboolean save_given = save_path != NULL;
  if (load_path != NULL) {
    struct
    {
      const char *name;
      gboolean given;
    } fixed[] = {
      { "--model", model_text != NULL },          { "--batch-size", batch_text != NULL },
      { "--optimizer", optimizer_text != NULL },  { "--momentum", momentum_text != NULL },
      { "--nesterov", nesterov },                 { "--weight-decay", weight_decay_text != NULL },
      { "--l1", l1_text != NULL },
      { "--schedule", schedule_text != NULL },    { "--val-fraction", val_text != NULL },
      { "--seed", seed_text != NULL },            { "--normalize", normalize_text != NULL },
      { "--crop-padding", crop_text != NULL },    { "--hflip", hflip },
      { "--padding-mode", padding_mode_text != NULL }, { "--loss", loss_text != NULL },
    };
    for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
      if (fixed[i].given) {
        g_printerr ("lamina train: %s cannot change a saved run (--load continues it with its "
                    "own settings); leave out --load to start a new run\n", fixed[i].name);
        return LAM_EXIT_USAGE;
      }
    project = lam_project_file_load (load_path, &error);
    if (project == NULL) {
      lam_cli_print_error ("train", error);
      return error->code == LAM_PROJECT_FILE_ERROR_IO && project == NULL &&
                 !g_file_test (load_path, G_FILE_TEST_EXISTS)
               ? LAM_EXIT_USAGE
               : LAM_EXIT_MODEL;
    }
    if (project->note != NULL)
      g_printerr ("lamina train: %s\n", project->note);
    /* A checkpoint continued without --save is written back as the
     * checkpoint it was, not turned into a project under its name. */
    if (project->version == 0 && !save_given)
      save_path = lam_checkpoint_weights_path (load_path);
  }


  LamTrainerConfig config = defaults;
  config.evaluate_test = !no_test;
  config.hflip = hflip;
  if (project != NULL) {
    config = project->config;
    config.report_every = 0;
    if (no_test)
      config.evaluate_test = FALSE;
    if (data_dir == NULL && project->dataset_dir != NULL)
      data_dir = g_strdup (project->dataset_dir);
    if (device == NULL && project->device != NULL)
      device = g_strdup (project->device);
  }
  gint64 value;
  double number;

  if (optimizer_text != NULL) {
    LamOptimizerKind kind;
    if (!lam_optimizer_kind_from_string (optimizer_text, &kind)) {
      g_printerr ("lamina train: --optimizer: expected sgd, adam or adamw, got \"%s\"\n",
                  optimizer_text);
      return LAM_EXIT_USAGE;
    }
    config.optimizer = lam_optimizer_config_default (kind);
  }
#define PARSE_INT(text, name, min, max, field)                                                     \
  if ((text) != NULL) {                                                                            \
    if (!lam_cli_parse_int (name, text, min, max, &value, &error)) {                               \
      lam_cli_print_error ("train", error);                                                        \
      return LAM_EXIT_USAGE;                                                                       \
    }                                                                                              \
    field = value;                                                                                 \
  }
#define PARSE_DOUBLE(text, name, min, max, exclusive, field)                                       \
  if ((text) != NULL) {                                                                            \
    if (!lam_cli_parse_double (name, text, min, max, exclusive, &number, &error)) {                \
      lam_cli_print_error ("train", error);                                                        \
      return LAM_EXIT_USAGE;                                                                       \
    }                                                                                              \
    field = number;                                                                                \
  }
  int epochs_more = 1;
  if (project != NULL) {
    PARSE_INT (epochs_text, "--epochs", 1, 100000, epochs_more);
    int done = project->resumable && project->params != NULL ? project->epochs_done : 0;
    config.epochs = MIN (done + epochs_more, 100000);
  } else {
    PARSE_INT (epochs_text, "--epochs", 1, 100000, config.epochs);
  }
  PARSE_INT (batch_text, "--batch-size", 1, 65536, config.batch_size);
  PARSE_INT (seed_text, "--seed", 0, LAM_TRAINER_MAX_SEED, config.seed);
  PARSE_INT (crop_text, "--crop-padding", 0, 64, config.crop_padding);
  if (padding_mode_text != NULL) {
    if (!lam_padding_mode_from_string (padding_mode_text, &config.padding_mode)) {
      g_printerr ("lamina train: --padding-mode: expected zeros or reflect, got \"%s\"\n",
                  padding_mode_text);
      return LAM_EXIT_USAGE;
    }
    /* Without padding the mode changes nothing: said, as for --nesterov
     * without momentum, rather than silently ignored. */
    if (config.crop_padding == 0) {
      g_printerr ("lamina train: --padding-mode needs --crop-padding above 0\n");
      return LAM_EXIT_USAGE;
    }
  }
  PARSE_DOUBLE (lr_text, "--lr", 0, 100, TRUE, config.optimizer.lr);
  PARSE_DOUBLE (momentum_text, "--momentum", 0, 0.9999, FALSE, config.optimizer.momentum);
  PARSE_DOUBLE (weight_decay_text, "--weight-decay", 0, 10, FALSE, config.optimizer.weight_decay);
  PARSE_DOUBLE (l1_text, "--l1", 0, 10, FALSE, config.optimizer.l1);
  PARSE_DOUBLE (val_text, "--val-fraction", 0, 0.99, FALSE, config.val_fraction);
#undef PARSE_INT
#undef PARSE_DOUBLE
  /* The flag only turns Nesterov on: a saved run's own setting stands. */
  if (nesterov)
    config.optimizer.nesterov = TRUE;
  if (nesterov && config.optimizer.kind != LAM_OPTIMIZER_SGD) {
    g_printerr ("lamina train: --nesterov applies to --optimizer sgd only\n");
    return LAM_EXIT_USAGE;
  }
  if (nesterov && config.optimizer.momentum <= 0) {
    g_printerr ("lamina train: --nesterov needs --momentum above 0\n");
    return LAM_EXIT_USAGE;
  }
  if (schedule_text != NULL && !parse_schedule (schedule_text, &config.schedule, config.epochs,
                                                &error)) {
    lam_cli_print_error ("train", error);
    return LAM_EXIT_USAGE;
  }
  int normalize_numbers = 0; /* the most numbers MEAN or STD gave */
  if (normalize_text != NULL && !g_str_equal (normalize_text, "data")) {
    config.normalize_from_data = FALSE;
    if (g_str_equal (normalize_text, "none")) {
      /* mean 0, std 1 from the defaults: pixels in [0, 1] as ToTensor gives them */
    } else {
      g_auto (GStrv) halves = g_strsplit (normalize_text, "/", -1);
      float mean[3], std[3];
      int n_mean, n_std;
      if (g_strv_length (halves) != 2) {
        g_printerr ("lamina train: --normalize: expected data, none or MEAN/STD, got \"%s\"\n",
                    normalize_text);
        return LAM_EXIT_USAGE;
      }
      if ((n_mean = lam_cli_parse_floats ("--normalize MEAN", halves[0], mean, 3, &error)) < 0 ||
          (n_std = lam_cli_parse_floats ("--normalize STD", halves[1], std, 3, &error)) < 0) {
        lam_cli_print_error ("train", error);
        return LAM_EXIT_USAGE;
      }
      normalize_numbers = MAX (n_mean, n_std);
      for (int c = 0; c < 3; c++) {
        config.mean[c] = mean[n_mean == 1 ? 0 : MIN (c, n_mean - 1)];
        config.std[c] = std[n_std == 1 ? 0 : MIN (c, n_std - 1)];
        /* Below 1e-6 (1e-45 passed "above 0") every pixel is scaled past
         * float's range and the first loss is not a number. */
        if (!(config.std[c] >= 1e-6f) || !isfinite (config.std[c]) || !isfinite (config.mean[c])) {
          g_printerr ("lamina train: --normalize: each STD must be at least 1e-6 and each number "
                      "finite, got \"%s\"\n",
                      normalize_text);
          return LAM_EXIT_USAGE;
        }
      }
    }
  }

  /* A table of numbers: a file, where image datasets are folders; a bare
   * name such as "crop-yields" is one of the tables Lamina comes with. */
  if (data_dir != NULL && !g_file_test (data_dir, G_FILE_TEST_EXISTS)) {
    char *bundled = lam_dataset_find_bundled_table (data_dir);
    if (bundled != NULL) {
      g_free (data_dir);
      data_dir = bundled;
    }
  }
  gboolean table = data_dir != NULL && g_file_test (data_dir, G_FILE_TEST_IS_REGULAR);
  /* A 2-D playground, named as the window names it. */
  gboolean playground = lam_playground_is_uri (data_dir);
  LamCsvOptions csv;
  lam_csv_options_init (&csv);
  g_auto (GStrv) input_names = NULL;
  g_auto (GStrv) target_names = NULL;
  if (!table && !playground && data_dir != NULL && !g_file_test (data_dir, G_FILE_TEST_EXISTS)) {
    g_printerr ("lamina train: --data: %s does not exist\n", data_dir);
    return LAM_EXIT_DATA;
  }
  if (!table && (inputs_text || targets_text || task_text || test_fraction_text)) {
    g_printerr ("lamina train: --inputs, --targets, --task and --test-fraction apply to a table "
                "of numbers (--data FILE.csv)\n");
    return LAM_EXIT_USAGE;
  }
  if (table) {
    const char *problem = NULL;
    if (project != NULL)
      problem = "continuing a saved run (--load) is not supported for tables yet";
    else if (crop_text != NULL || hflip || padding_mode_text != NULL)
      problem = "--crop-padding, --padding-mode and --hflip augment images; a table of numbers "
                "is not augmented";
    else if (normalize_text != NULL && !g_str_equal (normalize_text, "data") &&
             !g_str_equal (normalize_text, "none"))
      problem = "--normalize: a table is standardised column by column from its training rows "
                "(data, the default) or not at all (none); MEAN/STD apply to images";
    else if (save_path != NULL && g_str_has_suffix (save_path, ".lamina"))
      problem = "--save: projects (.lamina) of tables are not supported yet; save the weights "
                "(--save FILE.safetensors) for lamina eval and lamina export";
    if (problem != NULL) {
      g_printerr ("lamina train: %s\n", problem);
      return LAM_EXIT_USAGE;
    }
    /* An empty --targets splits into no names at all, which the reader
     * takes as a caller's bug. */
    if (targets_text == NULL || *targets_text == '\0') {
      g_autoptr (LamCsvSummary) summary = lam_csv_summary_load (data_dir, &error);
      if (summary == NULL) {
        lam_cli_print_error ("train", error);
        return LAM_EXIT_DATA;
      }
      g_autoptr (GString) header = g_string_new (NULL);
      for (int k = 0; k < summary->n_columns; k++)
        g_string_append_printf (header, "%s%s", k ? ", " : "", summary->columns[k].name);
      g_printerr ("lamina train: --targets: name the column or columns to predict; %s has: %s\n",
                  data_dir, header->str);
      return LAM_EXIT_USAGE;
    }
    target_names = g_strsplit (targets_text, ",", -1);
    csv.targets = (const char *const *) target_names;
    if (inputs_text != NULL) {
      input_names = g_strsplit (inputs_text, ",", -1);
      csv.inputs = (const char *const *) input_names;
    }
    if (task_text != NULL) {
      csv.task_set = TRUE;
      if (g_ascii_strcasecmp (task_text, "regression") == 0) {
        csv.task = LAM_TASK_REGRESSION;
      } else if (g_ascii_strcasecmp (task_text, "classification") == 0) {
        csv.task = LAM_TASK_CLASSIFICATION;
      } else {
        g_printerr ("lamina train: --task: expected regression or classification, got \"%s\"\n",
                    task_text);
        return LAM_EXIT_USAGE;
      }
    }
    if (test_fraction_text != NULL &&
        !lam_cli_parse_double ("--test-fraction", test_fraction_text, 0, 0.9, FALSE,
                               &csv.test_fraction, &error)) {
      lam_cli_print_error ("train", error);
      return LAM_EXIT_USAGE;
    }
    csv.standardize = normalize_text == NULL || g_str_equal (normalize_text, "data");
    /* Standardised by the table itself: the image normalisation is neutral. */
    config.normalize_from_data = FALSE;
  }
  LamLossKind loss_kind = LAM_LOSS_CROSS_ENTROPY;
  if (loss_text != NULL && !lam_loss_kind_from_string (loss_text, &loss_kind)) {
    g_printerr ("lamina train: --loss: expected cross_entropy, nll, mse or l1, got \"%s\"\n",
                loss_text);
    return LAM_EXIT_USAGE;
  }

  /* A table's default model depends on its outputs: made once it is read. */
  g_autoptr (LamModelSpec) spec = NULL;
  if (project != NULL)
    spec = lam_model_spec_copy (project->spec);
  else if ((!table && !playground) || model_text != NULL)
    spec = lam_model_spec_from_string (model_text ? model_text : "mlp", &error);
  if (spec == NULL && ((!table && !playground) || model_text != NULL)) {
    lam_cli_print_error ("train", error);
    return LAM_EXIT_MODEL;
  }

  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  const char *dir = data_dir ? data_dir : LAM_DATASET_DEFAULT_DIR;
  if ((save_path != NULL &&
       !lam_cli_check_writable (save_given ? "--save" : "--load", save_path, &error)) ||
      (save_path == NULL && load_path != NULL &&
       !lam_cli_check_writable ("--load", load_path, &error)) ||
      ((save_path != NULL || load_path != NULL) &&
       !check_save_writable (save_given ? "--save" : "--load",
                             save_path != NULL ? save_path : load_path,
                             save_path == NULL || saves_project (save_path, project), &error))) {
    lam_cli_print_error ("train", error);
    return LAM_EXIT_IO;
  }
  if (!check_save_path (save_given ? "--save" : "--load", save_path, load_path, project,
                        playground ? NULL : dir, &error)) {
    lam_cli_print_error ("train", error);
    return LAM_EXIT_USAGE;
  }
  gint64 load_start = g_get_monotonic_time ();
  if (playground ? !lam_playground_load (dir, &train, &test, &error)
      : table    ? !lam_dataset_load_csv (dir, &csv, &train, &test, &error)
                 : !lam_dataset_load_dir (dir, &train, &test, &error)) {
    lam_cli_print_error ("train", error);
    if (data_dir == NULL)
      g_printerr ("(the default dataset comes with Debian's dataset-fashion-mnist package)\n");
    return LAM_EXIT_DATA;
  }
  double load_seconds = (g_get_monotonic_time () - load_start) / 1e6;
  if (normalize_numbers > 1 && normalize_numbers != train->channels) {
    g_printerr ("lamina train: --normalize: %d numbers for the %d channel%s of %s; give one for "
                "all or one for each\n",
                normalize_numbers, train->channels, train->channels == 1 ? "" : "s", train->name);
    return LAM_EXIT_USAGE;
  }
  if (spec == NULL && playground) {
    /* The playground's usual network: two small tanh layers. */
    g_autofree char *mlp = g_strdup_printf ("linear:8,tanh,linear:8,tanh,linear:%d",
                                            lam_dataset_get_n_outputs (train));
    spec = lam_model_spec_from_text (mlp, &error);
    g_assert (spec != NULL);
  }
  if (spec == NULL) {
    g_autofree char *linear = g_strdup_printf ("linear:%d", lam_dataset_get_n_outputs (train));
    spec = lam_model_spec_from_text (linear, &error);
    g_assert (spec != NULL);
  }
  if (loss_text != NULL) {
    spec->has_loss = TRUE;
    spec->loss = loss_kind;
  }

  /* A preset's input is the tutorials' default and follows the data; an
   * input the user wrote (or a project trained on other images) must match. */
  g_auto (GStrv) presets = lam_model_spec_list_presets ();
  gboolean input_chosen = spec->has_input &&
                          (project != NULL ||
                           (model_text != NULL &&
                            !g_strv_contains ((const char *const *) presets, model_text)));
  LamShape data_shape = lam_dataset_get_input_shape (train);
  if (input_chosen && !lam_shape_equal (&spec->input, &data_shape)) {
    g_autofree char *want = lam_shape_to_string (&spec->input);
    g_autofree char *have = lam_shape_to_string (&data_shape);
    g_printerr ("lamina train: the model's input is %s but %s holds %s of %s: %s\n", want, dir,
                table ? "rows" : "images", have,
                project != NULL ? "the project was trained on other images"
                                : "change input= in the model or leave it out to follow the data");
    return LAM_EXIT_MODEL;
  }

  g_autofree char *note = NULL;
  LamBackend *backend = lam_device_open (device, &note, &error);
  if (backend == NULL) {
    lam_cli_print_error ("train", error);
    return LAM_EXIT_DEVICE;
  }

  LamTrainer *trainer = lam_trainer_new (spec, train, test, backend, &config, &error);
  if (trainer == NULL) {
    lam_cli_print_error ("train", error);
    lam_backend_free (backend);
    return error->domain == LAM_TRAINER_ERROR && error->code == LAM_TRAINER_ERROR_CONFIG
             ? LAM_EXIT_USAGE
             : LAM_EXIT_MODEL;
  }

  /* What --load continues: the saved position, or, for a project whose
   * run cannot continue exactly (an old checkpoint, a diverged run), its
   * weights with a fresh optimizer. */
  LamProjectRun *history = NULL;
  g_autoptr (LamProjectFile) out = project != NULL ? NULL : lam_project_file_new ();
  if (project != NULL) {
    LamTrainerStart start;
    gboolean exact = lam_project_file_get_start (project, &start);
    if (!exact && project->params != NULL) {
      start.params = project->params;
      start.n_params = project->n_params;
    }
    if (exact || project->params != NULL) {
      if (!lam_trainer_set_start (trainer, &start, &error)) {
        g_printerr ("lamina train: %s cannot continue: %s\n", load_path, error->message);
        lam_trainer_free (trainer);
        lam_backend_free (backend);
        return LAM_EXIT_MODEL;
      }
      if (!exact && !json)
        g_print ("Note:   %s\n", project->resumable
                                     ? "the project has no optimizer state"
                                     : "the saved run cannot continue exactly (no saved "
                                       "optimizer state or position): training goes on from "
                                       "its weights with a fresh optimizer");
    }
    if (exact && project->runs->len > 0) {
      history = g_ptr_array_index (project->runs, project->runs->len - 1);
    } else {
      g_autofree char *settings = lam_project_describe_settings (&config, spec);
      history = lam_project_run_new ((int) project->runs->len + 1, settings);
      g_ptr_array_add (project->runs, history);
    }
    /* The test figures of the run are those of its newest end. */
    history->test_loss = history->test_accuracy = NAN;
    history->task = train->task;
    if (!json)
      g_print ("Resume: %s, epoch %d of %d, step %" G_GINT64_FORMAT "\n", load_path,
               start.epochs_done + 1, config.epochs, exact ? start.step : 0);
  } else {
    g_autofree char *settings = lam_project_describe_settings (&config, spec);
    history = lam_project_run_new (1, settings);
    history->task = train->task;
    g_ptr_array_add (out->runs, history);
  }

  LamModel *model = lam_trainer_get_model (trainer);
  const LamModelPlan *plan = lam_model_get_plan (model);
  float mean[3], std[3];
  lam_trainer_get_normalization (trainer, mean, std);
  g_autofree char *spec_text = lam_model_spec_to_text (lam_model_get_spec (model));
  if (table) {
    print_table_start (json, dir, train, test, spec_text, plan, lam_model_get_spec (model),
                       backend, note, &config, load_seconds);
  } else if (json) {
    g_autoptr (GString) s = g_string_new ("{\"event\": \"start\", \"dataset\": ");
    lam_json_append_string (s, train->name);
    g_string_append_printf (s, ", \"train_images\": %d, \"test_images\": %d, \"model\": ", train->n,
                            test ? test->n : 0);
    lam_json_append_string (s, spec_text);
    g_string_append_printf (s,
                            ", \"params\": %" G_GSIZE_FORMAT ", \"device\": \"%s\", "
                            "\"optimizer\": \"%s\", \"lr\": %g, \"batch_size\": %d, "
                            "\"epochs\": %d, \"load_seconds\": %.3f}\n",
                            plan->n_trainable, backend->name,
                            lam_optimizer_kind_to_string (config.optimizer.kind),
                            config.optimizer.lr, config.batch_size, config.epochs, load_seconds);
    g_print ("%s", s->str);
  } else {
    g_print ("Data:   %s, %d images of %d×%d×%d, %d classes (loaded in %.2f s)\n", dir, train->n,
             train->channels, train->height, train->width, train->n_classes, load_seconds);
    g_print ("Model:  %s  (%" G_GSIZE_FORMAT " parameters, loss %s)\n", spec_text, plan->n_trainable,
             lam_loss_kind_to_string (lam_model_spec_get_loss (lam_model_get_spec (model))));
    g_print ("Train:  %s lr %g, batch %d, %d epoch%s, validation %.0f%%, seed %" G_GUINT64_FORMAT
             ", normalise mean %.4f std %.4f\n",
             lam_optimizer_kind_to_string (config.optimizer.kind), config.optimizer.lr,
             config.batch_size, config.epochs, config.epochs == 1 ? "" : "s",
             config.val_fraction * 100, config.seed, mean[0], std[0]);
    g_print ("Device: %s%s%s%s\n", backend->device_name, note ? " (" : "", note ? note : "",
             note ? ")" : "");
  }

  TrainRun run = {
    .loop = g_main_loop_new (NULL, FALSE),
    .json = json,
    .progress_bar = isatty (STDERR_FILENO),
    .exit_code = LAM_EXIT_OK,
    .train = train,
    .test = test,
    .regression = train->task == LAM_TASK_REGRESSION,
    .test_accuracy = NAN,
    .history = history,
  };
  lam_trainer_set_event_func (trainer, on_event, &run, NULL);
  lam_trainer_start (trainer, FALSE);
  g_main_loop_run (run.loop);
  lam_trainer_wait (trainer);
  g_main_loop_unref (run.loop);

  const char *project_path = save_path != NULL ? save_path : load_path;
  if (project_path != NULL && saves_project (save_path, project)) {
    LamProjectFile *file = project != NULL ? project : out;
    if (!write_project (file, project_path, trainer, spec, train, dir, device, &config, &error)) {
      lam_cli_print_error ("train", error);
      run.exit_code = LAM_EXIT_IO;
    } else if (!json) {
      g_print ("Saved:  %s (continue with 'lamina train --load %s')\n", project_path,
               project_path);
    }
  } else if (save_path != NULL) {
    g_autofree float *params = g_new (float, plan->n_params);
    lam_model_get_params_host (model, params);
    /* A table is found again from anywhere, and read as it was here; a
     * playground set is made again from its name, with its own test
     * points. */
    g_autofree char *table_path = table ? g_canonicalize_filename (dir, NULL) : NULL;
    g_autoptr (LamTableInfo) table_info =
      table        ? lam_table_info_new (train, csv.test_fraction, csv.split_seed)
      : playground ? lam_table_info_new (train, 0, 0)
                   : NULL;
    LamCheckpointInfo info = {
      .spec = (LamModelSpec *) lam_model_get_spec (model),
      .n_channels = train->channels,
      .dataset = table ? table_path : (char *) dir,
      .class_names = train->class_names,
      .table = table_info,
    };
    memcpy (info.mean, mean, sizeof mean);
    memcpy (info.std, std, sizeof std);
    if (!lam_checkpoint_save (save_path, plan, &info, params, &error)) {
      lam_cli_print_error ("train", error);
      run.exit_code = LAM_EXIT_IO;
    } else if (!json) {
      g_print ("Saved:  %s\n", save_path);
    }
  }

  lam_trainer_free (trainer);
  lam_backend_free (backend);
  return run.exit_code;
}
