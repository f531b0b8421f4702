#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>

#include "lam-dataset.h"
#include "lam-test-util.h"

/* ---- helpers ---- */

typedef struct
{
  char *path;
} TmpDir;

static TmpDir *
tmp_dir_new (const char *template)
{
  GError *error = NULL;
  TmpDir *tmp = g_new0 (TmpDir, 1);
  tmp->path = g_dir_make_tmp (template, &error);
  g_assert_no_error (error);
  return tmp;
}

static void
tmp_dir_free (TmpDir *tmp)
{
  lam_test_remove_tree (tmp->path);
  g_free (tmp->path);
  g_free (tmp);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TmpDir, tmp_dir_free)

static char *
write_file (const char *dir, const char *name, const void *data, gsize size)
{
  GError *error = NULL;
  char *path = g_build_filename (dir, name, NULL);
  g_file_set_contents (path, data, (gssize) size, &error);
  g_assert_no_error (error);
  return path;
}

static GByteArray *
gzip_bytes (const guint8 *data, gsize size)
{
  GError *error = NULL;
  g_autoptr (GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr (GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
  g_autoptr (GOutputStream) out = g_converter_output_stream_new (memory, G_CONVERTER (compressor));
  gsize written = 0;
  g_assert_true (g_output_stream_write_all (out, data, size, &written, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_close (out, NULL, &error));
  g_assert_no_error (error);
  GMemoryOutputStream *result = G_MEMORY_OUTPUT_STREAM (memory);
  GByteArray *bytes = g_byte_array_new ();
  g_byte_array_append (bytes, g_memory_output_stream_get_data (result),
                       (guint) g_memory_output_stream_get_data_size (result));
  return bytes;
}

static char *
write_bytes (const char *dir, const char *name, GByteArray *bytes, gboolean gzip)
{
  if (!gzip)
    return write_file (dir, name, bytes->data, bytes->len);
  g_autoptr (GByteArray) packed = gzip_bytes (bytes->data, bytes->len);
  return write_file (dir, name, packed->data, packed->len);
}

static guint8
pixel_value (gsize image, gsize k)
{
  return (guint8) ((image * 37 + k * 11 + 5) & 0xff);
}

typedef struct
{
  guint8 *images; /* n × h × w */
  guint8 *labels;
  guint32 n, h, w;
} IdxData;

static IdxData *
idx_data_new (guint32 n, guint32 h, guint32 w, int n_classes)
{
  IdxData *d = g_new0 (IdxData, 1);
  d->n = n;
  d->h = h;
  d->w = w;
  d->images = g_new (guint8, (gsize) n * h * w);
  d->labels = g_new (guint8, n);
  for (gsize i = 0; i < n; i++) {
    d->labels[i] = (guint8) ((i * 3 + 1) % n_classes);
    for (gsize k = 0; k < (gsize) h * w; k++)
      d->images[i * h * w + k] = pixel_value (i, k);
  }
  return d;
}

static void
idx_data_free (IdxData *d)
{
  g_free (d->images);
  g_free (d->labels);
  g_free (d);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (IdxData, idx_data_free)

/* Writes images and labels files for d under the given names. */
static void
write_idx_pair (const char *dir, const IdxData *d, const char *images_name,
                const char *labels_name, gboolean gzip, char **images_path, char **labels_path)
{
  guint32 image_dims[3] = { d->n, d->h, d->w };
  g_autoptr (GByteArray) images =
    lam_test_idx_bytes (0x08, 3, image_dims, d->images, (gsize) d->n * d->h * d->w);
  g_autoptr (GByteArray) labels = lam_test_idx_bytes (0x08, 1, &d->n, d->labels, d->n);
  char *ip = write_bytes (dir, images_name, images, gzip);
  char *lp = write_bytes (dir, labels_name, labels, gzip);
  if (images_path != NULL)
    *images_path = ip;
  else
    g_free (ip);
  if (labels_path != NULL)
    *labels_path = lp;
  else
    g_free (lp);
}

static void
assert_dataset_matches (const LamDataset *ds, const IdxData *d)
{
  g_assert_cmpint (ds->n, ==, d->n);
  g_assert_cmpint (ds->channels, ==, 1);
  g_assert_cmpint (ds->height, ==, d->h);
  g_assert_cmpint (ds->width, ==, d->w);
  g_assert_cmpuint (lam_dataset_image_size (ds), ==, (gsize) d->h * d->w);
  g_assert_cmpmem (ds->images, (gsize) d->n * d->h * d->w, d->images,
                   (gsize) d->n * d->h * d->w);
  g_assert_cmpmem (ds->labels, d->n, d->labels, d->n);
  g_assert_true (lam_dataset_get_image (ds, 2) == ds->images + 2 * d->h * d->w);
  g_assert_cmpuint (g_strv_length (ds->class_names), ==, ds->n_classes);
}

static void
assert_error_names (GError *error, int code, const char *path)
{
  g_assert_error (error, LAM_DATASET_ERROR, code);
  if (strstr (error->message, path) == NULL)
    g_error ("message \"%s\" does not name %s", error->message, path);
}

/* ---- IDX: good files ---- */

static void
test_idx_good (gconstpointer data)
{
  gboolean gzip = GPOINTER_TO_INT (data);
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autoptr (IdxData) d = idx_data_new (13, 7, 5, 4);
  g_autofree char *ip = NULL, *lp = NULL;
  write_idx_pair (tmp->path, d, "img", "lab", gzip, &ip, &lp);

  GError *error = NULL;
  g_autoptr (LamDataset) ds = lam_dataset_load_idx (ip, lp, NULL, &error);
  g_assert_no_error (error);
  assert_dataset_matches (ds, d);
  /* Without names, the classes are 0..max label. */
  g_assert_cmpint (ds->n_classes, ==, 4);
  g_assert_cmpstr (ds->class_names[0], ==, "0");
  g_assert_cmpstr (ds->class_names[3], ==, "3");
  g_assert_null (ds->class_names[4]);

  const char *names[] = { "a", "b", "c", "d", "e", NULL };
  g_autoptr (LamDataset) named = lam_dataset_load_idx (ip, lp, names, &error);
  g_assert_no_error (error);
  assert_dataset_matches (named, d);
  g_assert_cmpint (named->n_classes, ==, 5);
  g_assert_cmpstr (named->class_names[4], ==, "e");
}

/* d written as a gzip IDX pair and loaded back, checked against d. */
static LamDataset *
load_gzip_pair (const IdxData *d)
{
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autofree char *ip = NULL, *lp = NULL;
  write_idx_pair (tmp->path, d, "img.gz", "lab.gz", TRUE, &ip, &lp);
  GError *error = NULL;
  LamDataset *ds = lam_dataset_load_idx (ip, lp, lam_fashion_mnist_classes, &error);
  g_assert_no_error (error);
  assert_dataset_matches (ds, d);
  return ds;
}

static void
test_idx_large_gzip (void)
{
  /* More than one read chunk, so the growing buffer is exercised. */
  g_autoptr (IdxData) d = idx_data_new (3000, 28, 28, 10);
  g_autoptr (LamDataset) ds = load_gzip_pair (d);
}

/* A set of 4 MiB or more lies in room on 2 MiB boundaries, for the
 * kernel's large pages (lam_dataset_images_try_new), and so does its copy;
 * the bytes are the file's. */
static void
test_idx_large_pages (void)
{
  g_autoptr (IdxData) d = idx_data_new (6000, 28, 28, 10);
  g_autoptr (LamDataset) ds = load_gzip_pair (d);
  g_autoptr (LamDataset) copy = lam_dataset_copy (ds);
  assert_dataset_matches (copy, d);
#ifdef __linux__
  const guintptr large_page = 2u << 20;
  g_assert_cmpuint ((guintptr) ds->images % large_page, ==, 0);
  g_assert_cmpuint ((guintptr) copy->images % large_page, ==, 0);
#endif
  // Below 4 MiB, and empty: plain room.
  g_autofree guint8 *small = lam_dataset_images_try_new (100);
  g_assert_nonnull (small);
  small[99] = 1;
  g_autofree guint8 *empty = lam_dataset_images_try_new (0);
  g_assert_nonnull (empty);
}

static void
test_idx_trailing (void)
{
  /* Bytes after the data the header claims are ignored. */
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autoptr (IdxData) d = idx_data_new (4, 3, 3, 2);
  g_autofree char *ip = NULL, *lp = NULL;
  write_idx_pair (tmp->path, d, "img", "lab", FALSE, &ip, NULL);
  g_autoptr (GByteArray) labels = lam_test_idx_bytes (0x08, 1, &d->n, d->labels, d->n);
  g_byte_array_append (labels, (const guint8 *) "\xff\xff", 2);
  lp = write_bytes (tmp->path, "lab", labels, FALSE);

  GError *error = NULL;
  g_autoptr (LamDataset) ds = lam_dataset_load_idx (ip, lp, NULL, &error);
  g_assert_no_error (error);
  assert_dataset_matches (ds, d);
}

/* ---- IDX: malformed files ---- */

/* A good labels file for n images, to pair with a broken images file. */
static char *
write_labels (const char *dir, guint32 n)
{
  g_autofree guint8 *labels = g_new0 (guint8, n);
  g_autoptr (GByteArray) bytes = lam_test_idx_bytes (0x08, 1, &n, labels, n);
  return write_bytes (dir, "labels", bytes, FALSE);
}

static void
expect_images_error (GByteArray *images, gboolean gzip, int code, const char *says)
{
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autofree char *ip = write_bytes (tmp->path, gzip ? "images.gz" : "images", images, gzip);
  g_autofree char *lp = write_labels (tmp->path, 2);
  GError *error = NULL;
  LamDataset *ds = lam_dataset_load_idx (ip, lp, NULL, &error);
  g_assert_null (ds);
  assert_error_names (error, code, ip);
  if (strstr (error->message, says) == NULL)
    g_error ("message \"%s\" does not say \"%s\"", error->message, says);
  g_error_free (error);
}

static void
test_idx_wrong_magic (void)
{
  guint32 dims[3] = { 2, 2, 2 };
  guint8 data[8] = { 0 };
  g_autoptr (GByteArray) bytes = lam_test_idx_bytes (0x08, 3, dims, data, 8);
  bytes->data[0] = 0x1f;
  expect_images_error (bytes, FALSE, LAM_DATASET_ERROR_FORMAT,
                       "magic 0x1f000803, expected 0x00000803");
  /* A gzip file inside a gzip file shows the inner gzip magic. */
  g_autoptr (GByteArray) inner = gzip_bytes (bytes->data, bytes->len);
  expect_images_error (inner, TRUE, LAM_DATASET_ERROR_FORMAT, "magic 0x1f8b");
}

static void
test_idx_wrong_type (void)
{
  guint32 dims[3] = { 2, 2, 2 };
  guint8 data[32] = { 0 };
  g_autoptr (GByteArray) bytes = lam_test_idx_bytes (0x0d, 3, dims, data, 32);
  expect_images_error (bytes, FALSE, LAM_DATASET_ERROR_FORMAT, "type 0x0d, expected 0x08");
}

static void
test_idx_wrong_rank (void)
{
  guint32 dims[2] = { 2, 4 };
  guint8 data[8] = { 0 };
  g_autoptr (GByteArray) bytes = lam_test_idx_bytes (0x08, 2, dims, data, 8);
  expect_images_error (bytes, FALSE, LAM_DATASET_ERROR_FORMAT, "rank 2, expected 3");
}

static void
test_idx_zero_dim (void)
{
  guint32 dims[3] = { 2, 0, 2 };
  g_autoptr (GByteArray) bytes = lam_test_idx_bytes (0x08, 3, dims, NULL, 0);
  expect_images_error (bytes, FALSE, LAM_DATASET_ERROR_FORMAT, "every dimension > 0");
}

static void
test_idx_truncated (gconstpointer data)
{
  gboolean gzip = GPOINTER_TO_INT (data);
  guint32 dims[3] = { 2, 4, 4 };
  guint8 pixels[31] = { 0 };
  g_autoptr (GByteArray) bytes = lam_test_idx_bytes (0x08, 3, dims, pixels, sizeof pixels);
  expect_images_error (bytes, gzip, LAM_DATASET_ERROR_TRUNCATED, "need 32 bytes");
}

static void
test_idx_cut_gzip (void)
{
  /* A gzip stream cut in the middle, as by an interrupted download. */
  g_autoptr (IdxData) d = idx_data_new (200, 28, 28, 10);
  guint32 dims[3] = { d->n, d->h, d->w };
  g_autoptr (GByteArray) bytes = lam_test_idx_bytes (0x08, 3, dims, d->images, (gsize) d->n * d->h * d->w);
  g_autoptr (GByteArray) packed = gzip_bytes (bytes->data, bytes->len);
  g_byte_array_set_size (packed, packed->len / 2);

  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autofree char *ip = write_bytes (tmp->path, "images.gz", packed, FALSE);
  g_autofree char *lp = write_labels (tmp->path, d->n);
  GError *error = NULL;
  g_assert_null (lam_dataset_load_idx (ip, lp, NULL, &error));
  assert_error_names (error, LAM_DATASET_ERROR_TRUNCATED, ip);
  g_error_free (error);
}

static void
test_idx_overflow (void)
{
  guint32 dims[3] = { 0xffffffffu, 0xffffffffu, 0xffffffffu };
  g_autoptr (GByteArray) bytes = lam_test_idx_bytes (0x08, 3, dims, NULL, 0);
  expect_images_error (bytes, FALSE, LAM_DATASET_ERROR_TOO_LARGE, "overflows");
}

static void
test_idx_limits (void)
{
  guint32 side[3] = { 1, 5000, 1 };
  g_autoptr (GByteArray) wide = lam_test_idx_bytes (0x08, 3, side, NULL, 0);
  expect_images_error (wide, FALSE, LAM_DATASET_ERROR_TOO_LARGE, "at most 4096");
  guint32 bytes_dims[3] = { 1u << 20, 4096, 4096 };
  g_autoptr (GByteArray) big = lam_test_idx_bytes (0x08, 3, bytes_dims, NULL, 0);
  expect_images_error (big, FALSE, LAM_DATASET_ERROR_TOO_LARGE, "at most 2147483647");
}

/* Counts are int: a claim of exactly 2 GiB is one byte too many, plain or
 * gzip, and one byte less passes the limit (to fail on the next check,
 * the two labels beside it). */
static void
test_idx_limit_edge (gconstpointer data)
{
  gboolean gzip = GPOINTER_TO_INT (data);
  guint32 two_gib[3] = { 1u << 15, 256, 256 };
  g_autoptr (GByteArray) at = lam_test_idx_bytes (0x08, 3, two_gib, NULL, 0);
  expect_images_error (at, gzip, LAM_DATASET_ERROR_TOO_LARGE,
                       "take 2147483648 bytes, expected at most 2147483647");
  guint32 below[3] = { G_MAXINT, 1, 1 };
  guint8 payload[64] = { 0 };
  g_autoptr (GByteArray) under = lam_test_idx_bytes (0x08, 3, below, payload, sizeof payload);
  expect_images_error (under, gzip, LAM_DATASET_ERROR_MISMATCH, "has 2147483647 images");
}

/* Headers claiming far more than the file holds must fail before the claim
 * is allocated: run with a 1 GiB address space, the claims (2e9 labels,
 * 2^21 images of 28×28) would not fit, so allocating them first would fail
 * with TOO_LARGE instead of TRUNCATED. The sanitizers reserve more address
 * space than that, so there only the outcome and the time are checked. */
static void
test_idx_huge_claim (gconstpointer data)
{
  if (!g_test_subprocess ()) {
    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
    return;
  }
#ifndef __SANITIZE_ADDRESS__
  struct rlimit limit = { (rlim_t) 1 << 30, (rlim_t) 1 << 30 };
  g_assert_cmpint (setrlimit (RLIMIT_AS, &limit), ==, 0);
#endif
  gboolean gzip = GPOINTER_TO_INT (data);
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  guint8 payload[100] = { 0 };
  guint32 n_labels = 2000000000u;
  g_autoptr (GByteArray) labels = lam_test_idx_bytes (0x08, 1, &n_labels, payload, sizeof payload);
  guint32 image_dims[3] = { 1u << 21, 28, 28 };
  g_autoptr (GByteArray) images = lam_test_idx_bytes (0x08, 3, image_dims, payload, sizeof payload);
  g_autofree char *lp = write_bytes (tmp->path, "labels", labels, gzip);
  g_autofree char *ip = write_bytes (tmp->path, "images", images, gzip);
  g_autoptr (IdxData) d = idx_data_new (2, 2, 2, 2);
  g_autofree char *good_ip = NULL, *good_lp = NULL;
  write_idx_pair (tmp->path, d, "good-images", "good-labels", FALSE, &good_ip, &good_lp);

  g_autoptr (GTimer) timer = g_timer_new ();
  GError *error = NULL;
  g_assert_null (lam_dataset_load_idx (good_ip, lp, NULL, &error));
  assert_error_names (error, LAM_DATASET_ERROR_TRUNCATED, lp);
  g_clear_error (&error);
  /* The images' claim disagrees with the labels' count: refused on the
   * header, before a byte of the payload is read. */
  g_assert_null (lam_dataset_load_idx (ip, good_lp, NULL, &error));
  assert_error_names (error, LAM_DATASET_ERROR_MISMATCH, ip);
  g_clear_error (&error);
  /* With labels that agree, the claim is checked against the file. */
  guint32 n_claimed = 1u << 21;
  g_autoptr (GByteArray) many_labels = lam_test_idx_bytes (0x08, 1, &n_claimed, NULL, 0);
  g_byte_array_set_size (many_labels, 8 + n_claimed);
  memset (many_labels->data + 8, 0, n_claimed);
  g_autofree char *many_lp = write_bytes (tmp->path, "many-labels", many_labels, gzip);
  g_assert_null (lam_dataset_load_idx (ip, many_lp, NULL, &error));
  assert_error_names (error, LAM_DATASET_ERROR_TRUNCATED, ip);
  g_clear_error (&error);
  /* Filling the 2e9 claimed labels would take minutes; the checks take a
   * fraction of a second, also under sanitizers on a loaded machine. */
  g_assert_cmpfloat (g_timer_elapsed (timer, NULL), <, 10.0);
}

static void
test_idx_count_mismatch (void)
{
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autoptr (IdxData) d = idx_data_new (5, 3, 3, 2);
  g_autofree char *ip = NULL;
  write_idx_pair (tmp->path, d, "img", "lab", FALSE, &ip, NULL);
  g_autofree char *lp = write_labels (tmp->path, 4);
  GError *error = NULL;
  g_assert_null (lam_dataset_load_idx (ip, lp, NULL, &error));
  assert_error_names (error, LAM_DATASET_ERROR_MISMATCH, lp);
  g_assert_nonnull (strstr (error->message, ip));
  g_assert_nonnull (strstr (error->message, "4"));
  g_assert_nonnull (strstr (error->message, "5"));
  g_error_free (error);
}

static void
test_idx_label_range (void)
{
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autoptr (IdxData) d = idx_data_new (6, 3, 3, 3);
  d->labels[4] = 3;
  g_autofree char *ip = NULL, *lp = NULL;
  write_idx_pair (tmp->path, d, "img", "lab", TRUE, &ip, &lp);
  const char *names[] = { "x", "y", "z", NULL };
  GError *error = NULL;
  g_assert_null (lam_dataset_load_idx (ip, lp, names, &error));
  assert_error_names (error, LAM_DATASET_ERROR_LABEL, lp);
  g_assert_nonnull (strstr (error->message, "label 3 at index 4"));
  g_assert_nonnull (strstr (error->message, "< 3"));
  g_clear_error (&error);

  /* Without names the labels count the classes: one byte of 255 among
   * 0 to 2 is damage, not 256 classes. */
  d->labels[4] = 255;
  g_clear_pointer (&ip, g_free);
  g_clear_pointer (&lp, g_free);
  write_idx_pair (tmp->path, d, "img", "lab", TRUE, &ip, &lp);
  g_assert_null (lam_dataset_load_idx (ip, lp, NULL, &error));
  assert_error_names (error, LAM_DATASET_ERROR_LABEL, lp);
  g_assert_nonnull (strstr (error->message, "label 255 at index 4 stands far above the others"));
  g_clear_error (&error);
  /* Twelve classes of which one has no image are twelve classes. */
  for (int i = 0; i < 6; i++)
    d->labels[i] = (guint8) (i * 2);
  d->labels[5] = 11;
  g_clear_pointer (&ip, g_free);
  g_clear_pointer (&lp, g_free);
  write_idx_pair (tmp->path, d, "img", "lab", TRUE, &ip, &lp);
  g_autoptr (LamDataset) twelve = lam_dataset_load_idx (ip, lp, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (twelve->n_classes, ==, 12);
  /* Nor are a few classes of a larger set, numbered as in it: the vowels
   * of EMNIST letters, whose highest label is not far above the rest. */
  const guint8 vowels[] = { 1, 5, 9, 15, 21, 5 };
  for (int i = 0; i < 6; i++)
    d->labels[i] = vowels[i];
  g_clear_pointer (&ip, g_free);
  g_clear_pointer (&lp, g_free);
  write_idx_pair (tmp->path, d, "img", "lab", TRUE, &ip, &lp);
  g_autoptr (LamDataset) letters = lam_dataset_load_idx (ip, lp, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (letters->n_classes, ==, 22);
}

static void
test_idx_missing (void)
{
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autofree char *ip = g_build_filename (tmp->path, "nothing-here", NULL);
  g_autofree char *lp = write_labels (tmp->path, 2);
  GError *error = NULL;
  g_assert_null (lam_dataset_load_idx (ip, lp, NULL, &error));
  assert_error_names (error, LAM_DATASET_ERROR_NOT_FOUND, ip);
  g_error_free (error);
}

static void
test_idx_empty (void)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  expect_images_error (bytes, FALSE, LAM_DATASET_ERROR_FORMAT, "empty");
}

static void
test_idx_header_only (gconstpointer data)
{
  gboolean gzip = GPOINTER_TO_INT (data);
  guint32 dims[3] = { 2, 28, 28 };
  g_autoptr (GByteArray) bytes = lam_test_idx_bytes (0x08, 3, dims, NULL, 0);
  expect_images_error (bytes, gzip, LAM_DATASET_ERROR_TRUNCATED, "need 1568 bytes");
  /* Cut inside the dimensions. */
  g_byte_array_set_size (bytes, 9);
  expect_images_error (bytes, gzip, LAM_DATASET_ERROR_TRUNCATED, "expected 16 bytes, found 9");
}

/* ---- CIFAR-10 ---- */

static GByteArray *
cifar_bytes (int n, int first, int n_classes)
{
  GByteArray *bytes = g_byte_array_new ();
  for (int i = 0; i < n; i++) {
    guint8 record[3073];
    record[0] = (guint8) ((first + i) % n_classes);
    for (int k = 0; k < 3072; k++)
      record[1 + k] = pixel_value (first + i, k);
    g_byte_array_append (bytes, record, sizeof record);
  }
  return bytes;
}

static void
test_cifar_good (void)
{
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autoptr (GByteArray) a = cifar_bytes (3, 0, 10);
  g_autoptr (GByteArray) b = cifar_bytes (300, 3, 10);
  g_autofree char *pa = write_bytes (tmp->path, "a.bin", a, FALSE);
  g_autofree char *pb = write_bytes (tmp->path, "b.bin", b, FALSE);
  const char *paths[] = { pa, pb, NULL };
  GError *error = NULL;
  g_autoptr (LamDataset) ds = lam_dataset_load_cifar10 (paths, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ds->n, ==, 303);
  g_assert_cmpint (ds->channels, ==, 3);
  g_assert_cmpint (ds->height, ==, 32);
  g_assert_cmpint (ds->width, ==, 32);
  g_assert_cmpint (ds->n_classes, ==, 10);
  g_assert_cmpstr (ds->class_names[0], ==, "airplane");
  g_assert_cmpstr (ds->class_names[9], ==, "truck");
  g_assert_null (ds->class_names[10]);
  for (int i = 0; i < ds->n; i++) {
    g_assert_cmpint (ds->labels[i], ==, i % 10);
    const guint8 *image = lam_dataset_get_image (ds, i);
    for (int k = 0; k < 3072; k++)
      g_assert_cmpint (image[k], ==, pixel_value (i, k));
  }
}

static void
test_cifar_bad_size (void)
{
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autoptr (GByteArray) a = cifar_bytes (2, 0, 10);
  g_byte_array_set_size (a, a->len - 1);
  g_autofree char *pa = write_bytes (tmp->path, "a.bin", a, FALSE);
  const char *paths[] = { pa, NULL };
  GError *error = NULL;
  g_assert_null (lam_dataset_load_cifar10 (paths, NULL, &error));
  assert_error_names (error, LAM_DATASET_ERROR_TRUNCATED, pa);
  g_assert_nonnull (strstr (error->message, "6145"));
  g_clear_error (&error);

  g_autoptr (GByteArray) empty = g_byte_array_new ();
  g_autofree char *pe = write_bytes (tmp->path, "e.bin", empty, FALSE);
  const char *empty_paths[] = { pe, NULL };
  g_assert_null (lam_dataset_load_cifar10 (empty_paths, NULL, &error));
  assert_error_names (error, LAM_DATASET_ERROR_FORMAT, pe);
  g_clear_error (&error);

  g_autofree char *missing = g_build_filename (tmp->path, "missing.bin", NULL);
  const char *missing_paths[] = { missing, NULL };
  g_assert_null (lam_dataset_load_cifar10 (missing_paths, NULL, &error));
  assert_error_names (error, LAM_DATASET_ERROR_NOT_FOUND, missing);
  g_clear_error (&error);
}

static void
test_cifar_bad_label (void)
{
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autoptr (GByteArray) a = cifar_bytes (4, 0, 10);
  g_autoptr (GByteArray) b = cifar_bytes (4, 0, 10);
  b->data[2 * 3073] = 10;
  g_autofree char *pa = write_bytes (tmp->path, "a.bin", a, FALSE);
  g_autofree char *pb = write_bytes (tmp->path, "b.bin", b, FALSE);
  const char *paths[] = { pa, pb, NULL };
  GError *error = NULL;
  g_assert_null (lam_dataset_load_cifar10 (paths, NULL, &error));
  assert_error_names (error, LAM_DATASET_ERROR_LABEL, pb);
  g_assert_nonnull (strstr (error->message, "label 10 in record 2"));
  g_error_free (error);
}

/* ---- folders ---- */

static void
test_dir_idx_classes_txt (void)
{
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-letters-XXXXXX");
  g_autoptr (IdxData) train = idx_data_new (12, 4, 4, 3);
  g_autoptr (IdxData) test = idx_data_new (5, 4, 4, 2);
  write_idx_pair (tmp->path, train, "train-images-idx3-ubyte", "train-labels-idx1-ubyte.gz", TRUE,
                  NULL, NULL);
  write_idx_pair (tmp->path, test, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", FALSE, NULL,
                  NULL);
  const char *classes = "alpha\nbeta\r\n\ngamma\n";
  g_autofree char *cp = write_file (tmp->path, "classes.txt", classes, strlen (classes));

  LamDataset *tr = NULL, *te = NULL;
  GError *error = NULL;
  g_assert_true (lam_dataset_load_dir (tmp->path, &tr, &te, &error));
  g_assert_no_error (error);
  assert_dataset_matches (tr, train);
  assert_dataset_matches (te, test);
  g_assert_cmpint (tr->n_classes, ==, 3);
  g_assert_cmpint (te->n_classes, ==, 3);
  g_assert_cmpstr (tr->class_names[1], ==, "beta");
  g_assert_cmpstr (te->class_names[2], ==, "gamma");
  g_autofree char *base = g_path_get_basename (tmp->path);
  g_autofree char *train_name = g_strdup_printf ("%s (train)", base);
  g_assert_cmpstr (tr->name, ==, train_name);
  lam_dataset_free (tr);
  lam_dataset_free (te);

  /* Without the test part, and without asking for it. */
  tr = NULL;
  g_assert_true (lam_dataset_load_dir (tmp->path, &tr, NULL, &error));
  g_assert_no_error (error);
  lam_dataset_free (tr);

  /* A classes.txt one line short is named as where the count came from. */
  g_assert_true (g_file_set_contents (cp, "alpha\n", -1, NULL)); /* the labels are all 1 */
  tr = NULL;
  g_assert_false (lam_dataset_load_dir (tmp->path, &tr, NULL, &error));
  g_assert_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_LABEL);
  g_autofree char *named = g_strdup_printf ("%s names 1 class: ", cp);
  g_assert_true (g_str_has_prefix (error->message, named));
  g_assert_nonnull (strstr (error->message, "label 1 at index 0"));
  g_clear_error (&error);
}

static void
test_dir_idx_fashion (void)
{
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autofree char *dir = g_build_filename (tmp->path, "My-Fashion-MNIST", NULL);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  g_autoptr (IdxData) train = idx_data_new (20, 6, 6, 10);
  write_idx_pair (dir, train, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", TRUE,
                  NULL, NULL);

  LamDataset *tr = NULL, *te = NULL;
  GError *error = NULL;
  g_autofree char *with_slash = g_strconcat (dir, "/", NULL);
  g_assert_true (lam_dataset_load_dir (with_slash, &tr, &te, &error));
  g_assert_no_error (error);
  g_assert_null (te);
  assert_dataset_matches (tr, train);
  g_assert_cmpstr (tr->name, ==, "Fashion-MNIST (train)");
  g_assert_cmpint (tr->n_classes, ==, 10);
  g_assert_cmpstr (tr->class_names[0], ==, "T-shirt/top");
  g_assert_cmpstr (tr->class_names[9], ==, "Ankle boot");
  lam_dataset_free (tr);
}

static void
test_dir_idx_digits (void)
{
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autoptr (IdxData) train = idx_data_new (20, 5, 5, 10);
  g_autoptr (IdxData) test = idx_data_new (3, 5, 5, 3);
  write_idx_pair (tmp->path, train, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", FALSE,
                  NULL, NULL);
  write_idx_pair (tmp->path, test, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", TRUE,
                  NULL, NULL);
  LamDataset *tr = NULL, *te = NULL;
  GError *error = NULL;
  g_assert_true (lam_dataset_load_dir (tmp->path, &tr, &te, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (tr->name, ==, "MNIST (train)");
  g_assert_cmpstr (te->name, ==, "MNIST (test)");
  g_assert_cmpint (tr->n_classes, ==, 10);
  /* The test part keeps the train part's classes. */
  g_assert_cmpint (te->n_classes, ==, 10);
  g_assert_cmpstr (te->class_names[9], ==, "9");
  lam_dataset_free (tr);
  lam_dataset_free (te);
}

static void
test_dir_idx_shape_mismatch (void)
{
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autoptr (IdxData) train = idx_data_new (4, 5, 5, 2);
  g_autoptr (IdxData) test = idx_data_new (4, 6, 5, 2);
  write_idx_pair (tmp->path, train, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", FALSE,
                  NULL, NULL);
  g_autofree char *ip = NULL;
  write_idx_pair (tmp->path, test, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", FALSE, &ip,
                  NULL);
  LamDataset *tr = NULL, *te = NULL;
  GError *error = NULL;
  g_assert_false (lam_dataset_load_dir (tmp->path, &tr, &te, &error));
  assert_error_names (error, LAM_DATASET_ERROR_MISMATCH, ip);
  g_assert_null (tr);
  g_assert_null (te);
  g_error_free (error);
}

static void
write_cifar_dir (const char *dir, int n_batches)
{
  for (int b = 1; b <= n_batches; b++) {
    g_autoptr (GByteArray) bytes = cifar_bytes (10, b * 10, 10);
    g_autofree char *name = g_strdup_printf ("data_batch_%d.bin", b);
    g_free (write_bytes (dir, name, bytes, FALSE));
  }
  g_autoptr (GByteArray) test = cifar_bytes (7, 0, 10);
  g_free (write_bytes (dir, "test_batch.bin", test, FALSE));
  const char *meta = "plane\ncar\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
  g_free (write_file (dir, "batches.meta.txt", meta, strlen (meta)));
}

static void
test_dir_cifar (gconstpointer data)
{
  gboolean child = GPOINTER_TO_INT (data);
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autofree char *dir = child ? g_build_filename (tmp->path, "cifar-10-batches-bin", NULL)
                               : g_strdup (tmp->path);
  if (child)
    g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  write_cifar_dir (dir, 3);

  LamDataset *tr = NULL, *te = NULL;
  GError *error = NULL;
  g_assert_true (lam_dataset_load_dir (tmp->path, &tr, &te, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tr->n, ==, 30);
  g_assert_cmpint (te->n, ==, 7);
  g_assert_cmpstr (tr->name, ==, "CIFAR-10 (train)");
  g_assert_cmpstr (te->name, ==, "CIFAR-10 (test)");
  g_assert_cmpstr (tr->class_names[1], ==, "car");
  g_assert_cmpint (tr->n_classes, ==, 10);
  /* Batches in order: the first record of data_batch_1 is image 10. */
  g_assert_cmpint (tr->labels[0], ==, 0);
  g_assert_cmpint (lam_dataset_get_image (tr, 0)[5], ==, pixel_value (10, 5));
  g_assert_cmpint (lam_dataset_get_image (tr, 29)[7], ==, pixel_value (39, 7));
  lam_dataset_free (tr);
  lam_dataset_free (te);
}

static void
test_dir_empty (void)
{
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_free (write_file (tmp->path, "README", "x", 1));
  LamDataset *tr = NULL, *te = NULL;
  GError *error = NULL;
  g_assert_false (lam_dataset_load_dir (tmp->path, &tr, &te, &error));
  assert_error_names (error, LAM_DATASET_ERROR_NOT_FOUND, tmp->path);
  g_assert_nonnull (strstr (error->message, "train-images-idx3-ubyte"));
  g_assert_nonnull (strstr (error->message, "data_batch_1.bin"));
  g_assert_null (tr);
  g_assert_null (te);
  g_clear_error (&error);

  g_autofree char *missing = g_build_filename (tmp->path, "absent", NULL);
  g_assert_false (lam_dataset_load_dir (missing, &tr, &te, &error));
  assert_error_names (error, LAM_DATASET_ERROR_NOT_FOUND, missing);
  g_clear_error (&error);

  /* Images without labels. */
  g_autoptr (IdxData) d = idx_data_new (2, 2, 2, 2);
  write_idx_pair (tmp->path, d, "train-images-idx3-ubyte", "other", FALSE, NULL, NULL);
  g_assert_false (lam_dataset_load_dir (tmp->path, &tr, &te, &error));
  assert_error_names (error, LAM_DATASET_ERROR_NOT_FOUND, tmp->path);
  g_clear_error (&error);
}

/* ---- statistics ---- */

static void
direct_stats (const LamDataset *ds, const guint32 *indices, gsize n, double *mean, double *std)
{
  gsize plane = (gsize) ds->height * ds->width;
  for (int c = 0; c < ds->channels; c++) {
    double sum = 0;
    for (gsize i = 0; i < n; i++) {
      int index = indices ? (int) indices[i] : (int) i;
      const guint8 *p = lam_dataset_get_image (ds, index) + c * plane;
      for (gsize k = 0; k < plane; k++)
        sum += p[k] / 255.0;
    }
    mean[c] = sum / (n * plane);
    double sq = 0;
    for (gsize i = 0; i < n; i++) {
      int index = indices ? (int) indices[i] : (int) i;
      const guint8 *p = lam_dataset_get_image (ds, index) + c * plane;
      for (gsize k = 0; k < plane; k++)
        sq += (p[k] / 255.0 - mean[c]) * (p[k] / 255.0 - mean[c]);
    }
    std[c] = sqrt (sq / (n * plane));
  }
}

static void
test_stats (void)
{
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autoptr (GByteArray) bytes = cifar_bytes (40, 0, 10);
  /* Give the channels different distributions. */
  for (int i = 0; i < 40; i++)
    for (int k = 0; k < 1024; k++) {
      bytes->data[i * 3073 + 1 + k] /= 2;
      bytes->data[i * 3073 + 1 + 2048 + k] = (guint8) (200 + (k + i) % 50);
    }
  g_autofree char *path = write_bytes (tmp->path, "a.bin", bytes, FALSE);
  const char *paths[] = { path, NULL };
  GError *error = NULL;
  g_autoptr (LamDataset) ds = lam_dataset_load_cifar10 (paths, NULL, &error);
  g_assert_no_error (error);

  float mean[3], std[3];
  double want_mean[3], want_std[3];
  lam_dataset_compute_stats (ds, NULL, 0, mean, std);
  direct_stats (ds, NULL, ds->n, want_mean, want_std);
  for (int c = 0; c < 3; c++) {
    g_assert_cmpfloat_with_epsilon (mean[c], want_mean[c], 1e-6);
    g_assert_cmpfloat_with_epsilon (std[c], want_std[c], 1e-6);
  }
  g_assert_cmpfloat (mean[1], >, mean[0] + 0.1);
  g_assert_cmpfloat (mean[2], >, 0.8);

  guint32 subset[] = { 3, 17, 39, 0 };
  lam_dataset_compute_stats (ds, subset, G_N_ELEMENTS (subset), mean, std);
  direct_stats (ds, subset, G_N_ELEMENTS (subset), want_mean, want_std);
  for (int c = 0; c < 3; c++) {
    g_assert_cmpfloat_with_epsilon (mean[c], want_mean[c], 1e-6);
    g_assert_cmpfloat_with_epsilon (std[c], want_std[c], 1e-6);
  }
}

static void
test_stats_constant (void)
{
  g_autoptr (TmpDir) tmp = tmp_dir_new ("lam-dataset-XXXXXX");
  g_autoptr (IdxData) d = idx_data_new (3, 4, 4, 2);
  memset (d->images, 51, 3 * 16);
  g_autofree char *ip = NULL, *lp = NULL;
  write_idx_pair (tmp->path, d, "img", "lab", FALSE, &ip, &lp);
  GError *error = NULL;
  g_autoptr (LamDataset) ds = lam_dataset_load_idx (ip, lp, NULL, &error);
  g_assert_no_error (error);
  float mean[1], std[1];
  lam_dataset_compute_stats (ds, NULL, 0, mean, std);
  g_assert_cmpfloat_with_epsilon (mean[0], 0.2, 1e-7);
  g_assert_cmpfloat (std[0], ==, 0);
}

/* ---- the real Fashion-MNIST ---- */

static void
test_fashion_mnist (void)
{
  if (!g_file_test (LAM_DATASET_DEFAULT_DIR, G_FILE_TEST_IS_DIR)) {
    g_test_skip ("the dataset-fashion-mnist package is absent (no " LAM_DATASET_DEFAULT_DIR ")");
    return;
  }
  LamDataset *train = NULL, *test = NULL;
  GError *error = NULL;
  g_autoptr (GTimer) timer = g_timer_new ();
  g_assert_true (lam_dataset_load_dir (LAM_DATASET_DEFAULT_DIR, &train, &test, &error));
  g_assert_no_error (error);
  g_test_message ("loaded Fashion-MNIST in %.3f s", g_timer_elapsed (timer, NULL));

  g_assert_cmpstr (train->name, ==, "Fashion-MNIST (train)");
  g_assert_cmpstr (test->name, ==, "Fashion-MNIST (test)");
  g_assert_cmpint (train->n, ==, 60000);
  g_assert_cmpint (test->n, ==, 10000);
  for (int s = 0; s < 2; s++) {
    LamDataset *ds = s ? test : train;
    g_assert_cmpint (ds->channels, ==, 1);
    g_assert_cmpint (ds->height, ==, 28);
    g_assert_cmpint (ds->width, ==, 28);
    g_assert_cmpint (ds->n_classes, ==, 10);
    g_assert_cmpstr (ds->class_names[0], ==, "T-shirt/top");
    int counts[10] = { 0 };
    for (int i = 0; i < ds->n; i++) {
      g_assert_cmpint (ds->labels[i], <, 10);
      counts[ds->labels[i]]++;
    }
    for (int c = 0; c < 10; c++)
      g_assert_cmpint (counts[c], ==, s ? 1000 : 6000);
  }
  float mean[1], std[1];
  lam_dataset_compute_stats (train, NULL, 0, mean, std);
  /* Fashion-MNIST's well-known statistics. */
  g_assert_cmpfloat_with_epsilon (mean[0], 0.2860, 1e-3);
  g_assert_cmpfloat_with_epsilon (std[0], 0.3530, 1e-3);
  lam_dataset_free (train);
  lam_dataset_free (test);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/dataset/idx/good-plain", GINT_TO_POINTER (FALSE), test_idx_good);
  g_test_add_data_func ("/dataset/idx/good-gzip", GINT_TO_POINTER (TRUE), test_idx_good);
  g_test_add_func ("/dataset/idx/large-gzip", test_idx_large_gzip);
  g_test_add_func ("/dataset/idx/large-pages", test_idx_large_pages);
  g_test_add_func ("/dataset/idx/trailing-bytes", test_idx_trailing);
  g_test_add_func ("/dataset/idx/wrong-magic", test_idx_wrong_magic);
  g_test_add_data_func ("/dataset/idx/limit-edge-plain", GINT_TO_POINTER (FALSE),
                        test_idx_limit_edge);
  g_test_add_data_func ("/dataset/idx/limit-edge-gzip", GINT_TO_POINTER (TRUE),
                        test_idx_limit_edge);
  g_test_add_func ("/dataset/idx/wrong-type", test_idx_wrong_type);
  g_test_add_func ("/dataset/idx/wrong-rank", test_idx_wrong_rank);
  g_test_add_func ("/dataset/idx/zero-dim", test_idx_zero_dim);
  g_test_add_data_func ("/dataset/idx/truncated-plain", GINT_TO_POINTER (FALSE),
                        test_idx_truncated);
  g_test_add_data_func ("/dataset/idx/truncated-gzip", GINT_TO_POINTER (TRUE), test_idx_truncated);
  g_test_add_func ("/dataset/idx/cut-gzip", test_idx_cut_gzip);
  g_test_add_func ("/dataset/idx/overflow", test_idx_overflow);
  g_test_add_func ("/dataset/idx/limits", test_idx_limits);
  g_test_add_data_func ("/dataset/idx/huge-claim-plain", GINT_TO_POINTER (FALSE),
                        test_idx_huge_claim);
  g_test_add_data_func ("/dataset/idx/huge-claim-gzip", GINT_TO_POINTER (TRUE),
                        test_idx_huge_claim);
  g_test_add_func ("/dataset/idx/count-mismatch", test_idx_count_mismatch);
  g_test_add_func ("/dataset/idx/label-range", test_idx_label_range);
  g_test_add_func ("/dataset/idx/missing", test_idx_missing);
  g_test_add_func ("/dataset/idx/empty", test_idx_empty);
  g_test_add_data_func ("/dataset/idx/header-only-plain", GINT_TO_POINTER (FALSE),
                        test_idx_header_only);
  g_test_add_data_func ("/dataset/idx/header-only-gzip", GINT_TO_POINTER (TRUE),
                        test_idx_header_only);
  g_test_add_func ("/dataset/cifar10/good", test_cifar_good);
  g_test_add_func ("/dataset/cifar10/bad-size", test_cifar_bad_size);
  g_test_add_func ("/dataset/cifar10/bad-label", test_cifar_bad_label);
  g_test_add_func ("/dataset/dir/idx-classes-txt", test_dir_idx_classes_txt);
  g_test_add_func ("/dataset/dir/idx-fashion", test_dir_idx_fashion);
  g_test_add_func ("/dataset/dir/idx-digits", test_dir_idx_digits);
  g_test_add_func ("/dataset/dir/idx-shape-mismatch", test_dir_idx_shape_mismatch);
  g_test_add_data_func ("/dataset/dir/cifar", GINT_TO_POINTER (FALSE), test_dir_cifar);
  g_test_add_data_func ("/dataset/dir/cifar-child", GINT_TO_POINTER (TRUE), test_dir_cifar);
  g_test_add_func ("/dataset/dir/empty", test_dir_empty);
  g_test_add_func ("/dataset/stats/direct", test_stats);
  g_test_add_func ("/dataset/stats/constant", test_stats_constant);
  g_test_add_func ("/dataset/fashion-mnist", test_fashion_mnist);

  return g_test_run ();
}
