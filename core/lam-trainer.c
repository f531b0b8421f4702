#include "lam-trainer.h"

#include "lam-device.h"

#include <math.h>
#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "lam-loader.h"
#include "lam-predict.h"

G_DEFINE_QUARK (lam-trainer-error-quark, lam_trainer_error)

/* A loss above DIVERGE_FACTOR times its start (and DIVERGE_MARGIN above
 * it, for losses that start near 0) for DIVERGE_REPORTS reports in a row
 * has diverged, whichever optimizer drove it there. */
#define DIVERGE_FACTOR 10.0
#define DIVERGE_MARGIN 1.0
#define DIVERGE_REPORTS 5

/* Offsets into sums_device. */
#define SUMS_STEP 0
#define SUMS_REPORT 2
#define SUMS_EPOCH 4
#define SUMS_N 6

struct _LamTrainer
{
  LamModelSpec *spec;          /* owned, input set from the dataset */
  const LamDataset *train_set; /* borrowed */
  const LamDataset *test_set;  /* borrowed, may be NULL */
  LamBackend *backend;         /* borrowed */
  LamTrainerConfig config;

  LamModel *model;
  LamOptimizer *optimizer;
  LamSplit *split;
  LamLoader *train_loader;
  float mean[3];
  float std[3];
  gint32 *labels_device; /* max batch */
  float *targets_device; /* max batch × n_targets: a regression's standardised targets */
  gboolean regression;
  /* Sums of the loss and of the correct answers, in pairs: [0, 1] this
   * step's, [2, 3] since the last report, [4, 5] since the epoch began.
   * Each step's pair is added to the other two, so an epoch's figures are
   * the same float additions in the same order however often it reports. */
  float *sums_device;
  gint32 *shown_device;  /* LAM_TRAINER_MAX_SHOWN: the model's classes for a paced batch */
  /* A small model's parameters around a watched step (host, allocated at
   * creation so that the step allocates nothing). */
  float watched[3][LAM_TRAINER_MAX_WATCHED];
  int report_every;

  /* Commands, under `lock`. */
  GMutex lock;
  GCond cond;
  GThread *thread;
  gboolean started;
  gboolean running;
  gboolean paused;
  gboolean stop_requested;
  int steps_requested;
  /* The worker has stopped at a pause (PAUSED is posted or on its way);
   * a resume that reaches it there sets `resumed`, so that a pause or step
   * following before the worker wakes lands after one batch instead of
   * leaving it asleep with no new PAUSED to say so. */
  gboolean waiting;
  gboolean resumed;
  double requested_lr; /* NAN when none is pending */
  double base_lr;      /* the schedule scales this */
  double pace;         /* steps a second; 0: as fast as it goes */
  gboolean held;       /* lam_trainer_set_held */
  gint64 held_since;

  /* Where the run begins (lam_trainer_set_start) and, once it has ended,
   * where it got to. Written by the worker, read after it has finished. */
  int start_epoch;
  int start_batches;
  gint64 start_step;
  int done_epochs;
  int done_batches;
  gint64 done_step;
  gboolean resumable;

  /* The weights at the last report whose loss was finite: what
   * lam_trainer_dup_params hands out and what divergence rolls back to. */
  GMutex snapshot_lock;
  float *snapshot;
  gint64 snapshot_step;
  /* Where publish_snapshot reads the weights to check them first. */
  float *candidate;

  /* Events waiting for the main context, under `events_lock`; at most one
   * idle source is pending at a time. */
  GMutex events_lock;
  GQueue events;
  GSource *dispatch_source;
  GMainContext *context;
  LamTrainerEventFunc event_func;
  gpointer event_data;
};

LamTrainerConfig
lam_trainer_config_default (void)
{
  LamTrainerConfig config = {
    .epochs = 1,
    .batch_size = 64,
    .optimizer = lam_optimizer_config_default (LAM_OPTIMIZER_ADAM),
    .schedule = { .kind = LAM_SCHEDULE_CONSTANT },
    .val_fraction = 0.1,
    .seed = 1,
    .normalize_from_data = FALSE,
    .mean = { 0, 0, 0 },
    .std = { 1, 1, 1 },
    .padding_mode = LAM_PADDING_ZERO,
    .evaluate_test = TRUE,
  };
  return config;
}

LamTrainerConfig
lam_trainer_config_lesson_default (void)
{
  LamTrainerConfig config = lam_trainer_config_default ();
  config.epochs = 5;
  config.normalize_from_data = TRUE;
  return config;
}

void
lam_trainer_event_free (LamTrainerEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->message);
  lam_confusion_free (event->confusion);
  g_free (event->shown_indices);
  g_free (event->shown_predicted);
  g_free (event->watched_values);
  g_free (event->watched_grads);
  g_free (event->watched_updates);
  g_free (event->params);
  g_free (event->test_target_mse);
  g_free (event->test_target_mae);
  g_free (event->test_target_r2);
  g_free (event);
}

static LamTrainerEvent *
event_new (LamTrainer *self, LamTrainerEventKind kind)
{
  LamTrainerEvent *event = g_new0 (LamTrainerEvent, 1);
  event->kind = kind;
  event->epochs = self->config.epochs;
  event->batches_per_epoch = lam_loader_get_n_batches (self->train_loader);
  event->loss = event->accuracy = NAN;
  event->val_loss = event->val_accuracy = NAN;
  event->test_loss = event->test_accuracy = NAN;
  event->seconds = event->samples_per_second = NAN;
  event->mse = event->mae = event->r2 = NAN;
  event->val_mse = event->val_mae = event->val_r2 = NAN;
  event->test_mse = event->test_mae = event->test_r2 = NAN;
  event->lr = lam_optimizer_get_lr (self->optimizer);
  return event;
}

static gboolean
dispatch_events (gpointer data)
{
  LamTrainer *self = data;
  GQueue pending = G_QUEUE_INIT;

  g_mutex_lock (&self->events_lock);
  pending = self->events;
  g_queue_init (&self->events);
  g_clear_pointer (&self->dispatch_source, g_source_unref);
  g_mutex_unlock (&self->events_lock);

  LamTrainerEvent *event;
  while ((event = g_queue_pop_head (&pending)) != NULL) {
    if (self->event_func != NULL)
      self->event_func (event, self->event_data);
    lam_trainer_event_free (event);
  }
  return G_SOURCE_REMOVE;
}

/* Takes ownership of event. Called from the worker thread. */
static void
post_event (LamTrainer *self, LamTrainerEvent *event)
{
  g_mutex_lock (&self->events_lock);
  g_queue_push_tail (&self->events, event);
  if (self->dispatch_source == NULL && self->context != NULL) {
    self->dispatch_source = g_idle_source_new ();
    g_source_set_priority (self->dispatch_source, G_PRIORITY_DEFAULT_IDLE);
    g_source_set_callback (self->dispatch_source, dispatch_events, self, NULL);
    g_source_set_static_name (self->dispatch_source, "[lamina] trainer events");
    g_source_attach (self->dispatch_source, self->context);
  }
  g_mutex_unlock (&self->events_lock);
}

/* A batch norm in training divides by its batch's spread: a channel with a
 * single value in a batch (a batch of 1 for batchnorm1d over features, or
 * the epoch's last batch of 1) has none, so the layer outputs its bias
 * alone and nothing before it learns. PyTorch stops such a batch with an
 * error mid-epoch; say so before the run, with a batch size that works. */
static gboolean
check_batch_norm_batches (const LamModelPlan *plan, gsize n_train, int batch_size, const char *noun,
                          GError **error)
{
  gsize last = n_train % (gsize) batch_size;
  gsize smallest = n_train < (gsize) batch_size ? n_train : last != 0 ? last : (gsize) batch_size;
  for (int i = 0; i < plan->n_layers; i++) {
    const LamLayer *layer = &plan->layers[i];
    if (layer->spec.kind != LAM_LAYER_BATCHNORM1D && layer->spec.kind != LAM_LAYER_BATCHNORM2D)
      continue;
    gsize per_sample = lam_shape_numel (&layer->in_shape) / (gsize) layer->in_shape.dims[0];
    if (per_sample * smallest > 1)
      continue;
    const char *kind = lam_layer_kind_to_string (layer->spec.kind);
    if (batch_size == 1 || n_train == 1) {
      g_set_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG,
                   "layer %d (%s) needs at least 2 values per channel in every training batch, "
                   "and %s gives it 1: use a batch size of 2 or more%s",
                   i + 1, kind, n_train == 1 ? "a single training sample" : "a batch size of 1",
                   n_train == 1 ? " and more training data" : "");
      return FALSE;
    }
    /* The nearest batch size whose last batch is not 1 (smaller first). */
    int better = batch_size + 1;
    for (int d = 1; d < batch_size; d++) {
      if (batch_size - d >= 2 && n_train % (gsize) (batch_size - d) != 1) {
        better = batch_size - d;
        break;
      }
      if (n_train % (gsize) (batch_size + d) != 1) {
        better = batch_size + d;
        break;
      }
    }
    g_set_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG,
                 "layer %d (%s) needs at least 2 values per channel in every training batch, "
                 "but %zu training %s in batches of %d leave a last batch of 1: use another "
                 "batch size (%d works) or another validation fraction",
                 i + 1, kind, n_train, noun, batch_size, better);
    return FALSE;
  }
  return TRUE;
}

static gboolean
config_is_valid (const LamTrainerConfig *config, GError **error)
{
  const char *problem = NULL;
  if (config->epochs < 1 || config->epochs > 100000)
    problem = "epochs must be between 1 and 100000";
  else if (config->batch_size < 1 || config->batch_size > 65536)
    problem = "batch size must be between 1 and 65536";
  else if (!(config->optimizer.lr > 0) || !isfinite (config->optimizer.lr))
    problem = "the learning rate must be a positive number";
  else if (!(config->val_fraction >= 0 && config->val_fraction < 1))
    problem = "the validation fraction must be at least 0 and below 1";
  else if (config->crop_padding < 0 || config->crop_padding > 64)
    problem = "crop padding must be between 0 and 64";
  else if (config->padding_mode != LAM_PADDING_ZERO && config->padding_mode != LAM_PADDING_REFLECT)
    problem = "the crop padding mode must be zeros or reflect";
  else if (config->optimizer.momentum < 0 || config->optimizer.momentum >= 1)
    problem = "momentum must be at least 0 and below 1";
  else if (config->optimizer.weight_decay < 0)
    problem = "weight decay must not be negative";
  else if (!(config->optimizer.l1 >= 0 && config->optimizer.l1 <= 10))
    problem = "the L1 penalty must be between 0 and 10";
  if (problem != NULL) {
    g_set_error_literal (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG, problem);
    return FALSE;
  }
  /* The loader's rule: a std such as 1e-45, above 0 but with an infinite
   * reciprocal, would turn every pixel above the mean into infinity. */
  for (int c = 0; c < 3; c++)
    if (!config->normalize_from_data &&
        !lam_normalization_is_valid (config->mean[c], config->std[c])) {
      g_set_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG,
                   "the normalisation of channel %d is mean %g, std %g; expected finite numbers "
                   "and a std above 0 (at least %g, so that 1/std is finite)",
                   c + 1, config->mean[c], config->std[c], LAM_NORMALIZATION_MIN_STD);
      return FALSE;
    }
  return TRUE;
}

guint64
lam_trainer_estimate_bytes (const LamModelPlan *plan, const LamTrainerConfig *config)
{
  g_return_val_if_fail (plan != NULL && config != NULL, 0);
  g_return_val_if_fail (config->batch_size > 0, 0);

  int n_state = lam_optimizer_config_get_n_state (&config->optimizer);
  /* The snapshot views read and the candidate a better epoch leaves. */
  int n_copies = 2;
  return lam_model_plan_estimate_bytes (plan, config->batch_size) +
         (guint64) (n_state + n_copies) * plan->n_params * sizeof (float);
}

LamTrainer *
lam_trainer_new (const LamModelSpec *spec, const LamDataset *train, const LamDataset *test,
                 LamBackend *backend, const LamTrainerConfig *config, GError **error)
{
  g_return_val_if_fail (spec != NULL && train != NULL && backend != NULL && config != NULL, NULL);

  if (!config_is_valid (config, error))
    return NULL;
  if (train->channels > 3) {
    g_set_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_DATA,
                 "%s has %d channels; at most 3 are supported", train->name, train->channels);
    return NULL;
  }
  if (test != NULL && (test->channels != train->channels || test->height != train->height ||
                       test->width != train->width)) {
    g_set_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_DATA,
                 "the test images (%d×%d×%d) differ in shape from the training images (%d×%d×%d)",
                 test->channels, test->height, test->width, train->channels, train->height,
                 train->width);
    return NULL;
  }
  gboolean regression = train->task == LAM_TASK_REGRESSION;
  if (test != NULL && (test->task != train->task || test->n_targets != train->n_targets ||
                       (test->features == NULL) != (train->features == NULL))) {
    g_set_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_DATA,
                 "the test part (%s) is not the same kind of data as the training part (%s)",
                 test->name, train->name);
    return NULL;
  }
  if (train->features != NULL && (config->crop_padding > 0 || config->hflip)) {
    g_set_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG,
                 "%s is a table of numbers: random crops and flips apply to images only",
                 train->name);
    return NULL;
  }

  g_autoptr (LamModelSpec) own_spec = lam_model_spec_copy (spec);
  own_spec->has_input = TRUE;
  own_spec->input = lam_dataset_get_input_shape (train);
  /* A regression compares outputs with numbers: mse unless the spec says
   * l1, and never a loss against classes (a spec ending in log_softmax
   * implies nll, which is refused rather than silently replaced). */
  LamLossKind loss = lam_model_spec_get_loss (own_spec);
  if (regression && !own_spec->has_loss && loss == LAM_LOSS_CROSS_ENTROPY) {
    own_spec->has_loss = TRUE;
    own_spec->loss = loss = LAM_LOSS_MSE;
  }
  if (regression && !lam_loss_kind_is_regression (loss)) {
    g_autofree char *targets = train->target_names ? g_strjoinv (", ", train->target_names)
                                                   : g_strdup ("?");
    g_set_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_DATA,
                 "the loss %s compares outputs with classes, but %s holds numbers to predict "
                 "(%s: a regression): use the loss mse or l1",
                 lam_loss_kind_to_string (loss), train->name, targets);
    return NULL;
  }
  if (!regression && loss == LAM_LOSS_L1) {
    g_set_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_DATA,
                 "the loss l1 compares outputs with numbers, but %s holds classes: use "
                 "cross_entropy (or mse against one-hot classes)", train->name);
    return NULL;
  }

  LamTrainer *self = g_new0 (LamTrainer, 1);
  self->spec = g_steal_pointer (&own_spec);
  self->train_set = train;
  self->test_set = test;
  self->backend = backend;
  self->config = *config;
  self->regression = regression;
  self->requested_lr = NAN;
  self->base_lr = config->optimizer.lr;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_mutex_init (&self->snapshot_lock);
  g_mutex_init (&self->events_lock);
  g_queue_init (&self->events);
  self->context = g_main_context_ref_thread_default ();

  /* Main memory is promised lazily: a model too large for it would be
   * killed mid-training by the kernel instead of refused here. */
  if (g_str_equal (backend->name, "cpu")) {
    g_autoptr (LamModelPlan) plan = lam_model_plan_new (self->spec, error);
    if (plan == NULL)
      goto fail;
    guint64 need = lam_trainer_estimate_bytes (plan, config);
    guint64 available = lam_device_host_memory_available ();
    if (available > 0 && need > available) {
      g_autofree char *need_text = g_format_size (need);
      g_autofree char *available_text = g_format_size (available);
      g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_MEMORY,
                   "the model needs about %s to train (%" G_GSIZE_FORMAT " parameters with "
                   "their gradients and %s's state, and the activations of a batch of %d) but "
                   "only %s of memory is available: make the layers smaller",
                   need_text, plan->n_params,
                   lam_optimizer_kind_to_string (config->optimizer.kind), config->batch_size,
                   available_text);
      goto fail;
    }
  }
  self->model = lam_model_new (self->spec, backend, config->batch_size, config->seed, error);
  if (self->model == NULL)
    goto fail;
  int n_classes = lam_model_get_n_classes (self->model);
  if (regression && n_classes != train->n_targets) {
    g_autofree char *targets = g_strjoinv (", ", train->target_names);
    g_set_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_DATA,
                 "the model ends with %d output%s but %s has %d target%s (%s): make the last "
                 "layer linear:%d", n_classes, n_classes == 1 ? "" : "s", train->name,
                 train->n_targets, train->n_targets == 1 ? "" : "s", targets, train->n_targets);
    goto fail;
  }
  if (n_classes < train->n_classes) {
    g_set_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_DATA,
                 "the model ends with %d outputs but %s has %d classes: make the last layer "
                 "linear:%d", n_classes, train->name, train->n_classes, train->n_classes);
    goto fail;
  }
  self->optimizer = lam_optimizer_new (backend, &config->optimizer,
                                       lam_model_get_n_params (self->model), error);
  if (self->optimizer == NULL)
    goto fail;
  lam_optimizer_set_n_trained (self->optimizer, lam_model_get_plan (self->model)->n_trainable);

  self->labels_device = backend->alloc (backend, sizeof (gint32) * config->batch_size);
  if (regression)
    self->targets_device =
      backend->alloc (backend, sizeof (float) * config->batch_size * train->n_targets);
  self->sums_device = backend->alloc (backend, sizeof (float) * SUMS_N);
  self->shown_device = backend->alloc (backend, sizeof (gint32) * LAM_TRAINER_MAX_SHOWN);
  /* At least one float: a model without parameters (flatten,softmax) gets
   * NULL for none, which is no lack of memory. */
  self->snapshot = g_try_new (float, MAX (lam_model_get_n_params (self->model), 1));
  self->candidate = g_try_new (float, MAX (lam_model_get_n_params (self->model), 1));
  if (self->labels_device == NULL || self->sums_device == NULL || self->shown_device == NULL ||
      self->snapshot == NULL || self->candidate == NULL ||
      (regression && self->targets_device == NULL)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_MEMORY,
                 "out of memory for the training buffers");
    goto fail;
  }
  lam_model_get_params_host (self->model, self->snapshot);

  if (config->val_fraction > 0 && train->n >= 2)
    self->split = lam_split_new_fraction (train->n, config->val_fraction, config->seed);
  else
    self->split = lam_split_new_fraction (train->n, 0, config->seed);
  if (self->split->n_train == 0) {
    g_set_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG,
                 "the validation fraction leaves no training images");
    goto fail;
  }
  if (!check_batch_norm_batches (lam_model_get_plan (self->model), self->split->n_train,
                                 config->batch_size,
                                 lam_dataset_is_table (train) ? "rows" : "images", error))
    goto fail;

  if (config->normalize_from_data) {
    lam_dataset_compute_stats (train, self->split->train, self->split->n_train, self->mean,
                               self->std);
    for (int c = 0; c < 3; c++)
      if (!(self->std[c] > 1e-6f))
        self->std[c] = 1;
  } else {
    memcpy (self->mean, config->mean, sizeof self->mean);
    memcpy (self->std, config->std, sizeof self->std);
  }

  LamLoaderConfig loader_config = lam_loader_config_default ();
  loader_config.batch_size = config->batch_size;
  loader_config.seed = config->seed;
  memcpy (loader_config.mean, self->mean, sizeof self->mean);
  memcpy (loader_config.std, self->std, sizeof self->std);
  loader_config.shuffle = TRUE;
  loader_config.crop_padding = config->crop_padding;
  loader_config.padding_mode = config->padding_mode;
  loader_config.hflip = config->hflip;
  lam_loader_config_set_backend (&loader_config, backend);
  self->train_loader = lam_loader_new (train, self->split->train, self->split->n_train,
                                       &loader_config);

  self->resumable = TRUE;
  int batches = lam_loader_get_n_batches (self->train_loader);
  self->report_every = config->report_every > 0 ? config->report_every : MAX (1, batches / 100);
  return self;

fail:
  lam_trainer_free (self);
  return NULL;
}

void
lam_trainer_free (LamTrainer *self)
{
  if (self == NULL)
    return;
  lam_trainer_stop (self);
  lam_trainer_wait (self);

  g_mutex_lock (&self->events_lock);
  if (self->dispatch_source != NULL) {
    g_source_destroy (self->dispatch_source);
    g_clear_pointer (&self->dispatch_source, g_source_unref);
  }
  g_queue_clear_full (&self->events, (GDestroyNotify) lam_trainer_event_free);
  g_mutex_unlock (&self->events_lock);

  if (self->labels_device != NULL)
    self->backend->free (self->backend, self->labels_device);
  if (self->targets_device != NULL)
    self->backend->free (self->backend, self->targets_device);
  if (self->sums_device != NULL)
    self->backend->free (self->backend, self->sums_device);
  if (self->shown_device != NULL)
    self->backend->free (self->backend, self->shown_device);
  g_clear_pointer (&self->train_loader, lam_loader_free);
  g_clear_pointer (&self->split, lam_split_free);
  g_clear_pointer (&self->optimizer, lam_optimizer_free);
  g_clear_pointer (&self->model, lam_model_free);
  g_clear_pointer (&self->spec, lam_model_spec_free);
  g_clear_pointer (&self->snapshot, g_free);
  g_clear_pointer (&self->candidate, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->snapshot_lock);
  g_mutex_clear (&self->events_lock);
  g_free (self);
}

void
lam_trainer_set_event_func (LamTrainer *self, LamTrainerEventFunc func, gpointer user_data,
                            GMainContext *context)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (!self->running);
  self->event_func = func;
  self->event_data = user_data;
  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = context != NULL ? g_main_context_ref (context)
                                  : g_main_context_ref_thread_default ();
}

/* The loss a report checks was computed before the step's update, so one
 * update can still have made a weight NaN or infinite: such weights are
 * never kept, saved or handed out. Returns FALSE, keeping the snapshot
 * there was, when the model's weights are not all finite. */
/* Whether every value is finite: a float is NaN or infinite exactly when
 * its exponent bits are all set. Tested on the bits, which the compiler
 * takes a vector at a time: isfinite () one float at a time cost mlp-b128
 * 1% of its epoch in this scan. */
static gboolean
all_finite (const float *values, gsize n)
{
  guint32 not_finite = 0;
  for (gsize i = 0; i < n; i++) {
    guint32 bits;
    memcpy (&bits, &values[i], sizeof bits);
    not_finite |= (bits & 0x7f800000u) == 0x7f800000u;
  }
  return not_finite == 0;
}

static gboolean
publish_snapshot (LamTrainer *self, gint64 step)
{
  gsize n = lam_model_get_n_params (self->model);
  lam_model_get_params_host (self->model, self->candidate);
  if (!all_finite (self->candidate, n))
    return FALSE;
  g_mutex_lock (&self->snapshot_lock);
  float *previous = self->snapshot;
  self->snapshot = self->candidate;
  self->candidate = previous;
  self->snapshot_step = step;
  g_mutex_unlock (&self->snapshot_lock);
  return TRUE;
}

/* Puts the last good weights back and says why the run stopped. */
static void
stop_diverged (LamTrainer *self, gint64 step, int epoch, int batch_index, const char *what)
{
  g_mutex_lock (&self->snapshot_lock);
  lam_model_set_params_host (self->model, self->snapshot);
  gint64 good_step = self->snapshot_step;
  g_mutex_unlock (&self->snapshot_lock);
  double lr = lam_optimizer_get_lr (self->optimizer);
  LamTrainerEvent *event = event_new (self, LAM_TRAINER_EVENT_DIVERGED);
  event->step = step;
  event->epoch = epoch;
  event->batch = batch_index;
  event->message = g_strdup_printf (
    "The %s by step %" G_GINT64_FORMAT " (epoch %d): training stopped and the "
    "weights from step %" G_GINT64_FORMAT " were kept. The learning rate %g is probably "
    "too high; try %g.",
    what, step, epoch + 1, good_step, lr, lr / 10);
  post_event (self, event);
  self->resumable = FALSE;
}

/* Waits while paused; returns FALSE when the run must stop. Sets *single
 * when this step was asked for by lam_trainer_step. Every wait posts one
 * PAUSED and ends in one batch (or a stop): a single step, or the first
 * batch after a resume, after which a pause asked for meanwhile lands.
 * With batches not yet reported (the pause came while this batch was
 * being fetched, after the check that would have reported them), this
 * batch goes on and the pause lands after it, with the report. */
static gboolean
wait_for_go (LamTrainer *self, gboolean *single, gboolean *paced, gint64 step, int epoch,
             gboolean unreported)
{
  gboolean announced = FALSE;
  *single = FALSE;
  g_mutex_lock (&self->lock);
  while (!unreported && self->paused && !self->stop_requested && self->steps_requested == 0 &&
         !self->resumed) {
    self->waiting = TRUE;
    if (!announced) {
      announced = TRUE;
      g_mutex_unlock (&self->lock);
      LamTrainerEvent *event = event_new (self, LAM_TRAINER_EVENT_PAUSED);
      event->step = step;
      event->epoch = epoch;
      post_event (self, event);
      g_mutex_lock (&self->lock);
      continue;
    }
    g_cond_wait (&self->cond, &self->lock);
  }
  gboolean go = !self->stop_requested;
  gboolean resumed = self->resumed;
  self->waiting = self->resumed = FALSE;
  /* After a resume, steps asked for since wait for the batch it began. */
  if (go && !unreported && !resumed && self->paused && self->steps_requested > 0) {
    self->steps_requested--;
    *single = TRUE;
  } else if (go && announced) {
    g_mutex_unlock (&self->lock);
    LamTrainerEvent *event = event_new (self, LAM_TRAINER_EVENT_RESUMED);
    event->step = step;
    event->epoch = epoch;
    post_event (self, event);
    g_mutex_lock (&self->lock);
  }
  double lr = self->requested_lr;
  self->requested_lr = NAN;
  *paced = self->pace > 0;
  g_mutex_unlock (&self->lock);

  if (!isnan (lr)) {
    /* The base that puts this epoch at lr. A schedule is affine in its
     * base (cosine's floor is added, not scaled), so it is solved for:
     * the epochs after go on from lr, as PyTorch's schedulers step on from
     * a changed lr. */
    double at_zero = lam_schedule_lr (&self->config.schedule, 0.0, epoch);
    double slope = lam_schedule_lr (&self->config.schedule, 1.0, epoch) - at_zero;
    self->base_lr = slope > 0 ? (lr - at_zero) / slope : lr;
    lam_optimizer_set_lr (self->optimizer, lr);
    LamTrainerEvent *event = event_new (self, LAM_TRAINER_EVENT_LR_CHANGED);
    event->step = step;
    event->epoch = epoch;
    post_event (self, event);
  }
  return go;
}

/* Waits while the trainer is held, at most LAM_TRAINER_HOLD_MAX_US from
 * the hold; a stop or a pause ends it. */
static void
wait_while_held (LamTrainer *self)
{
  g_mutex_lock (&self->lock);
  while (self->held && !self->paused && !self->stop_requested) {
    gint64 due = self->held_since + LAM_TRAINER_HOLD_MAX_US;
    if (g_get_monotonic_time () >= due)
      break;
    g_cond_wait_until (&self->cond, &self->lock, due);
  }
  g_mutex_unlock (&self->lock);
}

/* Paced, a step begins 1/pace seconds after the one before began: the
 * wait is on the command condition, so a pause, a stop, a step asked for
 * or a new pace ends it at once (a new pace to wait again, for the time
 * it asks). start is when the step before began, 0 before the first. */
static void
wait_for_pace (LamTrainer *self, gint64 start)
{
  if (start == 0)
    return;
  g_mutex_lock (&self->lock);
  while (self->pace > 0 && !self->paused && !self->stop_requested) {
    gint64 due = start + (gint64) (G_USEC_PER_SEC / self->pace);
    if (g_get_monotonic_time () >= due)
      break;
    g_cond_wait_until (&self->cond, &self->lock, due);
  }
  g_mutex_unlock (&self->lock);
}

/* Training yields the processor to the thread that draws the window: on a
 * 2-core laptop the curves must keep moving while every core trains. */
static void
lower_thread_priority (void)
{
#ifdef __linux__
  setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 5);
#endif
}

static gpointer
train_thread (gpointer data)
{
  LamTrainer *self = data;
  LamBackend *backend = self->backend;
  LamModel *model = self->model;
  LamLossKind loss_kind = lam_model_spec_get_loss (self->spec);
  int n_classes = lam_model_get_n_classes (model);
  gsize image_floats = lam_shape_numel (&self->spec->input);
  gint64 step = self->start_step;
  gboolean stopped = FALSE;
  gint64 run_start = g_get_monotonic_time ();

  gint64 last_report_time = 0;
  gint64 last_step_start = 0;
  /* Divergence that stays finite (Adam at a huge learning rate reaches a
   * loss of 1e12): the mean loss of the run's first report is the yardstick. */
  double start_loss = NAN;
  int reports_above = 0;

  lower_thread_priority ();

  post_event (self, event_new (self, LAM_TRAINER_EVENT_STARTED));
  float *step_sums = self->sums_device + SUMS_STEP;
  float *report_sums = self->sums_device + SUMS_REPORT;
  float *epoch_sums = self->sums_device + SUMS_EPOCH;
  backend->fill (backend, report_sums, 2, 0);

  self->done_epochs = self->start_epoch;
  self->done_batches = self->start_batches;
  self->done_step = step;
  /* On the CPU the loader writes each batch into the model's input. */
  float *input_in_memory = lam_model_get_input_in_memory (model);
  for (int epoch = self->start_epoch; epoch < self->config.epochs && !stopped; epoch++) {
    lam_optimizer_set_lr (self->optimizer,
                          lam_schedule_lr (&self->config.schedule, self->base_lr, epoch));
    lam_loader_start_epoch (self->train_loader, epoch);

    gint64 epoch_start = g_get_monotonic_time ();
    gint64 paused_us = 0;
    gsize epoch_samples = 0, report_samples = 0;
    backend->fill (backend, epoch_sums, 2, 0);
    int batch_index = 0;
    const LamBatch *batch;

    while ((batch = lam_loader_next_into (self->train_loader, input_in_memory)) != NULL) {
      /* A run saved mid-epoch goes on with the batch after the last one it
       * trained, in the same shuffled order. */
      if (epoch == self->start_epoch && batch_index < self->start_batches) {
        batch_index++;
        continue;
      }
      /* The time a pace spends is part of the epoch's; a pause's is not. */
      wait_for_pace (self, last_step_start);
      gboolean single, paced;
      gint64 wait_start = g_get_monotonic_time ();
      wait_while_held (self);
      if (!wait_for_go (self, &single, &paced, step, epoch, report_samples > 0)) {
        stopped = TRUE;
        break;
      }
      last_step_start = g_get_monotonic_time ();
      paused_us += last_step_start - wait_start;

      if (batch->images != lam_model_get_input (model))
        backend->upload (backend, lam_model_get_input (model), batch->images,
                         sizeof (float) * image_floats * batch->size);
      if (self->regression)
        backend->upload (backend, self->targets_device, batch->targets,
                         sizeof (float) * n_classes * batch->size);
      else
        backend->upload (backend, self->labels_device, batch->labels,
                         sizeof (gint32) * batch->size);
      /* A different dropout mask every step, reproducible from the seed. */
      guint64 step_seed = self->config.seed * 0x9E3779B97F4A7C15ull + (guint64) step;
      lam_model_forward (model, batch->size, TRUE, step_seed);
      backend->fill (backend, step_sums, 2, 0);
      if (self->regression) {
        /* No classes to count: the regression figures come at the epoch's end. */
        lam_model_loss_targets (model, loss_kind, self->targets_device, batch->size,
                                &step_sums[0]);
      } else {
        lam_model_loss (model, loss_kind, self->labels_device, batch->size, &step_sums[0]);
        backend->count_correct (backend, lam_model_get_output (model), self->labels_device,
                                batch->size, n_classes, &step_sums[1]);
      }
      /* What the model made of the first images, for a class watching a
       * slow run; a fast one pays nothing for it. */
      int n_shown = paced && !self->regression ? MIN (batch->size, LAM_TRAINER_MAX_SHOWN) : 0;
      if (n_shown > 0)
        backend->argmax_rows (backend, lam_model_get_output (model), n_shown, n_classes,
                              self->shown_device);
      // report_sums (2) += step_sums (2); epoch_sums (2) += step_sums (2)
      backend->bias_add (backend, report_sums, step_sums, 1, 2, 1);
      backend->bias_add (backend, epoch_sums, step_sums, 1, 2, 1);
      lam_model_backward (model, batch->size);
      /* A model small enough to list shows each parameter's step: what
       * it was, its gradient, and what the optimizer did with it. */
      int n_watched = (single || paced) && lam_model_get_plan (model)->n_trainable <=
                                             LAM_TRAINER_MAX_WATCHED
                        ? (int) lam_model_get_plan (model)->n_trainable
                        : 0;
      if (n_watched > 0) {
        backend->download (backend, self->watched[0], lam_model_get_params (model),
                           sizeof (float) * n_watched);
        backend->download (backend, self->watched[1], lam_model_get_grads (model),
                           sizeof (float) * n_watched);
      }
      lam_optimizer_step (self->optimizer, lam_model_get_params (model),
                          lam_model_get_grads (model));
      if (n_watched > 0) {
        backend->download (backend, self->watched[2], lam_model_get_params (model),
                           sizeof (float) * n_watched);
        for (int p = 0; p < n_watched; p++)
          self->watched[2][p] -= self->watched[0][p];
      }
      step++;
      batch_index++;
      report_samples += batch->size;
      epoch_samples += batch->size;
      self->done_epochs = epoch;
      self->done_batches = batch_index;
      self->done_step = step;

      gboolean last = batch_index == lam_loader_get_n_batches (self->train_loader);
      /* Paced, every step is worth seeing. */
      gboolean due = paced || step % self->report_every == 0;
      /* With automatic reporting a fast model would flood the UI: at most
       * one report every 40 ms is plenty for a live chart. */
      if (due && !paced && self->config.report_every == 0) {
        gint64 now = g_get_monotonic_time ();
        due = now - last_report_time >= 40 * 1000;
        if (due)
          last_report_time = now;
      }
      /* The loss of the run's first step, taken before any update, is the
       * yardstick for divergence. Read once, without resetting the sums. */
      if (isnan (start_loss)) {
        float first[2];
        backend->download (backend, first, step_sums, sizeof first);
        if (isfinite (first[0]))
          start_loss = first[0] / batch->size;
      }
      /* A pause takes effect here, after the batch in flight. Its position
       * is reported before PAUSED, so what the person sees is where the run
       * stopped, and the report of the next single step holds that batch
       * alone instead of every batch since the last report. */
      g_mutex_lock (&self->lock);
      gboolean pausing = self->paused;
      g_mutex_unlock (&self->lock);
      if (!due && !single && !last && !pausing)
        continue;

      /* Metrics cross to the host only here, every report_every steps. */
      float sums[2];
      backend->download (backend, sums, report_sums, sizeof sums);
      backend->fill (backend, report_sums, 2, 0);
      double window_loss = report_samples > 0 ? sums[0] / report_samples : sums[0];
      gboolean far_above = isfinite (window_loss) &&
                           window_loss > MAX (DIVERGE_FACTOR * start_loss,
                                              start_loss + DIVERGE_MARGIN);
      reports_above = far_above ? reports_above + 1 : 0;
      /* Weights on their way up are not the ones a divergence keeps. */
      gboolean weights_finite =
        !isfinite (sums[0]) || reports_above > 0 || publish_snapshot (self, step);
      if (!isfinite (sums[0]) || reports_above >= DIVERGE_REPORTS || !weights_finite) {
        g_autofree char *what =
          !isfinite (sums[0])
            ? g_strdup_printf ("loss became %s",
                               isnan (sums[0]) ? "NaN (not a number)" : "infinite")
          : !weights_finite
            ? g_strdup ("weights became NaN or infinite")
            : g_strdup_printf (
                "loss stayed above %g times its start (%.4g, now %.4g) for %d reports",
                DIVERGE_FACTOR, start_loss, window_loss, reports_above);
        stop_diverged (self, step, epoch, batch_index, what);
        stopped = TRUE;
        break;
      }

      LamTrainerEvent *event = event_new (self, LAM_TRAINER_EVENT_PROGRESS);
      event->step = step;
      event->epoch = epoch;
      event->batch = batch_index;
      event->loss = sums[0] / report_samples;
      event->accuracy = self->regression ? NAN : sums[1] / report_samples;
      double seconds = (g_get_monotonic_time () - epoch_start - paused_us) / 1e6;
      event->seconds = seconds;
      event->samples_per_second = seconds > 0 ? epoch_samples / seconds : NAN;
      if (n_watched > 0) {
        event->n_watched = n_watched;
        event->watched_values = g_memdup2 (self->watched[0], sizeof (float) * n_watched);
        event->watched_grads = g_memdup2 (self->watched[1], sizeof (float) * n_watched);
        event->watched_updates = g_memdup2 (self->watched[2], sizeof (float) * n_watched);
      }
      if (n_shown > 0) {
        event->n_shown = n_shown;
        event->shown_indices = g_memdup2 (batch->indices, sizeof (guint32) * n_shown);
        event->shown_predicted = g_new (gint32, n_shown);
        backend->download (backend, event->shown_predicted, self->shown_device,
                           sizeof (gint32) * n_shown);
      }
      post_event (self, event);
      report_samples = 0;
    }
    if (stopped)
      break;

    double seconds = (g_get_monotonic_time () - epoch_start - paused_us) / 1e6;
    float epoch_totals[2];
    backend->download (backend, epoch_totals, epoch_sums, sizeof epoch_totals);
    LamTrainerEvent *event = event_new (self, LAM_TRAINER_EVENT_EPOCH);
    event->step = step;
    event->epoch = epoch;
    event->n_params = lam_model_get_n_params (model);
    event->params = g_try_new (float, event->n_params);
    if (event->params != NULL)
      lam_model_get_params_host (model, event->params);
    else
      event->n_params = 0;
    event->batch = batch_index;
    event->loss = epoch_samples ? (double) epoch_totals[0] / epoch_samples : NAN;
    event->accuracy = epoch_samples && !self->regression
                        ? (double) epoch_totals[1] / epoch_samples
                        : NAN;
    event->seconds = seconds;
    event->samples_per_second = seconds > 0 ? epoch_samples / seconds : NAN;
    if (self->regression) {
      g_autoptr (GError) error = NULL;
      g_autoptr (LamPrediction) fit =
        lam_model_predict (model, self->train_set, self->split->train, self->split->n_train,
                           self->mean, self->std, NULL, NULL, &error);
      if (fit != NULL) {
        event->mse = fit->mse;
        event->mae = fit->mae;
        event->r2 = fit->r2;
      } else {
        g_warning ("evaluating the training split failed: %s", error->message);
      }
    }
    if (self->split->n_val > 0) {
      g_autoptr (GError) error = NULL;
      g_autoptr (LamPrediction) val =
        lam_model_predict (model, self->train_set, self->split->val, self->split->n_val,
                           self->mean, self->std, NULL, NULL, &error);
      if (val != NULL) {
        event->val_accuracy = val->accuracy;
        event->val_loss = val->mean_loss;
        event->val_mse = val->mse;
        event->val_mae = val->mae;
        event->val_r2 = val->r2;
      } else {
        g_warning ("validation failed: %s", error->message);
        event->val_accuracy = event->val_loss = NAN;
      }
    }
    post_event (self, event);
    self->done_epochs = epoch + 1;
    self->done_batches = 0;
  }
  /* The weights handed out afterwards are those of the position reached,
   * so that they and the optimizer's state can be saved together. */
  if (self->resumable && !publish_snapshot (self, step))
    stop_diverged (self, step, self->done_epochs, self->done_batches,
                   "weights became NaN or infinite");

  if (!stopped && self->config.evaluate_test && self->test_set != NULL) {
    LamTrainerEvent *event = event_new (self, LAM_TRAINER_EVENT_TEST);
    event->step = step;
    event->epoch = self->config.epochs - 1;
    LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
    request.what = self->regression ? 0 : LAM_PREDICT_CONFUSION;
    request.confusion_classes = MAX (n_classes, self->test_set->n_classes);
    g_autoptr (GError) error = NULL;
    g_autoptr (LamPrediction) test = lam_model_predict (model, self->test_set, NULL, 0, self->mean,
                                                        self->std, &request, NULL, &error);
    if (test != NULL) {
      event->test_accuracy = test->accuracy;
      event->test_loss = test->mean_loss;
      event->confusion = g_steal_pointer (&test->confusion);
      event->test_mse = test->mse;
      event->test_mae = test->mae;
      event->test_r2 = test->r2;
      if (self->regression) {
        event->n_targets = test->n_targets;
        event->test_target_mse = g_steal_pointer (&test->target_mse);
        event->test_target_mae = g_steal_pointer (&test->target_mae);
        event->test_target_r2 = g_steal_pointer (&test->target_r2);
      }
    } else {
      g_warning ("testing failed: %s", error->message);
      event->test_accuracy = event->test_loss = NAN;
      if (!self->regression)
        event->confusion = lam_confusion_new (request.confusion_classes);
    }
    post_event (self, event);
  }

  LamTrainerEvent *event = event_new (self, LAM_TRAINER_EVENT_FINISHED);
  event->step = step;
  event->stopped = stopped;
  event->seconds = (g_get_monotonic_time () - run_start) / 1e6;
  g_mutex_lock (&self->lock);
  self->running = FALSE;
  g_mutex_unlock (&self->lock);
  post_event (self, event);
  return NULL;
}

void
lam_trainer_start (LamTrainer *self, gboolean paused)
{
  g_return_if_fail (self != NULL);
  g_mutex_lock (&self->lock);
  if (self->started) {
    g_mutex_unlock (&self->lock);
    g_warning ("lam_trainer_start: this trainer has already run");
    return;
  }
  self->started = TRUE;
  self->paused = paused;
  self->running = TRUE;
  self->thread = g_thread_new ("lamina-trainer", train_thread, self);
  g_mutex_unlock (&self->lock);
}

void
lam_trainer_pause (LamTrainer *self)
{
  g_mutex_lock (&self->lock);
  self->paused = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
lam_trainer_resume (LamTrainer *self)
{
  g_mutex_lock (&self->lock);
  self->paused = FALSE;
  self->steps_requested = 0;
  if (self->waiting)
    self->resumed = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
lam_trainer_step (LamTrainer *self)
{
  g_mutex_lock (&self->lock);
  /* While running, the batch in flight is the step: the run pauses after
   * it rather than training one more. */
  if (self->paused)
    self->steps_requested++;
  else
    self->paused = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
lam_trainer_stop (LamTrainer *self)
{
  g_mutex_lock (&self->lock);
  self->stop_requested = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
lam_trainer_set_pace (LamTrainer *self, double steps_per_second)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (steps_per_second >= 0 && isfinite (steps_per_second));
  g_mutex_lock (&self->lock);
  self->pace = steps_per_second;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
lam_trainer_set_held (LamTrainer *self, gboolean held)
{
  g_return_if_fail (self != NULL);
  g_mutex_lock (&self->lock);
  if (held && !self->held)
    self->held_since = g_get_monotonic_time ();
  self->held = held;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
lam_trainer_set_lr (LamTrainer *self, double lr)
{
  g_return_if_fail (lr > 0 && isfinite (lr));
  g_mutex_lock (&self->lock);
  self->requested_lr = lr;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

gboolean
lam_trainer_is_running (LamTrainer *self)
{
  g_mutex_lock (&self->lock);
  gboolean running = self->running;
  g_mutex_unlock (&self->lock);
  return running;
}

void
lam_trainer_wait (LamTrainer *self)
{
  GThread *thread;
  g_mutex_lock (&self->lock);
  thread = g_steal_pointer (&self->thread);
  g_mutex_unlock (&self->lock);
  if (thread != NULL)
    g_thread_join (thread);
}

float *
lam_trainer_dup_params (LamTrainer *self, gsize *n_params)
{
  gsize n = lam_model_get_n_params (self->model);
  g_mutex_lock (&self->snapshot_lock);
  /* Never NULL, which callers read as "no weights": a model without
   * parameters has trained weights too, none of them. */
  float *copy = g_memdup2 (self->snapshot, sizeof (float) * MAX (n, 1));
  g_mutex_unlock (&self->snapshot_lock);
  if (n_params != NULL)
    *n_params = n;
  return copy;
}

LamModel *
lam_trainer_get_model (LamTrainer *self)
{
  return self->model;
}

LamOptimizer *
lam_trainer_get_optimizer (LamTrainer *self)
{
  return self->optimizer;
}

gboolean
lam_trainer_get_position (LamTrainer *self, int *epochs_done, int *batches_done, gint64 *step)
{
  g_return_val_if_fail (self != NULL, FALSE);
  if (epochs_done != NULL)
    *epochs_done = self->started ? self->done_epochs : self->start_epoch;
  if (batches_done != NULL)
    *batches_done = self->started ? self->done_batches : self->start_batches;
  if (step != NULL)
    *step = self->started ? self->done_step : self->start_step;
  return self->resumable;
}

gboolean
lam_trainer_set_start (LamTrainer *self, const LamTrainerStart *start, GError **error)
{
  g_return_val_if_fail (self != NULL && start != NULL, FALSE);
  g_return_val_if_fail (!self->started, FALSE);

  gsize n_params = lam_model_get_n_params (self->model);
  int n_state = lam_optimizer_get_n_state (self->optimizer);
  int batches = lam_loader_get_n_batches (self->train_loader);
  const char *problem = NULL;
  g_autofree char *detail = NULL;
  if (start->params == NULL || start->n_params != n_params)
    detail = g_strdup_printf ("the saved weights hold %" G_GSIZE_FORMAT " parameters; the model "
                              "has %" G_GSIZE_FORMAT, start->params ? start->n_params : 0,
                              n_params);
  else if (start->optimizer_state != NULL && start->n_optimizer_state != n_state)
    detail = g_strdup_printf ("the saved optimizer state has %d buffers; %s keeps %d",
                              start->n_optimizer_state,
                              lam_optimizer_kind_to_string (self->config.optimizer.kind), n_state);
  else if (start->epochs_done < 0 || start->batches_done < 0 || start->step < 0)
    problem = "the saved position is negative";
  else if (start->batches_done >= batches)
    detail = g_strdup_printf ("the saved position is batch %d of an epoch of %d batches: the "
                              "batch size or dataset differs from the saved run's",
                              start->batches_done, batches);
  else if (start->epochs_done >= self->config.epochs)
    detail = g_strdup_printf ("%d epochs are done already; ask for more than %d to continue",
                              start->epochs_done, start->epochs_done);
  if (problem != NULL || detail != NULL) {
    g_set_error_literal (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG,
                         detail ? detail : problem);
    return FALSE;
  }

  lam_model_set_params_host (self->model, start->params);
  for (int i = 0; start->optimizer_state != NULL && i < n_state; i++)
    lam_optimizer_set_state (self->optimizer, i, start->optimizer_state[i]);
  lam_optimizer_set_step (self->optimizer, start->step);
  self->start_epoch = start->epochs_done;
  self->start_batches = start->batches_done;
  self->start_step = start->step;
  g_mutex_lock (&self->snapshot_lock);
  memcpy (self->snapshot, start->params, n_params * sizeof (float));
  self->snapshot_step = start->step;
  g_mutex_unlock (&self->snapshot_lock);
  return TRUE;
}

LamTask
lam_trainer_get_task (LamTrainer *self)
{
  g_return_val_if_fail (self != NULL, LAM_TASK_CLASSIFICATION);
  return self->regression ? LAM_TASK_REGRESSION : LAM_TASK_CLASSIFICATION;
}

void
lam_trainer_get_normalization (LamTrainer *self, float *mean, float *std)
{
  memcpy (mean, self->mean, sizeof self->mean);
  memcpy (std, self->std, sizeof self->std);
}
