/* lam-cache.c: asking for cache lines ahead of writing them, and room on
 * large pages. */
#include "lam-cache.h"

#include <stdint.h>
#include <stdlib.h>
#ifdef __linux__
#include <sys/mman.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#define CACHE_LINE 64

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__ ((target ("prfchw"))) static void
claim_lines (uintptr_t first, uintptr_t end)
{
  for (uintptr_t line = first; line < end; line += CACHE_LINE)
    __builtin_prefetch ((const void *) line, 1, 3);
}

/* CPUID's extended leaf 1, ECX bit 8 (PRFCHW, "3dnowprefetch" in
 * /proc/cpuinfo), asked directly: clang's __builtin_cpu_supports does not
 * know the feature. */
static gboolean
cpu_has_prefetchw (void)
{
  unsigned int eax, ebx, ecx = 0, edx;
  return __get_cpuid (0x80000001u, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 8));
}

static gboolean
have_prefetchw (void)
{
  static gsize answer = 0;
  if (g_once_init_enter (&answer))
    g_once_init_leave (&answer, cpu_has_prefetchw () ? 2 : 1);
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

void
lam_cache_streamed_stores_done (void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  _mm_sfence ();
#endif
}

#define LARGE_PAGE ((gsize) 2 << 20)

void *
lam_cache_large_pages_try_alloc (gsize bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes >= LAM_CACHE_LARGE_PAGES_FROM) {
    if (bytes > G_MAXSIZE - LARGE_PAGE)
      return NULL;
    gsize rounded = (bytes + LARGE_PAGE - 1) / LARGE_PAGE * LARGE_PAGE;
    void *room = NULL;
    if (posix_memalign (&room, LARGE_PAGE, rounded) != 0)
      return NULL;
    // Only a hint: where the kernel lends no large pages, 4 KiB ones.
    madvise (room, rounded, MADV_HUGEPAGE);
    return room;
  }
#endif
  return g_try_malloc (MAX (bytes, 1));
}
