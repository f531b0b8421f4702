/* lam-evaluation.h: the test set run through a copy of the newest weights.
 *
 * Whenever the project publishes weights, a worker thread builds its own
 * model on its own CPU backend, runs every test image through it and hands
 * back a LamEvaluationResult; a result that a newer publication overtook is
 * dropped. The evaluation also remembers, for the current training run,
 * which class each image was given after every epoch, and classifies single
 * images on the caller's thread (a drawing, the selected test image).
 */
#pragma once

#include <gio/gio.h>

#include "lam-session.h"

G_BEGIN_DECLS

#define LAM_EVALUATION_ERROR (lam_evaluation_error_quark ())
GQuark lam_evaluation_error_quark (void);

typedef enum
{
  LAM_EVALUATION_ERROR_NO_TEST_SET, /* the dataset has no test part */
  LAM_EVALUATION_ERROR_MISMATCH,    /* the weights do not fit the test images */
} LamEvaluationError;

/* One evaluation of one set of weights on the test set. Immutable once
 * made; shared by reference. */
typedef struct
{
  const LamDataset *dataset; /* the test images evaluated: a private copy, kept alive by the result */
  LamModelSpec *spec;        /* owned: the weights' spec, input set */
  LamModelPlan *plan;        /* owned */
  float *params;             /* owned: n_params */
  gsize n_params;
  float mean[3];             /* the normalisation the weights expect */
  float std[3];
  int epoch;                 /* epochs done when the weights were published */
  guint run;                 /* lam_session_get_weights_run at that time */
  gboolean rewound;          /* the weights of an earlier epoch (lam_session_set_view_epoch) */

  int n_images;
  int n_outputs;             /* the model's outputs; at least dataset->n_classes */
  float *probabilities;      /* owned: n_images × n_outputs, each row sums to 1 */
  gint32 *predicted;         /* owned: n_images, the first highest output */
  float *confidence;         /* owned: n_images, probability of the predicted class */
  float *loss;               /* owned: n_images, by the spec's loss */
  LamConfusion *confusion;   /* owned: rows true class, columns predicted */
  double *class_accuracy;    /* owned: dataset->n_classes; NAN for a class without images */
  double accuracy;
  double mean_loss;
  guint n_wrong;
} LamEvaluationResult;

LamEvaluationResult *lam_evaluation_result_ref (LamEvaluationResult *result);
void lam_evaluation_result_unref (LamEvaluationResult *result);
/* Probabilities of one image: n_outputs floats. */
const float *lam_evaluation_result_get_probabilities (const LamEvaluationResult *result,
                                                      int index);
/* Fills out (the model's input size) with test image `index` normalised as
 * the weights expect. */
void lam_evaluation_result_prepare_image (const LamEvaluationResult *result, int index,
                                          float *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamEvaluationResult, lam_evaluation_result_unref)

/* How an image's prediction went over the epochs of the current run. */
typedef enum
{
  LAM_HISTORY_NONE,           /* no epoch recorded */
  LAM_HISTORY_ALWAYS_CORRECT,
  LAM_HISTORY_ALWAYS_WRONG,
  LAM_HISTORY_BECAME_CORRECT, /* wrong at every epoch before `since`, correct from it on */
  LAM_HISTORY_CORRECT_SINCE,  /* correct from `since` on, after going back and forth */
  LAM_HISTORY_BECAME_WRONG,   /* correct at `last_correct`, wrong from `since` on */
} LamHistoryKind;

#define LAM_TYPE_EVALUATION (lam_evaluation_get_type ())
G_DECLARE_FINAL_TYPE (LamEvaluation, lam_evaluation, LAM, EVALUATION, GObject)

/* Starts at once when the project has weights already. */
LamEvaluation *lam_evaluation_new (LamSession *session);
LamSession *lam_evaluation_get_session (LamEvaluation *self);

/* TRUE while a worker runs (property "busy"). */
gboolean lam_evaluation_get_busy (LamEvaluation *self);
/* The newest result, borrowed: valid until the next "updated" signal
 * (ref it to keep it). NULL before the first one. */
LamEvaluationResult *lam_evaluation_get_result (LamEvaluation *self);
/* Why the newest weights could not be evaluated (they do not fit the
 * dataset, the dataset has no test part); NULL when they could. */
const GError *lam_evaluation_get_error (LamEvaluation *self);

/* Epochs recorded for the current run, oldest first. */
guint lam_evaluation_get_n_history (LamEvaluation *self);
/* Images per history row (those of the newest result), 0 without history. */
int lam_evaluation_get_history_n_images (LamEvaluation *self);
/* A saved history: n_epochs rows of n_images classes (epochs ascending).
 * It becomes the history when the first result for weights `run` arrives
 * on as many images, and is dropped otherwise. */
void lam_evaluation_restore_history (LamEvaluation *self, guint run, int n_epochs, int n_images,
                                     const int *epochs, const gint32 *classes);
/* The epoch number of record k, and the class every image was given then
 * (borrowed, n_images). */
const gint32 *lam_evaluation_get_history (LamEvaluation *self, guint k, int *epoch);
/* Classifies image `index`'s history; since and last_correct may be NULL. */
LamHistoryKind lam_evaluation_get_image_history (LamEvaluation *self, int index, int *since,
                                                 int *last_correct);
/* The same as a sentence: "Became correct at epoch 3", "Wrong at every
 * epoch so far", "Was correct at epoch 2, wrong now"... NULL without
 * history. */
char *lam_evaluation_dup_history_text (LamEvaluation *self, int index);

/* Fills out (the model's input size) from pixels in [0, 1] of the same
 * shape, with the newest result's normalisation. */
void lam_evaluation_normalize (LamEvaluation *self, const float *pixels, float *out);
/* Runs one normalised image through the newest result's weights on the
 * caller's thread: probs gets n_outputs probabilities; layer_outputs, when
 * not NULL, holds plan->n_layers buffers that each get that layer's output
 * (numel of its out_shape). FALSE before any result. */
gboolean lam_evaluation_predict_one (LamEvaluation *self, const float *normalised_image,
                                     float *probs, float **layer_outputs);

/* While deferred, new weights wait and only the newest is evaluated when
 * deferral ends: the page defers while it is hidden and training runs, so
 * evaluating 10,000 images at every epoch's end does not take the processor
 * from the training and the curves the person is watching. */
void lam_evaluation_set_deferred (LamEvaluation *self, gboolean deferred);

G_END_DECLS
