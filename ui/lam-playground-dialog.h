/* lam-playground-dialog.h: choosing a 2-D playground set — its shape, how
 * many points, how much noise, how many classes for blobs, and a seed —
 * with the points previewed as they are chosen. Use opens the set on the
 * Data page as a dataset named playground:…. */
#pragma once

#include <gtk/gtk.h>

#include "lam-playground.h"

G_BEGIN_DECLS

#define LAM_TYPE_PLAYGROUND_DIALOG (lam_playground_dialog_get_type ())
G_DECLARE_FINAL_TYPE (LamPlaygroundDialog, lam_playground_dialog, LAM, PLAYGROUND_DIALOG,
                      GtkWindow)

/* Emits "chosen" with the set's name (a playground: URI) on Use. */
LamPlaygroundDialog *lam_playground_dialog_new (GtkWindow *parent);
void lam_playground_dialog_set_params (LamPlaygroundDialog *self,
                                       const LamPlaygroundParams *params);
void lam_playground_dialog_get_params (LamPlaygroundDialog *self, LamPlaygroundParams *params);
/* What Use does: emits "chosen" and closes. */
void lam_playground_dialog_use (LamPlaygroundDialog *self);

G_END_DECLS
