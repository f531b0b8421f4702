/* lamina bench: times the standard workloads. */
#include <stdio.h>

#include "lam-cli.h"

int
lam_cli_bench (int argc, char **argv)
{
  g_printerr ("lamina bench: not available in this build yet\n");
  return LAM_EXIT_FAILED;
}
