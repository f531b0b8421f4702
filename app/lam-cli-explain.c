/* lamina explain: why saved weights said what they said about one image —
 * a heat map over the image (saliency or Grad-CAM) written as a PNG, the
 * top classes, and the training images the model sees as most alike. */
#include <cairo.h>
#include <math.h>
#include <string.h>

#include "lam-checkpoint.h"
#include "lam-cli.h"
#include "lam-dataset.h"
#include "lam-device.h"
#include "lam-explain.h"
#include "lam-file.h"
#include "lam-predict.h"
#include "lam-project-file.h"

#define EXPLAIN_BATCH 256
#define EXPLAIN_TOP 5
#define EXPLAIN_NEAREST 8
/* The PNG's longer side is at least this: small images are scaled by a
 * whole factor, each pixel a square, so a 28×28 digit stays legible. */
#define EXPLAIN_MIN_SIDE 256
/* How strongly the hottest pixel's colour covers the image. */
#define EXPLAIN_OPACITY 0.65

static const char *
class_name (const LamDataset *dataset, int klass, char *buffer, gsize size)
{
  if (klass >= 0 && klass < dataset->n_classes && dataset->class_names != NULL &&
      dataset->class_names[klass] != NULL)
    return dataset->class_names[klass];
  g_snprintf (buffer, size, "class %d", klass);
  return buffer;
}

/* A heat colour for v in [0, 1]: dark red through orange to pale yellow,
 * legible over grey and colour images alike. */
static void
heat_colour (double v, double *r, double *g, double *b)
{
  *r = CLAMP (0.5 + 1.5 * v, 0, 1);
  *g = CLAMP (2.0 * v - 0.6, 0, 1);
  *b = CLAMP (3.0 * v - 2.2, 0, 1);
}

static cairo_status_t
append_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* The image with the map over it, each pixel scaled to a square of
 * `scale`, as PNG bytes. */
static GBytes *
render_png (const LamDataset *dataset, int index, const float *map, int scale, GError **error)
{
  int h = dataset->height, w = dataset->width, channels = dataset->channels;
  const guint8 *image = lam_dataset_get_image (dataset, index);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w * scale, h * scale);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not make a %d×%d picture: %s",
                 w * scale, h * scale, cairo_status_to_string (cairo_surface_status (surface)));
    cairo_surface_destroy (surface);
    return NULL;
  }
  cairo_surface_flush (surface);
  guint8 *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  gsize plane = (gsize) h * w;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      gsize p = (gsize) y * w + x;
      double rgb[3];
      for (int c = 0; c < 3; c++)
        rgb[c] = image[(channels == 3 ? c : 0) * plane + p] / 255.0;
      double v = CLAMP (map[p], 0, 1), heat[3], a = EXPLAIN_OPACITY * v;
      heat_colour (v, &heat[0], &heat[1], &heat[2]);
      guint32 pixel = 0;
      for (int c = 0; c < 3; c++) {
        double out = (1 - a) * rgb[c] + a * heat[c];
        pixel |= (guint32) lround (CLAMP (out, 0, 1) * 255) << (16 - 8 * c);
      }
      for (int dy = 0; dy < scale; dy++) {
        guint32 *row = (guint32 *) (data + (gsize) (y * scale + dy) * stride);
        for (int dx = 0; dx < scale; dx++)
          row[x * scale + dx] = pixel;
      }
    }
  cairo_surface_mark_dirty (surface);

  GByteArray *bytes = g_byte_array_new ();
  cairo_status_t status = cairo_surface_write_to_png_stream (surface, append_bytes, bytes);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not encode the PNG: %s",
                 cairo_status_to_string (status));
    g_byte_array_unref (bytes);
    return NULL;
  }
  return g_byte_array_free_to_bytes (bytes);
}

/* The exit status for an error of the explanation or prediction calls. */
static int
status_for (const GError *error)
{
  if (error->domain == LAM_EXPLAIN_ERROR)
    return error->code == LAM_EXPLAIN_ERROR_NO_CLASS ? LAM_EXIT_MODEL
           : error->code == LAM_EXPLAIN_ERROR_MEMORY ? LAM_EXIT_FAILED
                                                     : LAM_EXIT_USAGE;
  if (error->domain == LAM_PREDICT_ERROR && error->code == LAM_PREDICT_ERROR_MISMATCH)
    return LAM_EXIT_DATA;
  return LAM_EXIT_FAILED;
}

typedef struct
{
  const LamDataset *dataset; /* the split the image is in */
  const LamDataset *train;   /* where the nearest images come from */
  gboolean from_train;
  const char *split;
  int index;
  LamExplainMethod method;
  int klass;
  const float *mean, *std;
  const char *output_path;
  gboolean json;
} Explain;

/* Everything after the model is made: the map, the PNG, the top classes
 * and the nearest training images, then what is printed. */
static int
explain (LamModel *model, const Explain *e)
{
  g_autoptr (GError) error = NULL;
  const LamDataset *dataset = e->dataset;
  guint32 index = (guint32) e->index;
  char a[32], b[32];

  g_autoptr (LamExplanation) x =
    lam_explain_images (model, dataset, &index, 1, e->mean, e->std, e->method, e->klass,
                        LAM_EXPLAIN_LAYER_AUTO, NULL, &error);
  if (x == NULL) {
    lam_cli_print_error ("explain", error);
    return status_for (error);
  }

  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_PROBABILITIES | LAM_PREDICT_CLASSES;
  g_autoptr (LamPrediction) p = lam_model_predict (model, dataset, &index, 1, e->mean, e->std,
                                                   &request, NULL, &error);
  if (p == NULL) {
    lam_cli_print_error ("explain", error);
    return status_for (error);
  }
  int n_out = p->n_outputs, n_top = MIN (EXPLAIN_TOP, n_out);
  int top[EXPLAIN_TOP];
  for (int t = 0; t < n_top; t++) {
    int best = -1;
    for (int c = 0; c < n_out; c++) {
      gboolean taken = FALSE;
      for (int u = 0; u < t; u++)
        taken |= top[u] == c;
      if (!taken && (best < 0 || p->probabilities[c] > p->probabilities[best]))
        best = c;
    }
    top[t] = best;
  }

  /* The nearest training images; the image itself is not its own
   * neighbour when it comes from the training set. */
  g_autoptr (LamFeatureIndex) features_index = lam_feature_index_new (
    model, e->train, e->mean, e->std, LAM_EXPLAIN_LAYER_AUTO, NULL, &error);
  if (features_index == NULL) {
    lam_cli_print_error ("explain", error);
    return status_for (error);
  }
  gsize dim;
  g_autofree float *query = lam_explain_features (model, dataset, &index, 1, e->mean, e->std,
                                                  LAM_EXPLAIN_LAYER_AUTO, &dim, NULL, &error);
  if (query == NULL) {
    lam_cli_print_error ("explain", error);
    return status_for (error);
  }
  guint32 found[EXPLAIN_NEAREST + 1];
  float similarity[EXPLAIN_NEAREST + 1];
  int n_found = lam_feature_index_query (features_index, query, 1, dim, EXPLAIN_NEAREST + 1, found,
                                         similarity, &error);
  if (n_found < 0) {
    lam_cli_print_error ("explain", error);
    return status_for (error);
  }
  int n_nearest = 0;
  for (int j = 0; j < n_found && n_nearest < EXPLAIN_NEAREST; j++)
    if (!(e->from_train && found[j] == index)) {
      found[n_nearest] = found[j];
      similarity[n_nearest++] = similarity[j];
    }

  int longer = MAX (dataset->height, dataset->width);
  int scale = MAX (1, (EXPLAIN_MIN_SIDE + longer - 1) / longer);
  g_autoptr (GBytes) png = render_png (dataset, e->index, x->maps, scale, &error);
  gsize length;
  const void *bytes = png != NULL ? g_bytes_get_data (png, &length) : NULL;
  if (png == NULL || !lam_file_replace_contents (e->output_path, bytes, length, &error)) {
    lam_cli_print_error ("explain", error);
    return LAM_EXIT_IO;
  }

  int label = dataset->labels != NULL ? dataset->labels[e->index] : -1;
  int predicted = p->predicted[0];
  const char *method = lam_explain_method_to_string (e->method);
  if (e->json) {
    g_autoptr (GString) s = g_string_new ("{\"event\": \"explain\", \"index\": ");
    g_string_append_printf (s, "%d, \"split\": \"%s\", \"dataset\": ", e->index, e->split);
    lam_json_append_string (s, dataset->name);
    g_string_append_printf (s, ", \"label\": %d, \"label_name\": ", label);
    lam_json_append_string (s, class_name (dataset, label, a, sizeof a));
    g_string_append_printf (s, ", \"predicted\": %d, \"predicted_name\": ", predicted);
    lam_json_append_string (s, class_name (dataset, predicted, a, sizeof a));
    g_string_append (s, ", \"confidence\": ");
    lam_json_append_float (s, p->probabilities[predicted]);
    g_string_append_printf (s, ", \"method\": \"%s\", \"class\": %d, \"class_name\": ", method,
                            x->classes[0]);
    lam_json_append_string (s, class_name (dataset, x->classes[0], a, sizeof a));
    g_string_append (s, ", \"score\": ");
    lam_json_append_float (s, x->scores[0]);
    if (x->layer >= 0)
      g_string_append_printf (s, ", \"layer\": %d", x->layer);
    g_string_append (s, ", \"top\": [");
    for (int t = 0; t < n_top; t++) {
      g_string_append_printf (s, "%s{\"class\": %d, \"name\": ", t ? ", " : "", top[t]);
      lam_json_append_string (s, class_name (dataset, top[t], a, sizeof a));
      g_string_append (s, ", \"probability\": ");
      lam_json_append_float (s, p->probabilities[top[t]]);
      g_string_append_c (s, '}');
    }
    g_string_append (s, "], \"nearest\": [");
    for (int j = 0; j < n_nearest; j++) {
      int l = e->train->labels != NULL ? e->train->labels[found[j]] : -1;
      g_string_append_printf (s, "%s{\"index\": %u, \"label\": %d, \"name\": ", j ? ", " : "",
                              found[j], l);
      lam_json_append_string (s, class_name (e->train, l, a, sizeof a));
      g_string_append (s, ", \"similarity\": ");
      lam_json_append_float (s, similarity[j]);
      g_string_append_c (s, '}');
    }
    g_string_append (s, "], \"output\": ");
    lam_json_append_string (s, e->output_path);
    g_string_append_printf (s, ", \"width\": %d, \"height\": %d}\n", dataset->width * scale,
                            dataset->height * scale);
    g_print ("%s", s->str);
    return LAM_EXIT_OK;
  }

  g_print ("%s image %d: label %s, predicted %s (%.1f%%)\n", e->split, e->index,
           class_name (dataset, label, a, sizeof a), class_name (dataset, predicted, b, sizeof b),
           p->probabilities[predicted] * 100.0);
  g_print ("\nTop classes:\n");
  for (int t = 0; t < n_top; t++)
    g_print ("  %-14s %6.2f%%\n", class_name (dataset, top[t], a, sizeof a),
             p->probabilities[top[t]] * 100.0);
  g_print ("\nNearest training images (cosine similarity of the features at layer %d):\n",
           lam_feature_index_get_layer (features_index));
  for (int j = 0; j < n_nearest; j++)
    g_print ("  %6u  %-14s %.3f\n", found[j],
             class_name (e->train, e->train->labels != NULL ? e->train->labels[found[j]] : -1, a,
                         sizeof a),
             similarity[j]);
  g_print ("\nWrote %s (%d×%d): the %s map of class %s over the image\n", e->output_path,
           dataset->width * scale, dataset->height * scale,
           e->method == LAM_EXPLAIN_GRAD_CAM ? "Grad-CAM" : method,
           class_name (dataset, x->classes[0], a, sizeof a));
  return LAM_EXIT_OK;
}

int
lam_cli_explain (int argc, char **argv)
{
  g_autofree char *load_path = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *index_text = NULL;
  g_autofree char *method_text = NULL;
  g_autofree char *class_text = NULL;
  g_autofree char *split = NULL;
  g_autofree char *output_path = NULL;
  g_autofree char *device = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "load", 'l', 0, G_OPTION_ARG_FILENAME, &load_path,
      "A project (.lamina), or weights saved by 'lamina train --save' (.safetensors, or its "
      ".json)", "FILE" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      "Dataset folder (default: the one the weights were trained on)", "DIR" },
    { "index", 'n', 0, G_OPTION_ARG_STRING, &index_text, "The image to explain, from 0", "N" },
    { "method", 0, 0, G_OPTION_ARG_STRING, &method_text,
      "saliency (the gradient's size), gradient-x-input, or gradcam (for a CNN) (default "
      "saliency)", "METHOD" },
    { "class", 'c', 0, G_OPTION_ARG_STRING, &class_text,
      "The class whose score to explain (default: the predicted one)", "C" },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split, "test or train (default test)", "SPLIT" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output_path, "The PNG to write", "FILE.png" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "auto, cpu or cuda (default auto)", "DEVICE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as one JSON object", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context =
    g_option_context_new ("- show why saved weights classified an image as they did");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (
    context,
    "Writes the image with a heat map over it: where a small change would move the\n"
    "class's score most (saliency), that times the pixel (gradient-x-input), or which\n"
    "regions the last convolution's maps that matter for the class fire on (gradcam).\n"
    "The picture is scaled by a whole factor to at least 256 pixels on its longer side.\n"
    "Prints the top 5 classes and the 8 training images the model sees as most alike\n"
    "(cosine similarity of the features at the layer before the last linear one).\n"
    "\n"
    "Example: lamina explain --load cnn.lamina --index 17 --method gradcam -o 17.png\n");
  if (!lam_cli_parse_options ("explain", context, entries, &argc, &argv))
    return LAM_EXIT_USAGE;
  if (argc > 1) {
    g_printerr ("lamina explain: unexpected argument \"%s\" (see lamina explain --help)\n",
                argv[1]);
    return LAM_EXIT_USAGE;
  }
  if (load_path == NULL) {
    g_printerr ("lamina explain: --load FILE is required (a project, or weights saved by "
                "'lamina train --save')\n");
    return LAM_EXIT_USAGE;
  }
  if (index_text == NULL) {
    g_printerr ("lamina explain: --index N is required (the image to explain, from 0)\n");
    return LAM_EXIT_USAGE;
  }
  if (output_path == NULL) {
    g_printerr ("lamina explain: -o FILE.png is required\n");
    return LAM_EXIT_USAGE;
  }
  if (!lam_cli_check_writable ("-o", output_path, &error)) {
    lam_cli_print_error ("explain", error);
    return LAM_EXIT_IO;
  }
  LamExplainMethod method = LAM_EXPLAIN_GRADIENT;
  if (method_text != NULL && !lam_explain_method_from_string (method_text, &method)) {
    g_printerr ("lamina explain: --method: expected saliency, gradient-x-input or gradcam, got "
                "\"%s\"\n", method_text);
    return LAM_EXIT_USAGE;
  }
  gboolean from_train = FALSE;
  if (split != NULL && !g_str_equal (split, "test") && !(from_train = g_str_equal (split, "train"))) {
    g_printerr ("lamina explain: --split: expected test or train, got \"%s\"\n", split);
    return LAM_EXIT_USAGE;
  }
  gint64 index;
  if (!lam_cli_parse_int ("--index", index_text, 0, G_MAXINT, &index, &error)) {
    lam_cli_print_error ("explain", error);
    return LAM_EXIT_USAGE;
  }
  gint64 klass = LAM_EXPLAIN_CLASS_PREDICTED;
  if (class_text != NULL && !lam_cli_parse_int ("--class", class_text, 0, G_MAXINT, &klass,
                                                &error)) {
    lam_cli_print_error ("explain", error);
    return LAM_EXIT_USAGE;
  }

  /* Weights as `lamina eval` and `lamina export` read them: a project
   * brings its normalisation and dataset, a checkpoint its own. */
  g_autoptr (LamCheckpointInfo) info = NULL;
  g_autofree float *params = NULL;
  int load_status = lam_cli_load_weights ("explain", load_path, &info, &params);
  if (load_status != LAM_EXIT_OK)
    return load_status;
  if (info->table != NULL) {
    g_printerr ("lamina explain: %s was trained on a table of numbers; explain draws maps over "
                "images\n", load_path);
    return LAM_EXIT_DATA;
  }

  const char *dir = data_dir != NULL        ? data_dir
                    : info->dataset != NULL ? info->dataset
                                            : LAM_DATASET_DEFAULT_DIR;
  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  if (!lam_dataset_load_dir (dir, &train, &test, &error)) {
    lam_cli_print_error ("explain", error);
    return LAM_EXIT_DATA;
  }
  if (!from_train && test == NULL) {
    g_printerr ("lamina explain: %s has no test images: use --split train\n", dir);
    return LAM_EXIT_DATA;
  }
  /* The PNG must not land on the weights it explains, the files they came
   * with, or the images (a PNG over e.safetensors left weights that no
   * longer load). */
  g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func (g_free);
  if (g_str_has_suffix (load_path, LAM_PROJECT_FILE_SUFFIX)) {
    lam_cli_add_project_paths (inputs, load_path);
  } else {
    g_autofree char *weights_path = lam_checkpoint_weights_path (load_path);
    lam_cli_add_path (inputs, load_path);
    lam_cli_add_path (inputs, weights_path);
    g_ptr_array_add (inputs, lam_checkpoint_spec_path (weights_path));
  }
  lam_cli_add_dataset_paths (inputs, dir);
  g_autoptr (GPtrArray) outputs = g_ptr_array_new_with_free_func (g_free);
  lam_cli_add_path (outputs, output_path);
  if (!lam_cli_check_outputs ("-o", outputs, inputs, &error)) {
    lam_cli_print_error ("explain", error);
    return LAM_EXIT_USAGE;
  }
  LamDataset *dataset = from_train ? train : test;
  LamShape data_shape = lam_dataset_get_input_shape (dataset);
  if (!lam_shape_equal (&data_shape, &info->spec->input)) {
    g_autofree char *shape_a = lam_shape_to_string (&data_shape);
    g_autofree char *shape_b = lam_shape_to_string (&info->spec->input);
    g_printerr ("lamina explain: %s has images of %s but the model expects %s\n", dataset->name,
                shape_a, shape_b);
    return LAM_EXIT_DATA;
  }
  if (index >= dataset->n) {
    g_printerr ("lamina explain: --index %" G_GINT64_FORMAT ": %s has %d images (0 to %d)\n",
                index, dataset->name, dataset->n, dataset->n - 1);
    return LAM_EXIT_USAGE;
  }

  LamBackend *backend = lam_device_open (device, NULL, &error);
  if (backend == NULL) {
    lam_cli_print_error ("explain", error);
    return LAM_EXIT_DEVICE;
  }
  LamModel *model = lam_model_new (info->spec, backend, EXPLAIN_BATCH, 0, &error);
  if (model == NULL) {
    lam_cli_print_error ("explain", error);
    lam_backend_free (backend);
    return LAM_EXIT_MODEL;
  }
  lam_model_set_params_host (model, params);
  if (klass != LAM_EXPLAIN_CLASS_PREDICTED && klass >= lam_model_get_n_classes (model)) {
    g_printerr ("lamina explain: --class %" G_GINT64_FORMAT ": the model has classes 0 to %d\n",
                klass, lam_model_get_n_classes (model) - 1);
    lam_model_free (model);
    lam_backend_free (backend);
    return LAM_EXIT_USAGE;
  }

  Explain e = {
    .dataset = dataset,
    .train = train,
    .from_train = from_train,
    .split = from_train ? "train" : "test",
    .index = (int) index,
    .method = method,
    .klass = (int) klass,
    .mean = info->mean,
    .std = info->std,
    .output_path = output_path,
    .json = json,
  };
  int status = explain (model, &e);
  lam_model_free (model);
  lam_backend_free (backend);
  return status;
}
