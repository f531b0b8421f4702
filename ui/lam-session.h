/* lam-session.h: the lesson — the dataset and its statistics, the model
 * spec, every training setting, the trainer and its runs, the newest
 * weights and their evaluation. The window's pages are views of one
 * session: they bind to its properties, follow its signals and drive it
 * through its "session" action group, and hold no copies of their own.
 *
 * A GObject in ui/ rather than a plain struct in core/: the pages need
 * property notification and GActions, and the command line has its own,
 * simpler owner of a run. What the two share lives in core: the settings
 * struct (LamTrainerConfig) with its defaults, the trainer and the project
 * file. */
#pragma once

#include <gio/gio.h>

#include "lam-dataset.h"
#include "lam-model.h"
#include "lam-project-file.h"
#include "lam-trainer.h"

G_BEGIN_DECLS

#define LAM_TYPE_SESSION (lam_session_get_type ())
G_DECLARE_FINAL_TYPE (LamSession, lam_session, LAM, SESSION, GObject)

typedef struct _LamEvaluation LamEvaluation;

typedef enum
{
  LAM_TRAIN_STATE_IDLE,
  LAM_TRAIN_STATE_RUNNING,
  LAM_TRAIN_STATE_PAUSED,
} LamTrainState;

/* Normalisation, as the Train page offers it (property "normalization"). */
typedef enum
{
  LAM_SESSION_NORMALIZE_DATA,   /* by the training images' mean and std */
  LAM_SESSION_NORMALIZE_NONE,   /* pixels 0 to 1 */
  LAM_SESSION_NORMALIZE_CUSTOM, /* by "norm-mean" and "norm-std" */
} LamSessionNormalize;

/* Runs kept, the current one included; each keeps its own colour from the
 * charts' palette while it is kept. */
#define LAM_SESSION_MAX_RUNS 10

LamSession *lam_session_new (void);

/* Dataset. Loading runs on a worker thread (GTask); a newer load makes an
 * older one's result stale, and a stale result is dropped. On success the
 * session emits "dataset-changed" and notifies "dataset-dir",
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
/* As set_spec, for a value typed a key at a time into one field: the edits
 * with the same nonzero `typing` (a number the field takes for each value
 * typed) make one step of history, from the model before the first key; a
 * value typed back to that model leaves none. */
void lam_session_set_spec_typed (LamSession *self, const LamModelSpec *spec, guint typing);
const LamModelSpec *lam_session_get_spec (LamSession *self);
/* Each edit of the model can be undone and redone, back to the model the
 * session or its project started with: TRUE when there was one to undo or
 * redo. A project loaded or a new one starts the history afresh. */
gboolean lam_session_undo_model (LamSession *self);
gboolean lam_session_redo_model (LamSession *self);
gboolean lam_session_can_undo_model (LamSession *self);
gboolean lam_session_can_redo_model (LamSession *self);
void lam_session_forget_model_history (LamSession *self);
/* The plan of the current spec, or NULL when it does not fit; then
 * get_plan_error says why (the engine's message naming the layer). */
const LamModelPlan *lam_session_get_plan (LamSession *self);
const GError *lam_session_get_plan_error (LamSession *self);
gboolean lam_session_get_model_valid (LamSession *self); /* property "model-valid" */

/* Training settings. Each is also a property with notify, for views to
 * bind to: "epochs", "batch-size", "optimizer" (a LamOptimizerKind), "lr",
 * "momentum", "weight-decay", "schedule" (a LamScheduleKind), "step-size",
 * "gamma", "eta-min", "normalization" (a LamSessionNormalize), "norm-mean",
 * "norm-std", "crop-padding", "padding-mode" (a LamPaddingMode), "hflip",
 * "val-fraction", "seed" and "device" ("auto", "cpu" or "cuda"). Setting
 * one is a user's edit: the session is modified and emits
 * "settings-changed". Choosing another optimizer gives it its usual rate
 * (and AdamW its usual decay), as `lamina train` does. The learning rate
 * may change while training (the trainer takes it at the next batch); the
 * others only while idle. */
const LamTrainerConfig *lam_session_get_config (LamSession *self);
/* All settings at once (an opened project, a new one): notifies every
 * setting and emits "settings-changed", without the optimizer's
 * defaults. */
void lam_session_set_config (LamSession *self, const LamTrainerConfig *config);
const char *lam_session_get_device (LamSession *self);
/* Asks views to hand over what is typed but not yet applied (a spin
 * button's text): emitted ("commit-edits") before a run starts and before
 * a save reads the settings. */
void lam_session_commit_edits (LamSession *self);

/* Training. One action group, inserted as "session" into the window:
 * session.start-pause (Start when idle, Pause when running, Resume when
 * paused), session.start (start or resume), session.pause, session.step
 * (one batch when paused; idle: a new run paused after its first batch;
 * running: a pause after the batch in flight), session.stop and
 * session.delete-run (the run's number). Each is enabled when it can do
 * something. */
GActionGroup *lam_session_get_actions (LamSession *self);
gboolean lam_session_can_start (LamSession *self);
/* While the window saves or opens the project on a thread, no run starts:
 * a save refuses a running session, and an open replaces it. */
void lam_session_set_file_busy (LamSession *self, gboolean busy);
LamTrainState lam_session_get_state (LamSession *self); /* property "state" */
gint64 lam_session_get_step (LamSession *self);         /* property "step" */
/* Why the last run could not start or stopped, or NULL (property "error"). */
const char *lam_session_get_error (LamSession *self);
/* TRUE while a run holds the datasets: loading another one is refused
 * then, so the run never reads freed images. Property "training". */
gboolean lam_session_get_training (LamSession *self);
/* A copy of the weights being trained (NULL before any run). */
float *lam_session_dup_params (LamSession *self, gsize *n_params);

/* Runs, oldest first; the newest is the current one. "runs-changed" says
 * that one came, went, was hidden or shown. While a run trains,
 * "training-event" hands each trainer event to views after the session
 * has recorded it in the current run. */
guint lam_session_get_n_runs (LamSession *self);
const LamProjectRun *lam_session_get_run (LamSession *self, guint index);
const LamProjectRun *lam_session_get_current_run (LamSession *self);
void lam_session_set_run_visible (LamSession *self, int number, gboolean visible);
/* FALSE when there is no such run, or it is the one training. */
gboolean lam_session_delete_run (LamSession *self, int number);
/* Which runs were dropped to keep LAM_SESSION_MAX_RUNS, or NULL
 * (property "runs-note"). */
const char *lam_session_get_runs_note (LamSession *self);

/* How fast training goes, in steps a second; 0 (the default) is as fast
 * as it can. A slow pace lets a class watch the curves form and see each
 * batch (the trainer's PROGRESS events then carry it). Property "pace",
 * which may change while a run trains. It belongs to the room, not to the
 * lesson: it changes none of the numbers, is no edit ("modified" stays)
 * and is not saved in project files. */
#define LAM_SESSION_MAX_PACE 1000.0
double lam_session_get_pace (LamSession *self);
void lam_session_set_pace (LamSession *self, double steps_per_second);

/* While holds are taken, a run waits before its next step (no event, no
 * change of state or numbers): the evaluation a person watches for goes
 * first on the cores. Each hold is released once; lam_trainer_set_held
 * says how long a run waits at most. */
void lam_session_hold_training (LamSession *self);
void lam_session_release_training (LamSession *self);
gboolean lam_session_get_training_held (LamSession *self);

/* Whether Start continues the last run rather than beginning afresh:
 * property "continue-run", meaningful while "can-continue" is TRUE (there
 * are weights and optimizer state of the current spec to go on from). */
gboolean lam_session_get_can_continue (LamSession *self);
gboolean lam_session_get_continue_run (LamSession *self);
void lam_session_set_continue_run (LamSession *self, gboolean continue_run);
/* Where the run that can continue stopped; FALSE when none can. */
gboolean lam_session_get_resume_position (LamSession *self, int *epochs_done, gint64 *step);

/* The weights of the newest model, published at every epoch's end and
 * when a run ends: a copy, never the buffer being trained. Emits
 * "weights-changed". epoch is the number of epochs done (1-based). */
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
const char *lam_session_get_weights_dataset_dir (LamSession *self); /* NULL: unknown */
/* FALSE when the weights were trained on another dataset folder than the
 * one open; *trained_on names that dataset (its name, else its folder). */
gboolean lam_session_get_weights_match_dataset (LamSession *self, const char **trained_on);
/* Counts runs: a new run's weights come with a new serial, so a view can
 * tell "the next epoch of the same run" from "another run". */
guint lam_session_get_weights_run (LamSession *self);
void lam_session_begin_run (LamSession *self);
/* The training time machine: the weights of the run whose weights are
 * published, after each of its epochs (from the trainer, or from a
 * project), oldest first. Small models keep every epoch; when they would
 * pass the budget (LAM_SESSION_SNAPSHOT_BUDGET bytes unless set) every
 * other older one is dropped, the first and the newest always kept, and
 * thinned says so. "snapshots-changed" tells when the list changes. */
#define LAM_SESSION_SNAPSHOT_BUDGET ((gsize) 256 << 20)
/* After lam_session_set_weights at an epoch's end (training does it):
 * keeps those weights as epoch's; n is the weights' count. */
void lam_session_add_snapshot (LamSession *self, int epoch, const float *params, gsize n);
guint lam_session_get_n_snapshots (LamSession *self);
int lam_session_get_snapshot_epoch (LamSession *self, guint index);
const float *lam_session_get_snapshot (LamSession *self, guint index, gsize *n_params);
/* The index of epoch's snapshot, or -1. */
int lam_session_find_snapshot (LamSession *self, int epoch);
gboolean lam_session_get_snapshots_thinned (LamSession *self);
void lam_session_set_snapshot_budget (LamSession *self, gsize bytes);

/* The epoch whose weights the Evaluate page shows (property "view-epoch"):
 * 0 follows the newest weights; another must have a snapshot (else it is
 * taken as 0). It goes back to 0 when the snapshots are cleared. */
void lam_session_set_view_epoch (LamSession *self, int epoch);
int lam_session_get_view_epoch (LamSession *self);
/* The weights shown: the viewed epoch's snapshot, else the newest
 * weights (NULL before any); epoch gets their epoch. Same spec and
 * normalisation as the newest weights. */
const float *lam_session_get_view_weights (LamSession *self, gsize *n_params, int *epoch);

/* Drops the published weights: emits "weights-changed" when there were
 * some. */
void lam_session_clear_weights (LamSession *self);

/* The test set run through the newest weights, and each epoch's
 * predictions of the current run: the Evaluate page's model. */
LamEvaluation *lam_session_get_evaluation (LamSession *self);

/* Files. fill writes the whole lesson (spec, settings, dataset, runs,
 * weights, resume state, prediction history) into file; load reads it
 * back, replacing runs, weights and settings (the dataset itself is the
 * caller's to open: its errors belong on the Data page); reset is New
 * Project: the default spec and settings, no runs, no weights. Only while
 * idle. Each leaves "modified" to the caller; load and reset emit
 * "project-loaded" at the end. */
void lam_session_fill_project_file (LamSession *self, LamProjectFile *file);
void lam_session_load_project_file (LamSession *self, const LamProjectFile *file);
void lam_session_reset (LamSession *self);

/* The file the session was opened from or saved to (NULL: untitled), and
 * whether it changed since: properties "file-path" and "modified". */
void lam_session_set_file_path (LamSession *self, const char *path);
const char *lam_session_get_file_path (LamSession *self);
void lam_session_set_modified (LamSession *self, gboolean modified);
gboolean lam_session_get_modified (LamSession *self);
/* Grows each time something marks the session modified, even when it was
 * already: a save on a thread clears the mark only when the serial it
 * started with is still current. */
guint64 lam_session_get_edit_serial (LamSession *self);

G_END_DECLS
