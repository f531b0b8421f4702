/* lam-file.h: every file Lamina writes goes through here, so that a failure
 * at any point (disk full, a killed process, a power cut) leaves either the
 * complete old file or the complete new one.
 *
 * A regular file is written beside its target under a hidden temporary name
 * (".NAME.lamina-tmp-XXXXXX", NAME cut where a long one would not fit in a
 * folder entry), flushed to disk, and renamed over the target;
 * the folder is flushed after the rename. A symbolic link is followed: its
 * target is replaced and the link stays. A character device (/dev/null) is
 * written through, never replaced by a file; a FIFO is written through when
 * a program reads from it. Folders, sockets and block devices are refused.
 * Temporary files an interrupted save left behind are removed by the next
 * write of the same target.
 *
 * Errors are G_FILE_ERROR and name the path the user gave. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean lam_file_replace_contents (const char *path, const void *data, gsize length,
                                    GError **error);

/* A multi-file save writes each file whole beside its target as
 * ".NAME.TAG" (lam_file_staged_path, written with lam_file_replace_contents),
 * passes its own commit point (a small file naming TAG), then moves the
 * staged files into place with lam_file_commit_staged. */
gboolean lam_file_commit_staged (const char *staged_path, const char *path, GError **error);
/* Removes a staged file of a save that failed before its commit point
 * (nothing, after a simulated crash: lam_file_fault_inject). */
void lam_file_discard (const char *path);
/* ".NAME.TAG" beside path (owned). */
char *lam_file_staged_path (const char *path, const char *tag);
/* Removes the hidden files beside path that earlier saves of it left:
 * ".NAME.lamina-tmp-*", ".NAME.saving-*" and ".NAME.<save id>" (a UUID)
 * for every id except keep_tag (may be NULL); nothing else. Best effort: a file that cannot be removed
 * is left. Returns how many were removed. */
guint lam_file_remove_leftovers (const char *path, const char *keep_tag);
/* Only the ".NAME.lamina-tmp-*" and ".NAME.saving-*" files: what a single
 * interrupted replace of path left. */
guint lam_file_remove_temporaries (const char *path);
/* Whether path may be saved through the staged/renamed route: absent, or a
 * regular file (through symlinks). Sets an error naming what is there. */
gboolean lam_file_check_replaceable (const char *path, GError **error);

/* Fault injection, for tests. The nth file operation from now (open, write,
 * fsync, close, rename; n ≥ 1) fails with errno err (ENOSPC, EIO...). With
 * crash, that operation and every later one fail, and nothing is cleaned
 * up, as if the process had been killed there; lam_file_fault_clear ends
 * it. LAMINA_FILE_FAULT="N[:crash][:enospc]" in the environment sets the
 * same at the first file operation. */
/* JSON holds only UTF-8 text, and a file name may be any bytes. NULL for
 * a path that is text and is stored as it is; otherwise a file URI that
 * keeps every byte (%FF), stored beside the path as shown to people. */
char *lam_file_path_to_uri (const char *path);
/* The path stored as text and, where lam_file_path_to_uri gave one, as
 * uri: the uri's bytes when it is a file URI, else NULL with an error. */
char *lam_file_path_from_stored (const char *text, const char *uri, GError **error);

void lam_file_fault_inject (guint nth, int err, gboolean crash);
void lam_file_fault_clear (void);
/* How many file operations have run since the last inject or clear: a test
 * counts a save's operations, then fails each in turn. */
guint lam_file_fault_count (void);

G_END_DECLS
