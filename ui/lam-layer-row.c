#include "lam-layer-row.h"

#include <math.h>

#include "lam-ui-util.h"

typedef enum
{
  FIELD_OUT,
  FIELD_KERNEL,
  FIELD_STRIDE,
  FIELD_PADDING,
  FIELD_P,
  FIELD_SLOPE,
  N_FIELDS
} Field;

static const char *const field_names[N_FIELDS] = {
  "out", "kernel", "stride", "padding", "p", "slope",
};

#define MAX_EDITORS 4

typedef struct
{
  Field field;
  GtkSpinButton *spin;
} Editor;

struct _LamLayerRow
{
  GtkListBoxRow parent_instance;

  LamLayerSpec spec;

  GtkWidget *number_box;
  GtkWidget *number_label;
  GtkWidget *kind_label;
  GtkWidget *settings_box;
  GtkWidget *shape_label;
  GtkWidget *params_label;
  GtkWidget *flops_label;
  GtkWidget *actions_box;
  GtkWidget *up_button;
  GtkWidget *down_button;
  GtkWidget *error_box;
  GtkWidget *error_spacer;
  GtkWidget *error_label;

  Editor editors[MAX_EDITORS];
  int n_editors;

  char *error; /* owned; NULL unless this layer breaks the stack */
  gboolean planned_once;
};

G_DEFINE_FINAL_TYPE (LamLayerRow, lam_layer_row, GTK_TYPE_LIST_BOX_ROW)

enum
{
  CHANGED,
  REMOVE_REQUESTED,
  MOVE_REQUESTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const struct
{
  const char *title;
  const char *description;
} kind_info[LAM_N_LAYER_KINDS] = {
  [LAM_LAYER_LINEAR] = { "Linear", "every input to every output" },
  [LAM_LAYER_CONV2D] = { "Conv2d", "filters slid over the image" },
  [LAM_LAYER_MAXPOOL2D] = { "MaxPool2d", "largest of each window" },
  [LAM_LAYER_AVGPOOL2D] = { "AvgPool2d", "average of each window" },
  [LAM_LAYER_RELU] = { "ReLU", "negative values become 0" },
  [LAM_LAYER_LEAKY_RELU] = { "LeakyReLU", "ReLU with a slope below 0" },
  [LAM_LAYER_SIGMOID] = { "Sigmoid", "squashes values into 0…1" },
  [LAM_LAYER_TANH] = { "Tanh", "squashes values into −1…1" },
  [LAM_LAYER_FLATTEN] = { "Flatten", "image to one long vector" },
  [LAM_LAYER_DROPOUT] = { "Dropout", "random zeros while training" },
  [LAM_LAYER_SOFTMAX] = { "Softmax", "scores to probabilities" },
  [LAM_LAYER_LOG_SOFTMAX] = { "LogSoftmax", "log-probabilities, for NLL" },
};

const char *
lam_layer_row_kind_title (LamLayerKind kind)
{
  g_return_val_if_fail (kind >= 0 && kind < LAM_N_LAYER_KINDS, NULL);
  return kind_info[kind].title;
}

const char *
lam_layer_row_kind_description (LamLayerKind kind)
{
  g_return_val_if_fail (kind >= 0 && kind < LAM_N_LAYER_KINDS, NULL);
  return kind_info[kind].description;
}

static double
spec_get (const LamLayerSpec *spec, Field field)
{
  switch (field) {
  case FIELD_OUT:
    return spec->out;
  case FIELD_KERNEL:
    return spec->kernel;
  case FIELD_STRIDE:
    return spec->stride;
  case FIELD_PADDING:
    return spec->padding;
  case FIELD_P:
    return spec->p;
  case FIELD_SLOPE:
    return spec->slope;
  case N_FIELDS:
  default:
    break;
  }
  g_assert_not_reached ();
  return 0;
}

/* TRUE when the value changed. */
static gboolean
spec_set (LamLayerSpec *spec, Field field, double value)
{
  int *i = NULL;
  float *f = NULL;
  double *d = NULL;

  switch (field) {
  case FIELD_OUT:
    i = &spec->out;
    break;
  case FIELD_KERNEL:
    i = &spec->kernel;
    break;
  case FIELD_STRIDE:
    i = &spec->stride;
    break;
  case FIELD_PADDING:
    i = &spec->padding;
    break;
  case FIELD_P:
    d = &spec->p;
    break;
  case FIELD_SLOPE:
    f = &spec->slope;
    break;
  case N_FIELDS:
  default:
    g_assert_not_reached ();
  }

  if (i != NULL) {
    int v = (int) lround (value);
    if (*i == v)
      return FALSE;
    *i = v;
  } else if (d != NULL) {
    if (*d == value)
      return FALSE;
    *d = value;
  } else {
    float v = (float) value;
    if (*f == v)
      return FALSE;
    *f = v;
  }
  return TRUE;
}

static gboolean
is_pool (LamLayerKind kind)
{
  return kind == LAM_LAYER_MAXPOOL2D || kind == LAM_LAYER_AVGPOOL2D;
}

/* A pool's stride 0 means "as large as the kernel", which is what PyTorch
 * does when it is left out; the field says so in words. */
static gboolean
is_auto_stride (LamLayerRow *self, Field field)
{
  return field == FIELD_STRIDE && is_pool (self->spec.kind);
}

static Editor *
find_editor_by_spin (LamLayerRow *self, GtkSpinButton *spin)
{
  for (int i = 0; i < self->n_editors; i++)
    if (self->editors[i].spin == spin)
      return &self->editors[i];
  return NULL;
}

static void
apply_value (LamLayerRow *self, Field field, double value)
{
  if (spec_set (&self->spec, field, value))
    g_signal_emit (self, signals[CHANGED], 0);
}

static void
on_spin_value_changed (GtkSpinButton *spin, LamLayerRow *self)
{
  Editor *editor = find_editor_by_spin (self, spin);
  g_assert (editor != NULL);
  apply_value (self, editor->field, gtk_spin_button_get_value (spin));
}

/* Spin buttons commit on Enter or when focus leaves; the shapes follow each
 * keystroke instead, whenever the text so far is a value the field takes. */
static void
on_spin_text_changed (GtkEditable *editable, LamLayerRow *self)
{
  GtkSpinButton *spin = GTK_SPIN_BUTTON (editable);
  Editor *editor = find_editor_by_spin (self, spin);
  if (editor == NULL)
    return;

  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (editable)));
  double value;
  if (is_auto_stride (self, editor->field) && g_ascii_strcasecmp (text, "auto") == 0) {
    value = 0;
  } else {
    char *end = NULL;
    value = g_strtod (text, &end);
    if (end == text || *end != '\0' || !isfinite (value))
      return;
  }

  GtkAdjustment *adj = gtk_spin_button_get_adjustment (spin);
  if (value < gtk_adjustment_get_lower (adj) || value > gtk_adjustment_get_upper (adj))
    return;
  if (gtk_spin_button_get_digits (spin) == 0 && value != floor (value))
    return;
  apply_value (self, editor->field, value);
}

static gboolean
on_stride_output (GtkSpinButton *spin, gpointer user_data)
{
  if (gtk_spin_button_get_value (spin) != 0)
    return FALSE;
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (spin)), "auto") != 0)
    gtk_editable_set_text (GTK_EDITABLE (spin), "auto");
  return TRUE;
}

static int
on_stride_input (GtkSpinButton *spin, double *new_value, gpointer user_data)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (spin))));
  if (g_ascii_strcasecmp (text, "auto") != 0)
    return FALSE;
  *new_value = 0;
  return TRUE;
}

static void
add_editor (LamLayerRow *self, Field field, const char *label, const char *tooltip, int chars,
            double lower, double upper, double step, int digits)
{
  g_assert (self->n_editors < MAX_EDITORS);

  GtkWidget *caption = gtk_label_new (label);
  gtk_widget_add_css_class (caption, "dim-label");
  gtk_widget_add_css_class (caption, "field-caption");
  gtk_widget_set_tooltip_text (caption, tooltip);
  gtk_box_append (GTK_BOX (self->settings_box), caption);

  GtkAdjustment *adj = gtk_adjustment_new (spec_get (&self->spec, field), lower, upper, step,
                                           step * 8, 0);
  GtkWidget *spin = gtk_spin_button_new (NULL, 1, digits);
  gtk_editable_set_width_chars (GTK_EDITABLE (spin), chars);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (spin, tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (spin), GTK_ACCESSIBLE_PROPERTY_LABEL, tooltip,
                                  -1);
  if (is_auto_stride (self, field)) {
    g_signal_connect (spin, "output", G_CALLBACK (on_stride_output), NULL);
    g_signal_connect (spin, "input", G_CALLBACK (on_stride_input), NULL);
  }
  gtk_spin_button_configure (GTK_SPIN_BUTTON (spin), adj, 1, digits);
  if (is_auto_stride (self, field))
    on_stride_output (GTK_SPIN_BUTTON (spin), NULL);
  g_signal_connect (spin, "value-changed", G_CALLBACK (on_spin_value_changed), self);
  g_signal_connect (spin, "changed", G_CALLBACK (on_spin_text_changed), self);
  gtk_box_append (GTK_BOX (self->settings_box), spin);

  self->editors[self->n_editors++] = (Editor){ field, GTK_SPIN_BUTTON (spin) };
}

static void
on_bias_toggled (GtkCheckButton *check, LamLayerRow *self)
{
  gboolean bias = gtk_check_button_get_active (check);
  if (self->spec.bias == bias)
    return;
  self->spec.bias = bias;
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
build_editors (LamLayerRow *self)
{
  const LamLayerSpec *spec = &self->spec;

  switch (spec->kind) {
  case LAM_LAYER_LINEAR:
    add_editor (self, FIELD_OUT, "out", "Output features", 4, 1, 65536, 1, 0);
    break;
  case LAM_LAYER_CONV2D:
    add_editor (self, FIELD_OUT, "out", "Filters (output channels)", 4, 1, 4096, 1, 0);
    add_editor (self, FIELD_KERNEL, "kernel", "Kernel size (square)", 2, 1, 99, 1, 0);
    add_editor (self, FIELD_STRIDE, "stride", "Stride", 2, 1, 16, 1, 0);
    add_editor (self, FIELD_PADDING, "padding", "Zero padding on each side", 2, 0, 16, 1, 0);
    break;
  case LAM_LAYER_MAXPOOL2D:
  case LAM_LAYER_AVGPOOL2D:
    add_editor (self, FIELD_KERNEL, "kernel", "Window size (square)", 2, 1, 99, 1, 0);
    add_editor (self, FIELD_STRIDE, "stride", "Stride (auto: the window size)", 4, 0, 16, 1, 0);
    add_editor (self, FIELD_PADDING, "padding", "Padding (at most half the window)", 2, 0, 16, 1,
                0);
    break;
  case LAM_LAYER_DROPOUT:
    add_editor (self, FIELD_P, "p", "Probability of zeroing each value", 4, 0, 0.95, 0.05, 2);
    break;
  case LAM_LAYER_LEAKY_RELU:
    add_editor (self, FIELD_SLOPE, "slope", "Slope below zero", 4, 0, 1, 0.01, 2);
    break;
  default:
    break;
  }

  if (lam_layer_kind_has_params (spec->kind)) {
    GtkWidget *check = gtk_check_button_new_with_label ("bias");
    gtk_check_button_set_active (GTK_CHECK_BUTTON (check), spec->bias);
    gtk_widget_set_tooltip_text (check, "Add a learned bias to each output");
    g_signal_connect (check, "toggled", G_CALLBACK (on_bias_toggled), self);
    gtk_box_append (GTK_BOX (self->settings_box), check);
  }
}

static void
on_up_clicked (GtkButton *button, LamLayerRow *self)
{
  g_signal_emit (self, signals[MOVE_REQUESTED], 0, -1);
}

static void
on_down_clicked (GtkButton *button, LamLayerRow *self)
{
  g_signal_emit (self, signals[MOVE_REQUESTED], 0, +1);
}

static void
on_remove_clicked (GtkButton *button, LamLayerRow *self)
{
  g_signal_emit (self, signals[REMOVE_REQUESTED], 0);
}

static GtkWidget *
action_button (const char *icon, const char *tooltip, GCallback callback, LamLayerRow *self)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_add_css_class (button, "row-action");
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, tooltip,
                                  -1);
  g_signal_connect (button, "clicked", callback, self);
  gtk_box_append (GTK_BOX (self->actions_box), button);
  return button;
}

static GtkWidget *
figure_label (void)
{
  GtkWidget *label = gtk_label_new ("—");
  gtk_label_set_xalign (GTK_LABEL (label), 1);
  gtk_widget_add_css_class (label, "numeric");
  gtk_widget_add_css_class (label, "figure");
  return label;
}

static void
lam_layer_row_finalize (GObject *object)
{
  LamLayerRow *self = LAM_LAYER_ROW (object);
  g_clear_pointer (&self->error, g_free);
  G_OBJECT_CLASS (lam_layer_row_parent_class)->finalize (object);
}

static void
lam_layer_row_class_init (LamLayerRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->finalize = lam_layer_row_finalize;

  /* The spec changed through one of the editors. */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[REMOVE_REQUESTED] = g_signal_new ("remove-requested", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                            G_TYPE_NONE, 0);
  /* The argument is -1 (up) or +1 (down). */
  signals[MOVE_REQUESTED] = g_signal_new ("move-requested", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                          1, G_TYPE_INT);
}

static void
lam_layer_row_init (LamLayerRow *self)
{
  gtk_widget_add_css_class (GTK_WIDGET (self), "layer-row");

  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 6);
  gtk_widget_set_margin_top (box, 3);
  gtk_widget_set_margin_bottom (box, 3);
  GtkWidget *line = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  gtk_box_append (GTK_BOX (box), line);

  self->number_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
  GtkWidget *handle = gtk_image_new_from_icon_name ("list-drag-handle-symbolic");
  gtk_widget_add_css_class (handle, "dim-label");
  gtk_widget_set_tooltip_text (handle, "Drag to move");
  gtk_widget_set_cursor_from_name (handle, "grab");
  gtk_box_append (GTK_BOX (self->number_box), handle);
  self->number_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->number_label), 1);
  gtk_widget_set_hexpand (self->number_label, TRUE);
  gtk_widget_add_css_class (self->number_label, "numeric");
  gtk_widget_add_css_class (self->number_label, "layer-number");
  gtk_box_append (GTK_BOX (self->number_box), self->number_label);
  gtk_box_append (GTK_BOX (line), self->number_box);

  self->kind_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->kind_label), 0);
  gtk_widget_add_css_class (self->kind_label, "layer-kind");
  gtk_box_append (GTK_BOX (line), self->kind_label);

  self->settings_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 5);
  gtk_widget_set_valign (self->settings_box, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (line), self->settings_box);

  self->shape_label = figure_label ();
  gtk_box_append (GTK_BOX (line), self->shape_label);
  self->params_label = figure_label ();
  gtk_box_append (GTK_BOX (line), self->params_label);
  self->flops_label = figure_label ();
  gtk_box_append (GTK_BOX (line), self->flops_label);

  self->actions_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  gtk_widget_set_halign (self->actions_box, GTK_ALIGN_END);
  gtk_widget_set_hexpand (self->actions_box, TRUE);
  self->up_button = action_button ("go-up-symbolic", "Move up (Alt+↑)",
                                   G_CALLBACK (on_up_clicked), self);
  self->down_button = action_button ("go-down-symbolic", "Move down (Alt+↓)",
                                     G_CALLBACK (on_down_clicked), self);
  action_button ("user-trash-symbolic", "Remove (Delete)", G_CALLBACK (on_remove_clicked), self);
  gtk_box_append (GTK_BOX (line), self->actions_box);

  self->error_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  gtk_widget_add_css_class (self->error_box, "layer-error");
  gtk_widget_set_visible (self->error_box, FALSE);
  self->error_spacer = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  gtk_box_append (GTK_BOX (self->error_box), self->error_spacer);
  GtkWidget *icon = gtk_image_new_from_icon_name ("dialog-error-symbolic");
  gtk_widget_set_valign (icon, GTK_ALIGN_START);
  gtk_widget_add_css_class (icon, "error");
  gtk_box_append (GTK_BOX (self->error_box), icon);
  self->error_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->error_label), 0);
  gtk_label_set_wrap (GTK_LABEL (self->error_label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (self->error_label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_max_width_chars (GTK_LABEL (self->error_label), 90);
  gtk_label_set_selectable (GTK_LABEL (self->error_label), FALSE);
  gtk_widget_set_hexpand (self->error_label, TRUE);
  gtk_widget_add_css_class (self->error_label, "error");
  gtk_box_append (GTK_BOX (self->error_box), self->error_label);
  gtk_box_append (GTK_BOX (box), self->error_box);

  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (self), box);
}

GtkWidget *
lam_layer_row_new (const LamLayerSpec *spec)
{
  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (spec->kind >= 0 && spec->kind < LAM_N_LAYER_KINDS, NULL);

  LamLayerRow *self = g_object_new (LAM_TYPE_LAYER_ROW, NULL);
  self->spec = *spec;
  gtk_label_set_text (GTK_LABEL (self->kind_label), kind_info[spec->kind].title);
  gtk_widget_set_tooltip_text (self->kind_label, kind_info[spec->kind].description);
  build_editors (self);
  return GTK_WIDGET (self);
}

const LamLayerSpec *
lam_layer_row_get_spec (LamLayerRow *self)
{
  g_return_val_if_fail (LAM_IS_LAYER_ROW (self), NULL);
  return &self->spec;
}

gboolean
lam_layer_row_set_value (LamLayerRow *self, const char *field, double value)
{
  g_return_val_if_fail (LAM_IS_LAYER_ROW (self), FALSE);
  g_return_val_if_fail (field != NULL, FALSE);

  for (int i = 0; i < self->n_editors; i++) {
    if (g_str_equal (field_names[self->editors[i].field], field)) {
      gtk_spin_button_set_value (self->editors[i].spin, value);
      return TRUE;
    }
  }
  return FALSE;
}

void
lam_layer_row_set_position (LamLayerRow *self, int index, int n_layers)
{
  g_return_if_fail (LAM_IS_LAYER_ROW (self));

  char text[16];
  g_snprintf (text, sizeof text, "%d", index + 1);
  gtk_label_set_text (GTK_LABEL (self->number_label), text);
  gtk_widget_set_sensitive (self->up_button, index > 0);
  gtk_widget_set_sensitive (self->down_button, index < n_layers - 1);
}

void
lam_layer_row_add_to_size_groups (LamLayerRow *self, GtkSizeGroup *const *groups)
{
  g_return_if_fail (LAM_IS_LAYER_ROW (self));
  g_return_if_fail (groups != NULL);

  GtkWidget *columns[LAM_LAYER_ROW_N_COLUMNS] = {
    [LAM_LAYER_ROW_COLUMN_NUMBER] = self->number_box,
    [LAM_LAYER_ROW_COLUMN_KIND] = self->kind_label,
    [LAM_LAYER_ROW_COLUMN_SETTINGS] = self->settings_box,
    [LAM_LAYER_ROW_COLUMN_OUTPUT] = self->shape_label,
    [LAM_LAYER_ROW_COLUMN_PARAMS] = self->params_label,
    [LAM_LAYER_ROW_COLUMN_FLOPS] = self->flops_label,
    [LAM_LAYER_ROW_COLUMN_ACTIONS] = self->actions_box,
  };
  for (int i = 0; i < LAM_LAYER_ROW_N_COLUMNS; i++)
    if (groups[i] != NULL)
      gtk_size_group_add_widget (groups[i], columns[i]);
  if (groups[LAM_LAYER_ROW_COLUMN_NUMBER] != NULL)
    gtk_size_group_add_widget (groups[LAM_LAYER_ROW_COLUMN_NUMBER], self->error_spacer);
}

static void
set_figures_dim (LamLayerRow *self, gboolean dim)
{
  GtkWidget *figures[] = { self->shape_label, self->params_label, self->flops_label };
  for (gsize i = 0; i < G_N_ELEMENTS (figures); i++) {
    if (dim)
      gtk_widget_add_css_class (figures[i], "dim-label");
    else
      gtk_widget_remove_css_class (figures[i], "dim-label");
  }
}

void
lam_layer_row_set_error (LamLayerRow *self, const char *message)
{
  g_return_if_fail (LAM_IS_LAYER_ROW (self));

  if (g_strcmp0 (self->error, message) == 0)
    return;
  g_free (self->error);
  self->error = g_strdup (message);
  gtk_label_set_text (GTK_LABEL (self->error_label), message != NULL ? message : "");
  gtk_widget_set_visible (self->error_box, message != NULL);
  if (message != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (self), "broken");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "broken");
}

void
lam_layer_row_set_planned (LamLayerRow *self, const LamLayer *layer)
{
  g_return_if_fail (LAM_IS_LAYER_ROW (self));
  g_return_if_fail (layer != NULL);

  g_autofree char *shape = lam_shape_to_string (&layer->out_shape);
  guint64 n_params = (guint64) layer->n_weights + (guint64) layer->n_bias;
  g_autofree char *params = n_params > 0 ? lam_ui_format_count (n_params) : g_strdup ("–");
  g_autofree char *flops =
    layer->flops > 0 ? lam_ui_format_si ((double) layer->flops) : g_strdup ("–");

  gtk_label_set_text (GTK_LABEL (self->shape_label), shape);
  gtk_label_set_text (GTK_LABEL (self->params_label), params);
  gtk_label_set_text (GTK_LABEL (self->flops_label), flops);
  set_figures_dim (self, FALSE);
  lam_layer_row_set_error (self, NULL);
  self->planned_once = TRUE;
}

void
lam_layer_row_set_unplanned (LamLayerRow *self, const char *error_message)
{
  g_return_if_fail (LAM_IS_LAYER_ROW (self));

  if (error_message != NULL || !self->planned_once) {
    gtk_label_set_text (GTK_LABEL (self->shape_label), "—");
    gtk_label_set_text (GTK_LABEL (self->params_label), "—");
    gtk_label_set_text (GTK_LABEL (self->flops_label), "—");
  }
  set_figures_dim (self, TRUE);
  lam_layer_row_set_error (self, error_message);
}

const char *
lam_layer_row_get_output_shape (LamLayerRow *self)
{
  g_return_val_if_fail (LAM_IS_LAYER_ROW (self), NULL);
  return gtk_label_get_text (GTK_LABEL (self->shape_label));
}

const char *
lam_layer_row_get_error (LamLayerRow *self)
{
  g_return_val_if_fail (LAM_IS_LAYER_ROW (self), NULL);
  return self->error;
}
