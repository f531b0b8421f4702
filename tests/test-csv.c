/* Tables of numbers from CSV files: the reader's dialects, every error it
 * names, the task it infers, the test split and the standardisation. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "lam-dataset.h"
#include "lam-test-util.h"

/* ---- helpers ---- */

static char *tmp_root;

static char *
write_csv (const char *name, const char *text)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (tmp_root, name, NULL);
  g_file_set_contents (path, text, (gssize) strlen (text), &error);
  g_assert_no_error (error);
  return path;
}

static const char *const *
names (const char *comma_list)
{
  /* Kept until the program ends: tests hand these to options. */
  static GPtrArray *keep = NULL;
  if (keep == NULL)
    keep = g_ptr_array_new ();
  char **list = g_strsplit (comma_list, ",", -1);
  g_ptr_array_add (keep, list);
  return (const char *const *) list;
}

/* Loads with every row in train. */
static LamDataset *
load_all (const char *path, const char *inputs, const char *targets, GError **error)
{
  LamCsvOptions options;
  lam_csv_options_init (&options);
  options.inputs = inputs ? names (inputs) : NULL;
  options.targets = names (targets);
  LamDataset *train = NULL;
  if (!lam_dataset_load_csv (path, &options, &train, NULL, error))
    return NULL;
  return train;
}

/* The error a file gives, with every row in train. */
static GError *
load_error (const char *name, const char *text, const char *inputs, const char *targets)
{
  g_autofree char *path = write_csv (name, text);
  GError *error = NULL;
  g_autoptr (LamDataset) ds = load_all (path, inputs, targets, &error);
  g_assert_null (ds);
  g_assert_nonnull (error);
  g_assert_true (error->domain == LAM_DATASET_ERROR);
  g_test_message ("%s: %s", name, error->message);
  return error;
}

static void
assert_contains (const char *text, const char *part)
{
  if (strstr (text, part) == NULL)
    g_error ("\"%s\" does not contain \"%s\"", text, part);
}

static void
assert_row (const LamDataset *ds, int row, const float *expected)
{
  const float *x = lam_dataset_get_row (ds, row);
  for (int j = 0; j < ds->n_features; j++)
    g_assert_cmpfloat (x[j], ==, expected[j]);
}

/* ---- dialects ---- */

static void
check_small_regression (const LamDataset *ds)
{
  g_assert_cmpint (ds->task, ==, LAM_TASK_REGRESSION);
  g_assert_true (lam_dataset_is_table (ds));
  g_assert_null (ds->images);
  /* Views ask every dataset for a picture; a table answers none, quietly
   * (a warning here is fatal under the test harness). */
  g_assert_null (lam_dataset_get_image (ds, 0));
  g_assert_null (ds->labels);
  g_assert_cmpint (ds->n, ==, 3);
  g_assert_cmpint (ds->n_features, ==, 2);
  g_assert_cmpint (ds->channels, ==, 1);
  g_assert_cmpint (ds->height, ==, 1);
  g_assert_cmpint (ds->width, ==, 2);
  g_assert_cmpuint (lam_dataset_image_size (ds), ==, 2);
  LamShape shape = lam_dataset_get_input_shape (ds);
  LamShape flat = lam_shape_flat (2);
  g_assert_true (lam_shape_equal (&shape, &flat));
  g_assert_cmpstr (ds->feature_names[0], ==, "a");
  g_assert_cmpstr (ds->feature_names[1], ==, "b c");
  g_assert_null (ds->feature_names[2]);
  g_assert_cmpint (ds->n_targets, ==, 1);
  g_assert_cmpint (lam_dataset_get_n_outputs (ds), ==, 1);
  g_assert_cmpstr (ds->target_names[0], ==, "y");
  assert_row (ds, 0, (float[]) { 1.5f, -2 });
  assert_row (ds, 1, (float[]) { 3, 4e-3f });
  assert_row (ds, 2, (float[]) { -0.25f, 1e6f });
  g_assert_cmpfloat (ds->targets[0], ==, 10);
  g_assert_cmpfloat (ds->targets[1], ==, 20.5f);
  g_assert_cmpfloat (ds->targets[2], ==, -7);
}

static void
test_dialect (gconstpointer data)
{
  const char *text = data;
  g_autofree char *path = write_csv ("dialect.csv", text);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = load_all (path, NULL, "y", &error);
  g_assert_no_error (error);
  check_small_regression (ds);
}

static void
test_quotes (void)
{
  /* Quoted names with the separator, a doubled quote and a line break; a
   * quoted number; a class with a comma in it. */
  g_autofree char *path = write_csv (
    "quotes.csv", "\"x, first\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
                  "1,\"2\",\"red, dark\"\n"
                  "3, \"4\" ,blue\n"
                  "5,6,\"red, dark\"\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = load_all (path, NULL, "two\nlines", &error);
  g_assert_no_error (error);
  g_assert_cmpint (ds->task, ==, LAM_TASK_CLASSIFICATION);
  g_assert_cmpstr (ds->feature_names[0], ==, "x, first");
  g_assert_cmpstr (ds->feature_names[1], ==, "say \"hi\"");
  g_assert_cmpint (ds->n_classes, ==, 2);
  g_assert_cmpstr (ds->class_names[0], ==, "blue");
  g_assert_cmpstr (ds->class_names[1], ==, "red, dark");
  g_assert_cmpint (ds->labels[0], ==, 1);
  g_assert_cmpint (ds->labels[1], ==, 0);
  g_assert_cmpint (ds->labels[2], ==, 1);
  assert_row (ds, 1, (float[]) { 3, 4 });
}

/* A column not asked for may hold anything, line breaks included. */
static void
test_line_numbers (void)
{
  g_autofree char *path = write_csv ("lines-ok.csv", "a,\"b\nb\",y\n"
                                                     "\n"
                                                     "1,\"x\ny\",3\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = load_all (path, "a", "y", &error);
  g_assert_no_error (error);
  g_assert_cmpint (ds->n, ==, 1);
  g_assert_cmpfloat (ds->targets[0], ==, 3);
}

/* The line a message names is the file's, counting lines inside quotes. */
static void
test_line_numbers_input (void)
{
  g_autoptr (GError) error = load_error ("lines.csv",
                                         "a,\"b\nb\",y\n"
                                         "\n"
                                         "1,\"2\",3\n"
                                         "1,\"x\ny\",3\n",
                                         NULL, "y");
  g_assert_cmpint (error->code, ==, LAM_DATASET_ERROR_FORMAT);
  assert_contains (error->message,
                   "lines.csv, line 5, column \"b\\nb\": expected a number, found \"x\\ny\"");
}

static void
assert_one_line (const GError *error, const char *part)
{
  assert_contains (error->message, part);
  if (strpbrk (error->message, "\r\n") != NULL)
    g_error ("\"%s\" breaks the line", error->message);
}

/* A quoted column name may hold line breaks, quotes and tabs: messages
 * show it escaped, on one line, so that no name reads as two. */
static void
test_error_names_one_line (void)
{
  const char *header = "\"a\nb\",\"say \"\"hi\"\"\",\"t\tab\r\n\",y\n";
  g_autofree char *bad_cell = g_strconcat (header, "1,2,3,4\n5,\"x\ny\",7,8\n", NULL);
  g_autoptr (GError) cell = load_error ("names.csv", bad_cell, NULL, "y");
  assert_one_line (cell, "line 5, column \"say \\\"hi\\\"\": expected a number, found \"x\\ny\"");
  g_autofree char *empty_cell = g_strconcat (header, "1,2,,4\n", NULL);
  g_autoptr (GError) empty = load_error ("names.csv", empty_cell, "y", "t\tab\r\n");
  assert_one_line (empty, "column \"t\\tab\\r\\n\": an empty cell");
  g_autofree char *rows = g_strconcat (header, "1,2,3,4\n", NULL);
  g_autoptr (GError) unknown = load_error ("names.csv", rows, NULL, "b");
  assert_one_line (unknown, "no column named \"b\" for a target; the header has: \"a\\nb\", "
                            "\"say \\\"hi\\\"\", \"t\\tab\\r\\n\", \"y\"");
  g_autoptr (GError) both = load_error ("names.csv", rows, "a\nb", "a\nb");
  assert_one_line (both, "column \"a\\nb\" is both an input and a target");
  g_autoptr (GError) twice = load_error ("names.csv", "\"a\nb\",\"a\nb\",y\n1,2,3\n", NULL, "y");
  assert_one_line (twice, "columns 1 and 2 are both named \"a\\nb\"");
  g_autoptr (GError) one =
    load_error ("names.csv", "x,\"c\nd\"\n1,\"k\nl\"\n2,\"k\nl\"\n", NULL, "c\nd");
  assert_one_line (one, "column \"c\\nd\" holds one value only (\"k\\nl\")");
}

static void
test_unused_text_column (void)
{
  /* A text column that is neither input nor target does not matter. */
  g_autofree char *path = write_csv ("unused.csv", "id,x,y\nfirst,1,2\nsecond,3,4\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = load_all (path, "x", "y", &error);
  g_assert_no_error (error);
  g_assert_cmpint (ds->n_features, ==, 1);
  g_assert_cmpint (ds->n, ==, 2);
}

static void
test_empty_header_name (void)
{
  /* pandas writes its index under an empty name. */
  g_autofree char *path = write_csv ("index.csv", ",x,y\n0,1,2\n1,3,4\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = load_all (path, NULL, "y", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ds->feature_names[0], ==, "column 1");
  g_assert_cmpstr (ds->feature_names[1], ==, "x");
}

/* ---- errors ---- */

static void
test_error_not_a_number (void)
{
  g_autoptr (GError) error =
    load_error ("nan.csv", "a,b,y\n1,2,3\n4,five,6\n", NULL, "y");
  g_assert_cmpint (error->code, ==, LAM_DATASET_ERROR_FORMAT);
  assert_contains (error->message, "nan.csv, line 3, column \"b\": expected a number, found "
                                   "\"five\"");
}

static void
test_error_target_not_a_number (void)
{
  g_autoptr (GError) error =
    load_error ("targets.csv", "a,y1,y2\n1,2,3\n4,5,lots\n", "a", "y1,y2");
  g_assert_cmpint (error->code, ==, LAM_DATASET_ERROR_FORMAT);
  assert_contains (error->message, "line 3, column \"y2\": expected a number, found \"lots\"");
  assert_contains (error->message, "several target columns");
}

static void
test_error_number_forms (void)
{
  const char *bad[] = { "inf", "nan", "0x10", "1e999", "1.5kg", "--1", ".", "1e", "" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *text = g_strdup_printf ("a,y\n1,2\n%s,3\n", bad[i]);
    g_autoptr (GError) error = load_error ("forms.csv", text, NULL, "y");
    g_assert_cmpint (error->code, ==, LAM_DATASET_ERROR_FORMAT);
    assert_contains (error->message, "line 3, column \"a\"");
  }
  g_autoptr (GError) range = load_error ("forms.csv", "a,y\n1e39,1\n", NULL, "y");
  assert_contains (range->message, "beyond the range of 32-bit floats");
  g_autoptr (GError) empty = load_error ("forms.csv", "a,y\n,1\n", NULL, "y");
  assert_contains (empty->message, "an empty cell (missing values are not supported)");
  g_autoptr (GError) empty_target = load_error ("forms.csv", "a,y\n1,\n", NULL, "y");
  assert_contains (empty_target->message, "line 2, column \"y\": an empty cell");
}

static void
test_error_decimal_comma (void)
{
  g_autoptr (GError) error = load_error ("comma.csv", "a;y\n1,5;2\n", NULL, "y");
  assert_contains (error->message, "found \"1,5\" (decimal commas are not read");
}

static void
test_error_ragged (void)
{
  g_autoptr (GError) fewer = load_error ("ragged.csv", "a,b,y\n1,2,3\n4,5\n", NULL, "y");
  g_assert_cmpint (fewer->code, ==, LAM_DATASET_ERROR_FORMAT);
  assert_contains (fewer->message, "ragged.csv, line 3: 2 fields, but the header names 3 columns");
  g_autoptr (GError) more = load_error ("ragged.csv", "a,b,y\n1,2,3,\n", NULL, "y");
  assert_contains (more->message, "line 2: 4 fields, but the header names 3 columns");
}

static void
test_error_empty (void)
{
  g_autoptr (GError) empty = load_error ("empty.csv", "", NULL, "y");
  g_assert_cmpint (empty->code, ==, LAM_DATASET_ERROR_FORMAT);
  assert_contains (empty->message, "empty.csv: the file is empty");
  g_autoptr (GError) blank = load_error ("blank.csv", "\n  \n\r\n", NULL, "y");
  assert_contains (blank->message, "the file is empty");
  g_autoptr (GError) bom = load_error ("bom.csv", "\xEF\xBB\xBF", NULL, "y");
  assert_contains (bom->message, "the file is empty");
}

static void
test_error_header_only (void)
{
  g_autoptr (GError) error = load_error ("header.csv", "a,b,y\n\n", NULL, "y");
  g_assert_cmpint (error->code, ==, LAM_DATASET_ERROR_FORMAT);
  assert_contains (error->message, "header.csv: a header line but no rows of data");
}

static void
test_error_no_header (void)
{
  g_autoptr (GError) error = load_error ("noheader.csv", "1,2,3\n4,5,6\n", NULL, "3");
  g_assert_cmpint (error->code, ==, LAM_DATASET_ERROR_FORMAT);
  assert_contains (error->message, "line 1: expected a header line naming the columns, found "
                                   "numbers");
}

static void
test_error_unknown_column (void)
{
  g_autoptr (GError) target = load_error ("cols.csv", "temp,rain,apples\n1,2,3\n", NULL, "pears");
  g_assert_cmpint (target->code, ==, LAM_DATASET_ERROR_COLUMN);
  assert_contains (target->message,
                   "no column named \"pears\" for a target; the header has: \"temp\", \"rain\", "
                   "\"apples\"");
  g_autoptr (GError) input = load_error ("cols.csv", "temp,rain,apples\n1,2,3\n", "temp,snow",
                                         "apples");
  assert_contains (input->message, "no column named \"snow\" for an input");
}

static void
test_error_target_is_input (void)
{
  g_autoptr (GError) error = load_error ("both.csv", "a,b,y\n1,2,3\n", "a,y", "y");
  g_assert_cmpint (error->code, ==, LAM_DATASET_ERROR_COLUMN);
  assert_contains (error->message, "column \"y\" is both an input and a target");
  g_autoptr (GError) twice = load_error ("both.csv", "a,b,y\n1,2,3\n", "a,a", "y");
  assert_contains (twice->message, "named twice among the inputs");
  g_autoptr (GError) all = load_error ("both.csv", "a,y\n1,2\n", NULL, "a,y");
  assert_contains (all->message, "every column is a target");
  g_autoptr (GError) duplicate = load_error ("both.csv", "a,a,y\n1,2,3\n", NULL, "y");
  assert_contains (duplicate->message, "columns 1 and 2 are both named \"a\"");
}

static void
test_error_quotes (void)
{
  g_autoptr (GError) open = load_error ("open.csv", "a,y\n1,\"2\n3,4\n", NULL, "y");
  g_assert_cmpint (open->code, ==, LAM_DATASET_ERROR_FORMAT);
  assert_contains (open->message, "open.csv, line 2: the quoted field 2 begun here is never closed");
  g_autoptr (GError) junk = load_error ("junk.csv", "a,y\n\"1\"x,2\n", NULL, "y");
  assert_contains (junk->message, "line 2: after the closing quote of field 1, expected a comma "
                                  "or the end of the line, found 'x'");
}

static void
test_error_nul (void)
{
  g_autofree char *path = g_build_filename (tmp_root, "nul.csv", NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, "a,y\n1,\0002\n", 10, &error);
  g_assert_no_error (error);
  g_autoptr (LamDataset) ds = load_all (path, NULL, "y", &error);
  g_assert_null (ds);
  g_assert_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT);
  assert_contains (error->message, "line 2: a NUL byte");
}

static void
test_error_missing_file (void)
{
  g_autofree char *path = g_build_filename (tmp_root, "absent.csv", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = load_all (path, NULL, "y", &error);
  g_assert_null (ds);
  g_assert_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND);
  assert_contains (error->message, "absent.csv: no such file");
}

static void
test_error_too_many_columns (void)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (int k = 0; k <= LAM_CSV_MAX_COLUMNS; k++)
    g_string_append_printf (s, "%sc%d", k ? "," : "", k);
  g_string_append (s, "\n");
  g_autoptr (GError) error = load_error ("wide.csv", s->str, NULL, "c0");
  g_assert_cmpint (error->code, ==, LAM_DATASET_ERROR_TOO_LARGE);
  assert_contains (error->message, "wide.csv, line 1: more than 1000 columns");
}

static void
test_error_too_many_rows (void)
{
  g_autoptr (GString) s = g_string_new ("x,y\n");
  for (int i = 0; i <= LAM_CSV_MAX_ROWS; i++)
    g_string_append (s, "1,2\n");
  g_autoptr (GError) error = load_error ("long.csv", s->str, NULL, "y");
  g_assert_cmpint (error->code, ==, LAM_DATASET_ERROR_TOO_LARGE);
  assert_contains (error->message, "long.csv, line 1000002: more than 1000000 rows");
}

static void
test_error_too_large_file (void)
{
  /* A sparse file: the size is refused before a byte is read. */
  g_autofree char *path = g_build_filename (tmp_root, "huge.csv", NULL);
  FILE *f = fopen (path, "w");
  g_assert_nonnull (f);
  g_assert_cmpint (ftruncate (fileno (f), (off_t) LAM_CSV_MAX_BYTES + 1), ==, 0);
  fclose (f);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = load_all (path, NULL, "y", &error);
  g_assert_null (ds);
  g_assert_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE);
  assert_contains (error->message, "huge.csv: the file is");
  g_unlink (path);
}

/* ---- tasks ---- */

static void
test_task_text_classes (void)
{
  g_autofree char *path = write_csv ("iris.csv", "len,wid,species\n"
                                                 "5.1,3.5,setosa\n"
                                                 "7.0,3.2,versicolor\n"
                                                 "6.3,3.3,virginica\n"
                                                 "4.9,3.0,setosa\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = load_all (path, NULL, "species", &error);
  g_assert_no_error (error);
  g_assert_cmpint (ds->task, ==, LAM_TASK_CLASSIFICATION);
  g_assert_cmpint (ds->n_classes, ==, 3);
  g_assert_cmpint (lam_dataset_get_n_outputs (ds), ==, 3);
  g_assert_cmpint (ds->n_targets, ==, 0);
  g_assert_null (ds->targets);
  g_assert_cmpstr (ds->class_names[0], ==, "setosa");
  g_assert_cmpstr (ds->class_names[2], ==, "virginica");
  g_assert_cmpstr (ds->target_names[0], ==, "species");
  guint8 expected[] = { 0, 1, 2, 0 };
  g_assert_cmpmem (ds->labels, 4, expected, 4);
}

static void
test_task_integer_classes (void)
{
  /* Few whole numbers are classes, in numeric order; "07" is 7. */
  g_autofree char *path = write_csv ("digits.csv", "x,label\n1,10\n2,7\n3,07\n4,-1\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = load_all (path, NULL, "label", &error);
  g_assert_no_error (error);
  g_assert_cmpint (ds->task, ==, LAM_TASK_CLASSIFICATION);
  g_assert_cmpint (ds->n_classes, ==, 3);
  g_assert_cmpstr (ds->class_names[0], ==, "-1");
  g_assert_cmpstr (ds->class_names[1], ==, "7");
  g_assert_cmpstr (ds->class_names[2], ==, "10");
  guint8 expected[] = { 2, 1, 1, 0 };
  g_assert_cmpmem (ds->labels, 4, expected, 4);
}

static void
test_task_many_integers_regress (void)
{
  g_autoptr (GString) s = g_string_new ("hours,score\n");
  for (int i = 0; i < 30; i++)
    g_string_append_printf (s, "%d,%d\n", i, 40 + 2 * i);
  g_autofree char *path = write_csv ("scores.csv", s->str);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = load_all (path, NULL, "score", &error);
  g_assert_no_error (error);
  g_assert_cmpint (ds->task, ==, LAM_TASK_REGRESSION);
  g_assert_cmpfloat (ds->targets[29], ==, 98);

  /* Asked for, they are classes after all. */
  LamCsvOptions options;
  lam_csv_options_init (&options);
  options.targets = names ("score");
  options.task_set = TRUE;
  options.task = LAM_TASK_CLASSIFICATION;
  g_autoptr (LamDataset) classes = NULL;
  g_assert_true (lam_dataset_load_csv (path, &options, &classes, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (classes->n_classes, ==, 30);
  g_assert_cmpstr (classes->class_names[29], ==, "98");
}

static void
test_task_forced_regression (void)
{
  g_autofree char *path = write_csv ("forced.csv", "x,y\n1,0\n2,1\n3,0\n");
  LamCsvOptions options;
  lam_csv_options_init (&options);
  options.targets = names ("y");
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) auto_task = NULL;
  g_assert_true (lam_dataset_load_csv (path, &options, &auto_task, NULL, &error));
  g_assert_cmpint (auto_task->task, ==, LAM_TASK_CLASSIFICATION);
  options.task_set = TRUE;
  options.task = LAM_TASK_REGRESSION;
  g_autoptr (LamDataset) values = NULL;
  g_assert_true (lam_dataset_load_csv (path, &options, &values, NULL, &error));
  g_assert_cmpint (values->task, ==, LAM_TASK_REGRESSION);
  g_assert_cmpfloat (values->targets[1], ==, 1);

  g_autofree char *text = write_csv ("forced-text.csv", "x,y\n1,a\n2,b\n");
  g_autoptr (LamDataset) none = NULL;
  g_assert_false (lam_dataset_load_csv (text, &options, &none, NULL, &error));
  g_assert_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT);
  assert_contains (error->message, "line 2, column \"y\": expected a number, found \"a\"");
}

static void
test_task_class_errors (void)
{
  g_autoptr (GString) s = g_string_new ("x,name\n");
  for (int i = 0; i <= LAM_CSV_MAX_CLASSES; i++)
    g_string_append_printf (s, "%d,n%d\n", i, i);
  g_autoptr (GError) many = load_error ("many.csv", s->str, NULL, "name");
  g_assert_cmpint (many->code, ==, LAM_DATASET_ERROR_LABEL);
  assert_contains (many->message, "column \"name\" has more than 256 distinct values");

  g_autoptr (GError) one = load_error ("one.csv", "x,kind\n1,cat\n2,cat\n", NULL, "kind");
  g_assert_cmpint (one->code, ==, LAM_DATASET_ERROR_LABEL);
  assert_contains (one->message, "holds one value only (\"cat\")");

  g_autofree char *path = write_csv ("two.csv", "x,a,b\n1,u,v\n");
  LamCsvOptions options;
  lam_csv_options_init (&options);
  options.targets = names ("a,b");
  options.task_set = TRUE;
  options.task = LAM_TASK_CLASSIFICATION;
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = NULL;
  g_assert_false (lam_dataset_load_csv (path, &options, &ds, NULL, &error));
  g_assert_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_COLUMN);
  assert_contains (error->message, "classification takes one target column");
}

static void
test_multiple_targets (void)
{
  g_autofree char *path = write_csv ("multi.csv", "t,r,h,apples,oranges\n"
                                                  "73,67,43,56,70\n"
                                                  "91,88,64,81,101\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = load_all (path, "t,r,h", "apples,oranges", &error);
  g_assert_no_error (error);
  g_assert_cmpint (ds->task, ==, LAM_TASK_REGRESSION);
  g_assert_cmpint (ds->n_targets, ==, 2);
  g_assert_cmpstr (ds->target_names[1], ==, "oranges");
  float expected[] = { 56, 70, 81, 101 };
  g_assert_cmpmem (ds->targets, sizeof expected, expected, sizeof expected);
}

/* ---- split and standardisation ---- */

static void
test_split (void)
{
  int n = 103;
  g_autoptr (GString) s = g_string_new ("x,y\n");
  for (int i = 0; i < n; i++)
    g_string_append_printf (s, "%d,%d.5\n", i, i);
  g_autofree char *path = write_csv ("split.csv", s->str);
  LamCsvOptions options;
  lam_csv_options_init (&options);
  options.targets = names ("y");
  options.split_seed = 7;
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  g_assert_true (lam_dataset_load_csv (path, &options, &train, &test, &error));
  g_assert_no_error (error);
  /* round(0.2 × 103) = 21 rows held out. */
  g_assert_cmpint (test->n, ==, 21);
  g_assert_cmpint (train->n, ==, 82);
  g_assert_cmpstr (train->name, ==, "split.csv (train)");
  g_assert_cmpstr (test->name, ==, "split.csv (test)");

  /* The test rows are the 21 of smallest hash, in file order; the rows
   * carry their index in x. */
  guint64 hashes[103];
  for (int i = 0; i < n; i++)
    hashes[i] = lam_csv_row_hash (7, (guint64) i);
  int below = 0;
  for (int k = 0; k < test->n; k++) {
    int row = (int) test->features[k];
    if (k > 0)
      g_assert_cmpfloat (test->features[k], >, test->features[k - 1]);
    int smaller = 0;
    for (int i = 0; i < n; i++)
      smaller += hashes[i] < hashes[row];
    g_assert_cmpint (smaller, <, 21);
    below++;
  }
  g_assert_cmpint (below, ==, 21);
  for (int k = 1; k < train->n; k++)
    g_assert_cmpfloat (train->features[k], >, train->features[k - 1]);
  g_assert_cmpfloat (train->targets[0], ==, train->features[0] + 0.5f);

  /* The same seed, the same rows; another seed, other rows. */
  g_autoptr (LamDataset) train2 = NULL;
  g_autoptr (LamDataset) test2 = NULL;
  g_assert_true (lam_dataset_load_csv (path, &options, &train2, &test2, &error));
  g_assert_cmpmem (test2->features, 21 * sizeof (float), test->features, 21 * sizeof (float));
  options.split_seed = 8;
  g_autoptr (LamDataset) train3 = NULL;
  g_autoptr (LamDataset) test3 = NULL;
  g_assert_true (lam_dataset_load_csv (path, &options, &train3, &test3, &error));
  g_assert_true (memcmp (test3->features, test->features, 21 * sizeof (float)) != 0);

  /* No test part asked for, or none at fraction 0. */
  options.test_fraction = 0;
  g_autoptr (LamDataset) all = NULL;
  g_autoptr (LamDataset) no_test = NULL;
  g_assert_true (lam_dataset_load_csv (path, &options, &all, &no_test, &error));
  g_assert_null (no_test);
  g_assert_cmpint (all->n, ==, n);
  g_assert_cmpstr (all->name, ==, "split.csv");

  /* A single row stays in train. */
  g_autofree char *one = write_csv ("one-row.csv", "x,y\n1,2\n");
  options.test_fraction = 0.5;
  g_autoptr (LamDataset) one_train = NULL;
  g_autoptr (LamDataset) one_test = NULL;
  g_assert_true (lam_dataset_load_csv (one, &options, &one_train, &one_test, &error));
  g_assert_cmpint (one_train->n, ==, 1);
  g_assert_null (one_test);
}

static void
test_standardize (void)
{
  g_autoptr (GString) s = g_string_new ("big,const,y\n");
  for (int i = 0; i < 50; i++)
    g_string_append_printf (s, "%d.%02d,3,%d\n", 100000 + i % 7, i, 2 * i - 30);
  g_autofree char *path = write_csv ("scale.csv", s->str);
  LamCsvOptions options;
  lam_csv_options_init (&options);
  options.targets = names ("y");
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  g_assert_true (lam_dataset_load_csv (path, &options, &train, &test, &error));
  g_assert_no_error (error);

  /* The statistics of the training rows, in double; the test part has the
   * same. */
  for (int j = 0; j < 2; j++) {
    double sum = 0, sq = 0;
    for (int i = 0; i < train->n; i++)
      sum += train->features[i * 2 + j];
    double mean = sum / train->n;
    for (int i = 0; i < train->n; i++)
      sq += pow (train->features[i * 2 + j] - mean, 2);
    double std = sqrt (sq / train->n);
    g_assert_cmpfloat_with_epsilon (train->feature_mean[j], mean, 1e-6 * fabs (mean) + 1e-9);
    if (j == 0)
      g_assert_cmpfloat_with_epsilon (train->feature_std[j], std, 1e-5 * std);
    g_assert_cmpfloat (test->feature_mean[j], ==, train->feature_mean[j]);
    g_assert_cmpfloat (test->feature_std[j], ==, train->feature_std[j]);
  }
  /* A constant column is shifted only. */
  g_assert_cmpfloat (train->feature_mean[1], ==, 3);
  g_assert_cmpfloat (train->feature_std[1], ==, 1);
  double tsum = 0;
  for (int i = 0; i < train->n; i++)
    tsum += train->targets[i];
  g_assert_cmpfloat_with_epsilon (train->target_mean[0], tsum / train->n, 1e-5);
  g_assert_cmpfloat (test->target_std[0], ==, train->target_std[0]);
  g_assert_cmpfloat (train->target_std[0], >, 20);

  /* Off: mean 0, std 1. */
  options.standardize = FALSE;
  g_autoptr (LamDataset) raw = NULL;
  g_autoptr (LamDataset) raw_test = NULL;
  g_assert_true (lam_dataset_load_csv (path, &options, &raw, &raw_test, &error));
  g_assert_cmpfloat (raw->feature_mean[0], ==, 0);
  g_assert_cmpfloat (raw->feature_std[0], ==, 1);
  g_assert_cmpfloat (raw_test->target_std[0], ==, 1);

  /* Image statistics of a table are neutral. */
  float mean[3], std[3];
  lam_dataset_compute_stats (train, NULL, 0, mean, std);
  g_assert_cmpfloat (mean[0], ==, 0);
  g_assert_cmpfloat (std[0], ==, 1);
}

static void
test_copy (void)
{
  g_autofree char *path = write_csv ("copy.csv", "a,b,y\n1,2,x\n3,4,z\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = load_all (path, NULL, "y", &error);
  g_assert_no_error (error);
  g_autoptr (LamDataset) copy = lam_dataset_copy (ds);
  g_assert_true (copy->features != ds->features);
  g_assert_cmpmem (copy->features, 4 * sizeof (float), ds->features, 4 * sizeof (float));
  g_assert_cmpstr (copy->class_names[1], ==, "z");
  g_assert_cmpstr (copy->feature_names[1], ==, "b");
  g_assert_cmpfloat (copy->feature_std[0], ==, ds->feature_std[0]);
}

/* ---- summary and writing ---- */

static void
test_summary (void)
{
  g_autofree char *path = write_csv ("summary.csv", "n;w;label\n1;2.5;a\n3;-0.5;b\n5;1;a\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (LamCsvSummary) summary = lam_csv_summary_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (summary->delimiter, ==, ';');
  g_assert_cmpint (summary->n_rows, ==, 3);
  g_assert_cmpint (summary->n_columns, ==, 3);
  LamCsvColumn *n = &summary->columns[0], *w = &summary->columns[1], *label = &summary->columns[2];
  g_assert_true (n->numeric && n->integer);
  g_assert_cmpfloat (n->mean, ==, 3);
  g_assert_cmpfloat_with_epsilon (n->std, sqrt (8.0 / 3), 1e-12);
  g_assert_cmpfloat (n->min, ==, 1);
  g_assert_cmpfloat (n->max, ==, 5);
  g_assert_true (w->numeric && !w->integer);
  g_assert_false (label->numeric);
  g_assert_cmpint (label->n_distinct, ==, 2);
  g_assert_cmpstr (label->example, ==, "a");

  g_autofree char *bad = write_csv ("summary-bad.csv", "a,b\n1,2\n3\n");
  g_autoptr (LamCsvSummary) none = lam_csv_summary_load (bad, &error);
  g_assert_null (none);
  g_assert_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT);
}

static void
test_save_round_trip (void)
{
  g_autofree char *path = write_csv ("source.csv", "\"1\",\"b, c\",\" d\",kind\n"
                                                   "0.1,1e-7,3,\"a \"\"b\"\"\"\n"
                                                   "-2,16777217,4,plain\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = load_all (path, NULL, "kind", &error);
  g_assert_no_error (error);
  g_autofree char *out = g_build_filename (tmp_root, "saved.csv", NULL);
  g_assert_true (lam_dataset_save_csv (ds, out, &error));
  g_assert_no_error (error);
  g_autoptr (LamDataset) back = load_all (out, NULL, "kind", &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->n, ==, ds->n);
  g_assert_cmpmem (back->features, 6 * sizeof (float), ds->features, 6 * sizeof (float));
  for (int j = 0; j < 3; j++)
    g_assert_cmpstr (back->feature_names[j], ==, ds->feature_names[j]);
  g_assert_cmpstr (back->class_names[0], ==, "a \"b\"");
  g_assert_cmpmem (back->labels, 2, ds->labels, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  tmp_root = g_dir_make_tmp ("lamina-test-csv-XXXXXX", &error);
  g_assert_no_error (error);

  /* The same table written every way the reader understands. */
  g_test_add_data_func ("/csv/dialect/comma", "a,b c,y\n1.5,-2,10\n3,4e-3,20.5\n-0.25,1e6,-7\n",
                        test_dialect);
  g_test_add_data_func ("/csv/dialect/semicolon",
                        "a;b c;y\n1.5;-2;10\n3;4e-3;20.5\n-0.25;1e6;-7\n", test_dialect);
  g_test_add_data_func ("/csv/dialect/tab", "a\tb c\ty\n1.5\t-2\t10\n3\t4e-3\t20.5\n-0.25\t1e6\t-7\n",
                        test_dialect);
  g_test_add_data_func ("/csv/dialect/crlf",
                        "a,b c,y\r\n1.5,-2,10\r\n3,4e-3,20.5\r\n-0.25,1e6,-7\r\n", test_dialect);
  g_test_add_data_func ("/csv/dialect/bom",
                        "\xEF\xBB\xBF" "a,b c,y\n1.5,-2,10\n3,4e-3,20.5\n-0.25,1e6,-7", test_dialect);
  g_test_add_data_func ("/csv/dialect/spaces-blank-lines",
                        "\n a , b c , y \n\n1.5 , -2,10\n  \n3,  4e-3 ,+20.5\n-.25,1E+6,-7\n\n\n",
                        test_dialect);
  g_test_add_data_func ("/csv/dialect/quoted",
                        "\"a\",\"b c\",\"y\"\n\"1.5\",\"-2\",\"10\"\n3,4e-3,20.5\n-0.25,1e6,\"-7\"\n",
                        test_dialect);
  g_test_add_func ("/csv/quotes", test_quotes);
  g_test_add_func ("/csv/line-numbers", test_line_numbers);
  g_test_add_func ("/csv/line-numbers-input", test_line_numbers_input);
  g_test_add_func ("/csv/unused-text-column", test_unused_text_column);
  g_test_add_func ("/csv/empty-header-name", test_empty_header_name);
  g_test_add_func ("/csv/error/not-a-number", test_error_not_a_number);
  g_test_add_func ("/csv/error/names-one-line", test_error_names_one_line);
  g_test_add_func ("/csv/error/target-not-a-number", test_error_target_not_a_number);
  g_test_add_func ("/csv/error/number-forms", test_error_number_forms);
  g_test_add_func ("/csv/error/decimal-comma", test_error_decimal_comma);
  g_test_add_func ("/csv/error/ragged", test_error_ragged);
  g_test_add_func ("/csv/error/empty", test_error_empty);
  g_test_add_func ("/csv/error/header-only", test_error_header_only);
  g_test_add_func ("/csv/error/no-header", test_error_no_header);
  g_test_add_func ("/csv/error/unknown-column", test_error_unknown_column);
  g_test_add_func ("/csv/error/target-is-input", test_error_target_is_input);
  g_test_add_func ("/csv/error/quotes", test_error_quotes);
  g_test_add_func ("/csv/error/nul", test_error_nul);
  g_test_add_func ("/csv/error/missing-file", test_error_missing_file);
  g_test_add_func ("/csv/error/too-many-columns", test_error_too_many_columns);
  g_test_add_func ("/csv/error/too-many-rows", test_error_too_many_rows);
  g_test_add_func ("/csv/error/too-large-file", test_error_too_large_file);
  g_test_add_func ("/csv/task/text-classes", test_task_text_classes);
  g_test_add_func ("/csv/task/integer-classes", test_task_integer_classes);
  g_test_add_func ("/csv/task/many-integers-regress", test_task_many_integers_regress);
  g_test_add_func ("/csv/task/forced-regression", test_task_forced_regression);
  g_test_add_func ("/csv/task/class-errors", test_task_class_errors);
  g_test_add_func ("/csv/task/multiple-targets", test_multiple_targets);
  g_test_add_func ("/csv/split", test_split);
  g_test_add_func ("/csv/standardize", test_standardize);
  g_test_add_func ("/csv/copy", test_copy);
  g_test_add_func ("/csv/summary", test_summary);
  g_test_add_func ("/csv/save-round-trip", test_save_round_trip);
  int status = g_test_run ();
  lam_test_remove_tree (tmp_root);
  g_free (tmp_root);
  return status;
}
