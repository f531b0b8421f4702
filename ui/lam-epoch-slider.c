#include "lam-epoch-slider.h"

#include <glib/gi18n.h>
#include <math.h>

#include "lam-evaluation.h"
#include "lam-help.h"

typedef struct
{
  int epoch;
  gboolean became_right;
} Flip;

struct _LamEpochSlider
{
  GtkWidget parent_instance;

  LamSession *session;       /* owned */
  LamEvaluation *evaluation; /* owned */
  GtkWidget *box;
  GtkScale *scale;
  GtkLabel *value_label;
  GtkWidget *newest_button;
  GtkLabel *note_label;
  char *text;                /* owned: the value label's text */

  int image;                 /* -1: none */
  int image_label;
  GArray *flips;             /* of Flip */
  gboolean syncing;          /* the scale follows the session: no view change */
};

G_DEFINE_FINAL_TYPE (LamEpochSlider, lam_epoch_slider, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static int
newest_epoch (LamEpochSlider *self)
{
  guint n = lam_session_get_n_snapshots (self->session);
  return n > 0 ? lam_session_get_snapshot_epoch (self->session, n - 1) : 0;
}

static void
update_label (LamEpochSlider *self)
{
  int view = lam_session_get_view_epoch (self->session);
  int newest = newest_epoch (self);
  g_free (self->text);
  self->text = view == 0 ? g_strdup_printf (_("Epoch %d, the newest"), newest)
                         : g_strdup_printf (_("Epoch %d of %d"), view, newest);
  gtk_label_set_text (self->value_label, self->text);
  gtk_widget_set_sensitive (self->newest_button, view != 0);
}

static void
sync_value (LamEpochSlider *self)
{
  int view = lam_session_get_view_epoch (self->session);
  self->syncing = TRUE;
  gtk_range_set_value (GTK_RANGE (self->scale), view != 0 ? view : newest_epoch (self));
  self->syncing = FALSE;
  update_label (self);
}

/* Where the image went from wrong to right or back, by the evaluation's
 * record of each epoch. */
static void
compute_flips (LamEpochSlider *self)
{
  g_array_set_size (self->flips, 0);
  if (self->image < 0)
    return;
  int n_images = lam_evaluation_get_history_n_images (self->evaluation);
  if (self->image >= n_images)
    return;
  gboolean have_previous = FALSE, previous = FALSE;
  for (guint k = 0; k < lam_evaluation_get_n_history (self->evaluation); k++) {
    int epoch = 0;
    const gint32 *classes = lam_evaluation_get_history (self->evaluation, k, &epoch);
    gboolean right = classes[self->image] == self->image_label;
    if (have_previous && right != previous && epoch > 0) {
      Flip flip = { epoch, right };
      g_array_append_val (self->flips, flip);
    }
    have_previous = TRUE;
    previous = right;
  }
}

static void
update_marks (LamEpochSlider *self)
{
  GtkScale *scale = self->scale;
  gtk_scale_clear_marks (scale);
  guint n = lam_session_get_n_snapshots (self->session);
  /* A tick per kept epoch shows where the slider can stop, unless they
   * would crowd into a bar. */
  if (n <= 60)
    for (guint i = 0; i < n; i++)
      gtk_scale_add_mark (scale, lam_session_get_snapshot_epoch (self->session, i),
                          GTK_POS_BOTTOM, NULL);
  compute_flips (self);
  for (guint k = 0; k < self->flips->len; k++) {
    const Flip *flip = &g_array_index (self->flips, Flip, k);
    g_autofree char *markup =
      g_markup_printf_escaped ("<span size=\"small\">%s %d</span>",
                               flip->became_right ? "✓" : "✗", flip->epoch);
    gtk_scale_add_mark (scale, flip->epoch, GTK_POS_TOP, markup);
  }
}

static void
on_snapshots_changed (LamEpochSlider *self)
{
  guint n = lam_session_get_n_snapshots (self->session);
  gtk_widget_set_visible (self->box, n >= 2);
  if (n >= 2) {
    int first = lam_session_get_snapshot_epoch (self->session, 0);
    self->syncing = TRUE;
    gtk_range_set_range (GTK_RANGE (self->scale), first, newest_epoch (self));
    self->syncing = FALSE;
  }
  gtk_widget_set_visible (GTK_WIDGET (self->note_label),
                          lam_session_get_snapshots_thinned (self->session));
  update_marks (self);
  sync_value (self);
}

/* The kept epoch the slider lands on: the nearest one in the direction it
 * moved, so arrow keys step from kept epoch to kept epoch even where every
 * other one was dropped. */
static int
snap (LamEpochSlider *self, double value)
{
  guint n = lam_session_get_n_snapshots (self->session);
  int view = lam_session_get_view_epoch (self->session);
  int current = view != 0 ? view : newest_epoch (self);
  int best = current;
  double best_distance = G_MAXDOUBLE;
  for (guint i = 0; i < n; i++) {
    int epoch = lam_session_get_snapshot_epoch (self->session, i);
    if ((value > current && epoch <= current) || (value < current && epoch >= current))
      continue;
    double distance = fabs (epoch - value);
    if (distance < best_distance) {
      best_distance = distance;
      best = epoch;
    }
  }
  return best;
}

static void
on_value_changed (LamEpochSlider *self)
{
  if (self->syncing)
    return;
  int epoch = snap (self, gtk_range_get_value (GTK_RANGE (self->scale)));
  lam_session_set_view_epoch (self->session, epoch);
  /* Snapped, or the same epoch again: the scale shows where it stands. */
  sync_value (self);
}

static void
on_newest_clicked (LamEpochSlider *self)
{
  lam_session_set_view_epoch (self->session, 0);
}

void
lam_epoch_slider_set_image (LamEpochSlider *self, int index, int label)
{
  g_return_if_fail (LAM_IS_EPOCH_SLIDER (self));
  if (self->image == index && self->image_label == label)
    return;
  self->image = index;
  self->image_label = label;
  update_marks (self);
}

guint
lam_epoch_slider_get_n_flips (LamEpochSlider *self)
{
  g_return_val_if_fail (LAM_IS_EPOCH_SLIDER (self), 0);
  return self->flips->len;
}

int
lam_epoch_slider_get_flip (LamEpochSlider *self, guint k, gboolean *became_right)
{
  g_return_val_if_fail (LAM_IS_EPOCH_SLIDER (self), 0);
  g_return_val_if_fail (k < self->flips->len, 0);
  const Flip *flip = &g_array_index (self->flips, Flip, k);
  if (became_right != NULL)
    *became_right = flip->became_right;
  return flip->epoch;
}

GtkRange *
lam_epoch_slider_get_range (LamEpochSlider *self)
{
  g_return_val_if_fail (LAM_IS_EPOCH_SLIDER (self), NULL);
  return GTK_RANGE (self->scale);
}

const char *
lam_epoch_slider_get_text (LamEpochSlider *self)
{
  g_return_val_if_fail (LAM_IS_EPOCH_SLIDER (self), NULL);
  return self->text;
}

/* Object */

static void
lam_epoch_slider_constructed (GObject *object)
{
  LamEpochSlider *self = LAM_EPOCH_SLIDER (object);
  G_OBJECT_CLASS (lam_epoch_slider_parent_class)->constructed (object);
  if (self->session == NULL)
    self->session = lam_session_new ();
  self->evaluation = g_object_ref (lam_session_get_evaluation (self->session));

  self->box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));
  GtkWidget *title = gtk_label_new_with_mnemonic (_("_Epoch"));
  gtk_widget_add_css_class (title, "heading");
  gtk_widget_set_valign (title, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (self->box), title);
  self->scale = GTK_SCALE (gtk_scale_new (GTK_ORIENTATION_HORIZONTAL, NULL));
  gtk_scale_set_draw_value (self->scale, FALSE);
  gtk_range_set_increments (GTK_RANGE (self->scale), 1, 1);
  gtk_widget_set_hexpand (GTK_WIDGET (self->scale), TRUE);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->scale),
                               _("Go back to the weights after an earlier epoch: every view "
                                 "below shows that epoch. ✓ and ✗ mark where the selected image "
                                 "became right or wrong."));
  gtk_label_set_mnemonic_widget (GTK_LABEL (title), GTK_WIDGET (self->scale));
  gtk_box_append (GTK_BOX (self->box), GTK_WIDGET (self->scale));
  self->value_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_width_chars (self->value_label, 16);
  gtk_label_set_xalign (self->value_label, 0);
  gtk_widget_add_css_class (GTK_WIDGET (self->value_label), "numeric");
  gtk_box_append (GTK_BOX (self->box), GTK_WIDGET (self->value_label));
  self->newest_button = gtk_button_new_with_mnemonic (_("_Newest"));
  gtk_widget_set_tooltip_text (self->newest_button, _("Back to the newest weights"));
  gtk_widget_set_valign (self->newest_button, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (self->box), self->newest_button);
  self->note_label = GTK_LABEL (gtk_label_new (_("Some early epochs were not kept, to save "
                                                 "memory")));
  gtk_widget_add_css_class (GTK_WIDGET (self->note_label), "dim-label");
  gtk_label_set_wrap (self->note_label, TRUE);
  gtk_label_set_max_width_chars (self->note_label, 24);
  gtk_box_append (GTK_BOX (self->box), GTK_WIDGET (self->note_label));
  GtkWidget *help = lam_help_button_new ("time-machine");
  gtk_widget_set_valign (help, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (self->box), help);

  g_signal_connect_swapped (self->scale, "value-changed", G_CALLBACK (on_value_changed), self);
  g_signal_connect_swapped (self->newest_button, "clicked", G_CALLBACK (on_newest_clicked), self);
  g_signal_connect_object (self->session, "snapshots-changed", G_CALLBACK (on_snapshots_changed),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::view-epoch", G_CALLBACK (sync_value), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->evaluation, "updated", G_CALLBACK (update_marks), self,
                           G_CONNECT_SWAPPED);
  on_snapshots_changed (self);
}

static void
lam_epoch_slider_dispose (GObject *object)
{
  LamEpochSlider *self = LAM_EPOCH_SLIDER (object);
  g_clear_pointer (&self->box, gtk_widget_unparent);
  g_clear_object (&self->evaluation);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (lam_epoch_slider_parent_class)->dispose (object);
}

static void
lam_epoch_slider_finalize (GObject *object)
{
  LamEpochSlider *self = LAM_EPOCH_SLIDER (object);
  g_array_unref (self->flips);
  g_free (self->text);
  G_OBJECT_CLASS (lam_epoch_slider_parent_class)->finalize (object);
}

static void
lam_epoch_slider_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamEpochSlider *self = LAM_EPOCH_SLIDER (object);
  switch (prop_id) {
  case PROP_SESSION:
    g_value_set_object (value, self->session);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_epoch_slider_set_property (GObject *object, guint prop_id, const GValue *value,
                               GParamSpec *pspec)
{
  LamEpochSlider *self = LAM_EPOCH_SLIDER (object);
  switch (prop_id) {
  case PROP_SESSION:
    self->session = g_value_dup_object (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_epoch_slider_class_init (LamEpochSliderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->constructed = lam_epoch_slider_constructed;
  object_class->dispose = lam_epoch_slider_dispose;
  object_class->finalize = lam_epoch_slider_finalize;
  object_class->get_property = lam_epoch_slider_get_property;
  object_class->set_property = lam_epoch_slider_set_property;
  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, LAM_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "epochslider");
}

static void
lam_epoch_slider_init (LamEpochSlider *self)
{
  self->image = -1;
  self->flips = g_array_new (FALSE, FALSE, sizeof (Flip));
}

GtkWidget *
lam_epoch_slider_new (LamSession *session)
{
  return g_object_new (LAM_TYPE_EPOCH_SLIDER, "session", session, NULL);
}
