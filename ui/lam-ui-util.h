/* lam-ui-util.h: small helpers shared by the window's pages and tests. */
#pragma once

#include <gtk/gtk.h>

#include "lam-model.h"

G_BEGIN_DECLS

/* Renders a realized widget with its window's renderer and writes a PNG:
 * what the person in front of the screen sees. Written atomically, as
 * lam_ui_write_file(). */
gboolean lam_ui_save_png (GtkWidget *widget, const char *path, GError **error);

/* The app's preferences, or NULL when the schema is not installed (an
 * uninstalled build run without GSETTINGS_SCHEMA_DIR): callers then keep
 * their defaults instead of aborting as g_settings_new would. */
GSettings *lam_ui_settings_new (void);

/* g_task_run_in_thread, counting the worker while it runs: when the
 * program exits, it waits (up to LAM_UI_WORKERS_EXIT_WAIT_US) for the
 * workers still running before the libraries' destructors free what they
 * compute with (OpenBLAS's buffers: a worker still inside a product when
 * they go crashes the exit). A worker's cancellable is best cancelled
 * first, as disposing its owner does. */
#define LAM_UI_WORKERS_EXIT_WAIT_US (10 * G_USEC_PER_SEC)
void lam_ui_run_in_thread (GTask *task, GTaskThreadFunc func);
/* Waits until no worker started by lam_ui_run_in_thread runs, or
 * timeout_us passes; TRUE when none runs. */
gboolean lam_ui_wait_for_workers (gint64 timeout_us);

/* "242,762" */
char *lam_ui_format_count (guint64 value);
/* "1 value", "2,048 values": a count with its noun in the number it needs. */
char *lam_ui_format_quantity (guint64 value, const char *one, const char *many);
/* "1.2 M", "35 k", "812" */
char *lam_ui_format_si (double value);
/* "1:05" or "1:02:03" */
char *lam_ui_format_duration (double seconds);

/* Cairo drawing shared by the custom views. */
void lam_ui_set_source (cairo_t *cr, const GdkRGBA *color, double alpha);
/* A rectangle with corners of radius r (at most half the shorter side), as
 * a new sub-path. */
void lam_ui_rounded_rect (cairo_t *cr, double x, double y, double w, double h, double r);
/* What a model of this input shape reads, or a dataset of it holds, for
 * a sentence: "rows of 2 inputs" (a flat shape: a table's rows) or
 * "images of 1×28×28". Owned. */
char *lam_ui_describe_input (const LamShape *shape);
/* A layout in the widget's font: scaled (1.0 for none), bold, with
 * tabular figures. */
/* A model of spec on a CPU backend of its own, holding params (n_params
 * floats, checked against the spec), for views that run small models on
 * the main thread. Free with lam_ui_model_free. NULL with error. */
typedef struct
{
  LamBackend *backend;
  LamModel *model;
} LamUiModel;
LamUiModel *lam_ui_model_new (const LamModelSpec *spec, const float *params, gsize n_params,
                              int max_batch, GError **error);
/* The same for views that feed the model rows of their own making (a
 * plane's points, a table's rows), n_inputs values each: weights whose
 * input is another size (an image model's, kept while a table is open) are
 * refused with an error instead of reading past the rows. */
LamUiModel *lam_ui_model_new_for_rows (const LamModelSpec *spec, const float *params,
                                       gsize n_params, int n_inputs, int max_batch, GError **error);
void lam_ui_model_free (LamUiModel *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamUiModel, lam_ui_model_free)

/* Sets the name a screen reader speaks for widget (an icon-only button, a
 * drawn view) and keeps it where lam_ui_get_accessible_label finds it:
 * GTK 4.8 has no getter for accessible properties, and the tests check
 * that every such widget has a name. */
void lam_ui_set_accessible_label (GtkWidget *widget, const char *label);
/* The name set by lam_ui_set_accessible_label, or NULL. */
const char *lam_ui_get_accessible_label (GtkWidget *widget);

/* Keeps a selectable label's text unselected when the keyboard focus
 * lands on it. GTK selects the whole text then (gtk-label-select-on-focus),
 * and a summary reached by Tab looks picked out, as if something had been
 * chosen; the text stays selectable and copyable by mouse and keys. */
void lam_ui_label_unselected_on_focus (GtkLabel *label);

/* Hides the expander's child while it is collapsed, so that Tab passes
 * it over (see the .c file). */
void lam_ui_expander_hide_collapsed_child (GtkExpander *expander);

/* The widget's font size in pixels (presentation mode makes it larger):
 * what drawn views size their text and cells from. */
double lam_ui_font_pixels (GtkWidget *widget);
PangoLayout *lam_ui_create_layout (GtkWidget *widget, const char *text, double scale,
                                   gboolean bold, gboolean tabular);
/* For css_changed: TRUE when what a view's drawing takes from the style
 * (colour and font) differs from *key, which it then replaces. Hovering a
 * parent changes the style too, and must not cost a new layout. */
gboolean lam_ui_update_style_key (GtkWidget *widget, char **key);

/* Writes data to path atomically (a temporary file renamed over it), so a
 * failed write leaves what was there; the error names the path. */
gboolean lam_ui_write_file (const char *path, const void *data, gsize length, GError **error);

/* A modal message dialog over the widget's window. */
void lam_ui_show_error (GtkWidget *widget, const char *primary, const char *secondary);

typedef gboolean (*LamUiSaveFunc) (GtkWidget *widget, const char *path, gpointer user_data,
                                   GError **error);
/* Asks for a file to write (GtkFileChooserNative; it confirms overwriting)
 * and calls save with its path, showing an error dialog when that fails.
 * Nothing happens when the widget is gone by then. filter_name and
 * pattern ("*.png") may be NULL. */
void lam_ui_choose_save_file (GtkWidget *widget, const char *title, const char *file_name,
                              const char *filter_name, const char *pattern, LamUiSaveFunc save,
                              gpointer user_data);
/* A file name from a title (fallback when it is NULL or empty), "/" and
 * control characters replaced, and ext appended: "Loss / epoch", ".png"
 * → "Loss - epoch.png". */
char *lam_ui_file_name_for (const char *title, const char *fallback, const char *ext);

G_END_DECLS
