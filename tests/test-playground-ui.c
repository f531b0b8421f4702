/* test-playground-ui.c: the 2-D playgrounds in the window's session. Each
 * classification set, opened by name, is learned by a small MLP trained
 * through the session's actions, and the Train page's map of the plane
 * classifies its points as training did; each map is saved as a PNG. */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "lam-playground.h"
#include "lam-session.h"
#include "lam-table-dialog.h"
#include "lam-data-page.h"
#include "lam-evaluate-page.h"
#include "lam-test-util.h"
#include "lam-train-page.h"
#include "lam-window.h"
#include "lam-ui-util.h"

typedef struct
{
  const char *uri;
  const char *model;
  int epochs;
  double lr;
  double needed; /* training accuracy the map must reach */
} Lesson;

static gboolean
loaded (gpointer data)
{
  LamSession *session = data;
  return lam_session_get_has_dataset (session) && !lam_session_get_loading (session);
}

static gboolean
is_idle (gpointer data)
{
  return lam_session_get_state (LAM_SESSION (data)) == LAM_TRAIN_STATE_IDLE;
}

static void
on_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = lam_session_load_dataset_finish (LAM_SESSION (source), result, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

/* A session on the dataset of that name, loaded. */
static LamSession *
open_session (const char *name)
{
  LamSession *session = lam_session_new ();
  lam_session_load_dataset_async (session, name, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (loaded, session, 20000));
  return session;
}

/* A window of the app's default size (1280×800, as test-fit checks it)
 * showing page, presented. At 1100×800 the Train page's Progress column
 * was narrower than the app's, so its test score wrapped to one more line
 * than in the app and seemed cut off at the window's edge in
 * study-time-fit.png. */
static GtkWidget *
show_in_window (GtkWidget *page)
{
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

/* Saves widget as name in the build's tests folder. */
static void
save_png (GtkWidget *widget, const char *name)
{
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (widget, path, &error));
  g_test_message ("saved %s", path);
}

/* Trains the session's model to the end through its action. */
static void
train_to_end (LamSession *session)
{
  g_action_group_activate_action (lam_session_get_actions (session), "start-pause", NULL);
  g_assert_true (lam_test_iterate_until (is_idle, session, 120000));
  lam_test_settle (200);
  g_assert_null (lam_session_get_error (session));
}

static void
test_lesson (gconstpointer data)
{
  const Lesson *lesson = data;
  g_autoptr (LamSession) session = open_session (lesson->uri);
  const LamDataset *train = lam_session_get_train_set (session);
  g_assert_true (lam_dataset_is_table (train));
  g_assert_cmpint (train->n_features, ==, 2);
  g_assert_nonnull (lam_session_get_test_set (session));

  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (lesson->model, &error);
  g_assert_no_error (error);
  lam_session_set_spec (session, spec);
  g_assert_true (lam_session_get_model_valid (session));
  g_object_set (session, "device", "cpu", "epochs", lesson->epochs, "batch-size", 16, "lr",
                lesson->lr, "seed", (guint64) 2, NULL);

  GtkWidget *page = lam_train_page_new (session);
  GtkWidget *window = show_in_window (page);
  LamBoundaryView *map = lam_train_page_get_boundary_view (LAM_TRAIN_PAGE (page));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (map)));
  // The axes are named by the dataset's two inputs, as on the Data page.
  g_assert_cmpstr (lam_boundary_view_get_axis_name (map, 0), ==, train->feature_names[0]);
  g_assert_cmpstr (lam_boundary_view_get_axis_name (map, 1), ==, train->feature_names[1]);

  train_to_end (session);
  double accuracy = lam_boundary_view_get_accuracy (map);
  const LamProjectRun *run = lam_session_get_current_run (session);
  const LamRunEpoch *last = &g_array_index (run->epochs, LamRunEpoch, run->epochs->len - 1);
  g_test_message ("%s (%s, %d epochs): map right on %.1f%% of the training points; last epoch "
                  "%.1f%% train, %.1f%% validation; test %.1f%%",
                  lesson->uri, lesson->model, lesson->epochs, 100 * accuracy,
                  100 * last->train_accuracy, 100 * last->val_accuracy,
                  100 * run->test_accuracy);
  g_assert_cmpfloat (accuracy, >=, lesson->needed);
  /* A hidden layer's units each get a map. */
  LamNeuronMaps *maps = lam_train_page_get_neuron_maps (LAM_TRAIN_PAGE (page));
  gboolean hidden = strstr (lesson->model, "tanh") != NULL;
  g_assert_cmpint (gtk_widget_get_visible (GTK_WIDGET (maps)), ==, hidden);
  if (hidden)
    g_assert_cmpint (lam_neuron_maps_get_n_units (maps), ==,
                     MIN (atoi (lesson->model + strlen ("linear:")), LAM_NEURON_MAPS_MAX_UNITS));

  LamPlaygroundParams params;
  g_assert_true (lam_playground_params_parse (lesson->uri, &params, NULL));
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *name = g_strdup_printf ("playground-%s.png",
                                           lam_playground_kind_to_string (params.kind));
  g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
  g_assert_true (lam_ui_save_png (window, path, &error));
  g_test_message ("saved %s", path);
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
on_chosen (LamTableDialog *dialog, const char *name, char **out)
{
  *out = g_strdup (name);
}

/* The tutorial's first lesson in the window: the crop-yields table, its
 * columns chosen in the dialog, a linear model with MSE trained through
 * the session; the Train page speaks of R², MSE and MAE. */
static void
test_crop_yields (void)
{
  g_autofree char *path = lam_dataset_find_bundled_table ("crop-yields");
  g_assert_nonnull (path);
  g_autoptr (GError) error = NULL;
  LamTableDialog *dialog = lam_table_dialog_new (NULL, path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lam_table_dialog_get_n_columns (dialog), ==, 5);
  /* The last column is the target at first; apples become one too. */
  g_assert_cmpint (lam_table_dialog_get_role (dialog, 4), ==, LAM_TABLE_COLUMN_TARGET);
  g_assert_cmpint (lam_table_dialog_get_role (dialog, 0), ==, LAM_TABLE_COLUMN_INPUT);
  lam_table_dialog_set_role (dialog, 3, LAM_TABLE_COLUMN_TARGET);
  gtk_window_present (GTK_WINDOW (dialog));
  lam_test_settle (200);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *dialog_png = g_build_filename (dir ? dir : ".", "table-dialog.png", NULL);
  g_assert_true (lam_ui_save_png (GTK_WIDGET (dialog), dialog_png, &error));
  g_autofree char *name = NULL;
  g_signal_connect (dialog, "chosen", G_CALLBACK (on_chosen), &name);
  g_assert_true (lam_table_dialog_use (dialog));
  g_assert_nonnull (name);
  g_assert_true (g_str_has_suffix (name,
                                   "?inputs=temperature,rainfall,humidity&targets=apples,oranges"));

  g_autoptr (LamSession) session = open_session (name);
  const LamDataset *train = lam_session_get_train_set (session);
  g_assert_cmpint (train->task, ==, LAM_TASK_REGRESSION);
  g_assert_cmpint (train->n_features, ==, 3);
  g_assert_cmpint (train->n_targets, ==, 2);
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("linear:2,loss=mse", &error);
  g_assert_no_error (error);
  lam_session_set_spec (session, spec);
  g_assert_true (lam_session_get_model_valid (session));
  g_object_set (session, "device", "cpu", "epochs", 40, "batch-size", 16, "lr", 0.05, NULL);

  GtkWidget *page = lam_train_page_new (session);
  GtkWidget *window = show_in_window (page);
  train_to_end (session);
  const LamProjectRun *run = lam_session_get_current_run (session);
  const LamRunEpoch *last = &g_array_index (run->epochs, LamRunEpoch, run->epochs->len - 1);
  /* The rule is linear: a linear model explains nearly all of it. */
  g_test_message ("crop yields, linear:2 with MSE, 40 epochs: train R² %.4f, validation R² "
                  "%.4f, test R² %.4f",
                  last->train_accuracy, last->val_accuracy, run->test_accuracy);
  g_assert_cmpfloat (run->test_accuracy, >, 0.9);
  /* The fit view agrees with the trainer's figures on the training rows. */
  LamFitView *fit = lam_train_page_get_fit_view (LAM_TRAIN_PAGE (page));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (fit)));
  g_test_message ("fit view: R² %.4f, MSE %.4g over the training rows",
                  lam_fit_view_get_r2 (fit), lam_fit_view_get_mse (fit));
  g_assert_cmpfloat (lam_fit_view_get_r2 (fit), >, 0.9);
  const char *test_text = lam_train_page_get_test_text (LAM_TRAIN_PAGE (page));
  g_assert_nonnull (test_text);
  g_assert_true (g_str_has_prefix (test_text, "Test R²"));
  g_autofree char *png = g_build_filename (dir ? dir : ".", "crop-yields-train.png", NULL);
  g_assert_true (lam_ui_save_png (window, png, &error));
  g_test_message ("saved %s", png);
  gtk_window_destroy (GTK_WINDOW (window));

  /* The Evaluate page shows the test rows, per target. */
  GtkWidget *evaluate_window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (evaluate_window), 1000, 700);
  GtkWidget *evaluate = lam_evaluate_page_new (session);
  gtk_window_set_child (GTK_WINDOW (evaluate_window), evaluate);
  gtk_window_present (GTK_WINDOW (evaluate_window));
  lam_test_settle (300);
  LamFitView *test_fit = lam_evaluate_page_get_regression_fit (LAM_EVALUATE_PAGE (evaluate));
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (test_fit)));
  g_test_message ("Evaluate page, apples on the test rows: R² %.4f", lam_fit_view_get_r2 (test_fit));
  g_assert_cmpfloat (lam_fit_view_get_r2 (test_fit), >, 0.9);
  lam_evaluate_page_set_regression_target (LAM_EVALUATE_PAGE (evaluate), 1);
  g_test_message ("Evaluate page, oranges on the test rows: R² %.4f",
                  lam_fit_view_get_r2 (test_fit));
  g_assert_cmpfloat (lam_fit_view_get_r2 (test_fit), >, 0.9);
  /* The errors: what the fit leaves, around zero. */
  GtkCheckButton *errors = NULL;
  for (GtkWidget *w = gtk_widget_get_first_child (evaluate); w != NULL && errors == NULL;) {
    if (GTK_IS_CHECK_BUTTON (w) && g_strcmp0 (gtk_check_button_get_label (GTK_CHECK_BUTTON (w)),
                                              "Show _errors") == 0)
      errors = GTK_CHECK_BUTTON (w);
    GtkWidget *next = gtk_widget_get_first_child (w);
    while (next == NULL && w != NULL && w != evaluate) {
      next = gtk_widget_get_next_sibling (w);
      if (next == NULL)
        w = gtk_widget_get_parent (w);
    }
    w = w == evaluate ? NULL : next;
  }
  g_assert_nonnull (errors);
  gtk_check_button_set_active (errors, TRUE);
  g_assert_true (lam_fit_view_get_residuals (test_fit));
  lam_test_settle (300);
  save_png (evaluate_window, "crop-yields-errors.png");
  gtk_check_button_set_active (errors, FALSE);
  lam_test_settle (300);
  g_autofree char *evaluate_png = g_build_filename (dir ? dir : ".", "crop-yields-evaluate.png",
                                                    NULL);
  g_assert_true (lam_ui_save_png (evaluate_window, evaluate_png, &error));
  g_test_message ("saved %s", evaluate_png);
  gtk_window_destroy (GTK_WINDOW (evaluate_window));
}

typedef struct
{
  LamSession *session;
  gint64 step;
} StepWait;

static gboolean
stepped (gpointer data)
{
  StepWait *wait = data;
  return lam_session_get_step (wait->session) >= wait->step &&
         lam_session_get_state (wait->session) == LAM_TRAIN_STATE_PAUSED;
}

typedef struct
{
  double weight_decay, l1;
  const char *rule; /* what the panel says each Step does */
  const char *png;
} NeuronStep;

/* One neuron on the study-time table: Step shows its two parameters,
 * their gradients and the changes SGD made, which are −lr × gradient,
 * with the penalties' terms when they are on; the panel's rule says
 * which. */
static void
test_one_neuron (gconstpointer data)
{
  const NeuronStep *case_ = data;
  g_autofree char *path = lam_dataset_find_bundled_table ("study-time");
  g_assert_nonnull (path);
  const char *inputs[] = { "hours", NULL }, *targets[] = { "score", NULL };
  g_autofree char *name = lam_table_name_build (path, inputs, targets);
  g_autoptr (LamSession) session = open_session (name);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("linear:1,loss=mse", &error);
  g_assert_no_error (error);
  lam_session_set_spec (session, spec);
  g_object_set (session, "device", "cpu", "optimizer", (guint) LAM_OPTIMIZER_SGD, NULL);
  g_object_set (session, "lr", 0.1, "batch-size", 8, "weight-decay", case_->weight_decay,
                "l1-penalty", case_->l1, NULL);

  GtkWidget *page = lam_train_page_new (session);
  GtkWidget *window = show_in_window (page);
  GtkGrid *grid = lam_train_page_get_parameters_grid (LAM_TRAIN_PAGE (page));
  g_assert_true (gtk_widget_get_visible (gtk_widget_get_parent (GTK_WIDGET (grid))));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gtk_grid_get_child_at (grid, 0, 1))), ==,
                   "0.weight[0,0]");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gtk_grid_get_child_at (grid, 0, 2))), ==,
                   "0.bias[0]");
  /* The rule, above the grid. */
  GtkWidget *rule = gtk_widget_get_prev_sibling (GTK_WIDGET (grid));
  g_assert_true (GTK_IS_LABEL (rule));
  g_test_message ("rule: %s", gtk_label_get_text (GTK_LABEL (rule)));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (rule)), ==, case_->rule);

  StepWait wait = { session, 1 };
  g_action_group_activate_action (lam_session_get_actions (session), "step", NULL);
  g_assert_true (lam_test_iterate_until (stepped, &wait, 20000));
  lam_test_settle (100);
  double after[2];
  for (int row = 1; row <= 2; row++) {
    double value =
      g_ascii_strtod (gtk_label_get_text (GTK_LABEL (gtk_grid_get_child_at (grid, 1, row))), NULL);
    double grad = g_ascii_strtod (
      gtk_label_get_text (GTK_LABEL (gtk_grid_get_child_at (grid, 2, row))), NULL);
    double change = g_ascii_strtod (
      gtk_label_get_text (GTK_LABEL (gtk_grid_get_child_at (grid, 3, row))), NULL);
    double sign = value > 0 ? 1 : value < 0 ? -1 : 0;
    double expected = -0.1 * (grad + case_->weight_decay * value + case_->l1 * sign);
    g_test_message ("row %d: value %+.5f, gradient %+.5f, change %+.5f (rule: %+.5f)", row, value,
                    grad, change, expected);
    g_assert_cmpfloat (grad, !=, 0);
    g_assert_cmpfloat_with_epsilon (change, expected, 2e-5 + 1e-3 * fabs (grad));
    after[row - 1] = value + change;
  }
  /* The line drawn is the one the table's new parameters make, in the
   * table's units (the neuron sees standardised hours and scores). */
  const LamDataset *train = lam_session_get_train_set (session);
  LamFitView *fit = lam_train_page_get_fit_view (LAM_TRAIN_PAGE (page));
  for (double hours = 1; hours <= 9; hours += 4) {
    double x = (hours - train->feature_mean[0]) / train->feature_std[0];
    double score = train->target_mean[0] + train->target_std[0] * (after[0] * x + after[1]);
    double drawn = lam_fit_view_predict_at (fit, hours);
    g_test_message ("%.0f hours: line at %.3f, the table's parameters give %.3f", hours, drawn,
                    score);
    g_assert_cmpfloat_with_epsilon (drawn, score, 1e-3 * train->target_std[0] * (1 + fabs (x)));
  }
  save_png (window, case_->png);
  g_action_group_activate_action (lam_session_get_actions (session), "stop", NULL);
  g_assert_true (lam_test_iterate_until (is_idle, session, 20000));
  gtk_window_destroy (GTK_WINDOW (window));
}

/* The first label below root whose text starts with prefix. */
static GtkLabel *
find_label_starting (GtkWidget *root, const char *prefix)
{
  if (GTK_IS_LABEL (root) && g_str_has_prefix (gtk_label_get_text (GTK_LABEL (root)), prefix))
    return GTK_LABEL (root);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkLabel *found = find_label_starting (child, prefix);
    if (found != NULL)
      return found;
  }
  return NULL;
}

/* One input: the fitted line through study time and score is the rule the
 * table was drawn from, score = 30 + 5.5 hours. */
static void
test_study_time_line (void)
{
  g_autofree char *path = lam_dataset_find_bundled_table ("study-time");
  const char *inputs[] = { "hours", NULL }, *targets[] = { "score", NULL };
  g_autofree char *name = lam_table_name_build (path, inputs, targets);
  g_autoptr (LamSession) session = open_session (name);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("linear:1,loss=mse", &error);
  lam_session_set_spec (session, spec);
  g_object_set (session, "device", "cpu", "epochs", 60, "batch-size", 8, "lr", 0.05, NULL);
  GtkWidget *page = lam_train_page_new (session);
  GtkWidget *window = show_in_window (page);
  train_to_end (session);
  LamFitView *fit = lam_train_page_get_fit_view (LAM_TRAIN_PAGE (page));
  double at2 = lam_fit_view_predict_at (fit, 2), at8 = lam_fit_view_predict_at (fit, 8);
  double slope = (at8 - at2) / 6, intercept = at2 - 2 * slope;
  g_test_message ("study time: score = %.2f + %.2f hours (drawn from 30 + 5.5 hours), R² %.3f",
                  intercept, slope, lam_fit_view_get_r2 (fit));
  g_assert_cmpfloat (fabs (slope - 5.5), <, 0.5);
  g_assert_cmpfloat (fabs (intercept - 30), <, 3);
  /* Trained in milliseconds, said so: "in 0.0 s" read as no time at all. */
  GtkLabel *finished = find_label_starting (page, "Finished 60 epochs in ");
  g_assert_nonnull (finished);
  g_test_message ("%s", gtk_label_get_text (finished));
  g_assert_null (strstr (gtk_label_get_text (finished), " 0.0 s"));
  /* And so is each epoch of the table, in its Time column. */
  GtkWidget *epochs =
    gtk_scrolled_window_get_child (lam_train_page_get_epoch_scroller (LAM_TRAIN_PAGE (page)));
  GtkLabel *time = NULL;
  GtkWidget *grid_of_epochs = gtk_widget_get_first_child (epochs);
  for (GtkWidget *cell = gtk_widget_get_first_child (grid_of_epochs); cell != NULL;
       cell = gtk_widget_get_next_sibling (cell)) {
    int column = -1;
    gtk_grid_query_child (GTK_GRID (grid_of_epochs), cell, &column, NULL, NULL, NULL);
    if (column == 5)
      time = GTK_LABEL (cell);
  }
  g_assert_nonnull (time);
  g_test_message ("the last epoch's time: %s", gtk_label_get_text (time));
  g_assert_true (g_str_has_suffix (gtk_label_get_text (time), " ms"));

  /* A run at full speed sends no Step's figures: the parameters table
   * shows the learned w and b, the line's own, and no gradient or change
   * (it stayed all "–"). */
  GtkGrid *grid = lam_train_page_get_parameters_grid (LAM_TRAIN_PAGE (page));
  gsize n = 0;
  const float *weights = lam_session_get_weights (session, &n);
  g_assert_cmpuint (n, ==, 2);
  const LamDataset *train = lam_session_get_train_set (session);
  double shown[2];
  for (int row = 1; row <= 2; row++) {
    const char *value = gtk_label_get_text (GTK_LABEL (gtk_grid_get_child_at (grid, 1, row)));
    g_test_message ("row %d: value %s", row, value);
    g_assert_cmpstr (value, !=, "–");
    shown[row - 1] = g_ascii_strtod (value, NULL);
    g_assert_cmpfloat_with_epsilon (shown[row - 1], weights[row - 1], 1e-5);
    for (int c = 2; c < 4; c++)
      g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gtk_grid_get_child_at (grid, c, row))), ==,
                       "–");
  }
  double x = (8 - train->feature_mean[0]) / train->feature_std[0];
  g_assert_cmpfloat_with_epsilon (
    at8, train->target_mean[0] + train->target_std[0] * (shown[0] * x + shown[1]),
    1e-3 * train->target_std[0] * (1 + fabs (x)));
  save_png (window, "study-time-fit.png");

  /* The R² chart draws the training line its legend names, a point an
   * epoch (a regression scores its training rows at the epochs' ends
   * only; the line had no points at all). */
  LamChart *chart = lam_train_page_get_accuracy_chart (LAM_TRAIN_PAGE (page));
  const LamProjectRun *run = lam_session_get_current_run (session);
  const LamRunEpoch *last = &g_array_index (run->epochs, LamRunEpoch, run->epochs->len - 1);
  guint train_series = 0;
  for (guint i = 0; i < lam_chart_get_n_series (chart); i++) {
    guint id = lam_chart_get_nth_series (chart, i);
    if (lam_chart_get_series_flags (chart, id) & LAM_CHART_SERIES_SMOOTHED)
      train_series = id;
  }
  g_assert_cmpuint (train_series, !=, 0);
  g_test_message ("training R² line: %u points, last epoch's R² %.3f",
                  lam_chart_get_n_points (chart, train_series), last->train_accuracy);
  g_assert_cmpuint (lam_chart_get_n_points (chart, train_series), ==, 60);
  double px = 0, py = 0;
  g_assert_true (lam_chart_get_point_near (chart, train_series, 60, &px, &py));
  g_assert_cmpfloat (px, ==, 60);
  g_assert_cmpfloat_with_epsilon (py, last->train_accuracy, 1e-6);

  /* Weights of the model before an edit are not the new model's. */
  g_autoptr (LamModelSpec) other = lam_model_spec_from_text ("linear:1,loss=mae", &error);
  g_assert_no_error (error);
  lam_session_set_spec (session, other);
  lam_test_settle (50);
  for (int c = 1; c < 4; c++)
    g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gtk_grid_get_child_at (grid, c, 1))), ==, "–");
  /* And back: they are again. */
  lam_session_set_spec (session, spec);
  lam_test_settle (50);
  g_assert_cmpfloat_with_epsilon (
    g_ascii_strtod (gtk_label_get_text (GTK_LABEL (gtk_grid_get_child_at (grid, 1, 1))), NULL),
    shown[0], 1e-5);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* The Data page shows a table's rows, sortable by any column, beside its
 * columns' statistics. */
static void
test_data_page_table (void)
{
  g_autofree char *path = lam_dataset_find_bundled_table ("crop-yields");
  const char *targets[] = { "apples", "oranges", NULL };
  g_autofree char *name = lam_table_name_build (path, NULL, targets);
  g_autoptr (LamSession) session = open_session (name);
  const LamDataset *train = lam_session_get_train_set (session);
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 700);
  GtkWidget *page = lam_data_page_new (session);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  lam_test_settle (300);
  /* Every column's histogram counts every row. */
  LamColumnHistograms *histograms = lam_data_page_get_table_histograms (LAM_DATA_PAGE (page));
  g_assert_cmpint (lam_column_histograms_get_n_columns (histograms), ==, 5);
  for (int k = 0; k < 5; k++) {
    int total = 0;
    for (int b = 0; b < LAM_COLUMN_HISTOGRAMS_BINS; b++)
      total += lam_column_histograms_get_count (histograms, k, b);
    g_assert_cmpint (total, ==, train->n);
  }
  GtkColumnView *rows = lam_data_page_get_table_rows (LAM_DATA_PAGE (page));
  GListModel *columns = gtk_column_view_get_columns (rows);
  g_assert_cmpuint (g_list_model_get_n_items (columns), ==, 5);
  GListModel *model = G_LIST_MODEL (gtk_column_view_get_model (rows));
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, (guint) train->n);

  /* Sorted by rainfall (the second input), the rows come in its order. */
  g_autoptr (GtkColumnViewColumn) rainfall = g_list_model_get_item (columns, 1);
  gtk_column_view_sort_by_column (rows, rainfall, GTK_SORT_ASCENDING);
  lam_test_settle (100);
  double previous = -G_MAXDOUBLE;
  for (guint i = 0; i < g_list_model_get_n_items (model); i++) {
    g_autoptr (GtkStringObject) item = g_list_model_get_item (model, i);
    guint row = (guint) g_ascii_strtoull (gtk_string_object_get_string (item), NULL, 10);
    double value = train->features[(gsize) row * train->n_features + 1];
    g_assert_cmpfloat (value, >=, previous);
    previous = value;
  }
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *png = g_build_filename (dir ? dir : ".", "data-page-table.png", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (window, png, &error));
  g_test_message ("saved %s", png);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* A regression on the plane: the ripple surface, fitted by a small
 * network, drawn as a surface under its points. */
static void
test_ripple_surface (void)
{
  g_autoptr (LamSession) session = lam_session_new ();
  lam_session_load_dataset_async (session, "playground:ripple?points=400&noise=0.05&seed=1", NULL,
                                  on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (loaded, session, 20000));
  g_assert_cmpint (lam_session_get_train_set (session)->task, ==, LAM_TASK_REGRESSION);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec =
    lam_model_spec_from_text ("linear:16,tanh,linear:16,tanh,linear:1,loss=mse", &error);
  g_assert_no_error (error);
  lam_session_set_spec (session, spec);
  g_assert_true (lam_session_get_model_valid (session));
  g_object_set (session, "device", "cpu", "epochs", 150, "batch-size", 16, "lr", 0.01, NULL);
  GtkWidget *page = lam_train_page_new (session);
  GtkWidget *window = show_in_window (page);
  LamBoundaryView *surface = lam_train_page_get_boundary_view (LAM_TRAIN_PAGE (page));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (surface)));
  g_assert_false (gtk_widget_get_visible (
    GTK_WIDGET (lam_train_page_get_fit_view (LAM_TRAIN_PAGE (page)))));
  train_to_end (session);
  const LamProjectRun *run = lam_session_get_current_run (session);
  g_test_message ("ripple, 16-16 tanh, 150 epochs: test R² %.3f", run->test_accuracy);
  g_assert_cmpfloat (run->test_accuracy, >, 0.8);
  save_png (window, "playground-ripple.png");
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Same projects: a playground lesson saves and opens as an image lesson
 * does, its set named and generated again, its weights and runs kept. */
static void
test_project_round_trip (void)
{
  const char *uri = "playground:moons?points=200&noise=0.1&seed=4";
  g_autoptr (LamSession) session = open_session (uri);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec =
    lam_model_spec_from_text ("linear:8,tanh,linear:8,tanh,linear:2", &error);
  lam_session_set_spec (session, spec);
  g_object_set (session, "device", "cpu", "epochs", 20, "batch-size", 16, "lr", 0.03, NULL);
  g_action_group_activate_action (lam_session_get_actions (session), "start-pause", NULL);
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));

  g_autofree char *dir = g_dir_make_tmp ("lamina-playground-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "moons.lamina", NULL);
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  lam_session_fill_project_file (session, file);
  g_assert_true (lam_project_file_save (file, path, &error));
  g_assert_no_error (error);

  g_autoptr (LamProjectFile) opened = lam_project_file_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (opened->dataset_dir, ==, uri);
  g_autoptr (LamSession) again = lam_session_new ();
  lam_session_load_project_file (again, opened);
  lam_session_load_dataset_async (again, opened->dataset_dir, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (loaded, again, 20000));
  const LamDataset *a = lam_session_get_train_set (session), *b = lam_session_get_train_set (again);
  g_assert_cmpint (a->n, ==, b->n);
  g_assert_cmpmem (a->features, sizeof (float) * 2 * a->n, b->features, sizeof (float) * 2 * b->n);
  g_assert_cmpuint (lam_session_get_n_runs (again), ==, 1);
  g_assert_true (lam_session_get_can_continue (again));
  gsize n = 0, m = 0;
  const float *weights = lam_session_get_weights (session, &n);
  const float *reopened = lam_session_get_weights (again, &m);
  g_assert_cmpuint (n, ==, m);
  g_assert_cmpmem (weights, n * sizeof (float), reopened, m * sizeof (float));
  g_unlink (path);
  g_rmdir (dir);
}

/* In the window: a saved playground lesson opens with no word of a
 * missing folder, its set made again and shown on the plane. */
static void
test_window_project (void)
{
  g_autoptr (LamSession) session = open_session ("playground:circle?points=200&seed=2");
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_preset ("playground-mlp", &error);
  g_assert_no_error (error);
  lam_session_set_spec (session, spec);
  g_object_set (session, "device", "cpu", "epochs", 5, NULL);
  train_to_end (session);
  LamWindow *window = lam_window_new (NULL, session);
  g_autofree char *dir = g_dir_make_tmp ("lamina-playground-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "circle.lamina", NULL);
  g_assert_true (lam_window_save_project (window, path, &error));
  g_assert_no_error (error);
  LamTrainPage *before = LAM_TRAIN_PAGE (lam_window_get_page (window, "train"));
  double accuracy = lam_boundary_view_get_accuracy (lam_train_page_get_boundary_view (before));
  g_assert_false (isnan (accuracy));
  gtk_window_destroy (GTK_WINDOW (window));

  g_autoptr (LamSession) fresh = lam_session_new ();
  LamWindow *reopened = lam_window_new (NULL, fresh);
  gtk_window_present (GTK_WINDOW (reopened));
  g_autofree char *warning = NULL;
  g_assert_true (lam_window_open_project (reopened, path, &warning, &error));
  g_assert_no_error (error);
  g_assert_null (warning);
  g_assert_true (lam_test_iterate_until (loaded, fresh, 20000));
  g_assert_cmpstr (lam_session_get_dataset_dir (fresh), ==, "playground:circle?points=200&seed=2");
  /* Every epoch's weights came back from the file beside the project. */
  g_assert_cmpuint (lam_session_get_n_snapshots (fresh), ==, 5);
  g_assert_cmpint (lam_session_get_snapshot_epoch (fresh, 4), ==, 5);
  lam_test_settle (300);
  LamTrainPage *train = LAM_TRAIN_PAGE (lam_window_get_page (reopened, "train"));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (lam_train_page_get_boundary_view (train))));
  /* The same weights on the same points: the same map. */
  g_assert_cmpfloat (lam_boundary_view_get_accuracy (lam_train_page_get_boundary_view (train)),
                     ==, accuracy);
  gtk_window_destroy (GTK_WINDOW (reopened));
  g_unlink (path);
  g_rmdir (dir);
}

static GtkExpander *
find_expander (GtkWidget *widget)
{
  if (GTK_IS_EXPANDER (widget))
    return GTK_EXPANDER (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkExpander *found = find_expander (child);
    if (found != NULL)
      return found;
  }
  return NULL;
}

/* A table's project: saved from the window with the table's name (its
 * file and chosen columns), it opens in another window on the same rows
 * with the same run and the same weights, bit for bit. */
static void
test_window_table_project (void)
{
  g_autofree char *table = lam_dataset_find_bundled_table ("crop-yields");
  const char *const inputs[] = { "temperature", "rainfall", "humidity", NULL };
  const char *const targets[] = { "apples", "oranges", NULL };
  g_autofree char *name = lam_table_name_build (table, inputs, targets);
  g_autoptr (LamSession) session = open_session (name);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("linear:2,loss=mse", &error);
  g_assert_no_error (error);
  lam_session_set_spec (session, spec);
  g_object_set (session, "device", "cpu", "epochs", 6, "batch-size", 16, "lr", 0.05,
                "l1-penalty", 0.001, NULL);
  train_to_end (session);
  LamWindow *window = lam_window_new (NULL, session);
  g_autofree char *dir = g_dir_make_tmp ("lamina-table-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "crops.lamina", NULL);
  g_assert_true (lam_window_save_project (window, path, &error));
  g_assert_no_error (error);
  gsize n_params = 0;
  const float *weights = lam_session_get_weights (session, &n_params);
  g_autofree float *saved = g_memdup2 (weights, n_params * sizeof (float));
  const LamProjectRun *run = lam_session_get_current_run (session);
  double r2 = g_array_index (run->epochs, LamRunEpoch, run->epochs->len - 1).train_accuracy; /* R² */
  g_assert_cmpfloat (r2, >, 0.5);
  gtk_window_destroy (GTK_WINDOW (window));

  g_autoptr (LamSession) fresh = lam_session_new ();
  LamWindow *reopened = lam_window_new (NULL, fresh);
  gtk_window_present (GTK_WINDOW (reopened));
  g_autofree char *warning = NULL;
  g_assert_true (lam_window_open_project (reopened, path, &warning, &error));
  g_assert_no_error (error);
  g_assert_null (warning);
  g_assert_true (lam_test_iterate_until (loaded, fresh, 20000));
  lam_test_settle (300);
  g_assert_cmpstr (lam_session_get_dataset_dir (fresh), ==, name);
  const LamDataset *train = lam_session_get_train_set (fresh);
  g_assert_cmpint (train->task, ==, LAM_TASK_REGRESSION);
  g_assert_cmpint (train->n_targets, ==, 2);
  g_assert_cmpfloat (lam_session_get_config (fresh)->optimizer.l1, ==, 0.001);
  const LamProjectRun *back = lam_session_get_current_run (fresh);
  g_assert_nonnull (back);
  g_assert_cmpuint (back->epochs->len, ==, 6);
  g_assert_cmpfloat (g_array_index (back->epochs, LamRunEpoch, 5).train_accuracy, ==, r2);
  gsize n_back = 0;
  const float *back_weights = lam_session_get_weights (fresh, &n_back);
  g_assert_cmpmem (back_weights, n_back * sizeof (float), saved, n_params * sizeof (float));
  LamTrainPage *page = LAM_TRAIN_PAGE (lam_window_get_page (reopened, "train"));
  LamFitView *fit = lam_train_page_get_fit_view (page);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (fit)));
  /* The reopened weights' fit is drawn before any training. */
  g_test_message ("reopened crop-yields fit: R² %.4f", lam_fit_view_get_r2 (fit));
  g_assert_cmpfloat (lam_fit_view_get_r2 (fit), >, 0.9);
  /* The settings a lesson changes less often, the L1 penalty among them. */
  lam_window_show_page (reopened, "train");
  GtkExpander *more = find_expander (GTK_WIDGET (page));
  g_assert_nonnull (more);
  gtk_expander_set_expanded (more, TRUE);
  lam_test_settle (300);
  save_png (GTK_WIDGET (reopened), "train-more-settings.png");
  gtk_window_destroy (GTK_WINDOW (reopened));
  g_unlink (path);
  g_rmdir (dir);
}

/* The button under root whose label starts with prefix. */
static GtkButton *
find_button (GtkWidget *root, const char *prefix)
{
  if (GTK_IS_BUTTON (root)) {
    const char *label = gtk_button_get_label (GTK_BUTTON (root));
    if (label != NULL && g_str_has_prefix (label, prefix))
      return GTK_BUTTON (root);
  }
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkButton *found = find_button (child, prefix);
    if (found != NULL)
      return found;
  }
  return NULL;
}

static gboolean
sweep_has_steps (gpointer data)
{
  const LamLrFindResult *result = lam_lr_finder_dialog_get_result (LAM_LR_FINDER_DIALOG (data));
  return result != NULL && result->n_steps >= 3;
}

static gboolean
sweep_done (gpointer data)
{
  return !lam_lr_finder_dialog_get_running (LAM_LR_FINDER_DIALOG (data));
}

/* The learning-rate finder from the Train page's Find… button: a sweep on
 * a copy of the model, its curve drawn, the suggestion put into the
 * learning rate by Use; the session's weights and settings otherwise
 * untouched. Closing it while it runs stops it. */
static void
test_lr_finder (void)
{
  g_autofree char *table = lam_dataset_find_bundled_table ("crop-yields");
  const char *const inputs[] = { "temperature", "rainfall", "humidity", NULL };
  const char *const targets[] = { "apples", "oranges", NULL };
  g_autofree char *name = lam_table_name_build (table, inputs, targets);
  g_autoptr (LamSession) session = open_session (name);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("linear:2,loss=mse", &error);
  g_assert_no_error (error);
  lam_session_set_spec (session, spec);
  g_object_set (session, "device", "cpu", "optimizer", (guint) LAM_OPTIMIZER_SGD, NULL);
  GtkWidget *page = lam_train_page_new (session);
  GtkWidget *window = show_in_window (page);
  lam_test_settle (200);

  LamLrFinderDialog *dialog = lam_train_page_find_lr (LAM_TRAIN_PAGE (page));
  g_object_ref (dialog);
  g_assert_true (lam_test_iterate_until (sweep_done, dialog, 60000));
  lam_test_settle (200);
  const LamLrFindResult *result = lam_lr_finder_dialog_get_result (dialog);
  g_assert_nonnull (result);
  g_assert_null (lam_lr_finder_dialog_get_error (dialog));
  g_test_message ("crop yields, linear:2, SGD: %d steps, suggested lr %.4g (loss lowest at %.4g)",
                  result->n_steps, result->suggested_lr, result->min_lr);
  /* The rule is linear and the inputs standardised: rates of 0.01 to 0.5
   * fit it in a few epochs. */
  g_assert_cmpfloat (result->suggested_lr, >=, 0.01);
  g_assert_cmpfloat (result->suggested_lr, <=, 0.5);
  double suggested = result->suggested_lr;
  save_png (GTK_WIDGET (dialog), "lr-finder.png");
  GtkButton *use = find_button (GTK_WIDGET (dialog), "_Use");
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (use)));
  g_autofree char *use_label = g_strdup_printf ("_Use %.3g", suggested);
  g_assert_cmpstr (gtk_button_get_label (use), ==, use_label);
  g_assert_null (lam_session_get_weights_spec (session));
  g_assert_true (lam_lr_finder_dialog_use (dialog));
  g_assert_cmpfloat (lam_session_get_config (session)->optimizer.lr, ==, suggested);
  g_object_unref (dialog);

  /* Closed at once: the sweep stops and the window goes. */
  dialog = lam_train_page_find_lr (LAM_TRAIN_PAGE (page));
  GWeakRef gone;
  g_weak_ref_init (&gone, dialog);
  gtk_window_close (GTK_WINDOW (dialog));
  for (int i = 0; i < 200; i++) {
    GObject *alive = g_weak_ref_get (&gone);
    if (alive == NULL)
      break;
    g_object_unref (alive);
    lam_test_settle (50);
  }
  GObject *alive = g_weak_ref_get (&gone);
  g_assert_null (alive);
  g_weak_ref_clear (&gone);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Stop in the middle of a sweep: the curve so far stays, but part of a
 * sweep settles on no rate. Use stayed enabled, labelled only "Use", and
 * put in the best of the rates tried so far. It is enabled only with a
 * suggestion, and then says the rate it sets. */
static void
test_lr_finder_stopped (void)
{
  g_autofree char *bars = lam_test_write_bars_dataset (400, 10);
  g_autoptr (LamSession) session = open_session (bars);
  /* Wide enough that the hundred rates take seconds, Stop comes first. */
  g_autoptr (LamModelSpec) spec =
    lam_model_spec_from_text ("flatten,linear:1024,relu,linear:1024,relu,linear:10", NULL);
  lam_session_set_spec (session, spec);
  g_object_set (session, "device", "cpu", "batch-size", 128, NULL);
  double lr = lam_session_get_config (session)->optimizer.lr;
  GtkWidget *page = lam_train_page_new (session);
  GtkWidget *window = show_in_window (page);
  lam_test_settle (200);

  LamLrFinderDialog *dialog = lam_train_page_find_lr (LAM_TRAIN_PAGE (page));
  g_object_ref (dialog);
  GtkButton *use = find_button (GTK_WIDGET (dialog), "_Use");
  g_assert_nonnull (use);
  g_assert_true (lam_test_iterate_until (sweep_has_steps, dialog, 60000));
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (use)));
  GtkButton *stop = find_button (GTK_WIDGET (dialog), "_Stop");
  g_assert_nonnull (stop);
  gtk_widget_activate (GTK_WIDGET (stop));
  g_assert_true (lam_test_iterate_until (sweep_done, dialog, 60000));
  lam_test_settle (200);
  save_png (GTK_WIDGET (dialog), "lr-finder-stopped.png");
  const LamLrFindResult *result = lam_lr_finder_dialog_get_result (dialog);
  g_assert_nonnull (result);
  g_test_message ("stopped after %d of %d rates: %s", result->n_steps, result->n_planned,
                  lam_lr_finder_dialog_get_error (dialog));
  g_assert_cmpint (result->n_steps, <, result->n_planned);
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (use)));
  g_assert_cmpstr (gtk_button_get_label (use), ==, "_Use");
  g_assert_false (lam_lr_finder_dialog_use (dialog));
  g_assert_cmpfloat (lam_session_get_config (session)->optimizer.lr, ==, lr);
  g_assert_nonnull (strstr (lam_lr_finder_dialog_get_error (dialog), "Stopped after"));
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_object_unref (dialog);
  gtk_window_destroy (GTK_WINDOW (window));
  lam_test_remove_tree (bars);
}

/* Opens the dataset of that name in session, already holding one. */
static void
switch_dataset (LamSession *session, const char *name)
{
  lam_session_load_dataset_async (session, name, NULL, on_loaded, NULL);
  while (lam_session_get_loading (session) ||
         g_strcmp0 (lam_session_get_dataset_dir (session), name) != 0)
    g_main_context_iteration (NULL, TRUE);
}

/* Weights of an image model stay published when a table is opened after
 * it, but they are no model of the table's rows: the Train page's map of
 * the plane and of its neurons, and a regression's fit, show none of
 * them. They fed the image model rows of 2 (or 3) values and it read on
 * far past them: the window crashed as the table opened. */
static void
test_image_weights_then_table (void)
{
  g_autofree char *bars = lam_test_write_bars_dataset (20, 2);
  g_autoptr (LamSession) session = open_session (bars);
  const LamModelPlan *plan = lam_session_get_plan (session);
  g_assert_nonnull (plan);
  g_autofree float *params = g_new (float, plan->n_params);
  for (gsize i = 0; i < plan->n_params; i++)
    params[i] = (float) ((i % 7) - 3) * 0.01f;
  const float mean[3] = { 0, 0, 0 }, std[3] = { 1, 1, 1 };
  lam_session_set_weights (session, lam_session_get_spec (session), params, plan->n_params, mean,
                           std, 1);

  GtkWidget *page = lam_train_page_new (session);
  GtkWidget *window = show_in_window (page);
  lam_test_settle (100);

  switch_dataset (session, "playground:circle?points=100&noise=0.1&seed=1");
  lam_test_settle (100);
  g_assert_nonnull (lam_session_get_weights_spec (session));
  LamBoundaryView *map = lam_train_page_get_boundary_view (LAM_TRAIN_PAGE (page));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (map)));
  g_assert_cmpint (lam_boundary_view_get_class_at (map, 0, 0), ==, -1);
  g_assert_true (isnan (lam_boundary_view_get_accuracy (map)));
  LamNeuronMaps *neurons = lam_train_page_get_neuron_maps (LAM_TRAIN_PAGE (page));
  g_assert_cmpint (lam_neuron_maps_get_n_units (neurons), ==, 0);
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (neurons)));

  g_autofree char *table = g_build_filename (bars, "lines.csv", NULL);
  lam_test_write_linear_csv (table, 60, 3, 1, 0.1, 4, NULL, NULL);
  switch_dataset (session, table);
  lam_test_settle (100);
  LamFitView *fit = lam_train_page_get_fit_view (LAM_TRAIN_PAGE (page));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (fit)));
  g_assert_true (isnan (lam_fit_view_get_r2 (fit)));

  gtk_window_destroy (GTK_WINDOW (window));
  lam_test_remove_tree (bars);
}

/* A table of one input and one target: the dialog's line under the
 * columns read "Regression: 1 inputs → 1 values to predict." */
static void
test_table_dialog_singular (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-line-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "line.csv", NULL);
  lam_test_write_linear_csv (path, 50, 1, 1, 0.5, 3, NULL, NULL);
  g_autoptr (GError) error = NULL;
  LamTableDialog *dialog = lam_table_dialog_new (NULL, path, &error);
  g_assert_no_error (error);
  GtkLabel *task = find_label_starting (GTK_WIDGET (dialog), "Regression:");
  g_assert_nonnull (task);
  g_assert_cmpstr (gtk_label_get_text (task), ==, "Regression: 1 input → 1 value to predict.");
  gtk_window_destroy (GTK_WINDOW (dialog));
  lam_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  gtk_init ();
  g_object_set (gtk_settings_get_default (), "gtk-cursor-blink", FALSE, NULL);
  g_test_init (&argc, &argv, NULL);
  static const Lesson lessons[] = {
    { "playground:circle?points=300&noise=0.1&seed=1", "linear:8,tanh,linear:8,tanh,linear:2", 60,
      0.03, 0.95 },
    { "playground:xor?points=300&noise=0.1&seed=1", "linear:8,tanh,linear:8,tanh,linear:2", 60,
      0.03, 0.95 },
    { "playground:gauss?points=300&noise=0.1&seed=1", "linear:2", 30, 0.03, 0.95 },
    { "playground:moons?points=300&noise=0.1&seed=1", "linear:8,tanh,linear:8,tanh,linear:2", 60,
      0.03, 0.95 },
    { "playground:blobs?points=300&noise=0.1&classes=4&seed=1",
      "linear:8,tanh,linear:8,tanh,linear:4", 60, 0.03, 0.95 },
    { "playground:spiral?points=400&noise=0.1&seed=1",
      "linear:32,tanh,linear:32,tanh,linear:2", 300, 0.01, 0.90 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (lessons); i++) {
    LamPlaygroundParams params;
    g_assert_true (lam_playground_params_parse (lessons[i].uri, &params, NULL));
    g_autofree char *path = g_strdup_printf ("/playground-ui/%s",
                                             lam_playground_kind_to_string (params.kind));
    g_test_add_data_func (path, &lessons[i], test_lesson);
  }
  g_test_add_func ("/playground-ui/crop-yields", test_crop_yields);
  g_test_add_func ("/playground-ui/table-dialog/singular", test_table_dialog_singular);
  static const NeuronStep neuron_steps[] = {
    { 0, 0, "Each Step: p ← p − learning rate × ∂L/∂p, for every parameter.",
      "one-neuron-step.png" },
    { 0.5, 0.2,
      "Each Step: p ← p − learning rate × (∂L/∂p + weight decay × p + L1 penalty × sign(p)), "
      "for every parameter.",
      "one-neuron-step-penalties.png" },
  };
  g_test_add_data_func ("/playground-ui/one-neuron", &neuron_steps[0], test_one_neuron);
  g_test_add_data_func ("/playground-ui/one-neuron/penalties", &neuron_steps[1], test_one_neuron);
  g_test_add_func ("/playground-ui/study-time-line", test_study_time_line);
  g_test_add_func ("/playground-ui/data-page-table", test_data_page_table);
  g_test_add_func ("/playground-ui/ripple-surface", test_ripple_surface);
  g_test_add_func ("/playground-ui/project-round-trip", test_project_round_trip);
  g_test_add_func ("/playground-ui/window-project", test_window_project);
  g_test_add_func ("/playground-ui/window-table-project", test_window_table_project);
  g_test_add_func ("/playground-ui/lr-finder", test_lr_finder);
  g_test_add_func ("/playground-ui/lr-finder/stopped", test_lr_finder_stopped);
  g_test_add_func ("/playground-ui/image-weights-then-table", test_image_weights_then_table);
  return g_test_run ();
}
