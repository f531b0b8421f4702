/* lam-help.h: words explained in place. A small "?" button beside a chart,
 * a setting or a panel opens a popover that explains one topic in plain
 * words, written for a pupil of fifteen and kept true to what Lamina
 * computes. The texts are translatable (gettext, domain "lamina"). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define LAM_TYPE_HELP_BUTTON (lam_help_button_get_type ())
G_DECLARE_FINAL_TYPE (LamHelpButton, lam_help_button, LAM, HELP_BUTTON, GtkWidget)

/* topic: one of lam_help_get_topics () (property "topic", settable in a
 * .ui file). */
GtkWidget *lam_help_button_new (const char *topic);
const char *lam_help_button_get_topic (LamHelpButton *self);
void lam_help_button_set_topic (LamHelpButton *self, const char *topic);
/* Opens the explanation, as a click does. */
void lam_help_button_popup (LamHelpButton *self);
GtkPopover *lam_help_button_get_popover (LamHelpButton *self);

/* Every topic, NULL-terminated. */
const char *const *lam_help_get_topics (void);
/* A topic's heading and explanation, translated; NULL for an unknown
 * topic. */
const char *lam_help_get_title (const char *topic);
const char *lam_help_get_text (const char *topic);

/* Points every help button under root at its topic's text for a table's
 * rows ("table-" + topic) when rows and one exists, else back at the
 * topic itself. */
void lam_help_speak_of_rows (GtkWidget *root, gboolean rows);

/* Binds the "lamina" text domain to the installed translations. Called
 * once by the application (and by tests that check the texts). */
void lam_help_init_translations (void);

G_END_DECLS
