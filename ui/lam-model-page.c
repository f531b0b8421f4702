#include "lam-model-page.h"

#include <string.h>

#include "lam-device.h"
#include "lam-layer-class.h"
#include "lam-layer-row.h"
#include "lam-reflow-box.h"
#include "lam-ui-resources.h"
#include "lam-ui-util.h"

struct _LamModelPage
{
  GtkWidget parent_instance;

  LamSession *session; /* owned */
  gulong spec_changed_id;
  gulong dataset_changed_id;
  gulong project_loaded_id;
  gulong state_id;
  gulong settings_changed_id;
  /* What the class-count button sets: a layer's out, or -1. */
  int fix_classes_layer;
  int fix_classes_value;

  /* Template children */
  GtkWidget *root;
  GtkLabel *description_label;
  GtkLabel *training_note_label;
  GtkMenuButton *presets_button;
  GtkFlowBox *palette_box;
  GtkWidget *header_output;
  GtkWidget *header_flops;
  GtkScrolledWindow *list_scroller;
  GtkListBox *list;
  GtkListBoxRow *input_row;
  GtkListBoxRow *empty_row;
  GtkImage *input_number;
  GtkLabel *input_settings_label;
  GtkLabel *input_shape_label;
  GtkLabel *params_total_label;
  GtkLabel *flops_total_label;
  GtkLabel *flops_caption_label;
  GtkLabel *size_total_label;
  GtkLabel *status_label;
  GtkButton *fix_classes_button;
  GtkDropDown *loss_dropdown;
  GtkLabel *loss_hint_label;
  GtkEntry *text_entry;
  GtkButton *apply_button;
  GtkLabel *text_error_label;
  GtkSizeGroup *groups[LAM_LAYER_ROW_N_COLUMNS];
  /* The palette's buttons and their lines, by kind */
  GtkWidget *palette_buttons[LAM_N_LAYER_KINDS];
  GtkLabel *palette_lines[LAM_N_LAYER_KINDS];
  guint fit_idle; /* the pending fit_palette_strip */

  int n_layers;
  /* The loss as the page shows it; has_loss FALSE follows the last layer. */
  gboolean has_loss;
  LamLossKind loss;

  int error_layer;
  guint pushing;       /* this page is handing its own spec to the project */
  guint rearranging;   /* rows are being taken out and put back */
  gboolean syncing;    /* widgets are being set from the project */
  gboolean text_dirty; /* the text field holds an edit not yet applied */
  double drag_x, drag_y;
};

G_DEFINE_FINAL_TYPE (LamModelPage, lam_model_page, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void show_text_error (LamModelPage *self, const char *message);
static const LamDataset *open_table (LamModelPage *self);

static LamLayerRow *
get_row (LamModelPage *self, int index)
{
  if (index < 0 || index >= self->n_layers)
    return NULL;
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (self->list, index + 1);
  return row != NULL ? LAM_LAYER_ROW (row) : NULL;
}

static int
row_index (LamModelPage *self, GtkListBoxRow *row)
{
  return gtk_list_box_row_get_index (row) - 1;
}

static int
selected_index (LamModelPage *self)
{
  GtkListBoxRow *row = gtk_list_box_get_selected_row (self->list);
  return row != NULL && LAM_IS_LAYER_ROW (row) ? row_index (self, row) : -1;
}

/* The focused widget when it lies inside `ancestor`, else NULL. */
static GtkWidget *
focus_within (LamModelPage *self, GtkWidget *ancestor)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *focus = root != NULL ? gtk_root_get_focus (root) : NULL;
  if (focus != NULL && (focus == ancestor || gtk_widget_is_ancestor (focus, ancestor)))
    return focus;
  return NULL;
}

static LamModelSpec *
build_spec (LamModelPage *self)
{
  const LamModelSpec *current = lam_session_get_spec (self->session);
  LamModelSpec *spec = lam_model_spec_new ();

  spec->name = g_strdup (current->name);
  spec->has_input = current->has_input;
  spec->input = current->input;
  spec->has_loss = self->has_loss;
  spec->loss = self->loss;
  for (int i = 0; i < self->n_layers; i++)
    lam_model_spec_append (spec, lam_layer_row_get_spec (get_row (self, i)));
  return spec;
}

/* typing: the number of the value being typed in a field, 0 for an edit
 * made at once. */
static void
push_spec_typed (LamModelPage *self, guint typing)
{
  g_autoptr (LamModelSpec) spec = build_spec (self);
  self->pushing++;
  lam_session_set_spec_typed (self->session, spec, typing);
  self->pushing--;
}

static void
push_spec (LamModelPage *self)
{
  push_spec_typed (self, 0);
}

static void
renumber (LamModelPage *self)
{
  for (int i = 0; i < self->n_layers; i++)
    lam_layer_row_set_position (get_row (self, i), i, self->n_layers);
  gtk_widget_set_visible (GTK_WIDGET (self->empty_row), self->n_layers == 0);
}

/* Rows */

static void
on_row_changed (LamLayerRow *row, guint typing, LamModelPage *self)
{
  if (self->rearranging == 0)
    push_spec_typed (self, typing);
}

static void
on_row_remove_requested (LamLayerRow *row, LamModelPage *self)
{
  lam_model_page_remove_layer (self, row_index (self, GTK_LIST_BOX_ROW (row)));
}

static void
on_row_move_requested (LamLayerRow *row, int delta, LamModelPage *self)
{
  int from = row_index (self, GTK_LIST_BOX_ROW (row));
  int to = CLAMP (from + delta, 0, self->n_layers - 1);
  lam_model_page_move_layer (self, from, to);
}

/* Editing a field selects its row, so a new layer from the palette lands
 * after the one being worked on. */
static void
on_row_focus_enter (GtkEventControllerFocus *controller, LamModelPage *self)
{
  GtkWidget *row = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller));
  if (!gtk_list_box_row_is_selected (GTK_LIST_BOX_ROW (row)))
    gtk_list_box_select_row (self->list, GTK_LIST_BOX_ROW (row));
}

static GdkContentProvider *
on_drag_prepare (GtkDragSource *source, double x, double y, LamModelPage *self)
{
  GtkWidget *row = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (source));
  self->drag_x = x;
  self->drag_y = y;
  return gdk_content_provider_new_typed (LAM_TYPE_LAYER_ROW, row);
}

static void
on_drag_begin (GtkDragSource *source, GdkDrag *drag, LamModelPage *self)
{
  GtkWidget *row = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (source));
  g_autoptr (GdkPaintable) icon = gtk_widget_paintable_new (row);
  gtk_drag_source_set_icon (source, icon, (int) self->drag_x, (int) self->drag_y);
}

static void
insert_row (LamModelPage *self, const LamLayerSpec *spec, int index)
{
  GtkWidget *row = lam_layer_row_new (spec);
  lam_layer_row_add_to_size_groups (LAM_LAYER_ROW (row), self->groups);
  g_signal_connect_object (row, "changed", G_CALLBACK (on_row_changed), self, 0);
  g_signal_connect_object (row, "remove-requested", G_CALLBACK (on_row_remove_requested), self,
                           0);
  g_signal_connect_object (row, "move-requested", G_CALLBACK (on_row_move_requested), self, 0);

  GtkEventController *focus = gtk_event_controller_focus_new ();
  g_signal_connect_object (focus, "enter", G_CALLBACK (on_row_focus_enter), self, 0);
  gtk_widget_add_controller (row, focus);

  GtkDragSource *source = gtk_drag_source_new ();
  gtk_drag_source_set_actions (source, GDK_ACTION_MOVE);
  g_signal_connect_object (source, "prepare", G_CALLBACK (on_drag_prepare), self, 0);
  g_signal_connect_object (source, "drag-begin", G_CALLBACK (on_drag_begin), self, 0);
  gtk_widget_add_controller (row, GTK_EVENT_CONTROLLER (source));

  gtk_list_box_insert (self->list, row, index + 1);
  self->n_layers++;
  lam_layer_row_set_table (LAM_LAYER_ROW (row), open_table (self) != NULL);
}

static gboolean
scroll_to_row_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  LamModelPage *self = LAM_MODEL_PAGE (widget);
  GtkWidget *row = user_data;
  graphene_rect_t bounds;

  if (gtk_widget_get_parent (row) != GTK_WIDGET (self->list) ||
      !gtk_widget_compute_bounds (row, GTK_WIDGET (self->list), &bounds))
    return G_SOURCE_REMOVE;

  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (self->list_scroller);
  double top = gtk_adjustment_get_value (adj);
  double page = gtk_adjustment_get_page_size (adj);
  double y = bounds.origin.y, height = bounds.size.height;
  if (y < top)
    gtk_adjustment_set_value (adj, y);
  else if (y + height > top + page)
    gtk_adjustment_set_value (adj, y + height - page);
  return G_SOURCE_REMOVE;
}

/* A new row has no allocation yet; look where it landed on the next frame. */
static void
scroll_to_row (LamModelPage *self, LamLayerRow *row)
{
  gtk_widget_add_tick_callback (GTK_WIDGET (self), scroll_to_row_tick, g_object_ref (row),
                                g_object_unref);
}

/* The loss training will use when the stack names none: the trainer's
 * rule (lam_trainer_new), so that a regression's dropdown says MSE rather
 * than the cross-entropy it is never trained with. */
static LamLossKind
loss_to_show (LamModelPage *self, const LamModelSpec *spec)
{
  LamLossKind loss = lam_model_spec_get_loss (spec);
  const LamDataset *dataset = lam_session_get_train_set (self->session);
  if (!spec->has_loss && loss == LAM_LOSS_CROSS_ENTROPY && dataset != NULL &&
      dataset->task == LAM_TASK_REGRESSION)
    return LAM_LOSS_MSE;
  return loss;
}

static void
sync_loss_dropdown (LamModelPage *self)
{
  self->syncing = TRUE;
  gtk_drop_down_set_selected (self->loss_dropdown, (guint) self->loss);
  self->syncing = FALSE;
}

static void
rebuild_rows (LamModelPage *self)
{
  const LamModelSpec *spec = lam_session_get_spec (self->session);
  int selected = selected_index (self);
  gboolean had_focus = focus_within (self, GTK_WIDGET (self->list)) != NULL;

  self->rearranging++;
  for (LamLayerRow *row; (row = get_row (self, 0)) != NULL;) {
    gtk_list_box_remove (self->list, GTK_WIDGET (row));
    self->n_layers--;
  }
  for (int i = 0; i < spec->n_layers; i++)
    insert_row (self, &spec->layers[i], i);
  self->rearranging--;
  renumber (self);

  self->has_loss = spec->has_loss;
  self->loss = loss_to_show (self, spec);
  sync_loss_dropdown (self);
  /* The stack was replaced: a half-typed text is about the old one. */
  self->text_dirty = FALSE;
  show_text_error (self, NULL);

  if (selected >= 0 && self->n_layers > 0) {
    LamLayerRow *row = get_row (self, MIN (selected, self->n_layers - 1));
    gtk_list_box_select_row (self->list, GTK_LIST_BOX_ROW (row));
    if (had_focus)
      gtk_widget_grab_focus (GTK_WIDGET (row));
  }
}

/* Whether the rows already say what the project's spec says, so that a
 * change made elsewhere (a dataset with another input) leaves the rows and
 * the field being typed in alone. */
static gboolean
rows_match_project (LamModelPage *self)
{
  const LamModelSpec *current = lam_session_get_spec (self->session);
  g_autoptr (LamModelSpec) mine = build_spec (self);
  return lam_model_spec_equal (mine, current);
}

/* Refresh from the project */

static const char *
kind_title (const LamModelSpec *spec, int index)
{
  return lam_layer_row_kind_title (spec->layers[index].kind);
}

/* The row a whole-plan message is about when no single layer failed on
 * its own: the checks on the last layer's output. */
static int
error_layer_from_message (const LamModelSpec *spec, const char *message)
{
  if (spec->n_layers > 0 && strstr (message, "last layer") != NULL)
    return spec->n_layers - 1;
  return -1;
}

static char *
format_bytes (double bytes)
{
  /* A lesson's one neuron has 8 bytes of weights, not "0.0 kB". */
  if (bytes < 1e3)
    return g_strdup_printf ("%.0f bytes", bytes);
  if (bytes < 100e3)
    return g_strdup_printf ("%.1f kB", bytes / 1e3);
  if (bytes < 10e6)
    return g_strdup_printf ("%.2f MB", bytes / 1e6);
  if (bytes < 1e9)
    return g_strdup_printf ("%.1f MB", bytes / 1e6);
  /* A model too big to train has terabytes of weights, not "4003152.0 MB". */
  return g_format_size ((guint64) bytes);
}

static void
set_status (GtkLabel *label, const char *text, const char *css_class)
{
  gtk_label_set_text (label, text);
  gtk_widget_remove_css_class (GTK_WIDGET (label), "success");
  gtk_widget_remove_css_class (GTK_WIDGET (label), "error");
  if (css_class != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (label), css_class);
}

/* NULLs: the stack does not fit and there is nothing to count. */
static void
set_totals (LamModelPage *self, const char *params, const char *flops, const char *size)
{
  GtkLabel *labels[] = { self->params_total_label, self->flops_total_label,
                         self->size_total_label };
  const char *texts[] = { params, flops, size };

  for (gsize i = 0; i < G_N_ELEMENTS (labels); i++) {
    gtk_label_set_text (labels[i], texts[i] != NULL ? texts[i] : "–");
    if (texts[i] != NULL)
      gtk_widget_remove_css_class (GTK_WIDGET (labels[i]), "dim-label");
    else
      gtk_widget_add_css_class (GTK_WIDGET (labels[i]), "dim-label");
  }
}

static void
refresh_text (LamModelPage *self, const LamModelSpec *spec)
{
  if (self->text_dirty)
    return;
  /* The input comes from the dataset, so the field leaves it out. */
  g_autoptr (LamModelSpec) copy = lam_model_spec_copy (spec);
  copy->has_input = FALSE;
  g_autofree char *text = lam_model_spec_to_text (copy);
  /* With neither input nor layers the text starts at the loss's comma. */
  const char *shown = text[0] == ',' ? text + 1 : text;

  /* The page's own text is nothing to undo: Ctrl+Z in the field takes back
   * what was typed there, then the model's edits, rather than emptying it. */
  self->syncing = TRUE;
  gtk_editable_set_enable_undo (GTK_EDITABLE (self->text_entry), FALSE);
  gtk_editable_set_text (GTK_EDITABLE (self->text_entry), shown);
  gtk_editable_set_enable_undo (GTK_EDITABLE (self->text_entry), TRUE);
  self->syncing = FALSE;
  /* Apply pressed by keys turns off under the focus, which would then be
   * nowhere: it goes back to the field that was applied, its text not
   * selected, so that a key typed next does not replace it all. */
  if (gtk_widget_has_focus (GTK_WIDGET (self->apply_button)))
    gtk_entry_grab_focus_without_selecting (self->text_entry);
  gtk_widget_set_sensitive (GTK_WIDGET (self->apply_button), FALSE);
}

static void
refresh_loss_hint (LamModelPage *self, const LamModelSpec *spec)
{
  LamLayerKind last = spec->n_layers > 0 ? spec->layers[spec->n_layers - 1].kind
                                         : LAM_N_LAYER_KINDS;
  LamLossKind loss = lam_model_spec_get_loss (spec);
  const char *hint = NULL;

  if (loss == LAM_LOSS_NLL && last != LAM_LAYER_LOG_SOFTMAX)
    hint = "NLL expects LogSoftmax as the last layer.";
  else if (loss == LAM_LOSS_CROSS_ENTROPY &&
           (last == LAM_LAYER_SOFTMAX || last == LAM_LAYER_LOG_SOFTMAX))
    hint = "Cross-entropy applies softmax itself: end with Linear.";

  gtk_label_set_text (self->loss_hint_label, hint != NULL ? hint : "");
  gtk_widget_set_visible (GTK_WIDGET (self->loss_hint_label), hint != NULL);
}

/* The layer whose output size is the number of scores: the last linear
 * layer, when only layers that keep the size (activations, softmax,
 * dropout, batch norm) follow it; -1 otherwise. */
static int
scores_layer (const LamModelPlan *plan)
{
  for (int i = plan->n_layers - 1; i >= 0; i--) {
    const LamLayer *layer = &plan->layers[i];
    if (layer->spec.kind == LAM_LAYER_LINEAR)
      return i;
    gboolean keeps_size = lam_shape_numel (&layer->in_shape) == lam_shape_numel (&layer->out_shape);
    gboolean sized_by_scores = layer->spec.kind == LAM_LAYER_BATCHNORM1D;
    if (!keeps_size || (lam_layer_kind_has_params (layer->spec.kind) && !sized_by_scores))
      return -1;
  }
  return -1;
}

/* A stack that fits its input may still not fit the dataset: the number
 * of scores must cover its classes (fewer is refused by training, more
 * leaves scores no image is labelled with). Says so, and offers to set the
 * last linear layer's size. Returns TRUE when it did. */
static gboolean
check_classes (LamModelPage *self, const LamModelPlan *plan)
{
  const LamDataset *dataset = lam_session_get_train_set (self->session);
  gtk_widget_set_visible (GTK_WIDGET (self->fix_classes_button), FALSE);
  self->fix_classes_layer = -1;
  if (dataset == NULL || plan->output.rank != 1)
    return FALSE;
  int scores = (int) lam_shape_numel (&plan->output), classes = lam_dataset_get_n_outputs (dataset);
  if (scores == classes)
    return FALSE;
  /* A regression trains one output per value to predict, no more. */
  gboolean regression = dataset->task == LAM_TASK_REGRESSION;
  g_autofree char *status =
    regression ? g_strdup_printf ("✕ The model gives %d output%s but %s has %d value%s to "
                                  "predict: training needs one output per value",
                                  scores, scores == 1 ? "" : "s", dataset->name, classes,
                                  classes == 1 ? "" : "s")
               : g_strdup_printf (
                   scores < classes
                     ? "✕ The model gives %d scores but %s has %d classes: training needs one "
                       "score per class"
                     : "⚠ The model gives %d scores but %s has %d classes: the extra scores "
                       "belong to no class",
                   scores, dataset->name, classes);
  set_status (self->status_label, status, regression || scores < classes ? "error" : NULL);
  int layer = scores_layer (plan);
  if (layer >= 0) {
    self->fix_classes_layer = layer;
    self->fix_classes_value = classes;
    g_autofree char *label = g_strdup_printf ("Make layer %d give %d", layer + 1, classes);
    gtk_button_set_label (self->fix_classes_button, label);
    gtk_widget_set_visible (GTK_WIDGET (self->fix_classes_button), TRUE);
  }
  return TRUE;
}

/* A stack whose shapes fit may still not fit in memory: training keeps
 * the weights, their gradients, the optimizer's state and the activations
 * of a batch at once, and the trainer refuses the run when they need more
 * than the computer has free. The page says so with the trainer's own
 * figure (lam_trainer_estimate_bytes). Returns TRUE when it did. */
static gboolean
check_memory (LamModelPage *self, const LamModelPlan *plan)
{
  const LamTrainerConfig *config = lam_session_get_config (self->session);
  guint64 need = lam_trainer_estimate_bytes (plan, config);
  guint64 available = lam_device_host_memory_available ();
  if (available == 0 || need <= available)
    return FALSE;

  g_autofree char *need_text = g_format_size (need);
  g_autofree char *available_text = g_format_size (available);
  g_autofree char *status = g_strdup_printf (
    "✕ Too big to train: it needs about %s of memory (weights, their gradients, the %s "
    "optimizer's state and the activations of a batch of %d) but only %s is free. Make the "
    "layers smaller",
    need_text, lam_optimizer_kind_to_string (config->optimizer.kind), config->batch_size,
    available_text);
  set_status (self->status_label, status, "error");
  return TRUE;
}

static void
on_fix_classes_clicked (LamModelPage *self)
{
  if (self->fix_classes_layer >= 0 && self->fix_classes_layer < self->n_layers)
    lam_model_page_set_layer_value (self, self->fix_classes_layer, "out", self->fix_classes_value);
}

static void
update_history_actions (LamModelPage *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "model.undo",
                                 lam_session_can_undo_model (self->session));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "model.redo",
                                 lam_session_can_redo_model (self->session));
}

/* The open dataset when it is a table, else NULL: a table's model reads
 * one row of numbers, and a regression gives values to predict rather than
 * scores, so the page's words about images would mislead there. */
static const LamDataset *
open_table (LamModelPage *self)
{
  const LamDataset *dataset = lam_session_get_train_set (self->session);
  return dataset != NULL && lam_dataset_is_table (dataset) ? dataset : NULL;
}

static const char *
plural (gsize n, const char *one, const char *many)
{
  return n == 1 ? one : many;
}

static void
set_palette_line (LamModelPage *self, LamLayerKind kind, gboolean table)
{
  const char *title = lam_layer_row_kind_title (kind);
  const char *description = lam_layer_row_kind_description (kind, table);
  gtk_label_set_text (self->palette_lines[kind], description);
  g_autofree char *label = g_strdup_printf ("%s — %s", title, description);
  lam_ui_set_accessible_label (self->palette_buttons[kind], label);
}

/* The words that name what the model reads and gives: an image and class
 * scores, or a row of numbers and scores or values. */
static void
refresh_wording (LamModelPage *self)
{
  const LamDataset *table = open_table (self);
  const char *dataset = lam_session_get_dataset_name (self->session);

  for (int kind = 0; kind < LAM_N_LAYER_KINDS; kind++)
    set_palette_line (self, kind, table != NULL);
  for (int i = 0; i < self->n_layers; i++)
    lam_layer_row_set_table (get_row (self, i), table != NULL);

  if (table == NULL) {
    gtk_label_set_text (self->description_label,
                        "Stack layers from the input image down to one score per class. "
                        "Shapes, parameters and FLOPs follow every edit.");
    g_autofree char *input_text = dataset != NULL ? g_strdup_printf ("one image of %s", dataset)
                                                  : g_strdup ("one image (no dataset loaded)");
    gtk_label_set_text (self->input_settings_label, input_text);
    gtk_image_set_from_icon_name (self->input_number, "image-x-generic-symbolic");
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->input_number),
                                 "One image: channels×height×width");
    gtk_label_set_text (self->flops_caption_label, "FLOPs per image");
    gtk_widget_set_tooltip_text (self->header_output, "Shape of one image after this layer: "
                                                      "channels×height×width, or a flat vector");
    gtk_widget_set_tooltip_text (self->header_flops,
                                 "Floating-point operations per image in the forward pass");
    return;
  }

  gsize n_inputs = (gsize) table->n_features;
  const char *numbers = plural (n_inputs, "number", "numbers");
  g_autofree char *description = g_strdup_printf (
    "Stack layers from a row of %zu %s down to %s. Shapes, parameters and FLOPs follow "
    "every edit.",
    n_inputs, numbers,
    table->task == LAM_TASK_REGRESSION ? "the values to predict" : "one score per class");
  gtk_label_set_text (self->description_label, description);
  g_autofree char *input_text =
    g_strdup_printf ("one row of %zu %s from %s", n_inputs, numbers, dataset);
  gtk_label_set_text (self->input_settings_label, input_text);
  gtk_image_set_from_icon_name (self->input_number, "x-office-spreadsheet-symbolic");
  g_autofree char *icon_text = g_strdup_printf ("One row of %zu %s", n_inputs, numbers);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->input_number), icon_text);
  gtk_label_set_text (self->flops_caption_label, "FLOPs per row");
  gtk_widget_set_tooltip_text (self->header_output,
                               "How many numbers one row has become after this layer");
  gtk_widget_set_tooltip_text (self->header_flops,
                               "Floating-point operations per row in the forward pass");
}

/* "✓ Fits: …" for a stack that fits: shapes for images, counts for a
 * table, whose outputs are values when it is a regression. */
static char *
dup_fits_status (LamModelPage *self, const LamModelSpec *spec, const LamModelPlan *plan)
{
  const LamDataset *table = open_table (self);
  if (table == NULL) {
    g_autofree char *input = lam_shape_to_string (&spec->input);
    g_autofree char *output = lam_shape_to_string (&plan->output);
    return g_strdup_printf ("✓ Fits: %s → %s scores", input, output);
  }
  gsize n_inputs = lam_shape_numel (&spec->input), n_outputs = lam_shape_numel (&plan->output);
  const char *outputs = table->task == LAM_TASK_REGRESSION ? plural (n_outputs, "value", "values")
                                                           : plural (n_outputs, "score", "scores");
  return g_strdup_printf ("✓ Fits: %zu %s → %zu %s", n_inputs, plural (n_inputs, "input", "inputs"),
                          n_outputs, outputs);
}

static void
refresh (LamModelPage *self)
{
  update_history_actions (self);
  const LamModelSpec *spec = lam_session_get_spec (self->session);
  const LamModelPlan *plan = lam_session_get_plan (self->session);
  const GError *plan_error = lam_session_get_plan_error (self->session);
  int n = MIN (self->n_layers, spec->n_layers);

  g_autofree char *input = lam_shape_to_string (&spec->input);
  gtk_label_set_text (self->input_shape_label, input);
  refresh_wording (self);

  /* Plan layer by layer so the layers before a broken one keep their
   * shapes and the broken one is known by position, not by parsing. */
  self->error_layer = -1;
  LamShape shape = spec->input;
  g_autofree char *prev_name = g_strdup ("the input");
  for (int i = 0; i < n; i++) {
    LamLayerRow *row = get_row (self, i);
    LamLayer layer;
    g_autoptr (GError) error = NULL;

    if (self->error_layer >= 0) {
      lam_layer_row_set_unplanned (row, NULL);
      continue;
    }
    if (plan != NULL) {
      lam_layer_row_set_planned (row, &plan->layers[i]);
      continue;
    }
    if (!lam_layer_plan (&layer, &spec->layers[i], i, &shape, prev_name, &error)) {
      self->error_layer = i;
      lam_layer_row_set_unplanned (row, plan_error != NULL ? plan_error->message
                                                           : error->message);
      continue;
    }
    lam_layer_row_set_planned (row, &layer);
    shape = layer.out_shape;
    g_free (prev_name);
    prev_name = g_strdup_printf ("layer %d (%s)", i + 1,
                                 lam_layer_kind_to_string (spec->layers[i].kind));
  }
  if (plan == NULL && plan_error != NULL && self->error_layer < 0) {
    self->error_layer = error_layer_from_message (spec, plan_error->message);
    if (self->error_layer >= 0)
      lam_layer_row_set_error (get_row (self, self->error_layer), plan_error->message);
  }

  if (plan != NULL) {
    g_autofree char *params = lam_ui_format_count (plan->n_trainable);
    g_autofree char *flops = lam_ui_format_si ((double) plan->flops);
    g_autofree char *size = format_bytes ((double) plan->n_params * sizeof (float));
    g_autofree char *status = dup_fits_status (self, spec, plan);
    set_totals (self, params, flops, size);
    if (!check_classes (self, plan) && !check_memory (self, plan))
      set_status (self->status_label, status, "success");
  } else {
    set_totals (self, NULL, NULL, NULL);
    gtk_widget_set_visible (GTK_WIDGET (self->fix_classes_button), FALSE);
    /* A stack that fits its input but gives fewer scores than the dataset
     * has classes: the same words and button as when it gives more. */
    g_autoptr (LamModelPlan) unchecked = lam_model_plan_new (spec, NULL);
    if (unchecked != NULL && check_classes (self, unchecked)) {
      /* said */
    } else if (self->error_layer >= 0) {
      g_autofree char *status =
        g_strdup_printf ("✕ Layer %d (%s) does not fit: see the marked row",
                         self->error_layer + 1, kind_title (spec, self->error_layer));
      set_status (self->status_label, status, "error");
    } else {
      const char *message = plan_error != NULL ? plan_error->message : "the model is not valid";
      g_autofree char *status = g_strdup_printf ("✕ %s", message);
      set_status (self->status_label, status, "error");
    }
  }

  /* A loss left to the stack follows its last layer. */
  if (!self->has_loss && self->loss != loss_to_show (self, spec)) {
    self->loss = loss_to_show (self, spec);
    sync_loss_dropdown (self);
  }
  refresh_loss_hint (self, spec);
  refresh_text (self, spec);
}

/* The page takes every edit while a run trains, and the run goes on with
 * the model it started with: without a word, a student expects the edit
 * to change the training under way. */
static void
update_training_note (LamModelPage *self)
{
  const char *note = NULL;
  switch (lam_session_get_state (self->session)) {
  case LAM_TRAIN_STATE_RUNNING:
    note = "A run is training: edits here apply to the next run; this run keeps its model.";
    break;
  case LAM_TRAIN_STATE_PAUSED:
    note = "A run is paused: edits here apply to the next run; this run keeps its model.";
    break;
  case LAM_TRAIN_STATE_IDLE:
    break;
  }
  gtk_label_set_text (self->training_note_label, note != NULL ? note : "");
  gtk_widget_set_visible (GTK_WIDGET (self->training_note_label), note != NULL);
}

static void
on_spec_changed (LamSession *session, LamModelPage *self)
{
  if (self->pushing == 0 && !rows_match_project (self))
    rebuild_rows (self);
  refresh (self);
}

/* Loss and text */

static void
on_loss_selected (GObject *dropdown, GParamSpec *pspec, LamModelPage *self)
{
  if (self->syncing)
    return;
  self->has_loss = TRUE;
  self->loss = (LamLossKind) gtk_drop_down_get_selected (self->loss_dropdown);
  push_spec (self);
}

static void
show_text_error (LamModelPage *self, const char *message)
{
  gtk_label_set_text (self->text_error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->text_error_label), message != NULL);
  if (message != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (self->text_entry), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->text_entry), "error");
}

static void
on_text_changed (GtkEditable *editable, LamModelPage *self)
{
  if (self->syncing)
    return;
  self->text_dirty = TRUE;
  gtk_widget_set_sensitive (GTK_WIDGET (self->apply_button), TRUE);
}

static void
apply_text (LamModelPage *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->text_entry));
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (text, &error);

  if (spec == NULL) {
    show_text_error (self, error->message);
    return;
  }
  show_text_error (self, NULL);

  const LamModelSpec *current = lam_session_get_spec (self->session);
  if (!spec->has_input) {
    spec->has_input = current->has_input;
    spec->input = current->input;
  }
  if (spec->name == NULL)
    spec->name = g_strdup (current->name);
  self->text_dirty = FALSE;
  lam_session_set_spec (self->session, spec);
}

static void
on_text_activate (GtkEntry *entry, LamModelPage *self)
{
  apply_text (self);
}

static void
on_apply_clicked (GtkButton *button, LamModelPage *self)
{
  apply_text (self);
}

/* Drops onto the list */

/* The position a row dropped at `y` takes: the layer under the pointer,
 * the first one over the input row, the last one below the rows. */
static int
drop_index (LamModelPage *self, double y)
{
  GtkListBoxRow *row = gtk_list_box_get_row_at_y (self->list, (int) y);
  if (row != NULL && LAM_IS_LAYER_ROW (row))
    return row_index (self, row);
  return row == self->input_row ? 0 : self->n_layers - 1;
}

static GdkDragAction
on_drop_motion (GtkDropTarget *target, double x, double y, LamModelPage *self)
{
  LamLayerRow *row = get_row (self, drop_index (self, y));
  if (row == NULL)
    return 0;
  gtk_list_box_drag_highlight_row (self->list, GTK_LIST_BOX_ROW (row));
  return GDK_ACTION_MOVE;
}

static void
on_drop_leave (GtkDropTarget *target, LamModelPage *self)
{
  gtk_list_box_drag_unhighlight_row (self->list);
}

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, LamModelPage *self)
{
  gtk_list_box_drag_unhighlight_row (self->list);

  GtkListBoxRow *source = g_value_get_object (value);
  int to = drop_index (self, y);
  if (source == NULL || gtk_widget_get_parent (GTK_WIDGET (source)) != GTK_WIDGET (self->list) ||
      to < 0)
    return FALSE;
  lam_model_page_move_layer (self, row_index (self, source), to);
  return TRUE;
}

/* Palette, presets and actions */

/* A layer as the palette adds it: each edited argument at the value a
 * lesson starts from, the rest at their defaults. */
static LamLayerSpec
palette_default (LamLayerKind kind)
{
  LamLayerSpec spec = lam_layer_spec_default (kind);
  const LamLayerClass *klass = lam_layer_class (kind);

  for (guint i = 0; i < klass->n_args; i++) {
    const LamLayerArg *arg = &klass->args[i];
    if (arg->label != NULL && arg->type != LAM_VALUE_BOOL)
      lam_layer_arg_set (arg, &spec, arg->editor.start);
  }
  return spec;
}

static void
build_palette (LamModelPage *self)
{
  for (int kind = 0; kind < LAM_N_LAYER_KINDS; kind++) {
    const char *title = lam_layer_row_kind_title (kind);

    GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
    GtkWidget *name = gtk_label_new (title);
    gtk_label_set_xalign (GTK_LABEL (name), 0);
    gtk_widget_add_css_class (name, "heading");
    gtk_box_append (GTK_BOX (box), name);
    GtkWidget *line = gtk_label_new (NULL);
    gtk_label_set_xalign (GTK_LABEL (line), 0);
    gtk_label_set_ellipsize (GTK_LABEL (line), PANGO_ELLIPSIZE_END);
    gtk_widget_add_css_class (line, "dim-label");
    gtk_widget_add_css_class (line, "caption");
    gtk_box_append (GTK_BOX (box), line);

    GtkWidget *button = gtk_button_new ();
    gtk_button_set_child (GTK_BUTTON (button), box);
    gtk_widget_add_css_class (button, "flat");
    gtk_widget_add_css_class (button, "palette-item");
    g_autofree char *tooltip = g_strdup_printf ("Add %s after the selected layer", title);
    gtk_widget_set_tooltip_text (button, tooltip);
    gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "model.append-layer");
    gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button), g_variant_new_int32 (kind));
    gtk_flow_box_append (self->palette_box, button);
    /* The cell around the button would be a second Tab stop that does
     * nothing; not focusable itself, it hands the focus to the button. */
    gtk_widget_set_focusable (gtk_widget_get_parent (button), FALSE);
    self->palette_buttons[kind] = button;
    self->palette_lines[kind] = GTK_LABEL (line);
    set_palette_line (self, kind, FALSE);
  }
}

/* The palette's scroller asks for this much height at the least: enough
 * for two rows of entries beside the stack. */
#define PALETTE_MIN_HEIGHT 110

/* The height the page is shown in: its scrolled view's, where it has one. */
static int
page_room (LamModelPage *self)
{
  GtkWidget *view = gtk_widget_get_ancestor (GTK_WIDGET (self), GTK_TYPE_SCROLLED_WINDOW);
  return gtk_widget_get_height (view != NULL ? view : GTK_WIDGET (self));
}

/* Wrapped above the stack (a 1024 px projector in presentation mode),
 * the palette was a strip of two rows of entries, the second cut through
 * its lines: there it is as tall as its entries at the strip's width, up
 * to a third of the page so that the stack keeps rows to show. The
 * scroller cannot ask for that itself: it measures its child for no
 * width, one entry a line. Beside the stack it fills the column.
 *
 * The strip's height is part of the page's minimum, and GTK sizes the
 * window for the page's minimum height at its minimum width, where the
 * layer rows wrap the most: a strip that took all the room left at the
 * page's own width made the window taller than a 768-px screen. It takes
 * at most what the page leaves at its narrowest. */
static gboolean
fit_palette_strip (gpointer data)
{
  LamModelPage *self = data;
  self->fit_idle = 0;
  GtkWidget *palette = GTK_WIDGET (self->palette_box);
  GtkScrolledWindow *scroller =
    GTK_SCROLLED_WINDOW (gtk_widget_get_ancestor (palette, GTK_TYPE_SCROLLED_WINDOW));
  GtkWidget *reflow = gtk_widget_get_ancestor (palette, LAM_TYPE_REFLOW_BOX);
  int current = gtk_scrolled_window_get_min_content_height (scroller);
  int height = PALETTE_MIN_HEIGHT;
  if (gtk_widget_get_mapped (GTK_WIDGET (self)) &&
      lam_reflow_box_get_n_rows (LAM_REFLOW_BOX (reflow)) > 1) {
    int wanted = 0, page_min_width = 0, page_min_height = 0;
    gtk_widget_measure (palette, GTK_ORIENTATION_VERTICAL,
                        gtk_widget_get_width (GTK_WIDGET (scroller)), NULL, &wanted, NULL, NULL);
    gtk_widget_measure (GTK_WIDGET (self), GTK_ORIENTATION_HORIZONTAL, -1, &page_min_width, NULL,
                        NULL, NULL);
    gtk_widget_measure (GTK_WIDGET (self), GTK_ORIENTATION_VERTICAL, page_min_width,
                        &page_min_height, NULL, NULL, NULL);
    int left_at_narrowest = page_room (self) - page_min_height;
    int most = MIN (gtk_widget_get_height (GTK_WIDGET (self)) / 3, current + left_at_narrowest);
    height = CLAMP (wanted, PALETTE_MIN_HEIGHT, MAX (PALETTE_MIN_HEIGHT, most));
  }
  if (current != height)
    gtk_scrolled_window_set_min_content_height (scroller, height);
  return G_SOURCE_REMOVE;
}

/* After the allocation that wrapped or unwrapped the palette, ahead of
 * the next layout: a size asked for during an allocation is not laid
 * out. */
static void
queue_fit_palette_strip (LamModelPage *self)
{
  if (self->fit_idle == 0)
    self->fit_idle = g_idle_add_full (G_PRIORITY_HIGH_IDLE, fit_palette_strip, self, NULL);
}

/* Hidden behind another page, the page is not laid out, so its strip
 * would keep a height fitted to a dataset, a model or a text size it no
 * longer has, while the window still counts the page's minimum height:
 * a strip fitted in presentation mode on the Model page made the window
 * taller than the screen on the Train page of a table opened later. The
 * strip asks for its least height while hidden and is fitted again when
 * shown. */
static void
unfit_palette_strip (LamModelPage *self)
{
  g_clear_handle_id (&self->fit_idle, g_source_remove);
  GtkScrolledWindow *scroller = GTK_SCROLLED_WINDOW (
    gtk_widget_get_ancestor (GTK_WIDGET (self->palette_box), GTK_TYPE_SCROLLED_WINDOW));
  if (gtk_scrolled_window_get_min_content_height (scroller) != PALETTE_MIN_HEIGHT)
    gtk_scrolled_window_set_min_content_height (scroller, PALETTE_MIN_HEIGHT);
}

static void
build_presets_menu (LamModelPage *self)
{
  g_autoptr (GMenu) menu = g_menu_new ();
  g_auto (GStrv) names = lam_model_spec_list_presets ();

  for (int i = 0; names[i] != NULL; i++) {
    g_autoptr (LamModelSpec) spec = lam_model_spec_preset (names[i], NULL);
    const char *label = spec != NULL && spec->name != NULL ? spec->name : names[i];
    g_autoptr (GMenuItem) item = g_menu_item_new (label, NULL);
    g_menu_item_set_action_and_target_value (item, "model.load-preset",
                                             g_variant_new_string (names[i]));
    g_menu_append_item (menu, item);
  }
  gtk_menu_button_set_menu_model (self->presets_button, G_MENU_MODEL (menu));
}

static void
append_layer_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  int kind = g_variant_get_int32 (parameter);
  g_return_if_fail (kind >= 0 && kind < LAM_N_LAYER_KINDS);
  LamLayerSpec spec = palette_default (kind);
  lam_model_page_append_layer (LAM_MODEL_PAGE (widget), &spec);
}

static void
load_preset_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  lam_model_page_load_preset (LAM_MODEL_PAGE (widget), g_variant_get_string (parameter, NULL));
}

/* Text typed into the model's field and not yet applied is the newest
 * edit: the keys take it back there first. */
static gboolean
typing_in_text (LamModelPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *focus = root != NULL ? gtk_root_get_focus (root) : NULL;
  return self->text_dirty && focus != NULL &&
         gtk_widget_is_ancestor (focus, GTK_WIDGET (self->text_entry));
}

static void
history_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  LamModelPage *self = LAM_MODEL_PAGE (widget);
  if (typing_in_text (self)) {
    GtkEditable *text = gtk_editable_get_delegate (GTK_EDITABLE (self->text_entry));
    gtk_widget_activate_action (
      GTK_WIDGET (text), g_str_equal (action_name, "model.undo") ? "text.undo" : "text.redo", NULL);
  } else if (g_str_equal (action_name, "model.undo"))
    lam_session_undo_model (self->session);
  else
    lam_session_redo_model (self->session);
}

static void
remove_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  LamModelPage *self = LAM_MODEL_PAGE (widget);
  int index = selected_index (self);
  if (index >= 0)
    lam_model_page_remove_layer (self, index);
}

static void
move_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  LamModelPage *self = LAM_MODEL_PAGE (widget);
  int index = selected_index (self);
  int to = index + (g_str_equal (action_name, "layer.move-up") ? -1 : +1);
  if (index >= 0 && to >= 0 && to < self->n_layers)
    lam_model_page_move_layer (self, index, to);
}

static void
add_shortcut (GtkShortcutController *controller, guint keyval, GdkModifierType modifiers,
              const char *action)
{
  GtkShortcutTrigger *trigger = gtk_keyval_trigger_new (keyval, modifiers);
  gtk_shortcut_controller_add_shortcut (controller,
                                        gtk_shortcut_new (trigger, gtk_named_action_new (action)));
}

/* The page's own look: rows, palette and figures. */
static const char page_css[] =
  ".lam-model-page .layer-kind { font-weight: bold; }\n"
  ".lam-model-page .layer-number { font-weight: bold; }\n"
  ".lam-model-page .column-header label { font-weight: bold; font-size: 0.9em;"
  "  color: alpha(currentColor, 0.6); }\n"
  ".lam-model-page .layer-list > row:selected {"
  "  background-color: alpha(@theme_selected_bg_color, 0.14); color: inherit; }\n"
  ".lam-model-page .layer-list > row:selected button.flat { color: inherit; }\n"
  ".lam-model-page .layer-list > row.input-row { background-color: alpha(currentColor, 0.04); }\n"
  /* The column titles sit the frame's border in from the rows' margins;
   * the theme's padding on the rows put each column 2 px right of its
   * title, and, once a narrow window shrinks the settings, the columns
   * after it 2 px left. */
  ".lam-model-page .layer-list > row { padding-left: 0; padding-right: 0; }\n"
  ".lam-model-page .layer-list > row.broken { background-color: alpha(@error_color, 0.10);"
  "  box-shadow: inset 4px 0 @error_color; }\n"
  ".lam-model-page .layer-list > row.broken:selected {"
  "  background-color: alpha(@error_color, 0.16); }\n"
  ".lam-model-page .layer-error label { font-weight: bold; }\n"
  ".lam-model-page .layer-list spinbutton > button { padding: 0 2px; min-width: 16px; }\n"
  ".lam-model-page .layer-list spinbutton > text { min-width: 0; padding-left: 6px;"
  "  padding-right: 2px; }\n"
  ".lam-model-page .layer-list button.flat.row-action { padding: 4px 3px; min-width: 20px; }\n"
  ".lam-model-page .palette-item { padding: 4px 8px; }\n"
  ".lam-model-page .stat-value { font-size: 1.5em; font-weight: bold; }\n"
  ".lam-model-page .status { font-weight: bold; }\n"
  ".lam-model-page .status.success { color: shade(@success_color, 0.8); }\n"
  ".lam-model-page .status.error { color: @error_color; }\n"
  ".lam-model-page .loss-hint { color: shade(@warning_color, 0.7); font-weight: bold; }\n"
  ".lam-model-page .training-note { color: shade(@warning_color, 0.7); font-weight: bold; }\n";

static void
ensure_css (GtkWidget *widget)
{
  static GdkDisplay *styled;
  GdkDisplay *display = gtk_widget_get_display (widget);
  if (styled == display)
    return;
  g_autoptr (GtkCssProvider) provider = gtk_css_provider_new ();
  gtk_css_provider_load_from_data (provider, page_css, -1);
  gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  styled = display;
}

/* GObject */

static void
lam_model_page_constructed (GObject *object)
{
  LamModelPage *self = LAM_MODEL_PAGE (object);

  G_OBJECT_CLASS (lam_model_page_parent_class)->constructed (object);

  g_assert (self->session != NULL);
  self->spec_changed_id = g_signal_connect (self->session, "spec-changed",
                                            G_CALLBACK (on_spec_changed), self);
  /* Another dataset may have another number of classes. */
  self->dataset_changed_id = g_signal_connect_swapped (self->session, "dataset-changed",
                                                       G_CALLBACK (refresh), self);
  /* A project starts its own history, after its model is set. */
  self->project_loaded_id = g_signal_connect_swapped (self->session, "project-loaded",
                                                      G_CALLBACK (update_history_actions), self);
  self->state_id = g_signal_connect_swapped (self->session, "notify::state",
                                             G_CALLBACK (update_training_note), self);
  /* The batch size and the optimizer change what training needs in memory. */
  self->settings_changed_id =
    g_signal_connect_swapped (self->session, "settings-changed", G_CALLBACK (refresh), self);
  self->fix_classes_layer = -1;
  rebuild_rows (self);
  refresh (self);
  update_training_note (self);
}

static void
lam_model_page_dispose (GObject *object)
{
  LamModelPage *self = LAM_MODEL_PAGE (object);

  if (self->session != NULL)
    g_clear_signal_handler (&self->spec_changed_id, self->session);
  if (self->session != NULL)
    g_clear_signal_handler (&self->dataset_changed_id, self->session);
  if (self->session != NULL)
    g_clear_signal_handler (&self->project_loaded_id, self->session);
  if (self->session != NULL)
    g_clear_signal_handler (&self->state_id, self->session);
  if (self->session != NULL)
    g_clear_signal_handler (&self->settings_changed_id, self->session);
  gtk_widget_dispose_template (GTK_WIDGET (self), LAM_TYPE_MODEL_PAGE);
  g_clear_handle_id (&self->fit_idle, g_source_remove);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (lam_model_page_parent_class)->dispose (object);
}

static void
lam_model_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamModelPage *self = LAM_MODEL_PAGE (object);

  switch (prop_id) {
  case PROP_SESSION:
    g_value_set_object (value, self->session);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_model_page_set_property (GObject *object, guint prop_id, const GValue *value,
                             GParamSpec *pspec)
{
  LamModelPage *self = LAM_MODEL_PAGE (object);

  switch (prop_id) {
  case PROP_SESSION:
    self->session = g_value_dup_object (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_model_page_class_init (LamModelPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = lam_model_page_constructed;
  object_class->dispose = lam_model_page_dispose;
  object_class->get_property = lam_model_page_get_property;
  object_class->set_property = lam_model_page_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, LAM_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS |
                           G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Looked up in the UI resource itself rather than the global registry: a
   * static library's resource object is linked only when something refers
   * to it, and this reference is what pulls it in. */
  g_autoptr (GBytes) template =
    g_resource_lookup_data (lam_ui_get_resource (), "/org/lamina/Lamina/ui/lam-model-page.ui",
                            G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_assert (template != NULL);
  g_type_ensure (LAM_TYPE_REFLOW_BOX);
  gtk_widget_class_set_template (widget_class, template);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, root);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, description_label);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, training_note_label);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, presets_button);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, palette_box);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, header_output);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, header_flops);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, list_scroller);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, list);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, input_row);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, empty_row);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, input_number);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, input_settings_label);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, input_shape_label);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, params_total_label);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, flops_total_label);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, flops_caption_label);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, size_total_label);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, fix_classes_button);
  gtk_widget_class_bind_template_callback (widget_class, on_fix_classes_clicked);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, loss_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, loss_hint_label);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, text_entry);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, apply_button);
  gtk_widget_class_bind_template_child (widget_class, LamModelPage, text_error_label);
  gtk_widget_class_bind_template_child_full (
    widget_class, "number_group", FALSE,
    G_STRUCT_OFFSET (LamModelPage, groups[LAM_LAYER_ROW_COLUMN_NUMBER]));
  gtk_widget_class_bind_template_child_full (
    widget_class, "kind_group", FALSE,
    G_STRUCT_OFFSET (LamModelPage, groups[LAM_LAYER_ROW_COLUMN_KIND]));
  gtk_widget_class_bind_template_child_full (
    widget_class, "settings_group", FALSE,
    G_STRUCT_OFFSET (LamModelPage, groups[LAM_LAYER_ROW_COLUMN_SETTINGS]));
  gtk_widget_class_bind_template_child_full (
    widget_class, "output_group", FALSE,
    G_STRUCT_OFFSET (LamModelPage, groups[LAM_LAYER_ROW_COLUMN_OUTPUT]));
  gtk_widget_class_bind_template_child_full (
    widget_class, "params_group", FALSE,
    G_STRUCT_OFFSET (LamModelPage, groups[LAM_LAYER_ROW_COLUMN_PARAMS]));
  gtk_widget_class_bind_template_child_full (
    widget_class, "flops_group", FALSE,
    G_STRUCT_OFFSET (LamModelPage, groups[LAM_LAYER_ROW_COLUMN_FLOPS]));
  gtk_widget_class_bind_template_child_full (
    widget_class, "actions_group", FALSE,
    G_STRUCT_OFFSET (LamModelPage, groups[LAM_LAYER_ROW_COLUMN_ACTIONS]));

  gtk_widget_class_install_action (widget_class, "model.append-layer", "i", append_layer_action);
  gtk_widget_class_install_action (widget_class, "model.load-preset", "s", load_preset_action);
  gtk_widget_class_install_action (widget_class, "model.undo", NULL, history_action);
  gtk_widget_class_install_action (widget_class, "model.redo", NULL, history_action);
  gtk_widget_class_install_action (widget_class, "layer.remove", NULL, remove_action);
  gtk_widget_class_install_action (widget_class, "layer.move-up", NULL, move_action);
  gtk_widget_class_install_action (widget_class, "layer.move-down", NULL, move_action);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "lam-model-page");
}

static void
lam_model_page_init (LamModelPage *self)
{
  self->error_layer = -1;
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_add_css_class (GTK_WIDGET (self), "lam-model-page");
  ensure_css (GTK_WIDGET (self));

  build_palette (self);
  build_presets_menu (self);
  GtkWidget *scroller =
    gtk_widget_get_ancestor (GTK_WIDGET (self->palette_box), GTK_TYPE_SCROLLED_WINDOW);
  g_signal_connect_object (gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller)),
                           "changed", G_CALLBACK (queue_fit_palette_strip), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect (self, "map", G_CALLBACK (queue_fit_palette_strip), NULL);
  g_signal_connect (self, "unmap", G_CALLBACK (unfit_palette_strip), NULL);

  /* Keys act on the selected row; a focused spin button keeps Delete and
   * the arrows for its text. */
  GtkEventController *shortcuts = gtk_shortcut_controller_new ();
  add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts), GDK_KEY_Delete, 0, "layer.remove");
  add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts), GDK_KEY_KP_Delete, 0, "layer.remove");
  add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts), GDK_KEY_Up, GDK_ALT_MASK, "layer.move-up");
  add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts), GDK_KEY_Down, GDK_ALT_MASK,
                "layer.move-down");
  gtk_widget_add_controller (GTK_WIDGET (self->list), shortcuts);

  /* Undo and redo wherever the focus is on the page. A text field binds
   * the same keys to its own text, and its bindings run before the page's:
   * a class binding here never ran while a layer's number or the model's
   * text had the focus, and the field's undo emptied it instead. So they
   * run in the capture phase, before the field. */
  GtkEventController *history = gtk_shortcut_controller_new ();
  gtk_event_controller_set_propagation_phase (history, GTK_PHASE_CAPTURE);
  add_shortcut (GTK_SHORTCUT_CONTROLLER (history), GDK_KEY_z, GDK_CONTROL_MASK, "model.undo");
  add_shortcut (GTK_SHORTCUT_CONTROLLER (history), GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                "model.redo");
  add_shortcut (GTK_SHORTCUT_CONTROLLER (history), GDK_KEY_y, GDK_CONTROL_MASK, "model.redo");
  gtk_widget_add_controller (GTK_WIDGET (self), history);

  GtkDropTarget *drop = gtk_drop_target_new (LAM_TYPE_LAYER_ROW, GDK_ACTION_MOVE);
  g_signal_connect (drop, "motion", G_CALLBACK (on_drop_motion), self);
  g_signal_connect (drop, "leave", G_CALLBACK (on_drop_leave), self);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self->list), GTK_EVENT_CONTROLLER (drop));

  g_signal_connect (self->loss_dropdown, "notify::selected", G_CALLBACK (on_loss_selected), self);
  g_signal_connect (self->text_entry, "changed", G_CALLBACK (on_text_changed), self);
  g_signal_connect (self->text_entry, "activate", G_CALLBACK (on_text_activate), self);
  g_signal_connect (self->apply_button, "clicked", G_CALLBACK (on_apply_clicked), self);
}

/* Public API */

GtkWidget *
lam_model_page_new (LamSession *session)
{
  g_return_val_if_fail (LAM_IS_SESSION (session), NULL);
  return g_object_new (LAM_TYPE_MODEL_PAGE, "session", session, NULL);
}

LamSession *
lam_model_page_get_project (LamModelPage *self)
{
  g_return_val_if_fail (LAM_IS_MODEL_PAGE (self), NULL);
  return self->session;
}

void
lam_model_page_load_preset (LamModelPage *self, const char *name)
{
  g_return_if_fail (LAM_IS_MODEL_PAGE (self));
  g_return_if_fail (name != NULL);

  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_preset (name, &error);
  if (spec == NULL) {
    set_status (self->status_label, error->message, "error");
    return;
  }
  lam_session_set_spec (self->session, spec);
}

void
lam_model_page_append_layer (LamModelPage *self, const LamLayerSpec *spec)
{
  g_return_if_fail (LAM_IS_MODEL_PAGE (self));
  g_return_if_fail (spec != NULL);
  g_return_if_fail (spec->kind >= 0 && spec->kind < LAM_N_LAYER_KINDS);

  int selected = selected_index (self);
  int index = selected >= 0 ? selected + 1 : self->n_layers;

  self->rearranging++;
  insert_row (self, spec, index);
  self->rearranging--;
  renumber (self);
  LamLayerRow *row = get_row (self, index);
  gtk_list_box_select_row (self->list, GTK_LIST_BOX_ROW (row));
  push_spec (self);
  scroll_to_row (self, row);
}

void
lam_model_page_remove_layer (LamModelPage *self, int index)
{
  g_return_if_fail (LAM_IS_MODEL_PAGE (self));
  g_return_if_fail (index >= 0 && index < self->n_layers);

  LamLayerRow *row = get_row (self, index);
  gboolean was_selected = gtk_list_box_row_is_selected (GTK_LIST_BOX_ROW (row));
  gboolean had_focus = focus_within (self, GTK_WIDGET (row)) != NULL;

  self->rearranging++;
  gtk_list_box_remove (self->list, GTK_WIDGET (row));
  self->n_layers--;
  self->rearranging--;
  renumber (self);

  if (was_selected && self->n_layers > 0) {
    LamLayerRow *next = get_row (self, MIN (index, self->n_layers - 1));
    gtk_list_box_select_row (self->list, GTK_LIST_BOX_ROW (next));
    if (had_focus)
      gtk_widget_grab_focus (GTK_WIDGET (next));
  }
  push_spec (self);
}

void
lam_model_page_move_layer (LamModelPage *self, int from, int to)
{
  g_return_if_fail (LAM_IS_MODEL_PAGE (self));
  g_return_if_fail (from >= 0 && from < self->n_layers);
  g_return_if_fail (to >= 0 && to < self->n_layers);

  if (from == to)
    return;

  g_autoptr (GtkWidget) row = g_object_ref (GTK_WIDGET (get_row (self, from)));
  gboolean was_selected = gtk_list_box_row_is_selected (GTK_LIST_BOX_ROW (row));
  GtkWidget *focus = focus_within (self, row);
  if (focus != NULL)
    g_object_ref (focus);

  self->rearranging++;
  /* A row taken out while selected keeps its selected flag, and selecting
   * it again would then do nothing. */
  gtk_list_box_unselect_row (self->list, GTK_LIST_BOX_ROW (row));
  gtk_list_box_remove (self->list, row);
  gtk_list_box_insert (self->list, row, to + 1);
  self->rearranging--;
  renumber (self);

  if (was_selected)
    gtk_list_box_select_row (self->list, GTK_LIST_BOX_ROW (row));
  if (focus != NULL) {
    /* Move up is off at the top and Move down at the bottom: the layer
     * keeps the focus then, not the list it was taken out of. */
    if (!gtk_widget_grab_focus (focus))
      gtk_widget_grab_focus (row);
    g_object_unref (focus);
  }
  push_spec (self);
  scroll_to_row (self, LAM_LAYER_ROW (row));
}

void
lam_model_page_set_layer_value (LamModelPage *self, int index, const char *field, double value)
{
  g_return_if_fail (LAM_IS_MODEL_PAGE (self));
  g_return_if_fail (index >= 0 && index < self->n_layers);
  g_return_if_fail (field != NULL);

  LamLayerRow *row = get_row (self, index);
  if (!lam_layer_row_set_value (row, field, value))
    g_warning ("layer %d (%s) has no field \"%s\"", index + 1,
               lam_layer_kind_to_string (lam_layer_row_get_spec (row)->kind), field);
}

int
lam_model_page_get_n_layers (LamModelPage *self)
{
  g_return_val_if_fail (LAM_IS_MODEL_PAGE (self), 0);
  return self->n_layers;
}

char *
lam_model_page_dup_output_shape (LamModelPage *self, int index)
{
  g_return_val_if_fail (LAM_IS_MODEL_PAGE (self), NULL);
  g_return_val_if_fail (index >= 0 && index < self->n_layers, NULL);
  return g_strdup (lam_layer_row_get_output_shape (get_row (self, index)));
}

int
lam_model_page_get_error_layer (LamModelPage *self)
{
  g_return_val_if_fail (LAM_IS_MODEL_PAGE (self), -1);
  return self->error_layer;
}

const char *
lam_model_page_get_error_text (LamModelPage *self)
{
  g_return_val_if_fail (LAM_IS_MODEL_PAGE (self), NULL);
  LamLayerRow *row = get_row (self, self->error_layer);
  return row != NULL ? lam_layer_row_get_error (row) : NULL;
}

void
lam_model_page_set_text (LamModelPage *self, const char *text)
{
  g_return_if_fail (LAM_IS_MODEL_PAGE (self));
  g_return_if_fail (text != NULL);

  gtk_editable_set_text (GTK_EDITABLE (self->text_entry), text);
  g_signal_emit_by_name (self->text_entry, "activate");
}

const char *
lam_model_page_get_text (LamModelPage *self)
{
  g_return_val_if_fail (LAM_IS_MODEL_PAGE (self), NULL);
  return gtk_editable_get_text (GTK_EDITABLE (self->text_entry));
}

const char *
lam_model_page_get_text_error (LamModelPage *self)
{
  g_return_val_if_fail (LAM_IS_MODEL_PAGE (self), NULL);
  if (!gtk_widget_get_visible (GTK_WIDGET (self->text_error_label)))
    return NULL;
  return gtk_label_get_text (self->text_error_label);
}

const char *
lam_model_page_get_training_note (LamModelPage *self)
{
  g_return_val_if_fail (LAM_IS_MODEL_PAGE (self), NULL);
  if (!gtk_widget_get_visible (GTK_WIDGET (self->training_note_label)))
    return NULL;
  return gtk_label_get_text (self->training_note_label);
}
