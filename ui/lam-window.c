#include "lam-window.h"

#include "lam-data-page.h"
#include "lam-download-dialog.h"
#include "lam-evaluate-page.h"
#include "lam-model-page.h"
#include "lam-project-file.h"
#include "lam-train-page.h"
#include "lam-ui-util.h"

#define MAX_RECENT_PROJECTS 8

/* What waits on the answer to "save changes?". */
typedef enum
{
  PENDING_NONE,
  PENDING_CLOSE,
  PENDING_OPEN_DIALOG,
  PENDING_OPEN_PATH,
  PENDING_NEW,
} Pending;

struct _LamWindow
{
  GtkApplicationWindow parent_instance;

  LamSession *session; /* owned */

  GtkStack *stack;
  GtkLabel *dataset_label;
  GtkWidget *data_page;
  GtkWidget *model_page;
  GtkWidget *train_page;
  GtkWidget *evaluate_page;
  GtkToggleButton *presentation_button;
  gboolean presentation;
  GSettings *settings; /* owned, NULL when the schema is not installed */
  GMenu *recent_section;

  char *spec_signature;      /* owned: the layers last seen, to tell edits from input changes */
  char *opening_dataset_dir; /* owned: the dataset an opened project is loading */
  GtkWidget *prompt;         /* the "save changes?" dialog while it shows */
  Pending pending;
  char *pending_path;        /* owned */
  gboolean close_confirmed;
  GtkNativeDialog *chooser;  /* owned while it shows */
};

G_DEFINE_FINAL_TYPE (LamWindow, lam_window, GTK_TYPE_APPLICATION_WINDOW)

enum
{
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

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

static void
action_start_pause (GtkWidget *widget, const char *name, GVariant *parameter)
{
  LamWindow *self = LAM_WINDOW (widget);
  LamTrainPage *train = LAM_TRAIN_PAGE (self->train_page);
  /* Starting from another page shows the charts the run will draw. */
  if (lam_train_page_get_state (train) == LAM_TRAIN_STATE_IDLE)
    lam_window_show_page (self, "train");
  lam_train_page_start_or_pause (train);
}

/* Ctrl+Right is the Step button's action, train.step. GtkWindow binds
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
  lam_window_show_page (self, "train");
  return gtk_widget_activate_action (self->train_page, "train.step", NULL);
}

static void
action_stop (GtkWidget *widget, const char *name, GVariant *parameter)
{
  LamWindow *self = LAM_WINDOW (widget);
  lam_train_page_stop (LAM_TRAIN_PAGE (self->train_page));
}

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
  lam_train_page_set_presentation (LAM_TRAIN_PAGE (self->train_page), presentation);
  gtk_toggle_button_set_active (self->presentation_button, presentation);
}

gboolean
lam_window_get_presentation (LamWindow *self)
{
  return self->presentation;
}

static void
action_presentation (GtkWidget *widget, const char *name, GVariant *parameter)
{
  LamWindow *self = LAM_WINDOW (widget);
  lam_window_set_presentation (self, !self->presentation);
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
  g_autofree char *label = dataset ? g_strdup_printf ("%s — %s", document, dataset)
                                   : g_strdup (document);
  gtk_label_set_text (self->dataset_label, label);
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

/* Saving and opening */

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

static void
show_message (LamWindow *self, const char *primary, const char *secondary)
{
  show_message_of_type (self, GTK_MESSAGE_ERROR, primary, secondary);
}

gboolean
lam_window_save_project (LamWindow *self, const char *path, GError **error)
{
  g_return_val_if_fail (LAM_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  LamTrainPage *train = LAM_TRAIN_PAGE (self->train_page);
  if (lam_train_page_get_state (train) != LAM_TRAIN_STATE_IDLE) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                 "Training is running: stop it first, and its weights and optimizer state are "
                 "saved with the project.");
    return FALSE;
  }
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  file->spec = lam_model_spec_copy (lam_session_get_spec (self->session));
  lam_train_page_fill_project_file (train, file);
  file->dataset_dir = g_strdup (lam_session_get_dataset_dir (self->session));
  file->dataset_name = g_strdup (lam_session_get_dataset_name (self->session));
  /* What the saved weights' run predicted epoch by epoch, so a reopened
   * project can say "wrong since epoch 2". */
  LamEvaluation *evaluation =
    lam_evaluate_page_get_evaluation (LAM_EVALUATE_PAGE (self->evaluate_page));
  guint n_history = lam_evaluation_get_n_history (evaluation);
  int n_images = lam_evaluation_get_history_n_images (evaluation);
  if (file->params != NULL && n_history > 0 && n_images > 0) {
    g_autofree int *epochs = g_new (int, n_history);
    g_autofree const gint32 **rows = g_new (const gint32 *, n_history);
    for (guint k = 0; k < n_history; k++)
      rows[k] = lam_evaluation_get_history (evaluation, k, &epochs[k]);
    lam_project_file_set_history (file, (int) n_history, n_images, epochs, rows);
  }
  if (!lam_project_file_save (file, path, error))
    return FALSE;
  lam_session_set_file_path (self->session, path);
  lam_session_set_modified (self->session, FALSE);
  add_recent (self, path);
  return TRUE;
}

gboolean
lam_window_open_project (LamWindow *self, const char *path, char **warning, GError **error)
{
  g_return_val_if_fail (LAM_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  LamTrainPage *train = LAM_TRAIN_PAGE (self->train_page);
  if (warning != NULL)
    *warning = NULL;
  if (lam_train_page_get_state (train) != LAM_TRAIN_STATE_IDLE) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                 "Training is running: stop it before opening another project.");
    return FALSE;
  }
  /* Everything is read and checked before anything the user has changes. */
  g_autoptr (LamProjectFile) file = lam_project_file_load (path, error);
  if (file == NULL)
    return FALSE;

  lam_session_set_spec (self->session, file->spec);
  lam_train_page_load_project_file (train, file);
  if (file->params != NULL) {
    float mean[3] = { 0, 0, 0 }, std[3] = { 1, 1, 1 };
    for (int c = 0; c < 3 && file->n_channels > 0; c++) {
      mean[c] = file->mean[MIN (c, file->n_channels - 1)];
      std[c] = file->std[MIN (c, file->n_channels - 1)];
    }
    lam_session_begin_run (self->session);
    /* The epoch the weights are of: the resume position, else the last
     * epoch the saved prediction history has for them. */
    int epoch = file->resumable       ? file->epochs_done
                : file->n_history > 0 ? file->history_epochs[file->n_history - 1]
                                      : 0;
    lam_session_set_weights (self->session, file->spec, file->params, file->n_params, mean, std,
                             epoch);
    lam_session_set_weights_dataset (self->session, file->dataset_dir, NULL);
    lam_evaluation_restore_history (
      lam_evaluate_page_get_evaluation (LAM_EVALUATE_PAGE (self->evaluate_page)),
      lam_session_get_weights_run (self->session), file->n_history, file->history_n_images,
      file->history_epochs, file->history_classes);
  } else {
    /* The weights shown (and saved with the project) are the project's own. */
    lam_session_clear_weights (self->session);
  }

  const char *dir = file->dataset_dir;
  if (dir != NULL && g_strcmp0 (dir, lam_session_get_dataset_dir (self->session)) != 0) {
    if (g_file_test (dir, G_FILE_TEST_IS_DIR)) {
      g_free (self->opening_dataset_dir);
      self->opening_dataset_dir = g_strdup (dir);
      /* Through the Data page, so a broken dataset is explained there. */
      lam_data_page_load_folder (LAM_DATA_PAGE (self->data_page), dir);
    } else if (warning != NULL) {
      *warning = g_strdup_printf ("The project's dataset folder %s is missing. The model, "
                                  "settings, history and weights were opened; choose a dataset "
                                  "on the Data page to train.", dir);
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
  lam_session_set_file_path (self->session, path);
  lam_session_set_modified (self->session, FALSE);
  add_recent (self, path);
  return TRUE;
}

gboolean
lam_window_new_project (LamWindow *self, GError **error)
{
  g_return_val_if_fail (LAM_IS_WINDOW (self), FALSE);
  LamTrainPage *train = LAM_TRAIN_PAGE (self->train_page);
  if (lam_train_page_get_state (train) != LAM_TRAIN_STATE_IDLE) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                 "Training is running: stop it before starting a new project.");
    return FALSE;
  }
  /* The model and settings a fresh window starts with, from a fresh
   * project, so the two never drift apart; no runs and no weights. */
  g_autoptr (LamSession) fresh = lam_session_new ();
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  file->spec = lam_model_spec_copy (lam_session_get_spec (fresh));
  file->config = *lam_session_get_config (fresh);
  g_autofree char *device = self->settings ? g_settings_get_string (self->settings,
                                                                    "default-device")
                                           : NULL;
  /* As the Train page picks it at start: the GPU when one answers, unless
   * the preferences ask for the CPU. */
  g_free (file->device);
  file->device = g_strdup (g_strcmp0 (device, "cpu") == 0 ? "cpu" : "cuda");

  lam_session_set_spec (self->session, file->spec);
  lam_train_page_load_project_file (train, file);
  lam_session_clear_weights (self->session);

  /* The default dataset when it is installed; else the one open stays,
   * rather than a page that explains a missing folder. */
  const char *dir = LAM_DATASET_DEFAULT_DIR;
  if (g_strcmp0 (dir, lam_session_get_dataset_dir (self->session)) != 0 &&
      g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_free (self->opening_dataset_dir);
    self->opening_dataset_dir = g_strdup (dir);
    lam_data_page_load_folder (LAM_DATA_PAGE (self->data_page), dir);
  }
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
  const LamProjectRun *run = lam_train_page_get_current_run (LAM_TRAIN_PAGE (self->train_page));
  if (run == NULL) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                         "There is no run yet: train first, or open a project with a history.");
    return FALSE;
  }
  return lam_project_run_write_csv (run, path, error);
}

GtkWidget *
lam_window_get_prompt (LamWindow *self)
{
  return self->prompt;
}

static gboolean open_with_report (LamWindow *self, const char *path, GError **error);
static void run_pending (LamWindow *self);

typedef enum
{
  CHOOSE_OPEN,
  CHOOSE_SAVE,
  CHOOSE_CSV,
} ChooseKind;

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
    open_with_report (self, path, NULL);
    break;
  case CHOOSE_SAVE: {
    if (!g_str_has_suffix (path, LAM_PROJECT_FILE_SUFFIX)) {
      char *with = g_strconcat (path, LAM_PROJECT_FILE_SUFFIX, NULL);
      g_free (path);
      path = with;
    }
    if (!lam_window_save_project (self, path, &error)) {
      self->pending = PENDING_NONE;
      show_message (self, "The project was not saved", error->message);
    } else {
      run_pending (self);
    }
    break;
  }
  case CHOOSE_CSV:
    if (!lam_window_export_csv (self, path, &error))
      show_message (self, "The run's history was not exported", error->message);
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
    }
  }
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  g_object_unref (filter);
  g_object_set_data (G_OBJECT (chooser), "kind", GINT_TO_POINTER (kind));
  g_signal_connect (chooser, "response", G_CALLBACK (on_chooser_response), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

/* A failure is shown in a dialog, and handed on in error (may be NULL). */
static gboolean
open_with_report (LamWindow *self, const char *path, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *warning = NULL;
  if (!lam_window_open_project (self, path, &warning, &local_error)) {
    g_autofree char *name = g_filename_display_basename (path);
    g_autofree char *primary = g_strdup_printf ("“%s” could not be opened", name);
    show_message (self, primary, local_error->message);
    g_propagate_error (error, g_steal_pointer (&local_error));
    return FALSE;
  } else if (warning != NULL && g_str_has_prefix (warning, "The project's dataset folder")) {
    show_message (self, "The dataset is missing", warning);
  } else if (warning != NULL) {
    show_message_of_type (self, GTK_MESSAGE_INFO, "The project was opened", warning);
  }
  return TRUE;
}

/* Does what waited on the prompt (or on a Save As it led to); error (may
 * be NULL) says why an opening failed. */
static void
run_pending_reporting (LamWindow *self, GError **error)
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
    open_with_report (self, path, error);
    break;
  case PENDING_NEW: {
    g_autoptr (GError) new_error = NULL;
    if (!lam_window_new_project (self, &new_error))
      show_message (self, "No new project was started", new_error->message);
    break;
  }
  case PENDING_NONE:
  default:
    break;
  }
}

static void
run_pending (LamWindow *self)
{
  run_pending_reporting (self, NULL);
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
    const char *path = lam_session_get_file_path (self->session);
    if (path == NULL) {
      choose_file (self, CHOOSE_SAVE);
      return;
    }
    g_autoptr (GError) error = NULL;
    g_autofree char *target = g_strdup (path);
    if (lam_window_save_project (self, target, &error)) {
      run_pending (self);
    } else {
      self->pending = PENDING_NONE;
      show_message (self, "The project was not saved", error->message);
    }
  } else {
    self->pending = PENDING_NONE;
    g_clear_pointer (&self->pending_path, g_free);
  }
}

/* Runs `pending` now when nothing is unsaved, else after the user has
 * answered Save, Discard or Cancel. */
static gboolean
confirm_then_reporting (LamWindow *self, Pending pending, const char *path, GError **error)
{
  if (self->prompt != NULL)
    return TRUE;
  self->pending = pending;
  g_free (self->pending_path);
  self->pending_path = g_strdup (path);
  if (!lam_session_get_modified (self->session)) {
    GError *local_error = NULL;
    run_pending_reporting (self, &local_error);
    if (local_error != NULL) {
      g_propagate_error (error, local_error);
      return FALSE;
    }
    return TRUE;
  }
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
  return TRUE;
}

static void
confirm_then (LamWindow *self, Pending pending, const char *path)
{
  confirm_then_reporting (self, pending, path, NULL);
}

static void
action_new_project (GtkWidget *widget, const char *name, GVariant *parameter)
{
  confirm_then (LAM_WINDOW (widget), PENDING_NEW, NULL);
}

gboolean
lam_window_open_file (LamWindow *self, GFile *file, GError **error)
{
  g_return_val_if_fail (LAM_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);
  g_autofree char *path = g_file_get_path (file);
  if (path == NULL) {
    g_autofree char *uri = g_file_get_uri (file);
    g_autofree char *name = g_file_get_basename (file);
    g_autofree char *primary = g_strdup_printf ("“%s” could not be opened", name);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                 "%s: projects open from local folders only; copy it to one first", uri);
    show_message (self, primary, "Projects open from local folders only: copy it to one first.");
    return FALSE;
  }
  return confirm_then_reporting (self, PENDING_OPEN_PATH, path, error);
}

static void
action_open_project (GtkWidget *widget, const char *name, GVariant *parameter)
{
  confirm_then (LAM_WINDOW (widget), PENDING_OPEN_DIALOG, NULL);
}

static void
action_open_recent (GtkWidget *widget, const char *name, GVariant *parameter)
{
  confirm_then (LAM_WINDOW (widget), PENDING_OPEN_PATH, g_variant_get_string (parameter, NULL));
}

static void
action_save (GtkWidget *widget, const char *name, GVariant *parameter)
{
  LamWindow *self = LAM_WINDOW (widget);
  const char *path = lam_session_get_file_path (self->session);
  if (path == NULL) {
    choose_file (self, CHOOSE_SAVE);
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autofree char *target = g_strdup (path);
  if (!lam_window_save_project (self, target, &error))
    show_message (self, "The project was not saved", error->message);
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

static void
update_file_actions (LamWindow *self)
{
  gboolean idle = !lam_session_get_training (self->session);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save", idle);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save-as", idle);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.new-project", idle);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.open-project", idle);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.open-recent", idle);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.no-recent", FALSE);
}


static void
lam_window_constructed (GObject *object)
{
  LamWindow *self = LAM_WINDOW (object);
  G_OBJECT_CLASS (lam_window_parent_class)->constructed (object);

  if (self->session == NULL)
    self->session = lam_session_new ();

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
  g_signal_connect_object (self->session, "notify::training", G_CALLBACK (update_file_actions),
                           self, G_CONNECT_SWAPPED);
  self->spec_signature = spec_signature (lam_session_get_spec (self->session));
  update_title (self);
  update_file_actions (self);

  self->settings = lam_ui_settings_new ();
  if (self->settings != NULL) {
    gtk_window_set_default_size (GTK_WINDOW (self),
                                 g_settings_get_int (self->settings, "window-width"),
                                 g_settings_get_int (self->settings, "window-height"));
    if (g_settings_get_boolean (self->settings, "window-maximized"))
      gtk_window_maximize (GTK_WINDOW (self));
  }
  rebuild_recent (self);
}

static gboolean
lam_window_close_request (GtkWindow *window)
{
  LamWindow *self = LAM_WINDOW (window);
  if (!self->close_confirmed && lam_session_get_modified (self->session)) {
    confirm_then (self, PENDING_CLOSE, NULL);
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
  gtk_widget_class_bind_template_child (widget_class, LamWindow, dataset_label);
  gtk_widget_class_bind_template_child (widget_class, LamWindow, presentation_button);
  gtk_widget_class_bind_template_child (widget_class, LamWindow, recent_section);
  gtk_widget_class_bind_template_callback (widget_class, on_presentation_toggled);

  gtk_widget_class_install_action (widget_class, "win.page", "i", action_show_page);
  gtk_widget_class_install_action (widget_class, "win.open-dataset", NULL, action_open_dataset);
  gtk_widget_class_install_action (widget_class, "win.download", NULL, action_download);
  gtk_widget_class_install_action (widget_class, "win.start-pause", NULL, action_start_pause);
  gtk_widget_class_install_action (widget_class, "win.stop", NULL, action_stop);
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
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK,
                                       "win.start-pause", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, GDK_CONTROL_MASK,
                                       "win.start-pause", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_period, GDK_CONTROL_MASK, "win.stop",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F11, 0, "win.presentation", NULL);
}

/* The app's styles, loaded once per display by the first window, so a
 * window made by a test looks like the app's. */
static void
load_styles (GtkWidget *widget)
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
  load_styles (GTK_WIDGET (self));

  GtkEventController *shortcuts = gtk_shortcut_controller_new ();
  gtk_event_controller_set_propagation_phase (shortcuts, GTK_PHASE_CAPTURE);
  guint step_keys[] = { GDK_KEY_Right, GDK_KEY_KP_Right };
  for (guint i = 0; i < G_N_ELEMENTS (step_keys); i++)
    gtk_shortcut_controller_add_shortcut (
      GTK_SHORTCUT_CONTROLLER (shortcuts),
      gtk_shortcut_new (gtk_keyval_trigger_new (step_keys[i], GDK_CONTROL_MASK),
                        gtk_callback_action_new (on_step_shortcut, NULL, NULL)));
  gtk_widget_add_controller (GTK_WIDGET (self), shortcuts);
}

LamWindow *
lam_window_new (GtkApplication *application, LamSession *session)
{
  return g_object_new (LAM_TYPE_WINDOW, "application", application, "session", session, NULL);
}

LamSession *
lam_window_get_project (LamWindow *self)
{
  return self->session;
}

void
lam_window_show_page (LamWindow *self, const char *name)
{
  gtk_stack_set_visible_child_name (self->stack, name);
}

GtkWidget *
lam_window_get_page (LamWindow *self, const char *name)
{
  return gtk_stack_get_child_by_name (self->stack, name);
}
