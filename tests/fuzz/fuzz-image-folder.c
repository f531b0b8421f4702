/* A folder of images through the real decoder (gdk-pixbuf): the input is
 * one image of class "a" beside a valid image of class "b". What loads is
 * saved as IDX and must load back the same. */
#include "fuzz-util.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <string.h>

#include "lam-dataset.h"
#include "lam-image-decoder.h"

static void
write_valid_image (const char *path)
{
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 6, 6);
  gdk_pixbuf_fill (pixbuf, 0x336699ff);
  g_autoptr (GError) error = NULL;
  if (!gdk_pixbuf_save (pixbuf, path, "png", &error, NULL))
    g_error ("%s", error->message);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean registered;
  if (!registered) {
    lam_image_decoder_register ();
    registered = TRUE;
  }
  g_autofree char *folder = fuzz_path ("images");
  g_autofree char *valid = fuzz_path ("images/b/valid.png");
  if (!g_file_test (valid, G_FILE_TEST_EXISTS)) {
    g_autofree char *b = fuzz_path ("images/b");
    g_mkdir_with_parents (b, 0700);
    write_valid_image (valid);
  }
  /* The first byte picks the name (PNG or JPEG) and grey or colour. */
  gboolean jpeg = size > 0 && (data[0] & 1);
  gboolean colour = size > 0 && (data[0] & 2);
  g_autofree char *png = fuzz_path ("images/a/x.png");
  g_autofree char *jpg = fuzz_path ("images/a/x.jpg");
  g_unlink (png);
  g_unlink (jpg);
  g_free (fuzz_write (jpeg ? "images/a/x.jpg" : "images/a/x.png", size > 0 ? data + 1 : data,
                      size > 0 ? size - 1 : 0));

  LamImageFolderOptions options;
  lam_image_folder_options_init (&options, colour ? 3 : 1);
  options.height = options.width = colour ? 8 : 7;
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  g_auto (GStrv) skipped = NULL;
  if (!lam_dataset_load_image_folder (folder, &options, &train, &test, &skipped, &error)) {
    g_assert (error != NULL);
    return 0;
  }
  g_autofree char *out = fuzz_path ("saved");
  fuzz_remove_tree (out);
  if (!lam_dataset_save_idx_dir (out, train, test, &error))
    g_error ("a loaded folder does not save: %s", error->message);
  g_autoptr (LamDataset) back = NULL;
  g_autoptr (LamDataset) back_test = NULL;
  if (!lam_dataset_load_dir (out, &back, &back_test, &error))
    g_error ("a saved folder does not load: %s", error->message);
  FUZZ_CHECK (back->n == train->n && back->n_classes == train->n_classes, "counts changed");
  FUZZ_CHECK (memcmp (back->images, train->images,
                      (gsize) train->n * lam_dataset_image_size (train)) == 0,
              "pixels changed");
  for (int c = 0; c < train->n_classes; c++)
    FUZZ_CHECK (g_str_equal (back->class_names[c], train->class_names[c]), "class changed");
  fuzz_remove_tree (out);
  return 0;
}
