#include "lam-evaluation.h"

#include <math.h>
#include <string.h>

#include "lam-device.h"
#include "lam-loader.h"
#include "lam-predict.h"
#include "lam-ui-util.h"

/* Test images per forward pass on the worker. */
#define MAX_BATCH 500

G_DEFINE_QUARK (lam-evaluation-error-quark, lam_evaluation_error)

/* Datasets: a private copy of the test set, reference-counted, so that a
 * worker and the results it made never read images the project freed when
 * another dataset was opened. */

static void
dataset_clear (gpointer data)
{
  LamDataset *dataset = data;
  g_free (dataset->name);
  g_free (dataset->images);
  g_free (dataset->labels);
  g_strfreev (dataset->class_names);
  g_free (dataset->features);
  g_strfreev (dataset->feature_names);
  g_free (dataset->feature_mean);
  g_free (dataset->feature_std);
  g_free (dataset->targets);
  g_strfreev (dataset->target_names);
  g_free (dataset->target_mean);
  g_free (dataset->target_std);
}

/* Images or a table alike: the core's deep copy, moved into a box. */
static LamDataset *
dataset_copy (const LamDataset *src)
{
  LamDataset *copy = lam_dataset_copy (src);
  LamDataset *dataset = g_atomic_rc_box_new0 (LamDataset);
  *dataset = *copy;
  g_free (copy);
  return dataset;
}

static void
dataset_release (LamDataset *dataset)
{
  g_atomic_rc_box_release_full (dataset, dataset_clear);
}

/* Results */

static void
result_clear (gpointer data)
{
  LamEvaluationResult *result = data;
  if (result->dataset != NULL)
    dataset_release ((LamDataset *) result->dataset);
  g_clear_pointer (&result->spec, lam_model_spec_free);
  g_clear_pointer (&result->plan, lam_model_plan_free);
  g_free (result->params);
  g_free (result->probabilities);
  g_free (result->predicted);
  g_free (result->confidence);
  g_free (result->loss);
  g_clear_pointer (&result->confusion, lam_confusion_free);
  g_free (result->class_accuracy);
}

LamEvaluationResult *
lam_evaluation_result_ref (LamEvaluationResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return g_atomic_rc_box_acquire (result);
}

void
lam_evaluation_result_unref (LamEvaluationResult *result)
{
  g_return_if_fail (result != NULL);
  g_atomic_rc_box_release_full (result, result_clear);
}

const float *
lam_evaluation_result_get_probabilities (const LamEvaluationResult *result, int index)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (index >= 0 && index < result->n_images, NULL);
  return result->probabilities + (gsize) index * result->n_outputs;
}

void
lam_evaluation_result_prepare_image (const LamEvaluationResult *result, int index, float *out)
{
  g_return_if_fail (result != NULL);
  g_return_if_fail (index >= 0 && index < result->n_images);
  LamLoaderConfig config = lam_loader_config_default ();
  memcpy (config.mean, result->mean, sizeof config.mean);
  memcpy (config.std, result->std, sizeof config.std);
  lam_loader_prepare_image (result->dataset, index, &config, FALSE, NULL, out);
}

/* The worker */

/* The worker's backend and model, kept for the next job of the same
 * model: made afresh, and their buffers touched for the first time, they
 * cost 20-30 ms of the 50-80 an MLP's evaluation takes. A job takes them
 * under the lock and puts them back when done; two jobs at once (one
 * cancelled) make a second pair. */
typedef struct
{
  GMutex lock;
  char *spec_text; /* of model */
  LamBackend *backend;
  LamModel *model;
} SpareModel;

static void
spare_model_clear (SpareModel *spare)
{
  g_clear_pointer (&spare->model, lam_model_free);
  g_clear_pointer (&spare->backend, lam_backend_free);
  g_clear_pointer (&spare->spec_text, g_free);
}

/* The kept pair when it is of spec_text (the caller owns it then), else
 * FALSE. */
static gboolean
spare_model_take (SpareModel *spare, const char *spec_text, LamBackend **backend, LamModel **model)
{
  g_mutex_lock (&spare->lock);
  gboolean found = spare->model != NULL && g_strcmp0 (spare->spec_text, spec_text) == 0;
  if (found) {
    *backend = g_steal_pointer (&spare->backend);
    *model = g_steal_pointer (&spare->model);
    g_clear_pointer (&spare->spec_text, g_free);
  }
  g_mutex_unlock (&spare->lock);
  return found;
}

/* A model larger than this is not kept: its memory would stay taken for
 * a saving that is small beside its evaluation's time. */
#define SPARE_MODEL_MAX_BYTES ((guint64) 64 << 20)

static void
spare_model_put (SpareModel *spare, const char *spec_text, LamBackend *backend, LamModel *model)
{
  if (lam_model_plan_estimate_bytes (lam_model_get_plan (model), MAX_BATCH) >
      SPARE_MODEL_MAX_BYTES) {
    lam_model_free (model);
    lam_backend_free (backend);
    return;
  }
  g_mutex_lock (&spare->lock);
  spare_model_clear (spare);
  spare->spec_text = g_strdup (spec_text);
  spare->backend = backend;
  spare->model = model;
  g_mutex_unlock (&spare->lock);
}

typedef struct
{
  SpareModel *spare; /* the evaluation's, alive while the task holds it */
  guint serial;
  LamDataset *dataset; /* a reference */
  LamModelSpec *spec;  /* owned */
  float *params;       /* owned */
  gsize n_params;
  float mean[3];
  float std[3];
  int epoch;
  guint run;
  gboolean rewound;
  gboolean kept; /* answered by a kept result itself */
} Job;

static void
job_free (Job *job)
{
  if (job->dataset != NULL)
    dataset_release (job->dataset);
  lam_model_spec_free (job->spec);
  g_free (job->params);
  g_free (job);
}

/* Checks that the weights fit the test images before anything runs. */
static gboolean
check_fit (const Job *job, LamModel *model, GError **error)
{
  const LamDataset *dataset = job->dataset;
  const LamModelPlan *plan = lam_model_get_plan (model);
  if (lam_shape_numel (&plan->input) != lam_dataset_image_size (dataset)) {
    LamShape holds = lam_dataset_get_input_shape (dataset);
    g_autofree char *wanted = lam_ui_describe_input (&plan->input);
    g_autofree char *found = lam_ui_describe_input (&holds);
    g_set_error (error, LAM_EVALUATION_ERROR, LAM_EVALUATION_ERROR_MISMATCH,
                 "These weights read %s, but %s holds %s. Train a model on this dataset to see "
                 "its predictions.",
                 wanted, dataset->name, found);
    return FALSE;
  }
  if (lam_model_get_n_classes (model) < dataset->n_classes) {
    g_set_error (error, LAM_EVALUATION_ERROR, LAM_EVALUATION_ERROR_MISMATCH,
                 "These weights give %d outputs, but %s has %d classes.",
                 lam_model_get_n_classes (model), dataset->name, dataset->n_classes);
    return FALSE;
  }
  if (lam_model_get_n_params (model) != job->n_params) {
    g_set_error (error, LAM_EVALUATION_ERROR, LAM_EVALUATION_ERROR_MISMATCH,
                 "The published weights have %zu parameters where their model has %zu.",
                 job->n_params, lam_model_get_n_params (model));
    return FALSE;
  }
  return TRUE;
}

static LamEvaluationResult *
evaluate (Job *job, LamModel *model, GCancellable *cancellable, GError **error)
{
  if (!check_fit (job, model, error))
    return NULL;
  lam_model_set_params_host (model, job->params);

  const LamDataset *dataset = job->dataset;
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_PROBABILITIES | LAM_PREDICT_CLASSES | LAM_PREDICT_CONFIDENCE |
                 LAM_PREDICT_LOSSES | LAM_PREDICT_CONFUSION;
  /* Outputs past the dataset's classes have no column: such a prediction
   * counts as wrong and stays out of the matrix. */
  request.confusion_classes = dataset->n_classes;
  g_autoptr (LamPrediction) prediction = lam_model_predict (
    model, dataset, NULL, 0, job->mean, job->std, &request, cancellable, error);
  if (prediction == NULL)
    return NULL;

  LamEvaluationResult *result = g_atomic_rc_box_new0 (LamEvaluationResult);
  result->dataset = g_atomic_rc_box_acquire (job->dataset);
  result->spec = lam_model_spec_copy (job->spec);
  result->plan = lam_model_plan_new (result->spec, NULL);
  result->params = g_memdup2 (job->params, sizeof (float) * job->n_params);
  result->n_params = job->n_params;
  memcpy (result->mean, job->mean, sizeof result->mean);
  memcpy (result->std, job->std, sizeof result->std);
  result->epoch = job->epoch;
  result->run = job->run;
  result->rewound = job->rewound;
  result->n_images = prediction->n_images;
  result->n_outputs = prediction->n_outputs;
  result->probabilities = g_steal_pointer (&prediction->probabilities);
  result->predicted = g_steal_pointer (&prediction->predicted);
  result->confidence = g_steal_pointer (&prediction->confidence);
  result->loss = g_steal_pointer (&prediction->losses);
  result->confusion = g_steal_pointer (&prediction->confusion);
  result->accuracy = prediction->accuracy;
  result->mean_loss = prediction->mean_loss;
  result->n_wrong = (guint) (prediction->n_images - prediction->n_correct);
  /* From the labels, not the matrix's rows: an image given an output past
   * the classes is out of the matrix but still one of its class's, and
   * wrong. */
  int n_classes = MAX (dataset->n_classes, 1);
  g_autofree guint *right = g_new0 (guint, n_classes);
  g_autofree guint *all = g_new0 (guint, n_classes);
  for (int i = 0; i < result->n_images; i++) {
    int label = dataset->labels[i];
    if (label < 0 || label >= dataset->n_classes)
      continue;
    all[label]++;
    right[label] += result->predicted[i] == label;
  }
  result->class_accuracy = g_new (double, n_classes);
  for (int c = 0; c < dataset->n_classes; c++)
    result->class_accuracy[c] = all[c] > 0 ? (double) right[c] / all[c] : NAN;
  return result;
}

static void
job_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  Job *job = task_data;
  GError *error = NULL;
  g_autofree char *spec_text = lam_model_spec_to_text (job->spec);
  LamBackend *backend = NULL;
  LamModel *model = NULL;
  if (!spare_model_take (job->spare, spec_text, &backend, &model)) {
    backend = lam_backend_cpu_new ();
    model =
      lam_model_new_with_params (job->spec, backend, MAX_BATCH, job->params, job->n_params, &error);
  }
  LamEvaluationResult *result = NULL;
  if (model != NULL) {
    result = evaluate (job, model, cancellable, &error);
    spare_model_put (job->spare, spec_text, backend, model);
  } else {
    lam_backend_free (backend);
  }
  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) lam_evaluation_result_unref);
}

/* Results kept */

/* The results of the last weights evaluated are kept (within
 * KEPT_RESULTS_BYTES), so that the epoch slider going back to an epoch
 * shows it again at once. A result is found by everything it was computed
 * from: the test images, the model, the weights and their normalisation. */
#define KEPT_RESULTS 12
#define KEPT_RESULTS_BYTES ((gsize) 96 << 20)

static gsize
result_bytes (const LamEvaluationResult *result)
{
  gsize per_image = sizeof (float) * (result->n_outputs + 2) + sizeof (gint32);
  return sizeof (float) * result->n_params + per_image * result->n_images;
}

static gboolean
result_answers (const LamEvaluationResult *result, const Job *job)
{
  if (result->dataset != job->dataset || result->run != job->run || result->epoch != job->epoch ||
      result->n_params != job->n_params || memcmp (result->mean, job->mean, sizeof job->mean) != 0 ||
      memcmp (result->std, job->std, sizeof job->std) != 0 ||
      memcmp (result->params, job->params, sizeof (float) * job->n_params) != 0)
    return FALSE;
  return lam_model_spec_equal (result->spec, job->spec);
}

/* The same scores, said of the newest weights or of an earlier epoch. */
static LamEvaluationResult *
result_copy_as (const LamEvaluationResult *src, gboolean rewound)
{
  LamEvaluationResult *result = g_atomic_rc_box_new0 (LamEvaluationResult);
  *result = *src;
  result->rewound = rewound;
  result->dataset = g_atomic_rc_box_acquire ((LamDataset *) src->dataset);
  result->spec = lam_model_spec_copy (src->spec);
  result->plan = lam_model_plan_new (result->spec, NULL);
  result->params = g_memdup2 (src->params, sizeof (float) * src->n_params);
  gsize n = (gsize) src->n_images;
  result->probabilities = g_memdup2 (src->probabilities, sizeof (float) * n * src->n_outputs);
  result->predicted = g_memdup2 (src->predicted, sizeof (gint32) * n);
  result->confidence = g_memdup2 (src->confidence, sizeof (float) * n);
  result->loss = g_memdup2 (src->loss, sizeof (float) * n);
  result->confusion = lam_confusion_new (src->confusion->n_classes);
  memcpy (result->confusion->counts, src->confusion->counts,
          sizeof (guint64) * src->confusion->n_classes * src->confusion->n_classes);
  result->confusion->total = src->confusion->total;
  result->class_accuracy =
    g_memdup2 (src->class_accuracy, sizeof (double) * MAX (src->dataset->n_classes, 1));
  return result;
}

/* The object */

typedef struct
{
  int epoch;
  gint32 *predicted; /* owned: n_images */
} HistoryEntry;

static void
history_entry_free (HistoryEntry *entry)
{
  g_free (entry->predicted);
  g_free (entry);
}

struct _LamEvaluation
{
  GObject parent_instance;

  LamSession *session;     /* the owner; NULL once it is gone */
  LamDataset *test_copy;   /* a reference; NULL until needed, dropped when the dataset changes */

  guint serial;            /* of the newest request; older results are stale */
  GCancellable *cancellable; /* owned: the newest worker's */
  gboolean busy;
  gboolean holding; /* a hold on the session's training, taken while busy */
  SpareModel spare;
  GPtrArray *kept; /* of LamEvaluationResult, oldest first */

  LamEvaluationResult *result; /* owned reference, NULL before the first */
  GError *error;               /* owned, NULL when the newest weights were evaluated */

  guint history_run;
  GPtrArray *history; /* of HistoryEntry, epochs ascending */
  /* A saved history (a reopened project's) waiting for the first result of
   * its weights on images of its count; NULL when none. */
  GPtrArray *restored;
  guint restored_run;
  int restored_n_images;

  gboolean deferred; /* new weights wait while set */
  gboolean pending;  /* weights arrived while deferred */

  /* Single images on the caller's thread. */
  LamBackend *single_backend;          /* owned, made on first use */
  LamModel *single_model;              /* owned */
  LamEvaluationResult *single_weights; /* owned reference: the result the model holds */
};

G_DEFINE_FINAL_TYPE (LamEvaluation, lam_evaluation, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_SESSION,
  PROP_BUSY,
  N_PROPS
};

enum
{
  UPDATED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* While a worker evaluates, a run training on the same cores waits: the
 * evaluation a person watches for after an epoch of the MLP takes 55-75
 * ms instead of 90-110, for a pause of that long in a second of
 * training. */
static void
hold_training (LamEvaluation *self, gboolean hold)
{
  if (hold == self->holding || (hold && self->session == NULL))
    return;
  self->holding = hold;
  if (self->session == NULL)
    return;
  if (hold)
    lam_session_hold_training (self->session);
  else
    lam_session_release_training (self->session);
}

/* Busy holds training at once; the end of the work lets it go on only
 * after `updated` (finish_update). */
static void
set_busy (LamEvaluation *self, gboolean busy)
{
  if (busy)
    hold_training (self, TRUE);
  if (self->busy == busy)
    return;
  self->busy = busy;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* Says what is now shown, then lets training go on: a page that shows
 * the result takes a hold of its own in its handler, until its frame is
 * drawn, so the training never runs between the two. */
static void
finish_update (LamEvaluation *self)
{
  set_busy (self, FALSE);
  g_signal_emit (self, signals[UPDATED], 0);
  hold_training (self, FALSE);
}

static void
reset_history (LamEvaluation *self, guint run)
{
  g_ptr_array_set_size (self->history, 0);
  self->history_run = run;
}

static void
record_history (LamEvaluation *self, LamEvaluationResult *result)
{
  if (result->run != self->history_run)
    reset_history (self, result->run);
  /* A project opened while another dataset is shown scores its weights on
   * those images first: its saved epochs wait for its own. */
  gboolean own_images =
    self->session == NULL || lam_session_get_weights_match_dataset (self->session, NULL);
  if (self->restored != NULL && own_images) {
    /* The saved epochs come first when these are the weights they belong
     * to, scored on as many images. */
    if (result->run == self->restored_run && result->n_images == self->restored_n_images &&
        self->history->len == 0) {
      for (guint k = 0; k < self->restored->len; k++)
        g_ptr_array_add (self->history, g_ptr_array_index (self->restored, k));
      /* The entries moved: the array goes without them. */
      g_ptr_array_set_free_func (self->restored, NULL);
    }
    g_clear_pointer (&self->restored, g_ptr_array_unref);
  }
  /* Weights published again for an epoch already seen (a run stopped
   * mid-epoch) replace that record and any after it. */
  while (self->history->len > 0) {
    HistoryEntry *last = g_ptr_array_index (self->history, self->history->len - 1);
    if (last->epoch < result->epoch)
      break;
    g_ptr_array_remove_index (self->history, self->history->len - 1);
  }
  HistoryEntry *entry = g_new0 (HistoryEntry, 1);
  entry->epoch = result->epoch;
  entry->predicted = g_memdup2 (result->predicted, sizeof (gint32) * result->n_images);
  g_ptr_array_add (self->history, entry);
}

static void
keep_result (LamEvaluation *self, LamEvaluationResult *result)
{
  g_ptr_array_add (self->kept, lam_evaluation_result_ref (result));
  gsize total = 0;
  for (guint i = 0; i < self->kept->len; i++)
    total += result_bytes (g_ptr_array_index (self->kept, i));
  while (self->kept->len > 1 && (self->kept->len > KEPT_RESULTS || total > KEPT_RESULTS_BYTES)) {
    total -= result_bytes (g_ptr_array_index (self->kept, 0));
    g_ptr_array_remove_index (self->kept, 0);
  }
}

static void
job_done (GObject *source, GAsyncResult *async_result, gpointer user_data)
{
  LamEvaluation *self = LAM_EVALUATION (source);
  GTask *task = G_TASK (async_result);
  Job *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamEvaluationResult) result = g_task_propagate_pointer (task, &error);

  if (job->serial != self->serial)
    return;

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->result, lam_evaluation_result_unref);
  g_clear_error (&self->error);
  if (result != NULL) {
    /* An earlier epoch looked at again is history already. */
    if (!result->rewound)
      record_history (self, result);
    if (!job->kept)
      keep_result (self, result);
    self->result = g_steal_pointer (&result);
  } else {
    self->error = g_steal_pointer (&error);
  }
  finish_update (self);
}

static void
fail_now (LamEvaluation *self, GError *error)
{
  g_clear_pointer (&self->result, lam_evaluation_result_unref);
  g_clear_error (&self->error);
  self->error = error;
  finish_update (self);
}

static void
schedule (LamEvaluation *self)
{
  const LamModelSpec *spec = lam_session_get_weights_spec (self->session);
  if (spec == NULL) {
    /* Weights withdrawn (a new project): what shows belongs to another
     * model, and a job still running is stale. */
    if (self->result == NULL && self->error == NULL && !self->busy)
      return;
    self->serial++;
    self->pending = FALSE;
    if (self->cancellable != NULL)
      g_cancellable_cancel (self->cancellable);
    g_clear_object (&self->cancellable);
    reset_history (self, lam_session_get_weights_run (self->session));
    g_clear_pointer (&self->result, lam_evaluation_result_unref);
    g_clear_error (&self->error);
    finish_update (self);
    return;
  }
  if (self->deferred) {
    self->pending = TRUE;
    return;
  }

  self->serial++;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);

  const LamDataset *test = lam_session_get_test_set (self->session);
  if (test == NULL) {
    const char *name = lam_session_get_dataset_name (self->session);
    fail_now (self, g_error_new (LAM_EVALUATION_ERROR, LAM_EVALUATION_ERROR_NO_TEST_SET,
                                 name != NULL ? "%s has no test images to evaluate on."
                                              : "Open a dataset with test images to see "
                                                "the model's predictions.",
                                 name));
    return;
  }
  if (test->task == LAM_TASK_REGRESSION) {
    /* The gallery, matrix and probabilities are about classes. */
    fail_now (self, g_error_new (LAM_EVALUATION_ERROR, LAM_EVALUATION_ERROR_NO_TEST_SET,
                                 "%s asks for values, not classes: the Train page shows how "
                                 "close the predictions come (MSE, MAE, R²).",
                                 test->name));
    return;
  }
  if (self->test_copy == NULL)
    self->test_copy = dataset_copy (test);

  Job *job = g_new0 (Job, 1);
  job->spare = &self->spare;
  job->serial = self->serial;
  job->dataset = g_atomic_rc_box_acquire (self->test_copy);
  job->spec = lam_model_spec_copy (spec);
  const float *params = lam_session_get_view_weights (self->session, &job->n_params, &job->epoch);
  job->params = g_memdup2 (params, sizeof (float) * job->n_params);
  lam_session_get_weights_normalization (self->session, job->mean, job->std);
  job->rewound = lam_session_get_view_epoch (self->session) != 0;
  job->run = lam_session_get_weights_run (self->session);

  self->cancellable = g_cancellable_new ();
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, job_done, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_set_name (task, "[lamina] evaluate");
  set_busy (self, TRUE);
  /* Answered from the main loop's next turn, as a worker's answer comes:
   * whoever publishes weights finishes saying what they are first. The
   * same result said of the newest weights or of an earlier epoch is a
   * copy, kept in its turn. */
  LamEvaluationResult *same = NULL;
  for (guint i = self->kept->len; i-- > 0 && same == NULL;) {
    LamEvaluationResult *kept = g_ptr_array_index (self->kept, i);
    if (kept->rewound == job->rewound && result_answers (kept, job)) {
      same = kept;
      job->kept = TRUE;
      g_ptr_array_add (self->kept, g_ptr_array_steal_index (self->kept, i));
    }
  }
  for (guint i = self->kept->len; i-- > 0 && same == NULL;) {
    LamEvaluationResult *kept = g_ptr_array_index (self->kept, i);
    if (result_answers (kept, job))
      same = result_copy_as (kept, job->rewound);
  }
  if (same != NULL) {
    g_task_return_pointer (task, job->kept ? lam_evaluation_result_ref (same) : same,
                           (GDestroyNotify) lam_evaluation_result_unref);
    return;
  }
  lam_ui_run_in_thread (task, job_thread);
}

static void
on_dataset_changed (LamEvaluation *self)
{
  g_clear_pointer (&self->test_copy, dataset_release);
  g_ptr_array_set_size (self->kept, 0);
  /* Other images: the old history says nothing about them. */
  reset_history (self, self->history_run);
  schedule (self);
}

static void
lam_evaluation_constructed (GObject *object)
{
  LamEvaluation *self = LAM_EVALUATION (object);
  G_OBJECT_CLASS (lam_evaluation_parent_class)->constructed (object);

  g_signal_connect_object (self->session, "weights-changed", G_CALLBACK (schedule), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::view-epoch", G_CALLBACK (schedule), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "dataset-changed", G_CALLBACK (on_dataset_changed),
                           self, G_CONNECT_SWAPPED);
  schedule (self);
}

static void
lam_evaluation_dispose (GObject *object)
{
  LamEvaluation *self = LAM_EVALUATION (object);
  /* A worker still running finds its result stale. */
  self->serial++;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  hold_training (self, FALSE);
  if (self->session != NULL) {
    g_object_remove_weak_pointer (G_OBJECT (self->session), (gpointer *) &self->session);
    self->session = NULL;
  }
  G_OBJECT_CLASS (lam_evaluation_parent_class)->dispose (object);
}

static void
lam_evaluation_finalize (GObject *object)
{
  LamEvaluation *self = LAM_EVALUATION (object);
  g_clear_pointer (&self->single_model, lam_model_free);
  g_clear_pointer (&self->single_backend, lam_backend_free);
  spare_model_clear (&self->spare);
  g_mutex_clear (&self->spare.lock);
  g_clear_pointer (&self->single_weights, lam_evaluation_result_unref);
  g_clear_pointer (&self->result, lam_evaluation_result_unref);
  g_clear_pointer (&self->test_copy, dataset_release);
  g_clear_pointer (&self->history, g_ptr_array_unref);
  g_clear_pointer (&self->restored, g_ptr_array_unref);
  g_clear_pointer (&self->kept, g_ptr_array_unref);
  g_clear_error (&self->error);
  G_OBJECT_CLASS (lam_evaluation_parent_class)->finalize (object);
}

static void
lam_evaluation_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamEvaluation *self = LAM_EVALUATION (object);
  switch (prop_id) {
  case PROP_SESSION:
    g_value_set_object (value, self->session);
    break;
  case PROP_BUSY:
    g_value_set_boolean (value, self->busy);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_evaluation_set_property (GObject *object, guint prop_id, const GValue *value,
                             GParamSpec *pspec)
{
  LamEvaluation *self = LAM_EVALUATION (object);
  switch (prop_id) {
  case PROP_SESSION:
    /* Not a reference: the session owns its evaluation. A job finishing
     * after the session went finds its result stale (dispose). */
    self->session = g_value_get_object (value);
    g_object_add_weak_pointer (G_OBJECT (self->session), (gpointer *) &self->session);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_evaluation_class_init (LamEvaluationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->constructed = lam_evaluation_constructed;
  object_class->dispose = lam_evaluation_dispose;
  object_class->finalize = lam_evaluation_finalize;
  object_class->get_property = lam_evaluation_get_property;
  object_class->set_property = lam_evaluation_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, LAM_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS |
                           G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A new result or a new error is in place. */
  signals[UPDATED] = g_signal_new ("updated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
lam_evaluation_init (LamEvaluation *self)
{
  self->history = g_ptr_array_new_with_free_func ((GDestroyNotify) history_entry_free);
  self->kept = g_ptr_array_new_with_free_func ((GDestroyNotify) lam_evaluation_result_unref);
  g_mutex_init (&self->spare.lock);
}

LamEvaluation *
lam_evaluation_new (LamSession *session)
{
  g_return_val_if_fail (LAM_IS_SESSION (session), NULL);
  return g_object_new (LAM_TYPE_EVALUATION, "session", session, NULL);
}

LamSession *
lam_evaluation_get_session (LamEvaluation *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATION (self), NULL);
  return self->session;
}

gboolean
lam_evaluation_get_busy (LamEvaluation *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATION (self), FALSE);
  return self->busy;
}

LamEvaluationResult *
lam_evaluation_get_result (LamEvaluation *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATION (self), NULL);
  return self->result;
}

const GError *
lam_evaluation_get_error (LamEvaluation *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATION (self), NULL);
  return self->error;
}

void
lam_evaluation_restore_history (LamEvaluation *self, guint run, int n_epochs, int n_images,
                                const int *epochs, const gint32 *classes)
{
  g_return_if_fail (LAM_IS_EVALUATION (self));
  g_return_if_fail (n_epochs >= 0 && n_images >= 0);
  g_clear_pointer (&self->restored, g_ptr_array_unref);
  if (n_epochs == 0 || n_images == 0)
    return;
  self->restored = g_ptr_array_new_with_free_func ((GDestroyNotify) history_entry_free);
  self->restored_run = run;
  self->restored_n_images = n_images;
  for (int e = 0; e < n_epochs; e++) {
    HistoryEntry *entry = g_new0 (HistoryEntry, 1);
    entry->epoch = epochs[e];
    entry->predicted = g_memdup2 (classes + (gsize) e * n_images, sizeof (gint32) * n_images);
    g_ptr_array_add (self->restored, entry);
  }
}

int
lam_evaluation_get_history_n_images (LamEvaluation *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATION (self), 0);
  return self->history->len > 0 && self->result != NULL ? self->result->n_images : 0;
}

guint
lam_evaluation_get_n_history (LamEvaluation *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATION (self), 0);
  return self->history->len;
}

const gint32 *
lam_evaluation_get_history (LamEvaluation *self, guint k, int *epoch)
{
  g_return_val_if_fail (LAM_IS_EVALUATION (self), NULL);
  g_return_val_if_fail (k < self->history->len, NULL);
  HistoryEntry *entry = g_ptr_array_index (self->history, k);
  if (epoch != NULL)
    *epoch = entry->epoch;
  return entry->predicted;
}

static gboolean
correct_at (LamEvaluation *self, guint k, int index, int label)
{
  HistoryEntry *entry = g_ptr_array_index (self->history, k);
  return entry->predicted[index] == label;
}

LamHistoryKind
lam_evaluation_get_image_history (LamEvaluation *self, int index, int *since, int *last_correct)
{
  g_return_val_if_fail (LAM_IS_EVALUATION (self), LAM_HISTORY_NONE);
  if (since != NULL)
    *since = 0;
  if (last_correct != NULL)
    *last_correct = 0;
  guint n = self->history->len;
  if (self->result == NULL || n == 0 || index < 0 || index >= self->result->n_images)
    return LAM_HISTORY_NONE;

  int label = self->result->dataset->labels[index];
  gboolean now = correct_at (self, n - 1, index, label);
  /* The newest streak of epochs that agree with now. */
  guint first = n - 1;
  while (first > 0 && correct_at (self, first - 1, index, label) == now)
    first--;
  HistoryEntry *streak = g_ptr_array_index (self->history, first);
  if (since != NULL)
    *since = streak->epoch;
  if (first == 0)
    return now ? LAM_HISTORY_ALWAYS_CORRECT : LAM_HISTORY_ALWAYS_WRONG;
  if (!now) {
    HistoryEntry *before = g_ptr_array_index (self->history, first - 1);
    if (last_correct != NULL)
      *last_correct = before->epoch;
    return LAM_HISTORY_BECAME_WRONG;
  }
  for (guint k = 0; k < first; k++)
    if (correct_at (self, k, index, label))
      return LAM_HISTORY_CORRECT_SINCE;
  return LAM_HISTORY_BECAME_CORRECT;
}

char *
lam_evaluation_dup_history_text (LamEvaluation *self, int index)
{
  g_return_val_if_fail (LAM_IS_EVALUATION (self), NULL);
  int since = 0, last_correct = 0;
  LamHistoryKind kind = lam_evaluation_get_image_history (self, index, &since, &last_correct);
  gboolean one = self->history->len == 1;
  switch (kind) {
  case LAM_HISTORY_NONE:
    return NULL;
  case LAM_HISTORY_ALWAYS_CORRECT:
    return one ? g_strdup_printf ("Correct after epoch %d", since)
               : g_strdup ("Correct at every epoch so far");
  case LAM_HISTORY_ALWAYS_WRONG:
    return one ? g_strdup_printf ("Wrong after epoch %d", since)
               : g_strdup ("Wrong at every epoch so far");
  case LAM_HISTORY_BECAME_CORRECT:
    return g_strdup_printf ("Became correct at epoch %d", since);
  case LAM_HISTORY_CORRECT_SINCE:
    return g_strdup_printf ("Correct since epoch %d", since);
  case LAM_HISTORY_BECAME_WRONG:
    if (since == self->result->epoch)
      return g_strdup_printf ("Was correct at epoch %d, wrong now", last_correct);
    return g_strdup_printf ("Was correct at epoch %d, wrong since epoch %d", last_correct,
                            since);
  }
  return NULL;
}

void
lam_evaluation_normalize (LamEvaluation *self, const float *pixels, float *out)
{
  g_return_if_fail (LAM_IS_EVALUATION (self));
  g_return_if_fail (self->result != NULL);
  const LamShape *input = &self->result->plan->input;
  gsize numel = lam_shape_numel (input);
  int channels = input->rank == 3 ? input->dims[0] : 1;
  gsize plane = numel / MAX (channels, 1);
  for (gsize i = 0; i < numel; i++) {
    int c = (int) MIN (i / plane, 2);
    out[i] = (pixels[i] - self->result->mean[c]) / self->result->std[c];
  }
}

static gboolean
ensure_single_model (LamEvaluation *self)
{
  if (self->single_weights == self->result && self->single_model != NULL)
    return TRUE;
  /* The same model with new weights (each epoch's) keeps its buffers: a
   * new one spent 5 ms of the result's handling on random weights that
   * were overwritten at once. */
  if (self->single_model != NULL && self->single_weights != NULL &&
      self->single_weights->n_params == self->result->n_params &&
      lam_model_spec_equal (self->single_weights->spec, self->result->spec)) {
    lam_model_set_params_host (self->single_model, self->result->params);
    g_clear_pointer (&self->single_weights, lam_evaluation_result_unref);
    self->single_weights = lam_evaluation_result_ref (self->result);
    return TRUE;
  }
  g_clear_pointer (&self->single_model, lam_model_free);
  g_clear_pointer (&self->single_weights, lam_evaluation_result_unref);
  if (self->single_backend == NULL)
    self->single_backend = lam_backend_cpu_new ();

  g_autoptr (GError) error = NULL;
  self->single_model =
    lam_model_new_with_params (self->result->spec, self->single_backend, 1, self->result->params,
                               self->result->n_params, &error);
  if (self->single_model == NULL) {
    g_debug ("cannot classify single images: %s", error->message);
    return FALSE;
  }
  self->single_weights = lam_evaluation_result_ref (self->result);
  return TRUE;
}

gboolean
lam_evaluation_predict_one (LamEvaluation *self, const float *normalised_image, float *probs,
                            float **layer_outputs)
{
  g_return_val_if_fail (LAM_IS_EVALUATION (self), FALSE);
  g_return_val_if_fail (normalised_image != NULL && probs != NULL, FALSE);
  if (self->result == NULL || !ensure_single_model (self))
    return FALSE;

  LamModel *model = self->single_model;
  const LamModelPlan *plan = lam_model_get_plan (model);
  g_autofree int *layers = g_new (int, MAX (plan->n_layers, 1));
  for (int i = 0; i < plan->n_layers; i++)
    layers[i] = i;
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_PROBABILITIES;
  if (layer_outputs != NULL) {
    request.what |= LAM_PREDICT_LAYERS;
    request.layers = layers;
    request.n_layers = plan->n_layers;
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (LamPrediction) prediction =
    lam_model_predict_inputs (model, normalised_image, 1, NULL, &request, &error);
  if (prediction == NULL) {
    g_debug ("cannot classify the image: %s", error->message);
    return FALSE;
  }
  memcpy (probs, prediction->probabilities, sizeof (float) * prediction->n_outputs);
  for (int k = 0; k < prediction->n_layers; k++)
    memcpy (layer_outputs[k], prediction->layer_outputs[k],
            sizeof (float) * prediction->layer_numel[k]);
  return TRUE;
}

void
lam_evaluation_set_deferred (LamEvaluation *self, gboolean deferred)
{
  g_return_if_fail (LAM_IS_EVALUATION (self));
  self->deferred = !!deferred;
  if (!self->deferred && self->pending) {
    self->pending = FALSE;
    schedule (self);
  }
}
