/* test-backend-ref.c: every op of the fast CPU backend against the plain
 * reference backend (core/cpu-ref), on random shapes with odd sizes, and a
 * few training steps of small models on both.
 *
 * Each test runs on three fast backends: as the environment makes it
 * (AVX-512 where the CPU has it), kept to its generic loops and OpenBLAS,
 * and with two threads, so that every path of the fast ops meets the same
 * reference. test-backend holds the reference itself to the ops'
 * definitions and to finite differences.
 *
 * Tolerances. The reference sums in double and rounds once, so it is
 * within half an ulp of the exact result; a float sum of K terms, in any
 * order, is within K·ε of it times the sum of the terms' magnitudes. Where
 * an op is a sum of products, that magnitude comes from the reference
 * itself run on absolute values (|a|·|b| for gemm, |w|·|x| for a
 * convolution), and an element passes when
 *   |fast - ref| <= (K + 2) · ε · magnitude.
 * Elsewhere an element passes when |fast - ref| <= K · ε · (|ref| + mean
 * |ref|), with K the number of roundings the op's float formula makes
 * (the row length for softmax), the mean term standing for the
 * cancellation a sum near zero carries. Copies, selections (max pooling,
 * argmax), masks and counts must agree bit for bit.
 */
#include <float.h>
#include <glib.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "cpu-ref/lam-backend-ref.h"
#include "lam-backend.h"
#include "lam-device.h"
#include "lam-model.h"
#include "lam-optim.h"

#define EPS ((double) FLT_EPSILON)

enum
{
  FAST_DEFAULT,
  FAST_GENERIC,
  FAST_THREADS,
  N_FAST
};
static LamBackend *fasts[N_FAST];
static LamBackend *fast; /* the one under test */
static LamBackend *ref;

/* The odd sizes shapes are drawn from. */
static const int odd_sizes[] = { 1, 3, 7, 17, 33, 65 };

static int
odd_size (GRand *rand)
{
  return odd_sizes[g_rand_int_range (rand, 0, G_N_ELEMENTS (odd_sizes))];
}

/* ---- checks ---- */

/* |got - want| <= (k + 2) ε mag for every element. */
static gboolean
check_bound (const char *what, const float *got, const float *want, const float *mag, size_t n,
             double k)
{
  for (size_t i = 0; i < n; i++) {
    double tol = (k + 2.0) * EPS * fabs ((double) mag[i]) + FLT_MIN;
    if (!(fabs ((double) got[i] - (double) want[i]) <= tol)) {
      g_test_fail_printf ("%s[%zu]: fast %.9g, reference %.9g (tolerance %.3g from a sum of %g "
                          "terms of magnitude %.3g)",
                          what, i, got[i], want[i], tol, k, mag[i]);
      return FALSE;
    }
  }
  return TRUE;
}

/* |got - want| <= k ε (|want| + mean |want|) for every element. */
static gboolean
check_rel (const char *what, const float *got, const float *want, size_t n, double k)
{
  double mean = 0.0;
  for (size_t i = 0; i < n; i++)
    mean += fabs ((double) want[i]);
  mean = n > 0 ? mean / (double) n : 0.0;
  for (size_t i = 0; i < n; i++) {
    double tol = k * EPS * (fabs ((double) want[i]) + mean) + FLT_MIN;
    if (!(fabs ((double) got[i] - (double) want[i]) <= tol)) {
      g_test_fail_printf ("%s[%zu]: fast %.9g, reference %.9g (tolerance %.3g)", what, i, got[i],
                          want[i], tol);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
check_same (const char *what, const void *got, const void *want, size_t bytes)
{
  if (bytes == 0 || memcmp (got, want, bytes) == 0)
    return TRUE;
  const unsigned char *g = got, *w = want;
  size_t i = 0;
  while (g[i] == w[i])
    i++;
  g_test_fail_printf ("%s: differs from the reference at byte %zu", what, i);
  return FALSE;
}

/* ---- data ---- */

/* Host memory is device memory on both CPU backends: plain allocations
 * serve both. */
static float *
random_floats (GRand *rand, size_t n, double lo, double hi)
{
  float *x = g_new (float, MAX (n, 1));
  for (size_t i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rand, lo, hi);
  return x;
}

static float *
copy_floats (const float *x, size_t n)
{
  return g_memdup2 (x, MAX (n, 1) * sizeof (float));
}

static float *
abs_floats (const float *x, size_t n)
{
  float *y = g_new (float, MAX (n, 1));
  for (size_t i = 0; i < n; i++)
    y[i] = fabsf (x[i]);
  return y;
}

static float *
nan_floats (size_t n)
{
  float *x = g_new (float, MAX (n, 1));
  for (size_t i = 0; i < n; i++)
    x[i] = NAN;
  return x;
}

static int32_t *
random_labels (GRand *rand, int rows, int cols)
{
  int32_t *labels = g_new (int32_t, MAX (rows, 1));
  for (int r = 0; r < rows; r++)
    labels[r] = g_rand_int_range (rand, 0, cols);
  return labels;
}

static int
out_size (int size, int k, int stride, int pad)
{
  return (size + 2 * pad - k) / stride + 1;
}

/* ---- the tables ---- */

/* Every op of both tables is set: the ops are the function pointers from
 * alloc to the end of the struct. */
static void
test_tables_complete (void)
{
  typedef void (*AnyOp) (void);
  const size_t first = offsetof (LamBackend, alloc);
  size_t n = (sizeof (LamBackend) - first) / sizeof (AnyOp);
  LamBackend *both[2] = { fast, ref };
  for (int b = 0; b < 2; b++) {
    g_assert_cmpint (both[b]->abi_version, ==, LAM_BACKEND_ABI_VERSION);
    for (size_t i = 0; i < n; i++) {
      AnyOp op;
      memcpy (&op, (const char *) both[b] + first + i * sizeof (AnyOp), sizeof op);
      if (op == NULL)
        g_test_fail_printf ("%s leaves op %zu empty", both[b]->name, i);
    }
  }
  g_assert_cmpstr (ref->name, ==, "cpu-ref");
  g_assert_null (ref->context);
}

/* ---- fill ---- */

static void
test_fill (void)
{
  static const size_t sizes[] = { 0, 1, 33, (1 << 18) + 3 };
  static const float values[] = { 0.0f, -0.0f, 2.5f };
  for (size_t s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (size_t v = 0; v < G_N_ELEMENTS (values); v++) {
      size_t n = sizes[s];
      g_autofree float *a = nan_floats (n), *b = nan_floats (n);
      fast->fill (fast, a, n, values[v]);
      ref->fill (ref, b, n, values[v]);
      if (!check_same ("fill", a, b, n * sizeof (float)))
        return;
    }
}

/* ---- gemm ---- */

static gboolean
gemm_case (GRand *rand, int trans_a, int trans_b, int m, int n, int k, float alpha, float beta)
{
  int a_rows = trans_a ? k : m, lda = (trans_a ? m : k) + g_rand_int_range (rand, 0, 3);
  int b_rows = trans_b ? n : k, ldb = (trans_b ? k : n) + g_rand_int_range (rand, 0, 3);
  int ldc = n + g_rand_int_range (rand, 0, 3);
  size_t a_n = (size_t) a_rows * lda, b_n = (size_t) b_rows * ldb, c_n = (size_t) m * ldc;
  g_autofree float *a = random_floats (rand, a_n, -1, 1);
  g_autofree float *b = random_floats (rand, b_n, -1, 1);
  // beta == 0 must not read C: NaN there must not come through.
  g_autofree float *c0 = beta == 0.0f ? nan_floats (c_n) : random_floats (rand, c_n, -1, 1);
  g_autofree float *got = copy_floats (c0, c_n), *want = copy_floats (c0, c_n);
  g_autofree float *abs_a = abs_floats (a, a_n), *abs_b = abs_floats (b, b_n);
  g_autofree float *mag = beta == 0.0f ? g_new0 (float, MAX (c_n, 1)) : abs_floats (c0, c_n);

  fast->gemm (fast, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, got, ldc);
  ref->gemm (ref, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc);
  // |alpha| |op(a)| · |op(b)| + |beta| |c|
  ref->gemm (ref, trans_a, trans_b, m, n, k, fabsf (alpha), abs_a, lda, abs_b, ldb, fabsf (beta),
             mag, ldc);
  /* Past column n each row of C is left alone (NaN stays NaN): compare
   * only the product's columns, and the rest by bytes. */
  g_autofree char *what = g_strdup_printf ("c of %s%s %d×%d×%d, alpha %g beta %g",
                                           trans_a ? "Aᵀ" : "A", trans_b ? "Bᵀ" : "B", m, n, k,
                                           alpha, beta);
  for (int i = 0; i < m; i++) {
    size_t row = (size_t) i * ldc;
    if (!check_bound (what, got + row, want + row, mag + row, n, k + 1) ||
        !check_same (what, got + row + n, want + row + n, sizeof (float) * (ldc - n)))
      return FALSE;
  }
  return TRUE;
}

static void
test_gemm (gconstpointer data)
{
  int trans = GPOINTER_TO_INT (data), trans_a = trans & 1, trans_b = trans >> 1;
  g_autoptr (GRand) rand = g_rand_new_with_seed (100 + trans);
  static const float alphas[] = { 1.0f, 0.75f, -1.5f }, betas[] = { 0.0f, 1.0f, -0.5f };

  for (int i = 0; i < 24; i++) {
    int m = odd_size (rand), n = odd_size (rand), k = odd_size (rand);
    if (!gemm_case (rand, trans_a, trans_b, m, n, k, alphas[i % 3], betas[(i / 3) % 3]))
      return;
  }
  // The layers' shapes, an empty inner dimension, and one split over threads.
  if (!gemm_case (rand, trans_a, trans_b, 32, 256, 784, 1.0f, 0.0f) ||
      !gemm_case (rand, trans_a, trans_b, 64, 196, 288, 1.0f, 1.0f) ||
      !gemm_case (rand, trans_a, trans_b, 7, 5, 0, 1.0f, 0.5f) ||
      !gemm_case (rand, trans_a, trans_b, 520, 400, 192, 1.0f, 0.0f))
    return;
}

/* ---- bias ---- */

static void
test_bias (void)
{
  static const int shapes[][3] = {
    { 1, 1, 1 }, { 3, 7, 1 }, { 17, 3, 33 }, { 2, 65, 7 }, { 65, 17, 1 }, { 1, 3, 65 },
  };
  g_autoptr (GRand) rand = g_rand_new_with_seed (110);

  for (size_t s = 0; s < G_N_ELEMENTS (shapes); s++) {
    int outer = shapes[s][0], channels = shapes[s][1], inner = shapes[s][2];
    size_t n = (size_t) outer * channels * inner;
    g_autofree float *y = random_floats (rand, n, -1, 1);
    g_autofree float *bias = random_floats (rand, channels, -1, 1);
    g_autofree float *y_fast = copy_floats (y, n), *y_ref = copy_floats (y, n);
    fast->bias_add (fast, y_fast, bias, outer, channels, inner);
    ref->bias_add (ref, y_ref, bias, outer, channels, inner);
    // One addition per element, rounded once on both.
    if (!check_same ("bias_add y", y_fast, y_ref, n * sizeof (float)))
      return;

    g_autofree float *db0 = random_floats (rand, channels, -1, 1);
    g_autofree float *db_fast = copy_floats (db0, channels), *db_ref = copy_floats (db0, channels);
    g_autofree float *abs_dy = abs_floats (y, n), *mag = abs_floats (db0, channels);
    fast->bias_backward (fast, y, db_fast, outer, channels, inner);
    ref->bias_backward (ref, y, db_ref, outer, channels, inner);
    ref->bias_backward (ref, abs_dy, mag, outer, channels, inner);
    if (!check_bound ("dbias", db_fast, db_ref, mag, channels, (double) outer * inner + 1))
      return;
  }
}

/* ---- activations ---- */

static void
test_activation (gconstpointer data)
{
  LamActivation kind = GPOINTER_TO_INT (data);
  float alpha = kind == LAM_ACTIVATION_LEAKY_RELU ? 0.1f : 0.0f;
  static const size_t sizes[] = { 1, 7, 65, 1000, (1 << 18) + 37 };
  g_autoptr (GRand) rand = g_rand_new_with_seed (120 + kind);
  /* The ReLUs select or scale once (one rounding, the same on both);
   * sigmoid and tanh go through expf or tanhf, within a few ulp. */
  gboolean exact = kind == LAM_ACTIVATION_RELU || kind == LAM_ACTIVATION_LEAKY_RELU;

  for (size_t s = 0; s < G_N_ELEMENTS (sizes); s++) {
    size_t n = sizes[s];
    g_autofree float *x = random_floats (rand, n, -4, 4);
    x[0] = n > 1 ? -30.0f : 0.0f; // saturated, and ReLU's kink
    g_autofree float *dy = random_floats (rand, n, -1, 1);
    g_autofree float *y_fast = nan_floats (n), *y_ref = nan_floats (n);
    fast->activation_forward (fast, kind, alpha, x, y_fast, n);
    ref->activation_forward (ref, kind, alpha, x, y_ref, n);
    if (exact ? !check_same ("y", y_fast, y_ref, n * sizeof (float))
              : !check_rel ("y", y_fast, y_ref, n, 4))
      return;

    // The backward from the same y, the reference's.
    g_autofree float *dx_fast = nan_floats (n), *dx_ref = nan_floats (n);
    fast->activation_backward (fast, kind, alpha, x, y_ref, dy, dx_fast, n);
    ref->activation_backward (ref, kind, alpha, x, y_ref, dy, dx_ref, n);
    if (exact ? !check_same ("dx", dx_fast, dx_ref, n * sizeof (float))
              : !check_rel ("dx", dx_fast, dx_ref, n, 4))
      return;
  }
}

/* ---- convolution ---- */

typedef struct
{
  int batch, c, h, w, out_c, kh, kw, stride, pad;
} ConvCase;

/* Odd sizes, stride 2 and 3, padding, one channel and many, a 1×1 direct
 * product, "same" padding on 28×28 (the AVX-512 shifted lowering), and
 * batches large enough to be split over threads. */
static const ConvCase conv_cases[] = {
  { 1, 1, 7, 7, 1, 3, 3, 1, 1 },    { 3, 1, 17, 9, 4, 3, 3, 2, 1 },
  { 2, 3, 7, 5, 5, 5, 5, 1, 2 },    { 2, 16, 9, 9, 33, 3, 3, 1, 1 },
  { 4, 7, 15, 13, 7, 1, 1, 1, 0 },  { 2, 3, 33, 17, 3, 3, 2, 2, 0 },
  { 5, 2, 6, 8, 3, 4, 4, 3, 2 },    { 8, 1, 28, 28, 8, 3, 3, 1, 1 },
  { 16, 8, 14, 14, 16, 3, 3, 1, 1 }, { 17, 3, 11, 11, 7, 5, 5, 1, 2 },
};
static const char *const conv_names[] = {
  "one-channel-7x7", "stride2-odd", "5x5-pad2", "many-channels", "1x1-direct", "rect-stride2",
  "stride3-pad2", "same-28x28", "threads", "odd-batch-5x5",
};

static size_t
conv_scratch (const ConvCase *cc, int images)
{
  size_t plane = (size_t) out_size (cc->h, cc->kh, cc->stride, cc->pad) *
                 out_size (cc->w, cc->kw, cc->stride, cc->pad);
  return ((size_t) cc->c * cc->kh * cc->kw + cc->out_c) * plane * images;
}

typedef struct
{
  size_t x, w, y, p; /* element counts: input, weight, output, pooled output */
  int oh, ow;
} ConvSizes;

static ConvSizes
conv_sizes (const ConvCase *cc)
{
  ConvSizes z;
  z.oh = out_size (cc->h, cc->kh, cc->stride, cc->pad);
  z.ow = out_size (cc->w, cc->kw, cc->stride, cc->pad);
  z.x = (size_t) cc->batch * cc->c * cc->h * cc->w;
  z.w = (size_t) cc->out_c * cc->c * cc->kh * cc->kw;
  z.y = (size_t) cc->batch * cc->out_c * z.oh * z.ow;
  z.p = (size_t) cc->batch * cc->out_c * (z.oh / 2) * (z.ow / 2);
  return z;
}

#define CONV_ARGS(cc) (cc)->batch, (cc)->c, (cc)->h, (cc)->w, (cc)->out_c, (cc)->kh, (cc)->kw, \
                      (cc)->stride, (cc)->pad

static void
test_conv2d_forward (gconstpointer data)
{
  const ConvCase *cc = data;
  ConvSizes z = conv_sizes (cc);
  g_autoptr (GRand) rand = g_rand_new_with_seed (130);
  g_autofree float *x = random_floats (rand, z.x, -1, 1);
  g_autofree float *weight = random_floats (rand, z.w, -1, 1);
  g_autofree float *bias = random_floats (rand, cc->out_c, -1, 1);
  g_autofree float *abs_x = abs_floats (x, z.x), *abs_w = abs_floats (weight, z.w);
  g_autofree float *abs_b = abs_floats (bias, cc->out_c);
  g_autofree float *got = g_new (float, z.y), *want = g_new (float, z.y);
  g_autofree float *mag = g_new (float, z.y);
  size_t scratch_n = conv_scratch (cc, cc->batch);
  g_autofree float *scratch = g_new (float, scratch_n);
  double terms = (double) cc->c * cc->kh * cc->kw + 1;

  for (int with_bias = 0; with_bias < 2; with_bias++)
    for (int whole = 0; whole < 2; whole++) {
      size_t scratch_floats = whole ? scratch_n : conv_scratch (cc, 1);
      memset (got, 0xff, z.y * sizeof (float));
      fast->conv2d_forward (fast, x, weight, with_bias ? bias : NULL, got, CONV_ARGS (cc),
                            scratch, scratch_floats);
      ref->conv2d_forward (ref, x, weight, with_bias ? bias : NULL, want, CONV_ARGS (cc), NULL, 0);
      ref->conv2d_forward (ref, abs_x, abs_w, with_bias ? abs_b : NULL, mag, CONV_ARGS (cc), NULL,
                           0);
      g_autofree char *what = g_strdup_printf ("y (%s bias, scratch for %s)",
                                               with_bias ? "with" : "no",
                                               whole ? "the batch" : "one image");
      if (!check_bound (what, got, want, mag, z.y, terms))
        return;
    }
}

/* The backward's three gradients against the reference's, each with the
 * magnitude of its own sum. dweight and dbias start non-zero (they
 * accumulate); without dx and dbias, dbias is left alone. */
static gboolean
conv_backward_check (const ConvCase *cc, const float *x, const float *weight, const float *dy,
                     const float *dw0, const float *db0, const float *dw_fast,
                     const float *db_fast, const float *dx_fast, const char *where)
{
  ConvSizes z = conv_sizes (cc);
  g_autofree float *dw = copy_floats (dw0, z.w), *db = copy_floats (db0, cc->out_c);
  g_autofree float *dx = g_new (float, z.x);
  g_autofree float *abs_x = abs_floats (x, z.x), *abs_w = abs_floats (weight, z.w);
  g_autofree float *abs_dy = abs_floats (dy, z.y);
  g_autofree float *mag_w = abs_floats (dw0, z.w), *mag_b = abs_floats (db0, cc->out_c);
  g_autofree float *mag_x = g_new (float, z.x);

  ref->conv2d_backward (ref, x, weight, dy, dw, db, dx, CONV_ARGS (cc), NULL, 0);
  ref->conv2d_backward (ref, abs_x, abs_w, abs_dy, mag_w, mag_b, mag_x, CONV_ARGS (cc), NULL, 0);
  double per_weight = (double) cc->batch * z.oh * z.ow + 1;
  double per_pixel = (double) cc->out_c * cc->kh * cc->kw;
  g_autofree char *what_w = g_strdup_printf ("dweight (%s)", where);
  g_autofree char *what_b = g_strdup_printf ("dbias (%s)", where);
  g_autofree char *what_x = g_strdup_printf ("dx (%s)", where);
  if (!check_bound (what_w, dw_fast, dw, mag_w, z.w, per_weight))
    return FALSE;
  if (dx_fast == NULL)
    return check_same (what_b, db_fast, db0, cc->out_c * sizeof (float));
  return check_bound (what_b, db_fast, db, mag_b, cc->out_c, per_weight) &&
         check_bound (what_x, dx_fast, dx, mag_x, z.x, per_pixel);
}

static void
test_conv2d_backward (gconstpointer data)
{
  const ConvCase *cc = data;
  ConvSizes z = conv_sizes (cc);
  g_autoptr (GRand) rand = g_rand_new_with_seed (131);
  g_autofree float *x = random_floats (rand, z.x, -1, 1);
  g_autofree float *weight = random_floats (rand, z.w, -1, 1);
  g_autofree float *dy = random_floats (rand, z.y, -1, 1);
  g_autofree float *dw0 = random_floats (rand, z.w, -1, 1);
  g_autofree float *db0 = random_floats (rand, cc->out_c, -1, 1);
  size_t scratch_n = conv_scratch (cc, cc->batch);
  g_autofree float *scratch = g_new (float, scratch_n);

  for (int whole = 0; whole < 2; whole++)
    for (int optional = 0; optional < 2; optional++) {
      g_autofree float *dw = copy_floats (dw0, z.w), *db = copy_floats (db0, cc->out_c);
      g_autofree float *dx = nan_floats (z.x);
      fast->conv2d_backward (fast, x, weight, dy, dw, optional ? NULL : db, optional ? NULL : dx,
                             CONV_ARGS (cc), scratch,
                             whole ? scratch_n : conv_scratch (cc, 1));
      g_autofree char *where = g_strdup_printf ("scratch for %s%s",
                                                whole ? "the batch" : "one image",
                                                optional ? ", no dx or dbias" : "");
      if (!conv_backward_check (cc, x, weight, dy, dw0, db0, dw, db, optional ? NULL : dx, where))
        return;
    }
}

/* The fused convolution and 2×2 max pool: y as the reference's
 * convolution, then exactly the reference's pool of that y; backward,
 * exactly the reference's scatter of dpooled, then gradients as the
 * reference's convolution backward. */
static void
test_conv2d_maxpool2 (gconstpointer data)
{
  const ConvCase *cc = data;
  ConvSizes z = conv_sizes (cc);
  if (z.oh < 2 || z.ow < 2) {
    g_test_skip ("the convolution's output is too small to pool");
    return;
  }
  g_autoptr (GRand) rand = g_rand_new_with_seed (132);
  g_autofree float *x = random_floats (rand, z.x, -1, 1);
  g_autofree float *weight = random_floats (rand, z.w, -1, 1);
  g_autofree float *bias = random_floats (rand, cc->out_c, -1, 1);
  g_autofree float *dpooled = random_floats (rand, z.p, -1, 1);
  g_autofree float *dw0 = random_floats (rand, z.w, -1, 1);
  g_autofree float *db0 = random_floats (rand, cc->out_c, -1, 1);
  g_autofree float *abs_x = abs_floats (x, z.x), *abs_w = abs_floats (weight, z.w);
  g_autofree float *abs_b = abs_floats (bias, cc->out_c);
  size_t scratch_n = conv_scratch (cc, cc->batch);
  g_autofree float *scratch = g_new (float, scratch_n);
  int planes = cc->batch * cc->out_c;

  g_autofree float *y = g_new (float, z.y), *pooled = g_new (float, z.p);
  g_autofree int32_t *argmax = g_new (int32_t, z.p);
  fast->conv2d_maxpool2_forward (fast, x, weight, bias, y, pooled, argmax, CONV_ARGS (cc),
                                 scratch, scratch_n);
  g_autofree float *want_y = g_new (float, z.y), *mag = g_new (float, z.y);
  ref->conv2d_forward (ref, x, weight, bias, want_y, CONV_ARGS (cc), NULL, 0);
  ref->conv2d_forward (ref, abs_x, abs_w, abs_b, mag, CONV_ARGS (cc), NULL, 0);
  if (!check_bound ("y", y, want_y, mag, z.y, (double) cc->c * cc->kh * cc->kw + 1))
    return;
  g_autofree float *want_pooled = g_new (float, z.p);
  g_autofree int32_t *want_argmax = g_new (int32_t, z.p);
  ref->maxpool_forward (ref, y, want_pooled, want_argmax, planes, z.oh, z.ow, 2, 2, 0);
  if (!check_same ("pooled", pooled, want_pooled, z.p * sizeof (float)) ||
      !check_same ("argmax", argmax, want_argmax, z.p * sizeof (int32_t)))
    return;

  g_autofree float *dy = nan_floats (z.y), *want_dy = g_new (float, z.y);
  g_autofree float *dw = copy_floats (dw0, z.w), *db = copy_floats (db0, cc->out_c);
  g_autofree float *dx = nan_floats (z.x);
  fast->conv2d_maxpool2_backward (fast, x, weight, dpooled, argmax, dy, dw, db, dx,
                                  CONV_ARGS (cc), scratch, scratch_n);
  ref->maxpool_backward (ref, dpooled, argmax, want_dy, planes, z.oh, z.ow, z.oh / 2, z.ow / 2);
  if (!check_same ("dy", dy, want_dy, z.y * sizeof (float)))
    return;
  conv_backward_check (cc, x, weight, want_dy, dw0, db0, dw, db, dx, "fused");
}

/* ---- pooling ---- */

typedef struct
{
  int planes, h, w, k, stride, pad;
} PoolCase;

static const PoolCase pool_cases[] = {
  { 3, 7, 7, 3, 2, 1 },  { 5, 17, 33, 2, 2, 0 },  { 2, 9, 5, 3, 1, 1 },  { 4, 8, 8, 2, 2, 0 },
  { 1, 1, 1, 1, 1, 0 },  { 6, 65, 3, 3, 3, 1 },   { 2, 13, 11, 4, 3, 2 }, { 7, 33, 17, 2, 1, 1 },
  { 520, 28, 28, 2, 2, 0 },
};
static const char *const pool_names[] = {
  "k3-stride2-pad1", "k2-odd", "k3-stride1-pad1", "k2-even", "one-pixel", "k3-stride3-pad1",
  "k4-stride3-pad2", "k2-stride1-pad1", "threads",
};

/* Max pooling selects, so values, argmax and the scattered gradient agree
 * bit for bit, NaN and ties included; average pooling sums k*k values. */
static void
test_pool (gconstpointer data)
{
  const PoolCase *pc = data;
  g_autoptr (GRand) rand = g_rand_new_with_seed (140);
  int oh = out_size (pc->h, pc->k, pc->stride, pc->pad);
  int ow = out_size (pc->w, pc->k, pc->stride, pc->pad);
  size_t n = (size_t) pc->planes * pc->h * pc->w, on = (size_t) pc->planes * oh * ow;
  static const float specials[] = { NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1.0f };

  for (int round = 0; round < 2; round++) {
    /* Round 0: random values; round 1: small integers and special values,
     * so that windows hold ties and NaN. */
    g_autofree float *x = random_floats (rand, n, -2, 2);
    if (round == 1)
      for (size_t i = 0; i < n; i++)
        x[i] = g_rand_int_range (rand, 0, 4) == 0
                 ? specials[g_rand_int_range (rand, 0, G_N_ELEMENTS (specials))]
                 : (float) g_rand_int_range (rand, -2, 3);
    g_autofree float *y_fast = nan_floats (on), *y_ref = nan_floats (on);
    g_autofree int32_t *arg_fast = g_new (int32_t, on), *arg_ref = g_new (int32_t, on);
    fast->maxpool_forward (fast, x, y_fast, arg_fast, pc->planes, pc->h, pc->w, pc->k,
                           pc->stride, pc->pad);
    ref->maxpool_forward (ref, x, y_ref, arg_ref, pc->planes, pc->h, pc->w, pc->k, pc->stride,
                          pc->pad);
    if (!check_same ("maxpool argmax", arg_fast, arg_ref, on * sizeof (int32_t)) ||
        !check_same ("maxpool y", y_fast, y_ref, on * sizeof (float)))
      return;

    g_autofree float *dy = random_floats (rand, on, -1, 1);
    g_autofree float *dx_fast = nan_floats (n), *dx_ref = nan_floats (n);
    fast->maxpool_backward (fast, dy, arg_ref, dx_fast, pc->planes, pc->h, pc->w, oh, ow);
    ref->maxpool_backward (ref, dy, arg_ref, dx_ref, pc->planes, pc->h, pc->w, oh, ow);
    if (!check_same ("maxpool dx", dx_fast, dx_ref, n * sizeof (float)))
      return;
  }

  g_autofree float *x = random_floats (rand, n, -1, 1);
  g_autofree float *abs_x = abs_floats (x, n);
  g_autofree float *y_fast = nan_floats (on), *y_ref = nan_floats (on), *mag = nan_floats (on);
  fast->avgpool_forward (fast, x, y_fast, pc->planes, pc->h, pc->w, pc->k, pc->stride, pc->pad);
  ref->avgpool_forward (ref, x, y_ref, pc->planes, pc->h, pc->w, pc->k, pc->stride, pc->pad);
  ref->avgpool_forward (ref, abs_x, mag, pc->planes, pc->h, pc->w, pc->k, pc->stride, pc->pad);
  if (!check_bound ("avgpool y", y_fast, y_ref, mag, on, (double) pc->k * pc->k + 1))
    return;

  g_autofree float *dy = random_floats (rand, on, -1, 1);
  g_autofree float *abs_dy = abs_floats (dy, on);
  g_autofree float *dx_fast = nan_floats (n), *dx_ref = nan_floats (n), *mag_x = nan_floats (n);
  fast->avgpool_backward (fast, dy, dx_fast, pc->planes, pc->h, pc->w, pc->k, pc->stride,
                          pc->pad);
  ref->avgpool_backward (ref, dy, dx_ref, pc->planes, pc->h, pc->w, pc->k, pc->stride, pc->pad);
  ref->avgpool_backward (ref, abs_dy, mag_x, pc->planes, pc->h, pc->w, pc->k, pc->stride,
                         pc->pad);
  // Each pixel gathers from at most ceil(k / stride)² windows.
  int reach = (pc->k + pc->stride - 1) / pc->stride;
  check_bound ("avgpool dx", dx_fast, dx_ref, mag_x, n, (double) reach * reach + 1);
}

/* ---- softmax ---- */

static const int row_shapes[][2] = {
  { 1, 1 }, { 3, 7 }, { 17, 10 }, { 65, 33 }, { 1, 65 }, { 7, 1000 }, { 33, 3 },
};

/* Rows of logits around `offset`: large offsets overflow exp unless the
 * row maximum is taken out first. */
static float *
logits (GRand *rand, int rows, int cols, float offset)
{
  float *x = random_floats (rand, (size_t) rows * cols, -4, 4);
  for (size_t i = 0; i < (size_t) rows * cols; i++)
    x[i] += offset;
  return x;
}

static void
test_softmax (gconstpointer data)
{
  int use_log = GPOINTER_TO_INT (data);
  g_autoptr (GRand) rand = g_rand_new_with_seed (150 + use_log);

  for (size_t s = 0; s < G_N_ELEMENTS (row_shapes); s++) {
    int rows = row_shapes[s][0], cols = row_shapes[s][1];
    size_t n = (size_t) rows * cols;
    /* A float sum of cols exponentials, each within a few ulp: cols + 4
     * roundings; log-softmax subtracts a log of that sum from values up
     * to the row's range (8 here) in size, hence the extra 8. */
    double k = cols + 4 + (use_log ? 8 : 0);
    for (int big = 0; big < 2; big++) {
      g_autofree float *x = logits (rand, rows, cols, big ? 1000.0f : 0.0f);
      g_autofree float *y_fast = nan_floats (n), *y_ref = nan_floats (n);
      fast->softmax_forward (fast, x, y_fast, rows, cols, use_log);
      ref->softmax_forward (ref, x, y_ref, rows, cols, use_log);
      if (!check_rel (big ? "y (logits near 1000)" : "y", y_fast, y_ref, n, k))
        return;
    }

    g_autofree float *x = logits (rand, rows, cols, 0.0f);
    g_autofree float *y = g_new (float, n);
    g_autofree float *dy = random_floats (rand, n, -1, 1);
    ref->softmax_forward (ref, x, y, rows, cols, use_log);
    g_autofree float *dx_fast = nan_floats (n), *dx_ref = nan_floats (n);
    fast->softmax_backward (fast, y, dy, dx_fast, rows, cols, use_log);
    ref->softmax_backward (ref, y, dy, dx_ref, rows, cols, use_log);
    if (!check_rel ("dx", dx_fast, dx_ref, n, cols + 4))
      return;
  }
}

/* ---- losses ---- */

typedef enum
{
  LOSS_SOFTMAX_XENT,
  LOSS_NLL,
  LOSS_MSE,
} LossKind;

static void
run_loss (LamBackend *be, LossKind kind, const float *x, const int32_t *labels, int rows,
          int cols, float grad_scale, float *dx, float *loss_acc)
{
  switch (kind) {
  case LOSS_SOFTMAX_XENT:
    be->softmax_xent (be, x, labels, rows, cols, grad_scale, dx, loss_acc);
    break;
  case LOSS_NLL:
    be->nll (be, x, labels, rows, cols, grad_scale, dx, loss_acc);
    break;
  case LOSS_MSE:
    be->mse (be, x, labels, rows, cols, grad_scale, dx, loss_acc);
    break;
  default:
    g_assert_not_reached ();
  }
}

static void
test_loss (gconstpointer data)
{
  LossKind kind = GPOINTER_TO_INT (data);
  g_autoptr (GRand) rand = g_rand_new_with_seed (160 + kind);

  for (size_t s = 0; s < G_N_ELEMENTS (row_shapes); s++) {
    int rows = row_shapes[s][0], cols = row_shapes[s][1];
    size_t n = (size_t) rows * cols;
    float grad_scale = 1.0f / (float) rows;
    g_autofree float *x = logits (rand, rows, cols, 0.0f);
    if (kind == LOSS_NLL)
      ref->softmax_forward (ref, x, x, rows, cols, TRUE);
    g_autofree int32_t *labels = random_labels (rand, rows, cols);
    g_autofree float *dx_fast = nan_floats (n), *dx_ref = nan_floats (n);
    float loss_fast = 2.5f, loss_ref = 2.5f;
    run_loss (fast, kind, x, labels, rows, cols, grad_scale, dx_fast, &loss_fast);
    run_loss (ref, kind, x, labels, rows, cols, grad_scale, dx_ref, &loss_ref);

    /* The gradient: a softmax (cols + 4 roundings) less the one-hot label,
     * or a scaled difference (a few roundings). */
    if (!check_rel ("dx", dx_fast, dx_ref, n, kind == LOSS_MSE ? 4 : cols + 4))
      return;
    /* The loss: per row, a log of a float sum of cols terms next to values
     * of the logits' size (up to 8 apart) or a float sum of cols squares;
     * summed over rows. */
    double row_mag = kind == LOSS_NLL ? 8.0 : kind == LOSS_MSE ? 25.0 : 8.0 + log (cols);
    double tol = (cols + 4) * EPS * rows * row_mag + EPS * fabs (loss_ref);
    if (!(fabs ((double) loss_fast - loss_ref) <= tol)) {
      g_test_fail_printf ("loss %d×%d: fast %.9g, reference %.9g (tolerance %.3g)", rows, cols,
                          loss_fast, loss_ref, tol);
      return;
    }
  }
}

/* Regression losses: the fast ops against the reference, on predictions
 * and targets of the same scale; for l1 some exact ties, whose gradient is
 * 0 in both. */
static void
test_loss_targets (gconstpointer data)
{
  gboolean l1 = GPOINTER_TO_INT (data);
  g_autoptr (GRand) rand = g_rand_new_with_seed (165 + l1);

  for (size_t s = 0; s < G_N_ELEMENTS (row_shapes); s++) {
    int rows = row_shapes[s][0], cols = row_shapes[s][1];
    size_t n = (size_t) rows * cols;
    float grad_scale = 1.0f / (float) rows;
    g_autofree float *x = logits (rand, rows, cols, 0.0f);
    g_autofree float *t = logits (rand, rows, cols, 0.5f);
    for (size_t i = 0; i < n; i += 7)
      x[i] = t[i];
    g_autofree float *dx_fast = nan_floats (n), *dx_ref = nan_floats (n);
    float loss_fast = 2.5f, loss_ref = 2.5f;
    LamBackend *bes[2] = { fast, ref };
    float *dxs[2] = { dx_fast, dx_ref };
    float *losses[2] = { &loss_fast, &loss_ref };
    for (int b = 0; b < 2; b++)
      if (l1)
        bes[b]->l1_targets (bes[b], x, t, rows, cols, grad_scale, dxs[b], losses[b]);
      else
        bes[b]->mse_targets (bes[b], x, t, rows, cols, grad_scale, dxs[b], losses[b]);

    /* The gradient: a difference and a scale (a few roundings); l1's is a
     * sign times a scale, the same in both. */
    if (!check_rel ("dx", dx_fast, dx_ref, n, 4))
      return;
    /* The loss: per row a float sum of cols terms each below 81 (squares)
     * or 9, summed over rows. */
    double row_mag = l1 ? 9.0 : 81.0;
    double tol = (cols + 4) * EPS * rows * row_mag + EPS * fabs (loss_ref);
    if (!(fabs ((double) loss_fast - loss_ref) <= tol)) {
      g_test_fail_printf ("loss %d×%d: fast %.9g, reference %.9g (tolerance %.3g)", rows, cols,
                          loss_fast, loss_ref, tol);
      return;
    }
  }
}

/* ---- dropout ---- */

static void
test_dropout (void)
{
  static const size_t sizes[] = { 1, 33, 100001 };
  static const double ps[] = { 0.0, 0.3, 0.5, 0.9, 1.0 };
  g_autoptr (GRand) rand = g_rand_new_with_seed (170);

  for (size_t s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (size_t q = 0; q < G_N_ELEMENTS (ps); q++) {
      size_t n = sizes[s];
      g_autofree float *x = random_floats (rand, n, -1, 1);
      g_autofree float *dy = random_floats (rand, n, -1, 1);
      g_autofree float *y_fast = nan_floats (n), *y_ref = nan_floats (n);
      g_autofree float *m_fast = nan_floats (n), *m_ref = nan_floats (n);
      uint64_t seed = 1000 + s * 10 + q;
      fast->dropout_forward (fast, x, y_fast, m_fast, n, ps[q], seed);
      ref->dropout_forward (ref, x, y_ref, m_ref, n, ps[q], seed);
      // Both draw lam_hash_uniform: the same mask, the same products.
      if (!check_same ("mask", m_fast, m_ref, n * sizeof (float)) ||
          !check_same ("y", y_fast, y_ref, n * sizeof (float)))
        return;
      g_autofree float *dx_fast = nan_floats (n), *dx_ref = nan_floats (n);
      fast->dropout_backward (fast, dy, m_ref, dx_fast, n);
      ref->dropout_backward (ref, dy, m_ref, dx_ref, n);
      if (!check_same ("dx", dx_fast, dx_ref, n * sizeof (float)))
        return;
    }
}

/* ---- batch normalisation ---- */

/* Statistics over (outer, channels, inner) in training and evaluation,
 * with BatchNorm1d's inner = 1. The fast backend sums planes in float
 * lanes and folds constants into one multiply-add; the tolerance allows a
 * float sum of a plane's values and a few roundings more. */
static void
test_batchnorm (gconstpointer data)
{
  gboolean training = GPOINTER_TO_INT (data);
  g_autoptr (GRand) rand = g_rand_new_with_seed (175 + training);

  for (int round = 0; round < 12; round++) {
    int outer = odd_size (rand), channels = odd_size (rand);
    int inner = round % 3 == 0 ? 1 : odd_size (rand);
    if (training && outer * inner < 2)
      outer = 3;
    size_t n = (size_t) outer * channels * inner;
    double k = 16 + (double) inner / 8 + outer;
    g_autofree float *x = random_floats (rand, n, -2, 3);
    g_autofree float *dy = random_floats (rand, n, -1, 1);
    g_autofree float *gamma = random_floats (rand, channels, 0.5, 2);
    g_autofree float *beta = random_floats (rand, channels, -1, 1);
    g_autofree float *mean0 = random_floats (rand, channels, -0.5, 0.5);
    g_autofree float *var0 = random_floats (rand, channels, 0.5, 2);
    g_autofree float *rm_fast = copy_floats (mean0, channels), *rm_ref = copy_floats (mean0, channels);
    g_autofree float *rv_fast = copy_floats (var0, channels), *rv_ref = copy_floats (var0, channels);
    float count_fast = 3, count_ref = 3;
    g_autofree float *saved_fast = nan_floats (2 * channels), *saved_ref = nan_floats (2 * channels);
    g_autofree float *y_fast = nan_floats (n), *y_ref = nan_floats (n);
    fast->batchnorm_forward (fast, x, gamma, beta, rm_fast, rv_fast, &count_fast, saved_fast,
                             y_fast, outer, channels, inner, training, 0.1, 1e-5);
    ref->batchnorm_forward (ref, x, gamma, beta, rm_ref, rv_ref, &count_ref, saved_ref, y_ref,
                            outer, channels, inner, training, 0.1, 1e-5);
    g_assert_cmpfloat (count_fast, ==, training ? 4 : 3);
    g_assert_cmpfloat (count_fast, ==, count_ref);
    if (!check_rel ("running mean", rm_fast, rm_ref, channels, k) ||
        !check_rel ("running var", rv_fast, rv_ref, channels, k) ||
        !check_rel ("saved", saved_fast, saved_ref, 2 * channels, k) ||
        !check_rel ("y", y_fast, y_ref, n, k))
      return;

    g_autofree float *dg_fast = random_floats (rand, channels, -1, 1);
    g_autofree float *dg_ref = copy_floats (dg_fast, channels);
    g_autofree float *db_fast = random_floats (rand, channels, -1, 1);
    g_autofree float *db_ref = copy_floats (db_fast, channels);
    g_autofree float *dx_fast = nan_floats (n), *dx_ref = nan_floats (n);
    fast->batchnorm_backward (fast, x, dy, gamma, saved_ref, dg_fast, db_fast, dx_fast, outer,
                              channels, inner, training);
    ref->batchnorm_backward (ref, x, dy, gamma, saved_ref, dg_ref, db_ref, dx_ref, outer, channels,
                             inner, training);
    if (!check_rel ("dgamma", dg_fast, dg_ref, channels, k * 4) ||
        !check_rel ("dbeta", db_fast, db_ref, channels, k * 4) ||
        !check_rel ("dx", dx_fast, dx_ref, n, k * 4))
      return;
    /* Without dx, the parameter gradients alone. */
    fast->batchnorm_backward (fast, x, dy, gamma, saved_ref, dg_fast, db_fast, NULL, outer,
                              channels, inner, training);
  }
}

/* ---- argmax and counts ---- */

static void
test_argmax (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (180);

  for (size_t s = 0; s < G_N_ELEMENTS (row_shapes); s++) {
    int rows = row_shapes[s][0], cols = row_shapes[s][1];
    size_t n = (size_t) rows * cols;
    // Small integers: most rows hold ties for their maximum.
    g_autofree float *x = g_new (float, n);
    for (size_t i = 0; i < n; i++)
      x[i] = (float) g_rand_int_range (rand, -3, 4);
    g_autofree int32_t *labels = random_labels (rand, rows, cols);
    g_autofree int32_t *out_fast = g_new (int32_t, rows), *out_ref = g_new (int32_t, rows);
    fast->argmax_rows (fast, x, rows, cols, out_fast);
    ref->argmax_rows (ref, x, rows, cols, out_ref);
    if (!check_same ("argmax", out_fast, out_ref, rows * sizeof (int32_t)))
      return;
    // Label half the rows with their argmax.
    for (int r = 0; r < rows; r += 2)
      labels[r] = out_ref[r];
    float correct_fast = 1.0f, correct_ref = 1.0f;
    fast->count_correct (fast, x, labels, rows, cols, &correct_fast);
    ref->count_correct (ref, x, labels, rows, cols, &correct_ref);
    g_assert_cmpfloat (correct_fast, ==, correct_ref);
    g_assert_cmpfloat (correct_ref, >=, 1.0f + (rows + 1) / 2);
  }
}

/* ---- optimizers ---- */

typedef struct
{
  float lr, momentum, dampening, weight_decay;
  int nesterov;
} SgdCase;

static const SgdCase sgd_cases[] = {
  { 0.1f, 0.0f, 0.0f, 0.0f, 0 },  { 0.1f, 0.9f, 0.0f, 0.0f, 0 },
  { 0.1f, 0.9f, 0.3f, 0.0f, 0 },  { 0.1f, 0.9f, 0.0f, 0.0f, 1 },
  { 0.1f, 0.0f, 0.0f, 0.05f, 0 }, { 0.05f, 0.8f, 0.1f, 0.05f, 1 },
};
static const char *const sgd_names[] = {
  "plain", "momentum", "momentum-dampening", "nesterov", "weight-decay", "nesterov-weight-decay",
};

static const size_t optim_sizes[] = { 1, 33, 1001, (1 << 18) + 5 };

/* Three steps from the same state on both; each step's update is a few
 * float operations (at most 8 roundings). */
static void
test_sgd (gconstpointer data)
{
  const SgdCase *sc = data;
  g_autoptr (GRand) rand = g_rand_new_with_seed (190);

  for (size_t s = 0; s < G_N_ELEMENTS (optim_sizes); s++) {
    size_t n = optim_sizes[s];
    g_autofree float *p = random_floats (rand, n, -1, 1);
    g_autofree float *buf = g_new0 (float, n);
    for (int step = 0; step < 3; step++) {
      g_autofree float *g = random_floats (rand, n, -1, 1);
      g_autofree float *p_fast = copy_floats (p, n), *buf_fast = copy_floats (buf, n);
      gboolean momentum = sc->momentum != 0.0f;
      fast->sgd_update (fast, p_fast, g, momentum ? buf_fast : NULL, n, sc->lr, sc->momentum,
                        sc->dampening, sc->weight_decay, sc->nesterov, step == 0);
      ref->sgd_update (ref, p, g, momentum ? buf : NULL, n, sc->lr, sc->momentum, sc->dampening,
                       sc->weight_decay, sc->nesterov, step == 0);
      if (!check_rel ("params", p_fast, p, n, 8) ||
          (momentum && !check_rel ("momentum_buf", buf_fast, buf, n, 8)))
        return;
    }
  }
}

typedef struct
{
  float lr, beta1, beta2, eps, weight_decay;
  int decoupled;
} AdamCase;

static const AdamCase adam_cases[] = {
  { 0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 0 },
  { 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f, 0 },
  { 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f, 1 },
  { 0.1f, 0.5f, 0.9f, 1e-3f, 0.01f, 1 },
};
static const char *const adam_names[] = {
  "adam/plain", "adam/weight-decay", "adamw/plain", "adamw/large-lr",
};

static void
test_adam (gconstpointer data)
{
  const AdamCase *ac = data;
  g_autoptr (GRand) rand = g_rand_new_with_seed (200);

  for (size_t s = 0; s < G_N_ELEMENTS (optim_sizes); s++) {
    size_t n = optim_sizes[s];
    g_autofree float *p = random_floats (rand, n, -1, 1);
    g_autofree float *m = g_new0 (float, n), *v = g_new0 (float, n);
    for (int step = 1; step <= 3; step++) {
      g_autofree float *g = random_floats (rand, n, -1, 1);
      g_autofree float *p_fast = copy_floats (p, n);
      g_autofree float *m_fast = copy_floats (m, n), *v_fast = copy_floats (v, n);
      fast->adam_update (fast, p_fast, g, m_fast, v_fast, n, ac->lr, ac->beta1, ac->beta2,
                         ac->eps, ac->weight_decay, ac->decoupled, step);
      ref->adam_update (ref, p, g, m, v, n, ac->lr, ac->beta1, ac->beta2, ac->eps,
                        ac->weight_decay, ac->decoupled, step);
      /* m and v: two products and a sum; the parameter: a quotient of a
       * square root besides, with the step size rounded to float. */
      if (!check_rel ("m", m_fast, m, n, 4) || !check_rel ("v", v_fast, v, n, 4) ||
          !check_rel ("params", p_fast, p, n, 16))
        return;
    }
  }
}

/* ---- whole training steps ---- */

typedef struct
{
  const char *spec;
  LamOptimizerKind optimizer;
  int batch, steps;
} ModelCase;

static const ModelCase model_cases[] = {
  { "input=1x9x9,flatten,linear:17,relu,dropout:0.25,linear:7,tanh,linear:5", LAM_OPTIMIZER_SGD,
    13, 4 },
  { "input=1x12x12,conv2d:6:3:p1,relu,maxpool2d:2,conv2d:8:3,sigmoid,avgpool2d:2,flatten,"
    "linear:10",
    LAM_OPTIMIZER_ADAM, 7, 4 },
  { "input=3x9x9,conv2d:4:3:s2:p1,leaky_relu:0.1,flatten,linear:12,linear:5,log_softmax",
    LAM_OPTIMIZER_ADAMW, 5, 3 },
};
static const char *const model_names[] = { "mlp-sgd", "cnn-adam", "strided-adamw" };

/* The same model (same seed, so the same initial parameters), batches and
 * optimizer on the fast backend and the reference: forward, loss, backward
 * and a step, a few times. Each step's summed loss and the parameters after
 * it agree to float tolerance: 1e-4 of their size, which a few steps of
 * ops each within some tens of ulp of the reference stay well inside. */
static void
test_model (gconstpointer data)
{
  const ModelCase *mc = data;
  const double rtol = 1e-4;
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (mc->spec, &error);
  g_assert_no_error (error);
  LamModel *models[2];
  LamOptimizer *optims[2];
  LamBackend *both[2] = { fast, ref };
  LamOptimizerConfig config = lam_optimizer_config_default (mc->optimizer);
  if (mc->optimizer == LAM_OPTIMIZER_SGD) {
    config.lr = 0.05;
    config.momentum = 0.9;
    config.nesterov = TRUE;
  }
  for (int b = 0; b < 2; b++) {
    models[b] = lam_model_new (spec, both[b], mc->batch, 42, &error);
    g_assert_no_error (error);
    optims[b] = lam_optimizer_new (both[b], &config, lam_model_get_n_params (models[b]), &error);
    g_assert_no_error (error);
  }
  size_t n_params = lam_model_get_n_params (models[0]);
  int n_classes = lam_model_get_n_classes (models[0]);
  size_t in_n = lam_shape_numel (&lam_model_get_plan (models[0])->input) * (size_t) mc->batch;
  float *params[2] = { g_new (float, n_params), g_new (float, n_params) };
  g_autoptr (GRand) rand = g_rand_new_with_seed (210);
  float *loss[2] = { fast->alloc (fast, sizeof (float)), ref->alloc (ref, sizeof (float)) };
  gboolean ok = TRUE;

  for (int step = 0; step < mc->steps && ok; step++) {
    g_autofree float *images = random_floats (rand, in_n, -1, 2);
    g_autofree int32_t *labels = random_labels (rand, mc->batch, n_classes);
    for (int b = 0; b < 2; b++) {
      *loss[b] = 0.0f;
      memcpy (lam_model_get_input (models[b]), images, in_n * sizeof (float));
      lam_model_forward (models[b], mc->batch, TRUE, 1000 + step);
      lam_model_loss (models[b], lam_model_spec_get_loss (spec), labels, mc->batch, loss[b]);
      lam_model_backward (models[b], mc->batch);
      lam_optimizer_step (optims[b], lam_model_get_params (models[b]),
                          lam_model_get_grads (models[b]));
      lam_model_get_params_host (models[b], params[b]);
    }
    g_autofree char *what = g_strdup_printf ("loss of step %d", step);
    if (!(fabs ((double) *loss[0] - *loss[1]) <= rtol * fabs ((double) *loss[1]))) {
      g_test_fail_printf ("%s: fast %.9g, reference %.9g", what, *loss[0], *loss[1]);
      ok = FALSE;
    }
    g_autofree char *what_p = g_strdup_printf ("params after step %d", step);
    ok = ok && check_rel (what_p, params[0], params[1], n_params, rtol / EPS);
  }
  for (int b = 0; b < 2; b++) {
    both[b]->free (both[b], loss[b]);
    lam_optimizer_free (optims[b]);
    lam_model_free (models[b]);
    g_free (params[b]);
  }
}

/* ---- registration ---- */

typedef struct
{
  int fast;
  GTestDataFunc func;
  GTestFunc plain;
  gconstpointer data;
} Variant;

static void
run_variant (gconstpointer data)
{
  const Variant *variant = data;
  fast = fasts[variant->fast];
  if (variant->func != NULL)
    variant->func (variant->data);
  else
    variant->plain ();
}

/* Adds "/backend-ref/<fast backend><path>" for each fast backend. */
static void
add (const char *path, gconstpointer data, GTestDataFunc func, GTestFunc plain)
{
  static const char *const names[N_FAST] = {
    [FAST_DEFAULT] = "default",
    [FAST_GENERIC] = "generic-loops",
    [FAST_THREADS] = "two-threads",
  };
  for (int f = 0; f < N_FAST; f++) {
    Variant *variant = g_new0 (Variant, 1);
    *variant = (Variant) { f, func, plain, data };
    g_autofree char *full = g_strdup_printf ("/backend-ref/%s%s", names[f], path);
    g_test_add_data_func_full (full, variant, run_variant, g_free);
  }
}

static void
add_cases (const char *prefix, const void *cases, size_t size, size_t count,
           const char *const *names, GTestDataFunc func)
{
  for (size_t i = 0; i < count; i++) {
    g_autofree char *path = g_strconcat (prefix, "/", names[i], NULL);
    add (path, (const char *) cases + i * size, func, NULL);
  }
}

#define ADD_CASES(prefix, cases, names, func)                                                     \
  G_STATIC_ASSERT (G_N_ELEMENTS (cases) == G_N_ELEMENTS (names));                                   \
  add_cases (prefix, cases, sizeof (cases[0]), G_N_ELEMENTS (cases), names, func)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  /* The environment's fast backend, one kept to the plain loops and one
   * with two threads; the variables are read when a backend is made. */
  fasts[FAST_DEFAULT] = lam_backend_cpu_new ();
  g_setenv ("LAMINA_CPU_ISA", "generic", TRUE);
  g_setenv ("LAMINA_NUM_THREADS", "1", TRUE);
  fasts[FAST_GENERIC] = lam_backend_cpu_new ();
  g_unsetenv ("LAMINA_CPU_ISA");
  g_setenv ("LAMINA_NUM_THREADS", "2", TRUE);
  fasts[FAST_THREADS] = lam_backend_cpu_new ();
  ref = lam_backend_ref_new ();

  add ("/tables-complete", NULL, NULL, test_tables_complete);
  add ("/fill", NULL, NULL, test_fill);
  add ("/gemm/plain", GINT_TO_POINTER (0), test_gemm, NULL);
  add ("/gemm/trans-a", GINT_TO_POINTER (1), test_gemm, NULL);
  add ("/gemm/trans-b", GINT_TO_POINTER (2), test_gemm, NULL);
  add ("/gemm/trans-ab", GINT_TO_POINTER (3), test_gemm, NULL);
  add ("/bias", NULL, NULL, test_bias);
  add ("/activation/relu", GINT_TO_POINTER (LAM_ACTIVATION_RELU), test_activation, NULL);
  add ("/activation/leaky-relu", GINT_TO_POINTER (LAM_ACTIVATION_LEAKY_RELU), test_activation,
       NULL);
  add ("/activation/sigmoid", GINT_TO_POINTER (LAM_ACTIVATION_SIGMOID), test_activation, NULL);
  add ("/activation/tanh", GINT_TO_POINTER (LAM_ACTIVATION_TANH), test_activation, NULL);
  ADD_CASES ("/conv2d/forward", conv_cases, conv_names, test_conv2d_forward);
  ADD_CASES ("/conv2d/backward", conv_cases, conv_names, test_conv2d_backward);
  ADD_CASES ("/conv2d/maxpool2", conv_cases, conv_names, test_conv2d_maxpool2);
  ADD_CASES ("/pool", pool_cases, pool_names, test_pool);
  add ("/batchnorm/training", GINT_TO_POINTER (1), test_batchnorm, NULL);
  add ("/batchnorm/evaluation", GINT_TO_POINTER (0), test_batchnorm, NULL);
  add ("/softmax", GINT_TO_POINTER (0), test_softmax, NULL);
  add ("/log-softmax", GINT_TO_POINTER (1), test_softmax, NULL);
  add ("/loss/softmax-xent", GINT_TO_POINTER (LOSS_SOFTMAX_XENT), test_loss, NULL);
  add ("/loss/nll", GINT_TO_POINTER (LOSS_NLL), test_loss, NULL);
  add ("/loss/mse", GINT_TO_POINTER (LOSS_MSE), test_loss, NULL);
  add ("/loss/mse-targets", GINT_TO_POINTER (FALSE), test_loss_targets, NULL);
  add ("/loss/l1-targets", GINT_TO_POINTER (TRUE), test_loss_targets, NULL);
  add ("/dropout", NULL, NULL, test_dropout);
  add ("/argmax-and-count", NULL, NULL, test_argmax);
  ADD_CASES ("/sgd", sgd_cases, sgd_names, test_sgd);
  ADD_CASES ("", adam_cases, adam_names, test_adam);
  ADD_CASES ("/model", model_cases, model_names, test_model);

  int status = g_test_run ();
  for (int f = 0; f < N_FAST; f++)
    fasts[f]->destroy (fasts[f]);
  ref->destroy (ref);
  return status;
}
