/* lam-optim.h: optimizers over the model's flat parameter buffer, and
 * learning-rate schedules. */
#pragma once

#include <glib.h>

#include "lam-backend.h"

G_BEGIN_DECLS

typedef enum
{
  LAM_OPTIMIZER_SGD,
  LAM_OPTIMIZER_ADAM,
  LAM_OPTIMIZER_ADAMW,
} LamOptimizerKind;

const char *lam_optimizer_kind_to_string (LamOptimizerKind kind); /* "sgd", "adam", "adamw" */
gboolean lam_optimizer_kind_from_string (const char *name, LamOptimizerKind *kind);

typedef struct
{
  LamOptimizerKind kind;
  double lr;
  double momentum;     /* SGD */
  double dampening;    /* SGD */
  gboolean nesterov;   /* SGD */
  double weight_decay; /* all; AdamW decoupled */
  /* An L1 penalty l1 * sum |p| over the trained parameters, added to the
   * loss's gradient before each update (all kinds; 0: none). Weight decay
   * is the L2 penalty; this one drives small weights to exactly zero. */
  double l1;
  double beta1, beta2, eps; /* Adam, AdamW */
} LamOptimizerConfig;

/* PyTorch's defaults for the kind: SGD lr 0.01 momentum 0; Adam lr 0.001,
 * betas (0.9, 0.999), eps 1e-8, weight decay 0; AdamW the same with weight
 * decay 0.01. */
LamOptimizerConfig lam_optimizer_config_default (LamOptimizerKind kind);

typedef struct _LamOptimizer LamOptimizer;

/* Allocates the state buffers (momentum, or Adam's m and v) on the backend;
 * NULL with LAM_MODEL_ERROR_MEMORY when they do not fit. */
LamOptimizer *lam_optimizer_new (LamBackend *backend, const LamOptimizerConfig *config,
                                 gsize n_params, GError **error);
void lam_optimizer_free (LamOptimizer *optimizer);
/* Steps update only the first n_trained parameters (all of them unless
 * set): a model's buffers (running statistics) follow its parameters in
 * the flat buffer and are not trained. The state keeps n_params floats,
 * so saved optimizer state has one value per float of the buffer. */
void lam_optimizer_set_n_trained (LamOptimizer *optimizer, gsize n_trained);
/* The learning rate may change between steps. */
void lam_optimizer_set_lr (LamOptimizer *optimizer, double lr);
double lam_optimizer_get_lr (LamOptimizer *optimizer);
const LamOptimizerConfig *lam_optimizer_get_config (LamOptimizer *optimizer);
/* Steps taken so far (Adam's bias correction uses it). */
gint64 lam_optimizer_get_step (LamOptimizer *optimizer);
/* Where training resumes: Adam's bias correction (and SGD's first-step
 * momentum) depend on the count of steps already taken. */
void lam_optimizer_set_step (LamOptimizer *optimizer, gint64 step);
gsize lam_optimizer_get_n_params (LamOptimizer *optimizer);

/* The optimizer's state as host arrays, for saving and resuming. Each
 * buffer is n_params floats, named as PyTorch's optimizer state_dict names
 * them: SGD with momentum has "momentum_buffer"; Adam and AdamW have
 * "exp_avg" and "exp_avg_sq"; SGD without momentum has none. Copies go
 * through the backend's upload/download, so they work on every backend. */
int lam_optimizer_config_get_n_state (const LamOptimizerConfig *config);
const char *lam_optimizer_config_get_state_name (const LamOptimizerConfig *config, int index);
int lam_optimizer_get_n_state (LamOptimizer *optimizer);
const char *lam_optimizer_get_state_name (LamOptimizer *optimizer, int index);
void lam_optimizer_get_state (LamOptimizer *optimizer, int index, float *host);
void lam_optimizer_set_state (LamOptimizer *optimizer, int index, const float *host);

/* One update of params from grads (both device, n_params). With an L1
 * penalty its gradient is first added to grads, which the caller clears
 * before the next step anyway. */
void lam_optimizer_step (LamOptimizer *optimizer, float *params, float *grads);

typedef enum
{
  LAM_SCHEDULE_CONSTANT,
  LAM_SCHEDULE_STEP,   /* lr * gamma^(epoch / step_size), as StepLR */
  LAM_SCHEDULE_COSINE, /* eta_min + (lr - eta_min) * (1 + cos(pi * epoch / t_max)) / 2 */
} LamScheduleKind;

typedef struct
{
  LamScheduleKind kind;
  int step_size;
  double gamma;
  int t_max;
  double eta_min;
} LamSchedule;

/* The learning rate for a 0-based epoch. */
double lam_schedule_lr (const LamSchedule *schedule, double base_lr, int epoch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamOptimizer, lam_optimizer_free)

G_END_DECLS
