/* lam-cpu-backend.c: the fast CPU backend's memory, its table and its
 * constructor. The ops live in one file per family, as the CUDA backend's
 * kernels do (lam-cpu-gemm.c, lam-cpu-conv.c, ...): OpenBLAS for products
 * and loops written for the compiler to vectorise for the rest. Each op
 * follows its comment in lam-backend.h to the letter, and the tests hold
 * it to the plain reference backend of core/cpu-ref.
 *
 * Where the CPU has AVX-512, the hot ops (gemm included) run the kernels of
 * lam-cpu-avx512.c instead, and where it has AVX2 and FMA but not AVX-512
 * those of lam-cpu-avx2.c. LAMINA_CPU_ISA=generic keeps the plain loops
 * and OpenBLAS, LAMINA_CPU_ISA=avx2 the AVX2 kernels on a CPU that has
 * both, and test-backend checks each.
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
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "lam-cache.h"
#include "lam-cpu-private.h"
#include "lam-device.h"

#define CPU_ALIGNMENT 64

/* No machine this runs on has a tebibyte of memory; refusing larger requests
 * up front also keeps sanitizer builds, whose allocator aborts on absurd
 * sizes instead of failing, answering NULL. */
#define CPU_MAX_ALLOC (G_GUINT64_CONSTANT (1) << 40)

#define CPU_MAX_THREADS 64

/* ---- OpenBLAS and the CPU ---- */

/* The widest kernels this CPU runs, at most the one LAMINA_CPU_ISA names
 * ("generic", "avx2" or "avx512"; unset or anything else: no limit). */
static CpuIsa
cpu_choose_isa (void)
{
  CpuIsa best = CPU_ISA_GENERIC;
#if defined(LAM_CPU_HAVE_AVX512) && defined(LAM_CPU_HAVE_AVX2)
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512dq") &&
      __builtin_cpu_supports ("avx512bw") && __builtin_cpu_supports ("avx512vl"))
    best = CPU_ISA_AVX512;
  else if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    best = CPU_ISA_AVX2;
#endif
  const char *limit = g_getenv ("LAMINA_CPU_ISA");
  if (limit != NULL && g_ascii_strcasecmp (limit, "generic") == 0)
    return CPU_ISA_GENERIC;
  // An AVX-512 CPU has AVX2 and FMA.
  if (limit != NULL && g_ascii_strcasecmp (limit, "avx2") == 0)
    return MIN (best, CPU_ISA_AVX2);
  return best;
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

/* ---- memory ---- */

/* A block's header, just below the aligned pointer: the address to free,
 * and for a mapping its length (0 for the heap's). */
typedef struct
{
  void *raw;
  size_t mapped;
} CpuBlock;

#define CPU_HEADER (((sizeof (CpuBlock) + CPU_ALIGNMENT - 1) / CPU_ALIGNMENT) * CPU_ALIGNMENT)

#if defined(__linux__) && defined(MADV_HUGEPAGE)
/* Blocks of 4 MiB or more (a convolution's activations and scratch) are
 * mappings of their own, zero without being touched, marked for the
 * kernel's large pages: cifar10-cnn's 20 batches on two Zen 5 vCPUs took
 * 5.45-5.81 s against 6.24-6.58 on 4 KiB pages (three alternating runs
 * each), the MLPs the same. */
#define CPU_LARGE_PAGE ((size_t) 2 << 20)

static void *
cpu_alloc_mapped (size_t bytes)
{
  size_t length = bytes + CPU_HEADER + CPU_LARGE_PAGE;
  char *raw = mmap (NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    return NULL;
  /* The floats from a 2 MiB boundary on, the header in the small page
   * just below it, so that the large pages hold the floats alone. */
  guintptr boundary =
    ((guintptr) raw + CPU_HEADER + CPU_LARGE_PAGE - 1) & ~(guintptr) (CPU_LARGE_PAGE - 1);
  madvise ((void *) boundary, (guintptr) raw + length - boundary, MADV_HUGEPAGE);
  CpuBlock *block = (CpuBlock *) (boundary - sizeof (CpuBlock));
  block->raw = raw;
  block->mapped = length;
  return (void *) boundary;
}
#endif

static void *
cpu_alloc (LamBackend *self, size_t bytes)
{
  if ((guint64) bytes > CPU_MAX_ALLOC || bytes > G_MAXSIZE - CPU_HEADER - CPU_ALIGNMENT)
    return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes >= LAM_CACHE_LARGE_PAGES_FROM)
    return cpu_alloc_mapped (bytes);
#endif

  /* Over-allocate and keep the header just below the aligned pointer;
   * g_try_malloc0 zero-fills without touching fresh pages. */
  char *raw = g_try_malloc0 (bytes + CPU_HEADER + CPU_ALIGNMENT);
  if (raw == NULL)
    return NULL;
  guintptr start = (guintptr) raw + CPU_HEADER;
  guintptr aligned = (start + CPU_ALIGNMENT - 1) & ~(guintptr) (CPU_ALIGNMENT - 1);
  CpuBlock *block = (CpuBlock *) (aligned - sizeof (CpuBlock));
  block->raw = raw;
  block->mapped = 0;
  return (void *) aligned;
}

static void
cpu_free (LamBackend *self, void *ptr)
{
  if (ptr == NULL)
    return;
  CpuBlock *block = (CpuBlock *) ((char *) ptr - sizeof (CpuBlock));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (block->mapped != 0) {
    munmap (block->raw, block->mapped);
    return;
  }
#endif
  g_free (block->raw);
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
    lam_cpu_threads_free (ctx->pool);
    g_mutex_clear (&ctx->grad_blocks_lock);
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
void
lam_cpu_fill (LamBackend *self, float *x, size_t n, float value)
{
  FillJob job = { x, value };
  lam_cpu_parallel_ranges (self, n, cpu_context (self)->parameter_parallel, fill_range, &job);
}

/* ---- the split of a step's products (lam-cpu-split-tuner.c) ---- */

double
lam_cpu_gemm_parallel_flops (const CpuContext *ctx)
{
  if (ctx->gemm_parallel_flops < GEMM_PARALLEL_FLOPS_NARROW &&
      g_atomic_int_get (&ctx->split) == CPU_SPLIT_NARROW)
    return GEMM_PARALLEL_FLOPS_NARROW;
  return ctx->gemm_parallel_flops;
}

void
lam_cpu_note_training_step (LamBackend *self)
{
  CpuContext *ctx = cpu_context (self);
  if (!ctx->tune_split)
    return;
  CpuSplit split = lam_cpu_split_tuner_step (&ctx->split_tuner, g_get_monotonic_time ());
  g_atomic_int_set (&ctx->split, split);
}

void
lam_cpu_set_split (LamBackend *self, CpuSplit split)
{
  CpuContext *ctx = cpu_context (self);
  ctx->tune_split = FALSE;
  g_atomic_int_set (&ctx->split, split);
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

static const LamBackend cpu_template = {
  .abi_version = LAM_BACKEND_ABI_VERSION,
  .name = "cpu",
  .alloc = cpu_alloc,
  .free = cpu_free,
  .upload = cpu_memcpy,
  .download = cpu_memcpy,
  .copy = cpu_memcpy,
  .synchronize = cpu_synchronize,
  .destroy = cpu_destroy,
  .fill = lam_cpu_fill,
  .gemm = lam_cpu_gemm,
  .bias_add = lam_cpu_bias_add,
  .bias_backward = lam_cpu_bias_backward,
  .activation_forward = lam_cpu_activation_forward,
  .activation_backward = lam_cpu_activation_backward,
  .conv2d_forward = lam_cpu_conv2d_forward,
  .conv2d_backward = lam_cpu_conv2d_backward,
  .conv2d_maxpool2_forward = lam_cpu_conv2d_maxpool2_forward,
  .conv2d_maxpool2_backward = lam_cpu_conv2d_maxpool2_backward,
  .maxpool_forward = lam_cpu_maxpool_forward,
  .maxpool_backward = lam_cpu_maxpool_backward,
  .avgpool_forward = lam_cpu_avgpool_forward,
  .avgpool_backward = lam_cpu_avgpool_backward,
  .softmax_forward = lam_cpu_softmax_forward,
  .softmax_backward = lam_cpu_softmax_backward,
  .dropout_forward = lam_cpu_dropout_forward,
  .dropout_backward = lam_cpu_dropout_backward,
  .batchnorm_forward = lam_cpu_batchnorm_forward,
  .batchnorm_backward = lam_cpu_batchnorm_backward,
  .softmax_xent = lam_cpu_softmax_xent,
  .nll = lam_cpu_nll,
  .mse = lam_cpu_mse,
  .mse_targets = lam_cpu_mse_targets,
  .l1_targets = lam_cpu_l1_targets,
  .argmax_rows = lam_cpu_argmax_rows,
  .count_correct = lam_cpu_count_correct,
  .sgd_update = lam_cpu_sgd_update,
  .adam_update = lam_cpu_adam_update,
  .l1_penalty = lam_cpu_l1_penalty,
  .linear_activation_forward = lam_cpu_linear_activation_forward,
  .linear_activation_backward = lam_cpu_linear_activation_backward,
};

int
lam_backend_cpu_threads (LamBackend *backend)
{
  g_return_val_if_fail (backend != NULL, 0);
  if (backend->destroy != cpu_destroy)
    return 0;
  return cpu_context (backend)->n_threads;
}

int
lam_backend_cpu_vector_floats (LamBackend *backend)
{
  g_return_val_if_fail (backend != NULL, 0);
  if (backend->destroy != cpu_destroy)
    return 0;
  switch (cpu_context (backend)->isa) {
  case CPU_ISA_AVX512:
    return 16;
  case CPU_ISA_AVX2:
    return 8;
  default:
    return 0;
  }
}

void
lam_backend_cpu_run_ranges (LamBackend *backend, size_t n, LamRangeFunc func, void *data)
{
  if (lam_backend_cpu_threads (backend) == 0) {
    if (n > 0)
      func (0, n, data);
    return;
  }
  lam_cpu_parallel_ranges (backend, n, 0, func, data);
}

LamBackend *
lam_backend_cpu_new (void)
{
  LamBackend *backend = g_new (LamBackend, 1);
  CpuContext *ctx = g_new0 (CpuContext, 1);

  *backend = cpu_template;
  backend->context = ctx;

  /* Threads are the pool's: OpenBLAS runs each call on the thread making
   * it. This is process-wide and the same for every CPU backend. */
  ctx->n_threads = choose_threads ();
  g_mutex_init (&ctx->grad_blocks_lock);
  openblas_set_num_threads (1);
  ctx->pool = ctx->n_threads > 1 ? lam_cpu_threads_new (ctx->n_threads) : NULL;
  ctx->isa = cpu_choose_isa ();
  gboolean own_cores = ctx->n_threads > 1 && lam_cpu_threads_own_cores (ctx->n_threads);
  ctx->gemm_parallel_flops = own_cores ? GEMM_PARALLEL_FLOPS_OWN_CORES : GEMM_PARALLEL_FLOPS;
  ctx->conv_parallel_flops = own_cores ? CONV_PARALLEL_FLOPS_OWN_CORES : CONV_PARALLEL_FLOPS;
  ctx->parameter_parallel = own_cores ? PARAMETER_PARALLEL_OWN_CORES : PARAMETER_PARALLEL;
  /* Threads sharing a core split only large products either way; on cores
   * of their own the tuner chooses, unless LAMINA_CPU_SPLIT fixes it. */
  const char *split = g_getenv ("LAMINA_CPU_SPLIT");
  ctx->split = g_strcmp0 (split, "narrow") == 0 ? CPU_SPLIT_NARROW : CPU_SPLIT_WIDE;
  ctx->tune_split = own_cores && g_strcmp0 (split, "wide") != 0 && g_strcmp0 (split, "narrow") != 0;
  lam_cpu_split_tuner_init (&ctx->split_tuner, ctx->split);
  /* Winograd with the vector kernels; the plain loops keep the lowering,
   * the simplest reading of a convolution. LAMINA_CPU_WINOGRAD=0 turns it
   * off, to compare the two. */
  const char *winograd = g_getenv ("LAMINA_CPU_WINOGRAD");
  ctx->winograd = ctx->isa != CPU_ISA_GENERIC && g_strcmp0 (winograd, "0") != 0;

  // The config string starts "OpenBLAS 0.3.21 DYNAMIC_ARCH ...": keep the name and version.
  g_auto (GStrv) words = g_strsplit (openblas_get_config (), " ", 3);
  g_autofree char *library = words[0] != NULL && words[1] != NULL
                               ? g_strdup_printf ("%s %s", words[0], words[1])
                               : g_strdup ("OpenBLAS");
  g_snprintf (backend->device_name, sizeof backend->device_name, "CPU (%s %s, %s, %d thread%s)",
              library, openblas_get_corename (),
              ctx->isa == CPU_ISA_AVX512 ? "AVX-512"
              : ctx->isa == CPU_ISA_AVX2 ? "AVX2"
                                         : "generic loops",
              ctx->n_threads, ctx->n_threads == 1 ? "" : "s");

  return backend;
}

