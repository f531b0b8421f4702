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
 * be short. Property "max-tiles" (default 64) is how many tiles a page
 * shows: with more units than that, buttons over the tiles page through
 * them ("Units 65–128 of 256"; actions "weights.previous-page" and
 * "weights.next-page"), property "page" is the page shown (from 0);
 * "tile-size" (default 80) is the side of a tile in logical pixels,
 * rounded to whole pixels per weight. Pointing at a tile tells its range. */
GtkWidget *lam_weights_view_new (void);
/* plan is borrowed during the call, the shown layer's weights copied
 * from params (host, plan->n_params). NULL plan clears the view. New
 * weights for the same layer keep the page; another layer starts at the
 * first. */
void lam_weights_view_set_weights (LamWeightsView *self, const LamModelPlan *plan,
                                   const float *params);
void lam_weights_view_clear (LamWeightsView *self);
/* A table's column names (NULL-terminated, copied; NULL: none), which the
 * caption of a linear layer on a flat input lists; they apply from the
 * next set_weights. */
void lam_weights_view_set_input_names (LamWeightsView *self, const char *const *names);
/* The line under the title, NULL when nothing is shown. */
const char *lam_weights_view_get_caption (LamWeightsView *self);
/* The index of the layer shown, -1 when none; and how many tiles the
 * page draws out of how many units. */
int lam_weights_view_get_layer (LamWeightsView *self);
guint lam_weights_view_get_n_tiles (LamWeightsView *self);
guint lam_weights_view_get_n_units (LamWeightsView *self);

/* Paging: set_page clamps to the last page. The first unit shown counts
 * from 0; the pager's text, NULL while it is hidden (one page). */
guint lam_weights_view_get_page (LamWeightsView *self);
guint lam_weights_view_get_n_pages (LamWeightsView *self);
void lam_weights_view_set_page (LamWeightsView *self, guint page);
guint lam_weights_view_get_first_unit (LamWeightsView *self);
const char *lam_weights_view_get_page_text (LamWeightsView *self);

void lam_weights_view_set_max_tiles (LamWeightsView *self, guint max_tiles);
void lam_weights_view_set_tile_size (LamWeightsView *self, int tile_size);

G_END_DECLS
