/* lam-cpu-pool.c: max pooling with argmax, and average pooling. */
#include <math.h>
#include <string.h>

#include "lam-cpu-private.h"

static void
maxpool_planes (const PoolJob *j, size_t p0, size_t p1)
{
  int h = j->h, w = j->w, k = j->k, stride = j->stride, pad = j->pad, oh = j->oh, ow = j->ow;
  for (size_t p = p0; p < p1; p++) {
    const float *restrict in = j->x + p * h * w;
    float *restrict out = j->y + p * oh * ow;
    int32_t *restrict arg = j->argmax + p * oh * ow;
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

void
lam_cpu_maxpool_forward_range (size_t p0, size_t p1, void *data)
{
  const PoolJob *j = data;
#ifdef LAM_CPU_HAVE_AVX512
  if (j->isa == CPU_ISA_AVX512 && j->k == 2 && j->stride == 2 && j->pad == 0) {
    lam_cpu_avx512_maxpool2 (j->x, j->y, j->argmax, p0, p1, j->h, j->w);
    return;
  }
#endif
#ifdef LAM_CPU_HAVE_AVX2
  if (j->isa == CPU_ISA_AVX2 && j->k == 2 && j->stride == 2 && j->pad == 0) {
    lam_cpu_avx2_maxpool2 (j->x, j->y, j->argmax, p0, p1, j->h, j->w);
    return;
  }
#endif
  maxpool_planes (j, p0, p1);
}

// x (planes, h, w) -> y (planes, oh, ow), argmax (planes, oh, ow)
void
lam_cpu_maxpool_forward (LamBackend *self, const float *x, float *y, int32_t *argmax, int planes,
                         int h, int w, int k, int stride, int pad)
{
  PoolJob j = {
    .x = x, .y = y, .argmax = argmax, .h = h, .w = w, .k = k, .stride = stride, .pad = pad,
    .oh = (h + 2 * pad - k) / stride + 1, .ow = (w + 2 * pad - k) / stride + 1,
    .isa = cpu_context (self)->isa,
  };
  /* Split by planes, as the activation ops split by floats. */
  size_t plane = MAX ((size_t) h * w, 1);
  lam_cpu_parallel_ranges (self, planes, MAX (ACTIVATION_PARALLEL / plane, 1),
                           lam_cpu_maxpool_forward_range, &j);
}

static void
maxpool_backward_planes (const PoolJob *j, size_t p0, size_t p1)
{
  size_t in_plane = (size_t) j->h * j->w, out_plane = (size_t) j->oh * j->ow;
  memset (j->dx + p0 * in_plane, 0, sizeof (float) * (p1 - p0) * in_plane);
  for (size_t p = p0; p < p1; p++) {
    float *restrict grad = j->dx + p * in_plane;
    const float *restrict g = j->dy + p * out_plane;
    const int32_t *restrict arg = j->arg_in + p * out_plane;
    for (size_t o = 0; o < out_plane; o++)
      if (arg[o] >= 0)
        grad[arg[o]] += g[o];
  }
}

void
lam_cpu_maxpool_backward_range (size_t p0, size_t p1, void *data)
{
  const PoolJob *j = data;
#ifdef LAM_CPU_HAVE_AVX512
  /* Outputs of half the input's size mostly come from 2×2 windows of
   * stride 2; the kernel checks every argmax and gives the plane back when
   * one lies outside its window. */
  if (j->isa == CPU_ISA_AVX512 && j->oh >= 1 && j->ow >= 1 && j->h / 2 == j->oh &&
      j->w / 2 == j->ow) {
    size_t in_plane = (size_t) j->h * j->w, out_plane = (size_t) j->oh * j->ow;
    for (size_t p = p0; p < p1; p++)
      if (!lam_cpu_avx512_maxpool2_backward_plane (j->dy + p * out_plane, j->arg_in + p * out_plane,
                                                   j->dx + p * in_plane, j->h, j->w))
        maxpool_backward_planes (j, p, p + 1);
    return;
  }
#endif
  maxpool_backward_planes (j, p0, p1);
}

// dy (planes, oh, ow) -> dx (planes, h, w) through argmax
void
lam_cpu_maxpool_backward (LamBackend *self, const float *dy, const int32_t *argmax, float *dx,
                          int planes, int h, int w, int oh, int ow)
{
  PoolJob j = {
    .dy = dy, .arg_in = argmax, .dx = dx, .h = h, .w = w, .oh = oh, .ow = ow,
    .isa = cpu_context (self)->isa,
  };
  size_t plane = MAX ((size_t) h * w, 1);
  lam_cpu_parallel_ranges (self, planes, MAX (ACTIVATION_PARALLEL / plane, 1),
                           lam_cpu_maxpool_backward_range, &j);
}

// x (planes, h, w) -> y (planes, oh, ow), divisor k*k
void
lam_cpu_avgpool_forward (LamBackend *self, const float *restrict x, float *restrict y, int planes,
                         int h, int w, int k, int stride, int pad)
{
  int oh = (h + 2 * pad - k) / stride + 1;
  int ow = (w + 2 * pad - k) / stride + 1;
  /* Multiplied as floats: a window past 46340 overflows an int. */
  float scale = 1.0f / ((float) k * (float) k);

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
void
lam_cpu_avgpool_backward (LamBackend *self, const float *restrict dy, float *restrict dx,
                          int planes, int h, int w, int k, int stride, int pad)
{
  int oh = (h + 2 * pad - k) / stride + 1;
  int ow = (w + 2 * pad - k) / stride + 1;
  float scale = 1.0f / ((float) k * (float) k);

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
