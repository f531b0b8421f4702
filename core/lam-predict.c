/* lam-predict.c: one loop that runs a model over images without training,
 * for every view, the command line and the trainer's scores. */
#include "lam-predict.h"

#include <math.h>
#include <string.h>

#include "lam-loader.h"

G_DEFINE_QUARK (lam-predict-error-quark, lam_predict_error)

void
lam_prediction_free (LamPrediction *prediction)
{
  if (prediction == NULL)
    return;
  g_free (prediction->outputs);
  g_free (prediction->probabilities);
  g_free (prediction->predicted);
  g_free (prediction->confidence);
  g_free (prediction->losses);
  g_clear_pointer (&prediction->confusion, lam_confusion_free);
  for (int k = 0; k < prediction->n_layers; k++) {
    if (prediction->layer_outputs != NULL)
      g_free (prediction->layer_outputs[k]);
    if (prediction->layer_gradients != NULL)
      g_free (prediction->layer_gradients[k]);
  }
  g_free (prediction->layer_outputs);
  g_free (prediction->layer_gradients);
  g_free (prediction->layer_numel);
  g_free (prediction->layers);
  g_free (prediction->input_gradient);
  g_free (prediction->target_mse);
  g_free (prediction->target_mae);
  g_free (prediction->target_r2);
  g_free (prediction->values);
  g_free (prediction);
}

void
lam_outputs_to_probabilities (const LamModelSpec *spec, const float *outputs,
                              float *probabilities, int n)
{
  LamLayerKind last = spec->n_layers > 0 ? spec->layers[spec->n_layers - 1].kind : LAM_LAYER_LINEAR;
  if (last == LAM_LAYER_SOFTMAX) {
    memcpy (probabilities, outputs, sizeof (float) * n);
    return;
  }
  if (last == LAM_LAYER_LOG_SOFTMAX) {
    for (int j = 0; j < n; j++)
      probabilities[j] = expf (outputs[j]);
    return;
  }
  float max = outputs[0];
  for (int j = 1; j < n; j++)
    max = MAX (max, outputs[j]);
  double sum = 0;
  for (int j = 0; j < n; j++)
    sum += exp ((double) outputs[j] - max);
  for (int j = 0; j < n; j++)
    probabilities[j] = (float) (exp ((double) outputs[j] - max) / sum);
}

double
lam_loss_of_outputs (LamLossKind kind, const float *x, int n, int label)
{
  switch (kind) {
  case LAM_LOSS_NLL:
    return -(double) x[label];
  case LAM_LOSS_MSE: {
    double sum = 0;
    for (int j = 0; j < n; j++) {
      double d = x[j] - (j == label ? 1.0 : 0.0);
      sum += d * d;
    }
    return sum / n;
  }
  case LAM_LOSS_CROSS_ENTROPY:
  default: {
    double max = x[0];
    for (int j = 1; j < n; j++)
      max = MAX (max, x[j]);
    double sum = 0;
    for (int j = 0; j < n; j++)
      sum += exp (x[j] - max);
    return max + log (sum) - x[label];
  }
  }
}

double
lam_loss_of_outputs_targets (LamLossKind kind, const float *x, int n, const float *targets)
{
  double sum = 0;
  for (int j = 0; j < n; j++) {
    double d = (double) x[j] - targets[j];
    sum += kind == LAM_LOSS_L1 ? fabs (d) : d * d;
  }
  return sum / n;
}

int
lam_model_plan_penultimate_layer (const LamModelPlan *plan)
{
  g_return_val_if_fail (plan != NULL, -1);
  for (int i = plan->n_layers - 1; i >= 0; i--)
    if (plan->layers[i].spec.kind == LAM_LAYER_LINEAR)
      return i - 1;
  return -1;
}

/* One call's state: the device buffers it needs beside the model's, and
 * host buffers for a batch. */
typedef struct
{
  LamModel *model;
  LamBackend *backend;
  const LamPredictRequest *request;
  LamPrediction *prediction;
  LamLossKind loss_kind;
  int n_out;
  gsize input_numel;
  gboolean labelled;
  gboolean was_unfused;

  gint32 *labels_device;
  gint32 *predicted_device;

  /* A regression table: its targets (the dataset, borrowed) and sums per
   * target in the targets' units, u being the target less the table's
   * mean, which keeps SS_tot = Σu² - (Σu)²/n free of cancellation. */
  const LamDataset *dataset;
  gboolean regression;
  int n_targets;
  float *targets_device;
  double *sum_sq_error;
  double *sum_abs_error;
  double *sum_u;
  double *sum_u2;
  float *sums_device; /* loss sum, correct count */
  float *outputs_host; /* one batch, when the caller does not keep the outputs */
  gint32 *predicted_host;
  float *class_grad_host;
} Run;

static gboolean
wants (const Run *run, LamPredictFlags flags)
{
  return (run->request->what & flags) != 0;
}

/* Whether the call runs backward: for the input's gradient, the layers'
 * or both. */
static gboolean
wants_gradient (const Run *run)
{
  return wants (run, LAM_PREDICT_INPUT_GRADIENT | LAM_PREDICT_LAYER_GRADIENTS);
}

static void
run_clear (Run *run)
{
  LamBackend *be = run->backend;
  if (run->labels_device != NULL)
    be->free (be, run->labels_device);
  if (run->predicted_device != NULL)
    be->free (be, run->predicted_device);
  if (run->sums_device != NULL)
    be->free (be, run->sums_device);
  if (run->targets_device != NULL)
    be->free (be, run->targets_device);
  g_free (run->sum_sq_error);
  g_free (run->sum_abs_error);
  g_free (run->sum_u);
  g_free (run->sum_u2);
  g_free (run->outputs_host);
  g_free (run->predicted_host);
  g_free (run->class_grad_host);
  if (run->model != NULL)
    lam_model_set_unfused (run->model, run->was_unfused);
  if (run->prediction != NULL)
    lam_prediction_free (run->prediction);
}

static gpointer
try_host (gsize count, gsize size, const char *what, GError **error)
{
  gpointer memory = g_try_malloc0_n (MAX (count, 1), size);
  if (memory == NULL)
    g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MEMORY,
                 "could not allocate %.1f MB of memory for the %s",
                 (double) count * size / (1024.0 * 1024.0), what);
  return memory;
}

static gpointer
try_device (Run *run, gsize bytes, const char *what, GError **error)
{
  gpointer memory = run->backend->alloc (run->backend, MAX (bytes, 1));
  if (memory == NULL)
    g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MEMORY,
                 "the %s backend could not allocate %zu bytes for the %s",
                 run->backend->name, bytes, what);
  return memory;
}

static gboolean
run_init (Run *run, LamModel *model, int n_images, gboolean labelled, int dataset_classes,
          const LamDataset *dataset, const LamPredictRequest *request, GError **error)
{
  static const LamPredictRequest summary = LAM_PREDICT_REQUEST_INIT;
  memset (run, 0, sizeof *run);
  run->request = request != NULL ? request : &summary;
  run->dataset = dataset;
  run->regression = dataset != NULL && dataset->task == LAM_TASK_REGRESSION;
  run->n_targets = run->regression ? dataset->n_targets : 0;
  if (run->regression) {
    LamPredictFlags classes = LAM_PREDICT_PROBABILITIES | LAM_PREDICT_CLASSES |
                              LAM_PREDICT_CONFIDENCE | LAM_PREDICT_CONFUSION;
    if (wants (run, classes) ||
        (wants_gradient (run) && run->request->gradient_of != LAM_PREDICT_GRADIENT_OF_LOSS)) {
      g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH,
                   "%s holds numbers to predict (regression): it has no classes to give "
                   "probabilities, classes or a confusion matrix of", dataset->name);
      return FALSE;
    }
  } else if (wants (run, LAM_PREDICT_VALUES)) {
    g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH,
                 "predicted values are for regression tables, and these images or rows have "
                 "classes");
    return FALSE;
  }
  run->backend = lam_model_get_backend (model);
  run->loss_kind = lam_model_spec_get_loss (lam_model_get_spec (model));
  run->n_out = lam_model_get_n_classes (model);
  run->input_numel = lam_shape_numel (&lam_model_get_plan (model)->input);
  run->labelled = labelled;
  const LamModelPlan *plan = lam_model_get_plan (model);
  int max_batch = lam_model_get_max_batch (model);

  if (wants_gradient (run)) {
    int of = run->request->gradient_of;
    if (of == LAM_PREDICT_GRADIENT_OF_LOSS && !labelled) {
      g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH,
                   "the gradient of the loss needs labels, and these images have none");
      return FALSE;
    }
    if (of >= run->n_out || of < LAM_PREDICT_GRADIENT_OF_PREDICTED) {
      g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH,
                   "no class %d to take the gradient of: the model gives %d outputs", of,
                   run->n_out);
      return FALSE;
    }
  }
  if (wants (run, LAM_PREDICT_LAYERS | LAM_PREDICT_LAYER_GRADIENTS))
    for (int k = 0; k < run->request->n_layers; k++)
      if (run->request->layers[k] < -1 || run->request->layers[k] >= plan->n_layers) {
        g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH,
                     "no layer %d to show: the model has %d layers", run->request->layers[k],
                     plan->n_layers);
        return FALSE;
      }

  /* From here on run_clear undoes what was set up. */
  run->model = model;
  run->was_unfused = lam_model_get_unfused (model);
  LamPrediction *p = run->prediction = g_new0 (LamPrediction, 1);
  p->n_images = n_images;
  p->n_outputs = run->n_out;
  p->accuracy = NAN;
  p->mean_loss = NAN;
  p->mse = p->mae = p->r2 = NAN;
  gsize n = (gsize) n_images;

  gboolean need_classes =
    wants (run, LAM_PREDICT_CLASSES | LAM_PREDICT_CONFIDENCE | LAM_PREDICT_CONFUSION) ||
    (wants_gradient (run) && run->request->gradient_of == LAM_PREDICT_GRADIENT_OF_PREDICTED);
  gboolean need_outputs =
    wants (run, LAM_PREDICT_OUTPUTS | LAM_PREDICT_PROBABILITIES | LAM_PREDICT_CONFIDENCE |
                  LAM_PREDICT_VALUES) ||
    (wants (run, LAM_PREDICT_LOSSES) && labelled) || run->regression;

  if (labelled &&
      ((run->labels_device = try_device (run, sizeof (gint32) * max_batch, "labels", error)) ==
         NULL ||
       (run->sums_device = try_device (run, sizeof (float) * 2, "scores", error)) == NULL))
    return FALSE;
  if (run->regression) {
    int t = run->n_targets;
    if ((run->targets_device =
           try_device (run, sizeof (float) * max_batch * t, "targets", error)) == NULL)
      return FALSE;
    run->sum_sq_error = g_new0 (double, t);
    run->sum_abs_error = g_new0 (double, t);
    run->sum_u = g_new0 (double, t);
    run->sum_u2 = g_new0 (double, t);
    p->n_targets = t;
    p->target_mse = g_new0 (double, t);
    p->target_mae = g_new0 (double, t);
    p->target_r2 = g_new0 (double, t);
    if (wants (run, LAM_PREDICT_VALUES) &&
        (p->values = try_host (n * t, sizeof (float), "predicted values", error)) == NULL)
      return FALSE;
  }
  if (need_classes &&
      ((run->predicted_device =
          try_device (run, sizeof (gint32) * max_batch, "predicted classes", error)) == NULL ||
       (run->predicted_host = try_host (max_batch, sizeof (gint32), "predicted classes",
                                        error)) == NULL))
    return FALSE;
  if (need_outputs &&
      (run->outputs_host = try_host ((gsize) max_batch * run->n_out, sizeof (float), "outputs",
                                     error)) == NULL)
    return FALSE;

  if (wants (run, LAM_PREDICT_OUTPUTS) &&
      (p->outputs = try_host (n * run->n_out, sizeof (float), "outputs", error)) == NULL)
    return FALSE;
  if (wants (run, LAM_PREDICT_PROBABILITIES) &&
      (p->probabilities = try_host (n * run->n_out, sizeof (float), "probabilities", error)) ==
        NULL)
    return FALSE;
  if (wants (run, LAM_PREDICT_CLASSES) &&
      (p->predicted = try_host (n, sizeof (gint32), "predicted classes", error)) == NULL)
    return FALSE;
  if (wants (run, LAM_PREDICT_CONFIDENCE) &&
      (p->confidence = try_host (n, sizeof (float), "confidences", error)) == NULL)
    return FALSE;
  if (wants (run, LAM_PREDICT_LOSSES) && labelled &&
      (p->losses = try_host (n, sizeof (float), "losses", error)) == NULL)
    return FALSE;
  if (wants (run, LAM_PREDICT_CONFUSION) && labelled) {
    int classes = run->request->confusion_classes > 0 ? run->request->confusion_classes
                                                      : MAX (run->n_out, dataset_classes);
    p->confusion = lam_confusion_new (classes);
  }
  if (wants (run, LAM_PREDICT_LAYERS | LAM_PREDICT_LAYER_GRADIENTS) &&
      run->request->n_layers > 0) {
    p->n_layers = run->request->n_layers;
    p->layers = g_memdup2 (run->request->layers, sizeof (int) * p->n_layers);
    p->layer_numel = g_new0 (gsize, p->n_layers);
    if (wants (run, LAM_PREDICT_LAYERS))
      p->layer_outputs = g_new0 (float *, p->n_layers);
    if (wants (run, LAM_PREDICT_LAYER_GRADIENTS))
      p->layer_gradients = g_new0 (float *, p->n_layers);
    for (int k = 0; k < p->n_layers; k++) {
      int layer = p->layers[k];
      p->layer_numel[k] = layer < 0 ? run->input_numel
                                    : lam_shape_numel (&plan->layers[layer].out_shape);
      if (p->layer_outputs != NULL &&
          (p->layer_outputs[k] = try_host (n * p->layer_numel[k], sizeof (float),
                                           "layer outputs", error)) == NULL)
        return FALSE;
      if (p->layer_gradients != NULL &&
          (p->layer_gradients[k] = try_host (n * p->layer_numel[k], sizeof (float),
                                             "layer gradients", error)) == NULL)
        return FALSE;
    }
    /* Fused steps write neither the outputs nor the gradients of the
     * layers inside them. */
    lam_model_set_unfused (model, TRUE);
  }
  if (wants (run, LAM_PREDICT_INPUT_GRADIENT) &&
      (p->input_gradient = try_host (n * run->input_numel, sizeof (float), "input gradients",
                                     error)) == NULL)
    return FALSE;
  if (wants_gradient (run)) {
    if (run->request->gradient_of != LAM_PREDICT_GRADIENT_OF_LOSS &&
        (run->class_grad_host = try_host ((gsize) max_batch * run->n_out, sizeof (float),
                                          "output gradients", error)) == NULL)
      return FALSE;
  }
  if (labelled)
    run->backend->fill (run->backend, run->sums_device, 2, 0);
  return TRUE;
}

/* A regression batch's figures in the targets' units: each output
 * un-standardised as an exported script does it (in float), against the
 * dataset's own targets of the rows in indices. */
static void
add_regression (Run *run, const guint32 *indices, int start, int batch)
{
  const LamDataset *ds = run->dataset;
  LamPrediction *p = run->prediction;
  int t = run->n_targets;
  for (int i = 0; i < batch; i++) {
    const float *out = run->outputs_host + (gsize) i * run->n_out;
    const float *y = ds->targets + (gsize) indices[i] * t;
    for (int j = 0; j < t; j++) {
      float mean = ds->target_mean != NULL ? ds->target_mean[j] : 0.0f;
      float std = ds->target_std != NULL ? ds->target_std[j] : 1.0f;
      float value = out[j] * std + mean;
      if (p->values != NULL)
        p->values[(gsize) (start + i) * t + j] = value;
      double e = (double) value - y[j];
      double u = (double) y[j] - mean;
      run->sum_sq_error[j] += e * e;
      run->sum_abs_error[j] += fabs (e);
      run->sum_u[j] += u;
      run->sum_u2[j] += u * u;
    }
  }
}

/* Runs one batch of `batch` prepared images, the first of which is image
 * `start` of the call; for a regression table, with their standardised
 * targets and their rows in the dataset. */
static void
run_batch (Run *run, const float *images, const gint32 *labels, const float *targets,
           const guint32 *indices, int start, int batch)
{
  LamModel *model = run->model;
  LamBackend *be = run->backend;
  LamPrediction *p = run->prediction;
  int n_out = run->n_out;
  gboolean gradient = wants_gradient (run);

  /* The loader may have written the images into the input already. */
  if (images != lam_model_get_input (model))
    be->upload (be, lam_model_get_input (model), images, sizeof (float) * run->input_numel * batch);
  lam_model_forward (model, batch, FALSE, 0);

  if (run->regression) {
    be->upload (be, run->targets_device, targets, sizeof (float) * run->n_targets * batch);
    lam_model_loss_targets_scaled (model, run->loss_kind, run->targets_device, batch,
                                   gradient ? 1.0f : 1.0f / (float) batch, &run->sums_device[0]);
  } else if (run->labelled) {
    be->upload (be, run->labels_device, labels, sizeof (gint32) * batch);
    /* The loss's output gradient is the per-image one (scale 1) when the
     * input gradient is the loss's; the sum is the same either way. */
    if (gradient && run->request->gradient_of == LAM_PREDICT_GRADIENT_OF_LOSS)
      lam_model_loss_scaled (model, run->loss_kind, run->labels_device, batch, 1.0f,
                             &run->sums_device[0]);
    else
      lam_model_loss (model, run->loss_kind, run->labels_device, batch, &run->sums_device[0]);
    be->count_correct (be, lam_model_get_output (model), run->labels_device, batch, n_out,
                       &run->sums_device[1]);
  }

  if (run->predicted_host != NULL) {
    be->argmax_rows (be, lam_model_get_output (model), batch, n_out, run->predicted_device);
    be->download (be, run->predicted_host, run->predicted_device, sizeof (gint32) * batch);
    if (p->predicted != NULL)
      memcpy (p->predicted + start, run->predicted_host, sizeof (gint32) * batch);
    if (p->confusion != NULL)
      for (int i = 0; i < batch; i++)
        if (labels[i] < p->confusion->n_classes && run->predicted_host[i] < p->confusion->n_classes)
          lam_confusion_add (p->confusion, labels[i], run->predicted_host[i]);
  }

  if (run->outputs_host != NULL) {
    be->download (be, run->outputs_host, lam_model_get_output (model),
                  sizeof (float) * n_out * batch);
    if (p->outputs != NULL)
      memcpy (p->outputs + (gsize) start * n_out, run->outputs_host,
              sizeof (float) * n_out * batch);
    g_autofree float *probs_one = NULL;
    if (p->probabilities == NULL && p->confidence != NULL)
      probs_one = g_new (float, n_out);
    for (int i = 0; i < batch; i++) {
      const float *x = run->outputs_host + (gsize) i * n_out;
      float *probs = p->probabilities != NULL ? p->probabilities + (gsize) (start + i) * n_out
                                              : probs_one;
      if (probs != NULL)
        lam_outputs_to_probabilities (lam_model_get_spec (model), x, probs, n_out);
      if (p->confidence != NULL)
        p->confidence[start + i] = probs[run->predicted_host[i]];
      if (p->losses != NULL)
        p->losses[start + i] =
          run->regression
            ? (float) lam_loss_of_outputs_targets (run->loss_kind, x, n_out,
                                                   targets + (gsize) i * run->n_targets)
            : (float) lam_loss_of_outputs (run->loss_kind, x, n_out, labels[i]);
    }
    if (run->regression)
      add_regression (run, indices, start, batch);
  }

  for (int k = 0; p->layer_outputs != NULL && k < p->n_layers; k++) {
    int layer = p->layers[k];
    be->download (be, p->layer_outputs[k] + (gsize) start * p->layer_numel[k],
                  lam_model_get_layer_output (model, layer),
                  sizeof (float) * p->layer_numel[k] * batch);
  }

  if (gradient) {
    if (run->class_grad_host != NULL) {
      memset (run->class_grad_host, 0, sizeof (float) * n_out * batch);
      for (int i = 0; i < batch; i++) {
        int klass = run->request->gradient_of >= 0 ? run->request->gradient_of
                                                   : run->predicted_host[i];
        run->class_grad_host[(gsize) i * n_out + klass] = 1.0f;
      }
      be->upload (be, lam_model_get_output_grad (model), run->class_grad_host,
                  sizeof (float) * n_out * batch);
    }
    /* To the input even for the layers' gradients alone: a layer below the
     * lowest one with parameters gets its gradient only then. */
    lam_model_backward_to_input (model, batch);
    if (p->input_gradient != NULL)
      be->download (be, p->input_gradient + (gsize) start * run->input_numel,
                    lam_model_get_input_grad (model), sizeof (float) * run->input_numel * batch);
    for (int k = 0; p->layer_gradients != NULL && k < p->n_layers; k++)
      be->download (be, p->layer_gradients[k] + (gsize) start * p->layer_numel[k],
                    lam_model_get_layer_output_grad (model, p->layers[k]),
                    sizeof (float) * p->layer_numel[k] * batch);
  }
}

static LamPrediction *
run_finish (Run *run)
{
  LamPrediction *p = run->prediction;
  if (run->labelled && p->n_images > 0) {
    float sums[2];
    run->backend->download (run->backend, sums, run->sums_device, sizeof sums);
    p->mean_loss = (double) sums[0] / p->n_images;
    p->n_correct = (gsize) sums[1];
    p->accuracy = run->regression ? NAN : (double) sums[1] / p->n_images;
  }
  if (run->regression && p->n_images > 0) {
    double n = p->n_images;
    p->mse = p->mae = p->r2 = 0;
    for (int j = 0; j < run->n_targets; j++) {
      double ss_tot = run->sum_u2[j] - run->sum_u[j] * run->sum_u[j] / n;
      double ss_res = run->sum_sq_error[j];
      p->target_mse[j] = ss_res / n;
      p->target_mae[j] = run->sum_abs_error[j] / n;
      p->target_r2[j] = ss_tot > 0 ? 1 - ss_res / ss_tot : ss_res == 0 ? 1 : 0;
      p->mse += p->target_mse[j] / run->n_targets;
      p->mae += p->target_mae[j] / run->n_targets;
      p->r2 += p->target_r2[j] / run->n_targets;
    }
  }
  run->prediction = NULL;
  run_clear (run);
  return p;
}

static gboolean
check_input (LamModel *model, gsize image_numel, const char *what, GError **error)
{
  const LamShape *input = &lam_model_get_plan (model)->input;
  if (lam_shape_numel (input) == image_numel)
    return TRUE;
  g_autofree char *shape = lam_shape_to_string (input);
  g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH,
               "the model expects %s inputs (%zu values), but %s have %zu values each", shape,
               lam_shape_numel (input), what, image_numel);
  return FALSE;
}

LamPrediction *
lam_model_predict (LamModel *model, const LamDataset *dataset, const guint32 *indices,
                   gsize n_indices, const float *mean, const float *std,
                   const LamPredictRequest *request, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (model != NULL && dataset != NULL, NULL);
  g_return_val_if_fail ((mean != NULL && std != NULL) || dataset->features != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autofree char *what = g_strdup_printf ("the images of %s", dataset->name);
  if (!check_input (model, lam_dataset_image_size (dataset), what, error))
    return NULL;
  int n_out = lam_model_get_n_classes (model);
  LamLossKind loss = lam_model_spec_get_loss (lam_model_get_spec (model));
  if (dataset->task == LAM_TASK_REGRESSION) {
    if (n_out != dataset->n_targets) {
      g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH,
                   "the model gives %d outputs, but %s has %d targets", n_out, dataset->name,
                   dataset->n_targets);
      return NULL;
    }
    if (!lam_loss_kind_is_regression (loss)) {
      g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH,
                   "the model's loss %s compares outputs with classes, but %s holds numbers to "
                   "predict: use mse or l1", lam_loss_kind_to_string (loss), dataset->name);
      return NULL;
    }
  } else if (dataset->n_classes > n_out) {
    g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH,
                 "the model gives %d outputs, but %s has %d classes", n_out, dataset->name,
                 dataset->n_classes);
    return NULL;
  } else if (loss == LAM_LOSS_L1) {
    g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH,
                 "the model's loss l1 compares outputs with numbers, but %s holds classes",
                 dataset->name);
    return NULL;
  }
  /* Refused here, where the loader would refuse them only with a
   * critical warning and leave every prediction 0. */
  for (int c = 0; dataset->features == NULL && c < MIN (dataset->channels, 3); c++)
    if (!lam_normalization_is_valid (mean[c], std[c])) {
      g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_NORMALIZATION,
                   "the normalisation of channel %d is mean %g, std %g; expected finite numbers "
                   "and a std above 0 (at least %g, so that 1/std is finite)",
                   c + 1, mean[c], std[c], LAM_NORMALIZATION_MIN_STD);
      return NULL;
    }
  gsize n = indices != NULL ? n_indices : (gsize) dataset->n;
  if (n > G_MAXINT) {
    g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MEMORY,
                 "%zu images are more than one call predicts", n);
    return NULL;
  }

  Run run;
  if (!run_init (&run, model, (int) n, TRUE, dataset->n_classes, dataset, request, error)) {
    run_clear (&run);
    return NULL;
  }

  LamLoaderConfig config = lam_loader_config_default ();
  config.batch_size = lam_model_get_max_batch (model);
  if (mean != NULL && std != NULL) {
    memcpy (config.mean, mean, sizeof config.mean);
    memcpy (config.std, std, sizeof config.std);
  }
  lam_loader_config_set_backend (&config, run.backend);
  g_autoptr (LamLoader) loader = lam_loader_new (dataset, indices, n, &config);
  if (loader == NULL) {
    g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH,
                 "the images of %s cannot be loaded as the model's inputs", dataset->name);
    run_clear (&run);
    return NULL;
  }
  lam_loader_start_epoch (loader, 0);
  /* On the CPU the loader writes each batch into the model's input. */
  float *input_in_memory = lam_model_get_input_in_memory (model);
  const LamBatch *batch;
  int start = 0;
  while ((batch = lam_loader_next_into (loader, input_in_memory)) != NULL) {
    if (g_cancellable_set_error_if_cancelled (cancellable, error)) {
      /* The loader's thread finishes the batch it prepares before it goes. */
      run_clear (&run);
      return NULL;
    }
    run_batch (&run, batch->images, batch->labels, batch->targets, batch->indices, start,
               batch->size);
    start += batch->size;
  }
  return run_finish (&run);
}

LamPrediction *
lam_model_predict_inputs (LamModel *model, const float *inputs, int n, const gint32 *labels,
                          const LamPredictRequest *request, GError **error)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (n >= 0 && (inputs != NULL || n == 0), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  int n_out = lam_model_get_n_classes (model);
  for (int i = 0; labels != NULL && i < n; i++)
    if (labels[i] < 0 || labels[i] >= n_out) {
      g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH,
                   "image %d has label %d, but the model gives %d outputs", i, labels[i], n_out);
      return NULL;
    }

  if (labels != NULL && lam_model_spec_get_loss (lam_model_get_spec (model)) == LAM_LOSS_L1) {
    g_set_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH,
                 "the model's loss l1 compares outputs with numbers, not with labels");
    return NULL;
  }
  Run run;
  if (!run_init (&run, model, n, labels != NULL, 0, NULL, request, error)) {
    run_clear (&run);
    return NULL;
  }
  int max_batch = lam_model_get_max_batch (model);
  for (int start = 0; start < n; start += max_batch) {
    int batch = MIN (max_batch, n - start);
    run_batch (&run, inputs + (gsize) start * run.input_numel,
               labels != NULL ? labels + start : NULL, NULL, NULL, start, batch);
  }
  return run_finish (&run);
}
