/* lam-cpu-private.h: what the fast CPU backend's files share.
 *
 * The backend's state (CpuContext), its thread pool, the split of an op
 * into ranges, the one-thread product the convolutions call, and the few
 * loops two op families run alike. Each lam-cpu-*.c file defines the ops
 * of one family, declared at the end; lam-cpu-backend.c puts them in the
 * table.
 */
#pragma once

#include <glib.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "lam-backend.h"
#include "lam-cpu-split-tuner.h"
#include "lam-cpu-avx2.h"
#include "lam-cpu-avx512.h"

/* The sizes from which an op is split over threads that share a core (as
 * the two vCPUs of a small cloud machine often do): products of 64
 * MFLOP (or less: gemm_worth_splitting), activation maps of a million
 * bytes, optimizer updates and fills of a quarter of a million parameters
 * (a CNN's; an MLP's, whose gradients the thread that ran the layers
 * holds in its cache, stay whole below that). */
#define GEMM_PARALLEL_FLOPS (1 << 26)
#define ACTIVATION_PARALLEL (1 << 18)
#define PARAMETER_PARALLEL (1 << 18)

/* Where each thread has a core of its own rather than a share of one
 * (lam_cpu_threads_own_cores), products are split from a quarter of a
 * MFLOP and updates from 65,536 parameters: an MLP's layers at batch 32
 * then run on both cores, each keeping its half of the weights, their
 * gradients and Adam's moments in its own cache. On Zen 3 the first
 * layer's forward product took 88-117 µs instead of 155; mlp-b32's epoch,
 * alternating binaries, 1.07-1.22 s instead of 1.30-1.36 s from 4 MFLOP,
 * and 0.80-0.89 s against 0.84-1.02 s from 1 MFLOP instead of 4. From a
 * quarter of a MFLOP, the MLP's third layer (128 -> 64, 0.5 MFLOP a
 * product at batch 32) splits too: its three products took 5.5, 4.5 and
 * 4.3 µs instead of 7.4, 6.7 and 6.6. Where threads share a core, the
 * same split lost as often as it won. */
#define GEMM_PARALLEL_FLOPS_OWN_CORES (1 << 18)
/* Where two cores of their own are far apart, products from 4 MFLOP: of
 * an MLP at batch 32, only the first layer's (lam-cpu-split-tuner.c). */
#define GEMM_PARALLEL_FLOPS_NARROW (1 << 22)

/* A convolution splits its images over the threads from 4 MFLOP, or 64
 * KFLOP where the threads have cores of their own: a sixteenth of the
 * products' thresholds before the smaller split above, which was measured
 * on the MLP's products only. */
#define CONV_PARALLEL_FLOPS (1 << 22)
#define CONV_PARALLEL_FLOPS_OWN_CORES (1 << 16)
#define PARAMETER_PARALLEL_OWN_CORES (1 << 16)

/* ---- subnormal optimizer state ---- */

/* Adam's moments and SGD's momentum for a weight whose gradient stays 0 (a
 * unit that no longer fires) shrink by beta1 each step into subnormal
 * floats, where m settles on the smallest one: 0.9 of it rounds back to
 * it. x86 CPUs take a microcode assist for such operands; after two MLP
 * epochs 7% of the moments in the second half of the parameters were
 * subnormal, and that half's Adam took 1.76 cycles a parameter against
 * 1.17. The optimizers run with subnormals flushed to zero instead (and
 * read subnormal gradients and weights as 0): a moment below FLT_MIN would
 * move its weight by less than FLT_MIN · lr / ((1 - beta1^t) · eps), about
 * 1e-25 at the first step, below the rounding of any weight larger than
 * about 1e-18; mlp-b32's weights after three epochs are the same bit for
 * bit. */
#if defined(__x86_64__)
#include <xmmintrin.h>
#define LAM_CPU_MXCSR_FLUSH (0x8000u | 0x0040u) /* flush to zero, denormals are zero */
static inline unsigned
lam_cpu_flush_subnormals_begin (void)
{
  unsigned saved = _mm_getcsr ();
  _mm_setcsr (saved | LAM_CPU_MXCSR_FLUSH);
  return saved;
}
static inline void
lam_cpu_flush_subnormals_end (unsigned saved)
{
  _mm_setcsr (saved);
}
#else
static inline unsigned
lam_cpu_flush_subnormals_begin (void)
{
  return 0;
}
static inline void
lam_cpu_flush_subnormals_end (unsigned saved)
{
}
#endif

/* ---- thread pool (lam-cpu-threads.c) ---- */

/* One job at a time: n_tasks calls of func (task, data), task t on thread
 * t % n_threads, the caller being thread 0, unless the caller, done with
 * its own, claims it first (its worker is asleep, busy or without a core). */
typedef void (*ThreadTask) (int task, void *data);
typedef struct _ThreadPool ThreadPool;

ThreadPool *lam_cpu_threads_new (int n_threads);
/* Whether n_threads threads of this process can each run on a core no
 * other of them shares (Linux's topology of the CPUs it may use, read at
 * the first call; FALSE where it cannot tell). */
gboolean lam_cpu_threads_own_cores (int n_threads);
void lam_cpu_threads_free (ThreadPool *pool);
/* Runs func for every task in [0, n_tasks) and returns when all are done;
 * each task must write its own part of the output. pool may be NULL. */
void lam_cpu_threads_run (ThreadPool *pool, int n_tasks, ThreadTask func, void *data);

/* ---- backend state ---- */

/* The kernels the backend calls: the plain loops and OpenBLAS, or those of
 * lam-cpu-avx2.c, or those of lam-cpu-avx512.c (which leaves to the plain
 * loops the few ops it has no kernel for). */
typedef enum
{
  CPU_ISA_GENERIC,
  CPU_ISA_AVX2,
  CPU_ISA_AVX512,
} CpuIsa;

/* A block of a parameter gradient that one task of a backward op wrote,
 * and so one thread: task % n_threads. */
typedef struct
{
  const float *start;
  size_t n;
  int thread;
} GradBlock;

#define CPU_GRAD_BLOCKS_MAX 64

typedef struct
{
  int n_threads;
  ThreadPool *pool; /* NULL with one thread */
  CpuIsa isa;
  double gemm_parallel_flops; /* GEMM_PARALLEL_FLOPS or its _OWN_CORES */
  /* Where the threads have cores of their own, a CpuSplit: which of
   * gemm_parallel_flops and GEMM_PARALLEL_FLOPS_NARROW applies (atomic:
   * the trainer's thread changes it between steps while another thread
   * may be running ops). The tuner, on the trainer's thread, chooses it
   * unless tune_split is off. */
  gint split;
  gboolean tune_split;
  SplitTuner split_tuner;
  double conv_parallel_flops; /* CONV_PARALLEL_FLOPS or its _OWN_CORES */
  size_t parameter_parallel;  /* PARAMETER_PARALLEL or its _OWN_CORES */
  gboolean winograd;          /* 3×3 convolutions by lam-cpu-winograd.c where it takes them */
  /* The blocks the last backward ops wrote (lam_cpu_note_grad_block),
   * newest replacing the oldest once full; under the lock, since two
   * threads may run ops on one backend. */
  GMutex grad_blocks_lock;
  GradBlock grad_blocks[CPU_GRAD_BLOCKS_MAX];
  int n_grad_blocks, oldest_grad_block;
} CpuContext;

static inline CpuContext *
cpu_context (LamBackend *self)
{
  return self->context;
}

/* Splits [0, n) into one contiguous range per thread, in multiples of 16
 * floats so that no two share a cache line, when n reaches `threshold`;
 * else runs func on all of it. */
typedef void (*RangeFunc) (size_t lo, size_t hi, void *data);
void lam_cpu_parallel_ranges (LamBackend *self, size_t n, size_t threshold, RangeFunc func,
                              void *data);

/* The optimizer's split of a flat parameter buffer: each block of the
 * gradient `grads` (n) that a backward op noted goes to the thread that
 * wrote it, whose cache holds it and the weights its products read; the
 * rest is split as lam_cpu_parallel_ranges splits it. func's ranges index
 * grads and every buffer laid out like it (parameters, moments). Only
 * which thread updates a parameter follows from the notes, never its
 * value: a stale or missing note costs time, not results. */
void lam_cpu_parameter_ranges (LamBackend *self, const float *grads, size_t n, size_t threshold,
                               RangeFunc func, void *data);
/* Notes that `task` of a backward op wrote the gradient block [start,
 * start + n), replacing an earlier note of the same start. */
void lam_cpu_note_grad_block (LamBackend *self, const float *start, size_t n, int task);

/* The products' threshold for a split over the threads, in flops, as the
 * split in force has it. */
double lam_cpu_gemm_parallel_flops (const CpuContext *ctx);
/* Called by each optimizer update: a training step ended; the tuner may
 * change the split for the next. */
void lam_cpu_note_training_step (LamBackend *self);
/* Fixes the split (LAMINA_CPU_SPLIT=wide or narrow does too), ending the
 * tuning; for benchmarks and tests. */
void lam_cpu_set_split (LamBackend *self, CpuSplit split);

/* ---- shared loops ---- */

// y (cols, rows) = x (rows, cols)ᵀ by isa's SIMD kernels (not for the generic backend)
void lam_cpu_transpose (CpuIsa isa, const float *x, size_t ldx, float *y, size_t ldy, int rows,
                        int cols);

/* One thread's product (lam-cpu-gemm.c): the kernels of isa where they
 * apply, else OpenBLAS. */
void lam_cpu_sgemm (CpuIsa isa, int trans_a, int trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta, float *c,
                    int ldc);

/* A linear layer's product C (m, n) = A · Bᵀ on this thread, as
 * lam_cpu_sgemm takes it; where the AVX-512 NT kernel does, it also adds
 * the bias and stores act = max (C, 0) as it stores C
 * (lam_cpu_avx512_sgemm_nt_bias_relu) and returns TRUE. Otherwise the
 * caller adds the bias and applies the ReLU. */
gboolean lam_cpu_sgemm_nt_bias_relu (CpuIsa isa, int m, int n, int k, const float *a, int lda,
                                     const float *b, int ldb, const float *bias, float *c,
                                     float *act, int ldc, gboolean stream);

/* How lam_cpu_gemm splits a product C (m, n) over the threads: into
 * `parts` tasks (1: all of it on the calling thread), each a block of
 * `chunk` columns (split_n) or rows of C, the last maybe fewer. An op that
 * splits its product the same way gets the same results bit for bit. */
typedef struct
{
  int parts;
  gboolean split_n;
  int chunk;
} GemmSplit;
GemmSplit lam_cpu_gemm_split (LamBackend *self, int m, int n, int k);
/* The same product split by columns of C wherever it is split at all
 * and has columns enough for two blocks; else as lam_cpu_gemm_split. */
GemmSplit lam_cpu_gemm_split_columns (LamBackend *self, int m, int n, int k);
/* Task `part`'s columns (split_n) or rows [*lo, *hi) of C (m, n); FALSE
 * when it has none. */
gboolean lam_cpu_gemm_split_range (GemmSplit split, int part, int m, int n, int *lo, int *hi);
/* That block of lam_cpu_gemm's product, on the calling thread. */
void lam_cpu_gemm_block (CpuIsa isa, gboolean split_n, int lo, int hi, int trans_a, int trans_b,
                         int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                         int ldb, float beta, float *c, int ldc);

/* One thread's activation (lam-cpu-activation.c) of n contiguous floats,
 * as activation_forward and activation_backward describe. */
void lam_cpu_activation_forward_span (CpuIsa isa, LamActivation kind, float alpha, const float *x,
                                      float *y, size_t n);
void lam_cpu_activation_backward_span (CpuIsa isa, LamActivation kind, float alpha, const float *x,
                                       const float *y, const float *dy, float *dx, size_t n);

/* Eight running sums instead of one let the compiler vectorise the sum
 * without reassociating floating point itself. */
static inline float
sum_floats (const float *restrict x, size_t n)
{
  float acc[8] = { 0 };
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++)
      acc[l] += x[i + l];
  float sum = 0.0f;
  for (; i < n; i++)
    sum += x[i];
  for (int l = 0; l < 8; l++)
    sum += acc[l];
  return sum;
}

static inline float
row_max (const float *restrict x, int n)
{
  float m = x[0];
  for (int j = 1; j < n; j++)
    m = x[j] > m ? x[j] : m;
  return m;
}

// The row's maximum m, and log of the sum of exp (x - m). Callers subtract
// them one after the other, (x - m) - log_sum, as PyTorch does: adding them
// first (m + log_sum) loses the low bits of log_sum once m is large.
static inline float
row_shifted_logsumexp (const float *restrict x, int n, float *m_out)
{
  float m = row_max (x, n);
  float sum = 0.0f;
  for (int j = 0; j < n; j++)
    sum += expf (x[j] - m);
  *m_out = m;
  return logf (sum);
}

/* Max pooling of planes [p0, p1) (lam-cpu-pool.c), which the fused
 * convolution and pool calls image by image. */
typedef struct
{
  const float *x, *dy;
  float *y, *dx;
  int32_t *argmax;
  const int32_t *arg_in;
  int h, w, k, stride, pad, oh, ow;
  CpuIsa isa;
} PoolJob;

void lam_cpu_maxpool_forward_range (size_t p0, size_t p1, void *data);
void lam_cpu_maxpool_backward_range (size_t p0, size_t p1, void *data);

/* ---- the ops, as lam-backend.h describes them ---- */

// lam-cpu-backend.c
void lam_cpu_fill (LamBackend *self, float *x, size_t n, float value);

// lam-cpu-gemm.c
void lam_cpu_gemm (LamBackend *self, int trans_a, int trans_b, int m, int n, int k, float alpha,
                   const float *a, int lda, const float *b, int ldb, float beta, float *c,
                   int ldc);

// lam-cpu-bias.c
void lam_cpu_bias_add (LamBackend *self, float *restrict y, const float *restrict bias, int outer,
                       int channels, int inner);
void lam_cpu_bias_backward (LamBackend *self, const float *restrict dy, float *restrict dbias,
                            int outer, int channels, int inner);

// lam-cpu-activation.c
void lam_cpu_activation_forward (LamBackend *self, LamActivation kind, float alpha,
                                 const float *x, float *y, size_t n);
void lam_cpu_activation_backward (LamBackend *self, LamActivation kind, float alpha,
                                  const float *x, const float *y, const float *dy, float *dx,
                                  size_t n);

// lam-cpu-linear.c
/* How the forward op splits y (batch, out) = x · Wᵀ: by the layer's units
 * where out >= batch, in the blocks its backward op splits the weights'
 * gradient into; else as lam_cpu_gemm does. */
GemmSplit lam_cpu_linear_forward_split (LamBackend *self, int batch, int out, int in);
void lam_cpu_linear_activation_forward (LamBackend *self, const float *x, const float *weight,
                                        const float *bias, float *y, float *act_y, int batch,
                                        int in, int out, LamActivation kind, float alpha);
void lam_cpu_linear_activation_backward (LamBackend *self, const float *x, const float *weight,
                                         const float *y, const float *act_y, const float *dact_y,
                                         float *dy, float *dweight, float *dbias, float *dx,
                                         int batch, int in, int out, LamActivation kind,
                                         float alpha);

/* lam-cpu-winograd.c: y (batch, out_c, h, w) = the 3×3 convolution of
 * stride 1 and padding 1 of x (batch, in_c, h, w) with weight (out_c, in_c,
 * 3, 3), + bias unless NULL, by Winograd's F(2×2, 3×3). Flipped, weight is
 * a layer's (in_c, out_c, 3, 3) and each kernel is used rotated by 180°:
 * the layer's input gradient from its output gradient. image_done, unless
 * NULL, runs on the thread that wrote image b's y, right after. Returns
 * FALSE, having done nothing, for shapes it does not take (odd sizes, few
 * channels) or a scratch too small for it. */
typedef void (*LamCpuWinogradImageDone) (int b, const void *data);
/* Whether lam_cpu_winograd_conv takes a convolution of this shape (kh×kw
 * kernels, stride, pad) with this much scratch. */
gboolean lam_cpu_winograd_fits (LamBackend *self, int batch, int in_c, int out_c, int h, int w,
                                int kh, int kw, int stride, int pad, size_t scratch_floats);
/* The same convolution's weight gradient, from x (batch, c, h, w) and dy
 * (batch, out_c, h, w): dweight (out_c, c, 3, 3) +=, dbias (out_c) +=
 * unless NULL. dy_ready, unless NULL, runs for image b before its dy is
 * read (on the thread that reads it). The fits says whether it takes the
 * shape and scratch; else the call returns FALSE having done nothing. */
gboolean lam_cpu_winograd_weight_gradient_fits (LamBackend *self, int batch, int c, int out_c,
                                                int h, int w, int kh, int kw, int stride, int pad,
                                                size_t scratch_floats);
gboolean lam_cpu_winograd_weight_gradient (LamBackend *self, const float *x, const float *dy,
                                           float *dweight, float *dbias, int batch, int c,
                                           int out_c, int h, int w,
                                           LamCpuWinogradImageDone dy_ready,
                                           const void *dy_ready_data, float *scratch,
                                           size_t scratch_floats);
gboolean lam_cpu_winograd_conv (LamBackend *self, const float *x, const float *weight,
                                gboolean flipped, const float *bias, float *y, int batch, int in_c,
                                int out_c, int h, int w, LamCpuWinogradImageDone image_done,
                                const void *image_done_data, float *scratch, size_t scratch_floats);

// lam-cpu-conv.c
void lam_cpu_conv2d_forward (LamBackend *self, const float *x, const float *weight,
                             const float *bias, float *y, int batch, int c, int h, int w,
                             int out_c, int kh, int kw, int stride, int pad, float *scratch,
                             size_t scratch_floats);
void lam_cpu_conv2d_backward (LamBackend *self, const float *x, const float *weight,
                              const float *dy, float *dweight, float *dbias, float *dx, int batch,
                              int c, int h, int w, int out_c, int kh, int kw, int stride, int pad,
                              float *scratch, size_t scratch_floats);
void lam_cpu_conv2d_maxpool2_forward (LamBackend *self, const float *x, const float *weight,
                                      const float *bias, float *y, float *pooled,
                                      int32_t *argmax, int batch, int c, int h, int w, int out_c,
                                      int kh, int kw, int stride, int pad, float *scratch,
                                      size_t scratch_floats);
void lam_cpu_conv2d_maxpool2_backward (LamBackend *self, const float *x, const float *weight,
                                       const float *dpooled, const int32_t *argmax, float *dy,
                                       float *dweight, float *dbias, float *dx, int batch, int c,
                                       int h, int w, int out_c, int kh, int kw, int stride,
                                       int pad, float *scratch, size_t scratch_floats);

// lam-cpu-pool.c
void lam_cpu_maxpool_forward (LamBackend *self, const float *x, float *y, int32_t *argmax,
                              int planes, int h, int w, int k, int stride, int pad);
void lam_cpu_maxpool_backward (LamBackend *self, const float *dy, const int32_t *argmax,
                               float *dx, int planes, int h, int w, int oh, int ow);
void lam_cpu_avgpool_forward (LamBackend *self, const float *restrict x, float *restrict y,
                              int planes, int h, int w, int k, int stride, int pad);
void lam_cpu_avgpool_backward (LamBackend *self, const float *restrict dy, float *restrict dx,
                               int planes, int h, int w, int k, int stride, int pad);

// lam-cpu-softmax.c
void lam_cpu_softmax_forward (LamBackend *self, const float *restrict x, float *restrict y,
                              int rows, int cols, int log);
void lam_cpu_softmax_backward (LamBackend *self, const float *y, const float *dy, float *dx,
                               int rows, int cols, int log);

// lam-cpu-dropout.c
void lam_cpu_dropout_forward (LamBackend *self, const float *x, float *y, float *restrict mask,
                              size_t n, double p, uint64_t seed);
void lam_cpu_dropout_backward (LamBackend *self, const float *dy, const float *restrict mask,
                               float *dx, size_t n);

/* lam-cpu-batchnorm.c */
void lam_cpu_batchnorm_forward (LamBackend *self, const float *x, const float *gamma,
                                const float *beta, float *running_mean, float *running_var,
                                float *batches_tracked, float *saved, float *y, int outer,
                                int channels, int inner, int training, double momentum,
                                double eps);
void lam_cpu_batchnorm_backward (LamBackend *self, const float *x, const float *dy,
                                 const float *gamma, const float *saved, float *dgamma,
                                 float *dbeta, float *dx, int outer, int channels, int inner,
                                 int training);

// lam-cpu-loss.c
void lam_cpu_softmax_xent (LamBackend *self, const float *restrict x,
                           const int32_t *restrict labels, int rows, int cols, float grad_scale,
                           float *restrict dx, float *loss_acc);
void lam_cpu_nll (LamBackend *self, const float *restrict x, const int32_t *restrict labels,
                  int rows, int cols, float grad_scale, float *restrict dx, float *loss_acc);
void lam_cpu_mse (LamBackend *self, const float *restrict x, const int32_t *restrict labels,
                  int rows, int cols, float grad_scale, float *restrict dx, float *loss_acc);
void lam_cpu_mse_targets (LamBackend *self, const float *restrict x,
                          const float *restrict targets, int rows, int cols, float grad_scale,
                          float *restrict dx, float *loss_acc);
void lam_cpu_l1_targets (LamBackend *self, const float *restrict x, const float *restrict targets,
                         int rows, int cols, float grad_scale, float *restrict dx,
                         float *loss_acc);
void lam_cpu_argmax_rows (LamBackend *self, const float *restrict x, int rows, int cols,
                          int32_t *restrict out);
void lam_cpu_count_correct (LamBackend *self, const float *restrict x,
                            const int32_t *restrict labels, int rows, int cols,
                            float *correct_acc);

// lam-cpu-optim.c
void lam_cpu_sgd_update (LamBackend *self, float *params, const float *grads,
                         float *momentum_buf, size_t n, float lr, float momentum,
                         float dampening, float weight_decay, int nesterov, int first_step);
void lam_cpu_adam_update (LamBackend *self, float *params, const float *grads, float *m,
                          float *v, size_t n, float lr, float beta1, float beta2, float eps,
                          float weight_decay, int decoupled, int step);
void lam_cpu_l1_penalty (LamBackend *self, const float *params, float *grads, size_t n,
                         float strength);
