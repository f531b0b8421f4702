/* The main window end to end under Xvfb: a dataset loads, a stack is built
 * on the Model page, training runs from the Train page while the frame clock
 * keeps ticking, and every page is saved as a PNG into the build's tests
 * folder for a person to look at. */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lam-batch-strip.h"
#include "lam-boundary-view.h"
#include "lam-chart.h"
#include "lam-column-histograms.h"
#include "lam-data-page.h"
#include "lam-explain-panel.h"
#include "lam-fit-view.h"
#include "lam-help.h"
#include "lam-layer-row.h"
#include "lam-model-page.h"
#include "lam-neuron-maps.h"
#include "lam-playground-dialog.h"
#include "lam-probability-bars.h"
#include "lam-table-dialog.h"
#include "lam-train-page.h"
#include "lam-ui-util.h"
#include "lam-window.h"
#include "lam-test-keys.h"
#include "lam-test-session.h"
#include "lam-test-util.h"

static LamWindow *window;
static LamSession *session;
static gboolean have_data;

static void save_window_png (GtkWindow *shown, const char *name);

static void
iterate_until (gboolean (*done) (gpointer), gpointer data, int timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (!done (data) && g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

static void
settle (int ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

static void
save_png (const char *name)
{
  settle (300);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (GTK_WIDGET (window), path, &error));
  g_assert_no_error (error);
  g_test_message ("saved %s", path);
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

static void
test_data_page (void)
{
  if (!have_data) {
    g_test_skip ("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist");
    return;
  }
  lam_window_show_page (window, "data");
  LamDataPage *page = LAM_DATA_PAGE (lam_window_get_page (window, "data"));
  LamSampleGrid *grid = lam_data_page_get_grid (page);
  g_assert_cmpuint (lam_sample_grid_get_n_visible_samples (grid), ==, 60000);
  save_png ("window-data.png");
}

static void
test_model_page_bad_stack_disables_train (void)
{
  lam_window_show_page (window, "model");
  LamModelPage *page = LAM_MODEL_PAGE (lam_window_get_page (window, "model"));
  LamTrainPage *train = LAM_TRAIN_PAGE (lam_window_get_page (window, "train"));

  lam_model_page_load_preset (page, "small-cnn");
  settle (100);
  g_assert_cmpint (lam_model_page_get_n_layers (page), ==, 10);
  g_autofree char *first = lam_model_page_dup_output_shape (page, 0);
  g_autofree char *flat = lam_model_page_dup_output_shape (page, 6);
  g_autofree char *last = lam_model_page_dup_output_shape (page, 9);
  g_assert_cmpstr (first, ==, "32×28×28");
  g_assert_cmpstr (flat, ==, "3136");
  g_assert_cmpstr (last, ==, "10");
  g_assert_true (lam_session_get_model_valid (session));
  g_assert_true (lam_session_can_start (session_of (train)) == have_data);

  /* A linear layer straight after a convolution does not fit. */
  LamLayerSpec linear = lam_layer_spec_default (LAM_LAYER_LINEAR);
  linear.out = 10;
  lam_model_page_remove_layer (page, 6); /* flatten */
  settle (100);
  g_assert_cmpint (lam_model_page_get_error_layer (page), ==, 6);
  g_assert_false (lam_session_get_model_valid (session));
  g_assert_false (lam_session_can_start (session_of (train)));
  g_assert_false (gtk_widget_is_sensitive (lam_train_page_get_start_button (train)));
  save_png ("window-model-error.png");

  /* The tutorials' MLP fits again and enables Train. */
  lam_model_page_load_preset (page, "mlp");
  settle (100);
  g_assert_cmpint (lam_model_page_get_error_layer (page), ==, -1);
  g_assert_true (lam_session_get_model_valid (session));
  g_assert_true (gtk_widget_is_sensitive (lam_train_page_get_start_button (train)) == have_data);
  save_png ("window-model.png");
  (void) linear;
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

static void
test_single_steps (void)
{
  if (!have_data) {
    g_test_skip ("Fashion-MNIST is not installed");
    return;
  }
  lam_window_show_page (window, "train");
  LamTrainPage *page = LAM_TRAIN_PAGE (lam_window_get_page (window, "train"));
  LamChart *loss = lam_train_page_get_loss_chart (page);

  /* Step (the button's action, which Ctrl+Right activates too) from idle
   * starts a paused run and trains exactly one batch. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "session.step", NULL));
  StepWait wait = { page, 1 };
  iterate_until (step_reached, &wait, 20000);
  g_assert_cmpint (lam_session_get_step (session_of (page)), ==, 1);
  settle (200);
  g_assert_cmpint (lam_session_get_state (session_of (page)), ==, LAM_TRAIN_STATE_PAUSED);
  g_assert_cmpuint (lam_chart_get_n_series (loss), >=, 2);

  activate (page, "step");
  wait.step = 2;
  iterate_until (step_reached, &wait, 20000);
  settle (200);
  g_assert_cmpint (lam_session_get_step (session_of (page)), ==, 2);

  gtk_widget_activate_action (GTK_WIDGET (window), "session.stop", NULL);
  iterate_until (state_is_idle, page, 20000);
  g_assert_cmpint (lam_session_get_state (session_of (page)), ==, LAM_TRAIN_STATE_IDLE);
}

static gboolean
state_is_running (gpointer data)
{
  return lam_session_get_state (session_of (LAM_TRAIN_PAGE (data))) == LAM_TRAIN_STATE_RUNNING;
}

typedef struct
{
  LamTrainPage *page;
  guint notified; /* notify::step since the key */
  gint64 step;    /* wait for at least this step, paused */
} KeyWait;

static gboolean
paused_at_step (gpointer data)
{
  KeyWait *wait = data;
  return wait->notified > 0 && lam_session_get_step (session_of (wait->page)) >= wait->step &&
         lam_session_get_state (session_of (wait->page)) == LAM_TRAIN_STATE_PAUSED;
}

static void
on_key_step_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  ((KeyWait *) user_data)->notified++;
}

/* Presses Ctrl+Right and waits for the run to be paused at `step` or past
 * it; then checks that it stays there, one step on. */
static void
press_step_key (KeyWait *wait, gint64 step)
{
  wait->notified = 0;
  wait->step = step;
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Right, GDK_CONTROL_MASK);
  iterate_until (paused_at_step, wait, 20000);
  settle (300);
  g_assert_cmpuint (wait->notified, >, 0);
  g_assert_cmpint (lam_session_get_state (session_of (wait->page)), ==, LAM_TRAIN_STATE_PAUSED);
  g_assert_cmpint (lam_session_get_step (session_of (wait->page)), ==, step);
}

/* Ctrl+Right trains exactly one batch per press, wherever the focus is on
 * the Train page (a button, the learning rate being typed); pressed while
 * training runs, it pauses where the run got to. */
static void
test_step_shortcut (void)
{
  if (!have_data) {
    g_test_skip ("Fashion-MNIST is not installed");
    return;
  }
  if (!lam_test_can_type_keys (GTK_WIDGET (window))) {
    g_test_skip ("keys cannot be typed here: no X11 display with libXtst.so.6");
    return;
  }
  lam_window_show_page (window, "train");
  LamTrainPage *page = LAM_TRAIN_PAGE (lam_window_get_page (window, "train"));
  lam_session_set_continue_run (session_of (page), FALSE);
  gtk_window_present (GTK_WINDOW (window));
  settle (300);
  g_assert_cmpint (lam_session_get_state (session_of (page)), ==, LAM_TRAIN_STATE_IDLE);
  KeyWait wait = { page };
  gulong handler = g_signal_connect (session_of (page), "notify::step", G_CALLBACK (on_key_step_notify), &wait);

  /* From idle: a new run, paused after one batch. */
  gtk_widget_grab_focus (lam_train_page_get_start_button (page));
  press_step_key (&wait, 1);

  /* Twice more, the focus in a spin button's text. */
  GtkWidget *spin =
    GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (page), LAM_TYPE_TRAIN_PAGE, "lr_spin"));
  gtk_widget_grab_focus (spin);
  g_assert_true (gtk_widget_is_ancestor (gtk_root_get_focus (GTK_ROOT (window)), spin));
  press_step_key (&wait, 2);
  press_step_key (&wait, 3);

  /* Running, a press pauses; the next trains one batch from there. */
  gtk_widget_grab_focus (lam_train_page_get_start_button (page));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "session.start-pause", NULL));
  iterate_until (state_is_running, page, 20000);
  g_assert_cmpint (lam_session_get_state (session_of (page)), ==, LAM_TRAIN_STATE_RUNNING);
  wait.notified = 0;
  wait.step = 4;
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Right, GDK_CONTROL_MASK);
  iterate_until (paused_at_step, &wait, 20000);
  g_assert_cmpint (lam_session_get_state (session_of (page)), ==, LAM_TRAIN_STATE_PAUSED);
  gint64 paused_at = lam_session_get_step (session_of (page));
  settle (300);
  g_assert_cmpint (lam_session_get_step (session_of (page)), ==, paused_at);
  press_step_key (&wait, paused_at + 1);

  gtk_widget_activate_action (GTK_WIDGET (window), "session.stop", NULL);
  iterate_until (state_is_idle, page, 20000);
  g_assert_cmpint (lam_session_get_state (session_of (page)), ==, LAM_TRAIN_STATE_IDLE);

  /* In a text entry Ctrl+Right moves by word and trains nothing. */
  lam_window_show_page (window, "model");
  GtkWidget *model_page = lam_window_get_page (window, "model");
  GtkEditable *entry = GTK_EDITABLE (
    gtk_widget_get_template_child (model_page, LAM_TYPE_MODEL_PAGE, "text_entry"));
  settle (200);
  gtk_widget_grab_focus (GTK_WIDGET (entry));
  gtk_editable_set_position (entry, 0);
  wait.notified = 0;
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Right, GDK_CONTROL_MASK);
  settle (500);
  g_assert_cmpint (gtk_editable_get_position (entry), >, 0);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (
                     GTK_STACK (gtk_widget_get_parent (model_page))), ==, "model");
  g_assert_cmpuint (wait.notified, ==, 0);
  g_assert_cmpint (lam_session_get_state (session_of (page)), ==, LAM_TRAIN_STATE_IDLE);
  g_signal_handler_disconnect (session_of (page), handler);
}

/* Tick callbacks run before a frame is laid out and drawn, so the gap
 * between the first two ticks after a click holds the drawing of what the
 * click changed; it is kept apart from the gaps that follow. */
typedef struct
{
  gint64 last_frame;
  gint64 first_gap;
  gint64 longest_gap;
  guint frames;
  guint chart_updates;
} FrameStats;

static gboolean
on_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  FrameStats *stats = user_data;
  gint64 now = g_get_monotonic_time ();
  if (stats->frames == 1)
    stats->first_gap = now - stats->last_frame;
  else if (stats->frames > 1)
    stats->longest_gap = MAX (stats->longest_gap, now - stats->last_frame);
  stats->last_frame = now;
  stats->frames++;
  return G_SOURCE_CONTINUE;
}

static void
on_step_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  ((FrameStats *) user_data)->chart_updates++;
}

static void
test_train_epoch_live (void)
{
  if (!have_data) {
    g_test_skip ("Fashion-MNIST is not installed");
    return;
  }
  /* Showing a page draws all of it; that frame is timed on its own, and the
   * page has been drawn once before training starts. */
  FrameStats switch_stats = { 0 };
  guint switch_tick =
    gtk_widget_add_tick_callback (GTK_WIDGET (window), on_tick, &switch_stats, NULL);
  lam_window_show_page (window, "train");
  settle (300);
  gtk_widget_remove_tick_callback (GTK_WIDGET (window), switch_tick);
  g_test_message ("showing the Train page: its first frame took %.1f ms",
                  switch_stats.first_gap / 1000.0);

  LamTrainPage *page = LAM_TRAIN_PAGE (lam_window_get_page (window, "train"));
  LamChart *loss = lam_train_page_get_loss_chart (page);
  LamChart *accuracy = lam_train_page_get_accuracy_chart (page);
  /* Two epochs: enough for a curve and two validation points, and within
   * the time limit under sanitizers on a loaded machine (five took 250 s). */
  g_object_set (session_of (page), "lr", (double) 0.002, "epochs", 2, NULL);

  FrameStats stats = { 0 };
  guint tick = gtk_widget_add_tick_callback (GTK_WIDGET (window), on_tick, &stats, NULL);
  gulong handler = g_signal_connect (session_of (page), "notify::step", G_CALLBACK (on_step_notify), &stats);
  gint64 start = g_get_monotonic_time ();

  /* Ctrl+Enter's action: the MLP trains on Fashion-MNIST. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "session.start-pause", NULL));
  g_assert_cmpint (lam_session_get_state (session_of (page)), ==, LAM_TRAIN_STATE_RUNNING);
  iterate_until (state_is_idle, page, 300000);
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  gtk_widget_remove_tick_callback (GTK_WIDGET (window), tick);
  g_signal_handler_disconnect (session_of (page), handler);

  g_assert_cmpint (lam_session_get_state (session_of (page)), ==, LAM_TRAIN_STATE_IDLE);
  g_test_message ("training in the window: %.1f s, %u frames; the frame drawing the Start "
                  "click took %.1f ms, then the longest gap between frames was %.1f ms; %u chart "
                  "updates (%.1f per second)",
                  seconds, stats.frames, stats.first_gap / 1000.0, stats.longest_gap / 1000.0,
                  stats.chart_updates,
                  stats.chart_updates / seconds);
  g_assert_cmpuint (stats.frames, >, 10);
  /* The current run's training curve and its validation point arrived. */
  guint train_points = lam_chart_get_n_points (loss, lam_train_page_get_train_loss_series (page));
  guint val_points =
    lam_chart_get_n_points (accuracy, lam_train_page_get_val_accuracy_series (page));
  g_test_message ("%u training points, %u validation points", train_points, val_points);
  /* The trainer reports at most every 40 ms: two epochs give 30 points
   * here, and 10 on a machine three times as fast. */
  g_assert_cmpuint (train_points, >=, 10);
  g_assert_cmpuint (val_points, ==, lam_session_get_config (session)->epochs);
  /* The run normalised by the dataset's statistics, and the setting stays
   * "from the data": after opening another dataset, its statistics are the
   * ones the Data page shows and training uses, not these. */
  g_assert_true (lam_session_get_config (session)->normalize_from_data);
  save_png ("window-train.png");

  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", TRUE, NULL);
  save_png ("window-train-dark.png");
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", FALSE, NULL);

  /* F11: presentation mode for a projector, and back. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.presentation", NULL));
  g_assert_true (lam_window_get_presentation (window));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (window), "presentation"));
  save_png ("window-train-presentation.png");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.presentation", NULL);
  g_assert_false (lam_window_get_presentation (window));
}

typedef struct
{
  guint n;
  guint ids[LAM_CHART_N_RUN_COLORS];
  GdkRGBA colors[LAM_CHART_N_RUN_COLORS];
  gboolean faded[LAM_CHART_N_RUN_COLORS];
} RunSeries;

/* The legend's entries: one training curve per shown run. */
static void
collect_run_series (LamChart *chart, RunSeries *out)
{
  out->n = 0;
  for (guint i = 0; i < lam_chart_get_n_series (chart); i++) {
    guint id = lam_chart_get_nth_series (chart, i);
    LamChartSeriesFlags flags = lam_chart_get_series_flags (chart, id);
    if (!(flags & LAM_CHART_SERIES_SMOOTHED))
      continue;
    g_assert_cmpuint (out->n, <, LAM_CHART_N_RUN_COLORS);
    out->ids[out->n] = id;
    lam_chart_get_series_color (chart, id, &out->colors[out->n]);
    out->faded[out->n] = (flags & LAM_CHART_SERIES_FADED) != 0;
    out->n++;
  }
}

/* Each shown run in its own colour, the same on both charts; exactly one,
 * the last, at full strength. */
static void
assert_run_colors (LamTrainPage *page, guint n_shown)
{
  LamChart *loss = lam_train_page_get_loss_chart (page);
  LamChart *accuracy = lam_train_page_get_accuracy_chart (page);
  RunSeries a, b;
  collect_run_series (loss, &a);
  collect_run_series (accuracy, &b);
  g_assert_cmpuint (a.n, ==, n_shown);
  g_assert_cmpuint (b.n, ==, n_shown);
  for (guint i = 0; i < a.n; i++) {
    g_assert_cmpstr (lam_chart_get_series_name (loss, a.ids[i]), ==,
                     lam_chart_get_series_name (accuracy, b.ids[i]));
    g_assert_true (gdk_rgba_equal (&a.colors[i], &b.colors[i]));
    g_assert_true (a.faded[i] == (i + 1 < a.n));
    for (guint k = 0; k < i; k++)
      g_assert_false (gdk_rgba_equal (&a.colors[i], &a.colors[k]));
  }
}

static gboolean
chart_has_series_prefix (LamChart *chart, const char *prefix)
{
  for (guint i = 0; i < lam_chart_get_n_series (chart); i++)
    if (g_str_has_prefix (lam_chart_get_series_name (chart, lam_chart_get_nth_series (chart, i)),
                          prefix))
      return TRUE;
  return FALSE;
}

static GtkCheckButton *
run_row_check (LamTrainPage *page, int number)
{
  GtkListBox *list = lam_train_page_get_runs_list (page);
  for (int i = 0;; i++) {
    GtkListBoxRow *row = gtk_list_box_get_row_at_index (list, i);
    if (row == NULL)
      return NULL;
    GtkWidget *check = gtk_widget_get_first_child (gtk_list_box_row_get_child (row));
    if (GPOINTER_TO_INT (g_object_get_data (G_OBJECT (check), "run-number")) == number)
      return GTK_CHECK_BUTTON (check);
  }
}

/* One batch from idle, then stop: a new run of one step. */
static void
short_run (LamTrainPage *page)
{
  lam_session_set_continue_run (session_of (page), FALSE);
  activate (page, "step");
  StepWait wait = { page, 1 };
  iterate_until (step_reached, &wait, 20000);
  g_assert_cmpint (lam_session_get_step (session_of (page)), ==, 1);
  activate (page, "stop");
  iterate_until (state_is_idle, page, 20000);
  g_assert_cmpint (lam_session_get_state (session_of (page)), ==, LAM_TRAIN_STATE_IDLE);
}

static void
test_train_runs (void)
{
  if (!have_data) {
    g_test_skip ("Fashion-MNIST is not installed");
    return;
  }
  lam_window_show_page (window, "train");
  LamTrainPage *page = LAM_TRAIN_PAGE (lam_window_get_page (window, "train"));
  LamChart *loss = lam_train_page_get_loss_chart (page);
  g_assert_cmpuint (lam_session_get_n_runs (session_of (page)), ==, 2);

  /* A third run whose rate is lowered partway, stopped before its end. */
  g_object_set (session_of (page), "lr", (double) 0.001, NULL);
  activate (page, "start-pause");
  StepWait wait = { page, 300 };
  iterate_until (step_reached, &wait, 60000);
  g_object_set (session_of (page), "lr", (double) 0.0002, NULL);
  wait.step = 600;
  iterate_until (step_reached, &wait, 60000);
  settle (100);
  g_assert_cmpuint (lam_chart_get_n_markers (loss), ==, 1);
  activate (page, "stop");
  iterate_until (state_is_idle, page, 20000);
  g_assert_cmpint (lam_session_get_state (session_of (page)), ==, LAM_TRAIN_STATE_IDLE);

  /* The marker outlives the run, and the run keeps the change. */
  g_assert_cmpuint (lam_session_get_n_runs (session_of (page)), ==, 3);
  const LamProjectRun *run3 = lam_session_get_run (session_of (page), 2);
  g_assert_cmpint (run3->number, ==, 3);
  g_assert_cmpuint (run3->lr_changes->len, ==, 1);
  g_assert_cmpfloat (g_array_index (run3->lr_changes, LamRunLrChange, 0).lr, ==, 0.0002);
  g_assert_cmpuint (lam_chart_get_n_markers (loss), ==, 1);
  const char *marker = NULL;
  lam_chart_get_marker (loss, 0, NULL, &marker);
  g_assert_cmpstr (marker, ==, "lr 0.0002");
  g_assert_cmpuint (lam_chart_get_n_markers (lam_train_page_get_accuracy_chart (page)), ==, 1);

  /* Three runs in three colours; the legend names dataset, model and
   * optimizer. */
  assert_run_colors (page, 3);
  RunSeries series;
  collect_run_series (loss, &series);
  const char *model = lam_session_get_spec (session)->name;
  g_assert_nonnull (model);
  const char *optimizers[] = { "Adam 0.001", "Adam 0.002", "Adam 0.001" };
  for (guint i = 0; i < 3; i++) {
    const char *name = lam_chart_get_series_name (loss, series.ids[i]);
    g_autofree char *want = g_strdup_printf ("Run %u · Fashion-MNIST · %s · %s", i + 1, model,
                                             optimizers[i]);
    g_assert_cmpstr (name, ==, want);
  }
  g_assert_false (lam_chart_get_series_flags (loss, lam_train_page_get_train_loss_series (page)) &
                  LAM_CHART_SERIES_FADED);
  save_png ("window-train-runs.png");
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", TRUE, NULL);
  save_png ("window-train-runs-dark.png");
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", FALSE, NULL);
  /* The Runs list, newest first, each with its colour, a check and a
   * delete button. */
  GtkWidget *popover =
    gtk_widget_get_ancestor (GTK_WIDGET (lam_train_page_get_runs_list (page)), GTK_TYPE_POPOVER);
  g_assert_nonnull (popover);
  gtk_popover_popup (GTK_POPOVER (popover));
  settle (300);
  g_assert_true (gtk_widget_get_mapped (popover));
  g_autoptr (GError) png_error = NULL;
  const char *build_dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *list_png = g_build_filename (build_dir ? build_dir : ".",
                                                "window-train-runs-list.png", NULL);
  g_assert_true (lam_ui_save_png (popover, list_png, &png_error));
  g_assert_no_error (png_error);
  gtk_popover_popdown (GTK_POPOVER (popover));
  settle (100);

  /* Saved and opened again: the same runs, colours and lr change. */
  GdkRGBA before[3];
  for (guint i = 0; i < 3; i++)
    before[i] = series.colors[i];
  g_autofree char *dir = g_dir_make_tmp ("lamina-ui-runs-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "runs.lamina", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_window_save_project (window, path, &error));
  g_assert_no_error (error);
  g_autofree char *warning = NULL;
  g_assert_true (lam_window_open_project (window, path, &warning, &error));
  g_assert_no_error (error);
  settle (200);
  g_assert_cmpuint (lam_session_get_n_runs (session_of (page)), ==, 3);
  run3 = lam_session_get_run (session_of (page), 2);
  g_assert_cmpuint (run3->lr_changes->len, ==, 1);
  g_assert_cmpuint (lam_chart_get_n_markers (loss), ==, 1);
  collect_run_series (loss, &series);
  g_assert_cmpuint (series.n, ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_true (gdk_rgba_equal (&before[i], &series.colors[i]));
  const char *names[] = { "runs.lamina", "runs.safetensors", "runs.optimizer.safetensors" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *p = g_build_filename (dir, names[i], NULL);
    g_remove (p);
  }
  g_rmdir (dir);

  /* Hidden through its check, run 2 leaves both charts; shown, it is back
   * in its colour. Deleted, run 1 is gone. */
  GtkCheckButton *check = run_row_check (page, 2);
  g_assert_nonnull (check);
  g_assert_true (gtk_check_button_get_active (check));
  gtk_check_button_set_active (check, FALSE);
  g_assert_true (lam_session_get_run (session_of (page), 1)->hidden);
  g_assert_false (chart_has_series_prefix (loss, "Run 2 "));
  g_assert_false (chart_has_series_prefix (lam_train_page_get_accuracy_chart (page), "Run 2 "));
  assert_run_colors (page, 2);
  gtk_check_button_set_active (run_row_check (page, 2), TRUE);
  g_assert_true (chart_has_series_prefix (loss, "Run 2 "));
  assert_run_colors (page, 3);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "session.delete-run", "i", 1));
  g_assert_cmpuint (lam_session_get_n_runs (session_of (page)), ==, 2);
  g_assert_false (chart_has_series_prefix (loss, "Run 1 "));
  g_assert_null (run_row_check (page, 1));
  assert_run_colors (page, 2);

  /* Runs 4 to 11 fill the ten places without loss; run 12 drops the
   * oldest, run 2, and says so. */
  GtkLabel *note = lam_train_page_get_runs_note (page);
  for (int i = 4; i <= 11; i++)
    short_run (page);
  g_assert_cmpuint (lam_session_get_n_runs (session_of (page)), ==, 10);
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (note)));
  assert_run_colors (page, 10);
  short_run (page);
  g_assert_cmpuint (lam_session_get_n_runs (session_of (page)), ==, 10);
  g_assert_cmpint (lam_session_get_run (session_of (page), 0)->number, ==, 3);
  g_assert_cmpint (lam_session_get_run (session_of (page), 9)->number, ==, 12);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (note)));
  g_assert_nonnull (strstr (gtk_label_get_text (note), "Run 2 was dropped"));
  assert_run_colors (page, 10);
  /* Run 3, now an earlier run, still shows its lr change, named for it. */
  g_assert_cmpuint (lam_chart_get_n_markers (loss), ==, 1);
  lam_chart_get_marker (loss, 0, NULL, &marker);
  g_assert_cmpstr (marker, ==, "run 3: lr 0.0002");
  save_png ("window-train-ten-runs.png");
}

/* A long table scrolls under its header, which stays in view and keeps its
 * columns over the rows'. */
static void
test_epoch_header_stays (void)
{
  lam_window_show_page (window, "train");
  LamTrainPage *page = LAM_TRAIN_PAGE (lam_window_get_page (window, "train"));
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  file->config = *lam_session_get_config (session);
  LamProjectRun *run = lam_project_run_new (1, "mlp, Adam lr 0.001, batch 64");
  for (int e = 1; e <= 60; e++) {
    LamRunEpoch row = { e, 1.0 / e, 1 - 0.5 / e, 1.1 / e, 1 - 0.6 / e, 2.5, 0.001 };
    g_array_append_val (run->epochs, row);
  }
  g_ptr_array_add (file->runs, run);
  lam_session_load_project_file (session_of (page), file);
  settle (300);

  GtkWidget *header = lam_train_page_get_epoch_header (page);
  GtkScrolledWindow *scroller = lam_train_page_get_epoch_scroller (page);
  g_assert_false (gtk_widget_is_ancestor (header, GTK_WIDGET (scroller)));
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (scroller);
  g_assert_cmpfloat (gtk_adjustment_get_upper (adj), >, gtk_adjustment_get_page_size (adj));
  gtk_adjustment_set_value (adj, gtk_adjustment_get_upper (adj));
  settle (200);
  g_assert_cmpfloat (gtk_adjustment_get_value (adj), >, 0);

  /* Still drawn, right above the rows. */
  g_assert_true (gtk_widget_get_mapped (header));
  graphene_rect_t hb, sb;
  g_assert_true (gtk_widget_compute_bounds (header, GTK_WIDGET (window), &hb));
  g_assert_true (gtk_widget_compute_bounds (GTK_WIDGET (scroller), GTK_WIDGET (window), &sb));
  g_assert_cmpfloat (hb.size.height, >, 0);
  g_assert_cmpfloat (hb.origin.y + hb.size.height, <=, sb.origin.y + 0.5);
  g_assert_cmpfloat (sb.origin.y - (hb.origin.y + hb.size.height), <, 8);

  /* Each heading over its column: the same left edge and width. */
  GtkWidget *grid = gtk_scrolled_window_get_child (scroller);
  if (GTK_IS_VIEWPORT (grid))
    grid = gtk_viewport_get_child (GTK_VIEWPORT (grid));
  for (int c = 0; c < 6; c++) {
    GtkWidget *head = gtk_grid_get_child_at (GTK_GRID (header), c, 0);
    GtkWidget *cell = gtk_grid_get_child_at (GTK_GRID (grid), c, 59);
    g_assert_nonnull (head);
    g_assert_nonnull (cell);
    graphene_rect_t a, b;
    g_assert_true (gtk_widget_compute_bounds (head, GTK_WIDGET (window), &a));
    g_assert_true (gtk_widget_compute_bounds (cell, GTK_WIDGET (window), &b));
    g_assert_cmpfloat (fabs (a.origin.x - b.origin.x), <, 0.5);
    g_assert_cmpfloat (fabs (a.size.width - b.size.width), <, 0.5);
  }
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gtk_grid_get_child_at (GTK_GRID (header), 0, 0))),
                   ==, "Epoch");
  save_png ("window-train-epoch-table.png");
}

static void
test_evaluate_page (void)
{
  lam_window_show_page (window, "evaluate");
  save_png ("window-evaluate.png");
}

/* The labels under root that are shown: each is whole (none
 * ellipsized); the widgets of type `type` lie inside the window's width. */
static void
assert_header_fits (GtkWidget *root, GtkWidget *shown)
{
  if (!gtk_widget_get_visible (root))
    return;
  if (GTK_IS_LABEL (root)) {
    g_test_message ("header label “%s”: %d px", gtk_label_get_text (GTK_LABEL (root)),
                    gtk_widget_get_width (root));
    g_assert_false (pango_layout_is_ellipsized (gtk_label_get_layout (GTK_LABEL (root))));
  }
  if (GTK_IS_BUTTON (root)) {
    graphene_rect_t bounds;
    g_assert_true (gtk_widget_compute_bounds (root, shown, &bounds));
    g_assert_cmpfloat (bounds.origin.x, >=, 0);
    g_assert_cmpfloat (bounds.origin.x + bounds.size.width, <=, gtk_widget_get_width (shown));
  }
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    assert_header_fits (child, shown);
}

/* A window of width × height on the session, in presentation mode or not:
 * the header bar names the project and the dataset whole, and its buttons
 * stay in the window. In presentation mode at 1024×768, a classroom
 * projector's, the title was cut to "lesson-3.lamin…". */
static void
check_title (int width, int height, gboolean presentation, const char *png)
{
  lam_session_set_file_path (session, "/tmp/lesson-3.lamina");
  lam_session_set_modified (session, TRUE);
  LamWindow *own = lam_window_new (NULL, session);
  gtk_window_set_default_size (GTK_WINDOW (own), width, height);
  /* Full screen hides the header bar; a window manager may take the
   * window out of it (its keys, a screen it will not fill) with the
   * large text kept, and then the header shows at the projector's size. */
  lam_window_set_presentation (own, presentation);
  gtk_window_unfullscreen (GTK_WINDOW (own));
  gtk_window_present (GTK_WINDOW (own));
  settle (500);
  /* The default size holds the frame's shadow too. */
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (own)), <=, width);
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (own)), >=, width - 20);
  save_window_png (GTK_WINDOW (own), png);
  assert_header_fits (gtk_window_get_titlebar (GTK_WINDOW (own)), GTK_WIDGET (own));
  gtk_window_destroy (GTK_WINDOW (own));
  lam_session_set_file_path (session, NULL);
  lam_session_set_modified (session, FALSE);
  settle (50);
}

static void
test_title_presentation (void)
{
  check_title (1024, 768, TRUE, "window-title-presentation-1024.png");
}

static void
test_title_1280 (void)
{
  check_title (1280, 800, FALSE, "window-title-1280.png");
}

static void
test_shortcuts_window (void)
{
  g_autoptr (GtkBuilder) builder =
    gtk_builder_new_from_resource ("/org/lamina/Lamina/gtk/help-overlay.ui");
  GtkWindow *overlay = GTK_WINDOW (gtk_builder_get_object (builder, "help_overlay"));
  g_assert_nonnull (overlay);
  gtk_window_set_transient_for (overlay, GTK_WINDOW (window));
  gtk_window_present (overlay);
  settle (500);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", "window-shortcuts.png", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (GTK_WIDGET (overlay), path, &error));
  g_assert_no_error (error);
  gtk_window_destroy (overlay);
}

static gboolean
dataset_is (gpointer data)
{
  return !lam_session_get_loading (session) &&
         g_strcmp0 (lam_session_get_dataset_dir (session), data) == 0;
}

/* After training on Fashion-MNIST, another dataset (two classes of white
 * bars) is opened: every page shows the new dataset or says that what it
 * shows belongs to the old one. */
static void
test_dataset_switch (void)
{
  if (!have_data) {
    g_test_skip ("Fashion-MNIST is not installed");
    return;
  }
  LamTrainPage *train = LAM_TRAIN_PAGE (lam_window_get_page (window, "train"));
  const char *score = lam_train_page_get_test_text (train);
  if (score == NULL) {
    /* The run before was stopped: one that finishes gives a test score. */
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "session.start-pause", NULL));
    iterate_until (state_is_idle, train, 300000);
    score = lam_train_page_get_test_text (train);
  }
  g_assert_nonnull (score);
  g_assert_nonnull (strstr (score, "Fashion-MNIST"));
  float old_mean[3], old_std[3];
  lam_session_get_dataset_stats (session, old_mean, old_std);

  g_autofree char *dir = lam_test_write_bars_dataset (40, 2);

  lam_data_page_load_folder (LAM_DATA_PAGE (lam_window_get_page (window, "data")), dir);
  iterate_until (dataset_is, dir, 30000);
  g_assert_true (dataset_is (dir));
  settle (500);

  /* Data: the new images' statistics (one bright column in 28: mean 1/28). */
  float mean[3], std[3];
  lam_session_get_dataset_stats (session, mean, std);
  g_assert_cmpfloat_with_epsilon (mean[0], 1.0 / 28, 1e-4);
  g_assert_true (lam_session_get_config (session)->normalize_from_data);
  lam_window_show_page (window, "data");
  save_png ("window-switch-data.png");
  /* Train: the old score says whose it is. */
  score = lam_train_page_get_test_text (train);
  g_assert_nonnull (score);
  g_assert_nonnull (strstr (score, "measured before"));
  lam_window_show_page (window, "train");
  save_png ("window-switch-train.png");
  /* Model: ten scores for two classes is flagged, with the fix offered. */
  lam_window_show_page (window, "model");
  save_png ("window-switch-model.png");
  /* Evaluate: Fashion-MNIST's weights on these images say so. */
  lam_window_show_page (window, "evaluate");
  settle (2000);
  const char *trained_on = NULL;
  g_assert_false (lam_session_get_weights_match_dataset (session, &trained_on));
  g_assert_nonnull (strstr (trained_on, "Fashion-MNIST"));
  save_png ("window-switch-evaluate.png");
  lam_test_remove_tree (dir);
}

/* A session of its own on the blobs table at path, with a linear model
 * that fits its three classes, and the Train page viewing it in a window
 * of the smallest size the app supports. */
/* Marks data done, having checked that the table opened. */
static void
on_table_loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_session_load_dataset_finish (LAM_SESSION (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) data = TRUE;
}

static LamSession *
new_table_session (const char *path, GtkWidget **page, GtkWindow **shown)
{
  LamSession *own = lam_session_new ();
  gboolean loaded = FALSE;
  lam_session_load_dataset_async (own, path, NULL, on_table_loaded, &loaded);
  iterate_until (flag_set, &loaded, 20000);
  g_assert_true (loaded);
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("linear:3", NULL);
  lam_session_set_spec (own, spec);
  g_object_set (own, "epochs", 1, "seed", (guint64) 7, "device", "cpu", NULL);
  *page = lam_train_page_new (own);
  *shown = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (*shown, 1024, 768);
  gtk_window_set_child (*shown, *page);
  gtk_window_present (*shown);
  return own;
}

static void
open_table (LamSession *own, const char *path)
{
  gboolean loaded = FALSE;
  lam_session_load_dataset_async (own, path, NULL, on_table_loaded, &loaded);
  iterate_until (flag_set, &loaded, 20000);
  g_assert_true (loaded);
  settle (50);
}

static void
save_window_png (GtkWindow *shown, const char *name)
{
  settle (300);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (GTK_WIDGET (shown), path, &error));
  g_assert_no_error (error);
}

/* The score of a run names the dataset open now when it was measured on
 * another: after a second switch it went on naming the first dataset
 * opened after the run. */
static void
test_score_names_open_dataset (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-score-XXXXXX", NULL);
  const char *names[] = { "first.csv", "second.csv", "third.csv" };
  char *paths[3];
  for (int i = 0; i < 3; i++) {
    paths[i] = g_build_filename (dir, names[i], NULL);
    lam_test_write_blobs_csv (paths[i], 120, 2, 3, 11 + i);
  }
  GtkWidget *page;
  GtkWindow *shown;
  g_autoptr (LamSession) own = new_table_session (paths[0], &page, &shown);
  activate (page, "start-pause");
  iterate_until (state_is_idle, page, 60000);
  settle (100);
  g_autofree char *score = g_strdup (lam_train_page_get_test_text (LAM_TRAIN_PAGE (page)));
  g_assert_nonnull (score);
  g_assert_null (strstr (score, "measured before"));

  open_table (own, paths[1]);
  const char *text = lam_train_page_get_test_text (LAM_TRAIN_PAGE (page));
  g_test_message ("after one switch: %s", text);
  g_assert_nonnull (strstr (text, "second.csv"));
  open_table (own, paths[2]);
  text = lam_train_page_get_test_text (LAM_TRAIN_PAGE (page));
  g_test_message ("after two switches: %s", text);
  save_window_png (shown, "window-train-score-third-dataset.png");
  g_assert_true (g_str_has_prefix (text, score));
  g_assert_nonnull (strstr (text, "third.csv"));
  g_assert_null (strstr (text, "second.csv"));
  open_table (own, paths[0]);
  g_assert_cmpstr (lam_train_page_get_test_text (LAM_TRAIN_PAGE (page)), ==, score);

  gtk_window_destroy (shown);
  for (int i = 0; i < 3; i++)
    g_free (paths[i]);
  lam_test_remove_tree (dir);
}

/* Continue is offered only where Start could start: after a dataset the
 * model does not fit (four classes for three outputs), the check stayed
 * enabled while Start was disabled. */
static void
test_continue_follows_start (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-continue-XXXXXX", NULL);
  g_autofree char *three = g_build_filename (dir, "three.csv", NULL);
  g_autofree char *four = g_build_filename (dir, "four.csv", NULL);
  lam_test_write_blobs_csv (three, 120, 2, 3, 5);
  lam_test_write_blobs_csv (four, 120, 2, 4, 5);
  GtkWidget *page;
  GtkWindow *shown;
  g_autoptr (LamSession) own = new_table_session (three, &page, &shown);
  activate (page, "start-pause");
  iterate_until (state_is_idle, page, 60000);
  settle (100);
  GtkWidget *check = GTK_WIDGET (
    gtk_widget_get_template_child (GTK_WIDGET (page), LAM_TYPE_TRAIN_PAGE, "continue_check"));
  GActionGroup *actions = lam_session_get_actions (own);
  g_assert_true (gtk_widget_get_visible (check));
  g_assert_true (gtk_widget_is_sensitive (check));

  open_table (own, four);
  save_window_png (shown, "window-train-continue-misfit.png");
  g_assert_false (lam_session_get_model_valid (own));
  g_assert_false (g_action_group_get_action_enabled (actions, "start-pause"));
  g_assert_false (gtk_widget_get_visible (check) && gtk_widget_is_sensitive (check));

  open_table (own, three);
  g_assert_true (g_action_group_get_action_enabled (actions, "start-pause"));
  g_assert_true (gtk_widget_get_visible (check));
  g_assert_true (gtk_widget_is_sensitive (check));

  gtk_window_destroy (shown);
  lam_test_remove_tree (dir);
}

/* The loss chart's two "?" sat side by side with nothing to tell them
 * apart: each has its topic's name shown before it, and its own name for
 * a screen reader and a tooltip. */
static void
test_loss_help_labelled (void)
{
  lam_window_show_page (window, "train");
  settle (200);
  GtkWidget *page = lam_window_get_page (window, "train");
  const char *topics[] = { "loss", "overfitting" };
  graphene_rect_t bounds[2];
  for (guint i = 0; i < G_N_ELEMENTS (topics); i++) {
    GtkWidget *help = lam_test_find_help_button (page, topics[i]);
    g_assert_nonnull (help);
    const char *title = lam_help_get_title (topics[i]);
    GtkWidget *label = gtk_widget_get_prev_sibling (help);
    g_assert_true (GTK_IS_LABEL (label));
    g_assert_true (gtk_widget_get_mapped (label));
    g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, title);
    GtkWidget *button = gtk_widget_get_first_child (help);
    g_assert_true (GTK_IS_MENU_BUTTON (button));
    g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (button), title));
    g_assert_nonnull (strstr (lam_ui_get_accessible_label (button), title));
    /* The label reads before its own button, after the one before it. */
    graphene_rect_t text, own;
    g_assert_true (gtk_widget_compute_bounds (label, GTK_WIDGET (window), &text));
    g_assert_true (gtk_widget_compute_bounds (help, GTK_WIDGET (window), &own));
    g_assert_cmpfloat (text.origin.x + text.size.width, <=, own.origin.x + 0.5);
    if (i > 0)
      g_assert_cmpfloat (text.origin.x, >=, bounds[i - 1].origin.x + bounds[i - 1].size.width);
    bounds[i] = own;
  }
  save_png ("window-train-loss-help.png");
}

/* The first widget under root of the given type whose tooltip starts with
 * prefix (the Train page's settings are found as a user reads them). */
static GtkWidget *
find_by_tooltip (GtkWidget *root, GType type, const char *prefix)
{
  const char *tip = gtk_widget_get_tooltip_text (root);
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type) && tip != NULL && g_str_has_prefix (tip, prefix))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkWidget *found = find_by_tooltip (child, type, prefix);
    if (found != NULL)
      return found;
  }
  return NULL;
}

static const char *
find_label_starting (GtkWidget *root, const char *prefix)
{
  if (GTK_IS_LABEL (root) && g_str_has_prefix (gtk_label_get_text (GTK_LABEL (root)), prefix))
    return gtk_label_get_text (GTK_LABEL (root));
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    const char *found = find_label_starting (child, prefix);
    if (found != NULL)
      return found;
  }
  return NULL;
}

/* The Train page's further settings (augmentation, normalisation, weight
 * decay, schedule) start at the command line's defaults, reach the
 * lesson's settings as they are edited, and the Data page shows what they
 * do: no augmentation preview when there is none, exactly the chosen shift
 * and mirroring when there is. */
static void
test_settings_reach_data_page (void)
{
  GtkWidget *train = GTK_WIDGET (lam_window_get_page (window, "train"));
  GtkWidget *data = GTK_WIDGET (lam_window_get_page (window, "data"));
  const LamTrainerConfig *config = lam_session_get_config (session);
  LamTrainerConfig cli = lam_trainer_config_default ();
  g_assert_cmpint (config->crop_padding, ==, cli.crop_padding);
  g_assert_cmpint (config->hflip, ==, cli.hflip);
  g_assert_cmpint (config->schedule.kind, ==, cli.schedule.kind);
  g_assert_cmpfloat (config->optimizer.weight_decay, ==, cli.optimizer.weight_decay);
  g_assert_nonnull (find_label_starting (data, "No augmentation"));

  /* A collapsed expander keeps its child out of the widget tree. */
  GtkWidget *stack[256];
  int top = 0;
  stack[top++] = train;
  while (top > 0) {
    GtkWidget *w = stack[--top];
    if (GTK_IS_EXPANDER (w))
      gtk_expander_set_expanded (GTK_EXPANDER (w), TRUE);
    for (GtkWidget *c = gtk_widget_get_first_child (w); c != NULL && top < 256;
         c = gtk_widget_get_next_sibling (c))
      stack[top++] = c;
  }
  settle (100);
  GtkSpinButton *crop = GTK_SPIN_BUTTON (
    find_by_tooltip (train, GTK_TYPE_SPIN_BUTTON, "Augmentation: random crops"));
  GtkCheckButton *hflip =
    GTK_CHECK_BUTTON (find_by_tooltip (train, GTK_TYPE_CHECK_BUTTON, "Augmentation: flip"));
  GtkDropDown *norm =
    GTK_DROP_DOWN (find_by_tooltip (train, GTK_TYPE_DROP_DOWN, "What the network gets"));
  GtkDropDown *schedule =
    GTK_DROP_DOWN (find_by_tooltip (train, GTK_TYPE_DROP_DOWN, "How the learning rate changes"));
  GtkSpinButton *decay =
    GTK_SPIN_BUTTON (find_by_tooltip (train, GTK_TYPE_SPIN_BUTTON, "L2 penalty"));
  g_assert_nonnull (crop);
  g_assert_nonnull (hflip);
  g_assert_nonnull (norm);
  g_assert_nonnull (schedule);
  g_assert_nonnull (decay);

  gtk_spin_button_set_value (crop, 3);
  gtk_check_button_set_active (hflip, TRUE);
  settle (100);
  g_assert_cmpint (config->crop_padding, ==, 3);
  g_assert_true (config->hflip);
  g_assert_nonnull (
    find_label_starting (data, "Every epoch, shifted by up to 3 pixels and mirrored half"));
  gtk_window_present (GTK_WINDOW (window));
  lam_window_show_page (window, "data");
  save_png ("window-data-augmented.png");

  gtk_drop_down_set_selected (norm, 1);
  settle (100);
  g_assert_false (config->normalize_from_data);
  g_assert_cmpfloat (config->mean[0], ==, 0);
  g_assert_cmpfloat (config->std[0], ==, 1);
  g_assert_nonnull (find_label_starting (data, "Training uses mean 0"));

  gtk_drop_down_set_selected (schedule, 2);
  gtk_spin_button_set_value (decay, 0.0005);
  settle (100);
  g_assert_cmpint (config->schedule.kind, ==, LAM_SCHEDULE_COSINE);
  g_assert_cmpint (config->schedule.t_max, ==, config->epochs);
  g_assert_cmpfloat (config->optimizer.weight_decay, ==, 0.0005);
  lam_window_show_page (window, "train");
  save_png ("window-train-more-settings.png");

  /* Back as the defaults were, for whatever runs next. */
  gtk_spin_button_set_value (crop, 0);
  gtk_check_button_set_active (hflip, FALSE);
  gtk_drop_down_set_selected (norm, 0);
  gtk_drop_down_set_selected (schedule, 0);
  gtk_spin_button_set_value (decay, 0);
  settle (100);
  g_assert_true (config->normalize_from_data);
  g_assert_nonnull (find_label_starting (data, "No augmentation"));
}

/* ---- workers at exit ---- */

static void
slow_worker (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  g_usleep (GPOINTER_TO_UINT (task_data));
  /* Seen only if the program waited for this worker before it ended; a
   * TAP comment, since the second worker prints it beside the test's own
   * output. */
  g_print ("# worker finished\n");
  g_task_return_boolean (task, TRUE);
}

static void
start_slow_worker (guint us)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, NULL, NULL);
  g_task_set_task_data (task, GUINT_TO_POINTER (us), NULL);
  lam_ui_run_in_thread (task, slow_worker);
}

/* A worker still running when the program ends is waited for (a worker
 * inside an OpenBLAS product when the library's destructor ran crashed
 * test-evaluate-page's exit); lam_ui_wait_for_workers says when none runs. */
static void
test_workers_waited_for (void)
{
  if (g_test_subprocess ()) {
    start_slow_worker (300000);
    g_assert_false (lam_ui_wait_for_workers (0));
    exit (0);
  }
  g_test_trap_subprocess (NULL, 20 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*worker finished*");

  start_slow_worker (100000);
  g_assert_false (lam_ui_wait_for_workers (1000));
  g_assert_true (lam_ui_wait_for_workers (10 * G_USEC_PER_SEC));
  g_assert_true (lam_ui_wait_for_workers (0));
}

/* ---- accessible names ---- */

/* TRUE when a label under widget says something in words: a "?" or an
 * arrow is not a name a screen reader can speak usefully. */
static gboolean
has_text_label (GtkWidget *widget)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_get_visible (widget)) {
    for (const char *p = gtk_label_get_text (GTK_LABEL (widget)); *p != '\0';
         p = g_utf8_next_char (p))
      if (g_unichar_isalnum (g_utf8_get_char (p)))
        return TRUE;
  }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (has_text_label (child))
      return TRUE;
  return FALSE;
}

/* The name a screen reader gets for widget, as far as a test can see in
 * GTK 4.8: one set through lam_ui_set_accessible_label, or the tooltip
 * (which GTK gives as the description); a menu button's tooltip sits on
 * the menu button, around the button that takes the focus. */
static const char *
spoken_name (GtkWidget *widget)
{
  const char *name = lam_ui_get_accessible_label (widget);
  if (name == NULL)
    name = gtk_widget_get_tooltip_text (widget);
  GtkWidget *parent = gtk_widget_get_parent (widget);
  if (name == NULL && parent != NULL && GTK_IS_MENU_BUTTON (parent))
    return spoken_name (parent);
  return name;
}

static gboolean
is_drawn_view (GtkWidget *widget)
{
  if (!g_str_has_prefix (G_OBJECT_TYPE_NAME (widget), "Lam"))
    return FALSE;
  GtkAccessibleRole role = gtk_accessible_get_accessible_role (GTK_ACCESSIBLE (widget));
  return role == GTK_ACCESSIBLE_ROLE_IMG || role == GTK_ACCESSIBLE_ROLE_GRID;
}

static void
collect_unnamed (GtkWidget *widget, const char *page, GString *problems)
{
  /* Pages the stack does not show are not child-visible. */
  if (!gtk_widget_get_visible (widget) || !gtk_widget_get_child_visible (widget))
    return;
  /* The window's own minimize and close buttons are GTK's, named by it. */
  if (GTK_IS_WINDOW_CONTROLS (widget))
    return;
  /* A spin button's − and + are not in the focus chain; its own name
   * comes from its label. */
  if (GTK_IS_SPIN_BUTTON (widget))
    return;
  if (LAM_IS_HELP_BUTTON (widget)) {
    const char *topic = lam_help_button_get_topic (LAM_HELP_BUTTON (widget));
    const char *title = topic != NULL ? lam_help_get_title (topic) : NULL;
    GtkWidget *button = gtk_widget_get_first_child (widget);
    const char *name = button != NULL ? spoken_name (button) : NULL;
    if (title == NULL || name == NULL || strstr (name, title) == NULL)
      g_string_append_printf (problems, "%s: a \"?\" (topic %s) is named \"%s\"\n", page,
                              topic ? topic : "none", name ? name : "(nothing)");
    return;
  }
  if (GTK_IS_BUTTON (widget) && !has_text_label (widget) && spoken_name (widget) == NULL) {
    const char *icon = gtk_button_get_icon_name (GTK_BUTTON (widget));
    GtkWidget *parent = gtk_widget_get_parent (widget);
    g_string_append_printf (problems, "%s: a %s (icon %s, in a %s) has no name\n", page,
                            G_OBJECT_TYPE_NAME (widget), icon ? icon : "none",
                            parent ? G_OBJECT_TYPE_NAME (parent) : "nothing");
  }
  if (is_drawn_view (widget) && spoken_name (widget) == NULL)
    g_string_append_printf (problems, "%s: the drawn %s has no name\n", page,
                            G_OBJECT_TYPE_NAME (widget));
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_unnamed (child, page, problems);
}

/* Every page, as a student with a screen reader meets it: each button
 * without words (an icon, a "?", an arrow) and each drawn view (a chart, a
 * grid of images) has a name, and each "?" says which topic it explains. */
static void
test_accessible_names (void)
{
  static const char *const pages[] = { "data", "model", "train", "evaluate" };
  g_autoptr (GString) problems = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (pages); i++) {
    lam_window_show_page (window, pages[i]);
    settle (300);
    collect_unnamed (GTK_WIDGET (window), pages[i], problems);
  }
  if (problems->len > 0)
    g_test_message ("%s", problems->str);
  g_assert_cmpstr (problems->str, ==, "");
}

/* The drawn views of tables and the 2-D playground, hidden while
 * Fashion-MNIST is open (so the window walk above never meets them), are
 * named for a screen reader too. */
static void
test_table_views_named (void)
{
  GtkWidget *views[] = { lam_batch_strip_new (), lam_boundary_view_new (),
                         lam_column_histograms_new (), lam_fit_view_new (),
                         lam_neuron_maps_new () };
  for (guint i = 0; i < G_N_ELEMENTS (views); i++) {
    g_object_ref_sink (views[i]);
    const char *name = lam_ui_get_accessible_label (views[i]);
    g_test_message ("%s: %s", G_OBJECT_TYPE_NAME (views[i]), name ? name : "(none)");
    g_assert_nonnull (name);
    g_assert_cmpuint (strlen (name), >, 0);
    g_object_unref (views[i]);
  }
}

/* ---- form fields ---- */

static gboolean
is_form_field (GtkWidget *widget)
{
  return GTK_IS_SPIN_BUTTON (widget) || GTK_IS_ENTRY (widget) || GTK_IS_DROP_DOWN (widget) ||
         GTK_IS_SCALE (widget) || GTK_IS_SWITCH (widget) || GTK_IS_TEXT (widget);
}

/* Every field a value is typed or picked in, shown or not: each is
 * labelled by its visible label (a mnemonic label sets the relation), or,
 * where none is drawn beside it, has a name of its own. A tooltip is
 * only a description: a screen reader says "combo box" and nothing else. */
static void
collect_unlabelled_fields (GtkWidget *widget, const char *where, GString *problems)
{
  if (is_form_field (widget)) {
    GtkAccessible *field = GTK_ACCESSIBLE (widget);
    if (!gtk_test_accessible_has_relation (field, GTK_ACCESSIBLE_RELATION_LABELLED_BY) &&
        !gtk_test_accessible_has_property (field, GTK_ACCESSIBLE_PROPERTY_LABEL)) {
      const char *tip = gtk_widget_get_tooltip_text (widget);
      GtkWidget *parent = gtk_widget_get_parent (widget);
      g_string_append_printf (problems, "%s: a %s (in a %s, tooltip \"%s\") is not labelled\n",
                              where, G_OBJECT_TYPE_NAME (widget),
                              parent ? G_OBJECT_TYPE_NAME (parent) : "nothing", tip ? tip : "none");
    }
    /* Its text and its popover belong to it. */
    return;
  }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_unlabelled_fields (child, where, problems);
}

/* The labels that label a field through a mnemonic are those shown beside
 * it: the relation names them. */
static void
assert_mnemonic_labels_named (GtkWidget *field)
{
  g_autoptr (GList) labels = gtk_widget_list_mnemonic_labels (field);
  g_assert_nonnull (labels);
  g_assert_true (gtk_widget_get_visible (labels->data));
  g_assert_true (
    gtk_test_accessible_has_relation (GTK_ACCESSIBLE (field), GTK_ACCESSIBLE_RELATION_LABELLED_BY));
}

/* The window's pages and the dialogs with fields (the 2-D playground, a
 * table's columns). */
static void
test_form_fields_labelled (void)
{
  g_autoptr (GString) problems = g_string_new (NULL);
  collect_unlabelled_fields (GTK_WIDGET (window), "window", problems);

  LamPlaygroundDialog *playground = lam_playground_dialog_new (GTK_WINDOW (window));
  collect_unlabelled_fields (GTK_WIDGET (playground), "playground", problems);
  gtk_window_destroy (GTK_WINDOW (playground));

  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("lamina-ui-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *csv = g_build_filename (dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (csv, 40, 2, 3, 1);
  LamTableDialog *table = lam_table_dialog_new (GTK_WINDOW (window), csv, &error);
  g_assert_no_error (error);
  collect_unlabelled_fields (GTK_WIDGET (table), "table dialog", problems);
  gtk_window_destroy (GTK_WINDOW (table));
  lam_test_remove_tree (dir);

  if (problems->len > 0)
    g_test_message ("%s", problems->str);
  g_assert_cmpstr (problems->str, ==, "");

  /* The Train page's fields, labelled through their mnemonics. */
  static const char *const fields[] = { "epochs_spin",        "batch_spin",     "lr_spin",
                                        "momentum_spin",      "val_spin",       "seed_spin",
                                        "optimizer_dropdown", "device_dropdown" };
  GtkWidget *train = lam_window_get_page (window, "train");
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    assert_mnemonic_labels_named (
      GTK_WIDGET (gtk_widget_get_template_child (train, LAM_TYPE_TRAIN_PAGE, fields[i])));
}

static gboolean
focus_moved (gpointer data)
{
  GtkWidget **last = data;
  return gtk_root_get_focus (GTK_ROOT (window)) != *last;
}

/* Tab on the Train page goes through its controls in reading order (the
 * settings column top to bottom, then the charts' controls), skipping
 * none that can be used and leaving each one it enters. */
static void
test_train_tab_order (void)
{
  if (!lam_test_can_type_keys (GTK_WIDGET (window))) {
    g_test_skip ("keys cannot be typed here: no X11 display with libXtst.so.6");
    return;
  }
  static const char *const order[] = {
    "epochs_spin",   "batch_spin",      "optimizer_dropdown", "lr_spin",         "lr_find_button",
    "momentum_spin", "val_spin",        "seed_spin",          "device_dropdown", "start_button",
    "pace_dropdown", "smoothing_scale", "log_check",          "overlay_check",   "runs_button",
  };
  lam_window_show_page (window, "train");
  gtk_window_present (GTK_WINDOW (window));
  settle (300);
  GtkWidget *page = lam_window_get_page (window, "train");
  /* Collapsed, as on a first visit: Tab went from "More settings" into
   * the hidden settings (a critical). */
  gtk_expander_set_expanded (
    GTK_EXPANDER (gtk_widget_get_template_child (page, LAM_TYPE_TRAIN_PAGE, "more_expander")),
    FALSE);
  GtkWidget *controls[G_N_ELEMENTS (order)];
  guint n_expected = 0;
  for (guint i = 0; i < G_N_ELEMENTS (order); i++) {
    GtkWidget *control =
      GTK_WIDGET (gtk_widget_get_template_child (page, LAM_TYPE_TRAIN_PAGE, order[i]));
    /* Momentum is for SGD only; a button may be off while nothing can run. */
    if (gtk_widget_get_mapped (control) && gtk_widget_is_sensitive (control))
      controls[n_expected++] = control;
  }
  g_assert_cmpuint (n_expected, >=, 10);

  gtk_widget_grab_focus (controls[0]);
  GtkWidget *last = gtk_root_get_focus (GTK_ROOT (window));
  g_assert_true (gtk_widget_is_ancestor (last, controls[0]) || last == controls[0]);
  g_autoptr (GString) seen = g_string_new (order[0]);
  guint next = 1;
  for (int press = 0; press < 120 && next < n_expected; press++) {
    lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Tab, 0);
    iterate_until (focus_moved, &last, 2000);
    GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));
    /* Trapped: the focus stays where it was. */
    g_assert_true (focus != last);
    last = focus;
    for (guint i = 0; i < n_expected; i++)
      if (focus == controls[i] || gtk_widget_is_ancestor (focus, controls[i])) {
        g_string_append_printf (seen, " %s", G_OBJECT_TYPE_NAME (controls[i]));
        /* Skipped or out of order: a later control before this one. */
        g_assert_cmpuint (i, ==, next);
        next++;
        break;
      }
  }
  g_test_message ("Tab went through: %s", seen->str);
  g_assert_cmpuint (next, ==, n_expected);
}

/* Tabs from where the focus is to the nth (from 0) control with that
 * tooltip; NULL when 200 presses do not get there. */
static GtkWidget *
tab_to_nth (const char *tooltip, int nth)
{
  GtkWidget *last = gtk_root_get_focus (GTK_ROOT (window));
  for (int press = 0; press < 200; press++) {
    lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Tab, 0);
    iterate_until (focus_moved, &last, 1000);
    last = gtk_root_get_focus (GTK_ROOT (window));
    const char *tip = last ? gtk_widget_get_tooltip_text (last) : NULL;
    if (tip && strcmp (tip, tooltip) == 0 && nth-- == 0)
      return last;
  }
  return NULL;
}

/* Tab through the layer palette stops once on each layer's button: the
 * flow box's cell around each button was a second, silent stop (28 presses
 * for 14 layers). Space on a button adds its layer. */
static void
test_model_palette_tab (void)
{
  if (!lam_test_can_type_keys (GTK_WIDGET (window))) {
    g_test_skip ("keys cannot be typed here: no X11 display with libXtst.so.6");
    return;
  }
  LamModelPage *page = LAM_MODEL_PAGE (lam_window_get_page (window, "model"));
  lam_model_page_load_preset (page, "mlp");
  lam_window_show_page (window, "model");
  gtk_window_present (GTK_WINDOW (window));
  settle (300);
  GtkWidget *palette = GTK_WIDGET (
    gtk_widget_get_template_child (GTK_WIDGET (page), LAM_TYPE_MODEL_PAGE, "palette_box"));
  GtkWidget *presets = GTK_WIDGET (
    gtk_widget_get_template_child (GTK_WIDGET (page), LAM_TYPE_MODEL_PAGE, "presets_button"));
  /* The Presets button is the last stop before the palette. */
  gtk_widget_grab_focus (presets);
  GtkWidget *last = gtk_root_get_focus (GTK_ROOT (window));
  g_autoptr (GString) seen = g_string_new (NULL);
  guint n_stops = 0;
  GtkWidget *relu = NULL;
  for (int press = 0; press < 60; press++) {
    lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Tab, 0);
    iterate_until (focus_moved, &last, 1000);
    GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));
    g_assert_true (focus != last);
    last = focus;
    if (!gtk_widget_is_ancestor (focus, palette)) {
      if (n_stops > 0)
        break;
      continue;
    }
    g_autofree char *text = lam_test_describe_focus (focus);
    g_string_append_printf (seen, "\n  %s", text);
    /* Each stop is a button that adds a layer. */
    g_assert_true (GTK_IS_BUTTON (focus));
    const char *tip = gtk_widget_get_tooltip_text (focus);
    if (tip != NULL && strstr (tip, "Add ReLU ") != NULL)
      relu = focus;
    n_stops++;
  }
  g_test_message ("the palette's stops:%s", seen->str);
  g_assert_cmpuint (n_stops, ==, LAM_N_LAYER_KINDS);

  g_assert_nonnull (relu);
  int n_layers = lam_model_page_get_n_layers (page);
  gtk_widget_grab_focus (relu);
  settle (100);
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_space, 0);
  settle (300);
  g_assert_cmpint (lam_model_page_get_n_layers (page), ==, n_layers + 1);
  save_png ("window-model-palette-by-keys.png");
}

/* "Larger images" pressed with Space until the images are at their
 * largest turns the button off under the focus: the focus moves to the
 * size slider beside it, which still answers the arrows, and Tab goes on
 * from there. */
static void
test_data_zoom_keeps_focus (void)
{
  if (!have_data) {
    g_test_skip ("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist");
    return;
  }
  if (!lam_test_can_type_keys (GTK_WIDGET (window))) {
    g_test_skip ("keys cannot be typed here: no X11 display with libXtst.so.6");
    return;
  }
  lam_window_show_page (window, "data");
  gtk_window_present (GTK_WINDOW (window));
  settle (300);
  GtkWidget *page = lam_window_get_page (window, "data");
  GtkWidget *larger =
    GTK_WIDGET (gtk_widget_get_template_child (page, LAM_TYPE_DATA_PAGE, "zoom_in_button"));
  GtkWidget *scale =
    GTK_WIDGET (gtk_widget_get_template_child (page, LAM_TYPE_DATA_PAGE, "zoom_scale"));
  GtkAdjustment *zoom = gtk_range_get_adjustment (GTK_RANGE (scale));
  double size_before = gtk_adjustment_get_value (zoom);
  gtk_widget_child_focus (page, GTK_DIR_TAB_FORWARD);
  g_assert_true (tab_to_nth (gtk_widget_get_tooltip_text (larger), 0) == larger);

  for (int press = 0; press < 20 && gtk_widget_is_sensitive (larger); press++) {
    lam_test_type_key (GTK_WIDGET (window), GDK_KEY_space, 0);
    settle (100);
  }
  g_assert_false (gtk_widget_is_sensitive (larger));
  g_assert_cmpfloat (gtk_adjustment_get_value (zoom), ==, gtk_adjustment_get_upper (zoom));
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));
  g_autofree char *seen = lam_test_describe_focus (focus);
  g_test_message ("at the largest images the focus is on %s", seen);
  save_png ("window-data-zoomed-by-keys.png");
  g_assert_nonnull (focus);
  g_assert_true (focus == scale || gtk_widget_is_ancestor (focus, scale));

  /* The slider takes the images smaller again with an arrow. */
  double largest = gtk_adjustment_get_value (zoom);
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Left, 0);
  settle (100);
  g_assert_cmpfloat (gtk_adjustment_get_value (zoom), <, largest);
  gtk_adjustment_set_value (zoom, size_before);
}

/* Tab into the image grid: the selected image's ring turns full strength,
 * and Tab out turns it back, so that a person at the keyboard sees where
 * the arrows will go. The ring kept the look it had before the focus
 * came or went. The arrows then move the selection. */
static void
test_data_grid_shows_focus (void)
{
  if (!have_data) {
    g_test_skip ("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist");
    return;
  }
  if (!lam_test_can_type_keys (GTK_WIDGET (window))) {
    g_test_skip ("keys cannot be typed here: no X11 display with libXtst.so.6");
    return;
  }
  lam_window_show_page (window, "data");
  gtk_window_present (GTK_WINDOW (window));
  settle (300);
  GtkWidget *page = lam_window_get_page (window, "data");
  GtkWidget *grid = GTK_WIDGET (lam_data_page_get_grid (LAM_DATA_PAGE (page)));
  gtk_widget_child_focus (page, GTK_DIR_TAB_FORWARD);
  settle (100);
  g_autoptr (GBytes) before = lam_test_render_pixels (grid);
  GtkWidget *last = gtk_root_get_focus (GTK_ROOT (window));
  for (int press = 0; press < 30 && last != grid; press++) {
    lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Tab, 0);
    iterate_until (focus_moved, &last, 1000);
    last = gtk_root_get_focus (GTK_ROOT (window));
  }
  g_assert_true (last == grid);
  settle (100);
  g_autoptr (GBytes) focused = lam_test_render_pixels (grid);
  g_assert_false (g_bytes_equal (before, focused));
  save_png ("window-data-grid-focused.png");

  int selected = lam_sample_grid_get_selected (LAM_SAMPLE_GRID (grid));
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Right, 0);
  settle (100);
  g_assert_cmpint (lam_sample_grid_get_selected (LAM_SAMPLE_GRID (grid)), !=, selected);
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Left, 0);
  settle (100);
  g_assert_cmpint (lam_sample_grid_get_selected (LAM_SAMPLE_GRID (grid)), ==, selected);

  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Tab, 0);
  iterate_until (focus_moved, &last, 1000);
  g_assert_false (gtk_widget_has_focus (grid));
  settle (100);
  g_autoptr (GBytes) left = lam_test_render_pixels (grid);
  g_assert_true (g_bytes_equal (before, left));
}

/* Enter on the focused image grid does what a double-click does: the
 * focus goes to the selected image in the panel beside the grid, which
 * stays the image the arrows chose. */
static void
test_data_grid_enter_focuses_image (void)
{
  if (!have_data) {
    g_test_skip ("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist");
    return;
  }
  if (!lam_test_can_type_keys (GTK_WIDGET (window))) {
    g_test_skip ("keys cannot be typed here: no X11 display with libXtst.so.6");
    return;
  }
  lam_window_show_page (window, "data");
  gtk_window_present (GTK_WINDOW (window));
  settle (300);
  GtkWidget *page = lam_window_get_page (window, "data");
  GtkWidget *grid = GTK_WIDGET (lam_data_page_get_grid (LAM_DATA_PAGE (page)));
  GtkWidget *image =
    GTK_WIDGET (gtk_widget_get_template_child (page, LAM_TYPE_DATA_PAGE, "sample_area"));
  gtk_widget_grab_focus (grid);
  settle (100);
  g_assert_true (gtk_widget_has_focus (grid));
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Right, 0);
  settle (100);
  int selected = lam_sample_grid_get_selected (LAM_SAMPLE_GRID (grid));
  g_assert_cmpint (selected, >=, 0);

  GtkWidget *last = gtk_root_get_focus (GTK_ROOT (window));
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Return, 0);
  iterate_until (focus_moved, &last, 1000);
  g_assert_true (gtk_widget_has_focus (image));
  g_assert_cmpint (lam_sample_grid_get_selected (LAM_SAMPLE_GRID (grid)), ==, selected);
  const char *name = lam_ui_get_accessible_label (image);
  g_assert_nonnull (name);
  g_assert_true (g_str_has_prefix (name, "Selected image: "));
  save_png ("window-data-image-focused.png");

  /* Shift+Tab goes back to the grid. */
  last = gtk_root_get_focus (GTK_ROOT (window));
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Tab, GDK_SHIFT_MASK);
  iterate_until (focus_moved, &last, 1000);
  g_assert_true (gtk_widget_has_focus (grid));
}

/* The class bars are one Tab stop: Down moves to the next class, which a
 * screen reader hears with its count, and Enter shows only that class, as
 * a click on its bar does; Space then shows all classes again. */
static void
test_data_class_bars_by_keys (void)
{
  if (!have_data) {
    g_test_skip ("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist");
    return;
  }
  if (!lam_test_can_type_keys (GTK_WIDGET (window))) {
    g_test_skip ("keys cannot be typed here: no X11 display with libXtst.so.6");
    return;
  }
  /* The names below are Fashion-MNIST's, which an earlier test replaced. */
  GtkWidget *page = lam_window_get_page (window, "data");
  if (!dataset_is ((gpointer) LAM_DATASET_DEFAULT_DIR)) {
    lam_data_page_load_folder (LAM_DATA_PAGE (page), LAM_DATASET_DEFAULT_DIR);
    iterate_until (dataset_is, (gpointer) LAM_DATASET_DEFAULT_DIR, 60000);
    g_assert_true (dataset_is ((gpointer) LAM_DATASET_DEFAULT_DIR));
  }
  lam_window_show_page (window, "data");
  gtk_window_present (GTK_WINDOW (window));
  settle (300);
  LamSampleGrid *grid = lam_data_page_get_grid (LAM_DATA_PAGE (page));
  GtkWidget *bars =
    GTK_WIDGET (gtk_widget_get_template_child (page, LAM_TYPE_DATA_PAGE, "counts_area"));
  g_assert_cmpint (lam_sample_grid_get_filter (grid), ==, -1);
  gtk_widget_child_focus (page, GTK_DIR_TAB_FORWARD);
  settle (100);
  GtkWidget *last = gtk_root_get_focus (GTK_ROOT (window));
  for (int press = 0; press < 30 && last != bars; press++) {
    lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Tab, 0);
    iterate_until (focus_moved, &last, 1000);
    last = gtk_root_get_focus (GTK_ROOT (window));
  }
  g_assert_true (last == bars);
  g_assert_cmpstr (lam_ui_get_accessible_label (bars), ==,
                   "T-shirt/top: 6,000 training images; show only this class");

  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Down, 0);
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Down, 0);
  settle (100);
  g_assert_cmpstr (lam_ui_get_accessible_label (bars), ==,
                   "Pullover: 6,000 training images; show only this class");
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Return, 0);
  settle (100);
  g_assert_cmpint (lam_sample_grid_get_filter (grid), ==, 2);
  g_assert_true (gtk_widget_has_focus (bars));
  g_assert_cmpstr (lam_ui_get_accessible_label (bars), ==,
                   "Pullover: 6,000 training images; shown alone, show all classes");
  save_png ("window-data-class-bars-focused.png");

  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_space, 0);
  settle (100);
  g_assert_cmpint (lam_sample_grid_get_filter (grid), ==, -1);
}

/* A layer typed into the model's text field and applied with Space on
 * Apply: Apply turns off once the text is the model's, and the focus goes
 * back to the field instead of nowhere. */
static void
test_model_apply_keeps_focus (void)
{
  if (!lam_test_can_type_keys (GTK_WIDGET (window))) {
    g_test_skip ("keys cannot be typed here: no X11 display with libXtst.so.6");
    return;
  }
  LamModelPage *page = LAM_MODEL_PAGE (lam_window_get_page (window, "model"));
  lam_model_page_load_preset (page, "mlp");
  lam_window_show_page (window, "model");
  gtk_window_present (GTK_WINDOW (window));
  settle (300);
  GtkWidget *entry = GTK_WIDGET (
    gtk_widget_get_template_child (GTK_WIDGET (page), LAM_TYPE_MODEL_PAGE, "text_entry"));
  GtkWidget *apply = GTK_WIDGET (
    gtk_widget_get_template_child (GTK_WIDGET (page), LAM_TYPE_MODEL_PAGE, "apply_button"));
  int n_layers = lam_model_page_get_n_layers (page);
  gtk_widget_grab_focus (entry);
  settle (100);
  /* At the end of the layers, before ",loss=nll". */
  static const guint keys[] = { GDK_KEY_End,  GDK_KEY_Left, GDK_KEY_Left,  GDK_KEY_Left,
                                GDK_KEY_Left, GDK_KEY_Left, GDK_KEY_Left,  GDK_KEY_Left,
                                GDK_KEY_Left, GDK_KEY_Left, GDK_KEY_comma, GDK_KEY_r,
                                GDK_KEY_e,    GDK_KEY_l,    GDK_KEY_u };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    lam_test_type_key (GTK_WIDGET (window), keys[i], 0);
  settle (200);
  g_test_message ("typed: %s", lam_model_page_get_text (page));
  g_assert_true (gtk_widget_is_sensitive (apply));
  GtkWidget *last = gtk_root_get_focus (GTK_ROOT (window));
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Tab, 0);
  iterate_until (focus_moved, &last, 1000);
  g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == apply);
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_space, 0);
  settle (300);
  g_assert_cmpint (lam_model_page_get_n_layers (page), ==, n_layers + 1);
  g_assert_false (gtk_widget_is_sensitive (apply));
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));
  g_autofree char *seen = lam_test_describe_focus (focus);
  g_test_message ("after Apply: %s", seen);
  save_png ("window-model-applied-by-keys.png");
  g_assert_nonnull (focus);
  g_assert_true (focus == entry || gtk_widget_is_ancestor (focus, entry));
  /* Nothing selected, for a key typed next to replace. */
  g_assert_false (gtk_editable_get_selection_bounds (GTK_EDITABLE (entry), NULL, NULL));
}

/* Move up pressed with Space on the second layer takes it to the top,
 * where its Move up is off: the focus stays on that layer, not on the
 * list around it (from where Tab started over at the first row). */
static void
test_model_move_keeps_focus (void)
{
  if (!lam_test_can_type_keys (GTK_WIDGET (window))) {
    g_test_skip ("keys cannot be typed here: no X11 display with libXtst.so.6");
    return;
  }
  LamModelPage *page = LAM_MODEL_PAGE (lam_window_get_page (window, "model"));
  lam_model_page_load_preset (page, "mlp");
  lam_window_show_page (window, "model");
  gtk_window_present (GTK_WINDOW (window));
  settle (300);
  gtk_widget_child_focus (GTK_WIDGET (page), GTK_DIR_TAB_FORWARD);
  /* The first layer's Move up is off and skipped. */
  GtkWidget *button = tab_to_nth ("Move up (Alt+↑)", 0);
  g_assert_nonnull (button);
  GtkWidget *row = gtk_widget_get_ancestor (button, LAM_TYPE_LAYER_ROW);
  g_assert_nonnull (row);
  int before = gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (row));
  g_autofree char *text_before = g_strdup (lam_model_page_get_text (page));

  GtkWidget *last = button;
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_space, 0);
  iterate_until (focus_moved, &last, 1000);
  settle (200);
  g_assert_cmpstr (lam_model_page_get_text (page), !=, text_before);
  g_assert_cmpint (gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (row)), ==, before - 1);
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));
  g_autofree char *seen = lam_test_describe_focus (focus);
  g_test_message ("after Move up: %s", seen);
  g_assert_true (focus == row || gtk_widget_is_ancestor (focus, row));
  save_png ("window-model-moved-by-keys.png");

  /* Tab goes on from that layer to its own controls. */
  last = focus;
  lam_test_type_key (GTK_WIDGET (window), GDK_KEY_Tab, 0);
  iterate_until (focus_moved, &last, 1000);
  g_assert_true (gtk_widget_is_ancestor (gtk_root_get_focus (GTK_ROOT (window)), row));
}

/* A drawn view's name and description as a screen reader gets them: the
 * name kept by lam_ui_set_accessible_label, and a description of what it
 * will show. */
static void
assert_named (GtkWidget *view, const char *expect_in_name)
{
  const char *name = lam_ui_get_accessible_label (view);
  g_test_message ("%s: %s", G_OBJECT_TYPE_NAME (view), name ? name : "(none)");
  g_assert_nonnull (name);
  g_assert_nonnull (strstr (name, expect_in_name));
  g_assert_true (
    gtk_test_accessible_has_property (GTK_ACCESSIBLE (view), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION));
}

static void
collect_drawing_areas (GtkWidget *widget, GPtrArray *areas)
{
  if (GTK_IS_DRAWING_AREA (widget))
    g_ptr_array_add (areas, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_drawing_areas (child, areas);
}

/* The probability bars and the explanation's views are named, and say
 * what they will show, before any image reaches them (a screen reader
 * met them as nameless images until then); the name follows the data. */
static void
test_named_before_data (void)
{
  GtkWidget *bars = g_object_ref_sink (lam_probability_bars_new ());
  assert_named (bars, "Class probabilities");
  static const char *const names[] = { "Cat", "Dog" };
  lam_probability_bars_set_classes (LAM_PROBABILITY_BARS (bars), names, 2);
  lam_probability_bars_set_probabilities (LAM_PROBABILITY_BARS (bars), (float[]){ 0.25f, 0.75f },
                                          0);
  assert_named (bars, "Dog 75");
  assert_named (bars, "true class Cat");
  g_object_unref (bars);

  g_autoptr (LamExplainer) explainer = lam_explainer_new (session);
  GtkWidget *panel = g_object_ref_sink (lam_explain_panel_new (explainer, session));
  g_autoptr (GPtrArray) areas = g_ptr_array_new ();
  collect_drawing_areas (panel, areas);
  g_assert_cmpuint (areas->len, ==, 2);
  assert_named (g_ptr_array_index (areas, 0), "Where the network looked");
  assert_named (g_ptr_array_index (areas, 1), "Most alike training images");
  g_object_unref (panel);
}

int
main (int argc, char **argv)
{
  /* GTK's test context keeps the accessible properties and relations
   * where gtk_test_accessible_* read them, with no bus to talk to; "none"
   * keeps nothing. */
  g_setenv ("GTK_A11Y", "test", TRUE);
  gtk_init ();
  g_test_init (&argc, &argv, NULL);
  /* GTK warns about focus bookkeeping when pages switch under Xvfb; only
   * criticals (broken preconditions) fail the test. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  session = lam_session_new ();
  gboolean loaded = FALSE;
  lam_session_load_dataset_async (session, LAM_DATASET_DEFAULT_DIR, NULL, on_loaded, &loaded);
  iterate_until (flag_set, &loaded, 60000);
  window = lam_window_new (NULL, session);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 820);
  gtk_window_present (GTK_WINDOW (window));
  settle (500);

  g_test_add_func ("/window/workers-waited-for-at-exit", test_workers_waited_for);
  g_test_add_func ("/window/data-page", test_data_page);
  g_test_add_func ("/window/model-page/bad-stack-disables-train",
                   test_model_page_bad_stack_disables_train);
  g_test_add_func ("/window/train/single-steps", test_single_steps);
  g_test_add_func ("/window/train/epoch-live", test_train_epoch_live);
  g_test_add_func ("/window/train/runs", test_train_runs);
  g_test_add_func ("/window/train/epoch-header-stays", test_epoch_header_stays);
  /* After the runs test, whose run numbers it would shift. */
  g_test_add_func ("/window/train/step-shortcut", test_step_shortcut);
  g_test_add_func ("/window/evaluate-page", test_evaluate_page);
  g_test_add_func ("/window/shortcuts", test_shortcuts_window);
  g_test_add_func ("/window/title/presentation-1024", test_title_presentation);
  g_test_add_func ("/window/title/1280", test_title_1280);
  g_test_add_func ("/window/train/then-another-dataset", test_dataset_switch);
  g_test_add_func ("/window/train/score-names-open-dataset", test_score_names_open_dataset);
  g_test_add_func ("/window/train/continue-follows-start", test_continue_follows_start);
  g_test_add_func ("/window/train/loss-help-labelled", test_loss_help_labelled);
  g_test_add_func ("/window/train/settings-reach-data-page", test_settings_reach_data_page);
  g_test_add_func ("/window/accessible-names", test_accessible_names);
  g_test_add_func ("/window/accessible-names/table-views", test_table_views_named);
  g_test_add_func ("/window/accessible-names/before-data", test_named_before_data);
  g_test_add_func ("/window/accessible-names/form-fields", test_form_fields_labelled);
  g_test_add_func ("/window/train/tab-order", test_train_tab_order);
  g_test_add_func ("/window/model/move-by-keys-keeps-focus", test_model_move_keeps_focus);
  g_test_add_func ("/window/model/palette-one-stop-per-layer", test_model_palette_tab);
  g_test_add_func ("/window/data/zoom-by-keys-keeps-focus", test_data_zoom_keeps_focus);
  g_test_add_func ("/window/model/apply-by-keys-keeps-focus", test_model_apply_keeps_focus);
  g_test_add_func ("/window/data/grid-shows-focus", test_data_grid_shows_focus);
  g_test_add_func ("/window/data/grid-enter-focuses-image", test_data_grid_enter_focuses_image);
  g_test_add_func ("/window/data/class-bars-by-keys", test_data_class_bars_by_keys);
  int status = g_test_run ();
  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (session);
  return status;
}
