/* lam-download-dialog.h: "Download a Dataset…" — the datasets Lamina can
 * fetch, with their size and whether they are here already, a Download
 * button, progress and Cancel per row, the error in the row when one
 * fails, and Open once a dataset is here. A finished download is opened in
 * the project at once. A dataset is also here when a package installed it
 * (LAM_DOWNLOAD_SYSTEM_DIR/<id>) or when the project has a copy of it
 * open: its row says where, and Open opens that folder. */
#pragma once

#include <gtk/gtk.h>

#include "lam-session.h"

G_BEGIN_DECLS

#define LAM_TYPE_DOWNLOAD_DIALOG (lam_download_dialog_get_type ())
G_DECLARE_FINAL_TYPE (LamDownloadDialog, lam_download_dialog, LAM, DOWNLOAD_DIALOG, GtkWindow)

/* base_dir NULL is g_get_user_data_dir()/lamina/datasets. */
LamDownloadDialog *lam_download_dialog_new (GtkWindow *parent, LamSession *session,
                                            const char *base_dir);
/* Shows a new dialog, transient for and modal over parent. */
void lam_download_dialog_present (GtkWindow *parent, LamSession *session);

LamSession *lam_download_dialog_get_project (LamDownloadDialog *self);

/* Where installed copies are looked for, LAM_DOWNLOAD_SYSTEM_DIR unless
 * set (tests); NULL looks nowhere. */
void lam_download_dialog_set_system_dir (LamDownloadDialog *self, const char *dir);

/* Fetches every file from base_url instead of the mirrors (tests). */
void lam_download_dialog_set_base_url (LamDownloadDialog *self, const char *base_url);

/* A row's state, for tests: the status line ("Not downloaded · 30.9 MB",
 * "Partly downloaded: 12.3 of 30.9 MB", "Downloading NAME…",
 * "Downloaded · 30.9 MB", "Installed · /usr/share/datasets/fashion-mnist",
 * "Ready · ~/data/kmnist", each of the last three followed by " · open on
 * the Data page" when the project has that folder open) and the error
 * shown (NULL when none). */
const char *lam_download_dialog_get_status (LamDownloadDialog *self, const char *dataset_id);
const char *lam_download_dialog_get_error (LamDownloadDialog *self, const char *dataset_id);
/* The progress bar's text ("12.3 of 30.9 MB"), NULL while it is hidden. */
const char *lam_download_dialog_get_progress (LamDownloadDialog *self, const char *dataset_id);
/* Activates a row's button: "download", "cancel" or "open". FALSE when that
 * button is not shown. */
gboolean lam_download_dialog_activate (LamDownloadDialog *self, const char *dataset_id,
                                       const char *button);

G_END_DECLS
