/* dropout.cu: inverted dropout with the mask drawn from lam_hash_uniform,
 * so it is the CPU backend's mask bit for bit. */
#include "lam-backend-cuda-private.h"

// x (n) -> y (n), mask (n); y may alias x
static __global__ void
dropout_forward_kernel (const float *x, float *y, float *mask, size_t n, double p, float keep,
                        uint64_t seed)
{
  LAM_CUDA_FOR_EACH (i, n) {
    float m = p <= 0.0 ? 1.0f : (double) lam_hash_uniform (seed, i) >= p ? keep : 0.0f;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

// x (n) -> y (n), mask (n); y may alias x
void
lam_cuda_dropout_forward (LamBackend *self, const float *x, float *y, float *mask, size_t n,
                          double p, uint64_t seed)
{
  if (n == 0)
    return;
  // Computed once on the host as the CPU backend does; p >= 1 drops everything.
  float keep = p < 1.0 ? (float) (1.0 / (1.0 - p)) : 0.0f;
  dropout_forward_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0,
                           lam_cuda_context (self)->stream>>> (x, y, mask, n, p, keep, seed);
  LAM_CUDA_LAUNCHED (self, "dropout_forward");
}

// dx (n) = dy (n) * mask (n); dx may alias dy
static __global__ void
dropout_backward_kernel (const float *dy, const float *mask, float *dx, size_t n)
{
  LAM_CUDA_FOR_EACH (i, n)
    dx[i] = dy[i] * mask[i];
}

// dx (n) = dy (n) * mask (n); dx may alias dy
void
lam_cuda_dropout_backward (LamBackend *self, const float *dy, const float *mask, float *dx,
                           size_t n)
{
  if (n == 0)
    return;
  dropout_backward_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0,
                            lam_cuda_context (self)->stream>>> (dy, mask, dx, n);
  LAM_CUDA_LAUNCHED (self, "dropout_backward");
}
