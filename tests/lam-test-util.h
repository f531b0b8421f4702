/* lam-test-util.h: helpers shared by the test programs that link it: the
 * main loop run for a while or until something happens, IDX files written
 * for a dataset, temporary folders removed, a CPU backend of a given
 * thread count. GLib and the core only, so engine tests and window tests
 * alike can use it. */
#pragma once

#include <glib.h>

#include "lam-backend.h"

G_BEGIN_DECLS

/* A run of the `lamina` binary (LAMINA_BINARY) as a user would make it:
 * without a display, so no window opens by accident. */
typedef struct
{
  int status; /* the exit code */
  char *out;  /* owned: what it printed */
  char *err;
} LamCliResult;

void lam_cli_result_clear (LamCliResult *result);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LamCliResult, lam_cli_result_clear)
/* lamina with the arguments, NULL-terminated. */
LamCliResult lam_test_run_lamina (const char *first, ...) G_GNUC_NULL_TERMINATED;
/* Any program, argv NULL-terminated, in the folder cwd (NULL: this one),
 * the same way; Python writes no bytecode beside the scripts it imports. */
LamCliResult lam_test_spawn (const char *cwd, const char *const *argv);
/* The exit code was code and, unless NULL, text_in_stderr was said; the
 * output is shown when not. */
void lam_test_check_exit (const LamCliResult *result, int code, const char *text_in_stderr);

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

/* A CSV table of n rows for regression: inputs x1..xd, each uniform in
 * [0, 10 × (j+1)) (so their scales differ), and targets y1..yk =
 * bias[k] + Σ_j weight[k][j] × x_j + noise × N(0, 1), with bias in [-50, 50)
 * and weights in [-3, 3) drawn from seed; values written with 6 decimals.
 * weights (k × d) and bias (k) may be NULL; else they receive the rule. */
void lam_test_write_linear_csv (const char *path, int n, int d, int k, double noise,
                                guint32 seed, double *weights, double *bias);
/* A CSV table of n rows for classification: inputs x1..xd around one of
 * n_classes centres (centre c is 4 along axis c mod d, -4 for c in d..2d-1)
 * with spread 1 (a standard normal per coordinate), the class drawn
 * uniformly from seed, and a text column "class" naming the centre ("c0",
 * "c1"...). With 2d classes or fewer, a linear boundary errs on about 0.5%
 * of the rows. */
void lam_test_write_blobs_csv (const char *path, int n, int d, int n_classes, guint32 seed);

/* Removes path: a folder with all below it, a file or a link; nothing when
 * it is not there. Fails the test when something cannot be removed. */
void lam_test_remove_tree (const char *path);

/* A CPU backend computing on `threads` threads: LAMINA_NUM_THREADS set
 * for its making, then put back as it was. */
LamBackend *lam_test_cpu_backend_new (int threads);

G_END_DECLS
