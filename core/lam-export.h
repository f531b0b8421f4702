/* lam-export.h: a PyTorch script that rebuilds a Lamina model.
 *
 * The script holds the same layers in the same order as an nn.Sequential,
 * so its state-dict names are those of the checkpoint's .safetensors
 * ("0.weight", "0.bias", ...); a loader for that file needing nothing but
 * torch; the dataset, normalisation, loss and optimizer Lamina used; and a
 * training loop. It imports without side effects: build_model(),
 * normalize(), load_lamina_weights(), MEAN, STD, INPUT_SHAPE and
 * NUM_CLASSES are module-level names.
 */
#pragma once

#include <glib.h>

#include "lam-dataset.h"
#include "lam-model.h"
#include "lam-trainer.h"

G_BEGIN_DECLS

#define LAM_EXPORT_ERROR (lam_export_error_quark ())
GQuark lam_export_error_quark (void);

typedef enum
{
  LAM_EXPORT_ERROR_UNSUPPORTED, /* a layer kind or loss the script cannot express */
  LAM_EXPORT_ERROR_INVALID,     /* an option missing or out of range, named in the message */
} LamExportError;

typedef enum
{
  LAM_EXPORT_DATASET_FASHION_MNIST, /* torchvision.datasets.FashionMNIST */
  LAM_EXPORT_DATASET_MNIST,
  LAM_EXPORT_DATASET_KMNIST,
  LAM_EXPORT_DATASET_CIFAR10,
  LAM_EXPORT_DATASET_FOLDER,        /* IDX files read from dataset_dir by the script itself */
  LAM_EXPORT_DATASET_TABLE,         /* a CSV table (dataset_dir), read with the csv module */
} LamExportDataset;

/* "fashion-mnist", "mnist", "kmnist", "cifar10", "folder", "table". */
const char *lam_export_dataset_to_string (LamExportDataset dataset);

/* Which torchvision dataset a Lamina dataset folder holds, judged by the
 * folder's name ("fashion", "kmnist", "cifar", "mnist") and, failing that,
 * by CIFAR-10 batch files inside; LAM_EXPORT_DATASET_FOLDER otherwise. */
LamExportDataset lam_export_dataset_for_dir (const char *dir);

typedef struct
{
  const LamModelSpec *spec;  /* borrowed; input set */
  /* The .safetensors file the script loads by default. Written relative to
   * the script's folder when it lies there or below (script_path given),
   * else as an absolute path. */
  const char *weights_path;
  const char *script_path;   /* where the script will be written; may be NULL */
  int n_channels;            /* 1 to 3: how many of mean/std apply */
  float mean[3];             /* normalisation after scaling pixels to [0, 1] */
  float std[3];
  LamExportDataset dataset;
  const char *dataset_dir;   /* the folder Lamina read; needed for _FOLDER, else a comment */
  /* Epochs, batch size, optimizer, schedule, validation fraction, seed and
   * augmentation. Its mean, std, normalize_from_data, report_every and
   * evaluate_test are not read: the normalisation is the one above. */
  LamTrainerConfig config;
  /* A model trained on a table (dataset LAM_EXPORT_DATASET_TABLE, with
   * dataset_dir the CSV file; mean and std above are not read): its
   * columns, test split and standardisation, and a classification's class
   * names. The script then reads the file with Python's csv module
   * (read_table), picks the same test rows, standardises the inputs
   * (normalize) and, for a regression, the targets, and gives predictions
   * back in the targets' units (unscale); TABLE, INPUTS, TARGETS, TASK,
   * CLASSES, TARGET_MEAN and TARGET_STD are module-level names too.
   * Borrowed. */
  const LamTableInfo *table;
  char **class_names;
  /* With table: the column that says which rows are test rows ("test"),
   * instead of the split by a hash of the rows' indices; a playground
   * set's points are written out so (lam_dataset_table_write_csv).
   * NULL: the hash split. */
  const char *table_split_column;
} LamExportOptions;

/* Options for a spec with Lamina's training defaults, normalisation mean 0
 * std 1 over the spec's input channels, and Fashion-MNIST. */
void lam_export_options_init (LamExportOptions *options, const LamModelSpec *spec);

/* The script's text (owned), or NULL with LAM_EXPORT_ERROR naming the
 * layer, loss or option at fault, or LAM_MODEL_ERROR when the layers do
 * not fit together. */
char *lam_export_pytorch_script (const LamExportOptions *options, GError **error);

/* Python float literals in the fewest digits that read back the same
 * (as a 32-bit float, or a double), with ".0" where Python would otherwise
 * read an int. The value must be finite. */
void lam_export_append_python_float (GString *s, float value);
void lam_export_append_python_double (GString *s, double value);

G_END_DECLS
