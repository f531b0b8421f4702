/* lam-session-private.h: the session's state, shared by its two halves —
 * lam-session.c (dataset, model, settings, weights, file) and
 * lam-session-training.c (trainer, runs, actions, project files). */
#pragma once

#include "lam-session.h"

struct _LamSession
{
  GObject parent_instance;

  char *dataset_dir;
  LamDataset *train_set; /* owned */
  LamDataset *test_set;  /* owned, may be NULL */
  float mean[3];
  float std[3];
  guint load_serial; /* the newest load; older results are stale */
  guint loads_running;

  LamModelSpec *spec;  /* owned */
  LamModelPlan *plan;  /* owned, NULL when the spec does not fit */
  GError *plan_error;  /* owned, NULL when it fits */
  /* The models before each edit and those undone, newest last. */
  GPtrArray *spec_undo; /* of LamModelSpec, owned */
  GPtrArray *spec_redo;
  guint typing; /* the value being typed whose first key made the newest undo step, or 0 */

  LamTrainerConfig config;
  double custom_mean; /* "By this mean and std", kept while another choice is made */
  double custom_std;
  char *device; /* owned: "auto", "cpu" or "cuda" */
  char *file_path; /* owned, NULL when untitled */
  gboolean modified;
  guint64 edit_serial; /* counts the calls that mark it modified */
  gboolean file_busy;  /* a project is being saved or opened: no training starts */

  LamModelSpec *weights_spec; /* owned, NULL before any weights */
  float *weights;             /* owned */
  gsize n_weights;
  float weights_mean[3];
  float weights_std[3];
  int weights_epoch;
  /* The dataset the weights were trained on: its folder and its name, as
   * far as known. */
  char *weights_dataset_dir;
  char *weights_dataset_name;
  guint weights_run;

  /* The time machine (lam-session-snapshots.c): the weights of the run
   * shown after each of its epochs, oldest first, within a memory budget;
   * and the epoch the Evaluate page looks at (0: the newest weights). */
  GPtrArray *snapshots; /* of LamSessionSnapshot*, epochs ascending */
  gsize snapshot_bytes;
  gsize snapshot_budget;
  gboolean snapshots_thinned;
  int view_epoch;
  gboolean save_snapshots; /* projects keep them (property "save-snapshots") */

  LamEvaluation *evaluation; /* owned */

  /* Training */
  GSimpleActionGroup *actions; /* owned */
  LamTrainState state;
  LamTrainer *trainer; /* owned; kept after a run for its weights */
  LamBackend *backend; /* owned; the trainer's */
  gint64 step;
  int epochs_done; /* in the current run */
  double last_x;   /* fractional epoch of the newest point */
  char *error;     /* owned, NULL when none */
  GQueue runs;     /* of LamProjectRun*, oldest first; the tail is the current run */
  char *runs_note; /* owned, NULL when no run was dropped */
  int next_run_number;
  /* Weights, optimizer state and position the current run can go on from
   * (its spec and config too): from the trainer when a run ends, or from an
   * opened project. NULL when there is none. */
  LamProjectFile *resume;
  gboolean continue_run;
  double pace; /* steps a second, 0: as fast as it goes; the room's, not the lesson's */
  guint training_holds; /* lam_session_hold_training */
};

enum
{
  LAM_SESSION_PROP_0,
  LAM_SESSION_PROP_HAS_DATASET,
  LAM_SESSION_PROP_LOADING,
  LAM_SESSION_PROP_DATASET_DIR,
  LAM_SESSION_PROP_DATASET_NAME,
  LAM_SESSION_PROP_MODEL_VALID,
  LAM_SESSION_PROP_TRAINING,
  LAM_SESSION_PROP_FILE_PATH,
  LAM_SESSION_PROP_MODIFIED,
  LAM_SESSION_PROP_STATE,
  LAM_SESSION_PROP_STEP,
  LAM_SESSION_PROP_ERROR,
  LAM_SESSION_PROP_RUNS_NOTE,
  LAM_SESSION_PROP_CAN_CONTINUE,
  LAM_SESSION_PROP_CONTINUE_RUN,
  LAM_SESSION_PROP_PACE,
  LAM_SESSION_PROP_VIEW_EPOCH,
  LAM_SESSION_PROP_SAVE_SNAPSHOTS,
  /* Settings: each a field of the trainer's config (or the device). */
  LAM_SESSION_PROP_EPOCHS,
  LAM_SESSION_PROP_BATCH_SIZE,
  LAM_SESSION_PROP_OPTIMIZER,
  LAM_SESSION_PROP_LR,
  LAM_SESSION_PROP_MOMENTUM,
  LAM_SESSION_PROP_WEIGHT_DECAY,
  LAM_SESSION_PROP_L1,
  LAM_SESSION_PROP_SCHEDULE,
  LAM_SESSION_PROP_STEP_SIZE,
  LAM_SESSION_PROP_GAMMA,
  LAM_SESSION_PROP_ETA_MIN,
  LAM_SESSION_PROP_NORMALIZATION,
  LAM_SESSION_PROP_NORM_MEAN,
  LAM_SESSION_PROP_NORM_STD,
  LAM_SESSION_PROP_CROP_PADDING,
  LAM_SESSION_PROP_PADDING_MODE,
  LAM_SESSION_PROP_HFLIP,
  LAM_SESSION_PROP_VAL_FRACTION,
  LAM_SESSION_PROP_SEED,
  LAM_SESSION_PROP_DEVICE,
  LAM_SESSION_N_PROPS
};
#define LAM_SESSION_FIRST_SETTING LAM_SESSION_PROP_EPOCHS

enum
{
  LAM_SESSION_SIGNAL_DATASET_CHANGED,
  LAM_SESSION_SIGNAL_SPEC_CHANGED,
  LAM_SESSION_SIGNAL_WEIGHTS_CHANGED,
  LAM_SESSION_SIGNAL_SETTINGS_CHANGED,
  LAM_SESSION_SIGNAL_COMMIT_EDITS,
  LAM_SESSION_SIGNAL_TRAINING_EVENT,
  LAM_SESSION_SIGNAL_RUNS_CHANGED,
  LAM_SESSION_SIGNAL_PROJECT_LOADED,
  LAM_SESSION_SIGNAL_SNAPSHOTS_CHANGED,
  LAM_SESSION_N_SIGNALS
};

extern GParamSpec *lam_session_properties[LAM_SESSION_N_PROPS];
extern guint lam_session_signals[LAM_SESSION_N_SIGNALS];

void lam_session_notify (LamSession *self, guint prop_id);

/* lam-session-training.c */
void lam_session_init_training (LamSession *self);
void lam_session_dispose_training (LamSession *self);
void lam_session_update_actions (LamSession *self);
/* The spec changed: a saved run of another spec cannot continue. */
void lam_session_spec_changed_for_training (LamSession *self);
/* The learning rate was edited: a running trainer takes it. */
void lam_session_lr_edited (LamSession *self);
/* The pace was changed: a running trainer takes it. */
void lam_session_pace_changed (LamSession *self);

/* lam-session-snapshots.c */
typedef struct
{
  int epoch;
  float *params; /* owned, the weights' n_weights floats */
} LamSessionSnapshot;

void lam_session_init_snapshots (LamSession *self);
void lam_session_finalize_snapshots (LamSession *self);
/* A new run (not one going on) starts with none. */
void lam_session_clear_snapshots (LamSession *self);
