/* lam-optim.c: SGD, Adam and AdamW over the flat parameter buffer, with
 * their state on the backend, and the learning-rate schedules. */
#include "lam-optim.h"

#include <math.h>

#include "lam-model.h"

struct _LamOptimizer
{
  LamBackend *backend; /* borrowed */
  LamOptimizerConfig config;
  gsize n_params;
  gsize n_trained; /* the prefix of the parameters the steps update */
  float *momentum_buf; /* device, owned; SGD with momentum only */
  float *m;            /* device, owned; Adam and AdamW */
  float *v;
  gint64 step;
};

static const char *const kind_names[] = {
  [LAM_OPTIMIZER_SGD] = "sgd",
  [LAM_OPTIMIZER_ADAM] = "adam",
  [LAM_OPTIMIZER_ADAMW] = "adamw",
};

const char *
lam_optimizer_kind_to_string (LamOptimizerKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (kind_names), NULL);
  return kind_names[kind];
}

gboolean
lam_optimizer_kind_from_string (const char *name, LamOptimizerKind *kind)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++) {
    if (g_ascii_strcasecmp (name, kind_names[i]) == 0) {
      if (kind != NULL)
        *kind = (LamOptimizerKind) i;
      return TRUE;
    }
  }
  return FALSE;
}

LamOptimizerConfig
lam_optimizer_config_default (LamOptimizerKind kind)
{
  LamOptimizerConfig config = {
    .kind = kind,
    .lr = 0.001,
    .momentum = 0.0,
    .dampening = 0.0,
    .nesterov = FALSE,
    .weight_decay = 0.0,
    .beta1 = 0.9,
    .beta2 = 0.999,
    .eps = 1e-8,
  };

  switch (kind) {
  case LAM_OPTIMIZER_SGD:
    config.lr = 0.01;
    break;
  case LAM_OPTIMIZER_ADAM:
    break;
  case LAM_OPTIMIZER_ADAMW:
    config.weight_decay = 0.01;
    break;
  default:
    g_return_val_if_reached (config);
  }
  return config;
}

static void
free_buffer (LamBackend *backend, float *ptr)
{
  if (ptr != NULL)
    backend->free (backend, ptr);
}

void
lam_optimizer_free (LamOptimizer *optimizer)
{
  if (optimizer == NULL)
    return;
  free_buffer (optimizer->backend, optimizer->momentum_buf);
  free_buffer (optimizer->backend, optimizer->m);
  free_buffer (optimizer->backend, optimizer->v);
  g_free (optimizer);
}

static gboolean
alloc_state (LamOptimizer *optimizer, float **ptr, const char *what, GError **error)
{
  gsize bytes = optimizer->n_params * sizeof (float);
  *ptr = optimizer->backend->alloc (optimizer->backend, bytes);
  if (*ptr == NULL) {
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_MEMORY,
                 "%s: could not allocate %.1f MB for the %s on the %s backend",
                 lam_optimizer_kind_to_string (optimizer->config.kind),
                 (double) bytes / (1024.0 * 1024.0), what, optimizer->backend->name);
    return FALSE;
  }
  return TRUE;
}

LamOptimizer *
lam_optimizer_new (LamBackend *backend, const LamOptimizerConfig *config, gsize n_params,
                   GError **error)
{
  g_return_val_if_fail (backend != NULL, NULL);
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail ((guint) config->kind < G_N_ELEMENTS (kind_names), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (LamOptimizer) optimizer = g_new0 (LamOptimizer, 1);
  optimizer->backend = backend;
  optimizer->config = *config;
  optimizer->n_params = n_params;
  optimizer->n_trained = n_params;

  if (n_params > 0) {
    switch (config->kind) {
    case LAM_OPTIMIZER_SGD:
      if (config->momentum != 0.0 &&
          !alloc_state (optimizer, &optimizer->momentum_buf, "momentum buffer", error))
        return NULL;
      break;
    case LAM_OPTIMIZER_ADAM:
    case LAM_OPTIMIZER_ADAMW:
      if (!alloc_state (optimizer, &optimizer->m, "first moments", error) ||
          !alloc_state (optimizer, &optimizer->v, "second moments", error))
        return NULL;
      break;
    default:
      g_assert_not_reached ();
    }
  }

  return g_steal_pointer (&optimizer);
}

void
lam_optimizer_set_lr (LamOptimizer *optimizer, double lr)
{
  g_return_if_fail (optimizer != NULL);
  optimizer->config.lr = lr;
}

double
lam_optimizer_get_lr (LamOptimizer *optimizer)
{
  g_return_val_if_fail (optimizer != NULL, 0.0);
  return optimizer->config.lr;
}

const LamOptimizerConfig *
lam_optimizer_get_config (LamOptimizer *optimizer)
{
  g_return_val_if_fail (optimizer != NULL, NULL);
  return &optimizer->config;
}

gint64
lam_optimizer_get_step (LamOptimizer *optimizer)
{
  g_return_val_if_fail (optimizer != NULL, 0);
  return optimizer->step;
}

void
lam_optimizer_set_step (LamOptimizer *optimizer, gint64 step)
{
  g_return_if_fail (optimizer != NULL);
  g_return_if_fail (step >= 0);
  optimizer->step = step;
}

gsize
lam_optimizer_get_n_params (LamOptimizer *optimizer)
{
  g_return_val_if_fail (optimizer != NULL, 0);
  return optimizer->n_params;
}

int
lam_optimizer_config_get_n_state (const LamOptimizerConfig *config)
{
  g_return_val_if_fail (config != NULL, 0);
  switch (config->kind) {
  case LAM_OPTIMIZER_SGD:
    return config->momentum != 0.0 ? 1 : 0;
  case LAM_OPTIMIZER_ADAM:
  case LAM_OPTIMIZER_ADAMW:
    return 2;
  default:
    g_return_val_if_reached (0);
  }
}

const char *
lam_optimizer_config_get_state_name (const LamOptimizerConfig *config, int index)
{
  g_return_val_if_fail (index >= 0 && index < lam_optimizer_config_get_n_state (config), NULL);
  if (config->kind == LAM_OPTIMIZER_SGD)
    return "momentum_buffer";
  return index == 0 ? "exp_avg" : "exp_avg_sq";
}

int
lam_optimizer_get_n_state (LamOptimizer *optimizer)
{
  g_return_val_if_fail (optimizer != NULL, 0);
  return lam_optimizer_config_get_n_state (&optimizer->config);
}

const char *
lam_optimizer_get_state_name (LamOptimizer *optimizer, int index)
{
  g_return_val_if_fail (optimizer != NULL, NULL);
  return lam_optimizer_config_get_state_name (&optimizer->config, index);
}

static float *
state_buffer (LamOptimizer *optimizer, int index)
{
  if (optimizer->config.kind == LAM_OPTIMIZER_SGD)
    return optimizer->momentum_buf;
  return index == 0 ? optimizer->m : optimizer->v;
}

void
lam_optimizer_get_state (LamOptimizer *optimizer, int index, float *host)
{
  g_return_if_fail (optimizer != NULL && host != NULL);
  g_return_if_fail (index >= 0 && index < lam_optimizer_get_n_state (optimizer));
  float *buffer = state_buffer (optimizer, index);
  if (buffer != NULL)
    optimizer->backend->download (optimizer->backend, host, buffer,
                                  optimizer->n_params * sizeof (float));
}

void
lam_optimizer_set_state (LamOptimizer *optimizer, int index, const float *host)
{
  g_return_if_fail (optimizer != NULL && host != NULL);
  g_return_if_fail (index >= 0 && index < lam_optimizer_get_n_state (optimizer));
  float *buffer = state_buffer (optimizer, index);
  if (buffer != NULL)
    optimizer->backend->upload (optimizer->backend, buffer, host,
                                optimizer->n_params * sizeof (float));
}

void
lam_optimizer_set_n_trained (LamOptimizer *optimizer, gsize n_trained)
{
  g_return_if_fail (optimizer != NULL);
  g_return_if_fail (n_trained <= optimizer->n_params);
  optimizer->n_trained = n_trained;
}

void
lam_optimizer_step (LamOptimizer *optimizer, float *params, float *grads)
{
  g_return_if_fail (optimizer != NULL);

  LamBackend *be = optimizer->backend;
  const LamOptimizerConfig *c = &optimizer->config;

  optimizer->step++;
  if (optimizer->n_trained == 0)
    return;
  g_return_if_fail (params != NULL && grads != NULL);

  if (c->l1 > 0)
    be->l1_penalty (be, params, grads, optimizer->n_trained, (float) c->l1);

  // params (n) updated from grads (n) and the state buffers (n)
  switch (c->kind) {
  case LAM_OPTIMIZER_SGD:
    be->sgd_update (be, params, grads, optimizer->momentum_buf, optimizer->n_trained,
                    (float) c->lr, (float) c->momentum, (float) c->dampening,
                    (float) c->weight_decay, c->nesterov, optimizer->step == 1);
    break;
  case LAM_OPTIMIZER_ADAM:
  case LAM_OPTIMIZER_ADAMW:
    be->adam_update (be, params, grads, optimizer->m, optimizer->v, optimizer->n_trained,
                     (float) c->lr, (float) c->beta1, (float) c->beta2, (float) c->eps,
                     (float) c->weight_decay, c->kind == LAM_OPTIMIZER_ADAMW,
                     (int) MIN (optimizer->step, G_MAXINT));
    break;
  default:
    g_assert_not_reached ();
  }
}

double
lam_schedule_lr (const LamSchedule *schedule, double base_lr, int epoch)
{
  g_return_val_if_fail (schedule != NULL, base_lr);

  epoch = MAX (epoch, 0);
  switch (schedule->kind) {
  case LAM_SCHEDULE_CONSTANT:
    return base_lr;
  case LAM_SCHEDULE_STEP:
    if (schedule->step_size <= 0)
      return base_lr;
    return base_lr * pow (schedule->gamma, (double) (epoch / schedule->step_size));
  case LAM_SCHEDULE_COSINE:
    if (schedule->t_max <= 0)
      return base_lr;
    return schedule->eta_min +
           (base_lr - schedule->eta_min) * (1.0 + cos (G_PI * epoch / schedule->t_max)) / 2.0;
  default:
    g_return_val_if_reached (base_lr);
  }
}
