#include "lam-test-util.h"

#include <glib/gstdio.h>

void
lam_test_settle (int ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

gboolean
lam_test_iterate_until (gboolean (*done) (gpointer data), gpointer data, int timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (!done (data) && g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  return done (data);
}

gboolean
lam_test_flag_set (gpointer data)
{
  return *(gboolean *) data;
}

GByteArray *
lam_test_idx_bytes (guint8 type, guint rank, const guint32 *dims, const guint8 *data, gsize size)
{
  GByteArray *bytes = g_byte_array_new ();
  guint8 magic[4] = { 0, 0, type, (guint8) rank };
  g_byte_array_append (bytes, magic, 4);
  for (guint i = 0; i < rank; i++) {
    guint32 be = GUINT32_TO_BE (dims[i]);
    g_byte_array_append (bytes, (const guint8 *) &be, 4);
  }
  if (size > 0)
    g_byte_array_append (bytes, data, (guint) size);
  return bytes;
}

void
lam_test_write_idx (const char *path, guint32 magic, int n_dims, const guint32 *dims,
                    const guint8 *data, gsize size)
{
  g_assert_cmpuint (magic & 0xff, ==, (guint) n_dims);
  g_autoptr (GByteArray) bytes =
    lam_test_idx_bytes ((guint8) (magic >> 8), (guint) n_dims, dims, data, size);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, (const char *) bytes->data, bytes->len, &error);
  g_assert_no_error (error);
}

void
lam_test_remove_tree (const char *path)
{
  /* Nothing there, or a file (a link included): nothing to descend into. */
  if (!g_file_test (path, G_FILE_TEST_EXISTS) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    return;
  if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
    g_assert_cmpint (g_remove (path), ==, 0);
    return;
  }
  GDir *dir = g_dir_open (path, 0, NULL);
  if (dir != NULL) {
    const char *name;
    while ((name = g_dir_read_name (dir)) != NULL) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        lam_test_remove_tree (child);
      else
        g_assert_cmpint (g_remove (child), ==, 0);
    }
    g_dir_close (dir);
  }
  g_assert_cmpint (g_rmdir (path), ==, 0);
}
