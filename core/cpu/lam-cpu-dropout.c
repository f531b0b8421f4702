/* lam-cpu-dropout.c: inverted dropout with the mask drawn from
 * lam_hash_uniform, so that every backend draws the same mask. */
#include "lam-cpu-private.h"

// x (n) -> y (n), mask (n); y may alias x
void
lam_cpu_dropout_forward (LamBackend *self, const float *x, float *y, float *restrict mask, size_t n,
                         double p, uint64_t seed)
{
  if (p <= 0.0) {
    for (size_t i = 0; i < n; i++) {
      mask[i] = 1.0f;
      y[i] = x[i];
    }
    return;
  }
  // p >= 1 drops everything; 1 / (1 - p) would be infinite.
  float keep = p < 1.0 ? (float) (1.0 / (1.0 - p)) : 0.0f;
  for (size_t i = 0; i < n; i++) {
    mask[i] = lam_hash_uniform (seed, i) >= p ? keep : 0.0f;
    y[i] = x[i] * mask[i];
  }
}

// dx (n) = dy (n) * mask (n); dx may alias dy
void
lam_cpu_dropout_backward (LamBackend *self, const float *dy, const float *restrict mask, float *dx,
                          size_t n)
{
  for (size_t i = 0; i < n; i++)
    dx[i] = dy[i] * mask[i];
}
