/* test-gradients.c: the tutorial's w.grad lesson through the trainer. One
 * neuron, y = w·x + b, on one row with x = 3 and a target far below y, with
 * the L1 loss: the loss is y − t, so a single step shows ∂L/∂w = x = 3 and
 * ∂L/∂b = 1, and SGD's update −lr · gradient, exactly. Larger models show
 * nothing, and a fast run pays nothing. */
#include <glib/gstdio.h>

#include "lam-backend.h"
#include "lam-dataset.h"
#include "lam-device.h"
#include "lam-model.h"
#include "lam-trainer.h"

typedef struct
{
  GMainLoop *loop;
  LamTrainer *trainer;
  GPtrArray *watched; /* of LamTrainerEvent*, the PROGRESS events with parameters */
  guint progress;
} Watch;

static void
on_event (const LamTrainerEvent *event, gpointer user_data)
{
  Watch *watch = user_data;
  if (event->kind == LAM_TRAINER_EVENT_PROGRESS) {
    watch->progress++;
    if (event->n_watched > 0) {
      LamTrainerEvent *copy = g_new0 (LamTrainerEvent, 1);
      copy->step = event->step;
      copy->n_watched = event->n_watched;
      copy->watched_values = g_memdup2 (event->watched_values, sizeof (float) * event->n_watched);
      copy->watched_grads = g_memdup2 (event->watched_grads, sizeof (float) * event->n_watched);
      copy->watched_updates =
        g_memdup2 (event->watched_updates, sizeof (float) * event->n_watched);
      g_ptr_array_add (watch->watched, copy);
    }
  }
  if (event->kind == LAM_TRAINER_EVENT_PAUSED)
    lam_trainer_step (watch->trainer);
  if (event->kind == LAM_TRAINER_EVENT_FINISHED)
    g_main_loop_quit (watch->loop);
}

/* A one-row table: x = 3, t = -1000, read without standardisation. */
static LamDataset *
one_row_table (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-grad-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "neuron.csv", NULL);
  g_assert_true (g_file_set_contents (path, "x,t\n3,-1000\n", -1, NULL));
  LamCsvOptions options;
  lam_csv_options_init (&options);
  const char *targets[] = { "t", NULL };
  options.targets = targets;
  options.standardize = FALSE;
  options.test_fraction = 0;
  LamDataset *train = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_dataset_load_csv (path, &options, &train, NULL, &error));
  g_assert_no_error (error);
  g_unlink (path);
  g_rmdir (dir);
  return train;
}

static void
run (const char *spec_text, LamOptimizerKind optimizer, double lr, gboolean paused, Watch *watch)
{
  g_autoptr (LamDataset) train = one_row_table ();
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (spec_text, &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = lam_dataset_get_input_shape (train);
  LamTrainerConfig config = lam_trainer_config_default ();
  config.epochs = 3;
  config.batch_size = 1;
  config.val_fraction = 0;
  config.evaluate_test = FALSE;
  config.optimizer = lam_optimizer_config_default (optimizer);
  config.optimizer.lr = lr;
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainer *trainer = lam_trainer_new (spec, train, NULL, backend, &config, &error);
  g_assert_no_error (error);

  GMainContext *context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  watch->loop = g_main_loop_new (context, FALSE);
  watch->watched = g_ptr_array_new_with_free_func ((GDestroyNotify) lam_trainer_event_free);
  watch->trainer = trainer;
  lam_trainer_set_event_func (trainer, on_event, watch, context);
  lam_trainer_start (trainer, paused);
  g_main_loop_run (watch->loop);
  lam_trainer_wait (trainer);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  g_main_loop_unref (watch->loop);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
}

static void
test_one_neuron (void)
{
  Watch watch = { 0 };
  /* Step by step, as the Step button goes. */
  run ("linear:1,loss=l1", LAM_OPTIMIZER_SGD, 0.01, TRUE, &watch);
  g_assert_cmpuint (watch.watched->len, ==, 3);
  for (guint s = 0; s < watch.watched->len; s++) {
    const LamTrainerEvent *event = g_ptr_array_index (watch.watched, s);
    g_assert_cmpint (event->n_watched, ==, 2);
    /* y stays far above t, so dL/dy = 1 at every step. */
    g_assert_cmpfloat (event->watched_grads[0], ==, 3.0f); /* ∂L/∂w = x */
    g_assert_cmpfloat (event->watched_grads[1], ==, 1.0f); /* ∂L/∂b */
    g_assert_cmpfloat_with_epsilon (event->watched_updates[0], -0.03, 1e-6);
    g_assert_cmpfloat_with_epsilon (event->watched_updates[1], -0.01, 1e-6);
    if (s > 0) {
      /* Each step starts where the last one's update left it. */
      const LamTrainerEvent *before = g_ptr_array_index (watch.watched, s - 1);
      for (int p = 0; p < 2; p++)
        g_assert_cmpfloat_with_epsilon (event->watched_values[p],
                                        before->watched_values[p] + before->watched_updates[p],
                                        1e-6);
    }
  }
  g_ptr_array_unref (watch.watched);
}

/* Past the limit, nothing is watched: the panel is for small models. */
static void
test_large_models_show_nothing (void)
{
  Watch watch = { 0 };
  run ("linear:40,relu,linear:1,loss=l1", LAM_OPTIMIZER_SGD, 0.001, TRUE, &watch);
  g_assert_cmpuint (watch.progress, >=, 3);
  g_assert_cmpuint (watch.watched->len, ==, 0);
  g_ptr_array_unref (watch.watched);
}

/* A run at full speed shows nothing either. */
static void
test_fast_runs_show_nothing (void)
{
  Watch watch = { 0 };
  run ("linear:1,loss=l1", LAM_OPTIMIZER_ADAM, 0.01, FALSE, &watch);
  g_assert_cmpuint (watch.watched->len, ==, 0);
  g_ptr_array_unref (watch.watched);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gradients/one-neuron", test_one_neuron);
  g_test_add_func ("/gradients/large-models", test_large_models_show_nothing);
  g_test_add_func ("/gradients/fast-runs", test_fast_runs_show_nothing);
  return g_test_run ();
}
