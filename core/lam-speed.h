/* lam-speed.h: what a backend can do at best, for `lamina bench` to set
 * its figures against. */
#pragma once

#include <glib.h>

#include "lam-backend.h"

G_BEGIN_DECLS

/* GFLOP/s of the backend's own gemm (its kernels, its threads) on an n×n
 * product, the best of `repeats` runs after one warm-up; 0 when the
 * buffers cannot be allocated. */
double lam_backend_measure_gemm_gflops (LamBackend *backend, int n, int repeats);

G_END_DECLS
