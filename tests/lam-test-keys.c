/* lam-test-keys.c: keys typed for real. GTK 4 has no public way to make a
 * key event, so the X server's XTEST extension types them, and they take
 * the path a person's keys take (the window's capture phase, the focused
 * widget and its bindings, then the page and the window). libXtst is
 * looked up at run time, so that the tests build without its headers. */
#include "lam-test-keys.h"
#include "lam-help.h"
#include "lam-ui-util.h"

#include <gmodule.h>
#ifdef GDK_WINDOWING_X11
#include <gdk/x11/gdkx.h>

typedef int (*FakeKeyEvent) (Display *display, unsigned int keycode, Bool is_press,
                             unsigned long delay);

static FakeKeyEvent
xtest_fake_key_event (GtkWidget *widget)
{
  static GModule *module;
  static FakeKeyEvent fake;
  if (!GDK_IS_X11_DISPLAY (gtk_widget_get_display (widget)))
    return NULL;
  if (module == NULL && (module = g_module_open ("libXtst.so.6", G_MODULE_BIND_LAZY)) != NULL)
    g_module_symbol (module, "XTestFakeKeyEvent", (gpointer *) &fake);
  return fake;
}

static guint
keycode_of (GdkDisplay *display, guint keyval)
{
  g_autofree GdkKeymapKey *keys = NULL;
  int n_keys = 0;
  g_assert_true (gdk_display_map_keyval (display, keyval, &keys, &n_keys));
  g_assert_cmpint (n_keys, >, 0);
  return keys[0].keycode;
}
#endif

gboolean
lam_test_can_type_keys (GtkWidget *widget)
{
#ifdef GDK_WINDOWING_X11
  return xtest_fake_key_event (widget) != NULL;
#else
  return FALSE;
#endif
}

void
lam_test_type_key (GtkWidget *widget, guint keyval, GdkModifierType modifiers)
{
#ifdef GDK_WINDOWING_X11
  FakeKeyEvent fake = xtest_fake_key_event (widget);
  g_assert_nonnull (fake);
  GdkDisplay *display = gtk_widget_get_display (widget);
  Display *xdisplay = gdk_x11_display_get_xdisplay (display);
  guint held[2], n_held = 0;
  if (modifiers & GDK_CONTROL_MASK)
    held[n_held++] = keycode_of (display, GDK_KEY_Control_L);
  if (modifiers & GDK_SHIFT_MASK)
    held[n_held++] = keycode_of (display, GDK_KEY_Shift_L);
  for (guint i = 0; i < n_held; i++)
    fake (xdisplay, held[i], True, 0);
  guint key = keycode_of (display, keyval);
  fake (xdisplay, key, True, 0);
  fake (xdisplay, key, False, 0);
  for (guint i = n_held; i-- > 0;)
    fake (xdisplay, held[i], False, 0);
  gdk_display_flush (display);
#else
  g_assert_not_reached ();
#endif
}

GBytes *
lam_test_render_pixels (GtkWidget *widget)
{
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  g_assert_nonnull (node);
  g_autoptr (GdkTexture) texture =
    gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  gsize stride = (gsize) width * 4;
  guchar *data = g_malloc (stride * height);
  gdk_texture_download (texture, data, stride);
  return g_bytes_new_take (data, stride * height);
}

char *
lam_test_describe_focus (GtkWidget *focus)
{
  if (focus == NULL)
    return g_strdup ("(nothing)");
  const char *name = lam_ui_get_accessible_label (focus);
  if (name == NULL)
    name = gtk_widget_get_tooltip_text (focus);
  if (name == NULL && GTK_IS_BUTTON (focus))
    name = gtk_button_get_label (GTK_BUTTON (focus));
  GtkWidget *parent = gtk_widget_get_parent (focus);
  return g_strdup_printf ("%s[%s]%s in %s", G_OBJECT_TYPE_NAME (focus), name ? name : "",
                          gtk_widget_get_mapped (focus) ? "" : " UNMAPPED",
                          parent ? G_OBJECT_TYPE_NAME (parent) : "-");
}

GtkWidget *
lam_test_find_help_button (GtkWidget *root, const char *topic)
{
  if (LAM_IS_HELP_BUTTON (root) &&
      g_strcmp0 (lam_help_button_get_topic (LAM_HELP_BUTTON (root)), topic) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkWidget *found = lam_test_find_help_button (child, topic);
    if (found != NULL)
      return found;
  }
  return NULL;
}
