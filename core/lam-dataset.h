/* lam-dataset.h: image datasets kept as uint8 in memory, and their readers.
 *
 * Readers never trust a header: every size is checked against the real
 * length of the data before anything is allocated, and every failure is a
 * GError naming the file, what was expected and what was found.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define LAM_DATASET_ERROR (lam_dataset_error_quark ())
GQuark lam_dataset_error_quark (void);

typedef enum
{
  LAM_DATASET_ERROR_NOT_FOUND, /* missing file, folder with nothing readable */
  LAM_DATASET_ERROR_FORMAT,    /* wrong magic, rank, type, header */
  LAM_DATASET_ERROR_TRUNCATED, /* fewer bytes than the header says */
  LAM_DATASET_ERROR_TOO_LARGE, /* dimensions overflow or exceed the limits */
  LAM_DATASET_ERROR_MISMATCH,  /* label count vs image count, shapes across files */
  LAM_DATASET_ERROR_LABEL,     /* label out of range */
} LamDatasetError;

typedef struct
{
  char *name;     /* "Fashion-MNIST (train)", owned */
  int n;          /* number of images */
  int channels;   /* 1 (grey) or 3 (RGB) */
  int height;
  int width;
  guint8 *images; /* owned: n × channels × height × width, CHW per image */
  guint8 *labels; /* owned: n, each < n_classes */
  int n_classes;
  char **class_names; /* owned, NULL-terminated, n_classes entries */
} LamDataset;

void lam_dataset_free (LamDataset *dataset);
gsize lam_dataset_image_size (const LamDataset *dataset); /* channels*height*width */
const guint8 *lam_dataset_get_image (const LamDataset *dataset, int index);

/* An IDX pair (images: magic 0x00000803, rank 3, uint8; labels: 0x00000801,
 * rank 1, uint8), each plain or gzip-compressed (by content, not by name).
 * Labels must be < n_classes where n_classes = number of class_names when
 * given, else max label + 1 (at most 256). class_names may be NULL: then
 * "0".."9"-style names are used. */
LamDataset *lam_dataset_load_idx (const char *images_path, const char *labels_path,
                                  const char *const *class_names, GError **error);

/* CIFAR-10 binary batches: records of 1 label byte + 3072 pixel bytes
 * (3×32×32). Several files are concatenated in order. class_names may be NULL
 * for CIFAR-10's ten names. */
LamDataset *lam_dataset_load_cifar10 (const char *const *paths, const char *const *class_names,
                                      GError **error);

/* A dataset folder: finds the train and test parts and the class names.
 * Understands an IDX folder (train-images-idx3-ubyte[.gz],
 * train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz],
 * t10k-labels-idx1-ubyte[.gz]; class names from a "classes.txt" one name per
 * line if present, else Fashion-MNIST's names when the folder's name
 * contains "fashion", KMNIST's when it contains "kmnist", else the digits),
 * and a CIFAR-10 binary folder (data_batch_1..5.bin, test_batch.bin,
 * batches.meta.txt), directly or in a "cifar-10-batches-bin" child.
 * `test` may be NULL when the caller does not want it; a folder without a
 * test part gives *test = NULL. */
gboolean lam_dataset_load_dir (const char *dir, LamDataset **train, LamDataset **test,
                               GError **error);

/* The default dataset: Fashion-MNIST from Debian's dataset-fashion-mnist. */
#define LAM_DATASET_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

extern const char *const lam_fashion_mnist_classes[];
extern const char *const lam_kmnist_classes[];
extern const char *const lam_cifar10_classes[];

/* Mean and standard deviation of pixel values scaled to [0, 1], per channel,
 * over the images listed in indices (all when indices is NULL). */
void lam_dataset_compute_stats (const LamDataset *dataset, const guint32 *indices, gsize n,
                                float *mean, float *std);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamDataset, lam_dataset_free)

G_END_DECLS
