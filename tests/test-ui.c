/* The main window end to end under Xvfb: a dataset loads, a stack is built
 * on the Model page, training runs from the Train page while the frame clock
 * keeps ticking, and every page is saved as a PNG into the build's tests
 * folder for a person to look at. */
#include <gtk/gtk.h>
#include <math.h>
#ifdef GDK_WINDOWING_X11
#include <gdk/x11/gdkx.h>
#endif

#include "lam-chart.h"
#include "lam-data-page.h"
#include "lam-model-page.h"
#include "lam-train-page.h"
#include "lam-ui-util.h"
#include "lam-window.h"

static LamWindow *window;
static LamProject *project;
static gboolean have_data;

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
  have_data = lam_project_load_dataset_finish (LAM_PROJECT (source), result, &error);
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
  g_assert_true (lam_project_get_model_valid (project));
  g_assert_true (lam_train_page_can_start (train) == have_data);

  /* A linear layer straight after a convolution does not fit. */
  LamLayerSpec linear = lam_layer_spec_default (LAM_LAYER_LINEAR);
  linear.out = 10;
  lam_model_page_remove_layer (page, 6); /* flatten */
  settle (100);
  g_assert_cmpint (lam_model_page_get_error_layer (page), ==, 6);
  g_assert_false (lam_project_get_model_valid (project));
  g_assert_false (lam_train_page_can_start (train));
  g_assert_false (gtk_widget_is_sensitive (lam_train_page_get_start_button (train)));
  save_png ("window-model-error.png");

  /* The tutorials' MLP fits again and enables Train. */
  lam_model_page_load_preset (page, "mlp");
  settle (100);
  g_assert_cmpint (lam_model_page_get_error_layer (page), ==, -1);
  g_assert_true (lam_project_get_model_valid (project));
  g_assert_true (gtk_widget_is_sensitive (lam_train_page_get_start_button (train)) == have_data);
  save_png ("window-model.png");
  (void) linear;
}

static gboolean
state_is_idle (gpointer data)
{
  return lam_train_page_get_state (LAM_TRAIN_PAGE (data)) == LAM_TRAIN_STATE_IDLE;
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
  return lam_train_page_get_step (wait->page) >= wait->step;
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
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "train.step", NULL));
  StepWait wait = { page, 1 };
  iterate_until (step_reached, &wait, 20000);
  g_assert_cmpint (lam_train_page_get_step (page), ==, 1);
  settle (200);
  g_assert_cmpint (lam_train_page_get_state (page), ==, LAM_TRAIN_STATE_PAUSED);
  g_assert_cmpuint (lam_chart_get_n_series (loss), >=, 2);

  lam_train_page_step (page);
  wait.step = 2;
  iterate_until (step_reached, &wait, 20000);
  settle (200);
  g_assert_cmpint (lam_train_page_get_step (page), ==, 2);

  gtk_widget_activate_action (GTK_WIDGET (window), "win.stop", NULL);
  iterate_until (state_is_idle, page, 20000);
  g_assert_cmpint (lam_train_page_get_state (page), ==, LAM_TRAIN_STATE_IDLE);
}

/* Keys pressed for real: GTK 4 has no public way to make a key event, so
 * the X server's XTEST extension types them into the window, and they take
 * the path a person's keys take (capture phase, focused widget, window).
 * libXtst is looked up at run time, so that the test builds without its
 * headers; without it or off X11 the caller skips. */
typedef int (*FakeKeyEvent) (Display *display, unsigned int keycode, Bool is_press,
                             unsigned long delay);

static FakeKeyEvent
xtest_fake_key_event (void)
{
#ifdef GDK_WINDOWING_X11
  static GModule *module;
  static FakeKeyEvent fake;
  if (!GDK_IS_X11_DISPLAY (gtk_widget_get_display (GTK_WIDGET (window))))
    return NULL;
  if (module == NULL && (module = g_module_open ("libXtst.so.6", G_MODULE_BIND_LAZY)) != NULL)
    g_module_symbol (module, "XTestFakeKeyEvent", (gpointer *) &fake);
  return fake;
#else
  return NULL;
#endif
}

static guint
keycode_of (GdkDisplay *display, guint keyval)
{
  g_autofree GdkKeymapKey *keys = NULL;
  int n_keys = 0;
  g_assert_true (gdk_display_map_keyval (display, keyval, &keys, &n_keys));
  g_assert_cmpint (n_keys, >, 0);
  return keys[0].keycode;
}

/* Presses and releases Ctrl+keyval. */
static void
press_ctrl_key (guint keyval)
{
#ifdef GDK_WINDOWING_X11
  FakeKeyEvent fake = xtest_fake_key_event ();
  GdkDisplay *display = gtk_widget_get_display (GTK_WIDGET (window));
  Display *xdisplay = gdk_x11_display_get_xdisplay (display);
  guint control = keycode_of (display, GDK_KEY_Control_L);
  guint key = keycode_of (display, keyval);
  fake (xdisplay, control, True, 0);
  fake (xdisplay, key, True, 0);
  fake (xdisplay, key, False, 0);
  fake (xdisplay, control, False, 0);
  gdk_display_flush (display);
#endif
}

static gboolean
state_is_running (gpointer data)
{
  return lam_train_page_get_state (LAM_TRAIN_PAGE (data)) == LAM_TRAIN_STATE_RUNNING;
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
  return wait->notified > 0 && lam_train_page_get_step (wait->page) >= wait->step &&
         lam_train_page_get_state (wait->page) == LAM_TRAIN_STATE_PAUSED;
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
  press_ctrl_key (GDK_KEY_Right);
  iterate_until (paused_at_step, wait, 20000);
  settle (300);
  g_assert_cmpuint (wait->notified, >, 0);
  g_assert_cmpint (lam_train_page_get_state (wait->page), ==, LAM_TRAIN_STATE_PAUSED);
  g_assert_cmpint (lam_train_page_get_step (wait->page), ==, step);
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
  if (xtest_fake_key_event () == NULL) {
    g_test_skip ("keys cannot be typed here: no X11 display with libXtst.so.6");
    return;
  }
  lam_window_show_page (window, "train");
  LamTrainPage *page = LAM_TRAIN_PAGE (lam_window_get_page (window, "train"));
  lam_train_page_set_continue (page, FALSE);
  gtk_window_present (GTK_WINDOW (window));
  settle (300);
  g_assert_cmpint (lam_train_page_get_state (page), ==, LAM_TRAIN_STATE_IDLE);
  KeyWait wait = { page };
  gulong handler = g_signal_connect (page, "notify::step", G_CALLBACK (on_key_step_notify), &wait);

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
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.start-pause", NULL));
  iterate_until (state_is_running, page, 20000);
  g_assert_cmpint (lam_train_page_get_state (page), ==, LAM_TRAIN_STATE_RUNNING);
  wait.notified = 0;
  wait.step = 4;
  press_ctrl_key (GDK_KEY_Right);
  iterate_until (paused_at_step, &wait, 20000);
  g_assert_cmpint (lam_train_page_get_state (page), ==, LAM_TRAIN_STATE_PAUSED);
  gint64 paused_at = lam_train_page_get_step (page);
  settle (300);
  g_assert_cmpint (lam_train_page_get_step (page), ==, paused_at);
  press_step_key (&wait, paused_at + 1);

  gtk_widget_activate_action (GTK_WIDGET (window), "win.stop", NULL);
  iterate_until (state_is_idle, page, 20000);
  g_assert_cmpint (lam_train_page_get_state (page), ==, LAM_TRAIN_STATE_IDLE);

  /* In a text entry Ctrl+Right moves by word and trains nothing. */
  lam_window_show_page (window, "model");
  GtkWidget *model_page = lam_window_get_page (window, "model");
  GtkEditable *entry = GTK_EDITABLE (
    gtk_widget_get_template_child (model_page, LAM_TYPE_MODEL_PAGE, "text_entry"));
  settle (200);
  gtk_widget_grab_focus (GTK_WIDGET (entry));
  gtk_editable_set_position (entry, 0);
  wait.notified = 0;
  press_ctrl_key (GDK_KEY_Right);
  settle (500);
  g_assert_cmpint (gtk_editable_get_position (entry), >, 0);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (
                     GTK_STACK (gtk_widget_get_parent (model_page))), ==, "model");
  g_assert_cmpuint (wait.notified, ==, 0);
  g_assert_cmpint (lam_train_page_get_state (page), ==, LAM_TRAIN_STATE_IDLE);
  g_signal_handler_disconnect (page, handler);
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
  lam_train_page_set_lr (page, 0.002);

  LamTrainerConfig *config = lam_project_get_config (project);
  (void) config;
  FrameStats stats = { 0 };
  guint tick = gtk_widget_add_tick_callback (GTK_WIDGET (window), on_tick, &stats, NULL);
  gulong handler = g_signal_connect (page, "notify::step", G_CALLBACK (on_step_notify), &stats);
  gint64 start = g_get_monotonic_time ();

  /* Ctrl+Enter's action: one epoch of the MLP on Fashion-MNIST. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.start-pause", NULL));
  g_assert_cmpint (lam_train_page_get_state (page), ==, LAM_TRAIN_STATE_RUNNING);
  iterate_until (state_is_idle, page, 300000);
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  gtk_widget_remove_tick_callback (GTK_WIDGET (window), tick);
  g_signal_handler_disconnect (page, handler);

  g_assert_cmpint (lam_train_page_get_state (page), ==, LAM_TRAIN_STATE_IDLE);
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
  g_assert_cmpuint (train_points, >=, 50);
  g_assert_cmpuint (val_points, ==, lam_project_get_config (project)->epochs);
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

static void
test_evaluate_page (void)
{
  lam_window_show_page (window, "evaluate");
  save_png ("window-evaluate.png");
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

int
main (int argc, char **argv)
{
  gtk_init ();
  g_test_init (&argc, &argv, NULL);
  /* GTK warns about focus bookkeeping when pages switch under Xvfb; only
   * criticals (broken preconditions) fail the test. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  project = lam_project_new ();
  gboolean loaded = FALSE;
  lam_project_load_dataset_async (project, LAM_DATASET_DEFAULT_DIR, NULL, on_loaded, &loaded);
  iterate_until (flag_set, &loaded, 60000);
  window = lam_window_new (NULL, project);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 820);
  gtk_window_present (GTK_WINDOW (window));
  settle (500);

  g_test_add_func ("/window/data-page", test_data_page);
  g_test_add_func ("/window/model-page/bad-stack-disables-train",
                   test_model_page_bad_stack_disables_train);
  g_test_add_func ("/window/train/single-steps", test_single_steps);
  g_test_add_func ("/window/train/step-shortcut", test_step_shortcut);
  g_test_add_func ("/window/train/epoch-live", test_train_epoch_live);
  g_test_add_func ("/window/evaluate-page", test_evaluate_page);
  g_test_add_func ("/window/shortcuts", test_shortcuts_window);
  int status = g_test_run ();
  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (project);
  return status;
}
