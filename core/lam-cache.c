/* lam-cache.c: asking for cache lines ahead of writing them. */
#include "lam-cache.h"

#include <stdint.h>

#define CACHE_LINE 64

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__ ((target ("prfchw"))) static void
claim_lines (uintptr_t first, uintptr_t end)
{
  for (uintptr_t line = first; line < end; line += CACHE_LINE)
    __builtin_prefetch ((const void *) line, 1, 3);
}

static gboolean
have_prefetchw (void)
{
  static gsize answer = 0;
  if (g_once_init_enter (&answer))
    g_once_init_leave (&answer, __builtin_cpu_supports ("prfchw") ? 2 : 1);
  return answer == 2;
}
#endif

void
lam_cache_claim_for_writing (const void *start, gsize bytes)
{
#if defined(__x86_64__) && defined(__GNUC__)
  if (bytes == 0 || !have_prefetchw ())
    return;
  uintptr_t first = (uintptr_t) start & ~(uintptr_t) (CACHE_LINE - 1);
  claim_lines (first, (uintptr_t) start + bytes);
#endif
}
