/* Tests for lam-explain: saliency maps against central differences of the
 * class score, Grad-CAM's channel weights against differences of the score
 * w.r.t. the layer's activations (the layers after it run on their own),
 * its map against a plain computation, the nearest-image search against a
 * brute force in double; then what the explanations say about a model
 * trained on rendered digits: saliency on the strokes, Grad-CAM on the
 * digit, and nearest training images of the same digit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "digits-dataset.h"
#include "lam-device.h"
#include "lam-explain.h"
#include "lam-loader.h"
#include "lam-optim.h"
#include "lam-predict.h"
#include "lam-test-util.h"

static LamModel *
make_model (const char *text, LamBackend *backend, LamShape input, int max_batch, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (text, &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = input;
  LamModel *model = lam_model_new (spec, backend, max_batch, seed, &error);
  g_assert_no_error (error);
  return model;
}

static float *
random_inputs (gsize n, guint32 seed)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  float *inputs = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    inputs[i] = (float) g_rand_double_range (rng, -1.5, 1.5);
  return inputs;
}

static float *
outputs_of (LamModel *model, const float *inputs, int n)
{
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_OUTPUTS;
  g_autoptr (GError) error = NULL;
  g_autoptr (LamPrediction) p = lam_model_predict_inputs (model, inputs, n, NULL, &request, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&p->outputs);
}

/* The map of each image against |central difference| of the score (times
 * the input for gradient × input), max over channels, divided by its max:
 * in double from the model's float outputs. */
static void
check_saliency (const char *text, LamShape shape, LamExplainMethod method, int klass)
{
  LamBackend *backend = lam_backend_cpu_new ();
  LamModel *model = make_model (text, backend, shape, 256, 5);
  int n_out = lam_model_get_n_classes (model);
  int channels = shape.dims[0], hw = shape.dims[1] * shape.dims[2];
  gsize numel = lam_shape_numel (&shape);
  const int n = 3;
  g_autofree float *inputs = random_inputs (n * numel, 21);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamExplanation) x =
    lam_explain_inputs (model, inputs, n, method, klass, LAM_EXPLAIN_LAYER_AUTO, &error);
  g_assert_no_error (error);
  g_assert_cmpint (x->n_images, ==, n);
  g_assert_cmpint (x->height, ==, shape.dims[1]);
  g_assert_cmpint (x->width, ==, shape.dims[2]);
  g_autofree float *outputs = outputs_of (model, inputs, n);

  const float h = 2e-3f;
  g_autofree float *perturbed = g_new (float, 2 * numel * numel);
  int off = 0, checked = 0;
  for (int i = 0; i < n; i++) {
    const float *image = inputs + i * numel;
    const float *out = outputs + (gsize) i * n_out;
    int argmax = 0;
    for (int j = 1; j < n_out; j++)
      if (out[j] > out[argmax])
        argmax = j;
    g_assert_cmpint (x->predicted[i], ==, argmax);
    int k = klass >= 0 ? klass : argmax;
    g_assert_cmpint (x->classes[i], ==, k);
    g_assert_cmpfloat (x->scores[i], ==, out[k]);

    for (gsize p = 0; p < numel; p++)
      for (int s = 0; s < 2; s++) {
        float *copy = perturbed + (2 * p + s) * numel;
        memcpy (copy, image, sizeof (float) * numel);
        copy[p] += s ? h : -h;
      }
    g_autofree float *shifted = outputs_of (model, perturbed, 2 * (int) numel);
    g_autofree double *reference = g_new0 (double, hw);
    double max = 0;
    for (int q = 0; q < hw; q++) {
      for (int c = 0; c < channels; c++) {
        gsize p = (gsize) c * hw + q;
        double d = ((double) shifted[(2 * p + 1) * n_out + k] - shifted[2 * p * n_out + k]) /
                   (2.0 * h);
        if (method == LAM_EXPLAIN_GRADIENT_X_INPUT)
          d *= image[p];
        reference[q] = MAX (reference[q], fabs (d));
      }
      max = MAX (max, reference[q]);
    }
    g_assert_cmpfloat (max, >, 1e-4);
    const float *map = x->maps + (gsize) i * hw;
    float map_max = 0;
    for (int q = 0; q < hw; q++) {
      g_assert_true (map[q] >= 0 && map[q] <= 1);
      map_max = MAX (map_max, map[q]);
      /* A step across a ReLU's or a max pool's kink sees another slope:
       * a few such pixels are allowed, and counted. */
      if (fabs (map[q] - reference[q] / max) > 0.01) {
        g_test_message ("%s image %d pixel %d: map %.5f, differences %.5f", text, i, q, map[q],
                        reference[q] / max);
        off++;
      }
      checked++;
    }
    g_assert_cmpfloat (map_max, ==, 1.0f);
  }
  g_test_message ("%s, %s of class %d: %d pixels checked, %d off", text,
                  lam_explain_method_to_string (method), klass, checked, off);
  g_assert_cmpint (off, <=, checked / 50);

  lam_model_free (model);
  lam_backend_free (backend);
}

/* A table's row explained column by column: the bars showed only size,
 * so a column that pushed the score down looked like one that pushed it
 * up. The signed values against central differences of the score of a
 * tiny linear model (exact for it), for both saliency methods; an image
 * keeps no signed values. */
static void
test_saliency_signed_row (void)
{
  LamBackend *backend = lam_backend_cpu_new ();
  LamShape row = { .rank = 1, .dims = { 3 } };
  LamModel *model = make_model ("linear:2", backend, row, 64, 7);
  const float inputs[] = { 0.5f, -1.25f, 2.0f };
  const float h = 1e-2f;
  float perturbed[6 * 3];
  for (int p = 0; p < 3; p++)
    for (int s = 0; s < 2; s++) {
      memcpy (perturbed + (2 * p + s) * 3, inputs, sizeof inputs);
      perturbed[(2 * p + s) * 3 + p] += s ? h : -h;
    }
  g_autofree float *shifted = outputs_of (model, perturbed, 6);
  int negative = 0, positive = 0;
  for (int klass = 0; klass < 2; klass++)
    for (int m = 0; m < 2; m++) {
      LamExplainMethod method = m ? LAM_EXPLAIN_GRADIENT_X_INPUT : LAM_EXPLAIN_GRADIENT;
      g_autoptr (GError) error = NULL;
      g_autoptr (LamExplanation) x =
        lam_explain_inputs (model, inputs, 1, method, klass, LAM_EXPLAIN_LAYER_AUTO, &error);
      g_assert_no_error (error);
      g_assert_nonnull (x->signed_values);
      float largest = 0;
      for (int p = 0; p < 3; p++)
        largest = MAX (largest, fabsf (x->signed_values[p]));
      for (int p = 0; p < 3; p++) {
        double d =
          ((double) shifted[(2 * p + 1) * 2 + klass] - shifted[2 * p * 2 + klass]) / (2.0 * h);
        if (m)
          d *= inputs[p];
        g_test_message ("class %d %s column %d: %.5f, differences %.5f", klass,
                        lam_explain_method_to_string (method), p, x->signed_values[p], d);
        g_assert_cmpfloat_with_epsilon (x->signed_values[p], d, 1e-3 + 1e-3 * fabs (d));
        /* The map is the same values' size, scaled to the largest. */
        g_assert_cmpfloat_with_epsilon (x->maps[p], fabsf (x->signed_values[p]) / largest, 1e-5);
        negative += x->signed_values[p] < 0;
        positive += x->signed_values[p] > 0;
      }
    }
  /* Both directions were checked. */
  g_assert_cmpint (negative, >, 0);
  g_assert_cmpint (positive, >, 0);

  LamShape image = { .rank = 3, .dims = { 1, 4, 4 } };
  LamModel *cnn = make_model ("flatten,linear:2", backend, image, 64, 7);
  g_autofree float *pixels = random_inputs (16, 3);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamExplanation) x =
    lam_explain_inputs (cnn, pixels, 1, LAM_EXPLAIN_GRADIENT, 0, LAM_EXPLAIN_LAYER_AUTO, &error);
  g_assert_no_error (error);
  g_assert_null (x->signed_values);
  lam_model_free (cnn);
  lam_model_free (model);
  lam_backend_free (backend);
}

static const char *MLP = "flatten,linear:24,relu,linear:16,tanh,linear:6";
static const char *CNN = "conv2d:4:3:p1,relu,maxpool2d:2,conv2d:5:3:p1,relu,flatten,linear:6";

static void
test_saliency_mlp (void)
{
  LamShape shape = lam_shape_chw (1, 10, 10);
  check_saliency (MLP, shape, LAM_EXPLAIN_GRADIENT, LAM_EXPLAIN_CLASS_PREDICTED);
  check_saliency (MLP, shape, LAM_EXPLAIN_GRADIENT, 3);
  check_saliency (MLP, shape, LAM_EXPLAIN_GRADIENT_X_INPUT, LAM_EXPLAIN_CLASS_PREDICTED);
}

static void
test_saliency_cnn (void)
{
  /* Three channels: the map is the max over them. */
  LamShape shape = lam_shape_chw (3, 8, 8);
  check_saliency (CNN, shape, LAM_EXPLAIN_GRADIENT, LAM_EXPLAIN_CLASS_PREDICTED);
  check_saliency (CNN, shape, LAM_EXPLAIN_GRADIENT, 1);
  check_saliency (CNN, shape, LAM_EXPLAIN_GRADIENT_X_INPUT, 4);
}

/* n side×side grey images of 3 classes: noise and a bright column whose
 * place is the class. */
static LamDataset *
make_dataset (int n, int side, guint32 seed)
{
  LamDataset *dataset = g_new0 (LamDataset, 1);
  dataset->name = g_strdup ("noise");
  dataset->n = n;
  dataset->channels = 1;
  dataset->height = side;
  dataset->width = side;
  dataset->n_classes = 3;
  dataset->images = g_new0 (guint8, (gsize) n * side * side);
  dataset->labels = g_new0 (guint8, MAX (n, 1));
  dataset->class_names = g_new0 (char *, 4);
  for (int c = 0; c < 3; c++)
    dataset->class_names[c] = g_strdup_printf ("class %d", c);
  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  for (int i = 0; i < n; i++) {
    int label = g_rand_int_range (rng, 0, 3);
    dataset->labels[i] = (guint8) label;
    guint8 *image = dataset->images + (gsize) i * side * side;
    for (int p = 0; p < side * side; p++)
      image[p] = (guint8) g_rand_int_range (rng, 0, 90);
    for (int y = 0; y < side; y++)
      image[y * side + (1 + 2 * label) % side] = 240;
  }
  return dataset;
}

static const float MEAN[3] = { 0.2f, 0.2f, 0.2f }, STD[3] = { 0.3f, 0.3f, 0.3f };

/* The maps of dataset images are those of the same images prepared by
 * hand: gradient × input uses the input the model saw, normalised. */
static void
test_dataset_same_as_inputs (void)
{
  LamBackend *backend = lam_backend_cpu_new ();
  LamModel *model = make_model (CNN, backend, lam_shape_chw (1, 8, 8), 16, 3);
  g_autoptr (LamDataset) dataset = make_dataset (40, 8, 4);
  LamLoaderConfig config = lam_loader_config_default ();
  memcpy (config.mean, MEAN, sizeof config.mean);
  memcpy (config.std, STD, sizeof config.std);
  /* Out of order, one twice, more than a batch. */
  guint32 indices[] = { 39, 0, 17, 5, 5, 22, 31, 8, 9, 10, 11, 12, 13, 14, 15, 16, 1, 2, 3 };
  int n = G_N_ELEMENTS (indices);
  g_autofree float *inputs = g_new (float, n * 64);
  for (int i = 0; i < n; i++)
    lam_loader_prepare_image (dataset, indices[i], &config, FALSE, NULL, inputs + i * 64);

  LamExplainMethod methods[] = { LAM_EXPLAIN_GRADIENT, LAM_EXPLAIN_GRADIENT_X_INPUT,
                                 LAM_EXPLAIN_GRAD_CAM };
  for (guint m = 0; m < G_N_ELEMENTS (methods); m++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (LamExplanation) a =
      lam_explain_images (model, dataset, indices, n, MEAN, STD, methods[m],
                          LAM_EXPLAIN_CLASS_PREDICTED, LAM_EXPLAIN_LAYER_AUTO, NULL, &error);
    g_assert_no_error (error);
    g_autoptr (LamExplanation) b = lam_explain_inputs (model, inputs, n, methods[m],
                                                       LAM_EXPLAIN_CLASS_PREDICTED,
                                                       LAM_EXPLAIN_LAYER_AUTO, &error);
    g_assert_no_error (error);
    g_assert_cmpmem (a->classes, sizeof (gint32) * n, b->classes, sizeof (gint32) * n);
    for (int p = 0; p < n * 64; p++)
      g_assert_cmpfloat_with_epsilon (a->maps[p], b->maps[p], 1e-6);
  }
  lam_model_free (model);
  lam_backend_free (backend);
}

/* The layers after `layer` as a model of their own, on its output, with
 * the same parameters. */
static LamModel *
tail_model (LamModel *model, int layer)
{
  const LamModelSpec *spec = lam_model_get_spec (model);
  const LamModelPlan *plan = lam_model_get_plan (model);
  g_autoptr (LamModelSpec) tail = lam_model_spec_new ();
  for (int i = layer + 1; i < spec->n_layers; i++)
    lam_model_spec_append (tail, &spec->layers[i]);
  tail->has_input = TRUE;
  tail->input = plan->layers[layer].out_shape;
  tail->has_loss = spec->has_loss;
  tail->loss = spec->loss;
  g_autoptr (GError) error = NULL;
  LamModel *rest = lam_model_new (tail, lam_model_get_backend (model), 256, 1, &error);
  g_assert_no_error (error);

  const LamModelPlan *rest_plan = lam_model_get_plan (rest);
  g_autofree float *params = g_new (float, MAX (plan->n_params, 1));
  g_autofree float *rest_params = g_new0 (float, MAX (rest_plan->n_params, 1));
  lam_model_get_params_host (model, params);
  for (int i = layer + 1; i < plan->n_layers; i++) {
    const LamLayer *from = &plan->layers[i], *to = &rest_plan->layers[i - layer - 1];
    g_assert_cmpint (from->n_weights, ==, to->n_weights);
    memcpy (rest_params + to->weight_offset, params + from->weight_offset,
            sizeof (float) * from->n_weights);
    memcpy (rest_params + to->bias_offset, params + from->bias_offset,
            sizeof (float) * from->n_bias);
  }
  lam_model_set_params_host (rest, rest_params);
  return rest;
}

/* A plain bilinear resampling, pixel centres aligned, for the reference. */
static double
reference_sample (const double *src, int h, int w, int dst_h, int dst_w, int y, int x)
{
  double fy = (y + 0.5) * h / dst_h - 0.5, fx = (x + 0.5) * w / dst_w - 0.5;
  fy = fy < 0 ? 0 : fy > h - 1 ? h - 1 : fy;
  fx = fx < 0 ? 0 : fx > w - 1 ? w - 1 : fx;
  int y0 = (int) floor (fy), x0 = (int) floor (fx);
  int y1 = y0 + 1 < h ? y0 + 1 : y0, x1 = x0 + 1 < w ? x0 + 1 : x0;
  double ay = fy - y0, ax = fx - x0;
  return (1 - ay) * ((1 - ax) * src[y0 * w + x0] + ax * src[y0 * w + x1]) +
         ay * ((1 - ax) * src[y1 * w + x0] + ax * src[y1 * w + x1]);
}

/* Grad-CAM's α_k against the change of the score when channel k of the
 * layer's output moves by ±h everywhere (d score / d shift = Σ over the
 * map = h·w·α_k), single activations' gradients against their own
 * differences, and the map against a plain computation from the layer's
 * outputs and gradients. */
static void
check_grad_cam (const char *text, LamShape shape, int layer, int expected_layer, int klass,
                gboolean kinks_after)
{
  LamBackend *backend = lam_backend_cpu_new ();
  LamModel *model = make_model (text, backend, shape, 64, 9);
  int n_out = lam_model_get_n_classes (model);
  gsize numel = lam_shape_numel (&shape);
  const int n = 4;
  g_autofree float *inputs = random_inputs (n * numel, 33);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamExplanation) x =
    lam_explain_inputs (model, inputs, n, LAM_EXPLAIN_GRAD_CAM, klass, layer, &error);
  g_assert_no_error (error);
  g_assert_cmpint (x->layer, ==, expected_layer);
  const LamShape *out_shape = &lam_model_get_plan (model)->layers[x->layer].out_shape;
  int channels = out_shape->dims[0], h = out_shape->dims[1], w = out_shape->dims[2];
  gsize mhw = (gsize) h * w, layer_numel = channels * mhw;
  g_assert_cmpint (x->n_channels, ==, channels);
  g_assert_cmpint (x->layer_height, ==, h);
  g_assert_cmpint (x->layer_width, ==, w);

  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_LAYERS | LAM_PREDICT_LAYER_GRADIENTS | LAM_PREDICT_CLASSES;
  request.layers = &x->layer;
  request.n_layers = 1;
  request.gradient_of = klass >= 0 ? klass : LAM_PREDICT_GRADIENT_OF_PREDICTED;
  g_autoptr (LamPrediction) p = lam_model_predict_inputs (model, inputs, n, NULL, &request, &error);
  g_assert_no_error (error);
  const float *activations = p->layer_outputs[0], *gradients = p->layer_gradients[0];

  LamModel *rest = tail_model (model, x->layer);
  /* The tail on the layer's outputs gives the model's outputs. */
  g_autofree float *full = outputs_of (model, inputs, n);
  g_autofree float *from_tail = outputs_of (rest, activations, n);
  for (int j = 0; j < n * n_out; j++)
    g_assert_cmpfloat_with_epsilon (full[j], from_tail[j], 1e-5);

  const float step = 1e-3f;
  g_autofree float *perturbed = g_new (float, 2 * layer_numel * MAX (channels, 8));
  int single_off = 0, single_checked = 0, alpha_off = 0;
  for (int i = 0; i < n; i++) {
    int k = x->classes[i];
    g_assert_cmpint (k, ==, klass >= 0 ? klass : p->predicted[i]);
    const float *a = activations + i * layer_numel;
    const float *g = gradients + i * layer_numel;

    for (int c = 0; c < channels; c++)
      for (int s = 0; s < 2; s++) {
        float *copy = perturbed + (2 * c + s) * layer_numel;
        memcpy (copy, a, sizeof (float) * layer_numel);
        for (gsize q = 0; q < mhw; q++)
          copy[c * mhw + q] += s ? step : -step;
      }
    g_autofree float *shifted = outputs_of (rest, perturbed, 2 * channels);
    double largest = 0;
    for (int c = 0; c < channels; c++) {
      double numeric = ((double) shifted[(2 * c + 1) * n_out + k] - shifted[2 * c * n_out + k]) /
                       (2.0 * step * mhw);
      double alpha = x->weights[i * channels + c];
      largest = MAX (largest, fabs (alpha));
      if (fabs (alpha - numeric) > 2e-5 + 1e-3 * fabs (numeric)) {
        g_test_message ("%s image %d channel %d: α %.7g, differences %.7g", text, i, c, alpha,
                        numeric);
        alpha_off++;
      }
    }
    g_assert_cmpfloat (largest, >, 1e-4);

    /* Single activations, a spread of them, through the layers after;
     * not the zeros a ReLU left, which tie for their pooling window's max
     * (a kink at the very point). */
    int n_single = 8;
    gsize single[8];
    for (int t = 0; t < n_single; t++) {
      gsize at = (t * 7919u + i * 131u) % layer_numel;
      for (gsize tries = 0; tries < layer_numel && fabsf (a[at]) < 0.02f; tries++)
        at = (at + 1) % layer_numel;
      single[t] = at;
      for (int s = 0; s < 2; s++) {
        float *copy = perturbed + (2 * t + s) * layer_numel;
        memcpy (copy, a, sizeof (float) * layer_numel);
        copy[at] += s ? 1e-3f : -1e-3f;
      }
    }
    g_autofree float *moved = outputs_of (rest, perturbed, 2 * n_single);
    for (int t = 0; t < n_single; t++) {
      gsize at = single[t];
      double numeric = ((double) moved[(2 * t + 1) * n_out + k] - moved[2 * t * n_out + k]) / 2e-3;
      if (fabs (g[at] - numeric) > 1e-3 + 1e-2 * fabs (numeric))
        single_off++;
      single_checked++;
    }

    /* The map, computed plainly. */
    g_autofree double *cam = g_new0 (double, mhw);
    for (gsize q = 0; q < mhw; q++) {
      double sum = 0;
      for (int c = 0; c < channels; c++) {
        double mean = 0;
        for (gsize r = 0; r < mhw; r++)
          mean += g[c * mhw + r];
        sum += mean / mhw * a[c * mhw + q];
      }
      cam[q] = sum > 0 ? sum : 0;
      g_assert_cmpfloat_with_epsilon (x->coarse[i * mhw + q], cam[q], 1e-5 + 1e-4 * cam[q]);
    }
    int height = x->height, width = x->width;
    g_autofree double *up = g_new (double, height * width);
    double max = 0;
    for (int y = 0; y < height; y++)
      for (int xx = 0; xx < width; xx++) {
        up[y * width + xx] = reference_sample (cam, h, w, height, width, y, xx);
        max = MAX (max, up[y * width + xx]);
      }
    for (int q = 0; q < height * width; q++) {
      double expected = max > 0 ? up[q] / max : 0;
      g_assert_cmpfloat_with_epsilon (x->maps[i * height * width + q], expected, 1e-4);
    }
  }
  g_test_message ("%s, layer %d: %d weights (alpha) checked, %d off; single activations %d checked, "
                  "%d off", text, x->layer, n * channels, alpha_off, single_checked, single_off);
  /* A whole channel shifted moves ReLUs after the layer across their kinks
   * more often than one value does; with only a max pool and linear layers
   * after it, none. */
  g_assert_cmpint (alpha_off, <=, kinks_after ? n * channels / 8 : 0);
  g_assert_cmpint (single_off, <=, single_checked / 16);

  lam_model_free (rest);
  lam_model_free (model);
  lam_backend_free (backend);
}

static void
test_grad_cam (void)
{
  /* A max pool after the layer: a channel shifted everywhere keeps its
   * argmaxes, so its differences cross no kink. */
  const char *pooled = "conv2d:4:3:p1,relu,conv2d:5:3:p1,relu,maxpool2d:2,flatten,linear:6";
  LamShape shape = lam_shape_chw (2, 8, 8);
  check_grad_cam (pooled, shape, LAM_EXPLAIN_LAYER_AUTO, 3, LAM_EXPLAIN_CLASS_PREDICTED, FALSE);
  check_grad_cam (pooled, shape, LAM_EXPLAIN_LAYER_AUTO, 3, 2, FALSE);
  /* A 4×4 map upsampled to 8×8; and the first convolution's, chosen. */
  check_grad_cam (CNN, shape, LAM_EXPLAIN_LAYER_AUTO, 4, LAM_EXPLAIN_CLASS_PREDICTED, FALSE);
  check_grad_cam (CNN, shape, 1, 1, 5, TRUE);
  /* Not square, with a tanh. */
  check_grad_cam ("conv2d:3:3,tanh,maxpool2d:2,flatten,linear:4", lam_shape_chw (1, 9, 13),
                  LAM_EXPLAIN_LAYER_AUTO, 1, LAM_EXPLAIN_CLASS_PREDICTED, FALSE);
}

/* The layers' gradients of lam_model_predict: the input's (layer -1) is
 * the input gradient, asked alone they come without the outputs, and the
 * gradient of the loss works for them as for the input. */
static void
test_predict_layer_gradients (void)
{
  LamBackend *backend = lam_backend_cpu_new ();
  LamShape shape = lam_shape_chw (1, 8, 8);
  LamModel *model = make_model (CNN, backend, shape, 4, 3);
  g_autofree float *inputs = random_inputs (10 * 64, 8);
  gint32 labels[10] = { 0, 1, 2, 3, 4, 5, 0, 1, 2, 3 };
  int layers[] = { -1, 1, 4 };
  int gradient_of[] = { LAM_PREDICT_GRADIENT_OF_LOSS, LAM_PREDICT_GRADIENT_OF_PREDICTED, 3 };
  for (guint g = 0; g < G_N_ELEMENTS (gradient_of); g++) {
    LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
    request.what = LAM_PREDICT_INPUT_GRADIENT | LAM_PREDICT_LAYER_GRADIENTS;
    request.layers = layers;
    request.n_layers = G_N_ELEMENTS (layers);
    request.gradient_of = gradient_of[g];
    g_autoptr (GError) error = NULL;
    g_autoptr (LamPrediction) p =
      lam_model_predict_inputs (model, inputs, 10, labels, &request, &error);
    g_assert_no_error (error);
    g_assert_null (p->layer_outputs);
    g_assert_nonnull (p->layer_gradients);
    g_assert_cmpint (p->n_layers, ==, 3);
    g_assert_cmpuint (p->layer_numel[1], ==, 4 * 8 * 8);
    g_assert_cmpmem (p->layer_gradients[0], sizeof (float) * 10 * 64, p->input_gradient,
                     sizeof (float) * 10 * 64);
    double largest = 0;
    for (gsize q = 0; q < 10 * p->layer_numel[2]; q++)
      largest = MAX (largest, fabs (p->layer_gradients[2][q]));
    g_assert_cmpfloat (largest, >, 1e-4);
  }
  lam_model_free (model);
  lam_backend_free (backend);
}

static void
test_grad_cam_layer (void)
{
  const struct
  {
    const char *text;
    int layer;
  } cases[] = {
    { "conv2d:4:3,relu,maxpool2d:2,flatten,linear:3", 1 },
    { "conv2d:4:3,batchnorm2d,relu,maxpool2d:2,flatten,linear:3", 2 },
    { "conv2d:4:3,flatten,linear:3", 0 },
    { "conv2d:4:3,relu,conv2d:4:3,leaky_relu:0.1,dropout:0.2,flatten,linear:3", 4 },
    { "flatten,linear:3", -1 },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (cases[c].text, &error);
    g_assert_no_error (error);
    spec->has_input = TRUE;
    spec->input = lam_shape_chw (1, 12, 12);
    g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &error);
    g_assert_no_error (error);
    g_assert_cmpint (lam_explain_grad_cam_layer (plan), ==, cases[c].layer);
  }

  LamExplainMethod method;
  g_assert_true (lam_explain_method_from_string ("gradcam", &method));
  g_assert_cmpint (method, ==, LAM_EXPLAIN_GRAD_CAM);
  g_assert_true (lam_explain_method_from_string ("Saliency", &method));
  g_assert_cmpint (method, ==, LAM_EXPLAIN_GRADIENT);
  g_assert_false (lam_explain_method_from_string ("lime", &method));
  g_assert_false (lam_explain_method_from_string (NULL, &method));
}

static void
test_refusals (void)
{
  LamBackend *backend = lam_backend_cpu_new ();
  LamShape shape = lam_shape_chw (1, 8, 8);
  LamModel *mlp = make_model (MLP, backend, shape, 8, 1);
  LamModel *cnn = make_model (CNN, backend, shape, 8, 1);
  g_autoptr (LamDataset) dataset = make_dataset (10, 8, 2);
  float inputs[2 * 64] = { 0 };
  g_autoptr (GError) error = NULL;
  LamExplanation *x;

  x = lam_explain_inputs (mlp, inputs, 2, LAM_EXPLAIN_GRAD_CAM, LAM_EXPLAIN_CLASS_PREDICTED,
                          LAM_EXPLAIN_LAYER_AUTO, &error);
  g_assert_null (x);
  g_assert_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_NO_CONV);
  g_assert_nonnull (strstr (error->message, "convolution"));
  g_assert_nonnull (strstr (error->message, "saliency"));
  g_clear_error (&error);

  x = lam_explain_inputs (mlp, inputs, 2, LAM_EXPLAIN_GRADIENT, 6, 0, &error);
  g_assert_null (x);
  g_assert_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "class 6"));
  g_clear_error (&error);
  x = lam_explain_inputs (mlp, inputs, 2, LAM_EXPLAIN_GRADIENT, -7, 0, &error);
  g_assert_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID);
  g_clear_error (&error);
  x = lam_explain_inputs (mlp, inputs, 2, (LamExplainMethod) 42, 0, 0, &error);
  g_assert_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID);
  g_clear_error (&error);
  x = lam_explain_inputs (mlp, NULL, 2, LAM_EXPLAIN_GRADIENT, 0, 0, &error);
  g_assert_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID);
  g_clear_error (&error);

  /* Layers that are not there or have no map. */
  x = lam_explain_inputs (cnn, inputs, 2, LAM_EXPLAIN_GRAD_CAM, 0, 99, &error);
  g_assert_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "layer 99"));
  g_clear_error (&error);
  x = lam_explain_inputs (cnn, inputs, 2, LAM_EXPLAIN_GRAD_CAM, 0, 5, &error);
  g_assert_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "flatten"));
  g_clear_error (&error);

  /* Images that are not there, or of another size. */
  guint32 bad[] = { 3, 10 };
  x = lam_explain_images (cnn, dataset, bad, 2, MEAN, STD, LAM_EXPLAIN_GRADIENT,
                          LAM_EXPLAIN_CLASS_PREDICTED, 0, NULL, &error);
  g_assert_null (x);
  g_assert_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "no image 10"));
  g_clear_error (&error);
  g_autoptr (LamDataset) big = make_dataset (4, 12, 2);
  guint32 one[] = { 0 };
  x = lam_explain_images (cnn, big, one, 1, MEAN, STD, LAM_EXPLAIN_GRAD_CAM,
                          LAM_EXPLAIN_CLASS_PREDICTED, LAM_EXPLAIN_LAYER_AUTO, NULL, &error);
  g_assert_null (x);
  g_assert_error (error, LAM_PREDICT_ERROR, LAM_PREDICT_ERROR_MISMATCH);
  g_clear_error (&error);

  /* No images is no maps, not an error. */
  g_autoptr (LamExplanation) none = lam_explain_images (
    cnn, dataset, NULL, 0, MEAN, STD, LAM_EXPLAIN_GRADIENT, 0, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (none->n_images, ==, 0);

  /* A regression: no class score. */
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:2", &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = shape;
  spec->has_loss = TRUE;
  spec->loss = LAM_LOSS_L1;
  LamModel *regression = lam_model_new (spec, backend, 4, 1, &error);
  g_assert_no_error (error);
  x = lam_explain_inputs (regression, inputs, 1, LAM_EXPLAIN_GRADIENT, 0, 0, &error);
  g_assert_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_NO_CLASS);
  g_assert_nonnull (strstr (error->message, "regression"));
  g_clear_error (&error);
  lam_model_free (regression);

  /* Cancelled. */
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_cancellable_cancel (cancellable);
  guint32 good[] = { 1, 2 };
  x = lam_explain_images (cnn, dataset, good, 2, MEAN, STD, LAM_EXPLAIN_GRADIENT, 0, 0,
                          cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_null (lam_feature_index_new (cnn, dataset, MEAN, STD, LAM_EXPLAIN_LAYER_AUTO,
                                        cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  /* Features of a layer that is not there; queries that do not fit. */
  gsize dim;
  g_assert_null (lam_explain_features_inputs (cnn, inputs, 1, 12, &dim, &error));
  g_assert_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID);
  g_clear_error (&error);
  g_autoptr (LamFeatureIndex) index = lam_feature_index_new_from_features (inputs, 2, 64, &error);
  g_assert_no_error (error);
  guint32 found[4];
  g_assert_cmpint (lam_feature_index_query (index, inputs, 1, 63, 2, found, NULL, &error), ==, -1);
  g_assert_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpint (lam_feature_index_query (index, inputs, 1, 64, 0, found, NULL, &error), ==, -1);
  g_assert_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (lam_feature_index_new_from_features (inputs, 2, 0, &error));
  g_assert_error (error, LAM_EXPLAIN_ERROR, LAM_EXPLAIN_ERROR_INVALID);
  g_clear_error (&error);

  lam_model_free (mlp);
  lam_model_free (cnn);
  lam_backend_free (backend);
}

/* ---- nearest images ---- */

typedef struct
{
  double similarity;
  guint32 row;
} RefMatch;

static int
compare_ref (const void *pa, const void *pb)
{
  const RefMatch *a = pa, *b = pb;
  if (a->similarity != b->similarity)
    return a->similarity > b->similarity ? -1 : 1;
  return a->row < b->row ? -1 : a->row > b->row;
}

static double
reference_cosine (const float *a, const float *b, gsize dim)
{
  double ab = 0, aa = 0, bb = 0;
  for (gsize j = 0; j < dim; j++) {
    ab += (double) a[j] * b[j];
    aa += (double) a[j] * a[j];
    bb += (double) b[j] * b[j];
  }
  return aa > 0 && bb > 0 ? ab / sqrt (aa * bb) : 0;
}

/* Random features against a brute force in double: each place's
 * similarity matches, and each row returned is one whose similarity is
 * that of its place (rows a float apart may swap). */
static void
check_nearest (gsize n, gsize dim, gsize n_queries, int k, guint32 seed)
{
  g_autofree float *features = random_inputs (n * dim, seed);
  g_autofree float *queries = random_inputs (n_queries * dim, seed + 1);
  /* A row of zeros is similar to nothing. */
  memset (features + 3 * dim, 0, sizeof (float) * dim);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamFeatureIndex) index = lam_feature_index_new_from_features (features, n, dim,
                                                                           &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lam_feature_index_get_n (index), ==, n);
  g_assert_cmpuint (lam_feature_index_get_dim (index), ==, dim);
  g_autofree guint32 *found = g_new (guint32, n_queries * k);
  g_autofree float *similarities = g_new (float, n_queries * k);
  gint64 start = g_get_monotonic_time ();
  int got = lam_feature_index_query (index, queries, n_queries, dim, k, found, similarities,
                                     &error);
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  g_assert_no_error (error);
  g_assert_cmpint (got, ==, (int) MIN ((gsize) k, n));

  g_autofree RefMatch *ref = g_new (RefMatch, n);
  g_autofree double *by_row = g_new (double, n);
  gsize checked_queries = MIN (n_queries, 40);
  for (gsize i = 0; i < checked_queries; i++) {
    const float *q = queries + i * dim;
    for (gsize r = 0; r < n; r++) {
      ref[r].similarity = by_row[r] = reference_cosine (q, features + r * dim, dim);
      ref[r].row = (guint32) r;
    }
    qsort (ref, n, sizeof (RefMatch), compare_ref);
    g_autoptr (GHashTable) seen = g_hash_table_new (NULL, NULL);
    for (int j = 0; j < got; j++) {
      guint32 row = found[i * k + j];
      float s = similarities[i * k + j];
      g_assert_cmpuint (row, <, n);
      g_assert_false (g_hash_table_contains (seen, GUINT_TO_POINTER (row + 1)));
      g_hash_table_add (seen, GUINT_TO_POINTER (row + 1));
      g_assert_cmpfloat_with_epsilon (s, ref[j].similarity, 1e-5);
      g_assert_cmpfloat_with_epsilon (by_row[row], ref[j].similarity, 1e-5);
      if (j > 0)
        g_assert_cmpfloat (s, <=, similarities[i * k + j - 1]);
    }
    for (int j = got; j < k; j++) {
      g_assert_cmpuint (found[i * k + j], ==, G_MAXUINT32);
      g_assert_true (isnan (similarities[i * k + j]));
    }
  }
  g_test_message ("%zu × %zu features, %zu queries, k %d: %.3f s", n, dim, n_queries, k,
                  seconds);
}

static void
test_nearest_brute_force (void)
{
  check_nearest (500, 16, 30, 1, 1);
  check_nearest (500, 16, 30, 7, 2);
  /* More than the index holds. */
  check_nearest (50, 9, 70, 64, 3);
  /* Several blocks of the index, many queries. */
  check_nearest (9000, 32, 130, 8, 4);
}

static void
test_nearest_large (void)
{
  /* The size of MNIST's training set at a typical hidden width. */
  check_nearest (60000, 128, 100, 8, 5);
}

/* Exact ties (one-hot rows, products exactly 1 or 0): the lower row first. */
static void
test_nearest_ties (void)
{
  const gsize n = 10, dim = 4;
  float features[10 * 4] = { 0 };
  for (gsize r = 0; r < n; r++)
    features[r * dim + r % 3] = (float) (r + 1); /* norms differ, directions repeat */
  features[9 * dim + 1] = 0;                     /* row 9: zeros */
  float query[4] = { 0, 2, 0, 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (LamFeatureIndex) index = lam_feature_index_new_from_features (features, n, dim,
                                                                           &error);
  g_assert_no_error (error);
  guint32 found[12];
  float similarities[12];
  g_assert_cmpint (lam_feature_index_query (index, query, 1, dim, 12, found, similarities, &error),
                   ==, 10);
  g_assert_no_error (error);
  /* Rows along axis 1: 1, 4, 7; then every other row at 0, in order. */
  guint32 expected[] = { 1, 4, 7, 0, 2, 3, 5, 6, 8, 9 };
  for (int j = 0; j < 10; j++) {
    g_assert_cmpuint (found[j], ==, expected[j]);
    g_assert_cmpfloat (similarities[j], ==, j < 3 ? 1.0f : 0.0f);
  }
  g_assert_cmpuint (found[10], ==, G_MAXUINT32);
  g_assert_cmpuint (found[11], ==, G_MAXUINT32);

  /* An empty index finds nothing. */
  g_autoptr (LamFeatureIndex) empty = lam_feature_index_new_from_features (NULL, 0, dim, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lam_feature_index_query (empty, query, 1, dim, 2, found, NULL, &error), ==, 0);
  g_assert_cmpuint (found[0], ==, G_MAXUINT32);
}

/* Two standardised columns, rows on one ray from the centre at different
 * distances: cosine scores every one of them 1 and the list tied; by
 * distance the nearest comes first and each has its own number. */
static void
test_nearest_distance_same_ray (void)
{
  const gsize n = 6, dim = 2;
  const float features[6 * 2] = {
    3,    3,    /* 0: on the ray, far */
    1,    1,    /* 1: on the ray, near the query */
    -1,   -1,   /* 2: the opposite way */
    0.5f, 0.5f, /* 3: on the ray, nearer the centre */
    1.2f, 1.2f, /* 4: the query itself */
    NAN,  0,    /* 5: a value that is not finite */
  };
  const float query[2] = { 1.2f, 1.2f };
  g_autoptr (GError) error = NULL;
  guint32 found[8];
  float scores[8];

  g_autoptr (LamFeatureIndex) cosine =
    lam_feature_index_new_from_features (features, n, dim, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lam_feature_index_get_metric (cosine), ==, LAM_FEATURE_COSINE);
  g_assert_cmpint (lam_feature_index_query (cosine, query, 1, dim, 4, found, scores, &error), ==,
                   4);
  /* What the table's list showed: four rows at 1.000, in row order. */
  for (int j = 0; j < 4; j++) {
    g_assert_cmpfloat_with_epsilon (scores[j], 1.0f, 1e-6f);
    g_assert_cmpuint (found[j], ==, (guint32) (j < 2 ? j : j + 1));
  }

  g_autoptr (LamFeatureIndex) index =
    lam_feature_index_new_with_metric (features, n, dim, LAM_FEATURE_DISTANCE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lam_feature_index_get_metric (index), ==, LAM_FEATURE_DISTANCE);
  g_assert_cmpint (lam_feature_index_query (index, query, 1, dim, 8, found, scores, &error), ==, 6);
  g_assert_no_error (error);
  const guint32 expected[] = { 4, 1, 3, 0, 2, 5 };
  const double s2 = sqrt (2.0);
  const double distances[] = { 0, 0.2 * s2, 0.7 * s2, 1.8 * s2, 2.2 * s2, INFINITY };
  for (int j = 0; j < 6; j++) {
    g_assert_cmpuint (found[j], ==, expected[j]);
    if (isinf (distances[j]))
      g_assert_true (isinf (scores[j]) && scores[j] > 0);
    else
      g_assert_cmpfloat_with_epsilon (scores[j], distances[j], 1e-5);
  }
  /* The query's own row is exactly the same, not nearly. */
  g_assert_cmpfloat (scores[0], ==, 0.0f);
  g_assert_cmpfloat (scores[1], <, scores[2]);
  g_assert_cmpuint (found[6], ==, G_MAXUINT32);
  g_assert_true (isnan (scores[7]));
}

/* An index built from a model holds the features lam_model_predict gives,
 * across the slices it is built in, and finds each image itself first. */
static void
test_index_from_model (void)
{
  LamBackend *backend = lam_backend_cpu_new ();
  /* Features of 16×16×16 = 4096 floats: 1024 images a slice. */
  LamModel *model = make_model ("conv2d:16:3:p1,relu,flatten,linear:3", backend,
                                lam_shape_chw (1, 16, 16), 64, 2);
  g_autoptr (LamDataset) dataset = make_dataset (1100, 16, 6);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamFeatureIndex) index =
    lam_feature_index_new (model, dataset, MEAN, STD, LAM_EXPLAIN_LAYER_AUTO, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lam_feature_index_get_layer (index), ==, 2);
  g_assert_cmpuint (lam_feature_index_get_n (index), ==, 1100);
  g_assert_cmpuint (lam_feature_index_get_dim (index), ==, 4096);

  guint32 some[] = { 0, 1023, 1024, 1099, 517 };
  gsize dim = 0;
  g_autofree float *features = lam_explain_features (model, dataset, some, G_N_ELEMENTS (some),
                                                     MEAN, STD, LAM_EXPLAIN_LAYER_AUTO, &dim,
                                                     NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dim, ==, 4096);
  guint32 found[G_N_ELEMENTS (some) * 3];
  float similarities[G_N_ELEMENTS (some) * 3];
  g_assert_cmpint (lam_feature_index_query (index, features, G_N_ELEMENTS (some), dim, 3, found,
                                            similarities, &error), ==, 3);
  for (guint i = 0; i < G_N_ELEMENTS (some); i++) {
    g_assert_cmpuint (found[i * 3], ==, some[i]);
    g_assert_cmpfloat_with_epsilon (similarities[i * 3], 1.0f, 1e-5);
  }

  /* The same features from prepared inputs. */
  LamLoaderConfig config = lam_loader_config_default ();
  memcpy (config.mean, MEAN, sizeof config.mean);
  memcpy (config.std, STD, sizeof config.std);
  float input[256];
  lam_loader_prepare_image (dataset, 1024, &config, FALSE, NULL, input);
  g_autofree float *again =
    lam_explain_features_inputs (model, input, 1, LAM_EXPLAIN_LAYER_AUTO, &dim, &error);
  g_assert_no_error (error);
  for (gsize j = 0; j < dim; j++)
    g_assert_cmpfloat_with_epsilon (again[j], features[2 * dim + j], 1e-6);

  lam_model_free (model);
  lam_backend_free (backend);
}

/* ---- on rendered digits ---- */

#define DIGITS_TRAIN 3000
#define DIGITS_TEST 500
#define DIGITS_EXPLAINED 100
static const float DIGITS_MEAN[3] = { 0.1307f, 0.1307f, 0.1307f };
static const float DIGITS_STD[3] = { 0.3081f, 0.3081f, 0.3081f };

static char *digits_dir;
static LamDataset *digits_train, *digits_test;

static void
load_digits (void)
{
  if (digits_train != NULL)
    return;
  g_autoptr (GError) error = NULL;
  digits_dir = g_dir_make_tmp ("lamina-explain-XXXXXX", &error);
  g_assert_no_error (error);
  gint64 start = g_get_monotonic_time ();
  g_assert_true (lam_test_write_digits_dataset (digits_dir, DIGITS_TRAIN, DIGITS_TEST, 11,
                                                &error));
  g_assert_no_error (error);
  g_assert_true (lam_dataset_load_dir (digits_dir, &digits_train, &digits_test, &error));
  g_assert_no_error (error);
  g_test_message ("%d + %d digits rendered in %.1f s", DIGITS_TRAIN, DIGITS_TEST,
                  (g_get_monotonic_time () - start) / 1e6);
}

/* Adam over the training digits for a few epochs, as the trainer would. */
static LamModel *
train_digits (const char *text, LamBackend *backend, int epochs)
{
  LamModel *model = make_model (text, backend, lam_shape_chw (1, 28, 28), 64, 3);
  g_autoptr (GError) error = NULL;
  LamOptimizerConfig config = lam_optimizer_config_default (LAM_OPTIMIZER_ADAM);
  config.lr = 2e-3;
  g_autoptr (LamOptimizer) optimizer =
    lam_optimizer_new (backend, &config, lam_model_get_n_params (model), &error);
  g_assert_no_error (error);
  LamLoaderConfig loader_config = lam_loader_config_default ();
  loader_config.batch_size = 64;
  loader_config.shuffle = TRUE;
  loader_config.seed = 5;
  memcpy (loader_config.mean, DIGITS_MEAN, sizeof loader_config.mean);
  memcpy (loader_config.std, DIGITS_STD, sizeof loader_config.std);
  g_autoptr (LamLoader) loader = lam_loader_new (digits_train, NULL, digits_train->n,
                                                 &loader_config);
  gsize numel = lam_dataset_image_size (digits_train);
  LamLossKind kind = lam_model_spec_get_loss (lam_model_get_spec (model));
  gint32 *labels = backend->alloc (backend, sizeof (gint32) * 64);
  float *loss = backend->alloc (backend, sizeof (float));
  for (int epoch = 0; epoch < epochs; epoch++) {
    lam_loader_start_epoch (loader, epoch);
    const LamBatch *batch;
    while ((batch = lam_loader_next (loader)) != NULL) {
      backend->upload (backend, lam_model_get_input (model), batch->images,
                       sizeof (float) * numel * batch->size);
      backend->upload (backend, labels, batch->labels, sizeof (gint32) * batch->size);
      lam_model_forward (model, batch->size, TRUE, epoch);
      lam_model_loss (model, kind, labels, batch->size, loss);
      lam_model_backward (model, batch->size);
      lam_optimizer_step (optimizer, lam_model_get_params (model), lam_model_get_grads (model));
    }
  }
  backend->free (backend, labels);
  backend->free (backend, loss);
  return model;
}

static double
digits_accuracy (LamModel *model)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamPrediction) p = lam_model_predict (model, digits_test, NULL, 0, DIGITS_MEAN,
                                                   DIGITS_STD, NULL, NULL, &error);
  g_assert_no_error (error);
  return p->accuracy;
}

/* Pixels brighter than half, grown by 2 pixels in every direction. */
static void
stroke_mask (const guint8 *image, gboolean *mask)
{
  memset (mask, 0, sizeof (gboolean) * 28 * 28);
  for (int y = 0; y < 28; y++)
    for (int x = 0; x < 28; x++)
      if (image[y * 28 + x] > 127)
        for (int dy = -2; dy <= 2; dy++)
          for (int dx = -2; dx <= 2; dx++)
            if (y + dy >= 0 && y + dy < 28 && x + dx >= 0 && x + dx < 28)
              mask[(y + dy) * 28 + x + dx] = TRUE;
}

/* The box around the pixels brighter than a quarter, grown by 2. */
static void
box_mask (const guint8 *image, gboolean *mask)
{
  int x0 = 28, y0 = 28, x1 = -1, y1 = -1;
  for (int y = 0; y < 28; y++)
    for (int x = 0; x < 28; x++)
      if (image[y * 28 + x] > 64) {
        x0 = MIN (x0, x);
        y0 = MIN (y0, y);
        x1 = MAX (x1, x);
        y1 = MAX (y1, y);
      }
  for (int y = 0; y < 28; y++)
    for (int x = 0; x < 28; x++)
      mask[y * 28 + x] = y >= y0 - 2 && y <= y1 + 2 && x >= x0 - 2 && x <= x1 + 2;
}

/* The mean over the explained images of the share of each map's mass
 * inside its mask, and of the mask's share of the image. */
static void
mass_inside (const LamExplanation *x, const guint32 *indices,
             void (*make_mask) (const guint8 *, gboolean *), double *mass, double *area)
{
  *mass = *area = 0;
  gboolean mask[28 * 28];
  for (int i = 0; i < x->n_images; i++) {
    make_mask (lam_dataset_get_image (digits_test, indices[i]), mask);
    const float *map = x->maps + (gsize) i * 28 * 28;
    double inside = 0, total = 0;
    int in_mask = 0;
    for (int p = 0; p < 28 * 28; p++) {
      total += map[p];
      if (mask[p]) {
        inside += map[p];
        in_mask++;
      }
    }
    *mass += total > 0 ? inside / total : 0;
    *area += in_mask / (28.0 * 28.0);
  }
  *mass /= x->n_images;
  *area /= x->n_images;
}

static void
test_digits_saliency_and_nearest (void)
{
  load_digits ();
  LamBackend *backend = lam_backend_cpu_new ();
  gint64 start = g_get_monotonic_time ();
  LamModel *model = train_digits ("flatten,linear:128,relu,linear:10", backend, 4);
  double accuracy = digits_accuracy (model);
  g_test_message ("MLP trained in %.1f s: test accuracy %.1f%%",
                  (g_get_monotonic_time () - start) / 1e6, accuracy * 100);
  g_assert_cmpfloat (accuracy, >, 0.8);

  guint32 indices[DIGITS_EXPLAINED];
  for (int i = 0; i < DIGITS_EXPLAINED; i++)
    indices[i] = (guint32) i;
  g_autoptr (GError) error = NULL;
  LamExplainMethod methods[] = { LAM_EXPLAIN_GRADIENT, LAM_EXPLAIN_GRADIENT_X_INPUT };
  for (guint m = 0; m < G_N_ELEMENTS (methods); m++) {
    g_autoptr (LamExplanation) x = lam_explain_images (
      model, digits_test, indices, DIGITS_EXPLAINED, DIGITS_MEAN, DIGITS_STD, methods[m],
      LAM_EXPLAIN_CLASS_PREDICTED, LAM_EXPLAIN_LAYER_AUTO, NULL, &error);
    g_assert_no_error (error);
    double mass, area;
    mass_inside (x, indices, stroke_mask, &mass, &area);
    g_test_message ("%s: %.1f%% of the map's mass on the strokes (dilated by 2), which cover "
                    "%.1f%% of the image", lam_explain_method_to_string (methods[m]),
                    mass * 100, area * 100);
    if (methods[m] == LAM_EXPLAIN_GRADIENT) {
      g_assert_cmpfloat (mass, >, area + 0.1);
      g_assert_cmpfloat (mass, >, 1.3 * area);
    }
  }

  /* Nearest training images, by the hidden layer's features. */
  start = g_get_monotonic_time ();
  g_autoptr (LamFeatureIndex) index = lam_feature_index_new (
    model, digits_train, DIGITS_MEAN, DIGITS_STD, LAM_EXPLAIN_LAYER_AUTO, NULL, &error);
  g_assert_no_error (error);
  double build = (g_get_monotonic_time () - start) / 1e6;
  g_assert_cmpint (lam_feature_index_get_layer (index), ==, 2);
  gsize dim;
  g_autofree float *features = lam_explain_features (model, digits_test, NULL, 0, DIGITS_MEAN,
                                                     DIGITS_STD, LAM_EXPLAIN_LAYER_AUTO, &dim,
                                                     NULL, &error);
  g_assert_no_error (error);
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_CLASSES;
  g_autoptr (LamPrediction) p = lam_model_predict (model, digits_test, NULL, 0, DIGITS_MEAN,
                                                   DIGITS_STD, &request, NULL, &error);
  g_assert_no_error (error);
  const int k = 8;
  g_autofree guint32 *found = g_new (guint32, (gsize) digits_test->n * k);
  g_assert_cmpint (lam_feature_index_query (index, features, digits_test->n, dim, k, found, NULL,
                                            &error), ==, k);
  int correct = 0, agree = 0;
  for (int i = 0; i < digits_test->n; i++) {
    int label = digits_test->labels[i];
    if (p->predicted[i] != label)
      continue;
    correct++;
    int votes[10] = { 0 }, best = -1;
    /* The label most of the 8 have; between equal counts, the nearer's. */
    for (int j = 0; j < k; j++)
      votes[digits_train->labels[found[i * k + j]]]++;
    for (int j = 0; j < k; j++) {
      int l = digits_train->labels[found[i * k + j]];
      if (best < 0 || votes[l] > votes[best])
        best = l;
    }
    agree += best == label;
  }
  double agreement = (double) agree / MAX (correct, 1);
  g_test_message ("nearest: index of %d images built in %.2f s; for %.1f%% of the %d correctly "
                  "classified test digits the 8 nearest training digits' majority is the same "
                  "digit", digits_train->n, build, agreement * 100, correct);
  g_assert_cmpfloat (agreement, >, 0.9);

  lam_model_free (model);
  lam_backend_free (backend);
}

/* Grad-CAM of the first test digits under a CNN trained on the digits:
 * the mean share of each map's mass in its digit's box (maps that are all
 * zero left out), the box's share of the image, and how many maps are all
 * zero. */
static void
grad_cam_on_digits (const char *text, int epochs, double *mass, double *area, int *n_zero)
{
  LamBackend *backend = lam_backend_cpu_new ();
  gint64 start = g_get_monotonic_time ();
  LamModel *model = train_digits (text, backend, epochs);
  double accuracy = digits_accuracy (model);
  g_test_message ("%s trained in %.1f s: test accuracy %.1f%%", text,
                  (g_get_monotonic_time () - start) / 1e6, accuracy * 100);
  g_assert_cmpfloat (accuracy, >, 0.9);

  guint32 indices[DIGITS_EXPLAINED];
  for (int i = 0; i < DIGITS_EXPLAINED; i++)
    indices[i] = (guint32) i;
  g_autoptr (GError) error = NULL;
  g_autoptr (LamExplanation) x = lam_explain_images (
    model, digits_test, indices, DIGITS_EXPLAINED, DIGITS_MEAN, DIGITS_STD, LAM_EXPLAIN_GRAD_CAM,
    LAM_EXPLAIN_CLASS_PREDICTED, LAM_EXPLAIN_LAYER_AUTO, NULL, &error);
  g_assert_no_error (error);
  /* The second convolution's ReLU, 14×14. */
  g_assert_cmpint (x->layer, ==, 4);
  g_assert_cmpint (x->layer_height, ==, 14);

  g_autoptr (LamExplanation) shown = g_new0 (LamExplanation, 1);
  shown->maps = g_new (float, (gsize) DIGITS_EXPLAINED * 28 * 28);
  guint32 shown_indices[DIGITS_EXPLAINED];
  *n_zero = 0;
  for (int i = 0; i < DIGITS_EXPLAINED; i++) {
    const float *map = x->maps + (gsize) i * 28 * 28;
    float max = 0;
    for (int q = 0; q < 28 * 28; q++)
      max = MAX (max, map[q]);
    if (max == 0) {
      (*n_zero)++;
      continue;
    }
    memcpy (shown->maps + (gsize) shown->n_images * 28 * 28, map, sizeof (float) * 28 * 28);
    shown_indices[shown->n_images++] = indices[i];
  }
  mass_inside (shown, shown_indices, box_mask, mass, area);
  g_test_message ("Grad-CAM: %.1f%% of the map's mass in the digit's box (grown by 2), which "
                  "covers %.1f%% of the image; %d of %d maps all zero", *mass * 100, *area * 100,
                  *n_zero, DIGITS_EXPLAINED);
  lam_model_free (model);
  lam_backend_free (backend);
}

static void
test_digits_grad_cam (void)
{
  load_digits ();
  double mass, area;
  int n_zero;
  /* The tutorials' CNN, a hidden layer between the maps and the classes. */
  grad_cam_on_digits ("conv2d:16:5:p2,relu,maxpool2d:2,conv2d:32:5:p2,relu,maxpool2d:2,flatten,"
                      "linear:128,relu,linear:10", 2, &mass, &area, &n_zero);
  g_assert_cmpfloat (mass, >, 0.7);
  g_assert_cmpfloat (mass, >, area + 0.15);
  g_assert_cmpint (n_zero, <=, DIGITS_EXPLAINED / 10);

  /* With the classes straight on the flattened maps, each α_k is the mean
   * of the class's weights over channel k's whole map, background and all,
   * and is mostly negative: Grad-CAM then often finds nothing. Said here,
   * as a figure, for whoever shows these maps. */
  grad_cam_on_digits ("conv2d:8:3:p1,relu,maxpool2d:2,conv2d:16:3:p1,relu,maxpool2d:2,flatten,"
                      "linear:10", 2, &mass, &area, &n_zero);
  g_assert_cmpint (n_zero, >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/explain/saliency/finite-differences-mlp", test_saliency_mlp);
  g_test_add_func ("/explain/saliency/finite-differences-cnn", test_saliency_cnn);
  g_test_add_func ("/explain/saliency/signed-row", test_saliency_signed_row);
  g_test_add_func ("/explain/saliency/dataset-same-as-inputs", test_dataset_same_as_inputs);
  g_test_add_func ("/explain/grad-cam/weights-and-map", test_grad_cam);
  g_test_add_func ("/explain/grad-cam/default-layer", test_grad_cam_layer);
  g_test_add_func ("/explain/grad-cam/predict-layer-gradients", test_predict_layer_gradients);
  g_test_add_func ("/explain/refusals", test_refusals);
  g_test_add_func ("/explain/nearest/brute-force", test_nearest_brute_force);
  g_test_add_func ("/explain/nearest/ties-and-k-past-n", test_nearest_ties);
  g_test_add_func ("/explain/nearest/distance-same-ray", test_nearest_distance_same_ray);
  g_test_add_func ("/explain/nearest/60000x128", test_nearest_large);
  g_test_add_func ("/explain/nearest/index-from-model", test_index_from_model);
  g_test_add_func ("/explain/digits/saliency-on-strokes-and-nearest-agree",
                   test_digits_saliency_and_nearest);
  g_test_add_func ("/explain/digits/grad-cam-on-the-digit", test_digits_grad_cam);
  int status = g_test_run ();
  if (digits_dir != NULL)
    lam_test_remove_tree (digits_dir);
  g_clear_pointer (&digits_train, lam_dataset_free);
  g_clear_pointer (&digits_test, lam_dataset_free);
  g_free (digits_dir);
  return status;
}
