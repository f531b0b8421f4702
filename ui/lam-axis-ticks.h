/* lam-axis-ticks.h: round steps and tick values for a linear axis, shared
 * by the charts and the 2-D plot of a table. No GTK: testable alone. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The multiples of a power of ten a step may be. */
typedef enum
{
  LAM_AXIS_STEPS_1_2_5,     /* 1, 2, 5 × 10^k */
  LAM_AXIS_STEPS_1_2_2_5_5, /* 1, 2, 2.5, 5 × 10^k */
} LamAxisSteps;

/* The allowed step nearest (high - low) / n_steps. A zero span is taken as
 * the value's own size (1 around 0), so the answer is always a finite step
 * above 0; low and high may come in either order. */
double lam_axis_step_near (double low, double high, int n_steps, LamAxisSteps steps);
/* The smallest allowed step at least (high - low) / n_steps, so that the
 * axis carries at most n_steps + 1 ticks. */
double lam_axis_step_at_least (double low, double high, int n_steps, LamAxisSteps steps);
/* The allowed step just coarser, or just finer, than step. */
double lam_axis_step_coarser (double step, LamAxisSteps steps);
double lam_axis_step_finer (double step, LamAxisSteps steps);

/* How many multiples of step lie in [low, high]. */
guint lam_axis_count_ticks (double low, double high, double step);
/* Up to max_ticks multiples of step from low to high into ticks, 0 exact;
 * returns how many. */
guint lam_axis_ticks (double low, double high, double step, double *ticks, guint max_ticks);

/* The decimals a tick on multiples of step needs: 2 for 0.25, 1 for 2.5,
 * 0 for 5 or 50. */
int lam_axis_step_decimals (double step);
/* A tick's text with that many decimals, a true minus sign, and never
 * "−0"; values past a million in three significant digits. */
char *lam_axis_format_tick (double value, int decimals);

G_END_DECLS
