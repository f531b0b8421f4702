/* conv2d.cu: convolution of a batch as im2col and cuBLAS products, a chunk
 * of images at a time as the scratch allows.
 *
 * The columns of a chunk of nb images are (c*kh*kw, nb*oh*ow), image b's
 * block starting at column b*oh*ow. The forward is one strided-batched
 * product over the chunk, weight shared, each image's block written straight
 * into its (out_c, oh*ow) output. The backward first turns dy's chunk into
 * (out_c, nb*oh*ow), after which the weight gradient and the columns'
 * gradient are one product each over the whole chunk.
 */
#include "lam-backend-cuda-private.h"

typedef struct
{
  int oh, ow;
  size_t plane, ckk, in_image;
} ConvDims;

static bool
conv_dims (LamBackend *self, const char *op, int batch, int c, int h, int w, int out_c, int kh,
           int kw, int stride, int pad, ConvDims *d)
{
  if (batch <= 0 || out_c <= 0 || c <= 0)
    return false;
  if (kh <= 0 || kw <= 0 || stride <= 0 || pad < 0 || h + 2 * pad < kh || w + 2 * pad < kw) {
    lam_cuda_fail (self, "%s: a %d×%d kernel with stride %d and padding %d does not fit %d×%d",
                   op, kh, kw, stride, pad, h, w);
    return false;
  }
  d->oh = (h + 2 * pad - kh) / stride + 1;
  d->ow = (w + 2 * pad - kw) / stride + 1;
  d->plane = (size_t) d->oh * d->ow;
  d->ckk = (size_t) c * kh * kw;
  d->in_image = (size_t) c * h * w;
  return true;
}

/* Images per chunk when each needs per_image scratch floats. */
static int
chunk_images (LamBackend *self, const char *op, int batch, size_t per_image,
              size_t scratch_floats)
{
  size_t fit = scratch_floats / per_image;
  if (fit == 0) {
    lam_cuda_fail (self, "%s: the scratch holds %zu floats, one image needs %zu", op,
                   scratch_floats, per_image);
    return 0;
  }
  return fit < (size_t) batch ? (int) fit : batch;
}

// x (batch, c, h, w), weight (out_c, c, kh, kw), bias (out_c) -> y (batch, out_c, oh, ow)
void
lam_cuda_conv2d_forward (LamBackend *self, const float *x, const float *weight, const float *bias,
                         float *y, int batch, int c, int h, int w, int out_c, int kh, int kw,
                         int stride, int pad, float *scratch, size_t scratch_floats)
{
  ConvDims d;
  if (!conv_dims (self, "conv2d_forward", batch, c, h, w, out_c, kh, kw, stride, pad, &d))
    return;
  /* A 1×1 kernel of stride 1 without padding: each image is its own
   * columns. */
  bool direct = kh == 1 && kw == 1 && stride == 1 && pad == 0;
  int chunk = direct ? batch
                     : chunk_images (self, "conv2d_forward", batch, d.ckk * d.plane,
                                     scratch_floats);
  if (chunk == 0)
    return;

  for (int b0 = 0; b0 < batch; b0 += chunk) {
    int nb = batch - b0 < chunk ? batch - b0 : chunk;
    const float *cols = x + b0 * d.in_image;
    int ld = (int) d.plane;
    long long stride_cols = (long long) d.in_image;
    if (!direct) {
      lam_cuda_im2col (self, x + b0 * d.in_image, nb, c, h, w, kh, kw, stride, pad, scratch);
      cols = scratch;
      ld = (int) (nb * d.plane);
      stride_cols = (long long) d.plane;
    }
    // weight (out_c, ckk) · cols_b (ckk, plane) -> y_b (out_c, plane), for each b of the chunk
    lam_cuda_gemm_batched (self, 0, 0, out_c, (int) d.plane, (int) d.ckk, 1.0f, weight,
                           (int) d.ckk, 0, cols, ld, stride_cols, 0.0f,
                           y + (size_t) b0 * out_c * d.plane, (int) d.plane,
                           (long long) (out_c * d.plane), nb);
  }
  // y (batch, out_c, plane) += bias (out_c)
  if (bias != NULL)
    lam_cuda_bias_add (self, y, bias, batch, out_c, (int) d.plane);
}

// x, weight, dy (batch, out_c, oh, ow) -> dweight +=, dbias +=, dx (batch, c, h, w) =
void
lam_cuda_conv2d_backward (LamBackend *self, const float *x, const float *weight, const float *dy,
                          float *dweight, float *dbias, float *dx, int batch, int c, int h, int w,
                          int out_c, int kh, int kw, int stride, int pad, float *scratch,
                          size_t scratch_floats)
{
  ConvDims d;
  if (!conv_dims (self, "conv2d_backward", batch, c, h, w, out_c, kh, kw, stride, pad, &d))
    return;
  int chunk = chunk_images (self, "conv2d_backward", batch, (d.ckk + out_c) * d.plane,
                            scratch_floats);
  if (chunk == 0)
    return;

  // dy (batch, out_c, plane) -> dbias (out_c) +=
  if (dbias != NULL)
    lam_cuda_bias_backward (self, dy, dbias, batch, out_c, (int) d.plane);

  for (int b0 = 0; b0 < batch; b0 += chunk) {
    int nb = batch - b0 < chunk ? batch - b0 : chunk;
    int cols = (int) (nb * d.plane);
    float *col = scratch;
    float *dy_t = scratch + d.ckk * nb * d.plane;
    // x chunk (nb, c, h, w) -> col (ckk, nb*plane)
    lam_cuda_im2col (self, x + b0 * d.in_image, nb, c, h, w, kh, kw, stride, pad, col);
    // dy chunk (nb, out_c, plane) -> dy_t (out_c, nb*plane)
    lam_cuda_swap_axes (self, dy + (size_t) b0 * out_c * d.plane, dy_t, nb, out_c,
                        (int) d.plane);
    // dy_t (out_c, nb*plane) · col (ckk, nb*plane)ᵀ -> dweight (out_c, ckk) +=
    lam_cuda_gemm (self, 0, 1, out_c, (int) d.ckk, cols, 1.0f, dy_t, cols, col, cols, 1.0f,
                   dweight, (int) d.ckk);
    if (dx == NULL)
      continue;
    // weight (out_c, ckk)ᵀ · dy_t (out_c, nb*plane) -> col (ckk, nb*plane)
    lam_cuda_gemm (self, 1, 0, (int) d.ckk, cols, out_c, 1.0f, weight, (int) d.ckk, dy_t, cols,
                   0.0f, col, cols);
    // col (ckk, nb*plane) -> dx chunk (nb, c, h, w)
    lam_cuda_col2im (self, col, nb, c, h, w, kh, kw, stride, pad, dx + b0 * d.in_image);
  }
}

/* The fused pair of the CPU backend runs here as its two ops: the GPU keeps
 * the convolution's output in its own memory either way. */
void
lam_cuda_conv2d_maxpool2_forward (LamBackend *self, const float *x, const float *weight,
                                  const float *bias, float *y, float *pooled, int32_t *argmax,
                                  int batch, int c, int h, int w, int out_c, int kh, int kw,
                                  int stride, int pad, float *scratch, size_t scratch_floats)
{
  lam_cuda_conv2d_forward (self, x, weight, bias, y, batch, c, h, w, out_c, kh, kw, stride, pad,
                           scratch, scratch_floats);
  int oh = (h + 2 * pad - kh) / stride + 1, ow = (w + 2 * pad - kw) / stride + 1;
  lam_cuda_maxpool_forward (self, y, pooled, argmax, batch * out_c, oh, ow, 2, 2, 0);
}

void
lam_cuda_conv2d_maxpool2_backward (LamBackend *self, const float *x, const float *weight,
                                   const float *dpooled, const int32_t *argmax, float *dy,
                                   float *dweight, float *dbias, float *dx, int batch, int c,
                                   int h, int w, int out_c, int kh, int kw, int stride, int pad,
                                   float *scratch, size_t scratch_floats)
{
  int oh = (h + 2 * pad - kh) / stride + 1, ow = (w + 2 * pad - kw) / stride + 1;
  lam_cuda_maxpool_backward (self, dpooled, argmax, dy, batch * out_c, oh, ow, oh / 2, ow / 2);
  lam_cuda_conv2d_backward (self, x, weight, dy, dweight, dbias, dx, batch, c, h, w, out_c, kh,
                            kw, stride, pad, scratch, scratch_floats);
}
