/* lam-train-page.h: hyper-parameters, the controls of a training run, live
 * loss and accuracy charts, progress and the epoch table: a view of the
 * session's settings and runs, driven by its session.* actions. */
#pragma once

#include <gtk/gtk.h>

#include "lam-batch-strip.h"
#include "lam-boundary-view.h"
#include "lam-chart.h"
#include "lam-fit-view.h"
#include "lam-neuron-maps.h"
#include "lam-project-file.h"
#include "lam-lr-finder-dialog.h"
#include "lam-session.h"

G_BEGIN_DECLS

#define LAM_TYPE_TRAIN_PAGE (lam_train_page_get_type ())
G_DECLARE_FINAL_TYPE (LamTrainPage, lam_train_page, LAM, TRAIN_PAGE, GtkWidget)

GtkWidget *lam_train_page_new (LamSession *session);

/* The last test score as the page shows it, or NULL when none shows. */
const char *lam_train_page_get_test_text (LamTrainPage *self);

/* What the progress line under the bar says: where the run is, its speed
 * and time left. */
const char *lam_train_page_get_progress_text (LamTrainPage *self);

/* The message under the buttons (a training error, or why a typed value
 * was refused), or NULL when none shows. */
const char *lam_train_page_get_error_text (LamTrainPage *self);

GtkWidget *lam_train_page_get_start_button (LamTrainPage *self);
LamChart *lam_train_page_get_loss_chart (LamTrainPage *self);
LamChart *lam_train_page_get_accuracy_chart (LamTrainPage *self);
/* Chart series ids of the current run (0 before any run). */
guint lam_train_page_get_train_loss_series (LamTrainPage *self);
guint lam_train_page_get_val_accuracy_series (LamTrainPage *self);
/* Thick chart lines for a projector. */
void lam_train_page_set_presentation (LamTrainPage *self, gboolean presentation);
GtkListBox *lam_train_page_get_runs_list (LamTrainPage *self);
/* Under the charts: shown when the oldest runs were dropped for a new one. */
GtkLabel *lam_train_page_get_runs_note (LamTrainPage *self);
/* The epoch table's header, outside the scrolled rows. */
GtkWidget *lam_train_page_get_epoch_header (LamTrainPage *self);
GtkScrolledWindow *lam_train_page_get_epoch_scroller (LamTrainPage *self);
/* What keeps a heading as wide as its column of rows. */
GtkSizeGroup *lam_train_page_get_epoch_column (LamTrainPage *self, guint column);
/* Above the charts while the pace is slow: the batch being trained. */
LamBatchStrip *lam_train_page_get_batch_strip (LamTrainPage *self);
/* A small model's parameters, a row each (name, value, gradient, change),
 * shown while the model has at most LAM_TRAINER_MAX_WATCHED of them. */
GtkGrid *lam_train_page_get_parameters_grid (LamTrainPage *self);
/* A 2-D playground's first hidden layer, a small map per unit. */
LamNeuronMaps *lam_train_page_get_neuron_maps (LamTrainPage *self);
/* A regression's fit, shown while a regression table is open. */
LamFitView *lam_train_page_get_fit_view (LamTrainPage *self);
/* The map of a 2-D table's plane, shown while one is open. */
LamBoundaryView *lam_train_page_get_boundary_view (LamTrainPage *self);
/* Opens the learning-rate finder over the page's window (the "Find…"
 * button beside the learning rate). */
LamLrFinderDialog *lam_train_page_find_lr (LamTrainPage *self);

G_END_DECLS
