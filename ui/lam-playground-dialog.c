#include "lam-playground-dialog.h"

#include <glib/gi18n.h>

#include "lam-boundary-view.h"
#include "lam-help.h"

struct _LamPlaygroundDialog
{
  GtkWindow parent_instance;
  GtkDropDown *kind_dropdown;
  GtkSpinButton *points_spin;
  GtkSpinButton *noise_spin;
  GtkSpinButton *classes_spin;
  GtkWidget *classes_label;
  GtkSpinButton *seed_spin;
  LamBoundaryView *preview;
  GtkLabel *summary;
};

G_DEFINE_FINAL_TYPE (LamPlaygroundDialog, lam_playground_dialog, GTK_TYPE_WINDOW)

enum
{
  CHOSEN,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

void
lam_playground_dialog_get_params (LamPlaygroundDialog *self, LamPlaygroundParams *params)
{
  g_return_if_fail (LAM_IS_PLAYGROUND_DIALOG (self));
  lam_playground_params_init (params, gtk_drop_down_get_selected (self->kind_dropdown));
  params->n_points = gtk_spin_button_get_value_as_int (self->points_spin);
  params->noise = gtk_spin_button_get_value (self->noise_spin);
  params->n_classes = gtk_spin_button_get_value_as_int (self->classes_spin);
  params->seed = (guint64) gtk_spin_button_get_value (self->seed_spin);
}

/* The points as they will be, drawn at once: small sets generate in well
 * under a millisecond. */
static void
update_preview (LamPlaygroundDialog *self)
{
  LamPlaygroundParams params;
  lam_playground_dialog_get_params (self, &params);
  gboolean blobs = params.kind == LAM_PLAYGROUND_BLOBS;
  gtk_widget_set_visible (self->classes_label, blobs);
  gtk_widget_set_visible (GTK_WIDGET (self->classes_spin), blobs);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamPlaygroundSet) set = lam_playground_generate (&params, &error);
  if (set == NULL) {
    gtk_label_set_text (self->summary, error->message);
    return;
  }
  lam_boundary_view_set_points (self->preview, set->n, set->xy, set->labels, set->n_classes,
                                set->values, LAM_PLAYGROUND_EXTENT);
  g_autofree char *text =
    set->regression
      ? g_strdup_printf (_("%s: %d points, a value each to predict (regression)"), set->name,
                         set->n)
      : g_strdup_printf (_("%s: %d points in %d classes; a fifth more are kept apart to test"),
                         set->name, set->n, set->n_classes);
  gtk_label_set_text (self->summary, text);
}

void
lam_playground_dialog_set_params (LamPlaygroundDialog *self, const LamPlaygroundParams *params)
{
  g_return_if_fail (LAM_IS_PLAYGROUND_DIALOG (self));
  gtk_drop_down_set_selected (self->kind_dropdown, params->kind);
  gtk_spin_button_set_value (self->points_spin, params->n_points);
  gtk_spin_button_set_value (self->noise_spin, params->noise);
  gtk_spin_button_set_value (self->classes_spin, params->n_classes);
  gtk_spin_button_set_value (self->seed_spin, (double) params->seed);
  update_preview (self);
}

void
lam_playground_dialog_use (LamPlaygroundDialog *self)
{
  g_return_if_fail (LAM_IS_PLAYGROUND_DIALOG (self));
  LamPlaygroundParams params;
  lam_playground_dialog_get_params (self, &params);
  g_autofree char *uri = lam_playground_params_to_uri (&params);
  g_signal_emit (self, signals[CHOSEN], 0, uri);
  gtk_window_close (GTK_WINDOW (self));
}

static GtkWidget *
field_label (const char *text, GtkWidget *field)
{
  GtkWidget *label = gtk_label_new_with_mnemonic (text);
  gtk_label_set_xalign (GTK_LABEL (label), 1);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), field);
  return label;
}

static GtkSpinButton *
spin (double low, double high, double step, int digits, double value)
{
  GtkWidget *button = gtk_spin_button_new_with_range (low, high, step);
  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (button), digits);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (button), value);
  return GTK_SPIN_BUTTON (button);
}

static void
lam_playground_dialog_class_init (LamPlaygroundDialogClass *klass)
{
  g_type_ensure (LAM_TYPE_BOUNDARY_VIEW);
  /* The chosen set's name, a playground: URI. */
  signals[CHOSEN] = g_signal_new ("chosen", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                  NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
lam_playground_dialog_init (LamPlaygroundDialog *self)
{
  gtk_window_set_title (GTK_WINDOW (self), _("2-D Playground"));
  gtk_window_set_modal (GTK_WINDOW (self), TRUE);
  gtk_window_set_default_size (GTK_WINDOW (self), 720, 460);

  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 18);
  gtk_widget_set_margin_start (box, 18);
  gtk_widget_set_margin_end (box, 18);
  gtk_widget_set_margin_top (box, 18);
  gtk_widget_set_margin_bottom (box, 18);

  GtkWidget *side = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *intro = gtk_label_new (_("Points on a plane, two numbers each, in classes to tell "
                                      "apart (or with a value to predict). Small networks learn "
                                      "them in seconds, and the Train page draws what they "
                                      "learned."));
  gtk_label_set_wrap (GTK_LABEL (intro), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (intro), 36);
  gtk_label_set_xalign (GTK_LABEL (intro), 0);
  gtk_widget_add_css_class (intro, "dim-label");
  gtk_box_append (GTK_BOX (side), intro);

  GtkWidget *grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 8);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  g_autoptr (GtkStringList) kinds = gtk_string_list_new (NULL);
  for (int k = 0; k < LAM_PLAYGROUND_N_KINDS; k++)
    gtk_string_list_append (kinds, _(lam_playground_kind_get_label (k)));
  self->kind_dropdown = GTK_DROP_DOWN (gtk_drop_down_new (G_LIST_MODEL (g_object_ref (kinds)),
                                                          NULL));
  self->points_spin = spin (LAM_PLAYGROUND_MIN_POINTS, LAM_PLAYGROUND_MAX_POINTS, 10, 0, 400);
  self->noise_spin = spin (0, 1, 0.05, 2, 0.1);
  self->classes_spin = spin (LAM_PLAYGROUND_MIN_BLOBS, LAM_PLAYGROUND_MAX_BLOBS, 1, 0, 4);
  self->seed_spin = spin (0, 2147483647, 1, 0, 1);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->noise_spin),
                               _("How far the points stray from their shape: 0 none"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->seed_spin),
                               _("Another seed, other points of the same shape"));
  self->classes_label = field_label (_("C_lasses"), GTK_WIDGET (self->classes_spin));
  GtkWidget *fields[][2] = {
    { field_label (_("_Shape"), GTK_WIDGET (self->kind_dropdown)),
      GTK_WIDGET (self->kind_dropdown) },
    { field_label (_("_Points"), GTK_WIDGET (self->points_spin)),
      GTK_WIDGET (self->points_spin) },
    { field_label (_("_Noise"), GTK_WIDGET (self->noise_spin)), GTK_WIDGET (self->noise_spin) },
    { self->classes_label, GTK_WIDGET (self->classes_spin) },
    { field_label (_("S_eed"), GTK_WIDGET (self->seed_spin)), GTK_WIDGET (self->seed_spin) },
  };
  for (guint r = 0; r < G_N_ELEMENTS (fields); r++) {
    gtk_grid_attach (GTK_GRID (grid), fields[r][0], 0, (int) r, 1, 1);
    gtk_widget_set_hexpand (fields[r][1], TRUE);
    gtk_grid_attach (GTK_GRID (grid), fields[r][1], 1, (int) r, 1, 1);
  }
  gtk_box_append (GTK_BOX (side), grid);

  self->summary = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->summary, TRUE);
  gtk_label_set_max_width_chars (self->summary, 36);
  gtk_label_set_xalign (self->summary, 0);
  gtk_box_append (GTK_BOX (side), GTK_WIDGET (self->summary));

  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  gtk_widget_set_valign (buttons, GTK_ALIGN_END);
  gtk_widget_set_vexpand (buttons, TRUE);
  GtkWidget *cancel = gtk_button_new_with_mnemonic (_("_Cancel"));
  GtkWidget *use = gtk_button_new_with_mnemonic (_("_Use"));
  gtk_widget_add_css_class (use, "suggested-action");
  g_signal_connect_swapped (cancel, "clicked", G_CALLBACK (gtk_window_close), self);
  g_signal_connect_swapped (use, "clicked", G_CALLBACK (lam_playground_dialog_use), self);
  gtk_box_append (GTK_BOX (buttons), cancel);
  gtk_box_append (GTK_BOX (buttons), use);
  gtk_box_append (GTK_BOX (side), buttons);
  gtk_box_append (GTK_BOX (box), side);

  self->preview = LAM_BOUNDARY_VIEW (lam_boundary_view_new ());
  gtk_widget_set_hexpand (GTK_WIDGET (self->preview), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self->preview), TRUE);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->preview));
  gtk_window_set_child (GTK_WINDOW (self), box);
  gtk_window_set_default_widget (GTK_WINDOW (self), use);

  g_signal_connect_swapped (self->kind_dropdown, "notify::selected", G_CALLBACK (update_preview),
                            self);
  GtkSpinButton *spins[] = { self->points_spin, self->noise_spin, self->classes_spin,
                             self->seed_spin };
  for (guint i = 0; i < G_N_ELEMENTS (spins); i++)
    g_signal_connect_swapped (spins[i], "value-changed", G_CALLBACK (update_preview), self);
  gtk_drop_down_set_selected (self->kind_dropdown, LAM_PLAYGROUND_SPIRAL);
  update_preview (self);
}

LamPlaygroundDialog *
lam_playground_dialog_new (GtkWindow *parent)
{
  LamPlaygroundDialog *self = g_object_new (LAM_TYPE_PLAYGROUND_DIALOG, NULL);
  if (parent != NULL)
    gtk_window_set_transient_for (GTK_WINDOW (self), parent);
  return self;
}
