#include "lam-feature-map.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (lam-feature-map-error-quark, lam_feature_map_error)

/* Rows centred at a time: the features are never copied whole (60,000
 * images × 512 features would be another 120 MB). */
#define BLOCK_ROWS 256

/* LAPACK's symmetric eigensolver (OpenBLAS carries LAPACK; Debian ships no
 * lapacke.h). Fortran passes every argument by reference, and gfortran
 * appends the lengths of the character arguments. */
extern void dsyevr_ (const char *jobz, const char *range, const char *uplo, const int *n,
                     double *a, const int *lda, const double *vl, const double *vu, const int *il,
                     const int *iu, const double *abstol, int *m, double *w, double *z,
                     const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
                     const int *liwork, int *info, size_t jobz_len, size_t range_len,
                     size_t uplo_len);

void
lam_feature_map_axes_free (LamFeatureMapAxes *axes)
{
  if (axes == NULL)
    return;
  g_free (axes->mean);
  g_free (axes->axes);
  g_free (axes);
}

static LamFeatureMapAxes *
axes_new (int d)
{
  LamFeatureMapAxes *axes = g_new0 (LamFeatureMapAxes, 1);
  axes->n_features = d;
  axes->mean = g_new0 (float, d);
  axes->axes = g_new0 (float, 2 * (gsize) d);
  return axes;
}

LamFeatureMapAxes *
lam_feature_map_axes_copy (const LamFeatureMapAxes *axes)
{
  g_return_val_if_fail (axes != NULL, NULL);
  LamFeatureMapAxes *copy = g_memdup2 (axes, sizeof *axes);
  copy->mean = g_memdup2 (axes->mean, sizeof (float) * axes->n_features);
  copy->axes = g_memdup2 (axes->axes, sizeof (float) * 2 * axes->n_features);
  return copy;
}

void
lam_feature_map_project (const LamFeatureMapAxes *axes, const float *features, int n,
                         float *coords_out)
{
  g_return_if_fail (axes != NULL && (n == 0 || (features != NULL && coords_out != NULL)));
  int d = axes->n_features;
  const float *a0 = axes->axes, *a1 = axes->axes + d;
  for (int i = 0; i < n; i++) {
    const float *row = features + (gsize) i * d;
    double x = 0, y = 0;
    for (int j = 0; j < d; j++) {
      double c = (double) row[j] - axes->mean[j];
      x += c * a0[j];
      y += c * a1[j];
    }
    coords_out[2 * (gsize) i] = (float) x;
    coords_out[2 * (gsize) i + 1] = (float) y;
  }
}

static double
dot (const float *a, const float *b, int d)
{
  double sum = 0;
  for (int j = 0; j < d; j++)
    sum += (double) a[j] * b[j];
  return sum;
}

static void
negate (float *v, int d)
{
  for (int j = 0; j < d; j++)
    v[j] = -v[j];
}

static void
swap_axes (LamFeatureMapAxes *axes)
{
  int d = axes->n_features;
  for (int j = 0; j < d; j++) {
    float t = axes->axes[j];
    axes->axes[j] = axes->axes[d + j];
    axes->axes[d + j] = t;
  }
  double v = axes->variance[0];
  axes->variance[0] = axes->variance[1];
  axes->variance[1] = v;
  v = axes->explained[0];
  axes->explained[0] = axes->explained[1];
  axes->explained[1] = v;
}

/* Turns the new axes to agree with the previous frame's: places first
 * (the pairing whose dot products are larger in size), then signs. */
static void
orient (LamFeatureMapAxes *axes, const LamFeatureMapAxes *previous)
{
  int d = axes->n_features;
  float *a0 = axes->axes, *a1 = axes->axes + d;
  if (previous == NULL) {
    /* Eigenvectors come with an arbitrary sign: fix it by the largest
     * component, as scikit-learn's svd_flip does. */
    for (int k = 0; k < 2; k++) {
      float *a = axes->axes + (gsize) k * d;
      int largest = 0;
      for (int j = 1; j < d; j++)
        if (fabsf (a[j]) > fabsf (a[largest]))
          largest = j;
      if (a[largest] < 0)
        negate (a, d);
    }
    return;
  }
  const float *p0 = previous->axes, *p1 = previous->axes + d;
  double straight = fabs (dot (a0, p0, d)) + fabs (dot (a1, p1, d));
  double crosswise = fabs (dot (a0, p1, d)) + fabs (dot (a1, p0, d));
  if (crosswise > straight)
    swap_axes (axes);
  if (dot (a0, p0, d) < 0)
    negate (a0, d);
  if (dot (a1, p1, d) < 0)
    negate (a1, d);
}

LamFeatureMapAxes *
lam_feature_map_compute (const float *features, int n, int d, const LamFeatureMapAxes *previous,
                         float *coords_out, GError **error)
{
  g_return_val_if_fail (n <= 0 || d <= 0 || features != NULL, NULL);
  g_return_val_if_fail (n <= 0 || coords_out != NULL, NULL);

  if (n < 2 || d < 2 || d > LAM_FEATURE_MAP_MAX_FEATURES) {
    g_set_error (error, LAM_FEATURE_MAP_ERROR, LAM_FEATURE_MAP_ERROR_INVALID,
                 "a map needs at least 2 rows of 2 to %d features; got %d row%s of %d",
                 LAM_FEATURE_MAP_MAX_FEATURES, n, n == 1 ? "" : "s", d);
    return NULL;
  }
  if (previous != NULL && previous->n_features != d) {
    g_set_error (error, LAM_FEATURE_MAP_ERROR, LAM_FEATURE_MAP_ERROR_MISMATCH,
                 "the previous map has %d features per row; these rows have %d: draw the map "
                 "afresh (no previous frame) when the layer changes", previous->n_features, d);
    return NULL;
  }

  g_autofree double *sum = g_new0 (double, d);
  for (int i = 0; i < n; i++) {
    const float *row = features + (gsize) i * d;
    for (int j = 0; j < d; j++) {
      if (!isfinite (row[j])) {
        g_set_error (error, LAM_FEATURE_MAP_ERROR, LAM_FEATURE_MAP_ERROR_INVALID,
                     "feature %d of row %d is %s, not a finite number: the network's outputs "
                     "have diverged", j, i, isnan (row[j]) ? "NaN" : "infinite");
        return NULL;
      }
      sum[j] += row[j];
    }
  }
  g_autoptr (LamFeatureMapAxes) axes = axes_new (d);
  for (int j = 0; j < d; j++)
    axes->mean[j] = (float) (sum[j] / n);

  /* Covariance, block by block: each block's rows centred in float, their
   * Gram matrix by ssyrk, summed in double so that 10,000 rows lose no
   * more than one block does. Row-major upper triangle: j >= i. */
  g_autofree double *cov = g_new0 (double, (gsize) d * d);
  g_autofree float *block = g_new (float, (gsize) BLOCK_ROWS * d);
  g_autofree float *gram = g_new (float, (gsize) d * d);
  for (int start = 0; start < n; start += BLOCK_ROWS) {
    int rows = MIN (BLOCK_ROWS, n - start);
    for (int r = 0; r < rows; r++) {
      const float *row = features + (gsize) (start + r) * d;
      float *out = block + (gsize) r * d;
      for (int j = 0; j < d; j++)
        out[j] = row[j] - axes->mean[j];
    }
    // gram (d, d) = blockᵀ (d, rows) · block (rows, d), upper triangle
    cblas_ssyrk (CblasRowMajor, CblasUpper, CblasTrans, d, rows, 1.0f, block, d, 0.0f, gram, d);
    for (int i = 0; i < d; i++)
      for (int j = i; j < d; j++)
        cov[(gsize) i * d + j] += gram[(gsize) i * d + j];
  }
  double total = 0;
  for (int i = 0; i < d; i++) {
    for (int j = i; j < d; j++) {
      double c = cov[(gsize) i * d + j] / (n - 1);
      cov[(gsize) i * d + j] = cov[(gsize) j * d + i] = c;
    }
    total += cov[(gsize) i * d + i];
  }
  axes->total_variance = total;

  if (!(total > 0)) {
    /* Nothing varies: every point is the mean. Keep the last frame's axes
     * so that the next epoch's map turns from where this one stood. */
    if (previous != NULL) {
      memcpy (axes->axes, previous->axes, sizeof (float) * 2 * d);
    } else {
      axes->axes[0] = 1;
      axes->axes[d + 1] = 1;
    }
    memset (coords_out, 0, sizeof (float) * 2 * (gsize) n);
    return g_steal_pointer (&axes);
  }

  /* The two largest eigenvalues (1-based indices d-1 and d, ascending). */
  const int il = d - 1, iu = d, query = -1;
  const double vl = 0, vu = 0, abstol = 0;
  int found = 0, info = 0, iwork_size = 0;
  double w[2], work_size = 0;
  g_autofree double *z = g_new (double, 2 * (gsize) d);
  g_autofree int *isuppz = g_new (int, 2 * 2);
  dsyevr_ ("V", "I", "U", &d, cov, &d, &vl, &vu, &il, &iu, &abstol, &found, w, z, &d, isuppz,
           &work_size, &query, &iwork_size, &query, &info, 1, 1, 1);
  int lwork = MAX ((int) work_size, 26 * d), liwork = MAX (iwork_size, 10 * d);
  g_autofree double *work = g_new (double, lwork);
  g_autofree int *iwork = g_new (int, liwork);
  if (info == 0)
    dsyevr_ ("V", "I", "U", &d, cov, &d, &vl, &vu, &il, &iu, &abstol, &found, w, z, &d, isuppz,
             work, &lwork, iwork, &liwork, &info, 1, 1, 1);
  if (info != 0 || found != 2) {
    g_set_error (error, LAM_FEATURE_MAP_ERROR, LAM_FEATURE_MAP_ERROR_FAILED,
                 "the eigensolver (LAPACK dsyevr) failed on the %d × %d covariance (info %d, "
                 "%d of 2 eigenvalues found)", d, d, info, found);
    return NULL;
  }
  for (int k = 0; k < 2; k++) {
    /* Column 1 of z holds the largest eigenvalue's vector. */
    const double *v = z + (gsize) (1 - k) * d;
    double norm = 0;
    for (int j = 0; j < d; j++)
      norm += v[j] * v[j];
    norm = sqrt (norm);
    for (int j = 0; j < d; j++)
      axes->axes[(gsize) k * d + j] = (float) (v[j] / norm);
    /* Rounding can leave a zero eigenvalue a hair below 0. */
    axes->variance[k] = MAX (w[1 - k], 0.0);
    axes->explained[k] = axes->variance[k] / total;
  }
  orient (axes, previous);
  lam_feature_map_project (axes, features, n, coords_out);
  return g_steal_pointer (&axes);
}
