/* linear.cu: a linear layer and the activation after it. On the GPU the
 * layers' own ops one after the other on the stream: cuBLAS and the
 * elementwise kernels gain nothing from running together here, and the
 * results stay those of the layers one by one. */
#include "lam-backend-cuda-private.h"

void
lam_cuda_linear_activation_forward (LamBackend *self, const float *x, const float *weight,
                                    const float *bias, float *y, float *act_y, int batch, int in,
                                    int out, LamActivation kind, float alpha)
{
  // x (batch, in) · W (out, in)ᵀ + b -> y (batch, out)
  lam_cuda_gemm (self, 0, 1, batch, out, in, 1.0f, x, in, weight, in, 0.0f, y, out);
  if (bias != NULL)
    lam_cuda_bias_add (self, y, bias, batch, out, 1);
  lam_cuda_activation_forward (self, kind, alpha, y, act_y, (size_t) batch * out);
}

void
lam_cuda_linear_activation_backward (LamBackend *self, const float *x, const float *weight,
                                     const float *y, const float *act_y, const float *dact_y,
                                     float *dy, float *dweight, float *dbias, float *dx, int batch,
                                     int in, int out, LamActivation kind, float alpha)
{
  lam_cuda_activation_backward (self, kind, alpha, y, act_y, dact_y, dy, (size_t) batch * out);
  // dy (batch, out)ᵀ · x (batch, in) -> dW (out, in), written
  lam_cuda_gemm (self, 1, 0, out, in, batch, 1.0f, dy, out, x, in, 0.0f, dweight, in);
  if (dbias != NULL) {
    lam_cuda_fill (self, dbias, (size_t) out, 0.0f);
    lam_cuda_bias_backward (self, dy, dbias, batch, out, 1);
  }
  // dy (batch, out) · W (out, in) -> dx (batch, in)
  if (dx != NULL)
    lam_cuda_gemm (self, 0, 0, batch, in, out, 1.0f, dy, out, weight, in, 0.0f, dx, in);
}
