#include "lam-layer-row.h"

#include <math.h>
#include <string.h>

#include "lam-layer-class.h"
#include "lam-reflow-box.h"
#include "lam-ui-util.h"

#define MAX_EDITORS 8

typedef struct
{
  const LamLayerArg *arg;
  GtkSpinButton *spin;
  guint typing; /* the value being typed in it, until committed; 0 when none */
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
  GtkWidget *refusal_label;

  Editor editors[MAX_EDITORS];
  int n_editors;

  char *error;   /* owned; NULL unless this layer breaks the stack */
  char *refusal; /* owned; why the text last committed in a field was not taken */
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

const char *
lam_layer_row_kind_title (LamLayerKind kind)
{
  g_return_val_if_fail (kind >= 0 && kind < LAM_N_LAYER_KINDS, NULL);
  return lam_layer_class (kind)->title;
}

const char *
lam_layer_row_kind_description (LamLayerKind kind, gboolean table)
{
  g_return_val_if_fail (kind >= 0 && kind < LAM_N_LAYER_KINDS, NULL);
  const LamLayerClass *klass = lam_layer_class (kind);
  return table && klass->description_table != NULL ? klass->description_table : klass->description;
}

/* An argument "left out" at 0 (a pool's stride, which PyTorch then makes
 * as large as the kernel) says so in words. */
static gboolean
is_auto (const LamLayerArg *arg)
{
  return (arg->flags & LAM_LAYER_ARG_AUTO) != 0;
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
set_refusal (LamLayerRow *self, const char *message)
{
  if (g_strcmp0 (self->refusal, message) == 0)
    return;
  g_free (self->refusal);
  self->refusal = g_strdup (message);
  gtk_label_set_text (GTK_LABEL (self->refusal_label), message != NULL ? message : "");
  gtk_widget_set_visible (self->refusal_label, message != NULL);
}

static void
apply_value (LamLayerRow *self, Editor *editor, double value)
{
  if (lam_layer_arg_set (editor->arg, &self->spec, value))
    g_signal_emit (self, signals[CHANGED], 0, editor->typing);
}

/* Numbers the values typed, across all rows, so that the keys of one make
 * one edit (see lam_session_set_spec_typed). */
static guint
next_typing (void)
{
  static guint last;
  if (++last == 0)
    ++last;
  return last;
}

/* The field took a value: arrows, Up and Down, lam_layer_row_set_value, or
 * the text committed (Enter, focus leaving), which comes through
 * on_spin_input first. What is typed next is another value. */
static void
on_spin_value_changed (GtkSpinButton *spin, LamLayerRow *self)
{
  Editor *editor = find_editor_by_spin (self, spin);
  g_assert (editor != NULL);
  set_refusal (self, NULL);
  apply_value (self, editor, gtk_spin_button_get_value (spin));
  editor->typing = 0;
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
  if (is_auto (editor->arg) && g_ascii_strcasecmp (text, "auto") == 0) {
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
  if (editor->typing == 0)
    editor->typing = next_typing ();
  apply_value (self, editor, value);
}

static gboolean
on_auto_output (GtkSpinButton *spin, gpointer user_data)
{
  if (gtk_spin_button_get_value (spin) != 0)
    return FALSE;
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (spin)), "auto") != 0)
    gtk_editable_set_text (GTK_EDITABLE (spin), "auto");
  return TRUE;
}

/* GTK reads what it cannot parse as 0 ("abc", an emptied field) and clamps
 * it into the range, so a slip set the layer to the field's minimum unsaid.
 * Text that is not a value the field takes keeps the value, and says why. */
static int
on_spin_input (GtkSpinButton *spin, double *new_value, LamLayerRow *self)
{
  Editor *editor = find_editor_by_spin (self, spin);
  if (editor == NULL)
    return FALSE;
  GtkAdjustment *adj = gtk_spin_button_get_adjustment (spin);
  double lower = gtk_adjustment_get_lower (adj), upper = gtk_adjustment_get_upper (adj);
  int digits = (int) gtk_spin_button_get_digits (spin);
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (spin))));
  char *end = NULL;
  double value = g_strtod (text, &end);
  g_autofree char *problem = NULL;

  if (is_auto (editor->arg) && g_ascii_strcasecmp (text, "auto") == 0)
    value = 0;
  else if (*text == '\0')
    problem = g_strdup ("a number is needed");
  else if (*end != '\0' || !isfinite (value))
    problem = g_strdup_printf ("“%s” is not a number", text);
  else if (!(value >= lower && value <= upper))
    problem = g_strdup_printf ("%s is outside %.*f to %.*f", text, digits, lower, digits, upper);
  else if (digits == 0 && value != floor (value))
    problem = g_strdup_printf ("%s is not a whole number", text);

  if (problem == NULL) {
    *new_value = value;
    set_refusal (self, NULL);
    editor->typing = 0;
    return TRUE;
  }
  /* Typing may have moved the layer already: it goes back with the field,
   * as part of the same value, which then leaves no edit. */
  *new_value = gtk_adjustment_get_value (adj);
  apply_value (self, editor, *new_value);
  editor->typing = 0;
  g_autofree char *kept = g_strdup_printf ("%.*f", digits, *new_value);
  g_autofree char *message =
    g_strdup_printf ("%s: %s; it stays %s.", editor->arg->label, problem,
                     is_auto (editor->arg) && *new_value == 0 ? "auto" : kept);
  set_refusal (self, message);
  return TRUE;
}

static void
add_editor (LamLayerRow *self, const LamLayerArg *arg)
{
  const LamLayerArgEditor *e = &arg->editor;
  g_assert (self->n_editors < MAX_EDITORS);

  /* The caption and its field stay together when the settings wrap. */
  GtkWidget *field = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 5);
  gtk_widget_set_valign (field, GTK_ALIGN_CENTER);
  GtkWidget *caption = gtk_label_new (arg->name);
  gtk_widget_add_css_class (caption, "dim-label");
  gtk_widget_add_css_class (caption, "field-caption");
  gtk_widget_set_tooltip_text (caption, arg->label);
  gtk_box_append (GTK_BOX (field), caption);

  /* A value beyond the lesson's bounds (linear:100000 typed in the text)
   * widens them and the field: clamped, it showed 65536 over a layer of
   * 100000. */
  double value = lam_layer_arg_get (arg, &self->spec);
  GtkAdjustment *adj = gtk_adjustment_new (value, MIN (e->lower, value), MAX (e->upper, value),
                                           e->step, e->step * 8, 0);
  GtkWidget *spin = gtk_spin_button_new (NULL, 1, e->digits);
  g_autofree char *shown = g_strdup_printf ("%.*f", e->digits, value);
  gtk_editable_set_width_chars (GTK_EDITABLE (spin), MAX (e->width_chars, (int) strlen (shown)));
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  /* What is typed here is applied to the model as it is typed, and Ctrl+Z
   * takes it back through the Model page's history. The text's own history
   * held only the numbers the row wrote: undoing them emptied the field. */
  gtk_editable_set_enable_undo (GTK_EDITABLE (spin), FALSE);
  gtk_widget_set_tooltip_text (spin, arg->label);
  lam_ui_set_accessible_label (spin, arg->label);
  if (is_auto (arg))
    g_signal_connect (spin, "output", G_CALLBACK (on_auto_output), NULL);
  g_signal_connect (spin, "input", G_CALLBACK (on_spin_input), self);
  gtk_spin_button_configure (GTK_SPIN_BUTTON (spin), adj, 1, e->digits);
  if (is_auto (arg))
    on_auto_output (GTK_SPIN_BUTTON (spin), NULL);
  g_signal_connect (spin, "value-changed", G_CALLBACK (on_spin_value_changed), self);
  g_signal_connect (spin, "changed", G_CALLBACK (on_spin_text_changed), self);
  gtk_box_append (GTK_BOX (field), spin);
  lam_reflow_box_append (LAM_REFLOW_BOX (self->settings_box), field);

  self->editors[self->n_editors++] = (Editor){ arg, GTK_SPIN_BUTTON (spin) };
}

static void
on_check_toggled (GtkCheckButton *check, LamLayerRow *self)
{
  const LamLayerArg *arg = g_object_get_data (G_OBJECT (check), "lam-layer-arg");
  if (lam_layer_arg_set (arg, &self->spec, gtk_check_button_get_active (check)))
    g_signal_emit (self, signals[CHANGED], 0, 0);
}

static void
add_check (LamLayerRow *self, const LamLayerArg *arg)
{
  GtkWidget *check = gtk_check_button_new_with_label (arg->name);
  gtk_check_button_set_active (GTK_CHECK_BUTTON (check), lam_layer_arg_get (arg, &self->spec) != 0);
  gtk_widget_set_tooltip_text (check, arg->label);
  g_object_set_data (G_OBJECT (check), "lam-layer-arg", (gpointer) arg);
  gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
  g_signal_connect (check, "toggled", G_CALLBACK (on_check_toggled), self);
  lam_reflow_box_append (LAM_REFLOW_BOX (self->settings_box), check);
}

/* One editor for each argument the Model page shows, in the table's order. */
static void
build_editors (LamLayerRow *self)
{
  const LamLayerClass *klass = lam_layer_class (self->spec.kind);

  for (guint i = 0; i < klass->n_args; i++) {
    const LamLayerArg *arg = &klass->args[i];
    if (arg->label == NULL)
      continue;
    if (arg->type == LAM_VALUE_BOOL)
      add_check (self, arg);
    else
      add_editor (self, arg);
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
  lam_ui_set_accessible_label (button, tooltip);
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
  g_clear_pointer (&self->refusal, g_free);
  G_OBJECT_CLASS (lam_layer_row_parent_class)->finalize (object);
}

static void
lam_layer_row_class_init (LamLayerRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->finalize = lam_layer_row_finalize;

  /* The spec changed through one of the editors. The argument numbers the
   * value being typed into a field, the same for each of its keys; 0 for a
   * change made at once. */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                   NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
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
  /* The number sits at the right of its column; the column itself does not
   * grow, or the row's columns would drift right of the header's. */
  gtk_widget_set_hexpand (self->number_box, FALSE);
  gtk_box_append (GTK_BOX (line), self->number_box);

  self->kind_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->kind_label), 0);
  gtk_widget_add_css_class (self->kind_label, "layer-kind");
  gtk_box_append (GTK_BOX (line), self->kind_label);

  /* The widest rows (a Conv2d with all its settings) did not fit a
   * 1024 px projector in presentation mode: where the column is narrower
   * than the settings side by side, they wrap onto more lines. */
  self->settings_box = lam_reflow_box_new (8);
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

  self->refusal_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->refusal_label), 0);
  gtk_label_set_wrap (GTK_LABEL (self->refusal_label), TRUE);
  gtk_widget_add_css_class (self->refusal_label, "error");
  gtk_widget_add_css_class (self->refusal_label, "caption");
  gtk_widget_set_visible (self->refusal_label, FALSE);
  gtk_box_append (GTK_BOX (box), self->refusal_label);

  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (self), box);
}

GtkWidget *
lam_layer_row_new (const LamLayerSpec *spec)
{
  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (spec->kind >= 0 && spec->kind < LAM_N_LAYER_KINDS, NULL);

  LamLayerRow *self = g_object_new (LAM_TYPE_LAYER_ROW, NULL);
  self->spec = *spec;
  gtk_label_set_text (GTK_LABEL (self->kind_label), lam_layer_row_kind_title (spec->kind));
  gtk_widget_set_tooltip_text (self->kind_label,
                               lam_layer_row_kind_description (spec->kind, FALSE));
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
    if (g_str_equal (self->editors[i].arg->name, field)) {
      gtk_spin_button_set_value (self->editors[i].spin, value);
      return TRUE;
    }
  }
  return FALSE;
}

void
lam_layer_row_set_table (LamLayerRow *self, gboolean table)
{
  g_return_if_fail (LAM_IS_LAYER_ROW (self));
  gtk_widget_set_tooltip_text (self->kind_label,
                               lam_layer_row_kind_description (self->spec.kind, table));
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

const char *
lam_layer_row_get_refusal (LamLayerRow *self)
{
  g_return_val_if_fail (LAM_IS_LAYER_ROW (self), NULL);
  return self->refusal;
}
