/* lam-chart-private.h: what the tests ask of LamChart beyond its API. */
#pragma once

#include "lam-chart.h"

G_BEGIN_DECLS

/* Whether the widget keeps what lies under the current run (the grid,
 * the markers' lines and the earlier runs) drawn from one update to the
 * next; on by default. Off, it draws everything at every update, as
 * lam_chart_draw() does. */
void lam_chart_set_under_cache (LamChart *self, gboolean enabled);
/* How many times the earlier runs have been drawn, into the cache or not. */
guint lam_chart_get_under_draws (LamChart *self);
/* The y axis's tick labels as drawn, bottom up, in the layout that
 * lam_chart_data_to_widget() uses; plot_height, unless NULL, receives the
 * plot's height. */
char **lam_chart_dup_y_tick_labels (LamChart *self, double *plot_height);

G_END_DECLS
