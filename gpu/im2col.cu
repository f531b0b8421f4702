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

/* One thread per image position (ci, b, oy, ox): it reads the kh*kw pixels
 * under the kernel there and writes them down its column, one row apart.
 * Neighbouring threads take neighbouring positions, so both the reads and
 * each row's writes are neighbouring floats.
 * im (batch, c, h, w) -> col (c*kh*kw, batch*oh*ow) */
template <typename Index>
static __global__ void
im2col_kernel (const float *im, ConvShape s, float *col)
{
  Index plane = (Index) s.oh * s.ow;
  Index cols = (Index) s.batch * plane;
  Index n = (Index) s.c * cols;
  size_t row_stride = (size_t) cols;
  LAM_CUDA_FOR_EACH_AS (Index, i, n) {
    Index q = i % cols;
    int ci = (int) (i / cols), b = (int) (q / plane), p = (int) (q % plane);
    int oy = p / s.ow, ox = p % s.ow;
    const float *image = im + ((size_t) b * s.c + ci) * s.h * s.w;
    float *out = col + (size_t) ci * s.kh * s.kw * row_stride + q;
    int iy0 = oy * s.stride - s.pad, ix0 = ox * s.stride - s.pad;
    for (int ky = 0; ky < s.kh; ky++) {
      int iy = iy0 + ky;
      bool row_inside = iy >= 0 && iy < s.h;
      for (int kx = 0; kx < s.kw; kx++, out += row_stride) {
        int ix = ix0 + kx;
        *out = row_inside && ix >= 0 && ix < s.w ? image[(size_t) iy * s.w + ix] : 0.0f;
      }
    }
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
  size_t n = (size_t) c * batch * s.oh * s.ow;
  unsigned blocks = lam_cuda_blocks (self, n);
  cudaStream_t stream = lam_cuda_context (self)->stream;
  if (lam_cuda_fits_32_bits (self, n))
    im2col_kernel<unsigned><<<blocks, LAM_CUDA_THREADS, 0, stream>>> (im, s, col);
  else
    im2col_kernel<size_t><<<blocks, LAM_CUDA_THREADS, 0, stream>>> (im, s, col);
  LAM_CUDA_LAUNCHED (self, "im2col");
}

/* One thread per pixel gathers the column entries that read it, in the
 * order (ky, kx) the CPU backend adds them, so no two threads write the
 * same float. col (c*kh*kw, batch*oh*ow) -> im (batch, c, h, w) */
template <typename Index>
static __global__ void
col2im_kernel (const float *col, ConvShape s, float *im)
{
  size_t plane = (size_t) s.oh * s.ow;
  size_t cols = (size_t) s.batch * plane;
  Index n = (Index) s.batch * s.c * s.h * s.w;
  LAM_CUDA_FOR_EACH_AS (Index, i, n) {
    Index rest = i / s.w;
    int ix = (int) (i % s.w), iy = (int) (rest % s.h);
    rest /= s.h;
    int ci = (int) (rest % s.c), b = (int) (rest / s.c);
    const float *image_cols = col + (size_t) b * plane;
    float sum = 0.0f;
    for (int ky = 0; ky < s.kh; ky++) {
      int ty = iy + s.pad - ky;
      if (ty < 0 || (s.stride != 1 && ty % s.stride != 0))
        continue;
      int oy = s.stride == 1 ? ty : ty / s.stride;
      if (oy >= s.oh)
        continue;
      for (int kx = 0; kx < s.kw; kx++) {
        int tx = ix + s.pad - kx;
        if (tx < 0 || (s.stride != 1 && tx % s.stride != 0))
          continue;
        int ox = s.stride == 1 ? tx : tx / s.stride;
        if (ox >= s.ow)
          continue;
        size_t row = ((size_t) ci * s.kh + ky) * s.kw + kx;
        sum += image_cols[row * cols + (size_t) oy * s.ow + ox];
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
  unsigned blocks = lam_cuda_blocks (self, n);
  if (lam_cuda_fits_32_bits (self, n))
    col2im_kernel<unsigned><<<blocks, LAM_CUDA_THREADS, 0, stream>>> (col, s, im);
  else
    col2im_kernel<size_t><<<blocks, LAM_CUDA_THREADS, 0, stream>>> (col, s, im);
  LAM_CUDA_LAUNCHED (self, "col2im");
}

// x (a, b, inner) -> y (b, a, inner), one thread per float of y
template <typename Index>
static __global__ void
swap_axes_kernel (const float *x, float *y, int a, int b, int inner)
{
  Index n = (Index) a * b * inner;
  LAM_CUDA_FOR_EACH_AS (Index, i, n) {
    Index t = i % inner, rest = i / inner;
    Index ia = rest % a, jb = rest / a;
    y[i] = x[((size_t) ia * b + jb) * inner + t];
  }
}

// x (a, b, inner) -> y (b, a, inner)
void
lam_cuda_swap_axes (LamBackend *self, const float *x, float *y, int a, int b, int inner)
{
  size_t n = (size_t) a * b * inner;
  if (a <= 0 || b <= 0 || inner <= 0)
    return;
  unsigned blocks = lam_cuda_blocks (self, n);
  cudaStream_t stream = lam_cuda_context (self)->stream;
  if (lam_cuda_fits_32_bits (self, n))
    swap_axes_kernel<unsigned><<<blocks, LAM_CUDA_THREADS, 0, stream>>> (x, y, a, b, inner);
  else
    swap_axes_kernel<size_t><<<blocks, LAM_CUDA_THREADS, 0, stream>>> (x, y, a, b, inner);
  LAM_CUDA_LAUNCHED (self, "swap_axes");
}
