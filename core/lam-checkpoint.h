/* lam-checkpoint.h: weights as .safetensors with PyTorch nn.Sequential
 * names ("0.weight", "0.bias", "3.weight", ...) and the model spec as JSON
 * beside them, so an exported PyTorch script loads them as they are.
 * Writes are atomic (lam-file.h); the weights are the commit point of a
 * save and carry a save id the .json repeats. */
#pragma once

#include <glib.h>

#include "lam-dataset.h"
#include "lam-model.h"

G_BEGIN_DECLS

#define LAM_CHECKPOINT_ERROR (lam_checkpoint_error_quark ())
GQuark lam_checkpoint_error_quark (void);

typedef enum
{
  LAM_CHECKPOINT_ERROR_IO,         /* cannot read or write the file */
  LAM_CHECKPOINT_ERROR_FORMAT,     /* header not JSON, bad offsets, sizes that lie */
  LAM_CHECKPOINT_ERROR_DTYPE,      /* a tensor that is not F32 */
  LAM_CHECKPOINT_ERROR_MISMATCH,   /* tensors missing, extra, or of the wrong shape for the spec */
  LAM_CHECKPOINT_ERROR_NOT_FINITE, /* a weight is NaN or infinite: the run that saved it diverged */
} LamCheckpointError;

/* 0 when every value is finite; otherwise how many are not, with the
 * first one's index in *first. */
gsize lam_count_not_finite (const float *values, gsize n, gsize *first);
/* "a value that is NaN (at index 7)", "3 values that are NaN or infinite
 * (the first at index 7)": what lam_count_not_finite found, for a message. */
char *lam_describe_not_finite (const float *values, gsize bad, gsize first);

/* What a checkpoint holds besides the weights. */
typedef struct
{
  LamModelSpec *spec; /* owned; input set */
  int n_channels;
  float mean[3]; /* normalisation the model was trained with */
  float std[3];
  char *dataset; /* owned, may be NULL: the folder it was trained on */
  char **class_names; /* owned, NULL-terminated, may be NULL */
  char *note; /* owned, may be NULL: set by a load that had to choose (an interrupted save) */
  /* owned, NULL unless the model was trained on a table of numbers (then
   * dataset is the CSV file, n_channels 1, mean 0 and std 1): its columns,
   * task, test split and standardisation, saved as "table" in the .json
   * and the __metadata__. A load checks them against the model: as many
   * inputs as its input takes, as many regression targets as it gives. */
  LamTableInfo *table;
} LamCheckpointInfo;

void lam_checkpoint_info_free (LamCheckpointInfo *info);

/* Writes `path` (.safetensors: one F32 tensor per parameter, shapes as
 * PyTorch's: linear weight (out, in), conv weight (out, in, k, k), biases
 * (out); __metadata__ holds the spec JSON and normalisation) and
 * `<path without .safetensors>.json` (the spec, pretty-printed, plus
 * normalisation and class names). params is the host copy of the flat
 * buffer in plan order. */
gboolean lam_checkpoint_save (const char *path, const LamModelPlan *plan,
                              const LamCheckpointInfo *info, const float *params, GError **error);
/* The spec's file that lam_checkpoint_save writes beside `path`. */
char *lam_checkpoint_spec_path (const char *path);
/* The weights a checkpoint path names, as lam_checkpoint_load finds them:
 * those its .json names, else x.json → x.safetensors, x.safetensors.json
 * → x.safetensors; any other path itself. */
char *lam_checkpoint_weights_path (const char *path);

/* Reads the .safetensors at `path` (or, given the .json, the .safetensors
 * beside it) and its spec. On success *params is a newly allocated flat
 * buffer of plan->n_params floats in plan order. Every tensor the plan needs
 * must be present with the right shape and dtype; the header's offsets are
 * checked against the file's real size before anything is read. */
gboolean lam_checkpoint_load (const char *path, LamCheckpointInfo **info, float **params,
                              GError **error);

/* The .safetensors alone, as lam_checkpoint_save writes it (the spec and
 * normalisation in __metadata__, so the file loads on its own), plus the
 * entries of extra_metadata (string→string, may be NULL); no .json. */
gboolean lam_checkpoint_save_weights (const char *path, const LamModelPlan *plan,
                                      const LamCheckpointInfo *info, const float *params,
                                      GHashTable *extra_metadata, GError **error);
/* Reads a .safetensors and matches it to plan: every tensor the plan needs
 * present with its shape, none extra, else LAM_CHECKPOINT_ERROR_MISMATCH
 * naming the tensor. *params: plan->n_params floats (owned); *metadata (may
 * be NULL): the owned __metadata__ table. */
gboolean lam_checkpoint_load_weights (const char *path, const LamModelPlan *plan, float **params,
                                      GHashTable **metadata, GError **error);

/* Plain safetensors access, used above and by tests. */
typedef struct
{
  char *name;   /* owned */
  int rank;
  gint64 dims[4];
  float *data;  /* owned, numel floats */
} LamNamedTensor;

void lam_named_tensor_free (LamNamedTensor *tensor);
/* tensors: array of LamNamedTensor*; metadata: string→string, may be NULL. */
gboolean lam_safetensors_write (const char *path, GPtrArray *tensors, GHashTable *metadata,
                                GError **error);
/* Returns an array of LamNamedTensor* (free func set) and fills *metadata
 * (may be NULL) with an owned string→string table. */
GPtrArray *lam_safetensors_read (const char *path, GHashTable **metadata, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamCheckpointInfo, lam_checkpoint_info_free)

G_END_DECLS
