#include "lam-download-dialog.h"

#include <string.h>

#include "lam-download.h"
#include "lam-window.h"

/* Built in code rather than from a .ui template: the rows are made per
 * dataset at run time, and what is fixed around them is one label. */

typedef struct
{
  LamDownloadDialog *dialog; /* borrowed: the dialog owns its rows */
  LamDownload *download;     /* owned */
  GCancellable *cancellable; /* owned while a download runs */
  gulong progress_id;
  gulong running_id;
  gboolean opening;
  char *ready_dir; /* owned: where Open opens it from, NULL when nowhere */
  GtkLabel *status;
  GtkLabel *error;
  GtkProgressBar *bar;
  GtkWidget *download_button;
  GtkWidget *cancel_button;
  GtkWidget *open_button;
} Row;

struct _LamDownloadDialog
{
  GtkWindow parent_instance;

  LamSession *session; /* owned */
  char *base_dir;      /* NULL: the user data folder */
  char *system_dir;    /* where installed copies are looked for */
  char *base_url;
  GPtrArray *rows; /* of Row, owned; NULL once disposed */
  GtkWidget *list;
  GtkLabel *folder_label;
};

G_DEFINE_FINAL_TYPE (LamDownloadDialog, lam_download_dialog, GTK_TYPE_WINDOW)

enum
{
  PROP_0,
  PROP_SESSION,
  PROP_BASE_DIR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void row_update (Row *row);

/* ---- sizes ---- */

/* "12.3 of 30.9 MB": both in the unit of the total, decimal as GNOME
 * writes sizes. */
static char *
format_progress (guint64 done, guint64 total)
{
  if (total == 0)
    return g_strdup_printf ("%.1f MB", done / 1e6);
  if (total < 1000000)
    return g_strdup_printf ("%.0f of %.0f kB", done / 1e3, total / 1e3);
  return g_strdup_printf ("%.1f of %.1f MB", done / 1e6, total / 1e6);
}

static char *
format_size (guint64 bytes)
{
  if (bytes < 1000000)
    return g_strdup_printf ("%.0f kB", bytes / 1e3);
  return g_strdup_printf ("%.1f MB", bytes / 1e6);
}

/* A folder as a person reads it: the home folder as "~". */
static char *
display_path (const char *path)
{
  const char *home = g_get_home_dir ();
  gsize len = home != NULL ? strlen (home) : 0;
  if (len > 1 && g_str_has_prefix (path, home) && path[len] == '/')
    return g_strconcat ("~", path + len, NULL);
  return g_strdup (path);
}

static gboolean
same_dir (const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return FALSE;
  g_autofree char *ca = g_canonicalize_filename (a, NULL);
  g_autofree char *cb = g_canonicalize_filename (b, NULL);
  return strcmp (ca, cb) == 0;
}

/* ---- rows ---- */

static void
row_free (Row *row)
{
  if (row->cancellable != NULL)
    g_cancellable_cancel (row->cancellable);
  g_clear_object (&row->cancellable);
  g_clear_signal_handler (&row->progress_id, row->download);
  g_clear_signal_handler (&row->running_id, row->download);
  g_clear_object (&row->download);
  g_free (row->ready_dir);
  g_free (row);
}

static Row *
find_row (LamDownloadDialog *self, const char *dataset_id)
{
  for (guint i = 0; self->rows != NULL && i < self->rows->len; i++) {
    Row *row = g_ptr_array_index (self->rows, i);
    if (strcmp (lam_download_get_id (row->download), dataset_id) == 0)
      return row;
  }
  return NULL;
}

/* The engine's messages are clauses ("could not reach …"); the row shows
 * them as sentences. */
static void
row_set_error (Row *row, const char *message)
{
  g_autofree char *sentence = g_strdup (message != NULL ? message : "");
  sentence[0] = g_ascii_toupper (sentence[0]);
  gtk_label_set_text (row->error, sentence);
  gtk_widget_set_visible (GTK_WIDGET (row->error), message != NULL);
}

/* The status line says what happens, the bar how far it has got. */
static void
row_show_progress (Row *row, LamDownloadStage stage, const char *file, guint64 file_done,
                   guint64 file_total, guint64 done, guint64 total)
{
  g_autofree char *status = NULL;
  g_autofree char *amount = NULL;
  double fraction = total > 0 ? (double) done / (double) total : 0.0;
  switch (stage) {
  case LAM_DOWNLOAD_STAGE_VERIFYING:
    status = g_strdup_printf ("Checking %s against its published digest…", file);
    amount = format_progress (done, total);
    break;
  case LAM_DOWNLOAD_STAGE_EXTRACTING:
    status = g_strdup_printf ("Extracting %s…", file);
    amount = format_progress (file_done, file_total);
    fraction = file_total > 0 ? (double) file_done / (double) file_total : 1.0;
    break;
  case LAM_DOWNLOAD_STAGE_DONE:
    status = g_strdup ("Downloaded");
    amount = format_progress (done, total);
    break;
  case LAM_DOWNLOAD_STAGE_IDLE:
  case LAM_DOWNLOAD_STAGE_DOWNLOADING:
  default:
    status = file != NULL && file[0] != '\0' ? g_strdup_printf ("Downloading %s…", file)
                                              : g_strdup ("Connecting…");
    amount = format_progress (done, total);
    break;
  }
  gtk_progress_bar_set_fraction (row->bar, CLAMP (fraction, 0.0, 1.0));
  gtk_progress_bar_set_text (row->bar, amount);
  gtk_label_set_text (row->status, status);
}

static void
on_progress (LamDownload *download, const char *file, guint64 file_done, guint64 file_total,
             guint64 done, guint64 total, gpointer user_data)
{
  Row *row = user_data;
  row_show_progress (row, lam_download_get_stage (download), file, file_done, file_total, done,
                     total);
}

static void
on_running_changed (LamDownload *download, GParamSpec *pspec, gpointer user_data)
{
  row_update (user_data);
}

/* Where the dataset opens from without a download: the downloaded copy,
 * else one a package installed, else the folder the project has open when
 * it is this dataset. */
static char *
find_ready_dir (Row *row, gboolean complete, gboolean *installed)
{
  *installed = FALSE;
  if (complete)
    return g_strdup (lam_download_get_directory (row->download));
  char *dir = lam_download_dup_installed_dir (row->download);
  if (dir != NULL) {
    *installed = TRUE;
    return dir;
  }
  LamSession *session = row->dialog->session;
  const char *open_dir = lam_session_get_dataset_dir (session);
  if (lam_download_is_copy (row->download, open_dir, lam_session_get_dataset_name (session)))
    return g_strdup (open_dir);
  return NULL;
}

/* Buttons and the status line from what is on disk, what runs and what
 * the project has open. */
static void
row_update (Row *row)
{
  gboolean running = lam_download_get_running (row->download);
  gboolean complete = !running && lam_download_is_complete (row->download);
  gboolean installed = FALSE;
  g_free (row->ready_dir);
  row->ready_dir = running ? NULL : find_ready_dir (row, complete, &installed);
  gboolean ready = row->ready_dir != NULL;
  guint64 size = lam_download_get_size (row->download);
  guint64 present = running || ready ? 0 : lam_download_get_bytes_present (row->download);

  gtk_widget_set_visible (row->download_button, !running && !ready);
  gtk_button_set_label (GTK_BUTTON (row->download_button), present > 0 ? "Resume" : "Download");
  gtk_widget_set_visible (row->cancel_button, running);
  gtk_widget_set_visible (row->open_button, ready);
  gtk_widget_set_sensitive (row->open_button, !row->opening);
  gtk_widget_set_tooltip_text (row->open_button, row->ready_dir);
  gtk_widget_set_visible (GTK_WIDGET (row->bar), running);
  if (running)
    return; /* the progress signal writes the status */

  g_autofree char *size_text = format_size (size);
  g_autofree char *status = NULL;
  if (ready) {
    g_autofree char *shown = display_path (row->ready_dir);
    g_autofree char *where = complete ? g_strdup_printf ("Downloaded · %s", size_text)
                                      : g_strdup_printf ("%s · %s",
                                                         installed ? "Installed" : "Ready", shown);
    if (row->opening)
      status = g_strdup_printf ("%s · opening…", where);
    else if (same_dir (row->ready_dir, lam_session_get_dataset_dir (row->dialog->session)))
      status = g_strdup_printf ("%s · open on the Data page", where);
    else
      status = g_steal_pointer (&where);
  } else if (present > 0) {
    g_autofree char *progress = format_progress (present, size);
    status = g_strdup_printf ("Partly downloaded: %s", progress);
  } else
    status = g_strdup_printf ("Not downloaded · %s", size_text);
  gtk_label_set_text (row->status, status);
}

static void
update_rows (LamDownloadDialog *self)
{
  for (guint i = 0; self->rows != NULL && i < self->rows->len; i++)
    row_update (g_ptr_array_index (self->rows, i));
}

/* Work that outlives a click holds the dialog weakly: closing the dialog
 * disposes it at once, which cancels its downloads. */
static GWeakRef *
weak_ref_new (gpointer object)
{
  GWeakRef *ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, object);
  return ref;
}

static void
weak_ref_free (GWeakRef *ref)
{
  g_weak_ref_clear (ref);
  g_free (ref);
}

typedef struct
{
  GWeakRef dialog;
  char *dataset_id;
  gboolean close_after;
} OpenJob;

static void
open_job_free (OpenJob *job)
{
  g_weak_ref_clear (&job->dialog);
  g_free (job->dataset_id);
  g_free (job);
}

static void
on_dataset_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  OpenJob *job = user_data;
  g_autoptr (GError) error = NULL;
  gboolean ok = lam_session_load_dataset_finish (LAM_SESSION (source), result, &error);
  g_autoptr (LamDownloadDialog) self = g_weak_ref_get (&job->dialog);
  if (self == NULL) {
    open_job_free (job);
    return;
  }
  Row *row = find_row (self, job->dataset_id);
  if (row != NULL) {
    row->opening = FALSE;
    row_set_error (row, ok ? NULL : error->message);
    row_update (row);
  }
  if (ok) {
    GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));
    if (parent != NULL && LAM_IS_WINDOW (parent))
      lam_window_show_page (LAM_WINDOW (parent), "data");
    if (job->close_after && self->rows != NULL)
      gtk_window_close (GTK_WINDOW (self));
  }
  open_job_free (job);
}

static void
row_open (Row *row, gboolean close_after)
{
  row->opening = TRUE;
  row_set_error (row, NULL);
  row_update (row);
  g_return_if_fail (row->ready_dir != NULL);
  OpenJob *job = g_new0 (OpenJob, 1);
  g_weak_ref_init (&job->dialog, row->dialog);
  job->dataset_id = g_strdup (lam_download_get_id (row->download));
  job->close_after = close_after;
  lam_session_load_dataset_async (row->dialog->session, row->ready_dir, NULL, on_dataset_loaded,
                                  job);
}

static void
on_download_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GWeakRef *ref = user_data;
  g_autoptr (LamDownloadDialog) self = g_weak_ref_get (ref);
  weak_ref_free (ref);
  g_autoptr (GError) error = NULL;
  g_autofree char *directory = lam_download_finish (LAM_DOWNLOAD (source), result, &error);
  Row *row = self != NULL ? find_row (self, lam_download_get_id (LAM_DOWNLOAD (source))) : NULL;
  if (row == NULL)
    return; /* the dialog has gone; the .part files wait for the next time */
  g_clear_object (&row->cancellable);
  if (directory != NULL) {
    row_set_error (row, NULL);
    row_open (row, FALSE);
  } else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    row_set_error (row, NULL);
  } else {
    row_set_error (row, error->message);
  }
  row_update (row);
}

static void
on_download_clicked (GtkButton *button, gpointer user_data)
{
  Row *row = user_data;
  if (lam_download_get_running (row->download))
    return;
  row_set_error (row, NULL);
  g_clear_object (&row->cancellable);
  row->cancellable = g_cancellable_new ();
  lam_download_set_base_url (row->download, row->dialog->base_url);
  row_show_progress (row, LAM_DOWNLOAD_STAGE_DOWNLOADING, "", 0, 0,
                     lam_download_get_bytes_present (row->download),
                     lam_download_get_size (row->download));
  lam_download_start_async (row->download, row->cancellable, on_download_done,
                            weak_ref_new (row->dialog));
  row_update (row);
}

static void
on_cancel_clicked (GtkButton *button, gpointer user_data)
{
  Row *row = user_data;
  if (row->cancellable != NULL)
    g_cancellable_cancel (row->cancellable);
}

static void
on_open_clicked (GtkButton *button, gpointer user_data)
{
  row_open (user_data, TRUE);
}

static GtkWidget *
row_build (Row *row)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_margin_top (box, 10);
  gtk_widget_set_margin_bottom (box, 10);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);

  GtkWidget *text = gtk_box_new (GTK_ORIENTATION_VERTICAL, 3);
  gtk_widget_set_hexpand (text, TRUE);
  gtk_box_append (GTK_BOX (box), text);

  GtkWidget *title = gtk_label_new (lam_download_get_title (row->download));
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_widget_add_css_class (title, "heading");
  gtk_box_append (GTK_BOX (text), title);

  GtkWidget *description = gtk_label_new (lam_download_get_description (row->download));
  gtk_label_set_xalign (GTK_LABEL (description), 0);
  gtk_label_set_wrap (GTK_LABEL (description), TRUE);
  gtk_box_append (GTK_BOX (text), description);

  row->status = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (row->status, 0);
  gtk_widget_add_css_class (GTK_WIDGET (row->status), "dim-label");
  gtk_widget_add_css_class (GTK_WIDGET (row->status), "numeric");
  gtk_box_append (GTK_BOX (text), GTK_WIDGET (row->status));

  row->bar = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_progress_bar_set_show_text (row->bar, TRUE);
  gtk_widget_set_margin_top (GTK_WIDGET (row->bar), 4);
  gtk_widget_set_visible (GTK_WIDGET (row->bar), FALSE);
  gtk_box_append (GTK_BOX (text), GTK_WIDGET (row->bar));

  row->error = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (row->error, 0);
  gtk_label_set_wrap (row->error, TRUE);
  gtk_label_set_wrap_mode (row->error, PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (row->error, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (row->error), "error");
  gtk_widget_set_visible (GTK_WIDGET (row->error), FALSE);
  gtk_box_append (GTK_BOX (text), GTK_WIDGET (row->error));

  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_valign (buttons, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (box), buttons);

  row->download_button = gtk_button_new_with_label ("Download");
  gtk_widget_add_css_class (row->download_button, "suggested-action");
  g_signal_connect (row->download_button, "clicked", G_CALLBACK (on_download_clicked), row);
  gtk_box_append (GTK_BOX (buttons), row->download_button);

  row->cancel_button = gtk_button_new_with_label ("Cancel");
  g_signal_connect (row->cancel_button, "clicked", G_CALLBACK (on_cancel_clicked), row);
  gtk_box_append (GTK_BOX (buttons), row->cancel_button);

  row->open_button = gtk_button_new_with_label ("Open");
  g_signal_connect (row->open_button, "clicked", G_CALLBACK (on_open_clicked), row);
  gtk_box_append (GTK_BOX (buttons), row->open_button);

  return box;
}

/* ---- the window ---- */

static void
lam_download_dialog_constructed (GObject *object)
{
  LamDownloadDialog *self = LAM_DOWNLOAD_DIALOG (object);

  G_OBJECT_CLASS (lam_download_dialog_parent_class)->constructed (object);

  const char *const *ids = lam_download_list_datasets ();
  for (guint i = 0; ids[i] != NULL; i++) {
    Row *row = g_new0 (Row, 1);
    row->dialog = self;
    row->download = lam_download_new (ids[i], self->base_dir);
    lam_download_set_system_dir (row->download, self->system_dir);
    g_ptr_array_add (self->rows, row);
    row->progress_id =
      g_signal_connect (row->download, "progress", G_CALLBACK (on_progress), row);
    row->running_id = g_signal_connect (row->download, "notify::running",
                                        G_CALLBACK (on_running_changed), row);
    GtkWidget *widget = row_build (row);
    gtk_list_box_append (GTK_LIST_BOX (self->list), widget);
    gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (gtk_widget_get_parent (widget)), FALSE);
    row_update (row);
  }

  g_autofree char *folder = self->base_dir != NULL
                              ? g_strdup (self->base_dir)
                              : g_build_filename (g_get_user_data_dir (), "lamina", "datasets",
                                                  NULL);
  g_autofree char *shown = display_path (folder);
  g_autofree char *text = g_strdup_printf ("Every file downloaded is checked against the digest "
                                           "its maintainers publish before it is used.\nSaved in "
                                           "%s",
                                           shown);
  gtk_label_set_text (self->folder_label, text);

  /* A dataset the project opens may be one of these. */
  g_signal_connect_object (self->session, "dataset-changed", G_CALLBACK (update_rows), self,
                           G_CONNECT_SWAPPED);
}

/* Closing the dialog cancels its downloads; what came stays in the .part
 * files for a resume. */
static void
lam_download_dialog_unrealize (GtkWidget *widget)
{
  LamDownloadDialog *self = LAM_DOWNLOAD_DIALOG (widget);

  for (guint i = 0; self->rows != NULL && i < self->rows->len; i++) {
    Row *row = g_ptr_array_index (self->rows, i);
    if (row->cancellable != NULL)
      g_cancellable_cancel (row->cancellable);
  }

  GTK_WIDGET_CLASS (lam_download_dialog_parent_class)->unrealize (widget);
}

static void
lam_download_dialog_dispose (GObject *object)
{
  LamDownloadDialog *self = LAM_DOWNLOAD_DIALOG (object);

  g_clear_pointer (&self->rows, g_ptr_array_unref);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (lam_download_dialog_parent_class)->dispose (object);
}

static void
lam_download_dialog_finalize (GObject *object)
{
  LamDownloadDialog *self = LAM_DOWNLOAD_DIALOG (object);

  g_free (self->base_dir);
  g_free (self->system_dir);
  g_free (self->base_url);

  G_OBJECT_CLASS (lam_download_dialog_parent_class)->finalize (object);
}

static void
lam_download_dialog_get_property (GObject *object, guint prop_id, GValue *value,
                                  GParamSpec *pspec)
{
  LamDownloadDialog *self = LAM_DOWNLOAD_DIALOG (object);

  switch (prop_id) {
  case PROP_SESSION:
    g_value_set_object (value, self->session);
    break;
  case PROP_BASE_DIR:
    g_value_set_string (value, self->base_dir);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_download_dialog_set_property (GObject *object, guint prop_id, const GValue *value,
                                  GParamSpec *pspec)
{
  LamDownloadDialog *self = LAM_DOWNLOAD_DIALOG (object);

  switch (prop_id) {
  case PROP_SESSION:
    self->session = g_value_dup_object (value);
    break;
  case PROP_BASE_DIR:
    self->base_dir = g_value_dup_string (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_download_dialog_class_init (LamDownloadDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = lam_download_dialog_constructed;
  object_class->dispose = lam_download_dialog_dispose;
  object_class->finalize = lam_download_dialog_finalize;
  object_class->get_property = lam_download_dialog_get_property;
  object_class->set_property = lam_download_dialog_set_property;
  widget_class->unrealize = lam_download_dialog_unrealize;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, LAM_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS |
                           G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_BASE_DIR] =
    g_param_spec_string ("base-dir", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS |
                           G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
lam_download_dialog_init (LamDownloadDialog *self)
{
  self->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) row_free);
  self->system_dir = g_strdup (LAM_DOWNLOAD_SYSTEM_DIR);

  gtk_window_set_title (GTK_WINDOW (self), "Download a Dataset");
  gtk_window_set_default_size (GTK_WINDOW (self), 640, -1);
  gtk_window_set_destroy_with_parent (GTK_WINDOW (self), TRUE);

  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_widget_set_margin_top (box, 18);
  gtk_widget_set_margin_bottom (box, 18);
  gtk_widget_set_margin_start (box, 18);
  gtk_widget_set_margin_end (box, 18);
  gtk_window_set_child (GTK_WINDOW (self), box);

  self->folder_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->folder_label, 0);
  gtk_label_set_wrap (self->folder_label, TRUE);
  gtk_label_set_wrap_mode (self->folder_label, PANGO_WRAP_WORD_CHAR);
  gtk_widget_add_css_class (GTK_WIDGET (self->folder_label), "dim-label");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->folder_label));

  GtkWidget *frame = gtk_frame_new (NULL);
  gtk_box_append (GTK_BOX (box), frame);
  self->list = gtk_list_box_new ();
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (self->list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (self->list, "rich-list");
  gtk_frame_set_child (GTK_FRAME (frame), self->list);
}

LamDownloadDialog *
lam_download_dialog_new (GtkWindow *parent, LamSession *session, const char *base_dir)
{
  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (LAM_IS_SESSION (session), NULL);

  LamDownloadDialog *self =
    g_object_new (LAM_TYPE_DOWNLOAD_DIALOG, "session", session, "base-dir", base_dir,
                  "transient-for", parent, "modal", parent != NULL, NULL);
  return self;
}

void
lam_download_dialog_present (GtkWindow *parent, LamSession *session)
{
  g_return_if_fail (parent == NULL || GTK_IS_WINDOW (parent));
  g_return_if_fail (LAM_IS_SESSION (session));

  LamDownloadDialog *self = lam_download_dialog_new (parent, session, NULL);
  gtk_window_present (GTK_WINDOW (self));
}

LamSession *
lam_download_dialog_get_project (LamDownloadDialog *self)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD_DIALOG (self), NULL);
  return self->session;
}

void
lam_download_dialog_set_system_dir (LamDownloadDialog *self, const char *dir)
{
  g_return_if_fail (LAM_IS_DOWNLOAD_DIALOG (self));
  g_free (self->system_dir);
  self->system_dir = g_strdup (dir);
  for (guint i = 0; self->rows != NULL && i < self->rows->len; i++) {
    Row *row = g_ptr_array_index (self->rows, i);
    lam_download_set_system_dir (row->download, dir);
  }
  update_rows (self);
}

void
lam_download_dialog_set_base_url (LamDownloadDialog *self, const char *base_url)
{
  g_return_if_fail (LAM_IS_DOWNLOAD_DIALOG (self));
  g_free (self->base_url);
  self->base_url = g_strdup (base_url);
}

const char *
lam_download_dialog_get_status (LamDownloadDialog *self, const char *dataset_id)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD_DIALOG (self), NULL);
  Row *row = find_row (self, dataset_id);
  g_return_val_if_fail (row != NULL, NULL);
  return gtk_label_get_text (row->status);
}

const char *
lam_download_dialog_get_error (LamDownloadDialog *self, const char *dataset_id)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD_DIALOG (self), NULL);
  Row *row = find_row (self, dataset_id);
  g_return_val_if_fail (row != NULL, NULL);
  return gtk_widget_get_visible (GTK_WIDGET (row->error)) ? gtk_label_get_text (row->error)
                                                          : NULL;
}

const char *
lam_download_dialog_get_progress (LamDownloadDialog *self, const char *dataset_id)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD_DIALOG (self), NULL);
  Row *row = find_row (self, dataset_id);
  g_return_val_if_fail (row != NULL, NULL);
  return gtk_widget_get_visible (GTK_WIDGET (row->bar)) ? gtk_progress_bar_get_text (row->bar)
                                                        : NULL;
}

gboolean
lam_download_dialog_activate (LamDownloadDialog *self, const char *dataset_id,
                              const char *button)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD_DIALOG (self), FALSE);
  Row *row = find_row (self, dataset_id);
  g_return_val_if_fail (row != NULL, FALSE);
  GtkWidget *widget = NULL;
  if (g_strcmp0 (button, "download") == 0)
    widget = row->download_button;
  else if (g_strcmp0 (button, "cancel") == 0)
    widget = row->cancel_button;
  else if (g_strcmp0 (button, "open") == 0)
    widget = row->open_button;
  g_return_val_if_fail (widget != NULL, FALSE);
  if (!gtk_widget_get_visible (widget) || !gtk_widget_get_sensitive (widget))
    return FALSE;
  g_signal_emit_by_name (widget, "clicked");
  return TRUE;
}
