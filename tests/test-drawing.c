/* MNIST-style preprocessing of drawings: strokes painted on a 280×280
 * canvas come out 28×28, fitted into 20×20 and centred by mass. */
#include <glib.h>
#include <math.h>

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
  return g_test_run ();
}
