/* gemm.cu: row-major products through cuBLAS, which is column-major.
 *
 * A row-major (rows, cols) matrix with leading dimension ld is, read
 * column-major, its transpose with the same ld. So C = op(A) · op(B)
 * row-major is Cᵀ = op(B)ᵀ · op(A)ᵀ column-major: cuBLAS gets B before A,
 * n before m, and each operand's own transposition flag.
 */
#include "lam-backend-cuda-private.h"

// c (m, n) = beta * c: the product of an empty inner dimension
static __global__ void
scale_matrix_kernel (float *c, int m, int n, int ldc, float beta)
{
  LAM_CUDA_FOR_EACH (i, (size_t) m * n) {
    float *x = c + (i / n) * (size_t) ldc + i % n;
    *x = beta == 0.0f ? 0.0f : beta * *x;
  }
}

static bool
scale_instead (LamBackend *self, int m, int n, int k, float beta, float *c, int ldc, int count,
               long long stride_c)
{
  if (k > 0)
    return false;
  /* cuBLAS refuses a leading dimension below 1 for an empty inner
   * dimension; the product is 0 and only beta * C is left. */
  for (int i = 0; i < count; i++) {
    scale_matrix_kernel<<<lam_cuda_blocks (self, (size_t) m * n), LAM_CUDA_THREADS, 0,
                          lam_cuda_context (self)->stream>>> (c + i * stride_c, m, n, ldc, beta);
    if (!LAM_CUDA_LAUNCHED (self, "gemm"))
      break;
  }
  return true;
}

// c (m, n) = alpha * op(a) (m, k) · op(b) (k, n) + beta * c
void
lam_cuda_gemm (LamBackend *self, int trans_a, int trans_b, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
  if (m <= 0 || n <= 0 || scale_instead (self, m, n, k, beta, c, ldc, 1, 0))
    return;
  lam_cuda_blas_ok (self,
                    cublasSgemm (lam_cuda_context (self)->blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                 trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb, a,
                                 lda, &beta, c, ldc),
                    "cublasSgemm");
}

// c_i (m, n) = alpha * op(a_i) (m, k) · op(b_i) (k, n) + beta * c_i for i < count
void
lam_cuda_gemm_batched (LamBackend *self, int trans_a, int trans_b, int m, int n, int k,
                       float alpha, const float *a, int lda, long long stride_a, const float *b,
                       int ldb, long long stride_b, float beta, float *c, int ldc,
                       long long stride_c, int count)
{
  if (m <= 0 || n <= 0 || count <= 0 ||
      scale_instead (self, m, n, k, beta, c, ldc, count, stride_c))
    return;
  lam_cuda_blas_ok (self,
                    cublasSgemmStridedBatched (lam_cuda_context (self)->blas,
                                               trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                               trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k,
                                               &alpha, b, ldb, stride_b, a, lda, stride_a, &beta,
                                               c, ldc, stride_c, count),
                    "cublasSgemmStridedBatched");
}
