#include "fuzz-util.h"
#include "lam-test-util.h"

#include <glib/gstdio.h>
#include <sys/stat.h>
#include <stdlib.h>

static char *dir;

static void
remove_dir_at_exit (void)
{
  if (dir != NULL)
    fuzz_remove_tree (dir);
}

const char *
fuzz_dir (void)
{
  if (dir == NULL) {
    dir = g_dir_make_tmp ("lamina-fuzz-XXXXXX", NULL);
    g_assert (dir != NULL);
    atexit (remove_dir_at_exit);
  }
  return dir;
}

char *
fuzz_path (const char *name)
{
  return g_build_filename (fuzz_dir (), name, NULL);
}

char *
fuzz_write (const char *name, const void *data, size_t size)
{
  char *path = fuzz_path (name);
  g_autofree char *folder = g_path_get_dirname (path);
  g_mkdir_with_parents (folder, 0700);
  if (!g_file_set_contents (path, size > 0 ? data : "", (gssize) size, NULL))
    g_error ("cannot write %s", path);
  return path;
}

void
fuzz_remove_tree (const char *path)
{
  lam_test_remove_tree (path);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  g_log_set_fatal_mask ("GLib", G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  fuzz_dir ();
  return 0;
}
