/* lam-loader.h: train/validation split, and the batch loader that shuffles,
 * normalises (fused with the uint8 → float conversion; standardises a
 * table's rows and targets) and augments, preparing the next batch on its
 * own thread while the current one trains, or when asked where training
 * takes every core. */
#pragma once

#include <float.h>

#include "lam-backend.h"
#include "lam-dataset.h"

G_BEGIN_DECLS

/* A seeded split of indices 0..n-1 into train and validation parts, disjoint
 * and together covering every index once. */
typedef struct
{
  guint32 *train; /* owned */
  gsize n_train;
  guint32 *val; /* owned; NULL when n_val == 0 */
  gsize n_val;
} LamSplit;

/* n_val = round(n * val_fraction); 0 <= val_fraction < 1. */
LamSplit *lam_split_new_fraction (gsize n, double val_fraction, guint64 seed);
/* Exactly n_val validation samples; n_val < n. */
LamSplit *lam_split_new_count (gsize n, gsize n_val, guint64 seed);
void lam_split_free (LamSplit *split);

/* How a random crop fills what lies beyond the image: pixel value 0
 * (PyTorch's RandomCrop padding_mode="constant" with fill 0), or mirrored
 * about the edge pixel, which is not repeated (padding_mode="reflect"). */
typedef enum
{
  LAM_PADDING_ZERO,
  LAM_PADDING_REFLECT,
} LamPaddingMode;

/* "zeros" or "reflect": the names of the command line and project files. */
const char *lam_padding_mode_to_string (LamPaddingMode mode);
/* FALSE for a name that is none of them (case is ignored). */
gboolean lam_padding_mode_from_string (const char *name, LamPaddingMode *mode);

typedef struct
{
  int batch_size;
  gboolean shuffle;    /* reshuffle every epoch (training); FALSE keeps index order */
  gboolean drop_last;  /* FALSE: the last batch may be smaller */
  guint64 seed;
  /* Normalisation of images: x = (pixel / 255 - mean[c]) / std[c]. A
   * table's rows are standardised by the table's own statistics instead,
   * x = (value - feature_mean[j]) / feature_std[j] (see LamDataset), and
   * these are not read. */
  float mean[3];
  float std[3];
  /* Augmentation (set only for training loaders; images only: a table is
   * never augmented). */
  int crop_padding;    /* > 0: random crop of the original size from the padded image */
  LamPaddingMode padding_mode;
  gboolean hflip;      /* random horizontal flip with probability 0.5 */
  /* Batches are filled by lam_loader_next's caller, when it asks, rather
   * than ahead of it by a thread of the loader's own: for a model whose
   * training keeps every core busy, where that thread only takes turns
   * with the training threads (lam_backend_cpu_threads). */
  gboolean in_caller;
  /* Where set, a batch filled in the caller and not augmented (whose draws
   * follow the images in order) is filled by ranges of its images,
   * run_ranges (runner, n, range, data) calling range (lo, hi, data) over
   * [0, n) as it likes, on threads free meanwhile. runner is borrowed and
   * must outlive the loader. */
  void (*run_ranges) (void *runner, size_t n, void (*range) (size_t lo, size_t hi, void *data),
                      void *data);
  void *runner;
} LamLoaderConfig;

/* The smallest std that normalises: FLT_MIN, the smallest normal float.
 * Below it a std is subnormal, and from about 2.9e-39 down 1 / std is
 * infinite, and every pixel above the mean with it. */
#define LAM_NORMALIZATION_MIN_STD FLT_MIN
/* The largest mean (either sign) and std a lesson's settings take, the
 * same from lamina train --normalize, a project and the Train page. */
#define LAM_NORMALIZATION_MAX_SETTING 1e6

/* Whether mean and std can normalise a channel: mean finite, std finite and
 * at least LAM_NORMALIZATION_MIN_STD. The loader takes no other; files and
 * settings that carry a normalisation are held to it when read. */
gboolean lam_normalization_is_valid (float mean, float std);

/* No shuffle, no augmentation, mean 0 std 1, batch 64. */
LamLoaderConfig lam_loader_config_default (void);
/* Sets in_caller and run_ranges for training on backend: batches filled
 * in the caller, on the CPU backend's threads, where those take every
 * core; else by the loader's thread. */
void lam_loader_config_set_backend (LamLoaderConfig *config, LamBackend *backend);

typedef struct
{
  int size;        /* samples in this batch, <= batch_size */
  float *images;   /* size × channels × height × width, normalised (a table's rows) */
  gint32 *labels;  /* size; 0 for a regression table */
  guint32 *indices; /* size: dataset indices of the samples */
  /* A regression table's targets, size × n_targets, standardised as
   * (target - target_mean) / target_std; NULL otherwise. */
  float *targets;
} LamBatch;

typedef struct _LamLoader LamLoader;

/* Iterates over dataset images listed in indices (copied; all when NULL).
 * The dataset is borrowed and must outlive the loader. */
LamLoader *lam_loader_new (const LamDataset *dataset, const guint32 *indices, gsize n,
                           const LamLoaderConfig *config);
void lam_loader_free (LamLoader *loader);
gsize lam_loader_get_n_samples (LamLoader *loader);
int lam_loader_get_n_batches (LamLoader *loader); /* per epoch */

/* Starts an epoch: order = shuffle(seed, epoch) when shuffling, else the
 * given order; the same seed and epoch give the same order. Starts preparing
 * the first batch in the background (unless in_caller). */
void lam_loader_start_epoch (LamLoader *loader, int epoch);
/* The next batch of the epoch, or NULL at the end. The batch is owned by the
 * loader and valid until the next call; the one after it is being prepared
 * meanwhile on the loader's thread (unless in_caller). */
const LamBatch *lam_loader_next (LamLoader *loader);
/* As lam_loader_next, with the batch's images written to images (room for
 * batch_size images, in main memory) and the batch's images pointing
 * there: for a caller that would copy them there, such as into the input
 * of a model on the CPU (lam_model_get_input_in_memory). A batch filled in
 * the caller (in_caller, or not yet started by the thread) is written there
 * directly, saving the copy. With images NULL, lam_loader_next. */
const LamBatch *lam_loader_next_into (LamLoader *loader, float *images);

/* Fills one normalised (and, if augment, augmented) image, or a table's
 * standardised row, as a batch's are; used by previews in the UI.
 * rng may be NULL when augment is FALSE. out has channels × height × width
 * floats. */
void lam_loader_prepare_image (const LamDataset *dataset, int index,
                               const LamLoaderConfig *config, gboolean augment, GRand *rng,
                               float *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamSplit, lam_split_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamLoader, lam_loader_free)

G_END_DECLS
