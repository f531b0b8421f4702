/* lam-drawing.h: turning a person's drawing into the input a network
 * trained on 28×28 images expects, framed as its training images were.
 * Plain C over GLib; the drawing pad widget calls it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Ink above this counts when cropping a drawing. */
#define LAM_DRAWING_INK_THRESHOLD 0.05f

/* MNIST-style preprocessing of a drawing: canvas (height, width) of ink in
 * [0,1] (1 = ink). Crops the bounding box of ink (> 0.05), scales it
 * (keeping its aspect ratio; area-averaging when shrinking, bilinear when
 * enlarging, so thin strokes survive) so that its longer side is `box`
 * (MNIST: 20), places it in an out_size×out_size (28) field so that its
 * centre of mass lands on the centre (out_size/2, out_size/2) (integer
 * shift, clamped to stay inside), and writes out (out_size, out_size) in
 * [0,1], ink 1 on 0 like MNIST's white digit on black, scaled so that the
 * strongest pixel is 1. Returns FALSE (out all 0) when there is no ink. */
gboolean lam_drawing_to_input (const float *canvas, int width, int height, int box, int out_size,
                               float *out);

/* Centre of mass (x, y) of an image (height, width), in pixel units where
 * pixel (i, j) covers [j, j+1) × [i, i+1): a centred image has its centre
 * of mass at (width/2, height/2). FALSE when it has no mass. */
gboolean lam_drawing_center_of_mass (const float *image, int width, int height, double *x,
                                     double *y);

/* The bounding box of the pixels above `threshold`: FALSE when there is
 * none. x1 and y1 are inclusive. */
gboolean lam_drawing_bounds (const float *image, int width, int height, float threshold, int *x0,
                             int *y0, int *x1, int *y1);

/* How a drawing is framed in the input. Datasets share MNIST's format but
 * not its framing, and a drawing framed unlike the training images is read
 * as something else (a trouser shrunk into MNIST's box looks like a top to
 * a Fashion-MNIST model).
 * DIGIT: as MNIST frames its digits — the longer side fitted to 20 of 28
 *   pixels, the centre of mass on the centre (lam_drawing_to_input).
 * FILL: as Fashion-MNIST and Kuzushiji-MNIST frame their pictures — the
 *   longer side across the whole frame, the bounding box centred. */
typedef enum
{
  LAM_DRAWING_FRAMING_DIGIT,
  LAM_DRAWING_FRAMING_FILL,
} LamDrawingFraming;

/* The framing of a dataset's images, guessed from its name as the loader
 * gives it ("Fashion-MNIST (test)") and its class names (NULL-terminated,
 * may be NULL): FILL for Fashion-MNIST and KMNIST, DIGIT for other names
 * that say MNIST (MNIST, EMNIST) and for any dataset whose classes are
 * exactly the ten digits "0".."9", FILL for the rest. */
LamDrawingFraming lam_drawing_framing_for_dataset (const char *name,
                                                   const char *const *class_names);

/* The drawing as an out_size×out_size input framed by `framing`: DIGIT is
 * lam_drawing_to_input with MNIST's box scaled to out_size (20 for 28);
 * FILL crops and scales the same way with the longer side out_size and
 * centres the bounding box. FALSE (out all 0) when there is no ink. */
gboolean lam_drawing_frame (const float *canvas, int width, int height, LamDrawingFraming framing,
                            int out_size, float *out);

G_END_DECLS
