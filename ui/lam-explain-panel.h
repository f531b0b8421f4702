/* lam-explain-panel.h: "why did it say that?" for one image — the image
 * with a heat map of where the network looked (saliency, gradient × input
 * or Grad-CAM, for the predicted class or one picked), an opacity slider,
 * and the training images it finds most alike. The work runs on the
 * LamExplainer's workers; the panel asks only while it is shown, and only
 * its own newest question's answer is drawn. */
#pragma once

#include <gtk/gtk.h>

#include "lam-explainer.h"

G_BEGIN_DECLS

#define LAM_TYPE_EXPLAIN_PANEL (lam_explain_panel_get_type ())
G_DECLARE_FINAL_TYPE (LamExplainPanel, lam_explain_panel, LAM, EXPLAIN_PANEL, GtkWidget)

#define LAM_EXPLAIN_PANEL_N_NEAREST 8
/* A row's bars: a column that pushes the score towards the class, and one
 * that pushes it away (cairo RGB, 0..1). */
#define LAM_EXPLAIN_PANEL_TOWARDS_RGB 0.93, 0.47, 0.09
#define LAM_EXPLAIN_PANEL_AWAY_RGB 0.20, 0.45, 0.85

GtkWidget *lam_explain_panel_new (LamExplainer *explainer, LamSession *session);
/* The image to explain: normalised as the weights expect (the model's
 * input size), and as shown (pixels 0..255, channels × height × width,
 * planes as datasets keep them); NULL clears. Copies both. */
void lam_explain_panel_set_image (LamExplainPanel *self, const float *normalised,
                                  const guint8 *pixels, int channels, int height, int width);

/* For tests and the window: the method and class asked for, the newest
 * heat map shown (height × width in [0, 1], NULL when none), the status
 * line, and the look-alikes shown (training-set indices). */
/* A table's row instead of an image: the model's input (n floats, as it
 * sees them), the values as read and the n columns' names; the map is
 * drawn as a bar per column and look-alikes are rows. NULL: none. */
void lam_explain_panel_set_row (LamExplainPanel *self, const float *normalised, const float *values,
                                const char *const *names, int n);
void lam_explain_panel_set_method (LamExplainPanel *self, LamExplainMethod method);
void lam_explain_panel_set_class (LamExplainPanel *self, int klass);
const float *lam_explain_panel_get_map (LamExplainPanel *self, int *height, int *width);
/* A row's signed values: d score / d column (× the value for gradient ×
 * input), positive towards the class; NULL (n 0) for an image. */
const float *lam_explain_panel_get_pushes (LamExplainPanel *self, int *n);
const char *lam_explain_panel_get_status (LamExplainPanel *self);
int lam_explain_panel_get_nearest (LamExplainPanel *self, const guint32 **indices,
                                   const gint32 **labels);
/* The line drawn for a table's k-th nearest training row (its class,
 * distance and values), or NULL for an image's look-alikes or no k-th. */
char *lam_explain_panel_dup_nearest_line (LamExplainPanel *self, int k);
/* For tests: whether a row's columns show their names and values whole
 * in the area as last allocated, none cut short and none below its end
 * (TRUE for an image, or before the area has a size). */
gboolean lam_explain_panel_get_columns_whole (LamExplainPanel *self);
/* Asks again (a new result, the panel shown again). */
void lam_explain_panel_refresh (LamExplainPanel *self);
/* While held, a new image is kept but not asked about, nor are the
 * look-alikes looked up: the explainer still answers for the weights
 * before a new result, which it takes once that result is drawn.
 * Releasing does not ask; lam_explain_panel_refresh does. */
void lam_explain_panel_set_held (LamExplainPanel *self, gboolean held);
gboolean lam_explain_panel_get_held (LamExplainPanel *self);

G_END_DECLS
