/* optim.cu: SGD and Adam/AdamW over the flat parameter buffer, each in one
 * pass. */
#include <cmath>

#include "lam-backend-cuda-private.h"

// params, grads, momentum_buf (n)
static __global__ void
sgd_kernel (float *params, const float *grads, float *momentum_buf, size_t n, float lr,
            float momentum, float dampening, float weight_decay, int nesterov, int first_step)
{
  LAM_CUDA_FOR_EACH (i, n) {
    float g = grads[i] + weight_decay * params[i];
    if (momentum == 0.0f) {
      params[i] -= lr * g;
      continue;
    }
    float buf = first_step ? g : momentum * momentum_buf[i] + (1.0f - dampening) * g;
    momentum_buf[i] = buf;
    params[i] -= lr * (nesterov ? g + momentum * buf : buf);
  }
}

// params, grads, momentum_buf (n); momentum_buf is unused without momentum
void
lam_cuda_sgd_update (LamBackend *self, float *params, const float *grads, float *momentum_buf,
                     size_t n, float lr, float momentum, float dampening, float weight_decay,
                     int nesterov, int first_step)
{
  if (n == 0)
    return;
  sgd_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0, lam_cuda_context (self)->stream>>> (
    params, grads, momentum_buf, n, lr, momentum, dampening, weight_decay, nesterov, first_step);
  LAM_CUDA_LAUNCHED (self, "sgd_update");
}

/* p = p * decay; g = grad + coupled * p; m, v moments;
 * p -= step_size * m / (sqrt (v) / correction2_sqrt + eps)
 * params, grads, m, v (n) */
static __global__ void
adam_kernel (float *params, const float *grads, float *m, float *v, size_t n, float beta1,
             float beta2, float eps, float step_size, float correction2_sqrt, float decay,
             float coupled)
{
  /* Without weight decay PyTorch adds nothing to the gradient, as the CPU
   * backend does: adding 0 · p would turn a weight gone infinite into NaN. */
  bool weight_decay = decay != 1.0f || coupled != 0.0f;
  LAM_CUDA_FOR_EACH (i, n) {
    float p = weight_decay ? params[i] * decay : params[i];
    float g = weight_decay ? grads[i] + coupled * p : grads[i];
    float mi = beta1 * m[i] + (1.0f - beta1) * g;
    float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] = p - step_size * mi / (sqrtf (vi) / correction2_sqrt + eps);
  }
}

// params, grads, m, v (n); step counts from 1
void
lam_cuda_adam_update (LamBackend *self, float *params, const float *grads, float *m, float *v,
                      size_t n, float lr, float beta1, float beta2, float eps, float weight_decay,
                      int decoupled, int step)
{
  if (n == 0)
    return;
  // The bias corrections in double on the host, as PyTorch and the CPU backend compute them.
  float step_size = (float) (lr / (1.0 - pow ((double) beta1, (double) step)));
  float correction2_sqrt = (float) sqrt (1.0 - pow ((double) beta2, (double) step));
  float decay = decoupled ? 1.0f - lr * weight_decay : 1.0f;
  float coupled = decoupled ? 0.0f : weight_decay;
  adam_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0, lam_cuda_context (self)->stream>>> (
    params, grads, m, v, n, beta1, beta2, eps, step_size, correction2_sqrt, decay, coupled);
  LAM_CUDA_LAUNCHED (self, "adam_update");
}

// grads += strength * sign(params); params, grads (n)
static __global__ void
l1_penalty_kernel (const float *params, float *grads, size_t n, float strength)
{
  LAM_CUDA_FOR_EACH (i, n) {
    float p = params[i];
    grads[i] += p > 0.0f ? strength : p < 0.0f ? -strength : 0.0f;
  }
}

void
lam_cuda_l1_penalty (LamBackend *self, const float *params, float *grads, size_t n, float strength)
{
  if (n == 0)
    return;
  l1_penalty_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0,
                      lam_cuda_context (self)->stream>>> (params, grads, n, strength);
  LAM_CUDA_LAUNCHED (self, "l1_penalty");
}
