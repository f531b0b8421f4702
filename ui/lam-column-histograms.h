/* lam-column-histograms.h: a table's columns at a glance — for every input
 * and every numeric target, a small histogram of its values (for a class
 * column, a bar per class), with the column's name and range. */
#pragma once

#include <gtk/gtk.h>

#include "lam-dataset.h"

G_BEGIN_DECLS

#define LAM_TYPE_COLUMN_HISTOGRAMS (lam_column_histograms_get_type ())
G_DECLARE_FINAL_TYPE (LamColumnHistograms, lam_column_histograms, LAM, COLUMN_HISTOGRAMS,
                      GtkWidget)

#define LAM_COLUMN_HISTOGRAMS_BINS 20

GtkWidget *lam_column_histograms_new (void);
/* Counts the table's columns (NULL clears). */
void lam_column_histograms_set_table (LamColumnHistograms *self, const LamDataset *table);
int lam_column_histograms_get_n_columns (LamColumnHistograms *self);
/* Rows counted in column k's bin b (for a class column, class b). */
int lam_column_histograms_get_count (LamColumnHistograms *self, int column, int bin);

G_END_DECLS
