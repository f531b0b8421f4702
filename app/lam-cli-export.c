/* lamina export: being written. */
#include "lam-cli.h"

int
lam_cli_export (int argc, char **argv)
{
  g_printerr ("lamina export: not available in this build yet\n");
  return LAM_EXIT_FAILED;
}
