/* lam-session.h: the lesson the window's pages share — the dataset, the model
 * spec being edited and its shape-inference result, and the training
 * settings. Pages observe its properties and signals instead of talking to
 * each other. */
#pragma once

#include <gio/gio.h>

#include "lam-dataset.h"
#include "lam-model.h"
#include "lam-trainer.h"

G_BEGIN_DECLS

#define LAM_TYPE_SESSION (lam_session_get_type ())
G_DECLARE_FINAL_TYPE (LamSession, lam_session, LAM, SESSION, GObject)

LamSession *lam_session_new (void);

/* Dataset. Loading runs on a worker thread (GTask); a newer load makes an
 * older one's result stale, and a stale result is dropped. On success the
 * project emits "dataset-changed" and notifies "dataset-dir",
 * "dataset-name" and "has-dataset". */
void lam_session_load_dataset_async (LamSession *self, const char *dir,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data);
gboolean lam_session_load_dataset_finish (LamSession *self, GAsyncResult *result,
                                          GError **error);
gboolean lam_session_get_has_dataset (LamSession *self);
gboolean lam_session_get_loading (LamSession *self); /* property "loading" */
const char *lam_session_get_dataset_dir (LamSession *self);
const char *lam_session_get_dataset_name (LamSession *self);
/* Borrowed; valid until the next "dataset-changed". test may be NULL. */
const LamDataset *lam_session_get_train_set (LamSession *self);
const LamDataset *lam_session_get_test_set (LamSession *self);
/* Per-channel mean and std of the training images (pixels in [0, 1]). */
void lam_session_get_dataset_stats (LamSession *self, float *mean, float *std);

/* Model. set_spec copies; the input shape is taken from the dataset when
 * there is one. Emits "spec-changed" and notifies "model-valid". */
void lam_session_set_spec (LamSession *self, const LamModelSpec *spec);
const LamModelSpec *lam_session_get_spec (LamSession *self);
/* The plan of the current spec, or NULL when it does not fit; then
 * get_plan_error says why (the engine's message naming the layer). */
const LamModelPlan *lam_session_get_plan (LamSession *self);
const GError *lam_session_get_plan_error (LamSession *self);
gboolean lam_session_get_model_valid (LamSession *self); /* property "model-valid" */

/* TRUE while a training run holds the datasets: loading another one is
 * refused then, so the run never reads freed images. Property "training". */
void lam_session_set_training (LamSession *self, gboolean training);
gboolean lam_session_get_training (LamSession *self);

/* The weights of the newest model, published by the Train page at every
 * epoch's end and when a run ends: a copy, never the buffer being trained.
 * Emits "weights-changed". epoch is the number of epochs done (1-based). */
void lam_session_set_weights (LamSession *self, const LamModelSpec *spec, const float *params,
                              gsize n_params, const float *mean, const float *std, int epoch);
/* Borrowed; NULL before any weights were published. The spec has its input
 * set and plans. */
const LamModelSpec *lam_session_get_weights_spec (LamSession *self);
const float *lam_session_get_weights (LamSession *self, gsize *n_params);
void lam_session_get_weights_normalization (LamSession *self, float *mean, float *std);
int lam_session_get_weights_epoch (LamSession *self);
/* The dataset the weights belong to. set_weights takes the one open then;
 * weights from a project file belong to the file's dataset folder, which
 * may not be open yet. */
void lam_session_set_weights_dataset (LamSession *self, const char *dir, const char *name);
/* Says that the training settings (lam_session_get_config) changed: emits
 * "settings-changed", which views of them (the Data page's normalisation
 * and augmentation) follow. */
void lam_session_settings_changed (LamSession *self);
/* FALSE when the weights were trained on another dataset folder than the
 * one open; *trained_on names that dataset (its name, else its folder). */
gboolean lam_session_get_weights_match_dataset (LamSession *self, const char **trained_on);
/* Counts runs: a new run's weights come with a new serial, so a view can
 * tell "the next epoch of the same run" from "another run". */
guint lam_session_get_weights_run (LamSession *self);
void lam_session_begin_run (LamSession *self);
/* Drops the published weights (a new project, or one saved without any):
 * emits "weights-changed" when there were some. */
void lam_session_clear_weights (LamSession *self);

/* The file the project was opened from or saved to (NULL: untitled), and
 * whether it changed since: properties "file-path" and "modified". */
void lam_session_set_file_path (LamSession *self, const char *path);
const char *lam_session_get_file_path (LamSession *self);
void lam_session_set_modified (LamSession *self, gboolean modified);
gboolean lam_session_get_modified (LamSession *self);

/* Training settings, edited in place by the Train page. */
LamTrainerConfig *lam_session_get_config (LamSession *self);

G_END_DECLS
