/* bias.cu: adding a per-channel bias and its gradient. */
#include "lam-backend-cuda-private.h"

// y (outer, channels, inner) += bias (channels)
static __global__ void
bias_add_kernel (float *y, const float *bias, size_t n, int channels, int inner)
{
  LAM_CUDA_FOR_EACH (i, n)
    y[i] += bias[(i / (size_t) inner) % (size_t) channels];
}

// y (outer, channels, inner) += bias (channels)
void
lam_cuda_bias_add (LamBackend *self, float *y, const float *bias, int outer, int channels,
                   int inner)
{
  size_t n = (size_t) outer * channels * inner;
  if (n == 0)
    return;
  bias_add_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0,
                    lam_cuda_context (self)->stream>>> (y, bias, n, channels, inner);
  LAM_CUDA_LAUNCHED (self, "bias_add");
}

/* dy (outer, channels) -> dbias (channels) +=: one thread per channel walks
 * down the rows, neighbouring threads reading neighbouring floats. */
static __global__ void
bias_backward_rows_kernel (const float *dy, float *dbias, int outer, int channels)
{
  int ch = blockIdx.x * blockDim.x + threadIdx.x;
  if (ch >= channels)
    return;
  float sum = 0.0f;
  for (int o = 0; o < outer; o++)
    sum += dy[(size_t) o * channels + ch];
  dbias[ch] += sum;
}

/* dy (outer, channels, inner) -> dbias (channels) +=: one block per channel
 * sums its outer * inner values. */
static __global__ void
bias_backward_planes_kernel (const float *dy, float *dbias, int outer, int channels, int inner)
{
  __shared__ float warp_sums[LAM_CUDA_THREADS / LAM_CUDA_WARP];
  int ch = blockIdx.x;
  size_t count = (size_t) outer * inner;
  float sum = 0.0f;
  for (size_t e = threadIdx.x; e < count; e += blockDim.x) {
    size_t o = e / (size_t) inner, i = e % (size_t) inner;
    sum += dy[(o * channels + ch) * inner + i];
  }
  sum = lam_cuda_warp_sum (sum);
  if (threadIdx.x % LAM_CUDA_WARP == 0)
    warp_sums[threadIdx.x / LAM_CUDA_WARP] = sum;
  __syncthreads ();
  if (threadIdx.x == 0) {
    float total = 0.0f;
    for (int w = 0; w < LAM_CUDA_THREADS / LAM_CUDA_WARP; w++)
      total += warp_sums[w];
    dbias[ch] += total;
  }
}

// dbias (channels) += sum over outer and inner of dy (outer, channels, inner)
void
lam_cuda_bias_backward (LamBackend *self, const float *dy, float *dbias, int outer, int channels,
                        int inner)
{
  if (outer <= 0 || channels <= 0 || inner <= 0)
    return;
  cudaStream_t stream = lam_cuda_context (self)->stream;
  if (inner == 1)
    bias_backward_rows_kernel<<<(channels + LAM_CUDA_THREADS - 1) / LAM_CUDA_THREADS,
                                LAM_CUDA_THREADS, 0, stream>>> (dy, dbias, outer, channels);
  else
    bias_backward_planes_kernel<<<channels, LAM_CUDA_THREADS, 0, stream>>> (dy, dbias, outer,
                                                                            channels, inner);
  LAM_CUDA_LAUNCHED (self, "bias_backward");
}
