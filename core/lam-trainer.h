/* lam-trainer.h: a training session on its own thread.
 *
 * The caller sends commands (start, pause, resume, single step, stop, set
 * learning rate) that the worker picks up between steps; the worker posts
 * events to a GMainContext where they are delivered in one coalesced idle
 * callback at a time. The worker never touches the caller's objects and the
 * caller never waits on the worker (except lam_trainer_wait).
 */
#pragma once

#include <glib.h>

#include "lam-backend.h"
#include "lam-dataset.h"
#include "lam-loader.h"
#include "lam-metrics.h"
#include "lam-model.h"
#include "lam-optim.h"

G_BEGIN_DECLS

#define LAM_TRAINER_ERROR (lam_trainer_error_quark ())
GQuark lam_trainer_error_quark (void);

typedef enum
{
  LAM_TRAINER_ERROR_CONFIG, /* a setting out of range, named in the message */
  LAM_TRAINER_ERROR_DATA,   /* the dataset does not fit the model */
} LamTrainerError;

typedef struct
{
  int epochs;
  int batch_size;
  LamOptimizerConfig optimizer;
  LamSchedule schedule;
  double val_fraction; /* 0: no validation set */
  guint64 seed;        /* at most LAM_TRAINER_MAX_SEED */
  gboolean normalize_from_data; /* compute mean/std from the training split */
  float mean[3];                /* used when normalize_from_data is FALSE */
  float std[3];
  int crop_padding;             /* augmentation: 0 = none */
  LamPaddingMode padding_mode;  /* what the crops see beyond the image */
  gboolean hflip;
  int report_every;             /* steps between progress events; 0 = automatic: about
                                 * 100 an epoch, at most one every 40 ms */
  gboolean evaluate_test;       /* evaluate the test set after the last epoch */
} LamTrainerConfig;

/* The largest seed: the largest whole number a double holds exactly, so
 * that the Train page's field (a double) shows the seed a project or the
 * command line gives, and saving it back keeps it. */
#define LAM_TRAINER_MAX_SEED G_GINT64_CONSTANT (9007199254740991) /* 2^53 - 1 */

/* 1 epoch, batch 64, Adam defaults, val 0.1, seed 1, mean 0 / std 1 over
 * pixels in [0, 1] ("ToTensor"), no augmentation, test evaluation on.
 * The neutral base: what a file that records no settings meant (an old
 * checkpoint's pixels in [0, 1]), and the start of tests and benchmarks,
 * whose running time must not follow the lesson's choices. */
LamTrainerConfig lam_trainer_config_default (void);
/* What a lesson starts with, in the window and in `lamina train` alike:
 * the base above with 5 epochs and normalisation by the training split's
 * mean and std. */
LamTrainerConfig lam_trainer_config_lesson_default (void);

/* How many of a paced batch's images a PROGRESS event names. */
#define LAM_TRAINER_MAX_SHOWN 16

typedef enum
{
  LAM_TRAINER_EVENT_STARTED,
  LAM_TRAINER_EVENT_PROGRESS, /* every report_every steps (every step while paced), after a
                               * single step and before a pause */
  LAM_TRAINER_EVENT_EPOCH,    /* an epoch ended: train and validation figures */
  LAM_TRAINER_EVENT_TEST,     /* test-set evaluation: accuracy, loss, confusion (regression:
                               * loss, MSE, MAE, R²) */
  LAM_TRAINER_EVENT_PAUSED,
  LAM_TRAINER_EVENT_RESUMED,
  LAM_TRAINER_EVENT_LR_CHANGED,
  LAM_TRAINER_EVENT_DIVERGED, /* loss became NaN or Inf: stopped, last good weights kept */
  LAM_TRAINER_EVENT_ERROR,
  LAM_TRAINER_EVENT_FINISHED, /* the thread is done (after all epochs, stop, divergence or error) */
} LamTrainerEventKind;

typedef struct
{
  LamTrainerEventKind kind;
  int epoch;              /* 0-based epoch the event belongs to */
  int epochs;
  gint64 step;            /* optimizer steps done so far */
  int batch;              /* batches done in this epoch */
  int batches_per_epoch;
  double loss;            /* PROGRESS: mean since the last report; EPOCH: over the epoch */
  double accuracy;        /* NAN for regression */
  double val_loss;        /* NAN without a validation set */
  double val_accuracy;
  double test_loss;       /* TEST */
  double test_accuracy;
  double seconds;         /* EPOCH: the epoch's duration; FINISHED: the whole run */
  double samples_per_second;
  double lr;
  gboolean stopped;       /* FINISHED: ended by stop, divergence or error */
  char *message;          /* owned: DIVERGED, ERROR, and a word for others; may be NULL */
  LamConfusion *confusion; /* owned: TEST of a classification */
  /* Regression (NAN otherwise): mean squared error, mean absolute error
   * and R² in the targets' own units, averaged over the targets (see
   * LamPrediction); the loss above stays the one optimised, on the
   * standardised targets. EPOCH: mse, mae and r2 over the training split
   * with the weights at the epoch's end (as the tutorials evaluate the
   * whole training set after an epoch), val_ over the validation split;
   * TEST: test_ over the test set. */
  double mse, mae, r2;
  double val_mse, val_mae, val_r2;
  double test_mse, test_mae, test_r2;
  /* TEST of a regression: each target's figures (n_targets each, owned). */
  int n_targets;
  double *test_target_mse;
  double *test_target_mae;
  double *test_target_r2;
  /* PROGRESS while paced: the first images of the batch just trained, at
   * most LAM_TRAINER_MAX_SHOWN (0 and NULL otherwise). */
  int n_shown;
  guint32 *shown_indices;   /* owned: their indices in the training dataset */
  gint32 *shown_predicted;  /* owned: the class the model gave each, in this step's
                             * forward pass (before the step's update); never for a
                             * regression */
  /* PROGRESS after a single step or while paced, for a model of at most
   * LAM_TRAINER_MAX_WATCHED trainable parameters: every parameter as the
   * step found it, its gradient for the step's batch, and the change the
   * optimizer made (0 and NULL otherwise). Plan order, as the checkpoint
   * stores them. */
  int n_watched;
  float *watched_values;  /* owned: before the step */
  float *watched_grads;   /* owned: ∂L/∂p over the batch */
  float *watched_updates; /* owned: after − before */
  /* EPOCH: the weights as the epoch left them (owned, n_params floats in
   * plan order), for views that show each epoch's model: by the time the
   * event is handled, training may be well into the next epoch. */
  gsize n_params;
  float *params;
} LamTrainerEvent;

/* The largest model whose every parameter a single step shows. */
#define LAM_TRAINER_MAX_WATCHED 64

void lam_trainer_event_free (LamTrainerEvent *event);

typedef void (*LamTrainerEventFunc) (const LamTrainerEvent *event, gpointer user_data);

typedef struct _LamTrainer LamTrainer;

/* The spec's input is set from the dataset (lam_dataset_get_input_shape).
 * Datasets and backend are borrowed and must outlive the trainer. test may
 * be NULL.
 *
 * A regression table (LAM_TASK_REGRESSION) trains on its standardised
 * targets with the spec's loss, mse when the spec names none (and does
 * not end in log_softmax, which implies nll); the model
 * must give exactly n_targets outputs, and a loss against classes
 * (cross_entropy, nll) is refused (LAM_TRAINER_ERROR_DATA), as is l1 for
 * classes. A table is never augmented: crop padding or flips are refused
 * (LAM_TRAINER_ERROR_CONFIG). */
LamTrainer *lam_trainer_new (const LamModelSpec *spec, const LamDataset *train,
                             const LamDataset *test, LamBackend *backend,
                             const LamTrainerConfig *config, GError **error);
/* Bytes of main memory a run of `plan` with `config` needs on the CPU:
 * the model (parameters, their gradients, the activations of a batch), the
 * optimizer's state and the trainer's two host copies of the weights.
 * lam_trainer_new refuses a CPU run that needs more than
 * lam_device_host_memory_available (); the Model page warns with the same
 * figure. */
guint64 lam_trainer_estimate_bytes (const LamModelPlan *plan, const LamTrainerConfig *config);
/* Frees the trainer; stops and joins the thread first if it runs. */
void lam_trainer_free (LamTrainer *trainer);

/* Events are delivered on `context` (NULL: the thread-default context of
 * the caller of this function). */
void lam_trainer_set_event_func (LamTrainer *trainer, LamTrainerEventFunc func,
                                 gpointer user_data, GMainContext *context);

/* Where a run begins when it continues an earlier one: the weights, the
 * optimizer's state and the position reached. Borrowed; copied by
 * lam_trainer_set_start. */
typedef struct
{
  const float *params;                  /* n_params floats in plan order */
  gsize n_params;
  const float *const *optimizer_state;  /* lam_optimizer_config_get_n_state buffers of
                                         * n_params floats; NULL starts them at zero */
  int n_optimizer_state;
  int epochs_done;                      /* whole epochs done; the run goes on to config->epochs */
  int batches_done;                     /* batches of the next epoch already trained */
  gint64 step;                          /* optimizer steps taken */
} LamTrainerStart;

/* Before lam_trainer_start: continue from `start` instead of fresh
 * weights. With the same dataset, seed and settings, training 2 epochs
 * straight and training 1, saving, and continuing for 1 more give the same
 * numbers: epoch shuffles, dropout masks and Adam's bias correction follow
 * the epoch and step counts. FALSE with LAM_TRAINER_ERROR_CONFIG when the
 * sizes do not match the model and optimizer or no epoch is left. */
gboolean lam_trainer_set_start (LamTrainer *trainer, const LamTrainerStart *start,
                                GError **error);

/* Starts the thread; with paused, it waits for resume or step.
 *
 * Commands take effect between batches; a batch once begun is trained to
 * its end, and none is ever skipped or trained twice: N single steps and a
 * straight run of N steps (same seed, data and settings) give the same
 * losses and weights, bit for bit, however pause, step and resume were
 * interleaved. An epoch's mean loss and accuracy do not depend on when
 * progress was reported either: they are summed step by step on the
 * device. */
void lam_trainer_start (LamTrainer *trainer, gboolean paused);
/* The batch in flight finishes; its position is reported (a PROGRESS event
 * for the batches not yet reported), then PAUSED. */
void lam_trainer_pause (LamTrainer *trainer);
/* Runs on; single steps still queued are dropped. */
void lam_trainer_resume (LamTrainer *trainer);
/* While paused: exactly one batch, then a PROGRESS event for that batch
 * alone, then PAUSED again; calls made before the worker gets to them
 * queue, one batch each. While running: the same as lam_trainer_pause (the
 * batch in flight is the step), so that a second call steps from there. */
void lam_trainer_step (LamTrainer *trainer);
void lam_trainer_stop (LamTrainer *trainer);
void lam_trainer_set_lr (LamTrainer *trainer, double lr);
/* At most steps_per_second steps a second (0: as fast as it goes), so that
 * a class can watch the curves form; before the start or while running,
 * taking effect at once. Paced, every step is reported, with the batch's
 * first images and what the model made of them. A pace changes no number:
 * the same steps are trained as unpaced. */
void lam_trainer_set_pace (LamTrainer *trainer, double steps_per_second);
/* While held, the trainer waits before its next step: another
 * computation on the same cores that a person is waiting for (the
 * evaluation of the weights just published) gets them. No event, no
 * change of state and no change of number; the wait counts as a pause's
 * (not in the epoch's time), and ends by itself after
 * LAM_TRAINER_HOLD_MAX_US, should the release never come. */
#define LAM_TRAINER_HOLD_MAX_US (2 * G_USEC_PER_SEC)
void lam_trainer_set_held (LamTrainer *trainer, gboolean held);
gboolean lam_trainer_is_running (LamTrainer *trainer);
/* Joins the thread (returns at once when it never started). */
void lam_trainer_wait (LamTrainer *trainer);

/* A copy of the weights at a step boundary: safe while training runs. */
float *lam_trainer_dup_params (LamTrainer *trainer, gsize *n_params);
/* The model being trained; only to be used while the thread is not running. */
LamModel *lam_trainer_get_model (LamTrainer *trainer);
/* The optimizer; only to be used while the thread is not running. */
LamOptimizer *lam_trainer_get_optimizer (LamTrainer *trainer);
/* Where the run got to, for continuing it later; only while the thread is
 * not running. FALSE when it cannot be continued (the loss diverged: the
 * weights were rolled back but the optimizer's state was not). After a run
 * that ended, lam_trainer_dup_params gives the weights of this position. */
gboolean lam_trainer_get_position (LamTrainer *trainer, int *epochs_done, int *batches_done,
                                   gint64 *step);
/* Normalisation in use (after normalize_from_data). */
void lam_trainer_get_normalization (LamTrainer *trainer, float *mean, float *std);
/* The task of the training dataset. */
LamTask lam_trainer_get_task (LamTrainer *trainer);

G_END_DECLS
