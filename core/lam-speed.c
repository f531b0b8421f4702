/* lam-speed.c: timing a backend's own operations. */
#include "lam-speed.h"

double
lam_backend_measure_gemm_gflops (LamBackend *backend, int n, int repeats)
{
  g_return_val_if_fail (backend != NULL && n > 0 && repeats > 0, 0);
  double seconds = lam_backend_time_gemm (backend, 0, 0, n, n, n, 1.0, repeats);
  return seconds > 0 ? 2.0 * n * n * (double) n / seconds / 1e9 : 0;
}

/* A buffer of n floats on the backend, uniform in [-0.5, 0.5), each one
 * zero with probability 1 - nonzero (as a ReLU leaves its outputs and
 * the gradients behind it). */
static float *
random_buffer (LamBackend *backend, GRand *rand, gsize n, double nonzero)
{
  g_autofree float *host = g_new (float, n);
  for (gsize i = 0; i < n; i++) {
    float value = (float) g_rand_double_range (rand, -0.5, 0.5);
    host[i] = g_rand_double (rand) < nonzero ? value : 0.0f;
  }
  float *device = backend->alloc (backend, sizeof (float) * n);
  if (device != NULL)
    backend->upload (backend, device, host, sizeof (float) * n);
  return device;
}

/* Rounds of calls long enough for the clock (a millisecond or more, from
 * the first call's time), after one round that pays for page faults,
 * scratch and thread start-up: the best round's seconds a call. */
#define ROUND_SECONDS 1e-3

static double
best_seconds (void (*call) (gpointer), gpointer data, int repeats)
{
  gint64 start = g_get_monotonic_time ();
  call (data);
  double first = MAX ((g_get_monotonic_time () - start) / 1e6, 1e-7);
  int calls = (int) CLAMP (ROUND_SECONDS / first, 1, 10000);
  double best = G_MAXDOUBLE;
  for (int r = 0; r <= repeats; r++) {
    start = g_get_monotonic_time ();
    for (int i = 0; i < calls; i++)
      call (data);
    double seconds = (g_get_monotonic_time () - start) / 1e6 / calls;
    if (r > 0)
      best = MIN (best, seconds);
  }
  return best;
}

typedef struct
{
  LamBackend *backend;
  int trans_a, trans_b, m, n, k;
  const float *a;
  int lda;
  const float *b;
  int ldb;
  float *c;
} GemmCall;

static void
gemm_call (gpointer data)
{
  GemmCall *g = data;
  g->backend->gemm (g->backend, g->trans_a, g->trans_b, g->m, g->n, g->k, 1.0f, g->a, g->lda, g->b,
                    g->ldb, 0.0f, g->c, g->n);
  g->backend->synchronize (g->backend);
}

typedef struct
{
  LamBackend *backend;
  float *params;
  const float *grads;
  float *m, *v;
  gsize n;
  int step;
} AdamCall;

static void
adam_call (gpointer data)
{
  AdamCall *a = data;
  a->backend->adam_update (a->backend, a->params, a->grads, a->m, a->v, a->n, 0.001f, 0.9f, 0.999f,
                           1e-8f, 0.0f, FALSE, ++a->step);
  a->backend->synchronize (a->backend);
}

double
lam_backend_time_gemm (LamBackend *backend, int trans_a, int trans_b, int m, int n, int k,
                       double nonzero, int repeats)
{
  g_return_val_if_fail (backend != NULL && m > 0 && n > 0 && k > 0 && repeats > 0, 0);
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  float *a = random_buffer (backend, rand, (gsize) m * k, nonzero);
  float *b = random_buffer (backend, rand, (gsize) k * n, 1.0);
  float *c = backend->alloc (backend, sizeof (float) * m * n);
  double best = 0;
  if (a != NULL && b != NULL && c != NULL) {
    GemmCall call = {
      backend, trans_a, trans_b, m, n, k, a, trans_a ? m : k, b, trans_b ? k : n, c
    };
    best = best_seconds (gemm_call, &call, repeats);
  }
  if (a != NULL)
    backend->free (backend, a);
  if (b != NULL)
    backend->free (backend, b);
  if (c != NULL)
    backend->free (backend, c);
  return best;
}

double
lam_backend_time_adam (LamBackend *backend, gsize n, int repeats)
{
  g_return_val_if_fail (backend != NULL && n > 0 && repeats > 0, 0);
  g_autoptr (GRand) rand = g_rand_new_with_seed (8);
  float *params = random_buffer (backend, rand, n, 1.0);
  float *grads = random_buffer (backend, rand, n, 1.0);
  float *m = backend->alloc (backend, sizeof (float) * n);
  float *v = backend->alloc (backend, sizeof (float) * n);
  double best = 0;
  if (params != NULL && grads != NULL && m != NULL && v != NULL) {
    backend->fill (backend, m, n, 0.0f);
    backend->fill (backend, v, n, 0.0f);
    AdamCall call = { backend, params, grads, m, v, n, 0 };
    best = best_seconds (adam_call, &call, repeats);
  }
  float *buffers[] = { params, grads, m, v };
  for (guint i = 0; i < G_N_ELEMENTS (buffers); i++)
    if (buffers[i] != NULL)
      backend->free (backend, buffers[i]);
  return best;
}
