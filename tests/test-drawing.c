/* Preprocessing of drawings: strokes painted on a 280×280 canvas come out
 * 28×28, fitted into 20×20 and centred by mass (MNIST's digit style) or
 * filling the frame with the bounding box centred (Fashion-MNIST's). */
#include <glib.h>
#include <math.h>
#include <stdlib.h>

#include "lam-drawing.h"

#define SIDE 280
#define OUT 28
#define BOX 20

/* Paints a round-capped stroke of radius r from (ax, ay) to (bx, by), with
 * one pixel of antialiasing like the pad's Cairo raster. */
static void
paint_segment (float *canvas, double ax, double ay, double bx, double by, double r)
{
  double dx = bx - ax, dy = by - ay;
  double len2 = dx * dx + dy * dy;
  for (int y = 0; y < SIDE; y++) {
    for (int x = 0; x < SIDE; x++) {
      double px = x + 0.5, py = y + 0.5;
      double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
      t = CLAMP (t, 0, 1);
      double d = hypot (px - (ax + t * dx), py - (ay + t * dy));
      float ink = (float) CLAMP (r + 0.5 - d, 0, 1);
      canvas[y * SIDE + x] = MAX (canvas[y * SIDE + x], ink);
    }
  }
}

typedef struct
{
  int x0, y0, x1, y1;
  double cx, cy;
} Result;

static Result
check_input (const float *canvas)
{
  float out[OUT * OUT];
  Result r;

  g_assert_true (lam_drawing_to_input (canvas, SIDE, SIDE, BOX, OUT, out));
  float peak = 0;
  for (int i = 0; i < OUT * OUT; i++) {
    g_assert_cmpfloat (out[i], >=, 0);
    g_assert_cmpfloat (out[i], <=, 1);
    peak = MAX (peak, out[i]);
  }
  g_assert_cmpfloat_with_epsilon (peak, 1, 1e-6);

  g_assert_true (lam_drawing_center_of_mass (out, OUT, OUT, &r.cx, &r.cy));
  g_assert_cmpfloat (fabs (r.cx - OUT / 2.0), <=, 0.5);
  g_assert_cmpfloat (fabs (r.cy - OUT / 2.0), <=, 0.5);

  g_assert_true (lam_drawing_bounds (out, OUT, OUT, 0, &r.x0, &r.y0, &r.x1, &r.y1));
  int w = r.x1 - r.x0 + 1, h = r.y1 - r.y0 + 1;
  g_assert_cmpint (w, <=, BOX);
  g_assert_cmpint (h, <=, BOX);
  g_assert_cmpint (MAX (w, h), >=, BOX - 1);
  return r;
}

static void
test_center_of_mass (void)
{
  float image[6 * 4] = { 0 };
  double x, y;

  g_assert_false (lam_drawing_center_of_mass (image, 6, 4, &x, &y));
  image[2 * 6 + 3] = 0.7f;
  g_assert_true (lam_drawing_center_of_mass (image, 6, 4, &x, &y));
  g_assert_cmpfloat_with_epsilon (x, 3.5, 1e-9);
  g_assert_cmpfloat_with_epsilon (y, 2.5, 1e-9);

  for (int i = 0; i < 6 * 4; i++)
    image[i] = 1;
  g_assert_true (lam_drawing_center_of_mass (image, 6, 4, &x, &y));
  g_assert_cmpfloat_with_epsilon (x, 3, 1e-9);
  g_assert_cmpfloat_with_epsilon (y, 2, 1e-9);
}

static void
test_empty (void)
{
  g_autofree float *canvas = g_new0 (float, SIDE * SIDE);
  float out[OUT * OUT];
  for (int i = 0; i < OUT * OUT; i++)
    out[i] = 0.5f;

  /* Faint smudges under the threshold are not ink. */
  canvas[100 * SIDE + 100] = 0.04f;
  g_assert_false (lam_drawing_to_input (canvas, SIDE, SIDE, BOX, OUT, out));
  for (int i = 0; i < OUT * OUT; i++)
    g_assert_cmpfloat (out[i], ==, 0);
}

static void
test_vertical_bar (void)
{
  g_autofree float *canvas = g_new0 (float, SIDE * SIDE);
  paint_segment (canvas, 140, 40, 140, 240, 10);
  Result r = check_input (canvas);

  /* A tall thin stroke stays tall and thin: height 20, width a few pixels. */
  int w = r.x1 - r.x0 + 1, h = r.y1 - r.y0 + 1;
  g_assert_cmpint (h, ==, BOX);
  g_assert_cmpint (w, >=, 1);
  g_assert_cmpint (w, <=, 3);
}

static void
test_tall_thin_off_centre (void)
{
  g_autofree float *canvas = g_new0 (float, SIDE * SIDE);
  paint_segment (canvas, 30, 100, 30, 270, 4);
  Result r = check_input (canvas);
  g_assert_cmpint (r.y1 - r.y0 + 1, ==, BOX);
  g_assert_cmpint (r.x1 - r.x0 + 1, <=, 2);
}

static void
test_diagonal (void)
{
  g_autofree float *canvas = g_new0 (float, SIDE * SIDE);
  paint_segment (canvas, 40, 230, 230, 30, 10);
  Result r = check_input (canvas);
  /* Taller than wide by a little: both sides near the box. */
  g_assert_cmpint (r.y1 - r.y0 + 1, ==, BOX);
  g_assert_cmpint (r.x1 - r.x0 + 1, >=, BOX - 2);
}

static void
test_off_centre_blob (void)
{
  g_autofree float *canvas = g_new0 (float, SIDE * SIDE);
  paint_segment (canvas, 60, 220, 70, 215, 25);
  Result r = check_input (canvas);
  g_assert_cmpint (r.x1 - r.x0 + 1, ==, BOX);
  g_assert_cmpint (r.y1 - r.y0 + 1, >=, BOX - 3);
}

static void
test_thin_stroke_survives (void)
{
  /* One canvas pixel wide across the whole canvas: 1/14 of an output
   * pixel, which sampling would mostly miss. */
  g_autofree float *canvas = g_new0 (float, SIDE * SIDE);
  for (int x = 0; x < SIDE; x++)
    canvas[150 * SIDE + x] = 1;
  float out[OUT * OUT];
  g_assert_true (lam_drawing_to_input (canvas, SIDE, SIDE, BOX, OUT, out));
  int lit = 0;
  for (int i = 0; i < OUT * OUT; i++)
    lit += out[i] > 0.5f;
  g_assert_cmpint (lit, ==, BOX);
}

static void
test_small_drawing_enlarged (void)
{
  g_autofree float *canvas = g_new0 (float, SIDE * SIDE);
  paint_segment (canvas, 200, 50, 200, 58, 3);
  check_input (canvas);
}

static void
test_seven_shape (void)
{
  g_autofree float *canvas = g_new0 (float, SIDE * SIDE);
  paint_segment (canvas, 70, 60, 210, 60, 10);
  paint_segment (canvas, 210, 60, 120, 230, 10);
  check_input (canvas);
}

/* A solid L, 60 wide and 120 tall, in the top left quarter of the
 * canvas: its bounding box is a 1:2 rectangle and its centre of mass lies
 * low and to the left of the box's middle. */
static float *
paint_l_shape (void)
{
  float *canvas = g_new0 (float, SIDE * SIDE);
  for (int y = 20; y < 140; y++)
    for (int x = 30; x < 90; x++)
      canvas[y * SIDE + x] = x < 50 || y >= 120;
  return canvas;
}

static void
test_framing_digit (void)
{
  g_autofree float *canvas = paint_l_shape ();
  float out[OUT * OUT], same[OUT * OUT];
  g_assert_true (lam_drawing_frame (canvas, SIDE, SIDE, LAM_DRAWING_FRAMING_DIGIT, OUT, out));

  /* Digit style is lam_drawing_to_input with MNIST's box. */
  g_assert_true (lam_drawing_to_input (canvas, SIDE, SIDE, BOX, OUT, same));
  for (int i = 0; i < OUT * OUT; i++)
    g_assert_cmpfloat (out[i], ==, same[i]);

  int x0, y0, x1, y1;
  g_assert_true (lam_drawing_bounds (out, OUT, OUT, 0, &x0, &y0, &x1, &y1));
  g_test_message ("digit style: x %d..%d, y %d..%d", x0, x1, y0, y1);
  g_assert_cmpint (y1 - y0 + 1, ==, 20);
  g_assert_cmpint (x1 - x0 + 1, >=, 10);
  g_assert_cmpint (x1 - x0 + 1, <=, 11);
  double cx, cy;
  g_assert_true (lam_drawing_center_of_mass (out, OUT, OUT, &cx, &cy));
  g_test_message ("digit style: centre of mass %.2f, %.2f", cx, cy);
  g_assert_cmpfloat (fabs (cx - 14), <=, 0.5);
  g_assert_cmpfloat (fabs (cy - 14), <=, 0.5);
  /* ...which is not the middle of the box: the box sits up and right. */
  g_assert_cmpfloat ((x0 + x1 + 1) / 2.0, >=, 15);
  g_assert_cmpfloat ((y0 + y1 + 1) / 2.0, <=, 13);
}

static void
test_framing_fill (void)
{
  g_autofree float *canvas = paint_l_shape ();
  float out[OUT * OUT];
  g_assert_true (lam_drawing_frame (canvas, SIDE, SIDE, LAM_DRAWING_FRAMING_FILL, OUT, out));

  float peak = 0;
  for (int i = 0; i < OUT * OUT; i++)
    peak = MAX (peak, out[i]);
  g_assert_cmpfloat_with_epsilon (peak, 1, 1e-6);

  /* The longer side spans the whole frame, the aspect ratio stays (60 by
   * 120: 14 by 28), and the box, not the mass, sits in the middle. */
  int x0, y0, x1, y1;
  g_assert_true (lam_drawing_bounds (out, OUT, OUT, 0, &x0, &y0, &x1, &y1));
  g_test_message ("fill the frame: x %d..%d, y %d..%d", x0, x1, y0, y1);
  g_assert_cmpint (y0, ==, 0);
  g_assert_cmpint (y1, ==, OUT - 1);
  int w = x1 - x0 + 1;
  g_assert_cmpint (w, >=, 14);
  g_assert_cmpint (w, <=, 15);
  g_assert_cmpint (abs (x0 - (OUT - 1 - x1)), <=, 1);

  /* A wide drawing fills the width instead. */
  g_autofree float *wide = g_new0 (float, SIDE * SIDE);
  paint_segment (wide, 100, 200, 180, 200, 10);
  g_assert_true (lam_drawing_frame (wide, SIDE, SIDE, LAM_DRAWING_FRAMING_FILL, OUT, out));
  g_assert_true (lam_drawing_bounds (out, OUT, OUT, 0, &x0, &y0, &x1, &y1));
  g_assert_cmpint (x0, ==, 0);
  g_assert_cmpint (x1, ==, OUT - 1);
  g_assert_cmpint (abs (y0 - (OUT - 1 - y1)), <=, 1);

  /* Nothing drawn: FALSE and all 0, whatever the framing. */
  g_autofree float *empty = g_new0 (float, SIDE * SIDE);
  for (int i = 0; i < OUT * OUT; i++)
    out[i] = 0.5f;
  g_assert_false (lam_drawing_frame (empty, SIDE, SIDE, LAM_DRAWING_FRAMING_FILL, OUT, out));
  for (int i = 0; i < OUT * OUT; i++)
    g_assert_cmpfloat (out[i], ==, 0);
}

static void
test_framing_for_dataset (void)
{
  static const char *const digits[] = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", NULL };
  static const char *const eleven[] = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
                                        NULL };
  static const char *const clothes[] = { "T-shirt/top", "Trouser", NULL };

  g_assert_cmpint (lam_drawing_framing_for_dataset ("MNIST (test)", digits), ==,
                   LAM_DRAWING_FRAMING_DIGIT);
  g_assert_cmpint (lam_drawing_framing_for_dataset ("EMNIST digits (train)", NULL), ==,
                   LAM_DRAWING_FRAMING_DIGIT);
  g_assert_cmpint (lam_drawing_framing_for_dataset ("emnist-letters", NULL), ==,
                   LAM_DRAWING_FRAMING_DIGIT);
  g_assert_cmpint (lam_drawing_framing_for_dataset ("Fashion-MNIST (test)", clothes), ==,
                   LAM_DRAWING_FRAMING_FILL);
  g_assert_cmpint (lam_drawing_framing_for_dataset ("KMNIST (train)", NULL), ==,
                   LAM_DRAWING_FRAMING_FILL);
  g_assert_cmpint (lam_drawing_framing_for_dataset ("Kuzushiji-MNIST", NULL), ==,
                   LAM_DRAWING_FRAMING_FILL);
  g_assert_cmpint (lam_drawing_framing_for_dataset ("CIFAR-10 (test)", NULL), ==,
                   LAM_DRAWING_FRAMING_FILL);
  /* A folder with its own classes.txt is named after the folder. */
  g_assert_cmpint (lam_drawing_framing_for_dataset ("my-digits (test)", digits), ==,
                   LAM_DRAWING_FRAMING_DIGIT);
  g_assert_cmpint (lam_drawing_framing_for_dataset ("counts (test)", eleven), ==,
                   LAM_DRAWING_FRAMING_FILL);
  g_assert_cmpint (lam_drawing_framing_for_dataset ("shapes-28x28-grey (test)", clothes), ==,
                   LAM_DRAWING_FRAMING_FILL);
  g_assert_cmpint (lam_drawing_framing_for_dataset (NULL, NULL), ==, LAM_DRAWING_FRAMING_FILL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/drawing/center-of-mass", test_center_of_mass);
  g_test_add_func ("/drawing/empty-canvas-is-false-and-zero", test_empty);
  g_test_add_func ("/drawing/vertical-bar-keeps-aspect", test_vertical_bar);
  g_test_add_func ("/drawing/tall-thin-off-centre", test_tall_thin_off_centre);
  g_test_add_func ("/drawing/diagonal", test_diagonal);
  g_test_add_func ("/drawing/off-centre-blob", test_off_centre_blob);
  g_test_add_func ("/drawing/thin-stroke-survives", test_thin_stroke_survives);
  g_test_add_func ("/drawing/small-drawing-enlarged", test_small_drawing_enlarged);
  g_test_add_func ("/drawing/seven", test_seven_shape);
  g_test_add_func ("/drawing/framing/digit-20-by-mass", test_framing_digit);
  g_test_add_func ("/drawing/framing/fill-28-by-box", test_framing_fill);
  g_test_add_func ("/drawing/framing/for-dataset", test_framing_for_dataset);
  return g_test_run ();
}
