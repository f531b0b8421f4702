/* test-explainer.c: the Evaluate page's "why" on worker threads. Each
 * answer equals what the core gives on the same weights when called
 * directly; a burst of requests runs at most two computations and answers
 * the last; a new result makes the old one's answers stale and keeps the
 * map's orientation; and the main loop keeps turning while the training
 * images are indexed. */
#include <gtk/gtk.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "lam-device.h"
#include "lam-evaluation.h"
#include "lam-explainer.h"
#include "lam-session.h"
#include "lam-test-util.h"
#include "lam-ui-util.h"

#define N_IMAGES 400
#define N_CLASSES 10
#define INDEX_BATCH 500 /* as the explainer's workers run */

static gboolean
dataset_loaded (gpointer data)
{
  LamSession *session = data;
  return lam_session_get_has_dataset (session) && !lam_session_get_loading (session);
}

static void
on_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_session_load_dataset_finish (LAM_SESSION (source), result, &error));
  g_assert_no_error (error);
}

static LamSession *
new_session (const char *dir, const char *spec_text)
{
  LamSession *session = lam_session_new ();
  lam_session_load_dataset_async (session, dir, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (dataset_loaded, session, 120000));
  g_object_set (session, "epochs", 1, "batch-size", 32, "seed", (guint64) 7, "device", "cpu",
                "val-fraction", 0.1, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (spec_text, &error);
  g_assert_no_error (error);
  lam_session_set_spec (session, spec);
  g_assert_true (lam_session_get_model_valid (session));
  return session;
}

static gboolean
is_idle (gpointer data)
{
  return lam_session_get_state (LAM_SESSION (data)) == LAM_TRAIN_STATE_IDLE;
}

typedef struct
{
  LamEvaluation *evaluation;
  int epoch;
} EvaluationWait;

static gboolean
evaluated (gpointer data)
{
  EvaluationWait *wait = data;
  LamEvaluationResult *result = lam_evaluation_get_result (wait->evaluation);
  return !lam_evaluation_get_busy (wait->evaluation) && result != NULL &&
         result->epoch == wait->epoch;
}

static LamEvaluationResult *
wait_result (LamSession *session, int epoch)
{
  EvaluationWait wait = { lam_session_get_evaluation (session), epoch };
  g_assert_true (lam_test_iterate_until (evaluated, &wait, 600000));
  return lam_evaluation_result_ref (lam_evaluation_get_result (wait.evaluation));
}

/* A session on the bars dataset trained for an epoch through its actions,
 * the evaluation of its weights, and that of other weights: the same
 * scaled unevenly, published as a second epoch. (Not the time machine's
 * first epoch: on a set this small the trainer may be done with the next
 * epoch before the first one's snapshot is taken.) */
typedef struct
{
  char *dir;
  LamSession *session;
  LamEvaluationResult *trained, *other;
} Trained;

static void
trained_init (Trained *t, const char *spec_text)
{
  t->dir = lam_test_write_bars_dataset (N_IMAGES, N_CLASSES);
  t->session = new_session (t->dir, spec_text);
  g_action_group_activate_action (lam_session_get_actions (t->session), "start-pause", NULL);
  g_assert_true (lam_test_iterate_until (is_idle, t->session, 120000));
  t->trained = wait_result (t->session, 1);

  g_autofree float *params = g_memdup2 (t->trained->params, sizeof (float) * t->trained->n_params);
  for (gsize i = 0; i < t->trained->n_params; i++)
    params[i] *= 1.0f + 0.5f * sinf ((float) i);
  lam_session_set_weights (t->session, t->trained->spec, params, t->trained->n_params,
                           t->trained->mean, t->trained->std, 2);
  t->other = wait_result (t->session, 2);
  g_assert_true (memcmp (t->trained->params, t->other->params,
                         sizeof (float) * t->trained->n_params) != 0);
}

static void
trained_clear (Trained *t)
{
  g_clear_pointer (&t->trained, lam_evaluation_result_unref);
  g_clear_pointer (&t->other, lam_evaluation_result_unref);
  g_clear_object (&t->session);
  lam_test_remove_tree (t->dir);
  g_free (t->dir);
}

static float *
prepare (const LamEvaluationResult *result, int index)
{
  float *input = g_new (float, lam_shape_numel (&result->plan->input));
  lam_evaluation_result_prepare_image (result, index, input);
  return input;
}

/* What the core says when asked directly on result's weights. */
static LamExplanation *
direct_explanation (const LamEvaluationResult *result, const float *input,
                    LamExplainMethod method, GError **error)
{
  g_autoptr (LamUiModel) model =
    lam_ui_model_new (result->spec, result->params, result->n_params, 1, NULL);
  g_assert_nonnull (model);
  return lam_explain_inputs (model->model, input, 1, method, LAM_EXPLAIN_CLASS_PREDICTED,
                             LAM_EXPLAIN_LAYER_AUTO, error);
}

typedef struct
{
  guint n_answers;
  guint serial;
  gboolean answered;
} Answers;

static void
on_explained (LamExplainer *explainer, guint serial, gpointer explanation, gpointer error,
              gpointer user_data)
{
  Answers *answers = user_data;
  g_assert_true ((explanation == NULL) != (error == NULL));
  g_assert_true (explanation == lam_explainer_get_explanation (explainer));
  g_assert_true (error == lam_explainer_get_explain_error (explainer));
  answers->n_answers++;
  answers->serial = serial;
  answers->answered = TRUE;
}

/* Asks and waits for the answer. */
static void
explain_and_wait (LamExplainer *explainer, Answers *answers, const float *input,
                  LamExplainMethod method)
{
  guint serial = 0;
  answers->answered = FALSE;
  lam_explainer_explain (explainer, input, method, LAM_EXPLAIN_CLASS_PREDICTED, &serial);
  g_assert_false (answers->answered); /* never at once */
  g_assert_true (lam_test_iterate_until (lam_test_flag_set, &answers->answered, 60000));
  g_assert_cmpuint (answers->serial, ==, serial);
}

static void
assert_same_maps (const LamExplanation *a, const LamExplanation *b)
{
  g_assert_cmpint (a->n_images, ==, b->n_images);
  g_assert_cmpint (a->height, ==, b->height);
  g_assert_cmpint (a->width, ==, b->width);
  g_assert_cmpint (a->classes[0], ==, b->classes[0]);
  gsize n = (gsize) a->n_images * a->height * a->width;
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (a->maps[i], b->maps[i], 1e-6);
}

static gboolean
maps_differ (const LamExplanation *a, const LamExplanation *b)
{
  gsize n = (gsize) a->n_images * a->height * a->width;
  for (gsize i = 0; i < n; i++)
    if (fabsf (a->maps[i] - b->maps[i]) > 1e-6f)
      return TRUE;
  return FALSE;
}

static gboolean
index_ready (gpointer data)
{
  LamExplainer *explainer = data;
  return lam_explainer_get_index_ready (explainer) ||
         lam_explainer_get_index_error (explainer) != NULL;
}

static gboolean
map_ready (gpointer data)
{
  LamExplainer *explainer = data;
  return lam_explainer_get_map_ready (explainer) ||
         lam_explainer_get_map_error (explainer) != NULL;
}

/* Saliency through the explainer is the core's, bit for bit; Grad-CAM of an
 * MLP is the core's error; a burst runs at most two computations and
 * answers only the last. */
static void
test_explain (void)
{
  Trained t = { 0 };
  trained_init (&t, "flatten,linear:32,relu,linear:10");
  g_autoptr (LamExplainer) explainer = lam_explainer_new (t.session);
  Answers answers = { 0 };
  g_signal_connect (explainer, "explained", G_CALLBACK (on_explained), &answers);

  /* Before any result: an answer that says so. */
  g_autofree float *input = prepare (t.trained, 3);
  explain_and_wait (explainer, &answers, input, LAM_EXPLAIN_GRADIENT);
  g_assert_error (lam_explainer_get_explain_error (explainer), LAM_EXPLAINER_ERROR,
                  LAM_EXPLAINER_ERROR_NO_RESULT);

  lam_explainer_set_result (explainer, t.trained);
  for (LamExplainMethod method = LAM_EXPLAIN_GRADIENT; method <= LAM_EXPLAIN_GRADIENT_X_INPUT;
       method++) {
    explain_and_wait (explainer, &answers, input, method);
    g_assert_no_error (lam_explainer_get_explain_error (explainer));
    g_autoptr (LamExplanation) direct = direct_explanation (t.trained, input, method, NULL);
    const LamExplanation *got = lam_explainer_get_explanation (explainer);
    g_assert_nonnull (got);
    g_assert_cmpint (got->method, ==, method);
    assert_same_maps (got, direct);
    g_assert_cmpmem (got->maps, sizeof (float) * 28 * 28, direct->maps, sizeof (float) * 28 * 28);
    g_assert_false (lam_explainer_map_is_blank (got, 0));
  }
  explain_and_wait (explainer, &answers, input, LAM_EXPLAIN_GRAD_CAM);
  g_assert_error (lam_explainer_get_explain_error (explainer), LAM_EXPLAIN_ERROR,
                  LAM_EXPLAIN_ERROR_NO_CONV);
  g_assert_null (lam_explainer_get_explanation (explainer));

  /* A burst, as a drawing pad asks at every stroke. */
  guint runs_before = lam_explainer_get_n_explain_runs (explainer);
  guint answers_before = answers.n_answers;
  float *inputs[10];
  guint serial = 0;
  answers.answered = FALSE;
  for (int i = 0; i < 10; i++) {
    inputs[i] = prepare (t.trained, i * 7);
    lam_explainer_explain (explainer, inputs[i], LAM_EXPLAIN_GRADIENT,
                           LAM_EXPLAIN_CLASS_PREDICTED, &serial);
  }
  g_assert_true (lam_test_iterate_until (lam_test_flag_set, &answers.answered, 60000));
  lam_test_settle (200); /* nothing else comes */
  guint runs = lam_explainer_get_n_explain_runs (explainer) - runs_before;
  g_test_message ("a burst of 10 requests ran %u computations", runs);
  g_assert_cmpuint (runs, >=, 1);
  g_assert_cmpuint (runs, <=, 2);
  g_assert_cmpuint (answers.n_answers - answers_before, ==, 1);
  g_assert_cmpuint (answers.serial, ==, serial);
  g_autoptr (LamExplanation) last =
    direct_explanation (t.trained, inputs[9], LAM_EXPLAIN_GRADIENT, NULL);
  assert_same_maps (lam_explainer_get_explanation (explainer), last);
  /* The last image is another class's bar than the first's. */
  g_autoptr (LamExplanation) first =
    direct_explanation (t.trained, inputs[0], LAM_EXPLAIN_GRADIENT, NULL);
  g_assert_true (maps_differ (first, last));
  for (int i = 0; i < 10; i++)
    g_free (inputs[i]);

  /* A new result while a request runs: the old weights' answer is dropped,
   * and the next one is the new weights', which differ. */
  answers.answered = FALSE;
  guint old_serial = 0;
  lam_explainer_explain (explainer, input, LAM_EXPLAIN_GRADIENT, LAM_EXPLAIN_CLASS_PREDICTED,
                         &old_serial);
  lam_explainer_set_result (explainer, t.other);
  g_assert_null (lam_explainer_get_explanation (explainer));
  lam_test_settle (300);
  g_assert_false (answers.answered);
  explain_and_wait (explainer, &answers, input, LAM_EXPLAIN_GRADIENT);
  g_autoptr (LamExplanation) direct1 =
    direct_explanation (t.other, input, LAM_EXPLAIN_GRADIENT, NULL);
  g_autoptr (LamExplanation) direct2 =
    direct_explanation (t.trained, input, LAM_EXPLAIN_GRADIENT, NULL);
  assert_same_maps (lam_explainer_get_explanation (explainer), direct1);
  g_assert_true (maps_differ (direct1, direct2));

  /* Let the index and map workers end before the session goes. */
  lam_explainer_ensure_index (explainer);
  lam_explainer_ensure_map (explainer);
  g_assert_true (lam_test_iterate_until (index_ready, explainer, 60000));
  g_assert_true (lam_test_iterate_until (map_ready, explainer, 60000));
  g_clear_object (&explainer);
  trained_clear (&t);
}

/* Grad-CAM of a small CNN through the explainer is the core's. */
static void
test_grad_cam (void)
{
  Trained t = { 0 };
  trained_init (&t, "conv2d:4:3,relu,maxpool2d:2,flatten,linear:10");
  g_autoptr (LamExplainer) explainer = lam_explainer_new (t.session);
  Answers answers = { 0 };
  g_signal_connect (explainer, "explained", G_CALLBACK (on_explained), &answers);
  lam_explainer_set_result (explainer, t.trained);
  g_autofree float *input = prepare (t.trained, 5);
  explain_and_wait (explainer, &answers, input, LAM_EXPLAIN_GRAD_CAM);
  g_assert_no_error (lam_explainer_get_explain_error (explainer));
  g_autoptr (LamExplanation) direct =
    direct_explanation (t.trained, input, LAM_EXPLAIN_GRAD_CAM, NULL);
  const LamExplanation *got = lam_explainer_get_explanation (explainer);
  assert_same_maps (got, direct);
  g_assert_cmpint (lam_explainer_map_is_blank (got, 0), ==,
                   lam_explainer_map_is_blank (direct, 0));
  g_test_message ("Grad-CAM of the small CNN %s blank",
                  lam_explainer_map_is_blank (got, 0) ? "is" : "is not");
  lam_explainer_ensure_index (explainer);
  lam_explainer_ensure_map (explainer);
  g_assert_true (lam_test_iterate_until (index_ready, explainer, 60000));
  g_assert_true (lam_test_iterate_until (map_ready, explainer, 60000));
  g_clear_object (&explainer);
  trained_clear (&t);
}

typedef struct
{
  guint n_ready;
  double last_progress;
  gboolean went_back;
} IndexWatch;

static void
on_index_ready (LamExplainer *explainer, gpointer user_data)
{
  IndexWatch *watch = user_data;
  watch->n_ready++;
}

static void
on_progress (LamExplainer *explainer, GParamSpec *pspec, gpointer user_data)
{
  IndexWatch *watch = user_data;
  double progress = lam_explainer_get_index_progress (explainer);
  g_assert_cmpfloat (progress, >=, 0);
  g_assert_cmpfloat (progress, <=, 1);
  if (progress < watch->last_progress && progress != 0)
    watch->went_back = TRUE;
  watch->last_progress = progress;
}

/* The nearest images of the explainer are those of a LamFeatureIndex built
 * and queried directly; the map is lam_feature_map_compute's, and the next
 * result's map keeps its orientation. */
static void
test_nearest_and_map (void)
{
  Trained t = { 0 };
  trained_init (&t, "flatten,linear:32,relu,linear:10");
  g_autoptr (LamExplainer) explainer = lam_explainer_new (t.session);
  IndexWatch watch = { 0 };
  g_signal_connect (explainer, "index-ready", G_CALLBACK (on_index_ready), &watch);
  g_signal_connect (explainer, "notify::index-progress", G_CALLBACK (on_progress), &watch);

  g_autofree float *input = prepare (t.trained, 11);
  guint32 indices[5];
  float similarities[5];
  gint32 labels[5];
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (lam_explainer_nearest (explainer, input, 5, indices, similarities, labels,
                                          &error), ==, -1);
  g_assert_error (error, LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_NO_RESULT);
  g_clear_error (&error);

  lam_explainer_set_result (explainer, t.trained);
  /* No pass over the training images until look-alikes are asked for. */
  lam_test_settle (200);
  g_assert_false (lam_explainer_get_index_ready (explainer));
  g_assert_cmpfloat (lam_explainer_get_index_progress (explainer), ==, 0);
  g_assert_cmpuint (watch.n_ready, ==, 0);
  g_assert_cmpint (lam_explainer_nearest (explainer, input, 5, indices, similarities, labels,
                                          &error), ==, -1);
  g_assert_error (error, LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_NOT_READY);
  g_clear_error (&error);
  g_assert_true (lam_test_iterate_until (index_ready, explainer, 60000));
  g_assert_no_error (lam_explainer_get_index_error (explainer));
  g_assert_cmpuint (watch.n_ready, ==, 1);
  g_assert_false (watch.went_back);
  g_assert_cmpfloat (lam_explainer_get_index_progress (explainer), ==, 1);

  gint64 start = g_get_monotonic_time ();
  int found =
    lam_explainer_nearest (explainer, input, 5, indices, similarities, labels, &error);
  g_test_message ("nearest of one image among %d on the main thread: %.2f ms",
                  lam_session_get_train_set (t.session)->n,
                  (g_get_monotonic_time () - start) / 1e3);
  g_assert_no_error (error);
  g_assert_cmpint (found, ==, 5);

  /* Directly: the index of the whole training set, and the query. */
  const LamEvaluationResult *r = t.trained;
  const LamDataset *train = lam_session_get_train_set (t.session);
  g_autoptr (LamUiModel) big = lam_ui_model_new (r->spec, r->params, r->n_params, INDEX_BATCH,
                                                 NULL);
  g_autoptr (LamFeatureIndex) index = lam_feature_index_new (
    big->model, train, r->mean, r->std, LAM_EXPLAIN_LAYER_AUTO, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (LamUiModel) one = lam_ui_model_new (r->spec, r->params, r->n_params, 1, NULL);
  gsize dim = 0;
  g_autofree float *features = lam_explain_features_inputs (one->model, input, 1,
                                                            LAM_EXPLAIN_LAYER_AUTO, &dim, &error);
  g_assert_no_error (error);
  guint32 direct_indices[5];
  float direct_similarities[5];
  g_assert_cmpint (lam_feature_index_query (index, features, 1, dim, 5, direct_indices,
                                            direct_similarities, &error), ==, 5);
  for (int i = 0; i < 5; i++) {
    g_assert_cmpuint (indices[i], ==, direct_indices[i]);
    g_assert_cmpfloat_with_epsilon (similarities[i], direct_similarities[i], 1e-6);
    g_assert_cmpint (labels[i], ==, train->labels[indices[i]]);
  }
  /* A bar is most like the training bars of its own class. */
  g_assert_cmpint (labels[0], ==, r->dataset->labels[11]);

  /* The map, made only when asked for. */
  g_assert_false (lam_explainer_get_map_ready (explainer));
  lam_test_settle (200);
  g_assert_false (lam_explainer_get_map_ready (explainer));
  lam_explainer_ensure_map (explainer);
  g_assert_true (lam_test_iterate_until (map_ready, explainer, 60000));
  g_assert_no_error (lam_explainer_get_map_error (explainer));
  int n = 0;
  const float *coords = lam_explainer_get_map_coords (explainer, &n);
  g_assert_cmpint (n, ==, r->n_images);
  g_autofree float *test_features =
    lam_explain_features (big->model, r->dataset, NULL, 0, r->mean, r->std,
                          LAM_EXPLAIN_LAYER_AUTO, &dim, NULL, &error);
  g_assert_no_error (error);
  g_autofree float *direct_coords = g_new (float, (gsize) n * 2);
  g_autoptr (LamFeatureMapAxes) direct_axes =
    lam_feature_map_compute (test_features, n, (int) dim, NULL, direct_coords, &error);
  g_assert_no_error (error);
  for (int i = 0; i < n * 2; i++)
    g_assert_cmpfloat_with_epsilon (coords[i], direct_coords[i], 1e-6);
  const LamFeatureMapAxes *axes = lam_explainer_get_map_axes (explainer);
  g_assert_cmpfloat_with_epsilon (axes->explained[0], direct_axes->explained[0], 1e-9);

  /* A drawing placed on the map: test image 11 lands where the map has it. */
  float xy[2];
  start = g_get_monotonic_time ();
  g_assert_true (lam_explainer_project (explainer, input, xy, &error));
  g_test_message ("placing one image on the map on the main thread: %.2f ms",
                  (g_get_monotonic_time () - start) / 1e3);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (xy[0], coords[22], 1e-4);
  g_assert_cmpfloat_with_epsilon (xy[1], coords[23], 1e-4);

  /* The next result: another index, answers of its own weights, and a
   * frame turned like the last one. */
  g_autoptr (LamFeatureMapAxes) previous = lam_feature_map_axes_copy (axes);
  /* The borrowed coordinates go with their result. */
  g_autofree float *coords0 = g_memdup2 (coords, sizeof (float) * n * 2);
  lam_explainer_set_result (explainer, t.other);
  g_assert_false (lam_explainer_get_index_ready (explainer));
  g_assert_false (lam_explainer_get_map_ready (explainer));
  g_assert_null (lam_explainer_get_map_coords (explainer, NULL));
  lam_explainer_ensure_index (explainer);
  lam_explainer_ensure_map (explainer);
  g_assert_true (lam_test_iterate_until (index_ready, explainer, 60000));
  g_assert_true (lam_test_iterate_until (map_ready, explainer, 60000));
  g_assert_cmpuint (watch.n_ready, ==, 2);
  float similarities1[5];
  g_assert_cmpint (lam_explainer_nearest (explainer, input, 5, indices, similarities1, NULL,
                                          &error), ==, 5);
  g_assert_no_error (error);
  gboolean differ = FALSE;
  for (int i = 0; i < 5; i++)
    differ |= fabsf (similarities1[i] - similarities[i]) > 1e-6f;
  const float *coords1 = lam_explainer_get_map_coords (explainer, &n);
  for (int i = 0; i < n * 2; i++)
    differ |= fabsf (coords1[i] - coords0[i]) > 1e-6f;
  g_assert_true (differ);
  const LamFeatureMapAxes *axes1 = lam_explainer_get_map_axes (explainer);
  g_assert_cmpint (axes1->n_features, ==, previous->n_features);
  for (int k = 0; k < 2; k++) {
    double dot = 0;
    for (int j = 0; j < axes1->n_features; j++)
      dot += (double) axes1->axes[k * axes1->n_features + j] *
             previous->axes[k * previous->n_features + j];
    g_test_message ("axis %d: dot product with the last frame's %.3f", k, dot);
    g_assert_cmpfloat (dot, >, 0);
  }
  /* Its map is lam_feature_map_compute's given the last frame. */
  g_autoptr (LamUiModel) big1 =
    lam_ui_model_new (t.other->spec, t.other->params, t.other->n_params, INDEX_BATCH, NULL);
  g_autofree float *features1 =
    lam_explain_features (big1->model, t.other->dataset, NULL, 0, t.other->mean,
                          t.other->std, LAM_EXPLAIN_LAYER_AUTO, &dim, NULL, &error);
  g_autofree float *direct_coords1 = g_new (float, (gsize) n * 2);
  g_autoptr (LamFeatureMapAxes) direct_axes1 =
    lam_feature_map_compute (features1, n, (int) dim, previous, direct_coords1, &error);
  g_assert_no_error (error);
  for (int i = 0; i < n * 2; i++)
    g_assert_cmpfloat_with_epsilon (coords1[i], direct_coords1[i], 1e-6);

  /* Back to the first weights, as the epoch slider goes back: their index
   * and map were kept, and are there at once, as they were. */
  lam_explainer_set_result (explainer, t.trained);
  g_assert_true (lam_explainer_get_index_ready (explainer));
  g_assert_true (lam_explainer_get_map_ready (explainer));
  const float *again = lam_explainer_get_map_coords (explainer, &n);
  g_assert_cmpmem (again, sizeof (float) * n * 2, coords0, sizeof (float) * n * 2);
  float similarities2[5];
  guint32 indices2[5];
  g_assert_cmpint (lam_explainer_nearest (explainer, input, 5, indices2, similarities2, NULL,
                                          &error), ==, 5);
  for (int i = 0; i < 5; i++)
    g_assert_cmpfloat (similarities2[i], ==, similarities[i]);
  /* And forward again. */
  lam_explainer_set_result (explainer, t.other);
  g_assert_true (lam_explainer_get_index_ready (explainer));
  g_assert_true (lam_explainer_get_map_ready (explainer));

  g_clear_object (&explainer);
  trained_clear (&t);
}

/* A result without test images (as a table's regression would be refused
 * too): every request says so, and nothing runs. */
static void
test_unsupported (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (40, N_CLASSES);
  g_autoptr (LamSession) session = new_session (dir, "flatten,linear:10");
  g_autoptr (LamExplainer) explainer = lam_explainer_new (session);
  Answers answers = { 0 };
  g_signal_connect (explainer, "explained", G_CALLBACK (on_explained), &answers);

  LamEvaluationResult *empty = g_atomic_rc_box_new0 (LamEvaluationResult);
  lam_explainer_set_result (explainer, empty);
  lam_evaluation_result_unref (empty);
  g_assert_error (lam_explainer_get_unsupported (explainer), LAM_EXPLAINER_ERROR,
                  LAM_EXPLAINER_ERROR_UNSUPPORTED);
  float input[28 * 28] = { 0 };
  explain_and_wait (explainer, &answers, input, LAM_EXPLAIN_GRADIENT);
  g_assert_error (lam_explainer_get_explain_error (explainer), LAM_EXPLAINER_ERROR,
                  LAM_EXPLAINER_ERROR_UNSUPPORTED);
  guint32 indices[3];
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (lam_explainer_nearest (explainer, input, 3, indices, NULL, NULL, &error), ==,
                   -1);
  g_assert_error (error, LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  float xy[2];
  g_assert_false (lam_explainer_project (explainer, input, xy, &error));
  g_assert_error (error, LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_UNSUPPORTED);
  lam_test_settle (100);
  g_assert_false (lam_explainer_get_index_ready (explainer));
  g_assert_false (lam_explainer_get_map_ready (explainer));
  g_assert_null (lam_explainer_get_index_error (explainer));
  lam_explainer_set_result (explainer, NULL);
  g_clear_object (&explainer);
  lam_test_remove_tree (dir);
}

/* A model without parameters (flatten, log_softmax) is explained as any
 * other: its result's weights are none of them, which is not "no
 * weights". */
static void
test_no_parameters (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (40, N_CLASSES);
  g_autoptr (LamSession) session = new_session (dir, "flatten,log_softmax");
  g_action_group_activate_action (lam_session_get_actions (session), "start-pause", NULL);
  g_assert_true (lam_test_iterate_until (is_idle, session, 120000));
  g_autoptr (LamEvaluationResult) result = wait_result (session, 1);
  g_assert_cmpuint (result->n_params, ==, 0);

  g_autoptr (LamExplainer) explainer = lam_explainer_new (session);
  Answers answers = { 0 };
  g_signal_connect (explainer, "explained", G_CALLBACK (on_explained), &answers);
  lam_explainer_set_result (explainer, result);
  g_autofree float *input = prepare (result, 3);
  explain_and_wait (explainer, &answers, input, LAM_EXPLAIN_GRADIENT);
  g_assert_no_error (lam_explainer_get_explain_error (explainer));
  g_autoptr (LamExplanation) direct =
    direct_explanation (result, input, LAM_EXPLAIN_GRADIENT, NULL);
  assert_same_maps (lam_explainer_get_explanation (explainer), direct);

  /* Its features are the pixels themselves: the image is its own nearest. */
  lam_explainer_ensure_index (explainer);
  g_assert_true (lam_test_iterate_until (index_ready, explainer, 60000));
  g_assert_no_error (lam_explainer_get_index_error (explainer));
  guint32 nearest[1];
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (lam_explainer_nearest (explainer, input, 1, nearest, NULL, NULL, &error), ==, 1);
  g_assert_no_error (error);
  g_assert_cmpint (lam_session_get_train_set (session)->labels[nearest[0]], ==,
                   result->dataset->labels[3]);
  lam_explainer_ensure_map (explainer);
  g_assert_true (lam_test_iterate_until (map_ready, explainer, 60000));
  g_assert_no_error (lam_explainer_get_map_error (explainer));
  float xy[2];
  g_assert_true (lam_explainer_project (explainer, input, xy, &error));
  g_assert_no_error (error);
  lam_explainer_set_result (explainer, NULL);
  lam_test_remove_tree (dir);
}

typedef struct
{
  LamEvaluation *evaluation;
  int n_images;
} TestSetWait;

static gboolean
evaluated_on (gpointer data)
{
  TestSetWait *wait = data;
  LamEvaluationResult *result = lam_evaluation_get_result (wait->evaluation);
  return !lam_evaluation_get_busy (wait->evaluation) && result != NULL &&
         result->n_images == wait->n_images;
}

/* The same weights on the test images of another dataset opened after
 * them: the map places these images, not the ones of the dataset before
 * (which the same weights' map was kept for). */
static void
test_map_of_another_dataset (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (N_IMAGES, N_CLASSES);
  g_autofree char *other_dir = lam_test_write_bars_dataset (N_IMAGES / 4, N_CLASSES);
  g_autoptr (LamSession) session = new_session (dir, "flatten,linear:10");
  g_action_group_activate_action (lam_session_get_actions (session), "start-pause", NULL);
  g_assert_true (lam_test_iterate_until (is_idle, session, 120000));
  g_autoptr (LamEvaluationResult) first = wait_result (session, 1);
  g_autoptr (LamExplainer) explainer = lam_explainer_new (session);
  lam_explainer_set_result (explainer, first);
  lam_explainer_ensure_map (explainer);
  g_assert_true (lam_test_iterate_until (map_ready, explainer, 60000));
  int n = 0;
  g_assert_nonnull (lam_explainer_get_map_coords (explainer, &n));
  g_assert_cmpint (n, ==, N_IMAGES);

  lam_session_load_dataset_async (session, other_dir, NULL, on_loaded, NULL);
  TestSetWait wait = { lam_session_get_evaluation (session), N_IMAGES / 4 };
  g_assert_true (lam_test_iterate_until (evaluated_on, &wait, 60000));
  LamEvaluationResult *second = lam_evaluation_get_result (wait.evaluation);
  g_assert_cmpint (second->epoch, ==, first->epoch);
  lam_explainer_set_result (explainer, second);
  g_assert_true (lam_explainer_get_map_coords (explainer, &n) == NULL || n == N_IMAGES / 4);
  lam_explainer_ensure_map (explainer);
  g_assert_true (lam_test_iterate_until (map_ready, explainer, 60000));
  g_assert_no_error (lam_explainer_get_map_error (explainer));
  g_assert_nonnull (lam_explainer_get_map_coords (explainer, &n));
  g_assert_cmpint (n, ==, N_IMAGES / 4);
  lam_explainer_set_result (explainer, NULL);
  lam_test_remove_tree (dir);
  lam_test_remove_tree (other_dir);
}

/* Weights of images kept while a table is open find no look-alikes among
 * its rows, and say so in those words: "These weights expect 1×28×28
 * images, but the training images of blobs.csv (train) are 1×1×2" spoke of
 * a table's rows as images. */
static void
test_index_of_another_shape (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (N_IMAGES / 4, 3);
  g_autofree char *csv_dir = g_dir_make_tmp ("lamina-blobs-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (csv_dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (csv, 200, 2, 3, 5);
  g_autoptr (LamSession) session = new_session (dir, "flatten,linear:3");
  g_action_group_activate_action (lam_session_get_actions (session), "start-pause", NULL);
  g_assert_true (lam_test_iterate_until (is_idle, session, 120000));
  g_autoptr (LamEvaluationResult) images = wait_result (session, 1);

  lam_session_load_dataset_async (session, csv, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (dataset_loaded, session, 60000));
  g_assert_true (lam_dataset_is_table (lam_session_get_train_set (session)));
  g_autoptr (LamExplainer) explainer = lam_explainer_new (session);
  lam_explainer_set_result (explainer, images);
  lam_explainer_ensure_index (explainer);
  g_assert_true (lam_test_iterate_until (index_ready, explainer, 60000));
  const GError *error = lam_explainer_get_index_error (explainer);
  g_assert_error (error, LAM_EXPLAINER_ERROR, LAM_EXPLAINER_ERROR_MISMATCH);
  g_test_message ("%s", error->message);
  g_assert_cmpstr (error->message, ==,
                   "These weights read images of 1×28×28, but the training set blobs.csv (train) "
                   "holds rows of 2 inputs: no look-alikes to show.");
  lam_explainer_set_result (explainer, NULL);
  lam_test_remove_tree (csv_dir);
  lam_test_remove_tree (dir);
}

/* The longest interval between ticks of a 5 ms timeout, in wall time
 * and in the main thread's own CPU time: work done on the main loop shows
 * in both, the thread waiting for a core of a loaded machine only in the
 * first. */
typedef struct
{
  gint64 last, last_cpu;
  gint64 max_gap, max_busy;
} Ticks;

static gint64
thread_cpu_us (void)
{
  struct timespec now;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &now);
  return (gint64) now.tv_sec * G_USEC_PER_SEC + now.tv_nsec / 1000;
}

static gboolean
tick (gpointer data)
{
  Ticks *ticks = data;
  gint64 now = g_get_monotonic_time (), cpu = thread_cpu_us ();
  if (ticks->last != 0) {
    ticks->max_gap = MAX (ticks->max_gap, now - ticks->last);
    ticks->max_busy = MAX (ticks->max_busy, cpu - ticks->last_cpu);
  }
  ticks->last = now;
  ticks->last_cpu = cpu;
  return G_SOURCE_CONTINUE;
}

/* Publishes freshly initialised weights of spec_text (features need no
 * training) and returns their evaluation. */
static LamEvaluationResult *
publish_untrained (LamSession *session, const char *spec_text)
{
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (spec_text, NULL);
  lam_session_set_spec (session, spec);
  const LamModelSpec *planned = lam_session_get_spec (session);
  LamBackend *backend = lam_backend_cpu_new ();
  g_autoptr (GError) error = NULL;
  LamModel *model = lam_model_new (planned, backend, 1, 3, &error);
  g_assert_no_error (error);
  gsize n_params = lam_model_get_n_params (model);
  g_autofree float *params = g_new (float, n_params);
  lam_model_get_params_host (model, params);
  lam_model_free (model);
  lam_backend_free (backend);
  float mean[3], std[3];
  lam_session_get_dataset_stats (session, mean, std);
  lam_session_set_weights (session, planned, params, n_params, mean, std, 1);
  return wait_result (session, 1);
}

/* Indexes the session's training images with result's weights while a
 * 5 ms timeout ticks; returns the build time in seconds. */
static double
index_while_ticking (LamExplainer *explainer, LamEvaluationResult *result, Ticks *ticks)
{
  *ticks = (Ticks){ 0 };
  guint source = g_timeout_add (5, tick, ticks);
  lam_test_settle (50);
  gint64 start = g_get_monotonic_time ();
  lam_explainer_set_result (explainer, result);
  lam_explainer_ensure_index (explainer);
  lam_explainer_ensure_map (explainer);
  g_assert_true (lam_test_iterate_until (index_ready, explainer, 600000));
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  g_assert_no_error (lam_explainer_get_index_error (explainer));
  g_assert_true (lam_test_iterate_until (map_ready, explainer, 600000));
  g_source_remove (source);
  return seconds;
}

/* The main loop keeps turning while a big training set is indexed: the
 * copy of the images and the answers are all that happens on it. */
static void
test_no_stall (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (20000, N_CLASSES);
  g_autoptr (LamSession) session = new_session (dir, "flatten,linear:128,relu,linear:10");
  g_autoptr (LamEvaluationResult) result =
    publish_untrained (session, "flatten,linear:128,relu,linear:10");
  g_autoptr (LamExplainer) explainer = lam_explainer_new (session);
  Ticks ticks;
  double seconds = index_while_ticking (explainer, result, &ticks);
  g_test_message ("%d training images indexed in %.2f s; longest main-loop gap %.1f ms, "
                  "%.1f ms of it working",
                  lam_session_get_train_set (session)->n, seconds, ticks.max_gap / 1e3,
                  ticks.max_busy / 1e3);
  g_assert_cmpint (ticks.max_busy, <, 200000);

  /* Another dataset opened: the index is built again on its images, when
   * next asked for. */
  g_autofree char *small = lam_test_write_bars_dataset (200, N_CLASSES);
  lam_session_load_dataset_async (session, small, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (dataset_loaded, session, 60000));
  lam_test_settle (100);
  g_assert_false (lam_explainer_get_index_ready (explainer));
  lam_explainer_ensure_index (explainer);
  g_assert_true (lam_test_iterate_until (index_ready, explainer, 60000));
  g_assert_true (lam_explainer_get_index_ready (explainer));
  g_autofree float *input = prepare (result, 0);
  guint32 indices[3];
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (lam_explainer_nearest (explainer, input, 3, indices, NULL, NULL, &error), ==,
                   3);
  g_assert_no_error (error);
  g_assert_cmpuint (indices[0], <, (guint32) lam_session_get_train_set (session)->n);

  /* Dropped while it builds: the worker is cancelled. */
  lam_explainer_set_result (explainer, NULL);
  g_clear_object (&explainer);
  lam_test_settle (200);
  lam_test_remove_tree (dir);
  lam_test_remove_tree (small);
}

/* Fashion-MNIST's 60,000 training images with the mlp and small-cnn
 * presets, where the dataset is installed and LAM_TEST_FASHION is set (it
 * takes a while, longer under sanitizers). */
static void
test_fashion_timing (void)
{
  const char *dir = "/usr/share/datasets/fashion-mnist";
  if (g_getenv ("LAM_TEST_FASHION") == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_test_skip ("set LAM_TEST_FASHION=1 with Fashion-MNIST installed to time its index");
    return;
  }
  const char *presets[] = { "mlp", "small-cnn" };
  for (guint p = 0; p < G_N_ELEMENTS (presets); p++) {
    g_autoptr (LamSession) session = lam_session_new ();
    lam_session_load_dataset_async (session, dir, NULL, on_loaded, NULL);
    g_assert_true (lam_test_iterate_until (dataset_loaded, session, 120000));
    g_autoptr (GError) error = NULL;
    g_autoptr (LamModelSpec) spec = lam_model_spec_preset (presets[p], &error);
    g_assert_no_error (error);
    g_autofree char *text = lam_model_spec_to_text (spec);
    g_autoptr (LamEvaluationResult) result = publish_untrained (session, text);
    g_autoptr (LamExplainer) explainer = lam_explainer_new (session);
    Ticks ticks;
    double seconds = index_while_ticking (explainer, result, &ticks);
    g_autofree float *input = prepare (result, 0);
    guint32 indices[8];
    gint64 start = g_get_monotonic_time ();
    g_assert_cmpint (lam_explainer_nearest (explainer, input, 8, indices, NULL, NULL, &error), ==,
                     8);
    double nearest_ms = (g_get_monotonic_time () - start) / 1e3;
    input[0] += 0.5f; /* another drawing: features again */
    start = g_get_monotonic_time ();
    g_assert_cmpint (lam_explainer_nearest (explainer, input, 8, indices, NULL, NULL, &error), ==,
                     8);
    double nearest2_ms = (g_get_monotonic_time () - start) / 1e3;
    float xy[2];
    start = g_get_monotonic_time ();
    g_assert_true (lam_explainer_project (explainer, input, xy, &error));
    double project_ms = (g_get_monotonic_time () - start) / 1e3;
    g_test_message ("%s: %d training images indexed in %.2f s, longest main-loop gap "
                    "%.1f ms (%.1f ms of it working); nearest %.2f ms (first, with the "
                    "model made), %.2f ms (next); project after nearest %.3f ms",
                    presets[p], lam_session_get_train_set (session)->n, seconds,
                    ticks.max_gap / 1e3, ticks.max_busy / 1e3, nearest_ms, nearest2_ms, project_ms);
    g_assert_cmpint (ticks.max_busy, <, 200000);
  }
}

int
main (int argc, char **argv)
{
  g_setenv ("GTK_A11Y", "none", TRUE);
  gtk_init ();
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/explainer/explain/saliency-burst-new-result", test_explain);
  g_test_add_func ("/explainer/explain/grad-cam", test_grad_cam);
  g_test_add_func ("/explainer/nearest-and-map/direct", test_nearest_and_map);
  g_test_add_func ("/explainer/unsupported", test_unsupported);
  g_test_add_func ("/explainer/no-parameters", test_no_parameters);
  g_test_add_func ("/explainer/map/another-dataset", test_map_of_another_dataset);
  g_test_add_func ("/explainer/index/weights-of-another-shape", test_index_of_another_shape);
  g_test_add_func ("/explainer/index/no-stall", test_no_stall);
  g_test_add_func ("/explainer/index/fashion-mnist-timing", test_fashion_timing);
  return g_test_run ();
}
