/* lam-confusion-view.h: a confusion matrix drawn as a heat map, rows the
 * true class and columns the predicted one, the count written in every
 * cell. Correct predictions (the diagonal) and mistakes have hues of their
 * own. A click on a cell selects it, a click on the selected cell clears the
 * selection; arrows, Enter and Escape do the same from the keyboard. */
#pragma once

#include <gtk/gtk.h>

#include "lam-metrics.h"

G_BEGIN_DECLS

#define LAM_TYPE_CONFUSION_VIEW (lam_confusion_view_get_type ())
G_DECLARE_FINAL_TYPE (LamConfusionView, lam_confusion_view, LAM, CONFUSION_VIEW, GtkWidget)

GtkWidget *lam_confusion_view_new (void);

/* Copies the counts and the n_classes names; NULL clears the view. Keeps
 * the selection when it still exists. */
void lam_confusion_view_set_confusion (LamConfusionView *self, const LamConfusion *confusion,
                                       const char *const *class_names);

/* The selected cell, (-1, -1) for none. Setting it emits nothing. */
void lam_confusion_view_set_selection (LamConfusionView *self, int true_class,
                                       int predicted_class);
gboolean lam_confusion_view_get_selection (LamConfusionView *self, int *true_class,
                                           int *predicted_class);

/* As a click on the cell: selects it and emits "cell-activated", or, when
 * it was selected, clears the selection and emits "cell-activated" with
 * (-1, -1). */
void lam_confusion_view_activate_cell (LamConfusionView *self, int true_class,
                                       int predicted_class);

G_END_DECLS
