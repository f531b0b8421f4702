/* lam-project.h: what the window's pages share — the dataset, the model
 * spec being edited and its shape-inference result, and the training
 * settings. Pages observe its properties and signals instead of talking to
 * each other. */
#pragma once

#include <gio/gio.h>

#include "lam-dataset.h"
#include "lam-model.h"
#include "lam-trainer.h"

G_BEGIN_DECLS

#define LAM_TYPE_PROJECT (lam_project_get_type ())
G_DECLARE_FINAL_TYPE (LamProject, lam_project, LAM, PROJECT, GObject)

LamProject *lam_project_new (void);

/* Dataset. Loading runs on a worker thread (GTask); a newer load makes an
 * older one's result stale, and a stale result is dropped. On success the
 * project emits "dataset-changed" and notifies "dataset-dir",
 * "dataset-name" and "has-dataset". */
void lam_project_load_dataset_async (LamProject *self, const char *dir,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data);
gboolean lam_project_load_dataset_finish (LamProject *self, GAsyncResult *result,
                                          GError **error);
gboolean lam_project_get_has_dataset (LamProject *self);
gboolean lam_project_get_loading (LamProject *self); /* property "loading" */
const char *lam_project_get_dataset_dir (LamProject *self);
const char *lam_project_get_dataset_name (LamProject *self);
/* Borrowed; valid until the next "dataset-changed". test may be NULL. */
const LamDataset *lam_project_get_train_set (LamProject *self);
const LamDataset *lam_project_get_test_set (LamProject *self);
/* Per-channel mean and std of the training images (pixels in [0, 1]). */
void lam_project_get_dataset_stats (LamProject *self, float *mean, float *std);

/* Model. set_spec copies; the input shape is taken from the dataset when
 * there is one. Emits "spec-changed" and notifies "model-valid". */
void lam_project_set_spec (LamProject *self, const LamModelSpec *spec);
const LamModelSpec *lam_project_get_spec (LamProject *self);
/* The plan of the current spec, or NULL when it does not fit; then
 * get_plan_error says why (the engine's message naming the layer). */
const LamModelPlan *lam_project_get_plan (LamProject *self);
const GError *lam_project_get_plan_error (LamProject *self);
gboolean lam_project_get_model_valid (LamProject *self); /* property "model-valid" */

/* TRUE while a training run holds the datasets: loading another one is
 * refused then, so the run never reads freed images. Property "training". */
void lam_project_set_training (LamProject *self, gboolean training);
gboolean lam_project_get_training (LamProject *self);

/* The weights of the newest model, published by the Train page at every
 * epoch's end and when a run ends: a copy, never the buffer being trained.
 * Emits "weights-changed". epoch is the number of epochs done (1-based). */
void lam_project_set_weights (LamProject *self, const LamModelSpec *spec, const float *params,
                              gsize n_params, const float *mean, const float *std, int epoch);
/* Borrowed; NULL before any weights were published. The spec has its input
 * set and plans. */
const LamModelSpec *lam_project_get_weights_spec (LamProject *self);
const float *lam_project_get_weights (LamProject *self, gsize *n_params);
void lam_project_get_weights_normalization (LamProject *self, float *mean, float *std);
int lam_project_get_weights_epoch (LamProject *self);
/* The dataset the weights belong to. set_weights takes the one open then;
 * weights from a project file belong to the file's dataset folder, which
 * may not be open yet. */
void lam_project_set_weights_dataset (LamProject *self, const char *dir, const char *name);
/* Says that the training settings (lam_project_get_config) changed: emits
 * "settings-changed", which views of them (the Data page's normalisation
 * and augmentation) follow. */
void lam_project_settings_changed (LamProject *self);
/* FALSE when the weights were trained on another dataset folder than the
 * one open; *trained_on names that dataset (its name, else its folder). */
gboolean lam_project_get_weights_match_dataset (LamProject *self, const char **trained_on);
/* Counts runs: a new run's weights come with a new serial, so a view can
 * tell "the next epoch of the same run" from "another run". */
guint lam_project_get_weights_run (LamProject *self);
void lam_project_begin_run (LamProject *self);
/* Drops the published weights (a new project, or one saved without any):
 * emits "weights-changed" when there were some. */
void lam_project_clear_weights (LamProject *self);

/* The file the project was opened from or saved to (NULL: untitled), and
 * whether it changed since: properties "file-path" and "modified". */
void lam_project_set_file_path (LamProject *self, const char *path);
const char *lam_project_get_file_path (LamProject *self);
void lam_project_set_modified (LamProject *self, gboolean modified);
gboolean lam_project_get_modified (LamProject *self);

/* Training settings, edited in place by the Train page. */
LamTrainerConfig *lam_project_get_config (LamProject *self);

G_END_DECLS
