#include "lam-session-private.h"

#include <string.h>

#include "lam-evaluation.h"
#include "lam-playground.h"
#include "lam-table-dialog.h"
#include "lam-ui-util.h"

G_DEFINE_FINAL_TYPE (LamSession, lam_session, G_TYPE_OBJECT)

GParamSpec *lam_session_properties[LAM_SESSION_N_PROPS];
guint lam_session_signals[LAM_SESSION_N_SIGNALS];
#define properties lam_session_properties
#define signals lam_session_signals

void
lam_session_notify (LamSession *self, guint prop_id)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
lam_session_dispose (GObject *object)
{
  LamSession *self = LAM_SESSION (object);
  lam_session_dispose_training (self);
  g_clear_object (&self->evaluation);
  G_OBJECT_CLASS (lam_session_parent_class)->dispose (object);
}

static void
lam_session_finalize (GObject *object)
{
  LamSession *self = LAM_SESSION (object);
  g_clear_pointer (&self->dataset_dir, g_free);
  g_clear_pointer (&self->file_path, g_free);
  g_clear_pointer (&self->device, g_free);
  g_clear_pointer (&self->train_set, lam_dataset_free);
  g_clear_pointer (&self->test_set, lam_dataset_free);
  g_clear_pointer (&self->spec, lam_model_spec_free);
  g_clear_pointer (&self->plan, lam_model_plan_free);
  g_clear_error (&self->plan_error);
  g_clear_pointer (&self->spec_undo, g_ptr_array_unref);
  g_clear_pointer (&self->spec_redo, g_ptr_array_unref);
  g_clear_pointer (&self->weights_spec, lam_model_spec_free);
  g_clear_pointer (&self->weights, g_free);
  g_clear_pointer (&self->weights_dataset_dir, g_free);
  g_clear_pointer (&self->weights_dataset_name, g_free);
  lam_session_finalize_snapshots (self);
  G_OBJECT_CLASS (lam_session_parent_class)->finalize (object);
}

static LamSessionNormalize
normalization_of (const LamTrainerConfig *config)
{
  if (config->normalize_from_data)
    return LAM_SESSION_NORMALIZE_DATA;
  gboolean identity = TRUE;
  for (int c = 0; c < 3; c++)
    identity = identity && config->mean[c] == 0 && config->std[c] == 1;
  return identity ? LAM_SESSION_NORMALIZE_NONE : LAM_SESSION_NORMALIZE_CUSTOM;
}

static void
lam_session_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamSession *self = LAM_SESSION (object);
  const LamTrainerConfig *c = &self->config;
  switch (prop_id) {
  case LAM_SESSION_PROP_HAS_DATASET:
    g_value_set_boolean (value, self->train_set != NULL);
    break;
  case LAM_SESSION_PROP_LOADING:
    g_value_set_boolean (value, self->loads_running > 0);
    break;
  case LAM_SESSION_PROP_DATASET_DIR:
    g_value_set_string (value, self->dataset_dir);
    break;
  case LAM_SESSION_PROP_DATASET_NAME:
    g_value_set_string (value, lam_session_get_dataset_name (self));
    break;
  case LAM_SESSION_PROP_MODEL_VALID:
    g_value_set_boolean (value, self->plan != NULL);
    break;
  case LAM_SESSION_PROP_TRAINING:
    g_value_set_boolean (value, self->state != LAM_TRAIN_STATE_IDLE);
    break;
  case LAM_SESSION_PROP_FILE_PATH:
    g_value_set_string (value, self->file_path);
    break;
  case LAM_SESSION_PROP_MODIFIED:
    g_value_set_boolean (value, self->modified);
    break;
  case LAM_SESSION_PROP_STATE:
    g_value_set_int (value, self->state);
    break;
  case LAM_SESSION_PROP_STEP:
    g_value_set_int64 (value, self->step);
    break;
  case LAM_SESSION_PROP_ERROR:
    g_value_set_string (value, self->error);
    break;
  case LAM_SESSION_PROP_RUNS_NOTE:
    g_value_set_string (value, self->runs_note);
    break;
  case LAM_SESSION_PROP_CAN_CONTINUE:
    g_value_set_boolean (value, lam_session_get_can_continue (self));
    break;
  case LAM_SESSION_PROP_CONTINUE_RUN:
    g_value_set_boolean (value, self->continue_run);
    break;
  case LAM_SESSION_PROP_PACE:
    g_value_set_double (value, self->pace);
    break;
  case LAM_SESSION_PROP_VIEW_EPOCH:
    g_value_set_int (value, self->view_epoch);
    break;
  case LAM_SESSION_PROP_SAVE_SNAPSHOTS:
    g_value_set_boolean (value, self->save_snapshots);
    break;
  case LAM_SESSION_PROP_EPOCHS:
    g_value_set_int (value, c->epochs);
    break;
  case LAM_SESSION_PROP_BATCH_SIZE:
    g_value_set_int (value, c->batch_size);
    break;
  case LAM_SESSION_PROP_OPTIMIZER:
    g_value_set_uint (value, c->optimizer.kind);
    break;
  case LAM_SESSION_PROP_LR:
    g_value_set_double (value, c->optimizer.lr);
    break;
  case LAM_SESSION_PROP_MOMENTUM:
    g_value_set_double (value, c->optimizer.momentum);
    break;
  case LAM_SESSION_PROP_WEIGHT_DECAY:
    g_value_set_double (value, c->optimizer.weight_decay);
    break;
  case LAM_SESSION_PROP_L1:
    g_value_set_double (value, c->optimizer.l1);
    break;
  case LAM_SESSION_PROP_SCHEDULE:
    g_value_set_uint (value, c->schedule.kind);
    break;
  case LAM_SESSION_PROP_STEP_SIZE:
    g_value_set_int (value, c->schedule.step_size);
    break;
  case LAM_SESSION_PROP_GAMMA:
    g_value_set_double (value, c->schedule.gamma);
    break;
  case LAM_SESSION_PROP_ETA_MIN:
    g_value_set_double (value, c->schedule.eta_min);
    break;
  case LAM_SESSION_PROP_NORMALIZATION:
    g_value_set_uint (value, normalization_of (c));
    break;
  case LAM_SESSION_PROP_NORM_MEAN:
    g_value_set_double (value, self->custom_mean);
    break;
  case LAM_SESSION_PROP_NORM_STD:
    g_value_set_double (value, self->custom_std);
    break;
  case LAM_SESSION_PROP_CROP_PADDING:
    g_value_set_int (value, c->crop_padding);
    break;
  case LAM_SESSION_PROP_PADDING_MODE:
    g_value_set_uint (value, c->padding_mode);
    break;
  case LAM_SESSION_PROP_HFLIP:
    g_value_set_boolean (value, c->hflip);
    break;
  case LAM_SESSION_PROP_VAL_FRACTION:
    g_value_set_double (value, c->val_fraction);
    break;
  case LAM_SESSION_PROP_SEED:
    g_value_set_uint64 (value, c->seed);
    break;
  case LAM_SESSION_PROP_DEVICE:
    g_value_set_string (value, self->device);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

/* The mean and std a run normalises with, when the lesson gives them. */
static void
apply_normalization (LamSession *self, LamSessionNormalize normalization)
{
  LamTrainerConfig *c = &self->config;
  c->normalize_from_data = normalization == LAM_SESSION_NORMALIZE_DATA;
  for (int ch = 0; ch < 3; ch++) {
    gboolean custom = normalization == LAM_SESSION_NORMALIZE_CUSTOM;
    c->mean[ch] = custom ? (float) self->custom_mean : 0;
    c->std[ch] = custom ? (float) self->custom_std : 1;
  }
}

/* Each optimizer's usual starting rate, as the tutorials use them, and
 * AdamW's usual decay, as the command line sets them. */
static void
choose_optimizer (LamSession *self, LamOptimizerKind kind)
{
  LamOptimizerConfig *o = &self->config.optimizer;
  double decay = o->weight_decay;
  double momentum = o->momentum;
  double l1 = o->l1;
  *o = lam_optimizer_config_default (kind);
  o->l1 = l1;
  o->lr = kind == LAM_OPTIMIZER_SGD ? 0.01 : 0.001;
  o->momentum = momentum;
  o->weight_decay = kind == LAM_OPTIMIZER_ADAMW && decay == 0   ? 0.01
                    : kind != LAM_OPTIMIZER_ADAMW && decay == 0.01 ? 0
                                                                   : decay;
  lam_session_notify (self, LAM_SESSION_PROP_LR);
  lam_session_notify (self, LAM_SESSION_PROP_WEIGHT_DECAY);
}

static void
lam_session_set_property (GObject *object, guint prop_id, const GValue *value,
                          GParamSpec *pspec)
{
  LamSession *self = LAM_SESSION (object);
  LamTrainerConfig *c = &self->config;
  LamTrainerConfig before = *c;
  double custom_before[2] = { self->custom_mean, self->custom_std };
  g_autofree char *device_before = g_strdup (self->device);

  /* Only the learning rate follows an edit while a run trains; a view
   * that lets another through is put back. */
  if (self->state != LAM_TRAIN_STATE_IDLE && prop_id != LAM_SESSION_PROP_LR &&
      prop_id != LAM_SESSION_PROP_CONTINUE_RUN && prop_id != LAM_SESSION_PROP_PACE) {
    lam_session_notify (self, prop_id);
    return;
  }
  switch (prop_id) {
  case LAM_SESSION_PROP_CONTINUE_RUN:
    if (self->continue_run != g_value_get_boolean (value)) {
      self->continue_run = g_value_get_boolean (value);
      lam_session_notify (self, prop_id);
    }
    return;
  case LAM_SESSION_PROP_VIEW_EPOCH:
    lam_session_set_view_epoch (self, g_value_get_int (value));
    return;
  case LAM_SESSION_PROP_SAVE_SNAPSHOTS:
    if (self->save_snapshots != g_value_get_boolean (value)) {
      self->save_snapshots = g_value_get_boolean (value);
      lam_session_notify (self, prop_id);
    }
    return;
  case LAM_SESSION_PROP_PACE:
    /* No edit of the lesson: nothing to save. */
    if (self->pace != g_value_get_double (value)) {
      self->pace = g_value_get_double (value);
      lam_session_notify (self, prop_id);
      lam_session_pace_changed (self);
    }
    return;
  case LAM_SESSION_PROP_EPOCHS:
    c->epochs = g_value_get_int (value);
    /* Cosine runs over the whole run, as --schedule cosine does. */
    c->schedule.t_max = c->epochs;
    break;
  case LAM_SESSION_PROP_BATCH_SIZE:
    c->batch_size = g_value_get_int (value);
    break;
  case LAM_SESSION_PROP_OPTIMIZER:
    if (g_value_get_uint (value) != c->optimizer.kind)
      choose_optimizer (self, g_value_get_uint (value));
    break;
  case LAM_SESSION_PROP_LR:
    c->optimizer.lr = g_value_get_double (value);
    break;
  case LAM_SESSION_PROP_MOMENTUM:
    c->optimizer.momentum = g_value_get_double (value);
    break;
  case LAM_SESSION_PROP_WEIGHT_DECAY:
    c->optimizer.weight_decay = g_value_get_double (value);
    break;
  case LAM_SESSION_PROP_L1:
    c->optimizer.l1 = g_value_get_double (value);
    break;
  case LAM_SESSION_PROP_SCHEDULE:
    c->schedule.kind = g_value_get_uint (value);
    c->schedule.t_max = c->epochs;
    break;
  case LAM_SESSION_PROP_STEP_SIZE:
    c->schedule.step_size = g_value_get_int (value);
    break;
  case LAM_SESSION_PROP_GAMMA:
    c->schedule.gamma = g_value_get_double (value);
    break;
  case LAM_SESSION_PROP_ETA_MIN:
    c->schedule.eta_min = g_value_get_double (value);
    break;
  case LAM_SESSION_PROP_NORMALIZATION:
    if (g_value_get_uint (value) != normalization_of (c))
      apply_normalization (self, g_value_get_uint (value));
    break;
  case LAM_SESSION_PROP_NORM_MEAN:
    self->custom_mean = g_value_get_double (value);
    if (normalization_of (c) == LAM_SESSION_NORMALIZE_CUSTOM)
      apply_normalization (self, LAM_SESSION_NORMALIZE_CUSTOM);
    break;
  case LAM_SESSION_PROP_NORM_STD:
    self->custom_std = g_value_get_double (value);
    if (normalization_of (c) == LAM_SESSION_NORMALIZE_CUSTOM)
      apply_normalization (self, LAM_SESSION_NORMALIZE_CUSTOM);
    break;
  case LAM_SESSION_PROP_CROP_PADDING:
    c->crop_padding = g_value_get_int (value);
    break;
  case LAM_SESSION_PROP_PADDING_MODE:
    c->padding_mode = g_value_get_uint (value);
    break;
  case LAM_SESSION_PROP_HFLIP:
    c->hflip = g_value_get_boolean (value);
    break;
  case LAM_SESSION_PROP_VAL_FRACTION:
    c->val_fraction = g_value_get_double (value);
    break;
  case LAM_SESSION_PROP_SEED:
    c->seed = g_value_get_uint64 (value);
    break;
  case LAM_SESSION_PROP_DEVICE:
    g_free (self->device);
    self->device = g_value_dup_string (value);
    if (self->device == NULL)
      self->device = g_strdup ("auto");
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    return;
  }
  /* The same value again (a bound view echoing it back) is no edit. */
  if (memcmp (&before, c, sizeof before) == 0 && custom_before[0] == self->custom_mean &&
      custom_before[1] == self->custom_std && g_strcmp0 (device_before, self->device) == 0)
    return;
  lam_session_notify (self, prop_id);
  if (prop_id == LAM_SESSION_PROP_LR)
    lam_session_lr_edited (self);
  lam_session_set_modified (self, TRUE);
  g_signal_emit (self, signals[LAM_SESSION_SIGNAL_SETTINGS_CHANGED], 0);
}

static GParamSpec *
setting_int (const char *name, int min, int max, int fallback)
{
  return g_param_spec_int (name, NULL, NULL, min, max, fallback,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
}

static GParamSpec *
setting_uint (const char *name, guint max)
{
  return g_param_spec_uint (name, NULL, NULL, 0, max, 0,
                            G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
}

static GParamSpec *
setting_double (const char *name, double min, double max, double fallback)
{
  return g_param_spec_double (name, NULL, NULL, min, max, fallback,
                              G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                G_PARAM_EXPLICIT_NOTIFY);
}

static void
lam_session_class_init (LamSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = lam_session_dispose;
  object_class->finalize = lam_session_finalize;
  object_class->get_property = lam_session_get_property;
  object_class->set_property = lam_session_set_property;

  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  properties[LAM_SESSION_PROP_HAS_DATASET] =
    g_param_spec_boolean ("has-dataset", NULL, NULL, FALSE, ro);
  properties[LAM_SESSION_PROP_LOADING] = g_param_spec_boolean ("loading", NULL, NULL, FALSE, ro);
  properties[LAM_SESSION_PROP_DATASET_DIR] =
    g_param_spec_string ("dataset-dir", NULL, NULL, NULL, ro);
  properties[LAM_SESSION_PROP_DATASET_NAME] =
    g_param_spec_string ("dataset-name", NULL, NULL, NULL, ro);
  properties[LAM_SESSION_PROP_MODEL_VALID] =
    g_param_spec_boolean ("model-valid", NULL, NULL, FALSE, ro);
  properties[LAM_SESSION_PROP_TRAINING] = g_param_spec_boolean ("training", NULL, NULL, FALSE, ro);
  properties[LAM_SESSION_PROP_FILE_PATH] = g_param_spec_string ("file-path", NULL, NULL, NULL, ro);
  properties[LAM_SESSION_PROP_MODIFIED] = g_param_spec_boolean ("modified", NULL, NULL, FALSE, ro);
  properties[LAM_SESSION_PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL, LAM_TRAIN_STATE_IDLE, LAM_TRAIN_STATE_PAUSED,
                      LAM_TRAIN_STATE_IDLE, ro);
  properties[LAM_SESSION_PROP_STEP] = g_param_spec_int64 ("step", NULL, NULL, 0, G_MAXINT64, 0, ro);
  properties[LAM_SESSION_PROP_ERROR] = g_param_spec_string ("error", NULL, NULL, NULL, ro);
  properties[LAM_SESSION_PROP_RUNS_NOTE] = g_param_spec_string ("runs-note", NULL, NULL, NULL, ro);
  properties[LAM_SESSION_PROP_CAN_CONTINUE] =
    g_param_spec_boolean ("can-continue", NULL, NULL, FALSE, ro);
  properties[LAM_SESSION_PROP_CONTINUE_RUN] =
    g_param_spec_boolean ("continue-run", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[LAM_SESSION_PROP_PACE] =
    g_param_spec_double ("pace", NULL, NULL, 0, LAM_SESSION_MAX_PACE, 0,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /* Whether projects are saved with every epoch's weights; the room's
   * choice, like the pace: no edit of the lesson. */
  properties[LAM_SESSION_PROP_SAVE_SNAPSHOTS] =
    g_param_spec_boolean ("save-snapshots", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[LAM_SESSION_PROP_VIEW_EPOCH] =
    g_param_spec_int ("view-epoch", NULL, NULL, 0, G_MAXINT, 0,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /* The ranges are the Train page's and `lamina train`'s. */
  properties[LAM_SESSION_PROP_EPOCHS] = setting_int ("epochs", 1, 100000, 5);
  properties[LAM_SESSION_PROP_BATCH_SIZE] = setting_int ("batch-size", 1, 65536, 64);
  properties[LAM_SESSION_PROP_OPTIMIZER] = setting_uint ("optimizer", LAM_OPTIMIZER_ADAMW);
  properties[LAM_SESSION_PROP_LR] = setting_double ("lr", 0, 1000, 0.001);
  properties[LAM_SESSION_PROP_MOMENTUM] = setting_double ("momentum", 0, 1, 0);
  properties[LAM_SESSION_PROP_WEIGHT_DECAY] = setting_double ("weight-decay", 0, 1000, 0);
  properties[LAM_SESSION_PROP_L1] = setting_double ("l1-penalty", 0, 10, 0);
  properties[LAM_SESSION_PROP_SCHEDULE] = setting_uint ("schedule", LAM_SCHEDULE_COSINE);
  properties[LAM_SESSION_PROP_STEP_SIZE] = setting_int ("step-size", 0, 100000, 10);
  properties[LAM_SESSION_PROP_GAMMA] = setting_double ("gamma", 0, 1, 0.1);
  properties[LAM_SESSION_PROP_ETA_MIN] = setting_double ("eta-min", 0, 1000, 0);
  properties[LAM_SESSION_PROP_NORMALIZATION] =
    setting_uint ("normalization", LAM_SESSION_NORMALIZE_CUSTOM);
  properties[LAM_SESSION_PROP_NORM_MEAN] = setting_double (
    "norm-mean", -LAM_NORMALIZATION_MAX_SETTING, LAM_NORMALIZATION_MAX_SETTING, 0.5);
  properties[LAM_SESSION_PROP_NORM_STD] =
    setting_double ("norm-std", 1e-6, LAM_NORMALIZATION_MAX_SETTING, 0.5);
  properties[LAM_SESSION_PROP_CROP_PADDING] = setting_int ("crop-padding", 0, 64, 0);
  properties[LAM_SESSION_PROP_PADDING_MODE] = setting_uint ("padding-mode", LAM_PADDING_REFLECT);
  properties[LAM_SESSION_PROP_HFLIP] =
    g_param_spec_boolean ("hflip", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[LAM_SESSION_PROP_VAL_FRACTION] = setting_double ("val-fraction", 0, 0.99, 0.1);
  properties[LAM_SESSION_PROP_SEED] =
    g_param_spec_uint64 ("seed", NULL, NULL, 0, LAM_TRAINER_MAX_SEED, 1,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[LAM_SESSION_PROP_DEVICE] =
    g_param_spec_string ("device", NULL, NULL, "auto",
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, LAM_SESSION_N_PROPS, properties);

  signals[LAM_SESSION_SIGNAL_DATASET_CHANGED] =
    g_signal_new ("dataset-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
  signals[LAM_SESSION_SIGNAL_SPEC_CHANGED] =
    g_signal_new ("spec-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
  signals[LAM_SESSION_SIGNAL_SETTINGS_CHANGED] =
    g_signal_new ("settings-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
  signals[LAM_SESSION_SIGNAL_WEIGHTS_CHANGED] =
    g_signal_new ("weights-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
  signals[LAM_SESSION_SIGNAL_COMMIT_EDITS] =
    g_signal_new ("commit-edits", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
  /* The event is borrowed for the emission: a const LamTrainerEvent*. */
  signals[LAM_SESSION_SIGNAL_TRAINING_EVENT] =
    g_signal_new ("training-event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  /* A project file was read in (or a new project begun): views that
   * say how things stand start from the session's state again. */
  signals[LAM_SESSION_SIGNAL_PROJECT_LOADED] =
    g_signal_new ("project-loaded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
  signals[LAM_SESSION_SIGNAL_RUNS_CHANGED] =
    g_signal_new ("runs-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
  signals[LAM_SESSION_SIGNAL_SNAPSHOTS_CHANGED] =
    g_signal_new ("snapshots-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 0);
}

/* A config that never chose a step schedule (the defaults, and lamina
 * train without --schedule step, leave its size and gamma 0) takes the
 * Train page's: its spins showed 1 and 0.01, clamped, while training
 * used 0 and 0 (a constant rate, or none) for a Step chosen and left as
 * shown. */
static void
settle_step_schedule (LamTrainerConfig *c)
{
  if (c->schedule.step_size < 1)
    c->schedule.step_size = 10;
  if (!(c->schedule.gamma > 0))
    c->schedule.gamma = 0.1;
}

static void
lam_session_init (LamSession *self)
{
  lam_session_init_snapshots (self);
  self->config = lam_trainer_config_lesson_default ();
  settle_step_schedule (&self->config);
  /* As set_config keeps them: the trainer's automatic reporting, and a
   * cosine schedule over the whole run. */
  self->config.report_every = 0;
  self->config.schedule.t_max = self->config.epochs;
  self->custom_mean = 0.5;
  self->custom_std = 0.5;
  self->device = g_strdup ("auto");
  for (int c = 0; c < 3; c++)
    self->std[c] = 1;
  self->spec_undo = g_ptr_array_new_with_free_func ((GDestroyNotify) lam_model_spec_free);
  self->spec_redo = g_ptr_array_new_with_free_func ((GDestroyNotify) lam_model_spec_free);
  self->spec = lam_model_spec_preset ("mlp", NULL);
  if (self->spec == NULL)
    self->spec = lam_model_spec_new ();
  lam_session_set_spec (self, self->spec);
  lam_session_init_training (self);
  self->evaluation = lam_evaluation_new (self);
}

LamSession *
lam_session_new (void)
{
  return g_object_new (LAM_TYPE_SESSION, NULL);
}

const LamTrainerConfig *
lam_session_get_config (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), NULL);
  return &self->config;
}

void
lam_session_set_config (LamSession *self, const LamTrainerConfig *config)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  g_return_if_fail (config != NULL);
  self->config = *config;
  settle_step_schedule (&self->config);
  self->config.report_every = 0;
  self->config.schedule.t_max = self->config.epochs;
  if (normalization_of (config) == LAM_SESSION_NORMALIZE_CUSTOM) {
    self->custom_mean = config->mean[0];
    self->custom_std = config->std[0];
  }
  g_object_freeze_notify (G_OBJECT (self));
  for (guint id = LAM_SESSION_FIRST_SETTING; id < LAM_SESSION_N_PROPS; id++)
    lam_session_notify (self, id);
  g_object_thaw_notify (G_OBJECT (self));
  g_signal_emit (self, signals[LAM_SESSION_SIGNAL_SETTINGS_CHANGED], 0);
}

const char *
lam_session_get_device (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), NULL);
  return self->device;
}

void
lam_session_commit_edits (LamSession *self)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  g_signal_emit (self, signals[LAM_SESSION_SIGNAL_COMMIT_EDITS], 0);
}

LamEvaluation *
lam_session_get_evaluation (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), NULL);
  return self->evaluation;
}

/* Dataset loading */

typedef struct
{
  char *dir;
  guint serial;
  LamDataset *train;
  LamDataset *test;
  float mean[3];
  float std[3];
} LoadJob;

static void
load_job_free (LoadJob *job)
{
  g_free (job->dir);
  lam_dataset_free (job->train);
  lam_dataset_free (job->test);
  g_free (job);
}

/* A table named with its chosen columns (lam_table_name_build); without
 * targets, its last column. */
static gboolean
load_table (const char *name, LamDataset **train, LamDataset **test, GError **error)
{
  g_autofree char *path = NULL;
  g_auto (GStrv) inputs = NULL, targets = NULL;
  if (!lam_table_name_parse (name, &path, &inputs, &targets, error))
    return FALSE;
  if (targets == NULL) {
    g_autoptr (LamCsvSummary) summary = lam_csv_summary_load (path, error);
    if (summary == NULL)
      return FALSE;
    const char *last[] = { summary->columns[summary->n_columns - 1].name, NULL };
    targets = g_strdupv ((char **) last);
  }
  LamCsvOptions options;
  lam_csv_options_init (&options);
  options.inputs = (const char *const *) inputs;
  options.targets = (const char *const *) targets;
  return lam_dataset_load_csv (path, &options, train, test, error);
}

static void
load_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  LoadJob *job = task_data;
  GError *error = NULL;
  /* A 2-D playground is named, not stored: it is generated again. */
  gboolean loaded = lam_playground_is_uri (job->dir)
                      ? lam_playground_load (job->dir, &job->train, &job->test, &error)
                    : lam_table_name_is_table (job->dir)
                      ? load_table (job->dir, &job->train, &job->test, &error)
                      : lam_dataset_load_dir (job->dir, &job->train, &job->test, &error);
  if (!loaded) {
    g_task_return_error (task, error);
    return;
  }
  /* A table standardises each column by itself (lam_dataset_table_set_scaling):
   * the per-channel statistics are for images. */
  if (lam_dataset_is_table (job->train)) {
    for (int c = 0; c < 3; c++) {
      job->mean[c] = 0;
      job->std[c] = 1;
    }
  } else {
    lam_dataset_compute_stats (job->train, NULL, job->train->n, job->mean, job->std);
  }
  g_task_return_boolean (task, TRUE);
}

static void
set_loading (LamSession *self, int delta)
{
  gboolean was = self->loads_running > 0;
  self->loads_running += delta;
  if (was != (self->loads_running > 0))
    g_object_notify_by_pspec (G_OBJECT (self), properties[LAM_SESSION_PROP_LOADING]);
}

static void
load_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LamSession *self = LAM_SESSION (source);
  g_autoptr (GTask) outer = user_data;
  GTask *task = G_TASK (result);
  LoadJob *job = g_task_get_task_data (task);
  GError *error = NULL;

  set_loading (self, -1);
  if (!g_task_propagate_boolean (task, &error)) {
    g_task_return_error (outer, error);
    return;
  }
  if (job->serial != self->load_serial) {
    g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             "a newer dataset was chosen while %s loaded", job->dir);
    return;
  }

  g_clear_pointer (&self->train_set, lam_dataset_free);
  g_clear_pointer (&self->test_set, lam_dataset_free);
  self->train_set = g_steal_pointer (&job->train);
  self->test_set = g_steal_pointer (&job->test);
  g_free (self->dataset_dir);
  self->dataset_dir = g_strdup (job->dir);
  for (int c = 0; c < 3; c++) {
    self->mean[c] = c < self->train_set->channels ? job->mean[c] : 0;
    self->std[c] = c < self->train_set->channels ? job->std[c] : 1;
  }

  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[LAM_SESSION_PROP_HAS_DATASET]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[LAM_SESSION_PROP_DATASET_DIR]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[LAM_SESSION_PROP_DATASET_NAME]);
  g_signal_emit (self, signals[LAM_SESSION_SIGNAL_DATASET_CHANGED], 0);
  /* The model's input follows the dataset. */
  g_autoptr (LamModelSpec) spec = lam_model_spec_copy (self->spec);
  lam_session_set_spec (self, spec);
  g_object_thaw_notify (G_OBJECT (self));
  g_task_return_boolean (outer, TRUE);
}

void
lam_session_load_dataset_async (LamSession *self, const char *dir, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  g_return_if_fail (dir != NULL);

  GTask *outer = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (outer, lam_session_load_dataset_async);
  if (self->state != LAM_TRAIN_STATE_IDLE) {
    g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_BUSY,
                             "Stop training before opening another dataset (%s).", dir);
    g_object_unref (outer);
    return;
  }

  LoadJob *job = g_new0 (LoadJob, 1);
  job->dir = g_strdup (dir);
  job->serial = ++self->load_serial;
  g_autoptr (GTask) task = g_task_new (self, cancellable, load_done, outer);
  g_task_set_task_data (task, job, (GDestroyNotify) load_job_free);
  g_task_set_name (task, "[lamina] load dataset");
  set_loading (self, +1);
  lam_ui_run_in_thread (task, load_thread);
}

gboolean
lam_session_load_dataset_finish (LamSession *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
lam_session_get_has_dataset (LamSession *self)
{
  return self->train_set != NULL;
}

gboolean
lam_session_get_loading (LamSession *self)
{
  return self->loads_running > 0;
}

const char *
lam_session_get_dataset_dir (LamSession *self)
{
  return self->dataset_dir;
}

const char *
lam_session_get_dataset_name (LamSession *self)
{
  return self->train_set != NULL ? self->train_set->name : NULL;
}

const LamDataset *
lam_session_get_train_set (LamSession *self)
{
  return self->train_set;
}

const LamDataset *
lam_session_get_test_set (LamSession *self)
{
  return self->test_set;
}

void
lam_session_get_dataset_stats (LamSession *self, float *mean, float *std)
{
  for (int c = 0; c < 3; c++) {
    mean[c] = self->mean[c];
    std[c] = self->std[c];
  }
}

/* Model */

/* The most edits a model keeps to undo: far more than a lesson makes. */
#define MODEL_HISTORY_MAX 200

/* Whether a and b differ in more than the input, which follows the
 * dataset and is no edit of the person's. */
static gboolean
layers_differ (const LamModelSpec *a, const LamModelSpec *b)
{
  g_autoptr (LamModelSpec) a_copy = lam_model_spec_copy (a);
  a_copy->has_input = b->has_input;
  a_copy->input = b->input;
  g_autofree char *x = lam_model_spec_to_json (a_copy);
  g_autofree char *y = lam_model_spec_to_json (b);
  return !g_str_equal (x, y);
}

/* Whether b is a with other layers, settings or loss, whatever their
 * names: an edit loses the name of the model it started from. */
static gboolean
stacks_differ (const LamModelSpec *a, const LamModelSpec *b)
{
  g_autoptr (LamModelSpec) b_named = lam_model_spec_copy (b);
  g_free (b_named->name);
  b_named->name = g_strdup (a->name);
  return layers_differ (a, b_named);
}

/* Makes spec the session's model; the one it replaces goes to record
 * (the undo or redo history) unless that is NULL. */
static void
set_spec (LamSession *self, const LamModelSpec *spec, GPtrArray *record)
{
  gboolean was_valid = self->plan != NULL;
  LamModelSpec *copy = lam_model_spec_copy (spec);
  /* A name carried through an edit no longer names the stack: the MLP
   * preset's "MLP 784-256-128-64-10" went on labelling runs of a model cut
   * to three outputs for a table. A new name (a preset, an undo) stays. */
  if (self->spec != NULL && copy->name != NULL && g_strcmp0 (copy->name, self->spec->name) == 0 &&
      layers_differ (self->spec, copy))
    g_clear_pointer (&copy->name, g_free);
  if (self->train_set != NULL) {
    copy->has_input = TRUE;
    copy->input = lam_dataset_get_input_shape (self->train_set);
  } else if (!copy->has_input) {
    copy->has_input = TRUE;
    copy->input = lam_shape_chw (1, 28, 28);
  }
  if (record != NULL) {
    g_ptr_array_add (record, lam_model_spec_copy (self->spec));
    if (record->len > MODEL_HISTORY_MAX)
      g_ptr_array_remove_index (record, 0);
  }
  if (copy != self->spec)
    g_clear_pointer (&self->spec, lam_model_spec_free);
  self->spec = copy;

  g_clear_pointer (&self->plan, lam_model_plan_free);
  g_clear_error (&self->plan_error);
  self->plan = lam_model_plan_new (self->spec, &self->plan_error);
  int needed = self->train_set != NULL ? lam_dataset_get_n_outputs (self->train_set) : 0;
  gboolean regression = self->train_set != NULL && self->train_set->task == LAM_TASK_REGRESSION;
  if (self->plan != NULL && self->train_set != NULL &&
      (regression ? lam_shape_numel (&self->plan->output) != (gsize) needed
                  : lam_shape_numel (&self->plan->output) < (gsize) needed)) {
    g_autofree char *outputs =
      lam_ui_format_quantity (lam_shape_numel (&self->plan->output), "output", "outputs");
    g_autofree char *wanted =
      regression ? lam_ui_format_quantity (needed, "value to predict", "values to predict")
                 : lam_ui_format_quantity (needed, "class", "classes");
    g_set_error (&self->plan_error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "the last layer gives %s but %s has %s: end with linear:%d", outputs,
                 self->train_set->name, wanted, needed);
    g_clear_pointer (&self->plan, lam_model_plan_free);
  }

  lam_session_spec_changed_for_training (self);
  g_signal_emit (self, signals[LAM_SESSION_SIGNAL_SPEC_CHANGED], 0);
  if (was_valid != (self->plan != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[LAM_SESSION_PROP_MODEL_VALID]);
}

void
lam_session_set_spec (LamSession *self, const LamModelSpec *spec)
{
  lam_session_set_spec_typed (self, spec, 0);
}

void
lam_session_set_spec_typed (LamSession *self, const LamModelSpec *spec, guint typing)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  g_return_if_fail (spec != NULL);
  /* An edit, as opposed to the input following the dataset, can be
   * undone; what was undone cannot be redone after it. */
  if (self->spec == NULL || !layers_differ (self->spec, spec)) {
    set_spec (self, spec, NULL);
    return;
  }
  g_ptr_array_set_size (self->spec_redo, 0);
  if (typing == 0 || typing != self->typing || self->spec_undo->len == 0) {
    self->typing = typing;
    set_spec (self, spec, self->spec_undo);
    return;
  }
  /* The next key of the same value: "256" typed over 128 made 2, 25 and
   * 256 three steps to undo. The step its first key made stands for it. */
  LamModelSpec *before = g_ptr_array_index (self->spec_undo, self->spec_undo->len - 1);
  if (stacks_differ (before, spec)) {
    set_spec (self, spec, NULL);
    return;
  }
  /* Typed back to where it started (or refused and put back): no edit,
   * and the model before it comes back as it was, name and all. */
  before = g_ptr_array_steal_index (self->spec_undo, self->spec_undo->len - 1);
  self->typing = 0;
  set_spec (self, before, NULL);
  lam_model_spec_free (before);
}

/* The newest model of from becomes the session's; the one it had goes to
 * to. */
static gboolean
step_history (LamSession *self, GPtrArray *from, GPtrArray *to)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), FALSE);
  if (from->len == 0)
    return FALSE;
  LamModelSpec *spec = g_ptr_array_steal_index (from, from->len - 1);
  self->typing = 0;
  set_spec (self, spec, to);
  lam_model_spec_free (spec);
  return TRUE;
}

gboolean
lam_session_undo_model (LamSession *self)
{
  return step_history (self, self->spec_undo, self->spec_redo);
}

gboolean
lam_session_redo_model (LamSession *self)
{
  return step_history (self, self->spec_redo, self->spec_undo);
}

gboolean
lam_session_can_undo_model (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), FALSE);
  return self->spec_undo->len > 0;
}

gboolean
lam_session_can_redo_model (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), FALSE);
  return self->spec_redo->len > 0;
}

void
lam_session_forget_model_history (LamSession *self)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  g_ptr_array_set_size (self->spec_undo, 0);
  g_ptr_array_set_size (self->spec_redo, 0);
  self->typing = 0;
}

const LamModelSpec *
lam_session_get_spec (LamSession *self)
{
  return self->spec;
}

const LamModelPlan *
lam_session_get_plan (LamSession *self)
{
  return self->plan;
}

const GError *
lam_session_get_plan_error (LamSession *self)
{
  return self->plan_error;
}

gboolean
lam_session_get_model_valid (LamSession *self)
{
  return self->plan != NULL;
}

gboolean
lam_session_get_training (LamSession *self)
{
  return self->state != LAM_TRAIN_STATE_IDLE;
}

void
lam_session_set_weights (LamSession *self, const LamModelSpec *spec, const float *params,
                         gsize n_params, const float *mean, const float *std, int epoch)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  g_return_if_fail (spec != NULL && params != NULL);

  g_clear_pointer (&self->weights_spec, lam_model_spec_free);
  g_clear_pointer (&self->weights, g_free);
  self->weights_spec = lam_model_spec_copy (spec);
  /* Never NULL, which reads as "no weights": a model without parameters
   * has trained weights too, none of them. */
  self->weights = g_memdup2 (params, sizeof (float) * MAX (n_params, 1));
  self->n_weights = n_params;
  for (int c = 0; c < 3; c++) {
    self->weights_mean[c] = mean[c];
    self->weights_std[c] = std[c];
  }
  self->weights_epoch = epoch;
  /* Weights published while training come from the dataset open now. */
  g_free (self->weights_dataset_dir);
  g_free (self->weights_dataset_name);
  self->weights_dataset_dir = g_strdup (self->dataset_dir);
  self->weights_dataset_name = g_strdup (lam_session_get_dataset_name (self));
  g_signal_emit (self, signals[LAM_SESSION_SIGNAL_WEIGHTS_CHANGED], 0);
}

void
lam_session_set_weights_dataset (LamSession *self, const char *dir, const char *name)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  g_free (self->weights_dataset_dir);
  g_free (self->weights_dataset_name);
  self->weights_dataset_dir = g_strdup (dir);
  self->weights_dataset_name = g_strdup (name);
}

const char *
lam_session_get_weights_dataset_dir (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), NULL);
  return self->weights != NULL ? self->weights_dataset_dir : NULL;
}

gboolean
lam_session_get_weights_match_dataset (LamSession *self, const char **trained_on)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), TRUE);
  if (trained_on != NULL)
    *trained_on = self->weights_dataset_name != NULL ? self->weights_dataset_name
                                                     : self->weights_dataset_dir;
  /* Unknown on either side: nothing to say. */
  if (self->weights == NULL || self->weights_dataset_dir == NULL || self->dataset_dir == NULL)
    return TRUE;
  return g_str_equal (self->weights_dataset_dir, self->dataset_dir);
}

const LamModelSpec *
lam_session_get_weights_spec (LamSession *self)
{
  return self->weights_spec;
}

const float *
lam_session_get_weights (LamSession *self, gsize *n_params)
{
  if (n_params != NULL)
    *n_params = self->n_weights;
  return self->weights;
}

void
lam_session_get_weights_normalization (LamSession *self, float *mean, float *std)
{
  for (int c = 0; c < 3; c++) {
    mean[c] = self->weights_mean[c];
    std[c] = self->weights_std[c];
  }
}

int
lam_session_get_weights_epoch (LamSession *self)
{
  return self->weights_epoch;
}

guint
lam_session_get_weights_run (LamSession *self)
{
  return self->weights_run;
}

void
lam_session_begin_run (LamSession *self)
{
  self->weights_run++;
}

void
lam_session_clear_weights (LamSession *self)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  if (self->weights_spec == NULL)
    return;
  g_clear_pointer (&self->weights_spec, lam_model_spec_free);
  g_clear_pointer (&self->weights, g_free);
  g_clear_pointer (&self->weights_dataset_dir, g_free);
  g_clear_pointer (&self->weights_dataset_name, g_free);
  self->n_weights = 0;
  self->weights_epoch = 0;
  self->weights_run++;
  lam_session_clear_snapshots (self);
  g_signal_emit (self, signals[LAM_SESSION_SIGNAL_WEIGHTS_CHANGED], 0);
}

void
lam_session_set_file_path (LamSession *self, const char *path)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  if (g_strcmp0 (self->file_path, path) == 0)
    return;
  g_free (self->file_path);
  self->file_path = g_strdup (path);
  g_object_notify_by_pspec (G_OBJECT (self), properties[LAM_SESSION_PROP_FILE_PATH]);
}

const char *
lam_session_get_file_path (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), NULL);
  return self->file_path;
}

void
lam_session_set_modified (LamSession *self, gboolean modified)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  modified = !!modified;
  if (modified)
    self->edit_serial++;
  if (self->modified == modified)
    return;
  self->modified = modified;
  g_object_notify_by_pspec (G_OBJECT (self), properties[LAM_SESSION_PROP_MODIFIED]);
}

gboolean
lam_session_get_modified (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), FALSE);
  return self->modified;
}

guint64
lam_session_get_edit_serial (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), 0);
  return self->edit_serial;
}
