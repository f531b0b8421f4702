#include "lam-train-page.h"

#include <math.h>
#include <string.h>

#include "lam-batch-strip.h"
#include "lam-device.h"
#include "lam-project-file.h"
#include "lam-boundary-view.h"
#include "lam-fit-view.h"
#include "lam-neuron-maps.h"
#include "lam-help.h"
#include "lam-playground.h"
#include "lam-reflow-box.h"
#include "lam-ui-resources.h"
#include "lam-ui-util.h"

/* The Train page is a view of the session: its fields are bound to the
 * session's settings, its buttons are the session's actions, and its
 * charts, progress and epoch table draw the session's runs and the events
 * of the one training. */

G_STATIC_ASSERT (LAM_SESSION_MAX_RUNS <= LAM_CHART_N_RUN_COLORS);

/* The Speed choices, in steps a second, in the order the .ui lists them. */
static const double paces[] = { 0, 20, 5, 2, 1 };
/* At this pace or slower each batch is shown: slow enough to look at. */
#define BATCH_STRIP_PACE 5.0
/* Training time and batches of an epoch behind a speed worth showing. */
#define MIN_RATE_SECONDS 0.5
#define MIN_RATE_BATCHES 3

G_STATIC_ASSERT (LAM_TRAINER_MAX_SHOWN <= LAM_BATCH_STRIP_MAX_IMAGES);

typedef LamProjectRun Run;

struct _LamTrainPage
{
  GtkWidget parent_instance;

  LamSession *session; /* owned */

  GPtrArray *device_ids; /* of char*: "cpu", "cuda" */

  GtkWidget *root;
  GtkSpinButton *epochs_spin;
  GtkSpinButton *batch_spin;
  GtkDropDown *optimizer_dropdown;
  GtkSpinButton *lr_spin;
  GtkWidget *momentum_label;
  GtkSpinButton *momentum_spin;
  GtkSpinButton *decay_spin;
  GtkSpinButton *l1_spin;
  GtkWidget *lr_find_button;
  GtkDropDown *schedule_dropdown;
  GtkSpinButton *step_size_spin;
  GtkSpinButton *gamma_spin;
  GtkSpinButton *eta_min_spin;
  GtkDropDown *norm_dropdown;
  GtkSpinButton *norm_mean_spin;
  GtkSpinButton *norm_std_spin;
  GtkSpinButton *crop_spin;
  GtkDropDown *padding_mode_dropdown;
  GtkCheckButton *hflip_check;
  GtkSpinButton *val_spin;
  GtkSpinButton *seed_spin;
  GtkExpander *more_expander;
  GtkDropDown *device_dropdown;
  GtkDropDown *pace_dropdown;
  GtkCheckButton *continue_check;
  GtkButton *start_button;
  GtkWidget *hint_label;
  GtkRevealer *error_revealer;
  GtkLabel *error_label;
  /* The field whose typed text the error label explains, or NULL. */
  GtkSpinButton *refused_spin;
  GtkProgressBar *progress_bar;
  GtkWidget *watch_box;
  GtkLabel *watch_label;
  GtkGrid *watch_grid;
  GtkLabel *progress_label;
  GtkLabel *test_label;
  /* The dataset folder the shown test score was measured on. */
  char *test_label_dataset_dir;
  char *test_text; /* owned: the score as measured, before any "measured before" */
  GtkGrid *epoch_header;
  GtkScrolledWindow *epoch_scroller;
  GtkGrid *epoch_grid;
  /* Each heading and the widest cell below it, so the heading spans its
   * column. One cell, not every row's: a size group measures all its
   * widgets on each layout, which made every epoch of a 300-epoch run
   * block the window a little longer, past 250 ms. */
  GtkSizeGroup *epoch_columns[6];
  GtkWidget *epoch_widest[6]; /* borrowed from epoch_grid, NULL before any row */
  int epoch_widest_width[6];
  /* Measures a cell's text in the table's font. Measuring the label
   * itself would style it first: 80 µs a cell, 150 ms to fill the table
   * of a 300-epoch run. */
  PangoLayout *epoch_probe; /* owned, NULL until the first row */
  GtkScale *smoothing_scale;
  GtkCheckButton *log_check;
  GtkCheckButton *overlay_check;
  LamBoundaryView *boundary_view;
  LamFitView *fit_view;
  LamNeuronMaps *neuron_maps;
  LamChart *loss_chart;
  LamChart *accuracy_chart;
  LamHelpButton *accuracy_help;
  LamHelpButton *norm_help;
  LamHelpButton *augmentation_help;
  GtkMenuButton *runs_button;
  GtkListBox *runs_list;
  GtkLabel *runs_note;
  GtkWidget *batch_box;
  GtkLabel *batch_label;
  LamBatchStrip *batch_strip;

  int epoch_rows;
  /* The run's last speed worth showing (NAN: none yet), kept through the
   * first moments of each epoch, which measure too little to replace it. */
  double shown_rate, shown_seconds_per_batch;
  guint series_train_loss, series_val_loss, series_train_accuracy, series_val_accuracy;
};

G_DEFINE_FINAL_TYPE (LamTrainPage, lam_train_page, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void rebuild_charts (LamTrainPage *self);
static gboolean shows_regression (LamTrainPage *self);
static void on_task_changed (LamTrainPage *self);
static void on_boundary_weights (LamTrainPage *self);
static void draw_stepped_weights (LamTrainPage *self);
static void show_watched (LamTrainPage *self, const LamTrainerEvent *event);
static void show_held_weights (LamTrainPage *self);

const char *
lam_train_page_get_test_text (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->test_label))
           ? gtk_label_get_text (self->test_label)
           : NULL;
}

static void
show_test_text (LamTrainPage *self, const char *text, const char *dataset_dir)
{
  gtk_label_set_text (self->test_label, text != NULL ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->test_label), text != NULL);
  g_free (self->test_text);
  self->test_text = g_strdup (text);
  g_free (self->test_label_dataset_dir);
  self->test_label_dataset_dir = g_strdup (dataset_dir);
}

static void
update_hint (LamTrainPage *self)
{
  const char *hint = NULL;
  if (!lam_session_get_has_dataset (self->session))
    hint = lam_session_get_loading (self->session) ? "Loading the dataset…"
                                                   : "Open a dataset on the Data page first.";
  else if (!lam_session_get_model_valid (self->session))
    hint = "The model does not fit the data: fix the layer marked on the Model page.";
  gtk_label_set_text (GTK_LABEL (self->hint_label), hint ? hint : "");
  gtk_widget_set_visible (self->hint_label, hint != NULL);
}

/* Which fields can change now: only the learning rate while a run trains,
 * and each schedule's or normalisation's own numbers when it is chosen. */
static void
update_sensitivity (LamTrainPage *self)
{
  gboolean idle = lam_session_get_state (self->session) == LAM_TRAIN_STATE_IDLE;
  const LamTrainerConfig *config = lam_session_get_config (self->session);
  GtkWidget *settings[] = {
    GTK_WIDGET (self->epochs_spin),       GTK_WIDGET (self->batch_spin),
    GTK_WIDGET (self->optimizer_dropdown), GTK_WIDGET (self->momentum_spin),
    GTK_WIDGET (self->val_spin),          GTK_WIDGET (self->seed_spin),
    GTK_WIDGET (self->device_dropdown),   GTK_WIDGET (self->decay_spin),
    GTK_WIDGET (self->l1_spin),
    GTK_WIDGET (self->schedule_dropdown), GTK_WIDGET (self->norm_dropdown),
    GTK_WIDGET (self->crop_spin),         GTK_WIDGET (self->hflip_check),
  };
  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    gtk_widget_set_sensitive (settings[i], idle);
  /* Continuing is a way to start: not offered while Start cannot start
   * (a dataset the model does not fit, a project being saved). */
  gtk_widget_set_sensitive (GTK_WIDGET (self->continue_check),
                            idle && g_action_group_get_action_enabled (
                                      lam_session_get_actions (self->session), "start-pause"));
  gtk_widget_set_sensitive (self->lr_find_button,
                            idle && lam_session_get_model_valid (self->session) &&
                              lam_session_get_train_set (self->session) != NULL);
  gboolean step = config->schedule.kind == LAM_SCHEDULE_STEP;
  gboolean cosine = config->schedule.kind == LAM_SCHEDULE_COSINE;
  gboolean custom = gtk_drop_down_get_selected (self->norm_dropdown) ==
                    LAM_SESSION_NORMALIZE_CUSTOM;
  gtk_widget_set_sensitive (GTK_WIDGET (self->step_size_spin), idle && step);
  gtk_widget_set_sensitive (GTK_WIDGET (self->gamma_spin), idle && step);
  gtk_widget_set_sensitive (GTK_WIDGET (self->eta_min_spin), idle && cosine);
  /* A table is standardised column by column and never augmented: the
   * pixel settings do not apply to it. */
  const LamDataset *train = lam_session_get_train_set (self->session);
  gboolean images = train == NULL || !lam_dataset_is_table (train);
  gtk_widget_set_sensitive (GTK_WIDGET (self->norm_dropdown), idle && images);
  gtk_widget_set_sensitive (GTK_WIDGET (self->crop_spin), idle && images);
  gtk_widget_set_sensitive (GTK_WIDGET (self->hflip_check), idle && images);
  gtk_widget_set_sensitive (GTK_WIDGET (self->norm_mean_spin), idle && custom && images);
  gtk_widget_set_sensitive (GTK_WIDGET (self->norm_std_spin), idle && custom && images);
  gtk_widget_set_sensitive (GTK_WIDGET (self->padding_mode_dropdown),
                            idle && images && config->crop_padding > 0);
  /* Momentum is SGD's alone, but its row stays: a row appearing when SGD
   * is chosen would move the Start button under the pointer. */
  gboolean sgd = config->optimizer.kind == LAM_OPTIMIZER_SGD;
  gtk_widget_set_sensitive (self->momentum_label, sgd);
  gtk_widget_set_sensitive (GTK_WIDGET (self->momentum_spin), idle && sgd);
  const char *tip = sgd ? "Keeps a running average of the gradients to push through small, "
                          "noisy steps (0: plain SGD)"
                        : "SGD only: Adam and AdamW keep their own running averages";
  gtk_widget_set_tooltip_text (self->momentum_label, tip);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->momentum_spin), tip);
  update_hint (self);
}

static void
on_state_changed (LamTrainPage *self)
{
  LamTrainState state = lam_session_get_state (self->session);
  gtk_button_set_label (self->start_button, state == LAM_TRAIN_STATE_RUNNING  ? "Pause"
                                            : state == LAM_TRAIN_STATE_PAUSED ? "Resume"
                                                                              : "Start");
  update_sensitivity (self);
  /* A run's last weights are published before it goes idle. */
  show_held_weights (self);
}

static void
on_error_changed (LamTrainPage *self)
{
  self->refused_spin = NULL;
  const char *message = lam_session_get_error (self->session);
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

static void
on_runs_note_changed (LamTrainPage *self)
{
  const char *note = lam_session_get_runs_note (self->session);
  gtk_label_set_text (self->runs_note, note ? note : "");
  gtk_widget_set_visible (GTK_WIDGET (self->runs_note), note != NULL);
}

/* The Continue check shows while there is a run to go on from. */
static void
on_can_continue_changed (LamTrainPage *self)
{
  int epochs_done = 0;
  gint64 step = 0;
  gboolean can = lam_session_get_resume_position (self->session, &epochs_done, &step);
  if (can) {
    g_autofree char *label = g_strdup_printf ("_Continue the last run from step %"
                                              G_GINT64_FORMAT " (epoch %d)", step,
                                              epochs_done + 1);
    /* A label of its own, which wraps in a narrow column. */
    GtkWidget *text = gtk_label_new_with_mnemonic (label);
    gtk_label_set_wrap (GTK_LABEL (text), TRUE);
    /* Never wider than the settings above it: the column keeps its
     * width, and the buttons theirs. */
    gtk_label_set_max_width_chars (GTK_LABEL (text), 24);
    gtk_label_set_xalign (GTK_LABEL (text), 0);
    gtk_check_button_set_child (self->continue_check, text);
  }
  gtk_widget_set_visible (GTK_WIDGET (self->continue_check), can);
}

#define N_SETTING_SPINS 14

/* Every number field of the settings: what an edit is committed from and
 * what typed text is checked in. */
static void
get_setting_spins (LamTrainPage *self, GtkSpinButton *spins[N_SETTING_SPINS])
{
  GtkSpinButton *all[N_SETTING_SPINS] = {
    self->epochs_spin, self->batch_spin,   self->lr_spin,        self->momentum_spin,
    self->val_spin,    self->seed_spin,    self->decay_spin,     self->step_size_spin,
    self->gamma_spin,  self->eta_min_spin, self->norm_mean_spin, self->norm_std_spin,
    self->crop_spin,   self->l1_spin,
  };
  memcpy (spins, all, sizeof all);
}

/* Spin buttons hold typed text until they lose focus: the session reads
 * its settings after this. */
static void
on_commit_edits (LamTrainPage *self)
{
  GtkSpinButton *spins[N_SETTING_SPINS];
  get_setting_spins (self, spins);
  for (guint i = 0; i < N_SETTING_SPINS; i++)
    gtk_spin_button_update (spins[i]);
}

/* A field shows its usual decimals, or more where the value needs them:
 * Start and Save read the text back, and 5e-5 shown as "0.0001" came back
 * twice as large. Float precision is the trainer's, and spares a mean read
 * from a project its float noise ("0.1307000071"). */
static char *
format_setting (double value, guint min_digits)
{
  char *text = NULL;
  for (guint digits = min_digits; digits <= 12; digits++) {
    g_free (text);
    text = g_strdup_printf ("%.*f", digits, value);
    if ((float) g_strtod (text, NULL) == (float) value)
      break;
  }
  return text;
}

static gboolean
on_spin_output (GtkSpinButton *spin, gpointer user_data)
{
  double value = gtk_adjustment_get_value (gtk_spin_button_get_adjustment (spin));
  g_autofree char *text = format_setting (value, gtk_spin_button_get_digits (spin));
  if (g_strcmp0 (text, gtk_editable_get_text (GTK_EDITABLE (spin))) != 0)
    gtk_editable_set_text (GTK_EDITABLE (spin), text);
  return TRUE;
}

static void
show_refused (LamTrainPage *self, GtkSpinButton *spin, const char *message)
{
  if (message == NULL && self->refused_spin != spin)
    return;
  if (message == NULL) {
    on_error_changed (self);
    return;
  }
  gtk_label_set_text (self->error_label, message);
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
  self->refused_spin = spin;
}

/* GTK reads what it cannot parse as 0 ("abc", an empty field, "3x" as 3)
 * and clamps it to the field's range, so a slip set the minimum unsaid.
 * Text that is not a number in range keeps the value, and says why. */
static int
on_spin_input (GtkSpinButton *spin, double *new_value, LamTrainPage *self)
{
  GtkAdjustment *adjustment = gtk_spin_button_get_adjustment (spin);
  double lower = gtk_adjustment_get_lower (adjustment);
  double upper = gtk_adjustment_get_upper (adjustment);
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (spin))));
  char *end = NULL;
  double value = g_strtod (text, &end);
  g_autofree char *problem = NULL;
  if (*text == '\0')
    problem = g_strdup ("a number is needed");
  else if (*end != '\0' || isnan (value))
    problem = g_strdup_printf ("“%s” is not a number", text);
  else if (!(value >= lower && value <= upper)) {
    g_autofree char *low = format_setting (lower, 0);
    g_autofree char *high = format_setting (upper, 0);
    problem = g_strdup_printf ("%s is outside %s to %s", text, low, high);
  } else if (gtk_spin_button_get_digits (spin) == 0 && value != floor (value))
    problem = g_strdup_printf ("%s is not a whole number", text);

  if (problem == NULL) {
    *new_value = value;
    show_refused (self, spin, NULL);
    return TRUE;
  }
  *new_value = gtk_adjustment_get_value (adjustment);
  g_autofree char *kept = format_setting (*new_value, gtk_spin_button_get_digits (spin));
  GList *labels = gtk_widget_list_mnemonic_labels (GTK_WIDGET (spin));
  const char *name = labels != NULL ? gtk_label_get_text (labels->data) : "The value";
  g_autofree char *message = g_strdup_printf ("%s: %s; it stays %s.", name, problem, kept);
  g_list_free (labels);
  show_refused (self, spin, message);
  return TRUE;
}

static void
run_color (const Run *run, GdkRGBA *color)
{
  lam_chart_get_run_color (MAX (run->color, 0), color);
}

static void
add_lr_markers (LamTrainPage *self, const Run *run, gboolean faded)
{
  GdkRGBA color;
  run_color (run, &color);
  LamChartSeriesFlags flags = faded ? LAM_CHART_SERIES_FADED : LAM_CHART_SERIES_NONE;
  for (guint i = 0; i < run->lr_changes->len; i++) {
    const LamRunLrChange *c = &g_array_index (run->lr_changes, LamRunLrChange, i);
    g_autofree char *label = faded ? g_strdup_printf ("run %d: lr %g", run->number, c->lr)
                                   : g_strdup_printf ("lr %g", c->lr);
    lam_chart_add_marker_full (self->loss_chart, c->x, label, &color, flags);
    lam_chart_add_marker_full (self->accuracy_chart, c->x, label, &color, flags);
  }
}

/* A regression's "accuracy" fields hold its R², measured at the epochs'
 * ends only. */
static gboolean
run_is_regression (const Run *run)
{
  return run->task == LAM_TASK_REGRESSION;
}

/* A run's two curves on each chart in its own colour: training as a line
 * named for the run in the legend, validation as dots named in the hover
 * box (and in the legend for the current run). */
static void
add_run_series (LamTrainPage *self, const Run *run, gboolean faded)
{
  LamChartSeriesFlags extra = faded ? LAM_CHART_SERIES_FADED : 0;
  LamChartSeriesFlags val_extra = faded ? LAM_CHART_SERIES_NO_LEGEND : 0;
  g_autofree char *train_name = lam_project_run_dup_label (run);
  g_autofree char *val_name = g_strdup_printf ("Run %d validation", run->number);
  GdkRGBA color;
  run_color (run, &color);

  guint tl = lam_chart_add_series (self->loss_chart, train_name, &color,
                                   LAM_CHART_SERIES_SMOOTHED | extra);
  guint vl = lam_chart_add_series (self->loss_chart, val_name, &color,
                                   LAM_CHART_SERIES_POINTS | extra | val_extra);
  guint ta = lam_chart_add_series (self->accuracy_chart, train_name, &color,
                                   LAM_CHART_SERIES_SMOOTHED | extra);
  guint va = lam_chart_add_series (self->accuracy_chart, val_name, &color,
                                   LAM_CHART_SERIES_POINTS | extra | val_extra);
  /* A regression's training R² is measured at the epochs' ends only: its
   * curve is drawn from the epoch rows (without it the legend named a
   * training line the chart never drew). */
  gboolean r2_at_epochs = run_is_regression (run);
  for (guint i = 0; i < run->steps->len; i++) {
    const LamRunStep *p = &g_array_index (run->steps, LamRunStep, i);
    lam_chart_append (self->loss_chart, tl, p->x, p->loss);
    if (!r2_at_epochs && !isnan (p->accuracy))
      lam_chart_append (self->accuracy_chart, ta, p->x, p->accuracy);
  }
  for (guint i = 0; i < run->epochs->len; i++) {
    const LamRunEpoch *e = &g_array_index (run->epochs, LamRunEpoch, i);
    if (r2_at_epochs && !isnan (e->train_accuracy))
      lam_chart_append (self->accuracy_chart, ta, e->epoch, e->train_accuracy);
    if (isnan (e->val_loss))
      continue;
    lam_chart_append (self->loss_chart, vl, e->epoch, e->val_loss);
    lam_chart_append (self->accuracy_chart, va, e->epoch, e->val_accuracy);
  }
  add_lr_markers (self, run, faded);
  if (!faded) {
    self->series_train_loss = tl;
    self->series_val_loss = vl;
    self->series_train_accuracy = ta;
    self->series_val_accuracy = va;
  }
}

/* Redraws every kept run that is shown: earlier ones lighter, the current
 * one on top. */
static void
rebuild_charts (LamTrainPage *self)
{
  lam_chart_clear (self->loss_chart);
  lam_chart_clear (self->accuracy_chart);
  self->series_train_loss = self->series_val_loss = 0;
  self->series_train_accuracy = self->series_val_accuracy = 0;
  gboolean overlay = gtk_check_button_get_active (self->overlay_check);
  guint n = lam_session_get_n_runs (self->session);
  for (guint i = 0; i < n; i++) {
    const Run *run = lam_session_get_run (self->session, i);
    gboolean is_current = i + 1 == n;
    if ((!is_current && !overlay) || run->hidden)
      continue;
    /* An accuracy in percent behind an R², or a cross-entropy behind a
     * mean squared error, compares nothing. */
    if (!is_current && run_is_regression (run) != shows_regression (self))
      continue;
    add_run_series (self, run, !is_current);
  }
}

static void
on_run_check_toggled (GtkCheckButton *check, LamTrainPage *self)
{
  int number = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (check), "run-number"));
  lam_session_set_run_visible (self->session, number, gtk_check_button_get_active (check));
}

static GtkWidget *
new_run_row (LamTrainPage *self, const Run *run, gboolean is_current)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_margin_start (box, 4);
  gtk_widget_set_margin_end (box, 4);

  GdkRGBA color;
  run_color (run, &color);
  g_autofree char *hex = g_strdup_printf ("#%02x%02x%02x", (int) round (color.red * 255),
                                          (int) round (color.green * 255),
                                          (int) round (color.blue * 255));
  g_autofree char *label = lam_project_run_dup_label (run);
  g_autofree char *escaped = g_markup_escape_text (label, -1);
  g_autoptr (GString) markup = g_string_new (NULL);
  g_string_append_printf (markup, "<span foreground=\"%s\">\u25A0</span> %s", hex, escaped);
  /* A regression's test_accuracy holds its R². */
  if (!isnan (run->test_accuracy) && run_is_regression (run))
    g_string_append_printf (markup, " <span alpha=\"70%%\">· test R² %.3f</span>",
                            run->test_accuracy);
  else if (!isnan (run->test_accuracy))
    g_string_append_printf (markup, " <span alpha=\"70%%\">· test %.1f%%</span>",
                            run->test_accuracy * 100);
  if (is_current)
    g_string_append (markup, " <span alpha=\"70%\">(current)</span>");
  /* Ticked but not drawn: the row says why. */
  else if (run_is_regression (run) != shows_regression (self))
    g_string_append_printf (markup,
                            " <span alpha=\"70%%\">(measured %s: not on these charts)</span>",
                            run_is_regression (run) ? "R²" : "accuracy");

  GtkWidget *check = gtk_check_button_new ();
  GtkWidget *text = gtk_label_new (NULL);
  gtk_label_set_markup (GTK_LABEL (text), markup->str);
  gtk_label_set_xalign (GTK_LABEL (text), 0);
  gtk_widget_set_hexpand (text, TRUE);
  gtk_check_button_set_child (GTK_CHECK_BUTTON (check), text);
  gtk_check_button_set_active (GTK_CHECK_BUTTON (check), !run->hidden);
  g_autofree char *show_tip = g_strdup_printf ("Show run %d on the charts", run->number);
  gtk_widget_set_tooltip_text (check, show_tip);
  g_object_set_data (G_OBJECT (check), "run-number", GINT_TO_POINTER (run->number));
  g_signal_connect (check, "toggled", G_CALLBACK (on_run_check_toggled), self);
  gtk_widget_set_hexpand (check, TRUE);
  gtk_box_append (GTK_BOX (box), check);

  GtkWidget *delete = gtk_button_new_from_icon_name ("user-trash-symbolic");
  gtk_widget_add_css_class (delete, "flat");
  g_autofree char *delete_tip = g_strdup_printf ("Delete run %d", run->number);
  gtk_widget_set_tooltip_text (delete, delete_tip);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (delete), "session.delete-run");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (delete), "i", run->number);
  /* The run being trained goes on until it stops. */
  gtk_widget_set_sensitive (delete, !(is_current && lam_session_get_training (self->session)));
  gtk_box_append (GTK_BOX (box), delete);
  return box;
}

/* The Runs popover: one row a run, newest first. */
static void
update_runs_list (LamTrainPage *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->runs_list))) != NULL)
    gtk_list_box_remove (self->runs_list, child);
  guint n = lam_session_get_n_runs (self->session);
  for (guint i = n; i-- > 0;)
    gtk_list_box_append (self->runs_list,
                         new_run_row (self, lam_session_get_run (self->session, i), i + 1 == n));
  g_autofree char *label = n > 0 ? g_strdup_printf ("_Runs (%u)", n) : g_strdup ("_Runs");
  gtk_menu_button_set_label (self->runs_button, label);
  gtk_widget_set_sensitive (GTK_WIDGET (self->runs_button), n > 0);
}

static void
make_epoch_header (LamTrainPage *self)
{
  /* Two lines each, so the table fits the settings column in a large
   * font. */
  const char *headers[] = { "Epoch", "Train\nloss", "Train\nacc", "Val\nloss", "Val\nacc",
                            "Time" };
  for (guint i = 0; i < G_N_ELEMENTS (headers); i++) {
    self->epoch_columns[i] = gtk_size_group_new (GTK_SIZE_GROUP_HORIZONTAL);
    GtkWidget *label = gtk_label_new (headers[i]);
    gtk_label_set_xalign (GTK_LABEL (label), i == 0 ? 0 : 1);
    gtk_label_set_justify (GTK_LABEL (label), i == 0 ? GTK_JUSTIFY_LEFT : GTK_JUSTIFY_RIGHT);
    gtk_widget_set_valign (label, GTK_ALIGN_END);
    gtk_widget_add_css_class (label, "heading");
    gtk_grid_attach (self->epoch_header, label, i, 0, 1, 1);
    gtk_size_group_add_widget (self->epoch_columns[i], label);
  }
}

static void
clear_epoch_table (LamTrainPage *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->epoch_widest); i++) {
    if (self->epoch_widest[i] != NULL)
      gtk_size_group_remove_widget (self->epoch_columns[i], self->epoch_widest[i]);
    self->epoch_widest[i] = NULL;
    self->epoch_widest_width[i] = 0;
  }
  /* Made again with the rows, in the font they are shown in now. */
  g_clear_object (&self->epoch_probe);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->epoch_grid))) != NULL)
    gtk_grid_remove (self->epoch_grid, child);
  self->epoch_rows = 0;
}

static void
add_epoch_row (LamTrainPage *self, const LamRunEpoch *event)
{
  char cells[6][32];
  g_snprintf (cells[0], 32, "%d", event->epoch);
  g_snprintf (cells[1], 32, "%.4f", event->train_loss);
  /* A regression's columns hold R², as numbers. */
  gboolean regression = shows_regression (self);
  if (regression)
    g_snprintf (cells[2], 32, "%.3f", event->train_accuracy);
  else
    g_snprintf (cells[2], 32, "%.1f%%", event->train_accuracy * 100);
  if (isnan (event->val_loss)) {
    g_strlcpy (cells[3], "–", 32);
    g_strlcpy (cells[4], "–", 32);
  } else {
    g_snprintf (cells[3], 32, "%.4f", event->val_loss);
    if (regression)
      g_snprintf (cells[4], 32, "%.3f", event->val_accuracy);
    else
      g_snprintf (cells[4], 32, "%.1f%%", event->val_accuracy * 100);
  }
  /* A table's epoch takes milliseconds: "0.0 s" read as no time. */
  if (!isfinite (event->seconds))
    g_strlcpy (cells[5], "–", 32);
  else if (event->seconds < 0.95)
    g_snprintf (cells[5], 32, "%.0f ms", MAX (event->seconds * 1e3, 1));
  else
    g_snprintf (cells[5], 32, "%.1f s", event->seconds);
  for (int i = 0; i < 6; i++) {
    GtkWidget *label = gtk_label_new (cells[i]);
    gtk_label_set_xalign (GTK_LABEL (label), i == 0 ? 0 : 1);
    gtk_grid_attach (self->epoch_grid, label, i, self->epoch_rows, 1, 1);
    if (self->epoch_probe == NULL)
      self->epoch_probe = gtk_widget_create_pango_layout (GTK_WIDGET (self->epoch_grid), NULL);
    int width = 0;
    pango_layout_set_text (self->epoch_probe, cells[i], -1);
    pango_layout_get_pixel_size (self->epoch_probe, &width, NULL);
    if (self->epoch_widest[i] == NULL || width > self->epoch_widest_width[i]) {
      if (self->epoch_widest[i] != NULL)
        gtk_size_group_remove_widget (self->epoch_columns[i], self->epoch_widest[i]);
      gtk_size_group_add_widget (self->epoch_columns[i], label);
      self->epoch_widest[i] = label;
      self->epoch_widest_width[i] = width;
    }
  }
  self->epoch_rows++;
}


/* The strip shows while the pace is slow and it has a batch to show. */
static void
update_batch_visible (LamTrainPage *self)
{
  double pace = lam_session_get_pace (self->session);
  gtk_widget_set_visible (self->batch_box, pace > 0 && pace <= BATCH_STRIP_PACE &&
                                             lam_batch_strip_get_n_images (self->batch_strip) > 0);
}

static void
show_batch (LamTrainPage *self, const LamTrainerEvent *event)
{
  int n = MIN (event->n_shown, LAM_BATCH_STRIP_MAX_IMAGES);
  lam_batch_strip_set_batch (self->batch_strip, n, event->shown_indices, event->shown_predicted);
  /* No count: a narrow strip draws fewer images than it was given. */
  g_autofree char *text =
    g_strdup_printf ("Step %" G_GINT64_FORMAT ": the batch the model learns from, each image "
                     "with its label and the model's guess", event->step);
  gtk_label_set_text (self->batch_label, text);
  update_batch_visible (self);
}

static void
update_progress (LamTrainPage *self, const LamTrainerEvent *event)
{
  double per_epoch = MAX (1, event->batches_per_epoch);
  double done = event->epoch * per_epoch + event->batch;
  double total = per_epoch * event->epochs;
  gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (done / total, 0, 1));

  /* One Step's batch trains in a millisecond or two, which made a rate of
   * hundreds of thousands a second and a time left of nothing: speed and
   * time left wait for a long enough stretch of training behind them. */
  if (isfinite (event->seconds) && event->seconds >= MIN_RATE_SECONDS &&
      event->batch >= MIN_RATE_BATCHES && isfinite (event->samples_per_second)) {
    self->shown_rate = event->samples_per_second;
    self->shown_seconds_per_batch = event->seconds / event->batch;
  }
  g_autofree char *left = lam_ui_format_duration (self->shown_seconds_per_batch * (total - done));
  g_autofree char *speed =
    isfinite (self->shown_rate) ? lam_ui_format_count ((guint64) self->shown_rate) : g_strdup ("–");
  g_autofree char *text = g_strdup_printf (
    "Epoch %d of %d · batch %d of %d · step %" G_GINT64_FORMAT "\n%s %s/s · %s left",
    event->epoch + 1, event->epochs, event->batch, event->batches_per_epoch, event->step, speed,
    lam_dataset_is_table (lam_session_get_train_set (self->session)) ? "rows" : "images", left);
  gtk_label_set_text (self->progress_label, text);
}

/* The epoch table shows the current run. */
static void
fill_epoch_table (LamTrainPage *self)
{
  clear_epoch_table (self);
  const Run *run = lam_session_get_current_run (self->session);
  for (guint i = 0; run != NULL && i < run->epochs->len; i++)
    add_epoch_row (self, &g_array_index (run->epochs, LamRunEpoch, i));
}

/* Runs came or went, or one was hidden or shown: the charts, the Runs
 * list and the epoch table draw them again. */
static void
on_runs_changed (LamTrainPage *self)
{
  on_task_changed (self);
  rebuild_charts (self);
  update_runs_list (self);
  fill_epoch_table (self);
  if (lam_session_get_current_run (self->session) == NULL)
    show_test_text (self, NULL, NULL);
}

static void
on_training_event (LamTrainPage *self, const LamTrainerEvent *event)
{
  const Run *run = lam_session_get_current_run (self->session);

  switch (event->kind) {
  case LAM_TRAINER_EVENT_STARTED:
    self->shown_rate = self->shown_seconds_per_batch = NAN;
    gtk_label_set_text (self->progress_label, "Starting…");
    gtk_progress_bar_set_fraction (self->progress_bar, 0);
    show_test_text (self, NULL, NULL);
    lam_batch_strip_set_batch (self->batch_strip, 0, NULL, NULL);
    update_batch_visible (self);
    break;

  case LAM_TRAINER_EVENT_PROGRESS: {
    double x = event->epoch + (double) event->batch / MAX (1, event->batches_per_epoch);
    /* A hidden current run still records what it draws when shown. */
    if (self->series_train_loss != 0) {
      lam_chart_append (self->loss_chart, self->series_train_loss, x, event->loss);
      /* A regression reports its R² at the epochs' ends only. */
      if (!isnan (event->accuracy))
        lam_chart_append (self->accuracy_chart, self->series_train_accuracy, x,
                          event->accuracy);
    }
    update_progress (self, event);
    if (event->n_watched > 0) {
      show_watched (self, event);
      draw_stepped_weights (self);
    }
    if (event->n_shown > 0)
      show_batch (self, event);
    break;
  }

  case LAM_TRAINER_EVENT_EPOCH:
    /* A regression's training R², as the session records it in the row. */
    if (isnan (event->accuracy) && !isnan (event->r2) && self->series_train_accuracy != 0)
      lam_chart_append (self->accuracy_chart, self->series_train_accuracy, event->epoch + 1,
                        event->r2);
    if (!isnan (event->val_loss) && self->series_val_loss != 0) {
      lam_chart_append (self->loss_chart, self->series_val_loss, event->epoch + 1,
                        event->val_loss);
      lam_chart_append (self->accuracy_chart, self->series_val_accuracy, event->epoch + 1,
                        event->val_accuracy);
    }
    if (run != NULL && run->epochs->len > 0)
      add_epoch_row (self, &g_array_index (run->epochs, LamRunEpoch, run->epochs->len - 1));
    break;

  case LAM_TRAINER_EVENT_TEST: {
    const LamDataset *test = lam_session_get_test_set (self->session);
    g_autofree char *count = lam_ui_format_count (test != NULL ? (guint64) test->n : 0);
    gboolean regression = test != NULL && test->task == LAM_TASK_REGRESSION;
    /* "… test rows of crop-yields.csv (test)" said test twice; a line
     * fewer keeps the score above the fold in presentation mode. */
    g_autofree char *name = test == NULL ? g_strdup ("the dataset")
                            : g_str_has_suffix (test->name, " (test)")
                              ? g_strndup (test->name, strlen (test->name) - strlen (" (test)"))
                              : g_strdup (test->name);
    g_autofree char *text =
      regression
        ? g_strdup_printf ("Test R² %.3f · MSE %.4g · MAE %.4g on %s test rows of %s",
                           event->test_r2, event->test_mse, event->test_mae, count, name)
        : g_strdup_printf ("Test accuracy %.1f%% (loss %.3f) on %s test %s of %s",
                           event->test_accuracy * 100, event->test_loss, count,
                           test != NULL && lam_dataset_is_table (test) ? "rows" : "images", name);
    show_test_text (self, text, lam_session_get_dataset_dir (self->session));
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->test_label),
                                 regression ? "MSE and MAE in the targets' own units; an R² of "
                                              "1 is a perfect fit, 0 no better than the mean"
                                            : NULL);
    break;
  }

  case LAM_TRAINER_EVENT_LR_CHANGED:
    if (self->series_train_loss != 0 && run != NULL && run->lr_changes->len > 0) {
      const LamRunLrChange *change =
        &g_array_index (run->lr_changes, LamRunLrChange, run->lr_changes->len - 1);
      GdkRGBA color;
      run_color (run, &color);
      g_autofree char *label = g_strdup_printf ("lr %g", change->lr);
      lam_chart_add_marker_full (self->loss_chart, change->x, label, &color,
                                 LAM_CHART_SERIES_NONE);
      lam_chart_add_marker_full (self->accuracy_chart, change->x, label, &color,
                                 LAM_CHART_SERIES_NONE);
    }
    break;

  case LAM_TRAINER_EVENT_FINISHED:
    if (event->stopped && lam_session_get_error (self->session) == NULL) {
      g_autofree char *text =
        g_strdup_printf ("Stopped after %" G_GINT64_FORMAT " step%s; the weights are kept.",
                         event->step, event->step == 1 ? "" : "s");
      gtk_label_set_text (self->progress_label, text);
    } else if (!event->stopped) {
      gtk_progress_bar_set_fraction (self->progress_bar, 1);
      /* A table lesson trains in milliseconds: "in 0.0 s" read as nothing. */
      g_autofree char *took = event->seconds < 0.95
                                ? g_strdup_printf ("%.0f ms", MAX (event->seconds * 1e3, 1))
                                : g_strdup_printf ("%.1f s", event->seconds);
      g_autofree char *text = g_strdup_printf ("Finished %d epoch%s in %s", event->epochs,
                                               event->epochs == 1 ? "" : "s", took);
      gtk_label_set_text (self->progress_label, text);
    }
    break;

  default:
    break;
  }
}

/* A table of two inputs shows its points on the plane, and the map of
 * what the newest weights make of it. */
/* Regression: the accuracy chart and columns speak of R² instead. */
static gboolean
is_regression (LamTrainPage *self)
{
  const LamDataset *train = lam_session_get_train_set (self->session);
  return train != NULL && train->task == LAM_TASK_REGRESSION;
}

/* What the epoch table and the accuracy chart speak of: the current
 * run's task once it has trained a step, which a dataset opened since
 * does not change; before that, the open dataset's. */
static gboolean
shows_regression (LamTrainPage *self)
{
  const Run *run = lam_session_get_current_run (self->session);
  if (run != NULL && run->steps->len > 0)
    return run_is_regression (run);
  return is_regression (self);
}

static void
on_task_changed (LamTrainPage *self)
{
  gboolean regression = shows_regression (self);
  lam_chart_set_title (self->accuracy_chart, regression ? "R² (1: perfect fit)" : "Accuracy");
  lam_help_button_set_topic (self->accuracy_help, regression ? "r2" : "accuracy");
  /* A table is standardised column by column and never augmented, with
   * any task. */
  const LamDataset *train = lam_session_get_train_set (self->session);
  gboolean table = train != NULL && lam_dataset_is_table (train);
  lam_help_button_set_topic (self->norm_help, table ? "table-normalization" : "normalization");
  lam_help_button_set_topic (self->augmentation_help,
                             table ? "table-augmentation" : "augmentation");
  lam_chart_set_axis_labels (self->accuracy_chart, "epoch", regression ? "R²" : "accuracy");
  lam_chart_set_y_format (self->accuracy_chart,
                          regression ? LAM_CHART_FORMAT_NUMBER : LAM_CHART_FORMAT_PERCENT);
  lam_chart_set_y_limits (self->accuracy_chart, regression ? NAN : 0, regression ? NAN : 1);
  GtkWidget *acc[] = { gtk_grid_get_child_at (self->epoch_header, 2, 0),
                       gtk_grid_get_child_at (self->epoch_header, 4, 0) };
  if (acc[0] != NULL)
    gtk_label_set_text (GTK_LABEL (acc[0]), regression ? "Train\nR²" : "Train\nacc");
  if (acc[1] != NULL)
    gtk_label_set_text (GTK_LABEL (acc[1]), regression ? "Val\nR²" : "Val\nacc");
}

/* The parameters panel: a row per parameter of a small model, named as
 * PyTorch names them ("0.weight[1,2]"), filled at every Step. */
static void
on_watch_model (LamTrainPage *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->watch_grid))) != NULL)
    gtk_grid_remove (self->watch_grid, child);
  const LamModelPlan *plan = lam_session_get_plan (self->session);
  gboolean small = plan != NULL && plan->n_trainable > 0 &&
                   plan->n_trainable <= LAM_TRAINER_MAX_WATCHED;
  gtk_widget_set_visible (self->watch_box, small);
  if (!small)
    return;
  const char *headers[] = { "Parameter", "Value", "∂L/∂p", "Change" };
  for (int c = 0; c < 4; c++) {
    GtkWidget *label = gtk_label_new (headers[c]);
    gtk_label_set_xalign (GTK_LABEL (label), c == 0 ? 0 : 1);
    gtk_widget_add_css_class (label, "heading");
    gtk_grid_attach (self->watch_grid, label, c, 0, 1, 1);
  }
  int row = 1;
  for (int l = 0; l < plan->n_layers; l++) {
    const LamLayer *layer = &plan->layers[l];
    int out = (int) layer->n_bias;
    int in = out > 0 ? (int) (layer->n_weights / out) : 0;
    for (gsize p = 0; p < layer->n_weights + layer->n_bias; p++) {
      g_autofree char *name =
        p < layer->n_weights
          ? (out > 0 && layer->n_weights == (gsize) out * in
               ? g_strdup_printf ("%d.weight[%d,%d]", layer->index, (int) p / MAX (in, 1),
                                  (int) p % MAX (in, 1))
               : g_strdup_printf ("%d.weight[%zu]", layer->index, p))
          : g_strdup_printf ("%d.bias[%zu]", layer->index, p - layer->n_weights);
      GtkWidget *label = gtk_label_new (name);
      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_grid_attach (self->watch_grid, label, 0, row, 1, 1);
      for (int c = 1; c < 4; c++) {
        GtkWidget *value = gtk_label_new ("–");
        gtk_label_set_xalign (GTK_LABEL (value), 1);
        gtk_grid_attach (self->watch_grid, value, c, row, 1, 1);
      }
      row++;
    }
  }
  /* Plain SGD's rule, with the penalties' terms the optimizer adds to the
   * gradient shown (which is the loss's alone), so that Change is what
   * the formula gives. */
  const LamOptimizerConfig *optimizer = &lam_session_get_config (self->session)->optimizer;
  if (optimizer->kind == LAM_OPTIMIZER_SGD && optimizer->momentum == 0) {
    g_autofree char *rule =
      g_strdup_printf ("Each Step: p ← p − learning rate × %s%s%s%s, for every parameter.",
                       optimizer->weight_decay > 0 || optimizer->l1 > 0 ? "(∂L/∂p" : "∂L/∂p",
                       optimizer->weight_decay > 0 ? " + weight decay × p" : "",
                       optimizer->l1 > 0 ? " + L1 penalty × sign(p)" : "",
                       optimizer->weight_decay > 0 || optimizer->l1 > 0 ? ")" : "");
    gtk_label_set_text (self->watch_label, rule);
  } else {
    gtk_label_set_text (self->watch_label,
                        "Each Step: the optimizer's change to every parameter, from its "
                        "gradient ∂L/∂p (and, for Adam, the averages of its past gradients).");
  }
  show_held_weights (self);
}

/* The weights the session holds, in the Value column, after a run ends
 * or a project opens: a run at full speed sends no watched figures, so
 * the table stayed "–" and the class could read the learned w and b
 * nowhere. The gradient and change belong to one Step and are cleared:
 * beside other values they would contradict the rule above them. Weights
 * of another model (the stack was edited since) are not shown. */
static void
show_held_weights (LamTrainPage *self)
{
  if (!gtk_widget_get_visible (self->watch_box) ||
      lam_session_get_state (self->session) != LAM_TRAIN_STATE_IDLE)
    return;
  const LamModelPlan *plan = lam_session_get_plan (self->session);
  const LamModelSpec *spec = lam_session_get_weights_spec (self->session);
  gsize n = 0;
  const float *params = lam_session_get_weights (self->session, &n);
  gboolean current = plan != NULL && params != NULL && spec != NULL &&
                     lam_model_spec_equal (spec, lam_session_get_spec (self->session)) &&
                     n >= plan->n_trainable;
  for (gsize p = 0; plan != NULL && p < plan->n_trainable; p++) {
    for (int c = 1; c < 4; c++) {
      GtkWidget *label = gtk_grid_get_child_at (self->watch_grid, c, (int) p + 1);
      if (label == NULL)
        return;
      char text[32] = "–";
      if (c == 1 && current)
        g_snprintf (text, sizeof text, "%+.5f", params[p]);
      gtk_label_set_text (GTK_LABEL (label), text);
    }
  }
}

static void
show_watched (LamTrainPage *self, const LamTrainerEvent *event)
{
  for (int p = 0; p < event->n_watched; p++) {
    const float figures[3] = { event->watched_values[p], event->watched_grads[p],
                               event->watched_updates[p] };
    for (int c = 1; c < 4; c++) {
      GtkWidget *label = gtk_grid_get_child_at (self->watch_grid, c, p + 1);
      if (label == NULL)
        return;
      char text[32];
      g_snprintf (text, sizeof text, "%+.5f", figures[c - 1]);
      gtk_label_set_text (GTK_LABEL (label), text);
    }
  }
}

static void
on_boundary_dataset (LamTrainPage *self)
{
  const LamDataset *train = lam_session_get_train_set (self->session);
  gboolean regression = train != NULL && train->task == LAM_TASK_REGRESSION;
  gboolean plane = train != NULL && lam_dataset_is_table (train) && train->n_features == 2 &&
                   (!regression || train->n_targets == 1);
  /* Two inputs and one value: the fitted surface over the plane says more
   * than predictions against truth. */
  gboolean fit = regression && !plane;
  gtk_widget_set_visible (GTK_WIDGET (self->fit_view), fit);
  lam_fit_view_set_table (self->fit_view, fit ? train : NULL, 0);
  gtk_widget_set_visible (GTK_WIDGET (self->boundary_view), plane);
  update_sensitivity (self);
  if (!plane) {
    gtk_widget_set_visible (GTK_WIDGET (self->neuron_maps), FALSE);
    /* Weights that came first draw their fit now. */
    on_boundary_weights (self);
    return;
  }
  /* The points in their own units; the map standardises the grid as the
   * loader standardises rows. */
  lam_boundary_view_set_points (self->boundary_view, train->n, train->features, train->labels,
                                train->n_classes,
                                train->task == LAM_TASK_REGRESSION ? train->targets : NULL,
                                LAM_PLAYGROUND_EXTENT);
  lam_boundary_view_set_axis_names (self->boundary_view, train->feature_names[0],
                                    train->feature_names[1]);
  /* Weights that came first (an opened project's) are mapped now. */
  on_boundary_weights (self);
}

/* The fitted line or map of the plane of these weights. */
static void
draw_weights (LamTrainPage *self, const LamModelSpec *spec, const float *params, gsize n)
{
  if (gtk_widget_get_visible (GTK_WIDGET (self->fit_view))) {
    g_autoptr (GError) error = NULL;
    if (!lam_fit_view_set_model (self->fit_view, spec, params, n, &error))
      g_debug ("no fit to draw: %s", error->message);
  }
  if (!gtk_widget_get_visible (GTK_WIDGET (self->boundary_view)))
    return;
  const LamDataset *train = lam_session_get_train_set (self->session);
  if (spec == NULL || params == NULL || train == NULL || train->feature_mean == NULL) {
    lam_boundary_view_set_model (self->boundary_view, NULL, NULL, 0, NULL, NULL, NULL);
    lam_neuron_maps_set_model (self->neuron_maps, NULL, NULL, 0, NULL, NULL, NULL, NULL);
    gtk_widget_set_visible (GTK_WIDGET (self->neuron_maps), FALSE);
    return;
  }
  g_autoptr (GError) error = NULL;
  if (train->task == LAM_TASK_REGRESSION && train->target_mean != NULL)
    lam_boundary_view_set_value_scaling (self->boundary_view, train->target_mean[0],
                                         train->target_std[0]);
  else
    lam_boundary_view_set_value_scaling (self->boundary_view, 0, 1);
  if (!lam_boundary_view_set_model (self->boundary_view, spec, params, n, train->feature_mean,
                                    train->feature_std, &error)) {
    /* Nor the units of a model that does not fit these points. */
    g_debug ("no map of the plane: %s", error->message);
    lam_neuron_maps_set_model (self->neuron_maps, NULL, NULL, 0, NULL, NULL, NULL, NULL);
    gtk_widget_set_visible (GTK_WIDGET (self->neuron_maps), FALSE);
    return;
  }
  LamBoundaryPlane plane;
  lam_boundary_view_get_plane (self->boundary_view, &plane);
  if (!lam_neuron_maps_set_model (self->neuron_maps, spec, params, n, train->feature_mean,
                                  train->feature_std, &plane, &error))
    g_debug ("no maps of the neurons: %s", error->message);
  gtk_widget_set_visible (GTK_WIDGET (self->neuron_maps),
                          lam_neuron_maps_get_n_units (self->neuron_maps) > 0);
}

static void
on_boundary_weights (LamTrainPage *self)
{
  gsize n = 0;
  const float *params = lam_session_get_weights (self->session, &n);
  draw_weights (self, lam_session_get_weights_spec (self->session), params, n);
  show_held_weights (self);
}

/* A Step (or a slow run) of a model small enough to list its parameters
 * moves the line or map with the table: the session publishes weights at
 * epochs' ends only, which left the picture an epoch behind the numbers
 * beside it (or empty) while a class stepped through the first epoch. */
static void
draw_stepped_weights (LamTrainPage *self)
{
  if (!gtk_widget_get_visible (GTK_WIDGET (self->fit_view)) &&
      !gtk_widget_get_visible (GTK_WIDGET (self->boundary_view)))
    return;
  gsize n = 0;
  g_autofree float *params = lam_session_dup_params (self->session, &n);
  if (params != NULL)
    draw_weights (self, lam_session_get_spec (self->session), params, n);
}

/* An opened project: the progress says where its run stands, and the
 * test score is the one saved. */
static void
on_project_loaded (LamTrainPage *self)
{
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_label_set_text (self->progress_label, "");
  show_test_text (self, NULL, NULL);
  const Run *run = lam_session_get_current_run (self->session);
  if (run != NULL && !isnan (run->test_accuracy)) {
    /* A regression's test_accuracy holds its R². */
    g_autofree char *text =
      run_is_regression (run)
        ? g_strdup_printf ("Test R² %.3f (loss %.4g), as saved", run->test_accuracy, run->test_loss)
        : g_strdup_printf ("Test accuracy %.1f%% (loss %.3f), as saved", run->test_accuracy * 100,
                           run->test_loss);
    show_test_text (self, text, lam_session_get_weights_dataset_dir (self->session));
  }
  int epochs_done = 0;
  gint64 step = 0;
  if (lam_session_get_resume_position (self->session, &epochs_done, &step)) {
    g_autofree char *text = g_strdup_printf ("Saved after %d epoch%s (step %" G_GINT64_FORMAT
                                             "): Start continues it.", epochs_done,
                                             epochs_done == 1 ? "" : "s", step);
    gtk_label_set_text (self->progress_label, text);
  }
}

/* A score measured on the dataset open before is not this dataset's:
 * the label says whose it is, or goes when that is unknown. */
static void
on_dataset_changed (LamTrainPage *self)
{
  lam_batch_strip_set_dataset (self->batch_strip, lam_session_get_train_set (self->session));
  update_batch_visible (self);
  if (!gtk_widget_get_visible (GTK_WIDGET (self->test_label)))
    return;
  if (self->test_label_dataset_dir == NULL) {
    gtk_widget_set_visible (GTK_WIDGET (self->test_label), FALSE);
    return;
  }
  /* Its own dataset opened again: the score is this one's once more. */
  if (g_strcmp0 (self->test_label_dataset_dir, lam_session_get_dataset_dir (self->session)) == 0) {
    gtk_label_set_text (self->test_label, self->test_text);
    return;
  }
  /* Built from the score as measured each time, so that it names the
   * dataset open now, not the first one opened after the run. */
  const char *name = lam_session_get_dataset_name (self->session);
  g_autofree char *marked = g_strdup_printf ("%s — measured before %s was opened", self->test_text,
                                             name != NULL ? name : "another dataset");
  gtk_label_set_text (self->test_label, marked);
}

static void
on_smoothing_changed (LamTrainPage *self)
{
  double smoothing = gtk_range_get_value (GTK_RANGE (self->smoothing_scale));
  lam_chart_set_smoothing (self->loss_chart, smoothing);
  lam_chart_set_smoothing (self->accuracy_chart, smoothing);
}

static void
on_log_toggled (LamTrainPage *self)
{
  lam_chart_set_log_y (self->loss_chart, gtk_check_button_get_active (self->log_check));
}

static void
on_overlay_toggled (LamTrainPage *self)
{
  rebuild_charts (self);
}

/* "CPU (OpenBLAS 0.3.21 Haswell, AVX-512, 1 thread)" → "CPU": the
 * dropdown stays narrow enough for a projector; the tooltip has it all. */
static char *
short_device_name (const char *name)
{
  const char *paren = strstr (name, " (");
  return paren != NULL ? g_strndup (name, paren - name) : g_strdup (name);
}

static void
fill_devices (LamTrainPage *self)
{
  g_autoptr (GtkStringList) names = gtk_string_list_new (NULL);
  g_autoptr (GString) tooltip = g_string_new (NULL);
  LamBackend *cpu = lam_backend_cpu_new ();
  g_autofree char *cpu_name = short_device_name (cpu->device_name);
  g_string_append (tooltip, cpu->device_name);
  lam_backend_free (cpu);
  gtk_string_list_append (names, cpu_name);
  g_ptr_array_add (self->device_ids, g_strdup ("cpu"));

  g_autoptr (GError) error = NULL;
  LamBackend *cuda = lam_device_open ("cuda", NULL, &error);
  if (cuda != NULL) {
    g_autofree char *name = g_strdup_printf ("GPU: %s", cuda->device_name);
    g_string_append_printf (tooltip, "\nGPU: %s", cuda->device_name);
    lam_backend_free (cuda);
    gtk_string_list_append (names, name);
    g_ptr_array_add (self->device_ids, g_strdup ("cuda"));
  } else {
    g_string_append_printf (tooltip, "\nNo GPU: %s", error->message);
  }
  gtk_drop_down_set_model (self->device_dropdown, G_LIST_MODEL (names));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->device_dropdown), tooltip->str);
}

/* The device dropdown lists what this machine has; the session holds
 * "auto", "cpu" or "cuda". */
static gboolean
device_to_selected (GBinding *binding, const GValue *from, GValue *to, gpointer user_data)
{
  LamTrainPage *self = user_data;
  const char *device = g_value_get_string (from);
  guint selected = 0;
  for (guint i = 0; i < self->device_ids->len; i++) {
    const char *id = g_ptr_array_index (self->device_ids, i);
    /* "auto": the GPU when one answers. */
    if (g_strcmp0 (id, device) == 0 || (g_strcmp0 (device, "auto") == 0 && g_str_equal (id, "cuda")))
      selected = i;
  }
  g_value_set_uint (to, selected);
  return TRUE;
}

static gboolean
selected_to_device (GBinding *binding, const GValue *from, GValue *to, gpointer user_data)
{
  LamTrainPage *self = user_data;
  guint selected = g_value_get_uint (from);
  if (selected >= self->device_ids->len)
    return FALSE;
  g_value_set_string (to, g_ptr_array_index (self->device_ids, selected));
  return TRUE;
}

/* A pace the list does not hold (set by a test or a future preference)
 * shows as the nearest choice. */
static gboolean
pace_to_selected (GBinding *binding, const GValue *from, GValue *to, gpointer user_data)
{
  double pace = g_value_get_double (from);
  guint best = 0;
  for (guint i = 1; i < G_N_ELEMENTS (paces); i++)
    if (pace > 0 && (paces[best] == 0 || fabs (log (paces[i] / pace)) <
                                           fabs (log (paces[best] / pace))))
      best = i;
  g_value_set_uint (to, best);
  return TRUE;
}

static gboolean
selected_to_pace (GBinding *binding, const GValue *from, GValue *to, gpointer user_data)
{
  guint selected = g_value_get_uint (from);
  if (selected >= G_N_ELEMENTS (paces))
    return FALSE;
  g_value_set_double (to, paces[selected]);
  return TRUE;
}

static void
bind_settings (LamTrainPage *self)
{
  const GBindingFlags both = G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE;
  struct
  {
    const char *setting;
    gpointer widget;
    const char *property;
  } bindings[] = {
    { "epochs", self->epochs_spin, "value" },
    { "batch-size", self->batch_spin, "value" },
    { "optimizer", self->optimizer_dropdown, "selected" },
    { "lr", self->lr_spin, "value" },
    { "momentum", self->momentum_spin, "value" },
    { "weight-decay", self->decay_spin, "value" },
    { "l1-penalty", self->l1_spin, "value" },
    { "schedule", self->schedule_dropdown, "selected" },
    { "step-size", self->step_size_spin, "value" },
    { "gamma", self->gamma_spin, "value" },
    { "eta-min", self->eta_min_spin, "value" },
    { "normalization", self->norm_dropdown, "selected" },
    { "norm-mean", self->norm_mean_spin, "value" },
    { "norm-std", self->norm_std_spin, "value" },
    { "crop-padding", self->crop_spin, "value" },
    { "padding-mode", self->padding_mode_dropdown, "selected" },
    { "hflip", self->hflip_check, "active" },
    { "val-fraction", self->val_spin, "value" },
    { "seed", self->seed_spin, "value" },
    { "continue-run", self->continue_check, "active" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bindings); i++)
    g_object_bind_property (self->session, bindings[i].setting, bindings[i].widget,
                            bindings[i].property, both);
  g_object_bind_property_full (self->session, "device", self->device_dropdown, "selected", both,
                               device_to_selected, selected_to_device, self, NULL);
  g_object_bind_property_full (self->session, "pace", self->pace_dropdown, "selected", both,
                               pace_to_selected, selected_to_pace, NULL, NULL);
}

static void
lam_train_page_constructed (GObject *object)
{
  LamTrainPage *self = LAM_TRAIN_PAGE (object);
  G_OBJECT_CLASS (lam_train_page_parent_class)->constructed (object);

  /* The buttons' session.* actions resolve here even outside a window. */
  gtk_widget_insert_action_group (GTK_WIDGET (self), "session",
                                  lam_session_get_actions (self->session));
  bind_settings (self);

  struct
  {
    const char *signal;
    GCallback callback;
  } handlers[] = {
    { "notify::model-valid", G_CALLBACK (update_hint) },
    { "notify::has-dataset", G_CALLBACK (update_hint) },
    { "notify::loading", G_CALLBACK (update_hint) },
    { "notify::state", G_CALLBACK (on_state_changed) },
    { "notify::error", G_CALLBACK (on_error_changed) },
    { "notify::runs-note", G_CALLBACK (on_runs_note_changed) },
    { "notify::can-continue", G_CALLBACK (on_can_continue_changed) },
    { "notify::pace", G_CALLBACK (update_batch_visible) },
    { "settings-changed", G_CALLBACK (update_sensitivity) },
    { "commit-edits", G_CALLBACK (on_commit_edits) },
    { "training-event", G_CALLBACK (on_training_event) },
    { "runs-changed", G_CALLBACK (on_runs_changed) },
    { "project-loaded", G_CALLBACK (on_project_loaded) },
    { "dataset-changed", G_CALLBACK (on_dataset_changed) },
    { "dataset-changed", G_CALLBACK (on_boundary_dataset) },
    { "dataset-changed", G_CALLBACK (on_task_changed) },
    { "spec-changed", G_CALLBACK (on_watch_model) },
    { "settings-changed", G_CALLBACK (on_watch_model) },
    { "weights-changed", G_CALLBACK (on_boundary_weights) },
    { "notify::model-valid", G_CALLBACK (update_sensitivity) },
  };
  for (guint i = 0; i < G_N_ELEMENTS (handlers); i++)
    g_signal_connect_object (self->session, handlers[i].signal, handlers[i].callback, self,
                             G_CONNECT_SWAPPED);
  g_signal_connect_swapped (self->norm_dropdown, "notify::selected",
                            G_CALLBACK (update_sensitivity), self);
  g_signal_connect_object (lam_session_get_actions (self->session),
                           "action-enabled-changed::start-pause", G_CALLBACK (update_sensitivity),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_swapped (self->lr_find_button, "clicked", G_CALLBACK (lam_train_page_find_lr),
                            self);

  on_state_changed (self);
  on_error_changed (self);
  on_runs_note_changed (self);
  on_can_continue_changed (self);
  on_runs_changed (self);
  on_boundary_dataset (self);
  on_boundary_weights (self);
  on_task_changed (self);
  on_watch_model (self);
  lam_batch_strip_set_dataset (self->batch_strip, lam_session_get_train_set (self->session));
}

static void
lam_train_page_dispose (GObject *object)
{
  LamTrainPage *self = LAM_TRAIN_PAGE (object);
  g_clear_pointer (&self->test_label_dataset_dir, g_free);
  g_clear_pointer (&self->test_text, g_free);
  g_clear_pointer (&self->root, gtk_widget_unparent);
  g_clear_object (&self->session);
  g_clear_pointer (&self->device_ids, g_ptr_array_unref);
  for (guint i = 0; i < G_N_ELEMENTS (self->epoch_columns); i++)
    g_clear_object (&self->epoch_columns[i]);
  g_clear_object (&self->epoch_probe);
  G_OBJECT_CLASS (lam_train_page_parent_class)->dispose (object);
}

static void
lam_train_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamTrainPage *self = LAM_TRAIN_PAGE (object);
  switch (prop_id) {
  case PROP_SESSION:
    g_value_set_object (value, self->session);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_train_page_set_property (GObject *object, guint prop_id, const GValue *value,
                             GParamSpec *pspec)
{
  LamTrainPage *self = LAM_TRAIN_PAGE (object);
  switch (prop_id) {
  case PROP_SESSION:
    self->session = g_value_dup_object (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

const char *
lam_train_page_get_progress_text (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return gtk_label_get_text (self->progress_label);
}

const char *
lam_train_page_get_error_text (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return gtk_revealer_get_reveal_child (self->error_revealer)
           ? gtk_label_get_text (self->error_label)
           : NULL;
}

GtkWidget *
lam_train_page_get_start_button (LamTrainPage *self)
{
  return GTK_WIDGET (self->start_button);
}

LamChart *
lam_train_page_get_loss_chart (LamTrainPage *self)
{
  return self->loss_chart;
}

LamChart *
lam_train_page_get_accuracy_chart (LamTrainPage *self)
{
  return self->accuracy_chart;
}

guint
lam_train_page_get_train_loss_series (LamTrainPage *self)
{
  return self->series_train_loss;
}

guint
lam_train_page_get_val_accuracy_series (LamTrainPage *self)
{
  return self->series_val_accuracy;
}

LamNeuronMaps *
lam_train_page_get_neuron_maps (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return self->neuron_maps;
}

LamFitView *
lam_train_page_get_fit_view (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return self->fit_view;
}

GtkGrid *
lam_train_page_get_parameters_grid (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return self->watch_grid;
}

LamBoundaryView *
lam_train_page_get_boundary_view (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return self->boundary_view;
}

GtkListBox *
lam_train_page_get_runs_list (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return self->runs_list;
}

GtkLabel *
lam_train_page_get_runs_note (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return self->runs_note;
}

GtkSizeGroup *
lam_train_page_get_epoch_column (LamTrainPage *self, guint column)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  g_return_val_if_fail (column < G_N_ELEMENTS (self->epoch_columns), NULL);
  return self->epoch_columns[column];
}

GtkWidget *
lam_train_page_get_epoch_header (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return GTK_WIDGET (self->epoch_header);
}

GtkScrolledWindow *
lam_train_page_get_epoch_scroller (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return self->epoch_scroller;
}

LamBatchStrip *
lam_train_page_get_batch_strip (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return self->batch_strip;
}

void
lam_train_page_set_presentation (LamTrainPage *self, gboolean presentation)
{
  double width = presentation ? 3.5 : 1.5;
  lam_chart_set_line_width (self->loss_chart, width);
  lam_chart_set_line_width (self->accuracy_chart, width);
}

static void
lam_train_page_class_init (LamTrainPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = lam_train_page_constructed;
  object_class->dispose = lam_train_page_dispose;
  object_class->get_property = lam_train_page_get_property;
  object_class->set_property = lam_train_page_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, LAM_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Referencing the resource links its object file, whose constructor
   * registers it, into every program that takes this page from the static
   * library. */
  if (lam_ui_get_resource () == NULL)
    g_critical ("Lamina's UI resources are missing");
  g_type_ensure (LAM_TYPE_CHART);
  g_type_ensure (LAM_TYPE_REFLOW_BOX);
  g_type_ensure (LAM_TYPE_HELP_BUTTON);
  g_type_ensure (LAM_TYPE_BOUNDARY_VIEW);
  g_type_ensure (LAM_TYPE_FIT_VIEW);
  g_type_ensure (LAM_TYPE_NEURON_MAPS);
  g_type_ensure (LAM_TYPE_BATCH_STRIP);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/lamina/Lamina/ui/lam-train-page.ui");
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, root);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, epochs_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, batch_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, optimizer_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, lr_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, momentum_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, momentum_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, decay_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, l1_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, lr_find_button);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, schedule_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, step_size_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, gamma_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, eta_min_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, norm_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, norm_mean_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, norm_std_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, crop_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, padding_mode_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, hflip_check);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, val_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, seed_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, more_expander);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, device_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, pace_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, continue_check);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, start_button);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, hint_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, watch_box);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, watch_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, watch_grid);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, progress_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, test_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, epoch_header);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, epoch_scroller);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, epoch_grid);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, smoothing_scale);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, log_check);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, overlay_check);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, boundary_view);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, fit_view);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, neuron_maps);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, loss_chart);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, accuracy_chart);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, accuracy_help);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, norm_help);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, augmentation_help);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, runs_button);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, runs_list);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, runs_note);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, batch_box);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, batch_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, batch_strip);
}

static void
lam_train_page_init (LamTrainPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  lam_ui_expander_hide_collapsed_child (self->more_expander);
  self->shown_rate = self->shown_seconds_per_batch = NAN;
  self->device_ids = g_ptr_array_new_with_free_func (g_free);

  lam_chart_set_title (self->loss_chart, "Loss");
  lam_chart_set_axis_labels (self->loss_chart, "epoch", "loss");
  lam_chart_set_title (self->accuracy_chart, "Accuracy");
  lam_chart_set_axis_labels (self->accuracy_chart, "epoch", "accuracy");
  lam_chart_set_y_format (self->accuracy_chart, LAM_CHART_FORMAT_PERCENT);
  lam_chart_set_y_limits (self->accuracy_chart, 0, 1);
  /* The "?" and their names sit over the top right corner: a title in
   * the middle ran under them in presentation mode at 1024×768. */
  lam_chart_set_title_at_start (self->loss_chart, TRUE);
  lam_chart_set_title_at_start (self->accuracy_chart, TRUE);

  GtkSpinButton *fractional[] = { self->lr_spin,  self->momentum_spin,  self->decay_spin,
                                  self->l1_spin,  self->gamma_spin,     self->eta_min_spin,
                                  self->val_spin, self->norm_mean_spin, self->norm_std_spin };
  for (guint i = 0; i < G_N_ELEMENTS (fractional); i++)
    g_signal_connect (fractional[i], "output", G_CALLBACK (on_spin_output), NULL);
  GtkSpinButton *spins[N_SETTING_SPINS];
  get_setting_spins (self, spins);
  for (guint i = 0; i < N_SETTING_SPINS; i++)
    g_signal_connect (spins[i], "input", G_CALLBACK (on_spin_input), self);

  fill_devices (self);
  make_epoch_header (self);
  clear_epoch_table (self);
  on_smoothing_changed (self);

  g_signal_connect_swapped (self->smoothing_scale, "value-changed",
                            G_CALLBACK (on_smoothing_changed), self);
  g_signal_connect_swapped (self->log_check, "toggled", G_CALLBACK (on_log_toggled), self);
  g_signal_connect_swapped (self->overlay_check, "toggled", G_CALLBACK (on_overlay_toggled),
                            self);
}

GtkWidget *
lam_train_page_new (LamSession *session)
{
  return g_object_new (LAM_TYPE_TRAIN_PAGE, "session", session, NULL);
}

LamLrFinderDialog *
lam_train_page_find_lr (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  lam_session_commit_edits (self->session);
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  LamLrFinderDialog *dialog =
    lam_lr_finder_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, self->session);
  gtk_window_present (GTK_WINDOW (dialog));
  return dialog;
}
