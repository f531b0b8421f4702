/* lam-model-page.h: the Model page — a palette of layer kinds, the stack as
 * an editable list with each layer's output shape, parameters and FLOPs,
 * totals, the loss, presets, and the stack as compact text. Every edit goes
 * to the project at once; the layer that breaks the shapes is marked. */
#pragma once

#include <gtk/gtk.h>

#include "lam-session.h"

G_BEGIN_DECLS

#define LAM_TYPE_MODEL_PAGE (lam_model_page_get_type ())
G_DECLARE_FINAL_TYPE (LamModelPage, lam_model_page, LAM, MODEL_PAGE, GtkWidget)

GtkWidget *lam_model_page_new (LamSession *session);
LamSession *lam_model_page_get_project (LamModelPage *self);

/* Replaces the stack with a preset (see lam_model_spec_list_presets). */
void lam_model_page_load_preset (LamModelPage *self, const char *name);
/* Adds a layer after the selected one, or at the end, and selects it. */
void lam_model_page_append_layer (LamModelPage *self, const LamLayerSpec *spec);
void lam_model_page_remove_layer (LamModelPage *self, int index);
void lam_model_page_move_layer (LamModelPage *self, int from, int to);
/* Types a value into a layer's field ("out", "kernel", "stride", "padding",
 * "p", "slope") through its spin button. */
void lam_model_page_set_layer_value (LamModelPage *self, int index, const char *field,
                                     double value);
int lam_model_page_get_n_layers (LamModelPage *self);
/* What the layer's row shows as its output shape: "32×28×28", "3136". */
char *lam_model_page_dup_output_shape (LamModelPage *self, int index);
/* The 0-based index of the layer marked as breaking the stack, or -1. */
int lam_model_page_get_error_layer (LamModelPage *self);
/* The message shown under that layer, or NULL. */
const char *lam_model_page_get_error_text (LamModelPage *self);

/* Puts text into the compact-text field and presses Enter there. */
void lam_model_page_set_text (LamModelPage *self, const char *text);
/* What the compact-text field holds. */
const char *lam_model_page_get_text (LamModelPage *self);
/* The parser's message for text that could not be applied, or NULL. */
const char *lam_model_page_get_text_error (LamModelPage *self);
/* The note shown while a run trains or is paused, that edits apply to the
 * next run; NULL when idle. */
const char *lam_model_page_get_training_note (LamModelPage *self);

G_END_DECLS
