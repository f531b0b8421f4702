/* lam-drawing.h: turning a person's drawing into the input an MNIST-trained
 * network expects. Plain C over GLib; the drawing pad widget calls it. */
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

G_END_DECLS
