/* basic.c: every libsynccenter call against a real daemon, run by tests/c.rs under AddressSanitizer.
 *
 *   basic SOCKET full  every call, the spec's HRESULT for bad input, the cancel descriptor and callback; the
 *                      test reads "session ID" on stdout, queues a start request for item "extra" and writes a
 *                      line to stdin; then it reads "ready", checks the daemon and stops the handler "capi",
 *                      and this program must see the descriptor become readable.
 *   basic SOCKET lost  creates a session, prints "session ID" and exits without ending it or freeing anything.
 *   basic SOCKET stop  a session of "docs" and "photos"; prints "session ID" and "ready", then waits for the item
 *                      stop the test sends with the real `synccenter stop capi docs`: the descriptor becomes
 *                      readable, the callback saw CANCEL_ITEM for "docs", "photos" may go on; prints "ended 5"
 *                      (docs canceled, photos succeeded: the session's aggregate is CANCELED).
 */
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "synccenter.h"

static atomic_int callbacks = 0;
static atomic_uint last_cancel = 0;
static atomic_int last_item_docs = 0; /* whether the last stop named the item "docs" */

static void on_cancel(void *user, uint32_t cancel, const char *item) {
  CHECK(user == (void *)&callbacks);
  atomic_store(&last_cancel, cancel);
  atomic_store(&last_item_docs, item != NULL && strcmp(item, "docs") == 0);
  atomic_fetch_add(&callbacks, 1);
}

static void bad_client_input(const char *socket) {
  sc_client *untouched = (sc_client *)&failures;
  EXPECT(sc_client_new(socket, NULL), SC_E_POINTER);
  EXPECT(sc_client_new("/nonexistent/synccenter.sock", &untouched), SC_E_FAIL);
  CHECK(untouched == (sc_client *)&failures);
  CHECK(sc_last_error_message() != NULL);
  sc_client_free(NULL);
}

static void bad_session_input(sc_client *c) {
  const char *docs[] = {"docs"};
  const char *unknown[] = {"nope"};
  const char *null_item[] = {NULL};
  sc_session *untouched = (sc_session *)&failures;
  EXPECT(sc_session_new(NULL, "capi", docs, 1, &untouched), SC_E_POINTER);
  EXPECT(sc_session_new(c, NULL, docs, 1, &untouched), SC_E_POINTER);
  EXPECT(sc_session_new(c, "capi", NULL, 1, &untouched), SC_E_POINTER);
  EXPECT(sc_session_new(c, "capi", null_item, 1, &untouched), SC_E_POINTER);
  EXPECT(sc_session_new(c, "nope", docs, 1, &untouched), SC_E_INVALIDARG);
  EXPECT(sc_session_new(c, "capi", unknown, 1, &untouched), SC_E_INVALIDARG);
  EXPECT(sc_session_new(c, "capi", docs, 0, &untouched), SC_E_INVALIDARG);
  const char *off[] = {"off"}; /* registered disabled by the test */
  EXPECT(sc_session_new(c, "capi", off, 1, &untouched), SC_E_NOT_READY);
  CHECK(untouched == (sc_session *)&failures);
}

/* QueryForAdditionalItems: the start request the test queued for "extra" with a context, taken into the session
 * (AddIUnknownToSession's resolution takes the context, AddItemToSession the item). */
static void additional(sc_session *s) {
  char **items = (char **)&failures, **contexts = (char **)&failures;
  size_t n_items = 99, n_contexts = 99;
  EXPECT(sc_session_query_additional_items(s, NULL, &n_items, NULL, NULL), SC_E_POINTER);
  EXPECT(sc_session_query_additional_items(s, &items, &n_items, &contexts, NULL), SC_E_POINTER);
  CHECK(items == (char **)&failures && n_items == 99);
  EXPECT(sc_session_query_additional_items(s, &items, &n_items, &contexts, &n_contexts), SC_S_OK);
  CHECK(n_items == 1 && strcmp(items[0], "extra") == 0);
  CHECK(n_contexts == 1 && strcmp(contexts[0], "{\"folder\":\"/srv/extra\"}") == 0);
  sc_strings_free(items, n_items);
  sc_strings_free(NULL, 0);
  if (n_contexts == 1) {
    EXPECT(sc_session_add_context(NULL, contexts[0]), SC_E_POINTER);
    EXPECT(sc_session_add_context(s, NULL), SC_E_POINTER);
    EXPECT(sc_session_add_context(s, "{not json"), SC_E_INVALIDARG);
    EXPECT(sc_session_add_context(s, "\xff"), SC_E_INVALIDARG);
    EXPECT(sc_session_add_context(s, "{\"folder\":\"/elsewhere\"}"), SC_E_INVALIDARG); /* not pending */
    EXPECT(sc_session_add_context(s, contexts[0]), SC_S_OK);
    EXPECT(sc_session_add_context(s, contexts[0]), SC_E_INVALIDARG); /* taken: no longer pending */
  }
  sc_strings_free(contexts, n_contexts);
  EXPECT(sc_session_query_additional_items(s, &items, &n_items, &contexts, &n_contexts), SC_S_OK);
  CHECK(n_items == 1 && n_contexts == 0 && contexts == NULL);
  sc_strings_free(items, n_items);
  EXPECT(sc_session_add_item(s, "extra"), SC_S_OK);
  EXPECT(sc_session_query_additional_items(s, &items, &n_items, NULL, NULL), SC_S_FALSE);
  CHECK(n_items == 0 && items == NULL);
}

/* A conflict built version by version and reported for "docs" (the test finds it in conflicts.list), one reported
 * and removed again, and the spec's answers to bad input. */
static void conflicts(sc_client *c, sc_session *s) {
  sc_conflict *k = NULL, *untouched = (sc_conflict *)&failures;
  EXPECT(sc_conflict_new(NULL, "d", SC_RA_KEEPRECENT, &untouched), SC_E_POINTER);
  EXPECT(sc_conflict_new("report.odt", "d", SC_RA_KEEPRECENT, NULL), SC_E_POINTER);
  EXPECT(sc_conflict_new("report.odt", "d", SC_RA_VALID + 1, &untouched), SC_E_INVALIDARG);
  CHECK(untouched == (sc_conflict *)&failures);
  EXPECT(sc_conflict_new("report.odt", "Changed on both sides", SC_RA_KEEP_SINGLE | SC_RA_KEEPRECENT, &k), SC_S_OK);
  if (k == NULL) return;
  uint64_t size = 1024;
  EXPECT(sc_conflict_add_version(k, "laptop", "/home/me/report.odt", SC_CIT_UPDATED, NULL, "report (laptop).odt",
                                 "2026-11-25T08:00:00Z", &size),
         SC_S_OK);
  char *id = NULL, *again = NULL, *gone = NULL, *untouched_id = (char *)&failures;
  EXPECT(sc_session_report_conflict(s, "docs", "report.odt", k, &untouched_id), SC_E_INVALIDARG); /* one version */
  EXPECT(sc_conflict_add_version(NULL, "nas", "nas:/report.odt", SC_CIT_UPDATED, NULL, NULL, NULL, NULL),
         SC_E_POINTER);
  EXPECT(sc_conflict_add_version(k, NULL, "nas:/report.odt", SC_CIT_UPDATED, NULL, NULL, NULL, NULL), SC_E_POINTER);
  EXPECT(sc_conflict_add_version(k, "nas", NULL, SC_CIT_UPDATED, NULL, NULL, NULL, NULL), SC_E_POINTER);
  EXPECT(sc_conflict_add_version(k, "nas", "nas:/report.odt", 4, NULL, NULL, NULL, NULL), SC_E_INVALIDARG);
  EXPECT(sc_conflict_add_version(k, "nas", "nas:/report.odt", SC_CIT_UPDATED | SC_CIT_DELETED, "report.odt", NULL,
                                 NULL, NULL),
         SC_S_OK);
  EXPECT(sc_session_report_conflict(NULL, "docs", "k", k, &untouched_id), SC_E_POINTER);
  EXPECT(sc_session_report_conflict(s, "docs", "k", NULL, &untouched_id), SC_E_POINTER);
  EXPECT(sc_session_report_conflict(s, "nope", "k", k, &untouched_id), SC_E_INVALIDARG);
  CHECK(untouched_id == (char *)&failures);
  EXPECT(sc_session_report_conflict(s, "docs", "report.odt", k, &id), SC_S_OK);
  EXPECT(sc_session_report_conflict(s, "docs", "report.odt", k, &again), SC_S_OK); /* the same key: updated */
  CHECK(id != NULL && again != NULL && strcmp(id, again) == 0);
  EXPECT(sc_session_report_conflict(s, NULL, NULL, k, &gone), SC_S_OK); /* a handler-level one, removed below */
  CHECK(gone != NULL && id != NULL && strcmp(gone, id) != 0);

  sc_conflict *bad_time = NULL;
  EXPECT(sc_conflict_new("notes.txt", NULL, 0, &bad_time), SC_S_OK);
  EXPECT(sc_conflict_add_version(bad_time, "a", "/a/notes.txt", SC_CIT_UPDATED, NULL, NULL, "yesterday", NULL), SC_S_OK);
  EXPECT(sc_conflict_add_version(bad_time, "b", "/b/notes.txt", SC_CIT_DELETED, NULL, NULL, NULL, NULL), SC_S_OK);
  EXPECT(sc_session_report_conflict(s, "docs", NULL, bad_time, NULL), SC_E_INVALIDARG);
  sc_conflict_free(bad_time);

  sc_conflict *many = NULL; /* more versions than the daemon takes (64) */
  EXPECT(sc_conflict_new("many.txt", NULL, SC_RA_KEEPRECENT, &many), SC_S_OK);
  for (int i = 0; i < 65; i++) {
    EXPECT(sc_conflict_add_version(many, "copy", "/copies/many.txt", SC_CIT_UPDATED, NULL, NULL, NULL, NULL), SC_S_OK);
  }
  EXPECT(sc_session_report_conflict(s, "docs", NULL, many, NULL), SC_E_OUTOFMEMORY);
  sc_conflict_free(many);

  const char *remove[] = {gone};
  const char *with_unknown[] = {gone, "00000000-0000-4000-8000-000000000000"};
  const char *null_id[] = {NULL};
  EXPECT(sc_client_remove_conflicts(c, with_unknown, 2), SC_E_INVALIDARG); /* all or none */
  EXPECT(sc_client_remove_conflicts(c, NULL, 1), SC_E_POINTER);
  EXPECT(sc_client_remove_conflicts(c, null_id, 1), SC_E_POINTER);
  EXPECT(sc_client_remove_conflicts(NULL, remove, 1), SC_E_POINTER);
  EXPECT(sc_client_remove_conflicts(c, remove, 1), SC_S_OK);
  EXPECT(sc_client_remove_conflicts(c, remove, 1), SC_E_INVALIDARG); /* gone already */
  sc_string_free(id);
  sc_string_free(again);
  sc_string_free(gone);
  sc_conflict_free(k);
  sc_conflict_free(NULL);
}

/* Progress, text, events, membership and the predicates, with the spec's answers to bad input. */
static void report(sc_session *s) {
  uint32_t cancel = 99;
  EXPECT(sc_session_report_progress(s, "docs", "copying", 1, 1, 10, &cancel), SC_S_OK);
  CHECK(cancel == 0);
  EXPECT(sc_session_report_progress(s, "photos", NULL, 2, 0, 0, NULL), SC_S_OK);
  cancel = 99;
  EXPECT(sc_session_report_progress(NULL, "docs", NULL, 1, 1, 10, &cancel), SC_E_POINTER);
  EXPECT(sc_session_report_progress(s, NULL, NULL, 1, 1, 10, &cancel), SC_E_POINTER);
  EXPECT(sc_session_report_progress(s, "nope", NULL, 1, 1, 10, &cancel), SC_E_INVALIDARG);
  EXPECT(sc_session_report_progress(s, "docs", NULL, 0, 1, 10, &cancel), SC_E_INVALIDARG);
  EXPECT(sc_session_report_progress(s, "docs", NULL, 7, 1, 10, &cancel), SC_E_INVALIDARG);
  CHECK(cancel == 99);

  EXPECT(sc_session_set_handler_progress_text(s, "scanning", &cancel), SC_S_OK);
  CHECK(cancel == 0);
  EXPECT(sc_session_set_handler_progress_text(s, NULL, NULL), SC_E_POINTER);

  char *event = NULL;
  EXPECT(sc_session_report_event(s, "docs", 2, 0, "Slow disk", "The disk is slow", "More", "https://example.org",
                                 "ctx", &event),
         SC_S_OK);
  CHECK(event != NULL && strlen(event) == 36);
  sc_string_free(event);
  sc_string_free(NULL);
  EXPECT(sc_session_report_event(s, NULL, 1, 0, "Started", "", NULL, NULL, NULL, NULL), SC_S_OK);
  char *untouched = (char *)&failures;
  EXPECT(sc_session_report_event(s, "docs", 4, 0, "n", "d", NULL, NULL, NULL, &untouched), SC_E_INVALIDARG);
  EXPECT(sc_session_report_event(s, "docs", 1, 0, NULL, "d", NULL, NULL, NULL, &untouched), SC_E_POINTER);
  EXPECT(sc_session_report_event(s, "docs", 1, 0, "n", NULL, NULL, NULL, NULL, &untouched), SC_E_POINTER);
  EXPECT(sc_session_report_event(s, "nope", 1, 0, "n", "d", NULL, NULL, NULL, &untouched), SC_E_INVALIDARG);
  CHECK(untouched == (char *)&failures);

  EXPECT(sc_session_can_continue(s, NULL), SC_S_OK);
  EXPECT(sc_session_can_continue(s, ""), SC_S_OK);
  EXPECT(sc_session_can_continue(s, "docs"), SC_S_OK);
  EXPECT(sc_session_can_continue(s, "nope"), SC_E_INVALIDARG);
  EXPECT(sc_session_can_continue(NULL, "docs"), SC_E_POINTER);

  EXPECT(sc_session_report_manual_sync(s), SC_S_OK);
  EXPECT(sc_session_report_manual_sync(NULL), SC_E_POINTER);
  EXPECT(sc_session_add_item(s, "docs"), SC_E_INVALIDARG);
  EXPECT(sc_session_add_item(s, NULL), SC_E_POINTER);
  EXPECT(sc_session_propose_item(s, "found", "Found later"), SC_S_OK);
  EXPECT(sc_session_propose_item(s, "docs", "Docs again"), SC_E_INVALIDARG);
  EXPECT(sc_session_propose_item(s, "other", NULL), SC_E_POINTER);
  EXPECT(sc_session_commit_item(s, "found"), SC_S_OK);
  EXPECT(sc_session_commit_item(s, "found"), SC_E_INVALIDARG);
  EXPECT(sc_session_commit_item(s, "never-proposed"), SC_E_INVALIDARG);
}

/* Waits (hang guard 20 s) for the stop the test sends, then reacts as the spec's owner does. */
static void stopped(sc_session *s) {
  int fd = -1;
  EXPECT(sc_session_cancel_fd(s, NULL), SC_E_POINTER);
  EXPECT(sc_session_cancel_fd(s, &fd), SC_S_OK);
  CHECK(fd >= 0);
  struct pollfd p = {.fd = fd, .events = POLLIN};
  CHECK(poll(&p, 1, 0) == 0);
  EXPECT(sc_session_set_cancel_callback(s, on_cancel, &callbacks), SC_S_OK);
  EXPECT(sc_session_set_cancel_callback(NULL, on_cancel, NULL), SC_E_POINTER);

  printf("ready\n");
  fflush(stdout);
  int n = poll(&p, 1, 20000);
  CHECK(n == 1 && (p.revents & POLLIN));
  if (n != 1) {
    fprintf(stderr, "basic.c: the cancel descriptor did not become readable\n");
    return;
  }
  CHECK(atomic_load(&callbacks) >= 1);
  CHECK(atomic_load(&last_cancel) == 2);
  EXPECT(sc_session_can_continue(s, "docs"), SC_S_FALSE);
  EXPECT(sc_session_can_continue(s, NULL), SC_S_FALSE);
  uint32_t cancel = 0;
  EXPECT(sc_session_set_handler_progress_text(s, "stopping", &cancel), SC_S_OK);
  CHECK(cancel == 2);
  cancel = 0;
  EXPECT(sc_session_report_progress(s, "docs", "stopped", 5, 1, 10, &cancel), SC_S_OK);
  CHECK(cancel == 2);
  EXPECT(sc_session_report_progress(s, "docs", NULL, 1, 2, 10, NULL), SC_E_ACCESSDENIED);
  EXPECT(sc_session_report_progress(s, "photos", NULL, 5, 0, 0, NULL), SC_S_OK);
}

static int full(const char *socket) {
  bad_client_input(socket);
  sc_client *c = NULL;
  EXPECT(sc_client_new(socket, &c), SC_S_OK);
  if (c == NULL) return 1;
  bad_session_input(c);

  const char *docs[] = {"docs"};
  EXPECT(sc_session_new(c, "capi", docs, 1, NULL), SC_S_OK); /* announced only: created and ended */

  const char *items[] = {"docs", "photos"};
  sc_session *s = NULL;
  EXPECT(sc_session_new(c, "capi", items, 2, &s), SC_S_OK);
  if (s == NULL) return 1;
  sc_session *second = NULL;
  EXPECT(sc_session_new(c, "capi", docs, 1, &second), SC_E_BUSY); /* "capi" allows one session at a time */
  CHECK(second == NULL);
  printf("session %s\n", sc_session_id(s));
  fflush(stdout);
  CHECK(sc_session_id(NULL) == NULL);

  char go[8];
  CHECK(fgets(go, sizeof go, stdin) != NULL); /* the test queued its start request */
  additional(s);
  report(s);
  conflicts(c, s);
  stopped(s);

  uint32_t status = 0;
  EXPECT(sc_session_end(s, &status), SC_S_OK);
  CHECK(status == 4); /* failed: docs was refused after its end (E_ACCESSDENIED) and marked failed */
  status = 0;
  EXPECT(sc_session_end(s, &status), SC_S_OK); /* ending again answers the same */
  CHECK(status == 4);
  EXPECT(sc_session_can_continue(s, NULL), SC_E_UNEXPECTED);
  EXPECT(sc_session_report_progress(s, "docs", NULL, 4, 0, 0, NULL), SC_E_UNEXPECTED);
  EXPECT(sc_session_add_context(s, "{}"), SC_E_UNEXPECTED);
  sc_conflict *late = NULL;
  EXPECT(sc_conflict_new("late", NULL, 0, &late), SC_S_OK);
  EXPECT(sc_session_report_conflict(s, NULL, NULL, late, NULL), SC_E_UNEXPECTED);
  sc_conflict_free(late);
  CHECK(sc_session_id(s) != NULL);
  sc_session_free(s);
  sc_session_free(NULL);
  sc_client_free(c);

  if (failures) {
    fprintf(stderr, "basic.c: %d failure(s)\n", failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}

static int lost(const char *socket) {
  sc_client *c = NULL;
  const char *docs[] = {"docs"};
  sc_session *s = NULL;
  EXPECT(sc_client_new(socket, &c), SC_S_OK);
  EXPECT(sc_session_new(c, "capi", docs, 1, &s), SC_S_OK);
  if (s == NULL) return 1;
  EXPECT(sc_session_report_progress(s, "docs", "halfway", 1, 5, 10, NULL), SC_S_OK);
  printf("session %s\n", sc_session_id(s));
  fflush(stdout);
  return failures ? 1 : 0; /* exits without sc_session_end or any _free */
}

/* An item stop from outside (the test runs `synccenter stop capi docs`), seen through the descriptor. */
static int stop_item(const char *socket) {
  sc_client *c = NULL;
  const char *items[] = {"docs", "photos"};
  sc_session *s = NULL;
  EXPECT(sc_client_new(socket, &c), SC_S_OK);
  EXPECT(sc_session_new(c, "capi", items, 2, &s), SC_S_OK);
  if (s == NULL) return 1;
  EXPECT(sc_session_set_cancel_callback(s, on_cancel, &callbacks), SC_S_OK);
  int fd = -1;
  EXPECT(sc_session_cancel_fd(s, &fd), SC_S_OK);
  EXPECT(sc_session_report_progress(s, "docs", "copying", 1, 1, 4, NULL), SC_S_OK);
  printf("session %s\nready\n", sc_session_id(s));
  fflush(stdout);
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int n = poll(&p, 1, 20000); /* hang guard: the test fails on a timeout, it does not measure */
  CHECK(n == 1 && (p.revents & POLLIN));
  CHECK(atomic_load(&callbacks) == 1);
  CHECK(atomic_load(&last_cancel) == 1); /* SYNCMGR_CR_CANCEL_ITEM */
  CHECK(atomic_load(&last_item_docs));
  EXPECT(sc_session_can_continue(s, "docs"), SC_S_FALSE);
  EXPECT(sc_session_can_continue(s, "photos"), SC_S_OK);
  EXPECT(sc_session_can_continue(s, NULL), SC_S_OK); /* an item stop is not a handler stop (rule 15) */
  uint32_t cancel = 0;
  EXPECT(sc_session_report_progress(s, "photos", NULL, 3, 4, 4, &cancel), SC_S_OK);
  CHECK(cancel == 0);
  EXPECT(sc_session_report_progress(s, "docs", "stopped", 5, 1, 4, &cancel), SC_S_OK);
  CHECK(cancel == 1);
  uint32_t status = 0;
  EXPECT(sc_session_end(s, &status), SC_S_OK);
  sc_session_free(s);
  sc_client_free(c);
  printf("ended %u\n", status);
  return failures ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: basic SOCKET full|lost|stop\n");
    return 2;
  }
  if (strcmp(argv[2], "full") == 0) return full(argv[1]);
  if (strcmp(argv[2], "lost") == 0) return lost(argv[1]);
  if (strcmp(argv[2], "stop") == 0) return stop_item(argv[1]);
  return 2;
}
