#include "lam-data-page.h"

#include <math.h>
#include <string.h>

#include "lam-image-decoder.h"
#include "lam-loader.h"
#include "lam-playground-dialog.h"
#include "lam-table-dialog.h"
#include "lam-boundary-view.h"
#include "lam-column-histograms.h"
#include "lam-help.h"
#include "lam-playground.h"
#include "lam-reflow-box.h"
#include "lam-ui-resources.h"
#include "lam-ui-util.h"

#define N_AUGMENTS 4
#define COUNT_ROW_HEIGHT 24

#define NOT_INSTALLED_MESSAGE                                                           \
  "Fashion-MNIST is not installed. Install Debian's dataset-fashion-mnist package, or " \
  "open a folder with MNIST-style IDX files or CIFAR-10 batches."

struct _LamDataPage
{
  GtkWidget parent_instance;

  LamSession *session; /* owned */

  GtkWidget *header_box;
  GtkLabel *title_label;
  GtkLabel *summary_label;
  GtkLabel *shown_label;
  GtkDropDown *part_dropdown;
  GtkLabel *table_label;
  LamColumnHistograms *table_histograms;
  GtkWidget *image_controls;
  GtkColumnView *table_rows;
  LamBoundaryView *table_points;
  GtkWidget *playground_button;
  GtkWidget *table_button;
  GtkWidget *empty_table_button;
  GtkWidget *empty_playground_button;
  GtkLabel *counts_caption;
  GtkDropDown *filter_dropdown;
  GtkScale *zoom_scale;
  GtkButton *zoom_out_button;
  GtkButton *zoom_in_button;
  GtkAdjustment *zoom_adjustment;
  GtkButton *open_button;
  GtkButton *import_button;
  GtkWidget *import_box;
  GtkLabel *import_label;
  GtkProgressBar *import_bar;
  GtkButton *import_cancel_button;
  GtkWidget *skipped_frame;
  GtkLabel *skipped_title;
  GtkExpander *skipped_expander;
  GtkLabel *skipped_label;
  GtkButton *skipped_close_button;
  GtkWidget *loading_box;
  GtkLabel *loading_label;
  GtkProgressBar *loading_bar;
  GtkWidget *error_frame;
  GtkLabel *error_title;
  GtkLabel *error_label;
  GtkLabel *error_note;
  GtkButton *error_close_button;
  GtkStack *content_stack;
  GtkImage *empty_icon;
  GtkLabel *empty_title;
  GtkLabel *empty_label;
  GtkProgressBar *empty_loading_bar;
  GtkButton *empty_open_button;
  GtkButton *empty_import_button;
  GtkDrawingArea *counts_area;
  GtkLabel *split_label;
  GtkLabel *test_label;
  GtkLabel *stats_label;
  LamSampleGrid *grid;
  GtkWidget *sample_box;
  GtkLabel *sample_title;
  GtkLabel *sample_subtitle;
  GtkDrawingArea *sample_area;
  GtkLabel *pixel_min_label;
  GtkLabel *pixel_max_label;
  GtkLabel *pixel_mean_label;
  GtkLabel *norm_min_label;
  GtkLabel *norm_max_label;
  GtkLabel *norm_mean_label;
  GtkDrawingArea *normalised_area;
  GtkDrawingArea *scale_area;
  GtkLabel *scale_note;
  GtkButton *shuffle_button;
  GtkDrawingArea *augment_areas[N_AUGMENTS];
  GtkLabel *augment_note;

  guint pulse_id;
  GtkFileChooserNative *chooser; /* owned while it is open */
  char *loading_dir;             /* the newest folder this page asked for, while it loads */
  char *error_heading;           /* the failed load shown, or NULL */
  char *error_text;

  /* Importing an image folder. */
  GtkFileChooserNative *import_chooser; /* owned while it is open */
  GtkWidget *import_dialog;             /* the size and colour asked for; owned by GTK */
  struct _ImportJob *import_job;        /* owned ref: the import running, or NULL */
  guint import_timer_id;
  char **skipped;      /* owned: what the last import left out, or NULL */
  char *skipped_from;  /* owned: the folder it was imported from */
  char *skipped_dir;   /* owned: its path, as the list shows it */

  /* The chart's data, copied at "dataset-changed": it never reads a
   * dataset the project may have freed. */
  int n_classes;
  int *class_counts; /* owned */
  int counts_cursor; /* the class the arrows reached in the counts */
  guint n_names_cut; /* class names the class list shortened when last drawn */
  char **class_names; /* owned */

  /* The selected image, ready to draw. */
  cairo_surface_t *sample_surface;
  cairo_surface_t *normalised_surface;
  cairo_surface_t *augment_surfaces[N_AUGMENTS];
  float norm_low; /* the normalised values of pixel 0 and 255, over channels */
  float norm_high;
  GRand *rng; /* owned: augmentations */
};

G_DEFINE_FINAL_TYPE (LamDataPage, lam_data_page, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* "60,000" whatever the locale: the page's sentences are English. */
static char *
format_count (gint64 n)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GINT64_FORMAT, n < 0 ? -n : n);
  GString *out = g_string_new (n < 0 ? "−" : "");
  size_t len = strlen (digits);
  for (size_t i = 0; i < len; i++) {
    if (i > 0 && (len - i) % 3 == 0)
      g_string_append_c (out, ',');
    g_string_append_c (out, digits[i]);
  }
  return g_string_free (out, FALSE);
}

/* A number with a real minus sign, and no "−0.00". */
static char *
format_value (double value, int digits)
{
  if (fabs (value) < 0.5 * pow (10, -digits))
    value = 0;
  g_autofree char *text = g_strdup_printf ("%.*f", digits, fabs (value));
  return g_strconcat (value < 0 ? "−" : "", text, NULL);
}

static void
get_colors (GtkWidget *widget, GdkRGBA *fg, GdkRGBA *accent)
{
  GtkStyleContext *context = gtk_widget_get_style_context (widget);
  gtk_style_context_get_color (context, fg);
  if (accent != NULL &&
      !gtk_style_context_lookup_color (context, "theme_selected_bg_color", accent))
    gdk_rgba_parse (accent, "#3584e4");
}

static const LamDataset *
train_set (LamDataPage *self)
{
  return lam_session_get_train_set (self->session);
}

/* The images the grid shows: the training images, or the test images when
 * those are chosen and the dataset has them. */
static const LamDataset *
shown_set (LamDataPage *self)
{
  const LamDataset *test = lam_session_get_test_set (self->session);
  if (gtk_drop_down_get_selected (self->part_dropdown) == 1 && test != NULL)
    return test;
  return train_set (self);
}

static gboolean
showing_test (LamDataPage *self)
{
  return shown_set (self) != train_set (self);
}

/* The normalisation training uses: the dataset's statistics, or the ones set
 * on the Train page. */
static LamLoaderConfig
normalisation_config (LamDataPage *self)
{
  LamLoaderConfig config = lam_loader_config_default ();
  const LamTrainerConfig *trainer = lam_session_get_config (self->session);
  if (trainer->normalize_from_data) {
    lam_session_get_dataset_stats (self->session, config.mean, config.std);
  } else {
    memcpy (config.mean, trainer->mean, sizeof config.mean);
    memcpy (config.std, trainer->std, sizeof config.std);
  }
  /* Images that are all one grey have no spread to divide by. */
  for (int c = 0; c < 3; c++)
    if (!(config.std[c] > 0))
      config.std[c] = 1;
  return config;
}

/* ---- drawing ---- */

static cairo_surface_t *
surface_from_pixels (const LamDataset *dataset, const guint8 *image)
{
  int w = dataset->width, h = dataset->height;
  gsize plane = (gsize) w * h;
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  guint8 *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  for (int y = 0; y < h; y++) {
    guint32 *row = (guint32 *) (data + (gsize) y * stride);
    for (int x = 0; x < w; x++) {
      gsize p = (gsize) y * w + x;
      guint32 r = image[p], g = r, b = r;
      if (dataset->channels == 3) {
        g = image[plane + p];
        b = image[2 * plane + p];
      }
      row[x] = 0xff000000u | r << 16 | g << 8 | b;
    }
  }
  cairo_surface_mark_dirty (surface);
  return surface;
}

/* Normalised values on a grey scale from low (black) to high (white). */
static cairo_surface_t *
surface_from_values (const LamDataset *dataset, const float *values, float low, float high)
{
  gsize size = lam_dataset_image_size (dataset);
  g_autofree guint8 *bytes = g_new (guint8, size);
  float range = high > low ? high - low : 1;
  for (gsize k = 0; k < size; k++)
    bytes[k] = (guint8) CLAMP (lrintf ((values[k] - low) / range * 255), 0, 255);
  return surface_from_pixels (dataset, bytes);
}

static void
draw_image (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  cairo_surface_t *surface = *(cairo_surface_t **) user_data;
  if (surface == NULL)
    return;
  int w = cairo_image_surface_get_width (surface);
  int h = cairo_image_surface_get_height (surface);
  double scale = MIN ((double) width / w, (double) height / h);
  /* Whole multiples keep every source pixel the same size on screen. */
  if (scale >= 2)
    scale = floor (scale);
  double x = floor ((width - w * scale) / 2);
  double y = floor ((height - h * scale) / 2);

  cairo_save (cr);
  cairo_translate (cr, x, y);
  cairo_scale (cr, scale, scale);
  cairo_set_source_surface (cr, surface, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_rectangle (cr, 0, 0, w, h);
  cairo_fill (cr);
  cairo_restore (cr);

  /* Only the selected image takes the focus: a ring round it says so. */
  if (gtk_widget_has_focus (GTK_WIDGET (area))) {
    GdkRGBA fg, accent;
    get_colors (GTK_WIDGET (area), &fg, &accent);
    gdk_cairo_set_source_rgba (cr, &accent);
    cairo_set_line_width (cr, 2);
    cairo_rectangle (cr, x + 1, y + 1, w * scale - 2, h * scale - 2);
    cairo_stroke (cr);
  }
}

static void
draw_scale (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  LamDataPage *self = user_data;
  if (self->sample_surface == NULL)
    return;
  GdkRGBA fg;
  get_colors (GTK_WIDGET (area), &fg, NULL);

  const double bar_height = 12;
  cairo_pattern_t *gradient = cairo_pattern_create_linear (0, 0, width, 0);
  cairo_pattern_add_color_stop_rgb (gradient, 0, 0, 0, 0);
  cairo_pattern_add_color_stop_rgb (gradient, 1, 1, 1, 1);
  cairo_rectangle (cr, 0, 0, width, bar_height);
  cairo_set_source (cr, gradient);
  cairo_fill (cr);
  cairo_pattern_destroy (gradient);
  cairo_rectangle (cr, 0.5, 0.5, width - 1, bar_height - 1);
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.3);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);

  struct
  {
    double value;
    double align; /* 0 left, 0.5 centred, 1 right of the tick */
  } ticks[] = {
    { self->norm_low, 0 },
    { 0, 0.5 },
    { self->norm_high, 1 },
  };
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (area), NULL);
  g_autoptr (PangoAttrList) attrs = pango_attr_list_new ();
  pango_attr_list_insert (attrs, pango_attr_scale_new (PANGO_SCALE_SMALL));
  pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum"));
  pango_layout_set_attributes (layout, attrs);
  double range = self->norm_high - self->norm_low;
  int end_widths[2];
  for (int end = 0; end < 2; end++) {
    g_autofree char *text = format_value (end == 0 ? self->norm_low : self->norm_high, 2);
    pango_layout_set_text (layout, text, -1);
    pango_layout_get_pixel_size (layout, &end_widths[end], NULL);
  }
  for (guint i = 0; i < G_N_ELEMENTS (ticks); i++) {
    double x = range > 0 ? (ticks[i].value - self->norm_low) / range * width : 0;
    g_autofree char *text = format_value (ticks[i].value, 2);
    pango_layout_set_text (layout, text, -1);
    int text_width, text_height;
    pango_layout_get_pixel_size (layout, &text_width, &text_height);
    double text_x = CLAMP (x - ticks[i].align * text_width, 0, width - text_width);
    cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha * 0.5);
    cairo_rectangle (cr, CLAMP (round (x), 0, width - 1), bar_height, 1, 4);
    cairo_fill (cr);
    /* Zero gets a label only where it does not run into the ends' labels. */
    if (i == 1 && (text_x < end_widths[0] + 6 || text_x + text_width > width - end_widths[1] - 6))
      continue;
    cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha * 0.8);
    cairo_move_to (cr, text_x, bar_height + 5);
    pango_cairo_show_layout (cr, layout);
  }
  g_object_unref (layout);
}

static void
rounded_rectangle (cairo_t *cr, double x, double y, double width, double height, double radius)
{
  radius = MIN (radius, MIN (width, height) / 2);
  cairo_new_sub_path (cr);
  cairo_arc (cr, x + width - radius, y + radius, radius, -G_PI / 2, 0);
  cairo_arc (cr, x + width - radius, y + height - radius, radius, 0, G_PI / 2);
  cairo_arc (cr, x + radius, y + height - radius, radius, G_PI / 2, G_PI);
  cairo_arc (cr, x + radius, y + radius, radius, G_PI, 3 * G_PI / 2);
  cairo_close_path (cr);
}

/* Per class: its name, a bar, and the count. */
static void
draw_counts (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  LamDataPage *self = user_data;
  if (self->n_classes == 0)
    return;
  GdkRGBA fg, accent;
  get_colors (GTK_WIDGET (area), &fg, &accent);
  int filter = lam_sample_grid_get_filter (self->grid);

  int max_count = 1;
  for (int c = 0; c < self->n_classes; c++)
    max_count = MAX (max_count, self->class_counts[c]);

  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (area), NULL);
  g_autoptr (PangoAttrList) attrs = pango_attr_list_new ();
  pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum"));
  pango_layout_set_attributes (layout, attrs);

  int name_width = 0, count_width = 0, text_height = 0;
  for (int c = 0; c < self->n_classes; c++) {
    int w;
    pango_layout_set_text (layout, self->class_names[c], -1);
    pango_layout_get_pixel_size (layout, &w, &text_height);
    name_width = MAX (name_width, w);
  }
  g_autofree char *widest = format_count (max_count);
  pango_layout_set_text (layout, widest, -1);
  pango_layout_get_pixel_size (layout, &count_width, NULL);
  /* The bars compare the classes at any length, a cut name says nothing:
   * names take what they need, as long as the bars keep a fifth of the
   * row. Names longer still are cut, and the bar's tooltip names them. */
  const int gap = 8;
  name_width = MIN (name_width, MAX (width - 2 * gap - count_width - width / 5, width * 2 / 5));

  double bar_x = name_width + gap;
  double bar_room = MAX (width - bar_x - gap - count_width, 8);

  self->n_names_cut = 0;
  for (int c = 0; c < self->n_classes; c++) {
    double y = c * COUNT_ROW_HEIGHT;
    gboolean dimmed = filter >= 0 && filter != c;
    double alpha = dimmed ? 0.35 : 1;

    pango_layout_set_width (layout, name_width * PANGO_SCALE);
    pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
    pango_layout_set_text (layout, self->class_names[c], -1);
    if (pango_layout_is_ellipsized (layout))
      self->n_names_cut++;
    cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha * (dimmed ? 0.5 : 1));
    cairo_move_to (cr, 0, y + (COUNT_ROW_HEIGHT - text_height) / 2.0);
    pango_cairo_show_layout (cr, layout);

    double bar_width = MAX (bar_room * self->class_counts[c] / max_count, 2);
    rounded_rectangle (cr, bar_x, y + 6, bar_width, COUNT_ROW_HEIGHT - 12, 3);
    cairo_set_source_rgba (cr, accent.red, accent.green, accent.blue, accent.alpha * alpha);
    cairo_fill (cr);

    g_autofree char *count = format_count (self->class_counts[c]);
    pango_layout_set_width (layout, -1);
    pango_layout_set_text (layout, count, -1);
    cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha * (dimmed ? 0.4 : 0.7));
    cairo_move_to (cr, bar_x + bar_width + 6, y + (COUNT_ROW_HEIGHT - text_height) / 2.0);
    pango_cairo_show_layout (cr, layout);
  }
  g_object_unref (layout);

  /* The class that Enter would show, outlined while the keys are here. */
  if (gtk_widget_has_focus (GTK_WIDGET (area)) && self->counts_cursor < self->n_classes) {
    rounded_rectangle (cr, 1, self->counts_cursor * COUNT_ROW_HEIGHT + 1, width - 2,
                       COUNT_ROW_HEIGHT - 2, 4);
    gdk_cairo_set_source_rgba (cr, &accent);
    cairo_set_line_width (cr, 2);
    cairo_stroke (cr);
  }
}

/* A screen reader hears the class the arrows reached, its count and what
 * Enter does with it. */
static void
update_counts_name (LamDataPage *self)
{
  if (self->n_classes == 0) {
    lam_ui_set_accessible_label (GTK_WIDGET (self->counts_area), NULL);
    return;
  }
  int c = self->counts_cursor;
  g_autofree char *count = format_count (self->class_counts[c]);
  gboolean shown_alone = lam_sample_grid_get_filter (self->grid) == c;
  g_autofree char *name = g_strdup_printf (
    "%s: %s %s images; %s", self->class_names[c], count, showing_test (self) ? "test" : "training",
    shown_alone ? "shown alone, show all classes" : "show only this class");
  lam_ui_set_accessible_label (GTK_WIDGET (self->counts_area), name);
}

/* ---- the selected sample ---- */

static void
clear_sample_surfaces (LamDataPage *self)
{
  g_clear_pointer (&self->sample_surface, cairo_surface_destroy);
  g_clear_pointer (&self->normalised_surface, cairo_surface_destroy);
  for (int i = 0; i < N_AUGMENTS; i++)
    g_clear_pointer (&self->augment_surfaces[i], cairo_surface_destroy);
}

static void
update_augments (LamDataPage *self)
{
  for (int i = 0; i < N_AUGMENTS; i++)
    g_clear_pointer (&self->augment_surfaces[i], cairo_surface_destroy);
  /* Augmentation is for training: test images are always seen as they
   * are. */
  const LamDataset *dataset = showing_test (self) ? NULL : train_set (self);
  int index = lam_sample_grid_get_selected (self->grid);
  /* Exactly what training will do with the Train page's settings: nothing
   * to show when they ask for no augmentation. */
  const LamTrainerConfig *settings = lam_session_get_config (self->session);
  gboolean augmenting = (settings->crop_padding > 0 || settings->hflip) && !showing_test (self);
  if (dataset != NULL && index >= 0 && augmenting) {
    LamLoaderConfig config = normalisation_config (self);
    config.crop_padding = settings->crop_padding;
    config.padding_mode = settings->padding_mode;
    config.hflip = settings->hflip;
    g_autofree float *values = g_new (float, lam_dataset_image_size (dataset));
    for (int i = 0; i < N_AUGMENTS; i++) {
      lam_loader_prepare_image (dataset, index, &config, TRUE, self->rng, values);
      self->augment_surfaces[i] =
        surface_from_values (dataset, values, self->norm_low, self->norm_high);
    }
    g_autofree char *shift = g_strdup_printf (
      "shifted by up to %d pixels%s", config.crop_padding,
      config.padding_mode == LAM_PADDING_REFLECT ? ", the edges mirrored in" : "");
    g_autofree char *note = g_strdup_printf (
      "Every epoch, %s%s%s.", config.crop_padding > 0 ? shift : "",
      config.crop_padding > 0 && config.hflip ? " and " : "",
      config.hflip ? "mirrored half of the time" : "");
    gtk_label_set_text (self->augment_note, note);
  } else if (showing_test (self)) {
    gtk_label_set_text (self->augment_note,
                        "Test images are never augmented: the final evaluation sees them as "
                        "they are.");
  } else if (!augmenting) {
    gtk_label_set_text (self->augment_note,
                        "No augmentation: training sees the images as they are. Train → More "
                        "settings can shift and mirror them.");
  }
  gtk_widget_set_visible (GTK_WIDGET (self->shuffle_button), augmenting);
  for (int i = 0; i < N_AUGMENTS; i++) {
    gtk_widget_set_visible (GTK_WIDGET (self->augment_areas[i]), augmenting);
    gtk_widget_queue_draw (GTK_WIDGET (self->augment_areas[i]));
  }
}

static void
set_label_value (GtkLabel *label, double value, int digits)
{
  g_autofree char *text = format_value (value, digits);
  gtk_label_set_text (label, text);
}

static void
update_sample (LamDataPage *self)
{
  clear_sample_surfaces (self);
  const LamDataset *dataset = shown_set (self);
  int index = lam_sample_grid_get_selected (self->grid);
  gtk_widget_set_visible (self->sample_box, dataset != NULL && index >= 0);
  if (dataset == NULL || index < 0) {
    update_augments (self);
    return;
  }

  int label = dataset->labels[index];
  gtk_label_set_text (self->sample_title, dataset->class_names[label]);
  g_autofree char *number = format_count (index);
  g_autofree char *subtitle = g_strdup_printf ("Index %s · label %d", number, label);
  gtk_label_set_text (self->sample_subtitle, subtitle);
  g_autofree char *name =
    g_strdup_printf ("Selected image: %s, index %s", dataset->class_names[label], number);
  lam_ui_set_accessible_label (GTK_WIDGET (self->sample_area), name);

  /* A table's row has no picture: the panel shows its name alone. */
  if (lam_dataset_is_table (dataset)) {
    update_augments (self);
    return;
  }
  gsize size = lam_dataset_image_size (dataset);
  const guint8 *image = lam_dataset_get_image (dataset, index);
  int pixel_min = 255, pixel_max = 0;
  double pixel_sum = 0;
  for (gsize k = 0; k < size; k++) {
    pixel_min = MIN (pixel_min, image[k]);
    pixel_max = MAX (pixel_max, image[k]);
    pixel_sum += image[k];
  }
  set_label_value (self->pixel_min_label, pixel_min, 0);
  set_label_value (self->pixel_max_label, pixel_max, 0);
  set_label_value (self->pixel_mean_label, pixel_sum / size, 1);

  LamLoaderConfig config = normalisation_config (self);
  g_autofree float *values = g_new (float, size);
  lam_loader_prepare_image (dataset, index, &config, FALSE, NULL, values);
  float value_min = G_MAXFLOAT, value_max = -G_MAXFLOAT;
  double value_sum = 0;
  for (gsize k = 0; k < size; k++) {
    value_min = MIN (value_min, values[k]);
    value_max = MAX (value_max, values[k]);
    value_sum += values[k];
  }
  set_label_value (self->norm_min_label, value_min, 2);
  set_label_value (self->norm_max_label, value_max, 2);
  set_label_value (self->norm_mean_label, value_sum / size, 2);

  self->norm_low = G_MAXFLOAT;
  self->norm_high = -G_MAXFLOAT;
  for (int c = 0; c < dataset->channels; c++) {
    self->norm_low = MIN (self->norm_low, -config.mean[c] / config.std[c]);
    self->norm_high = MAX (self->norm_high, (1 - config.mean[c]) / config.std[c]);
  }
  self->sample_surface = surface_from_pixels (dataset, image);
  self->normalised_surface =
    surface_from_values (dataset, values, self->norm_low, self->norm_high);

  g_autofree char *low = format_value (self->norm_low, 2);
  g_autofree char *high = format_value (self->norm_high, 2);
  g_autofree char *note = g_strdup_printf (
    "Values run from %s (black) to %s (white); 0 is the average pixel.", low, high);
  gtk_label_set_text (self->scale_note, note);

  gtk_widget_queue_draw (GTK_WIDGET (self->sample_area));
  gtk_widget_queue_draw (GTK_WIDGET (self->normalised_area));
  gtk_widget_queue_draw (GTK_WIDGET (self->scale_area));
  update_augments (self);
}

/* ---- the dataset ---- */

static void
update_shown (LamDataPage *self)
{
  const LamDataset *dataset = shown_set (self);
  if (dataset == NULL) {
    gtk_label_set_text (self->shown_label, "");
    return;
  }
  guint shown = lam_sample_grid_get_n_visible_samples (self->grid);
  g_autofree char *count = format_count (shown);
  g_autofree char *text = g_strdup_printf ("%s %s", count, shown == 1 ? "image" : "images");
  gtk_label_set_text (self->shown_label, text);
}

static void
update_split (LamDataPage *self)
{
  const LamDataset *dataset = train_set (self);
  if (dataset == NULL)
    return;

  double fraction = lam_session_get_config (self->session)->val_fraction;
  gint64 n_val = (gint64) llround (dataset->n * fraction);
  g_autofree char *train = format_count (dataset->n - n_val);
  g_autofree char *val = format_count (n_val);
  g_autofree char *percent = fabs (fraction * 100 - round (fraction * 100)) < 0.05
                               ? g_strdup_printf ("%.0f%%", fraction * 100)
                               : g_strdup_printf ("%.1f%%", fraction * 100);
  g_autofree char *split =
    n_val > 0 ? g_strdup_printf ("%s for training, %s for validation (%s)", train, val, percent)
              : g_strdup_printf ("All %s for training, none kept for validation", train);
  gtk_label_set_text (self->split_label, split);

  const LamDataset *test = lam_session_get_test_set (self->session);
  g_autofree char *test_count = test != NULL ? format_count (test->n) : NULL;
  g_autofree char *test_text =
    test != NULL
      ? g_strdup_printf ("%s test images are kept apart for the final evaluation.", test_count)
      : g_strdup ("This folder has no test set.");
  gtk_label_set_text (self->test_label, test_text);

  LamLoaderConfig config = normalisation_config (self);
  const char *source = lam_session_get_config (self->session)->normalize_from_data
                         ? "The training images have"
                         : "Training uses";
  g_autofree char *stats = NULL;
  if (dataset->channels == 1) {
    g_autofree char *mean = format_value (config.mean[0], 3);
    g_autofree char *std = format_value (config.std[0], 3);
    stats = g_strdup_printf ("%s mean %s and standard deviation %s, on a 0–1 scale. The "
                             "network gets each pixel p as\n(p / 255 − %s) / %s",
                             source, mean, std, mean, std);
  } else {
    g_autofree char *means = g_strdup_printf ("%.3f, %.3f, %.3f", config.mean[0], config.mean[1],
                                              config.mean[2]);
    g_autofree char *stds =
      g_strdup_printf ("%.3f, %.3f, %.3f", config.std[0], config.std[1], config.std[2]);
    stats = g_strdup_printf ("%s per-channel means (%s) and standard deviations (%s), on a 0–1 "
                             "scale. The network gets each pixel p of channel c as\n"
                             "(p / 255 − mean[c]) / std[c]",
                             source, means, stds);
  }
  gtk_label_set_text (self->stats_label, stats);
}

static void
update_header (LamDataPage *self)
{
  const LamDataset *dataset = train_set (self);
  if (dataset == NULL) {
    gtk_label_set_text (self->title_label, "No Dataset");
    gtk_label_set_text (self->summary_label, "");
    return;
  }
  const LamDataset *test = lam_session_get_test_set (self->session);
  g_autofree char *n_train = format_count (dataset->n);
  g_autofree char *n_test = test != NULL ? format_count (test->n) : NULL;
  g_autofree char *test_part =
    test != NULL ? g_strdup_printf ("%s test", n_test) : g_strdup ("no test set");
  g_autofree char *inputs = lam_ui_format_quantity (dataset->n_features, "input", "inputs");
  g_autofree char *targets =
    lam_ui_format_quantity (dataset->n_targets, "value to predict", "values to predict");
  g_autofree char *summary =
    !lam_dataset_is_table (dataset)
      ? g_strdup_printf ("%s training images, %s, %d×%d×%d, %d classes", n_train, test_part,
                         dataset->channels, dataset->height, dataset->width, dataset->n_classes)
    : dataset->task == LAM_TASK_REGRESSION
      ? g_strdup_printf ("%s rows, %s, %s → %s", n_train, test_part, inputs, targets)
      : g_strdup_printf ("%s rows, %s, %s → one of %d classes", n_train, test_part, inputs,
                         dataset->n_classes);
  /* The grid's controls are for images. */
  gtk_widget_set_visible (self->image_controls, !lam_dataset_is_table (dataset));
  gtk_label_set_text (self->title_label, dataset->name);
  gtk_label_set_text (self->summary_label, summary);
}

static gboolean
pulse (gpointer user_data)
{
  LamDataPage *self = user_data;
  gtk_progress_bar_pulse (self->loading_bar);
  gtk_progress_bar_pulse (self->empty_loading_bar);
  return G_SOURCE_CONTINUE;
}

/* Which of empty page, loading bar and error the page shows. */
static void
update_state (LamDataPage *self)
{
  gboolean has_dataset = lam_session_get_has_dataset (self->session);
  gboolean loading = lam_session_get_loading (self->session);

  const LamDataset *train = train_set (self);
  gtk_stack_set_visible_child_name (self->content_stack,
                                    !has_dataset                          ? "empty"
                                    : train != NULL && lam_dataset_is_table (train) ? "table"
                                                                          : "data");
  gtk_widget_set_visible (self->header_box, has_dataset);

  gtk_widget_set_visible (self->loading_box, loading && has_dataset);
  gtk_widget_set_visible (GTK_WIDGET (self->empty_loading_bar), loading && !has_dataset);
  if (loading && self->pulse_id == 0) {
    self->pulse_id = g_timeout_add (100, pulse, self);
    pulse (self);
  } else if (!loading) {
    g_clear_handle_id (&self->pulse_id, g_source_remove);
  }
  g_autofree char *loading_text =
    self->loading_dir != NULL ? g_strdup_printf ("Loading %s…", self->loading_dir)
                              : g_strdup ("Loading the dataset…");
  gtk_label_set_text (self->loading_label, loading_text);

  gtk_widget_set_visible (self->error_frame, has_dataset && self->error_text != NULL);
  if (self->error_text != NULL) {
    gtk_label_set_text (self->error_title, self->error_heading);
    gtk_label_set_text (self->error_label, self->error_text);
    if (has_dataset) {
      g_autofree char *note =
        g_strdup_printf ("The dataset shown is still %s.", train_set (self)->name);
      gtk_label_set_text (self->error_note, note);
    }
  }

  if (has_dataset)
    return;
  const char *icon = "image-x-generic-symbolic";
  if (loading) {
    gtk_label_set_text (self->empty_title, "Loading Dataset");
    gtk_label_set_text (self->empty_label, loading_text);
  } else if (self->error_text != NULL) {
    icon = "dialog-error-symbolic";
    gtk_label_set_text (self->empty_title, self->error_heading);
    gtk_label_set_text (self->empty_label, self->error_text);
  } else if (!g_file_test (LAM_DATASET_DEFAULT_DIR, G_FILE_TEST_IS_DIR)) {
    gtk_label_set_text (self->empty_title, "No Dataset");
    gtk_label_set_text (self->empty_label, NOT_INSTALLED_MESSAGE);
  } else {
    gtk_label_set_text (self->empty_title, "No Dataset");
    gtk_label_set_text (self->empty_label,
                        "Open a folder with MNIST-style IDX files or CIFAR-10 batches, or import "
                        "a folder of your own images with one sub-folder per class.");
  }
  gtk_image_set_from_icon_name (self->empty_icon, icon);
}

static void
set_error (LamDataPage *self, const char *title, const char *message)
{
  g_free (self->error_heading);
  g_free (self->error_text);
  self->error_heading = g_strdup (title);
  self->error_text = g_strdup (message);
  update_state (self);
}

static void
filter_selected_changed (GtkDropDown *dropdown, GParamSpec *pspec, LamDataPage *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);
  lam_sample_grid_set_filter (self->grid,
                              selected == GTK_INVALID_LIST_POSITION ? -1 : (int) selected - 1);
}

/* The filter's button names the chosen class in at most a few words. */
static void
filter_button_setup (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  /* Room for "All classes" and names as short as CIFAR-10's even when the
   * header row is tight. */
  gtk_label_set_width_chars (GTK_LABEL (label), 12);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 20);
  gtk_list_item_set_child (item, label);
}

static void
filter_button_bind (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkStringObject *name = GTK_STRING_OBJECT (gtk_list_item_get_item (item));
  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)),
                      gtk_string_object_get_string (name));
}

static void
grid_filter_changed (LamSampleGrid *grid, GParamSpec *pspec, LamDataPage *self)
{
  guint item = (guint) (lam_sample_grid_get_filter (grid) + 1);
  if (gtk_drop_down_get_selected (self->filter_dropdown) != item) {
    g_signal_handlers_block_by_func (self->filter_dropdown, filter_selected_changed, self);
    gtk_drop_down_set_selected (self->filter_dropdown, item);
    g_signal_handlers_unblock_by_func (self->filter_dropdown, filter_selected_changed, self);
  }
  update_shown (self);
  update_counts_name (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->counts_area));
}

static void
grid_selected_changed (LamSampleGrid *grid, GParamSpec *pspec, LamDataPage *self)
{
  update_sample (self);
}

/* Enter, Space or a double-click on an image takes the focus to it in the
 * panel beside the grid, where its name and numbers are read. */
static void
grid_sample_activated (LamSampleGrid *grid, int index, LamDataPage *self)
{
  if (gtk_widget_get_visible (self->sample_box))
    gtk_widget_grab_focus (GTK_WIDGET (self->sample_area));
}

static void
update_zoom_marks (LamDataPage *self)
{
  gtk_scale_clear_marks (self->zoom_scale);
  const LamDataset *dataset = train_set (self);
  if (dataset == NULL)
    return;
  int edge = MAX (dataset->width, dataset->height);
  for (int size = edge; size <= LAM_SAMPLE_GRID_MAX_CELL_SIZE; size += edge)
    if (size >= LAM_SAMPLE_GRID_MIN_CELL_SIZE)
      gtk_scale_add_mark (self->zoom_scale, size, GTK_POS_BOTTOM, NULL);
}

/* Sizes near a whole multiple of the image snap to it, where every pixel of
 * the image gets the same number of screen pixels. */
static void
zoom_value_changed (GtkAdjustment *adjustment, LamDataPage *self)
{
  const LamDataset *dataset = train_set (self);
  if (dataset == NULL)
    return;
  int edge = MAX (dataset->width, dataset->height);
  double value = gtk_adjustment_get_value (adjustment);
  double snapped = round (value / edge) * edge;
  if (snapped != value && fabs (snapped - value) <= 3 &&
      snapped >= LAM_SAMPLE_GRID_MIN_CELL_SIZE && snapped <= LAM_SAMPLE_GRID_MAX_CELL_SIZE)
    gtk_adjustment_set_value (adjustment, snapped);
}

/* The buttons step between whole multiples of the image's size. */
static void
zoom_step (LamDataPage *self, int direction)
{
  const LamDataset *dataset = train_set (self);
  int edge = dataset != NULL ? MAX (dataset->width, dataset->height) : 28;
  double value = gtk_adjustment_get_value (self->zoom_adjustment);
  double target = direction > 0 ? (floor (value / edge) + 1) * edge
                                : (ceil (value / edge) - 1) * edge;
  gtk_adjustment_set_value (self->zoom_adjustment,
                            CLAMP (target, LAM_SAMPLE_GRID_MIN_CELL_SIZE,
                                   LAM_SAMPLE_GRID_MAX_CELL_SIZE));
}

static void
zoom_out_clicked (GtkButton *button, LamDataPage *self)
{
  zoom_step (self, -1);
}

static void
zoom_in_clicked (GtkButton *button, LamDataPage *self)
{
  zoom_step (self, +1);
}

/* A button pressed by keys to the end of its range is turned off under
 * the focus, which would then be nowhere: the slider beside it takes the
 * focus, and its arrows still go the other way. */
static void
set_zoom_button_sensitive (LamDataPage *self, GtkButton *button, gboolean sensitive)
{
  if (!sensitive && gtk_widget_has_focus (GTK_WIDGET (button)))
    gtk_widget_grab_focus (GTK_WIDGET (self->zoom_scale));
  gtk_widget_set_sensitive (GTK_WIDGET (button), sensitive);
}

static void
zoom_buttons_update (GtkAdjustment *adjustment, LamDataPage *self)
{
  double value = gtk_adjustment_get_value (adjustment);
  set_zoom_button_sensitive (self, self->zoom_out_button, value > LAM_SAMPLE_GRID_MIN_CELL_SIZE);
  set_zoom_button_sensitive (self, self->zoom_in_button, value < LAM_SAMPLE_GRID_MAX_CELL_SIZE);
}

/* The table's rows in a column view: one column per input, target or
 * class, each sortable by its values. Rows are their indices; cells read
 * the table. */

#define TABLE_MAX_ROWS 100000
/* A table of at most this many columns shows them all side by side; the
 * rows of a wider one scroll sideways. */
#define TABLE_ALL_COLUMNS 6

/* The scrolled window around the rows. */
static GtkScrolledWindow *
rows_view (LamDataPage *self)
{
  return GTK_SCROLLED_WINDOW (
    gtk_widget_get_ancestor (GTK_WIDGET (self->table_rows), GTK_TYPE_SCROLLED_WINDOW));
}

typedef struct
{
  const LamDataset *table; /* the session's, valid until the next dataset */
  int column;              /* < n_features: an input; then the targets, or the class */
} TableColumn;

static double
table_value (const TableColumn *c, guint row)
{
  const LamDataset *t = c->table;
  if (c->column < t->n_features)
    return t->features[(gsize) row * t->n_features + c->column];
  int k = c->column - t->n_features;
  if (t->task == LAM_TASK_REGRESSION)
    return t->targets[(gsize) row * t->n_targets + k];
  return t->labels[row];
}

static guint
row_of (gpointer item)
{
  return (guint) g_ascii_strtoull (gtk_string_object_get_string (GTK_STRING_OBJECT (item)), NULL,
                                   10);
}

static void
table_cell_setup (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), 1);
  gtk_widget_add_css_class (label, "numeric");
  gtk_list_item_set_child (item, label);
}

static void
table_cell_bind (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  const TableColumn *c = data;
  guint row = row_of (gtk_list_item_get_item (item));
  const LamDataset *t = c->table;
  char text[64];
  if (c->column >= t->n_features && t->task != LAM_TASK_REGRESSION)
    g_strlcpy (text, t->class_names[t->labels[row]], sizeof text);
  else
    g_snprintf (text, sizeof text, "%.6g", table_value (c, row));
  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)), text);
}

static int
table_compare (gconstpointer a, gconstpointer b, gpointer data)
{
  const TableColumn *c = data;
  double x = table_value (c, row_of ((gpointer) a)), y = table_value (c, row_of ((gpointer) b));
  return (x > y) - (x < y);
}

static void
fill_table_rows (LamDataPage *self, const LamDataset *table)
{
  /* The rows go before their columns: removing the column they are sorted
   * by re-sorts and rebinds them, reading a table the session has freed. */
  gtk_column_view_set_model (self->table_rows, NULL);
  GListModel *columns = gtk_column_view_get_columns (self->table_rows);
  while (g_list_model_get_n_items (columns) > 0) {
    g_autoptr (GtkColumnViewColumn) column = g_list_model_get_item (columns, 0);
    gtk_column_view_remove_column (self->table_rows, column);
  }
  g_autoptr (GtkStringList) rows = gtk_string_list_new (NULL);
  for (int r = 0; table != NULL && r < MIN (table->n, TABLE_MAX_ROWS); r++) {
    char index[16];
    g_snprintf (index, sizeof index, "%d", r);
    gtk_string_list_append (rows, index);
  }
  int n_columns = table == NULL ? 0
                  : table->n_features + (table->task == LAM_TASK_REGRESSION ? table->n_targets : 1);
  for (int k = 0; k < n_columns; k++) {
    TableColumn *c = g_new (TableColumn, 1);
    c->table = table;
    c->column = k;
    GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
    g_signal_connect (factory, "setup", G_CALLBACK (table_cell_setup), NULL);
    g_signal_connect_data (factory, "bind", G_CALLBACK (table_cell_bind), c,
                           (GClosureNotify) (void (*) (void)) g_free, 0);
    const char *name = k < table->n_features ? table->feature_names[k]
                                             : table->target_names[k - table->n_features];
    g_autofree char *title = k < table->n_features ? g_strdup (name)
                                                   : g_strdup_printf ("→ %s", name);
    GtkColumnViewColumn *column = gtk_column_view_column_new (title, factory);
    g_autoptr (GtkSorter) sorter = GTK_SORTER (gtk_custom_sorter_new (table_compare, c, NULL));
    gtk_column_view_column_set_sorter (column, sorter);
    gtk_column_view_append_column (self->table_rows, column);
    g_object_unref (column);
  }
  /* A few columns are never cut: the panel is at least as wide as they
   * are. Scrolled sideways, at its smallest width a class column lay past
   * its edge, its title cut to "→ cl" in presentation mode at 1024
   * pixels. */
  gtk_scrolled_window_set_policy (
    rows_view (self), n_columns <= TABLE_ALL_COLUMNS ? GTK_POLICY_NEVER : GTK_POLICY_AUTOMATIC,
    GTK_POLICY_AUTOMATIC);
  GtkSorter *view_sorter = gtk_column_view_get_sorter (self->table_rows);
  GtkSortListModel *sorted =
    gtk_sort_list_model_new (G_LIST_MODEL (g_steal_pointer (&rows)),
                             view_sorter != NULL ? g_object_ref (view_sorter) : NULL);
  GtkNoSelection *selection = gtk_no_selection_new (G_LIST_MODEL (sorted));
  gtk_column_view_set_model (self->table_rows, GTK_SELECTION_MODEL (selection));
  g_object_unref (selection);
}

/* A table: its columns with their statistics, and a 2-D one's points as
 * they lie on the plane. */
static void
show_table (LamDataPage *self, const LamDataset *table)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_string_append_printf (text, "%s\n%d rows · %s\n\nInputs (standardised as x′ = (x − mean) / std):\n",
                          table->name, table->n, lam_task_to_string (table->task));
  for (int j = 0; j < table->n_features; j++)
    g_string_append_printf (text, "  %s: mean %.4g, std %.4g\n", table->feature_names[j],
                            table->feature_mean[j], table->feature_std[j]);
  if (table->task == LAM_TASK_REGRESSION) {
    g_string_append (text, "\nTo predict:\n");
    for (int t = 0; t < table->n_targets; t++)
      g_string_append_printf (text, "  %s: mean %.4g, std %.4g\n", table->target_names[t],
                              table->target_mean[t], table->target_std[t]);
  } else {
    g_string_append_printf (text, "\nClasses (%d):", table->n_classes);
    for (int c = 0; c < table->n_classes; c++)
      g_string_append_printf (text, "%s %s", c > 0 ? "," : "", table->class_names[c]);
    g_string_append_c (text, '\n');
  }
  gtk_label_set_text (self->table_label, text->str);
  fill_table_rows (self, table);
  lam_column_histograms_set_table (self->table_histograms, table);
  gboolean plane = table->n_features == 2;
  gtk_widget_set_visible (GTK_WIDGET (self->table_points), plane);
  if (plane)
    lam_boundary_view_set_points (self->table_points, table->n, table->features, table->labels,
                                  table->n_classes, table->task == LAM_TASK_REGRESSION
                                                      ? table->targets
                                                      : NULL,
                                  LAM_PLAYGROUND_EXTENT);
  if (plane)
    lam_boundary_view_set_axis_names (self->table_points, table->feature_names[0],
                                      table->feature_names[1]);
}

/* The grid, the class filter and the counts of the images shown. */
static void
show_part (LamDataPage *self)
{
  const LamDataset *dataset = shown_set (self);
  if (dataset != NULL && lam_dataset_is_table (dataset)) {
    show_table (self, dataset);
    dataset = NULL;
  } else {
    /* The rows read the table they were made for: none are kept past it. */
    fill_table_rows (self, NULL);
  }

  g_clear_pointer (&self->class_counts, g_free);
  g_clear_pointer (&self->class_names, g_strfreev);
  self->n_classes = 0;
  self->n_names_cut = 0;
  g_autoptr (GtkStringList) classes = gtk_string_list_new (NULL);
  gtk_string_list_append (classes, "All classes");
  if (dataset != NULL) {
    self->n_classes = dataset->n_classes;
    self->class_counts = g_new0 (int, dataset->n_classes);
    self->class_names = g_strdupv (dataset->class_names);
    for (int i = 0; i < dataset->n; i++)
      self->class_counts[dataset->labels[i]]++;
    for (int c = 0; c < dataset->n_classes; c++)
      gtk_string_list_append (classes, dataset->class_names[c]);
  }
  g_signal_handlers_block_by_func (self->filter_dropdown, filter_selected_changed, self);
  gtk_drop_down_set_model (self->filter_dropdown, G_LIST_MODEL (classes));
  gtk_drop_down_set_selected (self->filter_dropdown, 0);
  g_signal_handlers_unblock_by_func (self->filter_dropdown, filter_selected_changed, self);
  gtk_drawing_area_set_content_height (self->counts_area, self->n_classes * COUNT_ROW_HEIGHT);
  self->counts_cursor = 0;
  update_counts_name (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->counts_area));

  gtk_label_set_text (self->counts_caption,
                      showing_test (self)
                        ? "Test images per class. Click a bar to show only that class."
                        : "Training images per class. Click a bar to show only that class.");
  /* Notifies "selected", which fills the sample panel. */
  lam_sample_grid_set_dataset (self->grid, dataset);
  update_shown (self);
}

static void
dataset_changed (LamSession *session, LamDataPage *self)
{
  /* A dataset without test images has only its training part to show. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->part_dropdown),
                            lam_session_get_test_set (self->session) != NULL);
  /* Another dataset opens on its training part, as on its whole class
   * range: a table hides the part chooser, so a test part carried over
   * could not be left. */
  g_signal_handlers_block_by_func (self->part_dropdown, show_part, self);
  gtk_drop_down_set_selected (self->part_dropdown, 0);
  g_signal_handlers_unblock_by_func (self->part_dropdown, show_part, self);
  show_part (self);

  /* A dataset that loaded makes an older failure moot. */
  g_clear_pointer (&self->error_heading, g_free);
  g_clear_pointer (&self->error_text, g_free);

  update_zoom_marks (self);
  update_header (self);
  update_split (self);
  update_shown (self);
  update_state (self);
}

static void
loading_changed (LamSession *session, GParamSpec *pspec, LamDataPage *self)
{
  update_state (self);
}

/* ---- loading ---- */

typedef struct
{
  LamDataPage *self; /* owned */
  char *dir;
} LoadRequest;

static void
load_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LoadRequest *request = user_data;
  LamDataPage *self = request->self;
  g_autoptr (GError) error = NULL;

  gboolean ok = lam_session_load_dataset_finish (LAM_SESSION (source), result, &error);
  /* The page may have been disposed while the folder loaded. */
  if (self->session != NULL) {
    if (g_strcmp0 (self->loading_dir, request->dir) == 0)
      g_clear_pointer (&self->loading_dir, g_free);
    if (!ok && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      if (g_strcmp0 (request->dir, LAM_DATASET_DEFAULT_DIR) == 0 &&
          g_error_matches (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND) &&
          !lam_session_get_has_dataset (self->session)) {
        set_error (self, "No Dataset", NOT_INSTALLED_MESSAGE);
      } else {
        g_autofree char *name = g_path_get_basename (request->dir);
        g_autofree char *title = g_strdup_printf ("Could not open “%s”", name);
        set_error (self, title, error->message);
      }
    } else {
      update_state (self);
    }
  }
  g_object_unref (request->self);
  g_free (request->dir);
  g_free (request);
}

void
lam_data_page_load_folder (LamDataPage *self, const char *dir)
{
  g_return_if_fail (LAM_IS_DATA_PAGE (self));
  g_return_if_fail (dir != NULL);

  g_free (self->loading_dir);
  self->loading_dir = g_strdup (dir);
  LoadRequest *request = g_new0 (LoadRequest, 1);
  request->self = g_object_ref (self);
  request->dir = g_strdup (dir);
  lam_session_load_dataset_async (self->session, dir, NULL, load_done, request);
  update_state (self);
}


/* ---- importing a folder of images ---- */

/* Shared by the page and the worker: the page reads the progress while
 * the worker writes it. */
typedef struct _ImportJob
{
  char *dir;
  int channels;
  int side;
  GCancellable *cancellable; /* owned */
  int done;                  /* atomic */
  int total;                 /* atomic */
  /* Written by the worker, read after it returned. */
  char *result;
  char **skipped;
} ImportJob;

static void
import_job_clear (gpointer data)
{
  ImportJob *job = data;
  g_free (job->dir);
  g_clear_object (&job->cancellable);
  g_free (job->result);
  g_strfreev (job->skipped);
}

static void
import_job_release (gpointer job)
{
  g_atomic_rc_box_release_full (job, import_job_clear);
}

static void
import_progress (guint done, guint total, gpointer user_data)
{
  ImportJob *job = user_data;
  g_atomic_int_set (&job->total, (int) total);
  g_atomic_int_set (&job->done, (int) done);
}

static void
import_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  ImportJob *job = task_data;
  LamImageFolderOptions options;
  lam_image_folder_options_init (&options, job->channels);
  options.height = job->side;
  options.width = job->side;
  /* This page can always decode, registered or not. */
  options.decoder = lam_image_decode;
  options.progress = import_progress;
  options.progress_data = job;
  options.cancellable = job->cancellable;
  GError *error = NULL;
  job->result = lam_dataset_import_image_folder (job->dir, &options, NULL, &job->skipped, &error);
  if (job->result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
import_tick (gpointer user_data)
{
  LamDataPage *self = user_data;
  ImportJob *job = self->import_job;
  if (job == NULL)
    return G_SOURCE_CONTINUE;
  int total = g_atomic_int_get (&job->total);
  int done = g_atomic_int_get (&job->done);
  if (total <= 0) {
    gtk_progress_bar_pulse (self->import_bar);
    gtk_progress_bar_set_text (self->import_bar, "Looking for images…");
    return G_SOURCE_CONTINUE;
  }
  gtk_progress_bar_set_fraction (self->import_bar, CLAMP ((double) done / total, 0, 1));
  g_autofree char *done_text = format_count (done);
  g_autofree char *total_text = format_count (total);
  g_autofree char *text = done < total
                            ? g_strdup_printf ("%s of %s images", done_text, total_text)
                            : g_strdup_printf ("Writing %s images…", total_text);
  gtk_progress_bar_set_text (self->import_bar, text);
  return G_SOURCE_CONTINUE;
}

static void
update_import_state (LamDataPage *self)
{
  gboolean importing = self->import_job != NULL;
  gtk_widget_set_visible (self->import_box, importing);
  if (importing && self->import_timer_id == 0) {
    g_autofree char *name = g_filename_display_basename (self->import_job->dir);
    g_autofree char *text = g_strdup_printf ("Importing “%s”", name);
    gtk_label_set_text (self->import_label, text);
    gtk_progress_bar_set_fraction (self->import_bar, 0);
    self->import_timer_id = g_timeout_add (100, import_tick, self);
    import_tick (self);
  } else if (!importing) {
    g_clear_handle_id (&self->import_timer_id, g_source_remove);
  }
}

static void
update_skipped (LamDataPage *self)
{
  guint n = self->skipped != NULL ? g_strv_length (self->skipped) : 0;
  gtk_widget_set_visible (self->skipped_frame, n > 0);
  if (n == 0)
    return;
  g_autofree char *count = format_count (n);
  g_autofree char *title =
    g_strdup_printf ("%s %s left out of “%s”", count, n == 1 ? "file was" : "files were",
                     self->skipped_from != NULL ? self->skipped_from : "the folder");
  gtk_label_set_text (self->skipped_title, title);
  /* A label of a few hundred lines stays quick; the rest is a count. */
  const guint shown = MIN (n, 500);
  /* Paths inside the folder are shown from it: "dogs/x.png: …". */
  g_autofree char *prefix =
    self->skipped_dir != NULL ? g_strconcat (self->skipped_dir, G_DIR_SEPARATOR_S, NULL) : NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  for (guint i = 0; i < shown; i++) {
    const char *line = self->skipped[i];
    if (prefix != NULL && g_str_has_prefix (line, prefix))
      line += strlen (prefix);
    g_string_append_printf (text, "%s%s", i ? "\n" : "", line);
  }
  if (shown < n) {
    g_autofree char *more = format_count (n - shown);
    g_string_append_printf (text, "\n… and %s more", more);
  }
  gtk_label_set_text (self->skipped_label, text->str);
}

static void
stop_import (LamDataPage *self)
{
  if (self->import_job != NULL) {
    g_cancellable_cancel (self->import_job->cancellable);
    g_clear_pointer (&self->import_job, import_job_release);
  }
  update_import_state (self);
}

static void
import_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LamDataPage *self = LAM_DATA_PAGE (source);
  ImportJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);
  /* A newer import, a cancel or the page's end made this one stale. */
  if (job != self->import_job)
    return;
  g_clear_pointer (&self->import_job, import_job_release);
  update_import_state (self);
  if (!ok) {
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      g_autofree char *name = g_filename_display_basename (job->dir);
      g_autofree char *title = g_strdup_printf ("Could not import “%s”", name);
      set_error (self, title, error->message);
    }
    return;
  }
  g_strfreev (self->skipped);
  self->skipped = g_steal_pointer (&job->skipped);
  g_free (self->skipped_from);
  self->skipped_from = g_filename_display_basename (job->dir);
  g_free (self->skipped_dir);
  self->skipped_dir = g_filename_display_name (job->dir);
  for (gsize len = strlen (self->skipped_dir);
       len > 1 && self->skipped_dir[len - 1] == G_DIR_SEPARATOR; len--)
    self->skipped_dir[len - 1] = '\0';
  update_skipped (self);
  lam_data_page_load_folder (self, job->result);
}

void
lam_data_page_import_folder (LamDataPage *self, const char *dir, int channels, int side)
{
  g_return_if_fail (LAM_IS_DATA_PAGE (self));
  g_return_if_fail (dir != NULL);
  g_return_if_fail (channels == 1 || channels == 3);
  g_return_if_fail (side >= LAM_IMAGE_FOLDER_MIN_SIDE && side <= LAM_IMAGE_FOLDER_MAX_SIDE);

  if (lam_session_get_training (self->session)) {
    g_autofree char *name = g_filename_display_basename (dir);
    g_autofree char *title = g_strdup_printf ("Could not import “%s”", name);
    set_error (self, title, "Stop training before importing another dataset.");
    return;
  }
  stop_import (self);
  ImportJob *job = g_atomic_rc_box_new0 (ImportJob);
  job->dir = g_strdup (dir);
  job->channels = channels;
  job->side = side;
  job->cancellable = g_cancellable_new ();
  self->import_job = job;

  g_autoptr (GTask) task = g_task_new (self, NULL, import_done, NULL);
  g_task_set_source_tag (task, lam_data_page_import_folder);
  g_task_set_name (task, "[lamina] import image folder");
  g_task_set_task_data (task, g_atomic_rc_box_acquire (job), import_job_release);
  lam_ui_run_in_thread (task, import_thread);
  update_import_state (self);
}

void
lam_data_page_cancel_import (LamDataPage *self)
{
  g_return_if_fail (LAM_IS_DATA_PAGE (self));
  stop_import (self);
}

gboolean
lam_data_page_get_importing (LamDataPage *self)
{
  g_return_val_if_fail (LAM_IS_DATA_PAGE (self), FALSE);
  return self->import_job != NULL;
}

const char *const *
lam_data_page_get_skipped_files (LamDataPage *self)
{
  g_return_val_if_fail (LAM_IS_DATA_PAGE (self), NULL);
  return (const char *const *) self->skipped;
}

/* The size and colour to import at. */

static void
import_colour_changed (GtkSwitch *colour, GParamSpec *pspec, GtkSpinButton *size)
{
  /* The other default follows, unless the person chose a size. */
  int value = gtk_spin_button_get_value_as_int (size);
  gboolean active = gtk_switch_get_active (colour);
  if (value == (active ? 28 : 32))
    gtk_spin_button_set_value (size, active ? 32 : 28);
}

static void
import_dialog_accept (GtkButton *button, LamDataPage *self)
{
  GtkWidget *dialog = GTK_WIDGET (gtk_widget_get_root (GTK_WIDGET (button)));
  GtkSwitch *colour = g_object_get_data (G_OBJECT (dialog), "colour");
  GtkSpinButton *size = g_object_get_data (G_OBJECT (dialog), "size");
  g_autofree char *dir = g_strdup (g_object_get_data (G_OBJECT (dialog), "dir"));
  gtk_spin_button_update (size);
  int channels = gtk_switch_get_active (colour) ? 3 : 1;
  int side = gtk_spin_button_get_value_as_int (size);
  gtk_window_destroy (GTK_WINDOW (dialog));
  lam_data_page_import_folder (self, dir, channels, side);
}

static void
import_dialog_cancel (GtkButton *button, gpointer user_data)
{
  gtk_window_destroy (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (button))));
}

static GtkWidget *
dialog_label (const char *text, gboolean dim)
{
  GtkWidget *label = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 46);
  if (dim)
    gtk_widget_add_css_class (label, "dim-label");
  return label;
}

GtkWindow *
lam_data_page_show_import_options (LamDataPage *self, const char *dir)
{
  g_return_val_if_fail (LAM_IS_DATA_PAGE (self), NULL);
  g_return_val_if_fail (dir != NULL, NULL);
  if (self->import_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->import_dialog));

  GtkWidget *dialog = gtk_window_new ();
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  if (GTK_IS_WINDOW (root))
    gtk_window_set_transient_for (GTK_WINDOW (dialog), GTK_WINDOW (root));
  gtk_window_set_modal (GTK_WINDOW (dialog), TRUE);
  gtk_window_set_destroy_with_parent (GTK_WINDOW (dialog), TRUE);
  gtk_window_set_resizable (GTK_WINDOW (dialog), FALSE);
  gtk_window_set_title (GTK_WINDOW (dialog), "Import Image Folder");
  g_object_set_data_full (G_OBJECT (dialog), "dir", g_strdup (dir), g_free);

  GtkWidget *header = gtk_header_bar_new ();
  gtk_header_bar_set_show_title_buttons (GTK_HEADER_BAR (header), FALSE);
  GtkWidget *cancel = gtk_button_new_with_mnemonic ("_Cancel");
  GtkWidget *accept = gtk_button_new_with_mnemonic ("_Import");
  gtk_widget_add_css_class (accept, "suggested-action");
  gtk_header_bar_pack_start (GTK_HEADER_BAR (header), cancel);
  gtk_header_bar_pack_end (GTK_HEADER_BAR (header), accept);
  gtk_window_set_titlebar (GTK_WINDOW (dialog), header);
  g_signal_connect (cancel, "clicked", G_CALLBACK (import_dialog_cancel), NULL);
  g_signal_connect_object (accept, "clicked", G_CALLBACK (import_dialog_accept), self, 0);

  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_widget_set_margin_start (box, 18);
  gtk_widget_set_margin_end (box, 18);
  gtk_widget_set_margin_top (box, 18);
  gtk_widget_set_margin_bottom (box, 18);
  g_autofree char *name = g_filename_display_basename (dir);
  g_autofree char *intro = g_strdup_printf (
    "Each sub-folder of “%s” becomes a class. Its PNG and JPEG images are cropped to a square "
    "from their centre, resized, and kept as a dataset that opens quickly next time.",
    name);
  gtk_box_append (GTK_BOX (box), dialog_label (intro, FALSE));

  GtkWidget *grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 8);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  GtkWidget *colour_label = gtk_label_new_with_mnemonic ("_Colour");
  gtk_label_set_xalign (GTK_LABEL (colour_label), 0);
  GtkWidget *colour = gtk_switch_new ();
  gtk_widget_set_halign (colour, GTK_ALIGN_START);
  gtk_label_set_mnemonic_widget (GTK_LABEL (colour_label), colour);
  GtkWidget *size_label = gtk_label_new_with_mnemonic ("_Size");
  gtk_label_set_xalign (GTK_LABEL (size_label), 0);
  GtkWidget *size =
    gtk_spin_button_new_with_range (LAM_IMAGE_FOLDER_MIN_SIDE, LAM_IMAGE_FOLDER_MAX_SIDE, 1);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (size), 28);
  gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (size), TRUE);
  gtk_label_set_mnemonic_widget (GTK_LABEL (size_label), size);
  GtkWidget *size_unit = gtk_label_new ("pixels square");
  gtk_grid_attach (GTK_GRID (grid), colour_label, 0, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), colour, 1, 0, 2, 1);
  gtk_grid_attach (GTK_GRID (grid), size_label, 0, 1, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), size, 1, 1, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), size_unit, 2, 1, 1, 1);
  gtk_box_append (GTK_BOX (box), grid);
  gtk_box_append (GTK_BOX (box),
                  dialog_label ("28×28 grey is the size of MNIST's digits, 32×32 colour that of "
                                "CIFAR-10's photos. Larger images train more slowly.",
                                TRUE));
  g_signal_connect (colour, "notify::active", G_CALLBACK (import_colour_changed), size);
  g_object_set_data (G_OBJECT (dialog), "colour", colour);
  g_object_set_data (G_OBJECT (dialog), "size", size);

  gtk_window_set_child (GTK_WINDOW (dialog), box);
  gtk_window_set_default_widget (GTK_WINDOW (dialog), accept);
  self->import_dialog = dialog;
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &self->import_dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  return GTK_WINDOW (dialog);
}

static void
import_chooser_response (GtkNativeDialog *dialog, int response, LamDataPage *self)
{
  g_autoptr (GtkFileChooserNative) chooser = g_steal_pointer (&self->import_chooser);
  if (response != GTK_RESPONSE_ACCEPT)
    return;
  g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;
  if (path == NULL) {
    g_autofree char *uri = file != NULL ? g_file_get_uri (file) : g_strdup ("the folder");
    g_autofree char *message = g_strdup_printf ("%s is not a local folder.", uri);
    set_error (self, "Could not import the folder", message);
    return;
  }
  lam_data_page_show_import_options (self, path);
}

void
lam_data_page_choose_import_folder (LamDataPage *self)
{
  g_return_if_fail (LAM_IS_DATA_PAGE (self));
  if (self->import_chooser != NULL) {
    gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->import_chooser));
    return;
  }
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  self->import_chooser = gtk_file_chooser_native_new (
    "Import Image Folder", GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
    GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Choose", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->import_chooser), TRUE);
  g_signal_connect (self->import_chooser, "response", G_CALLBACK (import_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->import_chooser));
}

/* A folder of class folders with no IDX or CIFAR-10 files beside them,
 * which Open Folder… imports instead of reading at a guessed size. */
static gboolean
is_plain_image_folder (const char *dir)
{
  static const char *const dataset_files[] = {
    "train-images-idx3-ubyte", "train-images-idx3-ubyte.gz", "train-images-idx4-ubyte",
    "train-images-idx4-ubyte.gz", "data_batch_1.bin", "cifar-10-batches-bin",
  };
  for (guint i = 0; i < G_N_ELEMENTS (dataset_files); i++) {
    g_autofree char *path = g_build_filename (dir, dataset_files[i], NULL);
    if (g_file_test (path, G_FILE_TEST_EXISTS))
      return FALSE;
  }
  return lam_dataset_is_image_folder (dir);
}

static void
chooser_response (GtkNativeDialog *dialog, int response, LamDataPage *self)
{
  g_autoptr (GtkFileChooserNative) chooser = g_steal_pointer (&self->chooser);
  if (response != GTK_RESPONSE_ACCEPT)
    return;
  g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;
  if (path == NULL) {
    g_autofree char *uri = file != NULL ? g_file_get_uri (file) : g_strdup ("the folder");
    g_autofree char *message = g_strdup_printf ("%s is not a local folder.", uri);
    set_error (self, "Could not open the folder", message);
    return;
  }
  if (is_plain_image_folder (path))
    lam_data_page_show_import_options (self, path);
  else
    lam_data_page_load_folder (self, path);
}

void
lam_data_page_choose_folder (LamDataPage *self)
{
  g_return_if_fail (LAM_IS_DATA_PAGE (self));
  if (self->chooser != NULL) {
    gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
    return;
  }

  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  self->chooser = gtk_file_chooser_native_new ("Open Dataset Folder",
                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Open",
                                               "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  const char *current = lam_session_get_dataset_dir (self->session);
  if (current != NULL) {
    g_autoptr (GFile) file = g_file_new_for_path (current);
    g_autoptr (GFile) parent = g_file_get_parent (file);
    if (parent != NULL)
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), parent, NULL);
  }
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* ---- widget ---- */

static void
open_clicked (GtkButton *button, LamDataPage *self)
{
  lam_data_page_choose_folder (self);
}

static void
error_close_clicked (GtkButton *button, LamDataPage *self)
{
  set_error (self, NULL, NULL);
}

static void
import_clicked (GtkButton *button, LamDataPage *self)
{
  lam_data_page_choose_import_folder (self);
}

static void
on_playground_chosen (LamPlaygroundDialog *dialog, const char *uri, LamDataPage *self)
{
  lam_data_page_load_folder (self, uri);
}

void
lam_data_page_choose_playground (LamDataPage *self)
{
  g_return_if_fail (LAM_IS_DATA_PAGE (self));
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  LamPlaygroundDialog *dialog =
    lam_playground_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL);
  /* Another look at the set open now starts from it. */
  LamPlaygroundParams params;
  const char *dir = lam_session_get_dataset_dir (self->session);
  if (lam_playground_is_uri (dir) && lam_playground_params_parse (dir, &params, NULL))
    lam_playground_dialog_set_params (dialog, &params);
  g_signal_connect_object (dialog, "chosen", G_CALLBACK (on_playground_chosen), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_table_chosen (LamTableDialog *dialog, const char *name, LamDataPage *self)
{
  lam_data_page_load_folder (self, name);
}

/* Its columns next: which are inputs and which to predict. */
void
lam_data_page_open_table (LamDataPage *self, const char *path)
{
  g_return_if_fail (LAM_IS_DATA_PAGE (self));
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autoptr (GError) error = NULL;
  LamTableDialog *dialog =
    lam_table_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, path, &error);
  if (dialog == NULL) {
    g_autofree char *name = g_path_get_basename (path);
    g_autofree char *title = g_strdup_printf ("Could not open “%s”", name);
    set_error (self, title, error->message);
    return;
  }
  g_signal_connect_object (dialog, "chosen", G_CALLBACK (on_table_chosen), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
table_chooser_response (GtkNativeDialog *chooser, int response, LamDataPage *self)
{
  g_autoptr (GFile) file = response == GTK_RESPONSE_ACCEPT
                             ? gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser))
                             : NULL;
  g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
  if (path != NULL)
    lam_data_page_open_table (self, path);
}

static void
table_clicked (GtkButton *button, LamDataPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new (
    "Open Table", GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, GTK_FILE_CHOOSER_ACTION_OPEN,
    "_Open", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, "CSV tables");
  gtk_file_filter_add_pattern (filter, "*.csv");
  gtk_file_filter_add_pattern (filter, "*.CSV");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  g_object_unref (filter);
  /* The tables that come with Lamina: the crop-yields lesson first. */
  g_autofree char *bundled = lam_dataset_find_bundled_table ("crop-yields");
  if (bundled != NULL) {
    g_autoptr (GFile) file = g_file_new_for_path (bundled);
    g_autoptr (GFile) folder = g_file_get_parent (file);
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), folder, NULL);
  }
  g_signal_connect (chooser, "response", G_CALLBACK (table_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
playground_clicked (GtkButton *button, LamDataPage *self)
{
  lam_data_page_choose_playground (self);
}

static void
import_cancel_clicked (GtkButton *button, LamDataPage *self)
{
  lam_data_page_cancel_import (self);
}

static void
skipped_close_clicked (GtkButton *button, LamDataPage *self)
{
  g_clear_pointer (&self->skipped, g_strfreev);
  update_skipped (self);
}

static void
shuffle_clicked (GtkButton *button, LamDataPage *self)
{
  update_augments (self);
}

static gboolean
counts_query_tooltip (GtkWidget *area, int x, int y, gboolean keyboard, GtkTooltip *tooltip,
                      LamDataPage *self)
{
  int class_index = (int) (y / COUNT_ROW_HEIGHT);
  if (keyboard || class_index < 0 || class_index >= self->n_classes)
    return FALSE;
  g_autofree char *count = format_count (self->class_counts[class_index]);
  g_autofree char *text = g_strdup_printf ("%s: %s %s images", self->class_names[class_index],
                                           count, showing_test (self) ? "test" : "training");
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
counts_pressed (GtkGestureClick *gesture, int n_press, double x, double y, LamDataPage *self)
{
  int class_index = (int) (y / COUNT_ROW_HEIGHT);
  if (class_index < 0 || class_index >= self->n_classes)
    return;
  self->counts_cursor = class_index;
  gboolean same = lam_sample_grid_get_filter (self->grid) == class_index;
  lam_data_page_set_class_filter (self, same ? -1 : class_index);
  update_counts_name (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->counts_area));
}

/* The counts are one focus stop: Up and Down go from class to class, and
 * Enter or Space does what a click on that bar does. */
static gboolean
counts_key_pressed (GtkEventControllerKey *controller, guint keyval, guint keycode,
                    GdkModifierType state, LamDataPage *self)
{
  if (self->n_classes == 0 || (state & (GDK_CONTROL_MASK | GDK_ALT_MASK | GDK_SHIFT_MASK)))
    return FALSE;
  int cursor = self->counts_cursor;
  switch (keyval) {
  case GDK_KEY_Up:
  case GDK_KEY_KP_Up:
    cursor--;
    break;
  case GDK_KEY_Down:
  case GDK_KEY_KP_Down:
    cursor++;
    break;
  case GDK_KEY_Home:
  case GDK_KEY_KP_Home:
    cursor = 0;
    break;
  case GDK_KEY_End:
  case GDK_KEY_KP_End:
    cursor = self->n_classes - 1;
    break;
  case GDK_KEY_Return:
  case GDK_KEY_ISO_Enter:
  case GDK_KEY_KP_Enter:
  case GDK_KEY_space:
  case GDK_KEY_KP_Space: {
    gboolean same = lam_sample_grid_get_filter (self->grid) == cursor;
    lam_data_page_set_class_filter (self, same ? -1 : cursor);
    return TRUE;
  }
  default:
    return FALSE;
  }
  self->counts_cursor = CLAMP (cursor, 0, self->n_classes - 1);
  update_counts_name (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->counts_area));
  return TRUE;
}

/* The Train page edits the split and the normalisation in place; show what
 * it says now whenever this page comes back. */
static void
lam_data_page_map (GtkWidget *widget)
{
  LamDataPage *self = LAM_DATA_PAGE (widget);
  GTK_WIDGET_CLASS (lam_data_page_parent_class)->map (widget);
  update_split (self);
  update_sample (self);
}

/* The Train page's settings changed: the normalisation and augmentation
 * shown are theirs. */
static void
settings_changed (LamDataPage *self)
{
  if (train_set (self) == NULL)
    return;
  update_split (self);
  update_sample (self);
}

static void
lam_data_page_constructed (GObject *object)
{
  LamDataPage *self = LAM_DATA_PAGE (object);
  G_OBJECT_CLASS (lam_data_page_parent_class)->constructed (object);

  g_assert (self->session != NULL);
  g_signal_connect (self->session, "dataset-changed", G_CALLBACK (dataset_changed), self);
  g_signal_connect (self->session, "notify::loading", G_CALLBACK (loading_changed), self);
  g_signal_connect_object (self->session, "settings-changed", G_CALLBACK (settings_changed), self,
                           G_CONNECT_SWAPPED);
  dataset_changed (self->session, self);
}

static void
lam_data_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamDataPage *self = LAM_DATA_PAGE (object);
  switch (prop_id) {
  case PROP_SESSION:
    g_value_set_object (value, self->session);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_data_page_set_property (GObject *object, guint prop_id, const GValue *value,
                            GParamSpec *pspec)
{
  LamDataPage *self = LAM_DATA_PAGE (object);
  switch (prop_id) {
  case PROP_SESSION:
    self->session = g_value_dup_object (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_data_page_dispose (GObject *object)
{
  LamDataPage *self = LAM_DATA_PAGE (object);
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_handle_id (&self->pulse_id, g_source_remove);
  if (self->chooser != NULL) {
    g_signal_handlers_disconnect_by_data (self->chooser, self);
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
    g_clear_object (&self->chooser);
  }
  if (self->import_chooser != NULL) {
    g_signal_handlers_disconnect_by_data (self->import_chooser, self);
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->import_chooser));
    g_clear_object (&self->import_chooser);
  }
  if (self->import_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->import_dialog));
  /* The worker finishes on its own; its result is then stale. */
  if (self->import_job != NULL) {
    g_cancellable_cancel (self->import_job->cancellable);
    g_clear_pointer (&self->import_job, import_job_release);
  }
  g_clear_handle_id (&self->import_timer_id, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), LAM_TYPE_DATA_PAGE);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (lam_data_page_parent_class)->dispose (object);
}

static void
lam_data_page_finalize (GObject *object)
{
  LamDataPage *self = LAM_DATA_PAGE (object);
  clear_sample_surfaces (self);
  g_clear_pointer (&self->class_counts, g_free);
  g_clear_pointer (&self->class_names, g_strfreev);
  g_clear_pointer (&self->loading_dir, g_free);
  g_clear_pointer (&self->error_heading, g_free);
  g_clear_pointer (&self->error_text, g_free);
  g_clear_pointer (&self->skipped, g_strfreev);
  g_clear_pointer (&self->skipped_from, g_free);
  g_clear_pointer (&self->skipped_dir, g_free);
  g_clear_pointer (&self->rng, g_rand_free);
  G_OBJECT_CLASS (lam_data_page_parent_class)->finalize (object);
}

static void
lam_data_page_class_init (LamDataPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = lam_data_page_constructed;
  object_class->get_property = lam_data_page_get_property;
  object_class->set_property = lam_data_page_set_property;
  object_class->dispose = lam_data_page_dispose;
  object_class->finalize = lam_data_page_finalize;
  widget_class->map = lam_data_page_map;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, LAM_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS |
                           G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Referencing the resource links its object file, whose constructor
   * registers it, into every program that takes this page from the static
   * library. */
  if (lam_ui_get_resource () == NULL)
    g_critical ("Lamina's UI resources are missing");
  g_type_ensure (LAM_TYPE_SAMPLE_GRID);
  g_type_ensure (LAM_TYPE_REFLOW_BOX);
  g_type_ensure (LAM_TYPE_HELP_BUTTON);
  g_type_ensure (LAM_TYPE_BOUNDARY_VIEW);
  g_type_ensure (LAM_TYPE_COLUMN_HISTOGRAMS);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/lamina/Lamina/ui/lam-data-page.ui");
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, header_box);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, title_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, summary_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, shown_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, part_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, table_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, table_histograms);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, image_controls);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, table_rows);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, table_points);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, playground_button);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, table_button);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, empty_table_button);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, empty_playground_button);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, counts_caption);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, filter_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, zoom_scale);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, zoom_out_button);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, zoom_in_button);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, zoom_adjustment);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, open_button);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, import_button);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, import_box);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, import_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, import_bar);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, import_cancel_button);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, skipped_frame);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, skipped_title);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, skipped_expander);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, skipped_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, skipped_close_button);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, loading_box);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, loading_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, loading_bar);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, error_frame);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, error_title);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, error_note);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, error_close_button);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, content_stack);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, empty_icon);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, empty_title);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, empty_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, empty_loading_bar);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, empty_open_button);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, empty_import_button);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, counts_area);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, split_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, test_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, stats_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, grid);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, sample_box);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, sample_title);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, sample_subtitle);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, sample_area);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, pixel_min_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, pixel_max_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, pixel_mean_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, norm_min_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, norm_max_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, norm_mean_label);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, normalised_area);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, scale_area);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, scale_note);
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, shuffle_button);
  gtk_widget_class_bind_template_child_full (widget_class, "augment_area0", FALSE,
                                             G_STRUCT_OFFSET (LamDataPage, augment_areas[0]));
  gtk_widget_class_bind_template_child_full (widget_class, "augment_area1", FALSE,
                                             G_STRUCT_OFFSET (LamDataPage, augment_areas[1]));
  gtk_widget_class_bind_template_child_full (widget_class, "augment_area2", FALSE,
                                             G_STRUCT_OFFSET (LamDataPage, augment_areas[2]));
  gtk_widget_class_bind_template_child_full (widget_class, "augment_area3", FALSE,
                                             G_STRUCT_OFFSET (LamDataPage, augment_areas[3]));
  gtk_widget_class_bind_template_child (widget_class, LamDataPage, augment_note);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
lam_data_page_init (LamDataPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->rng = g_rand_new_with_seed (1);
  lam_ui_label_unselected_on_focus (self->table_label);
  lam_ui_label_unselected_on_focus (self->skipped_label);
  lam_ui_label_unselected_on_focus (self->error_label);
  lam_ui_expander_hide_collapsed_child (self->skipped_expander);

  /* A class name as long as the header row widened the window past the
   * screen when chosen. The list keeps GTK's factory, which shows whole
   * names and marks the chosen one. */
  gtk_drop_down_set_list_factory (self->filter_dropdown,
                                  gtk_drop_down_get_factory (self->filter_dropdown));
  g_autoptr (GtkListItemFactory) filter_button = gtk_signal_list_item_factory_new ();
  g_signal_connect (filter_button, "setup", G_CALLBACK (filter_button_setup), NULL);
  g_signal_connect (filter_button, "bind", G_CALLBACK (filter_button_bind), NULL);
  gtk_drop_down_set_factory (self->filter_dropdown, filter_button);
  g_signal_connect (self->filter_dropdown, "notify::selected",
                    G_CALLBACK (filter_selected_changed), self);
  g_signal_connect_swapped (self->part_dropdown, "notify::selected", G_CALLBACK (show_part),
                            self);
  g_signal_connect (self->grid, "notify::filter", G_CALLBACK (grid_filter_changed), self);
  g_signal_connect (self->grid, "notify::selected", G_CALLBACK (grid_selected_changed), self);
  g_signal_connect (self->grid, "sample-activated", G_CALLBACK (grid_sample_activated), self);
  GtkEventController *sample_focus = gtk_event_controller_focus_new ();
  g_signal_connect_swapped (sample_focus, "enter", G_CALLBACK (gtk_widget_queue_draw),
                            self->sample_area);
  g_signal_connect_swapped (sample_focus, "leave", G_CALLBACK (gtk_widget_queue_draw),
                            self->sample_area);
  gtk_widget_add_controller (GTK_WIDGET (self->sample_area), sample_focus);
  g_object_bind_property (self->zoom_adjustment, "value", self->grid, "cell-size",
                          G_BINDING_SYNC_CREATE | G_BINDING_BIDIRECTIONAL);
  g_signal_connect (self->zoom_adjustment, "value-changed", G_CALLBACK (zoom_value_changed),
                    self);
  g_signal_connect (self->zoom_adjustment, "value-changed", G_CALLBACK (zoom_buttons_update),
                    self);
  g_signal_connect (self->zoom_out_button, "clicked", G_CALLBACK (zoom_out_clicked), self);
  g_signal_connect (self->zoom_in_button, "clicked", G_CALLBACK (zoom_in_clicked), self);
  zoom_buttons_update (self->zoom_adjustment, self);
  g_signal_connect (self->open_button, "clicked", G_CALLBACK (open_clicked), self);
  g_signal_connect (self->empty_open_button, "clicked", G_CALLBACK (open_clicked), self);
  g_signal_connect (self->error_close_button, "clicked", G_CALLBACK (error_close_clicked), self);
  g_signal_connect (self->import_button, "clicked", G_CALLBACK (import_clicked), self);
  g_signal_connect (self->empty_import_button, "clicked", G_CALLBACK (import_clicked), self);
  g_signal_connect (self->playground_button, "clicked", G_CALLBACK (playground_clicked), self);
  g_signal_connect (self->table_button, "clicked", G_CALLBACK (table_clicked), self);
  g_signal_connect (self->empty_table_button, "clicked", G_CALLBACK (table_clicked), self);
  g_signal_connect (self->empty_playground_button, "clicked", G_CALLBACK (playground_clicked),
                    self);
  g_signal_connect (self->import_cancel_button, "clicked", G_CALLBACK (import_cancel_clicked),
                    self);
  g_signal_connect (self->skipped_close_button, "clicked", G_CALLBACK (skipped_close_clicked),
                    self);
  g_signal_connect (self->shuffle_button, "clicked", G_CALLBACK (shuffle_clicked), self);

  gtk_drawing_area_set_draw_func (self->sample_area, draw_image, &self->sample_surface, NULL);
  gtk_drawing_area_set_draw_func (self->normalised_area, draw_image, &self->normalised_surface,
                                  NULL);
  for (int i = 0; i < N_AUGMENTS; i++)
    gtk_drawing_area_set_draw_func (self->augment_areas[i], draw_image,
                                    &self->augment_surfaces[i], NULL);
  gtk_drawing_area_set_draw_func (self->scale_area, draw_scale, self, NULL);
  gtk_drawing_area_set_draw_func (self->counts_area, draw_counts, self, NULL);
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self->counts_area), "pointer");
  gtk_widget_set_has_tooltip (GTK_WIDGET (self->counts_area), TRUE);
  g_signal_connect (self->counts_area, "query-tooltip", G_CALLBACK (counts_query_tooltip), self);

  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (counts_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self->counts_area), GTK_EVENT_CONTROLLER (click));
  gtk_widget_set_focusable (GTK_WIDGET (self->counts_area), TRUE);
  GtkEventController *counts_keys = gtk_event_controller_key_new ();
  g_signal_connect (counts_keys, "key-pressed", G_CALLBACK (counts_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self->counts_area), counts_keys);
  GtkEventController *counts_focus = gtk_event_controller_focus_new ();
  g_signal_connect_swapped (counts_focus, "enter", G_CALLBACK (gtk_widget_queue_draw),
                            self->counts_area);
  g_signal_connect_swapped (counts_focus, "leave", G_CALLBACK (gtk_widget_queue_draw),
                            self->counts_area);
  gtk_widget_add_controller (GTK_WIDGET (self->counts_area), counts_focus);
}

GtkWidget *
lam_data_page_new (LamSession *session)
{
  g_return_val_if_fail (LAM_IS_SESSION (session), NULL);
  return g_object_new (LAM_TYPE_DATA_PAGE, "session", session, NULL);
}

LamSession *
lam_data_page_get_project (LamDataPage *self)
{
  g_return_val_if_fail (LAM_IS_DATA_PAGE (self), NULL);
  return self->session;
}

LamColumnHistograms *
lam_data_page_get_table_histograms (LamDataPage *self)
{
  g_return_val_if_fail (LAM_IS_DATA_PAGE (self), NULL);
  return self->table_histograms;
}

GtkColumnView *
lam_data_page_get_table_rows (LamDataPage *self)
{
  g_return_val_if_fail (LAM_IS_DATA_PAGE (self), NULL);
  return self->table_rows;
}

void
lam_data_page_set_showing_test (LamDataPage *self, gboolean test)
{
  g_return_if_fail (LAM_IS_DATA_PAGE (self));
  gtk_drop_down_set_selected (self->part_dropdown, test ? 1 : 0);
}

gboolean
lam_data_page_get_showing_test (LamDataPage *self)
{
  g_return_val_if_fail (LAM_IS_DATA_PAGE (self), FALSE);
  return showing_test (self);
}

LamSampleGrid *
lam_data_page_get_grid (LamDataPage *self)
{
  g_return_val_if_fail (LAM_IS_DATA_PAGE (self), NULL);
  return self->grid;
}

void
lam_data_page_set_class_filter (LamDataPage *self, int class_index)
{
  g_return_if_fail (LAM_IS_DATA_PAGE (self));
  g_return_if_fail (class_index >= -1);
  if (class_index >= self->n_classes)
    class_index = -1;
  gtk_drop_down_set_selected (self->filter_dropdown, (guint) (class_index + 1));
}

const char *
lam_data_page_get_error_message (LamDataPage *self)
{
  g_return_val_if_fail (LAM_IS_DATA_PAGE (self), NULL);
  return self->error_text;
}

guint
lam_data_page_get_n_class_names_cut (LamDataPage *self)
{
  g_return_val_if_fail (LAM_IS_DATA_PAGE (self), 0);
  return self->n_names_cut;
}
