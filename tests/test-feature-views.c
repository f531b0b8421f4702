/* The Evaluate page's feature views under Xvfb: the drawing pad and its
 * 28×28 preview, the first layer's weights as tiles, and every layer's
 * activations for one image. Each saves a PNG into the build's tests folder
 * for a person to look at. */
#include <gtk/gtk.h>
#include <math.h>
#include <stdlib.h>

#include "lam-activations-view.h"
#include "lam-device.h"
#include "lam-drawing-pad.h"
#include "lam-drawing.h"
#include "lam-model.h"
#include "lam-predict.h"
#include "lam-probability-bars.h"
#include "lam-ui-util.h"
#include "lam-weights-view.h"
#include "lam-test-util.h"

#define INPUT LAM_DRAWING_PAD_INPUT_SIZE

/* A "7": the bar, then the stem down to the left. */
static const double seven[] = {
  0.24, 0.22, 0.50, 0.21, 0.76, 0.22, 0.66, 0.42, 0.56, 0.62, 0.47, 0.82,
};

static void
save_png (GtkWidget *widget, const char *name)
{
  lam_test_settle (300);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (widget, path, &error));
  g_assert_no_error (error);
  g_test_message ("saved %s", path);
}

/* The same picture in the dark variant of the theme. */
static void
save_png_dark (GtkWidget *widget, const char *name)
{
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", TRUE, NULL);
  save_png (widget, name);
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", FALSE, NULL);
}

static GtkWidget *
show_in_window (GtkWidget *child, int width, int height)
{
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  gtk_window_set_child (GTK_WINDOW (window), child);
  gtk_window_present (GTK_WINDOW (window));
  lam_test_settle (300);
  return window;
}

static LamModelPlan *
plan_for (const char *text, int channels, int side)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (text, &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = lam_shape_chw (channels, side, side);
  LamModelPlan *plan = lam_model_plan_new (spec, &error);
  g_assert_no_error (error);
  return plan;
}

static float *
init_params (const LamModelPlan *plan, guint32 seed)
{
  float *params = g_new0 (float, plan->n_params);
  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  for (int i = 0; i < plan->n_layers; i++)
    lam_layer_init (&plan->layers[i], params, rng);
  return params;
}

static void
count_signal (gpointer instance, gpointer data)
{
  (*(guint *) data)++;
}

static void
count_notify (GObject *object, GParamSpec *pspec, gpointer data)
{
  (*(guint *) data)++;
}

/* Drawing pad */

static void
test_drawing_pad_seven (void)
{
  GtkWidget *pad_widget = lam_drawing_pad_new ();
  LamDrawingPad *pad = LAM_DRAWING_PAD (pad_widget);
  GtkWidget *preview = lam_drawing_pad_new_preview (pad);
  GtkWidget *caption = gtk_label_new ("What the network sees: 28×28");
  GtkWidget *side = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 18);
  gtk_widget_set_size_request (preview, 224, 224);
  gtk_widget_set_valign (side, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (side), preview);
  gtk_box_append (GTK_BOX (side), caption);
  gtk_widget_set_hexpand (pad_widget, TRUE);
  gtk_box_append (GTK_BOX (box), pad_widget);
  gtk_box_append (GTK_BOX (box), side);
  g_object_set (box, "margin-start", 18, "margin-end", 18, "margin-top", 18, "margin-bottom", 18,
                NULL);
  GtkWidget *window = show_in_window (box, 720, 440);

  guint changes = 0, empty_notifies = 0;
  g_signal_connect (pad, "changed", G_CALLBACK (count_signal), &changes);
  g_signal_connect (pad, "notify::empty", G_CALLBACK (count_notify), &empty_notifies);

  float input[INPUT * INPUT];
  g_assert_true (lam_drawing_pad_is_empty (pad));
  g_assert_false (lam_drawing_pad_get_input (pad, input));
  for (int i = 0; i < INPUT * INPUT; i++)
    g_assert_cmpfloat (input[i], ==, 0);
  save_png (window, "drawing-pad-empty.png");

  lam_drawing_pad_add_stroke (pad, seven, G_N_ELEMENTS (seven) / 2);
  g_assert_cmpuint (changes, >=, 1);
  g_assert_cmpuint (empty_notifies, ==, 1);
  g_assert_false (lam_drawing_pad_is_empty (pad));
  g_assert_cmpuint (lam_drawing_pad_get_n_strokes (pad), ==, 1);

  /* The raster has ink on the stroke and none far from it. */
  const float *canvas = lam_drawing_pad_get_canvas (pad);
  int r = LAM_DRAWING_PAD_RASTER_SIZE;
  g_assert_cmpfloat (canvas[(int) (0.215 * r) * r + (int) (0.5 * r)], >, 0.9);
  g_assert_cmpfloat (canvas[(int) (0.9 * r) * r + (int) (0.9 * r)], ==, 0);

  g_assert_true (lam_drawing_pad_get_input (pad, input));
  double cx, cy;
  g_assert_true (lam_drawing_center_of_mass (input, INPUT, INPUT, &cx, &cy));
  g_test_message ("centre of mass of the 7: %.2f, %.2f", cx, cy);
  g_assert_cmpfloat (fabs (cx - INPUT / 2.0), <=, 0.5);
  g_assert_cmpfloat (fabs (cy - INPUT / 2.0), <=, 0.5);
  int x0, y0, x1, y1;
  g_assert_true (lam_drawing_bounds (input, INPUT, INPUT, 0, &x0, &y0, &x1, &y1));
  g_assert_cmpint (MAX (x1 - x0 + 1, y1 - y0 + 1), ==, LAM_DRAWING_PAD_INPUT_BOX);
  /* The bar of the 7 is at the top of the image. */
  float top = 0, bottom = 0;
  for (int x = 0; x < INPUT; x++) {
    top += input[(y0 + 1) * INPUT + x];
    bottom += input[y1 * INPUT + x];
  }
  g_assert_cmpfloat (top, >, 2 * bottom);
  save_png (window, "drawing-pad.png");
  save_png_dark (window, "drawing-pad-dark.png");

  /* Filling the frame, chosen under the preview: the 7, taller than wide,
   * spans the frame's height, its box centred. */
  GtkWidget *chooser = gtk_widget_get_last_child (preview);
  g_assert_true (GTK_IS_DROP_DOWN (chooser));
  g_assert_nonnull (gtk_widget_get_tooltip_text (chooser));
  g_assert_cmpuint (gtk_drop_down_get_selected (GTK_DROP_DOWN (chooser)), ==, 0);
  guint before = changes;
  gtk_drop_down_set_selected (GTK_DROP_DOWN (chooser), 1);
  g_assert_cmpint (lam_drawing_pad_get_framing (pad), ==, LAM_DRAWING_FRAMING_FILL);
  g_assert_cmpuint (changes, ==, before + 1);
  g_assert_true (lam_drawing_pad_get_input (pad, input));
  g_assert_true (lam_drawing_bounds (input, INPUT, INPUT, 0, &x0, &y0, &x1, &y1));
  g_test_message ("the 7 filling the frame: x %d..%d, y %d..%d", x0, x1, y0, y1);
  g_assert_cmpint (y0, ==, 0);
  g_assert_cmpint (y1, ==, INPUT - 1);
  g_assert_cmpint (x1 - x0 + 1, >, LAM_DRAWING_PAD_INPUT_BOX);
  g_assert_cmpint (abs (x0 - (INPUT - 1 - x1)), <=, 1);
  save_png (window, "drawing-pad-fill.png");

  /* The dataset sets the framing; the same dataset again keeps the
   * person's choice. */
  static const char *const digits[] = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", NULL };
  lam_drawing_pad_set_dataset (pad, "MNIST (test)", digits);
  g_assert_cmpint (lam_drawing_pad_get_framing (pad), ==, LAM_DRAWING_FRAMING_DIGIT);
  g_assert_cmpuint (gtk_drop_down_get_selected (GTK_DROP_DOWN (chooser)), ==, 0);
  lam_drawing_pad_set_framing (pad, LAM_DRAWING_FRAMING_FILL);
  lam_drawing_pad_set_dataset (pad, "MNIST (test)", digits);
  g_assert_cmpint (lam_drawing_pad_get_framing (pad), ==, LAM_DRAWING_FRAMING_FILL);
  lam_drawing_pad_set_dataset (pad, "Fashion-MNIST (test)", NULL);
  g_assert_cmpint (lam_drawing_pad_get_framing (pad), ==, LAM_DRAWING_FRAMING_FILL);
  lam_drawing_pad_set_dataset (pad, "KMNIST (test)", NULL);
  g_assert_cmpint (lam_drawing_pad_get_framing (pad), ==, LAM_DRAWING_FRAMING_FILL);
  lam_drawing_pad_set_dataset (pad, "MNIST (test)", digits);
  g_assert_cmpint (lam_drawing_pad_get_framing (pad), ==, LAM_DRAWING_FRAMING_DIGIT);

  before = changes;
  lam_drawing_pad_undo (pad);
  g_assert_cmpuint (changes, ==, before + 1);
  g_assert_true (lam_drawing_pad_is_empty (pad));
  g_assert_false (lam_drawing_pad_get_input (pad, input));
  g_assert_cmpfloat (lam_drawing_pad_get_canvas (pad)[(int) (0.215 * r) * r + (int) (0.5 * r)], ==,
                     0);

  /* Undo takes away only the last stroke. */
  static const double dot[] = { 0.5, 0.5 };
  lam_drawing_pad_add_stroke (pad, seven, G_N_ELEMENTS (seven) / 2);
  lam_drawing_pad_add_stroke (pad, dot, 1);
  g_assert_cmpuint (lam_drawing_pad_get_n_strokes (pad), ==, 2);
  lam_drawing_pad_undo (pad);
  g_assert_cmpuint (lam_drawing_pad_get_n_strokes (pad), ==, 1);
  g_assert_true (lam_drawing_pad_get_input (pad, input));

  before = changes;
  lam_drawing_pad_clear (pad);
  g_assert_cmpuint (changes, ==, before + 1);
  g_assert_true (lam_drawing_pad_is_empty (pad));
  g_assert_false (lam_drawing_pad_get_input (pad, input));
  /* The keyboard's actions. */
  lam_drawing_pad_add_stroke (pad, seven, G_N_ELEMENTS (seven) / 2);
  g_assert_true (gtk_widget_activate_action (pad_widget, "drawing-pad.undo", NULL));
  g_assert_true (lam_drawing_pad_is_empty (pad));
  lam_drawing_pad_add_stroke (pad, seven, G_N_ELEMENTS (seven) / 2);
  lam_drawing_pad_add_stroke (pad, dot, 1);
  g_assert_true (gtk_widget_activate_action (pad_widget, "drawing-pad.clear", NULL));
  g_assert_true (lam_drawing_pad_is_empty (pad));

  /* Undo on an empty pad does nothing, and says nothing. */
  before = changes;
  lam_drawing_pad_undo (pad);
  g_assert_cmpuint (changes, ==, before);

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_drawing_pad_preview_outlives_pad (void)
{
  GtkWidget *pad = g_object_ref_sink (lam_drawing_pad_new ());
  GtkWidget *preview = lam_drawing_pad_new_preview (LAM_DRAWING_PAD (pad));
  GtkWidget *window = show_in_window (preview, 200, 200);
  g_object_unref (pad);
  gtk_widget_queue_draw (preview);
  lam_test_settle (100);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Probability bars */

/* A heading over the bars, as the Draw tab has one, says the figure the
 * top bar says: 0.995 is "99.5%" in both, not "100%" in one. */
static void
test_probability_bars_heading (void)
{
  static const char *const clothes[] = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat" };
  const float probs[] = { 0.0035f, 0.995f, 0.0004f, 0.0011f, 0 };
  GtkWidget *bars = lam_probability_bars_new ();
  LamProbabilityBars *self = LAM_PROBABILITY_BARS (bars);
  lam_probability_bars_set_classes (self, clothes, G_N_ELEMENTS (clothes));
  g_assert_null (lam_probability_bars_dup_guess (self));
  g_assert_null (lam_probability_bars_dup_percent_text (self, 1));
  lam_probability_bars_set_probabilities (self, probs, -1);

  g_autofree char *guess = lam_probability_bars_dup_guess (self);
  g_autofree char *top = lam_probability_bars_dup_percent_text (self, 1);
  g_assert_cmpstr (top, ==, "99.5%");
  g_assert_cmpstr (guess, ==, "Trouser, 99.5% sure");
  g_autofree char *trace = lam_probability_bars_dup_percent_text (self, 2);
  g_assert_cmpstr (trace, ==, "<0.1%");
  g_autofree char *small = lam_probability_bars_dup_percent_text (self, 3);
  g_assert_cmpstr (small, ==, "0.1%");
  g_autofree char *none = lam_probability_bars_dup_percent_text (self, 4);
  g_assert_cmpstr (none, ==, "0.0%");

  /* Nearly certain is not written as certain. */
  static const struct
  {
    double p;
    const char *text;
  } cases[] = {
    { 0.995, "99.5%" }, { 0.9994, "99.9%" }, { 0.9996, ">99.9%" }, { 1, "100.0%" },
    { 0.5, "50.0%" },   { 0.00049, "<0.1%" }, { 0.0005, "0.1%" },   { 0, "0.0%" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *text = lam_probability_bars_format_percent (cases[i].p);
    g_assert_cmpstr (text, ==, cases[i].text);
  }

  GtkWidget *heading = gtk_label_new (guess);
  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_widget_add_css_class (heading, "title-2");
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 10);
  g_object_set (box, "margin-start", 18, "margin-end", 18, "margin-top", 18, "margin-bottom", 18,
                NULL);
  gtk_box_append (GTK_BOX (box), heading);
  gtk_box_append (GTK_BOX (box), bars);
  GtkWidget *window = show_in_window (box, 360, 200);
  save_png (window, "probability-bars-heading.png");
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Weights */

/* Gives unit u a bar at angle u·π/n over the first layer's weights, so the
 * picture shows whether tiles are laid out the right way up. */
static void
add_bars (const LamModelPlan *plan, float *params, int layer, int side)
{
  const LamLayer *l = &plan->layers[layer];
  int units = l->spec.out;
  gsize per_unit = l->n_weights / units;
  for (int u = 0; u < units; u++) {
    double angle = G_PI * u / MIN (units, 16);
    double ca = cos (angle), sa = sin (angle);
    float *w = params + l->weight_offset + (gsize) u * per_unit;
    for (int y = 0; y < side; y++) {
      for (int x = 0; x < side; x++) {
        double dx = x + 0.5 - side / 2.0, dy = y + 0.5 - side / 2.0;
        double across = -dx * sa + dy * ca, along = dx * ca + dy * sa;
        double bump = exp (-across * across / (side * side / 60.0)) -
                      0.5 * exp (-across * across / (side * side / 12.0));
        double fade = exp (-along * along / (side * side / 6.0));
        w[y * side + x] += (float) (0.4 * bump * fade);
      }
    }
  }
}

/* The pager's previous button, label and next button, among the view's
 * children. */
static void
find_pager (GtkWidget *view, GtkWidget **previous, GtkWidget **label, GtkWidget **next)
{
  GtkWidget *pager = gtk_widget_get_first_child (view);
  g_assert_true (GTK_IS_BOX (pager));
  *previous = gtk_widget_get_first_child (pager);
  *label = gtk_widget_get_next_sibling (*previous);
  *next = gtk_widget_get_next_sibling (*label);
  g_assert_true (GTK_IS_BUTTON (*previous));
  g_assert_true (GTK_IS_LABEL (*label));
  g_assert_true (GTK_IS_BUTTON (*next));
  g_assert_true (gtk_widget_get_visible (pager));
}

static void
test_weights_linear (void)
{
  g_autoptr (LamModelPlan) plan = plan_for ("flatten,linear:32,relu,linear:10", 1, 28);
  g_autofree float *params = init_params (plan, 1);
  GtkWidget *view = lam_weights_view_new ();
  GtkWidget *window = show_in_window (view, 840, 600);

  lam_weights_view_set_weights (LAM_WEIGHTS_VIEW (view), plan, params);
  g_assert_cmpint (lam_weights_view_get_layer (LAM_WEIGHTS_VIEW (view)), ==, 1);
  g_assert_cmpuint (lam_weights_view_get_n_units (LAM_WEIGHTS_VIEW (view)), ==, 32);
  g_assert_cmpuint (lam_weights_view_get_n_tiles (LAM_WEIGHTS_VIEW (view)), ==, 32);
  save_png (window, "weights-linear-32.png");

  /* One page: no pager. */
  g_assert_cmpuint (lam_weights_view_get_n_pages (LAM_WEIGHTS_VIEW (view)), ==, 1);
  g_assert_null (lam_weights_view_get_page_text (LAM_WEIGHTS_VIEW (view)));

  /* More units than tiles: 64 a page, and buttons over the tiles page
   * through all of them. */
  g_autoptr (LamModelPlan) wide = plan_for ("flatten,linear:256,relu,linear:10", 1, 28);
  g_autofree float *wide_params = init_params (wide, 2);
  add_bars (wide, wide_params, 1, 28);
  LamWeightsView *weights = LAM_WEIGHTS_VIEW (view);
  lam_weights_view_set_weights (weights, wide, wide_params);
  g_assert_cmpuint (lam_weights_view_get_n_units (weights), ==, 256);
  g_assert_cmpuint (lam_weights_view_get_n_tiles (weights), ==, 64);
  g_assert_cmpuint (lam_weights_view_get_n_pages (weights), ==, 4);
  g_assert_cmpuint (lam_weights_view_get_page (weights), ==, 0);
  g_assert_cmpstr (lam_weights_view_get_page_text (weights), ==, "Units 1–64 of 256");
  gtk_window_set_default_size (GTK_WINDOW (window), 840, 1040);
  lam_test_settle (200);
  save_png (window, "weights-linear.png");

  GtkWidget *previous = NULL, *label = NULL, *next = NULL;
  find_pager (view, &previous, &label, &next);
  g_assert_false (gtk_widget_get_sensitive (previous));
  g_assert_true (gtk_widget_get_sensitive (next));
  guint page_notifies = 0;
  g_signal_connect (view, "notify::page", G_CALLBACK (count_notify), &page_notifies);
  for (int i = 0; i < 3; i++) {
    g_assert_true (gtk_widget_get_sensitive (next));
    g_signal_emit_by_name (next, "clicked");
  }
  g_assert_cmpuint (page_notifies, ==, 3);
  g_assert_cmpuint (lam_weights_view_get_page (weights), ==, 3);
  g_assert_cmpuint (lam_weights_view_get_first_unit (weights), ==, 192);
  g_assert_cmpuint (lam_weights_view_get_n_tiles (weights), ==, 64);
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, "Units 193–256 of 256");
  g_assert_false (gtk_widget_get_sensitive (next));
  g_assert_true (gtk_widget_get_sensitive (previous));
  save_png (window, "weights-linear-last-page.png");

  /* The next epoch's weights keep the page. */
  lam_weights_view_set_weights (weights, wide, wide_params);
  g_assert_cmpuint (lam_weights_view_get_page (weights), ==, 3);
  g_signal_emit_by_name (previous, "clicked");
  g_assert_cmpstr (lam_weights_view_get_page_text (weights), ==, "Units 129–192 of 256");

  /* A last page that is not full. */
  g_autoptr (LamModelPlan) odd = plan_for ("flatten,linear:200,relu,linear:10", 1, 28);
  g_autofree float *odd_params = init_params (odd, 6);
  lam_weights_view_set_weights (weights, odd, odd_params);
  g_assert_cmpuint (lam_weights_view_get_page (weights), ==, 0);
  lam_weights_view_set_page (weights, 99);
  g_assert_cmpuint (lam_weights_view_get_page (weights), ==, 3);
  g_assert_cmpuint (lam_weights_view_get_n_tiles (weights), ==, 8);
  g_assert_cmpstr (lam_weights_view_get_page_text (weights), ==, "Units 193–200 of 200");
  g_assert_false (gtk_widget_get_sensitive (next));
  gtk_window_set_default_size (GTK_WINDOW (window), 840, 400);
  save_png (window, "weights-linear-short-page.png");

  /* Fewer units a page: the page that holds the first unit shown. */
  lam_weights_view_set_max_tiles (weights, 16);
  g_assert_cmpuint (lam_weights_view_get_n_pages (weights), ==, 13);
  g_assert_cmpuint (lam_weights_view_get_page (weights), ==, 12);
  g_assert_cmpstr (lam_weights_view_get_page_text (weights), ==, "Units 193–200 of 200");
  lam_weights_view_set_max_tiles (weights, 64);

  lam_weights_view_clear (LAM_WEIGHTS_VIEW (view));
  g_assert_cmpint (lam_weights_view_get_layer (LAM_WEIGHTS_VIEW (view)), ==, -1);
  g_assert_cmpuint (lam_weights_view_get_n_tiles (LAM_WEIGHTS_VIEW (view)), ==, 0);
  gtk_window_set_default_size (GTK_WINDOW (window), 640, 200);
  save_png (window, "weights-empty.png");
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_weights_conv (void)
{
  g_autoptr (LamModelPlan) plan = plan_for ("conv2d:8:5,relu,maxpool2d:2,flatten,linear:10", 1, 28);
  g_autofree float *params = init_params (plan, 3);
  add_bars (plan, params, 0, 5);
  GtkWidget *view = lam_weights_view_new ();
  GtkWidget *window = show_in_window (view, 840, 360);

  lam_weights_view_set_weights (LAM_WEIGHTS_VIEW (view), plan, params);
  g_assert_cmpint (lam_weights_view_get_layer (LAM_WEIGHTS_VIEW (view)), ==, 0);
  g_assert_cmpuint (lam_weights_view_get_n_tiles (LAM_WEIGHTS_VIEW (view)), ==, 8);
  save_png (window, "weights-conv.png");
  save_png_dark (window, "weights-conv-dark.png");

  /* Colour images give colour filters. */
  g_autoptr (LamModelPlan) rgb = plan_for ("conv2d:32:3:p1,relu,flatten,linear:10", 3, 32);
  g_autofree float *rgb_params = init_params (rgb, 4);
  lam_weights_view_set_weights (LAM_WEIGHTS_VIEW (view), rgb, rgb_params);
  g_assert_cmpuint (lam_weights_view_get_n_tiles (LAM_WEIGHTS_VIEW (view)), ==, 32);
  gtk_window_set_default_size (GTK_WINDOW (window), 840, 480);
  save_png (window, "weights-conv-rgb.png");
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_weights_after_pooling (void)
{
  /* A linear layer after pooling still sees a (smaller) picture. */
  g_autoptr (LamModelPlan) plan = plan_for ("maxpool2d:2,flatten,linear:12", 1, 28);
  g_autofree float *params = init_params (plan, 5);
  GtkWidget *view = lam_weights_view_new ();
  GtkWidget *window = show_in_window (view, 640, 400);
  lam_weights_view_set_weights (LAM_WEIGHTS_VIEW (view), plan, params);
  g_assert_cmpint (lam_weights_view_get_layer (LAM_WEIGHTS_VIEW (view)), ==, 2);
  g_assert_cmpuint (lam_weights_view_get_n_tiles (LAM_WEIGHTS_VIEW (view)), ==, 12);

  /* A model without parameters has nothing to show. */
  g_autoptr (LamModelPlan) fixed = plan_for ("flatten,softmax", 1, 28);
  lam_weights_view_set_weights (LAM_WEIGHTS_VIEW (view), fixed, NULL);
  g_assert_cmpint (lam_weights_view_get_layer (LAM_WEIGHTS_VIEW (view)), ==, -1);
  lam_test_settle (100);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Activations */

static void
test_activations_cnn (void)
{
  g_autoptr (GError) error = NULL;
  const char *text = "conv2d:8:3:p1,relu,maxpool2d:2,conv2d:16:3:p1,relu,maxpool2d:2,flatten,"
                     "linear:64,relu,linear:10";
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (text, &error);
  g_assert_no_error (error);
  spec->has_input = TRUE;
  spec->input = lam_shape_chw (1, 28, 28);
  LamBackend *cpu = lam_backend_cpu_new ();
  g_autoptr (LamModel) model = lam_model_new (spec, cpu, 1, 7, &error);
  g_assert_no_error (error);
  const LamModelPlan *plan = lam_model_get_plan (model);
  /* As the Evaluate page runs it: every layer's output kept. */
  lam_model_set_unfused (model, TRUE);

  /* The drawn 7, normalised like MNIST, through the untrained network. */
  g_autoptr (GtkWidget) pad = g_object_ref_sink (lam_drawing_pad_new ());
  lam_drawing_pad_add_stroke (LAM_DRAWING_PAD (pad), seven, G_N_ELEMENTS (seven) / 2);
  float input[INPUT * INPUT];
  g_assert_true (lam_drawing_pad_get_input (LAM_DRAWING_PAD (pad), input));
  for (int i = 0; i < INPUT * INPUT; i++)
    input[i] = (input[i] - 0.1307f) / 0.3081f;
  cpu->upload (cpu, lam_model_get_input (model), input, sizeof input);
  lam_model_forward (model, 1, FALSE, 0);

  g_autoptr (GPtrArray) outputs = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; i < plan->n_layers; i++) {
    gsize n = lam_shape_numel (&plan->layers[i].out_shape);
    float *host = g_new (float, n);
    cpu->download (cpu, host, lam_model_get_layer_output (model, i), n * sizeof (float));
    g_ptr_array_add (outputs, host);
  }
  /* The ReLUs between each convolution and its pool (layers 1 and 4) show
   * what they computed, not a buffer the fused training path never wrote. */
  for (int r = 1; r <= 4; r += 3) {
    const float *relu = g_ptr_array_index (outputs, r);
    gsize n = lam_shape_numel (&plan->layers[r].out_shape);
    float top = 0;
    for (gsize i = 0; i < n; i++)
      top = MAX (top, relu[i]);
    g_assert_cmpfloat (top, >, 0.0f);
  }

  GtkWidget *view = lam_activations_view_new ();
  GtkWidget *window = show_in_window (view, 900, 1100);
  g_assert_cmpuint (lam_activations_view_get_n_rows (LAM_ACTIVATIONS_VIEW (view)), ==, 0);
  lam_activations_view_set (LAM_ACTIVATIONS_VIEW (view), plan, input,
                            (const float *const *) outputs->pdata);
  g_assert_cmpuint (lam_activations_view_get_n_rows (LAM_ACTIVATIONS_VIEW (view)), ==,
                    (guint) plan->n_layers + 1);
  static const char *const digits[] = { "zero", "one", "two", "three", "four",
                                        "five", "six", "seven", "eight", "nine" };
  lam_activations_view_set_class_names (LAM_ACTIVATIONS_VIEW (view), digits, 10);
  save_png (window, "activations.png");
  /* A feature map's tooltip gives its channel's range in these outputs
   * (row 2 is layer 2's, the first ReLU's 8 maps); the input image and
   * flat layers have none. */
  {
    const float *relu = g_ptr_array_index (outputs, 1);
    const LamShape *shape = &plan->layers[1].out_shape;
    gsize plane = (gsize) shape->dims[1] * shape->dims[2];
    float lo = G_MAXFLOAT, hi = -G_MAXFLOAT;
    for (gsize j = 0; j < plane; j++) {
      lo = MIN (lo, relu[3 * plane + j]);
      hi = MAX (hi, relu[3 * plane + j]);
    }
    g_autofree char *want = g_strdup_printf ("Channel 3: %.3g to %.3g", lo, hi);
    g_autofree char *tip =
      lam_activations_view_dup_channel_tooltip (LAM_ACTIVATIONS_VIEW (view), 2, 3);
    g_assert_cmpstr (tip, ==, want);
    g_assert_null (lam_activations_view_dup_channel_tooltip (LAM_ACTIVATIONS_VIEW (view), 2, 8));
    g_assert_null (lam_activations_view_dup_channel_tooltip (LAM_ACTIVATIONS_VIEW (view), 0, 0));
    g_assert_null (lam_activations_view_dup_channel_tooltip (LAM_ACTIVATIONS_VIEW (view),
                                                             (guint) plan->n_layers, 0));
  }

  /* The flat layers and the labelled outputs, at the bottom. */
  GtkWidget *scrolled = gtk_widget_get_first_child (view);
  g_assert_true (GTK_IS_SCROLLED_WINDOW (scrolled));
  GtkAdjustment *vadjustment =
    gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled));
  g_assert_cmpfloat (gtk_adjustment_get_upper (vadjustment), >,
                     gtk_adjustment_get_page_size (vadjustment));
  gtk_adjustment_set_value (vadjustment, gtk_adjustment_get_upper (vadjustment));
  save_png (window, "activations-bottom.png");
  save_png_dark (window, "activations-bottom-dark.png");
  gtk_adjustment_set_value (vadjustment, 0);

  /* Random outputs for the same plan only replace the numbers. */
  g_autoptr (GRand) rng = g_rand_new_with_seed (11);
  for (int i = 0; i < plan->n_layers; i++) {
    float *values = g_ptr_array_index (outputs, i);
    gsize n = lam_shape_numel (&plan->layers[i].out_shape);
    for (gsize j = 0; j < n; j++)
      values[j] = (float) g_rand_double_range (rng, -1, 3);
  }
  lam_activations_view_set (LAM_ACTIVATIONS_VIEW (view), plan, input,
                            (const float *const *) outputs->pdata);
  g_assert_cmpuint (lam_activations_view_get_n_rows (LAM_ACTIVATIONS_VIEW (view)), ==,
                    (guint) plan->n_layers + 1);
  save_png (window, "activations-random.png");

  lam_activations_view_clear (LAM_ACTIVATIONS_VIEW (view));
  g_assert_cmpuint (lam_activations_view_get_n_rows (LAM_ACTIVATIONS_VIEW (view)), ==, 0);
  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_pointer (&model, lam_model_free);
  lam_backend_free (cpu);
}

/* A CNN with batch norms, its layers asked for through the predict call
 * as the Evaluate page asks: every row holds the layer's true values (the
 * ReLUs after the batch norms non-negative and not all zero, each batch
 * norm's output the running-statistics normalisation of its input). */
static void
test_activations_batchnorm (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_preset ("small-cnn-bn", &error);
  g_assert_no_error (error);
  LamBackend *cpu = lam_backend_cpu_new ();
  g_autoptr (LamModel) model = lam_model_new (spec, cpu, 1, 7, &error);
  g_assert_no_error (error);
  const LamModelPlan *plan = lam_model_get_plan (model);

  g_autoptr (GtkWidget) pad = g_object_ref_sink (lam_drawing_pad_new ());
  lam_drawing_pad_add_stroke (LAM_DRAWING_PAD (pad), seven, G_N_ELEMENTS (seven) / 2);
  float input[INPUT * INPUT];
  g_assert_true (lam_drawing_pad_get_input (LAM_DRAWING_PAD (pad), input));
  for (int i = 0; i < INPUT * INPUT; i++)
    input[i] = (input[i] - 0.2860f) / 0.3530f;
  g_autofree int *layers = g_new (int, plan->n_layers);
  for (int i = 0; i < plan->n_layers; i++)
    layers[i] = i;
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_LAYERS;
  request.layers = layers;
  request.n_layers = plan->n_layers;
  g_autoptr (LamPrediction) p = lam_model_predict_inputs (model, input, 1, NULL, &request, &error);
  g_assert_no_error (error);

  /* Fresh running statistics are mean 0 and variance 1: a batch norm's
   * output is its input / sqrt(1 + eps) (γ 1, β 0). */
  const float *conv = p->layer_outputs[0], *bn = p->layer_outputs[1], *relu = p->layer_outputs[2];
  gsize positive = 0, n = p->layer_numel[1];
  for (gsize i = 0; i < n; i++) {
    g_assert_cmpfloat_with_epsilon (bn[i], conv[i] / sqrtf (1 + 1e-5f), 1e-5 + 1e-5 * fabsf (conv[i]));
    g_assert_cmpfloat (relu[i], ==, MAX (bn[i], 0.0f));
    positive += relu[i] > 0;
  }
  g_assert_cmpuint (positive, >, 0);
  g_assert_cmpuint (positive, <, n);

  GtkWidget *view = lam_activations_view_new ();
  GtkWidget *window = show_in_window (view, 900, 1100);
  lam_activations_view_set (LAM_ACTIVATIONS_VIEW (view), plan, input,
                            (const float *const *) p->layer_outputs);
  g_assert_cmpuint (lam_activations_view_get_n_rows (LAM_ACTIVATIONS_VIEW (view)), ==,
                    (guint) plan->n_layers + 1);
  save_png (window, "activations-batchnorm.png");
  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_pointer (&model, lam_model_free);
  lam_backend_free (cpu);
}

int
main (int argc, char **argv)
{
  gtk_init ();
  g_test_init (&argc, &argv, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  g_test_add_func ("/drawing-pad/seven-undo-clear", test_drawing_pad_seven);
  g_test_add_func ("/drawing-pad/preview-outlives-pad", test_drawing_pad_preview_outlives_pad);
  g_test_add_func ("/probability-bars/heading-agrees", test_probability_bars_heading);
  g_test_add_func ("/weights-view/linear", test_weights_linear);
  g_test_add_func ("/weights-view/conv", test_weights_conv);
  g_test_add_func ("/weights-view/linear-after-pooling", test_weights_after_pooling);
  g_test_add_func ("/activations-view/cnn", test_activations_cnn);
  g_test_add_func ("/activations-view/batchnorm", test_activations_batchnorm);
  return g_test_run ();
}
