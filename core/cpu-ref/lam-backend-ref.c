/* lam-backend-ref.c: the reference CPU backend.
 *
 * Each op is the formula of its comment in lam-backend.h written as loops,
 * in the order a reader would write them by hand, so that the file reads
 * top to bottom as a small textbook of what a training step computes. No
 * threads, no SIMD, no BLAS. Sums are kept in double and rounded once at
 * the end, which makes the reference closer to the exact answer than any
 * float kernel: the fast backends are then held to it within a tolerance
 * that grows with the length of the sum.
 *
 * Shapes are written as in llm.c: x (batch, c, h, w) is a row-major array
 * whose last index varies fastest. Gradient rule: parameter gradients +=,
 * activation gradients =.
 *
 * The ops that need scratch or fuse two steps (conv2d_*, the fused
 * convolution and 2×2 max pool) compute from the definition and ignore
 * the scratch; the fused ones simply call the two ops they stand for.
 */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "lam-backend-ref.h"

#define REF_ALIGNMENT 64

/* Requests above a tebibyte are refused, as the fast CPU backend does. */
#define REF_MAX_ALLOC (G_GUINT64_CONSTANT (1) << 40)

/* ---- memory: device memory is host memory ---- */

/* 64-byte aligned and zero-filled; the block's own address sits just below
 * the aligned pointer so that free can find it. */
static void *
ref_alloc (LamBackend *self, size_t bytes)
{
  if ((guint64) bytes > REF_MAX_ALLOC || bytes > G_MAXSIZE - REF_ALIGNMENT - sizeof (void *))
    return NULL;
  char *raw = g_try_malloc0 (bytes + REF_ALIGNMENT + sizeof (void *));
  if (raw == NULL)
    return NULL;
  guintptr start = (guintptr) (raw + sizeof (void *));
  void **aligned = (void **) ((start + REF_ALIGNMENT - 1) & ~(guintptr) (REF_ALIGNMENT - 1));
  aligned[-1] = raw;
  return aligned;
}

static void
ref_free (LamBackend *self, void *ptr)
{
  if (ptr != NULL)
    g_free (((void **) ptr)[-1]);
}

// upload, download and copy are all the same memcpy here
static void
ref_memcpy (LamBackend *self, void *dst, const void *src, size_t bytes)
{
  if (bytes > 0 && dst != src)
    memcpy (dst, src, bytes);
}

static void
ref_synchronize (LamBackend *self)
{
}

static void
ref_destroy (LamBackend *self)
{
  g_free (self);
}

// x (n) = value
static void
ref_fill (LamBackend *self, float *x, size_t n, float value)
{
  for (size_t i = 0; i < n; i++)
    x[i] = value;
}

/* ---- matrix product ---- */

/* c (m, n) = alpha * op(a) (m, k) · op(b) (k, n) + beta * c.
 * op(a)[i][p] is a[i*lda + p], or a[p*lda + i] when trans_a;
 * op(b)[p][j] is b[p*ldb + j], or b[j*ldb + p] when trans_b.
 * beta == 0 means c is not read (it may hold NaN). */
static void
ref_gemm (LamBackend *self, int trans_a, int trans_b, int m, int n, int k, float alpha,
          const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double sum = 0.0;
      for (int p = 0; p < k; p++) {
        float av = trans_a ? a[(size_t) p * lda + i] : a[(size_t) i * lda + p];
        float bv = trans_b ? b[(size_t) j * ldb + p] : b[(size_t) p * ldb + j];
        sum += (double) av * bv;
      }
      float *cij = &c[(size_t) i * ldc + j];
      double old = beta == 0.0f ? 0.0 : (double) beta * *cij;
      *cij = (float) (alpha * sum + old);
    }
}

/* ---- bias ---- */

// y[o][ch][i] += bias[ch], y (outer, channels, inner)
static void
ref_bias_add (LamBackend *self, float *y, const float *bias, int outer, int channels, int inner)
{
  for (int o = 0; o < outer; o++)
    for (int ch = 0; ch < channels; ch++)
      for (int i = 0; i < inner; i++)
        y[((size_t) o * channels + ch) * inner + i] += bias[ch];
}

// dbias[ch] += sum over o and i of dy[o][ch][i]
static void
ref_bias_backward (LamBackend *self, const float *dy, float *dbias, int outer, int channels,
                   int inner)
{
  for (int ch = 0; ch < channels; ch++) {
    double sum = dbias[ch];
    for (int o = 0; o < outer; o++)
      for (int i = 0; i < inner; i++)
        sum += dy[((size_t) o * channels + ch) * inner + i];
    dbias[ch] = (float) sum;
  }
}

/* ---- activations ---- */

/* relu(x) = max(x, 0); leaky_relu(x) = x > 0 ? x : alpha x;
 * sigmoid(x) = 1 / (1 + e^-x); tanh(x). */
static double
activation (LamActivation kind, double alpha, double x)
{
  switch (kind) {
  case LAM_ACTIVATION_RELU:
    return x > 0.0 ? x : 0.0;
  case LAM_ACTIVATION_LEAKY_RELU:
    return x > 0.0 ? x : alpha * x;
  case LAM_ACTIVATION_SIGMOID:
    return 1.0 / (1.0 + exp (-x));
  case LAM_ACTIVATION_TANH:
    return tanh (x);
  default:
    g_return_val_if_reached (NAN);
  }
}

/* The gradient f'(x) * dy, from the input x for the ReLUs and from the
 * output y for the others: sigmoid' = y (1 - y), tanh' = 1 - y². The
 * ReLUs pass dy or 0 rather than multiply by 1 or 0, as PyTorch does,
 * so that a negative dy gives +0, not -0. */
static double
activation_gradient (LamActivation kind, double alpha, double x, double y, double dy)
{
  switch (kind) {
  case LAM_ACTIVATION_RELU:
    return x > 0.0 ? dy : 0.0;
  case LAM_ACTIVATION_LEAKY_RELU:
    return x > 0.0 ? dy : alpha * dy;
  case LAM_ACTIVATION_SIGMOID:
    return y * (1.0 - y) * dy;
  case LAM_ACTIVATION_TANH:
    return (1.0 - y * y) * dy;
  default:
    g_return_val_if_reached (NAN);
  }
}

// y[i] = f(x[i]); y may alias x
static void
ref_activation_forward (LamBackend *self, LamActivation kind, float alpha, const float *x,
                        float *y, size_t n)
{
  for (size_t i = 0; i < n; i++)
    y[i] = (float) activation (kind, alpha, x[i]);
}

// dx[i] = f'(x[i]) * dy[i]; dx may alias dy
static void
ref_activation_backward (LamBackend *self, LamActivation kind, float alpha, const float *x,
                         const float *y, const float *dy, float *dx, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    /* Only the ReLUs read x and only sigmoid and tanh read y, so a caller
     * may pass just the one its function needs. */
    gboolean reads_x = kind == LAM_ACTIVATION_RELU || kind == LAM_ACTIVATION_LEAKY_RELU;
    double xi = reads_x ? x[i] : 0.0, yi = reads_x ? 0.0 : y[i];
    dx[i] = (float) activation_gradient (kind, alpha, xi, yi, dy[i]);
  }
}

/* ---- convolution ---- */

// oh = (h + 2 pad - k) / stride + 1, the number of window positions along one axis
static int
out_size (int size, int k, int stride, int pad)
{
  return (size + 2 * pad - k) / stride + 1;
}

/* y[b][o][oy][ox] = bias[o] + sum over ci, ky, kx of
 *   weight[o][ci][ky][kx] * x[b][ci][oy*stride - pad + ky][ox*stride - pad + kx],
 * the x outside the image being 0. x (batch, c, h, w), weight (out_c, c, kh, kw),
 * y (batch, out_c, oh, ow). */
static void
ref_conv2d_forward (LamBackend *self, const float *x, const float *weight, const float *bias,
                    float *y, int batch, int c, int h, int w, int out_c, int kh, int kw,
                    int stride, int pad, float *scratch, size_t scratch_floats)
{
  int oh = out_size (h, kh, stride, pad), ow = out_size (w, kw, stride, pad);
  for (int b = 0; b < batch; b++)
    for (int o = 0; o < out_c; o++)
      for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
          double sum = bias != NULL ? bias[o] : 0.0;
          for (int ci = 0; ci < c; ci++)
            for (int ky = 0; ky < kh; ky++)
              for (int kx = 0; kx < kw; kx++) {
                int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                  continue;
                sum += (double) weight[(((size_t) o * c + ci) * kh + ky) * kw + kx] *
                       x[(((size_t) b * c + ci) * h + iy) * w + ix];
              }
          y[(((size_t) b * out_c + o) * oh + oy) * ow + ox] = (float) sum;
        }
}

/* The same sums read backwards:
 *   dweight[o][ci][ky][kx] += sum over b, oy, ox of dy[b][o][oy][ox] * x[b][ci][iy][ix]
 *   dbias[o]               += sum over b, oy, ox of dy[b][o][oy][ox]
 *   dx[b][ci][iy][ix]       = sum over o, ky, kx of dy[b][o][oy][ox] * weight[o][ci][ky][kx]
 * with iy = oy*stride - pad + ky and ix likewise; for dx that means the
 * (oy, ox) with oy*stride = iy + pad - ky, whole and inside the output. */
static void
ref_conv2d_backward (LamBackend *self, const float *x, const float *weight, const float *dy,
                     float *dweight, float *dbias, float *dx, int batch, int c, int h, int w,
                     int out_c, int kh, int kw, int stride, int pad, float *scratch,
                     size_t scratch_floats)
{
  int oh = out_size (h, kh, stride, pad), ow = out_size (w, kw, stride, pad);

  for (int o = 0; o < out_c; o++)
    for (int ci = 0; ci < c; ci++)
      for (int ky = 0; ky < kh; ky++)
        for (int kx = 0; kx < kw; kx++) {
          size_t wi = (((size_t) o * c + ci) * kh + ky) * kw + kx;
          double sum = dweight[wi];
          for (int b = 0; b < batch; b++)
            for (int oy = 0; oy < oh; oy++)
              for (int ox = 0; ox < ow; ox++) {
                int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                  continue;
                sum += (double) dy[(((size_t) b * out_c + o) * oh + oy) * ow + ox] *
                       x[(((size_t) b * c + ci) * h + iy) * w + ix];
              }
          dweight[wi] = (float) sum;
        }

  if (dbias != NULL)
    for (int o = 0; o < out_c; o++) {
      double sum = dbias[o];
      for (int b = 0; b < batch; b++)
        for (int i = 0; i < oh * ow; i++)
          sum += dy[((size_t) b * out_c + o) * oh * ow + i];
      dbias[o] = (float) sum;
    }

  if (dx == NULL)
    return;
  for (int b = 0; b < batch; b++)
    for (int ci = 0; ci < c; ci++)
      for (int iy = 0; iy < h; iy++)
        for (int ix = 0; ix < w; ix++) {
          double sum = 0.0;
          for (int o = 0; o < out_c; o++)
            for (int ky = 0; ky < kh; ky++)
              for (int kx = 0; kx < kw; kx++) {
                int ty = iy + pad - ky, tx = ix + pad - kx;
                if (ty < 0 || tx < 0 || ty % stride != 0 || tx % stride != 0)
                  continue;
                int oy = ty / stride, ox = tx / stride;
                if (oy >= oh || ox >= ow)
                  continue;
                sum += (double) dy[(((size_t) b * out_c + o) * oh + oy) * ow + ox] *
                       weight[(((size_t) o * c + ci) * kh + ky) * kw + kx];
              }
          dx[(((size_t) b * c + ci) * h + iy) * w + ix] = (float) sum;
        }
}

/* ---- pooling ---- */

/* y[p][oy][ox] = the maximum of x[p] over the k×k window at
 * (oy*stride - pad, ox*stride - pad), padded positions left out;
 * argmax[p][oy][ox] = iy*w + ix of that maximum. Ties keep the first in
 * row-major order and a NaN wins, as PyTorch does; a window wholly in the
 * padding gives 0 and argmax -1. */
static void
ref_maxpool_forward (LamBackend *self, const float *x, float *y, int32_t *argmax, int planes,
                     int h, int w, int k, int stride, int pad)
{
  int oh = out_size (h, k, stride, pad), ow = out_size (w, k, stride, pad);
  for (int p = 0; p < planes; p++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        float best = 0.0f;
        int32_t best_index = -1;
        for (int ky = 0; ky < k; ky++)
          for (int kx = 0; kx < k; kx++) {
            int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w)
              continue;
            float v = x[((size_t) p * h + iy) * w + ix];
            if (best_index < 0 || v > best || isnan (v)) {
              best = v;
              best_index = iy * w + ix;
            }
          }
        size_t at = ((size_t) p * oh + oy) * ow + ox;
        y[at] = best;
        argmax[at] = best_index;
      }
}

// dx[p][argmax[p][o]] += dy[p][o] for every output o, dx being zero first
static void
ref_maxpool_backward (LamBackend *self, const float *dy, const int32_t *argmax, float *dx,
                      int planes, int h, int w, int oh, int ow)
{
  memset (dx, 0, sizeof (float) * planes * h * w);
  for (int p = 0; p < planes; p++)
    for (int o = 0; o < oh * ow; o++) {
      int32_t at = argmax[(size_t) p * oh * ow + o];
      if (at >= 0)
        dx[(size_t) p * h * w + at] += dy[(size_t) p * oh * ow + o];
    }
}

/* y[p][oy][ox] = (sum of x[p] over the k×k window) / (k*k), padded
 * positions counting as 0 (PyTorch's count_include_pad=True); k*k in double,
 * as it overflows an int past 46340. */
static void
ref_avgpool_forward (LamBackend *self, const float *x, float *y, int planes, int h, int w, int k,
                     int stride, int pad)
{
  int oh = out_size (h, k, stride, pad), ow = out_size (w, k, stride, pad);
  for (int p = 0; p < planes; p++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        double sum = 0.0;
        for (int ky = 0; ky < k; ky++)
          for (int kx = 0; kx < k; kx++) {
            int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w)
              sum += x[((size_t) p * h + iy) * w + ix];
          }
        y[((size_t) p * oh + oy) * ow + ox] = (float) (sum / ((double) k * k));
      }
}

/* dx[p][iy][ix] = sum over the windows that hold (iy, ix) of
 * dy[p][oy][ox] / (k*k). */
static void
ref_avgpool_backward (LamBackend *self, const float *dy, float *dx, int planes, int h, int w,
                      int k, int stride, int pad)
{
  int oh = out_size (h, k, stride, pad), ow = out_size (w, k, stride, pad);
  for (int p = 0; p < planes; p++)
    for (int iy = 0; iy < h; iy++)
      for (int ix = 0; ix < w; ix++) {
        double sum = 0.0;
        for (int oy = 0; oy < oh; oy++)
          for (int ox = 0; ox < ow; ox++) {
            int y0 = oy * stride - pad, x0 = ox * stride - pad;
            if (iy >= y0 && iy < y0 + k && ix >= x0 && ix < x0 + k)
              sum += dy[((size_t) p * oh + oy) * ow + ox];
          }
        dx[((size_t) p * h + iy) * w + ix] = (float) (sum / ((double) k * k));
      }
}

/* The fused convolution and 2×2 max pool of stride 2: the two ops in turn,
 * the pool over the batch*out_c planes of y. */
static void
ref_conv2d_maxpool2_forward (LamBackend *self, const float *x, const float *weight,
                             const float *bias, float *y, float *pooled, int32_t *argmax,
                             int batch, int c, int h, int w, int out_c, int kh, int kw, int stride,
                             int pad, float *scratch, size_t scratch_floats)
{
  int oh = out_size (h, kh, stride, pad), ow = out_size (w, kw, stride, pad);
  ref_conv2d_forward (self, x, weight, bias, y, batch, c, h, w, out_c, kh, kw, stride, pad,
                      scratch, scratch_floats);
  ref_maxpool_forward (self, y, pooled, argmax, batch * out_c, oh, ow, 2, 2, 0);
}

// dpooled through argmax -> dy, then the convolution's backward from dy
static void
ref_conv2d_maxpool2_backward (LamBackend *self, const float *x, const float *weight,
                              const float *dpooled, const int32_t *argmax, float *dy,
                              float *dweight, float *dbias, float *dx, int batch, int c, int h,
                              int w, int out_c, int kh, int kw, int stride, int pad,
                              float *scratch, size_t scratch_floats)
{
  int oh = out_size (h, kh, stride, pad), ow = out_size (w, kw, stride, pad);
  ref_maxpool_backward (self, dpooled, argmax, dy, batch * out_c, oh, ow, oh / 2, ow / 2);
  ref_conv2d_backward (self, x, weight, dy, dweight, dbias, dx, batch, c, h, w, out_c, kh, kw,
                       stride, pad, scratch, scratch_floats);
}

/* ---- softmax ---- */

/* Row r of x (rows, cols) has its maximum m, subtracted so that no
 * exponential overflows, and s = sum_j e^(x[j] - m). Then
 *   softmax:     y[j] = e^(x[j] - m) / s
 *   log_softmax: y[j] = (x[j] - m) - log s */
static double
row_max (const float *x, int cols)
{
  double m = x[0];
  for (int j = 1; j < cols; j++)
    if (x[j] > m)
      m = x[j];
  return m;
}

static double
row_sum_exp (const float *x, int cols, double m)
{
  double s = 0.0;
  for (int j = 0; j < cols; j++)
    s += exp (x[j] - m);
  return s;
}

static void
ref_softmax_forward (LamBackend *self, const float *x, float *y, int rows, int cols,
                     int use_log)
{
  for (int r = 0; r < rows; r++) {
    const float *in = x + (size_t) r * cols;
    float *out = y + (size_t) r * cols;
    double m = row_max (in, cols);
    double s = row_sum_exp (in, cols, m);
    for (int j = 0; j < cols; j++)
      out[j] = (float) (use_log ? (in[j] - m) - log (s) : exp (in[j] - m) / s);
  }
}

/* From the forward's output y and dy, row by row:
 *   softmax:     dx[j] = y[j] * (dy[j] - sum_i dy[i] y[i])
 *   log_softmax: dx[j] = dy[j] - e^y[j] * sum_i dy[i]
 * dx may alias dy: the sum is taken before any dx is written. */
static void
ref_softmax_backward (LamBackend *self, const float *y, const float *dy, float *dx, int rows,
                      int cols, int use_log)
{
  for (int r = 0; r < rows; r++) {
    const float *out = y + (size_t) r * cols, *g = dy + (size_t) r * cols;
    float *grad = dx + (size_t) r * cols;
    double s = 0.0;
    for (int j = 0; j < cols; j++)
      s += use_log ? (double) g[j] : (double) g[j] * out[j];
    for (int j = 0; j < cols; j++)
      grad[j] = (float) (use_log ? g[j] - exp (out[j]) * s : out[j] * (g[j] - s));
  }
}

/* ---- dropout ---- */

/* Inverted dropout: element i is kept when u(seed, i) >= p and then scaled
 * by 1 / (1 - p) (worked out in double, rounded once), else zeroed:
 *   mask[i] = keep ? 1 / (1 - p) : 0,  y[i] = x[i] * mask[i].
 * p <= 0 keeps everything unscaled; p >= 1 drops everything. */
static void
ref_dropout_forward (LamBackend *self, const float *x, float *y, float *mask, size_t n, double p,
                     uint64_t seed)
{
  float scale = p <= 0.0 ? 1.0f : p < 1.0 ? (float) (1.0 / (1.0 - p)) : 0.0f;
  for (size_t i = 0; i < n; i++) {
    mask[i] = p <= 0.0 || lam_hash_uniform (seed, i) >= p ? scale : 0.0f;
    y[i] = x[i] * mask[i];
  }
}

// dx[i] = dy[i] * mask[i]
static void
ref_dropout_backward (LamBackend *self, const float *dy, const float *mask, float *dx, size_t n)
{
  for (size_t i = 0; i < n; i++)
    dx[i] = dy[i] * mask[i];
}

/* ---- batch normalisation ---- */

// element i of channel c in sample o of x (outer, channels, inner)
#define BN_AT(o, c, i) (((size_t) (o) * channels + (c)) * inner + (i))

/* Per channel c over its m = outer × inner values:
 *   training: mean = Σ x / m, var = Σ (x - mean)² / m; the running statistics
 *   move towards mean and var × m / (m - 1);
 *   evaluation: mean and var are the running ones.
 *   y = (x - mean) / sqrt(var + eps) × gamma[c] + beta[c] */
static void
ref_batchnorm_forward (LamBackend *self, const float *x, const float *gamma, const float *beta,
                       float *running_mean, float *running_var, float *batches_tracked,
                       float *saved, float *y, int outer, int channels, int inner, int training,
                       double momentum, double eps)
{
  double m = (double) outer * inner;
  for (int c = 0; c < channels; c++) {
    double mean, var;
    if (training) {
      double sum = 0;
      for (int o = 0; o < outer; o++)
        for (int i = 0; i < inner; i++)
          sum += x[BN_AT (o, c, i)];
      mean = sum / m;
      double squares = 0;
      for (int o = 0; o < outer; o++)
        for (int i = 0; i < inner; i++)
          squares += (x[BN_AT (o, c, i)] - mean) * (x[BN_AT (o, c, i)] - mean);
      var = squares / m;
      double unbiased = m > 1 ? squares / (m - 1) : var;
      running_mean[c] = (float) ((1 - momentum) * running_mean[c] + momentum * mean);
      running_var[c] = (float) ((1 - momentum) * running_var[c] + momentum * unbiased);
    } else {
      mean = running_mean[c];
      var = running_var[c];
    }
    saved[c] = (float) mean;
    saved[channels + c] = (float) (1 / sqrt (var + eps));
    for (int o = 0; o < outer; o++)
      for (int i = 0; i < inner; i++)
        y[BN_AT (o, c, i)] =
          (x[BN_AT (o, c, i)] - saved[c]) * saved[channels + c] * gamma[c] + beta[c];
  }
  if (training && batches_tracked != NULL)
    *batches_tracked += 1;
}

/* With x̂ = (x - mean) / std and y = gamma x̂ + beta:
 *   dgamma += Σ dy x̂, dbeta += Σ dy;
 *   training (mean and std depend on every x of the channel):
 *     dx = gamma / std × (dy - Σ dy / m - x̂ Σ (dy x̂) / m);
 *   evaluation (they are constants): dx = gamma / std × dy. */
static void
ref_batchnorm_backward (LamBackend *self, const float *x, const float *dy, const float *gamma,
                        const float *saved, float *dgamma, float *dbeta, float *dx, int outer,
                        int channels, int inner, int training)
{
  double m = (double) outer * inner;
  for (int c = 0; c < channels; c++) {
    double mean = saved[c], invstd = saved[channels + c];
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int o = 0; o < outer; o++)
      for (int i = 0; i < inner; i++) {
        double xhat = (x[BN_AT (o, c, i)] - mean) * invstd;
        sum_dy += dy[BN_AT (o, c, i)];
        sum_dy_xhat += dy[BN_AT (o, c, i)] * xhat;
      }
    dgamma[c] += (float) sum_dy_xhat;
    dbeta[c] += (float) sum_dy;
    if (dx == NULL)
      continue;
    for (int o = 0; o < outer; o++)
      for (int i = 0; i < inner; i++) {
        double xhat = (x[BN_AT (o, c, i)] - mean) * invstd;
        double g = dy[BN_AT (o, c, i)];
        if (training)
          g -= sum_dy / m + xhat * sum_dy_xhat / m;
        dx[BN_AT (o, c, i)] = (float) (gamma[c] * invstd * g);
      }
  }
}

#undef BN_AT

/* ---- losses ---- */

static gboolean
labels_valid (const int32_t *labels, int rows, int cols)
{
  for (int r = 0; r < rows; r++)
    if (labels[r] < 0 || labels[r] >= cols)
      return FALSE;
  return TRUE;
}

/* Cross-entropy of the softmax of logits x (rows, cols) against labels:
 *   loss_r = -log softmax(x_r)[label] = log s - (x[label] - m)
 *   dx[j]  = (softmax(x_r)[j] - [j == label]) * grad_scale */
static void
ref_softmax_xent (LamBackend *self, const float *x, const int32_t *labels, int rows, int cols,
                  float grad_scale, float *dx, float *loss_acc)
{
  g_return_if_fail (labels_valid (labels, rows, cols));
  double loss = 0.0;
  for (int r = 0; r < rows; r++) {
    const float *in = x + (size_t) r * cols;
    float *grad = dx + (size_t) r * cols;
    double m = row_max (in, cols);
    double s = row_sum_exp (in, cols, m);
    for (int j = 0; j < cols; j++)
      grad[j] = (float) ((exp (in[j] - m) / s - (j == labels[r])) * grad_scale);
    loss += log (s) - (in[labels[r]] - m);
  }
  *loss_acc = (float) (*loss_acc + loss);
}

/* Negative log-likelihood of log-probabilities x (rows, cols):
 *   loss_r = -x[label],  dx[j] = -[j == label] * grad_scale */
static void
ref_nll (LamBackend *self, const float *x, const int32_t *labels, int rows, int cols,
         float grad_scale, float *dx, float *loss_acc)
{
  g_return_if_fail (labels_valid (labels, rows, cols));
  double loss = 0.0;
  for (int r = 0; r < rows; r++) {
    for (int j = 0; j < cols; j++)
      dx[(size_t) r * cols + j] = j == labels[r] ? -grad_scale : 0.0f;
    loss -= x[(size_t) r * cols + labels[r]];
  }
  *loss_acc = (float) (*loss_acc + loss);
}

/* Mean squared error against the one-hot label t:
 *   loss_r = sum_j (x[j] - t[j])² / cols,  dx[j] = 2 (x[j] - t[j]) / cols * grad_scale */
static void
ref_mse (LamBackend *self, const float *x, const int32_t *labels, int rows, int cols,
         float grad_scale, float *dx, float *loss_acc)
{
  g_return_if_fail (labels_valid (labels, rows, cols));
  double loss = 0.0;
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < cols; j++) {
      double d = (double) x[(size_t) r * cols + j] - (j == labels[r] ? 1.0 : 0.0);
      loss += d * d / cols;
      dx[(size_t) r * cols + j] = (float) (2.0 * d / cols * grad_scale);
    }
  *loss_acc = (float) (*loss_acc + loss);
}

/* Mean squared error against real targets t:
 *   loss_r = sum_j (x[j] - t[j])² / cols,  dx[j] = 2 (x[j] - t[j]) / cols * grad_scale */
static void
ref_mse_targets (LamBackend *self, const float *x, const float *targets, int rows, int cols,
                 float grad_scale, float *dx, float *loss_acc)
{
  double loss = 0.0;
  for (size_t i = 0; i < (size_t) rows * cols; i++) {
    double d = (double) x[i] - targets[i];
    loss += d * d / cols;
    dx[i] = (float) (2.0 * d / cols * grad_scale);
  }
  *loss_acc = (float) (*loss_acc + loss);
}

/* Mean absolute error against real targets t:
 *   loss_r = sum_j |x[j] - t[j]| / cols,  dx[j] = sign(x[j] - t[j]) / cols * grad_scale,
 * the sign being 0 where x = t. */
static void
ref_l1_targets (LamBackend *self, const float *x, const float *targets, int rows, int cols,
                float grad_scale, float *dx, float *loss_acc)
{
  double loss = 0.0;
  for (size_t i = 0; i < (size_t) rows * cols; i++) {
    double d = (double) x[i] - targets[i];
    loss += fabs (d) / cols;
    double sign = d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0;
    dx[i] = (float) (sign / cols * grad_scale);
  }
  *loss_acc = (float) (*loss_acc + loss);
}

/* ---- metrics ---- */

// the index of the first maximum of a row
static int32_t
row_argmax (const float *x, int cols)
{
  int32_t best = 0;
  for (int j = 1; j < cols; j++)
    if (x[j] > x[best])
      best = j;
  return best;
}

// out[r] = argmax_j x[r][j]
static void
ref_argmax_rows (LamBackend *self, const float *x, int rows, int cols, int32_t *out)
{
  for (int r = 0; r < rows; r++)
    out[r] = row_argmax (x + (size_t) r * cols, cols);
}

// *correct_acc += the number of rows r with argmax_j x[r][j] == labels[r]
static void
ref_count_correct (LamBackend *self, const float *x, const int32_t *labels, int rows, int cols,
                   float *correct_acc)
{
  int correct = 0;
  for (int r = 0; r < rows; r++)
    if (row_argmax (x + (size_t) r * cols, cols) == labels[r])
      correct++;
  *correct_acc += (float) correct;
}

/* ---- optimizers ---- */

/* torch.optim.SGD, one parameter at a time:
 *   g = grad + weight_decay * p
 *   with momentum: buf = first ? g : momentum * buf + (1 - dampening) * g
 *                  g = nesterov ? g + momentum * buf : buf
 *   p = p - lr * g */
static void
ref_sgd_update (LamBackend *self, float *params, const float *grads, float *momentum_buf,
                size_t n, float lr, float momentum, float dampening, float weight_decay,
                int nesterov, int first_step)
{
  for (size_t i = 0; i < n; i++) {
    double g = grads[i] + (double) weight_decay * params[i];
    if (momentum != 0.0f) {
      double buf = first_step ? g : (double) momentum * momentum_buf[i] + (1.0 - dampening) * g;
      momentum_buf[i] = (float) buf;
      g = nesterov ? g + (double) momentum * buf : buf;
    }
    params[i] = (float) (params[i] - (double) lr * g);
  }
}

/* torch.optim.Adam (decoupled = 0) and AdamW (decoupled = 1), step t from 1:
 *   AdamW: p = p * (1 - lr * weight_decay);  Adam: g = grad + weight_decay * p
 *   m = beta1 m + (1 - beta1) g
 *   v = beta2 v + (1 - beta2) g²
 *   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps) */
static void
ref_adam_update (LamBackend *self, float *params, const float *grads, float *m, float *v,
                 size_t n, float lr, float beta1, float beta2, float eps, float weight_decay,
                 int decoupled, int step)
{
  double correction1 = 1.0 - pow (beta1, step), correction2 = 1.0 - pow (beta2, step);
  for (size_t i = 0; i < n; i++) {
    double p = params[i], g = grads[i];
    if (decoupled)
      p *= 1.0 - (double) lr * weight_decay;
    else if (weight_decay != 0.0f)
      g += (double) weight_decay * p;
    double mi = beta1 * (double) m[i] + (1.0 - beta1) * g;
    double vi = beta2 * (double) v[i] + (1.0 - beta2) * g * g;
    m[i] = (float) mi;
    v[i] = (float) vi;
    params[i] = (float) (p - lr / correction1 * mi / (sqrt (vi) / sqrt (correction2) + eps));
  }
}

/* The L1 penalty strength * sum |p|: grads += strength * sign(p). */
static void
ref_l1_penalty (LamBackend *self, const float *params, float *grads, size_t n, float strength)
{
  for (size_t i = 0; i < n; i++) {
    double sign = params[i] > 0 ? 1.0 : params[i] < 0 ? -1.0 : 0.0;
    grads[i] = (float) (grads[i] + sign * strength);
  }
}

/* ---- a linear layer and its activation ---- */

/* The two layers' ops one after the other: the plain definition the fast
 * backends' fused versions are held to. */
static void
ref_linear_activation_forward (LamBackend *self, const float *x, const float *weight,
                               const float *bias, float *y, float *act_y, int batch, int in,
                               int out, LamActivation kind, float alpha)
{
  // x (batch, in) · W (out, in)ᵀ + b -> y (batch, out)
  ref_gemm (self, 0, 1, batch, out, in, 1.0f, x, in, weight, in, 0.0f, y, out);
  if (bias != NULL)
    ref_bias_add (self, y, bias, batch, out, 1);
  ref_activation_forward (self, kind, alpha, y, act_y, (size_t) batch * out);
}

static void
ref_linear_activation_backward (LamBackend *self, const float *x, const float *weight,
                                const float *y, const float *act_y, const float *dact_y, float *dy,
                                float *dweight, float *dbias, float *dx, int batch, int in, int out,
                                LamActivation kind, float alpha)
{
  ref_activation_backward (self, kind, alpha, y, act_y, dact_y, dy, (size_t) batch * out);
  // dy (batch, out)ᵀ · x (batch, in) -> dW (out, in), written
  ref_gemm (self, 1, 0, out, in, batch, 1.0f, dy, out, x, in, 0.0f, dweight, in);
  if (dbias != NULL) {
    ref_fill (self, dbias, (size_t) out, 0.0f);
    ref_bias_backward (self, dy, dbias, batch, out, 1);
  }
  // dy (batch, out) · W (out, in) -> dx (batch, in)
  if (dx != NULL)
    ref_gemm (self, 0, 0, batch, in, out, 1.0f, dy, out, weight, in, 0.0f, dx, in);
}

/* ---- the table ---- */

static const LamBackend ref_template = {
  .abi_version = LAM_BACKEND_ABI_VERSION,
  .name = "cpu-ref",
  .device_name = "CPU reference (plain loops, 1 thread)",
  .alloc = ref_alloc,
  .free = ref_free,
  .upload = ref_memcpy,
  .download = ref_memcpy,
  .copy = ref_memcpy,
  .synchronize = ref_synchronize,
  .destroy = ref_destroy,
  .fill = ref_fill,
  .gemm = ref_gemm,
  .bias_add = ref_bias_add,
  .bias_backward = ref_bias_backward,
  .activation_forward = ref_activation_forward,
  .activation_backward = ref_activation_backward,
  .conv2d_forward = ref_conv2d_forward,
  .conv2d_backward = ref_conv2d_backward,
  .conv2d_maxpool2_forward = ref_conv2d_maxpool2_forward,
  .conv2d_maxpool2_backward = ref_conv2d_maxpool2_backward,
  .maxpool_forward = ref_maxpool_forward,
  .maxpool_backward = ref_maxpool_backward,
  .avgpool_forward = ref_avgpool_forward,
  .avgpool_backward = ref_avgpool_backward,
  .softmax_forward = ref_softmax_forward,
  .softmax_backward = ref_softmax_backward,
  .dropout_forward = ref_dropout_forward,
  .dropout_backward = ref_dropout_backward,
  .batchnorm_forward = ref_batchnorm_forward,
  .batchnorm_backward = ref_batchnorm_backward,
  .softmax_xent = ref_softmax_xent,
  .nll = ref_nll,
  .mse = ref_mse,
  .mse_targets = ref_mse_targets,
  .l1_targets = ref_l1_targets,
  .argmax_rows = ref_argmax_rows,
  .count_correct = ref_count_correct,
  .sgd_update = ref_sgd_update,
  .adam_update = ref_adam_update,
  .l1_penalty = ref_l1_penalty,
  .linear_activation_forward = ref_linear_activation_forward,
  .linear_activation_backward = ref_linear_activation_backward,
};

LamBackend *
lam_backend_ref_new (void)
{
  LamBackend *backend = g_new (LamBackend, 1);
  *backend = ref_template;
  return backend;
}
