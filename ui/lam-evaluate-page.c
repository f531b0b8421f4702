#include "lam-evaluate-page.h"

#include "lam-epoch-slider.h"
#include "lam-explain-panel.h"
#include "lam-explainer.h"
#include "lam-feature-map-view.h"

#include <math.h>

#include "lam-fit-view.h"
#include "lam-help.h"
#include "lam-reflow-box.h"
#include "lam-ui-resources.h"
#include "lam-ui-util.h"

struct _LamEvaluatePage
{
  GtkWidget parent_instance;

  LamSession *session;       /* owned */
  LamEvaluation *evaluation; /* owned */
  GtkLabel *regression_title;
  GtkDropDown *regression_target;
  LamFitView *regression_fit;
  GtkCheckButton *regression_residuals;
  char **class_names;        /* owned: those the class widgets were built for */
  int n_classes;
  gboolean syncing_filters;
  int detail_index;          /* the test image in the detail panel, or -1 */
  gboolean dark;             /* the style is dark: the detail's colours follow it */

  GtkLevelBar **class_bars;  /* borrowed from class_grid, n_classes */
  GtkLabel **class_percents;
  GtkWidget **class_names_labels;
  GtkWidget *preview;        /* the pad's 28×28 preview */

  GtkStack *state_stack;
  GtkLabel *empty_title;
  GtkLabel *empty_label;
  GtkWidget *empty_spinner;
  GtkLabel *error_label;
  GtkWidget *busy_box;
  guint spinner_timeout; /* shows the spinners of an evaluation still running */
  gboolean spinner_due;  /* the running evaluation has run SPINNER_DELAY_MS */
  GtkStack *tabs;
  GtkBox *content_box;
  GtkWidget *tabs_header;
  LamEpochSlider *epoch_slider;
  LamExplainer *explainer;          /* owned */
  LamExplainPanel *detail_explain;  /* why the selected image got its prediction */
  LamExplainPanel *draw_explain;    /* the same for the drawing */
  GtkWidget *map_box;               /* the Map tab: mapped while it shows */
  LamFeatureMapView *map_view;
  GtkLabel *map_label;
  GtkLabel *accuracy_label;
  GtkLabel *epoch_label;
  GtkLabel *loss_label;
  GtkGrid *class_grid;
  GtkWidget *show_all_button;
  GtkLabel *confusion_hint;
  LamConfusionView *confusion_view;
  GtkBox *mistakes_box;
  /* A new result's explanations wait for its first frame (sync_explainer_after_frame). */
  GdkFrameClock *explainer_sync_clock; /* not owned */
  gulong explainer_sync_id;
  gboolean holding_training; /* until the result's frame is drawn */
  GtkDropDown *true_dropdown;
  GtkDropDown *predicted_dropdown;
  GtkDropDown *order_dropdown;
  GtkLabel *gallery_label;
  LamPredictionGrid *gallery;
  GtkDrawingArea *detail_image;
  GtkLabel *detail_title;
  GtkLabel *detail_true;
  GtkLabel *detail_predicted;
  GtkLabel *detail_history;
  LamProbabilityBars *detail_bars;
  LamActivationsView *activations_view;
  GtkStack *draw_stack;
  LamDrawingPad *pad;
  GtkWidget *undo_button;
  GtkWidget *clear_button;
  GtkBox *preview_box;
  GtkLabel *draw_guess;
  LamProbabilityBars *draw_bars;
  GtkLabel *draw_unavailable_label;
  LamWeightsView *weights_view;
};

G_DEFINE_FINAL_TYPE (LamEvaluatePage, lam_evaluate_page, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SESSION,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static LamEvaluationResult *
current_result (LamEvaluatePage *self)
{
  /* NULL while the template is built, before the evaluation exists. */
  return self->evaluation != NULL ? lam_evaluation_get_result (self->evaluation) : NULL;
}

static const char *
class_name (LamEvaluatePage *self, int c)
{
  return c >= 0 && c < self->n_classes ? self->class_names[c] : "?";
}

/* A regression: the test rows (else the training rows) against the newest
 * weights' predictions, one target at a time. */
static gboolean
is_regression (LamEvaluatePage *self)
{
  const LamDataset *train = lam_session_get_train_set (self->session);
  return train != NULL && train->task == LAM_TASK_REGRESSION;
}

/* A table's test set is rows, in the page's sentences too: they are no
 * images. */
static gboolean
shows_rows (LamEvaluatePage *self)
{
  const LamDataset *train = lam_session_get_train_set (self->session);
  return train != NULL && lam_dataset_is_table (train);
}

static void
refresh_regression (LamEvaluatePage *self)
{
  if (!is_regression (self))
    return;
  const LamDataset *test = lam_session_get_test_set (self->session);
  const LamDataset *rows = test != NULL ? test : lam_session_get_train_set (self->session);
  guint target = gtk_drop_down_get_selected (self->regression_target);
  if (target == GTK_INVALID_LIST_POSITION || target >= (guint) rows->n_targets)
    target = 0;
  lam_fit_view_set_table (self->regression_fit, rows, (int) target);
  gsize n = 0;
  const float *params = lam_session_get_weights (self->session, &n);
  const LamModelSpec *spec = lam_session_get_weights_spec (self->session);
  g_autoptr (GError) error = NULL;
  gboolean fits =
    spec != NULL && lam_fit_view_set_model (self->regression_fit, spec, params, n, &error);
  g_autofree char *title =
    spec == NULL ? g_strdup_printf ("%s: train a model to see its predictions", rows->name)
    : !fits
      ? g_strdup (error->message)
      : g_strdup_printf ("%s after epoch %d: R² %.3f, MSE %.4g for %s", rows->name,
                         lam_session_get_weights_epoch (self->session),
                         lam_fit_view_get_r2 (self->regression_fit),
                         lam_fit_view_get_mse (self->regression_fit), rows->target_names[target]);
  gtk_label_set_text (self->regression_title, title);
}

static void
on_regression_dataset (LamEvaluatePage *self)
{
  if (!is_regression (self))
    return;
  const LamDataset *train = lam_session_get_train_set (self->session);
  g_autoptr (GtkStringList) names = gtk_string_list_new ((const char *const *) train->target_names);
  gtk_drop_down_set_model (self->regression_target, G_LIST_MODEL (names));
  gtk_widget_set_visible (GTK_WIDGET (self->regression_target), train->n_targets > 1);
  refresh_regression (self);
}

/* States: nothing yet, an error, results */

/* The spinners show only once an evaluation has run this long. The MLP's
 * refresh after an epoch ends well before; a spinner turning meanwhile
 * only took a share of the cores from the evaluation: on two cores the
 * refresh took 85-92 ms without it against 94-121 ms with it (alternating
 * runs of lamina bench --latency). */
#define SPINNER_DELAY_MS 300

/* The words of the .ui file speak of images; a table's test set is rows. */
static void
name_test_items (LamEvaluatePage *self)
{
  if (self->session == NULL)
    return;
  gboolean rows = shows_rows (self);
  gtk_label_set_text (self->confusion_hint,
                      rows ? "Click a cell to see its rows" : "Click a cell to see its images");
  gtk_widget_set_tooltip_text (self->show_all_button,
                               rows ? "Show every test row again" : "Show every test image again");
  lam_help_speak_of_rows (GTK_WIDGET (self), rows);
}

static void
update_state (LamEvaluatePage *self)
{
  name_test_items (self);
  gboolean busy = lam_evaluation_get_busy (self->evaluation);
  gboolean spinning = busy && self->spinner_due;
  const GError *error = lam_evaluation_get_error (self->evaluation);
  gtk_widget_set_visible (self->busy_box, spinning);

  if (is_regression (self)) {
    refresh_regression (self);
    gtk_stack_set_visible_child_name (self->state_stack, "regression");
    return;
  }

  if (current_result (self) != NULL) {
    gtk_stack_set_visible_child_name (self->state_stack, "content");
    return;
  }
  if (error != NULL && !busy) {
    gtk_label_set_text (self->error_label, error->message);
    gtk_stack_set_visible_child_name (self->state_stack, "error");
    return;
  }

  const LamDataset *test = lam_session_get_test_set (self->session);
  g_autofree char *count = test != NULL ? lam_ui_format_count ((guint64) test->n) : NULL;
  g_autofree char *text = NULL;
  if (busy)
    text = g_strdup_printf ("Running the model on the %s%stest images…", count ? count : "",
                            count ? " " : "");
  else
    text = g_strdup_printf ("Train a model on the Train page; its predictions on the %s%stest "
                            "images appear here after the first epoch.",
                            count ? count : "", count ? " " : "");
  gtk_label_set_text (self->empty_title, busy ? "Evaluating…" : "No Predictions Yet");
  gtk_label_set_text (self->empty_label, text);
  gtk_widget_set_visible (self->empty_spinner, spinning);
  gtk_stack_set_visible_child_name (self->state_stack, "empty");
}

static gboolean
show_spinners (gpointer data)
{
  LamEvaluatePage *self = data;
  self->spinner_timeout = 0;
  self->spinner_due = TRUE;
  update_state (self);
  return G_SOURCE_REMOVE;
}

/* Starts the spinners' delay when an evaluation starts, ends it with it. */
static void
follow_busy (LamEvaluatePage *self)
{
  g_clear_handle_id (&self->spinner_timeout, g_source_remove);
  self->spinner_due = FALSE;
  if (lam_evaluation_get_busy (self->evaluation))
    self->spinner_timeout = g_timeout_add (SPINNER_DELAY_MS, show_spinners, self);
}

/* Classes: dropdowns, per-class bars and probability bars follow the
 * dataset's names. */

static GListModel *
class_filter_model (LamEvaluatePage *self, const char *any)
{
  GtkStringList *list = gtk_string_list_new (NULL);
  gtk_string_list_append (list, any);
  for (int c = 0; c < self->n_classes; c++)
    gtk_string_list_append (list, self->class_names[c]);
  return G_LIST_MODEL (list);
}

/* A class's counts, asked for when the pointer rests on its row: setting
 * thirty tooltips at every result cost more than all the rest of the
 * summary. */
static gboolean
query_class_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip,
                     gpointer data)
{
  LamEvaluatePage *self = data;
  int c = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (widget), "lamina-class"));
  g_autofree char *text = lam_evaluate_page_dup_class_tooltip (self, c);
  if (text == NULL)
    return FALSE;
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
rebuild_class_grid (LamEvaluatePage *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->class_grid))) != NULL)
    gtk_grid_remove (self->class_grid, child);
  g_clear_pointer (&self->class_bars, g_free);
  g_clear_pointer (&self->class_percents, g_free);
  g_clear_pointer (&self->class_names_labels, g_free);

  int n = self->n_classes;
  int rows = n <= 10 ? 5 : (n + 3) / 4;
  self->class_bars = g_new0 (GtkLevelBar *, MAX (n, 1));
  self->class_percents = g_new0 (GtkLabel *, MAX (n, 1));
  self->class_names_labels = g_new0 (GtkWidget *, MAX (n, 1));
  for (int c = 0; c < n; c++) {
    int group = c / rows, row = c % rows;
    GtkWidget *name = gtk_label_new (self->class_names[c]);
    gtk_label_set_xalign (GTK_LABEL (name), 0);
    gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
    gtk_label_set_width_chars (GTK_LABEL (name), 10);
    if (group > 0)
      gtk_widget_set_margin_start (name, 20);

    GtkWidget *bar = gtk_level_bar_new_for_interval (0, 1);
    gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_LOW);
    gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_HIGH);
    gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_FULL);
    gtk_widget_set_hexpand (bar, TRUE);
    gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
    gtk_widget_set_size_request (bar, 90, -1);

    GtkWidget *percent = gtk_label_new (NULL);
    gtk_label_set_xalign (GTK_LABEL (percent), 1);
    gtk_label_set_width_chars (GTK_LABEL (percent), 6);

    gtk_grid_attach (self->class_grid, name, 3 * group, row, 1, 1);
    gtk_grid_attach (self->class_grid, bar, 3 * group + 1, row, 1, 1);
    gtk_grid_attach (self->class_grid, percent, 3 * group + 2, row, 1, 1);
    self->class_bars[c] = GTK_LEVEL_BAR (bar);
    self->class_percents[c] = GTK_LABEL (percent);
    self->class_names_labels[c] = name;
    GtkWidget *row_widgets[] = { name, bar, percent };
    for (guint k = 0; k < G_N_ELEMENTS (row_widgets); k++) {
      g_object_set_data (G_OBJECT (row_widgets[k]), "lamina-class", GINT_TO_POINTER (c));
      gtk_widget_set_has_tooltip (row_widgets[k], TRUE);
      g_signal_connect (row_widgets[k], "query-tooltip", G_CALLBACK (query_class_tooltip), self);
    }
  }
}

static gboolean
same_classes (LamEvaluatePage *self, const LamDataset *dataset)
{
  if (self->class_names == NULL || self->n_classes != dataset->n_classes)
    return FALSE;
  for (int c = 0; c < dataset->n_classes; c++)
    if (g_strcmp0 (self->class_names[c], dataset->class_names[c]) != 0)
      return FALSE;
  return TRUE;
}

static void
ensure_classes (LamEvaluatePage *self, const LamDataset *dataset)
{
  if (same_classes (self, dataset))
    return;
  g_strfreev (self->class_names);
  self->class_names = g_strdupv (dataset->class_names);
  self->n_classes = dataset->n_classes;

  self->syncing_filters = TRUE;
  g_autoptr (GListModel) true_model = class_filter_model (self, "Any");
  g_autoptr (GListModel) predicted_model = class_filter_model (self, "Any");
  gtk_drop_down_set_model (self->true_dropdown, true_model);
  gtk_drop_down_set_model (self->predicted_dropdown, predicted_model);
  self->syncing_filters = FALSE;
  lam_prediction_grid_set_filter (self->gallery, -1, -1);
  gtk_widget_set_sensitive (self->show_all_button, FALSE);

  rebuild_class_grid (self);
  const char *const *names = (const char *const *) self->class_names;
  lam_probability_bars_set_classes (self->detail_bars, names, self->n_classes);
  lam_probability_bars_set_classes (self->draw_bars, names, self->n_classes);
  lam_activations_view_set_class_names (self->activations_view, names, self->n_classes);

  gboolean digits = self->n_classes == 10 && g_strcmp0 (self->class_names[0], "0") == 0;
  lam_drawing_pad_set_hint (self->pad, digits ? "Draw a digit" : "Draw one of the classes");
}

/* Header */

static void
update_summary (LamEvaluatePage *self, LamEvaluationResult *result)
{
  g_autofree char *accuracy = g_strdup_printf ("%.1f%%", 100 * result->accuracy);
  gtk_label_set_text (self->accuracy_label, accuracy);

  g_autofree char *epoch =
    result->rewound      ? g_strdup_printf ("Test accuracy back at epoch %d", result->epoch)
    : result->epoch > 0 ? g_strdup_printf ("Test accuracy after epoch %d", result->epoch)
                        : g_strdup ("Test accuracy of the stopped run");
  /* Scores of a model on data it never saw the like of are not a lesson's
   * result: say so beside them. */
  const char *trained_on = NULL;
  if (!lam_session_get_weights_match_dataset (self->session, &trained_on)) {
    g_autofree char *warned = g_strdup_printf (
      "%s — on %s, but these weights were trained on %s: train on this dataset for a "
      "meaningful score",
      epoch, result->dataset->name, trained_on != NULL ? trained_on : "another dataset");
    g_free (epoch);
    epoch = g_steal_pointer (&warned);
    gtk_widget_add_css_class (GTK_WIDGET (self->epoch_label), "warning");
  } else {
    gtk_widget_remove_css_class (GTK_WIDGET (self->epoch_label), "warning");
  }
  gtk_label_set_text (self->epoch_label, epoch);

  g_autofree char *wrong = lam_ui_format_count (result->n_wrong);
  g_autofree char *total = lam_ui_format_count ((guint64) result->n_images);
  g_autofree char *loss = g_strdup_printf ("Loss %.3f · %s of %s wrong", result->mean_loss, wrong,
                                           total);
  gtk_label_set_text (self->loss_label, loss);

  for (int c = 0; c < self->n_classes; c++) {
    double a = result->class_accuracy[c];
    gtk_level_bar_set_value (self->class_bars[c], isnan (a) ? 0 : a);
    g_autofree char *percent = isnan (a) ? g_strdup ("–") : g_strdup_printf ("%.0f%%", 100 * a);
    gtk_label_set_text (self->class_percents[c], percent);
  }
}

/* The largest counts off the diagonal, as shortcuts to their cells. */

#define N_MISTAKES 4

static void
on_mistake_clicked (GtkButton *button, LamEvaluatePage *self)
{
  int t = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "true-class"));
  int p = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "predicted-class"));
  int selected_t, selected_p;
  lam_confusion_view_get_selection (self->confusion_view, &selected_t, &selected_p);
  /* A shortcut only ever shows its cell; Show All goes back. */
  if (t != selected_t || p != selected_p)
    lam_confusion_view_activate_cell (self->confusion_view, t, p);
}

static gboolean
query_mistake_tooltip (GtkWidget *button, int x, int y, gboolean keyboard, GtkTooltip *tooltip,
                       gpointer data)
{
  g_autofree char *text = lam_evaluate_page_dup_mistake_tooltip (data, button);
  if (text == NULL)
    return FALSE;
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

/* One shortcut button of the mistakes list: a label and a count. */
static GtkWidget *
mistake_button_new (LamEvaluatePage *self)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (label, TRUE);
  GtkWidget *number = gtk_label_new (NULL);
  gtk_widget_add_css_class (number, "numeric");
  gtk_widget_add_css_class (number, "dim-label");
  gtk_box_append (GTK_BOX (row), label);
  gtk_box_append (GTK_BOX (row), number);

  GtkWidget *button = gtk_button_new ();
  gtk_button_set_child (GTK_BUTTON (button), row);
  gtk_button_set_has_frame (GTK_BUTTON (button), FALSE);
  /* A button with a child of its own has no name for a screen reader:
   * its labels give it one, and follow every relabelling. */
  gtk_accessible_update_relation (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_RELATION_LABELLED_BY,
                                  label, number, NULL, -1);
  /* Said when the pointer rests on it: set at every result, the four
   * tooltips took 1.2-2 ms of the page's 4.5-6 ms handling after an MLP
   * epoch (each asks the display where the pointer is). */
  gtk_widget_set_has_tooltip (button, TRUE);
  g_signal_connect (button, "query-tooltip", G_CALLBACK (query_mistake_tooltip), self);
  g_signal_connect (button, "clicked", G_CALLBACK (on_mistake_clicked), self);
  return button;
}

/* The most frequent confusions, as shortcuts to their cells. The buttons
 * are kept from one result to the next and only relabelled: made afresh,
 * with their styles, they cost several milliseconds of every refresh. */
static void
update_mistakes (LamEvaluatePage *self, LamEvaluationResult *result)
{
  const LamConfusion *confusion = result->confusion;
  int n = confusion->n_classes;
  gboolean *taken = g_new0 (gboolean, (gsize) n * n);
  GtkWidget *button = gtk_widget_get_first_child (GTK_WIDGET (self->mistakes_box));
  for (int k = 0; k < N_MISTAKES; k++) {
    int best_t = -1, best_p = -1;
    guint64 best = 0;
    for (int t = 0; t < n; t++)
      for (int p = 0; p < n; p++)
        if (t != p && !taken[t * n + p] && lam_confusion_get (confusion, t, p) > best) {
          best = lam_confusion_get (confusion, t, p);
          best_t = t;
          best_p = p;
        }
    if (best_t < 0)
      break;
    taken[best_t * n + best_p] = TRUE;

    if (button == NULL) {
      button = mistake_button_new (self);
      gtk_box_append (self->mistakes_box, button);
    }
    g_autofree char *text = g_strdup_printf ("%s taken for %s", class_name (self, best_t),
                                             class_name (self, best_p));
    g_autofree char *count = lam_ui_format_count (best);
    GtkWidget *label = gtk_widget_get_first_child (gtk_button_get_child (GTK_BUTTON (button)));
    gtk_label_set_text (GTK_LABEL (label), text);
    gtk_label_set_text (GTK_LABEL (gtk_widget_get_next_sibling (label)), count);
    g_object_set_data (G_OBJECT (button), "true-class", GINT_TO_POINTER (best_t));
    g_object_set_data (G_OBJECT (button), "predicted-class", GINT_TO_POINTER (best_p));
    button = gtk_widget_get_next_sibling (button);
  }
  // Fewer confusions than before (a model that gets more right): the rest go.
  while (button != NULL) {
    GtkWidget *next = gtk_widget_get_next_sibling (button);
    gtk_box_remove (self->mistakes_box, button);
    button = next;
  }
  g_free (taken);
}

/* Gallery and filters */

static void
update_gallery_label (LamEvaluatePage *self)
{
  int t, p;
  lam_prediction_grid_get_filter (self->gallery, &t, &p);
  guint n = lam_prediction_grid_get_n_items (self->gallery);
  guint wrong = lam_prediction_grid_get_n_wrong_items (self->gallery);
  g_autofree char *count = lam_ui_format_count (n);
  g_autofree char *wrong_text = lam_ui_format_quantity (wrong, "mistake", "mistakes");
  g_autofree char *text = NULL;
  const char *first = wrong == 0 ? "none wrong" : wrong == n ? "all wrong" : NULL;
  g_autofree char *mistakes =
    first != NULL ? g_strdup (first) : g_strdup_printf ("the %s first", wrong_text);

  const char *what = shows_rows (self) ? (n == 1 ? "row" : "rows") : (n == 1 ? "image" : "images");
  if (t >= 0 && p >= 0 && t == p)
    text = g_strdup_printf ("%s %s %s recognised as %s", count, class_name (self, t), what,
                            class_name (self, p));
  else if (t >= 0 && p >= 0)
    text = g_strdup_printf ("%s %s %s taken for %s", count, class_name (self, t), what,
                            class_name (self, p));
  else if (t >= 0)
    text = g_strdup_printf ("%s %s %s, %s", count, class_name (self, t), what, mistakes);
  else if (p >= 0)
    text =
      g_strdup_printf ("%s %s predicted as %s, %s", count, what, class_name (self, p), mistakes);
  else if (lam_prediction_grid_get_has_subset (self->gallery))
    text = g_strdup_printf ("%s test %s picked on the map, %s", count, what, mistakes);
  else
    text = g_strdup_printf ("All %s test %s, %s", count, what, mistakes);
  gtk_label_set_text (self->gallery_label, text);
}

static void
set_filters (LamEvaluatePage *self, int true_class, int predicted_class)
{
  self->syncing_filters = TRUE;
  gtk_drop_down_set_selected (self->true_dropdown, (guint) (true_class + 1));
  gtk_drop_down_set_selected (self->predicted_dropdown, (guint) (predicted_class + 1));
  self->syncing_filters = FALSE;

  lam_prediction_grid_set_filter (self->gallery, true_class, predicted_class);
  if (true_class >= 0 && predicted_class >= 0)
    lam_confusion_view_set_selection (self->confusion_view, true_class, predicted_class);
  else
    lam_confusion_view_set_selection (self->confusion_view, -1, -1);
  gboolean filtered = true_class >= 0 || predicted_class >= 0;
  /* Show All pressed by keys turns off under the focus, which would then
   * be nowhere: the matrix, where a cell is picked next, takes it. */
  if (!filtered && gtk_widget_has_focus (self->show_all_button))
    gtk_widget_grab_focus (GTK_WIDGET (self->confusion_view));
  gtk_widget_set_sensitive (self->show_all_button, filtered);
  update_gallery_label (self);
}

static void
on_cell_activated (LamEvaluatePage *self, int true_class, int predicted_class)
{
  set_filters (self, true_class, predicted_class);
}

static void
on_show_all_clicked (LamEvaluatePage *self)
{
  set_filters (self, -1, -1);
}

static void
on_filter_dropdown_changed (LamEvaluatePage *self)
{
  if (self->syncing_filters)
    return;
  int t = (int) gtk_drop_down_get_selected (self->true_dropdown) - 1;
  int p = (int) gtk_drop_down_get_selected (self->predicted_dropdown) - 1;
  set_filters (self, MAX (t, -1), MAX (p, -1));
}

static void
on_order_changed (LamEvaluatePage *self)
{
  guint selected = gtk_drop_down_get_selected (self->order_dropdown);
  lam_prediction_grid_set_order (self->gallery,
                                 (LamPredictionOrder) MIN (selected, LAM_PREDICTION_ORDER_INDEX));
}

/* Detail panel */

static void
draw_detail_image (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  LamEvaluatePage *self = data;
  LamEvaluationResult *result = current_result (self);
  if (result == NULL || self->detail_index < 0 || self->detail_index >= result->n_images)
    return;
  const LamDataset *dataset = result->dataset;
  int w = dataset->width, h = dataset->height;
  gsize plane = (gsize) w * h;
  const guint8 *image = lam_dataset_get_image (dataset, self->detail_index);
  /* A table's row has no picture to show. */
  if (image == NULL)
    return;

  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  guint8 *pixels = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      gsize p = (gsize) y * w + x;
      guint32 r = image[p], g = r, b = r;
      if (dataset->channels == 3) {
        g = image[plane + p];
        b = image[2 * plane + p];
      }
      ((guint32 *) (pixels + (gsize) y * stride))[x] = 0xff000000u | r << 16 | g << 8 | b;
    }
  cairo_surface_mark_dirty (surface);

  double factor = floor (MIN ((double) width / w, (double) height / h));
  factor = MAX (factor, 1);
  cairo_translate (cr, floor ((width - w * factor) / 2), floor ((height - h * factor) / 2));
  cairo_scale (cr, factor, factor);
  cairo_set_source_surface (cr, surface, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_rectangle (cr, 0, 0, w, h);
  cairo_fill (cr);
  cairo_surface_destroy (surface);
}

/* The selected test image, as the weights see it and as it is shown. */
static void
explain_test_image (LamEvaluatePage *self, LamEvaluationResult *result, int index)
{
  const LamDataset *dataset = result->dataset;
  const guint8 *image = lam_dataset_get_image (dataset, index);
  const float *row = lam_dataset_is_table (dataset) ? lam_dataset_get_row (dataset, index) : NULL;
  if (row != NULL && result->plan != NULL &&
      lam_shape_numel (&result->plan->input) == (gsize) dataset->n_features) {
    g_autofree float *input = g_new (float, dataset->n_features);
    lam_evaluation_result_prepare_image (result, index, input);
    lam_explain_panel_set_row (self->detail_explain, input, row,
                               (const char *const *) dataset->feature_names, dataset->n_features);
    return;
  }
  if (image == NULL || result->plan == NULL) {
    lam_explain_panel_set_image (self->detail_explain, NULL, NULL, 0, 0, 0);
    return;
  }
  g_autofree float *input = g_new (float, lam_shape_numel (&result->plan->input));
  lam_evaluation_result_prepare_image (result, index, input);
  lam_explain_panel_set_image (self->detail_explain, input, image, dataset->channels,
                               dataset->height, dataset->width);
}

static void
show_activations (LamEvaluatePage *self, LamEvaluationResult *result, int index)
{
  const LamModelPlan *plan = result->plan;
  if (plan == NULL) {
    lam_activations_view_clear (self->activations_view);
    return;
  }
  g_autofree float *input = g_new (float, lam_shape_numel (&plan->input));
  g_autofree float *probs = g_new (float, result->n_outputs);
  g_autofree float **outputs = g_new0 (float *, MAX (plan->n_layers, 1));
  lam_evaluation_result_prepare_image (result, index, input);
  for (int i = 0; i < plan->n_layers; i++)
    outputs[i] = g_new (float, lam_shape_numel (&plan->layers[i].out_shape));
  if (lam_evaluation_predict_one (self->evaluation, input, probs, outputs))
    lam_activations_view_set (self->activations_view, plan, input,
                              (const float *const *) outputs);
  else
    lam_activations_view_clear (self->activations_view);
  for (int i = 0; i < plan->n_layers; i++)
    g_free (outputs[i]);
}

static void
show_detail (LamEvaluatePage *self)
{
  LamEvaluationResult *result = current_result (self);
  int index = lam_prediction_grid_get_selected (self->gallery);
  self->detail_index = result != NULL ? index : -1;
  gtk_widget_queue_draw (GTK_WIDGET (self->detail_image));

  if (self->detail_index < 0) {
    gtk_label_set_text (self->detail_title, "");
    gtk_label_set_text (self->detail_true,
                        shows_rows (self) ? "No row selected" : "No image selected");
    gtk_label_set_text (self->detail_predicted, "");
    gtk_label_set_text (self->detail_history, "");
    lam_probability_bars_set_probabilities (self->detail_bars, NULL, -1);
    lam_activations_view_clear (self->activations_view);
    lam_epoch_slider_set_image (self->epoch_slider, -1, -1);
    lam_explain_panel_set_image (self->detail_explain, NULL, NULL, 0, 0, 0);
    return;
  }

  int label = result->dataset->labels[index];
  int predicted = result->predicted[index];
  gboolean right = predicted == label;
  g_autofree char *title =
    g_strdup_printf ("Test %s %d", lam_dataset_is_table (result->dataset) ? "row" : "image", index);
  g_autofree char *truth =
    g_markup_printf_escaped ("True class: <b>%s</b>", class_name (self, label));
  /* The theme's success and error colours are too dark on the dark
   * style; these keep their contrast on both. */
  const char *color = right ? (self->dark ? "#57e389" : "#1b7d57")
                            : (self->dark ? "#ff7b63" : "#c01c28");
  /* Rounded as the bars below round it. */
  g_autofree char *sure = lam_probability_bars_format_percent (result->confidence[index]);
  /* Named as the bars below name their top row. */
  g_autofree char *predicted_name = predicted >= 0 && predicted < self->n_classes
                                      ? g_strdup (class_name (self, predicted))
                                      : g_strdup_printf ("Output %d, which is no class", predicted);
  g_autofree char *prediction =
    g_markup_printf_escaped ("<span foreground=\"%s\">%s %s, %s sure</span>", color,
                             right ? "✓" : "✗", predicted_name, sure);
  g_autofree char *history = lam_evaluation_dup_history_text (self->evaluation, index);
  gtk_label_set_text (self->detail_title, title);
  gtk_label_set_markup (self->detail_true, truth);
  gtk_label_set_markup (self->detail_predicted, prediction);
  gtk_label_set_text (self->detail_history, history != NULL ? history : "");

  lam_probability_bars_set_outputs (self->detail_bars,
                                    lam_evaluation_result_get_probabilities (result, index),
                                    result->n_outputs, label);
  show_activations (self, result, index);
  lam_epoch_slider_set_image (self->epoch_slider, index, label);
  explain_test_image (self, result, index);
  lam_feature_map_view_set_highlighted (self->map_view, index);
}

/* Draw tab */

static gboolean
takes_pad_input (LamEvaluationResult *result, char **why)
{
  if (result->plan == NULL) {
    if (why != NULL)
      *why = g_strdup ("These weights come without the shapes of their layers.");
    return FALSE;
  }
  const LamShape *input = &result->plan->input;
  gboolean fits = lam_shape_numel (input) == LAM_DRAWING_PAD_INPUT_SIZE * LAM_DRAWING_PAD_INPUT_SIZE &&
                  (input->rank != 3 || input->dims[0] == 1);
  if (!fits && why != NULL) {
    g_autofree char *shape = lam_shape_to_string (input);
    g_autofree char *reads = input->rank == 1
                               ? g_strdup_printf ("reads rows of %s number%s from a table", shape,
                                                  input->dims[0] == 1 ? "" : "s")
                               : g_strdup_printf ("takes images of %s", shape);
    *why = g_strdup_printf ("The pad draws 28 × 28 grey images like MNIST and Fashion-MNIST, and "
                            "this model %s. Train a model on one of those image sets to have it "
                            "classify your drawings.",
                            reads);
  }
  return fits;
}

/* Where the drawing (normalised) lands on the map, once the map is made. */
static void
place_drawing (LamEvaluatePage *self, const float *input)
{
  float xy[2];
  if (lam_explainer_get_map_ready (self->explainer) &&
      lam_explainer_project (self->explainer, input, xy, NULL))
    lam_feature_map_view_set_marker (self->map_view, TRUE, xy[0], xy[1], "your drawing");
}

static void
classify_drawing (LamEvaluatePage *self)
{
  LamEvaluationResult *result = current_result (self);
  gtk_widget_set_sensitive (self->undo_button, lam_drawing_pad_get_n_strokes (self->pad) > 0);
  gtk_widget_set_sensitive (self->clear_button, !lam_drawing_pad_is_empty (self->pad));
  if (result == NULL || !takes_pad_input (result, NULL))
    return;

  float pixels[LAM_DRAWING_PAD_INPUT_SIZE * LAM_DRAWING_PAD_INPUT_SIZE];
  float input[LAM_DRAWING_PAD_INPUT_SIZE * LAM_DRAWING_PAD_INPUT_SIZE];
  g_autofree float *probs = g_new (float, result->n_outputs);
  if (!lam_drawing_pad_get_input (self->pad, pixels)) {
    lam_explain_panel_set_image (self->draw_explain, NULL, NULL, 0, 0, 0);
    lam_feature_map_view_set_marker (self->map_view, FALSE, 0, 0, NULL);
    lam_probability_bars_set_probabilities (self->draw_bars, NULL, -1);
    gtk_label_set_text (self->draw_guess, "Nothing drawn yet");
    gtk_widget_add_css_class (GTK_WIDGET (self->draw_guess), "dim-label");
    return;
  }
  lam_evaluation_normalize (self->evaluation, pixels, input);
  if (!lam_evaluation_predict_one (self->evaluation, input, probs, NULL))
    return;
  /* Where it looked, what it looks like, and where it lands on the map:
   * on the explainer's workers, the newest drawing winning. */
  guint8 shown[LAM_DRAWING_PAD_INPUT_SIZE * LAM_DRAWING_PAD_INPUT_SIZE];
  for (guint i = 0; i < G_N_ELEMENTS (shown); i++)
    shown[i] = (guint8) CLAMP (pixels[i] * 255.0f + 0.5f, 0, 255);
  lam_explain_panel_set_image (self->draw_explain, input, shown, 1, LAM_DRAWING_PAD_INPUT_SIZE,
                               LAM_DRAWING_PAD_INPUT_SIZE);
  place_drawing (self, input);
  lam_probability_bars_set_outputs (self->draw_bars, probs, result->n_outputs, -1);
  g_autofree char *guess = lam_probability_bars_dup_guess (self->draw_bars);
  gtk_label_set_text (self->draw_guess, guess);
  gtk_widget_remove_css_class (GTK_WIDGET (self->draw_guess), "dim-label");
}

static void
on_pad_changed (LamEvaluatePage *self)
{
  classify_drawing (self);
}

static void
on_undo_clicked (LamEvaluatePage *self)
{
  lam_drawing_pad_undo (self->pad);
}

static void
on_clear_clicked (LamEvaluatePage *self)
{
  lam_drawing_pad_clear (self->pad);
}

static void
update_draw_tab (LamEvaluatePage *self, LamEvaluationResult *result)
{
  g_autofree char *why = NULL;
  if (takes_pad_input (result, &why)) {
    gtk_stack_set_visible_child_name (self->draw_stack, "pad");
    classify_drawing (self);
  } else {
    gtk_label_set_text (self->draw_unavailable_label, why);
    gtk_stack_set_visible_child_name (self->draw_stack, "unavailable");
  }
}

/* Results */

static void
update_save_actions (LamEvaluatePage *self)
{
  gboolean have = current_result (self) != NULL;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluate.save-confusion-csv", have);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluate.save-confusion-png", have);
}

/* Map tab */

static void
update_map (LamEvaluatePage *self)
{
  LamEvaluationResult *result = lam_explainer_get_result (self->explainer);
  int n = 0;
  const float *coords = lam_explainer_get_map_coords (self->explainer, &n);
  const GError *error = lam_explainer_get_map_error (self->explainer);
  const GError *unsupported = lam_explainer_get_unsupported (self->explainer);
  /* Its "No map yet" would promise a map that is not coming. */
  gtk_widget_set_visible (GTK_WIDGET (self->map_view), unsupported == NULL && error == NULL);
  gboolean rows = shows_rows (self);
  lam_feature_map_view_set_speaks_of_rows (self->map_view, rows);
  if (result == NULL || coords == NULL || n != result->n_images) {
    gtk_label_set_text (self->map_label, unsupported != NULL ? unsupported->message
                                         : error != NULL     ? error->message
                                         : result == NULL    ? ""
                                         : rows ? "Placing every test row on the map…"
                                                : "Placing every test image on the map…");
    return;
  }
  const LamDataset *dataset = result->dataset;
  g_autofree gint32 *labels = g_new (gint32, MAX (n, 1));
  for (int i = 0; i < n; i++)
    labels[i] = dataset->labels[i];
  lam_feature_map_view_set_points (self->map_view, n, coords, labels,
                                   dataset->n_classes, (const char *const *) dataset->class_names,
                                   TRUE);
  lam_feature_map_view_set_predictions (self->map_view, result->predicted);
  const LamFeatureMapAxes *axes = lam_explainer_get_map_axes (self->explainer);
  g_autofree char *caption = g_strdup_printf (
    "The test %s by what the layer before the last makes of them, %s "
    "epoch %d · across: %.0f%% of their spread, up: %.0f%%",
    rows ? "rows" : "images", result->rewound ? "back at" : "after", result->epoch,
    axes != NULL ? 100 * axes->explained[0] : NAN, axes != NULL ? 100 * axes->explained[1] : NAN);
  lam_feature_map_view_set_caption (self->map_view, caption);
  gtk_label_set_text (self->map_label,
                      rows ? "Each dot is a test row, coloured by its true class; a ring marks a "
                             "mistake. Point at a dot to see its class, click to open the row, "
                             "Shift+drag a loop to pick dots for the gallery, scroll to zoom."
                           : "Each dot is a test image, coloured by its true class; a ring "
                             "marks a mistake. Point at a dot to see it, click to open it, "
                             "Shift+drag a loop to pick dots for the gallery, scroll to zoom.");
  lam_feature_map_view_set_highlighted (self->map_view, self->detail_index);
  /* The map is made when its tab shows: a drawing made before is placed
   * now. */
  float pixels[LAM_DRAWING_PAD_INPUT_SIZE * LAM_DRAWING_PAD_INPUT_SIZE];
  float input[LAM_DRAWING_PAD_INPUT_SIZE * LAM_DRAWING_PAD_INPUT_SIZE];
  if (takes_pad_input (result, NULL) && lam_drawing_pad_get_input (self->pad, pixels)) {
    lam_evaluation_normalize (self->evaluation, pixels, input);
    place_drawing (self, input);
  }
}

static GdkTexture *
map_thumbnail (guint index, gpointer user_data)
{
  LamEvaluatePage *self = user_data;
  LamEvaluationResult *result = lam_explainer_get_result (self->explainer);
  if (result == NULL || index >= (guint) result->n_images)
    return NULL;
  const LamDataset *dataset = result->dataset;
  const guint8 *image = lam_dataset_get_image (dataset, (int) index);
  if (image == NULL)
    return NULL;
  int w = dataset->width, h = dataset->height;
  gsize plane = (gsize) w * h;
  guint8 *rgb = g_malloc ((gsize) 3 * plane);
  for (gsize p = 0; p < plane; p++)
    for (int c = 0; c < 3; c++)
      rgb[3 * p + c] = image[dataset->channels == 3 ? c * plane + p : p];
  g_autoptr (GBytes) bytes = g_bytes_new_take (rgb, (gsize) 3 * plane);
  return gdk_memory_texture_new (w, h, GDK_MEMORY_R8G8B8, bytes, (gsize) 3 * w);
}

/* A table row has no picture: its card shows its values, as its cell in
 * the gallery does. */
static char **
map_card_lines (guint index, int max_lines, PangoLayout *measure, int max_width, gpointer user_data)
{
  LamEvaluatePage *self = user_data;
  LamEvaluationResult *result = lam_explainer_get_result (self->explainer);
  if (result == NULL || index >= (guint) result->n_images)
    return NULL;
  return lam_prediction_grid_dup_row_lines (result->dataset, (int) index, max_lines, measure,
                                            max_width);
}

static void
on_map_selection (LamEvaluatePage *self)
{
  g_autoptr (GArray) picked = lam_feature_map_view_dup_selection (self->map_view);
  if (picked == NULL || picked->len == 0)
    lam_prediction_grid_set_subset (self->gallery, NULL, 0);
  else
    lam_prediction_grid_set_subset (self->gallery, (const guint32 *) picked->data, picked->len);
  update_gallery_label (self);
}

static void
on_point_activated (LamEvaluatePage *self, guint index)
{
  lam_evaluate_page_select_image (self, (int) index);
  lam_evaluate_page_show_tab (self, "predictions");
}

/* The panels' questions about the image shown wait while the explainer
 * still holds the result before the one being shown: asked then, they
 * ran the old weights' look-alike search (3.5 ms for the MLP) on the main
 * loop and a heat map on the workers, only to be asked again. */
static void
hold_explanations (LamEvaluatePage *self, gboolean held)
{
  lam_explain_panel_set_held (self->detail_explain, held);
  lam_explain_panel_set_held (self->draw_explain, held);
}

/* The explainer works on the result shown, and only while the page is:
 * comparing with every training image is a pass over them. */
static void
sync_explainer (LamEvaluatePage *self)
{
  if (!gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;
  LamEvaluationResult *result = current_result (self);
  gboolean held = lam_explain_panel_get_held (self->detail_explain);
  gboolean changed = lam_explainer_get_result (self->explainer) != result;
  hold_explanations (self, FALSE);
  if (changed)
    lam_explainer_set_result (self->explainer, result);
  if (changed || held) {
    lam_explain_panel_refresh (self->detail_explain);
    lam_explain_panel_refresh (self->draw_explain);
  }
  if (changed) {
    /* A map at hand came with "map-ready"; without one, the tab drops the
     * last result's words for the new one's. */
    if (!lam_explainer_get_map_ready (self->explainer))
      update_map (self);
    if (gtk_widget_get_mapped (self->map_box))
      lam_explainer_ensure_map (self->explainer);
  }
}

static void
cancel_explainer_sync (LamEvaluatePage *self)
{
  if (self->explainer_sync_id != 0)
    g_signal_handler_disconnect (self->explainer_sync_clock, self->explainer_sync_id);
  self->explainer_sync_id = 0;
  self->explainer_sync_clock = NULL;
  if (self->holding_training) {
    self->holding_training = FALSE;
    lam_session_release_training (self->session);
  }
}

static void
on_result_frame_painted (GdkFrameClock *clock, LamEvaluatePage *self)
{
  cancel_explainer_sync (self);
  sync_explainer (self);
}

/* The explanations of a new result (the selected image's and the
 * drawing's heat maps, the look-alikes' index, the map) run on workers
 * that take both cores of a small machine; begun at once, they slowed the
 * frame that shows the result's scores, which a person waits for first.
 * They begin when that frame is drawn. */
static void
sync_explainer_after_frame (LamEvaluatePage *self)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (self));
  if (clock == NULL || !gtk_widget_get_mapped (GTK_WIDGET (self))) {
    sync_explainer (self);
    return;
  }
  if (self->explainer_sync_id == 0) {
    self->explainer_sync_clock = clock;
    self->explainer_sync_id =
      g_signal_connect (clock, "after-paint", G_CALLBACK (on_result_frame_painted), self);
  }
  /* Training waits for that frame too: a run let go at the result took
   * the cores while the frame was laid out and drawn. After MLP epochs
   * (48 each way, alternating runs of lamina bench --latency) the frame
   * came 36.6 ms after the result (quartiles 30.7-40.6) with this hold
   * against 39.0 ms (36.9-43.4) without. At most the trainer's longest
   * hold should no frame come. */
  if (!self->holding_training) {
    self->holding_training = TRUE;
    lam_session_hold_training (self->session);
  }
  if (lam_explainer_get_result (self->explainer) != current_result (self))
    hold_explanations (self, TRUE);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_updated (LamEvaluatePage *self)
{
  LamEvaluationResult *result = current_result (self);
  sync_explainer_after_frame (self);
  update_save_actions (self);
  if (result == NULL) {
    /* No images to have picked: the next result may be of others. */
    lam_feature_map_view_clear_selection (self->map_view);
    lam_prediction_grid_set_subset (self->gallery, NULL, 0);
    lam_prediction_grid_set_result (self->gallery, NULL);
    lam_confusion_view_set_confusion (self->confusion_view, NULL, NULL);
    lam_weights_view_clear (self->weights_view);
    update_state (self);
    return;
  }

  /* Images picked on the map are the old dataset's; the map keeps a pick
   * for as many points, which another dataset may well have. */
  LamEvaluationResult *shown = lam_prediction_grid_get_result (self->gallery);
  if (shown != NULL && shown->dataset != result->dataset) {
    lam_feature_map_view_clear_selection (self->map_view);
    lam_prediction_grid_set_subset (self->gallery, NULL, 0);
  }
  ensure_classes (self, result->dataset);
  lam_drawing_pad_set_dataset (self->pad, result->dataset->name,
                               (const char *const *) result->dataset->class_names);
  update_summary (self, result);
  update_mistakes (self, result);
  lam_confusion_view_set_confusion (self->confusion_view, result->confusion,
                                    (const char *const *) self->class_names);
  int t, p;
  lam_prediction_grid_get_filter (self->gallery, &t, &p);
  lam_confusion_view_set_selection (self->confusion_view, t >= 0 && p >= 0 ? t : -1,
                                    t >= 0 && p >= 0 ? p : -1);
  int selected = lam_prediction_grid_get_selected (self->gallery);
  lam_prediction_grid_set_result (self->gallery, result);
  /* The same image after a newer epoch: its prediction may have changed. */
  if (lam_prediction_grid_get_selected (self->gallery) == selected)
    show_detail (self);
  update_gallery_label (self);
  if (result->plan != NULL) {
    lam_weights_view_set_input_names (self->weights_view,
                                      lam_dataset_is_table (result->dataset)
                                        ? (const char *const *) result->dataset->feature_names
                                        : NULL);
    lam_weights_view_set_weights (self->weights_view, result->plan, result->params);
  }
  update_draw_tab (self, result);
  update_state (self);
}

static void
on_busy_changed (LamEvaluatePage *self)
{
  follow_busy (self);
  update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* Object */

static void
lam_evaluate_page_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  LamEvaluatePage *self = LAM_EVALUATE_PAGE (widget);
  GTK_WIDGET_CLASS (lam_evaluate_page_parent_class)->css_changed (widget, change);
  GdkRGBA fg;
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  gboolean dark = 0.2126 * fg.red + 0.7152 * fg.green + 0.0722 * fg.blue > 0.5;
  if (dark == self->dark)
    return;
  self->dark = dark;
  if (current_result (self) != NULL)
    show_detail (self);
}

static void
update_deferral (LamEvaluatePage *self, gboolean mapped)
{
  lam_evaluation_set_deferred (self->evaluation,
                               !mapped && lam_session_get_training (self->session));
}

static void
on_mapped (LamEvaluatePage *self)
{
  update_deferral (self, TRUE);
  sync_explainer (self);
}

static void
on_unmapped (LamEvaluatePage *self)
{
  cancel_explainer_sync (self);
  update_deferral (self, FALSE);
}

static void
on_training_changed (LamEvaluatePage *self)
{
  update_deferral (self, gtk_widget_get_mapped (GTK_WIDGET (self)));
}

static void
lam_evaluate_page_constructed (GObject *object)
{
  LamEvaluatePage *self = LAM_EVALUATE_PAGE (object);
  G_OBJECT_CLASS (lam_evaluate_page_parent_class)->constructed (object);

  if (self->session == NULL)
    self->session = lam_session_new ();
  self->evaluation = g_object_ref (lam_session_get_evaluation (self->session));
  g_signal_connect_object (self->evaluation, "updated", G_CALLBACK (on_updated), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->evaluation, "notify::busy", G_CALLBACK (on_busy_changed), self,
                           G_CONNECT_SWAPPED);
  follow_busy (self);
  g_signal_connect_object (self->session, "dataset-changed", G_CALLBACK (on_regression_dataset),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "weights-changed", G_CALLBACK (refresh_regression),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_swapped (self->regression_target, "notify::selected",
                            G_CALLBACK (refresh_regression), self);
  g_object_bind_property (self->regression_residuals, "active", self->regression_fit, "residuals",
                          G_BINDING_SYNC_CREATE);
  g_signal_connect_object (self->session, "dataset-changed", G_CALLBACK (update_state), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::training", G_CALLBACK (on_training_changed),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect (self, "map", G_CALLBACK (on_mapped), NULL);
  g_signal_connect (self, "unmap", G_CALLBACK (on_unmapped), NULL);

  /* Why it said that: the selected image's and the drawing's. */
  self->explainer = lam_explainer_new (self->session);
  self->detail_explain = LAM_EXPLAIN_PANEL (lam_explain_panel_new (self->explainer, self->session));
  gtk_widget_set_margin_top (GTK_WIDGET (self->detail_explain), 8);
  gtk_box_insert_child_after (GTK_BOX (gtk_widget_get_parent (GTK_WIDGET (self->detail_bars))),
                              GTK_WIDGET (self->detail_explain), GTK_WIDGET (self->detail_bars));
  self->draw_explain = LAM_EXPLAIN_PANEL (lam_explain_panel_new (self->explainer, self->session));
  gtk_widget_set_margin_top (GTK_WIDGET (self->draw_explain), 8);
  gtk_box_insert_child_after (GTK_BOX (gtk_widget_get_parent (GTK_WIDGET (self->draw_bars))),
                              GTK_WIDGET (self->draw_explain), GTK_WIDGET (self->draw_bars));

  /* The map of what it learned, a tab of its own. */
  GtkWidget *map_box = self->map_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_margin_start (map_box, 12);
  gtk_widget_set_margin_end (map_box, 12);
  gtk_widget_set_margin_top (map_box, 8);
  gtk_widget_set_margin_bottom (map_box, 12);
  GtkWidget *map_header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  self->map_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->map_label, TRUE);
  gtk_label_set_xalign (self->map_label, 0);
  gtk_widget_set_hexpand (GTK_WIDGET (self->map_label), TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->map_label), "dim-label");
  gtk_box_append (GTK_BOX (map_header), GTK_WIDGET (self->map_label));
  gtk_box_append (GTK_BOX (map_header), lam_help_button_new ("feature-map"));
  gtk_box_append (GTK_BOX (map_box), map_header);
  self->map_view = LAM_FEATURE_MAP_VIEW (lam_feature_map_view_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->map_view), TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self->map_view), TRUE);
  gtk_box_append (GTK_BOX (map_box), GTK_WIDGET (self->map_view));
  gtk_stack_add_titled (self->tabs, map_box, "map", "Map");
  lam_feature_map_view_set_thumbnail_func (self->map_view, map_thumbnail, self, NULL);
  lam_feature_map_view_set_card_lines_func (self->map_view, map_card_lines, self, NULL);
  g_signal_connect_swapped (self->map_view, "selection-changed", G_CALLBACK (on_map_selection),
                            self);
  g_signal_connect_swapped (self->map_view, "point-activated", G_CALLBACK (on_point_activated),
                            self);
  g_signal_connect_object (self->explainer, "map-ready", G_CALLBACK (update_map), self,
                           G_CONNECT_SWAPPED);
  /* The map is a pass over every test image: made when its tab shows (the
   * tab, not the view, which is hidden when no map can be made). */
  g_signal_connect_object (map_box, "map", G_CALLBACK (lam_explainer_ensure_map), self->explainer,
                           G_CONNECT_SWAPPED);
  update_map (self);

  /* One slider over the epochs for every tab: the time machine. */
  self->epoch_slider = LAM_EPOCH_SLIDER (lam_epoch_slider_new (self->session));
  gtk_widget_set_margin_start (GTK_WIDGET (self->epoch_slider), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (self->epoch_slider), 12);
  gtk_box_insert_child_after (self->content_box, GTK_WIDGET (self->epoch_slider),
                              self->tabs_header);
  on_regression_dataset (self);
  on_updated (self);
}

static void
lam_evaluate_page_dispose (GObject *object)
{
  LamEvaluatePage *self = LAM_EVALUATE_PAGE (object);
  cancel_explainer_sync (self);
  g_clear_handle_id (&self->spinner_timeout, g_source_remove);
  /* A worker still running may finish after this page is gone, and its
   * children must not hear of it while they are torn down. */
  if (self->evaluation != NULL)
    g_signal_handlers_disconnect_by_data (self->evaluation, self);
  if (self->map_view != NULL) {
    g_signal_handlers_disconnect_by_data (self->map_view, self);
    lam_feature_map_view_set_thumbnail_func (self->map_view, NULL, NULL, NULL);
    lam_feature_map_view_set_card_lines_func (self->map_view, NULL, NULL, NULL);
  }
  if (self->gallery != NULL) {
    g_signal_handlers_disconnect_by_data (self->gallery, self);
    g_signal_handlers_disconnect_by_data (self->true_dropdown, self);
    g_signal_handlers_disconnect_by_data (self->predicted_dropdown, self);
    g_signal_handlers_disconnect_by_data (self->order_dropdown, self);
  }
  gtk_widget_dispose_template (GTK_WIDGET (self), LAM_TYPE_EVALUATE_PAGE);
  g_clear_object (&self->evaluation);
  g_clear_object (&self->explainer);
  G_OBJECT_CLASS (lam_evaluate_page_parent_class)->dispose (object);
}

static void
lam_evaluate_page_finalize (GObject *object)
{
  LamEvaluatePage *self = LAM_EVALUATE_PAGE (object);
  g_clear_object (&self->session);
  g_strfreev (self->class_names);
  g_free (self->class_bars);
  g_free (self->class_percents);
  g_free (self->class_names_labels);
  G_OBJECT_CLASS (lam_evaluate_page_parent_class)->finalize (object);
}

static void
lam_evaluate_page_get_property (GObject *object, guint prop_id, GValue *value,
                                GParamSpec *pspec)
{
  LamEvaluatePage *self = LAM_EVALUATE_PAGE (object);
  switch (prop_id) {
  case PROP_SESSION:
    g_value_set_object (value, self->session);
    break;
  case PROP_BUSY:
    g_value_set_boolean (value, lam_evaluate_page_is_busy (self));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_evaluate_page_set_property (GObject *object, guint prop_id, const GValue *value,
                                GParamSpec *pspec)
{
  LamEvaluatePage *self = LAM_EVALUATE_PAGE (object);
  switch (prop_id) {
  case PROP_SESSION:
    self->session = g_value_dup_object (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

/* Saving the confusion matrix */

gboolean
lam_evaluate_page_save_confusion_csv (LamEvaluatePage *self, const char *path, GError **error)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  LamEvaluationResult *result = current_result (self);
  if (result == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                 "Could not save %s: there is no confusion matrix yet", path);
    return FALSE;
  }
  return lam_confusion_write_csv (result->confusion,
                                  (const char *const *) result->dataset->class_names, path,
                                  error);
}

gboolean
lam_evaluate_page_save_confusion_png (LamEvaluatePage *self, const char *path, GError **error)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  if (current_result (self) == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                 "Could not save %s: there is no confusion matrix yet", path);
    return FALSE;
  }
  return lam_ui_save_png (GTK_WIDGET (self->confusion_view), path, error);
}

static gboolean
save_chosen (GtkWidget *widget, const char *path, gpointer user_data, GError **error)
{
  LamEvaluatePage *self = LAM_EVALUATE_PAGE (widget);
  if (GPOINTER_TO_INT (user_data))
    return lam_evaluate_page_save_confusion_png (self, path, error);
  return lam_evaluate_page_save_confusion_csv (self, path, error);
}

static void
save_confusion_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  gboolean png = g_str_equal (action_name, "evaluate.save-confusion-png");
  if (png)
    lam_ui_choose_save_file (widget, "Save Confusion Matrix as PNG", "confusion-matrix.png",
                             "PNG images", "*.png", save_chosen, GINT_TO_POINTER (TRUE));
  else
    lam_ui_choose_save_file (widget, "Save Confusion Matrix as CSV", "confusion-matrix.csv",
                             "CSV files", "*.csv", save_chosen, GINT_TO_POINTER (FALSE));
}

static void
lam_evaluate_page_class_init (LamEvaluatePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = lam_evaluate_page_constructed;
  object_class->dispose = lam_evaluate_page_dispose;
  object_class->finalize = lam_evaluate_page_finalize;
  object_class->get_property = lam_evaluate_page_get_property;
  object_class->set_property = lam_evaluate_page_set_property;
  widget_class->css_changed = lam_evaluate_page_css_changed;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, LAM_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS |
                           G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (LAM_TYPE_REFLOW_BOX);
  g_type_ensure (LAM_TYPE_FIT_VIEW);
  g_type_ensure (LAM_TYPE_HELP_BUTTON);
  g_type_ensure (LAM_TYPE_CONFUSION_VIEW);
  g_type_ensure (LAM_TYPE_PREDICTION_GRID);
  g_type_ensure (LAM_TYPE_PROBABILITY_BARS);
  g_type_ensure (LAM_TYPE_ACTIVATIONS_VIEW);
  g_type_ensure (LAM_TYPE_DRAWING_PAD);
  g_type_ensure (LAM_TYPE_WEIGHTS_VIEW);

  /* Referencing the resource links its object file, whose constructor
   * registers it, into every program that takes this page from the static
   * library. */
  if (lam_ui_get_resource () == NULL)
    g_critical ("Lamina's UI resources are missing");
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/lamina/Lamina/ui/lam-evaluate-page.ui");
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_install_action (widget_class, "evaluate.save-confusion-csv", NULL,
                                   save_confusion_action);
  gtk_widget_class_install_action (widget_class, "evaluate.save-confusion-png", NULL,
                                   save_confusion_action);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, state_stack);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, empty_title);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, empty_label);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, empty_spinner);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, error_label);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, regression_title);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, regression_target);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, regression_fit);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, regression_residuals);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, busy_box);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, tabs);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, content_box);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, tabs_header);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, accuracy_label);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, epoch_label);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, loss_label);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, class_grid);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, show_all_button);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, confusion_hint);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, confusion_view);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, mistakes_box);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, true_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, predicted_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, order_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, gallery_label);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, gallery);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, detail_image);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, detail_title);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, detail_true);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, detail_predicted);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, detail_history);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, detail_bars);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, activations_view);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, draw_stack);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, pad);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, undo_button);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, clear_button);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, preview_box);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, draw_guess);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, draw_bars);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, draw_unavailable_label);
  gtk_widget_class_bind_template_child (widget_class, LamEvaluatePage, weights_view);
  gtk_widget_class_bind_template_callback (widget_class, on_show_all_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_cell_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_pad_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_undo_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_clear_clicked);
}

static void
lam_evaluate_page_init (LamEvaluatePage *self)
{
  self->detail_index = -1;
  gtk_widget_init_template (GTK_WIDGET (self));

  self->preview = lam_drawing_pad_new_preview (self->pad);
  gtk_widget_set_halign (self->preview, GTK_ALIGN_START);
  gtk_box_insert_child_after (self->preview_box, self->preview,
                              gtk_widget_get_first_child (GTK_WIDGET (self->preview_box)));

  gtk_drawing_area_set_draw_func (self->detail_image, draw_detail_image, self, NULL);
  g_signal_connect_object (self->true_dropdown, "notify::selected",
                           G_CALLBACK (on_filter_dropdown_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->predicted_dropdown, "notify::selected",
                           G_CALLBACK (on_filter_dropdown_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->order_dropdown, "notify::selected", G_CALLBACK (on_order_changed),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->gallery, "notify::selected", G_CALLBACK (show_detail), self,
                           G_CONNECT_SWAPPED);
  lam_prediction_grid_set_cell_size (self->gallery, 56);
  classify_drawing (self);
  update_save_actions (self);
}

GtkWidget *
lam_evaluate_page_new (LamSession *session)
{
  g_return_val_if_fail (LAM_IS_SESSION (session), NULL);
  return g_object_new (LAM_TYPE_EVALUATE_PAGE, "session", session, NULL);
}

LamEvaluation *
lam_evaluate_page_get_evaluation (LamEvaluatePage *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  return self->evaluation;
}

gboolean
lam_evaluate_page_is_busy (LamEvaluatePage *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), FALSE);
  return self->evaluation != NULL && lam_evaluation_get_busy (self->evaluation);
}

const LamConfusion *
lam_evaluate_page_get_confusion (LamEvaluatePage *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  LamEvaluationResult *result = current_result (self);
  return result != NULL ? result->confusion : NULL;
}

double
lam_evaluate_page_get_accuracy (LamEvaluatePage *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NAN);
  LamEvaluationResult *result = current_result (self);
  return result != NULL ? result->accuracy : NAN;
}

void
lam_evaluate_page_activate_cell (LamEvaluatePage *self, int true_class, int predicted_class)
{
  g_return_if_fail (LAM_IS_EVALUATE_PAGE (self));
  lam_confusion_view_activate_cell (self->confusion_view, true_class, predicted_class);
}

void
lam_evaluate_page_select_image (LamEvaluatePage *self, int index)
{
  g_return_if_fail (LAM_IS_EVALUATE_PAGE (self));
  LamEvaluationResult *result = current_result (self);
  g_return_if_fail (result != NULL && index >= 0 && index < result->n_images);
  lam_prediction_grid_set_selected (self->gallery, index);
  if (lam_prediction_grid_get_selected (self->gallery) != index) {
    set_filters (self, -1, -1);
    lam_prediction_grid_set_selected (self->gallery, index);
  }
}

void
lam_evaluate_page_show_tab (LamEvaluatePage *self, const char *name)
{
  g_return_if_fail (LAM_IS_EVALUATE_PAGE (self));
  gtk_stack_set_visible_child_name (self->tabs, name);
}

LamPredictionGrid *
lam_evaluate_page_get_gallery (LamEvaluatePage *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  return self->gallery;
}

GtkWidget *
lam_evaluate_page_get_mistakes (LamEvaluatePage *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  return GTK_WIDGET (self->mistakes_box);
}

LamConfusionView *
lam_evaluate_page_get_confusion_view (LamEvaluatePage *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  return self->confusion_view;
}

LamProbabilityBars *
lam_evaluate_page_get_detail_bars (LamEvaluatePage *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  return self->detail_bars;
}

char *
lam_evaluate_page_dup_mistake_tooltip (LamEvaluatePage *self, GtkWidget *button)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  g_return_val_if_fail (GTK_IS_WIDGET (button), NULL);
  LamEvaluationResult *result = current_result (self);
  int t = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "true-class"));
  int p = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "predicted-class"));
  if (result == NULL || t < 0 || p < 0 || t >= result->confusion->n_classes ||
      p >= result->confusion->n_classes)
    return NULL;
  g_autofree char *count = lam_ui_format_count (lam_confusion_get (result->confusion, t, p));
  return g_strdup_printf ("Show the %s %s images the model took for %s", count,
                          class_name (self, t), class_name (self, p));
}

char *
lam_evaluate_page_dup_class_tooltip (LamEvaluatePage *self, int klass)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  LamEvaluationResult *result = current_result (self);
  if (result == NULL || klass < 0 || klass >= self->n_classes ||
      klass >= result->confusion->n_classes)
    return NULL;
  /* Counted from the labels: the matrix leaves out images given an output
   * past the classes. */
  guint64 all = 0;
  for (int i = 0; i < result->n_images; i++)
    all += result->dataset->labels[i] == klass;
  g_autofree char *right_text = lam_ui_format_count (lam_confusion_get (result->confusion, klass, klass));
  g_autofree char *all_text = lam_ui_format_count (all);
  return g_strdup_printf ("%s: %s of %s test images recognised", self->class_names[klass],
                          right_text, all_text);
}

const char *
lam_evaluate_page_get_history_text (LamEvaluatePage *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  return gtk_label_get_text (self->detail_history);
}

LamFitView *
lam_evaluate_page_get_regression_fit (LamEvaluatePage *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  return self->regression_fit;
}

void
lam_evaluate_page_set_regression_target (LamEvaluatePage *self, int target)
{
  g_return_if_fail (LAM_IS_EVALUATE_PAGE (self));
  gtk_drop_down_set_selected (self->regression_target, (guint) target);
}

LamDrawingPad *
lam_evaluate_page_get_drawing_pad (LamEvaluatePage *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  return self->pad;
}

LamProbabilityBars *
lam_evaluate_page_get_drawing_bars (LamEvaluatePage *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  return self->draw_bars;
}

LamEpochSlider *
lam_evaluate_page_get_epoch_slider (LamEvaluatePage *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  return self->epoch_slider;
}

LamExplainPanel *
lam_evaluate_page_get_explain_panel (LamEvaluatePage *self, gboolean drawing)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  return drawing ? self->draw_explain : self->detail_explain;
}

LamExplainer *
lam_evaluate_page_get_explainer (LamEvaluatePage *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  return self->explainer;
}

LamFeatureMapView *
lam_evaluate_page_get_map_view (LamEvaluatePage *self)
{
  g_return_val_if_fail (LAM_IS_EVALUATE_PAGE (self), NULL);
  return self->map_view;
}
