#include "lam-test-util.h"

#include "lam-device.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

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

char *
lam_test_write_bars_dataset (int n, int n_classes)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("lamina-bars-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree guint8 *pixels = g_new0 (guint8, (gsize) n * 784);
  g_autofree guint8 *labels = g_new (guint8, MAX (n, 1));
  for (int i = 0; i < n; i++) {
    labels[i] = (guint8) (i % n_classes);
    for (int r = 0; r < 28; r++)
      pixels[(gsize) i * 784 + r * 28 + (2 + 3 * labels[i]) % 28] = 255;
  }
  const guint32 image_dims[] = { (guint32) n, 28, 28 }, label_dims[] = { (guint32) n };
  const char *const prefixes[] = { "train", "t10k" };
  for (int p = 0; p < 2; p++) {
    g_autofree char *images = g_strdup_printf ("%s/%s-images-idx3-ubyte", dir, prefixes[p]);
    g_autofree char *label_path = g_strdup_printf ("%s/%s-labels-idx1-ubyte", dir, prefixes[p]);
    lam_test_write_idx (images, 0x803, 3, image_dims, pixels, (gsize) n * 784);
    lam_test_write_idx (label_path, 0x801, 1, label_dims, labels, (gsize) n);
  }
  return dir;
}

/* "%.6f" whatever the locale. */
static void
append_number (GString *s, const char *before, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append (s, before);
  g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.6f", value));
}

/* A standard normal number (Box–Muller). */
static double
gaussian (GRand *rng)
{
  double u = g_rand_double_range (rng, 1e-12, 1.0), v = g_rand_double (rng);
  return sqrt (-2 * log (u)) * cos (2 * G_PI * v);
}

void
lam_test_write_linear_csv (const char *path, int n, int d, int k, double noise, guint32 seed,
                           double *weights, double *bias)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  g_autofree double *w = g_new (double, (gsize) k * d);
  g_autofree double *b = g_new (double, k);
  for (int t = 0; t < k; t++) {
    b[t] = g_rand_double_range (rng, -50, 50);
    for (int j = 0; j < d; j++)
      w[t * d + j] = g_rand_double_range (rng, -3, 3);
  }
  g_autoptr (GString) s = g_string_new (NULL);
  for (int j = 0; j < d; j++)
    g_string_append_printf (s, "%sx%d", j ? "," : "", j + 1);
  for (int t = 0; t < k; t++)
    g_string_append_printf (s, ",y%d", t + 1);
  g_string_append_c (s, '\n');
  g_autofree double *x = g_new (double, d);
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < d; j++) {
      x[j] = g_rand_double_range (rng, 0, 10.0 * (j + 1));
      append_number (s, j ? "," : "", x[j]);
    }
    for (int t = 0; t < k; t++) {
      double y = b[t] + noise * gaussian (rng);
      for (int j = 0; j < d; j++)
        y += w[t * d + j] * x[j];
      append_number (s, ",", y);
    }
    g_string_append_c (s, '\n');
  }
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, s->str, (gssize) s->len, &error);
  g_assert_no_error (error);
  if (weights != NULL)
    memcpy (weights, w, sizeof (double) * k * d);
  if (bias != NULL)
    memcpy (bias, b, sizeof (double) * k);
}

void
lam_test_write_blobs_csv (const char *path, int n, int d, int n_classes, guint32 seed)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  /* Centre c is 4 along axis c mod d (negative for the second round of
   * axes): centres 4√2 apart, so a linear boundary errs on about 0.5% of
   * the rows. */
  g_autofree double *centres = g_new0 (double, (gsize) n_classes * d);
  for (int c = 0; c < n_classes; c++)
    centres[c * d + c % d] = (c / d) % 2 == 0 ? 4 : -4;
  g_autoptr (GString) s = g_string_new (NULL);
  for (int j = 0; j < d; j++)
    g_string_append_printf (s, "x%d,", j + 1);
  g_string_append (s, "class\n");
  for (int i = 0; i < n; i++) {
    int c = g_rand_int_range (rng, 0, n_classes);
    for (int j = 0; j < d; j++) {
      append_number (s, "", centres[c * d + j] + gaussian (rng));
      g_string_append_c (s, ',');
    }
    g_string_append_printf (s, "c%d\n", c);
  }
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, s->str, (gssize) s->len, &error);
  g_assert_no_error (error);
}

void
lam_cli_result_clear (LamCliResult *result)
{
  g_clear_pointer (&result->out, g_free);
  g_clear_pointer (&result->err, g_free);
}

LamCliResult
lam_test_spawn (const char *cwd, const char *const *argv)
{
  LamCliResult result = { 0 };
  int wait_status = 0;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) env = g_get_environ ();
  env = g_environ_unsetenv (env, "DISPLAY");
  env = g_environ_unsetenv (env, "WAYLAND_DISPLAY");
  env = g_environ_setenv (env, "PYTHONDONTWRITEBYTECODE", "1", TRUE);
  g_spawn_sync (cwd, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &result.out, &result.err,
                &wait_status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  result.status = WEXITSTATUS (wait_status);
  return result;
}

LamCliResult
lam_test_run_lamina (const char *first, ...)
{
  const char *binary = g_getenv ("LAMINA_BINARY");
  g_assert_nonnull (binary);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) binary);
  va_list args;
  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  return lam_test_spawn (NULL, (const char *const *) argv->pdata);
}

void
lam_test_check_exit (const LamCliResult *result, int code, const char *text_in_stderr)
{
  if (result->status != code)
    g_test_message ("stdout: %s\nstderr: %s", result->out, result->err);
  g_assert_cmpint (result->status, ==, code);
  if (text_in_stderr != NULL && strstr (result->err, text_in_stderr) == NULL)
    g_error ("expected \"%s\" in the error output, got: %s", text_in_stderr, result->err);
}

LamBackend *
lam_test_cpu_backend_new (int threads)
{
  g_autofree char *saved = g_strdup (g_getenv ("LAMINA_NUM_THREADS"));
  g_autofree char *count = g_strdup_printf ("%d", threads);
  g_setenv ("LAMINA_NUM_THREADS", count, TRUE);
  LamBackend *backend = lam_backend_cpu_new ();
  if (saved != NULL)
    g_setenv ("LAMINA_NUM_THREADS", saved, TRUE);
  else
    g_unsetenv ("LAMINA_NUM_THREADS");
  return backend;
}
