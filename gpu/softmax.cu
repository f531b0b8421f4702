/* softmax.cu: softmax and log-softmax over rows, one warp per row. */
#include "lam-backend-cuda-private.h"

#define ROWS_PER_BLOCK (LAM_CUDA_THREADS / LAM_CUDA_WARP)

// x (rows, cols) -> y (rows, cols)
static __global__ void
softmax_forward_kernel (const float *x, float *y, int rows, int cols, int log)
{
  int lane = threadIdx.x % LAM_CUDA_WARP;
  int row = blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / LAM_CUDA_WARP;
  if (row >= rows)
    return;
  const float *in = x + (size_t) row * cols;
  float *out = y + (size_t) row * cols;

  float m = -INFINITY;
  for (int j = lane; j < cols; j += LAM_CUDA_WARP)
    m = fmaxf (m, in[j]);
  m = lam_cuda_warp_max (m);
  float sum = 0.0f;
  for (int j = lane; j < cols; j += LAM_CUDA_WARP)
    sum += expf (in[j] - m);
  sum = lam_cuda_warp_sum (sum);

  if (log) {
    // (x - m) - log_sum, in the CPU backend's order.
    float log_sum = logf (sum);
    for (int j = lane; j < cols; j += LAM_CUDA_WARP)
      out[j] = (in[j] - m) - log_sum;
  } else {
    float inv = 1.0f / sum;
    for (int j = lane; j < cols; j += LAM_CUDA_WARP)
      out[j] = expf (in[j] - m) * inv;
  }
}

// x (rows, cols) -> y (rows, cols)
void
lam_cuda_softmax_forward (LamBackend *self, const float *x, float *y, int rows, int cols, int log)
{
  if (rows <= 0 || cols <= 0)
    return;
  softmax_forward_kernel<<<(rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK, LAM_CUDA_THREADS, 0,
                           lam_cuda_context (self)->stream>>> (x, y, rows, cols, log);
  LAM_CUDA_LAUNCHED (self, "softmax_forward");
}

/* softmax: dx = y * (dy - sum(dy * y)); log_softmax: dx = dy - exp(y) * sum(dy).
 * Each lane reads the dy it later overwrites, so dx may alias dy.
 * y, dy (rows, cols) -> dx (rows, cols) */
static __global__ void
softmax_backward_kernel (const float *y, const float *dy, float *dx, int rows, int cols, int log)
{
  int lane = threadIdx.x % LAM_CUDA_WARP;
  int row = blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / LAM_CUDA_WARP;
  if (row >= rows)
    return;
  const float *out = y + (size_t) row * cols;
  const float *g = dy + (size_t) row * cols;
  float *grad = dx + (size_t) row * cols;

  float s = 0.0f;
  for (int j = lane; j < cols; j += LAM_CUDA_WARP)
    s += log ? g[j] : g[j] * out[j];
  s = lam_cuda_warp_sum (s);
  for (int j = lane; j < cols; j += LAM_CUDA_WARP)
    grad[j] = log ? g[j] - expf (out[j]) * s : out[j] * (g[j] - s);
}

// y, dy (rows, cols) -> dx (rows, cols); dx may alias dy
void
lam_cuda_softmax_backward (LamBackend *self, const float *y, const float *dy, float *dx, int rows,
                           int cols, int log)
{
  if (rows <= 0 || cols <= 0)
    return;
  softmax_backward_kernel<<<(rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK, LAM_CUDA_THREADS, 0,
                            lam_cuda_context (self)->stream>>> (y, dy, dx, rows, cols, log);
  LAM_CUDA_LAUNCHED (self, "softmax_backward");
}
