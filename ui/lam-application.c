#include "lam-application.h"

#include "lam-data-page.h"
#include "lam-ui-util.h"
#include "lam-window.h"
#include "lamina-config.h"

struct _LamApplication
{
  GtkApplication parent_instance;

  char *data_dir; /* owned, NULL for the default dataset */
  GSettings *settings; /* owned, NULL when the schema is not installed */
  gboolean open_failed;
};

G_DEFINE_FINAL_TYPE (LamApplication, lam_application, GTK_TYPE_APPLICATION)

static void
remember_dataset (LamSession *session, GParamSpec *pspec, GSettings *settings)
{
  const char *dir = lam_session_get_dataset_dir (session);
  g_settings_set_string (settings, "last-dataset-folder", dir ? dir : "");
}

static LamWindow *
new_window (LamApplication *self)
{
  g_autoptr (LamSession) session = lam_session_new ();
  LamWindow *window = lam_window_new (GTK_APPLICATION (self), session);
  if (self->settings != NULL)
    g_signal_connect_object (session, "notify::dataset-dir", G_CALLBACK (remember_dataset),
                             self->settings, 0);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static void
load_start_dataset (LamApplication *self, LamWindow *window)
{
  /* The folder given on the command line, else the one opened last if it
   * is still there, else the default Fashion-MNIST. */
  g_autofree char *last = self->settings ? g_settings_get_string (self->settings,
                                                                  "last-dataset-folder")
                                         : NULL;
  const char *dir = self->data_dir;
  if (dir == NULL && last != NULL && *last != '\0' && g_file_test (last, G_FILE_TEST_IS_DIR))
    dir = last;
  if (dir == NULL)
    dir = LAM_DATASET_DEFAULT_DIR;
  /* Through the Data page, so a missing or broken dataset is explained there. */
  lam_data_page_load_folder (LAM_DATA_PAGE (lam_window_get_page (window, "data")), dir);
}

static void
lam_application_activate (GApplication *application)
{
  LamApplication *self = LAM_APPLICATION (application);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  if (window != NULL) {
    gtk_window_present (window);
    return;
  }
  load_start_dataset (self, new_window (self));
}

/* A project given to the application, read on a thread in `window`. */
typedef struct
{
  LamApplication *self; /* owned */
  gboolean fresh;       /* the window was made for it */
} OpenCall;

/* A file that did not open is said on stderr and in the exit status
 * (lam_application_get_open_failed); a window made for it still opens on
 * a dataset. An open cancelled because its window was disposed has no
 * window left to open a dataset in, and nothing failed. */
static void
on_file_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LamWindow *window = LAM_WINDOW (source);
  OpenCall *call = user_data;
  g_autoptr (LamApplication) self = call->self;
  gboolean fresh = call->fresh;
  g_free (call);
  g_autoptr (GError) error = NULL;
  if (lam_window_open_file_finish (window, result, &error) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_printerr ("lamina: %s\n", error->message);
  self->open_failed = TRUE;
  if (fresh)
    load_start_dataset (self, window);
}

/* Project files from the command line or a file manager. The first opens
 * in the window there is, asking first over unsaved work, as Open Project
 * does; any others in windows of their own. Each is read on a thread, so
 * a large one does not stop the window drawing; a fresh window says
 * "Opening “name.lamina”…" meanwhile. */
static void
lam_application_open (GApplication *application, GFile **files, int n_files, const char *hint)
{
  LamApplication *self = LAM_APPLICATION (application);
  for (int i = 0; i < n_files; i++) {
    GtkWindow *active = i == 0 ? gtk_application_get_active_window (GTK_APPLICATION (self))
                               : NULL;
    gboolean fresh = !LAM_IS_WINDOW (active);
    LamWindow *window = fresh ? new_window (self) : LAM_WINDOW (active);
    if (!fresh)
      gtk_window_present (GTK_WINDOW (window));
    OpenCall *call = g_new0 (OpenCall, 1);
    call->self = g_object_ref (self);
    call->fresh = fresh;
    lam_window_open_file_async (window, files[i], on_file_opened, call);
  }
}

static void
action_quit (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GApplication *application = user_data;
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (application));
  /* Closing (not destroying) lets a window with unsaved work ask first; the
   * application ends with its last window, and the pages stop their
   * training threads as they go. */
  for (GList *l = windows; l != NULL;) {
    GList *next = l->next;
    gtk_window_close (GTK_WINDOW (l->data));
    l = next;
  }
}

static void
action_about (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (user_data));
  gtk_show_about_dialog (window, "program-name", "Lamina", "version", LAMINA_VERSION,
                         "comments",
                         "Build a neural network, train it, and see what it learned.",
                         "logo-icon-name", "org.lamina.Lamina", "license-type",
                         GTK_LICENSE_MIT_X11, NULL);
}

static void
action_dark_style (GSimpleAction *action, GVariant *state, gpointer user_data)
{
  LamApplication *self = user_data;
  g_simple_action_set_state (action, state);
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme",
                g_variant_get_boolean (state), NULL);
  if (self->settings != NULL)
    g_settings_set_boolean (self->settings, "dark-style", g_variant_get_boolean (state));
}

static void
lam_application_startup (GApplication *application)
{
  LamApplication *self = LAM_APPLICATION (application);
  G_APPLICATION_CLASS (lam_application_parent_class)->startup (application);

  static const GActionEntry entries[] = {
    { "quit", action_quit, NULL, NULL, NULL },
    { "about", action_about, NULL, NULL, NULL },
    { "dark-style", NULL, NULL, "false", action_dark_style },
  };
  g_action_map_add_action_entries (G_ACTION_MAP (application), entries, G_N_ELEMENTS (entries),
                                   application);
  self->settings = lam_ui_settings_new ();
  if (self->settings != NULL && g_settings_get_boolean (self->settings, "dark-style"))
    g_action_group_change_action_state (G_ACTION_GROUP (application), "dark-style",
                                        g_variant_new_boolean (TRUE));
  const char *quit_accels[] = { "<Control>q", NULL };
  gtk_application_set_accels_for_action (GTK_APPLICATION (application), "app.quit", quit_accels);


}

static void
lam_application_finalize (GObject *object)
{
  LamApplication *self = LAM_APPLICATION (object);
  g_clear_pointer (&self->data_dir, g_free);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (lam_application_parent_class)->finalize (object);
}

static void
lam_application_class_init (LamApplicationClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lam_application_finalize;
  G_APPLICATION_CLASS (klass)->activate = lam_application_activate;
  G_APPLICATION_CLASS (klass)->open = lam_application_open;
  G_APPLICATION_CLASS (klass)->startup = lam_application_startup;
}

static void
lam_application_init (LamApplication *self)
{
}

LamApplication *
lam_application_new (const char *data_dir)
{
  /* Non-unique: a classroom machine may run a lesson's window beside a
   * student's own, and no session bus is needed; so `lamina other.lamina`
   * opens a window of its own too. */
  LamApplication *self = g_object_new (LAM_TYPE_APPLICATION, "application-id",
                                       "org.lamina.Lamina", "flags",
                                       G_APPLICATION_NON_UNIQUE | G_APPLICATION_HANDLES_OPEN,
                                       NULL);
  self->data_dir = g_strdup (data_dir);
  return self;
}

gboolean
lam_application_get_open_failed (LamApplication *self)
{
  g_return_val_if_fail (LAM_IS_APPLICATION (self), FALSE);
  return self->open_failed;
}
