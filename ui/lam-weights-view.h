/* lam-weights-view.h: what the first layer with parameters looks for: one
 * tile per unit (a linear layer on the image) or per filter (conv2d),
 * coloured with a diverging map, with a legend and a one-line caption. */
#pragma once

#include <gtk/gtk.h>

#include "lam-model.h"

G_BEGIN_DECLS

#define LAM_TYPE_WEIGHTS_VIEW (lam_weights_view_get_type ())
G_DECLARE_FINAL_TYPE (LamWeightsView, lam_weights_view, LAM, WEIGHTS_VIEW, GtkWidget)

/* Height for width: the tiles flow into as many columns as fit. It does
 * not scroll by itself; put it in a GtkScrolledWindow where the page may
 * be short. Property "max-tiles" (default 64) caps the tiles shown, from
 * the next set_weights on (the view keeps no copy of the parameters);
 * "tile-size" (default 80) is the side of a tile in logical pixels,
 * rounded to whole pixels per weight. Pointing at a tile tells its range. */
GtkWidget *lam_weights_view_new (void);
/* plan is borrowed during the call, params (host, plan->n_params) copied.
 * NULL plan clears the view. */
void lam_weights_view_set_weights (LamWeightsView *self, const LamModelPlan *plan,
                                   const float *params);
void lam_weights_view_clear (LamWeightsView *self);
/* The index of the layer shown, -1 when none; and how many tiles are
 * drawn out of how many units. */
int lam_weights_view_get_layer (LamWeightsView *self);
guint lam_weights_view_get_n_tiles (LamWeightsView *self);
guint lam_weights_view_get_n_units (LamWeightsView *self);

void lam_weights_view_set_max_tiles (LamWeightsView *self, guint max_tiles);
void lam_weights_view_set_tile_size (LamWeightsView *self, int tile_size);

G_END_DECLS
