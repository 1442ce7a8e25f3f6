/* synccenter.hpp: libsynccenter shaped like Windows Sync Center's COM interfaces, for ports of Windows code
 * (docs/c-api.md, "C++: the COM-shaped header"). Header-only, C++17, over the C functions of synccenter.h.
 *
 * ISyncMgrSessionCreator and ISyncMgrSyncCallback have the methods of the spec (syncmgr-spec.md §2.1, §2.2) in
 * their order and with their arguments in order; strings are UTF-8 `const char *` instead of LPCWSTR, results are
 * HRESULTs with the spec's numbers, the SYNCMGR_* enumerations have the values of §3.1 and §3.4. The objects
 * are reference-counted like COM objects (AddRef, Release; ComPtr releases for you): the last Release of a
 * session callback ends the session (sc_session_end) and frees it, the last Release of the creator frees the
 * connection. What COM passes as objects is plain data here: a start request's context (IUnknown) is a JSON
 * text, an event ID (GUID) a UUID string, a proposed item (ISyncMgrSyncItem) its ID and name.
 *
 * Nothing here throws: allocation failures answer E_OUTOFMEMORY; out-parameters are written only on success.
 * On Windows, include <windows.h> first: its HRESULT, S_OK, FAILED, … are then used as they are. */
#ifndef SYNCCENTER_HPP
#define SYNCCENTER_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "synccenter.h"

namespace synccenter {

#if defined(_HRESULT_DEFINED)
using HRESULT = ::HRESULT; /* Windows' own, when its headers came first */
#else
using HRESULT = sc_hresult;
#endif

/* The spec's result names (§0.1); Windows' headers define them as macros with the same values. */
#ifndef S_OK
constexpr HRESULT S_OK = SC_S_OK;
constexpr HRESULT S_FALSE = SC_S_FALSE;
constexpr HRESULT E_NOTIMPL = SC_E_NOTIMPL;
constexpr HRESULT E_INVALIDARG = SC_E_INVALIDARG;
constexpr HRESULT E_ACCESSDENIED = SC_E_ACCESSDENIED;
constexpr HRESULT E_FAIL = SC_E_FAIL;
constexpr HRESULT E_OUTOFMEMORY = SC_E_OUTOFMEMORY;
constexpr HRESULT E_UNEXPECTED = SC_E_UNEXPECTED;
constexpr HRESULT E_POINTER = SC_E_POINTER;
#endif
#ifndef FAILED
constexpr bool FAILED(HRESULT hr) { return hr < 0; }
constexpr bool SUCCEEDED(HRESULT hr) { return hr >= 0; }
#endif

/* §3.1.1 */
enum SYNCMGR_CANCEL_REQUEST : uint32_t {
  SYNCMGR_CR_NONE = 0,
  SYNCMGR_CR_CANCEL_ITEM = 1,
  SYNCMGR_CR_CANCEL_ALL = 2,
  SYNCMGR_CR_MAX = 2,
};

/* §3.1.2 */
enum SYNCMGR_PROGRESS_STATUS : uint32_t {
  SYNCMGR_PS_UPDATING = 1,
  SYNCMGR_PS_UPDATING_INDETERMINATE = 2,
  SYNCMGR_PS_SUCCEEDED = 3,
  SYNCMGR_PS_FAILED = 4,
  SYNCMGR_PS_CANCELED = 5,
  SYNCMGR_PS_DISCONNECTED = 6,
  SYNCMGR_PS_MAX = 6,
};

/* §3.1.3 */
enum SYNCMGR_EVENT_LEVEL : uint32_t {
  SYNCMGR_EL_INFORMATION = 1,
  SYNCMGR_EL_WARNING = 2,
  SYNCMGR_EL_ERROR = 3,
  SYNCMGR_EL_MAX = 3,
};

/* §3.1.4 */
enum SYNCMGR_EVENT_FLAGS : uint32_t {
  SYNCMGR_EF_NONE = 0,
  SYNCMGR_EF_VALID = 0,
};

/* §3.4.1 */
enum SYNCMGR_CONFLICT_ITEM_TYPE : uint32_t {
  SYNCMGR_CIT_UPDATED = SC_CIT_UPDATED,
  SYNCMGR_CIT_DELETED = SC_CIT_DELETED,
};
using SYNCMGR_CONFLICT_ITEM_TYPE_FLAG = uint32_t;

/* §3.4.2 */
enum SYNCMGR_RESOLUTION_ABILITIES : uint32_t {
  SYNCMGR_RA_KEEPOTHER = SC_RA_KEEPOTHER,
  SYNCMGR_RA_KEEPRECENT = SC_RA_KEEPRECENT,
  SYNCMGR_RA_REMOVEFROMSYNCSET = SC_RA_REMOVEFROMSYNCSET,
  SYNCMGR_RA_KEEP_SINGLE = SC_RA_KEEP_SINGLE,
  SYNCMGR_RA_KEEP_MULTIPLE = SC_RA_KEEP_MULTIPLE,
  SYNCMGR_RA_VALID = SC_RA_VALID,
};
using SYNCMGR_RESOLUTION_ABILITIES_FLAGS = uint32_t;

namespace detail {

/* A string the library returned, moved into a std::string and freed. */
inline HRESULT take(char *s, std::string *out) {
  HRESULT hr = S_OK;
  try {
    if (out != nullptr) *out = s;
  } catch (const std::bad_alloc &) {
    hr = E_OUTOFMEMORY;
  }
  sc_string_free(s);
  return hr;
}

/* An array the library returned, copied into a vector (written only when every copy succeeded) and freed. */
inline HRESULT take_all(char **array, size_t n, std::vector<std::string> *out) {
  HRESULT hr = S_OK;
  try {
    if (out != nullptr) {
      std::vector<std::string> copy(array, array + n);
      *out = std::move(copy);
    }
  } catch (const std::bad_alloc &) {
    hr = E_OUTOFMEMORY;
  }
  sc_strings_free(array, n);
  return hr;
}

/* The COM reference count of the objects below: the last Release deletes the object (its destructor ends or
 * frees what it wraps). */
template <typename T>
class RefCounted {
 public:
  RefCounted() = default;
  RefCounted(const RefCounted &) = delete;
  RefCounted &operator=(const RefCounted &) = delete;

  uint32_t AddRef() { return refs_.fetch_add(1, std::memory_order_relaxed) + 1; }
  uint32_t Release() {
    uint32_t left = refs_.fetch_sub(1, std::memory_order_acq_rel) - 1;
    if (left == 0) delete static_cast<T *>(this);
    return left;
  }

 protected:
  ~RefCounted() = default;

 private:
  std::atomic<uint32_t> refs_{1};
};

}  // namespace detail

/* A conflict to report (§2.18: the versions of CONFIRM_CONFLICT_ITEM, the abilities of
 * ISyncMgrResolutionHandler::QueryAbilities). Owns its sc_conflict; movable, not copyable. */
class SyncMgrConflict {
 public:
  SyncMgrConflict() = default;
  SyncMgrConflict(const SyncMgrConflict &) = delete;
  SyncMgrConflict &operator=(const SyncMgrConflict &) = delete;
  SyncMgrConflict(SyncMgrConflict &&other) noexcept : conflict_(std::exchange(other.conflict_, nullptr)) {}
  SyncMgrConflict &operator=(SyncMgrConflict &&other) noexcept {
    std::swap(conflict_, other.conflict_);
    return *this;
  }
  ~SyncMgrConflict() { sc_conflict_free(conflict_); }

  /* Starts the description over: name (required), description (may be NULL), abilities (SYNCMGR_RA_*). */
  HRESULT Init(const char *pszName, const char *pszDescription, SYNCMGR_RESOLUTION_ABILITIES_FLAGS dwAbilities) {
    sc_conflict *fresh = nullptr;
    HRESULT hr = sc_conflict_new(pszName, pszDescription, dwAbilities, &fresh);
    if (SUCCEEDED(hr)) sc_conflict_free(std::exchange(conflict_, fresh));
    return hr;
  }

  /* One version; E_UNEXPECTED before Init. `modified` is RFC 3339 or NULL, `pullSize` NULL when unknown. */
  HRESULT AddVersion(const char *pszLocationShort, const char *pszLocationFull, SYNCMGR_CONFLICT_ITEM_TYPE_FLAG nType,
                     const char *pszOriginalName, const char *pszAlternateName, const char *pszModified,
                     const uint64_t *pullSize) {
    if (conflict_ == nullptr) return E_UNEXPECTED;
    return sc_conflict_add_version(conflict_, pszLocationShort, pszLocationFull, nType, pszOriginalName,
                                   pszAlternateName, pszModified, pullSize);
  }

  const sc_conflict *get() const { return conflict_; }

 private:
  sc_conflict *conflict_ = nullptr;
};

/* §2.2: one session. Created by ISyncMgrSessionCreator::CreateSession; the last Release ends and frees it. */
class ISyncMgrSyncCallback final : public detail::RefCounted<ISyncMgrSyncCallback> {
 public:

  /* §2.2.1 */
  HRESULT ReportProgress(const char *pszItemID, const char *pszProgressText, SYNCMGR_PROGRESS_STATUS nStatus,
                         uint32_t uCurrentStep, uint32_t uMaxStep, SYNCMGR_CANCEL_REQUEST *pnCancelRequest) {
    uint32_t cancel = 0;
    HRESULT hr = sc_session_report_progress(session_, pszItemID, pszProgressText, nStatus, uCurrentStep, uMaxStep,
                                            &cancel);
    if (SUCCEEDED(hr) && pnCancelRequest != nullptr) *pnCancelRequest = static_cast<SYNCMGR_CANCEL_REQUEST>(cancel);
    return hr;
  }

  /* §2.2.2 */
  HRESULT SetHandlerProgressText(const char *pszProgressText, SYNCMGR_CANCEL_REQUEST *pnCancelRequest) {
    uint32_t cancel = 0;
    HRESULT hr = sc_session_set_handler_progress_text(session_, pszProgressText, &cancel);
    if (SUCCEEDED(hr) && pnCancelRequest != nullptr) *pnCancelRequest = static_cast<SYNCMGR_CANCEL_REQUEST>(cancel);
    return hr;
  }

  /* §2.2.3; the event's ID (a UUID) goes to *pguidEventID when it is not NULL. */
  HRESULT ReportEvent(const char *pszItemID, SYNCMGR_EVENT_LEVEL nLevel, SYNCMGR_EVENT_FLAGS nFlags,
                      const char *pszName, const char *pszDescription, const char *pszLinkText,
                      const char *pszLinkReference, const char *pszContext, std::string *pguidEventID) {
    char *id = nullptr;
    HRESULT hr = sc_session_report_event(session_, pszItemID, nLevel, nFlags, pszName, pszDescription, pszLinkText,
                                         pszLinkReference, pszContext, &id);
    return FAILED(hr) ? hr : detail::take(id, pguidEventID);
  }

  /* §2.2.4: S_OK to go on, S_FALSE when a stop applies (NULL or "": the handler as a whole). */
  HRESULT CanContinue(const char *pszItemID) { return sc_session_can_continue(session_, pszItemID); }

  /* §2.2.5: pending items, and the contexts of pending requests as JSON texts (the IUnknowns); either may be
   * NULL. S_FALSE when nothing is pending. */
  HRESULT QueryForAdditionalItems(std::vector<std::string> *ppenumItemIDs, std::vector<std::string> *ppenumPunks) {
    char **items = nullptr, **contexts = nullptr;
    size_t n_items = 0, n_contexts = 0;
    HRESULT hr = sc_session_query_additional_items(session_, &items, &n_items, &contexts, &n_contexts);
    if (FAILED(hr)) return hr;
    std::vector<std::string> item_ids, punks;
    HRESULT copied = detail::take_all(items, n_items, &item_ids);
    HRESULT copied_contexts = detail::take_all(contexts, n_contexts, &punks);
    if (FAILED(copied) || FAILED(copied_contexts)) return E_OUTOFMEMORY;
    if (ppenumItemIDs != nullptr) *ppenumItemIDs = std::move(item_ids);
    if (ppenumPunks != nullptr) *ppenumPunks = std::move(punks);
    return hr;
  }

  /* §2.2.6 */
  HRESULT AddItemToSession(const char *pszItemID) { return sc_session_add_item(session_, pszItemID); }

  /* §2.2.7 (§5.14): punk is one of the JSON texts QueryForAdditionalItems gave. */
  HRESULT AddIUnknownToSession(const char *punk) { return sc_session_add_context(session_, punk); }

  /* §2.2.8: the new item's ID and name (what ISyncMgrSyncItem's GetItemID and GetName would answer). */
  HRESULT ProposeItem(const char *pszItemID, const char *pszName) {
    return sc_session_propose_item(session_, pszItemID, pszName);
  }

  /* §2.2.9 */
  HRESULT CommitItem(const char *pszItemID) { return sc_session_commit_item(session_, pszItemID); }

  /* §2.2.10 */
  HRESULT ReportManualSync() { return sc_session_report_manual_sync(session_); }

  /* The port's additions: a conflict found by this session (the conflict store's side, §2.18), the explicit end
   * (§2.19 rule 2; the last Release does it too) with the aggregated status, the session's ID, and the stop as a
   * descriptor or a callback (docs/c-api.md, Stops). */
  HRESULT ReportConflict(const char *pszItemID, const char *pszKey, const SyncMgrConflict &conflict,
                         std::string *pszConflictID) {
    char *id = nullptr;
    HRESULT hr = sc_session_report_conflict(session_, pszItemID, pszKey, conflict.get(), &id);
    return FAILED(hr) ? hr : detail::take(id, pszConflictID);
  }
  HRESULT End(SYNCMGR_PROGRESS_STATUS *pnStatus) {
    uint32_t status = 0;
    HRESULT hr = sc_session_end(session_, &status);
    if (SUCCEEDED(hr) && pnStatus != nullptr) *pnStatus = static_cast<SYNCMGR_PROGRESS_STATUS>(status);
    return hr;
  }
  const char *GetSessionID() const { return sc_session_id(session_); }
  HRESULT GetCancelDescriptor(int *pFd) { return sc_session_cancel_fd(session_, pFd); }
  HRESULT SetCancelCallback(sc_cancel_callback callback, void *user) {
    return sc_session_set_cancel_callback(session_, callback, user);
  }
  sc_session *get() const { return session_; }

 private:
  friend class ISyncMgrSessionCreator;
  friend class detail::RefCounted<ISyncMgrSyncCallback>;
  explicit ISyncMgrSyncCallback(sc_session *session) : session_(session) {}
  ~ISyncMgrSyncCallback() {
    sc_session_end(session_, nullptr);
    sc_session_free(session_);
  }

  sc_session *session_;
};

/* §2.1: what CoCreateInstance(CLSID_SyncMgrClient) gives on Windows; here CreateSyncMgrSessionCreator. */
class ISyncMgrSessionCreator final : public detail::RefCounted<ISyncMgrSessionCreator> {
 public:

  /* §2.1: ppCallback NULL only announces the session (created and ended at once, §5.2). */
  HRESULT CreateSession(const char *pszHandlerID, const char *const *ppszItemIDs, uint32_t cItems,
                        ISyncMgrSyncCallback **ppCallback) {
    if (ppCallback == nullptr) return sc_session_new(client_, pszHandlerID, ppszItemIDs, cItems, nullptr);
    sc_session *session = nullptr;
    HRESULT hr = sc_session_new(client_, pszHandlerID, ppszItemIDs, cItems, &session);
    if (FAILED(hr)) return hr;
    auto *callback = new (std::nothrow) ISyncMgrSyncCallback(session);
    if (callback == nullptr) {
      sc_session_end(session, nullptr);
      sc_session_free(session);
      return E_OUTOFMEMORY;
    }
    *ppCallback = callback;
    return S_OK;
  }

  /* The conflict store's report that conflicts are gone (ISyncMgrControl::UpdateConflicts, §5.33). */
  HRESULT RemoveConflicts(const char *const *ppszConflictIDs, uint32_t cConflicts) {
    return sc_client_remove_conflicts(client_, ppszConflictIDs, cConflicts);
  }

  sc_client *get() const { return client_; }

 private:
  friend HRESULT CreateSyncMgrSessionCreator(const char *, ISyncMgrSessionCreator **);
  friend class detail::RefCounted<ISyncMgrSessionCreator>;
  explicit ISyncMgrSessionCreator(sc_client *client) : client_(client) {}
  ~ISyncMgrSessionCreator() { sc_client_free(client_); }

  sc_client *client_;
};

/* Connects to the daemon (socket_path NULL: SYNCCENTER_SOCKET, else the default socket), as
 * CoCreateInstance(CLSID_SyncMgrClient, ..., IID_ISyncMgrSessionCreator) would. */
inline HRESULT CreateSyncMgrSessionCreator(const char *socket_path, ISyncMgrSessionCreator **ppCreator) {
  if (ppCreator == nullptr) return E_POINTER;
  sc_client *client = nullptr;
  HRESULT hr = sc_client_new(socket_path, &client);
  if (FAILED(hr)) return hr;
  auto *creator = new (std::nothrow) ISyncMgrSessionCreator(client);
  if (creator == nullptr) {
    sc_client_free(client);
    return E_OUTOFMEMORY;
  }
  *ppCreator = creator;
  return S_OK;
}

/* Holds one reference and releases it when it goes (Microsoft::WRL::ComPtr's essentials). */
template <typename T>
class ComPtr {
 public:
  ComPtr() = default;
  ComPtr(const ComPtr &other) : p_(other.p_) {
    if (p_ != nullptr) p_->AddRef();
  }
  ComPtr(ComPtr &&other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  ComPtr &operator=(ComPtr other) noexcept {
    std::swap(p_, other.p_);
    return *this;
  }
  ~ComPtr() { Reset(); }

  T *Get() const { return p_; }
  T *operator->() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }
  /* For out-parameters: releases what is held, then gives the address to fill. */
  T **ReleaseAndGetAddressOf() {
    Reset();
    return &p_;
  }
  T **operator&() { return ReleaseAndGetAddressOf(); }
  T *Detach() { return std::exchange(p_, nullptr); }
  uint32_t Reset() {
    T *p = std::exchange(p_, nullptr);
    return p != nullptr ? p->Release() : 0;
  }

 private:
  T *p_ = nullptr;
};

}  // namespace synccenter

#endif /* SYNCCENTER_HPP */
