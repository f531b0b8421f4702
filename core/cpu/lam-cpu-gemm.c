/* lam-cpu-gemm.c: row-major products, the AVX-512 or AVX2 kernels where
 * they apply and OpenBLAS elsewhere, large ones split over the threads; a
 * product whose A is mostly zeros (behind a ReLU) sums over its nonzero
 * entries only (lam_cpu_avx2_sgemm_sparse).
 */
#include <cblas.h>

#include "lam-cpu-private.h"

/* One thread's product: the kernels of isa where they apply, else
 * OpenBLAS. */
void
lam_cpu_sgemm (CpuIsa isa, int trans_a, int trans_b, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
#ifdef LAM_CPU_HAVE_AVX2
  // A ReLU's outputs or a gradient behind one: mostly zeros, which the sparse sums skip.
  if ((isa == CPU_ISA_AVX2 || isa == CPU_ISA_AVX512) &&
      lam_cpu_avx2_sgemm_sparse (trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                                 isa == CPU_ISA_AVX512))
    return;
#endif
#ifdef LAM_CPU_HAVE_AVX512
  if (isa == CPU_ISA_AVX512 &&
      lam_cpu_avx512_sgemm (trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
    return;
#endif
#ifdef LAM_CPU_HAVE_AVX2
  if (isa == CPU_ISA_AVX2 &&
      lam_cpu_avx2_sgemm (trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
    return;
#endif
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

gboolean
lam_cpu_sgemm_nt_bias_relu (CpuIsa isa, int m, int n, int k, const float *a, int lda,
                            const float *b, int ldb, const float *bias, float *c, float *act,
                            int ldc, gboolean stream)
{
#ifdef LAM_CPU_HAVE_AVX512
  // lam_cpu_sgemm's choice: the sums over nonzero entries first, then the NT kernel.
  if (isa == CPU_ISA_AVX512 && lam_cpu_avx512_nt_by_transposes (n, k)) {
    if (lam_cpu_avx2_sgemm_sparse (0, 1, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc, TRUE))
      return FALSE;
    lam_cpu_avx512_sgemm_nt_bias_relu (m, n, k, a, lda, b, ldb, bias, c, act, ldc, stream);
    return TRUE;
  }
#endif
  lam_cpu_sgemm (isa, 0, 1, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
  return FALSE;
}

/* y (cols, rows) = x (rows, cols)ᵀ by the SIMD kernels of isa (AVX2 or
 * AVX-512; the callers keep the generic backend on untransposed paths). */
void
lam_cpu_transpose (CpuIsa isa, const float *x, size_t ldx, float *y, size_t ldy, int rows, int cols)
{
#ifdef LAM_CPU_HAVE_AVX512
  if (isa == CPU_ISA_AVX512) {
    lam_cpu_avx512_transpose (x, ldx, y, ldy, rows, cols);
    return;
  }
#endif
#ifdef LAM_CPU_HAVE_AVX2
  g_assert (isa != CPU_ISA_GENERIC);
  lam_cpu_avx2_transpose (x, ldx, y, ldy, rows, cols);
#else
  g_assert_not_reached ();
#endif
}

typedef struct
{
  CpuIsa isa;
  int trans_a, trans_b, m, n, k;
  float alpha;
  const float *a;
  int lda;
  const float *b;
  int ldb;
  float beta;
  float *c;
  int ldc;
  GemmSplit split;
} GemmJob;

gboolean
lam_cpu_gemm_split_range (GemmSplit split, int part, int m, int n, int *lo, int *hi)
{
  *lo = part * split.chunk;
  *hi = MIN (*lo + split.chunk, split.split_n ? n : m);
  return *lo < *hi;
}

void
lam_cpu_gemm_block (CpuIsa isa, gboolean split_n, int lo, int hi, int trans_a, int trans_b, int m,
                    int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                    float beta, float *c, int ldc)
{
  if (split_n)
    // C[:, lo:hi] = op(A) · op(B)[:, lo:hi]
    lam_cpu_sgemm (isa, trans_a, trans_b, m, hi - lo, k, alpha, a, lda,
                   b + (trans_b ? (size_t) lo * ldb : (size_t) lo), ldb, beta, c + lo, ldc);
  else
    // C[lo:hi, :] = op(A)[lo:hi, :] · op(B)
    lam_cpu_sgemm (isa, trans_a, trans_b, hi - lo, n, k, alpha,
                   a + (trans_a ? (size_t) lo : (size_t) lo * lda), lda, b, ldb, beta,
                   c + (size_t) lo * ldc, ldc);
}

static void
gemm_part (int part, void *data)
{
  const GemmJob *j = data;
  int lo, hi;
  if (lam_cpu_gemm_split_range (j->split, part, j->m, j->n, &lo, &hi))
    lam_cpu_gemm_block (j->isa, j->split.split_n, lo, hi, j->trans_a, j->trans_b, j->m, j->n, j->k,
                        j->alpha, j->a, j->lda, j->b, j->ldb, j->beta, j->c, j->ldc);
}

/* From the context's gemm_parallel_flops on, a product is split; from a quarter of that,
 * only when one of its matrices is larger than a core's own cache (a
 * CNN's first linear layer, 3136×128 floats), where each thread then works
 * on half of it. Below, the thread that made the operands keeps them in
 * its cache for the next layer. */
#define GEMM_CACHE_BYTES (1 << 20)

static gboolean
gemm_worth_splitting (double parallel_flops, int m, int n, int k)
{
  double flops = 2.0 * m * n * (double) k;
  double largest = sizeof (float) * MAX (MAX ((double) m * k, (double) k * n), (double) m * n);
  return flops >= parallel_flops || (flops >= parallel_flops / 4 && largest > GEMM_CACHE_BYTES);
}

/* Large products split C into row blocks (contiguous in memory), or
 * column blocks when it has too few rows, in multiples of 16. */
static GemmSplit
split_product (const CpuContext *ctx, int m, int n, int k, gboolean split_n)
{
  int parts = ctx->n_threads;
  int side = split_n ? n : m;
  parts = MIN (parts, side / 16);
  if (parts <= 1 || !gemm_worth_splitting (lam_cpu_gemm_parallel_flops (ctx), m, n, k))
    return (GemmSplit){ 1, split_n, side };
  int chunk = ((side + parts - 1) / parts + 15) / 16 * 16;
  return (GemmSplit){ (side + chunk - 1) / chunk, split_n, chunk };
}

GemmSplit
lam_cpu_gemm_split (LamBackend *self, int m, int n, int k)
{
  CpuContext *ctx = cpu_context (self);
  return split_product (ctx, m, n, k, m < 32 * ctx->n_threads);
}

GemmSplit
lam_cpu_gemm_split_columns (LamBackend *self, int m, int n, int k)
{
  CpuContext *ctx = cpu_context (self);
  GemmSplit by_columns = split_product (ctx, m, n, k, TRUE);
  return by_columns.parts > 1 ? by_columns : lam_cpu_gemm_split (self, m, n, k);
}

// c (m, n) = alpha * op(a) (m, k) · op(b) (k, n) + beta * c
void
lam_cpu_gemm (LamBackend *self, int trans_a, int trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0) {
    // OpenBLAS rejects lda < 1 for an empty inner dimension; the product is 0.
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++)
        c[(size_t) i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(size_t) i * ldc + j];
    return;
  }

  CpuContext *ctx = cpu_context (self);
  GemmSplit split = lam_cpu_gemm_split (self, m, n, k);
  if (split.parts <= 1) {
    lam_cpu_sgemm (ctx->isa, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  GemmJob job = { ctx->isa, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, split };
  lam_cpu_threads_run (ctx->pool, split.parts, gemm_part, &job);
}
