/* The drawing pad against a digits model, under Xvfb: a digits dataset in
 * MNIST's format is rendered from the installed fonts, a small CNN is
 * trained on it for two epochs on the CPU, its weights are published to
 * the Evaluate page, and each digit 0–9 is drawn on the pad as a person
 * would draw it with the mouse; the page must recognise at least nine.
 * A grid of the generated digits and the Draw tab for a few digits are
 * saved as PNGs into the build's tests folder. */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "digits-dataset.h"
#include "lam-device.h"
#include "lam-drawing.h"
#include "lam-evaluate-page.h"
#include "lam-predict.h"
#include "lam-ui-util.h"

#define N_TRAIN 12000
#define N_TEST 2000
#define SPEC "conv2d:16:5:p2,relu,maxpool2d:2,conv2d:32:5:p2,relu,maxpool2d:2,flatten," \
             "linear:64,relu,linear:10"

static char *data_dir;
static LamSession *session;
static GtkWidget *window;
static LamEvaluatePage *page;

static LamModelSpec *spec;
static float *params;
static gsize n_params;
static float mean[3], std[3];

static void
iterate_until (gboolean (*done) (gpointer), gpointer data, int timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (!done (data) && g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

static void
settle (int ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

static char *
build_path (const char *name)
{
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  return g_build_filename (dir ? dir : ".", name, NULL);
}

static void
on_after_paint (GdkFrameClock *clock, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* Waits for a whole frame to be painted, so that the PNG shows what the
 * screen shows. */
static void
save_png (const char *name)
{
  settle (200);
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);
  gboolean painted = FALSE;
  gulong handler = g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), &painted);
  gtk_widget_queue_draw (window);
  iterate_until (flag_set, &painted, 5000);
  g_signal_handler_disconnect (clock, handler);
  g_autofree char *path = build_path (name);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (window, path, &error));
  g_assert_no_error (error);
  g_test_message ("saved %s", path);
}

static void
on_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = lam_session_load_dataset_finish (LAM_SESSION (source), result, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  *(gboolean *) user_data = TRUE;
}

/* Ten examples of each class, one class a row, enlarged with crisp
 * pixels. */
static void
save_grid (const LamDataset *train, const char *name)
{
  const int scale = 3, gap = 4, cell = LAM_TEST_DIGITS_SIZE * scale;
  const int side = 10 * cell + 11 * gap;
  cairo_surface_t *grid = cairo_image_surface_create (CAIRO_FORMAT_RGB24, side, side);
  cairo_t *cr = cairo_create (grid);
  cairo_set_source_rgb (cr, 0.35, 0.35, 0.4);
  cairo_paint (cr);

  int shown[10] = { 0 };
  for (int i = 0; i < train->n; i++) {
    int label = train->labels[i];
    if (shown[label] == 10)
      continue;
    cairo_surface_t *digit = cairo_image_surface_create (CAIRO_FORMAT_RGB24, LAM_TEST_DIGITS_SIZE,
                                                         LAM_TEST_DIGITS_SIZE);
    cairo_surface_flush (digit);
    guint8 *data = cairo_image_surface_get_data (digit);
    int stride = cairo_image_surface_get_stride (digit);
    const guint8 *image = lam_dataset_get_image (train, i);
    for (int y = 0; y < LAM_TEST_DIGITS_SIZE; y++)
      for (int x = 0; x < LAM_TEST_DIGITS_SIZE; x++) {
        guint32 v = image[y * LAM_TEST_DIGITS_SIZE + x];
        *(guint32 *) (data + y * stride + 4 * x) = v << 16 | v << 8 | v;
      }
    cairo_surface_mark_dirty (digit);

    cairo_save (cr);
    cairo_translate (cr, gap + shown[label] * (cell + gap), gap + label * (cell + gap));
    cairo_scale (cr, scale, scale);
    cairo_set_source_surface (cr, digit, 0, 0);
    cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
    cairo_paint (cr);
    cairo_restore (cr);
    cairo_surface_destroy (digit);
    shown[label]++;
  }
  cairo_destroy (cr);
  g_autofree char *path = build_path (name);
  g_assert_cmpint (cairo_surface_write_to_png (grid, path), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy (grid);
  g_test_message ("saved %s", path);
}

static void
test_generate (void)
{
  g_autoptr (GError) error = NULL;
  data_dir = g_dir_make_tmp ("lamina-digits-XXXXXX", &error);
  g_assert_no_error (error);

  gint64 start = g_get_monotonic_time ();
  g_assert_true (lam_test_write_digits_dataset (data_dir, N_TRAIN, N_TEST, 7, &error));
  g_assert_no_error (error);
  g_test_message ("%d + %d digits rendered in %.1f s", N_TRAIN, N_TEST,
                  (g_get_monotonic_time () - start) / 1e6);

  gboolean loaded = FALSE;
  lam_session_load_dataset_async (session, data_dir, NULL, on_loaded, &loaded);
  iterate_until (flag_set, &loaded, 60000);
  g_assert_true (loaded);

  const LamDataset *train = lam_session_get_train_set (session);
  const LamDataset *test = lam_session_get_test_set (session);
  g_assert_nonnull (test);
  g_assert_cmpint (train->n, ==, N_TRAIN);
  g_assert_cmpint (test->n, ==, N_TEST);
  g_assert_cmpint (train->channels, ==, 1);
  g_assert_cmpint (train->height, ==, 28);
  g_assert_cmpint (train->width, ==, 28);
  g_assert_cmpint (train->n_classes, ==, 10);
  for (int c = 0; c < 10; c++) {
    g_autofree char *name = g_strdup_printf ("%d", c);
    g_assert_cmpstr (train->class_names[c], ==, name);
  }

  int counts[10] = { 0 };
  for (int i = 0; i < train->n; i++)
    counts[train->labels[i]]++;
  for (int c = 0; c < 10; c++)
    g_assert_cmpint (counts[c], ==, N_TRAIN / 10);

  /* Every image went through the pad's preprocessing: its brightest pixel
   * is white and its frame of four pixels is black, as 20×20 in 28×28
   * leaves it. */
  for (int i = 0; i < train->n; i++) {
    const guint8 *image = lam_dataset_get_image (train, i);
    guint8 peak = 0;
    int x0, y0, x1, y1;
    g_autofree float *pixels = g_new (float, 28 * 28);
    for (int p = 0; p < 28 * 28; p++) {
      peak = MAX (peak, image[p]);
      pixels[p] = image[p] / 255.0f;
    }
    g_assert_cmpuint (peak, ==, 255);
    g_assert_true (lam_drawing_bounds (pixels, 28, 28, 0, &x0, &y0, &x1, &y1));
    g_assert_cmpint (MAX (x1 - x0, y1 - y0) + 1, ==, 20);
  }
  save_grid (train, "draw-digits-train-grid.png");
}

static void
test_train (void)
{
  g_autoptr (GError) error = NULL;
  spec = lam_model_spec_from_text (SPEC, &error);
  g_assert_no_error (error);

  LamTrainerConfig config = lam_trainer_config_default ();
  config.epochs = 2;
  config.batch_size = 64;
  config.val_fraction = 0;
  config.seed = 1;
  config.normalize_from_data = TRUE;
  config.evaluate_test = FALSE;
  g_assert_cmpint (config.optimizer.kind, ==, LAM_OPTIMIZER_ADAM);

  const LamDataset *test = lam_session_get_test_set (session);
  LamBackend *backend = lam_backend_cpu_new ();
  LamTrainer *trainer = lam_trainer_new (spec, lam_session_get_train_set (session), test, backend,
                                         &config, &error);
  g_assert_no_error (error);
  gint64 start = g_get_monotonic_time ();
  lam_trainer_start (trainer, FALSE);
  lam_trainer_wait (trainer);
  g_test_message ("%d epochs trained in %.1f s", config.epochs,
                  (g_get_monotonic_time () - start) / 1e6);

  params = lam_trainer_dup_params (trainer, &n_params);
  lam_trainer_get_normalization (trainer, mean, std);
  LamModel *model = lam_trainer_get_model (trainer);
  lam_model_spec_free (spec);
  spec = lam_model_spec_copy (lam_model_get_spec (model));

  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = LAM_PREDICT_CONFUSION;
  request.confusion_classes = 10;
  g_autoptr (GError) predict_error = NULL;
  g_autoptr (LamPrediction) prediction =
    lam_model_predict (model, test, NULL, 0, mean, std, &request, NULL, &predict_error);
  g_assert_no_error (predict_error);
  LamConfusion *confusion = prediction->confusion;
  double loss = prediction->mean_loss;
  double accuracy = prediction->accuracy;
  GString *per_class = g_string_new (NULL);
  for (int t = 0; t < 10; t++) {
    guint64 row = 0;
    for (int p = 0; p < 10; p++)
      row += lam_confusion_get (confusion, t, p);
    g_string_append_printf (per_class, " %d:%.3f", t,
                            (double) lam_confusion_get (confusion, t, t) / MAX (row, 1));
  }
  g_test_message ("generated test set: accuracy %.4f, loss %.4f; per class%s", accuracy, loss,
                  per_class->str);
  g_string_free (per_class, TRUE);
  lam_trainer_free (trainer);
  lam_backend_free (backend);

  g_assert_cmpfloat (accuracy, >=, 0.95);
}

typedef struct
{
  int epoch;
  guint run;
} Expected;

static gboolean
evaluated (gpointer data)
{
  const Expected *expected = data;
  LamEvaluationResult *result = lam_evaluation_get_result (lam_evaluate_page_get_evaluation (page));
  return !lam_evaluate_page_is_busy (page) && result != NULL && result->epoch == expected->epoch &&
         result->run == expected->run;
}

/* Points of an elliptical arc around (cx, cy), angles in degrees measured
 * clockwise on screen from 3 o'clock. */
static void
append_arc (GArray *points, double cx, double cy, double rx, double ry, double from, double to,
            int n)
{
  for (int i = 0; i < n; i++) {
    double a = (from + (to - from) * i / (n - 1)) * G_PI / 180;
    double xy[2] = { cx + rx * cos (a), cy + ry * sin (a) };
    g_array_append_vals (points, xy, 2);
  }
}

static void
append_points (GArray *points, const double *xy, int n)
{
  g_array_append_vals (points, xy, 2 * n);
}

/* A person's hand: a digit is drawn where and how big it happens to be,
 * leaning a little. */
typedef struct
{
  double dx, dy;  /* offset from the middle */
  double scale;   /* of the designed size */
  double lean;    /* x shift per unit of height above the middle */
} Hand;

static void
draw_stroke (LamDrawingPad *pad, GArray *points, const Hand *hand)
{
  double *xy = (double *) points->data;
  for (guint i = 0; i < points->len / 2; i++) {
    double x = xy[2 * i] - 0.5, y = xy[2 * i + 1] - 0.5;
    xy[2 * i] = 0.5 + hand->dx + hand->scale * (x - hand->lean * y);
    xy[2 * i + 1] = 0.5 + hand->dy + hand->scale * y;
  }
  lam_drawing_pad_add_stroke (pad, xy, points->len / 2);
  g_array_set_size (points, 0);
}

/* Each digit as strokes in pad coordinates, in the order a person makes
 * them. */
static void
draw_digit (LamDrawingPad *pad, int digit)
{
  static const Hand hands[10] = {
    { 0.03, -0.02, 0.95, 0.05 }, { -0.04, 0.03, 0.9, 0.08 }, { 0.02, 0.04, 0.85, 0.0 },
    { -0.03, -0.03, 0.9, 0.06 }, { 0.04, 0.02, 0.85, 0.04 }, { -0.02, 0.03, 0.9, 0.1 },
    { 0.03, 0.0, 0.85, -0.04 },  { -0.03, 0.04, 0.9, 0.05 }, { 0.02, -0.03, 0.85, 0.08 },
    { -0.04, 0.02, 0.9, 0.1 },
  };
  const Hand *hand = &hands[digit];
  g_autoptr (GArray) points = g_array_new (FALSE, FALSE, sizeof (double));

  switch (digit) {
  case 0:
    /* Round from the top, anticlockwise, overshooting where it began. */
    append_arc (points, 0.5, 0.5, 0.2, 0.3, -80, -80 - 375, 24);
    draw_stroke (pad, points, hand);
    break;
  case 1: {
    static const double one[] = { 0.51, 0.2, 0.505, 0.5, 0.49, 0.8 };
    append_points (points, one, 3);
    draw_stroke (pad, points, hand);
    break;
  }
  case 2: {
    static const double tail[] = { 0.55, 0.52, 0.45, 0.63, 0.35, 0.78, 0.5, 0.775, 0.67, 0.785 };
    append_arc (points, 0.5, 0.36, 0.15, 0.15, 200, 380, 12);
    append_points (points, tail, 5);
    draw_stroke (pad, points, hand);
    break;
  }
  case 3:
    append_arc (points, 0.49, 0.34, 0.14, 0.13, 210, 450, 12);
    append_arc (points, 0.49, 0.63, 0.16, 0.16, -90, 150, 13);
    draw_stroke (pad, points, hand);
    break;
  case 4: {
    static const double corner[] = { 0.44, 0.2, 0.33, 0.58, 0.69, 0.58 };
    static const double down[] = { 0.6, 0.34, 0.6, 0.6, 0.59, 0.82 };
    append_points (points, corner, 3);
    draw_stroke (pad, points, hand);
    append_points (points, down, 3);
    draw_stroke (pad, points, hand);
    break;
  }
  case 5: {
    static const double neck[] = { 0.4, 0.21, 0.38, 0.47 };
    static const double bar[] = { 0.4, 0.21, 0.52, 0.205, 0.65, 0.2 };
    append_points (points, neck, 2);
    append_arc (points, 0.49, 0.61, 0.17, 0.17, -130, 150, 16);
    draw_stroke (pad, points, hand);
    append_points (points, bar, 3);
    draw_stroke (pad, points, hand);
    break;
  }
  case 6: {
    static const double swoop[] = { 0.62, 0.2, 0.52, 0.26, 0.43, 0.37, 0.37, 0.5 };
    append_points (points, swoop, 4);
    append_arc (points, 0.51, 0.64, 0.15, 0.15, 180, 180 - 345, 20);
    draw_stroke (pad, points, hand);
    break;
  }
  case 7: {
    static const double seven[] = { 0.34, 0.23, 0.5, 0.225, 0.66, 0.22, 0.57, 0.42, 0.5, 0.6,
                                    0.45, 0.8 };
    append_points (points, seven, 6);
    draw_stroke (pad, points, hand);
    break;
  }
  case 8:
    /* Two loops, the lower one a little wider, meeting in the middle. */
    append_arc (points, 0.5, 0.33, 0.12, 0.13, 90, 90 + 370, 20);
    draw_stroke (pad, points, hand);
    append_arc (points, 0.5, 0.625, 0.15, 0.165, -90, -90 + 370, 22);
    draw_stroke (pad, points, hand);
    break;
  case 9: {
    static const double stem[] = { 0.63, 0.36, 0.62, 0.6, 0.6, 0.81 };
    append_arc (points, 0.5, 0.35, 0.13, 0.14, -10, -370, 20);
    append_points (points, stem, 3);
    draw_stroke (pad, points, hand);
    break;
  }
  default:
    g_assert_not_reached ();
  }
}

static void
test_pad (void)
{
  g_assert_nonnull (params);
  lam_session_begin_run (session);
  lam_session_set_weights (session, spec, params, n_params, mean, std, 2);
  Expected expected = { 2, lam_session_get_weights_run (session) };
  iterate_until (evaluated, &expected, 120000);
  g_assert_true (evaluated (&expected));
  LamEvaluation *evaluation = lam_evaluate_page_get_evaluation (page);
  g_test_message ("the page's accuracy on the generated test set: %.4f",
                  lam_evaluate_page_get_accuracy (page));

  lam_evaluate_page_show_tab (page, "draw");
  LamDrawingPad *pad = lam_evaluate_page_get_drawing_pad (page);
  /* The generated folder names its classes, so the loader names the
   * dataset after the folder: its ten digits still ask for digit style. */
  const LamDataset *test = lam_session_get_test_set (session);
  g_test_message ("dataset %s", test->name);
  g_assert_cmpint (lam_drawing_framing_for_dataset (test->name,
                                                    (const char *const *) test->class_names),
                   ==, LAM_DRAWING_FRAMING_DIGIT);
  lam_drawing_pad_set_dataset (pad, test->name, (const char *const *) test->class_names);
  g_assert_cmpint (lam_drawing_pad_get_framing (pad), ==, LAM_DRAWING_FRAMING_DIGIT);
  LamProbabilityBars *bars = lam_evaluate_page_get_drawing_bars (page);
  settle (200);

  int recognised = 0;
  for (int digit = 0; digit < 10; digit++) {
    lam_drawing_pad_clear (pad);
    settle (50);
    g_assert_true (lam_drawing_pad_is_empty (pad));
    draw_digit (pad, digit);
    settle (100);

    /* The bars show the model's answer for exactly what is on the pad. */
    float pixels[28 * 28], input[28 * 28], probs[10];
    g_assert_true (lam_drawing_pad_get_input (pad, pixels));
    lam_evaluation_normalize (evaluation, pixels, input);
    g_assert_true (lam_evaluation_predict_one (evaluation, input, probs, NULL));
    for (int c = 0; c < 10; c++)
      g_assert_cmpfloat_with_epsilon (lam_probability_bars_get_probability (bars, c), probs[c],
                                      1e-5);

    int top[3];
    for (int r = 0; r < 3; r++)
      top[r] = lam_probability_bars_get_ranked (bars, r);
    g_test_message ("drew %d (%u strokes): %d %.1f%%, %d %.1f%%, %d %.1f%%%s", digit,
                    lam_drawing_pad_get_n_strokes (pad), top[0],
                    100 * lam_probability_bars_get_probability (bars, top[0]), top[1],
                    100 * lam_probability_bars_get_probability (bars, top[1]), top[2],
                    100 * lam_probability_bars_get_probability (bars, top[2]),
                    top[0] == digit ? "" : "  <- wrong");
    if (top[0] == digit)
      recognised++;
    if (digit == 3 || digit == 4 || digit == 7 || digit == 9) {
      g_autofree char *name = g_strdup_printf ("draw-digit-%d.png", digit);
      save_png (name);
    }
  }
  g_test_message ("%d of 10 drawn digits recognised", recognised);
  g_assert_cmpint (recognised, >=, 9);
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;
  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_remove (path);
  }
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  gtk_init ();
  g_test_init (&argc, &argv, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  session = lam_session_new ();
  window = gtk_window_new ();
  gtk_window_set_title (GTK_WINDOW (window), "Evaluate");
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 820);
  page = LAM_EVALUATE_PAGE (lam_evaluate_page_new (session));
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (GTK_WINDOW (window));
  settle (300);

  g_test_add_func ("/draw-digits/dataset/rendered-from-fonts-mnist-style", test_generate);
  g_test_add_func ("/draw-digits/train/generated-test-accuracy", test_train);
  g_test_add_func ("/draw-digits/evaluate-page/pad-recognises-drawn-digits", test_pad);
  int status = g_test_run ();

  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (session);
  g_clear_pointer (&spec, lam_model_spec_free);
  g_free (params);
  if (data_dir != NULL)
    remove_dir (data_dir);
  g_free (data_dir);
  return status;
}
