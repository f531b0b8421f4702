/* lam-test-session.h: the window tests' way to a page's session and to
 * what its buttons do (the session's actions). */
#pragma once

#include <gtk/gtk.h>

#include "lam-session.h"

/* The session a page views (borrowed: the page holds it). */
static inline LamSession *
session_of (gpointer page)
{
  LamSession *viewed = NULL;
  g_object_get (page, "session", &viewed, NULL);
  g_object_unref (viewed);
  return viewed;
}

/* What the page's buttons do: the session's action. */
static inline void
activate (gpointer page, const char *action)
{
  g_action_group_activate_action (lam_session_get_actions (session_of (page)), action, NULL);
}
