/* digits-dataset.c: MNIST-format digits rendered from the installed fonts.
 *
 * Each digit is a font glyph placed with a random size, aspect, slant and
 * rotation. Most are then retraced as a pen would: the glyph is thinned to
 * its centre line and redrawn with a round pen of random width, so that a
 * bold or high-contrast face gives an even stroke like MNIST's instead of
 * typeset text; the rest keep the face's own shape, thickened or thinned a
 * little. All are bent by a smooth random displacement field so that no
 * two strokes are quite straight, and then put through the drawing pad's
 * own MNIST preprocessing (lam_drawing_to_input: fitted into 20×20,
 * centred by mass in 28×28). */
#include "digits-dataset.h"

#include <gio/gio.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>

#include "lam-drawing.h"

/* Glyphs are drawn large and shrunk, so that thin strokes become grey
 * pixels as a pen's do in MNIST's scans. */
#define CANVAS 80
#define SIZE LAM_TEST_DIGITS_SIZE
#define BOX 20
#define FONT_PX 48
/* Control points per side of the displacement field. */
#define GRID 5

typedef struct
{
  PangoLayout *layout; /* owned; NULL when the face lacks the glyph */
  double ink[4];       /* x, y, width, height of its ink (bar included), pixels */
  gboolean has_bar;
  double bar[4];       /* x, y, width, height of a stroke added to the glyph */
} Glyph;

typedef struct
{
  char *name;           /* owned: the face's description, for sorting */
  Glyph digits[10];
  Glyph variants[10];   /* another glyph shaped as some hands write the digit */
  gboolean light;       /* lighter than regular: never thinned further */
  gboolean bold;        /* heavier than medium: never thickened further */
  gboolean monospace;
} Face;

/* Shapes common in handwriting that no face gives its digits, borrowed
 * from other glyphs and drawn instead of the digit that often: a one that
 * is a bare stroke (the vertical line), a four open at the top (Cyrillic
 * Che, given the four's bar reaching past the stem), a nine whose tail is a
 * straight stem (the letter q). */
static const char *const variant_texts[10] = { [1] = "|", [4] = "\u0427", [9] = "q" };
static const double variant_odds[10] = { [1] = 0.5, [4] = 0.4, [9] = 0.5 };

static void
face_free (gpointer data)
{
  Face *face = data;
  for (int d = 0; d < 10; d++) {
    g_clear_object (&face->digits[d].layout);
    g_clear_object (&face->variants[d].layout);
  }
  g_free (face->name);
  g_free (face);
}

static int
compare_faces (gconstpointer a, gconstpointer b)
{
  const Face *fa = *(Face *const *) a, *fb = *(Face *const *) b;
  return strcmp (fa->name, fb->name);
}

/* TRUE when the layout is drawn in `family` itself: a face without the
 * glyph would otherwise be silently replaced by a fallback font. */
static gboolean
drawn_in_family (PangoLayout *layout, const char *family)
{
  if (pango_layout_get_unknown_glyphs_count (layout) > 0)
    return FALSE;
  PangoLayoutLine *line = pango_layout_get_line_readonly (layout, 0);
  if (line == NULL || line->runs == NULL || line->runs->next != NULL)
    return FALSE;
  PangoGlyphItem *run = line->runs->data;
  PangoFontDescription *used = pango_font_describe (run->item->analysis.font);
  gboolean same = g_ascii_strcasecmp (pango_font_description_get_family (used), family) == 0;
  pango_font_description_free (used);
  return same;
}

static gboolean
glyph_init (Glyph *glyph, PangoContext *context, const PangoFontDescription *desc,
            const char *text, const char *family)
{
  PangoLayout *layout = pango_layout_new (context);
  pango_layout_set_font_description (layout, desc);
  pango_layout_set_text (layout, text, -1);
  PangoRectangle ink;
  pango_layout_get_extents (layout, &ink, NULL);
  if (!drawn_in_family (layout, family) || ink.width <= 0 || ink.height <= 0) {
    g_object_unref (layout);
    return FALSE;
  }
  glyph->layout = layout;
  glyph->ink[0] = (double) ink.x / PANGO_SCALE;
  glyph->ink[1] = (double) ink.y / PANGO_SCALE;
  glyph->ink[2] = (double) ink.width / PANGO_SCALE;
  glyph->ink[3] = (double) ink.height / PANGO_SCALE;
  return TRUE;
}

/* Lengthens Che's crossbar past its stem, as a four's: the bar is the
 * lowest row of ink running from the left stroke to the stem, the stem's
 * width and right edge are read below it. FALSE when the glyph has no such
 * shape. */
static gboolean
add_four_bar (Glyph *glyph)
{
  int w = (int) ceil (glyph->ink[2]) + 2, h = (int) ceil (glyph->ink[3]) + 2;
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_A8, w, h);
  cairo_t *cr = cairo_create (surface);
  cairo_move_to (cr, 1 - glyph->ink[0], 1 - glyph->ink[1]);
  pango_cairo_show_layout (cr, glyph->layout);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  const guint8 *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);

  int bar_bottom = -1;
  for (int y = h - 1; y >= 0 && bar_bottom < 0; y--) {
    int x = 0;
    while (x < w && data[y * stride + x] < 128)
      x++;
    int start = x;
    while (x < w && data[y * stride + x] >= 128)
      x++;
    if (start < 0.3 * w && x > 0.7 * w)
      bar_bottom = y;
  }
  int stem_left = -1, stem_right = -1;
  if (bar_bottom >= 0) {
    int y = bar_bottom + (h - bar_bottom) * 6 / 10;
    for (int x = w - 1; x >= 0 && stem_left < 0; x--) {
      gboolean on = data[y * stride + x] >= 128;
      if (on && stem_right < 0)
        stem_right = x;
      else if (!on && stem_right >= 0)
        stem_left = x + 1;
    }
  }
  cairo_surface_destroy (surface);
  int thickness = stem_right - stem_left + 1;
  if (bar_bottom < 0 || stem_left < 0 || thickness > 0.4 * w)
    return FALSE;

  glyph->has_bar = TRUE;
  glyph->bar[0] = glyph->ink[0] - 1 + stem_left;
  glyph->bar[1] = glyph->ink[1] - 1 + bar_bottom + 1 - thickness;
  glyph->bar[2] = thickness + 0.3 * glyph->ink[2];
  glyph->bar[3] = thickness;
  glyph->ink[2] = MAX (glyph->ink[0] + glyph->ink[2], glyph->bar[0] + glyph->bar[2]) -
                  glyph->ink[0];
  return TRUE;
}

static Face *
face_new (PangoContext *context, PangoFontFace *font_face, const char *family,
          gboolean monospace)
{
  PangoFontDescription *desc = pango_font_face_describe (font_face);
  pango_font_description_set_absolute_size (desc, FONT_PX * PANGO_SCALE);
  Face *face = g_new0 (Face, 1);
  face->name = pango_font_description_to_string (desc);
  face->light = pango_font_description_get_weight (desc) < PANGO_WEIGHT_NORMAL;
  face->bold = pango_font_description_get_weight (desc) > PANGO_WEIGHT_MEDIUM;
  face->monospace = monospace;

  gboolean usable = TRUE;
  for (int d = 0; d < 10 && usable; d++) {
    char text[2] = { (char) ('0' + d), '\0' };
    usable = glyph_init (&face->digits[d], context, desc, text, family);
    if (usable && variant_texts[d] != NULL &&
        glyph_init (&face->variants[d], context, desc, variant_texts[d], family) && d == 4 &&
        !add_four_bar (&face->variants[d]))
      g_clear_object (&face->variants[d].layout);
  }
  pango_font_description_free (desc);
  if (!usable)
    g_clear_pointer (&face, face_free);
  return face;
}

/* Every real (not synthesized) face of every family that draws all ten
 * digits itself; generic aliases such as "Sans" resolve to another family
 * and so drop out. Monospaced faces only when there is nothing else: their
 * zero has a dot or a slash that no hand adds. Sorted, so that a seed
 * picks the same faces on the same fonts whatever order fontconfig lists
 * them in. */
static GPtrArray *
collect_faces (PangoContext *context)
{
  GPtrArray *faces = g_ptr_array_new_with_free_func (face_free);
  PangoFontFamily **families = NULL;
  int n_families = 0;
  pango_font_map_list_families (pango_context_get_font_map (context), &families, &n_families);
  for (int i = 0; i < n_families; i++) {
    const char *family = pango_font_family_get_name (families[i]);
    PangoFontFace **font_faces = NULL;
    int n_faces = 0;
    pango_font_family_list_faces (families[i], &font_faces, &n_faces);
    for (int j = 0; j < n_faces; j++) {
      if (pango_font_face_is_synthesized (font_faces[j]))
        continue;
      Face *face = face_new (context, font_faces[j], family,
                             pango_font_family_is_monospace (families[i]));
      if (face != NULL)
        g_ptr_array_add (faces, face);
    }
    g_free (font_faces);
  }
  g_free (families);

  gboolean proportional = FALSE;
  for (guint i = 0; i < faces->len; i++)
    proportional |= !((Face *) g_ptr_array_index (faces, i))->monospace;
  for (guint i = faces->len; proportional && i-- > 0;)
    if (((Face *) g_ptr_array_index (faces, i))->monospace)
      g_ptr_array_remove_index (faces, i);
  g_ptr_array_sort (faces, compare_faces);
  return faces;
}

/* The glyph under a random placement, filled; as an outline it is also
 * widened with a round pen or eaten into by one. Returns its height in
 * canvas pixels. */
static double
draw_glyph (cairo_surface_t *surface, const Face *face, const Glyph *glyph, gboolean outline,
            GRand *rng)
{
  cairo_t *cr = cairo_create (surface);
  cairo_set_operator (cr, CAIRO_OPERATOR_CLEAR);
  cairo_paint (cr);
  cairo_set_operator (cr, CAIRO_OPERATOR_OVER);

  const double *ink = glyph->ink;
  double height = CANVAS * g_rand_double_range (rng, 0.42, 0.58);
  double aspect = g_rand_double_range (rng, 0.8, 1.2);
  double angle = g_rand_double_range (rng, -15, 15) * G_PI / 180;
  double slant = g_rand_double_range (rng, -0.25, 0.25);
  double shift_x = CANVAS * g_rand_double_range (rng, -0.06, 0.06);
  double shift_y = CANVAS * g_rand_double_range (rng, -0.06, 0.06);
  double scale = height / ink[3];
  cairo_matrix_t shear;
  cairo_matrix_init (&shear, 1, 0, -slant, 1, 0, 0);

  cairo_translate (cr, CANVAS / 2.0 + shift_x, CANVAS / 2.0 + shift_y);
  cairo_rotate (cr, angle);
  cairo_transform (cr, &shear);
  cairo_scale (cr, scale * aspect, scale);
  cairo_translate (cr, -(ink[0] + ink[2] / 2), -(ink[1] + ink[3] / 2));
  cairo_matrix_t placement;
  cairo_get_matrix (cr, &placement);

  double widen = 0, erode = 0;
  if (outline) {
    double pen = g_rand_double (rng);
    if (face->light)
      widen = height * g_rand_double_range (rng, 0.04, 0.09);
    else if (pen < 0.4 && !face->bold)
      widen = height * g_rand_double_range (rng, 0.01, 0.06);
    else if (pen < 0.7 && !glyph->has_bar)
      erode = height * g_rand_double_range (rng, 0.01, 0.05);
  }
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (int part = 0; part < (glyph->has_bar ? 2 : 1); part++) {
    cairo_set_matrix (cr, &placement);
    if (part == 0) {
      cairo_move_to (cr, 0, 0);
      pango_cairo_layout_path (cr, glyph->layout);
    } else {
      cairo_rectangle (cr, glyph->bar[0], glyph->bar[1], glyph->bar[2], glyph->bar[3]);
    }
    /* The pen is round in canvas pixels, whatever the placement. */
    cairo_identity_matrix (cr);
    cairo_fill_preserve (cr);
    if (widen > 0) {
      cairo_set_line_width (cr, widen);
      cairo_stroke (cr);
    } else if (erode > 0) {
      cairo_set_operator (cr, CAIRO_OPERATOR_CLEAR);
      cairo_set_line_width (cr, erode);
      cairo_stroke (cr);
      cairo_set_operator (cr, CAIRO_OPERATOR_OVER);
    }
    cairo_new_path (cr);
  }
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  return height;
}

/* Zhang–Suen thinning: ink (CANVAS², 0 or 1) is worn down to a line one
 * pixel wide along the middle of each stroke. `marks` is scratch. */
static void
thin (guint8 *ink, guint8 *marks)
{
  static const int nx[8] = { 0, 1, 1, 1, 0, -1, -1, -1 };
  static const int ny[8] = { -1, -1, 0, 1, 1, 1, 0, -1 };
  gboolean changed = TRUE;
  while (changed) {
    changed = FALSE;
    for (int pass = 0; pass < 2; pass++) {
      memset (marks, 0, CANVAS * CANVAS);
      for (int y = 1; y < CANVAS - 1; y++)
        for (int x = 1; x < CANVAS - 1; x++) {
          if (!ink[y * CANVAS + x])
            continue;
          int p[8], b = 0, a = 0;
          for (int k = 0; k < 8; k++) {
            p[k] = ink[(y + ny[k]) * CANVAS + x + nx[k]];
            b += p[k];
          }
          for (int k = 0; k < 8; k++)
            a += !p[k] && p[(k + 1) % 8];
          if (b < 2 || b > 6 || a != 1)
            continue;
          /* p[0] north, p[2] east, p[4] south, p[6] west */
          if (pass == 0 && ((p[0] && p[2] && p[4]) || (p[2] && p[4] && p[6])))
            continue;
          if (pass == 1 && ((p[0] && p[2] && p[6]) || (p[0] && p[4] && p[6])))
            continue;
          marks[y * CANVAS + x] = 1;
          changed = TRUE;
        }
      for (int i = 0; i < CANVAS * CANVAS; i++)
        if (marks[i])
          ink[i] = 0;
    }
  }
}

/* canvas (CANVAS², ink in [0,1]) → the same strokes' centre lines drawn
 * again with a round, antialiased pen of the given radius. */
static void
retrace (float *canvas, guint8 *ink, guint8 *marks, double radius)
{
  memset (ink, 0, CANVAS * CANVAS);
  for (int y = 1; y < CANVAS - 1; y++)
    for (int x = 1; x < CANVAS - 1; x++)
      ink[y * CANVAS + x] = canvas[y * CANVAS + x] > 0.4f;
  thin (ink, marks);

  int reach = (int) ceil (radius + 0.5);
  int side = 2 * reach + 1;
  g_autofree float *pen = g_new (float, side * side);
  for (int dy = -reach; dy <= reach; dy++)
    for (int dx = -reach; dx <= reach; dx++)
      pen[(dy + reach) * side + dx + reach] =
        (float) CLAMP (radius + 0.5 - sqrt (dx * dx + dy * dy), 0, 1);

  memset (canvas, 0, sizeof (float) * CANVAS * CANVAS);
  for (int y = 0; y < CANVAS; y++)
    for (int x = 0; x < CANVAS; x++) {
      if (!ink[y * CANVAS + x])
        continue;
      for (int dy = MAX (-reach, -y); dy <= reach && y + dy < CANVAS; dy++)
        for (int dx = MAX (-reach, -x); dx <= reach && x + dx < CANVAS; dx++) {
          float *v = &canvas[(y + dy) * CANVAS + x + dx];
          *v = MAX (*v, pen[(dy + reach) * side + dx + reach]);
        }
    }
}

static float
sample (const float *image, double x, double y)
{
  int x0 = (int) floor (x), y0 = (int) floor (y);
  double fx = x - x0, fy = y - y0;
  float v = 0;
  for (int j = 0; j < 2; j++)
    for (int i = 0; i < 2; i++) {
      int xi = x0 + i, yj = y0 + j;
      if (xi < 0 || yj < 0 || xi >= CANVAS || yj >= CANVAS)
        continue;
      v += (float) ((i ? fx : 1 - fx) * (j ? fy : 1 - fy)) * image[yj * CANVAS + xi];
    }
  return v;
}

/* canvas → warped (CANVAS², ink in [0,1]) through a displacement field
 * interpolated between GRID×GRID random control points: strokes bow and
 * loops lose their symmetry a little, as in handwriting. */
static void
wobble (const float *canvas, float *warped, GRand *rng)
{
  double strength = CANVAS * g_rand_double_range (rng, 0.0, 0.035);
  double dx[GRID][GRID], dy[GRID][GRID];
  for (int j = 0; j < GRID; j++)
    for (int i = 0; i < GRID; i++) {
      dx[j][i] = strength * g_rand_double_range (rng, -1, 1);
      dy[j][i] = strength * g_rand_double_range (rng, -1, 1);
    }
  double step = (CANVAS - 1.0) / (GRID - 1);
  for (int y = 0; y < CANVAS; y++) {
    double gy = y / step;
    int j = MIN ((int) gy, GRID - 2);
    double fy = gy - j;
    for (int x = 0; x < CANVAS; x++) {
      double gx = x / step;
      int i = MIN ((int) gx, GRID - 2);
      double fx = gx - i;
      double ux = (1 - fy) * ((1 - fx) * dx[j][i] + fx * dx[j][i + 1]) +
                  fy * ((1 - fx) * dx[j + 1][i] + fx * dx[j + 1][i + 1]);
      double uy = (1 - fy) * ((1 - fx) * dy[j][i] + fx * dy[j][i + 1]) +
                  fy * ((1 - fx) * dy[j + 1][i] + fx * dy[j + 1][i + 1]);
      warped[y * CANVAS + x] = sample (canvas, x + ux, y + uy);
    }
  }
}

typedef struct
{
  cairo_surface_t *surface; /* owned: A8, CANVAS² */
  float canvas[CANVAS * CANVAS];
  float warped[CANVAS * CANVAS];
  guint8 ink[CANVAS * CANVAS];
  guint8 marks[CANVAS * CANVAS];
} Scratch;

static void
render_digit (const Face *face, int digit, GRand *rng, Scratch *scratch, guint8 *out)
{
  const Glyph *glyph = &face->digits[digit];
  if (face->variants[digit].layout != NULL && g_rand_double (rng) < variant_odds[digit])
    glyph = &face->variants[digit];
  gboolean outline = g_rand_double (rng) < 0.15;
  double height = draw_glyph (scratch->surface, face, glyph, outline, rng);
  const guint8 *data = cairo_image_surface_get_data (scratch->surface);
  int stride = cairo_image_surface_get_stride (scratch->surface);
  float *canvas = scratch->canvas;
  for (int y = 0; y < CANVAS; y++)
    for (int x = 0; x < CANVAS; x++)
      canvas[y * CANVAS + x] = data[y * stride + x] / 255.0f;
  if (!outline)
    retrace (canvas, scratch->ink, scratch->marks,
             height * g_rand_double_range (rng, 0.045, 0.085));
  float *warped = scratch->warped;
  wobble (canvas, warped, rng);

  float input[SIZE * SIZE];
  lam_drawing_to_input (warped, CANVAS, CANVAS, BOX, SIZE, input);
  for (int p = 0; p < SIZE * SIZE; p++)
    out[p] = (guint8) lroundf (CLAMP (input[p], 0.0f, 1.0f) * 255);
}

static gboolean
write_idx (const char *dir, const char *name, guint32 magic, const guint32 *dims, int n_dims,
           const guint8 *data, gsize size, GError **error)
{
  g_autoptr (GByteArray) bytes = g_byte_array_sized_new (4 + 4 * n_dims + size);
  guint32 be = GUINT32_TO_BE (magic);
  g_byte_array_append (bytes, (const guint8 *) &be, 4);
  for (int i = 0; i < n_dims; i++) {
    be = GUINT32_TO_BE (dims[i]);
    g_byte_array_append (bytes, (const guint8 *) &be, 4);
  }
  g_byte_array_append (bytes, data, size);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  return g_file_set_contents (path, (const char *) bytes->data, bytes->len, error);
}

static gboolean
write_part (const char *dir, const char *prefix, int n, GPtrArray *faces, GRand *rng,
            GError **error)
{
  g_autofree guint8 *images = g_new (guint8, (gsize) n * SIZE * SIZE);
  g_autofree guint8 *labels = g_new (guint8, MAX (n, 1));
  for (int i = 0; i < n; i++)
    labels[i] = (guint8) (i % 10);
  for (int i = n - 1; i > 0; i--) {
    int j = g_rand_int_range (rng, 0, i + 1);
    guint8 t = labels[i];
    labels[i] = labels[j];
    labels[j] = t;
  }

  g_autofree Scratch *scratch = g_new (Scratch, 1);
  scratch->surface = cairo_image_surface_create (CAIRO_FORMAT_A8, CANVAS, CANVAS);
  for (int i = 0; i < n; i++) {
    const Face *face = g_ptr_array_index (faces, g_rand_int_range (rng, 0, faces->len));
    render_digit (face, labels[i], rng, scratch, images + (gsize) i * SIZE * SIZE);
  }
  cairo_surface_destroy (scratch->surface);

  g_autofree char *images_name = g_strdup_printf ("%s-images-idx3-ubyte", prefix);
  g_autofree char *labels_name = g_strdup_printf ("%s-labels-idx1-ubyte", prefix);
  guint32 image_dims[] = { (guint32) n, SIZE, SIZE };
  guint32 label_dims[] = { (guint32) n };
  return write_idx (dir, images_name, 0x803, image_dims, 3, images, (gsize) n * SIZE * SIZE,
                    error) &&
         write_idx (dir, labels_name, 0x801, label_dims, 1, labels, n, error);
}

gboolean
lam_test_write_digits_dataset (const char *dir, int n_train, int n_test, guint32 seed,
                               GError **error)
{
  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (n_train >= 0 && n_test >= 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  PangoContext *context = pango_font_map_create_context (pango_cairo_font_map_get_default ());
  /* Unhinted outlines: the glyphs are rotated and scaled after layout. */
  cairo_font_options_t *options = cairo_font_options_create ();
  cairo_font_options_set_hint_style (options, CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_hint_metrics (options, CAIRO_HINT_METRICS_OFF);
  pango_cairo_context_set_font_options (context, options);
  cairo_font_options_destroy (options);
  pango_context_set_round_glyph_positions (context, FALSE);

  g_autoptr (GPtrArray) faces = collect_faces (context);
  g_object_unref (context);
  if (faces->len == 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 "no installed font draws the digits 0–9 itself (fc-list shows the fonts)");
    return FALSE;
  }

  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  if (!write_part (dir, "train", n_train, faces, rng, error) ||
      !write_part (dir, "t10k", n_test, faces, rng, error))
    return FALSE;

  GString *classes = g_string_new (NULL);
  for (int d = 0; d < 10; d++)
    g_string_append_printf (classes, "%d\n", d);
  g_autofree char *path = g_build_filename (dir, "classes.txt", NULL);
  gboolean ok = g_file_set_contents (path, classes->str, classes->len, error);
  g_string_free (classes, TRUE);
  return ok;
}
