/* lam-batch-strip.h: one row of the images a training step learns from,
 * each with its true label and the model's guess, green when right and red
 * when wrong: what a class watching a slow run sees of every batch. */
#pragma once

#include <gtk/gtk.h>

#include "lam-dataset.h"

G_BEGIN_DECLS

/* Room is kept for this many images, however many a batch shows, so that
 * cells keep their size from one batch to the next; a narrow strip draws
 * the first ones that fit. */
#define LAM_BATCH_STRIP_MAX_IMAGES 16

#define LAM_TYPE_BATCH_STRIP (lam_batch_strip_get_type ())
G_DECLARE_FINAL_TYPE (LamBatchStrip, lam_batch_strip, LAM, BATCH_STRIP, GtkWidget)

GtkWidget *lam_batch_strip_new (void);

/* The dataset the indices point into, borrowed: the caller sets another
 * one (or NULL) before it frees it. Clears the batch. */
void lam_batch_strip_set_dataset (LamBatchStrip *self, const LamDataset *dataset);

/* Copies n (at most LAM_BATCH_STRIP_MAX_IMAGES) dataset indices and the
 * model's class for each; a class the dataset does not name is shown by
 * its number. n = 0 clears. */
void lam_batch_strip_set_batch (LamBatchStrip *self, int n, const guint32 *indices,
                                const gint32 *predicted);
int lam_batch_strip_get_n_images (LamBatchStrip *self);
/* How many of them the model got right. */
int lam_batch_strip_get_n_right (LamBatchStrip *self);

G_END_DECLS
