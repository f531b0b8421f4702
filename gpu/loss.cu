/* loss.cu: the fused losses (gradient and summed loss in one pass) against
 * labels and against real-valued targets, argmax and the count of correct
 * rows.
 *
 * A loss takes one warp per row; each block writes its rows' summed loss
 * to the context's partial sums, and one warp then adds those to the
 * device accumulator in block order, so the same inputs give the same loss
 * bit for bit (an atomicAdd per block added them in whatever order the
 * blocks finished). A label outside [0, cols)
 * makes its row's loss NaN, which the trainer reports as a diverging loss,
 * where the CPU backend refuses the call with a critical warning.
 */
#include "lam-backend-cuda-private.h"

#define ROWS_PER_BLOCK (LAM_CUDA_THREADS / LAM_CUDA_WARP)
/* Rows per launch, so that each block has a partial sum of its own. */
#define ROWS_PER_LAUNCH (ROWS_PER_BLOCK * LAM_CUDA_PARTIALS)

// *acc += partials[0] + ... + partials[n - 1], one warp, in a fixed order
static __global__ void
add_block_sums_kernel (const float *partials, int n, float *acc)
{
  float sum = 0.0f;
  for (int i = (int) threadIdx.x; i < n; i += LAM_CUDA_WARP)
    sum += partials[i];
  sum = lam_cuda_warp_sum (sum);
  if (threadIdx.x == 0)
    *acc += sum;
}

/* Runs a loss over rows in launches of at most ROWS_PER_LAUNCH rows:
 * launch (r0, n, blocks) starts the kernel over rows [r0, r0 + n), each
 * block writing its sum to the partial sums, which one warp then adds to
 * *loss_acc in block order. */
template <typename Launch>
static void
sum_row_losses (LamBackend *self, const char *op, int rows, float *loss_acc, Launch launch)
{
  CudaContext *ctx = lam_cuda_context (self);
  for (int r0 = 0, n; r0 < rows; r0 += n) {
    n = rows - r0 < ROWS_PER_LAUNCH ? rows - r0 : ROWS_PER_LAUNCH;
    int blocks = (n + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK;
    launch (r0, n, blocks);
    if (!LAM_CUDA_LAUNCHED (self, op))
      return;
    add_block_sums_kernel<<<1, LAM_CUDA_WARP, 0, ctx->stream>>> (ctx->partials, blocks, loss_acc);
    if (!LAM_CUDA_LAUNCHED (self, op))
      return;
  }
}

typedef enum
{
  LOSS_SOFTMAX_XENT,
  LOSS_NLL,
  LOSS_MSE,
} LossKind;

/* x (rows, cols), labels (rows) -> dx (rows, cols) = d(loss * grad_scale)/dx;
 * *loss_acc += sum of the row losses */
template <LossKind kind>
static __global__ void
loss_kernel (const float *x, const int32_t *labels, int rows, int cols, float grad_scale,
             float mse_scale, float *dx, float *partials)
{
  __shared__ float row_loss[ROWS_PER_BLOCK];
  int lane = threadIdx.x % LAM_CUDA_WARP, warp = threadIdx.x / LAM_CUDA_WARP;
  int row = blockIdx.x * ROWS_PER_BLOCK + warp;
  float loss = 0.0f;

  if (row < rows) {
    const float *in = x + (size_t) row * cols;
    float *grad = dx + (size_t) row * cols;
    int32_t label = labels[row];
    bool valid = label >= 0 && label < cols;

    if (kind == LOSS_SOFTMAX_XENT) {
      float m = -INFINITY;
      for (int j = lane; j < cols; j += LAM_CUDA_WARP)
        m = fmaxf (m, in[j]);
      m = lam_cuda_warp_max (m);
      float sum = 0.0f;
      for (int j = lane; j < cols; j += LAM_CUDA_WARP)
        sum += expf (in[j] - m);
      // (x - m) - log_sum, in the CPU backend's order (see row_shifted_logsumexp).
      float log_sum = logf (lam_cuda_warp_sum (sum));
      for (int j = lane; j < cols; j += LAM_CUDA_WARP) {
        float g = expf ((in[j] - m) - log_sum) * grad_scale;
        grad[j] = j == label ? g - grad_scale : g;
      }
      loss = valid ? log_sum - (in[label] - m) : NAN;
    } else if (kind == LOSS_NLL) {
      for (int j = lane; j < cols; j += LAM_CUDA_WARP)
        grad[j] = j == label ? -grad_scale : 0.0f;
      loss = valid ? -in[label] : NAN;
    } else {
      // mse_scale = 2 / cols * grad_scale, as the CPU backend rounds it
      float sum = 0.0f;
      for (int j = lane; j < cols; j += LAM_CUDA_WARP) {
        float d = in[j] - (j == label ? 1.0f : 0.0f);
        sum += d * d;
        grad[j] = d * mse_scale;
      }
      loss = valid ? lam_cuda_warp_sum (sum) * (1.0f / (float) cols) : NAN;
    }
  }

  if (lane == 0)
    row_loss[warp] = loss;
  __syncthreads ();
  if (threadIdx.x == 0) {
    float total = 0.0f;
    for (int w = 0; w < ROWS_PER_BLOCK; w++)
      total += row_loss[w];
    partials[blockIdx.x] = total;
  }
}

template <LossKind kind>
static void
run_loss (LamBackend *self, const char *op, const float *x, const int32_t *labels, int rows,
          int cols, float grad_scale, float *dx, float *loss_acc)
{
  if (rows <= 0 || cols <= 0)
    return;
  float mse_scale = 2.0f * (1.0f / (float) cols) * grad_scale;
  CudaContext *ctx = lam_cuda_context (self);
  sum_row_losses (self, op, rows, loss_acc, [&] (int r0, int n, int blocks) {
    size_t at = (size_t) r0 * cols;
    loss_kernel<kind><<<blocks, LAM_CUDA_THREADS, 0, ctx->stream>>> (
      x + at, labels + r0, n, cols, grad_scale, mse_scale, dx + at, ctx->partials);
  });
}

// x (rows, cols) logits, labels (rows) -> dx (rows, cols); *loss_acc += sum of row losses
void
lam_cuda_softmax_xent (LamBackend *self, const float *x, const int32_t *labels, int rows,
                       int cols, float grad_scale, float *dx, float *loss_acc)
{
  run_loss<LOSS_SOFTMAX_XENT> (self, "softmax_xent", x, labels, rows, cols, grad_scale, dx,
                               loss_acc);
}

// x (rows, cols) log-probabilities, labels (rows) -> dx (rows, cols); *loss_acc += sum
void
lam_cuda_nll (LamBackend *self, const float *x, const int32_t *labels, int rows, int cols,
              float grad_scale, float *dx, float *loss_acc)
{
  run_loss<LOSS_NLL> (self, "nll", x, labels, rows, cols, grad_scale, dx, loss_acc);
}

// x (rows, cols), labels (rows) as one-hot targets -> dx (rows, cols); *loss_acc += sum
void
lam_cuda_mse (LamBackend *self, const float *x, const int32_t *labels, int rows, int cols,
              float grad_scale, float *dx, float *loss_acc)
{
  run_loss<LOSS_MSE> (self, "mse", x, labels, rows, cols, grad_scale, dx, loss_acc);
}

typedef enum
{
  TARGET_MSE,
  TARGET_L1,
} TargetLoss;

/* x (rows, cols), targets (rows, cols) -> dx (rows, cols) = d(loss * grad_scale)/dx;
 * *loss_acc += sum of the row losses. One warp per row, as above; scale is
 * the gradient's factor, rounded as the CPU backend rounds it. */
template <TargetLoss kind>
static __global__ void
target_loss_kernel (const float *x, const float *targets, int rows, int cols, float scale,
                    float *dx, float *partials)
{
  __shared__ float row_loss[ROWS_PER_BLOCK];
  int lane = threadIdx.x % LAM_CUDA_WARP, warp = threadIdx.x / LAM_CUDA_WARP;
  int row = blockIdx.x * ROWS_PER_BLOCK + warp;
  float loss = 0.0f;

  if (row < rows) {
    const float *in = x + (size_t) row * cols;
    const float *t = targets + (size_t) row * cols;
    float *grad = dx + (size_t) row * cols;
    float sum = 0.0f;
    for (int j = lane; j < cols; j += LAM_CUDA_WARP) {
      float d = in[j] - t[j];
      if (kind == TARGET_MSE) {
        sum += d * d;
        grad[j] = d * scale;
      } else {
        sum += fabsf (d);
        grad[j] = (float) ((d > 0.0f) - (d < 0.0f)) * scale;
      }
    }
    loss = lam_cuda_warp_sum (sum) * (1.0f / (float) cols);
  }

  if (lane == 0)
    row_loss[warp] = loss;
  __syncthreads ();
  if (threadIdx.x == 0) {
    float total = 0.0f;
    for (int w = 0; w < ROWS_PER_BLOCK; w++)
      total += row_loss[w];
    partials[blockIdx.x] = total;
  }
}

template <TargetLoss kind>
static void
run_target_loss (LamBackend *self, const char *op, const float *x, const float *targets, int rows,
                 int cols, float grad_scale, float *dx, float *loss_acc)
{
  if (rows <= 0 || cols <= 0)
    return;
  float inv_cols = 1.0f / (float) cols;
  float scale = kind == TARGET_MSE ? 2.0f * inv_cols * grad_scale : inv_cols * grad_scale;
  CudaContext *ctx = lam_cuda_context (self);
  sum_row_losses (self, op, rows, loss_acc, [&] (int r0, int n, int blocks) {
    size_t at = (size_t) r0 * cols;
    target_loss_kernel<kind><<<blocks, LAM_CUDA_THREADS, 0, ctx->stream>>> (
      x + at, targets + at, n, cols, scale, dx + at, ctx->partials);
  });
}

// x (rows, cols), targets (rows, cols) -> dx (rows, cols); *loss_acc += sum of row losses
void
lam_cuda_mse_targets (LamBackend *self, const float *x, const float *targets, int rows, int cols,
                      float grad_scale, float *dx, float *loss_acc)
{
  run_target_loss<TARGET_MSE> (self, "mse_targets", x, targets, rows, cols, grad_scale, dx,
                               loss_acc);
}

// x (rows, cols), targets (rows, cols) -> dx (rows, cols); *loss_acc += sum of row losses
void
lam_cuda_l1_targets (LamBackend *self, const float *x, const float *targets, int rows, int cols,
                     float grad_scale, float *dx, float *loss_acc)
{
  run_target_loss<TARGET_L1> (self, "l1_targets", x, targets, rows, cols, grad_scale, dx,
                              loss_acc);
}

/* The first maximum of a row, as the CPU backend finds it (a NaN never
 * replaces the current best). */
static __device__ int32_t
row_argmax (const float *x, int cols)
{
  int32_t best = 0;
  for (int j = 1; j < cols; j++)
    if (x[j] > x[best])
      best = j;
  return best;
}

// x (rows, cols) -> out (rows), one thread per row
static __global__ void
argmax_rows_kernel (const float *x, int rows, int cols, int32_t *out)
{
  int row = blockIdx.x * blockDim.x + threadIdx.x;
  if (row < rows)
    out[row] = row_argmax (x + (size_t) row * cols, cols);
}

// x (rows, cols) -> out (rows)
void
lam_cuda_argmax_rows (LamBackend *self, const float *x, int rows, int cols, int32_t *out)
{
  if (rows <= 0 || cols <= 0)
    return;
  argmax_rows_kernel<<<(rows + LAM_CUDA_THREADS - 1) / LAM_CUDA_THREADS, LAM_CUDA_THREADS, 0,
                       lam_cuda_context (self)->stream>>> (x, rows, cols, out);
  LAM_CUDA_LAUNCHED (self, "argmax_rows");
}

// x (rows, cols), labels (rows) -> *correct_acc += rows whose argmax is the label
static __global__ void
count_correct_kernel (const float *x, const int32_t *labels, int rows, int cols,
                      float *correct_acc)
{
  int row = blockIdx.x * blockDim.x + threadIdx.x;
  bool correct = row < rows && row_argmax (x + (size_t) row * cols, cols) == labels[row];
  int block_count = __syncthreads_count (correct);
  if (threadIdx.x == 0 && block_count > 0)
    atomicAdd (correct_acc, (float) block_count);
}

// x (rows, cols), labels (rows); *correct_acc += rows whose argmax is the label
void
lam_cuda_count_correct (LamBackend *self, const float *x, const int32_t *labels, int rows,
                        int cols, float *correct_acc)
{
  if (rows <= 0 || cols <= 0)
    return;
  count_correct_kernel<<<(rows + LAM_CUDA_THREADS - 1) / LAM_CUDA_THREADS, LAM_CUDA_THREADS, 0,
                         lam_cuda_context (self)->stream>>> (x, labels, rows, cols, correct_acc);
  LAM_CUDA_LAUNCHED (self, "count_correct");
}
