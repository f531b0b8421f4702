#include "lam-download.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>

#include "lamina-config.h"
#include "lam-ui-util.h"

#define BUFFER_SIZE (64 * 1024)
#define PROGRESS_INTERVAL_MS 33
#define DEFAULT_TIMEOUT_S 60
#define TAR_BLOCK 512
#define TAR_MAX_LONG_NAME (64 * 1024)

/* ---- the datasets ----
 *
 * Digests are the ones the datasets' maintainers publish, as torchvision
 * lists them (torchvision/datasets/mnist.py) for the IDX sets, and the MD5
 * on the CIFAR-10 page (https://www.cs.toronto.edu/~kriz/cifar.html) for the
 * binary tarball. Sizes are the published ones, except KMNIST's, which are
 * rounded estimates: the server's length replaces them once it answers
 * (what a size decides is in lam-download.h, LamDownloadFile). */

static const char *const mnist_mirrors[] = {
  "https://ossci-datasets.s3.amazonaws.com/mnist/",
  "http://yann.lecun.com/exdb/mnist/",
  NULL,
};

static const LamDownloadFile mnist_files[] = {
  { "train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422 },
  { "train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", 28881 },
  { "t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", 1648877 },
  { "t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", 4542 },
};

static const char *const fashion_mnist_mirrors[] = {
  "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
  NULL,
};

static const LamDownloadFile fashion_mnist_files[] = {
  { "train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26421880 },
  { "train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", 29515 },
  { "t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", 4422102 },
  { "t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", 5148 },
};

static const char *const kmnist_mirrors[] = {
  "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
  NULL,
};

static const LamDownloadFile kmnist_files[] = {
  { "train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7", 18000000 },
  { "train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344", 30000 },
  { "t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7", 3000000 },
  { "t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134", 5000 },
};

static const char *const cifar10_mirrors[] = {
  "https://www.cs.toronto.edu/~kriz/",
  NULL,
};

static const char *const cifar10_members[] = {
  "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
  "data_batch_5.bin", "test_batch.bin",   "batches.meta.txt", NULL,
};

static const LamDownloadFile cifar10_files[] = {
  { "cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530", 170052171,
    LAM_DOWNLOAD_FILE_TAR_GZ, "cifar-10-batches-bin", cifar10_members },
};

static const LamDownloadSource sources[] = {
  { "mnist", "MNIST", "Handwritten digits · 70,000 greyscale images, 28×28", mnist_mirrors,
    mnist_files, G_N_ELEMENTS (mnist_files) },
  { "fashion-mnist", "Fashion-MNIST", "Zalando's clothing pictures · 70,000 greyscale, 28×28",
    fashion_mnist_mirrors, fashion_mnist_files, G_N_ELEMENTS (fashion_mnist_files) },
  { "kmnist", "Kuzushiji-MNIST", "Cursive Japanese characters · 70,000 greyscale, 28×28",
    kmnist_mirrors, kmnist_files, G_N_ELEMENTS (kmnist_files) },
  { "cifar10", "CIFAR-10", "Small photographs in ten classes · 60,000 colour, 32×32",
    cifar10_mirrors, cifar10_files, G_N_ELEMENTS (cifar10_files) },
};

static const char *const source_ids[] = { "mnist", "fashion-mnist", "kmnist", "cifar10", NULL };

G_DEFINE_QUARK (lam-download-error-quark, lam_download_error)

G_DEFINE_ENUM_TYPE (LamDownloadStage, lam_download_stage,
                    G_DEFINE_ENUM_VALUE (LAM_DOWNLOAD_STAGE_IDLE, "idle"),
                    G_DEFINE_ENUM_VALUE (LAM_DOWNLOAD_STAGE_DOWNLOADING, "downloading"),
                    G_DEFINE_ENUM_VALUE (LAM_DOWNLOAD_STAGE_VERIFYING, "verifying"),
                    G_DEFINE_ENUM_VALUE (LAM_DOWNLOAD_STAGE_EXTRACTING, "extracting"),
                    G_DEFINE_ENUM_VALUE (LAM_DOWNLOAD_STAGE_DONE, "done"))

const char *const *
lam_download_list_datasets (void)
{
  return source_ids;
}

const LamDownloadSource *
lam_download_lookup (const char *dataset_id)
{
  g_return_val_if_fail (dataset_id != NULL, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (sources); i++)
    if (strcmp (sources[i].id, dataset_id) == 0)
      return &sources[i];
  return NULL;
}

/* ---- the object ---- */

typedef struct
{
  char *name;
  char *digest; /* lower case */
  guint64 size;
  LamDownloadFileKind kind;
  char *extract;
  char **members;
} FileEntry;

static void
file_entry_free (FileEntry *entry)
{
  g_free (entry->name);
  g_free (entry->digest);
  g_free (entry->extract);
  g_strfreev (entry->members);
  g_free (entry);
}

typedef struct
{
  LamDownloadStage stage;
  char *file; /* owned */
  guint64 file_done;
  guint64 file_total;
  guint64 done;
  guint64 total;
} Progress;

struct _LamDownload
{
  GObject parent_instance;

  char *id;
  char *title;
  char *description;
  char **mirrors;
  GPtrArray *files; /* of FileEntry, owned; never changes after construction */
  char *directory;
  char *system_dir; /* NULL: no installed copies looked for */
  char *base_url;   /* NULL: the mirrors */
  guint timeout;

  /* What the main context has seen. */
  gboolean running;
  Progress shown;

  /* Filled by the worker, delivered by one pending timeout source. */
  GMutex lock;
  Progress pending;
  GSource *pending_source; /* owned, under lock; NULL when nothing waits */
  GMainContext *context;   /* owned while running: where progress goes */
};

G_DEFINE_FINAL_TYPE (LamDownload, lam_download, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ID,
  PROP_TITLE,
  PROP_DIRECTORY,
  PROP_SYSTEM_DIR,
  PROP_BASE_URL,
  PROP_RUNNING,
  PROP_STAGE,
  N_PROPS
};

enum
{
  PROGRESS,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
lam_download_finalize (GObject *object)
{
  LamDownload *self = LAM_DOWNLOAD (object);

  g_assert (self->pending_source == NULL);
  g_free (self->id);
  g_free (self->title);
  g_free (self->description);
  g_strfreev (self->mirrors);
  g_clear_pointer (&self->files, g_ptr_array_unref);
  g_free (self->directory);
  g_free (self->system_dir);
  g_free (self->base_url);
  g_free (self->shown.file);
  g_free (self->pending.file);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (lam_download_parent_class)->finalize (object);
}

static void
lam_download_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamDownload *self = LAM_DOWNLOAD (object);

  switch (prop_id) {
  case PROP_ID:
    g_value_set_string (value, self->id);
    break;
  case PROP_TITLE:
    g_value_set_string (value, self->title);
    break;
  case PROP_DIRECTORY:
    g_value_set_string (value, self->directory);
    break;
  case PROP_SYSTEM_DIR:
    g_value_set_string (value, self->system_dir);
    break;
  case PROP_BASE_URL:
    g_value_set_string (value, self->base_url);
    break;
  case PROP_RUNNING:
    g_value_set_boolean (value, self->running);
    break;
  case PROP_STAGE:
    g_value_set_enum (value, self->shown.stage);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_download_set_property (GObject *object, guint prop_id, const GValue *value,
                           GParamSpec *pspec)
{
  LamDownload *self = LAM_DOWNLOAD (object);

  switch (prop_id) {
  case PROP_BASE_URL:
    lam_download_set_base_url (self, g_value_get_string (value));
    break;
  case PROP_SYSTEM_DIR:
    lam_download_set_system_dir (self, g_value_get_string (value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_download_class_init (LamDownloadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = lam_download_finalize;
  object_class->get_property = lam_download_get_property;
  object_class->set_property = lam_download_set_property;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL,
                                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS |
                                               G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL,
                                                G_PARAM_READABLE | G_PARAM_STATIC_STRINGS |
                                                  G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_DIRECTORY] = g_param_spec_string ("directory", NULL, NULL, NULL,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS |
                                                      G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SYSTEM_DIR] = g_param_spec_string ("system-dir", NULL, NULL,
                                                     LAM_DOWNLOAD_SYSTEM_DIR,
                                                     G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                       G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_BASE_URL] = g_param_spec_string ("base-url", NULL, NULL, NULL,
                                                   G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                     G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_RUNNING] = g_param_spec_boolean ("running", NULL, NULL, FALSE,
                                                   G_PARAM_READABLE | G_PARAM_STATIC_STRINGS |
                                                     G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STAGE] =
    g_param_spec_enum ("stage", NULL, NULL, LAM_TYPE_DOWNLOAD_STAGE, LAM_DOWNLOAD_STAGE_IDLE,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[PROGRESS] = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                    NULL, NULL, NULL, G_TYPE_NONE, 5, G_TYPE_STRING,
                                    G_TYPE_UINT64, G_TYPE_UINT64, G_TYPE_UINT64, G_TYPE_UINT64);
}

static void
lam_download_init (LamDownload *self)
{
  g_mutex_init (&self->lock);
  self->files = g_ptr_array_new_with_free_func ((GDestroyNotify) file_entry_free);
  self->timeout = DEFAULT_TIMEOUT_S;
  self->system_dir = g_strdup (LAM_DOWNLOAD_SYSTEM_DIR);
}

static gboolean
is_hex_digest (const char *digest)
{
  gsize len = strlen (digest);
  if (len != 32 && len != 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (digest[i]))
      return FALSE;
  return TRUE;
}

LamDownload *
lam_download_new_custom (const LamDownloadSource *source, const char *base_dir)
{
  g_return_val_if_fail (source != NULL, NULL);
  g_return_val_if_fail (source->id != NULL && source->id[0] != '\0', NULL);
  g_return_val_if_fail (strchr (source->id, '/') == NULL && strcmp (source->id, "..") != 0,
                        NULL);
  g_return_val_if_fail (source->n_files > 0 && source->files != NULL, NULL);

  for (guint i = 0; i < source->n_files; i++) {
    const LamDownloadFile *file = &source->files[i];
    g_return_val_if_fail (file->name != NULL && strchr (file->name, '/') == NULL, NULL);
    g_return_val_if_fail (file->digest != NULL && is_hex_digest (file->digest), NULL);
    g_return_val_if_fail (file->kind != LAM_DOWNLOAD_FILE_TAR_GZ ||
                            (file->extract != NULL && strchr (file->extract, '/') == NULL),
                          NULL);
  }

  LamDownload *self = g_object_new (LAM_TYPE_DOWNLOAD, NULL);
  self->id = g_strdup (source->id);
  self->title = g_strdup (source->title != NULL ? source->title : source->id);
  self->description = g_strdup (source->description != NULL ? source->description : "");
  self->mirrors = g_strdupv ((char **) source->mirrors);
  for (guint i = 0; i < source->n_files; i++) {
    const LamDownloadFile *file = &source->files[i];
    FileEntry *entry = g_new0 (FileEntry, 1);
    entry->name = g_strdup (file->name);
    entry->digest = g_ascii_strdown (file->digest, -1);
    entry->size = file->size;
    entry->kind = file->kind;
    entry->extract = g_strdup (file->extract);
    entry->members = g_strdupv ((char **) file->members);
    g_ptr_array_add (self->files, entry);
  }
  if (base_dir != NULL)
    self->directory = g_build_filename (base_dir, self->id, NULL);
  else
    self->directory =
      g_build_filename (g_get_user_data_dir (), "lamina", "datasets", self->id, NULL);
  return self;
}

LamDownload *
lam_download_new (const char *dataset_id, const char *base_dir)
{
  g_return_val_if_fail (dataset_id != NULL, NULL);

  const LamDownloadSource *source = lam_download_lookup (dataset_id);
  g_return_val_if_fail (source != NULL, NULL);
  return lam_download_new_custom (source, base_dir);
}

void
lam_download_set_base_url (LamDownload *self, const char *base_url)
{
  g_return_if_fail (LAM_IS_DOWNLOAD (self));

  if (g_strcmp0 (self->base_url, base_url) == 0)
    return;
  g_free (self->base_url);
  if (base_url != NULL && !g_str_has_suffix (base_url, "/"))
    self->base_url = g_strconcat (base_url, "/", NULL);
  else
    self->base_url = g_strdup (base_url);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BASE_URL]);
}

const char *
lam_download_get_base_url (LamDownload *self)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), NULL);
  return self->base_url;
}

void
lam_download_set_timeout (LamDownload *self, guint seconds)
{
  g_return_if_fail (LAM_IS_DOWNLOAD (self));
  g_return_if_fail (seconds > 0);
  self->timeout = seconds;
}

const char *
lam_download_get_id (LamDownload *self)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), NULL);
  return self->id;
}

const char *
lam_download_get_title (LamDownload *self)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), NULL);
  return self->title;
}

const char *
lam_download_get_description (LamDownload *self)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), NULL);
  return self->description;
}

const char *
lam_download_get_directory (LamDownload *self)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), NULL);
  return self->directory;
}

guint64
lam_download_get_size (LamDownload *self)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), 0);

  guint64 size = 0;
  for (guint i = 0; i < self->files->len; i++) {
    const FileEntry *entry = g_ptr_array_index (self->files, i);
    if (entry->size == 0)
      return 0;
    size += entry->size;
  }
  return size;
}

gboolean
lam_download_get_running (LamDownload *self)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), FALSE);
  return self->running;
}

LamDownloadStage
lam_download_get_stage (LamDownload *self)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), LAM_DOWNLOAD_STAGE_IDLE);
  return self->shown.stage;
}

guint64
lam_download_get_bytes_done (LamDownload *self)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), 0);
  return self->shown.done;
}

guint64
lam_download_get_bytes_total (LamDownload *self)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), 0);
  return self->shown.total;
}

/* ---- files on disk ---- */

static char *
entry_path (const char *directory, const FileEntry *entry)
{
  return g_build_filename (directory, entry->name, NULL);
}

static char *
entry_part_path (const char *directory, const FileEntry *entry)
{
  g_autofree char *path = entry_path (directory, entry);
  return g_strconcat (path, ".part", NULL);
}

static gboolean
path_size (const char *path, guint64 *size)
{
  GStatBuf st;
  if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode))
    return FALSE;
  *size = (guint64) st.st_size;
  return TRUE;
}

static gboolean
members_in (const char *folder, const FileEntry *entry)
{
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    return FALSE;
  for (guint i = 0; entry->members != NULL && entry->members[i] != NULL; i++) {
    g_autofree char *member = g_build_filename (folder, entry->members[i], NULL);
    if (!g_file_test (member, G_FILE_TEST_IS_REGULAR))
      return FALSE;
  }
  return TRUE;
}

static gboolean
tar_members_present (const char *directory, const FileEntry *entry)
{
  g_autofree char *folder = g_build_filename (directory, entry->extract, NULL);
  return members_in (folder, entry);
}

/* Only a file that matched its digest takes its final name, so being there
 * is being right. */
static gboolean
entry_complete (const char *directory, const FileEntry *entry)
{
  if (entry->kind == LAM_DOWNLOAD_FILE_TAR_GZ)
    return tar_members_present (directory, entry);
  g_autofree char *path = entry_path (directory, entry);
  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

gboolean
lam_download_is_complete (LamDownload *self)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), FALSE);

  for (guint i = 0; i < self->files->len; i++)
    if (!entry_complete (self->directory, g_ptr_array_index (self->files, i)))
      return FALSE;
  return TRUE;
}

guint64
lam_download_get_bytes_present (LamDownload *self)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), 0);

  guint64 present = 0;
  for (guint i = 0; i < self->files->len; i++) {
    const FileEntry *entry = g_ptr_array_index (self->files, i);
    g_autofree char *path = entry_path (self->directory, entry);
    g_autofree char *part = entry_part_path (self->directory, entry);
    guint64 size = 0;
    if (entry_complete (self->directory, entry) || path_size (path, &size))
      present += entry->size;
    else if (path_size (part, &size))
      present += MIN (size, entry->size > 0 ? entry->size : size);
  }
  return present;
}

void
lam_download_set_system_dir (LamDownload *self, const char *dir)
{
  g_return_if_fail (LAM_IS_DOWNLOAD (self));

  if (g_strcmp0 (self->system_dir, dir) == 0)
    return;
  g_free (self->system_dir);
  self->system_dir = g_strdup (dir);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SYSTEM_DIR]);
}

const char *
lam_download_get_system_dir (LamDownload *self)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), NULL);
  return self->system_dir;
}

/* The dataset loader reads IDX files compressed or not. */
static gboolean
entry_in (const char *dir, const FileEntry *entry)
{
  if (entry->kind == LAM_DOWNLOAD_FILE_TAR_GZ) {
    g_autofree char *folder = g_build_filename (dir, entry->extract, NULL);
    return members_in (folder, entry) || members_in (dir, entry);
  }
  g_autofree char *path = entry_path (dir, entry);
  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  if (!g_str_has_suffix (path, ".gz"))
    return FALSE;
  path[strlen (path) - 3] = '\0';
  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

gboolean
lam_download_dir_has_files (LamDownload *self, const char *dir)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), FALSE);
  g_return_val_if_fail (dir != NULL, FALSE);

  for (guint i = 0; i < self->files->len; i++)
    if (!entry_in (dir, g_ptr_array_index (self->files, i)))
      return FALSE;
  return TRUE;
}

char *
lam_download_dup_installed_dir (LamDownload *self)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), NULL);

  if (self->system_dir == NULL)
    return NULL;
  g_autofree char *dir = g_build_filename (self->system_dir, self->id, NULL);
  return lam_download_dir_has_files (self, dir) ? g_steal_pointer (&dir) : NULL;
}

/* Lower-case letters and digits of a name up to " (": "Fashion-MNIST
 * (train)" and "fashion-mnist" both give "fashionmnist". */
static char *
name_key (const char *name)
{
  GString *key = g_string_new (NULL);
  const char *end = strstr (name, " (");
  for (const char *c = name; *c != '\0' && c != end; c++)
    if (g_ascii_isalnum (*c))
      g_string_append_c (key, g_ascii_tolower (*c));
  return g_string_free (key, FALSE);
}

gboolean
lam_download_is_copy (LamDownload *self, const char *dir, const char *dataset_name)
{
  g_return_val_if_fail (LAM_IS_DOWNLOAD (self), FALSE);

  if (dir == NULL || dataset_name == NULL)
    return FALSE;
  /* The loader calls Kuzushiji-MNIST "KMNIST", its id here. */
  g_autofree char *key = name_key (dataset_name);
  g_autofree char *id = name_key (self->id);
  g_autofree char *title = name_key (self->title);
  if (strcmp (key, id) != 0 && strcmp (key, title) != 0)
    return FALSE;
  return lam_download_dir_has_files (self, dir);
}

/* Deletes a folder this module made (a half-extracted tarball), without
 * following links out of it. */
static void
remove_tree (const char *path)
{
  GStatBuf st;
  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode)) {
    g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
    g_rmdir (path);
  } else {
    g_unlink (path);
  }
}

/* ---- progress: worker → main context ---- */

static void
progress_copy (Progress *dest, const Progress *src)
{
  char *file = g_strdup (src->file);
  g_free (dest->file);
  *dest = *src;
  dest->file = file;
}

static void
apply_progress (LamDownload *self, const Progress *progress)
{
  gboolean stage_changed = self->shown.stage != progress->stage;
  progress_copy (&self->shown, progress);
  if (stage_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STAGE]);
  g_signal_emit (self, signals[PROGRESS], 0, progress->file, progress->file_done,
                 progress->file_total, progress->done, progress->total);
}

/* Takes what waits, if anything; TRUE when there was something. */
static gboolean
take_pending (LamDownload *self, Progress *out)
{
  g_mutex_lock (&self->lock);
  gboolean waiting = self->pending_source != NULL;
  if (waiting) {
    progress_copy (out, &self->pending);
    g_source_destroy (self->pending_source);
    g_clear_pointer (&self->pending_source, g_source_unref);
  }
  g_mutex_unlock (&self->lock);
  return waiting;
}

static gboolean
deliver_progress (gpointer user_data)
{
  LamDownload *self = user_data;
  Progress progress = { 0 };
  if (take_pending (self, &progress))
    apply_progress (self, &progress);
  g_free (progress.file);
  return G_SOURCE_REMOVE;
}

static void
post_progress (LamDownload *self, const Progress *progress)
{
  g_mutex_lock (&self->lock);
  progress_copy (&self->pending, progress);
  if (self->pending_source == NULL) {
    GSource *source = g_timeout_source_new (PROGRESS_INTERVAL_MS);
    g_source_set_callback (source, deliver_progress, g_object_ref (self), g_object_unref);
    g_source_set_static_name (source, "[lamina] download progress");
    g_source_attach (source, self->context);
    self->pending_source = source;
  }
  g_mutex_unlock (&self->lock);
}

/* ---- the worker ---- */

typedef struct
{
  LamDownload *self; /* borrowed: the task holds a reference */
  char *directory;
  char **bases;     /* where files are fetched from, each ending in '/' */
  GPtrArray *files; /* of FileEntry, shared read-only with the object */
  guint timeout;
  guint64 *file_done;
  guint64 *file_total;
  LamDownloadStage stage;
  guint current;
} Job;

static void
job_free (Job *job)
{
  g_free (job->directory);
  g_strfreev (job->bases);
  g_ptr_array_unref (job->files);
  g_free (job->file_done);
  g_free (job->file_total);
  g_free (job);
}

static void
job_report (Job *job)
{
  const FileEntry *entry = g_ptr_array_index (job->files, job->current);
  Progress progress = { job->stage, entry->name, job->file_done[job->current],
                        job->file_total[job->current] };
  gboolean total_known = TRUE;
  for (guint i = 0; i < job->files->len; i++) {
    progress.done += job->file_done[i];
    progress.total += job->file_total[i];
    total_known = total_known && job->file_total[i] > 0;
  }
  if (!total_known)
    progress.total = 0;
  post_progress (job->self, &progress);
}

/* The digest of what the .part already holds, and its length. */
static gboolean
hash_part (const char *part, GChecksum *checksum, guint64 *length, GCancellable *cancellable,
           GError **error)
{
  *length = 0;
  g_autoptr (GFile) file = g_file_new_for_path (part);
  g_autoptr (GError) local = NULL;
  g_autoptr (GFileInputStream) in = g_file_read (file, cancellable, &local);
  if (in == NULL) {
    if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
      return TRUE;
    g_propagate_prefixed_error (error, g_steal_pointer (&local), "could not read %s: ", part);
    return FALSE;
  }
  g_autofree guint8 *buffer = g_malloc (BUFFER_SIZE);
  for (;;) {
    gssize n = g_input_stream_read (G_INPUT_STREAM (in), buffer, BUFFER_SIZE, cancellable, &local);
    if (n < 0) {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_propagate_prefixed_error (error, g_steal_pointer (&local), "could not read %s: ", part);
      return FALSE;
    }
    if (n == 0)
      return TRUE;
    g_checksum_update (checksum, buffer, n);
    *length += (guint64) n;
  }
}

static gboolean
is_unreachable_error (const GError *error)
{
  if (error->domain == G_RESOLVER_ERROR || error->domain == G_TLS_ERROR)
    return TRUE;
  if (error->domain != G_IO_ERROR)
    return FALSE;
  switch (error->code) {
  case G_IO_ERROR_CONNECTION_REFUSED:
  case G_IO_ERROR_NETWORK_UNREACHABLE:
  case G_IO_ERROR_HOST_UNREACHABLE:
  case G_IO_ERROR_HOST_NOT_FOUND:
  case G_IO_ERROR_TIMED_OUT:
  case G_IO_ERROR_NOT_CONNECTED:
  case G_IO_ERROR_PROXY_FAILED:
  case G_IO_ERROR_PROXY_AUTH_FAILED:
  case G_IO_ERROR_PROXY_NEED_AUTH:
  case G_IO_ERROR_PROXY_NOT_ALLOWED:
    return TRUE;
  default:
    return FALSE;
  }
}

/* An error from sending the request, before any answer came. */
static void
set_send_error (GError **error, GError *local, const char *host, const char *url)
{
  if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, local);
  else if (is_unreachable_error (local)) {
    g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_NETWORK,
                 "could not reach %s: %s — check the network connection", host, local->message);
    g_error_free (local);
  } else if (local->domain == SOUP_SESSION_ERROR) {
    g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_HTTP,
                 "%s gave no usable answer for %s: %s", host, url, local->message);
    g_error_free (local);
  } else {
    g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_DROPPED,
                 "the connection to %s ended before it answered for %s: %s", host, url,
                 local->message);
    g_error_free (local);
  }
}

static gboolean
finish_part (const char *part, const char *path, GError **error)
{
  if (g_rename (part, path) != 0) {
    int saved = errno;
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "could not rename %s to %s: %s",
                 part, path, g_strerror (saved));
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_digest (GChecksum *checksum, const FileEntry *entry, const char *part, const char *url,
              GError **error)
{
  const char *got = g_checksum_get_string (checksum);
  if (strcmp (got, entry->digest) == 0)
    return TRUE;
  g_unlink (part);
  g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_CHECKSUM,
               "the file downloaded from %s does not match its published checksum (expected %s, "
               "got %s); it was deleted",
               url, entry->digest, got);
  return FALSE;
}

/* One attempt at one URL. Returns TRUE when the file is in place; sets
 * *restart when the .part turned out useless and a fresh start from byte 0
 * may work. */
static gboolean
fetch_once (Job *job, SoupSession *session, GUri *uri, const char *url, gboolean *restart,
            GCancellable *cancellable, GError **error)
{
  const FileEntry *entry = g_ptr_array_index (job->files, job->current);
  g_autofree char *path = entry_path (job->directory, entry);
  g_autofree char *part = entry_part_path (job->directory, entry);
  const char *host = g_uri_get_host (uri);
  GChecksumType type = strlen (entry->digest) == 64 ? G_CHECKSUM_SHA256 : G_CHECKSUM_MD5;
  *restart = FALSE;

  g_autoptr (GChecksum) checksum = g_checksum_new (type);
  guint64 offset = 0;
  if (!hash_part (part, checksum, &offset, cancellable, error))
    return FALSE;
  job->file_done[job->current] = offset;
  job->stage = LAM_DOWNLOAD_STAGE_DOWNLOADING;
  job_report (job);

  g_autoptr (SoupMessage) msg = soup_message_new_from_uri (SOUP_METHOD_GET, uri);
  if (offset > 0)
    soup_message_headers_set_range (soup_message_get_request_headers (msg), (goffset) offset, -1);
  GError *send_error = NULL;
  g_autoptr (GInputStream) in = soup_session_send (session, msg, cancellable, &send_error);
  if (in == NULL) {
    set_send_error (error, send_error, host, url);
    return FALSE;
  }

  guint status = soup_message_get_status (msg);
  SoupMessageHeaders *headers = soup_message_get_response_headers (msg);
  guint64 total = 0; /* the whole file's length, 0 while unknown */
  gboolean append = FALSE;

  if (offset > 0 && status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE) {
    /* Nothing lies past the .part: it may be whole already. */
    g_input_stream_close (in, cancellable, NULL);
    job->stage = LAM_DOWNLOAD_STAGE_VERIFYING;
    job_report (job);
    if (strcmp (g_checksum_get_string (checksum), entry->digest) == 0)
      return finish_part (part, path, error);
    g_unlink (part);
    *restart = TRUE;
    return FALSE;
  }
  if (offset > 0 && status == SOUP_STATUS_PARTIAL_CONTENT) {
    goffset start = 0, end = 0, length = 0;
    if (!soup_message_headers_get_content_range (headers, &start, &end, &length) ||
        start != (goffset) offset) {
      g_input_stream_close (in, cancellable, NULL);
      g_unlink (part);
      *restart = TRUE;
      return FALSE;
    }
    append = TRUE;
    total = length > 0 ? (guint64) length : 0;
  } else if (status == SOUP_STATUS_OK) {
    /* A server that ignores Range sends the whole file again. */
    offset = 0;
    g_checksum_reset (checksum);
    if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
      total = (guint64) soup_message_headers_get_content_length (headers);
  } else {
    const char *reason = soup_message_get_reason_phrase (msg);
    if (reason == NULL || reason[0] == '\0')
      reason = soup_status_get_phrase (status);
    g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_HTTP,
                 "%s answered %u %s for %s", host, status, reason != NULL ? reason : "", url);
    g_input_stream_close (in, cancellable, NULL);
    return FALSE;
  }

  if (!append)
    g_unlink (part);
  g_autoptr (GFile) part_file = g_file_new_for_path (part);
  g_autoptr (GError) local = NULL;
  g_autoptr (GFileOutputStream) out = g_file_append_to (part_file, G_FILE_CREATE_NONE, NULL,
                                                        &local);
  if (out == NULL) {
    g_propagate_prefixed_error (error, g_steal_pointer (&local), "could not write %s: ", part);
    g_input_stream_close (in, cancellable, NULL);
    return FALSE;
  }

  job->file_done[job->current] = offset;
  job->file_total[job->current] = total > 0 ? total : entry->size;
  job_report (job);

  g_autofree guint8 *buffer = g_malloc (BUFFER_SIZE);
  guint64 received = offset;
  gboolean write_failed = FALSE;
  for (;;) {
    gssize n = g_input_stream_read (in, buffer, BUFFER_SIZE, cancellable, &local);
    if (n <= 0)
      break;
    if (!g_output_stream_write_all (G_OUTPUT_STREAM (out), buffer, (gsize) n, NULL, NULL,
                                    &local)) {
      write_failed = TRUE;
      break;
    }
    g_checksum_update (checksum, buffer, n);
    received += (guint64) n;
    job->file_done[job->current] = received;
    if (job->file_total[job->current] < received)
      job->file_total[job->current] = received;
    job_report (job);
  }

  /* Closed without the cancellable, so that what came is on disk for a
   * later resume even after a cancel. */
  g_autoptr (GError) close_error = NULL;
  gboolean closed = g_output_stream_close (G_OUTPUT_STREAM (out), NULL, &close_error);
  g_input_stream_close (in, cancellable, NULL);

  if (write_failed) {
    g_propagate_prefixed_error (error, g_steal_pointer (&local), "could not write %s: ", part);
    return FALSE;
  }
  if (local != NULL && g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  if (!closed) {
    g_propagate_prefixed_error (error, g_steal_pointer (&close_error), "could not write %s: ",
                                part);
    return FALSE;
  }
  /* libsoup 3.2 takes a chunked body cut between two chunks for a whole
   * one; without a length from the server, a body shorter than the
   * published size whose digest is wrong is taken for a cut too. */
  gboolean digest_ok = strcmp (g_checksum_get_string (checksum), entry->digest) == 0;
  guint64 expected = total > 0 ? total : (digest_ok ? 0 : entry->size);
  if (local != NULL || received < expected) {
    g_autofree char *of = expected > 0 ? g_strdup_printf ("%" G_GUINT64_FORMAT " bytes", expected)
                                       : g_strdup ("an unknown number of bytes");
    g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_DROPPED,
                 "the connection to %s dropped after %" G_GUINT64_FORMAT " of %s of %s%s%s%s; the "
                 "partial file is kept and the next download resumes it",
                 host, received, of, url, local != NULL ? " (" : "",
                 local != NULL ? local->message : "", local != NULL ? ")" : "");
    return FALSE;
  }

  job->stage = LAM_DOWNLOAD_STAGE_VERIFYING;
  job->file_total[job->current] = received;
  job_report (job);
  if (!check_digest (checksum, entry, part, url, error))
    return FALSE;
  return finish_part (part, path, error);
}

static gboolean
fetch_from (Job *job, SoupSession *session, const char *url, GCancellable *cancellable,
            GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GUri) uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, &local);
  if (uri == NULL || g_uri_get_host (uri) == NULL) {
    g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_NETWORK,
                 "%s is not a web address: %s", url,
                 local != NULL ? local->message : "it names no host");
    return FALSE;
  }
  /* At most one fresh start, for a .part the server cannot continue. */
  for (int attempt = 0; attempt < 2; attempt++) {
    gboolean restart = FALSE;
    if (fetch_once (job, session, uri, url, &restart, cancellable, error))
      return TRUE;
    if (!restart)
      return FALSE;
  }
  g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_HTTP,
               "%s answered for other bytes of %s than the ones asked for", g_uri_get_host (uri),
               url);
  return FALSE;
}

/* Mirrors are tried in order while they cannot be reached or answer with an
 * error status; the first mirror's error is the one shown. */
static gboolean
fetch_file (Job *job, SoupSession *session, GCancellable *cancellable, GError **error)
{
  const FileEntry *entry = g_ptr_array_index (job->files, job->current);
  g_autoptr (GError) first_error = NULL;
  for (guint i = 0; job->bases[i] != NULL; i++) {
    g_autofree char *url = g_strconcat (job->bases[i], entry->name, NULL);
    g_autoptr (GError) local = NULL;
    if (fetch_from (job, session, url, cancellable, &local))
      return TRUE;
    gboolean try_next = g_error_matches (local, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_NETWORK) ||
                        g_error_matches (local, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_HTTP);
    if (!try_next) {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
    if (first_error == NULL)
      first_error = g_steal_pointer (&local);
  }
  if (first_error == NULL)
    g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_NETWORK,
                 "no address is known for %s", entry->name);
  else
    g_propagate_error (error, g_steal_pointer (&first_error));
  return FALSE;
}

typedef void (*ExtractProgress) (const char *member, guint64 done, guint64 total,
                                 gpointer user_data);

static gboolean extract_tar_gz (const char *archive, const char *dest_dir, const char *member_dir,
                                const char *const *required, ExtractProgress progress,
                                gpointer user_data, GCancellable *cancellable, GError **error);

static void
job_extract_progress (const char *member, guint64 done, guint64 total, gpointer user_data)
{
  Job *job = user_data;
  /* Extraction has no share of the overall byte count, which stays where
   * the download left it; the file counts say how far the member is. */
  Progress progress = { LAM_DOWNLOAD_STAGE_EXTRACTING, (char *) member, done, total };
  for (guint i = 0; i < job->files->len; i++) {
    progress.done += job->file_done[i];
    progress.total += job->file_total[i];
  }
  post_progress (job->self, &progress);
}

static gboolean
extract_entry (Job *job, GCancellable *cancellable, GError **error)
{
  const FileEntry *entry = g_ptr_array_index (job->files, job->current);
  g_autofree char *path = entry_path (job->directory, entry);
  job->stage = LAM_DOWNLOAD_STAGE_EXTRACTING;
  job_report (job);
  if (!extract_tar_gz (path, job->directory, entry->extract,
                       (const char *const *) entry->members, job_extract_progress, job,
                       cancellable, error))
    return FALSE;
  /* The members are what the dataset reader uses; the tarball would only
   * double the space taken. */
  g_unlink (path);
  return TRUE;
}

/* A failed download keeps what a resume can use (g_rmdir leaves a folder
 * that holds anything); a folder it made and left empty would only stand in
 * Open Folder… as a dataset that does not open. */
static void
job_fail (Job *job, GTask *task, gboolean made_directory, GError *error)
{
  if (made_directory)
    g_rmdir (job->directory);
  g_task_return_error (task, error);
}

static void
download_thread (GTask *task, gpointer source_object, gpointer task_data,
                 GCancellable *cancellable)
{
  Job *job = task_data;

  gboolean made_directory = !g_file_test (job->directory, G_FILE_TEST_IS_DIR);
  if (g_mkdir_with_parents (job->directory, 0755) != 0) {
    int saved = errno;
    g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved),
                             "could not create the folder %s: %s", job->directory,
                             g_strerror (saved));
    return;
  }

  for (guint i = 0; i < job->files->len; i++) {
    const FileEntry *entry = g_ptr_array_index (job->files, i);
    g_autofree char *path = entry_path (job->directory, entry);
    g_autofree char *part = entry_part_path (job->directory, entry);
    guint64 size = 0;
    job->file_total[i] = entry->size;
    if (entry_complete (job->directory, entry)) {
      if (entry->kind == LAM_DOWNLOAD_FILE_PLAIN && path_size (path, &size))
        job->file_total[i] = size;
      job->file_done[i] = job->file_total[i];
    } else if (path_size (path, &size)) {
      job->file_done[i] = job->file_total[i] = size;
    } else if (path_size (part, &size)) {
      job->file_done[i] = size;
    }
  }

  g_autoptr (SoupSession) session =
    soup_session_new_with_options ("timeout", job->timeout, "idle-timeout", job->timeout,
                                   "user-agent", "Lamina/" LAMINA_VERSION " ", NULL);
  /* A .gz sent with Content-Encoding: gzip must reach the disk as it is,
   * or its digest cannot match. */
  soup_session_remove_feature_by_type (session, SOUP_TYPE_CONTENT_DECODER);

  for (guint i = 0; i < job->files->len; i++) {
    const FileEntry *entry = g_ptr_array_index (job->files, i);
    g_autofree char *path = entry_path (job->directory, entry);
    g_autoptr (GError) error = NULL;
    job->current = i;
    if (entry_complete (job->directory, entry))
      continue;
    if (g_cancellable_set_error_if_cancelled (cancellable, &error) ||
        (!g_file_test (path, G_FILE_TEST_IS_REGULAR) &&
         !fetch_file (job, session, cancellable, &error)) ||
        (entry->kind == LAM_DOWNLOAD_FILE_TAR_GZ && !extract_entry (job, cancellable, &error))) {
      job_fail (job, task, made_directory, g_steal_pointer (&error));
      return;
    }
    job->file_done[i] = job->file_total[i];
  }

  job->stage = LAM_DOWNLOAD_STAGE_DONE;
  job->current = job->files->len - 1;
  job_report (job);
  g_task_return_pointer (task, g_strdup (job->directory), g_free);
}

static void
set_running (LamDownload *self, gboolean running)
{
  if (self->running == running)
    return;
  self->running = running;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
download_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LamDownload *self = LAM_DOWNLOAD (source);
  g_autoptr (GTask) outer = user_data;

  /* The last progress lands before the caller hears the result. */
  deliver_progress (self);
  GError *error = NULL;
  char *directory = g_task_propagate_pointer (G_TASK (result), &error);
  if (directory == NULL && self->shown.stage != LAM_DOWNLOAD_STAGE_IDLE) {
    self->shown.stage = LAM_DOWNLOAD_STAGE_IDLE;
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STAGE]);
  }
  g_clear_pointer (&self->context, g_main_context_unref);
  set_running (self, FALSE);
  if (directory != NULL)
    g_task_return_pointer (outer, directory, g_free);
  else
    g_task_return_error (outer, error);
}

void
lam_download_start_async (LamDownload *self, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (LAM_IS_DOWNLOAD (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  GTask *outer = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (outer, lam_download_start_async);
  /* What happened on disk is the answer, even when a cancel came late. */
  g_task_set_check_cancellable (outer, FALSE);
  if (self->running) {
    g_task_return_new_error (outer, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_BUSY,
                             "%s is already being downloaded into %s", self->title,
                             self->directory);
    g_object_unref (outer);
    return;
  }

  Job *job = g_new0 (Job, 1);
  job->self = self;
  job->directory = g_strdup (self->directory);
  if (self->base_url != NULL)
    job->bases = g_strdupv ((char *[]){ self->base_url, NULL });
  else
    job->bases = g_strdupv (self->mirrors);
  job->files = g_ptr_array_ref (self->files);
  job->timeout = self->timeout;
  job->file_done = g_new0 (guint64, self->files->len);
  job->file_total = g_new0 (guint64, self->files->len);

  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();
  set_running (self, TRUE);

  g_autoptr (GTask) task = g_task_new (self, cancellable, download_done, outer);
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_set_name (task, "[lamina] download dataset");
  lam_ui_run_in_thread (task, download_thread);
}

char *
lam_download_finish (LamDownload *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- tarballs ---- */

typedef struct
{
  GInputStream *in;
  const char *archive;
  GCancellable *cancellable;
} TarReader;

static gboolean
tar_read_error (TarReader *reader, GError *local, GError **error)
{
  if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, local);
  else {
    g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_ARCHIVE,
                 "%s is not a readable gzip file: %s", reader->archive, local->message);
    g_error_free (local);
  }
  return FALSE;
}

static gboolean
tar_read (TarReader *reader, void *buffer, gsize size, GError **error)
{
  gsize got = 0;
  GError *local = NULL;
  if (!g_input_stream_read_all (reader->in, buffer, size, &got, reader->cancellable, &local))
    return tar_read_error (reader, local, error);
  if (got < size) {
    g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_ARCHIVE,
                 "%s ends in the middle of an entry", reader->archive);
    return FALSE;
  }
  return TRUE;
}

static gboolean
tar_skip (TarReader *reader, guint64 size, GError **error)
{
  g_autofree guint8 *buffer = g_malloc (BUFFER_SIZE);
  while (size > 0) {
    gsize chunk = (gsize) MIN (size, (guint64) BUFFER_SIZE);
    if (!tar_read (reader, buffer, chunk, error))
      return FALSE;
    size -= chunk;
  }
  return TRUE;
}

static guint64
tar_padding (guint64 size)
{
  return (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
}

/* An octal field, NUL- or space-terminated, or GNU's base-256 form. */
static gboolean
tar_number (const guint8 *field, gsize len, guint64 *value)
{
  guint64 v = 0;
  if (field[0] & 0x80) {
    if ((field[0] & 0x40) != 0)
      return FALSE; /* negative */
    v = field[0] & 0x3f;
    for (gsize i = 1; i < len; i++) {
      if (v > (G_MAXUINT64 >> 8))
        return FALSE;
      v = (v << 8) | field[i];
    }
    *value = v;
    return TRUE;
  }
  gsize i = 0;
  while (i < len && field[i] == ' ')
    i++;
  gboolean any = FALSE;
  for (; i < len && field[i] >= '0' && field[i] <= '7'; i++) {
    if (v > (G_MAXUINT64 >> 3))
      return FALSE;
    v = (v << 3) | (guint64) (field[i] - '0');
    any = TRUE;
  }
  if (i < len && field[i] != '\0' && field[i] != ' ')
    return FALSE;
  *value = v;
  return any;
}

static gboolean
tar_header_checksum_ok (const guint8 *header)
{
  guint64 stored = 0;
  if (!tar_number (header + 148, 8, &stored))
    return FALSE;
  guint64 unsigned_sum = 0;
  gint64 signed_sum = 0;
  for (int i = 0; i < TAR_BLOCK; i++) {
    guint8 byte = (i >= 148 && i < 156) ? ' ' : header[i];
    unsigned_sum += byte;
    signed_sum += (gint8) byte;
  }
  /* Some old tars summed signed chars. */
  return stored == unsigned_sum || (gint64) stored == signed_sum;
}

static char *
tar_string (const guint8 *field, gsize len)
{
  return g_strndup ((const char *) field, len);
}

/* The entry's path with "." parts and repeated slashes gone, or NULL when
 * it is absolute or has a ".." part. */
static char *
tar_safe_path (const char *name)
{
  if (name[0] == '/')
    return NULL;
  g_auto (GStrv) parts = g_strsplit (name, "/", -1);
  GString *clean = g_string_new (NULL);
  for (guint i = 0; parts[i] != NULL; i++) {
    if (parts[i][0] == '\0' || strcmp (parts[i], ".") == 0)
      continue;
    if (strcmp (parts[i], "..") == 0) {
      g_string_free (clean, TRUE);
      return NULL;
    }
    if (clean->len > 0)
      g_string_append_c (clean, '/');
    g_string_append (clean, parts[i]);
  }
  return g_string_free (clean, FALSE);
}

/* The "path" record of a pax extended header, or NULL. */
static char *
pax_path (const char *data, gsize len)
{
  gsize pos = 0;
  while (pos < len) {
    char *end = NULL;
    guint64 record = g_ascii_strtoull (data + pos, &end, 10);
    if (end == data + pos || record == 0 || record > len - pos)
      return NULL;
    const char *key = end + 1;
    const char *record_end = data + pos + record; /* at the record's '\n' + 1 */
    if (record_end - key > 5 && strncmp (key, "path=", 5) == 0)
      return g_strndup (key + 5, (gsize) (record_end - key - 5 - 1));
    pos += record;
  }
  return NULL;
}

static gboolean
tar_write_member (TarReader *reader, const char *dest, guint64 size, const char *member,
                  ExtractProgress progress, gpointer user_data, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (dest);
  if (g_mkdir_with_parents (parent, 0755) != 0) {
    int saved = errno;
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                 "could not create the folder %s: %s", parent, g_strerror (saved));
    return FALSE;
  }
  g_autoptr (GFile) file = g_file_new_for_path (dest);
  g_autoptr (GError) local = NULL;
  g_autoptr (GFileOutputStream) out =
    g_file_replace (file, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION, NULL, &local);
  if (out == NULL) {
    g_propagate_prefixed_error (error, g_steal_pointer (&local), "could not write %s: ", dest);
    return FALSE;
  }
  g_autofree guint8 *buffer = g_malloc (BUFFER_SIZE);
  guint64 left = size;
  while (left > 0) {
    gsize chunk = (gsize) MIN (left, (guint64) BUFFER_SIZE);
    if (!tar_read (reader, buffer, chunk, error))
      return FALSE;
    if (!g_output_stream_write_all (G_OUTPUT_STREAM (out), buffer, chunk, NULL, NULL, &local)) {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "could not write %s: ", dest);
      return FALSE;
    }
    left -= chunk;
    if (progress != NULL)
      progress (member, size - left, size, user_data);
  }
  if (!g_output_stream_close (G_OUTPUT_STREAM (out), NULL, &local)) {
    g_propagate_prefixed_error (error, g_steal_pointer (&local), "could not write %s: ", dest);
    return FALSE;
  }
  return TRUE;
}

static gboolean
tar_extract_into (TarReader *reader, const char *staging, const char *member_dir,
                  ExtractProgress progress, gpointer user_data, GError **error)
{
  guint8 header[TAR_BLOCK];
  g_autofree char *long_name = NULL; /* from a GNU 'L' or pax 'x' entry, for the next one */

  for (guint64 index = 0;; index++) {
    gsize got = 0;
    GError *local = NULL;
    if (!g_input_stream_read_all (reader->in, header, TAR_BLOCK, &got, reader->cancellable,
                                  &local))
      return tar_read_error (reader, local, error);
    if (got == 0 && index > 0)
      return TRUE; /* no end blocks: GNU tar accepts that too */
    if (got < TAR_BLOCK) {
      g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_ARCHIVE,
                   "%s ends in the middle of a header", reader->archive);
      return FALSE;
    }
    gboolean zero = TRUE;
    for (int i = 0; i < TAR_BLOCK && zero; i++)
      zero = header[i] == 0;
    if (zero)
      return TRUE;

    if (memcmp (header + 257, "ustar", 5) != 0) {
      g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_ARCHIVE,
                   "%s is not a ustar archive (entry %" G_GUINT64_FORMAT " has no \"ustar\" "
                   "mark)",
                   reader->archive, index + 1);
      return FALSE;
    }
    if (!tar_header_checksum_ok (header)) {
      g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_ARCHIVE,
                   "%s: the header of entry %" G_GUINT64_FORMAT " has a wrong checksum",
                   reader->archive, index + 1);
      return FALSE;
    }
    guint64 size = 0;
    if (!tar_number (header + 124, 12, &size)) {
      g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_ARCHIVE,
                   "%s: entry %" G_GUINT64_FORMAT " has an unreadable size", reader->archive,
                   index + 1);
      return FALSE;
    }
    char type = (char) header[156];

    if (type == 'L' || type == 'x') {
      if (size > TAR_MAX_LONG_NAME) {
        g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_ARCHIVE,
                     "%s: entry %" G_GUINT64_FORMAT " has a %" G_GUINT64_FORMAT
                     "-byte extended header, more than the %d allowed",
                     reader->archive, index + 1, size, TAR_MAX_LONG_NAME);
        return FALSE;
      }
      g_autofree char *data = g_malloc0 (size + 1);
      if (!tar_read (reader, data, size, error) || !tar_skip (reader, tar_padding (size), error))
        return FALSE;
      g_free (long_name);
      long_name = type == 'L' ? g_strndup (data, size) : pax_path (data, size);
      continue;
    }

    g_autofree char *name = NULL;
    if (long_name != NULL) {
      name = g_steal_pointer (&long_name);
    } else {
      g_autofree char *base = tar_string (header, 100);
      /* Only POSIX ustar ("ustar\0") has a prefix field; GNU's "ustar  "
       * keeps other things there. */
      g_autofree char *prefix = header[262] == '\0' ? tar_string (header + 345, 155) : NULL;
      name = prefix != NULL && prefix[0] != '\0' ? g_strconcat (prefix, "/", base, NULL)
                                                 : g_steal_pointer (&base);
    }
    g_autofree char *clean = tar_safe_path (name);
    if (clean == NULL) {
      g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_ARCHIVE,
                   "%s holds \"%s\", which would land outside the dataset folder; nothing was "
                   "extracted",
                   reader->archive, name);
      return FALSE;
    }

    gboolean regular = type == '0' || type == '\0' || type == '7';
    gsize prefix_len = strlen (member_dir);
    gboolean wanted = regular && strncmp (clean, member_dir, prefix_len) == 0 &&
                      clean[prefix_len] == '/' && clean[prefix_len + 1] != '\0';
    if (wanted) {
      g_autofree char *dest = g_build_filename (staging, clean + prefix_len + 1, NULL);
      if (!tar_write_member (reader, dest, size, clean, progress, user_data, error))
        return FALSE;
    } else if (!tar_skip (reader, size, error)) {
      return FALSE;
    }
    if (!tar_skip (reader, tar_padding (size), error))
      return FALSE;
  }
}

static gboolean
extract_tar_gz (const char *archive, const char *dest_dir, const char *member_dir,
                const char *const *required, ExtractProgress progress, gpointer user_data,
                GCancellable *cancellable, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (archive);
  g_autoptr (GError) local = NULL;
  g_autoptr (GFileInputStream) raw = g_file_read (file, cancellable, &local);
  if (raw == NULL) {
    g_propagate_prefixed_error (error, g_steal_pointer (&local), "could not open %s: ", archive);
    return FALSE;
  }
  g_autoptr (GZlibDecompressor) decompressor =
    g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr (GInputStream) in =
    g_converter_input_stream_new (G_INPUT_STREAM (raw), G_CONVERTER (decompressor));

  g_autofree char *target = g_build_filename (dest_dir, member_dir, NULL);
  g_autofree char *staging = g_strconcat (target, ".part", NULL);
  remove_tree (staging);
  if (g_mkdir_with_parents (staging, 0755) != 0) {
    int saved = errno;
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                 "could not create the folder %s: %s", staging, g_strerror (saved));
    return FALSE;
  }

  TarReader reader = { in, archive, cancellable };
  if (!tar_extract_into (&reader, staging, member_dir, progress, user_data, error)) {
    remove_tree (staging);
    return FALSE;
  }
  for (guint i = 0; required != NULL && required[i] != NULL; i++) {
    g_autofree char *member = g_build_filename (staging, required[i], NULL);
    if (!g_file_test (member, G_FILE_TEST_IS_REGULAR)) {
      g_set_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_ARCHIVE,
                   "%s has no %s/%s, which the dataset needs", archive, member_dir, required[i]);
      remove_tree (staging);
      return FALSE;
    }
  }
  remove_tree (target);
  if (g_rename (staging, target) != 0) {
    int saved = errno;
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                 "could not rename %s to %s: %s", staging, target, g_strerror (saved));
    remove_tree (staging);
    return FALSE;
  }
  return TRUE;
}

gboolean
lam_download_extract_tar_gz (const char *archive, const char *dest_dir, const char *member_dir,
                             const char *const *required, GCancellable *cancellable,
                             GError **error)
{
  g_return_val_if_fail (archive != NULL, FALSE);
  g_return_val_if_fail (dest_dir != NULL, FALSE);
  g_return_val_if_fail (member_dir != NULL && member_dir[0] != '\0', FALSE);
  g_return_val_if_fail (strchr (member_dir, '/') == NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return extract_tar_gz (archive, dest_dir, member_dir, required, NULL, NULL, cancellable,
                         error);
}
