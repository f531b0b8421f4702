/* lam-dataset.h: datasets in memory — images as uint8, tables of numbers as
 * float — and their readers.
 *
 * Readers never trust a header: every size is checked against the real
 * length of the data before anything is allocated, and every failure is a
 * GError naming the file, what was expected and what was found.
 */
#pragma once

#include <gio/gio.h>

#include "lam-tensor.h"

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
  LAM_DATASET_ERROR_LABEL,     /* label out of range, too many classes */
  LAM_DATASET_ERROR_COLUMN,    /* a table's column asked for is not there or asked twice */
} LamDatasetError;

/* What a dataset asks of a model: a class per sample (images, and tables
 * whose target column holds text or a few whole numbers), or one or more
 * real numbers per sample (tables with numeric target columns). */
typedef enum
{
  LAM_TASK_CLASSIFICATION,
  LAM_TASK_REGRESSION,
} LamTask;

/* "classification", "regression". */
const char *lam_task_to_string (LamTask task);

/* A dataset of images, or a table of numbers.
 *
 * A table (features != NULL, images NULL) has one row per sample of
 * n_features input values, and presents itself to models as channels = 1,
 * height = 1, width = n_features, so lam_dataset_image_size is the row's
 * length; its input shape for a model is flat (lam_dataset_get_input_shape),
 * so `linear:2` fits it with no flatten. A classification table has labels
 * and class names as an image dataset does; a regression table has
 * n_targets real targets per row instead (labels NULL, n_classes 0).
 *
 * The loader standardises a table's rows as x' = (x - feature_mean) /
 * feature_std, and a regression table's targets likewise; the statistics
 * are those of the training part (lam_dataset_table_set_scaling), copied to
 * the test part, and are mean 0 and std 1 when standardisation is off.
 * Losses are computed on the standardised targets; predictions and the
 * regression metrics are given back in the targets' own units. */
typedef struct
{
  char *name;     /* "Fashion-MNIST (train)", owned */
  int n;          /* number of images or rows */
  int channels;   /* 1 (grey) or 3 (RGB); 1 for a table */
  int height;     /* 1 for a table */
  int width;      /* n_features for a table */
  guint8 *images; /* owned: n × channels × height × width, CHW per image; NULL for a table */
  guint8 *labels; /* owned: n, each < n_classes; NULL for regression */
  int n_classes;  /* 0 for regression */
  char **class_names; /* owned, NULL-terminated, n_classes entries */

  /* Tables only (else 0 and NULL). */
  LamTask task;
  int n_features;
  float *features;       /* owned: n × n_features, the values as read */
  char **feature_names;  /* owned, NULL-terminated, n_features entries */
  float *feature_mean;   /* owned, n_features: the standardisation */
  float *feature_std;    /* owned, n_features, each > 0 */
  int n_targets;         /* regression: targets per row; 0 for classification */
  float *targets;        /* owned: n × n_targets, as read; regression only */
  /* owned, NULL-terminated: the target columns' names (the class column's
   * for a classification table) */
  char **target_names;
  float *target_mean;    /* owned, n_targets; regression only */
  float *target_std;
} LamDataset;

void lam_dataset_free (LamDataset *dataset);
/* A deep copy. */
LamDataset *lam_dataset_copy (const LamDataset *dataset);
/* Room for bytes of a dataset's images, freed with g_free, or NULL when
 * out of memory. From 4 MiB, on 2 MiB pages where the kernel lends them
 * (transparent huge pages): a shuffled batch reads its images from
 * anywhere in the set, and on 4 KiB pages nearly every image cost the
 * CPU a walk of the page tables. */
guint8 *lam_dataset_images_try_new (gsize bytes);
gsize lam_dataset_image_size (const LamDataset *dataset); /* channels*height*width */
/* NULL for a table. */
const guint8 *lam_dataset_get_image (const LamDataset *dataset, int index);
gboolean lam_dataset_is_table (const LamDataset *dataset);
/* Row index of a table: n_features raw values. */
const float *lam_dataset_get_row (const LamDataset *dataset, int index);
/* The input shape a model is given: flat (n_features) for a table,
 * channels × height × width for images. */
LamShape lam_dataset_get_input_shape (const LamDataset *dataset);
/* Outputs a model needs: n_targets for regression, else n_classes. */
int lam_dataset_get_n_outputs (const LamDataset *dataset);

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
 * agree); or DIR/train/<class>/… and DIR/test/<class>/… when both exist
 * (the held-out part may be named val, valid or validation instead) or
 * DIR/train/<class>/… alone, the train part's classes then being the
 * classes. Hidden files and
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

/* ---- tables of numbers from CSV files (lam-dataset-csv.c) ----
 *
 * A CSV file: a header line naming the columns, then one row per line;
 * fields separated by commas, semicolons or tabs (whichever the header
 * line has most of); fields in double quotes may hold the separator, line
 * breaks and doubled quotes (""); CRLF line ends and a UTF-8 byte-order
 * mark are understood; blank lines are skipped; spaces around a field are
 * not part of it. Numbers use a decimal point ("1.5", "-2e3"); a cell that
 * is empty or not a number in a column used as a number is an error naming
 * the file, the line (1-based, the header being line 1) and the column.
 *
 * The task follows the target columns: a single target column holding text,
 * or only whole numbers with 2 to LAM_CSV_AUTO_CLASSES distinct values,
 * makes a classification table whose classes are its distinct values
 * (sorted: by value for whole numbers, byte-wise for text); numeric target
 * columns otherwise make a regression table with one output per column.
 *
 * The test part: round(test_fraction × rows) rows (20% by default, none
 * for a table of fewer than 5 rows when that rounds to 0), those with the
 * smallest splitmix64 hash of (split_seed, row index) (lam_csv_row_hash),
 * so a script in any language can pick the same rows; both parts keep the
 * file's order. */

#define LAM_CSV_MAX_BYTES ((gsize) 256 << 20)
#define LAM_CSV_MAX_ROWS 1000000
#define LAM_CSV_MAX_COLUMNS 1000
#define LAM_CSV_MAX_CLASSES 256
#define LAM_CSV_AUTO_CLASSES 20

typedef struct
{
  /* Column names. inputs NULL: every column that is not a target. */
  const char *const *inputs;
  const char *const *targets; /* at least one */
  /* Without task_set, the task follows the target columns as described
   * above; with it, task is the task (classification of one column of any
   * values, or regression, which needs numbers). */
  gboolean task_set;
  LamTask task;
  double test_fraction; /* 0 <= f < 1; 0.2 */
  guint64 split_seed;   /* 0 */
  gboolean standardize; /* TRUE: inputs and regression targets standardised */
} LamCsvOptions;

void lam_csv_options_init (LamCsvOptions *options);

/* Reads a CSV table. test may be NULL (then every row is in train); *test
 * is NULL when no row is held out. Errors: LAM_DATASET_ERROR_NOT_FOUND
 * (no file), _TOO_LARGE (over the limits above: checked before the rows
 * are stored), _FORMAT (empty file, no rows, a ragged row, a cell that is
 * not a number, an unterminated quote), _COLUMN (a name that is not in
 * the header — the message lists the header — or a column both input and
 * target), _LABEL (more than LAM_CSV_MAX_CLASSES classes). */
gboolean lam_dataset_load_csv (const char *path, const LamCsvOptions *options, LamDataset **train,
                               LamDataset **test, GError **error);

/* The rank key of row `index` for the test split. */
guint64 lam_csv_row_hash (guint64 seed, guint64 index);

/* Whether path names a CSV file (by its name: .csv, .tsv or .txt). */
gboolean lam_dataset_is_csv (const char *path);

/* The tables that come with Lamina (resources/tables: "crop-yields",
 * "study-time"): the path of the one named (with or without ".csv"),
 * installed or, for an uninstalled build, in the source tree; NULL when
 * there is none of that name. */
char *lam_dataset_find_bundled_table (const char *name);

/* What lamina info shows of a CSV file: every column's name and, for a
 * column of numbers, its statistics. */
typedef struct
{
  char *name;
  gboolean numeric;  /* every cell a number */
  gboolean integer;  /* every cell a whole number */
  double mean, std, min, max; /* numeric columns; std is the population one */
  int n_distinct;    /* distinct values, counted up to LAM_CSV_MAX_CLASSES + 1 */
  char *example;     /* the first row's value */
} LamCsvColumn;

typedef struct
{
  char *path;
  char delimiter;
  int n_rows;
  int n_columns;
  LamCsvColumn *columns; /* n_columns */
} LamCsvSummary;

LamCsvSummary *lam_csv_summary_load (const char *path, GError **error);
void lam_csv_summary_free (LamCsvSummary *summary);

/* Writes a table as CSV (comma-separated, a header of the feature then the
 * target names, numbers in the fewest digits that read back the same,
 * class names as text), which lam_dataset_load_csv reads back. */
gboolean lam_dataset_save_csv (const LamDataset *dataset, const char *path, GError **error);

/* How a model's table was read: what a checkpoint records so that
 * evaluation, predictions and an exported script read the same columns,
 * split off the same test rows and standardise them as training did. */
typedef struct
{
  LamTask task;
  int n_inputs;
  char **inputs;       /* owned, NULL-terminated: the input columns' names */
  float *input_mean;   /* owned, n_inputs: the standardisation (0 and 1 when off) */
  float *input_std;
  int n_targets;       /* target columns: one for a classification */
  char **targets;      /* owned, NULL-terminated */
  float *target_mean;  /* owned, n_targets; NULL for a classification */
  float *target_std;
  double test_fraction;
  guint64 split_seed;
} LamTableInfo;

/* The description of train (a table) as read with test_fraction and
 * split_seed. */
LamTableInfo *lam_table_info_new (const LamDataset *train, double test_fraction,
                                  guint64 split_seed);
LamTableInfo *lam_table_info_copy (const LamTableInfo *info);
void lam_table_info_free (LamTableInfo *info);
/* Reads the CSV at path as info describes it (its columns, task and test
 * split), with info's standardisation rather than that of the file's rows
 * now, so a model sees its inputs as it was trained. class_names (may be
 * NULL): a classification's classes must be these, in this order, else
 * LAM_DATASET_ERROR_LABEL. test may be NULL. */
gboolean lam_table_info_load (const LamTableInfo *info, const char *path,
                              const char *const *class_names, LamDataset **train,
                              LamDataset **test, GError **error);

/* Sets a table's standardisation from its own rows listed in indices (all
 * when NULL): per column mean and population standard deviation in double
 * (a constant column gets std 1), or mean 0 and std 1 when standardize is
 * FALSE. */
void lam_dataset_table_set_scaling (LamDataset *table, const guint32 *indices, gsize n,
                                    gboolean standardize);
/* Writes a table's rows as they were read (before standardisation) to a
 * CSV file at path, replacing it whole: the input columns, the targets (a
 * classification's class names), and a last column named split_column
 * saying "train" or "test", train's rows first. A playground set's points
 * are written so for a script to read. */
gboolean lam_dataset_table_write_csv (const LamDataset *train, const LamDataset *test,
                                      const char *split_column, const char *path,
                                      GError **error);
/* Copies src's standardisation to dst (a table with the same columns). */
void lam_dataset_table_copy_scaling (LamDataset *dst, const LamDataset *src);

/* The default dataset: Fashion-MNIST from Debian's dataset-fashion-mnist. */
#define LAM_DATASET_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

extern const char *const lam_fashion_mnist_classes[];
extern const char *const lam_kmnist_classes[];
extern const char *const lam_cifar10_classes[];

/* Mean and standard deviation of pixel values scaled to [0, 1], per channel,
 * over the images listed in indices (all when indices is NULL). A table
 * gives mean 0 and std 1: its rows are standardised by its own per-column
 * statistics instead (see LamDataset). */
void lam_dataset_compute_stats (const LamDataset *dataset, const guint32 *indices, gsize n,
                                float *mean, float *std);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamDataset, lam_dataset_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamCsvSummary, lam_csv_summary_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamTableInfo, lam_table_info_free)

G_END_DECLS
