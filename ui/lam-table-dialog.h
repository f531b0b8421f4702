/* lam-table-dialog.h: the columns of a CSV table, each to be an input, a
 * target or left out. Numeric targets make a regression, a text (or few
 * whole numbers) target a classification. Use names the table with its
 * choice (lam_table_name_build), which the session opens as a dataset. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define LAM_TYPE_TABLE_DIALOG (lam_table_dialog_get_type ())
G_DECLARE_FINAL_TYPE (LamTableDialog, lam_table_dialog, LAM, TABLE_DIALOG, GtkWindow)

typedef enum
{
  LAM_TABLE_COLUMN_INPUT,
  LAM_TABLE_COLUMN_TARGET,
  LAM_TABLE_COLUMN_UNUSED,
} LamTableColumnRole;

/* NULL with error when path is not a readable table. Emits "chosen" with
 * the table's name on Use. */
LamTableDialog *lam_table_dialog_new (GtkWindow *parent, const char *path, GError **error);
int lam_table_dialog_get_n_columns (LamTableDialog *self);
void lam_table_dialog_set_role (LamTableDialog *self, int column, LamTableColumnRole role);
LamTableColumnRole lam_table_dialog_get_role (LamTableDialog *self, int column);
/* What Use does; FALSE (and a word in the dialog) without a target or an
 * input. */
gboolean lam_table_dialog_use (LamTableDialog *self);

/* A table and its chosen columns as one name, "PATH?inputs=a,b&targets=y"
 * (names percent-escaped), and back. A name without a query asks for the
 * last column as the target and the others as inputs. */
char *lam_table_name_build (const char *path, const char *const *inputs,
                            const char *const *targets);
gboolean lam_table_name_is_table (const char *name);
gboolean lam_table_name_parse (const char *name, char **path, char ***inputs, char ***targets,
                               GError **error);

G_END_DECLS
