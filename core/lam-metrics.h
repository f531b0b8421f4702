/* lam-metrics.h: accuracy, confusion matrix, per-class accuracy, top-k. */
#pragma once

#include <glib.h>

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

/* Index of the first maximum of scores (n). */
int lam_argmax (const float *scores, int n);
/* TRUE when label is among the k highest scores (ties broken by index). */
gboolean lam_in_top_k (const float *scores, int n, int label, int k);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamConfusion, lam_confusion_free)

G_END_DECLS
