/* lam-evaluate-page.h: what the trained model gets right and wrong on the
 * test set: accuracy overall and per class, the confusion matrix whose
 * cells filter a gallery of predictions, the selected image's
 * probabilities, history and activations; a pad to draw on that the model
 * classifies live; and the first layer's weights. Refreshed whenever the
 * project publishes weights. */
#pragma once

#include <gtk/gtk.h>

#include "lam-fit-view.h"

#include "lam-activations-view.h"
#include "lam-confusion-view.h"
#include "lam-drawing-pad.h"
#include "lam-epoch-slider.h"
#include "lam-explain-panel.h"
#include "lam-feature-map-view.h"
#include "lam-evaluation.h"
#include "lam-prediction-grid.h"
#include "lam-probability-bars.h"
#include "lam-session.h"
#include "lam-weights-view.h"

G_BEGIN_DECLS

#define LAM_TYPE_EVALUATE_PAGE (lam_evaluate_page_get_type ())
G_DECLARE_FINAL_TYPE (LamEvaluatePage, lam_evaluate_page, LAM, EVALUATE_PAGE, GtkWidget)

GtkWidget *lam_evaluate_page_new (LamSession *session);

LamEvaluation *lam_evaluate_page_get_evaluation (LamEvaluatePage *self);
/* TRUE while the test set is being evaluated (property "busy"). */
gboolean lam_evaluate_page_is_busy (LamEvaluatePage *self);
/* Of the newest result: NULL and NAN before one. */
const LamConfusion *lam_evaluate_page_get_confusion (LamEvaluatePage *self);
double lam_evaluate_page_get_accuracy (LamEvaluatePage *self);

/* As a click on a confusion-matrix cell: filters the gallery to the images
 * of true_class predicted as predicted_class, or shows all again when that
 * cell was selected. */
void lam_evaluate_page_activate_cell (LamEvaluatePage *self, int true_class,
                                      int predicted_class);
/* Shows a test image in the detail panel, clearing the filters when they
 * hide it. */
void lam_evaluate_page_select_image (LamEvaluatePage *self, int index);
/* "predictions", "draw" or "learned". */
void lam_evaluate_page_show_tab (LamEvaluatePage *self, const char *name);

/* The newest confusion matrix as CSV (see lam_confusion_to_csv()), or the
 * view of it as shown as a PNG; both written atomically. The page's save
 * button offers them through a file chooser. */
gboolean lam_evaluate_page_save_confusion_csv (LamEvaluatePage *self, const char *path,
                                               GError **error);
gboolean lam_evaluate_page_save_confusion_png (LamEvaluatePage *self, const char *path,
                                               GError **error);

LamPredictionGrid *lam_evaluate_page_get_gallery (LamEvaluatePage *self);
LamConfusionView *lam_evaluate_page_get_confusion_view (LamEvaluatePage *self);
/* The list of the most frequent confusions: a box of buttons, each with
 * "true-class" and "predicted-class" data and a label, then a count. */
GtkWidget *lam_evaluate_page_get_mistakes (LamEvaluatePage *self);
/* The selected image's bars, and the sentence about its history ("" when
 * none). */
LamProbabilityBars *lam_evaluate_page_get_detail_bars (LamEvaluatePage *self);
const char *lam_evaluate_page_get_history_text (LamEvaluatePage *self);
/* The tooltip of a class's row in the summary, made when asked for:
 * "Coat: 812 of 1,000 test images recognised"; NULL without a result. */
char *lam_evaluate_page_dup_class_tooltip (LamEvaluatePage *self, int klass);
/* The tooltip of a button of lam_evaluate_page_get_mistakes, made when
 * asked for: "Show the 223 Shirt images the model took for T-shirt/top";
 * NULL without a result. */
char *lam_evaluate_page_dup_mistake_tooltip (LamEvaluatePage *self, GtkWidget *button);
LamDrawingPad *lam_evaluate_page_get_drawing_pad (LamEvaluatePage *self);
LamProbabilityBars *lam_evaluate_page_get_drawing_bars (LamEvaluatePage *self);
/* The time machine's slider (hidden until two epochs are kept). */
LamEpochSlider *lam_evaluate_page_get_epoch_slider (LamEvaluatePage *self);
/* Why it said that: the selected image's panel, or the drawing's; the
 * explainer behind both; the Map tab's view. */
LamExplainPanel *lam_evaluate_page_get_explain_panel (LamEvaluatePage *self, gboolean drawing);
LamExplainer *lam_evaluate_page_get_explainer (LamEvaluatePage *self);
LamFeatureMapView *lam_evaluate_page_get_map_view (LamEvaluatePage *self);

/* A regression's fit on the test rows, and which target it shows. */
LamFitView *lam_evaluate_page_get_regression_fit (LamEvaluatePage *self);
void lam_evaluate_page_set_regression_target (LamEvaluatePage *self, int target);

G_END_DECLS
