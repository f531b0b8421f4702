/* lam-cpu-threads.c: the CPU backend's thread pool, and the split of an
 * element-wise op into one contiguous range per thread.
 */
#include <glib.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "lam-cache.h"
#include "lam-cpu-private.h"
#include "lam-cpu-scratch.h"

/* A busy-wait step. Not PAUSE: hypervisors deschedule a vCPU that keeps
 * pausing, taking it for a spinning lock waiter. */
#define cpu_relax() __asm__ __volatile__ ("" ::: "memory")

/* One job at a time: n_tasks calls of func (task, data). Task t runs on
 * thread t % n_threads, the caller being thread 0, so a job split the same
 * way as the one before finds its data in the same core's cache; but each
 * task is claimed before it runs, and the caller, done with its own, runs
 * those no worker has claimed yet. A worker that has lost its core to
 * another thread (the evaluation of new weights beside a training run, on
 * two cores) would otherwise keep the caller spinning until it gets the
 * core back. Workers spin for a while after a job, since the next op of a
 * training step follows within microseconds, and then sleep until woken.
 * They take the scheduling priority of the thread that hands them work
 * (the trainer lowers its own so that the UI stays responsive).
 *
 * A job is handed over in one cache line (JobLine): its ticket, its
 * fields, the claims of its first 64 tasks and the count of those done.
 * A waiting worker reads the whole job with the line that tells it there
 * is one, and joins and claims its task by writing that line once more.
 * Each line a job's start passes between the cores is a round trip, which
 * on two vCPUs placed far apart costs 330-470 ns: the pool's lock, counters
 * and claims on lines of their own made the start of a job about eleven
 * of them, and a worker taking the lock while the caller still held it
 * slept in the kernel until woken. */
typedef struct
{
  ThreadPool *pool;
  int index;
  GThread *thread;
} ThreadWorker;

#define CACHE_LINE 64

/* The ticket: the job's generation in the low 32 bits, odd while the
 * caller writes a job, and in the high 32 the workers inside the job
 * (those that joined and have not left). A worker joins only by
 * compare-and-swap on a ticket of an even generation, and the caller
 * makes it odd only when no worker is inside, so a worker inside reads
 * fields that do not change under it. */
#define TICKET_GENERATION(t) ((guint32) (t))
#define TICKET_INSIDE(t) ((guint32) ((t) >> 32))
#define TICKET_ONE_INSIDE ((guint64) 1 << 32)

/* Tasks claimed in the line's bit mask; those from here on in claims_more. */
#define LINE_CLAIMS 64

typedef struct
{
  _Atomic guint64 ticket;
  _Atomic guint64 claims; /* bit t: task t claimed, t < LINE_CLAIMS */
  atomic_int done;        /* tasks finished */
  int n_tasks;
  ThreadTask func;
  void *data;
  int nice; /* the caller's */
} JobLine;

G_STATIC_ASSERT (sizeof (JobLine) <= CACHE_LINE);

struct _ThreadPool
{
  JobLine job; /* first, on a line of its own: the pool is allocated aligned */
  char job_pad[CACHE_LINE - sizeof (JobLine)];

  /* Written rarely: the workers read none of it while a job runs. */
  int n_threads; /* the workers and the caller */
  ThreadWorker *workers;
  atomic_uchar *claims_more; /* tasks LINE_CLAIMS.. of the job */
  int claims_more_size;

  GMutex lock;
  GCond wake;
  atomic_int sleepers; /* changed under lock */
  gboolean quit;       /* under lock */
  atomic_int quitting;

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

static gboolean
claim (ThreadPool *pool, int task)
{
  if (task < LINE_CLAIMS) {
    guint64 bit = (guint64) 1 << task;
    return (atomic_fetch_or_explicit (&pool->job.claims, bit, memory_order_acq_rel) & bit) == 0;
  }
  return atomic_exchange_explicit (&pool->claims_more[task - LINE_CLAIMS], 1,
                                   memory_order_acq_rel) == 0;
}

/* Runs the tasks of `thread` that no one has claimed; with steal, every
 * task unclaimed. Returns how many it ran. */
static int
pool_run_share (ThreadPool *pool, int thread, ThreadTask func, void *data, int n_tasks,
                gboolean steal)
{
  int ran = 0;
  for (int task = thread; task < n_tasks; task += pool->n_threads) {
    if (claim (pool, task)) {
      func (task, data);
      ran++;
    }
  }
  for (int task = 0; steal && task < n_tasks; task++) {
    if (task % pool->n_threads != thread && claim (pool, task)) {
      func (task, data);
      ran++;
    }
  }
  return ran;
}

/* Sleeps until a job other than `seen` is handed out, or the pool quits. */
static void
pool_worker_sleep (ThreadPool *pool, guint32 seen)
{
  g_mutex_lock (&pool->lock);
  /* Counted before the ticket is read again, as the caller hands out a
   * job before it reads the count: one of the two sees the other. */
  atomic_fetch_add (&pool->sleepers, 1);
  while (TICKET_GENERATION (atomic_load (&pool->job.ticket)) == seen && !pool->quit)
    g_cond_wait (&pool->wake, &pool->lock);
  atomic_fetch_sub (&pool->sleepers, 1);
  g_mutex_unlock (&pool->lock);
}

static gpointer
pool_worker (gpointer user_data)
{
  ThreadWorker *worker = user_data;
  ThreadPool *pool = worker->pool;
  guint32 seen = 0;
  int nice = thread_nice ();

  for (;;) {
    gint64 idle_since = 0;
    unsigned spins = 0;
    guint64 ticket;
    for (;;) {
      ticket = atomic_load_explicit (&pool->job.ticket, memory_order_acquire);
      guint32 generation = TICKET_GENERATION (ticket);
      // Joined: inside, the job's fields stay as they are until it leaves.
      if (generation != seen && generation % 2 == 0 &&
          atomic_compare_exchange_weak (&pool->job.ticket, &ticket, ticket + TICKET_ONE_INSIDE))
        break;
      if (atomic_load_explicit (&pool->quitting, memory_order_relaxed))
        return NULL;
      cpu_relax ();
      if (++spins % 4096 != 0)
        continue;
      gint64 now = g_get_monotonic_time ();
      if (idle_since == 0) {
        idle_since = now;
      } else if (now - idle_since > POOL_SPIN_US) {
        pool_worker_sleep (pool, seen);
        idle_since = 0;
      }
    }
    seen = TICKET_GENERATION (ticket);
    ThreadTask func = pool->job.func;
    void *data = pool->job.data;
    int n_tasks = pool->job.n_tasks;
    int caller = pool->job.nice;

    if (caller != nice) {
      set_thread_nice (caller);
      nice = thread_nice ();
    }

    int ran = pool_run_share (pool, worker->index, func, data, n_tasks, FALSE);
    if (ran > 0)
      atomic_fetch_add_explicit (&pool->job.done, ran, memory_order_release);
    atomic_fetch_sub_explicit (&pool->job.ticket, TICKET_ONE_INSIDE, memory_order_release);
  }
}

ThreadPool *
lam_cpu_threads_new (int n_threads)
{
  ThreadPool *pool = g_aligned_alloc0 (1, sizeof (ThreadPool), CACHE_LINE);
  pool->n_threads = n_threads;
  g_mutex_init (&pool->lock);
  g_cond_init (&pool->wake);
  atomic_init (&pool->job.ticket, 0);
  atomic_init (&pool->job.claims, 0);
  atomic_init (&pool->job.done, 0);
  atomic_init (&pool->sleepers, 0);
  atomic_init (&pool->quitting, 0);
  atomic_flag_clear (&pool->busy);
  pool->workers = g_new0 (ThreadWorker, n_threads - 1);
  for (int i = 0; i < n_threads - 1; i++) {
    pool->workers[i].pool = pool;
    pool->workers[i].index = i + 1;
    pool->workers[i].thread = g_thread_new ("lam-cpu-worker", pool_worker, &pool->workers[i]);
  }
  return pool;
}

void
lam_cpu_threads_free (ThreadPool *pool)
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
  g_free (pool->claims_more);
  g_free (pool->workers);
  g_aligned_free (pool);
}

/* Runs func for every task in [0, n_tasks) and returns when all are done;
 * each task must write its own part of the output. */
void
lam_cpu_threads_run (ThreadPool *pool, int n_tasks, ThreadTask func, void *data)
{
  if (pool == NULL || n_tasks <= 1 || atomic_flag_test_and_set (&pool->busy)) {
    for (int task = 0; task < n_tasks; task++)
      func (task, data);
    return;
  }

  /* A worker still inside the last job must leave before the job's fields
   * and counters change under it; the odd generation keeps new ones out. */
  guint64 ticket = atomic_load_explicit (&pool->job.ticket, memory_order_relaxed);
  for (unsigned spins = 1;; spins++) {
    if (TICKET_INSIDE (ticket) == 0 &&
        atomic_compare_exchange_weak (&pool->job.ticket, &ticket, ticket + 1))
      break;
    cpu_relax ();
    // A late worker that lost its core inside a finished job needs it back.
    if (spins % 4096 == 0)
      sched_yield ();
    ticket = atomic_load_explicit (&pool->job.ticket, memory_order_relaxed);
  }
  if (n_tasks > LINE_CLAIMS) {
    int more = n_tasks - LINE_CLAIMS;
    if (more > pool->claims_more_size) {
      g_free (pool->claims_more);
      pool->claims_more = g_new (atomic_uchar, more);
      pool->claims_more_size = more;
    }
    for (int task = 0; task < more; task++)
      atomic_init (&pool->claims_more[task], 0);
  }
  pool->job.func = func;
  pool->job.data = data;
  pool->job.n_tasks = n_tasks;
  pool->job.nice = caller_nice ();
  atomic_store_explicit (&pool->job.claims, 0, memory_order_relaxed);
  atomic_store_explicit (&pool->job.done, 0, memory_order_relaxed);
  // Sequentially consistent, as the sleepers' count is read after it.
  atomic_store (&pool->job.ticket, ticket + 2);
  if (atomic_load (&pool->sleepers) > 0) {
    g_mutex_lock (&pool->lock);
    g_cond_broadcast (&pool->wake);
    g_mutex_unlock (&pool->lock);
  }

  int ran = pool_run_share (pool, 0, func, data, n_tasks, TRUE);
  for (unsigned spins = 1;
       atomic_load_explicit (&pool->job.done, memory_order_acquire) + ran < n_tasks; spins++) {
    cpu_relax ();
    /* A worker that lost its core (another program is busy) needs it. */
    if (spins % 4096 == 0)
      sched_yield ();
  }
  atomic_flag_clear (&pool->busy);
}


/* ---- the split into ranges ---- */

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

/* One thread's share of n floats, in multiples of 16 so that no two
 * threads share a cache line. */
static size_t
range_chunk (size_t n, int n_threads)
{
  return ((n + (size_t) n_threads - 1) / (size_t) n_threads + 15) / 16 * 16;
}

void
lam_cpu_parallel_ranges (LamBackend *self, size_t n, size_t threshold, RangeFunc func, void *data)
{
  CpuContext *ctx = cpu_context (self);
  if (ctx->n_threads <= 1 || n < threshold || n < 32) {
    if (n > 0)
      func (0, n, data);
    return;
  }
  size_t chunk = range_chunk (n, ctx->n_threads);
  RangeJob job = { func, data, n, chunk };
  lam_cpu_threads_run (ctx->pool, (int) ((n + chunk - 1) / chunk), range_task, &job);
}

/* ---- the optimizer's split, by the threads that wrote the gradients ---- */

/* Splitting the flat buffer in halves instead handed the second thread
 * the end of the first layer's weights, which the first thread's products
 * read and wrote, and the first thread the start of the second layer's
 * weights, half of them the second thread's: each step carried those
 * through the other core's cache. On two vCPUs of a Zen 5 host, in
 * spells when that was slow, mlp-b32's steps took 292-299 µs on average
 * (epochs 0.550-0.561 s) against 347-355 µs (0.651-0.666 s), four
 * alternating runs each; in quiet spells, 0.35-0.39 s against 0.34-0.37. */

void
lam_cpu_note_grad_block (LamBackend *self, const float *start, size_t n, int task)
{
  CpuContext *ctx = cpu_context (self);
  if (ctx->n_threads <= 1 || n == 0)
    return;
  int thread = task % ctx->n_threads;
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&ctx->grad_blocks_lock);
  for (int i = 0; i < ctx->n_grad_blocks; i++)
    if (ctx->grad_blocks[i].start == start) {
      ctx->grad_blocks[i].n = n;
      ctx->grad_blocks[i].thread = thread;
      return;
    }
  int slot = ctx->n_grad_blocks;
  if (slot < CPU_GRAD_BLOCKS_MAX) {
    ctx->n_grad_blocks++;
  } else {
    slot = ctx->oldest_grad_block;
    ctx->oldest_grad_block = (slot + 1) % CPU_GRAD_BLOCKS_MAX;
  }
  ctx->grad_blocks[slot] = (GradBlock){ start, n, thread };
}

/* A range of the parameters and the thread that updates it; SPLIT_RANGE:
 * every thread its share, as lam_cpu_parallel_ranges splits a buffer. */
typedef struct
{
  size_t lo, hi;
  int thread;
} ThreadRange;

#define SPLIT_RANGE (-1)

typedef struct
{
  RangeFunc func;
  void *data;
  const ThreadRange *ranges;
  int n_ranges, n_threads;
} ThreadRangesJob;

// Task t runs every range of thread t, and its share of each split one.
static void
thread_ranges_task (int task, void *data)
{
  const ThreadRangesJob *job = data;
  for (int i = 0; i < job->n_ranges; i++) {
    const ThreadRange *range = &job->ranges[i];
    if (range->thread == task) {
      job->func (range->lo, range->hi, job->data);
    } else if (range->thread == SPLIT_RANGE) {
      size_t chunk = range_chunk (range->hi - range->lo, job->n_threads);
      size_t lo = range->lo + (size_t) task * chunk;
      if (lo < range->hi)
        job->func (lo, MIN (lo + chunk, range->hi), job->data);
    }
  }
}

static int
compare_ranges (const void *a, const void *b)
{
  const ThreadRange *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* [lo, hi), written by no noted task: split over the threads from the
 * threshold on, else the caller's. */
static ThreadRange
unnoted_range (size_t lo, size_t hi, size_t threshold)
{
  gboolean split = hi - lo >= threshold && hi - lo >= 32;
  return (ThreadRange){ lo, hi, split ? SPLIT_RANGE : 0 };
}

void
lam_cpu_parameter_ranges (LamBackend *self, const float *grads, size_t n, size_t threshold,
                          RangeFunc func, void *data)
{
  CpuContext *ctx = cpu_context (self);
  if (ctx->n_threads <= 1 || n < threshold || n < 32) {
    if (n > 0)
      func (0, n, data);
    return;
  }

  // The noted blocks inside grads, in order.
  ThreadRange noted[CPU_GRAD_BLOCKS_MAX];
  int n_noted = 0;
  uintptr_t base = (uintptr_t) grads;
  g_mutex_lock (&ctx->grad_blocks_lock);
  for (int i = 0; i < ctx->n_grad_blocks; i++) {
    const GradBlock *block = &ctx->grad_blocks[i];
    uintptr_t start = (uintptr_t) block->start;
    if (start < base || (start - base) % sizeof (float) != 0)
      continue;
    size_t lo = (start - base) / sizeof (float);
    if (lo >= n || block->n > n - lo)
      continue;
    noted[n_noted++] = (ThreadRange){ lo, lo + block->n, block->thread };
  }
  g_mutex_unlock (&ctx->grad_blocks_lock);
  if (n_noted == 0) {
    lam_cpu_parallel_ranges (self, n, threshold, func, data);
    return;
  }
  qsort (noted, n_noted, sizeof *noted, compare_ranges);

  // Each noted block not overlapping an earlier one, and the gaps around them.
  ThreadRange ranges[2 * CPU_GRAD_BLOCKS_MAX + 1];
  int n_ranges = 0;
  size_t at = 0;
  for (int i = 0; i < n_noted; i++) {
    if (noted[i].lo < at)
      continue;
    if (at < noted[i].lo)
      ranges[n_ranges++] = unnoted_range (at, noted[i].lo, threshold);
    ranges[n_ranges++] = noted[i];
    at = noted[i].hi;
  }
  if (at < n)
    ranges[n_ranges++] = unnoted_range (at, n, threshold);

  ThreadRangesJob job = { func, data, ranges, n_ranges, ctx->n_threads };
  lam_cpu_threads_run (ctx->pool, ctx->n_threads, thread_ranges_task, &job);
}

/* ---- topology ---- */

/* The cores (package and core id; hyperthreads share both) of the CPUs
 * this process may use, or 0 where that cannot be read. */
static int
count_own_cores (void)
{
#ifdef __linux__
  cpu_set_t allowed;
  if (sched_getaffinity (0, sizeof allowed, &allowed) != 0)
    return 0;
  g_autoptr (GHashTable) cores = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET (cpu, &allowed))
      continue;
    g_autofree char *core_path =
      g_strdup_printf ("/sys/devices/system/cpu/cpu%d/topology/core_id", cpu);
    g_autofree char *package_path =
      g_strdup_printf ("/sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
    g_autofree char *core = NULL, *package = NULL;
    if (!g_file_get_contents (core_path, &core, NULL, NULL) ||
        !g_file_get_contents (package_path, &package, NULL, NULL))
      return 0;
    g_hash_table_add (cores, g_strdup_printf ("%s/%s", g_strstrip (package), g_strstrip (core)));
  }
  return (int) g_hash_table_size (cores);
#else
  return 0;
#endif
}

gboolean
lam_cpu_threads_own_cores (int n_threads)
{
  // Read once: every backend asks, and the evaluation makes one per job.
  static gsize cores = 0;
  if (g_once_init_enter (&cores))
    g_once_init_leave (&cores, (gsize) count_own_cores () + 1);
  return (int) cores - 1 >= n_threads;
}

/* ---- per-thread scratch ---- */

typedef struct
{
  size_t n_floats;
  float data[];
} ThreadScratch;

static GPrivate thread_scratch_key = G_PRIVATE_INIT (g_free);

float *
lam_cpu_thread_scratch (size_t n_floats)
{
  ThreadScratch *scratch = g_private_get (&thread_scratch_key);
  if (scratch == NULL || scratch->n_floats < n_floats) {
    size_t bytes = sizeof (ThreadScratch) + n_floats * sizeof (float);
    // A convolution's scratch runs to megabytes, read from anywhere at once.
    scratch = lam_cache_large_pages_try_alloc (bytes);
    if (scratch == NULL)
      scratch = g_malloc (bytes);
    scratch->n_floats = n_floats;
    g_private_replace (&thread_scratch_key, scratch);
  }
  return scratch->data;
}
