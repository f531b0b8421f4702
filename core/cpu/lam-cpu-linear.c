/* lam-cpu-linear.c: a linear layer and the activation after it as one op
 * each way. Each thread runs its block of the product and then, while the
 * block is in its cache, the bias and the activation (forward), or the
 * activation's gradient and the bias's before the weights' (backward),
 * which it writes rather than adds to (lam-backend.h).
 * Run as separate ops, each of those small passes was a round over the
 * threads of its own that read the other core's half of the block: at
 * batch 32 the twelve that fusing removes from the MLP took 42 µs a step
 * (bias gradients 21, bias adds 11, ReLUs 9, on Zen 3 in a slow spell),
 * and the gradient fill 17 more, against 27 µs for its second layer's
 * forward product. The blocks are those lam_cpu_gemm splits the product
 * into, so the results are the separate ops' bit for bit.
 */
#include "lam-cache.h"
#include "lam-cpu-private.h"

typedef struct
{
  CpuIsa isa;
  const float *x, *weight, *bias;
  float *y, *act_y;                   /* forward: written */
  const float *y_saved, *act_y_saved; /* backward: the forward's */
  const float *dact_y;
  float *dy, *dweight, *dbias;
  int batch, in, out;
  LamActivation kind;
  float alpha;
  GemmSplit split;
} LinearJob;

#ifdef LAM_CPU_HAVE_AVX2
/* Whether the AVX2 rows of a ReLU below apply. */
static gboolean
avx2_relu (const LinearJob *j)
{
  return j->kind == LAM_ACTIVATION_RELU && (j->isa == CPU_ISA_AVX2 || j->isa == CPU_ISA_AVX512);
}
#endif

/* Rows [r0, r1) and columns [c0, c1) of y: + bias, then act_y = f(y).
 *
 * A block of some of the units (columns) is one of several threads', and
 * the next layer reads whole rows of act_y, each core half of them: of
 * the lines this thread stores, half are in the other core's cache from
 * the step before, each to be taken from there before the store. Stored
 * around the caches instead, no line is taken, and the next layer reads
 * them from memory. Two Zen 5 vCPUs whose round trip was 440-490 ns: the
 * ReLU pass over mlp-b128's first layer's half (128 × 128) took 17-21 µs
 * instead of 24-29, and its epochs (the mean of four) 0.359 s on average
 * against 0.369 (five alternating runs, lower in four); 100-180 ns apart,
 * 0.277 s against 0.284. Only the ReLU's AVX2 row streams. */
static gboolean
streams_activation (const LinearJob *j, int c0, int c1)
{
#ifdef LAM_CPU_HAVE_AVX2
  return avx2_relu (j) && c1 - c0 < j->out && j->act_y != j->y;
#else
  return FALSE;
#endif
}

static void
bias_activation_block (const LinearJob *j, int r0, int r1, int c0, int c1)
{
#ifdef LAM_CPU_HAVE_AVX2
  gboolean stream = streams_activation (j, c0, c1);
#endif
  for (int r = r0; r < r1; r++) {
    float *restrict row = j->y + (size_t) r * j->out;
    float *act_row = j->act_y + (size_t) r * j->out;
#ifdef LAM_CPU_HAVE_AVX2
    if (avx2_relu (j)) {
      lam_cpu_avx2_bias_relu (row + c0, j->bias != NULL ? j->bias + c0 : NULL, act_row + c0,
                              (size_t) (c1 - c0), stream);
      continue;
    }
#endif
    if (j->bias != NULL)
      for (int c = c0; c < c1; c++)
        row[c] += j->bias[c];
    lam_cpu_activation_forward_span (j->isa, j->kind, j->alpha, row + c0, act_row + c0,
                                     (size_t) (c1 - c0));
  }
#ifdef LAM_CPU_HAVE_AVX2
  if (stream)
    lam_cache_streamed_stores_done ();
#endif
}

/* The forward product is split by the layer's units (columns of y, rows
 * of the weights) wherever the layer has at least twice as many units as
 * the batch has inputs, so that each thread reads the larger operand's
 * half: the rows of the weights that its task of the backward op updates
 * (lam_cpu_note_grad_block), in its own cache, and the whole batch, rather
 * than its half of the batch and all the weights, half of which the other
 * core has just written. mlp-b128 on two Zen 5 vCPUs whose round trip was
 * 410-470 ns: epochs 0.416-0.428 s against 0.498-0.517 (three alternating
 * runs each). Where the two are closer in size (mlp-b128's second layer,
 * 128 units of 256 inputs, a batch of 128), the rows win: split by units,
 * each thread wrote half of every row of y and of f(y), lines beside the
 * other core's, which it had read the step before, and read as much of
 * the batch from the other core as the rows read of the weights; six
 * alternating runs each, 0.340-0.352 s against 0.354-0.367. Below (a test
 * set's batches of 1024), the weights sit in both caches unchanged and
 * the batch's rows split as lam_cpu_gemm does. Either way each y is the
 * same sum, bit for bit. */
GemmSplit
lam_cpu_linear_forward_split (LamBackend *self, int batch, int out, int in)
{
  if (out >= 2 * batch)
    return lam_cpu_gemm_split_columns (self, batch, out, in);
  return lam_cpu_gemm_split (self, batch, out, in);
}

/* Rows [r0, r1) and columns [c0, c1) of y = x · Wᵀ, + bias and f(y):
 * with the AVX-512 kernels, a ReLU is applied as the product's transposed
 * result is stored (lam_cpu_avx512_sgemm_nt_bias_relu), unless the sums
 * over the nonzero inputs take the product, as lam_cpu_sgemm chooses; the
 * same floats either way. In a pass of their own, the outputs that the
 * product had just stored were read back and stored again. Two Zen 5
 * vCPUs whose round trip was 470-490 ns, mlp-b128: the first layer's
 * forward op took each thread 197 µs instead of 217 (medians over an
 * epoch), the second's 44 instead of 53; epochs 0.378-0.391 s against
 * 0.389-0.417 (four alternating runs each, lower in all four). */
static void
product_bias_activation_block (const LinearJob *j, int r0, int r1, int c0, int c1)
{
  const float *x = j->x + (size_t) r0 * j->in, *weight = j->weight + (size_t) c0 * j->in;
  float *y = j->y + (size_t) r0 * j->out + c0;
  int rows = r1 - r0, cols = c1 - c0;
  if (j->kind != LAM_ACTIVATION_RELU) {
    lam_cpu_sgemm (j->isa, 0, 1, rows, cols, j->in, 1.0f, x, j->in, weight, j->in, 0.0f, y, j->out);
  } else {
    gboolean stream = streams_activation (j, c0, c1);
    if (lam_cpu_sgemm_nt_bias_relu (j->isa, rows, cols, j->in, x, j->in, weight, j->in,
                                    j->bias != NULL ? j->bias + c0 : NULL, y, j->act_y + (y - j->y),
                                    j->out, stream)) {
      if (stream)
        lam_cache_streamed_stores_done ();
      return;
    }
  }
  bias_activation_block (j, r0, r1, c0, c1);
}

static void
forward_part (int part, void *data)
{
  const LinearJob *j = data;
  int lo, hi;
  if (!lam_cpu_gemm_split_range (j->split, part, j->batch, j->out, &lo, &hi))
    return;
  // y (batch, out) = x · Wᵀ, this task's columns or rows
  if (j->split.split_n)
    product_bias_activation_block (j, 0, j->batch, lo, hi);
  else
    product_bias_activation_block (j, lo, hi, 0, j->out);
}

// y (batch, out) = x (batch, in) · weight (out, in)ᵀ + bias; act_y = f(y)
void
lam_cpu_linear_activation_forward (LamBackend *self, const float *x, const float *weight,
                                   const float *bias, float *y, float *act_y, int batch, int in,
                                   int out, LamActivation kind, float alpha)
{
  if (batch <= 0 || out <= 0)
    return;
  LinearJob job = {
    .isa = cpu_context (self)->isa,
    .x = x,
    .weight = weight,
    .bias = bias,
    .y = y,
    .act_y = act_y,
    .batch = batch,
    .in = in,
    .out = out,
    .kind = kind,
    .alpha = alpha,
    .split = lam_cpu_linear_forward_split (self, batch, out, in),
  };
  if (in <= 0) {
    // lam_cpu_gemm writes an empty sum's zeros.
    lam_cpu_gemm (self, 0, 1, batch, out, in, 1.0f, x, 1, weight, 1, 0.0f, y, out);
    bias_activation_block (&job, 0, batch, 0, out);
    return;
  }
  if (job.split.parts <= 1) {
    product_bias_activation_block (&job, 0, batch, 0, out);
    return;
  }
  lam_cpu_threads_run (cpu_context (self)->pool, job.split.parts, forward_part, &job);
}

/* Columns [c0, c1) of dy = f'(y) * dact_y, and of dbias = Σ dy over the
 * batch, row after row as lam_cpu_bias_backward adds them. */
static void
activation_bias_gradient_block (const LinearJob *j, int c0, int c1)
{
  if (j->dbias != NULL)
    for (int c = c0; c < c1; c++)
      j->dbias[c] = 0.0f;
  for (int r = 0; r < j->batch; r++) {
    size_t at = (size_t) r * j->out + c0;
#ifdef LAM_CPU_HAVE_AVX2
    if (avx2_relu (j)) {
      lam_cpu_avx2_relu_backward_bias (j->y_saved + at, j->dact_y + at, j->dy + at,
                                       j->dbias != NULL ? j->dbias + c0 : NULL, (size_t) (c1 - c0));
      continue;
    }
#endif
    lam_cpu_activation_backward_span (j->isa, j->kind, j->alpha, j->y_saved + at,
                                      j->act_y_saved + at, j->dact_y + at, j->dy + at,
                                      (size_t) (c1 - c0));
    if (j->dbias != NULL) {
      const float *restrict row = j->dy + at;
      for (int c = c0; c < c1; c++)
        j->dbias[c] += row[c - c0];
    }
  }
}

/* Rows [lo, hi) of dW (out, in): the units lo..hi, whose columns of dy the
 * same task works out first. */
static void
backward_part (int part, void *data)
{
  const LinearJob *j = data;
  int lo, hi;
  if (!lam_cpu_gemm_split_range (j->split, part, j->out, j->in, &lo, &hi))
    return;
  activation_bias_gradient_block (j, lo, hi);
  // dy[:, lo:hi]ᵀ · x -> dW[lo:hi, :]
  lam_cpu_gemm_block (j->isa, FALSE, lo, hi, 1, 0, j->out, j->in, j->batch, 1.0f, j->dy, j->out,
                      j->x, j->in, 0.0f, j->dweight, j->in);
}

void
lam_cpu_linear_activation_backward (LamBackend *self, const float *x, const float *weight,
                                    const float *y, const float *act_y, const float *dact_y,
                                    float *dy, float *dweight, float *dbias, float *dx, int batch,
                                    int in, int out, LamActivation kind, float alpha)
{
  if (batch <= 0 || out <= 0)
    return;
  LinearJob job = {
    .isa = cpu_context (self)->isa,
    .x = x,
    .weight = weight,
    .y_saved = y,
    .act_y_saved = act_y,
    .dact_y = dact_y,
    .dy = dy,
    .dweight = dweight,
    .dbias = dbias,
    .batch = batch,
    .in = in,
    .out = out,
    .kind = kind,
    .alpha = alpha,
    // dW (out, in) = dyᵀ · x, split as lam_cpu_gemm would
    .split = lam_cpu_gemm_split (self, out, in, batch),
  };
  if (job.split.parts > 1 && !job.split.split_n) {
    lam_cpu_threads_run (cpu_context (self)->pool, job.split.parts, backward_part, &job);
    // The optimizer updates each part's rows on the thread that wrote them.
    for (int part = 0; part < job.split.parts; part++) {
      int lo, hi;
      if (!lam_cpu_gemm_split_range (job.split, part, out, in, &lo, &hi))
        continue;
      lam_cpu_note_grad_block (self, dweight + (size_t) lo * in, (size_t) (hi - lo) * in, part);
      if (dbias != NULL)
        lam_cpu_note_grad_block (self, dbias + lo, (size_t) (hi - lo), part);
    }
  } else {
    /* Split by columns of dW, or not at all: every task would need all of
     * dy, worked out here first. */
    activation_bias_gradient_block (&job, 0, out);
    lam_cpu_gemm (self, 1, 0, out, in, batch, 1.0f, dy, out, x, in, 0.0f, dweight, in);
    /* Not split, all of it is this thread's, whose update then finds it in
     * its cache; a note from a step that split it (the split tuner's other
     * choice) would hand half of it to the other thread. */
    if (job.split.parts <= 1) {
      lam_cpu_note_grad_block (self, dweight, (size_t) out * in, 0);
      if (dbias != NULL)
        lam_cpu_note_grad_block (self, dbias, (size_t) out, 0);
    }
  }
  // dy (batch, out) · W (out, in) -> dx (batch, in)
  if (dx != NULL)
    lam_cpu_gemm (self, 0, 0, batch, in, out, 1.0f, dy, out, weight, in, 0.0f, dx, in);
}
