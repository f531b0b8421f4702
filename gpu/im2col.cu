/* im2col.cu: lowering a batch of images to columns and back, and swapping
 * two outer axes. */
#include "lam-backend-cuda-private.h"

typedef struct
{
  int batch, c, h, w, kh, kw, stride, pad, oh, ow;
} ConvShape;

static ConvShape
conv_shape (int batch, int c, int h, int w, int kh, int kw, int stride, int pad)
{
  ConvShape s = { batch, c, h, w, kh, kw, stride, pad, (h + 2 * pad - kh) / stride + 1,
                  (w + 2 * pad - kw) / stride + 1 };
  return s;
}

static bool
shape_valid (LamBackend *self, const ConvShape *s, const char *op)
{
  if (s->batch > 0 && s->c > 0 && s->kh > 0 && s->kw > 0 && s->stride > 0 && s->pad >= 0 &&
      s->oh > 0 && s->ow > 0)
    return true;
  if (s->batch < 0 || s->c < 0 || s->kh <= 0 || s->kw <= 0 || s->stride <= 0 || s->pad < 0)
    lam_cuda_fail (self, "%s: a %d×%d kernel with stride %d and padding %d cannot run", op, s->kh,
                   s->kw, s->stride, s->pad);
  return false;
}

/* One thread per column entry: row (ci*kh + ky)*kw + kx, column
 * b*oh*ow + oy*ow + ox; neighbouring threads write neighbouring floats.
 * im (batch, c, h, w) -> col (c*kh*kw, batch*oh*ow) */
static __global__ void
im2col_kernel (const float *im, ConvShape s, float *col)
{
  size_t plane = (size_t) s.oh * s.ow;
  size_t cols = (size_t) s.batch * plane;
  size_t n = (size_t) s.c * s.kh * s.kw * cols;
  LAM_CUDA_FOR_EACH (i, n) {
    size_t row = i / cols, q = i % cols;
    int b = (int) (q / plane), p = (int) (q % plane);
    int oy = p / s.ow, ox = p % s.ow;
    int kx = (int) (row % s.kw), ky = (int) (row / s.kw % s.kh), ci = (int) (row / s.kw / s.kh);
    int iy = oy * s.stride - s.pad + ky, ix = ox * s.stride - s.pad + kx;
    col[i] = iy >= 0 && iy < s.h && ix >= 0 && ix < s.w
               ? im[(((size_t) b * s.c + ci) * s.h + iy) * s.w + ix]
               : 0.0f;
  }
}

// im (batch, c, h, w) -> col (c*kh*kw, batch*oh*ow)
void
lam_cuda_im2col (LamBackend *self, const float *im, int batch, int c, int h, int w, int kh,
                 int kw, int stride, int pad, float *col)
{
  ConvShape s = conv_shape (batch, c, h, w, kh, kw, stride, pad);
  if (!shape_valid (self, &s, "im2col"))
    return;
  size_t n = (size_t) c * kh * kw * batch * s.oh * s.ow;
  im2col_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0,
                  lam_cuda_context (self)->stream>>> (im, s, col);
  LAM_CUDA_LAUNCHED (self, "im2col");
}

/* One thread per pixel gathers the column entries that read it, in the
 * order (ky, kx) the CPU backend adds them, so no two threads write the
 * same float. col (c*kh*kw, batch*oh*ow) -> im (batch, c, h, w) */
static __global__ void
col2im_kernel (const float *col, ConvShape s, float *im)
{
  size_t plane = (size_t) s.oh * s.ow;
  size_t cols = (size_t) s.batch * plane;
  size_t n = (size_t) s.batch * s.c * s.h * s.w;
  LAM_CUDA_FOR_EACH (i, n) {
    int ix = (int) (i % s.w), iy = (int) (i / s.w % s.h);
    int ci = (int) (i / s.w / s.h % s.c), b = (int) (i / s.w / s.h / s.c);
    float sum = 0.0f;
    for (int ky = 0; ky < s.kh; ky++) {
      int ty = iy + s.pad - ky;
      if (ty < 0 || ty % s.stride != 0 || ty / s.stride >= s.oh)
        continue;
      int oy = ty / s.stride;
      for (int kx = 0; kx < s.kw; kx++) {
        int tx = ix + s.pad - kx;
        if (tx < 0 || tx % s.stride != 0 || tx / s.stride >= s.ow)
          continue;
        int ox = tx / s.stride;
        size_t row = ((size_t) ci * s.kh + ky) * s.kw + kx;
        sum += col[row * cols + (size_t) b * plane + (size_t) oy * s.ow + ox];
      }
    }
    im[i] = sum;
  }
}

// col (c*kh*kw, batch*oh*ow) -> im (batch, c, h, w), the adjoint of im2col
void
lam_cuda_col2im (LamBackend *self, const float *col, int batch, int c, int h, int w, int kh,
                 int kw, int stride, int pad, float *im)
{
  ConvShape s = conv_shape (batch, c, h, w, kh, kw, stride, pad);
  size_t n = (size_t) batch * c * h * w;
  if (n == 0)
    return;
  cudaStream_t stream = lam_cuda_context (self)->stream;
  if (s.oh <= 0 || s.ow <= 0) {
    // No output position reads any pixel.
    lam_cuda_ok (self, cudaMemsetAsync (im, 0, n * sizeof (float), stream), "col2im");
    return;
  }
  if (!shape_valid (self, &s, "col2im"))
    return;
  col2im_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0, stream>>> (col, s, im);
  LAM_CUDA_LAUNCHED (self, "col2im");
}

// x (a, b, inner) -> y (b, a, inner), one thread per float of y
static __global__ void
swap_axes_kernel (const float *x, float *y, int a, int b, int inner)
{
  size_t n = (size_t) a * b * inner;
  LAM_CUDA_FOR_EACH (i, n) {
    size_t t = i % (size_t) inner, rest = i / (size_t) inner;
    size_t ia = rest % (size_t) a, jb = rest / (size_t) a;
    y[i] = x[(ia * b + jb) * inner + t];
  }
}

// x (a, b, inner) -> y (b, a, inner)
void
lam_cuda_swap_axes (LamBackend *self, const float *x, float *y, int a, int b, int inner)
{
  size_t n = (size_t) a * b * inner;
  if (a <= 0 || b <= 0 || inner <= 0)
    return;
  swap_axes_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0,
                     lam_cuda_context (self)->stream>>> (x, y, a, b, inner);
  LAM_CUDA_LAUNCHED (self, "swap_axes");
}
