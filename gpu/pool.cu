/* pool.cu: max pooling with argmax, and average pooling. */
#include "lam-backend-cuda-private.h"

typedef struct
{
  int planes, h, w, k, stride, pad, oh, ow;
} PoolShape;

static bool
pool_shape (LamBackend *self, const char *op, int planes, int h, int w, int k, int stride,
            int pad, PoolShape *s)
{
  if (k <= 0 || stride <= 0 || pad < 0) {
    lam_cuda_fail (self, "%s: a %d×%d window with stride %d and padding %d cannot run", op, k, k,
                   stride, pad);
    return false;
  }
  *s = { planes, h, w, k, stride, pad, (h + 2 * pad - k) / stride + 1,
         (w + 2 * pad - k) / stride + 1 };
  return planes > 0 && h > 0 && w > 0 && s->oh > 0 && s->ow > 0;
}

/* One thread per output. Ties keep the first maximum and NaN wins, as in
 * the CPU backend (and PyTorch); a window lying wholly in the padding gives
 * 0 and argmax -1.
 * x (planes, h, w) -> y (planes, oh, ow), argmax (planes, oh, ow) */
static __global__ void
maxpool_forward_kernel (const float *x, float *y, int32_t *argmax, PoolShape s)
{
  size_t n = (size_t) s.planes * s.oh * s.ow;
  LAM_CUDA_FOR_EACH (i, n) {
    int ox = (int) (i % s.ow), oy = (int) (i / s.ow % s.oh);
    const float *in = x + i / ((size_t) s.oh * s.ow) * s.h * s.w;
    int y0 = max (oy * s.stride - s.pad, 0), y1 = min (oy * s.stride - s.pad + s.k, s.h);
    int x0 = max (ox * s.stride - s.pad, 0), x1 = min (ox * s.stride - s.pad + s.k, s.w);
    float best = 0.0f;
    int32_t best_index = -1;
    for (int iy = y0; iy < y1; iy++)
      for (int ix = x0; ix < x1; ix++) {
        float v = in[iy * s.w + ix];
        if (best_index < 0 || v > best || isnan (v)) {
          best = v;
          best_index = iy * s.w + ix;
        }
      }
    y[i] = best_index < 0 ? 0.0f : best;
    argmax[i] = best_index;
  }
}

// x (planes, h, w) -> y (planes, oh, ow), argmax (planes, oh, ow)
void
lam_cuda_maxpool_forward (LamBackend *self, const float *x, float *y, int32_t *argmax, int planes,
                          int h, int w, int k, int stride, int pad)
{
  PoolShape s;
  if (!pool_shape (self, "maxpool_forward", planes, h, w, k, stride, pad, &s))
    return;
  size_t n = (size_t) planes * s.oh * s.ow;
  maxpool_forward_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0,
                           lam_cuda_context (self)->stream>>> (x, y, argmax, s);
  LAM_CUDA_LAUNCHED (self, "maxpool_forward");
}

/* One thread per output adds its gradient to the input its argmax names;
 * overlapping windows may name the same input, hence the atomic add.
 * dy (planes, oh, ow) -> dx (planes, h, w) += */
static __global__ void
maxpool_backward_kernel (const float *dy, const int32_t *argmax, float *dx, int planes, int h,
                         int w, int oh, int ow)
{
  size_t out_plane = (size_t) oh * ow, in_plane = (size_t) h * w;
  LAM_CUDA_FOR_EACH (i, (size_t) planes * out_plane) {
    int32_t a = argmax[i];
    if (a >= 0 && (size_t) a < in_plane)
      atomicAdd (dx + i / out_plane * in_plane + a, dy[i]);
  }
}

// dy (planes, oh, ow) -> dx (planes, h, w) through argmax
void
lam_cuda_maxpool_backward (LamBackend *self, const float *dy, const int32_t *argmax, float *dx,
                           int planes, int h, int w, int oh, int ow)
{
  if (planes <= 0 || h <= 0 || w <= 0)
    return;
  cudaStream_t stream = lam_cuda_context (self)->stream;
  if (!lam_cuda_ok (self,
                    cudaMemsetAsync (dx, 0, (size_t) planes * h * w * sizeof (float), stream),
                    "maxpool_backward") ||
      oh <= 0 || ow <= 0)
    return;
  size_t n = (size_t) planes * oh * ow;
  maxpool_backward_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0, stream>>> (
    dy, argmax, dx, planes, h, w, oh, ow);
  LAM_CUDA_LAUNCHED (self, "maxpool_backward");
}

/* One thread per output; the divisor is k*k, padding included.
 * x (planes, h, w) -> y (planes, oh, ow) */
static __global__ void
avgpool_forward_kernel (const float *x, float *y, PoolShape s)
{
  // Multiplied as floats: a window past 46340 overflows an int.
  float scale = 1.0f / ((float) s.k * (float) s.k);
  size_t n = (size_t) s.planes * s.oh * s.ow;
  LAM_CUDA_FOR_EACH (i, n) {
    int ox = (int) (i % s.ow), oy = (int) (i / s.ow % s.oh);
    const float *in = x + i / ((size_t) s.oh * s.ow) * s.h * s.w;
    int y0 = max (oy * s.stride - s.pad, 0), y1 = min (oy * s.stride - s.pad + s.k, s.h);
    int x0 = max (ox * s.stride - s.pad, 0), x1 = min (ox * s.stride - s.pad + s.k, s.w);
    float sum = 0.0f;
    for (int iy = y0; iy < y1; iy++)
      for (int ix = x0; ix < x1; ix++)
        sum += in[iy * s.w + ix];
    y[i] = sum * scale;
  }
}

// x (planes, h, w) -> y (planes, oh, ow), divisor k*k
void
lam_cuda_avgpool_forward (LamBackend *self, const float *x, float *y, int planes, int h, int w,
                          int k, int stride, int pad)
{
  PoolShape s;
  if (!pool_shape (self, "avgpool_forward", planes, h, w, k, stride, pad, &s))
    return;
  size_t n = (size_t) planes * s.oh * s.ow;
  avgpool_forward_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0,
                           lam_cuda_context (self)->stream>>> (x, y, s);
  LAM_CUDA_LAUNCHED (self, "avgpool_forward");
}

/* One thread per input gathers the outputs whose windows cover it, in the
 * order the CPU backend adds them.
 * dy (planes, oh, ow) -> dx (planes, h, w) */
static __global__ void
avgpool_backward_kernel (const float *dy, float *dx, PoolShape s)
{
  float scale = 1.0f / ((float) s.k * (float) s.k);
  size_t n = (size_t) s.planes * s.h * s.w;
  LAM_CUDA_FOR_EACH (i, n) {
    int ix = (int) (i % s.w), iy = (int) (i / s.w % s.h);
    const float *g = dy + i / ((size_t) s.h * s.w) * s.oh * s.ow;
    // Outputs o with o*stride - pad <= i < o*stride - pad + k.
    int ty = iy + s.pad - s.k + 1, tx = ix + s.pad - s.k + 1;
    int oy0 = ty <= 0 ? 0 : (ty + s.stride - 1) / s.stride;
    int ox0 = tx <= 0 ? 0 : (tx + s.stride - 1) / s.stride;
    int oy1 = min ((iy + s.pad) / s.stride, s.oh - 1);
    int ox1 = min ((ix + s.pad) / s.stride, s.ow - 1);
    float sum = 0.0f;
    for (int oy = oy0; oy <= oy1; oy++)
      for (int ox = ox0; ox <= ox1; ox++)
        sum += __fmul_rn (g[oy * s.ow + ox], scale);
    dx[i] = sum;
  }
}

// dy (planes, oh, ow) -> dx (planes, h, w)
void
lam_cuda_avgpool_backward (LamBackend *self, const float *dy, float *dx, int planes, int h, int w,
                           int k, int stride, int pad)
{
  PoolShape s;
  if (planes <= 0 || h <= 0 || w <= 0)
    return;
  if (!pool_shape (self, "avgpool_backward", planes, h, w, k, stride, pad, &s)) {
    // No window: nothing reaches the input.
    if (k > 0 && stride > 0 && pad >= 0)
      lam_cuda_ok (self,
                   cudaMemsetAsync (dx, 0, (size_t) planes * h * w * sizeof (float),
                                    lam_cuda_context (self)->stream),
                   "avgpool_backward");
    return;
  }
  size_t n = (size_t) planes * h * w;
  avgpool_backward_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0,
                            lam_cuda_context (self)->stream>>> (dy, dx, s);
  LAM_CUDA_LAUNCHED (self, "avgpool_backward");
}
