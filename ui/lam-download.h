/* lam-download.h: fetches a dataset from its maintainers' mirrors into
 * g_get_user_data_dir()/lamina/datasets/<id>/ — with progress, cancel, resume
 * of a partial file, and every file checked against its published digest
 * before it takes its final name. No widgets: the dialog and the tests
 * drive it.
 *
 * Each file arrives as NAME.part and is renamed to NAME once its digest
 * matches. A dropped connection or a cancel keeps NAME.part, and the next
 * download of the same dataset resumes it with an HTTP Range request; a
 * digest that does not match deletes it. A tarball (CIFAR-10) is verified,
 * then the member folder it is fetched for is extracted beside it and the
 * tarball removed.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define LAM_DOWNLOAD_ERROR (lam_download_error_quark ())
GQuark lam_download_error_quark (void);

typedef enum
{
  LAM_DOWNLOAD_ERROR_NETWORK,  /* the host could not be reached: DNS, refused, offline, TLS */
  LAM_DOWNLOAD_ERROR_HTTP,     /* the server answered with an error status */
  LAM_DOWNLOAD_ERROR_DROPPED,  /* the connection ended before the whole file came */
  LAM_DOWNLOAD_ERROR_CHECKSUM, /* the file does not match its published digest */
  LAM_DOWNLOAD_ERROR_ARCHIVE,  /* a tarball that is malformed, unsafe or incomplete */
  LAM_DOWNLOAD_ERROR_BUSY,     /* a download of this object is already running */
} LamDownloadError;

typedef enum
{
  LAM_DOWNLOAD_STAGE_IDLE,
  LAM_DOWNLOAD_STAGE_DOWNLOADING,
  LAM_DOWNLOAD_STAGE_VERIFYING,
  LAM_DOWNLOAD_STAGE_EXTRACTING,
  LAM_DOWNLOAD_STAGE_DONE,
} LamDownloadStage;

GType lam_download_stage_get_type (void);
#define LAM_TYPE_DOWNLOAD_STAGE (lam_download_stage_get_type ())

typedef enum
{
  LAM_DOWNLOAD_FILE_PLAIN,  /* kept as it comes */
  LAM_DOWNLOAD_FILE_TAR_GZ, /* a gzip tarball: `extract` is taken out of it, then it goes */
} LamDownloadFileKind;

/* One file of a dataset as its maintainers publish it. The size stands in
 * for the server's length in progress until the server answers, and a
 * body that came without a length, stops short of it and fails the digest
 * is taken for a cut connection (kept for a resume) rather than a wrong
 * file. */
typedef struct
{
  const char *name;   /* on the mirror and in the dataset folder: "train-images-idx3-ubyte.gz" */
  const char *digest; /* lower-case hex: 32 digits are an MD5, 64 a SHA-256 */
  guint64 size;       /* published bytes, 0 when unknown: see below */
  LamDownloadFileKind kind;
  const char *extract;          /* TAR_GZ: the member folder to extract, "cifar-10-batches-bin" */
  const char *const *members;   /* TAR_GZ: files that folder must hold, NULL-terminated */
} LamDownloadFile;

/* A dataset: where it lives and what it is made of. */
typedef struct
{
  const char *id;              /* the folder's name: "fashion-mnist" */
  const char *title;           /* "Fashion-MNIST" */
  const char *description;     /* one line for the dialog */
  const char *const *mirrors;  /* base URLs ending in '/', tried in order, NULL-terminated */
  const LamDownloadFile *files;
  guint n_files;
} LamDownloadSource;

/* Where Debian's dataset packages install, a folder each named as the
 * dataset's id here: dataset-fashion-mnist puts Fashion-MNIST in
 * /usr/share/datasets/fashion-mnist. */
#define LAM_DOWNLOAD_SYSTEM_DIR "/usr/share/datasets"

/* "mnist", "fashion-mnist", "kmnist", "cifar10", NULL-terminated. */
const char *const *lam_download_list_datasets (void);
/* The table entry for an id, or NULL. */
const LamDownloadSource *lam_download_lookup (const char *dataset_id);

#define LAM_TYPE_DOWNLOAD (lam_download_get_type ())
G_DECLARE_FINAL_TYPE (LamDownload, lam_download, LAM, DOWNLOAD, GObject)

/* dataset_id is one of lam_download_list_datasets(). base_dir NULL means
 * g_get_user_data_dir()/lamina/datasets; the dataset goes to
 * base_dir/<id>/. */
LamDownload *lam_download_new (const char *dataset_id, const char *base_dir);
/* A dataset that is not in the table (the tests' fake files). The source is
 * copied. */
LamDownload *lam_download_new_custom (const LamDownloadSource *source, const char *base_dir);

/* Fetches every file from base_url + NAME instead of the mirrors (tests: a
 * local server). NULL restores the mirrors. Property "base-url". */
void lam_download_set_base_url (LamDownload *self, const char *base_url);
const char *lam_download_get_base_url (LamDownload *self);
/* Seconds a connection may stay silent before it counts as dropped (60 by
 * default). */
void lam_download_set_timeout (LamDownload *self, guint seconds);

const char *lam_download_get_id (LamDownload *self);
const char *lam_download_get_title (LamDownload *self);
const char *lam_download_get_description (LamDownload *self);
/* The dataset folder, base_dir/<id> (property "directory"). */
const char *lam_download_get_directory (LamDownload *self);
/* The sum of the published sizes (0 when one is unknown). */
guint64 lam_download_get_size (LamDownload *self);

/* On disk, now: TRUE when every file (or a tarball's members) is there
 * under its final name. */
gboolean lam_download_is_complete (LamDownload *self);
/* Bytes already on disk towards get_size(): finished files at their
 * published size plus the .part files. */
guint64 lam_download_get_bytes_present (LamDownload *self);

/* Copies that need no download. The system folder is where installed
 * copies are looked for, as system_dir/<id> (property "system-dir",
 * LAM_DOWNLOAD_SYSTEM_DIR by default, NULL for nowhere).
 * dir_has_files: dir holds every file of the dataset by name, each as
 * published or uncompressed (NAME without ".gz"), or a tarball's member
 * folder (inside dir, or dir being it) with its members. Names only: a
 * distribution may compress the files anew (Debian's Fashion-MNIST does),
 * so their digests are not the published ones.
 * dup_installed_dir: system_dir/<id> when it has the files, else NULL.
 * is_copy: whether a folder a project has open, which the dataset loader
 * named dataset_name ("Fashion-MNIST (train)"), is this dataset: the
 * name is this one's (MNIST, Fashion-MNIST and KMNIST share their files'
 * names) and the folder has the files. */
void lam_download_set_system_dir (LamDownload *self, const char *dir);
const char *lam_download_get_system_dir (LamDownload *self);
gboolean lam_download_dir_has_files (LamDownload *self, const char *dir);
char *lam_download_dup_installed_dir (LamDownload *self);
gboolean lam_download_is_copy (LamDownload *self, const char *dir, const char *dataset_name);

/* Downloads what is missing, on a worker thread. Progress comes as the
 * "progress" signal on the thread-default main context of the caller,
 * coalesced to a few dozen a second:
 *   void progress (LamDownload *, const char *file, guint64 file_done,
 *                  guint64 file_total, guint64 done, guint64 total)
 * with file_total and total 0 while unknown. The "stage" and "running"
 * properties follow it. A second start while one runs fails with
 * LAM_DOWNLOAD_ERROR_BUSY. */
void lam_download_start_async (LamDownload *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
/* The dataset folder (owned), or NULL with the error. A cancel gives
 * G_IO_ERROR_CANCELLED. */
char *lam_download_finish (LamDownload *self, GAsyncResult *result, GError **error);

gboolean lam_download_get_running (LamDownload *self);
LamDownloadStage lam_download_get_stage (LamDownload *self);
/* The newest progress delivered on the main context. */
guint64 lam_download_get_bytes_done (LamDownload *self);
guint64 lam_download_get_bytes_total (LamDownload *self);

/* Takes the regular files under `member_dir`/ out of a gzip-compressed ustar
 * archive into dest_dir/`member_dir`/, which appears only once everything
 * is out (it is built as `member_dir`.part and renamed). Refuses the whole
 * archive when any entry's path is absolute or climbs out with "..";
 * links, devices and everything outside member_dir are skipped, never
 * created. required (NULL-terminated, may be NULL) names files that must
 * be among those extracted. */
gboolean lam_download_extract_tar_gz (const char *archive, const char *dest_dir,
                                      const char *member_dir, const char *const *required,
                                      GCancellable *cancellable, GError **error);

G_END_DECLS
