/* test-gpu-parity.c: every op of the CUDA backend against the CPU backend
 * (the reference) on the same inputs, backward and optimizer ops included,
 * then whole training steps of an MLP and a small CNN on both.
 *
 * Where no GPU answers, or Lamina was built without the module, every case
 * is skipped with the reason, so the skip shows in the test count.
 *
 * Tolerances scale with the values compared, as llm.c's checks do: an
 * element passes when |cuda - cpu| <= rtol * (|cpu| + mean |cpu|), since
 * the GPU sums in another order and a sum near zero carries the rounding
 * of its large terms. Copies, argmax, dropout masks and counts must agree
 * bit for bit.
 */
#include <glib.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "lam-backend.h"
#include "lam-device.h"
#include "lam-model.h"
#include "lam-optim.h"

#define OP_RTOL 1e-4
#define MODEL_RTOL 1e-3

static LamBackend *cpu;
static LamBackend *gpu;     /* NULL when no GPU answered */
static char *skip_reason;   /* why, when gpu is NULL */

#define REQUIRE_GPU()                                                                              \
  do {                                                                                             \
    if (gpu == NULL) {                                                                             \
      g_test_skip (skip_reason);                                                                   \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

/* ---- checks ---- */

static gboolean
check_parity (const char *what, const float *got, const float *want, size_t n, double rtol)
{
  double scale = 0.0;
  for (size_t i = 0; i < n; i++)
    scale += fabs ((double) want[i]);
  scale = n > 0 ? scale / (double) n : 0.0;

  for (size_t i = 0; i < n; i++) {
    if (isnan (want[i]) && isnan (got[i]))
      continue;
    double tol = rtol * (fabs ((double) want[i]) + scale);
    if (!(fabs ((double) got[i] - (double) want[i]) <= tol)) {
      g_test_fail_printf ("%s[%zu]: cuda %.9g, cpu %.9g (tolerance %.3g)", what, i, got[i],
                          want[i], tol);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
check_same_bytes (const char *what, const void *got, const void *want, size_t bytes)
{
  if (bytes == 0 || memcmp (got, want, bytes) == 0)
    return TRUE;
  const unsigned char *g = got, *w = want;
  size_t i = 0;
  while (g[i] == w[i])
    i++;
  if (bytes % 4 == 0) {
    gint32 gi, wi;
    float gf, wf;
    size_t at = i / 4 * 4;
    memcpy (&gi, g + at, 4);
    memcpy (&wi, w + at, 4);
    memcpy (&gf, g + at, 4);
    memcpy (&wf, w + at, 4);
    g_test_fail_printf ("%s[%zu] differs: cuda %d (%.9g), cpu %d (%.9g)", what, at / 4, gi, gf,
                        wi, wf);
  } else {
    g_test_fail_printf ("%s: byte %zu differs", what, i);
  }
  return FALSE;
}

/* ---- one buffer on both backends ---- */

typedef struct
{
  void *c; /* on the CPU backend */
  void *g; /* on the CUDA backend */
  size_t bytes;
} Twin;

/* Both copies hold `host` (bytes), or zeros when host is NULL. */
static Twin
twin_new (const void *host, size_t bytes)
{
  Twin t = { cpu->alloc (cpu, bytes), gpu->alloc (gpu, bytes), bytes };
  g_assert_nonnull (t.c);
  g_assert_nonnull (t.g);
  if (host != NULL) {
    cpu->upload (cpu, t.c, host, bytes);
    gpu->upload (gpu, t.g, host, bytes);
  }
  return t;
}

static Twin
twin_floats (const float *host, size_t n)
{
  return twin_new (host, n * sizeof (float));
}

static void
twin_free (Twin *t)
{
  cpu->free (cpu, t->c);
  gpu->free (gpu, t->g);
  t->c = t->g = NULL;
}

#define TC(t) ((float *) (t).c)
#define TG(t) ((float *) (t).g)

static gboolean
twin_close (const char *what, const Twin *t, double rtol)
{
  size_t n = t->bytes / sizeof (float);
  g_autofree float *want = g_new (float, MAX (n, 1));
  g_autofree float *got = g_new (float, MAX (n, 1));
  cpu->download (cpu, want, t->c, t->bytes);
  gpu->download (gpu, got, t->g, t->bytes);
  return check_parity (what, got, want, n, rtol);
}

static gboolean
twin_equal (const char *what, const Twin *t)
{
  g_autofree unsigned char *want = g_malloc (MAX (t->bytes, 1));
  g_autofree unsigned char *got = g_malloc (MAX (t->bytes, 1));
  cpu->download (cpu, want, t->c, t->bytes);
  gpu->download (gpu, got, t->g, t->bytes);
  return check_same_bytes (what, got, want, t->bytes);
}

static float *
random_floats (GRand *rand, size_t n, double lo, double hi)
{
  float *x = g_new (float, MAX (n, 1));
  for (size_t i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rand, lo, hi);
  return x;
}

static Twin
twin_random (GRand *rand, size_t n, double lo, double hi)
{
  g_autofree float *host = random_floats (rand, n, lo, hi);
  return twin_floats (host, n);
}

static Twin
twin_labels (GRand *rand, int rows, int cols)
{
  g_autofree gint32 *labels = g_new (gint32, MAX (rows, 1));
  for (int r = 0; r < rows; r++)
    labels[r] = g_rand_int_range (rand, 0, cols);
  return twin_new (labels, sizeof (gint32) * rows);
}

/* ---- the table ---- */

static void
test_open (void)
{
  REQUIRE_GPU ();
  g_assert_cmpint (gpu->abi_version, ==, LAM_BACKEND_ABI_VERSION);
  g_assert_cmpstr (gpu->name, ==, "cuda");
  g_assert_nonnull (strstr (gpu->device_name, "GiB, compute "));
  g_assert_true (g_str_has_suffix (gpu->device_name, ")"));

  /* Every op, including any the header gained since this test was written:
   * the function pointers from `alloc` to the end of the table. */
  typedef void (*AnyOp) (void);
  size_t first = offsetof (LamBackend, alloc);
  size_t n = (sizeof (LamBackend) - first) / sizeof (AnyOp);
  for (size_t i = 0; i < n; i++) {
    AnyOp op;
    memcpy (&op, (const char *) gpu + first + i * sizeof (AnyOp), sizeof op);
    if (op == NULL) {
      g_test_fail_printf ("op %zu of the CUDA backend's table is NULL", i);
      return;
    }
  }
}

/* ---- memory ---- */

static void
test_memory_roundtrip (void)
{
  REQUIRE_GPU ();
  /* Up to 12 MB: an upload larger than both staging halves together. */
  static const size_t sizes[] = { 0, 1, 3, 1000, 3 << 20 };
  g_autoptr (GRand) rand = g_rand_new_with_seed (1);

  for (size_t s = 0; s < G_N_ELEMENTS (sizes); s++) {
    size_t n = sizes[s], bytes = n * sizeof (float);
    float *a = gpu->alloc (gpu, bytes);
    float *b = gpu->alloc (gpu, bytes);
    g_assert_nonnull (a);
    g_assert_nonnull (b);

    g_autofree float *zeros = g_new0 (float, MAX (n, 1));
    g_autofree float *back = g_new (float, MAX (n, 1));
    memset (back, 0xff, n * sizeof (float));
    gpu->download (gpu, back, a, bytes);
    if (!check_same_bytes ("fresh allocation", back, zeros, bytes))
      return;

    g_autofree float *first = random_floats (rand, n, -1, 1);
    g_autofree float *second = random_floats (rand, n, -1, 1);
    /* Two uploads in a row reuse the staging halves while copies are in
     * flight; the host buffer is overwritten as soon as upload returns. */
    gpu->upload (gpu, a, first, bytes);
    g_autofree float *expected_first = g_memdup2 (first, MAX (bytes, 1));
    memset (first, 0, bytes);
    gpu->upload (gpu, b, second, bytes);
    gpu->download (gpu, back, a, bytes);
    if (!check_same_bytes ("first upload", back, expected_first, bytes))
      return;
    gpu->download (gpu, back, b, bytes);
    if (!check_same_bytes ("second upload", back, second, bytes))
      return;

    gpu->copy (gpu, b, a, bytes);
    gpu->synchronize (gpu);
    gpu->download (gpu, back, b, bytes);
    if (!check_same_bytes ("copy", back, expected_first, bytes))
      return;

    static const float values[] = { 2.5f, 0.0f, -0.0f };
    g_autofree float *filled = g_new (float, MAX (n, 1));
    for (size_t v = 0; v < G_N_ELEMENTS (values); v++) {
      for (size_t j = 0; j < n; j++)
        filled[j] = values[v];
      gpu->fill (gpu, a, n, values[v]);
      gpu->download (gpu, back, a, bytes);
      if (!check_same_bytes ("fill", back, filled, bytes))
        return;
    }

    gpu->free (gpu, a);
    gpu->free (gpu, b);
  }
  gpu->free (gpu, NULL);
}

static void
test_memory_alloc_huge (void)
{
  REQUIRE_GPU ();
  g_assert_null (gpu->alloc (gpu, (size_t) 1 << 62));
  g_assert_null (gpu->alloc (gpu, G_MAXSIZE));
  g_assert_null (gpu->alloc (gpu, G_MAXSIZE - 16));

  // Refusing is no lasting failure: the backend still works.
  float one = 1.0f, back = 0.0f;
  float *x = gpu->alloc (gpu, sizeof one);
  g_assert_nonnull (x);
  gpu->upload (gpu, x, &one, sizeof one);
  gpu->download (gpu, &back, x, sizeof back);
  g_assert_cmpfloat (back, ==, 1.0f);
  gpu->free (gpu, x);
}

/* ---- gemm ---- */

typedef struct
{
  int trans_a, trans_b;
} GemmCase;

static void
test_gemm (gconstpointer data)
{
  REQUIRE_GPU ();
  const GemmCase *gc = data;
  static const int shapes[][3] = {
    { 5, 7, 3 }, { 17, 9, 33 }, { 1, 4, 6 }, { 8, 1, 2 }, { 130, 70, 257 }, { 3, 4, 0 },
  };
  g_autoptr (GRand) rand = g_rand_new_with_seed (2);

  for (size_t s = 0; s < G_N_ELEMENTS (shapes); s++) {
    int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
    // Leading dimensions larger than the rows they hold, to catch a mix-up.
    int a_rows = gc->trans_a ? k : m, lda = (gc->trans_a ? m : k) + 3;
    int b_rows = gc->trans_b ? n : k, ldb = (gc->trans_b ? k : n) + 2;
    int ldc = n + 1;
    Twin a = twin_random (rand, (size_t) MAX (a_rows, 1) * lda, -1, 1);
    Twin b = twin_random (rand, (size_t) MAX (b_rows, 1) * ldb, -1, 1);
    Twin c = twin_random (rand, (size_t) m * ldc, -1, 1);

    cpu->gemm (cpu, gc->trans_a, gc->trans_b, m, n, k, 1.5f, TC (a), lda, TC (b), ldb, -0.5f,
               TC (c), ldc);
    gpu->gemm (gpu, gc->trans_a, gc->trans_b, m, n, k, 1.5f, TG (a), lda, TG (b), ldb, -0.5f,
               TG (c), ldc);
    g_autofree char *what = g_strdup_printf ("c (%dx%dx%d)", m, n, k);
    gboolean ok = twin_close (what, &c, OP_RTOL);
    twin_free (&a);
    twin_free (&b);
    twin_free (&c);
    if (!ok)
      return;
  }
}

static void
test_gemm_beta_zero (void)
{
  REQUIRE_GPU ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (3);
  int m = 4, n = 6, k = 5;
  Twin a = twin_random (rand, m * k, -1, 1);
  Twin b = twin_random (rand, k * n, -1, 1);
  g_autofree float *nans = g_new (float, m * n);
  for (int i = 0; i < m * n; i++)
    nans[i] = NAN;
  Twin c = twin_floats (nans, m * n);

  // beta == 0 must not read C: an uninitialised C full of NaN is overwritten.
  cpu->gemm (cpu, 0, 0, m, n, k, 1.0f, TC (a), k, TC (b), n, 0.0f, TC (c), n);
  gpu->gemm (gpu, 0, 0, m, n, k, 1.0f, TG (a), k, TG (b), n, 0.0f, TG (c), n);
  g_autofree float *got = g_new (float, m * n);
  gpu->download (gpu, got, c.g, c.bytes);
  for (int i = 0; i < m * n; i++)
    g_assert_false (isnan (got[i]));
  twin_close ("c", &c, OP_RTOL);
  twin_free (&a);
  twin_free (&b);
  twin_free (&c);
}

/* ---- bias ---- */

/* Planes below, at and above the 256 threads that sum a channel's;
 * channels of enough values to be summed in several blocks (unevenly, and
 * with planes below, at and above 256); a CIFAR-10 layer's; and more
 * channels than the CUDA backend has partial sums for. */
static const int bias_shapes[][3] = {
  { 3, 5, 6 },     { 4, 7, 1 },    { 1, 3, 13 },     { 64, 300, 1 },  { 16, 8, 196 },
  { 3, 4, 256 },   { 2, 3, 257 },  { 5, 2, 1000 },   { 64, 3, 1024 }, { 37, 5, 300 },
  { 128, 4, 100 }, { 64, 2, 256 }, { 64, 32, 1024 }, { 2, 70000, 4 },
};

static void
test_bias_add (void)
{
  REQUIRE_GPU ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (4);

  for (size_t s = 0; s < G_N_ELEMENTS (bias_shapes); s++) {
    int outer = bias_shapes[s][0], channels = bias_shapes[s][1], inner = bias_shapes[s][2];
    Twin y = twin_random (rand, (size_t) outer * channels * inner, -1, 1);
    Twin bias = twin_random (rand, channels, -1, 1);
    cpu->bias_add (cpu, TC (y), TC (bias), outer, channels, inner);
    gpu->bias_add (gpu, TG (y), TG (bias), outer, channels, inner);
    gboolean ok = twin_close ("y", &y, OP_RTOL);
    twin_free (&y);
    twin_free (&bias);
    if (!ok)
      return;
  }
}

static void
test_bias_backward (void)
{
  REQUIRE_GPU ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (5);

  for (size_t s = 0; s < G_N_ELEMENTS (bias_shapes); s++) {
    int outer = bias_shapes[s][0], channels = bias_shapes[s][1], inner = bias_shapes[s][2];
    Twin dy = twin_random (rand, (size_t) outer * channels * inner, -1, 1);
    // Non-zero to start with: parameter gradients accumulate.
    g_autofree float *start = random_floats (rand, channels, 1, 2);
    Twin dbias = twin_floats (start, channels);
    cpu->bias_backward (cpu, TC (dy), TC (dbias), outer, channels, inner);
    gpu->bias_backward (gpu, TG (dy), TG (dbias), outer, channels, inner);
    gboolean ok = twin_close ("dbias", &dbias, OP_RTOL);
    /* The GPU adds its partial sums in a fixed order: once more from the
     * same start gives the same bits. */
    Twin again = twin_floats (start, channels);
    gpu->bias_backward (gpu, TG (dy), TG (again), outer, channels, inner);
    g_autofree float *first = g_new (float, channels), *second = g_new (float, channels);
    gpu->download (gpu, first, TG (dbias), channels * sizeof (float));
    gpu->download (gpu, second, TG (again), channels * sizeof (float));
    ok = ok && check_same_bytes ("dbias run twice", second, first, channels * sizeof (float));
    twin_free (&again);
    twin_free (&dy);
    twin_free (&dbias);
    if (!ok)
      return;
  }
}

/* ---- activations ---- */

typedef struct
{
  LamActivation kind;
  float alpha;
} ActivationCase;

static void
test_activation (gconstpointer data)
{
  REQUIRE_GPU ();
  const ActivationCase *ac = data;
  g_autoptr (GRand) rand = g_rand_new_with_seed (6);
  size_t n = 100003;
  Twin x = twin_random (rand, n, -6, 6);
  Twin y = twin_new (NULL, n * sizeof (float));
  Twin dy = twin_random (rand, n, -1, 1);
  Twin dx = twin_new (NULL, n * sizeof (float));

  // x -> y
  cpu->activation_forward (cpu, ac->kind, ac->alpha, TC (x), TC (y), n);
  gpu->activation_forward (gpu, ac->kind, ac->alpha, TG (x), TG (y), n);
  if (twin_close ("y", &y, OP_RTOL)) {
    // y, dy -> dx
    cpu->activation_backward (cpu, ac->kind, ac->alpha, TC (x), TC (y), TC (dy), TC (dx), n);
    gpu->activation_backward (gpu, ac->kind, ac->alpha, TG (x), TG (y), TG (dy), TG (dx), n);
    if (twin_close ("dx", &dx, OP_RTOL)) {
      // In place: dx aliasing dy, then y aliasing x.
      cpu->activation_backward (cpu, ac->kind, ac->alpha, TC (x), TC (y), TC (dy), TC (dy), n);
      gpu->activation_backward (gpu, ac->kind, ac->alpha, TG (x), TG (y), TG (dy), TG (dy), n);
      if (twin_close ("dx in place", &dy, OP_RTOL)) {
        cpu->activation_forward (cpu, ac->kind, ac->alpha, TC (x), TC (x), n);
        gpu->activation_forward (gpu, ac->kind, ac->alpha, TG (x), TG (x), n);
        twin_close ("y in place", &x, OP_RTOL);
      }
    }
  }
  twin_free (&x);
  twin_free (&y);
  twin_free (&dy);
  twin_free (&dx);
}

/* ---- convolution ---- */

typedef struct
{
  int batch, c, h, w, kh, kw, stride, pad, out_c;
} ConvCase;

static int
conv_out (int size, int k, int stride, int pad)
{
  return (size + 2 * pad - k) / stride + 1;
}

/* The scratch the layer plans, (c*kh*kw + out_c) * oh*ow per image, for
 * `images` images: with 1 the CUDA backend works an image at a time. */
static size_t
conv_scratch (const ConvCase *cc, int images)
{
  int oh = conv_out (cc->h, cc->kh, cc->stride, cc->pad);
  int ow = conv_out (cc->w, cc->kw, cc->stride, cc->pad);
  return ((size_t) cc->c * cc->kh * cc->kw + cc->out_c) * oh * ow * images;
}

static void
test_conv2d_forward (gconstpointer data)
{
  REQUIRE_GPU ();
  const ConvCase *cc = data;
  g_autoptr (GRand) rand = g_rand_new_with_seed (11);
  int oh = conv_out (cc->h, cc->kh, cc->stride, cc->pad);
  int ow = conv_out (cc->w, cc->kw, cc->stride, cc->pad);
  size_t y_n = (size_t) cc->batch * cc->out_c * oh * ow;
  Twin x = twin_random (rand, (size_t) cc->batch * cc->c * cc->h * cc->w, -1, 1);
  Twin weight = twin_random (rand, (size_t) cc->out_c * cc->c * cc->kh * cc->kw, -0.5, 0.5);
  Twin bias = twin_random (rand, cc->out_c, -1, 1);
  Twin y = twin_new (NULL, y_n * sizeof (float));

  for (int variant = 0; variant < 3; variant++) {
    /* Scratch for the whole batch with the bias, for one image at a time
     * with the bias, and for the whole batch without it. */
    size_t scratch_n = conv_scratch (cc, variant == 1 ? 1 : cc->batch);
    gboolean with_bias = variant != 2;
    Twin scratch = twin_new (NULL, scratch_n * sizeof (float));
    cpu->conv2d_forward (cpu, TC (x), TC (weight), with_bias ? TC (bias) : NULL, TC (y),
                         cc->batch, cc->c, cc->h, cc->w, cc->out_c, cc->kh, cc->kw, cc->stride,
                         cc->pad, TC (scratch), scratch_n);
    gpu->conv2d_forward (gpu, TG (x), TG (weight), with_bias ? TG (bias) : NULL, TG (y),
                         cc->batch, cc->c, cc->h, cc->w, cc->out_c, cc->kh, cc->kw, cc->stride,
                         cc->pad, TG (scratch), scratch_n);
    static const char *const names[] = { "y", "y (an image at a time)", "y (no bias)" };
    gboolean ok = twin_close (names[variant], &y, OP_RTOL);
    twin_free (&scratch);
    if (!ok)
      break;
  }
  twin_free (&x);
  twin_free (&weight);
  twin_free (&bias);
  twin_free (&y);
}

static void
test_conv2d_backward (gconstpointer data)
{
  REQUIRE_GPU ();
  const ConvCase *cc = data;
  g_autoptr (GRand) rand = g_rand_new_with_seed (12);
  int oh = conv_out (cc->h, cc->kh, cc->stride, cc->pad);
  int ow = conv_out (cc->w, cc->kw, cc->stride, cc->pad);
  size_t x_n = (size_t) cc->batch * cc->c * cc->h * cc->w;
  size_t w_n = (size_t) cc->out_c * cc->c * cc->kh * cc->kw;
  Twin x = twin_random (rand, x_n, -1, 1);
  Twin weight = twin_random (rand, w_n, -0.5, 0.5);
  Twin dy = twin_random (rand, (size_t) cc->batch * cc->out_c * oh * ow, -1, 1);
  // Parameter gradients accumulate, so they start non-zero.
  Twin dweight = twin_random (rand, w_n, -1, 1);
  Twin dbias = twin_random (rand, cc->out_c, -1, 1);
  Twin dx = twin_new (NULL, x_n * sizeof (float));

  for (int variant = 0; variant < 3; variant++) {
    /* The whole batch; an image at a time; without dbias and dx (a first
     * layer without bias). */
    size_t scratch_n = conv_scratch (cc, variant == 1 ? 1 : cc->batch);
    gboolean all = variant != 2;
    Twin scratch = twin_new (NULL, scratch_n * sizeof (float));
    cpu->conv2d_backward (cpu, TC (x), TC (weight), TC (dy), TC (dweight),
                          all ? TC (dbias) : NULL, all ? TC (dx) : NULL, cc->batch, cc->c, cc->h,
                          cc->w, cc->out_c, cc->kh, cc->kw, cc->stride, cc->pad, TC (scratch),
                          scratch_n);
    gpu->conv2d_backward (gpu, TG (x), TG (weight), TG (dy), TG (dweight),
                          all ? TG (dbias) : NULL, all ? TG (dx) : NULL, cc->batch, cc->c, cc->h,
                          cc->w, cc->out_c, cc->kh, cc->kw, cc->stride, cc->pad, TG (scratch),
                          scratch_n);
    gboolean ok = twin_close ("dweight", &dweight, OP_RTOL) &&
                  twin_close ("dbias", &dbias, OP_RTOL) && twin_close ("dx", &dx, OP_RTOL);
    twin_free (&scratch);
    if (!ok)
      break;
  }
  twin_free (&x);
  twin_free (&weight);
  twin_free (&dy);
  twin_free (&dweight);
  twin_free (&dbias);
  twin_free (&dx);
}

/* The fused convolution and 2×2 pool. Rounding may pick another maximum
 * among near-equal values, so the pooled values are compared and both
 * backwards scatter through the CPU's argmax. */
static void
test_conv2d_maxpool2 (gconstpointer data)
{
  REQUIRE_GPU ();
  const ConvCase *cc = data;
  g_autoptr (GRand) rand = g_rand_new_with_seed (15);
  int oh = conv_out (cc->h, cc->kh, cc->stride, cc->pad);
  int ow = conv_out (cc->w, cc->kw, cc->stride, cc->pad);
  if (oh < 2 || ow < 2) {
    g_test_skip ("the convolution's output is too small to pool");
    return;
  }
  size_t x_n = (size_t) cc->batch * cc->c * cc->h * cc->w;
  size_t w_n = (size_t) cc->out_c * cc->c * cc->kh * cc->kw;
  size_t y_n = (size_t) cc->batch * cc->out_c * oh * ow;
  size_t p_n = (size_t) cc->batch * cc->out_c * (oh / 2) * (ow / 2);
  size_t scratch_n = conv_scratch (cc, cc->batch);
  Twin x = twin_random (rand, x_n, -1, 1);
  Twin weight = twin_random (rand, w_n, -0.5, 0.5);
  Twin bias = twin_random (rand, cc->out_c, -1, 1);
  Twin y = twin_new (NULL, y_n * sizeof (float));
  Twin pooled = twin_new (NULL, p_n * sizeof (float));
  g_autofree gint32 *argmax_host = g_new (gint32, p_n);
  Twin scratch = twin_new (NULL, scratch_n * sizeof (float));
  Twin dpooled = twin_random (rand, p_n, -1, 1);
  Twin dy = twin_new (NULL, y_n * sizeof (float));
  Twin dweight = twin_random (rand, w_n, -1, 1);
  Twin dbias = twin_random (rand, cc->out_c, -1, 1);
  Twin dx = twin_new (NULL, x_n * sizeof (float));

  Twin argmax_gpu = twin_new (NULL, p_n * sizeof (gint32));
  cpu->conv2d_maxpool2_forward (cpu, TC (x), TC (weight), TC (bias), TC (y), TC (pooled),
                                argmax_host, cc->batch, cc->c, cc->h, cc->w, cc->out_c, cc->kh,
                                cc->kw, cc->stride, cc->pad, TC (scratch), scratch_n);
  gpu->conv2d_maxpool2_forward (gpu, TG (x), TG (weight), TG (bias), TG (y), TG (pooled),
                                argmax_gpu.g, cc->batch, cc->c, cc->h, cc->w, cc->out_c, cc->kh,
                                cc->kw, cc->stride, cc->pad, TG (scratch), scratch_n);
  twin_free (&argmax_gpu);
  if (twin_close ("y", &y, OP_RTOL) && twin_close ("pooled", &pooled, OP_RTOL)) {
    Twin argmax = twin_new (argmax_host, p_n * sizeof (gint32));
    cpu->conv2d_maxpool2_backward (cpu, TC (x), TC (weight), TC (dpooled), argmax.c, TC (dy),
                                   TC (dweight), TC (dbias), TC (dx), cc->batch, cc->c, cc->h,
                                   cc->w, cc->out_c, cc->kh, cc->kw, cc->stride, cc->pad,
                                   TC (scratch), scratch_n);
    gpu->conv2d_maxpool2_backward (gpu, TG (x), TG (weight), TG (dpooled), argmax.g, TG (dy),
                                   TG (dweight), TG (dbias), TG (dx), cc->batch, cc->c, cc->h,
                                   cc->w, cc->out_c, cc->kh, cc->kw, cc->stride, cc->pad,
                                   TG (scratch), scratch_n);
    (void) (twin_close ("dy", &dy, OP_RTOL) && twin_close ("dweight", &dweight, OP_RTOL) &&
            twin_close ("dbias", &dbias, OP_RTOL) && twin_close ("dx", &dx, OP_RTOL));
    twin_free (&argmax);
  }
  Twin *all[] = { &x, &weight, &bias, &y, &pooled, &scratch, &dpooled, &dy, &dweight, &dbias, &dx };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    twin_free (all[i]);
}

/* ---- a linear layer and its activation ---- */

/* Both write the parameter gradients over what they held (random here). */
static void
test_linear_activation (gconstpointer data)
{
  REQUIRE_GPU ();
  LamActivation kind = GPOINTER_TO_INT (data);
  const int batch = 40, in = 100, out = 70;
  g_autoptr (GRand) rand = g_rand_new_with_seed (17);
  Twin x = twin_random (rand, (size_t) batch * in, -1, 1);
  Twin weight = twin_random (rand, (size_t) out * in, -0.5, 0.5);
  Twin bias = twin_random (rand, out, -0.5, 0.5);
  Twin y = twin_new (NULL, (size_t) batch * out * sizeof (float));
  Twin act_y = twin_new (NULL, (size_t) batch * out * sizeof (float));
  Twin dact_y = twin_random (rand, (size_t) batch * out, -1, 1);
  Twin dy = twin_new (NULL, (size_t) batch * out * sizeof (float));
  Twin dweight = twin_random (rand, (size_t) out * in, -1, 1);
  Twin dbias = twin_random (rand, out, -1, 1);
  Twin dx = twin_new (NULL, (size_t) batch * in * sizeof (float));

  cpu->linear_activation_forward (cpu, TC (x), TC (weight), TC (bias), TC (y), TC (act_y), batch,
                                  in, out, kind, 0.1f);
  gpu->linear_activation_forward (gpu, TG (x), TG (weight), TG (bias), TG (y), TG (act_y), batch,
                                  in, out, kind, 0.1f);
  if (twin_close ("y", &y, OP_RTOL) && twin_close ("act_y", &act_y, OP_RTOL)) {
    cpu->linear_activation_backward (cpu, TC (x), TC (weight), TC (y), TC (act_y), TC (dact_y),
                                     TC (dy), TC (dweight), TC (dbias), TC (dx), batch, in, out,
                                     kind, 0.1f);
    gpu->linear_activation_backward (gpu, TG (x), TG (weight), TG (y), TG (act_y), TG (dact_y),
                                     TG (dy), TG (dweight), TG (dbias), TG (dx), batch, in, out,
                                     kind, 0.1f);
    (void) (twin_close ("dy", &dy, OP_RTOL) && twin_close ("dweight", &dweight, OP_RTOL) &&
            twin_close ("dbias", &dbias, OP_RTOL) && twin_close ("dx", &dx, OP_RTOL));
  }
  Twin *all[] = { &x, &weight, &bias, &y, &act_y, &dact_y, &dy, &dweight, &dbias, &dx };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    twin_free (all[i]);
}

/* ---- pooling ---- */

typedef struct
{
  int planes, h, w, k, stride, pad;
} PoolCase;

/* Values on a coarse grid, so windows hold ties and the first maximum must
 * win on both backends. */
static Twin
twin_coarse (GRand *rand, size_t n)
{
  g_autofree float *host = g_new (float, MAX (n, 1));
  for (size_t i = 0; i < n; i++)
    host[i] = (float) g_rand_int_range (rand, -4, 5) * 0.25f;
  return twin_floats (host, n);
}

static void
test_maxpool (gconstpointer data)
{
  REQUIRE_GPU ();
  const PoolCase *pc = data;
  g_autoptr (GRand) rand = g_rand_new_with_seed (13);
  int oh = conv_out (pc->h, pc->k, pc->stride, pc->pad);
  int ow = conv_out (pc->w, pc->k, pc->stride, pc->pad);
  size_t in_n = (size_t) pc->planes * pc->h * pc->w, out_n = (size_t) pc->planes * oh * ow;
  Twin x = twin_coarse (rand, in_n);
  Twin y = twin_new (NULL, out_n * sizeof (float));
  Twin argmax = twin_new (NULL, out_n * sizeof (gint32));
  Twin dy = twin_random (rand, out_n, -1, 1);
  Twin dx = twin_random (rand, in_n, -1, 1);

  cpu->maxpool_forward (cpu, TC (x), TC (y), argmax.c, pc->planes, pc->h, pc->w, pc->k,
                        pc->stride, pc->pad);
  gpu->maxpool_forward (gpu, TG (x), TG (y), argmax.g, pc->planes, pc->h, pc->w, pc->k,
                        pc->stride, pc->pad);
  if (twin_equal ("y", &y) && twin_equal ("argmax", &argmax)) {
    cpu->maxpool_backward (cpu, TC (dy), argmax.c, TC (dx), pc->planes, pc->h, pc->w, oh, ow);
    gpu->maxpool_backward (gpu, TG (dy), argmax.g, TG (dx), pc->planes, pc->h, pc->w, oh, ow);
    twin_close ("dx", &dx, OP_RTOL);
  }
  twin_free (&x);
  twin_free (&y);
  twin_free (&argmax);
  twin_free (&dy);
  twin_free (&dx);
}

static void
test_avgpool (gconstpointer data)
{
  REQUIRE_GPU ();
  const PoolCase *pc = data;
  g_autoptr (GRand) rand = g_rand_new_with_seed (14);
  int oh = conv_out (pc->h, pc->k, pc->stride, pc->pad);
  int ow = conv_out (pc->w, pc->k, pc->stride, pc->pad);
  size_t in_n = (size_t) pc->planes * pc->h * pc->w, out_n = (size_t) pc->planes * oh * ow;
  Twin x = twin_random (rand, in_n, -1, 1);
  Twin y = twin_new (NULL, out_n * sizeof (float));
  Twin dy = twin_random (rand, out_n, -1, 1);
  Twin dx = twin_random (rand, in_n, -1, 1);

  cpu->avgpool_forward (cpu, TC (x), TC (y), pc->planes, pc->h, pc->w, pc->k, pc->stride,
                        pc->pad);
  gpu->avgpool_forward (gpu, TG (x), TG (y), pc->planes, pc->h, pc->w, pc->k, pc->stride,
                        pc->pad);
  if (twin_close ("y", &y, OP_RTOL)) {
    cpu->avgpool_backward (cpu, TC (dy), TC (dx), pc->planes, pc->h, pc->w, pc->k, pc->stride,
                           pc->pad);
    gpu->avgpool_backward (gpu, TG (dy), TG (dx), pc->planes, pc->h, pc->w, pc->k, pc->stride,
                           pc->pad);
    twin_close ("dx", &dx, OP_RTOL);
  }
  twin_free (&x);
  twin_free (&y);
  twin_free (&dy);
  twin_free (&dx);
}

/* ---- softmax ---- */

static void
test_softmax (gconstpointer data)
{
  REQUIRE_GPU ();
  int use_log = GPOINTER_TO_INT (data);
  static const int shapes[][2] = { { 67, 10 }, { 5, 100 }, { 3, 1 }, { 9, 33 } };
  g_autoptr (GRand) rand = g_rand_new_with_seed (15);

  for (size_t s = 0; s < G_N_ELEMENTS (shapes); s++) {
    int rows = shapes[s][0], cols = shapes[s][1];
    size_t n = (size_t) rows * cols;
    Twin x = twin_random (rand, n, -8, 8);
    Twin y = twin_new (NULL, n * sizeof (float));
    Twin dy = twin_random (rand, n, -1, 1);
    Twin dx = twin_new (NULL, n * sizeof (float));
    cpu->softmax_forward (cpu, TC (x), TC (y), rows, cols, use_log);
    gpu->softmax_forward (gpu, TG (x), TG (y), rows, cols, use_log);
    gboolean ok = twin_close ("y", &y, OP_RTOL);
    if (ok) {
      // The GPU backward reads the CPU's y, so only the backward is compared.
      gpu->upload (gpu, y.g, y.c, y.bytes);
      cpu->softmax_backward (cpu, TC (y), TC (dy), TC (dx), rows, cols, use_log);
      gpu->softmax_backward (gpu, TG (y), TG (dy), TG (dx), rows, cols, use_log);
      ok = twin_close ("dx", &dx, OP_RTOL);
    }
    if (ok) {
      // dx may alias dy.
      cpu->softmax_backward (cpu, TC (y), TC (dy), TC (dy), rows, cols, use_log);
      gpu->softmax_backward (gpu, TG (y), TG (dy), TG (dy), rows, cols, use_log);
      ok = twin_close ("dx in place", &dy, OP_RTOL);
    }
    twin_free (&x);
    twin_free (&y);
    twin_free (&dy);
    twin_free (&dx);
    if (!ok)
      return;
  }
}

/* ---- dropout ---- */

static void
test_dropout (void)
{
  REQUIRE_GPU ();
  static const float ps[] = { 0.3f, 0.0f, 0.5f, 1.0f };
  g_autoptr (GRand) rand = g_rand_new_with_seed (16);
  size_t n = 200003;

  for (size_t s = 0; s < G_N_ELEMENTS (ps); s++) {
    guint64 seed = 0x1234567890abcdefull + s;
    Twin x = twin_random (rand, n, -1, 1);
    Twin y = twin_new (NULL, n * sizeof (float));
    Twin mask = twin_new (NULL, n * sizeof (float));
    Twin dy = twin_random (rand, n, -1, 1);
    Twin dx = twin_new (NULL, n * sizeof (float));

    cpu->dropout_forward (cpu, TC (x), TC (y), TC (mask), n, ps[s], seed);
    gpu->dropout_forward (gpu, TG (x), TG (y), TG (mask), n, ps[s], seed);
    // lam_hash_uniform draws the same mask on both, so all of it is exact.
    gboolean ok = twin_equal ("mask", &mask) && twin_equal ("y", &y);
    if (ok) {
      cpu->dropout_backward (cpu, TC (dy), TC (mask), TC (dx), n);
      gpu->dropout_backward (gpu, TG (dy), TG (mask), TG (dx), n);
      ok = twin_equal ("dx", &dx);
    }
    if (ok) {
      // In place, y aliasing x.
      cpu->dropout_forward (cpu, TC (x), TC (x), TC (mask), n, ps[s], seed + 1);
      gpu->dropout_forward (gpu, TG (x), TG (x), TG (mask), n, ps[s], seed + 1);
      ok = twin_equal ("mask (in place)", &mask) && twin_equal ("y (in place)", &x);
    }
    twin_free (&x);
    twin_free (&y);
    twin_free (&mask);
    twin_free (&dy);
    twin_free (&dx);
    if (!ok)
      return;
  }
}

/* ---- batch normalisation ---- */

/* BatchNorm2d-like planes and BatchNorm1d's inner = 1, training and
 * evaluation: outputs, saved statistics, running statistics, the count
 * and the gradients. */
static void
test_batchnorm (gconstpointer data)
{
  REQUIRE_GPU ();
  int training = GPOINTER_TO_INT (data);
  static const int shapes[][3] = { { 64, 32, 196 }, { 7, 5, 33 }, { 128, 129, 1 }, { 3, 1, 1 } };
  g_autoptr (GRand) rand = g_rand_new_with_seed (23 + training);

  for (size_t s = 0; s < G_N_ELEMENTS (shapes); s++) {
    int outer = shapes[s][0], channels = shapes[s][1], inner = shapes[s][2];
    size_t n = (size_t) outer * channels * inner;
    Twin x = twin_random (rand, n, -2, 3);
    Twin dy = twin_random (rand, n, -1, 1);
    Twin gamma = twin_random (rand, channels, 0.5, 2);
    Twin beta = twin_random (rand, channels, -1, 1);
    Twin running_mean = twin_random (rand, channels, -0.5, 0.5);
    Twin running_var = twin_random (rand, channels, 0.5, 2);
    Twin count = twin_random (rand, 1, 3, 3);
    Twin saved = twin_new (NULL, 2 * channels * sizeof (float));
    Twin y = twin_new (NULL, n * sizeof (float));
    Twin dgamma = twin_new (NULL, channels * sizeof (float));
    Twin dbeta = twin_new (NULL, channels * sizeof (float));
    Twin dx = twin_new (NULL, n * sizeof (float));

    cpu->batchnorm_forward (cpu, TC (x), TC (gamma), TC (beta), TC (running_mean),
                            TC (running_var), TC (count), TC (saved), TC (y), outer, channels,
                            inner, training, 0.1, 1e-5);
    gpu->batchnorm_forward (gpu, TG (x), TG (gamma), TG (beta), TG (running_mean),
                            TG (running_var), TG (count), TG (saved), TG (y), outer, channels,
                            inner, training, 0.1, 1e-5);
    gboolean ok = twin_close ("y", &y, OP_RTOL) && twin_close ("saved", &saved, OP_RTOL) &&
                  twin_close ("running mean", &running_mean, OP_RTOL) &&
                  twin_close ("running var", &running_var, OP_RTOL) && twin_equal ("count", &count);
    if (ok) {
      cpu->batchnorm_backward (cpu, TC (x), TC (dy), TC (gamma), TC (saved), TC (dgamma),
                               TC (dbeta), TC (dx), outer, channels, inner, training);
      gpu->batchnorm_backward (gpu, TG (x), TG (dy), TG (gamma), TG (saved),
                               TG (dgamma), TG (dbeta), TG (dx), outer, channels, inner, training);
      ok = twin_close ("dgamma", &dgamma, OP_RTOL) && twin_close ("dbeta", &dbeta, OP_RTOL) &&
           twin_close ("dx", &dx, OP_RTOL);
    }
    Twin *all[] = { &x, &dy, &gamma, &beta, &running_mean, &running_var, &count, &saved, &y,
                    &dgamma, &dbeta, &dx };
    for (size_t t = 0; t < G_N_ELEMENTS (all); t++)
      twin_free (all[t]);
    if (!ok)
      return;
  }
}

/* ---- losses and metrics ---- */

typedef enum
{
  LOSS_SOFTMAX_XENT,
  LOSS_NLL,
  LOSS_MSE,
} LossKind;

static void
run_loss (LamBackend *be, LossKind kind, const float *x, const gint32 *labels, int rows, int cols,
          float scale, float *dx, float *acc)
{
  switch (kind) {
  case LOSS_SOFTMAX_XENT:
    be->softmax_xent (be, x, labels, rows, cols, scale, dx, acc);
    break;
  case LOSS_NLL:
    be->nll (be, x, labels, rows, cols, scale, dx, acc);
    break;
  case LOSS_MSE:
    be->mse (be, x, labels, rows, cols, scale, dx, acc);
    break;
  }
}

static void
test_loss (gconstpointer data)
{
  REQUIRE_GPU ();
  LossKind kind = GPOINTER_TO_INT (data);
  /* Rows that fill no block exactly, and a row wider than a warp. */
  static const int shapes[][2] = { { 67, 10 }, { 1000, 10 }, { 5, 100 }, { 3, 1 }, { 524291, 2 } };
  g_autoptr (GRand) rand = g_rand_new_with_seed (17);

  for (size_t s = 0; s < G_N_ELEMENTS (shapes); s++) {
    int rows = shapes[s][0], cols = shapes[s][1];
    size_t n = (size_t) rows * cols;
    /* More rows than one launch has partial sums for: the CUDA backend
     * runs them in two. Half a million losses summed in float on both
     * sides, in different orders, differ by more than one op's rounding. */
    double loss_rtol = rows > 100000 ? 1e-3 : OP_RTOL;
    // nll reads log-probabilities: negative numbers.
    Twin x = twin_random (rand, n, kind == LOSS_NLL ? -6 : -4, kind == LOSS_NLL ? 0 : 4);
    Twin labels = twin_labels (rand, rows, cols);
    Twin dx = twin_new (NULL, n * sizeof (float));
    // The accumulator is added to, not overwritten.
    float start = 1.25f;
    Twin acc = twin_floats (&start, 1);
    float scale = 1.0f / (float) rows;

    for (int pass = 0; pass < 2; pass++) {
      run_loss (cpu, kind, TC (x), labels.c, rows, cols, scale, TC (dx), TC (acc));
      run_loss (gpu, kind, TG (x), labels.g, rows, cols, scale, TG (dx), TG (acc));
    }
    gboolean ok = twin_close ("dx", &dx, OP_RTOL) && twin_close ("loss_acc", &acc, loss_rtol);
    twin_free (&x);
    twin_free (&labels);
    twin_free (&dx);
    twin_free (&acc);
    if (!ok)
      return;
  }
}

/* The regression losses; for l1 some exact ties, whose gradient is 0 on
 * both. */
static void
test_loss_targets (gconstpointer data)
{
  REQUIRE_GPU ();
  gboolean l1 = GPOINTER_TO_INT (data);
  static const int shapes[][2] = { { 67, 10 }, { 1000, 2 }, { 5, 100 }, { 3, 1 } };
  g_autoptr (GRand) rand = g_rand_new_with_seed (27 + l1);

  for (size_t s = 0; s < G_N_ELEMENTS (shapes); s++) {
    int rows = shapes[s][0], cols = shapes[s][1];
    size_t n = (size_t) rows * cols;
    g_autofree float *x_host = g_new (float, n);
    g_autofree float *t_host = g_new (float, n);
    for (size_t i = 0; i < n; i++) {
      x_host[i] = (float) g_rand_double_range (rand, -4, 4);
      t_host[i] = i % 9 == 0 ? x_host[i] : (float) g_rand_double_range (rand, -4, 4);
    }
    Twin x = twin_floats (x_host, n);
    Twin t = twin_floats (t_host, n);
    Twin dx = twin_new (NULL, n * sizeof (float));
    float start = 1.25f;
    Twin acc = twin_floats (&start, 1);
    float scale = 1.0f / (float) rows;

    for (int pass = 0; pass < 2; pass++) {
      if (l1) {
        cpu->l1_targets (cpu, TC (x), TC (t), rows, cols, scale, TC (dx), TC (acc));
        gpu->l1_targets (gpu, TG (x), TG (t), rows, cols, scale, TG (dx), TG (acc));
      } else {
        cpu->mse_targets (cpu, TC (x), TC (t), rows, cols, scale, TC (dx), TC (acc));
        gpu->mse_targets (gpu, TG (x), TG (t), rows, cols, scale, TG (dx), TG (acc));
      }
    }
    gboolean ok = twin_close ("dx", &dx, OP_RTOL) && twin_close ("loss_acc", &acc, OP_RTOL);
    twin_free (&x);
    twin_free (&t);
    twin_free (&dx);
    twin_free (&acc);
    if (!ok)
      return;
  }
}

static void
test_argmax (void)
{
  REQUIRE_GPU ();
  static const int shapes[][2] = { { 67, 10 }, { 300, 7 }, { 4, 100 }, { 5, 1 } };
  g_autoptr (GRand) rand = g_rand_new_with_seed (18);

  for (size_t s = 0; s < G_N_ELEMENTS (shapes); s++) {
    int rows = shapes[s][0], cols = shapes[s][1];
    // Ties in most rows: the first maximum is the answer.
    Twin x = twin_coarse (rand, (size_t) rows * cols);
    Twin out = twin_new (NULL, sizeof (gint32) * rows);
    Twin labels = twin_labels (rand, rows, cols);
    float start = 3.0f;
    Twin correct = twin_floats (&start, 1);

    cpu->argmax_rows (cpu, TC (x), rows, cols, out.c);
    gpu->argmax_rows (gpu, TG (x), rows, cols, out.g);
    // Labels copied from the answer for a third of the rows, so some count.
    g_autofree gint32 *host_labels = g_new (gint32, rows);
    g_autofree gint32 *answer = g_new (gint32, rows);
    cpu->download (cpu, host_labels, labels.c, labels.bytes);
    cpu->download (cpu, answer, out.c, out.bytes);
    for (int r = 0; r < rows; r += 3)
      host_labels[r] = answer[r];
    cpu->upload (cpu, labels.c, host_labels, labels.bytes);
    gpu->upload (gpu, labels.g, host_labels, labels.bytes);
    for (int pass = 0; pass < 2; pass++) {
      cpu->count_correct (cpu, TC (x), labels.c, rows, cols, TC (correct));
      gpu->count_correct (gpu, TG (x), labels.g, rows, cols, TG (correct));
    }
    gboolean ok = twin_equal ("argmax", &out) && twin_equal ("correct_acc", &correct);
    twin_free (&x);
    twin_free (&out);
    twin_free (&labels);
    twin_free (&correct);
    if (!ok)
      return;
  }
}

/* ---- optimizers ---- */

typedef struct
{
  float lr, momentum, dampening, weight_decay;
  int nesterov;
} SgdCase;

#define OPTIM_STEPS 5

static void
test_sgd (gconstpointer data)
{
  REQUIRE_GPU ();
  const SgdCase *sc = data;
  g_autoptr (GRand) rand = g_rand_new_with_seed (19);
  size_t n = 100003;
  Twin params = twin_random (rand, n, -1, 1);
  Twin buf = twin_new (NULL, n * sizeof (float));
  gboolean ok = TRUE;

  for (int step = 0; step < OPTIM_STEPS && ok; step++) {
    Twin grads = twin_random (rand, n, -1, 1);
    cpu->sgd_update (cpu, TC (params), TC (grads), TC (buf), n, sc->lr, sc->momentum,
                     sc->dampening, sc->weight_decay, sc->nesterov, step == 0);
    gpu->sgd_update (gpu, TG (params), TG (grads), TG (buf), n, sc->lr, sc->momentum,
                     sc->dampening, sc->weight_decay, sc->nesterov, step == 0);
    ok = twin_close ("params", &params, OP_RTOL) &&
         (sc->momentum == 0.0f || twin_close ("momentum", &buf, OP_RTOL));
    twin_free (&grads);
  }
  twin_free (&params);
  twin_free (&buf);
}

typedef struct
{
  float lr, beta1, beta2, eps, weight_decay;
  int decoupled;
} AdamCase;

static void
test_adam (gconstpointer data)
{
  REQUIRE_GPU ();
  const AdamCase *ac = data;
  g_autoptr (GRand) rand = g_rand_new_with_seed (20);
  size_t n = 100003;
  Twin params = twin_random (rand, n, -1, 1);
  Twin m = twin_new (NULL, n * sizeof (float));
  Twin v = twin_new (NULL, n * sizeof (float));
  gboolean ok = TRUE;

  for (int step = 1; step <= OPTIM_STEPS && ok; step++) {
    Twin grads = twin_random (rand, n, -1, 1);
    cpu->adam_update (cpu, TC (params), TC (grads), TC (m), TC (v), n, ac->lr, ac->beta1,
                      ac->beta2, ac->eps, ac->weight_decay, ac->decoupled, step);
    gpu->adam_update (gpu, TG (params), TG (grads), TG (m), TG (v), n, ac->lr, ac->beta1,
                      ac->beta2, ac->eps, ac->weight_decay, ac->decoupled, step);
    ok = twin_close ("params", &params, OP_RTOL) && twin_close ("m", &m, OP_RTOL) &&
         twin_close ("v", &v, OP_RTOL);
    twin_free (&grads);
  }
  twin_free (&params);
  twin_free (&m);
  twin_free (&v);
}

/* Without weight decay, a weight gone infinite stays infinite on both
 * (the GPU once added 0 · p to the gradient, which made it NaN), and a
 * gradient of −0 leaves its weight as the CPU leaves it. */
static void
test_adam_infinite_weight (void)
{
  REQUIRE_GPU ();
  float host_params[] = { INFINITY, -INFINITY, 0.5f, -0.25f };
  float host_grads[] = { 1.0f, -0.5f, -0.0f, 0.125f };
  size_t n = G_N_ELEMENTS (host_params);
  Twin params = twin_floats (host_params, n);
  Twin grads = twin_floats (host_grads, n);
  Twin m = twin_new (NULL, n * sizeof (float));
  Twin v = twin_new (NULL, n * sizeof (float));
  for (int step = 1; step <= 2; step++) {
    cpu->adam_update (cpu, TC (params), TC (grads), TC (m), TC (v), n, 0.01f, 0.9f, 0.999f, 1e-8f,
                      0.0f, 0, step);
    gpu->adam_update (gpu, TG (params), TG (grads), TG (m), TG (v), n, 0.01f, 0.9f, 0.999f, 1e-8f,
                      0.0f, 0, step);
  }
  float got[4], want[4];
  gpu->download (gpu, got, params.g, sizeof got);
  cpu->download (cpu, want, params.c, sizeof want);
  g_assert_true (isinf (want[0]) && want[0] > 0 && isinf (want[1]) && want[1] < 0);
  g_assert_true (isinf (got[0]) && got[0] > 0);
  g_assert_true (isinf (got[1]) && got[1] < 0);
  // The finite ones (check_parity's scale would be infinite with the others in).
  check_parity ("params", got + 2, want + 2, 2, OP_RTOL);
  twin_free (&params);
  twin_free (&grads);
  twin_free (&m);
  twin_free (&v);
}

static void
test_l1_penalty (void)
{
  REQUIRE_GPU ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (21);
  size_t n = 100003;
  Twin params = twin_random (rand, n, -1, 1);
  Twin grads = twin_random (rand, n, -1, 1);
  cpu->l1_penalty (cpu, TC (params), TC (grads), n, 0.0125f);
  gpu->l1_penalty (gpu, TG (params), TG (grads), n, 0.0125f);
  twin_close ("grads", &grads, OP_RTOL);
  twin_free (&params);
  twin_free (&grads);
}

/* ---- whole training steps ---- */

typedef struct
{
  const char *spec;
  LamOptimizerKind optimizer;
  int batch, steps;
} ModelCase;

static gboolean
model_close (const char *what, LamModel *on_cpu, LamModel *on_gpu, const float *c,
             const float *g, size_t n, double rtol)
{
  g_autofree float *want = g_new (float, MAX (n, 1));
  g_autofree float *got = g_new (float, MAX (n, 1));
  cpu->download (cpu, want, c, n * sizeof (float));
  gpu->download (gpu, got, g, n * sizeof (float));
  return check_parity (what, got, want, n, rtol);
}

/* The same model (same seed, so the same initial parameters), the same
 * batches, and the same optimizer on both backends: forward, loss,
 * backward and an optimizer step, `steps` times. */
static void
test_model (gconstpointer data)
{
  REQUIRE_GPU ();
  const ModelCase *mc = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (mc->spec, &error);
  g_assert_no_error (error);
  g_autoptr (LamModel) model_c = lam_model_new (spec, cpu, mc->batch, 42, &error);
  g_assert_no_error (error);
  g_autoptr (LamModel) model_g = lam_model_new (spec, gpu, mc->batch, 42, &error);
  g_assert_no_error (error);

  size_t n_params = lam_model_get_n_params (model_c);
  int n_classes = lam_model_get_n_classes (model_c);
  size_t in_n = lam_shape_numel (&lam_model_get_plan (model_c)->input) * (size_t) mc->batch;
  g_autofree float *params_c = g_new (float, n_params);
  g_autofree float *params_g = g_new (float, n_params);
  lam_model_get_params_host (model_c, params_c);
  lam_model_get_params_host (model_g, params_g);
  if (!check_same_bytes ("initial params", params_g, params_c, n_params * sizeof (float)))
    return;

  LamOptimizerConfig config = lam_optimizer_config_default (mc->optimizer);
  if (mc->optimizer == LAM_OPTIMIZER_SGD) {
    config.lr = 0.05;
    config.momentum = 0.9;
  }
  g_autoptr (LamOptimizer) optim_c = lam_optimizer_new (cpu, &config, n_params, &error);
  g_assert_no_error (error);
  g_autoptr (LamOptimizer) optim_g = lam_optimizer_new (gpu, &config, n_params, &error);
  g_assert_no_error (error);

  g_autoptr (GRand) rand = g_rand_new_with_seed (21);
  float zero = 0.0f;
  Twin loss = twin_floats (&zero, 1);
  gboolean ok = TRUE;

  for (int step = 0; step < mc->steps && ok; step++) {
    g_autofree float *images = random_floats (rand, in_n, -1, 2);
    Twin labels = twin_labels (rand, mc->batch, n_classes);
    cpu->upload (cpu, lam_model_get_input (model_c), images, in_n * sizeof (float));
    gpu->upload (gpu, lam_model_get_input (model_g), images, in_n * sizeof (float));

    lam_model_forward (model_c, mc->batch, TRUE, 1000 + step);
    lam_model_forward (model_g, mc->batch, TRUE, 1000 + step);
    LamLossKind loss_kind = lam_model_spec_get_loss (spec);
    lam_model_loss (model_c, loss_kind, labels.c, mc->batch, TC (loss));
    lam_model_loss (model_g, loss_kind, labels.g, mc->batch, TG (loss));
    lam_model_backward (model_c, mc->batch);
    lam_model_backward (model_g, mc->batch);
    if (step == 0)
      ok = model_close ("output", model_c, model_g, lam_model_get_output (model_c),
                        lam_model_get_output (model_g), (size_t) mc->batch * n_classes,
                        OP_RTOL) &&
           model_close ("grads", model_c, model_g, lam_model_get_grads (model_c),
                        lam_model_get_grads (model_g), n_params, MODEL_RTOL);
    lam_optimizer_step (optim_c, lam_model_get_params (model_c), lam_model_get_grads (model_c));
    lam_optimizer_step (optim_g, lam_model_get_params (model_g), lam_model_get_grads (model_g));
    ok = ok && twin_close ("loss sum", &loss, MODEL_RTOL) &&
         model_close ("params", model_c, model_g, lam_model_get_params (model_c),
                      lam_model_get_params (model_g), n_params, MODEL_RTOL);
    twin_free (&labels);
  }
  twin_free (&loss);
}

/* ---- registration ---- */

static const GemmCase gemm_cases[] = { { 0, 0 }, { 1, 0 }, { 0, 1 }, { 1, 1 } };
static const char *const gemm_names[] = { "plain", "trans-a", "trans-b", "trans-ab" };

static const ActivationCase activation_cases[] = {
  { LAM_ACTIVATION_RELU, 0.0f },
  { LAM_ACTIVATION_LEAKY_RELU, 0.1f },
  { LAM_ACTIVATION_SIGMOID, 0.0f },
  { LAM_ACTIVATION_TANH, 0.0f },
};
static const char *const activation_names[] = { "relu", "leaky-relu", "sigmoid", "tanh" };

static const ConvCase conv_cases[] = {
  { 2, 3, 5, 6, 3, 3, 1, 1, 4 },     { 3, 2, 7, 6, 3, 3, 2, 1, 5 },   { 2, 4, 3, 5, 1, 1, 1, 0, 3 },
  { 1, 2, 6, 7, 2, 3, 1, 0, 2 },     { 2, 1, 9, 5, 3, 2, 2, 0, 3 },   { 1, 2, 8, 8, 5, 5, 3, 2, 4 },
  { 16, 8, 14, 14, 3, 3, 1, 1, 16 }, { 3, 3, 20, 21, 3, 3, 1, 1, 8 },
};
static const char *const conv_names[] = {
  "3x3-pad1",    "stride2-pad1",     "1x1",           "rect-kernel",
  "stride2-odd", "5x5-stride3-pad2", "batch16-8to16", "plane-over-256",
};

static const PoolCase pool_cases[] = {
  { 6, 6, 8, 2, 2, 0 }, { 4, 7, 7, 3, 2, 1 },    { 3, 7, 5, 2, 2, 0 },         { 2, 5, 6, 3, 1, 1 },
  { 2, 8, 7, 3, 3, 0 }, { 64, 28, 28, 2, 2, 0 }, { 2, 3, 3, 46342, 2, 23171 },
};
/* huge-window: k*k past an int, see test-backend's /avgpool/huge-window. */
static const char *const pool_names[] = {
  "k2-stride2",  "stride2-pad1", "partial-window", "k3-stride1-pad1",
  "stride3-odd", "mnist-size",   "huge-window",
};

static const SgdCase sgd_cases[] = {
  { 0.1f, 0.0f, 0.0f, 0.0f, 0 },  { 0.1f, 0.9f, 0.0f, 0.0f, 0 },
  { 0.1f, 0.9f, 0.3f, 0.0f, 0 },  { 0.1f, 0.9f, 0.0f, 0.0f, 1 },
  { 0.1f, 0.0f, 0.0f, 0.05f, 0 }, { 0.05f, 0.8f, 0.1f, 0.05f, 1 },
};
static const char *const sgd_names[] = {
  "plain", "momentum", "momentum-dampening", "nesterov", "weight-decay", "nesterov-weight-decay",
};

static const AdamCase adam_cases[] = {
  { 0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 0 },
  { 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f, 0 },
  { 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f, 1 },
  { 0.1f, 0.5f, 0.9f, 1e-3f, 0.01f, 1 },
};
static const char *const adam_names[] = {
  "adam/plain", "adam/weight-decay", "adamw/plain", "adamw/large-lr",
};

/* Optimizers whose update is linear in the gradient: Adam's first steps
 * move a parameter by about lr whatever the gradient's size, so a gradient
 * that rounds to opposite signs near zero would differ by 2 lr. Adam itself
 * is compared op by op above. */
static const ModelCase model_cases[] = {
  { "input=1x12x12,flatten,linear:32,relu,dropout:0.25,linear:16,tanh,linear:10",
    LAM_OPTIMIZER_SGD, 32, 3 },
  { "input=1x12x12,conv2d:6:3:p1,relu,maxpool2d:2,conv2d:8:3,relu,avgpool2d:2,flatten,"
    "linear:10",
    LAM_OPTIMIZER_SGD, 16, 3 },
  { "input=3x10x10,conv2d:4:3:s2:p1,leaky_relu:0.1,flatten,linear:12,sigmoid,linear:5,"
    "log_softmax",
    LAM_OPTIMIZER_SGD, 8, 2 },
  { "input=1x12x12,conv2d:6:3:p1:nobias,batchnorm2d,relu,maxpool2d:2,flatten,linear:16:nobias,"
    "batchnorm1d,relu,linear:10",
    LAM_OPTIMIZER_SGD, 16, 3 },
};
static const char *const model_names[] = { "mlp-dropout", "small-cnn", "cnn-logsoftmax-nll",
                                           "cnn-batchnorm" };

static void
add_cases (const char *prefix, const char *suffix, const void *cases, size_t size, size_t count,
           const char *const *names, GTestDataFunc func)
{
  for (size_t i = 0; i < count; i++) {
    g_autofree char *path = g_strconcat ("/gpu-parity", prefix, suffix, "/", names[i], NULL);
    g_test_add_data_func (path, (const char *) cases + i * size, func);
  }
}

#define ADD_CASES(prefix, suffix, cases, names, func)                                              \
  G_STATIC_ASSERT (G_N_ELEMENTS (cases) == G_N_ELEMENTS (names));                                   \
  add_cases (prefix, suffix, cases, sizeof (cases[0]), G_N_ELEMENTS (cases), names, func)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_autoptr (GError) error = NULL;
  cpu = lam_backend_cpu_new ();
  gpu = lam_device_open ("cuda", NULL, &error);
  if (gpu == NULL) {
    skip_reason = g_strdup_printf ("no CUDA device: %s", error->message);
    g_test_message ("%s", skip_reason);
  } else {
    g_test_message ("comparing %s with %s", gpu->device_name, cpu->device_name);
  }

  g_test_add_func ("/gpu-parity/open", test_open);
  g_test_add_func ("/gpu-parity/memory/roundtrip", test_memory_roundtrip);
  g_test_add_func ("/gpu-parity/memory/alloc-huge", test_memory_alloc_huge);

  ADD_CASES ("/gemm", "", gemm_cases, gemm_names, test_gemm);
  g_test_add_func ("/gpu-parity/gemm/beta-zero", test_gemm_beta_zero);

  g_test_add_func ("/gpu-parity/bias/add", test_bias_add);
  g_test_add_func ("/gpu-parity/bias/backward", test_bias_backward);
  g_test_add_data_func ("/gpu-parity/linear-activation/relu", GINT_TO_POINTER (LAM_ACTIVATION_RELU),
                        test_linear_activation);
  g_test_add_data_func ("/gpu-parity/linear-activation/tanh", GINT_TO_POINTER (LAM_ACTIVATION_TANH),
                        test_linear_activation);

  ADD_CASES ("/activation", "", activation_cases, activation_names, test_activation);

  ADD_CASES ("/conv2d", "/forward", conv_cases, conv_names, test_conv2d_forward);
  ADD_CASES ("/conv2d", "/maxpool2", conv_cases, conv_names, test_conv2d_maxpool2);
  ADD_CASES ("/conv2d", "/backward", conv_cases, conv_names, test_conv2d_backward);

  ADD_CASES ("/maxpool", "", pool_cases, pool_names, test_maxpool);
  ADD_CASES ("/avgpool", "", pool_cases, pool_names, test_avgpool);

  g_test_add_data_func ("/gpu-parity/batchnorm/training", GINT_TO_POINTER (1), test_batchnorm);
  g_test_add_data_func ("/gpu-parity/batchnorm/evaluation", GINT_TO_POINTER (0), test_batchnorm);
  g_test_add_data_func ("/gpu-parity/softmax", GINT_TO_POINTER (0), test_softmax);
  g_test_add_data_func ("/gpu-parity/log-softmax", GINT_TO_POINTER (1), test_softmax);

  g_test_add_func ("/gpu-parity/dropout", test_dropout);

  g_test_add_data_func ("/gpu-parity/loss/softmax-xent", GINT_TO_POINTER (LOSS_SOFTMAX_XENT),
                        test_loss);
  g_test_add_data_func ("/gpu-parity/loss/nll", GINT_TO_POINTER (LOSS_NLL), test_loss);
  g_test_add_data_func ("/gpu-parity/loss/mse", GINT_TO_POINTER (LOSS_MSE), test_loss);
  g_test_add_data_func ("/gpu-parity/loss/mse-targets", GINT_TO_POINTER (FALSE),
                        test_loss_targets);
  g_test_add_data_func ("/gpu-parity/loss/l1-targets", GINT_TO_POINTER (TRUE), test_loss_targets);
  g_test_add_func ("/gpu-parity/argmax-count-correct", test_argmax);

  ADD_CASES ("/sgd", "", sgd_cases, sgd_names, test_sgd);
  ADD_CASES ("", "", adam_cases, adam_names, test_adam);
  g_test_add_func ("/gpu-parity/adam/infinite-weight-without-decay", test_adam_infinite_weight);
  g_test_add_func ("/gpu-parity/l1-penalty", test_l1_penalty);

  ADD_CASES ("/model", "", model_cases, model_names, test_model);

  int status = g_test_run ();
  lam_backend_free (gpu);
  lam_backend_free (cpu);
  g_free (skip_reason);
  return status;
}
