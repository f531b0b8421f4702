/* lam-cpu-softmax.c: softmax and log-softmax over rows. */
#include <math.h>

#include "lam-cpu-private.h"

// x (rows, cols) -> y (rows, cols)
void
lam_cpu_softmax_forward (LamBackend *self, const float *restrict x, float *restrict y, int rows,
                         int cols, int log)
{
  for (int r = 0; r < rows; r++) {
    const float *restrict in = x + (size_t) r * cols;
    float *restrict out = y + (size_t) r * cols;
    if (log) {
      float m;
      float log_sum = row_shifted_logsumexp (in, cols, &m);
      for (int j = 0; j < cols; j++)
        out[j] = (in[j] - m) - log_sum;
    } else {
      float m = row_max (in, cols);
      float sum = 0.0f;
      for (int j = 0; j < cols; j++) {
        out[j] = expf (in[j] - m);
        sum += out[j];
      }
      float inv = 1.0f / sum;
      for (int j = 0; j < cols; j++)
        out[j] *= inv;
    }
  }
}

// y, dy (rows, cols) -> dx (rows, cols); dx may alias dy
void
lam_cpu_softmax_backward (LamBackend *self, const float *y, const float *dy, float *dx, int rows,
                          int cols, int log)
{
  for (int r = 0; r < rows; r++) {
    const float *out = y + (size_t) r * cols;
    const float *g = dy + (size_t) r * cols;
    float *grad = dx + (size_t) r * cols;
    float s = 0.0f;
    if (log) {
      for (int j = 0; j < cols; j++)
        s += g[j];
      for (int j = 0; j < cols; j++)
        grad[j] = g[j] - expf (out[j]) * s;
    } else {
      for (int j = 0; j < cols; j++)
        s += g[j] * out[j];
      for (int j = 0; j < cols; j++)
        grad[j] = out[j] * (g[j] - s);
    }
  }
}
