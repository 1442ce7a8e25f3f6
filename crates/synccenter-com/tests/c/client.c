/*
 * client.c: a Sync Center client written as for Windows, against syncmgr.h only: it creates
 * ISyncMgrSessionCreator with CoCreateInstance (Windows' CLSID_SyncMgrClient, or synccenter's own class),
 * announces a session, creates one, reports an event, takes in the item and context of a start request made
 * meanwhile (QueryForAdditionalItems, AddItemToSession, AddIUnknownToSession), reports progress until
 * ReportProgress answers SYNCMGR_CR_CANCEL_ITEM, acknowledges with SYNCMGR_PS_CANCELED and releases the
 * callback, which ends the session. tests/wine.rs runs it under Wine against a real daemon and paces it: the
 * first line on stdin says the start request was made, each further line is one more progress report. Every
 * step prints one line for the test to read.
 *
 * `client exports DLL` loads the DLL itself and checks DllGetClassObject and DllCanUnloadNow without the registry.
 *
 * usage: client session|probe own|syncmgr sta|mta [HANDLER ITEM EXTRA-ITEM]
 *        client exports DLL
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

/* `s` (UTF-8) as UTF-16 in `w`, which holds MAX_SYNCMGR_ID units; "" when it does not fit. */
static WCHAR *widen(const char *s, WCHAR *w)
{
    if (!MultiByteToWideChar(CP_UTF8, 0, s, -1, w, MAX_SYNCMGR_ID)) w[0] = 0;
    return w;
}

static int wait_line(void)
{
    char line[64];
    return fgets(line, sizeof line, stdin) != NULL;
}

/* The pending start request's item and context, taken into the session; then nothing is pending. */
static void take_pending(ISyncMgrSyncCallback *cb)
{
    IEnumString *ids = NULL;
    IEnumUnknown *contexts = NULL;
    HRESULT hr = ISyncMgrSyncCallback_QueryForAdditionalItems(cb, &ids, &contexts);
    LPWSTR id = NULL;
    ULONG fetched = 0;
    char text[MAX_SYNCMGR_ID] = "";
    if (ids && IEnumString_Next(ids, 1, &id, &fetched) == S_OK) {
        WideCharToMultiByte(CP_UTF8, 0, id, -1, text, sizeof text, NULL, NULL);
        say("add item 0x%08lx", hex(ISyncMgrSyncCallback_AddItemToSession(cb, id)));
        CoTaskMemFree(id);
    }
    say("pending 0x%08lx %s, more %lu", hex(hr), text, hex(ids ? IEnumString_Next(ids, 1, &id, &fetched) : E_POINTER));
    IUnknown *context = NULL;
    if (contexts && IEnumUnknown_Next(contexts, 1, &context, NULL) == S_OK) {
        say("add context 0x%08lx", hex(ISyncMgrSyncCallback_AddIUnknownToSession(cb, context)));
        IUnknown_Release(context);
    }
    if (ids) IEnumString_Release(ids);
    if (contexts) IEnumUnknown_Release(contexts);
    ids = (IEnumString *)cb; /* not NULL: the method must set it to NULL */
    hr = ISyncMgrSyncCallback_QueryForAdditionalItems(cb, &ids, NULL);
    say("pending 0x%08lx %s", hex(hr), ids ? "enumerator" : "null");
    say("add unknown 0x%08lx", hex(ISyncMgrSyncCallback_AddIUnknownToSession(cb, (IUnknown *)cb)));
}

/* The extra item: succeeded, then refused a report after its final status. */
static void finish_extra(ISyncMgrSyncCallback *cb, LPCWSTR extra)
{
    say("extra succeeded 0x%08lx",
        hex(ISyncMgrSyncCallback_ReportProgress(cb, extra, L"done", SYNCMGR_PS_SUCCEEDED, 1, 1, NULL)));
    say("extra after final 0x%08lx",
        hex(ISyncMgrSyncCallback_ReportProgress(cb, extra, NULL, SYNCMGR_PS_UPDATING, 1, 1, NULL)));
}

static int report_until_cancelled(ISyncMgrSyncCallback *cb, LPCWSTR item, ULONG *step)
{
    SYNCMGR_CANCEL_REQUEST cancel = SYNCMGR_CR_NONE;
    while (cancel != SYNCMGR_CR_CANCEL_ITEM) {
        if (!wait_line()) return 0;
        ++*step;
        HRESULT hr =
            ISyncMgrSyncCallback_ReportProgress(cb, item, L"copying", SYNCMGR_PS_UPDATING, *step, 100, &cancel);
        if (FAILED(hr)) {
            say("progress failed 0x%08lx", hex(hr));
            return 0;
        }
        say("progress accepted %u", (unsigned)cancel);
    }
    say("cancel seen %u", (unsigned)cancel);
    return 1;
}

static int session(ISyncMgrSessionCreator *creator, char **args)
{
    WCHAR ids[3][MAX_SYNCMGR_ID];
    WCHAR *handler = widen(args[0], ids[0]), *item = widen(args[1], ids[1]), *extra = widen(args[2], ids[2]);
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
    SYNCMGR_CANCEL_REQUEST cancel = SYNCMGR_CR_CANCEL_ALL;
    hr = ISyncMgrSyncCallback_SetHandlerProgressText(cb, L"copying", &cancel);
    say("handler text 0x%08lx %u", hex(hr), (unsigned)cancel);
    say("manual 0x%08lx", hex(ISyncMgrSyncCallback_ReportManualSync(cb)));
    if (!wait_line()) return 0;
    take_pending(cb);
    finish_extra(cb, extra);
    if (!report_until_cancelled(cb, item, &step)) return 0;
    say("can continue 0x%08lx", hex(ISyncMgrSyncCallback_CanContinue(cb, item)));
    /* A refused call still says which stop is in force. */
    cancel = (SYNCMGR_CANCEL_REQUEST)99;
    hr = ISyncMgrSyncCallback_ReportProgress(cb, item, NULL, (SYNCMGR_PROGRESS_STATUS)0, 0, 1, &cancel);
    say("bad status after the stop 0x%08lx %u", hex(hr), (unsigned)cancel);
    cancel = (SYNCMGR_CANCEL_REQUEST)99;
    hr = ISyncMgrSyncCallback_SetHandlerProgressText(cb, NULL, &cancel);
    say("null text 0x%08lx %u", hex(hr), (unsigned)cancel);
    say("canceled 0x%08lx",
        hex(ISyncMgrSyncCallback_ReportProgress(cb, item, L"", SYNCMGR_PS_CANCELED, step, 100, NULL)));
    ISyncMgrSyncCallback_Release(cb);
    say("released");
    return 1;
}

typedef HRESULT(STDAPICALLTYPE *GetClassObject)(REFCLSID, REFIID, void **);
typedef HRESULT(STDAPICALLTYPE *CanUnloadNow)(void);

/* The DLL's exports as COM calls them: a factory for both classes, none for another, and unloading refused while
   an object of the DLL lives. */
static int exports(const char *path)
{
    HMODULE dll = LoadLibraryA(path);
    if (!dll) return 0;
    GetClassObject get = (GetClassObject)(void (*)(void))GetProcAddress(dll, "DllGetClassObject");
    CanUnloadNow can_unload = (CanUnloadNow)(void (*)(void))GetProcAddress(dll, "DllCanUnloadNow");
    if (!get || !can_unload) return 0;
    IClassFactory *factory = NULL;
    say("other class 0x%08lx", hex(get(&IID_ISyncMgrSessionCreator, &IID_IClassFactory, (void **)&factory)));
    say("syncmgr class 0x%08lx", hex(get(&CLSID_SyncMgrClient, &IID_IClassFactory, (void **)&factory)));
    if (factory) IClassFactory_Release(factory);
    say("own class 0x%08lx", hex(get(&CLSID_SynccenterSessionCreator, &IID_IClassFactory, (void **)&factory)));
    say("unload with a factory 0x%08lx", hex(can_unload()));
    ISyncMgrSessionCreator *creator = NULL;
    HRESULT hr = IClassFactory_CreateInstance(factory, NULL, &IID_ISyncMgrSessionCreator, (void **)&creator);
    say("instance 0x%08lx", hex(hr));
    IUnknown *outer = (IUnknown *)factory, *aggregated = NULL;
    say("aggregation 0x%08lx", hex(IClassFactory_CreateInstance(factory, outer, &IID_IUnknown, (void **)&aggregated)));
    IClassFactory_Release(factory);
    say("unload with a creator 0x%08lx", hex(can_unload()));
    if (creator) ISyncMgrSessionCreator_Release(creator);
    say("unload 0x%08lx", hex(can_unload()));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "exports") == 0) {
        int ok = exports(argv[2]);
        say("done");
        return ok ? 0 : 1;
    }
    if (argc < 4 || (strcmp(argv[1], "session") == 0 && argc < 7)) {
        fprintf(stderr, "usage: client session|probe own|syncmgr sta|mta [HANDLER ITEM EXTRA-ITEM]\n");
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
    if (strcmp(argv[1], "session") == 0) ok = SUCCEEDED(hr) && session(creator, argv + 4);
    if (creator) ISyncMgrSessionCreator_Release(creator);
    CoUninitialize();
    say("done");
    return ok ? 0 : 1;
}
