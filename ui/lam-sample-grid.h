/* lam-sample-grid.h: a scrollable grid of a dataset's images with their
 * label names, drawn row by row so that only the visible rows cost anything,
 * whatever the size of the dataset. */
#pragma once

#include <gtk/gtk.h>

#include "lam-dataset.h"

G_BEGIN_DECLS

#define LAM_SAMPLE_GRID_MIN_CELL_SIZE 28
#define LAM_SAMPLE_GRID_MAX_CELL_SIZE 112

/* Keyboard: the actions "sample-grid.move-cursor" "(ii)" (a step and how
 * many, negative backwards; arrows, Page Up/Down, Home/End) and
 * "sample-grid.activate-cursor" (Enter, Space), which emits
 * "sample-activated" with the selected sample's dataset index, as a double
 * click does. */
typedef enum
{
  LAM_SAMPLE_GRID_STEP_ITEMS,
  LAM_SAMPLE_GRID_STEP_ROWS,
  LAM_SAMPLE_GRID_STEP_PAGES,
  LAM_SAMPLE_GRID_STEP_ENDS,
} LamSampleGridStep;

#define LAM_TYPE_SAMPLE_GRID (lam_sample_grid_get_type ())
G_DECLARE_FINAL_TYPE (LamSampleGrid, lam_sample_grid, LAM, SAMPLE_GRID, GtkWidget)

GtkWidget *lam_sample_grid_new (void);

/* The dataset is borrowed: the caller sets another one (or NULL) before it
 * frees it. Resets the filter, selects the first sample, scrolls to the top. */
void lam_sample_grid_set_dataset (LamSampleGrid *self, const LamDataset *dataset);
const LamDataset *lam_sample_grid_get_dataset (LamSampleGrid *self);

/* Shows only the samples of one class; -1 shows all (property "filter"). */
void lam_sample_grid_set_filter (LamSampleGrid *self, int class_index);
int lam_sample_grid_get_filter (LamSampleGrid *self);

/* The samples shown after the filter, in dataset order. */
guint lam_sample_grid_get_n_visible_samples (LamSampleGrid *self);
/* The dataset index shown at a position, or -1 past the end. */
int lam_sample_grid_get_sample_at (LamSampleGrid *self, guint position);

/* A cell's caption is its class name, wrapped to the cell's width in up
 * to two lines and cut only past them: the tooltip over the cell (and the
 * keyboard's, for the selected one) and the grid's accessible description
 * (for the selected one) name the sample and its whole class, in the words
 * of dup_sample_text. get_caption_cut says whether a class's caption is
 * cut at the present cell size and font. */
char *lam_sample_grid_dup_sample_text (LamSampleGrid *self, int index);
gboolean lam_sample_grid_get_caption_cut (LamSampleGrid *self, int class_index);

/* Edge of the square each image is scaled into, in pixels, clamped to
 * LAM_SAMPLE_GRID_MIN_CELL_SIZE..MAX (property "cell-size"). */
void lam_sample_grid_set_cell_size (LamSampleGrid *self, int px);
int lam_sample_grid_get_cell_size (LamSampleGrid *self);

/* The selected sample's dataset index, or -1 (property "selected").
 * set_selected scrolls it into view; it does nothing for a sample the
 * filter hides. */
int lam_sample_grid_get_selected (LamSampleGrid *self);
void lam_sample_grid_set_selected (LamSampleGrid *self, int index);

G_END_DECLS
