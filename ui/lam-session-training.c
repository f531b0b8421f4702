/* lam-session-training.c: the session's trainer, its runs, the actions
 * that drive them, and the lesson in and out of a project file. */
#include "lam-session-private.h"

#include <math.h>
#include <string.h>

#include "lam-device.h"
#include "lam-evaluation.h"

/* Long layer lists are shortened in run labels. */
#define MODEL_LABEL_CHARS 32

typedef LamProjectRun Run;

static void capture_resume (LamSession *self);
static void set_resume (LamSession *self, LamProjectFile *resume);

static Run *
current_run (LamSession *self)
{
  return g_queue_peek_tail (&self->runs);
}

static void
set_error (LamSession *self, const char *message)
{
  if (g_strcmp0 (self->error, message) == 0)
    return;
  g_free (self->error);
  self->error = g_strdup (message);
  lam_session_notify (self, LAM_SESSION_PROP_ERROR);
}

static void
set_state (LamSession *self, LamTrainState state)
{
  if (self->state == state)
    return;
  gboolean was_training = self->state != LAM_TRAIN_STATE_IDLE;
  self->state = state;
  lam_session_update_actions (self);
  lam_session_notify (self, LAM_SESSION_PROP_STATE);
  if (was_training != (state != LAM_TRAIN_STATE_IDLE))
    lam_session_notify (self, LAM_SESSION_PROP_TRAINING);
}

static void
set_step (LamSession *self, gint64 step)
{
  if (self->step == step)
    return;
  self->step = step;
  lam_session_notify (self, LAM_SESSION_PROP_STEP);
}

static void
runs_changed (LamSession *self)
{
  lam_session_update_actions (self);
  g_signal_emit (self, lam_session_signals[LAM_SESSION_SIGNAL_RUNS_CHANGED], 0);
}

gboolean
lam_session_can_start (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), FALSE);
  return !self->file_busy && lam_session_get_has_dataset (self) &&
         lam_session_get_model_valid (self);
}

void
lam_session_set_file_busy (LamSession *self, gboolean busy)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  self->file_busy = !!busy;
  lam_session_update_actions (self);
}

void
lam_session_update_actions (LamSession *self)
{
  gboolean idle = self->state == LAM_TRAIN_STATE_IDLE;
  gboolean can_start = lam_session_can_start (self);
  struct
  {
    const char *name;
    gboolean enabled;
  } states[] = {
    { "start-pause", !idle || can_start },
    { "start", self->state == LAM_TRAIN_STATE_PAUSED || (idle && can_start) },
    { "pause", self->state == LAM_TRAIN_STATE_RUNNING },
    { "step", !idle || can_start },
    { "stop", !idle },
    { "delete-run", g_queue_get_length (&self->runs) > 0 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (states); i++) {
    GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self->actions), states[i].name);
    g_simple_action_set_enabled (G_SIMPLE_ACTION (action), states[i].enabled);
  }
}

LamTrainState
lam_session_get_state (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), LAM_TRAIN_STATE_IDLE);
  return self->state;
}

gint64
lam_session_get_step (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), 0);
  return self->step;
}

const char *
lam_session_get_error (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), NULL);
  return self->error;
}

float *
lam_session_dup_params (LamSession *self, gsize *n_params)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), NULL);
  if (self->trainer == NULL)
    return NULL;
  return lam_trainer_dup_params (self->trainer, n_params);
}

/* Hands the evaluation a copy of the weights: an epoch's own (params),
 * else as they are now. */
static void
publish_weights (LamSession *self, int epochs_done, const float *epoch_params)
{
  gsize n = 0;
  g_autofree float *params = lam_trainer_dup_params (self->trainer, &n);
  if (epoch_params != NULL)
    memcpy (params, epoch_params, sizeof (float) * n);
  float mean[3], std[3];
  lam_trainer_get_normalization (self->trainer, mean, std);
  LamModel *model = lam_trainer_get_model (self->trainer);
  lam_session_set_weights (self, lam_model_get_spec (model), params, n, mean, std, epochs_done);
}

static void
on_trainer_event (const LamTrainerEvent *event, gpointer user_data)
{
  LamSession *self = LAM_SESSION (user_data);
  Run *run = current_run (self);

  switch (event->kind) {
  case LAM_TRAINER_EVENT_STARTED:
    break;

  case LAM_TRAINER_EVENT_PROGRESS: {
    double x = event->epoch + (double) event->batch / MAX (1, event->batches_per_epoch);
    self->last_x = x;
    LamRunStep point = { x, event->loss, event->accuracy };
    g_array_append_val (run->steps, point);
    break;
  }

  case LAM_TRAINER_EVENT_EPOCH: {
    /* A regression run's "accuracy" is its R² (1 is perfect), which its
     * views name so. */
    gboolean regression = isnan (event->accuracy) && !isnan (event->r2);
    LamRunEpoch row = { event->epoch + 1,
                        event->loss,
                        regression ? event->r2 : event->accuracy,
                        event->val_loss,
                        regression ? event->val_r2 : event->val_accuracy,
                        event->seconds,
                        event->lr };
    g_array_append_val (run->epochs, row);
    self->epochs_done = event->epoch + 1;
    break;
  }

  case LAM_TRAINER_EVENT_TEST:
    run->test_accuracy = isnan (event->test_accuracy) && !isnan (event->test_r2)
                           ? event->test_r2
                           : event->test_accuracy;
    run->test_loss = event->test_loss;
    break;

  case LAM_TRAINER_EVENT_PAUSED:
    if (self->state != LAM_TRAIN_STATE_IDLE)
      set_state (self, LAM_TRAIN_STATE_PAUSED);
    break;

  case LAM_TRAINER_EVENT_RESUMED:
    if (self->state != LAM_TRAIN_STATE_IDLE)
      set_state (self, LAM_TRAIN_STATE_RUNNING);
    break;

  case LAM_TRAINER_EVENT_LR_CHANGED:
    /* Kept with the run, so the marker outlives it and is saved. */
    lam_project_run_add_lr_change (run, self->last_x, event->lr);
    break;

  case LAM_TRAINER_EVENT_DIVERGED:
    set_error (self, event->message);
    break;

  case LAM_TRAINER_EVENT_ERROR: {
    g_autofree char *text = g_strdup_printf ("Training stopped: %s", event->message);
    set_error (self, text);
    break;
  }

  case LAM_TRAINER_EVENT_FINISHED:
    break;
  }

  /* Views see the event with the run already holding it. */
  g_signal_emit (self, lam_session_signals[LAM_SESSION_SIGNAL_TRAINING_EVENT], 0, event);

  /* After the views, so that they draw a point before the next epoch's
   * weights reach the Evaluate page. */
  switch (event->kind) {
  case LAM_TRAINER_EVENT_PROGRESS:
    set_step (self, event->step);
    break;
  case LAM_TRAINER_EVENT_EPOCH: {
    publish_weights (self, self->epochs_done, event->n_params > 0 ? event->params : NULL);
    gsize n = 0;
    const float *params = lam_session_get_weights (self, &n);
    lam_session_add_snapshot (self, self->epochs_done, params, n);
    break;
  }
  case LAM_TRAINER_EVENT_FINISHED:
    /* A stopped or diverged run still leaves weights worth inspecting. */
    if (event->stopped && event->step > 0)
      publish_weights (self, self->epochs_done, NULL);
    capture_resume (self);
    set_state (self, LAM_TRAIN_STATE_IDLE);
    runs_changed (self);
    lam_session_set_modified (self, TRUE);
    break;
  default:
    break;
  }
}

/* Resume */

gboolean
lam_session_get_can_continue (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), FALSE);
  return self->resume != NULL && self->resume->resumable;
}

gboolean
lam_session_get_continue_run (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), FALSE);
  return lam_session_get_can_continue (self) && self->continue_run;
}

void
lam_session_set_continue_run (LamSession *self, gboolean continue_run)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  g_object_set (self, "continue-run", continue_run, NULL);
}

gboolean
lam_session_get_resume_position (LamSession *self, int *epochs_done, gint64 *step)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), FALSE);
  if (!lam_session_get_can_continue (self))
    return FALSE;
  if (epochs_done != NULL)
    *epochs_done = self->resume->epochs_done;
  if (step != NULL)
    *step = self->resume->step;
  return TRUE;
}

static void
set_resume (LamSession *self, LamProjectFile *resume)
{
  gboolean could = lam_session_get_can_continue (self);
  g_clear_pointer (&self->resume, lam_project_file_free);
  self->resume = resume;
  /* Always notified: the position it names may have moved. */
  if (could || lam_session_get_can_continue (self))
    lam_session_notify (self, LAM_SESSION_PROP_CAN_CONTINUE);
}

static gboolean
same_spec (const LamModelSpec *a, const LamModelSpec *b)
{
  g_autofree char *x = lam_model_spec_to_json (a);
  g_autofree char *y = lam_model_spec_to_json (b);
  return g_str_equal (x, y);
}

/* After a run ends: what Start can continue from and Save keeps. */
static void
capture_resume (LamSession *self)
{
  int epochs_done, batches_done;
  gint64 step;
  if (self->trainer == NULL ||
      !lam_trainer_get_position (self->trainer, &epochs_done, &batches_done, &step) ||
      step == 0) {
    set_resume (self, NULL);
    return;
  }
  LamModel *model = lam_trainer_get_model (self->trainer);
  /* The model edited while it trained: its weights and optimizer state
   * are another model's, to go on with nor to save as this one's. */
  if (!same_spec (lam_model_get_spec (model), self->spec)) {
    set_resume (self, NULL);
    return;
  }
  LamProjectFile *resume = lam_project_file_new ();
  resume->spec = lam_model_spec_copy (lam_model_get_spec (model));
  resume->config = self->config;
  gsize n = 0;
  g_autofree float *params = lam_trainer_dup_params (self->trainer, &n);
  float mean[3], std[3];
  lam_trainer_get_normalization (self->trainer, mean, std);
  /* Continuing, here or with `lamina train --load`, must normalise with the
   * very numbers this run used. */
  resume->config.normalize_from_data = FALSE;
  memcpy (resume->config.mean, mean, sizeof mean);
  memcpy (resume->config.std, std, sizeof std);
  const LamDataset *train = lam_session_get_train_set (self);
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
  set_resume (self, resume);
}

/* Weights of another model cannot continue once the stack is edited. */
void
lam_session_spec_changed_for_training (LamSession *self)
{
  if (self->actions == NULL)
    return; /* still initialising */
  if (self->resume != NULL && self->resume->spec != NULL &&
      !same_spec (self->resume->spec, self->spec))
    set_resume (self, NULL);
  lam_session_update_actions (self);
}

void
lam_session_lr_edited (LamSession *self)
{
  if (self->trainer != NULL && self->state != LAM_TRAIN_STATE_IDLE)
    lam_trainer_set_lr (self->trainer, self->config.optimizer.lr);
}

double
lam_session_get_pace (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), 0);
  return self->pace;
}

void
lam_session_set_pace (LamSession *self, double steps_per_second)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  g_object_set (self, "pace", steps_per_second, NULL);
}

void
lam_session_pace_changed (LamSession *self)
{
  if (self->trainer != NULL && self->state != LAM_TRAIN_STATE_IDLE)
    lam_trainer_set_pace (self->trainer, self->pace);
}

void
lam_session_hold_training (LamSession *self)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  if (self->training_holds++ == 0 && self->trainer != NULL)
    lam_trainer_set_held (self->trainer, TRUE);
}

void
lam_session_release_training (LamSession *self)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  g_return_if_fail (self->training_holds > 0);
  if (--self->training_holds == 0 && self->trainer != NULL)
    lam_trainer_set_held (self->trainer, FALSE);
}

gboolean
lam_session_get_training_held (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), FALSE);
  return self->training_holds > 0;
}

/* Runs */

/* The first palette colour no other kept run has. */
static void
choose_color (LamSession *self, Run *run)
{
  gboolean used[LAM_SESSION_MAX_RUNS] = { FALSE };
  for (GList *l = self->runs.head; l != NULL; l = l->next) {
    const Run *other = l->data;
    if (other != run && other->color >= 0)
      used[other->color % LAM_SESSION_MAX_RUNS] = TRUE;
  }
  for (int i = 0; i < LAM_SESSION_MAX_RUNS; i++)
    if (!used[i]) {
      run->color = i;
      return;
    }
  run->color = (run->number - 1) % LAM_SESSION_MAX_RUNS;
}

static void
set_runs_note (LamSession *self, const char *note)
{
  if (g_strcmp0 (self->runs_note, note) == 0)
    return;
  g_free (self->runs_note);
  self->runs_note = g_strdup (note);
  lam_session_notify (self, LAM_SESSION_PROP_RUNS_NOTE);
}

/* Past LAM_SESSION_MAX_RUNS the oldest go, and the runs note says which;
 * a run added without loss clears the note. */
static void
drop_oldest_runs (LamSession *self)
{
  g_autoptr (GString) dropped = g_string_new (NULL);
  guint n = 0;
  while (g_queue_get_length (&self->runs) > LAM_SESSION_MAX_RUNS) {
    Run *old = g_queue_pop_head (&self->runs);
    g_string_append_printf (dropped, "%s%d", n > 0 ? ", " : "", old->number);
    n++;
    lam_project_run_free (old);
  }
  if (n == 0) {
    set_runs_note (self, NULL);
    return;
  }
  g_autofree char *note = g_strdup_printf ("Run%s %s %s dropped: the last %d runs are kept. "
                                           "Delete runs under Runs to choose which go.",
                                           n > 1 ? "s" : "", dropped->str,
                                           n > 1 ? "were" : "was", LAM_SESSION_MAX_RUNS);
  set_runs_note (self, note);
}

static Run *
find_run (LamSession *self, int number, GList **link)
{
  for (GList *l = self->runs.head; l != NULL; l = l->next)
    if (((Run *) l->data)->number == number) {
      if (link != NULL)
        *link = l;
      return l->data;
    }
  return NULL;
}

guint
lam_session_get_n_runs (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), 0);
  return g_queue_get_length (&self->runs);
}

const LamProjectRun *
lam_session_get_run (LamSession *self, guint index)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), NULL);
  return g_queue_peek_nth (&self->runs, index);
}

const LamProjectRun *
lam_session_get_current_run (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), NULL);
  return current_run (self);
}

const char *
lam_session_get_runs_note (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), NULL);
  return self->runs_note;
}

void
lam_session_set_run_visible (LamSession *self, int number, gboolean visible)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  Run *run = find_run (self, number, NULL);
  g_return_if_fail (run != NULL);
  if (run->hidden == !visible)
    return;
  run->hidden = !visible;
  runs_changed (self);
  lam_session_set_modified (self, TRUE);
}

gboolean
lam_session_delete_run (LamSession *self, int number)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), FALSE);
  GList *link = NULL;
  Run *run = find_run (self, number, &link);
  if (run == NULL)
    return FALSE;
  gboolean is_current = link->next == NULL;
  if (is_current && self->state != LAM_TRAIN_STATE_IDLE)
    return FALSE;
  g_queue_delete_link (&self->runs, link);
  lam_project_run_free (run);
  /* Nothing is left to continue. */
  if (is_current)
    set_resume (self, NULL);
  runs_changed (self);
  lam_session_set_modified (self, TRUE);
  return TRUE;
}

/* Starting, pausing, stepping, stopping */

/* "Fashion-MNIST (train)" → "Fashion-MNIST": runs train on the train part. */
static char *
dataset_label (const char *name)
{
  if (name == NULL)
    return NULL;
  if (g_str_has_suffix (name, " (train)"))
    return g_strndup (name, strlen (name) - strlen (" (train)"));
  return g_strdup (name);
}

static gboolean
start_run (LamSession *self, gboolean paused)
{
  g_autoptr (GError) error = NULL;
  if (!lam_session_can_start (self) || self->state != LAM_TRAIN_STATE_IDLE)
    return FALSE;
  lam_session_commit_edits (self);
  LamTrainerConfig config = self->config;
  config.evaluate_test = TRUE;
  config.report_every = 0;

  /* Continuing keeps what the saved run's arithmetic depends on (its
   * optimizer, batches, split, seed, normalisation); the Epochs setting
   * says how many more to train and the learning rate may change. */
  g_autoptr (LamProjectFile) resume = NULL;
  LamTrainerStart start = { 0 };
  if (lam_session_get_continue_run (self)) {
    resume = g_steal_pointer (&self->resume);
    config = resume->config;
    config.optimizer.lr = self->config.optimizer.lr;
    config.epochs = MIN (resume->epochs_done + self->config.epochs, 100000);
    config.report_every = 0;
    config.evaluate_test = TRUE;
    lam_project_file_get_start (resume, &start);
  }

  g_clear_pointer (&self->trainer, lam_trainer_free);
  g_clear_pointer (&self->backend, lam_backend_free);
  set_error (self, NULL);

  g_autofree char *note = NULL;
  self->backend = lam_device_open (self->device, &note, &error);
  if (self->backend == NULL) {
    g_autofree char *text = g_strdup_printf ("The device could not be used: %s", error->message);
    set_error (self, text);
    if (resume != NULL)
      set_resume (self, g_steal_pointer (&resume));
    return FALSE;
  }
  /* Normalising by the data uses the statistics computed on a worker
   * thread when the dataset loaded: the trainer working them out again
   * would stall the window at Start. Only the run's copy holds the
   * numbers; the setting stays "from the data", so the next dataset's
   * statistics are the ones shown and used. */
  if (config.normalize_from_data) {
    config.normalize_from_data = FALSE;
    lam_session_get_dataset_stats (self, config.mean, config.std);
  }
  self->trainer = lam_trainer_new (self->spec, lam_session_get_train_set (self),
                                   lam_session_get_test_set (self), self->backend, &config,
                                   &error);
  if (self->trainer != NULL && resume != NULL &&
      !lam_trainer_set_start (self->trainer, &start, &error))
    g_clear_pointer (&self->trainer, lam_trainer_free);
  if (self->trainer == NULL) {
    g_autofree char *text = g_strdup_printf ("Training cannot %s: %s",
                                             resume ? "continue" : "start", error->message);
    set_error (self, text);
    g_clear_pointer (&self->backend, lam_backend_free);
    /* The saved state stays for another try (fewer epochs, another device). */
    if (resume != NULL)
      set_resume (self, g_steal_pointer (&resume));
    return FALSE;
  }

  if (resume != NULL && current_run (self) != NULL) {
    /* The same run goes on: its curves and epoch rows continue. */
    Run *run = current_run (self);
    run->test_loss = run->test_accuracy = NAN;
    set_step (self, start.step);
    self->epochs_done = start.epochs_done;
  } else {
    g_autofree char *settings = lam_project_describe_settings (&self->config, self->spec);
    Run *run = lam_project_run_new (++self->next_run_number, settings);
    run->dataset = dataset_label (lam_session_get_dataset_name (self));
    run->model = lam_project_describe_model (self->spec, MODEL_LABEL_CHARS);
    run->optimizer = lam_project_describe_optimizer (&config.optimizer);
    run->task = lam_session_get_train_set (self)->task;
    g_queue_push_tail (&self->runs, run);
    drop_oldest_runs (self);
    choose_color (self, run);
    set_step (self, 0);
    self->epochs_done = 0;
    lam_session_clear_snapshots (self);
  }
  set_resume (self, NULL);
  self->last_x = 0;

  lam_session_begin_run (self);
  lam_trainer_set_pace (self->trainer, self->pace);
  lam_trainer_set_held (self->trainer, self->training_holds > 0);
  lam_trainer_set_event_func (self->trainer, on_trainer_event, self, NULL);
  set_state (self, paused ? LAM_TRAIN_STATE_PAUSED : LAM_TRAIN_STATE_RUNNING);
  runs_changed (self);
  /* Not only when it finishes: a run paused or training is work that
   * closing the window would lose unasked. */
  lam_session_set_modified (self, TRUE);
  lam_trainer_start (self->trainer, paused);
  return TRUE;
}

static void
action_start_pause (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  LamSession *self = user_data;
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

static void
action_start (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  LamSession *self = user_data;
  if (self->state == LAM_TRAIN_STATE_IDLE)
    start_run (self, FALSE);
  else if (self->state == LAM_TRAIN_STATE_PAUSED)
    lam_trainer_resume (self->trainer);
}

static void
action_pause (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  LamSession *self = user_data;
  if (self->state == LAM_TRAIN_STATE_RUNNING)
    lam_trainer_pause (self->trainer);
}

static void
action_step (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  LamSession *self = user_data;
  if (self->state == LAM_TRAIN_STATE_IDLE && !start_run (self, TRUE))
    return;
  /* The trainer decides, not the state here, which lags its events:
   * paused, one batch; running (or resumed a moment ago), a pause after the
   * batch in flight. */
  lam_trainer_step (self->trainer);
}

static void
action_stop (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  LamSession *self = user_data;
  if (self->trainer != NULL && self->state != LAM_TRAIN_STATE_IDLE)
    lam_trainer_stop (self->trainer);
}

static void
action_delete_run (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  lam_session_delete_run (LAM_SESSION (user_data), g_variant_get_int32 (parameter));
}

GActionGroup *
lam_session_get_actions (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), NULL);
  return G_ACTION_GROUP (self->actions);
}

void
lam_session_init_training (LamSession *self)
{
  static const GActionEntry entries[] = {
    { "start-pause", action_start_pause, NULL, NULL, NULL, { 0 } },
    { "start", action_start, NULL, NULL, NULL, { 0 } },
    { "pause", action_pause, NULL, NULL, NULL, { 0 } },
    { "step", action_step, NULL, NULL, NULL, { 0 } },
    { "stop", action_stop, NULL, NULL, NULL, { 0 } },
    { "delete-run", action_delete_run, "i", NULL, NULL, { 0 } },
  };
  g_queue_init (&self->runs);
  self->actions = g_simple_action_group_new ();
  g_action_map_add_action_entries (G_ACTION_MAP (self->actions), entries, G_N_ELEMENTS (entries),
                                   self);
  g_signal_connect (self, "notify::has-dataset", G_CALLBACK (lam_session_update_actions), NULL);
  g_signal_connect (self, "notify::model-valid", G_CALLBACK (lam_session_update_actions), NULL);
  lam_session_update_actions (self);
}

void
lam_session_dispose_training (LamSession *self)
{
  /* Freeing the trainer stops and joins its thread first. */
  g_clear_pointer (&self->trainer, lam_trainer_free);
  g_clear_pointer (&self->backend, lam_backend_free);
  self->state = LAM_TRAIN_STATE_IDLE;
  g_queue_clear_full (&self->runs, (GDestroyNotify) lam_project_run_free);
  g_clear_pointer (&self->resume, lam_project_file_free);
  g_clear_pointer (&self->error, g_free);
  g_clear_pointer (&self->runs_note, g_free);
  g_clear_object (&self->actions);
}

/* Project files */

void
lam_session_fill_project_file (LamSession *self, LamProjectFile *file)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  g_return_if_fail (file != NULL);

  lam_session_commit_edits (self);
  lam_model_spec_free (file->spec);
  file->spec = lam_model_spec_copy (self->spec);
  file->config = self->config;
  file->config.report_every = 0;
  file->normalize_by_data = self->config.normalize_from_data;
  g_free (file->device);
  file->device = g_strdup (self->device);
  g_free (file->dataset_dir);
  file->dataset_dir = g_strdup (self->dataset_dir);
  g_free (file->dataset_name);
  file->dataset_name = g_strdup (lam_session_get_dataset_name (self));
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
      /* The settings the saved state belongs to; the lesson's own choice
       * of normalisation is kept beside them (normalize_by_data). */
      LamTrainerConfig edited = file->config;
      file->config = self->resume->config;
      file->config.epochs = edited.epochs;
      file->config.optimizer.lr = edited.optimizer.lr;
      file->config.report_every = 0;
    }
  } else if (self->weights_spec != NULL && same_spec (self->weights_spec, file->spec)) {
    const LamDataset *train = lam_session_get_train_set (self);
    lam_project_file_set_weights (file, self->weights, self->n_weights,
                                  train ? train->channels : 1, self->weights_mean,
                                  self->weights_std);
  }

  /* What the saved weights' run predicted epoch by epoch, so a reopened
   * project can say "wrong since epoch 2". */
  guint n_history = lam_evaluation_get_n_history (self->evaluation);
  int n_images = lam_evaluation_get_history_n_images (self->evaluation);
  if (file->params != NULL && n_history > 0 && n_images > 0) {
    g_autofree int *epochs = g_new (int, n_history);
    g_autofree const gint32 **rows = g_new (const gint32 *, n_history);
    for (guint k = 0; k < n_history; k++)
      rows[k] = lam_evaluation_get_history (self->evaluation, k, &epochs[k]);
    lam_project_file_set_history (file, (int) n_history, n_images, epochs, rows);
  }

  /* The weights after each epoch of that run, for the time machine,
   * unless the lesson chose to save without them. */
  guint n_snapshots = lam_session_get_n_snapshots (self);
  if (file->params != NULL && self->save_snapshots && n_snapshots > 0 &&
      self->n_weights == file->n_params) {
    g_autofree int *epochs = g_new (int, n_snapshots);
    g_autofree const float **params = g_new (const float *, n_snapshots);
    for (guint i = 0; i < n_snapshots; i++) {
      epochs[i] = lam_session_get_snapshot_epoch (self, i);
      params[i] = lam_session_get_snapshot (self, i, NULL);
    }
    lam_project_file_set_snapshots (file, (int) n_snapshots, epochs, params);
  }
}

/* Runs saved before they had colours, or sharing one, get the first free;
 * the others keep theirs. */
static void
settle_run_colors (LamSession *self)
{
  for (GList *l = self->runs.head; l != NULL; l = l->next) {
    Run *run = l->data;
    for (GList *k = self->runs.head; k != l && run->color >= 0; k = k->next)
      if (((Run *) k->data)->color == run->color)
        run->color = -1;
    if (run->color < 0 || run->color >= LAM_SESSION_MAX_RUNS)
      choose_color (self, run);
  }
}

void
lam_session_load_project_file (LamSession *self, const LamProjectFile *file)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  g_return_if_fail (file != NULL);
  g_return_if_fail (self->state == LAM_TRAIN_STATE_IDLE);

  g_clear_pointer (&self->trainer, lam_trainer_free);
  g_clear_pointer (&self->backend, lam_backend_free);
  set_error (self, NULL);

  /* A file without a spec (runs alone) keeps the model being edited. */
  if (file->spec != NULL) {
    lam_session_set_spec (self, file->spec);
    lam_session_forget_model_history (self);
  }
  LamTrainerConfig config = file->config;
  if (file->normalize_by_data)
    config.normalize_from_data = TRUE;
  g_free (self->device);
  self->device = g_strdup (file->device != NULL ? file->device : "auto");
  lam_session_set_config (self, &config);

  g_queue_clear_full (&self->runs, (GDestroyNotify) lam_project_run_free);
  self->next_run_number = 0;
  for (guint i = 0; i < file->runs->len; i++) {
    const LamProjectRun *run = g_ptr_array_index (file->runs, i);
    g_queue_push_tail (&self->runs, lam_project_run_copy (run));
    self->next_run_number = MAX (self->next_run_number, run->number);
  }
  drop_oldest_runs (self);
  settle_run_colors (self);
  set_step (self, file->resumable ? file->step : 0);
  self->epochs_done = file->resumable ? file->epochs_done : 0;

  LamProjectFile *resume = NULL;
  if (file->params != NULL) {
    resume = lam_project_file_new ();
    resume->spec = lam_model_spec_copy (file->spec != NULL ? file->spec : self->spec);
    resume->config = file->config;
    lam_project_file_set_weights (resume, file->params, file->n_params, file->n_channels,
                                  file->mean, file->std);
    if (file->resumable)
      lam_project_file_set_resume (resume, file->epochs_done, file->batches_done, file->step,
                                   (const float *const *) file->optimizer_state,
                                   file->n_optimizer_state);
  }
  set_resume (self, resume);
  lam_session_set_continue_run (self, file->resumable);

  if (file->params != NULL) {
    float mean[3] = { 0, 0, 0 }, std[3] = { 1, 1, 1 };
    for (int c = 0; c < 3 && file->n_channels > 0; c++) {
      mean[c] = file->mean[MIN (c, file->n_channels - 1)];
      std[c] = file->std[MIN (c, file->n_channels - 1)];
    }
    lam_session_begin_run (self);
    /* The epoch the weights are of: the resume position, else the last
     * epoch the saved prediction history has for them. */
    int epoch = file->resumable       ? file->epochs_done
                : file->n_history > 0 ? file->history_epochs[file->n_history - 1]
                                      : 0;
    lam_session_set_weights (self, resume->spec, file->params, file->n_params, mean, std, epoch);
    lam_session_set_weights_dataset (self, file->dataset_dir, file->dataset_name);
    lam_session_clear_snapshots (self);
    for (int i = 0; i < file->n_snapshots; i++)
      lam_session_add_snapshot (self, file->snapshot_epochs[i], file->snapshots[i],
                                file->n_params);
    lam_evaluation_restore_history (self->evaluation, lam_session_get_weights_run (self),
                                    file->n_history, file->history_n_images,
                                    file->history_epochs, file->history_classes);
  } else {
    /* The weights shown (and saved with the project) are the project's own. */
    lam_session_clear_weights (self);
  }
  runs_changed (self);
  g_signal_emit (self, lam_session_signals[LAM_SESSION_SIGNAL_PROJECT_LOADED], 0);
}

void
lam_session_reset (LamSession *self)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  /* The model and settings a fresh session starts with, from a fresh
   * session, so the two never drift apart. */
  g_autoptr (LamSession) fresh = lam_session_new ();
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  lam_session_fill_project_file (fresh, file);
  lam_session_load_project_file (self, file);
}
