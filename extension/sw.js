// Tabwright's service worker: the bridge between the Tabwright host (native messaging) and
// the tabs of the "Tabwright" tab group (chrome.debugger). Protocol: PROTOCOL.md.
//
// It connects to the host at start, reconnects with backoff when the port drops, and while the
// port is open it stays alive (an open native port keeps a service worker running; a light
// heartbeat covers older browsers). It only ever touches tabs in its own group, and popups
// those tabs open.

import {
  GROUP_TITLE,
  HOST_NAME,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  Reassembler,
} from "./protocol.js";

const MAX_BACKOFF_MS = 5000;

let port = null;
let backoff = 200;
let reconnectTimer = null;
let heartbeat = null;
let reassembler = new Reassembler();
/** Tabs the debugger is attached to (by us). */
const attached = new Set();
/** Tabs we announced to the host, so removals are reported once. */
const announced = new Set();
/** Tabs opened by our tabs that cannot join a group (popup windows). */
const adopted = new Set();
/** tabId → DevTools target id. */
const targetIds = new Map();

function log(...args) {
  console.debug("[tabwright]", ...args);
}

/** The fast channel: a WebSocket to the host's relay, opened from the welcome's URL. */
let fast = null;
let fastUrl = null;
let fastRetry = null;

/**
 * Opens the fast channel. Chrome hands a native-messaging frame to this worker late (several
 * ms) when the browser was idle; a WebSocket message arrives at once. Everything goes over it
 * while it is open; the native port stays the control line and the fallback.
 */
function openChannel(url) {
  fastUrl = url;
  if (fast || !port || !url) return;
  let ws;
  try {
    ws = new WebSocket(url);
  } catch (e) {
    log("fast channel", e);
    return;
  }
  ws.onopen = () => {
    if (fastUrl === url && port) fast = ws;
    else ws.close();
  };
  ws.onmessage = (e) => {
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch (err) {
      log("bad message on the fast channel", err);
      return;
    }
    onHostMessage(msg);
  };
  ws.onclose = () => {
    if (fast === ws) fast = null;
    // The host is still there (its port is open): try again in a moment.
    if (port && fastUrl === url && fastRetry === null) {
      fastRetry = setTimeout(() => {
        fastRetry = null;
        if (port && fastUrl === url) openChannel(url);
      }, 1000);
    }
  };
  ws.onerror = () => {};
}

function closeChannel() {
  fastUrl = null;
  if (fastRetry !== null) clearTimeout(fastRetry);
  fastRetry = null;
  if (fast) fast.close();
  fast = null;
}

function send(msg) {
  if (fast && fast.readyState === WebSocket.OPEN) {
    try {
      fast.send(JSON.stringify(msg));
      return;
    } catch (e) {
      log("fast channel send failed; using the native port", e);
    }
  }
  if (!port) return;
  try {
    port.postMessage(msg);
  } catch (e) {
    log("postMessage failed", e);
  }
}

function event(name, params) {
  send({ type: "event", event: name, params });
}

function scheduleReconnect() {
  if (reconnectTimer !== null) return;
  const wait = backoff;
  backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  reconnectTimer = setTimeout(() => {
    reconnectTimer = null;
    connect();
  }, wait);
}

let cachedInfo = null;

async function browserInfo() {
  if (cachedInfo) return cachedInfo;
  cachedInfo = await Promise.race([
    readBrowserInfo(),
    new Promise((resolve) => setTimeout(() => resolve(null), 500)),
  ]);
  if (!cachedInfo) {
    const m = /Chrome\/([\d.]+)/.exec(navigator.userAgent);
    return { product: m ? `Chrome/${m[1]}` : "Chrome/unknown", brand: "Chromium", userAgent: navigator.userAgent };
  }
  return cachedInfo;
}

async function readBrowserInfo() {
  let product = "";
  let brand = "Chromium";
  try {
    const d = await navigator.userAgentData.getHighEntropyValues(["fullVersionList"]);
    const list = d.fullVersionList || [];
    const pick =
      list.find((b) => /Edge|Brave|Vivaldi|Opera/.test(b.brand)) ||
      list.find((b) => b.brand === "Google Chrome") ||
      list.find((b) => b.brand === "Chromium");
    if (pick) {
      brand = pick.brand;
      product = `Chrome/${pick.version}`;
    }
  } catch (_) {
    // userAgentData is missing in some browsers; the user agent string is enough.
  }
  if (!product) {
    const m = /Chrome\/([\d.]+)/.exec(navigator.userAgent);
    product = m ? `Chrome/${m[1]}` : "Chrome/unknown";
  }
  return { product, brand, userAgent: navigator.userAgent };
}

async function connect() {
  if (port) return;
  let p;
  try {
    p = chrome.runtime.connectNative(HOST_NAME);
  } catch (e) {
    log("connectNative failed", e);
    scheduleReconnect();
    return;
  }
  port = p;
  reassembler = new Reassembler();
  p.onMessage.addListener((msg) => onHostMessage(msg));
  p.onDisconnect.addListener(() => {
    log("host disconnected", chrome.runtime.lastError?.message);
    if (port === p) port = null;
    closeChannel();
    if (heartbeat !== null) clearInterval(heartbeat);
    heartbeat = null;
    // The host is gone: nothing drives the tabs now, so let them go.
    for (const tabId of [...attached]) {
      chrome.debugger.detach({ tabId }).catch(() => {});
    }
    attached.clear();
    announced.clear();
    // Right away the first time (the worker may be winding down once its port is gone), with
    // backoff after that.
    if (backoff <= 200) {
      backoff = 400;
      connect();
    } else {
      scheduleReconnect();
    }
  });
  heartbeat = setInterval(() => chrome.runtime.getPlatformInfo(() => {}), 20000);
  const manifest = chrome.runtime.getManifest();
  send({
    type: "hello",
    protocol: PROTOCOL_VERSION,
    minProtocol: MIN_PROTOCOL_VERSION,
    extension: { id: chrome.runtime.id, version: manifest.version },
    browser: await browserInfo(),
  });
}

function onHostMessage(raw) {
  let msg;
  try {
    msg = reassembler.feed(raw);
  } catch (e) {
    log("bad chunk", e);
    return;
  }
  if (!msg) return;
  switch (msg.type) {
    case "welcome":
      backoff = 200;
      if (typeof msg.channel === "string") openChannel(msg.channel);
      if (msg.protocol < MIN_PROTOCOL_VERSION) log("host protocol too old", msg.protocol);
      return;
    case "request":
      handle(msg.method, msg.params || {}).then(
        (result) => send({ type: "response", id: msg.id, result: result ?? {} }),
        (err) => send({ type: "response", id: msg.id, error: toError(err) }),
      );
      return;
    case "ping":
      send({ type: "pong", id: msg.id });
      return;
    default:
      // Reserved kinds (side panel: chat, approvals) and unknown ones are ignored.
      return;
  }
}

/** Turns a thrown value into {code, message}; CDP errors arrive as JSON text. */
function toError(err) {
  if (err && !(err instanceof Error) && typeof err.message === "string") {
    return { code: err.code ?? -32000, message: err.message };
  }
  const text = (err && err.message) || String(err);
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed.message === "string") {
      return { code: parsed.code ?? -32000, message: parsed.message, data: parsed.data };
    }
  } catch (_) {
    // Not JSON: a plain extension error.
  }
  return { code: -32000, message: text };
}

// ---- tabs and the group ----

async function ourGroupIds() {
  const groups = await chrome.tabGroups.query({ title: GROUP_TITLE });
  return new Set(groups.map((g) => g.id));
}

async function isOurs(tab, groups) {
  if (adopted.has(tab.id)) return true;
  const ids = groups ?? (await ourGroupIds());
  return tab.groupId !== undefined && tab.groupId !== -1 && ids.has(tab.groupId);
}

async function targetIdOf(tabId) {
  if (targetIds.has(tabId)) return targetIds.get(tabId);
  const targets = await chrome.debugger.getTargets();
  for (const t of targets) {
    if (t.tabId !== undefined && t.type === "page") targetIds.set(t.tabId, t.id);
  }
  return targetIds.get(tabId) ?? null;
}

async function tabInfo(tab) {
  const info = {
    tabId: tab.id,
    targetId: await targetIdOf(tab.id),
    url: tab.pendingUrl || tab.url || "",
    title: tab.title || "",
    active: !!tab.active,
    windowId: tab.windowId,
    groupId: tab.groupId ?? -1,
    attached: attached.has(tab.id),
  };
  if (tab.openerTabId !== undefined) {
    info.openerTabId = tab.openerTabId;
    info.openerTargetId = await targetIdOf(tab.openerTabId);
  }
  return info;
}

async function listTabs() {
  // Both queries at once: each is a round trip to the browser process.
  const [groups, tabs] = await Promise.all([ourGroupIds(), chrome.tabs.query({})]);
  const ours = [];
  for (const tab of tabs) {
    if (await isOurs(tab, groups)) {
      announced.add(tab.id);
      ours.push(tab);
    }
  }
  return Promise.all(ours.map((tab) => tabInfo(tab)));
}

let creating = Promise.resolve();

/** Puts a tab in the Tabwright group (creating the group in its window when needed). */
async function joinGroup(tab) {
  const win = await chrome.windows.get(tab.windowId);
  if (win.type !== "normal") {
    adopted.add(tab.id);
    return;
  }
  const groups = await chrome.tabGroups.query({ title: GROUP_TITLE, windowId: tab.windowId });
  if (groups.length) {
    await chrome.tabs.group({ tabIds: [tab.id], groupId: groups[0].id });
  } else {
    const groupId = await chrome.tabs.group({
      tabIds: [tab.id],
      createProperties: { windowId: tab.windowId },
    });
    await chrome.tabGroups.update(groupId, { title: GROUP_TITLE, color: "blue" });
  }
}

/** The windows that hold a tab of ours (a group tab, or a popup one of them opened). */
async function windowsWithOurTabs() {
  const groups = await ourGroupIds();
  const out = new Set();
  for (const tab of await chrome.tabs.query({})) {
    if (await isOurs(tab, groups)) out.add(tab.windowId);
  }
  return out;
}

async function createTab(url, active, newWindow) {
  const run = async () => {
    const groups = await chrome.tabGroups.query({ title: GROUP_TITLE });
    const props = { url: url || "about:blank", active: active !== false };
    let tab;
    // Unless told otherwise, a new tab gets a window of its own as soon as some window holds
    // a tab of ours: a background tab does not paint (no screenshots, no animation frames), so
    // a tab being driven must stay in front of its window; and Chrome's openerTabId of a tab
    // that a page opens (popup, target=_blank) is the window's front tab, not the page that
    // opened it, so two tabs driven side by side in one window would have each other's popups
    // attributed to them. Deciding from the windows, not from which tabs are attached yet,
    // keeps it right when several tabs are created at once (the host attaches a tab only after
    // this returns). The first tab goes into the person's window.
    let own = newWindow === true;
    if (newWindow == null) own = (await windowsWithOurTabs()).size > 0;
    if (own) {
      const win = await chrome.windows.create({ url: props.url, focused: true });
      tab = win.tabs[0];
    } else if (groups.length) {
      tab = await chrome.tabs.create({ ...props, windowId: groups[0].windowId });
    } else {
      const wins = await chrome.windows.getAll({ windowTypes: ["normal"] });
      if (wins.length) {
        tab = await chrome.tabs.create({ ...props, windowId: wins[0].id });
      } else {
        const win = await chrome.windows.create({ url: props.url, focused: true });
        tab = win.tabs[0];
      }
    }
    await joinGroup(tab);
    const fresh = await chrome.tabs.get(tab.id);
    announced.add(fresh.id);
    return tabInfo(fresh);
  };
  const p = creating.then(run, run);
  creating = p.catch(() => {});
  return p;
}

async function ownTab(tabId) {
  let tab;
  try {
    tab = await chrome.tabs.get(tabId);
  } catch (_) {
    throw { code: -32000, message: `No target with given id: tab ${tabId} is closed` };
  }
  if (!(await isOurs(tab))) {
    throw {
      code: -32000,
      message: `tab ${tabId} is not in the ${GROUP_TITLE} tab group; add it to the group first`,
    };
  }
  return tab;
}

chrome.tabs.onCreated.addListener(async (tab) => {
  if (!port) return;
  try {
    // Opened by one of our tabs (popup, target=_blank): announce it at once, so the host sees
    // the new tab as fast as a plain CDP connection would; group it afterwards.
    if (tab.openerTabId !== undefined && announced.has(tab.openerTabId)) {
      announced.add(tab.id);
      adopted.add(tab.id);
      event("tab.created", await tabInfo(tab));
      if (tab.groupId === undefined || tab.groupId === -1) {
        await joinGroup(tab).catch(() => {});
      }
      return;
    }
    if (await isOurs(tab)) {
      announced.add(tab.id);
      event("tab.created", await tabInfo(tab));
    }
  } catch (e) {
    log("onCreated", e);
  }
});

chrome.tabs.onUpdated.addListener(async (tabId, change, tab) => {
  if (!port) return;
  if (!("url" in change || "title" in change || "groupId" in change || "status" in change)) return;
  try {
    if (await isOurs(tab)) {
      const first = !announced.has(tabId);
      announced.add(tabId);
      event(first ? "tab.created" : "tab.updated", await tabInfo(tab));
    } else if (announced.has(tabId)) {
      // Taken out of the group by the person: Tabwright lets go of it.
      announced.delete(tabId);
      if (attached.has(tabId)) await chrome.debugger.detach({ tabId }).catch(() => {});
      event("tab.removed", { tabId, targetId: targetIds.get(tabId) ?? null });
    }
  } catch (e) {
    log("onUpdated", e);
  }
});

chrome.tabs.onRemoved.addListener((tabId) => {
  adopted.delete(tabId);
  const targetId = targetIds.get(tabId) ?? null;
  targetIds.delete(tabId);
  if (announced.delete(tabId)) event("tab.removed", { tabId, targetId });
});

chrome.tabs.onReplaced.addListener((added, removed) => {
  targetIds.delete(removed);
  targetIds.delete(added);
});

// ---- the debugger ----

chrome.debugger.onEvent.addListener((source, method, params) => {
  if (source.tabId === undefined || !attached.has(source.tabId)) return;
  event("debugger.event", {
    tabId: source.tabId,
    sessionId: source.sessionId,
    method,
    params: params ?? {},
  });
});

chrome.debugger.onDetach.addListener((source, reason) => {
  if (source.tabId === undefined) return;
  attached.delete(source.tabId);
  event("debugger.detached", { tabId: source.tabId, reason });
});

/** Attaches in flight, by tab: a second request for the same tab waits for the first. */
const attaching = new Map();

async function attach(tabId) {
  await ownTab(tabId);
  if (attached.has(tabId)) return { alreadyAttached: true };
  // One attach per tab at a time: a second chrome.debugger.attach while the first runs would
  // get "already attached" and take the first one's session over (losing what it enabled).
  let pending = attaching.get(tabId);
  if (!pending) {
    pending = attachNow(tabId).finally(() => attaching.delete(tabId));
    attaching.set(tabId, pending);
  }
  return pending;
}

async function attachNow(tabId) {
  try {
    await chrome.debugger.attach({ tabId }, "1.3");
  } catch (e) {
    const text = (e && e.message) || String(e);
    if (/already attached/i.test(text)) {
      // Chrome says "Another debugger is already attached" only when this same extension
      // already debugs the tab (other extensions, DevTools and CDP clients may attach beside
      // it; tests/bridge.rs shows both): here, an earlier life of this worker did. Take that
      // session over.
      let why = "Chrome no longer lists the tab as debugged";
      const targets = await chrome.debugger.getTargets();
      const t = targets.find((x) => x.tabId === tabId);
      if (t && t.attached) {
        try {
          await chrome.debugger.detach({ tabId });
          await chrome.debugger.attach({ tabId }, "1.3");
          attached.add(tabId);
          return { reattached: true };
        } catch (err) {
          why = (err && err.message) || String(err);
        }
      }
      throw {
        code: -32001,
        message: `tab ${tabId} is still being debugged by an earlier run of the Tabwright extension and that session could not be taken over (${text}; ${why}): close the tab and open a new one, or reload the extension, then retry`,
      };
    }
    throw { code: -32002, message: `cannot attach to tab ${tabId}: ${text}` };
  }
  attached.add(tabId);
  return {};
}

async function handle(method, p) {
  switch (method) {
    case "tabs.list":
      return { tabs: await listTabs() };
    case "tabs.create":
      return createTab(p.url, p.active, p.newWindow);
    case "tabs.close":
      await ownTab(p.tabId);
      await chrome.tabs.remove(p.tabId);
      return {};
    case "tabs.activate": {
      const tab = await ownTab(p.tabId);
      await chrome.tabs.update(p.tabId, { active: true });
      await chrome.windows.update(tab.windowId, { focused: true }).catch(() => {});
      return {};
    }
    case "tabs.group": {
      const tab = await chrome.tabs.get(p.tabId);
      await joinGroup(tab);
      return tabInfo(await chrome.tabs.get(p.tabId));
    }
    case "debugger.attach":
      return attach(p.tabId);
    case "debugger.detach":
      attached.delete(p.tabId);
      await chrome.debugger.detach({ tabId: p.tabId }).catch(() => {});
      return {};
    case "debugger.send": {
      if (!attached.has(p.tabId)) {
        throw { code: -32000, message: `the debugger is not attached to tab ${p.tabId}` };
      }
      const target = { tabId: p.tabId };
      if (p.sessionId) target.sessionId = p.sessionId;
      return (await chrome.debugger.sendCommand(target, p.method, p.params || {})) ?? {};
    }
    case "window.get": {
      const tab = await ownTab(p.tabId);
      const w = await chrome.windows.get(tab.windowId);
      return {
        windowId: w.id,
        bounds: { left: w.left, top: w.top, width: w.width, height: w.height, windowState: w.state },
      };
    }
    case "window.setBounds": {
      const b = p.bounds || {};
      const update = {};
      for (const k of ["left", "top", "width", "height"]) if (typeof b[k] === "number") update[k] = b[k];
      if (b.windowState) update.state = b.windowState;
      await chrome.windows.update(p.windowId, update);
      return {};
    }
    case "ping":
      return { pong: true };
    case "runtime.reload":
      // For tests and `tabwright doctor`: restart the extension (and so this worker).
      setTimeout(() => chrome.runtime.reload(), 10);
      return {};
    default:
      throw { code: -32601, message: `unknown request ${method}` };
  }
}

// A periodic alarm wakes the worker (30 s is the shortest period browsers allow): if the worker
// was stopped while its host was gone, it connects again.
chrome.alarms.create("tabwright-reconnect", { periodInMinutes: 0.5 });
chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === "tabwright-reconnect") connect();
});
chrome.runtime.onStartup.addListener(connect);
chrome.runtime.onInstalled.addListener(connect);
connect();
