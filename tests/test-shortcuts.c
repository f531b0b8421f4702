/* The Keyboard Shortcuts window (resources/gtk/help-overlay.ui) lists
 * exactly the shortcuts that work. Its accelerators are compared with a
 * list kept here that says where each is bound; and, under Xvfb, with the
 * shortcuts a main window really carries: every listed key that a window
 * binds is bound there to the action named here, and every key a window
 * binds to one of Lamina's actions is listed. The window is saved as
 * help-overlay.png. */
#include <gtk/gtk.h>
#include <string.h>

#include "lam-session.h"
#include "lam-ui-util.h"
#include "lam-window.h"

#define OVERLAY "/org/lamina/Lamina/gtk/help-overlay.ui"

typedef struct
{
  const char *title;
  const char *accelerator; /* as GtkShortcutsShortcut writes it */
  /* What a window binds the key to; NULL where the application binds it
   * (the window alone cannot show it) and "callback" for a callback. */
  const char *action;
} Listed;

static const Listed listed[] = {
  /* ui/lam-window-actions.c, lam_window_class_add_actions: class bindings
   * of the window. */
  { "Data", "<Control>1", "win.page" },
  { "Model", "<Control>2", "win.page" },
  { "Train", "<Control>3", "win.page" },
  { "Evaluate", "<Control>4", "win.page" },
  { "New project", "<Control>n", "win.new-project" },
  { "Open a project", "<Control><Shift>o", "win.open-project" },
  { "Save the project", "<Control>s", "win.save" },
  { "Save the project under another name", "<Control><Shift>s", "win.save-as" },
  { "Start, pause or resume", "<Control>Return", "session.start-pause" },
  { "Stop", "<Control>period", "session.stop" },
  { "Presentation mode", "F11", "win.presentation" },
  { "Open a dataset folder", "<Control>o", "win.open-dataset" },
  /* ui/lam-window-actions.c, lam_window_add_shortcuts: a capture-phase
   * controller whose callback runs session.step unless a text field has
   * the focus. */
  { "One step (one batch)", "<Control>Right", "callback" },
  /* ui/lam-model-page.c, lam_model_page_init: a controller on the layer
   * list, acting on the selected row. */
  { "Remove the selected layer", "Delete", "layer.remove" },
  { "Move the selected layer up", "<Alt>Up", "layer.move-up" },
  { "Move the selected layer down", "<Alt>Down", "layer.move-down" },
  /* ui/lam-model-page.c, lam_model_page_class_init: class bindings of the
   * page, after a focused text field's own. */
  { "Undo the last change to the model", "<Control>z", "model.undo" },
  { "Redo the change undone", "<Control><Shift>z", "model.redo" },
  { "Redo the change undone", "<Control>y", "model.redo" },
  /* ui/lam-drawing-pad.c, lam_drawing_pad_class_init: class bindings of
   * the pad, while it has the focus. */
  { "Take back the last stroke", "<Control>z", "drawing-pad.undo" },
  { "Take back the last stroke", "BackSpace", "drawing-pad.undo" },
  { "Clear the pad", "Delete", "drawing-pad.clear" },
  /* GtkApplication sets it for win.show-help-overlay when the resource
   * holds gtk/help-overlay.ui. */
  { "Keyboard shortcuts", "<Control>question", NULL },
  /* ui/lam-application.c, lam_application_startup:
   * gtk_application_set_accels_for_action. */
  { "Quit", "<Control>q", NULL },
};

/* Bound but deliberately not listed: the keypad's twins of listed keys. */
static const char *const unlisted[] = {
  "<Control>KP_Enter", /* session.start-pause */
  "<Control>KP_Right", /* session.step */
  "KP_Delete",         /* layer.remove, drawing-pad.clear */
};

/* Lamina's actions, as opposed to GTK's own bindings (copy, paste, the
 * inspector…) that every window carries. */
static const char *const namespaces[] = { "win.", "session.", "layer.", "model.", "drawing-pad." };

static char *
normalize (const char *accelerator)
{
  guint keyval;
  GdkModifierType mods;
  g_assert_true (gtk_accelerator_parse (accelerator, &keyval, &mods));
  return gtk_accelerator_name (keyval, mods);
}

static char *
entry_key (const char *title, const char *accelerator)
{
  g_autofree char *normal = normalize (accelerator);
  return g_strdup_printf ("%s = %s", title, normal);
}

static void
test_overlay_lists (void)
{
  g_autoptr (GtkBuilder) builder = gtk_builder_new_from_resource (OVERLAY);
  g_autoptr (GHashTable) shown = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GSList *objects = gtk_builder_get_objects (builder);
  for (GSList *l = objects; l != NULL; l = l->next) {
    if (!GTK_IS_SHORTCUTS_SHORTCUT (l->data))
      continue;
    g_autofree char *title = NULL, *accelerator = NULL;
    g_object_get (l->data, "title", &title, "accelerator", &accelerator, NULL);
    g_assert_nonnull (accelerator);
    /* Several keys for one entry are written apart by spaces. */
    g_auto (GStrv) keys = g_strsplit (accelerator, " ", -1);
    for (int i = 0; keys[i] != NULL; i++) {
      if (*keys[i] == '\0')
        continue;
      char *key = entry_key (title, keys[i]);
      g_test_message ("listed: %s", key);
      g_assert_false (g_hash_table_contains (shown, key));
      g_hash_table_add (shown, key);
    }
  }
  g_slist_free (objects);

  for (gsize i = 0; i < G_N_ELEMENTS (listed); i++) {
    g_autofree char *key = entry_key (listed[i].title, listed[i].accelerator);
    if (!g_hash_table_remove (shown, key))
      g_error ("the shortcuts window does not list %s", key);
  }
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, shown);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_error ("the shortcuts window lists %s, which nothing here binds", (const char *) key);
}

static gboolean
is_ours (const char *action)
{
  for (gsize i = 0; i < G_N_ELEMENTS (namespaces); i++)
    if (g_str_has_prefix (action, namespaces[i]))
      return TRUE;
  return FALSE;
}

/* "accelerator action" for every key shortcut of widget and its
 * descendants to one of Lamina's actions; "accelerator callback" for a
 * callback action on the window itself. */
static void
collect_bound (GtkWidget *widget, GtkWidget *window, GHashTable *bound)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++) {
    g_autoptr (GObject) controller = g_list_model_get_item (controllers, i);
    if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
      continue;
    GListModel *shortcuts = G_LIST_MODEL (controller);
    for (guint j = 0; j < g_list_model_get_n_items (shortcuts); j++) {
      g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (shortcuts, j);
      GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);
      GtkShortcutAction *action = gtk_shortcut_get_action (shortcut);
      if (!GTK_IS_KEYVAL_TRIGGER (trigger))
        continue;
      const char *name = NULL;
      if (GTK_IS_NAMED_ACTION (action) &&
          is_ours (gtk_named_action_get_action_name (GTK_NAMED_ACTION (action))))
        name = gtk_named_action_get_action_name (GTK_NAMED_ACTION (action));
      else if (GTK_IS_CALLBACK_ACTION (action) && widget == window)
        name = "callback";
      if (name == NULL)
        continue;
      g_autofree char *accelerator =
        gtk_accelerator_name (gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)),
                              gtk_keyval_trigger_get_modifiers (GTK_KEYVAL_TRIGGER (trigger)));
      g_hash_table_add (bound, g_strdup_printf ("%s %s", accelerator, name));
    }
  }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_bound (child, window, bound);
}

static void
on_after_paint (GdkFrameClock *clock, gpointer data)
{
  *(gboolean *) data = TRUE;
}

static void
settle (int ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

static void
test_window_binds (void)
{
  g_autoptr (LamSession) session = lam_session_new ();
  LamWindow *window = lam_window_new (NULL, session);
  g_autoptr (GHashTable) bound = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  collect_bound (GTK_WIDGET (window), GTK_WIDGET (window), bound);

  /* Every listed key is bound where the list says. */
  g_autoptr (GHashTable) listed_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (listed); i++) {
    g_autofree char *accelerator = normalize (listed[i].accelerator);
    g_hash_table_add (listed_keys, g_strdup (accelerator));
    if (listed[i].action == NULL)
      continue;
    g_autofree char *key = g_strdup_printf ("%s %s", accelerator, listed[i].action);
    if (!g_hash_table_contains (bound, key))
      g_error ("listed \"%s\" (%s), which the window does not bind to %s", listed[i].title,
               accelerator, listed[i].action);
  }

  /* Every key bound to one of Lamina's actions is listed, or is the
   * keypad's twin of a listed one. A callback does not say whose it is
   * (GtkWindow binds F10 with one), so only named actions count here. */
  for (gsize i = 0; i < G_N_ELEMENTS (unlisted); i++) {
    g_autofree char *accelerator = normalize (unlisted[i]);
    g_hash_table_add (listed_keys, g_steal_pointer (&accelerator));
  }
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, bound);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    g_test_message ("bound: %s", (const char *) key);
    if (g_str_has_suffix (key, " callback"))
      continue;
    g_autofree char *accelerator = g_strdup (key);
    *strchr (accelerator, ' ') = '\0';
    if (!g_hash_table_contains (listed_keys, accelerator))
      g_error ("the window binds %s, which the shortcuts window does not list",
               (const char *) key);
  }

  /* What a person sees. */
  g_autoptr (GtkBuilder) builder = gtk_builder_new_from_resource (OVERLAY);
  GtkWindow *overlay = GTK_WINDOW (gtk_builder_get_object (builder, "help_overlay"));
  gtk_window_set_transient_for (overlay, GTK_WINDOW (window));
  gtk_window_present (overlay);
  settle (300);
  gboolean painted = FALSE;
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (overlay));
  gulong handler = g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), &painted);
  gtk_widget_queue_draw (GTK_WIDGET (overlay));
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!painted && g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  g_signal_handler_disconnect (clock, handler);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", "help-overlay.png", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (GTK_WIDGET (overlay), path, &error));
  g_assert_no_error (error);
  g_test_message ("saved %s", path);
  gtk_window_destroy (overlay);
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  gtk_init ();
  g_test_init (&argc, &argv, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  g_test_add_func ("/shortcuts/overlay-lists-what-is-bound", test_overlay_lists);
  g_test_add_func ("/shortcuts/window-binds-what-is-listed", test_window_binds);
  return g_test_run ();
}
