/* lam-explainer.h: the Evaluate page's "why", on the weights of one
 * evaluation result.
 *
 * Everything heavy runs on worker threads (GTask), each with a model of its
 * own built from the result's spec and parameters on a CPU backend, as the
 * evaluation's worker does; the main loop only copies inputs and applies
 * answers. Three answers:
 *
 *  - saliency or Grad-CAM of one image (lam_explainer_explain): at most one
 *    computation runs; a request made meanwhile waits, and a newer one
 *    replaces it, so a drawing pad that asks at every stroke gets the answer
 *    to its latest stroke without a queue piling up. The answer comes by
 *    "explained"; answers to requests overtaken by a newer one are dropped;
 *  - the nearest training images: an index of the training set's features
 *    at the layer before the last linear one, built once per result
 *    ("index-progress" 0..1, then "index-ready"), then queried on the main
 *    thread (lam_explainer_nearest);
 *  - the map: the test set's features of that layer on their two principal
 *    axes ("map-ready"), each frame turned to agree with the one before;
 *    lam_explainer_project places one more input (a drawing) on it.
 *
 * A new result (lam_explainer_set_result) cancels everything in flight for
 * the old one: nothing computed on the old weights is delivered after it.
 * Results of a regression model, or without test images, get no
 * explanation: every request answers LAM_EXPLAINER_ERROR_UNSUPPORTED.
 *
 * Threading: every function is for the main thread, and every signal is
 * emitted there.
 */
#pragma once

#include <gio/gio.h>

#include "lam-evaluation.h"
#include "lam-explain.h"
#include "lam-feature-map.h"
#include "lam-session.h"

G_BEGIN_DECLS

#define LAM_EXPLAINER_ERROR (lam_explainer_error_quark ())
GQuark lam_explainer_error_quark (void);

typedef enum
{
  LAM_EXPLAINER_ERROR_NO_RESULT,   /* no result set yet */
  LAM_EXPLAINER_ERROR_UNSUPPORTED, /* a regression model, or no test images */
  LAM_EXPLAINER_ERROR_NOT_READY,   /* the index or the map is still being built */
  LAM_EXPLAINER_ERROR_MISMATCH,    /* the training images do not fit the weights */
  LAM_EXPLAINER_ERROR_NO_MAP,      /* one test image, or a layer too narrow or wide to map */
} LamExplainerError;

#define LAM_TYPE_EXPLAINER (lam_explainer_get_type ())
G_DECLARE_FINAL_TYPE (LamExplainer, lam_explainer, LAM, EXPLAINER, GObject)

/* The session lends the training images the index is built from; the
 * explainer follows its "dataset-changed". */
LamExplainer *lam_explainer_new (LamSession *session);

/* The weights everything is computed on: result (a reference is taken; NULL
 * for none). Cancels what runs for the previous result, drops its index,
 * explanation and map (the map's axes are kept to orient the next frame),
 * and starts building the index and the map for this one. The same result
 * again does nothing. */
void lam_explainer_set_result (LamExplainer *self, LamEvaluationResult *result);
/* Borrowed; NULL when none. */
LamEvaluationResult *lam_explainer_get_result (LamExplainer *self);
/* Why the result gets no explanations, or NULL when it gets them (also
 * NULL without a result). */
const GError *lam_explainer_get_unsupported (LamExplainer *self);

/* ---- one image ---- */

/* Explains normalised_input (the model's input size, normalised as the
 * weights expect: lam_evaluation_result_prepare_image or
 * lam_evaluation_normalize make one) by method, for class klass or
 * LAM_EXPLAIN_CLASS_PREDICTED. The input is copied. *serial_out (may be
 * NULL) gets the request's serial, which "explained" carries. Errors (no
 * result, a regression model, Grad-CAM of a model without a convolution:
 * LAM_EXPLAIN_ERROR_NO_CONV) come through "explained" too, never at once,
 * so a caller has one path for answers. */
void lam_explainer_explain (LamExplainer *self, const float *normalised_input,
                            LamExplainMethod method, int klass, guint *serial_out);
/* The newest answer delivered, borrowed until the next "explained" or
 * result: its explanation (one image) or its error; one of them is NULL,
 * both before the first answer. */
const LamExplanation *lam_explainer_get_explanation (LamExplainer *self);
const GError *lam_explainer_get_explain_error (LamExplainer *self);
/* TRUE when image `image` of explanation has a map of zeros: Grad-CAM of
 * a CNN whose class layer follows its flatten finds no region that raises
 * the score, and the page says so instead of drawing an empty map. */
gboolean lam_explainer_map_is_blank (const LamExplanation *explanation, int image);
/* Computations started since the explainer was made: requests replaced
 * while they waited never start. For tests and diagnostics. */
guint lam_explainer_get_n_explain_runs (LamExplainer *self);

/* ---- nearest training images ---- */

/* The index's build: 0 to 1 (property "index-progress"), and whether it is
 * done (property "index-ready"; the signal "index-ready" follows it). An
 * index that failed to build leaves index-ready FALSE and its error in
 * get_index_error. */
double lam_explainer_get_index_progress (LamExplainer *self);
/* The index is built when first asked for (lam_explainer_nearest asks):
 * a pass over every training image is not made for a result nobody
 * searches. Starts the build unless it is done, failed or running. */
void lam_explainer_ensure_index (LamExplainer *self);
gboolean lam_explainer_get_index_ready (LamExplainer *self);
const GError *lam_explainer_get_index_error (LamExplainer *self);

/* The k training images nearest to normalised_input by the cosine of
 * their features, most similar first: their indices into the session's
 * training set, similarities and labels (each k long; similarities and
 * labels may be NULL). A table's rows are searched by the distance between
 * their features instead (LAM_FEATURE_DISTANCE), nearest first, and
 * similarities holds the distances. Runs on the caller's thread: one forward pass of one
 * image and a scan of the index (see the tests for timings). Returns how
 * many were found (MIN (k, training images)), or -1 with error: no result,
 * unsupported, or LAM_EXPLAINER_ERROR_NOT_READY while the index builds. */
int lam_explainer_nearest (LamExplainer *self, const float *normalised_input, int k,
                           guint32 *indices, float *similarities, gint32 *labels,
                           GError **error);

/* ---- the map ---- */

/* The map is made when the page showing it asks: starts it unless it is
 * ready, failed or running. */
void lam_explainer_ensure_map (LamExplainer *self);
/* TRUE once the current result's map is computed (signal "map-ready"). */
gboolean lam_explainer_get_map_ready (LamExplainer *self);
/* Why the map could not be made, or NULL. */
const GError *lam_explainer_get_map_error (LamExplainer *self);
/* The test images' places: n_images × 2 floats (x, y), borrowed until the
 * next result; NULL until the map is ready. The rows follow the result's
 * test images. */
const float *lam_explainer_get_map_coords (LamExplainer *self, int *n_images);
/* The current frame's axes (borrowed), NULL until ready. explained[] holds
 * each axis's share of the variance. */
const LamFeatureMapAxes *lam_explainer_get_map_axes (LamExplainer *self);
/* Places normalised_input on the map: one forward pass on the caller's
 * thread, then lam_feature_map_project. FALSE with error until the map is
 * ready. */
gboolean lam_explainer_project (LamExplainer *self, const float *normalised_input, float xy[2],
                                GError **error);

G_END_DECLS
