/* lam-cpu-avx512.h: the AVX-512 kernels of the CPU backend.
 *
 * lam-cpu-avx512.c compiles them with per-function target attributes, so
 * the library still runs on any x86-64; the backend calls them only after
 * __builtin_cpu_supports said yes. Each does what the plain loop it
 * replaces does (beside the call, in the lam-cpu-*.c file of its op
 * family), and test-backend runs every op both ways. Pointers are host
 * memory; no kernel allocates, except that the NT product keeps room for
 * its transposes per thread (freed with the thread).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define LAM_CPU_HAVE_AVX512 1

/* Row-major C (m, n) = alpha * op(A) · op(B) + beta * C for the
 * transposition pairs NN, TN and NT (as the gemm op; beta == 0 never reads
 * C). Returns 0 without touching anything for TT. */
int lam_cpu_avx512_sgemm (int trans_a, int trans_b, int m, int n, int k, float alpha,
                          const float *a, int lda, const float *b, int ldb, float beta, float *c,
                          int ldc);

/* A linear layer with its ReLU: C (m, n) = A · Bᵀ + bias (n) along each
 * row (none where NULL) and act = max (C, 0), bit for bit the NT product
 * above and lam_cpu_avx2_bias_relu after it. act may be c; with stream,
 * act's whole aligned lines are stored around the caches (the caller then
 * calls lam_cache_streamed_stores_done). Only where
 * lam_cpu_avx512_nt_by_transposes (n, k), whose transposes it shares. */
// Whether the NT product with beta 0 runs as Cᵀ = B·Aᵀ, by transposes.
int lam_cpu_avx512_nt_by_transposes (int n, int k);
void lam_cpu_avx512_sgemm_nt_bias_relu (int m, int n, int k, const float *a, int lda,
                                        const float *b, int ldb, const float *bias, float *c,
                                        float *act, int ldc, int stream);

/* C (m, n) = A (m, k) · B (k, n) + row_bias (m) broadcast along each row,
 * all row-major: a convolution's product with its bias for free. */
void lam_cpu_avx512_sgemm_row_bias (int m, int n, int k, const float *a, int lda, const float *b,
                                    int ldb, const float *row_bias, float *c, int ldc);

/* C (1, cols) = alpha · Σ_t value[t] · B(index[t], 0..cols) + beta · C
 * for cols up to LAM_CPU_AVX512_SPARSE_COLS (beta == 0 never reads C): a
 * row of lam_cpu_avx2_sgemm_sparse's product from the list of its nonzero
 * entries, the same sums as its AVX2 rows. */
#define LAM_CPU_AVX512_SPARSE_COLS 128
void lam_cpu_avx512_sparse_row (int count, const int32_t *index, const float *value, const float *b,
                                ptrdiff_t ldb, int cols, float alpha, float beta, float *c);

// y (cols, rows) = x (rows, cols)ᵀ, with leading dimensions ldx and ldy
void lam_cpu_avx512_transpose (const float *x, size_t ldx, float *y, size_t ldy, int rows,
                               int cols);

// y (n) = max (x, 0); dx (n) = x > 0 ? dy : 0
void lam_cpu_avx512_relu_forward (const float *x, float *y, size_t n);
void lam_cpu_avx512_relu_backward (const float *x, const float *dy, float *dx, size_t n);

/* Stride-1 lowering of one image: im (c, h, w) <-> col (c*kh*kw, oh*ow)
 * with rows ld apart; col2im adds into im. */
void lam_cpu_avx512_im2col_s1 (const float *im, int c, int h, int w, int kh, int kw, int pad,
                               float *col, size_t ld);
void lam_cpu_avx512_col2im_s1 (const float *col, int c, int h, int w, int kh, int kw, int pad,
                               size_t ld, float *im);
/* The same for "same" padding (kh = kw = 2 * pad + 1, stride 1): a column
 * row is the flattened plane shifted, zero where the shift leaves it.
 * lam_cpu_same_masks makes the zero pattern for one op, one mask of
 * `lanes` bits (16 here, 8 for the AVX2 kernels) per vector, returning 0
 * and making nothing for other shapes or planes above
 * LAM_CPU_SAME_MAX_VECTORS vectors; masks holds
 * LAM_CPU_SAME_MAX_TAPS * LAM_CPU_SAME_MAX_VECTORS. */
#define LAM_CPU_SAME_MAX_TAPS 49
#define LAM_CPU_SAME_MAX_VECTORS 256
int lam_cpu_same_masks (int h, int w, int kh, int kw, int pad, int lanes, uint16_t *masks);
void lam_cpu_avx512_im2col_same (const float *im, int c, int h, int w, int kh, int kw, int pad,
                                 const uint16_t *masks, float *col, size_t ld);
void lam_cpu_avx512_col2im_same (const float *col, int c, int h, int w, int kh, int kw, int pad,
                                 const uint16_t *masks, size_t ld, float *im);

/* 2×2 windows, stride 2, no padding, planes [p0, p1) of (h, w) -> (oh, ow)
 * with oh = h / 2, ow = w / 2. The backward writes every dx of a plane
 * (so it needs no clearing first) and returns 0, leaving the plane
 * half-written, when some argmax lies outside its output's 2×2 block. */
void lam_cpu_avx512_maxpool2 (const float *x, float *y, int32_t *argmax, size_t p0, size_t p1,
                              int h, int w);
int lam_cpu_avx512_maxpool2_backward_plane (const float *dy, const int32_t *argmax, float *dx,
                                            int h, int w);

/* Winograd F(2×2, 3×3)'s input transform of one image, x (c, h, w) ->
 * v[ξ * xi_stride + ci * ldv + tile], as lam-cpu-winograd.c's plain loop
 * bit for bit, for planes of an even width up to 32 (h even); returns 0,
 * doing nothing, for other widths. */
int lam_cpu_avx512_winograd_input (const float *x, int c, int h, int w, float *v, size_t ldv,
                                   size_t xi_stride);

/* Its output transform, m[ξ * xi_stride + o * ldm + tile] -> y (out_c,
 * h, w) with the bias added, and the output gradient's, dy (out_c, h, w)
 * -> d[ξ * xi_stride + o * ldd + tile], likewise. */
int lam_cpu_avx512_winograd_output (const float *m, size_t ldm, size_t xi_stride, int out_c, int h,
                                    int w, const float *bias, float *y);
int lam_cpu_avx512_winograd_output_gradient (const float *dy, int out_c, int h, int w, float *d,
                                             size_t ldd, size_t xi_stride);

/* quotients (n) = a (n) / divisor, rounded as the division rounds them,
 * by the multiply-and-correct step Adam's kernel divides with; for the
 * test that holds it to the division. */
void lam_cpu_avx512_divide_by_constant (const float *a, float *quotients, size_t n, float divisor);

/* Adam over [0, n): p = p * decay; g = grad + coupled * p; m, v moments;
 * p -= step_size * m / (sqrt (v) / correction2_sqrt + eps). */
void lam_cpu_avx512_adam (float *params, const float *grads, float *m, float *v, size_t n,
                          float beta1, float beta2, float eps, float step_size,
                          float correction2_sqrt, float decay, float coupled);
#endif
