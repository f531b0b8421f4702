/* lam-train-page.h: hyper-parameters, the controls of a training run, live
 * loss and accuracy charts, progress and the epoch table. */
#pragma once

#include <gtk/gtk.h>

#include "lam-chart.h"
#include "lam-project-file.h"
#include "lam-session.h"

G_BEGIN_DECLS

#define LAM_TYPE_TRAIN_PAGE (lam_train_page_get_type ())
G_DECLARE_FINAL_TYPE (LamTrainPage, lam_train_page, LAM, TRAIN_PAGE, GtkWidget)

typedef enum
{
  LAM_TRAIN_STATE_IDLE,
  LAM_TRAIN_STATE_RUNNING,
  LAM_TRAIN_STATE_PAUSED,
} LamTrainState;

GtkWidget *lam_train_page_new (LamSession *session);

/* Start when idle, pause when running, resume when paused. */
void lam_train_page_start_or_pause (LamTrainPage *self);
/* One batch when paused, then paused again (idle: a new run, paused after
 * its first batch); while running, a pause after the batch in flight. The
 * Step button and Ctrl+Right, through the train.step action. */
void lam_train_page_step (LamTrainPage *self);
void lam_train_page_stop (LamTrainPage *self);
LamTrainState lam_train_page_get_state (LamTrainPage *self); /* property "state" */
gint64 lam_train_page_get_step (LamTrainPage *self);         /* property "step" */
gboolean lam_train_page_can_start (LamTrainPage *self);
/* The last test score as the page shows it, or NULL when none shows. */
const char *lam_train_page_get_test_text (LamTrainPage *self);

GtkWidget *lam_train_page_get_start_button (LamTrainPage *self);
LamChart *lam_train_page_get_loss_chart (LamTrainPage *self);
LamChart *lam_train_page_get_accuracy_chart (LamTrainPage *self);
/* Chart series ids of the current run (0 before any run). */
guint lam_train_page_get_train_loss_series (LamTrainPage *self);
guint lam_train_page_get_val_accuracy_series (LamTrainPage *self);
/* Sets the learning-rate field (and, while training, the trainer's). */
void lam_train_page_set_lr (LamTrainPage *self, double lr);
/* Thick chart lines for a projector. */
void lam_train_page_set_presentation (LamTrainPage *self, gboolean presentation);
/* A copy of the current run's weights and the normalisation they expect;
 * NULL before any run. */
float *lam_train_page_dup_params (LamTrainPage *self, gsize *n_params);

/* Projects: the page's settings, kept runs, and the weights and optimizer
 * state a run can continue from, into a project file; and back, restoring
 * the settings, charts and epoch table. Only while idle. */
void lam_train_page_fill_project_file (LamTrainPage *self, LamProjectFile *file);
void lam_train_page_load_project_file (LamTrainPage *self, const LamProjectFile *file);
/* The kept runs, at most LAM_CHART_N_RUN_COLORS, oldest first; index
 * n_runs - 1 is the current one. */
guint lam_train_page_get_n_runs (LamTrainPage *self);
const LamProjectRun *lam_train_page_get_run (LamTrainPage *self, guint index);
/* Shows or hides a kept run's curves and markers (as its check in the Runs
 * list does). */
void lam_train_page_set_run_visible (LamTrainPage *self, int number, gboolean visible);
/* Forgets a run (the action "train.delete-run" with its number, as its
 * button in the Runs list does); FALSE when there is no such run or it is
 * training. */
gboolean lam_train_page_delete_run (LamTrainPage *self, int number);
GtkListBox *lam_train_page_get_runs_list (LamTrainPage *self);
/* Under the charts: shown when the oldest runs were dropped for a new one. */
GtkLabel *lam_train_page_get_runs_note (LamTrainPage *self);
/* The epoch table's header, outside the scrolled rows. */
GtkWidget *lam_train_page_get_epoch_header (LamTrainPage *self);
GtkScrolledWindow *lam_train_page_get_epoch_scroller (LamTrainPage *self);
/* The newest run (its history for a CSV), or NULL. */
const LamProjectRun *lam_train_page_get_current_run (LamTrainPage *self);
/* Whether Start continues the saved run rather than beginning afresh:
 * the "Continue the saved run" check, shown when there is one. */
gboolean lam_train_page_get_continue (LamTrainPage *self);
void lam_train_page_set_continue (LamTrainPage *self, gboolean continue_run);

G_END_DECLS
