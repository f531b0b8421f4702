/* lam-backend.h: the table of operations every compute backend provides.
 *
 * Layers, losses and optimizers call only these operations, so every model
 * runs on every backend and a parity test can compare any op between them.
 * Pointers called "device" point into memory from `alloc`; on the CPU backend
 * that is ordinary host memory. All tensors are float32, row-major,
 * contiguous; labels and argmax indices are int32.
 *
 * Gradient rule (as in llm.c): parameter gradients are accumulated (+=),
 * activation gradients are written (=); linear_activation_backward alone
 * writes its parameter gradients.
 *
 * This header is the only part of core/ the CUDA module sees: keep it plain
 * C with no GLib types in the ops table, so nvcc can include it.
 *
 * Shape of the table: a LamBackend is a small per-instance part (ABI,
 * names, the backend's context) followed by the ops. Each backend writes
 * its ops once, as a `static const LamBackend` template filled with
 * designated initialisers (`.gemm = lam_cpu_gemm, ...`), and its
 * constructor copies the template and then fills in the instance part;
 * no op changes after that. The ops stay in the instance rather than
 * behind a pointer to a separate const table so that every caller keeps
 * writing `be->gemm (be, ...)`, at one load per call as before. Backends
 * in this tree: the fast CPU one (core/cpu/, lam_backend_cpu_new), the
 * plain reference (core/cpu-ref/, lam_backend_ref_new) the tests hold the
 * others to, and CUDA (gpu/, a module lam_device_open loads).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever the table's layout or an op's meaning changes; a module
 * built against another version is refused at load time. 5: im2col, col2im
 * and swap_axes left the table, since no layer calls them (each backend
 * lowers its convolutions in its own way, inside conv2d_*). 6: batch
 * normalisation. 7: losses against real-valued targets (mse_targets,
 * l1_targets), for regression. 8: the L1 weight penalty's gradient
 * (l1_penalty). 9: a linear layer and the activation after it as one op
 * each way (linear_activation_forward, linear_activation_backward). */
#define LAM_BACKEND_ABI_VERSION 9

typedef enum
{
  LAM_ACTIVATION_RELU,
  LAM_ACTIVATION_LEAKY_RELU, /* slope for x < 0 in `alpha` */
  LAM_ACTIVATION_SIGMOID,
  LAM_ACTIVATION_TANH,
} LamActivation;

typedef struct _LamBackend LamBackend;

struct _LamBackend
{
  /* The instance part. */
  int abi_version;
  const char *name;        /* "cpu", "cpu-ref", "cuda" */
  char device_name[128];   /* "OpenBLAS 0.3.21, 2 threads" / "NVIDIA H100 80GB HBM3" */
  void *context;           /* backend's own state */

  /* The ops, from the backend's const template. */

  /* Memory. alloc returns NULL when out of memory (never aborts); the
   * memory is zero-filled. */
  void *(*alloc) (LamBackend *self, size_t bytes);
  void (*free) (LamBackend *self, void *ptr);
  void (*upload) (LamBackend *self, void *dst_device, const void *src_host, size_t bytes);
  void (*download) (LamBackend *self, void *dst_host, const void *src_device, size_t bytes);
  void (*copy) (LamBackend *self, void *dst_device, const void *src_device, size_t bytes);
  /* Waits until every queued op has finished (no-op on the CPU). */
  void (*synchronize) (LamBackend *self);
  /* Frees the table itself and the backend's state. */
  void (*destroy) (LamBackend *self);

  // x (n) = value
  void (*fill) (LamBackend *self, float *x, size_t n, float value);

  /* C (m,n) = alpha * op(A) · op(B) + beta * C, row-major.
   * op(A) is (m,k): A is (m,k) with lda >= k, or (k,m) with lda >= m when
   * trans_a. op(B) is (k,n): B is (k,n) with ldb >= n, or (n,k) when
   * trans_b. */
  void (*gemm) (LamBackend *self, int trans_a, int trans_b, int m, int n, int k, float alpha,
                const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

  // y (outer, channels, inner) += bias (channels)
  void (*bias_add) (LamBackend *self, float *y, const float *bias, int outer, int channels,
                    int inner);
  // dbias (channels) += sum over outer and inner of dy (outer, channels, inner)
  void (*bias_backward) (LamBackend *self, const float *dy, float *dbias, int outer, int channels,
                         int inner);

  // y (n) = f(x (n)); y may alias x
  void (*activation_forward) (LamBackend *self, LamActivation kind, float alpha, const float *x,
                              float *y, size_t n);
  // dx (n) = f'(x) * dy, using whichever of x (input) or y (output) the
  // function needs; dx may alias dy
  void (*activation_backward) (LamBackend *self, LamActivation kind, float alpha, const float *x,
                               const float *y, const float *dy, float *dx, size_t n);

  /* Convolution of a whole batch (ABI 2), as PyTorch's Conv2d: weight
   * (out_c, c, kh, kw), stride, zero padding pad,
   * oh = (h + 2*pad - kh) / stride + 1, likewise ow.
   * y (batch, out_c, oh, ow) = weight ⋆ x (batch, c, h, w) + bias (out_c);
   * bias may be NULL. scratch is scratch_floats floats the op may overwrite,
   * at least (c*kh*kw + out_c) * oh * ow; more lets a backend use more
   * threads. How the op lowers the convolution is the backend's business. */
  void (*conv2d_forward) (LamBackend *self, const float *x, const float *weight,
                          const float *bias, float *y, int batch, int c, int h, int w, int out_c,
                          int kh, int kw, int stride, int pad, float *scratch,
                          size_t scratch_floats);
  /* From x, weight and dy (batch, out_c, oh, ow): dweight (out_c, c, kh, kw)
   * +=, dbias (out_c) += unless NULL, dx (batch, c, h, w) = unless NULL.
   * Same scratch rule as the forward. */
  void (*conv2d_backward) (LamBackend *self, const float *x, const float *weight, const float *dy,
                           float *dweight, float *dbias, float *dx, int batch, int c, int h,
                           int w, int out_c, int kh, int kw, int stride, int pad, float *scratch,
                           size_t scratch_floats);
  /* A convolution and the 2×2 max pool of stride 2 after it (ABI 3): the
   * same y as conv2d_forward, then pooled (batch, out_c, oh/2, ow/2) and
   * argmax as maxpool_forward gives over y's batch*out_c planes. A backend
   * may pool each image while its convolution output is still in cache. */
  void (*conv2d_maxpool2_forward) (LamBackend *self, const float *x, const float *weight,
                                   const float *bias, float *y, float *pooled, int32_t *argmax,
                                   int batch, int c, int h, int w, int out_c, int kh, int kw,
                                   int stride, int pad, float *scratch, size_t scratch_floats);
  /* Its backward: dy (batch, out_c, oh, ow) = dpooled scattered through
   * argmax, as maxpool_backward writes it, then as conv2d_backward. */
  void (*conv2d_maxpool2_backward) (LamBackend *self, const float *x, const float *weight,
                                    const float *dpooled, const int32_t *argmax, float *dy,
                                    float *dweight, float *dbias, float *dx, int batch, int c,
                                    int h, int w, int out_c, int kh, int kw, int stride, int pad,
                                    float *scratch, size_t scratch_floats);

  /* Pooling over planes = batch*channels planes of (h, w); windows k×k,
   * stride, zero padding pad; oh = (h + 2*pad - k) / stride + 1.
   * Max pooling ignores padded positions (as PyTorch); argmax (planes, oh, ow)
   * holds the index y*w + x inside the input plane of the chosen maximum. */
  void (*maxpool_forward) (LamBackend *self, const float *x, float *y, int32_t *argmax, int planes,
                           int h, int w, int k, int stride, int pad);
  // dx (planes, h, w) = scatter of dy (planes, oh, ow) through argmax
  void (*maxpool_backward) (LamBackend *self, const float *dy, const int32_t *argmax, float *dx,
                            int planes, int h, int w, int oh, int ow);
  /* Average pooling counts padded positions in the divisor (PyTorch's
   * count_include_pad=True): divisor is always k*k. */
  void (*avgpool_forward) (LamBackend *self, const float *x, float *y, int planes, int h, int w,
                           int k, int stride, int pad);
  void (*avgpool_backward) (LamBackend *self, const float *dy, float *dx, int planes, int h, int w,
                            int k, int stride, int pad);

  // y (rows, cols) = softmax or log_softmax of each row of x, numerically stable
  void (*softmax_forward) (LamBackend *self, const float *x, float *y, int rows, int cols,
                           int log);
  /* dx (rows, cols) from y (the forward output) and dy:
   * softmax: dx = y * (dy - sum(dy * y)); log_softmax: dx = dy - exp(y) * sum(dy) */
  void (*softmax_backward) (LamBackend *self, const float *y, const float *dy, float *dx,
                            int rows, int cols, int log);

  /* Inverted dropout: mask[i] = (u(seed, i) >= p) / (1 - p) with u from
   * lam_hash_uniform below, y = x * mask; the scale is worked out in double
   * and rounded once (10 at p = 0.9), as PyTorch does. Deterministic for a
   * seed, so both backends draw the same mask. */
  void (*dropout_forward) (LamBackend *self, const float *x, float *y, float *mask, size_t n,
                           double p, uint64_t seed);
  // dx (n) = dy * mask
  void (*dropout_backward) (LamBackend *self, const float *dy, const float *mask, float *dx,
                            size_t n);

  /* Batch normalisation (ABI 6) of x (outer, channels, inner), per channel
   * over its outer × inner values (BatchNorm1d: outer = batch, inner = 1;
   * BatchNorm2d: inner = height × width), as PyTorch:
   * training: mean and biased variance of the batch, in double, give
   *   saved[c] = mean, saved[channels + c] = 1 / sqrt(var + eps); the running
   *   statistics move: r = (1 - momentum) r + momentum stat, with the unbiased
   *   variance (var × count / (count - 1)); *batches_tracked += 1 (may be NULL).
   * evaluation: saved is the same from running_mean and running_var.
   * Then y = (x - saved mean) × saved 1/std × gamma[c] + beta[c]. */
  void (*batchnorm_forward) (LamBackend *self, const float *x, const float *gamma,
                             const float *beta, float *running_mean, float *running_var,
                             float *batches_tracked, float *saved, float *y, int outer,
                             int channels, int inner, int training, double momentum, double eps);
  /* From x, dy and the forward's saved: dgamma += sum dy × x̂, dbeta += sum dy
   * (x̂ = (x - mean) / std), and unless NULL dx = gamma / std × (dy - mean(dy) -
   * x̂ mean(dy x̂)) in training, where the statistics depend on x, or
   * gamma / std × dy in evaluation. */
  void (*batchnorm_backward) (LamBackend *self, const float *x, const float *dy,
                              const float *gamma, const float *saved, float *dgamma, float *dbeta,
                              float *dx, int outer, int channels, int inner, int training);

  /* Losses over (rows, cols) predictions and int32 labels (rows).
   * Each writes the gradient of (loss_sum * grad_scale) to dx and adds the
   * sum over rows of the per-row loss to *loss_acc (a device float).
   * softmax_xent: per-row loss = -log softmax(x)[label] (x are logits).
   * nll: per-row loss = -x[label] (x are log-probabilities).
   * mse: target is the one-hot label; per-row loss = sum_j (x_j - t_j)^2 / cols,
   *   so the mean of per-row losses is PyTorch's MSELoss(reduction='mean'). */
  void (*softmax_xent) (LamBackend *self, const float *x, const int32_t *labels, int rows,
                        int cols, float grad_scale, float *dx, float *loss_acc);
  void (*nll) (LamBackend *self, const float *x, const int32_t *labels, int rows, int cols,
               float grad_scale, float *dx, float *loss_acc);
  void (*mse) (LamBackend *self, const float *x, const int32_t *labels, int rows, int cols,
               float grad_scale, float *dx, float *loss_acc);

  /* Regression losses (ABI 7) of x (rows, cols) against real-valued targets
   * t (rows, cols), with the same rule for dx and *loss_acc:
   * mse_targets: per-row loss = sum_j (x_j - t_j)^2 / cols,
   *   dx = 2 (x - t) / cols * grad_scale;
   * l1_targets: per-row loss = sum_j |x_j - t_j| / cols,
   *   dx = sign(x - t) / cols * grad_scale, 0 where x = t (as PyTorch's L1Loss).
   * The mean of the per-row losses is PyTorch's MSELoss / L1Loss
   * (reduction='mean'). */
  void (*mse_targets) (LamBackend *self, const float *x, const float *targets, int rows, int cols,
                       float grad_scale, float *dx, float *loss_acc);
  void (*l1_targets) (LamBackend *self, const float *x, const float *targets, int rows, int cols,
                      float grad_scale, float *dx, float *loss_acc);

  // out (rows) = index of the first maximum of each row of x (rows, cols)
  void (*argmax_rows) (LamBackend *self, const float *x, int rows, int cols, int32_t *out);
  // *correct_acc (a device float) += number of rows whose argmax equals the label
  void (*count_correct) (LamBackend *self, const float *x, const int32_t *labels, int rows,
                         int cols, float *correct_acc);

  /* Optimizer updates over flat buffers of n parameters, PyTorch semantics.
   * SGD: g = grad + weight_decay * p; with momentum: buf = first ? g :
   * momentum * buf + (1 - dampening) * g, then g = nesterov ? g + momentum *
   * buf : buf; p -= lr * g. */
  void (*sgd_update) (LamBackend *self, float *params, const float *grads, float *momentum_buf,
                      size_t n, float lr, float momentum, float dampening, float weight_decay,
                      int nesterov, int first_step);
  /* Adam (decoupled = 0): g = grad + weight_decay * p. AdamW (decoupled = 1):
   * p *= 1 - lr * weight_decay. Then m = b1 m + (1-b1) g, v = b2 v + (1-b2) g²,
   * p -= lr / (1 - b1^step) * m / (sqrt(v) / sqrt(1 - b2^step) + eps).
   * step counts from 1. */
  void (*adam_update) (LamBackend *self, float *params, const float *grads, float *m, float *v,
                       size_t n, float lr, float beta1, float beta2, float eps, float weight_decay,
                       int decoupled, int step);
  /* The gradient of an L1 penalty strength * sum |p| (ABI 8), added before
   * an update: grads += strength * sign(p), 0 where p = 0 (as autograd
   * differentiates PyTorch's p.abs()). grads and params (n). */
  void (*l1_penalty) (LamBackend *self, const float *params, float *grads, size_t n,
                      float strength);

  /* A linear layer and the activation after it (ABI 9), every buffer
   * written as the two layers one by one would, so that a backend can run
   * each thread's share of the product, the bias and the activation
   * together while that share is in its cache:
   *   y (batch, out) = x (batch, in) · weight (out, in)ᵀ + bias (out),
   *   act_y = f(y), into its own buffer; bias may be NULL.
   * The backward from dact_y, act_y's gradient:
   *   dy = f'(y) * dact_y (as activation_backward with x = y, y = act_y;
   *   dy may alias dact_y), dweight = dyᵀ · x, dbias = Σ dy over the batch
   *   (dbias NULL without a bias), dx = dy · weight (dx may be NULL).
   * Unlike the other ops it writes the parameter gradients rather than
   * adding to them: the caller need not zero them first, a pass over the
   * largest gradients of an MLP. */
  void (*linear_activation_forward) (LamBackend *self, const float *x, const float *weight,
                                     const float *bias, float *y, float *act_y, int batch, int in,
                                     int out, LamActivation kind, float alpha);
  void (*linear_activation_backward) (LamBackend *self, const float *x, const float *weight,
                                      const float *y, const float *act_y, const float *dact_y,
                                      float *dy, float *dweight, float *dbias, float *dx, int batch,
                                      int in, int out, LamActivation kind, float alpha);
};

/* A uniform number in [0, 1) from (seed, index): splitmix64 finaliser over
 * seed ^ (index * golden ratio), top 24 bits. Shared by every backend so
 * random masks agree bit for bit. */
#ifdef __CUDACC__
#define LAM_HOST_DEVICE __host__ __device__
#else
#define LAM_HOST_DEVICE
#endif

static inline LAM_HOST_DEVICE float
lam_hash_uniform (uint64_t seed, uint64_t index)
{
  uint64_t z = seed ^ (index * 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z = z ^ (z >> 31);
  return (float) (z >> 40) * (1.0f / 16777216.0f);
}

/* The entry point a backend module exports: returns a new table, or NULL
 * with a message in `error_message` (size bytes) when no device answers. */
typedef LamBackend *(*LamBackendModuleOpen) (int abi_version, char *error_message,
                                             size_t size);
#define LAM_BACKEND_MODULE_SYMBOL "lam_backend_module_open"

#ifdef __cplusplus
}
#endif
