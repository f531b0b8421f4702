/* lam-drawing-pad.h: a square canvas to draw a digit on with the mouse, a
 * pen or a finger, white ink on black like MNIST, and the 28×28 input the
 * network gets from it, framed as the training images were. */
#pragma once

#include <gtk/gtk.h>

#include "lam-drawing.h"

G_BEGIN_DECLS

/* The pad's raster, which lam_drawing_to_input reads. */
#define LAM_DRAWING_PAD_RASTER_SIZE 280
/* The input: 28×28; in digit style the drawing is fitted into 20×20 and
 * centred by mass, filling the frame it spans all 28. */
#define LAM_DRAWING_PAD_INPUT_SIZE 28
#define LAM_DRAWING_PAD_INPUT_BOX 20

#define LAM_TYPE_DRAWING_FRAMING (lam_drawing_framing_get_type ())
GType lam_drawing_framing_get_type (void);

#define LAM_TYPE_DRAWING_PAD (lam_drawing_pad_get_type ())
G_DECLARE_FINAL_TYPE (LamDrawingPad, lam_drawing_pad, LAM, DRAWING_PAD, GtkWidget)

/* Signal "changed" (no arguments): after stroke points while drawing (at
 * most about 30 a second), at the end of each stroke, after clear, undo
 * and lam_drawing_pad_add_stroke, and when the framing changes.
 * Properties: "empty" (read-only, notified), "hint" (the text shown on an
 * empty pad, default "Draw a digit"), "framing" (a LamDrawingFraming,
 * default digit style).
 * Keyboard: Ctrl+Z and BackSpace undo, Delete clears (actions
 * "drawing-pad.undo" and "drawing-pad.clear", enabled when the pad is not
 * empty). */
GtkWidget *lam_drawing_pad_new (void);
void lam_drawing_pad_clear (LamDrawingPad *self);
void lam_drawing_pad_undo (LamDrawingPad *self);
gboolean lam_drawing_pad_is_empty (LamDrawingPad *self);
guint lam_drawing_pad_get_n_strokes (LamDrawingPad *self);
/* Writes the 28×28 input (ink 1 on 0) into out; FALSE (out all 0) when
 * the pad is empty. */
gboolean lam_drawing_pad_get_input (LamDrawingPad *self, float *out);
/* The raster (LAM_DRAWING_PAD_RASTER_SIZE², ink in [0,1]), borrowed until
 * the next change. */
const float *lam_drawing_pad_get_canvas (LamDrawingPad *self);

/* For tests and demos: a stroke through points given in pad coordinates
 * 0..1 (x0, y0, x1, y1, ...), drawn at the width of a mouse stroke. */
void lam_drawing_pad_add_stroke (LamDrawingPad *self, const double *xy, guint n_points);

void lam_drawing_pad_set_hint (LamDrawingPad *self, const char *hint);
const char *lam_drawing_pad_get_hint (LamDrawingPad *self);

/* How the drawing is framed in the input (see LamDrawingFraming). */
void lam_drawing_pad_set_framing (LamDrawingPad *self, LamDrawingFraming framing);
LamDrawingFraming lam_drawing_pad_get_framing (LamDrawingPad *self);
/* The dataset of the model the pad feeds, by the name the loader gave it
 * and its class names (may be NULL). A dataset other than the last one
 * sets the framing to its own (lam_drawing_framing_for_dataset); the same
 * one again, as every new epoch's evaluation gives it, keeps the framing
 * the person chose. */
void lam_drawing_pad_set_dataset (LamDrawingPad *self, const char *name,
                                  const char *const *class_names);

/* A small companion showing the 28×28 input the network receives,
 * upscaled with crisp pixels and redrawn on the pad's "changed", and under
 * it the choice of framing. It keeps no reference to the pad. */
GtkWidget *lam_drawing_pad_new_preview (LamDrawingPad *pad);

G_END_DECLS
