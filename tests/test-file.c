/* test-file.c: every save is atomic. Single files, checkpoints (weights +
 * description) and projects (description + weights + optimizer state) are
 * interrupted at every file operation in turn, as a failure (disk full) and
 * as a crash (nothing after it runs), and must then load as the complete old
 * version or the complete new one. Devices, FIFOs and symlinks are written
 * through, never replaced. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lam-test-util.h"

#include "lam-checkpoint.h"
#include "lam-file.h"
#include "lam-project-file.h"

typedef struct
{
  char *dir;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("lamina-file-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  lam_file_fault_clear ();
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  lam_file_fault_clear ();
  lam_test_remove_tree (f->dir);
  g_free (f->dir);
}

static char *
fixture_path (Fixture *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static char *
read_text (const char *path)
{
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&contents);
}

/* The names in the folder that start with a dot: what saves left behind. */
static guint
count_hidden (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  g_assert_nonnull (dir);
  guint n = 0;
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    if (name[0] == '.') {
      g_test_message ("left in %s: %s", folder, name);
      n++;
    }
  return n;
}

/* A big new version, so that it takes several writes. */
static char *
big_text (char fill, gsize n)
{
  char *text = g_malloc (n + 1);
  memset (text, fill, n);
  text[n] = '\0';
  return text;
}

/* Single files */

static void
test_replace_regular (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "notes.csv");
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_file_replace_contents (path, "old\n", 4, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, 0640), ==, 0);
  g_assert_true (lam_file_replace_contents (path, "new\n", 4, &error));
  g_assert_no_error (error);
  g_autofree char *text = read_text (path);
  g_assert_cmpstr (text, ==, "new\n");
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0640);
  g_assert_cmpuint (count_hidden (f->dir), ==, 0);

  /* A folder where the file should go is refused by name. */
  g_autofree char *folder = fixture_path (f, "folder.csv");
  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);
  g_assert_false (lam_file_replace_contents (folder, "x", 1, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR);
  g_assert_nonnull (strstr (error->message, "folder.csv"));
  g_assert_nonnull (strstr (error->message, "a folder"));
}

static void
test_replace_symlink (Fixture *f, gconstpointer data)
{
  g_autofree char *target = fixture_path (f, "real.py");
  g_autofree char *link = fixture_path (f, "link.py");
  g_assert_true (lam_file_replace_contents (target, "old", 3, NULL));
  g_assert_cmpint (symlink ("real.py", link), ==, 0);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_file_replace_contents (link, "new", 3, &error));
  g_assert_no_error (error);
  GStatBuf st;
  g_assert_cmpint (g_lstat (link, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_autofree char *text = read_text (target);
  g_assert_cmpstr (text, ==, "new");

  /* A dangling link creates its target. */
  g_autofree char *dangling = fixture_path (f, "dangling.py");
  g_assert_cmpint (symlink ("made.py", dangling), ==, 0);
  g_assert_true (lam_file_replace_contents (dangling, "made", 4, &error));
  g_assert_no_error (error);
  g_autofree char *made_path = fixture_path (f, "made.py");
  g_autofree char *made = read_text (made_path);
  g_assert_cmpstr (made, ==, "made");
  g_assert_cmpint (g_lstat (dangling, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));

  /* A loop is an error, not a hang. */
  g_autofree char *a = fixture_path (f, "a");
  g_autofree char *b = fixture_path (f, "b");
  g_assert_cmpint (symlink ("b", a), ==, 0);
  g_assert_cmpint (symlink ("a", b), ==, 0);
  g_assert_false (lam_file_replace_contents (a, "x", 1, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_LOOP);
}

static void
assert_char_device (const char *path)
{
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_true (S_ISCHR (st.st_mode));
}

static void
test_replace_device (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  /* A device node of our own where the folder allows one (root), and a
   * symlink to /dev/null always: both are written through, never replaced. */
  g_autofree char *node = fixture_path (f, "null");
  if (mknod (node, S_IFCHR | 0666, makedev (1, 3)) == 0) {
    g_assert_true (lam_file_replace_contents (node, "script", 6, &error));
    g_assert_no_error (error);
    assert_char_device (node);
  } else {
    g_test_message ("mknod: %s; the symlink to /dev/null stands in", g_strerror (errno));
  }
  g_autofree char *link = fixture_path (f, "out.py");
  g_assert_cmpint (symlink ("/dev/null", link), ==, 0);
  g_assert_true (lam_file_replace_contents (link, "script", 6, &error));
  g_assert_no_error (error);
  assert_char_device ("/dev/null");
  GStatBuf st;
  g_assert_cmpint (g_lstat (link, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_assert_cmpuint (count_hidden (f->dir), ==, 0);
  g_assert_cmpuint (count_hidden ("/dev"), ==, 0);

  /* A full device says so, and a checkpoint saved to it leaves nothing
   * beside it (no /dev/full.json). */
  g_assert_false (lam_file_replace_contents ("/dev/full", "x", 1, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOSPC);
  g_assert_nonnull (strstr (error->message, "/dev/full"));
  g_clear_error (&error);
  assert_char_device ("/dev/full");
}

typedef struct
{
  char *path;
  char *read;
} FifoReader;

static gpointer
read_fifo (gpointer data)
{
  FifoReader *r = data;
  g_file_get_contents (r->path, &r->read, NULL, NULL);
  return NULL;
}

static void
test_replace_fifo (Fixture *f, gconstpointer data)
{
  g_autofree char *fifo = fixture_path (f, "pipe");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_autoptr (GError) error = NULL;
  /* Nobody reads: an error at once, not a wait for ever. */
  g_assert_false (lam_file_replace_contents (fifo, "x", 1, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NXIO);
  g_assert_nonnull (strstr (error->message, "no program is reading"));
  g_clear_error (&error);

  FifoReader r = { fifo, NULL };
  GThread *thread = g_thread_new ("fifo-reader", read_fifo, &r);
  gboolean written = FALSE;
  for (int tries = 0; tries < 500 && !written; tries++) {
    written = lam_file_replace_contents (fifo, "through", 7, &error);
    if (!written) {
      g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NXIO);
      g_clear_error (&error);
      g_usleep (10000);
    }
  }
  g_assert_true (written);
  g_thread_join (thread);
  g_assert_cmpstr (r.read, ==, "through");
  g_free (r.read);
  GStatBuf st;
  g_assert_cmpint (g_lstat (fifo, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
}

/* Fails the nth operation of a replace, for every n, as a failure and as
 * a crash: the file is the old text or the new, never anything else, and
 * the next replace removes what a crash left. */
static void
test_fault_replace (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "history.csv");
  g_autofree char *old_text = big_text ('o', 10);
  g_autofree char *new_text = big_text ('n', (3 << 20) + 5); /* 4 writes */
  g_assert_true (lam_file_replace_contents (path, old_text, strlen (old_text), NULL));

  lam_file_fault_inject (0, 0, FALSE);
  g_assert_true (lam_file_replace_contents (path, new_text, strlen (new_text), NULL));
  guint n_ops = lam_file_fault_count ();
  g_assert_cmpuint (n_ops, >=, 7); /* open, 4 writes, fsync, close, rename */

  for (int crash = 0; crash <= 1; crash++) {
    for (guint n = 1; n <= n_ops; n++) {
      g_assert_true (lam_file_replace_contents (path, old_text, strlen (old_text), NULL));
      lam_file_fault_inject (n, ENOSPC, crash);
      g_autoptr (GError) error = NULL;
      g_assert_false (lam_file_replace_contents (path, new_text, strlen (new_text), &error));
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, "history.csv"));
      lam_file_fault_clear ();
      g_autofree char *text = read_text (path);
      g_assert_cmpstr (text, ==, old_text);
      if (!crash)
        g_assert_cmpuint (count_hidden (f->dir), ==, 0);
    }
  }
  /* What the crashes left is gone after one more replace. */
  g_assert_true (lam_file_replace_contents (path, new_text, strlen (new_text), NULL));
  g_assert_cmpuint (count_hidden (f->dir), ==, 0);
}

/* Checkpoints */

typedef struct
{
  LamModelPlan *plan;
  LamCheckpointInfo *info;
  float *params;
} Version;

static void
version_clear (Version *v)
{
  g_clear_pointer (&v->plan, lam_model_plan_free);
  g_clear_pointer (&v->info, lam_checkpoint_info_free);
  g_clear_pointer (&v->params, g_free);
}

/* Two versions of one model that differ in every weight and in their
 * normalisation, so a load shows which one it got and whether the two
 * were mixed. */
static void
version_init (Version *v, float scale, float mean)
{
  v->info = g_new0 (LamCheckpointInfo, 1);
  v->info->spec = lam_model_spec_from_text ("input=1x12x12,flatten,linear:64,relu,linear:10",
                                            NULL);
  g_assert_nonnull (v->info->spec);
  v->plan = lam_model_plan_new (v->info->spec, NULL);
  g_assert_nonnull (v->plan);
  v->info->n_channels = 1;
  v->info->mean[0] = mean;
  v->info->std[0] = 0.25f;
  v->params = g_new (float, v->plan->n_params);
  for (gsize i = 0; i < v->plan->n_params; i++)
    v->params[i] = scale * (float) ((int) (i % 89) - 44);
}

/* 0 for the old version, 1 for the new; fails on anything else. */
static int
which_checkpoint (const char *path, const Version *versions)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamCheckpointInfo) info = NULL;
  g_autofree float *params = NULL;
  if (!lam_checkpoint_load (path, &info, &params, &error))
    g_error ("the checkpoint does not load: %s", error->message);
  for (int k = 0; k < 2; k++) {
    gsize bytes = versions[k].plan->n_params * sizeof (float);
    if (memcmp (params, versions[k].params, bytes) == 0) {
      /* The normalisation belongs to the same save as the weights. */
      g_assert_cmpfloat (info->mean[0], ==, versions[k].info->mean[0]);
      return k;
    }
  }
  g_error ("the checkpoint's weights are neither the old nor the new ones");
  return -1;
}

static void
test_fault_checkpoint (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, data != NULL ? data : "model.safetensors");
  Version v[2] = { 0 };
  version_init (&v[0], 0.001f, 0.125f);
  version_init (&v[1], -0.002f, 0.5f);
  g_autoptr (GError) error = NULL;

  lam_file_fault_inject (0, 0, FALSE);
  g_assert_true (lam_checkpoint_save (path, v[1].plan, v[1].info, v[1].params, &error));
  g_assert_no_error (error);
  guint n_ops = lam_file_fault_count ();
  g_assert_cmpuint (n_ops, >=, 8);
  g_test_message ("a checkpoint save takes %u file operations; each is failed in turn", n_ops);

  guint seen[2] = { 0, 0 };
  for (int crash = 0; crash <= 1; crash++) {
    for (guint n = 1; n <= n_ops; n++) {
      lam_file_fault_clear ();
      g_assert_true (lam_checkpoint_save (path, v[0].plan, v[0].info, v[0].params, &error));
      g_assert_no_error (error);
      lam_file_fault_inject (n, ENOSPC, crash);
      gboolean ok = lam_checkpoint_save (path, v[1].plan, v[1].info, v[1].params, &error);
      lam_file_fault_clear ();
      g_assert_true (ok == (error == NULL));
      g_clear_error (&error);
      int got = which_checkpoint (path, v);
      seen[got]++;
      /* A save that said it failed did not half-replace anything. */
      if (!ok && !crash)
        g_assert_cmpuint (count_hidden (f->dir), ==, 0);
    }
  }
  /* The crashes' leftovers go with the next load. */
  which_checkpoint (path, v);
  g_assert_cmpuint (count_hidden (f->dir), ==, 0);
  /* Both outcomes happen: interruptions before and after the commit point. */
  g_assert_cmpuint (seen[0], >, 0);
  g_assert_cmpuint (seen[1], >, 0);
  g_test_message ("checkpoint: %u interruptions loaded the old save, %u the new one", seen[0],
                  seen[1]);
  g_assert_true (lam_checkpoint_save (path, v[1].plan, v[1].info, v[1].params, &error));
  g_assert_cmpuint (count_hidden (f->dir), ==, 0);

  /* Saving to a full device fails and leaves no description beside it. */
  g_assert_false (lam_checkpoint_save ("/dev/full", v[1].plan, v[1].info, v[1].params, &error));
  g_assert_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/dev/full"));
  g_assert_false (g_file_test ("/dev/full.json", G_FILE_TEST_EXISTS));
  assert_char_device ("/dev/full");
  version_clear (&v[0]);
  version_clear (&v[1]);
}

/* On a real full file system, when the test may mount one. */
static void
test_full_filesystem (Fixture *f, gconstpointer data)
{
  g_autofree char *mnt = fixture_path (f, "small");
  g_assert_cmpint (g_mkdir (mnt, 0700), ==, 0);
  if (mount ("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0) {
    g_test_skip_printf ("cannot mount a small tmpfs here (%s): the fault seam covers ENOSPC",
                        g_strerror (errno));
    return;
  }
  g_autofree char *path = g_build_filename (mnt, "model.safetensors", NULL);
  Version small = { 0 }, big = { 0 };
  version_init (&small, 0.001f, 0.125f);
  g_autoptr (GError) error = NULL;
  /* input 1x12x12 → 64 → 10: 9930 parameters, 40 KB. */
  g_assert_true (lam_checkpoint_save (path, small.plan, small.info, small.params, &error));
  g_assert_no_error (error);
  version_init (&big, 0.002f, 0.5f);
  /* Its twin does not fit beside it while both exist. */
  g_assert_false (lam_checkpoint_save (path, big.plan, big.info, big.params, &error));
  g_assert_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "No space left"));
  g_autoptr (LamCheckpointInfo) info = NULL;
  g_autofree float *params = NULL;
  g_clear_error (&error);
  g_assert_true (lam_checkpoint_load (path, &info, &params, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (params, small.plan->n_params * 4, small.params, small.plan->n_params * 4);
  g_assert_cmpuint (count_hidden (mnt), ==, 0);
  version_clear (&small);
  version_clear (&big);
  g_assert_cmpint (umount (mnt), ==, 0);
}

/* Projects */

static LamProjectFile *
project_version (float scale, int epochs)
{
  LamProjectFile *file = lam_project_file_new ();
  file->spec = lam_model_spec_from_text ("input=1x6x6,flatten,linear:5,relu,linear:3", NULL);
  g_assert_nonnull (file->spec);
  file->config.epochs = epochs;
  file->config.optimizer = lam_optimizer_config_default (LAM_OPTIMIZER_ADAM);
  g_free (file->device);
  file->device = g_strdup ("cpu");
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (file->spec, NULL);
  gsize n = plan->n_params;
  g_autofree float *params = g_new (float, n);
  g_autofree float *m = g_new (float, n);
  g_autofree float *s = g_new (float, n);
  for (gsize i = 0; i < n; i++) {
    params[i] = scale * (float) i;
    m[i] = scale * 0.5f;
    s[i] = scale * 0.25f;
  }
  float mean[3] = { 0.5f, 0, 0 }, std[3] = { 0.25f, 1, 1 };
  lam_project_file_set_weights (file, params, n, 1, mean, std);
  const float *state[] = { m, s };
  lam_project_file_set_resume (file, 1, 0, 10, state, 2);
  return file;
}

/* 0 for the old version, 1 for the new; fails on a mixed or broken set. */
static int
which_project (const char *path, LamProjectFile *const *versions)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamProjectFile) back = lam_project_file_load (path, &error);
  if (back == NULL)
    g_error ("the project does not load: %s", error->message);
  for (int k = 0; k < 2; k++) {
    if (back->config.epochs != versions[k]->config.epochs)
      continue;
    g_assert_cmpmem (back->params, back->n_params * 4, versions[k]->params,
                     versions[k]->n_params * 4);
    g_assert_true (back->resumable);
    g_assert_cmpmem (back->optimizer_state[1], back->n_params * 4,
                     versions[k]->optimizer_state[1], versions[k]->n_params * 4);
    return k;
  }
  g_error ("the project is neither the old nor the new one");
  return -1;
}

static void
test_fault_project (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, data != NULL ? data : "lesson.lamina");
  LamProjectFile *v[2] = { project_version (0.01f, 3), project_version (-0.03f, 8) };
  g_autoptr (GError) error = NULL;

  lam_file_fault_inject (0, 0, FALSE);
  g_assert_true (lam_project_file_save (v[1], path, &error));
  g_assert_no_error (error);
  guint n_ops = lam_file_fault_count ();
  g_assert_cmpuint (n_ops, >=, 12);
  g_test_message ("a project save takes %u file operations; each is failed in turn", n_ops);

  guint seen[2] = { 0, 0 }, finished = 0;
  for (int crash = 0; crash <= 1; crash++) {
    for (guint n = 1; n <= n_ops; n++) {
      lam_file_fault_clear ();
      g_assert_true (lam_project_file_save (v[0], path, &error));
      g_assert_no_error (error);
      lam_file_fault_inject (n, crash ? EIO : ENOSPC, crash);
      gboolean ok = lam_project_file_save (v[1], path, &error);
      lam_file_fault_clear ();
      g_clear_error (&error);

      /* The load finishes a save stopped after its commit point and
       * says so; either way nothing hidden is left afterwards. */
      g_autoptr (LamProjectFile) back = lam_project_file_load (path, &error);
      g_assert_no_error (error);
      if (back->note != NULL) {
        g_assert_nonnull (strstr (back->note, "interrupted"));
        finished++;
      }
      int got = which_project (path, v);
      seen[got]++;
      if (ok)
        g_assert_cmpint (got, ==, 1);
      g_assert_cmpuint (count_hidden (f->dir), ==, 0);
    }
  }
  g_assert_cmpuint (seen[0], >, 0);
  g_assert_cmpuint (seen[1], >, 0);
  g_assert_cmpuint (finished, >, 0);
  g_test_message ("project: %u interruptions loaded the old save, %u the new one (%u of them "
                  "finished by the load)", seen[0], seen[1], finished);
  lam_project_file_free (v[0]);
  lam_project_file_free (v[1]);
}

/* The leftovers of saves made before this scheme (".NAME.saving-*") go too. */
static void
test_old_leftovers (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "old.lamina");
  g_autoptr (LamProjectFile) file = project_version (0.5f, 2);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_project_file_save (file, path, &error));
  const char *names[] = { ".old.safetensors.saving-0a1b2c3d", ".old.lamina.saving-99887766",
                          ".old.optimizer.safetensors.saving-01234567" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *p = fixture_path (f, names[i]);
    g_assert_true (g_file_set_contents (p, "partial", -1, NULL));
  }
  g_assert_cmpuint (count_hidden (f->dir), ==, 3);
  g_autoptr (LamProjectFile) back = lam_project_file_load (path, &error);
  g_assert_no_error (error);
  g_assert_null (back->note);
  g_assert_cmpuint (count_hidden (f->dir), ==, 0);
}

static gpointer
read_one_byte_and_leave (gpointer data)
{
  int fd = open (data, O_RDONLY);
  char byte;
  if (fd >= 0) {
    if (read (fd, &byte, 1) < 0)
      g_test_message ("read: %s", g_strerror (errno));
    close (fd);
  }
  return NULL;
}

/* What a review of the writer found: empty files, other programs' hidden
 * files, permissions, a reader that leaves a FIFO mid-write. */
static void
test_replace_edges (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  /* Nothing to write is a write, to a file and to a device. */
  g_autofree char *empty = fixture_path (f, "empty.csv");
  g_assert_true (lam_file_replace_contents (empty, NULL, 0, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (empty, G_FILE_TEST_IS_REGULAR));
  g_assert_true (lam_file_replace_contents ("/dev/null", "", 0, &error));
  g_assert_no_error (error);

  /* A new file gets what the umask allows; an old one keeps its mode. */
  mode_t mask = umask (027);
  g_autofree char *fresh = fixture_path (f, "fresh.py");
  g_assert_true (lam_file_replace_contents (fresh, "x", 1, &error));
  umask (mask);
  GStatBuf st;
  g_assert_cmpint (g_stat (fresh, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0640);

  /* Only Lamina's own leftovers go: an editor's swap file stays, and so
   * does a file whose name only starts like ours. */
  g_autofree char *plain = fixture_path (f, "p");
  g_autofree char *swap = fixture_path (f, ".p.swp");
  g_autofree char *other = fixture_path (f, ".p.safetensors.0b4f3c1e-7a2d-4e5f-9a8b-1c2d3e4f5a6b");
  g_autofree char *ours = fixture_path (f, ".p.0b4f3c1e-7a2d-4e5f-9a8b-1c2d3e4f5a6b");
  g_assert_true (g_file_set_contents (swap, "editor", -1, NULL));
  g_assert_true (g_file_set_contents (other, "weights", -1, NULL));
  g_assert_true (g_file_set_contents (ours, "staged", -1, NULL));
  g_assert_cmpuint (lam_file_remove_leftovers (plain, NULL), ==, 1);
  g_assert_true (g_file_test (swap, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (other, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (ours, G_FILE_TEST_EXISTS));

  /* A reader that leaves after one byte: an error, not a SIGPIPE. */
  g_autofree char *fifo = fixture_path (f, "short-pipe");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  GThread *reader = g_thread_new ("short-reader", read_one_byte_and_leave, fifo);
  gsize big = 8 << 20;
  g_autofree char *bytes = g_malloc0 (big);
  gboolean written = FALSE;
  for (int tries = 0; tries < 500; tries++) {
    g_clear_error (&error);
    written = lam_file_replace_contents (fifo, bytes, big, &error);
    if (written || !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NXIO))
      break;
    g_usleep (10000);
  }
  g_thread_join (reader);
  g_assert_false (written);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_PIPE);
  g_assert_nonnull (strstr (error->message, "short-pipe"));
}

/* A project whose save id is not a UUID could name any file: refused. The
 * weights keep the permissions their owner gave them across saves. */
static void
test_project_save_id_and_mode (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "mode.lamina");
  g_autoptr (LamProjectFile) file = project_version (0.25f, 2);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_project_file_save (file, path, &error));
  g_autofree char *weights = fixture_path (f, "mode.safetensors");
  g_assert_cmpint (g_chmod (weights, 0600), ==, 0);
  g_assert_true (lam_project_file_save (file, path, &error));
  g_assert_no_error (error);
  GStatBuf st;
  g_assert_cmpint (g_stat (weights, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  char *id = strstr (text, "\"save_id\" : \"");
  g_assert_nonnull (id);
  id += strlen ("\"save_id\" : \"");
  memcpy (id, "x/../../../../../etc/passwd_1234567", 35);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_autoptr (LamProjectFile) back = lam_project_file_load (path, &error);
  g_assert_null (back);
  g_assert_error (error, LAM_PROJECT_FILE_ERROR, LAM_PROJECT_FILE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "expected a UUID"));
}

#define ADD(name, func) \
  g_test_add (name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
#define ADD_NAMED(name, file_name, func)                                                           \
  g_test_add (name, Fixture, file_name, fixture_set_up, func, fixture_tear_down)

/* A name as long as a folder entry may be (255 bytes), for the file itself
 * or, for a project, its longest sibling (NAME.optimizer.safetensors):
 * the hidden files of its saves must fit too. */
static char *
long_name (const char *suffix, gsize sibling_extra)
{
  gsize stem = 255 - strlen (suffix) - sibling_extra;
  g_autofree char *fill = big_text ('l', stem);
  return g_strconcat (fill, suffix, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ADD ("/file/replace/regular", test_replace_regular);
  ADD ("/file/replace/symlink", test_replace_symlink);
  ADD ("/file/replace/device", test_replace_device);
  ADD ("/file/replace/fifo", test_replace_fifo);
  ADD ("/file/replace/edges", test_replace_edges);
  ADD ("/file/fault/replace-every-step", test_fault_replace);
  ADD ("/file/fault/checkpoint-every-step", test_fault_checkpoint);
  ADD ("/file/fault/project-every-step", test_fault_project);
  g_autofree char *long_checkpoint = long_name (".safetensors", 0);
  g_autofree char *long_project =
    long_name (".lamina", strlen (".optimizer.safetensors") - strlen (".lamina"));
  ADD_NAMED ("/file/fault/checkpoint-every-step/long-name", long_checkpoint, test_fault_checkpoint);
  ADD_NAMED ("/file/fault/project-every-step/long-name", long_project, test_fault_project);
  ADD ("/file/full-filesystem/checkpoint", test_full_filesystem);
  ADD ("/file/leftovers/old-staging", test_old_leftovers);
  ADD ("/file/project/save-id-and-mode", test_project_save_id_and_mode);
  return g_test_run ();
}
