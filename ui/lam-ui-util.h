/* lam-ui-util.h: small helpers shared by the window's pages and tests. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Renders a realized widget with its window's renderer and writes a PNG:
 * what the person in front of the screen sees. */
gboolean lam_ui_save_png (GtkWidget *widget, const char *path, GError **error);

/* The app's preferences, or NULL when the schema is not installed (an
 * uninstalled build run without GSETTINGS_SCHEMA_DIR): callers then keep
 * their defaults instead of aborting as g_settings_new would. */
GSettings *lam_ui_settings_new (void);

/* "242,762" */
char *lam_ui_format_count (guint64 value);
/* "1.2 M", "35 k", "812" */
char *lam_ui_format_si (double value);
/* "1:05" or "1:02:03" */
char *lam_ui_format_duration (double seconds);

G_END_DECLS
