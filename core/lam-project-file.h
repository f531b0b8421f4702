/* lam-project-file.h: a project on disk — the model spec, every training
 * setting, the dataset it was trained on, the history of its runs, and the
 * last run's weights (after each of its epochs too) and optimizer state, so
 * training can go on later.
 *
 * Files, for a project saved as NAME.lamina:
 *   NAME.lamina                 JSON: format name and version, spec,
 *                               settings, dataset, runs, resume position
 *   NAME.safetensors            the weights, PyTorch nn.Sequential names
 *                               ("0.weight", "0.bias", ...), loadable alone
 *   NAME.optimizer.safetensors  the optimizer's state as flat tensors named
 *                               as torch.optim names them ("exp_avg",
 *                               "exp_avg_sq" or "momentum_buffer"), and the
 *                               step count in its metadata
 *   NAME.snapshots.safetensors  the weights after each epoch of the last
 *                               run, one flat tensor per epoch named
 *                               "epoch.N"; only when there are any
 * All of them carry the same save id, so a set mixed from two saves is
 * refused. A save has one commit point: the weight files are written whole
 * as ".NAME.safetensors.<save id>", then NAME.lamina (naming that id) is
 * replaced atomically, then the weight files move into place. Whatever
 * stops a save, the last complete one loads: before the commit point the
 * old files are untouched; after it the loader finds the new weights under
 * their hidden names and finishes the save. Loads and saves remove what
 * interrupted saves left. A save without snapshots removes the snapshots
 * file of an earlier save after its commit point; one that outlives it is
 * never read, as the project names no snapshots (and its save id differs).
 */
#pragma once

#include <glib.h>

#include "lam-checkpoint.h"
#include "lam-model.h"
#include "lam-trainer.h"

G_BEGIN_DECLS

#define LAM_PROJECT_FILE_ERROR (lam_project_file_error_quark ())
GQuark lam_project_file_error_quark (void);

typedef enum
{
  LAM_PROJECT_FILE_ERROR_IO,       /* cannot read or write a file */
  LAM_PROJECT_FILE_ERROR_FORMAT,   /* not JSON, a field missing or of the wrong type */
  LAM_PROJECT_FILE_ERROR_VERSION,  /* written by a newer Lamina */
  LAM_PROJECT_FILE_ERROR_MISMATCH, /* weights or optimizer state that do not fit the spec */
} LamProjectFileError;

/* The format this Lamina writes, and the highest it reads. */
#define LAM_PROJECT_FILE_FORMAT "lamina-project"
#define LAM_PROJECT_FILE_VERSION 1
#define LAM_PROJECT_FILE_SUFFIX ".lamina"

typedef struct
{
  double x; /* fractional epoch: 0.5 is halfway through the first */
  double loss;
  double accuracy;
} LamRunStep;

typedef struct
{
  int epoch; /* 1-based */
  double train_loss, train_accuracy;
  double val_loss, val_accuracy; /* NAN without a validation set */
  double seconds;
  double lr;
} LamRunEpoch;

/* The learning rate changed by hand while the run trained. */
typedef struct
{
  double x;  /* fractional epoch of the change */
  double lr; /* the new rate */
} LamRunLrChange;

/* The fields after settings came with runs overlaid in colour; a file
 * written before them loads with NULL text, colour -1 and no lr changes. */
typedef struct
{
  int number;
  char *settings;       /* owned: "mlp, Adam lr 0.001, batch 64" */
  char *dataset;        /* owned, may be NULL: "Fashion-MNIST" */
  char *model;          /* owned, may be NULL: the preset's name or the spec as short text */
  char *optimizer;      /* owned, may be NULL: "Adam 0.001" */
  int color;            /* index into the charts' run palette; -1 when not chosen yet */
  gboolean hidden;      /* kept, but not drawn on the charts */
  GArray *steps;        /* of LamRunStep, in order */
  GArray *epochs;       /* of LamRunEpoch, in order */
  GArray *lr_changes;   /* of LamRunLrChange, in order */
  double test_loss;     /* NAN when the test set was not evaluated */
  double test_accuracy;
  /* What its "accuracy" fields measured: accuracy for a classification,
   * R² for a regression. A file written before the field says it by its
   * steps: a regression's carry no accuracy. */
  LamTask task;
} LamProjectRun;

/* "mlp, Adam lr 0.001, batch 64": a run's settings in one line. */
char *lam_project_describe_settings (const LamTrainerConfig *config, const LamModelSpec *spec);
/* "Small CNN", or the layers as text ("flatten,linear:256,relu,linear:10"),
 * shortened with an ellipsis past max_chars (0 for no limit). */
char *lam_project_describe_model (const LamModelSpec *spec, guint max_chars);
/* "Adam 0.001", "SGD 0.01". */
char *lam_project_describe_optimizer (const LamOptimizerConfig *optimizer);

LamProjectRun *lam_project_run_new (int number, const char *settings);
LamProjectRun *lam_project_run_copy (const LamProjectRun *run);
void lam_project_run_free (LamProjectRun *run);
/* How charts and lists name a run: "Run 3 · Fashion-MNIST · Small CNN ·
 * Adam 0.001"; a run saved without those fields, "Run 3 · " and its
 * settings. */
char *lam_project_run_dup_label (const LamProjectRun *run);
void lam_project_run_add_lr_change (LamProjectRun *run, double x, double lr);
/* The run as one CSV table (RFC 4180 quoting, "\n" line ends), every row
 * with every column of the header
 *   kind,epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,lr,
 *   run,dataset,model,optimizer,settings,color
 * and empty where its kind has no value: first a row of kind "run" with
 * the run's number, its texts and its colour index (empty when none), then
 * one "lr_change" row per change by hand (epoch fractional, lr the new
 * rate), one "epoch" row per epoch and one "step" row per recorded step
 * (epoch fractional; train_loss and train_accuracy since the last). */
char *lam_project_run_to_csv (const LamProjectRun *run);
/* The same written atomically. */
gboolean lam_project_run_write_csv (const LamProjectRun *run, const char *path, GError **error);

typedef struct
{
  int version;            /* the format read; 0 for a checkpoint of `lamina train --save` */
  LamModelSpec *spec;     /* owned; input set */
  LamTrainerConfig config;
  /* The lesson's own choice to normalise by the dataset's statistics. A
   * run that can continue saves config with the exact numbers it used
   * (continuing needs them), which would otherwise read as numbers the
   * user typed. */
  gboolean normalize_by_data;
  char *device;           /* owned: "auto", "cpu" or "cuda" */
  char *dataset_dir;      /* owned, may be NULL */
  char *dataset_name;     /* owned, may be NULL */
  GPtrArray *runs;        /* of LamProjectRun*, oldest first */

  /* The last run's weights (NULL: none) and the normalisation they expect. */
  float *params;          /* owned, n_params floats in plan order */
  gsize n_params;
  int n_channels;
  float mean[3];
  float std[3];

  /* Where the last run can continue from; only with weights. */
  gboolean resumable;
  int epochs_done;
  int batches_done;
  gint64 step;
  int n_optimizer_state;      /* lam_optimizer_config_get_n_state (&config.optimizer) */
  float *optimizer_state[2];  /* owned, n_params floats each */

  /* What the last run's weights predicted for each test image after each
   * epoch, for "wrong since epoch 2" in a reopened project: n_history
   * epochs (ascending; 0 for weights of a run stopped in its first epoch),
   * history_classes holding n_history rows of
   * history_n_images classes. Owned; 0 and NULL when none was saved. */
  int n_history;
  int history_n_images;
  int *history_epochs;
  gint32 *history_classes;

  /* The last run's weights after each of its epochs, for the Evaluate
   * page's epoch slider: n_snapshots buffers of n_params floats (the
   * weights' own count), epochs ascending and distinct. Owned; 0 and NULL
   * when none were saved. */
  int n_snapshots;
  int *snapshot_epochs;
  float **snapshots;

  /* Owned, may be NULL: what a load had to do, in words for the user (an
   * interrupted save finished, a description from another save ignored). */
  char *note;
} LamProjectFile;

/* Copies a prediction history into file (replacing any): n_epochs rows of
 * n_images classes, each below 32768. */
void lam_project_file_set_history (LamProjectFile *file, int n_epochs, int n_images,
                                   const int *epochs, const gint32 *const *classes);

LamProjectFile *lam_project_file_new (void);
void lam_project_file_free (LamProjectFile *file);
/* Takes copies. Clears the resume position and the snapshots: they belong
 * to the weights that were there. */
void lam_project_file_set_weights (LamProjectFile *file, const float *params, gsize n_params,
                                   int n_channels, const float *mean, const float *std);
/* Copies n_state buffers of file->n_params floats; needs weights first. */
void lam_project_file_set_resume (LamProjectFile *file, int epochs_done, int batches_done,
                                  gint64 step, const float *const *state, int n_state);
/* Copies n snapshots of file->n_params floats each (replacing any);
 * needs weights first. epochs ascending, each >= 1. */
void lam_project_file_set_snapshots (LamProjectFile *file, int n, const int *epochs,
                                     const float *const *params);
/* NAME.lamina → NAME.safetensors / NAME.optimizer.safetensors /
 * NAME.snapshots.safetensors (owned). */
char *lam_project_file_weights_path (const char *path);
char *lam_project_file_optimizer_path (const char *path);
char *lam_project_file_snapshots_path (const char *path);
/* The resume position as the trainer takes it; FALSE when not resumable. */
gboolean lam_project_file_get_start (const LamProjectFile *file, LamTrainerStart *start);

/* What a checkpoint of the project's weights would say of them: the
 * model, normalisation and dataset. Owned. */
LamCheckpointInfo *lam_project_file_dup_checkpoint_info (const LamProjectFile *file);
/* FALSE, with an error naming it, where saving a new project at path
 * would replace a file beside it that is not its own: weights, optimizer
 * state or snapshots under its names while path itself is not there. */
gboolean lam_project_file_check_siblings (const char *path, GError **error);
gboolean lam_project_file_save (const LamProjectFile *file, const char *path, GError **error);
/* Reads and checks everything: the JSON's fields and types, the format
 * version, the weights against the spec (names, shapes, count), the
 * optimizer state and the snapshots against the weights. Errors name the
 * file and field. A snapshots file that is missing is not an error: the
 * project opens without snapshots and file->note says so. A
 * checkpoint .json of `lamina train --save` opens as a project with its
 * weights and no history (version 0). */
LamProjectFile *lam_project_file_load (const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamProjectRun, lam_project_run_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamProjectFile, lam_project_file_free)

G_END_DECLS
