/* lam-cpu-loss.c: the fused losses (gradient and summed loss in one
 * pass), argmax and the count of correct rows. */
#include <math.h>
#include <string.h>

#include "lam-cpu-private.h"

static gboolean
labels_valid (const int32_t *labels, int rows, int cols)
{
  for (int r = 0; r < rows; r++)
    if (labels[r] < 0 || labels[r] >= cols)
      return FALSE;
  return TRUE;
}

// x (rows, cols) logits, labels (rows) -> dx (rows, cols); *loss_acc += sum of row losses
void
lam_cpu_softmax_xent (LamBackend *self, const float *restrict x, const int32_t *restrict labels,
                      int rows, int cols, float grad_scale, float *restrict dx, float *loss_acc)
{
  g_return_if_fail (labels_valid (labels, rows, cols));

  double loss = 0.0;
  for (int r = 0; r < rows; r++) {
    const float *restrict in = x + (size_t) r * cols;
    float *restrict grad = dx + (size_t) r * cols;
    float m;
    float log_sum = row_shifted_logsumexp (in, cols, &m);
    for (int j = 0; j < cols; j++)
      grad[j] = expf ((in[j] - m) - log_sum) * grad_scale;
    grad[labels[r]] -= grad_scale;
    loss += log_sum - (in[labels[r]] - m);
  }
  *loss_acc += (float) loss;
}

// x (rows, cols) log-probabilities, labels (rows) -> dx (rows, cols); *loss_acc += sum
void
lam_cpu_nll (LamBackend *self, const float *restrict x, const int32_t *restrict labels, int rows,
             int cols, float grad_scale, float *restrict dx, float *loss_acc)
{
  g_return_if_fail (labels_valid (labels, rows, cols));

  double loss = 0.0;
  memset (dx, 0, sizeof (float) * rows * cols);
  for (int r = 0; r < rows; r++) {
    dx[(size_t) r * cols + labels[r]] = -grad_scale;
    loss -= x[(size_t) r * cols + labels[r]];
  }
  *loss_acc += (float) loss;
}

// x (rows, cols), labels (rows) as one-hot targets -> dx (rows, cols); *loss_acc += sum
void
lam_cpu_mse (LamBackend *self, const float *restrict x, const int32_t *restrict labels, int rows,
             int cols, float grad_scale, float *restrict dx, float *loss_acc)
{
  g_return_if_fail (labels_valid (labels, rows, cols));

  double loss = 0.0;
  float inv_cols = 1.0f / (float) cols;
  float scale = 2.0f * inv_cols * grad_scale;
  for (int r = 0; r < rows; r++) {
    const float *restrict in = x + (size_t) r * cols;
    float *restrict grad = dx + (size_t) r * cols;
    float sum = 0.0f;
    for (int j = 0; j < cols; j++) {
      float d = in[j] - (j == labels[r] ? 1.0f : 0.0f);
      sum += d * d;
      grad[j] = d * scale;
    }
    loss += sum * inv_cols;
  }
  *loss_acc += (float) loss;
}

// x (rows, cols), targets (rows, cols) -> dx (rows, cols); *loss_acc += sum of row losses
void
lam_cpu_mse_targets (LamBackend *self, const float *restrict x, const float *restrict targets,
                     int rows, int cols, float grad_scale, float *restrict dx, float *loss_acc)
{
  double loss = 0.0;
  float inv_cols = 1.0f / (float) cols;
  float scale = 2.0f * inv_cols * grad_scale;
  for (int r = 0; r < rows; r++) {
    const float *restrict in = x + (size_t) r * cols;
    const float *restrict t = targets + (size_t) r * cols;
    float *restrict grad = dx + (size_t) r * cols;
    float sum = 0.0f;
    for (int j = 0; j < cols; j++) {
      float d = in[j] - t[j];
      sum += d * d;
      grad[j] = d * scale;
    }
    loss += sum * inv_cols;
  }
  *loss_acc += (float) loss;
}

// x (rows, cols), targets (rows, cols) -> dx (rows, cols); *loss_acc += sum of row losses
void
lam_cpu_l1_targets (LamBackend *self, const float *restrict x, const float *restrict targets,
                    int rows, int cols, float grad_scale, float *restrict dx, float *loss_acc)
{
  double loss = 0.0;
  float inv_cols = 1.0f / (float) cols;
  float scale = inv_cols * grad_scale;
  for (int r = 0; r < rows; r++) {
    const float *restrict in = x + (size_t) r * cols;
    const float *restrict t = targets + (size_t) r * cols;
    float *restrict grad = dx + (size_t) r * cols;
    float sum = 0.0f;
    for (int j = 0; j < cols; j++) {
      float d = in[j] - t[j];
      sum += fabsf (d);
      grad[j] = (float) ((d > 0.0f) - (d < 0.0f)) * scale;
    }
    loss += sum * inv_cols;
  }
  *loss_acc += (float) loss;
}

static int32_t
row_argmax (const float *restrict x, int cols)
{
  int32_t best = 0;
  for (int j = 1; j < cols; j++)
    if (x[j] > x[best])
      best = j;
  return best;
}

// x (rows, cols) -> out (rows)
void
lam_cpu_argmax_rows (LamBackend *self, const float *restrict x, int rows, int cols,
                     int32_t *restrict out)
{
  for (int r = 0; r < rows; r++)
    out[r] = row_argmax (x + (size_t) r * cols, cols);
}

// x (rows, cols), labels (rows); *correct_acc += rows whose argmax is the label
void
lam_cpu_count_correct (LamBackend *self, const float *restrict x, const int32_t *restrict labels,
                       int rows, int cols, float *correct_acc)
{
  int correct = 0;
  for (int r = 0; r < rows; r++)
    correct += row_argmax (x + (size_t) r * cols, cols) == labels[r];
  *correct_acc += (float) correct;
}
