/* lam-dataset-folder.c: folders of images, one sub-folder per class, read
 * through a decoder the caller supplies (core links no image library), and
 * stored as IDX files like the built-in datasets. */
#include "lam-dataset.h"
#include "lam-device.h"
#include "lam-file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <glib/gstdio.h>
#include <string.h>

#define MAX_CLASSES 256
/* As in lam-dataset.c: counts are int, so the pixels stop short of 2 GiB,
 * far beyond what this app trains on. */
#define MAX_BYTES ((gsize) G_MAXINT)
/* Class folders may hold sub-folders (as PyTorch's ImageFolder walks them);
 * the limit also ends a walk through a symbolic-link loop. */
#define MAX_DEPTH 8
#define MAX_THREADS 8
/* The most one decode may hold: a 100-megapixel image (the decoder's cap)
 * as RGBA, a copy onto white and a crop, about 1.2 GB. */
#define DECODE_WORKER_BYTES ((guint64) 1200 * 1000 * 1000)
#define GUESS_SAMPLES 8
#define GUESS_SIDE 32
/* A pixel counts as coloured when its channels differ by more than JPEG's
 * chroma noise on a grey photo; an image, when more than 1% of them do. */
#define GUESS_CHROMA 12
#define WRITE_CHUNK ((gsize) 1 << 22)

/* ---- the registered decoder ---- */

static GMutex decoder_lock;
static LamImageDecodeFunc registered_decoder;
static gpointer registered_data;

void
lam_dataset_set_image_decoder (LamImageDecodeFunc decoder, gpointer user_data)
{
  g_mutex_lock (&decoder_lock);
  registered_decoder = decoder;
  registered_data = decoder != NULL ? user_data : NULL;
  g_mutex_unlock (&decoder_lock);
}

LamImageDecodeFunc
lam_dataset_get_image_decoder (gpointer *user_data)
{
  g_mutex_lock (&decoder_lock);
  LamImageDecodeFunc decoder = registered_decoder;
  if (user_data != NULL)
    *user_data = registered_data;
  g_mutex_unlock (&decoder_lock);
  return decoder;
}

void
lam_image_folder_options_init (LamImageFolderOptions *options, int channels)
{
  g_return_if_fail (options != NULL);
  g_return_if_fail (channels == 0 || channels == 1 || channels == 3);
  memset (options, 0, sizeof *options);
  options->channels = channels;
}

/* ---- finding the files ---- */

typedef struct
{
  char *path;  /* owned, in the file system's encoding */
  int klass;   /* index into Scan.class_dirs */
  gboolean test;
} ImageFile;

typedef struct
{
  GPtrArray *class_dirs; /* owned: the class folders' names, sorted */
  GArray *files;         /* ImageFile: the train part's, then the test part's */
  guint n_train_files;
  GPtrArray *skipped; /* owned: "path: reason", UTF-8 */
  GHashTable *folders; /* owned: "device:inode" of each folder read or to be read */
  gboolean too_many;
} Scan;

static void
image_file_clear (gpointer data)
{
  g_free (((ImageFile *) data)->path);
}

static void
scan_clear (Scan *scan)
{
  g_clear_pointer (&scan->class_dirs, g_ptr_array_unref);
  g_clear_pointer (&scan->files, g_array_unref);
  g_clear_pointer (&scan->skipped, g_ptr_array_unref);
  g_clear_pointer (&scan->folders, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Scan, scan_clear)

static void G_GNUC_PRINTF (3, 4)
skip (Scan *scan, const char *path, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *reason = g_strdup_vprintf (format, args);
  va_end (args);
  g_autofree char *display = g_filename_display_name (path);
  g_ptr_array_add (scan->skipped, g_strdup_printf ("%s: %s", display, reason));
}

static gboolean
has_image_extension (const char *name)
{
  const char *dot = strrchr (name, '.');
  return dot != NULL && dot != name &&
         (g_ascii_strcasecmp (dot, ".png") == 0 || g_ascii_strcasecmp (dot, ".jpg") == 0 ||
          g_ascii_strcasecmp (dot, ".jpeg") == 0);
}

/* Byte-wise, as Python's sorted() orders ImageFolder's classes. */
static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The names in dir that are not hidden, sorted; NULL with error when the
 * folder cannot be listed. */
static GPtrArray *
list_dir (const char *dir, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GDir) handle = g_dir_open (dir, 0, &local);
  if (handle == NULL) {
    g_autofree char *display = g_filename_display_name (dir);
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND,
                 "%s: cannot read the folder (%s)", display, local->message);
    return NULL;
  }
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (handle)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  return names;
}

/* Whether the folder at path is met for the first time. A link back up
 * the tree would read the same images again under other names (a link to
 * "." made each image 8 copies), and a few such links in one folder make
 * exponentially many paths before MAX_DEPTH ends them. */
static gboolean
first_visit (Scan *scan, const char *path)
{
  GStatBuf st;
  if (g_stat (path, &st) != 0)
    return TRUE;
  return g_hash_table_add (scan->folders,
                           g_strdup_printf ("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT,
                                            (guint64) st.st_dev, (guint64) st.st_ino));
}

static void
collect_images (Scan *scan, const char *dir, int klass, gboolean test, int depth)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) names = list_dir (dir, &error);
  if (names == NULL) {
    g_ptr_array_add (scan->skipped, g_strdup (error->message));
    return;
  }
  for (guint i = 0; i < names->len && !scan->too_many; i++) {
    const char *name = g_ptr_array_index (names, i);
    g_autofree char *path = g_build_filename (dir, name, NULL);
    if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
      if (!first_visit (scan, path))
        skip (scan, path, "a link to a folder that is read already, left out");
      else if (depth < MAX_DEPTH)
        collect_images (scan, path, klass, test, depth + 1);
      else
        skip (scan, path, "folder nested more than %d deep, left out", MAX_DEPTH);
    } else if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
      skip (scan, path, "not a regular file");
    } else if (!has_image_extension (name)) {
      skip (scan, path, "not a PNG or JPEG file (by its name)");
    } else if (scan->files->len >= LAM_IMAGE_FOLDER_MAX_IMAGES) {
      scan->too_many = TRUE;
    } else {
      ImageFile file = { g_steal_pointer (&path), klass, test };
      g_array_append_val (scan->files, file);
    }
  }
}

/* The train part (test FALSE) makes the classes: every folder in root;
 * the test part's folders are matched to them by name. FALSE with error
 * only when root cannot be listed. */
static gboolean
scan_part (Scan *scan, const char *root, gboolean test, GError **error)
{
  g_autoptr (GPtrArray) names = list_dir (root, error);
  if (names == NULL)
    return FALSE;
  /* Every class folder is known before any is read, so that a link in one
   * class to another does not read the other's images as its own. */
  g_autofree gboolean *repeated = g_new0 (gboolean, names->len);
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *path = g_build_filename (root, g_ptr_array_index (names, i), NULL);
    repeated[i] = g_file_test (path, G_FILE_TEST_IS_DIR) && !first_visit (scan, path);
  }
  for (guint i = 0; i < names->len && !scan->too_many; i++) {
    const char *name = g_ptr_array_index (names, i);
    g_autofree char *path = g_build_filename (root, name, NULL);
    if (!g_file_test (path, G_FILE_TEST_IS_DIR)) {
      /* Stray images are worth a line; a README or LICENSE beside the class
       * folders is not. */
      if (has_image_extension (name))
        skip (scan, path, "not in a class folder, left out");
      continue;
    }
    if (repeated[i]) {
      skip (scan, path, "a link to a folder that is read already, left out");
      continue;
    }
    int klass;
    if (!test) {
      klass = (int) scan->class_dirs->len;
      g_ptr_array_add (scan->class_dirs, g_strdup (name));
    } else {
      guint index;
      if (!g_ptr_array_find_with_equal_func (scan->class_dirs, name, g_str_equal, &index)) {
        g_autofree char *display = g_filename_display_name (name);
        skip (scan, path, "no class “%s” among the training folders, left out", display);
        continue;
      }
      klass = (int) index;
    }
    collect_images (scan, path, klass, test, 1);
  }
  return TRUE;
}

/* dir/train when a held-out part is beside it (*test_root, else NULL) or
 * it is the only folder, else dir. The held-out part is named val/ in
 * torchvision's tutorials and valid/ on Kaggle: read as classes, such a
 * pair trained a classifier of the two folders. */
static char *
train_root (const char *dir, char **test_root)
{
  static const char *const test_names[] = { "test", "val", "valid", "validation" };
  g_autofree char *train = g_build_filename (dir, "train", NULL);
  *test_root = NULL;
  if (!g_file_test (train, G_FILE_TEST_IS_DIR))
    return g_strdup (dir);
  for (guint i = 0; i < G_N_ELEMENTS (test_names); i++) {
    g_autofree char *test = g_build_filename (dir, test_names[i], NULL);
    if (g_file_test (test, G_FILE_TEST_IS_DIR)) {
      *test_root = g_steal_pointer (&test);
      return g_steal_pointer (&train);
    }
  }
  /* train/ alone is a set without a held-out part: read as classes, it was
   * refused as a single class named "train". */
  g_autoptr (GPtrArray) names = list_dir (dir, NULL);
  for (guint i = 0; names != NULL && i < names->len; i++) {
    g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
    if (!g_str_equal (g_ptr_array_index (names, i), "train") &&
        g_file_test (path, G_FILE_TEST_IS_DIR))
      return g_strdup (dir);
  }
  return g_steal_pointer (&train);
}

/* Whether dir holds a file named like an image (not counting files
 * directly in the top folder) in it or in sub-folders up to depth down. */
static gboolean
has_images_below (const char *dir, int depth, gboolean top)
{
  g_autoptr (GPtrArray) names = list_dir (dir, NULL);
  if (names == NULL)
    return FALSE;
  for (guint i = 0; i < names->len; i++) {
    const char *name = g_ptr_array_index (names, i);
    g_autofree char *path = g_build_filename (dir, name, NULL);
    if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
      if (depth > 0 && has_images_below (path, depth - 1, FALSE))
        return TRUE;
    } else if (!top && has_image_extension (name)) {
      return TRUE;
    }
  }
  return FALSE;
}

gboolean
lam_dataset_is_image_folder (const char *dir)
{
  g_return_val_if_fail (dir != NULL, FALSE);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    return FALSE;
  g_autofree char *test_root = NULL;
  g_autofree char *root = train_root (dir, &test_root);
  /* An image in a class folder, or one level further down. */
  return has_images_below (root, 2, TRUE);
}

/* ---- decoding ---- */

typedef struct
{
  const ImageFile *files; /* borrowed */
  guint n;
  guint8 *pixels; /* borrowed: n images */
  char **reasons; /* borrowed: n, NULL where the image decoded */
  int channels, height, width;
  gsize image_size;
  LamImageDecodeFunc decoder;
  gpointer decoder_data;
  GCancellable *cancellable;
  int next; /* atomic */
  int done; /* atomic */
} DecodeJob;

static char *
decode_one (DecodeJob *job, guint i)
{
  const char *path = job->files[i].path;
  GStatBuf st;
  if (g_stat (path, &st) != 0)
    return g_strdup_printf ("cannot read (%s)", g_strerror (errno));
  if (st.st_size == 0)
    return g_strdup ("empty file (0 bytes)");
  g_autoptr (GError) error = NULL;
  if (job->decoder (path, job->channels, job->height, job->width,
                    job->pixels + (gsize) i * job->image_size, job->decoder_data, &error))
    return NULL;
  if (error == NULL)
    return g_strdup ("not a readable image");
  return g_utf8_make_valid (error->message, -1);
}

static void
decode_some (DecodeJob *job, LamImageFolderProgress progress, gpointer progress_data)
{
  while (!g_cancellable_is_cancelled (job->cancellable)) {
    guint i = (guint) g_atomic_int_add (&job->next, 1);
    if (i >= job->n)
      break;
    job->reasons[i] = decode_one (job, i);
    guint done = (guint) g_atomic_int_add (&job->done, 1) + 1;
    if (progress != NULL)
      progress (done, job->n, progress_data);
  }
}

static gpointer
decode_thread (gpointer data)
{
  decode_some (data, NULL, NULL);
  return NULL;
}

/* Decodes every file into its slot of pixels, on as many threads as there
 * are processors; progress is reported on the calling thread. */
static gboolean
decode_all (DecodeJob *job, const LamImageFolderOptions *options, GError **error)
{
  guint n_threads = MIN (MIN ((guint) g_get_num_processors (), MAX_THREADS), MAX (job->n, 1));
  /* Each worker may hold one image at the decoder's limit at a time: as
   * many workers as memory allows, at least one. */
  guint64 available = lam_device_host_memory_available ();
  if (available > 0)
    n_threads = MIN (n_threads, (guint) MAX (available / DECODE_WORKER_BYTES, 1));
  g_autoptr (GPtrArray) threads = g_ptr_array_new ();
  for (guint t = 1; t < n_threads; t++) {
    GThread *thread = g_thread_try_new ("lam-decode", decode_thread, job, NULL);
    if (thread != NULL)
      g_ptr_array_add (threads, thread);
  }
  decode_some (job, options->progress, options->progress_data);
  for (guint t = 0; t < threads->len; t++)
    g_thread_join (g_ptr_array_index (threads, t));
  if (g_cancellable_set_error_if_cancelled (job->cancellable, error))
    return FALSE;
  if (options->progress != NULL)
    options->progress (job->n, job->n, options->progress_data);
  return TRUE;
}

/* Colour when any of a few images, taken across the folder, has colour in
 * it: a grey photo saved as RGB stays grey. */
static int
guess_channels (const Scan *scan, LamImageDecodeFunc decoder, gpointer decoder_data)
{
  guint n = scan->n_train_files;
  guint8 pixels[3 * GUESS_SIDE * GUESS_SIDE];
  const gsize plane = GUESS_SIDE * GUESS_SIDE;
  for (guint k = 0; k < MIN (n, GUESS_SAMPLES); k++) {
    gsize index = (gsize) k * n / MIN (n, GUESS_SAMPLES);
    const ImageFile *file = &g_array_index (scan->files, ImageFile, index);
    if (!decoder (file->path, 3, GUESS_SIDE, GUESS_SIDE, pixels, decoder_data, NULL))
      continue;
    gsize coloured = 0;
    for (gsize p = 0; p < plane; p++) {
      int r = pixels[p], g = pixels[plane + p], b = pixels[2 * plane + p];
      if (MAX (MAX (r, g), b) - MIN (MIN (r, g), b) > GUESS_CHROMA)
        coloured++;
    }
    if (coloured * 100 > plane)
      return 3;
  }
  return 1;
}

/* ---- building the datasets ---- */

/* A folder's name as a line of classes.txt: UTF-8, one line, not blank. */
static char *
class_name (const char *folder, int index)
{
  g_autofree char *display = g_filename_display_name (folder);
  g_strdelimit (display, "\r\n\t", ' ');
  g_strstrip (display);
  return *display != '\0' ? g_steal_pointer (&display) : g_strdup_printf ("class %d", index + 1);
}

static LamDataset *
gather (const DecodeJob *job, gboolean test, const int *new_class, int n_classes,
        char **class_names, const char *name)
{
  gsize n = 0;
  for (guint i = 0; i < job->n; i++)
    if (job->files[i].test == test && job->reasons[i] == NULL &&
        new_class[job->files[i].klass] >= 0)
      n++;
  if (n == 0)
    return NULL;
  LamDataset *dataset = g_new0 (LamDataset, 1);
  dataset->name = g_strdup_printf ("%s (%s)", name, test ? "test" : "train");
  dataset->n = (int) n;
  dataset->channels = job->channels;
  dataset->height = job->height;
  dataset->width = job->width;
  dataset->images = lam_dataset_images_try_new (n * job->image_size);
  if (dataset->images == NULL)
    dataset->images = g_malloc (n * job->image_size);
  dataset->labels = g_malloc (n);
  dataset->n_classes = n_classes;
  dataset->class_names = g_strdupv (class_names);
  gsize at = 0;
  for (guint i = 0; i < job->n; i++) {
    const ImageFile *file = &job->files[i];
    if (file->test != test || job->reasons[i] != NULL || new_class[file->klass] < 0)
      continue;
    memcpy (dataset->images + at * job->image_size, job->pixels + (gsize) i * job->image_size,
            job->image_size);
    dataset->labels[at] = (guint8) new_class[file->klass];
    at++;
  }
  return dataset;
}

static gboolean
check_options (const char *dir, const LamImageFolderOptions *options, GError **error)
{
  if (options->channels != 0 && options->channels != 1 && options->channels != 3) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s: %d channels asked for, expected 1 (grey) or 3 (colour)", dir,
                 options->channels);
    return FALSE;
  }
  gboolean default_size = options->height == 0 && options->width == 0;
  if (!default_size &&
      (options->height < LAM_IMAGE_FOLDER_MIN_SIDE || options->height > LAM_IMAGE_FOLDER_MAX_SIDE ||
       options->width < LAM_IMAGE_FOLDER_MIN_SIDE || options->width > LAM_IMAGE_FOLDER_MAX_SIDE)) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                 "%s: images of %d×%d pixels asked for, expected sides of %d to %d pixels", dir,
                 options->width, options->height, LAM_IMAGE_FOLDER_MIN_SIDE,
                 LAM_IMAGE_FOLDER_MAX_SIDE);
    return FALSE;
  }
  return TRUE;
}

gboolean
lam_dataset_load_image_folder (const char *dir, const LamImageFolderOptions *options,
                               LamDataset **train, LamDataset **test, char ***skipped,
                               GError **error)
{
  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (options != NULL, FALSE);
  g_return_val_if_fail (train != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  *train = NULL;
  if (test != NULL)
    *test = NULL;
  if (skipped != NULL)
    *skipped = NULL;

  g_autofree char *display = g_filename_display_name (dir);
  if (!check_options (display, options, error))
    return FALSE;
  LamImageDecodeFunc decoder = options->decoder;
  gpointer decoder_data = options->decoder_data;
  if (decoder == NULL)
    decoder = lam_dataset_get_image_decoder (&decoder_data);
  if (decoder == NULL) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s: no image decoder to read PNG or JPEG files with", display);
    return FALSE;
  }
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND, "%s: no such folder",
                 display);
    return FALSE;
  }

  g_auto (Scan) scan = { 0 };
  scan.class_dirs = g_ptr_array_new_with_free_func (g_free);
  scan.files = g_array_new (FALSE, FALSE, sizeof (ImageFile));
  g_array_set_clear_func (scan.files, image_file_clear);
  scan.skipped = g_ptr_array_new_with_free_func (g_free);
  scan.folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_autofree char *test_root = NULL;
  g_autofree char *root = train_root (dir, &test_root);
  gboolean split = test_root != NULL;
  first_visit (&scan, dir);
  first_visit (&scan, root);
  if (split)
    first_visit (&scan, test_root);
  if (!scan_part (&scan, root, FALSE, error))
    return FALSE;
  scan.n_train_files = scan.files->len;
  if (scan.class_dirs->len == 0) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND,
                 "%s: no class folders (expected one sub-folder of PNG or JPEG images per class, "
                 "such as %s%scats%s1.png)",
                 display, display, G_DIR_SEPARATOR_S, G_DIR_SEPARATOR_S);
    return FALSE;
  }
  if (scan.class_dirs->len > MAX_CLASSES) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                 "%s: %u class folders, expected at most %d", display, scan.class_dirs->len,
                 MAX_CLASSES);
    return FALSE;
  }
  if (split) {
    if (!scan_part (&scan, test_root, TRUE, error))
      return FALSE;
  }
  if (scan.too_many) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                 "%s: more than %d image files, expected at most that many", display,
                 LAM_IMAGE_FOLDER_MAX_IMAGES);
    return FALSE;
  }
  if (scan.n_train_files == 0) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND,
                 "%s: the %u class folders hold no PNG or JPEG files", display,
                 scan.class_dirs->len);
    return FALSE;
  }

  DecodeJob job = { 0 };
  job.files = (const ImageFile *) scan.files->data;
  job.n = scan.files->len;
  job.channels = options->channels != 0 ? options->channels
                                        : guess_channels (&scan, decoder, decoder_data);
  job.height = options->height != 0 ? options->height : job.channels == 3 ? 32 : 28;
  job.width = options->width != 0 ? options->width : job.channels == 3 ? 32 : 28;
  job.image_size = (gsize) job.channels * job.height * job.width;
  job.decoder = decoder;
  job.decoder_data = decoder_data;
  job.cancellable = options->cancellable;
  if ((gsize) job.n > MAX_BYTES / job.image_size) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                 "%s: %u images of %d×%d×%d take more than %" G_GSIZE_FORMAT
                 " bytes; choose a smaller size",
                 display, job.n, job.channels, job.height, job.width, MAX_BYTES);
    return FALSE;
  }
  g_autofree guint8 *pixels = g_try_malloc ((gsize) job.n * job.image_size);
  if (pixels == NULL) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                 "%s: out of memory for %u images of %d×%d×%d", display, job.n, job.channels,
                 job.height, job.width);
    return FALSE;
  }
  g_autofree char **reasons = g_new0 (char *, job.n);
  job.pixels = pixels;
  job.reasons = reasons;
  gboolean decoded = decode_all (&job, options, error);
  for (guint i = 0; i < job.n; i++)
    if (reasons[i] != NULL)
      skip (&scan, job.files[i].path, "%s", reasons[i]);
  g_autofree char *first_display = NULL;
  for (guint i = 0; i < job.n && first_display == NULL; i++)
    if (reasons[i] != NULL) {
      g_autofree char *path = g_filename_display_name (job.files[i].path);
      first_display = g_strdup_printf ("%s: %s", path, reasons[i]);
    }
  if (!decoded) {
    for (guint i = 0; i < job.n; i++)
      g_free (reasons[i]);
    return FALSE;
  }

  /* Classes without a readable training image are left out, and the
   * others renumbered in order. */
  g_autofree int *train_counts = g_new0 (int, scan.class_dirs->len);
  for (guint i = 0; i < job.n; i++)
    if (!job.files[i].test && reasons[i] == NULL)
      train_counts[job.files[i].klass]++;
  g_autofree int *new_class = g_new (int, scan.class_dirs->len);
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  int n_classes = 0;
  for (guint c = 0; c < scan.class_dirs->len; c++) {
    const char *folder = g_ptr_array_index (scan.class_dirs, c);
    if (train_counts[c] == 0) {
      new_class[c] = -1;
      g_autofree char *path = g_build_filename (root, folder, NULL);
      skip (&scan, path, "no readable image%s, class left out", split ? " for training" : "");
      continue;
    }
    new_class[c] = n_classes;
    g_autofree char *name = class_name (folder, n_classes);
    g_strv_builder_add (names, name);
    n_classes++;
  }
  g_auto (GStrv) class_names = g_strv_builder_end (names);
  for (guint i = 0; i < job.n; i++)
    g_free (reasons[i]);

  if (n_classes == 0) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND,
                 "%s: none of the %u image files could be read (%s)", display,
                 scan.n_train_files, first_display);
    return FALSE;
  }
  if (n_classes == 1) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s: only one class (“%s”) has readable images; a classifier needs at least "
                 "two class folders",
                 display, class_names[0]);
    return FALSE;
  }

  g_autofree char *canonical = g_canonicalize_filename (dir, NULL);
  g_autofree char *base = g_path_get_basename (canonical);
  g_autofree char *name = g_filename_display_name (base);
  g_autoptr (LamDataset) train_set = gather (&job, FALSE, new_class, n_classes, class_names, name);
  g_autoptr (LamDataset) test_set =
    test != NULL && split ? gather (&job, TRUE, new_class, n_classes, class_names, name) : NULL;

  *train = g_steal_pointer (&train_set);
  if (test != NULL)
    *test = g_steal_pointer (&test_set);
  if (skipped != NULL) {
    g_ptr_array_sort (scan.skipped, compare_names);
    g_ptr_array_add (scan.skipped, NULL);
    *skipped = (char **) g_ptr_array_steal (scan.skipped, NULL);
  }
  return TRUE;
}

/* ---- writing ---- */

static void
put_be32 (guint8 *p, guint32 value)
{
  p[0] = (guint8) (value >> 24);
  p[1] = (guint8) (value >> 16);
  p[2] = (guint8) (value >> 8);
  p[3] = (guint8) value;
}

/* A gzip IDX file of unsigned bytes, replacing path only once it is
 * complete: on failure the old file (if any) stays as it was. */
static gboolean
write_idx (const char *path, guint rank, const guint32 *dims, const guint8 *data, gsize size,
           GError **error)
{
  guint8 header[4 + 4 * 4];
  put_be32 (header, 0x00000800u | rank);
  for (guint i = 0; i < rank; i++)
    put_be32 (header + 4 + 4 * i, dims[i]);

  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileOutputStream) out = g_file_replace (file, NULL, FALSE,
                                                      G_FILE_CREATE_REPLACE_DESTINATION, NULL,
                                                      error);
  if (out == NULL)
    return FALSE;
  g_autoptr (GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
  g_autoptr (GOutputStream) gz =
    g_converter_output_stream_new (G_OUTPUT_STREAM (out), G_CONVERTER (compressor));
  gboolean ok = g_output_stream_write_all (gz, header, 4 + 4 * (gsize) rank, NULL, NULL, error);
  for (gsize at = 0; ok && at < size; at += WRITE_CHUNK)
    ok = g_output_stream_write_all (gz, data + at, MIN (WRITE_CHUNK, size - at), NULL, NULL, error);
  if (ok)
    ok = g_output_stream_close (gz, NULL, error);
  if (!ok) {
    /* Closing with a cancelled cancellable drops the temporary file
     * instead of putting a partial one in place. */
    g_autoptr (GCancellable) abort = g_cancellable_new ();
    g_cancellable_cancel (abort);
    g_output_stream_close (G_OUTPUT_STREAM (out), abort, NULL);
    g_prefix_error (error, "%s: ", path);
  }
  return ok;
}

static gboolean
write_part (const char *dir, const char *part, const LamDataset *dataset, GError **error)
{
  gboolean colour = dataset->channels != 1;
  g_autofree char *images_name =
    g_strdup_printf ("%s-images-idx%d-ubyte.gz", part, colour ? 4 : 3);
  g_autofree char *labels_name = g_strdup_printf ("%s-labels-idx1-ubyte.gz", part);
  g_autofree char *images_path = g_build_filename (dir, images_name, NULL);
  g_autofree char *labels_path = g_build_filename (dir, labels_name, NULL);
  guint32 image_dims[4] = { (guint32) dataset->n };
  guint rank = 3;
  if (colour) {
    rank = 4;
    image_dims[1] = (guint32) dataset->channels;
    image_dims[2] = (guint32) dataset->height;
    image_dims[3] = (guint32) dataset->width;
  } else {
    image_dims[1] = (guint32) dataset->height;
    image_dims[2] = (guint32) dataset->width;
  }
  guint32 label_dims[1] = { (guint32) dataset->n };
  return write_idx (images_path, rank, image_dims, dataset->images,
                    (gsize) dataset->n * lam_dataset_image_size (dataset), error) &&
         write_idx (labels_path, 1, label_dims, dataset->labels, (gsize) dataset->n, error);
}

gboolean
lam_dataset_save_idx_dir (const char *dir, const LamDataset *train, const LamDataset *test,
                          GError **error)
{
  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (train != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (train->channels == 1 || train->channels == 3, FALSE);
  g_return_val_if_fail (test == NULL || (test->channels == train->channels &&
                                         test->height == train->height &&
                                         test->width == train->width),
                        FALSE);

  if (g_mkdir_with_parents (dir, 0755) != 0) {
    int saved = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                 "%s: cannot create the folder (%s)", dir, g_strerror (saved));
    return FALSE;
  }
  if (!write_part (dir, "train", train, error))
    return FALSE;
  if (test != NULL && !write_part (dir, "t10k", test, error))
    return FALSE;

  g_autoptr (GString) classes = g_string_new (NULL);
  for (int c = 0; c < train->n_classes; c++)
    g_string_append_printf (classes, "%s\n", train->class_names[c]);
  g_autofree char *classes_path = g_build_filename (dir, "classes.txt", NULL);
  return lam_file_replace_contents (classes_path, classes->str, classes->len, error);
}

char *
lam_dataset_dup_datasets_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "lamina", "datasets", NULL);
}

/* Removes a folder this file wrote: plain files in one folder. */
static void
remove_flat_dir (const char *dir)
{
  g_autoptr (GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;
  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_unlink (path);
  }
  g_rmdir (dir);
}

#define SOURCE_FILE "source.txt"

/* Whether the import in folder was made from source (as its source.txt
 * says). */
static gboolean
imported_from (const char *folder, const char *source)
{
  g_autofree char *path = g_build_filename (folder, SOURCE_FILE, NULL);
  g_autofree char *contents = NULL;
  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;
  g_strchomp (contents);
  return g_str_equal (contents, source);
}

char *
lam_dataset_import_image_folder (const char *dir, const LamImageFolderOptions *options,
                                 const char *root, char ***skipped, GError **error)
{
  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (skipped != NULL)
    *skipped = NULL;

  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  g_auto (GStrv) left_out = NULL;
  if (!lam_dataset_load_image_folder (dir, options, &train, &test, &left_out, error))
    return NULL;

  g_autofree char *default_root = root == NULL ? lam_dataset_dup_datasets_dir () : NULL;
  if (root == NULL)
    root = default_root;
  if (g_mkdir_with_parents (root, 0755) != 0) {
    int saved = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                 "%s: cannot create the folder (%s)", root, g_strerror (saved));
    return NULL;
  }

  g_autofree char *source = g_canonicalize_filename (dir, NULL);
  g_autofree char *base = g_path_get_basename (source);
  /* A name that cannot be hidden, nor be "." or "..". */
  const char *start = base;
  while (*start == '.')
    start++;
  if (*start == '\0' || g_str_equal (start, G_DIR_SEPARATOR_S))
    start = "images";
  g_autofree char *name = g_strdup_printf ("%s-%dx%d-%s", start, train->width, train->height,
                                           train->channels == 1 ? "grey" : "colour");
  g_autofree char *target = NULL;
  for (int k = 1; k <= 100 && target == NULL; k++) {
    g_autofree char *candidate_name = k == 1 ? g_strdup (name) : g_strdup_printf ("%s-%d", name, k);
    g_autofree char *candidate = g_build_filename (root, candidate_name, NULL);
    if (!g_file_test (candidate, G_FILE_TEST_EXISTS) || imported_from (candidate, source))
      target = g_steal_pointer (&candidate);
  }
  if (target == NULL) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                 "%s: already holds 100 other imports named %s-…", root, name);
    return NULL;
  }

  /* Written beside the target, then put in its place in one rename, so a
   * failed or cancelled import leaves the earlier one whole. */
  g_autofree char *temp_template = g_strdup_printf (".%s.importing-XXXXXX", name);
  g_autofree char *temp = g_build_filename (root, temp_template, NULL);
  if (g_mkdtemp (temp) == NULL) {
    int saved = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                 "%s: cannot create a folder (%s)", temp, g_strerror (saved));
    return NULL;
  }
  g_autofree char *source_path = g_build_filename (temp, SOURCE_FILE, NULL);
  g_autofree char *source_line = g_strconcat (source, "\n", NULL);
  if (!lam_dataset_save_idx_dir (temp, train, test, error) ||
      !lam_file_replace_contents (source_path, source_line, strlen (source_line), error) ||
      g_cancellable_set_error_if_cancelled (options->cancellable, error)) {
    remove_flat_dir (temp);
    return NULL;
  }

  g_autofree char *old = NULL;
  if (g_file_test (target, G_FILE_TEST_EXISTS)) {
    /* Swapped in one step: a kill at any moment leaves the earlier import
     * or the new one at target, never neither. */
    if (renameat2 (AT_FDCWD, temp, AT_FDCWD, target, RENAME_EXCHANGE) == 0) {
      old = g_steal_pointer (&temp);
    } else {
      g_autofree char *old_template = g_strdup_printf (".%s.old-XXXXXX", name);
      old = g_build_filename (root, old_template, NULL);
      /* Where the folder cannot swap entries: rename() replaces the empty
       * placeholder folder. */
      if (g_mkdtemp (old) == NULL || g_rename (target, old) != 0) {
        int saved = errno;
        g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                     "%s: cannot move the earlier import aside (%s)", target, g_strerror (saved));
        g_rmdir (old);
        remove_flat_dir (temp);
        return NULL;
      }
    }
  }
  if (temp != NULL && g_rename (temp, target) != 0) {
    int saved = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                 "%s: cannot move the import into place (%s)", target, g_strerror (saved));
    if (old != NULL)
      g_rename (old, target);
    remove_flat_dir (temp);
    return NULL;
  }
  if (old != NULL)
    remove_flat_dir (old);

  if (skipped != NULL)
    *skipped = g_steal_pointer (&left_out);
  return g_steal_pointer (&target);
}
