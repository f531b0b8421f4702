/* lam-probability-bars.h: a model's class probabilities for one image as
 * a bar chart, one row per class with its name and percentage, the three
 * most likely classes highlighted and the true class, when known, marked. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define LAM_TYPE_PROBABILITY_BARS (lam_probability_bars_get_type ())
G_DECLARE_FINAL_TYPE (LamProbabilityBars, lam_probability_bars, LAM, PROBABILITY_BARS, GtkWidget)

GtkWidget *lam_probability_bars_new (void);

/* The names are copied; clears the probabilities. */
void lam_probability_bars_set_classes (LamProbabilityBars *self, const char *const *names, int n);
int lam_probability_bars_get_n_classes (LamProbabilityBars *self);

/* Copies n_classes probabilities; true_class is -1 when unknown (a
 * drawing). NULL shows empty bars. */
void lam_probability_bars_set_probabilities (LamProbabilityBars *self, const float *probs,
                                             int true_class);
/* The probability shown for class c, NAN when none is shown. */
double lam_probability_bars_get_probability (LamProbabilityBars *self, int c);
/* The class at rank (0 = most likely), or -1. */
int lam_probability_bars_get_ranked (LamProbabilityBars *self, int rank);

G_END_DECLS
