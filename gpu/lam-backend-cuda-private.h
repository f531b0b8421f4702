/* lam-backend-cuda-private.h: what the CUDA module's files share.
 *
 * Every op runs on the backend's one stream, so ops follow each other in
 * the order the engine calls them and only download and synchronize wait
 * for the GPU. A failed CUDA or cuBLAS call never aborts: the first failure
 * is kept in the context and logged once, the op gives up, and the engine
 * sees wrong numbers (a NaN loss, say) rather than a crash.
 */
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#include "lam-backend.h"

#define LAM_CUDA_THREADS 256
#define LAM_CUDA_WARP 32

typedef struct
{
  int device;
  int sm_count;
  size_t total_memory; /* bytes */
  cudaStream_t stream; /* owned */
  cublasHandle_t blas; /* owned, bound to stream */

  /* Pinned staging for uploads, two halves: the GPU copies out of one
   * while the host fills the other, and the caller's buffer is free as
   * soon as upload returns. NULL when pinned memory was refused. */
  unsigned char *staging[2];
  cudaEvent_t staging_free[2];
  size_t staging_bytes; /* per half */
  int staging_next;

  /* LAM_CUDA_PARTIALS floats for reductions in two passes: a wide first
   * pass writes its partial sums here and a second adds them in a fixed
   * order, so results do not depend on which block finished first. */
  float *partials;

  unsigned n_errors;
  char first_error[256];
} CudaContext;

#define LAM_CUDA_PARTIALS 65536

static inline CudaContext *
lam_cuda_context (LamBackend *self)
{
  return (CudaContext *) self->context;
}

/* Each returns true when status is a success, and otherwise records the
 * failure of `what` (the first one is logged). */
bool lam_cuda_ok (LamBackend *self, cudaError_t status, const char *what);
bool lam_cuda_blas_ok (LamBackend *self, cublasStatus_t status, const char *what);
/* Records a failure that is no CUDA error (an argument the op cannot use). */
void lam_cuda_fail (LamBackend *self, const char *format, ...)
  __attribute__ ((format (printf, 2, 3)));

/* Checks the kernel launch just made. */
#define LAM_CUDA_LAUNCHED(self, what) lam_cuda_ok ((self), cudaGetLastError (), (what))

/* Blocks for a grid-stride loop over n items, LAM_CUDA_THREADS each. */
unsigned lam_cuda_blocks (LamBackend *self, size_t n);

#define LAM_CUDA_FOR_EACH(i, n)                                                                    \
  for (size_t i = (size_t) blockIdx.x * blockDim.x + threadIdx.x; i < (size_t) (n);              \
       i += (size_t) gridDim.x * blockDim.x)

/* The same loop with the index in Index: a kernel that splits its index
 * into coordinates runs a 32-bit one where the loop allows it, since a
 * 64-bit division is many instructions on the GPU. With that and a thread
 * per kernel position instead of per column entry, im2col's average call
 * in a CIFAR-10 step on an H200 fell from 144 to 40 µs. */
#define LAM_CUDA_FOR_EACH_AS(Index, i, n)                                                          \
  for (Index i = (Index) blockIdx.x * blockDim.x + threadIdx.x; i < (Index) (n);                   \
       i += (Index) gridDim.x * blockDim.x)

/* Whether LAM_CUDA_FOR_EACH_AS (unsigned, ...) over n items in
 * lam_cuda_blocks (self, n) blocks never wraps. */
bool lam_cuda_fits_32_bits (LamBackend *self, size_t n);

static __device__ __forceinline__ float
lam_cuda_warp_sum (float v)
{
  for (int offset = LAM_CUDA_WARP / 2; offset > 0; offset /= 2)
    v += __shfl_xor_sync (0xffffffffu, v, offset);
  return v;
}

static __device__ __forceinline__ float
lam_cuda_warp_max (float v)
{
  for (int offset = LAM_CUDA_WARP / 2; offset > 0; offset /= 2)
    v = fmaxf (v, __shfl_xor_sync (0xffffffffu, v, offset));
  return v;
}

/* ---- the ops, one file each (their shapes are in lam-backend.h) ---- */

// lam-backend-cuda.cu
void lam_cuda_fill (LamBackend *self, float *x, size_t n, float value);

// gemm.cu
void lam_cuda_gemm (LamBackend *self, int trans_a, int trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta, float *c,
                    int ldc);
/* The row-major gemm `count` times, the i-th product reading a + i *
 * stride_a, b + i * stride_b and writing c + i * stride_c (a stride may be
 * 0 to share a matrix). */
void lam_cuda_gemm_batched (LamBackend *self, int trans_a, int trans_b, int m, int n, int k,
                            float alpha, const float *a, int lda, long long stride_a,
                            const float *b, int ldb, long long stride_b, float beta, float *c,
                            int ldc, long long stride_c, int count);

// bias.cu
void lam_cuda_bias_add (LamBackend *self, float *y, const float *bias, int outer, int channels,
                        int inner);
void lam_cuda_bias_backward (LamBackend *self, const float *dy, float *dbias, int outer,
                             int channels, int inner);

// activation.cu
void lam_cuda_activation_forward (LamBackend *self, LamActivation kind, float alpha,
                                  const float *x, float *y, size_t n);
void lam_cuda_activation_backward (LamBackend *self, LamActivation kind, float alpha,
                                   const float *x, const float *y, const float *dy, float *dx,
                                   size_t n);

// linear.cu
void lam_cuda_linear_activation_forward (LamBackend *self, const float *x, const float *weight,
                                         const float *bias, float *y, float *act_y, int batch,
                                         int in, int out, LamActivation kind, float alpha);
void lam_cuda_linear_activation_backward (LamBackend *self, const float *x, const float *weight,
                                          const float *y, const float *act_y, const float *dact_y,
                                          float *dy, float *dweight, float *dbias, float *dx,
                                          int batch, int in, int out, LamActivation kind,
                                          float alpha);

// im2col.cu
void lam_cuda_im2col (LamBackend *self, const float *im, int batch, int c, int h, int w, int kh,
                      int kw, int stride, int pad, float *col);
void lam_cuda_col2im (LamBackend *self, const float *col, int batch, int c, int h, int w, int kh,
                      int kw, int stride, int pad, float *im);
void lam_cuda_swap_axes (LamBackend *self, const float *x, float *y, int a, int b, int inner);

// conv2d.cu
void lam_cuda_conv2d_forward (LamBackend *self, const float *x, const float *weight,
                              const float *bias, float *y, int batch, int c, int h, int w,
                              int out_c, int kh, int kw, int stride, int pad, float *scratch,
                              size_t scratch_floats);
void lam_cuda_conv2d_backward (LamBackend *self, const float *x, const float *weight,
                               const float *dy, float *dweight, float *dbias, float *dx,
                               int batch, int c, int h, int w, int out_c, int kh, int kw,
                               int stride, int pad, float *scratch, size_t scratch_floats);
void lam_cuda_conv2d_maxpool2_forward (LamBackend *self, const float *x, const float *weight,
                                       const float *bias, float *y, float *pooled,
                                       int32_t *argmax, int batch, int c, int h, int w, int out_c,
                                       int kh, int kw, int stride, int pad, float *scratch,
                                       size_t scratch_floats);
void lam_cuda_conv2d_maxpool2_backward (LamBackend *self, const float *x, const float *weight,
                                        const float *dpooled, const int32_t *argmax, float *dy,
                                        float *dweight, float *dbias, float *dx, int batch, int c,
                                        int h, int w, int out_c, int kh, int kw, int stride,
                                        int pad, float *scratch, size_t scratch_floats);

// pool.cu
void lam_cuda_maxpool_forward (LamBackend *self, const float *x, float *y, int32_t *argmax,
                               int planes, int h, int w, int k, int stride, int pad);
void lam_cuda_maxpool_backward (LamBackend *self, const float *dy, const int32_t *argmax,
                                float *dx, int planes, int h, int w, int oh, int ow);
void lam_cuda_avgpool_forward (LamBackend *self, const float *x, float *y, int planes, int h,
                               int w, int k, int stride, int pad);
void lam_cuda_avgpool_backward (LamBackend *self, const float *dy, float *dx, int planes, int h,
                                int w, int k, int stride, int pad);

// softmax.cu
void lam_cuda_softmax_forward (LamBackend *self, const float *x, float *y, int rows, int cols,
                               int log);
void lam_cuda_softmax_backward (LamBackend *self, const float *y, const float *dy, float *dx,
                                int rows, int cols, int log);

// dropout.cu
void lam_cuda_dropout_forward (LamBackend *self, const float *x, float *y, float *mask, size_t n,
                               double p, uint64_t seed);
void lam_cuda_dropout_backward (LamBackend *self, const float *dy, const float *mask, float *dx,
                                size_t n);

// loss.cu
void lam_cuda_softmax_xent (LamBackend *self, const float *x, const int32_t *labels, int rows,
                            int cols, float grad_scale, float *dx, float *loss_acc);
void lam_cuda_nll (LamBackend *self, const float *x, const int32_t *labels, int rows, int cols,
                   float grad_scale, float *dx, float *loss_acc);
void lam_cuda_mse (LamBackend *self, const float *x, const int32_t *labels, int rows, int cols,
                   float grad_scale, float *dx, float *loss_acc);
void lam_cuda_mse_targets (LamBackend *self, const float *x, const float *targets, int rows,
                           int cols, float grad_scale, float *dx, float *loss_acc);
void lam_cuda_l1_targets (LamBackend *self, const float *x, const float *targets, int rows,
                          int cols, float grad_scale, float *dx, float *loss_acc);
void lam_cuda_argmax_rows (LamBackend *self, const float *x, int rows, int cols, int32_t *out);
void lam_cuda_count_correct (LamBackend *self, const float *x, const int32_t *labels, int rows,
                             int cols, float *correct_acc);

// optim.cu
void lam_cuda_sgd_update (LamBackend *self, float *params, const float *grads,
                          float *momentum_buf, size_t n, float lr, float momentum,
                          float dampening, float weight_decay, int nesterov, int first_step);
void lam_cuda_batchnorm_forward (LamBackend *self, const float *x, const float *gamma,
                                 const float *beta, float *running_mean, float *running_var,
                                 float *batches_tracked, float *saved, float *y, int outer,
                                 int channels, int inner, int training, double momentum,
                                 double eps);
void lam_cuda_batchnorm_backward (LamBackend *self, const float *x, const float *dy,
                                  const float *gamma, const float *saved, float *dgamma,
                                  float *dbeta, float *dx, int outer, int channels, int inner,
                                  int training);
void lam_cuda_adam_update (LamBackend *self, float *params, const float *grads, float *m,
                           float *v, size_t n, float lr, float beta1, float beta2, float eps,
                           float weight_decay, int decoupled, int step);
void lam_cuda_l1_penalty (LamBackend *self, const float *params, float *grads, size_t n,
                          float strength);
