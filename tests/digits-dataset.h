/* digits-dataset.h: an MNIST-format digits dataset made on the spot from
 * the installed fonts, for tests that need digits on a machine without
 * MNIST. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The digit images are 28×28, white on black, each digit fitted into
 * 20×20 and centred by mass as lam_drawing_to_input does for the drawing
 * pad. */
#define LAM_TEST_DIGITS_SIZE 28

/* Renders n_train + n_test digits (labels balanced, order shuffled) with
 * every font face that has the ten digits (and, for 1, 4 and 9, glyphs
 * shaped as hands often write them), mostly retraced with a round pen, in
 * varied sizes, slants, rotations (±15°), stroke thicknesses and small
 * elastic wobbles, and writes into dir (which must exist) an IDX folder
 * that lam_dataset_load_dir reads: train-images-idx3-ubyte,
 * train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte
 * and classes.txt ("0".."9"). The same seed gives the same images on the
 * same fonts. */
gboolean lam_test_write_digits_dataset (const char *dir, int n_train, int n_test, guint32 seed,
                                        GError **error);

G_END_DECLS
