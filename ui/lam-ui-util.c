#include "lam-ui-util.h"

#include <math.h>
#include <string.h>

gboolean
lam_ui_save_png (GtkWidget *widget, const char *path, GError **error)
{
  GtkNative *native = gtk_widget_get_native (widget);
  GskRenderer *renderer = native != NULL ? gtk_native_get_renderer (native) : NULL;
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  if (renderer == NULL || width <= 0 || height <= 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                 "cannot save %s: the widget is not shown yet", path);
    return FALSE;
  }

  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  /* A window's paintable has no background of its own under some themes. */
  gtk_snapshot_append_color (snapshot, &(GdkRGBA){ 1, 1, 1, 1 },
                             &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (node == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot save %s: nothing was drawn",
                 path);
    return FALSE;
  }
  g_autoptr (GdkTexture) texture =
    gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not write %s", path);
    return FALSE;
  }
  return TRUE;
}

GSettings *
lam_ui_settings_new (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  if (source == NULL)
    return NULL;
  g_autoptr (GSettingsSchema) schema =
    g_settings_schema_source_lookup (source, "org.lamina.Lamina", TRUE);
  if (schema == NULL)
    return NULL;
  return g_settings_new_full (schema, NULL, NULL);
}

char *
lam_ui_format_count (guint64 value)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GUINT64_FORMAT, value);
  GString *out = g_string_new (NULL);
  int len = (int) strlen (digits);
  for (int i = 0; i < len; i++) {
    if (i > 0 && (len - i) % 3 == 0)
      g_string_append_c (out, ',');
    g_string_append_c (out, digits[i]);
  }
  return g_string_free (out, FALSE);
}

char *
lam_ui_format_si (double value)
{
  static const char *const units[] = { "", " k", " M", " G", " T" };
  int unit = 0;
  while (fabs (value) >= 1000 && unit < 4) {
    value /= 1000;
    unit++;
  }
  if (unit == 0)
    return g_strdup_printf ("%.0f", value);
  return g_strdup_printf (fabs (value) < 10 ? "%.2f%s" : fabs (value) < 100 ? "%.1f%s" : "%.0f%s",
                          value, units[unit]);
}

char *
lam_ui_format_duration (double seconds)
{
  if (!isfinite (seconds) || seconds < 0)
    return g_strdup ("–");
  long total = lround (seconds);
  if (total >= 3600)
    return g_strdup_printf ("%ld:%02ld:%02ld", total / 3600, (total / 60) % 60, total % 60);
  return g_strdup_printf ("%ld:%02ld", total / 60, total % 60);
}
