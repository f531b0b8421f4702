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

/* An IDX pair (images: magic 0x00000803, rank 3 [n, h, w], uint8 — or
 * 0x00000804, rank 4 [n, c, h, w] with c = 1 or 3, which is how colour
 * images are stored; labels: 0x00000801, rank 1, uint8), each plain or
 * gzip-compressed (by content, not by name).
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
 * Understands an IDX folder (train-images-idx3-ubyte[.gz] or, for colour,
 * train-images-idx4-ubyte[.gz],
 * train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz],
 * t10k-labels-idx1-ubyte[.gz]; class names from a "classes.txt" one name per
 * line if present, else Fashion-MNIST's names when the folder's name
 * contains "fashion", KMNIST's when it contains "kmnist", else the digits),
 * and a CIFAR-10 binary folder (data_batch_1..5.bin, test_batch.bin,
 * batches.meta.txt), directly or in a "cifar-10-batches-bin" child, and —
 * when an image decoder has been registered — a folder of images per class
 * (see lam_dataset_load_image_folder; grey 28×28 unless its first images
 * are in colour, then colour 32×32; skipped files are logged with
 * g_message).
 * `test` may be NULL when the caller does not want it; a folder without a
 * test part gives *test = NULL. */
gboolean lam_dataset_load_dir (const char *dir, LamDataset **train, LamDataset **test,
                               GError **error);

/* ---- folders of images, one sub-folder per class (lam-dataset-folder.c) ----
 *
 * DIR/<class>/…/NAME.png (or .jpg, .jpeg), class names being the sub-folders'
 * names sorted byte-wise (the order PyTorch's ImageFolder gives, so labels
 * agree); or DIR/train/<class>/… and DIR/test/<class>/… when both exist,
 * the train part's classes then being the classes. Hidden files and
 * folders are ignored; every other file that is not a readable PNG or JPEG
 * is skipped and listed, never fatal. A class with no readable training
 * image is left out (and listed). Only when nothing usable remains — no
 * class folders, no readable image, a single class — is it an error. */

/* Decodes the image file at path into pixels: channels (1 grey or 3 RGB)
 * × height × width bytes, planes in CHW order, resized to exactly that
 * size. Returns FALSE with error set (its message saying what is wrong
 * with the file, without repeating the path) when the file is not a
 * readable image. Called from several threads at once. */
typedef gboolean (*LamImageDecodeFunc) (const char *path, int channels, int height, int width,
                                        guint8 *pixels, gpointer user_data, GError **error);

/* Registers the decoder the dataset readers use for image folders (the app
 * registers gdk-pixbuf's at start-up: core does not link an image
 * library). NULL unregisters. */
void lam_dataset_set_image_decoder (LamImageDecodeFunc decoder, gpointer user_data);
LamImageDecodeFunc lam_dataset_get_image_decoder (gpointer *user_data);

/* Called on the thread that imports, done of total image files decoded. */
typedef void (*LamImageFolderProgress) (guint done, guint total, gpointer user_data);

#define LAM_IMAGE_FOLDER_MIN_SIDE 4
#define LAM_IMAGE_FOLDER_MAX_SIDE 512
#define LAM_IMAGE_FOLDER_MAX_IMAGES 1000000

typedef struct
{
  int channels; /* 1 (grey), 3 (colour), or 0: colour when the first images are */
  int height;   /* LAM_IMAGE_FOLDER_MIN_SIDE .. MAX_SIDE; 0: 28 grey, 32 colour */
  int width;
  LamImageDecodeFunc decoder; /* NULL: the registered one */
  gpointer decoder_data;
  LamImageFolderProgress progress; /* may be NULL */
  gpointer progress_data;
  GCancellable *cancellable; /* borrowed, may be NULL */
} LamImageFolderOptions;

/* The registered decoder, no progress, and channels as given with the
 * default size (0 × 0): grey 28×28 like MNIST, colour 32×32 like CIFAR-10. */
void lam_image_folder_options_init (LamImageFolderOptions *options, int channels);

/* Whether dir looks like a folder of images per class (a quick look at
 * names; nothing is decoded). */
gboolean lam_dataset_is_image_folder (const char *dir);

/* Reads a folder of images per class. *skipped (may be NULL) receives a
 * NULL-terminated list of "path: reason" for every file and folder left
 * out; test may be NULL. A cancelled read fails with G_IO_ERROR_CANCELLED. */
gboolean lam_dataset_load_image_folder (const char *dir, const LamImageFolderOptions *options,
                                        LamDataset **train, LamDataset **test, char ***skipped,
                                        GError **error);

/* Writes train (and test when not NULL) into dir as gzip IDX files that
 * lam_dataset_load_dir reads back (rank 3 for grey, rank 4 for colour) and
 * the class names as classes.txt. Each file is replaced atomically. */
gboolean lam_dataset_save_idx_dir (const char *dir, const LamDataset *train,
                                   const LamDataset *test, GError **error);

/* Where imported datasets are kept: g_get_user_data_dir()/lamina/datasets. */
char *lam_dataset_dup_datasets_dir (void);

/* Reads an image folder and stores it as an IDX dataset folder in root
 * (NULL: lam_dataset_dup_datasets_dir ()) named
 * "<folder>-<w>x<h>-<grey|colour>", which replaces an earlier import of
 * the same folder at the same size as a whole, or never an import of
 * another folder with the same name (that one gets "-2", "-3"… instead).
 * Returns the new folder's path. */
char *lam_dataset_import_image_folder (const char *dir, const LamImageFolderOptions *options,
                                       const char *root, char ***skipped, GError **error);

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
