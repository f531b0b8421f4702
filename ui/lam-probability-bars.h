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
/* The same for a model's n_outputs (at least n_classes) probabilities:
 * with more outputs than classes, a row "No class" after the classes
 * shows the most probable of the outputs past them, so that the top row
 * is always the model's prediction. */
void lam_probability_bars_set_outputs (LamProbabilityBars *self, const float *probs, int n_outputs,
                                       int true_class);
/* The output the "No class" row shows, -1 when it is not shown. */
int lam_probability_bars_get_no_class_output (LamProbabilityBars *self);
/* The probability shown for class c (n_classes: the "No class" row), NAN
 * when none is shown. */
double lam_probability_bars_get_probability (LamProbabilityBars *self, int c);
/* The class at rank (0 = most likely; n_classes for the "No class" row),
 * or -1. */
int lam_probability_bars_get_ranked (LamProbabilityBars *self, int rank);

/* A probability as the bars write it: one decimal ("99.5%"), "<0.1%" for
 * a trace and ">99.9%" for one short of certain, which one decimal would
 * round up to 100. Owned. Anything else that says how sure the model is
 * (a heading over the bars) writes its figure with this, so that the two
 * agree. */
char *lam_probability_bars_format_percent (double p);
/* The text beside class c's bar, NULL when no probabilities are shown. */
char *lam_probability_bars_dup_percent_text (LamProbabilityBars *self, int c);
/* A heading for the bars: the most likely class and its probability as
 * its bar writes it, "Trouser, 99.5% sure" ("Output 27, which is no class,
 * 40.1% sure"); NULL when none are shown. */
char *lam_probability_bars_dup_guess (LamProbabilityBars *self);

G_END_DECLS
