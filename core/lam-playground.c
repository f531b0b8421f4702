/* lam-playground.c: the playground's toy sets, one table entry a kind, and
 * the grid their decision boundaries are drawn over. Everything random or
 * transcendental is computed here from IEEE basic operations, so a seed
 * names the same set on every machine (see lam-playground.h). That also
 * needs each a·b + c rounded twice, as written, not fused into one FMA
 * where the processor has it (arm64 always does): GCC fuses none in ISO C
 * mode (-std=c11, as we build), clang needs the pragma. */
#include "lam-playground.h"

#include <math.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

G_DEFINE_QUARK (lam-playground-error-quark, lam_playground_error)

#define S LAM_PLAYGROUND_SCALE

/* ---- Random numbers: xoshiro256** (Blackman and Vigna), seeded by
 * splitmix64 as its authors advise, so that seeds 0, 1, 2... give unrelated
 * streams. */

typedef struct
{
  guint64 s[4];
} Rng;

static guint64
splitmix64 (guint64 *x)
{
  guint64 z = (*x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static void
rng_init (Rng *rng, guint64 seed)
{
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&seed);
}

static inline guint64
rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static guint64
rng_next (Rng *rng)
{
  guint64 *s = rng->s;
  guint64 result = rotl (s[1] * 5, 7) * 9;
  guint64 t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

/* Uniform in [0, 1): the top 53 bits, exactly representable. */
static double
rng_uniform (Rng *rng)
{
  return (double) (rng_next (rng) >> 11) * 0x1.0p-53;
}

static double
rng_range (Rng *rng, double lo, double hi)
{
  return lo + (hi - lo) * rng_uniform (rng);
}

/* Uniform in [0, bound), without the modulo's bias: draws that fall in the
 * incomplete last cycle of 2⁶⁴ mod bound are drawn again. */
static guint64
rng_below (Rng *rng, guint64 bound)
{
  guint64 threshold = -bound % bound;
  for (;;) {
    guint64 r = rng_next (rng);
    if (r >= threshold)
      return r % bound;
  }
}

/* ---- Elementary functions from + - × ÷ and sqrt, which IEEE 754 rounds
 * correctly and so identically everywhere; libm's log and sin may differ in
 * the last bit from one C library to the next. Accurate to a few units in
 * the last place, far more than a float coordinate keeps. */

/* ln x for finite x > 0: x = m·2^e with m in [√½, √2) (frexp is exact), and
 * ln m = 2 atanh s, s = (m - 1)/(m + 1), |s| < 0.172, summed to s²¹. */
static double
det_log (double x)
{
  int e;
  double m = frexp (x, &e);
  if (m < G_SQRT2 / 2) {
    m *= 2;
    e--;
  }
  double s = (m - 1) / (m + 1), s2 = s * s, sum = 0;
  for (int k = 21; k >= 1; k -= 2)
    sum = sum * s2 + 1.0 / k;
  return 2 * s * sum + e * G_LN2;
}

/* sin and cos of an angle of moderate size (the sets use |a| < 20): a
 * reduced to r in [-π/4, π/4] by a multiple k of π/2 (π/2 in two parts, so
 * the reduction loses nothing), then Taylor series to r¹⁷ and r¹⁶, whose
 * next terms are below 1e-16 there. */
static void
det_sincos (double a, double *sin_a, double *cos_a)
{
  const double pio2_hi = 1.57079632679489655800e+00; /* the double nearest π/2 */
  const double pio2_lo = 6.12323399573676603587e-17; /* π/2 minus it */
  double k = floor (a * (2 / G_PI) + 0.5);
  double r = (a - k * pio2_hi) - k * pio2_lo;
  double r2 = r * r, sn = 1, cs = 1;

  /* sin r = r (1 - r²/(2·3) (1 - r²/(4·5) (1 - …))), cos r the same with
   * 1·2, 3·4, …: nested from the innermost factor out. */
  for (int i = 16; i >= 2; i -= 2) {
    sn = 1 - r2 / (i * (i + 1)) * sn;
    cs = 1 - r2 / ((i - 1) * i) * cs;
  }
  sn *= r;

  switch (((gint64) k % 4 + 4) % 4) {
  case 0:
    *sin_a = sn, *cos_a = cs;
    break;
  case 1:
    *sin_a = cs, *cos_a = -sn;
    break;
  case 2:
    *sin_a = -sn, *cos_a = -cs;
    break;
  default:
    *sin_a = -cs, *cos_a = sn;
    break;
  }
}

/* A standard normal deviate by Marsaglia's polar method, which needs a
 * logarithm but no sine. The pair's second deviate is dropped to keep the
 * stream simple to follow. */
static double
rng_gauss (Rng *rng)
{
  double u, v, q;
  do {
    u = rng_range (rng, -1, 1);
    v = rng_range (rng, -1, 1);
    q = u * u + v * v;
  } while (q >= 1 || q == 0);
  return u * sqrt (-2 * det_log (q) / q);
}

static void
polar (double r, double angle, double *p)
{
  double s, c;
  det_sincos (angle, &s, &c);
  p[0] = r * c;
  p[1] = r * s;
}

/* ---- The kinds. A shape writes a clean point p of class c (of n_classes);
 * noise and the square are applied by the caller. */

typedef void (*ShapeFunc) (Rng *rng, int c, int n_classes, double *p);

static void
shape_circle (Rng *rng, int c, int n_classes, double *p)
{
  /* Radii drawn as square roots of uniform areas, so the disc and the ring
   * are evenly filled rather than crowded at their centres. */
  double r_lo = c == 0 ? 0 : 1.4 * S, r_hi = c == 0 ? S : 2 * S;
  double r = sqrt (rng_range (rng, r_lo * r_lo, r_hi * r_hi));
  polar (r, rng_range (rng, 0, 2 * G_PI), p);
}

static void
shape_xor (Rng *rng, int c, int n_classes, double *p)
{
  /* Class 1 has the quadrants where x1 and x2 share a sign. The 0.3 kept
   * clear of the axes is the Playground's. */
  double sx = rng_below (rng, 2) ? 1 : -1;
  double sy = c == 1 ? sx : -sx;
  p[0] = sx * rng_range (rng, 0.3, 2 * S);
  p[1] = sy * rng_range (rng, 0.3, 2 * S);
}

static void
shape_gauss (Rng *rng, int c, int n_classes, double *p)
{
  double centre = c == 0 ? -2 : 2;
  p[0] = centre + 0.4 * S * rng_gauss (rng);
  p[1] = centre + 0.4 * S * rng_gauss (rng);
}

static void
shape_spiral (Rng *rng, int c, int n_classes, double *p)
{
  double t = rng_uniform (rng);
  polar (2 * S * t, 3.5 * G_PI * t + c * G_PI, p);
}

static void
shape_moons (Rng *rng, int c, int n_classes, double *p)
{
  /* make_moons' lower moon is its upper one turned half a turn about the
   * centre of their bounding box (1/2, 1/4). */
  double s, co;
  det_sincos (rng_range (rng, 0, G_PI), &s, &co);
  double sign = c == 0 ? 1 : -1;
  p[0] = sign * S * (co - 0.5);
  p[1] = sign * S * (s - 0.25);
}

static void
shape_blobs (Rng *rng, int c, int n_classes, double *p)
{
  polar (1.4 * S, G_PI / 2 + 2 * G_PI * c / n_classes, p);
  p[0] += 0.24 * S * rng_gauss (rng);
  p[1] += 0.24 * S * rng_gauss (rng);
}

typedef double (*SurfaceFunc) (double x1, double x2);

static double
surface_plane (double x1, double x2)
{
  return LAM_PLAYGROUND_PLANE_A * x1 + LAM_PLAYGROUND_PLANE_B * x2;
}

static double
surface_ripple (double x1, double x2)
{
  double s1, c1, s2, c2;
  det_sincos (G_PI * x1 / 6, &s1, &c1);
  det_sincos (G_PI * x2 / 6, &s2, &c2);
  return s1 * c2;
}

typedef struct
{
  const char *name;
  const char *label;
  int n_classes; /* 0: regression; -1: as the parameters say */
  const char *class_names[2];
  ShapeFunc shape;
  SurfaceFunc surface;
} KindInfo;

static const KindInfo kinds[LAM_PLAYGROUND_N_KINDS] = {
  [LAM_PLAYGROUND_CIRCLE] = { .name = "circle", .label = "Circle", .n_classes = 2,
                              .class_names = { "inside", "ring" }, .shape = shape_circle },
  [LAM_PLAYGROUND_XOR] = { .name = "xor", .label = "XOR", .n_classes = 2,
                           .class_names = { "opposite signs", "same signs" }, .shape = shape_xor },
  [LAM_PLAYGROUND_GAUSS] = { .name = "gauss", .label = "Gaussian", .n_classes = 2,
                             .class_names = { "lower left", "upper right" },
                             .shape = shape_gauss },
  [LAM_PLAYGROUND_SPIRAL] = { .name = "spiral", .label = "Spiral", .n_classes = 2,
                              .class_names = { "arm 1", "arm 2" }, .shape = shape_spiral },
  [LAM_PLAYGROUND_MOONS] = { .name = "moons", .label = "Moons", .n_classes = 2,
                             .class_names = { "upper moon", "lower moon" },
                             .shape = shape_moons },
  [LAM_PLAYGROUND_BLOBS] = { .name = "blobs", .label = "Blobs", .n_classes = -1,
                             .shape = shape_blobs },
  [LAM_PLAYGROUND_PLANE] = { .name = "plane", .label = "Plane", .surface = surface_plane },
  [LAM_PLAYGROUND_RIPPLE] = { .name = "ripple", .label = "Ripple", .surface = surface_ripple },
};

static const KindInfo *
kind_info (LamPlaygroundKind kind)
{
  if ((int) kind < 0 || kind >= LAM_PLAYGROUND_N_KINDS)
    return NULL;
  return &kinds[kind];
}

const char *
lam_playground_kind_to_string (LamPlaygroundKind kind)
{
  const KindInfo *info = kind_info (kind);
  return info ? info->name : NULL;
}

const char *
lam_playground_kind_get_label (LamPlaygroundKind kind)
{
  const KindInfo *info = kind_info (kind);
  return info ? info->label : NULL;
}

gboolean
lam_playground_kind_from_string (const char *name, LamPlaygroundKind *kind)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (int k = 0; k < LAM_PLAYGROUND_N_KINDS; k++) {
    if (g_str_equal (name, kinds[k].name)) {
      if (kind)
        *kind = k;
      return TRUE;
    }
  }
  return FALSE;
}

gboolean
lam_playground_kind_is_regression (LamPlaygroundKind kind)
{
  const KindInfo *info = kind_info (kind);
  return info != NULL && info->surface != NULL;
}

/* ---- Generating. */

static gboolean
check_params (const LamPlaygroundParams *params, GError **error)
{
  char number[G_ASCII_DTOSTR_BUF_SIZE];

  if (kind_info (params->kind) == NULL) {
    g_autoptr (GString) names = g_string_new (NULL);
    for (int k = 0; k < LAM_PLAYGROUND_N_KINDS; k++)
      g_string_append_printf (names, "%s%s", k ? ", " : "", kinds[k].name);
    g_set_error (error, LAM_PLAYGROUND_ERROR, LAM_PLAYGROUND_ERROR_INVALID,
                 "kind must be one of %s, got %d", names->str, (int) params->kind);
    return FALSE;
  }
  if (params->n_points < LAM_PLAYGROUND_MIN_POINTS ||
      params->n_points > LAM_PLAYGROUND_MAX_POINTS) {
    g_set_error (error, LAM_PLAYGROUND_ERROR, LAM_PLAYGROUND_ERROR_INVALID,
                 "n_points must be between %d and %d, got %d", LAM_PLAYGROUND_MIN_POINTS,
                 LAM_PLAYGROUND_MAX_POINTS, params->n_points);
    return FALSE;
  }
  /* Written so that NaN fails too. */
  if (!(params->noise >= 0 && params->noise <= 1)) {
    g_set_error (error, LAM_PLAYGROUND_ERROR, LAM_PLAYGROUND_ERROR_INVALID,
                 "noise must be between 0 and 1, got %s",
                 g_ascii_formatd (number, sizeof number, "%g", params->noise));
    return FALSE;
  }
  if (params->kind == LAM_PLAYGROUND_BLOBS && (params->n_classes < LAM_PLAYGROUND_MIN_BLOBS ||
                                               params->n_classes > LAM_PLAYGROUND_MAX_BLOBS)) {
    g_set_error (error, LAM_PLAYGROUND_ERROR, LAM_PLAYGROUND_ERROR_INVALID,
                 "n_classes must be between %d and %d for blobs, got %d", LAM_PLAYGROUND_MIN_BLOBS,
                 LAM_PLAYGROUND_MAX_BLOBS, params->n_classes);
    return FALSE;
  }
  return TRUE;
}

static gboolean
in_square (const double *p)
{
  return fabs (p[0]) <= LAM_PLAYGROUND_EXTENT && fabs (p[1]) <= LAM_PLAYGROUND_EXTENT;
}

static void
generate_classes (const KindInfo *info, const LamPlaygroundParams *params, Rng *rng,
                  LamPlaygroundSet *set)
{
  int n = set->n, k = set->n_classes;
  double sigma = params->noise * S;

  /* Balanced: class c gets n/k points, the first n%k classes one more,
   * dealt in order and then shuffled (Fisher–Yates) before any point is
   * drawn, so each point's class is fixed before its position. */
  for (int c = 0, i = 0; c < k; c++) {
    int count = n / k + (c < n % k);
    for (int j = 0; j < count; j++)
      set->labels[i++] = (guint8) c;
  }
  for (int i = n - 1; i > 0; i--) {
    int j = (int) rng_below (rng, (guint64) i + 1);
    guint8 t = set->labels[i];
    set->labels[i] = set->labels[j];
    set->labels[j] = t;
  }

  for (int i = 0; i < n; i++) {
    double p[2];
    /* Shape and jitter drawn again together: a Gaussian blob's own tail
     * can leave the square even without noise. */
    do {
      info->shape (rng, set->labels[i], k, p);
      if (sigma > 0) {
        p[0] += sigma * rng_gauss (rng);
        p[1] += sigma * rng_gauss (rng);
      }
    } while (!in_square (p));
    set->xy[2 * i] = (float) p[0];
    set->xy[2 * i + 1] = (float) p[1];
  }
}

static void
generate_values (const KindInfo *info, const LamPlaygroundParams *params, Rng *rng,
                 LamPlaygroundSet *set)
{
  const double e = LAM_PLAYGROUND_EXTENT;

  for (int i = 0; i < set->n; i++) {
    double x1 = rng_range (rng, -e, e), x2 = rng_range (rng, -e, e);
    double v = info->surface (x1, x2);
    if (params->noise > 0)
      v += params->noise * rng_gauss (rng);
    set->xy[2 * i] = (float) x1;
    set->xy[2 * i + 1] = (float) x2;
    set->values[i] = (float) v;
  }
}

LamPlaygroundSet *
lam_playground_generate (const LamPlaygroundParams *params, GError **error)
{
  g_return_val_if_fail (params != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_params (params, error))
    return NULL;

  const KindInfo *info = kind_info (params->kind);
  g_autoptr (LamPlaygroundSet) set = g_new0 (LamPlaygroundSet, 1);
  Rng rng;
  char noise[G_ASCII_DTOSTR_BUF_SIZE];

  rng_init (&rng, params->seed);
  set->n = params->n_points;
  set->xy = g_new (float, (gsize) 2 * set->n);
  set->regression = info->surface != NULL;
  g_ascii_formatd (noise, sizeof noise, "%g", params->noise);

  if (set->regression) {
    set->values = g_new (float, set->n);
    generate_values (info, params, &rng, set);
    set->name = g_strdup_printf ("%s, %d points, noise %s, seed %" G_GUINT64_FORMAT, info->label,
                                 set->n, noise, params->seed);
    return g_steal_pointer (&set);
  }

  set->n_classes = info->n_classes > 0 ? info->n_classes : params->n_classes;
  set->class_names = g_new0 (char *, set->n_classes + 1);
  for (int c = 0; c < set->n_classes; c++)
    set->class_names[c] = info->n_classes > 0 ? g_strdup (info->class_names[c])
                                              : g_strdup_printf ("blob %d", c + 1);
  set->labels = g_new (guint8, set->n);
  generate_classes (info, params, &rng, set);
  if (info->n_classes > 0)
    set->name = g_strdup_printf ("%s, %d points, noise %s, seed %" G_GUINT64_FORMAT, info->label,
                                 set->n, noise, params->seed);
  else
    set->name = g_strdup_printf ("%s, %d classes, %d points, noise %s, seed %" G_GUINT64_FORMAT,
                                 info->label, set->n_classes, set->n, noise, params->seed);
  return g_steal_pointer (&set);
}

void
lam_playground_set_free (LamPlaygroundSet *set)
{
  if (set == NULL)
    return;
  g_free (set->xy);
  g_free (set->labels);
  g_free (set->values);
  g_strfreev (set->class_names);
  g_free (set->name);
  g_free (set);
}

void
lam_playground_grid (int width, int height, double extent, float *out_xy)
{
  g_return_if_fail (width > 0 && height > 0 && extent > 0 && out_xy != NULL);

  for (int row = 0; row < height; row++) {
    float x2 = (float) (extent - (row + 0.5) * 2 * extent / height);
    for (int col = 0; col < width; col++) {
      float *p = out_xy + 2 * ((gsize) row * width + col);
      p[0] = (float) (-extent + (col + 0.5) * 2 * extent / width);
      p[1] = x2;
    }
  }
}

/* Names */

gboolean
lam_playground_is_uri (const char *text)
{
  return text != NULL && g_str_has_prefix (text, LAM_PLAYGROUND_URI_PREFIX);
}

void
lam_playground_params_init (LamPlaygroundParams *params, LamPlaygroundKind kind)
{
  g_return_if_fail (params != NULL);
  params->kind = kind;
  params->n_points = 400;
  params->noise = 0.1;
  params->n_classes = 4;
  params->seed = 1;
}

static gboolean
parse_number (const char *name, const char *text, double low, double high, gboolean whole,
              double *out, GError **error)
{
  char *end = NULL;
  double value = g_ascii_strtod (text, &end);
  if (text[0] == '\0' || end == NULL || *end != '\0' || !isfinite (value) ||
      (whole && value != floor (value))) {
    g_set_error (error, LAM_PLAYGROUND_ERROR, LAM_PLAYGROUND_ERROR_INVALID,
                 "%s must be %s, got \"%s\"", name, whole ? "a whole number" : "a number",
                 text);
    return FALSE;
  }
  if (value < low || value > high) {
    g_set_error (error, LAM_PLAYGROUND_ERROR, LAM_PLAYGROUND_ERROR_INVALID,
                 "%s must be between %g and %g, got %s", name, low, high, text);
    return FALSE;
  }
  *out = value;
  return TRUE;
}

gboolean
lam_playground_params_parse (const char *uri, LamPlaygroundParams *params, GError **error)
{
  g_return_val_if_fail (uri != NULL && params != NULL, FALSE);
  if (!lam_playground_is_uri (uri)) {
    g_set_error (error, LAM_PLAYGROUND_ERROR, LAM_PLAYGROUND_ERROR_INVALID,
                 "\"%s\" is not a playground set (expected %sKIND?points=N&noise=X&seed=S)",
                 uri, LAM_PLAYGROUND_URI_PREFIX);
    return FALSE;
  }
  const char *rest = uri + strlen (LAM_PLAYGROUND_URI_PREFIX);
  const char *query = strchr (rest, '?');
  g_autofree char *kind_name = query ? g_strndup (rest, query - rest) : g_strdup (rest);
  LamPlaygroundKind kind;
  if (!lam_playground_kind_from_string (kind_name, &kind)) {
    g_autoptr (GString) known = g_string_new (NULL);
    for (int k = 0; k < LAM_PLAYGROUND_N_KINDS; k++)
      g_string_append_printf (known, "%s%s", k > 0 ? ", " : "",
                              lam_playground_kind_to_string (k));
    g_set_error (error, LAM_PLAYGROUND_ERROR, LAM_PLAYGROUND_ERROR_INVALID,
                 "unknown playground set \"%s\" (known: %s)", kind_name, known->str);
    return FALSE;
  }
  LamPlaygroundParams parsed;
  lam_playground_params_init (&parsed, kind);
  g_auto (GStrv) pairs = query ? g_strsplit (query + 1, "&", -1) : NULL;
  for (int i = 0; pairs != NULL && pairs[i] != NULL; i++) {
    if (pairs[i][0] == '\0')
      continue;
    const char *equals = strchr (pairs[i], '=');
    g_autofree char *key = equals ? g_strndup (pairs[i], equals - pairs[i]) : g_strdup (pairs[i]);
    const char *value = equals ? equals + 1 : "";
    double number;
    if (g_str_equal (key, "points")) {
      if (!parse_number ("points", value, LAM_PLAYGROUND_MIN_POINTS, LAM_PLAYGROUND_MAX_POINTS,
                         TRUE, &number, error))
        return FALSE;
      parsed.n_points = (int) number;
    } else if (g_str_equal (key, "noise")) {
      if (!parse_number ("noise", value, 0, 1, FALSE, &number, error))
        return FALSE;
      parsed.noise = number;
    } else if (g_str_equal (key, "classes")) {
      if (!parse_number ("classes", value, LAM_PLAYGROUND_MIN_BLOBS, LAM_PLAYGROUND_MAX_BLOBS,
                         TRUE, &number, error))
        return FALSE;
      parsed.n_classes = (int) number;
    } else if (g_str_equal (key, "seed")) {
      if (!parse_number ("seed", value, 0, 9007199254740992.0, TRUE, &number, error))
        return FALSE;
      parsed.seed = (guint64) number;
    } else {
      g_set_error (error, LAM_PLAYGROUND_ERROR, LAM_PLAYGROUND_ERROR_INVALID,
                   "unknown playground parameter \"%s\" (known: points, noise, classes, seed)",
                   key);
      return FALSE;
    }
  }
  *params = parsed;
  return TRUE;
}

char *
lam_playground_params_to_uri (const LamPlaygroundParams *params)
{
  g_return_val_if_fail (params != NULL, NULL);
  char noise[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (noise, sizeof noise, "%g", params->noise);
  g_autoptr (GString) uri = g_string_new (LAM_PLAYGROUND_URI_PREFIX);
  g_string_append_printf (uri, "%s?points=%d&noise=%s",
                          lam_playground_kind_to_string (params->kind), params->n_points, noise);
  if (params->kind == LAM_PLAYGROUND_BLOBS)
    g_string_append_printf (uri, "&classes=%d", params->n_classes);
  g_string_append_printf (uri, "&seed=%" G_GUINT64_FORMAT, params->seed);
  return g_string_free (g_steal_pointer (&uri), FALSE);
}

/* As datasets */

static LamDataset *
set_to_table (const LamPlaygroundSet *set, const char *name)
{
  LamDataset *table = g_new0 (LamDataset, 1);
  table->name = g_strdup (name);
  table->n = set->n;
  table->channels = 1;
  table->height = 1;
  table->width = 2;
  table->n_features = 2;
  table->features = g_memdup2 (set->xy, sizeof (float) * 2 * (gsize) set->n);
  const char *const features[] = { "x1", "x2", NULL };
  table->feature_names = g_strdupv ((char **) features);
  if (set->regression) {
    table->task = LAM_TASK_REGRESSION;
    table->n_targets = 1;
    table->targets = g_memdup2 (set->values, sizeof (float) * (gsize) set->n);
    const char *const targets[] = { "y", NULL };
    table->target_names = g_strdupv ((char **) targets);
  } else {
    table->task = LAM_TASK_CLASSIFICATION;
    table->labels = g_memdup2 (set->labels, (gsize) set->n);
    table->n_classes = set->n_classes;
    table->class_names = g_strdupv (set->class_names);
    const char *const targets[] = { "class", NULL };
    table->target_names = g_strdupv ((char **) targets);
  }
  return table;
}

gboolean
lam_playground_load (const char *uri, LamDataset **train, LamDataset **test, GError **error)
{
  g_return_val_if_fail (train != NULL, FALSE);
  LamPlaygroundParams params;
  if (!lam_playground_params_parse (uri, &params, error))
    return FALSE;
  g_autoptr (LamPlaygroundSet) set = lam_playground_generate (&params, error);
  if (set == NULL)
    return FALSE;
  /* The test points: a fifth as many more of the same shape, from a seed
   * of their own. */
  LamPlaygroundParams test_params = params;
  test_params.n_points = MAX (LAM_PLAYGROUND_MIN_POINTS, params.n_points / 5);
  test_params.seed = params.seed ^ G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  g_autoptr (LamPlaygroundSet) test_set = lam_playground_generate (&test_params, error);
  if (test_set == NULL)
    return FALSE;
  g_autofree char *train_name = g_strdup_printf ("%s (train)", set->name);
  g_autofree char *test_name = g_strdup_printf ("%s (test)", set->name);
  LamDataset *train_table = set_to_table (set, train_name);
  /* The points span [-6, 6]: scaled to about unit spread, as a table
   * is, by the training points' own statistics. */
  lam_dataset_table_set_scaling (train_table, NULL, 0, TRUE);
  *train = train_table;
  if (test != NULL) {
    *test = set_to_table (test_set, test_name);
    lam_dataset_table_copy_scaling (*test, train_table);
  }
  return TRUE;
}
