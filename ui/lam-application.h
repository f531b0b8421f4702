/* lam-application.h: the GtkApplication that opens the main window. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define LAM_TYPE_APPLICATION (lam_application_get_type ())
G_DECLARE_FINAL_TYPE (LamApplication, lam_application, LAM, APPLICATION, GtkApplication)

/* data_dir: the dataset to open at start (NULL: the default Fashion-MNIST). */
LamApplication *lam_application_new (const char *data_dir);
/* Whether a project file given to open (the command line, a file manager)
 * could not be opened; the window said why, and so did stderr. */
gboolean lam_application_get_open_failed (LamApplication *self);

G_END_DECLS
