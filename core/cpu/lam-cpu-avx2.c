/* lam-cpu-avx2.c: the CPU backend's AVX2 + FMA kernels.
 *
 * The same kernels as lam-cpu-avx512.c, eight lanes wide with sixteen
 * registers, for the CPUs without AVX-512. On them the backend had only
 * OpenBLAS's sgemm, which packs its operands for every call (a small
 * network's products, a batch of 32 rows, do not repay it), and the plain
 * loops, Adam's not vectorised (sqrtf may set errno): an MLP's epoch at
 * batch 32 took 3.3 s on Zen 3, 42% of it in sgemm and 35% in Adam.
 * Every function carries its own target attribute, so this file builds
 * with the project's flags for any x86-64 and the backend decides at run
 * time whether to call it.
 */
#include "lam-cpu-avx2.h"

#ifdef LAM_CPU_HAVE_AVX2

#include <cpuid.h>
#include <glib.h>
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "lam-cpu-avx512.h"
#include "lam-cpu-scratch.h"

/* Not instrumented by the sanitizers: checked on every load, they ran a
 * sanitizer build's training four times slower than the plain loops with
 * OpenBLAS (which is never instrumented), past the tests' time limits.
 * test-backend
 * holds every kernel to a reference over shapes that leave partial tiles
 * and vectors, in the normal build and in the sanitizer build alike. */
#define AVX2 __attribute__ ((target ("avx2,fma"), no_sanitize_address, no_sanitize_undefined))
#define INLINE static inline __attribute__ ((always_inline))

/* All-ones in the first n of 8 lanes (none for n <= 0, all for n >= 8):
 * the mask of a masked load or store, which touches no disabled lane. */
AVX2 INLINE __m256i
lanes (ptrdiff_t n)
{
  int count = n >= 8 ? 8 : n <= 0 ? 0 : (int) n;
  return _mm256_cmpgt_epi32 (_mm256_set1_epi32 (count), _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7));
}

/* ---- gemm ---- */

/* The k loop of a tile: B's row p in NV vectors (LOAD_B loads vector v of
 * bp), A(i, p) broadcast against it for each of the MR rows. */
#define BCAST_K_LOOP(MR, NV, LOAD_B)                                                               \
  for (ptrdiff_t p = 0; p < k; p++) {                                                              \
    const float *bp = b + p * ldb;                                                                 \
    const float *ap = a + p * a_k;                                                                 \
    __m256 bv[NV];                                                                                 \
    _Pragma ("GCC unroll 2") for (int v = 0; v < NV; v++) bv[v] = LOAD_B;                          \
    _Pragma ("GCC unroll 6") for (int i = 0; i < MR; i++)                                          \
    {                                                                                              \
      __m256 av = _mm256_broadcast_ss (ap + i * a_row);                                            \
      _Pragma ("GCC unroll 2") for (int v = 0; v < NV; v++) acc[i][v] =                            \
        _mm256_fmadd_ps (av, bv[v], acc[i][v]);                                                    \
    }                                                                                              \
  }

/* A C tile of MR rows and NV vectors of 8 columns, the last `cols` of
 * which are valid, from A(i, p) = a[i * a_row + p * a_k] broadcast against
 * rows B(p, :) = b + p * ldb: NN has a_row = lda, a_k = 1; TN the reverse.
 * MR * NV accumulators stay in registers for the whole of k; a tile of
 * whole vectors loads and stores without masks. */
#define BCAST_TILE(MR, NV)                                                                         \
  AVX2 static void bcast_tile_##MR##_##NV (                                                        \
    ptrdiff_t k, const float *a, ptrdiff_t a_row, ptrdiff_t a_k, const float *b, ptrdiff_t ldb,    \
    int cols, float alpha, float beta, const float *row_bias, float *c, ptrdiff_t ldc)             \
  {                                                                                                \
    __m256 acc[MR][NV];                                                                            \
    __m256i mask[NV];                                                                              \
    gboolean whole = cols == 8 * NV;                                                               \
    _Pragma ("GCC unroll 6") for (int i = 0; i < MR; i++)                                          \
      _Pragma ("GCC unroll 2") for (int v = 0; v < NV; v++) acc[i][v] =                            \
        row_bias != NULL ? _mm256_set1_ps (row_bias[i]) : _mm256_setzero_ps ();                    \
    _Pragma ("GCC unroll 2") for (int v = 0; v < NV; v++) mask[v] = lanes (cols - 8 * v);          \
    if (whole)                                                                                     \
      BCAST_K_LOOP (MR, NV, _mm256_loadu_ps (bp + 8 * v))                                          \
    else                                                                                           \
      BCAST_K_LOOP (MR, NV, _mm256_maskload_ps (bp + 8 * v, mask[v]))                              \
    __m256 va = _mm256_set1_ps (alpha), vb = _mm256_set1_ps (beta);                                \
    _Pragma ("GCC unroll 6") for (int i = 0; i < MR; i++)                                          \
      _Pragma ("GCC unroll 2") for (int v = 0; v < NV; v++)                                        \
    {                                                                                              \
      float *cp = c + i * ldc + 8 * v;                                                             \
      __m256 r = _mm256_mul_ps (va, acc[i][v]);                                                    \
      if (whole) {                                                                                 \
        if (beta != 0.0f)                                                                          \
          r = _mm256_fmadd_ps (vb, _mm256_loadu_ps (cp), r);                                       \
        _mm256_storeu_ps (cp, r);                                                                  \
      } else {                                                                                     \
        if (beta != 0.0f)                                                                          \
          r = _mm256_fmadd_ps (vb, _mm256_maskload_ps (cp, mask[v]), r);                           \
        _mm256_maskstore_ps (cp, mask[v], r);                                                      \
      }                                                                                            \
    }                                                                                              \
  }

BCAST_TILE (6, 2)
BCAST_TILE (4, 2)
BCAST_TILE (2, 2)
BCAST_TILE (1, 2)
BCAST_TILE (6, 1)
BCAST_TILE (4, 1)
BCAST_TILE (2, 1)
BCAST_TILE (1, 1)

typedef void (*BcastTile) (ptrdiff_t, const float *, ptrdiff_t, ptrdiff_t, const float *, ptrdiff_t,
                           int, float, float, const float *, float *, ptrdiff_t);

static const BcastTile bcast_tiles[4][2] = {
  { bcast_tile_6_1, bcast_tile_6_2 },
  { bcast_tile_4_1, bcast_tile_4_2 },
  { bcast_tile_2_1, bcast_tile_2_2 },
  { bcast_tile_1_1, bcast_tile_1_2 },
};
static const int bcast_tile_rows[4] = { 6, 4, 2, 1 };

/* Column blocks of 16 outer, row blocks of 6 inner: a block of B (k, 16)
 * is reused from cache by every row block. With row_bias, the accumulators
 * start from it (alpha is 1 there). */
AVX2 static void
gemm_bcast_block (int m, int n, int k, float alpha, const float *a, ptrdiff_t a_row, ptrdiff_t a_k,
                  const float *b, ptrdiff_t ldb, float beta, const float *row_bias, float *c,
                  ptrdiff_t ldc)
{
  for (int j = 0; j < n; j += 16) {
    int cols = n - j < 16 ? n - j : 16;
    int nv = (cols + 7) / 8;
    for (int i = 0; i < m;) {
      int left = m - i;
      int which = left >= 6 ? 0 : left >= 4 ? 1 : left >= 2 ? 2 : 3;
      bcast_tiles[which][nv - 1](k, a + i * a_row, a_row, a_k, b + j, ldb, cols, alpha, beta,
                                 row_bias != NULL ? row_bias + i : NULL,
                                 c + (ptrdiff_t) i * ldc + j, ldc);
      i += bcast_tile_rows[which];
    }
  }
}

/* Longer sums are taken in equal chunks of k, so that a block of B
 * (chunk, 16) stays in the core's first-level cache while every row block
 * reads it; each chunk after the first adds to C. */
#define BCAST_K_BLOCK 256

AVX2 static void
gemm_bcast (int m, int n, int k, float alpha, const float *a, ptrdiff_t a_row, ptrdiff_t a_k,
            const float *b, ptrdiff_t ldb, float beta, const float *row_bias, float *c,
            ptrdiff_t ldc)
{
  int chunks = (k + BCAST_K_BLOCK - 1) / BCAST_K_BLOCK;
  int kc = chunks > 1 ? (k + chunks - 1) / chunks : k;
  for (int p = 0; p < k; p += kc)
    gemm_bcast_block (m, n, k - p < kc ? k - p : kc, alpha, a + p * a_k, a_row, a_k, b + p * ldb,
                      ldb, p == 0 ? beta : 1.0f, p == 0 ? row_bias : NULL, c, ldc);
}

/* NT, C = A·Bᵀ with A a batch of inputs and B a linear layer's weights,
 * runs as Cᵀ = B·Aᵀ in the broadcast form, with the transposes of the
 * inputs and of the outputs (a few percent of the product), 48 rows of A
 * at a time: room that stays in the core's cache. */
#define GEMM_NT_ROWS 48

AVX2 static void
gemm_nt_by_transposes (int m, int n, int k, float alpha, const float *a, ptrdiff_t lda,
                       const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc)
{
  int rows = m < GEMM_NT_ROWS ? m : GEMM_NT_ROWS;
  float *at = lam_cpu_thread_scratch ((size_t) k * rows + (size_t) n * rows);
  float *ct = at + (size_t) k * rows;
  for (int i = 0; i < m; i += rows) {
    int r = m - i < rows ? m - i : rows;
    lam_cpu_avx2_transpose (a + (ptrdiff_t) i * lda, lda, at, r, r, k);
    // Cᵀ (n, r) = B (n, k) · Aᵀ (k, r)
    gemm_bcast (n, r, k, alpha, b, ldb, 1, at, r, 0.0f, NULL, ct, r);
    lam_cpu_avx2_transpose (ct, r, c + (ptrdiff_t) i * ldc, ldc, n, r);
  }
}

/* From this many multiply-adds (m·n·k) on, OpenBLAS, which packs its
 * operands, is as fast or faster; so it is for TN, a weight gradient's
 * product, at every size (measured on Zen 3: 256×784×32 at 68 GFLOP/s
 * here against 80 for OpenBLAS, 32×256×784 NT at 71 against 65). */
#define AVX2_GEMM_MAX_VOLUME (1 << 24)

AVX2 int
lam_cpu_avx2_sgemm (int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                    int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
  if ((double) m * n * k >= AVX2_GEMM_MAX_VOLUME)
    return 0;
  if (!trans_a && trans_b && beta == 0.0f)
    gemm_nt_by_transposes (m, n, k, alpha, a, lda, b, ldb, c, ldc);
  else if (!trans_a && !trans_b)
    // A(i, p) = a[i * lda + p], B(p, :) = b + p * ldb
    gemm_bcast (m, n, k, alpha, a, lda, 1, b, ldb, beta, NULL, c, ldc);
  else
    return 0;
  return 1;
}

/* ---- products of a mostly zero A ---- */

/* Behind a ReLU most of a layer's output gradients are exactly 0 (82% of
 * the MLP's first hidden layer's over an epoch of Fashion-MNIST, 63% in
 * its first hundred batches), and so are most of that layer's outputs
 * themselves. A term A(i, p)·B(p, j) with A(i, p) == 0 adds nothing to a
 * sum of finite numbers, so each row of C sums only over its nonzero
 * A(i, p), in the order of p, one fused multiply-add each: what the dense
 * kernels add, bar the zeros (an infinity or NaN in B against a 0 of A,
 * which the dense sum turns into NaN, is skipped). The weight gradient of
 * the MLP's first layer, 256×784×32 with 82% of A zero at random, took
 * 52 µs instead of 84 on Zen 3's two cores; a unit off for the whole batch
 * (27% of them) leaves its row of C alone, and costs nothing. */

/* From this share of nonzero entries of A on, the dense kernels are as
 * fast, with the zeros scattered at random: about 45% on Zen 3 where a
 * block of B, k rows of 96 floats, fits the first-level cache (k up to
 * 80), about 34% at k = 128 (a batch of 128), where it does not. */
#define SPARSE_MAX_NONZERO 0.4
#define SPARSE_MAX_NONZERO_LONG_K 0.3
#define SPARSE_LONG_K 80
/* With AVX-512 on Zen 5 (one core, C added to, against the broadcast
 * kernel), where the sparse sums and the dense product took the same time:
 * k = 64 at 20-25% nonzero (A 128×64 against 64 or 128 columns of B), k
 * = 128 at 28% (784 columns); k = 32 from 30% (64×784) to past 35%
 * (256×256). */
#define SPARSE_MAX_NONZERO_AVX512 0.25
#define SPARSE_MAX_NONZERO_AVX512_SHORT_K 0.35
#define SPARSE_SHORT_K_AVX512 32
/* Zen 4 (AMD family 19h with AVX-512) runs each 512-bit FMA on its two
 * 256-bit halves, so its dense kernels gain nothing on AVX2's per float
 * while the sparse sums still save whole rows of B per zero. One core,
 * C written, buffers aligned as the backend's are (sparse against dense):
 * 256×784×32 at 45% nonzero 0.78 and at 50% 0.83; 128×128×64 at 45%
 * 0.88; 128×784×128 (mlp-b128's first-layer weight gradient) at 35-36%
 * 0.76-0.86 and at 40% 0.96-0.99; 64×256×128 at 33% 0.76-0.82, at 35%
 * 0.93-1.01; 128×64×128 at 30% 0.92; 64×784×256 at 35% 0.91; 64×1024×512
 * at 30% 0.84. Narrow products lose at any share (n = 32 or 48 columns:
 * 1.09-1.37 from 20%), and so do those whose B outgrows the caches (64 ×
 * 4096 × 1024, 16 MiB of B: 1.22 at 20%), which the shares measured on
 * Zen 5 above let through at up to 25%. */
#define SPARSE_HALVES_MAX_NONZERO_K32 0.50
#define SPARSE_HALVES_MAX_NONZERO_K64 0.45
#define SPARSE_HALVES_MAX_NONZERO_K128_WIDE 0.36 /* from 256 columns */
#define SPARSE_HALVES_MAX_NONZERO 0.30
#define SPARSE_HALVES_WIDE_COLS 256
#define SPARSE_HALVES_MIN_COLS 64
#define SPARSE_HALVES_MAX_B_FLOATS (1 << 21)

/* Whether this CPU runs AVX-512 on 256-bit halves (Zen 4): the vendor
 * AuthenticAMD and family 19h, whose Zen 3 models have no AVX-512. */
static gboolean
avx512_on_halves (void)
{
  static gsize answer = 0;
  if (g_once_init_enter (&answer)) {
    unsigned eax, ebx, ecx, edx;
    gboolean halves = FALSE;
    if (__get_cpuid (0, &eax, &ebx, &ecx, &edx) && ebx == 0x68747541u && edx == 0x69746e65u &&
        ecx == 0x444d4163u && __get_cpuid (1, &eax, &ebx, &ecx, &edx)) {
      unsigned family = (eax >> 8) & 0xfu;
      if (family == 0xfu)
        family += (eax >> 20) & 0xffu;
      halves = family == 0x19u;
    }
    g_once_init_leave (&answer, halves ? 2 : 1);
  }
  return answer == 2;
}

/* The largest share of nonzero entries of op(A) at which the sums over
 * them beat the dense product, or 0 where they never do. */
static double
sparse_max_nonzero (int n, int k, int avx512)
{
  if (avx512 && avx512_on_halves ()) {
    if (n < SPARSE_HALVES_MIN_COLS || (size_t) k * n > SPARSE_HALVES_MAX_B_FLOATS)
      return 0;
    if (k <= 32)
      return SPARSE_HALVES_MAX_NONZERO_K32;
    if (k <= 64)
      return SPARSE_HALVES_MAX_NONZERO_K64;
    if (k <= 128 && n >= SPARSE_HALVES_WIDE_COLS)
      return SPARSE_HALVES_MAX_NONZERO_K128_WIDE;
    return SPARSE_HALVES_MAX_NONZERO;
  }
  if (avx512)
    return k <= SPARSE_SHORT_K_AVX512 ? SPARSE_MAX_NONZERO_AVX512_SHORT_K
                                      : SPARSE_MAX_NONZERO_AVX512;
  return k > SPARSE_LONG_K ? SPARSE_MAX_NONZERO_LONG_K : SPARSE_MAX_NONZERO;
}

/* op(A)'s entries at most: Aᵀ is transposed into 16 MiB of scratch. */
#define SPARSE_MAX_ENTRIES (1 << 22)
/* With Bᵀ given (a linear layer's weights), B is transposed first: worth
 * it from this many rows of A in a thread's part, a prediction's batch of
 * hidden outputs. At 500 rows of 256 inputs, 80% of them 0, against 128
 * outputs: 139 µs instead of 237 on Zen 3's two cores; at a training
 * batch of 32 or 128, the transpose costs what the zeros save. */
#define SPARSE_MIN_ROWS_TRANS_B 128
/* Rows of C whose entries are listed at a time: lists that stay in the
 * core's first-level cache while the columns of C go by in blocks. */
#define SPARSE_GROUP_ROWS 16

/* A product found too dense is not counted again on this thread for its
 * next LAM_CPU_SPARSE_RECOUNT_EVERY - 1 calls with the same operand and shape:
 * a training step's products keep their share of zeros from one step to
 * the next, and the count that declined them read most of A for nothing,
 * a first layer's batch from memory. mlp-b128 on two Zen 5 vCPUs 430-470
 * ns apart: the counts took each thread about 32 µs of a 620 µs step
 * (its first layer's input 15, the weight gradients' 9 and 6); epochs
 * 0.287-0.298 s against 0.301-0.316 (four alternating runs each, lower
 * in all four); mlp-b32, whose first weight gradient is summed sparsely,
 * 0.339-0.353 against 0.342-0.362. Either way the sums are the same but
 * for zeros' signs (lam_cpu_avx2_sgemm_sparse), so a product that turns
 * sparse meanwhile costs at most those calls' time. */
#define SPARSE_DENSE_MEMO 16

typedef struct
{
  const float *a;
  int lda, m, n, k, trans;
  int skips; /* calls left to decline uncounted */
} DenseMemo;

static _Thread_local DenseMemo dense_memo[SPARSE_DENSE_MEMO];
static _Thread_local unsigned dense_memo_next;
static _Thread_local unsigned long sparse_products;

static DenseMemo *
dense_memo_find (const float *a, int lda, int m, int n, int k, int trans)
{
  for (int i = 0; i < SPARSE_DENSE_MEMO; i++) {
    DenseMemo *memo = &dense_memo[i];
    if (memo->a == a && memo->lda == lda && memo->m == m && memo->n == n && memo->k == k &&
        memo->trans == trans)
      return memo;
  }
  return NULL;
}

unsigned long
lam_cpu_avx2_sparse_products (void)
{
  return sparse_products;
}

/* C(i, cols) = alpha · Σ_t value[t] · B(index[t], cols) + beta · C(i, cols)
 * over one row's count entries, NV vectors of 8 columns from b's, the
 * last `cols` of which are valid. */
#define SPARSE_ROW(NV)                                                                             \
  AVX2 static void sparse_row_##NV (int count, const int32_t *index, const float *value,           \
                                    const float *b, ptrdiff_t ldb, int cols, float alpha,          \
                                    float beta, float *c)                                          \
  {                                                                                                \
    __m256 acc[NV];                                                                                \
    _Pragma ("GCC unroll 12") for (int v = 0; v < NV; v++) acc[v] = _mm256_setzero_ps ();          \
    __m256 va = _mm256_set1_ps (alpha), vb = _mm256_set1_ps (beta);                                \
    if (cols == 8 * NV) {                                                                          \
      for (int t = 0; t < count; t++) {                                                            \
        const float *bp = b + index[t] * ldb;                                                      \
        __m256 av = _mm256_broadcast_ss (value + t);                                               \
        _Pragma ("GCC unroll 12") for (int v = 0; v < NV; v++) acc[v] =                            \
          _mm256_fmadd_ps (av, _mm256_loadu_ps (bp + 8 * v), acc[v]);                              \
      }                                                                                            \
      _Pragma ("GCC unroll 12") for (int v = 0; v < NV; v++)                                       \
      {                                                                                            \
        __m256 r = _mm256_mul_ps (va, acc[v]);                                                     \
        if (beta != 0.0f)                                                                          \
          r = _mm256_fmadd_ps (vb, _mm256_loadu_ps (c + 8 * v), r);                                \
        _mm256_storeu_ps (c + 8 * v, r);                                                           \
      }                                                                                            \
      return;                                                                                      \
    }                                                                                              \
    /* The last block of a row: masked loads and stores touch no column                            \
     * past cols. */                                                                               \
    __m256i mask[NV];                                                                              \
    _Pragma ("GCC unroll 12") for (int v = 0; v < NV; v++) mask[v] = lanes (cols - 8 * v);         \
    for (int t = 0; t < count; t++) {                                                              \
      const float *bp = b + index[t] * ldb;                                                        \
      __m256 av = _mm256_broadcast_ss (value + t);                                                 \
      _Pragma ("GCC unroll 12") for (int v = 0; v < NV; v++) acc[v] =                              \
        _mm256_fmadd_ps (av, _mm256_maskload_ps (bp + 8 * v, mask[v]), acc[v]);                    \
    }                                                                                              \
    _Pragma ("GCC unroll 12") for (int v = 0; v < NV; v++)                                         \
    {                                                                                              \
      __m256 r = _mm256_mul_ps (va, acc[v]);                                                       \
      if (beta != 0.0f)                                                                            \
        r = _mm256_fmadd_ps (vb, _mm256_maskload_ps (c + 8 * v, mask[v]), r);                      \
      _mm256_maskstore_ps (c + 8 * v, mask[v], r);                                                 \
    }                                                                                              \
  }

SPARSE_ROW (12)
SPARSE_ROW (8)
SPARSE_ROW (4)
SPARSE_ROW (2)
SPARSE_ROW (1)

typedef void (*Transpose) (const float *, size_t, float *, size_t, int, int);
typedef void (*SparseRow) (int, const int32_t *, const float *, const float *, ptrdiff_t, int,
                           float, float, float *);

/* For each mask of 8 lanes, the indices of its set lanes first, a byte
 * each: the shuffle that packs a vector's chosen lanes to its start with
 * no branch per lane (which, on gradients' scattered zeros, mispredicted
 * about once a lane). */
static uint64_t pack_lanes[256];

static void
pack_lanes_init (void)
{
  for (unsigned mask = 0; mask < 256; mask++) {
    uint64_t order = 0;
    int n = 0;
    for (int lane = 0; lane < 8; lane++)
      if (mask & (1u << lane))
        order |= (uint64_t) lane << (8 * n++);
    pack_lanes[mask] = order;
  }
}

/* The set lanes of the nonzero floats among x[j..j+8) below n. */
AVX2 INLINE unsigned
nonzero_lanes (const float *x, int j, int n)
{
  __m256 v = _mm256_maskload_ps (x + j, lanes (n - j));
  return (unsigned) _mm256_movemask_ps (_mm256_cmp_ps (v, _mm256_setzero_ps (), _CMP_NEQ_UQ));
}

/* C (m, n) = alpha · op(A) · B + beta · C, op(A) being A or Aᵀ, by sums
 * over each row's nonzero entries of op(A); returns 0 having done nothing
 * when too many of them are nonzero to gain. */
AVX2 int
lam_cpu_avx2_sgemm_sparse (int trans_a, int trans_b, int m, int n, int k, float alpha,
                           const float *a, int lda, const float *b, int ldb, float beta, float *c,
                           int ldc, int avx512)
{
  if (m <= 0 || n <= 0 || k <= 0 || (size_t) m * k > SPARSE_MAX_ENTRIES ||
      (trans_b && (m < SPARSE_MIN_ROWS_TRANS_B || (size_t) n * k > SPARSE_MAX_ENTRIES)))
    return 0;
  /* A's rows in memory: k of m floats for Aᵀ, m of k for A. */
  int mem_rows = trans_a ? k : m, mem_cols = trans_a ? m : k;
  double share = sparse_max_nonzero (n, k, avx512);
  if (share <= 0)
    return 0;
  int trans = trans_a * 2 + trans_b;
  DenseMemo *memo = dense_memo_find (a, lda, m, n, k, trans);
  if (memo != NULL && memo->skips > 0) {
    memo->skips--;
    return 0;
  }
  size_t nonzero = 0, limit = (size_t) (share * m * k);
  for (int r = 0; r < mem_rows && nonzero <= limit; r++) {
    const float *ar = a + (ptrdiff_t) r * lda;
    for (int j = 0; j < mem_cols; j += 8)
      nonzero += (size_t) __builtin_popcount (nonzero_lanes (ar, j, mem_cols));
  }
  if (nonzero > limit) {
    if (memo == NULL) {
      memo = &dense_memo[dense_memo_next++ % SPARSE_DENSE_MEMO];
      *memo = (DenseMemo){ a, lda, m, n, k, trans, 0 };
    }
    memo->skips = LAM_CPU_SPARSE_RECOUNT_EVERY - 1;
    return 0;
  }
  sparse_products++;

  static gsize packed_once = 0;
  if (g_once_init_enter (&packed_once)) {
    pack_lanes_init ();
    g_once_init_leave (&packed_once, 1);
  }

  /* op(A)'s rows contiguous and B's (each transposed once where it is
   * not), then each group's lists: k + 8 entries of room each, as a pack
   * stores whole vectors. */
  size_t list_room = (size_t) k + 8;
  size_t transposed = (trans_a ? (size_t) m * k : 0) + (trans_b ? (size_t) k * n : 0);
  float *room = lam_cpu_thread_scratch (transposed + 2 * SPARSE_GROUP_ROWS * list_room);
  const float *rows = a;
  ptrdiff_t ld_rows = lda;
  Transpose transpose = lam_cpu_avx2_transpose;
  SparseRow wide_row = NULL;
  int block_cols = 96;
#ifdef LAM_CPU_HAVE_AVX512
  if (avx512) {
    transpose = lam_cpu_avx512_transpose;
    wide_row = lam_cpu_avx512_sparse_row;
    block_cols = LAM_CPU_AVX512_SPARSE_COLS;
  }
#endif
  if (trans_a) {
    transpose (a, lda, room, k, k, m);
    rows = room;
    ld_rows = k;
  }
  if (trans_b) {
    float *bt = room + (trans_a ? (size_t) m * k : 0);
    transpose (b, ldb, bt, n, n, k);
    b = bt;
    ldb = n;
  }
  int32_t *index = (int32_t *) (room + transposed);
  float *value = room + transposed + SPARSE_GROUP_ROWS * list_room;
  int count[SPARSE_GROUP_ROWS];

  static const SparseRow row_of[5] = { sparse_row_12, sparse_row_8, sparse_row_4, sparse_row_2,
                                       sparse_row_1 };
  const __m256i iota = _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7);
  for (int i0 = 0; i0 < m; i0 += SPARSE_GROUP_ROWS) {
    int group = m - i0 < SPARSE_GROUP_ROWS ? m - i0 : SPARSE_GROUP_ROWS;
    for (int g = 0; g < group; g++) {
      const float *ar = rows + (ptrdiff_t) (i0 + g) * ld_rows;
      int32_t *gi = index + g * list_room;
      float *gv = value + g * list_room;
      int n_entries = 0;
      for (int p0 = 0; p0 < k; p0 += 8) {
        __m256 v = _mm256_maskload_ps (ar + p0, lanes (k - p0));
        unsigned bits =
          (unsigned) _mm256_movemask_ps (_mm256_cmp_ps (v, _mm256_setzero_ps (), _CMP_NEQ_UQ));
        __m256i order = _mm256_cvtepu8_epi32 (_mm_cvtsi64_si128 ((long long) pack_lanes[bits]));
        _mm256_storeu_ps (gv + n_entries, _mm256_permutevar8x32_ps (v, order));
        _mm256_storeu_si256 (
          (__m256i *) (gi + n_entries),
          _mm256_permutevar8x32_epi32 (_mm256_add_epi32 (iota, _mm256_set1_epi32 (p0)), order));
        n_entries += __builtin_popcount (bits);
      }
      count[g] = n_entries;
    }

    /* Column blocks outer: the block of B (k, 96) stays in the core's
     * first-level cache while the group's rows read it (for k up to 80;
     * AVX-512's blocks of 128, up to 64 in Zen 4's 32 KiB, 96 in Zen 5's
     * 48). */
    for (int j = 0; j < n; j += block_cols) {
      int cols = n - j < block_cols ? n - j : block_cols;
      int which = cols > 64 ? 0 : cols > 32 ? 1 : cols > 16 ? 2 : cols > 8 ? 3 : 4;
      SparseRow row = wide_row != NULL ? wide_row : row_of[which];
      for (int g = 0; g < group; g++) {
        // A row of zeros leaves C as it is when beta is 1.
        if (count[g] == 0 && beta == 1.0f)
          continue;
        row (count[g], index + g * list_room, value + g * list_room, b + j, ldb, cols, alpha, beta,
             c + (ptrdiff_t) (i0 + g) * ldc + j);
      }
    }
  }
  return 1;
}

AVX2 void
lam_cpu_avx2_sgemm_row_bias (int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                             const float *row_bias, float *c, int ldc)
{
  gemm_bcast (m, n, k, 1.0f, a, lda, 1, b, ldb, 0.0f, row_bias, c, ldc);
}

/* ---- transpose ---- */

/* Floats ahead of the block read, two lines: lam_cpu_avx512_transpose
 * says why. */
#define TRANSPOSE_AHEAD 32

/* r[0..7] rows -> r[0..7] columns: pairs, then quads, then 128-bit
 * halves. */
AVX2 INLINE void
transpose_8x8 (__m256 r[8])
{
  __m256 t[8], s[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps (r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps (r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    s[i] = _mm256_shuffle_ps (t[i], t[i + 2], _MM_SHUFFLE (1, 0, 1, 0));
    s[i + 1] = _mm256_shuffle_ps (t[i], t[i + 2], _MM_SHUFFLE (3, 2, 3, 2));
    s[i + 2] = _mm256_shuffle_ps (t[i + 1], t[i + 3], _MM_SHUFFLE (1, 0, 1, 0));
    s[i + 3] = _mm256_shuffle_ps (t[i + 1], t[i + 3], _MM_SHUFFLE (3, 2, 3, 2));
  }
  for (int i = 0; i < 4; i++) {
    r[i] = _mm256_permute2f128_ps (s[i], s[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps (s[i], s[i + 4], 0x31);
  }
}

// y (cols, rows) = x (rows, cols)ᵀ
AVX2 void
lam_cpu_avx2_transpose (const float *x, size_t ldx, float *y, size_t ldy, int rows, int cols)
{
  for (int i = 0; i < rows; i += 8)
    for (int j = 0; j < cols; j += 8) {
      __m256 r[8];
      const float *src = x + i * ldx + j;
      float *dst = y + j * ldy + i;
      // Each row's line after next, asked once a line.
      if (j % 16 == 0 && j + TRANSPOSE_AHEAD < cols)
        for (int q = 0; q < 8 && i + q < rows; q++)
          _mm_prefetch ((const char *) (src + q * ldx + TRANSPOSE_AHEAD), _MM_HINT_T0);
      if (rows - i >= 8 && cols - j >= 8) {
        for (int q = 0; q < 8; q++)
          r[q] = _mm256_loadu_ps (src + q * ldx);
        transpose_8x8 (r);
        for (int q = 0; q < 8; q++)
          _mm256_storeu_ps (dst + q * ldy, r[q]);
        continue;
      }
      __m256i in = lanes (cols - j), out = lanes (rows - i);
      for (int q = 0; q < 8; q++)
        r[q] = i + q < rows ? _mm256_maskload_ps (src + q * ldx, in) : _mm256_setzero_ps ();
      transpose_8x8 (r);
      for (int q = 0; q < 8 && j + q < cols; q++)
        _mm256_maskstore_ps (dst + q * ldy, out, r[q]);
    }
}

/* ---- ReLU ---- */

AVX2 void
lam_cpu_avx2_relu_forward (const float *x, float *y, size_t n)
{
  __m256 zero = _mm256_setzero_ps ();
  size_t i = 0;
  // max (x, 0) answers its second operand for NaN: 0, as x > 0 ? x : 0 does.
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (y + i, _mm256_max_ps (_mm256_loadu_ps (x + i), zero));
  for (; i < n; i++)
    y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

AVX2 void
lam_cpu_avx2_relu_backward (const float *x, const float *dy, float *dx, size_t n)
{
  __m256 zero = _mm256_setzero_ps ();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 pos = _mm256_cmp_ps (_mm256_loadu_ps (x + i), zero, _CMP_GT_OQ);
    _mm256_storeu_ps (dx + i, _mm256_and_ps (pos, _mm256_loadu_ps (dy + i)));
  }
  for (; i < n; i++)
    dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

/* A linear layer's row of outputs: y += bias (unless NULL), act_y =
 * max (y, 0); act_y may be y. */
AVX2 void
lam_cpu_avx2_bias_relu (float *y, const float *bias, float *act_y, size_t n, int stream)
{
  __m256 zero = _mm256_setzero_ps ();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps (y + i);
    if (bias != NULL) {
      v = _mm256_add_ps (v, _mm256_loadu_ps (bias + i));
      _mm256_storeu_ps (y + i, v);
    }
    if (stream && ((uintptr_t) (act_y + i) & 31) == 0)
      _mm256_stream_ps (act_y + i, _mm256_max_ps (v, zero));
    else
      _mm256_storeu_ps (act_y + i, _mm256_max_ps (v, zero));
  }
  for (; i < n; i++) {
    if (bias != NULL)
      y[i] += bias[i];
    act_y[i] = y[i] > 0.0f ? y[i] : 0.0f;
  }
}

/* Its gradient: dy = y > 0 ? dact_y : 0, and dbias += dy unless NULL. */
AVX2 void
lam_cpu_avx2_relu_backward_bias (const float *y, const float *dact_y, float *dy, float *dbias,
                                 size_t n)
{
  __m256 zero = _mm256_setzero_ps ();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 pos = _mm256_cmp_ps (_mm256_loadu_ps (y + i), zero, _CMP_GT_OQ);
    __m256 d = _mm256_and_ps (pos, _mm256_loadu_ps (dact_y + i));
    _mm256_storeu_ps (dy + i, d);
    if (dbias != NULL)
      _mm256_storeu_ps (dbias + i, _mm256_add_ps (_mm256_loadu_ps (dbias + i), d));
  }
  for (; i < n; i++) {
    dy[i] = y[i] > 0.0f ? dact_y[i] : 0.0f;
    if (dbias != NULL)
      dbias[i] += dy[i];
  }
}

/* ---- convolution lowering ---- */

/* p + offset floats, computed on addresses: a masked access may start
 * before or after the array as long as its enabled lanes fall inside. */
INLINE const float *
shifted (const float *p, ptrdiff_t offset)
{
  return (const float *) ((uintptr_t) p + (uintptr_t) (offset * (ptrdiff_t) sizeof (float)));
}

/* Column row (ci, tap) is plane ci shifted by the tap, one masked load per
 * 8 floats. */
AVX2 void
lam_cpu_avx2_im2col_same (const float *im, int c, int h, int w, int kh, int kw, int pad,
                          const uint16_t *masks, float *col, size_t ld)
{
  int plane = h * w, nv = (plane + 7) / 8;
  __m256i bit = _mm256_setr_epi32 (1, 2, 4, 8, 16, 32, 64, 128);
  __m256i last = lanes (plane - 8 * (nv - 1));
  for (int ci = 0; ci < c; ci++) {
    const float *src = im + (size_t) ci * plane;
    for (int t = 0; t < kh * kw; t++) {
      float *dst = col + ((size_t) ci * kh * kw + t) * ld;
      const uint16_t *m = masks + t * LAM_CPU_SAME_MAX_VECTORS;
      ptrdiff_t shift = (ptrdiff_t) (t / kw - pad) * w + (t % kw - pad);
      for (int v = 0; v < nv; v++) {
        __m256i in = _mm256_cmpeq_epi32 (_mm256_and_si256 (_mm256_set1_epi32 (m[v]), bit), bit);
        __m256 x = _mm256_maskload_ps (shifted (src, 8 * v + shift), in);
        if (v < nv - 1)
          _mm256_storeu_ps (dst + 8 * v, x);
        else
          _mm256_maskstore_ps (dst + 8 * v, last, x);
      }
    }
  }
}

// dst (n) += src (n)
AVX2 void
lam_cpu_avx2_accumulate (float *dst, const float *src, size_t n)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (dst + i,
                      _mm256_add_ps (_mm256_loadu_ps (dst + i), _mm256_loadu_ps (src + i)));
  for (; i < n; i++)
    dst[i] += src[i];
}

/* ---- 2×2 max pooling ---- */

/* Floats 0, 2, 4, ... 14 (even) or 1, 3, ... 15 (odd) of lo:hi, in order. */
AVX2 INLINE __m256
pick_pairs (__m256 lo, __m256 hi, gboolean odd)
{
  __m256 t = odd ? _mm256_shuffle_ps (lo, hi, _MM_SHUFFLE (3, 1, 3, 1))
                 : _mm256_shuffle_ps (lo, hi, _MM_SHUFFLE (2, 0, 2, 0));
  // per 128-bit half: lo's two, hi's two; put the halves' pairs in order
  return _mm256_castpd_ps (_mm256_permute4x64_pd (_mm256_castps_pd (t), _MM_SHUFFLE (3, 1, 2, 0)));
}

/* Eight outputs at a time from two input rows split into even and odd
 * columns. The four candidates are taken in the plain loop's order with its
 * rule (greater, or NaN), so values and indices match it bit for bit. */
AVX2 void
lam_cpu_avx2_maxpool2 (const float *x, float *y, int32_t *argmax, size_t p0, size_t p1, int h,
                       int w)
{
  int oh = h / 2, ow = w / 2;
  __m256i even = _mm256_setr_epi32 (0, 2, 4, 6, 8, 10, 12, 14);
  const int step[3] = { 1, w, w + 1 };

  for (size_t p = p0; p < p1; p++) {
    const float *in = x + p * h * w;
    float *out = y + p * oh * ow;
    int32_t *arg = argmax + p * oh * ow;
    for (int oy = 0; oy < oh; oy++) {
      const float *r0 = in + (size_t) 2 * oy * w, *r1 = r0 + w;
      for (int ox = 0; ox < ow; ox += 8) {
        int n = ow - ox < 8 ? ow - ox : 8;
        __m256 a0, a1, b0, b1;
        if (n == 8) {
          a0 = _mm256_loadu_ps (r0 + 2 * ox);
          a1 = _mm256_loadu_ps (r0 + 2 * ox + 8);
          b0 = _mm256_loadu_ps (r1 + 2 * ox);
          b1 = _mm256_loadu_ps (r1 + 2 * ox + 8);
        } else {
          __m256i lo = lanes (2 * n), hi = lanes (2 * n - 8);
          a0 = _mm256_maskload_ps (r0 + 2 * ox, lo);
          a1 = _mm256_maskload_ps (r0 + 2 * ox + 8, hi);
          b0 = _mm256_maskload_ps (r1 + 2 * ox, lo);
          b1 = _mm256_maskload_ps (r1 + 2 * ox + 8, hi);
        }
        __m256i base = _mm256_add_epi32 (_mm256_set1_epi32 (2 * oy * w + 2 * ox), even);
        __m256 best = pick_pairs (a0, a1, FALSE);
        __m256i index = base;
        __m256 cand[3] = { pick_pairs (a0, a1, TRUE), pick_pairs (b0, b1, FALSE),
                           pick_pairs (b0, b1, TRUE) };
        for (int q = 0; q < 3; q++) {
          __m256 take = _mm256_or_ps (_mm256_cmp_ps (cand[q], best, _CMP_GT_OQ),
                                      _mm256_cmp_ps (cand[q], cand[q], _CMP_UNORD_Q));
          best = _mm256_blendv_ps (best, cand[q], take);
          __m256i moved = _mm256_add_epi32 (base, _mm256_set1_epi32 (step[q]));
          index = _mm256_castps_si256 (
            _mm256_blendv_ps (_mm256_castsi256_ps (index), _mm256_castsi256_ps (moved), take));
        }
        if (n == 8) {
          _mm256_storeu_ps (out + oy * ow + ox, best);
          _mm256_storeu_si256 ((__m256i *) (arg + oy * ow + ox), index);
        } else {
          __m256i keep = lanes (n);
          _mm256_maskstore_ps (out + oy * ow + ox, keep, best);
          _mm256_maskstore_epi32 ((int *) (arg + oy * ow + ox), keep, index);
        }
      }
    }
  }
}

/* ---- Adam ---- */

/* The plain loop's operations in its order, eight at a time. */
/* a / divisor in every lane, rounded as the division rounds it: the
 * multiply-and-correct step of lam-cpu-avx512.c's divide_by_constant,
 * which says why it is exact and what it saves. */
AVX2 INLINE __m256
divide_by_constant (__m256 a, __m256 divisor, __m256 reciprocal)
{
  __m256 q = _mm256_mul_ps (a, reciprocal);
  __m256 error = _mm256_fnmadd_ps (q, divisor, a);
  __m256 rounded = _mm256_fmadd_ps (error, reciprocal, q);
  // Where q is 0 (error 0) or infinite (rounded NaN), q.
  __m256 corrected = _mm256_and_ps (_mm256_cmp_ps (error, _mm256_setzero_ps (), _CMP_NEQ_OQ),
                                    _mm256_cmp_ps (rounded, rounded, _CMP_ORD_Q));
  return _mm256_blendv_ps (q, rounded, corrected);
}

AVX2 void
lam_cpu_avx2_divide_by_constant (const float *a, float *quotients, size_t n, float divisor)
{
  __m256 vdivisor = _mm256_set1_ps (divisor), reciprocal = _mm256_set1_ps (1.0f / divisor);
  for (size_t i = 0; i < n; i += 8) {
    __m256i k = lanes ((ptrdiff_t) (n - i));
    _mm256_maskstore_ps (quotients + i, k,
                         divide_by_constant (_mm256_maskload_ps (a + i, k), vdivisor, reciprocal));
  }
}

AVX2 size_t
lam_cpu_avx2_adam (float *params, const float *grads, float *m, float *v, size_t n, float beta1,
                   float beta2, float eps, float step_size, float correction2_sqrt, float decay,
                   float coupled)
{
  __m256 vdecay = _mm256_set1_ps (decay), vcoupled = _mm256_set1_ps (coupled);
  __m256 b1 = _mm256_set1_ps (beta1), c1 = _mm256_set1_ps (1.0f - beta1);
  __m256 b2 = _mm256_set1_ps (beta2), c2 = _mm256_set1_ps (1.0f - beta2);
  __m256 vstep = _mm256_set1_ps (step_size), veps = _mm256_set1_ps (eps);
  __m256 vcorr = _mm256_set1_ps (correction2_sqrt);
  __m256 vcorr_reciprocal = _mm256_set1_ps (1.0f / correction2_sqrt);
  size_t i = 0;

  int weight_decay = decay != 1.0f || coupled != 0.0f;

  // Without weight decay the weight and gradient as they are, as PyTorch.
  for (; i + 8 <= n; i += 8) {
    __m256 p = _mm256_loadu_ps (params + i);
    __m256 g = _mm256_loadu_ps (grads + i);
    if (weight_decay) {
      p = _mm256_mul_ps (p, vdecay);
      g = _mm256_add_ps (g, _mm256_mul_ps (vcoupled, p));
    }
    __m256 mi = _mm256_add_ps (_mm256_mul_ps (b1, _mm256_loadu_ps (m + i)), _mm256_mul_ps (c1, g));
    __m256 vi = _mm256_add_ps (_mm256_mul_ps (b2, _mm256_loadu_ps (v + i)),
                               _mm256_mul_ps (_mm256_mul_ps (c2, g), g));
    __m256 denom =
      _mm256_add_ps (divide_by_constant (_mm256_sqrt_ps (vi), vcorr, vcorr_reciprocal), veps);
    p = _mm256_sub_ps (p, _mm256_div_ps (_mm256_mul_ps (vstep, mi), denom));
    _mm256_storeu_ps (m + i, mi);
    _mm256_storeu_ps (v + i, vi);
    _mm256_storeu_ps (params + i, p);
  }
  return i;
}

/* ---- Winograd F(2×2, 3×3) transforms ---- */

/* Bᵀ d B of every 4×4 patch of one image, as the plain loop of
 * lam-cpu-winograd.c, bit for bit: the rows along whole padded rows, eight
 * pixels at a time, then eight (else four) tiles at a time from the even
 * and odd columns. rows has room for 2 * h * (w + 2) floats. */
AVX2 void
lam_cpu_avx2_winograd_input (const float *x, int c, int h, int w, float *v, size_t ldv,
                             size_t xi_stride, float *rows)
{
  int th = h / 2, tw = w / 2;
  size_t padded = (size_t) w + 2;
  for (int ci = 0; ci < c; ci++) {
    const float *plane = x + (size_t) ci * h * w;
    /* Every tile row's four rows first, then the columns: read right after
     * they were written, the columns' loads (which straddle the rows'
     * stores) waited for each store to reach the cache. */
    for (int ty = 0; ty < th; ty++) {
      const float *r0 = ty > 0 ? plane + (size_t) (2 * ty - 1) * w : NULL;
      const float *r1 = plane + (size_t) (2 * ty) * w, *r2 = r1 + w;
      const float *r3 = ty + 1 < th ? r2 + w : NULL;
      float *t0 = rows + (size_t) 4 * ty * padded, *t1 = t0 + padded, *t2 = t0 + 2 * padded;
      float *t3 = t0 + 3 * padded;
      int px = 0;
      for (; px + 8 <= w; px += 8) {
        __m256 d0 = r0 ? _mm256_loadu_ps (r0 + px) : _mm256_setzero_ps ();
        __m256 d1 = _mm256_loadu_ps (r1 + px), d2 = _mm256_loadu_ps (r2 + px);
        __m256 d3 = r3 ? _mm256_loadu_ps (r3 + px) : _mm256_setzero_ps ();
        _mm256_storeu_ps (t0 + px + 1, _mm256_sub_ps (d0, d2));
        _mm256_storeu_ps (t1 + px + 1, _mm256_add_ps (d1, d2));
        _mm256_storeu_ps (t2 + px + 1, _mm256_sub_ps (d2, d1));
        _mm256_storeu_ps (t3 + px + 1, _mm256_sub_ps (d1, d3));
      }
      for (; px < w; px++) {
        float d0 = r0 ? r0[px] : 0.0f, d1 = r1[px], d2 = r2[px], d3 = r3 ? r3[px] : 0.0f;
        t0[px + 1] = d0 - d2;
        t1[px + 1] = d1 + d2;
        t2[px + 1] = d2 - d1;
        t3[px + 1] = d1 - d3;
      }
      for (int i = 0; i < 4; i++)
        t0[i * padded] = t0[i * padded + w + 1] = 0.0f;
    }
    for (int ty = 0; ty < th; ty++) {
      for (int i = 0; i < 4; i++) {
        const float *t = rows + (size_t) (4 * ty + i) * padded;
        float *dst = v + (size_t) 4 * i * xi_stride + (size_t) ci * ldv + (size_t) ty * tw;
        int tx = 0;
        // tiles tx..tx+7 read t[2tx .. 2tx+17], inside the padded row
        for (; tx + 8 <= tw; tx += 8) {
          const float *d = t + 2 * tx;
          __m256 lo = _mm256_loadu_ps (d), hi = _mm256_loadu_ps (d + 8);
          __m256 lo2 = _mm256_loadu_ps (d + 2), hi2 = _mm256_loadu_ps (d + 10);
          __m256 e0 = pick_pairs (lo, hi, FALSE), o1 = pick_pairs (lo, hi, TRUE);
          __m256 e2 = pick_pairs (lo2, hi2, FALSE), o3 = pick_pairs (lo2, hi2, TRUE);
          _mm256_storeu_ps (dst + tx, _mm256_sub_ps (e0, e2));
          _mm256_storeu_ps (dst + xi_stride + tx, _mm256_add_ps (o1, e2));
          _mm256_storeu_ps (dst + 2 * xi_stride + tx, _mm256_sub_ps (e2, o1));
          _mm256_storeu_ps (dst + 3 * xi_stride + tx, _mm256_sub_ps (o1, o3));
        }
        // four tiles (8×8 images have just four a row) read t[2tx .. 2tx+9]
        for (; tx + 4 <= tw; tx += 4) {
          const float *d = t + 2 * tx;
          __m128 lo = _mm_loadu_ps (d), hi = _mm_loadu_ps (d + 4);
          __m128 lo2 = _mm_loadu_ps (d + 2), hi2 = _mm_loadu_ps (d + 6);
          __m128 e0 = _mm_shuffle_ps (lo, hi, _MM_SHUFFLE (2, 0, 2, 0));
          __m128 o1 = _mm_shuffle_ps (lo, hi, _MM_SHUFFLE (3, 1, 3, 1));
          __m128 e2 = _mm_shuffle_ps (lo2, hi2, _MM_SHUFFLE (2, 0, 2, 0));
          __m128 o3 = _mm_shuffle_ps (lo2, hi2, _MM_SHUFFLE (3, 1, 3, 1));
          _mm_storeu_ps (dst + tx, _mm_sub_ps (e0, e2));
          _mm_storeu_ps (dst + xi_stride + tx, _mm_add_ps (o1, e2));
          _mm_storeu_ps (dst + 2 * xi_stride + tx, _mm_sub_ps (e2, o1));
          _mm_storeu_ps (dst + 3 * xi_stride + tx, _mm_sub_ps (o1, o3));
        }
        for (; tx < tw; tx++) {
          const float *d = t + 2 * tx;
          dst[tx] = d[0] - d[2];
          dst[xi_stride + tx] = d[1] + d[2];
          dst[2 * xi_stride + tx] = d[2] - d[1];
          dst[3 * xi_stride + tx] = d[1] - d[3];
        }
      }
    }
  }
}

/* Aᵀ m A + bias of every tile of one image, as the plain loop, bit for
 * bit: eight tiles at a time, the two output rows' pixels interleaved from
 * the tiles' left and right columns. */
AVX2 void
lam_cpu_avx2_winograd_output (const float *m, size_t ldm, size_t xi_stride, int out_c, int h, int w,
                              const float *bias, float *y)
{
  int th = h / 2, tw = w / 2;
  for (int o = 0; o < out_c; o++) {
    float b = bias != NULL ? bias[o] : 0.0f;
    __m256 bv = _mm256_set1_ps (b);
    for (int ty = 0; ty < th; ty++) {
      const float *src = m + (size_t) o * ldm + (size_t) ty * tw;
      float *y0 = y + ((size_t) o * h + 2 * ty) * w, *y1 = y0 + w;
      int tx = 0;
      for (; tx + 8 <= tw; tx += 8) {
        __m256 s0[4], s1[4];
        for (int col = 0; col < 4; col++) {
          __m256 m0 = _mm256_loadu_ps (src + col * xi_stride + tx);
          __m256 m1 = _mm256_loadu_ps (src + (4 + col) * xi_stride + tx);
          __m256 m2 = _mm256_loadu_ps (src + (8 + col) * xi_stride + tx);
          __m256 m3 = _mm256_loadu_ps (src + (12 + col) * xi_stride + tx);
          s0[col] = _mm256_add_ps (_mm256_add_ps (m0, m1), m2);
          s1[col] = _mm256_sub_ps (_mm256_sub_ps (m1, m2), m3);
        }
        __m256 a0 = _mm256_add_ps (_mm256_add_ps (_mm256_add_ps (s0[0], s0[1]), s0[2]), bv);
        __m256 b0 = _mm256_add_ps (_mm256_sub_ps (_mm256_sub_ps (s0[1], s0[2]), s0[3]), bv);
        __m256 a1 = _mm256_add_ps (_mm256_add_ps (_mm256_add_ps (s1[0], s1[1]), s1[2]), bv);
        __m256 b1 = _mm256_add_ps (_mm256_sub_ps (_mm256_sub_ps (s1[1], s1[2]), s1[3]), bv);
        // a (left pixels) and b (right pixels) of tiles tx..tx+7 -> a0 b0 a1 b1 ... a7 b7
        __m256 lo = _mm256_unpacklo_ps (a0, b0), hi = _mm256_unpackhi_ps (a0, b0);
        _mm256_storeu_ps (y0 + 2 * tx, _mm256_permute2f128_ps (lo, hi, 0x20));
        _mm256_storeu_ps (y0 + 2 * tx + 8, _mm256_permute2f128_ps (lo, hi, 0x31));
        lo = _mm256_unpacklo_ps (a1, b1);
        hi = _mm256_unpackhi_ps (a1, b1);
        _mm256_storeu_ps (y1 + 2 * tx, _mm256_permute2f128_ps (lo, hi, 0x20));
        _mm256_storeu_ps (y1 + 2 * tx + 8, _mm256_permute2f128_ps (lo, hi, 0x31));
      }
      for (; tx + 4 <= tw; tx += 4) {
        __m128 s0[4], s1[4], b4 = _mm256_castps256_ps128 (bv);
        for (int col = 0; col < 4; col++) {
          __m128 m0 = _mm_loadu_ps (src + col * xi_stride + tx);
          __m128 m1 = _mm_loadu_ps (src + (4 + col) * xi_stride + tx);
          __m128 m2 = _mm_loadu_ps (src + (8 + col) * xi_stride + tx);
          __m128 m3 = _mm_loadu_ps (src + (12 + col) * xi_stride + tx);
          s0[col] = _mm_add_ps (_mm_add_ps (m0, m1), m2);
          s1[col] = _mm_sub_ps (_mm_sub_ps (m1, m2), m3);
        }
        __m128 a0 = _mm_add_ps (_mm_add_ps (_mm_add_ps (s0[0], s0[1]), s0[2]), b4);
        __m128 b0 = _mm_add_ps (_mm_sub_ps (_mm_sub_ps (s0[1], s0[2]), s0[3]), b4);
        __m128 a1 = _mm_add_ps (_mm_add_ps (_mm_add_ps (s1[0], s1[1]), s1[2]), b4);
        __m128 b1 = _mm_add_ps (_mm_sub_ps (_mm_sub_ps (s1[1], s1[2]), s1[3]), b4);
        _mm_storeu_ps (y0 + 2 * tx, _mm_unpacklo_ps (a0, b0));
        _mm_storeu_ps (y0 + 2 * tx + 4, _mm_unpackhi_ps (a0, b0));
        _mm_storeu_ps (y1 + 2 * tx, _mm_unpacklo_ps (a1, b1));
        _mm_storeu_ps (y1 + 2 * tx + 4, _mm_unpackhi_ps (a1, b1));
      }
      for (; tx < tw; tx++) {
        float s0[4], s1[4];
        for (int col = 0; col < 4; col++) {
          float m0 = src[col * xi_stride + tx], m1 = src[(4 + col) * xi_stride + tx];
          float m2 = src[(8 + col) * xi_stride + tx], m3 = src[(12 + col) * xi_stride + tx];
          s0[col] = m0 + m1 + m2;
          s1[col] = m1 - m2 - m3;
        }
        y0[2 * tx] = s0[0] + s0[1] + s0[2] + b;
        y0[2 * tx + 1] = s0[1] - s0[2] - s0[3] + b;
        y1[2 * tx] = s1[0] + s1[1] + s1[2] + b;
        y1[2 * tx + 1] = s1[1] - s1[2] - s1[3] + b;
      }
    }
  }
}

/* A dy Aᵀ of every 2×2 block of one image, as the plain loop, bit for bit:
 * eight blocks at a time from the even and odd columns of their two rows. */
AVX2 void
lam_cpu_avx2_winograd_output_gradient (const float *dy, int out_c, int h, int w, float *d,
                                       size_t ldd, size_t xi_stride)
{
  int th = h / 2, tw = w / 2;
  __m256 sign = _mm256_set1_ps (-0.0f); /* -x flips the sign bit, as the plain loop's */
  for (int o = 0; o < out_c; o++)
    for (int ty = 0; ty < th; ty++) {
      const float *row0 = dy + ((size_t) o * h + 2 * ty) * w, *row1 = row0 + w;
      float *dst = d + (size_t) o * ldd + (size_t) ty * tw;
      int tx = 0;
      for (; tx + 8 <= tw; tx += 8) {
        __m256 lo = _mm256_loadu_ps (row0 + 2 * tx), hi = _mm256_loadu_ps (row0 + 2 * tx + 8);
        __m256 a = pick_pairs (lo, hi, FALSE), b = pick_pairs (lo, hi, TRUE);
        lo = _mm256_loadu_ps (row1 + 2 * tx);
        hi = _mm256_loadu_ps (row1 + 2 * tx + 8);
        __m256 c = pick_pairs (lo, hi, FALSE), e = pick_pairs (lo, hi, TRUE);
        __m256 p[4] = { a, _mm256_add_ps (a, c), _mm256_sub_ps (a, c), _mm256_xor_ps (c, sign) };
        __m256 q[4] = { b, _mm256_add_ps (b, e), _mm256_sub_ps (b, e), _mm256_xor_ps (e, sign) };
        for (int i = 0; i < 4; i++) {
          _mm256_storeu_ps (dst + (4 * i + 0) * xi_stride + tx, p[i]);
          _mm256_storeu_ps (dst + (4 * i + 1) * xi_stride + tx, _mm256_add_ps (p[i], q[i]));
          _mm256_storeu_ps (dst + (4 * i + 2) * xi_stride + tx, _mm256_sub_ps (p[i], q[i]));
          _mm256_storeu_ps (dst + (4 * i + 3) * xi_stride + tx, _mm256_xor_ps (q[i], sign));
        }
      }
      for (; tx + 4 <= tw; tx += 4) {
        __m128 sign4 = _mm256_castps256_ps128 (sign);
        __m128 lo = _mm_loadu_ps (row0 + 2 * tx), hi = _mm_loadu_ps (row0 + 2 * tx + 4);
        __m128 a = _mm_shuffle_ps (lo, hi, _MM_SHUFFLE (2, 0, 2, 0));
        __m128 b = _mm_shuffle_ps (lo, hi, _MM_SHUFFLE (3, 1, 3, 1));
        lo = _mm_loadu_ps (row1 + 2 * tx);
        hi = _mm_loadu_ps (row1 + 2 * tx + 4);
        __m128 c = _mm_shuffle_ps (lo, hi, _MM_SHUFFLE (2, 0, 2, 0));
        __m128 e = _mm_shuffle_ps (lo, hi, _MM_SHUFFLE (3, 1, 3, 1));
        __m128 p[4] = { a, _mm_add_ps (a, c), _mm_sub_ps (a, c), _mm_xor_ps (c, sign4) };
        __m128 q[4] = { b, _mm_add_ps (b, e), _mm_sub_ps (b, e), _mm_xor_ps (e, sign4) };
        for (int i = 0; i < 4; i++) {
          _mm_storeu_ps (dst + (4 * i + 0) * xi_stride + tx, p[i]);
          _mm_storeu_ps (dst + (4 * i + 1) * xi_stride + tx, _mm_add_ps (p[i], q[i]));
          _mm_storeu_ps (dst + (4 * i + 2) * xi_stride + tx, _mm_sub_ps (p[i], q[i]));
          _mm_storeu_ps (dst + (4 * i + 3) * xi_stride + tx, _mm_xor_ps (q[i], sign4));
        }
      }
      for (; tx < tw; tx++) {
        float a = row0[2 * tx], b = row0[2 * tx + 1], c = row1[2 * tx], e = row1[2 * tx + 1];
        float p[4] = { a, a + c, a - c, -c }, q[4] = { b, b + e, b - e, -e };
        for (int i = 0; i < 4; i++) {
          dst[(4 * i + 0) * xi_stride + tx] = p[i];
          dst[(4 * i + 1) * xi_stride + tx] = p[i] + q[i];
          dst[(4 * i + 2) * xi_stride + tx] = p[i] - q[i];
          dst[(4 * i + 3) * xi_stride + tx] = -q[i];
        }
      }
    }
}

#endif /* LAM_CPU_HAVE_AVX2 */
