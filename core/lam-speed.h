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

/* Seconds of one call of the backend's gemm, C (m, n) = op(A) · op(B), the
 * best of `repeats` after one warm-up: A's entries random, each nonzero
 * with probability `nonzero` (a ReLU's outputs, or the gradient behind
 * one), B's all nonzero. 0 when the buffers cannot be allocated. */
double lam_backend_time_gemm (LamBackend *backend, int trans_a, int trans_b, int m, int n, int k,
                              double nonzero, int repeats);

/* Seconds of one Adam update of n parameters, likewise. */
double lam_backend_time_adam (LamBackend *backend, gsize n, int repeats);

G_END_DECLS
