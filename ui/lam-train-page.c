#include "lam-train-page.h"

#include <math.h>
#include <string.h>

#include "lam-device.h"
#include "lam-project-file.h"
#include "lam-ui-util.h"

/* How many runs are kept, the current one included; each has its own
 * colour from the charts' run palette while it is kept. */
#define MAX_KEPT_RUNS LAM_CHART_N_RUN_COLORS
/* Long layer lists are shortened in run labels. */
#define MODEL_LABEL_CHARS 32

/* Runs are kept as the project file stores them, so saving and opening
 * need no conversion. */
typedef LamProjectRun Run;

static void
run_free (Run *run)
{
  lam_project_run_free (run);
}

struct _LamTrainPage
{
  GtkWidget parent_instance;

  LamSession *session; /* owned */

  GtkWidget *root;
  GtkSpinButton *epochs_spin;
  GtkSpinButton *batch_spin;
  GtkDropDown *optimizer_dropdown;
  GtkSpinButton *lr_spin;
  GtkWidget *momentum_label;
  GtkSpinButton *momentum_spin;
  GtkSpinButton *decay_spin;
  GtkDropDown *schedule_dropdown;
  GtkSpinButton *step_size_spin;
  GtkSpinButton *gamma_spin;
  GtkSpinButton *eta_min_spin;
  GtkDropDown *norm_dropdown;
  GtkSpinButton *norm_mean_spin;
  GtkSpinButton *norm_std_spin;
  GtkSpinButton *crop_spin;
  GtkCheckButton *hflip_check;
  GtkSpinButton *val_spin;
  GtkSpinButton *seed_spin;
  GtkDropDown *device_dropdown;
  GtkCheckButton *continue_check;
  GtkButton *start_button;
  GtkWidget *hint_label;
  GtkRevealer *error_revealer;
  GtkLabel *error_label;
  GtkProgressBar *progress_bar;
  GtkLabel *progress_label;
  GtkLabel *test_label;
  /* The dataset folder the test label's score was measured on. */
  char *test_label_dataset_dir;
  GtkGrid *epoch_header;
  GtkScrolledWindow *epoch_scroller;
  GtkGrid *epoch_grid;
  GtkSizeGroup *epoch_columns[6]; /* owned: a header cell and its column's cells */
  GtkScale *smoothing_scale;
  GtkCheckButton *log_check;
  GtkCheckButton *overlay_check;
  LamChart *loss_chart;
  LamChart *accuracy_chart;
  GtkMenuButton *runs_button;
  GtkListBox *runs_list;
  GtkLabel *runs_note;

  GPtrArray *device_ids; /* of char*: "cpu", "cuda" */

  LamTrainState state;
  LamTrainer *trainer;  /* owned; kept after a run for its weights */
  LamBackend *backend;  /* owned; the trainer's */
  gint64 step;
  int epochs_done; /* in the current run */
  double last_x;        /* fractional epoch of the newest point */
  int epoch_rows;

  GQueue runs; /* of Run*, oldest first; the tail is the current run */
  /* Weights, optimizer state and position the current run can go on from
   * (its spec and config too): from the trainer when a run ends, or from an
   * opened project. NULL when there is none. */
  LamProjectFile *resume;
  gboolean loading_settings; /* widgets set from a project: not a user's edit */
  int next_run_number;
  guint series_train_loss, series_val_loss, series_train_accuracy, series_val_accuracy;
};

G_DEFINE_FINAL_TYPE (LamTrainPage, lam_train_page, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SESSION,
  PROP_STATE,
  PROP_STEP,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void update_actions (LamTrainPage *self);
static void publish_weights (LamTrainPage *self, int epochs_done);
static void capture_resume (LamTrainPage *self);
static void update_continue (LamTrainPage *self);
static gboolean same_spec (const LamModelSpec *a, const LamModelSpec *b);

static Run *
current_run (LamTrainPage *self)
{
  return g_queue_peek_tail (&self->runs);
}

static void
set_state (LamTrainPage *self, LamTrainState state)
{
  if (self->state == state)
    return;
  self->state = state;
  lam_session_set_training (self->session, state != LAM_TRAIN_STATE_IDLE);
  gtk_button_set_label (self->start_button, state == LAM_TRAIN_STATE_RUNNING ? "Pause"
                                            : state == LAM_TRAIN_STATE_PAUSED ? "Resume"
                                                                              : "Start");
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
show_error (LamTrainPage *self, const char *message)
{
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

const char *
lam_train_page_get_test_text (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->test_label))
           ? gtk_label_get_text (self->test_label)
           : NULL;
}

gboolean
lam_train_page_can_start (LamTrainPage *self)
{
  return lam_session_get_has_dataset (self->session) &&
         lam_session_get_model_valid (self->session);
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

static void
update_actions (LamTrainPage *self)
{
  gboolean idle = self->state == LAM_TRAIN_STATE_IDLE;
  gboolean can_start = lam_train_page_can_start (self);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.start-pause", !idle || can_start);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.step", !idle || can_start);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.stop", !idle);
  /* Settings apply to the next run; only the learning rate changes live. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->epochs_spin), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->batch_spin), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->optimizer_dropdown), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->momentum_spin), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->val_spin), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->seed_spin), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->device_dropdown), idle);
  gboolean schedule_step = gtk_drop_down_get_selected (self->schedule_dropdown) == 1;
  gboolean schedule_cosine = gtk_drop_down_get_selected (self->schedule_dropdown) == 2;
  gboolean norm_custom = gtk_drop_down_get_selected (self->norm_dropdown) == 2;
  gtk_widget_set_sensitive (GTK_WIDGET (self->decay_spin), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->schedule_dropdown), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->step_size_spin), idle && schedule_step);
  gtk_widget_set_sensitive (GTK_WIDGET (self->gamma_spin), idle && schedule_step);
  gtk_widget_set_sensitive (GTK_WIDGET (self->eta_min_spin), idle && schedule_cosine);
  gtk_widget_set_sensitive (GTK_WIDGET (self->norm_dropdown), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->norm_mean_spin), idle && norm_custom);
  gtk_widget_set_sensitive (GTK_WIDGET (self->norm_std_spin), idle && norm_custom);
  gtk_widget_set_sensitive (GTK_WIDGET (self->crop_spin), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->hflip_check), idle);
  update_hint (self);
}

static void
on_optimizer_changed (LamTrainPage *self)
{
  gboolean sgd = gtk_drop_down_get_selected (self->optimizer_dropdown) == 0;
  gtk_widget_set_visible (self->momentum_label, sgd);
  gtk_widget_set_visible (GTK_WIDGET (self->momentum_spin), sgd);
  /* Each optimizer's usual starting rate, as the tutorials use them, and
   * AdamW's usual decay, as the command line sets them. */
  if (self->state == LAM_TRAIN_STATE_IDLE && !self->loading_settings) {
    gboolean adamw = gtk_drop_down_get_selected (self->optimizer_dropdown) == 2;
    double decay = gtk_spin_button_get_value (self->decay_spin);
    gtk_spin_button_set_value (self->lr_spin, sgd ? 0.01 : 0.001);
    if (adamw && decay == 0)
      gtk_spin_button_set_value (self->decay_spin, 0.01);
    else if (!adamw && decay == 0.01)
      gtk_spin_button_set_value (self->decay_spin, 0);
  }
}

/* The first palette colour no other kept run has. */
static void
choose_color (LamTrainPage *self, Run *run)
{
  gboolean used[LAM_CHART_N_RUN_COLORS] = { FALSE };
  for (GList *l = self->runs.head; l != NULL; l = l->next) {
    const Run *other = l->data;
    if (other != run && other->color >= 0)
      used[other->color % LAM_CHART_N_RUN_COLORS] = TRUE;
  }
  for (int i = 0; i < LAM_CHART_N_RUN_COLORS; i++)
    if (!used[i]) {
      run->color = i;
      return;
    }
  run->color = (run->number - 1) % LAM_CHART_N_RUN_COLORS;
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

/* A run's two curves on each chart in its own colour: training as a line
 * named for the run in the legend, validation as dots named in the hover
 * box (and in the legend for the current run). */
static void
add_run_series (LamTrainPage *self, Run *run, gboolean faded)
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
  for (guint i = 0; i < run->steps->len; i++) {
    const LamRunStep *p = &g_array_index (run->steps, LamRunStep, i);
    lam_chart_append (self->loss_chart, tl, p->x, p->loss);
    lam_chart_append (self->accuracy_chart, ta, p->x, p->accuracy);
  }
  for (guint i = 0; i < run->epochs->len; i++) {
    const LamRunEpoch *e = &g_array_index (run->epochs, LamRunEpoch, i);
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

static void update_runs_list (LamTrainPage *self);

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
  for (GList *l = self->runs.head; l != NULL; l = l->next) {
    Run *run = l->data;
    gboolean is_current = l->next == NULL;
    if ((!is_current && !overlay) || run->hidden)
      continue;
    add_run_series (self, run, !is_current);
  }
}

/* After runs come or go: the charts and the Runs list. */
static void
refresh_runs (LamTrainPage *self)
{
  rebuild_charts (self);
  update_runs_list (self);
}

static void
show_runs_note (LamTrainPage *self, const char *note)
{
  gtk_label_set_text (self->runs_note, note ? note : "");
  gtk_widget_set_visible (GTK_WIDGET (self->runs_note), note != NULL);
}

static Run *
find_run (LamTrainPage *self, int number, GList **link)
{
  for (GList *l = self->runs.head; l != NULL; l = l->next)
    if (((Run *) l->data)->number == number) {
      if (link != NULL)
        *link = l;
      return l->data;
    }
  return NULL;
}

static void
on_run_check_toggled (GtkCheckButton *check, LamTrainPage *self)
{
  int number = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (check), "run-number"));
  lam_train_page_set_run_visible (self, number, gtk_check_button_get_active (check));
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
  if (!isnan (run->test_accuracy))
    g_string_append_printf (markup, " <span alpha=\"70%%\">· test %.1f%%</span>",
                            run->test_accuracy * 100);
  if (is_current)
    g_string_append (markup, " <span alpha=\"70%\">(current)</span>");

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
  gtk_actionable_set_action_name (GTK_ACTIONABLE (delete), "train.delete-run");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (delete), "i", run->number);
  /* The run being trained goes on until it stops. */
  gtk_widget_set_sensitive (delete, !(is_current && self->state != LAM_TRAIN_STATE_IDLE));
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
  for (GList *l = self->runs.tail; l != NULL; l = l->prev)
    gtk_list_box_append (self->runs_list, new_run_row (self, l->data, l->next == NULL));
  guint n = g_queue_get_length (&self->runs);
  g_autofree char *label = n > 0 ? g_strdup_printf ("_Runs (%u)", n) : g_strdup ("_Runs");
  gtk_menu_button_set_label (self->runs_button, label);
  gtk_widget_set_sensitive (GTK_WIDGET (self->runs_button), n > 0);
}

static void
make_epoch_header (LamTrainPage *self)
{
  const char *headers[] = { "Epoch", "Train loss", "Train acc", "Val loss", "Val acc", "Time" };
  for (guint i = 0; i < G_N_ELEMENTS (headers); i++) {
    self->epoch_columns[i] = gtk_size_group_new (GTK_SIZE_GROUP_HORIZONTAL);
    GtkWidget *label = gtk_label_new (headers[i]);
    gtk_label_set_xalign (GTK_LABEL (label), i == 0 ? 0 : 1);
    gtk_widget_add_css_class (label, "heading");
    gtk_grid_attach (self->epoch_header, label, i, 0, 1, 1);
    gtk_size_group_add_widget (self->epoch_columns[i], label);
  }
}

static void
clear_epoch_table (LamTrainPage *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->epoch_grid))) != NULL) {
    int column = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (child), "column"));
    gtk_size_group_remove_widget (self->epoch_columns[column], child);
    gtk_grid_remove (self->epoch_grid, child);
  }
  self->epoch_rows = 0;
}

static void
add_epoch_row (LamTrainPage *self, const LamRunEpoch *event)
{
  char cells[6][32];
  g_snprintf (cells[0], 32, "%d", event->epoch);
  g_snprintf (cells[1], 32, "%.4f", event->train_loss);
  g_snprintf (cells[2], 32, "%.1f%%", event->train_accuracy * 100);
  if (isnan (event->val_loss)) {
    g_strlcpy (cells[3], "–", 32);
    g_strlcpy (cells[4], "–", 32);
  } else {
    g_snprintf (cells[3], 32, "%.4f", event->val_loss);
    g_snprintf (cells[4], 32, "%.1f%%", event->val_accuracy * 100);
  }
  g_snprintf (cells[5], 32, "%.1f s", event->seconds);
  for (int i = 0; i < 6; i++) {
    GtkWidget *label = gtk_label_new (cells[i]);
    gtk_label_set_xalign (GTK_LABEL (label), i == 0 ? 0 : 1);
    gtk_grid_attach (self->epoch_grid, label, i, self->epoch_rows, 1, 1);
    gtk_size_group_add_widget (self->epoch_columns[i], label);
    g_object_set_data (G_OBJECT (label), "column", GINT_TO_POINTER (i));
  }
  self->epoch_rows++;
}


static void
update_progress (LamTrainPage *self, const LamTrainerEvent *event)
{
  double per_epoch = MAX (1, event->batches_per_epoch);
  double done = event->epoch * per_epoch + event->batch;
  double total = per_epoch * event->epochs;
  gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (done / total, 0, 1));

  double rate = event->samples_per_second;
  double seconds_per_batch = event->batch > 0 && isfinite (event->seconds)
                               ? event->seconds / event->batch
                               : NAN;
  g_autofree char *left = lam_ui_format_duration (seconds_per_batch * (total - done));
  g_autofree char *speed = lam_ui_format_count (isfinite (rate) ? (guint64) rate : 0);
  g_autofree char *text = g_strdup_printf (
    "Epoch %d of %d · batch %d of %d · step %" G_GINT64_FORMAT "\n%s images/s · %s left",
    event->epoch + 1, event->epochs, event->batch, event->batches_per_epoch, event->step, speed,
    left);
  gtk_label_set_text (self->progress_label, text);
}

static void
on_trainer_event (const LamTrainerEvent *event, gpointer user_data)
{
  LamTrainPage *self = LAM_TRAIN_PAGE (user_data);
  Run *run = current_run (self);

  switch (event->kind) {
  case LAM_TRAINER_EVENT_STARTED:
    gtk_label_set_text (self->progress_label, "Starting…");
    break;

  case LAM_TRAINER_EVENT_PROGRESS: {
    double x = event->epoch + (double) event->batch / MAX (1, event->batches_per_epoch);
    self->last_x = x;
    LamRunStep point = { x, event->loss, event->accuracy };
    g_array_append_val (run->steps, point);
    /* A hidden current run still records what it draws when shown. */
    if (self->series_train_loss != 0) {
      lam_chart_append (self->loss_chart, self->series_train_loss, x, event->loss);
      lam_chart_append (self->accuracy_chart, self->series_train_accuracy, x, event->accuracy);
    }
    update_progress (self, event);
    self->step = event->step;
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STEP]);
    break;
  }

  case LAM_TRAINER_EVENT_EPOCH: {
    LamRunEpoch row = { event->epoch + 1, event->loss, event->accuracy, event->val_loss,
                        event->val_accuracy, event->seconds, event->lr };
    g_array_append_val (run->epochs, row);
    if (!isnan (event->val_loss) && self->series_val_loss != 0) {
      lam_chart_append (self->loss_chart, self->series_val_loss, event->epoch + 1,
                        event->val_loss);
      lam_chart_append (self->accuracy_chart, self->series_val_accuracy, event->epoch + 1,
                        event->val_accuracy);
    }
    add_epoch_row (self, &row);
    self->epochs_done = event->epoch + 1;
    publish_weights (self, self->epochs_done);
    break;
  }

  case LAM_TRAINER_EVENT_TEST: {
    run->test_accuracy = event->test_accuracy;
    run->test_loss = event->test_loss;
    const LamDataset *test = lam_session_get_test_set (self->session);
    g_autofree char *count = lam_ui_format_count (test != NULL ? (guint64) test->n : 0);
    g_autofree char *text =
      g_strdup_printf ("Test accuracy %.1f%% (loss %.3f) on %s test images of %s",
                       event->test_accuracy * 100, event->test_loss, count,
                       test != NULL ? test->name : "the dataset");
    gtk_label_set_text (self->test_label, text);
    gtk_widget_set_visible (GTK_WIDGET (self->test_label), TRUE);
    g_free (self->test_label_dataset_dir);
    self->test_label_dataset_dir = g_strdup (lam_session_get_dataset_dir (self->session));
    break;
  }

  case LAM_TRAINER_EVENT_PAUSED:
    if (self->state != LAM_TRAIN_STATE_IDLE)
      set_state (self, LAM_TRAIN_STATE_PAUSED);
    break;

  case LAM_TRAINER_EVENT_RESUMED:
    if (self->state != LAM_TRAIN_STATE_IDLE)
      set_state (self, LAM_TRAIN_STATE_RUNNING);
    break;

  case LAM_TRAINER_EVENT_LR_CHANGED: {
    /* Kept with the run, so the marker outlives it and is saved. */
    lam_project_run_add_lr_change (run, self->last_x, event->lr);
    if (self->series_train_loss != 0) {
      GdkRGBA color;
      run_color (run, &color);
      g_autofree char *label = g_strdup_printf ("lr %g", event->lr);
      lam_chart_add_marker_full (self->loss_chart, self->last_x, label, &color,
                                 LAM_CHART_SERIES_NONE);
      lam_chart_add_marker_full (self->accuracy_chart, self->last_x, label, &color,
                                 LAM_CHART_SERIES_NONE);
    }
    break;
  }

  case LAM_TRAINER_EVENT_DIVERGED:
    show_error (self, event->message);
    break;

  case LAM_TRAINER_EVENT_ERROR: {
    g_autofree char *text = g_strdup_printf ("Training stopped: %s", event->message);
    show_error (self, text);
    break;
  }

  case LAM_TRAINER_EVENT_FINISHED: {
    /* A stopped or diverged run still leaves weights worth inspecting. */
    if (event->stopped && event->step > 0)
      publish_weights (self, self->epochs_done);
    if (event->stopped && !gtk_revealer_get_reveal_child (self->error_revealer)) {
      g_autofree char *text =
        g_strdup_printf ("Stopped after %" G_GINT64_FORMAT " steps; the weights are kept.",
                         event->step);
      gtk_label_set_text (self->progress_label, text);
    } else if (!event->stopped) {
      gtk_progress_bar_set_fraction (self->progress_bar, 1);
      g_autofree char *text = g_strdup_printf ("Finished %d epoch%s in %.1f s", event->epochs,
                                               event->epochs == 1 ? "" : "s", event->seconds);
      gtk_label_set_text (self->progress_label, text);
    }
    capture_resume (self);
    set_state (self, LAM_TRAIN_STATE_IDLE);
    refresh_runs (self);
    lam_session_set_modified (self->session, TRUE);
    break;
  }
  }
}

/* Hands the Evaluate page a copy of the weights as they are now. */
static void
publish_weights (LamTrainPage *self, int epochs_done)
{
  gsize n = 0;
  g_autofree float *params = lam_trainer_dup_params (self->trainer, &n);
  float mean[3], std[3];
  lam_trainer_get_normalization (self->trainer, mean, std);
  LamModel *model = lam_trainer_get_model (self->trainer);
  lam_session_set_weights (self->session, lam_model_get_spec (model), params, n, mean, std,
                           epochs_done);
}

static char *
describe_settings (const LamTrainerConfig *config, const LamModelSpec *spec)
{
  return lam_project_describe_settings (config, spec);
}

static void
read_settings (LamTrainPage *self, LamTrainerConfig *config)
{
  static const LamOptimizerKind kinds[] = { LAM_OPTIMIZER_SGD, LAM_OPTIMIZER_ADAM,
                                            LAM_OPTIMIZER_ADAMW };
  LamOptimizerConfig old = config->optimizer;
  guint selected = MIN (gtk_drop_down_get_selected (self->optimizer_dropdown), 2);
  /* Settings the page has no field for (Adam's betas, weight decay) stay
   * as an opened project set them. */
  config->optimizer = old.kind == kinds[selected] ? old
                                                  : lam_optimizer_config_default (kinds[selected]);
  config->optimizer.lr = gtk_spin_button_get_value (self->lr_spin);
  if (kinds[selected] == LAM_OPTIMIZER_SGD)
    config->optimizer.momentum = gtk_spin_button_get_value (self->momentum_spin);
  config->epochs = gtk_spin_button_get_value_as_int (self->epochs_spin);
  config->batch_size = gtk_spin_button_get_value_as_int (self->batch_spin);
  config->val_fraction = gtk_spin_button_get_value (self->val_spin);
  config->seed = (guint64) gtk_spin_button_get_value (self->seed_spin);
  config->optimizer.weight_decay = gtk_spin_button_get_value (self->decay_spin);
  static const LamScheduleKind schedules[] = { LAM_SCHEDULE_CONSTANT, LAM_SCHEDULE_STEP,
                                               LAM_SCHEDULE_COSINE };
  config->schedule.kind = schedules[MIN (gtk_drop_down_get_selected (self->schedule_dropdown), 2)];
  config->schedule.step_size = gtk_spin_button_get_value_as_int (self->step_size_spin);
  config->schedule.gamma = gtk_spin_button_get_value (self->gamma_spin);
  config->schedule.eta_min = gtk_spin_button_get_value (self->eta_min_spin);
  /* Cosine runs over the whole run, as --schedule cosine does. */
  config->schedule.t_max = config->epochs;
  switch (gtk_drop_down_get_selected (self->norm_dropdown)) {
  case 1:
    config->normalize_from_data = FALSE;
    for (int c = 0; c < 3; c++) {
      config->mean[c] = 0;
      config->std[c] = 1;
    }
    break;
  case 2:
    config->normalize_from_data = FALSE;
    for (int c = 0; c < 3; c++) {
      config->mean[c] = (float) gtk_spin_button_get_value (self->norm_mean_spin);
      config->std[c] = (float) gtk_spin_button_get_value (self->norm_std_spin);
    }
    break;
  default:
    config->normalize_from_data = TRUE;
    break;
  }
  config->crop_padding = gtk_spin_button_get_value_as_int (self->crop_spin);
  config->hflip = gtk_check_button_get_active (self->hflip_check);
  config->evaluate_test = TRUE;
}

/* After a run ends: what Start can continue from and Save keeps. */
static void
capture_resume (LamTrainPage *self)
{
  g_clear_pointer (&self->resume, lam_project_file_free);
  int epochs_done, batches_done;
  gint64 step;
  if (self->trainer == NULL ||
      !lam_trainer_get_position (self->trainer, &epochs_done, &batches_done, &step) ||
      step == 0) {
    update_continue (self);
    return;
  }
  LamModel *model = lam_trainer_get_model (self->trainer);
  LamProjectFile *resume = lam_project_file_new ();
  resume->spec = lam_model_spec_copy (lam_model_get_spec (model));
  resume->config = *lam_session_get_config (self->session);
  gsize n = 0;
  g_autofree float *params = lam_trainer_dup_params (self->trainer, &n);
  float mean[3], std[3];
  lam_trainer_get_normalization (self->trainer, mean, std);
  /* Continuing, here or with `lamina train --load`, must normalise with the
   * very numbers this run used. */
  resume->config.normalize_from_data = FALSE;
  memcpy (resume->config.mean, mean, sizeof mean);
  memcpy (resume->config.std, std, sizeof std);
  const LamDataset *train = lam_session_get_train_set (self->session);
  lam_project_file_set_weights (resume, params, n, train ? train->channels : 1, mean, std);
  LamOptimizer *optimizer = lam_trainer_get_optimizer (self->trainer);
  int n_state = lam_optimizer_get_n_state (optimizer);
  float *state[2] = { NULL, NULL };
  for (int i = 0; i < n_state; i++) {
    state[i] = g_new (float, MAX (n, 1));
    lam_optimizer_get_state (optimizer, i, state[i]);
  }
  lam_project_file_set_resume (resume, epochs_done, batches_done, step,
                               (const float *const *) state, n_state);
  for (int i = 0; i < n_state; i++)
    g_free (state[i]);
  self->resume = resume;
  update_continue (self);
}

/* The Continue check shows while there is a run to go on from. */
static void
update_continue (LamTrainPage *self)
{
  gboolean can = self->resume != NULL && self->resume->resumable;
  if (can) {
    g_autofree char *label = g_strdup_printf ("_Continue the last run from step %"
                                              G_GINT64_FORMAT " (epoch %d)", self->resume->step,
                                              self->resume->epochs_done + 1);
    gtk_check_button_set_label (self->continue_check, label);
  }
  gtk_widget_set_visible (GTK_WIDGET (self->continue_check), can);
}

gboolean
lam_train_page_get_continue (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), FALSE);
  return self->resume != NULL && self->resume->resumable &&
         gtk_check_button_get_active (self->continue_check);
}

void
lam_train_page_set_continue (LamTrainPage *self, gboolean continue_run)
{
  g_return_if_fail (LAM_IS_TRAIN_PAGE (self));
  gtk_check_button_set_active (self->continue_check, continue_run);
}

/* "Fashion-MNIST (train)" → "Fashion-MNIST": runs train on the train part. */
static char *
dataset_label (const char *name)
{
  if (name == NULL)
    return NULL;
  if (g_str_has_suffix (name, " (train)"))
    return g_strndup (name, strlen (name) - strlen (" (train)"));
  return g_strdup (name);
}

/* Past MAX_KEPT_RUNS the oldest go, and the note under the charts says
 * which; a run added without loss clears the note. */
static void
drop_oldest_runs (LamTrainPage *self)
{
  g_autoptr (GString) dropped = g_string_new (NULL);
  guint n = 0;
  while (g_queue_get_length (&self->runs) > MAX_KEPT_RUNS) {
    Run *old = g_queue_pop_head (&self->runs);
    g_string_append_printf (dropped, "%s%d", n > 0 ? ", " : "", old->number);
    n++;
    run_free (old);
  }
  if (n == 0) {
    show_runs_note (self, NULL);
    return;
  }
  g_autofree char *note = g_strdup_printf ("Run%s %s %s dropped: the last %d runs are kept. "
                                           "Delete runs under Runs to choose which go.",
                                           n > 1 ? "s" : "", dropped->str,
                                           n > 1 ? "were" : "was", MAX_KEPT_RUNS);
  show_runs_note (self, note);
}

static gboolean
start_run (LamTrainPage *self, gboolean paused)
{
  g_autoptr (GError) error = NULL;
  if (!lam_train_page_can_start (self))
    return FALSE;

  /* Spin buttons hold typed text until they lose focus. */
  gtk_spin_button_update (self->lr_spin);
  gtk_spin_button_update (self->epochs_spin);
  gtk_spin_button_update (self->batch_spin);
  LamTrainerConfig *config = lam_session_get_config (self->session);
  read_settings (self, config);

  /* Continuing keeps what the saved run's arithmetic depends on (its
   * optimizer, batches, split, seed, normalisation); the Epochs setting
   * says how many more to train and the learning rate may change. */
  g_autoptr (LamProjectFile) resume = NULL;
  LamTrainerStart start = { 0 };
  if (lam_train_page_get_continue (self)) {
    resume = g_steal_pointer (&self->resume);
    double lr = config->optimizer.lr;
    int more = config->epochs;
    *config = resume->config;
    config->optimizer.lr = lr;
    config->epochs = MIN (resume->epochs_done + more, 100000);
    config->report_every = 0;
    lam_project_file_get_start (resume, &start);
  }

  g_clear_pointer (&self->trainer, lam_trainer_free);
  g_clear_pointer (&self->backend, lam_backend_free);
  show_error (self, NULL);

  guint device = gtk_drop_down_get_selected (self->device_dropdown);
  const char *device_id = device < self->device_ids->len
                            ? g_ptr_array_index (self->device_ids, device)
                            : "cpu";
  g_autofree char *note = NULL;
  self->backend = lam_device_open (device_id, &note, &error);
  if (self->backend == NULL) {
    g_autofree char *text = g_strdup_printf ("The device could not be used: %s", error->message);
    show_error (self, text);
    return FALSE;
  }
  /* Normalising by the data uses the statistics the Data page shows,
   * computed on a worker thread when the dataset loaded: the trainer working
   * them out again would stall the window at Start. Only the run's copy
   * holds the numbers; the setting stays "from the data", so the next
   * dataset's statistics are the ones shown and used. */
  LamTrainerConfig run_config = *config;
  if (run_config.normalize_from_data) {
    run_config.normalize_from_data = FALSE;
    lam_session_get_dataset_stats (self->session, run_config.mean, run_config.std);
  }
  self->trainer = lam_trainer_new (lam_session_get_spec (self->session),
                                   lam_session_get_train_set (self->session),
                                   lam_session_get_test_set (self->session), self->backend,
                                   &run_config, &error);
  if (self->trainer != NULL && resume != NULL &&
      !lam_trainer_set_start (self->trainer, &start, &error))
    g_clear_pointer (&self->trainer, lam_trainer_free);
  if (self->trainer == NULL) {
    g_autofree char *text = g_strdup_printf ("Training cannot %s: %s",
                                             resume ? "continue" : "start", error->message);
    show_error (self, text);
    g_clear_pointer (&self->backend, lam_backend_free);
    /* The saved state stays for another try (fewer epochs, another device). */
    if (resume != NULL && self->resume == NULL)
      self->resume = g_steal_pointer (&resume);
    return FALSE;
  }

  if (resume != NULL && current_run (self) != NULL) {
    /* The same run goes on: its curves and epoch rows continue. */
    Run *run = current_run (self);
    run->test_loss = run->test_accuracy = NAN;
    self->step = start.step;
    self->epochs_done = start.epochs_done;
  } else {
    const LamModelSpec *spec = lam_session_get_spec (self->session);
    g_autofree char *settings = describe_settings (config, spec);
    Run *run = lam_project_run_new (++self->next_run_number, settings);
    run->dataset = dataset_label (lam_session_get_dataset_name (self->session));
    run->model = lam_project_describe_model (spec, MODEL_LABEL_CHARS);
    run->optimizer = lam_project_describe_optimizer (&config->optimizer);
    g_queue_push_tail (&self->runs, run);
    drop_oldest_runs (self);
    choose_color (self, run);
    self->step = 0;
    self->epochs_done = 0;
    clear_epoch_table (self);
  }
  g_clear_pointer (&self->resume, lam_project_file_free);
  self->last_x = 0;
  refresh_runs (self);
  update_continue (self);
  gtk_widget_set_visible (GTK_WIDGET (self->test_label), FALSE);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);

  lam_session_begin_run (self->session);
  lam_trainer_set_event_func (self->trainer, on_trainer_event, self, NULL);
  set_state (self, paused ? LAM_TRAIN_STATE_PAUSED : LAM_TRAIN_STATE_RUNNING);
  /* The run in training cannot be deleted. */
  update_runs_list (self);
  lam_trainer_start (self->trainer, paused);
  return TRUE;
}

/* Saving and opening */

static const LamOptimizerKind optimizer_kinds[] = { LAM_OPTIMIZER_SGD, LAM_OPTIMIZER_ADAM,
                                                    LAM_OPTIMIZER_ADAMW };

void
lam_train_page_fill_project_file (LamTrainPage *self, LamProjectFile *file)
{
  g_return_if_fail (LAM_IS_TRAIN_PAGE (self));
  g_return_if_fail (file != NULL);

  gtk_spin_button_update (self->lr_spin);
  gtk_spin_button_update (self->epochs_spin);
  gtk_spin_button_update (self->batch_spin);
  read_settings (self, &file->config);
  file->normalize_by_data = file->config.normalize_from_data;
  file->config.report_every = 0;
  guint device = gtk_drop_down_get_selected (self->device_dropdown);
  g_free (file->device);
  file->device = g_strdup (device < self->device_ids->len
                             ? (const char *) g_ptr_array_index (self->device_ids, device)
                             : "cpu");
  g_ptr_array_set_size (file->runs, 0);
  for (GList *l = self->runs.head; l != NULL; l = l->next)
    g_ptr_array_add (file->runs, lam_project_run_copy (l->data));

  /* Weights that can continue, else the newest published ones (a run
   * that diverged keeps its last good weights but cannot continue). */
  lam_project_file_set_weights (file, NULL, 0, 0, NULL, NULL);
  if (self->resume != NULL && self->resume->params != NULL) {
    lam_project_file_set_weights (file, self->resume->params, self->resume->n_params,
                                  self->resume->n_channels, self->resume->mean,
                                  self->resume->std);
    if (self->resume->resumable) {
      lam_project_file_set_resume (file, self->resume->epochs_done, self->resume->batches_done,
                                   self->resume->step,
                                   (const float *const *) self->resume->optimizer_state,
                                   self->resume->n_optimizer_state);
      /* The settings the saved state belongs to; the lesson's own choice
       * of normalisation is kept beside them (normalize_by_data). */
      LamTrainerConfig edited = file->config;
      file->config = self->resume->config;
      file->config.epochs = edited.epochs;
      file->config.optimizer.lr = edited.optimizer.lr;
      file->config.report_every = 0;
    }
  } else if (lam_session_get_weights_spec (self->session) != NULL &&
             same_spec (lam_session_get_weights_spec (self->session), file->spec)) {
    gsize n = 0;
    const float *params = lam_session_get_weights (self->session, &n);
    float mean[3], std[3];
    lam_session_get_weights_normalization (self->session, mean, std);
    const LamDataset *train = lam_session_get_train_set (self->session);
    lam_project_file_set_weights (file, params, n, train ? train->channels : 1, mean, std);
  }
}

void
lam_train_page_load_project_file (LamTrainPage *self, const LamProjectFile *file)
{
  g_return_if_fail (LAM_IS_TRAIN_PAGE (self));
  g_return_if_fail (file != NULL);
  g_return_if_fail (self->state == LAM_TRAIN_STATE_IDLE);

  g_clear_pointer (&self->trainer, lam_trainer_free);
  g_clear_pointer (&self->backend, lam_backend_free);
  show_error (self, NULL);

  self->loading_settings = TRUE;
  const LamTrainerConfig *c = &file->config;
  *lam_session_get_config (self->session) = *c;
  if (file->normalize_by_data)
    lam_session_get_config (self->session)->normalize_from_data = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (optimizer_kinds); i++)
    if (optimizer_kinds[i] == c->optimizer.kind)
      gtk_drop_down_set_selected (self->optimizer_dropdown, i);
  /* After the optimizer: choosing one resets the rate to its usual value. */
  gtk_spin_button_set_value (self->lr_spin, c->optimizer.lr);
  gtk_spin_button_set_value (self->momentum_spin, c->optimizer.momentum);
  gtk_spin_button_set_value (self->epochs_spin, c->epochs);
  gtk_spin_button_set_value (self->batch_spin, c->batch_size);
  gtk_spin_button_set_value (self->val_spin, c->val_fraction);
  gtk_spin_button_set_value (self->seed_spin, (double) c->seed);
  gtk_spin_button_set_value (self->decay_spin, c->optimizer.weight_decay);
  gtk_drop_down_set_selected (self->schedule_dropdown,
                              c->schedule.kind == LAM_SCHEDULE_STEP     ? 1
                              : c->schedule.kind == LAM_SCHEDULE_COSINE ? 2
                                                                        : 0);
  if (c->schedule.step_size > 0)
    gtk_spin_button_set_value (self->step_size_spin, c->schedule.step_size);
  if (c->schedule.gamma > 0)
    gtk_spin_button_set_value (self->gamma_spin, c->schedule.gamma);
  gtk_spin_button_set_value (self->eta_min_spin, c->schedule.eta_min);
  const LamTrainerConfig *lesson = lam_session_get_config (self->session);
  gboolean no_normalisation =
    !lesson->normalize_from_data && lesson->mean[0] == 0 && lesson->std[0] == 1;
  gtk_drop_down_set_selected (self->norm_dropdown, lesson->normalize_from_data ? 0
                                                   : no_normalisation          ? 1
                                                                               : 2);
  if (!lesson->normalize_from_data && !no_normalisation) {
    gtk_spin_button_set_value (self->norm_mean_spin, lesson->mean[0]);
    gtk_spin_button_set_value (self->norm_std_spin, lesson->std[0]);
  }
  gtk_spin_button_set_value (self->crop_spin, c->crop_padding);
  gtk_check_button_set_active (self->hflip_check, c->hflip);
  for (guint i = 0; i < self->device_ids->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->device_ids, i), file->device) == 0)
      gtk_drop_down_set_selected (self->device_dropdown, i);
  self->loading_settings = FALSE;

  g_queue_clear_full (&self->runs, (GDestroyNotify) run_free);
  self->next_run_number = 0;
  for (guint i = 0; i < file->runs->len; i++) {
    const LamProjectRun *run = g_ptr_array_index (file->runs, i);
    g_queue_push_tail (&self->runs, lam_project_run_copy (run));
    self->next_run_number = MAX (self->next_run_number, run->number);
  }
  drop_oldest_runs (self);
  /* Runs saved before they had colours, or sharing one, get the first
   * free; the others keep theirs. */
  for (GList *l = self->runs.head; l != NULL; l = l->next) {
    Run *run = l->data;
    for (GList *k = self->runs.head; k != l && run->color >= 0; k = k->next)
      if (((Run *) k->data)->color == run->color)
        run->color = -1;
    if (run->color < 0 || run->color >= LAM_CHART_N_RUN_COLORS)
      choose_color (self, run);
  }

  clear_epoch_table (self);
  gtk_widget_set_visible (GTK_WIDGET (self->test_label), FALSE);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_label_set_text (self->progress_label, "");
  Run *run = current_run (self);
  if (run != NULL) {
    for (guint i = 0; i < run->epochs->len; i++)
      add_epoch_row (self, &g_array_index (run->epochs, LamRunEpoch, i));
    if (!isnan (run->test_accuracy)) {
      g_autofree char *text = g_strdup_printf ("Test accuracy %.1f%% (loss %.3f), as saved",
                                               run->test_accuracy * 100, run->test_loss);
      gtk_label_set_text (self->test_label, text);
      gtk_widget_set_visible (GTK_WIDGET (self->test_label), TRUE);
      g_free (self->test_label_dataset_dir);
      self->test_label_dataset_dir = g_strdup (file->dataset_dir);
    }
  }
  self->step = file->resumable ? file->step : 0;
  self->epochs_done = file->resumable ? file->epochs_done : 0;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STEP]);

  g_clear_pointer (&self->resume, lam_project_file_free);
  if (file->params != NULL) {
    self->resume = lam_project_file_new ();
    self->resume->spec = lam_model_spec_copy (file->spec);
    self->resume->config = file->config;
    lam_project_file_set_weights (self->resume, file->params, file->n_params, file->n_channels,
                                  file->mean, file->std);
    if (file->resumable)
      lam_project_file_set_resume (self->resume, file->epochs_done, file->batches_done,
                                   file->step, (const float *const *) file->optimizer_state,
                                   file->n_optimizer_state);
  }
  if (file->resumable) {
    g_autofree char *text = g_strdup_printf ("Saved after %d epoch%s (step %" G_GINT64_FORMAT
                                             "): Start continues it.", file->epochs_done,
                                             file->epochs_done == 1 ? "" : "s", file->step);
    gtk_label_set_text (self->progress_label, text);
  }
  gtk_check_button_set_active (self->continue_check, file->resumable);
  update_continue (self);
  refresh_runs (self);
  update_actions (self);
}

guint
lam_train_page_get_n_runs (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), 0);
  return g_queue_get_length (&self->runs);
}

const LamProjectRun *
lam_train_page_get_run (LamTrainPage *self, guint index)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return g_queue_peek_nth (&self->runs, index);
}

void
lam_train_page_set_run_visible (LamTrainPage *self, int number, gboolean visible)
{
  g_return_if_fail (LAM_IS_TRAIN_PAGE (self));
  Run *run = find_run (self, number, NULL);
  g_return_if_fail (run != NULL);
  if (run->hidden == !visible)
    return;
  run->hidden = !visible;
  rebuild_charts (self);
  /* The list's check follows when this came from elsewhere. */
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->runs_list)); row != NULL;
       row = gtk_widget_get_next_sibling (row)) {
    GtkWidget *box = gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (row));
    GtkWidget *check = gtk_widget_get_first_child (box);
    if (GPOINTER_TO_INT (g_object_get_data (G_OBJECT (check), "run-number")) == number)
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check), visible);
  }
  lam_session_set_modified (self->session, TRUE);
}

gboolean
lam_train_page_delete_run (LamTrainPage *self, int number)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), FALSE);
  GList *link = NULL;
  Run *run = find_run (self, number, &link);
  if (run == NULL)
    return FALSE;
  gboolean is_current = link->next == NULL;
  if (is_current && self->state != LAM_TRAIN_STATE_IDLE)
    return FALSE;
  g_queue_delete_link (&self->runs, link);
  run_free (run);
  if (is_current) {
    /* Nothing is left to continue; the table shows the run now newest. */
    g_clear_pointer (&self->resume, lam_project_file_free);
    update_continue (self);
    clear_epoch_table (self);
    gtk_widget_set_visible (GTK_WIDGET (self->test_label), FALSE);
    Run *now = current_run (self);
    for (guint i = 0; now != NULL && i < now->epochs->len; i++)
      add_epoch_row (self, &g_array_index (now->epochs, LamRunEpoch, i));
  }
  refresh_runs (self);
  lam_session_set_modified (self->session, TRUE);
  return TRUE;
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

const LamProjectRun *
lam_train_page_get_current_run (LamTrainPage *self)
{
  g_return_val_if_fail (LAM_IS_TRAIN_PAGE (self), NULL);
  return current_run (self);
}

static void
on_setting_edited (LamTrainPage *self)
{
  if (self->loading_settings)
    return;
  lam_session_set_modified (self->session, TRUE);
  /* The lesson's settings follow the page at once, so the Data page shows
   * the normalisation and augmentation they ask for. */
  read_settings (self, lam_session_get_config (self->session));
  update_actions (self);
  lam_session_settings_changed (self->session);
}

void
lam_train_page_start_or_pause (LamTrainPage *self)
{
  g_return_if_fail (LAM_IS_TRAIN_PAGE (self));
  switch (self->state) {
  case LAM_TRAIN_STATE_IDLE:
    start_run (self, FALSE);
    break;
  case LAM_TRAIN_STATE_RUNNING:
    lam_trainer_pause (self->trainer);
    break;
  case LAM_TRAIN_STATE_PAUSED:
    lam_trainer_resume (self->trainer);
    break;
  }
}

void
lam_train_page_step (LamTrainPage *self)
{
  g_return_if_fail (LAM_IS_TRAIN_PAGE (self));
  if (self->state == LAM_TRAIN_STATE_IDLE && !start_run (self, TRUE))
    return;
  /* The trainer decides, not the state shown here, which lags its events:
   * paused, one batch; running (or resumed a moment ago), a pause after the
   * batch in flight. */
  lam_trainer_step (self->trainer);
}

void
lam_train_page_stop (LamTrainPage *self)
{
  g_return_if_fail (LAM_IS_TRAIN_PAGE (self));
  if (self->trainer != NULL && self->state != LAM_TRAIN_STATE_IDLE)
    lam_trainer_stop (self->trainer);
}

void
lam_train_page_set_lr (LamTrainPage *self, double lr)
{
  gtk_spin_button_set_value (self->lr_spin, lr);
}

static void
on_lr_changed (LamTrainPage *self)
{
  if (self->trainer != NULL && self->state != LAM_TRAIN_STATE_IDLE)
    lam_trainer_set_lr (self->trainer, gtk_spin_button_get_value (self->lr_spin));
}

LamTrainState
lam_train_page_get_state (LamTrainPage *self)
{
  return self->state;
}

gint64
lam_train_page_get_step (LamTrainPage *self)
{
  return self->step;
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

float *
lam_train_page_dup_params (LamTrainPage *self, gsize *n_params)
{
  if (self->trainer == NULL)
    return NULL;
  return lam_trainer_dup_params (self->trainer, n_params);
}

void
lam_train_page_set_presentation (LamTrainPage *self, gboolean presentation)
{
  double width = presentation ? 3.5 : 1.5;
  lam_chart_set_line_width (self->loss_chart, width);
  lam_chart_set_line_width (self->accuracy_chart, width);
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

static gboolean
same_spec (const LamModelSpec *a, const LamModelSpec *b)
{
  g_autofree char *x = lam_model_spec_to_json (a);
  g_autofree char *y = lam_model_spec_to_json (b);
  return g_str_equal (x, y);
}

static void
on_project_changed (LamTrainPage *self)
{
  update_actions (self);
}

/* Weights of another model cannot continue once the stack is edited. */
/* A score measured on the dataset open before is not this dataset's:
 * the label says whose it is, or goes when that is unknown. */
static void
on_dataset_changed (LamTrainPage *self)
{
  if (!gtk_widget_get_visible (GTK_WIDGET (self->test_label)))
    return;
  if (self->test_label_dataset_dir == NULL) {
    gtk_widget_set_visible (GTK_WIDGET (self->test_label), FALSE);
    return;
  }
  if (g_strcmp0 (self->test_label_dataset_dir, lam_session_get_dataset_dir (self->session)) == 0)
    return;
  const char *text = gtk_label_get_text (self->test_label);
  if (strstr (text, " — measured before ") == NULL) {
    const char *name = lam_session_get_dataset_name (self->session);
    g_autofree char *marked = g_strdup_printf ("%s — measured before %s was opened", text,
                                               name != NULL ? name : "another dataset");
    gtk_label_set_text (self->test_label, marked);
  }
}

static void
on_spec_changed (LamTrainPage *self)
{
  if (self->resume != NULL && self->resume->spec != NULL &&
      !same_spec (self->resume->spec, lam_session_get_spec (self->session))) {
    g_clear_pointer (&self->resume, lam_project_file_free);
    update_continue (self);
  }
}

static void
action_start_pause (GtkWidget *widget, const char *name, GVariant *parameter)
{
  lam_train_page_start_or_pause (LAM_TRAIN_PAGE (widget));
}

static void
action_step (GtkWidget *widget, const char *name, GVariant *parameter)
{
  lam_train_page_step (LAM_TRAIN_PAGE (widget));
}

static void
action_stop (GtkWidget *widget, const char *name, GVariant *parameter)
{
  lam_train_page_stop (LAM_TRAIN_PAGE (widget));
}

static void
action_delete_run (GtkWidget *widget, const char *name, GVariant *parameter)
{
  lam_train_page_delete_run (LAM_TRAIN_PAGE (widget), g_variant_get_int32 (parameter));
}

static void
fill_devices (LamTrainPage *self)
{
  g_autoptr (GtkStringList) names = gtk_string_list_new (NULL);
  LamBackend *cpu = lam_backend_cpu_new ();
  g_autofree char *cpu_name = g_strdup_printf ("%s", cpu->device_name);
  lam_backend_free (cpu);
  gtk_string_list_append (names, cpu_name);
  g_ptr_array_add (self->device_ids, g_strdup ("cpu"));

  g_autoptr (GError) error = NULL;
  LamBackend *cuda = lam_device_open ("cuda", NULL, &error);
  if (cuda != NULL) {
    g_autofree char *name = g_strdup_printf ("GPU: %s", cuda->device_name);
    lam_backend_free (cuda);
    gtk_string_list_append (names, name);
    g_ptr_array_add (self->device_ids, g_strdup ("cuda"));
    gtk_drop_down_set_model (self->device_dropdown, G_LIST_MODEL (names));
    /* "GPU if available": the GPU is the default when it answers, unless the
     * preferences ask for the CPU. */
    g_autoptr (GSettings) settings = lam_ui_settings_new ();
    g_autofree char *preferred = settings ? g_settings_get_string (settings, "default-device")
                                          : g_strdup ("auto");
    gtk_drop_down_set_selected (self->device_dropdown, g_str_equal (preferred, "cpu") ? 0 : 1);
  } else {
    gtk_drop_down_set_model (self->device_dropdown, G_LIST_MODEL (names));
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->device_dropdown), error->message);
  }
}

static void
lam_train_page_constructed (GObject *object)
{
  LamTrainPage *self = LAM_TRAIN_PAGE (object);
  G_OBJECT_CLASS (lam_train_page_parent_class)->constructed (object);

  g_signal_connect_object (self->session, "notify::model-valid", G_CALLBACK (on_project_changed),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::has-dataset", G_CALLBACK (on_project_changed),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::loading", G_CALLBACK (on_project_changed),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "dataset-changed", G_CALLBACK (on_dataset_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "spec-changed", G_CALLBACK (on_spec_changed), self,
                           G_CONNECT_SWAPPED);

  LamTrainerConfig *config = lam_session_get_config (self->session);
  gtk_spin_button_set_value (self->epochs_spin, config->epochs);
  gtk_spin_button_set_value (self->batch_spin, config->batch_size);
  gtk_spin_button_set_value (self->val_spin, config->val_fraction);
  update_actions (self);
}

static void
lam_train_page_dispose (GObject *object)
{
  LamTrainPage *self = LAM_TRAIN_PAGE (object);
  /* Freeing the trainer stops and joins its thread first. */
  g_clear_pointer (&self->trainer, lam_trainer_free);
  g_clear_pointer (&self->backend, lam_backend_free);
  if (self->session != NULL && self->state != LAM_TRAIN_STATE_IDLE)
    lam_session_set_training (self->session, FALSE);
  g_queue_clear_full (&self->runs, (GDestroyNotify) run_free);
  g_clear_pointer (&self->resume, lam_project_file_free);
  g_clear_pointer (&self->test_label_dataset_dir, g_free);
  g_clear_pointer (&self->root, gtk_widget_unparent);
  g_clear_object (&self->session);
  g_clear_pointer (&self->device_ids, g_ptr_array_unref);
  for (guint i = 0; i < G_N_ELEMENTS (self->epoch_columns); i++)
    g_clear_object (&self->epoch_columns[i]);
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
  case PROP_STATE:
    g_value_set_int (value, self->state);
    break;
  case PROP_STEP:
    g_value_set_int64 (value, self->step);
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
  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL, LAM_TRAIN_STATE_IDLE, LAM_TRAIN_STATE_PAUSED,
                      LAM_TRAIN_STATE_IDLE,
                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STEP] =
    g_param_spec_int64 ("step", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (LAM_TYPE_CHART);
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
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, schedule_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, step_size_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, gamma_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, eta_min_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, norm_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, norm_mean_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, norm_std_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, crop_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, hflip_check);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, val_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, seed_spin);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, device_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, continue_check);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, start_button);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, hint_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, progress_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, test_label);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, epoch_header);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, epoch_scroller);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, epoch_grid);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, smoothing_scale);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, log_check);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, overlay_check);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, loss_chart);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, accuracy_chart);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, runs_button);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, runs_list);
  gtk_widget_class_bind_template_child (widget_class, LamTrainPage, runs_note);

  gtk_widget_class_install_action (widget_class, "train.start-pause", NULL, action_start_pause);
  gtk_widget_class_install_action (widget_class, "train.step", NULL, action_step);
  gtk_widget_class_install_action (widget_class, "train.stop", NULL, action_stop);
  gtk_widget_class_install_action (widget_class, "train.delete-run", "i", action_delete_run);
}

static void
lam_train_page_init (LamTrainPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->device_ids = g_ptr_array_new_with_free_func (g_free);
  g_queue_init (&self->runs);

  lam_chart_set_title (self->loss_chart, "Loss");
  lam_chart_set_axis_labels (self->loss_chart, "epoch", "loss");
  lam_chart_set_title (self->accuracy_chart, "Accuracy");
  lam_chart_set_axis_labels (self->accuracy_chart, "epoch", "accuracy");
  lam_chart_set_y_format (self->accuracy_chart, LAM_CHART_FORMAT_PERCENT);
  lam_chart_set_y_limits (self->accuracy_chart, 0, 1);

  fill_devices (self);
  make_epoch_header (self);
  clear_epoch_table (self);
  update_runs_list (self);
  on_optimizer_changed (self);
  on_smoothing_changed (self);

  g_signal_connect_swapped (self->optimizer_dropdown, "notify::selected",
                            G_CALLBACK (on_optimizer_changed), self);
  g_signal_connect_swapped (self->lr_spin, "value-changed", G_CALLBACK (on_lr_changed), self);
  GtkWidget *edited[] = { GTK_WIDGET (self->epochs_spin),    GTK_WIDGET (self->batch_spin),
                          GTK_WIDGET (self->lr_spin),        GTK_WIDGET (self->momentum_spin),
                          GTK_WIDGET (self->val_spin),       GTK_WIDGET (self->seed_spin),
                          GTK_WIDGET (self->decay_spin),     GTK_WIDGET (self->step_size_spin),
                          GTK_WIDGET (self->gamma_spin),     GTK_WIDGET (self->eta_min_spin),
                          GTK_WIDGET (self->norm_mean_spin), GTK_WIDGET (self->norm_std_spin),
                          GTK_WIDGET (self->crop_spin) };
  for (guint i = 0; i < G_N_ELEMENTS (edited); i++)
    g_signal_connect_swapped (edited[i], "value-changed", G_CALLBACK (on_setting_edited), self);
  g_signal_connect_swapped (self->schedule_dropdown, "notify::selected",
                            G_CALLBACK (on_setting_edited), self);
  g_signal_connect_swapped (self->norm_dropdown, "notify::selected",
                            G_CALLBACK (on_setting_edited), self);
  g_signal_connect_swapped (self->hflip_check, "toggled", G_CALLBACK (on_setting_edited), self);
  g_signal_connect_swapped (self->optimizer_dropdown, "notify::selected",
                            G_CALLBACK (on_setting_edited), self);
  g_signal_connect_swapped (self->device_dropdown, "notify::selected",
                            G_CALLBACK (on_setting_edited), self);
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
