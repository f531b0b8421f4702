/* The Keyboard Shortcuts window (resources/gtk/help-overlay.ui) lists
 * exactly the shortcuts that work. Its accelerators are compared with a
 * list kept here that says where each is bound; and, under Xvfb, with the
 * shortcuts a main window really carries: every listed key that a window
 * binds is bound there to the action named here, and every key a window
 * binds to one of Lamina's actions is listed. The window is saved as
 * help-overlay.png. Keys typed through the X server while a number or
 * text field has the focus do what the list says. */
#include <gtk/gtk.h>
#include <string.h>

#include "lam-model-page.h"
#include "lam-session.h"
#include "lam-table-dialog.h"
#include "lam-test-keys.h"
#include "lam-test-util.h"
#include "lam-train-page.h"
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
  { "Presentation mode", "F11", "win.presentation" },
  { "Open a dataset folder", "<Control>o", "win.open-dataset" },
  /* ui/lam-window-actions.c, lam_window_add_shortcuts: a capture-phase
   * controller whose callback runs session.step unless a text field has
   * the focus. */
  { "One step (one batch)", "<Control>Right", "callback" },
  /* ui/lam-window-actions.c, lam_window_add_shortcuts: in the same
   * controller, so that a focused text field's emoji picker does not take
   * it. */
  { "Stop", "<Control>period", "session.stop" },
  /* ui/lam-model-page.c, lam_model_page_init: a controller on the layer
   * list, acting on the selected row. */
  { "Remove the selected layer", "Delete", "layer.remove" },
  { "Move the selected layer up", "<Alt>Up", "layer.move-up" },
  { "Move the selected layer down", "<Alt>Down", "layer.move-down" },
  /* ui/lam-model-page.c, lam_model_page_init: a capture-phase controller
   * on the page, before a focused text field's own undo. */
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

/* Types keyval with modifiers, then lets the window handle it. */
static void
type_key (GtkWidget *widget, guint keyval, GdkModifierType modifiers)
{
  lam_test_type_key (widget, keyval, modifiers);
  lam_test_settle (300);
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

static gboolean
dataset_ready (gpointer data)
{
  return lam_session_get_has_dataset (data) && !lam_session_get_loading (data);
}

static gboolean
is_running (gpointer data)
{
  return lam_session_get_state (data) == LAM_TRAIN_STATE_RUNNING;
}

static gboolean
is_idle (gpointer data)
{
  return lam_session_get_state (data) == LAM_TRAIN_STATE_IDLE;
}

/* A window on the study-time table with a model that fits it, shown; NULL
 * (the test skipped) where keys cannot be typed. */
static LamWindow *
typing_window_new (LamSession *session)
{
  g_autofree char *table = lam_dataset_find_bundled_table ("study-time");
  g_assert_nonnull (table);
  const char *inputs[] = { "hours", NULL }, *targets[] = { "score", NULL };
  g_autofree char *name = lam_table_name_build (table, inputs, targets);
  lam_session_load_dataset_async (session, name, NULL, NULL, NULL);
  g_assert_true (lam_test_iterate_until (dataset_ready, session, 30000));
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("linear:1,loss=mse", &error);
  g_assert_no_error (error);
  lam_session_set_spec (session, spec);
  g_assert_true (lam_session_get_model_valid (session));

  LamWindow *window = lam_window_new (NULL, session);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_present (GTK_WINDOW (window));
  lam_test_settle (500);
  if (!lam_test_can_type_keys (GTK_WIDGET (window))) {
    g_test_skip ("keys cannot be typed here: no X11 display with libXtst.so.6");
    gtk_window_destroy (GTK_WINDOW (window));
    return NULL;
  }
  return window;
}

static void
save_window_png (LamWindow *window, const char *name)
{
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (GTK_WIDGET (window), path, &error));
  g_assert_no_error (error);
  g_test_message ("saved %s", path);
}

/* Puts the focus in field's text, as a click there does. */
static void
focus_field (LamWindow *window, GtkWidget *field)
{
  gtk_widget_grab_focus (field);
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));
  g_assert_true (GTK_IS_TEXT (focus));
  g_assert_true (gtk_widget_is_ancestor (focus, field));
}

/* The window's keys while the learning rate is being typed: a text field
 * binds Ctrl+. to its emoji picker, which opened over a run that went on
 * training. */
static void
test_train_keys_while_typing (void)
{
  g_autoptr (LamSession) session = lam_session_new ();
  LamWindow *window = typing_window_new (session);
  if (window == NULL)
    return;
  /* Two batches a second: the run is still going when the keys come. */
  g_object_set (session, "device", "cpu", "epochs", 100, "pace", 2.0, NULL);
  lam_window_show_page (window, "train");
  lam_test_settle (300);
  GtkWidget *page = lam_window_get_page (window, "train");
  GtkWidget *lr = GTK_WIDGET (gtk_widget_get_template_child (page, LAM_TYPE_TRAIN_PAGE, "lr_spin"));
  GtkWidget *lr_text = GTK_WIDGET (gtk_editable_get_delegate (GTK_EDITABLE (lr)));

  focus_field (window, lr);
  type_key (lr, GDK_KEY_Return, GDK_CONTROL_MASK);
  g_assert_true (lam_test_iterate_until (is_running, session, 10000));

  focus_field (window, lr);
  type_key (lr, GDK_KEY_period, GDK_CONTROL_MASK);
  g_assert_true (lam_test_iterate_until (is_idle, session, 10000));
  /* GtkText keeps its emoji picker under this name once opened. */
  GtkWidget *chooser = g_object_get_data (G_OBJECT (lr_text), "gtk-emoji-chooser");
  g_assert_true (chooser == NULL || !gtk_widget_get_visible (chooser));
  save_window_png (window, "shortcuts-stop-while-typing.png");

  focus_field (window, lr);
  type_key (lr, GDK_KEY_2, GDK_CONTROL_MASK);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (gtk_widget_get_parent (page))), ==,
                   "model");
  gtk_window_destroy (GTK_WINDOW (window));
}

static char *
spec_text (LamSession *session)
{
  return lam_model_spec_to_text (lam_session_get_spec (session));
}

static GtkWidget *
first_spin_button (GtkWidget *root)
{
  if (GTK_IS_SPIN_BUTTON (root) && gtk_widget_get_mapped (root))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkWidget *found = first_spin_button (child);
    if (found != NULL)
      return found;
  }
  return NULL;
}

/* Ctrl+Z and Ctrl+Shift+Z on the Model page while a layer's number or the
 * model's text has the focus: the field's own undo took the keys and
 * emptied the field, and the model's edit stayed. Text typed and not yet
 * applied is taken back first. */
static void
test_model_undo_while_typing (void)
{
  g_autoptr (LamSession) session = lam_session_new ();
  LamWindow *window = typing_window_new (session);
  if (window == NULL)
    return;
  lam_window_show_page (window, "model");
  lam_test_settle (300);
  GtkWidget *page = lam_window_get_page (window, "model");
  g_autofree char *before = spec_text (session);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) edited =
    lam_model_spec_from_text ("linear:4,relu,linear:1,loss=mse", &error);
  g_assert_no_error (error);
  lam_session_set_spec (session, edited);
  lam_test_settle (300);
  g_autofree char *after = spec_text (session);
  g_assert_cmpstr (before, !=, after);

  /* A layer's number. */
  GtkWidget *spin = first_spin_button (page);
  g_assert_nonnull (spin);
  focus_field (window, spin);
  type_key (spin, GDK_KEY_z, GDK_CONTROL_MASK);
  g_autofree char *undone = spec_text (session);
  g_assert_cmpstr (undone, ==, before);
  spin = first_spin_button (page);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (spin)), !=, "");
  focus_field (window, spin);
  type_key (spin, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK);
  g_autofree char *redone = spec_text (session);
  g_assert_cmpstr (redone, ==, after);
  save_window_png (window, "shortcuts-model-redo-while-typing.png");

  /* The model's text, untouched: the keys are the model's. */
  GtkWidget *entry =
    GTK_WIDGET (gtk_widget_get_template_child (page, LAM_TYPE_MODEL_PAGE, "text_entry"));
  g_autofree char *shown = g_strdup (gtk_editable_get_text (GTK_EDITABLE (entry)));
  focus_field (window, entry);
  type_key (entry, GDK_KEY_z, GDK_CONTROL_MASK);
  g_autofree char *undone_again = spec_text (session);
  g_assert_cmpstr (undone_again, ==, before);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), !=, "");
  focus_field (window, entry);
  type_key (entry, GDK_KEY_y, GDK_CONTROL_MASK);
  g_autofree char *redone_again = spec_text (session);
  g_assert_cmpstr (redone_again, ==, after);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, shown);

  /* Typed there and not applied: the typing goes first, then the model's
   * edit; the page's own text is never undone to an empty field. */
  focus_field (window, entry);
  gtk_editable_set_position (GTK_EDITABLE (entry), -1);
  type_key (entry, GDK_KEY_comma, 0);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), !=, shown);
  type_key (entry, GDK_KEY_z, GDK_CONTROL_MASK);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, shown);
  g_autofree char *kept = spec_text (session);
  g_assert_cmpstr (kept, ==, after);
  type_key (entry, GDK_KEY_z, GDK_CONTROL_MASK);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), !=, "");
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
  g_test_add_func ("/shortcuts/train-keys-while-typing", test_train_keys_while_typing);
  g_test_add_func ("/shortcuts/model-undo-while-typing", test_model_undo_while_typing);
  return g_test_run ();
}
