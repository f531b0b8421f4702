#include "lam-chart.h"
#include "lam-chart-private.h"
#include "lam-axis-ticks.h"

#include <cairo-svg.h>
#include <math.h>
#include <string.h>

#include "lam-metrics.h"
#include "lam-ui-util.h"

#define MIN_WIDTH 320
#define MIN_HEIGHT 200
#define NATURAL_WIDTH 480
#define NATURAL_HEIGHT 300
#define MAX_TICKS 128

typedef struct
{
  guint id;
  char *name;
  GdkRGBA color;
  LamChartSeriesFlags flags;
  GArray *xs;        /* double */
  GArray *ys;        /* double, as appended, NAN included */
  GArray *smooth;    /* double, parallel to ys; empty unless SMOOTHED */
  double ema;        /* running average before bias correction */
  double ema_weight; /* 1 - smoothing^k after k finite values */
  gboolean x_sorted; /* lets the nearest-point search bisect */
  /* Over finite points only; pos_ are over y > 0 for log axes. */
  double x_min, x_max, y_min, y_max, pos_min, pos_max;
} Series;

typedef struct
{
  double x;
  char *label;
  GdkRGBA color;
  gboolean has_color; /* else the text colour */
  gboolean faded;
} Marker;

typedef enum
{
  LOG_LABELS_DECADES,
  LOG_LABELS_1_2_5,
  LOG_LABELS_ALL,
} LogLabels;

typedef struct
{
  int width, height;
  double plot_x, plot_y, plot_w, plot_h;
  double x_lo, x_hi, x_step;
  int x_decimals;
  /* In axis units: log10 (y) when log_y. */
  double y_lo, y_hi, y_step;
  int y_decimals;
  gboolean log_y;
  gboolean log_minor_grid;
  LogLabels log_labels;
  int log_label_stride;
  int text_height;
  double legend_h;    /* the band below the x axis's label, 0 without a legend */
  double legend_room; /* the most the legend's lines may take */
} Layout;

typedef struct
{
  double value; /* data units */
  double axis;  /* axis units */
  gboolean major;
  gboolean labelled;
} Tick;

typedef enum
{
  TEXT_TICK,
  TEXT_LABEL,
  TEXT_TITLE,
  TEXT_SMALL,
} TextKind;

struct _LamChart
{
  GtkWidget parent_instance;

  char *title;
  gboolean title_at_start; /* over the plot's left edge, not its middle */
  char *x_label;
  char *y_label;
  gboolean log_y;
  double y_min_fixed; /* NAN when automatic */
  double y_max_fixed;
  LamChartFormat y_format;
  double smoothing;
  double line_width;

  GPtrArray *series; /* owned Series *, in the order added */
  GArray *markers;   /* Marker */
  guint next_id;

  GdkRGBA fg;
  GdkRGBA bg;
  PangoFontDescription *font; /* owned; what the colours and layout were read with */
  gboolean style_valid;

  /* Bumped by every change that alters the drawing; caches compare it. */
  guint64 version;
  Layout layout;
  guint64 layout_version;
  int last_draw_width;
  int last_draw_height;

  /* Everything but the hover overlay, so that pointer motion reuses it. */
  GskRenderNode *lines_node;
  guint64 lines_version;
  int lines_width;
  int lines_height;
  int lines_scale; /* that of the kept drawing it shows, see under */

  /* What lies under the current run (the grid, the markers' lines and the
   * earlier runs), drawn once: an epoch report of the current run
   * re-stroked ten kept runs' curves otherwise. under_version is bumped by
   * every change but a point of a series drawn above them; the layout,
   * scale and colours are compared as well. */
  guint64 under_version;
  cairo_surface_t *under; /* owned, NULL until drawn */
  guint64 under_drawn_version;
  Layout under_layout;
  int under_scale;
  GdkRGBA under_fg;
  GdkRGBA under_bg;
  gboolean under_disabled; /* by lam_chart_set_under_cache() */
  guint under_draws;

  gboolean hover;
  double hover_x;
  double hover_y;

  GtkWidget *menu; /* owned: the context menu, a child popover, made on first use */
};

G_DEFINE_FINAL_TYPE (LamChart, lam_chart, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_TITLE,
  PROP_LOG_Y,
  PROP_SMOOTHING,
  PROP_LINE_WIDTH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* GNOME palette: blue, orange, green, red, purple, brown; readable on light and dark. */
static const char *const palette[] = {
  "#3584e4", "#e66100", "#26a269", "#c01c28", "#9141ac", "#986a44",
};

/* Mid-tones (relative luminance 0.17 to 0.28) of ten hues: blue, orange,
 * green, red, violet, pink, olive, teal, brown, slate. Darker ones vanish
 * on a dark background, lighter ones on a light one; tests/test-chart.c
 * checks the contrast and the distances. */
static const char *const run_palette[LAM_CHART_N_RUN_COLORS] = {
  "#3584e4", "#e66100", "#26a269", "#e01b24", "#9952e0",
  "#ce559b", "#998c00", "#1c879c", "#a0703c", "#6d7b8d",
};

static void
series_free (gpointer data)
{
  Series *s = data;

  g_free (s->name);
  g_array_unref (s->xs);
  g_array_unref (s->ys);
  g_array_unref (s->smooth);
  g_free (s);
}

static void
marker_clear (gpointer data)
{
  Marker *m = data;

  g_clear_pointer (&m->label, g_free);
}

static Series *
find_series (LamChart *self, guint id)
{
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      if (s->id == id)
        return s;
    }
  return NULL;
}

static void
series_push_smooth (Series *s, double smoothing, double y)
{
  double v = NAN;

  /* Bias-corrected, so the curve starts at the first value instead of 0. */
  if (isfinite (y))
    {
      s->ema = smoothing * s->ema + (1.0 - smoothing) * y;
      s->ema_weight = smoothing * s->ema_weight + (1.0 - smoothing);
      v = s->ema / s->ema_weight;
    }
  g_array_append_val (s->smooth, v);
}

static void
series_resmooth (Series *s, double smoothing)
{
  const double *ys = (const double *) s->ys->data;

  s->ema = 0;
  s->ema_weight = 0;
  g_array_set_size (s->smooth, 0);
  for (guint i = 0; i < s->ys->len; i++)
    series_push_smooth (s, smoothing, ys[i]);
}

static guint
series_nearest (const Series *s, double x)
{
  const double *xs = (const double *) s->xs->data;
  guint n = s->xs->len;
  guint best = 0;

  g_assert (n > 0);

  if (s->x_sorted)
    {
      guint lo = 0, hi = n;

      while (lo < hi)
        {
          guint mid = lo + (hi - lo) / 2;
          if (xs[mid] < x)
            lo = mid + 1;
          else
            hi = mid;
        }
      if (lo == n)
        return n - 1;
      if (lo > 0 && x - xs[lo - 1] <= xs[lo] - x)
        return lo - 1;
      return lo;
    }

  for (guint i = 1; i < n; i++)
    if (fabs (xs[i] - x) < fabs (xs[best] - x))
      best = i;
  return best;
}

static double
series_display_value (LamChart *self, const Series *s, guint i)
{
  if ((s->flags & LAM_CHART_SERIES_SMOOTHED) && self->smoothing > 0)
    return g_array_index (s->smooth, double, i);
  return g_array_index (s->ys, double, i);
}

/* A change to what is drawn above the earlier runs only: a point of the
 * current run. One that moves an axis changes the layout, which the cache
 * of what is under it compares. */
static void
chart_changed_above (LamChart *self)
{
  self->version++;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
chart_changed (LamChart *self)
{
  self->under_version++;
  chart_changed_above (self);
}

static double
luminance (const GdkRGBA *c)
{
  return 0.2126 * c->red + 0.7152 * c->green + 0.0722 * c->blue;
}

static gboolean
read_style (LamChart *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkStyleContext *context = gtk_widget_get_style_context (widget);
  const PangoFontDescription *font;
  GdkRGBA fg, bg;
  gboolean changed;

  gtk_style_context_get_color (context, &fg);
  if ((!gtk_style_context_lookup_color (context, "window_bg_color", &bg)
       && !gtk_style_context_lookup_color (context, "theme_bg_color", &bg))
      || fabs (luminance (&bg) - luminance (&fg)) < 0.3)
    {
      if (luminance (&fg) > 0.5)
        bg = (GdkRGBA) { 0.14, 0.14, 0.14, 1.0 };
      else
        bg = (GdkRGBA) { 1.0, 1.0, 1.0, 1.0 };
    }
  bg.alpha = 1.0;

  font = pango_context_get_font_description (gtk_widget_get_pango_context (widget));
  changed = !self->style_valid || !gdk_rgba_equal (&fg, &self->fg)
            || !gdk_rgba_equal (&bg, &self->bg) || self->font == NULL || font == NULL
            || !pango_font_description_equal (font, self->font);

  self->fg = fg;
  self->bg = bg;
  g_clear_pointer (&self->font, pango_font_description_free);
  self->font = font != NULL ? pango_font_description_copy (font) : NULL;
  self->style_valid = TRUE;
  return changed;
}

static void
ensure_style (LamChart *self)
{
  if (!self->style_valid)
    read_style (self);
}

/* Translucent colours lose more contrast on a dark background. Earlier
 * runs keep their own colours, so they are only lightened: a paler tint
 * of ten hues would run them together. */
static double
faded_alpha (LamChart *self)
{
  return luminance (&self->bg) < 0.5 ? 0.75 : 0.65;
}

static PangoLayout *
create_text (LamChart *self, const char *text, TextKind kind)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  g_autoptr (PangoAttrList) attrs = pango_attr_list_new ();

  switch (kind)
    {
    case TEXT_TICK:
      pango_attr_list_insert (attrs, pango_attr_scale_new (0.9));
      pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum"));
      break;
    case TEXT_TITLE:
      pango_attr_list_insert (attrs, pango_attr_scale_new (1.15));
      pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
      break;
    case TEXT_SMALL:
      pango_attr_list_insert (attrs, pango_attr_scale_new (0.85));
      pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum"));
      break;
    case TEXT_LABEL:
    default:
      break;
    }
  pango_layout_set_attributes (layout, attrs);
  return layout;
}

static void
text_size (LamChart *self, const char *text, TextKind kind, int *width, int *height)
{
  g_autoptr (PangoLayout) layout = create_text (self, text, kind);

  pango_layout_get_pixel_size (layout, width, height);
}

static void
show_text (LamChart *self, cairo_t *cr, const char *text, TextKind kind, double x, double y,
           double align_x, double align_y)
{
  g_autoptr (PangoLayout) layout = create_text (self, text, kind);
  int w, h;

  pango_layout_get_pixel_size (layout, &w, &h);
  cairo_move_to (cr, round (x - align_x * w), round (y - align_y * h));
  pango_cairo_show_layout (cr, layout);
}

/* Text at most width pixels wide, cut with an ellipsis past it. */
static void
show_text_cut (LamChart *self, cairo_t *cr, const char *text, TextKind kind, double x, double y,
               int width)
{
  g_autoptr (PangoLayout) layout = create_text (self, text, kind);

  pango_layout_set_width (layout, MAX (width, 1) * PANGO_SCALE);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  cairo_move_to (cr, round (x), round (y));
  pango_cairo_show_layout (cr, layout);
}

static char *
minus_sign (char *text)
{
  if (text[0] != '-')
    return text;
  char *fixed = g_strconcat ("\xe2\x88\x92", text + 1, NULL);
  g_free (text);
  return fixed;
}

static char *
format_tick (double value, int decimals, LamChartFormat format)
{
  if (format == LAM_CHART_FORMAT_PERCENT)
    {
      g_autofree char *number = lam_axis_format_tick (value * 100, decimals);
      return g_strconcat (number, "%", NULL);
    }
  return lam_axis_format_tick (value, decimals);
}

static char *
format_log_tick (double value, LamChartFormat format)
{
  const char *suffix = "";
  int exponent;

  if (format == LAM_CHART_FORMAT_PERCENT)
    {
      value *= 100;
      suffix = "%";
    }
  exponent = (int) floor (log10 (value) + 1e-9);
  if (exponent < -4 || exponent > 5)
    return g_strdup_printf ("%.0fe%d%s", value / pow (10, exponent), exponent, suffix);
  return g_strdup_printf ("%.*f%s", MAX (0, -exponent), value, suffix);
}

static char *
format_value (double value, LamChartFormat format)
{
  if (format == LAM_CHART_FORMAT_PERCENT)
    return minus_sign (g_strdup_printf ("%.1f%%", value * 100));
  return minus_sign (g_strdup_printf ("%.4g", value));
}

static guint
linear_ticks (double lo, double hi, double step, Tick *out)
{
  double values[MAX_TICKS];
  guint n = lam_axis_ticks (lo, hi, step, values, MAX_TICKS);

  for (guint i = 0; i < n; i++)
    out[i] = (Tick) { values[i], values[i], TRUE, TRUE };
  return n;
}

static guint
y_ticks (const Layout *l, Tick *out)
{
  guint n = 0;

  if (!l->log_y)
    return linear_ticks (l->y_lo, l->y_hi, l->y_step, out);

  /* Decades too close to label each one are labelled every stride-th, and
   * lose their 2..9 grid lines. */
  int first = (int) floor (l->y_lo);
  int stride = l->log_minor_grid ? 1 : l->log_label_stride;
  /* Counted from the lowest decade in view: counted from the one below,
   * two decades in view at a stride of 2 had one label. */
  int labelled_from = (int) ceil (l->y_lo - 1e-9);

  for (int k = stride > 1 ? labelled_from : first; k <= (int) ceil (l->y_hi) && n < MAX_TICKS;
       k += stride)
    for (int m = 1; m <= (l->log_minor_grid ? 9 : 1) && n < MAX_TICKS; m++)
      {
        double a = k + log10 (m);
        gboolean labelled;

        if (a < l->y_lo - 1e-9 || a > l->y_hi + 1e-9)
          continue;
        if (m == 1)
          labelled = (k - labelled_from) % l->log_label_stride == 0;
        else if (l->log_labels == LOG_LABELS_1_2_5)
          labelled = m == 2 || m == 5;
        else
          labelled = l->log_labels == LOG_LABELS_ALL;
        out[n++] = (Tick) { pow (10, a), a, m == 1, labelled };
      }
  return n;
}

static char *
y_tick_label (LamChart *self, const Layout *l, const Tick *t)
{
  if (l->log_y)
    return format_log_tick (t->value, self->y_format);
  return format_tick (t->value, l->y_decimals, self->y_format);
}

static guint
count_labelled_y_ticks (const Layout *l)
{
  Tick ticks[MAX_TICKS];
  guint n = y_ticks (l, ticks), labelled = 0;

  for (guint i = 0; i < n; i++)
    labelled += ticks[i].labelled;
  return labelled;
}

/* The log10 of the first 1, 2 or 5 × 10^k past a, upwards (direction 1)
 * or downwards (-1). */
static double
next_1_2_5 (double a, int direction)
{
  static const double marks[] = { 0, 0.30102999566398120, 0.69897000433601886 };
  int base = (int) floor (a);

  for (int i = 0; i < 9; i++)
    {
      int j = direction > 0 ? i : 8 - i;
      double mark = base - 1 + j / 3 + marks[j % 3];

      if (direction > 0 ? mark > a + 1e-9 : mark < a - 1e-9)
        return mark;
    }
  return a + direction;
}

static double
layout_x (const Layout *l, double x)
{
  return l->plot_x + (x - l->x_lo) / (l->x_hi - l->x_lo) * l->plot_w;
}

static double
layout_axis_y (const Layout *l, double a)
{
  return l->plot_y + l->plot_h - (a - l->y_lo) / (l->y_hi - l->y_lo) * l->plot_h;
}

static double
layout_y (const Layout *l, double y)
{
  return layout_axis_y (l, l->log_y ? log10 (y) : y);
}

static gboolean
layout_can_show (const Layout *l, double y)
{
  return isfinite (y) && (!l->log_y || y > 0);
}

static double legend_band_height (LamChart *self, int width, double room);

static void
compute_layout (LamChart *self, int width, int height, Layout *l)
{
  double x_min = INFINITY, x_max = -INFINITY;
  double y_min = INFINITY, y_max = -INFINITY;
  double pos_min = INFINITY, pos_max = -INFINITY;
  gboolean fix_lo, fix_hi;
  double lo, hi;
  int tick_w, tick_h, label_h = 0, title_h = 0, dummy;
  double pad, top, bottom, left, right;
  Tick ticks[MAX_TICKS];
  guint n_ticks;

  memset (l, 0, sizeof *l);
  l->width = width;
  l->height = height;
  l->log_y = self->log_y;

  for (guint i = 0; i < self->series->len; i++)
    {
      const Series *s = g_ptr_array_index (self->series, i);
      x_min = MIN (x_min, s->x_min);
      x_max = MAX (x_max, s->x_max);
      y_min = MIN (y_min, s->y_min);
      y_max = MAX (y_max, s->y_max);
      pos_min = MIN (pos_min, s->pos_min);
      pos_max = MAX (pos_max, s->pos_max);
    }
  for (guint i = 0; i < self->markers->len; i++)
    {
      double x = g_array_index (self->markers, Marker, i).x;
      x_min = MIN (x_min, x);
      x_max = MAX (x_max, x);
    }

  text_size (self, "0123456789", TEXT_TICK, &tick_w, &tick_h);
  l->text_height = tick_h;
  if (self->x_label != NULL || self->y_label != NULL)
    text_size (self, "Epoch", TEXT_LABEL, &dummy, &label_h);
  if (self->title != NULL)
    text_size (self, self->title, TEXT_TITLE, &dummy, &title_h);

  pad = MAX (6.0, tick_h * 0.5);
  top = self->title != NULL ? pad + title_h + pad * 0.75 : pad + tick_h * 0.5;
  bottom = pad + tick_h + 5 + (self->x_label != NULL ? label_h + 2 : 0);
  /* The plot keeps at least half the height it would have without a
   * legend: a short chart (presentation mode at 1024×768) had a sliver. */
  l->legend_room = floor ((height - top - bottom) / 2);
  l->legend_h = legend_band_height (self, width, l->legend_room);
  bottom += l->legend_h;
  l->plot_y = top;
  l->plot_h = MAX (10.0, height - top - bottom);

  /* y axis */
  fix_lo = isfinite (self->y_min_fixed);
  fix_hi = isfinite (self->y_max_fixed);
  if (l->log_y)
    {
      gboolean have_data = isfinite (pos_min);
      double decade_h;

      fix_lo = fix_lo && self->y_min_fixed > 0;
      fix_hi = fix_hi && self->y_max_fixed > 0;
      lo = fix_lo ? log10 (self->y_min_fixed) : have_data ? log10 (pos_min) : 0;
      hi = fix_hi ? log10 (self->y_max_fixed) : have_data ? log10 (pos_max) : 1;
      if (hi < lo)
        {
          if (fix_lo)
            hi = lo + 1;
          else
            lo = hi - 1;
        }
      /* At least half a decade, so that a flat curve does not blow its noise
       * up to the full height. */
      if (hi - lo < 0.5)
        {
          double missing = 0.5 - (hi - lo);
          if (!fix_lo && !fix_hi)
            {
              lo -= missing / 2;
              hi += missing / 2;
            }
          else if (!fix_lo)
            lo -= missing;
          else if (!fix_hi)
            hi += missing;
        }
      double span = hi - lo;
      if (!fix_lo)
        lo -= 0.05 * span;
      if (!fix_hi)
        hi += 0.05 * span;
      l->y_lo = lo;
      l->y_hi = hi;

      /* 1, 2 and 5 are at least 0.3 decades apart, 8 and 9 only 0.05. */
      decade_h = l->plot_h / (hi - lo);
      l->log_label_stride = MAX (1, (int) ceil (1.4 * tick_h / MAX (decade_h, 1.0)));
      l->log_minor_grid = decade_h >= 24;
      l->log_labels = decade_h >= 28 * tick_h ? LOG_LABELS_ALL
                      : decade_h >= 4.7 * tick_h ? LOG_LABELS_1_2_5
                                                 : LOG_LABELS_DECADES;
      /* One number gives no scale. A view with one decade in it, or none,
       * labels its 2s and 5s, or each decade, closer together than usual;
       * failing that, a free end moves out to the next label. */
      if (count_labelled_y_ticks (l) < 2)
        {
          if (0.3 * decade_h >= tick_h)
            {
              l->log_labels = MAX (l->log_labels, LOG_LABELS_1_2_5);
              l->log_minor_grid = TRUE;
            }
          if (decade_h >= tick_h)
            l->log_label_stride = 1;
          if (count_labelled_y_ticks (l) < 2)
            {
              gboolean marks = l->log_labels != LOG_LABELS_DECADES;

              if (!fix_hi)
                l->y_hi = marks ? next_1_2_5 (hi, 1) : floor (hi + 1e-9) + 1;
              else if (!fix_lo)
                l->y_lo = marks ? next_1_2_5 (lo, -1) : ceil (lo - 1e-9) - 1;
            }
        }
    }
  else
    {
      gboolean have_data = isfinite (y_min);

      lo = have_data ? y_min : 0;
      hi = have_data ? y_max : 1;
      if (fix_lo)
        lo = self->y_min_fixed;
      if (fix_hi)
        hi = self->y_max_fixed;
      if (hi < lo)
        {
          if (fix_lo)
            hi = lo + 1;
          else
            lo = hi - 1;
        }
      if (hi - lo < 1e-12 * MAX (1.0, fabs (hi)))
        {
          double spread = fabs (lo) > 1e-12 ? fabs (lo) * 0.1 : 0.5;
          if (!fix_lo)
            lo -= spread;
          if (!fix_hi)
            hi += spread;
        }
      /* A little headroom, but a loss that never goes negative keeps 0 as its floor. */
      double span = hi - lo;
      if (!fix_lo)
        {
          double v = lo - 0.05 * span;
          lo = (have_data && y_min >= 0 && v < 0) ? 0 : v;
        }
      if (!fix_hi)
        hi += 0.05 * span;
      l->y_lo = lo;
      l->y_hi = hi;

      l->y_step =
        lam_axis_step_near (lo, hi, CLAMP ((int) (l->plot_h / 50), 2, 8), LAM_AXIS_STEPS_1_2_5);
      for (int attempt = 0; attempt < 8; attempt++)
        {
          if (l->plot_h * l->y_step / (hi - lo) >= 2.0 * tick_h)
            break;
          l->y_step = lam_axis_step_coarser (l->y_step, LAM_AXIS_STEPS_1_2_5);
        }
      /* Labels two lines apart could leave a short plot (presentation mode
       * at 1024×768) a single tick, or none, and no scale to read: closer
       * labels beat that, and failing those, free ends moved out to the
       * ticks around the data, at the finest step whose labels still lie
       * a line apart. */
      for (double finer = l->y_step; lam_axis_count_ticks (lo, hi, l->y_step) < 2;)
        {
          finer = lam_axis_step_finer (finer, LAM_AXIS_STEPS_1_2_5);
          if (l->plot_h * finer / (hi - lo) < tick_h)
            break;
          if (lam_axis_count_ticks (lo, hi, finer) >= 2)
            l->y_step = finer;
        }
      if (lam_axis_count_ticks (lo, hi, l->y_step) < 2 && l->plot_h >= tick_h)
        {
          double best = 0;

          for (double step = l->y_step; step > l->y_step * 1e-3;
               step = lam_axis_step_finer (step, LAM_AXIS_STEPS_1_2_5))
            {
              double out_lo = fix_lo ? lo : floor (lo / step + 1e-9) * step;
              double out_hi = fix_hi ? hi : ceil (hi / step - 1e-9) * step;

              if (lam_axis_count_ticks (out_lo, out_hi, step) < 2
                  || l->plot_h * step / (out_hi - out_lo) < tick_h)
                break;
              best = step;
              l->y_lo = out_lo;
              l->y_hi = out_hi;
            }
          if (best > 0)
            l->y_step = best;
          else if (!fix_hi)
            l->y_hi = (ceil (lo / l->y_step - 1e-9) + 1) * l->y_step;
          else if (!fix_lo)
            l->y_lo = (floor (hi / l->y_step + 1e-9) - 1) * l->y_step;
        }
      l->y_decimals = lam_axis_step_decimals (
        self->y_format == LAM_CHART_FORMAT_PERCENT ? l->y_step * 100 : l->y_step);
    }

  int widest = 0;
  n_ticks = y_ticks (l, ticks);
  for (guint i = 0; i < n_ticks; i++)
    {
      g_autofree char *text = NULL;
      int w, h;

      if (!ticks[i].labelled)
        continue;
      text = y_tick_label (self, l, &ticks[i]);
      text_size (self, text, TEXT_TICK, &w, &h);
      widest = MAX (widest, w);
    }

  left = pad + (self->y_label != NULL ? label_h + 6 : 0) + widest + 6;
  right = pad + tick_h;
  l->plot_x = left;
  l->plot_w = MAX (10.0, width - left - right);

  /* x axis: at least one unit (an epoch) wide, ends on ticks so it grows in steps. */
  if (!isfinite (x_min))
    {
      x_min = 0;
      x_max = 1;
    }
  x_max = MAX (x_max, floor (x_min) + 1);

  double step =
    lam_axis_step_near (x_min, x_max, MAX (2, (int) (l->plot_w / 90)), LAM_AXIS_STEPS_1_2_5);
  int last_w = 0;
  for (int attempt = 0; attempt < 8; attempt++)
    {
      int x_widest = 0;

      l->x_step = step;
      l->x_lo = floor (x_min / step + 1e-9) * step;
      l->x_hi = ceil (x_max / step - 1e-9) * step;
      if (l->x_hi <= l->x_lo)
        l->x_hi = l->x_lo + step;
      l->x_decimals = lam_axis_step_decimals (step);

      n_ticks = linear_ticks (l->x_lo, l->x_hi, step, ticks);
      for (guint i = 0; i < n_ticks; i++)
        {
          g_autofree char *text = format_tick (ticks[i].value, l->x_decimals,
                                               LAM_CHART_FORMAT_NUMBER);
          int w, h;

          text_size (self, text, TEXT_TICK, &w, &h);
          x_widest = MAX (x_widest, w);
          last_w = w;
        }
      if (l->plot_w * step / (l->x_hi - l->x_lo) >= x_widest + 2 * tick_h)
        break;
      step = lam_axis_step_coarser (step, LAM_AXIS_STEPS_1_2_5);
    }

  /* Room for half of the last tick label past the plot's right edge. */
  right = MAX (pad, last_w / 2.0 + 4);
  l->plot_w = MAX (10.0, width - left - right);
}

static void
current_size (LamChart *self, int *width, int *height)
{
  GtkWidget *widget = GTK_WIDGET (self);

  *width = gtk_widget_get_width (widget);
  *height = gtk_widget_get_height (widget);
  if (*width > 0 && *height > 0)
    return;
  if (self->last_draw_width > 0 && self->last_draw_height > 0)
    {
      *width = self->last_draw_width;
      *height = self->last_draw_height;
      return;
    }
  *width = NATURAL_WIDTH;
  *height = NATURAL_HEIGHT;
}

static const Layout *
get_layout (LamChart *self, int width, int height)
{
  ensure_style (self);
  if (self->layout_version != self->version || self->layout.width != width
      || self->layout.height != height)
    {
      compute_layout (self, width, height, &self->layout);
      self->layout_version = self->version;
    }
  return &self->layout;
}

static void
crisp_hline (cairo_t *cr, double x0, double x1, double y)
{
  y = floor (y) + 0.5;
  cairo_move_to (cr, x0, y);
  cairo_line_to (cr, x1, y);
}

static void
crisp_vline (cairo_t *cr, double x, double top, double bottom)
{
  x = floor (x) + 0.5;
  cairo_move_to (cr, x, top);
  cairo_line_to (cr, x, bottom);
}

static void
draw_grid (LamChart *self, cairo_t *cr, const Layout *l)
{
  Tick ticks[MAX_TICKS];
  guint n;
  double right = l->plot_x + l->plot_w;
  double bottom = l->plot_y + l->plot_h;

  cairo_set_line_width (cr, 1);

  n = y_ticks (l, ticks);
  for (guint pass = 0; pass < 2; pass++)
    {
      gboolean major = pass == 1;

      for (guint i = 0; i < n; i++)
        if (ticks[i].major == major)
          crisp_hline (cr, l->plot_x, right, layout_axis_y (l, ticks[i].axis));
      if (major)
        {
          n = linear_ticks (l->x_lo, l->x_hi, l->x_step, ticks);
          for (guint i = 0; i < n; i++)
            crisp_vline (cr, layout_x (l, ticks[i].value), l->plot_y, bottom);
        }
      lam_ui_set_source (cr, &self->fg, major ? 0.12 : 0.05);
      cairo_stroke (cr);
    }

  crisp_hline (cr, l->plot_x, right, bottom);
  crisp_vline (cr, l->plot_x, l->plot_y, bottom);
  lam_ui_set_source (cr, &self->fg, 0.45);
  cairo_stroke (cr);
}

static void
draw_tick_labels (LamChart *self, cairo_t *cr, const Layout *l)
{
  Tick ticks[MAX_TICKS];
  guint n;

  lam_ui_set_source (cr, &self->fg, 0.75);

  n = y_ticks (l, ticks);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = NULL;

      if (!ticks[i].labelled)
        continue;
      text = y_tick_label (self, l, &ticks[i]);
      show_text (self, cr, text, TEXT_TICK, l->plot_x - 6, layout_axis_y (l, ticks[i].axis), 1.0,
                 0.5);
    }

  n = linear_ticks (l->x_lo, l->x_hi, l->x_step, ticks);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text =
        format_tick (ticks[i].value, l->x_decimals, LAM_CHART_FORMAT_NUMBER);
      show_text (self, cr, text, TEXT_TICK, layout_x (l, ticks[i].value),
                 l->plot_y + l->plot_h + 5, 0.5, 0.0);
    }
}

static void
draw_titles (LamChart *self, cairo_t *cr, const Layout *l)
{
  double pad = MAX (6.0, l->text_height * 0.5);

  if (self->title != NULL)
    {
      lam_ui_set_source (cr, &self->fg, 1.0);
      if (self->title_at_start)
        show_text (self, cr, self->title, TEXT_TITLE, l->plot_x, pad, 0.0, 0.0);
      else
        show_text (self, cr, self->title, TEXT_TITLE, l->plot_x + l->plot_w / 2, pad, 0.5, 0.0);
    }

  lam_ui_set_source (cr, &self->fg, 0.85);
  if (self->x_label != NULL)
    show_text (self, cr, self->x_label, TEXT_LABEL, l->plot_x + l->plot_w / 2,
               l->height - pad - l->legend_h, 0.5, 1.0);
  if (self->y_label != NULL)
    {
      cairo_save (cr);
      cairo_translate (cr, pad, l->plot_y + l->plot_h / 2);
      cairo_rotate (cr, -G_PI / 2);
      show_text (self, cr, self->y_label, TEXT_LABEL, 0, 0, 0.5, 0.0);
      cairo_restore (cr);
    }
}

static double
clamp_coord (double v)
{
  /* Cairo's fixed point overflows long before a diverged loss does. */
  return CLAMP (v, -1e5, 1e5);
}

static void
emit_column (cairo_t *cr, const Layout *l, const double *xs, const double *ys, const guint idx[4],
             gboolean *pen_down)
{
  guint sorted[4] = { idx[0], idx[1], idx[2], idx[3] };
  guint prev = G_MAXUINT;

  for (int i = 1; i < 4; i++)
    for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--)
      {
        guint t = sorted[j];
        sorted[j] = sorted[j - 1];
        sorted[j - 1] = t;
      }

  for (int i = 0; i < 4; i++)
    {
      double px, py;

      if (sorted[i] == prev)
        continue;
      prev = sorted[i];
      px = clamp_coord (layout_x (l, xs[prev]));
      py = clamp_coord (layout_y (l, ys[prev]));
      if (*pen_down)
        cairo_line_to (cr, px, py);
      else
        cairo_move_to (cr, px, py);
      *pen_down = TRUE;
    }
}

/* Points that share a pixel column collapse to the first, lowest, highest and
 * last of them, so the path has at most four vertices per column however many
 * points there are, and still looks the same. */
static void
trace_line (cairo_t *cr, const Layout *l, const double *xs, const double *ys, guint n)
{
  gboolean pen_down = FALSE;
  gboolean open = FALSE;
  long column = 0;
  guint idx[4] = { 0 };
  double top = 0, bottom = 0;

  for (guint i = 0; i < n; i++)
    {
      double py;
      long c;

      if (!layout_can_show (l, ys[i]))
        {
          if (open)
            emit_column (cr, l, xs, ys, idx, &pen_down);
          open = FALSE;
          pen_down = FALSE;
          continue;
        }
      py = layout_y (l, ys[i]);
      c = (long) floor (clamp_coord (layout_x (l, xs[i])));
      if (open && c == column)
        {
          if (py < top)
            {
              top = py;
              idx[1] = i;
            }
          if (py > bottom)
            {
              bottom = py;
              idx[2] = i;
            }
          idx[3] = i;
          continue;
        }
      if (open)
        emit_column (cr, l, xs, ys, idx, &pen_down);
      open = TRUE;
      column = c;
      idx[0] = idx[1] = idx[2] = idx[3] = i;
      top = bottom = py;
    }
  if (open)
    emit_column (cr, l, xs, ys, idx, &pen_down);
}

static void
set_series_style (LamChart *self, cairo_t *cr, const Series *s, double alpha, double width,
                  gboolean dense)
{
  if (s->flags & LAM_CHART_SERIES_FADED)
    {
      alpha *= faded_alpha (self);
      width *= 0.75;
    }
  cairo_set_dash (cr, NULL, 0, 0);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  lam_ui_set_source (cr, &s->color, alpha);
  cairo_set_line_width (cr, width);
  /* Where several points share each pixel column the path is a zigzag whose
   * joins nobody can see, and scan-converting it at full quality costs
   * several times more than the rest of the chart. */
  cairo_set_line_join (cr, dense ? CAIRO_LINE_JOIN_BEVEL : CAIRO_LINE_JOIN_ROUND);
  cairo_set_antialias (cr, dense ? CAIRO_ANTIALIAS_FAST : CAIRO_ANTIALIAS_DEFAULT);
}

static void
draw_dot (LamChart *self, cairo_t *cr, const GdkRGBA *color, double x, double y, double radius)
{
  cairo_new_path (cr);
  cairo_arc (cr, x, y, radius, 0, 2 * G_PI);
  lam_ui_set_source (cr, color, 1.0);
  cairo_fill_preserve (cr);
  lam_ui_set_source (cr, &self->bg, 1.0);
  cairo_set_line_width (cr, 1.25);
  cairo_stroke (cr);
}

static void
draw_series (LamChart *self, cairo_t *cr, const Layout *l, const Series *s)
{
  const double *xs = (const double *) s->xs->data;
  const double *ys = (const double *) s->ys->data;
  guint n = s->xs->len;
  gboolean smoothed = (s->flags & LAM_CHART_SERIES_SMOOTHED) && self->smoothing > 0;
  gboolean faded = (s->flags & LAM_CHART_SERIES_FADED) != 0;
  double lw = self->line_width;
  gboolean dense = n > 2 * l->plot_w;

  if (n == 0)
    return;

  cairo_save (cr);
  if (smoothed && !faded)
    {
      trace_line (cr, l, xs, ys, n);
      set_series_style (self, cr, s, 0.25, MAX (1.0, lw * 0.7), dense);
      cairo_stroke (cr);
    }

  trace_line (cr, l, xs, smoothed ? (const double *) s->smooth->data : ys, n);
  set_series_style (self, cr, s, 1.0, lw, dense);
  cairo_stroke (cr);
  cairo_restore (cr);

  if ((s->flags & LAM_CHART_SERIES_POINTS) && n <= l->plot_w / 4)
    {
      GdkRGBA color = s->color;

      if (faded)
        color.alpha *= faded_alpha (self);
      for (guint i = 0; i < n; i++)
        if (layout_can_show (l, ys[i]))
          draw_dot (self, cr, &color, layout_x (l, xs[i]), clamp_coord (layout_y (l, ys[i])),
                    lw + 1.75);
    }
}

static void
draw_box (LamChart *self, cairo_t *cr, double x, double y, double w, double h, double alpha)
{
  lam_ui_rounded_rect (cr, x, y, w, h, 4);
  lam_ui_set_source (cr, &self->bg, alpha);
  cairo_fill_preserve (cr);
  lam_ui_set_source (cr, &self->fg, 0.18);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);
}

typedef struct
{
  double x, y, w, h;
} Box;

static guint
layout_marker_labels (LamChart *self, const Layout *l, Box *boxes)
{
  double row_end[3] = { -INFINITY, -INFINITY, -INFINITY };
  guint n = 0;

  for (guint i = 0; i < self->markers->len; i++)
    {
      const Marker *m = &g_array_index (self->markers, Marker, i);
      double x = layout_x (l, m->x);
      int w, h, row;

      if (m->label == NULL || m->label[0] == '\0')
        {
          boxes[i] = (Box) { x, l->plot_y, 0, 0 };
          continue;
        }
      text_size (self, m->label, TEXT_SMALL, &w, &h);
      boxes[i].w = w + 8;
      boxes[i].h = h + 2;
      boxes[i].x = x + 3;
      if (boxes[i].x + boxes[i].w > l->plot_x + l->plot_w)
        boxes[i].x = x - 3 - boxes[i].w;
      for (row = 0; row < 2 && boxes[i].x < row_end[row] + 4; row++)
        ;
      row_end[row] = boxes[i].x + boxes[i].w;
      boxes[i].y = l->plot_y + 3 + row * (boxes[i].h + 2);
      n++;
    }
  return n;
}

static void
draw_markers (LamChart *self, cairo_t *cr, const Layout *l, const Box *boxes, gboolean labels)
{
  static const double dashes[] = { 4, 3 };

  for (guint i = 0; i < self->markers->len; i++)
    {
      const Marker *m = &g_array_index (self->markers, Marker, i);
      const GdkRGBA *color = m->has_color ? &m->color : &self->fg;
      double alpha = m->has_color ? 0.9 : 0.5;

      if (m->faded)
        alpha *= faded_alpha (self);
      if (!labels)
        {
          crisp_vline (cr, layout_x (l, m->x), l->plot_y, l->plot_y + l->plot_h);
          cairo_set_line_width (cr, m->has_color ? 1.5 : 1);
          cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
          lam_ui_set_source (cr, color, alpha);
          cairo_stroke (cr);
          cairo_set_dash (cr, NULL, 0, 0);
          continue;
        }
      if (boxes[i].w <= 0)
        continue;
      draw_box (self, cr, boxes[i].x, boxes[i].y, boxes[i].w, boxes[i].h, 0.85);
      if (m->has_color)
        {
          /* Which run changed its rate: a stripe of its colour. */
          cairo_rectangle (cr, boxes[i].x + 1, boxes[i].y + 2, 2.5, boxes[i].h - 4);
          lam_ui_set_source (cr, color, alpha);
          cairo_fill (cr);
        }
      lam_ui_set_source (cr, &self->fg, m->faded ? 0.65 : 0.8);
      show_text (self, cr, m->label, TEXT_SMALL, boxes[i].x + 4, boxes[i].y + 1, 0, 0);
    }
}

/* The legend: a row per series it names (NULL for the last row when it
 * counts those left out), each placed in a band of its own below the
 * plot, so that it never hides a curve. */
typedef struct
{
  GPtrArray *rows; /* of const Series*, borrowed; owned array */
  GArray *places;  /* of Box, one per row: sample and text, widget coordinates */
  guint left_out;
  int row_h;
  Box box; /* all of it */
} Legend;

static const double legend_sample = 22, legend_gap = 6, legend_spacing = 16;

static char *
legend_more_text (guint left_out)
{
  return g_strdup_printf ("… and %u more", left_out);
}

static void
legend_clear (Legend *legend)
{
  g_clear_pointer (&legend->rows, g_ptr_array_unref);
  g_clear_pointer (&legend->places, g_array_unref);
}

/* Lays the rows out left to right from x0, a new line where one would
 * pass x1; the number of lines. A name wider than a line is cut to it. */
static guint
flow_legend (LamChart *self, Legend *legend, double x0, double x1, double y0)
{
  double max_text_w = x1 - x0 - legend_sample - legend_gap;
  double x = x0, y = y0;
  guint lines = 1;

  g_array_set_size (legend->places, 0);
  for (guint i = 0; i < legend->rows->len; i++) {
    const Series *s = g_ptr_array_index (legend->rows, i);
    g_autofree char *more = s == NULL ? legend_more_text (legend->left_out) : NULL;
    int w, h;

    text_size (self, s != NULL ? s->name : more, TEXT_SMALL, &w, &h);
    double entry_w = legend_sample + legend_gap + MIN (w, max_text_w);
    if (x > x0 && x + entry_w > x1) {
      x = x0;
      y += legend->row_h + 2;
      lines++;
    }
    Box place = { x, y, entry_w, legend->row_h };
    g_array_append_val (legend->places, place);
    x += entry_w + legend_spacing;
  }
  return lines;
}

/* The legend of a chart width wide, its lines from y0 down, in at most
 * room pixels of height. Ten kept runs with long names (presentation
 * mode, or 1024×768) do not fit: earlier runs' (faded) rows give way,
 * oldest first, and a last row counts them. Without room for the current
 * rows and that count, there is no legend. */
static gboolean
build_legend (LamChart *self, int width, double room, double y0, Legend *legend)
{
  g_autoptr (GPtrArray) named = g_ptr_array_new ();
  guint n_faded = 0;
  int tick_w, tick_h;

  memset (legend, 0, sizeof *legend);
  text_size (self, "0123456789", TEXT_TICK, &tick_w, &tick_h);
  double pad = MAX (6.0, tick_h * 0.5);
  double x0 = pad, x1 = width - pad;
  for (guint i = 0; i < self->series->len; i++) {
    const Series *s = g_ptr_array_index (self->series, i);
    int w, h;

    if (s->name == NULL || s->name[0] == '\0' || (s->flags & LAM_CHART_SERIES_NO_LEGEND))
      continue;
    text_size (self, s->name, TEXT_SMALL, &w, &h);
    legend->row_h = MAX (legend->row_h, h);
    g_ptr_array_add (named, (gpointer) s);
    if (s->flags & LAM_CHART_SERIES_FADED)
      n_faded++;
  }
  if (named->len == 0 || x1 - x0 - legend_sample - legend_gap < 40)
    return FALSE;

  guint max_lines = (guint) MAX (1.0, floor ((room + 2) / (legend->row_h + 2)));
  legend->rows = g_ptr_array_new ();
  legend->places = g_array_new (FALSE, FALSE, sizeof (Box));
  for (guint keep_faded = n_faded;; keep_faded--) {
    guint faded_seen = 0;

    legend->left_out = n_faded - keep_faded;
    g_ptr_array_set_size (legend->rows, 0);
    for (guint i = 0; i < named->len; i++) {
      const Series *s = g_ptr_array_index (named, i);
      /* The newest earlier runs stay: they were added last. */
      if ((s->flags & LAM_CHART_SERIES_FADED) && faded_seen++ < legend->left_out)
        continue;
      g_ptr_array_add (legend->rows, (gpointer) s);
    }
    if (legend->left_out > 0)
      g_ptr_array_add (legend->rows, NULL);
    guint lines = flow_legend (self, legend, x0, x1, y0);
    if (lines <= max_lines)
      break;
    if (keep_faded == 0) {
      legend_clear (legend);
      return FALSE;
    }
  }

  double right = x0, bottom = y0;
  for (guint i = 0; i < legend->places->len; i++) {
    const Box *place = &g_array_index (legend->places, Box, i);
    right = MAX (right, place->x + place->w);
    bottom = MAX (bottom, place->y + place->h);
  }
  legend->box = (Box){ x0, y0, right - x0, bottom - y0 };
  return TRUE;
}

/* The height the legend takes below the plot, its gap above included. */
static double
legend_band_height (LamChart *self, int width, double room)
{
  Legend legend;

  if (!build_legend (self, width, room, 0, &legend))
    return 0;
  legend_clear (&legend);
  return legend.box.h + 4;
}

static gboolean
build_legend_in (LamChart *self, const Layout *l, Legend *legend)
{
  if (l->legend_h <= 0)
    return FALSE;
  double pad = MAX (6.0, l->text_height * 0.5);
  return build_legend (self, l->width, l->legend_room, l->height - pad - (l->legend_h - 4), legend);
}

static void
draw_legend (LamChart *self, cairo_t *cr, const Layout *l)
{
  Legend legend;

  if (!build_legend_in (self, l, &legend))
    return;

  for (guint i = 0; i < legend.rows->len; i++) {
    const Series *s = g_ptr_array_index (legend.rows, i);
    const Box *place = &g_array_index (legend.places, Box, i);
    double mid = place->y + legend.row_h / 2.0;
    double text_x = place->x + legend_sample + legend_gap;
    int text_w = (int) floor (place->w - legend_sample - legend_gap);

    if (s == NULL) {
      g_autofree char *more = legend_more_text (legend.left_out);
      lam_ui_set_source (cr, &self->fg, 0.7);
      show_text_cut (self, cr, more, TEXT_SMALL, text_x, place->y, text_w + 1);
      continue;
    }

    cairo_move_to (cr, place->x, mid);
    cairo_line_to (cr, place->x + legend_sample, mid);
    cairo_save (cr);
    set_series_style (self, cr, s, 1.0, MAX (2.0, self->line_width), FALSE);
    cairo_stroke (cr);
    cairo_restore (cr);
    if (s->flags & LAM_CHART_SERIES_POINTS) {
      GdkRGBA color = s->color;
      if (s->flags & LAM_CHART_SERIES_FADED)
        color.alpha *= faded_alpha (self);
      draw_dot (self, cr, &color, place->x + legend_sample / 2, mid, self->line_width + 1.75);
    }

    lam_ui_set_source (cr, &self->fg, 0.85);
    show_text_cut (self, cr, s->name, TEXT_SMALL, text_x, place->y, text_w + 1);
  }
  legend_clear (&legend);
}

static void
clip_to_plot (cairo_t *cr, const Layout *l)
{
  cairo_rectangle (cr, l->plot_x - 4, l->plot_y - 4, l->plot_w + 8, l->plot_h + 8);
  cairo_clip (cr);
}

/* The grid, the markers' lines and the earlier runs: everything drawn
 * before the current run, none of it text. */
static void
draw_under (LamChart *self, cairo_t *cr, const Layout *l)
{
  cairo_save (cr);
  draw_grid (self, cr, l);
  draw_markers (self, cr, l, NULL, FALSE);

  /* Previous runs first, so the current one is drawn over them. */
  clip_to_plot (cr, l);
  for (guint i = 0; i < self->series->len; i++) {
    const Series *s = g_ptr_array_index (self->series, i);
    if (s->flags & LAM_CHART_SERIES_FADED)
      draw_series (self, cr, l, s);
  }
  cairo_restore (cr);
  self->under_draws++;
}

static gboolean
has_faded_series (LamChart *self)
{
  for (guint i = 0; i < self->series->len; i++)
    if (((const Series *) g_ptr_array_index (self->series, i))->flags & LAM_CHART_SERIES_FADED)
      return TRUE;
  return FALSE;
}

/* draw_under() into a surface of the layout's size at scale, kept while
 * nothing it draws changes; NULL where nothing worth keeping lies under the
 * current run. Painted over the transparent start of the widget's
 * drawing, its pixels are those draw_under() would have left there. */
static cairo_surface_t *
ensure_under (LamChart *self, const Layout *l, int scale)
{
  cairo_surface_t *surface, *recording;
  cairo_t *cr;

  if (self->under_disabled || !has_faded_series (self)) {
    g_clear_pointer (&self->under, cairo_surface_destroy);
    return NULL;
  }
  if (self->under != NULL && self->under_drawn_version == self->under_version &&
      self->under_scale == scale && memcmp (&self->under_layout, l, sizeof *l) == 0 &&
      gdk_rgba_equal (&self->under_fg, &self->fg) && gdk_rgba_equal (&self->under_bg, &self->bg))
    return self->under;

  g_clear_pointer (&self->under, cairo_surface_destroy);
  /* Recorded first, as a cairo node is, then played back at the scale
   * the renderer plays the node back at: drawn straight at twice the
   * scale, the lines' points fell on a finer grid than the recording's,
   * and a few thousand pixels differed from the chart drawn without the
   * cache. */
  recording = cairo_recording_surface_create (CAIRO_CONTENT_COLOR_ALPHA,
                                              &(cairo_rectangle_t){ 0, 0, l->width, l->height });
  cr = cairo_create (recording);
  draw_under (self, cr, l);
  cairo_destroy (cr);
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, l->width * scale, l->height * scale);
  cairo_surface_set_device_scale (surface, scale, scale);
  cr = cairo_create (surface);
  cairo_set_source_surface (cr, recording, 0, 0);
  cairo_paint (cr);
  cairo_destroy (cr);
  cairo_surface_destroy (recording);
  cairo_surface_flush (surface);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy (surface);
    return NULL;
  }

  self->under = surface;
  self->under_drawn_version = self->under_version;
  memcpy (&self->under_layout, l, sizeof *l);
  self->under_scale = scale;
  self->under_fg = self->fg;
  self->under_bg = self->bg;
  return self->under;
}

/* under: what draw_under() draws, already drawn; NULL to draw it here. */
static void
draw_chart (LamChart *self, cairo_t *cr, const Layout *l, cairo_surface_t *under)
{
  g_autofree Box *marker_boxes = g_new0 (Box, self->markers->len + 1);

  layout_marker_labels (self, l, marker_boxes);

  cairo_save (cr);
  if (under != NULL) {
    cairo_set_source_surface (cr, under, 0, 0);
    cairo_paint (cr);
  } else
    draw_under (self, cr, l);

  cairo_save (cr);
  clip_to_plot (cr, l);
  for (guint i = 0; i < self->series->len; i++) {
    const Series *s = g_ptr_array_index (self->series, i);
    if (!(s->flags & LAM_CHART_SERIES_FADED))
      draw_series (self, cr, l, s);
  }
  cairo_restore (cr);

  draw_tick_labels (self, cr, l);
  draw_titles (self, cr, l);
  draw_markers (self, cr, l, marker_boxes, TRUE);
  draw_legend (self, cr, l);
  cairo_restore (cr);
}

/* The hover box: a header, then a row per named series at the pointer's
 * x. */
typedef struct
{
  GPtrArray *rows; /* of char*, owned; the header first */
  GArray *colors;  /* of GdkRGBA, one per row after the header; alpha 0: no swatch */
  double x, y, w, h;
  int row_h;
} HoverBox;

static void
hover_box_clear (HoverBox *box)
{
  g_clear_pointer (&box->rows, g_ptr_array_unref);
  g_clear_pointer (&box->colors, g_array_unref);
}

typedef struct
{
  char *text; /* owned */
  GdkRGBA color;
  gboolean faded;
  double distance; /* from the pointer, in pixels */
  guint order;
} HoverRow;

static int
compare_hover_rows (gconstpointer a, gconstpointer b)
{
  const HoverRow *ra = a, *rb = b;

  if (ra->faded != rb->faded)
    return ra->faded ? 1 : -1;
  if (ra->distance != rb->distance)
    return ra->distance < rb->distance ? -1 : 1;
  return ra->order < rb->order ? -1 : ra->order > rb->order;
}

static int
compare_hover_order (gconstpointer a, gconstpointer b)
{
  const HoverRow *ra = a, *rb = b;

  return ra->order < rb->order ? -1 : ra->order > rb->order;
}

/* "name: value" within max_w pixels: a run's long name (dataset, model,
 * optimizer) ran past the chart's right edge, and the value went with
 * it. The name is cut short with an ellipsis; the value stays whole. */
static char *
fit_hover_row (LamChart *self, const char *name, const char *value, int max_w)
{
  char *row = g_strdup_printf ("%s: %s", name, value);
  int w, h;

  text_size (self, row, TEXT_SMALL, &w, &h);
  if (w <= max_w)
    return row;
  g_free (row);
  /* The longest start of the name that fits. */
  glong lo = 0, hi = g_utf8_strlen (name, -1);
  while (lo < hi) {
    glong mid = (lo + hi + 1) / 2;
    const char *end = g_utf8_offset_to_pointer (name, mid);
    g_autofree char *cut = g_strdup_printf ("%.*s…: %s", (int) (end - name), name, value);

    text_size (self, cut, TEXT_SMALL, &w, &h);
    if (w <= max_w)
      lo = mid;
    else
      hi = mid - 1;
  }
  const char *end = g_utf8_offset_to_pointer (name, lo);
  return g_strdup_printf ("%.*s…: %s", (int) (end - name), name, value);
}

/* With ten kept runs the box listed twenty rows, taller than the chart,
 * and the current run's, listed last, fell off its bottom. Rows that do
 * not fit give way: earlier runs before the current one, those farthest
 * from the pointer first; a last row counts them. FALSE when the pointer
 * is outside the plot. */
static gboolean
build_hover_box (LamChart *self, const Layout *l, HoverBox *box)
{
  const double swatch = 10;
  double hx = self->hover_x;
  double data_x;
  int text_w;
  g_autoptr (GArray) found = g_array_new (FALSE, FALSE, sizeof (HoverRow));

  memset (box, 0, sizeof *box);
  if (hx < l->plot_x || hx > l->plot_x + l->plot_w || self->hover_y < l->plot_y
      || self->hover_y > l->plot_y + l->plot_h)
    return FALSE;

  data_x = l->x_lo + (hx - l->plot_x) / l->plot_w * (l->x_hi - l->x_lo);

  /* The box's padding and swatch leave this much for a row's text. */

  int max_text_w = MAX (40, l->width - 8 - 8 - (int) swatch - 6);

  box->rows = g_ptr_array_new_with_free_func (g_free);
  box->colors = g_array_new (FALSE, FALSE, sizeof (GdkRGBA));
  g_ptr_array_add (box->rows,
                   g_strdup_printf ("%s %.*f", self->x_label != NULL ? self->x_label : "x",
                                    MIN (l->x_decimals + 2, 4), data_x));
  text_size (self, g_ptr_array_index (box->rows, 0), TEXT_SMALL, &text_w, &box->row_h);

  for (guint i = 0; i < self->series->len; i++) {
    const Series *s = g_ptr_array_index (self->series, i);
    guint idx;
    double v;

    if (s->xs->len == 0 || s->name == NULL || s->name[0] == '\0')
      continue;
    idx = series_nearest (s, data_x);
    v = series_display_value (self, s, idx);
    if (!layout_can_show (l, v))
      continue;

    g_autofree char *value = format_value (v, self->y_format);
    HoverRow row = { fit_hover_row (self, s->name, value, max_text_w), s->color,
                     (s->flags & LAM_CHART_SERIES_FADED) != 0,
                     fabs (layout_y (l, v) - self->hover_y), i };
    if (row.faded)
      row.color.alpha *= faded_alpha (self);
    g_array_append_val (found, row);
  }

  /* Rows under the header that fit between the plot's top and the
   * chart's bottom, where the box is kept. */
  guint room = (guint) MAX (0.0, floor ((l->height - l->plot_y - 8) / (box->row_h + 1)) - 1);
  guint left_out = 0;
  if (found->len > room) {
    guint kept = room > 0 ? room - 1 : 0;
    g_array_sort (found, compare_hover_rows);
    left_out = found->len - kept;
    for (guint i = kept; i < found->len; i++)
      g_free (g_array_index (found, HoverRow, i).text);
    g_array_set_size (found, kept);
    g_array_sort (found, compare_hover_order);
  }
  for (guint i = 0; i < found->len; i++) {
    HoverRow *row = &g_array_index (found, HoverRow, i);
    g_ptr_array_add (box->rows, g_steal_pointer (&row->text));
    g_array_append_val (box->colors, row->color);
  }
  if (left_out > 0 && room > 0) {
    GdkRGBA none = { 0 };
    g_ptr_array_add (box->rows, g_strdup_printf ("… and %u more", left_out));
    g_array_append_val (box->colors, none);
  }
  for (guint i = 1; i < box->rows->len; i++) {
    int w, h;

    text_size (self, g_ptr_array_index (box->rows, i), TEXT_SMALL, &w, &h);
    text_w = MAX (text_w, w + (int) swatch + 6);
    box->row_h = MAX (box->row_h, h);
  }

  box->w = 8 + text_w + 8;
  box->h = 5 + box->rows->len * (box->row_h + 1) + 3;
  box->x = hx + 12;
  if (box->x + box->w > l->plot_x + l->plot_w)
    box->x = hx - 12 - box->w;
  box->x = MAX (box->x, 0);
  box->y = CLAMP (self->hover_y - box->h / 2, l->plot_y, MAX (l->plot_y, l->height - box->h));
  box->x = round (box->x) + 0.5;
  box->y = round (box->y) + 0.5;
  return TRUE;
}

static void
draw_overlay (LamChart *self, cairo_t *cr, const Layout *l)
{
  const double swatch = 10;
  double hx = self->hover_x;
  double data_x, y;
  HoverBox box;

  if (!build_hover_box (self, l, &box))
    return;

  data_x = l->x_lo + (hx - l->plot_x) / l->plot_w * (l->x_hi - l->x_lo);
  crisp_vline (cr, hx, l->plot_y, l->plot_y + l->plot_h);
  lam_ui_set_source (cr, &self->fg, 0.45);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);

  /* Every series gets its dot, listed in the box or not. */
  for (guint i = 0; i < self->series->len; i++)
    {
      const Series *s = g_ptr_array_index (self->series, i);
      guint idx;
      double v;

      if (s->xs->len == 0)
        continue;
      idx = series_nearest (s, data_x);
      v = series_display_value (self, s, idx);
      if (!layout_can_show (l, v))
        continue;

      GdkRGBA color = s->color;
      if (s->flags & LAM_CHART_SERIES_FADED)
        color.alpha *= faded_alpha (self);
      draw_dot (self, cr, &color, layout_x (l, g_array_index (s->xs, double, idx)),
                clamp_coord (layout_y (l, v)), self->line_width + 2);
    }

    draw_box (self, cr, box.x, box.y, box.w, box.h, 0.94);
    y = box.y + 5;
    lam_ui_set_source (cr, &self->fg, 0.7);
    show_text (self, cr, g_ptr_array_index (box.rows, 0), TEXT_SMALL, box.x + 8, y, 0, 0);
    y += box.row_h + 1;
    for (guint i = 1; i < box.rows->len; i++) {
      const GdkRGBA *color = &g_array_index (box.colors, GdkRGBA, i - 1);

      if (color->alpha > 0) {
        cairo_rectangle (cr, box.x + 8, y + (box.row_h - swatch) / 2, swatch, swatch);
        lam_ui_set_source (cr, color, 1.0);
        cairo_fill (cr);
      }
      lam_ui_set_source (cr, &self->fg, 0.9);
      show_text (self, cr, g_ptr_array_index (box.rows, i), TEXT_SMALL, box.x + 8 + swatch + 6, y,
                 0, 0);
      y += box.row_h + 1;
    }
    hover_box_clear (&box);
}

/* The chart over an opaque background, laid out for width × height. */
static void
paint_chart (LamChart *self, cairo_t *cr, int width, int height)
{
  const Layout *l = get_layout (self, width, height);

  cairo_save (cr);
  lam_ui_set_source (cr, &self->bg, 1.0);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_fill (cr);
  draw_chart (self, cr, l, NULL);
  cairo_restore (cr);
}

static void
lam_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  LamChart *self = LAM_CHART (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  int scale = gtk_widget_get_scale_factor (widget);
  const Layout *l;

  if (width <= 0 || height <= 0)
    return;

  l = get_layout (self, width, height);

  if (self->lines_node == NULL || self->lines_version != self->version ||
      self->lines_width != width || self->lines_height != height || self->lines_scale != scale) {
    GtkSnapshot *lines = gtk_snapshot_new ();
    cairo_t *cr = gtk_snapshot_append_cairo (lines, &GRAPHENE_RECT_INIT (0, 0, width, height));

    draw_chart (self, cr, l, ensure_under (self, l, scale));
    cairo_destroy (cr);
    g_clear_pointer (&self->lines_node, gsk_render_node_unref);
    self->lines_node = gtk_snapshot_free_to_node (lines);
    self->lines_version = self->version;
    self->lines_width = width;
    self->lines_height = height;
    self->lines_scale = scale;
  }
  if (self->lines_node != NULL)
    gtk_snapshot_append_node (snapshot, self->lines_node);

  if (self->hover)
    {
      cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
      draw_overlay (self, cr, l);
      cairo_destroy (cr);
    }
}

static void
lam_chart_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                   int *natural, int *minimum_baseline, int *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = MIN_WIDTH;
      *natural = NATURAL_WIDTH;
    }
  else
    {
      *minimum = MIN_HEIGHT;
      *natural = NATURAL_HEIGHT;
    }
}

static void
lam_chart_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  LamChart *self = LAM_CHART (widget);

  GTK_WIDGET_CLASS (lam_chart_parent_class)->css_changed (widget, change);

  /* State changes such as :hover land here too; only a real change of colour
   * or font is worth re-stroking the lines. */
  if (read_style (self))
    chart_changed (self);
}

static void
on_motion (GtkEventControllerMotion *controller, double x, double y, LamChart *self)
{
  self->hover = TRUE;
  self->hover_x = x;
  self->hover_y = y;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_leave (GtkEventControllerMotion *controller, LamChart *self)
{
  self->hover = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Context menu */

static gboolean
save_chosen (GtkWidget *widget, const char *path, gpointer user_data, GError **error)
{
  return lam_chart_save (LAM_CHART (widget), path, GPOINTER_TO_INT (user_data), 0, 0, error);
}

static void
save_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  LamChart *self = LAM_CHART (widget);
  LamChartFileFormat format = LAM_CHART_FILE_PNG;
  const char *title = "Save Chart as PNG";
  const char *filter = "PNG images";
  const char *ext = ".png";

  if (g_str_equal (action_name, "chart.save-svg"))
    {
      format = LAM_CHART_FILE_SVG;
      title = "Save Chart as SVG";
      filter = "SVG drawings";
      ext = ".svg";
    }
  else if (g_str_equal (action_name, "chart.save-csv"))
    {
      format = LAM_CHART_FILE_CSV;
      title = "Save Chart Data as CSV";
      filter = "CSV files";
      ext = ".csv";
    }

  g_autofree char *name = lam_ui_file_name_for (self->title, "Chart", ext);
  g_autofree char *pattern = g_strconcat ("*", ext, NULL);
  lam_ui_choose_save_file (widget, title, name, filter, pattern, save_chosen,
                           GINT_TO_POINTER (format));
}

static void
on_context_pressed (GtkGestureClick *gesture, int n_press, double x, double y, LamChart *self)
{
  if (self->menu == NULL)
    {
      g_autoptr (GMenu) model = g_menu_new ();

      g_menu_append (model, "Save Chart as _PNG…", "chart.save-png");
      g_menu_append (model, "Save Chart as _SVG…", "chart.save-svg");
      g_menu_append (model, "Save Data as _CSV…", "chart.save-csv");
      self->menu = gtk_popover_menu_new_from_model (G_MENU_MODEL (model));
      gtk_popover_set_has_arrow (GTK_POPOVER (self->menu), FALSE);
      gtk_widget_set_halign (self->menu, GTK_ALIGN_START);
      gtk_widget_set_parent (self->menu, GTK_WIDGET (self));
    }
  gtk_popover_set_pointing_to (GTK_POPOVER (self->menu),
                               &(GdkRectangle) { (int) x, (int) y, 1, 1 });
  gtk_popover_popup (GTK_POPOVER (self->menu));
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
}

static void
lam_chart_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  LamChart *self = LAM_CHART (widget);

  if (self->menu != NULL)
    gtk_popover_present (GTK_POPOVER (self->menu));
}

static void
lam_chart_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamChart *self = LAM_CHART (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_LOG_Y:
      g_value_set_boolean (value, self->log_y);
      break;
    case PROP_SMOOTHING:
      g_value_set_double (value, self->smoothing);
      break;
    case PROP_LINE_WIDTH:
      g_value_set_double (value, self->line_width);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lam_chart_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  LamChart *self = LAM_CHART (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      lam_chart_set_title (self, g_value_get_string (value));
      break;
    case PROP_LOG_Y:
      lam_chart_set_log_y (self, g_value_get_boolean (value));
      break;
    case PROP_SMOOTHING:
      lam_chart_set_smoothing (self, g_value_get_double (value));
      break;
    case PROP_LINE_WIDTH:
      lam_chart_set_line_width (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lam_chart_dispose (GObject *object)
{
  LamChart *self = LAM_CHART (object);

  g_clear_pointer (&self->lines_node, gsk_render_node_unref);
  g_clear_pointer (&self->under, cairo_surface_destroy);
  g_clear_pointer (&self->menu, gtk_widget_unparent);
  if (self->series != NULL)
    g_ptr_array_set_size (self->series, 0);
  if (self->markers != NULL)
    g_array_set_size (self->markers, 0);

  G_OBJECT_CLASS (lam_chart_parent_class)->dispose (object);
}

static void
lam_chart_finalize (GObject *object)
{
  LamChart *self = LAM_CHART (object);

  g_clear_pointer (&self->series, g_ptr_array_unref);
  g_clear_pointer (&self->markers, g_array_unref);
  g_clear_pointer (&self->font, pango_font_description_free);
  g_free (self->title);
  g_free (self->x_label);
  g_free (self->y_label);

  G_OBJECT_CLASS (lam_chart_parent_class)->finalize (object);
}

static void
lam_chart_class_init (LamChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = lam_chart_get_property;
  object_class->set_property = lam_chart_set_property;
  object_class->dispose = lam_chart_dispose;
  object_class->finalize = lam_chart_finalize;

  widget_class->snapshot = lam_chart_snapshot;
  widget_class->measure = lam_chart_measure;
  widget_class->css_changed = lam_chart_css_changed;
  widget_class->size_allocate = lam_chart_size_allocate;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LOG_Y] =
    g_param_spec_boolean ("log-y", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SMOOTHING] =
    g_param_spec_double ("smoothing", NULL, NULL, 0.0, 0.99, 0.0,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LINE_WIDTH] =
    g_param_spec_double ("line-width", NULL, NULL, 0.5, 16.0, 1.5,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_action (widget_class, "chart.save-png", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "chart.save-svg", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "chart.save-csv", NULL, save_action);

  gtk_widget_class_set_css_name (widget_class, "chart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lam_chart_init (LamChart *self)
{
  GtkEventController *motion;
  GtkGesture *click;

  self->series = g_ptr_array_new_with_free_func (series_free);
  self->markers = g_array_new (FALSE, FALSE, sizeof (Marker));
  g_array_set_clear_func (self->markers, marker_clear);
  self->next_id = 1;
  self->y_min_fixed = NAN;
  self->y_max_fixed = NAN;
  self->y_format = LAM_CHART_FORMAT_NUMBER;
  self->line_width = 1.5;
  self->version = 1;

  motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "enter", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);

  click = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_SECONDARY);
  g_signal_connect (click, "pressed", G_CALLBACK (on_context_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
}

GtkWidget *
lam_chart_new (void)
{
  return g_object_new (LAM_TYPE_CHART, NULL);
}

void
lam_chart_set_title (LamChart *self, const char *title)
{
  g_return_if_fail (LAM_IS_CHART (self));

  if (g_strcmp0 (self->title, title) == 0)
    return;
  g_free (self->title);
  self->title = g_strdup (title);
  if (title != NULL)
    lam_ui_set_accessible_label (GTK_WIDGET (self), title);
  else
    lam_ui_set_accessible_label (GTK_WIDGET (self), NULL);
  chart_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

void
lam_chart_set_title_at_start (LamChart *self, gboolean at_start)
{
  g_return_if_fail (LAM_IS_CHART (self));

  at_start = !!at_start;
  if (self->title_at_start == at_start)
    return;
  self->title_at_start = at_start;
  chart_changed (self);
}

const char *
lam_chart_get_title (LamChart *self)
{
  g_return_val_if_fail (LAM_IS_CHART (self), NULL);

  return self->title;
}

void
lam_chart_set_axis_labels (LamChart *self, const char *x_label, const char *y_label)
{
  g_return_if_fail (LAM_IS_CHART (self));

  g_free (self->x_label);
  g_free (self->y_label);
  self->x_label = g_strdup (x_label);
  self->y_label = g_strdup (y_label);
  chart_changed (self);
}

void
lam_chart_set_log_y (LamChart *self, gboolean log_y)
{
  g_return_if_fail (LAM_IS_CHART (self));

  log_y = !!log_y;
  if (self->log_y == log_y)
    return;
  self->log_y = log_y;
  chart_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOG_Y]);
}

gboolean
lam_chart_get_log_y (LamChart *self)
{
  g_return_val_if_fail (LAM_IS_CHART (self), FALSE);

  return self->log_y;
}

void
lam_chart_set_y_limits (LamChart *self, double min, double max)
{
  g_return_if_fail (LAM_IS_CHART (self));
  g_return_if_fail (!isinf (min) && !isinf (max));
  g_return_if_fail (isnan (min) || isnan (max) || min < max);

  self->y_min_fixed = min;
  self->y_max_fixed = max;
  chart_changed (self);
}

void
lam_chart_set_y_format (LamChart *self, LamChartFormat format)
{
  g_return_if_fail (LAM_IS_CHART (self));
  g_return_if_fail (format == LAM_CHART_FORMAT_NUMBER || format == LAM_CHART_FORMAT_PERCENT);

  self->y_format = format;
  chart_changed (self);
}

void
lam_chart_set_smoothing (LamChart *self, double smoothing)
{
  g_return_if_fail (LAM_IS_CHART (self));
  g_return_if_fail (!isnan (smoothing));

  smoothing = CLAMP (smoothing, 0.0, 0.99);
  if (self->smoothing == smoothing)
    return;
  self->smoothing = smoothing;
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      if (s->flags & LAM_CHART_SERIES_SMOOTHED)
        series_resmooth (s, smoothing);
    }
  chart_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SMOOTHING]);
}

double
lam_chart_get_smoothing (LamChart *self)
{
  g_return_val_if_fail (LAM_IS_CHART (self), 0.0);

  return self->smoothing;
}

void
lam_chart_set_line_width (LamChart *self, double width)
{
  g_return_if_fail (LAM_IS_CHART (self));
  g_return_if_fail (width > 0);

  width = CLAMP (width, 0.5, 16.0);
  if (self->line_width == width)
    return;
  self->line_width = width;
  chart_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LINE_WIDTH]);
}

double
lam_chart_get_line_width (LamChart *self)
{
  g_return_val_if_fail (LAM_IS_CHART (self), 1.5);

  return self->line_width;
}

static void
pick_color (LamChart *self, GdkRGBA *color)
{
  for (guint p = 0; p < G_N_ELEMENTS (palette); p++)
    {
      gboolean used = FALSE;

      gdk_rgba_parse (color, palette[p]);
      for (guint i = 0; i < self->series->len && !used; i++)
        used = gdk_rgba_equal (color, &((Series *) g_ptr_array_index (self->series, i))->color);
      if (!used)
        return;
    }
  gdk_rgba_parse (color, palette[self->series->len % G_N_ELEMENTS (palette)]);
}

guint
lam_chart_add_series (LamChart *self, const char *name, const GdkRGBA *color,
                      LamChartSeriesFlags flags)
{
  Series *s;

  g_return_val_if_fail (LAM_IS_CHART (self), 0);

  s = g_new0 (Series, 1);
  s->id = self->next_id++;
  s->name = g_strdup (name);
  if (color != NULL)
    s->color = *color;
  else
    pick_color (self, &s->color);
  s->flags = flags;
  s->xs = g_array_new (FALSE, FALSE, sizeof (double));
  s->ys = g_array_new (FALSE, FALSE, sizeof (double));
  s->smooth = g_array_new (FALSE, FALSE, sizeof (double));
  s->x_sorted = TRUE;
  s->x_min = s->y_min = s->pos_min = INFINITY;
  s->x_max = s->y_max = s->pos_max = -INFINITY;
  g_ptr_array_add (self->series, s);

  chart_changed (self);
  return s->id;
}

void
lam_chart_append (LamChart *self, guint series, double x, double y)
{
  Series *s;

  g_return_if_fail (LAM_IS_CHART (self));
  g_return_if_fail (isfinite (x));
  s = find_series (self, series);
  g_return_if_fail (s != NULL);

  if (s->xs->len > 0 && x < g_array_index (s->xs, double, s->xs->len - 1))
    s->x_sorted = FALSE;
  g_array_append_val (s->xs, x);
  g_array_append_val (s->ys, y);
  if (s->flags & LAM_CHART_SERIES_SMOOTHED)
    series_push_smooth (s, self->smoothing, y);

  if (isfinite (y))
    {
      s->x_min = MIN (s->x_min, x);
      s->x_max = MAX (s->x_max, x);
      s->y_min = MIN (s->y_min, y);
      s->y_max = MAX (s->y_max, y);
      if (y > 0)
        {
          s->pos_min = MIN (s->pos_min, y);
          s->pos_max = MAX (s->pos_max, y);
        }
    }

  /* A point of the current run leaves the earlier runs as drawn. */
  if (s->flags & LAM_CHART_SERIES_FADED)
    chart_changed (self);
  else
    chart_changed_above (self);
}

void
lam_chart_remove_series (LamChart *self, guint series)
{
  g_return_if_fail (LAM_IS_CHART (self));

  for (guint i = 0; i < self->series->len; i++)
    if (((Series *) g_ptr_array_index (self->series, i))->id == series)
      {
        g_ptr_array_remove_index (self->series, i);
        chart_changed (self);
        return;
      }
  g_return_if_reached ();
}

void
lam_chart_clear (LamChart *self)
{
  g_return_if_fail (LAM_IS_CHART (self));

  g_ptr_array_set_size (self->series, 0);
  g_array_set_size (self->markers, 0);
  chart_changed (self);
}

guint
lam_chart_get_n_series (LamChart *self)
{
  g_return_val_if_fail (LAM_IS_CHART (self), 0);

  return self->series->len;
}

guint
lam_chart_get_nth_series (LamChart *self, guint n)
{
  g_return_val_if_fail (LAM_IS_CHART (self), 0);

  if (n >= self->series->len)
    return 0;
  return ((Series *) g_ptr_array_index (self->series, n))->id;
}

const char *
lam_chart_get_series_name (LamChart *self, guint series)
{
  Series *s;

  g_return_val_if_fail (LAM_IS_CHART (self), NULL);
  s = find_series (self, series);
  g_return_val_if_fail (s != NULL, NULL);

  return s->name;
}

void
lam_chart_get_series_color (LamChart *self, guint series, GdkRGBA *color)
{
  Series *s;

  g_return_if_fail (LAM_IS_CHART (self));
  g_return_if_fail (color != NULL);
  s = find_series (self, series);
  g_return_if_fail (s != NULL);

  *color = s->color;
}

LamChartSeriesFlags
lam_chart_get_series_flags (LamChart *self, guint series)
{
  Series *s;

  g_return_val_if_fail (LAM_IS_CHART (self), LAM_CHART_SERIES_NONE);
  s = find_series (self, series);
  g_return_val_if_fail (s != NULL, LAM_CHART_SERIES_NONE);

  return s->flags;
}

guint
lam_chart_get_n_points (LamChart *self, guint series)
{
  Series *s;

  g_return_val_if_fail (LAM_IS_CHART (self), 0);
  s = find_series (self, series);
  g_return_val_if_fail (s != NULL, 0);

  return s->xs->len;
}

void
lam_chart_add_marker (LamChart *self, double x, const char *label)
{
  lam_chart_add_marker_full (self, x, label, NULL, LAM_CHART_SERIES_NONE);
}

void
lam_chart_add_marker_full (LamChart *self, double x, const char *label, const GdkRGBA *color,
                           LamChartSeriesFlags flags)
{
  Marker m = { 0 };

  g_return_if_fail (LAM_IS_CHART (self));
  g_return_if_fail (isfinite (x));

  m.x = x;
  m.label = g_strdup (label);
  if (color != NULL)
    {
      m.color = *color;
      m.has_color = TRUE;
    }
  m.faded = (flags & LAM_CHART_SERIES_FADED) != 0;
  g_array_append_val (self->markers, m);
  chart_changed (self);
}

guint
lam_chart_get_n_markers (LamChart *self)
{
  g_return_val_if_fail (LAM_IS_CHART (self), 0);

  return self->markers->len;
}

void
lam_chart_get_marker (LamChart *self, guint n, double *x, const char **label)
{
  const Marker *m;

  g_return_if_fail (LAM_IS_CHART (self));
  g_return_if_fail (n < self->markers->len);

  m = &g_array_index (self->markers, Marker, n);
  if (x != NULL)
    *x = m->x;
  if (label != NULL)
    *label = m->label;
}

void
lam_chart_get_run_color (guint index, GdkRGBA *color)
{
  g_return_if_fail (color != NULL);

  gdk_rgba_parse (color, run_palette[index % LAM_CHART_N_RUN_COLORS]);
}

gboolean
lam_chart_get_point_near (LamChart *self, guint series, double x, double *point_x,
                          double *point_y)
{
  Series *s;
  guint i;

  g_return_val_if_fail (LAM_IS_CHART (self), FALSE);
  s = find_series (self, series);
  g_return_val_if_fail (s != NULL, FALSE);

  if (s->xs->len == 0)
    return FALSE;
  i = series_nearest (s, x);
  if (point_x != NULL)
    *point_x = g_array_index (s->xs, double, i);
  if (point_y != NULL)
    *point_y = g_array_index (s->ys, double, i);
  return TRUE;
}

gboolean
lam_chart_data_to_widget (LamChart *self, double x, double y, double *wx, double *wy)
{
  const Layout *l;
  int width, height;

  g_return_val_if_fail (LAM_IS_CHART (self), FALSE);

  current_size (self, &width, &height);
  l = get_layout (self, width, height);
  if (wx != NULL)
    *wx = layout_x (l, x);
  if (!isfinite (x) || !layout_can_show (l, y))
    return FALSE;
  if (wy != NULL)
    *wy = layout_y (l, y);
  return TRUE;
}

gboolean
lam_chart_widget_to_data (LamChart *self, double wx, double wy, double *x, double *y)
{
  const Layout *l;
  int width, height;
  double a;

  g_return_val_if_fail (LAM_IS_CHART (self), FALSE);

  current_size (self, &width, &height);
  l = get_layout (self, width, height);
  a = l->y_lo + (l->plot_y + l->plot_h - wy) / l->plot_h * (l->y_hi - l->y_lo);
  if (x != NULL)
    *x = l->x_lo + (wx - l->plot_x) / l->plot_w * (l->x_hi - l->x_lo);
  if (y != NULL)
    *y = l->log_y ? pow (10, a) : a;
  return wx >= l->plot_x && wx <= l->plot_x + l->plot_w && wy >= l->plot_y
         && wy <= l->plot_y + l->plot_h;
}

char *
lam_chart_dup_legend_text (LamChart *self, graphene_rect_t *bounds)
{
  const Layout *l;
  int width, height;
  Legend legend;

  g_return_val_if_fail (LAM_IS_CHART (self), NULL);

  current_size (self, &width, &height);
  l = get_layout (self, width, height);
  if (!build_legend_in (self, l, &legend))
    return NULL;
  if (bounds != NULL)
    graphene_rect_init (bounds, legend.box.x, legend.box.y, legend.box.w, legend.box.h);
  GString *text = g_string_new (NULL);
  for (guint i = 0; i < legend.rows->len; i++) {
    const Series *s = g_ptr_array_index (legend.rows, i);
    g_autofree char *more = s == NULL ? legend_more_text (legend.left_out) : NULL;

    g_string_append_printf (text, "%s%s", i > 0 ? "\n" : "", s != NULL ? s->name : more);
  }
  legend_clear (&legend);
  return g_string_free (text, FALSE);
}

char *
lam_chart_dup_hover_text (LamChart *self, graphene_rect_t *bounds)
{
  const Layout *l;
  int width, height;
  HoverBox box;

  g_return_val_if_fail (LAM_IS_CHART (self), NULL);

  current_size (self, &width, &height);
  l = get_layout (self, width, height);
  if (!self->hover || !build_hover_box (self, l, &box))
    return NULL;
  if (bounds != NULL)
    graphene_rect_init (bounds, box.x, box.y, box.w, box.h);
  g_ptr_array_add (box.rows, NULL);
  char *text = g_strjoinv ("\n", (char **) box.rows->pdata);
  hover_box_clear (&box);
  return text;
}

void
lam_chart_draw (LamChart *self, cairo_t *cr, int width, int height)
{
  g_return_if_fail (LAM_IS_CHART (self));
  g_return_if_fail (cr != NULL);

  if (width <= 0 || height <= 0)
    return;

  self->last_draw_width = width;
  self->last_draw_height = height;
  paint_chart (self, cr, width, height);
}

/* Saving */

static cairo_status_t
append_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

static LamChartFileFormat
format_from_path (const char *path)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);

  if (g_str_has_suffix (lower, ".png"))
    return LAM_CHART_FILE_PNG;
  if (g_str_has_suffix (lower, ".svg"))
    return LAM_CHART_FILE_SVG;
  if (g_str_has_suffix (lower, ".csv"))
    return LAM_CHART_FILE_CSV;
  return LAM_CHART_FILE_AUTO;
}

/* The chart drawn as a PNG of width × height pixels or an SVG of as many
 * points, sizes already resolved; NULL and an error when cairo fails. */
static GByteArray *
render (LamChart *self, LamChartFileFormat format, int width, int height, double scale,
        GError **error)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  cairo_surface_t *surface;
  cairo_t *cr;
  cairo_status_t status;

  if (format == LAM_CHART_FILE_SVG)
    surface = cairo_svg_surface_create_for_stream (append_bytes, bytes, width, height);
  else
    surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cr = cairo_create (surface);
  cairo_scale (cr, scale, scale);
  paint_chart (self, cr, (int) ceil (width / scale), (int) ceil (height / scale));
  cairo_destroy (cr);
  if (format == LAM_CHART_FILE_SVG)
    cairo_surface_finish (surface);
  status = cairo_surface_status (surface);
  if (status == CAIRO_STATUS_SUCCESS && format == LAM_CHART_FILE_PNG)
    status = cairo_surface_write_to_png_stream (surface, append_bytes, bytes);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not draw a %d × %d %s: %s",
                   width, height, format == LAM_CHART_FILE_SVG ? "SVG" : "PNG",
                   cairo_status_to_string (status));
      return NULL;
    }
  return g_steal_pointer (&bytes);
}

static GByteArray *
render_png (LamChart *self, int width, int height, GError **error)
{
  int widget_w, widget_h;
  double scale;

  current_size (self, &widget_w, &widget_h);
  if (width <= 0 || height <= 0)
    {
      width = 2 * widget_w;
      height = 2 * widget_h;
    }
  /* At a whole multiple of the widget's density, so that a large image is
   * the screen's layout drawn sharper rather than tiny text on a wide plot. */
  scale = MAX (1.0, floor (MIN ((double) width / widget_w, (double) height / widget_h)));
  return render (self, LAM_CHART_FILE_PNG, width, height, scale, error);
}

static GByteArray *
render_svg (LamChart *self, int width, int height, GError **error)
{
  if (width <= 0 || height <= 0)
    current_size (self, &width, &height);
  return render (self, LAM_CHART_FILE_SVG, width, height, 1.0, error);
}

static void
append_number (GString *out, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (isnan (value))
    g_string_append (out, "nan");
  else if (isinf (value))
    g_string_append (out, value > 0 ? "inf" : "-inf");
  else
    g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.10g", value));
}

char *
lam_chart_dup_csv (LamChart *self)
{
  GString *out;

  g_return_val_if_fail (LAM_IS_CHART (self), NULL);

  out = g_string_new ("series,x,y\r\n");
  for (guint i = 0; i < self->series->len; i++)
    {
      const Series *s = g_ptr_array_index (self->series, i);

      for (guint k = 0; k < s->xs->len; k++)
        {
          lam_csv_append_field (out, s->name);
          g_string_append_c (out, ',');
          append_number (out, g_array_index (s->xs, double, k));
          g_string_append_c (out, ',');
          append_number (out, g_array_index (s->ys, double, k));
          g_string_append (out, "\r\n");
        }
    }
  return g_string_free (out, FALSE);
}

gboolean
lam_chart_save (LamChart *self, const char *path, LamChartFileFormat format, int width,
                int height, GError **error)
{
  g_autoptr (GByteArray) bytes = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (LAM_IS_CHART (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (format == LAM_CHART_FILE_AUTO)
    format = format_from_path (path);

  switch (format)
    {
    case LAM_CHART_FILE_PNG:
      bytes = render_png (self, width, height, &local_error);
      break;
    case LAM_CHART_FILE_SVG:
      bytes = render_svg (self, width, height, &local_error);
      break;
    case LAM_CHART_FILE_CSV:
      {
        g_autofree char *csv = lam_chart_dup_csv (self);

        bytes = g_byte_array_new ();
        g_byte_array_append (bytes, (const guint8 *) csv, strlen (csv));
      }
      break;
    case LAM_CHART_FILE_AUTO:
    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Could not save %s: the name should end in .png, .svg or .csv", path);
      return FALSE;
    }

  if (bytes == NULL)
    {
      g_set_error (error, G_IO_ERROR, local_error->code, "Could not save %s: %s", path,
                   local_error->message);
      return FALSE;
    }
  return lam_ui_write_file (path, bytes->data, bytes->len, error);
}

void
lam_chart_set_under_cache (LamChart *self, gboolean enabled)
{
  g_return_if_fail (LAM_IS_CHART (self));

  self->under_disabled = !enabled;
  chart_changed (self);
}

guint
lam_chart_get_under_draws (LamChart *self)
{
  g_return_val_if_fail (LAM_IS_CHART (self), 0);

  return self->under_draws;
}

char **
lam_chart_dup_y_tick_labels (LamChart *self, double *plot_height)
{
  g_autoptr (GStrvBuilder) builder = NULL;
  Tick ticks[MAX_TICKS];
  const Layout *l;
  int width, height;
  guint n;

  g_return_val_if_fail (LAM_IS_CHART (self), NULL);

  current_size (self, &width, &height);
  l = get_layout (self, width, height);
  if (plot_height != NULL)
    *plot_height = l->plot_h;
  builder = g_strv_builder_new ();
  n = y_ticks (l, ticks);
  for (guint i = 0; i < n; i++)
    if (ticks[i].labelled)
      {
        g_autofree char *text = y_tick_label (self, l, &ticks[i]);
        g_strv_builder_add (builder, text);
      }
  return g_strv_builder_end (builder);
}
