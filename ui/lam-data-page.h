/* lam-data-page.h: the Data page — pick a dataset, browse its images by
 * class, and see one image as the network sees it, normalised and
 * augmented. */
#pragma once

#include <gtk/gtk.h>

#include "lam-column-histograms.h"

#include "lam-session.h"
#include "lam-sample-grid.h"

G_BEGIN_DECLS

#define LAM_TYPE_DATA_PAGE (lam_data_page_get_type ())
G_DECLARE_FINAL_TYPE (LamDataPage, lam_data_page, LAM, DATA_PAGE, GtkWidget)

GtkWidget *lam_data_page_new (LamSession *session);
LamSession *lam_data_page_get_project (LamDataPage *self);

/* Asks for a folder (GtkFileChooserNative) and loads it. */
void lam_data_page_choose_folder (LamDataPage *self);
/* Loads a dataset folder into the project and shows what goes wrong in the
 * page; the dataset shown stays until a new one has loaded. */
void lam_data_page_load_folder (LamDataPage *self, const char *dir);

/* Importing a folder of PNG/JPEG images, one sub-folder per class: asks
 * for the folder, then for the size and colour (a small window, returned
 * borrowed by show_import_options), then converts it on a worker thread
 * with a progress bar and Cancel, stores it as an IDX dataset in the
 * user's data folder (see lam_dataset_import_image_folder) and loads that.
 * The files left out are listed in the page. Open Folder… on such a folder
 * asks for the size and colour too. */
void lam_data_page_choose_import_folder (LamDataPage *self);
GtkWindow *lam_data_page_show_import_options (LamDataPage *self, const char *dir);
/* channels 1 or 3; side LAM_IMAGE_FOLDER_MIN_SIDE..MAX_SIDE. */
void lam_data_page_import_folder (LamDataPage *self, const char *dir, int channels, int side);
void lam_data_page_cancel_import (LamDataPage *self);
gboolean lam_data_page_get_importing (LamDataPage *self);
/* "path: reason" of each file the last import left out; NULL when none
 * (or once dismissed). */
const char *const *lam_data_page_get_skipped_files (LamDataPage *self);

LamSampleGrid *lam_data_page_get_grid (LamDataPage *self);
/* A table's columns' histograms. */
LamColumnHistograms *lam_data_page_get_table_histograms (LamDataPage *self);
/* A table's rows, a column per input and target (NULL before a table). */
GtkColumnView *lam_data_page_get_table_rows (LamDataPage *self);
/* Open Table…: the columns dialog for the CSV file at path, whose choice
 * opens here. */
void lam_data_page_open_table (LamDataPage *self, const char *path);
/* The Playground… button: a dialog choosing a 2-D set, opened here. */
void lam_data_page_choose_playground (LamDataPage *self);
/* Whether the grid shows the test images instead of the training ones
 * (the header's choice; only when the dataset has a test part). */
void lam_data_page_set_showing_test (LamDataPage *self, gboolean test);
gboolean lam_data_page_get_showing_test (LamDataPage *self);
/* -1 shows every class. */
void lam_data_page_set_class_filter (LamDataPage *self, int class_index);
/* How many class names the class list had to shorten, the last time it
 * was drawn, to leave room for the bars. */
guint lam_data_page_get_n_class_names_cut (LamDataPage *self);
/* The loading error the page shows, or NULL. */
const char *lam_data_page_get_error_message (LamDataPage *self);

G_END_DECLS
