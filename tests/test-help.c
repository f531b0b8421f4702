/* test-help.c: words explained in place. Every topic has a heading and a
 * text short and plain enough for a pupil; every page carries a "?" for
 * each of its words, and a "?" opens its explanation. */
#include <gtk/gtk.h>
#include <string.h>

#include "lam-help.h"
#include "lam-session.h"
#include "lam-table-dialog.h"
#include "lam-train-page.h"
#include "lam-test-util.h"
#include "lam-ui-util.h"
#include "lam-window.h"

static LamWindow *window;
static void on_loaded (GObject *source, GAsyncResult *result, gpointer user_data);
static LamSession *session;

static void
test_texts (void)
{
  const char *const *topics = lam_help_get_topics ();
  guint n = 0;
  for (; topics[n] != NULL; n++) {
    const char *title = lam_help_get_title (topics[n]);
    const char *text = lam_help_get_text (topics[n]);
    g_assert_nonnull (title);
    g_assert_nonnull (text);
    g_assert_true (g_utf8_validate (text, -1, NULL));
    /* A popover's worth: read in a breath, not a page. */
    glong length = g_utf8_strlen (text, -1);
    g_assert_cmpint (length, >=, 80);
    g_assert_cmpint (length, <=, 700);
    /* Plain sentences: no more than 40 words between full stops. */
    g_auto (GStrv) sentences = g_regex_split_simple ("[.!?:;]\\s", text, 0, 0);
    for (guint s = 0; sentences[s] != NULL; s++) {
      g_auto (GStrv) words = g_regex_split_simple ("\\s+", sentences[s], 0, 0);
      g_assert_cmpuint (g_strv_length (words), <=, 40);
    }
  }
  g_assert_cmpuint (n, >=, 20);
  /* The words the lessons use, each explained. */
  const char *const needed[] = { "loss", "accuracy", "epoch", "batch", "learning-rate",
                                 "momentum", "validation", "overfitting", "normalization",
                                 "augmentation", "confusion-matrix", "probability", "activation",
                                 "weights" };
  for (guint i = 0; i < G_N_ELEMENTS (needed); i++)
    g_assert_nonnull (lam_help_get_text (needed[i]));
  g_assert_null (lam_help_get_text ("no-such-topic"));
}

/* The "?" buttons below root, by topic. */
static void
collect (GtkWidget *root, GHashTable *found)
{
  if (LAM_IS_HELP_BUTTON (root)) {
    g_hash_table_insert (found, g_strdup (lam_help_button_get_topic (LAM_HELP_BUTTON (root))),
                         root);
    return;
  }
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect (child, found);
}

static void
assert_page_topics (const char *page, const char *const *topics)
{
  g_autoptr (GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  collect (lam_window_get_page (window, page), found);
  for (guint i = 0; topics[i] != NULL; i++) {
    if (!g_hash_table_contains (found, topics[i]))
      g_test_message ("the %s page has no \"?\" for %s", page, topics[i]);
    g_assert_true (g_hash_table_contains (found, topics[i]));
  }
}

static void
test_pages_carry_help (void)
{
  const char *const data[] = { "validation", "normalization", "augmentation", NULL };
  const char *const evaluate[] = { "test-accuracy", "class-accuracy", "confusion-matrix",
                                   "gallery",       "probability",    "activation",
                                   "draw",          "weights",        NULL };
  assert_page_topics ("data", data);
  assert_page_topics ("evaluate", evaluate);
}

static gboolean
popover_shown (gpointer data)
{
  return gtk_widget_get_mapped (GTK_WIDGET (data));
}

static void
test_button_opens_text (void)
{
  lam_window_show_page (window, "data");
  lam_test_settle (300);
  g_autoptr (GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  collect (lam_window_get_page (window, "data"), found);
  LamHelpButton *button = g_hash_table_lookup (found, "normalization");
  g_assert_nonnull (button);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (button)));
  lam_help_button_popup (button);
  GtkPopover *popover = lam_help_button_get_popover (button);
  g_assert_true (lam_test_iterate_until (popover_shown, popover, 5000));
  /* The popover says what the topic's text says. */
  gboolean seen = FALSE;
  for (GtkWidget *w = gtk_widget_get_first_child (gtk_popover_get_child (popover)); w != NULL;
       w = gtk_widget_get_next_sibling (w))
    if (GTK_IS_LABEL (w) &&
        g_str_equal (gtk_label_get_text (GTK_LABEL (w)), lam_help_get_text ("normalization")))
      seen = TRUE;
  g_assert_true (seen);
  lam_test_settle (300);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", "help-popover.png", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_ui_save_png (GTK_WIDGET (window), path, &error));
  g_test_message ("saved %s", path);
  /* The popover is a surface of its own. */
  g_autofree char *popover_path = g_build_filename (dir ? dir : ".", "help-popover-text.png", NULL);
  g_assert_true (lam_ui_save_png (GTK_WIDGET (popover), popover_path, &error));
  g_test_message ("saved %s", popover_path);
  gtk_popover_popdown (popover);
}

static gboolean
regression_loaded (gpointer data)
{
  return lam_session_get_has_dataset (data) && !lam_session_get_loading (data);
}

/* A regression's second chart plots R², not the share of right answers:
 * its "?" explains R², and an image lesson's "?" there accuracy again. */
/* A "?" switched back from a table's topic to the image one is given a
 * name inside its own topic ("table-gallery" + 6): the setter read it after
 * freeing it (AddressSanitizer's heap-use-after-free). */
static void
test_button_topic_from_its_own_name (void)
{
  GtkWidget *button = g_object_ref_sink (lam_help_button_new ("table-gallery"));
  LamHelpButton *help = LAM_HELP_BUTTON (button);
  lam_help_button_set_topic (help, lam_help_button_get_topic (help) + strlen ("table-"));
  g_assert_cmpstr (lam_help_button_get_topic (help), ==, "gallery");
  g_assert_cmpstr (lam_help_get_text (lam_help_button_get_topic (help)), ==,
                   lam_help_get_text ("gallery"));
  lam_help_speak_of_rows (button, TRUE);
  g_assert_cmpstr (lam_help_button_get_topic (help), ==, "table-gallery");
  lam_help_speak_of_rows (button, FALSE);
  g_assert_cmpstr (lam_help_button_get_topic (help), ==, "gallery");
  g_object_unref (button);
}

static void
test_regression_chart_explains_r2 (void)
{
  g_autofree char *table = lam_dataset_find_bundled_table ("study-time");
  g_assert_nonnull (table);
  const char *inputs[] = { "hours", NULL }, *targets[] = { "score", NULL };
  g_autofree char *name = lam_table_name_build (table, inputs, targets);
  g_autoptr (LamSession) regression = lam_session_new ();
  lam_session_load_dataset_async (regression, name, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (regression_loaded, regression, 30000));

  GtkWidget *page = lam_train_page_new (regression);
  g_object_ref_sink (page);
  GtkWidget *chart = GTK_WIDGET (lam_train_page_get_accuracy_chart (LAM_TRAIN_PAGE (page)));
  g_autoptr (GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* The chart and its "?" share an overlay. */
  collect (gtk_widget_get_parent (chart), found);
  g_assert_cmpuint (g_hash_table_size (found), ==, 1);
  g_assert_true (g_hash_table_contains (found, "r2"));
  const char *text = lam_help_get_text ("r2");
  g_assert_nonnull (strstr (text, "R²"));
  g_assert_null (strstr (text, "images"));

  /* The window's image lesson: accuracy, as before. */
  g_hash_table_remove_all (found);
  GtkWidget *image_chart = GTK_WIDGET (
    lam_train_page_get_accuracy_chart (LAM_TRAIN_PAGE (lam_window_get_page (window, "train"))));
  collect (gtk_widget_get_parent (image_chart), found);
  g_assert_true (g_hash_table_contains (found, "accuracy"));
  g_object_unref (page);
}

/* Opens every expander below root: a closed one holds its child out of
 * the widget tree. */
static void
expand_all (GtkWidget *root)
{
  if (GTK_IS_EXPANDER (root))
    gtk_expander_set_expanded (GTK_EXPANDER (root), TRUE);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    expand_all (child);
}

/* A table's columns are standardised and its rows never augmented: on a
 * table's Train page the "?" of Normalisation and Augmentation says so,
 * where it spoke of pixels 0 to 255; an image lesson's still speaks of
 * pixels. */
static void
test_table_settings_explain_tables (void)
{
  g_autofree char *table = lam_dataset_find_bundled_table ("study-time");
  g_assert_nonnull (table);
  const char *inputs[] = { "hours", NULL }, *targets[] = { "score", NULL };
  g_autofree char *name = lam_table_name_build (table, inputs, targets);
  g_autoptr (LamSession) tabular = lam_session_new ();
  lam_session_load_dataset_async (tabular, name, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (regression_loaded, tabular, 30000));

  GtkWidget *page = lam_train_page_new (tabular);
  GtkWidget *shown = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (shown), 1280, 800);
  gtk_window_set_child (GTK_WINDOW (shown), page);
  gtk_window_present (GTK_WINDOW (shown));
  expand_all (page);
  lam_test_settle (300);
  g_autoptr (GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  collect (page, found);
  g_assert_false (g_hash_table_contains (found, "normalization"));
  g_assert_false (g_hash_table_contains (found, "augmentation"));
  LamHelpButton *normalization = g_hash_table_lookup (found, "table-normalization");
  g_assert_nonnull (normalization);
  g_assert_true (g_hash_table_contains (found, "table-augmentation"));
  const char *standardised = lam_help_get_text ("table-normalization");
  g_assert_nonnull (strstr (standardised, "column"));
  g_assert_null (strstr (standardised, "255"));
  const char *not_augmented = lam_help_get_text ("table-augmentation");
  g_assert_nonnull (strstr (not_augmented, "rows"));
  g_assert_nonnull (strstr (not_augmented, "images only"));

  /* What a pupil sees under the "?". */
  lam_help_button_popup (normalization);
  GtkPopover *popover = lam_help_button_get_popover (normalization);
  g_assert_true (lam_test_iterate_until (popover_shown, popover, 5000));
  lam_test_settle (300);
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir ? dir : ".", "help-table-normalization.png", NULL);
  g_autoptr (GError) error = NULL;
  /* The popover is a surface of its own. */
  g_assert_true (lam_ui_save_png (GTK_WIDGET (popover), path, &error));
  g_test_message ("saved %s", path);
  gtk_popover_popdown (popover);

  /* The window's image lesson: pixels, as before. */
  g_hash_table_remove_all (found);
  expand_all (lam_window_get_page (window, "train"));
  collect (lam_window_get_page (window, "train"), found);
  g_assert_true (g_hash_table_contains (found, "normalization"));
  g_assert_true (g_hash_table_contains (found, "augmentation"));
  gtk_window_destroy (GTK_WINDOW (shown));
}

static gboolean
dataset_ready (gpointer data)
{
  return lam_session_get_has_dataset (session) && !lam_session_get_loading (session);
}

static void
on_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_session_load_dataset_finish (LAM_SESSION (source), result, &error));
}

int
main (int argc, char **argv)
{
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  gtk_init ();
  g_test_init (&argc, &argv, NULL);
  lam_help_init_translations ();

  g_autofree char *dir = lam_test_write_bars_dataset (200, 10);
  session = lam_session_new ();
  lam_session_load_dataset_async (session, dir, NULL, on_loaded, NULL);
  g_assert_true (lam_test_iterate_until (dataset_ready, NULL, 30000));
  window = lam_window_new (NULL, session);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_present (GTK_WINDOW (window));
  lam_test_settle (500);

  g_test_add_func ("/help/texts", test_texts);
  g_test_add_func ("/help/pages-carry-help", test_pages_carry_help);
  g_test_add_func ("/help/button-opens-text", test_button_opens_text);
  g_test_add_func ("/help/regression-chart-explains-r2", test_regression_chart_explains_r2);
  g_test_add_func ("/help/button-topic-from-its-own-name", test_button_topic_from_its_own_name);
  g_test_add_func ("/help/table-settings-explain-tables", test_table_settings_explain_tables);
  int status = g_test_run ();
  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (session);
  lam_test_remove_tree (dir);
  return status;
}
