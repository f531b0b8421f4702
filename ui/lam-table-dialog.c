#include "lam-table-dialog.h"

#include <glib/gi18n.h>
#include <string.h>

#include "lam-dataset.h"
#include "lam-ui-util.h"

/* Names */

/* Commas and ampersands part the lists: inside a name they are escaped. */
static void
append_list (GString *out, const char *key, const char *const *names)
{
  g_string_append_printf (out, "%s=", key);
  for (int i = 0; names != NULL && names[i] != NULL; i++) {
    g_autofree char *escaped = g_uri_escape_string (names[i], NULL, FALSE);
    g_string_append_printf (out, "%s%s", i > 0 ? "," : "", escaped);
  }
}

char *
lam_table_name_build (const char *path, const char *const *inputs, const char *const *targets)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (GString) name = g_string_new (path);
  g_string_append_c (name, '?');
  append_list (name, "inputs", inputs);
  g_string_append_c (name, '&');
  append_list (name, "targets", targets);
  return g_string_free (g_steal_pointer (&name), FALSE);
}

gboolean
lam_table_name_is_table (const char *name)
{
  if (name == NULL)
    return FALSE;
  const char *query = strchr (name, '?');
  gsize length = query != NULL ? (gsize) (query - name) : strlen (name);
  return length > 4 && g_ascii_strncasecmp (name + length - 4, ".csv", 4) == 0;
}

static char **
split_list (const char *text)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  for (int i = 0; parts[i] != NULL; i++)
    if (parts[i][0] != '\0') {
      g_autofree char *name = g_uri_unescape_string (parts[i], NULL);
      g_strv_builder_add (builder, name != NULL ? name : parts[i]);
    }
  return g_strv_builder_end (builder);
}

gboolean
lam_table_name_parse (const char *name, char **path, char ***inputs, char ***targets,
                      GError **error)
{
  g_return_val_if_fail (name != NULL && path != NULL && inputs != NULL && targets != NULL, FALSE);
  *inputs = *targets = NULL;
  const char *query = strchr (name, '?');
  *path = query != NULL ? g_strndup (name, query - name) : g_strdup (name);
  if (query == NULL)
    return TRUE;
  g_auto (GStrv) pairs = g_strsplit (query + 1, "&", -1);
  for (int i = 0; pairs[i] != NULL; i++) {
    if (g_str_has_prefix (pairs[i], "inputs=")) {
      g_strfreev (*inputs);
      *inputs = split_list (pairs[i] + strlen ("inputs="));
    } else if (g_str_has_prefix (pairs[i], "targets=")) {
      g_strfreev (*targets);
      *targets = split_list (pairs[i] + strlen ("targets="));
    } else if (pairs[i][0] != '\0') {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_COLUMN,
                   "%s: \"%s\" is neither inputs= nor targets=", *path, pairs[i]);
      g_clear_pointer (path, g_free);
      g_clear_pointer (inputs, g_strfreev);
      g_clear_pointer (targets, g_strfreev);
      return FALSE;
    }
  }
  /* An empty list is no list: the defaults stand. */
  if (*inputs != NULL && (*inputs)[0] == NULL)
    g_clear_pointer (inputs, g_strfreev);
  if (*targets != NULL && (*targets)[0] == NULL)
    g_clear_pointer (targets, g_strfreev);
  return TRUE;
}

/* The dialog */

struct _LamTableDialog
{
  GtkWindow parent_instance;
  LamCsvSummary *summary; /* owned */
  GPtrArray *roles;       /* of GtkDropDown*, one per column */
  GtkLabel *task_label;
};

G_DEFINE_FINAL_TYPE (LamTableDialog, lam_table_dialog, GTK_TYPE_WINDOW)

enum
{
  CHOSEN,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

int
lam_table_dialog_get_n_columns (LamTableDialog *self)
{
  g_return_val_if_fail (LAM_IS_TABLE_DIALOG (self), 0);
  return self->summary->n_columns;
}

LamTableColumnRole
lam_table_dialog_get_role (LamTableDialog *self, int column)
{
  g_return_val_if_fail (LAM_IS_TABLE_DIALOG (self), LAM_TABLE_COLUMN_UNUSED);
  g_return_val_if_fail (column >= 0 && column < self->summary->n_columns,
                        LAM_TABLE_COLUMN_UNUSED);
  return gtk_drop_down_get_selected (g_ptr_array_index (self->roles, column));
}

void
lam_table_dialog_set_role (LamTableDialog *self, int column, LamTableColumnRole role)
{
  g_return_if_fail (LAM_IS_TABLE_DIALOG (self));
  g_return_if_fail (column >= 0 && column < self->summary->n_columns);
  gtk_drop_down_set_selected (g_ptr_array_index (self->roles, column), role);
}

/* What the choice makes: a regression of n values, or a classification
 * into the target's values. */
static void
update_task (LamTableDialog *self)
{
  int n_inputs = 0, n_targets = 0, text_target = -1;
  for (int c = 0; c < self->summary->n_columns; c++) {
    LamTableColumnRole role = lam_table_dialog_get_role (self, c);
    n_inputs += role == LAM_TABLE_COLUMN_INPUT;
    if (role == LAM_TABLE_COLUMN_TARGET) {
      n_targets++;
      const LamCsvColumn *column = &self->summary->columns[c];
      if (!column->numeric || (column->integer && column->n_distinct <= LAM_CSV_AUTO_CLASSES))
        text_target = c;
    }
  }
  g_autofree char *text = NULL;
  g_autofree char *inputs = lam_ui_format_quantity (n_inputs, _ ("input"), _ ("inputs"));
  if (n_inputs == 0 || n_targets == 0)
    text = g_strdup (_("Choose at least one input and one target."));
  else if (n_targets == 1 && text_target >= 0)
    text = g_strdup_printf (_ ("Classification: %s → which %s (%d classes)."), inputs,
                            self->summary->columns[text_target].name,
                            self->summary->columns[text_target].n_distinct);
  else {
    g_autofree char *targets =
      lam_ui_format_quantity (n_targets, _ ("value to predict"), _ ("values to predict"));
    text = g_strdup_printf (_ ("Regression: %s → %s."), inputs, targets);
  }
  gtk_label_set_text (self->task_label, text);
}

gboolean
lam_table_dialog_use (LamTableDialog *self)
{
  g_return_val_if_fail (LAM_IS_TABLE_DIALOG (self), FALSE);
  g_autoptr (GStrvBuilder) inputs = g_strv_builder_new ();
  g_autoptr (GStrvBuilder) targets = g_strv_builder_new ();
  int n_inputs = 0, n_targets = 0;
  for (int c = 0; c < self->summary->n_columns; c++) {
    LamTableColumnRole role = lam_table_dialog_get_role (self, c);
    if (role == LAM_TABLE_COLUMN_INPUT) {
      g_strv_builder_add (inputs, self->summary->columns[c].name);
      n_inputs++;
    } else if (role == LAM_TABLE_COLUMN_TARGET) {
      g_strv_builder_add (targets, self->summary->columns[c].name);
      n_targets++;
    }
  }
  if (n_inputs == 0 || n_targets == 0) {
    update_task (self);
    return FALSE;
  }
  g_auto (GStrv) input_names = g_strv_builder_end (inputs);
  g_auto (GStrv) target_names = g_strv_builder_end (targets);
  g_autofree char *name =
    lam_table_name_build (self->summary->path, (const char *const *) input_names,
                          (const char *const *) target_names);
  g_signal_emit (self, signals[CHOSEN], 0, name);
  gtk_window_close (GTK_WINDOW (self));
  return TRUE;
}

static void
lam_table_dialog_finalize (GObject *object)
{
  LamTableDialog *self = LAM_TABLE_DIALOG (object);
  g_clear_pointer (&self->summary, lam_csv_summary_free);
  g_clear_pointer (&self->roles, g_ptr_array_unref);
  G_OBJECT_CLASS (lam_table_dialog_parent_class)->finalize (object);
}

static void
lam_table_dialog_class_init (LamTableDialogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lam_table_dialog_finalize;
  signals[CHOSEN] = g_signal_new ("chosen", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                  NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
lam_table_dialog_init (LamTableDialog *self)
{
  self->roles = g_ptr_array_new ();
  gtk_window_set_modal (GTK_WINDOW (self), TRUE);
  gtk_window_set_default_size (GTK_WINDOW (self), 560, 480);
}

/* "numbers 12.1 … 98.3, mean 40.2" or "text: setosa, …". */
static char *
describe_column (const LamCsvColumn *column)
{
  if (column->numeric)
    return g_strdup_printf (_("%s %.4g … %.4g, mean %.4g"),
                            column->integer ? _("whole numbers") : _("numbers"), column->min,
                            column->max, column->mean);
  return g_strdup_printf (_("text, %d%s values (“%s”, …)"), MIN (column->n_distinct,
                                                               LAM_CSV_MAX_CLASSES),
                          column->n_distinct > LAM_CSV_MAX_CLASSES ? "+" : "",
                          column->example != NULL ? column->example : "");
}

LamTableDialog *
lam_table_dialog_new (GtkWindow *parent, const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  LamCsvSummary *summary = lam_csv_summary_load (path, error);
  if (summary == NULL)
    return NULL;
  LamTableDialog *self = g_object_new (LAM_TYPE_TABLE_DIALOG, NULL);
  self->summary = summary;
  if (parent != NULL)
    gtk_window_set_transient_for (GTK_WINDOW (self), parent);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *title = g_strdup_printf (_("Columns of %s"), base);
  gtk_window_set_title (GTK_WINDOW (self), title);

  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_widget_set_margin_start (box, 18);
  gtk_widget_set_margin_end (box, 18);
  gtk_widget_set_margin_top (box, 18);
  gtk_widget_set_margin_bottom (box, 18);
  g_autofree char *intro_text =
    g_strdup_printf (_("%d rows, %d columns. Choose what the network gets (inputs) and what it "
                       "learns to give back (targets)."),
                     summary->n_rows, summary->n_columns);
  GtkWidget *intro = gtk_label_new (intro_text);
  gtk_label_set_wrap (GTK_LABEL (intro), TRUE);
  gtk_label_set_xalign (GTK_LABEL (intro), 0);
  gtk_box_append (GTK_BOX (box), intro);

  GtkWidget *grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  const char *const roles[] = { N_("Input"), N_("Target"), N_("Left out"), NULL };
  for (int c = 0; c < summary->n_columns; c++) {
    const LamCsvColumn *column = &summary->columns[c];
    GtkWidget *name = gtk_label_new (column->name);
    gtk_label_set_xalign (GTK_LABEL (name), 0);
    gtk_widget_add_css_class (name, "heading");
    g_autofree char *what_text = describe_column (column);
    GtkWidget *what = gtk_label_new (what_text);
    gtk_label_set_xalign (GTK_LABEL (what), 0);
    gtk_label_set_ellipsize (GTK_LABEL (what), PANGO_ELLIPSIZE_END);
    gtk_widget_set_hexpand (what, TRUE);
    gtk_widget_add_css_class (what, "dim-label");
    g_autoptr (GtkStringList) names = gtk_string_list_new (NULL);
    for (int r = 0; roles[r] != NULL; r++)
      gtk_string_list_append (names, _(roles[r]));
    GtkWidget *role = gtk_drop_down_new (G_LIST_MODEL (g_object_ref (names)), NULL);
    /* The last column is the usual target; text elsewhere cannot be an
     * input. */
    gtk_drop_down_set_selected (GTK_DROP_DOWN (role),
                                c == summary->n_columns - 1 ? LAM_TABLE_COLUMN_TARGET
                                : column->numeric           ? LAM_TABLE_COLUMN_INPUT
                                                            : LAM_TABLE_COLUMN_UNUSED);
    /* Labelled by the column's name beside it, described by its summary. */
    gtk_accessible_update_relation (GTK_ACCESSIBLE (role), GTK_ACCESSIBLE_RELATION_LABELLED_BY,
                                    name, NULL, GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, what, NULL,
                                    -1);
    g_signal_connect_swapped (role, "notify::selected", G_CALLBACK (update_task), self);
    g_ptr_array_add (self->roles, role);
    gtk_grid_attach (GTK_GRID (grid), name, 0, c, 1, 1);
    gtk_grid_attach (GTK_GRID (grid), what, 1, c, 1, 1);
    gtk_grid_attach (GTK_GRID (grid), role, 2, c, 1, 1);
  }
  GtkWidget *scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), grid);
  gtk_widget_set_vexpand (scroller, TRUE);
  gtk_box_append (GTK_BOX (box), scroller);

  self->task_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->task_label, 0);
  gtk_label_set_wrap (self->task_label, TRUE);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->task_label));

  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  GtkWidget *cancel = gtk_button_new_with_mnemonic (_("_Cancel"));
  GtkWidget *use = gtk_button_new_with_mnemonic (_("_Use"));
  gtk_widget_add_css_class (use, "suggested-action");
  g_signal_connect_swapped (cancel, "clicked", G_CALLBACK (gtk_window_close), self);
  g_signal_connect_swapped (use, "clicked", G_CALLBACK (lam_table_dialog_use), self);
  gtk_box_append (GTK_BOX (buttons), cancel);
  gtk_box_append (GTK_BOX (buttons), use);
  gtk_box_append (GTK_BOX (box), buttons);
  gtk_window_set_child (GTK_WINDOW (self), box);
  gtk_window_set_default_widget (GTK_WINDOW (self), use);
  update_task (self);
  return self;
}
