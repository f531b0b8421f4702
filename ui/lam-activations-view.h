/* lam-activations-view.h: what each layer makes of one image: a row per
 * layer with its name and shape, then its channel maps (rank-3 outputs)
 * or its values as bars (rank-1 outputs), the last layer's labelled by
 * class when it is small. */
#pragma once

#include <gtk/gtk.h>

#include "lam-model.h"

G_BEGIN_DECLS

#define LAM_TYPE_ACTIVATIONS_VIEW (lam_activations_view_get_type ())
G_DECLARE_FINAL_TYPE (LamActivationsView, lam_activations_view, LAM, ACTIVATIONS_VIEW, GtkWidget)

/* The view scrolls by itself: it holds a GtkScrolledWindow (vertical) and
 * asks for a modest minimum height; give it the room it should take. */
GtkWidget *lam_activations_view_new (void);
/* layer_outputs[i] = host copy of layer i's output for ONE image
 * (plan->layers[i].out_shape); input = the normalised image (plan->input
 * shape). All copied, the plan included. */
void lam_activations_view_set (LamActivationsView *self, const LamModelPlan *plan,
                               const float *input, const float *const *layer_outputs);
void lam_activations_view_clear (LamActivationsView *self);
/* Names for the last layer's bars (n_classes of them, copied); NULL for
 * "0", "1", ... */
void lam_activations_view_set_class_names (LamActivationsView *self, const char *const *names,
                                           int n_classes);
/* Rows shown: the input and one per layer; 0 when clear. */
guint lam_activations_view_get_n_rows (LamActivationsView *self);
/* The tooltip of a feature map (row: 0 for the input, k for layer k's
 * output), made when asked for: "Channel 3: −0.42 to 1.7"; NULL where the
 * row has no such maps or fewer channels. */
char *lam_activations_view_dup_channel_tooltip (LamActivationsView *self, guint row, guint channel);

G_END_DECLS
