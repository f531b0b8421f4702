/* lam-backend-cpu.c: the CPU backend, OpenBLAS for gemm and plain loops for
 * the rest. It is the reference every other backend is tested against, so
 * each op follows its comment in lam-backend.h to the letter. */
#include <glib.h>
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "lam-backend.h"
#include "lam-device.h"

#define CPU_ALIGNMENT 64

/* No machine this runs on has a tebibyte of memory; refusing larger requests
 * up front also keeps sanitizer builds, whose allocator aborts on absurd
 * sizes instead of failing, answering NULL. */
#define CPU_MAX_ALLOC (G_GUINT64_CONSTANT (1) << 40)

static void *
cpu_alloc (LamBackend *self, size_t bytes)
{
  if ((guint64) bytes > CPU_MAX_ALLOC || bytes > G_MAXSIZE - CPU_ALIGNMENT - sizeof (void *))
    return NULL;

  /* Over-allocate and keep the block's own address just below the aligned
   * pointer; g_try_malloc0 zero-fills without touching fresh pages. */
  char *raw = g_try_malloc0 (bytes + CPU_ALIGNMENT + sizeof (void *));
  if (raw == NULL)
    return NULL;
  guintptr start = (guintptr) (raw + sizeof (void *));
  void **aligned = (void **) ((start + CPU_ALIGNMENT - 1) & ~(guintptr) (CPU_ALIGNMENT - 1));
  aligned[-1] = raw;
  return aligned;
}

static void
cpu_free (LamBackend *self, void *ptr)
{
  if (ptr != NULL)
    g_free (((void **) ptr)[-1]);
}

static void
cpu_memcpy (LamBackend *self, void *dst, const void *src, size_t bytes)
{
  if (bytes > 0 && dst != src)
    memcpy (dst, src, bytes);
}

static void
cpu_synchronize (LamBackend *self)
{
}

static void
cpu_destroy (LamBackend *self)
{
  g_free (self);
}

// x (n) = value
static void
cpu_fill (LamBackend *self, float *restrict x, size_t n, float value)
{
  for (size_t i = 0; i < n; i++)
    x[i] = value;
}

// c (m, n) = alpha * op(a) (m, k) · op(b) (k, n) + beta * c
static void
cpu_gemm (LamBackend *self, int trans_a, int trans_b, int m, int n, int k, float alpha,
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
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// y (outer, channels, inner) += bias (channels)
static void
cpu_bias_add (LamBackend *self, float *restrict y, const float *restrict bias, int outer,
              int channels, int inner)
{
  if (inner == 1) {
    for (int o = 0; o < outer; o++) {
      float *restrict row = y + (size_t) o * channels;
      for (int ch = 0; ch < channels; ch++)
        row[ch] += bias[ch];
    }
    return;
  }
  for (int o = 0; o < outer; o++)
    for (int ch = 0; ch < channels; ch++) {
      float *restrict row = y + ((size_t) o * channels + ch) * inner;
      float value = bias[ch];
      for (int i = 0; i < inner; i++)
        row[i] += value;
    }
}

/* Eight running sums instead of one let the compiler vectorise the sum
 * without reassociating floating point itself. */
static float
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

// dbias (channels) += sum over outer and inner of dy (outer, channels, inner)
static void
cpu_bias_backward (LamBackend *self, const float *restrict dy, float *restrict dbias, int outer,
                   int channels, int inner)
{
  if (inner == 1) {
    for (int o = 0; o < outer; o++) {
      const float *restrict row = dy + (size_t) o * channels;
      for (int ch = 0; ch < channels; ch++)
        dbias[ch] += row[ch];
    }
    return;
  }
  for (int o = 0; o < outer; o++)
    for (int ch = 0; ch < channels; ch++)
      dbias[ch] += sum_floats (dy + ((size_t) o * channels + ch) * inner, (size_t) inner);
}

// y (n) = f(x (n)); y may alias x
static void
cpu_activation_forward (LamBackend *self, LamActivation kind, float alpha, const float *x,
                        float *y, size_t n)
{
  switch (kind) {
  case LAM_ACTIVATION_RELU:
    for (size_t i = 0; i < n; i++)
      y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    break;
  case LAM_ACTIVATION_LEAKY_RELU:
    for (size_t i = 0; i < n; i++)
      y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
    break;
  case LAM_ACTIVATION_SIGMOID:
    for (size_t i = 0; i < n; i++)
      y[i] = 1.0f / (1.0f + expf (-x[i]));
    break;
  case LAM_ACTIVATION_TANH:
    for (size_t i = 0; i < n; i++)
      y[i] = tanhf (x[i]);
    break;
  default:
    g_return_if_reached ();
  }
}

/* dx (n) = f'(x) * dy; dx may alias dy. ReLU and leaky ReLU read x, sigmoid
 * and tanh read y, so an in-place forward (x == y) still works for ReLU with
 * a non-negative slope. */
static void
cpu_activation_backward (LamBackend *self, LamActivation kind, float alpha, const float *x,
                         const float *y, const float *dy, float *dx, size_t n)
{
  switch (kind) {
  case LAM_ACTIVATION_RELU:
    for (size_t i = 0; i < n; i++)
      dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
    break;
  case LAM_ACTIVATION_LEAKY_RELU:
    for (size_t i = 0; i < n; i++)
      dx[i] = x[i] > 0.0f ? dy[i] : alpha * dy[i];
    break;
  case LAM_ACTIVATION_SIGMOID:
    for (size_t i = 0; i < n; i++)
      dx[i] = y[i] * (1.0f - y[i]) * dy[i];
    break;
  case LAM_ACTIVATION_TANH:
    for (size_t i = 0; i < n; i++)
      dx[i] = (1.0f - y[i] * y[i]) * dy[i];
    break;
  default:
    g_return_if_reached ();
  }
}

/* The outputs o in [0, n_out) whose input o * stride + offset falls inside
 * [0, n_in) form one run [*lo, *hi). */
static void
valid_range (int n_out, int n_in, int stride, int offset, int *lo, int *hi)
{
  int first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int last = n_in - 1 - offset < 0 ? 0 : (n_in - 1 - offset) / stride + 1;
  *hi = MIN (last, n_out);
  *lo = MIN (first, *hi);
}

// im (batch, c, h, w) -> col (c*kh*kw, batch*oh*ow)
static void
cpu_im2col (LamBackend *self, const float *restrict im, int batch, int c, int h, int w, int kh,
            int kw, int stride, int pad, float *restrict col)
{
  int oh = (h + 2 * pad - kh) / stride + 1;
  int ow = (w + 2 * pad - kw) / stride + 1;
  size_t plane = (size_t) oh * ow;
  size_t cols = (size_t) batch * plane;

  for (int ci = 0; ci < c; ci++)
    for (int ky = 0; ky < kh; ky++)
      for (int kx = 0; kx < kw; kx++) {
        float *restrict row = col + ((size_t) (ci * kh + ky) * kw + kx) * cols;
        int ox_lo, ox_hi;
        valid_range (ow, w, stride, kx - pad, &ox_lo, &ox_hi);
        for (int b = 0; b < batch; b++)
          for (int oy = 0; oy < oh; oy++) {
            float *restrict dst = row + b * plane + (size_t) oy * ow;
            int iy = oy * stride - pad + ky;
            if (iy < 0 || iy >= h) {
              memset (dst, 0, sizeof (float) * ow);
              continue;
            }
            const float *restrict src = im + (((size_t) b * c + ci) * h + iy) * w;
            for (int ox = 0; ox < ox_lo; ox++)
              dst[ox] = 0.0f;
            if (stride == 1)
              memcpy (dst + ox_lo, src + ox_lo + kx - pad, sizeof (float) * (ox_hi - ox_lo));
            else
              for (int ox = ox_lo; ox < ox_hi; ox++)
                dst[ox] = src[ox * stride + kx - pad];
            for (int ox = ox_hi; ox < ow; ox++)
              dst[ox] = 0.0f;
          }
      }
}

// col (c*kh*kw, batch*oh*ow) -> im (batch, c, h, w), the adjoint of im2col
static void
cpu_col2im (LamBackend *self, const float *restrict col, int batch, int c, int h, int w, int kh,
            int kw, int stride, int pad, float *restrict im)
{
  int oh = (h + 2 * pad - kh) / stride + 1;
  int ow = (w + 2 * pad - kw) / stride + 1;
  size_t plane = (size_t) oh * ow;
  size_t cols = (size_t) batch * plane;

  memset (im, 0, sizeof (float) * batch * c * h * w);
  for (int ci = 0; ci < c; ci++)
    for (int ky = 0; ky < kh; ky++)
      for (int kx = 0; kx < kw; kx++) {
        const float *restrict row = col + ((size_t) (ci * kh + ky) * kw + kx) * cols;
        int ox_lo, ox_hi;
        valid_range (ow, w, stride, kx - pad, &ox_lo, &ox_hi);
        for (int b = 0; b < batch; b++)
          for (int oy = 0; oy < oh; oy++) {
            int iy = oy * stride - pad + ky;
            if (iy < 0 || iy >= h)
              continue;
            const float *restrict src = row + b * plane + (size_t) oy * ow;
            float *restrict dst = im + (((size_t) b * c + ci) * h + iy) * w;
            if (stride == 1)
              for (int ox = ox_lo; ox < ox_hi; ox++)
                dst[ox + kx - pad] += src[ox];
            else
              for (int ox = ox_lo; ox < ox_hi; ox++)
                dst[ox * stride + kx - pad] += src[ox];
          }
      }
}

// x (a, b, inner) -> y (b, a, inner)
static void
cpu_swap_axes (LamBackend *self, const float *restrict x, float *restrict y, int a, int b,
               int inner)
{
  if (inner == 1) {
    for (int i = 0; i < a; i++)
      for (int j = 0; j < b; j++)
        y[(size_t) j * a + i] = x[(size_t) i * b + j];
    return;
  }
  for (int i = 0; i < a; i++)
    for (int j = 0; j < b; j++)
      memcpy (y + ((size_t) j * a + i) * inner, x + ((size_t) i * b + j) * inner,
              sizeof (float) * inner);
}

// x (planes, h, w) -> y (planes, oh, ow), argmax (planes, oh, ow)
static void
cpu_maxpool_forward (LamBackend *self, const float *restrict x, float *restrict y,
                     int32_t *restrict argmax, int planes, int h, int w, int k, int stride,
                     int pad)
{
  int oh = (h + 2 * pad - k) / stride + 1;
  int ow = (w + 2 * pad - k) / stride + 1;

  for (int p = 0; p < planes; p++) {
    const float *restrict in = x + (size_t) p * h * w;
    float *restrict out = y + (size_t) p * oh * ow;
    int32_t *restrict arg = argmax + (size_t) p * oh * ow;
    for (int oy = 0; oy < oh; oy++) {
      int y0 = MAX (oy * stride - pad, 0), y1 = MIN (oy * stride - pad + k, h);
      for (int ox = 0; ox < ow; ox++) {
        int x0 = MAX (ox * stride - pad, 0), x1 = MIN (ox * stride - pad + k, w);
        float best = -INFINITY;
        int32_t best_index = -1;
        // Ties keep the first maximum and NaN wins, as PyTorch does.
        for (int iy = y0; iy < y1; iy++)
          for (int ix = x0; ix < x1; ix++) {
            float v = in[iy * w + ix];
            if (best_index < 0 || v > best || isnan (v)) {
              best = v;
              best_index = iy * w + ix;
            }
          }
        // A window lying wholly in the padding (pad >= k) has no input.
        out[oy * ow + ox] = best_index < 0 ? 0.0f : best;
        arg[oy * ow + ox] = best_index;
      }
    }
  }
}

// dy (planes, oh, ow) -> dx (planes, h, w) through argmax
static void
cpu_maxpool_backward (LamBackend *self, const float *restrict dy, const int32_t *restrict argmax,
                      float *restrict dx, int planes, int h, int w, int oh, int ow)
{
  size_t in_plane = (size_t) h * w, out_plane = (size_t) oh * ow;

  memset (dx, 0, sizeof (float) * planes * in_plane);
  for (int p = 0; p < planes; p++) {
    float *restrict grad = dx + p * in_plane;
    const float *restrict g = dy + p * out_plane;
    const int32_t *restrict arg = argmax + p * out_plane;
    for (size_t o = 0; o < out_plane; o++)
      if (arg[o] >= 0)
        grad[arg[o]] += g[o];
  }
}

// x (planes, h, w) -> y (planes, oh, ow), divisor k*k
static void
cpu_avgpool_forward (LamBackend *self, const float *restrict x, float *restrict y, int planes,
                     int h, int w, int k, int stride, int pad)
{
  int oh = (h + 2 * pad - k) / stride + 1;
  int ow = (w + 2 * pad - k) / stride + 1;
  float scale = 1.0f / (float) (k * k);

  for (int p = 0; p < planes; p++) {
    const float *restrict in = x + (size_t) p * h * w;
    float *restrict out = y + (size_t) p * oh * ow;
    for (int oy = 0; oy < oh; oy++) {
      int y0 = MAX (oy * stride - pad, 0), y1 = MIN (oy * stride - pad + k, h);
      for (int ox = 0; ox < ow; ox++) {
        int x0 = MAX (ox * stride - pad, 0), x1 = MIN (ox * stride - pad + k, w);
        float sum = 0.0f;
        for (int iy = y0; iy < y1; iy++)
          for (int ix = x0; ix < x1; ix++)
            sum += in[iy * w + ix];
        out[oy * ow + ox] = sum * scale;
      }
    }
  }
}

// dy (planes, oh, ow) -> dx (planes, h, w)
static void
cpu_avgpool_backward (LamBackend *self, const float *restrict dy, float *restrict dx, int planes,
                      int h, int w, int k, int stride, int pad)
{
  int oh = (h + 2 * pad - k) / stride + 1;
  int ow = (w + 2 * pad - k) / stride + 1;
  float scale = 1.0f / (float) (k * k);

  memset (dx, 0, sizeof (float) * planes * h * w);
  for (int p = 0; p < planes; p++) {
    float *restrict grad = dx + (size_t) p * h * w;
    const float *restrict g = dy + (size_t) p * oh * ow;
    for (int oy = 0; oy < oh; oy++) {
      int y0 = MAX (oy * stride - pad, 0), y1 = MIN (oy * stride - pad + k, h);
      for (int ox = 0; ox < ow; ox++) {
        int x0 = MAX (ox * stride - pad, 0), x1 = MIN (ox * stride - pad + k, w);
        float share = g[oy * ow + ox] * scale;
        for (int iy = y0; iy < y1; iy++)
          for (int ix = x0; ix < x1; ix++)
            grad[iy * w + ix] += share;
      }
    }
  }
}

static float
row_max (const float *restrict x, int n)
{
  float m = x[0];
  for (int j = 1; j < n; j++)
    m = x[j] > m ? x[j] : m;
  return m;
}

// log of the sum of exp over a row, shifted by the row's maximum
static float
row_logsumexp (const float *restrict x, int n)
{
  float m = row_max (x, n);
  float sum = 0.0f;
  for (int j = 0; j < n; j++)
    sum += expf (x[j] - m);
  return m + logf (sum);
}

// x (rows, cols) -> y (rows, cols)
static void
cpu_softmax_forward (LamBackend *self, const float *restrict x, float *restrict y, int rows,
                     int cols, int log)
{
  for (int r = 0; r < rows; r++) {
    const float *restrict in = x + (size_t) r * cols;
    float *restrict out = y + (size_t) r * cols;
    if (log) {
      float lse = row_logsumexp (in, cols);
      for (int j = 0; j < cols; j++)
        out[j] = in[j] - lse;
    } else {
      float m = row_max (in, cols);
      float sum = 0.0f;
      for (int j = 0; j < cols; j++) {
        out[j] = expf (in[j] - m);
        sum += out[j];
      }
      float inv = 1.0f / sum;
      for (int j = 0; j < cols; j++)
        out[j] *= inv;
    }
  }
}

// y, dy (rows, cols) -> dx (rows, cols); dx may alias dy
static void
cpu_softmax_backward (LamBackend *self, const float *y, const float *dy, float *dx, int rows,
                      int cols, int log)
{
  for (int r = 0; r < rows; r++) {
    const float *out = y + (size_t) r * cols;
    const float *g = dy + (size_t) r * cols;
    float *grad = dx + (size_t) r * cols;
    float s = 0.0f;
    if (log) {
      for (int j = 0; j < cols; j++)
        s += g[j];
      for (int j = 0; j < cols; j++)
        grad[j] = g[j] - expf (out[j]) * s;
    } else {
      for (int j = 0; j < cols; j++)
        s += g[j] * out[j];
      for (int j = 0; j < cols; j++)
        grad[j] = out[j] * (g[j] - s);
    }
  }
}

// x (n) -> y (n), mask (n); y may alias x
static void
cpu_dropout_forward (LamBackend *self, const float *x, float *y, float *restrict mask, size_t n,
                     float p, uint64_t seed)
{
  if (p <= 0.0f) {
    for (size_t i = 0; i < n; i++) {
      mask[i] = 1.0f;
      y[i] = x[i];
    }
    return;
  }
  // p >= 1 drops everything; 1 / (1 - p) would be infinite.
  float keep = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  for (size_t i = 0; i < n; i++) {
    mask[i] = lam_hash_uniform (seed, i) >= p ? keep : 0.0f;
    y[i] = x[i] * mask[i];
  }
}

// dx (n) = dy (n) * mask (n); dx may alias dy
static void
cpu_dropout_backward (LamBackend *self, const float *dy, const float *restrict mask, float *dx,
                      size_t n)
{
  for (size_t i = 0; i < n; i++)
    dx[i] = dy[i] * mask[i];
}

static gboolean
labels_valid (const int32_t *labels, int rows, int cols)
{
  for (int r = 0; r < rows; r++)
    if (labels[r] < 0 || labels[r] >= cols)
      return FALSE;
  return TRUE;
}

// x (rows, cols) logits, labels (rows) -> dx (rows, cols); *loss_acc += sum of row losses
static void
cpu_softmax_xent (LamBackend *self, const float *restrict x, const int32_t *restrict labels,
                  int rows, int cols, float grad_scale, float *restrict dx, float *loss_acc)
{
  g_return_if_fail (labels_valid (labels, rows, cols));

  double loss = 0.0;
  for (int r = 0; r < rows; r++) {
    const float *restrict in = x + (size_t) r * cols;
    float *restrict grad = dx + (size_t) r * cols;
    float lse = row_logsumexp (in, cols);
    for (int j = 0; j < cols; j++)
      grad[j] = expf (in[j] - lse) * grad_scale;
    grad[labels[r]] -= grad_scale;
    loss += lse - in[labels[r]];
  }
  *loss_acc += (float) loss;
}

// x (rows, cols) log-probabilities, labels (rows) -> dx (rows, cols); *loss_acc += sum
static void
cpu_nll (LamBackend *self, const float *restrict x, const int32_t *restrict labels, int rows,
         int cols, float grad_scale, float *restrict dx, float *loss_acc)
{
  g_return_if_fail (labels_valid (labels, rows, cols));

  double loss = 0.0;
  memset (dx, 0, sizeof (float) * rows * cols);
  for (int r = 0; r < rows; r++) {
    dx[(size_t) r * cols + labels[r]] = -grad_scale;
    loss -= x[(size_t) r * cols + labels[r]];
  }
  *loss_acc += (float) loss;
}

// x (rows, cols), labels (rows) as one-hot targets -> dx (rows, cols); *loss_acc += sum
static void
cpu_mse (LamBackend *self, const float *restrict x, const int32_t *restrict labels, int rows,
         int cols, float grad_scale, float *restrict dx, float *loss_acc)
{
  g_return_if_fail (labels_valid (labels, rows, cols));

  double loss = 0.0;
  float inv_cols = 1.0f / (float) cols;
  float scale = 2.0f * inv_cols * grad_scale;
  for (int r = 0; r < rows; r++) {
    const float *restrict in = x + (size_t) r * cols;
    float *restrict grad = dx + (size_t) r * cols;
    float sum = 0.0f;
    for (int j = 0; j < cols; j++) {
      float d = in[j] - (j == labels[r] ? 1.0f : 0.0f);
      sum += d * d;
      grad[j] = d * scale;
    }
    loss += sum * inv_cols;
  }
  *loss_acc += (float) loss;
}

static int32_t
row_argmax (const float *restrict x, int cols)
{
  int32_t best = 0;
  for (int j = 1; j < cols; j++)
    if (x[j] > x[best])
      best = j;
  return best;
}

// x (rows, cols) -> out (rows)
static void
cpu_argmax_rows (LamBackend *self, const float *restrict x, int rows, int cols,
                 int32_t *restrict out)
{
  for (int r = 0; r < rows; r++)
    out[r] = row_argmax (x + (size_t) r * cols, cols);
}

// x (rows, cols), labels (rows); *correct_acc += rows whose argmax is the label
static void
cpu_count_correct (LamBackend *self, const float *restrict x, const int32_t *restrict labels,
                   int rows, int cols, float *correct_acc)
{
  int correct = 0;
  for (int r = 0; r < rows; r++)
    correct += row_argmax (x + (size_t) r * cols, cols) == labels[r];
  *correct_acc += (float) correct;
}

// params, grads, momentum_buf (n); momentum_buf is unused without momentum
static void
cpu_sgd_update (LamBackend *self, float *restrict params, const float *restrict grads,
                float *restrict momentum_buf, size_t n, float lr, float momentum,
                float dampening, float weight_decay, int nesterov, int first_step)
{
  if (momentum == 0.0f) {
    for (size_t i = 0; i < n; i++)
      params[i] -= lr * (grads[i] + weight_decay * params[i]);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    float g = grads[i] + weight_decay * params[i];
    float buf = first_step ? g : momentum * momentum_buf[i] + (1.0f - dampening) * g;
    momentum_buf[i] = buf;
    params[i] -= lr * (nesterov ? g + momentum * buf : buf);
  }
}

// params, grads, m, v (n); step counts from 1
static void
cpu_adam_update (LamBackend *self, float *restrict params, const float *restrict grads,
                 float *restrict m, float *restrict v, size_t n, float lr, float beta1,
                 float beta2, float eps, float weight_decay, int decoupled, int step)
{
  // PyTorch computes the bias corrections in double, on the host.
  float step_size = (float) (lr / (1.0 - pow (beta1, step)));
  float correction2_sqrt = (float) sqrt (1.0 - pow (beta2, step));
  float decay = decoupled ? 1.0f - lr * weight_decay : 1.0f;
  float coupled = decoupled ? 0.0f : weight_decay;

  for (size_t i = 0; i < n; i++) {
    float p = params[i] * decay;
    float g = grads[i] + coupled * p;
    float mi = beta1 * m[i] + (1.0f - beta1) * g;
    float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] = p - step_size * mi / (sqrtf (vi) / correction2_sqrt + eps);
  }
}

LamBackend *
lam_backend_cpu_new (void)
{
  LamBackend *backend = g_new0 (LamBackend, 1);

  backend->abi_version = LAM_BACKEND_ABI_VERSION;
  backend->name = "cpu";

  // The config string starts "OpenBLAS 0.3.21 DYNAMIC_ARCH ...": keep the name and version.
  g_auto (GStrv) words = g_strsplit (openblas_get_config (), " ", 3);
  g_autofree char *library = words[0] != NULL && words[1] != NULL
                               ? g_strdup_printf ("%s %s", words[0], words[1])
                               : g_strdup ("OpenBLAS");
  int threads = openblas_get_num_threads ();
  g_snprintf (backend->device_name, sizeof backend->device_name, "CPU (%s, %d thread%s)", library,
              threads, threads == 1 ? "" : "s");

  backend->alloc = cpu_alloc;
  backend->free = cpu_free;
  backend->upload = cpu_memcpy;
  backend->download = cpu_memcpy;
  backend->copy = cpu_memcpy;
  backend->synchronize = cpu_synchronize;
  backend->destroy = cpu_destroy;
  backend->fill = cpu_fill;
  backend->gemm = cpu_gemm;
  backend->bias_add = cpu_bias_add;
  backend->bias_backward = cpu_bias_backward;
  backend->activation_forward = cpu_activation_forward;
  backend->activation_backward = cpu_activation_backward;
  backend->im2col = cpu_im2col;
  backend->col2im = cpu_col2im;
  backend->swap_axes = cpu_swap_axes;
  backend->maxpool_forward = cpu_maxpool_forward;
  backend->maxpool_backward = cpu_maxpool_backward;
  backend->avgpool_forward = cpu_avgpool_forward;
  backend->avgpool_backward = cpu_avgpool_backward;
  backend->softmax_forward = cpu_softmax_forward;
  backend->softmax_backward = cpu_softmax_backward;
  backend->dropout_forward = cpu_dropout_forward;
  backend->dropout_backward = cpu_dropout_backward;
  backend->softmax_xent = cpu_softmax_xent;
  backend->nll = cpu_nll;
  backend->mse = cpu_mse;
  backend->argmax_rows = cpu_argmax_rows;
  backend->count_correct = cpu_count_correct;
  backend->sgd_update = cpu_sgd_update;
  backend->adam_update = cpu_adam_update;

  return backend;
}
