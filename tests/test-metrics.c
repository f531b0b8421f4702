#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "lam-metrics.h"

static void
test_confusion_counts (void)
{
  g_autoptr (LamConfusion) confusion = lam_confusion_new (3);
  const int truth[] = { 0, 0, 1, 1, 1, 2, 2, 2, 2 };
  const int predicted[] = { 0, 1, 1, 1, 2, 2, 2, 0, 2 };
  for (guint i = 0; i < G_N_ELEMENTS (truth); i++)
    lam_confusion_add (confusion, truth[i], predicted[i]);

  g_assert_cmpuint (confusion->total, ==, 9);
  g_assert_cmpuint (lam_confusion_get (confusion, 0, 0), ==, 1);
  g_assert_cmpuint (lam_confusion_get (confusion, 0, 1), ==, 1);
  g_assert_cmpuint (lam_confusion_get (confusion, 1, 2), ==, 1);
  g_assert_cmpuint (lam_confusion_get (confusion, 2, 0), ==, 1);
  g_assert_cmpfloat_with_epsilon (lam_confusion_accuracy (confusion), 6.0 / 9.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (lam_confusion_class_accuracy (confusion, 0), 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (lam_confusion_class_accuracy (confusion, 1), 2.0 / 3.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (lam_confusion_class_accuracy (confusion, 2), 0.75, 1e-12);

  lam_confusion_reset (confusion);
  g_assert_cmpuint (confusion->total, ==, 0);
  g_assert_true (isnan (lam_confusion_accuracy (confusion)));
  g_assert_true (isnan (lam_confusion_class_accuracy (confusion, 1)));
}

static void
test_argmax_ties (void)
{
  const float scores[] = { 0.1f, 0.7f, 0.7f, -1.0f };
  g_assert_cmpint (lam_argmax (scores, 4), ==, 1);
  const float single[] = { -3.0f };
  g_assert_cmpint (lam_argmax (single, 1), ==, 0);
}

static void
test_top_k (void)
{
  const float scores[] = { 0.05f, 0.4f, 0.3f, 0.2f, 0.05f };
  g_assert_true (lam_in_top_k (scores, 5, 1, 1));
  g_assert_false (lam_in_top_k (scores, 5, 2, 1));
  g_assert_true (lam_in_top_k (scores, 5, 2, 2));
  g_assert_false (lam_in_top_k (scores, 5, 3, 2));
  g_assert_true (lam_in_top_k (scores, 5, 3, 3));
  /* Tied scores rank by index, like argmax: class 0 is 4th, class 4 is 5th. */
  g_assert_true (lam_in_top_k (scores, 5, 0, 4));
  g_assert_false (lam_in_top_k (scores, 5, 4, 4));
  g_assert_true (lam_in_top_k (scores, 5, 4, 5));
}

static LamConfusion *
small_confusion (void)
{
  LamConfusion *confusion = lam_confusion_new (3);
  const int truth[] = { 0, 0, 1, 1, 1, 2, 2, 2, 2 };
  const int predicted[] = { 0, 1, 1, 1, 2, 2, 2, 0, 2 };
  for (guint i = 0; i < G_N_ELEMENTS (truth); i++)
    lam_confusion_add (confusion, truth[i], predicted[i]);
  return confusion;
}

static void
test_confusion_csv (void)
{
  g_autoptr (LamConfusion) confusion = small_confusion ();
  /* A comma, a quote, and a plain name. */
  const char *const names[] = { "T-shirt, top", "say \"hi\"", "Bag", NULL };
  g_autofree char *csv = lam_confusion_to_csv (confusion, names);
  g_assert_cmpstr (csv, ==,
                   "true\\predicted,\"T-shirt, top\",\"say \"\"hi\"\"\",Bag\r\n"
                   "\"T-shirt, top\",1,1,0\r\n"
                   "\"say \"\"hi\"\"\",0,2,1\r\n"
                   "Bag,1,0,3\r\n");

  /* Without names the classes are numbered. */
  g_autofree char *numbered = lam_confusion_to_csv (confusion, NULL);
  g_assert_cmpstr (numbered, ==,
                   "true\\predicted,0,1,2\r\n0,1,1,0\r\n1,0,2,1\r\n2,1,0,3\r\n");
}

static void
test_csv_field (void)
{
  const struct
  {
    const char *field, *expected;
  } cases[] = {
    { "plain", "plain" },
    { "", "" },
    { "a,b", "\"a,b\"" },
    { "\"", "\"\"\"\"" },
    { "two\nlines", "\"two\nlines\"" },
    { " padded", "\" padded\"" },
    { "in side", "in side" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GString) out = g_string_new (NULL);
    lam_csv_append_field (out, cases[i].field);
    g_assert_cmpstr (out->str, ==, cases[i].expected);
  }
}

static void
test_confusion_write_csv (void)
{
  g_autoptr (LamConfusion) confusion = small_confusion ();
  const char *const names[] = { "a", "b", "c", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("lamina-metrics-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "confusion.csv", NULL);

  g_assert_true (lam_confusion_write_csv (confusion, names, path, &error));
  g_assert_no_error (error);
  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_autofree char *expected = lam_confusion_to_csv (confusion, names);
  g_assert_cmpstr (contents, ==, expected);

  /* A folder that does not exist: the error names the path. */
  g_autofree char *missing = g_build_filename (dir, "missing", "confusion.csv", NULL);
  g_assert_false (lam_confusion_write_csv (confusion, names, missing, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing));

  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/confusion/counts", test_confusion_counts);
  g_test_add_func ("/metrics/argmax/ties", test_argmax_ties);
  g_test_add_func ("/metrics/top-k", test_top_k);
  g_test_add_func ("/metrics/confusion/csv", test_confusion_csv);
  g_test_add_func ("/metrics/confusion/write-csv", test_confusion_write_csv);
  g_test_add_func ("/metrics/csv/field", test_csv_field);
  return g_test_run ();
}
