/* lam-metrics.h: accuracy, confusion matrix, per-class accuracy, top-k. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  int n_classes;
  guint64 *counts; /* owned: n_classes × n_classes, row = true class, column = predicted */
  guint64 total;
} LamConfusion;

LamConfusion *lam_confusion_new (int n_classes);
void lam_confusion_free (LamConfusion *confusion);
void lam_confusion_reset (LamConfusion *confusion);
void lam_confusion_add (LamConfusion *confusion, int true_class, int predicted);
guint64 lam_confusion_get (const LamConfusion *confusion, int true_class, int predicted);
double lam_confusion_accuracy (const LamConfusion *confusion);
/* Fraction of class c's samples predicted as c; NAN when it has none. */
double lam_confusion_class_accuracy (const LamConfusion *confusion, int c);

/* The matrix as CSV (RFC 4180, CRLF line ends): a header row
 * "true\predicted" then the class names, and one row a true class: its name
 * and its counts. class_names holds n_classes names; NULL numbers them. */
char *lam_confusion_to_csv (const LamConfusion *confusion, const char *const *class_names);
/* The same written atomically (a temporary file renamed over path); a
 * GIOError naming path on failure, leaving what was there. */
gboolean lam_confusion_write_csv (const LamConfusion *confusion, const char *const *class_names,
                                  const char *path, GError **error);

/* Appends a CSV field (RFC 4180): as it is, or quoted with inner quotes
 * doubled when it holds a comma, a quote, a line break or edge spaces. */
void lam_csv_append_field (GString *out, const char *field);

/* Index of the first maximum of scores (n). */
int lam_argmax (const float *scores, int n);
/* TRUE when label is among the k highest scores (ties broken by index). */
gboolean lam_in_top_k (const float *scores, int n, int label, int k);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamConfusion, lam_confusion_free)

G_END_DECLS
