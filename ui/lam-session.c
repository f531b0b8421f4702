#include "lam-session.h"

struct _LamSession
{
  GObject parent_instance;

  char *dataset_dir;
  LamDataset *train_set; /* owned */
  LamDataset *test_set;  /* owned, may be NULL */
  float mean[3];
  float std[3];
  guint load_serial; /* the newest load; older results are stale */
  guint loads_running;

  LamModelSpec *spec;  /* owned */
  LamModelPlan *plan;  /* owned, NULL when the spec does not fit */
  GError *plan_error;  /* owned, NULL when it fits */

  LamTrainerConfig config;
  gboolean training;
  char *file_path; /* owned, NULL when untitled */
  gboolean modified;

  LamModelSpec *weights_spec; /* owned, NULL before any weights */
  float *weights;             /* owned */
  gsize n_weights;
  float weights_mean[3];
  float weights_std[3];
  int weights_epoch;
  /* The dataset the weights were trained on: its folder and its name, as
   * far as known. */
  char *weights_dataset_dir;
  char *weights_dataset_name;
  guint weights_run;
};

G_DEFINE_FINAL_TYPE (LamSession, lam_session, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_HAS_DATASET,
  PROP_LOADING,
  PROP_DATASET_DIR,
  PROP_DATASET_NAME,
  PROP_MODEL_VALID,
  PROP_TRAINING,
  PROP_FILE_PATH,
  PROP_MODIFIED,
  N_PROPS
};

enum
{
  DATASET_CHANGED,
  SPEC_CHANGED,
  WEIGHTS_CHANGED,
  SETTINGS_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
lam_session_finalize (GObject *object)
{
  LamSession *self = LAM_SESSION (object);
  g_clear_pointer (&self->dataset_dir, g_free);
  g_clear_pointer (&self->file_path, g_free);
  g_clear_pointer (&self->train_set, lam_dataset_free);
  g_clear_pointer (&self->test_set, lam_dataset_free);
  g_clear_pointer (&self->spec, lam_model_spec_free);
  g_clear_pointer (&self->plan, lam_model_plan_free);
  g_clear_error (&self->plan_error);
  g_clear_pointer (&self->weights_spec, lam_model_spec_free);
  g_clear_pointer (&self->weights, g_free);
  g_clear_pointer (&self->weights_dataset_dir, g_free);
  g_clear_pointer (&self->weights_dataset_name, g_free);
  G_OBJECT_CLASS (lam_session_parent_class)->finalize (object);
}

static void
lam_session_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamSession *self = LAM_SESSION (object);
  switch (prop_id) {
  case PROP_HAS_DATASET:
    g_value_set_boolean (value, self->train_set != NULL);
    break;
  case PROP_LOADING:
    g_value_set_boolean (value, self->loads_running > 0);
    break;
  case PROP_DATASET_DIR:
    g_value_set_string (value, self->dataset_dir);
    break;
  case PROP_DATASET_NAME:
    g_value_set_string (value, lam_session_get_dataset_name (self));
    break;
  case PROP_MODEL_VALID:
    g_value_set_boolean (value, self->plan != NULL);
    break;
  case PROP_TRAINING:
    g_value_set_boolean (value, self->training);
    break;
  case PROP_FILE_PATH:
    g_value_set_string (value, self->file_path);
    break;
  case PROP_MODIFIED:
    g_value_set_boolean (value, self->modified);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_session_class_init (LamSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->finalize = lam_session_finalize;
  object_class->get_property = lam_session_get_property;

  properties[PROP_HAS_DATASET] =
    g_param_spec_boolean ("has-dataset", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_DATASET_DIR] =
    g_param_spec_string ("dataset-dir", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_DATASET_NAME] =
    g_param_spec_string ("dataset-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_MODEL_VALID] =
    g_param_spec_boolean ("model-valid", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_TRAINING] =
    g_param_spec_boolean ("training", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_FILE_PATH] =
    g_param_spec_string ("file-path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_MODIFIED] =
    g_param_spec_boolean ("modified", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[DATASET_CHANGED] = g_signal_new ("dataset-changed", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SPEC_CHANGED] = g_signal_new ("spec-changed", G_TYPE_FROM_CLASS (klass),
                                        G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SETTINGS_CHANGED] = g_signal_new ("settings-changed", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[WEIGHTS_CHANGED] = g_signal_new ("weights-changed", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
lam_session_init (LamSession *self)
{
  self->config = lam_trainer_config_default ();
  self->config.epochs = 5;
  self->config.batch_size = 64;
  self->config.normalize_from_data = TRUE;
  for (int c = 0; c < 3; c++)
    self->std[c] = 1;
  self->spec = lam_model_spec_preset ("mlp", NULL);
  if (self->spec == NULL)
    self->spec = lam_model_spec_new ();
  lam_session_set_spec (self, self->spec);
}

LamSession *
lam_session_new (void)
{
  return g_object_new (LAM_TYPE_SESSION, NULL);
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

static void
load_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  LoadJob *job = task_data;
  GError *error = NULL;
  if (!lam_dataset_load_dir (job->dir, &job->train, &job->test, &error)) {
    g_task_return_error (task, error);
    return;
  }
  lam_dataset_compute_stats (job->train, NULL, job->train->n, job->mean, job->std);
  g_task_return_boolean (task, TRUE);
}

static void
set_loading (LamSession *self, int delta)
{
  gboolean was = self->loads_running > 0;
  self->loads_running += delta;
  if (was != (self->loads_running > 0))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
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
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_DATASET]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATASET_DIR]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATASET_NAME]);
  g_signal_emit (self, signals[DATASET_CHANGED], 0);
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
  if (self->training) {
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
  g_task_run_in_thread (task, load_thread);
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

void
lam_session_set_spec (LamSession *self, const LamModelSpec *spec)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  g_return_if_fail (spec != NULL);

  gboolean was_valid = self->plan != NULL;
  LamModelSpec *copy = lam_model_spec_copy (spec);
  if (self->train_set != NULL) {
    copy->has_input = TRUE;
    copy->input = lam_shape_chw (self->train_set->channels, self->train_set->height,
                                 self->train_set->width);
  } else if (!copy->has_input) {
    copy->has_input = TRUE;
    copy->input = lam_shape_chw (1, 28, 28);
  }
  if (copy != self->spec)
    g_clear_pointer (&self->spec, lam_model_spec_free);
  self->spec = copy;

  g_clear_pointer (&self->plan, lam_model_plan_free);
  g_clear_error (&self->plan_error);
  self->plan = lam_model_plan_new (self->spec, &self->plan_error);
  if (self->plan != NULL && self->train_set != NULL &&
      lam_shape_numel (&self->plan->output) < (gsize) self->train_set->n_classes) {
    g_set_error (&self->plan_error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "the last layer gives %zu outputs but %s has %d classes: end with linear:%d",
                 lam_shape_numel (&self->plan->output), self->train_set->name,
                 self->train_set->n_classes, self->train_set->n_classes);
    g_clear_pointer (&self->plan, lam_model_plan_free);
  }

  g_signal_emit (self, signals[SPEC_CHANGED], 0);
  if (was_valid != (self->plan != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL_VALID]);
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

LamTrainerConfig *
lam_session_get_config (LamSession *self)
{
  return &self->config;
}

void
lam_session_set_training (LamSession *self, gboolean training)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  training = !!training;
  if (self->training == training)
    return;
  self->training = training;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRAINING]);
}

gboolean
lam_session_get_training (LamSession *self)
{
  return self->training;
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
  self->weights = g_memdup2 (params, sizeof (float) * n_params);
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
  g_signal_emit (self, signals[WEIGHTS_CHANGED], 0);
}

void
lam_session_settings_changed (LamSession *self)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  g_signal_emit (self, signals[SETTINGS_CHANGED], 0);
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
  g_signal_emit (self, signals[WEIGHTS_CHANGED], 0);
}

void
lam_session_set_file_path (LamSession *self, const char *path)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  if (g_strcmp0 (self->file_path, path) == 0)
    return;
  g_free (self->file_path);
  self->file_path = g_strdup (path);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILE_PATH]);
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
  if (self->modified == modified)
    return;
  self->modified = modified;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODIFIED]);
}

gboolean
lam_session_get_modified (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), FALSE);
  return self->modified;
}
