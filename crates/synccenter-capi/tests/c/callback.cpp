/* callback.cpp: synccenter.hpp, the COM-shaped C++ header, against a real daemon; run by tests/c.rs under
 * AddressSanitizer.
 *
 *   callback SOCKET  prints "session ID"; reads a line once the test queued a start request for "extra" with a
 *                    context; uses every method and answers bad input with the spec's HRESULTs; prints "ready"
 *                    and waits (hang guard 20 s) on the cancel descriptor for the handler stop the test sends;
 *                    cancels every item, lets ComPtr release the callback (which ends the session), prints
 *                    "released", and exits after one more line on stdin (so the test sees the end come from the
 *                    release, not from the connection closing).
 */
#include <poll.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "expect.h"
#include "synccenter.hpp"

using namespace synccenter;

static bool wait_for_line() {
  char line[16];
  return std::fgets(line, sizeof line, stdin) != nullptr;
}

static void creation(const char *socket, ISyncMgrSessionCreator *creator) {
  EXPECT(CreateSyncMgrSessionCreator(socket, nullptr), E_POINTER);
  ISyncMgrSessionCreator *untouched = creator;
  EXPECT(CreateSyncMgrSessionCreator("/nonexistent/synccenter.sock", &untouched), E_FAIL);
  CHECK(untouched == creator);

  const char *docs[] = {"docs"};
  EXPECT(creator->CreateSession("capi", docs, 1, nullptr), S_OK); /* announced only */
  ISyncMgrSyncCallback *none = nullptr;
  EXPECT(creator->CreateSession(nullptr, docs, 1, &none), E_POINTER);
  EXPECT(creator->CreateSession("nope", docs, 1, &none), E_INVALIDARG);
  EXPECT(creator->CreateSession("capi", docs, 0, &none), E_INVALIDARG);
  CHECK(none == nullptr);
}

/* QueryForAdditionalItems, AddIUnknownToSession, AddItemToSession on the request the test queued. */
static void additional(ISyncMgrSyncCallback *cb) {
  std::vector<std::string> ids, punks;
  EXPECT(cb->QueryForAdditionalItems(&ids, &punks), S_OK);
  CHECK(ids.size() == 1 && ids[0] == "extra");
  CHECK(punks.size() == 1 && punks[0] == "{\"folder\":\"/srv/extra\"}");
  if (punks.size() == 1) {
    EXPECT(cb->AddIUnknownToSession(punks[0].c_str()), S_OK);
    EXPECT(cb->AddIUnknownToSession(punks[0].c_str()), E_INVALIDARG); /* no longer pending */
  }
  EXPECT(cb->AddIUnknownToSession(nullptr), E_POINTER);
  EXPECT(cb->AddItemToSession("extra"), S_OK);
  EXPECT(cb->AddItemToSession("extra"), E_INVALIDARG);
  EXPECT(cb->QueryForAdditionalItems(&ids, nullptr), S_FALSE);
  CHECK(ids.empty());
}

static void report(ISyncMgrSyncCallback *cb) {
  SYNCMGR_CANCEL_REQUEST cancel = SYNCMGR_CR_MAX;
  EXPECT(cb->ReportProgress("docs", "copying", SYNCMGR_PS_UPDATING, 1, 10, &cancel), S_OK);
  CHECK(cancel == SYNCMGR_CR_NONE);
  cancel = SYNCMGR_CR_MAX;
  EXPECT(cb->ReportProgress("docs", nullptr, static_cast<SYNCMGR_PROGRESS_STATUS>(7), 1, 10, &cancel), E_INVALIDARG);
  EXPECT(cb->ReportProgress("nope", nullptr, SYNCMGR_PS_UPDATING, 1, 10, &cancel), E_INVALIDARG);
  CHECK(cancel == SYNCMGR_CR_MAX);
  EXPECT(cb->SetHandlerProgressText("scanning", &cancel), S_OK);
  CHECK(cancel == SYNCMGR_CR_NONE);
  EXPECT(cb->SetHandlerProgressText(nullptr, nullptr), E_POINTER);

  std::string event = "untouched";
  EXPECT(cb->ReportEvent("docs", SYNCMGR_EL_WARNING, SYNCMGR_EF_NONE, "Slow disk", "The disk is slow", nullptr,
                         nullptr, nullptr, &event),
         S_OK);
  CHECK(event.size() == 36);
  std::string kept = event;
  EXPECT(cb->ReportEvent("docs", static_cast<SYNCMGR_EVENT_LEVEL>(4), SYNCMGR_EF_NONE, "n", "d", nullptr, nullptr,
                         nullptr, &event),
         E_INVALIDARG);
  CHECK(event == kept);

  EXPECT(cb->CanContinue("docs"), S_OK);
  EXPECT(cb->CanContinue("nope"), E_INVALIDARG);
  EXPECT(cb->ProposeItem("found", "Found later"), S_OK);
  EXPECT(cb->ProposeItem("docs", "Docs again"), E_INVALIDARG);
  EXPECT(cb->CommitItem("found"), S_OK);
  EXPECT(cb->CommitItem("never-proposed"), E_INVALIDARG);
  EXPECT(cb->ReportManualSync(), S_OK);
}

static void conflicts(ISyncMgrSessionCreator *creator, ISyncMgrSyncCallback *cb) {
  SyncMgrConflict conflict;
  EXPECT(conflict.AddVersion("laptop", "/l", SYNCMGR_CIT_UPDATED, nullptr, nullptr, nullptr, nullptr), E_UNEXPECTED);
  EXPECT(conflict.Init(nullptr, nullptr, SYNCMGR_RA_KEEPRECENT), E_POINTER);
  EXPECT(conflict.Init("report.odt", "Changed", SYNCMGR_RA_VALID + 1), E_INVALIDARG);
  EXPECT(conflict.Init("report.odt", "Changed on both sides", SYNCMGR_RA_KEEP_SINGLE | SYNCMGR_RA_KEEPRECENT), S_OK);
  uint64_t size = 2048;
  EXPECT(conflict.AddVersion("laptop", "/home/me/report.odt", SYNCMGR_CIT_UPDATED, nullptr, nullptr,
                             "2026-11-25T08:00:00Z", &size),
         S_OK);
  std::string id = "untouched";
  EXPECT(cb->ReportConflict("docs", "report.odt", conflict, &id), E_INVALIDARG); /* one version */
  CHECK(id == "untouched");
  EXPECT(conflict.AddVersion("nas", "nas:/report.odt", SYNCMGR_CIT_DELETED, nullptr, nullptr, nullptr, nullptr), S_OK);
  EXPECT(cb->ReportConflict("docs", "report.odt", conflict, &id), S_OK);
  CHECK(id.size() == 36);
  std::string gone;
  EXPECT(cb->ReportConflict(nullptr, nullptr, conflict, &gone), S_OK);
  const char *remove[] = {gone.c_str()};
  EXPECT(creator->RemoveConflicts(remove, 1), S_OK);
  EXPECT(creator->RemoveConflicts(remove, 1), E_INVALIDARG);
  EXPECT(creator->RemoveConflicts(nullptr, 1), E_POINTER);
  SyncMgrConflict moved = std::move(conflict);
  EXPECT(conflict.AddVersion("a", "/a", SYNCMGR_CIT_UPDATED, nullptr, nullptr, nullptr, nullptr), E_UNEXPECTED);
  EXPECT(moved.AddVersion("a", "/a", SYNCMGR_CIT_UPDATED, nullptr, nullptr, nullptr, nullptr), S_OK);
}

/* Waits for the handler stop, then cancels every member as the spec's owner does. */
static void stopped(ISyncMgrSyncCallback *cb) {
  int fd = -1;
  EXPECT(cb->GetCancelDescriptor(&fd), S_OK);
  std::printf("ready\n");
  std::fflush(stdout);
  struct pollfd p = {fd, POLLIN, 0};
  int n = poll(&p, 1, 20000); /* hang guard: the test fails on a timeout, it does not measure */
  CHECK(n == 1 && (p.revents & POLLIN));
  EXPECT(cb->CanContinue(nullptr), S_FALSE);
  for (const char *item : {"docs", "photos", "extra", "found"}) {
    SYNCMGR_CANCEL_REQUEST cancel = SYNCMGR_CR_NONE;
    EXPECT(cb->ReportProgress(item, "", SYNCMGR_PS_CANCELED, 0, 0, &cancel), S_OK);
    CHECK(cancel == SYNCMGR_CR_CANCEL_ALL);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: callback SOCKET\n");
    return 2;
  }
  ComPtr<ISyncMgrSessionCreator> creator;
  EXPECT(CreateSyncMgrSessionCreator(argv[1], &creator), S_OK);
  if (!creator) return 1;
  creation(argv[1], creator.Get());
  {
    const char *items[] = {"docs", "photos"};
    ComPtr<ISyncMgrSyncCallback> cb;
    EXPECT(creator->CreateSession("capi", items, 2, &cb), S_OK);
    if (!cb) return 1;
    ComPtr<ISyncMgrSyncCallback> second;
    EXPECT(creator->CreateSession("capi", items, 1, &second), SC_E_BUSY); /* one session at a time */
    CHECK(!second);
    ComPtr<ISyncMgrSyncCallback> shared = cb; /* AddRef: the session lives until both are released */
    std::printf("session %s\n", cb->GetSessionID());
    std::fflush(stdout);
    CHECK(wait_for_line()); /* the test queued its start request */
    additional(cb.Get());
    report(cb.Get());
    conflicts(creator.Get(), cb.Get());
    stopped(cb.Get());
    CHECK(cb.Reset() == 1);
    EXPECT(shared->CanContinue(nullptr), S_FALSE); /* still live: one reference is left */
  } /* the last reference goes: the session ends */
  std::printf("released\n");
  std::fflush(stdout);
  CHECK(wait_for_line());
  if (failures != 0) {
    std::fprintf(stderr, "callback.cpp: %d failure(s)\n", failures);
    return 1;
  }
  return 0;
}
