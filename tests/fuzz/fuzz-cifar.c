/* A CIFAR-10 binary batch (a label byte and 3×32×32 pixels per record).
 * What loads is saved as colour IDX and must load back the same. */
#include "fuzz-util.h"

#include <string.h>

#include "lam-dataset.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *batch = fuzz_write ("data_batch_1.bin", data, size);
  const char *paths[] = { batch, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) ds = lam_dataset_load_cifar10 (paths, NULL, &error);
  if (ds == NULL) {
    g_assert (error != NULL && error->domain == LAM_DATASET_ERROR);
    return 0;
  }
  g_autofree char *out = fuzz_path ("saved");
  fuzz_remove_tree (out);
  if (!lam_dataset_save_idx_dir (out, ds, NULL, &error))
    g_error ("a loaded batch does not save: %s", error->message);
  g_autoptr (LamDataset) back = NULL;
  g_autoptr (LamDataset) test = NULL;
  if (!lam_dataset_load_dir (out, &back, &test, &error))
    g_error ("a saved batch does not load: %s", error->message);
  FUZZ_CHECK (back->n == ds->n && back->channels == 3 && back->height == 32 && back->width == 32,
              "shape differs");
  FUZZ_CHECK (memcmp (back->images, ds->images, (gsize) ds->n * 3072) == 0, "pixels differ");
  FUZZ_CHECK (memcmp (back->labels, ds->labels, (gsize) ds->n) == 0, "labels differ");
  fuzz_remove_tree (out);
  return 0;
}
