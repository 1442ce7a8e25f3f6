/* link.c: the Windows build of libsynccenter as a mingw program links it (the import library
 * libsynccenter.dll.a, or the static library) and loads synccenter.dll; scripts/check-capi-windows.sh builds it
 * and runs it under Wine. No daemon is needed: the calls below answer without one (no daemon: SC_E_FAIL with a
 * message; bad input: the spec's HRESULTs; a conflict is built locally; Windows has no cancel descriptor:
 * SC_E_NOTIMPL). Prints "ok" when every check holds. */
#include <stdio.h>

#include "synccenter.h"

static int failures = 0;

#define EXPECT(hr_expr, want)                                                                   \
  do {                                                                                          \
    sc_hresult got_ = (hr_expr);                                                                \
    if (got_ != (want)) {                                                                       \
      fprintf(stderr, "link.c:%d: %s = 0x%08x, want 0x%08x\n", __LINE__, #hr_expr,              \
              (unsigned)got_, (unsigned)(want));                                                \
      failures++;                                                                               \
    }                                                                                           \
  } while (0)

int main(void) {
  sc_client *client = NULL;
  EXPECT(sc_client_new("\\\\.\\pipe\\synccenter-nobody-listens-here", &client), SC_E_FAIL);
  if (client != NULL || sc_last_error_message() == NULL) failures++;
  EXPECT(sc_client_new(NULL, NULL), SC_E_POINTER);
  const char *items[] = {"docs"};
  EXPECT(sc_session_new(NULL, "backup", items, 1, NULL), SC_E_POINTER);
  EXPECT(sc_session_report_progress(NULL, "docs", NULL, 1, 0, 1, NULL), SC_E_POINTER);
  int fd = -1;
  EXPECT(sc_session_cancel_fd(NULL, &fd), SC_E_POINTER);

  sc_conflict *conflict = NULL;
  EXPECT(sc_conflict_new("report.odt", NULL, SC_RA_KEEPRECENT, &conflict), SC_S_OK);
  unsigned long long size = 1;
  EXPECT(sc_conflict_add_version(conflict, "a", "C:\\a\\report.odt", SC_CIT_UPDATED, NULL, NULL, NULL, &size), SC_S_OK);
  EXPECT(sc_conflict_add_version(conflict, "b", "C:\\b\\report.odt", 4, NULL, NULL, NULL, NULL), SC_E_INVALIDARG);
  EXPECT(sc_session_report_conflict(NULL, NULL, NULL, conflict, NULL), SC_E_POINTER);
  sc_conflict_free(conflict);
  sc_string_free(NULL);

  if (failures != 0) {
    fprintf(stderr, "link.c: %d failure(s)\n", failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}
