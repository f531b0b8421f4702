/* lam-epoch-slider.h: the training time machine's control on the Evaluate
 * page — one slider over the epochs whose weights the session kept
 * (lam_session_get_n_snapshots). Moving it sets the session's view-epoch,
 * so every view of the evaluation goes back to that epoch together; marks
 * show where the selected image flipped between right and wrong. */
#pragma once

#include <gtk/gtk.h>

#include "lam-session.h"

G_BEGIN_DECLS

#define LAM_TYPE_EPOCH_SLIDER (lam_epoch_slider_get_type ())
G_DECLARE_FINAL_TYPE (LamEpochSlider, lam_epoch_slider, LAM, EPOCH_SLIDER, GtkWidget)

GtkWidget *lam_epoch_slider_new (LamSession *session);
/* The image whose flips are marked (-1: none) and its true class. */
void lam_epoch_slider_set_image (LamEpochSlider *self, int index, int label);
/* The epochs marked as flips of the image: becomes right (TRUE) or wrong
 * (FALSE) at each; for tests. */
guint lam_epoch_slider_get_n_flips (LamEpochSlider *self);
int lam_epoch_slider_get_flip (LamEpochSlider *self, guint k, gboolean *became_right);
GtkRange *lam_epoch_slider_get_range (LamEpochSlider *self);
const char *lam_epoch_slider_get_text (LamEpochSlider *self);

G_END_DECLS
