#include "lam-dataset.h"
#include "lam-cache.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK (lam-dataset-error-quark, lam_dataset_error)

const char *const lam_fashion_mnist_classes[] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot",
  NULL,
};

const char *const lam_kmnist_classes[] = {
  "o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo", NULL,
};

const char *const lam_cifar10_classes[] = {
  "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck", NULL,
};

#define IDX_TYPE_UBYTE 0x08
#define IDX_MAX_RANK 4
#define MAX_SIDE 4096
/* Counts in LamDataset are int, so the pixels stop short of 2 GiB: far
 * beyond what this app trains on, and a bad header asks for no more. */
#define MAX_BYTES ((gsize) G_MAXINT)
#define GZIP_MAX_RATIO 1032
#define GZIP_CHUNK ((gsize) 1 << 20)
#define CIFAR_SIDE 32
#define CIFAR_IMAGE (3 * CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_RECORD (1 + CIFAR_IMAGE)
#define CIFAR_RECORDS_PER_READ 256
#define MAX_CLASSES 256

void
lam_dataset_free (LamDataset *dataset)
{
  if (dataset == NULL)
    return;
  g_free (dataset->name);
  g_free (dataset->images);
  g_free (dataset->labels);
  g_strfreev (dataset->class_names);
  g_free (dataset->features);
  g_strfreev (dataset->feature_names);
  g_free (dataset->feature_mean);
  g_free (dataset->feature_std);
  g_free (dataset->targets);
  g_strfreev (dataset->target_names);
  g_free (dataset->target_mean);
  g_free (dataset->target_std);
  g_free (dataset);
}

static gpointer
dup_floats (const float *values, gsize n)
{
  return values != NULL ? g_memdup2 (values, MAX (n, 1) * sizeof (float)) : NULL;
}

/* Training mlp-b32 on Fashion-MNIST's 47 MB on two Zen 5 vCPUs, a batch
 * took 17-26 µs to fill on 2 MiB pages against 40-52 on 4 KiB ones
 * (nearly all of it waiting on the images' first bytes), and an epoch
 * 0.530-0.560 s against 0.586-0.622 (four alternating runs each). */
guint8 *
lam_dataset_images_try_new (gsize bytes)
{
  return lam_cache_large_pages_try_alloc (bytes);
}

LamDataset *
lam_dataset_copy (const LamDataset *src)
{
  g_return_val_if_fail (src != NULL, NULL);
  gsize n = (gsize) src->n;
  LamDataset *dataset = g_new0 (LamDataset, 1);
  *dataset = *src;
  dataset->name = g_strdup (src->name);
  if (src->images != NULL) {
    gsize bytes = n * lam_dataset_image_size (src);
    dataset->images = lam_dataset_images_try_new (bytes);
    if (dataset->images == NULL)
      dataset->images = g_malloc (MAX (bytes, 1));
    memcpy (dataset->images, src->images, bytes);
  }
  dataset->labels = src->labels ? g_memdup2 (src->labels, MAX (n, 1)) : NULL;
  dataset->class_names = g_strdupv (src->class_names);
  dataset->features = dup_floats (src->features, n * src->n_features);
  dataset->feature_names = g_strdupv (src->feature_names);
  dataset->feature_mean = dup_floats (src->feature_mean, src->n_features);
  dataset->feature_std = dup_floats (src->feature_std, src->n_features);
  dataset->targets = dup_floats (src->targets, n * src->n_targets);
  dataset->target_names = g_strdupv (src->target_names);
  dataset->target_mean = dup_floats (src->target_mean, src->n_targets);
  dataset->target_std = dup_floats (src->target_std, src->n_targets);
  return dataset;
}

const char *
lam_task_to_string (LamTask task)
{
  switch (task) {
  case LAM_TASK_REGRESSION:
    return "regression";
  case LAM_TASK_CLASSIFICATION:
  default:
    return "classification";
  }
}

gsize
lam_dataset_image_size (const LamDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, 0);
  return (gsize) dataset->channels * dataset->height * dataset->width;
}

const guint8 *
lam_dataset_get_image (const LamDataset *dataset, int index)
{
  g_return_val_if_fail (dataset != NULL, NULL);
  g_return_val_if_fail (index >= 0 && index < dataset->n, NULL);
  /* A table has rows, not pictures; views ask and draw nothing. */
  if (dataset->images == NULL)
    return NULL;
  return dataset->images + (gsize) index * lam_dataset_image_size (dataset);
}

gboolean
lam_dataset_is_table (const LamDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, FALSE);
  return dataset->features != NULL;
}

const float *
lam_dataset_get_row (const LamDataset *dataset, int index)
{
  g_return_val_if_fail (dataset != NULL && dataset->features != NULL, NULL);
  g_return_val_if_fail (index >= 0 && index < dataset->n, NULL);
  return dataset->features + (gsize) index * dataset->n_features;
}

LamShape
lam_dataset_get_input_shape (const LamDataset *dataset)
{
  if (dataset->features != NULL)
    return lam_shape_flat (dataset->n_features);
  return lam_shape_chw (dataset->channels, dataset->height, dataset->width);
}

int
lam_dataset_get_n_outputs (const LamDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, 0);
  return dataset->task == LAM_TASK_REGRESSION ? dataset->n_targets : dataset->n_classes;
}

/* Opens path for reading and finds its size; any failure to open is
 * NOT_FOUND, since to the user the file is not there to be read. */
static GFileInputStream *
open_file (const char *path, goffset *size, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) local = NULL;
  g_autoptr (GFileInputStream) stream = g_file_read (file, NULL, &local);
  if (stream == NULL) {
    if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND, "%s: no such file", path);
    else
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND, "%s: cannot open (%s)",
                   path, local->message);
    return NULL;
  }
  g_autoptr (GFileInfo) info = g_file_input_stream_query_info (
    stream, G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, &local);
  if (info == NULL) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND,
                 "%s: cannot read its size (%s)", path, local->message);
    return NULL;
  }
  *size = g_file_info_get_size (info);
  return g_steal_pointer (&stream);
}

/* Reads up to count bytes; *got tells how many came before the end of the
 * data. A gzip stream cut short ends with PARTIAL_INPUT, which is the same
 * thing as an early end to the caller, who reports it as truncation. */
static gboolean
read_bytes (GInputStream *in, const char *path, void *buffer, gsize count, gsize *got,
            GError **error)
{
  g_autoptr (GError) local = NULL;
  *got = 0;
  if (g_input_stream_read_all (in, buffer, count, got, NULL, &local))
    return TRUE;
  if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
    return TRUE;
  if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s: corrupt gzip data after %" G_GSIZE_FORMAT " bytes (%s)", path, *got,
                 local->message);
  else
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND, "%s: read failed (%s)",
                 path, local->message);
  return FALSE;
}

static const char *
idx_kind (guint rank)
{
  return rank == 1 ? "labels" : "images";
}

/* Reads an IDX file of unsigned bytes with a rank from min_rank to
 * max_rank (*rank_out tells which) and returns its data (the product of
 * dims bytes), after checking the header against the limits and against
 * the bytes really there. */
static guint8 *
read_idx (const char *path, guint min_rank, guint max_rank, guint *rank_out, guint32 *dims,
          const char *count_source, guint32 expect_count, GError **error)
{
  g_assert (min_rank >= 1 && min_rank <= max_rank && max_rank <= IDX_MAX_RANK);
  guint rank = min_rank;

  goffset file_size = 0;
  g_autoptr (GFileInputStream) file_stream = open_file (path, &file_size, error);
  if (file_stream == NULL)
    return NULL;

  guint8 sig[2];
  gsize got;
  if (!read_bytes (G_INPUT_STREAM (file_stream), path, sig, sizeof sig, &got, error))
    return NULL;
  if (got == 0) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s: empty file, expected an IDX header", path);
    return NULL;
  }
  g_autoptr (GError) local = NULL;
  if (!g_seekable_seek (G_SEEKABLE (file_stream), 0, G_SEEK_SET, NULL, &local)) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND, "%s: read failed (%s)",
                 path, local->message);
    return NULL;
  }

  /* gzip is recognised by content: files are often renamed or unpacked
   * without their names changing. */
  gboolean gzip = got == 2 && sig[0] == 0x1f && sig[1] == 0x8b;
  g_autoptr (GInputStream) in = NULL;
  if (gzip) {
    g_autoptr (GZlibDecompressor) decompressor =
      g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
    in = g_converter_input_stream_new (G_INPUT_STREAM (file_stream), G_CONVERTER (decompressor));
  } else {
    in = g_object_ref (G_INPUT_STREAM (file_stream));
  }

  gsize header_size = 4 + 4 * (gsize) rank;
  guint8 header[4 + 4 * IDX_MAX_RANK];
  if (!read_bytes (in, path, header, 4, &got, error))
    return NULL;
  if (got < 4) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TRUNCATED,
                 "%s: header truncated (expected %" G_GSIZE_FORMAT " bytes, found %" G_GSIZE_FORMAT
                 ")",
                 path, header_size, got);
    return NULL;
  }
  guint32 magic = (guint32) header[0] << 24 | (guint32) header[1] << 16 |
                  (guint32) header[2] << 8 | header[3];
  if (header[3] >= min_rank && header[3] <= max_rank)
    rank = header[3];
  guint32 expected_magic = IDX_TYPE_UBYTE << 8 | rank;
  if (header[0] != 0 || header[1] != 0) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s: not an IDX file (magic 0x%08x, expected 0x%08x)", path, magic,
                 expected_magic);
    return NULL;
  }
  if (header[2] != IDX_TYPE_UBYTE) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s: IDX data type 0x%02x, expected 0x%02x (unsigned bytes)", path, header[2],
                 IDX_TYPE_UBYTE);
    return NULL;
  }
  if (header[3] != rank) {
    if (max_rank > min_rank)
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                   "%s: IDX rank %u, expected %u (%s) or %u (colour %s)", path, header[3],
                   min_rank, idx_kind (rank), max_rank, idx_kind (rank));
    else
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                   "%s: IDX rank %u, expected %u (%s)", path, header[3], rank, idx_kind (rank));
    return NULL;
  }
  *rank_out = rank;
  header_size = 4 + 4 * (gsize) rank;

  if (!read_bytes (in, path, header + 4, header_size - 4, &got, error))
    return NULL;
  if (got < header_size - 4) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TRUNCATED,
                 "%s: header truncated (expected %" G_GSIZE_FORMAT " bytes, found %" G_GSIZE_FORMAT
                 ")",
                 path, header_size, 4 + got);
    return NULL;
  }

  g_autoptr (GString) shape = g_string_new (NULL);
  gsize payload = 1;
  gboolean overflow = FALSE;
  for (guint i = 0; i < rank; i++) {
    const guint8 *p = header + 4 + 4 * i;
    dims[i] = (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
    g_string_append_printf (shape, i ? "×%u" : "%u", dims[i]);
    if (!g_size_checked_mul (&payload, payload, dims[i]))
      overflow = TRUE;
  }
  for (guint i = 0; i < rank; i++)
    if (dims[i] == 0) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                   "%s: %s of shape %s, expected every dimension > 0", path, idx_kind (rank),
                   shape->str);
      return NULL;
    }
  if (overflow) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                 "%s: %s of shape %s, whose size overflows", path, idx_kind (rank), shape->str);
    return NULL;
  }
  if (dims[0] > G_MAXINT) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                 "%s: %u %s, expected at most %d", path, dims[0], idx_kind (rank), G_MAXINT);
    return NULL;
  }
  if (rank == 4 && dims[1] != 1 && dims[1] != 3) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s: images of shape %s (n×channels×height×width), expected 1 or 3 channels",
                 path, shape->str);
    return NULL;
  }
  for (guint i = rank == 4 ? 2 : 1; i < rank; i++)
    if (dims[i] > MAX_SIDE) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                   "%s: images of shape %s, expected sides of at most %d pixels", path,
                   shape->str, MAX_SIDE);
      return NULL;
    }
  if (payload > MAX_BYTES) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                 "%s: %s of shape %s take %" G_GSIZE_FORMAT
                 " bytes, expected at most %" G_GSIZE_FORMAT,
                 path, idx_kind (rank), shape->str, payload, MAX_BYTES);
    return NULL;
  }

  /* Checked on the header alone, before the payload costs memory or time. */
  if (count_source != NULL && dims[0] != expect_count) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_MISMATCH,
                 "%s has %u images but %s has %u labels: expected one label per image", path,
                 dims[0], count_source, expect_count);
    return NULL;
  }

  /* Only at least the claimed bytes are required: bytes after them are
   * ignored, as the header alone defines the counts that are later compared
   * between the images and the labels. */
  if (!gzip) {
    gsize available = file_size > (goffset) header_size ? (gsize) file_size - header_size : 0;
    if (available < payload) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TRUNCATED,
                   "%s: truncated (%s of shape %s need %" G_GSIZE_FORMAT
                   " bytes after the header, found %" G_GSIZE_FORMAT ")",
                   path, idx_kind (rank), shape->str, payload, available);
      return NULL;
    }
    g_autofree guint8 *data = lam_dataset_images_try_new (payload);
    if (data == NULL) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                   "%s: out of memory for %" G_GSIZE_FORMAT " bytes", path, payload);
      return NULL;
    }
    if (!read_bytes (in, path, data, payload, &got, error))
      return NULL;
    if (got < payload) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TRUNCATED,
                   "%s: truncated (%s of shape %s need %" G_GSIZE_FORMAT
                   " bytes after the header, found %" G_GSIZE_FORMAT ")",
                   path, idx_kind (rank), shape->str, payload, got);
      return NULL;
    }
    return g_steal_pointer (&data);
  }

  /* Deflate expands at most 1032 times: a claim beyond that cannot be in
   * the file, whatever it holds. */
  if ((guint64) file_size * GZIP_MAX_RATIO < (guint64) payload) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TRUNCATED,
                 "%s: truncated (%s of shape %s need %" G_GSIZE_FORMAT " bytes, more than a "
                 "gzip file of %" G_GOFFSET_FORMAT " bytes can hold)",
                 path, idx_kind (rank), shape->str, payload, file_size);
    return NULL;
  }

  /* A gzip stream's real length is only known by reading it, so the buffer
   * grows with the data actually decompressed and never past the claim;
   * a set of images large enough for large pages is claimed at once, in
   * room whose pages are only taken as they are written. */
  gsize capacity = payload >= LAM_CACHE_LARGE_PAGES_FROM ? payload : MIN (payload, GZIP_CHUNK);
  gsize filled = 0;
  g_autofree guint8 *data = lam_dataset_images_try_new (capacity);
  while (data != NULL && filled < payload) {
    if (filled == capacity) {
      capacity = capacity > payload / 2 ? payload : capacity * 2;
      guint8 *grown = g_try_realloc (data, capacity);
      if (grown == NULL)
        break;
      data = grown;
    }
    gsize want = MIN (capacity - filled, 4 * GZIP_CHUNK);
    if (!read_bytes (in, path, data + filled, want, &got, error))
      return NULL;
    filled += got;
    if (got < want) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TRUNCATED,
                   "%s: truncated (%s of shape %s need %" G_GSIZE_FORMAT
                   " bytes after the header, the gzip stream has %" G_GSIZE_FORMAT ")",
                   path, idx_kind (rank), shape->str, payload, filled);
      return NULL;
    }
  }
  if (data == NULL || filled < payload) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                 "%s: out of memory for %" G_GSIZE_FORMAT " bytes", path, payload);
    return NULL;
  }
  return g_steal_pointer (&data);
}

static char **
digit_names (int n_classes)
{
  char **names = g_new0 (char *, n_classes + 1);
  for (int i = 0; i < n_classes; i++)
    names[i] = g_strdup_printf ("%d", i);
  return names;
}

/* The index of the first label >= n_classes, or -1. */
static gssize
find_bad_label (const guint8 *labels, gsize n, int n_classes)
{
  for (gsize i = 0; i < n; i++)
    if (labels[i] >= n_classes)
      return (gssize) i;
  return -1;
}

LamDataset *
lam_dataset_load_idx (const char *images_path, const char *labels_path,
                      const char *const *class_names, GError **error)
{
  g_return_val_if_fail (images_path != NULL, NULL);
  g_return_val_if_fail (labels_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  int given_classes = class_names ? (int) g_strv_length ((char **) class_names) : 0;
  g_return_val_if_fail (class_names == NULL || (given_classes >= 1 && given_classes <= MAX_CLASSES),
                        NULL);

  guint32 image_dims[4] = { 0, 1, 0, 0 }, label_dims[1];
  guint image_rank = 0, label_rank = 0;
  /* The small labels file first: its count bounds what the images may
   * claim before their payload is read. */
  g_autofree guint8 *labels = read_idx (labels_path, 1, 1, &label_rank, label_dims, NULL, 0,
                                        error);
  if (labels == NULL)
    return NULL;
  g_autofree guint8 *images = read_idx (images_path, 3, 4, &image_rank, image_dims, labels_path,
                                        label_dims[0], error);
  if (images == NULL)
    return NULL;
  /* Rank 3 is [n, h, w] grey; rank 4 is [n, c, h, w]. */
  if (image_rank == 3) {
    image_dims[3] = image_dims[2];
    image_dims[2] = image_dims[1];
    image_dims[1] = 1;
  }
  gsize n = image_dims[0];

  int n_classes = given_classes;
  if (class_names == NULL) {
    int max_label = 0;
    gboolean used[256] = { FALSE };
    for (gsize i = 0; i < n; i++) {
      max_label = MAX (max_label, labels[i]);
      used[labels[i]] = TRUE;
    }
    n_classes = max_label + 1;
    /* Labels number the classes from 0: one far above all the others (a
     * byte of a damaged file) would otherwise make hundreds of classes
     * no image has, and a model asked to have as many outputs. */
    int next_label = -1, n_used = 0;
    for (int c = 0; c < n_classes; c++) {
      n_used += used[c];
      if (used[c] && c < max_label)
        next_label = c;
    }
    /* Sparse labels alone are no damage: a subset of a larger set keeps
     * its numbers (the vowels of EMNIST letters are 1, 5, 9, 15 and 21). */
    if (n_classes > 10 && n_classes > 2 * n_used && max_label >= 2 * (next_label + 1)) {
      gsize at = 0;
      while (labels[at] != max_label)
        at++;
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_LABEL,
                   "%s: label %d at index %" G_GSIZE_FORMAT " stands far above the others "
                   "(%d distinct labels, the rest at most %d): labels number the classes from "
                   "0; is the file damaged?",
                   labels_path, max_label, at, n_used, next_label);
      return NULL;
    }
  }
  gssize bad = find_bad_label (labels, n, n_classes);
  if (bad >= 0) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_LABEL,
                 "%s: label %u at index %" G_GSSIZE_FORMAT
                 ", expected < %d (the number of classes)",
                 labels_path, labels[bad], bad, n_classes);
    return NULL;
  }

  LamDataset *dataset = g_new0 (LamDataset, 1);
  dataset->name = g_path_get_basename (images_path);
  dataset->n = (int) n;
  dataset->channels = (int) image_dims[1];
  dataset->height = (int) image_dims[2];
  dataset->width = (int) image_dims[3];
  dataset->images = g_steal_pointer (&images);
  dataset->labels = g_steal_pointer (&labels);
  dataset->n_classes = n_classes;
  dataset->class_names = class_names ? g_strdupv ((char **) class_names) : digit_names (n_classes);
  return dataset;
}

LamDataset *
lam_dataset_load_cifar10 (const char *const *paths, const char *const *class_names, GError **error)
{
  g_return_val_if_fail (paths != NULL && paths[0] != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (class_names == NULL)
    class_names = lam_cifar10_classes;
  int n_classes = (int) g_strv_length ((char **) class_names);
  g_return_val_if_fail (n_classes >= 1 && n_classes <= MAX_CLASSES, NULL);

  /* Every file is opened and sized before anything is allocated. */
  g_autoptr (GPtrArray) streams = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GArray) counts = g_array_new (FALSE, FALSE, sizeof (gsize));
  gsize total = 0;
  for (int f = 0; paths[f] != NULL; f++) {
    goffset size = 0;
    GFileInputStream *stream = open_file (paths[f], &size, error);
    if (stream == NULL)
      return NULL;
    g_ptr_array_add (streams, stream);
    if (size <= 0) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                   "%s: empty file, expected CIFAR-10 records of %d bytes", paths[f], CIFAR_RECORD);
      return NULL;
    }
    if (size % CIFAR_RECORD != 0) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TRUNCATED,
                   "%s: size %" G_GOFFSET_FORMAT " bytes, expected a multiple of the %d-byte "
                   "CIFAR-10 record (%" G_GOFFSET_FORMAT " bytes left over)",
                   paths[f], size, CIFAR_RECORD, size % CIFAR_RECORD);
      return NULL;
    }
    gsize records = (gsize) (size / CIFAR_RECORD);
    if (records > G_MAXINT - total || (total + records) > MAX_BYTES / CIFAR_IMAGE) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                   "%s: %" G_GSIZE_FORMAT " more images after %" G_GSIZE_FORMAT
                   ", expected at most %" G_GSIZE_FORMAT " in all",
                   paths[f], records, total, MAX_BYTES / CIFAR_IMAGE);
      return NULL;
    }
    total += records;
    g_array_append_val (counts, records);
  }

  g_autofree guint8 *images = lam_dataset_images_try_new (total * CIFAR_IMAGE);
  g_autofree guint8 *labels = g_try_malloc (total);
  if (images == NULL || labels == NULL) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                 "%s: out of memory for %" G_GSIZE_FORMAT " images", paths[0], total);
    return NULL;
  }
  g_autofree guint8 *chunk = g_malloc ((gsize) CIFAR_RECORD * CIFAR_RECORDS_PER_READ);
  gsize at = 0;
  for (guint f = 0; f < streams->len; f++) {
    GInputStream *in = G_INPUT_STREAM (g_ptr_array_index (streams, f));
    gsize records = g_array_index (counts, gsize, f);
    for (gsize r = 0; r < records;) {
      gsize step = MIN (records - r, CIFAR_RECORDS_PER_READ);
      gsize got;
      if (!read_bytes (in, paths[f], chunk, step * CIFAR_RECORD, &got, error))
        return NULL;
      if (got < step * CIFAR_RECORD) {
        g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TRUNCATED,
                     "%s: truncated while reading (expected %" G_GSIZE_FORMAT
                     " bytes, found %" G_GSIZE_FORMAT ")",
                     paths[f], records * CIFAR_RECORD, r * CIFAR_RECORD + got);
        return NULL;
      }
      for (gsize i = 0; i < step; i++, r++, at++) {
        const guint8 *record = chunk + i * CIFAR_RECORD;
        if (record[0] >= n_classes) {
          g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_LABEL,
                       "%s: label %u in record %" G_GSIZE_FORMAT ", expected < %d (the number of "
                       "classes)",
                       paths[f], record[0], r, n_classes);
          return NULL;
        }
        labels[at] = record[0];
        memcpy (images + at * CIFAR_IMAGE, record + 1, CIFAR_IMAGE);
      }
    }
  }

  LamDataset *dataset = g_new0 (LamDataset, 1);
  dataset->name = g_strdup ("CIFAR-10");
  dataset->n = (int) total;
  dataset->channels = 3;
  dataset->height = CIFAR_SIDE;
  dataset->width = CIFAR_SIDE;
  dataset->images = g_steal_pointer (&images);
  dataset->labels = g_steal_pointer (&labels);
  dataset->n_classes = n_classes;
  dataset->class_names = g_strdupv ((char **) class_names);
  return dataset;
}

/* base or base.gz in dir, whichever is a file (plain first), else NULL. */
static char *
find_idx_file (const char *dir, const char *base)
{
  g_autofree char *plain = g_build_filename (dir, base, NULL);
  if (g_file_test (plain, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&plain);
  g_autofree char *gz = g_strconcat (plain, ".gz", NULL);
  if (g_file_test (gz, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&gz);
  return NULL;
}

/* <part>-images-idx3-ubyte[.gz], else the colour <part>-images-idx4-ubyte[.gz]. */
static char *
find_images_file (const char *dir, const char *part)
{
  g_autofree char *grey = g_strdup_printf ("%s-images-idx3-ubyte", part);
  g_autofree char *colour = g_strdup_printf ("%s-images-idx4-ubyte", part);
  char *path = find_idx_file (dir, grey);
  return path != NULL ? path : find_idx_file (dir, colour);
}

/* One class name per line, blank lines skipped; NULL with error set when the
 * file cannot be read or holds no usable list. */
static char **
read_class_names (const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &contents, &length, &local)) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND, "%s: cannot read (%s)",
                 path, local->message);
    return NULL;
  }
  if (memchr (contents, '\0', length) != NULL || !g_utf8_validate (contents, length, NULL)) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s: expected UTF-8 text with one class name per line", path);
    return NULL;
  }
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  int count = 0;
  for (int i = 0; lines[i] != NULL; i++) {
    char *name = g_strstrip (lines[i]);
    if (*name == '\0')
      continue;
    g_strv_builder_add (builder, name);
    count++;
  }
  if (count < 1 || count > MAX_CLASSES) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s: %d class names, expected 1 to %d, one per line", path, count, MAX_CLASSES);
    return NULL;
  }
  return g_strv_builder_end (builder);
}

static void
rename_dataset (LamDataset *dataset, const char *prefix, const char *part)
{
  g_free (dataset->name);
  dataset->name = g_strdup_printf ("%s (%s)", prefix, part);
}

static gboolean
check_same_shape (const LamDataset *train, const LamDataset *test, const char *test_path,
                  GError **error)
{
  if (train->channels == test->channels && train->height == test->height &&
      train->width == test->width)
    return TRUE;
  g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_MISMATCH,
               "%s: images of %d×%d×%d, expected %d×%d×%d like the train part", test_path,
               test->channels, test->height, test->width, train->channels, train->height,
               train->width);
  return FALSE;
}

static gboolean
load_idx_dir (const char *dir, const char *train_images, LamDataset **train, LamDataset **test,
              GError **error)
{
  g_autofree char *train_labels = find_idx_file (dir, "train-labels-idx1-ubyte");
  if (train_labels == NULL) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND,
                 "%s: has %s but no train-labels-idx1-ubyte[.gz]", dir, train_images);
    return FALSE;
  }

  g_autofree char *canonical = g_canonicalize_filename (dir, NULL);
  g_autofree char *base = g_path_get_basename (canonical);
  g_autofree char *folded = g_utf8_strdown (base, -1);
  g_autofree char *classes_path = g_build_filename (dir, "classes.txt", NULL);
  g_auto (GStrv) names = NULL;
  const char *prefix = "MNIST";
  if (g_file_test (classes_path, G_FILE_TEST_EXISTS)) {
    names = read_class_names (classes_path, error);
    if (names == NULL)
      return FALSE;
    prefix = base;
  }
  /* Guessed from the folder's name only where the folder does not name
   * its classes itself: an imported "fashion-photos" is not Fashion-MNIST. */
  if (names == NULL && strstr (folded, "fashion") != NULL) {
    prefix = "Fashion-MNIST";
    names = g_strdupv ((char **) lam_fashion_mnist_classes);
  } else if (names == NULL && strstr (folded, "kmnist") != NULL) {
    prefix = "KMNIST";
    names = g_strdupv ((char **) lam_kmnist_classes);
  }

  g_autoptr (LamDataset) train_set =
    lam_dataset_load_idx (train_images, train_labels, (const char *const *) names, error);
  /* A label past the classes is as likely a short classes.txt (or a name
   * taken for Fashion-MNIST's) as a bad label: say where the count came
   * from. */
  if (train_set == NULL && names != NULL && error != NULL &&
      g_error_matches (*error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_LABEL)) {
    if (prefix == base)
      g_prefix_error (error, "%s names %u class%s: ", classes_path, g_strv_length (names),
                      g_strv_length (names) == 1 ? "" : "es");
    else
      g_prefix_error (error,
                      "the folder's name made it %s, of %u classes (a classes.txt beside "
                      "the files names others): ",
                      prefix, g_strv_length (names));
  }
  if (train_set == NULL)
    return FALSE;
  rename_dataset (train_set, prefix, "train");

  g_autoptr (LamDataset) test_set = NULL;
  g_autofree char *test_images = test ? find_images_file (dir, "t10k") : NULL;
  g_autofree char *test_labels = test ? find_idx_file (dir, "t10k-labels-idx1-ubyte") : NULL;
  if (test_images != NULL || test_labels != NULL) {
    if (test_images == NULL || test_labels == NULL) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND,
                   "%s: has %s but no %s", dir, test_images ? test_images : test_labels,
                   test_images ? "t10k-labels-idx1-ubyte[.gz]"
                               : "t10k-images-idx3-ubyte[.gz] (or idx4 for colour)");
      return FALSE;
    }
    /* The test part takes the train part's classes, so that both agree even
     * when some class is missing from the test labels. */
    test_set = lam_dataset_load_idx (test_images, test_labels,
                                     (const char *const *) train_set->class_names, error);
    if (test_set == NULL || !check_same_shape (train_set, test_set, test_images, error))
      return FALSE;
    rename_dataset (test_set, prefix, "test");
  }

  *train = g_steal_pointer (&train_set);
  if (test != NULL)
    *test = g_steal_pointer (&test_set);
  return TRUE;
}

/* Loads the CIFAR-10 batches found directly in dir; *found tells whether
 * there were any, and FALSE without an error means there were none. */
static gboolean
load_cifar_dir (const char *dir, LamDataset **train, LamDataset **test, gboolean *found,
                GError **error)
{
  g_autoptr (GPtrArray) train_paths = g_ptr_array_new_with_free_func (g_free);
  for (int i = 1; i <= 5; i++) {
    g_autofree char *name = g_strdup_printf ("data_batch_%d.bin", i);
    char *path = g_build_filename (dir, name, NULL);
    if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add (train_paths, path);
    else
      g_free (path);
  }
  *found = train_paths->len > 0;
  if (!*found)
    return FALSE;
  g_ptr_array_add (train_paths, NULL);

  g_autofree char *meta = g_build_filename (dir, "batches.meta.txt", NULL);
  g_auto (GStrv) names = NULL;
  if (g_file_test (meta, G_FILE_TEST_EXISTS)) {
    names = read_class_names (meta, error);
    if (names == NULL)
      return FALSE;
  }

  g_autoptr (LamDataset) train_set = lam_dataset_load_cifar10 (
    (const char *const *) train_paths->pdata, (const char *const *) names, error);
  if (train_set == NULL)
    return FALSE;
  rename_dataset (train_set, "CIFAR-10", "train");

  g_autoptr (LamDataset) test_set = NULL;
  g_autofree char *test_path = g_build_filename (dir, "test_batch.bin", NULL);
  if (test != NULL && g_file_test (test_path, G_FILE_TEST_IS_REGULAR)) {
    const char *test_paths[] = { test_path, NULL };
    test_set = lam_dataset_load_cifar10 (test_paths, (const char *const *) names, error);
    if (test_set == NULL)
      return FALSE;
    rename_dataset (test_set, "CIFAR-10", "test");
  }

  *train = g_steal_pointer (&train_set);
  if (test != NULL)
    *test = g_steal_pointer (&test_set);
  return TRUE;
}

/* A folder of images per class, at the default size and colour that fit
 * its images. Where the caller has no place to show skipped files, they
 * are logged. */
static gboolean
load_image_folder (const char *dir, LamDataset **train, LamDataset **test, GError **error)
{
  if (lam_dataset_get_image_decoder (NULL) == NULL) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s: has sub-folders of images, but this program has no image decoder to "
                 "read them (convert them to IDX files with the Lamina app first)",
                 dir);
    return FALSE;
  }
  LamImageFolderOptions options;
  lam_image_folder_options_init (&options, 0);
  g_auto (GStrv) skipped = NULL;
  if (!lam_dataset_load_image_folder (dir, &options, train, test, &skipped, error))
    return FALSE;
  guint n_skipped = skipped ? g_strv_length (skipped) : 0;
  if (n_skipped > 0) {
    g_autoptr (GString) list = g_string_new (NULL);
    for (guint i = 0; i < MIN (n_skipped, 10); i++)
      g_string_append_printf (list, "\n  %s", skipped[i]);
    if (n_skipped > 10)
      g_string_append_printf (list, "\n  … and %u more", n_skipped - 10);
    g_message ("%s: %u %s left out:%s", dir, n_skipped, n_skipped == 1 ? "file was" : "files were",
               list->str);
  }
  return TRUE;
}

gboolean
lam_dataset_load_dir (const char *dir, LamDataset **train, LamDataset **test, GError **error)
{
  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (train != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  *train = NULL;
  if (test != NULL)
    *test = NULL;

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND, "%s: no such folder", dir);
    return FALSE;
  }

  g_autofree char *train_images = find_images_file (dir, "train");
  if (train_images != NULL)
    return load_idx_dir (dir, train_images, train, test, error);

  gboolean found = FALSE;
  gboolean ok = load_cifar_dir (dir, train, test, &found, error);
  if (found)
    return ok;
  g_autofree char *child = g_build_filename (dir, "cifar-10-batches-bin", NULL);
  if (g_file_test (child, G_FILE_TEST_IS_DIR)) {
    ok = load_cifar_dir (child, train, test, &found, error);
    if (found)
      return ok;
  }

  if (lam_dataset_is_image_folder (dir))
    return load_image_folder (dir, train, test, error);

  g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND,
               "%s: no dataset found (looked for train-images-idx3-ubyte[.gz] with "
               "train-labels-idx1-ubyte[.gz], for CIFAR-10's data_batch_1.bin … "
               "data_batch_5.bin here or in cifar-10-batches-bin, and for sub-folders of PNG or "
               "JPEG images, one per class)",
               dir);
  return FALSE;
}

void
lam_dataset_compute_stats (const LamDataset *dataset, const guint32 *indices, gsize n,
                           float *mean, float *std)
{
  g_return_if_fail (dataset != NULL);
  g_return_if_fail (mean != NULL && std != NULL);
  g_return_if_fail (dataset->channels >= 1 && dataset->channels <= 3);
  if (dataset->features != NULL) {
    for (int c = 0; c < dataset->channels; c++) {
      mean[c] = 0;
      std[c] = 1;
    }
    return;
  }
  if (indices == NULL)
    n = (gsize) dataset->n;

  int channels = dataset->channels;
  gsize plane = (gsize) dataset->height * dataset->width;
  /* Integer sums are exact (at most 2^31 pixels of at most 255² each), so
   * only the final division rounds. */
  guint64 sum[3] = { 0 }, sum_sq[3] = { 0 };
  for (gsize i = 0; i < n; i++) {
    guint32 index = indices ? indices[i] : (guint32) i;
    g_return_if_fail (index < (guint32) dataset->n);
    const guint8 *image = dataset->images + (gsize) index * channels * plane;
    for (int c = 0; c < channels; c++) {
      const guint8 *p = image + c * plane;
      guint64 s = 0, s2 = 0;
      for (gsize k = 0; k < plane; k++) {
        s += p[k];
        s2 += (guint32) p[k] * p[k];
      }
      sum[c] += s;
      sum_sq[c] += s2;
    }
  }

  for (int c = 0; c < channels; c++) {
    if (n == 0) {
      mean[c] = 0;
      std[c] = 1;
      continue;
    }
    double count = (double) n * plane;
    double m = (double) sum[c] / count;
    double var = (double) sum_sq[c] / count - m * m;
    mean[c] = (float) (m / 255.0);
    std[c] = (float) (sqrt (MAX (var, 0.0)) / 255.0);
  }
}
