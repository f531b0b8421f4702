/* lam-cpu-batchnorm.c: batch normalisation over (outer, channels, inner),
 * channels split over the threads.
 *
 * Each plane (one sample's inner values of one channel: an image's map) is
 * summed in eight float lanes the compiler turns into vector adds, and the
 * planes' sums are added in double; a plane is at most a few thousand
 * values, so the float lanes lose nothing a training step would notice.
 * BatchNorm1d (inner = 1) walks samples in the outer loop instead, so that
 * the channels of a sample are read in order. */
#include <math.h>

#include "lam-cpu-private.h"

/* Channels below this many values each stay on one thread. */
#define BATCHNORM_PARALLEL 16384
#define LANES 8

typedef struct
{
  const float *x, *dy, *gamma, *beta, *stats; /* stats: backward's saved mean and 1/std */
  float *running_mean, *running_var, *saved, *y, *dgamma, *dbeta, *dx;
  int outer, channels, inner, training;
  double momentum, eps;
} BatchNormJob;

static inline float
lanes_total (const float *acc)
{
  float total = 0;
  for (int k = 0; k < LANES; k++)
    total += acc[k];
  return total;
}

static float
plane_sum (const float *restrict x, int n)
{
  float acc[LANES] = { 0 };
  int i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int k = 0; k < LANES; k++)
      acc[k] += x[i + k];
  for (; i < n; i++)
    acc[0] += x[i];
  return lanes_total (acc);
}

static float
plane_squares (const float *restrict x, int n, float mean)
{
  float acc[LANES] = { 0 };
  int i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int k = 0; k < LANES; k++)
      acc[k] += (x[i + k] - mean) * (x[i + k] - mean);
  for (; i < n; i++)
    acc[0] += (x[i] - mean) * (x[i] - mean);
  return lanes_total (acc);
}

// Σ dy and Σ dy (x - mean) over a plane
static void
plane_grad_sums (const float *restrict x, const float *restrict dy, int n, float mean,
                 float *sum_dy, float *sum_dy_centered)
{
  float a[LANES] = { 0 }, b[LANES] = { 0 };
  int i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int k = 0; k < LANES; k++) {
      a[k] += dy[i + k];
      b[k] += dy[i + k] * (x[i + k] - mean);
    }
  for (; i < n; i++) {
    a[0] += dy[i];
    b[0] += dy[i] * (x[i] - mean);
  }
  *sum_dy = lanes_total (a);
  *sum_dy_centered = lanes_total (b);
}

/* Mean and 1/std of channel ch, moving the running statistics when
 * training. */
static void
channel_statistics (const BatchNormJob *j, size_t ch, float *mean_out, float *invstd_out)
{
  size_t count = (size_t) j->outer * j->inner, plane = (size_t) j->channels * j->inner;
  if (!j->training) {
    *mean_out = j->running_mean[ch];
    *invstd_out = (float) (1.0 / sqrt ((double) j->running_var[ch] + j->eps));
    return;
  }
  double sum = 0;
  for (int o = 0; o < j->outer; o++)
    sum += plane_sum (j->x + o * plane + ch * j->inner, j->inner);
  double mean = sum / (double) count;
  double squares = 0;
  for (int o = 0; o < j->outer; o++)
    squares += plane_squares (j->x + o * plane + ch * j->inner, j->inner, (float) mean);
  double var = squares / (double) count;
  double unbiased = count > 1 ? squares / (double) (count - 1) : var;
  j->running_mean[ch] = (float) ((1.0 - j->momentum) * j->running_mean[ch] + j->momentum * mean);
  j->running_var[ch] = (float) ((1.0 - j->momentum) * j->running_var[ch] + j->momentum * unbiased);
  *mean_out = (float) mean;
  *invstd_out = (float) (1.0 / sqrt (var + j->eps));
}

// y = (x - mean) · 1/std · gamma + beta, as one multiply-add per value
static void
normalise_channel (const BatchNormJob *j, size_t ch)
{
  size_t plane = (size_t) j->channels * j->inner;
  float mean = j->saved[ch], invstd = j->saved[j->channels + ch];
  float a = invstd * j->gamma[ch], b = j->beta[ch] - mean * a;
  for (int o = 0; o < j->outer; o++) {
    const float *restrict x = j->x + o * plane + ch * j->inner;
    float *restrict y = j->y + o * plane + ch * j->inner;
    for (int i = 0; i < j->inner; i++)
      y[i] = x[i] * a + b;
  }
}

static void
batchnorm_forward_range (size_t lo, size_t hi, void *data)
{
  const BatchNormJob *j = data;
  for (size_t ch = lo; ch < hi; ch++) {
    channel_statistics (j, ch, &j->saved[ch], &j->saved[j->channels + ch]);
    normalise_channel (j, ch);
  }
}

void
lam_cpu_batchnorm_forward (LamBackend *self, const float *x, const float *gamma,
                           const float *beta, float *running_mean, float *running_var,
                           float *batches_tracked, float *saved, float *y, int outer,
                           int channels, int inner, int training, double momentum, double eps)
{
  if (outer <= 0 || channels <= 0 || inner <= 0)
    return;
  BatchNormJob job = { .x = x, .gamma = gamma, .beta = beta, .running_mean = running_mean,
                       .running_var = running_var, .saved = saved, .y = y, .outer = outer,
                       .channels = channels, .inner = inner, .training = training,
                       .momentum = momentum, .eps = eps };
  size_t per_channel = (size_t) outer * inner;
  lam_cpu_parallel_ranges (self, channels, MAX (BATCHNORM_PARALLEL / MAX (per_channel, 1), 1),
                           batchnorm_forward_range, &job);
  if (training && batches_tracked != NULL)
    batches_tracked[0] += 1.0f;
}

/* The gradients of channel ch from its sums Σ dy and Σ dy (x - mean):
 * dgamma += Σ dy x̂ and dbeta += Σ dy; dx = A dy + B x + C, the training
 * formula gamma/std (dy - mean(dy) - x̂ mean(dy x̂)) with its constants
 * gathered, or gamma/std dy in evaluation. */
static void
channel_gradients (const BatchNormJob *j, size_t ch, double sum_dy, double sum_dy_centered,
                   float *a, float *b, float *c)
{
  double count = (double) j->outer * j->inner;
  double mean = j->stats[ch], invstd = j->stats[j->channels + ch];
  double sum_dy_xhat = sum_dy_centered * invstd;
  j->dgamma[ch] += (float) sum_dy_xhat;
  j->dbeta[ch] += (float) sum_dy;
  double scale = (double) j->gamma[ch] * invstd;
  double mean_dy = j->training ? sum_dy / count : 0;
  double mean_dy_xhat = j->training ? sum_dy_xhat / count : 0;
  *a = (float) scale;
  *b = (float) (-scale * mean_dy_xhat * invstd);
  *c = (float) (-scale * mean_dy + scale * mean_dy_xhat * invstd * mean);
}

static void
batchnorm_backward_range (size_t lo, size_t hi, void *data)
{
  const BatchNormJob *j = data;
  size_t plane = (size_t) j->channels * j->inner;
  for (size_t ch = lo; ch < hi; ch++) {
    float mean = j->stats[ch];
    double sum_dy = 0, sum_dy_centered = 0;
    for (int o = 0; o < j->outer; o++) {
      float s, t;
      plane_grad_sums (j->x + o * plane + ch * j->inner, j->dy + o * plane + ch * j->inner,
                       j->inner, mean, &s, &t);
      sum_dy += s;
      sum_dy_centered += t;
    }
    float a, b, c;
    channel_gradients (j, ch, sum_dy, sum_dy_centered, &a, &b, &c);
    if (j->dx == NULL)
      continue;
    for (int o = 0; o < j->outer; o++) {
      const float *restrict x = j->x + o * plane + ch * j->inner;
      const float *restrict dy = j->dy + o * plane + ch * j->inner;
      float *restrict dx = j->dx + o * plane + ch * j->inner;
      for (int i = 0; i < j->inner; i++)
        dx[i] = a * dy[i] + b * x[i] + c;
    }
  }
}

void
lam_cpu_batchnorm_backward (LamBackend *self, const float *x, const float *dy, const float *gamma,
                            const float *saved, float *dgamma, float *dbeta, float *dx, int outer,
                            int channels, int inner, int training)
{
  if (outer <= 0 || channels <= 0 || inner <= 0)
    return;
  BatchNormJob job = { .x = x, .dy = dy, .gamma = gamma, .stats = saved, .dgamma = dgamma,
                       .dbeta = dbeta, .dx = dx, .outer = outer, .channels = channels,
                       .inner = inner, .training = training };
  size_t per_channel = (size_t) outer * inner;
  lam_cpu_parallel_ranges (self, channels, MAX (BATCHNORM_PARALLEL / MAX (per_channel, 1), 1),
                           batchnorm_backward_range, &job);
}
