#include "lam-explainer.h"

#include <string.h>

#include "lam-predict.h"
#include "lam-ui-util.h"

/* Images per forward pass while indexing; the evaluation's worker uses as
 * many. */
#define INDEX_BATCH 500
/* Forward passes between two progress reports. */
#define INDEX_BATCHES_PER_REPORT 4

G_DEFINE_QUARK (lam-explainer-error-quark, lam_explainer_error)

/* The training images, copied: the session frees its own when another
 * dataset opens, while a worker may still be reading them. Shared by
 * reference between the explainer and its index workers. */
typedef struct
{
  LamDataset *dataset; /* owned */
} TrainCopy;

static void
train_copy_clear (gpointer data)
{
  TrainCopy *copy = data;
  g_clear_pointer (&copy->dataset, lam_dataset_free);
}

static void
train_copy_release (TrainCopy *copy)
{
  g_atomic_rc_box_release_full (copy, train_copy_clear);
}

/* A model of the result's weights on a CPU backend of its own, for
 * whichever thread makes it. */
static LamUiModel *
model_for (const LamEvaluationResult *result, int max_batch, GError **error)
{
  return lam_ui_model_new (result->spec, result->params, result->n_params, max_batch, error);
}

/* ---- explanations of one image ---- */

typedef struct
{
  guint serial;
  guint generation;
  LamEvaluationResult *result; /* a reference; NULL when error is set */
  float *input;                /* owned */
  LamExplainMethod method;
  int klass;
  GError *error; /* owned: the answer known before any work (no result) */
} ExplainJob;

static void
explain_job_free (ExplainJob *job)
{
  g_clear_pointer (&job->result, lam_evaluation_result_unref);
  g_free (job->input);
  g_clear_error (&job->error);
  g_free (job);
}

static void
explain_thread (GTask *task, gpointer source_object, gpointer task_data,
                GCancellable *cancellable)
{
  ExplainJob *job = task_data;
  GError *error = NULL;
  if (job->error != NULL) {
    g_task_return_error (task, g_error_copy (job->error));
    return;
  }
  g_autoptr (LamUiModel) model = model_for (job->result, 1, &error);
  LamExplanation *explanation = NULL;
  if (model != NULL)
    explanation = lam_explain_inputs (model->model, job->input, 1, job->method, job->klass,
                                      LAM_EXPLAIN_LAYER_AUTO, &error);
  if (explanation == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, explanation, (GDestroyNotify) lam_explanation_free);
}

/* ---- answers kept for earlier weights ---- */

/* The look-alike index of the training images and the map take a pass
 * over thousands of images each: those of the last few sets of weights
 * shown are kept. 30 MB is one MLP index of Fashion-MNIST. */
#define CACHE_BYTES ((gsize) 192 << 20)
#define CACHE_ENTRIES 16

typedef struct
{
  char *key;
  LamFeatureIndex *index;    /* owned, may be NULL */
  float *map_coords;         /* owned, map_n × 2, may be NULL */
  int map_n;
  LamFeatureMapAxes *map_axes; /* owned, with map_coords */
} Cached;

static void
cached_free (Cached *cached)
{
  g_free (cached->key);
  g_clear_pointer (&cached->index, lam_feature_index_free);
  g_free (cached->map_coords);
  g_clear_pointer (&cached->map_axes, lam_feature_map_axes_free);
  g_free (cached);
}

static gsize
cached_bytes (const Cached *cached)
{
  gsize bytes = (gsize) cached->map_n * 2 * sizeof (float);
  if (cached->index != NULL)
    bytes += lam_feature_index_get_n (cached->index) * lam_feature_index_get_dim (cached->index) *
             sizeof (float);
  return bytes;
}

/* The weights themselves name the answers: the same run and epoch can
 * come with other weights (a run stopped mid-epoch publishes its last
 * ones under the epoch it had finished). */
static char *
result_key (const LamEvaluationResult *result)
{
  /* FNV-1a over 64-bit words (each product's high half folded into its
   * low) in four independent streams: a byte at a time, one chain of
   * multiplies took 2.5 ms of the main loop for the MLP's 242,000
   * weights, twice per new result. */
  guint64 hash[4] = { 14695981039346656037u, 1099511628211u, 0x9e3779b97f4a7c15u,
                      0xc2b2ae3d27d4eb4fu };
  const guint64 prime = 1099511628211u;
  gsize n_bytes = result->n_params * sizeof (float), n_words = n_bytes / 8;
  const guint8 *bytes = (const guint8 *) result->params;
  gsize w = 0;
  for (; w + 4 <= n_words; w += 4) {
    for (int s = 0; s < 4; s++) {
      guint64 word;
      memcpy (&word, bytes + (w + s) * 8, 8);
      hash[s] = (hash[s] ^ word) * prime;
      // A product carries upward only: fold the high half down.
      hash[s] ^= hash[s] >> 32;
    }
  }
  for (gsize i = w * 8; i < n_bytes; i++)
    hash[0] = (hash[0] ^ bytes[i]) * prime;
  guint64 all = hash[0];
  for (int s = 1; s < 4; s++) {
    all = (all ^ hash[s]) * prime;
    all ^= all >> 32;
  }
  return g_strdup_printf ("%u/%d/%zu/%016" G_GINT64_MODIFIER "x", result->run, result->epoch,
                          result->n_params, all);
}

/* ---- the index ---- */

/* What an index worker reports while it runs: its progress under a mutex,
 * handed to the main loop by one pending idle source at a time. */
typedef struct
{
  GMutex lock;
  double progress;
  gboolean idle_pending;
  guint generation;
  GWeakRef explainer;
} Progress;

static void
progress_clear (gpointer data)
{
  Progress *progress = data;
  g_mutex_clear (&progress->lock);
  g_weak_ref_clear (&progress->explainer);
}

static void
progress_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, progress_clear);
}

typedef struct
{
  guint generation;
  LamEvaluationResult *result; /* a reference */
  TrainCopy *train;            /* a reference */
  Progress *progress;          /* a reference */
} IndexJob;

static void
index_job_free (IndexJob *job)
{
  lam_evaluation_result_unref (job->result);
  train_copy_release (job->train);
  progress_release (job->progress);
  g_free (job);
}

static void index_progress_arrived (LamExplainer *self, guint generation, double progress);

static gboolean
progress_idle (gpointer data)
{
  Progress *progress = data;
  g_mutex_lock (&progress->lock);
  double value = progress->progress;
  progress->idle_pending = FALSE;
  g_mutex_unlock (&progress->lock);
  g_autoptr (GObject) self = g_weak_ref_get (&progress->explainer);
  if (self != NULL)
    index_progress_arrived (LAM_EXPLAINER (self), progress->generation, value);
  return G_SOURCE_REMOVE;
}

static void
progress_report (Progress *progress, double value)
{
  g_mutex_lock (&progress->lock);
  progress->progress = value;
  if (!progress->idle_pending) {
    progress->idle_pending = TRUE;
    g_idle_add_full (G_PRIORITY_DEFAULT, progress_idle, g_atomic_rc_box_acquire (progress),
                     progress_release);
  }
  g_mutex_unlock (&progress->lock);
}

static gboolean
check_train_fit (const LamModel *model, const LamDataset *train, GError **error)
{
  const LamModelPlan *plan = lam_model_get_plan ((LamModel *) model);
  if (lam_shape_numel (&plan->input) != lam_dataset_image_size (train)) {
    LamShape holds = lam_dataset_get_input_shape (train);
    g_autofree char *wanted = lam_ui_describe_input (&plan->input);
    g_autofree char *found = lam_ui_describe_input (&holds);
    g_set_error (error, LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_MISMATCH,
                 "These weights read %s, but the training set %s holds %s: no look-alikes "
                 "to show.",
                 wanted, train->name, found);
    return FALSE;
  }
  return TRUE;
}

/* The same features lam_feature_index_new takes, a few batches at a time
 * so that progress can be told: slices start at multiples of the batch, so
 * every forward pass holds the same images as one over the whole set. */
static LamFeatureIndex *
build_index (IndexJob *job, GCancellable *cancellable, GError **error)
{
  const LamEvaluationResult *result = job->result;
  const LamDataset *train = job->train->dataset;
  g_autoptr (LamUiModel) model = model_for (result, INDEX_BATCH, error);
  if (model == NULL || !check_train_fit (model->model, train, error))
    return NULL;

  gsize n = (gsize) MAX (train->n, 0);
  gsize dim = 0;
  g_autofree float *features = NULL;
  gsize slice = (gsize) INDEX_BATCH * INDEX_BATCHES_PER_REPORT;
  g_autofree guint32 *order = g_new (guint32, slice);
  for (gsize start = 0; start < n; start += slice) {
    gsize count = MIN (slice, n - start);
    for (gsize i = 0; i < count; i++)
      order[i] = (guint32) (start + i);
    g_autofree float *part =
      lam_explain_features (model->model, train, order, count, result->mean, result->std,
                            LAM_EXPLAIN_LAYER_AUTO, &dim, cancellable, error);
    if (part == NULL)
      return NULL;
    if (features == NULL) {
      features = g_try_new (float, n * dim);
      if (features == NULL) {
        g_set_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_MEMORY,
                     "could not allocate %.1f MB for the training images' features",
                     (double) n * dim * sizeof (float) / (1024.0 * 1024.0));
        return NULL;
      }
    }
    memcpy (features + start * dim, part, sizeof (float) * count * dim);
    progress_report (job->progress, (double) (start + count) / (double) n);
  }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (n == 0) {
    /* No training images: an empty index, asked nothing. */
    const LamModelPlan *plan = lam_model_get_plan (model->model);
    int layer = lam_model_plan_penultimate_layer (plan);
    dim = layer < 0 ? lam_shape_numel (&plan->input)
                    : lam_shape_numel (&plan->layers[layer].out_shape);
  }
  /* A table's columns are standardised numbers, not brightness: a row
   * twice as far out along the same direction is another row, which the
   * cosine that suits images would score as the same. */
  LamFeatureMetric metric =
    lam_dataset_is_table (train) ? LAM_FEATURE_DISTANCE : LAM_FEATURE_COSINE;
  return lam_feature_index_new_with_metric (features, n, dim, metric, error);
}

static void
index_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;
  LamFeatureIndex *index = build_index (task_data, cancellable, &error);
  if (index == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, index, (GDestroyNotify) lam_feature_index_free);
}

/* ---- the map ---- */

typedef struct
{
  guint generation;
  LamEvaluationResult *result; /* a reference */
  LamFeatureMapAxes *previous; /* owned, NULL for the first frame */
} MapJob;

static void
map_job_free (MapJob *job)
{
  lam_evaluation_result_unref (job->result);
  g_clear_pointer (&job->previous, lam_feature_map_axes_free);
  g_free (job);
}

typedef struct
{
  LamFeatureMapAxes *axes; /* owned */
  float *coords;           /* owned, n × 2 */
  int n;
} MapAnswer;

static void
map_answer_free (MapAnswer *answer)
{
  g_clear_pointer (&answer->axes, lam_feature_map_axes_free);
  g_free (answer->coords);
  g_free (answer);
}

/* The map's own limits in the words of the Map tab, which shows the
 * message as it is: the core's ("a map needs at least 2 rows of 2 to 4096
 * features") read as a fault. dim is the features per test image, 0 while
 * they are not computed. */
static gboolean
check_mappable (const LamDataset *test, gsize dim, GError **error)
{
  const char *item = lam_dataset_is_table (test) ? "row" : "image";
  if (test->n < 2) {
    g_set_error (error, LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_NO_MAP,
                 "No map: it places test %ss by how alike the model finds them, and %s has "
                 "only one. Open a dataset with more test %ss to see a map.",
                 item, test->name, item);
    return FALSE;
  }
  if (dim == 1) {
    g_set_error (error, LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_NO_MAP,
                 "No map: the layer before the last gives one number per test %s, and a map "
                 "needs two to spread the %ss over a plane. A model with a wider layer there "
                 "gets a map.",
                 item, item);
    return FALSE;
  }
  if (dim > LAM_FEATURE_MAP_MAX_FEATURES) {
    g_autofree char *count = lam_ui_format_count (dim);
    g_autofree char *most = lam_ui_format_count (LAM_FEATURE_MAP_MAX_FEATURES);
    g_set_error (error, LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_NO_MAP,
                 "No map: the layer before the last gives %s numbers per test %s, and the "
                 "map compares at most %s. A model with a narrower layer there (fewer units, "
                 "or pooling before the flatten) gets a map.",
                 count, item, most);
    return FALSE;
  }
  return TRUE;
}

static MapAnswer *
build_map (MapJob *job, GCancellable *cancellable, GError **error)
{
  const LamEvaluationResult *result = job->result;
  if (!check_mappable (result->dataset, 0, error))
    return NULL;
  g_autoptr (LamUiModel) model = model_for (result, INDEX_BATCH, error);
  if (model == NULL)
    return NULL;
  gsize dim = 0;
  g_autofree float *features =
    lam_explain_features (model->model, result->dataset, NULL, 0, result->mean, result->std,
                          LAM_EXPLAIN_LAYER_AUTO, &dim, cancellable, error);
  if (features == NULL || !check_mappable (result->dataset, dim, error))
    return NULL;
  int n = result->dataset->n;
  g_autofree float *coords = g_new (float, (gsize) n * 2);
  GError *local = NULL;
  LamFeatureMapAxes *axes =
    lam_feature_map_compute (features, n, (int) dim, job->previous, coords, &local);
  /* Another model's features have another number of values: its first
   * frame starts afresh. */
  if (axes == NULL && g_error_matches (local, LAM_FEATURE_MAP_ERROR,
                                       LAM_FEATURE_MAP_ERROR_MISMATCH)) {
    g_clear_error (&local);
    axes = lam_feature_map_compute (features, n, (int) dim, NULL, coords, &local);
  }
  if (axes == NULL) {
    g_propagate_error (error, local);
    return NULL;
  }
  MapAnswer *answer = g_new0 (MapAnswer, 1);
  answer->axes = axes;
  answer->coords = g_steal_pointer (&coords);
  answer->n = n;
  return answer;
}

static void
map_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;
  MapAnswer *answer = build_map (task_data, cancellable, &error);
  if (answer == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, answer, (GDestroyNotify) map_answer_free);
}

/* ---- the object ---- */

struct _LamExplainer
{
  GObject parent_instance;

  LamSession *session; /* weak pointer: the owner */
  gulong dataset_changed_id;

  LamEvaluationResult *result; /* owned reference, NULL when none */
  GError *unsupported;         /* owned: why result gets no explanations */
  /* Counts results: an answer from another generation is stale. */
  guint generation;
  GCancellable *cancellable; /* owned: cancels the generation's workers */
  /* The same for the index, which another training set makes stale too. */
  guint index_generation;
  GCancellable *index_cancellable; /* owned */
  gboolean index_running; /* a build of this generation's index runs */

  /* One image. */
  guint explain_serial;
  gboolean explain_running;
  ExplainJob *explain_queued; /* owned: waits for the running one */
  guint n_explain_runs;
  LamExplanation *explanation; /* owned: the newest delivered */
  GError *explain_error;       /* owned */

  /* The index. */
  TrainCopy *train; /* a reference; NULL until needed, dropped when the dataset changes */
  LamFeatureIndex *index; /* owned */
  double index_progress;
  GError *index_error; /* owned */

  /* The map. */
  gboolean map_ready;
  gboolean map_running; /* a map of this generation runs */
  float *map_coords; /* owned, map_n × 2 */
  int map_n;
  /* Another dataset opened since result was set: its map places the old
   * test images, which the same weights' next result does not show. */
  gboolean map_of_old_images;
  LamFeatureMapAxes *map_axes; /* owned: the newest frame's, kept across results */
  GError *map_error;           /* owned */

  /* What earlier results' weights gave, newest first, so that the epoch
   * slider going back and forth finds its look-alikes and its map at once
   * (Cached*; within CACHE_BYTES). */
  GQueue cache;

  /* One input's features on the main thread (nearest, project). */
  LamUiModel *single;    /* owned, of result's weights; made on first use */
  float *single_input;   /* owned: the input whose features single_features hold */
  float *single_features; /* owned */
  gsize single_dim;
};

G_DEFINE_FINAL_TYPE (LamExplainer, lam_explainer, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_SESSION,
  PROP_INDEX_PROGRESS,
  PROP_INDEX_READY,
  PROP_MAP_READY,
  N_PROPS
};

enum
{
  EXPLAINED,
  INDEX_READY,
  MAP_READY,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
set_index_progress (LamExplainer *self, double progress)
{
  if (self->index_progress == progress)
    return;
  self->index_progress = progress;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INDEX_PROGRESS]);
}

static void
index_progress_arrived (LamExplainer *self, guint generation, double progress)
{
  if (generation == self->index_generation && self->index == NULL)
    set_index_progress (self, progress);
}

static void
clear_single (LamExplainer *self)
{
  g_clear_pointer (&self->single, lam_ui_model_free);
  g_clear_pointer (&self->single_input, g_free);
  g_clear_pointer (&self->single_features, g_free);
  self->single_dim = 0;
}

static void
renew_cancellable (GCancellable **cancellable)
{
  if (*cancellable != NULL)
    g_cancellable_cancel (*cancellable);
  g_clear_object (cancellable);
  *cancellable = g_cancellable_new ();
}

static Cached *
cache_take (LamExplainer *self, const char *key)
{
  for (GList *l = self->cache.head; l != NULL; l = l->next)
    if (g_str_equal (((Cached *) l->data)->key, key)) {
      Cached *cached = l->data;
      g_queue_delete_link (&self->cache, l);
      return cached;
    }
  return NULL;
}

static void
cache_put (LamExplainer *self, Cached *cached)
{
  if (cached->index == NULL && cached->map_coords == NULL) {
    cached_free (cached);
    return;
  }
  g_queue_push_head (&self->cache, cached);
  gsize total = 0;
  for (GList *l = self->cache.head; l != NULL; l = l->next)
    total += cached_bytes (l->data);
  while (self->cache.length > 1 &&
         (total > CACHE_BYTES || self->cache.length > CACHE_ENTRIES)) {
    Cached *oldest = g_queue_pop_tail (&self->cache);
    total -= cached_bytes (oldest);
    cached_free (oldest);
  }
}

/* Ends what runs for the index: its answer becomes stale. */
static void
new_index_generation (LamExplainer *self)
{
  self->index_generation++;
  self->index_running = FALSE;
  renew_cancellable (&self->index_cancellable);
}

/* Ends what runs for the current result. */
static void
new_generation (LamExplainer *self)
{
  self->generation++;
  self->map_running = FALSE;
  renew_cancellable (&self->cancellable);
  new_index_generation (self);
}

static void
drop_index (LamExplainer *self)
{
  gboolean was_ready = self->index != NULL;
  g_clear_pointer (&self->index, lam_feature_index_free);
  g_clear_error (&self->index_error);
  set_index_progress (self, 0);
  if (was_ready)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INDEX_READY]);
}

/* ---- one image ---- */

static void explain_done (GObject *source, GAsyncResult *async_result, gpointer user_data);

static void
explain_start (LamExplainer *self, ExplainJob *job)
{
  self->explain_running = TRUE;
  self->n_explain_runs++;
  g_autoptr (GTask) task = g_task_new (self, NULL, explain_done, NULL);
  g_task_set_source_tag (task, explain_start);
  g_task_set_task_data (task, job, (GDestroyNotify) explain_job_free);
  lam_ui_run_in_thread (task, explain_thread);
}

static void
explain_done (GObject *source, GAsyncResult *async_result, gpointer user_data)
{
  LamExplainer *self = LAM_EXPLAINER (source);
  GTask *task = G_TASK (async_result);
  ExplainJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamExplanation) explanation = g_task_propagate_pointer (task, &error);

  self->explain_running = FALSE;
  /* The waiting request goes first, so a handler of "explained" that asks
   * again queues behind it instead of running beside it. */
  if (self->explain_queued != NULL)
    explain_start (self, g_steal_pointer (&self->explain_queued));

  if (job->generation != self->generation || job->serial != self->explain_serial)
    return;
  g_clear_pointer (&self->explanation, lam_explanation_free);
  g_clear_error (&self->explain_error);
  self->explanation = g_steal_pointer (&explanation);
  self->explain_error = g_steal_pointer (&error);
  g_signal_emit (self, signals[EXPLAINED], 0, job->serial, self->explanation,
                 self->explain_error);
}

/* The reason no request can be answered, or NULL. */
static GError *
dup_refusal (LamExplainer *self)
{
  if (self->result == NULL)
    return g_error_new_literal (LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_NO_RESULT,
                                "No weights have been evaluated yet: train the model first.");
  if (self->unsupported != NULL)
    return g_error_copy (self->unsupported);
  return NULL;
}

void
lam_explainer_explain (LamExplainer *self, const float *normalised_input,
                       LamExplainMethod method, int klass, guint *serial_out)
{
  g_return_if_fail (LAM_IS_EXPLAINER (self));

  ExplainJob *job = g_new0 (ExplainJob, 1);
  job->serial = ++self->explain_serial;
  job->generation = self->generation;
  job->method = method;
  job->klass = klass;
  job->error = dup_refusal (self);
  if (job->error == NULL && normalised_input == NULL)
    job->error = g_error_new_literal (LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID,
                                      "no image given to explain");
  if (job->error == NULL) {
    job->result = lam_evaluation_result_ref (self->result);
    job->input = g_memdup2 (normalised_input,
                            sizeof (float) * lam_shape_numel (&self->result->plan->input));
  }
  if (serial_out != NULL)
    *serial_out = job->serial;

  if (self->explain_running) {
    g_clear_pointer (&self->explain_queued, explain_job_free);
    self->explain_queued = job;
  } else {
    explain_start (self, job);
  }
}

const LamExplanation *
lam_explainer_get_explanation (LamExplainer *self)
{
  g_return_val_if_fail (LAM_IS_EXPLAINER (self), NULL);
  return self->explanation;
}

const GError *
lam_explainer_get_explain_error (LamExplainer *self)
{
  g_return_val_if_fail (LAM_IS_EXPLAINER (self), NULL);
  return self->explain_error;
}

gboolean
lam_explainer_map_is_blank (const LamExplanation *explanation, int image)
{
  g_return_val_if_fail (explanation != NULL, TRUE);
  g_return_val_if_fail (image >= 0 && image < explanation->n_images, TRUE);
  gsize hw = (gsize) explanation->height * explanation->width;
  const float *map = explanation->maps + (gsize) image * hw;
  for (gsize q = 0; q < hw; q++)
    if (map[q] != 0)
      return FALSE;
  return TRUE;
}

guint
lam_explainer_get_n_explain_runs (LamExplainer *self)
{
  g_return_val_if_fail (LAM_IS_EXPLAINER (self), 0);
  return self->n_explain_runs;
}

/* ---- the index ---- */

static void
index_done (GObject *source, GAsyncResult *async_result, gpointer user_data)
{
  LamExplainer *self = LAM_EXPLAINER (source);
  GTask *task = G_TASK (async_result);
  IndexJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  LamFeatureIndex *index = g_task_propagate_pointer (task, &error);

  if (job->generation != self->index_generation) {
    g_clear_pointer (&index, lam_feature_index_free);
    return;
  }
  self->index_running = FALSE;
  g_clear_pointer (&self->index, lam_feature_index_free);
  g_clear_error (&self->index_error);
  self->index = index;
  self->index_error = g_steal_pointer (&error);
  if (index != NULL) {
    set_index_progress (self, 1);
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INDEX_READY]);
  }
  g_signal_emit (self, signals[INDEX_READY], 0);
}

static void
index_start (LamExplainer *self)
{
  const LamDataset *train = lam_session_get_train_set (self->session);
  if (train == NULL) {
    self->index_error = g_error_new_literal (LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_NO_RESULT,
                                             "No training images are open.");
    return;
  }
  if (self->train == NULL) {
    self->train = g_atomic_rc_box_new0 (TrainCopy);
    self->train->dataset = lam_dataset_copy (train);
  }
  Progress *progress = g_atomic_rc_box_new0 (Progress);
  g_mutex_init (&progress->lock);
  g_weak_ref_init (&progress->explainer, self);
  progress->generation = self->index_generation;

  IndexJob *job = g_new0 (IndexJob, 1);
  job->generation = self->index_generation;
  job->result = lam_evaluation_result_ref (self->result);
  job->train = g_atomic_rc_box_acquire (self->train);
  job->progress = progress;
  g_autoptr (GTask) task = g_task_new (self, self->index_cancellable, index_done, NULL);
  g_task_set_source_tag (task, index_start);
  g_task_set_task_data (task, job, (GDestroyNotify) index_job_free);
  self->index_running = TRUE;
  lam_ui_run_in_thread (task, index_thread);
}

void
lam_explainer_ensure_index (LamExplainer *self)
{
  g_return_if_fail (LAM_IS_EXPLAINER (self));
  if (self->result == NULL || self->unsupported != NULL || self->index != NULL ||
      self->index_error != NULL || self->index_running)
    return;
  index_start (self);
}

double
lam_explainer_get_index_progress (LamExplainer *self)
{
  g_return_val_if_fail (LAM_IS_EXPLAINER (self), 0);
  return self->index_progress;
}

gboolean
lam_explainer_get_index_ready (LamExplainer *self)
{
  g_return_val_if_fail (LAM_IS_EXPLAINER (self), FALSE);
  return self->index != NULL;
}

const GError *
lam_explainer_get_index_error (LamExplainer *self)
{
  g_return_val_if_fail (LAM_IS_EXPLAINER (self), NULL);
  return self->index_error;
}

/* The features of one input on the main thread; the last input's are
 * kept, so a drawing placed on the map and searched for costs one pass. */
static const float *
single_features (LamExplainer *self, const float *input, gsize *dim, GError **error)
{
  gsize numel = lam_shape_numel (&self->result->plan->input);
  if (self->single_features != NULL &&
      memcmp (self->single_input, input, sizeof (float) * numel) == 0) {
    *dim = self->single_dim;
    return self->single_features;
  }
  if (self->single == NULL) {
    self->single = model_for (self->result, 1, error);
    if (self->single == NULL)
      return NULL;
  }
  float *features = lam_explain_features_inputs (self->single->model, input, 1,
                                                 LAM_EXPLAIN_LAYER_AUTO, dim, error);
  if (features == NULL)
    return NULL;
  g_free (self->single_features);
  g_free (self->single_input);
  self->single_features = features;
  self->single_input = g_memdup2 (input, sizeof (float) * numel);
  self->single_dim = *dim;
  return features;
}

int
lam_explainer_nearest (LamExplainer *self, const float *normalised_input, int k,
                       guint32 *indices, float *similarities, gint32 *labels, GError **error)
{
  g_return_val_if_fail (LAM_IS_EXPLAINER (self), -1);
  g_return_val_if_fail (normalised_input != NULL && indices != NULL, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  GError *refusal = dup_refusal (self);
  if (refusal != NULL) {
    g_propagate_error (error, refusal);
    return -1;
  }
  if (self->index == NULL) {
    lam_explainer_ensure_index (self);
    if (self->index_error != NULL)
      g_propagate_error (error, g_error_copy (self->index_error));
    else
      g_set_error (error, LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_NOT_READY,
                   "The training images are still being indexed (%.0f%%).",
                   self->index_progress * 100);
    return -1;
  }
  gsize dim;
  const float *features = single_features (self, normalised_input, &dim, error);
  if (features == NULL)
    return -1;
  int found = lam_feature_index_query (self->index, features, 1, dim, k, indices, similarities,
                                       error);
  if (found < 0 || labels == NULL)
    return found;
  const LamDataset *train = self->train->dataset;
  for (int i = 0; i < k; i++)
    labels[i] = i < found && train->labels != NULL ? train->labels[indices[i]] : -1;
  return found;
}

/* ---- the map ---- */

static void
map_done (GObject *source, GAsyncResult *async_result, gpointer user_data)
{
  LamExplainer *self = LAM_EXPLAINER (source);
  GTask *task = G_TASK (async_result);
  MapJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  MapAnswer *answer = g_task_propagate_pointer (task, &error);

  if (job->generation != self->generation) {
    g_clear_pointer (&answer, map_answer_free);
    return;
  }
  self->map_running = FALSE;
  g_clear_error (&self->map_error);
  if (answer != NULL) {
    g_clear_pointer (&self->map_axes, lam_feature_map_axes_free);
    g_clear_pointer (&self->map_coords, g_free);
    self->map_axes = g_steal_pointer (&answer->axes);
    self->map_coords = g_steal_pointer (&answer->coords);
    self->map_n = answer->n;
    self->map_ready = TRUE;
    map_answer_free (answer);
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAP_READY]);
  } else {
    self->map_error = g_steal_pointer (&error);
  }
  g_signal_emit (self, signals[MAP_READY], 0);
}

static void
map_start (LamExplainer *self)
{
  MapJob *job = g_new0 (MapJob, 1);
  job->generation = self->generation;
  job->result = lam_evaluation_result_ref (self->result);
  job->previous = self->map_axes != NULL ? lam_feature_map_axes_copy (self->map_axes) : NULL;
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, map_done, NULL);
  g_task_set_source_tag (task, map_start);
  g_task_set_task_data (task, job, (GDestroyNotify) map_job_free);
  self->map_running = TRUE;
  lam_ui_run_in_thread (task, map_thread);
}

void
lam_explainer_ensure_map (LamExplainer *self)
{
  g_return_if_fail (LAM_IS_EXPLAINER (self));
  if (self->result == NULL || self->unsupported != NULL || self->map_ready ||
      self->map_error != NULL || self->map_running)
    return;
  map_start (self);
}

gboolean
lam_explainer_get_map_ready (LamExplainer *self)
{
  g_return_val_if_fail (LAM_IS_EXPLAINER (self), FALSE);
  return self->map_ready;
}

const GError *
lam_explainer_get_map_error (LamExplainer *self)
{
  g_return_val_if_fail (LAM_IS_EXPLAINER (self), NULL);
  return self->map_error;
}

const float *
lam_explainer_get_map_coords (LamExplainer *self, int *n_images)
{
  g_return_val_if_fail (LAM_IS_EXPLAINER (self), NULL);
  if (n_images != NULL)
    *n_images = self->map_ready ? self->map_n : 0;
  return self->map_ready ? self->map_coords : NULL;
}

const LamFeatureMapAxes *
lam_explainer_get_map_axes (LamExplainer *self)
{
  g_return_val_if_fail (LAM_IS_EXPLAINER (self), NULL);
  return self->map_ready ? self->map_axes : NULL;
}

gboolean
lam_explainer_project (LamExplainer *self, const float *normalised_input, float xy[2],
                       GError **error)
{
  g_return_val_if_fail (LAM_IS_EXPLAINER (self), FALSE);
  g_return_val_if_fail (normalised_input != NULL && xy != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  GError *refusal = dup_refusal (self);
  if (refusal != NULL) {
    g_propagate_error (error, refusal);
    return FALSE;
  }
  if (!self->map_ready) {
    if (self->map_error != NULL)
      g_propagate_error (error, g_error_copy (self->map_error));
    else
      g_set_error_literal (error, LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_NOT_READY,
                           "The map is still being made.");
    return FALSE;
  }
  gsize dim;
  const float *features = single_features (self, normalised_input, &dim, error);
  if (features == NULL)
    return FALSE;
  g_assert ((int) dim == self->map_axes->n_features);
  lam_feature_map_project (self->map_axes, features, 1, xy);
  return TRUE;
}

/* ---- results ---- */

static GError *
check_supported (const LamEvaluationResult *result)
{
  const LamDataset *test = result->dataset;
  if (test == NULL || test->n <= 0)
    return g_error_new_literal (LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_UNSUPPORTED,
                                "This dataset has no test images to explain.");
  LamLossKind loss = lam_model_spec_get_loss (result->spec);
  if (test->task == LAM_TASK_REGRESSION || loss == LAM_LOSS_L1)
    return g_error_new (LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_UNSUPPORTED,
                        "%s predicts numbers (regression): there is no class whose score "
                        "could be explained.",
                        test->name != NULL ? test->name : "This model");
  return NULL;
}

/* Everything belonging to the current result goes; the map's axes stay,
 * to orient the next frame. */
static void
drop_answers (LamExplainer *self)
{
  /* What the outgoing weights gave is kept for their return. */
  if (self->result != NULL && self->unsupported == NULL && !self->map_of_old_images &&
      (self->index != NULL || self->map_ready)) {
    Cached *cached = g_new0 (Cached, 1);
    cached->key = result_key (self->result);
    cached->index = g_steal_pointer (&self->index);
    if (self->map_ready && self->map_axes != NULL) {
      cached->map_coords = g_steal_pointer (&self->map_coords);
      cached->map_n = self->map_n;
      cached->map_axes = lam_feature_map_axes_copy (self->map_axes);
    }
    cache_put (self, cached);
  }
  new_generation (self);
  g_clear_pointer (&self->explain_queued, explain_job_free);
  g_clear_pointer (&self->explanation, lam_explanation_free);
  g_clear_error (&self->explain_error);
  drop_index (self);
  gboolean was_ready = self->map_ready;
  self->map_ready = FALSE;
  g_clear_pointer (&self->map_coords, g_free);
  self->map_n = 0;
  g_clear_error (&self->map_error);
  if (was_ready)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAP_READY]);
  clear_single (self);
}

void
lam_explainer_set_result (LamExplainer *self, LamEvaluationResult *result)
{
  g_return_if_fail (LAM_IS_EXPLAINER (self));
  if (result == self->result)
    return;
  drop_answers (self);
  self->map_of_old_images = FALSE;
  g_clear_pointer (&self->result, lam_evaluation_result_unref);
  g_clear_error (&self->unsupported);
  if (result == NULL)
    return;
  self->result = lam_evaluation_result_ref (result);
  self->unsupported = check_supported (result);
  if (self->unsupported != NULL)
    return;
  g_autofree char *key = result_key (result);
  Cached *cached = cache_take (self, key);
  if (cached != NULL && cached->index != NULL) {
    self->index = g_steal_pointer (&cached->index);
    set_index_progress (self, 1);
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INDEX_READY]);
    g_signal_emit (self, signals[INDEX_READY], 0);
  }
  if (cached != NULL && cached->map_coords != NULL) {
    self->map_coords = g_steal_pointer (&cached->map_coords);
    self->map_n = cached->map_n;
    g_clear_pointer (&self->map_axes, lam_feature_map_axes_free);
    self->map_axes = g_steal_pointer (&cached->map_axes);
    self->map_ready = TRUE;
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAP_READY]);
    g_signal_emit (self, signals[MAP_READY], 0);
  }
  g_clear_pointer (&cached, cached_free);
}

LamEvaluationResult *
lam_explainer_get_result (LamExplainer *self)
{
  g_return_val_if_fail (LAM_IS_EXPLAINER (self), NULL);
  return self->result;
}

const GError *
lam_explainer_get_unsupported (LamExplainer *self)
{
  g_return_val_if_fail (LAM_IS_EXPLAINER (self), NULL);
  return self->unsupported;
}

/* Indices into the old training images mean nothing in the new ones: the
 * index is built again when next asked for. The map, of the result's own
 * test images, stays while that result is shown; kept, it would come back
 * for the same weights' result on the new test images (the key names the
 * weights, not the images). */
static void
on_dataset_changed (LamExplainer *self)
{
  if (self->train != NULL)
    g_clear_pointer (&self->train, train_copy_release);
  g_queue_clear_full (&self->cache, (GDestroyNotify) cached_free);
  self->map_of_old_images = TRUE;
  new_index_generation (self);
  drop_index (self);
}

/* ---- GObject ---- */

static void
lam_explainer_dispose (GObject *object)
{
  LamExplainer *self = LAM_EXPLAINER (object);
  if (self->session != NULL) {
    g_clear_signal_handler (&self->dataset_changed_id, self->session);
    g_object_remove_weak_pointer (G_OBJECT (self->session), (gpointer *) &self->session);
    self->session = NULL;
  }
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->index_cancellable != NULL)
    g_cancellable_cancel (self->index_cancellable);
  g_clear_object (&self->index_cancellable);
  g_clear_pointer (&self->explain_queued, explain_job_free);
  g_clear_pointer (&self->result, lam_evaluation_result_unref);
  g_clear_pointer (&self->train, train_copy_release);
  G_OBJECT_CLASS (lam_explainer_parent_class)->dispose (object);
}

static void
lam_explainer_finalize (GObject *object)
{
  LamExplainer *self = LAM_EXPLAINER (object);
  g_clear_error (&self->unsupported);
  g_clear_pointer (&self->explanation, lam_explanation_free);
  g_clear_error (&self->explain_error);
  g_clear_pointer (&self->index, lam_feature_index_free);
  g_clear_error (&self->index_error);
  g_free (self->map_coords);
  g_clear_pointer (&self->map_axes, lam_feature_map_axes_free);
  g_clear_error (&self->map_error);
  g_queue_clear_full (&self->cache, (GDestroyNotify) cached_free);
  clear_single (self);
  G_OBJECT_CLASS (lam_explainer_parent_class)->finalize (object);
}

static void
lam_explainer_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamExplainer *self = LAM_EXPLAINER (object);
  switch (prop_id) {
  case PROP_SESSION:
    g_value_set_object (value, self->session);
    break;
  case PROP_INDEX_PROGRESS:
    g_value_set_double (value, self->index_progress);
    break;
  case PROP_INDEX_READY:
    g_value_set_boolean (value, self->index != NULL);
    break;
  case PROP_MAP_READY:
    g_value_set_boolean (value, self->map_ready);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_explainer_set_property (GObject *object, guint prop_id, const GValue *value,
                            GParamSpec *pspec)
{
  LamExplainer *self = LAM_EXPLAINER (object);
  switch (prop_id) {
  case PROP_SESSION:
    self->session = g_value_get_object (value);
    if (self->session != NULL) {
      g_object_add_weak_pointer (G_OBJECT (self->session), (gpointer *) &self->session);
      self->dataset_changed_id = g_signal_connect_swapped (
        self->session, "dataset-changed", G_CALLBACK (on_dataset_changed), self);
    }
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_explainer_class_init (LamExplainerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = lam_explainer_dispose;
  object_class->finalize = lam_explainer_finalize;
  object_class->get_property = lam_explainer_get_property;
  object_class->set_property = lam_explainer_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, LAM_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_INDEX_PROGRESS] =
    g_param_spec_double ("index-progress", NULL, NULL, 0, 1, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_INDEX_READY] =
    g_param_spec_boolean ("index-ready", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAP_READY] =
    g_param_spec_boolean ("map-ready", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* (guint serial, LamExplanation *explanation, GError *error): the answer
   * to the newest request, both borrowed for the emission (the getters keep
   * them until the next answer); one of the two is NULL. */
  signals[EXPLAINED] =
    g_signal_new ("explained", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_UINT, G_TYPE_POINTER, G_TYPE_POINTER);
  /* The index of the current result was built, or failed
   * (lam_explainer_get_index_error). */
  signals[INDEX_READY] = g_signal_new ("index-ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The map of the current result was made, or failed
   * (lam_explainer_get_map_error). */
  signals[MAP_READY] = g_signal_new ("map-ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                     NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
lam_explainer_init (LamExplainer *self)
{
  self->cancellable = g_cancellable_new ();
  self->index_cancellable = g_cancellable_new ();
}

LamExplainer *
lam_explainer_new (LamSession *session)
{
  g_return_val_if_fail (LAM_IS_SESSION (session), NULL);
  return g_object_new (LAM_TYPE_EXPLAINER, "session", session, NULL);
}
