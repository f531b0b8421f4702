/* The `lamina` command line, run as a user would: exit codes, messages,
 * JSON lines, and the train → save → eval round trip. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "lam-checkpoint.h"
#include "lam-project-file.h"
#include "lam-test-util.h"

#define assert_exit(result, code, text_in_stderr)                                                  \
  lam_test_check_exit (&(result), code, text_in_stderr)

/* A tiny IDX dataset: three classes of 8×8 bars. */
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
      images[i * 64 + p] = (guint8) (g_rand_int_range (rng, 0, 80) + (p / 8 == label * 3 ? 170 : 0));
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

static char *
make_bars_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("lamina-cli-XXXXXX", &error);
  g_assert_no_error (error);
  write_bars (dir, "train", 600, 1);
  write_bars (dir, "t10k", 200, 2);
  return dir;
}

static void
remove_tree (const char *dir)
{
  g_autoptr (GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;
  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_unlink (path);
  }
  g_rmdir (dir);
}

static void
test_usage_errors (void)
{
  LamCliResult r = lam_test_run_lamina ("help", NULL);
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "Usage: lamina"));
  lam_cli_result_clear (&r);

  /* No command opens the window; without a display it says what works instead. */
  r = lam_test_run_lamina (NULL, NULL);
  assert_exit (r, 1, "cannot open a window");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("frobnicate", NULL);
  assert_exit (r, 2, "unknown command \"frobnicate\"");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--epochs", "abc", NULL);
  assert_exit (r, 2, "--epochs: expected a whole number");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--epochs", "0", NULL);
  assert_exit (r, 2, "--epochs");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--lr", "-0.1", NULL);
  assert_exit (r, 2, "--lr: expected a number above 0");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--lr", "1e", NULL);
  assert_exit (r, 2, "got \"1e\"");
  lam_cli_result_clear (&r);

  /* 1e-400 is above 0: what is wrong is that no double holds it. */
  r = lam_test_run_lamina ("train", "--lr", "1e-400", NULL);
  assert_exit (r, 2, "got \"1e-400\" (too close to 0 for a number to hold: it would read as 0)");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--lr", "1e400", NULL);
  assert_exit (r, 2, "got \"1e400\" (too large for a number to hold)");
  lam_cli_result_clear (&r);

  /* The Train page shows seeds to 2^53 - 1 exactly; a project saved with a
   * larger one showed another. */
  r = lam_test_run_lamina ("train", "--seed", "9007199254740992", NULL);
  assert_exit (r, 2, "--seed: expected a whole number from 0 to 9007199254740991");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--l1", "11", NULL);
  assert_exit (r, 2, "--l1");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--val-fraction", "1.5", NULL);
  assert_exit (r, 2, "--val-fraction");
  lam_cli_result_clear (&r);

  /* A value that is not text is named by its option, as typed either way. */
  r = lam_test_run_lamina ("train", "--targets", "\xff", NULL);
  assert_exit (r, 2, "lamina train: --targets: the value is not text in this locale's character set");
  lam_cli_result_clear (&r);
  /* A file name and an argument after a flag may be any bytes: the value
   * named is the one that may not. */
  r = lam_test_run_lamina ("train", "--data", "/tmp/caf\xe9", "--hflip", "\xfe", "--targets",
                           "\xff", NULL);
  assert_exit (r, 2,
               "lamina train: --targets: the value is not text in this locale's character set");
  g_assert_null (strstr (r.err, "--data"));
  g_assert_null (strstr (r.err, "--hflip"));
  lam_cli_result_clear (&r);
  /* --model may name a file, whose name may be any bytes: bytes that are
   * neither a file nor text are no model, said as text. */
  r = lam_test_run_lamina ("info", "--model=linear:\xff", NULL);
  assert_exit (r, 4, "lamina info: no preset or file called \"linear:\xef\xbf\xbd\"");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--optimizer", "rmsprop", NULL);
  assert_exit (r, 2, "expected sgd, adam or adamw, got \"rmsprop\"");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--schedule", "step:x", NULL);
  assert_exit (r, 2, "--schedule");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--normalize", "0.5/0", NULL);
  assert_exit (r, 2, "STD");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--crop-padding", "2", "--padding-mode", "mirror", NULL);
  assert_exit (r, 2, "--padding-mode: expected zeros or reflect, got \"mirror\"");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--padding-mode", "reflect", NULL);
  assert_exit (r, 2, "--padding-mode needs --crop-padding above 0");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--no-such-option", NULL);
  assert_exit (r, 2, "no-such-option");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("eval", NULL);
  assert_exit (r, 2, "--load");
  lam_cli_result_clear (&r);
}

/* The help states the defaults a run really starts with: those of a
 * lesson in the window. */
static void
test_train_help_defaults (void)
{
  LamCliResult r = lam_test_run_lamina ("train", "--help", NULL);
  assert_exit (r, 0, NULL);
  g_auto (GStrv) lines = g_strsplit (r.out, "\n", -1);
  const struct
  {
    const char *option, *text;
  } wanted[] = {
    { "--epochs=", "(default 5;" },
    { "--batch-size=", "(default 64)" },
    { "--optimizer=", "(default adam)" },
    { "--val-fraction=", "(default 0.1)" },
    { "--seed=", "(default 1)" },
    { "--normalize=", "(default data)" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (wanted); i++) {
    const char *line = NULL;
    for (guint k = 0; lines[k] != NULL && line == NULL; k++)
      if (strstr (lines[k], wanted[i].option) != NULL)
        line = lines[k];
    if (line == NULL || strstr (line, wanted[i].text) == NULL)
      g_error ("expected \"%s\" on the %s line of the help: %s", wanted[i].text,
               wanted[i].option, r.out);
  }
  lam_cli_result_clear (&r);
}

static void
test_bad_model (void)
{
  LamCliResult r = lam_test_run_lamina ("info", "--model", "flatten,linear:abc", NULL);
  assert_exit (r, 4, "abc");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("info", "--model", "flatten,wobble:3", NULL);
  assert_exit (r, 4, "wobble");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("info", "--model", "linear:10", NULL);
  assert_exit (r, 4, "flatten");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("info", "--model", "{\"layers\": [", NULL);
  assert_exit (r, 4, NULL);
  lam_cli_result_clear (&r);

  g_autofree char *dir = make_bars_dir ();
  r = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:0", NULL);
  assert_exit (r, 4, "\"linear:0\"");
  lam_cli_result_clear (&r);
  remove_tree (dir);
}

/* --model names a .json file as any file option does: a folder whose name
 * is not UTF-8 (bytes from an old archive) holds models too, and the
 * messages about them are text. */
static void
test_model_file_any_bytes (void)
{
  g_autofree char *dir = make_bars_dir ();
  g_autofree char *folder = g_build_filename (dir, "caf\xe9", NULL);
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  g_autofree char *model = g_build_filename (folder, "m.json", NULL);
  g_assert_true (g_file_set_contents (
    model, "{\"layers\": [{\"type\": \"flatten\"}, {\"type\": \"linear\", \"out\": 3}]}", -1,
    NULL));
  g_autofree char *broken = g_build_filename (folder, "broken.json", NULL);
  g_assert_true (g_file_set_contents (broken, "{", -1, NULL));

  LamCliResult r = lam_test_run_lamina ("train", "--data", dir, "--model", model, "--device", "cpu",
                                        "--no-test", NULL);
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "flatten,linear:3"));
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("lr-find", "--data", dir, "--model", model, NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("info", "--model", model, "--input", "1x8x8", NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--data", dir, "--model", broken, NULL);
  assert_exit (r, 4, "caf\xef\xbf\xbd/broken.json: not valid JSON");
  g_assert_true (g_utf8_validate (r.err, -1, NULL));
  lam_cli_result_clear (&r);
  lam_test_remove_tree (dir);
}

static void
test_bad_data (void)
{
  LamCliResult r = lam_test_run_lamina ("train", "--data", "/nonexistent/lamina-data", NULL);
  assert_exit (r, 3, "/nonexistent/lamina-data");
  lam_cli_result_clear (&r);

  /* A truncated image file: the error names it. */
  g_autofree char *dir = make_bars_dir ();
  g_autofree char *images = g_build_filename (dir, "train-images-idx3-ubyte", NULL);
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (images, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (images, contents, length / 2, NULL));
  r = lam_test_run_lamina ("train", "--data", dir, NULL);
  assert_exit (r, 3, "train-images-idx3-ubyte");
  lam_cli_result_clear (&r);
  remove_tree (dir);
}

static void
test_info (void)
{
  LamCliResult r = lam_test_run_lamina ("info", "--model", "mlp", NULL);
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "242,762"));
  g_assert_nonnull (strstr (r.out, "log_softmax"));
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("info", "--model", "small-cnn", "--json", NULL);
  assert_exit (r, 0, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, r.out, -1, &error);
  g_assert_no_error (error);
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonArray *layers = json_object_get_array_member (root, "layers");
  g_assert_cmpuint (json_array_get_length (layers), ==, 10);
  JsonObject *flatten = json_array_get_object_element (layers, 6);
  g_assert_cmpstr (json_object_get_string_member (flatten, "output"), ==, "3136");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("info", NULL);
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "small-cnn"));
  g_assert_nonnull (strstr (r.out, "cpu"));
  lam_cli_result_clear (&r);

  /* A dataset folder alone: what it holds, read as training reads it. */
  g_autofree char *dir = make_bars_dir ();
  r = lam_test_run_lamina ("info", "--data", dir, "--json", NULL);
  assert_exit (r, 0, NULL);
  g_autoptr (JsonParser) data_parser = json_parser_new ();
  json_parser_load_from_data (data_parser, r.out, -1, &error);
  g_assert_no_error (error);
  JsonObject *data = json_node_get_object (json_parser_get_root (data_parser));
  g_assert_cmpint (json_object_get_int_member (data, "train"), ==, 600);
  g_assert_cmpint (json_object_get_int_member (data, "test"), ==, 200);
  JsonArray *classes = json_object_get_array_member (data, "classes");
  g_assert_cmpuint (json_array_get_length (classes), ==, 3);
  gint64 total = 0;
  for (guint c = 0; c < 3; c++)
    total += json_object_get_int_member (json_array_get_object_element (classes, c), "train");
  g_assert_cmpint (total, ==, 600);
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("info", "--data", dir, NULL);
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "600 training images and 200 test images of 1×8×8, 3 classes"));
  lam_cli_result_clear (&r);
  /* A damaged one is found before any run: exit 3, as train says. */
  g_autofree char *labels = g_build_filename (dir, "train-labels-idx1-ubyte", NULL);
  g_assert_true (g_file_set_contents (labels, "\0\0\x08\x01\0\0\x02\x58", 8, NULL));
  r = lam_test_run_lamina ("info", "--data", dir, NULL);
  assert_exit (r, 3, "train-labels-idx1-ubyte");
  g_assert_cmpstr (r.out, ==, "");
  lam_cli_result_clear (&r);
  remove_tree (dir);
}

static void
test_train_save_eval (void)
{
  g_autofree char *dir = make_bars_dir ();
  g_autofree char *weights = g_build_filename (dir, "bars.safetensors", NULL);
  LamCliResult r = lam_test_run_lamina (
    "train", "--data", dir, "--model", "flatten,linear:16,relu,linear:3", "--epochs", "3",
    "--batch-size", "20", "--lr", "0.01", "--json", "--device", "cpu", "--save", weights, NULL);
  assert_exit (r, 0, NULL);

  /* One JSON object per line: start, three epochs, test, finished. */
  g_auto (GStrv) lines = g_strsplit (g_strstrip (r.out), "\n", -1);
  int epochs = 0;
  double test_accuracy = -1;
  for (int i = 0; lines[i] != NULL; i++) {
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (parser, lines[i], -1, &error);
    g_assert_no_error (error);
    JsonObject *object = json_node_get_object (json_parser_get_root (parser));
    const char *event = json_object_get_string_member (object, "event");
    if (g_str_equal (event, "epoch")) {
      epochs++;
      g_assert_cmpint (json_object_get_int_member (object, "epoch"), ==, epochs);
      g_assert_true (json_object_has_member (object, "val_accuracy"));
      g_assert_cmpfloat (json_object_get_double_member (object, "seconds"), >, 0);
    } else if (g_str_equal (event, "test")) {
      test_accuracy = json_object_get_double_member (object, "test_accuracy");
    }
  }
  g_assert_cmpint (epochs, ==, 3);
  g_assert_cmpfloat (test_accuracy, >=, 0.9);
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("eval", "--load", weights, "--data", dir, "--json", "--device", "cpu",
                           NULL);
  assert_exit (r, 0, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, r.out, -1, &error);
  g_assert_no_error (error);
  JsonObject *object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (object, "accuracy"),
                                  test_accuracy, 1e-6);
  g_assert_cmpint (json_object_get_int_member (object, "images"), ==, 200);
  lam_cli_result_clear (&r);
  /* Without --data: the dataset they were trained on, not Fashion-MNIST. */
  r = lam_test_run_lamina ("eval", "--load", weights, "--json", "--device", "cpu", NULL);
  assert_exit (r, 0, NULL);
  g_autoptr (JsonParser) same_parser = json_parser_new ();
  json_parser_load_from_data (same_parser, r.out, -1, &error);
  g_assert_no_error (error);
  object = json_node_get_object (json_parser_get_root (same_parser));
  g_assert_cmpint (json_object_get_int_member (object, "images"), ==, 200);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (object, "accuracy"),
                                  test_accuracy, 1e-6);
  lam_cli_result_clear (&r);

  /* Weights that lie about their size are refused with exit code 4. */
  g_assert_true (g_file_set_contents (weights, "\x40\0\0\0\0\0\0\0{}", 10, NULL));
  r = lam_test_run_lamina ("eval", "--load", weights, "--data", dir, NULL);
  assert_exit (r, 4, "bars");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("eval", "--load", "/nonexistent/model.safetensors", NULL);
  assert_exit (r, 4, "/nonexistent/model");
  lam_cli_result_clear (&r);

  remove_tree (dir);
}

/* Epoch figures from the JSON lines of a run: train_loss and val_loss by
 * 1-based epoch. */
static int
read_epochs (const char *out, double *train_loss, double *val_loss, int max)
{
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  int n = 0;
  for (int i = 0; lines[i] != NULL; i++) {
    if (*lines[i] != '{')
      continue;
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (parser, lines[i], -1, &error);
    g_assert_no_error (error);
    JsonObject *object = json_node_get_object (json_parser_get_root (parser));
    if (!g_str_equal (json_object_get_string_member (object, "event"), "epoch"))
      continue;
    int epoch = (int) json_object_get_int_member (object, "epoch");
    g_assert_cmpint (epoch, >=, 1);
    g_assert_cmpint (epoch, <=, max);
    train_loss[epoch - 1] = json_object_get_double_member (object, "train_loss");
    val_loss[epoch - 1] = json_object_get_double_member (object, "val_loss");
    n++;
  }
  return n;
}

static void
test_project_continue_export (void)
{
  g_autofree char *dir = make_bars_dir ();
  g_autofree char *straight = g_build_filename (dir, "straight.lamina", NULL);
  g_autofree char *part = g_build_filename (dir, "part.lamina", NULL);
  g_autofree char *more = g_build_filename (dir, "more.lamina", NULL);
  double want_train[2], want_val[2], got_train[3], got_val[3];

  LamCliResult r =
    lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:16,relu,linear:3",
                         "--epochs", "2", "--batch-size", "20", "--lr", "0.01", "--json",
                         "--device", "cpu", "--no-test", "--save", straight, NULL);
  assert_exit (r, 0, NULL);
  g_assert_cmpint (read_epochs (r.out, want_train, want_val, 2), ==, 2);
  lam_cli_result_clear (&r);

  /* One epoch, saved; then one more from the project, written back. */
  r = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:16,relu,linear:3",
                           "--epochs", "1", "--batch-size", "20", "--lr", "0.01", "--json",
                           "--device", "cpu", "--no-test", "--save", part, NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("train", "--load", part, "--epochs", "1", "--json", NULL);
  assert_exit (r, 0, NULL);
  g_assert_cmpint (read_epochs (r.out, got_train, got_val, 2), ==, 1);
  /* The same epoch 2 as the unbroken run; the JSON lines print 6 digits. */
  g_assert_cmpfloat_with_epsilon (got_train[1], want_train[1], 2e-6);
  g_assert_cmpfloat_with_epsilon (got_val[1], want_val[1], 2e-6);
  lam_cli_result_clear (&r);

  /* The project now holds both epochs in its one run, and where it got to. */
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  json_parser_load_from_file (parser, part, &error);
  g_assert_no_error (error);
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonArray *runs = json_object_get_array_member (root, "runs");
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  JsonObject *run = json_array_get_object_element (runs, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (run, "epochs")), ==, 2);
  JsonObject *resume = json_object_get_object_member (root, "resume");
  g_assert_cmpint (json_object_get_int_member (resume, "epochs_done"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (resume, "step"), ==, 54);

  /* --save writes the continued run elsewhere and leaves the project. */
  g_autofree char *before = NULL;
  g_assert_true (g_file_get_contents (part, &before, NULL, NULL));
  r = lam_test_run_lamina ("train", "--load", part, "--epochs", "1", "--save", more, NULL);
  assert_exit (r, 0, "");
  g_assert_nonnull (strstr (r.out, "epoch 3 of 3"));
  lam_cli_result_clear (&r);
  g_autofree char *after = NULL;
  g_assert_true (g_file_get_contents (part, &after, NULL, NULL));
  g_assert_cmpstr (before, ==, after);
  g_autofree char *more_weights = g_build_filename (dir, "more.safetensors", NULL);
  g_assert_true (g_file_test (more_weights, G_FILE_TEST_IS_REGULAR));

  /* A PyTorch script from the project, with the project's settings. */
  g_autofree char *script = g_build_filename (dir, "more.py", NULL);
  r = lam_test_run_lamina ("export", "--pytorch", "--load", more, "-o", script, NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (script, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "more.safetensors"));
  g_assert_nonnull (strstr (text, "BATCH_SIZE = 20"));
  g_assert_nonnull (strstr (text, "LEARNING_RATE = 0.01"));

  /* Bad input: each refused, saying why, and the project is kept. */
  r = lam_test_run_lamina ("train", "--load", part, "--model", "mlp", NULL);
  assert_exit (r, 2, "--model cannot change a saved run");
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("train", "--load", part, "--padding-mode", "reflect", NULL);
  assert_exit (r, 2, "--padding-mode cannot change a saved run");
  lam_cli_result_clear (&r);
  g_autofree char *missing = g_build_filename (dir, "missing.lamina", NULL);
  r = lam_test_run_lamina ("train", "--load", missing, NULL);
  assert_exit (r, 2, "missing.lamina");
  lam_cli_result_clear (&r);
  g_autofree char *weights = g_build_filename (dir, "part.safetensors", NULL);
  g_assert_true (g_file_set_contents (weights, "\x40\0\0\0\0\0\0\0{}", 10, NULL));
  r = lam_test_run_lamina ("train", "--load", part, NULL);
  assert_exit (r, 4, "part.safetensors");
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("export", "--pytorch", "--load", part, "-o", script, NULL);
  assert_exit (r, 4, "part.safetensors");
  lam_cli_result_clear (&r);
  g_clear_pointer (&after, g_free);
  g_assert_true (g_file_get_contents (part, &after, NULL, NULL));
  g_assert_cmpstr (before, ==, after);
  g_assert_true (g_file_set_contents (part, "{\"format\": \"lamina-project\", \"version\": 9}",
                                      -1, NULL));
  r = lam_test_run_lamina ("train", "--load", part, NULL);
  assert_exit (r, 4, "written by a newer Lamina (format 9); this version reads up to 1");
  lam_cli_result_clear (&r);

  remove_tree (dir);
}

/* --padding-mode reaches the run's settings: the project records it and
 * the PyTorch script pads its crops the same way. */
static void
test_train_padding_mode (void)
{
  g_autofree char *dir = make_bars_dir ();
  g_autofree char *project = g_build_filename (dir, "reflect.lamina", NULL);
  LamCliResult r = lam_test_run_lamina (
    "train", "--data", dir, "--model", "flatten,linear:3", "--epochs", "1", "--crop-padding", "2",
    "--padding-mode", "reflect", "--device", "cpu", "--no-test", "--save", project, NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);

  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  json_parser_load_from_file (parser, project, &error);
  g_assert_no_error (error);
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonObject *training = json_object_get_object_member (root, "training");
  g_assert_cmpint (json_object_get_int_member (training, "crop_padding"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (training, "padding_mode"), ==, "reflect");

  r = lam_test_run_lamina ("export", "--pytorch", "--load", project, "-o", "-", NULL);
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "transforms.RandomCrop((8, 8), padding=2, "
                                   "padding_mode=\"reflect\")"));
  lam_cli_result_clear (&r);
  remove_tree (dir);
}

/* What a run refuses before it starts, and how it ends when it diverges. */
static void
test_train_refusals (void)
{
  g_autofree char *dir = make_bars_dir ();

  /* An input the user wrote that the data does not have. */
  LamCliResult r =
    lam_test_run_lamina ("train", "--data", dir, "--model", "input=3x32x32,flatten,linear:3", NULL);
  assert_exit (r, 4, "input is 3×32×32");
  g_assert_nonnull (strstr (r.err, "1×8×8"));
  lam_cli_result_clear (&r);

  /* -0 is 0, and says so. */
  r = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--epochs", "1",
                           "--val-fraction", "-0", "--no-test", "--device", "cpu", NULL);
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, ", validation 0%,"));
  lam_cli_result_clear (&r);

  /* A model far larger than memory: refused at once with the estimate,
   * never left to the kernel's OOM killer. */
  r = lam_test_run_lamina ("train", "--data", dir, "--model",
                           "flatten,linear:4000000,linear:4000,linear:3", NULL);
  assert_exit (r, 4, "make the layers smaller");
  g_assert_nonnull (strstr (r.err, "GB to train"));
  lam_cli_result_clear (&r);

  /* Adam at a learning rate of 100 on Fashion-MNIST stays finite but
   * diverges: exit 1 and the reason, as a NaN loss ends. */
  r = lam_test_run_lamina ("train", "--model", "mlp", "--optimizer", "adam", "--lr", "100",
                           "--epochs", "2", "--no-test", NULL);
  assert_exit (r, 1, "times its start");
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("train", "--model", "mlp", "--optimizer", "sgd", "--lr", "50",
                           "--epochs", "1", "--no-test", NULL);
  assert_exit (r, 1, "The loss");
  lam_cli_result_clear (&r);

  /* A std above 0 whose reciprocal is infinite: refused before a run
   * whose every pixel above the mean would be infinite, and whose project
   * could not be opened again. */
  g_autofree char *tiny = g_build_filename (dir, "tiny.lamina", NULL);
  r = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--normalize",
                           "0/1e-45", "--save", tiny, NULL);
  assert_exit (r, 2, "each STD must be at least 1e-6");
  g_assert_false (g_file_test (tiny, G_FILE_TEST_EXISTS));
  lam_cli_result_clear (&r);

  /* A sensible rate on the same data is not called divergent. */
  r = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:64,relu,linear:3",
                           "--optimizer", "adam", "--lr", "0.01", "--epochs", "3", NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  remove_tree (dir);
}

/* Sets the std of the project's "weights" to the JSON text std. */
static void
set_weights_std (const char *project, const char *std)
{
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (project, &text, NULL, NULL));
  const char *weights = strstr (text, "\"weights\" : {");
  g_assert_nonnull (weights);
  const char *from = strstr (weights, "\"std\" : [");
  g_assert_nonnull (from);
  const char *to = strchr (from, ']');
  g_assert_nonnull (to);
  g_autofree char *head = g_strndup (text, from - text);
  g_autofree char *edited = g_strconcat (head, "\"std\" : ", std, to + 1, NULL);
  g_assert_true (g_file_set_contents (project, edited, -1, NULL));
}

/* A run with Nesterov momentum, continued from its project, goes on with
 * Nesterov momentum: the epoch after the resume matches the unbroken run's
 * and the project written back still says so. */
static void
test_project_continue_nesterov (void)
{
  g_autofree char *dir = make_bars_dir ();
  g_autofree char *straight = g_build_filename (dir, "straight.lamina", NULL);
  g_autofree char *part = g_build_filename (dir, "part.lamina", NULL);
  double want_train[2], want_val[2], got_train[2], got_val[2];
  const char *model = "flatten,linear:16,relu,linear:3";

  /* A small rate keeps the losses off 0 in the six digits the JSON prints,
   * where a lost Nesterov term would not show. */
  LamCliResult r = lam_test_run_lamina ("train", "--data", dir, "--model", model, "--epochs", "2",
                                        "--batch-size", "20", "--optimizer", "sgd", "--lr", "0.002",
                                        "--momentum", "0.9", "--nesterov", "--json", "--device",
                                        "cpu", "--no-test", "--save", straight, NULL);
  assert_exit (r, 0, NULL);
  g_assert_cmpint (read_epochs (r.out, want_train, want_val, 2), ==, 2);
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--data", dir, "--model", model, "--epochs", "1",
                           "--batch-size", "20", "--optimizer", "sgd", "--lr", "0.002",
                           "--momentum", "0.9", "--nesterov", "--json", "--device", "cpu",
                           "--no-test", "--save", part, NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("train", "--load", part, "--epochs", "1", "--json", NULL);
  assert_exit (r, 0, NULL);
  g_assert_cmpint (read_epochs (r.out, got_train, got_val, 2), ==, 1);
  g_test_message ("epoch 2 train loss %g resumed, %g unbroken", got_train[1], want_train[1]);
  g_assert_cmpfloat_with_epsilon (got_train[1], want_train[1], 2e-6);
  g_assert_cmpfloat_with_epsilon (got_val[1], want_val[1], 2e-6);
  lam_cli_result_clear (&r);

  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  json_parser_load_from_file (parser, part, &error);
  g_assert_no_error (error);
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonObject *optimizer =
    json_object_get_object_member (json_object_get_object_member (root, "training"), "optimizer");
  g_assert_true (json_object_get_boolean_member (optimizer, "nesterov"));
  remove_tree (dir);
}

/* A project whose weights carry a normalisation the loader cannot use is
 * refused by what predicts with it, naming the field, where export
 * --predictions and explain used to print critical warnings, predict
 * class 0 for every image and exit 0. */
static void
test_project_bad_normalisation (void)
{
  g_autofree char *dir = make_bars_dir ();
  g_autofree char *project = g_build_filename (dir, "p.lamina", NULL);
  g_autofree char *png = g_build_filename (dir, "0.png", NULL);
  LamCliResult r =
    lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--epochs", "1",
                         "--device", "cpu", "--no-test", "--save", project, NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);

  const struct
  {
    const char *std, *said;
  } cases[] = {
    { "[0.0]", "\"weights.std[0]\" is 0;" },
    { "[-1]", "\"weights.std[0]\" is -1;" },
    { "[1e39]", "\"weights.std[0]\" is 1e+39;" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    set_weights_std (project, cases[i].std);
    r = lam_test_run_lamina ("export", "--predictions", "--load", project, "--count", "3",
                             "--device", "cpu", NULL);
    assert_exit (r, 4, cases[i].said);
    g_assert_null (strstr (r.err, "CRITICAL"));
    g_assert_cmpstr (r.out, ==, "");
    lam_cli_result_clear (&r);
    r = lam_test_run_lamina ("explain", "--load", project, "--data", dir, "--index", "0",
                             "--device", "cpu", "-o", png, NULL);
    assert_exit (r, 4, cases[i].said);
    g_assert_null (strstr (r.err, "CRITICAL"));
    g_assert_false (g_file_test (png, G_FILE_TEST_EXISTS));
    lam_cli_result_clear (&r);
  }
  remove_tree (dir);
}

/* The number after "key": in a line of --json output. */
static double
json_figure (const char *out, const char *key)
{
  g_autofree char *quoted = g_strdup_printf ("\"%s\": ", key);
  const char *at = strstr (out, quoted);
  g_assert_nonnull (at);
  return g_ascii_strtod (at + strlen (quoted), NULL);
}

/* eval, explain and train read saved weights in any of the forms a save
 * writes: a project, its weights file, a checkpoint. Weights a diverged
 * run saved are refused by each, with the reason. */
static void
test_weights_any_saved_form (void)
{
  g_autofree char *dir = make_bars_dir ();
  g_autofree char *project = g_build_filename (dir, "p.lamina", NULL);
  g_autofree char *weights = g_build_filename (dir, "p.safetensors", NULL);
  g_autofree char *png = g_build_filename (dir, "why.png", NULL);
  LamCliResult r =
    lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--epochs", "1",
                         "--device", "cpu", "--no-test", "--save", project, NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("eval", "--load", project, "--data", dir, "--device", "cpu", "--json",
                           NULL);
  assert_exit (r, 0, NULL);
  double project_accuracy = json_figure (r.out, "accuracy");
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("eval", "--load", weights, "--data", dir, "--device", "cpu", "--json",
                           NULL);
  assert_exit (r, 0, NULL);
  g_assert_cmpfloat (json_figure (r.out, "accuracy"), ==, project_accuracy);
  g_assert_cmpfloat (project_accuracy, >, 0.5);
  lam_cli_result_clear (&r);
  /* A project's weights continue as a checkpoint, saved elsewhere: written
   * back, they would no longer be the project's. */
  r = lam_test_run_lamina ("train", "--load", weights, "--data", dir, "--epochs", "1", "--device",
                           "cpu", "--no-test", NULL);
  assert_exit (r, 2, "--load: ");
  g_assert_nonnull (strstr (r.err, "is one of the files of the project"));
  lam_cli_result_clear (&r);
  /* Not in the dataset's folder, whose files a run reads. */
  g_autofree char *out_dir = g_dir_make_tmp ("lamina-cli-out-XXXXXX", NULL);
  g_autofree char *checkpoint = g_build_filename (out_dir, "c.safetensors", NULL);
  g_autofree char *checkpoint_json = g_build_filename (out_dir, "c.json", NULL);
  r = lam_test_run_lamina ("train", "--load", weights, "--data", dir, "--epochs", "1", "--device",
                           "cpu", "--no-test", "--save", checkpoint, NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  /* A checkpoint continued without --save is written back as one. */
  g_autofree char *before = NULL;
  gsize before_size, after_size;
  g_assert_true (g_file_get_contents (checkpoint, &before, &before_size, NULL));
  r = lam_test_run_lamina ("train", "--load", checkpoint_json, "--data", dir, "--epochs", "1",
                           "--device", "cpu", "--no-test", NULL);
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "Saved:  "));
  lam_cli_result_clear (&r);
  g_autofree char *after = NULL;
  g_assert_true (g_file_get_contents (checkpoint, &after, &after_size, NULL));
  g_assert_cmpuint (after_size, ==, before_size);
  g_assert_true (memcmp (before, after, before_size) != 0); /* trained on */
  g_autofree char *description = NULL;
  g_assert_true (g_file_get_contents (checkpoint_json, &description, NULL, NULL));
  g_assert_nonnull (strstr (description, "\"lamina_checkpoint\""));
  r = lam_test_run_lamina ("eval", "--load", checkpoint, "--data", dir, "--device", "cpu", NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  /* Also one that lies in the dataset's folder: written back, it replaces
   * only itself, not a file the run reads as data. */
  g_autofree char *beside = g_build_filename (dir, "c.safetensors", NULL);
  g_autofree char *beside_json = g_build_filename (dir, "c.json", NULL);
  r = lam_test_run_lamina ("train", "--load", checkpoint, "--data", dir, "--epochs", "1",
                           "--device", "cpu", "--no-test", "--save", beside, NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("train", "--load", beside_json, "--data", dir, "--epochs", "1",
                           "--device", "cpu", "--no-test", NULL);
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "Saved:  "));
  lam_cli_result_clear (&r);

  /* One weight made NaN, as a diverged run once saved it. */
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) metadata = NULL;
  g_autoptr (GPtrArray) tensors = lam_safetensors_read (weights, &metadata, &error);
  g_assert_no_error (error);
  LamNamedTensor *first = g_ptr_array_index (tensors, 0);
  first->data[1] = NAN;
  g_assert_true (lam_safetensors_write (weights, tensors, metadata, &error));
  g_assert_no_error (error);
  g_autofree char *said =
    g_strdup_printf ("tensor \"%s\" holds a value that is NaN (at index 1)", first->name);

  r = lam_test_run_lamina ("eval", "--load", weights, "--data", dir, "--device", "cpu", NULL);
  assert_exit (r, 4, said);
  g_assert_nonnull (strstr (r.err, "train again"));
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("train", "--load", weights, "--data", dir, "--epochs", "1", "--device",
                           "cpu", "--no-test", "--save", checkpoint, NULL);
  assert_exit (r, 4, said);
  lam_cli_result_clear (&r);
  const char *verbs[] = { "eval", "explain", "export" };
  for (guint i = 0; i < G_N_ELEMENTS (verbs); i++) {
    if (g_str_equal (verbs[i], "explain"))
      r = lam_test_run_lamina ("explain", "--load", project, "--data", dir, "--index", "0",
                               "--device", "cpu", "-o", png, NULL);
    else if (g_str_equal (verbs[i], "export"))
      r = lam_test_run_lamina ("export", "--predictions", "--load", project, "--count", "3",
                               "--device", "cpu", NULL);
    else
      r = lam_test_run_lamina ("eval", "--load", project, "--data", dir, "--device", "cpu", NULL);
    assert_exit (r, 4, said);
    g_assert_nonnull (strstr (r.err, "opened without its trained weights"));
    g_assert_nonnull (strstr (r.err, "p.lamina has no trained weights: train it first"));
    g_assert_cmpstr (r.out, ==, "");
    lam_cli_result_clear (&r);
  }
  g_assert_false (g_file_test (png, G_FILE_TEST_EXISTS));
  remove_tree (dir);
  remove_tree (out_dir);
}

/* `lamina FILE` and `lamina gui FILE` open a project in the window; a name
 * that is not there is refused before any window, with exit code 4. */
static void
test_open_project_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("lamina-cli-open-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *missing = g_build_filename (dir, "missing.lamina", NULL);

  LamCliResult r = lam_test_run_lamina ("help", NULL);
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "lamina PROJECT.lamina"));
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina (missing, NULL);
  assert_exit (r, 4, "missing.lamina: no such project file");
  g_assert_null (strstr (r.err, "cannot open a window"));
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("gui", missing, NULL);
  assert_exit (r, 4, "missing.lamina: no such project file");
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("gui", "--data", dir, missing, NULL);
  assert_exit (r, 4, "no such project file");
  lam_cli_result_clear (&r);

  /* A name with a folder in it is a file, not a mistyped command. */
  g_autofree char *other = g_build_filename (dir, "lesson", NULL);
  r = lam_test_run_lamina (other, NULL);
  assert_exit (r, 4, "lesson: no such project file");
  lam_cli_result_clear (&r);

  /* A file that is there is taken for the window, which needs a display. */
  g_autofree char *present = g_build_filename (dir, "present.lamina", NULL);
  g_assert_true (g_file_set_contents (present, "{}", -1, NULL));
  r = lam_test_run_lamina (present, NULL);
  assert_exit (r, 1, "cannot open a window");
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("gui", present, NULL);
  assert_exit (r, 1, "cannot open a window");
  lam_cli_result_clear (&r);

  /* Options are still options, and unknown words still unknown commands. */
  r = lam_test_run_lamina ("--frobnicate", NULL);
  assert_exit (r, 2, "unknown command \"--frobnicate\"");
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("lesson", NULL);
  assert_exit (r, 2, "unknown command \"lesson\"");
  lam_cli_result_clear (&r);

  lam_test_remove_tree (dir);
}

/* ---- tables of numbers ---- */

/* The JSON lines of a run, parsed (each a JsonObject, in order). */
static GPtrArray *
json_lines (const char *out)
{
  GPtrArray *objects = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (int i = 0; lines[i] != NULL; i++) {
    if (*lines[i] != '{')
      continue;
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (parser, lines[i], -1, &error);
    g_assert_no_error (error);
    g_ptr_array_add (objects, json_object_ref (json_node_get_object (json_parser_get_root (parser))));
  }
  return objects;
}

static JsonObject *
find_event (GPtrArray *objects, const char *event)
{
  for (guint i = 0; i < objects->len; i++)
    if (g_str_equal (json_object_get_string_member (objects->pdata[i], "event"), event))
      return objects->pdata[i];
  g_error ("no %s event", event);
}

/* A project the window saved while training on a table: neither it nor
 * its weights keep the table's columns, so eval and explain say so
 * rather than read another dataset or point at weights that cannot be
 * read either. */
static void
test_table_project (void)
{
  g_autofree char *path =
    g_test_build_filename (G_TEST_DIST, "..", "resources", "tables", "crop-yields.csv", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("lamina-cli-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *checkpoint = g_build_filename (dir, "crops.safetensors", NULL);
  LamCliResult r =
    lam_test_run_lamina ("train", "--data", path, "--targets", "apples,oranges", "--epochs", "1",
                         "--device", "cpu", "--no-test", "--save", checkpoint, NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  g_autoptr (LamProjectFile) file = lam_project_file_load (checkpoint, &error);
  g_assert_no_error (error);
  g_free (file->dataset_dir);
  /* As the window names a table: with its chosen columns. */
  file->dataset_dir =
    g_strconcat (path, "?inputs=temperature,rainfall,humidity&targets=apples,oranges", NULL);
  g_autofree char *project = g_build_filename (dir, "window.lamina", NULL);
  g_assert_true (lam_project_file_save (file, project, &error));
  g_assert_no_error (error);

  r = lam_test_run_lamina ("eval", "--load", project, "--device", "cpu", NULL);
  assert_exit (r, 4,
               "window.lamina was trained on a table of numbers, and a project does not "
               "keep the table's columns");
  g_assert_null (strstr (r.err, "--load"));
  lam_cli_result_clear (&r);
  g_autofree char *png = g_build_filename (dir, "why.png", NULL);
  r = lam_test_run_lamina ("explain", "--load", project, "--index", "0", "--device", "cpu", "-o",
                           png, NULL);
  assert_exit (r, 4, "window.lamina was trained on a table of numbers; explain draws maps");
  lam_cli_result_clear (&r);
  remove_tree (dir);
}

/* The lesson of the tutorials' first chapter: crop yields from the weather,
 * a linear model trained with MSE. The table's noise has variance 16
 * (resources/tables/README.md): a model that learned the rule is near it. */
static void
test_table_crop_yields (void)
{
  g_autofree char *path =
    g_test_build_filename (G_TEST_DIST, "..", "resources", "tables", "crop-yields.csv", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("lamina-cli-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *weights = g_build_filename (dir, "crops.safetensors", NULL);
  LamCliResult r = lam_test_run_lamina (
    "train", "--data", path, "--inputs", "temperature,rainfall,humidity", "--targets",
    "apples,oranges", "--model", "linear:2", "--loss", "mse", "--optimizer", "sgd", "--lr", "0.05",
    "--batch-size", "16", "--epochs", "60", "--device", "cpu", "--json", "--save", weights, NULL);
  assert_exit (r, 0, NULL);
  g_autoptr (GPtrArray) events = json_lines (r.out);
  JsonObject *start = find_event (events, "start");
  g_assert_cmpstr (json_object_get_string_member (start, "task"), ==, "regression");
  g_assert_cmpint (json_object_get_int_member (start, "train_rows"), ==, 240);
  g_assert_cmpint (json_object_get_int_member (start, "test_rows"), ==, 60);
  g_assert_cmpstr (json_object_get_string_member (start, "loss"), ==, "mse");
  JsonArray *inputs = json_object_get_array_member (start, "inputs");
  g_assert_cmpuint (json_array_get_length (inputs), ==, 3);
  JsonObject *temperature = json_array_get_object_element (inputs, 0);
  g_assert_cmpstr (json_object_get_string_member (temperature, "name"), ==, "temperature");
  /* Drawn uniform in [60, 105): the mean of 240 draws is near 82.5. */
  g_assert_cmpfloat (fabs (json_object_get_double_member (temperature, "mean") - 82.5), <, 3);
  JsonArray *targets = json_object_get_array_member (start, "targets");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (targets, 1),
                                                  "name"), ==, "oranges");

  int epochs = 0;
  double first_mse = 0, last_mse = 0;
  for (guint i = 0; i < events->len; i++) {
    JsonObject *o = events->pdata[i];
    if (!g_str_equal (json_object_get_string_member (o, "event"), "epoch"))
      continue;
    g_assert_true (json_object_get_null_member (o, "train_accuracy"));
    double mse = json_object_get_double_member (o, "train_mse");
    if (epochs++ == 0)
      first_mse = mse;
    last_mse = mse;
    g_assert_true (json_object_has_member (o, "val_r2"));
  }
  g_assert_cmpint (epochs, ==, 60);
  g_assert_cmpfloat (last_mse, <, first_mse / 5);
  g_assert_cmpfloat (last_mse, <, 20);

  JsonObject *test = find_event (events, "test");
  double test_mse = json_object_get_double_member (test, "test_mse");
  g_test_message ("crop yields: train MSE %.3f, test MSE %.3f, R² %.4f", last_mse, test_mse,
                  json_object_get_double_member (test, "test_r2"));
  g_assert_cmpfloat (test_mse, <, 25);
  g_assert_cmpfloat (json_object_get_double_member (test, "test_r2"), >, 0.95);
  g_assert_cmpint (json_object_get_int_member (test, "rows"), ==, 60);
  JsonArray *per_target = json_object_get_array_member (test, "targets");
  g_assert_cmpuint (json_array_get_length (per_target), ==, 2);
  JsonObject *apples = json_array_get_object_element (per_target, 0);
  g_assert_cmpstr (json_object_get_string_member (apples, "name"), ==, "apples");
  g_assert_cmpfloat (json_object_get_double_member (apples, "r2"), >, 0.9);

  /* The saved weights evaluate to the same figures: the checkpoint says
   * which table, columns, test rows and standardisation. */
  LamCliResult e =
    lam_test_run_lamina ("eval", "--load", weights, "--device", "cpu", "--json", NULL);
  assert_exit (e, 0, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  json_parser_load_from_data (parser, e.out, -1, &error);
  g_assert_no_error (error);
  JsonObject *eval = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (eval, "rows"), ==, 60);
  g_assert_cmpfloat (json_object_get_double_member (eval, "mse"), ==, test_mse);
  g_assert_cmpfloat (json_object_get_double_member (eval, "r2"), ==,
                     json_object_get_double_member (test, "test_r2"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (eval, "targets")), ==, 2);
  lam_cli_result_clear (&e);
  /* One prediction a test row: apples and oranges, in tonnes. */
  e = lam_test_run_lamina ("export", "--predictions", "--load", weights, "--device", "cpu", NULL);
  assert_exit (e, 0, NULL);
  g_auto (GStrv) lines = g_strsplit (g_strstrip (e.out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 60);
  g_auto (GStrv) first = g_strsplit (lines[0], ",", -1);
  g_assert_cmpuint (g_strv_length (first), ==, 2);
  g_assert_cmpfloat (g_ascii_strtod (first[0], NULL), >, 0);
  lam_cli_result_clear (&e);
  lam_cli_result_clear (&r);
  remove_tree (dir);

  /* The bundled table by its name, for people: the columns' statistics,
   * the task, and the figures in words. */
  r = lam_test_run_lamina ("train", "--data", "study-time", "--targets", "score", "--optimizer",
                           "sgd", "--lr", "0.1", "--epochs", "30", "--device", "cpu", NULL);
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "Task:   regression: predict score from 1 input"));
  g_assert_nonnull (strstr (r.out, "inputs  hours"));
  g_assert_nonnull (strstr (r.out, "Model:  input=1,linear:1"));
  g_assert_nonnull (strstr (r.out, "R²"));
  g_assert_nonnull (strstr (r.out, "on 20 rows"));
  lam_cli_result_clear (&r);

  /* The mean absolute error as the loss. */
  r = lam_test_run_lamina ("train", "--data", "study-time", "--targets", "score", "--loss", "l1",
                           "--optimizer", "sgd", "--lr", "0.1", "--epochs", "30", "--device", "cpu",
                           "--json", NULL);
  assert_exit (r, 0, NULL);
  g_autoptr (GPtrArray) l1 = json_lines (r.out);
  g_assert_cmpstr (json_object_get_string_member (find_event (l1, "start"), "loss"), ==, "l1");
  /* score = 30 + 5.5 hours + N(0, 4²): a fitted line's MAE is near 4 √(2/π) ≈ 3.2. */
  g_assert_cmpfloat (json_object_get_double_member (find_event (l1, "test"), "test_mae"), <, 5);
  lam_cli_result_clear (&r);
}

/* A table whose target column holds text: a classification, its distinct
 * values the classes. The blobs' best linear boundary errs on about 0.5%
 * of the rows. */
static void
test_table_classification (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("lamina-cli-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (path, 600, 4, 3, 8);

  LamCliResult r =
    lam_test_run_lamina ("train", "--data", path, "--targets", "class", "--epochs", "20", "--lr",
                         "0.01", "--batch-size", "32", "--device", "cpu", "--json", NULL);
  assert_exit (r, 0, NULL);
  g_autoptr (GPtrArray) events = json_lines (r.out);
  JsonObject *start = find_event (events, "start");
  g_assert_cmpstr (json_object_get_string_member (start, "task"), ==, "classification");
  g_assert_cmpstr (json_object_get_string_member (start, "model"), ==, "input=4,linear:3");
  g_assert_cmpstr (json_object_get_string_member (start, "loss"), ==, "cross_entropy");
  JsonArray *classes = json_object_get_array_member (start, "classes");
  g_assert_cmpuint (json_array_get_length (classes), ==, 3);
  g_assert_cmpstr (json_array_get_string_element (classes, 1), ==, "c1");
  JsonObject *test = find_event (events, "test");
  double accuracy = json_object_get_double_member (test, "test_accuracy");
  g_test_message ("blobs from the command line: test accuracy %.4f", accuracy);
  g_assert_cmpfloat (accuracy, >=, 0.95);
  g_assert_cmpint (json_object_get_int_member (test, "rows"), ==, 120);
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("train", "--data", path, "--targets", "class", "--epochs", "2",
                           "--device", "cpu", NULL);
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "Task:   classification: class into 3 classes (c0, c1, c2) "
                                   "from 4 inputs"));
  g_assert_nonnull (strstr (r.out, "on 120 rows"));
  lam_cli_result_clear (&r);

  /* l1 compares with numbers, not classes. */
  r = lam_test_run_lamina ("train", "--data", path, "--targets", "class", "--loss", "l1",
                           "--epochs", "1", "--device", "cpu", NULL);
  assert_exit (r, 4, "the loss l1 compares outputs with numbers");
  lam_cli_result_clear (&r);
  /* Too few outputs for the classes. */
  r = lam_test_run_lamina ("train", "--data", path, "--targets", "class", "--model", "linear:2",
                           "--epochs", "1", "--device", "cpu", NULL);
  assert_exit (r, 4, "make the last layer linear:3");
  lam_cli_result_clear (&r);
  remove_tree (dir);
}

static void
test_table_info (void)
{
  LamCliResult r = lam_test_run_lamina ("info", "--data", "crop-yields", "--json", NULL);
  assert_exit (r, 0, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, r.out, -1, &error);
  g_assert_no_error (error);
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (root, "rows"), ==, 300);
  g_assert_cmpstr (json_object_get_string_member (root, "separator"), ==, "comma");
  JsonArray *columns = json_object_get_array_member (root, "columns");
  g_assert_cmpuint (json_array_get_length (columns), ==, 5);
  JsonObject *rainfall = json_array_get_object_element (columns, 1);
  g_assert_cmpstr (json_object_get_string_member (rainfall, "name"), ==, "rainfall");
  g_assert_cmpstr (json_object_get_string_member (rainfall, "kind"), ==, "number");
  /* Drawn uniform in [40, 140). */
  g_assert_cmpfloat (json_object_get_double_member (rainfall, "min"), >=, 40);
  g_assert_cmpfloat (json_object_get_double_member (rainfall, "max"), <, 140);
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("info", "--data", "study-time", NULL);
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "100 rows of 2 columns separated by a comma"));
  g_assert_nonnull (strstr (r.out, "hours"));
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("info", "--data", "study-time", "--model", "linear:1", NULL);
  assert_exit (r, 2, "is a table: plan a model on it with --input N");
  lam_cli_result_clear (&r);
}

static void
test_table_refusals (void)
{
  g_autofree char *path =
    g_test_build_filename (G_TEST_DIST, "..", "resources", "tables", "crop-yields.csv", NULL);
  struct
  {
    const char *args[8];
    int code;
    const char *says;
  } cases[] = {
    { { "--targets", "pears" }, 3,
      "no column named \"pears\" for a target; the header has: \"temperature\", \"rainfall\", "
      "\"humidity\", \"apples\", \"oranges\"" },
    { { "--targets", "apples", "--inputs", "rainfall,apples" }, 3,
      "column \"apples\" is both an input and a target" },
    { { "--targets", "apples,oranges", "--model", "linear:3" }, 4,
      "the model ends with 3 outputs but crop-yields.csv (train) has 2 targets (apples, "
      "oranges): make the last layer linear:2" },
    { { "--targets", "apples", "--loss", "cross_entropy" }, 4,
      "the loss cross_entropy compares outputs with classes" },
    { { "--targets", "apples", "--hflip" }, 2, "a table of numbers is not augmented" },
    { { "--targets", "apples", "--normalize", "0.5/0.5" }, 2, "MEAN/STD apply to images" },
    { { "--targets", "apples", "--task", "sorting" }, 2,
      "--task: expected regression or classification" },
    { { "--targets", "apples", "--loss", "hinge" }, 2, "--loss: expected cross_entropy, nll" },
    { { "--targets", "apples", "--save", "/tmp/x.lamina" }, 2, "not supported yet" },
    { { NULL }, 2,
      "--targets: name the column or columns to predict; " },
    { { "--targets", "" }, 2, "--targets: name the column or columns to predict; " },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const char **a = cases[i].args;
    LamCliResult r = lam_test_run_lamina ("train", "--data", path, "--epochs", "1", "--device",
                                          "cpu", a[0], a[1], a[2], a[3], a[4], a[5], NULL);
    assert_exit (r, cases[i].code, cases[i].says);
    lam_cli_result_clear (&r);
  }
  LamCliResult r = lam_test_run_lamina ("lr-find", "--data", path, "--targets", "", NULL);
  assert_exit (r, 2, "--targets: name the column or columns of");
  lam_cli_result_clear (&r);
  /* Table options on images. */
  g_autofree char *dir = make_bars_dir ();
  r = lam_test_run_lamina ("train", "--data", dir, "--targets", "y", NULL);
  assert_exit (r, 2, "apply to a table of numbers");
  lam_cli_result_clear (&r);
  remove_tree (dir);
}

/* A 2-D playground by name: the window's sets, on the command line. */
static void
test_playground (void)
{
  LamCliResult result =
    lam_test_run_lamina ("train", "--data", "playground:xor?points=200&noise=0.05", "--epochs",
                         "40", "--batch-size", "16", "--lr", "0.03", "--json", NULL);
  lam_test_check_exit (&result, 0, NULL);
  /* The "test" line holds the test accuracy of the default small network. */
  g_auto (GStrv) lines = g_strsplit (g_strstrip (result.out), "\n", -1);
  const char *last = NULL;
  for (int i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], "\"event\": \"test\"") != NULL)
      last = lines[i];
  g_assert_nonnull (last);
  g_test_message ("%s", last);
  g_autoptr (JsonNode) node = json_from_string (last, NULL);
  g_assert_nonnull (node);
  JsonObject *object = json_node_get_object (node);
  g_assert_true (json_object_has_member (object, "test_accuracy"));
  g_assert_cmpfloat (json_object_get_double_member (object, "test_accuracy"), >=, 0.9);
  g_free (result.out);
  g_free (result.err);

  result = lam_test_run_lamina ("train", "--data", "playground:donut", NULL);
  lam_test_check_exit (&result, 3, "unknown playground set \"donut\"");
  g_free (result.out);
  g_free (result.err);
}

/* A model without parameters trains (its loss measured, nothing changed)
 * and saves a project holding its weights, none of them, which eval,
 * export and train --load read: it was saved without them, a GLib
 * critical on the way, and then "has no trained weights". */
static void
test_no_parameters_project (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (120, 3);
  g_autofree char *project = g_build_filename (dir, "none.lamina", NULL);
  LamCliResult r =
    lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,log_softmax", "--epochs", "1",
                         "--device", "cpu", "--save", project, NULL);
  assert_exit (r, 0, NULL);
  g_assert_null (strstr (r.err, "CRITICAL"));
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("eval", "--load", project, NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  g_autofree char *script = g_build_filename (dir, "none.py", NULL);
  r = lam_test_run_lamina ("export", "--pytorch", "--load", project, "-o", script, NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("train", "--load", project, "--epochs", "1", "--device", "cpu", NULL);
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "Epoch 2/2"));
  lam_cli_result_clear (&r);
  lam_test_remove_tree (dir);
}

/* lamina bench --scaling times every width and batch size and draws them;
 * a chart it cannot write is refused before any training. */
static void
test_bench_scaling_chart (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (120, 3);
  g_autofree char *chart = g_build_filename (dir, "scaling.svg", NULL);
  LamCliResult r =
    lam_test_run_lamina ("bench", "--scaling", "--data", dir, "--chart", chart, "--json", NULL);
  assert_exit (r, 0, NULL);
  g_auto (GStrv) lines = g_strsplit (g_strstrip (r.out), "\n", -1);
  guint n_points = 0;
  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], "\"scaling\": true") != NULL) {
      g_autoptr (JsonNode) node = json_from_string (lines[i], NULL);
      g_assert_nonnull (node);
      JsonObject *object = json_node_get_object (node);
      g_assert_cmpfloat (json_object_get_double_member (object, "epoch_seconds"), >, 0);
      n_points++;
    }
  g_assert_cmpuint (n_points, ==, 36);
  g_assert_nonnull (strstr (r.out, "\"scaling_chart\""));
  g_autofree char *svg = NULL;
  g_assert_true (g_file_get_contents (chart, &svg, NULL, NULL));
  g_assert_nonnull (strstr (svg, "<svg"));
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("bench", "--scaling", "--data", dir, "--chart", "scaling.jpeg", NULL);
  assert_exit (r, 2, "scaling.jpeg: the chart is written as .png or .svg");
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("bench", "--data", dir, "--chart", "scaling.png", NULL);
  assert_exit (r, 2, "add --scaling");
  lam_cli_result_clear (&r);
  lam_test_remove_tree (dir);
}

/* The CIFAR-10 workload: timed on the batches asked for, on the CIFAR-10
 * folder given or on synthetic images of its format (said), refused on
 * images of another shape. */
static void
test_bench_cifar (void)
{
  g_autofree char *bars = lam_test_write_bars_dataset (60, 3);
  g_autofree char *cifar = g_dir_make_tmp ("lamina-cifar-XXXXXX", NULL);
  g_autoptr (GByteArray) records = g_byte_array_new ();
  for (int i = 0; i < 130; i++) {
    guint8 record[1 + 3072];
    record[0] = (guint8) (i % 10);
    for (int p = 0; p < 3072; p++)
      record[1 + p] = (guint8) ((p * 7 + i * 13) % 256);
    g_byte_array_append (records, record, sizeof record);
  }
  g_autofree char *batch = g_build_filename (cifar, "data_batch_1.bin", NULL);
  g_assert_true (g_file_set_contents (batch, (const char *) records->data, records->len, NULL));

  LamCliResult r = lam_test_run_lamina ("bench", "--workload", "cifar10-cnn", "--data", bars,
                                        "--cifar", cifar, "--batches", "1", "--json", NULL);
  assert_exit (r, 0, NULL);
  g_autoptr (JsonNode) node = NULL;
  g_auto (GStrv) lines = g_strsplit (r.out, "\n", -1);
  for (guint i = 0; lines[i] != NULL && node == NULL; i++)
    if (g_str_has_prefix (lines[i], "{\"workload\""))
      node = json_from_string (lines[i], NULL);
  g_assert_nonnull (node);
  JsonObject *object = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (object, "workload"), ==, "cifar10-cnn");
  g_assert_cmpint (json_object_get_int_member (object, "timed_batches"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (object, "batch_size"), ==, 128);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (object, "data"), "CIFAR-10 from"));
  g_assert_true (json_node_is_null (json_object_get_member (object, "test_accuracy")));
  g_assert_cmpfloat (json_object_get_double_member (object, "gflops"), >, 0);
  g_assert_nonnull (strstr (json_object_get_string_member (object, "model"), "conv2d:256"));
  /* The percentage is of the peak of the processor the workload ran on. */
  gboolean on_gpu = strstr (json_object_get_string_member (object, "device"), "NVIDIA") != NULL;
  g_assert_cmpstr (json_object_get_string_member (object, "peak_of"), ==,
                   on_gpu ? "GPU's" : "CPU's");
  double peak = json_object_get_double_member (object, "sgemm_peak_gflops");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (object, "percent_of_peak"),
                                  100 * json_object_get_double_member (object, "gflops") / peak,
                                  0.1);
  /* The multiply-add units' own limit, where the CPU has FMA instructions. */
  JsonNode *fma = json_object_get_member (object, "fma_peak_gflops");
  g_assert_nonnull (fma);
  if (!json_node_is_null (fma)) {
    g_assert_false (on_gpu);
    g_assert_cmpfloat (json_node_get_double (fma), >, 0);
    g_assert_cmpfloat_with_epsilon (
      json_object_get_double_member (object, "percent_of_fma_peak"),
      100 * json_object_get_double_member (object, "gflops") / json_node_get_double (fma), 0.1);
  }
  /* A cache line's round trip between two CPUs, before and after the
   * training: a time where this process may use two, else null. */
  JsonArray *round_trip = json_object_get_array_member (object, "core_round_trip_ns");
  g_assert_cmpuint (json_array_get_length (round_trip), ==, 2);
  for (guint i = 0; i < 2; i++) {
    JsonNode *ns = json_array_get_element (round_trip, i);
    if (g_get_num_processors () < 2) {
      g_assert_true (json_node_is_null (ns));
      continue;
    }
    g_assert_cmpfloat (json_node_get_double (ns), >, 0);
    g_assert_cmpfloat (json_node_get_double (ns), <, 1e6);
  }
  lam_cli_result_clear (&r);

  /* Not enough images for the batches asked for; images of another shape. */
  r = lam_test_run_lamina ("bench", "--workload", "cifar10-cnn", "--data", bars, "--cifar", cifar,
                           "--batches", "2", NULL);
  assert_exit (r, 1, "fewer than the 256 the batches asked for take");
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("bench", "--workload", "cifar10-cnn", "--data", bars, "--cifar", bars,
                           NULL);
  assert_exit (r, 1, "needs 3×32×32 images");
  lam_cli_result_clear (&r);

  /* No CIFAR-10 where Download keeps it: synthetic images, said so. */
  g_autofree char *empty = g_dir_make_tmp ("lamina-xdg-XXXXXX", NULL);
  g_autofree char *old = g_strdup (g_getenv ("XDG_DATA_HOME"));
  g_setenv ("XDG_DATA_HOME", empty, TRUE);
  r = lam_test_run_lamina ("bench", "--workload", "cifar10-cnn", "--data", bars, "--batches", "1",
                           NULL);
  if (old != NULL)
    g_setenv ("XDG_DATA_HOME", old, TRUE);
  else
    g_unsetenv ("XDG_DATA_HOME");
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "synthetic CIFAR-format images"));
  g_assert_nonnull (strstr (r.out, "timed on 1 batch (128 images), not a whole epoch"));
  /* The first touch of the model's memory is in a throwaway batch, as
   * PyTorch's is in the side-by-side script's warm-up. */
  g_assert_nonnull (
    strstr (r.out, "each workload timed after 1 untimed warm-up batch of its model"));
  lam_cli_result_clear (&r);

  lam_test_remove_tree (empty);
  lam_test_remove_tree (cifar);
  lam_test_remove_tree (bars);
}

static char *
file_bytes (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  return g_base64_encode ((const guchar *) contents, length);
}

/* No output lands on a file the same command reads: a --save onto the
 * loaded project's weights, onto the training table or a dataset file, an
 * export onto the weights it loads are refused before anything is
 * written. A --save not named .lamina writes the weights and spec, even
 * from a loaded project, which it leaves as it was. */
static void
test_outputs_spare_inputs (void)
{
  g_autofree char *dir = make_bars_dir ();
  g_autofree char *project = g_build_filename (dir, "p.lamina", NULL);
  g_autofree char *project_weights = g_build_filename (dir, "p.safetensors", NULL);
  g_autofree char *weights = g_build_filename (dir, "q.safetensors", NULL);
  g_autofree char *spec = g_build_filename (dir, "q.json", NULL);
  LamCliResult r =
    lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--epochs", "1",
                         "--device", "cpu", "--no-test", "--save", project, NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  g_autofree char *project_before = file_bytes (project);
  g_autofree char *weights_before = file_bytes (project_weights);

  r = lam_test_run_lamina ("train", "--load", project, "--save", project_weights, NULL);
  assert_exit (r, 2, "is one of the files of the project");
  lam_cli_result_clear (&r);
  g_autofree char *weights_after = file_bytes (project_weights);
  g_assert_cmpstr (weights_after, ==, weights_before);

  r = lam_test_run_lamina ("train", "--load", project, "--save", weights, "--no-test", NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  g_assert_true (g_file_test (spec, G_FILE_TEST_IS_REGULAR));
  g_autofree char *project_after = file_bytes (project);
  g_assert_cmpstr (project_after, ==, project_before);
  r = lam_test_run_lamina ("eval", "--load", weights, "--data", dir, "--device", "cpu", NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("train", "--load", project, "--epochs", "1", "--no-test", NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);

  // An export onto the weights or the spec it reads.
  g_autofree char *checkpoint_before = file_bytes (weights);
  r = lam_test_run_lamina ("export", "--pytorch", "--load", weights, "-o", weights, NULL);
  assert_exit (r, 2, "-o: writing");
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("export", "--pytorch", "--load", weights, "-o", spec, NULL);
  assert_exit (r, 2, "would overwrite a file this command reads");
  lam_cli_result_clear (&r);
  g_autofree char *checkpoint_after = file_bytes (weights);
  g_assert_cmpstr (checkpoint_after, ==, checkpoint_before);

  // A dataset's own file, by another name too.
  g_autofree char *images = g_build_filename (dir, "train-images-idx3-ubyte", NULL);
  g_autofree char *link = g_build_filename (dir, "link.safetensors", NULL);
  g_assert_cmpint (symlink (images, link), ==, 0);
  g_autofree char *images_before = file_bytes (images);
  r = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--epochs", "1",
                           "--device", "cpu", "--save", link, NULL);
  assert_exit (r, 2, "link.safetensors would overwrite a file this command reads");
  lam_cli_result_clear (&r);
  g_autofree char *images_after = file_bytes (images);
  g_assert_cmpstr (images_after, ==, images_before);

  // The table it trains on.
  g_autofree char *table = g_build_filename (dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (table, 60, 2, 2, 3);
  g_autofree char *table_before = file_bytes (table);
  r = lam_test_run_lamina ("train", "--data", table, "--targets", "class", "--epochs", "1",
                           "--device", "cpu", "--save", table, NULL);
  assert_exit (r, 2, "--save: writing");
  lam_cli_result_clear (&r);
  g_autofree char *table_after = file_bytes (table);
  g_assert_cmpstr (table_after, ==, table_before);

  // An export's script onto the data it reads: the table, an image file.
  g_autofree char *table_weights = g_build_filename (dir, "blobs.safetensors", NULL);
  r = lam_test_run_lamina ("train", "--data", table, "--targets", "class", "--epochs", "1",
                           "--device", "cpu", "--no-test", "--save", table_weights, NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("export", "--pytorch", "--load", table_weights, "-o", table, NULL);
  assert_exit (r, 2, "-o: writing");
  lam_cli_result_clear (&r);
  g_free (table_after);
  table_after = file_bytes (table);
  g_assert_cmpstr (table_after, ==, table_before);
  r = lam_test_run_lamina ("export", "--pytorch", "--load", weights, "--data", dir, "-o", images,
                           NULL);
  assert_exit (r, 2, "would overwrite a file this command reads");
  lam_cli_result_clear (&r);
  g_free (images_after);
  images_after = file_bytes (images);
  g_assert_cmpstr (images_after, ==, images_before);

  /* A new run's checkpoint onto a project's weights, a new project onto a
   * checkpoint's weights. */
  g_free (weights_before);
  weights_before = file_bytes (project_weights);
  r = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--epochs", "1",
                           "--device", "cpu", "--save", project_weights, NULL);
  assert_exit (r, 2, "is one of the files of the project");
  lam_cli_result_clear (&r);
  g_autofree char *other = g_build_filename (dir, "q.lamina", NULL);
  r = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--epochs", "1",
                           "--device", "cpu", "--save", other, NULL);
  assert_exit (r, 2, "is there already and is not this project's");
  lam_cli_result_clear (&r);
  g_autofree char *weights_last = file_bytes (project_weights);
  g_assert_cmpstr (weights_last, ==, weights_before);
  g_autofree char *checkpoint_last = file_bytes (weights);
  g_assert_cmpstr (checkpoint_last, ==, checkpoint_before);

  lam_test_remove_tree (dir);
}

/* Where an output cannot be written, the command says so before it
 * trains or draws anything. */
static void
test_outputs_checked_first (void)
{
  g_autofree char *dir = make_bars_dir ();
  g_autofree char *missing = g_build_filename (dir, "no-such-folder", "m.lamina", NULL);
  /* Names a folder entry holds, whose project's weights or checkpoint's
   * description would not fit in one (over 255 bytes). */
  g_autofree char *fill = g_strnfill (240, 'p');
  g_autofree char *project_name = g_strconcat (fill, ".lamina", NULL);
  g_autofree char *long_project = g_build_filename (dir, project_name, NULL);
  g_autofree char *checkpoint_name = g_strconcat (fill, "-weights.bin", NULL);
  g_autofree char *long_checkpoint = g_build_filename (dir, checkpoint_name, NULL);
  LamCliResult r[7];
  r[0] = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--device",
                              "cpu", "--save", missing, NULL);
  r[1] = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--device",
                              "cpu", "--save", dir, NULL);
  r[2] = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--device",
                              "cpu", "--save", "", NULL);
  g_autofree char *missing_chart = g_build_filename (dir, "no-such-folder", "chart.png", NULL);
  r[3] = lam_test_run_lamina ("bench", "--scaling", "--data", dir, "--chart", missing_chart, NULL);
  r[4] = lam_test_run_lamina ("lr-find", "--data", dir, "--model", "flatten,linear:3", "--output",
                              missing, NULL);
  r[5] = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--device",
                              "cpu", "--save", long_project, NULL);
  r[6] = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--device",
                              "cpu", "--save", long_checkpoint, NULL);
  const char *const expected[] = { "--save: cannot write",
                                   "is a folder; name a file in it",
                                   "--save: expected a file name",
                                   "--chart: cannot write",
                                   "--output: cannot write",
                                   ".optimizer.safetensors: its name is 262 bytes long",
                                   "-weights.bin.json: its name is 257 bytes long" };
  for (guint i = 0; i < G_N_ELEMENTS (r); i++) {
    assert_exit (r[i], 6, expected[i]);
    g_assert_null (strstr (r[i].out, "Epoch"));
    g_assert_null (strstr (r[i].out, "Suggested"));
    lam_cli_result_clear (&r[i]);
  }
  lam_test_remove_tree (dir);
}

/* Where the decimal mark is a comma (de_DE), --json still prints numbers
 * JSON can read, every line of it; a loss that is not a number is null. */
static void
test_json_in_any_locale (void)
{
  g_autofree char *dir = make_bars_dir ();
  g_autofree char *locales = g_build_filename (dir, "locales", NULL);
  g_autofree char *german = g_build_filename (locales, "de_DE.UTF-8", NULL);
  g_assert_cmpint (g_mkdir (locales, 0755), ==, 0);
  g_autofree char *localedef = g_find_program_in_path ("localedef");
  if (localedef != NULL) {
    const char *const argv[] = { localedef, "-i", "de_DE", "-f", "UTF-8", german, NULL };
    LamCliResult made = lam_test_spawn (NULL, argv);
    lam_cli_result_clear (&made);
  }
  gboolean have_locale = g_file_test (german, G_FILE_TEST_IS_DIR);
  if (!have_locale) {
    lam_test_remove_tree (dir);
    g_test_skip ("no de_DE locale could be made (localedef and Debian's locales package)");
    return;
  }
  g_autofree char *weights = g_build_filename (dir, "w.safetensors", NULL);
  g_setenv ("LOCPATH", locales, TRUE);
  g_setenv ("LC_ALL", "de_DE.UTF-8", TRUE);
  LamCliResult r[3];
  r[0] = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--epochs",
                              "2", "--device", "cpu", "--json", "--save", weights, NULL);
  r[1] = lam_test_run_lamina ("eval", "--load", weights, "--data", dir, "--device", "cpu", "--json",
                              NULL);
  // SGD at a rate of 1e6 diverges: its losses are not numbers.
  r[2] =
    lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--epochs", "1",
                         "--device", "cpu", "--optimizer", "sgd", "--lr", "1e6", "--json", NULL);
  g_unsetenv ("LC_ALL");
  g_unsetenv ("LOCPATH");
  assert_exit (r[0], 0, NULL);
  assert_exit (r[1], 0, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (r); i++) {
    g_auto (GStrv) lines = g_strsplit (g_strstrip (r[i].out), "\n", -1);
    for (guint k = 0; lines[k] != NULL; k++) {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      if (!json_parser_load_from_data (parser, lines[k], -1, &error))
        g_error ("run %u printed a line JSON cannot read (%s): %s", i, error->message, lines[k]);
    }
  }
  g_assert_nonnull (strstr (r[1].out, "\"accuracy\": 0."));
  for (guint i = 0; i < G_N_ELEMENTS (r); i++)
    lam_cli_result_clear (&r[i]);
  lam_test_remove_tree (dir);
}

/* A --data that is not there is named as such, whatever options came with
 * it; --normalize's numbers must fit the images: a STD of at least 1e-6
 * (1e-45 scaled every pixel past float's range) and one number, or one for
 * each channel. */
static void
test_data_and_normalize_refusals (void)
{
  g_autofree char *dir = make_bars_dir ();
  g_autofree char *missing = g_build_filename (dir, "missing.csv", NULL);
  LamCliResult r = lam_test_run_lamina ("train", "--data", missing, "--targets", "y", NULL);
  assert_exit (r, 3, "missing.csv does not exist");
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("info", "--data", missing, NULL);
  assert_exit (r, 3, "missing.csv does not exist");
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--normalize",
                           "0.5/1e-45", "--device", "cpu", NULL);
  assert_exit (r, 2, "each STD must be at least 1e-6");
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--normalize",
                           "0.1,0.9/0.5", "--device", "cpu", NULL);
  assert_exit (r, 2, "2 numbers for the 1 channel");
  lam_cli_result_clear (&r);
  r = lam_test_run_lamina ("train", "--data", dir, "--model", "flatten,linear:3", "--normalize",
                           "0.25/0.5", "--device", "cpu", "--epochs", "1", "--no-test", NULL);
  assert_exit (r, 0, NULL);
  lam_cli_result_clear (&r);
  lam_test_remove_tree (dir);
}

/* lamina bench --kernels: each product alone, its GFLOP/s those of its
 * time, against the FMA peak where the CPU has one; Adam last; refused
 * beside the workloads' options. */
static void
test_bench_kernels (void)
{
  LamCliResult r = lam_test_run_lamina ("bench", "--kernels", "--device", "cpu", "--json", NULL);
  assert_exit (r, 0, NULL);
  g_auto (GStrv) lines = g_strsplit (g_strstrip (r.out), "\n", -1);
  guint products = 0;
  gboolean adam = FALSE, sparse_shares = FALSE;
  for (guint i = 0; lines[i] != NULL; i++) {
    g_autoptr (JsonNode) node = json_from_string (lines[i], NULL);
    g_assert_nonnull (node);
    JsonObject *object = json_node_get_object (node);
    g_assert_cmpint (json_object_get_int_member (object, "threads"), ==, 1);
    double us = json_object_get_double_member (object, "microseconds");
    g_assert_cmpfloat (us, >, 0);
    if (g_str_equal (json_object_get_string_member (object, "kernel"), "adam")) {
      g_assert_cmpint (json_object_get_int_member (object, "parameters"), ==, 242762);
      g_assert_null (lines[i + 1]);
      adam = TRUE;
      continue;
    }
    products++;
    double flops = 2.0 * json_object_get_int_member (object, "m") *
                   json_object_get_int_member (object, "n") *
                   (double) json_object_get_int_member (object, "k");
    double gflops = json_object_get_double_member (object, "gflops");
    g_assert_cmpfloat_with_epsilon (gflops, flops / us / 1e3, 0.01 * gflops);
    JsonNode *fma = json_object_get_member (object, "fma_peak_gflops");
    /* Worked out from the printed figures, whose rounding grows with the
     * share: a sanitizer build's slow FMA peak put a kernel at 820%. */
    if (!json_node_is_null (fma)) {
      double share = 100 * gflops / json_node_get_double (fma);
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (object, "percent_of_fma_peak"),
                                      share, 0.05 + 1e-3 * share);
    }
    if (json_object_get_double_member (object, "nonzero") == 0.35)
      sparse_shares = TRUE;
  }
  g_assert_cmpuint (products, ==, 11);
  g_assert_true (adam);
  g_assert_true (sparse_shares);
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("bench", "--kernels", "--device", "cpu", "--threads", "2", NULL);
  assert_exit (r, 0, NULL);
  g_assert_nonnull (strstr (r.out, "Kernels alone on 2 threads"));
  g_assert_nonnull (strstr (r.out, "dy 35% nonzero (mlp-b128's)"));
  g_assert_nonnull (strstr (r.out, "Adam over the MLP's 242762 parameters"));
  lam_cli_result_clear (&r);

  r = lam_test_run_lamina ("bench", "--kernels", "--workload", "mlp-b32", NULL);
  assert_exit (r, 2, "--kernels times the kernels alone");
  lam_cli_result_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/usage-errors", test_usage_errors);
  g_test_add_func ("/cli/train-help-defaults", test_train_help_defaults);
  g_test_add_func ("/cli/open-project-file", test_open_project_file);
  g_test_add_func ("/cli/bad-model", test_bad_model);
  g_test_add_func ("/cli/model-file-any-bytes", test_model_file_any_bytes);
  g_test_add_func ("/cli/bad-data", test_bad_data);
  g_test_add_func ("/cli/train-refusals", test_train_refusals);
  g_test_add_func ("/cli/info", test_info);
  g_test_add_func ("/cli/train-save-eval", test_train_save_eval);
  g_test_add_func ("/cli/project-continue-export", test_project_continue_export);
  g_test_add_func ("/cli/project-continue-nesterov", test_project_continue_nesterov);
  g_test_add_func ("/cli/project-bad-normalisation", test_project_bad_normalisation);
  g_test_add_func ("/cli/weights-any-saved-form", test_weights_any_saved_form);
  g_test_add_func ("/cli/train-padding-mode", test_train_padding_mode);
  g_test_add_func ("/cli/table/crop-yields", test_table_crop_yields);
  g_test_add_func ("/cli/table/project", test_table_project);
  g_test_add_func ("/cli/table/classification", test_table_classification);
  g_test_add_func ("/cli/no-parameters-project", test_no_parameters_project);
  g_test_add_func ("/cli/table/info", test_table_info);
  g_test_add_func ("/cli/table/refusals", test_table_refusals);
  g_test_add_func ("/cli/playground", test_playground);
  g_test_add_func ("/cli/bench/scaling-chart", test_bench_scaling_chart);
  g_test_add_func ("/cli/bench/cifar", test_bench_cifar);
  g_test_add_func ("/cli/bench/kernels", test_bench_kernels);
  g_test_add_func ("/cli/outputs-spare-inputs", test_outputs_spare_inputs);
  g_test_add_func ("/cli/outputs-checked-first", test_outputs_checked_first);
  g_test_add_func ("/cli/json-in-any-locale", test_json_in_any_locale);
  g_test_add_func ("/cli/data-and-normalize-refusals", test_data_and_normalize_refusals);
  return g_test_run ();
}
