/* lam-test-keys.h: keys typed for real in the GUI tests, what a widget
 * shows after them, and the widgets they look for. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Whether keys can be typed into widget's display: X11 with libXtst.so.6.
 * Without it the caller skips. */
gboolean lam_test_can_type_keys (GtkWidget *widget);
/* Types keyval, holding Ctrl and Shift where modifiers has them, on
 * widget's display, and flushes it to the server; the caller lets the
 * main loop handle it. */
void lam_test_type_key (GtkWidget *widget, guint keyval, GdkModifierType modifiers);

/* What widget shows now, as pixels (as lam_ui_save_png draws it), with
 * its window's renderer: for a test that compares a widget's look with
 * and without the keyboard focus. */
GBytes *lam_test_render_pixels (GtkWidget *widget);

/* What a person hears of the focused widget (NULL: nothing focused): its
 * kind, its name, whether it is mapped and its parent's kind, for a test's
 * messages and errors. Free with g_free. */
char *lam_test_describe_focus (GtkWidget *focus);

/* The help "?" button of topic in root's tree (root itself included), or
 * NULL. */
GtkWidget *lam_test_find_help_button (GtkWidget *root, const char *topic);

G_END_DECLS
