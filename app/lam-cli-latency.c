/* lam-cli-latency.c: `lamina bench --latency`, the waits a person feels in
 * the window, each from the moment that starts it to the frame that shows
 * its result:
 *   - the first frame after the program started, and the first frame with
 *     the default dataset's images;
 *   - the Evaluate page's refresh after an epoch of the MLP (the weights
 *     published at the epoch's end to the frame showing their test score),
 *     the first epoch's apart, and the later ones' two parts: to the
 *     page's handling of the evaluation's result, and from there to the
 *     frame;
 *   - the Draw pad's prediction after a stroke, with the small CNN;
 *   - opening a project (the MLP, its runs, weights and prediction
 *     history) to the frame that shows it evaluated.
 * A benchmark, not a test: it prints figures and the targets beside them,
 * and needs a display (run it under xvfb-run where there is none). */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lam-cli.h"
#include "lam-dataset.h"
#include "lam-drawing-pad.h"
#include "lam-evaluate-page.h"
#include "lam-evaluation.h"
#include "lam-session.h"
#include "lam-window.h"

/* Seconds since this process started, from the kernel's record of it. */
static double
seconds_since_start (void)
{
  g_autofree char *stat = NULL, *uptime = NULL;
  if (!g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL) ||
      !g_file_get_contents ("/proc/uptime", &uptime, NULL, NULL))
    return NAN;
  /* The command name may hold spaces: fields count from after its ')'. */
  const char *after = strrchr (stat, ')');
  if (after == NULL)
    return NAN;
  g_auto (GStrv) fields = g_strsplit (after + 2, " ", -1);
  if (g_strv_length (fields) < 20)
    return NAN;
  /* Field 22 of the whole line is the 20th after the name and state. */
  double start_ticks = g_ascii_strtod (fields[19], NULL);
  double now = g_ascii_strtod (uptime, NULL);
  return now - start_ticks / (double) sysconf (_SC_CLK_TCK);
}

typedef struct
{
  gint64 painted_at; /* monotonic µs of the last frame painted */
  guint frames;
} Frames;

static void
on_after_paint (GdkFrameClock *clock, Frames *frames)
{
  frames->painted_at = g_get_monotonic_time ();
  frames->frames++;
}

static Frames frames;

/* Runs the main loop until done says so or timeout_s pass. */
static gboolean
iterate_until (gboolean (*done) (gpointer), gpointer data, double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  while (!done (data)) {
    if (g_get_monotonic_time () > end)
      return FALSE;
    g_main_context_iteration (NULL, TRUE);
  }
  return TRUE;
}

/* The first frame painted after `since` (µs): its time in ms from since. */
typedef struct
{
  gint64 since;
} FrameWait;

static gboolean
painted_since (gpointer data)
{
  return frames.painted_at > ((FrameWait *) data)->since;
}

static double
ms_to_next_frame (gint64 since, GtkWidget *widget)
{
  gtk_widget_queue_draw (widget);
  FrameWait wait = { since };
  if (!iterate_until (painted_since, &wait, 10))
    return NAN;
  return (frames.painted_at - since) / 1000.0;
}

static gboolean
dataset_shown (gpointer data)
{
  LamSession *session = data;
  return lam_session_get_has_dataset (session) && !lam_session_get_loading (session);
}

typedef struct
{
  LamEvaluation *evaluation;
  guint updates;
  gint64 evaluated_at; /* the result back from the worker, before any handler */
  gint64 updated_at;
  gint64 weights_at;
} EvaluationWait;

/* The evaluation stops being busy just before it says `updated`: the page's
 * handlers have not run yet. */
static void
on_evaluation_busy (LamEvaluation *evaluation, GParamSpec *pspec, EvaluationWait *wait)
{
  if (!lam_evaluation_get_busy (evaluation))
    wait->evaluated_at = g_get_monotonic_time ();
}

static void
on_evaluation_updated (LamEvaluation *evaluation, EvaluationWait *wait)
{
  wait->updates++;
  wait->updated_at = g_get_monotonic_time ();
}

static void
on_weights_changed (LamSession *session, EvaluationWait *wait)
{
  wait->weights_at = g_get_monotonic_time ();
}

typedef struct
{
  EvaluationWait *wait;
  guint target;
} UpdateCount;

static gboolean
updates_reached (gpointer data)
{
  UpdateCount *count = data;
  return count->wait->updates >= count->target;
}

static gboolean
is_idle (gpointer data)
{
  return lam_session_get_state (LAM_SESSION (data)) == LAM_TRAIN_STATE_IDLE;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (GArray *values)
{
  if (values->len == 0)
    return NAN;
  g_autoptr (GArray) sorted = g_array_copy (values);
  g_array_sort (sorted, compare_doubles);
  const double *v = (const double *) sorted->data;
  return sorted->len % 2 ? v[sorted->len / 2]
                         : (v[sorted->len / 2 - 1] + v[sorted->len / 2]) / 2;
}

/* The median of values[first..]. */
static double
median_from (GArray *values, guint first)
{
  g_autoptr (GArray) rest = g_array_new (FALSE, FALSE, sizeof (double));
  if (first < values->len)
    g_array_append_vals (rest, &g_array_index (values, double, first), values->len - first);
  return median (rest);
}

typedef struct
{
  EvaluationWait *wait;
  LamExplainPanel *panel;
  guint target;
} SliderWait;

/* The evaluation of the epoch arrived, and the explanations of it. */
static gboolean
every_view_shown (gpointer data)
{
  SliderWait *w = data;
  return w->wait->updates >= w->target && lam_explain_panel_get_map (w->panel, NULL, NULL) != NULL &&
         lam_explain_panel_get_nearest (w->panel, NULL, NULL) > 0;
}

typedef struct
{
  const char *name;
  const char *what;
  double ms;
  double target_ms;
} Figure;

/* Frames are drawn by GTK's renderer: GL (on a software rasteriser where
 * the machine has no GPU driver) or Cairo (GSK_RENDERER=cairo); the
 * figures depend on it, so it is said beside them. */
static void
print_figures (const Figure *figures, guint n, const char *renderer, gboolean json)
{
  if (json) {
    g_print ("{\"renderer\": \"%s\", \"latency\": {", renderer);
    for (guint i = 0; i < n; i++) {
      // A part of a figure above has no target of its own.
      g_autofree char *target = isfinite (figures[i].target_ms)
                                  ? g_strdup_printf ("%.0f", figures[i].target_ms)
                                  : g_strdup ("null");
      g_print ("%s\"%s\": {\"ms\": %.1f, \"target_ms\": %s}", i > 0 ? ", " : "", figures[i].name,
               figures[i].ms, target);
    }
    g_print ("}}\n");
    return;
  }
  g_print ("Frames drawn by %s\n", renderer);
  g_print ("%-58s %10s %10s\n", "what", "ms", "target");
  for (guint i = 0; i < n; i++) {
    if (!isfinite (figures[i].target_ms)) {
      g_print ("%-58s %10.1f %10s\n", figures[i].what, figures[i].ms, "");
      continue;
    }
    g_print ("%-58s %10.1f %10.0f%s\n", figures[i].what, figures[i].ms, figures[i].target_ms,
             isfinite (figures[i].ms) && figures[i].ms <= figures[i].target_ms ? "" : "  (over)");
  }
}

int
lam_cli_bench_latency (const char *data_dir, gboolean json)
{
  double started = seconds_since_start ();
  gint64 entered = g_get_monotonic_time ();
  if (!gtk_init_check ()) {
    g_printerr ("lamina bench --latency: no display to open the window on (try xvfb-run -a "
                "lamina bench --latency)\n");
    return LAM_EXIT_DEVICE;
  }
  const char *dir = data_dir != NULL ? data_dir : LAM_DATASET_DEFAULT_DIR;
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_printerr ("lamina bench --latency: %s: no such dataset folder\n", dir);
    return LAM_EXIT_DATA;
  }

  /* As `lamina` opens: a session loading the default dataset, the window
   * shown at once. */
  g_autoptr (LamSession) session = lam_session_new ();
  g_object_set (session, "device", "cpu", "val-fraction", 0.1, "epochs", 1, NULL);
  lam_session_load_dataset_async (session, dir, NULL, NULL, NULL);
  LamWindow *window = lam_window_new (NULL, session);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_present (GTK_WINDOW (window));
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));
  g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), &frames);
  FrameWait first = { entered - 1 };
  iterate_until (painted_since, &first, 30);
  /* From the process's start: what a person waits after pressing Enter. */
  double first_frame_ms = (started + (frames.painted_at - entered) / 1e6) * 1000;
  iterate_until (dataset_shown, session, 60);
  ms_to_next_frame (g_get_monotonic_time (), GTK_WIDGET (window));
  double dataset_ms = (started + (frames.painted_at - entered) / 1e6) * 1000;

  /* The Evaluate page shown while the MLP trains: each epoch's weights to
   * the frame with their test score. */
  lam_window_show_page (window, "evaluate");
  LamEvaluatePage *evaluate = LAM_EVALUATE_PAGE (lam_window_get_page (window, "evaluate"));
  EvaluationWait wait = { lam_evaluate_page_get_evaluation (evaluate), 0, 0, 0, 0 };
  g_signal_connect (wait.evaluation, "updated", G_CALLBACK (on_evaluation_updated), &wait);
  g_signal_connect (wait.evaluation, "notify::busy", G_CALLBACK (on_evaluation_busy), &wait);
  g_signal_connect (session, "weights-changed", G_CALLBACK (on_weights_changed), &wait);
  g_autoptr (GArray) refresh = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) refresh_evaluated = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) refresh_to_result = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) refresh_to_frame = g_array_new (FALSE, FALSE, sizeof (double));
  /* The first epoch's refresh also fills the gallery and the explanations
   * for the first time: reported apart from the later ones. */
  const int epochs = 5;
  g_object_set (session, "epochs", epochs, NULL);
  g_action_group_activate_action (lam_session_get_actions (session), "start-pause", NULL);
  /* Start shows the Train page; the person watching goes back. */
  lam_window_show_page (window, "evaluate");
  for (int e = 0; e < epochs; e++) {
    UpdateCount count = { &wait, wait.updates + 1 };
    if (!iterate_until (updates_reached, &count, 120))
      break;
    FrameWait shown = { wait.updated_at };
    iterate_until (painted_since, &shown, 5);
    double ms = (frames.painted_at - wait.weights_at) / 1000.0;
    double evaluated = (wait.evaluated_at - wait.weights_at) / 1000.0;
    double to_result = (wait.updated_at - wait.evaluated_at) / 1000.0;
    double to_frame = (frames.painted_at - wait.updated_at) / 1000.0;
    g_array_append_val (refresh, ms);
    g_array_append_val (refresh_evaluated, evaluated);
    g_array_append_val (refresh_to_result, to_result);
    g_array_append_val (refresh_to_frame, to_frame);
  }
  iterate_until (is_idle, session, 120);

  /* The time machine: the slider moved between the three epochs, each move
   * to the frame where every view shows that epoch — the summary, the
   * matrix, the gallery and the probabilities (the evaluation), and the
   * selected image's heat map and look-alikes. The first
   * visit of an epoch builds its look-alikes' index (a pass over the
   * training images); later visits find it kept. */
  lam_evaluate_page_show_tab (evaluate, "predictions");
  lam_evaluate_page_select_image (evaluate, 0);
  LamEpochSlider *slider = lam_evaluate_page_get_epoch_slider (evaluate);
  LamExplainPanel *panel = lam_evaluate_page_get_explain_panel (evaluate, FALSE);
  SliderWait slider_wait = { &wait, panel, 0 };
  iterate_until (every_view_shown, &slider_wait, 60);
  g_autoptr (GArray) first_visits = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) slider_moves = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) evaluated_moves = g_array_new (FALSE, FALSE, sizeof (double));
  const int visits[] = { 1, 2, 3, 1, 2, 3, 2, 1 };
  for (guint v = 0; v < G_N_ELEMENTS (visits) && lam_session_get_n_snapshots (session) >= 3;
       v++) {
    slider_wait.target = wait.updates + 1;
    gint64 before = g_get_monotonic_time ();
    gtk_range_set_value (lam_epoch_slider_get_range (slider), visits[v]);
    if (!iterate_until (every_view_shown, &slider_wait, 60))
      break;
    FrameWait shown = { g_get_monotonic_time () };
    iterate_until (painted_since, &shown, 5);
    double ms = (frames.painted_at - before) / 1000.0;
    double evaluated = (wait.updated_at - before) / 1000.0;
    /* Epochs 1 and 2 come first at visits 0 and 1; epoch 3 was shown. */
    g_array_append_val (v < 2 ? first_visits : slider_moves, ms);
    g_array_append_val (evaluated_moves, evaluated);
  }

  /* Save the trained MLP as a project, for the open below. */
  g_autofree char *tmp = g_dir_make_tmp ("lamina-latency-XXXXXX", NULL);
  g_autofree char *project = g_build_filename (tmp, "mlp.lamina", NULL);
  g_autoptr (GError) error = NULL;
  gboolean saved = lam_window_save_project (window, project, &error);

  /* The Draw pad with the small CNN: a stroke to the frame with its
   * prediction. */
  g_autoptr (LamModelSpec) cnn = lam_model_spec_preset ("small-cnn", NULL);
  lam_session_set_spec (session, cnn);
  g_action_group_activate_action (lam_session_get_actions (session), "step", NULL);
  g_usleep (G_USEC_PER_SEC / 2);
  g_action_group_activate_action (lam_session_get_actions (session), "stop", NULL);
  iterate_until (is_idle, session, 120);
  LamDrawingPad *pad = lam_evaluate_page_get_drawing_pad (evaluate);
  lam_evaluate_page_show_tab (evaluate, "draw");
  UpdateCount cnn_ready = { &wait, wait.updates + 1 };
  iterate_until (updates_reached, &cnn_ready, 60);
  g_autoptr (GArray) strokes = g_array_new (FALSE, FALSE, sizeof (double));
  for (int s = 0; s < 10; s++) {
    lam_drawing_pad_clear (pad);
    double line[8] = { 0.3 + 0.04 * s, 0.2, 0.5, 0.5, 0.55 - 0.02 * s, 0.8, 0.6, 0.85 };
    gint64 before = g_get_monotonic_time ();
    lam_drawing_pad_add_stroke (pad, line, 4);
    double ms = ms_to_next_frame (before, GTK_WIDGET (pad));
    g_array_append_val (strokes, ms);
  }

  /* Opening the saved MLP project: to the frame with its test score. */
  double open_ms = NAN;
  if (saved) {
    lam_window_show_page (window, "evaluate");
    lam_evaluate_page_show_tab (evaluate, "predictions");
    guint before_updates = wait.updates;
    gint64 before = g_get_monotonic_time ();
    g_autofree char *warning = NULL;
    if (lam_window_open_project (window, project, &warning, &error)) {
      UpdateCount count = { &wait, before_updates + 1 };
      iterate_until (updates_reached, &count, 60);
      FrameWait shown = { wait.updated_at };
      iterate_until (painted_since, &shown, 5);
      open_ms = (frames.painted_at - before) / 1000.0;
    }
  }
  if (error != NULL)
    g_printerr ("lamina bench --latency: %s\n", error->message);
  g_unlink (project);
  g_rmdir (tmp);

  Figure figures[] = {
    { "first_frame", "Window's first frame after the program starts", first_frame_ms, 500 },
    { "dataset_shown", "First frame with the default dataset's images", dataset_ms, 1500 },
    { "evaluate_refresh_first", "Evaluate page after the MLP's first epoch",
      refresh->len > 0 ? g_array_index (refresh, double, 0) : NAN, 100 },
    { "evaluate_refresh", "Evaluate page after a later MLP epoch (median of 4)",
      refresh->len > 1 ? median_from (refresh, 1) : NAN, 100 },
    { "evaluate_refresh_evaluated", "  of which: the test images run through the model",
      median_from (refresh_evaluated, 1), NAN },
    { "evaluate_refresh_handled", "  of which: the result handled by the page",
      median_from (refresh_to_result, 1), NAN },
    { "evaluate_refresh_to_frame", "  of which: the result's frame laid out and drawn",
      median_from (refresh_to_frame, 1), NAN },
    { "draw_prediction", "Draw pad's prediction after a stroke, small CNN (median of 10)",
      median (strokes), 30 },
    { "project_open", "Project open (MLP, weights, history) to its evaluated frame", open_ms, 500 },
    { "epoch_slider_evaluated", "Epoch slider: scores, matrix, gallery (median of 8)",
      median (evaluated_moves), 150 },
    { "epoch_slider", "Epoch slider: every view, kept epoch (median of 6)", median (slider_moves),
      150 },
    { "epoch_slider_first", "Epoch slider: every view, first visit (median of 2)",
      median (first_visits), 150 },
  };
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (window));
  print_figures (figures, G_N_ELEMENTS (figures),
                 renderer != NULL ? G_OBJECT_TYPE_NAME (renderer) : "no renderer", json);
  gtk_window_destroy (GTK_WINDOW (window));
  return LAM_EXIT_OK;
}
