/* lam-window.h: the main window — Data, Model, Train and Evaluate pages in
 * the order a lesson goes. */
#pragma once

#include <gtk/gtk.h>

#include "lam-session.h"

G_BEGIN_DECLS

#define LAM_TYPE_WINDOW (lam_window_get_type ())
G_DECLARE_FINAL_TYPE (LamWindow, lam_window, LAM, WINDOW, GtkApplicationWindow)

LamWindow *lam_window_new (GtkApplication *application, LamSession *session);
LamSession *lam_window_get_session (LamWindow *self);
/* "data", "model", "train", "evaluate" */
void lam_window_show_page (LamWindow *self, const char *name);
GtkWidget *lam_window_get_page (LamWindow *self, const char *name);
/* Presentation mode (F11): full screen, larger text, thicker chart lines. */
void lam_window_set_presentation (LamWindow *self, gboolean presentation);
gboolean lam_window_get_presentation (LamWindow *self);

/* Projects (File section of the main menu). Save refuses while training
 * runs; open reads and checks the whole project before anything changes,
 * then restores the model, settings, runs, weights and dataset. A missing
 * dataset folder is no error: *warning (may be NULL) says so and the rest
 * opens. Both clear the modified mark and add the file to Open Recent. */
gboolean lam_window_save_project (LamWindow *self, const char *path, GError **error);
/* Saves to the name chosen in Save As: .lamina added where it is missing,
 * and asked about (Replace or Cancel) when that makes the name of another
 * project that is there. A failure is shown in a dialog. */
void lam_window_save_as_chosen (LamWindow *self, const char *path);
gboolean lam_window_open_project (LamWindow *self, const char *path, char **warning,
                                  GError **error);
/* The same on a thread, as the window's Save, Save As, Open and Open
 * Recent and a project given to the application do it: the project is
 * copied on the main thread and written on the worker; a project is read
 * and checked on the worker and put in place on the main thread. The
 * window keeps drawing and says "Saving “name.lamina”…" or "Opening “name.lamina”…"
 * in its header; meanwhile the file actions and training are disabled
 * (Export CSV too while an open runs) and a close waits for the end. A save
 * clears the modified mark only when nothing changed after its copy was
 * taken. The callbacks run on the main thread. */
void lam_window_save_project_async (LamWindow *self, const char *path, GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean lam_window_save_project_finish (LamWindow *self, GAsyncResult *result, GError **error);
void lam_window_open_project_async (LamWindow *self, const char *path, GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean lam_window_open_project_finish (LamWindow *self, GAsyncResult *result, char **warning,
                                         GError **error);
/* Whether a save or open is running on its thread. */
gboolean lam_window_get_file_busy (LamWindow *self);
/* Back to what a fresh window holds (the default model and settings, no
 * runs or weights, untitled), and to the default dataset when it is
 * installed. Refuses while training runs; asks nothing (win.new-project,
 * Ctrl+N, asks first over unsaved changes). */
gboolean lam_window_new_project (LamWindow *self, GError **error);
/* Opens a project file as Open Project does, read on a thread: over
 * unsaved changes it asks Save, Discard or Cancel first, and a file that
 * cannot be opened is explained in a dialog. The callback runs on the main
 * thread once the dialog shows: finish gives FALSE with error when the
 * file did not open, TRUE when it opened or waits on the prompt (what the
 * prompt leads to is said in dialogs only). */
void lam_window_open_file_async (LamWindow *self, GFile *file, GAsyncReadyCallback callback,
                                 gpointer user_data);
gboolean lam_window_open_file_finish (LamWindow *self, GAsyncResult *result, GError **error);
/* The current run's history as CSV; refused while a project opens
 * (win.export-csv is disabled then). */
gboolean lam_window_export_csv (LamWindow *self, const char *path, GError **error);
/* The "save changes?" dialog while it shows (closing or opening over
 * unsaved work), else NULL. */
GtkWidget *lam_window_get_prompt (LamWindow *self);

/* Loads the app's styles, presentation mode's among them, on widget's
 * display, once per display: every window does, and a page shown alone
 * (in a test) looks as it does in the window. */
void lam_window_load_styles (GtkWidget *widget);

G_END_DECLS
