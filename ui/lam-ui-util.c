#include "lam-ui-util.h"

#include "lam-device.h"
#include "lam-file.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- workers ---- */

static GMutex workers_lock;
static GCond workers_idle;
static guint workers_running; /* under workers_lock */

static void
wait_for_workers_at_exit (void)
{
  lam_ui_wait_for_workers (LAM_UI_WORKERS_EXIT_WAIT_US);
}

gboolean
lam_ui_wait_for_workers (gint64 timeout_us)
{
  gint64 end = g_get_monotonic_time () + timeout_us;
  g_mutex_lock (&workers_lock);
  while (workers_running > 0)
    if (!g_cond_wait_until (&workers_idle, &workers_lock, end))
      break;
  gboolean idle = workers_running == 0;
  g_mutex_unlock (&workers_lock);
  return idle;
}

static void
counted_worker (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  GTaskThreadFunc func = g_object_get_data (G_OBJECT (task), "lam-worker-func");
  func (task, source_object, task_data, cancellable);
  g_mutex_lock (&workers_lock);
  if (--workers_running == 0)
    g_cond_broadcast (&workers_idle);
  g_mutex_unlock (&workers_lock);
}

void
lam_ui_run_in_thread (GTask *task, GTaskThreadFunc func)
{
  static gsize registered = 0;
  if (g_once_init_enter (&registered)) {
    // Without it (no room left for handlers), an exit may still race a worker.
    (void) atexit (wait_for_workers_at_exit);
    g_once_init_leave (&registered, 1);
  }
  g_mutex_lock (&workers_lock);
  workers_running++;
  g_mutex_unlock (&workers_lock);
  g_object_set_data (G_OBJECT (task), "lam-worker-func", func);
  g_task_run_in_thread (task, counted_worker);
}

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
  g_autoptr (GBytes) png = gdk_texture_save_to_png_bytes (texture);
  gsize length = 0;
  const void *data = g_bytes_get_data (png, &length);
  return lam_ui_write_file (path, data, length, error);
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
lam_ui_format_quantity (guint64 value, const char *one, const char *many)
{
  g_autofree char *count = lam_ui_format_count (value);
  return g_strdup_printf ("%s %s", count, value == 1 ? one : many);
}

char *
lam_ui_describe_input (const LamShape *shape)
{
  g_autofree char *dims = lam_shape_to_string (shape);
  if (shape->rank == 1)
    return g_strdup_printf ("rows of %s input%s", dims, shape->dims[0] == 1 ? "" : "s");
  return g_strdup_printf ("images of %s", dims);
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

void
lam_ui_set_source (cairo_t *cr, const GdkRGBA *color, double alpha)
{
  cairo_set_source_rgba (cr, color->red, color->green, color->blue, color->alpha * alpha);
}

void
lam_ui_rounded_rect (cairo_t *cr, double x, double y, double w, double h, double r)
{
  r = MIN (r, MIN (w, h) / 2);
  cairo_new_sub_path (cr);
  cairo_arc (cr, x + w - r, y + r, r, -G_PI / 2, 0);
  cairo_arc (cr, x + w - r, y + h - r, r, 0, G_PI / 2);
  cairo_arc (cr, x + r, y + h - r, r, G_PI / 2, G_PI);
  cairo_arc (cr, x + r, y + r, r, G_PI, 3 * G_PI / 2);
  cairo_close_path (cr);
}

PangoLayout *
lam_ui_create_layout (GtkWidget *widget, const char *text, double scale, gboolean bold,
                      gboolean tabular)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (widget, text);
  g_autoptr (PangoAttrList) attrs = pango_attr_list_new ();
  if (scale != 1.0)
    pango_attr_list_insert (attrs, pango_attr_scale_new (scale));
  if (tabular)
    pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum"));
  if (bold)
    pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  pango_layout_set_attributes (layout, attrs);
  return layout;
}

gboolean
lam_ui_update_style_key (GtkWidget *widget, char **key)
{
  GdkRGBA fg;
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  g_autofree char *color = gdk_rgba_to_string (&fg);
  g_autofree char *font =
    pango_font_description_to_string (pango_context_get_font_description (
      gtk_widget_get_pango_context (widget)));
  g_autofree char *now = g_strconcat (color, " ", font, NULL);
  if (g_strcmp0 (now, *key) == 0)
    return FALSE;
  g_free (*key);
  *key = g_steal_pointer (&now);
  return TRUE;
}

gboolean
lam_ui_write_file (const char *path, const void *data, gsize length, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_autoptr (GError) local_error = NULL;
  /* Atomic, and written through devices and symlinks: lam-file.h. */
  if (!lam_file_replace_contents (path, data, length, &local_error)) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_file_error (local_error->code), "%s",
                 local_error->message);
    return FALSE;
  }
  return TRUE;
}

static GtkWindow *
window_of (GtkWidget *widget)
{
  GtkRoot *root = widget != NULL ? gtk_widget_get_root (widget) : NULL;
  return GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL;
}

void
lam_ui_show_error (GtkWidget *widget, const char *primary, const char *secondary)
{
  GtkWidget *dialog =
    gtk_message_dialog_new (window_of (widget), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                            GTK_MESSAGE_ERROR, GTK_BUTTONS_CLOSE, "%s", primary);
  if (secondary != NULL)
    gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s", secondary);
  g_signal_connect (dialog, "response", G_CALLBACK (gtk_window_destroy), NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

typedef struct
{
  GWeakRef widget;
  LamUiSaveFunc save;
  gpointer user_data;
} SaveRequest;

static void
save_request_free (gpointer data)
{
  SaveRequest *request = data;
  g_weak_ref_clear (&request->widget);
  g_free (request);
}

static void
save_chooser_response (GtkNativeDialog *dialog, int response, SaveRequest *request)
{
  /* The chooser holds the request; this holds the chooser until the end. */
  g_autoptr (GtkNativeDialog) chooser = dialog;
  g_autoptr (GtkWidget) widget = g_weak_ref_get (&request->widget);
  if (response != GTK_RESPONSE_ACCEPT || widget == NULL)
    return;
  g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;
  g_autoptr (GError) error = NULL;
  if (path == NULL) {
    g_autofree char *uri = file != NULL ? g_file_get_uri (file) : g_strdup ("The file");
    g_autofree char *message = g_strdup_printf ("%s is not a local file.", uri);
    lam_ui_show_error (widget, "Could not save", message);
    return;
  }
  if (!request->save (widget, path, request->user_data, &error))
    lam_ui_show_error (widget, "Could not save", error != NULL ? error->message : path);
}

void
lam_ui_choose_save_file (GtkWidget *widget, const char *title, const char *file_name,
                         const char *filter_name, const char *pattern, LamUiSaveFunc save,
                         gpointer user_data)
{
  g_return_if_fail (GTK_IS_WIDGET (widget));
  g_return_if_fail (save != NULL);

  GtkFileChooserNative *chooser =
    gtk_file_chooser_native_new (title, window_of (widget), GTK_FILE_CHOOSER_ACTION_SAVE,
                                 "_Save", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  if (file_name != NULL)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), file_name);
  if (pattern != NULL) {
    GtkFileFilter *filter = gtk_file_filter_new ();
    gtk_file_filter_set_name (filter, filter_name != NULL ? filter_name : pattern);
    gtk_file_filter_add_pattern (filter, pattern);
    gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
    g_object_unref (filter);
  }

  SaveRequest *request = g_new0 (SaveRequest, 1);
  g_weak_ref_init (&request->widget, widget);
  request->save = save;
  request->user_data = user_data;
  g_object_set_data_full (G_OBJECT (chooser), "lam-save-request", request, save_request_free);
  g_signal_connect (chooser, "response", G_CALLBACK (save_chooser_response), request);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

char *
lam_ui_file_name_for (const char *title, const char *fallback, const char *ext)
{
  const char *base = title != NULL && title[0] != '\0' ? title : fallback;
  GString *name = g_string_new (NULL);
  for (const char *p = base; p != NULL && *p != '\0'; p++) {
    if (*p == '/')
      g_string_append (name, "-");
    else if ((guchar) *p < 0x20)
      g_string_append_c (name, ' ');
    else
      g_string_append_c (name, *p);
  }
  g_string_append (name, ext);
  return g_string_free (name, FALSE);
}

void
lam_ui_set_accessible_label (GtkWidget *widget, const char *label)
{
  g_return_if_fail (GTK_IS_WIDGET (widget));
  if (label != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                    -1);
  else
    gtk_accessible_reset_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL);
  g_object_set_data_full (G_OBJECT (widget), "lam-accessible-label", g_strdup (label), g_free);
}

const char *
lam_ui_get_accessible_label (GtkWidget *widget)
{
  g_return_val_if_fail (GTK_IS_WIDGET (widget), NULL);
  return g_object_get_data (G_OBJECT (widget), "lam-accessible-label");
}

/* GTK selects all in its grab_focus, right after the window's focus-widget
 * changes (whether or not the window is active): the selection is taken
 * back in an idle that runs before the next frame is drawn, so it never
 * shows. A click moves the selection to the pointer instead, and a
 * selection the person makes later is theirs. */
#define WATCHED_KEY "lam-focus-watched-root"

static gboolean
unselect_arrived (gpointer data)
{
  g_autoptr (GtkLabel) label = data;
  int start = 0, end = 0;
  glong length = g_utf8_strlen (gtk_label_get_text (label), -1);
  if (gtk_widget_has_focus (GTK_WIDGET (label)) &&
      gtk_label_get_selection_bounds (label, &start, &end) && start == 0 && end == length)
    gtk_label_select_region (label, 0, 0);
  return G_SOURCE_REMOVE;
}

static void
on_root_focus_changed (GtkWindow *window, GParamSpec *pspec, GtkLabel *label)
{
  if (gtk_window_get_focus (window) != GTK_WIDGET (label))
    return;
  /* Before GSK draws (GDK_PRIORITY_REDRAW is lower). */
  g_idle_add_full (G_PRIORITY_HIGH_IDLE, unselect_arrived, g_object_ref (label), NULL);
}

static void
watch_root_focus (GtkLabel *label)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (label));
  if (!GTK_IS_WINDOW (root) || g_object_get_data (G_OBJECT (label), WATCHED_KEY) == root)
    return;
  g_object_set_data (G_OBJECT (label), WATCHED_KEY, root);
  g_signal_connect_object (root, "notify::focus-widget", G_CALLBACK (on_root_focus_changed), label,
                           0);
}

void
lam_ui_label_unselected_on_focus (GtkLabel *label)
{
  g_return_if_fail (GTK_IS_LABEL (label));
  g_signal_connect (label, "realize", G_CALLBACK (watch_root_focus), NULL);
  if (gtk_widget_get_realized (GTK_WIDGET (label)))
    watch_root_focus (label);
}

/* GTK 4.8's expander takes its child out of the widget tree while
 * collapsed, yet Tab from the expander still offers the child the focus;
 * the child, with no window above it, asks a NULL root for the window's
 * focus (a critical). A hidden child is passed over. */
void
lam_ui_expander_hide_collapsed_child (GtkExpander *expander)
{
  g_return_if_fail (GTK_IS_EXPANDER (expander));
  GtkWidget *child = gtk_expander_get_child (expander);
  g_return_if_fail (child != NULL);
  g_object_bind_property (expander, "expanded", child, "visible", G_BINDING_SYNC_CREATE);
}

double
lam_ui_font_pixels (GtkWidget *widget)
{
  const PangoFontDescription *font =
    pango_context_get_font_description (gtk_widget_get_pango_context (widget));
  double size = font != NULL ? pango_font_description_get_size (font) / (double) PANGO_SCALE : 0;
  if (size <= 0)
    return 13;
  return pango_font_description_get_size_is_absolute (font) ? size : size * 96.0 / 72.0;
}

LamUiModel *
lam_ui_model_new (const LamModelSpec *spec, const float *params, gsize n_params, int max_batch,
                  GError **error)
{
  /* A model without parameters holds none: an evaluation's copy of its
   * weights is NULL. */
  g_return_val_if_fail (spec != NULL && (params != NULL || n_params == 0), NULL);
  LamUiModel *ui = g_new0 (LamUiModel, 1);
  ui->backend = lam_backend_cpu_new ();
  ui->model = lam_model_new_with_params (spec, ui->backend, max_batch, params, n_params, error);
  if (ui->model == NULL) {
    lam_ui_model_free (ui);
    return NULL;
  }
  return ui;
}

LamUiModel *
lam_ui_model_new_for_rows (const LamModelSpec *spec, const float *params, gsize n_params,
                           int n_inputs, int max_batch, GError **error)
{
  g_autoptr (LamUiModel) ui = lam_ui_model_new (spec, params, n_params, max_batch, error);
  if (ui == NULL)
    return NULL;
  const LamShape *input = &lam_model_get_plan (ui->model)->input;
  if (lam_shape_numel (input) != (gsize) n_inputs) {
    g_autofree char *shape = lam_shape_to_string (input);
    g_set_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_SHAPE,
                 "the model takes inputs of %s, not rows of %d values", shape, n_inputs);
    return NULL;
  }
  return g_steal_pointer (&ui);
}

void
lam_ui_model_free (LamUiModel *ui)
{
  if (ui == NULL)
    return;
  g_clear_pointer (&ui->model, lam_model_free);
  g_clear_pointer (&ui->backend, lam_backend_free);
  g_free (ui);
}
