/* lam-data-page.h: the Data page — pick a dataset, browse its images by
 * class, and see one image as the network sees it, normalised and
 * augmented. */
#pragma once

#include <gtk/gtk.h>

#include "lam-project.h"
#include "lam-sample-grid.h"

G_BEGIN_DECLS

#define LAM_TYPE_DATA_PAGE (lam_data_page_get_type ())
G_DECLARE_FINAL_TYPE (LamDataPage, lam_data_page, LAM, DATA_PAGE, GtkWidget)

GtkWidget *lam_data_page_new (LamProject *project);
LamProject *lam_data_page_get_project (LamDataPage *self);

/* Asks for a folder (GtkFileChooserNative) and loads it. */
void lam_data_page_choose_folder (LamDataPage *self);
/* Loads a dataset folder into the project and shows what goes wrong in the
 * page; the dataset shown stays until a new one has loaded. */
void lam_data_page_load_folder (LamDataPage *self, const char *dir);

LamSampleGrid *lam_data_page_get_grid (LamDataPage *self);
/* -1 shows every class. */
void lam_data_page_set_class_filter (LamDataPage *self, int class_index);
/* The loading error the page shows, or NULL. */
const char *lam_data_page_get_error_message (LamDataPage *self);

G_END_DECLS
