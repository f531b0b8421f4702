/* The learning-rate finder: the caller's model untouched, the sweep's
 * rates, its smoothing and suggestion, classification and regression,
 * cancelling, and settings it refuses. */
#include <math.h>
#include <string.h>

#include "lam-dataset.h"
#include "lam-device.h"
#include "lam-lr-find.h"
#include "lam-playground.h"

/* Three classes of 8×8 images: a bright bar in the top, middle or bottom
 * third, over noise (as test-trainer has them). */
static LamDataset *
make_bars_dataset (int n, guint32 seed)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  LamDataset *dataset = g_new0 (LamDataset, 1);
  dataset->name = g_strdup ("bars");
  dataset->n = n;
  dataset->channels = 1;
  dataset->height = 8;
  dataset->width = 8;
  dataset->n_classes = 3;
  dataset->images = g_new (guint8, (gsize) n * 64);
  dataset->labels = g_new (guint8, n);
  dataset->class_names = g_new0 (char *, 4);
  dataset->class_names[0] = g_strdup ("top");
  dataset->class_names[1] = g_strdup ("middle");
  dataset->class_names[2] = g_strdup ("bottom");
  for (int i = 0; i < n; i++) {
    int label = g_rand_int_range (rng, 0, 3);
    int row = label * 3 + g_rand_int_range (rng, 0, 2);
    dataset->labels[i] = (guint8) label;
    for (int p = 0; p < 64; p++) {
      int value = g_rand_int_range (rng, 0, 90);
      if (p / 8 == row)
        value += 160;
      dataset->images[(gsize) i * 64 + p] = (guint8) value;
    }
  }
  return dataset;
}

static LamTrainerConfig
bars_config (LamOptimizerKind kind)
{
  LamTrainerConfig config = lam_trainer_config_default ();
  config.optimizer = lam_optimizer_config_default (kind);
  config.batch_size = 32;
  config.normalize_from_data = TRUE;
  return config;
}

/* The caller's model and optimizer, mid-run: weights, momentum buffers
 * and step count that the sweep must leave exactly as they were. */
static void
test_caller_unchanged (void)
{
  g_autoptr (LamDataset) bars = make_bars_dataset (600, 1);
  LamBackend *backend = lam_backend_cpu_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:16,relu,linear:3",
                                                            &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = lam_dataset_get_input_shape (bars);
  LamTrainerConfig config = bars_config (LAM_OPTIMIZER_ADAM);

  LamModel *model = lam_model_new (spec, backend, config.batch_size, 42, &error);
  g_assert_no_error (error);
  gsize n = lam_model_get_n_params (model);
  LamOptimizer *optimizer = lam_optimizer_new (backend, &config.optimizer, n, &error);
  g_assert_no_error (error);
  g_autoptr (GRand) rng = g_rand_new_with_seed (9);
  g_autofree float *state = g_new (float, n);
  for (int s = 0; s < lam_optimizer_get_n_state (optimizer); s++) {
    for (gsize i = 0; i < n; i++)
      state[i] = (float) g_rand_double_range (rng, 0, 0.01);
    lam_optimizer_set_state (optimizer, s, state);
  }
  lam_optimizer_set_step (optimizer, 17);

  g_autofree float *params = g_new (float, n);
  lam_model_get_params_host (model, params);
  g_autofree float *params_before = g_memdup2 (params, sizeof (float) * n);
  float *state_before[2] = { NULL, NULL };
  for (int s = 0; s < lam_optimizer_get_n_state (optimizer); s++) {
    state_before[s] = g_new (float, n);
    lam_optimizer_get_state (optimizer, s, state_before[s]);
  }

  g_autoptr (LamLrFindResult) result = lam_lr_find (spec, params, n, bars, backend, &config, NULL,
                                                    NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->n_steps, >, 10);

  g_autofree float *params_after = g_new (float, n);
  lam_model_get_params_host (model, params_after);
  g_assert_cmpmem (params_after, sizeof (float) * n, params_before, sizeof (float) * n);
  g_assert_cmpmem (params, sizeof (float) * n, params_before, sizeof (float) * n);
  for (int s = 0; s < lam_optimizer_get_n_state (optimizer); s++) {
    lam_optimizer_get_state (optimizer, s, state);
    g_assert_cmpmem (state, sizeof (float) * n, state_before[s], sizeof (float) * n);
    g_free (state_before[s]);
  }
  g_assert_cmpint (lam_optimizer_get_step (optimizer), ==, 17);
  g_assert_cmpfloat (lam_optimizer_get_lr (optimizer), ==, config.optimizer.lr);

  /* The sweep started from those weights: the same sweep from fresh
   * weights (seed 1) starts from another loss. */
  g_autoptr (LamLrFindResult) fresh = lam_lr_find (spec, NULL, 0, bars, backend, &config, NULL,
                                                   NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (fresh->losses[0], !=, result->losses[0]);
  /* And a sweep is reproducible. */
  g_autoptr (LamLrFindResult) again = lam_lr_find (spec, params, n, bars, backend, &config, NULL,
                                                   NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (again->n_steps, ==, result->n_steps);
  g_assert_cmpmem (again->losses, sizeof (double) * again->n_steps, result->losses,
                   sizeof (double) * result->n_steps);

  lam_optimizer_free (optimizer);
  lam_model_free (model);
  lam_backend_free (backend);
}

/* The rates grow by one factor from the first bound to the second, and
 * the smoothed loss is fastai's bias-corrected moving average. */
static void
test_exponential_lrs (void)
{
  g_autoptr (LamDataset) bars = make_bars_dataset (300, 2);
  LamBackend *backend = lam_backend_cpu_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:3", &error);
  LamTrainerConfig config = bars_config (LAM_OPTIMIZER_SGD);
  LamLrFindOptions options;
  lam_lr_find_options_init (&options);
  g_assert_cmpfloat (options.start_lr, ==, 1e-6);
  g_assert_cmpfloat (options.end_lr, ==, 1);
  g_assert_cmpint (options.n_steps, ==, 100);
  options.start_lr = 1e-5;
  options.end_lr = 1e-2;
  options.n_steps = 37;
  options.diverge_factor = 1e9;

  g_autoptr (LamLrFindResult) result = lam_lr_find (spec, NULL, 0, bars, backend, &config,
                                                    &options, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  /* 37 batches of 32 from 270 training images: the split is gone through
   * several times. */
  g_assert_cmpint (result->n_steps, ==, 37);
  g_assert_cmpint (result->n_planned, ==, 37);
  g_assert_cmpint (result->stop, ==, LAM_LR_FIND_STOP_END);
  g_assert_cmpfloat (fabs (result->lrs[0] - 1e-5) / 1e-5, <, 1e-12);
  g_assert_cmpfloat (fabs (result->lrs[36] - 1e-2) / 1e-2, <, 1e-12);
  double factor = pow (1e3, 1.0 / 36);
  for (int i = 1; i < 37; i++) {
    g_assert_cmpfloat (fabs (result->lrs[i] / result->lrs[i - 1] - factor), <, 1e-9);
    g_assert_cmpfloat (result->lrs[i], ==, lam_lr_find_options_get_lr (&options, i));
  }
  double average = 0;
  for (int i = 0; i < 37; i++) {
    g_assert_true (isfinite (result->losses[i]));
    average = 0.98 * average + 0.02 * result->losses[i];
    g_assert_cmpfloat (fabs (result->smoothed[i] - average / (1 - pow (0.98, i + 1))), <, 1e-12);
  }
  g_assert_cmpfloat (result->smoothed[0], ==, result->losses[0]);
  lam_backend_free (backend);
}

static void
record_progress (const LamLrFindResult *so_far, gpointer user_data)
{
  GArray *seen = user_data;
  g_array_append_val (seen, so_far->n_steps);
}

/* On an easy problem the suggestion lies where training works: one short
 * run at the suggested rate learns the bars; one at the sweep's first
 * rate does not. */
static void
test_suggestion_sensible (gconstpointer data)
{
  LamOptimizerKind kind = GPOINTER_TO_INT (data);
  g_autoptr (LamDataset) bars = make_bars_dataset (2000, 3);
  LamBackend *backend = lam_backend_cpu_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:32,relu,linear:3",
                                                            &error);
  LamTrainerConfig config = bars_config (kind);
  g_autoptr (GArray) seen = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (LamLrFindResult) result = lam_lr_find (spec, NULL, 0, bars, backend, &config, NULL,
                                                    record_progress, seen, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("%s: %d steps (stop %d), minimum %.3g at lr %.3g, suggestion %.3g (%s)",
                  lam_optimizer_kind_to_string (kind), result->n_steps, result->stop,
                  result->min_loss, result->min_lr, result->suggested_lr,
                  result->steepest ? "steepest" : "minimum / 10");
  /* Progress after every step, counting up. */
  g_assert_cmpuint (seen->len, ==, result->n_steps);
  for (guint i = 0; i < seen->len; i++)
    g_assert_cmpint (g_array_index (seen, int, i), ==, i + 1);

  g_assert_true (result->steepest);
  g_assert_cmpint (result->suggested_index, <, result->min_index);
  g_assert_cmpint (result->suggested_index, >=, result->n_steps / 10);
  g_assert_cmpfloat (result->suggested_lr, <, result->min_lr);
  g_assert_cmpfloat (result->suggested_lr, >=, 1e-5);
  g_assert_cmpfloat (result->suggested_lr, <=, 0.5);
  /* The smoothed loss fell over the steps before the suggestion's. */
  g_assert_cmpfloat (result->smoothed[result->suggested_index + 1], <,
                     result->smoothed[result->suggested_index]);

  /* 60 steps at the suggestion against 60 at the sweep's first rate. */
  LamLrFindOptions flat;
  lam_lr_find_options_init (&flat);
  flat.n_steps = 60;
  flat.diverge_factor = 1e9;
  double final[2];
  double rates[2] = { result->suggested_lr, 1e-6 };
  for (int r = 0; r < 2; r++) {
    flat.start_lr = rates[r];
    flat.end_lr = rates[r] * (1 + 1e-9);
    g_autoptr (LamLrFindResult) run = lam_lr_find (spec, NULL, 0, bars, backend, &config, &flat,
                                                   NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    final[r] = run->smoothed[run->n_steps - 1];
  }
  g_test_message ("after 60 steps: loss %.4f at the suggestion, %.4f at 1e-6", final[0],
                  final[1]);
  g_assert_cmpfloat (final[0], <, 0.5 * final[1]);
  lam_backend_free (backend);
}

/* A regression table sweeps its mse on standardised targets. */
static void
test_regression (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  g_assert_true (lam_playground_load ("playground:plane?points=2000&noise=0.05", &train, &test,
                                      &error));
  g_assert_no_error (error);
  g_assert_true (lam_dataset_is_table (train));
  g_assert_cmpint (train->task, ==, LAM_TASK_REGRESSION);
  LamBackend *backend = lam_backend_cpu_new ();
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("linear:8,tanh,linear:1", &error);
  LamTrainerConfig config = lam_trainer_config_default ();
  g_autoptr (LamLrFindResult) result = lam_lr_find (spec, NULL, 0, train, backend, &config, NULL,
                                                    NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("plane: %d steps, suggestion %.3g, minimum %.3g at %.3g", result->n_steps,
                  result->suggested_lr, result->min_loss, result->min_lr);
  g_assert_cmpint (result->n_steps, >, 50);
  g_assert_true (isfinite (result->suggested_lr));
  g_assert_cmpfloat (result->suggested_lr, >=, 1e-6 / 10);
  g_assert_cmpfloat (result->suggested_lr, <=, 1);
  /* The targets are standardised: the loss starts near their variance
   * (about 1 or more for an untrained net) and falls well below it. */
  g_assert_cmpfloat (result->min_loss, <, 0.7 * result->smoothed[0]);
  g_assert_cmpfloat (result->losses[result->n_steps - 1], <, 0.5 * result->losses[0]);

  /* A loss against classes is refused, as the trainer refuses it. */
  spec->has_loss = TRUE;
  spec->loss = LAM_LOSS_CROSS_ENTROPY;
  g_assert_null (lam_lr_find (spec, NULL, 0, train, backend, &config, NULL, NULL, NULL, NULL,
                              &error));
  g_assert_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_DATA);
  lam_backend_free (backend);
}

typedef struct
{
  GCancellable *cancellable;
  int cancel_at;
  int calls;
} CancelAt;

static void
cancel_at (const LamLrFindResult *so_far, gpointer user_data)
{
  CancelAt *at = user_data;
  at->calls++;
  if (so_far->n_steps == at->cancel_at)
    g_cancellable_cancel (at->cancellable);
}

static void
test_cancel (void)
{
  g_autoptr (LamDataset) bars = make_bars_dataset (300, 4);
  LamBackend *backend = lam_backend_cpu_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:3", &error);
  LamTrainerConfig config = bars_config (LAM_OPTIMIZER_ADAM);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  CancelAt at = { cancellable, 5, 0 };
  LamLrFindResult *result = lam_lr_find (spec, NULL, 0, bars, backend, &config, NULL, cancel_at,
                                         &at, cancellable, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (at.calls, ==, 5);
  g_clear_error (&error);

  /* Cancelled before it began: no step at all. */
  at.calls = 0;
  g_assert_null (lam_lr_find (spec, NULL, 0, bars, backend, &config, NULL, cancel_at, &at,
                              cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (at.calls, ==, 0);
  lam_backend_free (backend);
}

/* A rate far too high makes the loss blow up: the sweep stops there. */
static void
test_stops_when_diverging (void)
{
  g_autoptr (LamDataset) bars = make_bars_dataset (600, 5);
  LamBackend *backend = lam_backend_cpu_new ();
  g_autoptr (GError) error = NULL;
  /* Linear, so that no unit can die and hold the loss at log 3, and one
   * label in five wrong, so that no rate is too large for the data to be
   * separated: the wrong ones cost more the larger the weights grow. */
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:3", &error);
  for (int i = 0; i < bars->n; i += 5)
    bars->labels[i] = (bars->labels[i] + 1) % 3;
  LamTrainerConfig config = bars_config (LAM_OPTIMIZER_SGD);
  LamLrFindOptions options;
  lam_lr_find_options_init (&options);
  options.start_lr = 1e-3;
  options.end_lr = 1e4;
  g_autoptr (LamLrFindResult) result = lam_lr_find (spec, NULL, 0, bars, backend, &config,
                                                    &options, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("stopped after %d of %d steps (stop %d) at lr %.3g", result->n_steps,
                  result->n_planned, result->stop, result->lrs[result->n_steps - 1]);
  g_assert_cmpint (result->stop, !=, LAM_LR_FIND_STOP_END);
  g_assert_cmpint (result->n_steps, <, result->n_planned);
  double last = result->smoothed[result->n_steps - 1];
  g_assert_true (!isfinite (last) || last > 4 * result->min_loss);
  /* Every step before the last was within bounds. */
  for (int i = 0; i < result->n_steps - 1; i++)
    g_assert_true (isfinite (result->smoothed[i]));
  g_assert_cmpint (result->min_index, <, result->n_steps - 1);
  lam_backend_free (backend);
}

static LamLrFindResult *
curve_new (int n, double (*shape) (double t))
{
  LamLrFindResult *result = g_new0 (LamLrFindResult, 1);
  result->n_planned = result->n_steps = n;
  result->lrs = g_new (double, n);
  result->losses = g_new (double, n);
  result->smoothed = g_new (double, n);
  LamLrFindOptions options;
  lam_lr_find_options_init (&options);
  options.n_steps = n;
  for (int i = 0; i < n; i++) {
    result->lrs[i] = lam_lr_find_options_get_lr (&options, i);
    result->losses[i] = result->smoothed[i] = shape ((double) i / (n - 1));
  }
  return result;
}

/* Flat, a fall steepest at 0.4 of the way, a minimum at 0.7, a rise. */
static double
valley (double t)
{
  return 2 - tanh ((t - 0.4) * 12) + (t > 0.7 ? 30 * (t - 0.7) * (t - 0.7) : 0);
}

static double
rising (double t)
{
  return 1 + t * t;
}

static double
falling_early (double t)
{
  /* The steepest fall lies in the first tenth, which the rule skips. */
  return 1 + exp (-40 * t) + 0.2 * (t - 0.5) * (t - 0.5);
}

static double
lucky_first (double t)
{
  return t == 0 ? 0.5 : 2 - 0.5 * tanh ((t - 0.6) * 10);
}

/* Lowest at 0.05, inside the first tenth the rule skips, then only rising. */
static double
low_early_then_rising (double t)
{
  return 1 + (t - 0.05) * (t - 0.05);
}

static void
test_suggest_rule (void)
{
  g_autoptr (LamLrFindResult) v = curve_new (101, valley);
  lam_lr_find_suggest (v);
  g_assert_true (v->steepest);
  g_assert_cmpint (v->suggested_index, >=, 39);
  g_assert_cmpint (v->suggested_index, <=, 40);
  g_assert_cmpfloat (v->suggested_lr, ==, v->lrs[v->suggested_index]);
  g_assert_cmpint (v->min_index, >=, 69);
  g_assert_cmpint (v->min_index, <=, 71);
  g_assert_cmpfloat (v->min_lr, ==, v->lrs[v->min_index]);

  /* A loss that only rises: no descent, so the minimum's rate / 10, but
   * never below the sweep's first rate. */
  g_autoptr (LamLrFindResult) r = curve_new (50, rising);
  lam_lr_find_suggest (r);
  g_assert_false (r->steepest);
  g_assert_cmpint (r->min_index, ==, 0);
  g_assert_cmpfloat (r->suggested_lr, ==, r->lrs[0]);

  /* No fall past the skipped steps: a tenth of the minimum's rate, and
   * the step it names (where the dialog marks the curve) is that rate's,
   * not the minimum's. */
  g_autoptr (LamLrFindResult) low = curve_new (101, low_early_then_rising);
  lam_lr_find_suggest (low);
  g_assert_false (low->steepest);
  g_assert_cmpint (low->min_index, ==, 5);
  g_assert_cmpfloat_with_epsilon (low->suggested_lr, MAX (low->min_lr / 10, low->lrs[0]), 1e-15);
  g_assert_cmpfloat_with_epsilon (low->lrs[low->suggested_index], low->suggested_lr,
                                  low->suggested_lr * 0.07);

  /* The least loss first (a lucky first batch), then a fall at larger
   * rates: the valley rule finds the fall. */
  g_autoptr (LamLrFindResult) lucky = curve_new (101, lucky_first);
  lam_lr_find_suggest (lucky);
  g_assert_cmpint (lucky->min_index, ==, 0);
  g_assert_true (lucky->steepest);
  g_test_message ("lucky first batch: suggestion at step %d", lucky->suggested_index);
  g_assert_cmpint (lucky->suggested_index, >=, 45);
  g_assert_cmpint (lucky->suggested_index, <=, 75);

  /* With the sweep's smoothing, the steps where the bias correction still
   * magnifies the noise are passed over: a jump at step 12 is no fall. */
  g_autoptr (LamLrFindResult) early = curve_new (101, valley);
  early->smoothing = 0.98;
  early->smoothed[12] -= 5;
  lam_lr_find_suggest (early);
  g_assert_cmpint (early->suggested_index, >=, 34);

  g_autoptr (LamLrFindResult) f = curve_new (100, falling_early);
  lam_lr_find_suggest (f);
  g_assert_true (f->steepest);
  g_assert_cmpint (f->suggested_index, ==, 10);

  /* Nothing finite: no suggestion, said as NaN. */
  for (int i = 0; i < r->n_steps; i++)
    r->smoothed[i] = NAN;
  lam_lr_find_suggest (r);
  g_assert_cmpint (r->min_index, ==, -1);
  g_assert_true (isnan (r->suggested_lr));
  g_assert_false (r->steepest);
}

static void
test_bad_config (void)
{
  g_autoptr (LamDataset) bars = make_bars_dataset (100, 6);
  LamBackend *backend = lam_backend_cpu_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:3", &error);
  LamTrainerConfig config = bars_config (LAM_OPTIMIZER_SGD);

  struct
  {
    double start, end;
    int steps;
    double smoothing, factor;
    const char *says;
  } bad[] = {
    { 0, 1, 100, 0.98, 4, "first learning rate" },
    { -1, 1, 100, 0.98, 4, "first learning rate" },
    { NAN, 1, 100, 0.98, 4, "first learning rate" },
    { 1e-3, 1e-3, 100, 0.98, 4, "last learning rate" },
    { 1e-3, INFINITY, 100, 0.98, 4, "last learning rate" },
    { 1e-6, 1, 1, 0.98, 4, "from 2 to 100000 steps" },
    { 1e-6, 1, 100001, 0.98, 4, "from 2 to 100000 steps" },
    { 1e-6, 1, 100, 1, 4, "smoothing" },
    { 1e-6, 1, 100, -0.1, 4, "smoothing" },
    { 1e-6, 1, 100, 0.98, 1, "stopping factor" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    LamLrFindOptions options = { bad[i].start, bad[i].end, bad[i].steps, bad[i].smoothing,
                                 bad[i].factor };
    g_assert_null (lam_lr_find (spec, NULL, 0, bars, backend, &config, &options, NULL, NULL,
                                NULL, &error));
    g_assert_error (error, LAM_LR_FIND_ERROR, LAM_LR_FIND_ERROR_CONFIG);
    if (strstr (error->message, bad[i].says) == NULL)
      g_error ("case %u: expected \"%s\" in \"%s\"", i, bad[i].says, error->message);
    g_clear_error (&error);
  }

  /* The trainer's own checks, with its errors. */
  LamTrainerConfig wrong = config;
  wrong.batch_size = 0;
  g_assert_null (lam_lr_find (spec, NULL, 0, bars, backend, &wrong, NULL, NULL, NULL, NULL,
                              &error));
  g_assert_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG);
  g_clear_error (&error);
  wrong = config;
  wrong.optimizer.momentum = 1.5;
  g_assert_null (lam_lr_find (spec, NULL, 0, bars, backend, &wrong, NULL, NULL, NULL, NULL,
                              &error));
  g_assert_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG);
  g_clear_error (&error);

  /* Weights that do not fit the model. */
  float params[5] = { 0 };
  g_assert_null (lam_lr_find (spec, params, 5, bars, backend, &config, NULL, NULL, NULL, NULL,
                              &error));
  g_assert_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "5 parameters"));
  g_clear_error (&error);

  /* A model with too few outputs for the classes. */
  g_autoptr (LamModelSpec) narrow = lam_model_spec_from_text ("flatten,linear:2", &error);
  g_assert_null (lam_lr_find (narrow, NULL, 0, bars, backend, &config, NULL, NULL, NULL, NULL,
                              &error));
  g_assert_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_DATA);
  g_clear_error (&error);
  lam_backend_free (backend);
}

/* The real dataset and the lesson's model: the suggestion for Adam lies
 * in the range the tutorials use. */
static void
test_fashion_mlp (void)
{
  g_autoptr (LamDataset) train = NULL;
  g_autoptr (GError) error = NULL;
  if (!lam_dataset_load_dir (LAM_DATASET_DEFAULT_DIR, &train, NULL, &error)) {
    g_test_skip_printf ("Fashion-MNIST is not installed (%s): apt-get install "
                        "dataset-fashion-mnist", error->message);
    return;
  }
  LamBackend *backend = lam_backend_cpu_new ();
  g_autoptr (LamModelSpec) spec = lam_model_spec_preset ("mlp", &error);
  g_assert_no_error (error);
  LamTrainerConfig config = lam_trainer_config_lesson_default ();
  g_autoptr (LamLrFindResult) result = lam_lr_find (spec, NULL, 0, train, backend, &config, NULL,
                                                    NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("mlp, adam: %d steps (stop %d), suggestion %.3g, minimum %.3f at lr %.3g",
                  result->n_steps, result->stop, result->suggested_lr, result->min_loss,
                  result->min_lr);
  g_assert_true (result->steepest);
  g_assert_cmpfloat (result->suggested_lr, >=, 1e-5);
  g_assert_cmpfloat (result->suggested_lr, <=, 3e-2);
  /* From log 10 (2.3, guessing) down; smoothed, so it lags the raw loss. */
  g_assert_cmpfloat (result->smoothed[0], >, 2.0);
  g_assert_cmpfloat (result->min_loss, <, 0.8 * result->smoothed[0]);
  lam_backend_free (backend);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lr-find/caller-unchanged", test_caller_unchanged);
  g_test_add_func ("/lr-find/exponential-lrs", test_exponential_lrs);
  g_test_add_data_func ("/lr-find/suggestion/sgd", GINT_TO_POINTER (LAM_OPTIMIZER_SGD),
                        test_suggestion_sensible);
  g_test_add_data_func ("/lr-find/suggestion/adam", GINT_TO_POINTER (LAM_OPTIMIZER_ADAM),
                        test_suggestion_sensible);
  g_test_add_func ("/lr-find/suggestion/rule", test_suggest_rule);
  g_test_add_func ("/lr-find/regression", test_regression);
  g_test_add_func ("/lr-find/stops-when-diverging", test_stops_when_diverging);
  g_test_add_func ("/lr-find/cancel", test_cancel);
  g_test_add_func ("/lr-find/bad-config", test_bad_config);
  g_test_add_func ("/e2e/fashion-mnist/lr-find-mlp", test_fashion_mlp);
  return g_test_run ();
}
