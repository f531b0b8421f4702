#include "lam-window.h"

#include "lam-data-page.h"
#include "lam-download-dialog.h"
#include "lam-evaluate-page.h"
#include "lam-model-page.h"
#include "lam-train-page.h"
#include "lam-ui-util.h"

struct _LamWindow
{
  GtkApplicationWindow parent_instance;

  LamProject *project; /* owned */

  GtkStack *stack;
  GtkLabel *dataset_label;
  GtkWidget *data_page;
  GtkWidget *model_page;
  GtkWidget *train_page;
  GtkWidget *evaluate_page;
  GtkToggleButton *presentation_button;
  gboolean presentation;
  GSettings *settings; /* owned, NULL when the schema is not installed */
};

G_DEFINE_FINAL_TYPE (LamWindow, lam_window, GTK_TYPE_APPLICATION_WINDOW)

enum
{
  PROP_0,
  PROP_PROJECT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *const page_names[] = { "data", "model", "train", "evaluate" };

static void
action_show_page (GtkWidget *widget, const char *name, GVariant *parameter)
{
  LamWindow *self = LAM_WINDOW (widget);
  int index = g_variant_get_int32 (parameter);
  if (index >= 1 && index <= (int) G_N_ELEMENTS (page_names))
    lam_window_show_page (self, page_names[index - 1]);
}

static void
action_open_dataset (GtkWidget *widget, const char *name, GVariant *parameter)
{
  LamWindow *self = LAM_WINDOW (widget);
  lam_window_show_page (self, "data");
  lam_data_page_choose_folder (LAM_DATA_PAGE (self->data_page));
}

static void
action_download (GtkWidget *widget, const char *name, GVariant *parameter)
{
  LamWindow *self = LAM_WINDOW (widget);
  lam_download_dialog_present (GTK_WINDOW (self), self->project);
}

static void
action_start_pause (GtkWidget *widget, const char *name, GVariant *parameter)
{
  LamWindow *self = LAM_WINDOW (widget);
  LamTrainPage *train = LAM_TRAIN_PAGE (self->train_page);
  /* Starting from another page shows the charts the run will draw. */
  if (lam_train_page_get_state (train) == LAM_TRAIN_STATE_IDLE)
    lam_window_show_page (self, "train");
  lam_train_page_start_or_pause (train);
}

static void
action_step (GtkWidget *widget, const char *name, GVariant *parameter)
{
  LamWindow *self = LAM_WINDOW (widget);
  lam_window_show_page (self, "train");
  lam_train_page_step (LAM_TRAIN_PAGE (self->train_page));
}

static void
action_stop (GtkWidget *widget, const char *name, GVariant *parameter)
{
  LamWindow *self = LAM_WINDOW (widget);
  lam_train_page_stop (LAM_TRAIN_PAGE (self->train_page));
}

void
lam_window_set_presentation (LamWindow *self, gboolean presentation)
{
  presentation = !!presentation;
  if (self->presentation == presentation)
    return;
  self->presentation = presentation;
  if (presentation) {
    gtk_widget_add_css_class (GTK_WIDGET (self), "presentation");
    gtk_window_fullscreen (GTK_WINDOW (self));
  } else {
    gtk_widget_remove_css_class (GTK_WIDGET (self), "presentation");
    gtk_window_unfullscreen (GTK_WINDOW (self));
  }
  lam_train_page_set_presentation (LAM_TRAIN_PAGE (self->train_page), presentation);
  gtk_toggle_button_set_active (self->presentation_button, presentation);
}

gboolean
lam_window_get_presentation (LamWindow *self)
{
  return self->presentation;
}

static void
action_presentation (GtkWidget *widget, const char *name, GVariant *parameter)
{
  LamWindow *self = LAM_WINDOW (widget);
  lam_window_set_presentation (self, !self->presentation);
}

static void
on_presentation_toggled (LamWindow *self)
{
  lam_window_set_presentation (self, gtk_toggle_button_get_active (self->presentation_button));
}

static void
update_title (LamWindow *self)
{
  const char *name = lam_project_get_dataset_name (self->project);
  gtk_label_set_text (self->dataset_label, name ? name : "");
}

static void
lam_window_constructed (GObject *object)
{
  LamWindow *self = LAM_WINDOW (object);
  G_OBJECT_CLASS (lam_window_parent_class)->constructed (object);

  if (self->project == NULL)
    self->project = lam_project_new ();

  self->data_page = lam_data_page_new (self->project);
  self->model_page = lam_model_page_new (self->project);
  self->train_page = lam_train_page_new (self->project);
  self->evaluate_page = lam_evaluate_page_new (self->project);
  gtk_stack_add_titled (self->stack, self->data_page, "data", "Data");
  gtk_stack_add_titled (self->stack, self->model_page, "model", "Model");
  gtk_stack_add_titled (self->stack, self->train_page, "train", "Train");
  gtk_stack_add_titled (self->stack, self->evaluate_page, "evaluate", "Evaluate");

  g_signal_connect_object (self->project, "notify::dataset-name", G_CALLBACK (update_title), self,
                           G_CONNECT_SWAPPED);
  update_title (self);

  self->settings = lam_ui_settings_new ();
  if (self->settings != NULL) {
    gtk_window_set_default_size (GTK_WINDOW (self),
                                 g_settings_get_int (self->settings, "window-width"),
                                 g_settings_get_int (self->settings, "window-height"));
    if (g_settings_get_boolean (self->settings, "window-maximized"))
      gtk_window_maximize (GTK_WINDOW (self));
  }
}

static gboolean
lam_window_close_request (GtkWindow *window)
{
  LamWindow *self = LAM_WINDOW (window);
  if (self->settings != NULL && !self->presentation) {
    int width, height;
    gtk_window_get_default_size (window, &width, &height);
    g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
    if (!gtk_window_is_maximized (window) && width > 0 && height > 0) {
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
    }
  }
  return GTK_WINDOW_CLASS (lam_window_parent_class)->close_request (window);
}

static void
lam_window_dispose (GObject *object)
{
  LamWindow *self = LAM_WINDOW (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), LAM_TYPE_WINDOW);
  G_OBJECT_CLASS (lam_window_parent_class)->dispose (object);
}

static void
lam_window_finalize (GObject *object)
{
  LamWindow *self = LAM_WINDOW (object);
  g_clear_object (&self->project);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (lam_window_parent_class)->finalize (object);
}

static void
lam_window_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamWindow *self = LAM_WINDOW (object);
  switch (prop_id) {
  case PROP_PROJECT:
    g_value_set_object (value, self->project);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_window_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  LamWindow *self = LAM_WINDOW (object);
  switch (prop_id) {
  case PROP_PROJECT:
    self->project = g_value_dup_object (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_window_class_init (LamWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = lam_window_constructed;
  object_class->dispose = lam_window_dispose;
  object_class->finalize = lam_window_finalize;
  object_class->get_property = lam_window_get_property;
  object_class->set_property = lam_window_set_property;
  GTK_WINDOW_CLASS (klass)->close_request = lam_window_close_request;

  properties[PROP_PROJECT] =
    g_param_spec_object ("project", NULL, NULL, LAM_TYPE_PROJECT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/lamina/Lamina/ui/lam-window.ui");
  gtk_widget_class_bind_template_child (widget_class, LamWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, LamWindow, dataset_label);
  gtk_widget_class_bind_template_child (widget_class, LamWindow, presentation_button);
  gtk_widget_class_bind_template_callback (widget_class, on_presentation_toggled);

  gtk_widget_class_install_action (widget_class, "win.page", "i", action_show_page);
  gtk_widget_class_install_action (widget_class, "win.open-dataset", NULL, action_open_dataset);
  gtk_widget_class_install_action (widget_class, "win.download", NULL, action_download);
  gtk_widget_class_install_action (widget_class, "win.start-pause", NULL, action_start_pause);
  gtk_widget_class_install_action (widget_class, "win.step", NULL, action_step);
  gtk_widget_class_install_action (widget_class, "win.stop", NULL, action_stop);
  gtk_widget_class_install_action (widget_class, "win.presentation", NULL, action_presentation);

  for (int i = 1; i <= 4; i++)
    gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0 + i, GDK_CONTROL_MASK, "win.page",
                                         "i", i);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK,
                                       "win.open-dataset", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK,
                                       "win.start-pause", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, GDK_CONTROL_MASK,
                                       "win.start-pause", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, GDK_CONTROL_MASK, "win.step",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_period, GDK_CONTROL_MASK, "win.stop",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F11, 0, "win.presentation", NULL);
}

/* The app's styles, loaded once per display by the first window, so a
 * window made by a test looks like the app's. */
static void
load_styles (GtkWidget *widget)
{
  GdkDisplay *display = gtk_widget_get_display (widget);
  if (g_object_get_data (G_OBJECT (display), "lamina-styles") != NULL)
    return;
  GtkCssProvider *css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/org/lamina/Lamina/ui/style.css");
  gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  g_object_set_data_full (G_OBJECT (display), "lamina-styles", css, g_object_unref);
}

static void
lam_window_init (LamWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  load_styles (GTK_WIDGET (self));
}

LamWindow *
lam_window_new (GtkApplication *application, LamProject *project)
{
  return g_object_new (LAM_TYPE_WINDOW, "application", application, "project", project, NULL);
}

LamProject *
lam_window_get_project (LamWindow *self)
{
  return self->project;
}

void
lam_window_show_page (LamWindow *self, const char *name)
{
  gtk_stack_set_visible_child_name (self->stack, name);
}

GtkWidget *
lam_window_get_page (LamWindow *self, const char *name)
{
  return gtk_stack_get_child_by_name (self->stack, name);
}
