/* The feature map: PCA against a plain double-precision reference, the
 * explained variance, orientation kept from frame to frame, and inputs a
 * map cannot be drawn from. */
#include <math.h>
#include <string.h>

#include "lam-feature-map.h"

static double
normal (GRand *rng)
{
  /* Box-Muller: enough for test data. */
  double u = g_rand_double_range (rng, 1e-12, 1), v = g_rand_double (rng);
  return sqrt (-2 * log (u)) * cos (2 * G_PI * v);
}

/* k orthonormal random directions in R^d (rows of out, k × d), by
 * Gram-Schmidt in double. */
static void
orthonormal (GRand *rng, int k, int d, double *out)
{
  for (int a = 0; a < k; a++) {
    double *v = out + (gsize) a * d;
    for (int j = 0; j < d; j++)
      v[j] = normal (rng);
    for (int b = 0; b < a; b++) {
      const double *u = out + (gsize) b * d;
      double p = 0;
      for (int j = 0; j < d; j++)
        p += v[j] * u[j];
      for (int j = 0; j < d; j++)
        v[j] -= p * u[j];
    }
    double norm = 0;
    for (int j = 0; j < d; j++)
      norm += v[j] * v[j];
    norm = sqrt (norm);
    for (int j = 0; j < d; j++)
      v[j] /= norm;
  }
}

/* n rows: an offset, plus sigma[a] × N(0, 1) along direction a, plus
 * noise × N(0, 1) in every coordinate. */
static float *
make_data (GRand *rng, int n, int d, const double *directions, const double *sigma, int k,
           double noise)
{
  float *data = g_new (float, (gsize) n * d);
  for (int i = 0; i < n; i++) {
    float *row = data + (gsize) i * d;
    for (int j = 0; j < d; j++)
      row[j] = (float) (1.5 + 0.1 * j + noise * normal (rng));
    for (int a = 0; a < k; a++) {
      double z = sigma[a] * normal (rng);
      for (int j = 0; j < d; j++)
        row[j] += (float) (z * directions[(gsize) a * d + j]);
    }
  }
  return data;
}

/* The reference: the covariance in double, its two leading eigenpairs by
 * power iteration with deflation, and the total variance. */
static void
reference_pca (const float *data, int n, int d, double *mean, double *vectors, double *values,
               double *total)
{
  g_autofree double *cov = g_new0 (double, (gsize) d * d);
  memset (mean, 0, sizeof (double) * d);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
      mean[j] += data[(gsize) i * d + j];
  for (int j = 0; j < d; j++)
    mean[j] /= n;
  g_autofree double *c = g_new (double, d);
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < d; j++)
      c[j] = data[(gsize) i * d + j] - mean[j];
    for (int a = 0; a < d; a++)
      for (int b = 0; b < d; b++)
        cov[(gsize) a * d + b] += c[a] * c[b] / (n - 1);
  }
  *total = 0;
  for (int a = 0; a < d; a++)
    *total += cov[(gsize) a * d + a];
  g_autofree double *next = g_new (double, d);
  for (int k = 0; k < 2; k++) {
    double *v = vectors + (gsize) k * d;
    for (int j = 0; j < d; j++)
      v[j] = 1.0 / (j + 1);
    double lambda = 0;
    for (int it = 0; it < 5000; it++) {
      for (int a = 0; a < d; a++) {
        next[a] = 0;
        for (int b = 0; b < d; b++)
          next[a] += cov[(gsize) a * d + b] * v[b];
      }
      double norm = 0;
      for (int a = 0; a < d; a++)
        norm += next[a] * next[a];
      norm = sqrt (norm);
      double change = 0;
      for (int a = 0; a < d; a++) {
        change += fabs (next[a] / norm - v[a]);
        v[a] = next[a] / norm;
      }
      lambda = norm;
      if (change < 1e-14)
        break;
    }
    values[k] = lambda;
    for (int a = 0; a < d; a++)
      for (int b = 0; b < d; b++)
        cov[(gsize) a * d + b] -= lambda * v[a] * v[b];
  }
}

static double
dot_fd (const float *a, const double *b, int d)
{
  double sum = 0;
  for (int j = 0; j < d; j++)
    sum += a[j] * b[j];
  return sum;
}

static double
dot_ff (const float *a, const float *b, int d)
{
  double sum = 0;
  for (int j = 0; j < d; j++)
    sum += (double) a[j] * b[j];
  return sum;
}

static void
test_matches_reference (void)
{
  const int n = 1500, d = 48;
  g_autoptr (GRand) rng = g_rand_new_with_seed (7);
  double directions[4 * 48];
  orthonormal (rng, 4, d, directions);
  const double sigma[4] = { 3.0, 2.0, 1.2, 0.7 };
  g_autofree float *data = make_data (rng, n, d, directions, sigma, 4, 0.1);

  double mean[48], vectors[2 * 48], values[2], total;
  reference_pca (data, n, d, mean, vectors, values, &total);

  g_autofree float *coords = g_new (float, 2 * n);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamFeatureMapAxes) axes = lam_feature_map_compute (data, n, d, NULL, coords, &error);
  g_assert_no_error (error);
  g_assert_nonnull (axes);
  g_assert_cmpint (axes->n_features, ==, d);

  for (int k = 0; k < 2; k++) {
    const float *axis = axes->axes + (gsize) k * d;
    g_assert_cmpfloat_with_epsilon (dot_ff (axis, axis, d), 1.0, 1e-5);
    double agreement = fabs (dot_fd (axis, vectors + (gsize) k * d, d));
    g_test_message ("axis %d: |cos| to the reference %.9f, variance %.6f (reference %.6f), "
                    "explained %.4f", k, agreement, axes->variance[k], values[k],
                    axes->explained[k]);
    g_assert_cmpfloat (agreement, >, 1 - 1e-6);
    g_assert_cmpfloat (fabs (axes->variance[k] - values[k]) / values[k], <, 1e-4);
    g_assert_cmpfloat (fabs (axes->explained[k] - values[k] / total), <, 1e-5);
  }
  g_assert_cmpfloat (fabs (axes->total_variance - total) / total, <, 1e-5);
  g_assert_cmpfloat (dot_ff (axes->axes, axes->axes + d, d), <, 1e-5);
  for (int j = 0; j < d; j++)
    g_assert_cmpfloat (fabs (axes->mean[j] - mean[j]), <, 1e-5);

  /* Every point's coordinates, and their spread, against the reference. */
  double spread[2] = { 0, 0 };
  for (int i = 0; i < n; i++)
    for (int k = 0; k < 2; k++) {
      double expected = 0;
      const double *v = vectors + (gsize) k * d;
      double sign = dot_fd (axes->axes + (gsize) k * d, v, d) < 0 ? -1 : 1;
      for (int j = 0; j < d; j++)
        expected += (data[(gsize) i * d + j] - mean[j]) * v[j] * sign;
      g_assert_cmpfloat (fabs (coords[2 * i + k] - expected), <, 1e-3 * (1 + fabs (expected)));
      spread[k] += (double) coords[2 * i + k] * coords[2 * i + k] / (n - 1);
    }
  for (int k = 0; k < 2; k++)
    g_assert_cmpfloat (fabs (spread[k] - axes->variance[k]) / axes->variance[k], <, 1e-4);
}

/* Data built along known directions with known variances: the map finds
 * them, and the explained fractions are their shares. */
static void
test_known_directions (void)
{
  const int n = 20000, d = 10;
  g_autoptr (GRand) rng = g_rand_new_with_seed (3);
  double directions[3 * 10];
  orthonormal (rng, 3, d, directions);
  const double sigma[3] = { 3.0, 2.0, 0.5 };
  g_autofree float *data = make_data (rng, n, d, directions, sigma, 3, 0);
  g_autofree float *coords = g_new (float, 2 * n);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamFeatureMapAxes) axes = lam_feature_map_compute (data, n, d, NULL, coords, &error);
  g_assert_no_error (error);
  /* Variances 9, 4 and 0.25 of 13.25 in all: 0.679 and 0.302. */
  g_test_message ("explained %.4f and %.4f (expected 0.679 and 0.302), variances %.3f and %.3f",
                  axes->explained[0], axes->explained[1], axes->variance[0], axes->variance[1]);
  g_assert_cmpfloat (fabs (dot_fd (axes->axes, directions, d)), >, 0.999);
  g_assert_cmpfloat (fabs (dot_fd (axes->axes + d, directions + d, d)), >, 0.999);
  g_assert_cmpfloat (fabs (axes->variance[0] - 9) / 9, <, 0.05);
  g_assert_cmpfloat (fabs (axes->variance[1] - 4) / 4, <, 0.05);
  g_assert_cmpfloat (fabs (axes->explained[0] - 9 / 13.25), <, 0.02);
  g_assert_cmpfloat (fabs (axes->explained[1] - 4 / 13.25), <, 0.02);
  g_assert_cmpfloat (axes->explained[0] + axes->explained[1], <=, 1 + 1e-9);

  /* Without a previous frame the sign is fixed: the largest component of
   * each axis is positive, so the same data always draws the same map. */
  for (int k = 0; k < 2; k++) {
    const float *axis = axes->axes + (gsize) k * d;
    int largest = 0;
    for (int j = 1; j < d; j++)
      if (fabsf (axis[j]) > fabsf (axis[largest]))
        largest = j;
    g_assert_cmpfloat (axis[largest], >, 0);
  }

  /* Projecting the rows again places them where the map put them. */
  g_autofree float *again = g_new (float, 2 * n);
  lam_feature_map_project (axes, data, n, again);
  g_assert_cmpmem (again, sizeof (float) * 2 * n, coords, sizeof (float) * 2 * n);
}

/* A recompute on slightly changed features turns to the previous frame:
 * signs follow it, whichever sign the eigensolver gave. */
static void
test_orientation_signs (void)
{
  const int n = 800, d = 16;
  g_autoptr (GRand) rng = g_rand_new_with_seed (11);
  double directions[2 * 16];
  orthonormal (rng, 2, d, directions);
  const double sigma[2] = { 2.0, 1.0 };
  g_autofree float *data = make_data (rng, n, d, directions, sigma, 2, 0.05);
  g_autofree float *coords = g_new (float, 2 * n);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamFeatureMapAxes) first = lam_feature_map_compute (data, n, d, NULL, coords, &error);
  g_assert_no_error (error);

  /* Next epoch: every feature moved a little. */
  for (gsize i = 0; i < (gsize) n * d; i++)
    data[i] += (float) (0.02 * normal (rng));
  for (int flip = 0; flip < 4; flip++) {
    /* A previous frame with either axis's sign turned: the new frame
     * follows whichever it is given. */
    g_autoptr (LamFeatureMapAxes) previous = lam_feature_map_axes_copy (first);
    for (int k = 0; k < 2; k++)
      if (flip & (1 << k))
        for (int j = 0; j < d; j++)
          previous->axes[(gsize) k * d + j] *= -1;
    g_autofree float *next_coords = g_new (float, 2 * n);
    g_autoptr (LamFeatureMapAxes) next =
      lam_feature_map_compute (data, n, d, previous, next_coords, &error);
    g_assert_no_error (error);
    for (int k = 0; k < 2; k++) {
      double agreement = dot_ff (next->axes + (gsize) k * d, previous->axes + (gsize) k * d, d);
      g_assert_cmpfloat (agreement, >, 0.99);
      g_assert_cmpfloat (next->explained[k], ==, next->variance[k] / next->total_variance);
    }
    g_assert_cmpfloat (next->explained[0], >, next->explained[1]);
    /* The points moved little, so the map did too; a flipped previous
     * axis mirrors the map along it. */
    for (int i = 0; i < n; i++)
      for (int k = 0; k < 2; k++) {
        double sign = flip & (1 << k) ? -1 : 1;
        g_assert_cmpfloat (fabs (next_coords[2 * i + k] - sign * coords[2 * i + k]), <, 0.2);
      }
  }
}

/* Two axes of nearly equal variance trade places between epochs: the new
 * frame keeps the old order, so the cloud does not turn a quarter. */
static void
test_orientation_swap (void)
{
  const int n = 4000, d = 12;
  g_autoptr (GRand) rng = g_rand_new_with_seed (5);
  double directions[2 * 12];
  orthonormal (rng, 2, d, directions);
  const double before[2] = { 2.1, 1.9 }, after[2] = { 1.9, 2.1 };
  g_autofree float *data = make_data (rng, n, d, directions, before, 2, 0.01);
  g_autofree float *coords = g_new (float, 2 * n);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamFeatureMapAxes) first = lam_feature_map_compute (data, n, d, NULL, coords, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (dot_fd (first->axes, directions, d)), >, 0.99);

  g_autofree float *data2 = make_data (rng, n, d, directions, after, 2, 0.01);
  /* Alone, the second epoch's leading axis is the other direction. */
  g_autoptr (LamFeatureMapAxes) alone = lam_feature_map_compute (data2, n, d, NULL, coords, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (dot_fd (alone->axes, directions + d, d)), >, 0.99);
  g_assert_cmpfloat (alone->explained[0], >, alone->explained[1]);

  /* After the first, it keeps the first's order and signs. */
  g_autoptr (LamFeatureMapAxes) kept = lam_feature_map_compute (data2, n, d, first, coords, &error);
  g_assert_no_error (error);
  for (int k = 0; k < 2; k++)
    g_assert_cmpfloat (dot_ff (kept->axes + (gsize) k * d, first->axes + (gsize) k * d, d), >,
                       0.99);
  /* The fractions went with their axes: x now explains less than y. */
  g_assert_cmpfloat (kept->explained[0], <, kept->explained[1]);
  g_assert_cmpfloat (kept->explained[0], ==, alone->explained[1]);
  g_assert_cmpfloat (kept->variance[1], ==, alone->variance[0]);
  /* And x is still the projection on the first frame's x axis. */
  g_autofree float *expected = g_new (float, 2 * n);
  lam_feature_map_project (kept, data2, n, expected);
  g_assert_cmpmem (expected, sizeof (float) * 2 * n, coords, sizeof (float) * 2 * n);
}

static void
test_degenerate (void)
{
  g_autoptr (GError) error = NULL;
  float coords[2 * 8];
  float data[8 * 3] = { 0 };

  /* Too few rows or features: an error naming the sizes, never a crash. */
  struct
  {
    int n, d;
  } sizes[] = { { 1, 3 }, { 0, 3 }, { 8, 1 }, { 8, 0 }, { -1, 3 } };
  for (guint c = 0; c < G_N_ELEMENTS (sizes); c++) {
    LamFeatureMapAxes *axes =
      lam_feature_map_compute (data, sizes[c].n, sizes[c].d, NULL, coords, &error);
    g_assert_null (axes);
    g_assert_error (error, LAM_FEATURE_MAP_ERROR, LAM_FEATURE_MAP_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "at least 2 rows"));
    g_clear_error (&error);
  }

  /* A value that is not a number: named by row and feature. */
  for (int i = 0; i < 8 * 3; i++)
    data[i] = (float) (i % 5);
  data[5 * 3 + 2] = NAN;
  g_assert_null (lam_feature_map_compute (data, 8, 3, NULL, coords, &error));
  g_assert_error (error, LAM_FEATURE_MAP_ERROR, LAM_FEATURE_MAP_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "feature 2 of row 5 is NaN"));
  g_clear_error (&error);
  data[5 * 3 + 2] = INFINITY;
  g_assert_null (lam_feature_map_compute (data, 8, 3, NULL, coords, &error));
  g_assert_error (error, LAM_FEATURE_MAP_ERROR, LAM_FEATURE_MAP_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "infinite"));
  g_clear_error (&error);
  data[5 * 3 + 2] = 1;

  /* A previous frame of another width. */
  g_autoptr (LamFeatureMapAxes) three = lam_feature_map_compute (data, 8, 3, NULL, coords, &error);
  g_assert_no_error (error);
  float wide[8 * 4] = { 0 };
  for (int i = 0; i < 8 * 4; i++)
    wide[i] = (float) (i % 7);
  g_assert_null (lam_feature_map_compute (wide, 8, 4, three, coords, &error));
  g_assert_error (error, LAM_FEATURE_MAP_ERROR, LAM_FEATURE_MAP_ERROR_MISMATCH);
  g_clear_error (&error);

  /* Features that do not vary (every unit dead): every point at the
   * origin, nothing explained, and the previous frame's axes kept. */
  for (int i = 0; i < 8 * 3; i++)
    data[i] = 0.25f * (i % 3);
  memset (coords, 0xff, sizeof coords);
  g_autoptr (LamFeatureMapAxes) flat = lam_feature_map_compute (data, 8, 3, NULL, coords, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (flat->total_variance, ==, 0);
  for (int k = 0; k < 2; k++) {
    g_assert_cmpfloat (flat->explained[k], ==, 0);
    g_assert_cmpfloat (flat->variance[k], ==, 0);
  }
  for (int i = 0; i < 16; i++)
    g_assert_cmpfloat (coords[i], ==, 0);
  g_assert_cmpfloat (flat->axes[0], ==, 1);
  g_assert_cmpfloat (flat->axes[3 + 1], ==, 1);
  g_assert_cmpfloat (flat->mean[2], ==, 0.5f);
  g_autoptr (LamFeatureMapAxes) flat_after =
    lam_feature_map_compute (data, 8, 3, three, coords, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (flat_after->axes, sizeof (float) * 6, three->axes, sizeof (float) * 6);

  /* Points on a line: one axis explains everything, the other nothing. */
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 3; j++)
      data[i * 3 + j] = (float) (i * (j + 1));
  g_autoptr (LamFeatureMapAxes) line = lam_feature_map_compute (data, 8, 3, NULL, coords, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (line->explained[0] - 1), <, 1e-6);
  g_assert_cmpfloat (line->explained[1], <, 1e-6);
  g_assert_cmpfloat (line->explained[1], >=, 0);
  for (int i = 0; i < 8; i++)
    g_assert_cmpfloat (fabsf (coords[2 * i + 1]), <, 1e-4);
}

/* The size of a real map: the test set's penultimate layer. */
static void
test_large (void)
{
  const int n = 10000, d = 512;
  g_autoptr (GRand) rng = g_rand_new_with_seed (1);
  g_autofree double *directions = g_new (double, 3 * d);
  orthonormal (rng, 3, d, directions);
  const double sigma[3] = { 4, 3, 2 };
  g_autofree float *data = make_data (rng, n, d, directions, sigma, 3, 0.3);
  g_autofree float *coords = g_new (float, 2 * n);
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  g_autoptr (LamFeatureMapAxes) axes = lam_feature_map_compute (data, n, d, NULL, coords, &error);
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  g_assert_no_error (error);
  g_test_message ("%d x %d features mapped in %.3f s; explained %.4f and %.4f", n, d, seconds,
                  axes->explained[0], axes->explained[1]);
  g_assert_cmpfloat (fabs (dot_fd (axes->axes, directions, d)), >, 0.99);
  g_assert_cmpfloat (fabs (dot_fd (axes->axes + d, directions + d, d)), >, 0.99);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/feature-map/pca/matches-double-reference", test_matches_reference);
  g_test_add_func ("/feature-map/pca/known-directions", test_known_directions);
  g_test_add_func ("/feature-map/pca/test-set-size", test_large);
  g_test_add_func ("/feature-map/orientation/signs", test_orientation_signs);
  g_test_add_func ("/feature-map/orientation/swap", test_orientation_swap);
  g_test_add_func ("/feature-map/degenerate", test_degenerate);
  return g_test_run ();
}
