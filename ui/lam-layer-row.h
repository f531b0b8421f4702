/* lam-layer-row.h: one layer of the model page's stack — its number, kind,
 * inline editors for its settings, and its output shape, parameter count and
 * FLOPs; a message under it when the layer breaks the stack. */
#pragma once

#include <gtk/gtk.h>

#include "lam-layer.h"

G_BEGIN_DECLS

#define LAM_TYPE_LAYER_ROW (lam_layer_row_get_type ())
G_DECLARE_FINAL_TYPE (LamLayerRow, lam_layer_row, LAM, LAYER_ROW, GtkListBoxRow)

/* The columns the page lines up across rows with one size group each. */
typedef enum
{
  LAM_LAYER_ROW_COLUMN_NUMBER,
  LAM_LAYER_ROW_COLUMN_KIND,
  LAM_LAYER_ROW_COLUMN_SETTINGS,
  LAM_LAYER_ROW_COLUMN_OUTPUT,
  LAM_LAYER_ROW_COLUMN_PARAMS,
  LAM_LAYER_ROW_COLUMN_FLOPS,
  LAM_LAYER_ROW_COLUMN_ACTIONS,
  LAM_LAYER_ROW_N_COLUMNS
} LamLayerRowColumn;

/* "Conv2d", "LeakyReLU"... as PyTorch spells the modules. */
const char *lam_layer_row_kind_title (LamLayerKind kind);
/* One line for the palette: "every input connected to every output";
 * `table`: the line for a model that reads a table's row of numbers. */
const char *lam_layer_row_kind_description (LamLayerKind kind, gboolean table);

GtkWidget *lam_layer_row_new (const LamLayerSpec *spec);

/* The spec as the editors hold it, typed-but-not-yet-committed text
 * included when it parses. Emits "changed" when it changes, with the
 * number of the value being typed (the same for each of its keys) or 0. */
const LamLayerSpec *lam_layer_row_get_spec (LamLayerRow *self);
/* Sets a field ("out", "kernel", "stride", "padding", "p", "slope") through
 * its spin button, as a person would. FALSE when the kind has no such field. */
gboolean lam_layer_row_set_value (LamLayerRow *self, const char *field, double value);

/* Whether the model reads a table's rows rather than images: the kind's
 * tooltip speaks of what it does to them. */
void lam_layer_row_set_table (LamLayerRow *self, gboolean table);

/* Shows the 1-based number the engine's messages use, and enables moving
 * up or down where there is room. */
void lam_layer_row_set_position (LamLayerRow *self, int index, int n_layers);
void lam_layer_row_add_to_size_groups (LamLayerRow *self, GtkSizeGroup *const *groups);

/* The layer as planned: shows its shape, parameters and FLOPs. */
void lam_layer_row_set_planned (LamLayerRow *self, const LamLayer *layer);
/* The layer could not be planned. With a message, it is the one that breaks
 * the stack; without, it comes after that one and its last figures dim. */
void lam_layer_row_set_unplanned (LamLayerRow *self, const char *error_message);

/* Marks the row as the one a whole-stack check blames (the last layer's
 * output), keeping its figures; NULL clears the mark. */
void lam_layer_row_set_error (LamLayerRow *self, const char *message);

const char *lam_layer_row_get_output_shape (LamLayerRow *self);
/* NULL unless this row breaks the stack. */
const char *lam_layer_row_get_error (LamLayerRow *self);
/* Why the text last committed in one of its fields was refused (not a
 * number, out of range), which left the value as it was; NULL once a field
 * takes a value. */
const char *lam_layer_row_get_refusal (LamLayerRow *self);

G_END_DECLS
