/* `lamina explain` run as a user would: weights trained by `lamina train`,
 * the PNG it writes, its JSON, and its refusals with their exit codes. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "lam-test-util.h"

/* Three classes of 8×8 images: a bright row whose place is the class. */
static void
write_bars (const char *dir, const char *prefix, int n, guint32 seed)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  g_autofree guint8 *images = g_new (guint8, (gsize) n * 64);
  g_autofree guint8 *labels = g_new (guint8, n);
  for (int i = 0; i < n; i++) {
    int label = g_rand_int_range (rng, 0, 3);
    labels[i] = (guint8) label;
    for (int p = 0; p < 64; p++)
      images[i * 64 + p] =
        (guint8) (g_rand_int_range (rng, 0, 80) + (p / 8 == label * 3 ? 170 : 0));
  }
  g_autofree char *images_name = g_strdup_printf ("%s-images-idx3-ubyte", prefix);
  g_autofree char *labels_name = g_strdup_printf ("%s-labels-idx1-ubyte", prefix);
  g_autofree char *images_path = g_build_filename (dir, images_name, NULL);
  g_autofree char *labels_path = g_build_filename (dir, labels_name, NULL);
  guint32 image_dims[] = { n, 8, 8 };
  guint32 label_dims[] = { n };
  lam_test_write_idx (images_path, 0x803, 3, image_dims, images, (gsize) n * 64);
  lam_test_write_idx (labels_path, 0x801, 1, label_dims, labels, n);
}

static char *data_dir;
static char *cnn_weights;
static char *mlp_weights;

/* A CNN and an MLP trained on the bars once for every test. */
static void
prepare (void)
{
  if (data_dir != NULL)
    return;
  g_autoptr (GError) error = NULL;
  data_dir = g_dir_make_tmp ("lamina-explain-cli-XXXXXX", &error);
  g_assert_no_error (error);
  write_bars (data_dir, "train", 600, 1);
  write_bars (data_dir, "t10k", 200, 2);
  cnn_weights = g_build_filename (data_dir, "cnn.safetensors", NULL);
  mlp_weights = g_build_filename (data_dir, "mlp.safetensors", NULL);
  const char *models[][2] = {
    { "conv2d:4:3:p1,relu,maxpool2d:2,flatten,linear:16,relu,linear:3", cnn_weights },
    { "flatten,linear:16,relu,linear:3", mlp_weights },
  };
  for (guint m = 0; m < G_N_ELEMENTS (models); m++) {
    LamCliResult r = lam_test_run_lamina (
      "train", "--data", data_dir, "--model", models[m][0], "--epochs", "3", "--batch-size", "20",
      "--lr", "0.01", "--device", "cpu", "--no-test", "--save", models[m][1], NULL);
    lam_test_check_exit (&r, 0, NULL);
    lam_cli_result_clear (&r);
  }
}

/* The PNG's width and height, from its IHDR chunk, right after the
 * signature. */
static void
png_size (const char *path, int *width, int *height)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (length, >, 24);
  g_assert_cmpmem (contents, 8, "\x89PNG\r\n\x1a\n", 8);
  g_assert_cmpmem (contents + 12, 4, "IHDR", 4);
  const guint8 *u = (const guint8 *) contents;
  *width = (int) ((guint32) u[16] << 24 | u[17] << 16 | u[18] << 8 | u[19]);
  *height = (int) ((guint32) u[20] << 24 | u[21] << 16 | u[22] << 8 | u[23]);
}

static void
check_json (const char *text, const char *method, int index)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (o, "event"), ==, "explain");
  g_assert_cmpstr (json_object_get_string_member (o, "method"), ==, method);
  g_assert_cmpint (json_object_get_int_member (o, "index"), ==, index);
  const char *keys[] = { "label", "predicted", "predicted_name", "confidence", "class", "score",
                         "top", "nearest", "output", "width", "height" };
  for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
    if (!json_object_has_member (o, keys[k]))
      g_error ("no \"%s\" in %s", keys[k], text);
  /* The bars are easy: the prediction is the label. */
  g_assert_cmpint (json_object_get_int_member (o, "predicted"), ==,
                   json_object_get_int_member (o, "label"));

  /* Three classes: all of them, most probable first, summing to 1. */
  JsonArray *top = json_object_get_array_member (o, "top");
  g_assert_cmpuint (json_array_get_length (top), ==, 3);
  double sum = 0, last = 2;
  for (guint t = 0; t < 3; t++) {
    JsonObject *entry = json_array_get_object_element (top, t);
    double probability = json_object_get_double_member (entry, "probability");
    g_assert_cmpfloat (probability, <=, last);
    last = probability;
    sum += probability;
    g_assert_true (json_object_has_member (entry, "name"));
    if (t == 0)
      g_assert_cmpint (json_object_get_int_member (entry, "class"), ==,
                       json_object_get_int_member (o, "predicted"));
  }
  g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);

  /* Eight training images, most similar first, mostly of the same bar. */
  JsonArray *nearest = json_object_get_array_member (o, "nearest");
  g_assert_cmpuint (json_array_get_length (nearest), ==, 8);
  int same = 0;
  last = 2;
  for (guint j = 0; j < 8; j++) {
    JsonObject *entry = json_array_get_object_element (nearest, j);
    gint64 at = json_object_get_int_member (entry, "index");
    g_assert_cmpint (at, >=, 0);
    g_assert_cmpint (at, <, 600);
    double similarity = json_object_get_double_member (entry, "similarity");
    g_assert_cmpfloat (similarity, <=, last + 1e-6);
    g_assert_cmpfloat (similarity, <=, 1.0 + 1e-5);
    last = similarity;
    same += json_object_get_int_member (entry, "label") == json_object_get_int_member (o, "label");
  }
  g_assert_cmpint (same, >=, 6);
}

static void
test_explain_png_and_json (void)
{
  prepare ();
  g_autofree char *png = g_build_filename (data_dir, "out.png", NULL);
  const char *methods[][2] = {
    { "saliency", "saliency" },
    { "gradcam", "gradcam" },
    { "gradient-x-input", "gradient-x-input" },
  };
  for (guint m = 0; m < G_N_ELEMENTS (methods); m++) {
    g_unlink (png);
    LamCliResult r =
      lam_test_run_lamina ("explain", "--load", cnn_weights, "--data", data_dir, "--index", "7",
                           "--method", methods[m][0], "-o", png, "--json", "--device", "cpu", NULL);
    lam_test_check_exit (&r, 0, NULL);
    check_json (r.out, methods[m][1], 7);
    /* 8×8 scaled by 32: at least 256 pixels a side. */
    int width, height;
    png_size (png, &width, &height);
    g_assert_cmpint (width, ==, 256);
    g_assert_cmpint (height, ==, 256);
    lam_cli_result_clear (&r);
  }

  /* Human output, a chosen class, the training split. */
  g_unlink (png);
  LamCliResult r =
    lam_test_run_lamina ("explain", "--load", mlp_weights, "--data", data_dir, "--index", "3",
                         "--class", "2", "--split", "train", "-o", png, NULL);
  lam_test_check_exit (&r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "Top classes"));
  g_assert_nonnull (strstr (r.out, "Nearest training images"));
  g_assert_nonnull (strstr (r.out, "of class 2"));
  g_assert_true (g_file_test (png, G_FILE_TEST_IS_REGULAR));
  lam_cli_result_clear (&r);
}

static void
test_explain_refusals (void)
{
  prepare ();
  g_autofree char *png = g_build_filename (data_dir, "bad.png", NULL);
  LamCliResult r;

  r = lam_test_run_lamina ("explain", "--data", data_dir, "--index", "1", "-o", png, NULL);
  lam_test_check_exit (&r, 2, "--load FILE is required");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("explain", "--load", cnn_weights, "--data", data_dir, "-o", png, NULL);
  lam_test_check_exit (&r, 2, "--index N is required");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("explain", "--load", cnn_weights, "--data", data_dir, "--index", "1",
                           NULL);
  lam_test_check_exit (&r, 2, "-o FILE.png is required");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("explain", "--load", cnn_weights, "--data", data_dir, "--index", "200",
                           "-o", png, NULL);
  lam_test_check_exit (&r, 2, "--index 200: MNIST (test) has 200 images (0 to 199)");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("explain", "--load", cnn_weights, "--data", data_dir, "--index", "-1",
                           "-o", png, NULL);
  lam_test_check_exit (&r, 2, "--index: expected a whole number");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("explain", "--load", cnn_weights, "--data", data_dir, "--index", "1",
                           "--method", "lime", "-o", png, NULL);
  lam_test_check_exit (&r, 2,
                       "--method: expected saliency, gradient-x-input or gradcam, got \"lime\"");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("explain", "--load", cnn_weights, "--data", data_dir, "--index", "1",
                           "--class", "3", "-o", png, NULL);
  lam_test_check_exit (&r, 2, "--class 3: the model has classes 0 to 2");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("explain", "--load", cnn_weights, "--data", data_dir, "--index", "1",
                           "--split", "validation", "-o", png, NULL);
  lam_test_check_exit (&r, 2, "--split: expected test or train");
  lam_cli_result_clear (&r);

  /* Grad-CAM of a model without a convolution says what to use instead. */
  r = lam_test_run_lamina ("explain", "--load", mlp_weights, "--data", data_dir, "--index", "1",
                           "--method", "gradcam", "-o", png, NULL);
  lam_test_check_exit (&r, 2, "Grad-CAM needs a convolution");
  g_assert_nonnull (strstr (r.err, "saliency"));
  lam_cli_result_clear (&r);

  g_autofree char *missing = g_build_filename (data_dir, "missing.safetensors", NULL);
  r = lam_test_run_lamina ("explain", "--load", missing, "--data", data_dir, "--index", "1", "-o",
                           png, NULL);
  lam_test_check_exit (&r, 4, NULL);
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("explain", "--load", cnn_weights, "--data", data_dir, "--index", "1",
                           "-o", "/nonexistent-folder/out.png", NULL);
  lam_test_check_exit (&r, 6, "out.png");
  lam_cli_result_clear (&r);

  /* The picture never lands on the weights it explains, their spec, or
   * the images: each keeps its bytes. */
  g_autofree char *cnn_spec = g_build_filename (data_dir, "cnn.json", NULL);
  g_autofree char *images = g_build_filename (data_dir, "t10k-images-idx3-ubyte", NULL);
  const char *spared[] = { cnn_weights, cnn_spec, images };
  for (guint i = 0; i < G_N_ELEMENTS (spared); i++) {
    g_autofree char *before = NULL;
    gsize before_length = 0;
    g_assert_true (g_file_get_contents (spared[i], &before, &before_length, NULL));
    r = lam_test_run_lamina ("explain", "--load", cnn_weights, "--data", data_dir, "--index", "1",
                             "-o", spared[i], NULL);
    lam_test_check_exit (&r, 2, "-o");
    lam_cli_result_clear (&r);
    g_autofree char *after = NULL;
    gsize after_length = 0;
    g_assert_true (g_file_get_contents (spared[i], &after, &after_length, NULL));
    g_assert_cmpmem (before, before_length, after, after_length);
  }

  /* None of the refusals wrote a picture. */
  g_assert_false (g_file_test (png, G_FILE_TEST_EXISTS));

  r = lam_test_run_lamina ("explain", "--help", NULL);
  lam_test_check_exit (&r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "--method"));
  g_assert_nonnull (strstr (r.out, "gradcam"));
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("help", NULL);
  lam_test_check_exit (&r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "explain"));
  lam_cli_result_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/explain/png-and-json", test_explain_png_and_json);
  g_test_add_func ("/cli/explain/refusals", test_explain_refusals);
  int status = g_test_run ();
  if (data_dir != NULL)
    lam_test_remove_tree (data_dir);
  g_free (data_dir);
  g_free (cnn_weights);
  g_free (mlp_weights);
  return status;
}
