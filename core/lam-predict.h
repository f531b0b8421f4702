/* lam-predict.h: running a model without training it.
 *
 * One call runs a model over images (a dataset, or prepared inputs such as
 * a drawing) in batches on the model's backend and returns what the caller
 * asked for: the outputs, probabilities, predicted classes, per-image
 * losses, a confusion matrix, the outputs of chosen layers and the gradient
 * with respect to the input. The trainer's validation and test scores, the
 * Evaluate page, the drawing pad, `lamina eval`, `lamina export` and
 * `lamina bench` all go through it, so they agree with each other.
 */
#pragma once

#include <gio/gio.h>

#include "lam-dataset.h"
#include "lam-metrics.h"
#include "lam-model.h"

G_BEGIN_DECLS

#define LAM_PREDICT_ERROR (lam_predict_error_quark ())
GQuark lam_predict_error_quark (void);

typedef enum
{
  LAM_PREDICT_ERROR_MISMATCH,      /* the images or labels do not fit the model */
  LAM_PREDICT_ERROR_MEMORY,        /* a buffer could not be allocated */
  LAM_PREDICT_ERROR_NORMALIZATION, /* mean and std that lam_normalization_is_valid refuses */
} LamPredictError;

/* What to keep per image. The summary (accuracy and mean loss, for
 * labelled images) is always computed, on the device, as the trainer
 * computes its training metrics. A regression table (LAM_TASK_REGRESSION)
 * has no classes: it is asked for outputs, values, losses, layers or the
 * input gradient of the loss; probabilities, classes, confidence, a
 * confusion matrix and the gradient of a class score are refused. */
typedef enum
{
  LAM_PREDICT_OUTPUTS = 1 << 0,       /* the last layer's output, n_outputs floats */
  LAM_PREDICT_PROBABILITIES = 1 << 1, /* n_outputs floats summing to 1 */
  LAM_PREDICT_CLASSES = 1 << 2,       /* predicted class (first maximum of the output) */
  LAM_PREDICT_CONFIDENCE = 1 << 3,    /* probability of the predicted class */
  LAM_PREDICT_LOSSES = 1 << 4,        /* each image's loss, in double on the host */
  LAM_PREDICT_CONFUSION = 1 << 5,     /* rows true class, columns predicted */
  LAM_PREDICT_LAYERS = 1 << 6,        /* the outputs of request->layers */
  LAM_PREDICT_INPUT_GRADIENT = 1 << 7, /* d(request->gradient_of)/d(input) per image */
  LAM_PREDICT_VALUES = 1 << 8,         /* regression: the predictions in the targets' units */
  LAM_PREDICT_LAYER_GRADIENTS = 1 << 9 /* d(request->gradient_of)/d(output of request->layers) */
} LamPredictFlags;

/* Values of LamPredictRequest.gradient_of besides a class index. */
#define LAM_PREDICT_GRADIENT_OF_LOSS (-1)      /* the image's loss against its label */
#define LAM_PREDICT_GRADIENT_OF_PREDICTED (-2) /* the score of the image's predicted class */

typedef struct
{
  LamPredictFlags what;
  /* With LAM_PREDICT_LAYERS: the layers whose outputs to keep, -1 being the
   * input; with LAM_PREDICT_LAYER_GRADIENTS, those whose output gradients
   * to keep (the same list serves both). Asking for a layer makes the model
   * run unfused for the call, so every layer's true output and gradient
   * show (see lam_model_set_unfused). */
  const int *layers;
  int n_layers;
  /* With LAM_PREDICT_INPUT_GRADIENT or LAM_PREDICT_LAYER_GRADIENTS: a class
   * index (the gradient of its score: the logit, or whatever the last layer
   * outputs), or one of the LAM_PREDICT_GRADIENT_OF_ values. */
  int gradient_of;
  /* Columns and rows of the confusion matrix; 0 takes the larger of the
   * model's outputs and the dataset's classes. Images whose label or
   * prediction falls outside are left out of it. */
  int confusion_classes;
} LamPredictRequest;

/* A request for the summary only. */
#define LAM_PREDICT_REQUEST_INIT { 0, NULL, 0, LAM_PREDICT_GRADIENT_OF_LOSS, 0 }

typedef struct
{
  int n_images;
  int n_outputs;
  /* Labelled images only (else 0 and NaN). The loss is the model's loss
   * (lam_model_spec_get_loss) summed on the device batch by batch, as the
   * trainer sums it, divided by n_images. */
  gsize n_correct;
  double accuracy;
  double mean_loss;
  /* Each NULL unless asked for; row i belongs to the i-th image. */
  float *outputs;       /* (n_images, n_outputs) */
  float *probabilities; /* (n_images, n_outputs) */
  gint32 *predicted;    /* (n_images) */
  float *confidence;    /* (n_images) */
  float *losses;        /* (n_images); labelled images only */
  LamConfusion *confusion;
  /* n_layers entries: the layer index, its floats per image, and its
   * outputs (n_images, layer_numel[k]) with LAM_PREDICT_LAYERS, its output
   * gradients laid out the same with LAM_PREDICT_LAYER_GRADIENTS (each
   * array NULL when not asked for). */
  int n_layers;
  int *layers;
  gsize *layer_numel;
  float **layer_outputs;
  float **layer_gradients;
  float *input_gradient; /* (n_images, input numel) */

  /* A regression table (else 0, NaN and NULL): the loss above is on the
   * standardised targets, as training computes it; these are in the
   * targets' own units, the model's outputs being un-standardised
   * (output × target_std + target_mean) first. mse and mae are the means
   * over every row and target (PyTorch's MSELoss and L1Loss on the raw
   * values); r2 is the mean over the targets of each one's coefficient of
   * determination 1 - SS_res / SS_tot about the evaluated rows' own mean
   * (scikit-learn's r2_score; a constant target's is 1 when predicted
   * exactly, else 0). */
  int n_targets;
  double mse, mae, r2;
  double *target_mse; /* (n_targets) each */
  double *target_mae;
  double *target_r2;
  float *values;      /* LAM_PREDICT_VALUES: (n_images, n_targets) */
} LamPrediction;

void lam_prediction_free (LamPrediction *prediction);

/* Runs model over the dataset images listed in indices (all of them, in
 * order, when NULL), normalised with mean and std (per channel) as the
 * loader does (a table's rows are standardised by its own statistics, and
 * mean and std are not read: they may be NULL). Checks between batches
 * whether cancellable was cancelled. NULL with LAM_PREDICT_ERROR_MISMATCH
 * when the images do not have the model's input size,
 * LAM_PREDICT_ERROR_NORMALIZATION when a channel's mean and std cannot
 * normalise them, G_IO_ERROR_CANCELLED when cancelled. */
LamPrediction *lam_model_predict (LamModel *model, const LamDataset *dataset,
                                  const guint32 *indices, gsize n_indices, const float *mean,
                                  const float *std, const LamPredictRequest *request,
                                  GCancellable *cancellable, GError **error);

/* The same over n prepared images (n × the model's input numel floats,
 * already normalised), with their labels or NULL. Without labels there is
 * no summary, no loss and no confusion, and a gradient of the loss is
 * refused. */
LamPrediction *lam_model_predict_inputs (LamModel *model, const float *inputs, int n,
                                         const gint32 *labels, const LamPredictRequest *request,
                                         GError **error);

/* A model's outputs as probabilities: as they are after softmax, their
 * exponentials after log_softmax, else their softmax (in double). */
void lam_outputs_to_probabilities (const LamModelSpec *spec, const float *outputs,
                                   float *probabilities, int n);

/* One image's loss as the backends define it (lam-backend.h), in double. */
double lam_loss_of_outputs (LamLossKind kind, const float *outputs, int n, int label);
/* One row's regression loss (mse or l1) against n real targets, in double. */
double lam_loss_of_outputs_targets (LamLossKind kind, const float *outputs, int n,
                                    const float *targets);

/* The layer whose outputs are the model's features for its last layer: the
 * input of the last linear layer (the layer before it), or -1 (the input)
 * when there is none. */
int lam_model_plan_penultimate_layer (const LamModelPlan *plan);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamPrediction, lam_prediction_free)

G_END_DECLS
