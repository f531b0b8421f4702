#include "lam-train-page.h"

#include <math.h>

#include "lam-device.h"
#include "lam-project-file.h"
#include "lam-ui-util.h"

/* How many earlier runs stay overlaid, faded, behind the current one. */
#define MAX_KEPT_RUNS 3

/* Runs are kept as the project file stores them, so saving and opening
 * need no conversion. */
typedef LamProjectRun Run;

static void
run_free (Run *run)
{
  lam_project_run_free (run);
}

struct _LamTrainPage
{
  GtkWidget parent_instance;

  LamProject *project; /* owned */

  GtkWidget *root;
  GtkSpinButton *epochs_spin;
  GtkSpinButton *batch_spin;
  GtkDropDown *optimizer_dropdown;
  GtkSpinButton *lr_spin;
  GtkWidget *momentum_label;
  GtkSpinButton *momentum_spin;
  GtkSpinButton *val_spin;
  GtkSpinButton *seed_spin;
  GtkDropDown *device_dropdown;
  GtkCheckButton *continue_check;
  GtkButton *start_button;
  GtkWidget *hint_label;
  GtkRevealer *error_revealer;
  GtkLabel *error_label;
  GtkProgressBar *progress_bar;
  GtkLabel *progress_label;
  GtkLabel *test_label;
  GtkGrid *epoch_grid;
  GtkScale *smoothing_scale;
  GtkCheckButton *log_check;
  GtkCheckButton *overlay_check;
  LamChart *loss_chart;
  LamChart *accuracy_chart;
  GtkLabel *runs_label;

  GPtrArray *device_ids; /* of char*: "cpu", "cuda" */

  LamTrainState state;
  LamTrainer *trainer;  /* owned; kept after a run for its weights */
  LamBackend *backend;  /* owned; the trainer's */
  gint64 step;
  int epochs_done; /* in the current run */
  double last_x;        /* fractional epoch of the newest point */
  int epoch_rows;

  GQueue runs; /* of Run*, oldest first; the tail is the current run */
  /* Weights, optimizer state and position the current run can go on from
   * (its spec and config too): from the trainer when a run ends, or from an
   * opened project. NULL when there is none. */
  LamProjectFile *resume;
  gboolean loading_settings; /* widgets set from a project: not a user's edit */
  int next_run_number;
  guint series_train_loss, series_val_loss, series_train_accuracy, series_val_accuracy;
};

G_DEFINE_FINAL_TYPE (LamTrainPage, lam_train_page, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_PROJECT,
  PROP_STATE,
  PROP_STEP,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const GdkRGBA train_color = { 0.21f, 0.52f, 0.89f, 1.0f };
static const GdkRGBA val_color = { 0.90f, 0.38f, 0.0f, 1.0f };

static void update_actions (LamTrainPage *self);
static void publish_weights (LamTrainPage *self, int epochs_done);
static void capture_resume (LamTrainPage *self);
static void update_continue (LamTrainPage *self);
static gboolean same_spec (const LamModelSpec *a, const LamModelSpec *b);

static Run *
current_run (LamTrainPage *self)
{
  return g_queue_peek_tail (&self->runs);
}

static void
set_state (LamTrainPage *self, LamTrainState state)
{
  if (self->state == state)
    return;
  self->state = state;
  lam_project_set_training (self->project, state != LAM_TRAIN_STATE_IDLE);
  gtk_button_set_label (self->start_button, state == LAM_TRAIN_STATE_RUNNING ? "Pause"
                                            : state == LAM_TRAIN_STATE_PAUSED ? "Resume"
                                                                              : "Start");
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
show_error (LamTrainPage *self, const char *message)
{
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

gboolean
lam_train_page_can_start (LamTrainPage *self)
{
  return lam_project_get_has_dataset (self->project) &&
         lam_project_get_model_valid (self->project);
}

static void
update_hint (LamTrainPage *self)
{
  const char *hint = NULL;
  if (!lam_project_get_has_dataset (self->project))
    hint = lam_project_get_loading (self->project) ? "Loading the dataset…"
                                                   : "Open a dataset on the Data page first.";
  else if (!lam_project_get_model_valid (self->project))
    hint = "The model does not fit the data: fix the layer marked on the Model page.";
  gtk_label_set_text (GTK_LABEL (self->hint_label), hint ? hint : "");
  gtk_widget_set_visible (self->hint_label, hint != NULL);
}

static void
update_actions (LamTrainPage *self)
{
  gboolean idle = self->state == LAM_TRAIN_STATE_IDLE;
  gboolean can_start = lam_train_page_can_start (self);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.start-pause", !idle || can_start);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.step", !idle || can_start);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.stop", !idle);
  /* Settings apply to the next run; only the learning rate changes live. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->epochs_spin), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->batch_spin), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->optimizer_dropdown), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->momentum_spin), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->val_spin), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->seed_spin), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->device_dropdown), idle);
  update_hint (self);
}

static void
on_optimizer_changed (LamTrainPage *self)
{
  gboolean sgd = gtk_drop_down_get_selected (self->optimizer_dropdown) == 0;
  gtk_widget_set_visible (self->momentum_label, sgd);
  gtk_widget_set_visible (GTK_WIDGET (self->momentum_spin), sgd);
  /* Each optimizer's usual starting rate, as the tutorials use them. */
  if (self->state == LAM_TRAIN_STATE_IDLE)
    gtk_spin_button_set_value (self->lr_spin, sgd ? 0.01 : 0.001);
}

static void
add_run_series (LamTrainPage *self, Run *run, gboolean faded)
{
  LamChartSeriesFlags extra = faded ? LAM_CHART_SERIES_FADED : 0;
  g_autofree char *prefix = faded ? g_strdup_printf ("run %d ", run->number) : g_strdup ("");
  g_autofree char *train_name = g_strdup_printf ("%straining", prefix);
  g_autofree char *val_name = g_strdup_printf ("%svalidation", prefix);

  guint tl = lam_chart_add_series (self->loss_chart, train_name, &train_color,
                                   LAM_CHART_SERIES_SMOOTHED | extra);
  guint vl = lam_chart_add_series (self->loss_chart, val_name, &val_color,
                                   LAM_CHART_SERIES_POINTS | extra);
  guint ta = lam_chart_add_series (self->accuracy_chart, train_name, &train_color,
                                   LAM_CHART_SERIES_SMOOTHED | extra);
  guint va = lam_chart_add_series (self->accuracy_chart, val_name, &val_color,
                                   LAM_CHART_SERIES_POINTS | extra);
  for (guint i = 0; i < run->steps->len; i++) {
    const LamRunStep *p = &g_array_index (run->steps, LamRunStep, i);
    lam_chart_append (self->loss_chart, tl, p->x, p->loss);
    lam_chart_append (self->accuracy_chart, ta, p->x, p->accuracy);
  }
  for (guint i = 0; i < run->epochs->len; i++) {
    const LamRunEpoch *e = &g_array_index (run->epochs, LamRunEpoch, i);
    if (isnan (e->val_loss))
      continue;
    lam_chart_append (self->loss_chart, vl, e->epoch, e->val_loss);
    lam_chart_append (self->accuracy_chart, va, e->epoch, e->val_accuracy);
  }
  if (!faded) {
    self->series_train_loss = tl;
    self->series_val_loss = vl;
    self->series_train_accuracy = ta;
    self->series_val_accuracy = va;
  }
}

/* Redraws every kept run: earlier ones faded, the current one on top. */
static void
rebuild_charts (LamTrainPage *self)
{
  lam_chart_clear (self->loss_chart);
  lam_chart_clear (self->accuracy_chart);
  gboolean overlay = gtk_check_button_get_active (self->overlay_check);
  g_autoptr (GString) legend = g_string_new (NULL);
  for (GList *l = self->runs.head; l != NULL; l = l->next) {
    Run *run = l->data;
    gboolean is_current = l->next == NULL;
    if (!is_current && !overlay)
      continue;
    add_run_series (self, run, !is_current);
    g_string_append_printf (legend, "%sRun %d: %s", legend->len ? "   ·   " : "", run->number,
                            run->settings);
    if (!isnan (run->test_accuracy))
      g_string_append_printf (legend, ", test %.1f%%", run->test_accuracy * 100);
  }
  gtk_label_set_text (self->runs_label, legend->str);
}

static void
clear_epoch_table (LamTrainPage *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->epoch_grid))) != NULL)
    gtk_grid_remove (self->epoch_grid, child);
  const char *headers[] = { "Epoch", "Train loss", "Train acc", "Val loss", "Val acc", "Time" };
  for (guint i = 0; i < G_N_ELEMENTS (headers); i++) {
    GtkWidget *label = gtk_label_new (headers[i]);
    gtk_label_set_xalign (GTK_LABEL (label), i == 0 ? 0 : 1);
    gtk_widget_add_css_class (label, "heading");
    gtk_grid_attach (self->epoch_grid, label, i, 0, 1, 1);
  }
  self->epoch_rows = 0;
}

static void
add_epoch_row (LamTrainPage *self, const LamRunEpoch *event)
{
  char cells[6][32];
  g_snprintf (cells[0], 32, "%d", event->epoch);
  g_snprintf (cells[1], 32, "%.4f", event->train_loss);
  g_snprintf (cells[2], 32, "%.1f%%", event->train_accuracy * 100);
  if (isnan (event->val_loss)) {
    g_strlcpy (cells[3], "–", 32);
    g_strlcpy (cells[4], "–", 32);
  } else {
    g_snprintf (cells[3], 32, "%.4f", event->val_loss);
    g_snprintf (cells[4], 32, "%.1f%%", event->val_accuracy * 100);
  }
  g_snprintf (cells[5], 32, "%.1f s", event->seconds);
  self->epoch_rows++;
  for (int i = 0; i < 6; i++) {
    GtkWidget *label = gtk_label_new (cells[i]);
    gtk_label_set_xalign (GTK_LABEL (label), i == 0 ? 0 : 1);
    gtk_grid_attach (self->epoch_grid, label, i, self->epoch_rows, 1, 1);
  }
}


static void
update_progress (LamTrainPage *self, const LamTrainerEvent *event)
{
  double per_epoch = MAX (1, event->batches_per_epoch);
  double done = event->epoch * per_epoch + event->batch;
  double total = per_epoch * event->epochs;
  gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (done / total, 0, 1));

  double rate = event->samples_per_second;
  double seconds_per_batch = event->batch > 0 && isfinite (event->seconds)
                               ? event->seconds / event->batch
                               : NAN;
  g_autofree char *left = lam_ui_format_duration (seconds_per_batch * (total - done));
  g_autofree char *speed = lam_ui_format_count (isfinite (rate) ? (guint64) rate : 0);
  g_autofree char *text = g_strdup_printf (
    "Epoch %d of %d · batch %d of %d · step %" G_GINT64_FORMAT "\n%s images/s · %s left",
    event->epoch + 1, event->epochs, event->batch, event->batches_per_epoch, event->step, speed,
    left);
  gtk_label_set_text (self->progress_label, text);
}

static void
on_trainer_event (const LamTrainerEvent *event, gpointer user_data)
{
  LamTrainPage *self = LAM_TRAIN_PAGE (user_data);
  Run *run = current_run (self);

  switch (event->kind) {
  case LAM_TRAINER_EVENT_STARTED:
    gtk_label_set_text (self->progress_label, "Starting…");
    break;

  case LAM_TRAINER_EVENT_PROGRESS: {
    double x = event->epoch + (double) event->batch / MAX (1, event->batches_per_epoch);
    self->last_x = x;
    LamRunStep point = { x, event->loss, event->accuracy };
    g_array_append_val (run->steps, point);
    lam_chart_append (self->loss_chart, self->series_train_loss, x, event->loss);
    lam_chart_append (self->accuracy_chart, self->series_train_accuracy, x, event->accuracy);
    update_progress (self, event);
    self->step = event->step;
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STEP]);
    break;
  }

  case LAM_TRAINER_EVENT_EPOCH: {
    LamRunEpoch row = { event->epoch + 1, event->loss, event->accuracy, event->val_loss,
                        event->val_accuracy, event->seconds, event->lr };
    g_array_append_val (run->epochs, row);
    if (!isnan (event->val_loss)) {
      lam_chart_append (self->loss_chart, self->series_val_loss, event->epoch + 1,
                        event->val_loss);
      lam_chart_append (self->accuracy_chart, self->series_val_accuracy, event->epoch + 1,
                        event->val_accuracy);
    }
    add_epoch_row (self, &row);
    self->epochs_done = event->epoch + 1;
    publish_weights (self, self->epochs_done);
    break;
  }

  case LAM_TRAINER_EVENT_TEST: {
    run->test_accuracy = event->test_accuracy;
    run->test_loss = event->test_loss;
    const LamDataset *test = lam_project_get_test_set (self->project);
    g_autofree char *count = lam_ui_format_count (test != NULL ? (guint64) test->n : 0);
    g_autofree char *text = g_strdup_printf ("Test accuracy %.1f%% (loss %.3f) on %s test images",
                                             event->test_accuracy * 100, event->test_loss, count);
    gtk_label_set_text (self->test_label, text);
    gtk_widget_set_visible (GTK_WIDGET (self->test_label), TRUE);
    break;
  }

  case LAM_TRAINER_EVENT_PAUSED:
    if (self->state != LAM_TRAIN_STATE_IDLE)
      set_state (self, LAM_TRAIN_STATE_PAUSED);
    break;

  case LAM_TRAINER_EVENT_RESUMED:
    if (self->state != LAM_TRAIN_STATE_IDLE)
      set_state (self, LAM_TRAIN_STATE_RUNNING);
    break;

  case LAM_TRAINER_EVENT_LR_CHANGED: {
    g_autofree char *label = g_strdup_printf ("lr %g", event->lr);
    lam_chart_add_marker (self->loss_chart, self->last_x, label);
    lam_chart_add_marker (self->accuracy_chart, self->last_x, label);
    break;
  }

  case LAM_TRAINER_EVENT_DIVERGED:
    show_error (self, event->message);
    break;

  case LAM_TRAINER_EVENT_ERROR: {
    g_autofree char *text = g_strdup_printf ("Training stopped: %s", event->message);
    show_error (self, text);
    break;
  }

  case LAM_TRAINER_EVENT_FINISHED: {
    /* A stopped or diverged run still leaves weights worth inspecting. */
    if (event->stopped && event->step > 0)
      publish_weights (self, self->epochs_done);
    if (event->stopped && !gtk_revealer_get_reveal_child (self->error_revealer)) {
      g_autofree char *text =
        g_strdup_printf ("Stopped after %" G_GINT64_FORMAT " steps; the weights are kept.",
                         event->step);
      gtk_label_set_text (self->progress_label, text);
    } else if (!event->stopped) {
      gtk_progress_bar_set_fraction (self->progress_bar, 1);
      g_autofree char *text = g_strdup_printf ("Finished %d epoch%s in %.1f s", event->epochs,
                                               event->epochs == 1 ? "" : "s", event->seconds);
      gtk_label_set_text (self->progress_label, text);
    }
    capture_resume (self);
    set_state (self, LAM_TRAIN_STATE_IDLE);
    rebuild_charts (self);
    lam_project_set_modified (self->project, TRUE);
    break;
  }
  }
}

/* Hands the Evaluate page a copy of the weights as they are now. */
static void
publish_weights (LamTrainPage *self, int epochs_done)
{
  gsize n = 0;
  g_autofree float *params = lam_trainer_dup_params (self->trainer, &n);
  float mean[3], std[3];
  lam_trainer_get_normalization (self->trainer, mean, std);
  LamModel *model = lam_trainer_get_model (self->trainer);
  lam_project_set_weights (self->project, lam_model_get_spec (model), params, n, mean, std,
                           epochs_done);
}

static char *
describe_settings (const LamTrainerConfig *config, const LamModelSpec *spec)
{
  return lam_project_describe_settings (config, spec);
}

static void
read_settings (LamTrainPage *self, LamTrainerConfig *config)
{
  static const LamOptimizerKind kinds[] = { LAM_OPTIMIZER_SGD, LAM_OPTIMIZER_ADAM,
                                            LAM_OPTIMIZER_ADAMW };
  LamOptimizerConfig old = config->optimizer;
  guint selected = MIN (gtk_drop_down_get_selected (self->optimizer_dropdown), 2);
  /* Settings the page has no field for (Adam's betas, weight decay) stay
   * as an opened project set them. */
  config->optimizer = old.kind == kinds[selected] ? old
                                                  : lam_optimizer_config_default (kinds[selected]);
  config->optimizer.lr = gtk_spin_button_get_value (self->lr_spin);
  if (kinds[selected] == LAM_OPTIMIZER_SGD)
    config->optimizer.momentum = gtk_spin_button_get_value (self->momentum_spin);
  config->epochs = gtk_spin_button_get_value_as_int (self->epochs_spin);
  config->batch_size = gtk_spin_button_get_value_as_int (self->batch_spin);
  config->val_fraction = gtk_spin_button_get_value (self->val_spin);
  config->seed = (guint64) gtk_spin_button_get_value (self->seed_spin);
  /* The statistics the Data page shows, computed when the dataset loaded on
   * a worker thread; recomputing them here would stall the window at Start. */
  config->normalize_from_data = FALSE;
  lam_project_get_dataset_stats (self->project, config->mean, config->std);
  config->evaluate_test = TRUE;
}

/* After a run ends: what Start can continue from and Save keeps. */
static void
capture_resume (LamTrainPage *self)
{
  g_clear_pointer (&self->resume, lam_project_file_free);
  int epochs_done, batches_done;
  gint64 step;
  if (self->trainer == NULL ||
      !lam_trainer_get_position (self->trainer, &epochs_done, &batches_done, &step) ||
      step == 0) {
    update_continue (self);
    return;
  }
  LamModel *model = lam_trainer_get_model (self->trainer);
  LamProjectFile *resume = lam_project_file_new ();
  resume->spec = lam_model_spec_copy (lam_model_get_spec (model));
  resume->config = *lam_project_get_config (self->project);
  gsize n = 0;
  g_autofree float *params = lam_trainer_dup_params (self->trainer, &n);
  float mean[3], std[3];
  lam_trainer_get_normalization (self->trainer, mean, std);
  const LamDataset *train = lam_project_get_train_set (self->project);
  lam_project_file_set_weights (resume, params, n, train ? train->channels : 1, mean, std);
  LamOptimizer *optimizer = lam_trainer_get_optimizer (self->trainer);
  int n_state = lam_optimizer_get_n_state (optimizer);
  float *state[2] = { NULL, NULL };
  for (int i = 0; i < n_state; i++) {
    state[i] = g_new (float, MAX (n, 1));
    lam_optimizer_get_state (optimizer, i, state[i]);
  }
  lam_project_file_set_resume (resume, epochs_done, batches_done, step,
                               (const float *const *) state, n_state);
  for (int i = 0; i < n_state; i++)
    g_free (state[i]);
  self->resume = resume;
  update_continue (self);
}

/* The Continue check shows while there is a run to go on from. */
static void
update_continue (LamTrainPage *self)
{
  gboolean can = self->resume != NULL && self->resume->resumable;
  if (can) {
    g_autofree char *label = g_strdup_printf ("_Continue the last run from step %"
                                              G_GINT64_FORMAT " (epoch %d)", self->resume->step,
                                              self->resume->epochs_done + 1);
    gtk_check_button_set_label (self->continue_check, label);
  }
  gtk_widget_set_visible (GTK_WIDGET (self->continue_check), can);
}

gboolean
lam_train_page_get_continue (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), FALSE);
  return self->resume != NULL && self->resume->resumable &&
         gtk_check_button_get_active (self->continue_check);
}

void
lam_train_page_set_continue (LamTrainPage *self, gboolean continue_run)
{
  g_return_if_fail (LAM_IS_TRAIN_PAGE (self));
  gtk_check_button_set_active (self->continue_check, continue_run);
}

static gboolean
start_run (LamTrainPage *self, gboolean paused)
{
  g_autoptr (GError) error = NULL;
  if (!lam_train_page_can_start (self))
    return FALSE;

  /* Spin buttons hold typed text until they lose focus. */
  gtk_spin_button_update (self->lr_spin);
  gtk_spin_button_update (self->epochs_spin);
  gtk_spin_button_update (self->batch_spin);
  LamTrainerConfig *config = lam_project_get_config (self->project);
  read_settings (self, config);

  /* Continuing keeps what the saved run's arithmetic depends on (its
   * optimizer, batches, split, seed, normalisation); the Epochs setting
   * says how many more to train and the learning rate may change. */
  g_autoptr (LamProjectFile) resume = NULL;
  LamTrainerStart start = { 0 };
  if (lam_train_page_get_continue (self)) {
    resume = g_steal_pointer (&self->resume);
    double lr = config->optimizer.lr;
    int more = config->epochs;
    *config = resume->config;
    config->optimizer.lr = lr;
    config->epochs = MIN (resume->epochs_done + more, 100000);
    config->report_every = 0;
    lam_project_file_get_start (resume, &start);
  }

  g_clear_pointer (&self->trainer, lam_trainer_free);
  g_clear_pointer (&self->backend, lam_backend_free);
  show_error (self, NULL);

  guint device = gtk_drop_down_get_selected (self->device_dropdown);
  const char *device_id = device < self->device_ids->len
                            ? g_ptr_array_index (self->device_ids, device)
                            : "cpu";
  g_autofree char *note = NULL;
  self->backend = lam_device_open (device_id, &note, &error);
  if (self->backend == NULL) {
    g_autofree char *text = g_strdup_printf ("The device could not be used: %s", error->message);
    show_error (self, text);
    return FALSE;
  }
  self->trainer = lam_trainer_new (lam_project_get_spec (self->project),
                                   lam_project_get_train_set (self->project),
                                   lam_project_get_test_set (self->project), self->backend, config,
                                   &error);
  if (self->trainer != NULL && resume != NULL &&
      !lam_trainer_set_start (self->trainer, &start, &error))
    g_clear_pointer (&self->trainer, lam_trainer_free);
  if (self->trainer == NULL) {
    g_autofree char *text = g_strdup_printf ("Training cannot %s: %s",
                                             resume ? "continue" : "start", error->message);
    show_error (self, text);
    g_clear_pointer (&self->backend, lam_backend_free);
    /* The saved state stays for another try (fewer epochs, another device). */
    if (resume != NULL && self->resume == NULL)
      self->resume = g_steal_pointer (&resume);
    return FALSE;
  }

  if (resume != NULL && current_run (self) != NULL) {
    /* The same run goes on: its curves and epoch rows continue. */
    Run *run = current_run (self);
    run->test_loss = run->test_accuracy = NAN;
    self->step = start.step;
    self->epochs_done = start.epochs_done;
  } else {
    g_autofree char *settings = describe_settings (config, lam_project_get_spec (self->project));
    Run *run = lam_project_run_new (++self->next_run_number, settings);
    g_queue_push_tail (&self->runs, run);
    while (g_queue_get_length (&self->runs) > MAX_KEPT_RUNS)
      run_free (g_queue_pop_head (&self->runs));
    self->step = 0;
    self->epochs_done = 0;
    clear_epoch_table (self);
  }
  g_clear_pointer (&self->resume, lam_project_file_free);
  self->last_x = 0;
  rebuild_charts (self);
  update_continue (self);
  gtk_widget_set_visible (GTK_WIDGET (self->test_label), FALSE);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);

  lam_project_begin_run (self->project);
  lam_trainer_set_event_func (self->trainer, on_trainer_event, self, NULL);
  set_state (self, paused ? LAM_TRAIN_STATE_PAUSED : LAM_TRAIN_STATE_RUNNING);
  lam_trainer_start (self->trainer, paused);
  return TRUE;
}

/* Saving and opening */

static const LamOptimizerKind optimizer_kinds[] = { LAM_OPTIMIZER_SGD, LAM_OPTIMIZER_ADAM,
                                                    LAM_OPTIMIZER_ADAMW };

void
lam_train_page_fill_project_file (LamTrainPage *self, LamProjectFile *file)
{
  g_return_if_fail (LAM_IS_TRAIN_PAGE (self));
  g_return_if_fail (file != NULL);

  gtk_spin_button_update (self->lr_spin);
  gtk_spin_button_update (self->epochs_spin);
  gtk_spin_button_update (self->batch_spin);
  read_settings (self, &file->config);
  file->config.report_every = 0;
  guint device = gtk_drop_down_get_selected (self->device_dropdown);
  g_free (file->device);
  file->device = g_strdup (device < self->device_ids->len
                             ? (const char *) g_ptr_array_index (self->device_ids, device)
                             : "cpu");
  g_ptr_array_set_size (file->runs, 0);
  for (GList *l = self->runs.head; l != NULL; l = l->next)
    g_ptr_array_add (file->runs, lam_project_run_copy (l->data));

  /* Weights that can continue, else the newest published ones (a run
   * that diverged keeps its last good weights but cannot continue). */
  lam_project_file_set_weights (file, NULL, 0, 0, NULL, NULL);
  if (self->resume != NULL && self->resume->params != NULL) {
    lam_project_file_set_weights (file, self->resume->params, self->resume->n_params,
                                  self->resume->n_channels, self->resume->mean,
                                  self->resume->std);
    if (self->resume->resumable) {
      lam_project_file_set_resume (file, self->resume->epochs_done, self->resume->batches_done,
                                   self->resume->step,
                                   (const float *const *) self->resume->optimizer_state,
                                   self->resume->n_optimizer_state);
      /* The settings the saved state belongs to. */
      LamTrainerConfig edited = file->config;
      file->config = self->resume->config;
      file->config.epochs = edited.epochs;
      file->config.optimizer.lr = edited.optimizer.lr;
      file->config.report_every = 0;
    }
  } else if (lam_project_get_weights_spec (self->project) != NULL &&
             same_spec (lam_project_get_weights_spec (self->project), file->spec)) {
    gsize n = 0;
    const float *params = lam_project_get_weights (self->project, &n);
    float mean[3], std[3];
    lam_project_get_weights_normalization (self->project, mean, std);
    const LamDataset *train = lam_project_get_train_set (self->project);
    lam_project_file_set_weights (file, params, n, train ? train->channels : 1, mean, std);
  }
}

void
lam_train_page_load_project_file (LamTrainPage *self, const LamProjectFile *file)
{
  g_return_if_fail (LAM_IS_TRAIN_PAGE (self));
  g_return_if_fail (file != NULL);
  g_return_if_fail (self->state == LAM_TRAIN_STATE_IDLE);

  g_clear_pointer (&self->trainer, lam_trainer_free);
  g_clear_pointer (&self->backend, lam_backend_free);
  show_error (self, NULL);

  self->loading_settings = TRUE;
  const LamTrainerConfig *c = &file->config;
  *lam_project_get_config (self->project) = *c;
  for (guint i = 0; i < G_N_ELEMENTS (optimizer_kinds); i++)
    if (optimizer_kinds[i] == c->optimizer.kind)
      gtk_drop_down_set_selected (self->optimizer_dropdown, i);
  /* After the optimizer: choosing one resets the rate to its usual value. */
  gtk_spin_button_set_value (self->lr_spin, c->optimizer.lr);
  gtk_spin_button_set_value (self->momentum_spin, c->optimizer.momentum);
  gtk_spin_button_set_value (self->epochs_spin, c->epochs);
  gtk_spin_button_set_value (self->batch_spin, c->batch_size);
  gtk_spin_button_set_value (self->val_spin, c->val_fraction);
  gtk_spin_button_set_value (self->seed_spin, (double) c->seed);
  for (guint i = 0; i < self->device_ids->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->device_ids, i), file->device) == 0)
      gtk_drop_down_set_selected (self->device_dropdown, i);
  self->loading_settings = FALSE;

  g_queue_clear_full (&self->runs, (GDestroyNotify) run_free);
  self->next_run_number = 0;
  guint first = file->runs->len > MAX_KEPT_RUNS ? file->runs->len - MAX_KEPT_RUNS : 0;
  for (guint i = first; i < file->runs->len; i++) {
    const LamProjectRun *run = g_ptr_array_index (file->runs, i);
    g_queue_push_tail (&self->runs, lam_project_run_copy (run));
    self->next_run_number = MAX (self->next_run_number, run->number);
  }

  clear_epoch_table (self);
  gtk_widget_set_visible (GTK_WIDGET (self->test_label), FALSE);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_label_set_text (self->progress_label, "");
  Run *run = current_run (self);
  if (run != NULL) {
    for (guint i = 0; i < run->epochs->len; i++)
      add_epoch_row (self, &g_array_index (run->epochs, LamRunEpoch, i));
    if (!isnan (run->test_accuracy)) {
      g_autofree char *text = g_strdup_printf ("Test accuracy %.1f%% (loss %.3f), as saved",
                                               run->test_accuracy * 100, run->test_loss);
      gtk_label_set_text (self->test_label, text);
      gtk_widget_set_visible (GTK_WIDGET (self->test_label), TRUE);
    }
  }
  self->step = file->resumable ? file->step : 0;
  self->epochs_done = file->resumable ? file->epochs_done : 0;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STEP]);

  g_clear_pointer (&self->resume, lam_project_file_free);
  if (file->params != NULL) {
    self->resume = lam_project_file_new ();
    self->resume->spec = lam_model_spec_copy (file->spec);
    self->resume->config = file->config;
    lam_project_file_set_weights (self->resume, file->params, file->n_params, file->n_channels,
                                  file->mean, file->std);
    if (file->resumable)
      lam_project_file_set_resume (self->resume, file->epochs_done, file->batches_done,
                                   file->step, (const float *const *) file->optimizer_state,
                                   file->n_optimizer_state);
  }
  if (file->resumable) {
    g_autofree char *text = g_strdup_printf ("Saved after %d epoch%s (step %" G_GINT64_FORMAT
                                             "): Start continues it.", file->epochs_done,
                                             file->epochs_done == 1 ? "" : "s", file->step);
    gtk_label_set_text (self->progress_label, text);
  }
  gtk_check_button_set_active (self->continue_check, file->resumable);
  update_continue (self);
  rebuild_charts (self);
  update_actions (self);
}

const LamProjectRun *
lam_train_page_get_current_run (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return current_run (self);
}

static void
on_setting_edited (LamTrainPage *self)
{
  if (!self->loading_settings)
    lam_project_set_modified (self->project, TRUE);
}

void
lam_train_page_start_or_pause (LamTrainPage *self)
{
  g_return_if_fail (LAM_IS_TRAIN_PAGE (self));
  switch (self->state) {
  case LAM_TRAIN_STATE_IDLE:
    start_run (self, FALSE);
    break;
  case LAM_TRAIN_STATE_RUNNING:
    lam_trainer_pause (self->trainer);
    break;
  case LAM_TRAIN_STATE_PAUSED:
    lam_trainer_resume (self->trainer);
    break;
  }
}

void
lam_train_page_step (LamTrainPage *self)
{
  g_return_if_fail (LAM_IS_TRAIN_PAGE (self));
  if (self->state == LAM_TRAIN_STATE_IDLE && !start_run (self, TRUE))
    return;
  /* The trainer decides, not the state shown here, which lags its events:
   * paused, one batch; running (or resumed a moment ago), a pause after the
   * batch in flight. */
  lam_trainer_step (self->trainer);
}

void
lam_train_page_stop (LamTrainPage *self)
{
  g_return_if_fail (LAM_IS_TRAIN_PAGE (self));
  if (self->trainer != NULL && self->state != LAM_TRAIN_STATE_IDLE)
    lam_trainer_stop (self->trainer);
}

void
lam_train_page_set_lr (LamTrainPage *self, double lr)
{
  gtk_spin_button_set_value (self->lr_spin, lr);
}

static void
on_lr_changed (LamTrainPage *self)
{
  if (self->trainer != NULL && self->state != LAM_TRAIN_STATE_IDLE)
    lam_trainer_set_lr (self->trainer, gtk_spin_button_get_value (self->lr_spin));
}

LamTrainState
lam_train_page_get_state (LamTrainPage *self)
{
  return self->state;
}

gint64
lam_train_page_get_step (LamTrainPage *self)
{
  return self->step;
}

GtkWidget *
lam_train_page_get_start_button (LamTrainPage *self)
{
  return GTK_WIDGET (self->start_button);
}

LamChart *
lam_train_page_get_loss_chart (LamTrainPage *self)
{
  return self->loss_chart;
}

LamChart *
lam_train_page_get_accuracy_chart (LamTrainPage *self)
{
  return self->accuracy_chart;
}

guint
lam_train_page_get_train_loss_series (LamTrainPage *self)
{
  return self->series_train_loss;
}

guint
lam_train_page_get_val_accuracy_series (LamTrainPage *self)
{
  return self->series_val_accuracy;
}

float *
lam_train_page_dup_params (LamTrainPage *self, gsize *n_params)
{
  if (self->trainer == NULL)
    return NULL;
  return lam_trainer_dup_params (self->trainer, n_params);
}

void
lam_train_page_set_presentation (LamTrainPage *self, gboolean presentation)
{
  double width = presentation ? 3.5 : 1.5;
  lam_chart_set_line_width (self->loss_chart, width);
  lam_chart_set_line_width (self->accuracy_chart, width);
}

static void
on_smoothing_changed (LamTrainPage *self)
{
  double smoothing = gtk_range_get_value (GTK_RANGE (self->smoothing_scale));
  lam_chart_set_smoothing (self->loss_chart, smoothing);
  lam_chart_set_smoothing (self->accuracy_chart, smoothing);
}

static void
on_log_toggled (LamTrainPage *self)
{
  lam_chart_set_log_y (self->loss_chart, gtk_check_button_get_active (self->log_check));
}

static void
on_overlay_toggled (LamTrainPage *self)
{
  rebuild_charts (self);
}

static gboolean
same_spec (const LamModelSpec *a, const LamModelSpec *b)
{
  g_autofree char *x = lam_model_spec_to_json (a);
  g_autofree char *y = lam_model_spec_to_json (b);
  return g_str_equal (x, y);
}

static void
on_project_changed (LamTrainPage *self)
{
  update_actions (self);
}

/* Weights of another model cannot continue once the stack is edited. */
static void
on_spec_changed (LamTrainPage *self)
{
  if (self->resume != NULL && self->resume->spec != NULL &&
      !same_spec (self->resume->spec, lam_project_get_spec (self->project))) {
    g_clear_pointer (&self->resume, lam_project_file_free);
    update_continue (self);
  }
}

static void
action_start_pause (GtkWidget *widget, const char *name, GVariant *parameter)
{
  lam_train_page_start_or_pause (LAM_TRAIN_PAGE (widget));
}

static void
action_step (GtkWidget *widget, const char *name, GVariant *parameter)
{
  lam_train_page_step (LAM_TRAIN_PAGE (widget));
}

static void
action_stop (GtkWidget *widget, const char *name, GVariant *parameter)
{
  lam_train_page_stop (LAM_TRAIN_PAGE (widget));
}

static void
fill_devices (LamTrainPage *self)
{
  g_autoptr (GtkStringList) names = gtk_string_list_new (NULL);
  LamBackend *cpu = lam_backend_cpu_new ();
  g_autofree char *cpu_name = g_strdup_printf ("%s", cpu->device_name);
  lam_backend_free (cpu);
  gtk_string_list_append (names, cpu_name);
  g_ptr_array_add (self->device_ids, g_strdup ("cpu"));

  g_autoptr (GError) error = NULL;
  LamBackend *cuda = lam_device_open ("cuda", NULL, &error);
  if (cuda != NULL) {
    g_autofree char *name = g_strdup_printf ("GPU: %s", cuda->device_name);
    lam_backend_free (cuda);
    gtk_string_list_append (names, name);
    g_ptr_array_add (self->device_ids, g_strdup ("cuda"));
    gtk_drop_down_set_model (self->device_dropdown, G_LIST_MODEL (names));
    /* "GPU if available": the GPU is the default when it answers, unless the
     * preferences ask for the CPU. */
    g_autoptr (GSettings) settings = lam_ui_settings_new ();
    g_autofree char *preferred = settings ? g_settings_get_string (settings, "default-device")
                                          : g_strdup ("auto");
    gtk_drop_down_set_selected (self->device_dropdown, g_str_equal (preferred, "cpu") ? 0 : 1);
  } else {
    gtk_drop_down_set_model (self->device_dropdown, G_LIST_MODEL (names));
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->device_dropdown), error->message);
  }
}

static void
lam_train_page_constructed (GObject *object)
{
  LamTrainPage *self = LAM_TRAIN_PAGE (object);
  G_OBJECT_CLASS (lam_train_page_parent_class)->constructed (object);

  g_signal_connect_object (self->project, "notify::model-valid", G_CALLBACK (on_project_changed),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->project, "notify::has-dataset", G_CALLBACK (on_project_changed),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->project, "notify::loading", G_CALLBACK (on_project_changed),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->project, "spec-changed", G_CALLBACK (on_spec_changed), self,
                           G_CONNECT_SWAPPED);

  LamTrainerConfig *config = lam_project_get_config (self->project);
  gtk_spin_button_set_value (self->epochs_spin, config->epochs);
  gtk_spin_button_set_value (self->batch_spin, config->batch_size);
  gtk_spin_button_set_value (self->val_spin, config->val_fraction);
  update_actions (self);
}

static void
lam_train_page_dispose (GObject *object)
{
  LamTrainPage *self = LAM_TRAIN_PAGE (object);
  /* Freeing the trainer stops and joins its thread first. */
  g_clear_pointer (&self->trainer, lam_trainer_free);
  g_clear_pointer (&self->backend, lam_backend_free);
  if (self->project != NULL && self->state != LAM_TRAIN_STATE_IDLE)
    lam_project_set_training (self->project, FALSE);
  g_queue_clear_full (&self->runs, (GDestroyNotify) run_free);
  g_clear_pointer (&self->resume, lam_project_file_free);
  g_clear_pointer (&self->root, gtk_widget_unparent);
  g_clear_object (&self->project);
  g_clear_pointer (&self->device_ids, g_ptr_array_unref);
  G_OBJECT_CLASS (lam_train_page_parent_class)->dispose (object);
}

static void
lam_train_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamTrainPage *self = LAM_TRAIN_PAGE (object);
  switch (prop_id) {
  case PROP_PROJECT:
    g_value_set_object (value, self->project);
    break;
  case PROP_STATE:
    g_value_set_int (value, self->state);
    break;
  case PROP_STEP:
    g_value_set_int64 (value, self->step);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_train_page_set_property (GObject *object, guint prop_id, const GValue *value,
                             GParamSpec *pspec)
{
  LamTrainPage *self = LAM_TRAIN_PAGE (object);
  switch (prop_id) {
  case PROP_PROJECT:
    self->project = g_value_dup_object (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_train_page_class_init (LamTrainPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = lam_train_page_constructed;
  object_class->dispose = lam_train_page_dispose;
  object_class->get_property = lam_train_page_get_property;
  object_class->set_property = lam_train_page_set_property;

  properties[PROP_PROJECT] =
    g_param_spec_object ("project", NULL, NULL, LAM_TYPE_PROJECT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL, LAM_TRAIN_STATE_IDLE, LAM_TRAIN_STATE_PAUSED,
                      LAM_TRAIN_STATE_IDLE,
                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STEP] =
    g_param_spec_int64 ("step", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (LAM_TYPE_CHART);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/lamina/Lamina/ui/lam-train-page.ui");
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, root);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, epochs_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, batch_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, optimizer_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, lr_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, momentum_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, momentum_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, val_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, seed_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, device_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, continue_check);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, start_button);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, hint_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, progress_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, test_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, epoch_grid);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, smoothing_scale);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, log_check);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, overlay_check);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, loss_chart);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, accuracy_chart);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, runs_label);

  gtk_widget_class_install_action (widget_class, "train.start-pause", NULL, action_start_pause);
  gtk_widget_class_install_action (widget_class, "train.step", NULL, action_step);
  gtk_widget_class_install_action (widget_class, "train.stop", NULL, action_stop);
}

static void
lam_train_page_init (LamTrainPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->device_ids = g_ptr_array_new_with_free_func (g_free);
  g_queue_init (&self->runs);

  lam_chart_set_title (self->loss_chart, "Loss");
  lam_chart_set_axis_labels (self->loss_chart, "epoch", "loss");
  lam_chart_set_title (self->accuracy_chart, "Accuracy");
  lam_chart_set_axis_labels (self->accuracy_chart, "epoch", "accuracy");
  lam_chart_set_y_format (self->accuracy_chart, LAM_CHART_FORMAT_PERCENT);
  lam_chart_set_y_limits (self->accuracy_chart, 0, 1);

  fill_devices (self);
  clear_epoch_table (self);
  on_optimizer_changed (self);
  on_smoothing_changed (self);

  g_signal_connect_swapped (self->optimizer_dropdown, "notify::selected",
                            G_CALLBACK (on_optimizer_changed), self);
  g_signal_connect_swapped (self->lr_spin, "value-changed", G_CALLBACK (on_lr_changed), self);
  GtkWidget *edited[] = { GTK_WIDGET (self->epochs_spin), GTK_WIDGET (self->batch_spin),
                          GTK_WIDGET (self->lr_spin), GTK_WIDGET (self->momentum_spin),
                          GTK_WIDGET (self->val_spin), GTK_WIDGET (self->seed_spin) };
  for (guint i = 0; i < G_N_ELEMENTS (edited); i++)
    g_signal_connect_swapped (edited[i], "value-changed", G_CALLBACK (on_setting_edited), self);
  g_signal_connect_swapped (self->optimizer_dropdown, "notify::selected",
                            G_CALLBACK (on_setting_edited), self);
  g_signal_connect_swapped (self->device_dropdown, "notify::selected",
                            G_CALLBACK (on_setting_edited), self);
  g_signal_connect_swapped (self->smoothing_scale, "value-changed",
                            G_CALLBACK (on_smoothing_changed), self);
  g_signal_connect_swapped (self->log_check, "toggled", G_CALLBACK (on_log_toggled), self);
  g_signal_connect_swapped (self->overlay_check, "toggled", G_CALLBACK (on_overlay_toggled),
                            self);
}

GtkWidget *
lam_train_page_new (LamProject *project)
{
  return g_object_new (LAM_TYPE_TRAIN_PAGE, "project", project, NULL);
}
