/* lam-cpu-conv.c: convolution of a batch, image by image: each image
 * lowered to columns (im2col) in the core's cache and multiplied by the
 * weights, groups of images on the threads; and the fused convolution and
 * 2×2 max pool.
 */
#include <string.h>

#include "lam-cpu-private.h"

/* ---- convolution lowering ---- */

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

/* A convolution's geometry, and for the AVX-512 or AVX2 lowering of
 * "same" padding the zero pattern of its column rows (`same` TRUE when
 * made, for the kernels of the op's ISA). */
typedef struct
{
  int c, h, w, kh, kw, stride, pad, oh, ow;
#ifdef LAM_CPU_HAVE_AVX512
  gboolean same;
  uint16_t masks[LAM_CPU_SAME_MAX_TAPS * LAM_CPU_SAME_MAX_VECTORS];
#endif
} ConvShape;

static void
conv_shape_init (ConvShape *s, int c, int h, int w, int kh, int kw, int stride, int pad, CpuIsa isa)
{
  s->c = c;
  s->h = h;
  s->w = w;
  s->kh = kh;
  s->kw = kw;
  s->stride = stride;
  s->pad = pad;
  s->oh = (h + 2 * pad - kh) / stride + 1;
  s->ow = (w + 2 * pad - kw) / stride + 1;
#ifdef LAM_CPU_HAVE_AVX512
  int lanes = isa == CPU_ISA_AVX512 ? 16 : isa == CPU_ISA_AVX2 ? 8 : 0;
  s->same = stride == 1 && lanes > 0 && lam_cpu_same_masks (h, w, kh, kw, pad, lanes, s->masks);
#endif
}

/* One image: im (c, h, w) -> col (c*kh*kw, oh*ow), rows ld floats apart. */
static void
im2col_image (const float *restrict im, const ConvShape *s, float *restrict col, size_t ld,
              CpuIsa isa)
{
  gboolean avx512 = isa == CPU_ISA_AVX512;
#ifdef LAM_CPU_HAVE_AVX2
  if (isa == CPU_ISA_AVX2 && s->same) {
    lam_cpu_avx2_im2col_same (im, s->c, s->h, s->w, s->kh, s->kw, s->pad, s->masks, col, ld);
    return;
  }
#endif
#ifdef LAM_CPU_HAVE_AVX512
  if (avx512 && s->same) {
    lam_cpu_avx512_im2col_same (im, s->c, s->h, s->w, s->kh, s->kw, s->pad, s->masks, col, ld);
    return;
  }
  if (avx512 && s->stride == 1) {
    lam_cpu_avx512_im2col_s1 (im, s->c, s->h, s->w, s->kh, s->kw, s->pad, col, ld);
    return;
  }
#endif
  int stride = s->stride;
  for (int ci = 0; ci < s->c; ci++)
    for (int ky = 0; ky < s->kh; ky++)
      for (int kx = 0; kx < s->kw; kx++) {
        float *restrict row = col + ((size_t) (ci * s->kh + ky) * s->kw + kx) * ld;
        int ox_lo, ox_hi;
        valid_range (s->ow, s->w, stride, kx - s->pad, &ox_lo, &ox_hi);
        for (int oy = 0; oy < s->oh; oy++) {
          float *restrict dst = row + (size_t) oy * s->ow;
          int iy = oy * stride - s->pad + ky;
          if (iy < 0 || iy >= s->h) {
            for (int ox = 0; ox < s->ow; ox++)
              dst[ox] = 0.0f;
            continue;
          }
          const float *restrict src = im + ((size_t) ci * s->h + iy) * s->w;
          int shift = kx - s->pad;
          for (int ox = 0; ox < ox_lo; ox++)
            dst[ox] = 0.0f;
          if (stride == 1 && ox_hi > ox_lo)
            memcpy (dst + ox_lo, src + ox_lo + shift, sizeof (float) * (ox_hi - ox_lo));
          else
            for (int ox = ox_lo; ox < ox_hi; ox++)
              dst[ox] = src[ox * stride + shift];
          for (int ox = ox_hi; ox < s->ow; ox++)
            dst[ox] = 0.0f;
        }
      }
}

/* One image: im (c, h, w) += what im2col read from each pixel of col. */
static void
col2im_image (const float *restrict col, const ConvShape *s, size_t ld, float *restrict im,
              CpuIsa isa)
{
  gboolean avx512 = isa == CPU_ISA_AVX512;
#ifdef LAM_CPU_HAVE_AVX512
  if (avx512 && s->same) {
    lam_cpu_avx512_col2im_same (col, s->c, s->h, s->w, s->kh, s->kw, s->pad, s->masks, ld, im);
    return;
  }
  if (avx512 && s->stride == 1) {
    lam_cpu_avx512_col2im_s1 (col, s->c, s->h, s->w, s->kh, s->kw, s->pad, ld, im);
    return;
  }
#endif
  int stride = s->stride;
  for (int ci = 0; ci < s->c; ci++)
    for (int ky = 0; ky < s->kh; ky++)
      for (int kx = 0; kx < s->kw; kx++) {
        const float *restrict row = col + ((size_t) (ci * s->kh + ky) * s->kw + kx) * ld;
        int ox_lo, ox_hi;
        valid_range (s->ow, s->w, stride, kx - s->pad, &ox_lo, &ox_hi);
        for (int oy = 0; oy < s->oh; oy++) {
          int iy = oy * stride - s->pad + ky;
          if (iy < 0 || iy >= s->h)
            continue;
          const float *restrict src = row + (size_t) oy * s->ow;
          float *restrict dst = im + ((size_t) ci * s->h + iy) * s->w;
          int shift = kx - s->pad;
#ifdef LAM_CPU_HAVE_AVX2
          if (isa == CPU_ISA_AVX2 && stride == 1) {
            if (ox_hi > ox_lo)
              lam_cpu_avx2_accumulate (dst + ox_lo + shift, src + ox_lo, ox_hi - ox_lo);
            continue;
          }
#endif
          for (int ox = ox_lo; ox < ox_hi; ox++)
            dst[ox * stride + shift] += src[ox];
        }
      }
}

/* ---- convolution ---- */

/* Each image is lowered on its own: its columns (c*kh*kw, oh*ow) stay in
 * the core's cache and W (out_c, c*kh*kw) times them is the image's output
 * in NCHW order. The batch splits into one contiguous group of images per
 * thread; the groups share only the weight gradient, which each sums on
 * its own and the caller adds up in group order, so results do not depend
 * on thread timing.
 *
 * With the AVX-512 kernels, the backward sums the weight gradient
 * transposed, dWᵀ (c*kh*kw, out_c) += cols · dyᵀ: a broadcast product,
 * twice as fast as the dot products of dy · colsᵀ over oh*ow, for the
 * price of transposing each image's dy (out_c, oh*ow) and, once per op,
 * the sum. */
typedef struct
{
  ConvShape s;
  int batch, out_c, ckk;
  size_t plane;       /* oh * ow */
  gboolean direct;    /* 1×1, stride 1, no padding: the image is its own columns */
  CpuIsa isa;
  gboolean transposed; /* backward: dWᵀ as above */
  const float *x, *weight, *bias, *dy;
  float *y, *dweight, *dbias, *dx;
  /* With a 2×2 max pool of stride 2 after the convolution: the pooled
   * output and its argmax (forward), or the pooled gradient to scatter
   * into dy before the backward, image by image while they are in cache. */
  float *pooled;
  int32_t *argmax;
  const float *dpooled;
  const int32_t *argmax_in;
  float *dy_out;
  float *scratch;
  size_t slot;        /* scratch floats a group needs, its sums included */
  size_t stride;      /* and where each group's starts: the scratch in equal parts */
  int n_groups;
} ConvJob;

static void
conv_job_init (ConvJob *j, LamBackend *self, int batch, int c, int h, int w, int out_c, int kh,
               int kw, int stride, int pad)
{
  memset (j, 0, sizeof *j);
  j->isa = cpu_context (self)->isa;
  conv_shape_init (&j->s, c, h, w, kh, kw, stride, pad, j->isa);
  j->batch = batch;
  j->out_c = out_c;
  j->ckk = c * kh * kw;
  j->plane = (size_t) j->s.oh * j->s.ow;
  j->direct = kh == 1 && kw == 1 && stride == 1 && pad == 0;
}

/* Sets the groups, each with a slot that fits its equal part of the
 * scratch (at least one group); ops of little work stay whole. Equal parts
 * put each thread's slot in the same place for every layer of a model, so
 * that no layer's thread writes where another layer's other thread did. */
static void
conv_groups (LamBackend *self, ConvJob *j, size_t scratch_floats)
{
  double flops = 2.0 * j->batch * j->out_c * (double) j->ckk * (double) j->plane;
  int groups = flops < cpu_context (self)->conv_parallel_flops
                 ? 1
                 : MIN (cpu_context (self)->n_threads, j->batch);
  while (groups > 1 && (scratch_floats / groups & ~(size_t) 15) < j->slot)
    groups--;
  j->n_groups = MAX (groups, 1);
  j->stride = j->n_groups > 1 ? scratch_floats / j->n_groups & ~(size_t) 15 : 0;
}

static void conv_pool_image (const ConvJob *j, int b);
static void conv_unpool_image (const ConvJob *j, int b);

static void
conv_pool_image_done (int b, const void *data)
{
  conv_pool_image (data, b);
}

static void
conv_unpool_image_ready (int b, const void *data)
{
  conv_unpool_image (data, b);
}

static void
conv_forward_group (int group, void *data)
{
  const ConvJob *j = data;
  int b0 = (int) ((gint64) j->batch * group / j->n_groups);
  int b1 = (int) ((gint64) j->batch * (group + 1) / j->n_groups);
  float *col = j->scratch + j->stride * group;
  size_t in_image = (size_t) j->s.c * j->s.h * j->s.w;

  for (int b = b0; b < b1; b++) {
    const float *xb = j->x + b * in_image;
    float *yb = j->y + (size_t) b * j->out_c * j->plane;
    if (!j->direct)
      im2col_image (xb, &j->s, col, j->plane, j->isa);
    const float *cols = j->direct ? xb : col;
#ifdef LAM_CPU_HAVE_AVX512
    if (j->isa == CPU_ISA_AVX512) {
      // W (out_c, ckk) · cols (ckk, plane) + bias (out_c) -> yb (out_c, plane)
      lam_cpu_avx512_sgemm_row_bias (j->out_c, (int) j->plane, j->ckk, j->weight, j->ckk, cols,
                                     (int) j->plane, j->bias, yb, (int) j->plane);
      if (j->pooled != NULL)
        conv_pool_image (j, b);
      continue;
    }
#endif
#ifdef LAM_CPU_HAVE_AVX2
    /* On wider planes (CIFAR's 32×32 and 16×16) OpenBLAS's packed product
     * is faster: 64×1024×288 ran at 52 GFLOP/s here against its 79 on Zen 3,
     * 128×256×576 at 78 against 88; 64×196×288 at 89 against 82. */
    if (j->isa == CPU_ISA_AVX2 && j->plane < 256) {
      lam_cpu_avx2_sgemm_row_bias (j->out_c, (int) j->plane, j->ckk, j->weight, j->ckk, cols,
                                   (int) j->plane, j->bias, yb, (int) j->plane);
      if (j->pooled != NULL)
        conv_pool_image (j, b);
      continue;
    }
#endif
    float beta = 0.0f;
    if (j->bias != NULL) {
      // yb (out_c, plane) = bias, for the product to add to
      for (int o = 0; o < j->out_c; o++)
        for (size_t i = 0; i < j->plane; i++)
          yb[o * j->plane + i] = j->bias[o];
      beta = 1.0f;
    }
    // W (out_c, ckk) · cols (ckk, plane) -> yb (out_c, plane)
    lam_cpu_sgemm (CPU_ISA_GENERIC, 0, 0, j->out_c, (int) j->plane, j->ckk, 1.0f, j->weight, j->ckk,
                   cols, (int) j->plane, beta, yb, (int) j->plane);
    if (j->pooled != NULL)
      conv_pool_image (j, b);
  }
}

/* x (batch, c, h, w), weight (out_c, c, kh, kw), bias (out_c) -> y (batch, out_c, oh, ow),
 * then, unless pooled is NULL, y -> pooled (batch, out_c, oh/2, ow/2), argmax */
static void
conv_forward (LamBackend *self, const float *x, const float *weight, const float *bias, float *y,
              float *pooled, int32_t *argmax, int batch, int c, int h, int w, int out_c, int kh,
              int kw, int stride, int pad, float *scratch, size_t scratch_floats)
{
  ConvJob j;
  conv_job_init (&j, self, batch, c, h, w, out_c, kh, kw, stride, pad);
  j.x = x;
  j.weight = weight;
  j.bias = bias;
  j.y = y;
  j.pooled = pooled;
  j.argmax = argmax;
  if (cpu_context (self)->winograd &&
      lam_cpu_winograd_fits (self, batch, c, out_c, h, w, kh, kw, stride, pad, scratch_floats)) {
    lam_cpu_winograd_conv (self, x, weight, FALSE, bias, y, batch, c, out_c, h, w,
                           pooled != NULL ? conv_pool_image_done : NULL, &j, scratch,
                           scratch_floats);
    return;
  }
  j.scratch = scratch;
  j.slot = j.direct ? 0 : (size_t) j.ckk * j.plane;
  g_return_if_fail (j.slot <= scratch_floats);
  conv_groups (self, &j, scratch_floats);
  lam_cpu_threads_run (cpu_context (self)->pool, j.n_groups, conv_forward_group, &j);
}

/* A backward group's slot: the columns (unless direct), then the sums of
 * its weight gradient (dWᵀ when transposed, else dW; group 0 adds to dW
 * itself when not transposed) and of its bias gradient, then dyᵀ. */
typedef struct
{
  float *cols, *dweight, *dbias, *dy_t;
} ConvSlot;

static size_t
conv_backward_slot (const ConvJob *j, ConvSlot *slot, int group)
{
  size_t cols = j->direct ? 0 : (size_t) j->ckk * j->plane;
  size_t sums = (size_t) j->ckk * j->out_c + j->out_c;
  size_t dy_t = j->transposed ? j->plane * j->out_c : 0;
  if (slot != NULL) {
    float *base = j->scratch + j->stride * group;
    slot->cols = base;
    slot->dweight = base + cols;
    slot->dbias = slot->dweight + (size_t) j->ckk * j->out_c;
    slot->dy_t = slot->dbias + j->out_c;
  }
  return cols + sums + dy_t;
}

static void
conv_backward_group (int group, void *data)
{
  const ConvJob *j = data;
  int b0 = (int) ((gint64) j->batch * group / j->n_groups);
  int b1 = (int) ((gint64) j->batch * (group + 1) / j->n_groups);
  size_t in_image = (size_t) j->s.c * j->s.h * j->s.w;
  int plane = (int) j->plane, ckk = j->ckk, out_c = j->out_c;
  ConvSlot slot;
  conv_backward_slot (j, &slot, group);

  float *dweight = slot.dweight, *dbias = j->dbias != NULL ? slot.dbias : NULL;
  if (!j->transposed && group == 0) {
    dweight = j->dweight;
    dbias = j->dbias;
  } else {
    memset (slot.dweight, 0, sizeof (float) * ((size_t) ckk * out_c + out_c));
  }

  for (int b = b0; b < b1; b++) {
    const float *xb = j->x + b * in_image;
    if (j->dpooled != NULL)
      conv_unpool_image (j, b);
    const float *dyb = j->dy + (size_t) b * out_c * plane;
    const float *cols = xb;
    if (!j->direct) {
      im2col_image (xb, &j->s, slot.cols, plane, j->isa);
      cols = slot.cols;
    }
#ifdef LAM_CPU_HAVE_AVX512
    if (j->transposed) {
      // dyb (out_c, plane) -> dy_t (plane, out_c)
      lam_cpu_transpose (j->isa, dyb, plane, slot.dy_t, out_c, out_c, plane);
      // cols (ckk, plane) · dy_t (plane, out_c) -> dWᵀ (ckk, out_c) +=
      lam_cpu_sgemm (j->isa, 0, 0, ckk, out_c, plane, 1.0f, cols, plane, slot.dy_t, out_c, 1.0f,
                     dweight, out_c);
    } else
#endif
    {
      // dyb (out_c, plane) · cols (ckk, plane)ᵀ -> dW (out_c, ckk) +=
      lam_cpu_sgemm (j->isa, 0, 1, out_c, ckk, plane, 1.0f, dyb, plane, cols, plane, 1.0f, dweight,
                     ckk);
    }
    // dyb (out_c, plane) -> dbias (out_c) +=
    if (dbias != NULL)
      for (int o = 0; o < out_c; o++)
        dbias[o] += sum_floats (dyb + (size_t) o * plane, plane);
    if (j->dx == NULL)
      continue;
    float *dxb = j->dx + b * in_image;
    // W (out_c, ckk)ᵀ · dyb (out_c, plane) -> dcol (ckk, plane), over the columns
    if (j->direct) {
      lam_cpu_sgemm (j->isa, 1, 0, ckk, plane, out_c, 1.0f, j->weight, ckk, dyb, plane, 0.0f, dxb,
                     plane);
      continue;
    }
    lam_cpu_sgemm (j->isa, 1, 0, ckk, plane, out_c, 1.0f, j->weight, ckk, dyb, plane, 0.0f,
                   slot.cols, plane);
    // dcol (ckk, plane) -> dxb (c, h, w)
    memset (dxb, 0, sizeof (float) * in_image);
    col2im_image (slot.cols, &j->s, plane, dxb, j->isa);
  }
}

/* Unless dpooled is NULL, dpooled (batch, out_c, oh/2, ow/2) through argmax -> dy (batch,
 * out_c, oh, ow) first; then x, weight, dy -> dweight +=, dbias +=, dx (batch, c, h, w) = */
static void
conv_backward (LamBackend *self, const float *x, const float *weight, const float *dpooled,
               const int32_t *argmax, float *dy, float *dweight, float *dbias, float *dx,
               int batch, int c, int h, int w, int out_c, int kh, int kw, int stride, int pad,
               float *scratch, size_t scratch_floats)
{
  ConvJob j;
  conv_job_init (&j, self, batch, c, h, w, out_c, kh, kw, stride, pad);
  j.x = x;
  j.weight = weight;
  j.dy = dy;
  j.dpooled = dpooled;
  j.argmax_in = argmax;
  j.dy_out = dy;
  j.dweight = dweight;
  j.dbias = dbias;
  j.dx = dx;
  j.scratch = scratch;
  /* The input gradient, dy convolved with the kernels rotated, by Winograd
   * once the weight gradient is summed and the scratch free again. */
  gboolean dx_by_winograd =
    dx != NULL && cpu_context (self)->winograd &&
    lam_cpu_winograd_fits (self, batch, out_c, c, h, w, kh, kw, stride, pad, scratch_floats);
  if (dx_by_winograd)
    j.dx = NULL;
  /* The weight gradient too, where it fits and the input gradient, if
   * asked for, is Winograd's as well (the weight gradient needs more
   * scratch, so it nearly always is). */
  if ((dx == NULL || dx_by_winograd) && cpu_context (self)->winograd &&
      lam_cpu_winograd_weight_gradient_fits (self, batch, c, out_c, h, w, kh, kw, stride, pad,
                                             scratch_floats)) {
    lam_cpu_winograd_weight_gradient (self, x, dy, dweight, dbias, batch, c, out_c, h, w,
                                      dpooled != NULL ? conv_unpool_image_ready : NULL, &j, scratch,
                                      scratch_floats);
    if (dx_by_winograd)
      lam_cpu_winograd_conv (self, dy, weight, TRUE, NULL, dx, batch, out_c, c, h, w, NULL, NULL,
                             scratch, scratch_floats);
    return;
  }
  /* Transposed when one group's slot fits (the planned scratch for one
   * sample may be too small); else the plain way, whose first group needs
   * only the columns. */
  j.transposed = j.isa != CPU_ISA_GENERIC;
  j.slot = conv_backward_slot (&j, NULL, 0);
  if (j.slot > scratch_floats) {
    j.transposed = FALSE;
    j.slot = conv_backward_slot (&j, NULL, 0);
  }
  if (j.slot <= scratch_floats)
    conv_groups (self, &j, scratch_floats);
  else
    j.n_groups = 1;
  if (!j.transposed && j.n_groups == 1)
    j.slot = j.direct ? 0 : (size_t) j.ckk * j.plane;
  g_return_if_fail (j.slot <= scratch_floats);
  lam_cpu_threads_run (cpu_context (self)->pool, j.n_groups, conv_backward_group, &j);

  size_t n_weight = (size_t) out_c * j.ckk;
  ConvSlot first;
  conv_backward_slot (&j, &first, 0);
  for (int g = j.transposed ? 0 : 1; g < j.n_groups; g++) {
    ConvSlot slot;
    conv_backward_slot (&j, &slot, g);
    if (j.transposed && g > 0)
      for (size_t i = 0; i < n_weight; i++)
        first.dweight[i] += slot.dweight[i];
    else if (!j.transposed)
      for (size_t i = 0; i < n_weight; i++)
        dweight[i] += slot.dweight[i];
    if (dbias != NULL)
      for (int o = 0; o < out_c; o++)
        dbias[o] += slot.dbias[o];
  }
  if (j.transposed)
    // dWᵀ (ckk, out_c) summed over the groups -> dweight (out_c, ckk) +=
    for (int o = 0; o < out_c; o++)
      for (int r = 0; r < j.ckk; r++)
        dweight[(size_t) o * j.ckk + r] += first.dweight[(size_t) r * out_c + o];
  if (dx_by_winograd)
    lam_cpu_winograd_conv (self, dy, weight, TRUE, NULL, dx, batch, out_c, c, h, w, NULL, NULL,
                           scratch, scratch_floats);
}

void
lam_cpu_conv2d_forward (LamBackend *self, const float *x, const float *weight, const float *bias,
                        float *y, int batch, int c, int h, int w, int out_c, int kh, int kw,
                        int stride, int pad, float *scratch, size_t scratch_floats)
{
  conv_forward (self, x, weight, bias, y, NULL, NULL, batch, c, h, w, out_c, kh, kw, stride, pad,
                scratch, scratch_floats);
}

void
lam_cpu_conv2d_backward (LamBackend *self, const float *x, const float *weight, const float *dy,
                         float *dweight, float *dbias, float *dx, int batch, int c, int h, int w,
                         int out_c, int kh, int kw, int stride, int pad, float *scratch,
                         size_t scratch_floats)
{
  conv_backward (self, x, weight, NULL, NULL, (float *) dy, dweight, dbias, dx, batch, c, h, w,
                 out_c, kh, kw, stride, pad, scratch, scratch_floats);
}

/* The pool right after each image's convolution, on the same thread, reads
 * the image's output while it is still in that core's cache rather than in
 * a second pass over the batch's (megabytes of) output. */
void
lam_cpu_conv2d_maxpool2_forward (LamBackend *self, const float *x, const float *weight,
                                 const float *bias, float *y, float *pooled, int32_t *argmax,
                                 int batch, int c, int h, int w, int out_c, int kh, int kw,
                                 int stride, int pad, float *scratch, size_t scratch_floats)
{
  conv_forward (self, x, weight, bias, y, pooled, argmax, batch, c, h, w, out_c, kh, kw, stride,
                pad, scratch, scratch_floats);
}

void
lam_cpu_conv2d_maxpool2_backward (LamBackend *self, const float *x, const float *weight,
                                  const float *dpooled, const int32_t *argmax, float *dy,
                                  float *dweight, float *dbias, float *dx, int batch, int c, int h,
                                  int w, int out_c, int kh, int kw, int stride, int pad,
                                  float *scratch, size_t scratch_floats)
{
  conv_backward (self, x, weight, dpooled, argmax, dy, dweight, dbias, dx, batch, c, h, w, out_c,
                 kh, kw, stride, pad, scratch, scratch_floats);
}

// image b's convolution output (out_c, oh, ow) -> its 2×2 max pool
static void
conv_pool_image (const ConvJob *j, int b)
{
  PoolJob pool = {
    .x = j->y, .y = j->pooled, .argmax = j->argmax, .h = j->s.oh, .w = j->s.ow, .k = 2,
    .stride = 2, .pad = 0, .oh = j->s.oh / 2, .ow = j->s.ow / 2, .isa = j->isa,
  };
  lam_cpu_maxpool_forward_range ((size_t) b * j->out_c, (size_t) (b + 1) * j->out_c, &pool);
}

// image b's pooled gradient through its argmax -> its convolution output gradient
static void
conv_unpool_image (const ConvJob *j, int b)
{
  PoolJob pool = {
    .dy = j->dpooled, .arg_in = j->argmax_in, .dx = j->dy_out, .h = j->s.oh, .w = j->s.ow,
    .oh = j->s.oh / 2, .ow = j->s.ow / 2, .isa = j->isa,
  };
  lam_cpu_maxpool_backward_range ((size_t) b * j->out_c, (size_t) (b + 1) * j->out_c, &pool);
}
