/* The trainer thread, its commands and events, and training end to end on
 * the real Fashion-MNIST. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "lam-checkpoint.h"
#include "lam-dataset.h"
#include "lam-device.h"
#include "lam-predict.h"
#include "lam-test-util.h"
#include "lam-trainer.h"

/* Three classes of 8×8 images: a bright horizontal bar in the top, middle or
 * bottom third, over noise. Easy, so a few hundred steps learn it. */
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

/* A copy of the first n images of a dataset. */
static LamDataset *
dataset_head (const LamDataset *source, int n)
{
  gsize size = lam_dataset_image_size (source);
  LamDataset *dataset = g_new0 (LamDataset, 1);
  dataset->name = g_strdup (source->name);
  dataset->n = n;
  dataset->channels = source->channels;
  dataset->height = source->height;
  dataset->width = source->width;
  dataset->n_classes = source->n_classes;
  dataset->images = g_memdup2 (source->images, size * n);
  dataset->labels = g_memdup2 (source->labels, n);
  dataset->class_names = g_strdupv (source->class_names);
  return dataset;
}

typedef struct
{
  GMainLoop *loop;
  GPtrArray *events; /* LamTrainerEvent copies (without confusion) */
  LamConfusion *confusion;
  LamTrainer *trainer;
  int steps_to_request; /* while paused: ask for this many single steps */
  double lr_to_set;     /* at the first pause from step lr_at_step on */
  gint64 lr_at_step;
  gint64 pace_at_step;  /* at the PROGRESS of this step, set pace_to_set */
  double pace_to_set;
} Recorder;

static void
record_event (const LamTrainerEvent *event, gpointer user_data)
{
  Recorder *recorder = user_data;
  LamTrainerEvent *copy = g_memdup2 (event, sizeof *event);
  copy->message = g_strdup (event->message);
  copy->confusion = NULL;
  copy->shown_indices = g_memdup2 (event->shown_indices, sizeof (guint32) * event->n_shown);
  copy->shown_predicted = g_memdup2 (event->shown_predicted, sizeof (gint32) * event->n_shown);
  copy->watched_values = g_memdup2 (event->watched_values, sizeof (float) * event->n_watched);
  copy->watched_grads = g_memdup2 (event->watched_grads, sizeof (float) * event->n_watched);
  copy->watched_updates = g_memdup2 (event->watched_updates, sizeof (float) * event->n_watched);
  copy->params = g_memdup2 (event->params, sizeof (float) * event->n_params);
  g_ptr_array_add (recorder->events, copy);

  if (event->kind == LAM_TRAINER_EVENT_TEST) {
    g_clear_pointer (&recorder->confusion, lam_confusion_free);
    recorder->confusion = lam_confusion_new (event->confusion->n_classes);
    memcpy (recorder->confusion->counts, event->confusion->counts,
            sizeof (guint64) * event->confusion->n_classes * event->confusion->n_classes);
    recorder->confusion->total = event->confusion->total;
  }
  if (event->kind == LAM_TRAINER_EVENT_PAUSED && recorder->trainer != NULL) {
    if (recorder->lr_to_set > 0 && event->step >= recorder->lr_at_step) {
      lam_trainer_set_lr (recorder->trainer, recorder->lr_to_set);
      recorder->lr_to_set = 0;
    }
    if (recorder->steps_to_request > 0) {
      recorder->steps_to_request--;
      lam_trainer_step (recorder->trainer);
    } else {
      lam_trainer_resume (recorder->trainer);
    }
  }
  if (event->kind == LAM_TRAINER_EVENT_PROGRESS && recorder->pace_at_step > 0 &&
      event->step == recorder->pace_at_step)
    lam_trainer_set_pace (recorder->trainer, recorder->pace_to_set);
  if (event->kind == LAM_TRAINER_EVENT_FINISHED)
    g_main_loop_quit (recorder->loop);
}

static void
recorder_clear (Recorder *recorder)
{
  g_clear_pointer (&recorder->loop, g_main_loop_unref);
  g_clear_pointer (&recorder->events, g_ptr_array_unref);
  g_clear_pointer (&recorder->confusion, lam_confusion_free);
}

/* Runs a trainer to the end on a private main context, recording events. */
static void
run_trainer (LamTrainer *trainer, Recorder *recorder, gboolean paused)
{
  GMainContext *context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  recorder->loop = g_main_loop_new (context, FALSE);
  recorder->events = g_ptr_array_new_with_free_func ((GDestroyNotify) lam_trainer_event_free);
  recorder->trainer = trainer;
  lam_trainer_set_event_func (trainer, record_event, recorder, context);
  lam_trainer_start (trainer, paused);
  g_main_loop_run (recorder->loop);
  lam_trainer_wait (trainer);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

static const LamTrainerEvent *
find_event (Recorder *recorder, LamTrainerEventKind kind, guint nth)
{
  for (guint i = 0; i < recorder->events->len; i++) {
    const LamTrainerEvent *event = g_ptr_array_index (recorder->events, i);
    if (event->kind == kind && nth-- == 0)
      return event;
  }
  return NULL;
}

static guint
count_events (Recorder *recorder, LamTrainerEventKind kind)
{
  guint n = 0;
  for (guint i = 0; i < recorder->events->len; i++)
    if (((LamTrainerEvent *) g_ptr_array_index (recorder->events, i))->kind == kind)
      n++;
  return n;
}

static LamTrainerConfig
bars_config (void)
{
  LamTrainerConfig config = lam_trainer_config_default ();
  config.epochs = 3;
  config.batch_size = 16;
  config.optimizer.lr = 0.01;
  config.val_fraction = 0.2;
  config.normalize_from_data = TRUE;
  return config;
}

static void
test_learns_bars (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (600, 1);
  g_autoptr (LamDataset) test = make_bars_dataset (300, 2);
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:16,relu,linear:3",
                                                            NULL);
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainerConfig config = bars_config ();
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, train, test, backend, &config, &error);
  g_assert_no_error (error);
  Recorder recorder = { 0 };
  run_trainer (trainer, &recorder, FALSE);

  const LamTrainerEvent *first = g_ptr_array_index (recorder.events, 0);
  const LamTrainerEvent *last = g_ptr_array_index (recorder.events, recorder.events->len - 1);
  g_assert_cmpint (first->kind, ==, LAM_TRAINER_EVENT_STARTED);
  g_assert_cmpint (last->kind, ==, LAM_TRAINER_EVENT_FINISHED);
  g_assert_false (last->stopped);
  g_assert_cmpuint (count_events (&recorder, LAM_TRAINER_EVENT_EPOCH), ==, 3);
  g_assert_cmpuint (count_events (&recorder, LAM_TRAINER_EVENT_TEST), ==, 1);
  g_assert_cmpuint (count_events (&recorder, LAM_TRAINER_EVENT_PROGRESS), >=, 3);

  /* 480 training images in batches of 16: 30 steps an epoch. */
  const LamTrainerEvent *epoch3 = find_event (&recorder, LAM_TRAINER_EVENT_EPOCH, 2);
  g_assert_cmpint (epoch3->epoch, ==, 2);
  g_assert_cmpint (epoch3->step, ==, 90);
  g_assert_cmpint (epoch3->batches_per_epoch, ==, 30);
  const LamTrainerEvent *epoch1 = find_event (&recorder, LAM_TRAINER_EVENT_EPOCH, 0);
  g_assert_cmpfloat (epoch3->loss, <, epoch1->loss);
  g_assert_cmpfloat (epoch3->val_accuracy, >=, 0.95);
  g_assert_cmpfloat (epoch3->seconds, >, 0);

  const LamTrainerEvent *tested = find_event (&recorder, LAM_TRAINER_EVENT_TEST, 0);
  g_assert_cmpfloat (tested->test_accuracy, >=, 0.95);
  g_assert_nonnull (recorder.confusion);
  g_assert_cmpuint (recorder.confusion->total, ==, 300);
  g_assert_cmpfloat_with_epsilon (lam_confusion_accuracy (recorder.confusion),
                                  tested->test_accuracy, 1e-6);

  /* Progress steps only grow, and every progress event has a finite loss. */
  gint64 previous = 0;
  for (guint i = 0; i < recorder.events->len; i++) {
    const LamTrainerEvent *event = g_ptr_array_index (recorder.events, i);
    if (event->kind != LAM_TRAINER_EVENT_PROGRESS)
      continue;
    g_assert_cmpint (event->step, >, previous);
    g_assert_true (isfinite (event->loss));
    previous = event->step;
  }

  recorder_clear (&recorder);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
}

/* With CPU threads on every core, batches are filled in the training
 * thread, by ranges on those threads, straight into the model's input
 * (lam_loader_config_set_backend), and so are the predictions' (the
 * validation and test figures): the model learns the bars as well. Batches
 * of 56 split into ranges of 32 and 24 images on two threads, the last
 * training batch (32) into two of 16; the test set's last batch is 20. */
static void
test_learns_bars_filled_in_caller (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (600, 1);
  g_autoptr (LamDataset) test = make_bars_dataset (300, 2);
  g_autoptr (LamModelSpec) spec =
    lam_model_spec_from_text ("flatten,linear:16,relu,linear:3", NULL);
  if (g_get_num_processors () > 64) {
    g_test_skip ("more cores than the CPU backend's 64 threads");
    return;
  }
  LamBackend *backend = lam_test_cpu_backend_new ((int) MAX (g_get_num_processors (), 2));
  g_assert_cmpint (lam_backend_cpu_threads (backend), >=, (int) g_get_num_processors ());

  LamTrainerConfig config = bars_config ();
  config.batch_size = 56;
  config.epochs = 6;
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, train, test, backend, &config, &error);
  g_assert_no_error (error);
  Recorder recorder = { 0 };
  run_trainer (trainer, &recorder, FALSE);

  const LamTrainerEvent *last = find_event (&recorder, LAM_TRAINER_EVENT_EPOCH, 5);
  g_assert_cmpint (last->batches_per_epoch, ==, 9);
  g_assert_cmpfloat (last->val_accuracy, >=, 0.95);
  const LamTrainerEvent *tested = find_event (&recorder, LAM_TRAINER_EVENT_TEST, 0);
  g_assert_cmpfloat (tested->test_accuracy, >=, 0.95);
  g_assert_cmpuint (recorder.confusion->total, ==, 300);

  recorder_clear (&recorder);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
}

static void
test_pause_step_resume (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (200, 3);
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:3", NULL);
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainerConfig config = bars_config ();
  config.epochs = 1;
  config.val_fraction = 0;
  config.report_every = 1000;
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, train, NULL, backend, &config, &error);
  g_assert_no_error (error);

  /* Started paused: at each pause the recorder asks for a single step, three
   * times (setting the learning rate before the first), then resumes. Each
   * single step must answer with a progress event one step further. */
  Recorder recorder = { .steps_to_request = 3, .lr_to_set = 0.5 };
  run_trainer (trainer, &recorder, TRUE);

  const LamTrainerEvent *paused = find_event (&recorder, LAM_TRAINER_EVENT_PAUSED, 0);
  g_assert_nonnull (paused);
  g_assert_cmpint (paused->step, ==, 0);
  const LamTrainerEvent *lr = find_event (&recorder, LAM_TRAINER_EVENT_LR_CHANGED, 0);
  g_assert_nonnull (lr);
  g_assert_cmpfloat_with_epsilon (lr->lr, 0.5, 1e-12);
  for (int i = 0; i < 3; i++) {
    const LamTrainerEvent *progress = find_event (&recorder, LAM_TRAINER_EVENT_PROGRESS, i);
    g_assert_nonnull (progress);
    g_assert_cmpint (progress->step, ==, i + 1);
    g_assert_cmpfloat_with_epsilon (progress->lr, 0.5, 1e-12);
  }
  const LamTrainerEvent *finished = find_event (&recorder, LAM_TRAINER_EVENT_FINISHED, 0);
  g_assert_false (finished->stopped);
  g_assert_cmpint (finished->step, ==, 13); /* 200 images in batches of 16 */
  g_assert_nonnull (find_event (&recorder, LAM_TRAINER_EVENT_RESUMED, 0));

  recorder_clear (&recorder);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
}

/* A learning rate set in the middle of a cosine schedule with a floor:
 * the epochs after it go on down the curve from the rate set, as PyTorch's
 * CosineAnnealingLR steps on from a group's changed lr:
 *   lr(e) = eta_min + (set - eta_min) (1 + cos(π e / T)) / (1 + cos(π e_set / T)) */
static void
test_lr_change_follows_cosine (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (200, 3);
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:3", NULL);
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainerConfig config = bars_config ();
  config.epochs = 4;
  config.val_fraction = 0;
  config.optimizer.lr = 0.05;
  config.schedule = (LamSchedule){ .kind = LAM_SCHEDULE_COSINE, .t_max = 4, .eta_min = 0.002 };
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, train, NULL, backend, &config, &error);
  g_assert_no_error (error);

  /* 13 steps an epoch: step 20 is in epoch 1, where the schedule gives 0.0430. */
  Recorder recorder = { .steps_to_request = 20, .lr_to_set = 0.01, .lr_at_step = 20 };
  run_trainer (trainer, &recorder, TRUE);

  const LamTrainerEvent *changed = find_event (&recorder, LAM_TRAINER_EVENT_LR_CHANGED, 0);
  g_assert_nonnull (changed);
  g_assert_cmpint (changed->epoch, ==, 1);
  double at_change = 1 + cos (G_PI * 1 / 4);
  for (int e = 2; e < 4; e++) {
    const LamTrainerEvent *epoch = find_event (&recorder, LAM_TRAINER_EVENT_EPOCH, e);
    g_assert_cmpint (epoch->epoch, ==, e);
    double want = 0.002 + (0.01 - 0.002) * (1 + cos (G_PI * e / 4)) / at_change;
    g_assert_cmpfloat_with_epsilon (epoch->lr, want, 1e-12);
  }

  recorder_clear (&recorder);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
}

/* Step-exactness: one run trained straight, by single steps, and with
 * pause, step and resume at random points must train the same batches in
 * the same order, with the same dropout masks and optimizer steps. */

#define EXACT_STEPS_PER_EPOCH 20 /* 400 images, 320 after validation, batches of 16 */

static LamTrainer *
exact_trainer (LamBackend *backend, const LamDataset *train, int epochs, int report_every)
{
  g_autoptr (LamModelSpec) spec =
    lam_model_spec_from_text ("flatten,linear:16,relu,dropout:0.25,linear:3", NULL);
  LamTrainerConfig config = bars_config ();
  config.epochs = epochs;
  config.crop_padding = 1;
  config.hflip = TRUE;
  config.report_every = report_every;
  config.evaluate_test = FALSE;
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, train, NULL, backend, &config, &error);
  g_assert_no_error (error);
  return trainer;
}

/* A straight run of `epochs` epochs reporting every step: the loss of each
 * step, and in *params the weights at its end. */
static GArray *
straight_losses (LamBackend *backend, const LamDataset *train, int epochs, float **params)
{
  LamTrainer *trainer = exact_trainer (backend, train, epochs, 1);
  Recorder recorder = { 0 };
  run_trainer (trainer, &recorder, FALSE);
  GArray *losses = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; i < recorder.events->len; i++) {
    const LamTrainerEvent *event = g_ptr_array_index (recorder.events, i);
    if (event->kind == LAM_TRAINER_EVENT_PROGRESS) {
      g_assert_cmpint (event->step, ==, losses->len + 1);
      g_array_append_val (losses, event->loss);
    }
  }
  const LamTrainerEvent *finished = find_event (&recorder, LAM_TRAINER_EVENT_FINISHED, 0);
  g_assert_cmpint (losses->len, ==, epochs * finished->batches_per_epoch);
  if (params != NULL)
    *params = lam_trainer_dup_params (trainer, NULL);
  recorder_clear (&recorder);
  lam_trainer_free (trainer);
  return losses;
}

static void
assert_same_params (const float *a, const float *b, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (memcmp (&a[i], &b[i], sizeof (float)) != 0)
      g_error ("parameter %" G_GSIZE_FORMAT " differs: %.9g against %.9g", i, a[i], b[i]);
}

/* Drives a run from its events on the main context. */
typedef struct
{
  GMainLoop *loop;
  LamTrainer *trainer;
  GArray *losses;          /* double: every PROGRESS event's loss */
  GArray *steps;           /* gint64: every PROGRESS event's step */
  GArray *paused;          /* gint64: every PAUSED event's step */
  const char *script;      /* at each PAUSED in turn: 's' one step, 'r' resume, 'x' stop;
                            * past its end, resume */
  guint n_script_done;
  GRand *rng;              /* without a script: pause, step and resume at random */
  guint singles_asked;
  gint64 check_step;       /* PAUSED at this step: copy the weights into check_params */
  float *check_params;
} Driver;

static void
driver_init (Driver *driver, LamTrainer *trainer)
{
  *driver = (Driver) { 0 };
  driver->trainer = trainer;
  driver->losses = g_array_new (FALSE, FALSE, sizeof (double));
  driver->steps = g_array_new (FALSE, FALSE, sizeof (gint64));
  driver->paused = g_array_new (FALSE, FALSE, sizeof (gint64));
}

static void
driver_clear (Driver *driver)
{
  g_clear_pointer (&driver->losses, g_array_unref);
  g_clear_pointer (&driver->steps, g_array_unref);
  g_clear_pointer (&driver->paused, g_array_unref);
  g_clear_pointer (&driver->check_params, g_free);
  g_clear_pointer (&driver->rng, g_rand_free);
}

static gint64
last_progress_step (Driver *driver)
{
  return driver->steps->len > 0 ? g_array_index (driver->steps, gint64, driver->steps->len - 1)
                                 : 0;
}

static void
drive_event (const LamTrainerEvent *event, gpointer user_data)
{
  Driver *driver = user_data;
  LamTrainer *trainer = driver->trainer;

  switch (event->kind) {
  case LAM_TRAINER_EVENT_PROGRESS:
    g_array_append_val (driver->losses, event->loss);
    g_array_append_val (driver->steps, event->step);
    if (driver->rng != NULL) {
      double roll = g_rand_double (driver->rng);
      if (roll < 0.1)
        lam_trainer_pause (trainer);
      else if (roll < 0.15)
        lam_trainer_step (trainer); /* while running: a pause after this batch */
      else if (roll < 0.2)
        lam_trainer_resume (trainer);
    }
    break;

  case LAM_TRAINER_EVENT_PAUSED:
    g_array_append_val (driver->paused, event->step);
    /* The position a pause stops at has been reported. */
    g_assert_cmpint (last_progress_step (driver), ==, event->step);
    if (event->step == driver->check_step && driver->check_params == NULL)
      driver->check_params = lam_trainer_dup_params (trainer, NULL);
    char what = 'r';
    if (driver->script != NULL && driver->script[driver->n_script_done] != '\0')
      what = driver->script[driver->n_script_done++];
    if (what == 'x') {
      lam_trainer_stop (trainer);
    } else if (what == 's') {
      driver->singles_asked++;
      lam_trainer_step (trainer);
    } else if (driver->rng != NULL && g_rand_boolean (driver->rng)) {
      /* Several at once queue, one batch each. */
      int n = g_rand_int_range (driver->rng, 1, 4);
      for (int i = 0; i < n; i++)
        lam_trainer_step (trainer);
      driver->singles_asked += n;
    } else {
      lam_trainer_resume (trainer);
    }
    break;

  case LAM_TRAINER_EVENT_FINISHED:
    g_main_loop_quit (driver->loop);
    break;

  default:
    break;
  }
}

static void
drive (Driver *driver, LamTrainerEventFunc func, gboolean paused)
{
  GMainContext *context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  driver->loop = g_main_loop_new (context, FALSE);
  lam_trainer_set_event_func (driver->trainer, func, driver, context);
  lam_trainer_start (driver->trainer, paused);
  g_main_loop_run (driver->loop);
  lam_trainer_wait (driver->trainer);
  g_clear_pointer (&driver->loop, g_main_loop_unref);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

static void
test_single_steps_match_straight_run (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (400, 11);
  LamBackend *backend = lam_backend_cpu_new ();
  g_autofree float *one_epoch = NULL;
  g_autofree float *two_epochs = NULL;
  g_autoptr (GArray) straight = straight_losses (backend, train, 2, &two_epochs);
  g_autoptr (GArray) straight_one = straight_losses (backend, train, 1, &one_epoch);

  /* Started paused and stepped 27 times (past the end of the first epoch),
   * reporting only single steps, pauses and epoch ends; then resumed. */
  LamTrainer *trainer = exact_trainer (backend, train, 2, 1000);
  gsize n_params = lam_model_get_n_params (lam_trainer_get_model (trainer));
  Driver driver;
  driver_init (&driver, trainer);
  g_autofree char *script = g_strnfill (27, 's');
  driver.script = script;
  driver.check_step = EXACT_STEPS_PER_EPOCH;
  drive (&driver, drive_event, TRUE);

  /* Each step answered with its own report, then paused again. */
  g_assert_cmpuint (driver.steps->len, >=, 27);
  g_assert_cmpuint (driver.paused->len, ==, 28);
  for (guint i = 0; i < 27; i++) {
    g_assert_cmpint (g_array_index (driver.steps, gint64, i), ==, i + 1);
    g_assert_cmpint (g_array_index (driver.paused, gint64, i), ==, i);
    g_assert_cmpfloat (g_array_index (driver.losses, double, i), ==,
                       g_array_index (straight, double, i));
  }
  g_assert_cmpint (g_array_index (driver.paused, gint64, 27), ==, 27);
  /* The first epoch of a longer run is the whole of a one-epoch run. */
  for (guint i = 0; i < straight_one->len; i++)
    g_assert_cmpfloat (g_array_index (straight_one, double, i), ==,
                       g_array_index (straight, double, i));
  g_assert_nonnull (driver.check_params);
  assert_same_params (driver.check_params, one_epoch, n_params);

  gint64 step = 0;
  g_assert_true (lam_trainer_get_position (trainer, NULL, NULL, &step));
  g_assert_cmpint (step, ==, 2 * EXACT_STEPS_PER_EPOCH);
  g_autofree float *end = lam_trainer_dup_params (trainer, NULL);
  assert_same_params (end, two_epochs, n_params);

  driver_clear (&driver);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
}

static void
test_random_pauses_match_straight_run (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (400, 12);
  LamBackend *backend = lam_backend_cpu_new ();
  int epochs = 50;
  g_autofree float *straight_params = NULL;
  g_autoptr (GArray) straight = straight_losses (backend, train, epochs, &straight_params);

  for (guint32 seed = 1; seed <= 3; seed++) {
    LamTrainer *trainer = exact_trainer (backend, train, epochs, 1);
    gsize n_params = lam_model_get_n_params (lam_trainer_get_model (trainer));
    Driver driver;
    driver_init (&driver, trainer);
    driver.rng = g_rand_new_with_seed (seed);
    drive (&driver, drive_event, seed % 2 == 0);

    /* Every batch trained once, in order, with the straight run's loss. */
    g_test_message ("seed %u: %u pauses, %u single steps", seed, driver.paused->len,
                    driver.singles_asked);
    g_assert_cmpuint (driver.paused->len, >=, 5);
    g_assert_cmpuint (driver.singles_asked, >=, 5);
    g_assert_cmpuint (driver.steps->len, ==, straight->len);
    for (guint i = 0; i < straight->len; i++) {
      g_assert_cmpint (g_array_index (driver.steps, gint64, i), ==, i + 1);
      g_assert_cmpfloat (g_array_index (driver.losses, double, i), ==,
                         g_array_index (straight, double, i));
    }
    g_autofree float *end = lam_trainer_dup_params (trainer, NULL);
    assert_same_params (end, straight_params, n_params);

    driver_clear (&driver);
    lam_trainer_free (trainer);
  }
  lam_backend_free (backend);
}

/* The epochs' training loss and accuracy, from a run's EPOCH events. */
static GArray *
epoch_figures (Recorder *recorder)
{
  GArray *figures = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; i < recorder->events->len; i++) {
    const LamTrainerEvent *event = g_ptr_array_index (recorder->events, i);
    if (event->kind == LAM_TRAINER_EVENT_EPOCH) {
      g_array_append_val (figures, event->loss);
      g_array_append_val (figures, event->accuracy);
    }
  }
  return figures;
}

static void
assert_same_figures (GArray *a, GArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    g_assert_cmpfloat (g_array_index (a, double, i), ==, g_array_index (b, double, i));
}

/* An epoch's mean loss and accuracy are the same numbers, to the last bit,
 * whether the run reported every step, every few steps or only at the
 * epoch's end, and whether it went by single steps. */
static void
test_epoch_figures_independent_of_reports (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (400, 14);
  LamBackend *backend = lam_backend_cpu_new ();
  g_autoptr (GArray) reference = NULL;
  int report_every[] = { 1000, 1, 7 };
  for (guint i = 0; i < G_N_ELEMENTS (report_every); i++) {
    LamTrainer *trainer = exact_trainer (backend, train, 3, report_every[i]);
    Recorder recorder = { 0 };
    run_trainer (trainer, &recorder, FALSE);
    g_autoptr (GArray) figures = epoch_figures (&recorder);
    g_assert_cmpuint (figures->len, ==, 6);
    if (reference == NULL)
      reference = g_array_ref (figures);
    else
      assert_same_figures (figures, reference);
    recorder_clear (&recorder);
    lam_trainer_free (trainer);
  }

  /* By single steps: started paused, 25 steps (into the second epoch),
   * then straight on. */
  LamTrainer *trainer = exact_trainer (backend, train, 3, 1000);
  Recorder recorder = { .steps_to_request = 25 };
  run_trainer (trainer, &recorder, TRUE);
  g_autoptr (GArray) stepped = epoch_figures (&recorder);
  assert_same_figures (stepped, reference);
  recorder_clear (&recorder);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
}

/* A pace slows a run down and changes none of its numbers: paced at 200
 * steps a second, then at 100 from step 10 on, a run reports every step
 * with the loss a straight run has there, and ends with the same epoch
 * figures and weights. It takes at least the time the pace asks for (a
 * lower bound only: a loaded machine may take longer). Each report names
 * the batch's first images, a real batch of the epoch, and the classes the
 * model gave them. */
static void
test_pace_same_numbers (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (400, 15);
  LamBackend *backend = lam_backend_cpu_new ();
  int epochs = 2;
  g_autofree float *straight_params = NULL;
  g_autoptr (GArray) straight = straight_losses (backend, train, epochs, &straight_params);
  LamTrainer *unpaced = exact_trainer (backend, train, epochs, 1000);
  Recorder unpaced_recorder = { 0 };
  run_trainer (unpaced, &unpaced_recorder, FALSE);
  g_autoptr (GArray) unpaced_figures = epoch_figures (&unpaced_recorder);
  for (guint i = 0; i < unpaced_recorder.events->len; i++)
    g_assert_cmpint (((LamTrainerEvent *) g_ptr_array_index (unpaced_recorder.events, i))->n_shown,
                     ==, 0);

  LamTrainer *trainer = exact_trainer (backend, train, epochs, 1000);
  gsize n_params = lam_model_get_n_params (lam_trainer_get_model (trainer));
  lam_trainer_set_pace (trainer, 200);
  Recorder recorder = { .pace_at_step = 10, .pace_to_set = 100 };
  run_trainer (trainer, &recorder, FALSE);

  g_autoptr (GArray) figures = epoch_figures (&recorder);
  assert_same_figures (figures, unpaced_figures);
  g_autofree float *params = lam_trainer_dup_params (trainer, NULL);
  assert_same_params (params, straight_params, n_params);

  /* The training split, to tell a batch's images from validation ones. */
  LamTrainerConfig config = bars_config ();
  g_autoptr (LamSplit) split = lam_split_new_fraction (train->n, config.val_fraction,
                                                       config.seed);
  g_autofree gboolean *is_train = g_new0 (gboolean, train->n);
  for (gsize i = 0; i < split->n_train; i++)
    is_train[split->train[i]] = TRUE;

  /* Within an epoch no image comes twice. */
  g_autofree int *seen_in_epoch = g_new (int, train->n);
  for (int i = 0; i < train->n; i++)
    seen_in_epoch[i] = -1;
  guint n_progress = 0;
  for (guint i = 0; i < recorder.events->len; i++) {
    const LamTrainerEvent *event = g_ptr_array_index (recorder.events, i);
    if (event->kind != LAM_TRAINER_EVENT_PROGRESS)
      continue;
    g_assert_cmpint (event->step, ==, n_progress + 1);
    g_assert_cmpfloat (event->loss, ==, g_array_index (straight, double, n_progress));
    n_progress++;
    /* Batches of 16: each shows 16 images. */
    g_assert_cmpint (event->n_shown, ==, MIN (16, LAM_TRAINER_MAX_SHOWN));
    g_assert_nonnull (event->shown_indices);
    g_assert_nonnull (event->shown_predicted);
    for (int k = 0; k < event->n_shown; k++) {
      guint32 index = event->shown_indices[k];
      g_assert_cmpuint (index, <, (guint) train->n);
      g_assert_true (is_train[index]);
      g_assert_cmpint (seen_in_epoch[index], !=, event->epoch);
      seen_in_epoch[index] = event->epoch;
      g_assert_cmpint (event->shown_predicted[k], >=, 0);
      g_assert_cmpint (event->shown_predicted[k], <, 3);
    }
  }
  g_assert_cmpuint (n_progress, ==, straight->len);

  /* 40 steps, each begun at least 1/200 s after the one before. */
  const LamTrainerEvent *finished = find_event (&recorder, LAM_TRAINER_EVENT_FINISHED, 0);
  g_test_message ("paced run: %.3f s for %u steps", finished->seconds, n_progress);
  g_assert_cmpfloat (finished->seconds, >=, (n_progress - 1) / 200.0);

  recorder_clear (&recorder);
  recorder_clear (&unpaced_recorder);
  lam_trainer_free (trainer);
  lam_trainer_free (unpaced);
  lam_backend_free (backend);
}

/* A pace of one step in hours waits on the command condition: a pause, a
 * single step, a new pace and a stop each end the wait at once, or this
 * test would not end. */
typedef struct
{
  GMainLoop *loop;
  LamTrainer *trainer;
  gboolean stop;   /* stop at the first report instead of stepping */
  guint progress;
  guint paused;
  gboolean stopped;
  gint64 steps;
} PaceDriver;

static void
drive_slow_pace (const LamTrainerEvent *event, gpointer user_data)
{
  PaceDriver *driver = user_data;
  switch (event->kind) {
  case LAM_TRAINER_EVENT_PROGRESS:
    if (++driver->progress == 1) {
      if (driver->stop)
        lam_trainer_stop (driver->trainer);
      else
        lam_trainer_step (driver->trainer); /* running: pauses */
    }
    break;
  case LAM_TRAINER_EVENT_PAUSED:
    if (++driver->paused == 1) {
      lam_trainer_step (driver->trainer);
    } else {
      lam_trainer_set_pace (driver->trainer, 0);
      lam_trainer_resume (driver->trainer);
    }
    break;
  case LAM_TRAINER_EVENT_FINISHED:
    driver->stopped = event->stopped;
    driver->steps = event->step;
    g_main_loop_quit (driver->loop);
    break;
  default:
    break;
  }
}

static void
test_pace_stays_responsive (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (400, 16);
  LamBackend *backend = lam_backend_cpu_new ();
  for (int stop = 0; stop <= 1; stop++) {
    LamTrainer *trainer = exact_trainer (backend, train, 1, 1000);
    lam_trainer_set_pace (trainer, 1e-4);
    PaceDriver driver = { .trainer = trainer, .stop = stop };
    GMainContext *context = g_main_context_new ();
    g_main_context_push_thread_default (context);
    driver.loop = g_main_loop_new (context, FALSE);
    lam_trainer_set_event_func (trainer, drive_slow_pace, &driver, context);
    lam_trainer_start (trainer, FALSE);
    g_main_loop_run (driver.loop);
    lam_trainer_wait (trainer);
    g_main_loop_unref (driver.loop);
    g_main_context_pop_thread_default (context);
    g_main_context_unref (context);
    if (stop) {
      g_assert_true (driver.stopped);
      g_assert_cmpint (driver.steps, ==, 1);
    } else {
      /* Step paused after the first batch, the next Step trained one more,
       * and unpaced the rest went straight through. */
      g_assert_false (driver.stopped);
      g_assert_cmpuint (driver.paused, ==, 2);
      g_assert_cmpint (driver.steps, ==, EXACT_STEPS_PER_EPOCH);
    }
    lam_trainer_free (trainer);
  }
  lam_backend_free (backend);
}

/* A pause while running lands after the batch in flight; that position is
 * reported, and the next single step reports its own batch alone: the step
 * count goes up by one, not by the batches left unreported before. Pauses
 * come a few milliseconds into running, most often mid-epoch. */
static gboolean
pause_later (gpointer user_data)
{
  Driver *driver = user_data;
  /* The first by Step, which while running is a pause. */
  if (driver->paused->len == 0)
    lam_trainer_step (driver->trainer);
  else
    lam_trainer_pause (driver->trainer);
  return G_SOURCE_REMOVE;
}

/* A trainer that never paused would go on for its 100000 epochs. */
static gboolean
stop_late (gpointer user_data)
{
  lam_trainer_stop (((Driver *) user_data)->trainer);
  return G_SOURCE_REMOVE;
}

static void
add_timeout (guint ms, GSourceFunc func, gpointer user_data)
{
  GSource *source = g_timeout_source_new (ms);
  g_source_set_callback (source, func, user_data, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
}

static void
drive_with_timed_pauses (const LamTrainerEvent *event, gpointer user_data)
{
  if (event->kind == LAM_TRAINER_EVENT_STARTED)
    add_timeout (60 * 1000, stop_late, user_data);
  if (event->kind == LAM_TRAINER_EVENT_STARTED || event->kind == LAM_TRAINER_EVENT_RESUMED)
    add_timeout (3, pause_later, user_data);
  drive_event (event, user_data);
}

static void
test_pause_reports_position (void)
{
  /* 200 batches an epoch, reported only at epoch ends, pauses and single
   * steps. Running, a Step pauses; one Step; resume; a pause; one Step;
   * stop. */
  g_autoptr (LamDataset) train = make_bars_dataset (4000, 13);
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainer *trainer = exact_trainer (backend, train, 100000, 1000);
  Driver driver;
  driver_init (&driver, trainer);
  driver.script = "srsx";
  drive (&driver, drive_with_timed_pauses, FALSE);

  g_assert_cmpuint (driver.paused->len, ==, 4);
  gint64 first = g_array_index (driver.paused, gint64, 0);
  gint64 second = g_array_index (driver.paused, gint64, 2);
  g_test_message ("paused at steps %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT, first, second);
  g_assert_cmpint (g_array_index (driver.paused, gint64, 1), ==, first + 1);
  g_assert_cmpint (g_array_index (driver.paused, gint64, 3), ==, second + 1);
  g_assert_cmpint (second, >, first + 1);

  /* The single steps' losses are those of their batches in a straight run. */
  g_autoptr (GArray) straight = straight_losses (backend, train, (int) (second / 200) + 1, NULL);
  guint checked = 0;
  for (guint i = 0; i < driver.steps->len; i++) {
    gint64 step = g_array_index (driver.steps, gint64, i);
    if (step == first + 1 || step == second + 1) {
      g_assert_cmpfloat (g_array_index (driver.losses, double, i), ==,
                         g_array_index (straight, double, step - 1));
      checked++;
    }
  }
  g_assert_cmpuint (checked, ==, 2);

  driver_clear (&driver);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
}

static void
test_stop (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (400, 4);
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:3", NULL);
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainerConfig config = bars_config ();
  /* The most a run may have: 50 s here, so the stop below comes long
   * before the end even on a much faster machine. */
  config.epochs = 100000;
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, train, train, backend, &config, &error);
  g_assert_no_error (error);

  /* Stopped while paused before the first step: nothing trains. */
  lam_trainer_start (trainer, TRUE);
  g_assert_true (lam_trainer_is_running (trainer));
  lam_trainer_stop (trainer);
  lam_trainer_wait (trainer);
  g_assert_false (lam_trainer_is_running (trainer));
  lam_trainer_free (trainer);

  /* Stopped while running: ends early, says it was stopped,
   * and runs no test evaluation. */
  trainer = lam_trainer_new (spec, train, train, backend, &config, &error);
  g_assert_no_error (error);
  Recorder recorder = { 0 };
  GMainContext *context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  recorder.loop = g_main_loop_new (context, FALSE);
  recorder.events = g_ptr_array_new_with_free_func ((GDestroyNotify) lam_trainer_event_free);
  lam_trainer_set_event_func (trainer, record_event, &recorder, context);
  lam_trainer_start (trainer, FALSE);
  g_usleep (50 * 1000);
  lam_trainer_stop (trainer);
  g_main_loop_run (recorder.loop);
  lam_trainer_wait (trainer);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);

  const LamTrainerEvent *finished = find_event (&recorder, LAM_TRAINER_EVENT_FINISHED, 0);
  g_assert_true (finished->stopped);
  g_assert_cmpuint (count_events (&recorder, LAM_TRAINER_EVENT_EPOCH), <, config.epochs);
  g_assert_cmpuint (count_events (&recorder, LAM_TRAINER_EVENT_TEST), ==, 0);

  recorder_clear (&recorder);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
}

/* Held, a run waits before its next step, and ends with the numbers of a
 * run never held. */
static void
test_held (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (400, 6);
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:8,relu,linear:3", NULL);
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainerConfig config = bars_config ();
  g_autoptr (GError) error = NULL;

  LamTrainer *straight = lam_trainer_new (spec, train, train, backend, &config, &error);
  g_assert_no_error (error);
  Recorder straight_events = { 0 };
  run_trainer (straight, &straight_events, FALSE);
  gsize n_params = 0;
  g_autofree float *want = lam_trainer_dup_params (straight, &n_params);

  LamTrainer *held = lam_trainer_new (spec, train, train, backend, &config, &error);
  g_assert_no_error (error);
  gsize n_initial = 0;
  g_autofree float *initial = lam_trainer_dup_params (held, &n_initial);
  g_assert_cmpuint (n_initial, ==, n_params);
  gint64 held_at = g_get_monotonic_time ();
  lam_trainer_set_held (held, TRUE);
  lam_trainer_start (held, FALSE);
  g_usleep (200 * 1000);
  g_autofree float *while_held = lam_trainer_dup_params (held, NULL);
  /* The hold ends by itself after LAM_TRAINER_HOLD_MAX_US: only a look
   * taken well before that says anything. */
  if (g_get_monotonic_time () - held_at < LAM_TRAINER_HOLD_MAX_US / 2)
    g_assert_cmpmem (while_held, sizeof (float) * n_params, initial, sizeof (float) * n_params);
  else
    g_test_message ("the look came after the hold's limit; not checked");
  lam_trainer_set_held (held, FALSE);
  lam_trainer_wait (held);
  g_autofree float *got = lam_trainer_dup_params (held, NULL);
  g_assert_cmpmem (got, sizeof (float) * n_params, want, sizeof (float) * n_params);

  /* A hold never released ends by itself: the run finishes. */
  LamTrainer *forgotten = lam_trainer_new (spec, train, train, backend, &config, &error);
  g_assert_no_error (error);
  lam_trainer_set_held (forgotten, TRUE);
  gint64 start = g_get_monotonic_time ();
  lam_trainer_start (forgotten, FALSE);
  lam_trainer_wait (forgotten);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, LAM_TRAINER_HOLD_MAX_US);
  g_autofree float *late = lam_trainer_dup_params (forgotten, NULL);
  g_assert_cmpmem (late, sizeof (float) * n_params, want, sizeof (float) * n_params);

  recorder_clear (&straight_events);
  lam_trainer_free (forgotten);
  lam_trainer_free (held);
  lam_trainer_free (straight);
  lam_backend_free (backend);
}

static void
test_divergence (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (400, 5);
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:32,relu,linear:3",
                                                            NULL);
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainerConfig config = bars_config ();
  config.optimizer = lam_optimizer_config_default (LAM_OPTIMIZER_SGD);
  config.optimizer.lr = 1e19;
  config.report_every = 1;
  config.normalize_from_data = FALSE; /* raw pixels in [0, 1] with this rate blow up at once */
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, train, train, backend, &config, &error);
  g_assert_no_error (error);
  Recorder recorder = { 0 };
  run_trainer (trainer, &recorder, FALSE);

  const LamTrainerEvent *diverged = find_event (&recorder, LAM_TRAINER_EVENT_DIVERGED, 0);
  g_assert_nonnull (diverged);
  g_assert_nonnull (strstr (diverged->message, "learning rate"));
  g_assert_nonnull (strstr (diverged->message, "step"));
  const LamTrainerEvent *finished = find_event (&recorder, LAM_TRAINER_EVENT_FINISHED, 0);
  g_assert_true (finished->stopped);

  /* The kept weights are the last good ones: all finite. */
  gsize n = 0;
  g_autofree float *params = lam_trainer_dup_params (trainer, &n);
  g_assert_cmpuint (n, ==, 8 * 8 * 32 + 32 + 32 * 3 + 3);
  g_autofree float *model_params = g_new (float, n);
  lam_model_get_params_host (lam_trainer_get_model (trainer), model_params);
  for (gsize i = 0; i < n; i++) {
    g_assert_true (isfinite (params[i]));
    g_assert_true (isfinite (model_params[i]));
  }

  recorder_clear (&recorder);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
}

/* A stack without parameters (flatten,softmax) has nothing to learn but
 * runs: its weight buffers were NULL for zero floats, taken for "out of
 * memory for the training buffers". */
static void
test_no_parameters (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (100, 5);
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,softmax,loss=nll", NULL);
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainerConfig config = bars_config ();
  config.epochs = 1;
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, train, train, backend, &config, &error);
  g_assert_no_error (error);
  Recorder recorder = { 0 };
  run_trainer (trainer, &recorder, FALSE);

  const LamTrainerEvent *epoch = find_event (&recorder, LAM_TRAINER_EVENT_EPOCH, 0);
  g_assert_nonnull (epoch);
  g_assert_true (isfinite (epoch->loss));
  g_assert_null (find_event (&recorder, LAM_TRAINER_EVENT_ERROR, 0));

  recorder_clear (&recorder);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
}

/* A batch norm over features given one value per channel (a batch of 1,
 * or an epoch's last batch of 1) has no spread to divide by and silently
 * learns nothing: refused before the run, with a batch size that works;
 * a batch norm over an image's channels has values enough in one image. */
static void
test_batch_norm_single_values (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (101, 5);
  g_autoptr (LamModelSpec) spec =
    lam_model_spec_from_text ("flatten,linear:8,batchnorm1d,relu,linear:3", NULL);
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainerConfig config = bars_config ();
  config.epochs = 1;
  config.val_fraction = 0;
  config.batch_size = 10;
  g_autoptr (GError) last_of_one = NULL;
  g_assert_null (lam_trainer_new (spec, train, train, backend, &config, &last_of_one));
  g_assert_error (last_of_one, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG);
  g_test_message ("%s", last_of_one->message);
  g_assert_nonnull (strstr (last_of_one->message, "layer 3 (batchnorm1d)"));
  g_assert_nonnull (strstr (last_of_one->message, "101 training images in batches of 10 leave a "
                                                  "last batch of 1"));
  g_assert_nonnull (strstr (last_of_one->message, "(9 works)"));

  config.batch_size = 1;
  g_autoptr (GError) one = NULL;
  g_assert_null (lam_trainer_new (spec, train, train, backend, &config, &one));
  g_assert_error (one, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG);
  g_assert_nonnull (strstr (one->message, "a batch size of 1 gives it 1"));

  /* The size it proposed trains, and so does a batch of 1 through a batch
   * norm over 2x2 feature maps. */
  config.batch_size = 9;
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, train, train, backend, &config, &error);
  g_assert_no_error (error);
  lam_trainer_free (trainer);
  g_autoptr (LamModelSpec) conv =
    lam_model_spec_from_text ("conv2d:2:3:s3,batchnorm2d,relu,flatten,linear:3", NULL);
  config.batch_size = 1;
  trainer = lam_trainer_new (conv, train, train, backend, &config, &error);
  g_assert_no_error (error);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
}

/* One update can take weights to infinity while the loss the step was
 * checked by, computed before it, is finite: those weights are not kept. */
static void
test_divergence_in_one_update (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (400, 5);
  g_autoptr (LamModelSpec) spec =
    lam_model_spec_from_text ("flatten,linear:32,relu,linear:3", NULL);
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainerConfig config = bars_config ();
  config.optimizer = lam_optimizer_config_default (LAM_OPTIMIZER_SGD);
  config.optimizer.lr = 1e300; /* infinite as the float the update multiplies by */
  config.report_every = 1;
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, train, train, backend, &config, &error);
  g_assert_no_error (error);
  gsize n = 0;
  g_autofree float *start = lam_trainer_dup_params (trainer, &n);
  Recorder recorder = { 0 };
  run_trainer (trainer, &recorder, FALSE);

  const LamTrainerEvent *diverged = find_event (&recorder, LAM_TRAINER_EVENT_DIVERGED, 0);
  g_assert_nonnull (diverged);
  g_assert_nonnull (strstr (diverged->message, "weights became NaN or infinite by step 1 "));
  g_assert_nonnull (strstr (diverged->message, "weights from step 0 were kept"));
  g_assert_null (find_event (&recorder, LAM_TRAINER_EVENT_PROGRESS, 0));
  g_assert_false (lam_trainer_get_position (trainer, NULL, NULL, NULL));

  g_autofree float *kept = lam_trainer_dup_params (trainer, NULL);
  g_autofree float *model_params = g_new (float, n);
  lam_model_get_params_host (lam_trainer_get_model (trainer), model_params);
  g_assert_cmpmem (kept, sizeof (float) * n, start, sizeof (float) * n);
  g_assert_cmpmem (model_params, sizeof (float) * n, start, sizeof (float) * n);

  recorder_clear (&recorder);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
}

static void
test_bad_config (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (50, 6);
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:3", NULL);
  g_autoptr (LamModelSpec) too_few = lam_model_spec_from_text ("flatten,linear:2", NULL);
  LamBackend *backend = lam_backend_cpu_new ();
  g_autoptr (GError) error = NULL;

  LamTrainerConfig config = bars_config ();
  config.batch_size = 0;
  g_assert_null (lam_trainer_new (spec, train, NULL, backend, &config, &error));
  g_assert_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "batch size"));
  g_clear_error (&error);

  config = bars_config ();
  config.optimizer.lr = -1;
  g_assert_null (lam_trainer_new (spec, train, NULL, backend, &config, &error));
  g_assert_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "learning rate"));
  g_clear_error (&error);

  config = bars_config ();
  config.val_fraction = 1.0;
  g_assert_null (lam_trainer_new (spec, train, NULL, backend, &config, &error));
  g_assert_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG);
  g_clear_error (&error);

  /* Two outputs for three classes. */
  config = bars_config ();
  g_assert_null (lam_trainer_new (too_few, train, NULL, backend, &config, &error));
  g_assert_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_DATA);
  g_assert_nonnull (strstr (error->message, "3 classes"));
  g_clear_error (&error);

  config = bars_config ();
  config.crop_padding = 2;
  config.padding_mode = (LamPaddingMode) 7;
  g_assert_null (lam_trainer_new (spec, train, NULL, backend, &config, &error));
  g_assert_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "padding mode"));
  g_clear_error (&error);

  /* Normalisations the loader cannot use: a std above 0 whose reciprocal
   * is infinite, a mean that is not a number. */
  config = bars_config ();
  config.normalize_from_data = FALSE;
  config.std[0] = 1e-45f;
  g_assert_null (lam_trainer_new (spec, train, NULL, backend, &config, &error));
  g_assert_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "channel 1 is mean 0, std 1.4013e-45"));
  g_clear_error (&error);
  config = bars_config ();
  config.normalize_from_data = FALSE;
  config.mean[0] = NAN;
  g_assert_null (lam_trainer_new (spec, train, NULL, backend, &config, &error));
  g_assert_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "channel 1 is mean nan"));
  g_clear_error (&error);

  lam_backend_free (backend);
}

/* One epoch on the bars with the given crops and no validation: the
 * weights at its end. */
static float *
train_with_padding (const LamDataset *train, int crop_padding, LamPaddingMode mode, gsize *n)
{
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:8,relu,linear:3",
                                                            NULL);
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainerConfig config = bars_config ();
  config.epochs = 1;
  config.val_fraction = 0;
  config.evaluate_test = FALSE;
  config.crop_padding = crop_padding;
  config.padding_mode = mode;
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, train, NULL, backend, &config, &error);
  g_assert_no_error (error);
  Recorder recorder = { 0 };
  run_trainer (trainer, &recorder, FALSE);
  g_assert_cmpuint (count_events (&recorder, LAM_TRAINER_EVENT_EPOCH), ==, 1);
  float *params = lam_trainer_dup_params (trainer, n);
  recorder_clear (&recorder);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
  return params;
}

static gboolean
same_params (const float *a, const float *b, gsize n)
{
  return memcmp (a, b, n * sizeof (float)) == 0;
}

/* The padding mode reaches the training loader: with crops, reflect and
 * zeros feed different images (the loader's tests show which), so the
 * weights differ where the same mode twice gives the same weights bit for
 * bit; without crops the mode changes nothing. */
static void
test_padding_mode (void)
{
  g_autoptr (LamDataset) train = make_bars_dataset (320, 9);
  gsize n = 0, n2 = 0;
  g_autofree float *zeros = train_with_padding (train, 2, LAM_PADDING_ZERO, &n);
  g_autofree float *reflect = train_with_padding (train, 2, LAM_PADDING_REFLECT, &n2);
  g_autofree float *reflect_again = train_with_padding (train, 2, LAM_PADDING_REFLECT, NULL);
  g_assert_cmpuint (n, ==, n2);
  g_assert_true (same_params (reflect, reflect_again, n));
  g_assert_false (same_params (zeros, reflect, n));

  g_autofree float *plain_zeros = train_with_padding (train, 0, LAM_PADDING_ZERO, NULL);
  g_autofree float *plain_reflect = train_with_padding (train, 0, LAM_PADDING_REFLECT, NULL);
  g_assert_true (same_params (plain_zeros, plain_reflect, n));
}

/* The settings a lesson starts with, in the window and in `lamina train`
 * alike, and the neutral base they come from. */
static void
test_lesson_default (void)
{
  LamTrainerConfig c = lam_trainer_config_lesson_default ();
  LamOptimizerConfig adam = lam_optimizer_config_default (LAM_OPTIMIZER_ADAM);
  g_assert_cmpint (c.epochs, ==, 5);
  g_assert_cmpint (c.batch_size, ==, 64);
  g_assert_cmpint (c.optimizer.kind, ==, LAM_OPTIMIZER_ADAM);
  g_assert_cmpfloat (c.optimizer.lr, ==, adam.lr);
  g_assert_cmpfloat (c.optimizer.lr, ==, 0.001);
  g_assert_cmpfloat (c.optimizer.weight_decay, ==, adam.weight_decay);
  g_assert_cmpfloat (c.optimizer.beta1, ==, adam.beta1);
  g_assert_cmpfloat (c.optimizer.beta2, ==, adam.beta2);
  g_assert_cmpfloat (c.optimizer.eps, ==, adam.eps);
  g_assert_cmpint (c.schedule.kind, ==, LAM_SCHEDULE_CONSTANT);
  g_assert_cmpfloat (c.val_fraction, ==, 0.1);
  g_assert_cmpuint (c.seed, ==, 1);
  g_assert_true (c.normalize_from_data);
  g_assert_cmpint (c.crop_padding, ==, 0);
  g_assert_cmpint (c.padding_mode, ==, LAM_PADDING_ZERO);
  g_assert_false (c.hflip);
  g_assert_cmpint (c.report_every, ==, 0);
  g_assert_true (c.evaluate_test);
  for (int k = 0; k < 3; k++) {
    g_assert_cmpfloat (c.mean[k], ==, 0);
    g_assert_cmpfloat (c.std[k], ==, 1);
  }

  /* The base stays one epoch over pixels in [0, 1]: what a file without
   * settings meant, and what tests and benchmarks time. */
  LamTrainerConfig base = lam_trainer_config_default ();
  g_assert_cmpint (base.epochs, ==, 1);
  g_assert_false (base.normalize_from_data);
}

/* Real data. */

static LamDataset *fashion_train;
static LamDataset *fashion_test;

static gboolean
have_fashion (void)
{
  if (fashion_train == NULL) {
    g_autoptr (GError) error = NULL;
    if (!lam_dataset_load_dir (LAM_DATASET_DEFAULT_DIR, &fashion_train, &fashion_test, &error)) {
      g_test_skip_printf ("Fashion-MNIST is not installed (%s): apt-get install "
                          "dataset-fashion-mnist",
                          error->message);
      return FALSE;
    }
  }
  return TRUE;
}

/* The CUDA backend, or NULL after skipping the test with the reason where
 * no GPU answers or the module was not built. */
static LamBackend *
open_gpu_or_skip (void)
{
  g_autoptr (GError) error = NULL;
  LamBackend *gpu = lam_device_open ("cuda", NULL, &error);
  if (gpu == NULL)
    g_test_skip_printf ("no CUDA device: %s", error->message);
  return gpu;
}

typedef struct
{
  const char *path;
  const char *model;
  LamOptimizerKind optimizer;
  double lr;
  int batch_size;
  double min_accuracy;
  gboolean on_gpu;
} EndToEnd;

static const EndToEnd end_to_end[] = {
  { "/e2e/fashion-mnist/mlp", "mlp", LAM_OPTIMIZER_ADAM, 0.003, 32, 0.82, FALSE },
  { "/e2e/fashion-mnist/logistic-regression", "logistic-regression", LAM_OPTIMIZER_ADAM, 0.001, 32,
    0.80, FALSE },
  { "/e2e/fashion-mnist/small-cnn", "small-cnn", LAM_OPTIMIZER_ADAM, 0.001, 64, 0.87, FALSE },
  /* The same lessons through the CUDA backend: skipped without a GPU. */
  { "/e2e/fashion-mnist/cuda/mlp", "mlp", LAM_OPTIMIZER_ADAM, 0.003, 32, 0.82, TRUE },
  { "/e2e/fashion-mnist/cuda/small-cnn", "small-cnn", LAM_OPTIMIZER_ADAM, 0.001, 64, 0.87, TRUE },
};

static void
test_end_to_end (gconstpointer data)
{
  const EndToEnd *run = data;
  if (!have_fashion ())
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_preset (run->model, &error);
  g_assert_no_error (error);
  LamBackend *backend = run->on_gpu ? open_gpu_or_skip () : lam_backend_cpu_new ();
  if (backend == NULL)
    return;
  LamTrainerConfig config = lam_trainer_config_default ();
  config.optimizer = lam_optimizer_config_default (run->optimizer);
  config.optimizer.lr = run->lr;
  config.batch_size = run->batch_size;
  config.epochs = 1;
  config.val_fraction = 0.1;
  config.normalize_from_data = TRUE;
  LamTrainer *trainer = lam_trainer_new (spec, fashion_train, fashion_test, backend, &config,
                                         &error);
  g_assert_no_error (error);
  Recorder recorder = { 0 };
  run_trainer (trainer, &recorder, FALSE);

  const LamTrainerEvent *epoch = find_event (&recorder, LAM_TRAINER_EVENT_EPOCH, 0);
  const LamTrainerEvent *tested = find_event (&recorder, LAM_TRAINER_EVENT_TEST, 0);
  g_assert_nonnull (epoch);
  g_assert_nonnull (tested);
  g_test_message ("%s on %s: 1 epoch in %.2f s (%.0f images/s), train loss %.4f, val accuracy "
                  "%.4f, test accuracy %.4f",
                  run->model, backend->device_name, epoch->seconds, epoch->samples_per_second,
                  epoch->loss, epoch->val_accuracy, tested->test_accuracy);
  g_assert_cmpfloat (tested->test_accuracy, >=, run->min_accuracy);
  g_assert_cmpfloat (epoch->val_accuracy, >=, run->min_accuracy - 0.03);
  g_assert_cmpuint (recorder.confusion->total, ==, 10000);

  recorder_clear (&recorder);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
}

static GArray *
loss_sequence_on (LamBackend *backend, const LamDataset *train, guint64 seed)
{
  g_autoptr (LamModelSpec) spec = lam_model_spec_preset ("mlp", NULL);
  LamTrainerConfig config = lam_trainer_config_default ();
  config.optimizer.lr = 0.003;
  config.batch_size = 32;
  config.report_every = 1;
  config.seed = seed;
  config.normalize_from_data = TRUE;
  config.evaluate_test = FALSE;
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer = lam_trainer_new (spec, train, NULL, backend, &config, &error);
  g_assert_no_error (error);
  Recorder recorder = { 0 };
  run_trainer (trainer, &recorder, FALSE);
  GArray *losses = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; i < recorder.events->len; i++) {
    const LamTrainerEvent *event = g_ptr_array_index (recorder.events, i);
    if (event->kind == LAM_TRAINER_EVENT_PROGRESS)
      g_array_append_val (losses, event->loss);
  }
  recorder_clear (&recorder);
  lam_trainer_free (trainer);
  return losses;
}

static GArray *
loss_sequence (const LamDataset *train, guint64 seed)
{
  LamBackend *backend = lam_backend_cpu_new ();
  GArray *losses = loss_sequence_on (backend, train, seed);
  lam_backend_free (backend);
  return losses;
}

static void
test_same_seed_same_losses (void)
{
  if (!have_fashion ())
    return;
  g_autoptr (LamDataset) subset = dataset_head (fashion_train, 3000);
  g_autoptr (GArray) a = loss_sequence (subset, 7);
  g_autoptr (GArray) b = loss_sequence (subset, 7);
  g_autoptr (GArray) c = loss_sequence (subset, 8);
  g_assert_cmpuint (a->len, ==, 85); /* 2700 training images in batches of 32 */
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    g_assert_cmpfloat (g_array_index (a, double, i), ==, g_array_index (b, double, i));
  gboolean differs = FALSE;
  for (guint i = 0; i < MIN (a->len, c->len); i++)
    differs |= g_array_index (a, double, i) != g_array_index (c, double, i);
  g_assert_true (differs);
}

/* On the GPU the same seed gives the same losses too (the MLP's sums, the
 * loss's among them, add in a fixed order), and they follow the CPU's: the
 * first batches' losses agree to float rounding, amplified a little by
 * Adam, where a wrong kernel would be off from the first. */
static void
test_gpu_same_losses (void)
{
  if (!have_fashion ())
    return;
  LamBackend *gpu = open_gpu_or_skip ();
  if (gpu == NULL)
    return;
  g_autoptr (LamDataset) subset = dataset_head (fashion_train, 3000);
  g_autoptr (GArray) a = loss_sequence_on (gpu, subset, 7);
  g_autoptr (GArray) b = loss_sequence_on (gpu, subset, 7);
  g_autoptr (GArray) cpu = loss_sequence (subset, 7);
  g_assert_cmpuint (a->len, ==, 85);
  g_assert_cmpuint (b->len, ==, a->len);
  g_assert_cmpuint (cpu->len, ==, a->len);
  double worst_early = 0, worst = 0;
  for (guint i = 0; i < a->len; i++) {
    double gap = fabs (g_array_index (a, double, i) - g_array_index (cpu, double, i));
    if (i < 20)
      worst_early = MAX (worst_early, gap);
    worst = MAX (worst, gap);
  }
  g_test_message ("GPU and CPU losses differ by at most %.2e over the first 20 batches, %.2e "
                  "over all %u",
                  worst_early, worst, a->len);
  for (guint i = 0; i < a->len; i++)
    g_assert_cmpfloat (g_array_index (a, double, i), ==, g_array_index (b, double, i));
  /* On an H200: 2.4e-7 and 3.6e-7. */
  g_assert_cmpfloat (worst_early, <, 1e-4);
  g_assert_cmpfloat (worst, <, 1e-2);
  lam_backend_free (gpu);
}

static void
test_save_load_same_predictions (void)
{
  if (!have_fashion ())
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) subset = dataset_head (fashion_train, 2000);
  g_autoptr (LamDataset) test_subset = dataset_head (fashion_test, 500);
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (
    "conv2d:4:3:p1,relu,maxpool2d:2,flatten,dropout:0.2,linear:10", &error);
  g_assert_no_error (error);
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainerConfig config = lam_trainer_config_default ();
  config.batch_size = 50;
  config.normalize_from_data = TRUE;
  LamTrainer *trainer = lam_trainer_new (spec, subset, test_subset, backend, &config, &error);
  g_assert_no_error (error);
  Recorder recorder = { 0 };
  run_trainer (trainer, &recorder, FALSE);
  const LamTrainerEvent *tested = find_event (&recorder, LAM_TRAINER_EVENT_TEST, 0);

  LamModel *model = lam_trainer_get_model (trainer);
  const LamModelPlan *plan = lam_model_get_plan (model);
  g_autofree float *params = g_new (float, plan->n_params);
  lam_model_get_params_host (model, params);
  LamCheckpointInfo info = { .spec = (LamModelSpec *) lam_model_get_spec (model),
                             .n_channels = 1,
                             .class_names = subset->class_names };
  lam_trainer_get_normalization (trainer, info.mean, info.std);
  g_autofree char *dir = g_dir_make_tmp ("lamina-trainer-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_assert_true (lam_checkpoint_save (path, plan, &info, params, &error));
  g_assert_no_error (error);

  g_autoptr (LamCheckpointInfo) loaded = NULL;
  g_autofree float *loaded_params = NULL;
  g_assert_true (lam_checkpoint_load (path, &loaded, &loaded_params, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (loaded_params, plan->n_params * sizeof (float), params,
                   plan->n_params * sizeof (float));
  g_assert_cmpint (loaded->n_channels, ==, 1);
  for (int c = 0; c < loaded->n_channels; c++) {
    g_assert_cmpfloat (loaded->mean[c], ==, info.mean[c]);
    g_assert_cmpfloat (loaded->std[c], ==, info.std[c]);
  }

  /* A fresh model from the file predicts exactly as the trained one. */
  g_autoptr (LamModel) reloaded = lam_model_new (loaded->spec, backend, 50, 99, &error);
  g_assert_no_error (error);
  lam_model_set_params_host (reloaded, loaded_params);
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_CONFUSION | LAM_PREDICT_OUTPUTS;
  request.confusion_classes = 10;
  g_autoptr (LamPrediction) original = lam_model_predict (model, test_subset, NULL, 0, info.mean,
                                                          info.std, &request, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (LamPrediction) again = lam_model_predict (reloaded, test_subset, NULL, 0, loaded->mean,
                                                       loaded->std, &request, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (original->accuracy, ==, again->accuracy);
  g_assert_cmpfloat_with_epsilon (original->accuracy, tested->test_accuracy, 1e-9);
  g_assert_cmpmem (original->confusion->counts, 100 * sizeof (guint64),
                   again->confusion->counts, 100 * sizeof (guint64));
  g_assert_cmpmem (original->outputs, sizeof (float) * 10 * test_subset->n, again->outputs,
                   sizeof (float) * 10 * test_subset->n);

  g_autofree char *json_path = g_build_filename (dir, "model.json", NULL);
  g_assert_true (g_file_test (json_path, G_FILE_TEST_EXISTS));
  g_unlink (path);
  g_unlink (json_path);
  g_rmdir (dir);
  recorder_clear (&recorder);
  g_clear_pointer (&reloaded, lam_model_free); /* before the backend it lives on */
  lam_trainer_free (trainer);
  lam_backend_free (backend);
}

/* The small CNN with batch norms learns at least as well as without them
 * in the same steps: one epoch on 6,000 Fashion-MNIST images, scored on
 * 1,000 test images. Their running statistics are what the test scores
 * with, so a wrong update shows here too. */
static double
test_accuracy_of (const char *preset, LamDataset *train, LamDataset *test)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_preset (preset, &error);
  g_assert_no_error (error);
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainerConfig config = lam_trainer_config_default ();
  config.batch_size = 64;
  config.normalize_from_data = TRUE;
  LamTrainer *trainer = lam_trainer_new (spec, train, test, backend, &config, &error);
  g_assert_no_error (error);
  Recorder recorder = { 0 };
  run_trainer (trainer, &recorder, FALSE);
  const LamTrainerEvent *tested = find_event (&recorder, LAM_TRAINER_EVENT_TEST, 0);
  g_assert_nonnull (tested);
  double accuracy = tested->test_accuracy;
  recorder_clear (&recorder);
  lam_trainer_free (trainer);
  lam_backend_free (backend);
  return accuracy;
}

static void
test_batchnorm_learns_as_well (void)
{
  if (!have_fashion ())
    return;
  g_autoptr (LamDataset) train = dataset_head (fashion_train, 6000);
  g_autoptr (LamDataset) test = dataset_head (fashion_test, 1000);
  double plain = test_accuracy_of ("small-cnn", train, test);
  double batchnorm = test_accuracy_of ("small-cnn-bn", train, test);
  g_test_message ("one epoch on 6,000 images: small-cnn %.1f%%, small-cnn-bn %.1f%%",
                  100 * plain, 100 * batchnorm);
  g_assert_cmpfloat (plain, >, 0.6);
  g_assert_cmpfloat (batchnorm, >=, plain);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/trainer/learns-bars", test_learns_bars);
  g_test_add_func ("/trainer/learns-bars-filled-in-caller", test_learns_bars_filled_in_caller);
  g_test_add_func ("/trainer/pause-step-resume", test_pause_step_resume);
  g_test_add_func ("/trainer/lr-change-follows-cosine", test_lr_change_follows_cosine);
  g_test_add_func ("/trainer/step/single-steps-match-straight-run",
                   test_single_steps_match_straight_run);
  g_test_add_func ("/trainer/step/random-pauses-match-straight-run",
                   test_random_pauses_match_straight_run);
  g_test_add_func ("/trainer/step/pause-reports-position", test_pause_reports_position);
  g_test_add_func ("/trainer/metrics/epoch-independent-of-reports",
                   test_epoch_figures_independent_of_reports);
  g_test_add_func ("/trainer/pace/same-numbers", test_pace_same_numbers);
  g_test_add_func ("/trainer/pace/stays-responsive", test_pace_stays_responsive);
  g_test_add_func ("/trainer/stop", test_stop);
  g_test_add_func ("/trainer/held", test_held);
  g_test_add_func ("/trainer/divergence", test_divergence);
  g_test_add_func ("/trainer/no-parameters", test_no_parameters);
  g_test_add_func ("/trainer/batch-norm-single-values", test_batch_norm_single_values);
  g_test_add_func ("/trainer/divergence-in-one-update", test_divergence_in_one_update);
  g_test_add_func ("/trainer/bad-config", test_bad_config);
  g_test_add_func ("/trainer/config/lesson-default", test_lesson_default);
  g_test_add_func ("/trainer/augment/padding-mode", test_padding_mode);
  g_test_add_func ("/e2e/fashion-mnist/same-seed-same-losses", test_same_seed_same_losses);
  g_test_add_func ("/e2e/fashion-mnist/cuda/same-losses", test_gpu_same_losses);
  g_test_add_func ("/e2e/fashion-mnist/save-load-same-predictions",
                   test_save_load_same_predictions);
  g_test_add_func ("/e2e/fashion-mnist/batchnorm-learns-as-well", test_batchnorm_learns_as_well);
  for (guint i = 0; i < G_N_ELEMENTS (end_to_end); i++)
    g_test_add_data_func (end_to_end[i].path, &end_to_end[i], test_end_to_end);
  int status = g_test_run ();
  g_clear_pointer (&fashion_train, lam_dataset_free);
  g_clear_pointer (&fashion_test, lam_dataset_free);
  return status;
}
