#include "lam-loader.h"

#include "lam-cache.h"
#include "lam-device.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LOOKUP_AVX2 1
#endif

/* ---- split ---- */

/* A generator's state from the 64-bit seed (as two 32-bit words) followed by
 * up to two more words such as the epoch and the batch. */
static void
rand_reseed (GRand *rng, guint64 seed, const guint32 *extra, guint n_extra)
{
  guint32 words[4] = { (guint32) seed, (guint32) (seed >> 32) };
  g_assert (n_extra <= 2);
  for (guint i = 0; i < n_extra; i++)
    words[2 + i] = extra[i];
  g_rand_set_seed_array (rng, words, 2 + n_extra);
}

/* Fisher–Yates; n fits in gint32 (checked by the callers). */
static void
shuffle (guint32 *values, gsize n, GRand *rng)
{
  for (gsize i = n; i > 1; i--) {
    gsize j = (gsize) g_rand_int_range (rng, 0, (gint32) i);
    guint32 t = values[i - 1];
    values[i - 1] = values[j];
    values[j] = t;
  }
}

LamSplit *
lam_split_new_count (gsize n, gsize n_val, guint64 seed)
{
  g_return_val_if_fail (n <= G_MAXINT32, NULL);
  g_return_val_if_fail (n_val < n || n_val == 0, NULL);

  g_autofree guint32 *order = g_new (guint32, n);
  for (gsize i = 0; i < n; i++)
    order[i] = (guint32) i;
  g_autoptr (GRand) rng = g_rand_new_with_seed (0);
  rand_reseed (rng, seed, NULL, 0);
  shuffle (order, n, rng);

  /* Marking then sweeping gives both parts in ascending order: the split is
   * a set, so its order must not carry the shuffle. */
  g_autofree guint8 *in_val = g_new0 (guint8, n);
  for (gsize i = 0; i < n_val; i++)
    in_val[order[i]] = 1;

  LamSplit *split = g_new0 (LamSplit, 1);
  split->n_train = n - n_val;
  split->n_val = n_val;
  split->train = g_new (guint32, split->n_train);
  split->val = n_val > 0 ? g_new (guint32, n_val) : NULL;
  gsize t = 0, v = 0;
  for (gsize i = 0; i < n; i++) {
    if (in_val[i])
      split->val[v++] = (guint32) i;
    else
      split->train[t++] = (guint32) i;
  }
  return split;
}

LamSplit *
lam_split_new_fraction (gsize n, double val_fraction, guint64 seed)
{
  g_return_val_if_fail (val_fraction >= 0 && val_fraction < 1, NULL);
  gsize n_val = (gsize) (n * val_fraction + 0.5);
  /* Rounding can reach n for tiny n; the train part must keep a sample. */
  if (n > 0 && n_val >= n)
    n_val = n - 1;
  return lam_split_new_count (n, n_val, seed);
}

void
lam_split_free (LamSplit *split)
{
  if (split == NULL)
    return;
  g_free (split->train);
  g_free (split->val);
  g_free (split);
}

/* ---- per-image preparation ---- */

static const char *const padding_mode_names[] = {
  [LAM_PADDING_ZERO] = "zeros",
  [LAM_PADDING_REFLECT] = "reflect",
};

const char *
lam_padding_mode_to_string (LamPaddingMode mode)
{
  g_return_val_if_fail ((guint) mode < G_N_ELEMENTS (padding_mode_names), NULL);
  return padding_mode_names[mode];
}

gboolean
lam_padding_mode_from_string (const char *name, LamPaddingMode *mode)
{
  g_return_val_if_fail (name != NULL, FALSE);
  for (guint i = 0; i < G_N_ELEMENTS (padding_mode_names); i++)
    if (g_ascii_strcasecmp (name, padding_mode_names[i]) == 0) {
      if (mode != NULL)
        *mode = (LamPaddingMode) i;
      return TRUE;
    }
  return FALSE;
}

static void
run_on_cpu_backend (void *runner, size_t n, void (*range) (size_t lo, size_t hi, void *data),
                    void *data)
{
  lam_backend_cpu_run_ranges (runner, n, range, data);
}

/* A loader thread beside CPU threads on every core gets a turn only by
 * taking one from them, and its wake-ups and the lock it shares cost more
 * than filling the batch in the caller: mlp-b32 on two cores spent 35-46
 * µs a step of 390 between the optimizer's step and the next batch, and
 * its epoch took 0.675-0.708 s instead of 0.703-0.743 (the best five of
 * eight alternating runs). Filled in the caller, a batch of 32 took 28-30
 * µs on one thread, the other waiting; by halves on both threads, and
 * written straight into the model's input (lam_loader_next_into) instead
 * of copied there, the best epochs of alternating runs went from 0.682 to
 * 0.642 s (mlp-b32) and 0.553 to 0.524 s (mlp-b128). */
void
lam_loader_config_set_backend (LamLoaderConfig *config, LamBackend *backend)
{
  g_return_if_fail (config != NULL && backend != NULL);
  int threads = lam_backend_cpu_threads (backend);
  config->in_caller = threads >= (int) g_get_num_processors ();
  config->run_ranges = config->in_caller && threads > 1 ? run_on_cpu_backend : NULL;
  config->runner = config->run_ranges != NULL ? backend : NULL;
}

LamLoaderConfig
lam_loader_config_default (void)
{
  LamLoaderConfig config = {
    .batch_size = 64,
    .shuffle = FALSE,
    .drop_last = FALSE,
    .seed = 0,
    .mean = { 0, 0, 0 },
    .std = { 1, 1, 1 },
    .crop_padding = 0,
    .padding_mode = LAM_PADDING_ZERO,
    .hflip = FALSE,
    .in_caller = FALSE,
    .run_ranges = NULL,
    .runner = NULL,
  };
  return config;
}

/* The normalised value of every pixel value per channel, so the conversion
 * is one lookup and matches (pixel / 255 - mean) / std exactly. */
typedef float LamNormTable[3][256];

static void
norm_table_init (LamNormTable table, const LamLoaderConfig *config, int channels)
{
  for (int c = 0; c < channels; c++)
    for (int v = 0; v < 256; v++)
      table[c][v] = (float) ((v * (1.0 / 255.0) - config->mean[c]) / config->std[c]);
}

/* numpy's 'reflect': mirrored about the edge pixel, which is not repeated. */
static int
reflect_index (int i, int size)
{
  if (size == 1)
    return 0;
  int period = 2 * (size - 1);
  i %= period;
  if (i < 0)
    i += period;
  return i < size ? i : period - i;
}

static gboolean
config_augments (const LamLoaderConfig *config)
{
  return config->crop_padding > 0 || config->hflip;
}

/* out (C,H,W) from the dataset's image (C,H,W). With augmentation the random
 * draws are, in order: crop row offset, crop column offset (when padding),
 * then the flip (when hflip), so a seed fixes the result. */
/* out (n_features) from a table's row: x' = (x - mean) / std, in float as
 * an exported script computes it. */
static void
prepare_row (const LamDataset *dataset, int index, float *out)
{
  const float *row = lam_dataset_get_row (dataset, index);
  const float *mean = dataset->feature_mean, *std = dataset->feature_std;
  for (int j = 0; j < dataset->n_features; j++)
    out[j] = mean != NULL ? (row[j] - mean[j]) / std[j] : row[j];
}

/* out (n_targets): a regression table's targets, standardised likewise. */
static void
prepare_targets (const LamDataset *dataset, int index, float *out)
{
  const float *t = dataset->targets + (gsize) index * dataset->n_targets;
  const float *mean = dataset->target_mean, *std = dataset->target_std;
  for (int j = 0; j < dataset->n_targets; j++)
    out[j] = mean != NULL ? (t[j] - mean[j]) / std[j] : t[j];
}

#ifdef LOOKUP_AVX2
/* Eight pixels a gather: 5.8 ms against 8.5 ms for the 10,000 test
 * images of Fashion-MNIST on one core, the same floats. */
__attribute__ ((target ("avx2"))) static gsize
lookup_pixels_avx2 (const float *t, const guint8 *src, float *dst, gsize n, gboolean stream)
{
  gsize k = 0;
  for (; k + 8 <= n; k += 8) {
    __m256i index = _mm256_cvtepu8_epi32 (_mm_loadl_epi64 ((const __m128i *) (src + k)));
    __m256 pixels = _mm256_i32gather_ps (t, index, 4);
    if (stream && ((guintptr) (dst + k) & 31) == 0)
      _mm256_stream_ps (dst + k, pixels);
    else
      _mm256_storeu_ps (dst + k, pixels);
  }
  return k;
}
#endif

/* Sixteen pixels a step, the table held in sixteen registers: two-table
 * permutes look each pixel up in all eight 32-entry eighths of it, and
 * the index's top three bits pick among the eight. On Zen 5, one core,
 * an epoch's 60,000 Fashion-MNIST images in batches of 32 in shuffled
 * order: 20.6-21.3 ms against 33.9-34.4 ms for the gather, the same
 * floats. */
__attribute__ ((target ("avx512f"))) static gsize
lookup_pixels_avx512 (const float *t, const guint8 *src, float *dst, gsize n, gboolean stream)
{
  __m512 table[16];
  for (int i = 0; i < 16; i++)
    table[i] = _mm512_loadu_ps (t + 16 * i);
  gsize k = 0;
  for (; k + 16 <= n; k += 16) {
    __m512i index = _mm512_cvtepu8_epi32 (_mm_loadu_si128 ((const __m128i *) (src + k)));
    // Bits 0-4 of the index pick within a pair of registers.
    __m512 eighth[8];
    for (int i = 0; i < 8; i++)
      eighth[i] = _mm512_permutex2var_ps (table[2 * i], index, table[2 * i + 1]);
    __mmask16 bit5 = _mm512_test_epi32_mask (index, _mm512_set1_epi32 (32));
    __mmask16 bit6 = _mm512_test_epi32_mask (index, _mm512_set1_epi32 (64));
    __mmask16 bit7 = _mm512_test_epi32_mask (index, _mm512_set1_epi32 (128));
    __m512 quarter[4];
    for (int i = 0; i < 4; i++)
      quarter[i] = _mm512_mask_blend_ps (bit5, eighth[2 * i], eighth[2 * i + 1]);
    __m512 low = _mm512_mask_blend_ps (bit6, quarter[0], quarter[1]);
    __m512 high = _mm512_mask_blend_ps (bit6, quarter[2], quarter[3]);
    __m512 pixels = _mm512_mask_blend_ps (bit7, low, high);
    if (stream && ((guintptr) (dst + k) & 63) == 0)
      _mm512_stream_ps (dst + k, pixels);
    else
      _mm512_storeu_ps (dst + k, pixels);
  }
  return k;
}

/* dst (n) = t[src (n)], eight pixels a step from one 64-bit load: the
 * plain loop, a byte load, a table load and a store a pixel, took twice as
 * long, on the loader's thread or in a training step. With stream, the
 * vector kernels store aligned vectors around the caches
 * (lam_cache_streamed_stores_done then orders them). */
typedef gsize (*VectorLookup) (const float *t, const guint8 *src, float *dst, gsize n,
                               gboolean stream);

static gsize
no_vector_lookup (const float *t, const guint8 *src, float *dst, gsize n, gboolean stream)
{
  return 0;
}

/* The widest lookup the CPU runs, chosen once; LAMINA_CPU_ISA limits it as
 * it limits the CPU backend's kernels (generic: none, avx2: the gather),
 * which is how test-loader holds each to the plain loop. */
static VectorLookup
vector_lookup (void)
{
  static gsize chosen = 0;
  if (g_once_init_enter (&chosen)) {
    VectorLookup lookup = no_vector_lookup;
#ifdef LOOKUP_AVX2
    const char *limit = g_getenv ("LAMINA_CPU_ISA");
    gboolean generic = limit != NULL && g_ascii_strcasecmp (limit, "generic") == 0;
    gboolean avx2_at_most = limit != NULL && g_ascii_strcasecmp (limit, "avx2") == 0;
    if (!generic && !avx2_at_most && __builtin_cpu_supports ("avx512f"))
      lookup = lookup_pixels_avx512;
    else if (!generic && __builtin_cpu_supports ("avx2"))
      lookup = lookup_pixels_avx2;
#endif
    g_once_init_leave (&chosen, (gsize) lookup);
  }
  return (VectorLookup) chosen;
}

static void
lookup_pixels (const float *t, const guint8 *src, float *dst, gsize n, gboolean stream)
{
  gsize k = vector_lookup () (t, src, dst, n, stream);
  for (; k + 8 <= n; k += 8) {
    guint64 w;
    memcpy (&w, src + k, sizeof w);
    w = GUINT64_FROM_LE (w);
    for (int j = 0; j < 8; j++)
      dst[k + j] = t[(w >> (8 * j)) & 255];
  }
  for (; k < n; k++)
    dst[k] = t[src[k]];
}

/* stream: out is for another core to read (lookup_pixels); not augmented. */
static void
prepare_image (const LamDataset *dataset, int index, const LamLoaderConfig *config,
               LamNormTable table, gboolean augment, GRand *rng, gboolean stream, float *out)
{
  if (dataset->features != NULL) {
    prepare_row (dataset, index, out);
    return;
  }

  int channels = dataset->channels, height = dataset->height, width = dataset->width;
  const guint8 *image = lam_dataset_get_image (dataset, index);
  gsize plane = (gsize) height * width;

  if (!augment || !config_augments (config)) {
    for (int c = 0; c < channels; c++)
      lookup_pixels (table[c], image + c * plane, out + c * plane, plane, stream);
    return;
  }

  int pad = MAX (config->crop_padding, 0);
  int dy = 0, dx = 0;
  if (pad > 0) {
    dy = g_rand_int_range (rng, 0, 2 * pad + 1) - pad;
    dx = g_rand_int_range (rng, 0, 2 * pad + 1) - pad;
  }
  gboolean flip = config->hflip && g_rand_boolean (rng);
  gboolean reflect = config->padding_mode == LAM_PADDING_REFLECT;

  for (int c = 0; c < channels; c++) {
    const float *t = table[c];
    const guint8 *src = image + c * plane;
    float *dst = out + c * plane;
    for (int y = 0; y < height; y++) {
      int sy = y + dy;
      gboolean row_inside = sy >= 0 && sy < height;
      if (!row_inside && reflect) {
        sy = reflect_index (sy, height);
        row_inside = TRUE;
      }
      float *row = dst + (gsize) y * width;
      if (!row_inside) {
        for (int x = 0; x < width; x++)
          row[x] = t[0];
        continue;
      }
      const guint8 *src_row = src + (gsize) sy * width;
      for (int x = 0; x < width; x++) {
        int sx = (flip ? width - 1 - x : x) + dx;
        if (sx < 0 || sx >= width) {
          if (!reflect) {
            row[x] = t[0];
            continue;
          }
          sx = reflect_index (sx, width);
        }
        row[x] = t[src_row[sx]];
      }
    }
  }
}

gboolean
lam_normalization_is_valid (float mean, float std)
{
  return isfinite (mean) && isfinite (std) && std >= LAM_NORMALIZATION_MIN_STD;
}

static gboolean
config_valid (const LamDataset *dataset, const LamLoaderConfig *config)
{
  if (dataset->features != NULL)
    return dataset->channels == 1 && dataset->height == 1 && dataset->width == dataset->n_features &&
           (dataset->task != LAM_TASK_REGRESSION || dataset->targets != NULL);
  if (dataset->channels < 1 || dataset->channels > 3)
    return FALSE;
  for (int c = 0; c < dataset->channels; c++)
    if (!lam_normalization_is_valid (config->mean[c], config->std[c]))
      return FALSE;
  return config->crop_padding >= 0;
}

void
lam_loader_prepare_image (const LamDataset *dataset, int index, const LamLoaderConfig *config,
                          gboolean augment, GRand *rng, float *out)
{
  g_return_if_fail (dataset != NULL && config != NULL && out != NULL);
  g_return_if_fail (index >= 0 && index < dataset->n);
  g_return_if_fail (config_valid (dataset, config));
  g_return_if_fail (!augment || !config_augments (config) || rng != NULL);

  LamNormTable table;
  norm_table_init (table, config, dataset->channels);
  prepare_image (dataset, index, config, table, augment, rng, FALSE, out);
}

/* ---- loader ---- */

typedef enum
{
  SLOT_FREE,    /* may be filled, by the thread or the caller */
  SLOT_FILLING, /* being filled, outside the lock */
  SLOT_READY,   /* filled, waiting for lam_loader_next */
  SLOT_IN_USE,  /* handed to the caller until the next call */
} SlotState;

struct _LamLoader
{
  const LamDataset *dataset; /* borrowed */
  LamLoaderConfig config;
  guint32 *indices; /* owned copy, in the given order */
  gsize n;
  int n_batches;
  gsize image_size;
  LamNormTable table;
  GRand *shuffle_rng; /* owned; used under the lock */
  /* Owned; reseeded for each batch, so that either filler gives the same
   * batch: the thread's, and lam_loader_next's caller's, since each may
   * fill a batch while the other fills the next. */
  GRand *augment_rng;
  GRand *caller_augment_rng;

  /* order is rewritten only under the lock while no slot is FILLING; the
   * fillers read it outside the lock. */
  guint32 *order;

  LamBatch slots[2]; /* batch k lives in slot k % 2 */
  GThread *thread;

  GMutex lock;
  GCond cond; /* any change of the fields below */
  SlotState state[2];
  int epoch;
  int limit;    /* batches in the current epoch; 0 before the first epoch */
  int to_fill;  /* next batch the thread prepares */
  int to_hand;  /* next batch lam_loader_next returns */
  int in_use;   /* slot handed out, or -1 */
  gboolean quit;

  /* Each slot's own room for images (batch_size images); the images a
   * slot hands out are there, or where lam_loader_next_into was told. */
  float *image_rooms[2];
};

typedef struct
{
  LamLoader *loader;
  gsize start; /* the batch's first place in the order */
  gsize size;  /* its images */
  gboolean augment;
  GRand *augment_rng;
  LamBatch *slot;
  float *images;
  gboolean stream; /* images for the other cores: see fill_images */
} BatchFillJob;

/* Each image's floats are asked for, for writing, while the image before
 * is converted (lam_cache_claim_for_writing): when training on both
 * cores, each has just read the whole batch, and the lines one writes are
 * in the other's cache too. Two Zen 5 vCPUs with a 400-450 ns round trip,
 * both cores reading the batch between batches: a batch of 32 took 12.5-
 * 15.6 µs to fill on both against 38-40; mlp-b32's epoch 0.490-0.494 s
 * against 0.491-0.514, and in a slow spell 0.617-0.642 against 0.653-0.667
 * (three alternating runs each). Within the task's own images: one of the
 * next task's would be taken from the core writing it.
 *
 * Filled by ranges on the CPU backend's threads, for a model whose first
 * layer then reads every image on every core (a linear layer split by its
 * units), the images are stored around the caches instead (stream): no
 * line is taken from the other core, and each core reads the other's
 * images from memory, not from its cache. Two Zen 5 vCPUs whose round
 * trip was 420-500 ns, alternating runs (six each, lower in four): mlp-b32
 * 0.434 s on average against 0.443, mlp-b128 0.416 against 0.427; 100-180
 * ns apart, with lam-cpu-linear.c's f(y) streamed too, mlp-b128 0.309 s
 * against 0.311. A convolution reads the images its own core filled, from
 * memory now: a few µs in a step of 3-8 ms, not seen in cnn-b64's or
 * cifar10-cnn's runs. */
static void
fill_images (size_t lo, size_t hi, void *data)
{
  const BatchFillJob *job = data;
  LamLoader *loader = job->loader;
  LamBatch *slot = job->slot;
  gsize image_bytes = sizeof (float) * loader->image_size;
  gboolean claim = !job->stream;
  if (lo < hi && claim)
    lam_cache_claim_for_writing (job->images + lo * loader->image_size, image_bytes);
  for (size_t i = lo; i < hi; i++) {
    if (i + 1 < hi && claim)
      lam_cache_claim_for_writing (job->images + (i + 1) * loader->image_size, image_bytes);
    /* The images of a shuffled batch lie anywhere in the dataset, most of
     * them outside the caches: asking for the one after next while this
     * one is converted halved a Fashion-MNIST batch's time. Every line of
     * it, the last clamped to its last byte. */
    if (i + 2 < job->size && loader->dataset->images != NULL) {
      const guint8 *ahead =
        lam_dataset_get_image (loader->dataset, (int) loader->order[job->start + i + 2]);
      for (gsize byte = 0; byte < loader->image_size + 63; byte += 64)
        __builtin_prefetch (ahead + MIN (byte, loader->image_size - 1));
    }
    guint32 index = loader->order[job->start + i];
    slot->indices[i] = index;
    slot->labels[i] = loader->dataset->labels != NULL ? loader->dataset->labels[index] : 0;
    if (slot->targets != NULL)
      prepare_targets (loader->dataset, (int) index,
                       slot->targets + (gsize) i * loader->dataset->n_targets);
    prepare_image (loader->dataset, (int) index, &loader->config, loader->table, job->augment,
                   job->augment_rng, job->stream, job->images + (gsize) i * loader->image_size);
  }
  if (job->stream)
    lam_cache_streamed_stores_done ();
}

/* Fills the batch into slot, its images into images; filled by the caller
 * of lam_loader_next, by ranges of images where the config says how and
 * nothing is drawn. */
static void
fill_batch (LamLoader *loader, int epoch, int batch, GRand *augment_rng, LamBatch *slot,
            float *images, gboolean by_caller)
{
  gsize start = (gsize) batch * loader->config.batch_size;
  int size = (int) MIN ((gsize) loader->config.batch_size, loader->n - start);
  gboolean augment = config_augments (&loader->config) && loader->dataset->features == NULL;
  if (augment) {
    /* Seeded per batch so the result does not depend on thread timing. */
    guint32 extra[2] = { (guint32) epoch, (guint32) batch };
    rand_reseed (augment_rng, loader->config.seed, extra, 2);
  }
  gboolean by_ranges = by_caller && !augment && loader->config.run_ranges != NULL;
  BatchFillJob job = { loader, start, (gsize) size, augment, augment_rng, slot, images, by_ranges };
  if (by_ranges)
    loader->config.run_ranges (loader->config.runner, (size_t) size, fill_images, &job);
  else
    fill_images (0, (size_t) size, &job);
  slot->size = size;
}

static gpointer
loader_thread (gpointer data)
{
  LamLoader *loader = data;
  g_mutex_lock (&loader->lock);
  for (;;) {
    while (!loader->quit &&
           !(loader->to_fill < loader->limit && loader->state[loader->to_fill % 2] == SLOT_FREE))
      g_cond_wait (&loader->cond, &loader->lock);
    if (loader->quit)
      break;
    int batch = loader->to_fill++;
    int epoch = loader->epoch;
    int s = batch % 2;
    loader->state[s] = SLOT_FILLING;
    g_mutex_unlock (&loader->lock);

    fill_batch (loader, epoch, batch, loader->augment_rng, &loader->slots[s],
                loader->image_rooms[s], FALSE);

    g_mutex_lock (&loader->lock);
    loader->state[s] = SLOT_READY;
    g_cond_broadcast (&loader->cond);
  }
  g_mutex_unlock (&loader->lock);
  return NULL;
}

LamLoader *
lam_loader_new (const LamDataset *dataset, const guint32 *indices, gsize n,
                const LamLoaderConfig *config)
{
  g_return_val_if_fail (dataset != NULL && config != NULL, NULL);
  g_return_val_if_fail (config->batch_size > 0, NULL);
  g_return_val_if_fail (config_valid (dataset, config), NULL);
  if (indices == NULL)
    n = (gsize) dataset->n;
  g_return_val_if_fail (n <= G_MAXINT32, NULL);
  for (gsize i = 0; indices != NULL && i < n; i++)
    g_return_val_if_fail (indices[i] < (guint32) dataset->n, NULL);

  LamLoader *loader = g_new0 (LamLoader, 1);
  loader->dataset = dataset;
  loader->config = *config;
  loader->n = n;
  loader->indices = g_new (guint32, n);
  for (gsize i = 0; i < n; i++)
    loader->indices[i] = indices ? indices[i] : (guint32) i;
  loader->order = g_new (guint32, n);
  gsize batch = (gsize) config->batch_size;
  loader->n_batches = (int) (config->drop_last ? n / batch : (n + batch - 1) / batch);
  loader->image_size = lam_dataset_image_size (dataset);
  norm_table_init (loader->table, config, dataset->channels);
  loader->shuffle_rng = g_rand_new_with_seed (0);
  loader->augment_rng = g_rand_new_with_seed (0);
  loader->caller_augment_rng = g_rand_new_with_seed (0);

  for (int s = 0; s < 2; s++) {
    loader->image_rooms[s] = g_new (float, batch * loader->image_size);
    loader->slots[s].labels = g_new (gint32, batch);
    loader->slots[s].indices = g_new (guint32, batch);
    if (dataset->task == LAM_TASK_REGRESSION && dataset->targets != NULL)
      loader->slots[s].targets = g_new (float, batch * dataset->n_targets);
    loader->state[s] = SLOT_FREE;
  }
  loader->in_use = -1;
  g_mutex_init (&loader->lock);
  g_cond_init (&loader->cond);
  return loader;
}

void
lam_loader_free (LamLoader *loader)
{
  if (loader == NULL)
    return;
  g_mutex_lock (&loader->lock);
  loader->quit = TRUE;
  g_cond_broadcast (&loader->cond);
  g_mutex_unlock (&loader->lock);
  if (loader->thread != NULL)
    g_thread_join (loader->thread);

  g_mutex_clear (&loader->lock);
  g_cond_clear (&loader->cond);
  for (int s = 0; s < 2; s++) {
    g_free (loader->image_rooms[s]);
    g_free (loader->slots[s].labels);
    g_free (loader->slots[s].indices);
    g_free (loader->slots[s].targets);
  }
  g_rand_free (loader->shuffle_rng);
  g_rand_free (loader->augment_rng);
  g_rand_free (loader->caller_augment_rng);
  g_free (loader->order);
  g_free (loader->indices);
  g_free (loader);
}

gsize
lam_loader_get_n_samples (LamLoader *loader)
{
  g_return_val_if_fail (loader != NULL, 0);
  return loader->n;
}

int
lam_loader_get_n_batches (LamLoader *loader)
{
  g_return_val_if_fail (loader != NULL, 0);
  return loader->n_batches;
}

void
lam_loader_start_epoch (LamLoader *loader, int epoch)
{
  g_return_if_fail (loader != NULL);

  g_mutex_lock (&loader->lock);
  /* Stop handing out the old epoch, then wait for the thread to leave the
   * batch it is filling, since that batch reads the order rewritten below. */
  loader->limit = 0;
  while (loader->state[0] == SLOT_FILLING || loader->state[1] == SLOT_FILLING)
    g_cond_wait (&loader->cond, &loader->lock);

  if (loader->n > 0)
    memcpy (loader->order, loader->indices, loader->n * sizeof (guint32));
  if (loader->config.shuffle) {
    guint32 extra[1] = { (guint32) epoch };
    rand_reseed (loader->shuffle_rng, loader->config.seed, extra, 1);
    shuffle (loader->order, loader->n, loader->shuffle_rng);
  }
  loader->epoch = epoch;
  loader->state[0] = loader->state[1] = SLOT_FREE;
  loader->in_use = -1;
  loader->to_fill = 0;
  loader->to_hand = 0;
  loader->limit = loader->n_batches;
  g_cond_broadcast (&loader->cond);
  g_mutex_unlock (&loader->lock);

  /* Started here rather than in lam_loader_new so that it inherits the
   * scheduling priority of the thread that trains, not that of the window's
   * thread which usually creates the loader. */
  if (loader->thread == NULL && !loader->config.in_caller)
    loader->thread = g_thread_new ("lam-loader", loader_thread, loader);
}

static const LamBatch *
loader_next (LamLoader *loader, float *into)
{
  /* Without the thread, nobody waits on the condition; a broadcast is a
   * system call. */
  gboolean threaded = !loader->config.in_caller;
  g_mutex_lock (&loader->lock);
  if (loader->in_use >= 0) {
    loader->state[loader->in_use] = SLOT_FREE;
    loader->in_use = -1;
    if (threaded)
      g_cond_broadcast (&loader->cond);
  }
  if (loader->to_hand >= loader->limit) {
    g_mutex_unlock (&loader->lock);
    return NULL;
  }
  int s = loader->to_hand % 2;
  gboolean filled_into = FALSE;
  /* A batch the thread has not started (every batch, in_caller) is filled
   * here; filled by either, a batch is the same. */
  if (loader->state[s] == SLOT_FREE && loader->to_fill == loader->to_hand) {
    int batch = loader->to_fill++;
    int epoch = loader->epoch;
    loader->state[s] = SLOT_FILLING;
    g_mutex_unlock (&loader->lock);

    fill_batch (loader, epoch, batch, loader->caller_augment_rng, &loader->slots[s],
                into != NULL ? into : loader->image_rooms[s], TRUE);

    g_mutex_lock (&loader->lock);
    loader->state[s] = SLOT_READY;
    if (threaded)
      g_cond_broadcast (&loader->cond);
    filled_into = into != NULL;
  }
  while (loader->state[s] != SLOT_READY)
    g_cond_wait (&loader->cond, &loader->lock);
  loader->state[s] = SLOT_IN_USE;
  loader->in_use = s;
  loader->to_hand++;
  g_mutex_unlock (&loader->lock);

  LamBatch *slot = &loader->slots[s];
  if (into != NULL && !filled_into)
    memcpy (into, loader->image_rooms[s], sizeof (float) * loader->image_size * slot->size);
  slot->images = into != NULL ? into : loader->image_rooms[s];
  return slot;
}

const LamBatch *
lam_loader_next (LamLoader *loader)
{
  g_return_val_if_fail (loader != NULL, NULL);
  return loader_next (loader, NULL);
}

const LamBatch *
lam_loader_next_into (LamLoader *loader, float *images)
{
  g_return_val_if_fail (loader != NULL, NULL);
  return loader_next (loader, images);
}
