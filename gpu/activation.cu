/* activation.cu: element-wise activations and their gradients. */
#include "lam-backend-cuda-private.h"

// y (n) = f(x (n)); y may alias x
static __global__ void
activation_forward_kernel (int kind, float alpha, const float *x, float *y, size_t n)
{
  LAM_CUDA_FOR_EACH (i, n) {
    float v = x[i];
    switch (kind) {
    case LAM_ACTIVATION_RELU:
      y[i] = v > 0.0f ? v : 0.0f;
      break;
    case LAM_ACTIVATION_LEAKY_RELU:
      y[i] = v > 0.0f ? v : alpha * v;
      break;
    case LAM_ACTIVATION_SIGMOID:
      y[i] = 1.0f / (1.0f + expf (-v));
      break;
    default:
      y[i] = tanhf (v);
      break;
    }
  }
}

// dx (n) = f'(x or y) * dy (n); dx may alias dy
static __global__ void
activation_backward_kernel (int kind, float alpha, const float *x, const float *y,
                            const float *dy, float *dx, size_t n)
{
  LAM_CUDA_FOR_EACH (i, n) {
    float g = dy[i];
    switch (kind) {
    case LAM_ACTIVATION_RELU:
      dx[i] = x[i] > 0.0f ? g : 0.0f;
      break;
    case LAM_ACTIVATION_LEAKY_RELU:
      dx[i] = x[i] > 0.0f ? g : alpha * g;
      break;
    case LAM_ACTIVATION_SIGMOID:
      dx[i] = y[i] * (1.0f - y[i]) * g;
      break;
    default:
      dx[i] = (1.0f - y[i] * y[i]) * g;
      break;
    }
  }
}

static bool
known_kind (LamBackend *self, LamActivation kind, const char *op)
{
  if (kind == LAM_ACTIVATION_RELU || kind == LAM_ACTIVATION_LEAKY_RELU ||
      kind == LAM_ACTIVATION_SIGMOID || kind == LAM_ACTIVATION_TANH)
    return true;
  lam_cuda_fail (self, "%s: unknown activation %d", op, (int) kind);
  return false;
}

// y (n) = f(x (n)); y may alias x
void
lam_cuda_activation_forward (LamBackend *self, LamActivation kind, float alpha, const float *x,
                             float *y, size_t n)
{
  if (n == 0 || !known_kind (self, kind, "activation_forward"))
    return;
  activation_forward_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0,
                              lam_cuda_context (self)->stream>>> ((int) kind, alpha, x, y, n);
  LAM_CUDA_LAUNCHED (self, "activation_forward");
}

/* dx (n) = f'(x) * dy; ReLU and leaky ReLU read x, sigmoid and tanh read y,
 * as the CPU backend does. */
void
lam_cuda_activation_backward (LamBackend *self, LamActivation kind, float alpha, const float *x,
                              const float *y, const float *dy, float *dx, size_t n)
{
  if (n == 0 || !known_kind (self, kind, "activation_backward"))
    return;
  activation_backward_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0,
                               lam_cuda_context (self)->stream>>> ((int) kind, alpha, x, y, dy,
                                                                   dx, n);
  LAM_CUDA_LAUNCHED (self, "activation_backward");
}
