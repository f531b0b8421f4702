/* lam-drawing.c: MNIST's preprocessing (crop, fit into 20×20 keeping the
 * aspect ratio, centre by mass in 28×28) applied to a drawing, and the
 * framing of datasets that fill the frame instead. */
#include "lam-drawing.h"

#include <math.h>
#include <string.h>

gboolean
lam_drawing_bounds (const float *image, int width, int height, float threshold, int *x0, int *y0,
                    int *x1, int *y1)
{
  g_return_val_if_fail (image != NULL && width > 0 && height > 0, FALSE);

  int left = width, top = height, right = -1, bottom = -1;
  for (int y = 0; y < height; y++) {
    const float *row = image + (gsize) y * width;
    for (int x = 0; x < width; x++) {
      if (row[x] > threshold) {
        left = MIN (left, x);
        right = MAX (right, x);
        top = MIN (top, y);
        bottom = MAX (bottom, y);
      }
    }
  }
  if (right < 0)
    return FALSE;
  *x0 = left;
  *y0 = top;
  *x1 = right;
  *y1 = bottom;
  return TRUE;
}

gboolean
lam_drawing_center_of_mass (const float *image, int width, int height, double *x, double *y)
{
  g_return_val_if_fail (image != NULL && width > 0 && height > 0, FALSE);

  double mass = 0, mx = 0, my = 0;
  for (int i = 0; i < height; i++) {
    for (int j = 0; j < width; j++) {
      double v = image[(gsize) i * width + j];
      mass += v;
      mx += v * (j + 0.5);
      my += v * (i + 0.5);
    }
  }
  if (!(mass > 0))
    return FALSE;
  *x = mx / mass;
  *y = my / mass;
  return TRUE;
}

/* Weights (n_out, n_in) resampling a line of n_in pixels to n_out:
 * each output pixel averages the input it covers when shrinking, so a
 * stroke thinner than one output pixel still leaves grey behind; linear
 * interpolation between pixel centres when enlarging. */
static float *
resample_weights (int n_in, int n_out)
{
  float *w = g_new0 (float, (gsize) n_in * n_out);

  if (n_out < n_in) {
    double scale = (double) n_in / n_out;
    for (int o = 0; o < n_out; o++) {
      double lo = o * scale, hi = (o + 1) * scale;
      for (int i = (int) floor (lo); i < n_in && i < hi; i++) {
        double overlap = MIN (hi, i + 1.0) - MAX (lo, (double) i);
        if (overlap > 0)
          w[(gsize) o * n_in + i] = (float) (overlap / scale);
      }
    }
  } else {
    for (int o = 0; o < n_out; o++) {
      double src = (o + 0.5) * n_in / n_out - 0.5;
      src = CLAMP (src, 0, n_in - 1);
      int i0 = (int) floor (src);
      double frac = src - i0;
      w[(gsize) o * n_in + i0] += (float) (1 - frac);
      if (i0 + 1 < n_in)
        w[(gsize) o * n_in + i0 + 1] += (float) frac;
    }
  }
  return w;
}

// crop (ch, cw) with row stride `stride` → dst (nh, nw)
static void
resample (const float *crop, int cw, int ch, int stride, float *dst, int nw, int nh)
{
  g_autofree float *wx = resample_weights (cw, nw);
  g_autofree float *wy = resample_weights (ch, nh);
  g_autofree float *rows = g_new0 (float, (gsize) ch * nw);

  for (int y = 0; y < ch; y++) {
    const float *src = crop + (gsize) y * stride;
    for (int o = 0; o < nw; o++) {
      const float *w = wx + (gsize) o * cw;
      float sum = 0;
      for (int i = 0; i < cw; i++)
        sum += w[i] * src[i];
      rows[(gsize) y * nw + o] = sum;
    }
  }
  memset (dst, 0, sizeof (float) * nw * nh);
  for (int o = 0; o < nh; o++) {
    const float *w = wy + (gsize) o * ch;
    float *out = dst + (gsize) o * nw;
    for (int i = 0; i < ch; i++) {
      if (w[i] == 0)
        continue;
      const float *src = rows + (gsize) i * nw;
      for (int x = 0; x < nw; x++)
        out[x] += w[i] * src[x];
    }
  }
}

/* Crops the ink, fits its longer side to `box` and places it in out
 * (out_size², already all 0): by centre of mass (MNIST) or by bounding
 * box. Writes nothing when there is no ink. */
static gboolean
fit_and_place (const float *canvas, int width, int height, int box, int out_size,
               gboolean by_mass, float *out)
{
  int x0, y0, x1, y1;
  if (!lam_drawing_bounds (canvas, width, height, LAM_DRAWING_INK_THRESHOLD, &x0, &y0, &x1, &y1))
    return FALSE;

  int cw = x1 - x0 + 1, ch = y1 - y0 + 1;
  int nw, nh;
  if (cw >= ch) {
    nw = box;
    nh = CLAMP ((int) lround ((double) ch * box / cw), 1, box);
  } else {
    nh = box;
    nw = CLAMP ((int) lround ((double) cw * box / ch), 1, box);
  }

  g_autofree float *fitted = g_new (float, (gsize) nw * nh);
  resample (canvas + (gsize) y0 * width + x0, cw, ch, width, fitted, nw, nh);

  float peak = 0;
  for (int i = 0; i < nw * nh; i++) {
    fitted[i] = CLAMP (fitted[i], 0.0f, 1.0f);
    peak = MAX (peak, fitted[i]);
  }
  if (!(peak > 0))
    return FALSE;

  int ox, oy;
  if (by_mass) {
    double cx, cy;
    if (!lam_drawing_center_of_mass (fitted, nw, nh, &cx, &cy))
      return FALSE;
    ox = CLAMP ((int) lround (out_size / 2.0 - cx), 0, out_size - nw);
    oy = CLAMP ((int) lround (out_size / 2.0 - cy), 0, out_size - nh);
  } else {
    ox = (out_size - nw) / 2;
    oy = (out_size - nh) / 2;
  }

  for (int y = 0; y < nh; y++)
    for (int x = 0; x < nw; x++)
      out[(gsize) (y + oy) * out_size + x + ox] = fitted[(gsize) y * nw + x] / peak;
  return TRUE;
}

gboolean
lam_drawing_to_input (const float *canvas, int width, int height, int box, int out_size,
                      float *out)
{
  g_return_val_if_fail (out != NULL && out_size > 0, FALSE);
  memset (out, 0, sizeof (float) * out_size * out_size);
  g_return_val_if_fail (canvas != NULL && width > 0 && height > 0, FALSE);
  g_return_val_if_fail (box > 0 && box <= out_size, FALSE);

  return fit_and_place (canvas, width, height, box, out_size, TRUE, out);
}

gboolean
lam_drawing_frame (const float *canvas, int width, int height, LamDrawingFraming framing,
                   int out_size, float *out)
{
  g_return_val_if_fail (out != NULL && out_size > 0, FALSE);
  g_return_val_if_fail (framing == LAM_DRAWING_FRAMING_DIGIT || framing == LAM_DRAWING_FRAMING_FILL,
                        FALSE);

  if (framing == LAM_DRAWING_FRAMING_DIGIT) {
    /* MNIST's 20 of 28, at whatever size the input has. */
    int box = CLAMP ((int) lround (out_size * 20.0 / 28.0), 1, out_size);
    return lam_drawing_to_input (canvas, width, height, box, out_size, out);
  }

  memset (out, 0, sizeof (float) * out_size * out_size);
  g_return_val_if_fail (canvas != NULL && width > 0 && height > 0, FALSE);
  return fit_and_place (canvas, width, height, out_size, out_size, FALSE, out);
}

static gboolean
contains (const char *haystack, const char *needle)
{
  return strstr (haystack, needle) != NULL;
}

static gboolean
is_ten_digits (const char *const *names)
{
  for (int c = 0; c < 10; c++) {
    char digit[2] = { (char) ('0' + c), '\0' };
    if (names[c] == NULL || strcmp (names[c], digit) != 0)
      return FALSE;
  }
  return names[10] == NULL;
}

LamDrawingFraming
lam_drawing_framing_for_dataset (const char *name, const char *const *class_names)
{
  if (name != NULL) {
    g_autofree char *folded = g_ascii_strdown (name, -1);
    /* Both took MNIST's format and name, not its framing. */
    if (contains (folded, "fashion") || contains (folded, "kmnist") ||
        contains (folded, "kuzushiji"))
      return LAM_DRAWING_FRAMING_FILL;
    if (contains (folded, "mnist"))
      return LAM_DRAWING_FRAMING_DIGIT;
  }

  /* Ten digits under another name (a folder with its own classes.txt) are
   * most likely handwriting prepared the MNIST way. */
  if (class_names != NULL && is_ten_digits (class_names))
    return LAM_DRAWING_FRAMING_DIGIT;
  return LAM_DRAWING_FRAMING_FILL;
}
