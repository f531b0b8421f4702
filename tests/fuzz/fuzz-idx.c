/* IDX images and labels (plain or gzip, grey rank 3 or colour rank 4): the
 * first two bytes give the labels file's length, the rest is the images
 * file. What loads is saved as IDX and must load back the same. */
#include "fuzz-util.h"

#include <string.h>

#include "lam-dataset.h"

static void
round_trip (const LamDataset *ds)
{
  g_autofree char *out = fuzz_path ("saved");
  fuzz_remove_tree (out);
  g_autoptr (GError) error = NULL;
  if (!lam_dataset_save_idx_dir (out, ds, NULL, &error))
    g_error ("a loaded dataset does not save: %s", error->message);
  g_autoptr (LamDataset) back = NULL;
  g_autoptr (LamDataset) test = NULL;
  if (!lam_dataset_load_dir (out, &back, &test, &error))
    g_error ("a saved dataset does not load: %s", error->message);
  FUZZ_CHECK (back->n == ds->n && back->channels == ds->channels && back->height == ds->height &&
                back->width == ds->width && back->n_classes == ds->n_classes,
              "shape or classes differ");
  FUZZ_CHECK (memcmp (back->images, ds->images, (gsize) ds->n * lam_dataset_image_size (ds)) == 0,
              "pixels differ");
  FUZZ_CHECK (memcmp (back->labels, ds->labels, (gsize) ds->n) == 0, "labels differ");
  for (int c = 0; c < ds->n_classes; c++)
    FUZZ_CHECK (g_strcmp0 (back->class_names[c], ds->class_names[c]) == 0, "class %d differs", c);
  fuzz_remove_tree (out);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  size_t n_labels = MIN ((size_t) (data[0] | data[1] << 8), size - 2);
  g_autofree char *labels = fuzz_write ("labels", data + 2, n_labels);
  g_autofree char *images = fuzz_write ("images", data + 2 + n_labels, size - 2 - n_labels);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = lam_dataset_load_idx (images, labels, NULL, &error);
  if (ds == NULL) {
    g_assert (error != NULL && error->domain == LAM_DATASET_ERROR);
    return 0;
  }
  round_trip (ds);
  return 0;
}
