/* lam-boundary-view.h: a 2-D playground as the network sees it — the data
 * points, coloured by class (or by value, for regression), over a heat map
 * of what the model predicts at every place of the plane: its decision
 * boundary, or its fitted surface. The map is recomputed on the CPU when
 * new weights arrive (small models: a grid of a few thousand points takes
 * a millisecond or two). */
#pragma once

#include <gtk/gtk.h>

#include "lam-model.h"

G_BEGIN_DECLS

#define LAM_TYPE_BOUNDARY_VIEW (lam_boundary_view_get_type ())
G_DECLARE_FINAL_TYPE (LamBoundaryView, lam_boundary_view, LAM, BOUNDARY_VIEW, GtkWidget)

/* Cells across the heat map. */
#define LAM_BOUNDARY_VIEW_GRID 64

GtkWidget *lam_boundary_view_new (void);

/* The part of the plane shown: x1 from x1_low (left) to x1_high, x2 from
 * x2_low (bottom) to x2_high. */
typedef struct
{
  double x1_low, x1_high, x2_low, x2_high;
} LamBoundaryPlane;

/* The points, copied: n pairs (x1, x2), with a class each (labels,
 * n_classes classes) or a value each (values, regression; labels NULL).
 * The plane shown is [-extent, extent]² when it holds them all (a
 * playground's); else each axis spans its points' range and a margin: a
 * table's columns in their own units (marks 40 to 100) would fall outside
 * the playground's square and leave it empty. */
void lam_boundary_view_set_points (LamBoundaryView *self, int n, const float *xy,
                                   const guint8 *labels, int n_classes, const float *values,
                                   double extent);
/* The plane shown, as set_points chose it. */
void lam_boundary_view_get_plane (LamBoundaryView *self, LamBoundaryPlane *plane);
/* The inputs at the centres of a width × height grid over plane, row-major
 * with row 0 the top, as lam_playground_grid lays out its square. */
void lam_boundary_plane_grid (const LamBoundaryPlane *plane, int width, int height, float *out_xy);
/* A regression model's outputs are standardised values: out × std + mean
 * gives the points' units (default 0, 1). */
void lam_boundary_view_set_value_scaling (LamBoundaryView *self, double mean, double std);
/* Weights to map (copied; spec takes 2 inputs); mean and std normalise the
 * two inputs as training did. NULL spec clears the map. FALSE with error
 * when the model cannot run on the grid. */
gboolean lam_boundary_view_set_model (LamBoundaryView *self, const LamModelSpec *spec,
                                      const float *params, gsize n_params, const float *mean,
                                      const float *std, GError **error);
/* The inputs' names, drawn under the x axis (x1) and up the y axis (x2);
 * NULL for none (the ticks still show). Copied. */
void lam_boundary_view_set_axis_names (LamBoundaryView *self, const char *x_name,
                                       const char *y_name);
/* The name of axis 0 (x) or 1 (y), NULL when none. */
const char *lam_boundary_view_get_axis_name (LamBoundaryView *self, int axis);
/* Where the plane is drawn in the allocation: its square's top left and
 * side, the ticks and names around it. */
void lam_boundary_view_get_square (LamBoundaryView *self, double *x, double *y, double *side);
/* Up to max_ticks round values (steps of 1, 2, 2.5 or 5 × a power of 10)
 * from low to high, into ticks; returns how many. */
int lam_boundary_axis_ticks (double low, double high, int max_ticks, double *ticks);

/* The class the map gives at grid cell (row, column), row 0 at the top;
 * -1 before a model. For tests and the note. */
int lam_boundary_view_get_class_at (LamBoundaryView *self, int row, int column);
/* The share of points the map classifies right (classification). */
double lam_boundary_view_get_accuracy (LamBoundaryView *self);

G_END_DECLS
