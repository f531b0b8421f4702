/* lam-cpu-activation.c: element-wise activations and their gradients,
 * large maps split over the threads. */
#include <math.h>

#include "lam-cpu-private.h"

typedef struct
{
  LamActivation kind;
  float alpha;
  const float *x, *y, *dy;
  float *out;
  CpuIsa isa;
} ActivationJob;

// y (n) = f(x (n)) on the calling thread; y may alias x
void
lam_cpu_activation_forward_span (CpuIsa isa, LamActivation kind, float alpha, const float *x,
                                 float *y, size_t n)
{
  switch (kind) {
  case LAM_ACTIVATION_RELU:
#ifdef LAM_CPU_HAVE_AVX512
    if (isa == CPU_ISA_AVX512) {
      lam_cpu_avx512_relu_forward (x, y, n);
      break;
    }
#endif
#ifdef LAM_CPU_HAVE_AVX2
    if (isa == CPU_ISA_AVX2) {
      lam_cpu_avx2_relu_forward (x, y, n);
      break;
    }
#endif
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

static void
activation_forward_range (size_t lo, size_t hi, void *data)
{
  const ActivationJob *job = data;
  lam_cpu_activation_forward_span (job->isa, job->kind, job->alpha, job->x + lo, job->out + lo,
                                   hi - lo);
}

// y (n) = f(x (n)); y may alias x
void
lam_cpu_activation_forward (LamBackend *self, LamActivation kind, float alpha, const float *x,
                            float *y, size_t n)
{
  ActivationJob job = { kind, alpha, x, NULL, NULL, y, cpu_context (self)->isa };
  lam_cpu_parallel_ranges (self, n, ACTIVATION_PARALLEL, activation_forward_range, &job);
}

/* dx (n) = f'(x) * dy; dx may alias dy. ReLU and leaky ReLU read x, sigmoid
 * and tanh read y, so an in-place forward (x == y) still works for ReLU with
 * a non-negative slope. */
void
lam_cpu_activation_backward_span (CpuIsa isa, LamActivation kind, float alpha, const float *x,
                                  const float *y, const float *dy, float *dx, size_t n)
{
  switch (kind) {
  case LAM_ACTIVATION_RELU:
#ifdef LAM_CPU_HAVE_AVX512
    if (isa == CPU_ISA_AVX512) {
      lam_cpu_avx512_relu_backward (x, dy, dx, n);
      break;
    }
#endif
#ifdef LAM_CPU_HAVE_AVX2
    if (isa == CPU_ISA_AVX2) {
      lam_cpu_avx2_relu_backward (x, dy, dx, n);
      break;
    }
#endif
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

static void
activation_backward_range (size_t lo, size_t hi, void *data)
{
  const ActivationJob *job = data;
  lam_cpu_activation_backward_span (job->isa, job->kind, job->alpha, job->x + lo, job->y + lo,
                                    job->dy + lo, job->out + lo, hi - lo);
}

void
lam_cpu_activation_backward (LamBackend *self, LamActivation kind, float alpha, const float *x,
                             const float *y, const float *dy, float *dx, size_t n)
{
  ActivationJob job = { kind, alpha, x, y, dy, dx, cpu_context (self)->isa };
  lam_cpu_parallel_ranges (self, n, ACTIVATION_PARALLEL, activation_backward_range, &job);
}
