/* The Evaluate page under Xvfb on real data: the MLP preset trained for an
 * epoch on Fashion-MNIST is published through the project, and the page's
 * confusion matrix, accuracy, gallery filters and orders, detail panel and
 * per-image history are checked against the engine's own evaluation. Each
 * view is saved as a PNG into the build's tests folder. */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "lam-device.h"
#include "lam-evaluate-page.h"
#include "lam-help.h"
#include "lam-predict.h"
#include "lam-ui-util.h"
#include "lam-test-keys.h"
#include "lam-test-util.h"

static LamSession *session;
static gboolean have_data;
static GtkWidget *window;
static LamEvaluatePage *page;

/* Two epochs of the same run, trained once for all tests. */
static LamModelSpec *spec;
static float *params[2];
static gsize n_params;
static float mean[3], std[3];

static void
on_after_paint (GdkFrameClock *clock, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* Settles, then waits for a whole frame of shown (a 1280 × 820 window) to
 * be painted, so that the PNG shows what the screen shows. */
static void
save_window_png (GtkWidget *shown, const char *name)
{
  lam_test_settle (300);
  GdkFrameClock *clock = gtk_widget_get_frame_clock (shown);
  gboolean painted = FALSE;
  gulong handler = g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), &painted);
  gtk_widget_queue_draw (shown);
  lam_test_iterate_until (lam_test_flag_set, &painted, 5000);
  g_signal_handler_disconnect (clock, handler);
  g_assert_cmpint (gtk_widget_get_width (shown), ==, 1280);
  g_assert_cmpint (gtk_widget_get_height (shown), ==, 820);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (shown, path, &error));
  g_assert_no_error (error);
  g_test_message ("saved %s", path);
}

static void
save_png (const char *name)
{
  save_window_png (window, name);
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
skip_without_data (void)
{
  if (have_data)
    return FALSE;
  g_test_skip ("Fashion-MNIST is not installed at " LAM_DATASET_DEFAULT_DIR
               ": apt-get install dataset-fashion-mnist");
  return TRUE;
}

/* One epoch of the MLP preset, headless on the CPU, continuing from
 * `start` when given; returns the weights. */
static float *
train_epoch (const float *start, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  LamTrainerConfig config = lam_trainer_config_default ();
  config.epochs = 1;
  config.batch_size = 128;
  config.seed = seed;
  config.evaluate_test = FALSE;
  config.normalize_from_data = start == NULL;
  if (start != NULL) {
    memcpy (config.mean, mean, sizeof mean);
    memcpy (config.std, std, sizeof std);
  }
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainer *trainer = lam_trainer_new (spec, lam_session_get_train_set (session),
                                         lam_session_get_test_set (session), backend, &config,
                                         &error);
  g_assert_no_error (error);
  if (start != NULL)
    lam_model_set_params_host (lam_trainer_get_model (trainer), start);
  lam_trainer_start (trainer, FALSE);
  lam_trainer_wait (trainer);
  gsize n = 0;
  float *weights = lam_trainer_dup_params (trainer, &n);
  n_params = n;
  if (start == NULL) {
    lam_trainer_get_normalization (trainer, mean, std);
    lam_model_spec_free (spec);
    spec = lam_model_spec_copy (lam_model_get_spec (lam_trainer_get_model (trainer)));
  }
  lam_trainer_free (trainer);
  lam_backend_free (backend);
  return weights;
}

static void
ensure_trained (void)
{
  if (params[0] != NULL)
    return;
  g_autoptr (GError) error = NULL;
  spec = lam_model_spec_preset ("mlp", &error);
  g_assert_no_error (error);
  gint64 start = g_get_monotonic_time ();
  params[0] = train_epoch (NULL, 1);
  params[1] = train_epoch (params[0], 2);
  g_test_message ("two epochs trained in %.1f s", (g_get_monotonic_time () - start) / 1e6);
}

typedef struct
{
  int epoch;
  guint run;
} Expected;

static gboolean
evaluated (gpointer data)
{
  const Expected *expected = data;
  LamEvaluationResult *result = lam_evaluation_get_result (lam_evaluate_page_get_evaluation (page));
  return !lam_evaluate_page_is_busy (page) && result != NULL && result->epoch == expected->epoch &&
         result->run == expected->run;
}

/* Publishes epoch `epoch`'s weights and waits for the page's result. */
static LamEvaluationResult *
publish (int epoch)
{
  gint64 start = g_get_monotonic_time ();
  /* Weights evaluated before come back at once, without a worker. */
  lam_session_set_weights (session, spec, params[epoch - 1], n_params, mean, std, epoch);
  Expected expected = { epoch, lam_session_get_weights_run (session) };
  lam_test_iterate_until (evaluated, &expected, 120000);
  g_assert_true (evaluated (&expected));
  g_test_message ("epoch %d evaluated and shown in %.0f ms", epoch,
                  (g_get_monotonic_time () - start) / 1e3);
  lam_test_settle (100);
  return lam_evaluation_get_result (lam_evaluate_page_get_evaluation (page));
}

static LamEvaluationResult *
current_result (void)
{
  return lam_evaluation_get_result (lam_evaluate_page_get_evaluation (page));
}

static gboolean
is_wrong (const LamEvaluationResult *result, int index)
{
  return result->predicted[index] != result->dataset->labels[index];
}

static void
test_empty_state (void)
{
  g_assert_null (lam_evaluate_page_get_confusion (page));
  g_assert_true (isnan (lam_evaluate_page_get_accuracy (page)));
  g_assert_false (lam_evaluate_page_is_busy (page));
  g_assert_cmpuint (lam_prediction_grid_get_n_items (lam_evaluate_page_get_gallery (page)), ==,
                    0);
  /* Nothing to save yet. */
  g_autoptr (GError) error = NULL;
  g_assert_false (lam_evaluate_page_save_confusion_csv (page, "/nonexistent/confusion.csv",
                                                        &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED);
  g_assert_nonnull (strstr (error->message, "/nonexistent/confusion.csv"));
  save_png ("evaluate-empty.png");
}

/* The engine's evaluation of weights on its own model, fresh. */
static LamPrediction *
engine_prediction (const float *weights)
{
  g_autoptr (GError) error = NULL;
  LamBackend *backend = lam_backend_cpu_new ();
  LamModel *model = lam_model_new (spec, backend, 500, 0, &error);
  g_assert_no_error (error);
  lam_model_set_params_host (model, weights);
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_CONFUSION;
  request.confusion_classes = 10;
  LamPrediction *engine = lam_model_predict (model, lam_session_get_test_set (session), NULL, 0,
                                             mean, std, &request, NULL, &error);
  g_assert_no_error (error);
  lam_model_free (model);
  lam_backend_free (backend);
  return engine;
}

static void
test_matches_engine (void)
{
  if (skip_without_data ())
    return;
  ensure_trained ();
  lam_session_begin_run (session);
  LamEvaluationResult *result = publish (1);
  const LamDataset *test = lam_session_get_test_set (session);
  const LamConfusion *confusion = lam_evaluate_page_get_confusion (page);
  g_assert_nonnull (confusion);
  g_assert_cmpint (confusion->n_classes, ==, 10);

  guint64 sum = 0, diagonal = 0;
  for (int t = 0; t < 10; t++)
    for (int p = 0; p < 10; p++) {
      sum += lam_confusion_get (confusion, t, p);
      if (t == p)
        diagonal += lam_confusion_get (confusion, t, p);
    }
  g_assert_cmpuint (sum, ==, (guint64) test->n);
  g_assert_cmpuint (sum, ==, 10000);
  double accuracy = lam_evaluate_page_get_accuracy (page);
  g_assert_cmpfloat_with_epsilon ((double) diagonal / test->n, accuracy, 1e-9);
  /* A class's tooltip, made when asked for, counts its row of the matrix. */
  for (int c = 0; c < 10; c++) {
    g_autofree char *tip = lam_evaluate_page_dup_class_tooltip (page, c);
    g_autofree char *right = lam_ui_format_count (lam_confusion_get (confusion, c, c));
    g_autofree char *want =
      g_strdup_printf ("%s: %s of 1,000 test images recognised", test->class_names[c], right);
    g_assert_cmpstr (tip, ==, want);
  }
  g_assert_null (lam_evaluate_page_dup_class_tooltip (page, 10));

  /* The engine's evaluation of the same weights on its own model. */
  g_autoptr (LamPrediction) engine = engine_prediction (params[0]);

  g_test_message ("test accuracy after one epoch: page %.4f, engine %.4f; loss page %.4f, "
                  "engine %.4f",
                  accuracy, engine->accuracy, result->mean_loss, engine->mean_loss);
  /* The page's worker runs the same weights through the same call with the
   * same batches: the very same numbers. */
  g_assert_cmpfloat (accuracy, ==, engine->accuracy);
  g_assert_cmpfloat (result->mean_loss, ==, engine->mean_loss);
  for (int t = 0; t < 10; t++)
    for (int p = 0; p < 10; p++)
      g_assert_cmpuint (lam_confusion_get (confusion, t, p), ==,
                        lam_confusion_get (engine->confusion, t, p));
  /* One epoch of this MLP gets well past chance. */
  g_assert_cmpfloat (accuracy, >, 0.75);
  save_png ("evaluate-overview.png");
}

/* The confusion matrix saved as CSV (the engine's formatting of the page's
 * matrix with the dataset's names) and as a PNG of the view; a path that
 * cannot be written is refused with the path named. */
static void
test_save_confusion (void)
{
  if (skip_without_data ())
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("lamina-evaluate-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *csv_path = g_build_filename (dir, "confusion.csv", NULL);
  g_autofree char *png_path = g_build_filename (dir, "confusion.png", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing", "confusion.csv", NULL);

  LamEvaluationResult *result = current_result ();
  g_assert_true (lam_evaluate_page_save_confusion_csv (page, csv_path, &error));
  g_assert_no_error (error);
  g_autofree char *csv = NULL;
  g_assert_true (g_file_get_contents (csv_path, &csv, NULL, NULL));
  g_autofree char *expected =
    lam_confusion_to_csv (lam_evaluate_page_get_confusion (page),
                          (const char *const *) result->dataset->class_names);
  g_assert_cmpstr (csv, ==, expected);
  /* Fashion-MNIST's first class name holds a slash, not a comma: as it is. */
  g_assert_true (g_str_has_prefix (csv, "true\\predicted,"));
  g_test_message ("%.*s", (int) strcspn (csv, "\r"), csv);

  g_assert_true (lam_evaluate_page_save_confusion_png (page, png_path, &error));
  g_assert_no_error (error);
  cairo_surface_t *png = cairo_image_surface_create_from_png (png_path);
  g_assert_cmpint (cairo_surface_status (png), ==, CAIRO_STATUS_SUCCESS);
  GtkWidget *view = GTK_WIDGET (lam_evaluate_page_get_confusion_view (page));
  g_assert_cmpint (cairo_image_surface_get_width (png), ==, gtk_widget_get_width (view));
  g_assert_cmpint (cairo_image_surface_get_height (png), ==, gtk_widget_get_height (view));
  cairo_surface_destroy (png);

  g_assert_false (lam_evaluate_page_save_confusion_csv (page, missing, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing));

  g_assert_cmpint (g_remove (csv_path), ==, 0);
  g_assert_cmpint (g_remove (png_path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_class_accuracy (void)
{
  if (skip_without_data ())
    return;
  LamEvaluationResult *result = current_result ();
  g_assert_nonnull (result);
  for (int c = 0; c < 10; c++) {
    guint64 row = 0;
    for (int p = 0; p < 10; p++)
      row += lam_confusion_get (result->confusion, c, p);
    g_assert_cmpuint (row, ==, 1000);
    g_assert_cmpfloat_with_epsilon (result->class_accuracy[c],
                                    (double) lam_confusion_get (result->confusion, c, c) / row,
                                    1e-12);
  }
}

static void
test_cell_filters_gallery (void)
{
  if (skip_without_data ())
    return;
  LamEvaluationResult *result = current_result ();
  LamPredictionGrid *gallery = lam_evaluate_page_get_gallery (page);
  LamConfusionView *view = lam_evaluate_page_get_confusion_view (page);
  const LamConfusion *confusion = lam_evaluate_page_get_confusion (page);

  /* T-shirt/top taken for Shirt. */
  lam_evaluate_page_activate_cell (page, 0, 6);
  guint expected = (guint) lam_confusion_get (confusion, 0, 6);
  guint brute = 0;
  for (int i = 0; i < result->n_images; i++)
    if (result->dataset->labels[i] == 0 && result->predicted[i] == 6)
      brute++;
  g_assert_cmpuint (brute, ==, expected);
  g_assert_cmpuint (expected, >, 0);
  g_assert_cmpuint (lam_prediction_grid_get_n_items (gallery), ==, expected);
  for (guint k = 0; k < expected; k++) {
    int index = lam_prediction_grid_get_item (gallery, k);
    g_assert_cmpint (result->dataset->labels[index], ==, 0);
    g_assert_cmpint (result->predicted[index], ==, 6);
  }
  g_assert_cmpint (lam_prediction_grid_get_item (gallery, expected), ==, -1);
  int t, p;
  g_assert_true (lam_confusion_view_get_selection (view, &t, &p));
  g_assert_cmpint (t, ==, 0);
  g_assert_cmpint (p, ==, 6);

  /* The same cell again shows everything. */
  lam_evaluate_page_activate_cell (page, 0, 6);
  g_assert_false (lam_confusion_view_get_selection (view, NULL, NULL));
  g_assert_cmpuint (lam_prediction_grid_get_n_items (gallery), ==, 10000);

  /* A diagonal cell shows the right ones of that class. */
  lam_evaluate_page_activate_cell (page, 1, 1);
  g_assert_cmpuint (lam_prediction_grid_get_n_items (gallery), ==,
                    lam_confusion_get (confusion, 1, 1));
  g_assert_cmpuint (lam_prediction_grid_get_n_wrong_items (gallery), ==, 0);
  lam_evaluate_page_activate_cell (page, 1, 1);
}

static void
test_gallery_order (void)
{
  if (skip_without_data ())
    return;
  LamEvaluationResult *result = current_result ();
  LamPredictionGrid *gallery = lam_evaluate_page_get_gallery (page);
  guint n = lam_prediction_grid_get_n_items (gallery);
  guint n_wrong = lam_prediction_grid_get_n_wrong_items (gallery);
  g_assert_cmpuint (n, ==, 10000);
  g_assert_cmpuint (n_wrong, ==, result->n_wrong);
  g_assert_cmpuint (n_wrong, >, 0);

  static const LamPredictionOrder orders[] = { LAM_PREDICTION_ORDER_CONFIDENT_WRONG,
                                               LAM_PREDICTION_ORDER_LEAST_CONFIDENT,
                                               LAM_PREDICTION_ORDER_INDEX };
  for (guint o = 0; o < G_N_ELEMENTS (orders); o++) {
    lam_prediction_grid_set_order (gallery, orders[o]);
    g_assert_cmpuint (lam_prediction_grid_get_n_items (gallery), ==, n);
    for (guint k = 0; k < n; k++) {
      int index = lam_prediction_grid_get_item (gallery, k);
      /* Misclassified first, whatever the order. */
      g_assert_true (is_wrong (result, index) == (k < n_wrong));
      if (k == 0 || k == n_wrong)
        continue;
      int before = lam_prediction_grid_get_item (gallery, k - 1);
      if (orders[o] == LAM_PREDICTION_ORDER_CONFIDENT_WRONG)
        g_assert_cmpfloat (result->confidence[before], >=, result->confidence[index]);
      else if (orders[o] == LAM_PREDICTION_ORDER_LEAST_CONFIDENT)
        g_assert_cmpfloat (result->confidence[before], <=, result->confidence[index]);
      /* Equally sure, or in test-set order: by index. */
      if (orders[o] == LAM_PREDICTION_ORDER_INDEX ||
          result->confidence[before] == result->confidence[index])
        g_assert_cmpint (before, <, index);
    }
  }
  lam_prediction_grid_set_order (gallery, LAM_PREDICTION_ORDER_CONFIDENT_WRONG);
  int first = lam_prediction_grid_get_item (gallery, 0);
  g_test_message ("most confident mistake: image %d, %s taken for %s at %.1f%%", first,
                  result->dataset->class_names[result->dataset->labels[first]],
                  result->dataset->class_names[result->predicted[first]],
                  100 * result->confidence[first]);
}

/* Whether the widget lies within what its scrolled window shows across:
 * its right edge not under the vertical scrollbar. */
static gboolean
inside_scrolled_view (GtkWidget *widget)
{
  GtkWidget *scrolled = gtk_widget_get_ancestor (widget, GTK_TYPE_SCROLLED_WINDOW);
  g_assert_nonnull (scrolled);
  GtkWidget *view = gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (scrolled));
  graphene_rect_t bounds;
  g_assert_true (gtk_widget_compute_bounds (widget, view, &bounds));
  g_test_message ("%s: right edge at %.0f of a view %d wide", G_OBJECT_TYPE_NAME (widget),
                  bounds.origin.x + bounds.size.width, gtk_widget_get_width (view));
  return bounds.origin.x + bounds.size.width <= gtk_widget_get_width (view);
}

static void
test_selected_image (void)
{
  if (skip_without_data ())
    return;
  LamEvaluationResult *result = current_result ();
  LamPredictionGrid *gallery = lam_evaluate_page_get_gallery (page);
  LamProbabilityBars *bars = lam_evaluate_page_get_detail_bars (page);

  lam_evaluate_page_activate_cell (page, 0, 6);
  int index = lam_prediction_grid_get_item (gallery, 0);
  lam_evaluate_page_select_image (page, index);
  g_assert_cmpint (lam_prediction_grid_get_selected (gallery), ==, index);
  g_assert_cmpint (lam_probability_bars_get_n_classes (bars), ==, 10);
  double sum = 0;
  for (int c = 0; c < 10; c++)
    sum += lam_probability_bars_get_probability (bars, c);
  g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);
  g_assert_cmpint (lam_probability_bars_get_ranked (bars, 0), ==, 6);
  g_assert_cmpstr (lam_evaluate_page_get_history_text (page), ==, "Wrong after epoch 1");
  save_png ("evaluate-predictions.png");
  /* The panel scrolls in a 1280 × 820 window: its percentages were cut
   * at the right, under the scrollbar ("99.8" for 99.8%). */
  g_assert_true (inside_scrolled_view (GTK_WIDGET (bars)));

  /* An image the filter hides clears the filter to show it. */
  int hidden = -1;
  for (int i = 0; i < result->n_images && hidden < 0; i++)
    if (result->dataset->labels[i] == 1)
      hidden = i;
  lam_evaluate_page_select_image (page, hidden);
  g_assert_cmpint (lam_prediction_grid_get_selected (gallery), ==, hidden);
  g_assert_cmpuint (lam_prediction_grid_get_n_items (gallery), ==, 10000);
}

/* A gallery of the current result alone in a window `width` wide: the
 * height of its rows (their scroll step), and whether it says a label is
 * cut. */
static int
gallery_row_height (int width, gboolean *cut)
{
  GtkWidget *own_window = gtk_window_new ();
  GtkWidget *gallery = lam_prediction_grid_new ();
  gtk_window_set_child (GTK_WINDOW (own_window), gallery);
  gtk_window_set_default_size (GTK_WINDOW (own_window), width, 400);
  lam_prediction_grid_set_result (LAM_PREDICTION_GRID (gallery), current_result ());
  gtk_window_present (GTK_WINDOW (own_window));
  lam_test_settle (300);
  GtkAdjustment *vadjustment = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (gallery));
  int height = (int) gtk_adjustment_get_step_increment (vadjustment);
  *cut = lam_prediction_grid_get_labels_cut (LAM_PREDICTION_GRID (gallery));
  g_test_message ("gallery %d wide: rows %d high, labels %s", gtk_widget_get_width (gallery),
                  height, *cut ? "cut" : "whole");
  gtk_window_destroy (GTK_WINDOW (own_window));
  return height;
}

/* In cells too narrow for "Ankle boot 100%" (one column of the smallest
 * cells, as the gallery beside the confusion matrix gives at 1024 × 768),
 * the labels wrap to a second line, and the rows grow for it, instead of
 * "Ankle boot 9…" hiding the confidence; in wide ones they take one. */
static void
test_gallery_labels_wrap (void)
{
  if (skip_without_data ())
    return;
  gboolean narrow_cut, wide_cut;
  int narrow = gallery_row_height (120, &narrow_cut);
  int wide = gallery_row_height (200, &wide_cut);
  g_assert_false (narrow_cut);
  g_assert_false (wide_cut);
  g_assert_cmpint (narrow, >, wide);
}

static const char *
expected_history (gboolean right1, gboolean right2)
{
  if (right1 && right2)
    return "Correct at every epoch so far";
  if (!right1 && !right2)
    return "Wrong at every epoch so far";
  return right2 ? "Became correct at epoch 2" : "Was correct at epoch 1, wrong now";
}

typedef struct
{
  LamExplainer *explainer;
  LamEvaluationResult *explained_then; /* the explainer's result as the page handled a new one */
  gboolean held_then;                  /* whether the panels' questions waited then */
  gboolean training_held_then;         /* whether a run would have waited then */
  gboolean training_held_after;        /* and once the evaluation let it go */
  gboolean updated;
} ExplainerSeen;

static gboolean
note_training_held_after (gpointer data)
{
  ExplainerSeen *seen = data;
  seen->training_held_after = lam_session_get_training_held (session);
  return G_SOURCE_REMOVE;
}

static void
on_updated_note_explainer (LamEvaluation *evaluation, ExplainerSeen *seen)
{
  seen->updated = TRUE;
  seen->explained_then = lam_explainer_get_result (seen->explainer);
  seen->held_then =
    lam_explain_panel_get_held (lam_evaluate_page_get_explain_panel (page, FALSE)) &&
    lam_explain_panel_get_held (lam_evaluate_page_get_explain_panel (page, TRUE));
  seen->training_held_then = lam_session_get_training_held (session);
  /* Before the frame is drawn (at a lower priority than this). */
  g_idle_add_full (G_PRIORITY_HIGH, note_training_held_after, seen, NULL);
}

/* The mistakes list shows the most frequent confusions of result, most
 * first, each with its count; returns its first button. */
static GtkWidget *
check_mistakes (LamEvaluationResult *result)
{
  const LamConfusion *confusion = result->confusion;
  int n = confusion->n_classes;
  g_autofree gboolean *taken = g_new0 (gboolean, (gsize) n * n);
  GtkWidget *box = lam_evaluate_page_get_mistakes (page);
  GtkWidget *button = gtk_widget_get_first_child (box);
  guint64 previous = G_MAXUINT64;
  int shown = 0;
  for (; button != NULL; button = gtk_widget_get_next_sibling (button), shown++) {
    int t = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "true-class"));
    int p = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "predicted-class"));
    g_assert_cmpint (t, !=, p);
    g_assert_false (taken[t * n + p]);
    taken[t * n + p] = TRUE;
    guint64 count = lam_confusion_get (confusion, t, p);
    g_assert_cmpuint (count, >, 0);
    g_assert_cmpuint (count, <=, previous);
    previous = count;
    GtkWidget *label = gtk_widget_get_first_child (gtk_button_get_child (GTK_BUTTON (button)));
    g_autofree char *text = g_strdup_printf ("%s taken for %s", result->dataset->class_names[t],
                                             result->dataset->class_names[p]);
    g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, text);
    g_autofree char *count_text = lam_ui_format_count (count);
    g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gtk_widget_get_next_sibling (label))), ==,
                     count_text);
    /* Its tooltip, made when asked for, counts the current result's images. */
    g_assert_true (gtk_widget_get_has_tooltip (button));
    g_autofree char *tip = lam_evaluate_page_dup_mistake_tooltip (page, button);
    g_autofree char *want_tip =
      g_strdup_printf ("Show the %s %s images the model took for %s", count_text,
                       result->dataset->class_names[t], result->dataset->class_names[p]);
    g_assert_cmpstr (tip, ==, want_tip);
  }
  g_assert_cmpint (shown, >, 0);
  // No confusion left out is more frequent than the least one shown.
  for (int t = 0; t < n; t++)
    for (int p = 0; p < n; p++)
      if (t != p && !taken[t * n + p])
        g_assert_cmpuint (lam_confusion_get (confusion, t, p), <=, previous);
  return gtk_widget_get_first_child (box);
}

static void
test_history (void)
{
  if (skip_without_data ())
    return;
  LamEvaluationResult *first = lam_evaluation_result_ref (current_result ());
  GtkWidget *first_button = check_mistakes (first);
  LamExplainer *explainer = lam_evaluate_page_get_explainer (page);
  ExplainerSeen seen = { explainer, NULL, FALSE, FALSE, FALSE, FALSE };
  g_assert_false (lam_session_get_training_held (session));
  gulong id = g_signal_connect_after (lam_evaluate_page_get_evaluation (page), "updated",
                                      G_CALLBACK (on_updated_note_explainer), &seen);
  LamEvaluation *single = lam_evaluate_page_get_evaluation (page);
  gsize image_numel = lam_shape_numel (&first->plan->input);
  g_autofree float *image = g_new (float, image_numel);
  float probs[10];
  lam_evaluation_result_prepare_image (first, 7, image);
  g_assert_true (lam_evaluation_predict_one (single, image, probs, NULL));
  LamEvaluationResult *second = publish (2);
  g_signal_handler_disconnect (lam_evaluate_page_get_evaluation (page), id);
  /* One image on its own gets the new weights' probabilities, though the
   * model that classifies it is the one the first weights were set in. */
  lam_evaluation_result_prepare_image (second, 7, image);
  g_assert_true (lam_evaluation_predict_one (single, image, probs, NULL));
  const float *batched = lam_evaluation_result_get_probabilities (second, 7);
  for (int c = 0; c < 10; c++)
    g_assert_cmpfloat_with_epsilon (probs[c], batched[c], 1e-5);
  const float *at_first = lam_evaluation_result_get_probabilities (first, 7);
  int top = second->predicted[7];
  g_assert_true (fabsf (batched[top] - at_first[top]) > 1e-4);
  /* The explanations followed the new result once its frame was drawn, not
   * while the page handled it. */
  g_assert_true (seen.updated);
  g_assert_true (seen.explained_then != second);
  g_assert_true (lam_explainer_get_result (explainer) == second);
  /* Nor did the panels ask the explainer, still on the first weights,
   * about the image shown; they asked once it had the second. */
  g_assert_true (seen.held_then);
  /* Training waited from the evaluation to the frame that shows it (the
   * evaluation's hold ends after the page took its own), and goes on once
   * that frame is drawn. */
  g_assert_true (seen.training_held_then);
  g_assert_true (seen.training_held_after);
  g_assert_false (lam_session_get_training_held (session));
  LamExplainPanel *detail = lam_evaluate_page_get_explain_panel (page, FALSE);
  g_assert_false (lam_explain_panel_get_held (detail));
  g_assert_false (lam_explain_panel_get_held (lam_evaluate_page_get_explain_panel (page, TRUE)));
  /* Relabelled for the new result, not made again. */
  g_assert_true (check_mistakes (second) == first_button);
  LamEvaluation *evaluation = lam_evaluate_page_get_evaluation (page);
  g_assert_cmpuint (lam_evaluation_get_n_history (evaluation), ==, 2);
  g_test_message ("test accuracy after epoch 2: %.4f", second->accuracy);
  /* The worker kept its model from epoch 1's evaluation: nothing of those
   * weights stays in it. */
  g_autoptr (LamPrediction) engine = engine_prediction (params[1]);
  g_assert_cmpfloat (second->accuracy, ==, engine->accuracy);
  g_assert_cmpfloat (second->mean_loss, ==, engine->mean_loss);
  for (int t = 0; t < 10; t++)
    for (int p = 0; p < 10; p++)
      g_assert_cmpuint (lam_confusion_get (second->confusion, t, p), ==,
                        lam_confusion_get (engine->confusion, t, p));

  /* One image of each kind of history, where the data has one. */
  int found[4] = { -1, -1, -1, -1 };
  guint changed = 0;
  for (int i = 0; i < second->n_images; i++) {
    gboolean right1 = !is_wrong (first, i), right2 = !is_wrong (second, i);
    changed += right1 != right2;
    int kind = right1 * 2 + right2;
    if (found[kind] < 0)
      found[kind] = i;
  }
  g_test_message ("%u test images changed between epochs 1 and 2", changed);
  g_assert_cmpuint (changed, >, 0);
  for (int kind = 0; kind < 4; kind++) {
    if (found[kind] < 0)
      continue;
    lam_evaluate_page_select_image (page, found[kind]);
    g_assert_cmpstr (lam_evaluate_page_get_history_text (page), ==,
                     expected_history (kind / 2, kind % 2));
  }
  g_assert_true (found[1] >= 0 || found[2] >= 0);
  lam_evaluation_result_unref (first);
}

typedef struct
{
  int epoch;
  gboolean rewound;
} Shown;

static gboolean
shown (gpointer data)
{
  const Shown *want = data;
  LamEvaluationResult *result = current_result ();
  return !lam_evaluate_page_is_busy (page) && result != NULL && result->epoch == want->epoch &&
         result->rewound == want->rewound;
}

/* The time machine: with both epochs' weights kept, the slider takes every
 * view back to epoch 1 (its accuracy, its matrix, its gallery) and returns;
 * the image that flipped is marked where it flipped. */
static void
test_time_machine (void)
{
  if (skip_without_data ())
    return;
  LamEvaluationResult *second = lam_evaluation_result_ref (current_result ());
  g_assert_cmpint (second->epoch, ==, 2);
  LamEpochSlider *slider = lam_evaluate_page_get_epoch_slider (page);
  g_assert_false (gtk_widget_get_visible (gtk_widget_get_first_child (GTK_WIDGET (slider))));
  lam_session_add_snapshot (session, 1, params[0], n_params);
  lam_session_add_snapshot (session, 2, params[1], n_params);
  g_assert_true (gtk_widget_get_visible (gtk_widget_get_first_child (GTK_WIDGET (slider))));
  g_assert_cmpstr (lam_epoch_slider_get_text (slider), ==, "Epoch 2, the newest");

  /* An image that was right after epoch 1 and wrong after epoch 2, or the
   * other way round. */
  LamEvaluation *evaluation = lam_evaluate_page_get_evaluation (page);
  const gint32 *at_one = lam_evaluation_get_history (evaluation, 0, NULL);
  int flipped = -1;
  for (int i = 0; i < second->n_images && flipped < 0; i++)
    if ((at_one[i] == second->dataset->labels[i]) != !is_wrong (second, i))
      flipped = i;
  g_assert_cmpint (flipped, >=, 0);
  lam_evaluate_page_select_image (page, flipped);
  g_assert_cmpuint (lam_epoch_slider_get_n_flips (slider), ==, 1);
  gboolean became_right = FALSE;
  g_assert_cmpint (lam_epoch_slider_get_flip (slider, 0, &became_right), ==, 2);
  g_assert_cmpint (became_right, ==, !is_wrong (second, flipped));
  save_png ("evaluate-epoch-2.png");

  gint64 start = g_get_monotonic_time ();
  gtk_range_set_value (lam_epoch_slider_get_range (slider), 1);
  g_assert_cmpint (lam_session_get_view_epoch (session), ==, 1);
  Shown want = { 1, TRUE };
  g_assert_true (lam_test_iterate_until (shown, &want, 60000));
  g_test_message ("slider to epoch 1: every view updated in %.0f ms",
                  (g_get_monotonic_time () - start) / 1e3);
  LamEvaluationResult *first = current_result ();
  g_assert_cmpmem (first->params, first->n_params * sizeof (float), params[0],
                   n_params * sizeof (float));
  g_assert_cmpmem (first->predicted, first->n_images * sizeof (gint32), at_one,
                   first->n_images * sizeof (gint32));
  g_assert_cmpstr (lam_epoch_slider_get_text (slider), ==, "Epoch 1 of 2");
  /* The selected image stays selected, shown as epoch 1 saw it. */
  g_assert_cmpint (lam_prediction_grid_get_selected (lam_evaluate_page_get_gallery (page)), ==,
                   flipped);
  g_assert_cmpuint (lam_evaluation_get_n_history (evaluation), ==, 2);
  save_png ("evaluate-epoch-1.png");

  /* Epochs already seen come back without a worker: the very results
   * computed before are shown again. */
  LamEvaluationResult *back_at_one = lam_evaluation_result_ref (first);
  gtk_range_set_value (lam_epoch_slider_get_range (slider), 2);
  g_assert_cmpint (lam_session_get_view_epoch (session), ==, 0);
  want = (Shown) { 2, FALSE };
  g_assert_true (lam_test_iterate_until (shown, &want, 60000));
  g_assert_true (current_result () == second);
  g_assert_cmpstr (lam_epoch_slider_get_text (slider), ==, "Epoch 2, the newest");
  gtk_range_set_value (lam_epoch_slider_get_range (slider), 1);
  want = (Shown) { 1, TRUE };
  g_assert_true (lam_test_iterate_until (shown, &want, 60000));
  g_assert_true (current_result () == back_at_one);
  gtk_range_set_value (lam_epoch_slider_get_range (slider), 2);
  want = (Shown) { 2, FALSE };
  g_assert_true (lam_test_iterate_until (shown, &want, 60000));
  g_assert_true (current_result () == second);
  lam_evaluation_result_unref (back_at_one);
  lam_evaluation_result_unref (second);
}

static gboolean
panel_explained (gpointer data)
{
  return lam_explain_panel_get_map (LAM_EXPLAIN_PANEL (data), NULL, NULL) != NULL &&
         lam_explain_panel_get_nearest (LAM_EXPLAIN_PANEL (data), NULL, NULL) > 0;
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

/* The explained image's name says what its status line says, and the
 * look-alikes' names their classes: what a screen reader hears. */
static void
assert_panel_named (LamExplainPanel *panel)
{
  g_autoptr (GPtrArray) areas = g_ptr_array_new ();
  collect_drawing_areas (GTK_WIDGET (panel), areas);
  g_assert_cmpuint (areas->len, ==, 2);
  const char *image = lam_ui_get_accessible_label (g_ptr_array_index (areas, 0));
  const char *nearest = lam_ui_get_accessible_label (g_ptr_array_index (areas, 1));
  g_test_message ("named \"%s\" and \"%s\"", image, nearest);
  g_assert_nonnull (image);
  g_assert_nonnull (strstr (image, lam_explain_panel_get_status (panel)));
  const gint32 *labels = NULL;
  g_assert_cmpint (lam_explain_panel_get_nearest (panel, NULL, &labels), >, 0);
  LamEvaluationResult *result = current_result ();
  g_assert_nonnull (nearest);
  g_assert_nonnull (strstr (nearest, result->dataset->class_names[labels[0]]));
}

static gboolean
map_ready (gpointer data)
{
  return lam_explainer_get_map_ready (LAM_EXPLAINER (data));
}

/* Why it said that: the drawing's heat map and look-alikes, live; the
 * selected image's; how often the look-alikes share a correctly
 * classified image's class; the map, its lasso filtering the gallery. */
static void
test_why (void)
{
  if (skip_without_data ())
    return;
  /* The drawing of test_draw is still on the pad. */
  lam_evaluate_page_show_tab (page, "draw");
  LamExplainPanel *draw_panel = lam_evaluate_page_get_explain_panel (page, TRUE);
  gint64 start = g_get_monotonic_time ();
  g_assert_true (lam_test_iterate_until (panel_explained, draw_panel, 60000));
  g_test_message ("the drawing explained, look-alikes included, in %.0f ms (the look-alikes "
                  "compared with all 60,000 training images first)",
                  (g_get_monotonic_time () - start) / 1e3);
  g_test_message ("drawing: %s", lam_explain_panel_get_status (draw_panel));
  const guint32 *near = NULL;
  const gint32 *near_labels = NULL;
  int n_near = lam_explain_panel_get_nearest (draw_panel, &near, &near_labels);
  g_assert_cmpint (n_near, ==, LAM_EXPLAIN_PANEL_N_NEAREST);
  assert_panel_named (draw_panel);
  save_png ("evaluate-draw-saliency.png");

  /* A stroke more: a new answer for the new drawing. */
  LamDrawingPad *pad = lam_evaluate_page_get_drawing_pad (page);
  static const double more[] = { 0.3, 0.5, 0.7, 0.5 };
  lam_drawing_pad_add_stroke (pad, more, 2);
  g_assert_false (panel_explained (draw_panel));
  g_assert_true (lam_test_iterate_until (panel_explained, draw_panel, 60000));

  lam_evaluate_page_show_tab (page, "predictions");
  LamExplainPanel *detail = lam_evaluate_page_get_explain_panel (page, FALSE);
  LamEvaluationResult *result = current_result ();
  int right = -1;
  for (int i = 0; i < result->n_images && right < 0; i++)
    if (!is_wrong (result, i))
      right = i;
  lam_evaluate_page_select_image (page, right);
  g_assert_true (lam_test_iterate_until (panel_explained, detail, 60000));
  int h = 0, w = 0;
  const float *map = lam_explain_panel_get_map (detail, &h, &w);
  g_assert_cmpint (h, ==, 28);
  g_assert_cmpint (w, ==, 28);
  float top = 0;
  for (int p = 0; p < h * w; p++) {
    g_assert_true (map[p] >= 0 && map[p] <= 1);
    top = MAX (top, map[p]);
  }
  g_assert_cmpfloat (top, ==, 1);
  /* The detail column scrolled down to the panel. */
  GtkWidget *scroller = gtk_widget_get_ancestor (GTK_WIDGET (detail), GTK_TYPE_SCROLLED_WINDOW);
  g_assert_nonnull (scroller);
  GtkAdjustment *v = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
  lam_test_settle (200);
  GtkWidget *content = gtk_widget_get_first_child (gtk_scrolled_window_get_child (
    GTK_SCROLLED_WINDOW (scroller)));
  graphene_point_t at;
  g_assert_true (gtk_widget_compute_point (GTK_WIDGET (detail), content,
                                           &GRAPHENE_POINT_INIT (0, 0), &at));
  gtk_adjustment_set_value (v, at.y - 8);
  save_png ("evaluate-why.png");
  gtk_adjustment_set_value (v, 0);

  /* Look-alikes of correctly classified test images: the share whose
   * eight nearest training images mostly have the image's class. */
  LamExplainer *explainer = lam_evaluate_page_get_explainer (page);
  g_autofree float *input = g_new (float, lam_shape_numel (&result->plan->input));
  int asked = 0, agree = 0;
  for (int i = 0; i < result->n_images && asked < 200; i++) {
    if (is_wrong (result, i))
      continue;
    lam_evaluation_result_prepare_image (result, i, input);
    guint32 indices[8];
    float similarity[8];
    gint32 labels[8];
    g_assert_cmpint (lam_explainer_nearest (explainer, input, 8, indices, similarity, labels, NULL),
                     ==, 8);
    int same = 0;
    for (int k = 0; k < 8; k++)
      same += labels[k] == result->dataset->labels[i];
    agree += same > 4;
    asked++;
  }
  g_test_message ("look-alikes: for %d of %d correctly classified test images (%.1f%%) most of "
                  "the 8 nearest training images share the class",
                  agree, asked, 100.0 * agree / asked);
  g_assert_cmpfloat ((double) agree / asked, >, 0.8);

  /* The map: every test image, a lasso picking some for the gallery. */
  lam_evaluate_page_show_tab (page, "map");
  g_assert_true (lam_test_iterate_until (map_ready, explainer, 60000));
  lam_test_settle (300);
  LamFeatureMapView *view = lam_evaluate_page_get_map_view (page);
  /* The map is made when its tab shows; the drawing made before it is
   * placed on it then, where the explainer projects it. */
  g_assert_false (lam_drawing_pad_is_empty (pad));
  float marker[2], projected[2];
  g_assert_true (lam_feature_map_view_get_marker (view, &marker[0], &marker[1]));
  float pixels[LAM_DRAWING_PAD_INPUT_SIZE * LAM_DRAWING_PAD_INPUT_SIZE];
  float drawn[LAM_DRAWING_PAD_INPUT_SIZE * LAM_DRAWING_PAD_INPUT_SIZE];
  g_assert_true (lam_drawing_pad_get_input (pad, pixels));
  lam_evaluation_normalize (lam_evaluate_page_get_evaluation (page), pixels, drawn);
  g_assert_true (lam_explainer_project (explainer, drawn, projected, NULL));
  g_assert_cmpfloat_with_epsilon (marker[0], projected[0], 1e-5);
  g_assert_cmpfloat_with_epsilon (marker[1], projected[1], 1e-5);
  int n_points = 0;
  const float *coords = lam_explainer_get_map_coords (explainer, &n_points);
  g_assert_cmpint (n_points, ==, result->n_images);
  const float square[] = { 0, 0, 100, 0, 100, 100, 0, 100 };
  float lo_x = G_MAXFLOAT, lo_y = G_MAXFLOAT;
  for (int i = 0; i < n_points; i++) {
    lo_x = MIN (lo_x, coords[2 * i]);
    lo_y = MIN (lo_y, coords[2 * i + 1]);
  }
  double polygon[8];
  for (int k = 0; k < 4; k++) {
    polygon[2 * k] = square[2 * k] == 0 ? lo_x - 1 : 0;
    polygon[2 * k + 1] = square[2 * k + 1] == 0 ? lo_y - 1 : 0;
  }
  lam_feature_map_view_select_polygon (view, 4, polygon);
  guint picked = lam_feature_map_view_get_n_selected (view);
  g_test_message ("lasso over the lower left quarter: %u test images", picked);
  g_assert_cmpuint (picked, >, 0);
  LamPredictionGrid *gallery = lam_evaluate_page_get_gallery (page);
  g_assert_cmpuint (lam_prediction_grid_get_n_items (gallery), ==, picked);
  save_png ("evaluate-map.png");
  lam_feature_map_view_clear_selection (view);
  g_assert_cmpuint (lam_prediction_grid_get_n_items (gallery), ==, (guint) result->n_images);
  lam_evaluate_page_show_tab (page, "predictions");
}

static void
test_stale_and_new_run (void)
{
  if (skip_without_data ())
    return;
  LamEvaluation *evaluation = lam_evaluate_page_get_evaluation (page);
  double accuracy1 = NAN;
  {
    /* Epoch 2 again, overtaken at once by a new run's epoch 1: only the
     * newest weights' result may land. */
    lam_session_set_weights (session, spec, params[1], n_params, mean, std, 2);
    lam_session_begin_run (session);
    LamEvaluationResult *result = publish (1);
    g_assert_cmpint (result->epoch, ==, 1);
    g_assert_cmpuint (result->run, ==, lam_session_get_weights_run (session));
    accuracy1 = result->accuracy;
  }
  /* A new run starts a new history. */
  g_assert_cmpuint (lam_evaluation_get_n_history (evaluation), ==, 1);
  lam_test_settle (500);
  g_assert_cmpint (current_result ()->epoch, ==, 1);
  g_assert_cmpfloat (current_result ()->accuracy, ==, accuracy1);
}

static void
test_draw (void)
{
  if (skip_without_data ())
    return;
  lam_evaluate_page_show_tab (page, "draw");
  LamDrawingPad *pad = lam_evaluate_page_get_drawing_pad (page);
  LamProbabilityBars *bars = lam_evaluate_page_get_drawing_bars (page);
  lam_drawing_pad_clear (pad);
  lam_test_settle (100);
  g_assert_true (isnan (lam_probability_bars_get_probability (bars, 0)));

  /* A pair of trousers: a waistband and two legs, each leg a few strokes
   * wide. */
  static const double strokes[][4] = {
    { 0.36, 0.14, 0.64, 0.14 }, { 0.36, 0.19, 0.64, 0.19 }, { 0.37, 0.16, 0.30, 0.88 },
    { 0.42, 0.16, 0.36, 0.88 }, { 0.46, 0.2, 0.42, 0.88 },  { 0.63, 0.16, 0.70, 0.88 },
    { 0.58, 0.16, 0.64, 0.88 }, { 0.54, 0.2, 0.58, 0.88 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (strokes); i++)
    lam_drawing_pad_add_stroke (pad, strokes[i], 2);
  lam_test_settle (200);
  g_assert_false (lam_drawing_pad_is_empty (pad));
  double sum = 0;
  for (int c = 0; c < 10; c++)
    sum += lam_probability_bars_get_probability (bars, c);
  g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);
  g_test_message ("the drawing looks like %s",
                  current_result ()->dataset->class_names[lam_probability_bars_get_ranked (bars, 0)]);
  save_png ("evaluate-draw.png");
}

static void
test_learned (void)
{
  if (skip_without_data ())
    return;
  lam_evaluate_page_show_tab (page, "learned");
  save_png ("evaluate-learned.png");
  lam_evaluate_page_show_tab (page, "predictions");
}

static void
test_dark (void)
{
  if (skip_without_data ())
    return;
  lam_evaluate_page_show_tab (page, "predictions");
  LamPredictionGrid *gallery = lam_evaluate_page_get_gallery (page);
  lam_evaluate_page_activate_cell (page, 6, 0);
  lam_evaluate_page_select_image (page, lam_prediction_grid_get_item (gallery, 0));
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", TRUE, NULL);
  save_png ("evaluate-predictions-dark.png");
  lam_evaluate_page_show_tab (page, "draw");
  save_png ("evaluate-draw-dark.png");
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", FALSE, NULL);
  lam_evaluate_page_show_tab (page, "predictions");
}

static gboolean
not_busy (gpointer data)
{
  return !lam_evaluate_page_is_busy (page);
}

/* A page closed while its worker runs: the worker's result lands nowhere. */
static void
test_closed_while_evaluating (void)
{
  if (skip_without_data ())
    return;
  GtkWidget *other_window = gtk_window_new ();
  GtkWidget *other = lam_evaluate_page_new (session);
  gtk_window_set_child (GTK_WINDOW (other_window), other);
  gtk_window_present (GTK_WINDOW (other_window));
  lam_test_settle (100);
  lam_session_set_weights (session, spec, params[1], n_params, mean, std, 2);
  g_assert_true (lam_evaluate_page_is_busy (LAM_EVALUATE_PAGE (other)));
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_iterate_until (not_busy, NULL, 120000);
  lam_test_settle (500);
  g_assert_false (lam_evaluate_page_is_busy (page));
  g_assert_cmpint (current_result ()->epoch, ==, 2);
}

static gboolean
any_spinner_mapped (GtkWidget *widget)
{
  if (GTK_IS_SPINNER (widget) && gtk_widget_get_mapped (widget))
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (any_spinner_mapped (child))
      return TRUE;
  return FALSE;
}

/* No spinner turns during an evaluation's first 300 ms (a refresh after
 * an epoch is usually over by then); one still running after that shows
 * one. */
static void
test_spinner_delayed (void)
{
  if (skip_without_data ())
    return;
  lam_evaluate_page_show_tab (page, "predictions");
  /* Weights evaluated before come back from what the evaluation keeps. */
  g_autofree float *fresh = g_memdup2 (params[1], sizeof (float) * n_params);
  fresh[0] += 1e-3f;
  lam_session_set_weights (session, spec, fresh, n_params, mean, std, 3);
  gint64 start = g_get_monotonic_time ();
  g_assert_true (lam_evaluate_page_is_busy (page));
  gboolean shown = FALSE;
  while (lam_evaluate_page_is_busy (page)) {
    g_main_context_iteration (NULL, FALSE);
    gint64 ms = (g_get_monotonic_time () - start) / 1000;
    gboolean spinning = any_spinner_mapped (GTK_WIDGET (page));
    if (ms < 250)
      g_assert_false (spinning);
    if (ms > 500 && lam_evaluate_page_is_busy (page)) {
      g_assert_true (spinning);
      shown = TRUE;
    }
    g_assert_cmpint (ms, <, 120000);
  }
  g_test_message ("evaluation over after %" G_GINT64_FORMAT " ms, spinner %s",
                  (g_get_monotonic_time () - start) / 1000, shown ? "shown" : "never due");
  lam_test_settle (100);
  g_assert_false (any_spinner_mapped (GTK_WIDGET (page)));
}

/* The label under the accuracy: "Test accuracy after epoch N…". */
static GtkWidget *
find_summary_label (GtkWidget *widget)
{
  /* Not the "?" popover's heading of the same words. */
  if (GTK_IS_POPOVER (widget))
    return NULL;
  if (GTK_IS_LABEL (widget) &&
      g_str_has_prefix (gtk_label_get_text (GTK_LABEL (widget)), "Test accuracy"))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkWidget *found = find_summary_label (child);
    if (found != NULL)
      return found;
  }
  return NULL;
}

static const char *
find_summary (GtkWidget *widget)
{
  GtkWidget *label = find_summary_label (widget);
  return label != NULL ? gtk_label_get_text (GTK_LABEL (label)) : NULL;
}

/* Weights trained on another dataset folder (a project whose dataset was
 * not reopened, or another dataset opened after training) are scored with
 * a word that they do not belong to these images; weights of this dataset
 * are not. */
static void
test_weights_from_another_dataset (void)
{
  if (skip_without_data ())
    return;
  publish (2);
  const char *summary = find_summary (GTK_WIDGET (page));
  g_assert_nonnull (summary);
  g_assert_null (strstr (summary, "trained on"));

  lam_session_set_weights (session, spec, params[0], n_params, mean, std, 1);
  lam_session_set_weights_dataset (session, "/srv/lessons/mnist", "MNIST (train)");
  Expected expected = { 1, lam_session_get_weights_run (session) };
  lam_test_iterate_until (evaluated, &expected, 120000);
  lam_test_settle (100);
  summary = find_summary (GTK_WIDGET (page));
  g_test_message ("%s", summary);
  g_assert_nonnull (strstr (summary, "these weights were trained on MNIST (train)"));
  g_assert_true (gtk_widget_has_css_class (find_summary_label (GTK_WIDGET (page)), "warning"));
  save_png ("evaluate-other-dataset.png");

  /* Scrolled down and then re-evaluated: the gallery is back at its top,
   * the selection kept. */
  LamPredictionGrid *gallery = lam_evaluate_page_get_gallery (page);
  GtkAdjustment *vadjustment = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (gallery));
  gtk_adjustment_set_value (vadjustment, gtk_adjustment_get_upper (vadjustment));
  lam_test_settle (100);
  g_assert_cmpfloat (gtk_adjustment_get_value (vadjustment), >, 0);
  int selected = lam_prediction_grid_get_selected (gallery);
  publish (2);
  g_assert_cmpfloat (gtk_adjustment_get_value (vadjustment), ==, 0);
  g_assert_cmpint (lam_prediction_grid_get_selected (gallery), ==, selected);
  g_assert_null (strstr (find_summary (GTK_WIDGET (page)), "trained on"));
  g_assert_false (gtk_widget_has_css_class (find_summary_label (GTK_WIDGET (page)), "warning"));
}

typedef struct
{
  LamSession *session;
  const char *dir;
} DatasetWait;

/* The session shows dir, and the weights have been scored on its images. */
static gboolean
evaluated_on_dataset (gpointer data)
{
  DatasetWait *wait = data;
  LamEvaluation *evaluation = lam_session_get_evaluation (wait->session);
  LamEvaluationResult *result = lam_evaluation_get_result (evaluation);
  const LamDataset *test = lam_session_get_test_set (wait->session);
  return !lam_session_get_loading (wait->session) &&
         g_strcmp0 (lam_session_get_dataset_dir (wait->session), wait->dir) == 0 &&
         !lam_evaluation_get_busy (evaluation) && result != NULL && test != NULL &&
         result->dataset->n_classes == test->n_classes;
}

static void
on_switched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_session_load_dataset_finish (LAM_SESSION (source), result, &error));
}

/* Test images picked on the map are of the dataset shown: another one
 * opened (with as many test images, as MNIST has beside Fashion-MNIST)
 * drops the pick, where the gallery went on showing the new images at the
 * old ones' places as "picked on the map", and the map kept the lasso. */
static void
test_map_pick_dropped_with_dataset (void)
{
  g_autofree char *ten = lam_test_write_bars_dataset (60, 10);
  g_autofree char *five = lam_test_write_bars_dataset (60, 5);
  g_autoptr (LamSession) own = lam_session_new ();
  lam_session_load_dataset_async (own, ten, NULL, on_switched, NULL);
  DatasetWait wait = { own, ten };
  const LamModelPlan *plan = NULL;
  while (lam_session_get_loading (own) || !lam_session_get_has_dataset (own))
    g_main_context_iteration (NULL, TRUE);
  plan = lam_session_get_plan (own);
  g_assert_nonnull (plan);
  g_autofree float *weights = g_new (float, plan->n_params);
  for (gsize i = 0; i < plan->n_params; i++)
    weights[i] = (float) ((int) (i * 7919 % 13) - 6) * 0.02f;
  const float zero[3] = { 0, 0, 0 }, one[3] = { 1, 1, 1 };
  lam_session_set_weights (own, lam_session_get_spec (own), weights, plan->n_params, zero, one, 1);

  GtkWidget *own_window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (own_window), 1280, 820);
  LamEvaluatePage *own_page = LAM_EVALUATE_PAGE (lam_evaluate_page_new (own));
  gtk_window_set_child (GTK_WINDOW (own_window), GTK_WIDGET (own_page));
  gtk_window_present (GTK_WINDOW (own_window));
  g_assert_true (lam_test_iterate_until (evaluated_on_dataset, &wait, 20000));
  lam_evaluate_page_show_tab (own_page, "map");
  LamExplainer *explainer = lam_evaluate_page_get_explainer (own_page);
  g_assert_true (lam_test_iterate_until (map_ready, explainer, 60000));
  lam_test_settle (200);
  LamFeatureMapView *view = lam_evaluate_page_get_map_view (own_page);
  const double everywhere[] = { -1e6, -1e6, 1e6, -1e6, 1e6, 1e6, -1e6, 1e6 };
  lam_feature_map_view_select_polygon (view, 4, everywhere);
  LamPredictionGrid *gallery = lam_evaluate_page_get_gallery (own_page);
  g_assert_cmpuint (lam_feature_map_view_get_n_selected (view), >, 0);
  g_assert_true (lam_prediction_grid_get_has_subset (gallery));

  lam_session_load_dataset_async (own, five, NULL, on_switched, NULL);
  wait.dir = five;
  g_assert_true (lam_test_iterate_until (evaluated_on_dataset, &wait, 20000));
  g_assert_true (lam_test_iterate_until (map_ready, explainer, 60000));
  lam_test_settle (200);
  g_assert_false (lam_prediction_grid_get_has_subset (gallery));
  g_assert_cmpuint (lam_prediction_grid_get_n_items (gallery), ==,
                    (guint) lam_session_get_test_set (own)->n);
  g_assert_cmpuint (lam_feature_map_view_get_n_selected (view), ==, 0);

  gtk_window_destroy (GTK_WINDOW (own_window));
  lam_test_remove_tree (five);
  lam_test_remove_tree (ten);
}

/* Other datasets than Fashion-MNIST, each in a session and a window of
 * its own. */

static gboolean
other_dataset_loaded (gpointer data)
{
  LamSession *other = data;
  return lam_session_get_has_dataset (other) && !lam_session_get_loading (other);
}

static void
on_other_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_session_load_dataset_finish (LAM_SESSION (source), result, &error));
  g_assert_no_error (error);
}

static void
open_dataset (LamSession *other, const char *path)
{
  lam_session_load_dataset_async (other, path, NULL, on_other_loaded, NULL);
  g_assert_true (lam_test_iterate_until (other_dataset_loaded, other, 60000));
}

static gboolean
session_idle (gpointer data)
{
  return lam_session_get_state (LAM_SESSION (data)) == LAM_TRAIN_STATE_IDLE;
}

/* Trains spec_text on what other holds for `epochs` epochs on the CPU. */
static void
train_other (LamSession *other, const char *spec_text, int epochs)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) other_spec = lam_model_spec_from_text (spec_text, &error);
  g_assert_no_error (error);
  lam_session_set_spec (other, other_spec);
  g_assert_true (lam_session_get_model_valid (other));
  g_object_set (other, "epochs", epochs, "batch-size", 16, "lr", 0.05, "seed", (guint64) 7,
                "device", "cpu", NULL);
  g_action_group_activate_action (lam_session_get_actions (other), "start-pause", NULL);
  g_assert_true (lam_test_iterate_until (session_idle, other, 60000));
}

static GtkWidget *
find_label_with_prefix (GtkWidget *widget, const char *prefix)
{
  if (GTK_IS_LABEL (widget) && g_str_has_prefix (gtk_label_get_text (GTK_LABEL (widget)), prefix))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkWidget *found = find_label_with_prefix (child, prefix);
    if (found != NULL)
      return found;
  }
  return NULL;
}

/* A window of its own on the Evaluate page of other. */
static GtkWidget *
other_window_new (LamSession *other, GtkWidget **other_page)
{
  GtkWidget *other_window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (other_window), 1280, 820);
  *other_page = lam_evaluate_page_new (other);
  gtk_window_set_child (GTK_WINDOW (other_window), *other_page);
  gtk_window_present (GTK_WINDOW (other_window));
  return other_window;
}

/* Weights of one table kept when another is opened: those that do not
 * fit its columns show no fit and say why, instead of figures from rows
 * read past their ends; those that fit show theirs. */
static void
test_regression_weights_of_another_table (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-tables-XXXXXX", NULL);
  g_autofree char *three = g_build_filename (dir, "three.csv", NULL);
  g_autofree char *one = g_build_filename (dir, "one.csv", NULL);
  g_autofree char *again = g_build_filename (dir, "again.csv", NULL);
  lam_test_write_linear_csv (three, 200, 3, 1, 0.1, 3, NULL, NULL);
  /* x1,y1,y2: the last column is the target, the others inputs. */
  lam_test_write_linear_csv (one, 100, 1, 2, 0.1, 4, NULL, NULL);
  lam_test_write_linear_csv (again, 100, 3, 1, 0.1, 3, NULL, NULL);

  g_autoptr (LamSession) other = lam_session_new ();
  open_dataset (other, three);
  GtkWidget *other_window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (other_window), 1000, 700);
  GtkWidget *other_page = lam_evaluate_page_new (other);
  gtk_window_set_child (GTK_WINDOW (other_window), other_page);
  gtk_window_present (GTK_WINDOW (other_window));
  train_other (other, "linear:1,loss=mse", 40);
  lam_test_settle (200);
  LamFitView *fit = lam_evaluate_page_get_regression_fit (LAM_EVALUATE_PAGE (other_page));
  g_assert_cmpfloat (lam_fit_view_get_r2 (fit), >, 0.9);

  open_dataset (other, one);
  lam_test_settle (200);
  g_assert_true (isnan (lam_fit_view_get_r2 (fit)));
  g_assert_true (isnan (lam_fit_view_get_mse (fit)));
  GtkWidget *title = find_label_with_prefix (other_page, "These weights take 3 inputs");
  g_assert_nonnull (title);
  g_test_message ("%s", gtk_label_get_text (GTK_LABEL (title)));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (title)), "one.csv"));

  open_dataset (other, again);
  lam_test_settle (200);
  g_assert_cmpfloat (lam_fit_view_get_r2 (fit), >, 0.9);
  g_assert_null (find_label_with_prefix (other_page, "These weights"));
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
}

static gboolean
other_evaluated (gpointer data)
{
  LamEvaluation *evaluation = data;
  return !lam_evaluation_get_busy (evaluation) && lam_evaluation_get_result (evaluation) != NULL;
}

/* A model of more outputs than classes: flatten then log_softmax gives
 * one output per pixel, and each bars image's first white pixel,
 * (2 + 3 × label) mod 28, is its prediction, a class only for labels 0, 1, 2 and 9.
 * The images of the others are out of the confusion matrix, yet wrong
 * images of their class: 0% recognised, not "no images". */
static void
test_more_outputs_than_classes (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (60, 10);
  g_autoptr (LamSession) other = lam_session_new ();
  open_dataset (other, dir);
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = other_window_new (other, &other_page);
  train_other (other, "flatten,log_softmax", 1);
  LamEvaluation *evaluation = lam_evaluate_page_get_evaluation (LAM_EVALUATE_PAGE (other_page));
  g_assert_true (lam_test_iterate_until (other_evaluated, evaluation, 60000));
  LamEvaluationResult *result = lam_evaluation_get_result (evaluation);
  g_assert_cmpint (result->n_outputs, ==, 28 * 28);
  for (int i = 0; i < result->n_images; i++)
    g_assert_cmpint (result->predicted[i], ==, (2 + 3 * result->dataset->labels[i]) % 28);
  for (int c = 0; c < 10; c++) {
    g_assert_cmpfloat (result->class_accuracy[c], ==, 0);
    g_autofree char *tooltip =
      lam_evaluate_page_dup_class_tooltip (LAM_EVALUATE_PAGE (other_page), c);
    g_autofree char *expected = g_strdup_printf ("%d: 0 of 6 test images recognised", c);
    g_assert_cmpstr (tooltip, ==, expected);
  }

  /* The bars and the drawing's guess rank every output, as the
   * prediction does: they named a class where the model's top output has
   * none. Image 3 (a bar at column 11) and image 0 (column 2, class 2). */
  LamEvaluatePage *evaluate = LAM_EVALUATE_PAGE (other_page);
  LamProbabilityBars *bars = lam_evaluate_page_get_detail_bars (evaluate);
  lam_evaluate_page_select_image (evaluate, 0);
  lam_test_settle (100);
  g_assert_cmpint (lam_probability_bars_get_ranked (bars, 0), ==, result->predicted[0]);
  lam_evaluate_page_select_image (evaluate, 3);
  lam_test_settle (100);
  g_assert_cmpint (result->predicted[3], ==, 11);
  g_assert_cmpint (lam_probability_bars_get_ranked (bars, 0), ==, 10);
  g_assert_cmpint (lam_probability_bars_get_no_class_output (bars), ==, 11);
  g_assert_cmpfloat (lam_probability_bars_get_probability (bars, 10), ==, result->confidence[3]);
  g_assert_nonnull (find_label_with_prefix (other_page, "✗ Output 11, which is no class"));
  /* Why it said that names the output, not "?". */
  LamExplainPanel *detail = lam_evaluate_page_get_explain_panel (evaluate, FALSE);
  g_assert_true (lam_test_iterate_until (panel_explained, detail, 60000));
  g_test_message ("%s", lam_explain_panel_get_status (detail));
  g_assert_nonnull (strstr (lam_explain_panel_get_status (detail), "output 11 (no class)"));
  save_window_png (other_window, "evaluate-more-outputs-than-classes.png");

  lam_evaluate_page_show_tab (evaluate, "draw");
  LamDrawingPad *pad = lam_evaluate_page_get_drawing_pad (evaluate);
  LamProbabilityBars *draw_bars = lam_evaluate_page_get_drawing_bars (evaluate);
  /* A stroke down the middle: its brightest pixel is well past the first
   * ten. */
  static const double stroke[] = { 0.5, 0.2, 0.5, 0.8 };
  lam_drawing_pad_add_stroke (pad, stroke, 2);
  lam_test_settle (200);
  g_assert_cmpint (lam_probability_bars_get_ranked (draw_bars, 0), ==, 10);
  g_assert_cmpint (lam_probability_bars_get_no_class_output (draw_bars), >=, 10);
  g_autofree char *guess = lam_probability_bars_dup_guess (draw_bars);
  g_test_message ("the drawing looks like: %s", guess);
  g_assert_true (g_str_has_prefix (guess, "Output "));
  g_assert_nonnull (strstr (guess, "which is no class"));
  g_assert_nonnull (find_label_with_prefix (other_page, guess));
  save_window_png (other_window, "evaluate-more-outputs-than-classes-draw.png");
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
}

/* A model of a table's rows has nothing to take from the pad: the Draw tab
 * says the pad draws images and the model reads rows of numbers, where it
 * said "This model takes 2 images". */
static void
test_table_draw_tab (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-blobs-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (csv, 300, 2, 3, 5);
  g_autoptr (LamSession) other = lam_session_new ();
  open_dataset (other, csv);
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = other_window_new (other, &other_page);
  train_other (other, "linear:3", 2);
  LamEvaluation *evaluation = lam_evaluate_page_get_evaluation (LAM_EVALUATE_PAGE (other_page));
  g_assert_true (lam_test_iterate_until (other_evaluated, evaluation, 60000));
  lam_evaluate_page_show_tab (LAM_EVALUATE_PAGE (other_page), "draw");
  lam_test_settle (200);
  GtkWidget *why = find_label_with_prefix (other_page, "The pad draws 28 × 28 grey images");
  g_assert_nonnull (why);
  const char *text = gtk_label_get_text (GTK_LABEL (why));
  g_test_message ("%s", text);
  g_assert_nonnull (strstr (text, "this model reads rows of 2 numbers from a table"));
  g_assert_null (strstr (text, "2 images"));
  save_window_png (other_window, "evaluate-table-draw.png");
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
}

/* The longest horizontal run of near-black pixels in widget, drawn on its
 * own: a few pixels in a letter, a whole width in a black box. */
static int
longest_dark_run (GtkWidget *widget)
{
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_assert_cmpint (width, >, 0);
  g_assert_cmpint (height, >, 0);
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  g_autoptr (GdkTexture) texture =
    gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  int tw = gdk_texture_get_width (texture), th = gdk_texture_get_height (texture);
  g_autofree guint8 *data = g_new (guint8, (gsize) tw * th * 4);
  gdk_texture_download (texture, data, (gsize) tw * 4);
  int longest = 0;
  for (int y = 0; y < th; y++) {
    int run = 0;
    for (int x = 0; x < tw; x++) {
      const guint8 *px = data + ((gsize) y * tw + x) * 4;
      gboolean dark = px[3] > 200 && px[0] < 30 && px[1] < 30 && px[2] < 30;
      run = dark ? run + 1 : 0;
      longest = MAX (longest, run);
    }
  }
  return longest;
}

/* A classification table's predictions: the gallery said "All 60 test
 * images", the selected row was "Test image 12", and every row was drawn
 * as a black picture (in a red frame when wrong). */
static void
test_table_predictions_speak_of_rows (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-blobs-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (csv, 300, 2, 3, 5);
  g_autoptr (LamSession) other = lam_session_new ();
  open_dataset (other, csv);
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = other_window_new (other, &other_page);
  train_other (other, "linear:3", 2);
  LamEvaluatePage *table_page = LAM_EVALUATE_PAGE (other_page);
  LamEvaluation *evaluation = lam_evaluate_page_get_evaluation (table_page);
  g_assert_true (lam_test_iterate_until (other_evaluated, evaluation, 60000));
  lam_evaluate_page_show_tab (table_page, "predictions");
  lam_evaluate_page_select_image (table_page, 12);
  lam_test_settle (300);

  int n_test = lam_session_get_test_set (other)->n;
  g_autofree char *all = g_strdup_printf ("All %d test rows, ", n_test);
  g_assert_nonnull (find_label_with_prefix (other_page, all));
  g_assert_nonnull (find_label_with_prefix (other_page, "Test row 12"));

  GtkWidget *gallery = GTK_WIDGET (lam_evaluate_page_get_gallery (table_page));
  g_assert_true (gtk_widget_get_mapped (gallery));
  int run = longest_dark_run (gallery);
  g_test_message ("near-black runs in the gallery: at most %d pixels", run);
  save_window_png (other_window, "evaluate-table-predictions.png");
  g_assert_cmpint (run, <, 20);
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
}

/* A page of its own on the table csv with linear:3 trained for epochs
 * and evaluated. */
static GtkWidget *
trained_window_on_table (const char *csv, int epochs, LamSession **other, GtkWidget **other_page)
{
  *other = lam_session_new ();
  open_dataset (*other, csv);
  GtkWidget *other_window = other_window_new (*other, other_page);
  train_other (*other, "linear:3", epochs);
  LamEvaluation *evaluation = lam_evaluate_page_get_evaluation (LAM_EVALUATE_PAGE (*other_page));
  g_assert_true (lam_test_iterate_until (other_evaluated, evaluation, 60000));
  lam_test_settle (200);
  return other_window;
}

/* A page of its own on blobs.csv (300 rows of 2 columns, 3 classes) with
 * linear:3 trained and evaluated; dir is the CSV's folder, removed by the
 * caller. */
static GtkWidget *
trained_table_window_new (char **dir, LamSession **other, GtkWidget **other_page)
{
  *dir = g_dir_make_tmp ("lamina-blobs-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (*dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (csv, 300, 2, 3, 5);
  return trained_window_on_table (csv, 2, other, other_page);
}

/* The subtitle under a table's confusion matrix read "Click a cell to see
 * its images", fixed in the page's template. */
static void
test_table_confusion_hint (void)
{
  g_autofree char *dir = NULL;
  g_autoptr (LamSession) other = NULL;
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = trained_table_window_new (&dir, &other, &other_page);
  g_assert_nonnull (find_label_with_prefix (other_page, "Click a cell to see its rows"));
  g_assert_null (find_label_with_prefix (other_page, "Click a cell to see its images"));
  /* Fashion-MNIST's page keeps its words. */
  g_assert_nonnull (find_label_with_prefix (GTK_WIDGET (page), "Click a cell to see its images"));
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
}

/* The "?" button beside a table's gallery said "Test images with what the
 * network said. A red frame marks a mistake", where rows have neither. */
static void
test_table_gallery_help (void)
{
  g_autofree char *dir = NULL;
  g_autoptr (LamSession) other = NULL;
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = trained_table_window_new (&dir, &other, &other_page);
  GtkWidget *summary = find_label_with_prefix (other_page, "All ");
  g_assert_nonnull (summary);
  GtkWidget *button = gtk_widget_get_next_sibling (summary);
  g_assert_true (LAM_IS_HELP_BUTTON (button));
  const char *text = lam_help_get_text (lam_help_button_get_topic (LAM_HELP_BUTTON (button)));
  g_test_message ("%s", text);
  g_assert_true (g_str_has_prefix (text, "Test rows"));
  g_assert_null (strstr (text, "image"));
  g_assert_null (strstr (text, "frame"));
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);

  /* Fashion-MNIST's gallery keeps the images' text. */
  if (skip_without_data ())
    return;
  ensure_trained ();
  publish (1);
  g_assert_nonnull (lam_test_find_help_button (GTK_WIDGET (page), "gallery"));
  g_assert_null (lam_test_find_help_button (GTK_WIDGET (page), "table-gallery"));
}

/* A table's gallery drew each row as an empty box the size of an image,
 * with only the prediction under it: its cells now show the row's values,
 * "x1 = …" one per line, above the prediction. */
static void
test_table_gallery_cells_show_values (void)
{
  g_autofree char *dir = NULL;
  g_autoptr (LamSession) other = NULL;
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = trained_table_window_new (&dir, &other, &other_page);
  LamEvaluatePage *table_page = LAM_EVALUATE_PAGE (other_page);
  LamPredictionGrid *gallery = lam_evaluate_page_get_gallery (table_page);
  LamEvaluationResult *result =
    lam_evaluation_get_result (lam_evaluate_page_get_evaluation (table_page));
  for (guint position = 0; position < 3; position++) {
    int index = lam_prediction_grid_get_item (gallery, position);
    g_autofree char *text = lam_prediction_grid_dup_cell_text (gallery, position);
    g_test_message ("cell %u (row %d):\n%s", position, index, text);
    const float *row = lam_dataset_get_row (result->dataset, index);
    g_autofree char *expected = g_strdup_printf ("x1 = %.4g\nx2 = %.4g\n", row[0], row[1]);
    g_assert_true (g_str_has_prefix (text, expected));
    g_assert_nonnull (strstr (text, result->dataset->class_names[result->predicted[index]]));
  }
  lam_evaluate_page_select_image (table_page, lam_prediction_grid_get_item (gallery, 0));
  save_window_png (other_window, "evaluate-table-gallery-values.png");
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);

  /* An image's cell keeps its two labels. */
  if (skip_without_data ())
    return;
  ensure_trained ();
  publish (1);
  gallery = lam_evaluate_page_get_gallery (page);
  g_autofree char *image_text = lam_prediction_grid_dup_cell_text (gallery, 0);
  g_assert_null (strstr (image_text, " = "));
  save_png ("evaluate-images-gallery.png");
}

/* "Why it said that" for a table's row offered Saliency and Grad-CAM, a
 * heat map slider and no map at all, and "Looks like these training
 * images" had nothing under it. A row is explained column by column and
 * its look-alikes are training rows. */
static void
test_table_why_speaks_of_columns (void)
{
  g_autofree char *dir = NULL;
  g_autoptr (LamSession) other = NULL;
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = trained_table_window_new (&dir, &other, &other_page);
  LamEvaluatePage *table_page = LAM_EVALUATE_PAGE (other_page);
  lam_evaluate_page_show_tab (table_page, "predictions");
  lam_evaluate_page_select_image (table_page, 12);
  LamExplainPanel *detail = lam_evaluate_page_get_explain_panel (table_page, FALSE);
  g_assert_true (lam_test_iterate_until (panel_explained, detail, 60000));

  int height = 0, width = 0;
  const float *map = lam_explain_panel_get_map (detail, &height, &width);
  g_assert_cmpint (height, ==, 1);
  g_assert_cmpint (width, ==, 2);
  g_assert_cmpfloat (MAX (map[0], map[1]), ==, 1);
  const char *status = lam_explain_panel_get_status (detail);
  g_test_message ("%s", status);
  g_assert_nonnull (strstr (status, "columns"));
  g_assert_null (strstr (status, "pixel"));
  GtkWidget *heat = find_label_with_prefix (GTK_WIDGET (detail), "Heat map");
  g_assert_true (heat == NULL || !gtk_widget_get_mapped (heat));
  GtkWidget *methods = gtk_widget_get_first_child (gtk_widget_get_next_sibling (
    gtk_widget_get_first_child (gtk_widget_get_first_child (GTK_WIDGET (detail)))));
  g_assert_true (GTK_IS_DROP_DOWN (methods));
  GListModel *choices = gtk_drop_down_get_model (GTK_DROP_DOWN (methods));
  g_assert_cmpuint (g_list_model_get_n_items (choices), ==, 2);
  for (guint i = 0; i < 2; i++)
    g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (choices), i), !=, "Grad-CAM");

  const guint32 *nearest = NULL;
  const gint32 *labels = NULL;
  int n = lam_explain_panel_get_nearest (detail, &nearest, &labels);
  g_assert_cmpint (n, ==, LAM_EXPLAIN_PANEL_N_NEAREST);
  g_assert_nonnull (find_label_with_prefix (GTK_WIDGET (detail), "Looks like these training rows"));
  g_assert_null (find_label_with_prefix (GTK_WIDGET (detail), "Looks like these training images"));
  save_window_png (other_window, "evaluate-table-why.png");
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
}

/* A table's "Why it said that" cut a column's line to "previous = …" at
 * 1280 × 800: the name took the room the value needed. Each line shows
 * whole, at 1024 × 768 too. */
static void
test_table_why_values_whole (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-exam-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (dir, "exam.csv", NULL);
  lam_test_write_blobs_csv (csv, 300, 2, 2, 7);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  g_assert_true (g_str_has_prefix (text, "x1,x2,class\n"));
  g_autofree char *renamed =
    g_strconcat ("hours studied,previous marks,class\n", text + strlen ("x1,x2,class\n"), NULL);
  g_assert_true (g_file_set_contents (csv, renamed, -1, NULL));
  g_autoptr (LamSession) other = lam_session_new ();
  open_dataset (other, csv);
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = other_window_new (other, &other_page);
  train_other (other, "linear:8,relu,linear:2", 1);
  LamEvaluatePage *table_page = LAM_EVALUATE_PAGE (other_page);
  g_assert_true (
    lam_test_iterate_until (other_evaluated, lam_evaluate_page_get_evaluation (table_page), 60000));
  lam_evaluate_page_show_tab (table_page, "predictions");
  lam_evaluate_page_select_image (table_page, 3);
  LamExplainPanel *detail = lam_evaluate_page_get_explain_panel (table_page, FALSE);
  g_assert_true (lam_test_iterate_until (panel_explained, detail, 60000));
  static const int sizes[][2] = { { 1280, 800 }, { 1024, 768 } };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
    gtk_window_set_default_size (GTK_WINDOW (other_window), sizes[s][0], sizes[s][1]);
    lam_test_settle (400);
    g_autofree char *png =
      g_strdup_printf ("evaluate-table-why-%dx%d.png", sizes[s][0], sizes[s][1]);
    const char *build = g_getenv ("G_TEST_BUILDDIR");
    g_autofree char *path = g_build_filename (build ? build : ".", png, NULL);
    g_assert_true (lam_ui_save_png (other_window, path, NULL));
    g_test_message ("saved %s at %d × %d", path, gtk_widget_get_width (other_window),
                    gtk_widget_get_height (other_window));
    g_assert_true (lam_explain_panel_get_columns_whole (detail));
  }
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
}

static gboolean
map_settled (gpointer data)
{
  LamExplainer *explainer = data;
  return lam_explainer_get_map_ready (explainer) || lam_explainer_get_map_error (explainer) != NULL;
}

/* Columns named as a teacher's table names them, longer than a gallery
 * cell is wide. */
#define N_LONG_NAMES 8
static const char *const long_names[N_LONG_NAMES + 1] = {
  "hours studied per week",       "hours studied per day",       "previous marks in mathematics",
  "attendance rate in percent",   "sleep hours per night",       "homework handed in on time",
  "distance from home to school", "siblings at the same school", NULL,
};

/* A page of its own on exam.csv: 300 rows of the 8 columns above and 3
 * classes, linear:3 trained for an epoch and evaluated; dir is the CSV's
 * folder, removed by the caller. */
static GtkWidget *
long_names_table_window_new (char **dir, LamSession **other, GtkWidget **other_page)
{
  *dir = g_dir_make_tmp ("lamina-long-names-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (*dir, "exam.csv", NULL);
  lam_test_write_blobs_csv (csv, 300, N_LONG_NAMES, 3, 11);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  const char *body = strchr (text, '\n');
  g_assert_nonnull (body);
  g_autofree char *names = g_strjoinv (",", (char **) long_names);
  g_autofree char *renamed = g_strconcat (names, ",class", body, NULL);
  g_assert_true (g_file_set_contents (csv, renamed, -1, NULL));
  return trained_window_on_table (csv, 1, other, other_page);
}

/* Whether shown is name, whole or shortened in its middle
 * ("hours…per week"). */
static gboolean
is_name_shown (const char *shown, const char *name)
{
  if (strcmp (shown, name) == 0)
    return TRUE;
  const char *ellipsis = strstr (shown, "…");
  if (ellipsis == NULL)
    return FALSE;
  g_autofree char *head = g_strndup (shown, ellipsis - shown);
  return g_str_has_prefix (name, head) && g_str_has_suffix (name, ellipsis + strlen ("…"));
}

/* Reads the long-named columns' values from a cell's or a card's lines:
 * "name = value", or the name on a line of its own and "= value" under
 * it, each value whole and each name long enough to tell its column.
 * Returns how many values were read; *next is the line after them. */
static int
read_value_lines (char **lines, const float *row, int *next)
{
  int line = 0, j = 0;
  while (lines[line] != NULL && j < N_LONG_NAMES) {
    g_autofree char *value = g_strdup_printf ("%.4g", row[j]);
    g_autofree char *ending = g_strdup_printf (" = %s", value);
    g_autofree char *under = g_strdup_printf ("= %s", value);
    if (g_str_has_suffix (lines[line], ending)) {
      g_autofree char *shown = g_strndup (lines[line], strlen (lines[line]) - strlen (ending));
      g_assert_true (is_name_shown (shown, long_names[j]));
      /* "ho…k" would not say which column it is. */
      g_assert_cmpint (g_utf8_strlen (shown, -1), >=, 8);
      line++;
    } else if (lines[line + 1] != NULL && strcmp (lines[line + 1], under) == 0) {
      g_assert_true (is_name_shown (lines[line], long_names[j]));
      g_assert_cmpint (g_utf8_strlen (lines[line], -1), >=, 8);
      line += 2;
    } else
      break;
    j++;
  }
  *next = line;
  return j;
}

/* A table's gallery cell cut a long column's line to "hours studied …":
 * the value was lost. At each classroom size, with and without
 * presentation mode, every shown value is whole within its cell, and the
 * name gives way instead. */
static void
test_table_gallery_long_names (void)
{
  g_autofree char *dir = NULL;
  g_autoptr (LamSession) other = NULL;
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = long_names_table_window_new (&dir, &other, &other_page);
  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/org/lamina/Lamina/ui/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  LamEvaluatePage *table_page = LAM_EVALUATE_PAGE (other_page);
  lam_evaluate_page_show_tab (table_page, "predictions");
  LamPredictionGrid *gallery = lam_evaluate_page_get_gallery (table_page);
  LamEvaluationResult *result =
    lam_evaluation_get_result (lam_evaluate_page_get_evaluation (table_page));
  g_assert_cmpint (result->dataset->n_features, ==, N_LONG_NAMES);

  static const int sizes[][2] = { { 1280, 800 }, { 1024, 768 } };
  for (int presentation = 0; presentation < 2; presentation++)
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
      if (presentation)
        gtk_widget_add_css_class (other_window, "presentation");
      else
        gtk_widget_remove_css_class (other_window, "presentation");
      gtk_window_set_default_size (GTK_WINDOW (other_window), sizes[s][0], sizes[s][1]);
      lam_test_settle (400);
      g_test_message ("%d × %d%s", sizes[s][0], sizes[s][1], presentation ? ", presentation" : "");
      g_autofree char *png =
        g_strdup_printf ("evaluate-table-gallery-long-names-%dx%d%s.png", sizes[s][0], sizes[s][1],
                         presentation ? "-presentation" : "");
      const char *build = g_getenv ("G_TEST_BUILDDIR");
      g_autofree char *path = g_build_filename (build ? build : ".", png, NULL);
      g_assert_true (lam_ui_save_png (other_window, path, NULL));
      for (guint position = 0; position < 4; position++) {
        int index = lam_prediction_grid_get_item (gallery, position);
        g_autofree char *text = lam_prediction_grid_dup_cell_text (gallery, position);
        g_test_message ("  cell %u (row %d):\n%s", position, index, text);
        const float *row = lam_dataset_get_row (result->dataset, index);
        g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
        int next = 0, j = read_value_lines (lines, row, &next);
        g_assert_cmpint (j, >=, 1);
        /* The count of the others, where a line is left for it. */
        g_autofree char *more = g_strdup_printf ("… and %d more", N_LONG_NAMES - j);
        if (g_str_has_prefix (lines[next], "…") || !presentation)
          g_assert_cmpstr (lines[next], ==, more);
        g_assert_true (lam_prediction_grid_get_values_whole (gallery, position));
      }
    }
  gtk_style_context_remove_provider_for_display (gdk_display_get_default (),
                                                 GTK_STYLE_PROVIDER (css));
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
}

/* Hovering a table's dot on the Map tab showed its class and its number
 * in the test set, nothing of the row: its card shows the row's first
 * values, as its gallery cell does, and how many more there are. */
static void
test_table_map_card_shows_values (void)
{
  g_autofree char *dir = NULL;
  g_autoptr (LamSession) other = NULL;
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = long_names_table_window_new (&dir, &other, &other_page);
  LamEvaluatePage *table_page = LAM_EVALUATE_PAGE (other_page);
  lam_evaluate_page_show_tab (table_page, "map");
  LamExplainer *explainer = lam_evaluate_page_get_explainer (table_page);
  g_assert_true (lam_test_iterate_until (map_settled, explainer, 60000));
  g_assert_null (lam_explainer_get_map_error (explainer));
  lam_test_settle (200);
  LamEvaluationResult *result =
    lam_evaluation_get_result (lam_evaluate_page_get_evaluation (table_page));
  LamFeatureMapView *map = lam_evaluate_page_get_map_view (table_page);
  lam_feature_map_view_set_highlighted (map, 12);
  save_window_png (other_window, "evaluate-table-map-card.png");

  g_autofree char *card = lam_feature_map_view_dup_card_text (map, 12);
  g_test_message ("%s", card);
  g_auto (GStrv) lines = g_strsplit (card, "\n", -1);
  const float *row = lam_dataset_get_row (result->dataset, 12);
  int next = 0, j = read_value_lines (lines, row, &next);
  g_assert_cmpint (j, >=, 3);
  g_autofree char *more = g_strdup_printf ("… and %d more", N_LONG_NAMES - j);
  g_assert_cmpstr (lines[next], ==, more);
  g_autofree char *title = lam_feature_map_view_dup_card_title (map, 12);
  g_assert_cmpstr (lines[next + 1], ==, title);

  /* On a projector, at a classroom's size, the card keeps its values. */
  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/org/lamina/Lamina/ui/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  gtk_widget_add_css_class (other_window, "presentation");
  gtk_window_set_default_size (GTK_WINDOW (other_window), 1024, 768);
  lam_test_settle (400);
  /* The pointer crossing the resized window may have moved the hover. */
  lam_feature_map_view_set_highlighted (map, 12);
  g_assert_cmpint (lam_feature_map_view_get_highlighted (map), ==, 12);
  lam_test_settle (100);
  const char *build = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path =
    g_build_filename (build ? build : ".", "evaluate-table-map-card-presentation.png", NULL);
  g_assert_true (lam_ui_save_png (other_window, path, NULL));
  g_autofree char *large = lam_feature_map_view_dup_card_text (map, 12);
  g_test_message ("1024 × 768, presentation:\n%s", large);
  g_auto (GStrv) large_lines = g_strsplit (large, "\n", -1);
  g_assert_cmpint (read_value_lines (large_lines, row, &next), >=, 3);
  gtk_style_context_remove_provider_for_display (gdk_display_get_default (),
                                                 GTK_STYLE_PROVIDER (css));
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
}

/* Every help button under widget that a user can reach: shown, and in
 * shown parents (a stack's other tabs count, as a click reaches them). */
static void
collect_help_buttons (GtkWidget *widget, GPtrArray *found)
{
  if (!gtk_widget_get_visible (widget))
    return;
  if (LAM_IS_HELP_BUTTON (widget))
    g_ptr_array_add (found, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_help_buttons (child, found);
}

/* The words of a picture: what no help on a table's page may say. */
static const char *
speaks_of_images (const char *text)
{
  g_autofree char *lower = g_utf8_strdown (text, -1);
  static const char *const words[] = { "image", "pixel", "frame", "picture" };
  for (gsize i = 0; i < G_N_ELEMENTS (words); i++)
    if (strstr (lower, words[i]) != NULL)
      return words[i];
  return NULL;
}

/* With a table open, the "?" beside "Why it said that" spoke of a heat map
 * over the image, the one beside the look-alikes of training images, and
 * the confusion matrix's said "Click a cell to see those images". */
static void
test_table_help_speaks_of_rows (void)
{
  g_autofree char *dir = NULL;
  g_autoptr (LamSession) other = NULL;
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = trained_table_window_new (&dir, &other, &other_page);
  LamEvaluatePage *table_page = LAM_EVALUATE_PAGE (other_page);
  lam_evaluate_page_show_tab (table_page, "predictions");
  lam_evaluate_page_select_image (table_page, 12);
  lam_test_settle (200);
  g_autoptr (GPtrArray) buttons = g_ptr_array_new ();
  collect_help_buttons (other_page, buttons);
  g_assert_cmpuint (buttons->len, >, 3);
  gboolean seen_why = FALSE, seen_nearest = FALSE, seen_matrix = FALSE;
  g_autoptr (GString) wrong = g_string_new (NULL);
  for (guint i = 0; i < buttons->len; i++) {
    const char *topic = lam_help_button_get_topic (buttons->pdata[i]);
    const char *text = lam_help_get_text (topic);
    const char *word = speaks_of_images (text);
    if (word != NULL)
      g_string_append_printf (wrong, " %s (%s)", topic, word);
    seen_why |= g_str_has_suffix (topic, "saliency");
    seen_nearest |= g_str_has_suffix (topic, "nearest");
    seen_matrix |= g_str_has_suffix (topic, "confusion-matrix");
  }
  g_test_message ("help that speaks of images:%s", wrong->str);
  g_assert_cmpstr (wrong->str, ==, "");
  g_assert_true (seen_why && seen_nearest && seen_matrix);
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);

  /* Fashion-MNIST's page keeps the images' texts. */
  if (skip_without_data ())
    return;
  ensure_trained ();
  publish (1);
  g_assert_nonnull (lam_test_find_help_button (GTK_WIDGET (page), "saliency"));
  g_assert_nonnull (lam_test_find_help_button (GTK_WIDGET (page), "nearest"));
  g_assert_nonnull (lam_test_find_help_button (GTK_WIDGET (page), "confusion-matrix"));
  g_assert_null (lam_test_find_help_button (GTK_WIDGET (page), "table-saliency"));
  g_assert_null (lam_test_find_help_button (GTK_WIDGET (page), "table-nearest"));
  g_assert_null (lam_test_find_help_button (GTK_WIDGET (page), "table-confusion-matrix"));
}

/* Where widget, drawn on its own, has pixels of the colour (r, g, b in
 * 0..1): how many, and the least and greatest x among them. */
static int
find_colour (GtkWidget *widget, double r, double g, double b, int *min_x, int *max_x)
{
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  g_autoptr (GdkTexture) texture =
    gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  int tw = gdk_texture_get_width (texture), th = gdk_texture_get_height (texture);
  g_autofree guint8 *data = g_new (guint8, (gsize) tw * th * 4);
  gdk_texture_download (texture, data, (gsize) tw * 4);
  int count = 0;
  *min_x = G_MAXINT;
  *max_x = -1;
  const double want[3] = { b * 255, g * 255, r * 255 }; /* BGRA, as downloaded */
  for (int y = 0; y < th; y++)
    for (int x = 0; x < tw; x++) {
      const guint8 *px = data + ((gsize) y * tw + x) * 4;
      if (px[3] < 250 || fabs (px[0] - want[0]) > 3 || fabs (px[1] - want[1]) > 3 ||
          fabs (px[2] - want[2]) > 3)
        continue;
      count++;
      *min_x = MIN (*min_x, x);
      *max_x = MAX (*max_x, x);
    }
  return count;
}

typedef struct
{
  LamExplainPanel *panel;
  const char *name;
} Explained;

static gboolean
explained_for (gpointer data)
{
  Explained *e = data;
  const char *status = lam_explain_panel_get_status (e->panel);
  g_autofree char *towards = g_strdup_printf ("towards %s;", e->name);
  return status != NULL && strstr (status, towards) != NULL;
}

/* A row's bars showed only how much a column moved the score, so one that
 * pushed away from the class looked like one that pushed towards it. For
 * each class of blobs.csv, a column pushing towards it is drawn in its
 * own colour right of the centre line, one pushing away in another, left
 * of it; the line under the bars says which is which. */
static void
test_table_why_shows_sign (void)
{
  g_autofree char *dir = NULL;
  g_autoptr (LamSession) other = NULL;
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = trained_table_window_new (&dir, &other, &other_page);
  LamEvaluatePage *table_page = LAM_EVALUATE_PAGE (other_page);
  lam_evaluate_page_show_tab (table_page, "predictions");
  lam_evaluate_page_select_image (table_page, 12);
  LamExplainPanel *detail = lam_evaluate_page_get_explain_panel (table_page, FALSE);
  g_assert_true (lam_test_iterate_until (panel_explained, detail, 60000));
  char **names = lam_session_get_test_set (other)->class_names;
  gboolean both = FALSE;
  for (int k = 0; names[k] != NULL; k++) {
    lam_explain_panel_set_class (detail, k);
    Explained e = { detail, names[k] };
    g_assert_true (lam_test_iterate_until (explained_for, &e, 60000));
    lam_test_settle (100);
    const char *status = lam_explain_panel_get_status (detail);
    g_test_message ("%s", status);
    g_autofree char *away = g_strdup_printf ("away from %s", names[k]);
    g_assert_nonnull (strstr (status, away));
    int n = 0;
    const float *pushes = lam_explain_panel_get_pushes (detail, &n);
    g_assert_cmpint (n, ==, 2);
    int towards_min, towards_max, away_min, away_max;
    int towards =
      find_colour (GTK_WIDGET (detail), LAM_EXPLAIN_PANEL_TOWARDS_RGB, &towards_min, &towards_max);
    int against =
      find_colour (GTK_WIDGET (detail), LAM_EXPLAIN_PANEL_AWAY_RGB, &away_min, &away_max);
    g_test_message ("class %s: pushes %.4f %.4f; towards %d pixels (x %d..%d), away %d (x %d..%d)",
                    names[k], pushes[0], pushes[1], towards, towards_min, towards_max, against,
                    away_min, away_max);
    g_assert_cmpint (towards > 0, ==, pushes[0] > 0 || pushes[1] > 0);
    g_assert_cmpint (against > 0, ==, pushes[0] < 0 || pushes[1] < 0);
    if (towards > 0 && against > 0) {
      both = TRUE;
      g_assert_cmpint (away_max, <, towards_min);
      save_window_png (other_window, "evaluate-table-why-sign.png");
    }
  }
  g_assert_true (both);
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
}

/* The note under a row's look-alikes for a network of spec on blobs.csv,
 * and the lines drawn for them in *lines when not NULL. */
static char *
table_nearest_note (const char *spec_text, char ***lines)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-blobs-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (csv, 300, 2, 3, 5);
  g_autoptr (LamSession) other = lam_session_new ();
  open_dataset (other, csv);
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = other_window_new (other, &other_page);
  train_other (other, spec_text, 2);
  LamEvaluatePage *table_page = LAM_EVALUATE_PAGE (other_page);
  g_assert_true (
    lam_test_iterate_until (other_evaluated, lam_evaluate_page_get_evaluation (table_page), 60000));
  lam_evaluate_page_show_tab (table_page, "predictions");
  lam_evaluate_page_select_image (table_page, 12);
  LamExplainPanel *detail = lam_evaluate_page_get_explain_panel (table_page, FALSE);
  g_assert_true (lam_test_iterate_until (panel_explained, detail, 60000));
  GtkWidget *label = find_label_with_prefix (GTK_WIDGET (detail), "Judged by");
  g_assert_nonnull (label);
  char *note = g_strdup (gtk_label_get_text (GTK_LABEL (label)));
  g_test_message ("%s: %s", spec_text, note);
  if (lines != NULL) {
    g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
    int n = lam_explain_panel_get_nearest (detail, NULL, NULL);
    for (int k = 0; k < n; k++) {
      g_autofree char *line = lam_explain_panel_dup_nearest_line (detail, k);
      g_assert_nonnull (line);
      g_test_message ("  %s", line);
      g_strv_builder_add (builder, line);
    }
    g_assert_null (lam_explain_panel_dup_nearest_line (detail, n));
    *lines = g_strv_builder_end (builder);
  }
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
  return note;
}

/* Under a one-layer model's look-alikes the note said "Judged by the layer
 * before the last", where that layer is the input: the rows' own values
 * are compared. A hidden layer keeps the note. */
static void
test_table_nearest_note (void)
{
  g_autofree char *one = table_nearest_note ("linear:3", NULL);
  g_assert_true (g_str_has_prefix (one, "Judged by the rows' own values"));
  g_assert_null (strstr (one, "layer before the last"));
  g_autofree char *two = table_nearest_note ("linear:8,relu,linear:3", NULL);
  g_assert_true (g_str_has_prefix (two, "Judged by what the layer before the last makes"));
}

/* A one-layer model's look-alike rows all read "1.000": rows along one
 * direction from the centre were alike by cosine however far apart. They
 * are ranked by distance now, nearest first, and the note says so. */
static void
test_table_nearest_by_distance (void)
{
  g_auto (GStrv) lines = NULL;
  g_autofree char *note = table_nearest_note ("linear:3", &lines);
  g_assert_nonnull (strstr (note, "how far apart"));
  g_assert_nonnull (strstr (note, "(0: the same)"));
  g_assert_null (strstr (note, "how alike"));
  g_autofree char *deeper = table_nearest_note ("linear:8,relu,linear:3", NULL);
  g_assert_nonnull (strstr (deeper, "how far apart"));

  guint n = g_strv_length (lines);
  g_assert_cmpuint (n, ==, LAM_EXPLAIN_PANEL_N_NEAREST);
  double first = 0, last = 0, previous = -1;
  for (guint k = 0; k < n; k++) {
    const char *at = strstr (lines[k], "  distance ");
    g_assert_nonnull (at);
    char *end = NULL;
    double distance = g_ascii_strtod (at + strlen ("  distance "), &end);
    g_assert_true (end != at + strlen ("  distance "));
    g_assert_cmpfloat (distance, >=, 0);
    g_assert_cmpfloat (distance, >=, previous);
    previous = distance;
    if (k == 0)
      first = distance;
    last = distance;
  }
  /* The list is a ranking, not a tie. */
  g_assert_cmpfloat (last, >, first);
}

/* Whether widget's bottom edge, and that of each scrolled window it sits
 * in, can be brought into view: inside the child each scrolled window
 * scrolls (its adjustment reaches that far), and the outermost one inside
 * the window. */
static gboolean
reachable (GtkWidget *widget, GtkWidget *shown)
{
  GtkWidget *inner = widget;
  for (GtkWidget *view = gtk_widget_get_ancestor (widget, GTK_TYPE_SCROLLED_WINDOW); view != NULL;
       view = gtk_widget_get_ancestor (gtk_widget_get_parent (view), GTK_TYPE_SCROLLED_WINDOW)) {
    GtkWidget *content = gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (view));
    GtkAdjustment *v = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (view));
    graphene_rect_t bounds;
    g_assert_true (gtk_widget_compute_bounds (inner, content, &bounds));
    /* A viewport's child scrolls inside it: bounds from the scrolled
     * offset back to the top of what scrolls. */
    double bottom = bounds.origin.y + bounds.size.height +
                    (GTK_IS_VIEWPORT (content) ? gtk_adjustment_get_value (v) : 0);
    g_test_message ("  %s bottom %.0f of %.0f scrollable (page %.0f)", G_OBJECT_TYPE_NAME (inner),
                    bottom, gtk_adjustment_get_upper (v), gtk_adjustment_get_page_size (v));
    if (bottom > gtk_adjustment_get_upper (v) + 0.5)
      return FALSE;
    inner = view;
  }
  graphene_rect_t bounds;
  g_assert_true (gtk_widget_compute_bounds (inner, shown, &bounds));
  g_test_message ("  outermost bottom %.0f in a window %d high",
                  bounds.origin.y + bounds.size.height, gtk_widget_get_height (shown));
  return bounds.origin.y + bounds.size.height <= gtk_widget_get_height (shown) + 0.5;
}

/* In a 1280 × 820 window the note under a row's look-alikes ran past the
 * window's bottom, cut off: the column beside the gallery was as tall as
 * its contents and nothing scrolled to it. At each classroom size, with
 * and without presentation mode, the note and every line of the panel
 * are within the panel and can be scrolled into view. */
static void
test_table_why_reachable (void)
{
  g_autofree char *dir = NULL;
  g_autoptr (LamSession) other = NULL;
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = trained_table_window_new (&dir, &other, &other_page);
  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/org/lamina/Lamina/ui/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  LamEvaluatePage *table_page = LAM_EVALUATE_PAGE (other_page);
  lam_evaluate_page_show_tab (table_page, "predictions");
  lam_evaluate_page_select_image (table_page, 12);
  LamExplainPanel *detail = lam_evaluate_page_get_explain_panel (table_page, FALSE);
  g_assert_true (lam_test_iterate_until (panel_explained, detail, 60000));
  GtkWidget *note = find_label_with_prefix (GTK_WIDGET (detail), "Judged by");
  g_assert_nonnull (note);

  static const int sizes[][2] = { { 1280, 820 }, { 1280, 800 }, { 1024, 768 } };
  for (int presentation = 0; presentation < 2; presentation++)
    for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
      if (presentation)
        gtk_widget_add_css_class (other_window, "presentation");
      else
        gtk_widget_remove_css_class (other_window, "presentation");
      gtk_window_set_default_size (GTK_WINDOW (other_window), sizes[i][0], sizes[i][1]);
      lam_test_settle (400);
      g_test_message ("%d × %d%s: window %d × %d", sizes[i][0], sizes[i][1],
                      presentation ? ", presentation" : "", gtk_widget_get_width (other_window),
                      gtk_widget_get_height (other_window));
      g_assert_cmpint (gtk_widget_get_height (other_window), ==, sizes[i][1]);
      g_assert_true (gtk_widget_get_mapped (note));
      /* The note lies within the panel, not drawn past its end. */
      graphene_rect_t bounds;
      g_assert_true (gtk_widget_compute_bounds (note, GTK_WIDGET (detail), &bounds));
      g_assert_cmpfloat (bounds.origin.y + bounds.size.height, <=,
                         gtk_widget_get_height (GTK_WIDGET (detail)) + 0.5);
      g_assert_true (reachable (note, other_window));
      /* A column taller than its window shows that it scrolls: its
       * scrollbar keeps room of its own beside the panel instead of an
       * overlay that shows only on hover (what the user saw: the note cut
       * at the window's bottom, nothing saying more was below). */
      GtkWidget *column = gtk_widget_get_ancestor (GTK_WIDGET (detail), GTK_TYPE_SCROLLED_WINDOW);
      GtkAdjustment *v = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (column));
      GtkWidget *content = gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (column));
      if (gtk_adjustment_get_upper (v) > gtk_adjustment_get_page_size (v) + 0.5) {
        g_test_message ("  the column scrolls: content %d wide in a column %d wide",
                        gtk_widget_get_width (content), gtk_widget_get_width (column));
        g_assert_cmpint (gtk_widget_get_width (content), <, gtk_widget_get_width (column));
      }
      if (i == 0 && !presentation)
        save_window_png (other_window, "evaluate-table-why-reachable.png");
    }
  gtk_style_context_remove_provider_for_display (gdk_display_get_default (),
                                                 GTK_STYLE_PROVIDER (css));
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
}

/* The gallery's line over one mistake: it read "the 1 mistakes first",
 * and a cell of one "1 c2 rows taken for c1". */
static void
test_gallery_one_mistake_singular (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-blobs-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (csv, 300, 2, 3, 5);
  g_autoptr (LamSession) other = lam_session_new ();
  open_dataset (other, csv);
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = other_window_new (other, &other_page);
  train_other (other, "linear:3", 2);
  LamEvaluatePage *table_page = LAM_EVALUATE_PAGE (other_page);
  LamEvaluation *evaluation = lam_evaluate_page_get_evaluation (table_page);
  g_assert_true (lam_test_iterate_until (other_evaluated, evaluation, 60000));
  lam_test_settle (200);

  /* The one mistake this training leaves (c2 taken for c1), found in the
   * matrix rather than assumed. */
  const LamConfusion *confusion = lam_evaluate_page_get_confusion (table_page);
  int true_class = -1, taken_for = -1;
  guint64 wrong = 0;
  for (int t = 0; t < 3; t++)
    for (int p = 0; p < 3; p++)
      if (p != t && lam_confusion_get (confusion, t, p) > 0) {
        wrong += lam_confusion_get (confusion, t, p);
        true_class = t;
        taken_for = p;
      }
  if (wrong != 1) {
    g_test_skip ("this training left other than one mistake");
  } else {
    int n_test = lam_session_get_test_set (other)->n;
    g_autofree char *all = g_strdup_printf ("All %d test rows, the 1 mistake first", n_test);
    g_assert_nonnull (find_label_with_prefix (other_page, all));
    lam_evaluate_page_activate_cell (table_page, true_class, taken_for);
    lam_test_settle (200);
    g_autofree char *one = g_strdup_printf ("1 c%d row taken for c%d", true_class, taken_for);
    g_assert_nonnull (find_label_with_prefix (other_page, one));
  }
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
}

/* The Draw tab of weights the pad cannot feed, on a 1024 × 768 projector
 * in presentation mode: its explanation was centred in the height of the
 * hidden pad, below the bottom of the tab, which looked empty. */
static void
test_draw_unavailable_in_view (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-blobs-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (csv, 300, 2, 3, 5);
  g_autoptr (LamSession) other = lam_session_new ();
  open_dataset (other, csv);
  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/org/lamina/Lamina/ui/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  GtkWidget *other_window = gtk_window_new ();
  gtk_widget_add_css_class (other_window, "presentation");
  gtk_window_set_default_size (GTK_WINDOW (other_window), 1024, 768);
  GtkWidget *other_page = lam_evaluate_page_new (other);
  gtk_window_set_child (GTK_WINDOW (other_window), other_page);
  gtk_window_present (GTK_WINDOW (other_window));
  train_other (other, "linear:3", 1);
  LamEvaluation *evaluation = lam_evaluate_page_get_evaluation (LAM_EVALUATE_PAGE (other_page));
  g_assert_true (lam_test_iterate_until (other_evaluated, evaluation, 60000));
  lam_evaluate_page_show_tab (LAM_EVALUATE_PAGE (other_page), "draw");
  lam_test_settle (500);

  /* The last line of the explanation. */
  GtkWidget *title = find_label_with_prefix (other_page, "The pad draws 28 × 28");
  g_assert_nonnull (title);
  g_assert_true (gtk_widget_get_mapped (title));
  GtkWidget *view = gtk_widget_get_ancestor (title, GTK_TYPE_SCROLLED_WINDOW);
  g_assert_nonnull (view);
  graphene_rect_t bounds;
  g_assert_true (gtk_widget_compute_bounds (title, view, &bounds));
  g_test_message ("the explanation at y %.0f–%.0f in a view %d high", bounds.origin.y,
                  bounds.origin.y + bounds.size.height, gtk_widget_get_height (view));
  /* Centred in the view, whatever the pad would need: with the window's
   * header bar and the epoch slider above, an explanation pushed that low
   * fell out of sight. */
  g_assert_cmpfloat (bounds.origin.y, >=, 0);
  g_assert_cmpfloat (bounds.origin.y + bounds.size.height, <=, 0.75 * gtk_widget_get_height (view));
  const char *build = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *png =
    g_build_filename (build ? build : ".", "evaluate-draw-unavailable-presentation.png", NULL);
  g_assert_true (lam_ui_save_png (other_window, png, NULL));
  gtk_style_context_remove_provider_for_display (gdk_display_get_default (),
                                                 GTK_STYLE_PROVIDER (css));
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
}

static gboolean
evaluation_failed (gpointer data)
{
  LamEvaluation *evaluation = data;
  return !lam_evaluation_get_busy (evaluation) && lam_evaluation_get_error (evaluation) != NULL;
}

/* Opens path in other, whose weights are of another input, and returns
 * the error the page shows: it names what the weights read and what the
 * dataset holds, rows of inputs for a table and images for images (it said
 * "These weights expect 2 images" and "the test images of blobs.csv (test)
 * are 1×1×2"). */
static const char *
open_misfit (LamSession *other, GtkWidget *other_page, const char *path)
{
  open_dataset (other, path);
  LamEvaluation *evaluation = lam_evaluate_page_get_evaluation (LAM_EVALUATE_PAGE (other_page));
  g_assert_true (lam_test_iterate_until (evaluation_failed, evaluation, 60000));
  lam_test_settle (200);
  const GError *error = lam_evaluation_get_error (evaluation);
  g_assert_error (error, LAM_EVALUATION_ERROR, LAM_EVALUATION_ERROR_MISMATCH);
  g_test_message ("%s", error->message);
  g_assert_nonnull (find_label_with_prefix (other_page, error->message));
  return error->message;
}

static void
test_table_weights_of_another_shape (void)
{
  g_autofree char *bars = lam_test_write_bars_dataset (60, 3);
  g_autofree char *dir = g_dir_make_tmp ("lamina-blobs-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (csv, 300, 2, 3, 5);
  g_autoptr (LamSession) other = lam_session_new ();
  open_dataset (other, bars);
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = other_window_new (other, &other_page);
  train_other (other, "flatten,linear:3", 1);

  const char *message = open_misfit (other, other_page, csv);
  g_assert_true (g_str_has_prefix (
    message, "These weights read images of 1×28×28, but blobs.csv (test) holds rows of 2 inputs."));
  save_window_png (other_window, "evaluate-image-weights-on-table.png");

  train_other (other, "linear:3", 1);
  message = open_misfit (other, other_page, bars);
  g_autofree char *expected =
    g_strdup_printf ("These weights read rows of 2 inputs, but %s holds images of 1×28×28.",
                     lam_session_get_test_set (other)->name);
  g_assert_true (g_str_has_prefix (message, expected));
  save_window_png (other_window, "evaluate-table-weights-on-images.png");
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
  lam_test_remove_tree (bars);
}

/* Trains spec_text on the bars dataset of n images and opens the Map tab,
 * where no map can be made: the tab says why in plain words and what would
 * make one, and shows no panel waiting for a map ("No map yet"), where it
 * showed the engine's "a map needs at least 2 rows of 2 to 4096 features;
 * got 1 row of 784" above one. Returns the tab's words. */
static char *
check_no_map (int n, const char *spec_text, const char *png)
{
  g_autofree char *dir = lam_test_write_bars_dataset (n, MIN (n, 10));
  g_autoptr (LamSession) other = lam_session_new ();
  open_dataset (other, dir);
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = other_window_new (other, &other_page);
  train_other (other, spec_text, 1);
  LamEvaluatePage *evaluate = LAM_EVALUATE_PAGE (other_page);
  g_assert_true (
    lam_test_iterate_until (other_evaluated, lam_evaluate_page_get_evaluation (evaluate), 60000));
  lam_evaluate_page_show_tab (evaluate, "map");
  LamExplainer *explainer = lam_evaluate_page_get_explainer (evaluate);
  g_assert_true (lam_test_iterate_until (map_settled, explainer, 60000));
  lam_test_settle (200);
  const GError *error = lam_explainer_get_map_error (explainer);
  g_assert_error (error, LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_NO_MAP);
  g_test_message ("%s", error->message);
  GtkWidget *label = find_label_with_prefix (other_page, "No map: ");
  g_assert_nonnull (label);
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, error->message);
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (lam_evaluate_page_get_map_view (evaluate))));
  save_window_png (other_window, png);
  char *text = g_strdup (error->message);
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);
  return text;
}

static GtkWidget *
find_weights_view (GtkWidget *widget)
{
  if (LAM_IS_WEIGHTS_VIEW (widget))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkWidget *found = find_weights_view (child);
    if (found != NULL)
      return found;
  }
  return NULL;
}

/* A table's Map tab said "Each dot is a test image" and its hover card
 * "test image 12", and What It Learned spoke of "red pixels" for a model
 * of two columns: a table's page speaks of rows and inputs, naming the
 * columns. */
static void
test_table_map_and_learned_speak_of_rows (void)
{
  g_autofree char *dir = NULL;
  g_autoptr (LamSession) other = NULL;
  GtkWidget *other_page = NULL;
  GtkWidget *other_window = trained_table_window_new (&dir, &other, &other_page);
  LamEvaluatePage *table_page = LAM_EVALUATE_PAGE (other_page);
  lam_evaluate_page_show_tab (table_page, "map");
  LamExplainer *explainer = lam_evaluate_page_get_explainer (table_page);
  g_assert_true (lam_test_iterate_until (map_settled, explainer, 60000));
  lam_test_settle (200);
  LamFeatureMapView *map = lam_evaluate_page_get_map_view (table_page);
  lam_feature_map_view_set_highlighted (map, 12);
  save_window_png (other_window, "evaluate-table-map.png");
  g_assert_null (lam_explainer_get_map_error (explainer));
  GtkWidget *label = find_label_with_prefix (other_page, "Each dot is a test ");
  g_assert_nonnull (label);
  g_test_message ("%s", gtk_label_get_text (GTK_LABEL (label)));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (label)), "test row"));
  g_assert_null (strstr (gtk_label_get_text (GTK_LABEL (label)), "image"));
  const char *caption = lam_feature_map_view_get_caption (map);
  g_test_message ("%s", caption);
  g_assert_true (g_str_has_prefix (caption, "The test rows "));
  g_autofree char *card = lam_feature_map_view_dup_card_title (map, 12);
  g_test_message ("%s", card);
  g_assert_nonnull (strstr (card, "test row 12"));

  lam_evaluate_page_show_tab (table_page, "learned");
  save_window_png (other_window, "evaluate-table-learned.png");
  LamWeightsView *weights = LAM_WEIGHTS_VIEW (find_weights_view (other_page));
  g_assert_nonnull (weights);
  const char *learned = lam_weights_view_get_caption (weights);
  g_test_message ("%s", learned);
  g_assert_null (strstr (learned, "pixel"));
  g_assert_nonnull (strstr (learned, "(x1, x2)"));
  gtk_window_destroy (GTK_WINDOW (other_window));
  lam_test_remove_tree (dir);

  /* Fashion-MNIST's map keeps its images. */
  if (skip_without_data ())
    return;
  ensure_trained ();
  publish (1);
  lam_evaluate_page_show_tab (page, "map");
  g_assert_true (
    lam_test_iterate_until (map_settled, lam_evaluate_page_get_explainer (page), 60000));
  lam_test_settle (200);
  g_autofree char *image_card =
    lam_feature_map_view_dup_card_title (lam_evaluate_page_get_map_view (page), 0);
  g_assert_nonnull (strstr (image_card, "test image 0"));
  g_assert_nonnull (find_label_with_prefix (GTK_WIDGET (page), "Each dot is a test image"));
  lam_evaluate_page_show_tab (page, "predictions");
}

static void
test_map_one_test_image (void)
{
  g_autofree char *text = check_no_map (1, "flatten,linear:2", "evaluate-map-one-image.png");
  g_assert_nonnull (strstr (text, "has only one"));
  g_assert_nonnull (strstr (text, "more test images"));
}

static void
test_map_too_many_features (void)
{
  /* The flatten before the last layer gives 8 × 26 × 26 features. */
  g_autofree char *text =
    check_no_map (60, "conv2d:8:3,relu,flatten,linear:10", "evaluate-map-too-many-features.png");
  g_assert_nonnull (strstr (text, "5,408 numbers per test image"));
  g_assert_nonnull (strstr (text, "at most 4,096"));
}

static gboolean
focus_moved (gpointer data)
{
  GtkWidget **last = data;
  return gtk_root_get_focus (GTK_ROOT (window)) != *last;
}

static void
type_key (guint keyval, GdkModifierType modifiers)
{
  GtkWidget *last = gtk_root_get_focus (GTK_ROOT (window));
  lam_test_type_key (window, keyval, modifiers);
  /* Keys that do not move the focus: give the page time to answer. */
  lam_test_iterate_until (focus_moved, &last, 300);
  lam_test_settle (50);
}

/* Presses Tab until target has the focus; FALSE after 60 presses. */
static gboolean
tab_to (GtkWidget *target)
{
  for (int press = 0; press < 60; press++) {
    GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));
    if (focus == target)
      return TRUE;
    g_autofree char *text = lam_test_describe_focus (focus);
    g_test_message ("Tab from %s", text);
    type_key (GDK_KEY_Tab, 0);
  }
  return FALSE;
}

/* A mistake cell as a screen reader should hear it. */
static char *
describe_cell (const LamConfusion *confusion, const char *true_name, int t,
               const char *predicted_name, int p)
{
  guint64 count = lam_confusion_get (confusion, t, p), total = 0;
  for (int c = 0; c < 10; c++)
    total += lam_confusion_get (confusion, t, c);
  g_autofree char *count_text = lam_ui_format_count (count);
  g_autofree char *total_text = lam_ui_format_count (total);
  return g_strdup_printf ("%s taken for %s: %s of %s (%.1f%%)", true_name, predicted_name,
                          count_text, total_text, 100.0 * count / total);
}

/* Tab through the Predictions tab with an image chosen: every stop inside
 * the activations has a name that says what it holds (the view's own
 * scrolled window was once an unnamed stop, with nothing to scroll), and
 * Tab goes round the page without sticking. */
static void
test_keys_activations_no_unnamed_stop (void)
{
  if (skip_without_data ())
    return;
  if (!lam_test_can_type_keys (window)) {
    g_test_skip ("keys cannot be typed here: no X11 display with libXtst.so.6");
    return;
  }
  ensure_trained ();
  publish (1);
  lam_evaluate_page_show_tab (page, "predictions");
  gtk_window_present (GTK_WINDOW (window));
  lam_test_settle (300);
  GtkWidget *view = GTK_WIDGET (
    gtk_widget_get_template_child (GTK_WIDGET (page), LAM_TYPE_EVALUATE_PAGE, "activations_view"));
  g_assert_true (gtk_widget_get_mapped (view));

  gtk_widget_child_focus (GTK_WIDGET (page), GTK_DIR_TAB_FORWARD);
  GtkWidget *first = gtk_root_get_focus (GTK_ROOT (window));
  g_assert_nonnull (first);
  int stops_inside = 0;
  for (int press = 0; press < 80; press++) {
    GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));
    g_autofree char *text = lam_test_describe_focus (focus);
    g_test_message ("stop: %s", text);
    if (focus != NULL && gtk_widget_is_ancestor (focus, view)) {
      stops_inside++;
      if (lam_ui_get_accessible_label (focus) == NULL)
        g_error ("unnamed Tab stop in the activations: %s", text);
    }
    type_key (GDK_KEY_Tab, 0);
    if (gtk_root_get_focus (GTK_ROOT (window)) == first)
      break;
  }
  /* Tab went round the page and came back: it stuck nowhere. */
  g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == first);
  g_test_message ("%d stops inside the activations", stops_inside);
  /* Back to the last stop of the page, below the activations. */
  type_key (GDK_KEY_Tab, GDK_SHIFT_MASK);
  g_autofree char *last = lam_test_describe_focus (gtk_root_get_focus (GTK_ROOT (window)));
  g_test_message ("last stop: %s", last);
  save_png ("evaluate-keys-activations.png");
}

/* The classic walk by keys alone: Tab to the confusion matrix, arrows to
 * "T-shirt/top taken for Shirt", Enter shows those images; Tab to the
 * gallery, an arrow selects the next image and the detail follows it. */
static void
test_keys_confusion_to_image (void)
{
  if (skip_without_data ())
    return;
  if (!lam_test_can_type_keys (window)) {
    g_test_skip ("keys cannot be typed here: no X11 display with libXtst.so.6");
    return;
  }
  ensure_trained ();
  publish (1);
  lam_evaluate_page_show_tab (page, "predictions");
  gtk_window_present (GTK_WINDOW (window));
  lam_test_settle (300);
  LamConfusionView *view = lam_evaluate_page_get_confusion_view (page);
  LamPredictionGrid *gallery = lam_evaluate_page_get_gallery (page);
  const LamConfusion *confusion = lam_evaluate_page_get_confusion (page);

  gtk_widget_child_focus (GTK_WIDGET (page), GTK_DIR_TAB_FORWARD);
  g_autoptr (GBytes) matrix_before = lam_test_render_pixels (GTK_WIDGET (view));
  g_assert_true (tab_to (GTK_WIDGET (view)));
  /* The cursor's outline shows as the focus arrives. */
  lam_test_settle (100);
  g_autoptr (GBytes) matrix_focused = lam_test_render_pixels (GTK_WIDGET (view));
  g_assert_false (g_bytes_equal (matrix_before, matrix_focused));
  /* To the top left cell (the arrows stop at the edges), then six right. */
  for (int i = 0; i < 9; i++) {
    type_key (GDK_KEY_Up, 0);
    type_key (GDK_KEY_Left, 0);
  }
  for (int i = 0; i < 6; i++)
    type_key (GDK_KEY_Right, 0);
  /* A screen reader hears the cell the arrows reached: the drawing shows
   * it only as an outline. */
  g_autofree char *cell = describe_cell (confusion, "T-shirt/top", 0, "Shirt", 6);
  gtk_test_accessible_assert_property (view, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, cell);
  type_key (GDK_KEY_Down, 0);
  g_autofree char *below = describe_cell (confusion, "Trouser", 1, "Shirt", 6);
  gtk_test_accessible_assert_property (view, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, below);
  type_key (GDK_KEY_Up, 0);
  type_key (GDK_KEY_Return, 0);
  int t, p;
  g_assert_true (lam_confusion_view_get_selection (view, &t, &p));
  g_assert_cmpint (t, ==, 0);
  g_assert_cmpint (p, ==, 6);
  g_assert_cmpuint (lam_prediction_grid_get_n_items (gallery), ==,
                    lam_confusion_get (confusion, 0, 6));
  save_png ("evaluate-keys-confusion.png");
  /* On the selected cell the cursor still shows, and goes with the focus. */
  g_autoptr (GBytes) selected_focused = lam_test_render_pixels (GTK_WIDGET (view));

  g_assert_true (tab_to (GTK_WIDGET (gallery)));
  lam_test_settle (100);
  g_autoptr (GBytes) selected_left = lam_test_render_pixels (GTK_WIDGET (view));
  g_assert_false (g_bytes_equal (selected_focused, selected_left));
  int first = lam_prediction_grid_get_selected (gallery);
  g_assert_cmpint (first, ==, lam_prediction_grid_get_item (gallery, 0));
  type_key (GDK_KEY_Right, 0);
  int second = lam_prediction_grid_get_item (gallery, 1);
  g_assert_cmpint (lam_prediction_grid_get_selected (gallery), ==, second);
  LamProbabilityBars *bars = lam_evaluate_page_get_detail_bars (page);
  g_assert_cmpint (lam_probability_bars_get_ranked (bars, 0), ==, 6);
  save_png ("evaluate-keys-gallery.png");

  /* The gallery shows whether it has the focus: the selected image looked
   * the same with the focus elsewhere, so a person driving by keys could
   * not tell where the arrows would go. */
  g_autoptr (GBytes) focused = lam_test_render_pixels (GTK_WIDGET (gallery));
  type_key (GDK_KEY_Tab, 0);
  g_assert_false (gtk_widget_has_focus (GTK_WIDGET (gallery)));
  lam_test_settle (100);
  g_autoptr (GBytes) unfocused = lam_test_render_pixels (GTK_WIDGET (gallery));
  g_assert_false (g_bytes_equal (focused, unfocused));
  save_png ("evaluate-keys-gallery-left.png");

  /* Tab from the matrix reaches the most frequent mistake, which a screen
   * reader names by its text (it was a nameless button), and Space shows
   * its cell. */
  gtk_widget_grab_focus (GTK_WIDGET (view));
  type_key (GDK_KEY_Tab, 0);
  GtkWidget *mistake = gtk_root_get_focus (GTK_ROOT (window));
  g_assert_true (mistake == gtk_widget_get_first_child (lam_evaluate_page_get_mistakes (page)));
  g_assert_true (gtk_test_accessible_has_relation (GTK_ACCESSIBLE (mistake),
                                                   GTK_ACCESSIBLE_RELATION_LABELLED_BY));
  type_key (GDK_KEY_space, 0);
  int worst_t = -1, worst_p = -1;
  guint64 worst = 0;
  for (int i = 0; i < 10; i++)
    for (int j = 0; j < 10; j++)
      if (i != j && lam_confusion_get (confusion, i, j) > worst) {
        worst = lam_confusion_get (confusion, i, j);
        worst_t = i;
        worst_p = j;
      }
  g_assert_true (lam_confusion_view_get_selection (view, &t, &p));
  g_assert_cmpint (t, ==, worst_t);
  g_assert_cmpint (p, ==, worst_p);
  g_assert_cmpuint (lam_prediction_grid_get_n_items (gallery), ==, worst);
  /* Back on the matrix, the keys go on from the cell shown, which a
   * screen reader hears (the cursor stayed where the arrows left it). */
  type_key (GDK_KEY_Tab, GDK_SHIFT_MASK);
  g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == GTK_WIDGET (view));
  const char *summary = strstr (lam_ui_get_accessible_label (GTK_WIDGET (view)), "mistake: ");
  g_assert_nonnull (summary);
  gtk_test_accessible_assert_property (view, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                       summary + strlen ("mistake: "));

  /* Shift+Tab back to Show All and Space: every image again, Show All
   * turns off, and the focus goes to the matrix instead of nowhere. */
  GtkWidget *show_all = GTK_WIDGET (
    gtk_widget_get_template_child (GTK_WIDGET (page), LAM_TYPE_EVALUATE_PAGE, "show_all_button"));
  gtk_widget_grab_focus (GTK_WIDGET (view));
  for (int press = 0; press < 4 && gtk_root_get_focus (GTK_ROOT (window)) != show_all; press++)
    type_key (GDK_KEY_Tab, GDK_SHIFT_MASK);
  g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == show_all);
  type_key (GDK_KEY_space, 0);
  g_assert_false (lam_confusion_view_get_selection (view, NULL, NULL));
  g_assert_cmpuint (lam_prediction_grid_get_n_items (gallery), ==, 10000);
  g_assert_false (gtk_widget_is_sensitive (show_all));
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));
  g_autofree char *seen = lam_test_describe_focus (focus);
  g_test_message ("after Show All: %s", seen);
  save_png ("evaluate-keys-show-all.png");
  g_assert_true (focus == GTK_WIDGET (view));
}

int
main (int argc, char **argv)
{
  /* GTK's test context keeps the accessible properties where
   * gtk_test_accessible_* read them, with no bus to talk to. */
  g_setenv ("GTK_A11Y", "test", TRUE);
  gtk_init ();
  g_test_init (&argc, &argv, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  session = lam_session_new ();
  gboolean loaded = FALSE;
  lam_session_load_dataset_async (session, LAM_DATASET_DEFAULT_DIR, NULL, on_loaded, &loaded);
  lam_test_iterate_until (lam_test_flag_set, &loaded, 60000);

  window = gtk_window_new ();
  gtk_window_set_title (GTK_WINDOW (window), "Evaluate");
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 820);
  page = LAM_EVALUATE_PAGE (lam_evaluate_page_new (session));
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (GTK_WINDOW (window));
  lam_test_settle (500);

  g_test_add_func ("/evaluate-page/empty-before-weights", test_empty_state);
  g_test_add_func ("/evaluate-page/map-pick-dropped-with-dataset",
                   test_map_pick_dropped_with_dataset);
  g_test_add_func ("/evaluate-page/confusion-and-accuracy-match-lam-evaluate",
                   test_matches_engine);
  g_test_add_func ("/evaluate-page/class-accuracy-matches-confusion-rows", test_class_accuracy);
  g_test_add_func ("/evaluate-page/save-confusion", test_save_confusion);
  g_test_add_func ("/evaluate-page/cell-filters-gallery-exactly", test_cell_filters_gallery);
  g_test_add_func ("/evaluate-page/gallery-mistakes-first-in-every-order", test_gallery_order);
  g_test_add_func ("/evaluate-page/selected-image-probabilities", test_selected_image);
  g_test_add_func ("/evaluate-page/gallery-labels-wrap", test_gallery_labels_wrap);
  g_test_add_func ("/evaluate-page/history-after-second-epoch", test_history);
  g_test_add_func ("/evaluate-page/time-machine", test_time_machine);
  g_test_add_func ("/evaluate-page/stale-result-dropped-new-run-resets-history",
                   test_stale_and_new_run);
  g_test_add_func ("/evaluate-page/draw-classifies-live", test_draw);
  g_test_add_func ("/evaluate-page/why", test_why);
  g_test_add_func ("/evaluate-page/what-it-learned", test_learned);
  g_test_add_func ("/evaluate-page/dark-style", test_dark);
  g_test_add_func ("/evaluate-page/closed-while-evaluating", test_closed_while_evaluating);
  g_test_add_func ("/evaluate-page/spinner-delayed", test_spinner_delayed);
  g_test_add_func ("/evaluate-page/weights-from-another-dataset",
                   test_weights_from_another_dataset);
  g_test_add_func ("/evaluate-page/more-outputs-than-classes", test_more_outputs_than_classes);
  g_test_add_func ("/evaluate-page/regression/weights-of-another-table",
                   test_regression_weights_of_another_table);
  g_test_add_func ("/evaluate-page/table/draw-tab", test_table_draw_tab);
  g_test_add_func ("/evaluate-page/draw/unavailable-in-view", test_draw_unavailable_in_view);
  g_test_add_func ("/evaluate-page/table/predictions-speak-of-rows",
                   test_table_predictions_speak_of_rows);
  g_test_add_func ("/evaluate-page/table/confusion-hint-speaks-of-rows", test_table_confusion_hint);
  g_test_add_func ("/evaluate-page/table/gallery-help-speaks-of-rows", test_table_gallery_help);
  g_test_add_func ("/evaluate-page/table/gallery-cells-show-values",
                   test_table_gallery_cells_show_values);
  g_test_add_func ("/evaluate-page/table/why-speaks-of-columns", test_table_why_speaks_of_columns);
  g_test_add_func ("/evaluate-page/table/help-speaks-of-rows", test_table_help_speaks_of_rows);
  g_test_add_func ("/evaluate-page/table/why-values-whole", test_table_why_values_whole);
  g_test_add_func ("/evaluate-page/table/gallery-long-names", test_table_gallery_long_names);
  g_test_add_func ("/evaluate-page/table/map-card-shows-values", test_table_map_card_shows_values);
  g_test_add_func ("/evaluate-page/table/nearest-note", test_table_nearest_note);
  g_test_add_func ("/evaluate-page/table/nearest-by-distance", test_table_nearest_by_distance);
  g_test_add_func ("/evaluate-page/table/why-reachable", test_table_why_reachable);
  g_test_add_func ("/evaluate-page/table/why-shows-sign", test_table_why_shows_sign);
  g_test_add_func ("/evaluate-page/table/one-mistake-singular", test_gallery_one_mistake_singular);
  g_test_add_func ("/evaluate-page/table/weights-of-another-shape",
                   test_table_weights_of_another_shape);
  g_test_add_func ("/evaluate-page/table/map-and-learned-speak-of-rows",
                   test_table_map_and_learned_speak_of_rows);
  g_test_add_func ("/evaluate-page/map/one-test-image", test_map_one_test_image);
  g_test_add_func ("/evaluate-page/map/too-many-features", test_map_too_many_features);
  g_test_add_func ("/evaluate-page/keys/confusion-to-image", test_keys_confusion_to_image);
  g_test_add_func ("/evaluate-page/keys/activations-no-unnamed-stop",
                   test_keys_activations_no_unnamed_stop);
  int status = g_test_run ();

  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (session);
  g_clear_pointer (&spec, lam_model_spec_free);
  g_free (params[0]);
  g_free (params[1]);
  return status;
}
