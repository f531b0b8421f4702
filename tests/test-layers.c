/* test-layers.c: every layer kind's forward and backward, the losses, the
 * model and the optimizers, on the CPU backend.
 *
 * Backward is checked against central finite differences of a float32
 * forward: for a layer, of L = sum(r ⊙ y) with a fixed random r; for a
 * model, of the mean loss. Inputs are chosen so that no relu or max-pool
 * kink lies within eps of a value.
 */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "lam-device.h"
#include "lam-layer.h"
#include "lam-model.h"
#include "lam-optim.h"

#define DROPOUT_SEED 1234
#define GRAD_TOL 1e-3

static LamBackend *cpu;

/* ---- device and host helpers ------------------------------------------ */

static float *
dev_new (gsize n)
{
  float *p = cpu->alloc (cpu, MAX (n, 1) * sizeof (float));
  g_assert_nonnull (p);
  return p;
}

static void
dev_free (void *p)
{
  if (p != NULL)
    cpu->free (cpu, p);
}

static void
to_dev (float *dst, const float *src, gsize n)
{
  cpu->upload (cpu, dst, src, n * sizeof (float));
}

static void
to_host (float *dst, const float *src, gsize n)
{
  cpu->download (cpu, dst, src, n * sizeof (float));
}

static int32_t *
labels_new (const int32_t *host, int n)
{
  int32_t *p = cpu->alloc (cpu, (gsize) n * sizeof (int32_t));
  g_assert_nonnull (p);
  cpu->upload (cpu, p, host, (gsize) n * sizeof (int32_t));
  return p;
}

static float
dev_get (const float *p)
{
  float v;
  to_host (&v, p, 1);
  return v;
}

static void
fill_uniform (GRand *rng, float *x, gsize n, double lo, double hi)
{
  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rng, lo, hi);
}

typedef enum
{
  VALUES_SMOOTH,         /* uniform in [-1, 1] */
  VALUES_AWAY_FROM_ZERO, /* |x| in [0.2, 1]: no relu kink within eps */
  VALUES_DISTINCT,       /* each plane a shuffled grid of step 0.04: no pooling ties */
} ValueKind;

static void
fill_values (GRand *rng, float *x, gsize n, gsize plane, ValueKind kind)
{
  switch (kind) {
  case VALUES_SMOOTH:
    fill_uniform (rng, x, n, -1.0, 1.0);
    break;
  case VALUES_AWAY_FROM_ZERO:
    for (gsize i = 0; i < n; i++) {
      double m = g_rand_double_range (rng, 0.2, 1.0);
      x[i] = (float) (g_rand_boolean (rng) ? m : -m);
    }
    break;
  case VALUES_DISTINCT:
    for (gsize start = 0; start < n; start += plane) {
      gsize len = MIN (plane, n - start);
      float *p = x + start;
      for (gsize j = 0; j < len; j++)
        p[j] = (float) (((double) j - (double) len / 2.0) * 0.04);
      for (gsize j = len - 1; j > 0; j--) {
        gsize k = (gsize) g_rand_int_range (rng, 0, (gint32) j + 1);
        float t = p[j];
        p[j] = p[k];
        p[k] = t;
      }
    }
    break;
  }
}

/* Relative error of the whole gradient, ||a - n|| / max(||a||, ||n||). */
static void
assert_gradient (const char *what, const float *analytic, const double *numeric, gsize n,
                 double tol)
{
  double diff = 0.0, na = 0.0, nn = 0.0, worst = -1.0;
  gsize at = 0;

  for (gsize i = 0; i < n; i++) {
    double d = (double) analytic[i] - numeric[i];
    diff += d * d;
    na += (double) analytic[i] * analytic[i];
    nn += numeric[i] * numeric[i];
    if (fabs (d) > worst) {
      worst = fabs (d);
      at = i;
    }
  }
  double rel = sqrt (diff) / MAX (MAX (sqrt (na), sqrt (nn)), 1e-30);
  g_test_message ("%s: relative error %.3g over %" G_GSIZE_FORMAT
                  " values (worst at %" G_GSIZE_FORMAT ": analytic %.6g, numeric %.6g)",
                  what, rel, n, at, n > 0 ? analytic[at] : 0.0, n > 0 ? numeric[at] : 0.0);
  /* A vanishing gradient would pass vacuously. */
  g_assert_cmpfloat (sqrt (nn), >, 1e-4);
  g_assert_cmpfloat (rel, <, tol);
}

static LamModelSpec *
spec_new (LamShape input, const LamLayerSpec *layers, int n_layers)
{
  LamModelSpec *spec = lam_model_spec_new ();
  spec->has_input = TRUE;
  spec->input = input;
  for (int i = 0; i < n_layers; i++)
    lam_model_spec_append (spec, &layers[i]);
  return spec;
}

static LamLayerSpec
conv_spec (int out, int kernel, int stride, int padding)
{
  LamLayerSpec s = lam_layer_spec_default (LAM_LAYER_CONV2D);
  s.out = out;
  s.kernel = kernel;
  s.stride = stride;
  s.padding = padding;
  return s;
}

static LamLayerSpec
pool_spec (LamLayerKind kind, int kernel, int stride, int padding)
{
  LamLayerSpec s = lam_layer_spec_default (kind);
  s.kernel = kernel;
  s.stride = stride;
  s.padding = padding;
  return s;
}

static LamLayerSpec
linear_spec (int out)
{
  LamLayerSpec s = lam_layer_spec_default (LAM_LAYER_LINEAR);
  s.out = out;
  return s;
}

static LamLayerSpec
dropout_spec (float p)
{
  LamLayerSpec s = lam_layer_spec_default (LAM_LAYER_DROPOUT);
  s.p = p;
  return s;
}

/* ---- one layer on its own --------------------------------------------- */

typedef struct
{
  LamLayerKind kind;
  int out, kernel, stride, padding;
  gboolean no_bias;
  float p, slope;
  int c, h, w; /* input shape; h == 0: c flat features */
  int batch;
  gboolean training;
  ValueKind values;
} LayerCase;

/* The layer's parameters sit at non-zero offsets with padding around them,
 * so a layer that ignores its offsets or writes outside them is caught. */
#define PARAM_LEAD 3
#define PARAM_GAP 2
#define PARAM_TAIL 2
#define GRAD_PREFILL 0.5f

typedef struct
{
  LamLayer layer;
  int batch;
  gsize n_in, n_out, n_params;
  float *x, *y, *dy, *dx, *params, *grads, *scratch; /* device */
  void *saved;                                       /* device */
  float *host_y;
  LamLayerContext ctx;
} Rig;

static LamLayerSpec
case_spec (const LayerCase *lc)
{
  LamLayerSpec spec = lam_layer_spec_default (lc->kind);
  if (lc->out != 0)
    spec.out = lc->out;
  if (lc->kernel != 0)
    spec.kernel = lc->kernel;
  if (lc->stride != 0)
    spec.stride = lc->stride;
  spec.padding = lc->padding;
  if (lc->no_bias)
    spec.bias = FALSE;
  if (lc->p != 0.0f)
    spec.p = lc->p;
  if (lc->slope != 0.0f)
    spec.slope = lc->slope;
  return spec;
}

static void
rig_init (Rig *rig, const LayerCase *lc)
{
  LamLayerSpec spec = case_spec (lc);
  LamShape in = lc->h > 0 ? lam_shape_chw (lc->c, lc->h, lc->w) : lam_shape_flat (lc->c);
  g_autoptr (GError) error = NULL;

  memset (rig, 0, sizeof *rig);
  gboolean planned = lam_layer_plan (&rig->layer, &spec, 0, &in, "the input", &error);
  g_assert_no_error (error);
  g_assert_true (planned);
  g_assert_cmpint (rig->layer.spec.kind, ==, lc->kind);

  rig->layer.weight_offset = PARAM_LEAD;
  rig->layer.bias_offset = PARAM_LEAD + rig->layer.n_weights + PARAM_GAP;
  rig->n_params = rig->layer.bias_offset + rig->layer.n_bias + PARAM_TAIL;
  rig->batch = lc->batch;
  rig->n_in = lam_shape_numel (&rig->layer.in_shape) * (gsize) lc->batch;
  rig->n_out = lam_shape_numel (&rig->layer.out_shape) * (gsize) lc->batch;

  rig->x = dev_new (rig->n_in);
  rig->dx = dev_new (rig->n_in);
  rig->y = dev_new (rig->n_out);
  rig->dy = dev_new (rig->n_out);
  rig->params = dev_new (rig->n_params);
  rig->grads = dev_new (rig->n_params);
  rig->scratch = dev_new (rig->layer.scratch_floats_per_sample * (gsize) lc->batch);
  rig->saved = cpu->alloc (cpu, MAX (rig->layer.saved_bytes_per_sample * (gsize) lc->batch, 1));
  g_assert_nonnull (rig->saved);
  rig->host_y = g_new (float, rig->n_out);

  rig->ctx.backend = cpu;
  rig->ctx.batch = lc->batch;
  rig->ctx.training = lc->training;
  rig->ctx.seed = DROPOUT_SEED;
  rig->ctx.params = rig->params;
  rig->ctx.grads = rig->grads;
  rig->ctx.saved = rig->saved;
  rig->ctx.scratch = rig->scratch;
}

static void
rig_clear (Rig *rig)
{
  dev_free (rig->x);
  dev_free (rig->dx);
  dev_free (rig->y);
  dev_free (rig->dy);
  dev_free (rig->params);
  dev_free (rig->grads);
  dev_free (rig->scratch);
  dev_free (rig->saved);
  g_free (rig->host_y);
}

/* Random inputs and parameters (the padding around the parameters holds a
 * value that would show if read). Returns the host copies. */
static void
rig_fill (Rig *rig, const LayerCase *lc, GRand *rng, float *x, float *params)
{
  gsize plane = lc->h > 0 ? (gsize) (lc->h * lc->w) : rig->n_in;

  fill_values (rng, x, rig->n_in, plane, lc->values);
  for (gsize i = 0; i < rig->n_params; i++)
    params[i] = 777.0f;
  fill_uniform (rng, params + rig->layer.weight_offset, rig->layer.n_weights, -0.5, 0.5);
  fill_uniform (rng, params + rig->layer.bias_offset, rig->layer.n_bias, -0.5, 0.5);
  to_dev (rig->x, x, rig->n_in);
  to_dev (rig->params, params, rig->n_params);
}

static double
rig_objective (Rig *rig, const float *r)
{
  double sum = 0.0;

  lam_layer_forward (&rig->layer, &rig->ctx, rig->x, rig->y);
  to_host (rig->host_y, rig->y, rig->n_out);
  for (gsize i = 0; i < rig->n_out; i++)
    sum += (double) r[i] * rig->host_y[i];
  return sum;
}

/* Central differences of the objective for host[first..first+n), mirrored
 * on the device at dev. */
static void
rig_numeric (Rig *rig, const float *r, float *dev, const float *host, gsize first, gsize n,
             double eps, double *out)
{
  for (gsize i = 0; i < n; i++) {
    gsize j = first + i;
    float orig = host[j];
    float up = (float) (orig + eps);
    float down = (float) (orig - eps);

    to_dev (dev + j, &up, 1);
    double lp = rig_objective (rig, r);
    to_dev (dev + j, &down, 1);
    double lm = rig_objective (rig, r);
    to_dev (dev + j, &orig, 1);
    out[i] = (lp - lm) / ((double) up - (double) down);
  }
}

static void
test_layer_backward (gconstpointer data)
{
  const LayerCase *lc = data;
  g_autoptr (GRand) rng = g_rand_new_with_seed (42 + (guint32) lc->kind);
  const double eps = 1e-2;
  Rig rig;

  rig_init (&rig, lc);
  g_autofree float *x = g_new (float, rig.n_in);
  g_autofree float *params = g_new (float, rig.n_params);
  g_autofree float *r = g_new (float, rig.n_out);
  g_autofree float *dx = g_new (float, rig.n_in);
  g_autofree float *grads = g_new (float, rig.n_params);
  g_autofree float *grads_again = g_new (float, rig.n_params);
  g_autofree double *numeric = g_new (double, MAX (rig.n_in, rig.n_params));

  rig_fill (&rig, lc, rng, x, params);
  fill_uniform (rng, r, rig.n_out, -1.0, 1.0);
  to_dev (rig.dy, r, rig.n_out);

  /* Parameter gradients must be added to what is there, the input
   * gradient written over whatever is there. */
  cpu->fill (cpu, rig.grads, rig.n_params, GRAD_PREFILL);
  cpu->fill (cpu, rig.dx, rig.n_in, NAN);
  lam_layer_forward (&rig.layer, &rig.ctx, rig.x, rig.y);
  lam_layer_backward (&rig.layer, &rig.ctx, rig.x, rig.y, rig.dy, rig.dx);
  to_host (dx, rig.dx, rig.n_in);
  to_host (grads, rig.grads, rig.n_params);

  for (gsize i = 0; i < rig.n_params; i++) {
    gboolean in_weights =
      i >= rig.layer.weight_offset && i < rig.layer.weight_offset + rig.layer.n_weights;
    gboolean in_bias = i >= rig.layer.bias_offset && i < rig.layer.bias_offset + rig.layer.n_bias;
    if (in_weights || in_bias)
      grads[i] -= GRAD_PREFILL;
    else
      g_assert_cmpfloat (grads[i], ==, GRAD_PREFILL);
  }

  rig_numeric (&rig, r, rig.x, x, 0, rig.n_in, eps, numeric);
  assert_gradient ("dx", dx, numeric, rig.n_in, GRAD_TOL);

  if (rig.layer.n_weights > 0) {
    rig_numeric (&rig, r, rig.params, params, rig.layer.weight_offset, rig.layer.n_weights, eps,
                 numeric);
    assert_gradient ("dW", grads + rig.layer.weight_offset, numeric, rig.layer.n_weights,
                     GRAD_TOL);
  }
  if (rig.layer.n_bias > 0) {
    rig_numeric (&rig, r, rig.params, params, rig.layer.bias_offset, rig.layer.n_bias, eps,
                 numeric);
    assert_gradient ("db", grads + rig.layer.bias_offset, numeric, rig.layer.n_bias, GRAD_TOL);
  }

  /* The first layer of a model gets dx = NULL: parameter gradients must
   * come out the same. */
  cpu->fill (cpu, rig.grads, rig.n_params, 0.0f);
  lam_layer_forward (&rig.layer, &rig.ctx, rig.x, rig.y);
  lam_layer_backward (&rig.layer, &rig.ctx, rig.x, rig.y, rig.dy, NULL);
  to_host (grads_again, rig.grads, rig.n_params);
  for (gsize i = 0; i < rig.layer.n_weights; i++) {
    gsize j = rig.layer.weight_offset + i;
    g_assert_cmpfloat_with_epsilon (grads_again[j], grads[j], 1e-5);
  }
  for (gsize i = 0; i < rig.layer.n_bias; i++) {
    gsize j = rig.layer.bias_offset + i;
    g_assert_cmpfloat_with_epsilon (grads_again[j], grads[j], 1e-5);
  }

  rig_clear (&rig);
}

/* Naive reference loops for the two layers with parameters. */
static void
reference_linear (const LamLayer *layer, int batch, const float *x, const float *params,
                  double *y)
{
  int in = (int) lam_shape_numel (&layer->in_shape);
  int out = layer->spec.out;
  const float *w = params + layer->weight_offset;

  for (int b = 0; b < batch; b++)
    for (int o = 0; o < out; o++) {
      double sum = layer->n_bias > 0 ? params[layer->bias_offset + o] : 0.0;
      for (int i = 0; i < in; i++)
        sum += (double) x[b * in + i] * w[o * in + i];
      y[b * out + o] = sum;
    }
}

static void
reference_conv2d (const LamLayer *layer, int batch, const float *x, const float *params,
                  double *y)
{
  int c = layer->in_shape.dims[0], h = layer->in_shape.dims[1], w = layer->in_shape.dims[2];
  int out = layer->spec.out, k = layer->spec.kernel;
  int stride = layer->spec.stride, pad = layer->spec.padding;
  int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
  const float *weight = params + layer->weight_offset;

  g_assert_cmpint (layer->out_shape.dims[0], ==, out);
  g_assert_cmpint (layer->out_shape.dims[1], ==, oh);
  g_assert_cmpint (layer->out_shape.dims[2], ==, ow);

  for (int b = 0; b < batch; b++)
    for (int o = 0; o < out; o++)
      for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
          double sum = layer->n_bias > 0 ? params[layer->bias_offset + o] : 0.0;
          for (int ci = 0; ci < c; ci++)
            for (int ky = 0; ky < k; ky++)
              for (int kx = 0; kx < k; kx++) {
                int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                  continue;
                sum += (double) weight[((o * c + ci) * k + ky) * k + kx] *
                       x[((b * c + ci) * h + iy) * w + ix];
              }
          y[((b * out + o) * oh + oy) * ow + ox] = sum;
        }
}

static void
test_layer_forward_reference (gconstpointer data)
{
  const LayerCase *lc = data;
  g_autoptr (GRand) rng = g_rand_new_with_seed (7);
  Rig rig;

  rig_init (&rig, lc);
  g_autofree float *x = g_new (float, rig.n_in);
  g_autofree float *params = g_new (float, rig.n_params);
  g_autofree double *expected = g_new (double, rig.n_out);

  rig_fill (&rig, lc, rng, x, params);
  lam_layer_forward (&rig.layer, &rig.ctx, rig.x, rig.y);
  to_host (rig.host_y, rig.y, rig.n_out);

  if (lc->kind == LAM_LAYER_LINEAR)
    reference_linear (&rig.layer, lc->batch, x, params, expected);
  else
    reference_conv2d (&rig.layer, lc->batch, x, params, expected);

  for (gsize i = 0; i < rig.n_out; i++)
    g_assert_cmpfloat_with_epsilon (rig.host_y[i], expected[i],
                                    1e-5 * MAX (1.0, fabs (expected[i])));

  rig_clear (&rig);
}

static void
test_dropout_forward_train (void)
{
  const LayerCase lc = { .kind = LAM_LAYER_DROPOUT, .p = 0.3f, .c = 500, .batch = 4,
                         .training = TRUE, .values = VALUES_AWAY_FROM_ZERO };
  g_autoptr (GRand) rng = g_rand_new_with_seed (3);
  Rig rig;

  rig_init (&rig, &lc);
  g_autofree float *x = g_new (float, rig.n_in);
  g_autofree float *params = g_new (float, rig.n_params);
  g_autofree float *y_first = g_new (float, rig.n_out);
  g_autofree float *y_again = g_new (float, rig.n_out);
  rig_fill (&rig, &lc, rng, x, params);

  lam_layer_forward (&rig.layer, &rig.ctx, rig.x, rig.y);
  to_host (y_first, rig.y, rig.n_out);
  gsize dropped = 0;
  for (gsize i = 0; i < rig.n_out; i++) {
    if (y_first[i] == 0.0f)
      dropped++;
    else
      g_assert_cmpfloat_with_epsilon (y_first[i], x[i] / 0.7f, 1e-5);
  }
  g_assert_cmpfloat ((double) dropped / rig.n_out, >, 0.25);
  g_assert_cmpfloat ((double) dropped / rig.n_out, <, 0.35);

  /* Same seed, same mask. */
  lam_layer_forward (&rig.layer, &rig.ctx, rig.x, rig.y);
  to_host (y_again, rig.y, rig.n_out);
  g_assert_cmpmem (y_first, rig.n_out * sizeof (float), y_again, rig.n_out * sizeof (float));

  /* Another step's seed, or another layer with the same seed, draws
   * another mask. */
  LamLayerContext other = rig.ctx;
  other.seed = DROPOUT_SEED + 1;
  lam_layer_forward (&rig.layer, &other, rig.x, rig.y);
  to_host (y_again, rig.y, rig.n_out);
  g_assert_true (memcmp (y_first, y_again, rig.n_out * sizeof (float)) != 0);

  LamLayer moved = rig.layer;
  moved.index = 5;
  lam_layer_forward (&moved, &rig.ctx, rig.x, rig.y);
  to_host (y_again, rig.y, rig.n_out);
  g_assert_true (memcmp (y_first, y_again, rig.n_out * sizeof (float)) != 0);

  rig_clear (&rig);
}

static void
test_dropout_forward_eval (void)
{
  const LayerCase lc = { .kind = LAM_LAYER_DROPOUT, .p = 0.5f, .c = 3, .h = 4, .w = 5,
                         .batch = 2, .training = FALSE };
  g_autoptr (GRand) rng = g_rand_new_with_seed (4);
  Rig rig;

  rig_init (&rig, &lc);
  g_autofree float *x = g_new (float, rig.n_in);
  g_autofree float *params = g_new (float, rig.n_params);
  rig_fill (&rig, &lc, rng, x, params);

  lam_layer_forward (&rig.layer, &rig.ctx, rig.x, rig.y);
  to_host (rig.host_y, rig.y, rig.n_out);
  g_assert_cmpmem (rig.host_y, rig.n_out * sizeof (float), x, rig.n_in * sizeof (float));

  rig_clear (&rig);
}

static void
test_flatten_forward (void)
{
  const LayerCase lc = { .kind = LAM_LAYER_FLATTEN, .c = 3, .h = 4, .w = 5, .batch = 2 };
  g_autoptr (GRand) rng = g_rand_new_with_seed (5);
  Rig rig;

  rig_init (&rig, &lc);
  g_assert_cmpint (rig.layer.out_shape.rank, ==, 1);
  g_assert_cmpint (rig.layer.out_shape.dims[0], ==, 60);
  g_autofree float *x = g_new (float, rig.n_in);
  g_autofree float *params = g_new (float, rig.n_params);
  rig_fill (&rig, &lc, rng, x, params);

  lam_layer_forward (&rig.layer, &rig.ctx, rig.x, rig.y);
  to_host (rig.host_y, rig.y, rig.n_out);
  g_assert_cmpmem (rig.host_y, rig.n_out * sizeof (float), x, rig.n_in * sizeof (float));

  rig_clear (&rig);
}

/* ---- losses ----------------------------------------------------------- */

/* Sum over rows of the per-row loss, in double. */
static double
reference_loss (LamLossKind kind, const float *x, const int32_t *labels, int rows, int cols)
{
  double total = 0.0;

  for (int b = 0; b < rows; b++) {
    const float *row = x + b * cols;
    switch (kind) {
    case LAM_LOSS_CROSS_ENTROPY: {
      double max = row[0], sum = 0.0;
      for (int j = 1; j < cols; j++)
        max = MAX (max, row[j]);
      for (int j = 0; j < cols; j++)
        sum += exp (row[j] - max);
      total += max + log (sum) - row[labels[b]];
      break;
    }
    case LAM_LOSS_NLL:
      total -= row[labels[b]];
      break;
    case LAM_LOSS_MSE:
      for (int j = 0; j < cols; j++) {
        double d = row[j] - (j == labels[b] ? 1.0 : 0.0);
        total += d * d / cols;
      }
      break;
    case LAM_LOSS_L1: /* against real targets only: see test_loss_targets */
      g_assert_not_reached ();
    }
  }
  return total;
}

static void
test_loss (gconstpointer data)
{
  LamLossKind kind = GPOINTER_TO_INT (data);
  const int batch = 4, max_batch = 6, cols = 5;
  const int32_t labels[] = { 2, 0, 4, 2 };
  g_autoptr (GRand) rng = g_rand_new_with_seed (11);
  g_autoptr (GError) error = NULL;

  /* Output = input through flatten; for nll the output is log_softmax of
   * the input, as in a model ending in log_softmax. */
  LamLayerSpec layers[] = { lam_layer_spec_default (LAM_LAYER_FLATTEN),
                            lam_layer_spec_default (LAM_LAYER_LOG_SOFTMAX) };
  g_autoptr (LamModelSpec) spec =
    spec_new (lam_shape_chw (cols, 1, 1), layers, kind == LAM_LOSS_NLL ? 2 : 1);
  g_autoptr (LamModel) model = lam_model_new (spec, cpu, max_batch, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lam_model_get_n_classes (model), ==, cols);

  float x[4 * 5], out[4 * 5], grad[4 * 5];
  double numeric[4 * 5];
  fill_uniform (rng, x, G_N_ELEMENTS (x), -2.0, 2.0);
  if (kind == LAM_LOSS_MSE)
    fill_uniform (rng, x, G_N_ELEMENTS (x), -0.5, 1.5);
  to_dev (lam_model_get_input (model), x, G_N_ELEMENTS (x));
  int32_t *d_labels = labels_new (labels, batch);
  float *loss_acc = dev_new (1);
  cpu->fill (cpu, loss_acc, 1, 0.0f);

  lam_model_forward (model, batch, FALSE, 0);
  lam_model_loss (model, kind, d_labels, batch, loss_acc);

  /* The value against the loss computed from the logits themselves. */
  double expected = reference_loss (kind == LAM_LOSS_NLL ? LAM_LOSS_CROSS_ENTROPY : kind, x,
                                    labels, batch, cols);
  g_assert_cmpfloat_with_epsilon (dev_get (loss_acc), expected, 1e-5 * MAX (1.0, expected));

  /* The loss is added to the accumulator. */
  lam_model_loss (model, kind, d_labels, batch, loss_acc);
  g_assert_cmpfloat_with_epsilon (dev_get (loss_acc), 2 * expected, 2e-5 * MAX (1.0, expected));

  /* The output gradient is that of the mean over the batch (not over
   * max_batch): central differences of the mean loss in the output. */
  to_host (out, lam_model_get_output (model), G_N_ELEMENTS (out));
  to_host (grad, lam_model_get_output_grad (model), G_N_ELEMENTS (grad));
  for (gsize i = 0; i < G_N_ELEMENTS (out); i++) {
    const double eps = 1e-3;
    float orig = out[i];
    out[i] = (float) (orig + eps);
    double up = out[i];
    double lp = reference_loss (kind, out, labels, batch, cols);
    out[i] = (float) (orig - eps);
    double down = out[i];
    double lm = reference_loss (kind, out, labels, batch, cols);
    out[i] = orig;
    numeric[i] = (lp - lm) / (up - down) / batch;
  }
  assert_gradient ("output gradient", grad, numeric, G_N_ELEMENTS (grad), GRAD_TOL);

  dev_free (d_labels);
  dev_free (loss_acc);
}

/* The regression losses through a model: the output is the input (a
 * flatten), the targets real numbers. mse and l1 as PyTorch's MSELoss and
 * L1Loss: the mean over batch × outputs, the gradient that of the mean
 * over the batch (not over max_batch). */
static double
reference_loss_targets (LamLossKind kind, const float *x, const float *t, int rows, int cols)
{
  double total = 0.0;
  for (int i = 0; i < rows * cols; i++) {
    double d = (double) x[i] - t[i];
    total += (kind == LAM_LOSS_L1 ? fabs (d) : d * d) / cols;
  }
  return total;
}

static void
test_loss_targets (gconstpointer data)
{
  LamLossKind kind = GPOINTER_TO_INT (data);
  const int batch = 4, max_batch = 6, cols = 3;
  g_autoptr (GRand) rng = g_rand_new_with_seed (12 + kind);
  g_autoptr (GError) error = NULL;

  LamLayerSpec layers[] = { lam_layer_spec_default (LAM_LAYER_FLATTEN) };
  g_autoptr (LamModelSpec) spec = spec_new (lam_shape_chw (cols, 1, 1), layers, 1);
  g_autoptr (LamModel) model = lam_model_new (spec, cpu, max_batch, 1, &error);
  g_assert_no_error (error);

  float x[4 * 3], t[4 * 3], out[4 * 3], grad[4 * 3];
  double numeric[4 * 3];
  fill_uniform (rng, x, G_N_ELEMENTS (x), -2.0, 2.0);
  fill_uniform (rng, t, G_N_ELEMENTS (t), -2.0, 2.0);
  /* l1's kink stays further than the step of the differences below. */
  for (gsize i = 0; i < G_N_ELEMENTS (x); i++)
    if (fabsf (x[i] - t[i]) < 0.05f)
      x[i] = t[i] + 0.1f;
  to_dev (lam_model_get_input (model), x, G_N_ELEMENTS (x));
  float *d_targets = dev_new (G_N_ELEMENTS (t));
  to_dev (d_targets, t, G_N_ELEMENTS (t));
  float *loss_acc = dev_new (1);
  cpu->fill (cpu, loss_acc, 1, 0.0f);

  lam_model_forward (model, batch, FALSE, 0);
  lam_model_loss_targets (model, kind, d_targets, batch, loss_acc);
  double expected = reference_loss_targets (kind, x, t, batch, cols);
  g_assert_cmpfloat_with_epsilon (dev_get (loss_acc), expected, 1e-5 * MAX (1.0, expected));
  lam_model_loss_targets (model, kind, d_targets, batch, loss_acc);
  g_assert_cmpfloat_with_epsilon (dev_get (loss_acc), 2 * expected, 2e-5 * MAX (1.0, expected));

  to_host (out, lam_model_get_output (model), G_N_ELEMENTS (out));
  to_host (grad, lam_model_get_output_grad (model), G_N_ELEMENTS (grad));
  for (gsize i = 0; i < G_N_ELEMENTS (out); i++) {
    const double eps = 1e-3;
    float orig = out[i];
    out[i] = (float) (orig + eps);
    double up = out[i];
    double lp = reference_loss_targets (kind, out, t, batch, cols);
    out[i] = (float) (orig - eps);
    double down = out[i];
    double lm = reference_loss_targets (kind, out, t, batch, cols);
    out[i] = orig;
    numeric[i] = (lp - lm) / (up - down) / batch;
  }
  assert_gradient ("output gradient", grad, numeric, G_N_ELEMENTS (grad), GRAD_TOL);

  /* Scale 1: each row's own gradient, as predict takes it for saliency. */
  lam_model_loss_targets_scaled (model, kind, d_targets, batch, 1.0f, loss_acc);
  float row_grad[4 * 3];
  to_host (row_grad, lam_model_get_output_grad (model), G_N_ELEMENTS (row_grad));
  for (gsize i = 0; i < G_N_ELEMENTS (row_grad); i++)
    g_assert_cmpfloat_with_epsilon (row_grad[i], grad[i] * batch, 1e-6);

  dev_free (d_targets);
  dev_free (loss_acc);
}

/* ---- whole models ----------------------------------------------------- */

typedef struct
{
  LamModel *model;
  LamLossKind loss;
  int batch;
  gboolean training;
  const int32_t *labels; /* host */
  float *host_out;
} ModelCheck;

static double
model_mean_loss (ModelCheck *mc)
{
  int cols = lam_model_get_n_classes (mc->model);

  lam_model_forward (mc->model, mc->batch, mc->training, DROPOUT_SEED);
  to_host (mc->host_out, lam_model_get_output (mc->model), (gsize) mc->batch * cols);
  return reference_loss (mc->loss, mc->host_out, mc->labels, mc->batch, cols) / mc->batch;
}

/* Forward, loss and backward once; the gradients into `grads` (host). */
static void
model_gradients (LamModel *model, LamLossKind loss, const int32_t *labels, int batch,
                 gboolean training, float *grads)
{
  int32_t *d_labels = labels_new (labels, batch);
  float *loss_acc = dev_new (1);

  cpu->fill (cpu, loss_acc, 1, 0.0f);
  lam_model_forward (model, batch, training, DROPOUT_SEED);
  lam_model_loss (model, loss, d_labels, batch, loss_acc);
  lam_model_backward (model, batch);
  to_host (grads, lam_model_get_grads (model), lam_model_get_n_params (model));
  dev_free (d_labels);
  dev_free (loss_acc);
}

/* Every parameter gradient of the model, layer by layer, against central
 * differences of the mean loss. The input must already be uploaded. */
static void
check_model_gradients (LamModel *model, LamLossKind loss, const int32_t *labels, int batch,
                       gboolean training)
{
  const LamModelPlan *plan = lam_model_get_plan (model);
  gsize n = lam_model_get_n_params (model);
  g_autofree float *params = g_new (float, n);
  g_autofree float *grads = g_new (float, n);
  g_autofree double *numeric = g_new (double, n);
  g_autofree float *host_out = g_new (float, (gsize) batch * lam_model_get_n_classes (model));
  ModelCheck mc = { model, loss, batch, training, labels, host_out };
  float *d_params = lam_model_get_params (model);
  const double eps = 1e-2;

  model_gradients (model, loss, labels, batch, training, grads);
  lam_model_get_params_host (model, params);

  for (gsize i = 0; i < n; i++) {
    float orig = params[i];
    float up = (float) (orig + eps), down = (float) (orig - eps);
    to_dev (d_params + i, &up, 1);
    double lp = model_mean_loss (&mc);
    to_dev (d_params + i, &down, 1);
    double lm = model_mean_loss (&mc);
    to_dev (d_params + i, &orig, 1);
    numeric[i] = (lp - lm) / ((double) up - (double) down);
  }

  int checked = 0;
  for (int l = 0; l < plan->n_layers; l++) {
    const LamLayer *layer = &plan->layers[l];
    g_autofree char *what = NULL;
    if (layer->n_weights > 0) {
      what = g_strdup_printf ("layer %d (%s) weights", l,
                              lam_layer_kind_to_string (layer->spec.kind));
      assert_gradient (what, grads + layer->weight_offset, numeric + layer->weight_offset,
                       layer->n_weights, GRAD_TOL);
      checked++;
    }
    if (layer->n_bias > 0) {
      g_free (what);
      what = g_strdup_printf ("layer %d (%s) bias", l,
                              lam_layer_kind_to_string (layer->spec.kind));
      assert_gradient (what, grads + layer->bias_offset, numeric + layer->bias_offset,
                       layer->n_bias, GRAD_TOL);
      checked++;
    }
  }
  g_assert_cmpint (checked, >=, 2);
}

static LamModel *
model_new_from_spec (LamModelSpec *spec, int max_batch)
{
  g_autoptr (GError) error = NULL;
  LamModel *model = lam_model_new (spec, cpu, max_batch, 3, &error);
  g_assert_no_error (error);
  g_assert_nonnull (model);
  return model;
}

/* conv(2→3, 3×3) relu maxpool(2) flatten linear(12→4) on 2×7×7, with
 * parameters and input built so that no relu or max-pool decision changes
 * within eps: channels 0 and 2 have positive weights on a positive input
 * that grows along rows and columns (each window's maximum is its
 * bottom-right corner, by a wide margin), channel 1 has negative weights
 * and stays below zero. */
static LamModel *
cnn_new (int max_batch, float *x, int batch)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec =
    lam_model_spec_from_text ("conv2d:3:3,relu,maxpool2d:2,flatten,linear:4", &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = lam_shape_chw (2, 7, 7);
  LamModel *model = model_new_from_spec (spec, max_batch);

  const LamModelPlan *plan = lam_model_get_plan (model);
  g_assert_cmpint (plan->n_layers, ==, 5);
  g_assert_cmpint (plan->layers[0].spec.kind, ==, LAM_LAYER_CONV2D);
  g_assert_cmpint (plan->layers[2].spec.kind, ==, LAM_LAYER_MAXPOOL2D);
  g_assert_cmpint (plan->layers[4].spec.kind, ==, LAM_LAYER_LINEAR);
  g_assert_cmpint (plan->n_params, ==, 3 * 2 * 9 + 3 + 4 * 12 + 4);

  g_autoptr (GRand) rng = g_rand_new_with_seed (21);
  g_autofree float *params = g_new (float, plan->n_params);
  const LamLayer *conv = &plan->layers[0];
  const LamLayer *fc = &plan->layers[4];
  for (int o = 0; o < 3; o++) {
    float sign = o == 1 ? -1.0f : 1.0f;
    for (int i = 0; i < 18; i++)
      params[conv->weight_offset + o * 18 + i] = sign * (float) g_rand_double_range (rng, 0.2, 0.4);
    params[conv->bias_offset + o] = sign * 0.3f;
  }
  fill_uniform (rng, params + fc->weight_offset, fc->n_weights, -0.5, 0.5);
  fill_uniform (rng, params + fc->bias_offset, fc->n_bias, -0.5, 0.5);
  lam_model_set_params_host (model, params);

  for (int b = 0; b < batch; b++)
    for (int c = 0; c < 2; c++)
      for (int i = 0; i < 7; i++)
        for (int j = 0; j < 7; j++)
          x[((b * 2 + c) * 7 + i) * 7 + j] = (float) (0.2 + 0.1 * b + 0.25 * i + 0.1 * j +
                                                     g_rand_double_range (rng, -0.02, 0.02));
  to_dev (lam_model_get_input (model), x, (gsize) batch * 2 * 49);
  return model;
}

static void
test_model_gradcheck_cnn (void)
{
  const int batch = 3;
  const int32_t labels[] = { 1, 3, 0 };
  float x[3 * 2 * 49];
  g_autoptr (LamModel) model = cnn_new (4, x, batch);

  check_model_gradients (model, LAM_LOSS_CROSS_ENTROPY, labels, batch, FALSE);
}

static void
test_model_gradcheck_mlp (gconstpointer data)
{
  LamLossKind loss = GPOINTER_TO_INT (data);
  const int batch = 3;
  const int32_t labels[] = { 2, 0, 1 };
  g_autoptr (GRand) rng = g_rand_new_with_seed (31);
  g_autoptr (GError) error = NULL;
  const char *text = loss == LAM_LOSS_NLL   ? "linear:6,tanh,linear:3,log_softmax"
                     : loss == LAM_LOSS_MSE ? "linear:6,sigmoid,linear:3"
                                            : "linear:6,tanh,linear:5,softmax,linear:3";
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (text, &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = lam_shape_flat (5);
  g_autoptr (LamModel) model = model_new_from_spec (spec, batch);

  float x[3 * 5];
  fill_uniform (rng, x, G_N_ELEMENTS (x), -1.0, 1.0);
  to_dev (lam_model_get_input (model), x, G_N_ELEMENTS (x));
  check_model_gradients (model, loss, labels, batch, FALSE);
}

/* The gradient w.r.t. the input (for saliency maps), of the mean loss and
 * of one class's score, against central differences of the same, for the
 * MLP (flatten first) and the CNN (conv + relu + pool fused). */
static double
class_score_sum (LamModel *model, int batch, int klass, float *host_out)
{
  int cols = lam_model_get_n_classes (model);
  lam_model_forward (model, batch, FALSE, DROPOUT_SEED);
  to_host (host_out, lam_model_get_output (model), (gsize) batch * cols);
  double sum = 0;
  for (int b = 0; b < batch; b++)
    sum += host_out[(gsize) b * cols + klass];
  return sum;
}

static void
check_input_gradient (LamModel *model, LamLossKind loss, const int32_t *labels, int batch,
                      const float *x)
{
  const LamModelPlan *plan = lam_model_get_plan (model);
  gsize n = lam_shape_numel (&plan->input) * (gsize) batch;
  int cols = lam_model_get_n_classes (model);
  g_autofree float *host_out = g_new (float, (gsize) batch * cols);
  g_autofree float *grad = g_new (float, n);
  g_autofree double *numeric = g_new (double, n);
  float *d_input = lam_model_get_input (model);
  ModelCheck mc = { model, loss, batch, FALSE, labels, host_out };
  const double eps = 1e-2;

  for (int what = 0; what < 2; what++) {
    int klass = 1;
    if (what == 0) {
      int32_t *d_labels = labels_new (labels, batch);
      float *loss_acc = dev_new (1);
      cpu->fill (cpu, loss_acc, 1, 0.0f);
      lam_model_forward (model, batch, FALSE, DROPOUT_SEED);
      lam_model_loss (model, loss, d_labels, batch, loss_acc);
      lam_model_backward_to_input (model, batch);
      dev_free (d_labels);
      dev_free (loss_acc);
    } else {
      lam_model_forward (model, batch, FALSE, DROPOUT_SEED);
      lam_model_set_output_grad_class (model, batch, klass);
      lam_model_backward_to_input (model, batch);
    }
    to_host (grad, lam_model_get_input_grad (model), n);
    for (gsize i = 0; i < n; i++) {
      float up = (float) (x[i] + eps), down = (float) (x[i] - eps);
      to_dev (d_input + i, &up, 1);
      double fp = what == 0 ? model_mean_loss (&mc) : class_score_sum (model, batch, klass, host_out);
      to_dev (d_input + i, &down, 1);
      double fm = what == 0 ? model_mean_loss (&mc) : class_score_sum (model, batch, klass, host_out);
      to_dev (d_input + i, &x[i], 1);
      numeric[i] = (fp - fm) / ((double) up - (double) down);
    }
    assert_gradient (what == 0 ? "d loss / d input" : "d score / d input", grad, numeric, n,
                     GRAD_TOL);
  }
}

/* Batch norms between smooth layers, in training (batch statistics, whose
 * dependence on every input the backward must carry) and in evaluation
 * (running statistics set to values far from the defaults), against
 * central differences of the mean loss; and the input gradient in
 * evaluation. */
static LamModel *
batchnorm_model_new (const char *text, LamShape input, int batch, GRand *rng, float *x)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (text, &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = input;
  LamModel *model = model_new_from_spec (spec, batch);
  const LamModelPlan *plan = lam_model_get_plan (model);
  g_autofree float *params = g_new (float, plan->n_params);
  lam_model_get_params_host (model, params);
  int batchnorms = 0;
  for (int l = 0; l < plan->n_layers; l++) {
    const LamLayer *layer = &plan->layers[l];
    if (layer->n_buffers == 0)
      continue;
    batchnorms++;
    gsize channels = layer->n_weights;
    g_assert_cmpuint (layer->n_buffers, ==, 2 * channels + 1);
    g_assert_cmpuint (layer->buffer_offset, >=, plan->n_trainable);
    /* γ and β away from 1 and 0, running statistics away from 0 and 1. */
    fill_uniform (rng, params + layer->weight_offset, channels, 0.5, 1.5);
    fill_uniform (rng, params + layer->bias_offset, channels, -0.5, 0.5);
    fill_uniform (rng, params + layer->buffer_offset, channels, -0.3, 0.3);
    fill_uniform (rng, params + layer->buffer_offset + channels, channels, 0.5, 2.0);
  }
  g_assert_cmpint (batchnorms, >=, 1);
  lam_model_set_params_host (model, params);
  gsize numel = lam_shape_numel (&input) * (gsize) batch;
  fill_uniform (rng, x, numel, -1.0, 1.0);
  to_dev (lam_model_get_input (model), x, numel);
  return model;
}

static void
test_model_gradcheck_batchnorm (void)
{
  const int batch = 4;
  const int32_t labels[] = { 2, 0, 1, 3 };
  g_autoptr (GRand) rng = g_rand_new_with_seed (41);
  float x[4 * 2 * 4 * 4];
  for (int training = 0; training < 2; training++) {
    g_autoptr (LamModel) mlp = batchnorm_model_new ("linear:6:nobias,batchnorm1d,tanh,linear:4",
                                                    lam_shape_flat (5), batch, rng, x);
    check_model_gradients (mlp, LAM_LOSS_CROSS_ENTROPY, labels, batch, training);
    g_autoptr (LamModel) cnn = batchnorm_model_new (
      "conv2d:3:3:p1:nobias,batchnorm2d,tanh,flatten,linear:6:nobias,batchnorm1d:momentum=0.3,linear:4",
      lam_shape_chw (2, 4, 4), batch, rng, x);
    check_model_gradients (cnn, LAM_LOSS_CROSS_ENTROPY, labels, batch, training);
  }
  g_autoptr (LamModel) first = batchnorm_model_new ("batchnorm2d,conv2d:3:3,tanh,flatten,linear:4",
                                                    lam_shape_chw (2, 4, 4), batch, rng, x);
  check_input_gradient (first, LAM_LOSS_CROSS_ENTROPY, labels, batch, x);
}

/* Training moves the running statistics as PyTorch does (momentum 0.1,
 * the unbiased variance) and counts the batches; evaluation leaves them. */
static void
test_batchnorm_running_statistics (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("batchnorm1d,linear:2", &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = lam_shape_flat (2);
  g_autoptr (LamModel) model = model_new_from_spec (spec, 4);
  const LamLayer *bn = &lam_model_get_plan (model)->layers[0];
  /* Feature 0: 1, 2, 3, 6 (mean 3, biased var 3.5, unbiased 14/3);
   * feature 1: all 5 (var 0). */
  const float x[] = { 1, 5, 2, 5, 3, 5, 6, 5 };
  to_dev (lam_model_get_input (model), x, G_N_ELEMENTS (x));
  gsize n = lam_model_get_n_params (model);
  g_autofree float *params = g_new (float, n);
  for (int step = 1; step <= 2; step++) {
    lam_model_forward (model, 4, TRUE, 0);
    lam_model_get_params_host (model, params);
    const float *rm = params + bn->buffer_offset, *rv = rm + 2;
    double keep = pow (0.9, step);
    g_assert_cmpfloat_with_epsilon (rm[0], 3 * (1 - keep), 1e-6);
    g_assert_cmpfloat_with_epsilon (rm[1], 5 * (1 - keep), 1e-6);
    g_assert_cmpfloat_with_epsilon (rv[0], keep + 14.0 / 3 * (1 - keep), 1e-5);
    g_assert_cmpfloat_with_epsilon (rv[1], keep, 1e-6);
    g_assert_cmpfloat (rm[4], ==, step); /* num_batches_tracked */
  }
  /* The training output is normalised by the batch: feature 0's values
   * (x - 3) / sqrt(3.5 + 1e-5); evaluation uses the running statistics. */
  g_autofree float *y = g_new (float, 8);
  lam_model_forward (model, 4, TRUE, 0);
  to_host (y, lam_model_get_layer_output (model, 0), 8);
  for (int b = 0; b < 4; b++) {
    g_assert_cmpfloat_with_epsilon (y[2 * b], (x[2 * b] - 3) / sqrt (3.5 + 1e-5), 1e-5);
    g_assert_cmpfloat_with_epsilon (y[2 * b + 1], 0, 1e-6);
  }
  lam_model_get_params_host (model, params);
  g_autofree float *before = g_memdup2 (params, n * sizeof (float));
  lam_model_forward (model, 4, FALSE, 0);
  to_host (y, lam_model_get_layer_output (model, 0), 8);
  lam_model_get_params_host (model, params);
  g_assert_cmpmem (params, n * sizeof (float), before, n * sizeof (float));
  const float *rm = params + bn->buffer_offset, *rv = rm + 2;
  for (int b = 0; b < 4; b++)
    g_assert_cmpfloat_with_epsilon (y[2 * b], (x[2 * b] - rm[0]) / sqrt (rv[0] + 1e-5), 1e-5);
}

static void
test_model_input_gradient_mlp (void)
{
  const int batch = 3;
  const int32_t labels[] = { 2, 0, 1 };
  g_autoptr (GRand) rng = g_rand_new_with_seed (41);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec =
    lam_model_spec_from_text ("flatten,linear:6,tanh,linear:3", &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = lam_shape_chw (1, 2, 3);
  g_autoptr (LamModel) model = model_new_from_spec (spec, batch);
  float x[3 * 6];
  fill_uniform (rng, x, G_N_ELEMENTS (x), -1.0, 1.0);
  to_dev (lam_model_get_input (model), x, G_N_ELEMENTS (x));
  check_input_gradient (model, LAM_LOSS_CROSS_ENTROPY, labels, batch, x);
}

static void
test_model_input_gradient_cnn (void)
{
  const int batch = 3;
  const int32_t labels[] = { 1, 3, 0 };
  float x[3 * 2 * 49];
  g_autoptr (LamModel) model = cnn_new (4, x, batch);
  check_input_gradient (model, LAM_LOSS_CROSS_ENTROPY, labels, batch, x);
}

/* Unfused (for the activations view) gives the fused results and writes
 * every layer's output: a ReLU between a convolution and its pool holds
 * max(conv, 0), not a stale buffer. */
static void
test_model_unfused_outputs (void)
{
  const int batch = 3;
  const int32_t labels[] = { 4, 0, 9 };
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (
    "input=1x12x12,conv2d:4:3:p1,relu,maxpool2d:2,conv2d:6:3:p1,relu,maxpool2d:2,flatten,"
    "linear:10", &error);
  g_assert_no_error (error);
  g_autoptr (LamModel) fused = model_new_from_spec (spec, batch);
  g_autoptr (LamModel) unfused = model_new_from_spec (spec, batch);
  lam_model_set_unfused (unfused, TRUE);
  const LamModelPlan *plan = lam_model_get_plan (fused);
  gsize n_params = plan->n_params;
  g_autofree float *params = g_new (float, n_params);
  lam_model_get_params_host (fused, params);
  lam_model_set_params_host (unfused, params);

  g_autoptr (GRand) rng = g_rand_new_with_seed (51);
  float x[3 * 144];
  fill_uniform (rng, x, G_N_ELEMENTS (x), -1.0, 1.0);
  g_autofree float *grads_fused = g_new (float, n_params);
  g_autofree float *grads_unfused = g_new (float, n_params);
  to_dev (lam_model_get_input (fused), x, G_N_ELEMENTS (x));
  to_dev (lam_model_get_input (unfused), x, G_N_ELEMENTS (x));
  model_gradients (fused, LAM_LOSS_CROSS_ENTROPY, labels, batch, TRUE, grads_fused);
  model_gradients (unfused, LAM_LOSS_CROSS_ENTROPY, labels, batch, TRUE, grads_unfused);

  float out_fused[30], out_unfused[30];
  to_host (out_fused, lam_model_get_output (fused), 30);
  to_host (out_unfused, lam_model_get_output (unfused), 30);
  g_assert_cmpmem (out_fused, sizeof out_fused, out_unfused, sizeof out_unfused);
  for (gsize i = 0; i < n_params; i++)
    g_assert_cmpfloat_with_epsilon (grads_fused[i], grads_unfused[i],
                                    1e-5 * (1 + fabsf (grads_fused[i])));

  /* Layers 1 and 4 are the ReLUs after each convolution. */
  const int relus[] = { 1, 4 };
  for (guint k = 0; k < G_N_ELEMENTS (relus); k++) {
    int r = relus[k];
    gsize n = lam_shape_numel (&plan->layers[r].out_shape) * batch;
    g_autofree float *conv_out = g_new (float, n);
    g_autofree float *relu_out = g_new (float, n);
    to_host (conv_out, lam_model_get_layer_output (unfused, r - 1), n);
    to_host (relu_out, lam_model_get_layer_output (unfused, r), n);
    gsize positive = 0;
    for (gsize i = 0; i < n; i++) {
      g_assert_cmpfloat (relu_out[i], ==, MAX (conv_out[i], 0.0f));
      positive += relu_out[i] > 0;
    }
    g_assert_cmpuint (positive, >, n / 10);
    g_assert_cmpuint (positive, <, n);
  }
}

static void
test_model_gradcheck_dropout (void)
{
  const int batch = 4;
  const int32_t labels[] = { 2, 0, 1, 1 };
  g_autoptr (GRand) rng = g_rand_new_with_seed (41);
  LamLayerSpec layers[] = { linear_spec (8), dropout_spec (0.3f),
                            lam_layer_spec_default (LAM_LAYER_TANH), linear_spec (3) };
  g_autoptr (LamModelSpec) spec = spec_new (lam_shape_flat (5), layers, G_N_ELEMENTS (layers));
  g_autoptr (LamModel) model = model_new_from_spec (spec, batch);

  float x[4 * 5];
  fill_uniform (rng, x, G_N_ELEMENTS (x), -1.0, 1.0);
  to_dev (lam_model_get_input (model), x, G_N_ELEMENTS (x));
  check_model_gradients (model, LAM_LOSS_CROSS_ENTROPY, labels, batch, TRUE);

  /* Dropout is on in training only. */
  float train[4 * 3], eval[4 * 3];
  lam_model_forward (model, batch, TRUE, DROPOUT_SEED);
  to_host (train, lam_model_get_output (model), G_N_ELEMENTS (train));
  lam_model_forward (model, batch, FALSE, DROPOUT_SEED);
  to_host (eval, lam_model_get_output (model), G_N_ELEMENTS (eval));
  g_assert_true (memcmp (train, eval, sizeof train) != 0);
}

/* Backward leaves the parameter gradients of one batch alone, whatever
 * they held: the CNN's ops add to gradients the model zeroes first; the
 * MLP's linear layers fused with their activations write theirs. */
static void
test_model_backward_zeroes (void)
{
  const int batch = 3;
  const int32_t labels[] = { 1, 3, 0 };
  float x[3 * 2 * 49];
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) mlp_spec =
    lam_model_spec_from_text ("input=2x7x7,flatten,linear:6,relu,linear:5,tanh,linear:4", &error);
  g_assert_no_error (error);
  g_autoptr (LamModel) cnn = cnn_new (3, x, batch);
  g_autoptr (LamModel) mlp = model_new_from_spec (mlp_spec, batch);
  to_dev (lam_model_get_input (mlp), x, G_N_ELEMENTS (x));
  g_autofree char *steps = lam_model_describe_steps (mlp);
  g_assert_cmpstr (steps, ==, "linear+relu, linear+tanh, linear");

  LamModel *models[] = { cnn, mlp };
  for (guint m = 0; m < G_N_ELEMENTS (models); m++) {
    LamModel *model = models[m];
    gsize n = lam_model_get_n_params (model);
    g_autofree float *g1 = g_new (float, n);
    g_autofree float *g2 = g_new (float, n);
    model_gradients (model, LAM_LOSS_CROSS_ENTROPY, labels, batch, FALSE, g1);
    cpu->fill (cpu, lam_model_get_grads (model), n, 3.0f);
    lam_model_backward (model, batch);
    to_host (g2, lam_model_get_grads (model), n);
    g_assert_cmpmem (g1, n * sizeof (float), g2, n * sizeof (float));
    lam_model_backward (model, batch);
    to_host (g2, lam_model_get_grads (model), n);
    g_assert_cmpmem (g1, n * sizeof (float), g2, n * sizeof (float));
  }
}

/* A linear layer and the activation after it run as one op in training:
 * the same outputs, layer outputs and gradients as the layers one by one,
 * for each activation, at a batch the op splits over two threads. */
static void
test_model_linear_activation (void)
{
  const int batch = 40;
  g_autoptr (GRand) rng = g_rand_new_with_seed (71);
  int32_t labels[40];
  for (int b = 0; b < batch; b++)
    labels[b] = g_rand_int_range (rng, 0, 10);
  g_autofree float *x = g_new (float, batch * 100);
  fill_uniform (rng, x, batch * 100, -1.0, 1.0);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (
    "input=1x10x10,flatten,linear:300,relu,linear:70,leaky_relu:0.1,linear:33,sigmoid,"
    "linear:20,tanh,linear:10,log_softmax",
    &error);
  g_assert_no_error (error);
  g_autoptr (LamModel) fused = model_new_from_spec (spec, batch);
  g_autoptr (LamModel) unfused = model_new_from_spec (spec, batch);
  lam_model_set_unfused (unfused, TRUE);
  g_autofree char *steps = lam_model_describe_steps (fused);
  g_assert_cmpstr (steps, ==,
                   "linear+relu, linear+leaky_relu, linear+sigmoid, linear+tanh, linear, "
                   "log_softmax");

  gsize n = lam_model_get_n_params (fused);
  g_autofree float *grads_fused = g_new (float, n);
  g_autofree float *grads_unfused = g_new (float, n);
  to_dev (lam_model_get_input (fused), x, batch * 100);
  to_dev (lam_model_get_input (unfused), x, batch * 100);
  model_gradients (fused, LAM_LOSS_NLL, labels, batch, TRUE, grads_fused);
  model_gradients (unfused, LAM_LOSS_NLL, labels, batch, TRUE, grads_unfused);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (grads_fused[i], ==, grads_unfused[i]);

  const LamModelPlan *plan = lam_model_get_plan (fused);
  for (int l = 0; l < plan->n_layers; l++) {
    gsize numel = lam_shape_numel (&plan->layers[l].out_shape) * batch;
    g_autofree float *a = g_new (float, numel);
    g_autofree float *b = g_new (float, numel);
    to_host (a, lam_model_get_layer_output (fused, l), numel);
    to_host (b, lam_model_get_layer_output (unfused, l), numel);
    g_assert_cmpmem (a, numel * sizeof (float), b, numel * sizeof (float));
    to_host (a, lam_model_get_layer_output_grad (fused, l), numel);
    to_host (b, lam_model_get_layer_output_grad (unfused, l), numel);
    g_assert_cmpmem (a, numel * sizeof (float), b, numel * sizeof (float));
  }
}

/* A ReLU before a max pool runs after it inside the model (the max of the
 * activated window is the activation of its max): the stack with the pair
 * swapped, which the model runs as written, must give the same outputs and
 * parameter gradients, for ReLU and for leaky ReLU. */
static void
test_model_activation_before_pool (gconstpointer data)
{
  const LamLayerKind kind = GPOINTER_TO_INT (data);
  const int batch = 4;
  const int32_t labels[] = { 1, 3, 0, 2 };
  g_autoptr (GRand) rng = g_rand_new_with_seed (61);
  LamLayerSpec activation = lam_layer_spec_default (kind);
  activation.slope = 0.1f;
  LamLayerSpec pool = pool_spec (LAM_LAYER_MAXPOOL2D, 2, 2, 0);
  LamLayerSpec fused[] = {
    conv_spec (3, 3, 1, 1), activation, pool, lam_layer_spec_default (LAM_LAYER_FLATTEN),
    linear_spec (5), activation, pool_spec (LAM_LAYER_AVGPOOL2D, 1, 1, 0), linear_spec (4),
  };
  LamLayerSpec swapped[G_N_ELEMENTS (fused)];
  memcpy (swapped, fused, sizeof fused);
  swapped[1] = pool;
  swapped[2] = activation;
  /* avgpool on a flat vector does not fit; keep the tail plain. */
  fused[6] = swapped[6] = lam_layer_spec_default (LAM_LAYER_FLATTEN);

  g_autoptr (LamModelSpec) spec_a = spec_new (lam_shape_chw (2, 6, 7), fused, G_N_ELEMENTS (fused));
  g_autoptr (LamModelSpec) spec_b = spec_new (lam_shape_chw (2, 6, 7), swapped,
                                              G_N_ELEMENTS (swapped));
  g_autoptr (LamModel) a = model_new_from_spec (spec_a, batch);
  g_autoptr (LamModel) b = model_new_from_spec (spec_b, batch);
  gsize n = lam_model_get_n_params (a);
  g_assert_cmpuint (n, ==, lam_model_get_n_params (b));
  g_autofree float *params = g_new (float, n);
  lam_model_get_params_host (a, params);
  lam_model_set_params_host (b, params);

  float x[4 * 2 * 42];
  fill_uniform (rng, x, G_N_ELEMENTS (x), -1.0, 1.0);
  to_dev (lam_model_get_input (a), x, G_N_ELEMENTS (x));
  to_dev (lam_model_get_input (b), x, G_N_ELEMENTS (x));
  g_autofree float *grads_a = g_new (float, n);
  g_autofree float *grads_b = g_new (float, n);
  model_gradients (a, LAM_LOSS_CROSS_ENTROPY, labels, batch, TRUE, grads_a);
  model_gradients (b, LAM_LOSS_CROSS_ENTROPY, labels, batch, TRUE, grads_b);

  float out_a[4 * 4], out_b[4 * 4];
  to_host (out_a, lam_model_get_output (a), G_N_ELEMENTS (out_a));
  to_host (out_b, lam_model_get_output (b), G_N_ELEMENTS (out_b));
  for (gsize i = 0; i < G_N_ELEMENTS (out_a); i++)
    g_assert_cmpfloat_with_epsilon (out_a[i], out_b[i], 1e-6);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (grads_a[i], grads_b[i], 1e-6);
}

/* The gradient of the mean loss over a batch is the mean of the gradients
 * of each sample alone: every layer's parameter gradients sum over the
 * batch, none is lost or counted twice. */
static void
test_model_backward_batch_mean (void)
{
  const int batch = 3;
  const int32_t labels[] = { 1, 3, 0 };
  float x[3 * 2 * 49];
  g_autoptr (LamModel) model = cnn_new (batch, x, batch);
  gsize n = lam_model_get_n_params (model);
  g_autofree float *whole = g_new (float, n);
  g_autofree float *one = g_new (float, n);
  g_autofree double *mean = g_new0 (double, n);

  model_gradients (model, LAM_LOSS_CROSS_ENTROPY, labels, batch, FALSE, whole);
  for (int b = 0; b < batch; b++) {
    to_dev (lam_model_get_input (model), x + b * 2 * 49, 2 * 49);
    model_gradients (model, LAM_LOSS_CROSS_ENTROPY, labels + b, 1, FALSE, one);
    for (gsize i = 0; i < n; i++)
      mean[i] += one[i] / (double) batch;
  }
  double norm = 0.0;
  for (gsize i = 0; i < n; i++) {
    norm = MAX (norm, fabs (mean[i]));
    g_assert_cmpfloat_with_epsilon (whole[i], mean[i], 1e-5 + 1e-4 * fabs (mean[i]));
  }
  g_assert_cmpfloat (norm, >, 1e-3);
}

static void
test_model_params_roundtrip (void)
{
  LamLayerSpec layers[] = { linear_spec (4), lam_layer_spec_default (LAM_LAYER_RELU),
                            linear_spec (3) };
  g_autoptr (LamModelSpec) spec = spec_new (lam_shape_flat (5), layers, G_N_ELEMENTS (layers));
  g_autoptr (LamModel) a = model_new_from_spec (spec, 2);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModel) b = lam_model_new (spec, cpu, 2, 3, &error);
  g_autoptr (LamModel) c = lam_model_new (spec, cpu, 2, 4, &error);
  g_assert_no_error (error);

  gsize n = lam_model_get_n_params (a);
  g_assert_cmpuint (n, ==, 5 * 4 + 4 + 4 * 3 + 3);
  g_assert_cmpint (lam_model_get_n_classes (a), ==, 3);
  g_assert_cmpint (lam_model_get_max_batch (a), ==, 2);
  g_assert_true (lam_model_get_backend (a) == cpu);
  g_autofree float *pa = g_new (float, n);
  g_autofree float *pb = g_new (float, n);
  g_autofree float *pc = g_new (float, n);
  lam_model_get_params_host (a, pa);
  lam_model_get_params_host (b, pb);
  lam_model_get_params_host (c, pc);

  /* Same seed, same parameters; another seed, others. Every weight lies
   * within PyTorch's bound 1/sqrt(fan_in) and none is left at 0. */
  g_assert_cmpmem (pa, n * sizeof (float), pb, n * sizeof (float));
  g_assert_true (memcmp (pa, pc, n * sizeof (float)) != 0);
  const LamModelPlan *plan = lam_model_get_plan (a);
  for (int l = 0; l < plan->n_layers; l++) {
    const LamLayer *layer = &plan->layers[l];
    double bound = 1.0 / sqrt ((double) lam_shape_numel (&layer->in_shape));
    for (gsize i = 0; i < layer->n_weights + layer->n_bias; i++) {
      float v = pa[i < layer->n_weights ? layer->weight_offset + i
                                        : layer->bias_offset + i - layer->n_weights];
      g_assert_cmpfloat (fabs (v), <=, bound);
      g_assert_cmpfloat (v, !=, 0.0f);
    }
  }

  for (gsize i = 0; i < n; i++)
    pa[i] = (float) i * 0.25f;
  lam_model_set_params_host (b, pa);
  lam_model_get_params_host (b, pb);
  g_assert_cmpmem (pa, n * sizeof (float), pb, n * sizeof (float));
}

/* A backend that counts allocations and can refuse one. */
typedef struct
{
  LamBackend table; /* first: the ops receive it as self */
  LamBackend *inner;
  int attempts;
  int allocs;
  int frees;
  int refuse_at; /* attempt that gets NULL; -1: none */
} CountingBackend;

static void *
counting_alloc (LamBackend *self, size_t bytes)
{
  CountingBackend *cb = (CountingBackend *) self;

  if (cb->attempts++ == cb->refuse_at)
    return NULL;
  cb->allocs++;
  return cb->inner->alloc (cb->inner, bytes);
}

static void
counting_free (LamBackend *self, void *ptr)
{
  CountingBackend *cb = (CountingBackend *) self;

  cb->frees++;
  cb->inner->free (cb->inner, ptr);
}

static void
counting_init (CountingBackend *cb)
{
  memset (cb, 0, sizeof *cb);
  cb->table = *cpu;
  cb->table.alloc = counting_alloc;
  cb->table.free = counting_free;
  cb->table.destroy = NULL;
  cb->inner = cpu;
  cb->refuse_at = -1;
}

/* Every layer kind in one stack. */
static LamModelSpec *
every_kind_spec (void)
{
  LamLayerSpec leaky = lam_layer_spec_default (LAM_LAYER_LEAKY_RELU);
  leaky.slope = 0.1f;
  LamLayerSpec layers[] = {
    conv_spec (4, 3, 1, 1),
    lam_layer_spec_default (LAM_LAYER_BATCHNORM2D),
    lam_layer_spec_default (LAM_LAYER_RELU),
    pool_spec (LAM_LAYER_MAXPOOL2D, 2, 2, 0),
    conv_spec (5, 3, 2, 1),
    lam_layer_spec_default (LAM_LAYER_TANH),
    pool_spec (LAM_LAYER_AVGPOOL2D, 3, 1, 1),
    lam_layer_spec_default (LAM_LAYER_FLATTEN),
    dropout_spec (0.25f),
    linear_spec (16),
    lam_layer_spec_default (LAM_LAYER_BATCHNORM1D),
    lam_layer_spec_default (LAM_LAYER_SIGMOID),
    linear_spec (12),
    leaky,
    linear_spec (8),
    lam_layer_spec_default (LAM_LAYER_SOFTMAX),
    linear_spec (4),
    lam_layer_spec_default (LAM_LAYER_LOG_SOFTMAX),
  };
  G_STATIC_ASSERT (LAM_N_LAYER_KINDS == 14);
  return spec_new (lam_shape_chw (3, 8, 8), layers, G_N_ELEMENTS (layers));
}

static void
test_model_no_alloc_in_step (void)
{
  const int batch = 6;
  CountingBackend cb;
  g_autoptr (GError) error = NULL;
  g_autoptr (GRand) rng = g_rand_new_with_seed (51);

  counting_init (&cb);
  LamBackend *be = &cb.table;
  g_autoptr (LamModelSpec) spec = every_kind_spec ();
  LamModel *model = lam_model_new (spec, be, batch, 9, &error);
  g_assert_no_error (error);
  gsize n = lam_model_get_n_params (model);
  LamOptimizerConfig adam = lam_optimizer_config_default (LAM_OPTIMIZER_ADAMW);
  LamOptimizerConfig sgd = lam_optimizer_config_default (LAM_OPTIMIZER_SGD);
  sgd.momentum = 0.9;
  sgd.nesterov = TRUE;
  LamOptimizer *opt_adam = lam_optimizer_new (be, &adam, n, &error);
  g_assert_no_error (error);
  LamOptimizer *opt_sgd = lam_optimizer_new (be, &sgd, n, &error);
  g_assert_no_error (error);

  float x[6 * 3 * 64];
  const int32_t host_labels[] = { 0, 1, 2, 3, 0, 1 };
  fill_uniform (rng, x, G_N_ELEMENTS (x), -1.0, 1.0);
  int32_t *labels = be->alloc (be, sizeof host_labels);
  float *loss_acc = be->alloc (be, sizeof (float));
  g_assert_nonnull (labels);
  g_assert_nonnull (loss_acc);
  be->upload (be, labels, host_labels, sizeof host_labels);

  int allocs = cb.allocs, frees = cb.frees, attempts = cb.attempts;
  for (int step = 0; step < 6; step++) {
    LamLossKind loss = (LamLossKind) (step % 3);
    be->upload (be, lam_model_get_input (model), x, sizeof x);
    be->fill (be, loss_acc, 1, 0.0f);
    lam_model_forward (model, batch - step % 2, TRUE, (guint64) step);
    lam_model_loss (model, loss, labels, batch - step % 2, loss_acc);
    lam_model_backward (model, batch - step % 2);
    lam_optimizer_step (step % 2 ? opt_sgd : opt_adam, lam_model_get_params (model),
                        lam_model_get_grads (model));
  }
  lam_model_forward (model, batch, FALSE, 0);
  g_assert_cmpint (cb.attempts, ==, attempts);
  g_assert_cmpint (cb.allocs, ==, allocs);
  g_assert_cmpint (cb.frees, ==, frees);
  g_assert_true (isfinite (dev_get (loss_acc)));

  be->free (be, labels);
  be->free (be, loss_acc);
  lam_optimizer_free (opt_adam);
  lam_optimizer_free (opt_sgd);
  lam_model_free (model);
  g_assert_cmpint (cb.allocs, ==, cb.frees);
}

static void
test_model_out_of_memory (void)
{
  g_autoptr (LamModelSpec) spec = every_kind_spec ();
  CountingBackend cb;
  int refused = 0;

  for (int k = 0;; k++) {
    g_autoptr (GError) error = NULL;
    counting_init (&cb);
    cb.refuse_at = k;
    LamModel *model = lam_model_new (spec, &cb.table, 64, 1, &error);
    if (model != NULL) {
      g_assert_no_error (error);
      lam_model_free (model);
      g_assert_cmpint (cb.allocs, ==, cb.frees);
      break;
    }
    g_assert_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_MEMORY);
    g_assert_nonnull (strstr (error->message, "MB"));
    g_assert_cmpint (cb.allocs, ==, cb.frees);
    refused++;
  }
  /* parameters, gradients, activations, activation gradients, saved
   * state, scratch, output gradient */
  g_assert_cmpint (refused, ==, 7);

  for (int k = 0; k < 2; k++) {
    g_autoptr (GError) error = NULL;
    LamOptimizerConfig config = lam_optimizer_config_default (LAM_OPTIMIZER_ADAM);
    counting_init (&cb);
    cb.refuse_at = k;
    LamOptimizer *opt = lam_optimizer_new (&cb.table, &config, 1000, &error);
    g_assert_null (opt);
    g_assert_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_MEMORY);
    g_assert_cmpint (cb.allocs, ==, cb.frees);
  }
}

/* Four classes of 1×8×8 images: a bright 2×2 patch somewhere in the
 * quadrant named by the class, on noise. */
static void
make_quadrants (GRand *rng, float *x, int32_t *labels, int n)
{
  for (int s = 0; s < n; s++) {
    int label = g_rand_int_range (rng, 0, 4);
    float *img = x + s * 64;
    for (int i = 0; i < 64; i++)
      img[i] = (float) g_rand_double_range (rng, -0.3, 0.3);
    int top = (label / 2) * 4 + g_rand_int_range (rng, 0, 3);
    int left = (label % 2) * 4 + g_rand_int_range (rng, 0, 3);
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++)
        img[(top + i) * 8 + left + j] += 1.0f;
    labels[s] = label;
  }
}

static void
test_model_trains (void)
{
  const int n_train = 512, n_test = 256, batch = 16;
  g_autoptr (GRand) rng = g_rand_new_with_seed (61);
  g_autoptr (GError) error = NULL;
  g_autofree float *x = g_new (float, (gsize) n_train * 64);
  g_autofree int32_t *y = g_new (int32_t, n_train);
  g_autofree float *tx = g_new (float, (gsize) n_test * 64);
  g_autofree int32_t *ty = g_new (int32_t, n_test);
  make_quadrants (rng, x, y, n_train);
  make_quadrants (rng, tx, ty, n_test);

  LamLayerSpec layers[] = { conv_spec (4, 3, 1, 1), lam_layer_spec_default (LAM_LAYER_RELU),
                            pool_spec (LAM_LAYER_MAXPOOL2D, 2, 2, 0),
                            lam_layer_spec_default (LAM_LAYER_FLATTEN), dropout_spec (0.1f),
                            linear_spec (4) };
  g_autoptr (LamModelSpec) spec = spec_new (lam_shape_chw (1, 8, 8), layers, G_N_ELEMENTS (layers));
  g_autoptr (LamModel) model = model_new_from_spec (spec, batch);
  LamOptimizerConfig config = lam_optimizer_config_default (LAM_OPTIMIZER_ADAM);
  config.lr = 0.01;
  g_autoptr (LamOptimizer) opt =
    lam_optimizer_new (cpu, &config, lam_model_get_n_params (model), &error);
  g_assert_no_error (error);
  int32_t *labels = labels_new (y, batch);
  float *loss_acc = dev_new (1);

  double first_loss = 0.0, last_loss = 0.0;
  for (int step = 0; step < 200; step++) {
    int start = (step * batch) % n_train;
    to_dev (lam_model_get_input (model), x + (gsize) start * 64, (gsize) batch * 64);
    cpu->upload (cpu, labels, y + start, (gsize) batch * sizeof (int32_t));
    cpu->fill (cpu, loss_acc, 1, 0.0f);
    lam_model_forward (model, batch, TRUE, (guint64) step);
    lam_model_loss (model, LAM_LOSS_CROSS_ENTROPY, labels, batch, loss_acc);
    lam_model_backward (model, batch);
    lam_optimizer_step (opt, lam_model_get_params (model), lam_model_get_grads (model));
    if (step < 10)
      first_loss += dev_get (loss_acc) / batch / 10;
    if (step >= 190)
      last_loss += dev_get (loss_acc) / batch / 10;
  }
  g_assert_cmpint (lam_optimizer_get_step (opt), ==, 200);
  g_test_message ("mean loss of the first 10 steps %.4f, of the last 10 %.4f", first_loss,
                  last_loss);
  g_assert_cmpfloat (last_loss, <, first_loss / 4);

  int correct = 0;
  float out[16 * 4];
  for (int start = 0; start < n_test; start += batch) {
    to_dev (lam_model_get_input (model), tx + (gsize) start * 64, (gsize) batch * 64);
    lam_model_forward (model, batch, FALSE, 0);
    to_host (out, lam_model_get_output (model), G_N_ELEMENTS (out));
    for (int b = 0; b < batch; b++) {
      int best = 0;
      for (int j = 1; j < 4; j++)
        if (out[b * 4 + j] > out[b * 4 + best])
          best = j;
      correct += best == ty[start + b];
    }
  }
  g_test_message ("test accuracy %d / %d", correct, n_test);
  g_assert_cmpfloat ((double) correct / n_test, >=, 0.95);

  dev_free (labels);
  dev_free (loss_acc);
}

/* ---- optimizers ------------------------------------------------------- */

#define N_QUAD 6
static const double quad_a[N_QUAD] = { 1.0, 2.0, 0.5, 3.0, 1.5, 0.25 };
static const double quad_c[N_QUAD] = { 0.5, -1.0, 2.0, 0.0, -0.3, 1.0 };
static const float quad_p0[N_QUAD] = { 0.0f, 0.5f, -1.0f, 1.0f, 2.0f, -2.0f };

static double
quad_value (const float *p)
{
  double f = 0.0;
  for (int i = 0; i < N_QUAD; i++)
    f += 0.5 * quad_a[i] * (p[i] - quad_c[i]) * (p[i] - quad_c[i]);
  return f;
}

typedef struct
{
  double p[N_QUAD], buf[N_QUAD], m[N_QUAD], v[N_QUAD];
  int step;
} RefOptim;

/* PyTorch's torch.optim.SGD / Adam / AdamW, one parameter at a time. */
static void
ref_step (const LamOptimizerConfig *c, double lr, RefOptim *s, const float *grad)
{
  s->step++;
  for (int i = 0; i < N_QUAD; i++) {
    double g = grad[i];
    if (c->kind == LAM_OPTIMIZER_SGD) {
      g += c->weight_decay * s->p[i];
      if (c->momentum != 0.0) {
        s->buf[i] = s->step == 1 ? g : c->momentum * s->buf[i] + (1.0 - c->dampening) * g;
        g = c->nesterov ? g + c->momentum * s->buf[i] : s->buf[i];
      }
      s->p[i] -= lr * g;
    } else {
      if (c->kind == LAM_OPTIMIZER_ADAMW)
        s->p[i] *= 1.0 - lr * c->weight_decay;
      else
        g += c->weight_decay * s->p[i];
      s->m[i] = c->beta1 * s->m[i] + (1.0 - c->beta1) * g;
      s->v[i] = c->beta2 * s->v[i] + (1.0 - c->beta2) * g * g;
      double bc1 = 1.0 - pow (c->beta1, s->step);
      double bc2 = 1.0 - pow (c->beta2, s->step);
      double denom = sqrt (s->v[i]) / sqrt (bc2) + c->eps;
      s->p[i] -= lr / bc1 * s->m[i] / denom;
    }
  }
}

typedef struct
{
  LamOptimizerKind kind;
  double lr, momentum, dampening, weight_decay;
  gboolean nesterov;
} OptimCase;

static void
test_optimizer_steps (gconstpointer data)
{
  const OptimCase *oc = data;
  g_autoptr (GError) error = NULL;
  LamOptimizerConfig config = lam_optimizer_config_default (oc->kind);
  config.lr = oc->lr;
  config.momentum = oc->momentum;
  config.dampening = oc->dampening;
  config.nesterov = oc->nesterov;
  config.weight_decay = oc->weight_decay;

  g_autoptr (LamOptimizer) opt = lam_optimizer_new (cpu, &config, N_QUAD, &error);
  g_assert_no_error (error);
  float *params = dev_new (N_QUAD);
  float *grads = dev_new (N_QUAD);
  float p[N_QUAD], g[N_QUAD];
  RefOptim ref = { { 0 } };
  double lr = oc->lr;

  to_dev (params, quad_p0, N_QUAD);
  for (int i = 0; i < N_QUAD; i++)
    ref.p[i] = quad_p0[i];

  for (int step = 1; step <= 8; step++) {
    if (step == 5) {
      lr = oc->lr * 0.5;
      lam_optimizer_set_lr (opt, lr);
      g_assert_cmpfloat (lam_optimizer_get_lr (opt), ==, lr);
      g_assert_cmpfloat (lam_optimizer_get_config (opt)->lr, ==, lr);
    }
    to_host (p, params, N_QUAD);
    for (int i = 0; i < N_QUAD; i++)
      g[i] = (float) (quad_a[i] * (p[i] - quad_c[i]));
    to_dev (grads, g, N_QUAD);
    lam_optimizer_step (opt, params, grads);
    ref_step (&config, lr, &ref, g);
    to_host (p, params, N_QUAD);
    for (int i = 0; i < N_QUAD; i++)
      g_assert_cmpfloat_with_epsilon (p[i], ref.p[i], 1e-5 * MAX (1.0, fabs (ref.p[i])));
  }
  g_assert_cmpint (lam_optimizer_get_step (opt), ==, 8);
  g_assert_cmpfloat (quad_value (p), <, quad_value (quad_p0));

  dev_free (params);
  dev_free (grads);
}

static void
test_optimizer_set_lr (void)
{
  g_autoptr (GError) error = NULL;
  LamOptimizerConfig config = lam_optimizer_config_default (LAM_OPTIMIZER_SGD);
  g_autoptr (LamOptimizer) opt = lam_optimizer_new (cpu, &config, N_QUAD, &error);
  g_assert_no_error (error);
  float *params = dev_new (N_QUAD);
  float *grads = dev_new (N_QUAD);
  float p[N_QUAD];

  to_dev (params, quad_p0, N_QUAD);
  cpu->fill (cpu, grads, N_QUAD, 1.0f);
  lam_optimizer_step (opt, params, grads);
  to_host (p, params, N_QUAD);
  for (int i = 0; i < N_QUAD; i++)
    g_assert_cmpfloat_with_epsilon (p[i], quad_p0[i] - 0.01f, 1e-6);

  lam_optimizer_set_lr (opt, 0.0);
  lam_optimizer_step (opt, params, grads);
  float q[N_QUAD];
  to_host (q, params, N_QUAD);
  g_assert_cmpmem (p, sizeof p, q, sizeof q);

  lam_optimizer_set_lr (opt, 0.5);
  lam_optimizer_step (opt, params, grads);
  to_host (q, params, N_QUAD);
  for (int i = 0; i < N_QUAD; i++)
    g_assert_cmpfloat_with_epsilon (q[i], p[i] - 0.5f, 1e-6);
  g_assert_cmpint (lam_optimizer_get_step (opt), ==, 3);

  dev_free (params);
  dev_free (grads);
}

static void
test_optimizer_defaults (void)
{
  LamOptimizerConfig sgd = lam_optimizer_config_default (LAM_OPTIMIZER_SGD);
  LamOptimizerConfig adam = lam_optimizer_config_default (LAM_OPTIMIZER_ADAM);
  LamOptimizerConfig adamw = lam_optimizer_config_default (LAM_OPTIMIZER_ADAMW);
  LamOptimizerKind kind;

  g_assert_cmpint (sgd.kind, ==, LAM_OPTIMIZER_SGD);
  g_assert_cmpfloat (sgd.lr, ==, 0.01);
  g_assert_cmpfloat (sgd.momentum, ==, 0.0);
  g_assert_cmpfloat (sgd.weight_decay, ==, 0.0);
  g_assert_false (sgd.nesterov);
  g_assert_cmpint (adam.kind, ==, LAM_OPTIMIZER_ADAM);
  g_assert_cmpfloat (adam.lr, ==, 0.001);
  g_assert_cmpfloat (adam.beta1, ==, 0.9);
  g_assert_cmpfloat (adam.beta2, ==, 0.999);
  g_assert_cmpfloat (adam.eps, ==, 1e-8);
  g_assert_cmpfloat (adam.weight_decay, ==, 0.0);
  g_assert_cmpint (adamw.kind, ==, LAM_OPTIMIZER_ADAMW);
  g_assert_cmpfloat (adamw.lr, ==, 0.001);
  g_assert_cmpfloat (adamw.weight_decay, ==, 0.01);

  for (int k = LAM_OPTIMIZER_SGD; k <= LAM_OPTIMIZER_ADAMW; k++) {
    const char *name = lam_optimizer_kind_to_string ((LamOptimizerKind) k);
    g_assert_nonnull (name);
    g_assert_true (lam_optimizer_kind_from_string (name, &kind));
    g_assert_cmpint (kind, ==, k);
  }
  g_assert_cmpstr (lam_optimizer_kind_to_string (LAM_OPTIMIZER_ADAMW), ==, "adamw");
  g_assert_true (lam_optimizer_kind_from_string ("Adam", &kind));
  g_assert_cmpint (kind, ==, LAM_OPTIMIZER_ADAM);
  g_assert_false (lam_optimizer_kind_from_string ("rmsprop", &kind));

  /* Plain SGD keeps no state on the device. */
  CountingBackend cb;
  g_autoptr (GError) error = NULL;
  counting_init (&cb);
  LamOptimizer *opt = lam_optimizer_new (&cb.table, &sgd, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpint (cb.allocs, ==, 0);
  lam_optimizer_free (opt);
}

static void
test_schedule_step (void)
{
  LamSchedule s = { .kind = LAM_SCHEDULE_STEP, .step_size = 2, .gamma = 0.5 };
  const double expected[] = { 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125 };

  for (int epoch = 0; epoch < (int) G_N_ELEMENTS (expected); epoch++)
    g_assert_cmpfloat_with_epsilon (lam_schedule_lr (&s, 0.1, epoch), expected[epoch], 1e-12);

  LamSchedule constant = { .kind = LAM_SCHEDULE_CONSTANT };
  g_assert_cmpfloat (lam_schedule_lr (&constant, 0.1, 5), ==, 0.1);
}

static void
test_schedule_cosine (void)
{
  LamSchedule s = { .kind = LAM_SCHEDULE_COSINE, .t_max = 10, .eta_min = 0.001 };

  g_assert_cmpfloat_with_epsilon (lam_schedule_lr (&s, 0.1, 0), 0.1, 1e-12);
  g_assert_cmpfloat_with_epsilon (lam_schedule_lr (&s, 0.1, 5), (0.1 + 0.001) / 2, 1e-12);
  g_assert_cmpfloat_with_epsilon (lam_schedule_lr (&s, 0.1, 10), 0.001, 1e-12);
  g_assert_cmpfloat (lam_schedule_lr (&s, 0.1, 3), <, lam_schedule_lr (&s, 0.1, 2));
}

/* ---- registration ----------------------------------------------------- */

static const LayerCase linear_bias = { .kind = LAM_LAYER_LINEAR, .out = 5, .c = 7, .batch = 3 };
static const LayerCase linear_no_bias = { .kind = LAM_LAYER_LINEAR, .out = 5, .no_bias = TRUE,
                                          .c = 7, .batch = 3 };
static const LayerCase conv_s1p0 = { .kind = LAM_LAYER_CONV2D, .out = 4, .kernel = 3,
                                     .stride = 1, .c = 3, .h = 6, .w = 7, .batch = 3 };
static const LayerCase conv_s2p1 = { .kind = LAM_LAYER_CONV2D, .out = 4, .kernel = 3,
                                     .stride = 2, .padding = 1, .c = 3, .h = 7, .w = 8,
                                     .batch = 3 };
static const LayerCase conv_k5 = { .kind = LAM_LAYER_CONV2D, .out = 3, .kernel = 5, .stride = 1,
                                   .padding = 2, .c = 2, .h = 8, .w = 8, .batch = 3 };
static const LayerCase conv_no_bias = { .kind = LAM_LAYER_CONV2D, .out = 2, .kernel = 2,
                                        .stride = 2, .no_bias = TRUE, .c = 3, .h = 6, .w = 6,
                                        .batch = 2 };
static const LayerCase maxpool_k2 = { .kind = LAM_LAYER_MAXPOOL2D, .kernel = 2, .stride = 2,
                                      .c = 2, .h = 6, .w = 6, .batch = 3,
                                      .values = VALUES_DISTINCT };
static const LayerCase maxpool_k3s2p1 = { .kind = LAM_LAYER_MAXPOOL2D, .kernel = 3, .stride = 2,
                                          .padding = 1, .c = 2, .h = 7, .w = 6, .batch = 3,
                                          .values = VALUES_DISTINCT };
static const LayerCase maxpool_k2s1 = { .kind = LAM_LAYER_MAXPOOL2D, .kernel = 2, .stride = 1,
                                        .c = 2, .h = 5, .w = 5, .batch = 2,
                                        .values = VALUES_DISTINCT };
static const LayerCase avgpool_k2 = { .kind = LAM_LAYER_AVGPOOL2D, .kernel = 2, .stride = 2,
                                      .c = 2, .h = 6, .w = 6, .batch = 3 };
static const LayerCase avgpool_k3s2p1 = { .kind = LAM_LAYER_AVGPOOL2D, .kernel = 3, .stride = 2,
                                          .padding = 1, .c = 2, .h = 7, .w = 6, .batch = 3 };
static const LayerCase avgpool_k2s1 = { .kind = LAM_LAYER_AVGPOOL2D, .kernel = 2, .stride = 1,
                                        .c = 2, .h = 5, .w = 5, .batch = 2 };
static const LayerCase relu = { .kind = LAM_LAYER_RELU, .c = 2, .h = 3, .w = 4, .batch = 3,
                                .values = VALUES_AWAY_FROM_ZERO };
static const LayerCase leaky_relu = { .kind = LAM_LAYER_LEAKY_RELU, .slope = 0.1f, .c = 30,
                                      .batch = 3, .values = VALUES_AWAY_FROM_ZERO };
static const LayerCase leaky_relu_default = { .kind = LAM_LAYER_LEAKY_RELU, .c = 30, .batch = 3,
                                              .values = VALUES_AWAY_FROM_ZERO };
static const LayerCase sigmoid = { .kind = LAM_LAYER_SIGMOID, .c = 2, .h = 3, .w = 4,
                                   .batch = 3 };
static const LayerCase tanh_case = { .kind = LAM_LAYER_TANH, .c = 24, .batch = 3 };
static const LayerCase flatten = { .kind = LAM_LAYER_FLATTEN, .c = 3, .h = 4, .w = 5,
                                   .batch = 2 };
static const LayerCase dropout_train = { .kind = LAM_LAYER_DROPOUT, .p = 0.4f, .c = 2, .h = 4,
                                         .w = 5, .batch = 3, .training = TRUE };
static const LayerCase dropout_eval = { .kind = LAM_LAYER_DROPOUT, .p = 0.4f, .c = 20,
                                        .batch = 3, .training = FALSE };
static const LayerCase softmax = { .kind = LAM_LAYER_SOFTMAX, .c = 6, .batch = 4 };
static const LayerCase log_softmax = { .kind = LAM_LAYER_LOG_SOFTMAX, .c = 6, .batch = 4 };

static const OptimCase sgd_plain = { LAM_OPTIMIZER_SGD, 0.1, 0.0, 0.0, 0.0, FALSE };
static const OptimCase sgd_momentum = { LAM_OPTIMIZER_SGD, 0.1, 0.9, 0.1, 0.0, FALSE };
static const OptimCase sgd_nesterov = { LAM_OPTIMIZER_SGD, 0.1, 0.9, 0.0, 0.0, TRUE };
static const OptimCase sgd_weight_decay = { LAM_OPTIMIZER_SGD, 0.1, 0.5, 0.0, 0.1, FALSE };
static const OptimCase adam_plain = { LAM_OPTIMIZER_ADAM, 0.1, 0.0, 0.0, 0.0, FALSE };
static const OptimCase adam_weight_decay = { LAM_OPTIMIZER_ADAM, 0.1, 0.0, 0.0, 0.1, FALSE };
static const OptimCase adamw_plain = { LAM_OPTIMIZER_ADAMW, 0.1, 0.0, 0.0, 0.1, FALSE };

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  cpu = lam_backend_cpu_new ();
  g_assert_nonnull (cpu);

  g_test_add_data_func ("/layers/linear/forward/bias", &linear_bias, test_layer_forward_reference);
  g_test_add_data_func ("/layers/linear/forward/no-bias", &linear_no_bias,
                        test_layer_forward_reference);
  g_test_add_data_func ("/layers/linear/backward/bias", &linear_bias, test_layer_backward);
  g_test_add_data_func ("/layers/linear/backward/no-bias", &linear_no_bias, test_layer_backward);
  g_test_add_data_func ("/layers/conv2d/forward/stride1-pad0", &conv_s1p0,
                        test_layer_forward_reference);
  g_test_add_data_func ("/layers/conv2d/forward/stride2-pad1", &conv_s2p1,
                        test_layer_forward_reference);
  g_test_add_data_func ("/layers/conv2d/forward/kernel5", &conv_k5, test_layer_forward_reference);
  g_test_add_data_func ("/layers/conv2d/forward/no-bias", &conv_no_bias,
                        test_layer_forward_reference);
  g_test_add_data_func ("/layers/conv2d/backward/stride1-pad0", &conv_s1p0, test_layer_backward);
  g_test_add_data_func ("/layers/conv2d/backward/stride2-pad1", &conv_s2p1, test_layer_backward);
  g_test_add_data_func ("/layers/conv2d/backward/kernel5", &conv_k5, test_layer_backward);
  g_test_add_data_func ("/layers/conv2d/backward/no-bias", &conv_no_bias, test_layer_backward);
  g_test_add_data_func ("/layers/maxpool2d/backward/k2", &maxpool_k2, test_layer_backward);
  g_test_add_data_func ("/layers/maxpool2d/backward/k3-stride2-pad1", &maxpool_k3s2p1,
                        test_layer_backward);
  g_test_add_data_func ("/layers/maxpool2d/backward/k2-stride1", &maxpool_k2s1,
                        test_layer_backward);
  g_test_add_data_func ("/layers/avgpool2d/backward/k2", &avgpool_k2, test_layer_backward);
  g_test_add_data_func ("/layers/avgpool2d/backward/k3-stride2-pad1", &avgpool_k3s2p1,
                        test_layer_backward);
  g_test_add_data_func ("/layers/avgpool2d/backward/k2-stride1", &avgpool_k2s1,
                        test_layer_backward);
  g_test_add_data_func ("/layers/relu/backward", &relu, test_layer_backward);
  g_test_add_data_func ("/layers/leaky_relu/backward/slope0.1", &leaky_relu, test_layer_backward);
  g_test_add_data_func ("/layers/leaky_relu/backward/default-slope", &leaky_relu_default,
                        test_layer_backward);
  g_test_add_data_func ("/layers/sigmoid/backward", &sigmoid, test_layer_backward);
  g_test_add_data_func ("/layers/tanh/backward", &tanh_case, test_layer_backward);
  g_test_add_func ("/layers/flatten/forward", test_flatten_forward);
  g_test_add_data_func ("/layers/flatten/backward", &flatten, test_layer_backward);
  g_test_add_func ("/layers/dropout/forward/train", test_dropout_forward_train);
  g_test_add_func ("/layers/dropout/forward/eval", test_dropout_forward_eval);
  g_test_add_data_func ("/layers/dropout/backward/train", &dropout_train, test_layer_backward);
  g_test_add_data_func ("/layers/dropout/backward/eval", &dropout_eval, test_layer_backward);
  g_test_add_data_func ("/layers/softmax/backward", &softmax, test_layer_backward);
  g_test_add_data_func ("/layers/log_softmax/backward", &log_softmax, test_layer_backward);

  g_test_add_data_func ("/loss/cross_entropy", GINT_TO_POINTER (LAM_LOSS_CROSS_ENTROPY),
                        test_loss);
  g_test_add_data_func ("/loss/nll", GINT_TO_POINTER (LAM_LOSS_NLL), test_loss);
  g_test_add_data_func ("/loss/mse", GINT_TO_POINTER (LAM_LOSS_MSE), test_loss);
  g_test_add_data_func ("/loss/targets/mse", GINT_TO_POINTER (LAM_LOSS_MSE), test_loss_targets);
  g_test_add_data_func ("/loss/targets/l1", GINT_TO_POINTER (LAM_LOSS_L1), test_loss_targets);

  g_test_add_func ("/model/gradcheck/cnn-cross-entropy", test_model_gradcheck_cnn);
  g_test_add_data_func ("/model/gradcheck/mlp-cross-entropy",
                        GINT_TO_POINTER (LAM_LOSS_CROSS_ENTROPY), test_model_gradcheck_mlp);
  g_test_add_data_func ("/model/gradcheck/mlp-nll", GINT_TO_POINTER (LAM_LOSS_NLL),
                        test_model_gradcheck_mlp);
  g_test_add_data_func ("/model/gradcheck/mlp-mse", GINT_TO_POINTER (LAM_LOSS_MSE),
                        test_model_gradcheck_mlp);
  g_test_add_func ("/model/gradcheck/dropout-train", test_model_gradcheck_dropout);
  g_test_add_func ("/model/gradcheck/input-mlp", test_model_input_gradient_mlp);
  g_test_add_func ("/model/gradcheck/batchnorm", test_model_gradcheck_batchnorm);
  g_test_add_func ("/model/batchnorm/running-statistics", test_batchnorm_running_statistics);
  g_test_add_func ("/model/gradcheck/input-cnn", test_model_input_gradient_cnn);
  g_test_add_func ("/model/unfused/outputs-and-results", test_model_unfused_outputs);
  g_test_add_func ("/model/backward/zeroes-grads", test_model_backward_zeroes);
  g_test_add_func ("/model/fused/linear-activation", test_model_linear_activation);
  g_test_add_func ("/model/backward/batch-mean", test_model_backward_batch_mean);
  g_test_add_data_func ("/model/fused/relu-maxpool", GINT_TO_POINTER (LAM_LAYER_RELU),
                        test_model_activation_before_pool);
  g_test_add_data_func ("/model/fused/leaky-relu-maxpool", GINT_TO_POINTER (LAM_LAYER_LEAKY_RELU),
                        test_model_activation_before_pool);
  g_test_add_func ("/model/params/roundtrip", test_model_params_roundtrip);
  g_test_add_func ("/model/step/no-alloc", test_model_no_alloc_in_step);
  g_test_add_func ("/model/new/out-of-memory", test_model_out_of_memory);
  g_test_add_func ("/model/train/quadrants", test_model_trains);

  g_test_add_data_func ("/optim/sgd/plain", &sgd_plain, test_optimizer_steps);
  g_test_add_data_func ("/optim/sgd/momentum", &sgd_momentum, test_optimizer_steps);
  g_test_add_data_func ("/optim/sgd/nesterov", &sgd_nesterov, test_optimizer_steps);
  g_test_add_data_func ("/optim/sgd/weight-decay", &sgd_weight_decay, test_optimizer_steps);
  g_test_add_data_func ("/optim/adam/steps", &adam_plain, test_optimizer_steps);
  g_test_add_data_func ("/optim/adam/weight-decay", &adam_weight_decay, test_optimizer_steps);
  g_test_add_data_func ("/optim/adamw/steps", &adamw_plain, test_optimizer_steps);
  g_test_add_func ("/optim/set-lr", test_optimizer_set_lr);
  g_test_add_func ("/optim/defaults", test_optimizer_defaults);
  g_test_add_func ("/optim/schedule/step", test_schedule_step);
  g_test_add_func ("/optim/schedule/cosine", test_schedule_cosine);

  int status = g_test_run ();
  lam_backend_free (cpu);
  return status;
}
