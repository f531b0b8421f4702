/* Tests for lam-predict: one call gives what the loops it replaced gave,
 * bit for bit on the CPU; layer outputs are the true ones even where
 * training fuses layers; input gradients match finite differences; bad
 * requests are refused with a clear error. */
#include <math.h>
#include <string.h>

#include "lam-device.h"
#include "lam-loader.h"
#include "lam-predict.h"

#define N_IMAGES 203 /* not a multiple of the batch: the last batch is short */
#define BATCH 64

static const float MEAN[3] = { 0.3f, 0.3f, 0.3f }, STD[3] = { 0.25f, 0.25f, 0.25f };

/* n grey 12×12 images of 3 classes: a bright bar whose position depends on
 * the class, with noise, so a random model gives varied outputs. */
static LamDataset *
make_dataset (int n, int n_classes, guint32 seed)
{
  LamDataset *dataset = g_new0 (LamDataset, 1);
  dataset->name = g_strdup ("bars");
  dataset->n = n;
  dataset->channels = 1;
  dataset->height = 12;
  dataset->width = 12;
  dataset->n_classes = n_classes;
  dataset->images = g_new0 (guint8, (gsize) n * 144);
  dataset->labels = g_new0 (guint8, MAX (n, 1));
  dataset->class_names = g_new0 (char *, n_classes + 1);
  for (int c = 0; c < n_classes; c++)
    dataset->class_names[c] = g_strdup_printf ("class %d", c);
  GRand *rng = g_rand_new_with_seed (seed);
  for (int i = 0; i < n; i++) {
    int label = g_rand_int_range (rng, 0, n_classes);
    dataset->labels[i] = (guint8) label;
    guint8 *image = dataset->images + (gsize) i * 144;
    for (int p = 0; p < 144; p++)
      image[p] = (guint8) g_rand_int_range (rng, 0, 60);
    for (int y = 0; y < 12; y++)
      image[y * 12 + 2 + 3 * label] = 250;
  }
  g_rand_free (rng);
  return dataset;
}

static LamModel *
make_model (const char *text, LamBackend *backend, int max_batch)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (text, &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = lam_shape_chw (1, 12, 12);
  LamModel *model = lam_model_new (spec, backend, max_batch, 7, &error);
  g_assert_no_error (error);
  return model;
}

static const char *MLP = "flatten,linear:32,relu,linear:16,tanh,linear:10";
static const char *CNN = "conv2d:4:3:p1,relu,maxpool2d:2,conv2d:6:3:p1,relu,maxpool2d:2,flatten,"
                         "linear:10,logsoftmax";

/* What the trainer's evaluation and the Evaluate page computed before
 * there was one call: batches through the loader, the loss and the count
 * of correct answers summed on the device, argmax on the device, and
 * probabilities, confidences and per-image losses on the host. */
typedef struct
{
  double accuracy, mean_loss;
  float *outputs, *probabilities, *confidence, *losses;
  gint32 *predicted;
  LamConfusion *confusion;
} Reference;

static void
reference_probabilities (const LamModelSpec *spec, const float *x, float *probs, int n)
{
  LamLayerKind last = spec->layers[spec->n_layers - 1].kind;
  if (last == LAM_LAYER_LOG_SOFTMAX) {
    for (int j = 0; j < n; j++)
      probs[j] = expf (x[j]);
    return;
  }
  float max = x[0];
  for (int j = 1; j < n; j++)
    max = MAX (max, x[j]);
  double sum = 0;
  for (int j = 0; j < n; j++)
    sum += exp ((double) x[j] - max);
  for (int j = 0; j < n; j++)
    probs[j] = (float) (exp ((double) x[j] - max) / sum);
}

static double
reference_loss (LamLossKind kind, const float *x, int n, int label)
{
  if (kind == LAM_LOSS_NLL)
    return -(double) x[label];
  g_assert_cmpint (kind, ==, LAM_LOSS_CROSS_ENTROPY);
  double max = x[0];
  for (int j = 1; j < n; j++)
    max = MAX (max, x[j]);
  double sum = 0;
  for (int j = 0; j < n; j++)
    sum += exp (x[j] - max);
  return max + log (sum) - x[label];
}

static void
reference_run (LamModel *model, const LamDataset *dataset, Reference *ref)
{
  LamBackend *be = lam_model_get_backend (model);
  int n_out = lam_model_get_n_classes (model);
  int max_batch = lam_model_get_max_batch (model);
  gsize numel = lam_dataset_image_size (dataset);
  LamLossKind kind = lam_model_spec_get_loss (lam_model_get_spec (model));
  LamLoaderConfig config = lam_loader_config_default ();
  config.batch_size = max_batch;
  memcpy (config.mean, MEAN, sizeof config.mean);
  memcpy (config.std, STD, sizeof config.std);
  g_autoptr (LamLoader) loader = lam_loader_new (dataset, NULL, dataset->n, &config);
  gint32 *labels_device = be->alloc (be, sizeof (gint32) * max_batch);
  gint32 *predicted_device = be->alloc (be, sizeof (gint32) * max_batch);
  float *sums = be->alloc (be, sizeof (float) * 2);
  be->fill (be, sums, 2, 0);
  ref->outputs = g_new (float, (gsize) dataset->n * n_out);
  ref->probabilities = g_new (float, (gsize) dataset->n * n_out);
  ref->confidence = g_new (float, dataset->n);
  ref->losses = g_new (float, dataset->n);
  ref->predicted = g_new (gint32, dataset->n);
  ref->confusion = lam_confusion_new (n_out);

  lam_loader_start_epoch (loader, 0);
  const LamBatch *batch;
  int start = 0;
  while ((batch = lam_loader_next (loader)) != NULL) {
    be->upload (be, lam_model_get_input (model), batch->images,
                sizeof (float) * numel * batch->size);
    be->upload (be, labels_device, batch->labels, sizeof (gint32) * batch->size);
    lam_model_forward (model, batch->size, FALSE, 0);
    lam_model_loss (model, kind, labels_device, batch->size, &sums[0]);
    be->count_correct (be, lam_model_get_output (model), labels_device, batch->size, n_out,
                       &sums[1]);
    be->argmax_rows (be, lam_model_get_output (model), batch->size, n_out, predicted_device);
    be->download (be, ref->predicted + start, predicted_device, sizeof (gint32) * batch->size);
    be->download (be, ref->outputs + (gsize) start * n_out, lam_model_get_output (model),
                  sizeof (float) * n_out * batch->size);
    for (int i = 0; i < batch->size; i++) {
      int index = start + i;
      const float *x = ref->outputs + (gsize) index * n_out;
      float *probs = ref->probabilities + (gsize) index * n_out;
      reference_probabilities (lam_model_get_spec (model), x, probs, n_out);
      ref->confidence[index] = probs[ref->predicted[index]];
      ref->losses[index] = (float) reference_loss (kind, x, n_out, batch->labels[i]);
      lam_confusion_add (ref->confusion, batch->labels[i], ref->predicted[index]);
    }
    start += batch->size;
  }
  float host[2];
  be->download (be, host, sums, sizeof host);
  ref->mean_loss = (double) host[0] / dataset->n;
  ref->accuracy = (double) host[1] / dataset->n;
  be->free (be, labels_device);
  be->free (be, predicted_device);
  be->free (be, sums);
}

static void
reference_clear (Reference *ref)
{
  g_free (ref->outputs);
  g_free (ref->probabilities);
  g_free (ref->confidence);
  g_free (ref->losses);
  g_free (ref->predicted);
  lam_confusion_free (ref->confusion);
}

static void
check_same_as_reference (const char *text)
{
  LamBackend *backend = lam_backend_cpu_new ();
  LamModel *model = make_model (text, backend, BATCH);
  g_autoptr (LamDataset) dataset = make_dataset (N_IMAGES, 3, 11);
  int n_out = lam_model_get_n_classes (model);

  Reference ref;
  reference_run (model, dataset, &ref);

  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_OUTPUTS | LAM_PREDICT_PROBABILITIES | LAM_PREDICT_CLASSES |
                 LAM_PREDICT_CONFIDENCE | LAM_PREDICT_LOSSES | LAM_PREDICT_CONFUSION;
  g_autoptr (GError) error = NULL;
  g_autoptr (LamPrediction) p =
    lam_model_predict (model, dataset, NULL, 0, MEAN, STD, &request, NULL, &error);
  g_assert_no_error (error);

  g_assert_cmpint (p->n_images, ==, N_IMAGES);
  g_assert_cmpint (p->n_outputs, ==, n_out);
  g_assert_cmpfloat (p->accuracy, ==, ref.accuracy);
  g_assert_cmpfloat (p->mean_loss, ==, ref.mean_loss);
  g_assert_true (isfinite (p->mean_loss) && p->mean_loss > 0);
  gsize rows = (gsize) N_IMAGES * n_out;
  g_assert_cmpmem (p->outputs, rows * sizeof (float), ref.outputs, rows * sizeof (float));
  g_assert_cmpmem (p->probabilities, rows * sizeof (float), ref.probabilities,
                   rows * sizeof (float));
  g_assert_cmpmem (p->predicted, N_IMAGES * sizeof (gint32), ref.predicted,
                   N_IMAGES * sizeof (gint32));
  g_assert_cmpmem (p->confidence, N_IMAGES * sizeof (float), ref.confidence,
                   N_IMAGES * sizeof (float));
  g_assert_cmpmem (p->losses, N_IMAGES * sizeof (float), ref.losses, N_IMAGES * sizeof (float));
  g_assert_cmpint (p->confusion->n_classes, ==, n_out);
  g_assert_cmpmem (p->confusion->counts, sizeof (guint64) * n_out * n_out, ref.confusion->counts,
                   sizeof (guint64) * n_out * n_out);
  gsize correct = 0;
  for (int i = 0; i < N_IMAGES; i++)
    correct += p->predicted[i] == dataset->labels[i];
  g_assert_cmpuint (p->n_correct, ==, correct);
  /* Several classes are predicted: the comparison is not of constants. */
  int seen[10] = { 0 }, distinct = 0;
  for (int i = 0; i < N_IMAGES; i++)
    if (!seen[p->predicted[i]]++)
      distinct++;
  g_assert_cmpint (distinct, >=, 2);

  reference_clear (&ref);
  lam_model_free (model);
  lam_backend_free (backend);
}

static void
test_same_as_loops_mlp (void)
{
  check_same_as_reference (MLP);
}

static void
test_same_as_loops_cnn (void)
{
  check_same_as_reference (CNN);
}

/* A subset of a dataset and the same images prepared by hand give the
 * same predictions, and a summary-only request computes no arrays. */
static void
test_subset_and_inputs (void)
{
  LamBackend *backend = lam_backend_cpu_new ();
  LamModel *model = make_model (CNN, backend, BATCH);
  g_autoptr (LamDataset) dataset = make_dataset (N_IMAGES, 3, 12);
  guint32 indices[] = { 200, 3, 3, 150, 0, 77, 101 };
  int n = G_N_ELEMENTS (indices);

  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_OUTPUTS | LAM_PREDICT_CLASSES;
  g_autoptr (GError) error = NULL;
  g_autoptr (LamPrediction) subset =
    lam_model_predict (model, dataset, indices, n, MEAN, STD, &request, NULL, &error);
  g_assert_no_error (error);

  LamLoaderConfig config = lam_loader_config_default ();
  memcpy (config.mean, MEAN, sizeof config.mean);
  memcpy (config.std, STD, sizeof config.std);
  g_autofree float *inputs = g_new (float, (gsize) n * 144);
  gint32 labels[G_N_ELEMENTS (indices)];
  for (int i = 0; i < n; i++) {
    lam_loader_prepare_image (dataset, indices[i], &config, FALSE, NULL, inputs + i * 144);
    labels[i] = dataset->labels[indices[i]];
  }
  g_autoptr (LamPrediction) prepared =
    lam_model_predict_inputs (model, inputs, n, labels, &request, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (subset->outputs, sizeof (float) * n * 10, prepared->outputs,
                   sizeof (float) * n * 10);
  g_assert_cmpmem (subset->predicted, sizeof (gint32) * n, prepared->predicted,
                   sizeof (gint32) * n);
  g_assert_cmpfloat (subset->mean_loss, ==, prepared->mean_loss);
  /* The repeated image predicts as itself. */
  g_assert_cmpmem (subset->outputs + 10, sizeof (float) * 10, subset->outputs + 20,
                   sizeof (float) * 10);

  g_autoptr (LamPrediction) unlabelled =
    lam_model_predict_inputs (model, inputs, n, NULL, &request, &error);
  g_assert_no_error (error);
  g_assert_true (isnan (unlabelled->accuracy) && isnan (unlabelled->mean_loss));
  g_assert_cmpmem (unlabelled->outputs, sizeof (float) * n * 10, prepared->outputs,
                   sizeof (float) * n * 10);

  g_autoptr (LamPrediction) summary =
    lam_model_predict (model, dataset, NULL, 0, MEAN, STD, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (summary->outputs);
  g_assert_null (summary->probabilities);
  g_assert_null (summary->predicted);
  g_assert_null (summary->losses);
  g_assert_null (summary->confusion);
  g_assert_true (summary->accuracy >= 0 && summary->accuracy <= 1);

  lam_model_free (model);
  lam_backend_free (backend);
}

/* Training fuses a convolution, its ReLU and the max pool after it into
 * one op that never writes the ReLU's output. Asking for layers gives
 * every layer's true output: the ReLU's is relu(the convolution's), not
 * all zero, and the pool's is the max over its windows. */
static void
test_layer_outputs_are_true (void)
{
  LamBackend *backend = lam_backend_cpu_new ();
  LamModel *model = make_model (CNN, backend, BATCH);
  g_autoptr (LamDataset) dataset = make_dataset (N_IMAGES, 3, 13);
  const LamModelPlan *plan = lam_model_get_plan (model);
  g_assert_false (lam_model_get_unfused (model));
  g_autofree char *fused = lam_model_describe_steps (model);
  g_assert_cmpstr (fused, ==, "conv2d+relu+maxpool2d, conv2d+relu+maxpool2d, linear, log_softmax");
  lam_model_set_unfused (model, TRUE);
  g_autofree char *unfused = lam_model_describe_steps (model);
  g_assert_cmpstr (unfused, ==, "conv2d, relu, maxpool2d, conv2d, relu, maxpool2d, linear, "
                                "log_softmax");
  lam_model_set_unfused (model, FALSE);

  /* A fused forward first, so stale buffers would show if they were read. */
  g_autoptr (GError) error = NULL;
  g_autoptr (LamPrediction) plain =
    lam_model_predict (model, dataset, NULL, 0, MEAN, STD, NULL, NULL, &error);
  g_assert_no_error (error);

  int layers[] = { -1, 0, 1, 2, 3, 4, 5, 8 };
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_LAYERS | LAM_PREDICT_OUTPUTS;
  request.layers = layers;
  request.n_layers = G_N_ELEMENTS (layers);
  g_autoptr (LamPrediction) p =
    lam_model_predict (model, dataset, NULL, 0, MEAN, STD, &request, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (lam_model_get_unfused (model)); /* restored */
  g_assert_cmpint (p->n_layers, ==, G_N_ELEMENTS (layers));

  for (int pair = 0; pair < 2; pair++) {
    int conv = 1 + 3 * pair, relu = 2 + 3 * pair; /* indices into layers[] */
    gsize numel = p->layer_numel[conv];
    g_assert_cmpuint (numel, ==, p->layer_numel[relu]);
    g_assert_cmpuint (numel, ==, lam_shape_numel (&plan->layers[layers[conv]].out_shape));
    gsize positive = 0;
    for (gsize i = 0; i < numel * N_IMAGES; i++) {
      float c = p->layer_outputs[conv][i], r = p->layer_outputs[relu][i];
      g_assert_cmpfloat (r, ==, c > 0 ? c : 0.0f);
      positive += r > 0;
    }
    /* Not all zero, not all positive. */
    g_assert_cmpuint (positive, >, numel * N_IMAGES / 20);
    g_assert_cmpuint (positive, <, numel * N_IMAGES);
  }
  /* The first pool: 2×2 maxima of the first ReLU's 4×12×12 maps. */
  const float *relu = p->layer_outputs[2], *pool = p->layer_outputs[3];
  for (int b = 0; b < N_IMAGES; b += 17)
    for (int c = 0; c < 4; c++)
      for (int y = 0; y < 6; y++)
        for (int x = 0; x < 6; x++) {
          const float *in = relu + ((gsize) b * 4 + c) * 144;
          float max = MAX (MAX (in[2 * y * 12 + 2 * x], in[2 * y * 12 + 2 * x + 1]),
                           MAX (in[(2 * y + 1) * 12 + 2 * x], in[(2 * y + 1) * 12 + 2 * x + 1]));
          g_assert_cmpfloat (pool[((gsize) b * 4 + c) * 36 + y * 6 + x], ==, max);
        }
  /* The input is the normalised image; the last layer is the output; and
   * unfused outputs equal fused ones. */
  LamLoaderConfig config = lam_loader_config_default ();
  memcpy (config.mean, MEAN, sizeof config.mean);
  memcpy (config.std, STD, sizeof config.std);
  float image[144];
  lam_loader_prepare_image (dataset, 5, &config, FALSE, NULL, image);
  g_assert_cmpmem (p->layer_outputs[0] + 5 * 144, sizeof image, image, sizeof image);
  g_assert_cmpmem (p->layer_outputs[7], sizeof (float) * 10 * N_IMAGES, p->outputs,
                   sizeof (float) * 10 * N_IMAGES);
  g_assert_cmpfloat (p->accuracy, ==, plain->accuracy);
  g_assert_cmpfloat (p->mean_loss, ==, plain->mean_loss);

  lam_model_free (model);
  lam_backend_free (backend);
}

/* d(loss of image i)/d(pixel) and d(score)/d(pixel) against central
 * differences of the outputs, in double on the host. */
static void
check_input_gradient (const char *text, int gradient_of)
{
  LamBackend *backend = lam_backend_cpu_new ();
  LamModel *model = make_model (text, backend, 8);
  g_autoptr (LamDataset) dataset = make_dataset (5, 3, 14);
  LamLossKind kind = lam_model_spec_get_loss (lam_model_get_spec (model));
  LamLoaderConfig config = lam_loader_config_default ();
  memcpy (config.mean, MEAN, sizeof config.mean);
  memcpy (config.std, STD, sizeof config.std);
  float inputs[5 * 144];
  gint32 labels[5];
  for (int i = 0; i < 5; i++) {
    lam_loader_prepare_image (dataset, i, &config, FALSE, NULL, inputs + i * 144);
    labels[i] = dataset->labels[i];
  }

  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_INPUT_GRADIENT | LAM_PREDICT_CLASSES;
  request.gradient_of = gradient_of;
  g_autoptr (GError) error = NULL;
  g_autoptr (LamPrediction) p = lam_model_predict_inputs (model, inputs, 5, labels, &request,
                                                          &error);
  g_assert_no_error (error);

  LamPredictRequest outputs_only = LAM_PREDICT_REQUEST_INIT;
  outputs_only.what = LAM_PREDICT_OUTPUTS;
  double max_grad = 0;
  int checked = 0, off = 0;
  for (int i = 0; i < 5; i++) {
    int klass = gradient_of >= 0 ? gradient_of : p->predicted[i];
    for (int pixel = 0; pixel < 144; pixel += 7) {
      double f[2];
      float h = 1e-3f;
      for (int s = 0; s < 2; s++) {
        float one[144];
        memcpy (one, inputs + i * 144, sizeof one);
        one[pixel] += s ? h : -h;
        g_autoptr (LamPrediction) q =
          lam_model_predict_inputs (model, one, 1, NULL, &outputs_only, &error);
        g_assert_no_error (error);
        f[s] = gradient_of == LAM_PREDICT_GRADIENT_OF_LOSS
                 ? lam_loss_of_outputs (kind, q->outputs, 10, labels[i])
                 : q->outputs[klass];
      }
      double numeric = (f[1] - f[0]) / (2.0 * h);
      double analytic = p->input_gradient[i * 144 + pixel];
      max_grad = MAX (max_grad, fabs (analytic));
      /* A step that crosses a ReLU's or a max pool's kink sees another
       * slope: a few such pixels are allowed, and counted. */
      if (fabs (analytic - numeric) > 1e-3 + 1e-2 * fabs (numeric)) {
        g_test_message ("image %d pixel %d: analytic %.6g, numeric %.6g", i, pixel, analytic,
                        numeric);
        off++;
      }
      checked++;
    }
  }
  g_test_message ("%s, gradient of %d: %d pixels checked, %d off, largest |gradient| %.4g",
                  text, gradient_of, checked, off, max_grad);
  g_assert_cmpfloat (max_grad, >, 1e-3);
  g_assert_cmpint (off, <=, checked / 50);

  lam_model_free (model);
  lam_backend_free (backend);
}

static void
test_input_gradient_mlp (void)
{
  check_input_gradient (MLP, LAM_PREDICT_GRADIENT_OF_LOSS);
  check_input_gradient (MLP, LAM_PREDICT_GRADIENT_OF_PREDICTED);
  check_input_gradient (MLP, 4);
}

static void
test_input_gradient_cnn (void)
{
  check_input_gradient (CNN, LAM_PREDICT_GRADIENT_OF_LOSS);
  check_input_gradient (CNN, LAM_PREDICT_GRADIENT_OF_PREDICTED);
  check_input_gradient (CNN, 2);
}

/* A model made with given weights holds exactly them, and predicts as one
 * made at random and then given them; weights of another count are
 * refused, naming both counts. */
static void
test_model_with_params (void)
{
  LamBackend *backend = lam_backend_cpu_new ();
  LamModel *drawn = make_model (MLP, backend, BATCH);
  gsize n = lam_model_get_n_params (drawn);
  g_autofree float *params = g_new (float, n);
  g_autoptr (GRand) rand = g_rand_new_with_seed (11);
  for (gsize i = 0; i < n; i++)
    params[i] = (float) g_rand_double_range (rand, -0.3, 0.3);
  lam_model_set_params_host (drawn, params);

  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (MLP, &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = lam_shape_chw (1, 12, 12);
  LamModel *given = lam_model_new_with_params (spec, backend, BATCH, params, n, &error);
  g_assert_no_error (error);
  g_autofree float *held = g_new (float, n);
  lam_model_get_params_host (given, held);
  g_assert_cmpmem (held, n * sizeof (float), params, n * sizeof (float));

  g_autoptr (LamDataset) data = make_dataset (5, 3, 1);
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_PROBABILITIES;
  g_autoptr (LamPrediction) a =
    lam_model_predict (drawn, data, NULL, 0, MEAN, STD, &request, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (LamPrediction) b =
    lam_model_predict (given, data, NULL, 0, MEAN, STD, &request, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (a->probabilities, sizeof (float) * a->n_images * a->n_outputs, b->probabilities,
                   sizeof (float) * b->n_images * b->n_outputs);

  g_assert_null (lam_model_new_with_params (spec, backend, BATCH, params, n - 1, &error));
  g_assert_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE);
  g_autofree char *counts = g_strdup_printf ("hold %zu numbers but the model needs %zu", n - 1, n);
  g_assert_nonnull (strstr (error->message, counts));

  lam_model_free (given);
  lam_model_free (drawn);
  lam_backend_free (backend);
}

static void
test_refusals (void)
{
  LamBackend *backend = lam_backend_cpu_new ();
  LamModel *model = make_model (MLP, backend, BATCH);
  g_autoptr (GError) error = NULL;

  /* Images of another size. */
  g_autoptr (LamDataset) big = make_dataset (4, 3, 1);
  big->height = 6;
  big->width = 20;
  g_assert_null (lam_model_predict (model, big, NULL, 0, MEAN, STD, NULL, NULL, &error));
  g_assert_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "1×12×12"));
  g_assert_nonnull (strstr (error->message, "120"));
  g_clear_error (&error);

  /* More classes than outputs. */
  g_autoptr (LamDataset) many = make_dataset (4, 3, 1);
  many->n_classes = 11;
  g_assert_null (lam_model_predict (model, many, NULL, 0, MEAN, STD, NULL, NULL, &error));
  g_assert_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "11 classes"));
  g_clear_error (&error);

  float inputs[2 * 144] = { 0 };
  gint32 bad_labels[2] = { 1, 10 };
  g_assert_null (lam_model_predict_inputs (model, inputs, 2, bad_labels, NULL, &error));
  g_assert_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "label 10"));
  g_clear_error (&error);

  /* A loss gradient without labels, a class or layer that is not there. */
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_INPUT_GRADIENT;
  request.gradient_of = LAM_PREDICT_GRADIENT_OF_LOSS;
  g_assert_null (lam_model_predict_inputs (model, inputs, 2, NULL, &request, &error));
  g_assert_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH);
  g_clear_error (&error);
  request.gradient_of = 10;
  g_assert_null (lam_model_predict_inputs (model, inputs, 2, NULL, &request, &error));
  g_assert_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH);
  g_clear_error (&error);
  int layers[] = { 0, 6 };
  request.what = LAM_PREDICT_LAYERS;
  request.layers = layers;
  request.n_layers = 2;
  g_assert_null (lam_model_predict_inputs (model, inputs, 2, NULL, &request, &error));
  g_assert_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "layer 6"));
  g_clear_error (&error);

  /* Cancelled before the first batch. */
  g_autoptr (LamDataset) dataset = make_dataset (N_IMAGES, 3, 2);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_cancellable_cancel (cancellable);
  g_assert_null (lam_model_predict (model, dataset, NULL, 0, MEAN, STD, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  lam_model_free (model);
  lam_backend_free (backend);
}

/* A normalisation the loader cannot use is refused with an error that
 * names the channel, where the loader's critical warning used to be all,
 * with every prediction 0. */
static void
test_bad_normalisation (void)
{
  LamBackend *backend = lam_backend_cpu_new ();
  LamModel *model = make_model (MLP, backend, BATCH);
  g_autoptr (LamDataset) dataset = make_dataset (4, 3, 1);
  const struct
  {
    float mean, std;
    const char *fragment;
  } cases[] = {
    { 0.3f, 0, "mean 0.3, std 0;" }, { 0.3f, -1, "std -1;" },
    { 0.3f, INFINITY, "std inf;" },  { 0.3f, 1e-45f, "std 1.4013e-45;" },
    { NAN, 0.25f, "mean nan," },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    float mean[3] = { cases[i].mean, 0, 0 }, std[3] = { cases[i].std, 1, 1 };
    g_autoptr (GError) error = NULL;
    g_assert_null (lam_model_predict (model, dataset, NULL, 0, mean, std, NULL, NULL, &error));
    g_assert_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_NORMALIZATION);
    g_assert_nonnull (strstr (error->message, "channel 1"));
    g_assert_nonnull (strstr (error->message, cases[i].fragment));
  }
  lam_model_free (model);
  lam_backend_free (backend);
}

static void
test_penultimate (void)
{
  LamBackend *backend = lam_backend_cpu_new ();
  LamModel *mlp = make_model (MLP, backend, 1);
  LamModel *cnn = make_model (CNN, backend, 1);
  LamModel *bare = make_model ("flatten,relu", backend, 1);
  /* The input of the last linear layer: the tanh (4) and the flatten (6). */
  g_assert_cmpint (lam_model_plan_penultimate_layer (lam_model_get_plan (mlp)), ==, 4);
  g_assert_cmpint (lam_model_plan_penultimate_layer (lam_model_get_plan (cnn)), ==, 6);
  g_assert_cmpint (lam_model_plan_penultimate_layer (lam_model_get_plan (bare)), ==, -1);
  lam_model_free (mlp);
  lam_model_free (cnn);
  lam_model_free (bare);
  lam_backend_free (backend);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/predict/same-as-loops/mlp", test_same_as_loops_mlp);
  g_test_add_func ("/predict/same-as-loops/cnn", test_same_as_loops_cnn);
  g_test_add_func ("/predict/subset-and-inputs", test_subset_and_inputs);
  g_test_add_func ("/predict/layer-outputs-are-true", test_layer_outputs_are_true);
  g_test_add_func ("/predict/input-gradient/mlp", test_input_gradient_mlp);
  g_test_add_func ("/predict/input-gradient/cnn", test_input_gradient_cnn);
  g_test_add_func ("/predict/refusals", test_refusals);
  g_test_add_func ("/predict/bad-normalisation", test_bad_normalisation);
  g_test_add_func ("/predict/model-with-params", test_model_with_params);
  g_test_add_func ("/predict/penultimate", test_penultimate);
  return g_test_run ();
}
