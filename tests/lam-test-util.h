/* lam-test-util.h: helpers shared by the test programs that link it: the
 * main loop run for a while or until something happens, IDX files written
 * for a dataset, temporary folders removed. GLib only, so engine tests and
 * window tests alike can use it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Runs the default main context for ms milliseconds. */
void lam_test_settle (int ms);
/* Runs it until done (data) answers TRUE or timeout_ms pass; returns what
 * done answers last. */
gboolean lam_test_iterate_until (gboolean (*done) (gpointer data), gpointer data, int timeout_ms);
/* For lam_test_iterate_until: data points to a gboolean. */
gboolean lam_test_flag_set (gpointer data);

/* An IDX file: the magic (0x801 for labels, 0x803 for images), the
 * dimensions big-endian, then size bytes of data. */
void lam_test_write_idx (const char *path, guint32 magic, int n_dims, const guint32 *dims,
                         const guint8 *data, gsize size);
/* The bytes of such a file: magic 0x08 type, then rank, dims and data. */
GByteArray *lam_test_idx_bytes (guint8 type, guint rank, const guint32 *dims, const guint8 *data,
                                gsize size);

/* A new temporary folder holding an IDX dataset (train and t10k files) of
 * n grey 28×28 images in n_classes classes: image i has label i % n_classes
 * and one white column, at 2 + 3 × label (mod 28), on black, so every
 * image's mean pixel is 1/28. Free the path; remove the folder with
 * lam_test_remove_tree. */
char *lam_test_write_bars_dataset (int n, int n_classes);

/* Removes path: a folder with all below it, a file or a link; nothing when
 * it is not there. Fails the test when something cannot be removed. */
void lam_test_remove_tree (const char *path);

G_END_DECLS
