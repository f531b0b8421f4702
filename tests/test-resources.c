/* test-resources.c: the files that make Lamina a desktop application agree
 * with each other and with the project files it writes. The .desktop file
 * takes a file (%f) and lists the project MIME type; the shared-mime-info
 * package declares that type with a glob for *.lamina and a magic match that
 * a saved project's first bytes meet; the AppStream file names both; and,
 * where update-mime-database is installed, GIO recognises a saved project by
 * its name and by its content. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "lam-project-file.h"
#include "lam-test-util.h"

#define APP_ID "org.lamina.Lamina"
#define PROJECT_TYPE "application/x-lamina-project"

static char *mime_home; /* XDG_DATA_HOME with the package compiled, or NULL */

static char *
resource_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "..", "resources", name, NULL);
}

/* What the shared-mime-info package declares. */
typedef struct
{
  GPtrArray *types;   /* of char*: mime-type type="" */
  GPtrArray *globs;   /* of char*: glob pattern="" */
  GPtrArray *magic;   /* of char*: match value="" */
  GPtrArray *offsets; /* of char*: match offset="" */
  GPtrArray *parents; /* of char*: sub-class-of type="" */
  GString *text;      /* character data of the current element */
  char *element;      /* the innermost element */
  gboolean in_comment;
  char *comment;
} MimeInfo;

static void
mime_start (GMarkupParseContext *context, const char *element, const char **names,
            const char **values, gpointer user_data, GError **error)
{
  MimeInfo *info = user_data;
  const char *type = NULL, *pattern = NULL, *value = NULL, *offset = NULL;
  for (int i = 0; names[i] != NULL; i++) {
    if (g_str_equal (names[i], "type"))
      type = values[i];
    else if (g_str_equal (names[i], "pattern"))
      pattern = values[i];
    else if (g_str_equal (names[i], "value"))
      value = values[i];
    else if (g_str_equal (names[i], "offset"))
      offset = values[i];
  }
  if (g_str_equal (element, "mime-type") && type != NULL)
    g_ptr_array_add (info->types, g_strdup (type));
  else if (g_str_equal (element, "glob") && pattern != NULL)
    g_ptr_array_add (info->globs, g_strdup (pattern));
  else if (g_str_equal (element, "match") && value != NULL) {
    g_ptr_array_add (info->magic, g_strdup (value));
    g_ptr_array_add (info->offsets, g_strdup (offset ? offset : "0"));
  } else if (g_str_equal (element, "sub-class-of") && type != NULL)
    g_ptr_array_add (info->parents, g_strdup (type));
  info->in_comment = g_str_equal (element, "comment");
  g_string_truncate (info->text, 0);
}

static void
mime_end (GMarkupParseContext *context, const char *element, gpointer user_data, GError **error)
{
  MimeInfo *info = user_data;
  if (info->in_comment && g_str_equal (element, "comment")) {
    g_free (info->comment);
    info->comment = g_strdup (info->text->str);
  }
  info->in_comment = FALSE;
}

static void
mime_text (GMarkupParseContext *context, const char *text, gsize len, gpointer user_data,
           GError **error)
{
  MimeInfo *info = user_data;
  g_string_append_len (info->text, text, (gssize) len);
}

static void
mime_info_load (MimeInfo *info)
{
  info->types = g_ptr_array_new_with_free_func (g_free);
  info->globs = g_ptr_array_new_with_free_func (g_free);
  info->magic = g_ptr_array_new_with_free_func (g_free);
  info->offsets = g_ptr_array_new_with_free_func (g_free);
  info->parents = g_ptr_array_new_with_free_func (g_free);
  info->text = g_string_new (NULL);

  g_autofree char *path = resource_path (APP_ID ".mime.xml");
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  static const GMarkupParser parser = { mime_start, mime_end, mime_text, NULL, NULL };
  GMarkupParseContext *context = g_markup_parse_context_new (&parser, 0, info, NULL);
  gboolean ok = g_markup_parse_context_parse (context, contents, (gssize) length, &error) &&
                g_markup_parse_context_end_parse (context, &error);
  g_markup_parse_context_free (context);
  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
mime_info_clear (MimeInfo *info)
{
  g_ptr_array_unref (info->types);
  g_ptr_array_unref (info->globs);
  g_ptr_array_unref (info->magic);
  g_ptr_array_unref (info->offsets);
  g_ptr_array_unref (info->parents);
  g_string_free (info->text, TRUE);
  g_free (info->comment);
}

static gboolean
array_has (GPtrArray *array, const char *text)
{
  for (guint i = 0; i < array->len; i++)
    if (g_str_equal (g_ptr_array_index (array, i), text))
      return TRUE;
  return FALSE;
}

/* A small saved project, as the window and `lamina train --save` write. */
static char *
save_project (const char *dir, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamProjectFile) file = lam_project_file_new ();
  file->spec = lam_model_spec_preset ("logistic-regression", NULL);
  g_assert_nonnull (file->spec);
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (lam_project_file_save (file, path, &error));
  g_assert_no_error (error);
  return path;
}

static void
test_desktop_file (void)
{
  g_autofree char *path = resource_path (APP_ID ".desktop");
  g_autoptr (GKeyFile) desktop = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (g_key_file_load_from_file (desktop, path, G_KEY_FILE_NONE, &error));
  g_assert_no_error (error);
  const char *group = G_KEY_FILE_DESKTOP_GROUP;

  g_autofree char *type = g_key_file_get_string (desktop, group, "Type", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (type, ==, "Application");
  g_autofree char *icon = g_key_file_get_string (desktop, group, "Icon", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (icon, ==, APP_ID);

  /* One file at a time (%f): each opens as `lamina FILE` does. */
  g_autofree char *exec = g_key_file_get_string (desktop, group, "Exec", &error);
  g_assert_no_error (error);
  g_auto (GStrv) argv = NULL;
  g_assert_true (g_shell_parse_argv (exec, NULL, &argv, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (argv), ==, 2);
  g_assert_cmpstr (argv[0], ==, "lamina");
  g_assert_cmpstr (argv[1], ==, "%f");

  gsize n = 0;
  g_auto (GStrv) types = g_key_file_get_string_list (desktop, group, "MimeType", &n, &error);
  g_assert_no_error (error);
  g_assert_true (g_strv_contains ((const char *const *) types, PROJECT_TYPE));

  /* Every type it claims is one the MIME package (or the system) declares:
   * here, the package. */
  MimeInfo info = { 0 };
  mime_info_load (&info);
  for (gsize i = 0; i < n; i++)
    g_assert_true (array_has (info.types, types[i]));
  mime_info_clear (&info);
}

static void
test_mime_package (void)
{
  MimeInfo info = { 0 };
  mime_info_load (&info);
  g_assert_cmpuint (info.types->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (info.types, 0), ==, PROJECT_TYPE);
  g_assert_nonnull (info.comment);
  g_assert_cmpstr (info.comment, ==, "Lamina project");
  g_assert_true (array_has (info.globs, "*" LAM_PROJECT_FILE_SUFFIX));
  /* Text editors still open it as the JSON it is. */
  g_assert_true (array_has (info.parents, "application/json"));

  /* The magic is the format name, quoted, within the bytes a saved
   * project starts with. */
  g_assert_cmpuint (info.magic->len, ==, 1);
  const char *value = g_ptr_array_index (info.magic, 0);
  g_assert_cmpstr (value, ==, "\"" LAM_PROJECT_FILE_FORMAT "\"");
  const char *offset = g_ptr_array_index (info.offsets, 0);
  g_auto (GStrv) range = g_strsplit (offset, ":", 2);
  g_assert_cmpstr (range[0], ==, "0");
  g_assert_nonnull (range[1]);
  guint64 end = 0;
  g_assert_true (g_ascii_string_to_unsigned (range[1], 10, 1, 4096, &end, NULL));

  g_autofree char *dir = g_dir_make_tmp ("lamina-resources-XXXXXX", NULL);
  g_assert_nonnull (dir);
  g_autofree char *path = save_project (dir, "magic.lamina");
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  const char *found = strstr (contents, value);
  g_assert_nonnull (found);
  g_assert_cmpuint ((guint64) (found - contents), <=, end);
  mime_info_clear (&info);
  lam_test_remove_tree (dir);
}

static void
test_metainfo (void)
{
  g_autofree char *path = resource_path (APP_ID ".metainfo.xml");
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_no_error (error);
  /* Well-formed, through the same parser with no callbacks. */
  static const GMarkupParser parser = { NULL, NULL, NULL, NULL, NULL };
  GMarkupParseContext *context = g_markup_parse_context_new (&parser, 0, NULL, NULL);
  gboolean ok = g_markup_parse_context_parse (context, contents, -1, &error) &&
                g_markup_parse_context_end_parse (context, &error);
  g_markup_parse_context_free (context);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_nonnull (strstr (contents, "<id>" APP_ID "</id>"));
  g_assert_nonnull (strstr (contents, "<launchable type=\"desktop-id\">" APP_ID
                                      ".desktop</launchable>"));
  g_assert_nonnull (strstr (contents, "<mediatype>" PROJECT_TYPE "</mediatype>"));
}

static void
test_content_type (void)
{
  if (mime_home == NULL) {
    g_test_skip ("update-mime-database is not installed: apt-get install shared-mime-info");
    return;
  }
  g_autofree char *dir = g_dir_make_tmp ("lamina-resources-XXXXXX", NULL);
  g_assert_nonnull (dir);
  g_autofree char *path = save_project (dir, "lesson.lamina");
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));

  /* By name, by content alone, and both. */
  g_autofree char *by_name = g_content_type_guess ("lesson.lamina", NULL, 0, NULL);
  g_assert_cmpstr (by_name, ==, PROJECT_TYPE);
  g_autofree char *by_content = g_content_type_guess (NULL, (const guchar *) contents, length,
                                                      NULL);
  g_assert_cmpstr (by_content, ==, PROJECT_TYPE);
  g_autofree char *both = g_content_type_guess (path, (const guchar *) contents, length, NULL);
  g_assert_cmpstr (both, ==, PROJECT_TYPE);
  g_assert_true (g_content_type_is_a (both, "application/json"));

  /* Other JSON stays JSON. */
  static const char other[] = "{\n  \"format\" : \"something-else\",\n  \"version\" : 1\n}\n";
  g_autofree char *json = g_content_type_guess ("other.json", (const guchar *) other,
                                                sizeof other - 1, NULL);
  g_assert_cmpstr (json, !=, PROJECT_TYPE);

  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GFileInfo) file_info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_CONTENT_TYPE,
                                                       G_FILE_QUERY_INFO_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_file_info_get_content_type (file_info), ==, PROJECT_TYPE);
  lam_test_remove_tree (dir);
}

/* The package compiled into a private XDG_DATA_HOME, before GIO reads the
 * MIME database for the first time. */
static char *
prepare_mime_home (void)
{
  g_autofree char *program = g_find_program_in_path ("update-mime-database");
  if (program == NULL)
    return NULL;
  char *home = g_dir_make_tmp ("lamina-mime-XXXXXX", NULL);
  g_assert_nonnull (home);
  g_autofree char *packages = g_build_filename (home, "mime", "packages", NULL);
  g_assert_cmpint (g_mkdir_with_parents (packages, 0700), ==, 0);
  g_autofree char *source = resource_path (APP_ID ".mime.xml");
  g_autofree char *target = g_build_filename (packages, APP_ID ".xml", NULL);
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (source, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (target, contents, (gssize) length, NULL));
  g_autofree char *mime_dir = g_build_filename (home, "mime", NULL);
  const char *argv[] = { program, mime_dir, NULL };
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("update-mime-database %s failed: %s\n%s", mime_dir, error->message, err);
  g_setenv ("XDG_DATA_HOME", home, TRUE);
  return home;
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  mime_home = prepare_mime_home ();

  g_test_add_func ("/resources/desktop-file", test_desktop_file);
  g_test_add_func ("/resources/mime-package", test_mime_package);
  g_test_add_func ("/resources/metainfo", test_metainfo);
  g_test_add_func ("/resources/content-type", test_content_type);
  int status = g_test_run ();
  if (mime_home != NULL)
    lam_test_remove_tree (mime_home);
  g_free (mime_home);
  return status;
}
