/* lam-cpu-avx512.c: the CPU backend's AVX-512 kernels.
 *
 * Every function carries its own target attribute, so this file builds
 * with the project's flags for any x86-64 and the backend decides at run
 * time whether to call it. The products of a small network's training step
 * are small (a batch of 32 rows, or one image's 196 pixels), and for them
 * these plain register-blocked kernels, which pack nothing, run about as
 * fast as OpenBLAS's own AVX-512 kernels and twice as fast as its AVX2
 * ones, which it uses wherever OPENBLAS_CORETYPE pins them or it does not
 * know the CPU.
 */
#include "lam-cpu-avx512.h"
#include "lam-cpu-scratch.h"

#ifdef LAM_CPU_HAVE_AVX512

#include <glib.h>
#include <immintrin.h>
#include <string.h>

/* Not instrumented by the sanitizers, for the reason lam-cpu-avx2.c gives. */
#define AVX512_TARGETS "avx512f,avx512vl,avx512bw,avx512dq"
#define AVX512 __attribute__ ((target (AVX512_TARGETS), no_sanitize_address, no_sanitize_undefined))
/* One target list: clang keeps only the last of two target attributes. */
#define AVX512_PRFCHW                                                                              \
  __attribute__ ((target (AVX512_TARGETS ",prfchw"), no_sanitize_address, no_sanitize_undefined))
#define INLINE static inline __attribute__ ((always_inline))

/* The first n of 16 lanes (none for n <= 0, all for n >= 16). */
INLINE __mmask16
lanes (ptrdiff_t n)
{
  return n >= 16 ? (__mmask16) 0xffff : n <= 0 ? 0 : (__mmask16) ((1u << n) - 1);
}

/* Lanes [lo, hi) of 16, clamped. */
INLINE __mmask16
lane_range (int lo, int hi)
{
  return (__mmask16) (lanes (hi) & ~lanes (lo));
}

/* p + offset floats, computed on addresses: a masked access may start
 * before or after the array as long as its enabled lanes fall inside. */
INLINE const float *
shifted (const float *p, ptrdiff_t offset)
{
  return (const float *) ((uintptr_t) p + (uintptr_t) (offset * (ptrdiff_t) sizeof (float)));
}

INLINE float *
shifted_out (float *p, ptrdiff_t offset)
{
  return (float *) ((uintptr_t) p + (uintptr_t) (offset * (ptrdiff_t) sizeof (float)));
}

/* ---- gemm ---- */

/* A C tile of MR rows and NV vectors of 16 columns, the last `cols` of
 * which are valid, from A(i, p) = a[i * a_row + p * a_k] broadcast against
 * rows B(p, :) = b + p * ldb: NN has a_row = lda, a_k = 1; TN the reverse.
 * MR * NV accumulators stay in registers for the whole of k. */
#define BCAST_TILE(MR, NV)                                                                         \
  AVX512 static void bcast_tile_##MR##_##NV (ptrdiff_t k, const float *a, ptrdiff_t a_row,       \
                                             ptrdiff_t a_k, const float *b, ptrdiff_t ldb,         \
                                             int cols, float alpha, float beta,                    \
                                             const float *row_bias, float *c, ptrdiff_t ldc)       \
  {                                                                                                \
    __m512 acc[MR][NV];                                                                            \
    __mmask16 mask[NV];                                                                            \
    _Pragma ("GCC unroll 8") for (int i = 0; i < MR; i++)                                         \
      _Pragma ("GCC unroll 4") for (int v = 0; v < NV; v++) acc[i][v] =                           \
        row_bias != NULL ? _mm512_set1_ps (row_bias[i]) : _mm512_setzero_ps ();                   \
    _Pragma ("GCC unroll 4") for (int v = 0; v < NV; v++) mask[v] = lanes (cols - 16 * v);        \
    for (ptrdiff_t p = 0; p < k; p++) {                                                            \
      const float *bp = b + p * ldb;                                                               \
      const float *ap = a + p * a_k;                                                               \
      __m512 bv[NV];                                                                               \
      _Pragma ("GCC unroll 4") for (int v = 0; v < NV; v++) bv[v] =                               \
        _mm512_maskz_loadu_ps (mask[v], bp + 16 * v);                                              \
      _Pragma ("GCC unroll 8") for (int i = 0; i < MR; i++)                                       \
      {                                                                                            \
        __m512 av = _mm512_set1_ps (ap[i * a_row]);                                                \
        _Pragma ("GCC unroll 4") for (int v = 0; v < NV; v++) acc[i][v] =                         \
          _mm512_fmadd_ps (av, bv[v], acc[i][v]);                                                  \
      }                                                                                            \
    }                                                                                              \
    __m512 va = _mm512_set1_ps (alpha), vb = _mm512_set1_ps (beta);                                \
    _Pragma ("GCC unroll 8") for (int i = 0; i < MR; i++)                                         \
      _Pragma ("GCC unroll 4") for (int v = 0; v < NV; v++)                                       \
    {                                                                                              \
      float *cp = c + i * ldc + 16 * v;                                                            \
      __m512 r = _mm512_mul_ps (va, acc[i][v]);                                                    \
      if (beta != 0.0f)                                                                            \
        r = _mm512_fmadd_ps (vb, _mm512_maskz_loadu_ps (mask[v], cp), r);                         \
      _mm512_mask_storeu_ps (cp, mask[v], r);                                                      \
    }                                                                                              \
  }

BCAST_TILE (8, 3)
BCAST_TILE (4, 3)
BCAST_TILE (2, 3)
BCAST_TILE (1, 3)
BCAST_TILE (8, 2)
BCAST_TILE (4, 2)
BCAST_TILE (2, 2)
BCAST_TILE (1, 2)
BCAST_TILE (8, 1)
BCAST_TILE (4, 1)
BCAST_TILE (2, 1)
BCAST_TILE (1, 1)

typedef void (*BcastTile) (ptrdiff_t, const float *, ptrdiff_t, ptrdiff_t, const float *, ptrdiff_t,
                           int, float, float, const float *, float *, ptrdiff_t);

static const BcastTile bcast_tiles[4][3] = {
  { bcast_tile_8_1, bcast_tile_8_2, bcast_tile_8_3 },
  { bcast_tile_4_1, bcast_tile_4_2, bcast_tile_4_3 },
  { bcast_tile_2_1, bcast_tile_2_2, bcast_tile_2_3 },
  { bcast_tile_1_1, bcast_tile_1_2, bcast_tile_1_3 },
};

/* Column blocks of 48 outer, row blocks of 8 inner: a block of B (k, 48)
 * is reused from cache by every row block. With row_bias, the accumulators
 * start from it (times 1/alpha never matters: alpha is 1 there). */
AVX512 static void
gemm_bcast (int m, int n, int k, float alpha, const float *a, ptrdiff_t a_row, ptrdiff_t a_k,
            const float *b, ptrdiff_t ldb, float beta, const float *row_bias, float *c,
            ptrdiff_t ldc)
{
  for (int j = 0; j < n; j += 48) {
    int cols = n - j < 48 ? n - j : 48;
    int nv = (cols + 15) / 16;
    for (int i = 0; i < m;) {
      int left = m - i;
      int which = left >= 8 ? 0 : left >= 4 ? 1 : left >= 2 ? 2 : 3;
      bcast_tiles[which][nv - 1] (k, a + i * a_row, a_row, a_k, b + j, ldb, cols, alpha, beta,
                                  row_bias != NULL ? row_bias + i : NULL,
                                  c + (ptrdiff_t) i * ldc + j, ldc);
      i += 8 >> which;
    }
  }
}

/* NT: C(i, j) = dot (row i of A, row j of B), vectorised along k, where
 * both rows are contiguous; MR * NR partial sums are reduced at the end. */
#define DOT_TILE(MR, NR)                                                                           \
  AVX512 static void dot_tile_##MR##_##NR (ptrdiff_t k, const float *a, ptrdiff_t lda,            \
                                           const float *b, ptrdiff_t ldb, float alpha, float beta, \
                                           float *c, ptrdiff_t ldc)                                \
  {                                                                                                \
    __m512 acc[MR][NR];                                                                            \
    _Pragma ("GCC unroll 8") for (int i = 0; i < MR; i++)                                         \
      _Pragma ("GCC unroll 8") for (int j = 0; j < NR; j++) acc[i][j] = _mm512_setzero_ps ();     \
    for (ptrdiff_t p = 0; p < k; p += 16) {                                                        \
      __mmask16 mk = lanes (k - p);                                                                \
      __m512 av[MR], bv[NR];                                                                       \
      _Pragma ("GCC unroll 8") for (int i = 0; i < MR; i++) av[i] =                               \
        _mm512_maskz_loadu_ps (mk, a + i * lda + p);                                               \
      _Pragma ("GCC unroll 8") for (int j = 0; j < NR; j++) bv[j] =                               \
        _mm512_maskz_loadu_ps (mk, b + j * ldb + p);                                               \
      _Pragma ("GCC unroll 8") for (int i = 0; i < MR; i++)                                       \
        _Pragma ("GCC unroll 8") for (int j = 0; j < NR; j++) acc[i][j] =                         \
        _mm512_fmadd_ps (av[i], bv[j], acc[i][j]);                                                 \
    }                                                                                              \
    _Pragma ("GCC unroll 8") for (int i = 0; i < MR; i++)                                         \
      _Pragma ("GCC unroll 8") for (int j = 0; j < NR; j++)                                       \
    {                                                                                              \
      float r = alpha * _mm512_reduce_add_ps (acc[i][j]);                                          \
      float *cp = c + i * ldc + j;                                                                 \
      *cp = beta != 0.0f ? r + beta * *cp : r;                                                     \
    }                                                                                              \
  }

DOT_TILE (4, 6)
DOT_TILE (4, 1)
DOT_TILE (1, 6)
DOT_TILE (1, 1)

AVX512 static void
gemm_dot_block (int m, int n, int k, float alpha, const float *a, ptrdiff_t lda, const float *b,
                ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc)
{
  int j = 0;
  for (; j + 6 <= n; j += 6) {
    int i = 0;
    for (; i + 4 <= m; i += 4)
      dot_tile_4_6 (k, a + i * lda, lda, b + j * ldb, ldb, alpha, beta, c + i * ldc + j, ldc);
    for (; i < m; i++)
      dot_tile_1_6 (k, a + i * lda, lda, b + j * ldb, ldb, alpha, beta, c + i * ldc + j, ldc);
  }
  for (; j < n; j++) {
    int i = 0;
    for (; i + 4 <= m; i += 4)
      dot_tile_4_1 (k, a + i * lda, lda, b + j * ldb, ldb, alpha, beta, c + i * ldc + j, ldc);
    for (; i < m; i++)
      dot_tile_1_1 (k, a + i * lda, lda, b + j * ldb, ldb, alpha, beta, c + i * ldc + j, ldc);
  }
}

/* Rows longer than this are taken in equal chunks of k (multiples of 16),
 * so that the chunk of A that every column block reads again stays in the
 * core's cache. */
#define DOT_K_BLOCK 1024

AVX512 static void
gemm_dot (int m, int n, int k, float alpha, const float *a, ptrdiff_t lda, const float *b,
          ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc)
{
  int chunks = (k + DOT_K_BLOCK - 1) / DOT_K_BLOCK;
  int kc = ((k + chunks - 1) / chunks + 15) / 16 * 16;
  for (int p = 0; p < k; p += kc)
    gemm_dot_block (m, n, k - p < kc ? k - p : kc, alpha, a + p, lda, b + p, ldb,
                    p == 0 ? beta : 1.0f, c, ldc);
}

/* A linear layer's forward pass, C = A·Bᵀ with A a batch of inputs and B
 * the weights, runs in the dot form at about 60% of the core's peak (each
 * of the m × n sums is reduced across lanes at the end). Cᵀ = B·Aᵀ in the
 * broadcast form runs near the peak, and the transposes of the inputs and
 * of the outputs cost a few percent of that. Taken 48 rows of A at a time,
 * three vectors wide: the broadcast form's widest tile, and room that
 * stays in the core's cache. */
#define GEMM_NT_ROWS 48

/* What lam_cpu_avx512_sgemm_nt_bias_relu adds as Cᵀ is transposed. */
typedef struct
{
  const float *bias;
  float *act;
  int stream;
} NtBiasRelu;

static void transpose_bias_relu (const float *ct, ptrdiff_t ldct, float *c, float *act,
                                 ptrdiff_t ldc, int n, int r, const float *bias, int stream);

AVX512 static void
gemm_nt_by_transposes (int m, int n, int k, float alpha, const float *a, ptrdiff_t lda,
                       const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                       const NtBiasRelu *relu)
{
  int rows = m < GEMM_NT_ROWS ? m : GEMM_NT_ROWS;
  float *at = lam_cpu_thread_scratch ((size_t) k * rows + (size_t) n * rows);
  float *ct = at + (size_t) k * rows;
  for (int i = 0; i < m; i += rows) {
    int r = m - i < rows ? m - i : rows;
    lam_cpu_avx512_transpose (a + (ptrdiff_t) i * lda, lda, at, r, r, k);
    // Cᵀ (n, r) = B (n, k) · Aᵀ (k, r)
    gemm_bcast (n, r, k, alpha, b, ldb, 1, at, r, 0.0f, NULL, ct, r);
    if (relu != NULL)
      transpose_bias_relu (ct, r, c + (ptrdiff_t) i * ldc, relu->act + (ptrdiff_t) i * ldc, ldc, n,
                           r, relu->bias, relu->stream);
    else
      lam_cpu_avx512_transpose (ct, r, c + (ptrdiff_t) i * ldc, ldc, n, r);
  }
}

AVX512 int
lam_cpu_avx512_sgemm (int trans_a, int trans_b, int m, int n, int k, float alpha,
                      const float *a, int lda, const float *b, int ldb, float beta, float *c,
                      int ldc)
{
  if (!trans_a && trans_b && beta == 0.0f && lam_cpu_avx512_nt_by_transposes (n, k))
    gemm_nt_by_transposes (m, n, k, alpha, a, lda, b, ldb, c, ldc, NULL);
  else if (!trans_a && !trans_b)
    // A(i, p) = a[i * lda + p], B(p, :) = b + p * ldb
    gemm_bcast (m, n, k, alpha, a, lda, 1, b, ldb, beta, NULL, c, ldc);
  else if (trans_a && !trans_b)
    // A(i, p) = a[p * lda + i]
    gemm_bcast (m, n, k, alpha, a, 1, lda, b, ldb, beta, NULL, c, ldc);
  else if (!trans_a && trans_b)
    gemm_dot (m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    return 0;
  return 1;
}

AVX512 void
lam_cpu_avx512_sgemm_row_bias (int m, int n, int k, const float *a, int lda, const float *b,
                               int ldb, const float *row_bias, float *c, int ldc)
{
  gemm_bcast (m, n, k, 1.0f, a, lda, 1, b, ldb, 0.0f, row_bias, c, ldc);
}

/* ---- transpose ---- */

/* r[0..15] rows -> r[0..15] columns: pairs, then quads, then 128-bit
 * lanes, then 256-bit halves. */
AVX512 static void
transpose_16x16 (__m512 r[16])
{
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps (r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps (r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps (t[i], t[i + 2], _MM_SHUFFLE (1, 0, 1, 0));
    r[i + 1] = _mm512_shuffle_ps (t[i], t[i + 2], _MM_SHUFFLE (3, 2, 3, 2));
    r[i + 2] = _mm512_shuffle_ps (t[i + 1], t[i + 3], _MM_SHUFFLE (1, 0, 1, 0));
    r[i + 3] = _mm512_shuffle_ps (t[i + 1], t[i + 3], _MM_SHUFFLE (3, 2, 3, 2));
  }
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4 (r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4 (r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4 (r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4 (r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 8; i++) {
    r[i] = _mm512_shuffle_f32x4 (t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4 (t[i], t[i + 8], 0xdd);
  }
}

/* The block two to the right, whose rows the transpose reads next, is
 * asked for while this one is transposed. The sixteen rows, each read a
 * line at a time thousands of bytes apart, are streams the hardware
 * prefetcher does not follow; where the other core has just written them
 * (a batch whose two halves two threads filled, transposed by each for
 * its half of a layer's units), each line waited for its own round trip.
 * A batch of 128 × 784 floats, half of it written by the other core 400
 * ns away: 24 µs instead of 41 (19 with all of it in this core's cache);
 * mlp-b128's epoch on two such cores 0.336-0.340 s against 0.354-0.365
 * (three alternating runs each). */
#define TRANSPOSE_AHEAD 32

// y (cols, rows) = x (rows, cols)ᵀ
AVX512 void
lam_cpu_avx512_transpose (const float *x, size_t ldx, float *y, size_t ldy, int rows, int cols)
{
  for (int i = 0; i < rows; i += 16)
    for (int j = 0; j < cols; j += 16) {
      __m512 r[16];
      __mmask16 in = lanes (cols - j), out = lanes (rows - i);
      if (j + TRANSPOSE_AHEAD < cols)
        for (int q = 0; q < 16 && i + q < rows; q++)
          _mm_prefetch ((const char *) (x + (i + q) * ldx + j + TRANSPOSE_AHEAD), _MM_HINT_T0);
      for (int q = 0; q < 16; q++)
        r[q] = i + q < rows ? _mm512_maskz_loadu_ps (in, x + (i + q) * ldx + j)
                            : _mm512_setzero_ps ();
      transpose_16x16 (r);
      for (int q = 0; q < 16 && j + q < cols; q++)
        _mm512_mask_storeu_ps (y + (j + q) * ldy + i, out, r[q]);
    }
}

/* Cᵀ (n, r) into C (r, n) as gemm_nt_by_transposes ends, adding the bias
 * of C's columns and storing act = max (C, 0) beside C from the same
 * registers: the pass over C that lam-cpu-linear.c's ReLU made after the
 * product read back and wrote again what the transpose had just stored. */
AVX512 static void
transpose_bias_relu (const float *ct, ptrdiff_t ldct, float *c, float *act, ptrdiff_t ldc, int n,
                     int r, const float *bias, int stream)
{
  __m512 zero = _mm512_setzero_ps ();
  for (int u = 0; u < n; u += 16) {
    __mmask16 units = lanes (n - u);
    __m512 b = bias != NULL ? _mm512_maskz_loadu_ps (units, bias + u) : zero;
    for (int i = 0; i < r; i += 16) {
      __m512 t[16];
      __mmask16 rows = lanes (r - i);
      for (int q = 0; q < 16; q++)
        t[q] = u + q < n ? _mm512_maskz_loadu_ps (rows, ct + (ptrdiff_t) (u + q) * ldct + i)
                         : _mm512_setzero_ps ();
      transpose_16x16 (t);
      for (int q = 0; q < 16 && i + q < r; q++) {
        float *cq = c + (ptrdiff_t) (i + q) * ldc + u, *aq = act + (ptrdiff_t) (i + q) * ldc + u;
        // The sum and the maximum of lam_cpu_avx2_bias_relu, the same operands in the same order.
        __m512 v = bias != NULL ? _mm512_add_ps (t[q], b) : t[q];
        if (act != c)
          _mm512_mask_storeu_ps (cq, units, v);
        __m512 f = _mm512_max_ps (v, zero);
        if (stream && units == 0xffff && ((uintptr_t) aq & 63) == 0)
          _mm512_stream_ps (aq, f);
        else
          _mm512_mask_storeu_ps (aq, units, f);
      }
    }
  }
}

AVX512 void
lam_cpu_avx512_sgemm_nt_bias_relu (int m, int n, int k, const float *a, int lda, const float *b,
                                   int ldb, const float *bias, float *c, float *act, int ldc,
                                   int stream)
{
  NtBiasRelu relu = { bias, act, stream };
  gemm_nt_by_transposes (m, n, k, 1.0f, a, lda, b, ldb, c, ldc, &relu);
}

int
lam_cpu_avx512_nt_by_transposes (int n, int k)
{
  return n >= 16 && k >= 16;
}

/* ---- products of a mostly zero A ---- */

/* C(i, cols) = alpha · Σ_t value[t] · B(index[t], cols) + beta · C(i, cols)
 * over one row's count entries, NV vectors of 16 columns of which the
 * first `cols` are valid: lam-cpu-avx2.c's sparse rows (which list the
 * entries), lane for lane the same sums, two of its vectors a register.
 * On Zen 5 each FMA does twice the work of the AVX2 one at the same rate. */
#define SPARSE_ROW(NV)                                                                             \
  AVX512 static void sparse_row_##NV (int count, const int32_t *index, const float *value,         \
                                      const float *b, ptrdiff_t ldb, int cols, float alpha,        \
                                      float beta, float *c)                                        \
  {                                                                                                \
    __m512 acc[NV];                                                                                \
    __mmask16 mask[NV];                                                                            \
    _Pragma ("GCC unroll 8") for (int v = 0; v < NV; v++)                                          \
    {                                                                                              \
      acc[v] = _mm512_setzero_ps ();                                                               \
      mask[v] = lanes (cols - 16 * v);                                                             \
    }                                                                                              \
    if (cols == 16 * NV) {                                                                         \
      for (int t = 0; t < count; t++) {                                                            \
        const float *bp = b + index[t] * ldb;                                                      \
        __m512 av = _mm512_set1_ps (value[t]);                                                     \
        _Pragma ("GCC unroll 8") for (int v = 0; v < NV; v++) acc[v] =                             \
          _mm512_fmadd_ps (av, _mm512_loadu_ps (bp + 16 * v), acc[v]);                             \
      }                                                                                            \
    } else {                                                                                       \
      for (int t = 0; t < count; t++) {                                                            \
        const float *bp = b + index[t] * ldb;                                                      \
        __m512 av = _mm512_set1_ps (value[t]);                                                     \
        _Pragma ("GCC unroll 8") for (int v = 0; v < NV; v++) acc[v] =                             \
          _mm512_fmadd_ps (av, _mm512_maskz_loadu_ps (mask[v], bp + 16 * v), acc[v]);              \
      }                                                                                            \
    }                                                                                              \
    __m512 va = _mm512_set1_ps (alpha), vb = _mm512_set1_ps (beta);                                \
    _Pragma ("GCC unroll 8") for (int v = 0; v < NV; v++)                                          \
    {                                                                                              \
      __m512 r = _mm512_mul_ps (va, acc[v]);                                                       \
      if (beta != 0.0f)                                                                            \
        r = _mm512_fmadd_ps (vb, _mm512_maskz_loadu_ps (mask[v], c + 16 * v), r);                  \
      _mm512_mask_storeu_ps (c + 16 * v, mask[v], r);                                              \
    }                                                                                              \
  }

SPARSE_ROW (8)
SPARSE_ROW (4)
SPARSE_ROW (2)
SPARSE_ROW (1)

AVX512 void
lam_cpu_avx512_sparse_row (int count, const int32_t *index, const float *value, const float *b,
                           ptrdiff_t ldb, int cols, float alpha, float beta, float *c)
{
  if (cols > 64)
    sparse_row_8 (count, index, value, b, ldb, cols, alpha, beta, c);
  else if (cols > 32)
    sparse_row_4 (count, index, value, b, ldb, cols, alpha, beta, c);
  else if (cols > 16)
    sparse_row_2 (count, index, value, b, ldb, cols, alpha, beta, c);
  else
    sparse_row_1 (count, index, value, b, ldb, cols, alpha, beta, c);
}

/* ---- Winograd F(2×2, 3×3) input transform ---- */

/* n floats (8 or 16) of row `row` of a plane (rows, w) from column col,
 * or zeros for a row outside it (the padding above and below, or a tile
 * row past the last). */
AVX512 INLINE __m256
plane_row8 (const float *plane, int rows, int w, int row, int col)
{
  return row >= 0 && row < rows ? _mm256_loadu_ps (plane + (size_t) row * w + col)
                                : _mm256_setzero_ps ();
}

AVX512 INLINE __m512
plane_row16 (const float *plane, int rows, int w, int row, int col)
{
  return row >= 0 && row < rows ? _mm512_loadu_ps (plane + (size_t) row * w + col)
                                : _mm512_setzero_ps ();
}

/* The k-th rows (image row 2ty-1+k) of the tile rows ty0 .. ty0+32/w-1,
 * 32 floats: the first sixteen in lo, the rest in hi. */
AVX512 INLINE void
tile_rows_k (const float *plane, int h, int w, int th, int ty0, int k, __m512 *lo, __m512 *hi)
{
  int row = 2 * ty0 - 1 + k;
  if (w == 32) {
    *lo = plane_row16 (plane, h, w, row, 0);
    *hi = plane_row16 (plane, h, w, row, 16);
  } else if (w == 16) {
    *lo = plane_row16 (plane, h, w, row, 0);
    *hi = plane_row16 (plane, ty0 + 1 < th ? h : 0, w, row + 2, 0);
  } else if (w == 8) {
    // Four rows of 8, two to a vector.
    __m256 r[4];
    for (int s = 0; s < 4; s++)
      r[s] = plane_row8 (plane, ty0 + s < th ? h : 0, w, row + 2 * s, 0);
    *lo = _mm512_insertf32x8 (_mm512_castps256_ps512 (r[0]), r[1], 1);
    *hi = _mm512_insertf32x8 (_mm512_castps256_ps512 (r[2]), r[3], 1);
  } else {
    // The s-th tile row's row at floats s·w, by masked loads.
    *lo = _mm512_setzero_ps ();
    *hi = _mm512_setzero_ps ();
    for (int s = 0; s < 16 / (w / 2) && ty0 + s < th; s++) {
      int r = row + 2 * s, at = s * w;
      if (r < 0 || r >= h)
        continue;
      const float *src = plane + (size_t) r * w;
      *lo = _mm512_mask_loadu_ps (*lo, lane_range (at, at + w), shifted (src, -at));
      *hi = _mm512_mask_loadu_ps (*hi, lane_range (at - 16, at + w - 16), shifted (src, 16 - at));
    }
  }
}

/* Where each tile of a vector (16 / (w / 2) tile rows of w / 2 tiles, lane
 * L the tile L % (w / 2) of the tile row L / (w / 2); every lane for w =
 * 8, 16 or 32, 14 of them for 14) finds its pixels in 32 floats holding a
 * row of each of those tile rows, w floats apiece from float s·w: even
 * its column 2tx, odd 2tx+1, before and after the columns beside them
 * (2tx-1 and 2tx+2, none at the plane's edges, where the masks clear the
 * lane; lanes past the tiles pick float 0); and, for 32 floats to store
 * back, which of 16 left pixels (0-15) and 16 right ones (16-31) goes
 * where. */
typedef struct
{
  __m512i even, odd, before, after, store_lo, store_hi;
  __mmask16 keep_before, keep_after;
} TileLanes;

AVX512 static TileLanes
tile_lanes (int w)
{
  int tw = w / 2;
  int32_t even[16], odd[16], before[16], after[16], store[32];
  TileLanes t = { .keep_before = 0, .keep_after = 0 };
  int tiles = 16 / tw * tw;
  for (int lane = 0; lane < 16; lane++) {
    int base = lane / tw * w, tx = lane % tw;
    gboolean used = lane < tiles;
    even[lane] = used ? base + 2 * tx : 0;
    odd[lane] = used ? base + 2 * tx + 1 : 0;
    before[lane] = used && tx > 0 ? base + 2 * tx - 1 : 0;
    after[lane] = used && tx + 1 < tw ? base + 2 * tx + 2 : 0;
    t.keep_before |= (__mmask16) ((used && tx > 0) << lane);
    t.keep_after |= (__mmask16) ((used && tx + 1 < tw) << lane);
  }
  for (int j = 0; j < 32; j++)
    store[j] = j < tiles * 2 ? (j % 2) * 16 + j / w * tw + j % w / 2 : 0;
  t.even = _mm512_loadu_si512 (even);
  t.odd = _mm512_loadu_si512 (odd);
  t.before = _mm512_loadu_si512 (before);
  t.after = _mm512_loadu_si512 (after);
  t.store_lo = _mm512_loadu_si512 (store);
  t.store_hi = _mm512_loadu_si512 (store + 16);
  return t;
}

/* Each lane's window's top-left pixel in its plane, for the rows of
 * tiles (2×2 windows) from the first. */
AVX512 static __m512i
window_offsets (int w)
{
  int ow = w / 2;
  int32_t offset[16];
  for (int lane = 0; lane < 16; lane++)
    offset[lane] = 2 * (lane / ow) * w + 2 * (lane % ow);
  return _mm512_loadu_si512 (offset);
}

/* The tables of width w, made once per thread for the width last asked:
 * the transforms run an image a call, the pool's backward a plane. Handed
 * out as a copy: read through a pointer, they would be reloaded after
 * every store the kernel makes, which might have changed them. */
typedef struct
{
  int w;
  TileLanes t;
  __m512i offsets; /* window_offsets */
} WidthLanes;

AVX512 static WidthLanes
width_lanes (int w)
{
  static _Thread_local WidthLanes cached = { .w = 0 };
  if (cached.w != w) {
    cached.t = tile_lanes (w);
    cached.offsets = window_offsets (w);
    cached.w = w;
  }
  return cached;
}

/* Whether the transforms' vectors of tiles serve planes w wide: an even
 * width up to 32. */
INLINE gboolean
tiles_fit (int w)
{
  return w >= 2 && w % 2 == 0 && w <= 32;
}

/* The lanes of the group of tile rows from row0: rows_per_vector rows of
 * tw tiles, fewer at the last of th. */
INLINE __mmask16
group_lanes (int th, int row0, int rows_per_vector, int tw)
{
  return lanes ((th - row0 < rows_per_vector ? th - row0 : rows_per_vector) * tw);
}

/* Bᵀ d B of every 4×4 patch of one image x (c, h, w), as the plain loop of
 * lam-cpu-winograd.c, bit for bit, for planes of an even width up to 32:
 * a vector of tiles at a time (TileLanes, contiguous in v), whose rows'
 * differences run on 32 pixels at once and whose columns' are taken from
 * those by permutes, with nothing stored in between (the AVX2 kernel
 * writes the rows out and reads them back in pairs). One image on one
 * Zen 5 core: 32 channels of 32×32 12.0 µs against 15.9, 128 of 16×16
 * 12.1 against 20.9, 256 of 8×8 9.7 against 18.8, 64 of 14×14 8.8
 * against 15.1. Returns 0, having done nothing, for other widths. */
AVX512 int
lam_cpu_avx512_winograd_input (const float *x, int c, int h, int w, float *v, size_t ldv,
                               size_t xi_stride)
{
  if (!tiles_fit (w))
    return 0;
  int th = h / 2, tw = w / 2, rows_per_vector = 16 / tw;
  TileLanes t = width_lanes (w).t;
  for (int ci = 0; ci < c; ci++) {
    const float *plane = x + (size_t) ci * h * w;
    for (int ty0 = 0; ty0 < th; ty0 += rows_per_vector) {
      __m512 lo[4], hi[4];
      for (int k = 0; k < 4; k++)
        tile_rows_k (plane, h, w, th, ty0, k, &lo[k], &hi[k]);
      __m512 t_lo[4] = { _mm512_sub_ps (lo[0], lo[2]), _mm512_add_ps (lo[1], lo[2]),
                         _mm512_sub_ps (lo[2], lo[1]), _mm512_sub_ps (lo[1], lo[3]) };
      __m512 t_hi[4] = { _mm512_sub_ps (hi[0], hi[2]), _mm512_add_ps (hi[1], hi[2]),
                         _mm512_sub_ps (hi[2], hi[1]), _mm512_sub_ps (hi[1], hi[3]) };
      __mmask16 store = group_lanes (th, ty0, rows_per_vector, tw);
      float *dst = v + (size_t) ci * ldv + (size_t) ty0 * tw;
      for (int i = 0; i < 4; i++) {
        __m512 de0 = _mm512_maskz_permutex2var_ps (t.keep_before, t_lo[i], t.before, t_hi[i]);
        __m512 do1 = _mm512_permutex2var_ps (t_lo[i], t.even, t_hi[i]);
        __m512 de2 = _mm512_permutex2var_ps (t_lo[i], t.odd, t_hi[i]);
        __m512 do3 = _mm512_maskz_permutex2var_ps (t.keep_after, t_lo[i], t.after, t_hi[i]);
        float *out = dst + (size_t) 4 * i * xi_stride;
        _mm512_mask_storeu_ps (out, store, _mm512_sub_ps (de0, de2));
        _mm512_mask_storeu_ps (out + xi_stride, store, _mm512_add_ps (do1, de2));
        _mm512_mask_storeu_ps (out + 2 * xi_stride, store, _mm512_sub_ps (de2, do1));
        _mm512_mask_storeu_ps (out + 3 * xi_stride, store, _mm512_sub_ps (do1, do3));
      }
    }
  }
  return 1;
}

/* Stores 32 floats, a row of each of the tile rows ty0 .. ty0+32/w-1
 * (image row 2ty+r of each), as tile_rows_k loads them; none for tile
 * rows past the last. */
AVX512 INLINE void
store_tile_rows (float *plane, int w, int th, int ty0, int r, __m512 lo, __m512 hi)
{
  float *row = plane + (size_t) (2 * ty0 + r) * w;
  if (w == 32) {
    _mm512_storeu_ps (row, lo);
    _mm512_storeu_ps (row + 16, hi);
  } else if (w == 16) {
    _mm512_storeu_ps (row, lo);
    if (ty0 + 1 < th)
      _mm512_storeu_ps (row + 2 * w, hi);
  } else if (w == 8) {
    __m256 r8[4] = { _mm512_castps512_ps256 (lo), _mm512_extractf32x8_ps (lo, 1),
                     _mm512_castps512_ps256 (hi), _mm512_extractf32x8_ps (hi, 1) };
    for (int s = 0; s < 4 && ty0 + s < th; s++)
      _mm256_storeu_ps (row + (size_t) 2 * s * w, r8[s]);
  } else {
    for (int s = 0; s < 16 / (w / 2) && ty0 + s < th; s++) {
      float *dst = row + (size_t) 2 * s * w;
      int at = s * w;
      _mm512_mask_storeu_ps (shifted_out (dst, -at), lane_range (at, at + w), lo);
      _mm512_mask_storeu_ps (shifted_out (dst, 16 - at), lane_range (at - 16, at + w - 16), hi);
    }
  }
}

/* Aᵀ m A + bias of every tile of one image, m[ξ * xi_stride + o * ldm +
 * tile] -> y (out_c, h, w), as the plain loop of lam-cpu-winograd.c, bit
 * for bit, for planes of an even width up to 32, a vector of tiles at a
 * time as lam_cpu_avx512_winograd_input takes them; returns 0, doing
 * nothing, for other widths. */
AVX512 int
lam_cpu_avx512_winograd_output (const float *m, size_t ldm, size_t xi_stride, int out_c, int h,
                                int w, const float *bias, float *y)
{
  if (!tiles_fit (w))
    return 0;
  int th = h / 2, tw = w / 2, rows_per_vector = 16 / tw;
  TileLanes t = width_lanes (w).t;
  for (int o = 0; o < out_c; o++) {
    __m512 bv = _mm512_set1_ps (bias != NULL ? bias[o] : 0.0f);
    float *plane = y + (size_t) o * h * w;
    for (int ty0 = 0; ty0 < th; ty0 += rows_per_vector) {
      const float *src = m + (size_t) o * ldm + (size_t) ty0 * tw;
      __mmask16 load = group_lanes (th, ty0, rows_per_vector, tw);
      __m512 s0[4], s1[4];
      for (int col = 0; col < 4; col++) {
        __m512 m0 = _mm512_maskz_loadu_ps (load, src + col * xi_stride);
        __m512 m1 = _mm512_maskz_loadu_ps (load, src + (4 + col) * xi_stride);
        __m512 m2 = _mm512_maskz_loadu_ps (load, src + (8 + col) * xi_stride);
        __m512 m3 = _mm512_maskz_loadu_ps (load, src + (12 + col) * xi_stride);
        s0[col] = _mm512_add_ps (_mm512_add_ps (m0, m1), m2);
        s1[col] = _mm512_sub_ps (_mm512_sub_ps (m1, m2), m3);
      }
      __m512 a0 = _mm512_add_ps (_mm512_add_ps (_mm512_add_ps (s0[0], s0[1]), s0[2]), bv);
      __m512 b0 = _mm512_add_ps (_mm512_sub_ps (_mm512_sub_ps (s0[1], s0[2]), s0[3]), bv);
      __m512 a1 = _mm512_add_ps (_mm512_add_ps (_mm512_add_ps (s1[0], s1[1]), s1[2]), bv);
      __m512 b1 = _mm512_add_ps (_mm512_sub_ps (_mm512_sub_ps (s1[1], s1[2]), s1[3]), bv);
      // a (left pixels) and b (right pixels) of the tiles, interleaved into the rows
      store_tile_rows (plane, w, th, ty0, 0, _mm512_permutex2var_ps (a0, t.store_lo, b0),
                       _mm512_permutex2var_ps (a0, t.store_hi, b0));
      store_tile_rows (plane, w, th, ty0, 1, _mm512_permutex2var_ps (a1, t.store_lo, b1),
                       _mm512_permutex2var_ps (a1, t.store_hi, b1));
    }
  }
  return 1;
}

/* A dy Aᵀ of every tile of one image's output gradient, dy (out_c, h, w)
 * -> d[ξ * xi_stride + o * ldd + tile], as the plain loop of
 * lam-cpu-winograd.c, bit for bit, for planes of an even width up to 32;
 * returns 0, doing nothing, for other widths. */
AVX512 int
lam_cpu_avx512_winograd_output_gradient (const float *dy, int out_c, int h, int w, float *d,
                                         size_t ldd, size_t xi_stride)
{
  if (!tiles_fit (w))
    return 0;
  int th = h / 2, tw = w / 2, rows_per_vector = 16 / tw;
  TileLanes t = width_lanes (w).t;
  __m512 sign = _mm512_set1_ps (-0.0f); /* -x flips the sign bit, as the plain loop's */
  for (int o = 0; o < out_c; o++) {
    const float *plane = dy + (size_t) o * h * w;
    for (int ty0 = 0; ty0 < th; ty0 += rows_per_vector) {
      __m512 lo0, hi0, lo1, hi1;
      tile_rows_k (plane, h, w, th, ty0, 1, &lo0, &hi0);
      tile_rows_k (plane, h, w, th, ty0, 2, &lo1, &hi1);
      __m512 a = _mm512_permutex2var_ps (lo0, t.even, hi0);
      __m512 b = _mm512_permutex2var_ps (lo0, t.odd, hi0);
      __m512 c = _mm512_permutex2var_ps (lo1, t.even, hi1);
      __m512 e = _mm512_permutex2var_ps (lo1, t.odd, hi1);
      __m512 p[4] = { a, _mm512_add_ps (a, c), _mm512_sub_ps (a, c), _mm512_xor_ps (c, sign) };
      __m512 q[4] = { b, _mm512_add_ps (b, e), _mm512_sub_ps (b, e), _mm512_xor_ps (e, sign) };
      __mmask16 store = group_lanes (th, ty0, rows_per_vector, tw);
      float *dst = d + (size_t) o * ldd + (size_t) ty0 * tw;
      for (int i = 0; i < 4; i++) {
        _mm512_mask_storeu_ps (dst + (4 * i + 0) * xi_stride, store, p[i]);
        _mm512_mask_storeu_ps (dst + (4 * i + 1) * xi_stride, store, _mm512_add_ps (p[i], q[i]));
        _mm512_mask_storeu_ps (dst + (4 * i + 2) * xi_stride, store, _mm512_sub_ps (p[i], q[i]));
        _mm512_mask_storeu_ps (dst + (4 * i + 3) * xi_stride, store, _mm512_xor_ps (q[i], sign));
      }
    }
  }
  return 1;
}

/* ---- ReLU ---- */

AVX512 void
lam_cpu_avx512_relu_forward (const float *x, float *y, size_t n)
{
  __m512 zero = _mm512_setzero_ps ();
  // max (x, 0) answers its second operand for NaN: 0, as x > 0 ? x : 0 does.
  for (size_t i = 0; i < n; i += 16) {
    __mmask16 m = lanes ((ptrdiff_t) (n - i));
    _mm512_mask_storeu_ps (y + i, m, _mm512_max_ps (_mm512_maskz_loadu_ps (m, x + i), zero));
  }
}

AVX512 void
lam_cpu_avx512_relu_backward (const float *x, const float *dy, float *dx, size_t n)
{
  __m512 zero = _mm512_setzero_ps ();
  for (size_t i = 0; i < n; i += 16) {
    __mmask16 m = lanes ((ptrdiff_t) (n - i));
    __mmask16 pos = _mm512_mask_cmp_ps_mask (m, _mm512_maskz_loadu_ps (m, x + i), zero,
                                             _CMP_GT_OQ);
    _mm512_mask_storeu_ps (dx + i, m, _mm512_maskz_loadu_ps (pos, dy + i));
  }
}

/* ---- convolution lowering, stride 1 ---- */

/* The outputs [lo, hi) of n_out whose input o + offset lies in [0, n_in). */
INLINE void
run_of (int n_out, int n_in, int offset, int *lo, int *hi)
{
  int first = offset >= 0 ? 0 : -offset;
  int last = n_in - offset;
  *hi = last < n_out ? (last > 0 ? last : 0) : n_out;
  *lo = first < *hi ? first : *hi;
}

/* Each column row is the input row shifted by kx - pad, with zeros where
 * it falls outside. */
AVX512 void
lam_cpu_avx512_im2col_s1 (const float *im, int c, int h, int w, int kh, int kw, int pad,
                          float *col, size_t ld)
{
  int oh = h + 2 * pad - kh + 1, ow = w + 2 * pad - kw + 1;
  for (int ci = 0; ci < c; ci++)
    for (int ky = 0; ky < kh; ky++)
      for (int kx = 0; kx < kw; kx++) {
        float *row = col + ((size_t) (ci * kh + ky) * kw + kx) * ld;
        int off = kx - pad, lo, hi;
        run_of (ow, w, off, &lo, &hi);
        for (int oy = 0; oy < oh; oy++) {
          float *dst = row + (size_t) oy * ow;
          int iy = oy - pad + ky;
          if (iy < 0 || iy >= h) {
            for (int ox = 0; ox < ow; ox += 16)
              _mm512_mask_storeu_ps (dst + ox, lanes (ow - ox), _mm512_setzero_ps ());
            continue;
          }
          const float *src = im + ((size_t) ci * h + iy) * w;
          for (int ox = 0; ox < ow; ox += 16) {
            __m512 v = _mm512_maskz_loadu_ps (lane_range (lo - ox, hi - ox), shifted (src, ox + off));
            _mm512_mask_storeu_ps (dst + ox, lanes (ow - ox), v);
          }
        }
      }
}

// im (c, h, w) += what im2col read from each pixel
AVX512 void
lam_cpu_avx512_col2im_s1 (const float *col, int c, int h, int w, int kh, int kw, int pad,
                          size_t ld, float *im)
{
  int oh = h + 2 * pad - kh + 1, ow = w + 2 * pad - kw + 1;
  for (int ci = 0; ci < c; ci++)
    for (int ky = 0; ky < kh; ky++)
      for (int kx = 0; kx < kw; kx++) {
        const float *row = col + ((size_t) (ci * kh + ky) * kw + kx) * ld;
        int off = kx - pad, lo, hi;
        run_of (ow, w, off, &lo, &hi);
        for (int oy = 0; oy < oh; oy++) {
          int iy = oy - pad + ky;
          if (iy < 0 || iy >= h)
            continue;
          const float *src = row + (size_t) oy * ow;
          float *dst = im + ((size_t) ci * h + iy) * w;
          for (int ox = lo & ~15; ox < hi; ox += 16) {
            __mmask16 m = lane_range (lo - ox, hi - ox);
            float *d = (float *) shifted (dst, ox + off);
            __m512 sum = _mm512_add_ps (_mm512_maskz_loadu_ps (m, d),
                                        _mm512_maskz_loadu_ps (m, src + ox));
            _mm512_mask_storeu_ps (d, m, sum);
          }
        }
      }
}

/* "Same" padding (k = 2 * pad + 1 each way, so the output plane is the
 * input plane): column row (ci, ky, kx) is input plane ci, flattened,
 * shifted by (ky - pad) * w + kx - pad, with zeros where the shift crosses
 * a row's ends or the plane's: one masked load and store per 16 floats,
 * the masks made once per op by lam_cpu_same_masks (plain C: the AVX2
 * kernels take theirs from it too, 8 lanes to a mask). */
int
lam_cpu_same_masks (int h, int w, int kh, int kw, int pad, int lanes, uint16_t *masks)
{
  int plane = h * w, nv = (plane + lanes - 1) / lanes;
  if (kh != 2 * pad + 1 || kw != 2 * pad + 1 || kh * kw > LAM_CPU_SAME_MAX_TAPS ||
      nv > LAM_CPU_SAME_MAX_VECTORS)
    return 0;
  for (int t = 0; t < kh * kw; t++) {
    int dy = t / kw - pad, dx = t % kw - pad;
    for (int v = 0; v < nv; v++) {
      unsigned bits = 0;
      for (int l = 0; l < lanes; l++) {
        int p = lanes * v + l, y = p / w + dy, x = p % w + dx;
        if (p < plane && y >= 0 && y < h && x >= 0 && x < w)
          bits |= 1u << l;
      }
      masks[t * LAM_CPU_SAME_MAX_VECTORS + v] = (uint16_t) bits;
    }
  }
  return 1;
}

AVX512 void
lam_cpu_avx512_im2col_same (const float *im, int c, int h, int w, int kh, int kw, int pad,
                            const uint16_t *masks, float *col, size_t ld)
{
  int plane = h * w, nv = (plane + 15) / 16;
  for (int ci = 0; ci < c; ci++) {
    const float *src = im + (size_t) ci * plane;
    for (int t = 0; t < kh * kw; t++) {
      float *dst = col + ((size_t) ci * kh * kw + t) * ld;
      const uint16_t *m = masks + t * LAM_CPU_SAME_MAX_VECTORS;
      ptrdiff_t shift = (ptrdiff_t) (t / kw - pad) * w + (t % kw - pad);
      for (int v = 0; v < nv; v++) {
        __m512 x = _mm512_maskz_loadu_ps (m[v], shifted (src, 16 * v + shift));
        _mm512_mask_storeu_ps (dst + 16 * v, lanes (plane - 16 * v), x);
      }
    }
  }
}

AVX512 void
lam_cpu_avx512_col2im_same (const float *col, int c, int h, int w, int kh, int kw, int pad,
                            const uint16_t *masks, size_t ld, float *im)
{
  int plane = h * w, nv = (plane + 15) / 16;
  for (int ci = 0; ci < c; ci++) {
    float *dst = im + (size_t) ci * plane;
    for (int t = 0; t < kh * kw; t++) {
      const float *src = col + ((size_t) ci * kh * kw + t) * ld;
      const uint16_t *m = masks + t * LAM_CPU_SAME_MAX_VECTORS;
      ptrdiff_t shift = (ptrdiff_t) (t / kw - pad) * w + (t % kw - pad);
      for (int v = 0; v < nv; v++) {
        float *d = (float *) shifted (dst, 16 * v + shift);
        _mm512_mask_storeu_ps (d, m[v], _mm512_add_ps (_mm512_maskz_loadu_ps (m[v], d),
                                                       _mm512_maskz_loadu_ps (m[v], src + 16 * v)));
      }
    }
  }
}

/* ---- 2×2 max pooling ---- */

/* Planes of even heights 2, 4, 8 or 16 pixels wide take 16 / ow pooled
 * rows a vector, the windows laid out as the Winograd transforms' tiles
 * (TileLanes), instead of filling ow of 16 lanes a row. Other widths below
 * 32 (14: 7 windows a row) ran slower so, their rows loaded lane by lane
 * range. */
INLINE gboolean
packs_pool_rows (int h, int w)
{
  return h % 2 == 0 && (w == 2 || w == 4 || w == 8 || w == 16);
}

/* The largest of each window's four candidates, top-left (best, at base)
 * first, then top-right, bottom-left, bottom-right (cand), in the plain
 * loop's order with its rule (greater, or NaN), and its index in the
 * plane: values and indices match the plain loop bit for bit. */
AVX512 INLINE __m512
window_max (__m512 best, const __m512 cand[3], __m512i base, int w, __m512i *index)
{
  const int step[3] = { 1, w, w + 1 };
  *index = base;
  for (int q = 0; q < 3; q++) {
    __mmask16 take = _mm512_cmp_ps_mask (cand[q], best, _CMP_GT_OQ) |
                     _mm512_cmp_ps_mask (cand[q], cand[q], _CMP_UNORD_Q);
    best = _mm512_mask_mov_ps (best, take, cand[q]);
    *index =
      _mm512_mask_mov_epi32 (*index, take, _mm512_add_epi32 (base, _mm512_set1_epi32 (step[q])));
  }
  return best;
}

/* Which of its window's pixels each argmax names among the lanes of m:
 * top-left, top-right, bottom-left, bottom-right of the windows from
 * base, rows w apart. */
typedef struct
{
  __mmask16 top_left, top_right, bottom_left, bottom_right;
} WindowPicks;

AVX512 INLINE WindowPicks
window_picks (__m512i argmax, __m512i base, int w, __mmask16 m)
{
  __m512i below = _mm512_add_epi32 (base, _mm512_set1_epi32 (w)), one = _mm512_set1_epi32 (1);
  return (WindowPicks){
    _mm512_mask_cmpeq_epi32_mask (m, argmax, base),
    _mm512_mask_cmpeq_epi32_mask (m, argmax, _mm512_add_epi32 (base, one)),
    _mm512_mask_cmpeq_epi32_mask (m, argmax, below),
    _mm512_mask_cmpeq_epi32_mask (m, argmax, _mm512_add_epi32 (below, one)),
  };
}

// Whether every lane of m named one of its window's pixels.
INLINE gboolean
picks_all (WindowPicks k, __mmask16 m)
{
  return (__mmask16) (k.top_left | k.top_right | k.bottom_left | k.bottom_right) == m;
}

/* One row's pixels of dy's windows: the left (of g where left) and right
 * ones, interleaved by the permute indices lo and hi into 32 floats. */
AVX512 INLINE void
window_row (__m512 g, __mmask16 left, __mmask16 right, __m512i lo, __m512i hi, __m512 *first,
            __m512 *second)
{
  __m512 l = _mm512_maskz_mov_ps (left, g), r = _mm512_maskz_mov_ps (right, g);
  *first = _mm512_permutex2var_ps (l, lo, r);
  *second = _mm512_permutex2var_ps (l, hi, r);
}

/* lam_cpu_avx512_maxpool2 for packs_pool_rows planes, 16 / ow output rows
 * a vector. */
AVX512 static void
maxpool2_packed (const float *x, float *y, int32_t *argmax, size_t p0, size_t p1, int h, int w)
{
  int oh = h / 2, ow = w / 2, rows_per_vector = 16 / ow;
  WidthLanes l = width_lanes (w);
  for (size_t p = p0; p < p1; p++) {
    const float *in = x + p * h * w;
    float *out = y + p * oh * ow;
    int32_t *arg = argmax + p * oh * ow;
    for (int oy0 = 0; oy0 < oh; oy0 += rows_per_vector) {
      __m512 lo0, hi0, lo1, hi1;
      tile_rows_k (in, h, w, oh, oy0, 1, &lo0, &hi0);
      tile_rows_k (in, h, w, oh, oy0, 2, &lo1, &hi1);
      __m512 cand[3] = {
        _mm512_permutex2var_ps (lo0, l.t.odd, hi0),
        _mm512_permutex2var_ps (lo1, l.t.even, hi1),
        _mm512_permutex2var_ps (lo1, l.t.odd, hi1),
      };
      __m512i index;
      __m512 best =
        window_max (_mm512_permutex2var_ps (lo0, l.t.even, hi0), cand,
                    _mm512_add_epi32 (_mm512_set1_epi32 (2 * oy0 * w), l.offsets), w, &index);
      __mmask16 n = group_lanes (oh, oy0, rows_per_vector, ow);
      _mm512_mask_storeu_ps (out + oy0 * ow, n, best);
      _mm512_mask_storeu_epi32 (arg + oy0 * ow, n, index);
    }
  }
}

/* lam_cpu_avx512_maxpool2_backward_plane for packs_pool_rows planes. */
AVX512 static int
maxpool2_backward_packed (const float *dy, const int32_t *arg, float *dx, int h, int w)
{
  int oh = h / 2, ow = w / 2, rows_per_vector = 16 / ow;
  WidthLanes l = width_lanes (w);
  for (int oy0 = 0; oy0 < oh; oy0 += rows_per_vector) {
    __mmask16 m = group_lanes (oh, oy0, rows_per_vector, ow);
    __m512 g = _mm512_maskz_loadu_ps (m, dy + oy0 * ow);
    __m512i a = _mm512_maskz_loadu_epi32 (m, arg + oy0 * ow);
    __m512i base = _mm512_add_epi32 (_mm512_set1_epi32 (2 * oy0 * w), l.offsets);
    WindowPicks k = window_picks (a, base, w, m);
    if (!picks_all (k, m))
      return 0;
    __m512 first, second;
    window_row (g, k.top_left, k.top_right, l.t.store_lo, l.t.store_hi, &first, &second);
    store_tile_rows (dx, w, oh, oy0, 0, first, second);
    window_row (g, k.bottom_left, k.bottom_right, l.t.store_lo, l.t.store_hi, &first, &second);
    store_tile_rows (dx, w, oh, oy0, 1, first, second);
  }
  return 1;
}

/* Sixteen outputs at a time from two input rows split into even and odd
 * columns (window_max). */
AVX512 void
lam_cpu_avx512_maxpool2 (const float *x, float *y, int32_t *argmax, size_t p0, size_t p1, int h,
                         int w)
{
  if (packs_pool_rows (h, w)) {
    maxpool2_packed (x, y, argmax, p0, p1, h, w);
    return;
  }
  int oh = h / 2, ow = w / 2;
  __m512i even = _mm512_set_epi32 (30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  __m512i odd = _mm512_add_epi32 (even, _mm512_set1_epi32 (1));

  for (size_t p = p0; p < p1; p++) {
    const float *in = x + p * h * w;
    float *out = y + p * oh * ow;
    int32_t *arg = argmax + p * oh * ow;
    for (int oy = 0; oy < oh; oy++) {
      const float *r0 = in + (size_t) 2 * oy * w, *r1 = r0 + w;
      for (int ox = 0; ox < ow; ox += 16) {
        int n = ow - ox < 16 ? ow - ox : 16;
        __mmask16 lo = lanes (2 * n), hi = lanes (2 * n - 16);
        __m512 a0 = _mm512_maskz_loadu_ps (lo, r0 + 2 * ox);
        __m512 a1 = _mm512_maskz_loadu_ps (hi, shifted (r0, 2 * ox + 16));
        __m512 b0 = _mm512_maskz_loadu_ps (lo, r1 + 2 * ox);
        __m512 b1 = _mm512_maskz_loadu_ps (hi, shifted (r1, 2 * ox + 16));
        __m512 cand[3] = {
          _mm512_permutex2var_ps (a0, odd, a1),
          _mm512_permutex2var_ps (b0, even, b1),
          _mm512_permutex2var_ps (b0, odd, b1),
        };
        __m512i index;
        __m512 best =
          window_max (_mm512_permutex2var_ps (a0, even, a1), cand,
                      _mm512_add_epi32 (_mm512_set1_epi32 (2 * oy * w + 2 * ox), even), w, &index);
        _mm512_mask_storeu_ps (out + oy * ow + ox, lanes (n), best);
        _mm512_mask_storeu_epi32 (arg + oy * ow + ox, lanes (n), index);
      }
    }
  }
}

AVX512 int
lam_cpu_avx512_maxpool2_backward_plane (const float *dy, const int32_t *arg, float *dx, int h,
                                        int w)
{
  if (packs_pool_rows (h, w))
    return maxpool2_backward_packed (dy, arg, dx, h, w);
  int oh = h / 2, ow = w / 2;
  __m512i even = _mm512_set_epi32 (30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  // lane l of the pair interleaving takes l/2 of the even (l even) or odd (l odd) vector
  __m512i inter_lo = _mm512_set_epi32 (23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  __m512i inter_hi = _mm512_add_epi32 (inter_lo, _mm512_set1_epi32 (8));

  if (h != 2 * oh || w != 2 * ow)
    memset (dx, 0, sizeof (float) * h * w);
  for (int oy = 0; oy < oh; oy++)
    for (int ox = 0; ox < ow; ox += 16) {
      int n = ow - ox < 16 ? ow - ox : 16;
      __mmask16 m = lanes (n);
      __m512 g = _mm512_maskz_loadu_ps (m, dy + oy * ow + ox);
      __m512i a = _mm512_maskz_loadu_epi32 (m, arg + oy * ow + ox);
      __m512i base = _mm512_add_epi32 (_mm512_set1_epi32 (2 * oy * w + 2 * ox), even);
      WindowPicks k = window_picks (a, base, w, m);
      if (!picks_all (k, m))
        return 0;
      __mmask16 lo = lanes (2 * n), hi = lanes (2 * n - 16);
      float *r0 = dx + (size_t) 2 * oy * w + 2 * ox, *r1 = r0 + w;
      __m512 first, second;
      window_row (g, k.top_left, k.top_right, inter_lo, inter_hi, &first, &second);
      _mm512_mask_storeu_ps (r0, lo, first);
      _mm512_mask_storeu_ps (shifted_out (r0, 16), hi, second);
      window_row (g, k.bottom_left, k.bottom_right, inter_lo, inter_hi, &first, &second);
      _mm512_mask_storeu_ps (r1, lo, first);
      _mm512_mask_storeu_ps (shifted_out (r1, 16), hi, second);
    }
  return 1;
}

/* ---- Adam ---- */

/* How far ahead of the update Adam asks for the weights' lines for
 * writing: sixteen lines. A layer's weights whose columns the other
 * thread read for the input gradient's product (the MLP's second and
 * third layers) sit in both cores' caches, and each line the update
 * stores to must first be taken from the other core. Asked for as the
 * store reaches it, each took a round trip on its own: on two Zen 5 vCPUs
 * whose round trip was 400-450 ns, the second layer's half (16,384
 * weights) took 24-28 µs to update against 8-9 µs asked for ahead, its
 * first layer's half (100,352, in no other cache) 27-30. PREFETCHW is on
 * every CPU with AVX-512. */
#define ADAM_WRITE_AHEAD 256

/* a / divisor in every lane, rounded exactly as the division rounds it,
 * with the divider left to the one division Adam cannot avoid (its
 * divisor differs per weight). reciprocal is 1 / divisor rounded to
 * nearest; a · reciprocal is then within an ulp of the quotient, the FMA
 * gives its error a − divisor · q exactly, and q + error · reciprocal
 * rounds to the correctly rounded quotient (Markstein's theorem, for
 * quotients away from underflow and overflow: Adam's are at least the
 * square root of the smallest normal float). The divider's sqrt and two
 * divisions per sixteen weights bounded the update; this takes about a
 * quarter off it. Where q is 0 or infinite it stands (the correction
 * would turn −0 into 0 and infinity into NaN), as the division gives
 * them. test-backend checks
 * every significand against the division for Adam's divisors. */
AVX512 INLINE __m512
divide_by_constant (__m512 a, __m512 divisor, __m512 reciprocal)
{
  __m512 q = _mm512_mul_ps (a, reciprocal);
  __m512 error = _mm512_fnmadd_ps (q, divisor, a);
  __m512 rounded = _mm512_fmadd_ps (error, reciprocal, q);
  // fpclass 0x1e: ±0 and ±infinity
  return _mm512_mask_blend_ps (_mm512_fpclass_ps_mask (q, 0x1e), rounded, q);
}

AVX512 void
lam_cpu_avx512_divide_by_constant (const float *a, float *quotients, size_t n, float divisor)
{
  __m512 vdivisor = _mm512_set1_ps (divisor), reciprocal = _mm512_set1_ps (1.0f / divisor);
  for (size_t i = 0; i < n; i += 16) {
    __mmask16 k = lanes ((ptrdiff_t) (n - i));
    _mm512_mask_storeu_ps (
      quotients + i, k,
      divide_by_constant (_mm512_maskz_loadu_ps (k, a + i), vdivisor, reciprocal));
  }
}

/* One update over [0, n). Without weight decay (decay 1, coupled 0, the
 * defaults a lesson trains with) the weight is read as it is and the
 * gradient taken as it is, as PyTorch does, three of the update's
 * seventeen vector operations fewer: with the division above, Adam over
 * the MLP's weights took 36.5 µs a half instead of 45.7 on Zen 4. */
AVX512_PRFCHW INLINE void
adam_range (float *params, const float *grads, float *m, float *v, size_t n, float beta1,
            float beta2, float eps, float step_size, float correction2_sqrt, float decay,
            float coupled, int weight_decay)
{
  __m512 vdecay = _mm512_set1_ps (decay), vcoupled = _mm512_set1_ps (coupled);
  __m512 b1 = _mm512_set1_ps (beta1), c1 = _mm512_set1_ps (1.0f - beta1);
  __m512 b2 = _mm512_set1_ps (beta2), c2 = _mm512_set1_ps (1.0f - beta2);
  __m512 vstep = _mm512_set1_ps (step_size), veps = _mm512_set1_ps (eps);
  __m512 vcorr = _mm512_set1_ps (correction2_sqrt);
  __m512 vcorr_reciprocal = _mm512_set1_ps (1.0f / correction2_sqrt);

  for (size_t i = 0; i < n; i += 16) {
    __mmask16 k = lanes ((ptrdiff_t) (n - i));
    if (i + ADAM_WRITE_AHEAD < n)
      __builtin_prefetch (params + i + ADAM_WRITE_AHEAD, 1, 3);
    __m512 p = _mm512_maskz_loadu_ps (k, params + i);
    __m512 g = _mm512_maskz_loadu_ps (k, grads + i);
    if (weight_decay) {
      p = _mm512_mul_ps (p, vdecay);
      g = _mm512_add_ps (g, _mm512_mul_ps (vcoupled, p));
    }
    __m512 mi = _mm512_add_ps (_mm512_mul_ps (b1, _mm512_maskz_loadu_ps (k, m + i)),
                               _mm512_mul_ps (c1, g));
    __m512 vi = _mm512_add_ps (_mm512_mul_ps (b2, _mm512_maskz_loadu_ps (k, v + i)),
                               _mm512_mul_ps (_mm512_mul_ps (c2, g), g));
    __m512 denom =
      _mm512_add_ps (divide_by_constant (_mm512_sqrt_ps (vi), vcorr, vcorr_reciprocal), veps);
    p = _mm512_sub_ps (p, _mm512_div_ps (_mm512_mul_ps (vstep, mi), denom));
    _mm512_mask_storeu_ps (m + i, k, mi);
    _mm512_mask_storeu_ps (v + i, k, vi);
    _mm512_mask_storeu_ps (params + i, k, p);
  }
}

AVX512_PRFCHW void
lam_cpu_avx512_adam (float *params, const float *grads, float *m, float *v, size_t n, float beta1,
                     float beta2, float eps, float step_size, float correction2_sqrt, float decay,
                     float coupled)
{
  if (decay == 1.0f && coupled == 0.0f)
    adam_range (params, grads, m, v, n, beta1, beta2, eps, step_size, correction2_sqrt, decay,
                coupled, 0);
  else
    adam_range (params, grads, m, v, n, beta1, beta2, eps, step_size, correction2_sqrt, decay,
                coupled, 1);
}

#endif /* LAM_CPU_HAVE_AVX512 */
