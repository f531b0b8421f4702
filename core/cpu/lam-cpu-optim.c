/* lam-cpu-optim.c: SGD and Adam/AdamW over the flat parameter buffer,
 * large ones split over the threads. */
#include <math.h>

#include "lam-cpu-private.h"

typedef struct
{
  float *params, *momentum_buf, *m, *v;
  const float *grads;
  float *penalised_grads; /* l1_penalty, whose strength rides in lr */
  float lr, momentum, dampening, weight_decay;
  int nesterov, first_step;
  /* Adam */
  float beta1, beta2, eps, step_size, correction2_sqrt, decay, coupled;
  CpuIsa isa;
} OptimJob;

static void
sgd_range_flushed (size_t lo, size_t hi, void *data)
{
  const OptimJob *j = data;
  float *restrict params = j->params, *restrict momentum_buf = j->momentum_buf;
  const float *restrict grads = j->grads;
  float lr = j->lr, momentum = j->momentum, dampening = j->dampening;
  float weight_decay = j->weight_decay;

  if (momentum == 0.0f) {
    for (size_t i = lo; i < hi; i++)
      params[i] -= lr * (grads[i] + weight_decay * params[i]);
    return;
  }
  for (size_t i = lo; i < hi; i++) {
    float g = grads[i] + weight_decay * params[i];
    float buf = j->first_step ? g : momentum * momentum_buf[i] + (1.0f - dampening) * g;
    momentum_buf[i] = buf;
    params[i] -= lr * (j->nesterov ? g + momentum * buf : buf);
  }
}

static void
sgd_range (size_t lo, size_t hi, void *data)
{
  unsigned saved = lam_cpu_flush_subnormals_begin ();
  sgd_range_flushed (lo, hi, data);
  lam_cpu_flush_subnormals_end (saved);
}

// params, grads, momentum_buf (n); momentum_buf is unused without momentum
void
lam_cpu_sgd_update (LamBackend *self, float *params, const float *grads, float *momentum_buf,
                    size_t n, float lr, float momentum, float dampening, float weight_decay,
                    int nesterov, int first_step)
{
  OptimJob j = {
    .params = params, .grads = grads, .momentum_buf = momentum_buf, .lr = lr,
    .momentum = momentum, .dampening = dampening, .weight_decay = weight_decay,
    .nesterov = nesterov, .first_step = first_step,
  };
  lam_cpu_note_training_step (self);
  lam_cpu_parameter_ranges (self, grads, n, cpu_context (self)->parameter_parallel, sgd_range, &j);
}

static void
l1_penalty_range (size_t lo, size_t hi, void *data)
{
  const OptimJob *j = data;
  const float *restrict params = j->params;
  float *restrict grads = j->penalised_grads;
  float strength = j->lr;

  for (size_t i = lo; i < hi; i++)
    grads[i] += params[i] > 0.0f ? strength : params[i] < 0.0f ? -strength : 0.0f;
}

// params, grads (n)
void
lam_cpu_l1_penalty (LamBackend *self, const float *params, float *grads, size_t n, float strength)
{
  OptimJob j = { .params = (float *) params, .penalised_grads = grads, .lr = strength };
  lam_cpu_parameter_ranges (self, grads, n, cpu_context (self)->parameter_parallel,
                            l1_penalty_range, &j);
}

static void
adam_range_flushed (size_t lo, size_t hi, void *data)
{
  const OptimJob *j = data;
#ifdef LAM_CPU_HAVE_AVX512
  if (j->isa == CPU_ISA_AVX512) {
    lam_cpu_avx512_adam (j->params + lo, j->grads + lo, j->m + lo, j->v + lo, hi - lo, j->beta1,
                         j->beta2, j->eps, j->step_size, j->correction2_sqrt, j->decay,
                         j->coupled);
    return;
  }
#endif
#ifdef LAM_CPU_HAVE_AVX2
  // The kernel takes the whole vectors, the loop below the rest.
  if (j->isa == CPU_ISA_AVX2)
    lo +=
      lam_cpu_avx2_adam (j->params + lo, j->grads + lo, j->m + lo, j->v + lo, hi - lo, j->beta1,
                         j->beta2, j->eps, j->step_size, j->correction2_sqrt, j->decay, j->coupled);
#endif
  float *restrict params = j->params, *restrict m = j->m, *restrict v = j->v;
  const float *restrict grads = j->grads;
  float beta1 = j->beta1, beta2 = j->beta2, eps = j->eps, step_size = j->step_size;
  float correction2_sqrt = j->correction2_sqrt, decay = j->decay, coupled = j->coupled;

  /* Without weight decay PyTorch adds nothing to the gradient, which
   * adding 0 · p would not match for a gradient of −0 or a weight gone
   * infinite. */
  int weight_decay = decay != 1.0f || coupled != 0.0f;
  for (size_t i = lo; i < hi; i++) {
    float p = weight_decay ? params[i] * decay : params[i];
    float g = weight_decay ? grads[i] + coupled * p : grads[i];
    float mi = beta1 * m[i] + (1.0f - beta1) * g;
    float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] = p - step_size * mi / (sqrtf (vi) / correction2_sqrt + eps);
  }
}

static void
adam_range (size_t lo, size_t hi, void *data)
{
  unsigned saved = lam_cpu_flush_subnormals_begin ();
  adam_range_flushed (lo, hi, data);
  lam_cpu_flush_subnormals_end (saved);
}

// params, grads, m, v (n); step counts from 1
void
lam_cpu_adam_update (LamBackend *self, float *params, const float *grads, float *m, float *v,
                     size_t n, float lr, float beta1, float beta2, float eps, float weight_decay,
                     int decoupled, int step)
{
  OptimJob j = {
    .params = params,
    .grads = grads,
    .m = m,
    .v = v,
    .beta1 = beta1,
    .beta2 = beta2,
    .eps = eps,
    // PyTorch computes the bias corrections in double, on the host.
    .step_size = (float) (lr / (1.0 - pow (beta1, step))),
    .correction2_sqrt = (float) sqrt (1.0 - pow (beta2, step)),
    .decay = decoupled ? 1.0f - lr * weight_decay : 1.0f,
    .coupled = decoupled ? 0.0f : weight_decay,
    .isa = cpu_context (self)->isa,
  };
  lam_cpu_note_training_step (self);
  lam_cpu_parameter_ranges (self, grads, n, cpu_context (self)->parameter_parallel, adam_range, &j);
}
