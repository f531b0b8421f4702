/* lam-cpu-avx2.h: the AVX2 + FMA kernels of the CPU backend, for the
 * x86-64 CPUs without AVX-512 (AMD before Zen 4, most Intel desktops and
 * laptops).
 *
 * lam-cpu-avx2.c compiles them with per-function target attributes, so the
 * library still runs on any x86-64; the backend calls them only after
 * __builtin_cpu_supports said yes to both AVX2 and FMA, and only where it
 * does not call the AVX-512 ones. Each does what the plain loop it
 * replaces does, with the same contract as its lam_cpu_avx512_ namesake
 * (the Winograd transforms have none: lam-cpu-winograd.c's loops are theirs);
 * test-backend runs every op on them (LAMINA_CPU_ISA=avx2). Adam and ReLU
 * give the plain loops' results bit for bit; the products add in their own
 * order.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define LAM_CPU_HAVE_AVX2 1

/* Row-major C (m, n) = alpha * op(A) · op(B) + beta * C for NN, and for
 * NT with beta == 0 (beta == 0 never reads C), below 2^24 multiply-adds.
 * Returns 0 without touching anything for the rest, which OpenBLAS then
 * does. */
int lam_cpu_avx2_sgemm (int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                        int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* Row-major C (m, n) = alpha * op(A) · op(B) + beta * C by sums over
 * op(A)'s nonzero entries only, in order, when few enough are nonzero (a
 * gradient behind a ReLU; with trans_b, a large batch of a ReLU's
 * outputs); else returns 0 without touching anything, and for the next
 * calls with the same A and shape without counting (see below). The same
 * terms as a dense sum bar the zeros, for any ISA with AVX2; with avx512,
 * its rows' sums and transposes run lam-cpu-avx512.c's kernels, lane for
 * lane the same sums. */
int lam_cpu_avx2_sgemm_sparse (int trans_a, int trans_b, int m, int n, int k, float alpha,
                               const float *a, int lda, const float *b, int ldb, float beta,
                               float *c, int ldc, int avx512);
/* Products this thread has summed sparsely, for the tests: one found too
 * dense is counted again only every LAM_CPU_SPARSE_RECOUNT_EVERY-th call
 * with the same A and shape. */
#define LAM_CPU_SPARSE_RECOUNT_EVERY 16
unsigned long lam_cpu_avx2_sparse_products (void);

/* C (m, n) = A (m, k) · B (k, n) + row_bias (m) broadcast along each row,
 * all row-major: a convolution's product with its bias for free. */
void lam_cpu_avx2_sgemm_row_bias (int m, int n, int k, const float *a, int lda, const float *b,
                                  int ldb, const float *row_bias, float *c, int ldc);

// y (cols, rows) = x (rows, cols)ᵀ, with leading dimensions ldx and ldy
void lam_cpu_avx2_transpose (const float *x, size_t ldx, float *y, size_t ldy, int rows, int cols);

// y (n) = max (x, 0), y may be x; dx (n) = x > 0 ? dy : 0
void lam_cpu_avx2_relu_forward (const float *x, float *y, size_t n);
void lam_cpu_avx2_relu_backward (const float *x, const float *dy, float *dx, size_t n);

/* A row of a linear layer and the ReLU after it: y (n) += bias unless
 * NULL, act_y = max (y, 0) (act_y may be y); backward, dy = y > 0 ? dact_y
 * : 0 and dbias += dy unless NULL. As the plain loops, bit for bit. With
 * stream (act_y not y), act_y's aligned vectors are stored around the
 * caches, for another core to read (lam_cache_streamed_stores_done then
 * orders them). */
void lam_cpu_avx2_bias_relu (float *y, const float *bias, float *act_y, size_t n, int stream);
void lam_cpu_avx2_relu_backward_bias (const float *y, const float *dact_y, float *dy, float *dbias,
                                      size_t n);

/* "Same" padding's lowering (kh = kw = 2 * pad + 1, stride 1), as
 * lam_cpu_avx512_im2col_same, with lam_cpu_same_masks's masks of 8 lanes;
 * planes up to 2048 floats. */
void lam_cpu_avx2_im2col_same (const float *im, int c, int h, int w, int kh, int kw, int pad,
                               const uint16_t *masks, float *col, size_t ld);

/* dst (n) += src (n): a stride-1 column row added back into its image. */
void lam_cpu_avx2_accumulate (float *dst, const float *src, size_t n);

/* 2×2 windows, stride 2, no padding, planes [p0, p1) of (h, w) -> (oh, ow)
 * with oh = h / 2, ow = w / 2, as lam_cpu_avx512_maxpool2. */
void lam_cpu_avx2_maxpool2 (const float *x, float *y, int32_t *argmax, size_t p0, size_t p1, int h,
                            int w);

/* Winograd F(2×2, 3×3)'s transforms of one image (h, w even), as the
 * plain loops of lam-cpu-winograd.c, bit for bit. Input: x (c, h, w) ->
 * v[ξ * xi_stride + ci * ldv + tile], rows 2 * h * (w + 2) floats of room.
 * Output: m[ξ * xi_stride + o * ldm + tile] -> y (out_c, h, w) + bias
 * (out_c) unless NULL. */
void lam_cpu_avx2_winograd_input (const float *x, int c, int h, int w, float *v, size_t ldv,
                                  size_t xi_stride, float *rows);
void lam_cpu_avx2_winograd_output (const float *m, size_t ldm, size_t xi_stride, int out_c, int h,
                                   int w, const float *bias, float *y);
/* The output gradient through the output transform, A dy Aᵀ: dy (out_c,
 * h, w) -> d[ξ * xi_stride + o * ldd + tile]. */
void lam_cpu_avx2_winograd_output_gradient (const float *dy, int out_c, int h, int w, float *d,
                                            size_t ldd, size_t xi_stride);

// lam_cpu_avx512_divide_by_constant with eight lanes
void lam_cpu_avx2_divide_by_constant (const float *a, float *quotients, size_t n, float divisor);

/* Adam as lam_cpu_avx512_adam over the whole vectors of [0, n); returns
 * how many floats it updated (n rounded down to 8), the rest being the
 * plain loop's. */
size_t lam_cpu_avx2_adam (float *params, const float *grads, float *m, float *v, size_t n,
                          float beta1, float beta2, float eps, float step_size,
                          float correction2_sqrt, float decay, float coupled);
#endif
