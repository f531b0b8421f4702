/* Regression on tables of numbers, end to end in core: a linear model
 * trained with MSE against the closed-form least-squares solution, the
 * metrics in the targets' own units, and the mismatches the trainer and
 * predict refuse. */
#include <math.h>
#include <string.h>

#include "cpu-ref/lam-backend-ref.h"
#include "lam-dataset.h"
#include "lam-device.h"
#include "lam-predict.h"
#include "lam-test-util.h"
#include "lam-trainer.h"

static LamBackend *cpu;
static char *tmp_root;

/* ---- helpers ---- */

typedef struct
{
  GMainLoop *loop;
  GArray *epochs; /* LamTrainerEvent, scalars only */
  LamTrainerEvent test;
  double test_target_r2[8];
  gboolean have_test;
  int n_progress;
  int n_shown;
} Run;

static void
on_event (const LamTrainerEvent *event, gpointer user_data)
{
  Run *run = user_data;
  LamTrainerEvent scalars = *event;
  scalars.message = NULL;
  scalars.confusion = NULL;
  scalars.shown_indices = NULL;
  scalars.shown_predicted = NULL;
  scalars.test_target_mse = scalars.test_target_mae = scalars.test_target_r2 = NULL;
  scalars.params = NULL;
  switch (event->kind) {
  case LAM_TRAINER_EVENT_PROGRESS:
    run->n_progress++;
    run->n_shown += event->n_shown;
    g_assert_true (isnan (event->accuracy) || event->confusion == NULL);
    break;
  case LAM_TRAINER_EVENT_EPOCH:
    g_array_append_val (run->epochs, scalars);
    break;
  case LAM_TRAINER_EVENT_TEST:
    run->test = scalars;
    run->have_test = TRUE;
    for (int j = 0; j < MIN (event->n_targets, 8); j++)
      run->test_target_r2[j] = event->test_target_r2[j];
    break;
  case LAM_TRAINER_EVENT_DIVERGED:
  case LAM_TRAINER_EVENT_ERROR:
    g_error ("training failed: %s", event->message);
    break;
  case LAM_TRAINER_EVENT_FINISHED:
    g_main_loop_quit (run->loop);
    break;
  default:
    break;
  }
}

static void
train (LamTrainer *trainer, Run *run)
{
  run->loop = g_main_loop_new (NULL, FALSE);
  run->epochs = g_array_new (FALSE, TRUE, sizeof (LamTrainerEvent));
  lam_trainer_set_event_func (trainer, on_event, run, NULL);
  lam_trainer_start (trainer, FALSE);
  g_main_loop_run (run->loop);
  lam_trainer_wait (trainer);
}

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->loop, g_main_loop_unref);
  g_clear_pointer (&run->epochs, g_array_unref);
}

static void
load_table (const char *path, const char *targets, LamDataset **train, LamDataset **test)
{
  g_auto (GStrv) target_list = g_strsplit (targets, ",", -1);
  LamCsvOptions options;
  lam_csv_options_init (&options);
  options.targets = (const char *const *) target_list;
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_dataset_load_csv (path, &options, train, test, &error));
  g_assert_no_error (error);
}

static LamModelSpec *
spec_from (const char *text)
{
  g_autoptr (GError) error = NULL;
  LamModelSpec *spec = lam_model_spec_from_text (text, &error);
  g_assert_no_error (error);
  return spec;
}

/* Solves the d × d system a x = b in place (Gaussian elimination with
 * partial pivoting, in double). */
static void
solve (double *a, double *b, int d)
{
  for (int c = 0; c < d; c++) {
    int pivot = c;
    for (int r = c + 1; r < d; r++)
      if (fabs (a[r * d + c]) > fabs (a[pivot * d + c]))
        pivot = r;
    for (int j = 0; j < d; j++) {
      double t = a[c * d + j];
      a[c * d + j] = a[pivot * d + j];
      a[pivot * d + j] = t;
    }
    double t = b[c];
    b[c] = b[pivot];
    b[pivot] = t;
    g_assert_cmpfloat (fabs (a[c * d + c]), >, 1e-12);
    for (int r = 0; r < d; r++) {
      if (r == c)
        continue;
      double f = a[r * d + c] / a[c * d + c];
      for (int j = 0; j < d; j++)
        a[r * d + j] -= f * a[c * d + j];
      b[r] -= f * b[c];
    }
  }
  for (int c = 0; c < d; c++)
    b[c] /= a[c * d + c];
}

/* The least-squares fit of a table's targets on its features with an
 * intercept, in double: weights (k × d) and bias (k); returns the mean
 * squared residual over rows and targets. Centred first, so the normal
 * equations are those of the covariance. */
static double
least_squares (const LamDataset *ds, double *weights, double *bias)
{
  int n = ds->n, d = ds->n_features, k = ds->n_targets;
  g_autofree double *mx = g_new0 (double, d);
  g_autofree double *my = g_new0 (double, k);
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < d; j++)
      mx[j] += ds->features[i * d + j] / (double) n;
    for (int t = 0; t < k; t++)
      my[t] += ds->targets[i * k + t] / (double) n;
  }
  double total = 0;
  for (int t = 0; t < k; t++) {
    g_autofree double *a = g_new0 (double, d * d);
    g_autofree double *b = g_new0 (double, d);
    for (int i = 0; i < n; i++) {
      double y = ds->targets[i * k + t] - my[t];
      for (int j = 0; j < d; j++) {
        double xj = ds->features[i * d + j] - mx[j];
        b[j] += xj * y;
        for (int m = 0; m < d; m++)
          a[j * d + m] += xj * (ds->features[i * d + m] - mx[m]);
      }
    }
    solve (a, b, d);
    bias[t] = my[t];
    for (int j = 0; j < d; j++) {
      weights[t * d + j] = b[j];
      bias[t] -= b[j] * mx[j];
    }
    for (int i = 0; i < n; i++) {
      double r = ds->targets[i * k + t] - bias[t];
      for (int j = 0; j < d; j++)
        r -= weights[t * d + j] * ds->features[i * d + j];
      total += r * r;
    }
  }
  return total / ((double) n * k);
}

/* ---- least squares ---- */

static void
test_least_squares (void)
{
  const int n = 500, d = 3, k = 2;
  g_autofree char *path = g_build_filename (tmp_root, "linear.csv", NULL);
  double rule_w[6], rule_b[2];
  lam_test_write_linear_csv (path, n, d, k, 2.0, 5, rule_w, rule_b);
  g_autoptr (LamDataset) train_set = NULL;
  g_autoptr (LamDataset) test_set = NULL;
  load_table (path, "y1,y2", &train_set, &test_set);
  g_assert_cmpint (train_set->n, ==, 400);
  g_assert_cmpint (test_set->n, ==, 100);

  double w[6], b[2];
  double optimal = least_squares (train_set, w, b);
  /* The fit finds the rule it was made from, within the noise. */
  for (int i = 0; i < k * d; i++)
    g_assert_cmpfloat (fabs (w[i] - rule_w[i]), <, 0.1);
  g_assert_cmpfloat (optimal, >, 3.0);
  g_assert_cmpfloat (optimal, <, 5.0);

  g_autoptr (LamModelSpec) spec = spec_from ("linear:2");
  LamTrainerConfig config = lam_trainer_config_default ();
  config.epochs = 60;
  config.batch_size = 32;
  config.optimizer = lam_optimizer_config_default (LAM_OPTIMIZER_SGD);
  config.optimizer.lr = 0.05;
  config.optimizer.momentum = 0.9;
  config.schedule.kind = LAM_SCHEDULE_COSINE;
  config.schedule.t_max = config.epochs;
  config.val_fraction = 0;
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, train_set, test_set, cpu, &config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lam_trainer_get_task (trainer), ==, LAM_TASK_REGRESSION);
  /* The spec named no loss: a regression gets mse. */
  g_assert_cmpint (lam_model_spec_get_loss (lam_model_get_spec (lam_trainer_get_model (trainer))),
                   ==, LAM_LOSS_MSE);
  Run run = { 0 };
  train (trainer, &run);

  LamModel *model = lam_trainer_get_model (trainer);
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_VALUES;
  g_autoptr (LamPrediction) fit =
    lam_model_predict (model, train_set, NULL, 0, NULL, NULL, &request, NULL, &error);
  g_assert_no_error (error);
  double gap = fit->mse / optimal - 1;
  g_test_message ("least squares: optimal MSE %.6f, trained %.6f, gap %.4f%%", optimal, fit->mse,
                  gap * 100);
  g_assert_cmpfloat (fit->mse, >=, optimal * (1 - 1e-5));
  g_assert_cmpfloat (gap, <=, 0.01);
  g_assert_true (isnan (fit->accuracy));

  /* The weights, brought back to the raw units: y = σy (W (x - μx) / σx + b) + μy. */
  g_autofree float *params = g_new (float, lam_model_get_n_params (model));
  lam_model_get_params_host (model, params);
  double max_diff = 0;
  for (int t = 0; t < k; t++) {
    double sy = train_set->target_std[t], raw_b = train_set->target_mean[t];
    double shift = params[k * d + t];
    for (int j = 0; j < d; j++) {
      double wj = params[t * d + j] / train_set->feature_std[j];
      shift -= wj * train_set->feature_mean[j];
      max_diff = MAX (max_diff, fabs (wj * sy - w[t * d + j]) / MAX (1, fabs (w[t * d + j])));
    }
    raw_b += sy * shift;
    max_diff = MAX (max_diff, fabs (raw_b - b[t]) / MAX (1, fabs (b[t])));
  }
  g_test_message ("least squares: largest relative weight difference %.2e", max_diff);
  g_assert_cmpfloat (max_diff, <, 0.01);

  /* The last epoch's training figures are those of the weights at its
   * end, over the same rows; every epoch has them and no accuracy. */
  g_assert_cmpuint (run.epochs->len, ==, 60);
  const LamTrainerEvent *last = &g_array_index (run.epochs, LamTrainerEvent, 59);
  g_assert_cmpfloat (last->mse, ==, fit->mse);
  g_assert_cmpfloat (last->mae, ==, fit->mae);
  g_assert_cmpfloat (last->r2, ==, fit->r2);
  g_assert_cmpfloat (last->r2, >, 0.9);
  g_assert_true (isnan (last->accuracy) && isnan (last->val_mse) && isnan (last->val_loss));
  const LamTrainerEvent *first = &g_array_index (run.epochs, LamTrainerEvent, 0);
  g_assert_cmpfloat (first->mse, >, last->mse);
  g_assert_true (run.n_progress > 0);
  /* The test set, with the figures of each target. */
  g_assert_true (run.have_test);
  g_assert_true (isnan (run.test.test_accuracy));
  g_assert_cmpint (run.test.n_targets, ==, 2);
  g_assert_cmpfloat (run.test.test_mse, <, 1.2 * optimal);
  g_assert_cmpfloat (run.test.test_r2, >, 0.9);
  g_assert_cmpfloat (fabs ((run.test_target_r2[0] + run.test_target_r2[1]) / 2 - run.test.test_r2),
                     <, 1e-12);

  run_clear (&run);
  lam_trainer_free (trainer);
}

/* Validation figures come in the targets' units too. */
static void
test_validation (void)
{
  g_autofree char *path = g_build_filename (tmp_root, "valid.csv", NULL);
  lam_test_write_linear_csv (path, 200, 2, 1, 0.5, 9, NULL, NULL);
  g_autoptr (LamDataset) train_set = NULL;
  load_table (path, "y1", &train_set, NULL);
  g_autoptr (LamModelSpec) spec = spec_from ("linear:8,relu,linear:1");
  LamTrainerConfig config = lam_trainer_config_default ();
  config.epochs = 3;
  config.batch_size = 16;
  config.val_fraction = 0.25;
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, train_set, NULL, cpu, &config, &error);
  g_assert_no_error (error);
  lam_trainer_set_pace (trainer, 1000);
  Run run = { 0 };
  train (trainer, &run);
  const LamTrainerEvent *last = &g_array_index (run.epochs, LamTrainerEvent, 2);
  g_assert_true (isfinite (last->val_mse) && isfinite (last->val_mae) && isfinite (last->val_r2));
  g_assert_true (isfinite (last->val_loss) && isnan (last->val_accuracy));
  /* A paced regression shows no images with classes. */
  g_assert_cmpint (run.n_shown, ==, 0);
  g_assert_false (run.have_test);
  run_clear (&run);
  lam_trainer_free (trainer);
}

/* ---- l1 ---- */

/* Trains linear:1 with the given loss on the table; returns the raw-unit
 * intercept and fills the prediction over the training rows. */
static double
fit_line (const LamDataset *table, const char *spec_text, LamPrediction **fit)
{
  g_autoptr (LamModelSpec) spec = spec_from (spec_text);
  LamTrainerConfig config = lam_trainer_config_default ();
  config.epochs = 80;
  config.batch_size = 20;
  config.optimizer = lam_optimizer_config_default (LAM_OPTIMIZER_SGD);
  config.optimizer.lr = 0.05;
  config.optimizer.momentum = 0.9;
  config.schedule.kind = LAM_SCHEDULE_COSINE;
  config.schedule.t_max = config.epochs;
  config.val_fraction = 0;
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, table, NULL, cpu, &config, &error);
  g_assert_no_error (error);
  Run run = { 0 };
  train (trainer, &run);
  LamModel *model = lam_trainer_get_model (trainer);
  *fit = lam_model_predict (model, table, NULL, 0, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  float params[2];
  lam_model_get_params_host (model, params);
  run_clear (&run);
  lam_trainer_free (trainer);
  /* y = σy (w (x - μx) / σx + b) + μy at x = 0. */
  return table->target_std[0] *
           (params[1] - params[0] * table->feature_mean[0] / table->feature_std[0]) +
         table->target_mean[0];
}

/* The mean absolute error is robust where the squared one is not: rows
 * with a large outlier pull the MSE line up by their mean share, and leave
 * the L1 line (a median fit) where the other rows put it. */
static void
test_l1 (void)
{
  g_autofree char *path = g_build_filename (tmp_root, "outliers.csv", NULL);
  g_autoptr (GRand) rng = g_rand_new_with_seed (17);
  g_autoptr (GString) s = g_string_new ("x,y\n");
  for (int i = 0; i < 400; i++) {
    double x = g_rand_double_range (rng, 0, 10);
    double y = 3 * x + 1 + g_rand_double_range (rng, -0.5, 0.5) + (i % 20 == 0 ? 200 : 0);
    char bx[G_ASCII_DTOSTR_BUF_SIZE], by[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append_printf (s, "%s,%s\n", g_ascii_formatd (bx, sizeof bx, "%.4f", x),
                            g_ascii_formatd (by, sizeof by, "%.4f", y));
  }
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, s->str, -1, &error);
  g_assert_no_error (error);
  g_autoptr (LamDataset) table = NULL;
  load_table (path, "y", &table, NULL);

  g_autoptr (LamPrediction) l1 = NULL;
  g_autoptr (LamPrediction) mse = NULL;
  double b_l1 = fit_line (table, "linear:1,loss=l1", &l1);
  double b_mse = fit_line (table, "linear:1,loss=mse", &mse);
  g_test_message ("l1: intercept %.3f, MAE %.3f; mse: intercept %.3f, MAE %.3f", b_l1, l1->mae,
                  b_mse, mse->mae);
  g_assert_cmpfloat (fabs (b_l1 - 1), <, 0.5);
  g_assert_cmpfloat (b_mse, >, 6);
  g_assert_cmpfloat (l1->mae, <, mse->mae - 5);
  /* One target: the l1 loss on standardised targets is the MAE over σy. */
  g_assert_cmpfloat_with_epsilon (l1->mean_loss * table->target_std[0], l1->mae, 1e-4 * l1->mae);
}

/* ---- the L1 weight penalty ---- */

/* Trains linear:1 on the table with SGD and the given L1 penalty; fills
 * the weights (standardised units) and returns the training MSE. */
static double
fit_penalised (const LamDataset *table, double l1, int backend_kind, float *weights, int d)
{
  g_autoptr (LamModelSpec) spec = spec_from ("linear:1");
  LamTrainerConfig config = lam_trainer_config_default ();
  config.epochs = 40;
  config.batch_size = 25;
  config.optimizer = lam_optimizer_config_default (LAM_OPTIMIZER_SGD);
  config.optimizer.lr = 0.05;
  config.optimizer.l1 = l1;
  config.schedule.kind = LAM_SCHEDULE_COSINE;
  config.schedule.t_max = config.epochs;
  config.val_fraction = 0;
  LamBackend *ref = backend_kind ? lam_backend_ref_new () : NULL;
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, table, NULL, ref != NULL ? ref : cpu, &config,
                                         &error);
  g_assert_no_error (error);
  Run run = { 0 };
  train (trainer, &run);
  LamModel *model = lam_trainer_get_model (trainer);
  g_autoptr (LamPrediction) fit =
    lam_model_predict (model, table, NULL, 0, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  lam_model_get_params_host (model, weights);
  double mse = fit->mean_loss;
  run_clear (&run);
  lam_trainer_free (trainer);
  if (ref != NULL)
    lam_backend_free (ref);
  g_assert_cmpint (d, ==, 6);
  return mse;
}

/* Three of six inputs decide the target and three are noise. Without a
 * penalty the noise inputs keep small weights fitted to the noise; the L1
 * penalty pulls every weight by the same amount each step, so theirs end
 * at zero (within a step of it, lr × l1, which the cosine schedule brings
 * down to nothing), while the real ones only shrink by about the penalty. */
static void
test_l1_penalty (void)
{
  g_autofree char *path = g_build_filename (tmp_root, "sparse.csv", NULL);
  g_autoptr (GRand) rng = g_rand_new_with_seed (29);
  g_autoptr (GString) s = g_string_new ("a,b,c,n1,n2,n3,y\n");
  for (int i = 0; i < 200; i++) {
    double x[6];
    for (int j = 0; j < 6; j++)
      x[j] = g_rand_double_range (rng, -1, 1);
    double y = 3 * x[0] - 2 * x[1] + x[2] + g_rand_double_range (rng, -1, 1);
    for (int j = 0; j < 6; j++) {
      char b[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf (s, "%s,", g_ascii_formatd (b, sizeof b, "%.5f", x[j]));
    }
    char b[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append_printf (s, "%s\n", g_ascii_formatd (b, sizeof b, "%.5f", y));
  }
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, s->str, -1, &error);
  g_assert_no_error (error);
  g_autoptr (LamDataset) table = NULL;
  load_table (path, "y", &table, NULL);

  float plain[7], penalised[7], reference[7];
  double mse_plain = fit_penalised (table, 0, 0, plain, 6);
  double mse_penalised = fit_penalised (table, 0.05, 0, penalised, 6);
  g_test_message ("L1 penalty 0.05: noise weights %.2e %.2e %.2e (without: %.2e %.2e %.2e); "
                  "real weights %.3f %.3f %.3f (without: %.3f %.3f %.3f); training loss %.4f "
                  "(without: %.4f)",
                  penalised[3], penalised[4], penalised[5], plain[3], plain[4], plain[5],
                  penalised[0], penalised[1], penalised[2], plain[0], plain[1], plain[2],
                  mse_penalised, mse_plain);
  double largest_plain_noise = 0;
  for (int j = 3; j < 6; j++) {
    largest_plain_noise = MAX (largest_plain_noise, fabs (plain[j]));
    g_assert_cmpfloat (fabs (penalised[j]), <, 1e-3);
  }
  g_assert_cmpfloat (largest_plain_noise, >, 0.01);
  for (int j = 0; j < 3; j++) {
    g_assert_cmpfloat (fabs (penalised[j]), <, fabs (plain[j]));
    g_assert_cmpfloat (fabs (penalised[j]), >, 0.8 * fabs (plain[j]));
  }
  g_assert_cmpfloat (mse_penalised, >, mse_plain);
  g_assert_cmpfloat (mse_penalised, <, 1.2 * mse_plain);

  /* The fast backend agrees with the plain reference. */
  fit_penalised (table, 0.05, 1, reference, 6);
  for (int j = 0; j < 7; j++)
    g_assert_cmpfloat_with_epsilon (penalised[j], reference[j], 1e-4);
}

/* ---- metrics ---- */

static void
test_metrics (void)
{
  g_autofree char *path = g_build_filename (tmp_root, "metrics.csv", NULL);
  lam_test_write_linear_csv (path, 60, 3, 2, 1.0, 11, NULL, NULL);
  g_autoptr (LamDataset) train_set = NULL;
  load_table (path, "y1,y2", &train_set, NULL);

  g_autoptr (LamModelSpec) spec = spec_from ("linear:2");
  spec->has_input = TRUE;
  spec->input = lam_dataset_get_input_shape (train_set);
  spec->has_loss = TRUE;
  spec->loss = LAM_LOSS_MSE;
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModel) model = lam_model_new (spec, cpu, 16, 3, &error);
  g_assert_no_error (error);
  float params[] = { 0.5f, -0.25f, 0.125f, 1.0f, 0.0f, -0.5f, 0.1f, -0.2f };
  g_assert_cmpuint (lam_model_get_n_params (model), ==, G_N_ELEMENTS (params));
  lam_model_set_params_host (model, params);

  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_VALUES | LAM_PREDICT_OUTPUTS | LAM_PREDICT_LOSSES;
  g_autoptr (LamPrediction) p =
    lam_model_predict (model, train_set, NULL, 0, NULL, NULL, &request, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (p->n_targets, ==, 2);

  /* Every figure from its definition, in double. */
  int n = train_set->n, d = 3, k = 2;
  double se[2] = { 0 }, ae[2] = { 0 }, my[2] = { 0 }, tot[2] = { 0 }, loss = 0;
  for (int i = 0; i < n; i++)
    for (int t = 0; t < k; t++)
      my[t] += train_set->targets[i * k + t] / n;
  for (int i = 0; i < n; i++) {
    double row_loss = 0;
    for (int t = 0; t < k; t++) {
      double out = params[k * d + t];
      for (int j = 0; j < d; j++)
        out += params[t * d + j] * (train_set->features[i * d + j] - train_set->feature_mean[j]) /
               train_set->feature_std[j];
      g_assert_cmpfloat_with_epsilon (p->outputs[i * k + t], out, 1e-5 * MAX (1, fabs (out)));
      double value = out * train_set->target_std[t] + train_set->target_mean[t];
      g_assert_cmpfloat_with_epsilon (p->values[i * k + t], value, 1e-4 * MAX (1, fabs (value)));
      double y = train_set->targets[i * k + t];
      se[t] += pow (p->values[i * k + t] - y, 2);
      ae[t] += fabs (p->values[i * k + t] - y);
      tot[t] += pow (y - my[t], 2);
      double ystd = (y - train_set->target_mean[t]) / train_set->target_std[t];
      row_loss += pow (out - ystd, 2) / k;
    }
    g_assert_cmpfloat_with_epsilon (p->losses[i], row_loss, 1e-4 * MAX (1, row_loss));
    loss += row_loss / n;
  }
  for (int t = 0; t < k; t++) {
    g_assert_cmpfloat_with_epsilon (p->target_mse[t], se[t] / n, 1e-9 * se[t] / n);
    g_assert_cmpfloat_with_epsilon (p->target_mae[t], ae[t] / n, 1e-9 * ae[t] / n);
    g_assert_cmpfloat_with_epsilon (p->target_r2[t], 1 - se[t] / tot[t], 1e-9);
  }
  g_assert_cmpfloat_with_epsilon (p->mse, (se[0] + se[1]) / (2 * n), 1e-9 * p->mse);
  g_assert_cmpfloat_with_epsilon (p->mae, (ae[0] + ae[1]) / (2 * n), 1e-9 * p->mae);
  g_assert_cmpfloat_with_epsilon (p->r2, (p->target_r2[0] + p->target_r2[1]) / 2, 1e-12);
  /* The loss: on the standardised targets, summed on the device in float. */
  g_assert_cmpfloat_with_epsilon (p->mean_loss, loss, 1e-4 * loss);
  g_assert_true (isnan (p->accuracy));
}

/* A prediction that equals the mean everywhere has R² 0; exact ones, 1. */
static void
test_r2_edges (void)
{
  g_autofree char *path = g_build_filename (tmp_root, "edges.csv", NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, "x,y\n1,2.5\n2,4.5\n3,6.5\n4,8.5\n", -1, &error);
  g_assert_no_error (error);
  g_autoptr (LamDataset) table = NULL;
  load_table (path, "y", &table, NULL);
  g_assert_cmpint (table->task, ==, LAM_TASK_REGRESSION);

  g_autoptr (LamModelSpec) spec = spec_from ("linear:1");
  spec->has_input = TRUE;
  spec->input = lam_dataset_get_input_shape (table);
  spec->has_loss = TRUE;
  spec->loss = LAM_LOSS_MSE;
  g_autoptr (LamModel) model = lam_model_new (spec, cpu, 4, 3, &error);
  g_assert_no_error (error);
  /* Standardised, y = x: weight 1, bias 0 (exact up to the rounding of
   * undoing the scaling). */
  float exact[] = { 1, 0 };
  lam_model_set_params_host (model, exact);
  g_autoptr (LamPrediction) p = lam_model_predict (model, table, NULL, 0, NULL, NULL, NULL, NULL,
                                                   &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (p->r2, >, 1 - 1e-10);
  g_assert_cmpfloat (p->mse, <, 1e-10);
  float mean[] = { 0, 0 };
  lam_model_set_params_host (model, mean);
  g_autoptr (LamPrediction) q = lam_model_predict (model, table, NULL, 0, NULL, NULL, NULL, NULL,
                                                   &error);
  g_assert_cmpfloat_with_epsilon (q->r2, 0, 1e-12);
  g_assert_cmpfloat_with_epsilon (q->mse, 5, 1e-6);
  g_assert_cmpfloat_with_epsilon (q->mae, 2, 1e-6);
}

/* ---- classification tables ---- */

/* Three blobs in four dimensions, told apart by softmax regression
 * (linear:3 with cross-entropy) on the standardised columns. The centres
 * are 4√2 apart with spread 1 (lam_test_write_blobs_csv): the best linear
 * boundary errs on about 0.5% of the rows. */
static void
test_classification (void)
{
  g_autofree char *path = g_build_filename (tmp_root, "blobs.csv", NULL);
  lam_test_write_blobs_csv (path, 1000, 4, 3, 3);
  g_autoptr (LamDataset) train_set = NULL;
  g_autoptr (LamDataset) test_set = NULL;
  load_table (path, "class", &train_set, &test_set);
  g_assert_cmpint (train_set->task, ==, LAM_TASK_CLASSIFICATION);
  g_assert_cmpint (train_set->n_classes, ==, 3);
  g_assert_cmpstr (train_set->class_names[2], ==, "c2");
  g_assert_null (train_set->targets);
  g_assert_cmpint (test_set->n, ==, 200);

  g_autoptr (LamModelSpec) spec = spec_from ("linear:3");
  LamTrainerConfig config = lam_trainer_config_default ();
  config.epochs = 20;
  config.batch_size = 32;
  config.optimizer.lr = 0.01;
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, train_set, test_set, cpu, &config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lam_trainer_get_task (trainer), ==, LAM_TASK_CLASSIFICATION);
  lam_trainer_set_pace (trainer, 10000);
  Run run = { 0 };
  train (trainer, &run);
  g_assert_true (run.have_test);
  g_test_message ("blobs: test accuracy %.4f, loss %.4f", run.test.test_accuracy,
                  run.test.test_loss);
  g_assert_cmpfloat (run.test.test_accuracy, >=, 0.97);
  g_assert_true (isnan (run.test.test_mse));
  const LamTrainerEvent *last = &g_array_index (run.epochs, LamTrainerEvent, 19);
  g_assert_cmpfloat (last->accuracy, >=, 0.95);
  g_assert_cmpfloat (last->val_accuracy, >=, 0.9);
  g_assert_true (isnan (last->mse) && isnan (last->val_r2));
  /* Paced, a classification shows what it made of the rows. */
  g_assert_cmpint (run.n_shown, >, 0);

  /* The confusion matrix and classes, as for images. */
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_CONFUSION | LAM_PREDICT_CLASSES | LAM_PREDICT_PROBABILITIES;
  g_autoptr (LamPrediction) p = lam_model_predict (lam_trainer_get_model (trainer), test_set, NULL,
                                                   0, NULL, NULL, &request, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (p->accuracy, ==, run.test.test_accuracy);
  g_assert_cmpuint (p->confusion->total, ==, 200);
  int correct = 0;
  for (int i = 0; i < p->n_images; i++)
    correct += p->predicted[i] == test_set->labels[i];
  g_assert_cmpint (correct, ==, (int) p->n_correct);
  run_clear (&run);
  lam_trainer_free (trainer);
}

/* ---- what is refused ---- */

static void
assert_trainer_error (const char *spec_text, const LamDataset *ds, const LamTrainerConfig *config,
                      int code, const char *part)
{
  g_autoptr (LamModelSpec) spec = spec_from (spec_text);
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, ds, NULL, cpu, config, &error);
  g_assert_null (trainer);
  g_assert_error (error, LAM_TRAINER_ERROR, code);
  g_test_message ("%s: %s", spec_text, error->message);
  if (strstr (error->message, part) == NULL)
    g_error ("\"%s\" does not say \"%s\"", error->message, part);
}

static void
test_refused (void)
{
  g_autofree char *path = g_build_filename (tmp_root, "refused.csv", NULL);
  lam_test_write_linear_csv (path, 50, 3, 2, 1.0, 13, NULL, NULL);
  g_autoptr (LamDataset) table = NULL;
  load_table (path, "y1,y2", &table, NULL);
  LamTrainerConfig config = lam_trainer_config_default ();

  assert_trainer_error ("linear:3", table, &config, LAM_TRAINER_ERROR_DATA,
                        "the model ends with 3 outputs but refused.csv has 2 targets (y1, y2): "
                        "make the last layer linear:2");
  assert_trainer_error ("linear:2,loss=cross_entropy", table, &config, LAM_TRAINER_ERROR_DATA,
                        "the loss cross_entropy compares outputs with classes, but refused.csv "
                        "holds numbers to predict (y1, y2: a regression): use the loss mse or l1");
  assert_trainer_error ("linear:2,log_softmax", table, &config, LAM_TRAINER_ERROR_DATA,
                        "the loss nll compares outputs with classes");
  config.hflip = TRUE;
  assert_trainer_error ("linear:2", table, &config, LAM_TRAINER_ERROR_CONFIG,
                        "refused.csv is a table of numbers: random crops and flips apply to "
                        "images only");
  config.hflip = FALSE;

  g_autofree char *blobs = g_build_filename (tmp_root, "blobs-refused.csv", NULL);
  lam_test_write_blobs_csv (blobs, 40, 2, 3, 2);
  g_autoptr (LamDataset) classes = NULL;
  load_table (blobs, "class", &classes, NULL);
  assert_trainer_error ("linear:3,loss=l1", classes, &config, LAM_TRAINER_ERROR_DATA,
                        "the loss l1 compares outputs with numbers, but blobs-refused.csv holds "
                        "classes");

  /* predict: no classes to count in a regression. */
  g_autoptr (LamModelSpec) spec = spec_from ("linear:2,loss=mse");
  spec->has_input = TRUE;
  spec->input = lam_dataset_get_input_shape (table);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModel) model = lam_model_new (spec, cpu, 8, 1, &error);
  g_assert_no_error (error);
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_CONFUSION;
  g_autoptr (LamPrediction) p =
    lam_model_predict (model, table, NULL, 0, NULL, NULL, &request, NULL, &error);
  g_assert_null (p);
  g_assert_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH);
  g_clear_error (&error);
  g_autoptr (LamModelSpec) ce = spec_from ("linear:2");
  ce->has_input = TRUE;
  ce->input = lam_dataset_get_input_shape (table);
  g_autoptr (LamModel) ce_model = lam_model_new (ce, cpu, 8, 1, &error);
  g_autoptr (LamPrediction) q =
    lam_model_predict (ce_model, table, NULL, 0, NULL, NULL, NULL, NULL, &error);
  g_assert_null (q);
  g_assert_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  tmp_root = g_dir_make_tmp ("lamina-test-regression-XXXXXX", &error);
  g_assert_no_error (error);
  cpu = lam_backend_cpu_new ();

  g_test_add_func ("/regression/least-squares", test_least_squares);
  g_test_add_func ("/regression/validation", test_validation);
  g_test_add_func ("/regression/l1", test_l1);
  g_test_add_func ("/regression/l1-penalty", test_l1_penalty);
  g_test_add_func ("/regression/metrics", test_metrics);
  g_test_add_func ("/regression/r2-edges", test_r2_edges);
  g_test_add_func ("/regression/refused", test_refused);
  g_test_add_func ("/table/classification", test_classification);
  int status = g_test_run ();
  lam_backend_free (cpu);
  lam_test_remove_tree (tmp_root);
  g_free (tmp_root);
  return status;
}
