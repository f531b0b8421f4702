#include "lam-lr-finder-dialog.h"

#include <glib/gi18n.h>
#include <math.h>

#include "lam-device.h"
#include "lam-help.h"
#include "lam-ui-util.h"

struct _LamLrFinderDialog
{
  GtkWindow parent_instance;

  LamSession *session;        /* owned */
  GCancellable *cancellable;  /* owned while the sweep runs */
  LamLrFindOptions options;
  LamLrFindResult *result;    /* owned: the newest copy of the sweep */
  char *error;                /* owned */
  gboolean running;
  gboolean destroy_when_done; /* closed while the worker finished its step */

  GtkDrawingArea *plot;
  GtkProgressBar *progress;
  GtkLabel *status_label;
  GtkWidget *use_button;
  GtkWidget *close_button;
};

G_DEFINE_FINAL_TYPE (LamLrFinderDialog, lam_lr_finder_dialog, GTK_TYPE_WINDOW)

/* What the worker reads: copies made on the main thread, so the session
 * may change its settings meanwhile. The training images are borrowed:
 * the window is modal over the session's. */
typedef struct
{
  LamModelSpec *spec;
  const LamDataset *train;
  LamTrainerConfig config;
  LamLrFindOptions options;
  GWeakRef dialog;
} Job;

static void
job_free (Job *job)
{
  lam_model_spec_free (job->spec);
  g_weak_ref_clear (&job->dialog);
  g_free (job);
}

static LamLrFindResult *
result_copy (const LamLrFindResult *src)
{
  LamLrFindResult *copy = g_memdup2 (src, sizeof *src);
  copy->lrs = g_memdup2 (src->lrs, sizeof (double) * src->n_planned);
  copy->losses = g_memdup2 (src->losses, sizeof (double) * src->n_planned);
  copy->smoothed = g_memdup2 (src->smoothed, sizeof (double) * src->n_planned);
  return copy;
}

static void
update_status (LamLrFinderDialog *self)
{
  const LamLrFindResult *r = self->result;
  double fraction = r != NULL ? (double) r->n_steps / MAX (r->n_planned, 1) : 0;
  gtk_progress_bar_set_fraction (self->progress, self->running ? fraction : 1);
  gtk_widget_set_visible (GTK_WIDGET (self->progress), self->running);
  gboolean usable = !self->running && r != NULL && isfinite (r->suggested_lr);
  gtk_widget_set_sensitive (self->use_button, usable);
  gtk_button_set_label (GTK_BUTTON (self->close_button), self->running ? _("_Stop") : _("_Close"));
  if (usable) {
    g_autofree char *button = g_strdup_printf (_("_Use %.3g"), r->suggested_lr);
    g_autofree char *tip =
      g_strdup_printf (_("Set the learning rate to %.3g and close"), r->suggested_lr);
    gtk_button_set_label (GTK_BUTTON (self->use_button), button);
    gtk_widget_set_tooltip_text (self->use_button, tip);
  } else {
    gtk_button_set_label (GTK_BUTTON (self->use_button), _("_Use"));
    gtk_widget_set_tooltip_text (self->use_button,
                                 self->running ? _("The suggested rate comes when the sweep ends")
                                               : _("No rate was suggested"));
  }

  g_autofree char *text = NULL;
  if (self->error != NULL) {
    text = g_strdup (self->error);
  } else if (self->running) {
    text = g_strdup_printf (_("Trying rate %d of %d on a copy of the model…"),
                            r != NULL ? r->n_steps : 0, self->options.n_steps);
  } else if (usable) {
    text = r->steepest && r->min_index > r->suggested_index
             ? g_strdup_printf (_("Suggested: %.3g, where the loss falls fastest. The loss was "
                                  "lowest at %.3g; past that the steps are too large."),
                                r->suggested_lr, r->min_lr)
           : r->steepest ? g_strdup_printf (_("Suggested: %.3g, where the loss falls fastest."),
                                            r->suggested_lr)
             : g_strdup_printf (_("The loss never fell steeply: suggested %.3g, a tenth of the "
                                  "rate where it was lowest."),
                                r->suggested_lr);
  } else {
    text = g_strdup (_("No step gave a finite loss: check the model and the data."));
  }
  gtk_label_set_text (self->status_label, text);
  gtk_widget_queue_draw (GTK_WIDGET (self->plot));
}

typedef struct
{
  GWeakRef dialog;
  LamLrFindResult *so_far;
} Progress;

static gboolean
deliver_progress (gpointer data)
{
  Progress *progress = data;
  g_autoptr (LamLrFinderDialog) self = g_weak_ref_get (&progress->dialog);
  if (self != NULL && self->running) {
    g_clear_pointer (&self->result, lam_lr_find_result_free);
    self->result = g_steal_pointer (&progress->so_far);
    update_status (self);
  }
  g_clear_pointer (&progress->so_far, lam_lr_find_result_free);
  g_weak_ref_clear (&progress->dialog);
  g_free (progress);
  return G_SOURCE_REMOVE;
}

static void
on_progress (const LamLrFindResult *so_far, gpointer user_data)
{
  Job *job = user_data;
  Progress *progress = g_new0 (Progress, 1);
  g_weak_ref_init (&progress->dialog, NULL);
  g_autoptr (GObject) dialog = g_weak_ref_get (&job->dialog);
  g_weak_ref_set (&progress->dialog, dialog);
  progress->so_far = result_copy (so_far);
  g_idle_add (deliver_progress, progress);
}

static void
sweep_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Job *job = task_data;
  g_autoptr (GError) error = NULL;
  LamBackend *backend = lam_backend_cpu_new ();
  LamLrFindResult *result = lam_lr_find (job->spec, NULL, 0, job->train, backend, &job->config,
                                         &job->options, on_progress, job, cancellable, &error);
  lam_backend_free (backend);
  if (result == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, result, (GDestroyNotify) lam_lr_find_result_free);
}

static void
sweep_done (GObject *source, GAsyncResult *async_result, gpointer user_data)
{
  LamLrFinderDialog *self = LAM_LR_FINDER_DIALOG (source);
  g_autoptr (GError) error = NULL;
  LamLrFindResult *result = g_task_propagate_pointer (G_TASK (async_result), &error);
  self->running = FALSE;
  g_clear_object (&self->cancellable);
  if (self->destroy_when_done) {
    g_clear_pointer (&result, lam_lr_find_result_free);
    gtk_window_destroy (GTK_WINDOW (self));
    return;
  }
  if (result != NULL) {
    g_clear_pointer (&self->result, lam_lr_find_result_free);
    self->result = result;
    update_status (self);
    return;
  }
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    self->error = g_strdup_printf (_("The sweep failed: %s"), error->message);
  else if (self->result != NULL)
    self->error = g_strdup_printf (_("Stopped after %d of %d rates: part of a sweep suggests "
                                      "no rate. Open the finder again and let it run to the end "
                                      "for one."),
                                   self->result->n_steps, self->result->n_planned);
  else
    self->error = g_strdup (_("Stopped before the first rate was tried."));
  /* The curve so far stays drawn, but what it suggested was only the
   * best of the rates tried yet: Use was left enabled, saying no rate,
   * and set one the sweep never settled on. */
  if (self->result != NULL) {
    self->result->suggested_lr = NAN;
    self->result->suggested_index = -1;
    self->result->steepest = FALSE;
  }
  update_status (self);
}

static void
start_sweep (LamLrFinderDialog *self)
{
  const LamDataset *train = lam_session_get_train_set (self->session);
  if (train == NULL || !lam_session_get_model_valid (self->session)) {
    self->error = g_strdup (_("Open a dataset and build a model that fits it first."));
    update_status (self);
    return;
  }
  Job *job = g_new0 (Job, 1);
  job->spec = lam_model_spec_copy (lam_session_get_spec (self->session));
  job->train = train;
  job->config = *lam_session_get_config (self->session);
  /* The statistics the session measured when the data loaded, as a run
   * starting now would use them. */
  if (job->config.normalize_from_data) {
    job->config.normalize_from_data = FALSE;
    lam_session_get_dataset_stats (self->session, job->config.mean, job->config.std);
  }
  job->options = self->options;
  g_weak_ref_init (&job->dialog, self);

  self->running = TRUE;
  self->cancellable = g_cancellable_new ();
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, sweep_done, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_set_name (task, "[lamina] lr-find");
  lam_ui_run_in_thread (task, sweep_thread);
  update_status (self);
}

/* The plot: the loss against the rate on a log axis, the raw losses as
 * dots, the smoothed curve as a line, the suggestion marked. */

static void
draw_plot (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  LamLrFinderDialog *self = data;
  GdkRGBA fg;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (area)), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
  const double left = 56, right = 16, top = 12, bottom = 40;
  double pw = width - left - right, ph = height - top - bottom;
  if (pw < 20 || ph < 20)
    return;
  double x0 = log10 (self->options.start_lr), x1 = log10 (self->options.end_lr);
  const LamLrFindResult *r = self->result;

  /* The loss range: from the least to a little above the first losses,
   * so that the explosion at the end does not flatten the rest. */
  double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE;
  for (int i = 0; r != NULL && i < r->n_steps; i++) {
    if (!isfinite (r->smoothed[i]))
      continue;
    lo = MIN (lo, MIN (r->smoothed[i], r->losses[i]));
    if (i < MAX (r->n_steps / 5, 1) || r->smoothed[i] < 2 * r->smoothed[0])
      hi = MAX (hi, r->smoothed[i]);
  }
  if (!(hi > lo)) {
    lo = 0;
    hi = 1;
  }
  hi += 0.1 * (hi - lo);
#define PX(lr) (left + (log10 (lr) - x0) / (x1 - x0) * pw)
#define PY(loss) (top + (1 - (CLAMP (loss, lo, hi) - lo) / (hi - lo)) * ph)

  cairo_set_line_width (cr, 1);
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.15);
  for (int e = (int) ceil (x0); e <= (int) floor (x1); e++) {
    double x = left + (e - x0) / (x1 - x0) * pw;
    cairo_move_to (cr, x, top);
    cairo_line_to (cr, x, top + ph);
  }
  cairo_stroke (cr);
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.6);
  cairo_rectangle (cr, left, top, pw, ph);
  cairo_stroke (cr);

  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (area), NULL);
  for (int e = (int) ceil (x0); e <= (int) floor (x1); e++) {
    g_autofree char *tick = e >= 0 ? g_strdup_printf ("%g", pow (10, e)) : g_strdup_printf ("1e%d", e);
    pango_layout_set_text (layout, tick, -1);
    int tw, th;
    pango_layout_get_pixel_size (layout, &tw, &th);
    cairo_move_to (cr, left + (e - x0) / (x1 - x0) * pw - tw / 2.0, top + ph + 4);
    pango_cairo_show_layout (cr, layout);
  }
  pango_layout_set_text (layout, _("learning rate (log scale)"), -1);
  int tw, th;
  pango_layout_get_pixel_size (layout, &tw, &th);
  cairo_move_to (cr, left + (pw - tw) / 2, height - th);
  pango_cairo_show_layout (cr, layout);
  for (int k = 0; k <= 2; k++) {
    double loss = lo + (hi - lo) * k / 2;
    g_autofree char *tick = g_strdup_printf ("%.3g", loss);
    pango_layout_set_text (layout, tick, -1);
    pango_layout_get_pixel_size (layout, &tw, &th);
    cairo_move_to (cr, left - tw - 6, PY (loss) - th / 2.0);
    pango_cairo_show_layout (cr, layout);
  }
  pango_layout_set_text (layout, _("loss"), -1);
  pango_layout_get_pixel_size (layout, &tw, &th);
  cairo_save (cr);
  cairo_move_to (cr, 2, top + (ph + tw) / 2);
  cairo_rotate (cr, -G_PI / 2);
  pango_cairo_show_layout (cr, layout);
  cairo_restore (cr);
  g_object_unref (layout);

  if (r == NULL || r->n_steps == 0)
    return;
  cairo_save (cr);
  cairo_rectangle (cr, left, top, pw, ph);
  cairo_clip (cr);
  cairo_set_source_rgba (cr, 0.21, 0.52, 0.89, 0.35);
  for (int i = 0; i < r->n_steps; i++)
    if (isfinite (r->losses[i])) {
      cairo_arc (cr, PX (r->lrs[i]), PY (r->losses[i]), 2, 0, 2 * G_PI);
      cairo_fill (cr);
    }
  cairo_set_source_rgb (cr, 0.21, 0.52, 0.89);
  cairo_set_line_width (cr, 2);
  gboolean pen = FALSE;
  for (int i = 0; i < r->n_steps; i++) {
    if (!isfinite (r->smoothed[i])) {
      pen = FALSE;
      continue;
    }
    if (pen)
      cairo_line_to (cr, PX (r->lrs[i]), PY (r->smoothed[i]));
    else
      cairo_move_to (cr, PX (r->lrs[i]), PY (r->smoothed[i]));
    pen = TRUE;
  }
  cairo_stroke (cr);
  if (!self->running && isfinite (r->suggested_lr) && r->suggested_index >= 0) {
    double x = PX (r->suggested_lr), y = PY (r->smoothed[r->suggested_index]);
    cairo_set_source_rgb (cr, 0.15, 0.64, 0.41);
    cairo_set_line_width (cr, 1.5);
    double dashes[] = { 4, 3 };
    cairo_set_dash (cr, dashes, 2, 0);
    cairo_move_to (cr, x, top);
    cairo_line_to (cr, x, top + ph);
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);
    cairo_arc (cr, x, y, 5, 0, 2 * G_PI);
    cairo_fill (cr);
  }
  cairo_restore (cr);
#undef PX
#undef PY
}

/* Public */

gboolean
lam_lr_finder_dialog_get_running (LamLrFinderDialog *self)
{
  g_return_val_if_fail (LAM_IS_LR_FINDER_DIALOG (self), FALSE);
  return self->running;
}

const LamLrFindResult *
lam_lr_finder_dialog_get_result (LamLrFinderDialog *self)
{
  g_return_val_if_fail (LAM_IS_LR_FINDER_DIALOG (self), NULL);
  return self->result;
}

const char *
lam_lr_finder_dialog_get_error (LamLrFinderDialog *self)
{
  g_return_val_if_fail (LAM_IS_LR_FINDER_DIALOG (self), NULL);
  return self->error;
}

gboolean
lam_lr_finder_dialog_use (LamLrFinderDialog *self)
{
  g_return_val_if_fail (LAM_IS_LR_FINDER_DIALOG (self), FALSE);
  if (self->running || self->result == NULL || !isfinite (self->result->suggested_lr))
    return FALSE;
  g_object_set (self->session, "lr", self->result->suggested_lr, NULL);
  gtk_window_destroy (GTK_WINDOW (self));
  return TRUE;
}

static void
on_close_clicked (LamLrFinderDialog *self)
{
  if (self->running)
    g_cancellable_cancel (self->cancellable);
  else
    gtk_window_destroy (GTK_WINDOW (self));
}

static gboolean
on_escape (GtkWidget *widget, GVariant *args, gpointer user_data)
{
  on_close_clicked (LAM_LR_FINDER_DIALOG (widget));
  return TRUE;
}

/* The worker reads the session's training images until its step ends:
 * the window goes away at once but is destroyed, letting go of the
 * session, only when the worker has stopped. */
static gboolean
on_close_request (GtkWindow *window)
{
  LamLrFinderDialog *self = LAM_LR_FINDER_DIALOG (window);
  if (!self->running)
    return FALSE;
  g_cancellable_cancel (self->cancellable);
  self->destroy_when_done = TRUE;
  gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
  return TRUE;
}

static void
lam_lr_finder_dialog_dispose (GObject *object)
{
  LamLrFinderDialog *self = LAM_LR_FINDER_DIALOG (object);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (lam_lr_finder_dialog_parent_class)->dispose (object);
}

static void
lam_lr_finder_dialog_finalize (GObject *object)
{
  LamLrFinderDialog *self = LAM_LR_FINDER_DIALOG (object);
  g_clear_pointer (&self->result, lam_lr_find_result_free);
  g_free (self->error);
  /* Held to the end: the task holds this window until its worker, which
   * reads the session's training images, has returned. */
  g_clear_object (&self->session);
  G_OBJECT_CLASS (lam_lr_finder_dialog_parent_class)->finalize (object);
}

static void
lam_lr_finder_dialog_class_init (LamLrFinderDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = lam_lr_finder_dialog_dispose;
  object_class->finalize = lam_lr_finder_dialog_finalize;
  GTK_WINDOW_CLASS (klass)->close_request = on_close_request;
}

static void
lam_lr_finder_dialog_init (LamLrFinderDialog *self)
{
  lam_lr_find_options_init (&self->options);
  gtk_window_set_title (GTK_WINDOW (self), _("Find a Learning Rate"));
  gtk_window_set_default_size (GTK_WINDOW (self), 640, 480);

  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 10);
  gtk_widget_set_margin_start (box, 16);
  gtk_widget_set_margin_end (box, 16);
  gtk_widget_set_margin_top (box, 14);
  gtk_widget_set_margin_bottom (box, 14);
  gtk_window_set_child (GTK_WINDOW (self), box);

  GtkWidget *intro_row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *intro = gtk_label_new (
    _("A copy of the model takes one batch at each of a hundred rates, from tiny to large; "
      "the model itself is not touched."));
  gtk_label_set_wrap (GTK_LABEL (intro), TRUE);
  gtk_label_set_xalign (GTK_LABEL (intro), 0);
  gtk_widget_set_hexpand (intro, TRUE);
  gtk_box_append (GTK_BOX (intro_row), intro);
  GtkWidget *help = lam_help_button_new ("lr-finder");
  gtk_widget_set_valign (help, GTK_ALIGN_START);
  gtk_box_append (GTK_BOX (intro_row), help);
  gtk_box_append (GTK_BOX (box), intro_row);

  self->plot = GTK_DRAWING_AREA (gtk_drawing_area_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->plot), TRUE);
  gtk_widget_set_size_request (GTK_WIDGET (self->plot), 360, 220);
  gtk_drawing_area_set_draw_func (self->plot, draw_plot, self, NULL);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->plot));

  self->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->progress));
  self->status_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->status_label, TRUE);
  gtk_label_set_xalign (self->status_label, 0);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->status_label));

  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  self->close_button = gtk_button_new_with_mnemonic (_("_Stop"));
  self->use_button = gtk_button_new_with_mnemonic (_("_Use"));
  gtk_widget_add_css_class (self->use_button, "suggested-action");
  gtk_box_append (GTK_BOX (buttons), self->close_button);
  gtk_box_append (GTK_BOX (buttons), self->use_button);
  gtk_box_append (GTK_BOX (box), buttons);
  g_signal_connect_swapped (self->close_button, "clicked", G_CALLBACK (on_close_clicked), self);
  g_signal_connect_swapped (self->use_button, "clicked", G_CALLBACK (lam_lr_finder_dialog_use),
                            self);
  GtkEventController *keys = gtk_shortcut_controller_new ();
  gtk_shortcut_controller_add_shortcut (
    GTK_SHORTCUT_CONTROLLER (keys),
    gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_Escape, 0),
                      gtk_callback_action_new (on_escape, NULL, NULL)));
  gtk_widget_add_controller (GTK_WIDGET (self), keys);
}

LamLrFinderDialog *
lam_lr_finder_dialog_new (GtkWindow *parent, LamSession *session)
{
  g_return_val_if_fail (LAM_IS_SESSION (session), NULL);
  LamLrFinderDialog *self = g_object_new (LAM_TYPE_LR_FINDER_DIALOG, NULL);
  self->session = g_object_ref (session);
  if (parent != NULL) {
    gtk_window_set_transient_for (GTK_WINDOW (self), parent);
    gtk_window_set_modal (GTK_WINDOW (self), TRUE);
  }
  start_sweep (self);
  return self;
}
