/* The download engine against a SoupServer on 127.0.0.1 that serves fake
 * dataset files and misbehaves on request: ranges, truncated bodies,
 * dropped connections, stalls, 404s. Nothing here reaches another host.
 * The dialog cases run only when a display is there. */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <libsoup/soup.h>
#include <string.h>

#include "lam-download-dialog.h"
#include "lam-download.h"
#include "lam-session.h"
#include "lam-ui-util.h"

#define WAIT_MS 20000

typedef enum
{
  SERVE_NORMAL,       /* the whole file, or the range asked for */
  SERVE_IGNORE_RANGE, /* always 200 and the whole file */
  SERVE_TRUNCATE,     /* Content-Length of the whole file, half of it, then close */
  SERVE_DROP_CHUNKED, /* chunked, half of the file, then close without the last chunk */
  SERVE_STALL,        /* Content-Length of the whole file, half of it, then silence */
} ServeMode;

typedef struct
{
  SoupServer *server;
  char *base_url; /* "http://127.0.0.1:PORT/" */
  GHashTable *files; /* name → GBytes */
  ServeMode mode;
  gboolean misbehave_once; /* back to SERVE_NORMAL after one misbehaving answer */
  guint requests;
  GPtrArray *ranges;   /* the Range header of each request, "" when none */
  GPtrArray *stalled;  /* SoupServerMessage, ref'd */
  gboolean stall_reached;
  char *tmp; /* a fresh folder per test */
} Fixture;

/* ---- the server ---- */

typedef struct
{
  Fixture *fixture;
  SoupServerMessage *msg; /* ref'd */
  gsize written;
  gsize cut_at;
  gboolean close;
} Cut;

static gboolean
close_connection (gpointer data)
{
  SoupServerMessage *msg = data;
  g_autoptr (GIOStream) stream = soup_server_message_steal_connection (msg);
  if (stream != NULL)
    g_io_stream_close (stream, NULL, NULL);
  return G_SOURCE_REMOVE;
}

static void
cut_wrote_body_data (SoupServerMessage *msg, guint chunk_size, gpointer data)
{
  Cut *cut = data;
  cut->written += chunk_size;
  if (cut->written < cut->cut_at)
    return;
  g_signal_handlers_disconnect_by_data (msg, cut);
  if (cut->close) {
    /* Stealing inside the signal would pull the connection from under the
     * writer that emits it. */
    g_idle_add_full (G_PRIORITY_DEFAULT, close_connection, g_object_ref (msg), g_object_unref);
  } else {
    g_ptr_array_add (cut->fixture->stalled, g_object_ref (msg));
    cut->fixture->stall_reached = TRUE;
  }
  g_object_unref (cut->msg);
  g_free (cut);
}

/* "bytes=N-" → N, or -1. */
static gint64
parse_range_start (const char *range)
{
  if (range == NULL || !g_str_has_prefix (range, "bytes="))
    return -1;
  char *end = NULL;
  guint64 start = g_ascii_strtoull (range + 6, &end, 10);
  if (end == range + 6 || *end != '-' || end[1] != '\0')
    return -1;
  return (gint64) start;
}

static void
handle_request (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                gpointer data)
{
  Fixture *fixture = data;
  fixture->requests++;
  SoupMessageHeaders *request_headers = soup_server_message_get_request_headers (msg);
  const char *range = soup_message_headers_get_one (request_headers, "Range");
  g_ptr_array_add (fixture->ranges, g_strdup (range != NULL ? range : ""));
  gint64 start = parse_range_start (range);
  /* The server's own partial-GET support must not answer for the test. */
  soup_message_headers_remove (request_headers, "Range");

  GBytes *bytes = g_hash_table_lookup (fixture->files, path + 1);
  if (bytes == NULL) {
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
    return;
  }
  gsize size = 0;
  const guint8 *content = g_bytes_get_data (bytes, &size);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  SoupMessageBody *body = soup_server_message_get_response_body (msg);
  ServeMode mode = fixture->mode;
  if (fixture->misbehave_once && mode != SERVE_NORMAL)
    fixture->mode = SERVE_NORMAL;

  if (mode == SERVE_NORMAL && start >= 0) {
    if ((gsize) start >= size) {
      soup_server_message_set_status (msg, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE, NULL);
      g_autofree char *value = g_strdup_printf ("bytes */%" G_GSIZE_FORMAT, size);
      soup_message_headers_replace (headers, "Content-Range", value);
      return;
    }
    soup_server_message_set_status (msg, SOUP_STATUS_PARTIAL_CONTENT, NULL);
    soup_message_headers_set_content_range (headers, start, (goffset) size - 1, (goffset) size);
    soup_message_body_append (body, SOUP_MEMORY_COPY, content + start, size - (gsize) start);
    return;
  }
  if (mode == SERVE_NORMAL || mode == SERVE_IGNORE_RANGE) {
    soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
    soup_message_body_append (body, SOUP_MEMORY_COPY, content, size);
    return;
  }

  /* Half the file, and the body left open: the server waits for more. */
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  if (mode == SERVE_DROP_CHUNKED)
    soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  else
    soup_message_headers_set_content_length (headers, (goffset) size);
  Cut *cut = g_new0 (Cut, 1);
  cut->fixture = fixture;
  cut->msg = g_object_ref (msg);
  cut->cut_at = size / 2;
  cut->close = mode != SERVE_STALL;
  soup_message_body_append (body, SOUP_MEMORY_COPY, content, size / 2);
  g_signal_connect (msg, "wrote-body-data", G_CALLBACK (cut_wrote_body_data), cut);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  fixture->files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_bytes_unref);
  fixture->ranges = g_ptr_array_new_with_free_func (g_free);
  fixture->stalled = g_ptr_array_new_with_free_func (g_object_unref);
  fixture->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (fixture->server, NULL, handle_request, fixture, NULL);
  g_assert_true (soup_server_listen_local (fixture->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY,
                                           &error));
  g_assert_no_error (error);
  GSList *uris = soup_server_get_uris (fixture->server);
  g_assert_nonnull (uris);
  GUri *uri = uris->data;
  g_assert_cmpstr (g_uri_get_host (uri), ==, "127.0.0.1");
  fixture->base_url = g_strdup_printf ("http://127.0.0.1:%d/", g_uri_get_port (uri));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  fixture->tmp = g_dir_make_tmp ("lamina-download-XXXXXX", &error);
  g_assert_no_error (error);
}

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

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  /* Stalled answers end with the server's connections. */
  soup_server_disconnect (fixture->server);
  g_ptr_array_unref (fixture->stalled);
  g_object_unref (fixture->server);
  /* Let the closed connections' sources run before the next server. */
  for (int i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  g_hash_table_unref (fixture->files);
  g_ptr_array_unref (fixture->ranges);
  g_free (fixture->base_url);
  remove_tree (fixture->tmp);
  g_free (fixture->tmp);
}

/* ---- helpers ---- */

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the default main context until *flag, or fails after ms. */
static void
wait_until (gboolean *flag, guint ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (ms, set_flag, &timed_out);
  while (!*flag && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  g_assert_false (timed_out);
}

static GBytes *
random_bytes (gsize size, guint32 seed)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  guint8 *data = g_malloc (size);
  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) g_rand_int_range (rng, 0, 256);
  return g_bytes_new_take (data, size);
}

static char *
digest_of (GChecksumType type, GBytes *bytes)
{
  return g_compute_checksum_for_bytes (type, bytes);
}

/* One file served and described: its table entry owns nothing, the strings
 * live in the Served. */
typedef struct
{
  char *name;
  char *digest;
  GBytes *bytes;
} Served;

static void
served_clear (Served *served)
{
  g_free (served->name);
  g_free (served->digest);
  g_bytes_unref (served->bytes);
}

static void
serve (Fixture *fixture, Served *served, const char *name, GBytes *bytes, GChecksumType type)
{
  served->name = g_strdup (name);
  served->bytes = g_bytes_ref (bytes);
  served->digest = digest_of (type, bytes);
  g_hash_table_replace (fixture->files, g_strdup (name), g_bytes_ref (bytes));
}

static LamDownload *
new_download (Fixture *fixture, const char *id, Served *served, guint n, LamDownloadFile *files)
{
  for (guint i = 0; i < n; i++)
    files[i] = (LamDownloadFile){ served[i].name, served[i].digest,
                                  g_bytes_get_size (served[i].bytes) };
  static const char *const no_mirrors[] = { NULL };
  LamDownloadSource source = { id, id, "fake files served by the test", no_mirrors, files, n };
  LamDownload *download = lam_download_new_custom (&source, fixture->tmp);
  g_assert_nonnull (download);
  lam_download_set_base_url (download, fixture->base_url);
  lam_download_set_timeout (download, 10);
  return download;
}

typedef struct
{
  gboolean done;
  char *directory;
  GError *error;
  /* progress seen */
  guint n_progress;
  guint64 last_done;
  guint64 last_total;
  guint64 first_done;
  gboolean went_back;
  GCancellable *cancel_on_progress;
} Run;

static void
run_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Run *run = data;
  run->directory = lam_download_finish (LAM_DOWNLOAD (source), result, &run->error);
  run->done = TRUE;
}

static void
run_progress (LamDownload *download, const char *file, guint64 file_done, guint64 file_total,
              guint64 done, guint64 total, gpointer data)
{
  Run *run = data;
  g_assert_nonnull (file);
  if (run->n_progress == 0)
    run->first_done = done;
  else if (done < run->last_done)
    run->went_back = TRUE;
  run->n_progress++;
  run->last_done = done;
  run->last_total = total;
  if (file_total > 0)
    g_assert_cmpuint (file_done, <=, file_total);
  if (run->cancel_on_progress != NULL && done > 0)
    g_cancellable_cancel (run->cancel_on_progress);
}

static void
run_clear (Run *run)
{
  g_free (run->directory);
  g_clear_error (&run->error);
  memset (run, 0, sizeof *run);
}

static void
run_download (LamDownload *download, GCancellable *cancellable, Run *run)
{
  gulong id = g_signal_connect (download, "progress", G_CALLBACK (run_progress), run);
  lam_download_start_async (download, cancellable, run_done, run);
  g_assert_true (lam_download_get_running (download));
  wait_until (&run->done, WAIT_MS);
  g_signal_handler_disconnect (download, id);
  g_assert_false (lam_download_get_running (download));
}

static void
assert_file_is (const char *path, GBytes *expected)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  gsize expected_length = 0;
  const void *expected_data = g_bytes_get_data (expected, &expected_length);
  g_assert_cmpmem (contents, length, expected_data, expected_length);
}

static guint64
file_size (const char *path)
{
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return (guint64) st.st_size;
}

static void
write_part (const char *dir, const char *name, GBytes *bytes, gsize length)
{
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_autofree char *part_name = g_strconcat (name, ".part", NULL);
  g_autofree char *part = g_build_filename (dir, part_name, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (part, g_bytes_get_data (bytes, NULL), (gssize) length, &error);
  g_assert_no_error (error);
}

/* ---- downloads ---- */

static void
test_good (Fixture *fixture, gconstpointer data)
{
  Served served[3];
  g_autoptr (GBytes) big = random_bytes (300 * 1024, 1);
  g_autoptr (GBytes) small = random_bytes (1000, 2);
  g_autoptr (GBytes) tiny = random_bytes (7, 3);
  serve (fixture, &served[0], "train-images-idx3-ubyte.gz", big, G_CHECKSUM_MD5);
  serve (fixture, &served[1], "train-labels-idx1-ubyte.gz", small, G_CHECKSUM_SHA256);
  serve (fixture, &served[2], "t10k-labels-idx1-ubyte.gz", tiny, G_CHECKSUM_MD5);
  LamDownloadFile files[3];
  g_autoptr (LamDownload) download = new_download (fixture, "good", served, 3, files);
  g_autofree char *expected_dir = g_build_filename (fixture->tmp, "good", NULL);
  g_assert_cmpstr (lam_download_get_directory (download), ==, expected_dir);
  g_assert_false (lam_download_is_complete (download));
  g_assert_cmpuint (lam_download_get_size (download), ==, 300 * 1024 + 1000 + 7);

  Run run = { 0 };
  run_download (download, NULL, &run);
  g_assert_no_error (run.error);
  g_assert_cmpstr (run.directory, ==, expected_dir);
  g_assert_cmpuint (fixture->requests, ==, 3);
  for (guint i = 0; i < 3; i++) {
    g_autofree char *path = g_build_filename (expected_dir, served[i].name, NULL);
    g_autofree char *part = g_strconcat (path, ".part", NULL);
    assert_file_is (path, served[i].bytes);
    g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
    g_assert_cmpstr (g_ptr_array_index (fixture->ranges, i), ==, "");
  }
  g_assert_cmpuint (run.n_progress, >, 0);
  g_assert_false (run.went_back);
  g_assert_cmpuint (run.last_done, ==, 300 * 1024 + 1000 + 7);
  g_assert_cmpuint (run.last_total, ==, run.last_done);
  g_assert_cmpint (lam_download_get_stage (download), ==, LAM_DOWNLOAD_STAGE_DONE);
  g_assert_true (lam_download_is_complete (download));
  g_assert_cmpuint (lam_download_get_bytes_present (download), ==, 300 * 1024 + 1000 + 7);
  run_clear (&run);

  /* Done is done: no second request. */
  run_download (download, NULL, &run);
  g_assert_no_error (run.error);
  g_assert_cmpstr (run.directory, ==, expected_dir);
  g_assert_cmpuint (fixture->requests, ==, 3);
  run_clear (&run);

  for (guint i = 0; i < 3; i++)
    served_clear (&served[i]);
}

static void
test_resume_range (Fixture *fixture, gconstpointer data)
{
  Served served[1];
  g_autoptr (GBytes) bytes = random_bytes (200 * 1024, 4);
  serve (fixture, &served[0], "train-images-idx3-ubyte.gz", bytes, G_CHECKSUM_MD5);
  LamDownloadFile files[1];
  g_autoptr (LamDownload) download = new_download (fixture, "resume", served, 1, files);
  const char *dir = lam_download_get_directory (download);
  write_part (dir, served[0].name, bytes, 100 * 1024);
  g_assert_cmpuint (lam_download_get_bytes_present (download), ==, 100 * 1024);

  Run run = { 0 };
  run_download (download, NULL, &run);
  g_assert_no_error (run.error);
  g_assert_cmpuint (fixture->requests, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->ranges, 0), ==, "bytes=102400-");
  g_autofree char *path = g_build_filename (dir, served[0].name, NULL);
  g_autofree char *part = g_strconcat (path, ".part", NULL);
  assert_file_is (path, bytes);
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  /* Progress starts from what the .part held. */
  g_assert_cmpuint (run.first_done, >=, 100 * 1024);
  run_clear (&run);
  served_clear (&served[0]);
}

static void
test_resume_whole_part (Fixture *fixture, gconstpointer data)
{
  Served served[1];
  g_autoptr (GBytes) bytes = random_bytes (5000, 5);
  serve (fixture, &served[0], "t10k-images-idx3-ubyte.gz", bytes, G_CHECKSUM_SHA256);
  LamDownloadFile files[1];
  g_autoptr (LamDownload) download = new_download (fixture, "whole", served, 1, files);
  const char *dir = lam_download_get_directory (download);
  write_part (dir, served[0].name, bytes, 5000);

  Run run = { 0 };
  run_download (download, NULL, &run);
  g_assert_no_error (run.error);
  g_assert_cmpuint (fixture->requests, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->ranges, 0), ==, "bytes=5000-");
  g_autofree char *path = g_build_filename (dir, served[0].name, NULL);
  assert_file_is (path, bytes);
  run_clear (&run);
  served_clear (&served[0]);
}

static void
test_resume_range_ignored (Fixture *fixture, gconstpointer data)
{
  Served served[1];
  g_autoptr (GBytes) bytes = random_bytes (50000, 6);
  serve (fixture, &served[0], "train-labels-idx1-ubyte.gz", bytes, G_CHECKSUM_MD5);
  LamDownloadFile files[1];
  g_autoptr (LamDownload) download = new_download (fixture, "ignored", served, 1, files);
  const char *dir = lam_download_get_directory (download);
  /* A .part whose bytes are not the file's: the 200 must replace it. */
  g_autoptr (GBytes) other = random_bytes (20000, 7);
  write_part (dir, served[0].name, other, 20000);
  fixture->mode = SERVE_IGNORE_RANGE;

  Run run = { 0 };
  run_download (download, NULL, &run);
  g_assert_no_error (run.error);
  g_assert_cmpstr (g_ptr_array_index (fixture->ranges, 0), ==, "bytes=20000-");
  g_autofree char *path = g_build_filename (dir, served[0].name, NULL);
  assert_file_is (path, bytes);
  run_clear (&run);
  served_clear (&served[0]);
}

/* Fails once with the server misbehaving, keeps the half, then resumes. */
static void
check_cut_then_resume (Fixture *fixture, ServeMode mode, const char *id)
{
  Served served[1];
  g_autoptr (GBytes) bytes = random_bytes (256 * 1024, 8);
  serve (fixture, &served[0], "train-images-idx3-ubyte.gz", bytes, G_CHECKSUM_MD5);
  LamDownloadFile files[1];
  g_autoptr (LamDownload) download = new_download (fixture, id, served, 1, files);
  const char *dir = lam_download_get_directory (download);
  g_autofree char *path = g_build_filename (dir, served[0].name, NULL);
  g_autofree char *part = g_strconcat (path, ".part", NULL);
  fixture->mode = mode;
  fixture->misbehave_once = TRUE;

  Run run = { 0 };
  run_download (download, NULL, &run);
  g_assert_error (run.error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_DROPPED);
  g_test_message ("%s", run.error->message);
  g_assert_nonnull (strstr (run.error->message, "127.0.0.1"));
  g_assert_nonnull (strstr (run.error->message, "partial file is kept"));
  g_assert_null (run.directory);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (part, G_FILE_TEST_IS_REGULAR));
  guint64 kept = file_size (part);
  g_assert_cmpuint (kept, >, 0);
  g_assert_cmpuint (kept, <=, 128 * 1024);
  g_assert_false (lam_download_is_complete (download));
  g_assert_cmpint (lam_download_get_stage (download), ==, LAM_DOWNLOAD_STAGE_IDLE);
  run_clear (&run);

  run_download (download, NULL, &run);
  g_assert_no_error (run.error);
  g_assert_cmpuint (fixture->requests, ==, 2);
  g_autofree char *expected_range = g_strdup_printf ("bytes=%" G_GUINT64_FORMAT "-", kept);
  g_assert_cmpstr (g_ptr_array_index (fixture->ranges, 1), ==, expected_range);
  assert_file_is (path, bytes);
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  run_clear (&run);
  served_clear (&served[0]);
}

static void
test_truncated (Fixture *fixture, gconstpointer data)
{
  check_cut_then_resume (fixture, SERVE_TRUNCATE, "truncated");
}

static void
test_dropped (Fixture *fixture, gconstpointer data)
{
  check_cut_then_resume (fixture, SERVE_DROP_CHUNKED, "dropped");
}

static void
test_checksum (Fixture *fixture, gconstpointer data)
{
  Served served[1];
  g_autoptr (GBytes) bytes = random_bytes (10000, 9);
  serve (fixture, &served[0], "t10k-images-idx3-ubyte.gz", bytes, G_CHECKSUM_MD5);
  /* The table promises other bytes than the server sends. */
  g_autoptr (GBytes) promised = random_bytes (10000, 10);
  g_autofree char *got = g_steal_pointer (&served[0].digest);
  served[0].digest = digest_of (G_CHECKSUM_MD5, promised);
  LamDownloadFile files[1];
  g_autoptr (LamDownload) download = new_download (fixture, "checksum", served, 1, files);
  const char *dir = lam_download_get_directory (download);

  Run run = { 0 };
  run_download (download, NULL, &run);
  g_assert_error (run.error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_CHECKSUM);
  g_test_message ("%s", run.error->message);
  g_autofree char *url = g_strconcat (fixture->base_url, served[0].name, NULL);
  g_autofree char *expected_text = g_strdup_printf (
    "the file downloaded from %s does not match its published checksum (expected %s, got %s)",
    url, served[0].digest, got);
  g_assert_true (g_str_has_prefix (run.error->message, expected_text));
  g_autofree char *path = g_build_filename (dir, served[0].name, NULL);
  g_autofree char *part = g_strconcat (path, ".part", NULL);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  run_clear (&run);
  served_clear (&served[0]);
}

static void
test_not_found (Fixture *fixture, gconstpointer data)
{
  Served served[1];
  g_autoptr (GBytes) bytes = random_bytes (100, 11);
  serve (fixture, &served[0], "train-images-idx3-ubyte.gz", bytes, G_CHECKSUM_MD5);
  g_hash_table_remove_all (fixture->files);
  LamDownloadFile files[1];
  g_autoptr (LamDownload) download = new_download (fixture, "missing", served, 1, files);

  Run run = { 0 };
  run_download (download, NULL, &run);
  g_assert_error (run.error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_HTTP);
  g_test_message ("%s", run.error->message);
  g_assert_nonnull (strstr (run.error->message, "404 Not Found"));
  g_assert_nonnull (strstr (run.error->message, "train-images-idx3-ubyte.gz"));
  g_autofree char *part =
    g_build_filename (lam_download_get_directory (download), "train-images-idx3-ubyte.gz.part",
                      NULL);
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  run_clear (&run);
  served_clear (&served[0]);
}

/* A download that failed before any byte of the dataset was kept leaves
 * no empty dataset folder behind, which Open Folder… would offer as a
 * dataset that does not open; a folder that was there before stays. */
static void
test_failure_leaves_no_folder (Fixture *fixture, gconstpointer data)
{
  Served served[1];
  g_autoptr (GBytes) bytes = random_bytes (1000, 21);
  serve (fixture, &served[0], "train-images-idx3-ubyte.gz", bytes, G_CHECKSUM_MD5);
  g_hash_table_remove_all (fixture->files);
  LamDownloadFile files[1];
  g_autoptr (LamDownload) missing = new_download (fixture, "missing", served, 1, files);
  Run run = { 0 };
  run_download (missing, NULL, &run);
  g_assert_error (run.error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_HTTP);
  g_assert_false (g_file_test (lam_download_get_directory (missing), G_FILE_TEST_EXISTS));
  run_clear (&run);

  /* Bytes that do not match the digest are deleted, and the folder with
   * them. */
  g_hash_table_insert (fixture->files, g_strdup (served[0].name), random_bytes (1000, 22));
  g_autoptr (LamDownload) wrong = new_download (fixture, "wrong", served, 1, files);
  run_download (wrong, NULL, &run);
  g_assert_error (run.error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_CHECKSUM);
  g_assert_false (g_file_test (lam_download_get_directory (wrong), G_FILE_TEST_EXISTS));
  run_clear (&run);

  /* A folder made beforehand is the person's: it stays. */
  g_autoptr (LamDownload) made = new_download (fixture, "made", served, 1, files);
  const char *dir = lam_download_get_directory (made);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  run_download (made, NULL, &run);
  g_assert_error (run.error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_CHECKSUM);
  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
  run_clear (&run);
  served_clear (&served[0]);
}

static void
test_cancel (Fixture *fixture, gconstpointer data)
{
  Served served[1];
  g_autoptr (GBytes) bytes = random_bytes (256 * 1024, 12);
  serve (fixture, &served[0], "train-images-idx3-ubyte.gz", bytes, G_CHECKSUM_MD5);
  LamDownloadFile files[1];
  g_autoptr (LamDownload) download = new_download (fixture, "cancel", served, 1, files);
  const char *dir = lam_download_get_directory (download);
  g_autofree char *path = g_build_filename (dir, served[0].name, NULL);
  g_autofree char *part = g_strconcat (path, ".part", NULL);
  fixture->mode = SERVE_STALL;
  fixture->misbehave_once = TRUE;

  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Run run = { 0 };
  run.cancel_on_progress = cancellable;
  run_download (download, cancellable, &run);
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (fixture->stall_reached);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (part, G_FILE_TEST_IS_REGULAR));
  guint64 kept = file_size (part);
  g_assert_cmpuint (kept, >, 0);
  g_assert_cmpuint (kept, <=, 128 * 1024);
  run_clear (&run);

  run_download (download, NULL, &run);
  g_assert_no_error (run.error);
  g_autofree char *expected_range = g_strdup_printf ("bytes=%" G_GUINT64_FORMAT "-", kept);
  g_assert_cmpstr (g_ptr_array_index (fixture->ranges, 1), ==, expected_range);
  assert_file_is (path, bytes);
  run_clear (&run);
  served_clear (&served[0]);
}

static void
test_busy (Fixture *fixture, gconstpointer data)
{
  Served served[1];
  g_autoptr (GBytes) bytes = random_bytes (64 * 1024, 13);
  serve (fixture, &served[0], "train-images-idx3-ubyte.gz", bytes, G_CHECKSUM_MD5);
  LamDownloadFile files[1];
  g_autoptr (LamDownload) download = new_download (fixture, "busy", served, 1, files);
  fixture->mode = SERVE_STALL;

  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Run run = { 0 };
  lam_download_start_async (download, cancellable, run_done, &run);
  wait_until (&fixture->stall_reached, WAIT_MS);
  Run second = { 0 };
  lam_download_start_async (download, NULL, run_done, &second);
  wait_until (&second.done, WAIT_MS);
  g_assert_error (second.error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_BUSY);
  g_assert_false (run.done);
  g_cancellable_cancel (cancellable);
  wait_until (&run.done, WAIT_MS);
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  run_clear (&run);
  run_clear (&second);
  served_clear (&served[0]);
}

static void
test_refused (Fixture *fixture, gconstpointer data)
{
  /* A port that was free a moment ago and has nobody listening. */
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) socket =
    g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_assert_true (g_socket_bind (socket, any, FALSE, &error));
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (socket, NULL);

  Served served[1];
  g_autoptr (GBytes) bytes = random_bytes (100, 14);
  serve (fixture, &served[0], "train-images-idx3-ubyte.gz", bytes, G_CHECKSUM_MD5);
  LamDownloadFile files[1];
  g_autoptr (LamDownload) download = new_download (fixture, "refused", served, 1, files);
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/", port);
  lam_download_set_base_url (download, url);

  Run run = { 0 };
  run_download (download, NULL, &run);
  g_assert_error (run.error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_NETWORK);
  g_test_message ("%s", run.error->message);
  g_assert_true (g_str_has_prefix (run.error->message, "could not reach 127.0.0.1: "));
  g_assert_true (g_str_has_suffix (run.error->message, " — check the network connection"));
  g_assert_cmpuint (fixture->requests, ==, 0);
  run_clear (&run);
  served_clear (&served[0]);
}

/* The real table, with every file fetched from the test's server: the fake
 * bytes cannot match MNIST's published digests. */
static void
test_table_with_base_url (Fixture *fixture, gconstpointer data)
{
  const char *const *ids = lam_download_list_datasets ();
  g_assert_cmpuint (g_strv_length ((char **) ids), ==, 4);
  for (guint i = 0; ids[i] != NULL; i++) {
    const LamDownloadSource *source = lam_download_lookup (ids[i]);
    g_assert_nonnull (source);
    g_assert_cmpstr (source->id, ==, ids[i]);
    g_assert_cmpuint (source->n_files, >, 0);
    for (guint j = 0; j < source->n_files; j++) {
      gsize len = strlen (source->files[j].digest);
      g_assert_true (len == 32 || len == 64);
    }
    g_autoptr (LamDownload) download = lam_download_new (ids[i], fixture->tmp);
    g_autofree char *dir = g_build_filename (fixture->tmp, ids[i], NULL);
    g_assert_cmpstr (lam_download_get_directory (download), ==, dir);
    g_assert_cmpuint (lam_download_get_size (download), >, 0);
    g_assert_false (lam_download_is_complete (download));
  }
  g_assert_null (lam_download_lookup ("emnist"));

  g_autoptr (GBytes) bytes = random_bytes (3000, 15);
  g_hash_table_replace (fixture->files, g_strdup ("train-images-idx3-ubyte.gz"),
                        g_bytes_ref (bytes));
  g_autoptr (LamDownload) download = lam_download_new ("mnist", fixture->tmp);
  lam_download_set_base_url (download, fixture->base_url);
  lam_download_set_timeout (download, 10);
  Run run = { 0 };
  run_download (download, NULL, &run);
  g_assert_error (run.error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_CHECKSUM);
  g_assert_nonnull (strstr (run.error->message, "expected f68b3c2dcbeaaa9fbdd348bbdeb94873"));
  g_assert_cmpuint (fixture->requests, ==, 1);
  run_clear (&run);
}

/* ---- tarballs ---- */

static void
tar_add (GByteArray *tar, const char *name, char type, GBytes *bytes)
{
  guint8 header[512] = { 0 };
  gsize size = bytes != NULL ? g_bytes_get_size (bytes) : 0;
  g_assert_cmpuint (strlen (name), <, 100);
  memcpy (header, name, strlen (name));
  memcpy (header + 100, "0000644", 8);
  memcpy (header + 108, "0000000", 8);
  memcpy (header + 116, "0000000", 8);
  g_snprintf ((char *) header + 124, 12, "%011" G_GINT64_MODIFIER "o", (guint64) size);
  g_snprintf ((char *) header + 136, 12, "%011o", 0u);
  memset (header + 148, ' ', 8);
  header[156] = (guint8) type;
  if (type == '2')
    memcpy (header + 157, "/etc/passwd", 11);
  memcpy (header + 257, "ustar", 6);
  memcpy (header + 263, "00", 2);
  guint sum = 0;
  for (int i = 0; i < 512; i++)
    sum += header[i];
  g_snprintf ((char *) header + 148, 8, "%06o", sum);
  header[155] = ' ';
  g_byte_array_append (tar, header, 512);
  if (size > 0) {
    g_byte_array_append (tar, g_bytes_get_data (bytes, NULL), size);
    guint8 zeros[512] = { 0 };
    g_byte_array_append (tar, zeros, (512 - size % 512) % 512);
  }
}

static GBytes *
tar_finish_gz (GByteArray *tar)
{
  guint8 zeros[1024] = { 0 };
  g_byte_array_append (tar, zeros, sizeof zeros);
  g_autoptr (GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
  g_autoptr (GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr (GOutputStream) out = g_converter_output_stream_new (memory, G_CONVERTER (compressor));
  g_autoptr (GError) error = NULL;
  g_assert_true (g_output_stream_write_all (out, tar->data, tar->len, NULL, NULL, &error));
  g_assert_true (g_output_stream_close (out, NULL, &error));
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
}

static void
test_tar_dataset (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) batch1 = random_bytes (3073 * 20, 16);
  g_autoptr (GBytes) batch2 = random_bytes (3073 * 7, 17);
  g_autoptr (GBytes) meta = g_bytes_new_static ("cat\ndog\n", 8);
  g_autoptr (GByteArray) tar = g_byte_array_new ();
  tar_add (tar, "cifar-10-batches-bin/", '5', NULL);
  tar_add (tar, "cifar-10-batches-bin/data_batch_1.bin", '0', batch1);
  tar_add (tar, "./cifar-10-batches-bin/test_batch.bin", '0', batch2);
  tar_add (tar, "cifar-10-batches-bin/batches.meta.txt", '0', meta);
  tar_add (tar, "cifar-10-batches-bin/link", '2', NULL);
  tar_add (tar, "elsewhere/readme.html", '0', meta);
  g_autoptr (GBytes) archive = tar_finish_gz (tar);

  Served served[1];
  serve (fixture, &served[0], "cifar-10-binary.tar.gz", archive, G_CHECKSUM_MD5);
  static const char *const members[] = { "data_batch_1.bin", "test_batch.bin",
                                         "batches.meta.txt", NULL };
  LamDownloadFile files[1] = { { served[0].name, served[0].digest, g_bytes_get_size (archive),
                                 LAM_DOWNLOAD_FILE_TAR_GZ, "cifar-10-batches-bin", members } };
  static const char *const no_mirrors[] = { NULL };
  LamDownloadSource source = { "cifar10", "CIFAR-10", "", no_mirrors, files, 1 };
  g_autoptr (LamDownload) download = lam_download_new_custom (&source, fixture->tmp);
  lam_download_set_base_url (download, fixture->base_url);
  lam_download_set_timeout (download, 10);

  Run run = { 0 };
  run_download (download, NULL, &run);
  g_assert_no_error (run.error);
  const char *dir = lam_download_get_directory (download);
  g_autofree char *b1 = g_build_filename (dir, "cifar-10-batches-bin", "data_batch_1.bin", NULL);
  g_autofree char *b2 = g_build_filename (dir, "cifar-10-batches-bin", "test_batch.bin", NULL);
  g_autofree char *m = g_build_filename (dir, "cifar-10-batches-bin", "batches.meta.txt", NULL);
  g_autofree char *link = g_build_filename (dir, "cifar-10-batches-bin", "link", NULL);
  g_autofree char *elsewhere = g_build_filename (dir, "elsewhere", NULL);
  g_autofree char *tarball = g_build_filename (dir, "cifar-10-binary.tar.gz", NULL);
  g_autofree char *staging = g_build_filename (dir, "cifar-10-batches-bin.part", NULL);
  assert_file_is (b1, batch1);
  assert_file_is (b2, batch2);
  assert_file_is (m, meta);
  g_assert_false (g_file_test (link, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK));
  g_assert_false (g_file_test (elsewhere, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (tarball, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (staging, G_FILE_TEST_EXISTS));
  g_assert_true (lam_download_is_complete (download));
  run_clear (&run);

  /* Complete stays complete without the tarball. */
  run_download (download, NULL, &run);
  g_assert_no_error (run.error);
  g_assert_cmpuint (fixture->requests, ==, 1);
  run_clear (&run);
  served_clear (&served[0]);
}

static void
check_tar_rejects (const char *tmp, const char *evil_name)
{
  g_autoptr (GBytes) good = random_bytes (1000, 18);
  g_autoptr (GBytes) evil = g_bytes_new_static ("pwned\n", 6);
  g_autoptr (GByteArray) tar = g_byte_array_new ();
  tar_add (tar, "cifar-10-batches-bin/data_batch_1.bin", '0', good);
  tar_add (tar, evil_name, '0', evil);
  g_autoptr (GBytes) archive = tar_finish_gz (tar);
  g_autofree char *path = g_build_filename (tmp, "evil.tar.gz", NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, g_bytes_get_data (archive, NULL), (gssize) g_bytes_get_size (archive),
                       &error);
  g_assert_no_error (error);
  g_autofree char *dest = g_build_filename (tmp, "inside", "deeper", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dest, 0755), ==, 0);

  g_assert_false (lam_download_extract_tar_gz (path, dest, "cifar-10-batches-bin", NULL, NULL,
                                               &error));
  g_assert_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_ARCHIVE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, evil_name));
  g_autofree char *escaped = g_build_filename (tmp, "inside", "evil", NULL);
  g_autofree char *escaped2 = g_build_filename (tmp, "evil", NULL);
  g_autofree char *target = g_build_filename (dest, "cifar-10-batches-bin", NULL);
  g_autofree char *staging = g_build_filename (dest, "cifar-10-batches-bin.part", NULL);
  g_assert_false (g_file_test (escaped, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (escaped2, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test ("/evil", G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (staging, G_FILE_TEST_EXISTS));
}

static void
test_tar_traversal (Fixture *fixture, gconstpointer data)
{
  check_tar_rejects (fixture->tmp, "../evil");
  check_tar_rejects (fixture->tmp, "cifar-10-batches-bin/../../evil");
  check_tar_rejects (fixture->tmp, "/evil");
}

static void
test_tar_missing_member (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) good = random_bytes (1000, 19);
  g_autoptr (GByteArray) tar = g_byte_array_new ();
  tar_add (tar, "cifar-10-batches-bin/data_batch_1.bin", '0', good);
  g_autoptr (GBytes) archive = tar_finish_gz (tar);
  g_autofree char *path = g_build_filename (fixture->tmp, "short.tar.gz", NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, g_bytes_get_data (archive, NULL), (gssize) g_bytes_get_size (archive),
                       &error);
  g_assert_no_error (error);
  static const char *const required[] = { "data_batch_1.bin", "test_batch.bin", NULL };
  g_assert_false (lam_download_extract_tar_gz (path, fixture->tmp, "cifar-10-batches-bin",
                                               required, NULL, &error));
  g_assert_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_ARCHIVE);
  g_assert_nonnull (strstr (error->message, "cifar-10-batches-bin/test_batch.bin"));
  g_clear_error (&error);

  /* Not a gzip file at all. */
  g_file_set_contents (path, "plain text, not an archive", -1, &error);
  g_assert_no_error (error);
  g_assert_false (lam_download_extract_tar_gz (path, fixture->tmp, "cifar-10-batches-bin", NULL,
                                               NULL, &error));
  g_assert_error (error, LAM_DOWNLOAD_ERROR, LAM_DOWNLOAD_ERROR_ARCHIVE);
  g_autofree char *target = g_build_filename (fixture->tmp, "cifar-10-batches-bin", NULL);
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
}

/* ---- the dialog (only with a display) ---- */

static gboolean have_display;

static gboolean
skip_without_display (void)
{
  if (!have_display)
    g_test_skip ("no display: the dialog cases need one (run under xvfb-run)");
  return !have_display;
}

static void
write_idx (const char *path, guint32 magic, guint32 n, gboolean images)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  guint32 header[4] = { GUINT32_TO_BE (magic), GUINT32_TO_BE (n), GUINT32_TO_BE (28),
                        GUINT32_TO_BE (28) };
  g_byte_array_append (bytes, (guint8 *) header, images ? 16 : 8);
  for (guint32 i = 0; i < n; i++) {
    if (images) {
      for (int p = 0; p < 28 * 28; p++) {
        guint8 v = (guint8) ((p * 7 + i * 31) % 256);
        g_byte_array_append (bytes, &v, 1);
      }
    } else {
      guint8 label = (guint8) (i % 10);
      g_byte_array_append (bytes, &label, 1);
    }
  }
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, (char *) bytes->data, bytes->len, &error);
  g_assert_no_error (error);
}

/* A small MNIST-shaped dataset under the final names (uncompressed: the
 * reader goes by content, not by the .gz in the name). */
static void
write_fake_mnist (const char *dir)
{
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_autofree char *train_images = g_build_filename (dir, "train-images-idx3-ubyte.gz", NULL);
  g_autofree char *train_labels = g_build_filename (dir, "train-labels-idx1-ubyte.gz", NULL);
  g_autofree char *test_images = g_build_filename (dir, "t10k-images-idx3-ubyte.gz", NULL);
  g_autofree char *test_labels = g_build_filename (dir, "t10k-labels-idx1-ubyte.gz", NULL);
  write_idx (train_images, 0x803, 40, TRUE);
  write_idx (train_labels, 0x801, 40, FALSE);
  write_idx (test_images, 0x803, 10, TRUE);
  write_idx (test_labels, 0x801, 10, FALSE);
}

static void
save_dialog_png (LamDownloadDialog *dialog, const char *name)
{
  /* Let layout and a frame happen. */
  gint64 end = g_get_monotonic_time () + 300 * 1000;
  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir != NULL ? dir : ".", name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (GTK_WIDGET (dialog), path, &error));
  g_assert_no_error (error);
  g_test_message ("saved %s", path);
}

/* Iterates the default main context until cond holds; fails after
 * WAIT_MS. For what no signal tells. */
static void
poll_until (gboolean (*cond) (gpointer), gpointer data)
{
  gint64 end = g_get_monotonic_time () + (gint64) WAIT_MS * 1000;
  while (!cond (data) && g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (2000);
  g_assert_true (cond (data));
}

static gboolean
dialog_hidden (gpointer data)
{
  return !gtk_widget_get_visible (GTK_WIDGET (data));
}

typedef struct
{
  LamDownloadDialog *dialog;
  const char *id;
  const char *prefix;
} RowText;

static gboolean
progress_is (gpointer data)
{
  RowText *text = data;
  return g_strcmp0 (lam_download_dialog_get_progress (text->dialog, text->id), text->prefix) == 0;
}

static gboolean
status_is (gpointer data)
{
  RowText *text = data;
  return g_strcmp0 (lam_download_dialog_get_status (text->dialog, text->id), text->prefix) == 0;
}

static gboolean
has_error (gpointer data)
{
  RowText *text = data;
  return lam_download_dialog_get_error (text->dialog, text->id) != NULL;
}

static void
on_project_loaded (LamSession *session, gpointer data)
{
  *(gboolean *) data = TRUE;
}

static void
test_dialog_states_and_open (Fixture *fixture, gconstpointer data)
{
  if (skip_without_display ())
    return;
  g_autofree char *mnist = g_build_filename (fixture->tmp, "mnist", NULL);
  write_fake_mnist (mnist);
  g_autofree char *fashion = g_build_filename (fixture->tmp, "fashion-mnist", NULL);
  g_autoptr (GBytes) part = random_bytes (12300000, 20);
  write_part (fashion, "train-images-idx3-ubyte.gz", part, 12300000);

  g_autoptr (LamSession) session = lam_session_new ();
  LamDownloadDialog *dialog = lam_download_dialog_new (NULL, session, fixture->tmp);
  g_object_ref (dialog);
  /* Whatever this machine has installed plays no part. */
  lam_download_dialog_set_system_dir (dialog, NULL);
  gtk_window_present (GTK_WINDOW (dialog));

  g_assert_cmpstr (lam_download_dialog_get_status (dialog, "mnist"), ==, "Downloaded · 11.6 MB");
  g_assert_cmpstr (lam_download_dialog_get_status (dialog, "fashion-mnist"), ==,
                   "Partly downloaded: 12.3 of 30.9 MB");
  g_assert_cmpstr (lam_download_dialog_get_status (dialog, "kmnist"), ==,
                   "Not downloaded · 21.0 MB");
  g_assert_cmpstr (lam_download_dialog_get_status (dialog, "cifar10"), ==,
                   "Not downloaded · 170.1 MB");
  g_assert_null (lam_download_dialog_get_error (dialog, "mnist"));
  g_assert_null (lam_download_dialog_get_progress (dialog, "mnist"));
  save_dialog_png (dialog, "download-dialog.png");

  /* Only a downloaded dataset opens; one that is not has no Open. */
  g_assert_false (lam_download_dialog_activate (dialog, "kmnist", "open"));
  g_assert_false (lam_download_dialog_activate (dialog, "mnist", "download"));
  gboolean changed = FALSE;
  g_signal_connect (session, "dataset-changed", G_CALLBACK (on_project_loaded), &changed);
  g_assert_true (lam_download_dialog_activate (dialog, "mnist", "open"));
  /* Closed once the dataset is open. */
  poll_until (dialog_hidden, dialog);
  g_assert_true (changed);
  g_assert_cmpstr (lam_session_get_dataset_dir (session), ==, mnist);
  g_assert_cmpint (lam_session_get_train_set (session)->n, ==, 40);
  g_signal_handlers_disconnect_by_data (session, &changed);
  g_object_unref (dialog);
}

static void
test_dialog_progress_cancel_error (Fixture *fixture, gconstpointer data)
{
  if (skip_without_display ())
    return;
  g_autoptr (GBytes) bytes = random_bytes (2 * 1000 * 1000, 21);
  g_hash_table_replace (fixture->files, g_strdup ("train-images-idx3-ubyte.gz"),
                        g_bytes_ref (bytes));
  fixture->mode = SERVE_STALL;
  fixture->misbehave_once = TRUE;

  g_autoptr (LamSession) session = lam_session_new ();
  LamDownloadDialog *dialog = lam_download_dialog_new (NULL, session, fixture->tmp);
  g_object_ref (dialog);
  lam_download_dialog_set_system_dir (dialog, NULL);
  lam_download_dialog_set_base_url (dialog, fixture->base_url);
  gtk_window_present (GTK_WINDOW (dialog));

  g_assert_true (lam_download_dialog_activate (dialog, "kmnist", "download"));
  g_assert_nonnull (lam_download_dialog_get_progress (dialog, "kmnist"));
  wait_until (&fixture->stall_reached, WAIT_MS);
  /* The half the server sent reaches the bar, whose total takes the
   * server's length for the published 18 MB. */
  poll_until (progress_is, &(RowText){ dialog, "kmnist", "1.0 of 5.0 MB" });
  g_assert_cmpstr (lam_download_dialog_get_status (dialog, "kmnist"), ==,
                   "Downloading train-images-idx3-ubyte.gz…");
  save_dialog_png (dialog, "download-dialog-progress.png");

  g_assert_true (lam_download_dialog_activate (dialog, "kmnist", "cancel"));
  poll_until (status_is, &(RowText){ dialog, "kmnist", "Partly downloaded: 1.0 of 21.0 MB" });
  g_assert_null (lam_download_dialog_get_error (dialog, "kmnist"));
  g_assert_null (lam_download_dialog_get_progress (dialog, "kmnist"));

  /* Resumed, the fake bytes cannot match KMNIST's published digest. */
  g_assert_true (lam_download_dialog_activate (dialog, "kmnist", "download"));
  poll_until (has_error, &(RowText){ dialog, "kmnist", NULL });
  const char *error = lam_download_dialog_get_error (dialog, "kmnist");
  g_assert_nonnull (error);
  g_test_message ("%s", error);
  g_assert_true (g_str_has_prefix (error, "The file downloaded from "));
  g_assert_nonnull (strstr (error, "does not match its published checksum (expected "
                                   "bdb82020997e1d708af4cf47b453dcf7, got "));
  g_assert_cmpstr (g_ptr_array_index (fixture->ranges, 1), ==, "bytes=1000000-");
  g_assert_cmpstr (lam_download_dialog_get_status (dialog, "kmnist"), ==,
                   "Not downloaded · 21.0 MB");
  save_dialog_png (dialog, "download-dialog-error.png");

  gtk_window_destroy (GTK_WINDOW (dialog));
  g_object_unref (dialog);
}

/* ---- copies that need no download ---- */

static void
touch (const char *dir, const char *name)
{
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, "", 0, &error);
  g_assert_no_error (error);
}

/* A package's folder under the system folder, and a folder a project has
 * open, known by their files' names: Debian recompresses Fashion-MNIST,
 * so the published digests do not match its copy. */
static void
test_installed_copies (Fixture *fixture, gconstpointer data)
{
  g_autoptr (LamDownload) fashion = lam_download_new ("fashion-mnist", fixture->tmp);
  g_assert_cmpstr (lam_download_get_system_dir (fashion), ==, "/usr/share/datasets");
  g_autofree char *system = g_build_filename (fixture->tmp, "system", NULL);
  lam_download_set_system_dir (fashion, system);
  g_assert_cmpstr (lam_download_get_system_dir (fashion), ==, system);
  g_assert_null (lam_download_dup_installed_dir (fashion));

  g_autofree char *installed = g_build_filename (system, "fashion-mnist", NULL);
  touch (installed, "train-images-idx3-ubyte.gz");
  touch (installed, "train-labels-idx1-ubyte.gz");
  touch (installed, "t10k-images-idx3-ubyte.gz");
  g_assert_false (lam_download_dir_has_files (fashion, installed));
  g_assert_null (lam_download_dup_installed_dir (fashion));
  /* The loader reads a file uncompressed as well. */
  touch (installed, "t10k-labels-idx1-ubyte");
  g_assert_true (lam_download_dir_has_files (fashion, installed));
  g_autofree char *found = lam_download_dup_installed_dir (fashion);
  g_assert_cmpstr (found, ==, installed);
  /* Installed is not downloaded. */
  g_assert_false (lam_download_is_complete (fashion));
  lam_download_set_system_dir (fashion, NULL);
  g_assert_null (lam_download_dup_installed_dir (fashion));

  /* The same names in another dataset's folder are not this one. */
  g_autoptr (LamDownload) mnist = lam_download_new ("mnist", fixture->tmp);
  lam_download_set_system_dir (mnist, system);
  g_assert_null (lam_download_dup_installed_dir (mnist));

  /* A project's folder is a copy when the loader named it this dataset. */
  g_autoptr (LamDownload) kmnist = lam_download_new ("kmnist", fixture->tmp);
  g_assert_true (lam_download_is_copy (fashion, installed, "Fashion-MNIST (train)"));
  g_assert_false (lam_download_is_copy (mnist, installed, "Fashion-MNIST (train)"));
  g_assert_true (lam_download_is_copy (mnist, installed, "MNIST (test)"));
  g_assert_true (lam_download_is_copy (kmnist, installed, "KMNIST (train)"));
  g_assert_false (lam_download_is_copy (kmnist, installed, "my-kmnist-28x28-grey (train)"));
  g_assert_false (lam_download_is_copy (fashion, installed, NULL));
  g_assert_false (lam_download_is_copy (fashion, NULL, "Fashion-MNIST (train)"));
  g_autofree char *empty = g_build_filename (fixture->tmp, "empty", NULL);
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  g_assert_false (lam_download_is_copy (fashion, empty, "Fashion-MNIST (train)"));

  /* A tarball's dataset: its member folder, in the folder or the folder
   * itself. */
  g_autoptr (LamDownload) cifar = lam_download_new ("cifar10", fixture->tmp);
  lam_download_set_system_dir (cifar, system);
  g_autofree char *cifar_dir = g_build_filename (system, "cifar10", NULL);
  g_autofree char *batches = g_build_filename (cifar_dir, "cifar-10-batches-bin", NULL);
  const LamDownloadSource *source = lam_download_lookup ("cifar10");
  const char *const *members = source->files[0].members;
  for (guint i = 0; members[i] != NULL; i++) {
    g_assert_null (lam_download_dup_installed_dir (cifar));
    touch (batches, members[i]);
  }
  g_autofree char *cifar_found = lam_download_dup_installed_dir (cifar);
  g_assert_cmpstr (cifar_found, ==, cifar_dir);
  g_assert_true (lam_download_is_copy (cifar, batches, "CIFAR-10 (train)"));
}

static gboolean
session_has_dataset (gpointer data)
{
  LamSession *session = data;
  return !lam_session_get_loading (session) && lam_session_get_has_dataset (session);
}

/* The dialog lists a package's copy and the project's open copy as here,
 * with their folders, and opens the package's. */
static void
test_dialog_installed_copies (Fixture *fixture, gconstpointer data)
{
  if (skip_without_display ())
    return;
  g_autofree char *system = g_build_filename (fixture->tmp, "system", NULL);
  g_autofree char *installed = g_build_filename (system, "fashion-mnist", NULL);
  write_fake_mnist (installed);
  g_autofree char *mine = g_build_filename (fixture->tmp, "my-kmnist", NULL);
  write_fake_mnist (mine);
  g_autofree char *downloads = g_build_filename (fixture->tmp, "downloads", NULL);

  g_autoptr (LamSession) session = lam_session_new ();
  lam_session_load_dataset_async (session, mine, NULL, NULL, NULL);
  poll_until (session_has_dataset, session);
  g_assert_cmpstr (lam_session_get_dataset_name (session), ==, "KMNIST (train)");

  LamDownloadDialog *dialog = lam_download_dialog_new (NULL, session, downloads);
  g_object_ref (dialog);
  lam_download_dialog_set_system_dir (dialog, system);
  gtk_window_present (GTK_WINDOW (dialog));

  g_autofree char *fashion_status = g_strdup_printf ("Installed · %s", installed);
  g_autofree char *kmnist_status = g_strdup_printf ("Ready · %s · open on the Data page", mine);
  g_assert_cmpstr (lam_download_dialog_get_status (dialog, "fashion-mnist"), ==, fashion_status);
  g_assert_cmpstr (lam_download_dialog_get_status (dialog, "kmnist"), ==, kmnist_status);
  g_assert_cmpstr (lam_download_dialog_get_status (dialog, "mnist"), ==,
                   "Not downloaded · 11.6 MB");
  /* Here already: no Download, and Open. */
  g_assert_false (lam_download_dialog_activate (dialog, "fashion-mnist", "download"));
  g_assert_false (lam_download_dialog_activate (dialog, "kmnist", "download"));
  save_dialog_png (dialog, "download-dialog-installed.png");

  /* Open opens the package's folder. */
  g_assert_true (lam_download_dialog_activate (dialog, "fashion-mnist", "open"));
  poll_until (dialog_hidden, dialog);
  g_assert_cmpstr (lam_session_get_dataset_dir (session), ==, installed);
  g_assert_cmpstr (lam_session_get_dataset_name (session), ==, "Fashion-MNIST (train)");
  g_assert_false (g_file_test (downloads, G_FILE_TEST_EXISTS));
  g_object_unref (dialog);

  /* Opened again, the dialog says which is open. */
  dialog = lam_download_dialog_new (NULL, session, downloads);
  lam_download_dialog_set_system_dir (dialog, system);
  g_autofree char *open_status =
    g_strdup_printf ("Installed · %s · open on the Data page", installed);
  g_assert_cmpstr (lam_download_dialog_get_status (dialog, "fashion-mnist"), ==, open_status);
  g_assert_cmpstr (lam_download_dialog_get_status (dialog, "kmnist"), ==,
                   "Not downloaded · 21.0 MB");
  gtk_window_destroy (GTK_WINDOW (dialog));
}

int
main (int argc, char **argv)
{
  /* Requests to 127.0.0.1 must not go through a proxy from the
   * environment. */
  g_unsetenv ("http_proxy");
  g_unsetenv ("https_proxy");
  g_unsetenv ("HTTP_PROXY");
  g_unsetenv ("HTTPS_PROXY");
  g_unsetenv ("all_proxy");
  g_unsetenv ("ALL_PROXY");
  g_setenv ("no_proxy", "127.0.0.1,localhost", TRUE);
  g_test_init (&argc, &argv, NULL);
  have_display = gtk_init_check ();

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/download/good", test_good);
  ADD ("/download/resume/range", test_resume_range);
  ADD ("/download/resume/whole-part", test_resume_whole_part);
  ADD ("/download/resume/range-ignored", test_resume_range_ignored);
  ADD ("/download/truncated/then-resume", test_truncated);
  ADD ("/download/dropped/then-resume", test_dropped);
  ADD ("/download/checksum/mismatch", test_checksum);
  ADD ("/download/http/404", test_not_found);
  ADD ("/download/failure/leaves-no-folder", test_failure_leaves_no_folder);
  ADD ("/download/cancel/keeps-part", test_cancel);
  ADD ("/download/busy", test_busy);
  ADD ("/download/network/refused", test_refused);
  ADD ("/download/table/base-url", test_table_with_base_url);
  ADD ("/download/tar/dataset", test_tar_dataset);
  ADD ("/download/tar/traversal", test_tar_traversal);
  ADD ("/download/tar/missing-member", test_tar_missing_member);
  ADD ("/download/installed/system-and-open-copies", test_installed_copies);
  ADD ("/download-dialog/states-and-open", test_dialog_states_and_open);
  ADD ("/download-dialog/installed-and-open-copies", test_dialog_installed_copies);
  ADD ("/download-dialog/progress-cancel-error", test_dialog_progress_cancel_error);
#undef ADD

  return g_test_run ();
}
