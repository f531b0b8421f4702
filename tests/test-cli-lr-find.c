/* `lamina lr-find`, run as a user would: the suggestion, the table, the
 * JSON and CSV curves, and the exit codes of bad command lines. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "lam-test-util.h"

#define XOR "playground:xor?points=200&noise=0.05"

static void
test_table (void)
{
  g_auto (LamCliResult) result = lam_test_run_lamina ("lr-find", "--data", XOR, NULL);
  lam_test_check_exit (&result, 0, NULL);
  g_assert_nonnull (strstr (result.out, "Sweep:  adam, batch 64, lr 1e-06 to 1 in 100 steps"));
  g_assert_nonnull (strstr (result.out, "smoothed"));
  const char *line = strstr (result.out, "Suggested learning rate: ");
  g_assert_nonnull (line);
  double lr = g_ascii_strtod (line + strlen ("Suggested learning rate: "), NULL);
  g_test_message ("suggested %g", lr);
  g_assert_cmpfloat (lr, >=, 1e-7);
  g_assert_cmpfloat (lr, <=, 1);
  /* The table marks the minimum; its rows run from the first rate up. */
  g_assert_nonnull (strstr (result.out, "<- minimum"));
  g_assert_nonnull (strstr (result.out, "         1e-06 "));
}

static void
test_json_and_csv (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-lr-find-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (dir, "curve.csv", NULL);
  g_auto (LamCliResult) result =
    lam_test_run_lamina ("lr-find", "--data", XOR, "--optimizer", "sgd", "--steps", "30", "--start",
                         "1e-4", "--end", "10", "--json", "--output", csv, NULL);
  lam_test_check_exit (&result, 0, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, result.out, -1, &error);
  g_assert_no_error (error);
  JsonObject *object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (object, "event"), ==, "lr_find");
  g_assert_cmpstr (json_object_get_string_member (object, "optimizer"), ==, "sgd");
  g_assert_cmpint (json_object_get_int_member (object, "planned"), ==, 30);
  int steps = (int) json_object_get_int_member (object, "steps");
  g_assert_cmpint (steps, >=, 2);
  g_assert_cmpint (steps, <=, 30);
  double suggested = json_object_get_double_member (object, "suggested_lr");
  g_assert_cmpfloat (suggested, >=, 1e-5);
  g_assert_cmpfloat (suggested, <=, 10);
  JsonArray *curve = json_object_get_array_member (object, "curve");
  g_assert_cmpint (json_array_get_length (curve), ==, steps);
  JsonArray *first = json_array_get_array_element (curve, 0);
  g_assert_cmpfloat (fabs (json_array_get_double_element (first, 0) - 1e-4), <, 1e-12);
  if (steps == 30) {
    JsonArray *last = json_array_get_array_element (curve, 29);
    g_assert_cmpfloat (fabs (json_array_get_double_element (last, 0) - 10) / 10, <, 1e-9);
  }

  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (g_strchomp (text), "\n", -1);
  g_assert_cmpstr (lines[0], ==, "lr,loss,smoothed_loss");
  g_assert_cmpint (g_strv_length (lines), ==, steps + 1);
  g_assert_true (g_str_has_prefix (lines[1], "0.0001,"));
  g_remove (csv);
  g_rmdir (dir);
}

/* A regression sweeps too (the plane: one output, mse). */
static void
test_regression (void)
{
  g_auto (LamCliResult) result =
    lam_test_run_lamina ("lr-find", "--data", "playground:plane?points=400", "--steps", "40", NULL);
  lam_test_check_exit (&result, 0, NULL);
  g_assert_nonnull (strstr (result.out, "linear:1"));
  g_assert_nonnull (strstr (result.out, "Suggested learning rate: "));
}

static void
test_errors (void)
{
  struct
  {
    const char *args[6];
    int code;
    const char *says;
  } cases[] = {
    { { "--data", XOR, "--start", "1", "--end", "0.1" }, 2, "--end (0.1) must be above" },
    { { "--data", XOR, "--steps", "1" }, 2, "--steps: expected a whole number from 2" },
    { { "--data", XOR, "--start", "0" }, 2, "--start: expected a number above 0" },
    { { "--data", XOR, "--optimizer", "rmsprop" }, 2, "expected sgd, adam or adamw" },
    { { "--data", XOR, "--batch-size", "0" }, 2, "--batch-size" },
    { { "--data", XOR, "--momentum", "2" }, 2, "--momentum" },
    { { "--data", XOR, "surplus" }, 2, "unexpected argument \"surplus\"" },
    { { "--data", XOR, "--loss", "hinge" }, 2, "--loss" },
    { { "--data", XOR, "--targets", "y" }, 2, "--targets applies to a table" },
    { { "--data", "crop-yields" }, 2, "--targets: name the column" },
    { { "--data", "/nonexistent/lamina-data" }, 3, NULL },
    { { "--data", "playground:donut" }, 3, "donut" },
    { { "--data", XOR, "--model", "bogus:3" }, 4, "unknown layer \"bogus\"" },
    { { "--data", XOR, "--model", "linear:1" }, 4, "make the last layer linear:2" },
    { { "--data", XOR, "--model", "input=5,linear:2" }, 4, "the model's input is 5 but" },
    { { "--data", "/nonexistent/table.csv", "--targets", "y" }, 3, "table.csv does not exist" },
    { { "--data", XOR, "--output", "/nonexistent/dir/curve.csv" }, 6, "curve.csv" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const char *const *a = cases[i].args;
    g_auto (LamCliResult) result =
      lam_test_run_lamina ("lr-find", a[0], a[1], a[2], a[3], a[4], a[5], NULL);
    g_test_message ("case %u: %s", i, result.err);
    lam_test_check_exit (&result, cases[i].code, cases[i].says);
  }
}

/* --output names the table it sweeps: refused before the sweep, the
 * table's bytes as they were. */
static void
test_output_spares_table (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-lr-find-XXXXXX", NULL);
  g_assert_nonnull (dir);
  g_autofree char *table = g_build_filename (dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (table, 60, 2, 2, 3);
  g_autofree char *before = NULL;
  g_assert_true (g_file_get_contents (table, &before, NULL, NULL));
  g_auto (LamCliResult) result =
    lam_test_run_lamina ("lr-find", "--data", table, "--targets", "class", "--output", table, NULL);
  lam_test_check_exit (&result, 2, "--output: writing");
  g_autofree char *after = NULL;
  g_assert_true (g_file_get_contents (table, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, before);
  lam_test_remove_tree (dir);
}

static void
test_help (void)
{
  g_auto (LamCliResult) result = lam_test_run_lamina ("lr-find", "--help", NULL);
  lam_test_check_exit (&result, 0, NULL);
  const char *options[] = { "--data", "--model", "--optimizer", "--batch-size", "--start",
                            "--end", "--steps", "--json", "--output" };
  for (guint i = 0; i < G_N_ELEMENTS (options); i++)
    if (strstr (result.out, options[i]) == NULL)
      g_error ("lamina lr-find --help does not mention %s:\n%s", options[i], result.out);
  g_assert_nonnull (strstr (result.out, "(default 1e-06)"));
  g_assert_nonnull (strstr (result.out, "(default 100)"));

  /* And lamina --help lists the command. */
  const char *argv[] = { g_getenv ("LAMINA_BINARY"), "--help", NULL };
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (out, "  lr-find "));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/lr-find/table", test_table);
  g_test_add_func ("/cli/lr-find/json-and-csv", test_json_and_csv);
  g_test_add_func ("/cli/lr-find/regression", test_regression);
  g_test_add_func ("/cli/lr-find/errors", test_errors);
  g_test_add_func ("/cli/lr-find/output-spares-table", test_output_spares_table);
  g_test_add_func ("/cli/lr-find/help", test_help);
  return g_test_run ();
}
