/* lam-lr-find.h: the learning-rate finder (fastai's lr_find, after Leslie
 * Smith's learning-rate range test).
 *
 * A short sweep trains one batch at each of a series of learning rates
 * growing exponentially (1e-6 to 1 by default) and records the loss: it
 * falls slowly while the rate is too small to matter, fast in the useful
 * range, and shoots up once the rate is too large. The suggestion is where
 * the smoothed loss falls fastest. The sweep trains a copy of the model:
 * the caller's weights and optimizer never change.
 */
#pragma once

#include <gio/gio.h>

#include "lam-backend.h"
#include "lam-dataset.h"
#include "lam-model.h"
#include "lam-trainer.h"

G_BEGIN_DECLS

#define LAM_LR_FIND_ERROR (lam_lr_find_error_quark ())
GQuark lam_lr_find_error_quark (void);

typedef enum
{
  LAM_LR_FIND_ERROR_CONFIG, /* a sweep setting out of range, named in the message */
} LamLrFindError;

typedef struct
{
  double start_lr;       /* the first step's rate; > 0 */
  double end_lr;         /* the last step's; > start_lr */
  int n_steps;           /* 2 .. LAM_LR_FIND_MAX_STEPS, one batch each */
  double smoothing;      /* β of the loss's moving average, in [0, 1) */
  double diverge_factor; /* stop once the smoothed loss exceeds this × its minimum; > 1 */
} LamLrFindOptions;

#define LAM_LR_FIND_MAX_STEPS 100000

/* 1e-6 to 1 in 100 steps, β 0.98, stop at 4 × the minimum: fastai's. */
void lam_lr_find_options_init (LamLrFindOptions *options);

/* The rate of step i of n_steps: start × (end / start)^(i / (n_steps − 1)). */
double lam_lr_find_options_get_lr (const LamLrFindOptions *options, int step);

typedef enum
{
  LAM_LR_FIND_STOP_END,        /* every step was taken */
  LAM_LR_FIND_STOP_DIVERGED,   /* the smoothed loss exceeded diverge_factor × its minimum */
  LAM_LR_FIND_STOP_NOT_FINITE, /* a step's loss was NaN or infinite */
} LamLrFindStop;

typedef struct
{
  int n_planned;      /* options->n_steps */
  int n_steps;        /* steps taken */
  double *lrs;        /* owned, n_planned; the first n_steps filled */
  double *losses;     /* owned: each step's mean loss over its batch, before its update */
  double *smoothed;   /* owned: exponential moving average of the losses, bias-corrected */
  double smoothing;   /* its β (options->smoothing); 0 for a curve smoothed otherwise */
  LamLrFindStop stop;
  /* Where the smoothed loss is least (-1 and NAN before a finite loss). */
  int min_index;
  double min_lr;
  double min_loss;
  /* The rate to train at: the start of the steepest fall of the smoothed
   * loss (per unit of log lr) before its minimum, the first tenth of the
   * sweep left out as fastai does (its start is mostly the smoothing
   * warming up). When the minimum comes before any fall (a small noisy
   * set), fastai's "valley": a third plus a sixth of the way along the
   * longest run of ever smaller smoothed losses. When the loss never falls
   * at all, min_lr / 10 (at least the first rate), the older rule of
   * thumb, and steepest is FALSE. NAN when no loss was finite. */
  int suggested_index;
  double suggested_lr;
  gboolean steepest;
} LamLrFindResult;

void lam_lr_find_result_free (LamLrFindResult *result);

/* Called after every step, on the thread running the sweep, with the
 * result so far (borrowed, valid during the call). */
typedef void (*LamLrFindProgressFunc) (const LamLrFindResult *so_far, gpointer user_data);

/* Sweeps the rate on a private copy of the model that spec describes (its
 * input set from the dataset) with weights params (n_params floats in plan
 * order, as lam_model_get_params_host or lam_trainer_dup_params give them;
 * NULL: fresh weights from config->seed, as a new run starts), trained as
 * lam_trainer_new would train it: config's optimizer kind and its momentum,
 * betas and weight decay (its lr is replaced by the sweep's), loss,
 * normalisation, augmentation and batch size, on the same training split
 * (the validation part is never seen). The optimizer's state starts at
 * zero. A regression table works as a classification does, its loss on the
 * standardised targets.
 *
 * Synchronous: a window runs it on a worker thread, shows progress through
 * the callback and stops it with cancellable (NULL with
 * G_IO_ERROR_CANCELLED). The dataset and backend are borrowed; the backend
 * is not to be used by another thread meanwhile. Settings the trainer
 * refuses fail with its error (LAM_TRAINER_ERROR, LAM_MODEL_ERROR), the
 * sweep's own with LAM_LR_FIND_ERROR_CONFIG. */
LamLrFindResult *lam_lr_find (const LamModelSpec *spec, const float *params, gsize n_params,
                              const LamDataset *train, LamBackend *backend,
                              const LamTrainerConfig *config, const LamLrFindOptions *options,
                              LamLrFindProgressFunc progress, gpointer user_data,
                              GCancellable *cancellable, GError **error);

/* The suggestion rule on its own, for a curve the caller holds: fills
 * min_index, min_lr, min_loss, suggested_index, suggested_lr and steepest
 * of result from its first n_steps lrs and smoothed losses. */
void lam_lr_find_suggest (LamLrFindResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamLrFindResult, lam_lr_find_result_free)

G_END_DECLS
