/*
 * client.c: a Sync Center client written as for Windows, against syncmgr.h only: it creates
 * ISyncMgrSessionCreator with CoCreateInstance (Windows' CLSID_SyncMgrClient, or synccenter's own class),
 * announces a session, creates one, reports an event and progress until ReportProgress answers
 * SYNCMGR_CR_CANCEL_ITEM, acknowledges with SYNCMGR_PS_CANCELED and releases the callback, which ends the
 * session. tests/wine.rs runs it under Wine against a real daemon and paces it: each line on stdin is one more
 * progress report. Every step prints one line for the test to read.
 *
 * usage: client session|probe own|syncmgr sta|mta [HANDLER ITEM]
 */

#define COBJMACROS
#include <initguid.h>
#include <windows.h>
#include <objbase.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "syncmgr.h"

static void say(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    putchar('\n');
    fflush(stdout);
}

static unsigned long hex(HRESULT hr)
{
    return (unsigned long)hr;
}

static WCHAR *wide(const char *s)
{
    static WCHAR buffers[2][MAX_SYNCMGR_ID];
    static int next;
    WCHAR *w = buffers[next++ % 2];
    if (!MultiByteToWideChar(CP_UTF8, 0, s, -1, w, MAX_SYNCMGR_ID)) w[0] = 0;
    return w;
}

static int report_until_cancelled(ISyncMgrSyncCallback *cb, LPCWSTR item, ULONG *step)
{
    SYNCMGR_CANCEL_REQUEST cancel = SYNCMGR_CR_NONE;
    char line[64];
    while (cancel != SYNCMGR_CR_CANCEL_ITEM) {
        if (!fgets(line, sizeof line, stdin)) return 0;
        ++*step;
        HRESULT hr = ISyncMgrSyncCallback_ReportProgress(cb, item, L"copying", SYNCMGR_PS_UPDATING, *step, 100, &cancel);
        if (FAILED(hr)) {
            say("progress failed 0x%08lx", hex(hr));
            return 0;
        }
        say("progress accepted %u", (unsigned)cancel);
    }
    say("cancel seen %u", (unsigned)cancel);
    return 1;
}

static int session(ISyncMgrSessionCreator *creator, const char *handler_arg, const char *item_arg)
{
    WCHAR *handler = wide(handler_arg), *item = wide(item_arg);
    LPCWSTR items[1] = {item};
    ISyncMgrSyncCallback *cb = NULL;
    ULONG step = 0;
    GUID event;

    say("announce 0x%08lx", hex(ISyncMgrSessionCreator_CreateSession(creator, handler, items, 1, NULL)));
    HRESULT hr = ISyncMgrSessionCreator_CreateSession(creator, handler, items, 1, &cb);
    if (FAILED(hr)) {
        say("create failed 0x%08lx", hex(hr));
        return 0;
    }
    say("session created");
    say("null item 0x%08lx", hex(ISyncMgrSyncCallback_ReportProgress(cb, NULL, NULL, SYNCMGR_PS_UPDATING, 0, 1, NULL)));
    say("bad status 0x%08lx",
        hex(ISyncMgrSyncCallback_ReportProgress(cb, item, NULL, (SYNCMGR_PROGRESS_STATUS)0, 0, 1, NULL)));
    hr = ISyncMgrSyncCallback_ReportEvent(cb, item, SYNCMGR_EL_WARNING, SYNCMGR_EF_NONE, L"Skipped a file",
                                          L"report.odt is in use", NULL, NULL, NULL, &event);
    say("event 0x%08lx %08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", hex(hr), (unsigned long)event.Data1,
        event.Data2, event.Data3, event.Data4[0], event.Data4[1], event.Data4[2], event.Data4[3], event.Data4[4],
        event.Data4[5], event.Data4[6], event.Data4[7]);
    say("can continue 0x%08lx", hex(ISyncMgrSyncCallback_CanContinue(cb, item)));
    if (!report_until_cancelled(cb, item, &step)) return 0;
    say("can continue 0x%08lx", hex(ISyncMgrSyncCallback_CanContinue(cb, item)));
    say("canceled 0x%08lx",
        hex(ISyncMgrSyncCallback_ReportProgress(cb, item, L"", SYNCMGR_PS_CANCELED, step, 100, NULL)));
    ISyncMgrSyncCallback_Release(cb);
    say("released");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "session") == 0 && argc < 6)) {
        fprintf(stderr, "usage: client session|probe own|syncmgr sta|mta [HANDLER ITEM]\n");
        return 2;
    }
    const CLSID *clsid = strcmp(argv[2], "syncmgr") == 0 ? &CLSID_SyncMgrClient : &CLSID_SynccenterSessionCreator;
    DWORD model = strcmp(argv[3], "mta") == 0 ? COINIT_MULTITHREADED : COINIT_APARTMENTTHREADED;
    HRESULT hr = CoInitializeEx(NULL, model);
    if (FAILED(hr)) {
        say("coinit 0x%08lx", hex(hr));
        return 3;
    }
    ISyncMgrSessionCreator *creator = NULL;
    hr = CoCreateInstance(clsid, NULL, CLSCTX_SERVER, &IID_ISyncMgrSessionCreator, (void **)&creator);
    say("cocreate 0x%08lx", hex(hr));
    int ok = 1;
    if (strcmp(argv[1], "session") == 0) ok = SUCCEEDED(hr) && session(creator, argv[4], argv[5]);
    if (creator) ISyncMgrSessionCreator_Release(creator);
    CoUninitialize();
    say("done");
    return ok ? 0 : 1;
}
