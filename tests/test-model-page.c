/* The Model page in a window: presets, edits, errors marked on the layer
 * that breaks the stack, moves, the compact text and the keys. Saves
 * model-page.png and model-page-error.png into the build's tests folder. */
#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "lam-device.h"
#include "lam-layer-row.h"
#include "lam-model-page.h"
#include "lam-project-file.h"
#include "lam-ui-util.h"
#include "lam-window.h"
#include "lam-test-util.h"

typedef struct
{
  LamSession *session;
  GtkWidget *window;
  LamModelPage *page;
  GtkListBox *list;
} Fixture;

static gboolean
quit_loop (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Lets layout and drawing catch up with the last change. */
static void
settle (void)
{
  gboolean done = FALSE;
  g_timeout_add (120, quit_loop, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static GtkWidget *
find_descendant (GtkWidget *widget, GType type)
{
  if (g_type_is_a (G_OBJECT_TYPE (widget), type))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkWidget *found = find_descendant (child, type);
    if (found != NULL)
      return found;
  }
  return NULL;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->session = lam_session_new ();
  f->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1200, 800);
  f->page = LAM_MODEL_PAGE (lam_model_page_new (f->session));
  gtk_window_set_child (GTK_WINDOW (f->window), GTK_WIDGET (f->page));
  gtk_window_present (GTK_WINDOW (f->window));
  while (!gtk_widget_get_mapped (f->window))
    g_main_context_iteration (NULL, TRUE);
  settle ();
  f->list = GTK_LIST_BOX (find_descendant (GTK_WIDGET (f->page), GTK_TYPE_LIST_BOX));
  g_assert_nonnull (f->list);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_clear_object (&f->session);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
assert_shape (Fixture *f, int index, const char *expected)
{
  g_autofree char *shape = lam_model_page_dup_output_shape (f->page, index);
  g_assert_cmpstr (shape, ==, expected);
}

static void
save_png (Fixture *f, const char *name)
{
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir != NULL ? dir : ".", name, NULL);
  g_autoptr (GError) error = NULL;

  settle ();
  g_assert_true (lam_ui_save_png (f->window, path, &error));
  g_assert_no_error (error);
  g_test_message ("saved %s", path);
}

/* Activates what `keyval` with `modifiers` is bound to on `widget`, as
 * pressing it there does. */
static gboolean
press_key (GtkWidget *widget, guint keyval, GdkModifierType modifiers)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);
  g_autoptr (GtkShortcutTrigger) wanted = gtk_keyval_trigger_new (keyval, modifiers);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++) {
    g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);
    if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
      continue;
    for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++) {
      g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
      if (gtk_shortcut_trigger_equal (gtk_shortcut_get_trigger (shortcut), wanted))
        return gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut), 0, widget,
                                             gtk_shortcut_get_arguments (shortcut));
    }
  }
  return FALSE;
}

static void
select_layer (Fixture *f, int index)
{
  /* The list's first row is the input. */
  gtk_list_box_select_row (f->list, gtk_list_box_get_row_at_index (f->list, index + 1));
}

static LamLayerKind
project_kind (Fixture *f, int index)
{
  const LamModelSpec *spec = lam_session_get_spec (f->session);
  g_assert_cmpint (index, <, spec->n_layers);
  return spec->layers[index].kind;
}

static void
test_preset_small_cnn (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "small-cnn");

  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 10);
  assert_shape (f, 0, "32×28×28");
  assert_shape (f, 2, "32×14×14");
  assert_shape (f, 5, "64×7×7");
  assert_shape (f, 6, "3136");
  assert_shape (f, 9, "10");
  g_assert_true (lam_session_get_model_valid (f->session));
  g_assert_cmpint (lam_model_page_get_error_layer (f->page), ==, -1);
  g_assert_null (lam_model_page_get_error_text (f->page));
  g_assert_cmpint (lam_session_get_spec (f->session)->n_layers, ==, 10);

  save_png (f, "model-page.png");
}

static void
test_preset_replaces_stack (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "small-cnn");
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 10);
  lam_model_page_load_preset (f->page, "logistic-regression");
  const LamModelSpec *spec = lam_session_get_spec (f->session);
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, spec->n_layers);
  g_assert_cmpint (spec->n_layers, <, 10);
  g_assert_true (lam_session_get_model_valid (f->session));

  /* The menu lists every preset by its display name and loads it. */
  GtkMenuButton *button =
    GTK_MENU_BUTTON (find_descendant (GTK_WIDGET (f->page), GTK_TYPE_MENU_BUTTON));
  g_assert_nonnull (button);
  GMenuModel *menu = gtk_menu_button_get_menu_model (button);
  g_auto (GStrv) names = lam_model_spec_list_presets ();
  g_assert_cmpint (g_menu_model_get_n_items (menu), ==, g_strv_length (names));
  gboolean found = FALSE;
  for (int i = 0; i < g_menu_model_get_n_items (menu); i++) {
    g_autofree char *label = NULL;
    g_autofree char *target = NULL;
    g_assert_true (g_menu_model_get_item_attribute (menu, i, G_MENU_ATTRIBUTE_LABEL, "s",
                                                    &label));
    g_assert_true (g_menu_model_get_item_attribute (menu, i, G_MENU_ATTRIBUTE_TARGET, "s",
                                                    &target));
    if (g_str_equal (target, "small-cnn")) {
      g_assert_cmpstr (label, ==, "Small CNN");
      found = TRUE;
    }
  }
  g_assert_true (found);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "model.load-preset", "s",
                                             "small-cnn"));
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 10);
  spec = lam_session_get_spec (f->session);

  /* An unknown name leaves the stack as it was. */
  lam_model_page_load_preset (f->page, "no-such-preset");
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, spec->n_layers);
}

/* The batch-norm preset: the layers come from the table (a momentum field
 * on each batch norm), and its running statistics are not counted as
 * parameters; a batch norm where its input does not fit says why. */
static void
test_preset_batchnorm (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "small-cnn-bn");
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 13);
  g_assert_true (lam_session_get_model_valid (f->session));
  g_assert_cmpint (project_kind (f, 1), ==, LAM_LAYER_BATCHNORM2D);
  g_assert_cmpint (project_kind (f, 10), ==, LAM_LAYER_BATCHNORM1D);
  assert_shape (f, 1, "32×28×28");
  const LamModelPlan *plan = lam_session_get_plan (f->session);
  g_assert_cmpuint (plan->n_trainable, <, plan->n_params);
  lam_model_page_set_layer_value (f->page, 1, "momentum", 0.25);
  g_assert_cmpfloat (lam_session_get_spec (f->session)->layers[1].momentum, ==, 0.25);
  save_png (f, "model-page-batchnorm.png");

  lam_model_page_set_layer_value (f->page, 7, "stride", 2); /* still fits */
  g_assert_true (lam_session_get_model_valid (f->session));
}

static void
on_dataset_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_session_load_dataset_finish (LAM_SESSION (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static void
load_dataset (Fixture *f, const char *dir)
{
  gboolean loaded = FALSE;
  lam_session_load_dataset_async (f->session, dir, NULL, on_dataset_loaded, &loaded);
  g_assert_true (lam_test_iterate_until (lam_test_flag_set, &loaded, 30000));
  settle ();
}

static GtkButton *
find_button_labelled (GtkWidget *widget, const char *prefix)
{
  if (GTK_IS_BUTTON (widget) && gtk_widget_get_visible (widget) &&
      g_str_has_prefix (gtk_button_get_label (GTK_BUTTON (widget)) ?: "", prefix))
    return GTK_BUTTON (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkButton *found = find_button_labelled (child, prefix);
    if (found != NULL)
      return found;
  }
  return NULL;
}

static const char *
status_text (Fixture *f)
{
  GtkLabel *status = NULL;
  /* The status label is the one that starts with a mark. */
  GtkWidget *stack[64];
  int top = 0;
  stack[top++] = GTK_WIDGET (f->page);
  while (top > 0 && status == NULL) {
    GtkWidget *w = stack[--top];
    if (GTK_IS_LABEL (w) && gtk_widget_has_css_class (w, "status"))
      status = GTK_LABEL (w);
    for (GtkWidget *c = gtk_widget_get_first_child (w); c != NULL && top < 64;
         c = gtk_widget_get_next_sibling (c))
      stack[top++] = c;
  }
  g_assert_nonnull (status);
  return gtk_label_get_text (status);
}

/* After a dataset with other classes arrives, the page says that the last
 * layer does not match them and offers to fix it; fixing it makes the
 * stack fit. */
static void
test_classes_follow_dataset (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "mlp");
  g_assert_nonnull (strstr (status_text (f), "✓ Fits"));
  g_autofree char *two = lam_test_write_bars_dataset (8, 2);
  load_dataset (f, two);
  g_assert_nonnull (strstr (status_text (f), "gives 10 scores"));
  g_assert_nonnull (strstr (status_text (f), "has 2 classes"));
  save_png (f, "model-page-classes.png");
  /* The mlp ends with linear:10 and log_softmax: the linear layer is the
   * one to change. */
  GtkButton *fix = find_button_labelled (GTK_WIDGET (f->page), "Make layer 8 give 2");
  g_assert_nonnull (fix);
  g_signal_emit_by_name (fix, "clicked");
  settle ();
  g_assert_cmpint (lam_session_get_spec (f->session)->layers[7].out, ==, 2);
  g_assert_nonnull (strstr (status_text (f), "✓ Fits"));
  g_assert_null (find_button_labelled (GTK_WIDGET (f->page), "Make layer"));

  /* More classes than scores: training would refuse, the page says so. */
  g_autofree char *twelve = lam_test_write_bars_dataset (48, 12);
  load_dataset (f, twelve);
  g_test_message ("status: %s", status_text (f));
  save_png (f, "model-page-classes-12.png");
  g_assert_nonnull (strstr (status_text (f), "✕ The model gives 2 scores"));
  g_assert_nonnull (find_button_labelled (GTK_WIDGET (f->page), "Make layer 8 give 12"));
  lam_test_remove_tree (two);
  lam_test_remove_tree (twelve);
}

static gboolean
has_label (GtkWidget *widget, const char *text)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_is_visible (widget) &&
      g_strcmp0 (gtk_label_get_text (GTK_LABEL (widget)), text) == 0)
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (has_label (child, text))
      return TRUE;
  return FALSE;
}

static void
assert_label (Fixture *f, const char *text)
{
  if (!has_label (GTK_WIDGET (f->page), text))
    g_error ("no label says \"%s\"", text);
}

static void
assert_image_wording (Fixture *f)
{
  assert_label (f, "Stack layers from the input image down to one score per class. Shapes, "
                   "parameters and FLOPs follow every edit.");
  g_autofree char *input =
    g_strdup_printf ("one image of %s", lam_session_get_dataset_name (f->session));
  assert_label (f, input);
  assert_label (f, "FLOPs per image");
  g_assert_false (has_label (GTK_WIDGET (f->page), "FLOPs per row"));
}

/* A table's model reads a row of numbers and gives scores or, for a
 * regression, values: the page says so rather than speaking of images, and
 * speaks of images again when images come back. */
static void
test_table_wording (Fixture *f, gconstpointer data)
{
  g_autofree char *images = lam_test_write_bars_dataset (8, 2);
  load_dataset (f, images);
  lam_model_page_set_text (f->page, "flatten,linear:2");
  settle ();
  assert_image_wording (f);
  g_assert_cmpstr (status_text (f), ==, "✓ Fits: 1×28×28 → 2 scores");

  g_autofree char *study =
    g_test_build_filename (G_TEST_DIST, "..", "resources", "tables", "study-time.csv", NULL);
  load_dataset (f, study);
  g_assert_true (lam_dataset_is_table (lam_session_get_train_set (f->session)));
  lam_model_page_set_text (f->page, "linear:1");
  settle ();
  assert_label (f, "Stack layers from a row of 1 number down to the values to predict. Shapes, "
                   "parameters and FLOPs follow every edit.");
  g_autofree char *study_input =
    g_strdup_printf ("one row of 1 number from %s", lam_session_get_dataset_name (f->session));
  assert_label (f, study_input);
  assert_label (f, "FLOPs per row");
  g_assert_false (has_label (GTK_WIDGET (f->page), "FLOPs per image"));
  g_assert_cmpstr (status_text (f), ==, "✓ Fits: 1 input → 1 value");
  /* No loss named: the dropdown shows the MSE the trainer will use for a
   * regression, not cross-entropy. */
  g_assert_false (lam_session_get_spec (f->session)->has_loss);
  GtkDropDown *loss = GTK_DROP_DOWN (find_descendant (GTK_WIDGET (f->page), GTK_TYPE_DROP_DOWN));
  g_assert_cmpuint (gtk_drop_down_get_selected (loss), ==, LAM_LOSS_MSE);
  assert_label (f, "8 bytes");
  save_png (f, "model-page-table-regression.png");

  g_autofree char *crops =
    g_test_build_filename (G_TEST_DIST, "..", "resources", "tables", "crop-yields.csv", NULL);
  load_dataset (f, crops);
  /* Its last column is the target; the other four are inputs. */
  lam_model_page_set_text (f->page, "linear:16,relu,linear:1");
  settle ();
  assert_label (f, "FLOPs per row");
  g_assert_cmpstr (status_text (f), ==, "✓ Fits: 4 inputs → 1 value");
  /* Too many outputs for a regression is no fit: each must be a value. */
  lam_model_page_set_text (f->page, "linear:16,relu,linear:2");
  settle ();
  g_autofree char *too_many = g_strdup_printf (
    "✕ The model gives 2 outputs but %s has 1 value to predict: training needs one output per "
    "value",
    lam_session_get_train_set (f->session)->name);
  g_assert_cmpstr (status_text (f), ==, too_many);
  lam_model_page_set_text (f->page, "linear:16,relu,linear:1");
  settle ();

  g_autofree char *dir = g_dir_make_tmp ("lamina-model-page-XXXXXX", NULL);
  g_assert_nonnull (dir);
  g_autofree char *blobs = g_build_filename (dir, "blobs.csv", NULL);
  lam_test_write_blobs_csv (blobs, 200, 2, 3, 4);
  load_dataset (f, blobs);
  g_assert_cmpint (lam_session_get_train_set (f->session)->task, ==, LAM_TASK_CLASSIFICATION);
  lam_model_page_set_text (f->page, "linear:8,relu,linear:3");
  settle ();
  g_assert_cmpuint (gtk_drop_down_get_selected (loss), ==, LAM_LOSS_CROSS_ENTROPY);
  assert_label (f, "Stack layers from a row of 2 numbers down to one score per class. Shapes, "
                   "parameters and FLOPs follow every edit.");
  g_autofree char *blobs_input =
    g_strdup_printf ("one row of 2 numbers from %s", lam_session_get_dataset_name (f->session));
  assert_label (f, blobs_input);
  g_assert_cmpstr (status_text (f), ==, "✓ Fits: 2 inputs → 3 scores");
  save_png (f, "model-page-table-classification.png");

  load_dataset (f, images);
  lam_model_page_set_text (f->page, "flatten,linear:2");
  settle ();
  assert_image_wording (f);
  g_assert_cmpstr (status_text (f), ==, "✓ Fits: 1×28×28 → 2 scores");

  lam_test_remove_tree (dir);
  lam_test_remove_tree (images);
}

static GtkImage *
input_icon (Fixture *f)
{
  GtkWidget *input = GTK_WIDGET (gtk_list_box_get_row_at_index (f->list, 0));
  GtkWidget *icon = find_descendant (input, GTK_TYPE_IMAGE);
  g_assert_nonnull (icon);
  return GTK_IMAGE (icon);
}

/* The input row's icon shows what the model reads: a picture for images,
 * a table's row of numbers for a table (it showed a picture there too). */
static void
test_table_input_icon (Fixture *f, gconstpointer data)
{
  g_autofree char *images = lam_test_write_bars_dataset (8, 2);
  load_dataset (f, images);
  g_assert_cmpstr (gtk_image_get_icon_name (input_icon (f)), ==, "image-x-generic-symbolic");

  g_autofree char *crops =
    g_test_build_filename (G_TEST_DIST, "..", "resources", "tables", "crop-yields.csv", NULL);
  load_dataset (f, crops);
  lam_model_page_set_text (f->page, "linear:16,relu,linear:1");
  settle ();
  g_assert_cmpstr (gtk_image_get_icon_name (input_icon (f)), ==, "x-office-spreadsheet-symbolic");
  g_assert_cmpstr (gtk_widget_get_tooltip_text (GTK_WIDGET (input_icon (f))), ==,
                   "One row of 4 numbers");
  save_png (f, "model-page-table-input.png");

  load_dataset (f, images);
  g_assert_cmpstr (gtk_image_get_icon_name (input_icon (f)), ==, "image-x-generic-symbolic");
  lam_test_remove_tree (images);
}

static GtkWidget *
find_label (GtkWidget *widget, const char *text)
{
  if (GTK_IS_LABEL (widget) && g_strcmp0 (gtk_label_get_text (GTK_LABEL (widget)), text) == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkWidget *found = find_label (child, text);
    if (found != NULL)
      return found;
  }
  return NULL;
}

/* The tooltips of the columns' headings: per image for images, per row
 * for a table (they said "one image" over a table's rows). */
static void
test_table_column_tooltips (Fixture *f, gconstpointer data)
{
  GtkWidget *output = find_label (GTK_WIDGET (f->page), "Output");
  GtkWidget *flops = find_label (GTK_WIDGET (f->page), "FLOPs");
  g_assert_nonnull (output);
  g_assert_nonnull (flops);

  g_autofree char *crops =
    g_test_build_filename (G_TEST_DIST, "..", "resources", "tables", "crop-yields.csv", NULL);
  load_dataset (f, crops);
  lam_model_page_set_text (f->page, "linear:16,relu,linear:1");
  settle ();
  const char *tables[] = { gtk_widget_get_tooltip_text (output),
                           gtk_widget_get_tooltip_text (flops) };
  for (gsize i = 0; i < G_N_ELEMENTS (tables); i++) {
    g_test_message ("table: %s", tables[i]);
    g_assert_null (strstr (tables[i], "image"));
    g_assert_nonnull (strstr (tables[i], "row"));
  }

  g_autofree char *images = lam_test_write_bars_dataset (8, 2);
  load_dataset (f, images);
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (output), "one image"));
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (flops), "per image"));
  lam_test_remove_tree (images);
}

/* The line under a kind's name in the palette. */
static const char *
palette_line (Fixture *f, const char *title)
{
  GtkWidget *palette = find_descendant (GTK_WIDGET (f->page), GTK_TYPE_FLOW_BOX);
  g_assert_nonnull (palette);
  GtkWidget *name = find_label (palette, title);
  g_assert_nonnull (name);
  GtkWidget *line = gtk_widget_get_next_sibling (name);
  g_assert_true (GTK_IS_LABEL (line));
  return gtk_label_get_text (GTK_LABEL (line));
}

/* Flatten's line in the palette and its row's tooltip fit the data: for a
 * table it said "image to one long vector", where a row is flat already. */
static void
test_table_palette_flatten (Fixture *f, gconstpointer data)
{
  g_autofree char *images = lam_test_write_bars_dataset (8, 2);
  load_dataset (f, images);
  lam_model_page_set_text (f->page, "flatten,linear:2");
  settle ();
  g_assert_cmpstr (palette_line (f, "Flatten"), ==, "image to one long vector");
  GtkWidget *flatten =
    find_label (GTK_WIDGET (gtk_list_box_get_row_at_index (f->list, 1)), "Flatten");
  g_assert_cmpstr (gtk_widget_get_tooltip_text (flatten), ==, "image to one long vector");

  g_autofree char *crops =
    g_test_build_filename (G_TEST_DIST, "..", "resources", "tables", "crop-yields.csv", NULL);
  load_dataset (f, crops);
  lam_model_page_set_text (f->page, "flatten,linear:16,relu,linear:1");
  settle ();
  g_assert_cmpstr (palette_line (f, "Flatten"), ==, "no change: a row is flat");
  flatten = find_label (GTK_WIDGET (gtk_list_box_get_row_at_index (f->list, 1)), "Flatten");
  g_assert_cmpstr (gtk_widget_get_tooltip_text (flatten), ==, "no change: a row is flat");
  /* A kind whose line fits a row as well keeps it. */
  g_assert_cmpstr (palette_line (f, "Linear"), ==, "every input to every output");

  load_dataset (f, images);
  g_assert_cmpstr (palette_line (f, "Flatten"), ==, "image to one long vector");
  lam_test_remove_tree (images);
}

/* A stack whose shapes fit but whose training would not fit in memory
 * (weights, gradients, the optimizer's state, a batch's activations) says
 * so in bytes, with the figure the trainer refuses it with; it said "✓
 * Fits". */
static void
test_memory_too_large (Fixture *f, gconstpointer data)
{
  g_autofree char *images = lam_test_write_bars_dataset (8, 2);
  load_dataset (f, images);
  lam_model_page_set_text (f->page, "flatten,linear:100,relu,linear:2");
  settle ();
  g_assert_cmpstr (status_text (f), ==, "✓ Fits: 1×28×28 → 2 scores");

  /* About 10¹² weights: more memory than any machine the tests run on. */
  lam_model_page_set_text (f->page, "flatten,linear:1000000,linear:1000000,linear:2");
  settle ();
  g_assert_true (lam_session_get_model_valid (f->session));
  const char *status = status_text (f);
  g_test_message ("status: %s", status);
  g_assert_true (g_str_has_prefix (status, "✕ Too big to train: it needs about "));
  const LamTrainerConfig *config = lam_session_get_config (f->session);
  guint64 need = lam_trainer_estimate_bytes (lam_session_get_plan (f->session), config);
  g_assert_cmpuint (need, >, lam_device_host_memory_available ());
  g_autofree char *need_text = g_format_size (need);
  g_autofree char *about = g_strdup_printf ("about %s of memory", need_text);
  g_assert_nonnull (strstr (status, about));
  g_assert_nonnull (strstr (status, "TB"));
  /* The weights' total in the same units, not millions of MB. */
  g_autofree char *weights =
    g_format_size (lam_session_get_plan (f->session)->n_params * sizeof (float));
  assert_label (f, weights);
  g_assert_nonnull (strstr (weights, "TB"));
  save_png (f, "model-page-too-big.png");

  /* The trainer refuses the same stack with the same figure. */
  LamBackend *backend = lam_backend_cpu_new ();
  g_autoptr (GError) error = NULL;
  LamTrainer *trainer =
    lam_trainer_new (lam_session_get_spec (f->session), lam_session_get_train_set (f->session),
                     NULL, backend, config, &error);
  g_assert_null (trainer);
  g_assert_error (error, LAM_MODEL_ERROR, LAM_MODEL_ERROR_MEMORY);
  g_assert_nonnull (strstr (error->message, need_text));
  lam_backend_free (backend);

  /* A smaller model fits again. */
  lam_model_page_set_text (f->page, "flatten,linear:100,relu,linear:2");
  settle ();
  g_assert_cmpstr (status_text (f), ==, "✓ Fits: 1×28×28 → 2 scores");
  lam_test_remove_tree (images);
}

/* Every palette entry's name and line are shown whole and, when
 * all_in_view, every entry at once: a strip above the stack is a list to
 * read, not one to scroll through. */
static void
assert_palette_readable (Fixture *f, gboolean all_in_view)
{
  GtkWidget *palette = find_descendant (GTK_WIDGET (f->page), GTK_TYPE_FLOW_BOX);
  GtkWidget *scroller = gtk_widget_get_ancestor (palette, GTK_TYPE_SCROLLED_WINDOW);
  int n_entries = 0, n_shown = 0;
  for (GtkWidget *cell = gtk_widget_get_first_child (palette); cell != NULL;
       cell = gtk_widget_get_next_sibling (cell)) {
    GtkWidget *button = gtk_flow_box_child_get_child (GTK_FLOW_BOX_CHILD (cell));
    GtkWidget *box = gtk_button_get_child (GTK_BUTTON (button));
    for (GtkWidget *label = gtk_widget_get_first_child (box); label != NULL;
         label = gtk_widget_get_next_sibling (label)) {
      int natural;
      gtk_widget_measure (label, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &natural, NULL, NULL);
      g_test_message ("%s: %d of %d px", gtk_label_get_text (GTK_LABEL (label)),
                      gtk_widget_get_width (label), natural);
      g_assert_false (pango_layout_is_ellipsized (gtk_label_get_layout (GTK_LABEL (label))));
      g_assert_cmpint (gtk_widget_get_width (label), >=, natural);
    }
    graphene_rect_t bounds;
    g_assert_true (gtk_widget_compute_bounds (cell, scroller, &bounds));
    n_entries++;
    n_shown += bounds.origin.y >= 0 &&
               bounds.origin.y + bounds.size.height <= gtk_widget_get_height (scroller);
  }
  g_test_message ("%d of %d entries in view", n_shown, n_entries);
  if (all_in_view)
    g_assert_cmpint (n_shown, ==, n_entries);
}

/* At 1024×768 in presentation mode, a classroom projector's, the palette
 * was a strip of two rows of entries above the stack, the second cut
 * through its lines. The window is 1024 px wide now that the stack's rows
 * fit it; there the strip holds three entries a row, and at a third of
 * the page it shows four rows whole and scrolls to the fifth. */
static void
test_palette_readable_presentation (Fixture *f, gconstpointer data)
{
  lam_window_load_styles (f->window);
  lam_model_page_load_preset (f->page, "small-cnn");
  gtk_widget_add_css_class (f->window, "presentation");
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1024, 768);
  settle ();
  settle ();
  g_assert_cmpint (gtk_widget_get_width (f->window), ==, 1024);
  g_assert_cmpint (gtk_widget_get_height (f->window), ==, 768);
  save_png (f, "model-page-presentation-1024.png");
  assert_palette_readable (f, FALSE);
}

/* Every spin button, check and button of every layer row lies inside the
 * window's width, and each field is as wide as the digits it shows. */
static void
assert_rows_controls_in_view (Fixture *f)
{
  int window_width = gtk_widget_get_width (f->window);
  int n_fields = 0;
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (f->list)); row != NULL;
       row = gtk_widget_get_next_sibling (row)) {
    if (!LAM_IS_LAYER_ROW (row))
      continue;
    GPtrArray *pending = g_ptr_array_new ();
    g_ptr_array_add (pending, row);
    while (pending->len > 0) {
      GtkWidget *widget = g_ptr_array_steal_index (pending, pending->len - 1);
      /* A spin button's own buttons are measured with it. */
      for (GtkWidget *child = GTK_IS_SPIN_BUTTON (widget) ? NULL
                                                          : gtk_widget_get_first_child (widget);
           child != NULL; child = gtk_widget_get_next_sibling (child))
        if (gtk_widget_get_visible (child))
          g_ptr_array_add (pending, child);
      if (!GTK_IS_SPIN_BUTTON (widget) && !GTK_IS_CHECK_BUTTON (widget) && !GTK_IS_BUTTON (widget))
        continue;
      graphene_rect_t bounds;
      g_assert_true (gtk_widget_compute_bounds (widget, f->window, &bounds));
      g_assert_cmpfloat (bounds.origin.x, >=, 0);
      g_assert_cmpfloat (bounds.origin.x + bounds.size.width, <=, window_width);
      int min_width;
      gtk_widget_measure (widget, GTK_ORIENTATION_HORIZONTAL, -1, &min_width, NULL, NULL, NULL);
      g_assert_cmpfloat (bounds.size.width, >=, min_width);
      if (!GTK_IS_SPIN_BUTTON (widget))
        continue;
      GtkWidget *text = find_descendant (widget, GTK_TYPE_TEXT);
      const char *shown = gtk_editable_get_text (GTK_EDITABLE (widget));
      g_autoptr (PangoLayout) layout = gtk_widget_create_pango_layout (text, shown);
      int digits_width;
      pango_layout_get_pixel_size (layout, &digits_width, NULL);
      g_test_message ("%s “%s”: %d px, digits %d px", gtk_widget_get_tooltip_text (widget), shown,
                      gtk_widget_get_width (text), digits_width);
      g_assert_cmpint (gtk_widget_get_width (text), >=, digits_width);
      n_fields++;
    }
    g_ptr_array_unref (pending);
  }
  g_assert_cmpint (n_fields, >, 0);
}

static GtkWidget *
find_by_css_class (GtkWidget *widget, const char *css_class)
{
  if (gtk_widget_has_css_class (widget, css_class))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkWidget *found = find_by_css_class (child, css_class);
    if (found != NULL)
      return found;
  }
  return NULL;
}

/* Each column of each layer row starts and ends where its title does. */
static void
assert_columns_aligned (Fixture *f)
{
  GtkWidget *header = find_by_css_class (GTK_WIDGET (f->page), "column-header");
  g_assert_nonnull (header);
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (f->list)); row != NULL;
       row = gtk_widget_get_next_sibling (row)) {
    if (!LAM_IS_LAYER_ROW (row))
      continue;
    GtkWidget *line =
      gtk_widget_get_first_child (gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (row)));
    GtkWidget *title = gtk_widget_get_first_child (header);
    for (GtkWidget *column = gtk_widget_get_first_child (line); column != NULL;
         column = gtk_widget_get_next_sibling (column),
                   title = gtk_widget_get_next_sibling (title)) {
      g_assert_nonnull (title);
      graphene_rect_t a, b;
      g_assert_true (gtk_widget_compute_bounds (title, f->window, &a));
      g_assert_true (gtk_widget_compute_bounds (column, f->window, &b));
      g_assert_cmpfloat (fabsf (a.origin.x - b.origin.x), <=, 1);
      g_assert_cmpfloat (fabsf (a.size.width - b.size.width), <=, 1);
    }
    g_assert_null (title);
  }
}

/* In presentation mode the Model page fits a 1024 px projector: the
 * widest rows (a Conv2d with every setting) asked for 1294 px, so the
 * window grew past the screen and their right-hand columns were cut off. */
static void
test_fits_1024_presentation (Fixture *f, gconstpointer data)
{
  lam_window_load_styles (f->window);
  lam_model_page_load_preset (f->page, "small-cnn");
  lam_model_page_set_text (f->page, "conv2d:256:11:s2:p5:nobias,batchnorm2d,leaky_relu:0.25,"
                                    "maxpool2d:2:s2:p1,dropout:0.25,flatten,linear:1024,relu,"
                                    "linear:10");
  settle ();
  g_assert_null (lam_model_page_get_text_error (f->page));
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 9);
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1280, 800);
  save_png (f, "model-page-1280-widest.png");

  gtk_window_set_default_size (GTK_WINDOW (f->window), 1024, 768);
  settle ();
  int min_width;
  gtk_widget_measure (GTK_WIDGET (f->page), GTK_ORIENTATION_HORIZONTAL, -1, &min_width, NULL, NULL,
                      NULL);
  g_test_message ("normal: at least %d px", min_width);
  g_assert_cmpint (min_width, <=, 1024);
  g_assert_cmpint (gtk_widget_get_width (f->window), ==, 1024);
  assert_rows_controls_in_view (f);
  assert_columns_aligned (f);

  gtk_widget_add_css_class (f->window, "presentation");
  settle ();
  settle ();
  gtk_widget_measure (GTK_WIDGET (f->page), GTK_ORIENTATION_HORIZONTAL, -1, &min_width, NULL, NULL,
                      NULL);
  g_test_message ("presentation: at least %d px", min_width);
  save_png (f, "model-page-presentation-1024-widest.png");
  g_assert_cmpint (min_width, <=, 1024);
  g_assert_cmpint (gtk_widget_get_width (f->window), ==, 1024);
  assert_rows_controls_in_view (f);
  assert_columns_aligned (f);
}

/* At 1280×800 the palette is a column beside the stack, which scrolls. */
static void
test_palette_readable_1280 (Fixture *f, gconstpointer data)
{
  lam_window_load_styles (f->window);
  lam_model_page_load_preset (f->page, "small-cnn");
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1280, 800);
  settle ();
  settle ();
  g_assert_cmpint (gtk_widget_get_width (f->window), ==, 1280);
  save_png (f, "model-page-1280.png");
  assert_palette_readable (f, FALSE);
}

/* With a table open, the palette's kinds that need an image (channels,
 * height and width) say so, and no other line speaks of images: Conv2d
 * read "filters slid over the image" over a row of numbers. */
static void
test_table_palette_image_kinds (Fixture *f, gconstpointer data)
{
  g_autofree char *crops =
    g_test_build_filename (G_TEST_DIST, "..", "resources", "tables", "crop-yields.csv", NULL);
  load_dataset (f, crops);
  const char *image_kinds[] = { "Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm2d" };
  for (gsize i = 0; i < G_N_ELEMENTS (image_kinds); i++)
    g_assert_cmpstr (palette_line (f, image_kinds[i]), ==, "needs an image, not a row");
  for (int kind = 0; kind < LAM_N_LAYER_KINDS; kind++) {
    const char *line = palette_line (f, lam_layer_row_kind_title (kind));
    if (strstr (line, "image") != NULL)
      g_assert_cmpstr (line, ==, "needs an image, not a row");
  }
  save_png (f, "model-page-table-palette.png");

  g_autofree char *images = lam_test_write_bars_dataset (8, 2);
  load_dataset (f, images);
  g_assert_cmpstr (palette_line (f, "Conv2d"), ==, "filters slid over the image");
  g_assert_cmpstr (palette_line (f, "MaxPool2d"), ==, "largest of each window");
  lam_test_remove_tree (images);
}

/* The batch's activations count too: a batch size set on the Train page
 * turns a stack that fits into one too big to train, and back. */
static void
test_memory_follows_batch_size (Fixture *f, gconstpointer data)
{
  g_autofree char *images = lam_test_write_bars_dataset (8, 2);
  load_dataset (f, images);
  /* 1024×28×28 activations an image, few weights. */
  lam_model_page_set_text (f->page, "conv2d:1024:3:p1,flatten,linear:2");
  settle ();
  g_object_set (f->session, "batch-size", 8, NULL);
  const LamModelPlan *plan = lam_session_get_plan (f->session);
  guint64 small = lam_trainer_estimate_bytes (plan, lam_session_get_config (f->session));
  guint64 available = lam_device_host_memory_available ();
  g_assert_cmpstr (status_text (f), ==, "✓ Fits: 1×28×28 → 2 scores");

  g_object_set (f->session, "batch-size", 65536, NULL);
  settle ();
  guint64 large = lam_trainer_estimate_bytes (plan, lam_session_get_config (f->session));
  g_test_message ("batch of 8: %" G_GUINT64_FORMAT " bytes, of 65536: %" G_GUINT64_FORMAT
                  ", free: %" G_GUINT64_FORMAT,
                  small, large, available);
  if (available == 0 || small > available || large <= available) {
    g_test_skip ("the memory free is outside what the two batch sizes need");
    lam_test_remove_tree (images);
    return;
  }
  g_assert_nonnull (strstr (status_text (f), "a batch of 65536"));
  g_assert_true (g_str_has_prefix (status_text (f), "✕ Too big to train"));

  g_object_set (f->session, "batch-size", 8, NULL);
  settle ();
  g_assert_cmpstr (status_text (f), ==, "✓ Fits: 1×28×28 → 2 scores");
  lam_test_remove_tree (images);
}

static void
test_edit_value_updates_shapes (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "small-cnn");

  /* Layer 8 is the first linear (128 outputs). */
  g_assert_cmpint (project_kind (f, 7), ==, LAM_LAYER_LINEAR);
  lam_model_page_set_layer_value (f->page, 7, "out", 256);
  assert_shape (f, 7, "256");
  g_assert_cmpint (lam_session_get_spec (f->session)->layers[7].out, ==, 256);
  g_assert_cmpuint (lam_session_get_plan (f->session)->layers[9].spec.in, ==, 256);

  lam_model_page_set_layer_value (f->page, 0, "out", 8);
  assert_shape (f, 0, "8×28×28");
  lam_model_page_set_layer_value (f->page, 3, "stride", 2);
  assert_shape (f, 3, "64×7×7");
  assert_shape (f, 5, "64×3×3");
  assert_shape (f, 6, "576");
  g_assert_true (lam_session_get_model_valid (f->session));
}

/* The figures follow the text of a spin button before it is committed. */
static void
test_edit_follows_typing (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "small-cnn");

  GtkWidget *row = GTK_WIDGET (gtk_list_box_get_row_at_index (f->list, 8));
  GtkWidget *spin = find_descendant (row, GTK_TYPE_SPIN_BUTTON);
  g_assert_nonnull (spin);
  gtk_editable_set_text (GTK_EDITABLE (spin), "48");
  assert_shape (f, 7, "48");
  g_assert_cmpint (lam_session_get_spec (f->session)->layers[7].out, ==, 48);

  /* Half-typed text that is no value keeps the last one. */
  gtk_editable_set_text (GTK_EDITABLE (spin), "");
  assert_shape (f, 7, "48");
  g_assert_true (lam_session_get_model_valid (f->session));
}

/* The nth spin button of layer index's row, in the row's order. */
static GtkSpinButton *
layer_spin (Fixture *f, int index, int nth)
{
  GtkWidget *row = GTK_WIDGET (gtk_list_box_get_row_at_index (f->list, index + 1));
  g_assert_nonnull (row);
  for (GtkWidget *w = gtk_widget_get_first_child (row); w != NULL;) {
    if (GTK_IS_SPIN_BUTTON (w) && nth-- == 0)
      return GTK_SPIN_BUTTON (w);
    GtkWidget *next = GTK_IS_SPIN_BUTTON (w) ? NULL : gtk_widget_get_first_child (w);
    while (next == NULL && w != row) {
      next = gtk_widget_get_next_sibling (w);
      if (next == NULL)
        w = gtk_widget_get_parent (w);
    }
    w = next;
  }
  g_assert_not_reached ();
  return NULL;
}

/* A value the text gives beyond a field's usual bounds shows as it is in
 * the row, and stays when the field is committed. */
static void
test_edit_text_beyond_field_bounds (Fixture *f, gconstpointer data)
{
  lam_model_page_set_text (f->page, "flatten,linear:100000,leaky_relu:2,linear:10");
  g_assert_null (lam_model_page_get_text_error (f->page));
  GtkSpinButton *out = layer_spin (f, 1, 0);
  GtkSpinButton *slope = layer_spin (f, 2, 0);
  save_png (f, "model-page-wide.png");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (out)), ==, "100000");
  g_assert_cmpfloat (gtk_spin_button_get_value (slope), ==, 2);
  gtk_spin_button_update (out);
  gtk_spin_button_update (slope);
  assert_shape (f, 1, "100000");
  const LamModelSpec *spec = lam_session_get_spec (f->session);
  g_assert_cmpint (spec->layers[1].out, ==, 100000);
  g_assert_cmpfloat (spec->layers[2].slope, ==, 2);

  /* Stepped down from there, it goes on from the layer's value. */
  gtk_spin_button_spin (out, GTK_SPIN_STEP_BACKWARD, 1);
  g_assert_cmpint (lam_session_get_spec (f->session)->layers[1].out, ==, 99999);
}

/* Text a field cannot take, committed (Enter or leaving it), keeps the
 * layer as it was and says why under the row, instead of setting the
 * field's minimum. */
static void
test_edit_refuses_text_not_a_value (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "small-cnn");
  LamLayerRow *row = LAM_LAYER_ROW (gtk_list_box_get_row_at_index (f->list, 8));
  GtkSpinButton *out = layer_spin (f, 7, 0);
  g_assert_cmpint (lam_session_get_spec (f->session)->layers[7].out, ==, 128);

  struct
  {
    const char *typed, *problem;
  } cases[] = {
    { "", "a number is needed" },
    { "4x", "“4x” is not a number" },
    { "abc", "“abc” is not a number" },
    { "0", "0 is outside 1 to 65536" },
    { "100000", "100000 is outside 1 to 65536" },
    { "12.5", "12.5 is not a whole number" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    /* Typed a key at a time: "4" takes effect before "4x" is refused. */
    for (gsize n = 1; n <= strlen (cases[i].typed); n++) {
      g_autofree char *so_far = g_strndup (cases[i].typed, n);
      gtk_editable_set_text (GTK_EDITABLE (out), so_far);
    }
    gtk_editable_set_text (GTK_EDITABLE (out), cases[i].typed);
    gtk_spin_button_update (out);
    g_test_message ("typed \"%s\": %s", cases[i].typed, lam_layer_row_get_refusal (row));
    g_assert_cmpint (lam_session_get_spec (f->session)->layers[7].out, ==, 128);
    g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (out)), ==, "128");
    assert_shape (f, 7, "128");
    const char *refusal = lam_layer_row_get_refusal (row);
    g_assert_nonnull (refusal);
    g_assert_nonnull (strstr (refusal, cases[i].problem));
    g_assert_nonnull (strstr (refusal, "it stays 128"));
  }
  save_png (f, "model-page-refused.png");

  /* A value it takes clears the message. */
  gtk_editable_set_text (GTK_EDITABLE (out), "1e3");
  gtk_spin_button_update (out);
  g_assert_cmpint (lam_session_get_spec (f->session)->layers[7].out, ==, 1000);
  g_assert_null (lam_layer_row_get_refusal (row));

  /* A pool's stride also takes "auto". */
  lam_model_page_set_text (f->page, "maxpool2d:2:s1,flatten,linear:10");
  GtkSpinButton *stride = layer_spin (f, 0, 1);
  gtk_editable_set_text (GTK_EDITABLE (stride), "auto");
  gtk_spin_button_update (stride);
  g_assert_cmpint (lam_session_get_spec (f->session)->layers[0].stride, ==, 0);
  assert_shape (f, 0, "1×14×14");
}

static void
test_error_linear_after_conv (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "small-cnn");

  /* After the second conv, before its relu and pool: no flatten. */
  select_layer (f, 3);
  LamLayerSpec linear = lam_layer_spec_default (LAM_LAYER_LINEAR);
  linear.out = 64;
  lam_model_page_append_layer (f->page, &linear);

  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 11);
  g_assert_cmpint (project_kind (f, 4), ==, LAM_LAYER_LINEAR);
  g_assert_false (lam_session_get_model_valid (f->session));
  g_assert_cmpint (lam_model_page_get_error_layer (f->page), ==, 4);
  const char *message = lam_model_page_get_error_text (f->page);
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, "layer 5 (linear)"));
  g_assert_nonnull (strstr (message, "flatten"));
  /* The layers before it keep their shapes. */
  assert_shape (f, 3, "64×14×14");

  save_png (f, "model-page-error.png");

  lam_model_page_remove_layer (f->page, 4);
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 10);
  g_assert_true (lam_session_get_model_valid (f->session));
  g_assert_cmpint (lam_model_page_get_error_layer (f->page), ==, -1);
  g_assert_null (lam_model_page_get_error_text (f->page));
  assert_shape (f, 4, "64×14×14");
  assert_shape (f, 9, "10");
}

static void
test_error_kernel_too_large (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "small-cnn");

  lam_model_page_set_layer_value (f->page, 0, "kernel", 40);
  g_assert_cmpint (lam_session_get_spec (f->session)->layers[0].kernel, ==, 40);
  g_assert_false (lam_session_get_model_valid (f->session));
  g_assert_cmpint (lam_model_page_get_error_layer (f->page), ==, 0);
  const char *message = lam_model_page_get_error_text (f->page);
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, "layer 1 (conv2d)"));
  g_assert_nonnull (strstr (message, "kernel"));

  lam_model_page_set_layer_value (f->page, 0, "kernel", 5);
  g_assert_true (lam_session_get_model_valid (f->session));
  g_assert_cmpint (lam_model_page_get_error_layer (f->page), ==, -1);
  assert_shape (f, 0, "32×26×26");
}

/* A stack whose last layer gives too few outputs for a classifier is
 * blamed on the last row, whose shape still shows. */
static void
test_error_last_layer (Fixture *f, gconstpointer data)
{
  lam_model_page_set_text (f->page, "conv2d:8:3,relu");
  g_assert_null (lam_model_page_get_text_error (f->page));
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 2);
  g_assert_false (lam_session_get_model_valid (f->session));
  g_assert_cmpint (lam_model_page_get_error_layer (f->page), ==, 1);
  g_assert_nonnull (strstr (lam_model_page_get_error_text (f->page), "last layer"));
  assert_shape (f, 1, "8×26×26");
}

static void
test_move_layer (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "small-cnn");

  /* Flatten to the end: the linear after the pool no longer fits. */
  lam_model_page_move_layer (f->page, 6, 9);
  g_assert_cmpint (project_kind (f, 9), ==, LAM_LAYER_FLATTEN);
  g_assert_cmpint (project_kind (f, 6), ==, LAM_LAYER_LINEAR);
  g_assert_cmpint (lam_model_page_get_error_layer (f->page), ==, 6);
  g_assert_false (lam_session_get_model_valid (f->session));

  lam_model_page_move_layer (f->page, 9, 6);
  g_assert_cmpint (project_kind (f, 6), ==, LAM_LAYER_FLATTEN);
  g_assert_true (lam_session_get_model_valid (f->session));
  assert_shape (f, 6, "3136");

  /* Pool before relu: same shapes, other order. */
  lam_model_page_move_layer (f->page, 2, 1);
  g_assert_cmpint (project_kind (f, 1), ==, LAM_LAYER_MAXPOOL2D);
  g_assert_cmpint (project_kind (f, 2), ==, LAM_LAYER_RELU);
  assert_shape (f, 1, "32×14×14");
  g_assert_true (lam_session_get_model_valid (f->session));
}

/* Drops a layer's row at the middle of another list row, as the list's
 * drop target receives it at the end of a drag. */
static gboolean
drop_row_on (Fixture *f, int from, GtkListBoxRow *onto)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (f->list));
  GtkDropTarget *target = NULL;
  for (guint i = 0; i < g_list_model_get_n_items (controllers) && target == NULL; i++) {
    g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);
    if (GTK_IS_DROP_TARGET (controller))
      target = GTK_DROP_TARGET (controller);
  }
  g_assert_nonnull (target);

  graphene_rect_t bounds;
  g_assert_true (gtk_widget_compute_bounds (GTK_WIDGET (onto), GTK_WIDGET (f->list), &bounds));
  GtkListBoxRow *source = gtk_list_box_get_row_at_index (f->list, from + 1);
  g_auto (GValue) value = G_VALUE_INIT;
  g_value_init (&value, G_OBJECT_TYPE (source));
  g_value_set_object (&value, source);
  gboolean accepted = FALSE;
  g_signal_emit_by_name (target, "drop", &value, 10.0,
                         (double) (bounds.origin.y + bounds.size.height / 2), &accepted);
  return accepted;
}

static void
test_drag_and_drop (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "small-cnn");
  settle ();

  /* Flatten dropped on the last layer takes its place. */
  g_assert_true (drop_row_on (f, 6, gtk_list_box_get_row_at_index (f->list, 10)));
  g_assert_cmpint (project_kind (f, 9), ==, LAM_LAYER_FLATTEN);
  g_assert_cmpint (lam_model_page_get_error_layer (f->page), ==, 6);
  settle ();

  /* Dropped on the input row, a layer goes first. */
  g_assert_true (drop_row_on (f, 9, gtk_list_box_get_row_at_index (f->list, 0)));
  g_assert_cmpint (project_kind (f, 0), ==, LAM_LAYER_FLATTEN);
  assert_shape (f, 0, "784");
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 10);
}

static void
test_text_apply (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "small-cnn");
  g_assert_nonnull (strstr (lam_model_page_get_text (f->page), "conv2d:32:3:p1"));

  lam_model_page_set_text (f->page, "flatten,linear:32,relu,linear:10");
  g_assert_null (lam_model_page_get_text_error (f->page));
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 4);
  assert_shape (f, 0, "784");
  assert_shape (f, 1, "32");
  g_assert_true (lam_session_get_model_valid (f->session));

  /* Bad text: the parser's message, and the stack stays. */
  lam_model_page_set_text (f->page, "flatten,linear:banana");
  const char *error = lam_model_page_get_text_error (f->page);
  g_assert_nonnull (error);
  g_assert_cmpstr (error, !=, "");
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 4);
  g_assert_cmpint (lam_session_get_spec (f->session)->n_layers, ==, 4);
  /* The field keeps what was typed, to be corrected. */
  g_assert_cmpstr (lam_model_page_get_text (f->page), ==, "flatten,linear:banana");

  /* Row edits do not overwrite the edit in progress... */
  lam_model_page_set_layer_value (f->page, 1, "out", 40);
  g_assert_cmpstr (lam_model_page_get_text (f->page), ==, "flatten,linear:banana");
  /* ...and a good text replaces it and the error. */
  lam_model_page_set_text (f->page, "flatten,linear:10");
  g_assert_null (lam_model_page_get_text_error (f->page));
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 2);
  lam_model_page_set_layer_value (f->page, 1, "out", 12);
  g_assert_cmpstr (lam_model_page_get_text (f->page), ==, "flatten,linear:12");
}

static void
test_palette_appends_defaults (Fixture *f, gconstpointer data)
{
  lam_model_page_set_text (f->page, "flatten");
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 1);
  gtk_list_box_unselect_all (f->list);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "model.append-layer", "i",
                                             (int) LAM_LAYER_LINEAR));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "model.append-layer", "i",
                                             (int) LAM_LAYER_DROPOUT));
  const LamModelSpec *spec = lam_session_get_spec (f->session);
  g_assert_cmpint (spec->n_layers, ==, 3);
  g_assert_cmpint (spec->layers[1].kind, ==, LAM_LAYER_LINEAR);
  g_assert_cmpint (spec->layers[1].out, ==, 64);
  g_assert_cmpint (spec->layers[2].kind, ==, LAM_LAYER_DROPOUT);
  g_assert_cmpfloat_with_epsilon (spec->layers[2].p, 0.25, 1e-6);
  assert_shape (f, 2, "64");

  /* After the selected row, not at the end. */
  select_layer (f, 0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "model.append-layer", "i",
                                             (int) LAM_LAYER_RELU));
  g_assert_cmpint (project_kind (f, 1), ==, LAM_LAYER_RELU);

  lam_model_page_set_text (f->page, "conv2d:8:3,relu");
  gtk_list_box_unselect_all (f->list);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "model.append-layer", "i",
                                             (int) LAM_LAYER_CONV2D));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "model.append-layer", "i",
                                             (int) LAM_LAYER_MAXPOOL2D));
  spec = lam_session_get_spec (f->session);
  g_assert_cmpint (spec->layers[2].out, ==, 16);
  g_assert_cmpint (spec->layers[2].kernel, ==, 3);
  g_assert_cmpint (spec->layers[2].padding, ==, 1);
  g_assert_cmpint (spec->layers[3].kernel, ==, 2);
  assert_shape (f, 3, "16×13×13");
}

static void
test_keys_delete_removes_selected (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "small-cnn");

  select_layer (f, 1);
  g_assert_true (press_key (GTK_WIDGET (f->list), GDK_KEY_Delete, 0));
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 9);
  g_assert_cmpint (lam_session_get_spec (f->session)->n_layers, ==, 9);
  g_assert_cmpint (project_kind (f, 1), ==, LAM_LAYER_MAXPOOL2D);
  g_assert_true (lam_session_get_model_valid (f->session));

  /* The selection moves to the next row, so Delete again goes on. */
  g_assert_true (press_key (GTK_WIDGET (f->list), GDK_KEY_Delete, 0));
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 8);
  g_assert_cmpint (project_kind (f, 1), ==, LAM_LAYER_CONV2D);
  assert_shape (f, 1, "64×28×28");

  /* Nothing selected: nothing removed. */
  gtk_list_box_unselect_all (f->list);
  press_key (GTK_WIDGET (f->list), GDK_KEY_Delete, 0);
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 8);
}

static void
test_keys_alt_arrows_move (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "small-cnn");

  select_layer (f, 2);
  g_assert_true (press_key (GTK_WIDGET (f->list), GDK_KEY_Up, GDK_ALT_MASK));
  g_assert_cmpint (project_kind (f, 1), ==, LAM_LAYER_MAXPOOL2D);
  g_assert_true (press_key (GTK_WIDGET (f->list), GDK_KEY_Up, GDK_ALT_MASK));
  g_assert_cmpint (project_kind (f, 0), ==, LAM_LAYER_MAXPOOL2D);
  assert_shape (f, 0, "1×14×14");
  /* At the top it stays. */
  g_assert_true (press_key (GTK_WIDGET (f->list), GDK_KEY_Up, GDK_ALT_MASK));
  g_assert_cmpint (project_kind (f, 0), ==, LAM_LAYER_MAXPOOL2D);
  g_assert_true (press_key (GTK_WIDGET (f->list), GDK_KEY_Down, GDK_ALT_MASK));
  g_assert_cmpint (project_kind (f, 1), ==, LAM_LAYER_MAXPOOL2D);
  g_assert_cmpint (project_kind (f, 0), ==, LAM_LAYER_CONV2D);
}

static char *
spec_text (Fixture *f)
{
  return lam_model_spec_to_text (lam_session_get_spec (f->session));
}

/* The button that runs action: insensitive while it cannot. */
static GtkWidget *
find_action_button (GtkWidget *widget, const char *action)
{
  if (GTK_IS_BUTTON (widget) &&
      g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), action) == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkWidget *found = find_action_button (child, action);
    if (found != NULL)
      return found;
  }
  return NULL;
}

/* A preset picked by mistake, or a layer deleted, is one Ctrl+Z away: each
 * edit is undone and redone in turn, a new edit drops what was undone, and
 * a project loaded starts afresh. */
static void
test_undo_redo (Fixture *f, gconstpointer data)
{
  GtkWidget *undo = find_action_button (GTK_WIDGET (f->page), "model.undo");
  GtkWidget *redo = find_action_button (GTK_WIDGET (f->page), "model.redo");
  g_assert_nonnull (undo);
  g_assert_nonnull (redo);
  g_autofree char *start = spec_text (f);
  g_assert_false (lam_session_can_undo_model (f->session));
  g_assert_false (gtk_widget_get_sensitive (undo));
  lam_model_page_load_preset (f->page, "small-cnn");
  g_autofree char *cnn = spec_text (f);
  g_autofree char *preset_name = g_strdup (lam_session_get_spec (f->session)->name);
  g_assert_nonnull (preset_name);
  select_layer (f, 1);
  g_assert_true (press_key (GTK_WIDGET (f->list), GDK_KEY_Delete, 0));
  g_autofree char *edited = spec_text (f);
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 9);
  /* The preset's name no longer names the edited stack (runs are labelled
   * by it); undone, the preset has it back. */
  g_assert_null (lam_session_get_spec (f->session)->name);
  g_assert_true (gtk_widget_get_sensitive (undo));
  g_assert_false (gtk_widget_get_sensitive (redo));
  save_png (f, "model-page-undo.png");

  /* Ctrl+Z twice: back to the start, the rows with it. */
  g_assert_true (press_key (GTK_WIDGET (f->page), GDK_KEY_z, GDK_CONTROL_MASK));
  g_autofree char *one = spec_text (f);
  g_assert_cmpstr (one, ==, cnn);
  g_assert_cmpstr (lam_session_get_spec (f->session)->name, ==, preset_name);
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 10);
  g_assert_true (press_key (GTK_WIDGET (f->page), GDK_KEY_z, GDK_CONTROL_MASK));
  g_autofree char *two = spec_text (f);
  g_assert_cmpstr (two, ==, start);
  g_assert_false (lam_session_can_undo_model (f->session));
  g_assert_false (lam_session_undo_model (f->session));

  /* Redo, by either key. */
  g_assert_true (press_key (GTK_WIDGET (f->page), GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK));
  g_autofree char *three = spec_text (f);
  g_assert_cmpstr (three, ==, cnn);
  g_assert_true (press_key (GTK_WIDGET (f->page), GDK_KEY_y, GDK_CONTROL_MASK));
  g_autofree char *four = spec_text (f);
  g_assert_cmpstr (four, ==, edited);
  g_assert_false (lam_session_can_redo_model (f->session));

  /* A new edit after an undo: the undone one is gone. */
  g_assert_true (lam_session_undo_model (f->session));
  lam_model_page_load_preset (f->page, "logistic-regression");
  g_assert_false (lam_session_can_redo_model (f->session));
  g_assert_true (lam_session_undo_model (f->session));
  g_autofree char *five = spec_text (f);
  g_assert_cmpstr (five, ==, cnn);

  /* The same model set again is no edit. */
  g_autoptr (LamModelSpec) same = lam_model_spec_copy (lam_session_get_spec (f->session));
  lam_session_set_spec (f->session, same);
  g_assert_true (lam_session_can_redo_model (f->session));

  /* A project's model is where its history starts. */
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  file->spec = lam_model_spec_preset ("mlp-32", NULL);
  lam_session_load_project_file (f->session, file);
  g_assert_false (lam_session_can_undo_model (f->session));
  g_assert_false (lam_session_can_redo_model (f->session));
  settle ();
  g_assert_false (gtk_widget_get_sensitive (undo));
  g_assert_false (gtk_widget_get_sensitive (redo));
}

/* Types text over what a field holds, a key at a time, as a person does
 * with its old text selected. */
static void
type_over (GtkSpinButton *spin, const char *text)
{
  GtkEditable *editable = GTK_EDITABLE (spin);
  gtk_widget_grab_focus (GTK_WIDGET (spin));
  gtk_editable_delete_text (editable, 0, -1);
  for (int n = 0; text[n] != '\0'; n++) {
    int position = n;
    gtk_editable_insert_text (editable, text + n, 1, &position);
  }
}

static int
layer_out (Fixture *f, int index)
{
  return lam_session_get_spec (f->session)->layers[index].out;
}

/* 256 typed over a layer's 128 is one edit, not one per key: Ctrl+Z
 * gives 128 back at once (it gave 25, then 2, then 128), and either redo
 * key 256 again. A value typed after leaving the field is an edit of its
 * own; text the field refuses leaves none. */
static void
test_undo_typed_value (Fixture *f, gconstpointer data)
{
  g_autofree char *start = spec_text (f);
  lam_model_page_load_preset (f->page, "small-cnn");
  g_autofree char *cnn = spec_text (f);
  g_assert_cmpint (layer_out (f, 7), ==, 128);

  /* Typed into layer 8, then Tab to layer 10's field: the figures follow
   * each key, and the value is committed on leaving. */
  type_over (layer_spin (f, 7, 0), "256");
  assert_shape (f, 7, "256");
  gtk_widget_grab_focus (GTK_WIDGET (layer_spin (f, 9, 0)));
  g_assert_cmpfloat (gtk_spin_button_get_value (layer_spin (f, 7, 0)), ==, 256);
  g_assert_cmpint (layer_out (f, 7), ==, 256);
  save_png (f, "model-page-typed.png");

  g_assert_true (press_key (GTK_WIDGET (f->page), GDK_KEY_z, GDK_CONTROL_MASK));
  g_assert_cmpint (layer_out (f, 7), ==, 128);
  assert_shape (f, 7, "128");
  g_autofree char *undone = spec_text (f);
  g_assert_cmpstr (undone, ==, cnn);
  g_assert_true (press_key (GTK_WIDGET (f->page), GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK));
  g_assert_cmpint (layer_out (f, 7), ==, 256);
  g_assert_false (lam_session_can_redo_model (f->session));
  g_assert_true (press_key (GTK_WIDGET (f->page), GDK_KEY_z, GDK_CONTROL_MASK));
  g_assert_cmpint (layer_out (f, 7), ==, 128);
  g_assert_true (press_key (GTK_WIDGET (f->page), GDK_KEY_y, GDK_CONTROL_MASK));
  g_assert_cmpint (layer_out (f, 7), ==, 256);
  assert_shape (f, 7, "256");

  /* Back in the field for another value: a step of its own. */
  type_over (layer_spin (f, 7, 0), "64");
  gtk_widget_grab_focus (GTK_WIDGET (layer_spin (f, 9, 0)));
  g_assert_cmpint (layer_out (f, 7), ==, 64);
  g_assert_true (press_key (GTK_WIDGET (f->page), GDK_KEY_z, GDK_CONTROL_MASK));
  g_assert_cmpint (layer_out (f, 7), ==, 256);
  g_assert_true (press_key (GTK_WIDGET (f->page), GDK_KEY_z, GDK_CONTROL_MASK));
  g_assert_cmpint (layer_out (f, 7), ==, 128);

  /* "4x" moved the layer to 4 on the way, and was refused on leaving:
   * the next Ctrl+Z is the one before the preset, not 4 → 128. */
  type_over (layer_spin (f, 7, 0), "4x");
  gtk_widget_grab_focus (GTK_WIDGET (layer_spin (f, 9, 0)));
  g_assert_cmpint (layer_out (f, 7), ==, 128);
  g_assert_nonnull (
    lam_layer_row_get_refusal (LAM_LAYER_ROW (gtk_list_box_get_row_at_index (f->list, 8))));
  g_assert_true (press_key (GTK_WIDGET (f->page), GDK_KEY_z, GDK_CONTROL_MASK));
  g_autofree char *first = spec_text (f);
  g_assert_cmpstr (first, ==, start);
}

typedef struct
{
  LamSession *session;
  LamTrainState state;
} StateWait;

static gboolean
state_reached (gpointer data)
{
  StateWait *wait = data;
  return lam_session_get_state (wait->session) == wait->state;
}

static void
activate_and_wait (Fixture *f, const char *action, LamTrainState state)
{
  GActionGroup *actions = lam_session_get_actions (f->session);
  g_assert_true (g_action_group_get_action_enabled (actions, action));
  g_action_group_activate_action (actions, action, NULL);
  StateWait wait = { f->session, state };
  g_assert_true (lam_test_iterate_until (state_reached, &wait, 30000));
  settle ();
}

/* Edits made while a run trains apply to the next run only, which the
 * page accepted without a word: a note says so from the run's start,
 * through a pause, until it stops. */
static void
test_training_note (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = lam_test_write_bars_dataset (400, 10);
  load_dataset (f, dir);
  lam_model_page_set_text (f->page, "flatten,linear:32,relu,linear:10");
  /* Slow enough that the run is still training when looked at. */
  g_object_set (f->session, "epochs", 1, "batch-size", 8, "device", "cpu", NULL);
  lam_session_set_pace (f->session, 5);
  g_assert_null (lam_model_page_get_training_note (f->page));

  activate_and_wait (f, "start", LAM_TRAIN_STATE_RUNNING);
  const char *note = lam_model_page_get_training_note (f->page);
  g_test_message ("training: %s", note);
  g_assert_nonnull (note);
  g_assert_nonnull (strstr (note, "training"));
  g_assert_nonnull (strstr (note, "next run"));

  activate_and_wait (f, "pause", LAM_TRAIN_STATE_PAUSED);
  note = lam_model_page_get_training_note (f->page);
  g_test_message ("paused: %s", note);
  g_assert_nonnull (note);
  g_assert_nonnull (strstr (note, "paused"));
  g_assert_nonnull (strstr (note, "next run"));
  /* An edit then is taken, and the note stays. */
  lam_model_page_set_layer_value (f->page, 1, "out", 64);
  g_assert_cmpint (lam_session_get_spec (f->session)->layers[1].out, ==, 64);
  g_assert_nonnull (lam_model_page_get_training_note (f->page));
  save_png (f, "model-page-training-note.png");

  activate_and_wait (f, "stop", LAM_TRAIN_STATE_IDLE);
  g_assert_null (lam_model_page_get_training_note (f->page));
  lam_test_remove_tree (dir);
}

static void
test_loss_dropdown (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "small-cnn");
  GtkDropDown *dropdown =
    GTK_DROP_DOWN (find_descendant (GTK_WIDGET (f->page), GTK_TYPE_DROP_DOWN));
  g_assert_nonnull (dropdown);
  g_assert_cmpuint (gtk_drop_down_get_selected (dropdown), ==, LAM_LOSS_CROSS_ENTROPY);

  gtk_drop_down_set_selected (dropdown, LAM_LOSS_NLL);
  const LamModelSpec *spec = lam_session_get_spec (f->session);
  g_assert_true (spec->has_loss);
  g_assert_cmpint (spec->loss, ==, LAM_LOSS_NLL);
  g_assert_nonnull (strstr (lam_model_page_get_text (f->page), "loss=nll"));

  /* The loss comes with the text too. */
  lam_model_page_set_text (f->page, "flatten,linear:10,log_softmax,loss=mse");
  g_assert_cmpuint (gtk_drop_down_get_selected (dropdown), ==, LAM_LOSS_MSE);
}

/* A change made elsewhere rebuilds the rows; an echo of the page's own
 * change leaves them (and the focus in them) alone. */
static void
test_spec_changed_elsewhere (Fixture *f, gconstpointer data)
{
  lam_model_page_load_preset (f->page, "small-cnn");
  GtkWidget *row = GTK_WIDGET (gtk_list_box_get_row_at_index (f->list, 1));

  g_autoptr (LamModelSpec) same = lam_model_spec_copy (lam_session_get_spec (f->session));
  lam_session_set_spec (f->session, same);
  g_assert_true (GTK_WIDGET (gtk_list_box_get_row_at_index (f->list, 1)) == row);

  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) other = lam_model_spec_from_text ("flatten,linear:10", &error);
  g_assert_no_error (error);
  lam_session_set_spec (f->session, other);
  g_assert_cmpint (lam_model_page_get_n_layers (f->page), ==, 2);
  assert_shape (f, 1, "10");
}

int
main (int argc, char **argv)
{
  /* No session bus under xvfb-run: keep the accessibility bridge off so
   * its warning does not abort the run. */
  g_setenv ("GTK_A11Y", "none", TRUE);
  gtk_init ();
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/model-page/preset/small-cnn", test_preset_small_cnn);
  ADD ("/model-page/preset/replaces-stack", test_preset_replaces_stack);
  ADD ("/model-page/preset/batchnorm", test_preset_batchnorm);
  ADD ("/model-page/classes-follow-dataset", test_classes_follow_dataset);
  ADD ("/model-page/table-wording", test_table_wording);
  ADD ("/model-page/table/input-icon", test_table_input_icon);
  ADD ("/model-page/table/column-tooltips", test_table_column_tooltips);
  ADD ("/model-page/table/palette-flatten", test_table_palette_flatten);
  ADD ("/model-page/memory/too-large", test_memory_too_large);
  ADD ("/model-page/memory/follows-batch-size", test_memory_follows_batch_size);
  ADD ("/model-page/table/palette-image-kinds", test_table_palette_image_kinds);
  ADD ("/model-page/palette/readable/presentation-1024", test_palette_readable_presentation);
  ADD ("/model-page/palette/readable/1280", test_palette_readable_1280);
  ADD ("/model-page/fits/1024-presentation", test_fits_1024_presentation);
  ADD ("/model-page/edit/value-updates-shapes", test_edit_value_updates_shapes);
  ADD ("/model-page/edit/follows-typing", test_edit_follows_typing);
  ADD ("/model-page/edit/text-beyond-field-bounds", test_edit_text_beyond_field_bounds);
  ADD ("/model-page/edit/refuses-text-not-a-value", test_edit_refuses_text_not_a_value);
  ADD ("/model-page/error/linear-after-conv", test_error_linear_after_conv);
  ADD ("/model-page/error/kernel-too-large", test_error_kernel_too_large);
  ADD ("/model-page/error/last-layer", test_error_last_layer);
  ADD ("/model-page/move/reorders", test_move_layer);
  ADD ("/model-page/move/drag-and-drop", test_drag_and_drop);
  ADD ("/model-page/text/apply", test_text_apply);
  ADD ("/model-page/palette/appends-defaults", test_palette_appends_defaults);
  ADD ("/model-page/keys/delete-removes-selected", test_keys_delete_removes_selected);
  ADD ("/model-page/keys/alt-arrows-move", test_keys_alt_arrows_move);
  ADD ("/model-page/loss/dropdown", test_loss_dropdown);
  ADD ("/model-page/spec-changed/elsewhere", test_spec_changed_elsewhere);
  ADD ("/model-page/undo-redo", test_undo_redo);
  ADD ("/model-page/undo-redo/typed-value", test_undo_typed_value);
  ADD ("/model-page/training-note", test_training_note);
#undef ADD

  return g_test_run ();
}
