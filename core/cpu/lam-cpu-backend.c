/* lam-cpu-backend.c: the CPU backend, OpenBLAS for gemm and plain loops for
 * the rest. It is the reference every other backend is tested against, so
 * each op follows its comment in lam-backend.h to the letter.
 *
 * Where the CPU has AVX-512, the hot ops (gemm included) run the kernels of
 * lam-cpu-avx512.c instead; LAMINA_CPU_ISA=generic keeps the plain
 * loops and OpenBLAS, and test-backend checks both.
 *
 * Threads: OpenBLAS runs single-threaded and the backend splits large ops
 * over its own small pool. A small network's training step is hundreds of
 * small ops, and on the machines measured a core that writes a cache line
 * the other core holds pays some 30 ns for it, more than most of those ops
 * gain from a second core. So only ops with much work per byte they share
 * are split (convolutions by image, large activation maps, large products),
 * always into the same contiguous parts, each part on the same thread, so
 * that data stays with the core that made it from one op to the next.
 */
#include <glib.h>
#include <cblas.h>
#include <math.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "lam-backend.h"
#include "lam-cpu-avx512.h"
#include "lam-device.h"

#define CPU_ALIGNMENT 64

/* No machine this runs on has a tebibyte of memory; refusing larger requests
 * up front also keeps sanitizer builds, whose allocator aborts on absurd
 * sizes instead of failing, answering NULL. */
#define CPU_MAX_ALLOC (G_GUINT64_CONSTANT (1) << 40)

#define CPU_MAX_THREADS 64

/* The sizes from which an op is split over the threads: products of 64
 * MFLOP (or less: gemm_worth_splitting), activation maps of a million
 * bytes, optimizer updates and fills of a quarter of a million parameters
 * (a CNN's; an MLP's, whose gradients the thread that ran the layers
 * holds in its cache, stay whole below that). */
#define GEMM_PARALLEL_FLOPS (1 << 26)
#define ACTIVATION_PARALLEL (1 << 18)
#define PARAMETER_PARALLEL (1 << 18)

/* A busy-wait step. Not PAUSE: hypervisors deschedule a vCPU that keeps
 * pausing, taking it for a spinning lock waiter. */
#define cpu_relax() __asm__ __volatile__ ("" ::: "memory")

/* ---- OpenBLAS and the CPU ---- */

static gboolean
cpu_has_avx512 (void)
{
#ifdef LAM_CPU_HAVE_AVX512
  __builtin_cpu_init ();
  return __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512dq") &&
         __builtin_cpu_supports ("avx512bw") && __builtin_cpu_supports ("avx512vl");
#else
  return FALSE;
#endif
}

/* OpenBLAS's thread count before the first CPU backend set it to one: its
 * default (the cores this process may use) or OPENBLAS_NUM_THREADS. */
static int
openblas_start_threads (void)
{
  static gsize threads = 0;
  if (g_once_init_enter (&threads))
    g_once_init_leave (&threads, (gsize) MAX (openblas_get_num_threads (), 1));
  return (int) threads;
}

/* ---- thread pool ---- */

/* One job at a time: n_tasks calls of func (task, data). Task t runs on
 * thread t % n_threads, the caller being thread 0, so a job split the same
 * way as the one before finds its data in the same core's cache. Workers
 * spin for a while after a job, since the next op of a training step
 * follows within microseconds, and then sleep until woken. They take the
 * scheduling priority of the thread that hands them work (the trainer
 * lowers its own so that the UI stays responsive). */
typedef void (*PoolTask) (int task, void *data);

typedef struct _Pool Pool;

typedef struct
{
  Pool *pool;
  int index;
  GThread *thread;
} PoolWorker;

struct _Pool
{
  int n_threads; /* the workers and the caller */
  PoolWorker *workers;

  GMutex lock;
  GCond wake;
  int sleepers;  /* under lock */
  gboolean quit; /* under lock */
  atomic_int quitting;

  /* The job, written under lock while no worker is inside the last one. */
  PoolTask func;
  void *data;
  int n_tasks;
  int nice; /* the caller's */
  atomic_uint generation;
  atomic_int done;   /* tasks finished */
  atomic_int inside; /* workers that joined the job and have not finished */

  /* Held by the thread running a job; a second thread calling in meanwhile
   * (or a task calling in) runs its job alone. */
  atomic_flag busy;
};

/* How long an idle worker spins before it sleeps. */
#define POOL_SPIN_US 500

#ifdef __linux__
static int
thread_nice (void)
{
  return getpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid));
}

static void
set_thread_nice (int nice)
{
  setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), nice);
}
#else
static int
thread_nice (void)
{
  return 0;
}

static void
set_thread_nice (int nice)
{
}
#endif

/* The calling thread's priority, asked once per thread. */
static int
caller_nice (void)
{
  static _Thread_local int nice = INT_MIN;
  if (nice == INT_MIN)
    nice = thread_nice ();
  return nice;
}

static void
pool_run_share (Pool *pool, int thread, PoolTask func, void *data, int n_tasks)
{
  int ran = 0;
  for (int task = thread; task < n_tasks; task += pool->n_threads) {
    func (task, data);
    ran++;
  }
  if (ran > 0)
    atomic_fetch_add_explicit (&pool->done, ran, memory_order_release);
}

static gpointer
pool_worker (gpointer user_data)
{
  PoolWorker *worker = user_data;
  Pool *pool = worker->pool;
  unsigned seen = 0;
  int nice = thread_nice ();

  for (;;) {
    gint64 idle_since = 0;
    unsigned spins = 0;
    while (atomic_load_explicit (&pool->generation, memory_order_acquire) == seen) {
      if (atomic_load_explicit (&pool->quitting, memory_order_relaxed))
        return NULL;
      cpu_relax ();
      if (++spins % 4096 != 0)
        continue;
      gint64 now = g_get_monotonic_time ();
      if (idle_since == 0) {
        idle_since = now;
      } else if (now - idle_since > POOL_SPIN_US) {
        g_mutex_lock (&pool->lock);
        pool->sleepers++;
        while (atomic_load (&pool->generation) == seen && !pool->quit)
          g_cond_wait (&pool->wake, &pool->lock);
        pool->sleepers--;
        g_mutex_unlock (&pool->lock);
        idle_since = 0;
      }
    }

    g_mutex_lock (&pool->lock);
    if (pool->quit) {
      g_mutex_unlock (&pool->lock);
      return NULL;
    }
    seen = atomic_load (&pool->generation);
    PoolTask func = pool->func;
    void *data = pool->data;
    int n_tasks = pool->n_tasks;
    int caller = pool->nice;
    atomic_fetch_add (&pool->inside, 1);
    g_mutex_unlock (&pool->lock);

    if (caller != nice) {
      set_thread_nice (caller);
      nice = thread_nice ();
    }

    pool_run_share (pool, worker->index, func, data, n_tasks);
    atomic_fetch_sub_explicit (&pool->inside, 1, memory_order_release);
  }
}

static Pool *
pool_new (int n_threads)
{
  Pool *pool = g_new0 (Pool, 1);
  pool->n_threads = n_threads;
  g_mutex_init (&pool->lock);
  g_cond_init (&pool->wake);
  atomic_init (&pool->quitting, 0);
  atomic_init (&pool->generation, 0);
  atomic_init (&pool->done, 0);
  atomic_init (&pool->inside, 0);
  atomic_flag_clear (&pool->busy);
  pool->workers = g_new0 (PoolWorker, n_threads - 1);
  for (int i = 0; i < n_threads - 1; i++) {
    pool->workers[i].pool = pool;
    pool->workers[i].index = i + 1;
    pool->workers[i].thread = g_thread_new ("lam-cpu-worker", pool_worker, &pool->workers[i]);
  }
  return pool;
}

static void
pool_free (Pool *pool)
{
  if (pool == NULL)
    return;
  g_mutex_lock (&pool->lock);
  pool->quit = TRUE;
  atomic_store (&pool->quitting, 1);
  g_cond_broadcast (&pool->wake);
  g_mutex_unlock (&pool->lock);
  for (int i = 0; i < pool->n_threads - 1; i++)
    g_thread_join (pool->workers[i].thread);
  g_mutex_clear (&pool->lock);
  g_cond_clear (&pool->wake);
  g_free (pool->workers);
  g_free (pool);
}

/* Runs func for every task in [0, n_tasks) and returns when all are done;
 * each task must write its own part of the output. */
static void
pool_run (Pool *pool, int n_tasks, PoolTask func, void *data)
{
  if (pool == NULL || n_tasks <= 1 || atomic_flag_test_and_set (&pool->busy)) {
    for (int task = 0; task < n_tasks; task++)
      func (task, data);
    return;
  }

  g_mutex_lock (&pool->lock);
  /* A worker still inside the last job must leave before the job's fields
   * and counters change under it. */
  while (atomic_load_explicit (&pool->inside, memory_order_acquire) > 0) {
    g_mutex_unlock (&pool->lock);
    cpu_relax ();
    g_mutex_lock (&pool->lock);
  }
  pool->func = func;
  pool->data = data;
  pool->n_tasks = n_tasks;
  pool->nice = caller_nice ();
  atomic_store_explicit (&pool->done, 0, memory_order_relaxed);
  atomic_fetch_add_explicit (&pool->generation, 1, memory_order_release);
  if (pool->sleepers > 0)
    g_cond_broadcast (&pool->wake);
  g_mutex_unlock (&pool->lock);

  pool_run_share (pool, 0, func, data, n_tasks);
  for (unsigned spins = 1; atomic_load_explicit (&pool->done, memory_order_acquire) < n_tasks;
       spins++) {
    cpu_relax ();
    /* A worker that lost its core (another program is busy) needs it. */
    if (spins % 4096 == 0)
      sched_yield ();
  }
  atomic_flag_clear (&pool->busy);
}

/* ---- backend state ---- */

typedef struct
{
  int n_threads;
  Pool *pool; /* NULL with one thread */
  gboolean avx512;
} CpuContext;

static inline CpuContext *
cpu_context (LamBackend *self)
{
  return self->context;
}

/* Splits [0, n) into one contiguous range per thread, in multiples of 16
 * floats so that no two share a cache line, when n reaches `threshold`;
 * else runs func on all of it. */
typedef void (*RangeFunc) (size_t lo, size_t hi, void *data);

typedef struct
{
  RangeFunc func;
  void *data;
  size_t n, chunk;
} RangeJob;

static void
range_task (int task, void *data)
{
  RangeJob *job = data;
  size_t lo = (size_t) task * job->chunk;
  size_t hi = MIN (lo + job->chunk, job->n);
  if (lo < hi)
    job->func (lo, hi, job->data);
}

static void
parallel_ranges (LamBackend *self, size_t n, size_t threshold, RangeFunc func, void *data)
{
  CpuContext *ctx = cpu_context (self);
  if (ctx->n_threads <= 1 || n < threshold || n < 32) {
    if (n > 0)
      func (0, n, data);
    return;
  }
  size_t parts = (size_t) ctx->n_threads;
  size_t chunk = ((n + parts - 1) / parts + 15) / 16 * 16;
  RangeJob job = { func, data, n, chunk };
  pool_run (ctx->pool, (int) ((n + chunk - 1) / chunk), range_task, &job);
}

/* ---- memory ---- */

static void *
cpu_alloc (LamBackend *self, size_t bytes)
{
  if ((guint64) bytes > CPU_MAX_ALLOC || bytes > G_MAXSIZE - CPU_ALIGNMENT - sizeof (void *))
    return NULL;

  /* Over-allocate and keep the block's own address just below the aligned
   * pointer; g_try_malloc0 zero-fills without touching fresh pages. */
  char *raw = g_try_malloc0 (bytes + CPU_ALIGNMENT + sizeof (void *));
  if (raw == NULL)
    return NULL;
  guintptr start = (guintptr) (raw + sizeof (void *));
  void **aligned = (void **) ((start + CPU_ALIGNMENT - 1) & ~(guintptr) (CPU_ALIGNMENT - 1));
  aligned[-1] = raw;
  return aligned;
}

static void
cpu_free (LamBackend *self, void *ptr)
{
  if (ptr != NULL)
    g_free (((void **) ptr)[-1]);
}

static void
cpu_memcpy (LamBackend *self, void *dst, const void *src, size_t bytes)
{
  if (bytes > 0 && dst != src)
    memcpy (dst, src, bytes);
}

static void
cpu_synchronize (LamBackend *self)
{
}

static void
cpu_destroy (LamBackend *self)
{
  CpuContext *ctx = cpu_context (self);
  if (ctx != NULL) {
    pool_free (ctx->pool);
    g_free (ctx);
  }
  g_free (self);
}

typedef struct
{
  float *x;
  float value;
} FillJob;

static void
fill_range (size_t lo, size_t hi, void *data)
{
  FillJob *job = data;
  float *restrict x = job->x;
  /* +0.0 is all zero bits, and memset's stores beat a loop. */
  if (job->value == 0.0f && !signbit (job->value)) {
    memset (x + lo, 0, sizeof (float) * (hi - lo));
    return;
  }
  for (size_t i = lo; i < hi; i++)
    x[i] = job->value;
}

// x (n) = value
static void
cpu_fill (LamBackend *self, float *x, size_t n, float value)
{
  FillJob job = { x, value };
  parallel_ranges (self, n, PARAMETER_PARALLEL, fill_range, &job);
}

/* ---- gemm ---- */

/* One thread's product: the AVX-512 kernels where they apply, else
 * OpenBLAS. */
static void
sgemm (gboolean avx512, int trans_a, int trans_b, int m, int n, int k, float alpha,
       const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
#ifdef LAM_CPU_HAVE_AVX512
  if (avx512 && lam_cpu_avx512_sgemm (trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c,
                                      ldc))
    return;
#endif
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

typedef struct
{
  gboolean avx512;
  int trans_a, trans_b, m, n, k;
  float alpha;
  const float *a;
  int lda;
  const float *b;
  int ldb;
  float beta;
  float *c;
  int ldc;
  gboolean split_n; /* parts are column blocks of C, else row blocks */
  int chunk;
} GemmJob;

static void
gemm_part (int part, void *data)
{
  const GemmJob *j = data;
  int lo = part * j->chunk;
  int hi = MIN (lo + j->chunk, j->split_n ? j->n : j->m);
  if (lo >= hi)
    return;
  if (j->split_n)
    // C[:, lo:hi] = op(A) · op(B)[:, lo:hi]
    sgemm (j->avx512, j->trans_a, j->trans_b, j->m, hi - lo, j->k, j->alpha, j->a, j->lda,
           j->b + (j->trans_b ? (size_t) lo * j->ldb : (size_t) lo), j->ldb, j->beta, j->c + lo,
           j->ldc);
  else
    // C[lo:hi, :] = op(A)[lo:hi, :] · op(B)
    sgemm (j->avx512, j->trans_a, j->trans_b, hi - lo, j->n, j->k, j->alpha,
           j->a + (j->trans_a ? (size_t) lo : (size_t) lo * j->lda), j->lda, j->b, j->ldb, j->beta,
           j->c + (size_t) lo * j->ldc, j->ldc);
}

/* From GEMM_PARALLEL_FLOPS on, a product is split; from a quarter of that,
 * only when one of its matrices is larger than a core's own cache (a
 * CNN's first linear layer, 3136×128 floats), where each thread then works
 * on half of it. Below, the thread that made the operands keeps them in
 * its cache for the next layer. */
#define GEMM_CACHE_BYTES (1 << 20)

static gboolean
gemm_worth_splitting (int m, int n, int k)
{
  double flops = 2.0 * m * n * (double) k;
  double largest = sizeof (float) * MAX (MAX ((double) m * k, (double) k * n), (double) m * n);
  return flops >= GEMM_PARALLEL_FLOPS ||
         (flops >= GEMM_PARALLEL_FLOPS / 4 && largest > GEMM_CACHE_BYTES);
}

// c (m, n) = alpha * op(a) (m, k) · op(b) (k, n) + beta * c
static void
cpu_gemm (LamBackend *self, int trans_a, int trans_b, int m, int n, int k, float alpha,
          const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0) {
    // OpenBLAS rejects lda < 1 for an empty inner dimension; the product is 0.
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++)
        c[(size_t) i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(size_t) i * ldc + j];
    return;
  }

  /* Large products split C into row blocks (contiguous in memory), or
   * column blocks when it has too few rows, in multiples of 16. */
  CpuContext *ctx = cpu_context (self);
  int parts = ctx->n_threads;
  gboolean split_n = m < 32 * parts;
  int side = split_n ? n : m;
  parts = MIN (parts, side / 16);
  if (parts <= 1 || !gemm_worth_splitting (m, n, k)) {
    sgemm (ctx->avx512, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  GemmJob job = {
    ctx->avx512, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, split_n,
    ((side + parts - 1) / parts + 15) / 16 * 16,
  };
  pool_run (ctx->pool, (side + job.chunk - 1) / job.chunk, gemm_part, &job);
}

/* ---- bias ---- */

// y (outer, channels, inner) += bias (channels)
static void
cpu_bias_add (LamBackend *self, float *restrict y, const float *restrict bias, int outer,
              int channels, int inner)
{
  if (inner == 1) {
    for (int o = 0; o < outer; o++) {
      float *restrict row = y + (size_t) o * channels;
      for (int ch = 0; ch < channels; ch++)
        row[ch] += bias[ch];
    }
    return;
  }
  for (int o = 0; o < outer; o++)
    for (int ch = 0; ch < channels; ch++) {
      float *restrict row = y + ((size_t) o * channels + ch) * inner;
      float value = bias[ch];
      for (int i = 0; i < inner; i++)
        row[i] += value;
    }
}

/* Eight running sums instead of one let the compiler vectorise the sum
 * without reassociating floating point itself. */
static float
sum_floats (const float *restrict x, size_t n)
{
  float acc[8] = { 0 };
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++)
      acc[l] += x[i + l];
  float sum = 0.0f;
  for (; i < n; i++)
    sum += x[i];
  for (int l = 0; l < 8; l++)
    sum += acc[l];
  return sum;
}

// dbias (channels) += sum over outer and inner of dy (outer, channels, inner)
static void
cpu_bias_backward (LamBackend *self, const float *restrict dy, float *restrict dbias, int outer,
                   int channels, int inner)
{
  if (inner == 1) {
    for (int o = 0; o < outer; o++) {
      const float *restrict row = dy + (size_t) o * channels;
      for (int ch = 0; ch < channels; ch++)
        dbias[ch] += row[ch];
    }
    return;
  }
  for (int o = 0; o < outer; o++)
    for (int ch = 0; ch < channels; ch++)
      dbias[ch] += sum_floats (dy + ((size_t) o * channels + ch) * inner, (size_t) inner);
}

/* ---- activations ---- */

typedef struct
{
  LamActivation kind;
  float alpha;
  const float *x, *y, *dy;
  float *out;
  gboolean avx512;
} ActivationJob;

static void
activation_forward_range (size_t lo, size_t hi, void *data)
{
  const ActivationJob *job = data;
  const float *x = job->x + lo;
  float *y = job->out + lo;
  size_t n = hi - lo;
  float alpha = job->alpha;

  switch (job->kind) {
  case LAM_ACTIVATION_RELU:
#ifdef LAM_CPU_HAVE_AVX512
    if (job->avx512) {
      lam_cpu_avx512_relu_forward (x, y, n);
      break;
    }
#endif
    for (size_t i = 0; i < n; i++)
      y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    break;
  case LAM_ACTIVATION_LEAKY_RELU:
    for (size_t i = 0; i < n; i++)
      y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
    break;
  case LAM_ACTIVATION_SIGMOID:
    for (size_t i = 0; i < n; i++)
      y[i] = 1.0f / (1.0f + expf (-x[i]));
    break;
  case LAM_ACTIVATION_TANH:
    for (size_t i = 0; i < n; i++)
      y[i] = tanhf (x[i]);
    break;
  default:
    g_return_if_reached ();
  }
}

// y (n) = f(x (n)); y may alias x
static void
cpu_activation_forward (LamBackend *self, LamActivation kind, float alpha, const float *x,
                        float *y, size_t n)
{
  ActivationJob job = { kind, alpha, x, NULL, NULL, y, cpu_context (self)->avx512 };
  parallel_ranges (self, n, ACTIVATION_PARALLEL, activation_forward_range, &job);
}

static void
activation_backward_range (size_t lo, size_t hi, void *data)
{
  const ActivationJob *job = data;
  const float *x = job->x + lo, *y = job->y + lo, *dy = job->dy + lo;
  float *dx = job->out + lo;
  size_t n = hi - lo;
  float alpha = job->alpha;

  switch (job->kind) {
  case LAM_ACTIVATION_RELU:
#ifdef LAM_CPU_HAVE_AVX512
    if (job->avx512) {
      lam_cpu_avx512_relu_backward (x, dy, dx, n);
      break;
    }
#endif
    for (size_t i = 0; i < n; i++)
      dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
    break;
  case LAM_ACTIVATION_LEAKY_RELU:
    for (size_t i = 0; i < n; i++)
      dx[i] = x[i] > 0.0f ? dy[i] : alpha * dy[i];
    break;
  case LAM_ACTIVATION_SIGMOID:
    for (size_t i = 0; i < n; i++)
      dx[i] = y[i] * (1.0f - y[i]) * dy[i];
    break;
  case LAM_ACTIVATION_TANH:
    for (size_t i = 0; i < n; i++)
      dx[i] = (1.0f - y[i] * y[i]) * dy[i];
    break;
  default:
    g_return_if_reached ();
  }
}

/* dx (n) = f'(x) * dy; dx may alias dy. ReLU and leaky ReLU read x, sigmoid
 * and tanh read y, so an in-place forward (x == y) still works for ReLU with
 * a non-negative slope. */
static void
cpu_activation_backward (LamBackend *self, LamActivation kind, float alpha, const float *x,
                         const float *y, const float *dy, float *dx, size_t n)
{
  ActivationJob job = { kind, alpha, x, y, dy, dx, cpu_context (self)->avx512 };
  parallel_ranges (self, n, ACTIVATION_PARALLEL, activation_backward_range, &job);
}

/* ---- convolution lowering ---- */

/* The outputs o in [0, n_out) whose input o * stride + offset falls inside
 * [0, n_in) form one run [*lo, *hi). */
static void
valid_range (int n_out, int n_in, int stride, int offset, int *lo, int *hi)
{
  int first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int last = n_in - 1 - offset < 0 ? 0 : (n_in - 1 - offset) / stride + 1;
  *hi = MIN (last, n_out);
  *lo = MIN (first, *hi);
}

/* A convolution's geometry, and for the AVX-512 lowering of "same"
 * padding the zero pattern of its column rows (`same` TRUE when made). */
typedef struct
{
  int c, h, w, kh, kw, stride, pad, oh, ow;
#ifdef LAM_CPU_HAVE_AVX512
  gboolean same;
  uint16_t masks[LAM_CPU_SAME_MAX_TAPS * LAM_CPU_SAME_MAX_VECTORS];
#endif
} ConvShape;

static void
conv_shape_init (ConvShape *s, int c, int h, int w, int kh, int kw, int stride, int pad,
                 gboolean avx512)
{
  s->c = c;
  s->h = h;
  s->w = w;
  s->kh = kh;
  s->kw = kw;
  s->stride = stride;
  s->pad = pad;
  s->oh = (h + 2 * pad - kh) / stride + 1;
  s->ow = (w + 2 * pad - kw) / stride + 1;
#ifdef LAM_CPU_HAVE_AVX512
  s->same = avx512 && stride == 1 && lam_cpu_avx512_same_masks (h, w, kh, kw, pad, s->masks);
#endif
}

/* One image: im (c, h, w) -> col (c*kh*kw, oh*ow), rows ld floats apart. */
static void
im2col_image (const float *restrict im, const ConvShape *s, float *restrict col, size_t ld,
              gboolean avx512)
{
#ifdef LAM_CPU_HAVE_AVX512
  if (avx512 && s->same) {
    lam_cpu_avx512_im2col_same (im, s->c, s->h, s->w, s->kh, s->kw, s->pad, s->masks, col, ld);
    return;
  }
  if (avx512 && s->stride == 1) {
    lam_cpu_avx512_im2col_s1 (im, s->c, s->h, s->w, s->kh, s->kw, s->pad, col, ld);
    return;
  }
#endif
  int stride = s->stride;
  for (int ci = 0; ci < s->c; ci++)
    for (int ky = 0; ky < s->kh; ky++)
      for (int kx = 0; kx < s->kw; kx++) {
        float *restrict row = col + ((size_t) (ci * s->kh + ky) * s->kw + kx) * ld;
        int ox_lo, ox_hi;
        valid_range (s->ow, s->w, stride, kx - s->pad, &ox_lo, &ox_hi);
        for (int oy = 0; oy < s->oh; oy++) {
          float *restrict dst = row + (size_t) oy * s->ow;
          int iy = oy * stride - s->pad + ky;
          if (iy < 0 || iy >= s->h) {
            for (int ox = 0; ox < s->ow; ox++)
              dst[ox] = 0.0f;
            continue;
          }
          const float *restrict src = im + ((size_t) ci * s->h + iy) * s->w;
          int shift = kx - s->pad;
          for (int ox = 0; ox < ox_lo; ox++)
            dst[ox] = 0.0f;
          for (int ox = ox_lo; ox < ox_hi; ox++)
            dst[ox] = src[ox * stride + shift];
          for (int ox = ox_hi; ox < s->ow; ox++)
            dst[ox] = 0.0f;
        }
      }
}

/* One image: im (c, h, w) += what im2col read from each pixel of col. */
static void
col2im_image (const float *restrict col, const ConvShape *s, size_t ld, float *restrict im,
              gboolean avx512)
{
#ifdef LAM_CPU_HAVE_AVX512
  if (avx512 && s->same) {
    lam_cpu_avx512_col2im_same (col, s->c, s->h, s->w, s->kh, s->kw, s->pad, s->masks, ld, im);
    return;
  }
  if (avx512 && s->stride == 1) {
    lam_cpu_avx512_col2im_s1 (col, s->c, s->h, s->w, s->kh, s->kw, s->pad, ld, im);
    return;
  }
#endif
  int stride = s->stride;
  for (int ci = 0; ci < s->c; ci++)
    for (int ky = 0; ky < s->kh; ky++)
      for (int kx = 0; kx < s->kw; kx++) {
        const float *restrict row = col + ((size_t) (ci * s->kh + ky) * s->kw + kx) * ld;
        int ox_lo, ox_hi;
        valid_range (s->ow, s->w, stride, kx - s->pad, &ox_lo, &ox_hi);
        for (int oy = 0; oy < s->oh; oy++) {
          int iy = oy * stride - s->pad + ky;
          if (iy < 0 || iy >= s->h)
            continue;
          const float *restrict src = row + (size_t) oy * s->ow;
          float *restrict dst = im + ((size_t) ci * s->h + iy) * s->w;
          int shift = kx - s->pad;
          for (int ox = ox_lo; ox < ox_hi; ox++)
            dst[ox * stride + shift] += src[ox];
        }
      }
}

/* ---- convolution ---- */

/* Each image is lowered on its own: its columns (c*kh*kw, oh*ow) stay in
 * the core's cache and W (out_c, c*kh*kw) times them is the image's output
 * in NCHW order. The batch splits into one contiguous group of images per
 * thread; the groups share only the weight gradient, which each sums on
 * its own and the caller adds up in group order, so results do not depend
 * on thread timing.
 *
 * With the AVX-512 kernels, the backward sums the weight gradient
 * transposed, dWᵀ (c*kh*kw, out_c) += cols · dyᵀ: a broadcast product,
 * twice as fast as the dot products of dy · colsᵀ over oh*ow, for the
 * price of transposing each image's dy (out_c, oh*ow) and, once per op,
 * the sum. */
typedef struct
{
  ConvShape s;
  int batch, out_c, ckk;
  size_t plane;       /* oh * ow */
  gboolean direct;    /* 1×1, stride 1, no padding: the image is its own columns */
  gboolean avx512;
  gboolean transposed; /* backward: dWᵀ as above */
  const float *x, *weight, *bias, *dy;
  float *y, *dweight, *dbias, *dx;
  /* With a 2×2 max pool of stride 2 after the convolution: the pooled
   * output and its argmax (forward), or the pooled gradient to scatter
   * into dy before the backward, image by image while they are in cache. */
  float *pooled;
  int32_t *argmax;
  const float *dpooled;
  const int32_t *argmax_in;
  float *dy_out;
  float *scratch;
  size_t slot;        /* scratch floats a group needs, its sums included */
  size_t stride;      /* and where each group's starts: the scratch in equal parts */
  int n_groups;
} ConvJob;

static void
conv_job_init (ConvJob *j, LamBackend *self, int batch, int c, int h, int w, int out_c, int kh,
               int kw, int stride, int pad)
{
  memset (j, 0, sizeof *j);
  j->avx512 = cpu_context (self)->avx512;
  conv_shape_init (&j->s, c, h, w, kh, kw, stride, pad, j->avx512);
  j->batch = batch;
  j->out_c = out_c;
  j->ckk = c * kh * kw;
  j->plane = (size_t) j->s.oh * j->s.ow;
  j->direct = kh == 1 && kw == 1 && stride == 1 && pad == 0;
}

/* Sets the groups, each with a slot that fits its equal part of the
 * scratch (at least one group); ops of little work stay whole. Equal parts
 * put each thread's slot in the same place for every layer of a model, so
 * that no layer's thread writes where another layer's other thread did. */
static void
conv_groups (LamBackend *self, ConvJob *j, size_t scratch_floats)
{
  double flops = 2.0 * j->batch * j->out_c * (double) j->ckk * (double) j->plane;
  int groups = flops < GEMM_PARALLEL_FLOPS / 16 ? 1 : MIN (cpu_context (self)->n_threads, j->batch);
  while (groups > 1 && (scratch_floats / groups & ~(size_t) 15) < j->slot)
    groups--;
  j->n_groups = MAX (groups, 1);
  j->stride = j->n_groups > 1 ? scratch_floats / j->n_groups & ~(size_t) 15 : 0;
}

static void conv_pool_image (const ConvJob *j, int b);
static void conv_unpool_image (const ConvJob *j, int b);

static void
conv_forward_group (int group, void *data)
{
  const ConvJob *j = data;
  int b0 = (int) ((gint64) j->batch * group / j->n_groups);
  int b1 = (int) ((gint64) j->batch * (group + 1) / j->n_groups);
  float *col = j->scratch + j->stride * group;
  size_t in_image = (size_t) j->s.c * j->s.h * j->s.w;

  for (int b = b0; b < b1; b++) {
    const float *xb = j->x + b * in_image;
    float *yb = j->y + (size_t) b * j->out_c * j->plane;
    if (!j->direct)
      im2col_image (xb, &j->s, col, j->plane, j->avx512);
    const float *cols = j->direct ? xb : col;
#ifdef LAM_CPU_HAVE_AVX512
    if (j->avx512) {
      // W (out_c, ckk) · cols (ckk, plane) + bias (out_c) -> yb (out_c, plane)
      lam_cpu_avx512_sgemm_row_bias (j->out_c, (int) j->plane, j->ckk, j->weight, j->ckk, cols,
                                     (int) j->plane, j->bias, yb, (int) j->plane);
      if (j->pooled != NULL)
        conv_pool_image (j, b);
      continue;
    }
#endif
    float beta = 0.0f;
    if (j->bias != NULL) {
      // yb (out_c, plane) = bias, for the product to add to
      for (int o = 0; o < j->out_c; o++)
        for (size_t i = 0; i < j->plane; i++)
          yb[o * j->plane + i] = j->bias[o];
      beta = 1.0f;
    }
    // W (out_c, ckk) · cols (ckk, plane) -> yb (out_c, plane)
    sgemm (FALSE, 0, 0, j->out_c, (int) j->plane, j->ckk, 1.0f, j->weight, j->ckk, cols,
           (int) j->plane, beta, yb, (int) j->plane);
    if (j->pooled != NULL)
      conv_pool_image (j, b);
  }
}

/* x (batch, c, h, w), weight (out_c, c, kh, kw), bias (out_c) -> y (batch, out_c, oh, ow),
 * then, unless pooled is NULL, y -> pooled (batch, out_c, oh/2, ow/2), argmax */
static void
conv_forward (LamBackend *self, const float *x, const float *weight, const float *bias, float *y,
              float *pooled, int32_t *argmax, int batch, int c, int h, int w, int out_c, int kh,
              int kw, int stride, int pad, float *scratch, size_t scratch_floats)
{
  ConvJob j;
  conv_job_init (&j, self, batch, c, h, w, out_c, kh, kw, stride, pad);
  j.x = x;
  j.weight = weight;
  j.bias = bias;
  j.y = y;
  j.pooled = pooled;
  j.argmax = argmax;
  j.scratch = scratch;
  j.slot = j.direct ? 0 : (size_t) j.ckk * j.plane;
  g_return_if_fail (j.slot <= scratch_floats);
  conv_groups (self, &j, scratch_floats);
  pool_run (cpu_context (self)->pool, j.n_groups, conv_forward_group, &j);
}

/* A backward group's slot: the columns (unless direct), then the sums of
 * its weight gradient (dWᵀ when transposed, else dW; group 0 adds to dW
 * itself when not transposed) and of its bias gradient, then dyᵀ. */
typedef struct
{
  float *cols, *dweight, *dbias, *dy_t;
} ConvSlot;

static size_t
conv_backward_slot (const ConvJob *j, ConvSlot *slot, int group)
{
  size_t cols = j->direct ? 0 : (size_t) j->ckk * j->plane;
  size_t sums = (size_t) j->ckk * j->out_c + j->out_c;
  size_t dy_t = j->transposed ? j->plane * j->out_c : 0;
  if (slot != NULL) {
    float *base = j->scratch + j->stride * group;
    slot->cols = base;
    slot->dweight = base + cols;
    slot->dbias = slot->dweight + (size_t) j->ckk * j->out_c;
    slot->dy_t = slot->dbias + j->out_c;
  }
  return cols + sums + dy_t;
}

static void
conv_backward_group (int group, void *data)
{
  const ConvJob *j = data;
  int b0 = (int) ((gint64) j->batch * group / j->n_groups);
  int b1 = (int) ((gint64) j->batch * (group + 1) / j->n_groups);
  size_t in_image = (size_t) j->s.c * j->s.h * j->s.w;
  int plane = (int) j->plane, ckk = j->ckk, out_c = j->out_c;
  ConvSlot slot;
  conv_backward_slot (j, &slot, group);

  float *dweight = slot.dweight, *dbias = j->dbias != NULL ? slot.dbias : NULL;
  if (!j->transposed && group == 0) {
    dweight = j->dweight;
    dbias = j->dbias;
  } else {
    memset (slot.dweight, 0, sizeof (float) * ((size_t) ckk * out_c + out_c));
  }

  for (int b = b0; b < b1; b++) {
    const float *xb = j->x + b * in_image;
    if (j->dpooled != NULL)
      conv_unpool_image (j, b);
    const float *dyb = j->dy + (size_t) b * out_c * plane;
    const float *cols = xb;
    if (!j->direct) {
      im2col_image (xb, &j->s, slot.cols, plane, j->avx512);
      cols = slot.cols;
    }
#ifdef LAM_CPU_HAVE_AVX512
    if (j->transposed) {
      // dyb (out_c, plane) -> dy_t (plane, out_c)
      lam_cpu_avx512_transpose (dyb, plane, slot.dy_t, out_c, out_c, plane);
      // cols (ckk, plane) · dy_t (plane, out_c) -> dWᵀ (ckk, out_c) +=
      sgemm (TRUE, 0, 0, ckk, out_c, plane, 1.0f, cols, plane, slot.dy_t, out_c, 1.0f, dweight,
             out_c);
    } else
#endif
    {
      // dyb (out_c, plane) · cols (ckk, plane)ᵀ -> dW (out_c, ckk) +=
      sgemm (j->avx512, 0, 1, out_c, ckk, plane, 1.0f, dyb, plane, cols, plane, 1.0f, dweight,
             ckk);
    }
    // dyb (out_c, plane) -> dbias (out_c) +=
    if (dbias != NULL)
      for (int o = 0; o < out_c; o++)
        dbias[o] += sum_floats (dyb + (size_t) o * plane, plane);
    if (j->dx == NULL)
      continue;
    float *dxb = j->dx + b * in_image;
    // W (out_c, ckk)ᵀ · dyb (out_c, plane) -> dcol (ckk, plane), over the columns
    if (j->direct) {
      sgemm (j->avx512, 1, 0, ckk, plane, out_c, 1.0f, j->weight, ckk, dyb, plane, 0.0f, dxb,
             plane);
      continue;
    }
    sgemm (j->avx512, 1, 0, ckk, plane, out_c, 1.0f, j->weight, ckk, dyb, plane, 0.0f, slot.cols,
           plane);
    // dcol (ckk, plane) -> dxb (c, h, w)
    memset (dxb, 0, sizeof (float) * in_image);
    col2im_image (slot.cols, &j->s, plane, dxb, j->avx512);
  }
}

/* Unless dpooled is NULL, dpooled (batch, out_c, oh/2, ow/2) through argmax -> dy (batch,
 * out_c, oh, ow) first; then x, weight, dy -> dweight +=, dbias +=, dx (batch, c, h, w) = */
static void
conv_backward (LamBackend *self, const float *x, const float *weight, const float *dpooled,
               const int32_t *argmax, float *dy, float *dweight, float *dbias, float *dx,
               int batch, int c, int h, int w, int out_c, int kh, int kw, int stride, int pad,
               float *scratch, size_t scratch_floats)
{
  ConvJob j;
  conv_job_init (&j, self, batch, c, h, w, out_c, kh, kw, stride, pad);
  j.x = x;
  j.weight = weight;
  j.dy = dy;
  j.dpooled = dpooled;
  j.argmax_in = argmax;
  j.dy_out = dy;
  j.dweight = dweight;
  j.dbias = dbias;
  j.dx = dx;
  j.scratch = scratch;
  /* Transposed when one group's slot fits (the planned scratch for one
   * sample may be too small); else the plain way, whose first group needs
   * only the columns. */
  j.transposed = j.avx512;
  j.slot = conv_backward_slot (&j, NULL, 0);
  if (j.slot > scratch_floats) {
    j.transposed = FALSE;
    j.slot = conv_backward_slot (&j, NULL, 0);
  }
  if (j.slot <= scratch_floats)
    conv_groups (self, &j, scratch_floats);
  else
    j.n_groups = 1;
  if (!j.transposed && j.n_groups == 1)
    j.slot = j.direct ? 0 : (size_t) j.ckk * j.plane;
  g_return_if_fail (j.slot <= scratch_floats);
  pool_run (cpu_context (self)->pool, j.n_groups, conv_backward_group, &j);

  size_t n_weight = (size_t) out_c * j.ckk;
  ConvSlot first;
  conv_backward_slot (&j, &first, 0);
  for (int g = j.transposed ? 0 : 1; g < j.n_groups; g++) {
    ConvSlot slot;
    conv_backward_slot (&j, &slot, g);
    if (j.transposed && g > 0)
      for (size_t i = 0; i < n_weight; i++)
        first.dweight[i] += slot.dweight[i];
    else if (!j.transposed)
      for (size_t i = 0; i < n_weight; i++)
        dweight[i] += slot.dweight[i];
    if (dbias != NULL)
      for (int o = 0; o < out_c; o++)
        dbias[o] += slot.dbias[o];
  }
  if (j.transposed)
    // dWᵀ (ckk, out_c) summed over the groups -> dweight (out_c, ckk) +=
    for (int o = 0; o < out_c; o++)
      for (int r = 0; r < j.ckk; r++)
        dweight[(size_t) o * j.ckk + r] += first.dweight[(size_t) r * out_c + o];
}

static void
cpu_conv2d_forward (LamBackend *self, const float *x, const float *weight, const float *bias,
                    float *y, int batch, int c, int h, int w, int out_c, int kh, int kw,
                    int stride, int pad, float *scratch, size_t scratch_floats)
{
  conv_forward (self, x, weight, bias, y, NULL, NULL, batch, c, h, w, out_c, kh, kw, stride, pad,
                scratch, scratch_floats);
}

static void
cpu_conv2d_backward (LamBackend *self, const float *x, const float *weight, const float *dy,
                     float *dweight, float *dbias, float *dx, int batch, int c, int h, int w,
                     int out_c, int kh, int kw, int stride, int pad, float *scratch,
                     size_t scratch_floats)
{
  conv_backward (self, x, weight, NULL, NULL, (float *) dy, dweight, dbias, dx, batch, c, h, w,
                 out_c, kh, kw, stride, pad, scratch, scratch_floats);
}

/* The pool right after each image's convolution, on the same thread, reads
 * the image's output while it is still in that core's cache rather than in
 * a second pass over the batch's (megabytes of) output. */
static void
cpu_conv2d_maxpool2_forward (LamBackend *self, const float *x, const float *weight,
                             const float *bias, float *y, float *pooled, int32_t *argmax,
                             int batch, int c, int h, int w, int out_c, int kh, int kw, int stride,
                             int pad, float *scratch, size_t scratch_floats)
{
  conv_forward (self, x, weight, bias, y, pooled, argmax, batch, c, h, w, out_c, kh, kw, stride,
                pad, scratch, scratch_floats);
}

static void
cpu_conv2d_maxpool2_backward (LamBackend *self, const float *x, const float *weight,
                              const float *dpooled, const int32_t *argmax, float *dy,
                              float *dweight, float *dbias, float *dx, int batch, int c, int h,
                              int w, int out_c, int kh, int kw, int stride, int pad,
                              float *scratch, size_t scratch_floats)
{
  conv_backward (self, x, weight, dpooled, argmax, dy, dweight, dbias, dx, batch, c, h, w, out_c,
                 kh, kw, stride, pad, scratch, scratch_floats);
}

/* ---- pooling ---- */

typedef struct
{
  const float *x, *dy;
  float *y, *dx;
  int32_t *argmax;
  const int32_t *arg_in;
  int h, w, k, stride, pad, oh, ow;
  gboolean avx512;
} PoolJob;

static void
maxpool_planes (const PoolJob *j, size_t p0, size_t p1)
{
  int h = j->h, w = j->w, k = j->k, stride = j->stride, pad = j->pad, oh = j->oh, ow = j->ow;
  for (size_t p = p0; p < p1; p++) {
    const float *restrict in = j->x + p * h * w;
    float *restrict out = j->y + p * oh * ow;
    int32_t *restrict arg = j->argmax + p * oh * ow;
    for (int oy = 0; oy < oh; oy++) {
      int y0 = MAX (oy * stride - pad, 0), y1 = MIN (oy * stride - pad + k, h);
      for (int ox = 0; ox < ow; ox++) {
        int x0 = MAX (ox * stride - pad, 0), x1 = MIN (ox * stride - pad + k, w);
        float best = -INFINITY;
        int32_t best_index = -1;
        // Ties keep the first maximum and NaN wins, as PyTorch does.
        for (int iy = y0; iy < y1; iy++)
          for (int ix = x0; ix < x1; ix++) {
            float v = in[iy * w + ix];
            if (best_index < 0 || v > best || isnan (v)) {
              best = v;
              best_index = iy * w + ix;
            }
          }
        // A window lying wholly in the padding (pad >= k) has no input.
        out[oy * ow + ox] = best_index < 0 ? 0.0f : best;
        arg[oy * ow + ox] = best_index;
      }
    }
  }
}

static void
maxpool_forward_range (size_t p0, size_t p1, void *data)
{
  const PoolJob *j = data;
#ifdef LAM_CPU_HAVE_AVX512
  if (j->avx512 && j->k == 2 && j->stride == 2 && j->pad == 0) {
    lam_cpu_avx512_maxpool2 (j->x, j->y, j->argmax, p0, p1, j->h, j->w);
    return;
  }
#endif
  maxpool_planes (j, p0, p1);
}

// x (planes, h, w) -> y (planes, oh, ow), argmax (planes, oh, ow)
static void
cpu_maxpool_forward (LamBackend *self, const float *x, float *y, int32_t *argmax, int planes,
                     int h, int w, int k, int stride, int pad)
{
  PoolJob j = {
    .x = x, .y = y, .argmax = argmax, .h = h, .w = w, .k = k, .stride = stride, .pad = pad,
    .oh = (h + 2 * pad - k) / stride + 1, .ow = (w + 2 * pad - k) / stride + 1,
    .avx512 = cpu_context (self)->avx512,
  };
  /* Split by planes, as the activation ops split by floats. */
  size_t plane = MAX ((size_t) h * w, 1);
  parallel_ranges (self, planes, MAX (ACTIVATION_PARALLEL / plane, 1), maxpool_forward_range, &j);
}

static void
maxpool_backward_planes (const PoolJob *j, size_t p0, size_t p1)
{
  size_t in_plane = (size_t) j->h * j->w, out_plane = (size_t) j->oh * j->ow;
  memset (j->dx + p0 * in_plane, 0, sizeof (float) * (p1 - p0) * in_plane);
  for (size_t p = p0; p < p1; p++) {
    float *restrict grad = j->dx + p * in_plane;
    const float *restrict g = j->dy + p * out_plane;
    const int32_t *restrict arg = j->arg_in + p * out_plane;
    for (size_t o = 0; o < out_plane; o++)
      if (arg[o] >= 0)
        grad[arg[o]] += g[o];
  }
}

static void
maxpool_backward_range (size_t p0, size_t p1, void *data)
{
  const PoolJob *j = data;
#ifdef LAM_CPU_HAVE_AVX512
  /* Outputs of half the input's size mostly come from 2×2 windows of
   * stride 2; the kernel checks every argmax and gives the plane back when
   * one lies outside its window. */
  if (j->avx512 && j->oh >= 1 && j->ow >= 1 && j->h / 2 == j->oh && j->w / 2 == j->ow) {
    size_t in_plane = (size_t) j->h * j->w, out_plane = (size_t) j->oh * j->ow;
    for (size_t p = p0; p < p1; p++)
      if (!lam_cpu_avx512_maxpool2_backward_plane (j->dy + p * out_plane, j->arg_in + p * out_plane,
                                                   j->dx + p * in_plane, j->h, j->w))
        maxpool_backward_planes (j, p, p + 1);
    return;
  }
#endif
  maxpool_backward_planes (j, p0, p1);
}

// image b's convolution output (out_c, oh, ow) -> its 2×2 max pool
static void
conv_pool_image (const ConvJob *j, int b)
{
  PoolJob pool = {
    .x = j->y, .y = j->pooled, .argmax = j->argmax, .h = j->s.oh, .w = j->s.ow, .k = 2,
    .stride = 2, .pad = 0, .oh = j->s.oh / 2, .ow = j->s.ow / 2, .avx512 = j->avx512,
  };
  maxpool_forward_range ((size_t) b * j->out_c, (size_t) (b + 1) * j->out_c, &pool);
}

// image b's pooled gradient through its argmax -> its convolution output gradient
static void
conv_unpool_image (const ConvJob *j, int b)
{
  PoolJob pool = {
    .dy = j->dpooled, .arg_in = j->argmax_in, .dx = j->dy_out, .h = j->s.oh, .w = j->s.ow,
    .oh = j->s.oh / 2, .ow = j->s.ow / 2, .avx512 = j->avx512,
  };
  maxpool_backward_range ((size_t) b * j->out_c, (size_t) (b + 1) * j->out_c, &pool);
}

// dy (planes, oh, ow) -> dx (planes, h, w) through argmax
static void
cpu_maxpool_backward (LamBackend *self, const float *dy, const int32_t *argmax, float *dx,
                      int planes, int h, int w, int oh, int ow)
{
  PoolJob j = {
    .dy = dy, .arg_in = argmax, .dx = dx, .h = h, .w = w, .oh = oh, .ow = ow,
    .avx512 = cpu_context (self)->avx512,
  };
  size_t plane = MAX ((size_t) h * w, 1);
  parallel_ranges (self, planes, MAX (ACTIVATION_PARALLEL / plane, 1), maxpool_backward_range,
                   &j);
}

// x (planes, h, w) -> y (planes, oh, ow), divisor k*k
static void
cpu_avgpool_forward (LamBackend *self, const float *restrict x, float *restrict y, int planes,
                     int h, int w, int k, int stride, int pad)
{
  int oh = (h + 2 * pad - k) / stride + 1;
  int ow = (w + 2 * pad - k) / stride + 1;
  float scale = 1.0f / (float) (k * k);

  for (int p = 0; p < planes; p++) {
    const float *restrict in = x + (size_t) p * h * w;
    float *restrict out = y + (size_t) p * oh * ow;
    for (int oy = 0; oy < oh; oy++) {
      int y0 = MAX (oy * stride - pad, 0), y1 = MIN (oy * stride - pad + k, h);
      for (int ox = 0; ox < ow; ox++) {
        int x0 = MAX (ox * stride - pad, 0), x1 = MIN (ox * stride - pad + k, w);
        float sum = 0.0f;
        for (int iy = y0; iy < y1; iy++)
          for (int ix = x0; ix < x1; ix++)
            sum += in[iy * w + ix];
        out[oy * ow + ox] = sum * scale;
      }
    }
  }
}

// dy (planes, oh, ow) -> dx (planes, h, w)
static void
cpu_avgpool_backward (LamBackend *self, const float *restrict dy, float *restrict dx, int planes,
                      int h, int w, int k, int stride, int pad)
{
  int oh = (h + 2 * pad - k) / stride + 1;
  int ow = (w + 2 * pad - k) / stride + 1;
  float scale = 1.0f / (float) (k * k);

  memset (dx, 0, sizeof (float) * planes * h * w);
  for (int p = 0; p < planes; p++) {
    float *restrict grad = dx + (size_t) p * h * w;
    const float *restrict g = dy + (size_t) p * oh * ow;
    for (int oy = 0; oy < oh; oy++) {
      int y0 = MAX (oy * stride - pad, 0), y1 = MIN (oy * stride - pad + k, h);
      for (int ox = 0; ox < ow; ox++) {
        int x0 = MAX (ox * stride - pad, 0), x1 = MIN (ox * stride - pad + k, w);
        float share = g[oy * ow + ox] * scale;
        for (int iy = y0; iy < y1; iy++)
          for (int ix = x0; ix < x1; ix++)
            grad[iy * w + ix] += share;
      }
    }
  }
}

/* ---- softmax, dropout, losses, metrics ---- */


static float
row_max (const float *restrict x, int n)
{
  float m = x[0];
  for (int j = 1; j < n; j++)
    m = x[j] > m ? x[j] : m;
  return m;
}

// The row's maximum m, and log of the sum of exp (x - m). Callers subtract
// them one after the other, (x - m) - log_sum, as PyTorch does: adding them
// first (m + log_sum) loses the low bits of log_sum once m is large.
static float
row_shifted_logsumexp (const float *restrict x, int n, float *m_out)
{
  float m = row_max (x, n);
  float sum = 0.0f;
  for (int j = 0; j < n; j++)
    sum += expf (x[j] - m);
  *m_out = m;
  return logf (sum);
}

// x (rows, cols) -> y (rows, cols)
static void
cpu_softmax_forward (LamBackend *self, const float *restrict x, float *restrict y, int rows,
                     int cols, int log)
{
  for (int r = 0; r < rows; r++) {
    const float *restrict in = x + (size_t) r * cols;
    float *restrict out = y + (size_t) r * cols;
    if (log) {
      float m;
      float log_sum = row_shifted_logsumexp (in, cols, &m);
      for (int j = 0; j < cols; j++)
        out[j] = (in[j] - m) - log_sum;
    } else {
      float m = row_max (in, cols);
      float sum = 0.0f;
      for (int j = 0; j < cols; j++) {
        out[j] = expf (in[j] - m);
        sum += out[j];
      }
      float inv = 1.0f / sum;
      for (int j = 0; j < cols; j++)
        out[j] *= inv;
    }
  }
}

// y, dy (rows, cols) -> dx (rows, cols); dx may alias dy
static void
cpu_softmax_backward (LamBackend *self, const float *y, const float *dy, float *dx, int rows,
                      int cols, int log)
{
  for (int r = 0; r < rows; r++) {
    const float *out = y + (size_t) r * cols;
    const float *g = dy + (size_t) r * cols;
    float *grad = dx + (size_t) r * cols;
    float s = 0.0f;
    if (log) {
      for (int j = 0; j < cols; j++)
        s += g[j];
      for (int j = 0; j < cols; j++)
        grad[j] = g[j] - expf (out[j]) * s;
    } else {
      for (int j = 0; j < cols; j++)
        s += g[j] * out[j];
      for (int j = 0; j < cols; j++)
        grad[j] = out[j] * (g[j] - s);
    }
  }
}

// x (n) -> y (n), mask (n); y may alias x
static void
cpu_dropout_forward (LamBackend *self, const float *x, float *y, float *restrict mask, size_t n,
                     double p, uint64_t seed)
{
  if (p <= 0.0) {
    for (size_t i = 0; i < n; i++) {
      mask[i] = 1.0f;
      y[i] = x[i];
    }
    return;
  }
  // p >= 1 drops everything; 1 / (1 - p) would be infinite.
  float keep = p < 1.0 ? (float) (1.0 / (1.0 - p)) : 0.0f;
  for (size_t i = 0; i < n; i++) {
    mask[i] = lam_hash_uniform (seed, i) >= p ? keep : 0.0f;
    y[i] = x[i] * mask[i];
  }
}

// dx (n) = dy (n) * mask (n); dx may alias dy
static void
cpu_dropout_backward (LamBackend *self, const float *dy, const float *restrict mask, float *dx,
                      size_t n)
{
  for (size_t i = 0; i < n; i++)
    dx[i] = dy[i] * mask[i];
}

static gboolean
labels_valid (const int32_t *labels, int rows, int cols)
{
  for (int r = 0; r < rows; r++)
    if (labels[r] < 0 || labels[r] >= cols)
      return FALSE;
  return TRUE;
}

// x (rows, cols) logits, labels (rows) -> dx (rows, cols); *loss_acc += sum of row losses
static void
cpu_softmax_xent (LamBackend *self, const float *restrict x, const int32_t *restrict labels,
                  int rows, int cols, float grad_scale, float *restrict dx, float *loss_acc)
{
  g_return_if_fail (labels_valid (labels, rows, cols));

  double loss = 0.0;
  for (int r = 0; r < rows; r++) {
    const float *restrict in = x + (size_t) r * cols;
    float *restrict grad = dx + (size_t) r * cols;
    float m;
    float log_sum = row_shifted_logsumexp (in, cols, &m);
    for (int j = 0; j < cols; j++)
      grad[j] = expf ((in[j] - m) - log_sum) * grad_scale;
    grad[labels[r]] -= grad_scale;
    loss += log_sum - (in[labels[r]] - m);
  }
  *loss_acc += (float) loss;
}

// x (rows, cols) log-probabilities, labels (rows) -> dx (rows, cols); *loss_acc += sum
static void
cpu_nll (LamBackend *self, const float *restrict x, const int32_t *restrict labels, int rows,
         int cols, float grad_scale, float *restrict dx, float *loss_acc)
{
  g_return_if_fail (labels_valid (labels, rows, cols));

  double loss = 0.0;
  memset (dx, 0, sizeof (float) * rows * cols);
  for (int r = 0; r < rows; r++) {
    dx[(size_t) r * cols + labels[r]] = -grad_scale;
    loss -= x[(size_t) r * cols + labels[r]];
  }
  *loss_acc += (float) loss;
}

// x (rows, cols), labels (rows) as one-hot targets -> dx (rows, cols); *loss_acc += sum
static void
cpu_mse (LamBackend *self, const float *restrict x, const int32_t *restrict labels, int rows,
         int cols, float grad_scale, float *restrict dx, float *loss_acc)
{
  g_return_if_fail (labels_valid (labels, rows, cols));

  double loss = 0.0;
  float inv_cols = 1.0f / (float) cols;
  float scale = 2.0f * inv_cols * grad_scale;
  for (int r = 0; r < rows; r++) {
    const float *restrict in = x + (size_t) r * cols;
    float *restrict grad = dx + (size_t) r * cols;
    float sum = 0.0f;
    for (int j = 0; j < cols; j++) {
      float d = in[j] - (j == labels[r] ? 1.0f : 0.0f);
      sum += d * d;
      grad[j] = d * scale;
    }
    loss += sum * inv_cols;
  }
  *loss_acc += (float) loss;
}

static int32_t
row_argmax (const float *restrict x, int cols)
{
  int32_t best = 0;
  for (int j = 1; j < cols; j++)
    if (x[j] > x[best])
      best = j;
  return best;
}

// x (rows, cols) -> out (rows)
static void
cpu_argmax_rows (LamBackend *self, const float *restrict x, int rows, int cols,
                 int32_t *restrict out)
{
  for (int r = 0; r < rows; r++)
    out[r] = row_argmax (x + (size_t) r * cols, cols);
}

// x (rows, cols), labels (rows); *correct_acc += rows whose argmax is the label
static void
cpu_count_correct (LamBackend *self, const float *restrict x, const int32_t *restrict labels,
                   int rows, int cols, float *correct_acc)
{
  int correct = 0;
  for (int r = 0; r < rows; r++)
    correct += row_argmax (x + (size_t) r * cols, cols) == labels[r];
  *correct_acc += (float) correct;
}

/* ---- optimizers ---- */

typedef struct
{
  float *params, *momentum_buf, *m, *v;
  const float *grads;
  float lr, momentum, dampening, weight_decay;
  int nesterov, first_step;
  /* Adam */
  float beta1, beta2, eps, step_size, correction2_sqrt, decay, coupled;
  gboolean avx512;
} OptimJob;

static void
sgd_range (size_t lo, size_t hi, void *data)
{
  const OptimJob *j = data;
  float *restrict params = j->params, *restrict momentum_buf = j->momentum_buf;
  const float *restrict grads = j->grads;
  float lr = j->lr, momentum = j->momentum, dampening = j->dampening;
  float weight_decay = j->weight_decay;

  if (momentum == 0.0f) {
    for (size_t i = lo; i < hi; i++)
      params[i] -= lr * (grads[i] + weight_decay * params[i]);
    return;
  }
  for (size_t i = lo; i < hi; i++) {
    float g = grads[i] + weight_decay * params[i];
    float buf = j->first_step ? g : momentum * momentum_buf[i] + (1.0f - dampening) * g;
    momentum_buf[i] = buf;
    params[i] -= lr * (j->nesterov ? g + momentum * buf : buf);
  }
}

// params, grads, momentum_buf (n); momentum_buf is unused without momentum
static void
cpu_sgd_update (LamBackend *self, float *params, const float *grads, float *momentum_buf,
                size_t n, float lr, float momentum, float dampening, float weight_decay,
                int nesterov, int first_step)
{
  OptimJob j = {
    .params = params, .grads = grads, .momentum_buf = momentum_buf, .lr = lr,
    .momentum = momentum, .dampening = dampening, .weight_decay = weight_decay,
    .nesterov = nesterov, .first_step = first_step,
  };
  parallel_ranges (self, n, PARAMETER_PARALLEL, sgd_range, &j);
}

static void
adam_range (size_t lo, size_t hi, void *data)
{
  const OptimJob *j = data;
#ifdef LAM_CPU_HAVE_AVX512
  if (j->avx512) {
    lam_cpu_avx512_adam (j->params + lo, j->grads + lo, j->m + lo, j->v + lo, hi - lo, j->beta1,
                         j->beta2, j->eps, j->step_size, j->correction2_sqrt, j->decay,
                         j->coupled);
    return;
  }
#endif
  float *restrict params = j->params, *restrict m = j->m, *restrict v = j->v;
  const float *restrict grads = j->grads;
  float beta1 = j->beta1, beta2 = j->beta2, eps = j->eps, step_size = j->step_size;
  float correction2_sqrt = j->correction2_sqrt, decay = j->decay, coupled = j->coupled;

  for (size_t i = lo; i < hi; i++) {
    float p = params[i] * decay;
    float g = grads[i] + coupled * p;
    float mi = beta1 * m[i] + (1.0f - beta1) * g;
    float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] = p - step_size * mi / (sqrtf (vi) / correction2_sqrt + eps);
  }
}

// params, grads, m, v (n); step counts from 1
static void
cpu_adam_update (LamBackend *self, float *params, const float *grads, float *m, float *v,
                 size_t n, float lr, float beta1, float beta2, float eps, float weight_decay,
                 int decoupled, int step)
{
  OptimJob j = {
    .params = params, .grads = grads, .m = m, .v = v, .beta1 = beta1, .beta2 = beta2,
    .eps = eps,
    // PyTorch computes the bias corrections in double, on the host.
    .step_size = (float) (lr / (1.0 - pow (beta1, step))),
    .correction2_sqrt = (float) sqrt (1.0 - pow (beta2, step)),
    .decay = decoupled ? 1.0f - lr * weight_decay : 1.0f,
    .coupled = decoupled ? 0.0f : weight_decay,
    .avx512 = cpu_context (self)->avx512,
  };
  parallel_ranges (self, n, PARAMETER_PARALLEL, adam_range, &j);
}

/* ---- the table ---- */

/* LAMINA_NUM_THREADS, else OpenBLAS's own count at start-up (its default,
 * the cores this process may use, or OPENBLAS_NUM_THREADS). */
static int
choose_threads (void)
{
  const char *text = g_getenv ("LAMINA_NUM_THREADS");
  guint64 value;
  if (text != NULL && g_ascii_string_to_unsigned (text, 10, 1, CPU_MAX_THREADS, &value, NULL))
    return (int) value;
  return CLAMP (openblas_start_threads (), 1, CPU_MAX_THREADS);
}

LamBackend *
lam_backend_cpu_new (void)
{
  LamBackend *backend = g_new0 (LamBackend, 1);
  CpuContext *ctx = g_new0 (CpuContext, 1);

  backend->abi_version = LAM_BACKEND_ABI_VERSION;
  backend->name = "cpu";
  backend->context = ctx;

  /* Threads are the pool's: OpenBLAS runs each call on the thread making
   * it. This is process-wide and the same for every CPU backend. */
  ctx->n_threads = choose_threads ();
  openblas_set_num_threads (1);
  ctx->pool = ctx->n_threads > 1 ? pool_new (ctx->n_threads) : NULL;
  const char *isa = g_getenv ("LAMINA_CPU_ISA");
  ctx->avx512 = cpu_has_avx512 () && (isa == NULL || g_ascii_strcasecmp (isa, "generic") != 0);

  // The config string starts "OpenBLAS 0.3.21 DYNAMIC_ARCH ...": keep the name and version.
  g_auto (GStrv) words = g_strsplit (openblas_get_config (), " ", 3);
  g_autofree char *library = words[0] != NULL && words[1] != NULL
                               ? g_strdup_printf ("%s %s", words[0], words[1])
                               : g_strdup ("OpenBLAS");
  g_snprintf (backend->device_name, sizeof backend->device_name, "CPU (%s %s, %s, %d thread%s)",
              library, openblas_get_corename (), ctx->avx512 ? "AVX-512" : "generic loops",
              ctx->n_threads, ctx->n_threads == 1 ? "" : "s");

  backend->alloc = cpu_alloc;
  backend->free = cpu_free;
  backend->upload = cpu_memcpy;
  backend->download = cpu_memcpy;
  backend->copy = cpu_memcpy;
  backend->synchronize = cpu_synchronize;
  backend->destroy = cpu_destroy;
  backend->fill = cpu_fill;
  backend->gemm = cpu_gemm;
  backend->bias_add = cpu_bias_add;
  backend->bias_backward = cpu_bias_backward;
  backend->activation_forward = cpu_activation_forward;
  backend->activation_backward = cpu_activation_backward;
  backend->conv2d_forward = cpu_conv2d_forward;
  backend->conv2d_backward = cpu_conv2d_backward;
  backend->conv2d_maxpool2_forward = cpu_conv2d_maxpool2_forward;
  backend->conv2d_maxpool2_backward = cpu_conv2d_maxpool2_backward;
  backend->maxpool_forward = cpu_maxpool_forward;
  backend->maxpool_backward = cpu_maxpool_backward;
  backend->avgpool_forward = cpu_avgpool_forward;
  backend->avgpool_backward = cpu_avgpool_backward;
  backend->softmax_forward = cpu_softmax_forward;
  backend->softmax_backward = cpu_softmax_backward;
  backend->dropout_forward = cpu_dropout_forward;
  backend->dropout_backward = cpu_dropout_backward;
  backend->softmax_xent = cpu_softmax_xent;
  backend->nll = cpu_nll;
  backend->mse = cpu_mse;
  backend->argmax_rows = cpu_argmax_rows;
  backend->count_correct = cpu_count_correct;
  backend->sgd_update = cpu_sgd_update;
  backend->adam_update = cpu_adam_update;

  return backend;
}
