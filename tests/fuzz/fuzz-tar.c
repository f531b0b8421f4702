/* A downloaded archive: the input is gzip'd here and extracted as the
 * CIFAR-10 tarball would be. Nothing may land outside the target folder. */
#include "fuzz-util.h"

#include <gio/gio.h>

#include "lam-download.h"

static GBytes *
gzip (const uint8_t *data, size_t size)
{
  g_autoptr (GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 1);
  g_autoptr (GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr (GOutputStream) out = g_converter_output_stream_new (memory, G_CONVERTER (compressor));
  if (!g_output_stream_write_all (out, data, size, NULL, NULL, NULL) ||
      !g_output_stream_close (out, NULL, NULL))
    g_error ("cannot compress the input");
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
}

static guint
count_entries (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GBytes) packed = gzip (data, size);
  gsize n;
  const void *bytes = g_bytes_get_data (packed, &n);
  g_autofree char *archive = fuzz_write ("archive.tar.gz", bytes, n);
  g_autofree char *dest = fuzz_path ("dest");
  fuzz_remove_tree (dest);
  g_mkdir_with_parents (dest, 0700);
  g_autoptr (GError) error = NULL;
  gboolean ok = lam_download_extract_tar_gz (archive, dest, "cifar-10-batches-bin", NULL, NULL,
                                             &error);
  g_assert (ok || error != NULL);
  /* Only the member folder, never anything beside it. */
  guint entries = count_entries (dest);
  FUZZ_CHECK (entries <= 1, "%u entries beside the member folder", entries);
  if (entries == 1) {
    g_autofree char *member = g_build_filename (dest, "cifar-10-batches-bin", NULL);
    FUZZ_CHECK (ok && g_file_test (member, G_FILE_TEST_IS_DIR), "something else was made");
  }
  fuzz_remove_tree (dest);
  return 0;
}
