/* bias.cu: adding a per-channel bias and its gradient. */
#include "lam-backend-cuda-private.h"

// y (outer, channels, inner) += bias (channels)
template <typename Index>
static __global__ void
bias_add_kernel (float *y, const float *bias, Index n, int channels, int inner)
{
  LAM_CUDA_FOR_EACH_AS (Index, i, n)
    y[i] += bias[(i / inner) % channels];
}

// y (outer, channels, inner) += bias (channels)
void
lam_cuda_bias_add (LamBackend *self, float *y, const float *bias, int outer, int channels,
                   int inner)
{
  size_t n = (size_t) outer * channels * inner;
  if (n == 0)
    return;
  unsigned blocks = lam_cuda_blocks (self, n);
  cudaStream_t stream = lam_cuda_context (self)->stream;
  if (lam_cuda_fits_32_bits (self, n))
    bias_add_kernel<unsigned><<<blocks, LAM_CUDA_THREADS, 0, stream>>> (y, bias, (unsigned) n,
                                                                       channels, inner);
  else
    bias_add_kernel<size_t><<<blocks, LAM_CUDA_THREADS, 0, stream>>> (y, bias, n, channels,
                                                                     inner);
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

/* dy (outer, channels, inner) -> partials (channels, splits): block (ch,
 * split) sums channel ch over its share of the outer rows; with one split,
 * straight into dbias (channels) +=. One block per channel left a
 * 32-channel layer 32 blocks, each a long chain of dependent loads: 207 µs
 * for a CIFAR-10 batch's plane on an H200. Each thread steps through its
 * (o, i) by adding, not dividing. */
static __global__ void
bias_backward_planes_kernel (const float *dy, float *partials, float *dbias, int outer,
                             int channels, int inner)
{
  __shared__ float warp_sums[LAM_CUDA_THREADS / LAM_CUDA_WARP];
  int ch = blockIdx.x, split = blockIdx.y, splits = gridDim.y;
  int o_end = (int) ((long long) outer * (split + 1) / splits);
  int step_o = (int) blockDim.x / inner, step_i = (int) blockDim.x % inner;
  int o = (int) ((long long) outer * split / splits) + (int) threadIdx.x / inner;
  int i = (int) threadIdx.x % inner;
  float sum = 0.0f;
  while (o < o_end) {
    sum += dy[((size_t) o * channels + ch) * inner + i];
    o += step_o;
    i += step_i;
    if (i >= inner) {
      i -= inner;
      o++;
    }
  }
  sum = lam_cuda_warp_sum (sum);
  if (threadIdx.x % LAM_CUDA_WARP == 0)
    warp_sums[threadIdx.x / LAM_CUDA_WARP] = sum;
  __syncthreads ();
  if (threadIdx.x == 0) {
    float total = 0.0f;
    for (int w = 0; w < LAM_CUDA_THREADS / LAM_CUDA_WARP; w++)
      total += warp_sums[w];
    if (splits == 1)
      dbias[ch] += total;
    else
      partials[(size_t) ch * splits + split] = total;
  }
}

// partials (channels, splits) -> dbias (channels) +=, in split order
static __global__ void
add_partials_kernel (const float *partials, float *dbias, int channels, int splits)
{
  int ch = blockIdx.x * blockDim.x + threadIdx.x;
  if (ch >= channels)
    return;
  float sum = 0.0f;
  for (int s = 0; s < splits; s++)
    sum += partials[(size_t) ch * splits + s];
  dbias[ch] += sum;
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
  else {
    /* Blocks enough to fill the SMs several times over, each with a few
     * thousand values at least, as many partial sums as there is room for
     * and no more splits than a grid's second dimension takes. */
    float *partials = lam_cuda_context (self)->partials;
    size_t values = (size_t) outer * inner;
    size_t splits = (size_t) lam_cuda_context (self)->sm_count * 8 / channels;
    if (splits > values / 4096)
      splits = values / 4096;
    if (splits > (size_t) outer)
      splits = outer;
    if (splits > LAM_CUDA_PARTIALS / (size_t) channels)
      splits = LAM_CUDA_PARTIALS / (size_t) channels;
    if (splits > 65535)
      splits = 65535;
    if (splits < 1)
      splits = 1;
    bias_backward_planes_kernel<<<dim3 ((unsigned) channels, (unsigned) splits), LAM_CUDA_THREADS,
                                  0, stream>>> (dy, partials, dbias, outer, channels, inner);
    if (splits > 1 && LAM_CUDA_LAUNCHED (self, "bias_backward"))
      add_partials_kernel<<<(channels + LAM_CUDA_THREADS - 1) / LAM_CUDA_THREADS,
                            LAM_CUDA_THREADS, 0, stream>>> (partials, dbias, channels,
                                                            (int) splits);
  }
  LAM_CUDA_LAUNCHED (self, "bias_backward");
}
