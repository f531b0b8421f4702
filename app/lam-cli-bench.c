/* lamina bench: times the standard workloads, and how an epoch grows with
 * batch size and width.
 *
 * Each workload trains through the real trainer (loader thread, events)
 * for whole epochs on all 60,000 training images, then evaluates the test
 * images with a model sized for large batches. FLOPs count the products of
 * the layers with parameters: forward, weight gradient, and input gradient
 * wherever one is needed. The peak they are compared with is measured in
 * the same run: cblas_sgemm on 2048×2048 matrices with all threads.
 */
#include <cblas.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "lam-cli.h"
#include "lam-scaling-chart.h"
#include "lam-dataset.h"
#include "lam-device.h"
#include "lam-predict.h"
#include "lam-speed.h"
#include "lam-trainer.h"

/* Fashion-MNIST's pixel mean and standard deviation over the training
 * images, fixed so that tests/bench/torch_side_by_side normalises alike. */
#define BENCH_MEAN 0.2860f
#define BENCH_STD 0.3530f

typedef struct
{
  const char *name;
  const char *model;
  int batch_size;
  double lr;
  gboolean cifar; /* on CIFAR-10 (or a synthetic set of its format), a fixed number of batches */
} Workload;

/* The first three run by default; the CIFAR-10 model takes minutes an
 * epoch here and is asked for by name. */
static const Workload workloads[] = {
  { "mlp-b32", "mlp", 32, 0.003, FALSE },
  { "mlp-b128", "mlp", 128, 0.003, FALSE },
  { "cnn-b64", "small-cnn", 64, 0.001, FALSE },
  { "cifar10-cnn", "cifar10-cnn", 128, 0.001, TRUE },
};
#define N_DEFAULT_WORKLOADS 3
#define CIFAR_DEFAULT_BATCHES 20

/* CIFAR-10's channel statistics (the tutorials' Normalize). */
static const float cifar_mean[3] = { 0.4914f, 0.4822f, 0.4465f };
static const float cifar_std[3] = { 0.2470f, 0.2435f, 0.2616f };

typedef struct
{
  GMainLoop *loop;
  GArray *epoch_seconds; /* double */
  double train_loss, train_accuracy;
  gboolean failed;
  char *message;
} BenchRun;

static void
on_event (const LamTrainerEvent *event, gpointer user_data)
{
  BenchRun *run = user_data;

  switch (event->kind) {
  case LAM_TRAINER_EVENT_EPOCH:
    g_array_append_val (run->epoch_seconds, event->seconds);
    run->train_loss = event->loss;
    run->train_accuracy = event->accuracy;
    break;
  case LAM_TRAINER_EVENT_DIVERGED:
  case LAM_TRAINER_EVENT_ERROR:
    run->failed = TRUE;
    g_free (run->message);
    run->message = g_strdup (event->message);
    break;
  case LAM_TRAINER_EVENT_FINISHED:
    g_main_loop_quit (run->loop);
    break;
  default:
    break;
  }
}

/* Linux keeps the process's peak resident set (VmHWM, which getrusage
 * reports as ru_maxrss) and lets it be reset, so each workload gets its own
 * peak rather than the largest so far. */
static void
reset_peak_rss (void)
{
  FILE *file = fopen ("/proc/self/clear_refs", "w");
  if (file != NULL) {
    fputs ("5", file);
    fclose (file);
  }
}

static double
peak_rss_mb (void)
{
  g_autofree char *status = NULL;
  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL)) {
    const char *line = strstr (status, "VmHWM:");
    if (line != NULL)
      return g_ascii_strtod (line + 6, NULL) / 1024.0;
  }
  struct rusage usage;
  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0; /* kilobytes on Linux */
}

/* Training FLOPs per sample: each layer with parameters does its forward
 * product, the same again for the weight gradient, and again for the input
 * gradient unless no layer below it has parameters. */
static double
train_flops_per_sample (const LamModelPlan *plan)
{
  double flops = 0;
  gboolean below = FALSE;
  for (int i = 0; i < plan->n_layers; i++) {
    const LamLayer *layer = &plan->layers[i];
    if (layer->n_weights + layer->n_bias == 0)
      continue;
    flops += (below ? 3.0 : 2.0) * (double) layer->flops;
    below = TRUE;
  }
  return flops;
}

/* GFLOP/s of cblas_sgemm on 2048² matrices with `threads` OpenBLAS threads,
 * best of three. The CPU backend runs OpenBLAS single-threaded; put back
 * afterwards. */
static double
measure_sgemm_peak (int threads)
{
  const int n = 2048;
  float *a = g_new (float, (gsize) n * n), *b = g_new (float, (gsize) n * n);
  float *c = g_new0 (float, (gsize) n * n);
  for (gsize i = 0; i < (gsize) n * n; i++) {
    a[i] = (float) (i % 7) * 0.01f;
    b[i] = (float) (i % 5) * 0.01f;
  }
  int before = openblas_get_num_threads ();
  openblas_set_num_threads (threads);
  double best = 0;
  for (int r = 0; r < 4; r++) {
    gint64 start = g_get_monotonic_time ();
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                 n);
    double seconds = (g_get_monotonic_time () - start) / 1e6;
    if (r > 0)
      best = MAX (best, 2.0 * n * n * (double) n / seconds / 1e9);
  }
  openblas_set_num_threads (before);
  g_free (a);
  g_free (b);
  g_free (c);
  return best;
}

/* ---- what the cores' multiply-add units can do ---- */

/* Fused multiply-adds and nothing else, in twelve independent chains: more
 * than the units' latency times their number, so they never wait. No
 * product can run faster, and a training step also loads, stores and runs
 * what is not a product; the bench reports each workload against it. */
#define FMA_CHAINS 12
#define FMA_ITERATIONS 10000000

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__ ((target ("avx512f"))) static float
fma_chains_avx512 (float seed)
{
  __m512 acc[FMA_CHAINS], b = _mm512_set1_ps (0.999999f), c = _mm512_set1_ps (seed);
  for (int i = 0; i < FMA_CHAINS; i++)
    acc[i] = _mm512_set1_ps ((float) i);
  /* Unrolled, the chains stay in registers: as a loop over the array
   * they went through the stack at -O2 and ran at a quarter of the speed. */
  for (int k = 0; k < FMA_ITERATIONS; k++)
#pragma GCC unroll 12
    for (int i = 0; i < FMA_CHAINS; i++)
      acc[i] = _mm512_fmadd_ps (acc[i], b, c);
  __m512 sum = acc[0];
  for (int i = 1; i < FMA_CHAINS; i++)
    sum = _mm512_add_ps (sum, acc[i]);
  return _mm512_reduce_add_ps (sum);
}

__attribute__ ((target ("avx2,fma"))) static float
fma_chains_avx2 (float seed)
{
  __m256 acc[FMA_CHAINS], b = _mm256_set1_ps (0.999999f), c = _mm256_set1_ps (seed);
  for (int i = 0; i < FMA_CHAINS; i++)
    acc[i] = _mm256_set1_ps ((float) i);
  for (int k = 0; k < FMA_ITERATIONS; k++)
#pragma GCC unroll 12
    for (int i = 0; i < FMA_CHAINS; i++)
      acc[i] = _mm256_fmadd_ps (acc[i], b, c);
  float out[8], total = 0;
  for (int i = 1; i < FMA_CHAINS; i++)
    acc[0] = _mm256_add_ps (acc[0], acc[i]);
  _mm256_storeu_ps (out, acc[0]);
  for (int i = 0; i < 8; i++)
    total += out[i];
  return total;
}
#endif

typedef struct
{
  int lanes; /* floats per vector: 16, 8, or 0 where there are no FMA instructions */
  float result;
} FmaRun;

static gpointer
fma_thread (gpointer data)
{
  FmaRun *run = data;
#if defined(__x86_64__) && defined(__GNUC__)
  if (run->lanes == 16)
    run->result = fma_chains_avx512 (1e-7f);
  else if (run->lanes == 8)
    run->result = fma_chains_avx2 (1e-7f);
#endif
  return NULL;
}

/* GFLOP/s of `threads` threads each running the chains at once on the
 * vectors the CPU backend's kernels use, the best of `rounds`; 0 for its
 * plain loops or any other backend. */
static double
measure_fma_peak (LamBackend *backend, int threads, int rounds, int *lanes)
{
  *lanes = lam_backend_cpu_vector_floats (backend);
  if (*lanes == 0 || threads < 1)
    return 0;
  double best = 0;
  FmaRun *runs = g_new0 (FmaRun, threads);
  GThread **workers = g_new0 (GThread *, threads);
  for (int r = 0; r < rounds; r++) {
    gint64 start = g_get_monotonic_time ();
    for (int t = 0; t < threads; t++) {
      runs[t].lanes = *lanes;
      workers[t] = g_thread_new ("fma-peak", fma_thread, &runs[t]);
    }
    for (int t = 0; t < threads; t++)
      g_thread_join (workers[t]);
    double seconds = (g_get_monotonic_time () - start) / 1e6;
    double flops = 2.0 * FMA_CHAINS * *lanes * (double) FMA_ITERATIONS * threads;
    best = MAX (best, flops / seconds / 1e9);
  }
  g_free (workers);
  g_free (runs);
  return best;
}

/* ---- how far apart the cores are ---- */

/* A virtual machine's host may run its two vCPUs on cores that share a
 * cache, or on cores far apart, and move them from one placement to the
 * other while a program runs. Two threads splitting an MLP's small
 * products then wait on each other's caches: on the development machine
 * mlp-b32's epoch took 0.33-0.39 s while a cache line's round trip
 * between the CPUs measured 80-200 ns, and 0.46-0.51 s while it
 * measured 370-570 ns. Each workload reports the round trip before and
 * after its training, so that a reader can tell which placement timed
 * it. */

#define ROUND_TRIP_WARM_UP 200
#define ROUND_TRIPS 20000

typedef struct
{
  atomic_int flag;
  int cpu;
} RoundTrip;

#ifdef __linux__
static void
pin_to_cpu (int cpu)
{
  cpu_set_t set;
  CPU_ZERO (&set);
  CPU_SET (cpu, &set);
  sched_setaffinity (0, sizeof set, &set);
}

// Answers each odd value of the flag with the next even one.
static gpointer
round_trip_partner (gpointer data)
{
  RoundTrip *rt = data;
  pin_to_cpu (rt->cpu);
  for (int i = 0; i < ROUND_TRIP_WARM_UP + ROUND_TRIPS; i++) {
    while (atomic_load_explicit (&rt->flag, memory_order_acquire) != 2 * i + 1)
      ;
    atomic_store_explicit (&rt->flag, 2 * i + 2, memory_order_release);
  }
  return NULL;
}
#endif

/* Nanoseconds for a cache line to go from the first CPU this process may
 * use to the second and back: the median of five rounds of 20,000. NAN
 * where it may use only one. */
static double
measure_core_round_trip (void)
{
#ifdef __linux__
  cpu_set_t allowed;
  if (sched_getaffinity (0, sizeof allowed, &allowed) != 0 || CPU_COUNT (&allowed) < 2)
    return NAN;
  int first = -1, second = -1;
  for (int cpu = 0; cpu < CPU_SETSIZE && second < 0; cpu++)
    if (CPU_ISSET (cpu, &allowed)) {
      if (first < 0)
        first = cpu;
      else
        second = cpu;
    }
  pin_to_cpu (first);
  double rounds[5];
  for (int r = 0; r < 5; r++) {
    RoundTrip rt = { .cpu = second };
    atomic_init (&rt.flag, 0);
    GThread *partner = g_thread_new ("lam-round-trip", round_trip_partner, &rt);
    gint64 start = 0;
    for (int i = 0; i < ROUND_TRIP_WARM_UP + ROUND_TRIPS; i++) {
      if (i == ROUND_TRIP_WARM_UP)
        start = g_get_monotonic_time ();
      atomic_store_explicit (&rt.flag, 2 * i + 1, memory_order_release);
      while (atomic_load_explicit (&rt.flag, memory_order_acquire) != 2 * i + 2)
        ;
    }
    rounds[r] = (g_get_monotonic_time () - start) * 1000.0 / ROUND_TRIPS;
    g_thread_join (partner);
  }
  sched_setaffinity (0, sizeof allowed, &allowed);
  for (int i = 1; i < 5; i++)
    for (int j = i; j > 0 && rounds[j] < rounds[j - 1]; j--) {
      double t = rounds[j];
      rounds[j] = rounds[j - 1];
      rounds[j - 1] = t;
    }
  return rounds[2];
#else
  return NAN;
#endif
}

typedef struct
{
  char *name;
  char *spec_text;
  int batch_size;
  double lr;
  int epochs;
  double epoch_seconds;      /* the first epoch */
  double mean_epoch_seconds; /* over all epochs */
  double samples_per_second;
  double train_loss, train_accuracy;
  double test_accuracy;
  double eval_seconds;
  int eval_batch;
  double gflops;
  gboolean winograd; /* gflops counts convolutions the CPU ran by Winograd */
  double peak_rss_mb;
  double round_trip_ns[2]; /* measure_core_round_trip before and after training */
  char *data_note;   /* the images trained on, when not the --data set's */
  int timed_batches; /* 0: whole epochs */
} BenchResult;

static void
bench_result_clear (BenchResult *result)
{
  g_free (result->name);
  g_free (result->spec_text);
  g_free (result->data_note);
}

/* A CIFAR-format set made up here: n images of 3×32×32, class c a colour
 * of its own with a brighter square at a place of its own, under noise
 * (deterministic). The timing of dense layers does not depend on what the
 * pixels hold; that the set is learnable keeps the loss honest. */
static LamDataset *
synthetic_cifar (int n)
{
  LamDataset *set = g_new0 (LamDataset, 1);
  set->name = g_strdup ("synthetic CIFAR-format set");
  set->n = n;
  set->channels = 3;
  set->height = 32;
  set->width = 32;
  set->n_classes = 10;
  set->task = LAM_TASK_CLASSIFICATION;
  set->class_names = g_strdupv ((char **) lam_cifar10_classes);
  set->images = g_malloc ((gsize) n * 3 * 32 * 32);
  set->labels = g_malloc (n);
  guint32 state = 12345;
  for (int i = 0; i < n; i++) {
    int c = i % 10;
    set->labels[i] = (guint8) c;
    guint8 *image = set->images + (gsize) i * 3 * 32 * 32;
    int sx = 4 + (c % 5) * 5, sy = 4 + (c / 5) * 14;
    for (int ch = 0; ch < 3; ch++)
      for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++) {
          state = state * 1664525u + 1013904223u;
          int base = 40 + ((c * 37 + ch * 71) % 160);
          if (x >= sx && x < sx + 8 && y >= sy && y < sy + 8)
            base += 60;
          image[(ch * 32 + y) * 32 + x] = (guint8) CLAMP (base + (int) (state >> 27) - 16, 0, 255);
        }
  }
  return set;
}

/* The first n training images of CIFAR-10 from dir (given, or where the
 * window's Download puts it), or, when none was given and none is there, a
 * synthetic set of the same format; note says which. */
static LamDataset *
cifar_training_images (const char *dir, int n, char **note, GError **error)
{
  g_autofree char *downloaded =
    g_build_filename (g_get_user_data_dir (), "lamina", "datasets", "cifar10", NULL);
  const char *from = dir != NULL ? dir : downloaded;
  if (dir == NULL && !g_file_test (from, G_FILE_TEST_IS_DIR)) {
    *note = g_strdup_printf ("synthetic CIFAR-format images (no CIFAR-10 in %s; --cifar DIR "
                             "names one)",
                             downloaded);
    return synthetic_cifar (n);
  }
  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  if (!lam_dataset_load_dir (from, &train, &test, error))
    return NULL;
  if (train->channels != 3 || train->height != 32 || train->width != 32 ||
      lam_dataset_is_table (train)) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s: the cifar10-cnn workload needs 3×32×32 images, found %d×%d×%d", from,
                 train->channels, train->height, train->width);
    return NULL;
  }
  if (train->n < n) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TRUNCATED,
                 "%s: %d training images, fewer than the %d the batches asked for take", from,
                 train->n, n);
    return NULL;
  }
  /* The first n: the buffers keep the rest, unread. */
  train->n = n;
  *note = g_strdup_printf ("CIFAR-10 from %s", from);
  return g_steal_pointer (&train);
}

/* Evaluates params on the test set with a model of large batches (up to
 * 1024, as many as keep its buffers near 16 MB), timing only the
 * evaluation. */
static gboolean
evaluate (const LamModelSpec *spec, LamBackend *backend, const float *params,
          const LamDataset *test, BenchResult *result, GError **error)
{
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, error);
  if (plan == NULL)
    return FALSE;
  gsize per_sample = (plan->activation_floats_per_sample + plan->scratch_floats_per_sample) *
                     sizeof (float);
  int batch = (int) MIN (CLAMP ((16u << 20) / MAX (per_sample, 1), 64, 1024), (gsize) test->n);
  g_autoptr (LamModel) model = lam_model_new (spec, backend, batch, 0, error);
  if (model == NULL)
    return FALSE;
  lam_model_set_params_host (model, params);
  float mean[3] = { BENCH_MEAN, BENCH_MEAN, BENCH_MEAN }, std[3] = { BENCH_STD, BENCH_STD, BENCH_STD };
  gint64 start = g_get_monotonic_time ();
  g_autoptr (LamPrediction) prediction =
    lam_model_predict (model, test, NULL, 0, mean, std, NULL, NULL, error);
  if (prediction == NULL)
    return FALSE;
  result->test_accuracy = prediction->accuracy;
  result->eval_seconds = (g_get_monotonic_time () - start) / 1e6;
  result->eval_batch = batch;
  return TRUE;
}

/* Trains `epochs` epochs of model_text at batch_size on all of train; with
 * test, evaluates afterwards. */
static gboolean
run_training (const char *model_text, int batch_size, double lr, int epochs,
              const LamDataset *train, const LamDataset *test, const float *mean,
              const float *std, LamBackend *backend, BenchResult *result, GError **error)
{
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_string (model_text, error);
  if (spec == NULL)
    return FALSE;
  reset_peak_rss ();

  LamTrainerConfig config = lam_trainer_config_default ();
  config.epochs = epochs;
  config.batch_size = batch_size;
  config.optimizer = lam_optimizer_config_default (LAM_OPTIMIZER_ADAM);
  config.optimizer.lr = lr;
  config.val_fraction = 0;
  config.seed = 1;
  config.normalize_from_data = FALSE;
  for (int c = 0; c < 3; c++) {
    config.mean[c] = mean != NULL ? mean[c] : BENCH_MEAN;
    config.std[c] = std != NULL ? std[c] : BENCH_STD;
  }
  config.evaluate_test = FALSE;

  LamTrainer *trainer = lam_trainer_new (spec, train, test, backend, &config, error);
  if (trainer == NULL)
    return FALSE;

  LamModel *model = lam_trainer_get_model (trainer);
  const LamModelSpec *model_spec = lam_model_get_spec (model);
  result->spec_text = lam_model_spec_to_text (model_spec);
  result->batch_size = batch_size;
  result->lr = lr;
  result->epochs = epochs;

  BenchRun run = {
    .loop = g_main_loop_new (NULL, FALSE),
    .epoch_seconds = g_array_new (FALSE, FALSE, sizeof (double)),
  };
  lam_trainer_set_event_func (trainer, on_event, &run, NULL);
  lam_trainer_start (trainer, FALSE);
  g_main_loop_run (run.loop);
  lam_trainer_wait (trainer);
  g_main_loop_unref (run.loop);

  gboolean ok = !run.failed && run.epoch_seconds->len == (guint) epochs;
  if (!ok) {
    g_set_error (error, LAM_TRAINER_ERROR, LAM_TRAINER_ERROR_CONFIG, "%s: %s", model_text,
                 run.message ? run.message : "training stopped early");
  } else {
    double sum = 0;
    for (guint e = 0; e < run.epoch_seconds->len; e++)
      sum += g_array_index (run.epoch_seconds, double, e);
    result->epoch_seconds = g_array_index (run.epoch_seconds, double, 0);
    result->mean_epoch_seconds = sum / epochs;
    result->samples_per_second = train->n / result->mean_epoch_seconds;
    result->train_loss = run.train_loss;
    result->train_accuracy = run.train_accuracy;
    result->gflops =
      train_flops_per_sample (lam_model_get_plan (model)) * train->n / result->mean_epoch_seconds / 1e9;
    /* The CPU backend's choice (lam-cpu-winograd.c): 3×3 kernels, stride 1,
     * padding 1, even sizes, 16+ channels each side. */
    const LamModelPlan *plan = lam_model_get_plan (model);
    gboolean cpu_winograd = !g_str_equal (backend->name, "cuda") &&
                            g_strcmp0 (g_getenv ("LAMINA_CPU_WINOGRAD"), "0") != 0;
    for (int i = 0; i < plan->n_layers && cpu_winograd; i++) {
      const LamLayerSpec *conv = &plan->layers[i].spec;
      result->winograd |= conv->kind == LAM_LAYER_CONV2D && conv->kernel == 3 &&
                          conv->stride == 1 && conv->padding == 1;
    }
  }

  if (ok && test != NULL) {
    gsize n_params;
    g_autofree float *params = lam_trainer_dup_params (trainer, &n_params);
    result->test_accuracy = NAN;
    ok = evaluate (model_spec, backend, params, test, result, error);
  }
  result->peak_rss_mb = peak_rss_mb ();
  g_array_unref (run.epoch_seconds);
  g_free (run.message);
  lam_trainer_free (trainer);
  return ok;
}

/* The first steps of a model pay for things that are the process's start,
 * not the workload's speed, and that the side-by-side script keeps out of
 * PyTorch's figures too (its best of several runs in one process, after a
 * warm-up on the GPU). On the GPU: loading the kernels (CUDA loads a
 * module's kernels at their first launch) and cuBLAS picking its
 * algorithms, a few hundred milliseconds. On the CPU: the first touch of
 * the model's memory, which the kernel zeroes (and on a virtual machine the
 * host backs) page by page: cifar10-cnn's 600 MB took 0.1 to 2 s of its
 * 20 batches on two Zen 4 vCPUs (5.99 to 8.04 s in alternating runs, 40
 * batches 12.58 s in both), depending on how much of the host's memory was
 * already backed and in large pages; memory the throwaway model has just
 * given back is. So a throwaway model of the same spec trains on the first
 * batches first; the timed model starts from its own seed as before. */
#define GPU_WARM_UP_BATCHES 4
#define CPU_WARM_UP_BATCHES 1

static int
warm_up_batches (const LamBackend *backend)
{
  return g_str_equal (backend->name, "cuda") ? GPU_WARM_UP_BATCHES : CPU_WARM_UP_BATCHES;
}

static gboolean
warm_up (const Workload *w, const LamDataset *train, const float *mean, const float *std,
         LamBackend *backend, GError **error)
{
  LamDataset head = *train;
  head.n = MIN (train->n, warm_up_batches (backend) * w->batch_size);
  BenchResult scratch = { .name = g_strdup (w->name) };
  gboolean ok = run_training (w->model, w->batch_size, w->lr, 1, &head, NULL, mean, std, backend,
                              &scratch, error);
  bench_result_clear (&scratch);
  return ok;
}

/* text as a JSON string, quotes and escapes included. */
static char *
json_string (const char *text)
{
  GString *s = g_string_new (NULL);
  lam_json_append_string (s, text);
  return g_string_free (s, FALSE);
}

static void
print_result (const BenchResult *r, gboolean json, const char *device, int threads,
              double load_seconds, double peak, const char *peak_of, double backend_peak,
              double fma_peak)
{
  if (json) {
    g_autofree char *spec = json_string (r->spec_text);
    g_autofree char *dev = json_string (device);
    g_autofree char *note = json_string (r->data_note != NULL ? r->data_note : "");
    /* JSON has no NaN: a workload timed on batches is not evaluated. */
    char test_accuracy[32] = "null", round_trip[2][32] = { "null", "null" };
    if (isfinite (r->test_accuracy))
      g_snprintf (test_accuracy, sizeof test_accuracy, "%.5f", r->test_accuracy);
    char fma_text[32] = "null", fma_percent[32] = "null";
    if (fma_peak > 0) {
      g_snprintf (fma_text, sizeof fma_text, "%.2f", fma_peak);
      g_snprintf (fma_percent, sizeof fma_percent, "%.1f", 100 * r->gflops / fma_peak);
    }
    for (int i = 0; i < 2; i++)
      if (isfinite (r->round_trip_ns[i]))
        g_snprintf (round_trip[i], sizeof round_trip[i], "%.0f", r->round_trip_ns[i]);
    g_print ("{\"workload\": \"%s\", \"model\": %s, \"batch_size\": %d, \"optimizer\": "
             "\"adam\", \"lr\": %g, \"epochs\": %d, \"epoch_seconds\": %.4f, "
             "\"mean_epoch_seconds\": %.4f, \"samples_per_second\": %.1f, \"train_loss\": %.5f, "
             "\"train_accuracy\": %.5f, \"test_accuracy\": %s, \"eval_seconds\": %.4f, "
             "\"eval_batch\": %d, \"gflops\": %.2f, \"sgemm_peak_gflops\": %.2f, "
             "\"percent_of_peak\": %.1f, \"peak_of\": \"%s\", "
             "\"backend_gemm_peak_gflops\": %.2f, \"fma_peak_gflops\": %s, "
             "\"percent_of_fma_peak\": %s, "
             "\"peak_rss_mb\": %.1f, \"load_seconds\": %.3f, \"device\": %s, "
             "\"threads\": %d, \"timed_batches\": %d, \"data\": %s, "
             "\"core_round_trip_ns\": [%s, %s]}\n",
             r->name, spec, r->batch_size, r->lr, r->epochs, r->epoch_seconds,
             r->mean_epoch_seconds, r->samples_per_second, r->train_loss, r->train_accuracy,
             test_accuracy, r->eval_seconds, r->eval_batch, r->gflops, peak,
             peak > 0 ? 100 * r->gflops / peak : NAN, peak_of, backend_peak, fma_text, fma_percent,
             r->peak_rss_mb, load_seconds, dev, threads, r->timed_batches, note, round_trip[0],
             round_trip[1]);
    return;
  }
  g_print ("%-9s %-24s batch %3d  Adam lr %g\n", r->name, r->spec_text, r->batch_size, r->lr);
  if (r->timed_batches > 0)
    g_print ("          on %s; timed on %d batch%s (%d images), not a whole epoch\n",
             r->data_note, r->timed_batches, r->timed_batches == 1 ? "" : "es",
             r->timed_batches * r->batch_size);
  g_print ("          %s %.3f s", r->timed_batches > 0 ? "batches" : "epoch", r->epoch_seconds);
  if (r->epochs > 1)
    g_print (" (mean of %d: %.3f s)", r->epochs, r->mean_epoch_seconds);
  g_print (", %.0f img/s, train loss %.4f acc %.2f%%\n", r->samples_per_second, r->train_loss,
           r->train_accuracy * 100);
  if (r->timed_batches == 0)
    g_print ("          test accuracy %.2f%%, evaluated in %.3f s (batch %d)\n",
             r->test_accuracy * 100, r->eval_seconds, r->eval_batch);
  g_print ("          %.1f GFLOP/s = %.0f%% of the %s sgemm peak", r->gflops,
           peak > 0 ? 100 * r->gflops / peak : NAN, peak_of);
  if (fma_peak > 0)
    g_print (", %.0f%% of its FMA peak", 100 * r->gflops / fma_peak);
  g_print ("; peak RSS %.0f MB\n", r->peak_rss_mb);
  if (isfinite (r->round_trip_ns[0]) && isfinite (r->round_trip_ns[1]))
    g_print ("          a cache line's round trip between two CPUs: %.0f ns before training, "
             "%.0f ns after\n",
             r->round_trip_ns[0], r->round_trip_ns[1]);
  /* Past 100% is no error: the CPU backend multiplies less than the
   * definition's count, which is the one PyTorch's FLOP counters give. */
  if (r->winograd)
    g_print ("          (FLOPs of the convolutions as defined; the CPU runs the 3×3 ones of 16+ "
             "channels by Winograd, with 16/36 of their multiplications)\n");
}

/* Epoch seconds of flatten,linear:H,relu,linear:10 over batch sizes and
 * widths, as a table and as a chart with each width's floating-point limit
 * at the machine's sgemm peak. */
static int
run_scaling (const LamDataset *train, LamBackend *backend, gboolean json, int epochs,
             int n_threads, const char *chart_path)
{
  static const int batches[] = { 16, 32, 64, 128, 256, 512 };
  static const int widths[] = { 64, 128, 256, 512, 1024, 2048 };
  double seconds[G_N_ELEMENTS (widths) * G_N_ELEMENTS (batches)];
  double epoch_flops[G_N_ELEMENTS (widths)];

  if (!json) {
    g_print ("\nEpoch seconds of flatten,linear:H,relu,linear:10 (cross-entropy, Adam lr 0.001), "
             "by hidden width H and batch size:\n\n%6s", "H");
    for (guint b = 0; b < G_N_ELEMENTS (batches); b++)
      g_print (" %8d", batches[b]);
    g_print ("   (GFLOP/s at the largest batch)\n");
  }
  for (guint wi = 0; wi < G_N_ELEMENTS (widths); wi++) {
    if (!json)
      g_print ("%6d", widths[wi]);
    double last_gflops = 0;
    for (guint b = 0; b < G_N_ELEMENTS (batches); b++) {
      g_autoptr (GError) error = NULL;
      g_autofree char *model = g_strdup_printf ("flatten,linear:%d,relu,linear:10", widths[wi]);
      BenchResult result = { 0 };
      if (!run_training (model, batches[b], 0.001, epochs, train, NULL, NULL, NULL, backend,
                         &result, &error)) {
        lam_cli_print_error ("bench", error);
        bench_result_clear (&result);
        return LAM_EXIT_FAILED;
      }
      last_gflops = result.gflops;
      seconds[wi * G_N_ELEMENTS (batches) + b] = result.mean_epoch_seconds;
      epoch_flops[wi] = result.gflops * 1e9 * result.mean_epoch_seconds;
      if (json)
        g_print ("{\"scaling\": true, \"width\": %d, \"batch_size\": %d, \"epoch_seconds\": %.4f, "
                 "\"gflops\": %.2f}\n",
                 widths[wi], batches[b], result.mean_epoch_seconds, result.gflops);
      else
        g_print (" %8.3f", result.mean_epoch_seconds);
      bench_result_clear (&result);
    }
    if (!json)
      g_print ("   (%.0f)\n", last_gflops);
  }

  double peak = measure_sgemm_peak (n_threads);
  g_autofree char *title = g_strdup_printf (
    "Epoch seconds of flatten,linear:H,relu,linear:10 on %d images", train->n);
  /* The limit drawn is the CPU's: a GPU's would need its own peak. */
  gboolean cpu = !g_str_equal (backend->name, "cuda");
  LamScalingChart chart = { G_N_ELEMENTS (widths), G_N_ELEMENTS (batches), widths, batches,
                            seconds, epoch_flops, cpu ? peak : 0, title, backend->device_name };
  g_autoptr (GError) error = NULL;
  if (!lam_scaling_chart_write (&chart, chart_path, &error)) {
    lam_cli_print_error ("bench", error);
    return LAM_EXIT_IO;
  }
  if (json) {
    g_autofree char *path = json_string (chart_path);
    g_print ("{\"scaling_chart\": %s, \"sgemm_peak_gflops\": %.2f}\n", path, peak);
  } else
    g_print ("\nChart: %s (dashed: each width's epoch at the sgemm peak, %.1f GFLOP/s with %d "
             "thread%s)\n",
             chart_path, peak, n_threads, n_threads == 1 ? "" : "s");
  return LAM_EXIT_OK;
}

/* ---- kernels alone ---- */

/* The products the workloads' steps are made of, each timed alone on the
 * backend: where a workload's time goes with no other thread's caches in
 * the way, and what skipping a ReLU's zeros buys at the shares of nonzero
 * entries the MLP's gradients have (about 35% in its first layer at batch
 * 128, 18% at batch 32). */
typedef struct
{
  const char *id; /* in JSON */
  const char *what;
  int trans_a, trans_b, m, n, k;
  double nonzero; /* share of op(A)'s entries that are not zero */
} KernelCase;

static const KernelCase kernel_cases[] = {
  { "mlp-layer1-forward-b128", "MLP's first layer forward, batch 128 (x·Wᵀ)", 0, 1, 128, 256, 784,
    1.0 },
  { "mlp-layer1-weight-gradient-b128", "its weight gradient, batch 128 (dyᵀ·x), dy dense", 1, 0,
    256, 784, 128, 1.0 },
  { "mlp-layer1-weight-gradient-b128", "  dy 50% nonzero", 1, 0, 256, 784, 128, 0.50 },
  { "mlp-layer1-weight-gradient-b128", "  dy 35% nonzero (mlp-b128's)", 1, 0, 256, 784, 128, 0.35 },
  { "mlp-layer1-weight-gradient-b128", "  dy 25% nonzero", 1, 0, 256, 784, 128, 0.25 },
  { "mlp-layer1-weight-gradient-b32", "its weight gradient, batch 32, dy dense", 1, 0, 256, 784, 32,
    1.0 },
  { "mlp-layer1-weight-gradient-b32", "  dy 18% nonzero (mlp-b32's)", 1, 0, 256, 784, 32, 0.18 },
  { "mlp-layer2-input-gradient-b128", "MLP's second layer input gradient, batch 128 (dy·W)", 0, 0,
    128, 256, 128, 1.0 },
  { "winograd-32-to-64-channels-32x32", "Winograd product, 32 to 64 channels, a 32×32 image (U·V)",
    0, 0, 64, 256, 32, 1.0 },
  { "winograd-128-to-128-channels-16x16", "Winograd product, 128 to 128 channels, a 16×16 image", 0,
    0, 128, 64, 128, 1.0 },
  { "winograd-256-to-256-channels-8x8", "Winograd product, 256 to 256 channels, two 8×8 images", 0,
    0, 256, 32, 256, 1.0 },
};
/* The MLP's parameters (784-256-128-64-10). */
#define KERNELS_ADAM_PARAMETERS 242762
#define KERNELS_REPEATS 20

/* The field width in bytes that shows text in `columns` columns: printf
 * pads by bytes, and the names hold ·, × and ᵀ. */
static int
utf8_field (const char *text, int columns)
{
  return columns + (int) (strlen (text) - (size_t) g_utf8_strlen (text, -1));
}

/* ---- a job handed to the CPU threads and back ---- */

/* Each range of a handover job keeps its thread busy this long. */
#define HANDOVER_TASK_NS 5000
#define HANDOVER_JOBS 20000

typedef struct
{
  GThread *caller;
  atomic_int by_caller; /* ranges past the first the caller ran itself */
} HandoverJob;

static gint64
monotonic_ns (void)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  return (gint64) now.tv_sec * 1000000000 + now.tv_nsec;
}

static void
handover_range (size_t lo, size_t hi, void *data)
{
  HandoverJob *job = data;
  gint64 until = monotonic_ns () + HANDOVER_TASK_NS;
  while (monotonic_ns () < until)
    ;
  if (lo > 0 && g_thread_self () == job->caller)
    atomic_fetch_add (&job->by_caller, 1);
}

/* What a job split over the threads costs beyond its work: a range of 5
 * µs for each thread, handed out and waited for, HANDOVER_JOBS times; the
 * best of three rounds, per job. Each cache line the handover passes
 * between two cores is a round trip, which on two vCPUs far apart costs
 * several hundred ns, and a training step of the MLP hands out about ten
 * such jobs. Returns the µs beyond the 5, and how many of the workers'
 * ranges the caller ran itself in the best round. */
static double
time_handover (LamBackend *backend, int threads, int *by_caller)
{
  double best = G_MAXDOUBLE;
  for (int round = 0; round < 3; round++) {
    HandoverJob job = { g_thread_self (), 0 };
    gint64 start = monotonic_ns ();
    for (int i = 0; i < HANDOVER_JOBS; i++)
      lam_backend_cpu_run_ranges (backend, (size_t) threads * 16, handover_range, &job);
    double per_job = (double) (monotonic_ns () - start) / HANDOVER_JOBS;
    if (per_job < best) {
      best = per_job;
      *by_caller = atomic_load (&job.by_caller);
    }
  }
  return (best - HANDOVER_TASK_NS) / 1e3;
}

static int
run_kernels (LamBackend *backend, int threads, gboolean json)
{
  int lanes = 0;
  /* More rounds than the workloads' two: a single kernel here is set
   * against it, and one slow round would put it past 100%. */
  double fma_peak = measure_fma_peak (backend, threads, 8, &lanes);
  if (!json) {
    g_print ("Kernels alone on %d thread%s, each the best of %d calls; GFLOP/s count the dense "
             "product's 2·m·n·k",
             threads, threads == 1 ? "" : "s", KERNELS_REPEATS);
    if (fma_peak > 0)
      g_print (", against %.1f GFLOP/s of %s fused multiply-adds alone", fma_peak,
               lanes == 16 ? "AVX-512" : "AVX2");
    g_print ("\n\n%-58s %*s %*s %8s %6s\n", "product", utf8_field ("m × n × k", 16), "m × n × k",
             utf8_field ("µs", 9), "µs", "GFLOP/s", fma_peak > 0 ? "of FMA" : "");
  }
  for (guint i = 0; i < G_N_ELEMENTS (kernel_cases); i++) {
    const KernelCase *kc = &kernel_cases[i];
    double seconds = lam_backend_time_gemm (backend, kc->trans_a, kc->trans_b, kc->m, kc->n, kc->k,
                                            kc->nonzero, KERNELS_REPEATS);
    if (seconds <= 0) {
      g_printerr ("lamina bench: --kernels: could not allocate the buffers of %d × %d × %d\n",
                  kc->m, kc->n, kc->k);
      return LAM_EXIT_FAILED;
    }
    double gflops = 2.0 * kc->m * kc->n * (double) kc->k / seconds / 1e9;
    g_autofree char *shape = g_strdup_printf ("%d × %d × %d", kc->m, kc->n, kc->k);
    if (json) {
      g_autofree char *percent =
        fma_peak > 0 ? g_strdup_printf ("%.1f", 100 * gflops / fma_peak) : g_strdup ("null");
      g_autofree char *peak = fma_peak > 0 ? g_strdup_printf ("%.2f", fma_peak) : g_strdup ("null");
      g_print ("{\"kernel\": \"%s\", \"trans_a\": %d, \"trans_b\": %d, \"m\": %d, \"n\": %d, "
               "\"k\": %d, \"nonzero\": %.2f, \"microseconds\": %.3f, \"gflops\": %.3f, "
               "\"fma_peak_gflops\": %s, \"percent_of_fma_peak\": %s, \"threads\": %d}\n",
               kc->id, kc->trans_a, kc->trans_b, kc->m, kc->n, kc->k, kc->nonzero, seconds * 1e6,
               gflops, peak, percent, threads);
    } else {
      g_autofree char *share =
        fma_peak > 0 ? g_strdup_printf ("%.0f%%", 100 * gflops / fma_peak) : g_strdup ("");
      g_print ("%-*s %*s %9.1f %8.1f %6s\n", utf8_field (kc->what, 58), kc->what,
               utf8_field (shape, 16), shape, seconds * 1e6, gflops, share);
    }
  }
  double adam = lam_backend_time_adam (backend, KERNELS_ADAM_PARAMETERS, KERNELS_REPEATS);
  if (adam <= 0) {
    g_printerr ("lamina bench: --kernels: could not allocate Adam's buffers\n");
    return LAM_EXIT_FAILED;
  }
  if (json)
    g_print (
      "{\"kernel\": \"adam\", \"parameters\": %d, \"microseconds\": %.2f, \"threads\": %d}\n",
      KERNELS_ADAM_PARAMETERS, adam * 1e6, threads);
  else
    g_print ("\nAdam over the MLP's %d parameters (784-256-128-64-10): %.1f µs an update\n",
             KERNELS_ADAM_PARAMETERS, adam * 1e6);
  if (threads > 1) {
    int by_caller = 0;
    double handover = time_handover (backend, threads, &by_caller);
    if (json)
      g_print ("{\"kernel\": \"handover\", \"microseconds_beyond_work\": %.3f, "
               "\"ranges_run_by_caller\": %d, \"jobs\": %d, \"threads\": %d}\n",
               handover, by_caller, HANDOVER_JOBS, threads);
    else
      g_print ("A job split over the %d threads, 5 µs of work each: %.2f µs beyond the work "
               "(the best of 3 rounds of %d; the caller ran %d of the other threads' parts)\n",
               threads, handover, HANDOVER_JOBS, by_caller);
  }
  return LAM_EXIT_OK;
}

int
lam_cli_bench (int argc, char **argv)
{
  g_autofree char *data_dir = NULL;
  g_autofree char *device = NULL;
  g_autofree char *epochs_text = NULL;
  g_autofree char *threads_text = NULL;
  g_autofree char *chart_path = NULL;
  g_autofree char *cifar_dir = NULL;
  g_autofree char *batches_text = NULL;
  g_auto (GStrv) names = NULL;
  gboolean json = FALSE, scaling = FALSE, latency = FALSE, kernels = FALSE;

  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      "Dataset folder (default: " LAM_DATASET_DEFAULT_DIR ")", "DIR" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "auto, cpu or cuda (default auto)", "DEVICE" },
    { "epochs", 'e', 0, G_OPTION_ARG_STRING, &epochs_text, "Epochs per workload (default 1)", "N" },
    { "workload", 'w', 0, G_OPTION_ARG_STRING_ARRAY, &names,
      "mlp-b32, mlp-b128, cnn-b64 or cifar10-cnn; repeat for several (default: the first three)",
      "NAME" },
    { "cifar", 0, 0, G_OPTION_ARG_FILENAME, &cifar_dir,
      "cifar10-cnn's CIFAR-10 folder (default: the one Download keeps, else synthetic images)",
      "DIR" },
    { "batches", 0, 0, G_OPTION_ARG_STRING, &batches_text,
      "Batches cifar10-cnn is timed on (default 20)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_STRING, &threads_text,
      "CPU threads (default: OpenBLAS's count, the cores available)", "N" },
    { "scaling", 0, 0, G_OPTION_ARG_NONE, &scaling,
      "Instead, time a one-hidden-layer MLP over batch sizes 16-512 and widths 64-2048, and "
      "draw it (--chart)",
      NULL },
    { "chart", 0, 0, G_OPTION_ARG_FILENAME, &chart_path,
      "With --scaling: the chart's file, .png or .svg (default lamina-scaling.png)", "FILE" },
    { "latency", 0, 0, G_OPTION_ARG_NONE, &latency,
      "Instead, time the waits a person feels in the window (needs a display)", NULL },
    { "kernels", 0, 0, G_OPTION_ARG_NONE, &kernels,
      "Instead, time the products the workloads are made of and Adam, each alone (on one thread "
      "unless --threads; with several, also a job's handover between them)",
      NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object per workload", NULL },
    { NULL }
  };

  g_autoptr (GOptionContext) context = g_option_context_new ("- time the standard workloads");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (
    context, "Each workload trains on all 60,000 training images (Adam, no validation split) and "
             "then evaluates the test images.\nExample: lamina bench --workload mlp-b32 --json\n");
  if (!lam_cli_parse_options ("bench", context, entries, &argc, &argv))
    return LAM_EXIT_USAGE;
  if (argc > 1) {
    g_printerr ("lamina bench: unexpected argument \"%s\" (see lamina bench --help)\n", argv[1]);
    return LAM_EXIT_USAGE;
  }

  if (latency)
    return lam_cli_bench_latency (data_dir, json);
  if (kernels && (scaling || names != NULL || chart_path != NULL || epochs_text != NULL ||
                  batches_text != NULL || cifar_dir != NULL || data_dir != NULL)) {
    g_printerr ("lamina bench: --kernels times the kernels alone, on no dataset; it takes "
                "--threads, --device and --json only\n");
    return LAM_EXIT_USAGE;
  }
  if (chart_path != NULL && !scaling) {
    g_printerr ("lamina bench: --chart draws --scaling's table; add --scaling\n");
    return LAM_EXIT_USAGE;
  }
  /* Said before the minutes of training, not after. */
  if (chart_path != NULL && !g_str_has_suffix (chart_path, ".png") &&
      !g_str_has_suffix (chart_path, ".svg")) {
    g_printerr ("lamina bench: --chart: %s: the chart is written as .png or .svg\n", chart_path);
    return LAM_EXIT_USAGE;
  }
  if (scaling &&
      !lam_cli_check_writable ("--chart", chart_path ? chart_path : "lamina-scaling.png", &error)) {
    lam_cli_print_error ("bench", error);
    return LAM_EXIT_IO;
  }

  gint64 epochs = 1, threads = 0, n_batches = CIFAR_DEFAULT_BATCHES;
  if ((epochs_text != NULL && !lam_cli_parse_int ("--epochs", epochs_text, 1, 1000, &epochs,
                                                  &error)) ||
      (batches_text != NULL && !lam_cli_parse_int ("--batches", batches_text, 1, 390, &n_batches,
                                                   &error)) ||
      (threads_text != NULL && !lam_cli_parse_int ("--threads", threads_text, 1, 64, &threads,
                                                   &error))) {
    lam_cli_print_error ("bench", error);
    return LAM_EXIT_USAGE;
  }

  g_autoptr (GPtrArray) chosen = g_ptr_array_new ();
  for (int i = 0; names != NULL && names[i] != NULL; i++) {
    const Workload *found = NULL;
    for (guint w = 0; w < G_N_ELEMENTS (workloads); w++)
      if (g_str_equal (names[i], workloads[w].name))
        found = &workloads[w];
    if (found == NULL) {
      g_printerr ("lamina bench: --workload: expected mlp-b32, mlp-b128, cnn-b64 or cifar10-cnn, "
                  "got \"%s\"\n",
                  names[i]);
      return LAM_EXIT_USAGE;
    }
    g_ptr_array_add (chosen, (gpointer) found);
  }
  if (chosen->len == 0)
    for (guint w = 0; w < N_DEFAULT_WORKLOADS; w++)
      g_ptr_array_add (chosen, (gpointer) &workloads[w]);

  /* The CPU backend reads its thread count when it is made; nothing runs
   * on other threads yet. */
  if (threads > 0) {
    g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, threads);
    g_setenv ("LAMINA_NUM_THREADS", text, TRUE);
  }

  if (kernels) {
    // One thread unless asked: one core's kernels against one core's peak.
    int kernel_threads = threads > 0 ? (int) threads : 1;
    g_autofree char *text = g_strdup_printf ("%d", kernel_threads);
    g_setenv ("LAMINA_NUM_THREADS", text, TRUE);
    g_autofree char *note = NULL;
    LamBackend *backend = lam_device_open (device, &note, &error);
    if (backend == NULL) {
      lam_cli_print_error ("bench", error);
      return LAM_EXIT_DEVICE;
    }
    if (!json)
      g_print ("Device: %s%s%s%s\n", backend->device_name, note ? " (" : "", note ? note : "",
               note ? ")" : "");
    int status = run_kernels (backend, kernel_threads, json);
    lam_backend_free (backend);
    return status;
  }

  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  const char *dir = data_dir ? data_dir : LAM_DATASET_DEFAULT_DIR;
  gint64 load_start = g_get_monotonic_time ();
  if (!lam_dataset_load_dir (dir, &train, &test, &error)) {
    lam_cli_print_error ("bench", error);
    if (data_dir == NULL)
      g_printerr ("(the default dataset comes with Debian's dataset-fashion-mnist package)\n");
    return LAM_EXIT_DATA;
  }
  double load_seconds = (g_get_monotonic_time () - load_start) / 1e6;

  /* The threads the CPU backend will use, as it decides: --threads, else
   * LAMINA_NUM_THREADS, else OpenBLAS's own count (read before the backend
   * sets OpenBLAS to one thread). */
  const char *env_threads = g_getenv ("LAMINA_NUM_THREADS");
  int n_threads = threads > 0 ? (int) threads
                  : env_threads != NULL ? (int) CLAMP (g_ascii_strtoll (env_threads, NULL, 10), 1, 64)
                                        : MAX (openblas_get_num_threads (), 1);

  g_autofree char *note = NULL;
  LamBackend *backend = lam_device_open (device, &note, &error);
  if (backend == NULL) {
    lam_cli_print_error ("bench", error);
    return LAM_EXIT_DEVICE;
  }

  if (!json) {
    g_print ("Data:   %s, %d training and %d test images, loaded in %.3f s\n", dir, train->n,
             test ? test->n : 0, load_seconds);
    g_print ("Device: %s%s%s%s\n", backend->device_name, note ? " (" : "", note ? note : "",
             note ? ")" : "");
    int warm = warm_up_batches (backend);
    g_print ("        each workload timed after %d untimed warm-up batch%s of its model\n", warm,
             warm == 1 ? "" : "es");
  }

  int status = LAM_EXIT_OK;
  if (scaling) {
    status = run_scaling (train, backend, json, (int) epochs, n_threads,
                          chart_path != NULL ? chart_path : "lamina-scaling.png");
    lam_backend_free (backend);
    return status;
  }

  /* The workloads first, so that the peak's large matrices (and the
   * buffers OpenBLAS keeps after them) stay out of their memory figures. */
  GArray *results = g_array_new (FALSE, TRUE, sizeof (BenchResult));
  gboolean on_gpu = g_str_equal (backend->name, "cuda");
  for (guint i = 0; i < chosen->len; i++) {
    const Workload *w = g_ptr_array_index (chosen, i);
    BenchResult result = { .name = g_strdup (w->name) };
    if (!json)
      g_printerr ("Training %s...\n", w->name);
    gboolean trained;
    result.round_trip_ns[0] = measure_core_round_trip ();
    if (w->cifar) {
      g_autoptr (LamDataset) cifar =
        cifar_training_images (cifar_dir, (int) n_batches * w->batch_size, &result.data_note,
                               &error);
      result.timed_batches = (int) n_batches;
      result.test_accuracy = NAN;
      trained = cifar != NULL && warm_up (w, cifar, cifar_mean, cifar_std, backend, &error) &&
                run_training (w->model, w->batch_size, w->lr, (int) epochs, cifar, NULL, cifar_mean,
                              cifar_std, backend, &result, &error);
    } else {
      trained = warm_up (w, train, NULL, NULL, backend, &error) &&
                run_training (w->model, w->batch_size, w->lr, (int) epochs, train, test, NULL, NULL,
                              backend, &result, &error);
    }
    result.round_trip_ns[1] = measure_core_round_trip ();
    if (!trained) {
      lam_cli_print_error ("bench", error);
      g_clear_error (&error);
      bench_result_clear (&result);
      status = LAM_EXIT_FAILED;
      continue;
    }
    g_array_append_val (results, result);
  }

  double peak = measure_sgemm_peak (n_threads);
  double backend_peak = lam_backend_measure_gemm_gflops (backend, 2048, 3);
  int fma_lanes = 0;
  double fma_peak = measure_fma_peak (backend, n_threads, 2, &fma_lanes);
  if (!json) {
    g_print ("Peak:   cblas_sgemm 2048³ with %d thread%s %.1f GFLOP/s (OpenBLAS %s); the "
             "backend's own gemm %.1f GFLOP/s",
             n_threads, n_threads == 1 ? "" : "s", peak, openblas_get_corename (), backend_peak);
    if (fma_peak > 0)
      g_print ("; %s fused multiply-adds alone %.1f GFLOP/s", fma_lanes == 16 ? "AVX-512" : "AVX2",
               fma_peak);
    g_print ("\n\n");
  }
  /* A workload is measured against the processor it ran on: on the GPU,
   * OpenBLAS's peak says nothing of what the device could do. */
  for (guint i = 0; i < results->len; i++) {
    BenchResult *result = &g_array_index (results, BenchResult, i);
    print_result (result, json, backend->device_name, n_threads, load_seconds,
                  on_gpu ? backend_peak : peak, on_gpu ? "GPU's" : "CPU's", backend_peak, fma_peak);
    bench_result_clear (result);
  }
  g_array_unref (results);

  lam_backend_free (backend);
  return status;
}
