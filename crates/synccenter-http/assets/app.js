// Sync Center dashboard — app.js
//
// Plain ES2020 module without dependencies, served by the daemon (synccenter-http) at /app.js.
// It renders five views (Sync Center, Live sessions, Sync Results, Conflicts, Fleet) from the
// same-origin JSON API under /api/v1 and keeps them current from the SSE stream /api/v1/stream.
// The Fleet view also polls /api/v1/fleet while it is shown: other hosts' changes reach this
// daemon through the shared database, not through its stream. An item's ping URL is fetched
// from /api/v1/handlers/{h}/items/{i}/ping-url when the user asks for it.
//
// Rules kept here: one `state` object; one render function per view; DOM built only with
// createElement/createElementNS + textContent (never innerHTML), so handler-supplied strings
// cannot inject markup; no inline handlers or style attributes (CSP `default-src 'self'`).
// Every interactive element and key region carries a stable `data-testid`.

const API = '/api/v1';
const PAGE_SIZE = 50;
const MAX_ENDED = 10;
const FINAL = new Set(['succeeded', 'failed', 'canceled', 'disconnected']);
const LEVELS = ['info', 'warning', 'error'];
const TABS = ['handlers', 'sessions', 'results', 'conflicts', 'fleet'];
const FLEET_REFRESH_MS = 5000;
const POLICY = {
  start: ['prevent_start_sync', 'disable_start_sync'],
  stop: ['prevent_stop_sync', 'disable_stop_sync'],
  enable: ['prevent_enable', 'disable_enable'],
  disable: ['prevent_disable', 'disable_disable'],
  activate: ['prevent_activate'],
  deactivate: ['prevent_deactivate'],
};

const state = {
  tab: 'handlers',
  connected: false,
  gotSnapshot: false,
  pendingReady: false,
  status: null,
  handlers: [],
  showHidden: false,
  expanded: new Set(),
  items: new Map(), // handler id -> items array
  itemsLoading: new Set(),
  charts: new Map(), // handler id -> days array (null while loading)
  pings: new Map(), // `${handler}\n${item}` -> {data, error, note}: the open ping URL panels
  sessions: new Map(), // session id -> SessionInfo
  ended: new Map(), // session id -> {session: SessionInfo, end: session_ended update}
  rowRefs: new Map(), // `${session}\n${item}` -> DOM refs of a progress row
  fleetRows: new Map(), // the same for the Fleet view's rows of this host's sessions
  meters: new Map(), // `${session}\n${item}` -> Meter: a running item's rate and time left
  events: {
    list: [], next: null, total: 0, after: null, cursors: [], selected: null,
    stale: true, fresh: 0, shell: null,
    filter: { handler: '', item: '', levels: [], since: '', until: '' },
  },
  conflicts: { list: [], stale: true, otherOpen: new Set(), drafts: new Map(), applyAll: new Set() },
  fleet: { data: null, json: '', error: null, loading: false, again: false },
};

// ---------------------------------------------------------------------------------------------
// DOM helpers

const $ = (sel) => document.querySelector(sel);
const SVG_NS = 'http://www.w3.org/2000/svg';

function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Creates an element. `text` sets textContent, `testid` sets data-testid, `onX` adds listeners. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = String(v);
    else if (k === 'testid') node.setAttribute('data-testid', v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k.includes('-') || !(k in node)) node.setAttribute(k, v === true ? '' : String(v));
    else node[k] = v;
  }
  return append(node, children);
}

/** Replaces a node's children; accepts nested arrays and skips null/false like el(). */
function setChildren(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return append(node, children);
}

/** A button that disables itself while its (async) action runs. */
function button(label, testid, action, { cls = '', aria } = {}) {
  return el('button', {
    type: 'button', class: `btn ${cls}`.trim(), testid, 'aria-label': aria, text: label,
    onclick: async (ev) => {
      const b = ev.currentTarget;
      b.disabled = true;
      try { await action(ev); } catch { /* reported by api() */ } finally { b.disabled = false; }
    },
  });
}

function badge(text, kind, testid, extra = {}) {
  return el('span', { class: `badge ${kind || ''}`.trim(), text, testid, ...extra });
}

function timeEl(s, testid, fallback = '—') {
  return el('time', { dateTime: s || '', text: s ? fmtTime(s) : fallback, testid });
}

function fmtTime(s) {
  if (!s) return '—';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? String(s) : d.toLocaleString();
}

function fmtSize(n) {
  if (typeof n !== 'number') return '—';
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let v = n, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u += 1; }
  return u === 0 ? `${v} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

const num = (v) => (Number.isFinite(Number(v)) ? Number(v) : 0);
const listOf = (v, key) => (Array.isArray(v) ? v : (v && Array.isArray(v[key]) ? v[key] : []));
const allowed = (policies, action) => !POLICY[action].some((p) => policies.has(p));
const handlerById = (id) => state.handlers.find((h) => h.handler === id);
const handlerName = (id) => handlerById(id)?.name || id;

function itemName(handler, item) {
  return (state.items.get(handler) || []).find((i) => i.item === item)?.name || item;
}

function debounce(fn, ms) {
  let t = 0;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

/** Runs `fn` at most once per `ms`, `ms` after the first call of a burst (a steady stream still gets runs). */
function throttle(fn, ms) {
  let t = 0;
  return () => { if (!t) t = setTimeout(() => { t = 0; fn(); }, ms); };
}

// ---------------------------------------------------------------------------------------------
// API

async function api(method, path, body, { quiet = false } = {}) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (method !== 'GET') opts.headers['Content-Type'] = 'application/json';
  if (body !== undefined) opts.body = JSON.stringify(body);
  let res;
  try {
    res = await fetch(API + path, opts);
  } catch (e) {
    if (!quiet) showError(`Cannot reach the Sync Center service: ${e.message}`);
    throw e;
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = data && data.error;
    const msg = err ? `${err.message} (${err.name || err.hresult})` : `Request failed: HTTP ${res.status}`;
    if (!quiet) showError(msg);
    throw new Error(msg);
  }
  return data || {};
}

function showError(msg) {
  $('#error-message').textContent = msg;
  $('#error-banner').hidden = false;
}

async function control(action, body) {
  await api('POST', `/control/${action}`, body);
  refreshSoon();
}

function pauseBody(handler) {
  const body = handler ? { handler } : {};
  const minutes = Number($('#pause-duration').value);
  if (minutes > 0) body.until = new Date(Date.now() + minutes * 60000).toISOString();
  return body;
}

// ---------------------------------------------------------------------------------------------
// Loading

async function loadStatus() {
  try { state.status = await api('GET', '/status', undefined, { quiet: true }); } catch { return; }
  invalidate('chrome', 'handlers');
}

async function loadHandlers() {
  const d = await api('GET', '/handlers');
  state.handlers = listOf(d, 'handlers');
  for (const id of state.expanded) loadItems(id);
  // Sessions and conflicts show handler names and obey handler policies (e.g. no Stop button).
  invalidate('chrome', 'handlers', 'sessions', 'results', 'conflicts');
}

async function loadItems(id) {
  if (state.itemsLoading.has(id)) return;
  state.itemsLoading.add(id);
  try {
    const d = await api('GET', `/handlers/${encodeURIComponent(id)}/items`, undefined, { quiet: !state.expanded.has(id) });
    state.items.set(id, listOf(d, 'items'));
  } catch {
    if (!state.items.has(id)) state.items.set(id, []);
  } finally {
    state.itemsLoading.delete(id);
  }
  invalidate('handlers', 'sessions');
}

async function loadChart(id) {
  state.charts.set(id, null);
  try {
    const d = await api('GET', `/handlers/${encodeURIComponent(id)}/history-chart?days=14`, undefined, { quiet: true });
    state.charts.set(id, listOf(d, 'days'));
  } catch {
    state.charts.set(id, []);
  }
  invalidate('handlers');
}

async function loadSessions() {
  const d = await api('GET', '/sessions', undefined, { quiet: true });
  state.sessions = new Map(listOf(d, 'sessions').map((s) => [s.session, normSession(s)]));
  invalidate('chrome', 'sessions', 'handlers');
}

function eventQuery(after) {
  const f = state.events.filter;
  const q = new URLSearchParams();
  if (f.handler) q.set('handler', f.handler);
  if (f.item) q.set('item', f.item);
  for (const l of f.levels) q.append('level', l);
  if (f.since) q.set('since', toIso(f.since));
  if (f.until) q.set('until', toIso(f.until));
  if (after !== null && after !== undefined) q.set('after', String(after));
  q.set('limit', String(PAGE_SIZE));
  return q;
}

async function loadEvents(after = null) {
  const ev = state.events;
  const d = await api('GET', `/events?${eventQuery(after)}`);
  ev.list = listOf(d, 'events');
  ev.next = d.next ?? null;
  ev.total = d.total ?? ev.list.length;
  ev.after = after;
  ev.stale = false;
  ev.fresh = 0;
  if (ev.selected && !ev.list.some((e) => e.event === ev.selected)) ev.selected = null;
  invalidate('results');
}

async function loadConflicts() {
  const d = await api('GET', '/conflicts');
  state.conflicts.list = listOf(d, 'conflicts');
  state.conflicts.stale = false;
  invalidate('conflicts', 'chrome');
}

async function loadFleet() {
  const f = state.fleet;
  if (f.loading) { f.again = true; return; }
  f.loading = true;
  try {
    const d = await api('GET', '/fleet', undefined, { quiet: true });
    const json = JSON.stringify(d);
    const changed = json !== f.json || f.error !== null;
    f.error = null;
    f.json = json;
    f.data = d;
    if (changed) invalidate('fleet');
  } catch (e) {
    f.error = e.message;
    invalidate('fleet');
  } finally {
    f.loading = false;
    if (f.again) { f.again = false; loadFleet(); }
  }
}

async function loadAll() {
  await Promise.allSettled([loadStatus(), loadHandlers(), loadSessions()]);
  state.charts.clear();
  state.events.stale = true;
  state.conflicts.stale = true;
  loadForTab();
}

function loadForTab() {
  if (state.tab === 'results' && state.events.stale) loadEvents(null).catch(() => {});
  if (state.tab === 'conflicts' && state.conflicts.stale) loadConflicts().catch(() => {});
  if (state.tab === 'fleet') loadFleet();
}

const refreshHandlersSoon = debounce(() => loadHandlers().catch(() => {}), 250);
const refreshStatusSoon = debounce(loadStatus, 500);
const reloadEventsSoon = debounce(() => loadEvents(state.events.after).catch(() => {}), 400);
const reloadConflictsSoon = debounce(() => loadConflicts().catch(() => {}), 300);
const reloadFleetSoon = throttle(() => { if (state.tab === 'fleet') loadFleet(); }, 400);
function refreshSoon() { refreshHandlersSoon(); refreshStatusSoon(); }

function toIso(local) {
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString();
}

// ---------------------------------------------------------------------------------------------
// Render scheduling: views are re-rendered at most once per frame; focus is kept by data-testid.

const dirty = new Set();
let frame = 0;

function invalidate(...views) {
  views.forEach((v) => dirty.add(v));
  if (!frame) frame = requestAnimationFrame(flush);
}

function flush() {
  frame = 0;
  const focused = document.activeElement?.getAttribute?.('data-testid');
  const views = [...dirty];
  dirty.clear();
  for (const v of views) {
    if (v === 'chrome') renderChrome();
    else if (v === state.tab) RENDER[v]();
  }
  if (focused && !document.activeElement?.getAttribute?.('data-testid')) {
    document.querySelector(`[data-testid="${CSS.escape(focused)}"]`)?.focus();
  }
  if (state.pendingReady) {
    state.pendingReady = false;
    document.body.dataset.ready = 'true';
  }
}

const RENDER = {
  handlers: renderHandlers,
  sessions: renderSessions,
  results: renderResults,
  conflicts: renderConflicts,
  fleet: renderFleet,
};

// ---------------------------------------------------------------------------------------------
// Chrome: header summary, banners, tab counters, connection state

function renderChrome() {
  const st = state.status;
  const live = state.sessions.size;
  const parts = [`${state.handlers.length} sync partnership${state.handlers.length === 1 ? '' : 's'}`];
  parts.push(`${live} syncing`);
  if (st?.next_run) parts.push(`next run ${fmtTime(st.next_run)}`);
  const overdue = listOf(st?.overdue, 'overdue').length;
  if (overdue) parts.push(`${overdue} overdue`);
  const waiting = listOf(st?.waiting, 'waiting').length;
  if (waiting) parts.push(`${waiting} waiting`);
  $('#status-summary').textContent = parts.join(' · ');

  const cfg = $('#config-error');
  cfg.hidden = !st?.config_error;
  cfg.textContent = st?.config_error ? `Configuration error: ${st.config_error}` : '';

  const global = listOf(st?.paused, 'paused').find((p) => !p.handler);
  const pb = $('#paused-banner');
  pb.hidden = !global;
  pb.textContent = global ? `All synchronisation is paused${global.until ? ` until ${fmtTime(global.until)}` : ''}.` : '';

  const errors = state.handlers.reduce((n, h) => n + num(h.error_count), 0);
  const conflicts = state.conflicts.stale
    ? state.handlers.reduce((n, h) => n + num(h.conflict_count), 0)
    : state.conflicts.list.filter((c) => !c.resolution).length;
  $('#count-sessions').textContent = live ? String(live) : '';
  $('#count-results').textContent = errors ? String(errors) : '';
  $('#count-conflicts').textContent = conflicts ? String(conflicts) : '';
}

function setConnected(on) {
  state.connected = on;
  document.body.dataset.connected = on ? 'true' : 'false';
  const c = $('#connection');
  c.textContent = on ? 'Live' : (state.gotSnapshot ? 'Reconnecting…' : 'Connecting…');
  c.classList.toggle('on', on);
}

// ---------------------------------------------------------------------------------------------
// View 1: Sync Center (handlers)

function handlerState(h) {
  if (h.paused) return { key: 'paused', label: h.paused_until ? `paused until ${fmtTime(h.paused_until)}` : 'paused' };
  if (h.syncing || [...state.sessions.values()].some((s) => s.handler === h.handler)) return { key: 'syncing', label: 'syncing' };
  if (!h.active) return { key: 'inactive', label: 'inactive' };
  if (!h.enabled) return { key: 'disabled', label: 'disabled' };
  if (!h.connected) return { key: 'disconnected', label: 'disconnected' };
  return { key: 'idle', label: 'idle' };
}

function renderHandlers() {
  const root = $('#view-handlers');
  const shown = state.handlers.filter((h) => state.showHidden || !h.hidden);
  const hiddenCount = state.handlers.length - state.handlers.filter((h) => !h.hidden).length;
  const toolbar = el('div', { class: 'toolbar' },
    el('h2', { class: 'view-title', text: 'Sync partnerships' }),
    hiddenCount ? el('label', { class: 'check' },
      el('input', {
        type: 'checkbox', checked: state.showHidden, testid: 'toggle-hidden',
        onchange: (e) => { state.showHidden = e.target.checked; invalidate('handlers'); },
      }), ` Show hidden (${hiddenCount})`) : null);
  const list = shown.length
    ? el('div', { class: 'cards', testid: 'handler-list' }, shown.map(handlerCard))
    : el('p', { class: 'empty', testid: 'no-handlers', text: state.gotSnapshot ? 'No sync partnerships are set up.' : 'Loading…' });
  setChildren(root, toolbar, list);
}

function handlerCard(h) {
  const id = h.handler;
  const st = handlerState(h);
  const expanded = state.expanded.has(id);
  const titleId = `handler-title-${id}`;
  return el('article', { class: `card handler state-${st.key}`, testid: `handler-${id}`, 'data-state': st.key, 'aria-labelledby': titleId },
    el('div', { class: 'card-head' },
      el('h3', { class: 'card-title', id: titleId, text: h.name || id }),
      el('div', { class: 'badges' },
        badge(st.label, `state ${st.key}`, `state-${id}`),
        h.overdue ? badge('overdue', 'warn', `overdue-${id}`) : null,
        h.waiting ? badge(`waiting: ${h.waiting}`, 'waiting', `waiting-${id}`, { title: 'Its run conditions hold the due run back' }) : null,
        num(h.error_count) ? el('button', {
          type: 'button', class: 'badge error link', testid: `errors-${id}`, text: `${h.error_count} error${h.error_count === 1 ? '' : 's'}`,
          'aria-label': `Show errors of ${h.name || id}`,
          onclick: () => showResultsFor(id, ['error']),
        }) : null,
        num(h.conflict_count) ? el('button', {
          type: 'button', class: 'badge warn link', testid: `conflicts-${id}`, text: `${h.conflict_count} conflict${h.conflict_count === 1 ? '' : 's'}`,
          onclick: () => switchTab('conflicts'),
        }) : null)),
    h.display_text ? el('p', { class: 'display-text', testid: `display-text-${id}`, text: h.display_text }) : null,
    h.comment ? el('p', { class: 'muted', text: h.comment }) : null,
    el('div', { class: 'card-body' },
      el('dl', { class: 'meta' },
        el('dt', { text: 'Last sync' }), el('dd', {}, timeEl(h.last_sync, `last-sync-${id}`, 'never')),
        el('dt', { text: 'Next run' }), el('dd', {}, timeEl(h.next_run, `next-run-${id}`, 'not scheduled')),
        el('dt', { text: 'Items' }), el('dd', { text: String(num(h.item_count)) }),
        h.type && h.type !== 'unspecified' ? [el('dt', { text: 'Type' }), el('dd', { text: h.type })] : null),
      historyChart(h)),
    el('div', { class: 'actions', role: 'group', 'aria-label': `Actions for ${h.name || id}` }, handlerActions(h),
      el('button', {
        type: 'button', class: 'btn ghost', testid: `expand-${id}`, 'aria-expanded': String(expanded), 'aria-controls': `items-${id}`,
        text: expanded ? 'Hide items' : `Show items (${num(h.item_count)})`,
        onclick: () => toggleExpanded(id),
      })),
    expanded ? itemsList(h) : null);
}

function handlerActions(h) {
  const id = h.handler;
  const name = h.name || id;
  const pol = new Set(h.policies || []);
  const out = [];
  if (allowed(pol, 'start')) out.push(button('Start', `start-${id}`, () => control('start', { handler: id }), { cls: 'primary', aria: `Start syncing ${name}` }));
  if (allowed(pol, 'stop')) out.push(button('Stop', `stop-${id}`, () => control('stop', { handler: id }), { aria: `Stop syncing ${name}` }));
  if (h.enabled && allowed(pol, 'disable')) out.push(button('Disable', `disable-${id}`, () => control('enable', { handler: id, enable: false })));
  if (!h.enabled && allowed(pol, 'enable')) out.push(button('Enable', `enable-${id}`, () => control('enable', { handler: id, enable: true })));
  if (h.active && allowed(pol, 'deactivate')) out.push(button('Deactivate', `deactivate-${id}`, () => control('activate', { handler: id, activate: false })));
  if (!h.active && allowed(pol, 'activate')) out.push(button('Activate', `activate-${id}`, () => control('activate', { handler: id, activate: true })));
  if (h.paused) out.push(button('Resume', `resume-${id}`, () => control('resume', { handler: id })));
  else out.push(button('Pause', `pause-${id}`, () => control('pause', pauseBody(id))));
  return out;
}

function toggleExpanded(id) {
  if (state.expanded.has(id)) state.expanded.delete(id);
  else { state.expanded.add(id); loadItems(id); }
  invalidate('handlers');
}

function historyChart(h) {
  const id = h.handler;
  if (!state.charts.has(id)) loadChart(id);
  const days = state.charts.get(id);
  if (!days || !days.length) return el('div', { class: 'chart-slot', testid: `chart-${id}` });
  const W = 8, GAP = 3, H = 40;
  const max = Math.max(1, ...days.map((d) => num(d.succeeded) + num(d.failed)));
  const ok = days.reduce((n, d) => n + num(d.succeeded), 0);
  const bad = days.reduce((n, d) => n + num(d.failed), 0);
  const chart = svg('svg', {
    class: 'chart', viewBox: `0 0 ${days.length * (W + GAP) - GAP} ${H}`, role: 'img', preserveAspectRatio: 'none',
    'aria-label': `Last ${days.length} days: ${ok} succeeded, ${bad} failed`, 'data-testid': `chart-${id}`,
  });
  days.forEach((d, i) => {
    const x = i * (W + GAP);
    const sh = (num(d.succeeded) / max) * (H - 2);
    const fh = (num(d.failed) / max) * (H - 2);
    const g = svg('g', { 'data-date': d.date }, svg('title', {}, `${d.date}: ${num(d.succeeded)} succeeded, ${num(d.failed)} failed`));
    g.append(svg('rect', { class: 'base', x, y: H - 1, width: W, height: 1 }));
    if (sh > 0) g.append(svg('rect', { class: 'ok', x, y: H - sh, width: W, height: sh }));
    if (fh > 0) g.append(svg('rect', { class: 'fail', x, y: H - sh - fh, width: W, height: fh }));
    chart.append(g);
  });
  return el('figure', { class: 'chart-slot' }, chart, el('figcaption', { class: 'muted small', text: `14 days: ${ok} ok, ${bad} failed` }));
}

function itemsList(h) {
  const id = h.handler;
  const items = state.items.get(id);
  const wrap = { class: 'items', id: `items-${id}`, testid: `items-${id}` };
  if (!items) return el('div', wrap, el('p', { class: 'muted', text: 'Loading items…' }));
  const shown = items.filter((it) => state.showHidden || !it.hidden);
  if (!shown.length) return el('div', wrap, el('p', { class: 'muted', text: 'No items.' }));
  return el('ul', { ...wrap, role: 'list' }, shown.map((it) => itemRow(h, it)));
}

function liveItem(handler, item) {
  for (const s of state.sessions.values()) {
    if (s.handler !== handler) continue;
    const it = s.items.find((i) => i.item === item);
    if (it) return it;
  }
  return null;
}

function itemRow(h, it) {
  const hid = h.handler, iid = it.item;
  const pol = new Set([...(h.policies || []), ...(it.policies || [])]);
  const live = liveItem(hid, iid);
  const prog = live || it.progress || null;
  const running = live ? !FINAL.has(live.status) : Boolean(prog && prog.status && !FINAL.has(prog.status));
  const key = running ? 'syncing' : !it.enabled ? 'disabled' : !it.connected ? 'disconnected' : 'idle';
  const actions = [];
  if (allowed(pol, 'start')) actions.push(button('Start', `start-${hid}-${iid}`, () => control('start', { handler: hid, items: [iid] }), { cls: 'small' }));
  if (allowed(pol, 'stop')) actions.push(button('Stop', `stop-${hid}-${iid}`, () => control('stop', { handler: hid, items: [iid] }), { cls: 'small' }));
  if (it.enabled && allowed(pol, 'disable')) actions.push(button('Disable', `disable-${hid}-${iid}`, () => control('enable', { handler: hid, item: iid, enable: false }), { cls: 'small' }));
  if (!it.enabled && allowed(pol, 'enable')) actions.push(button('Enable', `enable-${hid}-${iid}`, () => control('enable', { handler: hid, item: iid, enable: true }), { cls: 'small' }));
  const ping = state.pings.get(pingKey(hid, iid));
  actions.push(el('button', {
    type: 'button', class: 'btn small ghost', testid: `ping-url-${hid}-${iid}`, text: 'Ping URL',
    'aria-expanded': String(Boolean(ping)), 'aria-controls': `ping-panel-${hid}-${iid}`,
    'aria-label': `Ping URL of ${it.name || iid}`, onclick: () => togglePing(hid, iid),
  }));
  return el('li', { class: `item state-${key}`, testid: `item-${hid}-${iid}`, 'data-state': key },
    el('div', { class: 'item-head' },
      el('strong', { text: it.name || iid }),
      el('div', { class: 'badges' },
        badge(key, `state ${key}`, `item-state-${hid}-${iid}`),
        prog && FINAL.has(prog.status) ? badge(prog.status, `st-${prog.status}`) : null,
        it.overdue ? badge('overdue', 'warn', `overdue-${hid}-${iid}`) : null,
        it.waiting ? badge(`waiting: ${it.waiting}`, 'waiting', `waiting-${hid}-${iid}`, { title: 'Its run conditions hold the due run back' }) : null,
        num(it.error_count) ? badge(`${it.error_count} error${it.error_count === 1 ? '' : 's'}`, 'error') : null)),
    it.comment ? el('p', { class: 'muted small', text: it.comment }) : null,
    el('p', { class: 'muted small' }, 'Last sync: ', timeEl(it.last_sync, null, 'never'), it.next_run ? [' · Next: ', timeEl(it.next_run)] : null),
    prog && running ? el('div', { class: 'item-progress' }, progressBar(null, prog), el('span', { class: 'small', text: progressText(prog) })) : null,
    el('div', { class: 'actions compact' }, actions),
    ping ? pingPanel(hid, iid, it.name || iid, ping) : null);
}

function progressText(p) {
  return [numbersText(p), p.text || ''].filter(Boolean).join(' — ');
}

// ---------------------------------------------------------------------------------------------
// Progress as people read it: the twin of crates/synccenter-human (issue 20). Bytes in binary units, files
// as files, a rate smoothed over 5 s, and a time left that is `unknown` while the total is still growing
// (it must have stayed the same for 2 s) or the rate is not known, rather than a made-up number.

const HUMAN = { smoothing: 5, settle: 2, maxLeft: 100 * 24 * 3600 };
const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

function humanBytes(n) {
  n = Math.max(0, Number(n) || 0);
  if (n < 1024) return `${Math.floor(n)} B`;
  let v = n / 1024, u = 0;
  while (v >= 1023.95 && u < BYTE_UNITS.length - 1) { v /= 1024; u += 1; }
  return `${v.toFixed(1)} ${BYTE_UNITS[u]}`;
}

const plural = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

function humanAmount(unit, n) {
  return unit === 'bytes' ? humanBytes(n) : plural(n, unit === 'files' ? 'file' : 'step');
}

function humanProgress(unit, done, total) {
  if (!total) return humanAmount(unit, done);
  if (unit === 'bytes') return `${humanBytes(done)} of ${humanBytes(total)}`;
  return `${done} of ${plural(total, unit === 'files' ? 'file' : 'step')}`;
}

function humanRate(unit, r) {
  r = Number.isFinite(r) ? Math.max(0, r) : 0;
  return unit === 'bytes' ? `${humanBytes(Math.round(r))}/s` : `${r.toFixed(1)} ${unit === 'files' ? 'files' : 'steps'}/s`;
}

function humanClock(secs) {
  const s = Math.floor(secs), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
  const pad = (x) => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
}

/** The smoothed rate and time left of one item, fed samples in time order (`at` in seconds). */
class Meter {
  constructor() { this.last = null; this.rate = null; this.totalSince = 0; }
  sample(at, done, total) {
    const last = this.last;
    if (!last || done < last.done) {
      this.last = { at, done, total }; this.rate = null; this.totalSince = at;
    } else if (at >= last.at) {
      const dt = at - last.at;
      if (dt > 0) {
        const now = (done - last.done) / dt, w = 1 - Math.exp(-dt / HUMAN.smoothing);
        this.rate = this.rate === null ? now : this.rate + w * (now - this.rate);
        this.last = { at, done, total };
      } else this.last = { at: last.at, done: last.done, total };
      if (total !== last.total) this.totalSince = at;
    }
    return this.estimate(at);
  }
  estimate(at) {
    const l = this.last;
    if (!l) return { rate: null, left: null };
    let left = null;
    if (l.total > 0 && at - this.totalSince >= HUMAN.settle) {
      if (l.done >= l.total) left = 0;
      else if (this.rate > 0 && (l.total - l.done) / this.rate <= HUMAN.maxLeft) left = (l.total - l.done) / this.rate;
    }
    return { rate: this.rate, left };
  }
}

function humanLine(unit, done, total, est) {
  let out = humanProgress(unit, done, total);
  if (est && est.rate !== null) out += `, ${humanRate(unit, est.rate)}`;
  if (est && est.left === null) out += ', time left unknown';
  else if (est && done < total) out += `, ${humanClock(est.left)} left`;
  return out;
}

/** An item's numbers: its amount in its unit when the report gave one, else the spec's steps. */
function numbersOf(p) {
  const a = p.amount;
  if (a && a.unit) return { unit: a.unit, done: num(a.done), total: num(a.total) };
  const max = num(p.max_step);
  return max > 0 ? { unit: 'steps', done: num(p.step), total: max } : null;
}

function numbersText(p) {
  const n = numbersOf(p);
  if (!n || FINAL.has(p.status) || !p.status) return '';
  return humanLine(n.unit, n.done, n.total, p.estimate);
}

/** Feeds a running item's numbers to its meter (kept in `state.meters`) and keeps the estimate on the item. */
function measure(key, it) {
  const n = numbersOf(it);
  if (!n || FINAL.has(it.status)) { state.meters.delete(key); it.estimate = undefined; return; }
  if (!state.meters.has(key)) state.meters.set(key, new Meter());
  it.estimate = state.meters.get(key).sample(performance.now() / 1000, n.done, n.total);
}

// ---------------------------------------------------------------------------------------------
// An item's ping URLs (Healthchecks, by slug, Uptime Kuma; docs/integrations.md), asked for per item

const pingKey = (handler, item) => `${handler}\n${item}`;

async function togglePing(hid, iid) {
  const key = pingKey(hid, iid);
  if (state.pings.has(key)) {
    state.pings.delete(key);
    invalidate('handlers');
    return;
  }
  const entry = { data: null, error: null, note: '' };
  state.pings.set(key, entry);
  invalidate('handlers');
  try {
    entry.data = await api('GET', `/handlers/${encodeURIComponent(hid)}/items/${encodeURIComponent(iid)}/ping-url`, undefined, { quiet: true });
  } catch (e) {
    entry.error = e.message;
  }
  invalidate('handlers');
}

/** The daemon's absolute URL, or this page's origin with the path (a dashboard the daemon does not host). */
const absolute = (url, path) => url || new URL(path, location.origin).href;

function pingPanel(hid, iid, name, entry) {
  const id = `${hid}-${iid}`;
  const close = (e) => {
    if (e.key !== 'Escape') return;
    state.pings.delete(pingKey(hid, iid));
    invalidate('handlers');
    document.querySelector(`[data-testid="${CSS.escape(`ping-url-${id}`)}"]`)?.focus();
  };
  const wrap = { class: 'ping', id: `ping-panel-${id}`, testid: `ping-panel-${id}`, role: 'group', 'aria-label': `Ping URLs of ${name}`, onkeydown: close };
  const d = entry.data;
  if (!d) {
    return el('div', wrap, entry.error
      ? el('p', { class: 'ping-error', role: 'alert', testid: `ping-error-${id}`, text: entry.error })
      : el('p', { class: 'muted small', text: 'Loading…' }));
  }
  const hours = Math.round(num(d.grace_seconds) / 360) / 10;
  return el('div', wrap,
    copyField(entry, 'Healthchecks ping URL', absolute(d.url, d.path), `url-${id}`),
    copyField(entry, 'By slug', absolute(d.slug_url, d.slug_path), `slug-${id}`),
    copyField(entry, 'Uptime Kuma push URL', absolute(d.push_url, `/api/push/${d.uuid}`), `push-${id}`),
    el('p', { class: 'muted small', text: `Append /start, /fail, /log or /<exit status> to the ping URL. The first ${num(d.body_limit)} bytes of a request body are kept; a start waits ${hours} h for its end.` }),
    el('p', { class: 'small', role: 'status', testid: `ping-status-${id}`, text: entry.note }));
}

/** A read-only field that selects itself on focus, with a Copy button. */
function copyField(entry, label, value, id) {
  const input = el('input', {
    type: 'text', readOnly: true, value, title: value, testid: `ping-field-${id}`, autocomplete: 'off',
    onfocus: (e) => e.target.select(),
  });
  return el('div', { class: 'copy-field' },
    el('label', { class: 'field' }, el('span', { text: label }), input),
    button('Copy', `ping-copy-${id}`, () => copyUrl(entry, label, input), { cls: 'small', aria: `Copy the ${label}` }));
}

async function copyUrl(entry, label, input) {
  try {
    await navigator.clipboard.writeText(input.value);
    entry.note = `${label} copied.`;
  } catch {
    input.focus();
    entry.note = 'The browser did not allow copying: the field is selected, press Ctrl+C (⌘C).';
  }
  invalidate('handlers');
}

// ---------------------------------------------------------------------------------------------
// Progress bar (shared by the handler and session views)

function progressBar(testid, p) {
  const bar = el('div', { class: 'bar', role: 'progressbar', testid, 'aria-valuemin': '0' }, el('div', { class: 'fill' }));
  updateBar(bar, p);
  return bar;
}

function isIndeterminate(p) {
  return !FINAL.has(p.status) && (p.status === 'updating_indeterminate' || num(p.max_step) === 0);
}

function updateBar(bar, p) {
  const step = num(p.step), max = num(p.max_step);
  const indet = isIndeterminate(p);
  bar.dataset.step = String(step);
  bar.dataset.max = String(max);
  bar.dataset.status = p.status || '';
  bar.classList.toggle('indeterminate', indet);
  for (const s of FINAL) bar.classList.toggle(`st-${s}`, p.status === s);
  const pct = max > 0 ? Math.min(100, Math.max(0, (step / max) * 100)) : (FINAL.has(p.status) ? 100 : 0);
  bar.firstChild.style.width = indet ? '' : `${pct}%`;
  bar.setAttribute('aria-valuemax', String(max || 100));
  if (indet) bar.removeAttribute('aria-valuenow');
  else bar.setAttribute('aria-valuenow', String(max > 0 ? step : pct));
  const n = numbersOf(p);
  bar.setAttribute('aria-valuetext', indet ? 'in progress' : (n ? humanProgress(n.unit, n.done, n.total) : `${Math.round(pct)}%`));
}

// ---------------------------------------------------------------------------------------------
// View 2: Live sessions

function normSession(s) {
  return { ...s, items: Array.isArray(s.items) ? s.items.map((i) => ({ ...i })) : [] };
}

function renderSessions() {
  const root = $('#view-sessions');
  state.rowRefs.clear();
  const live = [...state.sessions.values()].sort((a, b) => String(a.started_at).localeCompare(String(b.started_at)));
  const ended = [...state.ended.values()].reverse();
  for (const s of live) if (!state.items.has(s.handler)) loadItems(s.handler);
  setChildren(root,
    el('h2', { class: 'view-title', text: 'Live sessions' }),
    live.length
      ? el('div', { class: 'sessions', testid: 'session-list' }, live.map((s) => sessionBlock(s, null)))
      : el('p', { class: 'empty', testid: 'no-sessions', text: state.gotSnapshot ? 'No synchronisation is running.' : 'Loading…' }),
    ended.length ? [
      el('div', { class: 'toolbar' },
        el('h2', { class: 'view-title', text: 'Recently finished' }),
        button('Clear list', 'clear-finished', () => { state.ended.clear(); invalidate('sessions'); }, { cls: 'small ghost' })),
      el('div', { class: 'sessions', testid: 'finished-list' }, ended.map((e) => sessionBlock(e.session, e.end))),
    ] : null);
}

function sessionBlock(s, end) {
  const sid = s.session;
  const pol = new Set(handlerById(s.handler)?.policies || []);
  const canStop = !end && allowed(pol, 'stop');
  let head;
  if (end) {
    const bits = [end.status || 'ended'];
    if (num(end.errors)) bits.push(`${end.errors} error${end.errors === 1 ? '' : 's'}`);
    if (num(end.conflicts)) bits.push(`${end.conflicts} conflict${end.conflicts === 1 ? '' : 's'}`);
    head = badge(bits.join(' · '), `st-${end.status || 'ended'}`, `session-status-${sid}`, { 'data-status': end.status || '' });
  } else {
    head = badge(s.stop_all ? 'stopping…' : 'syncing', s.stop_all ? 'warn' : 'state syncing', `session-status-${sid}`, { 'data-status': s.stop_all ? 'stopping' : 'syncing' });
  }
  return el('article', { class: `card session ${end ? 'ended' : 'live'}`, testid: `session-${sid}`, 'data-state': end ? 'ended' : 'live', 'aria-label': `Session of ${handlerName(s.handler)}` },
    el('div', { class: 'card-head' },
      el('h3', { class: 'card-title', text: handlerName(s.handler) }),
      el('div', { class: 'badges' }, s.manual ? badge('manual', '') : badge('scheduled', ''), head)),
    el('p', { class: 'muted small' }, 'Started ', timeEl(s.started_at), end?.reason ? ` · ${end.reason}` : ''),
    s.handler_text ? el('p', { class: 'display-text', testid: `handler-text-${sid}`, text: s.handler_text }) : null,
    s.items.length
      ? el('ul', { class: 'progress-list', role: 'list' }, s.items.map((it) => progressRow(s, it, end, pol)))
      : el('p', { class: 'muted', text: 'Preparing…' }),
    canStop ? el('div', { class: 'actions' },
      button('Stop session', `stop-session-${sid}`, () => control('stop', { handler: s.handler }), { aria: `Stop syncing ${handlerName(s.handler)}` })) : null,
    end ? el('div', { class: 'actions' }, button('Dismiss', `dismiss-session-${sid}`, () => { state.ended.delete(sid); invalidate('sessions'); }, { cls: 'small ghost' })) : null);
}

function progressRow(s, it, end, pol) {
  const sid = s.session, iid = it.item;
  const refs = {
    bar: progressBar(`progress-${sid}-${iid}`, it),
    steps: el('span', { class: 'steps', testid: `steps-${sid}-${iid}` }),
    status: el('span', { class: 'badge', testid: `status-${sid}-${iid}` }),
    text: el('span', { class: 'ptext', testid: `text-${sid}-${iid}` }),
    stop: !end && allowed(itemPolicies(s.handler, iid, pol), 'stop')
      ? button('Stop', `stop-${s.handler}-${iid}`, () => control('stop', { handler: s.handler, items: [iid] }), { cls: 'small', aria: `Stop ${itemName(s.handler, iid)}` })
      : null,
  };
  refs.row = el('li', { class: 'progress-row', testid: `row-${sid}-${iid}` },
    el('div', { class: 'row-head' }, el('strong', { text: itemName(s.handler, iid) }), refs.status),
    refs.bar,
    el('div', { class: 'row-foot' }, refs.steps, refs.text, refs.stop));
  fillRow(refs, it);
  state.rowRefs.set(`${sid}\n${iid}`, refs);
  return refs.row;
}

function itemPolicies(handler, item, handlerPolicies) {
  const it = (state.items.get(handler) || []).find((i) => i.item === item);
  return new Set([...handlerPolicies, ...(it?.policies || [])]);
}

function statusLabel(it) {
  if (FINAL.has(it.status)) return it.status;
  if (it.cancel_requested) return 'stopping';
  if (it.status === 'updating' || it.status === 'updating_indeterminate') return 'updating';
  return 'pending';
}

function fillRow(refs, it) {
  updateBar(refs.bar, it);
  refs.steps.textContent = numbersText(it);
  const label = statusLabel(it);
  refs.status.textContent = label;
  refs.status.dataset.status = it.status || '';
  refs.status.className = `badge st-${label}`;
  refs.text.textContent = it.text || '';
  refs.row.dataset.status = it.status || '';
  if (refs.stop) refs.stop.hidden = FINAL.has(it.status);
}

// ---------------------------------------------------------------------------------------------
// View 3: Sync Results (events)

function buildResultsShell() {
  const f = state.events.filter;
  const handlerSel = el('select', { id: 'filter-handler', testid: 'filter-handler' });
  const form = el('form', { class: 'filters', role: 'search', testid: 'events-filter', 'aria-label': 'Filter results' },
    el('label', { class: 'field' }, el('span', { text: 'Handler' }), handlerSel),
    el('label', { class: 'field' }, el('span', { text: 'Item' }),
      el('input', { type: 'text', id: 'filter-item', testid: 'filter-item', value: f.item, placeholder: 'any item', autocomplete: 'off' })),
    el('fieldset', { class: 'field levels' }, el('legend', { text: 'Level' }),
      LEVELS.map((l) => el('label', { class: 'check' },
        el('input', { type: 'checkbox', value: l, testid: `filter-level-${l}`, checked: f.levels.includes(l) }), ` ${l}`))),
    el('label', { class: 'field' }, el('span', { text: 'Since' }),
      el('input', { type: 'datetime-local', id: 'filter-since', testid: 'filter-since', value: f.since })),
    el('label', { class: 'field' }, el('span', { text: 'Until' }),
      el('input', { type: 'datetime-local', id: 'filter-until', testid: 'filter-until', value: f.until })),
    el('div', { class: 'actions' },
      el('button', { type: 'submit', class: 'btn primary', testid: 'filter-apply', text: 'Apply' }),
      el('button', { type: 'button', class: 'btn', testid: 'filter-reset', text: 'Reset', onclick: resetFilter }),
      button('Clear results…', 'clear-events', clearEvents, { cls: 'danger' })));
  form.addEventListener('submit', (e) => { e.preventDefault(); applyFilter(); });
  // Selects, checkboxes and dates apply at once; the item text field applies on Enter / Apply.
  form.addEventListener('change', (e) => { if (e.target.type !== 'text') applyFilter(); });
  const shell = {
    form, handlerSel,
    notice: el('div', { class: 'notice', testid: 'events-notice', hidden: true }),
    list: el('div', { class: 'events-list', testid: 'events-list' }),
    pager: el('div', { class: 'pager', testid: 'events-pager' }),
    details: el('aside', { class: 'details', testid: 'event-details', 'aria-label': 'Result details' }),
  };
  setChildren($('#view-results'), el('h2', { class: 'view-title', text: 'Sync Results' }), form, shell.notice,
    el('div', { class: 'results-layout' }, el('div', {}, shell.list, shell.pager), shell.details));
  return shell;
}

function readFilter() {
  const form = state.events.shell.form;
  return {
    handler: form.querySelector('#filter-handler').value,
    item: form.querySelector('#filter-item').value.trim(),
    levels: [...form.querySelectorAll('.levels input:checked')].map((i) => i.value),
    since: form.querySelector('#filter-since').value,
    until: form.querySelector('#filter-until').value,
  };
}

function applyFilter() {
  state.events.filter = readFilter();
  state.events.cursors = [];
  state.events.selected = null;
  loadEvents(null).catch(() => {});
}

function resetFilter() {
  state.events.filter = { handler: '', item: '', levels: [], since: '', until: '' };
  state.events.shell = null;
  state.events.cursors = [];
  state.events.selected = null;
  invalidate('results');
  loadEvents(null).catch(() => {});
}

function showResultsFor(handler, levels) {
  state.events.filter = { handler, item: '', levels, since: '', until: '' };
  state.events.shell = null;
  state.events.cursors = [];
  state.events.selected = null;
  state.events.stale = true;
  switchTab('results');
}

function fillHandlerSelect(sel) {
  const current = state.events.filter.handler;
  const opts = [el('option', { value: '', text: 'All handlers' })];
  const ids = new Set(state.handlers.map((h) => h.handler));
  if (current && !ids.has(current)) ids.add(current);
  for (const id of ids) opts.push(el('option', { value: id, text: handlerName(id) }));
  setChildren(sel, ...opts);
  sel.value = current;
}

function renderResults() {
  const ev = state.events;
  if (!ev.shell || !ev.shell.form.isConnected) ev.shell = buildResultsShell();
  const { handlerSel, notice, list, pager, details } = ev.shell;
  if (document.activeElement !== handlerSel) fillHandlerSelect(handlerSel);
  notice.hidden = !ev.fresh;
  setChildren(notice, ev.fresh ? [`${ev.fresh} new result${ev.fresh === 1 ? '' : 's'}. `,
    button('Show latest', 'events-refresh', () => { ev.cursors = []; return loadEvents(null); }, { cls: 'small' })] : []);
  setChildren(list, ev.list.length
    ? el('ul', { class: 'event-rows', role: 'list' }, ev.list.map(eventRow))
    : el('p', { class: 'empty', testid: 'no-events', text: ev.stale ? 'Loading…' : 'No results match the filter.' }));
  const page = ev.cursors.length + 1;
  setChildren(pager,
    el('span', { class: 'muted small', testid: 'events-total', text: `${ev.total} result${ev.total === 1 ? '' : 's'} · page ${page}` }),
    el('button', { type: 'button', class: 'btn small', testid: 'page-first', text: 'First', disabled: page === 1,
      onclick: () => { ev.cursors = []; loadEvents(null).catch(() => {}); } }),
    el('button', { type: 'button', class: 'btn small', testid: 'page-prev', text: 'Previous', disabled: page === 1,
      onclick: () => { loadEvents(ev.cursors.pop() ?? null).catch(() => {}); } }),
    el('button', { type: 'button', class: 'btn small', testid: 'page-next', text: 'Next page', disabled: ev.next === null,
      onclick: () => { ev.cursors.push(ev.after); loadEvents(ev.next).catch(() => {}); } }));
  renderDetails(details, ev.list.find((e) => e.event === ev.selected) || null);
}

function eventRow(e) {
  const id = e.event;
  const selected = state.events.selected === id;
  return el('li', { class: `event-row level-${e.level}${selected ? ' selected' : ''}`, testid: `event-${id}`, 'data-level': e.level },
    el('button', {
      type: 'button', class: 'event-select', testid: `select-event-${id}`, 'aria-pressed': String(selected),
      onclick: () => { state.events.selected = selected ? null : id; invalidate('results'); },
    },
    badge(e.level, `level ${e.level}`),
    el('span', { class: 'event-name', text: e.name }),
    el('span', { class: 'muted small', text: [handlerName(e.handler), e.item ? itemName(e.handler, e.item) : null].filter(Boolean).join(' › ') }),
    timeEl(e.time)),
    button('Remove', `remove-event-${id}`, () => removeEvent(id), { cls: 'small ghost', aria: `Remove result ${e.name}` }));
}

function safeUrl(ref) {
  try {
    const u = new URL(ref);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch { return null; }
}

function renderDetails(root, e) {
  if (!e) { setChildren(root, el('p', { class: 'muted', text: 'Select a result to see its details.' })); return; }
  const rows = [
    ['Level', e.level], ['Time', timeEl(e.time)], ['Handler', handlerName(e.handler)],
    ['Item', e.item ? itemName(e.handler, e.item) : null], ['Session', e.session],
  ];
  let link = null;
  if (e.link_reference) {
    const url = safeUrl(e.link_reference);
    link = url
      ? el('a', { href: url, target: '_blank', rel: 'noopener noreferrer', testid: 'event-link', text: e.link_text || e.link_reference })
      : el('span', { testid: 'event-link-text', text: e.link_text ? `${e.link_text} (${e.link_reference})` : e.link_reference });
  }
  const ctx = e.context === undefined || e.context === null ? null
    : (typeof e.context === 'string' ? e.context : JSON.stringify(e.context, null, 2));
  setChildren(root,
    el('h3', { text: e.name, testid: 'event-details-name' }),
    el('dl', { class: 'meta' }, rows.filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)])),
    e.description ? el('p', { class: 'description', testid: 'event-description', text: e.description }) : null,
    link ? el('p', {}, link) : null,
    ctx ? [el('h4', { text: 'Context' }), el('pre', { class: 'context', testid: 'event-context', text: ctx })] : null,
    e.session ? runLog(e.session, e.item) : null,
    button('Remove', `remove-selected-event`, () => removeEvent(e.event), { cls: 'small ghost' }));
}

// The "log" link: the first page of the run's whole output (`logs.read`; a session a client reported has none).
function runLog(session, item) {
  const out = el('pre', { class: 'context', testid: 'run-log' });
  out.hidden = true;
  const query = item ? `?item=${encodeURIComponent(item)}` : '';
  const show = async () => {
    try {
      const page = await api('GET', `/sessions/${encodeURIComponent(session)}/log${query}`, undefined, { quiet: true });
      out.textContent = page.text + (page.complete ? '' : `\n… the rest: synccenter logs ${session}`);
    } catch (err) { out.textContent = err.message; }
    out.hidden = false;
  };
  return [button('log', 'show-run-log', show, { cls: 'small ghost', aria: 'Show the run log' }), out];
}

async function removeEvent(id) {
  await api('DELETE', `/events/${encodeURIComponent(id)}`);
  dropEvents([id]);
  refreshHandlersSoon();
}

function dropEvents(ids) {
  const ev = state.events;
  const gone = new Set(ids.map(String));
  const before = ev.list.length;
  ev.list = ev.list.filter((e) => !gone.has(String(e.event)));
  ev.total = Math.max(0, ev.total - (before - ev.list.length));
  if (ev.selected !== null && gone.has(String(ev.selected))) ev.selected = null;
  invalidate('results');
}

function describeFilter(f) {
  const parts = [];
  if (f.handler) parts.push(`handler “${handlerName(f.handler)}”`);
  if (f.item) parts.push(`item “${f.item}”`);
  if (f.levels.length) parts.push(`level ${f.levels.join('/')}`);
  if (f.since) parts.push(`since ${fmtTime(f.since)}`);
  if (f.until) parts.push(`until ${fmtTime(f.until)}`);
  return parts.length ? `all results matching ${parts.join(', ')}` : 'all results';
}

async function clearEvents() {
  const f = readFilter();
  if (!(await askConfirm('Clear results', `Remove ${describeFilter(f)}? This cannot be undone.`, 'Clear'))) return;
  const body = {};
  if (f.handler) body.handler = f.handler;
  if (f.item) body.item = f.item;
  if (f.levels.length) body.level = f.levels;
  if (f.since) body.since = toIso(f.since);
  if (f.until) body.until = toIso(f.until);
  await api('POST', '/events/clear', body);
  state.events.filter = f;
  state.events.cursors = [];
  await loadEvents(null);
  refreshHandlersSoon();
}

/** An in-page confirm dialog (not window.confirm). Resolves to true on "yes". */
function askConfirm(title, message, yesLabel) {
  return new Promise((resolve) => {
    const previous = document.activeElement;
    const no = el('button', { type: 'button', class: 'btn', testid: 'confirm-no', text: 'Cancel' });
    const yes = el('button', { type: 'button', class: 'btn danger', testid: 'confirm-yes', text: yesLabel });
    const box = el('div', { class: 'dialog', role: 'alertdialog', 'aria-modal': 'true', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-message', testid: 'confirm-dialog' },
      el('h2', { id: 'confirm-title', text: title }),
      el('p', { id: 'confirm-message', text: message }),
      el('div', { class: 'actions end' }, no, yes));
    const overlay = el('div', { class: 'overlay', testid: 'confirm-overlay' }, box);
    const onKey = (e) => {
      if (e.key === 'Escape') close(false);
      else if (e.key === 'Tab') { e.preventDefault(); (document.activeElement === no ? yes : no).focus(); }
    };
    function close(answer) {
      document.removeEventListener('keydown', onKey, true);
      overlay.remove();
      previous?.focus?.();
      resolve(answer);
    }
    no.addEventListener('click', () => close(false));
    yes.addEventListener('click', () => close(true));
    overlay.addEventListener('click', (e) => { if (e.target === overlay) close(false); });
    document.addEventListener('keydown', onKey, true);
    document.body.append(overlay);
    no.focus();
  });
}

// ---------------------------------------------------------------------------------------------
// View 4: Conflicts

function renderConflicts() {
  const c = state.conflicts;
  const list = c.list;
  setChildren($('#view-conflicts'),
    el('h2', { class: 'view-title', text: 'Conflicts' }),
    list.length
      ? el('div', { class: 'conflicts', testid: 'conflict-list' }, list.map(conflictCard))
      : el('p', { class: 'empty', testid: 'no-conflicts', text: c.stale ? 'Loading…' : 'There are no conflicts.' }));
}

function choiceLabel(choice) {
  if (choice === 'keep_recent') return 'keep the most recent version';
  if (choice === 'remove_from_sync_set') return 'stop syncing this item';
  if (choice && typeof choice === 'object') {
    if (Array.isArray(choice.keep)) {
      const n = choice.keep.map((k) => num(k.index) + 1);
      return n.length === 1 ? `keep version ${n[0]}` : `keep versions ${n.join(', ')}`;
    }
    if (choice.keep_other !== undefined) return `keep other: ${choice.keep_other}`;
  }
  return typeof choice === 'string' ? choice.replaceAll('_', ' ') : JSON.stringify(choice);
}

function conflictCard(c) {
  const cid = c.conflict;
  const ab = new Set(c.abilities || []);
  const resolved = Boolean(c.resolution);
  const choices = [];
  if (ab.has('keep_multiple')) {
    choices.push(choiceButton(c, c.versions.length > 2 ? 'Keep all' : 'Keep both', `keep-all-${cid}`, { keep: c.versions.map((_, i) => ({ index: i })) }));
  }
  if (ab.has('keep_recent')) choices.push(choiceButton(c, 'Keep most recent', `keep-recent-${cid}`, 'keep_recent'));
  if (ab.has('keep_other')) {
    choices.push(el('button', {
      type: 'button', class: 'btn', testid: `keep-other-${cid}`, text: 'Keep other…', disabled: resolved,
      'aria-expanded': String(state.conflicts.otherOpen.has(cid)),
      onclick: () => { toggleSet(state.conflicts.otherOpen, cid); invalidate('conflicts'); },
    }));
  }
  if (ab.has('remove_from_sync_set')) choices.push(choiceButton(c, 'Stop syncing this item', `remove-from-sync-${cid}`, 'remove_from_sync_set'));
  return el('article', { class: `card conflict${resolved ? ' resolved' : ''}`, testid: `conflict-${cid}`, 'data-resolved': String(resolved) },
    el('div', { class: 'card-head' },
      el('h3', { class: 'card-title', text: c.name }),
      el('div', { class: 'badges' }, badge(handlerName(c.handler), ''), c.item ? badge(itemName(c.handler, c.item), '') : null)),
    c.description ? el('p', { text: c.description }) : null,
    el('p', { class: 'muted small' }, 'Detected ', timeEl(c.detected_at)),
    el('div', { class: 'versions', role: 'list' }, (c.versions || []).map((v, i) => versionCard(c, v, i, resolved))),
    choices.length ? el('div', { class: 'actions', role: 'group', 'aria-label': 'Resolution choices' }, choices) : null,
    state.conflicts.otherOpen.has(cid) && !resolved ? keepOtherForm(c) : null,
    el('label', { class: 'check' },
      el('input', {
        type: 'checkbox', testid: `apply-all-${cid}`, checked: state.conflicts.applyAll.has(cid), disabled: resolved,
        onchange: (e) => { if (e.target.checked) state.conflicts.applyAll.add(cid); else state.conflicts.applyAll.delete(cid); },
      }), ' Apply to all similar conflicts'),
    resolved ? el('p', { class: 'resolution', role: 'status', testid: `resolution-${cid}` },
      `Resolution requested: ${choiceLabel(c.resolution.choice)}`,
      c.resolution.requested_at ? [' (', timeEl(c.resolution.requested_at), ')'] : null) : null);
}

function versionCard(c, v, i, resolved) {
  const cid = c.conflict;
  const name = v.alternate_name || v.original_name;
  return el('div', { class: 'version', role: 'listitem', testid: `version-${cid}-${i}` },
    el('h4', { text: `Version ${i + 1}` }),
    el('dl', { class: 'meta' },
      el('dt', { text: 'Location' }), el('dd', { title: v.location_full || '', text: v.location_short || v.location_full || '—' }),
      name ? [el('dt', { text: 'Name' }), el('dd', { text: name })] : null,
      v.original_name && v.alternate_name && v.original_name !== v.alternate_name ? [el('dt', { text: 'Original' }), el('dd', { text: v.original_name })] : null,
      el('dt', { text: 'Modified' }), el('dd', {}, timeEl(v.modified)),
      el('dt', { text: 'Size' }), el('dd', { text: fmtSize(v.size) }),
      (v.types || []).length ? [el('dt', { text: 'Type' }), el('dd', { text: v.types.join(', ') })] : null),
    choiceButton(c, 'Keep this version', `keep-${cid}-${i}`, { keep: [{ index: i }] }, 'primary', resolved));
}

function choiceButton(c, label, testid, choice, cls = '', disabled = Boolean(c.resolution)) {
  const b = button(label, testid, () => resolveConflict(c, choice), { cls });
  b.disabled = disabled;
  return b;
}

function keepOtherForm(c) {
  const cid = c.conflict;
  const input = el('input', {
    type: 'text', id: `keep-other-path-${cid}`, testid: `keep-other-path-${cid}`, required: true,
    value: state.conflicts.drafts.get(cid) || '', placeholder: '/path/to/the/version/to/keep', autocomplete: 'off',
    oninput: (e) => state.conflicts.drafts.set(cid, e.target.value),
  });
  const form = el('form', { class: 'keep-other', testid: `keep-other-form-${cid}` },
    el('label', { class: 'field', for: `keep-other-path-${cid}` }, el('span', { text: 'Keep the version at' }), input),
    el('div', { class: 'actions' },
      el('button', { type: 'submit', class: 'btn primary', testid: `keep-other-submit-${cid}`, text: 'Keep this file' }),
      el('button', { type: 'button', class: 'btn', testid: `keep-other-cancel-${cid}`, text: 'Cancel',
        onclick: () => { state.conflicts.otherOpen.delete(cid); invalidate('conflicts'); } })));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const path = input.value.trim();
    if (path) resolveConflict(c, { keep_other: path }).catch(() => {});
  });
  return form;
}

async function resolveConflict(c, choice) {
  const cid = c.conflict;
  await api('POST', `/conflicts/${encodeURIComponent(cid)}/resolve`, { choice, apply_to_all: state.conflicts.applyAll.has(cid) });
  c.resolution = { choice, requested_at: new Date().toISOString() };
  state.conflicts.otherOpen.delete(cid);
  invalidate('conflicts', 'chrome');
  reloadConflictsSoon();
}

function toggleSet(set, v) { if (set.has(v)) set.delete(v); else set.add(v); }

// ---------------------------------------------------------------------------------------------
// View 5: Fleet (every host of a shared database, each with its liveness, handlers and sessions)

function hostState(h) {
  if (h.up) return { key: 'up', label: 'up' };
  if (h.down_since) return { key: 'down', label: `down since ${fmtTime(h.down_since)}` };
  // Silent past the bound but not (yet) declared down by any host.
  return { key: 'silent', label: 'not responding' };
}

function fleetHandlerState(h, syncing) {
  if (h.paused) return { key: 'paused', label: h.paused_until ? `paused until ${fmtTime(h.paused_until)}` : 'paused' };
  if (syncing) return { key: 'syncing', label: 'syncing' };
  if (!h.active) return { key: 'inactive', label: 'inactive' };
  if (!h.enabled) return { key: 'disabled', label: 'disabled' };
  return { key: 'idle', label: 'idle' };
}

/** Groups the /fleet document by host: this host first, then by name. */
function fleetGroups(d) {
  const groups = new Map();
  const group = (host) => {
    if (!groups.has(host)) groups.set(host, { info: { host, up: false, this_host: false }, handlers: [], sessions: [] });
    return groups.get(host);
  };
  for (const h of listOf(d.hosts, 'hosts')) group(h.host).info = h;
  for (const h of listOf(d.handlers, 'handlers')) group(h.host).handlers.push(h);
  for (const s of listOf(d.sessions, 'sessions')) group(s.host).sessions.push(s);
  return [...groups.values()].sort((a, b) => (Number(Boolean(b.info.this_host)) - Number(Boolean(a.info.this_host)))
    || String(a.info.host).localeCompare(String(b.info.host)));
}

function renderFleet() {
  const f = state.fleet;
  const root = $('#view-fleet');
  state.fleetRows.clear();
  const title = el('h2', { class: 'view-title', text: 'Fleet' });
  const d = f.data;
  if (!d) {
    setChildren(root, title, el('p', { class: 'empty', testid: 'fleet-loading', text: f.error ? `Cannot load the fleet: ${f.error}` : 'Loading…' }));
    return;
  }
  const groups = fleetGroups(d);
  const up = groups.filter((g) => g.info.up).length;
  const live = listOf(d.sessions, 'sessions').length;
  setChildren(root,
    el('div', { class: 'toolbar' }, title,
      el('p', { class: 'muted small', testid: 'fleet-summary',
        text: `${groups.length} host${groups.length === 1 ? '' : 's'} · ${up} up · ${live} syncing` })),
    f.error ? el('div', { class: 'notice', role: 'status', testid: 'fleet-error', text: `Last refresh failed: ${f.error}` }) : null,
    d.shared ? null : el('div', { class: 'notice', testid: 'fleet-local',
      text: 'This daemon keeps its own store: a fleet of one. Point several daemons at one PostgreSQL database to see and control them all here.' }),
    el('div', { class: 'hosts', testid: 'host-list' }, groups.map(hostCard)));
}

function hostCard(g) {
  const info = g.info;
  const name = info.host;
  const st = hostState(info);
  const titleId = `host-title-${name}`;
  const handlers = g.handlers;
  return el('article', {
    class: `card host host-${st.key}`, testid: `host-${name}`, 'data-state': st.key,
    'data-this-host': String(Boolean(info.this_host)), 'aria-labelledby': titleId,
  },
  el('div', { class: 'card-head' },
    el('h3', { class: 'card-title', id: titleId, text: name }),
    el('div', { class: 'badges' },
      info.this_host ? badge('this host', 'this-host', `this-host-${name}`) : null,
      badge(st.label, `liveness ${st.key}`, `host-state-${name}`, { 'data-state': st.key }))),
  el('p', { class: 'muted small host-meta' },
    'Last seen ', timeEl(info.seen_at, `host-seen-${name}`), ' · started ', timeEl(info.started_at),
    info.version ? ` · version ${info.version}` : null),
  handlers.length
    ? el('ul', { class: 'fleet-handlers', role: 'list', testid: `host-handlers-${name}`, 'aria-label': `Sync partnerships on ${name}` },
      handlers.map((h) => fleetHandlerRow(info, h, g.sessions)))
    : el('p', { class: 'muted small', testid: `host-no-handlers-${name}`, text: 'No sync partnerships.' }),
  g.sessions.length ? [
    el('h4', { text: 'Live sessions' }),
    el('div', { class: 'fleet-sessions', testid: `host-sessions-${name}` }, g.sessions.map((s) => fleetSession(info, g, s))),
  ] : null);
}

function fleetHandlerRow(info, h, sessions) {
  const host = info.host, id = h.handler, name = h.name || id;
  const syncing = Boolean(h.syncing) || sessions.some((s) => s.handler === id);
  const st = fleetHandlerState(h, syncing);
  const canStop = syncing && info.up && allowed(new Set(h.policies || []), 'stop');
  const errors = num(h.error_count), conflicts = num(h.conflict_count);
  return el('li', { class: `fleet-handler state-${st.key}`, testid: `fleet-handler-${host}-${id}`, 'data-state': st.key },
    el('div', { class: 'fleet-handler-name' },
      el('strong', { text: name }),
      h.display_text ? el('span', { class: 'muted small', text: h.display_text }) : null),
    el('div', { class: 'badges' },
      badge(st.label, `state ${st.key}`, `fleet-state-${host}-${id}`, { 'data-state': st.key }),
      errors ? badge(`${errors} error${errors === 1 ? '' : 's'}`, 'error', `fleet-errors-${host}-${id}`) : null,
      conflicts ? badge(`${conflicts} conflict${conflicts === 1 ? '' : 's'}`, 'warn', `fleet-conflicts-${host}-${id}`) : null),
    canStop ? button('Stop', `fleet-stop-${host}-${id}`, () => fleetStop(host, id), { cls: 'small', aria: `Stop syncing ${name} on ${host}` }) : null);
}

async function fleetStop(host, handler) {
  // The daemon forwards the call to `host` through the shared database and answers with that host's reply.
  await api('POST', '/control/stop', { host, handler });
  await loadFleet();
}

function fleetSession(info, g, s) {
  // This host's sessions come from the live stream (fresher than the store); others' as of their last flush.
  const local = info.this_host ? state.sessions.get(s.session) : null;
  const items = local ? local.items : (Array.isArray(s.items) ? s.items : []);
  const handler = g.handlers.find((h) => h.handler === s.handler);
  const label = handler?.name || s.handler;
  const stopping = Boolean(local?.stop_all);
  return el('article', { class: 'fleet-session', testid: `fleet-session-${s.session}`, 'aria-label': `Session of ${label} on ${info.host}` },
    el('div', { class: 'row-head' },
      el('strong', { text: label }),
      el('div', { class: 'badges' },
        s.manual ? badge('manual', '') : badge('scheduled', ''),
        badge(stopping ? 'stopping…' : 'syncing', stopping ? 'warn' : 'state syncing'))),
    el('p', { class: 'muted small' }, 'Started ', timeEl(s.started_at)),
    items.length
      ? el('ul', { class: 'progress-list', role: 'list' }, items.map((it) => fleetItemRow(info, s, it)))
      : el('p', { class: 'muted small', text: 'Preparing…' }));
}

function fleetItemRow(info, s, it) {
  const sid = s.session, iid = it.item;
  const refs = {
    bar: progressBar(`fleet-progress-${sid}-${iid}`, it),
    steps: el('span', { class: 'steps', testid: `fleet-steps-${sid}-${iid}` }),
    status: el('span', { class: 'badge', testid: `fleet-status-${sid}-${iid}` }),
    text: el('span', { class: 'ptext' }),
    stop: null,
  };
  refs.row = el('li', { class: 'progress-row', testid: `fleet-row-${sid}-${iid}` },
    el('div', { class: 'row-head' }, el('strong', { text: info.this_host ? itemName(s.handler, iid) : iid }), refs.status),
    refs.bar,
    el('div', { class: 'row-foot' }, refs.steps, refs.text));
  fillRow(refs, it);
  if (info.this_host) state.fleetRows.set(`${sid}\n${iid}`, refs);
  return refs.row;
}

// ---------------------------------------------------------------------------------------------
// Live stream

function parse(data) {
  try { return JSON.parse(data); } catch { return null; }
}

function connectStream() {
  if (typeof EventSource === 'undefined') {
    loadAll().then(() => { state.pendingReady = true; invalidate('chrome'); });
    return;
  }
  const es = new EventSource(`${API}/stream`, { withCredentials: true });
  es.addEventListener('open', () => setConnected(true));
  es.addEventListener('error', () => {
    setConnected(es.readyState === EventSource.OPEN);
    if (es.readyState === EventSource.CLOSED) setTimeout(connectStream, 5000); // gave up: retry ourselves
  });
  es.addEventListener('snapshot', (e) => { const d = parse(e.data); if (d) onSnapshot(d); });
  es.addEventListener('update', (e) => { const d = parse(e.data); if (d) onUpdate(d); });
  es.addEventListener('reset', () => { loadAll(); });
}

function onSnapshot(d) {
  setConnected(true);
  state.gotSnapshot = true;
  state.handlers = listOf(d.handlers, 'handlers');
  state.sessions = new Map(listOf(d.sessions, 'sessions').map((s) => [s.session, normSession(s)]));
  for (const id of state.expanded) loadItems(id);
  state.events.stale = true;
  state.conflicts.stale = true;
  loadStatus();
  loadForTab();
  state.pendingReady = true;
  invalidate('chrome', state.tab);
}

const UPDATE = {
  session_started(u) {
    const s = normSession(u.session || {});
    if (!s.session) return;
    state.sessions.set(s.session, s);
    state.ended.delete(s.session);
    invalidate('chrome', 'sessions', 'handlers');
    refreshSoon();
  },
  progress(u) {
    const s = state.sessions.get(u.session);
    if (!s) { loadSessions().catch(() => {}); return; }
    let it = s.items.find((i) => i.item === u.item);
    const added = !it;
    if (added) { it = { item: u.item, step: 0, max_step: 0, text: '' }; s.items.push(it); }
    if (u.status !== undefined && u.status !== null) it.status = u.status;
    it.step = num(u.step);
    it.max_step = num(u.max_step);
    it.amount = u.amount || null;
    measure(`${u.session}\n${u.item}`, it);
    if (u.text !== undefined) it.text = u.text;
    const refs = state.rowRefs.get(`${u.session}\n${u.item}`);
    if (!added && state.tab === 'sessions' && refs && refs.row.isConnected) fillRow(refs, it);
    else invalidate('sessions');
    if (state.expanded.has(s.handler)) invalidate('handlers');
  },
  handler_text(u) {
    const s = state.sessions.get(u.session);
    if (s) { s.handler_text = u.text; invalidate('sessions'); }
  },
  cancel_requested(u) {
    const s = state.sessions.get(u.session);
    if (!s) return;
    const on = u.cancel !== 'none' && u.cancel !== 0 && u.cancel !== false;
    if (u.item) {
      const it = s.items.find((i) => i.item === u.item);
      if (it) it.cancel_requested = on;
    } else s.stop_all = on;
    invalidate('sessions');
  },
  session_ended(u) {
    const s = state.sessions.get(u.session) || { session: u.session, handler: u.handler, items: [] };
    state.sessions.delete(u.session);
    for (const key of [...state.meters.keys()]) if (key.startsWith(`${u.session}\n`)) state.meters.delete(key);
    state.ended.set(u.session, { session: s, end: u });
    while (state.ended.size > MAX_ENDED) state.ended.delete(state.ended.keys().next().value);
    state.charts.delete(u.handler);
    if (state.expanded.has(u.handler)) loadItems(u.handler);
    invalidate('chrome', 'sessions', 'handlers');
    refreshSoon();
  },
  event_added() {
    const ev = state.events;
    if (state.tab === 'results' && ev.cursors.length === 0 && !ev.stale) reloadEventsSoon();
    else if (state.tab === 'results') { ev.fresh += 1; invalidate('results'); } else ev.stale = true;
    refreshHandlersSoon();
  },
  events_removed(u) {
    if (Array.isArray(u.removed)) dropEvents(u.removed);
    else if (state.tab === 'results') reloadEventsSoon();
    else state.events.stale = true;
    refreshHandlersSoon();
  },
  conflicts_changed() {
    if (state.tab === 'conflicts') reloadConflictsSoon();
    else state.conflicts.stale = true;
    refreshHandlersSoon();
  },
  registry_changed(u) {
    if (u.handler) { state.items.delete(u.handler); state.charts.delete(u.handler); }
    refreshSoon();
  },
};

function onUpdate(u) {
  const fn = UPDATE[u.type];
  if (fn) fn(u);
  if (state.tab !== 'fleet') return;
  // This host's live progress is drawn from the stream, in place; other changes alter what /fleet answers.
  if (u.type === 'progress') {
    const refs = state.fleetRows.get(`${u.session}\n${u.item}`);
    const it = state.sessions.get(u.session)?.items.find((i) => i.item === u.item);
    if (refs && refs.row.isConnected && it) fillRow(refs, it);
    else if (listOf(state.fleet.data?.sessions, 'sessions').some((s) => s.session === u.session)) invalidate('fleet');
  } else if (u.type !== 'handler_text') {
    invalidate('fleet');
    reloadFleetSoon();
  }
}

// ---------------------------------------------------------------------------------------------
// Tabs and start-up

function switchTab(tab, { focus = false } = {}) {
  if (!TABS.includes(tab)) tab = 'handlers';
  state.tab = tab;
  for (const t of TABS) {
    const btn = $(`#tab-${t}`);
    const panel = $(`#view-${t}`);
    const on = t === tab;
    btn.setAttribute('aria-selected', String(on));
    btn.tabIndex = on ? 0 : -1;
    panel.hidden = !on;
    // Inactive views are emptied so test ids (e.g. stop-<handler>-<item>) stay unique on the page.
    if (!on && t !== 'results') panel.replaceChildren();
  }
  if (focus) $(`#tab-${tab}`).focus();
  if (location.hash !== `#${tab}`) history.replaceState(null, '', `#${tab}`);
  loadForTab();
  invalidate(tab, 'chrome');
}

function wireChrome() {
  $('#error-dismiss').addEventListener('click', () => { $('#error-banner').hidden = true; });
  $('#sync-all').addEventListener('click', () => control('start', {}).catch(() => {}));
  $('#pause-all').addEventListener('click', () => control('pause', pauseBody(null)).catch(() => {}));
  $('#resume-all').addEventListener('click', () => control('resume', {}).catch(() => {}));
  const tablist = $('.tabs');
  tablist.addEventListener('click', (e) => {
    const t = e.target.closest('[data-tab]');
    if (t) switchTab(t.dataset.tab);
  });
  tablist.addEventListener('keydown', (e) => {
    const i = TABS.indexOf(state.tab);
    let next = null;
    if (e.key === 'ArrowRight') next = TABS[(i + 1) % TABS.length];
    else if (e.key === 'ArrowLeft') next = TABS[(i + TABS.length - 1) % TABS.length];
    else if (e.key === 'Home') next = TABS[0];
    else if (e.key === 'End') next = TABS[TABS.length - 1];
    if (next) { e.preventDefault(); switchTab(next, { focus: true }); }
  });
  window.addEventListener('hashchange', () => switchTab(location.hash.slice(1)));
}

function start() {
  wireChrome();
  setConnected(false);
  switchTab(location.hash.slice(1) || 'handlers');
  loadStatus();
  connectStream();
  // If the stream does not deliver a snapshot soon (proxy buffering, old browser), load by REST.
  setTimeout(() => { if (!state.gotSnapshot) { loadHandlers().catch(() => {}); loadSessions().catch(() => {}); } }, 3000);
  setInterval(() => { if (!document.hidden) loadStatus(); }, 30000);
  // Other hosts' changes do not reach this daemon's stream: poll while the Fleet view is shown.
  setInterval(() => { if (state.tab === 'fleet' && !document.hidden) loadFleet(); }, FLEET_REFRESH_MS);
  document.addEventListener('visibilitychange', () => { if (state.tab === 'fleet' && !document.hidden) loadFleet(); });
}

start();
