/* lam-fit-view.h: how a regression fits its table. With one input, the
 * rows as points (x, y) and the model's curve over them, which moves as
 * the network trains; with more, each row's prediction against its true
 * value, where a perfect fit lies on the diagonal. Either way in the
 * table's own units, with the residuals summed up (MSE, MAE, R²). */
#pragma once

#include <gtk/gtk.h>

#include "lam-dataset.h"
#include "lam-model.h"

G_BEGIN_DECLS

#define LAM_TYPE_FIT_VIEW (lam_fit_view_get_type ())
G_DECLARE_FINAL_TYPE (LamFitView, lam_fit_view, LAM, FIT_VIEW, GtkWidget)

GtkWidget *lam_fit_view_new (void);
/* A regression table (copied); which of its targets to show. NULL clears. */
void lam_fit_view_set_table (LamFitView *self, const LamDataset *table, int target);
/* Weights to draw the fit of (spec's inputs: the table's features); NULL
 * spec clears it. FALSE with error, and no fit shown, when the model cannot
 * run or its inputs and outputs are not the table's features and targets. */
gboolean lam_fit_view_set_model (LamFitView *self, const LamModelSpec *spec, const float *params,
                                 gsize n_params, GError **error);
/* Residuals instead: each row's error (actual − predicted) against its
 * prediction, around the zero line, where a good fit leaves no pattern. */
void lam_fit_view_set_residuals (LamFitView *self, gboolean residuals);
gboolean lam_fit_view_get_residuals (LamFitView *self);
/* The fit's figures over the table's rows, in its units; NAN before a
 * model. */
double lam_fit_view_get_r2 (LamFitView *self);
double lam_fit_view_get_mse (LamFitView *self);
/* One input: the model's value at x (NAN before a model). */
double lam_fit_view_predict_at (LamFitView *self, double x);

/* Where the view draws each part, in its own pixels: each text's logical
 * box (the y title's turned upright), so a test can check that none lies
 * on another or on the plot. No text is shortened: one longer than its
 * side of the plot wraps to more lines, and its box holds them all. */
typedef struct
{
  graphene_rect_t plot;
  graphene_rect_t x_title;
  graphene_rect_t y_title;
  graphene_rect_t ends[4]; /* the axes' end values: x0, x1, y0, y1 */
  graphene_rect_t figures; /* R², MSE, MAE; empty before a fit */
} LamFitLayout;

/* An axis's title, whole, as the view writes it; NULL without a table. */
char *lam_fit_view_dup_title (LamFitView *self, GtkOrientation axis);

/* The layout at width × height with the view's current font; FALSE (and
 * nothing drawn) when the parts do not fit there, or there is no table. */
gboolean lam_fit_view_compute_layout (LamFitView *self, int width, int height,
                                      LamFitLayout *layout);

G_END_DECLS
