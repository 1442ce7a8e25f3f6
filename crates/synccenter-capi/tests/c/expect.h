/* expect.h: the checks of the C and C++ test programs (basic.c, callback.cpp). A failed check prints where and
 * what, with the library's message for the last failure, and counts in `failures`; the program exits non-zero
 * when any failed. */
#ifndef SYNCCENTER_TEST_EXPECT_H
#define SYNCCENTER_TEST_EXPECT_H

#include <stdio.h>

#include "synccenter.h"

static int failures = 0;

#define EXPECT(hr_expr, want)                                                                   \
  do {                                                                                          \
    sc_hresult got_ = (hr_expr);                                                                \
    if (got_ != (want)) {                                                                       \
      const char *m_ = sc_last_error_message();                                                 \
      fprintf(stderr, "%s:%d: %s = 0x%08x, want 0x%08x (%s)\n", __FILE__, __LINE__, #hr_expr,   \
              (unsigned)got_, (unsigned)(want), m_ ? m_ : "no message");                        \
      failures++;                                                                               \
    }                                                                                           \
  } while (0)

#define CHECK(cond)                                                                             \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      fprintf(stderr, "%s:%d: %s is false\n", __FILE__, __LINE__, #cond);                      \
      failures++;                                                                               \
    }                                                                                           \
  } while (0)

#endif
