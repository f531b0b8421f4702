/* A .safetensors file: header JSON, offsets, dtypes, shapes, metadata.
 * What reads is written again and must read back the same, bit for bit. */
#include "fuzz-util.h"

#include <string.h>

#include "lam-checkpoint.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = fuzz_write ("in.safetensors", data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) metadata = NULL;
  g_autoptr (GPtrArray) tensors = lam_safetensors_read (path, &metadata, &error);
  if (tensors == NULL) {
    g_assert (error != NULL && error->domain == LAM_CHECKPOINT_ERROR);
    return 0;
  }
  g_autofree char *out = fuzz_path ("out.safetensors");
  if (!lam_safetensors_write (out, tensors, metadata, &error)) {
    /* Names the writer refuses (empty, reserved, twice) are named. */
    g_assert (error != NULL && error->domain == LAM_CHECKPOINT_ERROR);
    return 0;
  }
  g_autoptr (GHashTable) metadata_back = NULL;
  g_autoptr (GPtrArray) back = lam_safetensors_read (out, &metadata_back, &error);
  if (back == NULL)
    g_error ("a written file does not read: %s", error->message);
  FUZZ_CHECK (back->len == tensors->len, "%u tensors became %u", tensors->len, back->len);
  for (guint i = 0; i < tensors->len; i++) {
    const LamNamedTensor *a = g_ptr_array_index (tensors, i);
    const LamNamedTensor *b = NULL;
    for (guint j = 0; j < back->len && b == NULL; j++)
      if (g_str_equal (((LamNamedTensor *) g_ptr_array_index (back, j))->name, a->name))
        b = g_ptr_array_index (back, j);
    FUZZ_CHECK (b != NULL && b->rank == a->rank, "tensor %s lost or reshaped", a->name);
    gsize n = 1;
    for (int d = 0; d < a->rank; d++) {
      FUZZ_CHECK (a->dims[d] == b->dims[d], "tensor %s reshaped", a->name);
      n *= (gsize) a->dims[d];
    }
    FUZZ_CHECK (n == 0 || memcmp (a->data, b->data, n * sizeof (float)) == 0,
                "tensor %s changed", a->name);
  }
  guint n_meta = metadata ? g_hash_table_size (metadata) : 0;
  guint n_back = metadata_back ? g_hash_table_size (metadata_back) : 0;
  FUZZ_CHECK (n_meta == n_back, "metadata entries %u became %u", n_meta, n_back);
  if (metadata != NULL) {
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init (&iter, metadata);
    while (g_hash_table_iter_next (&iter, &key, &value))
      FUZZ_CHECK (g_strcmp0 (value, g_hash_table_lookup (metadata_back, key)) == 0,
                  "metadata %s changed", (const char *) key);
  }
  return 0;
}
