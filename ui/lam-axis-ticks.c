#include "lam-axis-ticks.h"

#include <math.h>

/* Each list ends with 10, the next decade's 1. */
static const double multipliers_1_2_5[] = { 1, 2, 5, 10 };
static const double multipliers_1_2_2_5_5[] = { 1, 2, 2.5, 5, 10 };

static const double *
get_multipliers (LamAxisSteps steps, guint *n)
{
  if (steps == LAM_AXIS_STEPS_1_2_2_5_5) {
    *n = G_N_ELEMENTS (multipliers_1_2_2_5_5);
    return multipliers_1_2_2_5_5;
  }
  *n = G_N_ELEMENTS (multipliers_1_2_5);
  return multipliers_1_2_5;
}

static double
rough_step (double low, double high, int n_steps)
{
  double span = fabs (high - low);

  if (!(span > 0) || !isfinite (span)) {
    double size = MAX (fabs (low), fabs (high));
    span = size > 0 && isfinite (size) ? size : 1;
  }
  return span / MAX (n_steps, 1);
}

double
lam_axis_step_near (double low, double high, int n_steps, LamAxisSteps steps)
{
  double rough = rough_step (low, high, n_steps);
  double mag = pow (10, floor (log10 (rough)));
  double norm = rough / mag;
  guint n;
  const double *m = get_multipliers (steps, &n);

  /* Halfway between neighbours: with 1, 2, 5 the cuts are 1.5, 3.5, 7.5. */
  for (guint i = 0; i + 1 < n; i++)
    if (norm < (m[i] + m[i + 1]) / 2)
      return m[i] * mag;
  return m[n - 1] * mag;
}

double
lam_axis_step_at_least (double low, double high, int n_steps, LamAxisSteps steps)
{
  double rough = rough_step (low, high, n_steps);
  double mag = pow (10, floor (log10 (rough)));
  guint n;
  const double *m = get_multipliers (steps, &n);

  /* The tolerance keeps a rough 0.3 (0.30000000000000004) from going to 0.5. */
  for (guint i = 0; i + 1 < n; i++)
    if (m[i] * mag >= rough * (1 - 1e-9))
      return m[i] * mag;
  return m[n - 1] * mag;
}

double
lam_axis_step_coarser (double step, LamAxisSteps steps)
{
  double mag = pow (10, floor (log10 (step) + 1e-9));
  guint n;
  const double *m = get_multipliers (steps, &n);

  for (guint i = 0; i < n; i++)
    if (m[i] * mag > step * (1 + 1e-6))
      return m[i] * mag;
  return m[n - 1] * mag;
}

double
lam_axis_step_finer (double step, LamAxisSteps steps)
{
  double mag = pow (10, floor (log10 (step) + 1e-9));
  guint n;
  const double *m = get_multipliers (steps, &n);

  for (guint i = n; i-- > 0;)
    if (m[i] * mag < step * (1 - 1e-6))
      return m[i] * mag;
  return m[n - 2] * mag / 10;
}

guint
lam_axis_count_ticks (double low, double high, double step)
{
  double first = ceil (low / step - 1e-9);
  double last = floor (high / step + 1e-9);

  return last >= first ? (guint) (last - first + 1) : 0;
}

guint
lam_axis_ticks (double low, double high, double step, double *ticks, guint max_ticks)
{
  guint n = 0;

  /* k × step rather than a running sum, which drifts off the multiples. */
  for (double k = ceil (low / step - 1e-9); n < max_ticks; k += 1) {
    double v = k * step;
    if (v > high + step * 1e-9)
      break;
    ticks[n++] = fabs (v) < step * 1e-9 ? 0 : v;
  }
  return n;
}

int
lam_axis_step_decimals (double step)
{
  int decimals;

  if (!(step > 0) || !isfinite (step))
    return 0;
  decimals = MAX (0, (int) ceil (-log10 (step) - 1e-9));
  /* 2.5 needs one more than 2 does; 0.25 one more than 0.2. */
  while (decimals < 12) {
    double scaled = step * pow (10, decimals);
    if (fabs (scaled - round (scaled)) <= 1e-6 * MAX (1.0, scaled))
      break;
    decimals++;
  }
  return decimals;
}

char *
lam_axis_format_tick (double value, int decimals)
{
  char *text;

  if (fabs (value) < 0.5 * pow (10, -decimals))
    value = 0;
  if (fabs (value) >= 1e6)
    text = g_strdup_printf ("%.3g", value);
  else
    text = g_strdup_printf ("%.*f", decimals, value);
  if (text[0] == '-') {
    char *fixed = g_strconcat ("\xe2\x88\x92", text + 1, NULL);
    g_free (text);
    text = fixed;
  }
  return text;
}
