/* Projects from the window under Xvfb: a run is saved, the project opens in
 * a fresh window with its model, settings, history, weights and title mark,
 * training continues from where it was saved, and unsaved work is guarded
 * by a prompt. New Project goes back to a fresh window's lesson; project
 * files given to the application (the command line, a file manager) open
 * in the window, through the same prompt, and a bad one is explained.
 * Saves window-project.png, window-new-project.png, window-open-file.png,
 * window-open-bad.png, window-opening.png, window-opened.png,
 * window-opening-long-name.png and window-open-broken-fallback.png into the
 * build's tests folder. */
#include <gtk/gtk.h>
#include <glib/gstdio.h>
#include <string.h>

#include "lam-application.h"
#include "lam-checkpoint.h"
#include "lam-device.h"
#include "lam-evaluate-page.h"
#include "lam-model-page.h"
#include "lam-project-file.h"
#include "lam-test-session.h"
#include "lam-test-util.h"
#include "lam-train-page.h"
#include "lam-ui-util.h"
#include "lam-window.h"

static gboolean have_data;
static char *tmp_dir;

static void
iterate_until (gboolean (*done) (gpointer), gpointer data, int timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (!done (data) && g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

static void
settle (int ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

static GtkWidget *
find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++) {
    g_autoptr (GtkWidget) item = g_list_model_get_item (toplevels, i);
    if (G_TYPE_CHECK_INSTANCE_TYPE (item, type) && gtk_widget_get_visible (item))
      return item;
  }
  return NULL;
}

static gboolean
toplevel_shown (gpointer type)
{
  GtkWidget *found = find_toplevel ((GType) GPOINTER_TO_SIZE (type));
  return found != NULL && gtk_widget_get_mapped (found) && gtk_widget_get_width (found) > 0;
}

/* The window of type once it is shown and laid out, or NULL after 10 s:
 * on a loaded machine a dialog takes far longer than a settle. */
static GtkWidget *
wait_for_toplevel (GType type)
{
  iterate_until (toplevel_shown, GSIZE_TO_POINTER (type), 10000);
  settle (100);
  return find_toplevel (type);
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

/* No save or open is running on its thread. */
static gboolean
file_idle (gpointer data)
{
  return !lam_window_get_file_busy (LAM_WINDOW (data));
}

static gboolean
state_is_idle (gpointer data)
{
  return lam_session_get_state (session_of (LAM_TRAIN_PAGE (data))) == LAM_TRAIN_STATE_IDLE;
}

typedef struct
{
  LamTrainPage *page;
  gint64 step;
} StepWait;

static gboolean
step_reached (gpointer data)
{
  StepWait *wait = data;
  return lam_session_get_step (session_of (wait->page)) >= wait->step;
}

static gboolean
dataset_ready (gpointer data)
{
  LamSession *session = data;
  return lam_session_get_has_dataset (session) && !lam_session_get_loading (session);
}

static void
on_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  have_data = lam_session_load_dataset_finish (LAM_SESSION (source), result, &error);
  if (!have_data)
    g_test_message ("dataset: %s", error->message);
  *(gboolean *) user_data = TRUE;
}

static gboolean
window_laid_out (gpointer data)
{
  GtkWidget *window = data;
  return gtk_widget_get_mapped (window) && gtk_widget_get_width (window) > 0 &&
         gtk_widget_get_height (window) > 0;
}

/* While something runs: drawn once laid out, before it ends. After a
 * fixed 50 ms, lam_ui_save_png once refused the window in a fresh Debian
 * root's run (a window not yet shown has no size): a just presented
 * window may take longer on a loaded machine. */
static void
save_png_now (LamWindow *window, const char *name)
{
  settle (50);
  g_assert_true (lam_test_iterate_until (window_laid_out, window, 20000));
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
  g_autoptr (GError) error = NULL;
  gboolean saved = lam_ui_save_png (GTK_WIDGET (window), path, &error);
  g_assert_no_error (error);
  g_assert_true (saved);
  g_test_message ("saved %s", path);
}

static void
save_png (LamWindow *window, const char *name)
{
  settle (250);
  save_png_now (window, name);
}

static LamWindow *
new_window (LamSession *session)
{
  LamWindow *window = lam_window_new (NULL, session);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 820);
  gtk_window_present (GTK_WINDOW (window));
  settle (300);
  return window;
}

static gboolean
title_marked (LamWindow *window)
{
  return strstr (gtk_window_get_title (GTK_WINDOW (window)), "•") != NULL;
}

/* Steps from idle (a paused run) until `steps`, then stops. */
static void
train_steps (LamWindow *window, gint64 steps)
{
  LamTrainPage *page = LAM_TRAIN_PAGE (lam_window_get_page (window, "train"));
  lam_window_show_page (window, "train");
  activate (page, "step");
  StepWait wait = { page, lam_session_get_step (session_of (page)) + 1 };
  iterate_until (step_reached, &wait, 30000);
  while (lam_session_get_step (session_of (page)) < steps) {
    g_assert_cmpint (lam_session_get_state (session_of (page)), !=, LAM_TRAIN_STATE_IDLE);
    activate (page, "step");
    wait.step = lam_session_get_step (session_of (page)) + 1;
    iterate_until (step_reached, &wait, 30000);
  }
  g_assert_cmpint (lam_session_get_step (session_of (page)), ==, steps);
  activate (page, "stop");
  iterate_until (state_is_idle, page, 30000);
  g_assert_cmpint (lam_session_get_state (session_of (page)), ==, LAM_TRAIN_STATE_IDLE);
}

static void
test_save_reopen_continue (void)
{
  if (!have_data) {
    g_test_skip ("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist");
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (LamSession) session = lam_session_new ();
  gboolean loaded = FALSE;
  lam_session_load_dataset_async (session, LAM_DATASET_DEFAULT_DIR, NULL, on_loaded, &loaded);
  iterate_until (flag_set, &loaded, 60000);
  LamWindow *window = new_window (session);
  g_assert_false (title_marked (window));
  g_assert_false (lam_session_get_modified (session));

  /* An edit of the model marks the project; so does a run. */
  LamModelPage *model = LAM_MODEL_PAGE (lam_window_get_page (window, "model"));
  lam_model_page_load_preset (model, "mlp-32");
  settle (100);
  g_assert_true (lam_session_get_modified (session));
  g_assert_true (title_marked (window));
  int n_layers = lam_model_page_get_n_layers (model);
  LamTrainPage *train = LAM_TRAIN_PAGE (lam_window_get_page (window, "train"));
  g_object_set (session_of (train), "lr", (double) 0.002, NULL);
  train_steps (window, 3);
  const LamProjectRun *run = lam_session_get_current_run (session_of (train));
  g_assert_nonnull (run);
  g_assert_cmpuint (run->steps->len, ==, 3);
  double last_loss = g_array_index (run->steps, LamRunStep, 2).loss;

  g_autofree char *path = g_build_filename (tmp_dir, "lesson.lamina", NULL);
  g_assert_true (lam_window_save_project (window, path, &error));
  g_assert_no_error (error);
  g_assert_false (lam_session_get_modified (session));
  g_assert_false (title_marked (window));
  g_assert_nonnull (strstr (gtk_window_get_title (GTK_WINDOW (window)), "lesson.lamina"));
  gsize n_weights = 0;
  const float *w = lam_session_get_weights (session, &n_weights);
  g_assert_nonnull (w);
  g_autofree float *saved_weights = g_memdup2 (w, n_weights * sizeof (float));

  /* Reopened into a fresh window and project. */
  g_autoptr (LamSession) project2 = lam_session_new ();
  LamWindow *window2 = new_window (project2);
  g_autofree char *warning = NULL;
  g_assert_true (lam_window_open_project (window2, path, &warning, &error));
  g_assert_no_error (error);
  g_assert_null (warning);
  iterate_until (dataset_ready, project2, 60000);
  settle (200);
  g_assert_true (lam_session_get_has_dataset (project2));
  g_assert_cmpstr (lam_session_get_dataset_dir (project2), ==, LAM_DATASET_DEFAULT_DIR);
  g_assert_false (lam_session_get_modified (project2));
  g_assert_false (title_marked (window2));
  g_assert_cmpstr (lam_session_get_file_path (project2), ==, path);

  LamModelPage *model2 = LAM_MODEL_PAGE (lam_window_get_page (window2, "model"));
  g_assert_cmpint (lam_model_page_get_n_layers (model2), ==, n_layers);
  g_autofree char *a = lam_model_spec_to_text (lam_session_get_spec (session));
  g_autofree char *b = lam_model_spec_to_text (lam_session_get_spec (project2));
  g_assert_cmpstr (a, ==, b);
  g_assert_cmpfloat (lam_session_get_config (project2)->optimizer.lr, ==, 0.002);

  LamTrainPage *train2 = LAM_TRAIN_PAGE (lam_window_get_page (window2, "train"));
  const LamProjectRun *run2 = lam_session_get_current_run (session_of (train2));
  g_assert_nonnull (run2);
  g_assert_cmpuint (run2->steps->len, ==, 3);
  g_assert_cmpfloat (g_array_index (run2->steps, LamRunStep, 2).loss, ==, last_loss);
  g_assert_cmpuint (lam_chart_get_n_series (lam_train_page_get_loss_chart (train2)), >=, 2);
  gsize n2 = 0;
  const float *weights2 = lam_session_get_weights (project2, &n2);
  g_assert_cmpuint (n2, ==, n_weights);
  g_assert_cmpmem (weights2, n2 * 4, saved_weights, n_weights * 4);
  g_assert_cmpint (lam_session_get_step (session_of (train2)), ==, 3);

  /* Start continues the saved run: step 4 follows step 3 in the same run. */
  g_assert_true (lam_session_get_continue_run (session_of (train2)));
  train_steps (window2, 4);
  run2 = lam_session_get_current_run (session_of (train2));
  g_assert_cmpuint (run2->steps->len, ==, 4);
  g_assert_true (lam_session_get_modified (project2));
  g_assert_true (title_marked (window2));
  save_png (window2, "window-project.png");

  /* The history as CSV. */
  g_autofree char *csv = g_build_filename (tmp_dir, "history.csv", NULL);
  g_assert_true (lam_window_export_csv (window2, csv, &error));
  g_assert_no_error (error);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  g_assert_true (g_str_has_prefix (text, "kind,epoch,train_loss"));
  g_auto (GStrv) parts = g_strsplit (text, "\nstep,", -1);
  g_assert_cmpuint (g_strv_length (parts) - 1, ==, 4);

  /* A fresh start is still there: untick Continue, and a new run begins. */
  lam_session_set_continue_run (session_of (train2), FALSE);
  train_steps (window2, 1);
  g_assert_cmpuint (lam_session_get_current_run (session_of (train2))->steps->len, ==, 1);
  g_assert_cmpint (lam_session_get_current_run (session_of (train2))->number, ==, 2);

  /* A corrupt project is refused and nothing open changes. */
  g_autofree char *bad = g_build_filename (tmp_dir, "bad.lamina", NULL);
  g_assert_true (g_file_set_contents (bad, "{\"format\": \"lamina-project\", \"version\": 1,",
                                      -1, NULL));
  g_assert_false (lam_window_open_project (window2, bad, NULL, &error));
  g_assert_error (error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "bad.lamina"));
  g_clear_error (&error);
  g_assert_cmpstr (lam_session_get_file_path (project2), ==, path);
  g_assert_true (lam_session_get_modified (project2));

  /* Closing over unsaved work asks first; Cancel keeps the window. */
  gtk_window_close (GTK_WINDOW (window2));
  settle (100);
  GtkWidget *prompt = lam_window_get_prompt (window2);
  g_assert_nonnull (prompt);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window2)));
  gtk_dialog_response (GTK_DIALOG (prompt), GTK_RESPONSE_CANCEL);
  settle (100);
  g_assert_null (lam_window_get_prompt (window2));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window2)));

  /* Save from the prompt writes the project, then the window closes. */
  g_object_ref (window2);
  gtk_window_close (GTK_WINDOW (window2));
  settle (100);
  prompt = lam_window_get_prompt (window2);
  g_assert_nonnull (prompt);
  gtk_dialog_response (GTK_DIALOG (prompt), GTK_RESPONSE_ACCEPT);
  iterate_until (file_idle, window2, 30000);
  settle (200);
  g_assert_false (lam_session_get_modified (project2));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (window2)));
  g_autoptr (LamProjectFile) reread = lam_project_file_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (reread->runs->len, ==, 2);
  g_object_unref (window2);

  gtk_window_destroy (GTK_WINDOW (window));
}

/* A save that stopped after its commit point (the new project file is in
 * place, the new weights still under their hidden name): opening it from
 * the window finishes the save and tells the user in an information
 * dialog, not an error. */
static void
test_interrupted_save_reported (void)
{
  g_autoptr (GError) error = NULL;
  LamProjectFile *file = lam_project_file_new ();
  file->spec = lam_model_spec_preset ("mlp", NULL);
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (file->spec, NULL);
  g_autofree float *params = g_new0 (float, plan->n_params);
  for (gsize i = 0; i < plan->n_params; i++)
    params[i] = (float) (i % 13) / 100.0f;
  float mean[3] = { 0.286f, 0, 0 }, std[3] = { 0.353f, 1, 1 };
  lam_project_file_set_weights (file, params, plan->n_params, 1, mean, std);
  g_free (file->device);
  file->device = g_strdup ("cpu");
  file->dataset_dir = g_strdup (LAM_DATASET_DEFAULT_DIR);
  g_autofree char *path = g_build_filename (tmp_dir, "stopped.lamina", NULL);
  g_assert_true (lam_project_file_save (file, path, &error));
  g_assert_no_error (error);
  lam_project_file_free (file);

  /* Put the weights back where the save wrote them before its last step. */
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  const char *id_at = strstr (text, "\"save_id\" : \"");
  g_assert_nonnull (id_at);
  g_autofree char *id = g_strndup (id_at + strlen ("\"save_id\" : \""), 36);
  g_autofree char *weights = g_build_filename (tmp_dir, "stopped.safetensors", NULL);
  g_autofree char *hidden_name = g_strdup_printf (".stopped.safetensors.%s", id);
  g_autofree char *hidden = g_build_filename (tmp_dir, hidden_name, NULL);
  g_assert_cmpint (g_rename (weights, hidden), ==, 0);

  g_autoptr (LamSession) session = lam_session_new ();
  LamWindow *window = new_window (session);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.open-recent", "s", path);
  settle (500);
  GtkWidget *dialog = NULL;
  GListModel *toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels) && dialog == NULL; i++) {
    g_autoptr (GObject) item = g_list_model_get_item (toplevels, i);
    if (GTK_IS_MESSAGE_DIALOG (item))
      dialog = GTK_WIDGET (item);
  }
  g_assert_nonnull (dialog);
  GtkMessageType type;
  g_autofree char *primary = NULL, *secondary = NULL;
  g_object_get (dialog, "message-type", &type, "text", &primary, "secondary-text", &secondary,
                NULL);
  g_assert_cmpint (type, ==, GTK_MESSAGE_INFO);
  g_assert_cmpstr (primary, ==, "The project was opened");
  g_assert_nonnull (strstr (secondary, "interrupted"));
  g_assert_nonnull (strstr (secondary, "moved into place"));
  settle (300);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *png = g_build_filename (dir ? dir : ".", "window-interrupted-save.png", NULL);
  g_assert_true (lam_ui_save_png (dialog, png, &error));
  g_assert_no_error (error);
  gtk_window_destroy (GTK_WINDOW (dialog));

  /* The weights are in place and the hidden copy is gone. */
  g_assert_true (g_file_test (weights, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (hidden, G_FILE_TEST_EXISTS));
  gsize n = 0;
  const float *loaded = lam_session_get_weights (session, &n);
  g_assert_nonnull (loaded);
  g_assert_cmpmem (loaded, n * sizeof (float), params, plan->n_params * sizeof (float));
  lam_session_set_modified (session, FALSE);
  gtk_window_destroy (GTK_WINDOW (window));
  g_remove (path);
  g_remove (weights);
}

/* A project whose weights a diverged run saved opens, says why it has no
 * weights, and is trained afresh: nothing NaN reaches the session. */
static void
test_diverged_weights_reported (void)
{
  g_autoptr (GError) error = NULL;
  LamProjectFile *file = lam_project_file_new ();
  file->spec = lam_model_spec_preset ("mlp", NULL);
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (file->spec, NULL);
  g_autofree float *params = g_new0 (float, plan->n_params);
  params[plan->n_params / 2] = NAN;
  float mean[3] = { 0.286f, 0, 0 }, std[3] = { 0.353f, 1, 1 };
  lam_project_file_set_weights (file, params, plan->n_params, 1, mean, std);
  g_free (file->device);
  file->device = g_strdup ("cpu");
  file->dataset_dir = g_strdup (LAM_DATASET_DEFAULT_DIR);
  g_autofree char *path = g_build_filename (tmp_dir, "diverged.lamina", NULL);
  g_assert_true (lam_project_file_save (file, path, &error));
  g_assert_no_error (error);
  lam_project_file_free (file);

  g_autoptr (LamSession) session = lam_session_new ();
  LamWindow *window = new_window (session);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.open-recent", "s", path);
  GtkWidget *dialog = wait_for_toplevel (GTK_TYPE_MESSAGE_DIALOG);
  g_assert_nonnull (dialog);
  g_autofree char *primary = NULL, *secondary = NULL;
  g_object_get (dialog, "text", &primary, "secondary-text", &secondary, NULL);
  g_assert_cmpstr (primary, ==, "The project was opened");
  g_assert_nonnull (strstr (secondary, "NaN"));
  g_assert_nonnull (strstr (
    secondary, "at a lower learning rate. diverged.lamina opened without its trained weights."));
  settle (300);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *png = g_build_filename (dir ? dir : ".", "window-diverged-weights.png", NULL);
  g_assert_true (lam_ui_save_png (dialog, png, &error));
  g_assert_no_error (error);
  gtk_window_destroy (GTK_WINDOW (dialog));

  g_assert_null (lam_session_get_weights (session, NULL));
  g_autofree char *spec = lam_model_spec_to_text (lam_session_get_spec (session));
  g_autoptr (LamModelSpec) mlp = lam_model_spec_preset ("mlp", NULL);
  g_autofree char *want = lam_model_spec_to_text (mlp);
  g_assert_cmpstr (spec, ==, want);
  lam_session_set_modified (session, FALSE);
  gtk_window_destroy (GTK_WINDOW (window));
  g_autofree char *weights = g_build_filename (tmp_dir, "diverged.safetensors", NULL);
  g_remove (path);
  g_remove (weights);
}

/* Save As with a name typed without ".lamina": the chooser asked about
 * "other", not about the project "other.lamina" that the save would
 * replace, so the window asks before it does. The name is handed over as
 * the chooser's response hands it; GTK's chooser itself is not driven. */
static void
test_save_as_asks_before_replacing (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("lamina-save-as-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *other = g_build_filename (dir, "other.lamina", NULL);
  g_autoptr (LamProjectFile) theirs = lam_project_file_new ();
  theirs->spec = lam_model_spec_preset ("logistic-regression", NULL);
  g_assert_true (lam_project_file_save (theirs, other, &error));
  g_assert_no_error (error);
  g_autofree char *before = NULL;
  g_assert_true (g_file_get_contents (other, &before, NULL, NULL));

  g_autoptr (LamSession) session = lam_session_new ();
  LamWindow *window = new_window (session);
  for (int attempt = 0; attempt < 2; attempt++) {
    /* As the chooser's Save hands it over (the chooser itself is GTK's). */
    g_autofree char *typed = g_build_filename (dir, "other", NULL);
    lam_window_save_as_chosen (window, typed);
    GtkWidget *ask = wait_for_toplevel (GTK_TYPE_MESSAGE_DIALOG);
    g_assert_nonnull (ask);
    g_autofree char *primary = NULL;
    g_object_get (ask, "text", &primary, NULL);
    g_assert_cmpstr (primary, ==, "Replace “other.lamina”?");
    if (attempt == 0) {
      const char *built = g_getenv ("G_TEST_BUILDDIR");
      g_autofree char *png =
        g_build_filename (built ? built : ".", "window-save-as-replace.png", NULL);
      g_assert_true (lam_ui_save_png (ask, png, &error));
      g_assert_no_error (error);
      gtk_dialog_response (GTK_DIALOG (ask), GTK_RESPONSE_CANCEL);
      settle (200);
      g_autofree char *after = NULL;
      g_assert_true (g_file_get_contents (other, &after, NULL, NULL));
      g_assert_cmpstr (after, ==, before);
      g_assert_null (lam_session_get_file_path (session));
    } else {
      gtk_dialog_response (GTK_DIALOG (ask), GTK_RESPONSE_ACCEPT);
      iterate_until (file_idle, window, 30000);
      settle (300);
      g_assert_cmpstr (lam_session_get_file_path (session), ==, other);
      g_autoptr (LamProjectFile) mine = lam_project_file_load (other, &error);
      g_assert_no_error (error);
      g_autofree char *spec = lam_model_spec_to_text (mine->spec);
      g_autofree char *session_spec = lam_model_spec_to_text (lam_session_get_spec (session));
      g_assert_cmpstr (spec, ==, session_spec);
    }
  }
  gtk_window_destroy (GTK_WINDOW (window));
  lam_test_remove_tree (dir);
}

/* A checkpoint opens as a new project made from it: Save asks where,
 * rather than writing a project over the checkpoint's weights. */
static void
test_checkpoint_opens_untitled (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("lamina-checkpoint-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "m.safetensors", NULL);
  LamCheckpointInfo info = { .spec = lam_model_spec_preset ("logistic-regression", NULL),
                             .n_channels = 1,
                             .mean = { 0.286f },
                             .std = { 0.353f } };
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (info.spec, NULL);
  g_autofree float *params = g_new0 (float, plan->n_params);
  g_assert_true (lam_checkpoint_save (path, plan, &info, params, &error));
  g_assert_no_error (error);
  lam_model_spec_free (info.spec);
  g_autofree char *before = NULL;
  gsize before_size;
  g_assert_true (g_file_get_contents (path, &before, &before_size, NULL));

  g_autoptr (LamSession) session = lam_session_new ();
  LamWindow *window = new_window (session);
  g_autofree char *warning = NULL;
  g_assert_true (lam_window_open_project (window, path, &warning, &error));
  g_assert_no_error (error);
  g_assert_nonnull (lam_session_get_weights (session, NULL));
  g_assert_null (lam_session_get_file_path (session));
  /* Untitled, Save asks for a name (save_or_choose) rather than writing. */
  g_autofree char *after = NULL;
  gsize after_size;
  g_assert_true (g_file_get_contents (path, &after, &after_size, NULL));
  g_assert_cmpmem (after, after_size, before, before_size);
  g_autofree char *beside = g_build_filename (dir, "m.safetensors.safetensors", NULL);
  g_assert_false (g_file_test (beside, G_FILE_TEST_EXISTS));
  gtk_window_destroy (GTK_WINDOW (window));
  lam_test_remove_tree (dir);
}

/* A tiny IDX dataset: three classes of 8×8 bars, so these cases train in
 * a moment and need no installed dataset. */
static void
write_bars (const char *dir, const char *prefix, int n, guint32 seed)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  g_autofree guint8 *images = g_new (guint8, (gsize) n * 64);
  g_autofree guint8 *labels = g_new (guint8, n);
  for (int i = 0; i < n; i++) {
    int label = g_rand_int_range (rng, 0, 3);
    labels[i] = (guint8) label;
    for (int p = 0; p < 64; p++)
      images[i * 64 + p] = (guint8) (g_rand_int_range (rng, 0, 80) +
                                     (p / 8 == label * 3 ? 170 : 0));
  }
  g_autofree char *images_name = g_strdup_printf ("%s-images-idx3-ubyte", prefix);
  g_autofree char *labels_name = g_strdup_printf ("%s-labels-idx1-ubyte", prefix);
  g_autofree char *images_path = g_build_filename (dir, images_name, NULL);
  g_autofree char *labels_path = g_build_filename (dir, labels_name, NULL);
  guint32 image_dims[] = { n, 8, 8 };
  guint32 label_dims[] = { n };
  lam_test_write_idx (images_path, 0x803, 3, image_dims, images, (gsize) n * 64);
  lam_test_write_idx (labels_path, 0x801, 1, label_dims, labels, n);
}

static char *
make_bars_dir (const char *name)
{
  char *dir = g_build_filename (tmp_dir, name, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  write_bars (dir, "train", 600, 1);
  write_bars (dir, "t10k", 200, 2);
  return dir;
}

static void
on_loaded_ok (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_session_load_dataset_finish (LAM_SESSION (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static gboolean
evaluated (gpointer data)
{
  LamEvaluation *evaluation = data;
  return lam_evaluation_get_result (evaluation) != NULL && !lam_evaluation_get_busy (evaluation);
}

typedef struct
{
  LamSession *session;
  const char *dir;
} DatasetWait;

static gboolean
dataset_is (gpointer data)
{
  DatasetWait *wait = data;
  return dataset_ready (wait->session) &&
         g_strcmp0 (lam_session_get_dataset_dir (wait->session), wait->dir) == 0;
}

/* The layers alone: the input follows the dataset. */
static char *
spec_text (const LamModelSpec *spec)
{
  g_autoptr (LamModelSpec) copy = lam_model_spec_copy (spec);
  copy->has_input = FALSE;
  return lam_model_spec_to_text (copy);
}

static char *
preset_text (const char *name)
{
  g_autoptr (LamModelSpec) spec = lam_model_spec_preset (name, NULL);
  g_assert_nonnull (spec);
  return spec_text (spec);
}

/* The message dialog a window shows, or NULL. */
static GtkWidget *
find_message_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++) {
    g_autoptr (GObject) item = g_list_model_get_item (toplevels, i);
    if (GTK_IS_MESSAGE_DIALOG (item) && gtk_widget_get_visible (GTK_WIDGET (item)))
      return GTK_WIDGET (item);
  }
  return NULL;
}

static char *
prompt_secondary_text (LamWindow *window)
{
  char *secondary = NULL;
  g_object_get (lam_window_get_prompt (window), "secondary-text", &secondary, NULL);
  return secondary;
}

/* New Project: back to the lesson a fresh window starts with — the default
 * model and settings, no runs, no weights, untitled, the default dataset
 * when it is installed — after asking over unsaved work. */
static void
test_new_project (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *bars = make_bars_dir ("bars-new");
  g_autoptr (LamSession) session = lam_session_new ();
  gboolean loaded = FALSE;
  lam_session_load_dataset_async (session, bars, NULL, on_loaded_ok, &loaded);
  iterate_until (flag_set, &loaded, 30000);
  g_assert_true (loaded);
  LamWindow *window = new_window (session);

  /* What a fresh window holds, to come back to. */
  g_autofree char *fresh_spec = spec_text (lam_session_get_spec (session));
  g_autofree char *mlp = preset_text ("mlp");
  g_assert_cmpstr (fresh_spec, ==, mlp);
  const LamTrainerConfig fresh = *lam_session_get_config (session);
  LamModelPage *model = LAM_MODEL_PAGE (lam_window_get_page (window, "model"));
  int fresh_layers = lam_model_page_get_n_layers (model);

  /* A lesson: another model, another rate, a run with weights and an
   * evaluation of them, saved. */
  lam_model_page_load_preset (model, "mlp-32");
  LamTrainPage *train = LAM_TRAIN_PAGE (lam_window_get_page (window, "train"));
  g_object_set (session_of (train), "lr", (double) 0.05, NULL);
  lam_session_set_continue_run (session_of (train), FALSE);
  train_steps (window, 2);
  g_assert_nonnull (lam_session_get_current_run (session_of (train)));
  g_assert_nonnull (lam_session_get_weights (session, NULL));
  LamEvaluation *evaluation = lam_evaluate_page_get_evaluation (
    LAM_EVALUATE_PAGE (lam_window_get_page (window, "evaluate")));
  iterate_until (evaluated, evaluation, 30000);
  g_assert_nonnull (lam_evaluation_get_result (evaluation));
  g_autofree char *path = g_build_filename (tmp_dir, "before-new.lamina", NULL);
  g_assert_true (lam_window_save_project (window, path, &error));
  g_assert_no_error (error);
  g_assert_false (lam_session_get_modified (session));

  /* An unsaved edit: New Project asks, and Cancel changes nothing. */
  lam_model_page_load_preset (model, "logistic-regression");
  settle (100);
  g_assert_true (lam_session_get_modified (session));
  g_autofree char *edited = spec_text (lam_session_get_spec (session));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.new-project", NULL));
  settle (100);
  g_assert_nonnull (lam_window_get_prompt (window));
  g_autofree char *secondary = prompt_secondary_text (window);
  g_assert_nonnull (strstr (secondary, "lost when a new project starts"));
  gtk_dialog_response (GTK_DIALOG (lam_window_get_prompt (window)), GTK_RESPONSE_CANCEL);
  settle (100);
  g_assert_null (lam_window_get_prompt (window));
  g_assert_true (lam_session_get_modified (session));
  g_assert_cmpstr (lam_session_get_file_path (session), ==, path);
  g_autofree char *still = spec_text (lam_session_get_spec (session));
  g_assert_cmpstr (still, ==, edited);
  g_assert_nonnull (lam_session_get_current_run (session_of (train)));

  /* Save, then the new project: the edit is in the file. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.new-project", NULL));
  settle (100);
  g_assert_nonnull (lam_window_get_prompt (window));
  gtk_dialog_response (GTK_DIALOG (lam_window_get_prompt (window)), GTK_RESPONSE_ACCEPT);
  iterate_until (file_idle, window, 30000);
  settle (200);
  g_assert_null (lam_window_get_prompt (window));
  g_autoptr (LamProjectFile) reread = lam_project_file_load (path, &error);
  g_assert_no_error (error);
  g_autofree char *saved = spec_text (reread->spec);
  g_assert_cmpstr (saved, ==, edited);

  /* The dataset goes back to the default one when it is installed; else
   * the one open stays. */
  DatasetWait wait = { session, have_data ? LAM_DATASET_DEFAULT_DIR : bars };
  iterate_until (dataset_is, &wait, 60000);
  settle (200);
  g_assert_cmpstr (lam_session_get_dataset_dir (session), ==, wait.dir);
  g_assert_true (lam_session_get_has_dataset (session));

  /* Untitled and unmarked, the dataset load included. */
  g_assert_null (lam_session_get_file_path (session));
  g_assert_false (lam_session_get_modified (session));
  g_assert_false (title_marked (window));
  g_assert_true (g_str_has_prefix (gtk_window_get_title (GTK_WINDOW (window)), "Untitled"));

  /* The model and every setting as a fresh window has them. */
  g_autofree char *reset_spec = spec_text (lam_session_get_spec (session));
  g_assert_cmpstr (reset_spec, ==, fresh_spec);
  g_assert_cmpint (lam_model_page_get_n_layers (model), ==, fresh_layers);
  const LamTrainerConfig *config = lam_session_get_config (session);
  g_assert_cmpint (config->optimizer.kind, ==, fresh.optimizer.kind);
  g_assert_cmpfloat (config->optimizer.lr, ==, fresh.optimizer.lr);
  g_assert_cmpfloat (config->optimizer.lr, ==, 0.001);
  g_assert_cmpint (config->epochs, ==, fresh.epochs);
  g_assert_cmpint (config->batch_size, ==, fresh.batch_size);
  g_assert_cmpfloat (config->val_fraction, ==, fresh.val_fraction);
  g_assert_cmpuint (config->seed, ==, fresh.seed);
  g_assert_cmpint (config->crop_padding, ==, fresh.crop_padding);
  g_assert_cmpint (config->hflip, ==, fresh.hflip);

  /* No runs, no weights, nothing evaluated; the lesson starts on Data. */
  g_assert_null (lam_session_get_current_run (session_of (train)));
  g_assert_cmpint (lam_session_get_step (session_of (train)), ==, 0);
  g_assert_false (lam_session_get_continue_run (session_of (train)));
  g_assert_cmpuint (lam_chart_get_n_series (lam_train_page_get_loss_chart (train)), ==, 0);
  g_assert_null (lam_session_get_weights (session, NULL));
  g_assert_null (lam_session_get_weights_spec (session));
  g_assert_null (lam_evaluation_get_result (evaluation));
  g_assert_false (lam_evaluation_get_busy (evaluation));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (
                     GTK_STACK (gtk_widget_get_parent (lam_window_get_page (window, "data")))),
                   ==, "data");
  g_assert_true (lam_session_can_start (session_of (train)));
  save_png (window, "window-new-project.png");

  /* A save of the new project holds no weights of the old one. */
  g_autofree char *fresh_path = g_build_filename (tmp_dir, "after-new.lamina", NULL);
  g_assert_true (lam_window_save_project (window, fresh_path, &error));
  g_assert_no_error (error);
  g_autoptr (LamProjectFile) fresh_file = lam_project_file_load (fresh_path, &error);
  g_assert_no_error (error);
  g_assert_null (fresh_file->params);
  g_assert_cmpuint (fresh_file->runs->len, ==, 0);

  /* Nothing unsaved: no question. */
  lam_model_page_load_preset (model, "mlp-32");
  g_assert_true (lam_window_save_project (window, fresh_path, &error));
  g_assert_no_error (error);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.new-project", NULL));
  settle (100);
  g_assert_null (lam_window_get_prompt (window));
  g_assert_null (lam_session_get_file_path (session));
  g_autofree char *again = spec_text (lam_session_get_spec (session));
  g_assert_cmpstr (again, ==, fresh_spec);

  gtk_window_destroy (GTK_WINDOW (window));
  g_remove (fresh_path);
  lam_test_remove_tree (bars);
}

/* The shortcuts window lists New Project with its accelerator. */
static void
test_shortcuts_window (void)
{
  g_autoptr (GtkBuilder) builder =
    gtk_builder_new_from_resource ("/org/lamina/Lamina/gtk/help-overlay.ui");
  GtkWidget *overlay = GTK_WIDGET (gtk_builder_get_object (builder, "help_overlay"));
  g_assert_nonnull (overlay);
  g_autoptr (GSList) objects = gtk_builder_get_objects (builder);
  gboolean found = FALSE;
  for (GSList *l = objects; l != NULL; l = l->next) {
    if (!GTK_IS_SHORTCUTS_SHORTCUT (l->data))
      continue;
    g_autofree char *title = NULL, *accelerator = NULL;
    g_object_get (l->data, "title", &title, "accelerator", &accelerator, NULL);
    if (g_strcmp0 (accelerator, "<Control>n") == 0) {
      g_assert_cmpstr (title, ==, "New project");
      found = TRUE;
    }
  }
  g_assert_true (found);
  gtk_window_destroy (GTK_WINDOW (overlay));
}

static char *
save_small_project (const char *name, const char *preset, const char *dataset_dir)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  file->spec = lam_model_spec_preset (preset, NULL);
  file->spec->has_input = TRUE;
  file->spec->input = lam_shape_chw (1, 8, 8);
  file->config.optimizer.lr = 0.02;
  file->dataset_dir = g_strdup (dataset_dir);
  char *path = g_build_filename (tmp_dir, name, NULL);
  g_assert_true (lam_project_file_save (file, path, &error));
  g_assert_no_error (error);
  return path;
}

/* None of the application's windows is saving or opening. */
static gboolean
application_file_idle (gpointer data)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (data)); l != NULL; l = l->next)
    if (LAM_IS_WINDOW (l->data) && lam_window_get_file_busy (LAM_WINDOW (l->data)))
      return FALSE;
  return TRUE;
}

/* As `lamina path` or a file manager gives it, until it has been read. */
static void
open_through_application (LamApplication *application, const char *path)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_application_open (G_APPLICATION (application), &file, 1, "");
  iterate_until (application_file_idle, application, 30000);
  settle (200);
}

static void
assert_error_dialog (const char *path, const char *reason)
{
  GtkWidget *dialog = find_message_dialog ();
  g_assert_nonnull (dialog);
  GtkMessageType type;
  g_autofree char *primary = NULL, *secondary = NULL;
  g_object_get (dialog, "message-type", &type, "text", &primary, "secondary-text", &secondary,
                NULL);
  g_assert_cmpint (type, ==, GTK_MESSAGE_ERROR);
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *expected = g_strdup_printf ("“%s” could not be opened", name);
  g_assert_cmpstr (primary, ==, expected);
  /* The whole path is in the reason. */
  g_assert_nonnull (strstr (secondary, path));
  if (strstr (secondary, reason) == NULL)
    g_error ("expected \"%s\" in the dialog, got: %s", reason, secondary);
}

/* Files given to the application (`lamina lesson.lamina`, a file manager)
 * open in its window as Open Project does. */
static void
test_application_open (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *bars = make_bars_dir ("bars-open");
  g_autofree char *first = save_small_project ("first.lamina", "mlp-32", bars);
  g_autofree char *second = save_small_project ("second.lamina", "logistic-regression", bars);
  g_autofree char *bad = g_build_filename (tmp_dir, "not-a-project.lamina", NULL);
  g_assert_true (g_file_set_contents (bad, "{\"lesson\": 1}\n", -1, NULL));
  g_autofree char *missing = g_build_filename (tmp_dir, "missing.lamina", NULL);

  g_autoptr (LamApplication) application = lam_application_new (bars);
  g_assert_true (g_application_register (G_APPLICATION (application), NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_application_get_flags (G_APPLICATION (application)) &
                 G_APPLICATION_HANDLES_OPEN);
  g_application_activate (G_APPLICATION (application));
  settle (200);
  GtkWindow *active = gtk_application_get_active_window (GTK_APPLICATION (application));
  g_assert_true (LAM_IS_WINDOW (active));
  LamWindow *window = LAM_WINDOW (active);
  gtk_window_set_default_size (active, 1280, 820);
  LamSession *session = lam_window_get_session (window);
  DatasetWait wait = { session, bars };
  iterate_until (dataset_is, &wait, 30000);
  g_assert_cmpstr (lam_session_get_dataset_dir (session), ==, bars);

  /* The first project opens in the window there is. */
  open_through_application (application, first);
  g_assert_null (lam_window_get_prompt (window));
  g_assert_null (find_message_dialog ());
  g_assert_cmpuint (g_list_length (gtk_application_get_windows (GTK_APPLICATION (application))),
                    ==, 1);
  g_assert_cmpstr (lam_session_get_file_path (session), ==, first);
  g_assert_false (lam_session_get_modified (session));
  g_assert_nonnull (strstr (gtk_window_get_title (active), "first.lamina"));
  g_autofree char *mlp32 = preset_text ("mlp-32");
  g_autofree char *opened = spec_text (lam_session_get_spec (session));
  g_assert_cmpstr (opened, ==, mlp32);
  g_assert_cmpfloat (lam_session_get_config (session)->optimizer.lr, ==, 0.02);
  g_assert_false (lam_application_get_open_failed (application));
  lam_window_show_page (window, "model");
  save_png (window, "window-open-file.png");

  /* Over unsaved work it asks; Cancel keeps what is open. */
  LamModelPage *model = LAM_MODEL_PAGE (lam_window_get_page (window, "model"));
  lam_model_page_load_preset (model, "mlp");
  settle (100);
  g_assert_true (lam_session_get_modified (session));
  open_through_application (application, second);
  g_assert_nonnull (lam_window_get_prompt (window));
  g_autofree char *secondary = prompt_secondary_text (window);
  g_assert_nonnull (strstr (secondary, "lost when another project opens"));
  gtk_dialog_response (GTK_DIALOG (lam_window_get_prompt (window)), GTK_RESPONSE_CANCEL);
  settle (100);
  g_assert_cmpstr (lam_session_get_file_path (session), ==, first);
  g_assert_true (lam_session_get_modified (session));

  /* Discard opens the other one. */
  open_through_application (application, second);
  g_assert_nonnull (lam_window_get_prompt (window));
  gtk_dialog_response (GTK_DIALOG (lam_window_get_prompt (window)), GTK_RESPONSE_REJECT);
  iterate_until (file_idle, window, 30000);
  settle (200);
  g_assert_null (lam_window_get_prompt (window));
  g_assert_cmpstr (lam_session_get_file_path (session), ==, second);
  g_assert_false (lam_session_get_modified (session));
  g_autofree char *logistic = preset_text ("logistic-regression");
  g_autofree char *opened2 = spec_text (lam_session_get_spec (session));
  g_assert_cmpstr (opened2, ==, logistic);
  g_autoptr (LamProjectFile) first_file = lam_project_file_load (first, &error);
  g_assert_no_error (error);
  g_autofree char *first_spec = spec_text (first_file->spec);
  g_assert_cmpstr (first_spec, ==, mlp32);

  /* A file that is not a project, and one that is not there: a dialog
   * says why, and what is open stays. */
  open_through_application (application, bad);
  assert_error_dialog (bad, "not a Lamina project");
  g_assert_true (lam_application_get_open_failed (application));
  g_assert_cmpstr (lam_session_get_file_path (session), ==, second);
  gtk_window_destroy (GTK_WINDOW (find_message_dialog ()));
  open_through_application (application, missing);
  assert_error_dialog (missing, "No such file");
  gtk_window_destroy (GTK_WINDOW (find_message_dialog ()));
  g_assert_cmpstr (lam_session_get_file_path (session), ==, second);
  g_assert_false (lam_session_get_modified (session));
  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);

  /* With no window, a bad file gets a window of its own that explains it
   * and still opens on the dataset. */
  g_assert_null (gtk_application_get_active_window (GTK_APPLICATION (application)));
  open_through_application (application, bad);
  active = gtk_application_get_active_window (GTK_APPLICATION (application));
  g_assert_true (LAM_IS_WINDOW (active));
  gtk_window_set_default_size (active, 1280, 820);
  window = LAM_WINDOW (active);
  session = lam_window_get_session (window);
  GtkWidget *dialog = find_message_dialog ();
  assert_error_dialog (bad, "not a Lamina project");
  wait.session = session;
  iterate_until (dataset_is, &wait, 30000);
  g_assert_cmpstr (lam_session_get_dataset_dir (session), ==, bars);
  g_assert_null (lam_session_get_file_path (session));
  g_assert_false (lam_session_get_modified (session));
  /* Laid out before it is drawn, however slow the machine. */
  g_assert_true (wait_for_toplevel (GTK_TYPE_MESSAGE_DIALOG) == dialog);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *png = g_build_filename (dir ? dir : ".", "window-open-bad.png", NULL);
  g_assert_true (lam_ui_save_png (dialog, png, &error));
  g_assert_no_error (error);
  gtk_window_destroy (GTK_WINDOW (dialog));

  /* And a good one opens in a new window as it would from a file manager. */
  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);
  open_through_application (application, first);
  active = gtk_application_get_active_window (GTK_APPLICATION (application));
  g_assert_true (LAM_IS_WINDOW (active));
  session = lam_window_get_session (LAM_WINDOW (active));
  g_assert_null (find_message_dialog ());
  g_assert_cmpstr (lam_session_get_file_path (session), ==, first);
  wait.session = session;
  iterate_until (dataset_is, &wait, 30000);
  g_assert_cmpstr (lam_session_get_dataset_dir (session), ==, bars);
  g_assert_false (lam_session_get_modified (session));
  gtk_window_destroy (active);
  settle (100);

  g_remove (first);
  g_remove (second);
  g_remove (bad);
  lam_test_remove_tree (bars);
}

static gboolean
evaluated_epoch (gpointer data)
{
  LamWindow *window = data;
  LamEvaluation *evaluation = lam_evaluate_page_get_evaluation (
    LAM_EVALUATE_PAGE (lam_window_get_page (window, "evaluate")));
  LamEvaluationResult *result = lam_evaluation_get_result (evaluation);
  int want = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (window), "want-epoch"));
  return result != NULL && result->epoch == want && !lam_evaluation_get_busy (evaluation);
}

/* Publishes weights drawn from seed as epoch `epoch` of the current run and
 * waits for the Evaluate page's result. */
static void
publish_epoch (LamWindow *window, LamSession *session, int epoch, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  const LamModelSpec *spec = lam_session_get_spec (session);
  LamBackend *backend = lam_backend_cpu_new ();
  LamModel *model = lam_model_new (spec, backend, 1, seed, &error);
  g_assert_no_error (error);
  gsize n = lam_model_get_n_params (model);
  g_autofree float *params = g_new (float, n);
  lam_model_get_params_host (model, params);
  lam_model_free (model);
  lam_backend_free (backend);
  float mean[3] = { 0.286f, 0.286f, 0.286f }, std[3] = { 0.353f, 0.353f, 0.353f };
  lam_session_set_weights (session, spec, params, n, mean, std, epoch);
  g_object_set_data (G_OBJECT (window), "want-epoch", GINT_TO_POINTER (epoch));
  iterate_until (evaluated_epoch, window, 60000);
  g_assert_true (evaluated_epoch (window));
}

/* What the weights predicted after each epoch is saved with the project and
 * comes back with it, so a reopened project can say since when an image
 * has been wrong. */
static void
test_prediction_history (void)
{
  if (!have_data) {
    g_test_skip ("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist");
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (LamSession) session = lam_session_new ();
  gboolean loaded = FALSE;
  lam_session_load_dataset_async (session, LAM_DATASET_DEFAULT_DIR, NULL, on_loaded, &loaded);
  iterate_until (flag_set, &loaded, 60000);
  LamWindow *window = new_window (session);
  lam_model_page_load_preset (LAM_MODEL_PAGE (lam_window_get_page (window, "model")), "mlp-32");
  settle (100);
  lam_session_begin_run (session);
  publish_epoch (window, session, 1, 11);
  publish_epoch (window, session, 2, 12);
  LamEvaluation *evaluation = lam_evaluate_page_get_evaluation (
    LAM_EVALUATE_PAGE (lam_window_get_page (window, "evaluate")));
  g_assert_cmpuint (lam_evaluation_get_n_history (evaluation), ==, 2);
  int epoch = 0;
  const gint32 *first = lam_evaluation_get_history (evaluation, 0, &epoch);
  g_assert_cmpint (epoch, ==, 1);
  g_autofree gint32 *first_copy = g_memdup2 (first, sizeof (gint32) * 10000);

  g_autofree char *path = g_build_filename (tmp_dir, "history.lamina", NULL);
  g_assert_true (lam_window_save_project (window, path, &error));
  g_assert_no_error (error);

  g_autoptr (LamSession) project2 = lam_session_new ();
  LamWindow *window2 = new_window (project2);
  g_assert_true (lam_window_open_project (window2, path, NULL, &error));
  g_assert_no_error (error);
  iterate_until (dataset_ready, project2, 60000);
  g_object_set_data (G_OBJECT (window2), "want-epoch", GINT_TO_POINTER (2));
  iterate_until (evaluated_epoch, window2, 60000);
  LamEvaluation *evaluation2 = lam_evaluate_page_get_evaluation (
    LAM_EVALUATE_PAGE (lam_window_get_page (window2, "evaluate")));
  g_assert_cmpuint (lam_evaluation_get_n_history (evaluation2), ==, 2);
  const gint32 *back = lam_evaluation_get_history (evaluation2, 0, &epoch);
  g_assert_cmpint (epoch, ==, 1);
  g_assert_cmpmem (back, sizeof (gint32) * 10000, first_copy, sizeof (gint32) * 10000);
  /* An image wrong after both epochs reads as such, not only as "wrong
   * after epoch 2", which is all one epoch could say. */
  LamEvaluationResult *result = lam_evaluation_get_result (evaluation2);
  for (int i = 0; i < result->n_images; i++)
    if (first_copy[i] != result->dataset->labels[i] &&
        result->predicted[i] != result->dataset->labels[i]) {
      g_autofree char *text = lam_evaluation_dup_history_text (evaluation2, i);
      g_test_message ("image %d: %s", i, text);
      g_assert_cmpstr (text, ==, "Wrong at every epoch so far");
      break;
    }
  gtk_window_destroy (GTK_WINDOW (window2));
  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);
}

/* A run being trained is unsaved work even in a project saved just
 * before Start: closing the window asks first. */
static void
test_close_while_training_asks (void)
{
  if (!have_data) {
    g_test_skip ("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist");
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (LamSession) session = lam_session_new ();
  gboolean loaded = FALSE;
  lam_session_load_dataset_async (session, LAM_DATASET_DEFAULT_DIR, NULL, on_loaded, &loaded);
  iterate_until (flag_set, &loaded, 60000);
  LamWindow *window = new_window (session);
  g_autofree char *path = g_build_filename (tmp_dir, "training.lamina", NULL);
  g_assert_true (lam_window_save_project (window, path, &error));
  g_assert_no_error (error);
  g_assert_false (lam_session_get_modified (session));

  /* A paused run, one step in. */
  LamTrainPage *page = LAM_TRAIN_PAGE (lam_window_get_page (window, "train"));
  activate (page, "step");
  StepWait wait = { page, 1 };
  iterate_until (step_reached, &wait, 30000);
  g_assert_cmpint (lam_session_get_state (session), !=, LAM_TRAIN_STATE_IDLE);

  g_object_ref (window);
  gtk_window_close (GTK_WINDOW (window));
  settle (100);
  GtkWidget *prompt = lam_window_get_prompt (window);
  g_assert_nonnull (prompt);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window)));
  gtk_dialog_response (GTK_DIALOG (prompt), GTK_RESPONSE_CANCEL);
  settle (100);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window)));

  /* Discard closes it with the run still paused. */
  gtk_window_close (GTK_WINDOW (window));
  settle (100);
  prompt = lam_window_get_prompt (window);
  g_assert_nonnull (prompt);
  gtk_dialog_response (GTK_DIALOG (prompt), GTK_RESPONSE_REJECT);
  settle (100);
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (window)));
  g_object_unref (window);
}

/* A lesson of LAM_SESSION_MAX_RUNS runs of 300 epochs, each with 100
 * steps an epoch (about 17 MB saved, half a second's writing), over the
 * bars dataset, marked unsaved. */
static void
load_large_project (LamSession *session)
{
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  lam_session_fill_project_file (session, file);
  for (int r = 1; r <= LAM_SESSION_MAX_RUNS; r++) {
    LamProjectRun *run = lam_project_run_new (r, "mlp, Adam lr 0.001, batch 36");
    run->color = r - 1;
    for (int e = 1; e <= 300; e++) {
      for (int k = 0; k < 100; k++) {
        double x = e - 1 + (k + 1) / 100.0;
        LamRunStep step = { x, 2.0 / (x + r), 1 - 0.5 / (x + r) };
        g_array_append_val (run->steps, step);
      }
      LamRunEpoch row = { e, 1.0 / e, 1 - 0.5 / e, 1.1 / e, 1 - 0.6 / e, 2.5, 0.001 };
      g_array_append_val (run->epochs, row);
    }
    g_ptr_array_add (file->runs, run);
  }
  lam_session_load_project_file (session, file);
  lam_session_set_modified (session, TRUE);
}

typedef struct
{
  gboolean done;
  gboolean ok;
  char *warning;
  GError *error;
  guint ticks;      /* main-loop ticks while the job ran */
  gint64 last_tick; /* µs */
  gint64 longest;   /* µs: the longest the main loop was held */
  gboolean ended;   /* a tick came after the job was done */
  guint tick;
} FileWait;

static void
file_wait_clear (FileWait *wait)
{
  g_clear_pointer (&wait->warning, g_free);
  g_clear_error (&wait->error);
}

static void
on_test_saved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  FileWait *wait = user_data;
  wait->ok = lam_window_save_project_finish (LAM_WINDOW (source), result, &wait->error);
  wait->done = TRUE;
}

static void
on_test_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  FileWait *wait = user_data;
  wait->ok =
    lam_window_open_project_finish (LAM_WINDOW (source), result, &wait->warning, &wait->error);
  wait->done = TRUE;
}

static gboolean
on_tick (gpointer data)
{
  FileWait *wait = data;
  gint64 now = g_get_monotonic_time ();
  /* The first tick after the end counts the callback's own work. */
  if (!wait->done || !wait->ended) {
    wait->ticks += !wait->done;
    wait->ended = wait->done;
    wait->longest = MAX (wait->longest, now - wait->last_tick);
  }
  wait->last_tick = now;
  return G_SOURCE_CONTINUE;
}

/* A 5 ms tick on the main loop from before the job starts (its copy of
 * the project is taken on the main thread) until the first tick after its
 * callback: the ticks that came while it ran and the longest gap. */
static void
begin_ticking (FileWait *wait)
{
  wait->last_tick = g_get_monotonic_time ();
  wait->tick = g_timeout_add (5, on_tick, wait);
}

static void
wait_ticking (FileWait *wait)
{
  iterate_until (flag_set, &wait->done, 120000);
  iterate_until (flag_set, &wait->ended, 1000);
  g_source_remove (wait->tick);
  g_assert_true (wait->done);
}

static gboolean
find_label (GtkWidget *widget, const char *text)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_is_visible (widget) &&
      g_strcmp0 (gtk_label_get_text (GTK_LABEL (widget)), text) == 0)
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (find_label (child, text))
      return TRUE;
  return FALSE;
}

static gboolean
header_says (LamWindow *window, const char *text)
{
  return find_label (gtk_window_get_titlebar (GTK_WINDOW (window)), text);
}

static void
assert_runs_equal (LamSession *a, LamSession *b)
{
  g_autoptr (LamProjectFile) fa = lam_project_file_new ();
  g_autoptr (LamProjectFile) fb = lam_project_file_new ();
  lam_session_fill_project_file (a, fa);
  lam_session_fill_project_file (b, fb);
  g_autofree char *spec_a = lam_model_spec_to_text (fa->spec);
  g_autofree char *spec_b = lam_model_spec_to_text (fb->spec);
  g_assert_cmpstr (spec_a, ==, spec_b);
  g_assert_cmpint (fa->config.optimizer.kind, ==, fb->config.optimizer.kind);
  g_assert_cmpfloat (fa->config.optimizer.lr, ==, fb->config.optimizer.lr);
  g_assert_cmpint (fa->config.epochs, ==, fb->config.epochs);
  g_assert_cmpint (fa->config.batch_size, ==, fb->config.batch_size);
  g_assert_cmpuint (fa->config.seed, ==, fb->config.seed);
  g_assert_cmpfloat (fa->config.val_fraction, ==, fb->config.val_fraction);
  g_assert_cmpstr (fa->dataset_dir, ==, fb->dataset_dir);
  g_assert_cmpuint (fa->runs->len, ==, fb->runs->len);
  for (guint i = 0; i < fa->runs->len; i++) {
    const LamProjectRun *ra = g_ptr_array_index (fa->runs, i);
    const LamProjectRun *rb = g_ptr_array_index (fb->runs, i);
    g_assert_cmpint (ra->number, ==, rb->number);
    g_assert_cmpstr (ra->settings, ==, rb->settings);
    g_assert_cmpint (ra->color, ==, rb->color);
    g_assert_cmpmem (ra->steps->data, ra->steps->len * sizeof (LamRunStep), rb->steps->data,
                     rb->steps->len * sizeof (LamRunStep));
    g_assert_cmpuint (ra->epochs->len, ==, rb->epochs->len);
    for (guint e = 0; e < ra->epochs->len; e++) {
      const LamRunEpoch *ea = &g_array_index (ra->epochs, LamRunEpoch, e);
      const LamRunEpoch *eb = &g_array_index (rb->epochs, LamRunEpoch, e);
      g_assert_cmpint (ea->epoch, ==, eb->epoch);
      g_assert_cmpfloat (ea->train_loss, ==, eb->train_loss);
      g_assert_cmpfloat (ea->train_accuracy, ==, eb->train_accuracy);
      g_assert_cmpfloat (ea->val_loss, ==, eb->val_loss);
      g_assert_cmpfloat (ea->val_accuracy, ==, eb->val_accuracy);
      g_assert_cmpfloat (ea->seconds, ==, eb->seconds);
      g_assert_cmpfloat (ea->lr, ==, eb->lr);
    }
  }
}

static LamSession *
session_on_bars (const char *bars)
{
  LamSession *session = lam_session_new ();
  gboolean loaded = FALSE;
  lam_session_load_dataset_async (session, bars, NULL, on_loaded_ok, &loaded);
  iterate_until (flag_set, &loaded, 30000);
  g_assert_true (loaded);
  return session;
}

/* Save and Open of a large project write and read on a thread: the main
 * loop keeps ticking, the header says what is going on, and the project
 * opens field for field as it was. */
static void
test_save_open_on_thread (void)
{
  g_autofree char *bars = make_bars_dir ("bars-thread");
  g_autoptr (LamSession) session = session_on_bars (bars);
  LamWindow *window = new_window (session);
  load_large_project (session);
  settle (100);
  g_autofree char *path = g_build_filename (tmp_dir, "large.lamina", NULL);

  FileWait saved = { 0 };
  begin_ticking (&saved);
  lam_window_save_project_async (window, path, on_test_saved, &saved);
  g_assert_true (lam_window_get_file_busy (window));
  g_assert_false (saved.done);
  g_assert_true (header_says (window, "Saving “large.lamina”…"));
  wait_ticking (&saved);
  g_assert_no_error (saved.error);
  g_assert_true (saved.ok);
  g_test_message ("save: %u ticks, main loop held at most %.1f ms", saved.ticks,
                  saved.longest / 1000.0);
  /* The main loop ran while the file was written. */
  g_assert_cmpuint (saved.ticks, >=, 2);
  g_assert_false (lam_window_get_file_busy (window));
  g_assert_false (header_says (window, "Saving “large.lamina”…"));
  g_assert_false (lam_session_get_modified (session));
  g_assert_cmpstr (lam_session_get_file_path (session), ==, path);

  g_autoptr (LamSession) session2 = lam_session_new ();
  LamWindow *window2 = new_window (session2);
  FileWait opened = { 0 };
  begin_ticking (&opened);
  lam_window_open_project_async (window2, path, on_test_opened, &opened);
  g_assert_true (lam_window_get_file_busy (window2));
  g_assert_true (header_says (window2, "Opening “large.lamina”…"));
  /* Nothing is edited on pages about to be replaced. */
  g_assert_false (gtk_widget_is_sensitive (lam_window_get_page (window2, "model")));
  wait_ticking (&opened);
  g_assert_no_error (opened.error);
  g_assert_true (opened.ok);
  g_test_message ("open: %u ticks, main loop held at most %.1f ms", opened.ticks,
                  opened.longest / 1000.0);
  g_assert_cmpuint (opened.ticks, >=, 2);
  g_assert_true (gtk_widget_is_sensitive (lam_window_get_page (window2, "model")));
  g_assert_cmpstr (lam_session_get_file_path (session2), ==, path);
  g_assert_false (lam_session_get_modified (session2));
  DatasetWait wait = { session2, bars };
  iterate_until (dataset_is, &wait, 30000);
  assert_runs_equal (session, session2);
  file_wait_clear (&opened);
  file_wait_clear (&saved);

  gtk_window_destroy (GTK_WINDOW (window2));
  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);
  g_autofree char *weights = g_build_filename (tmp_dir, "large.safetensors", NULL);
  g_remove (weights);
  g_remove (path);
  lam_test_remove_tree (bars);
}

static void
save_session (LamSession *session, const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  lam_session_fill_project_file (session, file);
  g_assert_true (lam_project_file_save (file, path, &error));
  g_assert_no_error (error);
}

static LamApplication *
application_on (const char *data_dir)
{
  g_autoptr (GError) error = NULL;
  LamApplication *application = lam_application_new (data_dir);
  g_assert_true (g_application_register (G_APPLICATION (application), NULL, &error));
  g_assert_no_error (error);
  return application;
}

/* Gives path to the application as `lamina path` or a file manager does,
 * with the main loop ticking from just before; the window it opens in:
 * the application's only one. */
static LamWindow *
start_opening (LamApplication *application, const char *path, FileWait *wait)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  begin_ticking (wait);
  g_application_open (G_APPLICATION (application), &file, 1, "");
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (application));
  g_assert_nonnull (windows);
  g_assert_null (windows->next);
  g_assert_true (LAM_IS_WINDOW (windows->data));
  gtk_window_set_default_size (GTK_WINDOW (windows->data), 1280, 820);
  return LAM_WINDOW (windows->data);
}

static GtkWidget *
find_switcher (GtkWidget *widget)
{
  if (GTK_IS_STACK_SWITCHER (widget))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkWidget *found = find_switcher (child);
    if (found != NULL)
      return found;
  }
  return NULL;
}

/* The page on screen, alone of the window's pages, and the switcher's
 * buttons usable. */
static void
assert_page_shown (LamWindow *window, const char *name)
{
  static const char *const names[] = { "data", "model", "train", "evaluate" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_assert_true (gtk_widget_get_mapped (lam_window_get_page (window, names[i])) ==
                   g_str_equal (names[i], name));
  GtkWidget *opening = lam_window_get_page (window, "opening");
  g_assert_true (opening == NULL || !gtk_widget_get_mapped (opening));
  GtkWidget *switcher = find_switcher (gtk_window_get_titlebar (GTK_WINDOW (window)));
  g_assert_nonnull (switcher);
  g_assert_true (gtk_widget_is_sensitive (switcher));
}

/* A fresh window opening a project says so where its pages are, not "No
 * Dataset" on the Data page, and its pages cannot be switched to. */
static void
assert_opening_page (LamWindow *window, const char *status)
{
  g_assert_false (gtk_widget_get_mapped (lam_window_get_page (window, "data")));
  GtkWidget *opening = lam_window_get_page (window, "opening");
  g_assert_nonnull (opening);
  g_assert_true (gtk_widget_get_mapped (opening));
  g_assert_true (find_label (opening, status));
  GtkWidget *switcher = find_switcher (gtk_window_get_titlebar (GTK_WINDOW (window)));
  g_assert_nonnull (switcher);
  g_assert_false (gtk_widget_is_sensitive (switcher));
}

static void
finish_opening (LamWindow *window, FileWait *wait)
{
  iterate_until (file_idle, window, 120000);
  wait->done = !lam_window_get_file_busy (window);
  wait_ticking (wait);
  g_test_message ("open from the application: %u ticks, main loop held at most %.1f ms",
                  wait->ticks, wait->longest / 1000.0);
}

/* A large project given to the application (`lamina large.lamina`, a file
 * manager), in a window made for it and in the window there is, is read
 * on a thread: the main loop keeps ticking, a fresh window says what it
 * is doing, and the project opens field for field as it was saved. */
static void
test_application_open_on_thread (void)
{
  g_autofree char *bars = make_bars_dir ("bars-app-thread");
  g_autoptr (LamSession) saved = session_on_bars (bars);
  load_large_project (saved);
  g_autofree char *path = g_build_filename (tmp_dir, "app-large.lamina", NULL);
  save_session (saved, path);
  g_autoptr (LamApplication) application = application_on (bars);

  FileWait opened = { 0 };
  LamWindow *window = start_opening (application, path, &opened);
  g_assert_true (lam_window_get_file_busy (window));
  /* The file's name, not the fresh window's "Untitled". */
  g_assert_true (header_says (window, "Opening “app-large.lamina”…"));
  g_assert_false (header_says (window, "Untitled"));
  g_assert_false (gtk_widget_is_sensitive (lam_window_get_page (window, "model")));
  assert_opening_page (window, "Opening “app-large.lamina”…");
  /* A page asked for meanwhile waits for the open. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.page", "i", 2);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.page", "i", 1);
  assert_opening_page (window, "Opening “app-large.lamina”…");
  save_png_now (window, "window-opening.png");
  finish_opening (window, &opened);
  g_assert_cmpuint (opened.ticks, >=, 2);
  g_assert_false (header_says (window, "Opening “app-large.lamina”…"));
  g_assert_true (gtk_widget_is_sensitive (lam_window_get_page (window, "model")));
  assert_page_shown (window, "data");
  g_assert_null (find_message_dialog ());
  g_assert_false (lam_application_get_open_failed (application));
  LamSession *session = lam_window_get_session (window);
  g_assert_cmpstr (lam_session_get_file_path (session), ==, path);
  g_assert_false (lam_session_get_modified (session));
  g_assert_nonnull (strstr (gtk_window_get_title (GTK_WINDOW (window)), "app-large.lamina"));
  DatasetWait wait = { session, bars };
  iterate_until (dataset_is, &wait, 30000);
  g_assert_cmpstr (lam_session_get_dataset_dir (session), ==, bars);
  /* The project's name back where "Untitled" was. */
  g_autofree char *named =
    g_strdup_printf ("app-large.lamina — %s", lam_session_get_dataset_name (session));
  g_assert_true (header_says (window, named));
  assert_runs_equal (saved, session);
  save_png (window, "window-opened.png");
  file_wait_clear (&opened);

  /* Again, into the window there is: its pages stay in view. */
  lam_window_show_page (window, "model");
  FileWait again = { 0 };
  g_assert_true (start_opening (application, path, &again) == window);
  g_assert_true (lam_window_get_file_busy (window));
  assert_page_shown (window, "model");
  g_assert_false (gtk_widget_is_sensitive (lam_window_get_page (window, "model")));
  finish_opening (window, &again);
  g_assert_cmpuint (again.ticks, >=, 2);
  g_assert_null (find_message_dialog ());
  g_assert_false (lam_application_get_open_failed (application));
  g_assert_cmpstr (lam_session_get_file_path (session), ==, path);
  assert_runs_equal (saved, session);
  file_wait_clear (&again);

  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);
  g_remove (path);
  lam_test_remove_tree (bars);
}

/* A large file that is not a whole project, given to the application with
 * no window open: read on a thread like a good one, then explained in a
 * dialog and counted as a failure (the exit status), and the window made
 * for it opens on the application's dataset. Its long name, in the header
 * meanwhile, leaves the header's buttons on a 1024 px window. */
static void
test_application_open_broken_on_thread (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *bars = make_bars_dir ("bars-app-broken");
  g_autoptr (LamSession) saved = session_on_bars (bars);
  load_large_project (saved);
  const char *name =
    "app-broken-spring-term-course-on-convolutional-networks-every-run-kept.lamina";
  g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
  save_session (saved, path);
  /* Cut off before its end, as by a full disk. */
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (length, >, 10000000);
  g_assert_true (g_file_set_contents (path, contents, length - length / 10, &error));
  g_assert_no_error (error);
  g_autoptr (LamApplication) application = application_on (bars);

  FileWait opened = { 0 };
  LamWindow *window = start_opening (application, path, &opened);
  g_assert_true (lam_window_get_file_busy (window));
  g_autofree char *status = g_strdup_printf ("Opening “%s”…", name);
  g_assert_true (header_says (window, status));
  int header_width = 0;
  gtk_widget_measure (gtk_window_get_titlebar (GTK_WINDOW (window)), GTK_ORIENTATION_HORIZONTAL, -1,
                      &header_width, NULL, NULL, NULL);
  g_assert_cmpint (header_width, <=, 1024);
  gtk_window_set_default_size (GTK_WINDOW (window), 1024, 768);
  save_png_now (window, "window-opening-long-name.png");
  assert_opening_page (window, status);
  finish_opening (window, &opened);
  g_assert_cmpuint (opened.ticks, >=, 2);
  assert_error_dialog (path, "JSON");
  assert_page_shown (window, "data");
  g_assert_true (lam_application_get_open_failed (application));
  LamSession *session = lam_window_get_session (window);
  DatasetWait wait = { session, bars };
  iterate_until (dataset_is, &wait, 30000);
  g_assert_cmpstr (lam_session_get_dataset_dir (session), ==, bars);
  g_assert_null (lam_session_get_file_path (session));
  g_assert_false (lam_session_get_modified (session));
  g_assert_cmpuint (lam_session_get_n_runs (session), ==, 0);
  g_assert_false (header_says (window, status));
  assert_page_shown (window, "data");
  save_png (window, "window-open-broken-fallback.png");
  file_wait_clear (&opened);

  gtk_window_destroy (GTK_WINDOW (find_message_dialog ()));
  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);
  g_remove (path);
  lam_test_remove_tree (bars);
}

/* An edit made while the save writes what it copied is not in the file:
 * the project stays marked unsaved, though it was marked before. */
static void
test_edit_during_save_stays_modified (void)
{
  g_autofree char *bars = make_bars_dir ("bars-edit");
  g_autoptr (LamSession) session = session_on_bars (bars);
  LamWindow *window = new_window (session);
  load_large_project (session);
  double lr = lam_session_get_config (session)->optimizer.lr;
  g_autofree char *path = g_build_filename (tmp_dir, "edited.lamina", NULL);

  FileWait saved = { 0 };
  lam_window_save_project_async (window, path, on_test_saved, &saved);
  g_assert_true (lam_session_get_modified (session));
  g_object_set (session, "lr", lr * 2, NULL);
  g_assert_false (saved.done);
  iterate_until (flag_set, &saved.done, 120000);
  g_assert_no_error (saved.error);
  g_assert_true (saved.ok);
  g_assert_true (lam_session_get_modified (session));
  g_assert_true (title_marked (window));
  g_assert_cmpstr (lam_session_get_file_path (session), ==, path);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamProjectFile) file = lam_project_file_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (file->config.optimizer.lr, ==, lr);
  g_assert_cmpuint (file->runs->len, ==, LAM_SESSION_MAX_RUNS);

  /* Without an edit, the same save clears the mark. */
  FileWait again = { 0 };
  lam_window_save_project_async (window, path, on_test_saved, &again);
  iterate_until (flag_set, &again.done, 120000);
  g_assert_true (again.ok);
  g_assert_false (lam_session_get_modified (session));
  file_wait_clear (&saved);
  file_wait_clear (&again);

  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);
  g_remove (path);
  lam_test_remove_tree (bars);
}

/* While a save runs, Save, Save As, New, Open and starting a run are
 * disabled: a New Project over the edit made meanwhile neither asks nor
 * starts, another project does not open, and no run starts. */
static void
test_actions_disabled_during_save (void)
{
  g_autofree char *bars = make_bars_dir ("bars-busy");
  g_autofree char *other = save_small_project ("other-busy.lamina", "logistic-regression", bars);
  g_autoptr (LamSession) session = session_on_bars (bars);
  LamWindow *window = new_window (session);
  load_large_project (session);
  GActionGroup *training = lam_session_get_actions (session);
  g_assert_true (g_action_group_get_action_enabled (training, "start"));
  g_autofree char *path = g_build_filename (tmp_dir, "busy.lamina", NULL);

  FileWait saved = { 0 };
  lam_window_save_project_async (window, path, on_test_saved, &saved);
  g_assert_false (g_action_group_get_action_enabled (training, "start"));
  g_assert_false (g_action_group_get_action_enabled (training, "start-pause"));
  g_assert_false (g_action_group_get_action_enabled (training, "step"));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.new-project", NULL);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.open-recent", "s", other);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.save", NULL);
  gtk_widget_activate_action (GTK_WIDGET (window), "session.start", NULL);
  g_assert_null (lam_window_get_prompt (window));
  g_assert_cmpint (lam_session_get_state (session), ==, LAM_TRAIN_STATE_IDLE);
  g_assert_false (saved.done);
  iterate_until (flag_set, &saved.done, 120000);
  g_assert_true (saved.ok);
  settle (200);
  g_assert_null (lam_window_get_prompt (window));
  g_assert_null (find_message_dialog ());
  g_assert_cmpstr (lam_session_get_file_path (session), ==, path);
  g_assert_cmpuint (lam_session_get_n_runs (session), ==, LAM_SESSION_MAX_RUNS);
  g_assert_cmpint (lam_session_get_state (session), ==, LAM_TRAIN_STATE_IDLE);
  g_assert_true (g_action_group_get_action_enabled (training, "start"));
  file_wait_clear (&saved);

  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);
  g_remove (path);
  g_remove (other);
  lam_test_remove_tree (bars);
}

/* Export CSV writes the current run's history. While an open reads the
 * project that replaces it, the action is disabled and an export (from a
 * chooser shown before) is refused; during a save both go on, the save
 * writing a copy of the runs. */
static void
test_export_disabled_during_open (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *bars = make_bars_dir ("bars-export");
  g_autoptr (LamSession) session = session_on_bars (bars);
  LamWindow *window = new_window (session);
  load_large_project (session);
  /* A button follows its action's enabled state. */
  GtkWidget *export = gtk_button_new_with_label ("Export");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (export), "win.export-csv");
  gtk_header_bar_pack_end (GTK_HEADER_BAR (gtk_window_get_titlebar (GTK_WINDOW (window))), export);
  settle (100);
  g_assert_true (gtk_widget_get_sensitive (export));
  g_autofree char *path = g_build_filename (tmp_dir, "export.lamina", NULL);
  g_autofree char *csv = g_build_filename (tmp_dir, "export.csv", NULL);

  FileWait saved = { 0 };
  lam_window_save_project_async (window, path, on_test_saved, &saved);
  g_assert_true (lam_window_get_file_busy (window));
  g_assert_true (gtk_widget_get_sensitive (export));
  g_assert_true (lam_window_export_csv (window, csv, &error));
  g_assert_no_error (error);
  iterate_until (flag_set, &saved.done, 120000);
  g_assert_true (saved.ok);
  g_assert_cmpint (g_remove (csv), ==, 0);

  FileWait opened = { 0 };
  lam_window_open_project_async (window, path, on_test_opened, &opened);
  g_assert_true (lam_window_get_file_busy (window));
  g_assert_false (gtk_widget_get_sensitive (export));
  g_assert_false (lam_window_export_csv (window, csv, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_clear_error (&error);
  g_assert_false (g_file_test (csv, G_FILE_TEST_EXISTS));
  iterate_until (flag_set, &opened.done, 120000);
  g_assert_no_error (opened.error);
  g_assert_true (opened.ok);
  g_assert_true (gtk_widget_get_sensitive (export));
  g_assert_true (lam_window_export_csv (window, csv, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (csv, G_FILE_TEST_IS_REGULAR));
  file_wait_clear (&saved);
  file_wait_clear (&opened);

  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);
  g_autofree char *weights = g_build_filename (tmp_dir, "export.safetensors", NULL);
  g_remove (weights);
  g_remove (csv);
  g_remove (path);
  lam_test_remove_tree (bars);
}

static gboolean
no_windows (gpointer data)
{
  return gtk_application_get_windows (GTK_APPLICATION (data)) == NULL;
}

/* Closing the window (or quitting, which closes it) while a save writes:
 * the window stays until the save is done, so the application, which ends
 * with its last window, ends with the whole project on disk. */
static void
test_close_during_save_finishes (void)
{
  g_autofree char *bars = make_bars_dir ("bars-close");
  g_autoptr (GError) error = NULL;
  g_autoptr (GtkApplication) application =
    gtk_application_new ("org.lamina.TestCloseDuringSave", G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (application), NULL, &error));
  g_assert_no_error (error);
  g_autoptr (LamSession) session = session_on_bars (bars);
  LamWindow *window = lam_window_new (application, session);
  gtk_window_present (GTK_WINDOW (window));
  settle (200);
  load_large_project (session);
  g_autofree char *path = g_build_filename (tmp_dir, "closed.lamina", NULL);

  FileWait saved = { 0 };
  lam_window_save_project_async (window, path, on_test_saved, &saved);
  gtk_window_close (GTK_WINDOW (window));
  g_assert_false (saved.done);
  g_assert_nonnull (gtk_application_get_windows (application));
  g_assert_null (lam_window_get_prompt (window));
  /* The moment the last window goes is when the application would end. */
  iterate_until (no_windows, application, 120000);
  g_assert_null (gtk_application_get_windows (application));
  g_autoptr (LamProjectFile) file = lam_project_file_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (file->runs->len, ==, LAM_SESSION_MAX_RUNS);
  const LamProjectRun *last = g_ptr_array_index (file->runs, LAM_SESSION_MAX_RUNS - 1);
  g_assert_cmpuint (last->steps->len, ==, 300 * 100);
  iterate_until (flag_set, &saved.done, 10000);
  g_assert_true (saved.ok);
  g_assert_false (lam_session_get_modified (session));
  file_wait_clear (&saved);
  settle (100);
  g_remove (path);
  lam_test_remove_tree (bars);
}

/* Save in the "save changes?" prompt of a close, and an edit while that
 * save writes: the window does not close over the edit, it asks again. */
static void
test_edit_during_prompt_save_asks_again (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *bars = make_bars_dir ("bars-prompt");
  g_autoptr (LamSession) session = session_on_bars (bars);
  LamWindow *window = new_window (session);
  load_large_project (session);
  g_autofree char *path = g_build_filename (tmp_dir, "prompt.lamina", NULL);
  g_assert_true (lam_window_save_project (window, path, &error));
  g_assert_no_error (error);
  double lr = lam_session_get_config (session)->optimizer.lr;
  g_object_set (session, "lr", lr * 2, NULL);
  g_assert_true (lam_session_get_modified (session));

  g_object_ref (window);
  gtk_window_close (GTK_WINDOW (window));
  settle (100);
  g_assert_nonnull (lam_window_get_prompt (window));
  gtk_dialog_response (GTK_DIALOG (lam_window_get_prompt (window)), GTK_RESPONSE_ACCEPT);
  g_assert_true (lam_window_get_file_busy (window));
  g_object_set (session, "lr", lr * 4, NULL);
  iterate_until (file_idle, window, 120000);
  settle (100);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window)));
  g_assert_true (lam_session_get_modified (session));
  g_assert_nonnull (lam_window_get_prompt (window));
  g_autoptr (LamProjectFile) file = lam_project_file_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (file->config.optimizer.lr, ==, lr * 2);

  /* Discard this time: the window closes. */
  gtk_dialog_response (GTK_DIALOG (lam_window_get_prompt (window)), GTK_RESPONSE_REJECT);
  settle (100);
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (window)));
  g_object_unref (window);
  g_remove (path);
  lam_test_remove_tree (bars);
}

int
main (int argc, char **argv)
{
  gtk_init ();
  g_test_init (&argc, &argv, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  tmp_dir = g_dir_make_tmp ("lamina-project-ui-XXXXXX", NULL);

  /* Whether the dataset is there decides which cases run. */
  g_autoptr (LamSession) probe = lam_session_new ();
  gboolean loaded = FALSE;
  lam_session_load_dataset_async (probe, LAM_DATASET_DEFAULT_DIR, NULL, on_loaded, &loaded);
  iterate_until (flag_set, &loaded, 60000);

  g_test_add_func ("/project-ui/save-reopen-continue", test_save_reopen_continue);
  g_test_add_func ("/project-ui/interrupted-save-reported", test_interrupted_save_reported);
  g_test_add_func ("/project-ui/diverged-weights-reported", test_diverged_weights_reported);
  g_test_add_func ("/project-ui/save-as-asks-before-replacing", test_save_as_asks_before_replacing);
  g_test_add_func ("/project-ui/checkpoint-opens-untitled", test_checkpoint_opens_untitled);
  g_test_add_func ("/project-ui/new-project", test_new_project);
  g_test_add_func ("/project-ui/shortcuts-window", test_shortcuts_window);
  g_test_add_func ("/project-ui/application-open", test_application_open);
  g_test_add_func ("/project-ui/prediction-history", test_prediction_history);
  g_test_add_func ("/project-ui/close-while-training-asks", test_close_while_training_asks);
  g_test_add_func ("/project-ui/save-open-on-thread", test_save_open_on_thread);
  g_test_add_func ("/project-ui/application-open-on-thread", test_application_open_on_thread);
  g_test_add_func ("/project-ui/application-open-broken-on-thread",
                   test_application_open_broken_on_thread);
  g_test_add_func ("/project-ui/edit-during-save-stays-modified",
                   test_edit_during_save_stays_modified);
  g_test_add_func ("/project-ui/actions-disabled-during-save", test_actions_disabled_during_save);
  g_test_add_func ("/project-ui/close-during-save-finishes", test_close_during_save_finishes);
  g_test_add_func ("/project-ui/export-disabled-during-open", test_export_disabled_during_open);
  g_test_add_func ("/project-ui/edit-during-prompt-save-asks-again",
                   test_edit_during_prompt_save_asks_again);
  int status = g_test_run ();

  lam_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
