#include "lam-file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_INFIX ".lamina-tmp-"
/* The hidden staging files of saves before this module. */
#define OLD_STAGING_INFIX ".saving-"
/* Writes go out in pieces so that a fault can land inside a file. */
#define WRITE_CHUNK (1 << 20)
#define MAX_SYMLINKS 40
/* What follows a temporary file's name: TMP_INFIX and 16 hex digits. */
#define TMP_SUFFIX_LEN (sizeof TMP_INFIX - 1 + 16)
/* A save id, which tags a staged file. */
#define UUID_LEN 36

/* Fault injection */

G_LOCK_DEFINE_STATIC (fault);
static gboolean fault_env_read;
static guint fault_nth;     /* 0: none */
static guint fault_seen;
static int fault_errno = EIO;
static gboolean fault_crash;
static gboolean fault_crashed;

static void
read_fault_env_locked (void)
{
  if (fault_env_read)
    return;
  fault_env_read = TRUE;
  const char *env = g_getenv ("LAMINA_FILE_FAULT");
  if (env == NULL || *env == '\0')
    return;
  g_auto (GStrv) parts = g_strsplit (env, ":", -1);
  guint64 nth = 0;
  if (!g_ascii_string_to_unsigned (parts[0], 10, 1, G_MAXUINT, &nth, NULL))
    return;
  fault_nth = (guint) nth;
  fault_seen = 0;
  fault_errno = EIO;
  fault_crash = FALSE;
  for (int i = 1; parts[i] != NULL; i++) {
    if (g_str_equal (parts[i], "crash"))
      fault_crash = TRUE;
    else if (g_str_equal (parts[i], "enospc"))
      fault_errno = ENOSPC;
  }
}

/* Counts one file operation; TRUE (with errno set) when it is to fail. */
static gboolean
fault_hit (void)
{
  G_LOCK (fault);
  read_fault_env_locked ();
  fault_seen++;
  gboolean hit = fault_crashed || (fault_nth != 0 && fault_seen == fault_nth);
  if (hit && fault_crash)
    fault_crashed = TRUE;
  int err = fault_errno;
  G_UNLOCK (fault);
  if (hit)
    errno = err;
  return hit;
}

static gboolean
fault_crashed_now (void)
{
  G_LOCK (fault);
  gboolean crashed = fault_crashed;
  G_UNLOCK (fault);
  return crashed;
}

void
lam_file_fault_inject (guint nth, int err, gboolean crash)
{
  G_LOCK (fault);
  fault_env_read = TRUE;
  fault_nth = nth;
  fault_seen = 0;
  fault_errno = err != 0 ? err : EIO;
  fault_crash = crash;
  fault_crashed = FALSE;
  G_UNLOCK (fault);
}

void
lam_file_fault_clear (void)
{
  lam_file_fault_inject (0, EIO, FALSE);
}

guint
lam_file_fault_count (void)
{
  G_LOCK (fault);
  guint seen = fault_seen;
  G_UNLOCK (fault);
  return seen;
}

/* Operations that count for fault injection. */

static int
op_open (const char *path, int flags, int mode)
{
  if (fault_hit ())
    return -1;
  return g_open (path, flags | O_CLOEXEC, mode);
}

static gboolean
op_write_all (int fd, const guint8 *data, gsize length)
{
  gsize done = 0;
  do {
    if (fault_hit ())
      return FALSE;
    if (length == 0)
      return TRUE;
    gsize chunk = MIN (length - done, (gsize) WRITE_CHUNK);
    ssize_t n = write (fd, data + done, chunk);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return FALSE;
    }
    if (n == 0) {
      errno = ENOSPC;
      return FALSE;
    }
    done += (gsize) n;
  } while (done < length);
  return TRUE;
}

static gboolean
op_fsync (int fd)
{
  if (fault_hit ())
    return FALSE;
  return fsync (fd) == 0;
}

static gboolean
op_close (int fd)
{
  if (fault_hit ()) {
    /* The descriptor is released all the same: a crash frees it too. */
    int saved = errno;
    close (fd);
    errno = saved;
    return FALSE;
  }
  return close (fd) == 0;
}

static gboolean
op_rename (const char *from, const char *to)
{
  if (fault_hit ())
    return FALSE;
  return g_rename (from, to) == 0;
}

/* Cleanup after a failure: nothing runs after a simulated crash. */
static void
op_unlink_quietly (const char *path)
{
  if (fault_crashed_now ())
    return;
  g_unlink (path);
}

/* The folder's entry for a renamed file reaches the disk too. */
static void
sync_folder_of (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd >= 0) {
    fsync (fd);
    close (fd);
  }
}

static gboolean
set_errno_error (GError **error, int err, const char *path)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "cannot write %s: %s", path,
               g_strerror (err));
  return FALSE;
}

/* Follows symbolic links to the file they name (which may not exist yet). */
static char *
resolve_links (const char *path, GError **error)
{
  g_autofree char *current = g_strdup (path);
  for (int i = 0; i < MAX_SYMLINKS; i++) {
    GStatBuf st;
    if (g_lstat (current, &st) != 0 || !S_ISLNK (st.st_mode))
      return g_steal_pointer (&current);
    g_autofree char *target = g_file_read_link (current, NULL);
    if (target == NULL)
      return g_steal_pointer (&current);
    if (!g_path_is_absolute (target)) {
      g_autofree char *dir = g_path_get_dirname (current);
      g_free (current);
      current = g_build_filename (dir, target, NULL);
    } else {
      g_free (current);
      current = g_steal_pointer (&target);
    }
  }
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_LOOP,
               "cannot write %s: too many symbolic links (a loop?)", path);
  return NULL;
}

typedef enum
{
  TARGET_FILE,     /* absent or a regular file: temporary file and rename */
  TARGET_THROUGH,  /* a character device or FIFO: written in place */
} TargetKind;

static gboolean
classify_target (const char *path, const char *real, TargetKind *kind, GError **error)
{
  GStatBuf st;
  if (g_stat (real, &st) != 0) {
    if (errno == ENOENT) {
      *kind = TARGET_FILE;
      return TRUE;
    }
    return set_errno_error (error, errno, path);
  }
  if (S_ISREG (st.st_mode)) {
    *kind = TARGET_FILE;
    return TRUE;
  }
  if (S_ISCHR (st.st_mode) || S_ISFIFO (st.st_mode)) {
    *kind = TARGET_THROUGH;
    return TRUE;
  }
  const char *what = S_ISDIR (st.st_mode)    ? "a folder"
                     : S_ISBLK (st.st_mode)  ? "a block device"
                     : S_ISSOCK (st.st_mode) ? "a socket"
                                             : "not a regular file";
  g_set_error (error, G_FILE_ERROR, S_ISDIR (st.st_mode) ? G_FILE_ERROR_ISDIR : G_FILE_ERROR_INVAL,
               "cannot write %s: it is %s", path, what);
  return FALSE;
}

/* The file path names once symlinks are followed (owned), and its kind. */
static char *
resolve_target (const char *path, TargetKind *kind, GError **error)
{
  g_autofree char *real = resolve_links (path, error);
  if (real == NULL || !classify_target (path, real, kind, error))
    return NULL;
  return g_steal_pointer (&real);
}

gboolean
lam_file_check_replaceable (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  TargetKind kind;
  g_autofree char *real = resolve_target (path, &kind, error);
  if (real == NULL)
    return FALSE;
  if (kind != TARGET_FILE) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                 "cannot write %s: it is a device or FIFO, and this save needs regular files",
                 path);
    return FALSE;
  }
  return TRUE;
}

/* Devices and FIFOs: written as they are; renaming a file over /dev/null
 * would replace the device for the whole machine. */
static gboolean
write_through (const char *path, const char *real, const void *data, gsize length,
               GError **error)
{
  GStatBuf st;
  gboolean fifo = g_stat (real, &st) == 0 && S_ISFIFO (st.st_mode);
  /* Without a reader, opening a FIFO would wait for ever. */
  int fd = op_open (real, O_WRONLY | O_NOCTTY | (fifo ? O_NONBLOCK : 0), 0);
  if (fd < 0) {
    if (fifo && errno == ENXIO) {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NXIO,
                   "cannot write %s: it is a FIFO and no program is reading from it", path);
      return FALSE;
    }
    return set_errno_error (error, errno, path);
  }
  if (fifo)
    fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
  /* A reader that goes away mid-write must give EPIPE, not kill the
   * process: SIGPIPE is held back for this thread and a pending one taken. */
  sigset_t pipe_set, old_set;
  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &pipe_set, &old_set);
  gboolean written = op_write_all (fd, data, length);
  int saved = errno;
  if (!written && saved == EPIPE) {
    struct timespec no_wait = { 0, 0 };
    sigtimedwait (&pipe_set, NULL, &no_wait);
  }
  pthread_sigmask (SIG_SETMASK, &old_set, NULL);
  if (!written) {
    close (fd);
    return set_errno_error (error, saved, path);
  }
  if (!op_close (fd))
    return set_errno_error (error, errno, path);
  return TRUE;
}

/* The process's umask, read without changing it (umask () would, for every
 * thread at once). */
static mode_t
current_umask (void)
{
  g_autofree char *status = NULL;
  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL)) {
    const char *line = strstr (status, "\nUmask:");
    if (line != NULL)
      return (mode_t) g_ascii_strtoull (line + strlen ("\nUmask:"), NULL, 8) & 0777;
  }
  return 022;
}

/* Writes data to a new file at tmp_path (exclusive create), flushed to disk.
 * It is made readable by its owner only until it holds the mode it will
 * have: that of mode_from when it exists, else what the umask allows. */
static gboolean
write_new_file (const char *path, const char *tmp_path, const char *mode_from, const void *data,
                gsize length, GError **error)
{
  int fd = op_open (tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY, 0600);
  if (fd < 0)
    return set_errno_error (error, errno, path);
  GStatBuf st;
  mode_t mode = mode_from != NULL && g_stat (mode_from, &st) == 0 && S_ISREG (st.st_mode)
                  ? st.st_mode & 07777
                  : 0666 & ~current_umask ();
  if (fchmod (fd, mode) != 0 || !op_write_all (fd, data, length) || !op_fsync (fd)) {
    int saved = errno;
    close (fd);
    op_unlink_quietly (tmp_path);
    return set_errno_error (error, saved, path);
  }
  if (!op_close (fd)) {
    int saved = errno;
    op_unlink_quietly (tmp_path);
    return set_errno_error (error, saved, path);
  }
  return TRUE;
}

/* The part of base that names its hidden files (".NAME" + `room` more
 * bytes). A folder entry holds NAME_MAX bytes, and a name the user could
 * save under may be that long: where the hidden name would not fit, NAME
 * is cut and marked with a hash of the whole, so that long names that
 * begin alike keep hidden files of their own. */
static char *
hidden_stem (const char *base, gsize room)
{
  gsize length = strlen (base);
  if (1 + length + room <= NAME_MAX || room + 10 >= NAME_MAX)
    return g_strdup (base);
  gsize keep = NAME_MAX - 1 - room - 9; /* "~" and 8 hex digits */
  /* Not inside a UTF-8 character, so that the name stays text. */
  while (keep > 0 && ((guchar) base[keep] & 0xC0) == 0x80)
    keep--;
  return g_strdup_printf ("%.*s~%08x", (int) keep, base, g_str_hash (base));
}

/* What follows a staged file's NAME: ".TAG", and the temporary suffix of
 * its own write (lam_file_replace_contents of ".NAME.TAG"). */
static gsize
staged_room (gsize tag_length)
{
  return 1 + tag_length + 1 + TMP_SUFFIX_LEN;
}

static char *
temporary_path_for (const char *real)
{
  g_autofree char *dir = g_path_get_dirname (real);
  g_autofree char *base = g_path_get_basename (real);
  g_autofree char *stem = hidden_stem (base, TMP_SUFFIX_LEN);
  g_autofree char *name =
    g_strdup_printf (".%s" TMP_INFIX "%08x%08x", stem, g_random_int (), g_random_int ());
  return g_build_filename (dir, name, NULL);
}

static guint
remove_leftovers (const char *real, gboolean staged_too, const char *keep_tag)
{
  g_autofree char *dir = g_path_get_dirname (real);
  g_autofree char *base = g_path_get_basename (real);
  g_autofree char *tmp_stem = hidden_stem (base, TMP_SUFFIX_LEN);
  g_autofree char *tmp_prefix = g_strdup_printf (".%s" TMP_INFIX, tmp_stem);
  g_autofree char *old_prefix = g_strdup_printf (".%s" OLD_STAGING_INFIX, base);
  g_autofree char *staged_stem = hidden_stem (base, staged_room (UUID_LEN));
  /* A staged file, ".NAME.<save id>"; its temporary file has one more dot
   * in front ("..NAME.<save id>.lamina-tmp-*"). */
  g_autofree char *staged_prefix = g_strdup_printf (".%s.", staged_stem);
  /* After a simulated crash nothing more happens. */
  if (fault_crashed_now ())
    return 0;
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return 0;
  g_autoptr (GPtrArray) doomed = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL) {
    /* Only names Lamina makes: another program's ".NAME.swp" is not ours. */
    if (g_str_has_prefix (name, tmp_prefix) || g_str_has_prefix (name, old_prefix)) {
      g_ptr_array_add (doomed, g_build_filename (dir, name, NULL));
      continue;
    }
    if (!staged_too)
      continue;
    if (name[0] == '.' && g_str_has_prefix (name + 1, staged_prefix)) {
      const char *tag = name + 1 + strlen (staged_prefix);
      const char *tmp = strstr (tag, TMP_INFIX);
      g_autofree char *tag_only = tmp ? g_strndup (tag, (gsize) (tmp - tag)) : NULL;
      if (tag_only != NULL && g_uuid_string_is_valid (tag_only))
        g_ptr_array_add (doomed, g_build_filename (dir, name, NULL));
      continue;
    }
    if (g_str_has_prefix (name, staged_prefix)) {
      const char *tag = name + strlen (staged_prefix);
      if (g_uuid_string_is_valid (tag) && (keep_tag == NULL || !g_str_equal (tag, keep_tag)))
        g_ptr_array_add (doomed, g_build_filename (dir, name, NULL));
    }
  }
  guint removed = 0;
  for (guint i = 0; i < doomed->len; i++) {
    GStatBuf st;
    const char *p = g_ptr_array_index (doomed, i);
    if (g_lstat (p, &st) == 0 && S_ISREG (st.st_mode) && g_unlink (p) == 0)
      removed++;
  }
  return removed;
}

guint
lam_file_remove_leftovers (const char *path, const char *keep_tag)
{
  g_return_val_if_fail (path != NULL, 0);
  g_autofree char *real = resolve_links (path, NULL);
  return real ? remove_leftovers (real, TRUE, keep_tag) : 0;
}

guint
lam_file_remove_temporaries (const char *path)
{
  g_return_val_if_fail (path != NULL, 0);
  g_autofree char *real = resolve_links (path, NULL);
  return real ? remove_leftovers (real, FALSE, NULL) : 0;
}

gboolean
lam_file_replace_contents (const char *path, const void *data, gsize length, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);

  TargetKind kind;
  g_autofree char *real = resolve_target (path, &kind, error);
  if (real == NULL)
    return FALSE;
  if (kind == TARGET_THROUGH)
    return write_through (path, real, data ? data : "", length, error);

  remove_leftovers (real, FALSE, NULL);
  g_autofree char *tmp = temporary_path_for (real);
  if (!write_new_file (path, tmp, real, data ? data : "", length, error))
    return FALSE;
  if (!op_rename (tmp, real)) {
    int saved = errno;
    op_unlink_quietly (tmp);
    return set_errno_error (error, saved, path);
  }
  sync_folder_of (real);
  return TRUE;
}

char *
lam_file_staged_path (const char *path, const char *tag)
{
  g_return_val_if_fail (path != NULL && tag != NULL, NULL);
  /* Beside the file a link names, where the rename will put it. */
  g_autofree char *real = resolve_links (path, NULL);
  const char *target = real != NULL ? real : path;
  g_autofree char *dir = g_path_get_dirname (target);
  g_autofree char *base = g_path_get_basename (target);
  g_autofree char *stem = hidden_stem (base, staged_room (strlen (tag)));
  g_autofree char *name = g_strdup_printf (".%s.%s", stem, tag);
  return g_build_filename (dir, name, NULL);
}

gboolean
lam_file_commit_staged (const char *staged_path, const char *path, GError **error)
{
  g_return_val_if_fail (staged_path != NULL && path != NULL, FALSE);
  g_autofree char *real = resolve_links (path, error);
  if (real == NULL)
    return FALSE;
  /* The file keeps the permissions the user gave it. */
  GStatBuf st;
  if (g_stat (real, &st) == 0 && S_ISREG (st.st_mode))
    g_chmod (staged_path, st.st_mode & 07777);
  if (!op_rename (staged_path, real))
    return set_errno_error (error, errno, path);
  sync_folder_of (real);
  return TRUE;
}

void
lam_file_discard (const char *path)
{
  g_return_if_fail (path != NULL);
  op_unlink_quietly (path);
}

char *
lam_file_path_to_uri (const char *path)
{
  if (path == NULL || g_utf8_validate (path, -1, NULL))
    return NULL;
  g_autofree char *absolute = g_canonicalize_filename (path, NULL);
  return g_filename_to_uri (absolute, NULL, NULL);
}

char *
lam_file_path_from_stored (const char *text, const char *uri, GError **error)
{
  if (uri == NULL)
    return g_strdup (text);
  g_autoptr (GError) local_error = NULL;
  char *path = g_filename_from_uri (uri, NULL, &local_error);
  if (path == NULL)
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "\"%s\" is not a file URI: %s", uri,
                 local_error->message);
  return path;
}
