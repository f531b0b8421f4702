/* lam-neuron-maps.h: what each neuron of a 2-D playground's first hidden
 * layers responds to — for every unit, a small map of its output over the
 * plane (orange where it is high, blue where low, each on its own scale),
 * as TensorFlow Playground draws them. */
#pragma once

#include <gtk/gtk.h>

#include "lam-boundary-view.h"
#include "lam-model.h"

G_BEGIN_DECLS

#define LAM_TYPE_NEURON_MAPS (lam_neuron_maps_get_type ())
G_DECLARE_FINAL_TYPE (LamNeuronMaps, lam_neuron_maps, LAM, NEURON_MAPS, GtkWidget)

/* Cells across each small map, and the most units shown. */
#define LAM_NEURON_MAPS_GRID 24
#define LAM_NEURON_MAPS_MAX_UNITS 16

GtkWidget *lam_neuron_maps_new (void);
/* Weights of a model with two inputs (copied); mean and std normalise the
 * inputs as training did; plane is the part mapped, the boundary view's. The maps are
 * of the first layer after the first linear one that has parameters'
 * outputs turned non-linear (its activation), up to MAX_UNITS units. NULL
 * spec clears. FALSE with error when the model cannot run. */
gboolean lam_neuron_maps_set_model (LamNeuronMaps *self, const LamModelSpec *spec,
                                    const float *params, gsize n_params, const float *mean,
                                    const float *std, const LamBoundaryPlane *plane,
                                    GError **error);
/* Units mapped (0 before a model or without a hidden layer). */
int lam_neuron_maps_get_n_units (LamNeuronMaps *self);
/* The layer mapped (its index in the stack), -1 when none. */
int lam_neuron_maps_get_layer (LamNeuronMaps *self);
/* Unit u's output at map cell (row, column), row 0 the top. */
float lam_neuron_maps_get_value (LamNeuronMaps *self, int unit, int row, int column);

G_END_DECLS
