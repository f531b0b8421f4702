#include <math.h>
#include <string.h>

#include "lam-loader.h"

/* ---- helpers ---- */

static guint8
pixel_value (int image, gsize k)
{
  return (guint8) ((image * 7 + k * 3 + 1) & 0xff);
}

static LamDataset *
dataset_new (int n, int channels, int height, int width, int n_classes)
{
  LamDataset *ds = g_new0 (LamDataset, 1);
  ds->name = g_strdup ("test");
  ds->n = n;
  ds->channels = channels;
  ds->height = height;
  ds->width = width;
  gsize size = (gsize) channels * height * width;
  ds->images = g_new (guint8, n * size);
  ds->labels = g_new (guint8, n);
  for (int i = 0; i < n; i++) {
    ds->labels[i] = (guint8) ((i * 5 + 2) % n_classes);
    for (gsize k = 0; k < size; k++)
      ds->images[i * size + k] = pixel_value (i, k);
  }
  ds->n_classes = n_classes;
  ds->class_names = g_new0 (char *, n_classes + 1);
  for (int c = 0; c < n_classes; c++)
    ds->class_names[c] = g_strdup_printf ("%d", c);
  return ds;
}

/* Runs a whole epoch and returns the dataset indices in the order seen. */
static GArray *
run_epoch (LamLoader *loader, int epoch)
{
  GArray *seen = g_array_new (FALSE, FALSE, sizeof (guint32));
  lam_loader_start_epoch (loader, epoch);
  const LamBatch *batch;
  while ((batch = lam_loader_next (loader)) != NULL)
    g_array_append_vals (seen, batch->indices, batch->size);
  return seen;
}

static gboolean
arrays_equal (GArray *a, GArray *b)
{
  return a->len == b->len && memcmp (a->data, b->data, a->len * sizeof (guint32)) == 0;
}

/* The image at index normalised with the config and no augmentation. */
static void
expect_plain (const LamDataset *ds, int index, const LamLoaderConfig *config, const float *got)
{
  gsize plane = (gsize) ds->height * ds->width;
  const guint8 *image = lam_dataset_get_image (ds, index);
  for (int c = 0; c < ds->channels; c++)
    for (gsize k = 0; k < plane; k++) {
      double want = (image[c * plane + k] / 255.0 - config->mean[c]) / config->std[c];
      g_assert_cmpfloat_with_epsilon (got[c * plane + k], want, 1e-5);
    }
}

/* ---- split ---- */

static void
test_split_sizes (void)
{
  struct
  {
    gsize n;
    double fraction;
    gsize n_val;
  } cases[] = {
    { 100, 0.1, 10 }, { 10, 0.25, 3 }, { 7, 0.0, 0 }, { 60000, 0.1, 6000 }, { 1, 0.9, 0 },
    { 3, 0.9, 2 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (LamSplit) split = lam_split_new_fraction (cases[i].n, cases[i].fraction, 1);
    g_assert_cmpuint (split->n_val, ==, cases[i].n_val);
    g_assert_cmpuint (split->n_train, ==, cases[i].n - cases[i].n_val);
    g_assert_true ((split->val == NULL) == (split->n_val == 0));
  }
  g_autoptr (LamSplit) count = lam_split_new_count (50, 7, 3);
  g_assert_cmpuint (count->n_val, ==, 7);
  g_assert_cmpuint (count->n_train, ==, 43);
}

static void
test_split_disjoint (void)
{
  gsize n = 1000;
  g_autoptr (LamSplit) split = lam_split_new_count (n, 250, 42);
  g_autofree guint8 *seen = g_new0 (guint8, n);
  for (gsize i = 0; i < split->n_train; i++) {
    g_assert_cmpuint (split->train[i], <, n);
    if (i > 0)
      g_assert_cmpuint (split->train[i - 1], <, split->train[i]);
    seen[split->train[i]]++;
  }
  for (gsize i = 0; i < split->n_val; i++) {
    g_assert_cmpuint (split->val[i], <, n);
    if (i > 0)
      g_assert_cmpuint (split->val[i - 1], <, split->val[i]);
    seen[split->val[i]]++;
  }
  for (gsize i = 0; i < n; i++)
    g_assert_cmpint (seen[i], ==, 1);
  /* A shuffled choice, not the first or last quarter. */
  g_assert_cmpuint (split->val[0], <, 50);
  g_assert_cmpuint (split->val[split->n_val - 1], >, 950);
}

static gboolean
splits_equal (const LamSplit *a, const LamSplit *b)
{
  return a->n_val == b->n_val && a->n_train == b->n_train &&
         memcmp (a->val, b->val, a->n_val * sizeof (guint32)) == 0 &&
         memcmp (a->train, b->train, a->n_train * sizeof (guint32)) == 0;
}

static void
test_split_seed (void)
{
  g_autoptr (LamSplit) a = lam_split_new_fraction (1000, 0.2, 7);
  g_autoptr (LamSplit) b = lam_split_new_fraction (1000, 0.2, 7);
  g_autoptr (LamSplit) c = lam_split_new_fraction (1000, 0.2, 8);
  /* Seeds that differ only in the high 32 bits. */
  g_autoptr (LamSplit) d = lam_split_new_fraction (1000, 0.2, 7 | (G_GUINT64_CONSTANT (1) << 32));
  g_assert_true (splits_equal (a, b));
  g_assert_false (splits_equal (a, c));
  g_assert_false (splits_equal (a, d));
}

/* ---- epochs ---- */

static void
check_coverage (gsize n, const guint32 *indices, int batch_size, gboolean drop_last)
{
  g_autoptr (LamDataset) ds = dataset_new (200, 1, 3, 3, 10);
  LamLoaderConfig config = lam_loader_config_default ();
  config.batch_size = batch_size;
  config.shuffle = TRUE;
  config.drop_last = drop_last;
  config.seed = 11;
  g_autoptr (LamLoader) loader = lam_loader_new (ds, indices, n, &config);
  g_assert_cmpuint (lam_loader_get_n_samples (loader), ==, n);
  int want_batches = drop_last ? (int) (n / batch_size) : (int) ((n + batch_size - 1) / batch_size);
  g_assert_cmpint (lam_loader_get_n_batches (loader), ==, want_batches);

  for (int epoch = 0; epoch < 3; epoch++) {
    g_autofree guint8 *count = g_new0 (guint8, ds->n);
    lam_loader_start_epoch (loader, epoch);
    const LamBatch *batch;
    int batches = 0;
    gsize total = 0;
    while ((batch = lam_loader_next (loader)) != NULL) {
      batches++;
      if (batches < want_batches || drop_last || n % batch_size == 0)
        g_assert_cmpint (batch->size, ==, batch_size);
      else
        g_assert_cmpint (batch->size, ==, (int) (n % batch_size));
      for (int i = 0; i < batch->size; i++)
        count[batch->indices[i]]++;
      total += batch->size;
    }
    g_assert_cmpint (batches, ==, want_batches);
    g_assert_null (lam_loader_next (loader));
    g_assert_cmpuint (total, ==, drop_last ? (n / batch_size) * batch_size : n);
    gsize once = 0;
    for (gsize i = 0; i < n; i++) {
      guint32 index = indices ? indices[i] : (guint32) i;
      g_assert_cmpint (count[index], <=, 1);
      once += count[index];
    }
    g_assert_cmpuint (once, ==, total);
    for (int i = 0; i < ds->n; i++)
      if (count[i] > 0 && indices != NULL) {
        gboolean listed = FALSE;
        for (gsize j = 0; j < n && !listed; j++)
          listed = indices[j] == (guint32) i;
        g_assert_true (listed);
      }
  }
}

static void
test_epoch_coverage (void)
{
  check_coverage (200, NULL, 10, FALSE);
  check_coverage (200, NULL, 7, FALSE);
  check_coverage (200, NULL, 7, TRUE);
  check_coverage (200, NULL, 256, FALSE);
  check_coverage (200, NULL, 256, TRUE);
  g_autoptr (LamSplit) split = lam_split_new_count (200, 53, 5);
  check_coverage (split->n_val, split->val, 8, FALSE);
  check_coverage (split->n_val, split->val, 8, TRUE);
  check_coverage (split->n_train, split->train, 1, FALSE);
}

static void
test_epoch_order (void)
{
  g_autoptr (LamDataset) ds = dataset_new (500, 1, 2, 2, 10);
  LamLoaderConfig config = lam_loader_config_default ();
  config.batch_size = 32;
  config.shuffle = TRUE;
  config.seed = 99;
  g_autoptr (LamLoader) a = lam_loader_new (ds, NULL, 0, &config);
  g_autoptr (LamLoader) b = lam_loader_new (ds, NULL, 0, &config);
  config.seed = 100;
  g_autoptr (LamLoader) c = lam_loader_new (ds, NULL, 0, &config);

  g_autoptr (GArray) a0 = run_epoch (a, 0);
  g_autoptr (GArray) a1 = run_epoch (a, 1);
  g_autoptr (GArray) b1 = run_epoch (b, 1);
  g_autoptr (GArray) b0 = run_epoch (b, 0);
  g_autoptr (GArray) c0 = run_epoch (c, 0);
  g_autoptr (GArray) a0_again = run_epoch (a, 0);
  g_assert_true (arrays_equal (a0, b0));
  g_assert_true (arrays_equal (a1, b1));
  g_assert_true (arrays_equal (a0, a0_again));
  g_assert_false (arrays_equal (a0, a1));
  g_assert_false (arrays_equal (a0, c0));

  /* Shuffle off keeps the order given. */
  g_autofree guint32 *reversed = g_new (guint32, 500);
  for (int i = 0; i < 500; i++)
    reversed[i] = (guint32) (499 - i);
  LamLoaderConfig plain = lam_loader_config_default ();
  plain.batch_size = 32;
  g_autoptr (LamLoader) d = lam_loader_new (ds, reversed, 500, &plain);
  for (int epoch = 0; epoch < 2; epoch++) {
    g_autoptr (GArray) order = run_epoch (d, epoch);
    g_assert_cmpuint (order->len, ==, 500);
    g_assert_cmpmem (order->data, 500 * sizeof (guint32), reversed, 500 * sizeof (guint32));
  }
}

static void
test_batch_contents (void)
{
  g_autoptr (LamDataset) ds = dataset_new (300, 3, 4, 5, 7);
  LamLoaderConfig config = lam_loader_config_default ();
  config.batch_size = 16;
  config.shuffle = TRUE;
  config.seed = 5;
  float mean[3] = { 0.1f, 0.5f, 0.9f }, std[3] = { 0.25f, 0.5f, 2.0f };
  memcpy (config.mean, mean, sizeof mean);
  memcpy (config.std, std, sizeof std);
  g_autoptr (LamLoader) loader = lam_loader_new (ds, NULL, 0, &config);
  gsize size = lam_dataset_image_size (ds);
  lam_loader_start_epoch (loader, 3);
  const LamBatch *batch;
  while ((batch = lam_loader_next (loader)) != NULL)
    for (int i = 0; i < batch->size; i++) {
      int index = (int) batch->indices[i];
      g_assert_cmpint (batch->labels[i], ==, ds->labels[index]);
      expect_plain (ds, index, &config, batch->images + i * size);
    }
}

static void
test_empty (void)
{
  g_autoptr (LamDataset) ds = dataset_new (5, 1, 2, 2, 2);
  LamLoaderConfig config = lam_loader_config_default ();
  guint32 none[1] = { 0 };
  g_autoptr (LamLoader) loader = lam_loader_new (ds, none, 0, &config);
  g_assert_cmpint (lam_loader_get_n_batches (loader), ==, 0);
  g_assert_null (lam_loader_next (loader));
  lam_loader_start_epoch (loader, 0);
  g_assert_null (lam_loader_next (loader));
  config.drop_last = TRUE;
  g_autoptr (LamLoader) small = lam_loader_new (ds, NULL, 0, &config);
  g_assert_cmpint (lam_loader_get_n_batches (small), ==, 0);
  lam_loader_start_epoch (small, 0);
  g_assert_null (lam_loader_next (small));
}

/* ---- normalisation ---- */

static void
test_normalise (void)
{
  g_autoptr (LamDataset) ds = dataset_new (1, 3, 1, 4, 2);
  guint8 pixels[12] = { 0, 255, 128, 51, 0, 255, 128, 51, 0, 255, 128, 51 };
  memcpy (ds->images, pixels, sizeof pixels);
  LamLoaderConfig config = lam_loader_config_default ();
  float out[12];

  lam_loader_prepare_image (ds, 0, &config, FALSE, NULL, out);
  float identity[12] = { 0, 1, 128 / 255.0f, 0.2f, 0, 1, 128 / 255.0f, 0.2f,
                         0, 1, 128 / 255.0f, 0.2f };
  for (int k = 0; k < 12; k++)
    g_assert_cmpfloat_with_epsilon (out[k], identity[k], 1e-7);

  config.mean[0] = 0.5f;
  config.std[0] = 0.5f;
  config.mean[1] = 0.2860f;
  config.std[1] = 0.3530f;
  config.mean[2] = 1.0f;
  config.std[2] = 0.25f;
  lam_loader_prepare_image (ds, 0, &config, FALSE, NULL, out);
  float want[12] = {
    -1, 1, (128 / 255.0f - 0.5f) * 2, -0.6f,
    -0.2860f / 0.3530f, (1 - 0.2860f) / 0.3530f, (128 / 255.0f - 0.2860f) / 0.3530f,
    (0.2f - 0.2860f) / 0.3530f,
    -4, 0, (128 / 255.0f - 1) * 4, -3.2f,
  };
  for (int k = 0; k < 12; k++)
    g_assert_cmpfloat_with_epsilon (out[k], want[k], 1e-6);
  /* The ends are exact. */
  g_assert_cmpfloat (out[0], ==, -1.0f);
  g_assert_cmpfloat (out[1], ==, 1.0f);
  g_assert_cmpfloat (out[8], ==, -4.0f);
  g_assert_cmpfloat (out[9], ==, 0.0f);
}

/* Every byte value, in planes whose sizes are and are not a multiple of
 * the eight pixels a vector step converts: each pixel is the float of
 * (v / 255 - mean) / std worked out in double, exactly, whichever path
 * (vector steps or the plain loop for the rest) converted it. */
static void
check_normalise_every_value (void)
{
  const int sizes[][2] = { { 16, 16 }, { 15, 17 }, { 3, 5 } };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
    int height = sizes[s][0], width = sizes[s][1];
    gsize plane = (gsize) height * width;
    g_autoptr (LamDataset) ds = dataset_new (2, 3, height, width, 2);
    for (gsize k = 0; k < 2 * 3 * plane; k++)
      ds->images[k] = (guint8) ((k * 97 + 13) % 256);
    LamLoaderConfig config = lam_loader_config_default ();
    const float mean[3] = { 0.2860f, 0.5f, 0.4914f }, std[3] = { 0.3530f, 0.25f, 0.2470f };
    memcpy (config.mean, mean, sizeof mean);
    memcpy (config.std, std, sizeof std);
    g_autofree float *out = g_new (float, 3 * plane);
    for (int i = 0; i < 2; i++) {
      lam_loader_prepare_image (ds, i, &config, FALSE, NULL, out);
      const guint8 *image = lam_dataset_get_image (ds, i);
      for (int c = 0; c < 3; c++)
        for (gsize k = 0; k < plane; k++) {
          float want =
            (float) ((image[c * plane + k] * (1.0 / 255.0) - config.mean[c]) / config.std[c]);
          g_assert_cmpfloat (out[c * plane + k], ==, want);
        }
    }
  }
}

/* Once on each lookup the CPU runs: the loader picks one per process, so
 * each runs in a child of its own, LAMINA_CPU_ISA limiting the choice
 * (the AVX-512 permutes, the AVX2 gather, the plain loop). */
static void
test_normalise_every_value (void)
{
  if (g_test_subprocess ()) {
    check_normalise_every_value ();
    return;
  }
  const char *limits[] = { NULL, "avx2", "generic" };
  for (guint i = 0; i < G_N_ELEMENTS (limits); i++) {
    if (limits[i] != NULL)
      g_setenv ("LAMINA_CPU_ISA", limits[i], TRUE);
    else
      g_unsetenv ("LAMINA_CPU_ISA");
    g_test_message ("LAMINA_CPU_ISA=%s", limits[i] != NULL ? limits[i] : "(unset)");
    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
  }
  g_unsetenv ("LAMINA_CPU_ISA");
}

static void
test_stats (void)
{
  g_autoptr (LamDataset) ds = dataset_new (400, 3, 6, 6, 10);
  for (gsize k = 0; k < 400 * 108; k += 108)
    for (int j = 0; j < 36; j++)
      ds->images[k + j] /= 3;
  LamLoaderConfig config = lam_loader_config_default ();
  config.batch_size = 64;
  lam_dataset_compute_stats (ds, NULL, 0, config.mean, config.std);
  g_assert_cmpfloat (config.mean[0], <, config.mean[1]);
  g_autoptr (LamLoader) loader = lam_loader_new (ds, NULL, 0, &config);
  double sum[3] = { 0 }, sum_sq[3] = { 0 };
  gsize count = 0;
  lam_loader_start_epoch (loader, 0);
  const LamBatch *batch;
  while ((batch = lam_loader_next (loader)) != NULL) {
    for (int i = 0; i < batch->size; i++)
      for (int c = 0; c < 3; c++)
        for (int k = 0; k < 36; k++) {
          double v = batch->images[i * 108 + c * 36 + k];
          sum[c] += v;
          sum_sq[c] += v * v;
        }
    count += batch->size * 36;
  }
  for (int c = 0; c < 3; c++) {
    double mean = sum[c] / count;
    g_assert_cmpfloat_with_epsilon (mean, 0, 1e-5);
    g_assert_cmpfloat_with_epsilon (sqrt (sum_sq[c] / count - mean * mean), 1, 1e-5);
  }
}

/* ---- augmentation ---- */

#define PATTERN_SIDE 8

/* A 1×8×8 image whose pixels are 1..64 row by row, so 0 marks padding. */
static LamDataset *
pattern_dataset (void)
{
  LamDataset *ds = dataset_new (1, 1, PATTERN_SIDE, PATTERN_SIDE, 2);
  for (int k = 0; k < PATTERN_SIDE * PATTERN_SIDE; k++)
    ds->images[k] = (guint8) (k + 1);
  return ds;
}

static int
reflect (int i, int size)
{
  while (i < 0 || i >= size)
    i = i < 0 ? -i : 2 * (size - 1) - i;
  return i;
}

/* The expected pixel of a crop shifted by (dy, dx), then maybe flipped. */
static int
expected_pixel (int y, int x, int dy, int dx, gboolean flip, gboolean reflect_mode)
{
  int sy = y + dy, sx = (flip ? PATTERN_SIDE - 1 - x : x) + dx;
  if (reflect_mode) {
    sy = reflect (sy, PATTERN_SIDE);
    sx = reflect (sx, PATTERN_SIDE);
  } else if (sy < 0 || sy >= PATTERN_SIDE || sx < 0 || sx >= PATTERN_SIDE) {
    return 0;
  }
  return sy * PATTERN_SIDE + sx + 1;
}

static gboolean
matches (const float *out, int dy, int dx, gboolean flip, gboolean reflect_mode)
{
  for (int y = 0; y < PATTERN_SIDE; y++)
    for (int x = 0; x < PATTERN_SIDE; x++) {
      int got = (int) lrintf (out[y * PATTERN_SIDE + x] * 255);
      if (got != expected_pixel (y, x, dy, dx, flip, reflect_mode))
        return FALSE;
    }
  return TRUE;
}

/* Finds which shift and flip produced out; FALSE when none does. */
static gboolean
identify (const float *out, int pad, gboolean allow_flip, gboolean reflect_mode, int *dy, int *dx,
          gboolean *flip)
{
  for (int f = 0; f <= (allow_flip ? 1 : 0); f++)
    for (int y = -pad; y <= pad; y++)
      for (int x = -pad; x <= pad; x++)
        if (matches (out, y, x, f, reflect_mode)) {
          *dy = y;
          *dx = x;
          *flip = f;
          return TRUE;
        }
  return FALSE;
}

static void
test_augment_crop (gconstpointer data)
{
  gboolean reflect_mode = GPOINTER_TO_INT (data);
  g_autoptr (LamDataset) ds = pattern_dataset ();
  LamLoaderConfig config = lam_loader_config_default ();
  config.crop_padding = 2;
  config.padding_mode = reflect_mode ? LAM_PADDING_REFLECT : LAM_PADDING_ZERO;
  int hits[5][5] = { { 0 } };
  float out[PATTERN_SIDE * PATTERN_SIDE];
  for (guint32 seed = 0; seed < 500; seed++) {
    g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
    lam_loader_prepare_image (ds, 0, &config, TRUE, rng, out);
    int dy = 0, dx = 0;
    gboolean flip = FALSE;
    if (!identify (out, 2, FALSE, reflect_mode, &dy, &dx, &flip))
      g_error ("seed %u: the output is no shift of the image", seed);
    hits[dy + 2][dx + 2]++;
  }
  /* Every one of the 25 shifts turns up. */
  for (int y = 0; y < 5; y++)
    for (int x = 0; x < 5; x++)
      g_assert_cmpint (hits[y][x], >, 0);

  /* Without augmentation requested, the image is as it is. */
  lam_loader_prepare_image (ds, 0, &config, FALSE, NULL, out);
  g_assert_true (matches (out, 0, 0, FALSE, FALSE));
}

static void
test_augment_border (void)
{
  /* The same draws with zero and reflect padding differ only where the
   * crop leaves the image: 0 there for zero padding, mirrored values for
   * reflect padding. */
  g_autoptr (LamDataset) ds = pattern_dataset ();
  LamLoaderConfig zero = lam_loader_config_default ();
  zero.crop_padding = 3;
  zero.mean[0] = 0.5f;
  zero.std[0] = 0.25f;
  LamLoaderConfig mirror = zero;
  mirror.padding_mode = LAM_PADDING_REFLECT;
  float a[64], b[64];
  gboolean saw_border = FALSE;
  for (guint32 seed = 0; seed < 50; seed++) {
    g_autoptr (GRand) ra = g_rand_new_with_seed (seed);
    g_autoptr (GRand) rb = g_rand_new_with_seed (seed);
    lam_loader_prepare_image (ds, 0, &zero, TRUE, ra, a);
    lam_loader_prepare_image (ds, 0, &mirror, TRUE, rb, b);
    for (int k = 0; k < 64; k++) {
      int za = (int) lrintf ((a[k] * 0.25f + 0.5f) * 255);
      int zb = (int) lrintf ((b[k] * 0.25f + 0.5f) * 255);
      g_assert_cmpint (zb, >=, 1);
      if (za == 0) {
        /* Zero padding is pixel value 0 before normalisation. */
        g_assert_cmpfloat (a[k], ==, -2.0f);
        saw_border = TRUE;
      } else {
        g_assert_cmpint (za, ==, zb);
      }
    }
  }
  g_assert_true (saw_border);

  /* numpy's 'reflect' for a shift of 2 down and 2 left: row -2 is row 2,
   * column -1 is column 1, without repeating the edge. */
  g_assert_cmpint (expected_pixel (0, 0, -2, -2, FALSE, TRUE), ==, 2 * 8 + 2 + 1);
  g_assert_cmpint (expected_pixel (7, 7, 2, 2, FALSE, TRUE), ==, 5 * 8 + 5 + 1);
  float out[64];
  LamLoaderConfig plain = lam_loader_config_default ();
  plain.crop_padding = 3;
  plain.padding_mode = LAM_PADDING_REFLECT;
  gboolean checked = FALSE;
  for (guint32 seed = 0; seed < 1000 && !checked; seed++) {
    g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
    lam_loader_prepare_image (ds, 0, &plain, TRUE, rng, out);
    if (matches (out, -3, -3, FALSE, TRUE)) {
      /* Top-left corner comes from (3, 3); (0, 3) from (3, 0). */
      g_assert_cmpint ((int) lrintf (out[0] * 255), ==, 3 * 8 + 3 + 1);
      g_assert_cmpint ((int) lrintf (out[3] * 255), ==, 3 * 8 + 0 + 1);
      g_assert_cmpint ((int) lrintf (out[3 * 8 + 3] * 255), ==, 1);
      checked = TRUE;
    }
  }
  g_assert_true (checked);
}

static void
test_augment_hflip (void)
{
  g_autoptr (LamDataset) ds = pattern_dataset ();
  LamLoaderConfig config = lam_loader_config_default ();
  config.hflip = TRUE;
  float out[64];
  int flips = 0, total = 400;
  for (int seed = 0; seed < total; seed++) {
    g_autoptr (GRand) rng = g_rand_new_with_seed ((guint32) seed);
    lam_loader_prepare_image (ds, 0, &config, TRUE, rng, out);
    if (matches (out, 0, 0, TRUE, FALSE)) {
      flips++;
      g_assert_cmpint ((int) lrintf (out[0] * 255), ==, 8);
      g_assert_cmpint ((int) lrintf (out[7] * 255), ==, 1);
    } else {
      g_assert_true (matches (out, 0, 0, FALSE, FALSE));
    }
  }
  g_assert_cmpint (flips, >, total / 2 - 60);
  g_assert_cmpint (flips, <, total / 2 + 60);

  /* Crop and flip together are a flip of the crop. */
  config.crop_padding = 2;
  int both = 0;
  for (int seed = 0; seed < 200; seed++) {
    g_autoptr (GRand) rng = g_rand_new_with_seed ((guint32) seed);
    lam_loader_prepare_image (ds, 0, &config, TRUE, rng, out);
    int dy = 0, dx = 0;
    gboolean flip = FALSE;
    g_assert_true (identify (out, 2, TRUE, FALSE, &dy, &dx, &flip));
    both += flip && dx != 0;
  }
  g_assert_cmpint (both, >, 0);
}

/* Every batch draws its own augmentations: identical images in batches of
 * one come out in many different ways within one epoch. */
static void
test_augment_per_batch (void)
{
  g_autoptr (LamDataset) ds = dataset_new (64, 1, PATTERN_SIDE, PATTERN_SIDE, 2);
  for (int i = 0; i < 64; i++)
    for (int k = 0; k < PATTERN_SIDE * PATTERN_SIDE; k++)
      ds->images[i * PATTERN_SIDE * PATTERN_SIDE + k] = (guint8) (k + 1);
  LamLoaderConfig config = lam_loader_config_default ();
  config.batch_size = 1;
  config.crop_padding = 2;
  config.hflip = TRUE;
  g_autoptr (LamLoader) loader = lam_loader_new (ds, NULL, 0, &config);
  int seen[2][5][5] = { { { 0 } } };
  lam_loader_start_epoch (loader, 0);
  const LamBatch *batch;
  while ((batch = lam_loader_next (loader)) != NULL) {
    int dy = 0, dx = 0;
    gboolean flip = FALSE;
    g_assert_true (identify (batch->images, 2, TRUE, FALSE, &dy, &dx, &flip));
    seen[flip][dy + 2][dx + 2] = 1;
  }
  int distinct = 0;
  for (int f = 0; f < 2; f++)
    for (int y = 0; y < 5; y++)
      for (int x = 0; x < 5; x++)
        distinct += seen[f][y][x];
  g_assert_cmpint (distinct, >=, 20);
}

/* Loaders with the same seed give the same augmented batches whatever the
 * thread timing; only the training config augments. */
static void
test_augment_loader (void)
{
  g_autoptr (LamDataset) ds = dataset_new (100, 3, 8, 8, 10);
  LamLoaderConfig config = lam_loader_config_default ();
  config.batch_size = 16;
  config.shuffle = TRUE;
  config.seed = 1234;
  config.crop_padding = 2;
  config.hflip = TRUE;
  g_autoptr (LamLoader) a = lam_loader_new (ds, NULL, 0, &config);
  g_autoptr (LamLoader) b = lam_loader_new (ds, NULL, 0, &config);
  gsize size = lam_dataset_image_size (ds);
  g_autofree float *first = g_new (float, 100 * size);
  g_autofree float *plain = g_new (float, size);
  gboolean changed = FALSE;

  for (int epoch = 0; epoch < 2; epoch++) {
    lam_loader_start_epoch (a, epoch);
    lam_loader_start_epoch (b, epoch);
    const LamBatch *ba, *bb;
    int k = 0;
    while ((ba = lam_loader_next (a)) != NULL) {
      /* Let b's thread run ahead differently from a's. */
      if (k % 3 == 0)
        g_usleep (1000);
      bb = lam_loader_next (b);
      g_assert_nonnull (bb);
      g_assert_cmpint (ba->size, ==, bb->size);
      g_assert_cmpmem (ba->indices, ba->size * sizeof (guint32), bb->indices,
                       bb->size * sizeof (guint32));
      g_assert_cmpmem (ba->images, ba->size * size * sizeof (float), bb->images,
                       bb->size * size * sizeof (float));
      for (int i = 0; i < ba->size; i++) {
        lam_loader_prepare_image (ds, (int) ba->indices[i], &config, FALSE, NULL, plain);
        changed |= memcmp (plain, ba->images + i * size, size * sizeof (float)) != 0;
        if (epoch == 0)
          memcpy (first + ba->indices[i] * size, ba->images + i * size, size * sizeof (float));
        else
          changed |= memcmp (first + ba->indices[i] * size, ba->images + i * size,
                             size * sizeof (float)) != 0;
      }
      k++;
    }
    g_assert_null (lam_loader_next (b));
  }
  g_assert_true (changed);

  /* The evaluation config leaves images alone. */
  LamLoaderConfig eval = lam_loader_config_default ();
  eval.batch_size = 16;
  g_autoptr (LamLoader) e = lam_loader_new (ds, NULL, 0, &eval);
  lam_loader_start_epoch (e, 0);
  const LamBatch *batch;
  while ((batch = lam_loader_next (e)) != NULL)
    for (int i = 0; i < batch->size; i++)
      expect_plain (ds, (int) batch->indices[i], &eval, batch->images + i * size);
}

/* ---- filled in the caller ---- */

/* Runs a range of images in three uneven parts, last first. */
static int ranges_calls;

static void
run_ranges_backwards (void *runner, size_t n, void (*range) (size_t lo, size_t hi, void *data),
                      void *data)
{
  g_assert_true (runner == &ranges_calls);
  ranges_calls++;
  size_t cuts[] = { 0, n / 5, n / 2, n };
  for (int part = 2; part >= 0; part--)
    range (cuts[part], cuts[part + 1], data);
}

/* A loader that fills each batch when it is asked gives the batches the
 * thread gives, augmented or not, across epochs and an epoch restarted
 * half way; so do one that fills by ranges (only what is not augmented)
 * and ones that write the images where they are told. */
static void
test_in_caller (gconstpointer data)
{
  gboolean augment = GPOINTER_TO_INT (data);
  g_autoptr (LamDataset) ds = dataset_new (203, 3, 5, 7, 10);
  LamLoaderConfig config = lam_loader_config_default ();
  config.batch_size = 16;
  config.shuffle = TRUE;
  config.seed = 77;
  config.mean[1] = 0.5f;
  config.std[2] = 0.25f;
  if (augment) {
    config.crop_padding = 2;
    config.hflip = TRUE;
  }
  LamLoaderConfig caller_config = config;
  caller_config.in_caller = TRUE;
  LamLoaderConfig ranges_config = caller_config;
  ranges_config.run_ranges = run_ranges_backwards;
  ranges_config.runner = &ranges_calls;
  g_autoptr (LamLoader) threaded = lam_loader_new (ds, NULL, 0, &config);
  g_autoptr (LamLoader) in_caller = lam_loader_new (ds, NULL, 0, &caller_config);
  g_autoptr (LamLoader) by_ranges = lam_loader_new (ds, NULL, 0, &ranges_config);
  g_autoptr (LamLoader) threaded_into = lam_loader_new (ds, NULL, 0, &config);
  gsize size = lam_dataset_image_size (ds);
  g_autofree float *room = g_new (float, 16 * size);
  g_autofree float *threaded_room = g_new (float, 16 * size);
  g_assert_cmpint (lam_loader_get_n_batches (in_caller), ==, 13);
  ranges_calls = 0;
  int filled = 0;

  int epochs[] = { 0, 1, 1, 5 };
  for (guint e = 0; e < G_N_ELEMENTS (epochs); e++) {
    lam_loader_start_epoch (threaded, epochs[e]);
    lam_loader_start_epoch (in_caller, epochs[e]);
    lam_loader_start_epoch (by_ranges, epochs[e]);
    lam_loader_start_epoch (threaded_into, epochs[e]);
    /* The third pass stops after 5 batches, to restart the same epoch. */
    int stop_after = e == 1 ? 5 : G_MAXINT;
    const LamBatch *a, *b;
    int n = 0, seen = 0;
    while (n < stop_after && (a = lam_loader_next (threaded)) != NULL) {
      b = lam_loader_next (in_caller);
      const LamBatch *r = lam_loader_next_into (by_ranges, room);
      const LamBatch *t = lam_loader_next_into (threaded_into, threaded_room);
      g_assert_nonnull (b);
      g_assert_nonnull (r);
      g_assert_nonnull (t);
      g_assert_true (r->images == room);
      g_assert_true (t->images == threaded_room);
      filled++;
      const LamBatch *others[] = { b, r, t };
      for (int o = 0; o < 3; o++) {
        const LamBatch *x = others[o];
        g_assert_cmpint (a->size, ==, x->size);
        g_assert_cmpmem (a->indices, a->size * sizeof (guint32), x->indices,
                         x->size * sizeof (guint32));
        g_assert_cmpmem (a->labels, a->size * sizeof (gint32), x->labels,
                         x->size * sizeof (gint32));
        g_assert_cmpmem (a->images, a->size * size * sizeof (float), x->images,
                         x->size * size * sizeof (float));
      }
      if (!augment)
        for (int i = 0; i < b->size; i++)
          expect_plain (ds, (int) b->indices[i], &config, b->images + i * size);
      seen += b->size;
      n++;
    }
    if (stop_after == G_MAXINT) {
      g_assert_null (lam_loader_next (in_caller));
      g_assert_null (lam_loader_next_into (by_ranges, room));
      g_assert_null (lam_loader_next_into (threaded_into, threaded_room));
      g_assert_cmpint (seen, ==, 203);
    }
  }
  // Augmented batches draw in image order, so they are filled in one go.
  g_assert_cmpint (ranges_calls, ==, augment ? 0 : filled);
}

/* Filled by ranges, the images are stored around the caches wherever a
 * vector's place is aligned: 28×28 images in a room on a cache line's
 * boundary (every vector), and one float past it (some), give the floats
 * the loader's thread gives, and the pixels normalised. */
static void
test_in_caller_streamed (void)
{
  g_autoptr (LamDataset) ds = dataset_new (70, 1, 28, 28, 10);
  LamLoaderConfig config = lam_loader_config_default ();
  config.batch_size = 32;
  config.shuffle = TRUE;
  config.seed = 5;
  config.mean[0] = 0.2860f;
  config.std[0] = 0.3530f;
  LamLoaderConfig ranges_config = config;
  ranges_config.in_caller = TRUE;
  ranges_config.run_ranges = run_ranges_backwards;
  ranges_config.runner = &ranges_calls;
  gsize size = lam_dataset_image_size (ds);
  float *room = g_aligned_alloc (32 * size + 1, sizeof (float), 64);
  for (int offset = 0; offset < 2; offset++) {
    g_autoptr (LamLoader) threaded = lam_loader_new (ds, NULL, 0, &config);
    g_autoptr (LamLoader) by_ranges = lam_loader_new (ds, NULL, 0, &ranges_config);
    lam_loader_start_epoch (threaded, 3);
    lam_loader_start_epoch (by_ranges, 3);
    ranges_calls = 0;
    const LamBatch *a;
    int seen = 0;
    while ((a = lam_loader_next (threaded)) != NULL) {
      const LamBatch *r = lam_loader_next_into (by_ranges, room + offset);
      g_assert_nonnull (r);
      g_assert_cmpint (a->size, ==, r->size);
      g_assert_cmpmem (a->indices, a->size * sizeof (guint32), r->indices,
                       r->size * sizeof (guint32));
      g_assert_cmpmem (a->images, a->size * size * sizeof (float), r->images,
                       r->size * size * sizeof (float));
      for (int i = 0; i < r->size; i++)
        expect_plain (ds, (int) r->indices[i], &config, r->images + i * size);
      seen += r->size;
    }
    g_assert_null (lam_loader_next_into (by_ranges, room + offset));
    g_assert_cmpint (seen, ==, 70);
    g_assert_cmpint (ranges_calls, ==, 3);
  }
  g_aligned_free (room);
}

/* ---- prefetch ---- */

static void
test_prefetch_many_epochs (void)
{
  g_autoptr (LamDataset) ds = dataset_new (257, 1, 5, 5, 10);
  LamLoaderConfig config = lam_loader_config_default ();
  config.batch_size = 8;
  config.shuffle = TRUE;
  config.seed = 77;
  g_autoptr (LamLoader) loader = lam_loader_new (ds, NULL, 0, &config);
  gsize size = lam_dataset_image_size (ds);
  for (int epoch = 0; epoch < 200; epoch++) {
    g_autofree guint8 *count = g_new0 (guint8, ds->n);
    lam_loader_start_epoch (loader, epoch);
    const LamBatch *batch;
    int batches = 0;
    while ((batch = lam_loader_next (loader)) != NULL) {
      for (int i = 0; i < batch->size; i++) {
        int index = (int) batch->indices[i];
        count[index]++;
        g_assert_cmpint (batch->labels[i], ==, ds->labels[index]);
        /* First and last pixel identify the image. */
        g_assert_cmpfloat_with_epsilon (batch->images[i * size], pixel_value (index, 0) / 255.0,
                                        1e-7);
        g_assert_cmpfloat_with_epsilon (batch->images[i * size + size - 1],
                                        pixel_value (index, size - 1) / 255.0, 1e-7);
      }
      batches++;
      if (epoch % 7 == 0)
        g_usleep (100);
    }
    g_assert_cmpint (batches, ==, 33);
    for (int i = 0; i < ds->n; i++)
      g_assert_cmpint (count[i], ==, 1);
  }
}

static void
test_prefetch_restart (void)
{
  g_autoptr (LamDataset) ds = dataset_new (300, 1, 6, 6, 10);
  LamLoaderConfig config = lam_loader_config_default ();
  config.batch_size = 10;
  config.shuffle = TRUE;
  config.seed = 3;
  config.crop_padding = 1;
  g_autoptr (LamLoader) reference = lam_loader_new (ds, NULL, 0, &config);
  g_autoptr (LamLoader) loader = lam_loader_new (ds, NULL, 0, &config);
  gsize size = lam_dataset_image_size (ds);

  /* next before any epoch gives nothing. */
  g_assert_null (lam_loader_next (loader));

  for (int round = 0; round < 60; round++) {
    int epoch = round % 5;
    /* Abandon an epoch after a varying number of batches, at times none. */
    lam_loader_start_epoch (loader, epoch + 100);
    for (int k = 0; k < round % 4; k++)
      g_assert_nonnull (lam_loader_next (loader));
    if (round % 3 == 0)
      g_usleep (200);

    lam_loader_start_epoch (loader, epoch);
    lam_loader_start_epoch (reference, epoch);
    const LamBatch *batch, *want;
    int batches = 0;
    while ((batch = lam_loader_next (loader)) != NULL) {
      want = lam_loader_next (reference);
      g_assert_nonnull (want);
      g_assert_cmpint (batch->size, ==, want->size);
      g_assert_cmpmem (batch->indices, batch->size * sizeof (guint32), want->indices,
                       want->size * sizeof (guint32));
      g_assert_cmpmem (batch->labels, batch->size * sizeof (gint32), want->labels,
                       want->size * sizeof (gint32));
      g_assert_cmpmem (batch->images, batch->size * size * sizeof (float), want->images,
                       want->size * size * sizeof (float));
      batches++;
    }
    g_assert_null (lam_loader_next (reference));
    g_assert_cmpint (batches, ==, 30);
    /* After the end, it stays at the end. */
    g_assert_null (lam_loader_next (loader));
  }
  /* Freed in the middle of an epoch, with the thread busy. */
  lam_loader_start_epoch (loader, 9);
  g_assert_nonnull (lam_loader_next (loader));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/loader/split/sizes", test_split_sizes);
  g_test_add_func ("/loader/split/disjoint", test_split_disjoint);
  g_test_add_func ("/loader/split/seed", test_split_seed);
  g_test_add_func ("/loader/epoch/coverage", test_epoch_coverage);
  g_test_add_func ("/loader/epoch/order", test_epoch_order);
  g_test_add_func ("/loader/epoch/empty", test_empty);
  g_test_add_func ("/loader/batch/contents", test_batch_contents);
  g_test_add_func ("/loader/normalise/known-pixels", test_normalise);
  g_test_add_func ("/loader/normalise/every-value", test_normalise_every_value);
  g_test_add_func ("/loader/normalise/stats", test_stats);
  g_test_add_data_func ("/loader/augment/crop-zero", GINT_TO_POINTER (FALSE), test_augment_crop);
  g_test_add_data_func ("/loader/augment/crop-reflect", GINT_TO_POINTER (TRUE),
                        test_augment_crop);
  g_test_add_func ("/loader/augment/border", test_augment_border);
  g_test_add_func ("/loader/augment/hflip", test_augment_hflip);
  g_test_add_func ("/loader/augment/per-batch", test_augment_per_batch);
  g_test_add_func ("/loader/augment/loader", test_augment_loader);
  g_test_add_data_func ("/loader/in-caller/plain", GINT_TO_POINTER (FALSE), test_in_caller);
  g_test_add_data_func ("/loader/in-caller/augmented", GINT_TO_POINTER (TRUE), test_in_caller);
  g_test_add_func ("/loader/in-caller/streamed", test_in_caller_streamed);
  g_test_add_func ("/loader/prefetch/many-epochs", test_prefetch_many_epochs);
  g_test_add_func ("/loader/prefetch/restart", test_prefetch_restart);

  return g_test_run ();
}
