/* test-session.c: the session as the one owner of the lesson — its settings
 * bound both ways to the Train page's fields, the optimizer's usual
 * values, what counts as an edit, and training driven by its actions:
 * Step × N and a run paused and resumed end exactly where a straight run
 * ends. */
#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "lam-evaluation.h"
#include "lam-project-file.h"
#include "lam-session.h"
#include "lam-test-util.h"
#include "lam-train-page.h"
#include "lam-ui-util.h"

/* Ten batches of 36 make one epoch: 400 images, a tenth kept to validate. */
#define N_IMAGES 400
#define BATCH 36
#define BATCHES_PER_EPOCH 10

static gboolean
dataset_loaded (gpointer data)
{
  LamSession *session = data;
  return lam_session_get_has_dataset (session) && !lam_session_get_loading (session);
}

static void
on_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_session_load_dataset_finish (LAM_SESSION (source), result, &error));
  g_assert_no_error (error);
}

/* A session on the bars dataset at dir, with the small settings of these
 * tests, on the CPU. */
static LamSession *
new_session (const char *dir)
{
  LamSession *session = lam_session_new ();
  lam_session_load_dataset_async (session, dir, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (dataset_loaded, session, 20000));
  g_object_set (session, "epochs", 1, "batch-size", BATCH, "seed", (guint64) 7, "device", "cpu",
                "val-fraction", 0.1, NULL);
  return session;
}

static gboolean
is_idle (gpointer data)
{
  return lam_session_get_state (LAM_SESSION (data)) == LAM_TRAIN_STATE_IDLE;
}

typedef struct
{
  LamSession *session;
  gint64 step;
} StepWait;

static gboolean
reached_step (gpointer data)
{
  StepWait *wait = data;
  return lam_session_get_step (wait->session) >= wait->step &&
         lam_session_get_state (wait->session) != LAM_TRAIN_STATE_RUNNING;
}

typedef struct
{
  LamSession *session;
  LamTrainState state;
} StateWait;

/* The session is no longer in `state`. */
static gboolean
state_left (gpointer data)
{
  StateWait *wait = data;
  return lam_session_get_state (wait->session) != wait->state;
}

static void
activate (LamSession *session, const char *action)
{
  GActionGroup *actions = lam_session_get_actions (session);
  g_assert_true (g_action_group_get_action_enabled (actions, action));
  g_action_group_activate_action (actions, action, NULL);
}

/* The label whose text is `text` (mnemonic underline included) and the
 * field it names. */
static GtkWidget *
field_named (GtkWidget *root, const char *text)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    if (GTK_IS_LABEL (child) && g_strcmp0 (gtk_label_get_label (GTK_LABEL (child)), text) == 0)
      return gtk_label_get_mnemonic_widget (GTK_LABEL (child));
    GtkWidget *found = field_named (child, text);
    if (found != NULL)
      return found;
  }
  return NULL;
}

/* Opens every expander below root: a closed one holds its fields apart. */
static void
expand_all (GtkWidget *root)
{
  if (GTK_IS_EXPANDER (root))
    gtk_expander_set_expanded (GTK_EXPANDER (root), TRUE);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    expand_all (child);
}

static void
test_settings_bound (void)
{
  g_autoptr (LamSession) session = lam_session_new ();
  GtkWidget *page = g_object_ref_sink (lam_train_page_new (session));
  expand_all (page);
  GtkSpinButton *epochs = GTK_SPIN_BUTTON (field_named (page, "_Epochs"));
  GtkSpinButton *lr = GTK_SPIN_BUTTON (field_named (page, "_Learning rate"));
  GtkDropDown *optimizer = GTK_DROP_DOWN (field_named (page, "_Optimizer"));
  GtkSpinButton *crop = GTK_SPIN_BUTTON (field_named (page, "_Crop padding"));
  g_assert_nonnull (epochs);
  g_assert_nonnull (lr);
  g_assert_nonnull (optimizer);
  g_assert_nonnull (crop);

  /* The page starts from the session's settings ... */
  const LamTrainerConfig *config = lam_session_get_config (session);
  g_assert_cmpint (gtk_spin_button_get_value_as_int (epochs), ==, config->epochs);
  g_assert_cmpfloat (gtk_spin_button_get_value (lr), ==, config->optimizer.lr);
  g_assert_false (lam_session_get_modified (session));

  /* ... follows them ... */
  g_object_set (session, "epochs", 7, NULL);
  g_assert_cmpint (gtk_spin_button_get_value_as_int (epochs), ==, 7);

  /* ... and a field's edit is the session's, and an edit. */
  gtk_spin_button_set_value (crop, 4);
  g_assert_cmpint (config->crop_padding, ==, 4);
  g_assert_true (lam_session_get_modified (session));
  GtkDropDown *edges = GTK_DROP_DOWN (field_named (page, "Ed_ges"));
  g_assert_nonnull (edges);
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (edges)));
  gtk_drop_down_set_selected (edges, LAM_PADDING_REFLECT);
  g_assert_cmpint (config->padding_mode, ==, LAM_PADDING_REFLECT);
  /* Without crops there are no edges to fill. */
  gtk_spin_button_set_value (crop, 0);
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (edges)));

  /* The L1 penalty's field is the session's, and no optimizer resets it. */
  GtkSpinButton *l1 = GTK_SPIN_BUTTON (field_named (page, "L_1 penalty"));
  gtk_spin_button_set_value (l1, 0.002);
  g_assert_cmpfloat (config->optimizer.l1, ==, 0.002);

  /* Another optimizer gets its usual rate, and AdamW its usual decay,
   * through the dropdown as through the property. */
  gtk_drop_down_set_selected (optimizer, LAM_OPTIMIZER_SGD);
  g_assert_cmpint (config->optimizer.kind, ==, LAM_OPTIMIZER_SGD);
  g_assert_cmpfloat (config->optimizer.lr, ==, 0.01);
  g_assert_cmpfloat (gtk_spin_button_get_value (lr), ==, 0.01);
  g_object_set (session, "optimizer", (guint) LAM_OPTIMIZER_ADAMW, NULL);
  g_assert_cmpuint (gtk_drop_down_get_selected (optimizer), ==, LAM_OPTIMIZER_ADAMW);
  g_assert_cmpfloat (config->optimizer.lr, ==, 0.001);
  g_assert_cmpfloat (config->optimizer.weight_decay, ==, 0.01);
  g_assert_cmpfloat (config->optimizer.l1, ==, 0.002);
  g_object_set (session, "l1-penalty", 0.0, NULL);
  g_assert_cmpfloat (gtk_spin_button_get_value (l1), ==, 0);

  /* A project's settings arrive whole: no optimizer defaults, no edit. */
  lam_session_set_modified (session, FALSE);
  LamTrainerConfig opened = *config;
  opened.optimizer = lam_optimizer_config_default (LAM_OPTIMIZER_SGD);
  opened.optimizer.lr = 0.05;
  opened.epochs = 3;
  lam_session_set_config (session, &opened);
  g_assert_cmpfloat (config->optimizer.lr, ==, 0.05);
  g_assert_cmpfloat (gtk_spin_button_get_value (lr), ==, 0.05);
  g_assert_cmpint (gtk_spin_button_get_value_as_int (epochs), ==, 3);
  g_assert_cmpuint (gtk_drop_down_get_selected (optimizer), ==, LAM_OPTIMIZER_SGD);
  g_assert_false (lam_session_get_modified (session));

  /* The same value again, as a bound view echoes it, is no edit. */
  g_object_set (session, "epochs", 3, NULL);
  g_assert_false (lam_session_get_modified (session));

  gtk_widget_unparent (page);
  g_object_unref (page);
}

/* A project's numbers finer than a field's usual decimals (AdamW's 5e-5
 * weight decay, the MNIST mean 0.1307) show in full, and Start or Save,
 * which read the fields' text back, keep them. */
static void
test_settings_keep_precision (void)
{
  g_autoptr (LamSession) session = lam_session_new ();
  GtkWidget *page = g_object_ref_sink (lam_train_page_new (session));
  LamTrainerConfig opened = *lam_session_get_config (session);
  opened.optimizer = lam_optimizer_config_default (LAM_OPTIMIZER_SGD);
  opened.optimizer.lr = 0.000015;
  opened.optimizer.momentum = 0.875;
  opened.optimizer.weight_decay = 5e-5;
  opened.optimizer.l1 = 2e-5;
  opened.schedule.kind = LAM_SCHEDULE_COSINE;
  opened.schedule.eta_min = 1e-6;
  opened.val_fraction = 0.125;
  opened.normalize_from_data = FALSE;
  opened.mean[0] = opened.mean[1] = opened.mean[2] = 0.1307f;
  opened.std[0] = opened.std[1] = opened.std[2] = 0.3081f;
  lam_session_set_config (session, &opened);
  lam_session_set_modified (session, FALSE);

  expand_all (page);
  GtkEditable *decay = GTK_EDITABLE (field_named (page, "_Weight decay"));
  g_assert_cmpstr (gtk_editable_get_text (decay), ==, "0.00005");
  GtkEditable *lr = GTK_EDITABLE (field_named (page, "_Learning rate"));
  g_assert_cmpstr (gtk_editable_get_text (lr), ==, "0.000015");
  GtkEditable *mean = GTK_EDITABLE (field_named (page, "Mean"));
  g_assert_cmpstr (gtk_editable_get_text (mean), ==, "0.1307");
  lam_session_commit_edits (session);
  lam_session_commit_edits (session);

  const LamTrainerConfig *config = lam_session_get_config (session);
  g_assert_cmpfloat (config->optimizer.lr, ==, 0.000015);
  g_assert_cmpfloat (config->optimizer.momentum, ==, 0.875);
  g_assert_cmpfloat (config->optimizer.weight_decay, ==, 5e-5);
  g_assert_cmpfloat (config->optimizer.l1, ==, 2e-5);
  g_assert_cmpfloat (config->schedule.eta_min, ==, 1e-6);
  g_assert_cmpfloat (config->val_fraction, ==, 0.125);
  g_assert_cmpfloat (config->mean[0], ==, 0.1307f);
  g_assert_cmpfloat (config->std[0], ==, 0.3081f);

  gtk_widget_unparent (page);
  g_object_unref (page);
}

/* A project saved by lamina train may hold any value its options take:
 * the fields show it as it is, not clamped to a smaller range while the
 * run uses another. */
static void
test_settings_show_cli_ranges (void)
{
  g_autoptr (LamSession) session = lam_session_new ();
  GtkWidget *page = g_object_ref_sink (lam_train_page_new (session));
  expand_all (page);
  LamTrainerConfig opened = *lam_session_get_config (session);
  opened.optimizer = lam_optimizer_config_default (LAM_OPTIMIZER_SGD);
  opened.epochs = 5000;
  opened.batch_size = 8192;
  opened.seed = 3000000000u;
  opened.optimizer.lr = 50;
  opened.optimizer.momentum = 0.995;
  opened.optimizer.weight_decay = 5;
  opened.optimizer.l1 = 5;
  opened.val_fraction = 0.9;
  opened.crop_padding = 32;
  opened.schedule.kind = LAM_SCHEDULE_STEP;
  opened.schedule.step_size = 10;
  opened.schedule.gamma = 0.001;
  /* --normalize takes to 1e6 either way; the fields stopped at 1000, and
   * wrote 1000 back into the lesson. The largest seed either takes. */
  opened.normalize_from_data = FALSE;
  for (int c = 0; c < 3; c++) {
    opened.mean[c] = -250000;
    opened.std[c] = 1e6;
  }
  opened.seed = LAM_TRAINER_MAX_SEED;
  lam_session_set_config (session, &opened);

  const LamTrainerConfig *config = lam_session_get_config (session);
  g_assert_cmpfloat (config->mean[0], ==, -250000);
  g_assert_cmpfloat (config->std[0], ==, 1e6);
  g_assert_cmpuint (config->seed, ==, LAM_TRAINER_MAX_SEED);
  struct
  {
    const char *label;
    double value;
  } fields[] = {
    { "_Epochs", config->epochs },
    { "_Batch size", config->batch_size },
    { "S_eed", (double) config->seed },
    { "_Learning rate", config->optimizer.lr },
    { "_Momentum", config->optimizer.momentum },
    { "_Weight decay", config->optimizer.weight_decay },
    { "L_1 penalty", config->optimizer.l1 },
    { "_Validation", config->val_fraction },
    { "_Crop padding", config->crop_padding },
    { "× gamma", config->schedule.gamma },
    { "Mean", config->mean[0] },
    { "Std", config->std[0] },
  };
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++) {
    GtkSpinButton *spin = GTK_SPIN_BUTTON (field_named (page, fields[i].label));
    g_test_message ("%s", fields[i].label);
    g_assert_cmpfloat (gtk_spin_button_get_value (spin), ==, fields[i].value);
  }
  g_assert_cmpint (config->epochs, ==, 5000);

  /* As small a rate as fine-tuning takes. */
  opened.optimizer.lr = 1e-6;
  lam_session_set_config (session, &opened);
  GtkSpinButton *lr = GTK_SPIN_BUTTON (field_named (page, "_Learning rate"));
  g_assert_cmpfloat (gtk_spin_button_get_value (lr), ==, 1e-6);

  gtk_widget_unparent (page);
  g_object_unref (page);
}

/* What is typed into a field and is no number in its range (text, empty,
 * NaN, 1e400, a negative count) leaves the setting as it was and says
 * which field and why, instead of becoming the field's minimum unsaid. */
static void
test_settings_typed_refused (void)
{
  g_autoptr (LamSession) session = lam_session_new ();
  GtkWidget *page = g_object_ref_sink (lam_train_page_new (session));
  /* In a window, for a person to see the line the page writes. */
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 760);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  GtkSpinButton *epochs = GTK_SPIN_BUTTON (field_named (page, "_Epochs"));
  GtkSpinButton *lr = GTK_SPIN_BUTTON (field_named (page, "_Learning rate"));
  const LamTrainerConfig *config = lam_session_get_config (session);
  int epochs_before = config->epochs;
  double lr_before = config->optimizer.lr;
  struct
  {
    GtkSpinButton *spin;
    const char *text;
    const char *said;
  } cases[] = {
    { epochs, "abc", "Epochs: “abc” is not a number" },
    { epochs, "", "Epochs: a number is needed" },
    { epochs, "3x", "Epochs: “3x” is not a number" },
    { epochs, "-5", "Epochs: -5 is outside 1 to 100000" },
    { epochs, "2.5", "Epochs: 2.5 is not a whole number" },
    { lr, "NaN", "Learning rate: “NaN” is not a number" },
    { lr, "1e400", "Learning rate: 1e400 is outside 0.00000001 to 100; it stays 0.00100." },
    { lr, "0", "Learning rate: 0 is outside 0.00000001 to 100; it stays 0.00100." },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    gtk_editable_set_text (GTK_EDITABLE (cases[i].spin), cases[i].text);
    lam_session_commit_edits (session);
    g_assert_cmpint (config->epochs, ==, epochs_before);
    g_assert_cmpfloat (config->optimizer.lr, ==, lr_before);
    const char *shown = lam_train_page_get_error_text (LAM_TRAIN_PAGE (page));
    g_assert_nonnull (shown);
    g_assert_true (g_str_has_prefix (shown, cases[i].said));
  }
  lam_test_settle (300);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *png = g_build_filename (dir ? dir : ".", "train-page-refused.png", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (window, png, &error));
  g_assert_no_error (error);

  /* A number in range is taken, and the word goes. */
  gtk_editable_set_text (GTK_EDITABLE (epochs), " 7 ");
  lam_session_commit_edits (session);
  g_assert_cmpint (config->epochs, ==, 7);
  g_assert_null (lam_train_page_get_error_text (LAM_TRAIN_PAGE (page)));

  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (page);
}

/* Where the Start button is in its window, once laid out. */
static graphene_rect_t
start_bounds (GtkWidget *window, GtkWidget *page)
{
  lam_test_settle (150);
  graphene_rect_t bounds;
  g_assert_true (gtk_widget_compute_bounds (lam_train_page_get_start_button (LAM_TRAIN_PAGE (page)),
                                            window, &bounds));
  return bounds;
}

/* Choosing an optimizer leaves the Start button where it was, under the
 * pointer: the Momentum row is always there, usable with SGD alone. */
static void
test_start_button_stays (void)
{
  g_autoptr (LamSession) session = lam_session_new ();
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 820);
  GtkWidget *page = lam_train_page_new (session);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  GtkDropDown *optimizer = GTK_DROP_DOWN (field_named (page, "_Optimizer"));
  GtkWidget *momentum = field_named (page, "_Momentum");
  g_assert_nonnull (momentum);

  gtk_drop_down_set_selected (optimizer, LAM_OPTIMIZER_ADAM);
  graphene_rect_t adam = start_bounds (window, page);
  g_assert_true (gtk_widget_get_visible (momentum));
  g_assert_false (gtk_widget_get_sensitive (momentum));
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (momentum), "SGD only"));

  gtk_drop_down_set_selected (optimizer, LAM_OPTIMIZER_SGD);
  graphene_rect_t sgd = start_bounds (window, page);
  g_assert_true (gtk_widget_get_sensitive (momentum));
  g_assert_true (graphene_rect_equal (&sgd, &adam));

  gtk_drop_down_set_selected (optimizer, LAM_OPTIMIZER_ADAMW);
  graphene_rect_t adamw = start_bounds (window, page);
  g_assert_false (gtk_widget_get_sensitive (momentum));
  g_assert_true (graphene_rect_equal (&adamw, &adam));

  /* A run that can continue shows its check below the buttons, not above
   * them. */
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  file->spec = lam_model_spec_copy (lam_session_get_spec (session));
  const LamModelPlan *plan = lam_session_get_plan (session);
  g_assert_nonnull (plan);
  gsize n = plan->n_params;
  g_autofree float *weights = g_new0 (float, n);
  g_autofree float *moment1 = g_new0 (float, n);
  g_autofree float *moment2 = g_new0 (float, n);
  const float *state[] = { moment1, moment2 };
  float mean[3] = { 0.5f, 0.5f, 0.5f }, std[3] = { 0.5f, 0.5f, 0.5f };
  lam_project_file_set_weights (file, weights, n, 1, mean, std);
  lam_project_file_set_resume (file, 0, 3, 3, state, 2);
  lam_session_load_project_file (session, file);
  g_assert_true (lam_session_get_can_continue (session));
  graphene_rect_t resumable = start_bounds (window, page);
  g_test_message ("start %g,%g %gx%g, then %g,%g %gx%g", adam.origin.x, adam.origin.y,
                  adam.size.width, adam.size.height, resumable.origin.x, resumable.origin.y,
                  resumable.size.width, resumable.size.height);
  g_assert_true (graphene_rect_equal (&resumable, &adam));

  gtk_window_destroy (GTK_WINDOW (window));
  lam_test_settle (50);
}

/* Normalisation: the choice and the custom numbers are separate
 * settings, and "none" is mean 0, std 1. */
static void
test_normalization_setting (void)
{
  g_autoptr (LamSession) session = lam_session_new ();
  const LamTrainerConfig *config = lam_session_get_config (session);
  g_assert_true (config->normalize_from_data);
  g_object_set (session, "normalization", (guint) LAM_SESSION_NORMALIZE_NONE, NULL);
  g_assert_false (config->normalize_from_data);
  g_assert_cmpfloat (config->mean[0], ==, 0);
  g_assert_cmpfloat (config->std[2], ==, 1);
  g_object_set (session, "norm-mean", 0.25, "norm-std", 0.5, NULL);
  g_assert_cmpfloat (config->mean[0], ==, 0); /* not chosen yet */
  g_object_set (session, "normalization", (guint) LAM_SESSION_NORMALIZE_CUSTOM, NULL);
  g_assert_cmpfloat (config->mean[1], ==, 0.25f);
  g_assert_cmpfloat (config->std[1], ==, 0.5f);
  guint chosen = 99;
  g_object_get (session, "normalization", &chosen, NULL);
  g_assert_cmpuint (chosen, ==, LAM_SESSION_NORMALIZE_CUSTOM);
}

/* The weights a finished run leaves, and its last epoch row. */
static float *
run_weights (LamSession *session, gsize *n, LamRunEpoch *epoch)
{
  float *params = lam_session_dup_params (session, n);
  g_assert_nonnull (params);
  const LamProjectRun *run = lam_session_get_current_run (session);
  g_assert_nonnull (run);
  g_assert_cmpuint (run->epochs->len, ==, 1);
  *epoch = g_array_index (run->epochs, LamRunEpoch, 0);
  return params;
}

static void
test_step_equals_straight_run (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (N_IMAGES, 10);

  /* A straight run of one epoch. */
  g_autoptr (LamSession) straight = new_session (dir);
  activate (straight, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, straight, 60000));
  g_assert_cmpint (lam_session_get_step (straight), ==, BATCHES_PER_EPOCH);
  gsize n_straight = 0;
  LamRunEpoch epoch_straight;
  g_autofree float *weights_straight = run_weights (straight, &n_straight, &epoch_straight);

  /* The same epoch by Step alone: each press trains exactly one batch. */
  g_autoptr (LamSession) stepped = new_session (dir);
  StepWait wait = { stepped, 0 };
  for (int i = 1; i <= BATCHES_PER_EPOCH; i++) {
    activate (stepped, "step");
    wait.step = i;
    g_assert_true (lam_test_iterate_until (reached_step, &wait, 20000));
    /* Never a batch more than asked for. */
    lam_test_settle (20);
    g_assert_cmpint (lam_session_get_step (stepped), ==, i);
  }
  g_assert_true (lam_test_iterate_until (is_idle, stepped, 60000));
  gsize n_stepped = 0;
  LamRunEpoch epoch_stepped;
  g_autofree float *weights_stepped = run_weights (stepped, &n_stepped, &epoch_stepped);
  g_assert_cmpuint (n_stepped, ==, n_straight);
  g_assert_cmpmem (weights_stepped, n_stepped * sizeof (float), weights_straight,
                   n_straight * sizeof (float));
  g_assert_cmpfloat (epoch_stepped.train_loss, ==, epoch_straight.train_loss);
  g_assert_cmpfloat (epoch_stepped.train_accuracy, ==, epoch_straight.train_accuracy);
  g_assert_cmpfloat (epoch_stepped.val_loss, ==, epoch_straight.val_loss);
  g_assert_cmpfloat (epoch_stepped.val_accuracy, ==, epoch_straight.val_accuracy);

  /* Paused and resumed on the way: nothing dropped, nothing repeated. */
  g_autoptr (LamSession) paused = new_session (dir);
  activate (paused, "step");
  wait = (StepWait) { paused, 1 };
  g_assert_true (lam_test_iterate_until (reached_step, &wait, 20000));
  /* The state changes when the trainer's event reaches the main loop, so
   * each press waits for it rather than for a while. */
  for (int i = 0; i < 3 && lam_session_get_state (paused) != LAM_TRAIN_STATE_IDLE; i++) {
    activate (paused, "start");
    StateWait resumed = { paused, LAM_TRAIN_STATE_PAUSED };
    g_assert_true (lam_test_iterate_until (state_left, &resumed, 20000));
    if (lam_session_get_state (paused) == LAM_TRAIN_STATE_RUNNING) {
      activate (paused, "pause");
      StateWait halted = { paused, LAM_TRAIN_STATE_RUNNING };
      g_assert_true (lam_test_iterate_until (state_left, &halted, 20000));
    }
  }
  while (lam_session_get_state (paused) == LAM_TRAIN_STATE_PAUSED) {
    activate (paused, "start");
    StateWait resumed = { paused, LAM_TRAIN_STATE_PAUSED };
    g_assert_true (lam_test_iterate_until (state_left, &resumed, 20000));
  }
  g_assert_true (lam_test_iterate_until (is_idle, paused, 60000));
  gsize n_paused = 0;
  LamRunEpoch epoch_paused;
  g_autofree float *weights_paused = run_weights (paused, &n_paused, &epoch_paused);
  g_assert_cmpint (lam_session_get_step (paused), ==, BATCHES_PER_EPOCH);
  g_assert_cmpmem (weights_paused, n_paused * sizeof (float), weights_straight,
                   n_straight * sizeof (float));
  g_assert_cmpfloat (epoch_paused.train_loss, ==, epoch_straight.train_loss);
  g_assert_cmpfloat (epoch_paused.train_accuracy, ==, epoch_straight.train_accuracy);

  lam_test_remove_tree (dir);
}

/* Edits other than the learning rate wait for the run to end; the rate
 * reaches the trainer and is kept as a marker of the run. */
static void
test_edits_while_training (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (N_IMAGES, 10);
  g_autoptr (LamSession) session = new_session (dir);
  activate (session, "step");
  StepWait wait = { session, 1 };
  g_assert_true (lam_test_iterate_until (reached_step, &wait, 20000));
  g_assert_true (lam_session_get_training (session));
  /* The run in training cannot be deleted. */
  g_assert_false (lam_session_delete_run (session, lam_session_get_current_run (session)->number));

  g_object_set (session, "batch-size", 8, NULL);
  g_assert_cmpint (lam_session_get_config (session)->batch_size, ==, BATCH);
  g_object_set (session, "lr", 0.0005, NULL);
  g_assert_cmpfloat (lam_session_get_config (session)->optimizer.lr, ==, 0.0005);
  activate (session, "step");
  wait.step = 2;
  g_assert_true (lam_test_iterate_until (reached_step, &wait, 20000));
  lam_test_settle (50);
  const LamProjectRun *run = lam_session_get_current_run (session);
  g_assert_cmpuint (run->lr_changes->len, ==, 1);
  g_assert_cmpfloat (g_array_index (run->lr_changes, LamRunLrChange, 0).lr, ==, 0.0005);

  activate (session, "stop");
  g_assert_true (lam_test_iterate_until (is_idle, session, 20000));
  /* Stopped after two batches: the run can go on from there. */
  g_assert_true (lam_session_get_can_continue (session));
  int epochs_done = -1;
  gint64 step = -1;
  g_assert_true (lam_session_get_resume_position (session, &epochs_done, &step));
  g_assert_cmpint (step, ==, 2);
  g_assert_cmpint (epochs_done, ==, 0);

  /* Editing the model ends what can continue. */
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,linear:10", NULL);
  g_assert_nonnull (spec);
  lam_session_set_spec (session, spec);
  g_assert_false (lam_session_get_can_continue (session));
  lam_test_remove_tree (dir);
}

/* The model edited while a run is paused (ReLU made Tanh on the Model
 * page), the run then stopped: its weights and optimizer state are not
 * offered to continue the edited model, nor saved as its weights. */
static void
test_model_edited_while_training (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (N_IMAGES, 10);
  g_autoptr (LamSession) session = new_session (dir);
  g_autoptr (LamModelSpec) trained =
    lam_model_spec_from_text ("flatten,linear:32,relu,linear:10", NULL);
  lam_session_set_spec (session, trained);
  activate (session, "step");
  StepWait wait = { session, 1 };
  g_assert_true (lam_test_iterate_until (reached_step, &wait, 20000));
  g_autoptr (LamModelSpec) edited =
    lam_model_spec_from_text ("flatten,linear:32,tanh,linear:10", NULL);
  lam_session_set_spec (session, edited);
  activate (session, "stop");
  g_assert_true (lam_test_iterate_until (is_idle, session, 20000));

  g_assert_false (lam_session_get_can_continue (session));
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  lam_session_fill_project_file (session, file);
  g_autofree char *saved = lam_model_spec_to_text (file->spec);
  g_assert_nonnull (strstr (saved, "tanh"));
  g_assert_null (file->params);
  g_assert_false (file->resumable);
  /* The weights it trained are still there to look at, as the model
   * they belong to. */
  g_autofree char *weights = lam_model_spec_to_text (lam_session_get_weights_spec (session));
  g_assert_nonnull (strstr (weights, "relu"));

  /* Edited and put back before the run ends: it goes on as before. */
  activate (session, "step");
  wait.step = 1;
  g_assert_true (lam_test_iterate_until (reached_step, &wait, 20000));
  lam_session_set_spec (session, trained);
  lam_session_undo_model (session);
  activate (session, "stop");
  g_assert_true (lam_test_iterate_until (is_idle, session, 20000));
  g_assert_true (lam_session_get_can_continue (session));
  lam_test_remove_tree (dir);
}

typedef struct
{
  LamSession *session;
  guint progress;
  guint shown; /* PROGRESS events that named their batch */
  double pace_at_first; /* set at the first PROGRESS */
} PaceWatch;

static void
on_pace_event (LamSession *session, const LamTrainerEvent *event, PaceWatch *watch)
{
  if (event->kind != LAM_TRAINER_EVENT_PROGRESS)
    return;
  if (watch->progress++ == 0 && watch->pace_at_first > 0)
    lam_session_set_pace (session, watch->pace_at_first);
  if (event->n_shown == MIN (BATCH, LAM_TRAINER_MAX_SHOWN) && event->shown_indices != NULL &&
      event->shown_predicted != NULL)
    watch->shown++;
}

static void
count_signal (gpointer instance, guint *count)
{
  (*count)++;
}

/* Speed is the room's: bound to the Train page's Speed field, changeable
 * while a run trains, no edit of the lesson, kept by New Project; and it
 * changes none of the numbers. */
static void
test_pace_room_not_lesson (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (N_IMAGES, 10);
  g_autoptr (LamSession) session = new_session (dir);
  GtkWidget *page = g_object_ref_sink (lam_train_page_new (session));
  GtkDropDown *speed = GTK_DROP_DOWN (field_named (page, "S_peed"));
  g_assert_nonnull (speed);
  g_assert_cmpfloat (lam_session_get_pace (session), ==, 0);
  g_assert_cmpuint (gtk_drop_down_get_selected (speed), ==, 0);

  lam_session_set_modified (session, FALSE);
  guint settings_changed = 0;
  g_signal_connect (session, "settings-changed", G_CALLBACK (count_signal), &settings_changed);
  gtk_drop_down_set_selected (speed, 2);
  g_assert_cmpfloat (lam_session_get_pace (session), ==, 5);
  g_assert_false (lam_session_get_modified (session));
  g_assert_cmpuint (settings_changed, ==, 0);
  /* A pace the list lacks shows as the nearest, and stays what it is. */
  lam_session_set_pace (session, 200);
  g_assert_cmpuint (gtk_drop_down_get_selected (speed), ==, 1);
  g_assert_cmpfloat (lam_session_get_pace (session), ==, 200);

  /* Paced at 200 steps a second, then 100 from the first report on: every
   * step is reported with its batch. */
  PaceWatch watch = { session, 0, 0, 100 };
  g_signal_connect (session, "training-event", G_CALLBACK (on_pace_event), &watch);
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));
  g_assert_cmpfloat (lam_session_get_pace (session), ==, 100);
  g_assert_cmpuint (watch.progress, ==, BATCHES_PER_EPOCH);
  g_assert_cmpuint (watch.shown, ==, BATCHES_PER_EPOCH);
  g_assert_cmpuint (settings_changed, ==, 0);

  /* The same run as unpaced, to the bit. */
  g_autoptr (LamSession) straight = new_session (dir);
  activate (straight, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, straight, 60000));
  gsize n_paced = 0, n_straight = 0;
  LamRunEpoch epoch_paced, epoch_straight;
  g_autofree float *weights_paced = run_weights (session, &n_paced, &epoch_paced);
  g_autofree float *weights_straight = run_weights (straight, &n_straight, &epoch_straight);
  g_assert_cmpmem (weights_paced, n_paced * sizeof (float), weights_straight,
                   n_straight * sizeof (float));
  g_assert_cmpfloat (epoch_paced.train_loss, ==, epoch_straight.train_loss);
  g_assert_cmpfloat (epoch_paced.train_accuracy, ==, epoch_straight.train_accuracy);

  /* A new lesson in the same room keeps its speed. */
  lam_session_reset (session);
  g_assert_cmpfloat (lam_session_get_pace (session), ==, 100);

  gtk_widget_unparent (page);
  g_object_unref (page);
  lam_test_remove_tree (dir);
}

/* Into the build's tests folder, for a person to look at. */
static void
save_png (GtkWidget *window, const char *name)
{
  lam_test_settle (300);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (window, path, &error));
  g_assert_no_error (error);
  g_test_message ("saved %s", path);
}

/* A copy of the first n images of a dataset. */
static LamDataset *
dataset_head (const LamDataset *source, int n)
{
  gsize size = lam_dataset_image_size (source);
  LamDataset *dataset = g_new0 (LamDataset, 1);
  dataset->name = g_strdup (source->name);
  dataset->n = n;
  dataset->channels = source->channels;
  dataset->height = source->height;
  dataset->width = source->width;
  dataset->n_classes = source->n_classes;
  dataset->images = g_memdup2 (source->images, size * n);
  dataset->labels = g_memdup2 (source->labels, n);
  dataset->class_names = g_strdupv (source->class_names);
  return dataset;
}

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static gboolean
strip_has_images (gpointer data)
{
  return lam_batch_strip_get_n_images (data) > 0;
}

/* A slow run as a class sees it: the Train page in a window, paced at 5
 * steps a second on 1,422 Fashion-MNIST images, saved six times as
 * pace-1.png … pace-6.png while the curves form, with the strip of the
 * batch being trained above them (and once more in the dark style); at
 * full speed the strip goes. */
static void
test_pace_batch_strip (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) full_train = NULL;
  g_autoptr (LamDataset) full_test = NULL;
  if (!g_file_test (FASHION_DIR, G_FILE_TEST_IS_DIR) ||
      !lam_dataset_load_dir (FASHION_DIR, &full_train, &full_test, &error)) {
    g_test_skip ("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist");
    return;
  }
  /* 1,422 images leave 1,280 after the 10% validation split: 20 whole
   * batches of 64, so every batch the strip shows has 16 images or more
   * (with 1,500 the last batch of each epoch held 6). */
  g_autoptr (LamDataset) train = dataset_head (full_train, 1422);
  g_autoptr (LamDataset) test = dataset_head (full_test, 500);
  g_autofree char *tmp = g_dir_make_tmp ("lamina-pace-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *dir = g_build_filename (tmp, "Fashion-MNIST 1422", NULL);
  g_assert_true (lam_dataset_save_idx_dir (dir, train, test, &error));
  g_assert_no_error (error);

  g_autoptr (LamSession) session = lam_session_new ();
  lam_session_load_dataset_async (session, dir, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (dataset_loaded, session, 20000));
  g_object_set (session, "epochs", 5, "seed", (guint64) 7, "device", "cpu", NULL);
  int batch_size = 0;
  double val_fraction = 0;
  g_object_get (session, "batch-size", &batch_size, "val-fraction", &val_fraction, NULL);
  int n_val = (int) (train->n * val_fraction + 0.5);
  g_assert_cmpint ((int) (train->n - n_val) % batch_size, ==, 0);

  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 820);
  GtkWidget *page = lam_train_page_new (session);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  LamBatchStrip *strip = lam_train_page_get_batch_strip (LAM_TRAIN_PAGE (page));
  lam_test_settle (200);

  GtkDropDown *speed = GTK_DROP_DOWN (field_named (page, "S_peed"));
  gtk_drop_down_set_selected (speed, 2);
  g_assert_cmpfloat (lam_session_get_pace (session), ==, 5);
  g_assert_false (gtk_widget_is_visible (GTK_WIDGET (strip)));
  activate (session, "start-pause");
  /* The first batch comes from a thread of lower priority: waited for. */
  g_assert_true (lam_test_iterate_until (strip_has_images, strip, 30000));
  for (int i = 1; i <= 6; i++) {
    lam_test_settle (i == 1 ? 1000 : 2000);
    g_assert_true (gtk_widget_is_visible (GTK_WIDGET (strip)));
    g_assert_cmpint (lam_batch_strip_get_n_images (strip), ==, 16);
    g_autofree char *name = g_strdup_printf ("pace-%d.png", i);
    save_png (window, name);
  }
  /* The green and red must read on the dark style as well. */
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", TRUE, NULL);
  save_png (window, "pace-dark.png");
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", FALSE, NULL);
  g_test_message ("after the series: step %" G_GINT64_FORMAT, lam_session_get_step (session));

  /* Full speed: no time to look at batches. */
  gtk_drop_down_set_selected (speed, 0);
  g_assert_false (gtk_widget_is_visible (GTK_WIDGET (strip)));
  g_assert_true (lam_test_iterate_until (is_idle, session, 120000));

  gtk_window_destroy (GTK_WINDOW (window));
  lam_test_settle (50);
  lam_test_remove_tree (tmp);
}

/* Field by field: the structs hold padding bytes. */
static void
assert_same_settings (const LamTrainerConfig *a, const LamTrainerConfig *b)
{
  g_assert_cmpint (a->epochs, ==, b->epochs);
  g_assert_cmpint (a->batch_size, ==, b->batch_size);
  g_assert_cmpint (a->optimizer.kind, ==, b->optimizer.kind);
  g_assert_cmpfloat (a->optimizer.lr, ==, b->optimizer.lr);
  g_assert_cmpfloat (a->optimizer.momentum, ==, b->optimizer.momentum);
  g_assert_cmpfloat (a->optimizer.weight_decay, ==, b->optimizer.weight_decay);
  g_assert_cmpfloat (a->optimizer.l1, ==, b->optimizer.l1);
  g_assert_cmpint (a->schedule.kind, ==, b->schedule.kind);
  g_assert_cmpfloat (a->val_fraction, ==, b->val_fraction);
  g_assert_cmpuint (a->seed, ==, b->seed);
  g_assert_cmpint (a->normalize_from_data, ==, b->normalize_from_data);
  g_assert_cmpint (a->crop_padding, ==, b->crop_padding);
  g_assert_cmpint (a->padding_mode, ==, b->padding_mode);
  g_assert_cmpint (a->hflip, ==, b->hflip);
}

/* The window starts a lesson with the settings `lamina train` starts
 * with. */
static void
test_cli_defaults (void)
{
  g_autoptr (LamSession) session = lam_session_new ();
  LamTrainerConfig cli = lam_trainer_config_lesson_default ();
  assert_same_settings (lam_session_get_config (session), &cli);
  g_assert_cmpint (lam_session_get_config (session)->epochs, ==, 5);
  g_assert_true (lam_session_get_config (session)->normalize_from_data);
}

/* A step schedule chosen and left as the Train page shows it trains by
 * those numbers, in a fresh session and in one set from a config that
 * never chose one (lamina train's, size and gamma 0): every 10 epochs by
 * 0.1, not the 0 and 0 that kept the rate constant. */
static void
test_step_schedule_settled (void)
{
  g_autoptr (LamSession) session = lam_session_new ();
  g_object_set (session, "schedule", (guint) LAM_SCHEDULE_STEP, NULL);
  const LamTrainerConfig *config = lam_session_get_config (session);
  g_assert_cmpint (config->schedule.step_size, ==, 10);
  g_assert_cmpfloat (config->schedule.gamma, ==, 0.1);

  LamTrainerConfig from_cli = lam_trainer_config_default ();
  g_assert_cmpint (from_cli.schedule.step_size, ==, 0);
  lam_session_set_config (session, &from_cli);
  g_object_set (session, "schedule", (guint) LAM_SCHEDULE_STEP, NULL);
  int step_size;
  double gamma;
  g_object_get (session, "step-size", &step_size, "gamma", &gamma, NULL);
  g_assert_cmpint (step_size, ==, 10);
  g_assert_cmpfloat (gamma, ==, 0.1);
  config = lam_session_get_config (session);
  g_assert_cmpint (config->schedule.step_size, ==, 10);
  g_assert_cmpfloat (config->schedule.gamma, ==, 0.1);
}

/* Whole projects: what fill writes, load brings back, and reset is the
 * fresh session again. */
static void
test_project_round_trip (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (N_IMAGES, 10);
  g_autoptr (LamSession) session = new_session (dir);
  g_object_set (session, "crop-padding", 2, "padding-mode", (guint) LAM_PADDING_REFLECT, "hflip",
                TRUE, "schedule", (guint) LAM_SCHEDULE_COSINE, NULL);
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));
  g_assert_cmpuint (lam_session_get_n_runs (session), ==, 2);
  g_assert_cmpint (lam_session_get_run (session, 0)->color, !=,
                   lam_session_get_run (session, 1)->color);

  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  lam_session_fill_project_file (session, file);
  g_assert_cmpuint (file->runs->len, ==, 2);
  g_assert_nonnull (file->params);
  g_assert_cmpstr (file->device, ==, "cpu");

  g_autoptr (LamSession) reopened = lam_session_new ();
  lam_session_load_project_file (reopened, file);
  const LamTrainerConfig *config = lam_session_get_config (reopened);
  g_assert_cmpint (config->crop_padding, ==, 2);
  g_assert_cmpint (config->padding_mode, ==, LAM_PADDING_REFLECT);
  g_assert_true (config->hflip);
  g_assert_cmpint (config->schedule.kind, ==, LAM_SCHEDULE_COSINE);
  g_assert_cmpint (config->batch_size, ==, BATCH);
  g_assert_cmpstr (lam_session_get_device (reopened), ==, "cpu");
  g_assert_cmpuint (lam_session_get_n_runs (reopened), ==, 2);
  g_assert_nonnull (lam_session_get_weights_spec (reopened));
  g_assert_true (lam_session_get_can_continue (reopened));

  lam_session_reset (reopened);
  g_assert_cmpuint (lam_session_get_n_runs (reopened), ==, 0);
  g_assert_null (lam_session_get_weights_spec (reopened));
  g_assert_false (lam_session_get_can_continue (reopened));
  g_autoptr (LamSession) fresh = lam_session_new ();
  assert_same_settings (lam_session_get_config (reopened), lam_session_get_config (fresh));
  g_assert_cmpstr (lam_session_get_device (reopened), ==, lam_session_get_device (fresh));
  lam_test_remove_tree (dir);
}

typedef struct
{
  LamSession *session;
  int n_images;
} CountWait;

/* The session's evaluation is done, on n_images test images. */
static gboolean
evaluated_on (gpointer data)
{
  CountWait *wait = data;
  LamEvaluation *evaluation = lam_session_get_evaluation (wait->session);
  LamEvaluationResult *result = lam_evaluation_get_result (evaluation);
  return !lam_evaluation_get_busy (evaluation) && result != NULL &&
         result->n_images == wait->n_images;
}

/* A project opened while another dataset is shown keeps what its weights
 * predicted epoch by epoch: its weights are scored on the images shown
 * until its own dataset has opened, and that first score took the saved
 * history with it (of another count of images, it was dropped), so the
 * project's images said only "Correct after epoch 3" and a save wrote the
 * history no more. */
static void
test_project_history_across_datasets (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (N_IMAGES, 10);
  g_autoptr (LamSession) session = new_session (dir);
  g_object_set (session, "epochs", 3, NULL);
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));
  int n_test = lam_session_get_test_set (session)->n;
  CountWait wait = { session, n_test };
  g_assert_true (lam_test_iterate_until (evaluated_on, &wait, 20000));
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  lam_session_fill_project_file (session, file);
  g_assert_cmpint (file->n_history, >=, 2);

  g_autofree char *other = lam_test_write_bars_dataset (N_IMAGES / 2, 10);
  g_autoptr (LamSession) reopened = new_session (other);
  lam_session_load_project_file (reopened, file);
  CountWait on_other = { reopened, lam_session_get_test_set (reopened)->n };
  g_assert_cmpint (on_other.n_images, !=, n_test);
  g_assert_true (lam_test_iterate_until (evaluated_on, &on_other, 20000));

  lam_session_load_dataset_async (reopened, dir, NULL, on_loaded, NULL);
  CountWait on_own = { reopened, n_test };
  g_assert_true (lam_test_iterate_until (evaluated_on, &on_own, 20000));
  LamEvaluation *evaluation = lam_session_get_evaluation (reopened);
  g_assert_cmpuint (lam_evaluation_get_n_history (evaluation), ==, (guint) file->n_history);
  for (guint k = 0; k < (guint) file->n_history; k++) {
    int epoch = 0;
    const gint32 *predicted = lam_evaluation_get_history (evaluation, k, &epoch);
    g_assert_cmpint (epoch, ==, file->history_epochs[k]);
    g_assert_cmpmem (predicted, sizeof (gint32) * n_test,
                     file->history_classes + (gsize) k * n_test, sizeof (gint32) * n_test);
  }
  lam_test_remove_tree (other);
  lam_test_remove_tree (dir);
}

/* Opens dir in session, which has a dataset open already. */
static void
switch_dataset (LamSession *session, const char *dir)
{
  lam_session_load_dataset_async (session, dir, NULL, on_loaded, NULL);
  while (lam_session_get_loading (session) ||
         g_strcmp0 (lam_session_get_dataset_dir (session), dir) != 0)
    g_main_context_iteration (NULL, TRUE);
}

/* The Train page's test score says it was measured before another dataset
 * was opened, and says no more once its own dataset is open again: it
 * went on saying "measured before ... was opened" of the very images it
 * was measured on. */
static void
test_test_score_dataset_back (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (N_IMAGES, 10);
  g_autofree char *other = lam_test_write_bars_dataset (N_IMAGES / 2, 10);
  g_autoptr (LamSession) session = new_session (dir);
  GtkWidget *page = g_object_ref_sink (lam_train_page_new (session));
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));
  g_autofree char *score = g_strdup (lam_train_page_get_test_text (LAM_TRAIN_PAGE (page)));
  g_assert_nonnull (score);
  g_assert_null (strstr (score, "measured before"));

  switch_dataset (session, other);
  g_assert_nonnull (
    strstr (lam_train_page_get_test_text (LAM_TRAIN_PAGE (page)), "measured before"));
  switch_dataset (session, dir);
  g_assert_cmpstr (lam_train_page_get_test_text (LAM_TRAIN_PAGE (page)), ==, score);

  g_object_unref (page);
  lam_test_remove_tree (other);
  lam_test_remove_tree (dir);
}

/* A model without parameters trains in the window too: its weights, none
 * of them, are weights all the same, for the Evaluate page and for Save. */
static void
test_no_parameters (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (N_IMAGES, 10);
  g_autoptr (LamSession) session = new_session (dir);
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("flatten,log_softmax", NULL);
  lam_session_set_spec (session, spec);
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));
  gsize n = 1;
  g_assert_nonnull (lam_session_get_weights (session, &n));
  g_assert_cmpuint (n, ==, 0);
  g_assert_nonnull (lam_session_get_weights_spec (session));

  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  lam_session_fill_project_file (session, file);
  g_assert_nonnull (file->params);
  g_assert_cmpuint (file->n_params, ==, 0);
  g_autoptr (LamSession) reopened = lam_session_new ();
  lam_session_load_project_file (reopened, file);
  g_assert_nonnull (lam_session_get_weights (reopened, NULL));
  g_assert_true (lam_session_get_can_continue (reopened));
  lam_test_remove_tree (dir);
}

typedef struct
{
  LamEvaluation *evaluation;
  int epoch;
  gboolean rewound;
} EvaluationWait;

static gboolean
evaluated (gpointer data)
{
  EvaluationWait *wait = data;
  LamEvaluationResult *result = lam_evaluation_get_result (wait->evaluation);
  return !lam_evaluation_get_busy (wait->evaluation) && result != NULL &&
         result->epoch == wait->epoch && result->rewound == wait->rewound;
}

/* The time machine: every epoch's weights are kept; looking at an earlier
 * one evaluates its weights (the predictions recorded at that epoch come
 * back) without rewriting history; a budget thins the older ones; a new
 * run starts again. */
static void
test_time_machine (void)
{
  g_autofree char *dir = lam_test_write_bars_dataset (N_IMAGES, 10);
  g_autoptr (LamSession) session = new_session (dir);
  g_object_set (session, "epochs", 4, NULL);
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));

  g_assert_cmpuint (lam_session_get_n_snapshots (session), ==, 4);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpint (lam_session_get_snapshot_epoch (session, i), ==, (int) i + 1);
  gsize n = 0, n_snapshot = 0;
  const float *newest = lam_session_get_weights (session, &n);
  const float *last = lam_session_get_snapshot (session, 3, &n_snapshot);
  g_assert_cmpmem (last, n_snapshot * sizeof (float), newest, n * sizeof (float));
  /* Each epoch's own weights, even though these epochs end faster than
   * the window handles their events. */
  for (guint i = 0; i + 1 < 4; i++)
    g_assert_true (memcmp (lam_session_get_snapshot (session, i, NULL),
                           lam_session_get_snapshot (session, i + 1, NULL),
                           n * sizeof (float)) != 0);
  g_assert_false (lam_session_get_snapshots_thinned (session));

  LamEvaluation *evaluation = lam_session_get_evaluation (session);
  EvaluationWait wait = { evaluation, 4, FALSE };
  g_assert_true (lam_test_iterate_until (evaluated, &wait, 20000));
  /* Epochs whose evaluation a newer one overtook have no record. */
  guint n_history = lam_evaluation_get_n_history (evaluation);
  g_assert_cmpuint (n_history, >=, 1);

  g_object_set (session, "view-epoch", 2, NULL);
  g_assert_cmpint (lam_session_get_view_epoch (session), ==, 2);
  int view_epoch = 0;
  const float *shown = lam_session_get_view_weights (session, &n, &view_epoch);
  g_assert_cmpint (view_epoch, ==, 2);
  g_assert_true (shown == lam_session_get_snapshot (session, 1, NULL));
  wait = (EvaluationWait) { evaluation, 2, TRUE };
  g_assert_true (lam_test_iterate_until (evaluated, &wait, 20000));
  LamEvaluationResult *result = lam_evaluation_get_result (evaluation);
  g_assert_cmpmem (result->params, result->n_params * sizeof (float), shown, n * sizeof (float));
  g_assert_cmpuint (lam_evaluation_get_n_history (evaluation), ==, n_history);

  /* The newest epoch is the newest view; an epoch without weights too. */
  lam_session_set_view_epoch (session, 4);
  g_assert_cmpint (lam_session_get_view_epoch (session), ==, 0);
  wait = (EvaluationWait) { evaluation, 4, FALSE };
  g_assert_true (lam_test_iterate_until (evaluated, &wait, 20000));
  g_assert_cmpuint (lam_evaluation_get_n_history (evaluation), ==, n_history);
  lam_session_set_view_epoch (session, 9);
  g_assert_cmpint (lam_session_get_view_epoch (session), ==, 0);

  /* Two and a half snapshots' worth: every other older one goes until
   * they fit, the first and the newest staying. */
  lam_session_set_view_epoch (session, 3);
  lam_session_set_snapshot_budget (session, n * sizeof (float) * 5 / 2);
  g_assert_cmpuint (lam_session_get_n_snapshots (session), ==, 2);
  g_assert_cmpint (lam_session_get_snapshot_epoch (session, 0), ==, 1);
  g_assert_cmpint (lam_session_get_snapshot_epoch (session, 1), ==, 4);
  g_assert_true (lam_session_get_snapshots_thinned (session));
  g_assert_cmpint (lam_session_get_view_epoch (session), ==, 0);

  /* Projects carry them, unless the lesson saves without. */
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  lam_session_fill_project_file (session, file);
  g_assert_cmpint (file->n_snapshots, ==, 2);
  g_assert_cmpint (file->snapshot_epochs[1], ==, 4);
  g_autoptr (LamSession) reopened = lam_session_new ();
  lam_session_load_project_file (reopened, file);
  g_assert_cmpuint (lam_session_get_n_snapshots (reopened), ==, 2);
  g_assert_cmpint (lam_session_get_snapshot_epoch (reopened, 0), ==, 1);
  g_assert_cmpmem (lam_session_get_snapshot (reopened, 0, NULL), n * sizeof (float),
                   lam_session_get_snapshot (session, 0, NULL), n * sizeof (float));
  g_object_set (session, "save-snapshots", FALSE, NULL);
  g_autoptr (LamProjectFile) without = lam_project_file_new ();
  lam_session_fill_project_file (session, without);
  g_assert_cmpint (without->n_snapshots, ==, 0);
  lam_session_load_project_file (reopened, without);
  g_assert_cmpuint (lam_session_get_n_snapshots (reopened), ==, 0);
  g_object_set (session, "save-snapshots", TRUE, NULL);

  /* A new run keeps its own. */
  lam_session_set_snapshot_budget (session, LAM_SESSION_SNAPSHOT_BUDGET);
  g_object_set (session, "epochs", 3, NULL);
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));
  g_assert_cmpuint (lam_session_get_n_snapshots (session), ==, 3);
  g_assert_false (lam_session_get_snapshots_thinned (session));
  lam_test_remove_tree (dir);
}

/* The training R² of a run's epochs as the chart holds them: one CSV line
 * "label,epoch,R²" per epoch row, counted. */
static guint
count_r2_points (LamChart *chart, const LamProjectRun *run)
{
  g_autofree char *csv = lam_chart_dup_csv (chart);
  g_autofree char *label = lam_project_run_dup_label (run);
  guint found = 0;
  for (guint i = 0; i < run->epochs->len; i++) {
    const LamRunEpoch *e = &g_array_index (run->epochs, LamRunEpoch, i);
    char value[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd (value, sizeof value, "%.10g", e->train_accuracy);
    g_autofree char *line = g_strdup_printf ("%s,%d,%s\r\n", label, e->epoch, value);
    if (strstr (csv, line) != NULL)
      found++;
  }
  return found;
}

/* A regression's Train R² column has a number at every epoch: the R²
 * chart draws the same numbers as the run's training curve, live and
 * when the runs are drawn again. */
static void
test_regression_train_r2_charted (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-r2-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (dir, "line.csv", NULL);
  lam_test_write_linear_csv (csv, 200, 1, 1, 0.5, 3, NULL, NULL);
  LamSession *session = lam_session_new ();
  lam_session_load_dataset_async (session, csv, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (dataset_loaded, session, 20000));
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("linear:1", NULL);
  lam_session_set_spec (session, spec);
  g_object_set (session, "epochs", 3, "lr", 0.01, "seed", (guint64) 7, "device", "cpu", NULL);

  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 820);
  LamTrainPage *page = LAM_TRAIN_PAGE (lam_train_page_new (session));
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (GTK_WINDOW (window));
  lam_test_settle (200);
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));
  lam_test_settle (200);

  const LamProjectRun *run = lam_session_get_current_run (session);
  g_assert_cmpuint (run->epochs->len, ==, 3);
  for (guint i = 0; i < run->epochs->len; i++)
    g_assert_true (isfinite (g_array_index (run->epochs, LamRunEpoch, i).train_accuracy));
  LamChart *r2 = lam_train_page_get_accuracy_chart (page);
  g_assert_cmpuint (count_r2_points (r2, run), ==, 3);
  save_png (window, "train-regression-r2.png");

  lam_session_set_run_visible (session, run->number, FALSE);
  lam_session_set_run_visible (session, run->number, TRUE);
  g_assert_cmpuint (count_r2_points (r2, run), ==, 3);

  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (session);
  lam_test_remove_tree (dir);
}

/* What the Train page says its epoch table and second chart hold. */
static void
assert_shows (LamTrainPage *page, const char *heading, const char *title)
{
  GtkGrid *header = GTK_GRID (lam_train_page_get_epoch_header (page));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gtk_grid_get_child_at (header, 2, 0))), ==,
                   heading);
  g_autofree char *chart_title = NULL;
  g_object_get (lam_train_page_get_accuracy_chart (page), "title", &chart_title, NULL);
  g_assert_cmpstr (chart_title, ==, title);
}

/* The epoch table shows the current run: after a switch from images to a
 * regression table, the image run's accuracies are not headed R², nor
 * charted under "R²", until a run trains on the table; deleting that run
 * brings the image run's words back. */
static void
test_task_follows_current_run (void)
{
  g_autofree char *bars = lam_test_write_bars_dataset (N_IMAGES, 10);
  LamSession *session = new_session (bars);
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 820);
  LamTrainPage *page = LAM_TRAIN_PAGE (lam_train_page_new (session));
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (GTK_WINDOW (window));
  lam_test_settle (200);
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));
  assert_shows (page, "Train\nacc", "Accuracy");

  g_autofree char *dir = g_dir_make_tmp ("lamina-task-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (dir, "line.csv", NULL);
  lam_test_write_linear_csv (csv, 200, 1, 1, 0.5, 3, NULL, NULL);
  lam_session_load_dataset_async (session, csv, NULL, on_loaded, NULL);
  lam_test_settle (100);
  g_assert_true (lam_test_iterate_until (dataset_loaded, session, 20000));
  lam_test_settle (200);
  assert_shows (page, "Train\nacc", "Accuracy");
  save_png (window, "train-switch-to-table.png");

  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("linear:1", NULL);
  lam_session_set_spec (session, spec);
  g_object_set (session, "lr", 0.01, NULL);
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));
  assert_shows (page, "Train\nR²", "R² (1: perfect fit)");

  g_assert_true (lam_session_delete_run (session, 2));
  assert_shows (page, "Train\nacc", "Accuracy");

  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (session);
  lam_test_remove_tree (dir);
  lam_test_remove_tree (bars);
}

/* The first label under root whose text holds part, or NULL. */
static GtkLabel *
label_holding (GtkWidget *root, const char *part)
{
  if (GTK_IS_LABEL (root) && strstr (gtk_label_get_text (GTK_LABEL (root)), part) != NULL)
    return GTK_LABEL (root);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    GtkLabel *found = label_holding (child, part);
    if (found != NULL)
      return found;
  }
  return NULL;
}

/* A regression run's test score, saved and opened again, is its R² (as
 * the run showed it), not an accuracy in percent; the Runs list says so
 * too. */
static void
test_regression_score_reopened (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-r2-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (dir, "line.csv", NULL);
  lam_test_write_linear_csv (csv, 200, 1, 1, 0.5, 3, NULL, NULL);
  g_autoptr (LamSession) session = lam_session_new ();
  lam_session_load_dataset_async (session, csv, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (dataset_loaded, session, 20000));
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text ("linear:1", NULL);
  lam_session_set_spec (session, spec);
  g_object_set (session, "epochs", 2, "lr", 0.01, "seed", (guint64) 7, "device", "cpu", NULL);
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));
  double r2 = lam_session_get_current_run (session)->test_accuracy;
  g_assert_cmpfloat (r2, >, 0.5);
  g_assert_cmpfloat (r2, <=, 1);
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  lam_session_fill_project_file (session, file);

  LamSession *reopened = lam_session_new ();
  lam_session_load_dataset_async (reopened, csv, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (dataset_loaded, reopened, 20000));
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 820);
  LamTrainPage *page = LAM_TRAIN_PAGE (lam_train_page_new (reopened));
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (GTK_WINDOW (window));
  lam_session_load_project_file (reopened, file);
  lam_test_settle (200);

  g_autofree char *want = g_strdup_printf ("Test R² %.3f ", r2);
  const char *score = lam_train_page_get_test_text (page);
  g_assert_nonnull (score);
  g_assert_true (g_str_has_prefix (score, want));
  g_assert_null (strchr (score, '%'));
  g_autofree char *in_list = g_strdup_printf ("test R² %.3f", r2);
  g_assert_nonnull (label_holding (GTK_WIDGET (lam_train_page_get_runs_list (page)), in_list));
  save_png (window, "train-regression-reopened.png");

  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (reopened);
  lam_test_remove_tree (dir);
}

/* The runs a chart draws, as "1 2" by their numbers, from the names of
 * its series ("Run 2 · …", "Run 2 validation"). */
static char *
dup_charted_runs (LamChart *chart)
{
  g_autoptr (GString) runs = g_string_new (NULL);
  for (guint i = 0; i < lam_chart_get_n_series (chart); i++) {
    const char *name = lam_chart_get_series_name (chart, lam_chart_get_nth_series (chart, i));
    int number = 0;
    g_assert_cmpint (sscanf (name, "Run %d", &number), ==, 1);
    g_autofree char *word = g_strdup_printf ("%d", number);
    g_auto (GStrv) seen = g_strsplit (runs->str, " ", -1);
    if (!g_strv_contains ((const char *const *) seen, word))
      g_string_append_printf (runs, "%s%d", runs->len > 0 ? " " : "", number);
  }
  return g_string_free (g_steal_pointer (&runs), FALSE);
}

/* The text of the Runs list's row for run `number` (rows newest first). */
static const char *
run_row_text (LamTrainPage *page, int number)
{
  GtkListBox *list = lam_train_page_get_runs_list (page);
  int n = 0;
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (list)); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    n++;
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (list, n - number);
  g_assert_nonnull (row);
  GtkWidget *box = gtk_list_box_row_get_child (row);
  GtkWidget *check = gtk_widget_get_first_child (box);
  return gtk_label_get_text (GTK_LABEL (gtk_check_button_get_child (GTK_CHECK_BUTTON (check))));
}

static void
load_and_wait (LamSession *session, const char *path)
{
  lam_session_load_dataset_async (session, path, NULL, on_loaded, NULL);
  lam_test_settle (100);
  g_assert_true (lam_test_iterate_until (dataset_loaded, session, 20000));
  lam_test_settle (100);
}

/* With earlier runs kept, a run is overlaid only on charts of what it
 * measured: an image run's accuracies and cross-entropy stayed, faded,
 * behind a regression's R² and squared error. Each run says its task,
 * so an image run comes back behind the next image run. */
static void
test_runs_overlaid_by_metric (void)
{
  g_autofree char *bars = lam_test_write_bars_dataset (N_IMAGES, 10);
  LamSession *session = new_session (bars);
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 820);
  LamTrainPage *page = LAM_TRAIN_PAGE (lam_train_page_new (session));
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (GTK_WINDOW (window));
  lam_test_settle (200);
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));
  g_assert_cmpint (lam_session_get_current_run (session)->task, ==, LAM_TASK_CLASSIFICATION);

  g_autofree char *dir = g_dir_make_tmp ("lamina-metric-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (dir, "line.csv", NULL);
  lam_test_write_linear_csv (csv, 200, 1, 1, 0.5, 3, NULL, NULL);
  load_and_wait (session, csv);
  g_autoptr (LamModelSpec) line = lam_model_spec_from_text ("linear:1", NULL);
  lam_session_set_spec (session, line);
  g_object_set (session, "lr", 0.01, NULL);
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));
  lam_test_settle (200);
  g_assert_cmpint (lam_session_get_current_run (session)->task, ==, LAM_TASK_REGRESSION);
  g_autofree char *on_r2 = dup_charted_runs (lam_train_page_get_accuracy_chart (page));
  g_autofree char *on_mse = dup_charted_runs (lam_train_page_get_loss_chart (page));
  save_png (window, "train-runs-by-metric-r2.png");
  g_assert_cmpstr (on_r2, ==, "2");
  g_assert_cmpstr (on_mse, ==, "2");
  /* Ticked in the Runs list but not drawn: its row says why. */
  g_test_message ("run 1's row: %s", run_row_text (page, 1));
  g_assert_nonnull (strstr (run_row_text (page, 1), "(measured accuracy: not on these charts)"));
  g_assert_null (strstr (run_row_text (page, 2), "not on these charts"));

  load_and_wait (session, bars);
  g_autoptr (LamModelSpec) mlp = lam_model_spec_from_text ("flatten,linear:10", NULL);
  lam_session_set_spec (session, mlp);
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));
  lam_test_settle (200);
  g_autofree char *on_accuracy = dup_charted_runs (lam_train_page_get_accuracy_chart (page));
  g_autofree char *on_loss = dup_charted_runs (lam_train_page_get_loss_chart (page));
  save_png (window, "train-runs-by-metric-accuracy.png");
  g_assert_cmpstr (on_accuracy, ==, "1 3");
  g_assert_cmpstr (on_loss, ==, "1 3");
  g_assert_nonnull (strstr (run_row_text (page, 2), "(measured R²: not on these charts)"));
  g_assert_null (strstr (run_row_text (page, 1), "not on these charts"));

  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (session);
  lam_test_remove_tree (dir);
  lam_test_remove_tree (bars);
}

/* Each heading of the epoch table over its column: the same left edge
 * and width. */
static void
assert_headings_over (LamTrainPage *page, GtkWidget *window, int row)
{
  GtkGrid *header = GTK_GRID (lam_train_page_get_epoch_header (page));
  GtkWidget *grid = gtk_scrolled_window_get_child (lam_train_page_get_epoch_scroller (page));
  if (GTK_IS_VIEWPORT (grid))
    grid = gtk_viewport_get_child (GTK_VIEWPORT (grid));
  for (int c = 0; c < 6; c++) {
    GtkWidget *cell = gtk_grid_get_child_at (GTK_GRID (grid), c, row);
    g_assert_nonnull (cell);
    graphene_rect_t a, b;
    g_assert_true (gtk_widget_compute_bounds (gtk_grid_get_child_at (header, c, 0), window, &a));
    g_assert_true (gtk_widget_compute_bounds (cell, window, &b));
    g_assert_cmpfloat (fabs (a.origin.x - b.origin.x), <, 0.5);
    g_assert_cmpfloat (fabs (a.size.width - b.size.width), <, 0.5);
  }
}

/* A run of 300 epochs: every row of the epoch table sat in its column's
 * size group, which GTK measures whole on each layout, so each epoch
 * that arrived held the window longer than the one before (past 250 ms
 * a frame near the end). A heading needs only the widest cell below it. */
static void
test_epoch_table_long_run (void)
{
  g_autofree char *bars = lam_test_write_bars_dataset (N_IMAGES, 10);
  LamSession *session = new_session (bars);
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 820);
  LamTrainPage *page = LAM_TRAIN_PAGE (lam_train_page_new (session));
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (GTK_WINDOW (window));

  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  file->config = *lam_session_get_config (session);
  LamProjectRun *run = lam_project_run_new (1, "mlp, Adam lr 0.001, batch 36");
  /* The widest time halfway, the widest epoch number last. */
  for (int e = 1; e <= 300; e++) {
    double seconds = e == 150 ? 1234.5 : 2.5;
    LamRunEpoch row = { e, 1.0 / e, 1 - 0.5 / e, 1.1 / e, 1 - 0.6 / e, seconds, 0.001 };
    g_array_append_val (run->epochs, row);
  }
  g_ptr_array_add (file->runs, run);
  lam_session_load_project_file (session, file);
  lam_test_settle (300);

  for (guint c = 0; c < 6; c++) {
    GSList *members = gtk_size_group_get_widgets (lam_train_page_get_epoch_column (page, c));
    g_assert_cmpuint (g_slist_length (members), <=, 2);
  }
  assert_headings_over (page, window, 0);
  assert_headings_over (page, window, 149);
  assert_headings_over (page, window, 299);

  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (session);
  lam_test_remove_tree (bars);
}

static gboolean
past_step_running (gpointer data)
{
  StepWait *wait = data;
  return lam_session_get_step (wait->session) >= wait->step;
}

/* One Step's batch trains in a millisecond or two: its rate read as
 * hundreds of thousands of images a second ("666,666 rows/s" on a table),
 * and the time left as nothing. Speed and time left show once enough
 * training stands behind them: at a pace of five steps a second, from
 * the fourth batch on. */
static void
test_speed_needs_a_stretch (void)
{
  g_autofree char *bars = lam_test_write_bars_dataset (N_IMAGES, 10);
  LamSession *session = new_session (bars);
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 820);
  LamTrainPage *page = LAM_TRAIN_PAGE (lam_train_page_new (session));
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (GTK_WINDOW (window));
  lam_test_settle (200);

  activate (session, "step");
  StepWait wait = { session, 1 };
  g_assert_true (lam_test_iterate_until (reached_step, &wait, 20000));
  lam_test_settle (200);
  const char *text = lam_train_page_get_progress_text (page);
  g_test_message ("after one Step: %s", text);
  g_assert_nonnull (strstr (text, "step 1\n– images/s · – left"));
  activate (session, "stop");
  g_assert_true (lam_test_iterate_until (is_idle, session, 20000));

  g_object_set (session, "pace", 5.0, "epochs", 2, NULL);
  activate (session, "start-pause");
  wait.step = 6;
  g_assert_true (lam_test_iterate_until (past_step_running, &wait, 20000));
  lam_test_settle (100);
  text = lam_train_page_get_progress_text (page);
  g_test_message ("paced, at step %" G_GINT64_FORMAT ": %s", lam_session_get_step (session), text);
  const char *speed = strchr (text, '\n');
  g_assert_nonnull (speed);
  g_assert_true (g_ascii_isdigit (speed[1]));
  g_assert_nonnull (strstr (speed, " images/s · 0:"));
  /* A new epoch's first batches measure too little: the speed so far
   * stays rather than going back to "–". */
  wait.step = 11;
  g_assert_true (lam_test_iterate_until (past_step_running, &wait, 20000));
  text = lam_train_page_get_progress_text (page);
  g_test_message ("paced, at step %" G_GINT64_FORMAT ": %s", lam_session_get_step (session), text);
  g_assert_nonnull (strstr (text, "Epoch 2 of 2"));
  speed = strchr (text, '\n');
  g_assert_true (g_ascii_isdigit (speed[1]));
  activate (session, "stop");
  g_assert_true (lam_test_iterate_until (is_idle, session, 20000));

  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (session);
  lam_test_remove_tree (bars);
}

/* Where a chart's y tick labels lie: left of the plot, and the top one
 * centred on the plot's top edge, half a line above it. */
static graphene_rect_t
top_tick_band (LamChart *chart)
{
  int width = gtk_widget_get_width (GTK_WIDGET (chart));
  int height = gtk_widget_get_height (GTK_WIDGET (chart));
  double x, y;
  int plot_x = 0, plot_y = 0;
  while (plot_y < height && !lam_chart_widget_to_data (chart, width / 2.0, plot_y, &x, &y))
    plot_y++;
  while (plot_x < width && !lam_chart_widget_to_data (chart, plot_x, height / 2.0, &x, &y))
    plot_x++;
  g_assert_cmpint (plot_y, <, height);
  g_assert_cmpint (plot_x, <, width);
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (chart), "0123456789");
  int tick_h = 0;
  pango_layout_get_pixel_size (layout, NULL, &tick_h);
  g_object_unref (layout);
  return GRAPHENE_RECT_INIT (0, plot_y - tick_h / 2.0, plot_x, tick_h);
}

/* The "?" buttons over each chart keep clear of its top tick's label: at
 * the chart's top left they hid the loss chart's top figure in the
 * regression layout, where the fit takes the charts' height. */
static void
test_help_clear_of_ticks (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-ticks-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (dir, "line.csv", NULL);
  lam_test_write_linear_csv (csv, 200, 1, 1, 0.5, 3, NULL, NULL);
  LamSession *session = new_session (csv);
  g_autoptr (LamModelSpec) line = lam_model_spec_from_text ("linear:1", NULL);
  lam_session_set_spec (session, line);
  g_object_set (session, "lr", 0.01, "epochs", 5, NULL);
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  LamTrainPage *page = LAM_TRAIN_PAGE (lam_train_page_new (session));
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (GTK_WINDOW (window));
  lam_test_settle (200);
  activate (session, "start-pause");
  g_assert_true (lam_test_iterate_until (is_idle, session, 60000));
  lam_test_settle (300);
  save_png (window, "train-help-clear-of-ticks.png");

  LamChart *charts[] = { lam_train_page_get_loss_chart (page),
                         lam_train_page_get_accuracy_chart (page) };
  for (guint c = 0; c < G_N_ELEMENTS (charts); c++) {
    graphene_rect_t band = top_tick_band (charts[c]);
    GtkWidget *overlay = gtk_widget_get_parent (GTK_WIDGET (charts[c]));
    g_assert_true (GTK_IS_OVERLAY (overlay));
    guint buttons = 0;
    for (GtkWidget *row = gtk_widget_get_first_child (overlay); row != NULL;
         row = gtk_widget_get_next_sibling (row)) {
      if (row == GTK_WIDGET (charts[c]))
        continue;
      for (GtkWidget *help = gtk_widget_get_first_child (row); help != NULL;
           help = gtk_widget_get_next_sibling (help), buttons++) {
        graphene_rect_t bounds;
        g_assert_true (gtk_widget_compute_bounds (help, GTK_WIDGET (charts[c]), &bounds));
        g_test_message ("chart %u: \"?\" at %.0f,%.0f %.0f×%.0f; top tick label band "
                        "%.0f,%.0f %.0f×%.0f",
                        c, bounds.origin.x, bounds.origin.y, bounds.size.width, bounds.size.height,
                        band.origin.x, band.origin.y, band.size.width, band.size.height);
        g_assert_false (graphene_rect_intersection (&bounds, &band, NULL));
      }
    }
    g_assert_cmpuint (buttons, >, 0);
  }

  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (session);
  lam_test_remove_tree (dir);
}

/* A table of one value to predict under a last layer of three: the
 * Model page's error read "has 1 values to predict"; and one output for
 * two: "gives 1 outputs". */
static void
test_plan_error_singular (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lamina-plan-XXXXXX", NULL);
  g_autofree char *line = g_build_filename (dir, "line.csv", NULL);
  g_autofree char *two = g_build_filename (dir, "two.csv", NULL);
  lam_test_write_linear_csv (line, 100, 1, 1, 0.5, 3, NULL, NULL);
  lam_test_write_linear_csv (two, 100, 2, 2, 0.5, 3, NULL, NULL);
  g_autoptr (LamSession) session = lam_session_new ();
  lam_session_load_dataset_async (session, line, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (dataset_loaded, session, 20000));
  g_autoptr (LamModelSpec) three = lam_model_spec_from_text ("linear:3", NULL);
  lam_session_set_spec (session, three);
  g_assert_false (lam_session_get_model_valid (session));
  const GError *error = lam_session_get_plan_error (session);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "gives 3 outputs but "));
  g_assert_nonnull (strstr (error->message, " has 1 value to predict: end with linear:1"));

  g_autofree char *two_targets = g_strconcat (two, "?inputs=x1,x2&targets=y1,y2", NULL);
  lam_session_load_dataset_async (session, two_targets, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (dataset_loaded, session, 20000));
  g_assert_cmpint (lam_session_get_train_set (session)->n_targets, ==, 2);
  g_autoptr (LamModelSpec) one = lam_model_spec_from_text ("linear:1", NULL);
  lam_session_set_spec (session, one);
  error = lam_session_get_plan_error (session);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "gives 1 output but "));
  g_assert_nonnull (strstr (error->message, " has 2 values to predict: end with linear:2"));
  lam_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  /* No session bus under xvfb-run: keep the accessibility bridge off so
   * its warning does not abort the run. */
  g_setenv ("GTK_A11Y", "none", TRUE);
  gtk_init ();
  /* A window under Xvfb without a window manager is never active: a
   * focused entry's blinking cursor would warn that it has no focus. */
  g_object_set (gtk_settings_get_default (), "gtk-cursor-blink", FALSE, NULL);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/session/settings/bound-both-ways", test_settings_bound);
  g_test_add_func ("/session/settings/normalization", test_normalization_setting);
  g_test_add_func ("/session/settings/keep-precision", test_settings_keep_precision);
  g_test_add_func ("/session/settings/show-cli-ranges", test_settings_show_cli_ranges);
  g_test_add_func ("/session/settings/typed-refused", test_settings_typed_refused);
  g_test_add_func ("/session/settings/cli-defaults", test_cli_defaults);
  g_test_add_func ("/session/settings/start-button-stays", test_start_button_stays);
  g_test_add_func ("/session/train/step-equals-straight-run", test_step_equals_straight_run);
  g_test_add_func ("/session/train/edits-while-training", test_edits_while_training);
  g_test_add_func ("/session/train/model-edited-while-training", test_model_edited_while_training);
  g_test_add_func ("/session/pace/room-not-lesson", test_pace_room_not_lesson);
  g_test_add_func ("/session/pace/batch-strip", test_pace_batch_strip);
  g_test_add_func ("/session/project/round-trip", test_project_round_trip);
  g_test_add_func ("/session/no-parameters", test_no_parameters);
  g_test_add_func ("/session/test-score-dataset-back", test_test_score_dataset_back);
  g_test_add_func ("/session/project/history-across-datasets",
                   test_project_history_across_datasets);
  g_test_add_func ("/session/step-schedule-settled", test_step_schedule_settled);
  g_test_add_func ("/session/time-machine", test_time_machine);
  g_test_add_func ("/session/plan-error-singular", test_plan_error_singular);
  g_test_add_func ("/session/train-page/regression-train-r2-charted",
                   test_regression_train_r2_charted);
  g_test_add_func ("/session/train-page/task-follows-current-run", test_task_follows_current_run);
  g_test_add_func ("/session/train-page/runs-overlaid-by-metric", test_runs_overlaid_by_metric);
  g_test_add_func ("/session/train-page/speed-needs-a-stretch", test_speed_needs_a_stretch);
  g_test_add_func ("/session/train-page/help-clear-of-ticks", test_help_clear_of_ticks);
  g_test_add_func ("/session/train-page/regression-score-reopened", test_regression_score_reopened);
  g_test_add_func ("/session/train-page/epoch-table-long-run", test_epoch_table_long_run);
  return g_test_run ();
}
