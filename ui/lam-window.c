#include "lam-window-private.h"

#include "lam-data-page.h"
#include "lam-download-dialog.h"
#include "lam-evaluate-page.h"
#include "lam-model-page.h"
#include "lam-playground.h"
#include "lam-project-file.h"
#include "lam-table-dialog.h"
#include "lam-train-page.h"
#include "lam-ui-util.h"

G_DEFINE_FINAL_TYPE (LamWindow, lam_window, GTK_TYPE_APPLICATION_WINDOW)

enum
{
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* A dialog is a window of its own, outside the CSS that enlarges this
 * one: the dialogs over this window (the playground, a table's columns,
 * the learning-rate finder, messages) take its presentation class, so
 * that they are as legible on the projector as the pages. */
static void
follow_presentation (LamWindow *self, GtkWindow *dialog)
{
  if (gtk_window_get_transient_for (dialog) != GTK_WINDOW (self))
    return;
  if (self->presentation)
    gtk_widget_add_css_class (GTK_WIDGET (dialog), "presentation");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (dialog), "presentation");
}

/* A dialog learns its parent after it is made: it follows this window
 * when it is about to be shown. */
static void
on_toplevels_changed (LamWindow *self, guint position, guint removed, guint added,
                      GListModel *toplevels)
{
  for (guint i = position; i < position + added; i++) {
    g_autoptr (GtkWindow) window = g_list_model_get_item (toplevels, i);
    if (window != GTK_WINDOW (self))
      g_signal_connect_object (window, "realize", G_CALLBACK (follow_presentation), self,
                               G_CONNECT_SWAPPED);
  }
}

static void update_title (LamWindow *self);

void
lam_window_set_presentation (LamWindow *self, gboolean presentation)
{
  presentation = !!presentation;
  if (self->presentation == presentation)
    return;
  self->presentation = presentation;
  if (presentation) {
    gtk_widget_add_css_class (GTK_WIDGET (self), "presentation");
    gtk_window_fullscreen (GTK_WINDOW (self));
  } else {
    gtk_widget_remove_css_class (GTK_WIDGET (self), "presentation");
    gtk_window_unfullscreen (GTK_WINDOW (self));
  }
  GListModel *toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++) {
    g_autoptr (GtkWindow) window = g_list_model_get_item (toplevels, i);
    follow_presentation (self, window);
  }
  lam_train_page_set_presentation (LAM_TRAIN_PAGE (self->train_page), presentation);
  update_title (self);
  gtk_toggle_button_set_active (self->presentation_button, presentation);
}

gboolean
lam_window_get_presentation (LamWindow *self)
{
  return self->presentation;
}

static void
on_presentation_toggled (LamWindow *self)
{
  lam_window_set_presentation (self, gtk_toggle_button_get_active (self->presentation_button));
}

static void
update_title (LamWindow *self)
{
  const char *dataset = lam_session_get_dataset_name (self->session);
  const char *path = lam_session_get_file_path (self->session);
  gboolean modified = lam_session_get_modified (self->session);
  g_autofree char *name = path ? g_path_get_basename (path) : g_strdup ("Untitled");
  /* "•" after the name marks unsaved changes, as GNOME's editors do. */
  g_autofree char *document = g_strdup_printf ("%s%s", name, modified ? " •" : "");
  /* In presentation mode the large text leaves the header's start a
   * fifth of a 1024 px projector: the project and the dataset on a line
   * each, so that each is cut at its own end (a dataset's split first)
   * rather than the dataset lost behind the project. */
  const char *separator = self->presentation ? "\n" : " — ";
  g_autofree char *label =
    dataset ? g_strdup_printf ("%s%s%s", document, separator, dataset) : g_strdup (document);
  gtk_label_set_text (self->dataset_label, label);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->dataset_label), label);
  g_autofree char *title = g_strdup_printf ("%s — Lamina", document);
  gtk_window_set_title (GTK_WINDOW (self), title);
}

/* The layers alone: a new dataset changes the spec's input, which is not
 * an edit of the model. */
static char *
spec_signature (const LamModelSpec *spec)
{
  g_autoptr (LamModelSpec) copy = lam_model_spec_copy (spec);
  copy->has_input = FALSE;
  return lam_model_spec_to_json (copy);
}

static void
on_spec_changed (LamWindow *self)
{
  g_autofree char *signature = spec_signature (lam_session_get_spec (self->session));
  if (g_strcmp0 (signature, self->spec_signature) == 0)
    return;
  g_free (self->spec_signature);
  self->spec_signature = g_steal_pointer (&signature);
  lam_session_set_modified (self->session, TRUE);
}

static void
on_dataset_changed (LamWindow *self)
{
  const char *dir = lam_session_get_dataset_dir (self->session);
  if (self->opening_dataset_dir != NULL && g_strcmp0 (dir, self->opening_dataset_dir) == 0) {
    g_clear_pointer (&self->opening_dataset_dir, g_free);
    return;
  }
  /* Another dataset changes a saved project; an untitled one is not worth
   * a prompt for the dataset that opened with the window. */
  if (lam_session_get_file_path (self->session) != NULL)
    lam_session_set_modified (self->session, TRUE);
}

/* Starting from another page (Ctrl+Return, Ctrl+Right) shows the charts
 * the run draws. */
static void
on_training_changed (LamWindow *self)
{
  lam_window_update_file_actions (self);
  if (lam_session_get_training (self->session))
    lam_window_show_page (self, "train");
}

/* Recent projects */

/* A schema compiled before the key existed must not abort the window. */
static gboolean
has_recent_key (LamWindow *self)
{
  if (self->settings == NULL)
    return FALSE;
  g_autoptr (GSettingsSchema) schema = NULL;
  g_object_get (self->settings, "settings-schema", &schema, NULL);
  return schema != NULL && g_settings_schema_has_key (schema, "recent-projects");
}

static void
rebuild_recent (LamWindow *self)
{
  g_menu_remove_all (self->recent_section);
  g_auto (GStrv) recent = has_recent_key (self)
                            ? g_settings_get_strv (self->settings, "recent-projects")
                            : NULL;
  int shown = 0;
  for (int i = 0; recent != NULL && recent[i] != NULL; i++) {
    if (!g_file_test (recent[i], G_FILE_TEST_IS_REGULAR))
      continue;
    g_autofree char *label = g_path_get_basename (recent[i]);
    g_autoptr (GMenuItem) item = g_menu_item_new (label, NULL);
    g_menu_item_set_action_and_target_value (item, "win.open-recent",
                                             g_variant_new_string (recent[i]));
    g_menu_append_item (self->recent_section, item);
    shown++;
  }
  if (shown == 0)
    g_menu_append (self->recent_section, "No Recent Projects", "win.no-recent");
}

static void
add_recent (LamWindow *self, const char *path)
{
  if (!has_recent_key (self))
    return;
  g_autofree char *absolute = g_canonicalize_filename (path, NULL);
  g_auto (GStrv) old = g_settings_get_strv (self->settings, "recent-projects");
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_strv_builder_add (builder, absolute);
  int n = 1;
  for (int i = 0; old[i] != NULL && n < MAX_RECENT_PROJECTS; i++)
    if (!g_str_equal (old[i], absolute)) {
      g_strv_builder_add (builder, old[i]);
      n++;
    }
  g_auto (GStrv) list = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "recent-projects", (const char *const *) list);
  rebuild_recent (self);
}

/* Saving and opening. The file work (serialising and writing, reading and
 * parsing) runs on a thread for the window's actions, so the window keeps
 * drawing; the project is captured before the thread starts and applied
 * after it ends, both on the main thread. While a job runs, nothing that
 * would interleave with it starts: the file actions and training are
 * disabled, the application is held and a close waits for the job. */

/* A fresh window has no dataset: its Data page would say so, and offer
 * to open one, while the project that brings one is read. It says what
 * is going on instead, and the page it showed comes back when the open
 * ends. A window in use keeps its pages in view. */
static void
show_opening_page (LamWindow *self, const char *status)
{
  gtk_label_set_text (self->opening_label, status);
  if (self->page_after_open == NULL)
    self->page_after_open = gtk_stack_get_visible_child (self->stack);
  gtk_widget_set_visible (self->opening_page, TRUE);
  gtk_stack_set_visible_child (self->stack, self->opening_page);
  gtk_widget_set_sensitive (self->switcher, FALSE);
}

static void
hide_opening_page (LamWindow *self)
{
  if (self->page_after_open == NULL)
    return;
  gtk_stack_set_visible_child (self->stack, g_steal_pointer (&self->page_after_open));
  gtk_widget_set_visible (self->opening_page, FALSE);
  gtk_widget_set_sensitive (self->switcher, TRUE);
}

/* path: the file saved to or opened, named in the header; NULL with
 * FILE_JOB_NONE. */
static void
set_file_job (LamWindow *self, FileJob job, const char *path)
{
  self->file_job = job;
  lam_session_set_file_busy (self->session, job != FILE_JOB_NONE);
  if (job != FILE_JOB_NONE) {
    GtkApplication *application = gtk_window_get_application (GTK_WINDOW (self));
    if (application != NULL && self->held_application == NULL) {
      self->held_application = G_APPLICATION (g_object_ref (application));
      g_application_hold (self->held_application);
    }
  } else if (self->held_application != NULL) {
    g_application_release (self->held_application);
    g_clear_object (&self->held_application);
  }
  if (self->disposed)
    return;
  /* The file's name, not the window's title: a fresh window opening a
   * project is still "Untitled", and Save As writes under another name. */
  g_autofree char *name = path != NULL ? g_filename_display_basename (path) : NULL;
  g_autofree char *status = job == FILE_JOB_SAVING    ? g_strdup_printf ("Saving “%s”…", name)
                            : job == FILE_JOB_OPENING ? g_strdup_printf ("Opening “%s”…", name)
                                                      : NULL;
  gtk_label_set_text (self->file_status, status != NULL ? status : "");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->file_status), status);
  gtk_widget_set_visible (GTK_WIDGET (self->file_status), job != FILE_JOB_NONE);
  gtk_widget_set_visible (GTK_WIDGET (self->file_spinner), job != FILE_JOB_NONE);
  /* The project named there ("Untitled" in a fresh window) is on its way
   * out: the name opening stands alone, with room for a long one. */
  gtk_widget_set_visible (GTK_WIDGET (self->dataset_label), job != FILE_JOB_OPENING);
  /* What is on the pages is about to be replaced: no edit goes into it. */
  GtkWidget *pages[] = { self->data_page, self->model_page, self->train_page, self->evaluate_page };
  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    gtk_widget_set_sensitive (pages[i], job != FILE_JOB_OPENING);
  if (job == FILE_JOB_OPENING && !lam_session_get_has_dataset (self->session))
    show_opening_page (self, status);
  else
    hide_opening_page (self);
  lam_window_update_file_actions (self);
}

gboolean
lam_window_get_file_busy (LamWindow *self)
{
  g_return_val_if_fail (LAM_IS_WINDOW (self), FALSE);
  return self->file_job != FILE_JOB_NONE;
}

/* Whether a file job or training leaves the project alone; else error
 * says which, training in the words of while_training. */
static gboolean
check_idle (LamWindow *self, const char *while_training, GError **error)
{
  if (self->file_job != FILE_JOB_NONE) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                 "The project is being saved or opened: wait until that is done.");
    return FALSE;
  }
  if (lam_session_get_training (self->session)) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY, while_training);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_can_save (LamWindow *self, GError **error)
{
  return check_idle (self,
                     "Training is running: stop it first, and its weights and optimizer state are "
                     "saved with the project.",
                     error);
}

/* A save done: the file is the project's now, and unmarked unless
 * something changed after the save took its copy (edit_serial). */
static void
apply_saved (LamWindow *self, const char *path, guint64 edit_serial)
{
  lam_session_set_file_path (self->session, path);
  if (lam_session_get_edit_serial (self->session) == edit_serial)
    lam_session_set_modified (self->session, FALSE);
  if (!self->disposed)
    add_recent (self, path);
}

gboolean
lam_window_save_project (LamWindow *self, const char *path, GError **error)
{
  g_return_val_if_fail (LAM_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  if (!check_can_save (self, error))
    return FALSE;
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  lam_session_fill_project_file (self->session, file);
  guint64 edit_serial = lam_session_get_edit_serial (self->session);
  if (!lam_project_file_save (file, path, error))
    return FALSE;
  apply_saved (self, path, edit_serial);
  return TRUE;
}

typedef struct
{
  char *path;
  LamProjectFile *file; /* owned: the project as the save found it, or as read */
  guint64 edit_serial;  /* the session's when the save took its copy */
  GTask *outer;         /* owned: the caller's task */
} FileTask;

static void
file_task_free (FileTask *job)
{
  g_free (job->path);
  g_clear_pointer (&job->file, lam_project_file_free);
  g_clear_object (&job->outer);
  g_free (job);
}

static void
save_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  FileTask *job = task_data;
  GError *error = NULL;
  if (lam_project_file_save (job->file, job->path, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* After a file job: the close asked for during it, now. */
static void
close_if_asked (LamWindow *self)
{
  if (!self->close_after_job || self->file_job != FILE_JOB_NONE || self->disposed)
    return;
  self->close_after_job = FALSE;
  gtk_window_close (GTK_WINDOW (self));
}

static void
on_save_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LamWindow *self = LAM_WINDOW (source);
  FileTask *job = user_data;
  g_autoptr (GTask) outer = g_steal_pointer (&job->outer);
  GError *error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);
  if (ok)
    apply_saved (self, job->path, job->edit_serial);
  else
    self->close_after_job = FALSE; /* the failure is explained before anything closes */
  set_file_job (self, FILE_JOB_NONE, NULL);
  if (ok)
    g_task_return_boolean (outer, TRUE);
  else
    g_task_return_error (outer, error);
  close_if_asked (self);
}

void
lam_window_save_project_async (LamWindow *self, const char *path, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_return_if_fail (LAM_IS_WINDOW (self));
  g_return_if_fail (path != NULL);
  GTask *outer = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (outer, lam_window_save_project_async);
  GError *error = NULL;
  if (!check_can_save (self, &error)) {
    g_task_return_error (outer, error);
    g_object_unref (outer);
    return;
  }
  FileTask *job = g_new0 (FileTask, 1);
  job->path = g_strdup (path);
  job->file = lam_project_file_new ();
  lam_session_fill_project_file (self->session, job->file);
  job->edit_serial = lam_session_get_edit_serial (self->session);
  job->outer = outer;
  set_file_job (self, FILE_JOB_SAVING, path);
  /* No cancellable: a save once begun is finished, or the file is left
   * as it was. */
  g_autoptr (GTask) task = g_task_new (self, NULL, on_save_done, job);
  g_task_set_task_data (task, job, (GDestroyNotify) file_task_free);
  g_task_run_in_thread (task, save_in_thread);
}

gboolean
lam_window_save_project_finish (LamWindow *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* A project's dataset: a folder, a table of numbers (its file there) or a
 * playground set (made again from its name). */
static gboolean
dataset_is_there (const char *name)
{
  if (lam_playground_is_uri (name))
    return TRUE;
  if (lam_table_name_is_table (name)) {
    const char *query = strchr (name, '?');
    g_autofree char *path = query != NULL ? g_strndup (name, query - name) : g_strdup (name);
    return g_file_test (path, G_FILE_TEST_IS_REGULAR);
  }
  return g_file_test (name, G_FILE_TEST_IS_DIR);
}

/* A project's dataset opens through the Data page, so a broken one is
 * explained there. */
static void
open_dataset (LamWindow *self, const char *dir)
{
  g_free (self->opening_dataset_dir);
  self->opening_dataset_dir = g_strdup (dir);
  lam_data_page_load_folder (LAM_DATA_PAGE (self->data_page), dir);
}

/* The device preferred in the preferences, for a new project. */
static void
apply_preferred_device (LamWindow *self)
{
  g_autofree char *device = self->settings ? g_settings_get_string (self->settings,
                                                                    "default-device")
                                           : NULL;
  /* "GPU if available" unless the preferences ask for the CPU. */
  g_object_set (self->session, "device", g_strcmp0 (device, "cpu") == 0 ? "cpu" : "auto", NULL);
}

static gboolean
check_can_open (LamWindow *self, GError **error)
{
  return check_idle (self, "Training is running: stop it before opening another project.", error);
}

/* A project read and checked whole goes into the session. */
static void
apply_opened (LamWindow *self, const char *path, const LamProjectFile *file, char **warning)
{
  lam_session_load_project_file (self->session, file);
  const char *dir = file->dataset_dir;
  if (dir != NULL && g_strcmp0 (dir, lam_session_get_dataset_dir (self->session)) != 0) {
    if (dataset_is_there (dir)) {
      open_dataset (self, dir);
    } else if (warning != NULL) {
      g_autofree char *shown = g_filename_display_name (dir);
      *warning = g_strdup_printf ("The project's dataset folder %s is missing. The model, "
                                  "settings, history and weights were opened; choose a dataset "
                                  "on the Data page to train.",
                                  shown);
    }
  }
  /* An interrupted save that the load finished: said once, after any
   * word about the dataset. */
  if (file->note != NULL && warning != NULL) {
    char *both = *warning ? g_strconcat (*warning, "\n\n", file->note, NULL)
                          : g_strdup (file->note);
    g_free (*warning);
    *warning = both;
  }
  g_free (self->spec_signature);
  self->spec_signature = spec_signature (lam_session_get_spec (self->session));
  /* A checkpoint of `lamina train --save` opens as a new project made
   * from it: saving it where it came from would write a project's JSON
   * over the checkpoint's weights or description. */
  gboolean checkpoint = file->version == 0;
  lam_session_set_file_path (self->session, checkpoint ? NULL : path);
  lam_session_set_modified (self->session, FALSE);
  if (!checkpoint)
    add_recent (self, path);
}

gboolean
lam_window_open_project (LamWindow *self, const char *path, char **warning, GError **error)
{
  g_return_val_if_fail (LAM_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  if (warning != NULL)
    *warning = NULL;
  if (!check_can_open (self, error))
    return FALSE;
  /* Everything is read and checked before anything the user has changes. */
  g_autoptr (LamProjectFile) file = lam_project_file_load (path, error);
  if (file == NULL)
    return FALSE;
  apply_opened (self, path, file, warning);
  return TRUE;
}

static void
open_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  FileTask *job = task_data;
  GError *error = NULL;
  LamProjectFile *file = lam_project_file_load (job->path, &error);
  if (file == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, file, (GDestroyNotify) lam_project_file_free);
}

static void
on_open_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LamWindow *self = LAM_WINDOW (source);
  FileTask *job = user_data;
  g_autoptr (GTask) outer = g_steal_pointer (&job->outer);
  GError *error = NULL;
  /* A window disposed meanwhile has its cancellable cancelled: the
   * project read for it is dropped. */
  g_autoptr (LamProjectFile) file = g_task_propagate_pointer (G_TASK (result), &error);
  g_clear_object (&self->job_cancellable);
  set_file_job (self, FILE_JOB_NONE, NULL);
  if (file != NULL && !self->disposed) {
    g_autofree char *warning = NULL;
    apply_opened (self, job->path, file, &warning);
    /* "" rather than NULL: success with nothing to say. */
    g_task_return_pointer (outer, warning ? g_steal_pointer (&warning) : g_strdup (""), g_free);
  } else {
    if (error == NULL)
      error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "The window was closed.");
    g_task_return_error (outer, error);
  }
  close_if_asked (self);
}

void
lam_window_open_project_async (LamWindow *self, const char *path, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_return_if_fail (LAM_IS_WINDOW (self));
  g_return_if_fail (path != NULL);
  GTask *outer = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (outer, lam_window_open_project_async);
  GError *error = NULL;
  if (!check_can_open (self, &error)) {
    g_task_return_error (outer, error);
    g_object_unref (outer);
    return;
  }
  FileTask *job = g_new0 (FileTask, 1);
  job->path = g_strdup (path);
  job->outer = outer;
  self->job_cancellable = g_cancellable_new ();
  set_file_job (self, FILE_JOB_OPENING, path);
  g_autoptr (GTask) task = g_task_new (self, self->job_cancellable, on_open_done, job);
  g_task_set_task_data (task, job, (GDestroyNotify) file_task_free);
  g_task_run_in_thread (task, open_in_thread);
}

gboolean
lam_window_open_project_finish (LamWindow *self, GAsyncResult *result, char **warning,
                                GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  if (warning != NULL)
    *warning = NULL;
  g_autofree char *said = g_task_propagate_pointer (G_TASK (result), error);
  if (said == NULL)
    return FALSE;
  if (warning != NULL && said[0] != '\0')
    *warning = g_steal_pointer (&said);
  return TRUE;
}

gboolean
lam_window_new_project (LamWindow *self, GError **error)
{
  g_return_val_if_fail (LAM_IS_WINDOW (self), FALSE);
  if (!check_idle (self, "Training is running: stop it before starting a new project.", error))
    return FALSE;
  lam_session_reset (self->session);
  apply_preferred_device (self);

  /* The default dataset when it is installed; else the one open stays,
   * rather than a page that explains a missing folder. */
  const char *dir = LAM_DATASET_DEFAULT_DIR;
  if (g_strcmp0 (dir, lam_session_get_dataset_dir (self->session)) != 0 &&
      g_file_test (dir, G_FILE_TEST_IS_DIR))
    open_dataset (self, dir);
  g_free (self->spec_signature);
  self->spec_signature = spec_signature (lam_session_get_spec (self->session));
  lam_session_set_file_path (self->session, NULL);
  lam_session_set_modified (self->session, FALSE);
  lam_window_show_page (self, "data");
  return TRUE;
}

gboolean
lam_window_export_csv (LamWindow *self, const char *path, GError **error)
{
  g_return_val_if_fail (LAM_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  /* A chooser shown before the open began may answer during it. */
  if (self->file_job == FILE_JOB_OPENING) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                         "A project is being opened: export its run once it is open.");
    return FALSE;
  }
  const LamProjectRun *run = lam_session_get_current_run (self->session);
  if (run == NULL) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                         "There is no run yet: train first, or open a project with a history.");
    return FALSE;
  }
  return lam_project_run_write_csv (run, path, error);
}


static void
lam_window_constructed (GObject *object)
{
  LamWindow *self = LAM_WINDOW (object);
  G_OBJECT_CLASS (lam_window_parent_class)->constructed (object);

  if (self->session == NULL)
    self->session = lam_session_new ();

  /* One action group drives training, from any page and any shortcut. */
  gtk_widget_insert_action_group (GTK_WIDGET (self), "session",
                                  lam_session_get_actions (self->session));
  self->data_page = lam_data_page_new (self->session);
  self->model_page = lam_model_page_new (self->session);
  self->train_page = lam_train_page_new (self->session);
  self->evaluate_page = lam_evaluate_page_new (self->session);
  gtk_stack_add_titled (self->stack, self->data_page, "data", "Data");
  gtk_stack_add_titled (self->stack, self->model_page, "model", "Model");
  gtk_stack_add_titled (self->stack, self->train_page, "train", "Train");
  gtk_stack_add_titled (self->stack, self->evaluate_page, "evaluate", "Evaluate");

  g_signal_connect_object (self->session, "notify::dataset-name", G_CALLBACK (update_title), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::file-path", G_CALLBACK (update_title), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::modified", G_CALLBACK (update_title), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "spec-changed", G_CALLBACK (on_spec_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "dataset-changed", G_CALLBACK (on_dataset_changed),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::training", G_CALLBACK (on_training_changed),
                           self, G_CONNECT_SWAPPED);
  self->spec_signature = spec_signature (lam_session_get_spec (self->session));
  update_title (self);
  lam_window_update_file_actions (self);

  self->settings = lam_ui_settings_new ();
  if (self->settings != NULL) {
    gtk_window_set_default_size (GTK_WINDOW (self),
                                 g_settings_get_int (self->settings, "window-width"),
                                 g_settings_get_int (self->settings, "window-height"));
    if (g_settings_get_boolean (self->settings, "window-maximized"))
      gtk_window_maximize (GTK_WINDOW (self));
  }
  rebuild_recent (self);
  /* An untouched session takes the preferred device; that is no edit. */
  if (lam_session_get_file_path (self->session) == NULL &&
      !lam_session_get_modified (self->session)) {
    apply_preferred_device (self);
    lam_session_set_modified (self->session, FALSE);
  }
}

static gboolean
lam_window_close_request (GtkWindow *window)
{
  LamWindow *self = LAM_WINDOW (window);
  /* A save stopped half-way would leave no project: the window closes
   * when it is done (close_if_asked). */
  if (self->file_job != FILE_JOB_NONE) {
    self->close_after_job = TRUE;
    return TRUE;
  }
  if (!self->close_confirmed && lam_session_get_modified (self->session)) {
    lam_window_confirm_then (self, PENDING_CLOSE, NULL);
    return TRUE;
  }
  if (self->settings != NULL && !self->presentation) {
    int width, height;
    gtk_window_get_default_size (window, &width, &height);
    g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
    if (!gtk_window_is_maximized (window) && width > 0 && height > 0) {
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
    }
  }
  return GTK_WINDOW_CLASS (lam_window_parent_class)->close_request (window);
}

static void
lam_window_dispose (GObject *object)
{
  LamWindow *self = LAM_WINDOW (object);
  self->disposed = TRUE;
  /* An open still reading is dropped; a save runs on to its end, with
   * the application held until then. */
  if (self->job_cancellable != NULL)
    g_cancellable_cancel (self->job_cancellable);
  if (self->chooser != NULL) {
    gtk_native_dialog_destroy (self->chooser);
    g_clear_object (&self->chooser);
  }
  gtk_widget_dispose_template (GTK_WIDGET (self), LAM_TYPE_WINDOW);
  G_OBJECT_CLASS (lam_window_parent_class)->dispose (object);
}

static void
lam_window_finalize (GObject *object)
{
  LamWindow *self = LAM_WINDOW (object);
  g_clear_object (&self->session);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->spec_signature, g_free);
  g_clear_pointer (&self->opening_dataset_dir, g_free);
  g_clear_pointer (&self->pending_path, g_free);
  g_clear_object (&self->job_cancellable);
  g_assert (self->held_application == NULL);
  G_OBJECT_CLASS (lam_window_parent_class)->finalize (object);
}

static void
lam_window_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamWindow *self = LAM_WINDOW (object);
  switch (prop_id) {
  case PROP_SESSION:
    g_value_set_object (value, self->session);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_window_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  LamWindow *self = LAM_WINDOW (object);
  switch (prop_id) {
  case PROP_SESSION:
    self->session = g_value_dup_object (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_window_class_init (LamWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = lam_window_constructed;
  object_class->dispose = lam_window_dispose;
  object_class->finalize = lam_window_finalize;
  object_class->get_property = lam_window_get_property;
  object_class->set_property = lam_window_set_property;
  GTK_WINDOW_CLASS (klass)->close_request = lam_window_close_request;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, LAM_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/lamina/Lamina/ui/lam-window.ui");
  gtk_widget_class_bind_template_child (widget_class, LamWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, LamWindow, switcher);
  gtk_widget_class_bind_template_child (widget_class, LamWindow, opening_page);
  gtk_widget_class_bind_template_child (widget_class, LamWindow, opening_label);
  gtk_widget_class_bind_template_child (widget_class, LamWindow, dataset_label);
  gtk_widget_class_bind_template_child (widget_class, LamWindow, file_spinner);
  gtk_widget_class_bind_template_child (widget_class, LamWindow, file_status);
  gtk_widget_class_bind_template_child (widget_class, LamWindow, presentation_button);
  gtk_widget_class_bind_template_child (widget_class, LamWindow, recent_section);
  gtk_widget_class_bind_template_callback (widget_class, on_presentation_toggled);

  lam_window_class_add_actions (widget_class);
}

/* The app's styles, loaded once per display by the first window, so a
 * window made by a test looks like the app's. */
void
lam_window_load_styles (GtkWidget *widget)
{
  GdkDisplay *display = gtk_widget_get_display (widget);
  if (g_object_get_data (G_OBJECT (display), "lamina-styles") != NULL)
    return;
  GtkCssProvider *css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/org/lamina/Lamina/ui/style.css");
  gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  g_object_set_data_full (G_OBJECT (display), "lamina-styles", css, g_object_unref);
}

static void
lam_window_init (LamWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  lam_window_load_styles (GTK_WIDGET (self));
  /* The status names a file: a long name is shortened in its middle,
   * where its start and its extension stay readable, and the header's
   * buttons stay on a narrow window. */
  gtk_label_set_ellipsize (self->file_status, PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_max_width_chars (self->file_status, 36);

  lam_window_add_shortcuts (self);
  g_signal_connect_object (gtk_window_get_toplevels (), "items-changed",
                           G_CALLBACK (on_toplevels_changed), self, G_CONNECT_SWAPPED);
}

LamWindow *
lam_window_new (GtkApplication *application, LamSession *session)
{
  return g_object_new (LAM_TYPE_WINDOW, "application", application, "session", session, NULL);
}

LamSession *
lam_window_get_session (LamWindow *self)
{
  return self->session;
}

void
lam_window_show_page (LamWindow *self, const char *name)
{
  /* Asked for while the opening page shows (a shortcut): shown after. */
  if (self->page_after_open != NULL) {
    GtkWidget *page = gtk_stack_get_child_by_name (self->stack, name);
    if (page != NULL)
      self->page_after_open = page;
    return;
  }
  gtk_stack_set_visible_child_name (self->stack, name);
}

GtkWidget *
lam_window_get_page (LamWindow *self, const char *name)
{
  return gtk_stack_get_child_by_name (self->stack, name);
}
