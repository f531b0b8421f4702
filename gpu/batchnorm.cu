/* batchnorm.cu: batch normalisation over (outer, channels, inner), one
 * block per channel for the statistics, in double as the CPU backend. */
#include "lam-backend-cuda-private.h"

/* The sum of v over the block, in every thread; `scratch` holds one double
 * per warp. */
static __device__ double
block_sum (double v, double *scratch)
{
  for (int offset = LAM_CUDA_WARP / 2; offset > 0; offset /= 2)
    v += __shfl_xor_sync (0xffffffffu, v, offset);
  if (threadIdx.x % LAM_CUDA_WARP == 0)
    scratch[threadIdx.x / LAM_CUDA_WARP] = v;
  __syncthreads ();
  double total = 0;
  for (int w = 0; w < LAM_CUDA_THREADS / LAM_CUDA_WARP; w++)
    total += scratch[w];
  __syncthreads ();
  return total;
}

static __device__ __forceinline__ size_t
element (size_t e, int ch, int channels, int inner)
{
  size_t o = e / (size_t) inner, i = e % (size_t) inner;
  return (o * channels + ch) * inner + i;
}

/* Training: the channel's mean and biased variance (two passes), the
 * running statistics moved towards them with the unbiased variance, and
 * the normalised output. */
static __global__ void
batchnorm_train_kernel (const float *x, const float *gamma, const float *beta,
                        float *running_mean, float *running_var, float *batches_tracked,
                        float *saved, float *y, int outer, int channels, int inner,
                        double momentum, double eps)
{
  __shared__ double scratch[LAM_CUDA_THREADS / LAM_CUDA_WARP];
  int ch = blockIdx.x;
  size_t count = (size_t) outer * inner;
  double sum = 0;
  for (size_t e = threadIdx.x; e < count; e += blockDim.x)
    sum += x[element (e, ch, channels, inner)];
  double mean = block_sum (sum, scratch) / (double) count;
  double squares = 0;
  for (size_t e = threadIdx.x; e < count; e += blockDim.x) {
    double d = x[element (e, ch, channels, inner)] - mean;
    squares += d * d;
  }
  double var = block_sum (squares, scratch) / (double) count;
  double invstd = 1.0 / sqrt (var + eps);
  float g = gamma[ch], b = beta[ch];
  float m = (float) mean, s = (float) invstd;
  for (size_t e = threadIdx.x; e < count; e += blockDim.x) {
    size_t k = element (e, ch, channels, inner);
    y[k] = (x[k] - m) * s * g + b;
  }
  if (threadIdx.x == 0) {
    saved[ch] = m;
    saved[channels + ch] = s;
    double unbiased = count > 1 ? var * (double) count / (double) (count - 1) : var;
    running_mean[ch] = (float) ((1.0 - momentum) * running_mean[ch] + momentum * mean);
    running_var[ch] = (float) ((1.0 - momentum) * running_var[ch] + momentum * unbiased);
    if (ch == 0 && batches_tracked != NULL)
      batches_tracked[0] += 1.0f;
  }
}

static __global__ void
batchnorm_eval_saved_kernel (const float *running_mean, const float *running_var, float *saved,
                             int channels, double eps)
{
  int ch = blockIdx.x * blockDim.x + threadIdx.x;
  if (ch >= channels)
    return;
  saved[ch] = running_mean[ch];
  saved[channels + ch] = (float) (1.0 / sqrt ((double) running_var[ch] + eps));
}

static __global__ void
batchnorm_eval_kernel (const float *x, const float *gamma, const float *beta, const float *saved,
                       float *y, size_t n, int channels, int inner)
{
  LAM_CUDA_FOR_EACH (k, n) {
    int ch = (int) ((k / (size_t) inner) % (size_t) channels);
    y[k] = (x[k] - saved[ch]) * saved[channels + ch] * gamma[ch] + beta[ch];
  }
}

void
lam_cuda_batchnorm_forward (LamBackend *self, const float *x, const float *gamma,
                            const float *beta, float *running_mean, float *running_var,
                            float *batches_tracked, float *saved, float *y, int outer,
                            int channels, int inner, int training, double momentum, double eps)
{
  if (outer <= 0 || channels <= 0 || inner <= 0)
    return;
  cudaStream_t stream = lam_cuda_context (self)->stream;
  if (training) {
    batchnorm_train_kernel<<<channels, LAM_CUDA_THREADS, 0, stream>>> (
      x, gamma, beta, running_mean, running_var, batches_tracked, saved, y, outer, channels,
      inner, momentum, eps);
    LAM_CUDA_LAUNCHED (self, "batchnorm_forward");
    return;
  }
  batchnorm_eval_saved_kernel<<<(channels + LAM_CUDA_THREADS - 1) / LAM_CUDA_THREADS,
                                LAM_CUDA_THREADS, 0, stream>>> (running_mean, running_var, saved,
                                                                channels, eps);
  size_t n = (size_t) outer * channels * inner;
  batchnorm_eval_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0, stream>>> (
    x, gamma, beta, saved, y, n, channels, inner);
  LAM_CUDA_LAUNCHED (self, "batchnorm_forward");
}

/* One block per channel: the sums of dy and dy * xhat, the parameter
 * gradients, then dx. */
static __global__ void
batchnorm_backward_kernel (const float *x, const float *dy, const float *gamma,
                           const float *saved, float *dgamma, float *dbeta, float *dx, int outer,
                           int channels, int inner, int training)
{
  __shared__ double scratch[LAM_CUDA_THREADS / LAM_CUDA_WARP];
  int ch = blockIdx.x;
  size_t count = (size_t) outer * inner;
  float mean = saved[ch], invstd = saved[channels + ch];
  double sum_dy = 0, sum_dy_xhat = 0;
  for (size_t e = threadIdx.x; e < count; e += blockDim.x) {
    size_t k = element (e, ch, channels, inner);
    double xhat = (double) (x[k] - mean) * invstd;
    sum_dy += dy[k];
    sum_dy_xhat += dy[k] * xhat;
  }
  sum_dy = block_sum (sum_dy, scratch);
  sum_dy_xhat = block_sum (sum_dy_xhat, scratch);
  if (threadIdx.x == 0) {
    dgamma[ch] += (float) sum_dy_xhat;
    dbeta[ch] += (float) sum_dy;
  }
  if (dx == NULL)
    return;
  double scale = (double) gamma[ch] * invstd;
  if (!training) {
    for (size_t e = threadIdx.x; e < count; e += blockDim.x) {
      size_t k = element (e, ch, channels, inner);
      dx[k] = (float) (scale * dy[k]);
    }
    return;
  }
  double mean_dy = sum_dy / (double) count, mean_dy_xhat = sum_dy_xhat / (double) count;
  for (size_t e = threadIdx.x; e < count; e += blockDim.x) {
    size_t k = element (e, ch, channels, inner);
    double xhat = (double) (x[k] - mean) * invstd;
    dx[k] = (float) (scale * (dy[k] - mean_dy - xhat * mean_dy_xhat));
  }
}

void
lam_cuda_batchnorm_backward (LamBackend *self, const float *x, const float *dy,
                             const float *gamma, const float *saved, float *dgamma, float *dbeta,
                             float *dx, int outer, int channels, int inner, int training)
{
  if (outer <= 0 || channels <= 0 || inner <= 0)
    return;
  batchnorm_backward_kernel<<<channels, LAM_CUDA_THREADS, 0, lam_cuda_context (self)->stream>>> (
    x, dy, gamma, saved, dgamma, dbeta, dx, outer, channels, inner, training);
  LAM_CUDA_LAUNCHED (self, "batchnorm_backward");
}
