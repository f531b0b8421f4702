#include <math.h>

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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/confusion/counts", test_confusion_counts);
  g_test_add_func ("/metrics/argmax/ties", test_argmax_ties);
  g_test_add_func ("/metrics/top-k", test_top_k);
  return g_test_run ();
}
