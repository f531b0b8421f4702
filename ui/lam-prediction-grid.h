/* lam-prediction-grid.h: a scrollable gallery of test images, each with the
 * class the model gave it and its confidence, mistakes framed in red with
 * their true class. Mistakes come first; filters narrow it to one true
 * and/or one predicted class. Only the visible rows are drawn. */
#pragma once

#include <gtk/gtk.h>

#include "lam-evaluation.h"

G_BEGIN_DECLS

typedef enum
{
  LAM_PREDICTION_ORDER_CONFIDENT_WRONG, /* mistakes first, the most confident of them first */
  LAM_PREDICTION_ORDER_LEAST_CONFIDENT, /* mistakes first; in each group the least confident first */
  LAM_PREDICTION_ORDER_INDEX,           /* mistakes first; in each group in test-set order */
} LamPredictionOrder;

#define LAM_PREDICTION_GRID_MIN_CELL_SIZE 28
#define LAM_PREDICTION_GRID_MAX_CELL_SIZE 140

#define LAM_TYPE_PREDICTION_GRID (lam_prediction_grid_get_type ())
G_DECLARE_FINAL_TYPE (LamPredictionGrid, lam_prediction_grid, LAM, PREDICTION_GRID, GtkWidget)

GtkWidget *lam_prediction_grid_new (void);

/* Takes a reference; NULL empties the grid. Filters, order and the
 * selected image (when still shown) are kept. */
void lam_prediction_grid_set_result (LamPredictionGrid *self, LamEvaluationResult *result);
LamEvaluationResult *lam_prediction_grid_get_result (LamPredictionGrid *self);

/* Shows only images of a true class and/or given a predicted class; -1
 * for any. A confusion-matrix cell sets both. */
void lam_prediction_grid_set_filter (LamPredictionGrid *self, int true_class,
                                     int predicted_class);
void lam_prediction_grid_get_filter (LamPredictionGrid *self, int *true_class,
                                     int *predicted_class);

/* Property "order". */
void lam_prediction_grid_set_order (LamPredictionGrid *self, LamPredictionOrder order);
/* Shows only these test images (besides the class filter), as a lasso on
 * the map picks them; NULL shows all. */
void lam_prediction_grid_set_subset (LamPredictionGrid *self, const guint32 *indices, guint n);
gboolean lam_prediction_grid_get_has_subset (LamPredictionGrid *self);
LamPredictionOrder lam_prediction_grid_get_order (LamPredictionGrid *self);

/* Edge of each image in pixels (property "cell-size"). */
void lam_prediction_grid_set_cell_size (LamPredictionGrid *self, int px);
int lam_prediction_grid_get_cell_size (LamPredictionGrid *self);

/* The images shown, in order. */
guint lam_prediction_grid_get_n_items (LamPredictionGrid *self);
/* The test-image index at a position, or -1 past the end. */
int lam_prediction_grid_get_item (LamPredictionGrid *self, guint position);
/* The lines the cell at a position shows, one per line: a table row's
 * values first, then the prediction and, for a mistake, the true class;
 * NULL past the end. */
char *lam_prediction_grid_dup_cell_text (LamPredictionGrid *self, guint position);
/* The image at a position in the words of its tooltip and, when it is
 * selected, of the grid's accessible description: its whole true class,
 * and what was predicted; NULL past the end. */
char *lam_prediction_grid_dup_image_text (LamPredictionGrid *self, guint position);
/* Whether a class's labels are cut at the present cell width and font:
 * they wrap to two lines before they are cut. */
gboolean lam_prediction_grid_get_labels_cut (LamPredictionGrid *self);
/* Whether the cell at a position shows each of its table row's values
 * whole, within the cell and in the room of an image; FALSE past the end. */
gboolean lam_prediction_grid_get_values_whole (LamPredictionGrid *self, guint position);
/* How many of the shown images are mistakes (they come first). */
guint lam_prediction_grid_get_n_wrong_items (LamPredictionGrid *self);

/* A table row's first values as "name = value" lines, at most max_lines
 * of them: when not all fit, the last says how many more ("… and 3
 * more") where a line is left for it. With measure (a layout in the font
 * they are shown in; its text is replaced), no line is wider than
 * max_width pixels: a name too long to stand beside its value takes a
 * line of its own, "= value" under it, and is shortened in its middle
 * only as far as it must be; a value is never cut. Empty for an image. */
char **lam_prediction_grid_dup_row_lines (const LamDataset *dataset, int index, int max_lines,
                                          PangoLayout *measure, int max_width);

/* The selected test image, or -1 (property "selected"). Selecting an
 * image the filters hide does nothing. */
int lam_prediction_grid_get_selected (LamPredictionGrid *self);
void lam_prediction_grid_set_selected (LamPredictionGrid *self, int index);

G_END_DECLS
