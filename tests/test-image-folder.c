/* Folders of the user's own images, one sub-folder per class: the reader
 * in core with the gdk-pixbuf decoder, what it skips and why, the pixels
 * after resizing, the IDX folder an import writes and reads back, split
 * folders, the errors, `lamina train` on such a folder, and the Data
 * page's import with its list of skipped files (saved as a PNG). */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lam-data-page.h"
#include "lam-dataset.h"
#include "lam-image-decoder.h"
#include "lam-ui-util.h"

/* ---- writing images ---- */

typedef guint32 (*PixelFunc) (int x, int y, int width, int height); /* 0xRRGGBBAA */

static GdkPixbuf *
make_pixbuf (int width, int height, gboolean alpha, PixelFunc func)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, width, height);
  int stride = gdk_pixbuf_get_rowstride (pixbuf), step = alpha ? 4 : 3;
  guint8 *data = gdk_pixbuf_get_pixels (pixbuf);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      guint32 rgba = func (x, y, width, height);
      guint8 *p = data + (gsize) y * stride + (gsize) x * step;
      p[0] = (guint8) (rgba >> 24);
      p[1] = (guint8) (rgba >> 16);
      p[2] = (guint8) (rgba >> 8);
      if (alpha)
        p[3] = (guint8) rgba;
    }
  return pixbuf;
}

static void
save_pixbuf (GdkPixbuf *pixbuf, const char *dir, const char *name, const char *type)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  if (g_str_equal (type, "jpeg"))
    gdk_pixbuf_save (pixbuf, path, type, &error, "quality", "100", NULL);
  else
    gdk_pixbuf_save (pixbuf, path, type, &error, NULL);
  g_assert_no_error (error);
}

static void
write_image (const char *dir, const char *name, const char *type, int width, int height,
             gboolean alpha, PixelFunc func)
{
  g_autoptr (GdkPixbuf) pixbuf = make_pixbuf (width, height, alpha, func);
  save_pixbuf (pixbuf, dir, name, type);
}

static void
write_bytes (const char *dir, const char *name, const void *data, gsize size)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, data, (gssize) size, &error);
  g_assert_no_error (error);
}

static char *
make_dir (const char *parent, const char *name)
{
  char *path = g_build_filename (parent, name, NULL);
  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  return path;
}

static guint32
crc32_update (guint32 crc, const guint8 *data, gsize size)
{
  crc = ~crc;
  for (gsize i = 0; i < size; i++) {
    crc ^= data[i];
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

static void
png_chunk (GByteArray *png, const char *type, const guint8 *data, gsize size)
{
  guint32 be = GUINT32_TO_BE ((guint32) size);
  g_byte_array_append (png, (guint8 *) &be, 4);
  gsize start = png->len;
  g_byte_array_append (png, (const guint8 *) type, 4);
  if (size > 0)
    g_byte_array_append (png, data, (guint) size);
  be = GUINT32_TO_BE (crc32_update (0, png->data + start, png->len - start));
  g_byte_array_append (png, (guint8 *) &be, 4);
}

/* A real 8-bit greyscale PNG (colour type 0), which gdk_pixbuf_save cannot
 * write: every pixel value. */
static void
write_grey_png (const char *dir, const char *name, int width, int height, guint8 value)
{
  g_autoptr (GByteArray) raw = g_byte_array_new ();
  for (int y = 0; y < height; y++) {
    guint8 filter = 0;
    g_byte_array_append (raw, &filter, 1);
    for (int x = 0; x < width; x++)
      g_byte_array_append (raw, &value, 1);
  }
  g_autoptr (GZlibCompressor) zlib = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 9);
  guint8 packed[65536];
  gsize read = 0, written = 0;
  g_autoptr (GError) error = NULL;
  GConverterResult result =
    g_converter_convert (G_CONVERTER (zlib), raw->data, raw->len, packed, sizeof packed,
                         G_CONVERTER_INPUT_AT_END, &read, &written, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result, ==, G_CONVERTER_FINISHED);

  g_autoptr (GByteArray) png = g_byte_array_new ();
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_byte_array_append (png, signature, 8);
  guint8 ihdr[13] = { 0 };
  guint32 be = GUINT32_TO_BE ((guint32) width);
  memcpy (ihdr, &be, 4);
  be = GUINT32_TO_BE ((guint32) height);
  memcpy (ihdr + 4, &be, 4);
  ihdr[8] = 8; /* bit depth */
  ihdr[9] = 0; /* greyscale */
  png_chunk (png, "IHDR", ihdr, sizeof ihdr);
  png_chunk (png, "IDAT", packed, written);
  png_chunk (png, "IEND", NULL, 0);
  write_bytes (dir, name, png->data, png->len);
}

/* A JPEG whose EXIF says "rotate 90° clockwise to show" (orientation 6). */
static void
write_rotated_jpeg (const char *dir, const char *name, int width, int height, PixelFunc func)
{
  g_autoptr (GdkPixbuf) pixbuf = make_pixbuf (width, height, FALSE, func);
  g_autofree char *buffer = NULL;
  gsize size = 0;
  g_autoptr (GError) error = NULL;
  gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &size, "jpeg", &error, "quality", "100", NULL);
  g_assert_no_error (error);
  static const guint8 app1[] = {
    0xff, 0xe1, 0x00, 0x22,                               /* APP1, 34 bytes */
    'E', 'x', 'i', 'f', 0, 0,                             /* Exif header */
    'M', 'M', 0x00, 0x2a, 0, 0, 0, 8,                     /* big-endian TIFF, IFD at 8 */
    0x00, 0x01,                                           /* one entry */
    0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0x00, 0x06, 0, 0, /* Orientation SHORT 6 */
    0, 0, 0, 0,                                           /* no next IFD */
  };
  g_autoptr (GByteArray) jpeg = g_byte_array_new ();
  g_byte_array_append (jpeg, (guint8 *) buffer, 2); /* SOI */
  g_byte_array_append (jpeg, app1, sizeof app1);
  g_byte_array_append (jpeg, (guint8 *) buffer + 2, (guint) size - 2);
  write_bytes (dir, name, jpeg->data, jpeg->len);
}

static guint32
red (int x, int y, int w, int h)
{
  return 0xff0000ff;
}

static guint32
blue (int x, int y, int w, int h)
{
  return 0x0000ffff;
}

static guint32
grey_jpeg (int x, int y, int w, int h)
{
  return 0x808080ff;
}

static guint32
transparent (int x, int y, int w, int h)
{
  /* Left half fully transparent, right half half-transparent black. */
  return x < w / 2 ? 0x00000000 : 0x00000080;
}

static guint32
halves (int x, int y, int w, int h)
{
  return x < w / 2 ? 0x000000ff : 0xffffffff;
}

static guint32
noise (int x, int y, int w, int h)
{
  guint32 v = (guint32) (x * 7919 + y * 104729) * 2654435761u;
  return (v & 0xffffff00u) | 0xff;
}

/* ---- the folders ---- */

typedef struct
{
  char *root; /* a temporary folder holding everything */
  char *dir;  /* root/animals: the image folder */
} Folder;

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
    g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
    g_assert_cmpint (g_rmdir (path), ==, 0);
  } else {
    g_assert_cmpint (g_unlink (path), ==, 0);
  }
}

static void
folder_free (Folder *folder)
{
  remove_tree (folder->root);
  g_free (folder->root);
  g_free (folder->dir);
  g_free (folder);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Folder, folder_free)

static Folder *
folder_new (void)
{
  Folder *folder = g_new0 (Folder, 1);
  g_autoptr (GError) error = NULL;
  folder->root = g_dir_make_tmp ("lamina-images-XXXXXX", &error);
  g_assert_no_error (error);
  folder->dir = make_dir (folder->root, "animals");
  return folder;
}

/* animals/cats: a.png red 40×30, b.jpg grey 30×50 (JPEG), c.png RGBA
 * 20×20, d.png greyscale PNG of 200;
 * animals/dogs: e.png blue 20×50, f.png black|white halves 64×32,
 * corrupt.png, empty.png (0 bytes), notes.txt, .hidden.png;
 * animals/empty/ (no images); animals/stray.png, animals/README. */
static Folder *
animals_new (void)
{
  Folder *folder = folder_new ();
  g_autofree char *cats = make_dir (folder->dir, "cats");
  g_autofree char *dogs = make_dir (folder->dir, "dogs");
  g_autofree char *empty = make_dir (folder->dir, "empty");
  write_image (cats, "a.png", "png", 40, 30, FALSE, red);
  write_image (cats, "b.jpg", "jpeg", 30, 50, FALSE, grey_jpeg);
  write_image (cats, "c.png", "png", 20, 20, TRUE, transparent);
  write_grey_png (cats, "d.PNG", 17, 23, 200);
  write_image (dogs, "e.png", "png", 20, 50, FALSE, blue);
  write_image (dogs, "f.png", "png", 64, 32, FALSE, halves);
  guint8 junk[300];
  g_autoptr (GRand) rng = g_rand_new_with_seed (5);
  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = (guint8) g_rand_int (rng);
  write_bytes (dogs, "corrupt.png", junk, sizeof junk);
  write_bytes (dogs, "empty.png", "", 0);
  write_bytes (dogs, "notes.txt", "good dogs\n", 10);
  write_image (dogs, ".hidden.png", "png", 8, 8, FALSE, red);
  write_image (folder->dir, "stray.png", "png", 8, 8, FALSE, red);
  write_bytes (folder->dir, "README", "my pets\n", 8);
  return folder;
}

static LamImageFolderOptions
options_for (int channels, int side)
{
  LamImageFolderOptions options;
  lam_image_folder_options_init (&options, channels);
  options.height = side;
  options.width = side;
  options.decoder = lam_image_decode;
  return options;
}

static gboolean
strv_has_prefix_suffix (char **strv, const char *path, const char *text)
{
  for (int i = 0; strv != NULL && strv[i] != NULL; i++)
    if (g_str_has_prefix (strv[i], path) && strstr (strv[i] + strlen (path), text) != NULL)
      return TRUE;
  return FALSE;
}

static void
assert_all (const guint8 *pixels, gsize n, int value, int tolerance)
{
  for (gsize i = 0; i < n; i++)
    if (ABS ((int) pixels[i] - value) > tolerance)
      g_error ("pixel %" G_GSIZE_FORMAT " is %d, expected %d ± %d", i, pixels[i], value,
               tolerance);
}

static double
mean_of (const guint8 *pixels, gsize n)
{
  double sum = 0;
  for (gsize i = 0; i < n; i++)
    sum += pixels[i];
  return sum / n;
}

/* ---- the reader ---- */

static void
test_read_grey (void)
{
  g_autoptr (Folder) folder = animals_new ();
  LamImageFolderOptions options = options_for (1, 28);
  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  g_auto (GStrv) skipped = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (
    lam_dataset_load_image_folder (folder->dir, &options, &train, &test, &skipped, &error));
  g_assert_no_error (error);
  g_assert_null (test);

  /* Classes: the folders with readable images, sorted; "empty" left out. */
  g_assert_cmpint (train->n_classes, ==, 2);
  g_assert_cmpstr (train->class_names[0], ==, "cats");
  g_assert_cmpstr (train->class_names[1], ==, "dogs");
  g_assert_null (train->class_names[2]);
  g_assert_cmpint (train->n, ==, 6);
  g_assert_cmpint (train->channels, ==, 1);
  g_assert_cmpint (train->height, ==, 28);
  g_assert_cmpint (train->width, ==, 28);
  static const guint8 labels[] = { 0, 0, 0, 0, 1, 1 };
  g_assert_cmpmem (train->labels, 6, labels, 6);
  g_assert_cmpstr (train->name, ==, "animals (train)");

  /* Skipped, sorted by path, each with its reason; hidden files and the
   * README beside the class folders are not mentioned. */
  for (int i = 0; skipped[i] != NULL; i++)
    g_test_message ("skipped: %s", skipped[i]);
  g_assert_cmpuint (g_strv_length (skipped), ==, 5);
  g_autofree char *dogs = g_build_filename (folder->dir, "dogs", NULL);
  g_autofree char *corrupt = g_build_filename (dogs, "corrupt.png", NULL);
  g_autofree char *empty_file = g_build_filename (dogs, "empty.png", NULL);
  g_autofree char *notes = g_build_filename (dogs, "notes.txt", NULL);
  g_autofree char *empty_class = g_build_filename (folder->dir, "empty", NULL);
  g_autofree char *stray = g_build_filename (folder->dir, "stray.png", NULL);
  g_assert_true (strv_has_prefix_suffix (skipped, corrupt, ": not an image"));
  g_assert_true (strv_has_prefix_suffix (skipped, empty_file, ": empty file (0 bytes)"));
  g_assert_true (strv_has_prefix_suffix (skipped, notes, ": not a PNG or JPEG file"));
  g_assert_true (
    strv_has_prefix_suffix (skipped, empty_class, ": no readable image, class left out"));
  g_assert_true (strv_has_prefix_suffix (skipped, stray, ": not in a class folder"));
  for (int i = 0; skipped[i] != NULL; i++) {
    g_assert_null (strstr (skipped[i], "hidden"));
    g_assert_null (strstr (skipped[i], "README"));
    if (i > 0)
      g_assert_cmpint (strcmp (skipped[i - 1], skipped[i]), <, 0);
  }

  gsize plane = 28 * 28;
  /* Solid red, 40×30 cropped and scaled: BT.601 luma of (255, 0, 0) is
   * 0.299 × 255 = 76.2, exactly 76 everywhere. */
  assert_all (lam_dataset_get_image (train, 0), plane, 76, 0);
  /* A JPEG of grey 128: near it. */
  assert_all (lam_dataset_get_image (train, 1), plane, 128, 3);
  /* Transparency onto white: the left half white, the right half black at
   * alpha 128 → 255 × 127 / 255 = 127, with a seam in the middle. */
  const guint8 *c = lam_dataset_get_image (train, 2);
  for (int y = 0; y < 28; y++) {
    g_assert_cmpint (c[y * 28 + 2], ==, 255);
    g_assert_cmpint (c[y * 28 + 25], ==, 127);
  }
  /* A greyscale PNG keeps its exact value. */
  assert_all (lam_dataset_get_image (train, 3), plane, 200, 0);
  /* Blue: 0.114 × 255 = 29.07 → 29. */
  assert_all (lam_dataset_get_image (train, 4), plane, 29, 0);
  /* Black | white 64×32: the centre 32×32 is 16 black columns then 16
   * white ones; scaled to 28 the left stays dark and the right light. */
  const guint8 *f = lam_dataset_get_image (train, 5);
  for (int y = 0; y < 28; y++) {
    g_assert_cmpint (f[y * 28 + 3], <=, 8);
    g_assert_cmpint (f[y * 28 + 24], >=, 247);
  }
  g_assert_cmpfloat_with_epsilon (mean_of (f, plane), 127.5, 12);
}

static void
test_read_colour (void)
{
  g_autoptr (Folder) folder = animals_new ();
  LamImageFolderOptions options = options_for (3, 32);
  g_autoptr (LamDataset) train = NULL;
  g_auto (GStrv) skipped = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (
    lam_dataset_load_image_folder (folder->dir, &options, &train, NULL, &skipped, &error));
  g_assert_no_error (error);
  g_assert_cmpint (train->channels, ==, 3);
  g_assert_cmpint (train->height, ==, 32);
  g_assert_cmpint (train->width, ==, 32);
  gsize plane = 32 * 32;
  const guint8 *a = lam_dataset_get_image (train, 0);
  assert_all (a, plane, 255, 0);
  assert_all (a + plane, plane, 0, 0);
  assert_all (a + 2 * plane, plane, 0, 0);
  const guint8 *e = lam_dataset_get_image (train, 4);
  assert_all (e, 2 * plane, 0, 0);
  assert_all (e + 2 * plane, plane, 255, 0);
  /* The grey PNG is grey in all three channels. */
  const guint8 *d = lam_dataset_get_image (train, 3);
  assert_all (d, 3 * plane, 200, 0);
}

/* Non-square targets crop to their own aspect ratio; EXIF orientation is
 * applied, also where a large photo is loaded at a reduced size. */
static void
test_decoder_orientation (void)
{
  g_autoptr (Folder) folder = folder_new ();
  write_rotated_jpeg (folder->dir, "small.jpg", 40, 20, halves);
  write_rotated_jpeg (folder->dir, "large.jpg", 900, 450, halves);
  write_image (folder->dir, "plain.png", "png", 40, 20, FALSE, halves);
  guint8 pixels[28 * 28];
  const char *names[] = { "small.jpg", "large.jpg" };
  for (guint k = 0; k < G_N_ELEMENTS (names); k++) {
    g_autofree char *path = g_build_filename (folder->dir, names[k], NULL);
    g_autoptr (GError) error = NULL;
    g_assert_true (lam_image_decode (path, 1, 28, 28, pixels, NULL, &error));
    g_assert_no_error (error);
    /* Turned upright, the black left half is on top. */
    g_assert_cmpfloat (mean_of (pixels, 28 * 10), <, 20);
    g_assert_cmpfloat (mean_of (pixels + 28 * 18, 28 * 10), >, 235);
  }
  /* Without EXIF, black on the left; a 12 wide × 6 high target keeps the
   * whole 2:1 image. */
  g_autofree char *plain = g_build_filename (folder->dir, "plain.png", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_image_decode (plain, 1, 6, 12, pixels, NULL, &error));
  g_assert_no_error (error);
  for (int y = 0; y < 6; y++) {
    g_assert_cmpint (pixels[y * 12 + 0], ==, 0);
    g_assert_cmpint (pixels[y * 12 + 11], ==, 255);
  }
  /* A missing file is an error, not a crash. */
  g_autofree char *missing = g_build_filename (folder->dir, "missing.png", NULL);
  g_assert_false (lam_image_decode (missing, 1, 28, 28, pixels, NULL, &error));
  g_assert_nonnull (error);
}

static void
test_split_folders (void)
{
  g_autoptr (Folder) folder = folder_new ();
  g_autofree char *train_dir = make_dir (folder->dir, "train");
  g_autofree char *test_dir = make_dir (folder->dir, "test");
  const char *classes[] = { "b-red", "a-blue" };
  PixelFunc funcs[] = { red, blue };
  for (int c = 0; c < 2; c++) {
    g_autofree char *tr = make_dir (train_dir, classes[c]);
    g_autofree char *te = make_dir (test_dir, classes[c]);
    for (int i = 0; i < 3; i++) {
      g_autofree char *name = g_strdup_printf ("%d.png", i);
      write_image (tr, name, "png", 10 + i, 12, FALSE, funcs[c]);
      if (i < 2)
        write_image (te, name, "png", 12, 10 + i, FALSE, funcs[c]);
    }
  }
  /* A nested folder inside a class counts; a test class unknown to the
   * train part does not. */
  g_autofree char *nested = g_build_filename (train_dir, "a-blue", "more", NULL);
  g_assert_cmpint (g_mkdir (nested, 0700), ==, 0);
  write_image (nested, "9.jpeg", "jpeg", 16, 16, FALSE, blue);
  g_autofree char *unknown = make_dir (test_dir, "c-green");
  write_image (unknown, "0.png", "png", 8, 8, FALSE, red);

  LamImageFolderOptions options = options_for (1, 8);
  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  g_auto (GStrv) skipped = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (
    lam_dataset_load_image_folder (folder->dir, &options, &train, &test, &skipped, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (train->class_names[0], ==, "a-blue");
  g_assert_cmpstr (train->class_names[1], ==, "b-red");
  g_assert_cmpint (train->n, ==, 7);
  g_assert_nonnull (test);
  g_assert_cmpint (test->n, ==, 4);
  g_assert_cmpint (test->n_classes, ==, 2);
  g_assert_cmpstr (test->class_names[1], ==, "b-red");
  static const guint8 test_labels[] = { 0, 0, 1, 1 };
  g_assert_cmpmem (test->labels, 4, test_labels, 4);
  assert_all (lam_dataset_get_image (test, 0), 64, 29, 0);
  assert_all (lam_dataset_get_image (test, 3), 64, 76, 0);
  g_assert_cmpuint (g_strv_length (skipped), ==, 1);
  g_assert_true (strv_has_prefix_suffix (skipped, unknown, "no class “c-green”"));

  /* The generic opener reads it too, with a test part. */
  LamDataset *tr = NULL, *te = NULL;
  g_assert_true (lam_dataset_load_dir (folder->dir, &tr, &te, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tr->n, ==, 7);
  g_assert_cmpint (te->n, ==, 4);
  lam_dataset_free (tr);
  lam_dataset_free (te);
}

/* train/ and val/, as torchvision's tutorials lay out their images: the
 * classes are in both, not the two folders themselves. */
static void
test_val_folder (void)
{
  g_autoptr (Folder) folder = folder_new ();
  const char *parts[] = { "train", "val" };
  const char *classes[] = { "ants", "bees" };
  PixelFunc funcs[] = { red, blue };
  for (int p = 0; p < 2; p++)
    for (int c = 0; c < 2; c++) {
      g_autofree char *dir = g_build_filename (folder->dir, parts[p], classes[c], NULL);
      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
      for (int i = 0; i < 3 - p; i++) {
        g_autofree char *name = g_strdup_printf ("%d.png", i);
        write_image (dir, name, "png", 8, 8, FALSE, funcs[c]);
      }
    }

  LamImageFolderOptions options = options_for (1, 8);
  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (
    lam_dataset_load_image_folder (folder->dir, &options, &train, &test, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (train->n_classes, ==, 2);
  g_assert_cmpstr (train->class_names[0], ==, "ants");
  g_assert_cmpstr (train->class_names[1], ==, "bees");
  g_assert_cmpint (train->n, ==, 6);
  g_assert_nonnull (test);
  g_assert_cmpint (test->n, ==, 4);
  static const guint8 test_labels[] = { 0, 0, 1, 1 };
  g_assert_cmpmem (test->labels, 4, test_labels, 4);
}

/* train/ without a held-out part beside it. */
static void
test_train_folder_alone (void)
{
  g_autoptr (Folder) folder = folder_new ();
  const char *classes[] = { "ants", "bees" };
  PixelFunc funcs[] = { red, blue };
  for (int c = 0; c < 2; c++) {
    g_autofree char *dir = g_build_filename (folder->dir, "train", classes[c], NULL);
    g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
    write_image (dir, "0.png", "png", 8, 8, FALSE, funcs[c]);
  }
  write_bytes (folder->dir, "README", "ants and bees\n", 14);

  LamImageFolderOptions options = options_for (1, 8);
  g_autoptr (LamDataset) train = NULL;
  LamDataset *test = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (
    lam_dataset_load_image_folder (folder->dir, &options, &train, &test, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (train->n_classes, ==, 2);
  g_assert_cmpstr (train->class_names[1], ==, "bees");
  g_assert_cmpint (train->n, ==, 2);
  g_assert_null (test);
}

/* Links to folders already read: back up the tree, to another class. */
static void
test_link_loops (void)
{
  g_autoptr (Folder) folder = folder_new ();
  g_autofree char *cats = make_dir (folder->dir, "cats");
  g_autofree char *dogs = make_dir (folder->dir, "dogs");
  g_autofree char *deeper = make_dir (dogs, "deeper");
  write_image (cats, "a.png", "png", 8, 8, FALSE, red);
  write_image (cats, "b.png", "png", 8, 8, FALSE, red);
  write_image (dogs, "c.png", "png", 8, 8, FALSE, blue);
  write_image (deeper, "d.png", "png", 8, 8, FALSE, blue);
  g_autofree char *again = g_build_filename (cats, "again", NULL);
  g_autofree char *other = g_build_filename (cats, "other", NULL);
  g_autofree char *up = g_build_filename (deeper, "up", NULL);
  g_assert_cmpint (symlink (".", again), ==, 0);
  g_assert_cmpint (symlink ("../dogs", other), ==, 0);
  g_assert_cmpint (symlink ("..", up), ==, 0);
  for (int i = 0; i < 4; i++) {
    g_autofree char *name = g_strdup_printf ("loop%d", i);
    g_autofree char *link = g_build_filename (deeper, name, NULL);
    g_assert_cmpint (symlink (".", link), ==, 0);
  }

  LamImageFolderOptions options = options_for (1, 8);
  g_autoptr (LamDataset) train = NULL;
  g_auto (GStrv) skipped = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (
    lam_dataset_load_image_folder (folder->dir, &options, &train, NULL, &skipped, &error));
  g_assert_no_error (error);
  g_assert_cmpint (train->n, ==, 4);
  static const guint8 labels[] = { 0, 0, 1, 1 };
  g_assert_cmpmem (train->labels, 4, labels, 4);
  g_assert_cmpuint (g_strv_length (skipped), ==, 7);
  g_assert_true (strv_has_prefix_suffix (skipped, again, "a link to a folder that is read"));
  g_assert_true (strv_has_prefix_suffix (skipped, other, "a link to a folder that is read"));
  g_assert_true (strv_has_prefix_suffix (skipped, up, "a link to a folder that is read"));
}

static void
expect_error (const char *dir, int code, const char *text)
{
  LamImageFolderOptions options = options_for (1, 28);
  LamDataset *train = NULL, *test = NULL;
  char **skipped = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_false (
    lam_dataset_load_image_folder (dir, &options, &train, &test, &skipped, &error));
  g_assert_error (error, LAM_DATASET_ERROR, code);
  g_test_message ("%s", error->message);
  if (strstr (error->message, text) == NULL)
    g_error ("expected “%s” in “%s”", text, error->message);
  g_assert_null (train);
  g_assert_null (test);
  g_assert_null (skipped);
}

/* Counts are int: 8192 images of 512×512 grey, exactly 2 GiB, are one
 * byte too many, refused on the count before a file is read (the files
 * are empty). One image fewer passes that check, to fail on the files. */
static void
test_two_gib (void)
{
  g_autoptr (Folder) folder = folder_new ();
  g_autofree char *a = make_dir (folder->dir, "a");
  g_autofree char *b = make_dir (folder->dir, "b");
  for (int i = 0; i < 8192; i++) {
    g_autofree char *name = g_strdup_printf ("%d.png", i);
    write_bytes (i % 2 ? a : b, name, "", 0);
  }
  LamImageFolderOptions options = options_for (1, 512);
  LamDataset *train = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_false (
    lam_dataset_load_image_folder (folder->dir, &options, &train, NULL, NULL, &error));
  g_assert_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "take more than 2147483647 bytes"));
  g_clear_error (&error);
  g_autofree char *last = g_build_filename (a, "8191.png", NULL);
  g_assert_cmpint (g_remove (last), ==, 0);
  g_assert_false (
    lam_dataset_load_image_folder (folder->dir, &options, &train, NULL, NULL, &error));
  g_assert_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND);
}

static void
test_errors (void)
{
  g_autoptr (Folder) folder = folder_new ();

  /* Missing. */
  g_autofree char *missing = g_build_filename (folder->root, "missing", NULL);
  expect_error (missing, LAM_DATASET_ERROR_NOT_FOUND, "no such folder");

  /* Images but no class folders. */
  write_image (folder->dir, "1.png", "png", 8, 8, FALSE, red);
  expect_error (folder->dir, LAM_DATASET_ERROR_NOT_FOUND, "no class folders");

  /* Class folders without images. */
  g_autofree char *a = make_dir (folder->dir, "a");
  g_autofree char *b = make_dir (folder->dir, "b");
  expect_error (folder->dir, LAM_DATASET_ERROR_NOT_FOUND, "hold no PNG or JPEG files");

  /* Only unreadable images. */
  write_bytes (a, "x.png", "not a png", 9);
  write_bytes (b, "y.jpg", "", 0);
  expect_error (folder->dir, LAM_DATASET_ERROR_NOT_FOUND,
                "none of the 2 image files could be read");

  /* A single class with images. */
  write_image (a, "z.png", "png", 8, 8, FALSE, red);
  expect_error (folder->dir, LAM_DATASET_ERROR_FORMAT, "only one class (“a”)");

  /* Absurd sizes are refused before anything is read. */
  write_image (b, "w.png", "png", 8, 8, FALSE, blue);
  LamImageFolderOptions options = options_for (1, 28);
  options.width = 100000;
  LamDataset *train = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_false (
    lam_dataset_load_image_folder (folder->dir, &options, &train, NULL, NULL, &error));
  g_assert_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE);
  g_clear_error (&error);
  options = options_for (1, 28);
  options.channels = 2;
  g_assert_false (
    lam_dataset_load_image_folder (folder->dir, &options, &train, NULL, NULL, &error));
  g_assert_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT);
  g_clear_error (&error);

  /* Now it reads. */
  options = options_for (1, 28);
  g_assert_true (lam_dataset_load_image_folder (folder->dir, &options, &train, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (train->n, ==, 2);
  lam_dataset_free (train);

  /* A cancelled read says so. */
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_cancellable_cancel (cancellable);
  options.cancellable = cancellable;
  train = NULL;
  g_assert_false (
    lam_dataset_load_image_folder (folder->dir, &options, &train, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (train);
}

/* ---- import: IDX files written and read back ---- */

static void
assert_same_dataset (const LamDataset *a, const LamDataset *b)
{
  g_assert_cmpint (a->n, ==, b->n);
  g_assert_cmpint (a->channels, ==, b->channels);
  g_assert_cmpint (a->height, ==, b->height);
  g_assert_cmpint (a->width, ==, b->width);
  g_assert_cmpint (a->n_classes, ==, b->n_classes);
  for (int c = 0; c < a->n_classes; c++)
    g_assert_cmpstr (a->class_names[c], ==, b->class_names[c]);
  g_assert_cmpmem (a->labels, a->n, b->labels, b->n);
  g_assert_cmpmem (a->images, a->n * lam_dataset_image_size (a), b->images,
                   b->n * lam_dataset_image_size (b));
}

static void
test_import_round_trip (void)
{
  g_autoptr (Folder) folder = animals_new ();
  g_autofree char *root = g_build_filename (folder->root, "datasets", NULL);
  const struct
  {
    int channels, side;
    const char *name, *images;
  } cases[] = {
    { 1, 28, "animals-28x28-grey", "train-images-idx3-ubyte.gz" },
    { 3, 32, "animals-32x32-colour", "train-images-idx4-ubyte.gz" },
  };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++) {
    LamImageFolderOptions options = options_for (cases[k].channels, cases[k].side);
    g_auto (GStrv) skipped = NULL;
    g_autoptr (GError) error = NULL;
    g_autofree char *out =
      lam_dataset_import_image_folder (folder->dir, &options, root, &skipped, &error);
    g_assert_no_error (error);
    g_autofree char *expected = g_build_filename (root, cases[k].name, NULL);
    g_assert_cmpstr (out, ==, expected);
    g_assert_cmpuint (g_strv_length (skipped), ==, 5);
    g_autofree char *images = g_build_filename (out, cases[k].images, NULL);
    g_autofree char *labels = g_build_filename (out, "train-labels-idx1-ubyte.gz", NULL);
    g_autofree char *classes = g_build_filename (out, "classes.txt", NULL);
    g_assert_true (g_file_test (images, G_FILE_TEST_IS_REGULAR));
    g_assert_true (g_file_test (labels, G_FILE_TEST_IS_REGULAR));
    g_autofree char *class_text = NULL;
    g_assert_true (g_file_get_contents (classes, &class_text, NULL, NULL));
    g_assert_cmpstr (class_text, ==, "cats\ndogs\n");

    g_autoptr (LamDataset) direct = NULL;
    g_assert_true (
      lam_dataset_load_image_folder (folder->dir, &options, &direct, NULL, NULL, &error));
    LamDataset *train = NULL, *test = NULL;
    gboolean ok = lam_dataset_load_dir (out, &train, &test, &error);
    g_assert_no_error (error);
    g_assert_true (ok);
    g_assert_null (test);
    assert_same_dataset (direct, train);
    g_autofree char *name = g_strdup_printf ("%s (train)", cases[k].name);
    g_assert_cmpstr (train->name, ==, name);
    lam_dataset_free (train);
  }

  /* Importing again replaces the import in place, leaving nothing else. */
  LamImageFolderOptions options = options_for (1, 28);
  g_autoptr (GError) error = NULL;
  g_autofree char *again =
    lam_dataset_import_image_folder (folder->dir, &options, root, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (again, "animals-28x28-grey"));
  g_autoptr (GDir) listing = g_dir_open (root, 0, NULL);
  int entries = 0;
  while (g_dir_read_name (listing) != NULL)
    entries++;
  g_assert_cmpint (entries, ==, 2);

  /* Another folder of the same name does not overwrite it. */
  g_autofree char *elsewhere = make_dir (folder->root, "other");
  g_autofree char *other = make_dir (elsewhere, "animals");
  g_autofree char *x = make_dir (other, "x");
  g_autofree char *y = make_dir (other, "y");
  write_image (x, "1.png", "png", 9, 9, FALSE, red);
  write_image (y, "1.png", "png", 9, 9, FALSE, noise);
  g_autofree char *second = lam_dataset_import_image_folder (other, &options, root, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (second, "animals-28x28-grey-2"));
  LamDataset *train = NULL;
  g_assert_true (lam_dataset_load_dir (again, &train, NULL, &error));
  g_assert_cmpint (train->n, ==, 6);
  lam_dataset_free (train);

  /* A cancelled import leaves the earlier one whole and no temporary
   * folder behind. */
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_cancellable_cancel (cancellable);
  options.cancellable = cancellable;
  g_assert_null (lam_dataset_import_image_folder (folder->dir, &options, root, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_autoptr (GDir) after = g_dir_open (root, 0, NULL);
  entries = 0;
  while (g_dir_read_name (after) != NULL)
    entries++;
  g_assert_cmpint (entries, ==, 3);
}

/* Rank-4 IDX images must have 1 or 3 channels. */
static void
test_idx_rank4_channels (void)
{
  g_autoptr (Folder) folder = folder_new ();
  static const guint8 images[] = { 0, 0, 0x08, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2,
                                   1, 2, 3, 4, 5, 6, 7, 8 };
  static const guint8 labels[] = { 0, 0, 0x08, 1, 0, 0, 0, 1, 0 };
  write_bytes (folder->dir, "i", images, sizeof images);
  write_bytes (folder->dir, "l", labels, sizeof labels);
  g_autofree char *i = g_build_filename (folder->dir, "i", NULL);
  g_autofree char *l = g_build_filename (folder->dir, "l", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_null (lam_dataset_load_idx (i, l, NULL, &error));
  g_assert_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "expected 1 or 3 channels"));
}

static void
test_import_split_default_root (void)
{
  g_autoptr (Folder) folder = folder_new ();
  for (int part = 0; part < 2; part++) {
    g_autofree char *part_dir = make_dir (folder->dir, part ? "test" : "train");
    g_autofree char *a = make_dir (part_dir, "a");
    g_autofree char *b = make_dir (part_dir, "b");
    write_image (a, "1.png", "png", 10, 10, FALSE, red);
    write_image (b, "1.png", "png", 10, 10, FALSE, noise);
    write_image (b, "2.png", "png", 11, 10, FALSE, blue);
  }
  LamImageFolderOptions options = options_for (1, 16);
  g_autoptr (GError) error = NULL;
  g_autofree char *out =
    lam_dataset_import_image_folder (folder->dir, &options, NULL, NULL, &error);
  g_assert_no_error (error);
  /* The user's data folder (here XDG_DATA_HOME, set by main). */
  g_autofree char *datasets = lam_dataset_dup_datasets_dir ();
  g_autofree char *expected = g_build_filename (datasets, "animals-16x16-grey", NULL);
  g_assert_cmpstr (out, ==, expected);
  g_autofree char *t10k = g_build_filename (out, "t10k-images-idx3-ubyte.gz", NULL);
  g_assert_true (g_file_test (t10k, G_FILE_TEST_IS_REGULAR));
  LamDataset *train = NULL, *test = NULL;
  g_assert_true (lam_dataset_load_dir (out, &train, &test, &error));
  g_assert_no_error (error);
  g_assert_cmpint (train->n, ==, 3);
  g_assert_cmpint (test->n, ==, 3);
  g_assert_cmpint (test->height, ==, 16);
  assert_all (lam_dataset_get_image (test, 0), 256, 76, 0);
  lam_dataset_free (train);
  lam_dataset_free (test);
  remove_tree (out);
}

/* The generic opener, as the window and `lamina train --data` use it:
 * grey 28×28 for grey images, colour 32×32 for colour ones, and a clear
 * error when no decoder was registered. */
static void
test_load_dir_registered (void)
{
  g_autoptr (Folder) folder = folder_new ();
  g_autofree char *a = make_dir (folder->dir, "a");
  g_autofree char *b = make_dir (folder->dir, "b");
  write_image (a, "1.png", "png", 10, 10, FALSE, grey_jpeg);
  write_image (b, "1.png", "png", 10, 10, FALSE, halves);
  write_bytes (b, "2.png", "", 0);
  g_assert_true (lam_dataset_is_image_folder (folder->dir));
  g_assert_false (lam_dataset_is_image_folder (a));

  lam_dataset_set_image_decoder (NULL, NULL);
  LamDataset *train = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_false (lam_dataset_load_dir (folder->dir, &train, NULL, &error));
  g_assert_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "no image decoder"));
  g_clear_error (&error);

  lam_image_decoder_register ();
  g_assert_true (lam_dataset_get_image_decoder (NULL) == lam_image_decode);
  g_assert_true (lam_dataset_load_dir (folder->dir, &train, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (train->channels, ==, 1);
  g_assert_cmpint (train->width, ==, 28);
  g_assert_cmpint (train->n, ==, 2);
  lam_dataset_free (train);

  write_image (a, "2.png", "png", 10, 10, FALSE, red);
  g_assert_true (lam_dataset_load_dir (folder->dir, &train, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (train->channels, ==, 3);
  g_assert_cmpint (train->width, ==, 32);
  lam_dataset_free (train);
}

/* ---- the command line ---- */

static int
run_train (const char *data, char **out, char **err)
{
  const char *binary = g_getenv ("LAMINA_BINARY");
  const char *argv[] = { binary, "train", "--data", data, "--model", "flatten,linear:2",
                         "--epochs", "1", "--batch-size", "4", "--device", "cpu", NULL };
  g_auto (GStrv) env = g_get_environ ();
  env = g_environ_unsetenv (env, "DISPLAY");
  env = g_environ_unsetenv (env, "WAYLAND_DISPLAY");
  int wait_status = 0;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, out, err, &wait_status,
                &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  return WEXITSTATUS (wait_status);
}

static void
test_cli_train (void)
{
  const char *binary = g_getenv ("LAMINA_BINARY");
  if (binary == NULL || !g_file_test (binary, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("LAMINA_BINARY is not set to the built lamina");
    return;
  }
  g_autoptr (Folder) folder = folder_new ();
  g_autofree char *a = make_dir (folder->dir, "a");
  g_autofree char *b = make_dir (folder->dir, "b");
  for (int i = 0; i < 6; i++) {
    g_autofree char *name = g_strdup_printf ("%d.png", i);
    write_image (a, name, "png", 12 + i, 12, FALSE, halves);
    write_image (b, name, "png", 12, 12 + i, FALSE, noise);
  }
  write_bytes (b, "broken.png", "nope", 4);

  /* The raw folder: read through the registered decoder, the skipped file
   * reported. */
  g_autofree char *out = NULL, *err = NULL;
  int status = run_train (folder->dir, &out, &err);
  g_test_message ("stdout: %s\nstderr: %s", out, err);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (err, "broken.png"));

  /* And the imported one. */
  g_autofree char *root = g_build_filename (folder->root, "datasets", NULL);
  LamImageFolderOptions options = options_for (1, 28);
  g_autoptr (GError) error = NULL;
  g_autofree char *imported =
    lam_dataset_import_image_folder (folder->dir, &options, root, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *out2 = NULL, *err2 = NULL;
  status = run_train (imported, &out2, &err2);
  g_test_message ("stdout: %s\nstderr: %s", out2, err2);
  g_assert_cmpint (status, ==, 0);
}

/* ---- the Data page ---- */

static gboolean
give_up (gpointer user_data)
{
  g_error ("%s did not happen within two minutes", (const char *) user_data);
  return G_SOURCE_REMOVE;
}

#define WAIT_UNTIL(condition)                                                        \
  G_STMT_START                                                                       \
  {                                                                                  \
    guint timeout_ = g_timeout_add_seconds (120, give_up, (gpointer) #condition);    \
    while (!(condition))                                                             \
      g_main_context_iteration (NULL, TRUE);                                         \
    g_source_remove (timeout_);                                                      \
  }                                                                                  \
  G_STMT_END

static gboolean
settled (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
settle (int ms)
{
  gboolean done = FALSE;
  g_timeout_add (ms, settled, &done);
  WAIT_UNTIL (done);
}

static void
save_png (GtkWidget *widget, const char *name)
{
  settle (300);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (widget, path, &error));
  g_assert_no_error (error);
  g_test_message ("saved %s", path);
}

static GtkWidget *
find_widget (GtkWidget *widget, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkWidget *found = find_widget (child, type);
    if (found != NULL)
      return found;
  }
  return NULL;
}

static void
test_data_page_import (void)
{
  g_autoptr (Folder) folder = animals_new ();
  /* Enough images of each class for the grid to show something. */
  g_autofree char *cats = g_build_filename (folder->dir, "cats", NULL);
  g_autofree char *dogs = g_build_filename (folder->dir, "dogs", NULL);
  for (int i = 0; i < 12; i++) {
    g_autofree char *name = g_strdup_printf ("n%02d.png", i);
    write_image (i % 2 ? cats : dogs, name, "png", 20 + i, 24, FALSE, i % 3 ? noise : halves);
  }
  g_autoptr (LamSession) session = lam_session_new ();
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_title (GTK_WINDOW (window), "Lamina");
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 800);
  LamDataPage *page = LAM_DATA_PAGE (lam_data_page_new (session));
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (GTK_WINDOW (window));
  WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (page)));

  /* The options window: grey 28 by default, colour switches to 32. */
  GtkWindow *options = lam_data_page_show_import_options (page, folder->dir);
  g_assert_nonnull (options);
  WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (options)));
  save_png (GTK_WIDGET (options), "image-folder-options.png");
  gtk_window_destroy (options);

  /* Cancel stops an import; nothing changes. */
  lam_data_page_import_folder (page, folder->dir, 1, 28);
  g_assert_true (lam_data_page_get_importing (page));
  lam_data_page_cancel_import (page);
  g_assert_false (lam_data_page_get_importing (page));
  settle (100);

  lam_data_page_import_folder (page, folder->dir, 1, 28);
  g_assert_true (lam_data_page_get_importing (page));
  WAIT_UNTIL (!lam_data_page_get_importing (page));
  g_assert_null (lam_data_page_get_error_message (page));
  WAIT_UNTIL (lam_session_get_has_dataset (session) && !lam_session_get_loading (session));
  g_assert_null (lam_data_page_get_error_message (page));

  const LamDataset *train = lam_session_get_train_set (session);
  g_assert_cmpint (train->n, ==, 18);
  g_assert_cmpint (train->n_classes, ==, 2);
  g_assert_cmpstr (train->class_names[1], ==, "dogs");
  g_autofree char *datasets = lam_dataset_dup_datasets_dir ();
  g_autofree char *expected = g_build_filename (datasets, "animals-28x28-grey", NULL);
  g_assert_cmpstr (lam_session_get_dataset_dir (session), ==, expected);

  const char *const *skipped = lam_data_page_get_skipped_files (page);
  g_assert_nonnull (skipped);
  g_assert_cmpuint (g_strv_length ((char **) skipped), ==, 5);
  /* The list shows, opened. */
  GtkWidget *expander = find_widget (GTK_WIDGET (page), GTK_TYPE_EXPANDER);
  g_assert_nonnull (expander);
  g_assert_true (gtk_widget_is_visible (expander));
  gtk_expander_set_expanded (GTK_EXPANDER (expander), TRUE);
  save_png (window, "image-folder-data-page.png");

  /* Dataset gone before the project: remove the import. */
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
  remove_tree (expected);
}

/* Files that lie to the decoder: a PNG whose text chunk claims 1.8 GB
 * (libpng would allocate it), and a GIF without a pixel. Each is refused
 * with its true reason, before anything large is allocated. */
static void
test_decoder_hostile (void)
{
  g_autoptr (Folder) folder = folder_new ();
  write_image (folder->dir, "plain.png", "png", 8, 8, FALSE, halves);
  g_autofree char *plain = g_build_filename (folder->dir, "plain.png", NULL);
  g_autofree guint8 *bytes = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (plain, (char **) &bytes, &length, NULL));
  /* After the signature (8) and IHDR (25): a tEXt header claiming
   * 0x6b49d200 bytes, with none of them there. */
  static const guint8 text_chunk[] = { 0x6b, 0x49, 0xd2, 0x00, 't', 'E', 'X', 't' };
  g_autoptr (GByteArray) lying = g_byte_array_new ();
  g_byte_array_append (lying, bytes, 33);
  g_byte_array_append (lying, text_chunk, sizeof text_chunk);
  g_byte_array_append (lying, bytes + 33, (guint) (length - 33));
  g_autofree char *lying_path = g_build_filename (folder->dir, "lying.png", NULL);
  g_assert_true (g_file_set_contents (lying_path, (const char *) lying->data, lying->len, NULL));

  guint8 pixels[28 * 28];
  g_autoptr (GError) error = NULL;
  g_assert_false (lam_image_decode (lying_path, 1, 28, 28, pixels, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "tEXt chunk claims 1.8"));
  g_assert_nonnull (strstr (error->message, "GB but only"));
  g_clear_error (&error);

  /* A GIF (named .png, as happens) whose screen and frame are 0 wide. */
  static const guint8 gif[] = {
    'G', 'I', 'F', '8', '9', 'a', 0, 0, 1, 0, 0x80, 0, 0,  /* screen 0×1, 2-colour table */
    0, 0, 0, 255, 255, 255,                                /* the table */
    ',', 0, 0, 0, 0, 0, 0, 1, 0, 0,                        /* frame 0×1 at (0, 0) */
    2, 2, 0x4c, 0x01, 0,                                   /* LZW data */
    ';' };
  g_autofree char *gif_path = g_build_filename (folder->dir, "empty.png", NULL);
  g_assert_true (g_file_set_contents (gif_path, (const char *) gif, sizeof gif, NULL));
  g_assert_false (lam_image_decode (gif_path, 1, 28, 28, pixels, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_null (strstr (error->message, "too large"));
  g_clear_error (&error);

  /* The real file still decodes. */
  g_assert_true (lam_image_decode (plain, 1, 28, 28, pixels, NULL, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  /* Imports land in the user's data folder: here, a temporary one. */
  g_autofree char *data_home = g_dir_make_tmp ("lamina-data-home-XXXXXX", NULL);
  g_assert_nonnull (data_home);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_setenv ("GTK_A11Y", "none", FALSE);
  gtk_init ();
  g_test_init (&argc, &argv, NULL);
  /* As lamina's main() does. */
  lam_image_decoder_register ();

  g_test_add_func ("/image-folder/read/grey", test_read_grey);
  g_test_add_func ("/image-folder/read/colour", test_read_colour);
  g_test_add_func ("/image-folder/read/split-folders", test_split_folders);
  g_test_add_func ("/image-folder/read/errors", test_errors);
  g_test_add_func ("/image-folder/read/two-gib", test_two_gib);
  g_test_add_func ("/image-folder/read/link-loops", test_link_loops);
  g_test_add_func ("/image-folder/read/val-folder", test_val_folder);
  g_test_add_func ("/image-folder/read/train-folder-alone", test_train_folder_alone);
  g_test_add_func ("/image-folder/decoder/orientation-and-aspect", test_decoder_orientation);
  g_test_add_func ("/image-folder/decoder/hostile-files", test_decoder_hostile);
  g_test_add_func ("/image-folder/import/idx-round-trip", test_import_round_trip);
  g_test_add_func ("/image-folder/import/split-default-root", test_import_split_default_root);
  g_test_add_func ("/image-folder/idx/rank4-channels", test_idx_rank4_channels);
  g_test_add_func ("/image-folder/load-dir/registered-decoder", test_load_dir_registered);
  g_test_add_func ("/image-folder/cli/train", test_cli_train);
  g_test_add_func ("/image-folder/data-page/import", test_data_page_import);

  int status = g_test_run ();
  remove_tree (data_home);
  return status;
}
