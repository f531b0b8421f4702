#include "lam-lr-find.h"

#include <math.h>

#include "lam-loader.h"

G_DEFINE_QUARK (lam-lr-find-error-quark, lam_lr_find_error)

void
lam_lr_find_options_init (LamLrFindOptions *options)
{
  g_return_if_fail (options != NULL);
  options->start_lr = 1e-6;
  options->end_lr = 1;
  options->n_steps = 100;
  options->smoothing = 0.98;
  options->diverge_factor = 4;
}

double
lam_lr_find_options_get_lr (const LamLrFindOptions *options, int step)
{
  g_return_val_if_fail (options != NULL && options->n_steps >= 2, NAN);
  double t = (double) step / (options->n_steps - 1);
  return options->start_lr * pow (options->end_lr / options->start_lr, t);
}

void
lam_lr_find_result_free (LamLrFindResult *result)
{
  if (result == NULL)
    return;
  g_free (result->lrs);
  g_free (result->losses);
  g_free (result->smoothed);
  g_free (result);
}

/* Where the suggestion may start: past the first tenth of the sweep, as
 * fastai skips it, and past the steps whose bias correction still divides
 * the moving average by less than a half, which magnifies a single noisy
 * batch into a steep fall (with β 0.98, the first 34 steps). */
static int
warmed_up (const LamLrFindResult *result, int n)
{
  int start = n / 10;
  if (result->smoothing > 0 && result->smoothing < 1)
    start = MAX (start, (int) ceil (log (0.5) / log (result->smoothing)));
  return MIN (start, MAX (n - 2, 0));
}

void
lam_lr_find_suggest (LamLrFindResult *result)
{
  g_return_if_fail (result != NULL);
  int n = result->n_steps;
  result->min_index = result->suggested_index = -1;
  result->min_lr = result->min_loss = result->suggested_lr = NAN;
  result->steepest = FALSE;
  for (int i = 0; i < n; i++)
    if (isfinite (result->smoothed[i]) &&
        (result->min_index < 0 || result->smoothed[i] < result->min_loss)) {
      result->min_index = i;
      result->min_loss = result->smoothed[i];
    }
  if (result->min_index < 0)
    return;
  result->min_lr = result->lrs[result->min_index];

  /* The slope between neighbours, per unit of log lr, as fastai's
   * "steep" takes it; the point reported is the lower rate of the pair. */
  double steepest = 0;
  for (int i = warmed_up (result, n); i < result->min_index; i++) {
    double slope = (result->smoothed[i + 1] - result->smoothed[i]) /
                   (log (result->lrs[i + 1]) - log (result->lrs[i]));
    if (isfinite (slope) && slope < steepest) {
      steepest = slope;
      result->suggested_index = i;
    }
  }
  if (result->suggested_index >= 0) {
    result->suggested_lr = result->lrs[result->suggested_index];
    result->steepest = TRUE;
    return;
  }
  /* The least loss came first: on a small, noisy set the first batches can
   * score below everything the smoothing shows later, though the loss does
   * fall at larger rates. fastai's "valley" finds that fall: the longest
   * run of ever smaller smoothed losses (not necessarily adjacent), and
   * two thirds of the way down it... a third plus a sixth of its length
   * from its start, as fastai places it. Quadratic: short sweeps only. */
  int start = n / 10, best_end = -1, best_length = 1;
  if (n - start >= 3 && n - start <= 5000) {
    g_autofree int *length = g_new (int, n);
    g_autofree int *first = g_new (int, n);
    for (int i = start; i < n; i++) {
      length[i] = 1;
      first[i] = i;
      if (!isfinite (result->smoothed[i]))
        continue;
      for (int j = start; j < i; j++)
        if (isfinite (result->smoothed[j]) && result->smoothed[i] < result->smoothed[j] &&
            length[j] + 1 > length[i]) {
          length[i] = length[j] + 1;
          first[i] = first[j];
        }
      if (length[i] > best_length) {
        best_length = length[i];
        best_end = i;
      }
    }
    if (best_end >= 0 && best_length >= 3) {
      int begin = first[best_end];
      int section = (best_end - begin) / 3;
      result->suggested_index = MIN (begin + section + section / 2, n - 1);
      result->suggested_lr = result->lrs[result->suggested_index];
      result->steepest = TRUE;
      return;
    }
  }
  /* No fall anywhere: the older rule of thumb, within the sweep's range.
   * The index is the step tried nearest that rate, where the dialog marks
   * the curve: the minimum's step would put the mark a decade away. */
  result->suggested_lr = MAX (result->min_lr / 10, result->lrs[0]);
  result->suggested_index = 0;
  for (int i = 1; i <= result->min_index; i++)
    if (fabs (log (result->lrs[i] / result->suggested_lr)) <
        fabs (log (result->lrs[result->suggested_index] / result->suggested_lr)))
      result->suggested_index = i;
}

static gboolean
options_are_valid (const LamLrFindOptions *options, GError **error)
{
  const char *problem = NULL;
  if (!(options->start_lr > 0) || !isfinite (options->start_lr))
    problem = "the sweep's first learning rate must be a positive number";
  else if (!(options->end_lr > options->start_lr) || !isfinite (options->end_lr))
    problem = "the sweep's last learning rate must be a number above its first";
  else if (options->n_steps < 2 || options->n_steps > LAM_LR_FIND_MAX_STEPS)
    problem = "the sweep needs from 2 to 100000 steps";
  else if (!(options->smoothing >= 0 && options->smoothing < 1))
    problem = "the loss's smoothing must be at least 0 and below 1";
  else if (!(options->diverge_factor > 1) || !isfinite (options->diverge_factor))
    problem = "the sweep's stopping factor must be a number above 1";
  if (problem != NULL) {
    g_set_error (error, LAM_LR_FIND_ERROR, LAM_LR_FIND_ERROR_CONFIG, "%s (got %g to %g in %d "
                 "steps, smoothing %g, stop at %g × the minimum)", problem, options->start_lr,
                 options->end_lr, options->n_steps, options->smoothing, options->diverge_factor);
    return FALSE;
  }
  return TRUE;
}

LamLrFindResult *
lam_lr_find (const LamModelSpec *spec, const float *params, gsize n_params,
             const LamDataset *train, LamBackend *backend, const LamTrainerConfig *config,
             const LamLrFindOptions *options, LamLrFindProgressFunc progress, gpointer user_data,
             GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (spec != NULL && train != NULL && backend != NULL && config != NULL, NULL);

  LamLrFindOptions defaults;
  lam_lr_find_options_init (&defaults);
  if (options == NULL)
    options = &defaults;
  if (!options_are_valid (options, error))
    return NULL;

  /* An unstarted trainer is the private copy: it checks the settings, picks
   * the loss (mse for a regression that names none), normalises and builds
   * the model and optimizer exactly as the run that follows will, and its
   * thread never starts: the sweep drives its model and optimizer here. */
  LamTrainerConfig own = *config;
  own.epochs = 1;
  own.evaluate_test = FALSE;
  own.optimizer.lr = options->start_lr;
  own.schedule.kind = LAM_SCHEDULE_CONSTANT;
  LamTrainer *trainer = lam_trainer_new (spec, train, NULL, backend, &own, error);
  if (trainer == NULL)
    return NULL;
  if (params != NULL) {
    LamTrainerStart start = { .params = params, .n_params = n_params };
    if (!lam_trainer_set_start (trainer, &start, error)) {
      lam_trainer_free (trainer);
      return NULL;
    }
  }
  LamModel *model = lam_trainer_get_model (trainer);
  LamOptimizer *optimizer = lam_trainer_get_optimizer (trainer);
  LamLossKind loss_kind = lam_model_spec_get_loss (lam_model_get_spec (model));
  gboolean regression = lam_trainer_get_task (trainer) == LAM_TASK_REGRESSION;
  int n_outputs = lam_model_get_n_classes (model);
  gsize input_floats = lam_shape_numel (&lam_model_get_plan (model)->input);
  /* On the CPU the loader writes each batch into the model's input. */
  float *input_in_memory = lam_model_get_input_in_memory (model);

  /* The training part of the trainer's split (same rule, same seed). */
  g_autoptr (LamSplit) split =
    lam_split_new_fraction (train->n, config->val_fraction > 0 && train->n >= 2
                                        ? config->val_fraction : 0, config->seed);
  LamLoaderConfig loader_config = lam_loader_config_default ();
  loader_config.batch_size = config->batch_size;
  loader_config.seed = config->seed;
  loader_config.shuffle = TRUE;
  loader_config.crop_padding = config->crop_padding;
  loader_config.padding_mode = config->padding_mode;
  loader_config.hflip = config->hflip;
  lam_loader_config_set_backend (&loader_config, backend);
  lam_trainer_get_normalization (trainer, loader_config.mean, loader_config.std);
  g_autoptr (LamLoader) loader =
    lam_loader_new (train, split->train, split->n_train, &loader_config);

  gint32 *labels = backend->alloc (backend, sizeof (gint32) * config->batch_size);
  float *targets = regression
                     ? backend->alloc (backend, sizeof (float) * config->batch_size * n_outputs)
                     : NULL;
  float *loss_sum = backend->alloc (backend, sizeof (float));
  LamLrFindResult *result = NULL;
  if (labels == NULL || loss_sum == NULL || (regression && targets == NULL)) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_MEMORY,
                 "out of memory for the learning-rate sweep's buffers");
    goto out;
  }

  result = g_new0 (LamLrFindResult, 1);
  result->n_planned = options->n_steps;
  result->smoothing = options->smoothing;
  result->lrs = g_new0 (double, options->n_steps);
  result->losses = g_new0 (double, options->n_steps);
  result->smoothed = g_new0 (double, options->n_steps);
  result->stop = LAM_LR_FIND_STOP_END;
  result->min_index = result->suggested_index = -1;
  result->min_lr = result->min_loss = result->suggested_lr = NAN;

  double average = 0, best = INFINITY;
  int epoch = 0;
  lam_loader_start_epoch (loader, epoch);
  for (int step = 0; step < options->n_steps; step++) {
    if (g_cancellable_set_error_if_cancelled (cancellable, error)) {
      g_clear_pointer (&result, lam_lr_find_result_free);
      goto out;
    }
    const LamBatch *batch = lam_loader_next_into (loader, input_in_memory);
    if (batch == NULL) {
      /* A small dataset is gone through again, reshuffled. */
      lam_loader_start_epoch (loader, ++epoch);
      batch = lam_loader_next_into (loader, input_in_memory);
      g_assert (batch != NULL);
    }
    double lr = lam_lr_find_options_get_lr (options, step);
    lam_optimizer_set_lr (optimizer, lr);

    if (batch->images != lam_model_get_input (model))
      backend->upload (backend, lam_model_get_input (model), batch->images,
                       sizeof (float) * input_floats * batch->size);
    if (regression)
      backend->upload (backend, targets, batch->targets,
                       sizeof (float) * n_outputs * batch->size);
    else
      backend->upload (backend, labels, batch->labels, sizeof (gint32) * batch->size);
    /* Dropout masks as the trainer draws them, one per step. */
    guint64 step_seed = config->seed * 0x9E3779B97F4A7C15ull + (guint64) step;
    lam_model_forward (model, batch->size, TRUE, step_seed);
    backend->fill (backend, loss_sum, 1, 0);
    if (regression)
      lam_model_loss_targets (model, loss_kind, targets, batch->size, loss_sum);
    else
      lam_model_loss (model, loss_kind, labels, batch->size, loss_sum);
    lam_model_backward (model, batch->size);
    lam_optimizer_step (optimizer, lam_model_get_params (model), lam_model_get_grads (model));

    float sum = 0;
    backend->download (backend, &sum, loss_sum, sizeof sum);
    double loss = (double) sum / batch->size;
    /* fastai's smoothing: an exponential moving average, divided by
     * 1 − β^(i+1) so that its first values are not pulled towards 0. */
    average = options->smoothing * average + (1 - options->smoothing) * loss;
    double smoothed = average / (1 - pow (options->smoothing, step + 1));
    result->lrs[step] = lr;
    result->losses[step] = loss;
    result->smoothed[step] = smoothed;
    result->n_steps = step + 1;
    if (!isfinite (loss) || !isfinite (smoothed))
      result->stop = LAM_LR_FIND_STOP_NOT_FINITE;
    else if (smoothed > options->diverge_factor * best)
      result->stop = LAM_LR_FIND_STOP_DIVERGED;
    best = MIN (best, smoothed);
    if (progress != NULL) {
      lam_lr_find_suggest (result);
      progress (result, user_data);
    }
    if (result->stop != LAM_LR_FIND_STOP_END)
      break;
  }
  lam_lr_find_suggest (result);

out:
  if (labels != NULL)
    backend->free (backend, labels);
  if (targets != NULL)
    backend->free (backend, targets);
  if (loss_sum != NULL)
    backend->free (backend, loss_sum);
  g_clear_pointer (&loader, lam_loader_free);
  lam_trainer_free (trainer);
  return result;
}
