/* lam-window-actions.c: the window's actions (win.*) and their
 * shortcuts, the file choosers they open, and the "save changes?" prompt
 * that stands before whatever would lose unsaved work. The training
 * actions are the session's own (session.*); only their shortcuts are
 * bound here. */
#include "lam-window-private.h"

#include "lam-data-page.h"
#include "lam-download-dialog.h"
#include "lam-project-file.h"

static void
show_message_of_type (LamWindow *self, GtkMessageType type, const char *primary,
                      const char *secondary)
{
  GtkWidget *dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL |
                                              GTK_DIALOG_DESTROY_WITH_PARENT, type,
                                              GTK_BUTTONS_CLOSE, "%s", primary);
  if (secondary != NULL)
    gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s", secondary);
  g_signal_connect (dialog, "response", G_CALLBACK (gtk_window_destroy), NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

void
lam_window_show_message (LamWindow *self, const char *primary, const char *secondary)
{
  show_message_of_type (self, GTK_MESSAGE_ERROR, primary, secondary);
}

static const char *const page_names[] = { "data", "model", "train", "evaluate" };

static void
action_show_page (GtkWidget *widget, const char *name, GVariant *parameter)
{
  LamWindow *self = LAM_WINDOW (widget);
  int index = g_variant_get_int32 (parameter);
  if (index >= 1 && index <= (int) G_N_ELEMENTS (page_names))
    lam_window_show_page (self, page_names[index - 1]);
}

static void
action_open_dataset (GtkWidget *widget, const char *name, GVariant *parameter)
{
  LamWindow *self = LAM_WINDOW (widget);
  lam_window_show_page (self, "data");
  lam_data_page_choose_folder (LAM_DATA_PAGE (self->data_page));
}

static void
action_download (GtkWidget *widget, const char *name, GVariant *parameter)
{
  LamWindow *self = LAM_WINDOW (widget);
  lam_download_dialog_present (GTK_WINDOW (self), self->session);
}

/* Ctrl+Right is the Step button's action, session.step. GtkWindow binds
 * Ctrl+arrows to moving the focus, and a parent class's key bindings run
 * before a subclass's, so a binding on this class never ran; the focused
 * widget could take the key too. The shortcut therefore runs in the capture
 * phase, before both. Text being typed keeps Ctrl+Right for moving by word,
 * except a spin button's number, which has no words. */
static gboolean
on_step_shortcut (GtkWidget *widget, GVariant *args, gpointer user_data)
{
  LamWindow *self = LAM_WINDOW (widget);
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));
  if (focus != NULL && (GTK_IS_EDITABLE (focus) || GTK_IS_TEXT_VIEW (focus)) &&
      gtk_widget_get_ancestor (focus, GTK_TYPE_SPIN_BUTTON) == NULL)
    return FALSE;
  return gtk_widget_activate_action (GTK_WIDGET (self), "session.step", NULL);
}

static void
action_presentation (GtkWidget *widget, const char *name, GVariant *parameter)
{
  LamWindow *self = LAM_WINDOW (widget);
  lam_window_set_presentation (self, !self->presentation);
}

GtkWidget *
lam_window_get_prompt (LamWindow *self)
{
  return self->prompt;
}

static void open_on_thread (LamWindow *self, const char *path, GTask *report);
static void save_on_thread (LamWindow *self, const char *path);

typedef enum
{
  CHOOSE_OPEN,
  CHOOSE_SAVE,
  CHOOSE_CSV,
} ChooseKind;

static void
save_chosen (LamWindow *self, const char *path)
{
  save_on_thread (self, path);
}

static void
on_replace_response (GtkDialog *dialog, int response, gpointer user_data)
{
  LamWindow *self = LAM_WINDOW (user_data);
  g_autofree char *path = g_strdup (g_object_get_data (G_OBJECT (dialog), "path"));
  gtk_window_destroy (GTK_WINDOW (dialog));
  if (response == GTK_RESPONSE_ACCEPT)
    save_chosen (self, path);
  else
    self->pending = PENDING_NONE;
}

/* The chooser asked before replacing the name typed; a project it gained
 * the suffix to ("mlp" saved as "mlp.lamina") may be another project,
 * and is not replaced unasked. */
static void
confirm_replace_then_save (LamWindow *self, const char *path)
{
  g_autofree char *name = g_filename_display_basename (path);
  GtkWidget *dialog =
    gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                            GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE, "Replace “%s”?", name);
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                            "A project of that name is there already. Saving "
                                            "replaces it, with its weights and runs.");
  gtk_dialog_add_buttons (GTK_DIALOG (dialog), "_Cancel", GTK_RESPONSE_CANCEL, "_Replace",
                          GTK_RESPONSE_ACCEPT, NULL);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_CANCEL);
  GtkWidget *replace =
    gtk_dialog_get_widget_for_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  gtk_widget_add_css_class (replace, "destructive-action");
  g_object_set_data_full (G_OBJECT (dialog), "path", g_strdup (path), g_free);
  g_signal_connect (dialog, "response", G_CALLBACK (on_replace_response), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

void
lam_window_save_as_chosen (LamWindow *self, const char *chosen)
{
  g_return_if_fail (LAM_IS_WINDOW (self));
  g_return_if_fail (chosen != NULL);
  if (g_str_has_suffix (chosen, LAM_PROJECT_FILE_SUFFIX)) {
    save_chosen (self, chosen);
    return;
  }
  g_autofree char *path = g_strconcat (chosen, LAM_PROJECT_FILE_SUFFIX, NULL);
  const char *current = lam_session_get_file_path (self->session);
  if (g_file_test (path, G_FILE_TEST_EXISTS) && g_strcmp0 (path, current) != 0)
    confirm_replace_then_save (self, path);
  else
    save_chosen (self, path);
}

static void
on_chooser_response (GtkNativeDialog *chooser, int response, gpointer user_data)
{
  LamWindow *self = LAM_WINDOW (user_data);
  ChooseKind kind = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (chooser), "kind"));
  g_autoptr (GFile) file = response == GTK_RESPONSE_ACCEPT
                             ? gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser))
                             : NULL;
  g_autofree char *path = file ? g_file_get_path (file) : NULL;
  g_clear_object (&self->chooser);
  if (path == NULL) {
    self->pending = PENDING_NONE;
    return;
  }
  g_autoptr (GError) error = NULL;
  switch (kind) {
  case CHOOSE_OPEN:
    open_on_thread (self, path, NULL);
    break;
  case CHOOSE_SAVE: {
    const char *snapshots = gtk_file_chooser_get_choice (GTK_FILE_CHOOSER (chooser), "snapshots");
    if (snapshots != NULL)
      g_object_set (self->session, "save-snapshots", g_str_equal (snapshots, "true"), NULL);
    lam_window_save_as_chosen (self, path);
    break;
  }
  case CHOOSE_CSV:
    if (!lam_window_export_csv (self, path, &error))
      lam_window_show_message (self, "The run's history was not exported", error->message);
    break;
  }
}

static void
choose_file (LamWindow *self, ChooseKind kind)
{
  if (self->chooser != NULL)
    return;
  static const char *const titles[] = { "Open Project", "Save Project", "Export Run History" };
  static const char *const accept[] = { "_Open", "_Save", "_Export" };
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new (
    titles[kind], GTK_WINDOW (self),
    kind == CHOOSE_OPEN ? GTK_FILE_CHOOSER_ACTION_OPEN : GTK_FILE_CHOOSER_ACTION_SAVE,
    accept[kind], "_Cancel");
  GtkFileFilter *filter = gtk_file_filter_new ();
  if (kind == CHOOSE_CSV) {
    gtk_file_filter_set_name (filter, "CSV files");
    gtk_file_filter_add_pattern (filter, "*.csv");
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), "history.csv");
  } else {
    gtk_file_filter_set_name (filter, "Lamina projects");
    gtk_file_filter_add_pattern (filter, "*" LAM_PROJECT_FILE_SUFFIX);
    if (kind == CHOOSE_SAVE) {
      const char *current = lam_session_get_file_path (self->session);
      g_autofree char *name = current ? g_path_get_basename (current)
                                      : g_strdup ("Untitled" LAM_PROJECT_FILE_SUFFIX);
      gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
      /* Every epoch's weights can weigh more than the rest of the project
       * together: the choice is offered with their size. */
      guint n = lam_session_get_n_snapshots (self->session);
      if (n > 0) {
        gsize n_params = 0;
        lam_session_get_snapshot (self->session, 0, &n_params);
        g_autofree char *size = g_format_size ((guint64) n * n_params * sizeof (float));
        g_autofree char *label =
          g_strdup_printf ("Keep the weights of all %u epochs (%s) for going back in epochs", n,
                           size);
        gtk_file_chooser_add_choice (GTK_FILE_CHOOSER (chooser), "snapshots", label, NULL, NULL);
        gboolean keep = FALSE;
        g_object_get (self->session, "save-snapshots", &keep, NULL);
        gtk_file_chooser_set_choice (GTK_FILE_CHOOSER (chooser), "snapshots",
                                     keep ? "true" : "false");
      }
    }
  }
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  g_object_unref (filter);
  g_object_set_data (G_OBJECT (chooser), "kind", GINT_TO_POINTER (kind));
  g_signal_connect (chooser, "response", G_CALLBACK (on_chooser_response), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

/* What an opening came to, said in a dialog: its failure, or a word
 * about what opened. */
static void
report_open (LamWindow *self, const char *path, const GError *error, const char *warning)
{
  if (error != NULL) {
    g_autofree char *name = g_filename_display_basename (path);
    g_autofree char *primary = g_strdup_printf ("“%s” could not be opened", name);
    lam_window_show_message (self, primary, error->message);
  } else if (warning != NULL && g_str_has_prefix (warning, "The project's dataset folder")) {
    lam_window_show_message (self, "The dataset is missing", warning);
  } else if (warning != NULL) {
    show_message_of_type (self, GTK_MESSAGE_INFO, "The project was opened", warning);
  }
}

static void
on_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LamWindow *self = LAM_WINDOW (source);
  g_autoptr (GTask) report = user_data;
  GError *error = NULL;
  g_autofree char *warning = NULL;
  gboolean ok = lam_window_open_project_finish (self, result, &warning, &error);
  if (!self->disposed)
    report_open (self, g_task_get_task_data (report), error, warning);
  if (ok)
    g_task_return_boolean (report, TRUE);
  else
    g_task_return_error (report, error);
}

/* Reads path on a thread and says in a dialog what that came to; the
 * outcome goes on to report (owned, may be NULL: the task of
 * lam_window_open_file_async) once the dialog shows. */
static void
open_on_thread (LamWindow *self, const char *path, GTask *report)
{
  if (report == NULL)
    report = g_task_new (self, NULL, NULL, NULL);
  g_task_set_task_data (report, g_strdup (path), g_free);
  lam_window_open_project_async (self, path, on_opened, report);
}

/* Does what waited on the prompt (or on a Save As it led to). report
 * (owned, may be NULL) is told how an opening ended. */
static void
run_pending_reporting (LamWindow *self, GTask *report)
{
  Pending pending = self->pending;
  g_autofree char *path = g_steal_pointer (&self->pending_path);
  self->pending = PENDING_NONE;
  switch (pending) {
  case PENDING_CLOSE:
    self->close_confirmed = TRUE;
    gtk_window_close (GTK_WINDOW (self));
    break;
  case PENDING_OPEN_DIALOG:
    choose_file (self, CHOOSE_OPEN);
    break;
  case PENDING_OPEN_PATH:
    open_on_thread (self, path, g_steal_pointer (&report));
    break;
  case PENDING_NEW: {
    g_autoptr (GError) new_error = NULL;
    if (!lam_window_new_project (self, &new_error))
      lam_window_show_message (self, "No new project was started", new_error->message);
    break;
  }
  case PENDING_NONE:
  default:
    break;
  }
  g_assert (report == NULL);
}

static void
run_pending (LamWindow *self)
{
  run_pending_reporting (self, NULL);
}

/* A save on its thread is done: what waited on it runs, through the
 * prompt again when something changed during the save. A failure is
 * explained, and what waited on the save is dropped. */
static void
on_saved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LamWindow *self = LAM_WINDOW (source);
  g_autoptr (GError) error = NULL;
  gboolean ok = lam_window_save_project_finish (self, result, &error);
  if (self->disposed)
    return;
  Pending pending = self->pending;
  g_autofree char *path = g_steal_pointer (&self->pending_path);
  self->pending = PENDING_NONE;
  if (!ok)
    lam_window_show_message (self, "The project was not saved", error->message);
  else if (pending != PENDING_NONE)
    lam_window_confirm_then (self, pending, path);
}

static void
save_on_thread (LamWindow *self, const char *path)
{
  lam_window_save_project_async (self, path, on_saved, NULL);
}

/* Saves to the project's own file, or asks for one (Save As) when it is
 * untitled; what waits on the save runs when it is done. */
static void
save_or_choose (LamWindow *self)
{
  const char *path = lam_session_get_file_path (self->session);
  if (path == NULL) {
    choose_file (self, CHOOSE_SAVE);
    return;
  }
  g_autofree char *target = g_strdup (path);
  save_on_thread (self, target);
}

static void
on_prompt_response (GtkDialog *dialog, int response, gpointer user_data)
{
  LamWindow *self = LAM_WINDOW (user_data);
  self->prompt = NULL;
  gtk_window_destroy (GTK_WINDOW (dialog));
  if (response == GTK_RESPONSE_REJECT) {
    run_pending (self);
  } else if (response == GTK_RESPONSE_ACCEPT) {
    save_or_choose (self);
  } else {
    self->pending = PENDING_NONE;
    g_clear_pointer (&self->pending_path, g_free);
  }
}

/* An opening that waits on the prompt is no failure: what the prompt
 * leads to is said in dialogs. */
static void
report_waiting (GTask *report)
{
  if (report == NULL)
    return;
  g_task_return_boolean (report, TRUE);
  g_object_unref (report);
}

/* Runs `pending` now when nothing is unsaved, else after the user has
 * answered Save, Discard or Cancel. report (owned, may be NULL) is told
 * how an opening run now ended, or that it waits on the prompt. */
static void
confirm_then_reporting (LamWindow *self, Pending pending, const char *path, GTask *report)
{
  if (self->prompt != NULL) {
    report_waiting (report);
    return;
  }
  self->pending = pending;
  g_free (self->pending_path);
  self->pending_path = g_strdup (path);
  if (!lam_session_get_modified (self->session)) {
    run_pending_reporting (self, report);
    return;
  }
  report_waiting (report);
  const char *current = lam_session_get_file_path (self->session);
  g_autofree char *name = current ? g_path_get_basename (current) : g_strdup ("Untitled");
  GtkWidget *dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL |
                                              GTK_DIALOG_DESTROY_WITH_PARENT,
                                              GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
                                              "Save changes to “%s”?", name);
  const char *lost = pending == PENDING_CLOSE ? "the window closes"
                     : pending == PENDING_NEW ? "a new project starts"
                                              : "another project opens";
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                            "The model, settings or runs changed since the "
                                            "project was saved. Unsaved changes are lost when "
                                            "%s.", lost);
  gtk_dialog_add_buttons (GTK_DIALOG (dialog), "_Cancel", GTK_RESPONSE_CANCEL, "_Discard",
                          GTK_RESPONSE_REJECT, "_Save", GTK_RESPONSE_ACCEPT, NULL);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  GtkWidget *discard = gtk_dialog_get_widget_for_response (GTK_DIALOG (dialog),
                                                           GTK_RESPONSE_REJECT);
  gtk_widget_add_css_class (discard, "destructive-action");
  g_signal_connect (dialog, "response", G_CALLBACK (on_prompt_response), self);
  self->prompt = dialog;
  gtk_window_present (GTK_WINDOW (dialog));
}

void
lam_window_confirm_then (LamWindow *self, Pending pending, const char *path)
{
  confirm_then_reporting (self, pending, path, NULL);
}

static void
action_new_project (GtkWidget *widget, const char *name, GVariant *parameter)
{
  lam_window_confirm_then (LAM_WINDOW (widget), PENDING_NEW, NULL);
}

void
lam_window_open_file_async (LamWindow *self, GFile *file, GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_return_if_fail (LAM_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));
  GTask *report = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (report, lam_window_open_file_async);
  g_autofree char *path = g_file_get_path (file);
  if (path == NULL) {
    g_autofree char *uri = g_file_get_uri (file);
    g_autofree char *name = g_file_get_basename (file);
    g_autofree char *primary = g_strdup_printf ("“%s” could not be opened", name);
    lam_window_show_message (self, primary, "Projects open from local folders only: copy it to one first.");
    g_task_return_new_error (report, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                             "%s: projects open from local folders only; copy it to one first",
                             uri);
    g_object_unref (report);
    return;
  }
  confirm_then_reporting (self, PENDING_OPEN_PATH, path, report);
}

gboolean
lam_window_open_file_finish (LamWindow *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
action_open_project (GtkWidget *widget, const char *name, GVariant *parameter)
{
  lam_window_confirm_then (LAM_WINDOW (widget), PENDING_OPEN_DIALOG, NULL);
}

static void
action_open_recent (GtkWidget *widget, const char *name, GVariant *parameter)
{
  lam_window_confirm_then (LAM_WINDOW (widget), PENDING_OPEN_PATH, g_variant_get_string (parameter, NULL));
}

static void
action_save (GtkWidget *widget, const char *name, GVariant *parameter)
{
  save_or_choose (LAM_WINDOW (widget));
}

static void
action_save_as (GtkWidget *widget, const char *name, GVariant *parameter)
{
  choose_file (LAM_WINDOW (widget), CHOOSE_SAVE);
}

static void
action_export_csv (GtkWidget *widget, const char *name, GVariant *parameter)
{
  choose_file (LAM_WINDOW (widget), CHOOSE_CSV);
}

void
lam_window_update_file_actions (LamWindow *self)
{
  gboolean idle = !lam_session_get_training (self->session) && self->file_job == FILE_JOB_NONE;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save", idle);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save-as", idle);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.new-project", idle);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.open-project", idle);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.open-recent", idle);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.no-recent", FALSE);
  /* The run an open is about to replace is not exported; a save writes
   * its own copy of the runs, and the history read here stays as it is. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export-csv",
                                 self->file_job != FILE_JOB_OPENING);
}

void
lam_window_class_add_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.page", "i", action_show_page);
  gtk_widget_class_install_action (widget_class, "win.open-dataset", NULL, action_open_dataset);
  gtk_widget_class_install_action (widget_class, "win.download", NULL, action_download);
  gtk_widget_class_install_action (widget_class, "win.presentation", NULL, action_presentation);
  gtk_widget_class_install_action (widget_class, "win.new-project", NULL, action_new_project);
  gtk_widget_class_install_action (widget_class, "win.open-project", NULL, action_open_project);
  gtk_widget_class_install_action (widget_class, "win.open-recent", "s", action_open_recent);
  gtk_widget_class_install_action (widget_class, "win.no-recent", NULL, NULL);
  gtk_widget_class_install_action (widget_class, "win.save", NULL, action_save);
  gtk_widget_class_install_action (widget_class, "win.save-as", NULL, action_save_as);
  gtk_widget_class_install_action (widget_class, "win.export-csv", NULL, action_export_csv);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK,
                                       "win.new-project", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o,
                                       GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.open-project",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "win.save",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s,
                                       GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.save-as", NULL);
  for (int i = 1; i <= 4; i++)
    gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0 + i, GDK_CONTROL_MASK, "win.page",
                                         "i", i);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK,
                                       "win.open-dataset", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F11, 0, "win.presentation", NULL);
  /* The session's actions, inserted into every window as "session". */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK,
                                       "session.start-pause", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, GDK_CONTROL_MASK,
                                       "session.start-pause", NULL);
}

void
lam_window_add_shortcuts (LamWindow *self)
{
  GtkEventController *shortcuts = gtk_shortcut_controller_new ();
  gtk_event_controller_set_propagation_phase (shortcuts, GTK_PHASE_CAPTURE);
  guint step_keys[] = { GDK_KEY_Right, GDK_KEY_KP_Right };
  for (guint i = 0; i < G_N_ELEMENTS (step_keys); i++)
    gtk_shortcut_controller_add_shortcut (
      GTK_SHORTCUT_CONTROLLER (shortcuts),
      gtk_shortcut_new (gtk_keyval_trigger_new (step_keys[i], GDK_CONTROL_MASK),
                        gtk_callback_action_new (on_step_shortcut, NULL, NULL)));
  /* Ctrl+. is Stop wherever the focus is: a text or number field binds it
   * to its emoji picker, and the field's bindings run before this class's,
   * so a class binding stopped nothing while the learning rate was being
   * typed. With nothing to stop, the key goes on to the field. */
  gtk_shortcut_controller_add_shortcut (
    GTK_SHORTCUT_CONTROLLER (shortcuts),
    gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_period, GDK_CONTROL_MASK),
                      gtk_named_action_new ("session.stop")));
  gtk_widget_add_controller (GTK_WIDGET (self), shortcuts);
}
