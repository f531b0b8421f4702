/* fuzz-util.h: what every fuzz target shares. GLib criticals and warnings
 * abort (a reader must answer bad input with a GError, not a critical), and
 * each target gets a private folder for the files it writes. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* The target's own folder, made once, removed at exit. */
const char *fuzz_dir (void);
/* fuzz_dir()/name, owned. */
char *fuzz_path (const char *name);
/* Writes data to fuzz_dir()/name; the path, owned. */
char *fuzz_write (const char *name, const void *data, size_t size);
/* Removes what is under path (a file or a folder tree), keeping nothing. */
void fuzz_remove_tree (const char *path);
/* Aborts with the message when a round trip differs. */
#define FUZZ_CHECK(cond, ...) \
  do { \
    if (!(cond)) \
      g_error ("round trip: " __VA_ARGS__); \
  } while (0)

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
