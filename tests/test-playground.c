/* The playground's toy sets: counts, range, balance, seeds, the exact
 * shapes at noise 0, the jitter's size, errors, the drawing grid, and that
 * a small network learns every classification set (drawn into
 * playground-KIND.png over its decision boundary). */
#include <cairo.h>
#include <glib.h>
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "lam-dataset.h"
#include "lam-playground.h"

static LamPlaygroundSet *
generate (LamPlaygroundKind kind, int n, double noise, int n_classes, guint64 seed)
{
  LamPlaygroundParams params = {
    .kind = kind, .n_points = n, .noise = noise, .n_classes = n_classes, .seed = seed
  };
  g_autoptr (GError) error = NULL;
  LamPlaygroundSet *set = lam_playground_generate (&params, &error);
  g_assert_no_error (error);
  g_assert_nonnull (set);
  return set;
}

/* n_classes for a kind: blobs need a count, the others ignore it. */
static int
classes_for (LamPlaygroundKind kind)
{
  return kind == LAM_PLAYGROUND_BLOBS ? 4 : 0;
}

static void
test_kind_names (void)
{
  const char *names[] = { "circle", "xor", "gauss", "spiral", "moons", "blobs", "plane", "ripple" };
  G_STATIC_ASSERT (G_N_ELEMENTS (names) == LAM_PLAYGROUND_N_KINDS);

  for (int k = 0; k < LAM_PLAYGROUND_N_KINDS; k++) {
    LamPlaygroundKind kind = LAM_PLAYGROUND_N_KINDS;
    g_assert_cmpstr (lam_playground_kind_to_string (k), ==, names[k]);
    g_assert_true (lam_playground_kind_from_string (names[k], &kind));
    g_assert_cmpint (kind, ==, k);
    g_assert_nonnull (lam_playground_kind_get_label (k));
    g_assert_cmpint (lam_playground_kind_is_regression (k), ==,
                     k == LAM_PLAYGROUND_PLANE || k == LAM_PLAYGROUND_RIPPLE);
  }

  LamPlaygroundKind kind = LAM_PLAYGROUND_XOR;
  g_assert_false (lam_playground_kind_from_string ("Circle", &kind));
  g_assert_false (lam_playground_kind_from_string ("", &kind));
  g_assert_false (lam_playground_kind_from_string ("spirals", &kind));
  g_assert_cmpint (kind, ==, LAM_PLAYGROUND_XOR);
  g_assert_null (lam_playground_kind_to_string (LAM_PLAYGROUND_N_KINDS));
  g_assert_null (lam_playground_kind_to_string ((LamPlaygroundKind) -1));
}

/* Count, range, balance, class names and the set's name, for one kind at a
 * count that does not divide by its classes, and at the heaviest noise. */
static void
test_generate (gconstpointer data)
{
  LamPlaygroundKind kind = GPOINTER_TO_INT (data);
  const int n = 403;

  for (int heavy = 0; heavy < 2; heavy++) {
    double noise = heavy ? 1.0 : 0.1;
    g_autoptr (LamPlaygroundSet) set = generate (kind, n, noise, classes_for (kind), 7);

    g_assert_cmpint (set->n, ==, n);
    for (int i = 0; i < 2 * n; i++) {
      g_assert_true (isfinite (set->xy[i]));
      g_assert_cmpfloat (fabsf (set->xy[i]), <=, LAM_PLAYGROUND_EXTENT);
    }

    g_autofree char *name = g_strdup_printf ("%s, %s%d points, noise %s, seed 7",
                                             lam_playground_kind_get_label (kind),
                                             kind == LAM_PLAYGROUND_BLOBS ? "4 classes, " : "", n,
                                             heavy ? "1" : "0.1");
    g_assert_cmpstr (set->name, ==, name);

    if (lam_playground_kind_is_regression (kind)) {
      g_assert_true (set->regression);
      g_assert_null (set->labels);
      g_assert_null (set->class_names);
      g_assert_cmpint (set->n_classes, ==, 0);
      g_assert_nonnull (set->values);
      for (int i = 0; i < n; i++)
        g_assert_true (isfinite (set->values[i]));
      continue;
    }

    g_assert_false (set->regression);
    g_assert_null (set->values);
    int k = set->n_classes;
    g_assert_cmpint (k, ==, kind == LAM_PLAYGROUND_BLOBS ? 4 : 2);
    g_assert_cmpint (g_strv_length (set->class_names), ==, k);

    /* Balanced, the remainder going to the first classes. */
    int counts[LAM_PLAYGROUND_MAX_BLOBS] = { 0 };
    for (int i = 0; i < n; i++) {
      g_assert_cmpint (set->labels[i], <, k);
      counts[set->labels[i]]++;
    }
    for (int c = 0; c < k; c++)
      g_assert_cmpint (counts[c], ==, n / k + (c < n % k));

    /* Shuffled: the first half of the points holds every class, not one
     * class's run. */
    int first_half[LAM_PLAYGROUND_MAX_BLOBS] = { 0 };
    for (int i = 0; i < n / 2; i++)
      first_half[set->labels[i]]++;
    for (int c = 0; c < k; c++)
      g_assert_cmpint (abs (2 * first_half[c] - counts[c]), <, counts[c] / 3);
  }
}

/* The set's numbers as little-endian bytes, so a checksum of them means the
 * same on any machine. */
static char *
set_checksum (const LamPlaygroundSet *set)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  const float *arrays[] = { set->xy, set->values };
  const int lengths[] = { 2 * set->n, set->regression ? set->n : 0 };

  for (int a = 0; a < 2; a++) {
    for (int i = 0; i < lengths[a]; i++) {
      guint32 bits;
      memcpy (&bits, &arrays[a][i], sizeof bits);
      bits = GUINT32_TO_LE (bits);
      g_checksum_update (sum, (const guchar *) &bits, sizeof bits);
    }
  }
  if (set->labels)
    g_checksum_update (sum, set->labels, set->n);
  return g_strdup (g_checksum_get_string (sum));
}

static void
test_seed (gconstpointer data)
{
  LamPlaygroundKind kind = GPOINTER_TO_INT (data);
  g_autoptr (LamPlaygroundSet) a = generate (kind, 500, 0.2, classes_for (kind), 42);
  g_autoptr (LamPlaygroundSet) b = generate (kind, 500, 0.2, classes_for (kind), 42);
  g_autoptr (LamPlaygroundSet) other = generate (kind, 500, 0.2, classes_for (kind), 43);

  g_assert_cmpmem (a->xy, sizeof (float) * 1000, b->xy, sizeof (float) * 1000);
  g_assert_true (memcmp (a->xy, other->xy, sizeof (float) * 1000) != 0);
  if (a->regression) {
    g_assert_cmpmem (a->values, sizeof (float) * 500, b->values, sizeof (float) * 500);
    g_assert_true (memcmp (a->values, other->values, sizeof (float) * 500) != 0);
  } else {
    g_assert_cmpmem (a->labels, 500, b->labels, 500);
    g_assert_true (memcmp (a->labels, other->labels, 500) != 0);
  }

  /* Another count or noise is another set, not the same one cut short. */
  g_autoptr (LamPlaygroundSet) noisier = generate (kind, 500, 0.3, classes_for (kind), 42);
  g_assert_true (memcmp (a->xy, noisier->xy, sizeof (float) * 1000) != 0 ||
                 (a->regression && memcmp (a->values, noisier->values, sizeof (float) * 500) != 0));
}

/* Sets pinned bit for bit: a change to the generator, or a machine that
 * computes them differently, fails here. The sums were taken on x86-64;
 * the generator uses no libm function that rounds, so every IEEE machine
 * must give them. */
static void
test_pinned (void)
{
  const struct
  {
    LamPlaygroundKind kind;
    int n_classes;
    const char *sha256;
  } pinned[] = {
    { LAM_PLAYGROUND_CIRCLE, 0,
      "9d152922de4d172004570cf4a7f621e63d75bcb61e2484f63ba55334e4a2c2bb" },
    { LAM_PLAYGROUND_SPIRAL, 0,
      "8f7c38c0f619332b4c3e20ce353749e0ee4886104959886f2c715eb15dd83609" },
    { LAM_PLAYGROUND_MOONS, 0, "4721d50c60b55d77ee434894b5c943efa5da32c12f85705203d8a87ec2afea90" },
    { LAM_PLAYGROUND_BLOBS, 5, "fe2f7fbb7cc679ddf4bf41a5904963f10341ec172d25485d351338c18ab6087a" },
    { LAM_PLAYGROUND_RIPPLE, 0,
      "939231f0d99c1dcfae026541541a4a0a7e138a8f10b01a9d41ef0da669f87b8b" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (pinned); i++) {
    g_autoptr (LamPlaygroundSet) set = generate (pinned[i].kind, 300, 0.25, pinned[i].n_classes, 1);
    g_autofree char *sum = set_checksum (set);
    g_test_message ("%s: %s", set->name, sum);
    g_assert_cmpstr (sum, ==, pinned[i].sha256);
  }
}

/* ---- Shapes at noise 0. */

static void
test_circle_shape (void)
{
  g_autoptr (LamPlaygroundSet) set = generate (LAM_PLAYGROUND_CIRCLE, 2000, 0, 0, 3);
  const double s = LAM_PLAYGROUND_SCALE;
  double r_min[2] = { INFINITY, INFINITY }, r_max[2] = { 0, 0 };

  for (int i = 0; i < set->n; i++) {
    double r = hypot (set->xy[2 * i], set->xy[2 * i + 1]);
    int c = set->labels[i];
    r_min[c] = MIN (r_min[c], r);
    r_max[c] = MAX (r_max[c], r);
  }
  g_assert_cmpstr (set->class_names[0], ==, "inside");
  g_assert_cmpfloat (r_max[0], <=, s + 1e-5);
  g_assert_cmpfloat (r_min[1], >=, 1.4 * s - 1e-5);
  g_assert_cmpfloat (r_max[1], <=, 2 * s + 1e-5);
  /* And they fill their regions: near the centre, near both edges. */
  g_assert_cmpfloat (r_min[0], <, 0.2);
  g_assert_cmpfloat (r_max[0], >, 0.98 * s);
  g_assert_cmpfloat (r_min[1], <, 1.42 * s);
  g_assert_cmpfloat (r_max[1], >, 1.98 * s);
}

static void
test_xor_shape (void)
{
  g_autoptr (LamPlaygroundSet) set = generate (LAM_PLAYGROUND_XOR, 2000, 0, 0, 3);
  int quadrants[4] = { 0 };

  for (int i = 0; i < set->n; i++) {
    float x = set->xy[2 * i], y = set->xy[2 * i + 1];
    g_assert_cmpint (set->labels[i], ==, x * y > 0);
    g_assert_cmpfloat (fabsf (x), >=, 0.3f);
    g_assert_cmpfloat (fabsf (y), >=, 0.3f);
    g_assert_cmpfloat (fabsf (x), <=, 2 * LAM_PLAYGROUND_SCALE);
    g_assert_cmpfloat (fabsf (y), <=, 2 * LAM_PLAYGROUND_SCALE);
    quadrants[(x > 0) + 2 * (y > 0)]++;
  }
  /* Each class's two quadrants share its points about evenly. */
  for (int q = 0; q < 4; q++)
    g_assert_cmpint (abs (quadrants[q] - 500), <, 100);
}

static void
test_spiral_shape (void)
{
  g_autoptr (LamPlaygroundSet) set = generate (LAM_PLAYGROUND_SPIRAL, 2000, 0, 0, 3);
  const double r_max = 2 * LAM_PLAYGROUND_SCALE;

  for (int i = 0; i < set->n; i++) {
    double x = set->xy[2 * i], y = set->xy[2 * i + 1];
    double r = hypot (x, y), t = r / r_max;
    double angle = 3.5 * G_PI * t + set->labels[i] * G_PI;
    /* On its own arm: where the arm is at this radius. */
    g_assert_cmpfloat (r, <=, r_max + 1e-5);
    g_assert_cmpfloat (hypot (x - r * cos (angle), y - r * sin (angle)), <, 1e-4);
  }
}

static void
test_moons_shape (void)
{
  g_autoptr (LamPlaygroundSet) set = generate (LAM_PLAYGROUND_MOONS, 2000, 0, 0, 3);
  const double s = LAM_PLAYGROUND_SCALE;

  for (int i = 0; i < set->n; i++) {
    /* Back in make_moons' frame, the lower moon turned onto the upper:
     * every point on the upper half of the unit circle. */
    double sign = set->labels[i] == 0 ? 1 : -1;
    double u = sign * set->xy[2 * i] / s + 0.5, v = sign * set->xy[2 * i + 1] / s + 0.25;
    g_assert_cmpfloat (fabs (hypot (u, v) - 1), <, 1e-5);
    g_assert_cmpfloat (v, >=, -1e-6);
  }
}

/* Mean and standard deviation (pooled over both axes) of class c's
 * distance from centre (cx, cy). */
static void
class_spread (const LamPlaygroundSet *set, int c, double cx, double cy, double *mx, double *my,
              double *sd)
{
  double sx = 0, sy = 0, ss = 0;
  int count = 0;
  for (int i = 0; i < set->n; i++) {
    if (set->labels[i] != c)
      continue;
    double dx = set->xy[2 * i] - cx, dy = set->xy[2 * i + 1] - cy;
    sx += dx;
    sy += dy;
    ss += dx * dx + dy * dy;
    count++;
  }
  *mx = cx + sx / count;
  *my = cy + sy / count;
  *sd = sqrt (ss / (2 * count));
}

static void
test_gauss_shape (void)
{
  for (int noisy = 0; noisy < 2; noisy++) {
    /* Jitter of noise·S added to the blob's own 0.4·S: variances add. */
    double noise = noisy ? 0.3 : 0, s = LAM_PLAYGROUND_SCALE;
    double expected = hypot (0.4 * s, noise * s);
    g_autoptr (LamPlaygroundSet) set = generate (LAM_PLAYGROUND_GAUSS, 10000, noise, 0, 5);
    for (int c = 0; c < 2; c++) {
      double centre = c == 0 ? -2 : 2, mx, my, sd;
      class_spread (set, c, centre, centre, &mx, &my, &sd);
      g_assert_cmpfloat (fabs (mx - centre), <, 0.06);
      g_assert_cmpfloat (fabs (my - centre), <, 0.06);
      g_assert_cmpfloat (fabs (sd - expected), <, 0.03 * expected);
    }
  }
}

static void
test_blobs_shape (void)
{
  const double s = LAM_PLAYGROUND_SCALE;

  for (int k = LAM_PLAYGROUND_MIN_BLOBS; k <= LAM_PLAYGROUND_MAX_BLOBS; k++) {
    g_autoptr (LamPlaygroundSet) set = generate (LAM_PLAYGROUND_BLOBS, 6000, 0, k, 5);
    g_assert_cmpint (set->n_classes, ==, k);
    g_autofree char *last = g_strdup_printf ("blob %d", k);
    g_assert_cmpstr (set->class_names[0], ==, "blob 1");
    g_assert_cmpstr (set->class_names[k - 1], ==, last);
    for (int c = 0; c < k; c++) {
      double angle = G_PI / 2 + 2 * G_PI * c / k, mx, my, sd;
      double cx = 1.4 * s * cos (angle), cy = 1.4 * s * sin (angle);
      class_spread (set, c, cx, cy, &mx, &my, &sd);
      g_assert_cmpfloat (hypot (mx - cx, my - cy), <, 0.06);
      g_assert_cmpfloat (fabs (sd - 0.24 * s), <, 0.03 * 0.24 * s);
    }
  }
}

static void
test_regression_shape (void)
{
  for (int noisy = 0; noisy < 2; noisy++) {
    double noise = noisy ? 0.3 : 0;
    for (int kind = LAM_PLAYGROUND_PLANE; kind <= LAM_PLAYGROUND_RIPPLE; kind++) {
      g_autoptr (LamPlaygroundSet) set = generate (kind, 10000, noise, 0, 9);
      double ss = 0, lo[2] = { 0, 0 }, hi[2] = { 0, 0 };
      for (int i = 0; i < set->n; i++) {
        double x1 = set->xy[2 * i], x2 = set->xy[2 * i + 1];
        double clean = kind == LAM_PLAYGROUND_PLANE
                         ? LAM_PLAYGROUND_PLANE_A * x1 + LAM_PLAYGROUND_PLANE_B * x2
                         : sin (G_PI * x1 / 6) * cos (G_PI * x2 / 6);
        double d = set->values[i] - clean;
        if (!noisy)
          g_assert_cmpfloat (fabs (d), <, 1e-6);
        ss += d * d;
        for (int a = 0; a < 2; a++) {
          lo[a] = MIN (lo[a], set->xy[2 * i + a]);
          hi[a] = MAX (hi[a], set->xy[2 * i + a]);
        }
      }
      /* The value's jitter has standard deviation noise. */
      if (noisy)
        g_assert_cmpfloat (fabs (sqrt (ss / set->n) - noise), <, 0.03 * noise);
      /* The inputs cover the whole square. */
      for (int a = 0; a < 2; a++) {
        g_assert_cmpfloat (lo[a], <, -0.99 * LAM_PLAYGROUND_EXTENT);
        g_assert_cmpfloat (hi[a], >, 0.99 * LAM_PLAYGROUND_EXTENT);
      }
    }
  }
}

/* Least squares v ≈ a·x1 + b·x2 + c through the normal equations, solved
 * by Cramer's rule. */
static void
test_plane_fit (void)
{
  g_autoptr (LamPlaygroundSet) set = generate (LAM_PLAYGROUND_PLANE, 1000, 0.1, 0, 11);
  double m[3][3] = { { 0 } }, r[3] = { 0 };

  for (int i = 0; i < set->n; i++) {
    double f[3] = { set->xy[2 * i], set->xy[2 * i + 1], 1 };
    for (int j = 0; j < 3; j++) {
      r[j] += f[j] * set->values[i];
      for (int l = 0; l < 3; l++)
        m[j][l] += f[j] * f[l];
    }
  }

#define DET3(a)                                                                                    \
  ((a)[0][0] * ((a)[1][1] * (a)[2][2] - (a)[1][2] * (a)[2][1]) -                                   \
   (a)[0][1] * ((a)[1][0] * (a)[2][2] - (a)[1][2] * (a)[2][0]) +                                   \
   (a)[0][2] * ((a)[1][0] * (a)[2][1] - (a)[1][1] * (a)[2][0]))
  double det = DET3 (m), coef[3];
  for (int j = 0; j < 3; j++) {
    double mj[3][3];
    memcpy (mj, m, sizeof m);
    for (int l = 0; l < 3; l++)
      mj[l][j] = r[l];
    coef[j] = DET3 (mj) / det;
  }
#undef DET3

  g_test_message ("plane fit: a = %.4f, b = %.4f, c = %.4f", coef[0], coef[1], coef[2]);
  g_assert_cmpfloat (fabs (coef[0] - LAM_PLAYGROUND_PLANE_A), <,
                     0.05 * fabs (LAM_PLAYGROUND_PLANE_A));
  g_assert_cmpfloat (fabs (coef[1] - LAM_PLAYGROUND_PLANE_B), <,
                     0.05 * fabs (LAM_PLAYGROUND_PLANE_B));
  g_assert_cmpfloat (fabs (coef[2]), <, 0.02);
}

/* ---- Errors. */

static void
expect_error (LamPlaygroundKind kind, int n, double noise, int n_classes, const char *const *words)
{
  LamPlaygroundParams params = {
    .kind = kind, .n_points = n, .noise = noise, .n_classes = n_classes, .seed = 1
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (LamPlaygroundSet) set = lam_playground_generate (&params, &error);

  g_assert_null (set);
  g_assert_error (error, LAM_PLAYGROUND_ERROR, LAM_PLAYGROUND_ERROR_INVALID);
  for (int i = 0; words[i]; i++) {
    if (strstr (error->message, words[i]) == NULL)
      g_error ("\"%s\" does not say \"%s\"", error->message, words[i]);
  }
}

static void
test_errors (void)
{
  expect_error (LAM_PLAYGROUND_CIRCLE, 9, 0.1, 0,
                (const char *[]){ "n_points", "10", "10000", "got 9", NULL });
  expect_error (LAM_PLAYGROUND_XOR, 10001, 0.1, 0,
                (const char *[]){ "n_points", "10", "10000", "got 10001", NULL });
  expect_error (LAM_PLAYGROUND_SPIRAL, 100, -0.1, 0,
                (const char *[]){ "noise", "0 and 1", "got -0.1", NULL });
  expect_error (LAM_PLAYGROUND_MOONS, 100, 1.5, 0,
                (const char *[]){ "noise", "0 and 1", "got 1.5", NULL });
  expect_error (LAM_PLAYGROUND_PLANE, 100, NAN, 0,
                (const char *[]){ "noise", "0 and 1", "got nan", NULL });
  expect_error (LAM_PLAYGROUND_BLOBS, 100, 0.1, 2,
                (const char *[]){ "n_classes", "3 and 6", "blobs", "got 2", NULL });
  expect_error (LAM_PLAYGROUND_BLOBS, 100, 0.1, 7,
                (const char *[]){ "n_classes", "3 and 6", "got 7", NULL });
  expect_error (LAM_PLAYGROUND_N_KINDS, 100, 0.1, 0,
                (const char *[]){ "kind", "circle", "ripple", "got 8", NULL });

  /* The ends of every range are allowed; n_classes means nothing but to
   * blobs. */
  g_autoptr (LamPlaygroundSet) a = generate (LAM_PLAYGROUND_GAUSS, 10, 0, 99, 1);
  g_autoptr (LamPlaygroundSet) b = generate (LAM_PLAYGROUND_BLOBS, 10000, 1, 6, 1);
  g_autoptr (LamPlaygroundSet) c = generate (LAM_PLAYGROUND_BLOBS, 10, 0, 3, 1);
  g_assert_cmpint (a->n_classes, ==, 2);
  g_assert_cmpint (b->n_classes, ==, 6);
  g_assert_cmpint (c->n_classes, ==, 3);
}

/* ---- The grid. */

static void
test_grid (void)
{
  float xy[3 * 4 * 2];
  lam_playground_grid (4, 3, 6, xy);

  /* Pixel centres: columns at -4.5, -1.5, 1.5, 4.5, rows at 4, 0, -4. */
  const float xs[] = { -4.5f, -1.5f, 1.5f, 4.5f }, ys[] = { 4, 0, -4 };
  for (int row = 0; row < 3; row++) {
    for (int col = 0; col < 4; col++) {
      g_assert_cmpfloat_with_epsilon (xy[2 * (row * 4 + col)], xs[col], 1e-6);
      g_assert_cmpfloat_with_epsilon (xy[2 * (row * 4 + col) + 1], ys[row], 1e-6);
    }
  }

  /* Any point of the square lands in the pixel whose centre is nearest. */
  const int w = 97, h = 61;
  g_autofree float *grid = g_new (float, 2 * w * h);
  lam_playground_grid (w, h, LAM_PLAYGROUND_EXTENT, grid);
  g_autoptr (LamPlaygroundSet) set = generate (LAM_PLAYGROUND_XOR, 500, 1, 0, 2);
  double e = LAM_PLAYGROUND_EXTENT;
  for (int i = 0; i < set->n; i++) {
    double x = set->xy[2 * i], y = set->xy[2 * i + 1];
    int col = CLAMP ((int) floor ((x + e) / (2 * e) * w), 0, w - 1);
    int row = CLAMP ((int) floor ((e - y) / (2 * e) * h), 0, h - 1);
    const float *p = grid + 2 * (row * w + col);
    g_assert_cmpfloat (fabs (p[0] - x), <=, e / w + 1e-5);
    g_assert_cmpfloat (fabs (p[1] - y), <=, e / h + 1e-5);
  }
}

/* ---- A reference network, written out to be read: 2 → 8 → 8 → k, tanh
 * hidden units, softmax and cross-entropy, plain SGD one point at a time,
 * in double precision and sharing no code with the engine. It answers
 * whether a set is learnable by a network of the size a lesson would use,
 * so a wrong set shows here rather than as a puzzled class. */

#define HIDDEN 8
#define K_MAX LAM_PLAYGROUND_MAX_BLOBS

typedef struct
{
  int k;
  double w1[HIDDEN][2], b1[HIDDEN];
  double w2[HIDDEN][HIDDEN], b2[HIDDEN];
  double w3[K_MAX][HIDDEN], b3[K_MAX];
} Mlp;

/* Glorot-uniform weights, zero biases. */
static void
mlp_init (Mlp *m, int k, guint32 seed)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  memset (m, 0, sizeof *m);
  m->k = k;
  double a1 = sqrt (6.0 / (2 + HIDDEN)), a2 = sqrt (6.0 / (2 * HIDDEN)),
         a3 = sqrt (6.0 / (HIDDEN + k));
  for (int j = 0; j < HIDDEN; j++) {
    for (int i = 0; i < 2; i++)
      m->w1[j][i] = g_rand_double_range (rand, -a1, a1);
    for (int i = 0; i < HIDDEN; i++)
      m->w2[j][i] = g_rand_double_range (rand, -a2, a2);
  }
  for (int c = 0; c < k; c++)
    for (int i = 0; i < HIDDEN; i++)
      m->w3[c][i] = g_rand_double_range (rand, -a3, a3);
}

/* x (2), already scaled to [-1, 1] → h1 (HIDDEN), h2 (HIDDEN), p (k)
 * probabilities. */
static void
mlp_forward (const Mlp *m, const double *x, double *h1, double *h2, double *p)
{
  for (int j = 0; j < HIDDEN; j++)
    h1[j] = tanh (m->w1[j][0] * x[0] + m->w1[j][1] * x[1] + m->b1[j]);
  for (int j = 0; j < HIDDEN; j++) {
    double z = m->b2[j];
    for (int i = 0; i < HIDDEN; i++)
      z += m->w2[j][i] * h1[i];
    h2[j] = tanh (z);
  }
  double top = -INFINITY, total = 0;
  for (int c = 0; c < m->k; c++) {
    double z = m->b3[c];
    for (int i = 0; i < HIDDEN; i++)
      z += m->w3[c][i] * h2[i];
    p[c] = z;
    top = MAX (top, z);
  }
  for (int c = 0; c < m->k; c++)
    total += p[c] = exp (p[c] - top);
  for (int c = 0; c < m->k; c++)
    p[c] /= total;
}

/* One SGD step on one point: the gradient of -log p[label] is p - onehot
 * at the logits, carried back through tanh' = 1 - tanh². */
static void
mlp_step (Mlp *m, const double *x, int label, double lr)
{
  double h1[HIDDEN], h2[HIDDEN], p[K_MAX], d2[HIDDEN] = { 0 }, d1[HIDDEN] = { 0 };

  mlp_forward (m, x, h1, h2, p);
  for (int c = 0; c < m->k; c++) {
    double g = p[c] - (c == label);
    for (int i = 0; i < HIDDEN; i++) {
      d2[i] += g * m->w3[c][i];
      m->w3[c][i] -= lr * g * h2[i];
    }
    m->b3[c] -= lr * g;
  }
  for (int j = 0; j < HIDDEN; j++) {
    double g = d2[j] * (1 - h2[j] * h2[j]);
    for (int i = 0; i < HIDDEN; i++) {
      d1[i] += g * m->w2[j][i];
      m->w2[j][i] -= lr * g * h1[i];
    }
    m->b2[j] -= lr * g;
  }
  for (int j = 0; j < HIDDEN; j++) {
    double g = d1[j] * (1 - h1[j] * h1[j]);
    m->w1[j][0] -= lr * g * x[0];
    m->w1[j][1] -= lr * g * x[1];
    m->b1[j] -= lr * g;
  }
}

static int
mlp_predict (const Mlp *m, const double *x, double *confidence)
{
  double h1[HIDDEN], h2[HIDDEN], p[K_MAX];
  int best = 0;
  mlp_forward (m, x, h1, h2, p);
  for (int c = 1; c < m->k; c++)
    if (p[c] > p[best])
      best = c;
  if (confidence)
    *confidence = p[best];
  return best;
}

static void
scaled_input (const float *xy, double *x)
{
  x[0] = xy[0] / LAM_PLAYGROUND_EXTENT;
  x[1] = xy[1] / LAM_PLAYGROUND_EXTENT;
}

/* Trains for `epochs` passes in a fresh order each, and returns the
 * accuracy on the training points. */
static double
mlp_train (Mlp *m, const LamPlaygroundSet *set, int epochs, double lr)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (17);
  g_autofree int *order = g_new (int, set->n);
  for (int i = 0; i < set->n; i++)
    order[i] = i;

  for (int epoch = 0; epoch < epochs; epoch++) {
    for (int i = set->n - 1; i > 0; i--) {
      int j = g_rand_int_range (rand, 0, i + 1), t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    for (int i = 0; i < set->n; i++) {
      double x[2];
      scaled_input (set->xy + 2 * order[i], x);
      mlp_step (m, x, set->labels[order[i]], lr);
    }
  }

  int right = 0;
  for (int i = 0; i < set->n; i++) {
    double x[2];
    scaled_input (set->xy + 2 * i, x);
    right += mlp_predict (m, x, NULL) == set->labels[i];
  }
  return (double) right / set->n;
}

static const double palette[K_MAX][3] = {
  { 0.96, 0.55, 0.20 }, /* orange */
  { 0.16, 0.45, 0.78 }, /* blue */
  { 0.20, 0.65, 0.30 }, /* green */
  { 0.60, 0.30, 0.70 }, /* purple */
  { 0.85, 0.20, 0.25 }, /* red */
  { 0.10, 0.65, 0.65 }, /* teal */
};

/* The network's classes over the square as pale colours, paler where it is
 * less sure, and the points on top in full colour: what the playground's
 * decision-boundary view will show. */
static void
save_boundary_png (const LamPlaygroundSet *set, const Mlp *m, const char *file)
{
  const int side = 300;
  const double e = LAM_PLAYGROUND_EXTENT;
  g_autofree float *grid = g_new (float, 2 * side * side);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, side, side);
  unsigned char *pixels = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);

  lam_playground_grid (side, side, e, grid);
  cairo_surface_flush (surface);
  for (int row = 0; row < side; row++) {
    guint32 *line = (guint32 *) (pixels + (gsize) row * stride);
    for (int col = 0; col < side; col++) {
      double x[2], confidence;
      scaled_input (grid + 2 * (row * side + col), x);
      int c = mlp_predict (m, x, &confidence);
      /* Confidence runs from 1/k to 1; mix 10% to 45% of the colour in. */
      double mix = 0.10 + 0.35 * (confidence - 1.0 / m->k) * m->k / (m->k - 1);
      guint32 rgb = 0;
      for (int ch = 0; ch < 3; ch++)
        rgb = rgb << 8 | (guint32) lround (255 * (1 - mix + mix * palette[c][ch]));
      line[col] = rgb;
    }
  }
  cairo_surface_mark_dirty (surface);

  cairo_t *cr = cairo_create (surface);
  cairo_set_line_width (cr, 1);
  for (int i = 0; i < set->n; i++) {
    double px = (set->xy[2 * i] + e) / (2 * e) * side,
           py = (e - set->xy[2 * i + 1]) / (2 * e) * side;
    const double *rgb = palette[set->labels[i]];
    cairo_arc (cr, px, py, 3.5, 0, 2 * G_PI);
    cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
    cairo_fill_preserve (cr);
    cairo_set_source_rgb (cr, 1, 1, 1);
    cairo_stroke (cr);
  }
  cairo_destroy (cr);

  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", file, NULL);
  g_assert_cmpint (cairo_surface_write_to_png (surface, path), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy (surface);
  g_test_message ("saved %s", path);
}

typedef struct
{
  LamPlaygroundKind kind;
  int n_classes;
  int epochs;
  double lr;
  double needed;
} Learnable;

static const Learnable learnable[] = {
  { LAM_PLAYGROUND_CIRCLE, 0, 300, 0.05, 0.95 },
  { LAM_PLAYGROUND_XOR, 0, 300, 0.05, 0.95 },
  { LAM_PLAYGROUND_GAUSS, 0, 300, 0.05, 0.95 },
  { LAM_PLAYGROUND_MOONS, 0, 300, 0.05, 0.95 },
  { LAM_PLAYGROUND_BLOBS, 4, 300, 0.05, 0.95 },
  /* Two arms of 1.75 turns are hard for 2-8-8-2: it gets there with ten
   * times the epochs and a smaller step (over seeds 1…10 and three inits,
   * 94% at worst, 98% on average), still in under half a second. */
  { LAM_PLAYGROUND_SPIRAL, 0, 5000, 0.01, 0.90 },
};

/* 200 points at noise 0.1, seed 1. */
static void
test_learnable (gconstpointer data)
{
  const Learnable *l = data;
  g_autoptr (LamPlaygroundSet) set = generate (l->kind, 200, 0.1, l->n_classes, 1);
  Mlp m;

  mlp_init (&m, set->n_classes, 1);
  double accuracy = mlp_train (&m, set, l->epochs, l->lr);
  g_test_message ("%s: %.1f%% after %d epochs", set->name, 100 * accuracy, l->epochs);

  g_autofree char *file =
    g_strdup_printf ("playground-%s.png", lam_playground_kind_to_string (l->kind));
  save_boundary_png (set, &m, file);
  g_assert_cmpfloat (accuracy, >=, l->needed);
}

/* Sets by name: the name gives back the same set, and every mistake in a
 * name is said. */
static void
test_uri (void)
{
  LamPlaygroundParams params;
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_playground_params_parse ("playground:spiral", &params, &error));
  g_assert_no_error (error);
  g_assert_cmpint (params.kind, ==, LAM_PLAYGROUND_SPIRAL);
  g_assert_cmpint (params.n_points, ==, 400);
  g_assert_cmpfloat (params.noise, ==, 0.1);
  g_assert_cmpuint (params.seed, ==, 1);

  g_assert_true (lam_playground_params_parse (
    "playground:blobs?points=250&noise=0.25&classes=5&seed=9", &params, &error));
  g_assert_cmpint (params.kind, ==, LAM_PLAYGROUND_BLOBS);
  g_assert_cmpint (params.n_points, ==, 250);
  g_assert_cmpfloat (params.noise, ==, 0.25);
  g_assert_cmpint (params.n_classes, ==, 5);
  g_assert_cmpuint (params.seed, ==, 9);
  g_autofree char *uri = lam_playground_params_to_uri (&params);
  g_assert_cmpstr (uri, ==, "playground:blobs?points=250&noise=0.25&classes=5&seed=9");
  LamPlaygroundParams again;
  g_assert_true (lam_playground_params_parse (uri, &again, &error));
  /* Field by field: the struct has padding before seed, which no parse writes. */
  g_assert_cmpint (again.kind, ==, params.kind);
  g_assert_cmpint (again.n_points, ==, params.n_points);
  g_assert_cmpfloat (again.noise, ==, params.noise);
  g_assert_cmpint (again.n_classes, ==, params.n_classes);
  g_assert_cmpuint (again.seed, ==, params.seed);

  const struct
  {
    const char *uri;
    const char *says;
  } bad[] = {
    { "spiral", "is not a playground set" },
    { "playground:donut", "unknown playground set \"donut\"" },
    { "playground:xor?points=5", "points must be between 10 and 10000, got 5" },
    { "playground:xor?points=12.5", "points must be a whole number" },
    { "playground:xor?noise=abc", "noise must be a number, got \"abc\"" },
    { "playground:xor?noise=2", "noise must be between 0 and 1" },
    { "playground:blobs?classes=9", "classes must be between 3 and 6" },
    { "playground:xor?colour=red", "unknown playground parameter \"colour\"" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_clear_error (&error);
    g_assert_false (lam_playground_params_parse (bad[i].uri, &params, &error));
    g_assert_error (error, LAM_PLAYGROUND_ERROR, LAM_PLAYGROUND_ERROR_INVALID);
    if (strstr (error->message, bad[i].says) == NULL)
      g_test_message ("%s: %s", bad[i].uri, error->message);
    g_assert_nonnull (strstr (error->message, bad[i].says));
  }
}

/* A set's points written as CSV (as lamina export does for a script) read
 * back as a table with a split column: the same numbers bit for bit, the
 * same classes, the training points first and then the test points. */
static void
test_write_csv (gconstpointer data)
{
  const char *uri = data;
  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_playground_load (uri, &train, &test, &error));
  g_assert_no_error (error);
  g_autofree char *dir = g_dir_make_tmp ("lamina-points-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "points.csv", NULL);
  g_assert_true (lam_dataset_table_write_csv (train, test, "split", path, &error));
  g_assert_no_error (error);

  gboolean regression = train->task == LAM_TASK_REGRESSION;
  const char *const targets[] = { regression ? "y" : "class", NULL };
  const char *const inputs[] = { "x1", "x2", NULL };
  LamCsvOptions options;
  lam_csv_options_init (&options);
  options.inputs = inputs;
  options.targets = targets;
  options.test_fraction = 0;
  g_autoptr (LamDataset) all = NULL;
  g_assert_true (lam_dataset_load_csv (path, &options, &all, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (all->n, ==, train->n + test->n);
  g_assert_cmpint (all->task, ==, train->task);
  for (int i = 0; i < all->n; i++) {
    const LamDataset *part = i < train->n ? train : test;
    int k = i < train->n ? i : i - train->n;
    g_assert_cmpmem (all->features + 2 * (gsize) i, 2 * sizeof (float),
                     part->features + 2 * (gsize) k, 2 * sizeof (float));
    if (regression)
      g_assert_cmpfloat (all->targets[i], ==, part->targets[k]);
    else
      g_assert_cmpstr (all->class_names[all->labels[i]], ==,
                       part->class_names[part->labels[k]]);
  }

  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (g_strchomp (text), "\n", -1);
  g_assert_cmpstr (lines[0], ==, regression ? "x1,x2,y,split" : "x1,x2,class,split");
  for (int i = 0; i < all->n; i++)
    g_assert_true (g_str_has_suffix (lines[1 + i], i < train->n ? ",train" : ",test"));
  g_remove (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/playground/kind/names", test_kind_names);
  for (int k = 0; k < LAM_PLAYGROUND_N_KINDS; k++) {
    g_autofree char *gen =
      g_strdup_printf ("/playground/generate/%s", lam_playground_kind_to_string (k));
    g_autofree char *seed =
      g_strdup_printf ("/playground/seed/%s", lam_playground_kind_to_string (k));
    g_test_add_data_func (gen, GINT_TO_POINTER (k), test_generate);
    g_test_add_data_func (seed, GINT_TO_POINTER (k), test_seed);
  }
  g_test_add_func ("/playground/seed/pinned", test_pinned);
  g_test_add_func ("/playground/shape/circle", test_circle_shape);
  g_test_add_func ("/playground/shape/xor", test_xor_shape);
  g_test_add_func ("/playground/shape/spiral", test_spiral_shape);
  g_test_add_func ("/playground/shape/moons", test_moons_shape);
  g_test_add_func ("/playground/shape/gauss", test_gauss_shape);
  g_test_add_func ("/playground/shape/blobs", test_blobs_shape);
  g_test_add_func ("/playground/shape/regression", test_regression_shape);
  g_test_add_func ("/playground/plane/least-squares", test_plane_fit);
  g_test_add_func ("/playground/errors", test_errors);
  g_test_add_func ("/playground/grid", test_grid);
  g_test_add_func ("/playground/uri", test_uri);
  g_test_add_data_func ("/playground/write-csv/classification",
                        "playground:blobs?points=120&classes=5&seed=3", test_write_csv);
  g_test_add_data_func ("/playground/write-csv/regression", "playground:ripple?points=90",
                        test_write_csv);
  for (guint i = 0; i < G_N_ELEMENTS (learnable); i++) {
    g_autofree char *path = g_strdup_printf ("/playground/learnable/%s",
                                             lam_playground_kind_to_string (learnable[i].kind));
    g_test_add_data_func (path, &learnable[i], test_learnable);
  }

  return g_test_run ();
}
