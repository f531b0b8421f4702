/* lam-lr-finder-dialog.h: the learning-rate finder in a window — a short
 * sweep of the rate on a copy of the session's model (lam_lr_find), run on
 * a worker thread as the window opens, its loss drawn against the rate on
 * a log axis as it goes, the suggested rate marked; "Use" puts it in the
 * session's learning rate. The session's weights never change. */
#pragma once

#include <gtk/gtk.h>

#include "lam-lr-find.h"
#include "lam-session.h"

G_BEGIN_DECLS

#define LAM_TYPE_LR_FINDER_DIALOG (lam_lr_finder_dialog_get_type ())
G_DECLARE_FINAL_TYPE (LamLrFinderDialog, lam_lr_finder_dialog, LAM, LR_FINDER_DIALOG, GtkWindow)

/* Modal over parent (the sweep reads the session's training images, which
 * must not change meanwhile); starts the sweep at once. */
LamLrFinderDialog *lam_lr_finder_dialog_new (GtkWindow *parent, LamSession *session);
/* TRUE while the sweep runs. */
gboolean lam_lr_finder_dialog_get_running (LamLrFinderDialog *self);
/* The sweep so far, or finished (NULL before its first step); borrowed. */
const LamLrFindResult *lam_lr_finder_dialog_get_result (LamLrFinderDialog *self);
/* Why the sweep failed, or NULL. */
const char *lam_lr_finder_dialog_get_error (LamLrFinderDialog *self);
/* Sets the session's learning rate to the suggestion and closes; FALSE
 * when there is none yet. */
gboolean lam_lr_finder_dialog_use (LamLrFinderDialog *self);

G_END_DECLS
