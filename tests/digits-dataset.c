/* digits-dataset.c: MNIST-format digits rendered from the installed fonts.
 *
 * Each digit is a font glyph's outline, placed with a random size, aspect,
 * slant and rotation, thickened or thinned with a round pen, bent by a
 * smooth random displacement field so that no two strokes are quite
 * straight, and then put through the drawing pad's own MNIST preprocessing
 * (lam_drawing_to_input: fitted into 20×20, centred by mass in 28×28). */
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
  char *name;                 /* owned: the face's description, for sorting */
  PangoLayout *layouts[10];   /* owned */
  double ink[10][4];          /* x, y, width, height of each digit's ink, pixels */
  gboolean light;             /* lighter than regular: never thinned further */
} Face;

static void
face_free (gpointer data)
{
  Face *face = data;
  for (int d = 0; d < 10; d++)
    g_clear_object (&face->layouts[d]);
  g_free (face->name);
  g_free (face);
}

static int
compare_faces (gconstpointer a, gconstpointer b)
{
  const Face *fa = *(Face *const *) a, *fb = *(Face *const *) b;
  return strcmp (fa->name, fb->name);
}

/* TRUE when the layout is drawn in `family` itself: a face without digits
 * would otherwise be silently replaced by a fallback font. */
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

static Face *
face_new (PangoContext *context, PangoFontFace *font_face, const char *family)
{
  PangoFontDescription *desc = pango_font_face_describe (font_face);
  pango_font_description_set_absolute_size (desc, FONT_PX * PANGO_SCALE);
  Face *face = g_new0 (Face, 1);
  face->name = pango_font_description_to_string (desc);
  face->light = pango_font_description_get_weight (desc) < PANGO_WEIGHT_NORMAL;

  gboolean usable = TRUE;
  for (int d = 0; d < 10 && usable; d++) {
    char text[2] = { (char) ('0' + d), '\0' };
    face->layouts[d] = pango_layout_new (context);
    pango_layout_set_font_description (face->layouts[d], desc);
    pango_layout_set_text (face->layouts[d], text, -1);
    PangoRectangle ink;
    pango_layout_get_extents (face->layouts[d], &ink, NULL);
    face->ink[d][0] = (double) ink.x / PANGO_SCALE;
    face->ink[d][1] = (double) ink.y / PANGO_SCALE;
    face->ink[d][2] = (double) ink.width / PANGO_SCALE;
    face->ink[d][3] = (double) ink.height / PANGO_SCALE;
    usable = drawn_in_family (face->layouts[d], family) && ink.width > 0 && ink.height > 0;
  }
  pango_font_description_free (desc);
  if (!usable)
    g_clear_pointer (&face, face_free);
  return face;
}

/* Every real (not synthesized) face of every family that draws all ten
 * digits itself; generic aliases such as "Sans" resolve to another family
 * and so drop out. Sorted, so that a seed picks the same faces on the same
 * fonts whatever order fontconfig lists them in. */
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
      Face *face = face_new (context, font_faces[j], family);
      if (face != NULL)
        g_ptr_array_add (faces, face);
    }
    g_free (font_faces);
  }
  g_free (families);
  g_ptr_array_sort (faces, compare_faces);
  return faces;
}

/* The glyph's outline under a random placement, filled, then widened with
 * a round pen or eaten into by one. */
static void
draw_glyph (cairo_surface_t *surface, const Face *face, int digit, GRand *rng)
{
  cairo_t *cr = cairo_create (surface);
  cairo_set_operator (cr, CAIRO_OPERATOR_CLEAR);
  cairo_paint (cr);
  cairo_set_operator (cr, CAIRO_OPERATOR_OVER);

  const double *ink = face->ink[digit];
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
  cairo_move_to (cr, 0, 0);
  pango_cairo_layout_path (cr, face->layouts[digit]);
  cairo_identity_matrix (cr);
  cairo_fill_preserve (cr);

  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  double pen = g_rand_double (rng);
  if (pen < 0.55) {
    cairo_set_line_width (cr, height * g_rand_double_range (rng, 0.01, 0.09));
    cairo_stroke (cr);
  } else if (pen < 0.75 && !face->light) {
    cairo_set_operator (cr, CAIRO_OPERATOR_CLEAR);
    cairo_set_line_width (cr, height * g_rand_double_range (rng, 0.01, 0.05));
    cairo_stroke (cr);
  }
  cairo_new_path (cr);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
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

static void
render_digit (const Face *face, int digit, GRand *rng, cairo_surface_t *surface, float *canvas,
              float *warped, guint8 *out)
{
  draw_glyph (surface, face, digit, rng);
  const guint8 *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  for (int y = 0; y < CANVAS; y++)
    for (int x = 0; x < CANVAS; x++)
      canvas[y * CANVAS + x] = data[y * stride + x] / 255.0f;
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

  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_A8, CANVAS, CANVAS);
  g_autofree float *canvas = g_new (float, CANVAS * CANVAS);
  g_autofree float *warped = g_new (float, CANVAS * CANVAS);
  for (int i = 0; i < n; i++) {
    const Face *face = g_ptr_array_index (faces, g_rand_int_range (rng, 0, faces->len));
    render_digit (face, labels[i], rng, surface, canvas, warped,
                  images + (gsize) i * SIZE * SIZE);
  }
  cairo_surface_destroy (surface);

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

  g_autoptr (PangoContext) context = pango_font_map_create_context (
    pango_cairo_font_map_get_default ());
  /* Unhinted outlines: the glyphs are rotated and scaled after layout. */
  cairo_font_options_t *options = cairo_font_options_create ();
  cairo_font_options_set_hint_style (options, CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_hint_metrics (options, CAIRO_HINT_METRICS_OFF);
  pango_cairo_context_set_font_options (context, options);
  cairo_font_options_destroy (options);
  pango_context_set_round_glyph_positions (context, FALSE);

  g_autoptr (GPtrArray) faces = collect_faces (context);
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
