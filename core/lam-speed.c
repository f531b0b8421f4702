/* lam-speed.c: timing a backend's own operations. */
#include "lam-speed.h"

double
lam_backend_measure_gemm_gflops (LamBackend *backend, int n, int repeats)
{
  g_return_val_if_fail (backend != NULL && n > 0 && repeats > 0, 0);
  gsize bytes = sizeof (float) * n * n;
  float *a = backend->alloc (backend, bytes), *b = backend->alloc (backend, bytes);
  float *c = backend->alloc (backend, bytes);
  double best = 0;
  if (a != NULL && b != NULL && c != NULL) {
    backend->fill (backend, a, (gsize) n * n, 0.01f);
    backend->fill (backend, b, (gsize) n * n, 0.02f);
    // The first run pays for page faults and thread start-up.
    for (int r = 0; r <= repeats; r++) {
      gint64 start = g_get_monotonic_time ();
      backend->gemm (backend, 0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
      backend->synchronize (backend);
      double seconds = (g_get_monotonic_time () - start) / 1e6;
      if (r > 0)
        best = MAX (best, 2.0 * n * n * (double) n / seconds / 1e9);
    }
  }
  if (a != NULL)
    backend->free (backend, a);
  if (b != NULL)
    backend->free (backend, b);
  if (c != NULL)
    backend->free (backend, c);
  return best;
}
