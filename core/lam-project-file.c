/* lam-project-file.c: projects as JSON plus safetensors, read with every
 * field checked. */
#include "lam-project-file.h"

#include "lam-file.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "lam-checkpoint.h"
#include "lam-metrics.h"
#include "lamina-config.h"

G_DEFINE_QUARK (lam-project-file-error-quark, lam_project_file_error)

/* Runs */

char *
lam_project_describe_settings (const LamTrainerConfig *config, const LamModelSpec *spec)
{
  g_autofree char *model = spec->name ? g_strdup (spec->name) : lam_model_spec_to_text (spec);
  return g_strdup_printf ("%s, %s lr %g, batch %d", model,
                          config->optimizer.kind == LAM_OPTIMIZER_SGD    ? "SGD"
                          : config->optimizer.kind == LAM_OPTIMIZER_ADAM ? "Adam"
                                                                         : "AdamW",
                          config->optimizer.lr, config->batch_size);
}

char *
lam_project_describe_model (const LamModelSpec *spec, guint max_chars)
{
  g_return_val_if_fail (spec != NULL, NULL);
  g_autofree char *text = NULL;
  if (spec->name && *spec->name) {
    text = g_strdup (spec->name);
  } else {
    /* The dataset beside it in a label says what the input is. */
    g_autofree char *full = lam_model_spec_to_text (spec);
    const char *layers = full;
    if (g_str_has_prefix (full, "input=") && strchr (full, ',') != NULL)
      layers = strchr (full, ',') + 1;
    text = g_strdup (layers);
  }
  if (max_chars == 0 || !g_utf8_validate (text, -1, NULL) ||
      (guint) g_utf8_strlen (text, -1) <= max_chars)
    return g_steal_pointer (&text);
  g_autofree char *head = g_utf8_substring (text, 0, MAX (max_chars, 2) - 1);
  return g_strconcat (head, "…", NULL);
}

char *
lam_project_describe_optimizer (const LamOptimizerConfig *optimizer)
{
  g_return_val_if_fail (optimizer != NULL, NULL);
  return g_strdup_printf ("%s %g",
                          optimizer->kind == LAM_OPTIMIZER_SGD    ? "SGD"
                          : optimizer->kind == LAM_OPTIMIZER_ADAM ? "Adam"
                                                                  : "AdamW",
                          optimizer->lr);
}

LamProjectRun *
lam_project_run_new (int number, const char *settings)
{
  LamProjectRun *run = g_new0 (LamProjectRun, 1);
  run->number = number;
  run->settings = g_strdup (settings ? settings : "");
  run->color = -1;
  run->steps = g_array_new (FALSE, FALSE, sizeof (LamRunStep));
  run->epochs = g_array_new (FALSE, FALSE, sizeof (LamRunEpoch));
  run->lr_changes = g_array_new (FALSE, FALSE, sizeof (LamRunLrChange));
  run->test_loss = run->test_accuracy = NAN;
  return run;
}

LamProjectRun *
lam_project_run_copy (const LamProjectRun *run)
{
  LamProjectRun *copy = lam_project_run_new (run->number, run->settings);
  copy->dataset = g_strdup (run->dataset);
  copy->model = g_strdup (run->model);
  copy->optimizer = g_strdup (run->optimizer);
  copy->color = run->color;
  copy->hidden = run->hidden;
  g_array_append_vals (copy->steps, run->steps->data, run->steps->len);
  g_array_append_vals (copy->epochs, run->epochs->data, run->epochs->len);
  g_array_append_vals (copy->lr_changes, run->lr_changes->data, run->lr_changes->len);
  copy->test_loss = run->test_loss;
  copy->test_accuracy = run->test_accuracy;
  copy->task = run->task;
  return copy;
}

void
lam_project_run_free (LamProjectRun *run)
{
  if (run == NULL)
    return;
  g_free (run->settings);
  g_free (run->dataset);
  g_free (run->model);
  g_free (run->optimizer);
  g_array_unref (run->steps);
  g_array_unref (run->epochs);
  g_array_unref (run->lr_changes);
  g_free (run);
}

char *
lam_project_run_dup_label (const LamProjectRun *run)
{
  g_return_val_if_fail (run != NULL, NULL);
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "Run %d", run->number);
  if (run->model == NULL && run->optimizer == NULL) {
    if (run->dataset != NULL)
      g_string_append_printf (s, " · %s", run->dataset);
    if (run->settings != NULL && *run->settings)
      g_string_append_printf (s, " · %s", run->settings);
    return g_string_free (s, FALSE);
  }
  const char *parts[] = { run->dataset, run->model, run->optimizer };
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    if (parts[i] != NULL && *parts[i])
      g_string_append_printf (s, " · %s", parts[i]);
  return g_string_free (s, FALSE);
}

void
lam_project_run_add_lr_change (LamProjectRun *run, double x, double lr)
{
  g_return_if_fail (run != NULL);
  LamRunLrChange change = { x, lr };
  g_array_append_val (run->lr_changes, change);
}

static void
csv_number (GString *s, double value)
{
  g_string_append_c (s, ',');
  if (isfinite (value)) {
    char buffer[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append (s, g_ascii_formatd (buffer, sizeof buffer, "%.10g", value));
  }
}

static void
csv_empty (GString *s, int n)
{
  for (int i = 0; i < n; i++)
    g_string_append_c (s, ',');
}

/* The run's text is data: whatever it holds, it stays one field. */
static void
csv_text (GString *s, const char *text)
{
  g_string_append_c (s, ',');
  lam_csv_append_field (s, text);
}

char *
lam_project_run_to_csv (const LamProjectRun *run)
{
  g_return_val_if_fail (run != NULL, NULL);
  /* One table: every row has every column, empty where its kind has no
   * value, so a spreadsheet reads the file as it is and a filter on
   * "kind" picks one kind of row. */
  GString *s = g_string_new ("kind,epoch,train_loss,train_accuracy,val_loss,val_accuracy,"
                             "seconds,lr,run,dataset,model,optimizer,settings,color\n");

  g_string_append (s, "run");
  csv_empty (s, 7); /* epoch to lr */
  g_string_append_printf (s, ",%d", run->number);
  csv_text (s, run->dataset);
  csv_text (s, run->model);
  csv_text (s, run->optimizer);
  csv_text (s, run->settings);
  g_string_append_c (s, ',');
  if (run->color >= 0)
    g_string_append_printf (s, "%d", run->color);
  g_string_append_c (s, '\n');

  for (guint i = 0; i < run->lr_changes->len; i++) {
    const LamRunLrChange *c = &g_array_index (run->lr_changes, LamRunLrChange, i);
    /* Skipped as the project file skips them: not a change anyone made. */
    if (!isfinite (c->x) || !isfinite (c->lr))
      continue;
    g_string_append (s, "lr_change");
    csv_number (s, c->x);
    csv_empty (s, 5); /* train_loss to seconds */
    csv_number (s, c->lr);
    csv_empty (s, 6); /* run to color */
    g_string_append_c (s, '\n');
  }
  for (guint i = 0; i < run->epochs->len; i++) {
    const LamRunEpoch *e = &g_array_index (run->epochs, LamRunEpoch, i);
    g_string_append_printf (s, "epoch,%d", e->epoch);
    csv_number (s, e->train_loss);
    csv_number (s, e->train_accuracy);
    csv_number (s, e->val_loss);
    csv_number (s, e->val_accuracy);
    csv_number (s, e->seconds);
    csv_number (s, e->lr);
    csv_empty (s, 6); /* run to color */
    g_string_append_c (s, '\n');
  }
  for (guint i = 0; i < run->steps->len; i++) {
    const LamRunStep *p = &g_array_index (run->steps, LamRunStep, i);
    g_string_append (s, "step");
    csv_number (s, p->x);
    csv_number (s, p->loss);
    csv_number (s, p->accuracy);
    csv_empty (s, 10); /* val_loss to color */
    g_string_append_c (s, '\n');
  }
  return g_string_free (s, FALSE);
}

static gboolean
replace_file (const char *path, const char *data, gsize length, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  if (!lam_file_replace_contents (path, data, length, &local_error)) {
    g_set_error_literal (error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_IO,
                         local_error->message);
    return FALSE;
  }
  return TRUE;
}

gboolean
lam_project_run_write_csv (const LamProjectRun *run, const char *path, GError **error)
{
  g_return_val_if_fail (run != NULL && path != NULL, FALSE);
  g_autofree char *csv = lam_project_run_to_csv (run);
  return replace_file (path, csv, strlen (csv), error);
}

/* The document */

LamProjectFile *
lam_project_file_new (void)
{
  LamProjectFile *file = g_new0 (LamProjectFile, 1);
  file->version = LAM_PROJECT_FILE_VERSION;
  file->config = lam_trainer_config_default ();
  file->normalize_by_data = file->config.normalize_from_data;
  file->device = g_strdup ("auto");
  file->runs = g_ptr_array_new_with_free_func ((GDestroyNotify) lam_project_run_free);
  for (int c = 0; c < 3; c++)
    file->std[c] = 1;
  return file;
}

static void
clear_resume (LamProjectFile *file)
{
  for (int i = 0; i < 2; i++)
    g_clear_pointer (&file->optimizer_state[i], g_free);
  file->n_optimizer_state = 0;
  file->resumable = FALSE;
  file->epochs_done = file->batches_done = 0;
  file->step = 0;
}

static void
clear_snapshots (LamProjectFile *file)
{
  for (int i = 0; i < file->n_snapshots; i++)
    g_free (file->snapshots[i]);
  g_clear_pointer (&file->snapshots, g_free);
  g_clear_pointer (&file->snapshot_epochs, g_free);
  file->n_snapshots = 0;
}

void
lam_project_file_free (LamProjectFile *file)
{
  if (file == NULL)
    return;
  g_free (file->note);
  lam_model_spec_free (file->spec);
  g_free (file->device);
  g_free (file->dataset_dir);
  g_free (file->dataset_name);
  g_ptr_array_unref (file->runs);
  g_free (file->params);
  clear_resume (file);
  g_free (file->history_epochs);
  g_free (file->history_classes);
  clear_snapshots (file);
  g_free (file);
}

void
lam_project_file_set_history (LamProjectFile *file, int n_epochs, int n_images,
                              const int *epochs, const gint32 *const *classes)
{
  g_return_if_fail (file != NULL);
  g_return_if_fail (n_epochs >= 0 && n_images >= 0);
  g_clear_pointer (&file->history_epochs, g_free);
  g_clear_pointer (&file->history_classes, g_free);
  file->n_history = 0;
  file->history_n_images = 0;
  if (n_epochs == 0 || n_images == 0)
    return;
  file->history_epochs = g_memdup2 (epochs, sizeof (int) * n_epochs);
  file->history_classes = g_new (gint32, (gsize) n_epochs * n_images);
  for (int e = 0; e < n_epochs; e++)
    memcpy (file->history_classes + (gsize) e * n_images, classes[e], sizeof (gint32) * n_images);
  file->n_history = n_epochs;
  file->history_n_images = n_images;
}

void
lam_project_file_set_weights (LamProjectFile *file, const float *params, gsize n_params,
                              int n_channels, const float *mean, const float *std)
{
  g_return_if_fail (file != NULL);
  clear_resume (file);
  clear_snapshots (file);
  g_clear_pointer (&file->params, g_free);
  file->n_params = 0;
  if (params == NULL)
    return;
  file->params = g_memdup2 (params, MAX (n_params, 1) * sizeof (float));
  file->n_params = n_params;
  file->n_channels = CLAMP (n_channels, 0, 3);
  for (int c = 0; c < 3; c++) {
    file->mean[c] = mean ? mean[c] : 0;
    file->std[c] = std ? std[c] : 1;
  }
}

void
lam_project_file_set_resume (LamProjectFile *file, int epochs_done, int batches_done,
                             gint64 step, const float *const *state, int n_state)
{
  g_return_if_fail (file != NULL && file->params != NULL);
  g_return_if_fail (n_state >= 0 && n_state <= 2);
  clear_resume (file);
  file->resumable = TRUE;
  file->epochs_done = epochs_done;
  file->batches_done = batches_done;
  file->step = step;
  file->n_optimizer_state = n_state;
  for (int i = 0; i < n_state; i++)
    file->optimizer_state[i] = g_memdup2 (state[i], MAX (file->n_params, 1) * sizeof (float));
}

void
lam_project_file_set_snapshots (LamProjectFile *file, int n, const int *epochs,
                                const float *const *params)
{
  g_return_if_fail (file != NULL && n >= 0);
  g_return_if_fail (n == 0 || (file->params != NULL && epochs != NULL && params != NULL));
  for (int i = 0; i < n; i++)
    g_return_if_fail (epochs[i] >= 1 && (i == 0 || epochs[i] > epochs[i - 1]));
  clear_snapshots (file);
  if (n == 0)
    return;
  file->snapshot_epochs = g_memdup2 (epochs, sizeof (int) * n);
  file->snapshots = g_new (float *, n);
  for (int i = 0; i < n; i++)
    file->snapshots[i] = g_memdup2 (params[i], MAX (file->n_params, 1) * sizeof (float));
  file->n_snapshots = n;
}

gboolean
lam_project_file_get_start (const LamProjectFile *file, LamTrainerStart *start)
{
  g_return_val_if_fail (file != NULL && start != NULL, FALSE);
  memset (start, 0, sizeof *start);
  if (!file->resumable || file->params == NULL)
    return FALSE;
  start->params = file->params;
  start->n_params = file->n_params;
  start->optimizer_state = (const float *const *) file->optimizer_state;
  start->n_optimizer_state = file->n_optimizer_state;
  start->epochs_done = file->epochs_done;
  start->batches_done = file->batches_done;
  start->step = file->step;
  return TRUE;
}

static char *
path_with_suffix (const char *path, const char *suffix)
{
  const char *dot = g_str_has_suffix (path, LAM_PROJECT_FILE_SUFFIX)
                      ? path + strlen (path) - strlen (LAM_PROJECT_FILE_SUFFIX)
                      : path + strlen (path);
  g_autofree char *base = g_strndup (path, dot - path);
  return g_strconcat (base, suffix, NULL);
}

char *
lam_project_file_weights_path (const char *path)
{
  return path_with_suffix (path, ".safetensors");
}

char *
lam_project_file_optimizer_path (const char *path)
{
  return path_with_suffix (path, ".optimizer.safetensors");
}

char *
lam_project_file_snapshots_path (const char *path)
{
  return path_with_suffix (path, ".snapshots.safetensors");
}

/* Writing */

static const char *const schedule_names[] = {
  [LAM_SCHEDULE_CONSTANT] = "constant",
  [LAM_SCHEDULE_STEP] = "step",
  [LAM_SCHEDULE_COSINE] = "cosine",
};

/* JSON has no NaN: a figure that was not measured is null. */
static void
add_number (JsonBuilder *b, const char *name, double value)
{
  json_builder_set_member_name (b, name);
  if (isfinite (value))
    json_builder_add_double_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_floats (JsonBuilder *b, const char *name, const float *values, int n)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++)
    json_builder_add_double_value (b, values[i]);
  json_builder_end_array (b);
}

static void
add_config (JsonBuilder *b, const LamTrainerConfig *c, const char *device)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "epochs");
  json_builder_add_int_value (b, c->epochs);
  json_builder_set_member_name (b, "batch_size");
  json_builder_add_int_value (b, c->batch_size);

  json_builder_set_member_name (b, "optimizer");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, lam_optimizer_kind_to_string (c->optimizer.kind));
  add_number (b, "lr", c->optimizer.lr);
  add_number (b, "momentum", c->optimizer.momentum);
  add_number (b, "dampening", c->optimizer.dampening);
  json_builder_set_member_name (b, "nesterov");
  json_builder_add_boolean_value (b, c->optimizer.nesterov);
  add_number (b, "weight_decay", c->optimizer.weight_decay);
  add_number (b, "l1", c->optimizer.l1);
  add_number (b, "beta1", c->optimizer.beta1);
  add_number (b, "beta2", c->optimizer.beta2);
  add_number (b, "eps", c->optimizer.eps);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "schedule");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, schedule_names[c->schedule.kind]);
  json_builder_set_member_name (b, "step_size");
  json_builder_add_int_value (b, c->schedule.step_size);
  add_number (b, "gamma", c->schedule.gamma);
  json_builder_set_member_name (b, "t_max");
  json_builder_add_int_value (b, c->schedule.t_max);
  add_number (b, "eta_min", c->schedule.eta_min);
  json_builder_end_object (b);

  add_number (b, "val_fraction", c->val_fraction);
  /* Seeds beyond int64 do not occur: the command line caps them there. */
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) c->seed);
  json_builder_set_member_name (b, "normalize_from_data");
  json_builder_add_boolean_value (b, c->normalize_from_data);
  add_floats (b, "mean", c->mean, 3);
  add_floats (b, "std", c->std, 3);
  json_builder_set_member_name (b, "crop_padding");
  json_builder_add_int_value (b, c->crop_padding);
  json_builder_set_member_name (b, "padding_mode");
  json_builder_add_string_value (b, lam_padding_mode_to_string (c->padding_mode));
  json_builder_set_member_name (b, "hflip");
  json_builder_add_boolean_value (b, c->hflip);
  json_builder_set_member_name (b, "evaluate_test");
  json_builder_add_boolean_value (b, c->evaluate_test);
  json_builder_set_member_name (b, "device");
  json_builder_add_string_value (b, device ? device : "auto");
  json_builder_end_object (b);
}

static void
add_run (JsonBuilder *b, const LamProjectRun *run)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "number");
  json_builder_add_int_value (b, run->number);
  json_builder_set_member_name (b, "settings");
  json_builder_add_string_value (b, run->settings);
  const char *const names[] = { "dataset", "model", "optimizer" };
  const char *const values[] = { run->dataset, run->model, run->optimizer };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    if (values[i] == NULL)
      continue;
    json_builder_set_member_name (b, names[i]);
    json_builder_add_string_value (b, values[i]);
  }
  if (run->color >= 0) {
    json_builder_set_member_name (b, "color");
    json_builder_add_int_value (b, run->color);
  }
  json_builder_set_member_name (b, "hidden");
  json_builder_add_boolean_value (b, run->hidden);
  json_builder_set_member_name (b, "task");
  json_builder_add_string_value (b, lam_task_to_string (run->task));
  add_number (b, "test_loss", run->test_loss);
  add_number (b, "test_accuracy", run->test_accuracy);
  /* Steps as [x, loss, accuracy] triples: thousands of them stay compact. */
  json_builder_set_member_name (b, "steps");
  json_builder_begin_array (b);
  for (guint i = 0; i < run->steps->len; i++) {
    const LamRunStep *p = &g_array_index (run->steps, LamRunStep, i);
    json_builder_begin_array (b);
    json_builder_add_double_value (b, p->x);
    if (isfinite (p->loss))
      json_builder_add_double_value (b, p->loss);
    else
      json_builder_add_null_value (b);
    if (isfinite (p->accuracy))
      json_builder_add_double_value (b, p->accuracy);
    else
      json_builder_add_null_value (b);
    json_builder_end_array (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "epochs");
  json_builder_begin_array (b);
  for (guint i = 0; i < run->epochs->len; i++) {
    const LamRunEpoch *e = &g_array_index (run->epochs, LamRunEpoch, i);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "epoch");
    json_builder_add_int_value (b, e->epoch);
    add_number (b, "train_loss", e->train_loss);
    add_number (b, "train_accuracy", e->train_accuracy);
    add_number (b, "val_loss", e->val_loss);
    add_number (b, "val_accuracy", e->val_accuracy);
    add_number (b, "seconds", e->seconds);
    add_number (b, "lr", e->lr);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  /* As [epoch, lr] pairs, like the steps. */
  json_builder_set_member_name (b, "lr_changes");
  json_builder_begin_array (b);
  for (guint i = 0; i < run->lr_changes->len; i++) {
    const LamRunLrChange *c = &g_array_index (run->lr_changes, LamRunLrChange, i);
    if (!isfinite (c->x) || !isfinite (c->lr))
      continue;
    json_builder_begin_array (b);
    json_builder_add_double_value (b, c->x);
    json_builder_add_double_value (b, c->lr);
    json_builder_end_array (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

/* JSON text of a node, pretty-printed. json-glib 1.6's generator writes
 * 1e-08 as "1e-08.0", which no parser reads back, so numbers are written
 * here; arrays of numbers stay on one line to keep step histories compact. */
static void
write_node (GString *s, JsonNode *node, int depth)
{
  switch (json_node_get_node_type (node)) {
  case JSON_NODE_NULL:
    g_string_append (s, "null");
    return;
  case JSON_NODE_VALUE: {
    GType type = json_node_get_value_type (node);
    if (type == G_TYPE_DOUBLE && !isfinite (json_node_get_double (node))) {
      g_string_append (s, "null");
    } else if (type == G_TYPE_DOUBLE) {
      char buffer[G_ASCII_DTOSTR_BUF_SIZE];
      g_ascii_dtostr (buffer, sizeof buffer, json_node_get_double (node));
      g_string_append (s, buffer);
      if (strpbrk (buffer, ".eE") == NULL)
        g_string_append (s, ".0");
    } else if (type == G_TYPE_INT64) {
      g_string_append_printf (s, "%" G_GINT64_FORMAT, json_node_get_int (node));
    } else if (type == G_TYPE_BOOLEAN) {
      g_string_append (s, json_node_get_boolean (node) ? "true" : "false");
    } else {
      lam_json_append_string (s, json_node_get_string (node));
    }
    return;
  }
  case JSON_NODE_ARRAY: {
    JsonArray *array = json_node_get_array (node);
    guint n = json_array_get_length (array);
    gboolean flat = TRUE;
    for (guint i = 0; i < n && flat; i++) {
      JsonNode *e = json_array_get_element (array, i);
      flat = JSON_NODE_HOLDS_VALUE (e) || JSON_NODE_HOLDS_NULL (e);
    }
    g_string_append_c (s, '[');
    for (guint i = 0; i < n; i++) {
      if (i > 0)
        g_string_append_c (s, ',');
      if (flat && i > 0)
        g_string_append_c (s, ' ');
      else if (!flat)
        g_string_append_printf (s, "\n%*s", (depth + 1) * 2, "");
      write_node (s, json_array_get_element (array, i), depth + 1);
    }
    if (!flat && n > 0)
      g_string_append_printf (s, "\n%*s", depth * 2, "");
    g_string_append_c (s, ']');
    return;
  }
  case JSON_NODE_OBJECT: {
    JsonObject *obj = json_node_get_object (node);
    g_autoptr (GList) members = json_object_get_members (obj);
    g_string_append_c (s, '{');
    for (GList *l = members; l != NULL; l = l->next) {
      g_autoptr (JsonNode) key = json_node_new (JSON_NODE_VALUE);
      json_node_set_string (key, l->data);
      g_autofree char *quoted = json_to_string (key, FALSE);
      g_string_append_printf (s, "%s\n%*s%s : ", l == members ? "" : ",", (depth + 1) * 2, "",
                              quoted);
      write_node (s, json_object_get_member (obj, l->data), depth + 1);
    }
    if (members != NULL)
      g_string_append_printf (s, "\n%*s", depth * 2, "");
    g_string_append_c (s, '}');
    return;
  }
  default:
    g_assert_not_reached ();
  }
}

static char *
project_json (const LamProjectFile *file, const char *save_id, const char *weights_name,
              const char *optimizer_name, const char *snapshots_name, GError **error)
{
  g_autofree char *spec_text = lam_model_spec_to_json (file->spec);
  g_autoptr (JsonParser) spec_parser = json_parser_new ();
  if (!json_parser_load_from_data (spec_parser, spec_text, -1, error))
    return NULL;

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, LAM_PROJECT_FILE_FORMAT);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, LAM_PROJECT_FILE_VERSION);
  json_builder_set_member_name (b, "lamina_version");
  json_builder_add_string_value (b, LAMINA_VERSION);
  json_builder_set_member_name (b, "save_id");
  json_builder_add_string_value (b, save_id);
  json_builder_set_member_name (b, "model");
  json_builder_add_value (b, json_node_copy (json_parser_get_root (spec_parser)));
  json_builder_set_member_name (b, "training");
  add_config (b, &file->config, file->device);
  json_builder_set_member_name (b, "lesson");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "normalize_by_data");
  json_builder_add_boolean_value (b, file->normalize_by_data);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "dataset");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "dir");
  g_autofree char *dir_shown = file->dataset_dir ? g_utf8_make_valid (file->dataset_dir, -1) : NULL;
  if (dir_shown)
    json_builder_add_string_value (b, dir_shown);
  else
    json_builder_add_null_value (b);
  g_autofree char *dir_uri = lam_file_path_to_uri (file->dataset_dir);
  if (dir_uri != NULL) {
    json_builder_set_member_name (b, "dir_uri");
    json_builder_add_string_value (b, dir_uri);
  }
  json_builder_set_member_name (b, "name");
  if (file->dataset_name)
    json_builder_add_string_value (b, file->dataset_name);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "weights");
  if (weights_name != NULL) {
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "file");
    json_builder_add_string_value (b, weights_name);
    json_builder_set_member_name (b, "parameters");
    json_builder_add_int_value (b, (gint64) file->n_params);
    add_floats (b, "mean", file->mean, file->n_channels);
    add_floats (b, "std", file->std, file->n_channels);
    /* The epochs are repeated here so that a load can hold the file to
     * them, as it holds the weights to "parameters". */
    if (snapshots_name != NULL) {
      json_builder_set_member_name (b, "snapshots");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "file");
      json_builder_add_string_value (b, snapshots_name);
      json_builder_set_member_name (b, "epochs");
      json_builder_begin_array (b);
      for (int i = 0; i < file->n_snapshots; i++)
        json_builder_add_int_value (b, file->snapshot_epochs[i]);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
    json_builder_end_object (b);
  } else {
    json_builder_add_null_value (b);
  }

  json_builder_set_member_name (b, "resume");
  if (weights_name != NULL && file->resumable) {
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "epochs_done");
    json_builder_add_int_value (b, file->epochs_done);
    json_builder_set_member_name (b, "batches_done");
    json_builder_add_int_value (b, file->batches_done);
    json_builder_set_member_name (b, "step");
    json_builder_add_int_value (b, file->step);
    json_builder_set_member_name (b, "optimizer_file");
    if (optimizer_name != NULL)
      json_builder_add_string_value (b, optimizer_name);
    else
      json_builder_add_null_value (b);
    json_builder_end_object (b);
  } else {
    json_builder_add_null_value (b);
  }

  json_builder_set_member_name (b, "runs");
  json_builder_begin_array (b);
  for (guint i = 0; i < file->runs->len; i++)
    add_run (b, g_ptr_array_index (file->runs, i));
  json_builder_end_array (b);

  /* Each epoch's classes as 16-bit little-endian integers in base64: 10,000
   * test images take 27 kB an epoch instead of a long list of numbers. */
  if (file->n_history > 0) {
    json_builder_set_member_name (b, "predictions");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "images");
    json_builder_add_int_value (b, file->history_n_images);
    json_builder_set_member_name (b, "epochs");
    json_builder_begin_array (b);
    for (int e = 0; e < file->n_history; e++)
      json_builder_add_int_value (b, file->history_epochs[e]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "classes");
    json_builder_begin_array (b);
    g_autofree guint8 *bytes = g_new (guint8, 2 * (gsize) file->history_n_images);
    for (int e = 0; e < file->n_history; e++) {
      const gint32 *row = file->history_classes + (gsize) e * file->history_n_images;
      for (int i = 0; i < file->history_n_images; i++) {
        guint16 v = (guint16) CLAMP (row[i], 0, G_MAXINT16);
        bytes[2 * i] = v & 0xff;
        bytes[2 * i + 1] = v >> 8;
      }
      g_autofree char *text = g_base64_encode (bytes, 2 * (gsize) file->history_n_images);
      json_builder_add_string_value (b, text);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  GString *text = g_string_new (NULL);
  write_node (text, root, 0);
  g_string_append_c (text, '\n');
  return g_string_free (text, FALSE);
}

static gboolean
write_optimizer (const LamProjectFile *file, const char *path, const char *save_id,
                 GError **error)
{
  g_autoptr (GPtrArray) tensors = g_ptr_array_new_with_free_func (
    (GDestroyNotify) lam_named_tensor_free);
  for (int i = 0; i < file->n_optimizer_state; i++) {
    LamNamedTensor *t = g_new0 (LamNamedTensor, 1);
    t->name = g_strdup (lam_optimizer_config_get_state_name (&file->config.optimizer, i));
    t->rank = 1;
    t->dims[0] = (gint64) file->n_params;
    t->data = g_memdup2 (file->optimizer_state[i], MAX (file->n_params, 1) * sizeof (float));
    g_ptr_array_add (tensors, t);
  }
  g_autoptr (GHashTable) metadata = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_hash_table_insert (metadata, "lamina_save_id", g_strdup (save_id));
  g_hash_table_insert (metadata, "optimizer",
                       g_strdup (lam_optimizer_kind_to_string (file->config.optimizer.kind)));
  g_hash_table_insert (metadata, "step", g_strdup_printf ("%" G_GINT64_FORMAT, file->step));
  return lam_safetensors_write (path, tensors, metadata, error);
}

static char *
snapshot_name (int epoch)
{
  return g_strdup_printf ("epoch.%d", epoch);
}

/* A tensor whose data is borrowed from the project. */
static void
free_tensor_view (LamNamedTensor *tensor)
{
  g_free (tensor->name);
  g_free (tensor);
}

static gboolean
write_snapshots (const LamProjectFile *file, const char *path, const char *save_id,
                 GError **error)
{
  /* Borrowed, not copied: a long run's snapshots can be the largest thing
   * in memory, and the writer builds the whole file beside them. */
  g_autoptr (GPtrArray) tensors = g_ptr_array_new_with_free_func (
    (GDestroyNotify) free_tensor_view);
  for (int i = 0; i < file->n_snapshots; i++) {
    LamNamedTensor *t = g_new0 (LamNamedTensor, 1);
    t->name = snapshot_name (file->snapshot_epochs[i]);
    t->rank = 1;
    t->dims[0] = (gint64) file->n_params;
    t->data = file->snapshots[i];
    g_ptr_array_add (tensors, t);
  }
  g_autoptr (GHashTable) metadata = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_hash_table_insert (metadata, "lamina_save_id", g_strdup (save_id));
  return lam_safetensors_write (path, tensors, metadata, error);
}

static gboolean
as_project_error (GError **error, GError *local_error, const char *what)
{
  if (local_error == NULL)
    return TRUE;
  if (local_error->domain == LAM_PROJECT_FILE_ERROR) {
    g_propagate_error (error, local_error);
  } else {
    g_set_error (error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_IO, "%s%s", what,
                 local_error->message);
    g_error_free (local_error);
  }
  return FALSE;
}

LamCheckpointInfo *
lam_project_file_dup_checkpoint_info (const LamProjectFile *file)
{
  LamCheckpointInfo *info = g_new0 (LamCheckpointInfo, 1);
  info->spec = lam_model_spec_copy (file->spec);
  info->n_channels = file->n_channels;
  memcpy (info->mean, file->mean, sizeof info->mean);
  memcpy (info->std, file->std, sizeof info->std);
  info->dataset = g_strdup (file->dataset_dir);
  return info;
}

gboolean
lam_project_file_check_siblings (const char *path, GError **error)
{
  /* A project that is there owns the files beside it; the person chose
   * to replace it. */
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  char *(*sibling[]) (const char *) = { lam_project_file_weights_path,
                                        lam_project_file_optimizer_path,
                                        lam_project_file_snapshots_path };
  for (guint i = 0; i < G_N_ELEMENTS (sibling); i++) {
    g_autofree char *other = sibling[i](path);
    if (g_file_test (other, G_FILE_TEST_EXISTS)) {
      g_autofree char *shown = g_filename_display_name (other);
      g_set_error (error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_IO,
                   "%s is there already and is not this project's (a checkpoint saved under "
                   "that name?); the project would write its own over it: choose another name",
                   shown);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
lam_project_file_save (const LamProjectFile *file, const char *path, GError **error)
{
  g_return_val_if_fail (file != NULL && file->spec != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autoptr (GError) sibling_error = NULL;
  if (!lam_project_file_check_siblings (path, &sibling_error)) {
    g_set_error (error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_IO, "%s was not saved: %s",
                 path, sibling_error->message);
    return FALSE;
  }

  g_autofree char *save_id = g_uuid_string_random ();
  g_autofree char *weights_path = lam_project_file_weights_path (path);
  g_autofree char *optimizer_path = lam_project_file_optimizer_path (path);
  g_autofree char *snapshots_path = lam_project_file_snapshots_path (path);
  gboolean has_weights = file->params != NULL;
  gboolean has_optimizer = has_weights && file->resumable && file->n_optimizer_state > 0;
  gboolean has_snapshots = has_weights && file->n_snapshots > 0;

  g_autoptr (LamModelPlan) plan = NULL;
  if (has_weights) {
    g_autoptr (GError) plan_error = NULL;
    plan = lam_model_plan_new (file->spec, &plan_error);
    if (plan == NULL || plan->n_params != file->n_params) {
      g_set_error (error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_MISMATCH,
                   "cannot save %s: the weights (%" G_GSIZE_FORMAT " parameters) do not fit "
                   "the model%s%s", path, file->n_params, plan_error ? ": " : "",
                   plan_error ? plan_error->message : "");
      return FALSE;
    }
  }

  /* The fields are open to anyone: epochs out of order would make a
   * project its own loader refuses. */
  for (int i = 0; has_snapshots && i < file->n_snapshots; i++) {
    if (file->snapshot_epochs[i] < 1 ||
        (i > 0 && file->snapshot_epochs[i] <= file->snapshot_epochs[i - 1])) {
      g_set_error (error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_MISMATCH,
                   "cannot save %s: snapshot %d is of epoch %d; the epochs must rise from 1",
                   path, i, file->snapshot_epochs[i]);
      return FALSE;
    }
  }

  g_autofree char *weights_name = has_weights ? g_path_get_basename (weights_path) : NULL;
  g_autofree char *optimizer_name = has_optimizer ? g_path_get_basename (optimizer_path) : NULL;
  g_autofree char *snapshots_name = has_snapshots ? g_path_get_basename (snapshots_path) : NULL;
  GError *local_error = NULL;
  g_autofree char *json = project_json (file, save_id, weights_name, optimizer_name,
                                        snapshots_name, &local_error);
  if (json == NULL)
    return as_project_error (error, local_error, "cannot describe the model: ");

  /* A folder or device where a file must go would stop the save half-way:
   * refuse before anything is written. */
  const char *all_targets[] = { has_weights ? weights_path : NULL,
                                has_optimizer ? optimizer_path : NULL,
                                has_snapshots ? snapshots_path : NULL, path };
  for (guint i = 0; i < G_N_ELEMENTS (all_targets); i++) {
    g_autoptr (GError) target_error = NULL;
    if (all_targets[i] != NULL && !lam_file_check_replaceable (all_targets[i], &target_error)) {
      g_set_error (error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_IO,
                   "%s was not saved (the files already there are unchanged): %s", path,
                   target_error->message);
      return FALSE;
    }
  }

  /* One commit point: the weights, optimizer state and snapshots are
   * written whole under hidden names tagged with the new save id; then the
   * project file, which names that id, replaces the old one atomically;
   * only then do the new weights move into place. A save stopped before the project file is
   * replaced leaves the old project whole; one stopped after it leaves the
   * new project, whose loader finds its weights under the hidden names. */
  g_autofree char *staged_weights = has_weights ? lam_file_staged_path (weights_path, save_id)
                                                : NULL;
  g_autofree char *staged_optimizer = has_optimizer ? lam_file_staged_path (optimizer_path,
                                                                            save_id)
                                                    : NULL;
  g_autofree char *staged_snapshots = has_snapshots ? lam_file_staged_path (snapshots_path,
                                                                            save_id)
                                                    : NULL;
  gboolean ok = TRUE;
  if (has_weights) {
    LamCheckpointInfo info = {
      .spec = file->spec,
      .n_channels = file->n_channels,
      .dataset = file->dataset_dir,
    };
    memcpy (info.mean, file->mean, sizeof info.mean);
    memcpy (info.std, file->std, sizeof info.std);
    g_autoptr (GHashTable) extra = g_hash_table_new (g_str_hash, g_str_equal);
    g_hash_table_insert (extra, "lamina_save_id", save_id);
    ok = lam_checkpoint_save_weights (staged_weights, plan, &info, file->params, extra,
                                      &local_error);
  }
  if (ok && has_optimizer)
    ok = write_optimizer (file, staged_optimizer, save_id, &local_error);
  if (ok && has_snapshots)
    ok = write_snapshots (file, staged_snapshots, save_id, &local_error);
  if (ok)
    ok = replace_file (path, json, strlen (json), &local_error);
  if (!ok) {
    if (staged_weights != NULL)
      lam_file_discard (staged_weights);
    if (staged_optimizer != NULL)
      lam_file_discard (staged_optimizer);
    if (staged_snapshots != NULL)
      lam_file_discard (staged_snapshots);
    /* The messages name the hidden files; the user knows the real one. */
    g_autofree char *message = g_strdup (local_error->message);
    g_clear_error (&local_error);
    g_set_error (error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_IO,
                 "%s was not saved (the files already there are unchanged): %s", path, message);
    return FALSE;
  }

  /* Committed. A rename that fails here leaves the new weights under their
   * hidden names, where the loader looks for them. */
  if (has_weights && !lam_file_commit_staged (staged_weights, weights_path, &local_error))
    g_clear_error (&local_error);
  if (has_optimizer && !lam_file_commit_staged (staged_optimizer, optimizer_path, &local_error))
    g_clear_error (&local_error);
  if (has_snapshots && !lam_file_commit_staged (staged_snapshots, snapshots_path, &local_error))
    g_clear_error (&local_error);
  /* An earlier save's snapshots would only be clutter now: the project
   * names none. Removed no sooner, as until the commit point the old
   * project still names them; lam_file_discard, as after a simulated crash
   * nothing more may happen. */
  if (!has_snapshots && g_file_test (snapshots_path, G_FILE_TEST_IS_REGULAR))
    lam_file_discard (snapshots_path);
  lam_file_remove_leftovers (path, NULL);
  lam_file_remove_leftovers (weights_path, save_id);
  lam_file_remove_leftovers (optimizer_path, save_id);
  lam_file_remove_leftovers (snapshots_path, save_id);
  return TRUE;
}

/* Reading: every field is checked, and errors name the file and field. */

typedef struct
{
  const char *path;
  GError **error;
  /* The weights were NaN or infinite and the project opened without them. */
  gboolean weights_not_finite;
} Reader;

static gboolean read_history (Reader *r, LamProjectFile *file, JsonObject *obj);

static gboolean
fail (Reader *r, LamProjectFileError code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (Reader *r, LamProjectFileError code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (r->error, LAM_PROJECT_FILE_ERROR, code, "%s: %s", r->path, message);
  return FALSE;
}

static gboolean
wrong_type (Reader *r, const char *field, const char *expected, JsonNode *node)
{
  if (node == NULL)
    return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT, "\"%s\" is missing (expected %s)", field,
                 expected);
  return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT, "\"%s\" must be %s, found %s", field, expected,
               lam_json_node_describe (node));
}

static char *
field_name (const char *prefix, const char *name)
{
  return prefix && *prefix ? g_strconcat (prefix, ".", name, NULL) : g_strdup (name);
}

static JsonObject *
get_object (Reader *r, JsonObject *obj, const char *prefix, const char *name, gboolean nullable)
{
  g_autofree char *field = field_name (prefix, name);
  JsonNode *node = json_object_get_member (obj, name);
  if (nullable && node != NULL && JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
    wrong_type (r, field, nullable ? "an object or null" : "an object", node);
    return NULL;
  }
  return json_node_get_object (node);
}

static gboolean
is_number (JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  GType type = json_node_get_value_type (node);
  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

/* Which ends of get_double_between's interval are left out. */
typedef enum
{
  CLOSED = 0,
  OPEN_MIN = 1 << 0,
  OPEN_MAX = 1 << 1,
} Ends;

/* A number between min and max, each included unless ends leaves it out;
 * null reads as NAN when nullable. */
static gboolean
get_double_between (Reader *r, JsonObject *obj, const char *prefix, const char *name, double min,
                    double max, Ends ends, gboolean nullable, double *out)
{
  g_autofree char *field = field_name (prefix, name);
  JsonNode *node = json_object_get_member (obj, name);
  if (nullable && node != NULL && JSON_NODE_HOLDS_NULL (node)) {
    *out = NAN;
    return TRUE;
  }
  if (!is_number (node))
    return wrong_type (r, field, nullable ? "a number or null" : "a number", node);
  double value = json_node_get_double (node);
  gboolean above = ends & OPEN_MIN ? value > min : value >= min;
  gboolean below = ends & OPEN_MAX ? value < max : value <= max;
  if (!above || !below)
    return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT, "\"%s\" is %g; it must lie in %c%g, %g%c", field,
                 value, ends & OPEN_MIN ? '(' : '[', min, max, ends & OPEN_MAX ? ')' : ']');
  *out = value;
  return TRUE;
}

/* A number within [min, max]; null reads as NAN when nullable. */
static gboolean
get_double (Reader *r, JsonObject *obj, const char *prefix, const char *name, double min,
            double max, gboolean nullable, double *out)
{
  return get_double_between (r, obj, prefix, name, min, max, CLOSED, nullable, out);
}

static gboolean
get_int (Reader *r, JsonObject *obj, const char *prefix, const char *name, gint64 min, gint64 max,
         gint64 *out)
{
  g_autofree char *field = field_name (prefix, name);
  JsonNode *node = json_object_get_member (obj, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return wrong_type (r, field, "a whole number", node);
  gint64 value = json_node_get_int (node);
  if (value < min || value > max)
    return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                 "\"%s\" is %" G_GINT64_FORMAT "; it must lie in [%" G_GINT64_FORMAT
                 ", %" G_GINT64_FORMAT "]", field, value, min, max);
  *out = value;
  return TRUE;
}

static gboolean
get_bool (Reader *r, JsonObject *obj, const char *prefix, const char *name, gboolean *out)
{
  g_autofree char *field = field_name (prefix, name);
  JsonNode *node = json_object_get_member (obj, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return wrong_type (r, field, "true or false", node);
  *out = json_node_get_boolean (node);
  return TRUE;
}

/* A borrowed string; NULL for null when nullable. *ok is FALSE on error. */
static const char *
get_string (Reader *r, JsonObject *obj, const char *prefix, const char *name, gboolean nullable,
            gboolean *ok)
{
  g_autofree char *field = field_name (prefix, name);
  JsonNode *node = json_object_get_member (obj, name);
  *ok = TRUE;
  if (nullable && node != NULL && JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING) {
    *ok = wrong_type (r, field, nullable ? "a string or null" : "a string", node);
    return NULL;
  }
  return json_node_get_string (node);
}

/* A normalisation, obj's "mean" and "std": min_n to 3 numbers each, as
 * many of one as of the other, each channel's pair one the loader takes
 * (lam_normalization_is_valid), and with limit finite, within it. Errors
 * quote the number as the file has it: 1e39, not the infinity a float
 * makes of it. */
static gboolean
get_normalization (Reader *r, JsonObject *obj, const char *prefix, int min_n, double limit,
                   float *mean, float *std, int *n_out)
{
  const char *names[2] = { "mean", "std" };
  g_autofree char *mean_field = field_name (prefix, "mean");
  g_autofree char *std_field = field_name (prefix, "std");
  const char *fields[2] = { mean_field, std_field };
  double values[2][3];
  guint counts[2];
  for (int k = 0; k < 2; k++) {
    JsonNode *node = json_object_get_member (obj, names[k]);
    if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
      return wrong_type (r, fields[k], "an array of numbers", node);
    JsonArray *array = json_node_get_array (node);
    guint n = json_array_get_length (array);
    if ((int) n < min_n || n > 3)
      return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT, "\"%s\" holds %u numbers; expected %d to 3",
                   fields[k], n, min_n);
    for (guint i = 0; i < n; i++) {
      JsonNode *e = json_array_get_element (array, i);
      if (!is_number (e))
        return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT, "\"%s[%u]\" must be a number, found %s",
                     fields[k], i, lam_json_node_describe (e));
      values[k][i] = json_node_get_double (e);
    }
    counts[k] = n;
  }
  if (counts[0] != counts[1])
    return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT, "\"%s\" has %u numbers but \"%s\" has %u",
                 fields[0], counts[0], fields[1], counts[1]);
  for (guint c = 0; c < counts[0]; c++) {
    double m = values[0][c], v = values[1][c];
    if (!isfinite ((float) m) || fabs (m) > limit) {
      if (isfinite (limit))
        return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT, "\"%s[%u]\" is %g; it must lie in [%g, %g]",
                     fields[0], c, m, -limit, limit);
      return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                   "\"%s[%u]\" is %g; a mean must be a finite number", fields[0], c, m);
    }
    if (!lam_normalization_is_valid ((float) m, (float) v) || v > limit) {
      if (isfinite (limit))
        return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT, "\"%s[%u]\" is %g; it must lie in [%g, %g]",
                     fields[1], c, v, LAM_NORMALIZATION_MIN_STD, limit);
      return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                   "\"%s[%u]\" is %g; a standard deviation must be finite and at least %g "
                   "(above 0, so that 1/std is finite)",
                   fields[1], c, v, LAM_NORMALIZATION_MIN_STD);
    }
    mean[c] = (float) m;
    std[c] = (float) v;
  }
  if (n_out != NULL)
    *n_out = (int) counts[0];
  return TRUE;
}

static gboolean
read_config (Reader *r, JsonObject *t, LamTrainerConfig *c, char **device)
{
  const char *p = "training";
  gint64 i;
  gboolean ok;

  if (!get_int (r, t, p, "epochs", 1, 100000, &i))
    return FALSE;
  c->epochs = (int) i;
  if (!get_int (r, t, p, "batch_size", 1, 65536, &i))
    return FALSE;
  c->batch_size = (int) i;

  JsonObject *o = get_object (r, t, p, "optimizer", FALSE);
  if (o == NULL)
    return FALSE;
  const char *q = "training.optimizer";
  const char *kind = get_string (r, o, q, "kind", FALSE, &ok);
  if (!ok)
    return FALSE;
  if (!lam_optimizer_kind_from_string (kind, &c->optimizer.kind))
    return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                 "\"training.optimizer.kind\" is \"%s\"; expected sgd, adam or adamw", kind);
  /* lr, momentum and weight_decay as lamina train takes them. Adam's
   * betas and eps, which it has no options for, as far as the update
   * stays finite: a beta of 1 divides by 1 - beta^t = 0, and an eps of 0
   * makes the update of a weight whose gradient has stayed 0 (a dead
   * ReLU's) 0 / 0. Either trains to NaN weights. */
  if (!get_double_between (r, o, q, "lr", 0, 100, OPEN_MIN, FALSE, &c->optimizer.lr) ||
      !get_double (r, o, q, "momentum", 0, 0.9999, FALSE, &c->optimizer.momentum) ||
      !get_double (r, o, q, "dampening", 0, 1, FALSE, &c->optimizer.dampening) ||
      !get_bool (r, o, q, "nesterov", &c->optimizer.nesterov) ||
      !get_double (r, o, q, "weight_decay", 0, 10, FALSE, &c->optimizer.weight_decay) ||
      !get_double_between (r, o, q, "beta1", 0, 1, OPEN_MAX, FALSE, &c->optimizer.beta1) ||
      !get_double_between (r, o, q, "beta2", 0, 1, OPEN_MAX, FALSE, &c->optimizer.beta2) ||
      !get_double_between (r, o, q, "eps", 0, 1, OPEN_MIN, FALSE, &c->optimizer.eps))
    return FALSE;
  // Projects saved before the L1 penalty existed had none.
  c->optimizer.l1 = 0;
  if (json_object_has_member (o, "l1") &&
      !get_double (r, o, q, "l1", 0, 10, FALSE, &c->optimizer.l1))
    return FALSE;

  JsonObject *s = get_object (r, t, p, "schedule", FALSE);
  if (s == NULL)
    return FALSE;
  q = "training.schedule";
  kind = get_string (r, s, q, "kind", FALSE, &ok);
  if (!ok)
    return FALSE;
  gboolean found = FALSE;
  for (guint k = 0; k < G_N_ELEMENTS (schedule_names); k++)
    if (g_str_equal (kind, schedule_names[k])) {
      c->schedule.kind = (LamScheduleKind) k;
      found = TRUE;
    }
  if (!found)
    return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                 "\"training.schedule.kind\" is \"%s\"; expected constant, step or cosine", kind);
  /* Not the ranges of --schedule step:SIZE:GAMMA (SIZE from 1, GAMMA above
   * 0): the window saves a step schedule of size 0 and gamma 0 when Step
   * is chosen and its spin buttons left as they show (1 and 0.01, clamped
   * from the 0s its settings hold), and such a project must open. */
  if (!get_int (r, s, q, "step_size", 0, 100000, &i))
    return FALSE;
  c->schedule.step_size = (int) i;
  if (!get_double (r, s, q, "gamma", 0, 1, FALSE, &c->schedule.gamma))
    return FALSE;
  if (!get_int (r, s, q, "t_max", 0, 100000, &i))
    return FALSE;
  c->schedule.t_max = (int) i;
  if (!get_double (r, s, q, "eta_min", 0, 10, FALSE, &c->schedule.eta_min))
    return FALSE;

  if (!get_double (r, t, p, "val_fraction", 0, 0.99, FALSE, &c->val_fraction))
    return FALSE;
  if (!get_int (r, t, p, "seed", 0, LAM_TRAINER_MAX_SEED, &i))
    return FALSE;
  c->seed = (guint64) i;
  /* The range of lamina train --normalize MEAN/STD. */
  if (!get_bool (r, t, p, "normalize_from_data", &c->normalize_from_data) ||
      !get_normalization (r, t, p, 3, LAM_NORMALIZATION_MAX_SETTING, c->mean, c->std, NULL))
    return FALSE;
  if (!get_int (r, t, p, "crop_padding", 0, 64, &i))
    return FALSE;
  c->crop_padding = (int) i;
  /* Files from before the member padded their crops with zeros. */
  c->padding_mode = LAM_PADDING_ZERO;
  if (json_object_has_member (t, "padding_mode")) {
    const char *mode = get_string (r, t, p, "padding_mode", FALSE, &ok);
    if (!ok)
      return FALSE;
    if (!lam_padding_mode_from_string (mode, &c->padding_mode))
      return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                   "\"training.padding_mode\" is \"%s\"; expected zeros or reflect", mode);
  }
  if (!get_bool (r, t, p, "hflip", &c->hflip) ||
      !get_bool (r, t, p, "evaluate_test", &c->evaluate_test))
    return FALSE;
  const char *dev = get_string (r, t, p, "device", FALSE, &ok);
  if (!ok)
    return FALSE;
  if (!g_str_equal (dev, "auto") && !g_str_equal (dev, "cpu") && !g_str_equal (dev, "cuda"))
    return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                 "\"training.device\" is \"%s\"; expected auto, cpu or cuda", dev);
  g_free (*device);
  *device = g_strdup (dev);
  return TRUE;
}

static gboolean
read_run (Reader *r, JsonNode *node, guint index, LamProjectRun **out)
{
  g_autofree char *p = g_strdup_printf ("runs[%u]", index);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return wrong_type (r, p, "an object", node);
  JsonObject *obj = json_node_get_object (node);
  gint64 number;
  gboolean ok;
  if (!get_int (r, obj, p, "number", 1, G_MAXINT, &number))
    return FALSE;
  const char *settings = get_string (r, obj, p, "settings", FALSE, &ok);
  if (!ok)
    return FALSE;
  g_autoptr (LamProjectRun) run = lam_project_run_new ((int) number, settings);
  /* What the run measured comes first: a regression's "accuracy" fields
   * hold its R², which falls below 0 for a fit worse than the mean (an
   * early epoch's often does), and the project did not open again. */
  gboolean has_task = json_object_has_member (obj, "task");
  if (has_task) {
    const char *task = get_string (r, obj, p, "task", FALSE, &ok);
    if (!ok)
      return FALSE;
    if (g_str_equal (task, "regression"))
      run->task = LAM_TASK_REGRESSION;
    else if (g_str_equal (task, "classification"))
      run->task = LAM_TASK_CLASSIFICATION;
    else {
      g_autofree char *field = field_name (p, "task");
      return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                   "\"%s\" is \"%s\"; expected classification or regression", field, task);
    }
  }
  double lowest = run->task == LAM_TASK_REGRESSION ? -G_MAXDOUBLE : 0;
  if (!get_double (r, obj, p, "test_loss", 0, G_MAXDOUBLE, TRUE, &run->test_loss) ||
      !get_double (r, obj, p, "test_accuracy", lowest, 1, TRUE, &run->test_accuracy))
    return FALSE;

  g_autofree char *steps_field = field_name (p, "steps");
  JsonNode *steps = json_object_get_member (obj, "steps");
  if (steps == NULL || !JSON_NODE_HOLDS_ARRAY (steps))
    return wrong_type (r, steps_field, "an array of [epoch, loss, accuracy] triples", steps);
  JsonArray *array = json_node_get_array (steps);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonNode *e = json_array_get_element (array, i);
    JsonArray *triple = JSON_NODE_HOLDS_ARRAY (e) ? json_node_get_array (e) : NULL;
    if (triple == NULL || json_array_get_length (triple) != 3 ||
        !is_number (json_array_get_element (triple, 0)))
      return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                   "\"%s[%u]\" must be an [epoch, loss, accuracy] triple of numbers",
                   steps_field, i);
    LamRunStep step = { json_array_get_double_element (triple, 0), NAN, NAN };
    for (guint k = 1; k < 3; k++) {
      JsonNode *v = json_array_get_element (triple, k);
      if (JSON_NODE_HOLDS_NULL (v))
        continue;
      if (!is_number (v))
        return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                     "\"%s[%u][%u]\" must be a number or null, found %s", steps_field, i, k,
                     lam_json_node_describe (v));
      if (k == 1)
        step.loss = json_node_get_double (v);
      else
        step.accuracy = json_node_get_double (v);
    }
    g_array_append_val (run->steps, step);
  }

  g_autofree char *epochs_field = field_name (p, "epochs");
  JsonNode *epochs = json_object_get_member (obj, "epochs");
  if (epochs == NULL || !JSON_NODE_HOLDS_ARRAY (epochs))
    return wrong_type (r, epochs_field, "an array of objects", epochs);
  array = json_node_get_array (epochs);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonNode *e = json_array_get_element (array, i);
    g_autofree char *q = g_strdup_printf ("%s[%u]", epochs_field, i);
    if (!JSON_NODE_HOLDS_OBJECT (e))
      return wrong_type (r, q, "an object", e);
    JsonObject *eo = json_node_get_object (e);
    LamRunEpoch row;
    gint64 epoch;
    if (!get_int (r, eo, q, "epoch", 1, 100000, &epoch) ||
        !get_double (r, eo, q, "train_loss", -G_MAXDOUBLE, G_MAXDOUBLE, TRUE, &row.train_loss) ||
        !get_double (r, eo, q, "train_accuracy", lowest, 1, TRUE, &row.train_accuracy) ||
        !get_double (r, eo, q, "val_loss", -G_MAXDOUBLE, G_MAXDOUBLE, TRUE, &row.val_loss) ||
        !get_double (r, eo, q, "val_accuracy", lowest, 1, TRUE, &row.val_accuracy) ||
        !get_double (r, eo, q, "seconds", 0, G_MAXDOUBLE, TRUE, &row.seconds) ||
        !get_double (r, eo, q, "lr", 0, G_MAXDOUBLE, TRUE, &row.lr))
      return FALSE;
    row.epoch = (int) epoch;
    g_array_append_val (run->epochs, row);
  }

  /* Fields a file written before them lacks; where present they are
   * checked like the rest. */
  const char *const names[] = { "dataset", "model", "optimizer" };
  char **values[] = { &run->dataset, &run->model, &run->optimizer };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    if (!json_object_has_member (obj, names[i]))
      continue;
    const char *text = get_string (r, obj, p, names[i], TRUE, &ok);
    if (!ok)
      return FALSE;
    *values[i] = g_strdup (text);
  }
  if (json_object_has_member (obj, "color")) {
    gint64 color;
    if (!get_int (r, obj, p, "color", 0, 255, &color))
      return FALSE;
    run->color = (int) color;
  }
  if (json_object_has_member (obj, "hidden") && !get_bool (r, obj, p, "hidden", &run->hidden))
    return FALSE;
  if (!has_task) {
    gboolean scored = FALSE;
    for (guint i = 0; i < run->steps->len; i++)
      scored = scored || !isnan (g_array_index (run->steps, LamRunStep, i).accuracy);
    run->task = run->steps->len > 0 && !scored ? LAM_TASK_REGRESSION : LAM_TASK_CLASSIFICATION;
  }
  if (json_object_has_member (obj, "lr_changes")) {
    g_autofree char *changes_field = field_name (p, "lr_changes");
    JsonNode *changes = json_object_get_member (obj, "lr_changes");
    if (!JSON_NODE_HOLDS_ARRAY (changes))
      return wrong_type (r, changes_field, "an array of [epoch, lr] pairs", changes);
    array = json_node_get_array (changes);
    for (guint i = 0; i < json_array_get_length (array); i++) {
      JsonNode *e = json_array_get_element (array, i);
      JsonArray *pair = JSON_NODE_HOLDS_ARRAY (e) ? json_node_get_array (e) : NULL;
      if (pair == NULL || json_array_get_length (pair) != 2 ||
          !is_number (json_array_get_element (pair, 0)) ||
          !is_number (json_array_get_element (pair, 1)))
        return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                     "\"%s[%u]\" must be an [epoch, lr] pair of numbers", changes_field, i);
      double x = json_array_get_double_element (pair, 0);
      double lr = json_array_get_double_element (pair, 1);
      if (!(x >= 0 && x <= 100000) || !(lr > 0 && lr <= 100))
        return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                     "\"%s[%u]\" is [%g, %g]; expected an epoch in [0, 100000] and a rate in "
                     "(0, 100]", changes_field, i, x, lr);
      lam_project_run_add_lr_change (run, x, lr);
    }
  }
  *out = g_steal_pointer (&run);
  return TRUE;
}

static void
add_note (LamProjectFile *file, const char *line)
{
  char *both = file->note ? g_strconcat (file->note, " ", line, NULL) : g_strdup (line);
  g_free (file->note);
  file->note = both;
}

/* Where the file a project names lies: in place, or, when a save stopped
 * after its commit point, still under the hidden name tagged with the
 * project's save id. Such a save is finished here when the folder allows
 * it; either way the project's note says what happened. */
static char *
saved_file_path (Reader *r, LamProjectFile *file, const char *path, const char *save_id)
{
  g_autofree char *staged = lam_file_staged_path (path, save_id);
  if (!g_file_test (staged, G_FILE_TEST_IS_REGULAR))
    return g_strdup (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *project = g_path_get_basename (r->path);
  g_autofree char *line = NULL;
  if (lam_file_commit_staged (staged, path, NULL)) {
    line = g_strdup_printf ("The last save of %s was interrupted after it was complete; %s was "
                            "moved into place.", project, base);
    g_clear_pointer (&staged, g_free);
  } else {
    line = g_strdup_printf ("The last save of %s was interrupted after it was complete; %s is "
                            "read from %s.", project, base, staged);
  }
  add_note (file, line);
  return staged != NULL ? g_steal_pointer (&staged) : g_strdup (path);
}

/* "weights.snapshots": the file and its epochs, all checked before any
 * file is read. *name is borrowed from w. */
static gboolean
read_snapshot_list (Reader *r, JsonObject *w, const char **name, GArray **epochs)
{
  JsonObject *o = get_object (r, w, "weights", "snapshots", FALSE);
  if (o == NULL)
    return FALSE;
  gboolean ok;
  *name = get_string (r, o, "weights.snapshots", "file", FALSE, &ok);
  if (!ok)
    return FALSE;
  if (strchr (*name, G_DIR_SEPARATOR) != NULL || g_str_equal (*name, "..") ||
      g_str_equal (*name, ".") || !**name)
    return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                 "\"weights.snapshots.file\" is \"%s\"; expected a file name beside the project",
                 *name);
  JsonNode *node = json_object_get_member (o, "epochs");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return wrong_type (r, "weights.snapshots.epochs", "an array of whole numbers", node);
  JsonArray *array = json_node_get_array (node);
  guint n = json_array_get_length (array);
  if (n == 0)
    return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                 "\"weights.snapshots.epochs\" is empty; a project without snapshots has no "
                 "\"weights.snapshots\"");
  g_autoptr (GArray) list = g_array_sized_new (FALSE, FALSE, sizeof (int), n);
  for (guint i = 0; i < n; i++) {
    JsonNode *e = json_array_get_element (array, i);
    gint64 epoch = 0;
    if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_INT64)
      epoch = json_node_get_int (e);
    if (epoch < 1 || epoch > G_MAXINT ||
        (i > 0 && epoch <= g_array_index (list, int, i - 1)))
      return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                   "weights.snapshots.epochs[%u] must be a whole number, 1 or more, above the "
                   "one before it", i);
    int value = (int) epoch;
    g_array_append_val (list, value);
  }
  *epochs = g_steal_pointer (&list);
  return TRUE;
}

/* The snapshots file, held to the epochs the project names and to its save
 * id. One that is missing is not worth refusing the project for: the
 * snapshots only let the Evaluate page look back, and everything else the
 * user made is there; the note says what went. */
static gboolean
read_snapshots (Reader *r, LamProjectFile *file, const char *name, GArray *epochs,
                const char *save_id)
{
  g_autofree char *dir = g_path_get_dirname (r->path);
  g_autofree char *named_path = g_build_filename (dir, name, NULL);
  g_autofree char *path = saved_file_path (r, file, named_path, save_id);
  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_autofree char *project = g_path_get_basename (r->path);
    g_autofree char *line = g_strdup_printf (
      "%s, the weights after each of the last run's epochs (%u saved), is missing; %s opened "
      "without them.", name, epochs->len, project);
    add_note (file, line);
    return TRUE;
  }
  g_autoptr (GHashTable) metadata = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GPtrArray) tensors = lam_safetensors_read (path, &metadata, &local_error);
  if (tensors == NULL) {
    g_set_error (r->error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_FORMAT, "%s",
                 local_error->message);
    return FALSE;
  }
  const char *id = metadata ? g_hash_table_lookup (metadata, "lamina_save_id") : NULL;
  if (id == NULL || !g_str_equal (id, save_id))
    return fail (r, LAM_PROJECT_FILE_ERROR_MISMATCH,
                 "%s was not written with this project (its save id is %s, the project's is "
                 "%s): the files come from different saves", path, id ? id : "missing", save_id);
  if (tensors->len != epochs->len)
    return fail (r, LAM_PROJECT_FILE_ERROR_MISMATCH,
                 "%s holds %u snapshots; \"weights.snapshots.epochs\" names %u", path,
                 tensors->len, epochs->len);
  g_autoptr (GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint j = 0; j < tensors->len; j++) {
    LamNamedTensor *t = g_ptr_array_index (tensors, j);
    g_hash_table_insert (by_name, t->name, t);
  }
  /* Checked whole before anything is taken, so a refused file leaves the
   * project as it was. */
  for (guint i = 0; i < epochs->len; i++) {
    int epoch = g_array_index (epochs, int, i);
    g_autofree char *want = snapshot_name (epoch);
    LamNamedTensor *t = g_hash_table_lookup (by_name, want);
    if (t == NULL)
      return fail (r, LAM_PROJECT_FILE_ERROR_MISMATCH,
                   "%s: tensor \"%s\" is missing; the project names a snapshot after epoch %d",
                   path, want, epoch);
    if (t->rank != 1 || t->dims[0] != (gint64) file->n_params)
      return fail (r, LAM_PROJECT_FILE_ERROR_MISMATCH,
                   "%s: tensor \"%s\" must be a vector of %" G_GSIZE_FORMAT
                   " floats, one per parameter", path, want, file->n_params);
  }
  /* Weights a diverging run once kept predict nothing: those epochs go,
   * the others stay to look back at. */
  file->snapshot_epochs = g_new (int, epochs->len);
  file->snapshots = g_new (float *, epochs->len);
  g_autoptr (GString) dropped = g_string_new (NULL);
  for (guint i = 0; i < epochs->len; i++) {
    int epoch = g_array_index (epochs, int, i);
    g_autofree char *want = snapshot_name (epoch);
    LamNamedTensor *t = g_hash_table_lookup (by_name, want);
    if (lam_count_not_finite (t->data, file->n_params, NULL) > 0) {
      g_string_append_printf (dropped, "%s%d", dropped->len ? ", " : "", epoch);
      continue;
    }
    file->snapshot_epochs[file->n_snapshots] = epoch;
    file->snapshots[file->n_snapshots++] = g_steal_pointer (&t->data);
  }
  if (dropped->len > 0) {
    g_autofree char *line = g_strdup_printf (
      "%s holds NaN or infinite weights after epoch %s (a run that diverged saved them); "
      "the Evaluate page cannot look back at %s.",
      name, dropped->str, strchr (dropped->str, ',') ? "those epochs" : "that epoch");
    add_note (file, line);
  }
  return TRUE;
}

/* The weights file named in the project, checked against the plan and the
 * save id. */
static gboolean
read_weights (Reader *r, LamProjectFile *file, const LamModelPlan *plan, JsonObject *w,
              const char *save_id)
{
  gboolean ok;
  const char *name = get_string (r, w, "weights", "file", FALSE, &ok);
  if (!ok)
    return FALSE;
  if (strchr (name, G_DIR_SEPARATOR) != NULL || g_str_equal (name, "..") || !*name)
    return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                 "\"weights.file\" is \"%s\"; expected a file name beside the project", name);
  gint64 count;
  if (!get_int (r, w, "weights", "parameters", 0, G_MAXINT64, &count))
    return FALSE;
  /* As a checkpoint's: a mean or std the loader refuses would leave
   * every prediction made with these weights meaningless. */
  if (!get_normalization (r, w, "weights", 0, INFINITY, file->mean, file->std, &file->n_channels))
    return FALSE;
  if ((gsize) count != plan->n_params)
    return fail (r, LAM_PROJECT_FILE_ERROR_MISMATCH,
                 "\"weights.parameters\" is %" G_GINT64_FORMAT " but the model has %"
                 G_GSIZE_FORMAT " parameters", count, plan->n_params);
  const char *snapshots_name = NULL;
  g_autoptr (GArray) snapshot_epochs = NULL;
  if (json_object_has_member (w, "snapshots") &&
      !read_snapshot_list (r, w, &snapshots_name, &snapshot_epochs))
    return FALSE;

  g_autofree char *dir = g_path_get_dirname (r->path);
  g_autofree char *named_path = g_build_filename (dir, name, NULL);
  g_autofree char *weights_path = saved_file_path (r, file, named_path, save_id);
  if (!g_file_test (weights_path, G_FILE_TEST_EXISTS))
    return fail (r, LAM_PROJECT_FILE_ERROR_IO,
                 "the weights file %s is missing; it must lie beside the project (saved with "
                 "it)", weights_path);
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GHashTable) metadata = NULL;
  if (!lam_checkpoint_load_weights (weights_path, plan, &file->params, &metadata, &local_error)) {
    /* The model, settings and history are the user's work and are sound;
     * only the weights are lost, and training makes them again. */
    if (g_error_matches (local_error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_NOT_FINITE)) {
      g_autofree char *project = g_path_get_basename (r->path);
      g_autofree char *line =
        g_strdup_printf ("%s. %s opened without its trained weights%s.", local_error->message,
                         project, snapshots_name != NULL ? " or those after each epoch" : "");
      add_note (file, line);
      r->weights_not_finite = TRUE;
      return TRUE;
    }
    gboolean mismatch = local_error->domain == LAM_CHECKPOINT_ERROR &&
                        local_error->code == LAM_CHECKPOINT_ERROR_MISMATCH;
    /* The checkpoint's message names the weights file and the tensor. */
    g_set_error (r->error, LAM_PROJECT_FILE_ERROR,
                 mismatch ? LAM_PROJECT_FILE_ERROR_MISMATCH : LAM_PROJECT_FILE_ERROR_FORMAT,
                 "%s%s", local_error->message,
                 mismatch ? " (the weights do not fit the project's model)" : "");
    return FALSE;
  }
  file->n_params = plan->n_params;
  const char *id = metadata ? g_hash_table_lookup (metadata, "lamina_save_id") : NULL;
  if (id == NULL || !g_str_equal (id, save_id))
    return fail (r, LAM_PROJECT_FILE_ERROR_MISMATCH,
                 "%s was not written with this project (its save id is %s, the project's is "
                 "%s): the files come from different saves", weights_path, id ? id : "missing",
                 save_id);
  return snapshots_name == NULL ||
         read_snapshots (r, file, snapshots_name, snapshot_epochs, save_id);
}

static gboolean
read_resume (Reader *r, LamProjectFile *file, JsonObject *o, const char *save_id)
{
  gint64 epochs_done, batches_done, step;
  gboolean ok;
  if (!get_int (r, o, "resume", "epochs_done", 0, 100000, &epochs_done) ||
      !get_int (r, o, "resume", "batches_done", 0, G_MAXINT, &batches_done) ||
      !get_int (r, o, "resume", "step", 0, G_MAXINT64, &step))
    return FALSE;
  const char *name = get_string (r, o, "resume", "optimizer_file", TRUE, &ok);
  if (!ok)
    return FALSE;
  int n_state = lam_optimizer_config_get_n_state (&file->config.optimizer);
  float *state[2] = { NULL, NULL };
  g_autoptr (GPtrArray) tensors = NULL;
  if (n_state > 0) {
    if (name == NULL)
      return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                   "\"resume.optimizer_file\" is null but %s keeps %d state buffers",
                   lam_optimizer_kind_to_string (file->config.optimizer.kind), n_state);
    if (strchr (name, G_DIR_SEPARATOR) != NULL || g_str_equal (name, "..") ||
        g_str_equal (name, ".") || !*name)
      return fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
                   "\"resume.optimizer_file\" is \"%s\"; expected a file name beside the "
                   "project", name);
    g_autofree char *dir = g_path_get_dirname (r->path);
    g_autofree char *named_path = g_build_filename (dir, name, NULL);
    g_autofree char *opt_path = saved_file_path (r, file, named_path, save_id);
    if (!g_file_test (opt_path, G_FILE_TEST_EXISTS))
      return fail (r, LAM_PROJECT_FILE_ERROR_IO,
                   "the optimizer state %s is missing; it must lie beside the project",
                   opt_path);
    g_autoptr (GHashTable) metadata = NULL;
    g_autoptr (GError) local_error = NULL;
    tensors = lam_safetensors_read (opt_path, &metadata, &local_error);
    if (tensors == NULL) {
      g_set_error (r->error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_FORMAT, "%s",
                   local_error->message);
      return FALSE;
    }
    const char *id = metadata ? g_hash_table_lookup (metadata, "lamina_save_id") : NULL;
    if (id == NULL || !g_str_equal (id, save_id)) {
      g_set_error (r->error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_MISMATCH,
                   "%s was not written with %s (save ids differ): the files come from different "
                   "saves", opt_path, r->path);
      return FALSE;
    }
    if ((int) tensors->len != n_state) {
      g_set_error (r->error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_MISMATCH,
                   "%s holds %u tensors; %s keeps %d (%s%s%s)", opt_path, tensors->len,
                   lam_optimizer_kind_to_string (file->config.optimizer.kind), n_state,
                   lam_optimizer_config_get_state_name (&file->config.optimizer, 0),
                   n_state > 1 ? ", " : "",
                   n_state > 1 ? lam_optimizer_config_get_state_name (&file->config.optimizer, 1)
                               : "");
      return FALSE;
    }
    for (int k = 0; k < n_state; k++) {
      const char *want = lam_optimizer_config_get_state_name (&file->config.optimizer, k);
      LamNamedTensor *found = NULL;
      for (guint j = 0; j < tensors->len; j++) {
        LamNamedTensor *t = g_ptr_array_index (tensors, j);
        if (g_str_equal (t->name, want))
          found = t;
      }
      if (found == NULL) {
        g_set_error (r->error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_MISMATCH,
                     "%s: tensor \"%s\" is missing; %s needs it", opt_path, want,
                     lam_optimizer_kind_to_string (file->config.optimizer.kind));
        return FALSE;
      }
      if (found->rank != 1 || found->dims[0] != (gint64) file->n_params) {
        g_set_error (r->error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_MISMATCH,
                     "%s: tensor \"%s\" must be a vector of %" G_GSIZE_FORMAT
                     " floats, one per parameter", opt_path, want, file->n_params);
        return FALSE;
      }
      gsize first;
      gsize bad = lam_count_not_finite (found->data, file->n_params, &first);
      if (bad > 0) {
        g_autofree char *project = g_path_get_basename (r->path);
        g_autofree char *which = lam_describe_not_finite (found->data, bad, first);
        g_autofree char *line = g_strdup_printf (
          "%s: tensor \"%s\" holds %s; %s opened with its weights, but its run cannot be "
          "continued, only trained again.",
          opt_path, want, which, project);
        add_note (file, line);
        return TRUE;
      }
      state[k] = found->data;
    }
  }
  lam_project_file_set_resume (file, (int) epochs_done, (int) batches_done, step,
                               (const float *const *) state, n_state);
  return TRUE;
}

/* A checkpoint of `lamina train --save` (its .json): the format before
 * projects. It has a spec, normalisation, a dataset and weights, but no
 * settings, history or optimizer state. */
static LamProjectFile *
load_checkpoint (const char *path, GError **error)
{
  g_autoptr (LamCheckpointInfo) info = NULL;
  g_autofree float *params = NULL;
  g_autoptr (GError) local_error = NULL;
  if (!lam_checkpoint_load (path, &info, &params, &local_error)) {
    g_set_error (error, LAM_PROJECT_FILE_ERROR,
                 local_error->code == LAM_CHECKPOINT_ERROR_MISMATCH
                   ? LAM_PROJECT_FILE_ERROR_MISMATCH
                   : LAM_PROJECT_FILE_ERROR_FORMAT,
                 "%s is a checkpoint of 'lamina train --save' that cannot be read: %s", path,
                 local_error->message);
    return NULL;
  }
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (info->spec, NULL);
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  file->version = 0;
  file->spec = lam_model_spec_copy (info->spec);
  file->dataset_dir = g_strdup (info->dataset);
  file->note = g_strdup (info->note);
  lam_project_file_set_weights (file, params, plan ? plan->n_params : 0, info->n_channels,
                                info->mean, info->std);
  if (info->n_channels > 0) {
    file->config.normalize_from_data = FALSE;
    for (int c = 0; c < 3; c++) {
      file->config.mean[c] = info->mean[MIN (c, info->n_channels - 1)];
      file->config.std[c] = info->std[MIN (c, info->n_channels - 1)];
    }
  }
  return g_steal_pointer (&file);
}

/* error is never NULL here: the checks below look at *error. */
static LamProjectFile *
load_project (const char *path, GError **error)
{
  Reader r = { path, error };
  /* The weights `lamina train --save m.safetensors` writes carry the model
   * too: a checkpoint, as its .json is. */
  if (g_str_has_suffix (path, ".safetensors"))
    return load_checkpoint (path, error);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  if (!g_file_get_contents (path, &contents, &length, &local_error)) {
    fail (&r, LAM_PROJECT_FILE_ERROR_IO, "cannot read the project: %s", local_error->message);
    return NULL;
  }
  /* Weights saved under any other name: a safetensors file opens with
   * its header's length and then the header, a JSON object. */
  if (length > 9 && contents[0] != '{' && contents[8] == '{')
    return load_checkpoint (path, error);
  if (!lam_json_load_data (parser, contents, (gssize) length, &local_error)) {
    /* Well-formed JSON with a number that cannot be read as written. */
    if (local_error->domain == LAM_JSON_NUMBER_ERROR)
      fail (&r, LAM_PROJECT_FILE_ERROR_FORMAT, "%s", local_error->message);
    else
      fail (&r, LAM_PROJECT_FILE_ERROR_FORMAT, "not a Lamina project: the JSON is malformed (%s)",
            local_error->message);
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    fail (&r, LAM_PROJECT_FILE_ERROR_FORMAT, "not a Lamina project: expected a JSON object, "
          "found %s", lam_json_node_describe (root));
    return NULL;
  }
  g_autofree char *bad_text = lam_json_find_bad_text (root);
  if (bad_text != NULL) {
    fail (&r, LAM_PROJECT_FILE_ERROR_FORMAT, "\"%s\" is not valid UTF-8 text", bad_text);
    return NULL;
  }
  JsonObject *obj = json_node_get_object (root);
  if (json_object_has_member (obj, "lamina_checkpoint") && !json_object_has_member (obj, "format"))
    return load_checkpoint (path, error);

  if (!json_object_has_member (obj, "format")) {
    fail (&r, LAM_PROJECT_FILE_ERROR_FORMAT, "not a Lamina project: the JSON has no \"format\": "
          "\"%s\"", LAM_PROJECT_FILE_FORMAT);
    return NULL;
  }
  gboolean ok;
  const char *format = get_string (&r, obj, NULL, "format", FALSE, &ok);
  if (!ok)
    return NULL;
  if (!g_str_equal (format, LAM_PROJECT_FILE_FORMAT)) {
    fail (&r, LAM_PROJECT_FILE_ERROR_FORMAT, "not a Lamina project: \"format\" is \"%s\", "
          "expected \"%s\"", format, LAM_PROJECT_FILE_FORMAT);
    return NULL;
  }
  gint64 version;
  if (!get_int (&r, obj, NULL, "version", G_MININT64, G_MAXINT64, &version))
    return NULL;
  if (version > LAM_PROJECT_FILE_VERSION) {
    const char *by = get_string (&r, obj, NULL, "lamina_version", TRUE, &ok);
    g_clear_error (error);
    fail (&r, LAM_PROJECT_FILE_ERROR_VERSION,
          "written by a newer Lamina%s%s%s (format %" G_GINT64_FORMAT "); this version reads up "
          "to %d", by ? " (" : "", by ? by : "", by ? ")" : "", version,
          LAM_PROJECT_FILE_VERSION);
    return NULL;
  }
  if (version < 1) {
    fail (&r, LAM_PROJECT_FILE_ERROR_VERSION,
          "format %" G_GINT64_FORMAT " does not exist: project formats start at 1", version);
    return NULL;
  }
  const char *save_id = get_string (&r, obj, NULL, "save_id", FALSE, &ok);
  if (!ok)
    return NULL;
  /* It names files beside the project: nothing but a UUID may. */
  if (!g_uuid_string_is_valid (save_id)) {
    fail (&r, LAM_PROJECT_FILE_ERROR_FORMAT, "\"save_id\" is \"%s\"; expected a UUID", save_id);
    return NULL;
  }

  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  file->version = (int) version;

  JsonNode *model = json_object_get_member (obj, "model");
  if (model == NULL || !JSON_NODE_HOLDS_OBJECT (model)) {
    wrong_type (&r, "model", "an object (the model spec)", model);
    return NULL;
  }
  g_autofree char *model_json = json_to_string (model, FALSE);
  file->spec = lam_model_spec_from_json (model_json, -1, &local_error);
  if (file->spec == NULL) {
    fail (&r, LAM_PROJECT_FILE_ERROR_FORMAT, "\"model\": %s", local_error->message);
    return NULL;
  }
  if (!file->spec->has_input) {
    fail (&r, LAM_PROJECT_FILE_ERROR_FORMAT, "\"model\" has no input shape");
    return NULL;
  }
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (file->spec, &local_error);
  if (plan == NULL) {
    fail (&r, LAM_PROJECT_FILE_ERROR_FORMAT, "\"model\" does not fit together: %s",
          local_error->message);
    return NULL;
  }

  JsonObject *training = get_object (&r, obj, NULL, "training", FALSE);
  if (training == NULL || !read_config (&r, training, &file->config, &file->device))
    return NULL;
  /* Files from before "lesson" normalise as their settings say. */
  file->normalize_by_data = file->config.normalize_from_data;
  if (json_object_has_member (obj, "lesson")) {
    JsonObject *lesson = get_object (&r, obj, NULL, "lesson", FALSE);
    if (lesson == NULL ||
        (json_object_has_member (lesson, "normalize_by_data") &&
         !get_bool (&r, lesson, "lesson", "normalize_by_data", &file->normalize_by_data)))
      return NULL;
  }

  JsonObject *dataset = get_object (&r, obj, NULL, "dataset", FALSE);
  if (dataset == NULL)
    return NULL;
  const char *dir = get_string (&r, dataset, "dataset", "dir", TRUE, &ok);
  if (!ok)
    return NULL;
  const char *name = get_string (&r, dataset, "dataset", "name", TRUE, &ok);
  if (!ok)
    return NULL;
  const char *dir_uri = json_object_has_member (dataset, "dir_uri")
                          ? get_string (&r, dataset, "dataset", "dir_uri", FALSE, &ok)
                          : NULL;
  if (!ok)
    return NULL;
  g_autoptr (GError) uri_error = NULL;
  file->dataset_dir = lam_file_path_from_stored (dir, dir_uri, &uri_error);
  if (dir_uri != NULL && file->dataset_dir == NULL) {
    fail (&r, LAM_PROJECT_FILE_ERROR_FORMAT, "\"dataset.dir_uri\": %s", uri_error->message);
    return NULL;
  }
  file->dataset_name = g_strdup (name);

  JsonNode *runs = json_object_get_member (obj, "runs");
  if (runs == NULL || !JSON_NODE_HOLDS_ARRAY (runs)) {
    wrong_type (&r, "runs", "an array", runs);
    return NULL;
  }
  JsonArray *array = json_node_get_array (runs);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    LamProjectRun *run = NULL;
    if (!read_run (&r, json_array_get_element (array, i), i, &run))
      return NULL;
    g_ptr_array_add (file->runs, run);
  }

  if (json_object_has_member (obj, "predictions") && !read_history (&r, file, obj))
    return NULL;

  if (!json_object_has_member (obj, "weights")) {
    wrong_type (&r, "weights", "an object or null", NULL);
    return NULL;
  }
  JsonObject *weights = get_object (&r, obj, NULL, "weights", TRUE);
  if (weights == NULL && *error != NULL)
    return NULL;
  if (weights != NULL && !read_weights (&r, file, plan, weights, save_id))
    return NULL;

  if (!json_object_has_member (obj, "resume")) {
    wrong_type (&r, "resume", "an object or null", NULL);
    return NULL;
  }
  JsonObject *resume = get_object (&r, obj, NULL, "resume", TRUE);
  if (resume == NULL && *error != NULL)
    return NULL;
  if (resume != NULL && !r.weights_not_finite) {
    if (file->params == NULL) {
      fail (&r, LAM_PROJECT_FILE_ERROR_FORMAT, "\"resume\" is set but there are no weights");
      return NULL;
    }
    if (!read_resume (&r, file, resume, save_id))
      return NULL;
  }
  /* What interrupted saves left: staging of other saves, temporary files. */
  g_autofree char *weights_path = lam_project_file_weights_path (path);
  g_autofree char *optimizer_path = lam_project_file_optimizer_path (path);
  g_autofree char *snapshots_path = lam_project_file_snapshots_path (path);
  lam_file_remove_leftovers (path, NULL);
  lam_file_remove_leftovers (weights_path, save_id);
  lam_file_remove_leftovers (optimizer_path, save_id);
  lam_file_remove_leftovers (snapshots_path, save_id);
  return g_steal_pointer (&file);
}

/* The optional prediction history; every field is checked before use. */
static gboolean
read_history (Reader *r, LamProjectFile *file, JsonObject *obj)
{
  JsonObject *h = get_object (r, obj, NULL, "predictions", FALSE);
  gint64 n_images;
  if (h == NULL || !get_int (r, h, "predictions", "images", 1, 100000000, &n_images))
    return FALSE;
  JsonNode *epochs_node = json_object_get_member (h, "epochs");
  JsonNode *classes_node = json_object_get_member (h, "classes");
  if (epochs_node == NULL || !JSON_NODE_HOLDS_ARRAY (epochs_node))
    return wrong_type (r, "predictions.epochs", "an array", epochs_node);
  if (classes_node == NULL || !JSON_NODE_HOLDS_ARRAY (classes_node))
    return wrong_type (r, "predictions.classes", "an array", classes_node);
  JsonArray *epochs = json_node_get_array (epochs_node);
  JsonArray *classes = json_node_get_array (classes_node);
  guint n = json_array_get_length (epochs);
  if (json_array_get_length (classes) != n || n > 100000) {
    fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
          "\"predictions\" has %u epochs but %u rows of classes", n,
          json_array_get_length (classes));
    return FALSE;
  }
  /* The claimed size is checked against the text that is there before
   * anything of that size is allocated. */
  gsize want_chars = 4 * (((gsize) 2 * n_images + 2) / 3);
  for (guint e = 0; e < n; e++) {
    JsonNode *cn = json_array_get_element (classes, e);
    const char *text = cn != NULL && JSON_NODE_HOLDS_VALUE (cn) &&
                           json_node_get_value_type (cn) == G_TYPE_STRING
                         ? json_node_get_string (cn)
                         : NULL;
    if (text == NULL || strlen (text) != want_chars) {
      fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
            "predictions.classes[%u] must be base64 of %" G_GINT64_FORMAT
            " 16-bit classes (%zu characters)",
            e, n_images, want_chars);
      return FALSE;
    }
  }
  g_autofree int *epoch_list = g_new (int, MAX (n, 1));
  g_autofree gint32 *rows = g_try_new (gint32, (gsize) MAX (n, 1) * (gsize) n_images);
  if (rows == NULL) {
    fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
          "\"predictions\" claims %u epochs of %" G_GINT64_FORMAT " images: too many", n,
          n_images);
    return FALSE;
  }
  for (guint e = 0; e < n; e++) {
    JsonNode *en = json_array_get_element (epochs, e);
    gint64 epoch = -1;
    if (en != NULL && JSON_NODE_HOLDS_VALUE (en) && json_node_get_value_type (en) == G_TYPE_INT64)
      epoch = json_node_get_int (en);
    if (epoch < 0 || epoch > G_MAXINT || (e > 0 && epoch <= epoch_list[e - 1])) {
      fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
            "predictions.epochs[%u] must be a whole number, 0 or more, above the one before it",
            e);
      return FALSE;
    }
    epoch_list[e] = (int) epoch;
    JsonNode *cn = json_array_get_element (classes, e);
    const char *text = cn != NULL && JSON_NODE_HOLDS_VALUE (cn) &&
                           json_node_get_value_type (cn) == G_TYPE_STRING
                         ? json_node_get_string (cn)
                         : NULL;
    gsize length = 0;
    g_autofree guint8 *bytes = text != NULL ? g_base64_decode (text, &length) : NULL;
    if (text == NULL || length != 2 * (gsize) n_images) {
      fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
            "predictions.classes[%u] must be base64 of %" G_GINT64_FORMAT
            " 16-bit classes (%" G_GINT64_FORMAT " bytes), has %zu bytes",
            e, n_images, 2 * n_images, length);
      return FALSE;
    }
    for (gint64 i = 0; i < n_images; i++) {
      guint16 v = (guint16) (bytes[2 * i] | (bytes[2 * i + 1] << 8));
      if (v > G_MAXINT16) {
        fail (r, LAM_PROJECT_FILE_ERROR_FORMAT,
              "predictions.classes[%u]: image %" G_GINT64_FORMAT " has class %u", e, i, v);
        return FALSE;
      }
      rows[(gsize) e * n_images + i] = v;
    }
  }
  file->n_history = (int) n;
  file->history_n_images = (int) n_images;
  file->history_epochs = g_steal_pointer (&epoch_list);
  file->history_classes = g_steal_pointer (&rows);
  return TRUE;
}

LamProjectFile *
lam_project_file_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  GError *local_error = NULL;
  LamProjectFile *file = load_project (path, &local_error);
  if (file == NULL) {
    g_assert (local_error != NULL);
    g_propagate_error (error, local_error);
  }
  return file;
}
