/*
 * Tabwright shortcut locators: describing an element so a replay can find it again, and
 * finding elements by those descriptions.
 *
 * Runs in the same ISOLATED world as the outline walker (host/src/outline/walker.js) and uses
 * its API (__tabwright.lineOf / refOf / element / candidates) for roles, names and refs.
 * Evaluating this file returns the API object and installs it once as globalThis.__twLocate.
 *
 * Locator objects (one kind each): {role, name} | {text} | {css: "sel" | ["host", "inner"]} |
 * {xpath} | {pierce} | {point: [x, y]}. Parts of a css path may carry the Recorder prefixes
 * aria/, text/, xpath/, pierce/.
 *
 * API:
 *   capture(el) -> {role, name, nameUnique, text, css, xpath, tag, type, password, editable,
 *                   offset}   (text only when it finds this element and nothing else)
 *   frameInfo(iframeEl) -> {css, index}
 *   find({locators, prefix}) -> {index, ref, count, tried: [{i, count|error}]} (index -1: none)
 *   frameOwner({sel, prefix}) -> ref | null       (sel: css string or frame index)
 *   check({locators, prefix, visible, attributes, properties}) -> {index, raw, count, seen}
 *   scroll({locators, prefix, x, y}) -> {ok, index, tried}
 *   pageText(q) -> {found, sample}
 */
(() => {
  "use strict";
  if (globalThis.__twLocate) return globalThis.__twLocate;

  const norm = (s) => String(s == null ? "" : s).replace(/\s+/g, " ").trim();
  const SKIP = new Set(["script", "style", "noscript", "template", "head", "title", "meta", "link"]);
  const STABLE_ATTRS = ["data-testid", "data-test-id", "data-test", "data-qa", "data-cy", "name"];
  const tw = () => globalThis.__tabwright || null;

  // Every element under root (Document, ShadowRoot or Element), entering open shadow roots,
  // in document order (a host's shadow tree comes before its light children).
  function deepAll(root) {
    const out = [];
    const walk = (node) => {
      for (let c = node.firstElementChild; c; c = c.nextElementSibling) {
        out.push(c);
        if (c.shadowRoot) walk(c.shadowRoot);
        walk(c);
      }
    };
    walk(root);
    return out;
  }

  function containsDeep(scope, el) {
    for (let n = el; n; n = n.parentNode || n.host) if (n === scope) return true;
    return false;
  }

  function visible(el) {
    if (!el.isConnected) return false;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return false;
    const cs = getComputedStyle(el);
    return cs.visibility !== "hidden" && cs.display !== "none";
  }

  // Text of an element without script/style content.
  function textOf(el) {
    if (!el.querySelector("script,style,noscript,template")) return el.textContent || "";
    let s = "";
    const w = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = w.nextNode(); n; n = w.nextNode()) {
      const p = n.parentElement;
      if (p && SKIP.has(p.localName)) continue;
      s += n.data;
    }
    return s;
  }

  function parseSel(s) {
    s = String(s);
    if (s.startsWith("aria/")) {
      const body = s.slice(5);
      const m = body.match(/^(.*)\[role="([^"]*)"\]$/);
      return m ? { role: m[2], name: m[1] } : { name: body };
    }
    if (s.startsWith("text/")) return { text: s.slice(5) };
    if (s.startsWith("xpath/")) return { xpath: s.slice(6) };
    if (s.startsWith("pierce/")) return { pierce: s.slice(7) };
    return { css: s };
  }

  function textQuery(q, scope) {
    q = norm(q);
    if (!q) return [];
    const hits = deepAll(scope).filter((e) => {
      if (SKIP.has(e.localName)) return false;
      if (e.localName === "input" && ["button", "submit", "reset"].includes(e.type)) return norm(e.value).includes(q);
      return norm(textOf(e)).includes(q);
    });
    return hits.filter((e) => !hits.some((o) => o !== e && e.contains(o)));
  }

  function ariaQuery(role, name, scope, prefix) {
    const t = tw();
    if (!t || !t.candidates) return [];
    const want = name == null ? null : norm(name);
    const out = [];
    for (const c of t.candidates({ prefix })) {
      if (role && c.role !== role) continue;
      if (want !== null && norm(c.name) !== want) continue;
      const el = t.element(c.ref);
      if (el && (scope === document || containsDeep(scope, el))) out.push(el);
    }
    return out;
  }

  function pointQuery(p) {
    let hit = document.elementFromPoint(p[0], p[1]);
    while (hit && hit.shadowRoot) {
      const inner = hit.shadowRoot.elementFromPoint(p[0], p[1]);
      if (!inner || inner === hit) break;
      hit = inner;
    }
    return hit ? [hit] : [];
  }

  function xpathQuery(xp, scope) {
    const ctx = scope.nodeType === 11 ? scope.host : scope;
    const r = document.evaluate(xp, ctx, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
    const out = [];
    for (let i = 0; i < r.snapshotLength; i++) {
      const n = r.snapshotItem(i);
      if (n && n.nodeType === 1) out.push(n);
    }
    return out;
  }

  function query(loc, scope, prefix) {
    if (loc.css != null) {
      if (Array.isArray(loc.css)) return queryPath(loc.css, prefix);
      return [...scope.querySelectorAll(loc.css)];
    }
    if (loc.pierce != null) {
      const out = [];
      const roots = [scope, ...deepAll(scope).filter((e) => e.shadowRoot).map((e) => e.shadowRoot)];
      for (const r of roots) for (const e of r.querySelectorAll(loc.pierce)) if (!out.includes(e)) out.push(e);
      return out;
    }
    if (loc.xpath != null) return xpathQuery(loc.xpath, scope);
    if (loc.text != null) return textQuery(loc.text, scope);
    if (loc.role != null || loc.name != null) return ariaQuery(loc.role, loc.name, scope, prefix);
    if (loc.point != null) return pointQuery(loc.point);
    return [];
  }

  // A shadow path: each part is searched inside the shadow root of the element the previous
  // part found (or inside that element when it hosts no shadow root).
  function queryPath(parts, prefix) {
    let scopes = [document];
    for (let i = 0; i < parts.length; i++) {
      const loc = parseSel(parts[i]);
      const found = [];
      for (const s of scopes) for (const e of query(loc, s, prefix)) if (!found.includes(e)) found.push(e);
      if (i === parts.length - 1) return found;
      scopes = found.slice(0, 1).map((e) => e.shadowRoot || e);
      if (!scopes.length) return [];
    }
    return [];
  }

  function run(locators, prefix, accept) {
    const tried = [];
    for (let i = 0; i < locators.length; i++) {
      let els;
      try {
        els = query(locators[i], document, prefix);
      } catch (e) {
        tried.push({ i, error: String((e && e.message) || e).split("\n")[0] });
        continue;
      }
      tried.push({ i, count: els.length });
      if (els.length && (!accept || accept(els))) return { index: i, els, tried };
    }
    return { index: -1, els: [], tried };
  }

  function find({ locators, prefix }) {
    const r = run(locators, prefix);
    if (r.index < 0) return { index: -1, tried: r.tried };
    const el = r.els.find(visible) || r.els[0];
    const t = tw();
    return { index: r.index, ref: t ? t.refOf(el, prefix) : null, count: r.els.length, tried: r.tried };
  }

  function deepEqualPartial(actual, expected) {
    if (expected === null || typeof expected !== "object") return actual === expected || String(actual) === String(expected) && typeof actual !== "object";
    if (actual === null || actual === undefined) return false;
    for (const k of Object.keys(expected)) if (!deepEqualPartial(actual[k], expected[k])) return false;
    return true;
  }

  function check({ locators, prefix, visible: vis, attributes, properties }) {
    const r = run(locators, prefix);
    let els = r.els;
    const raw = els.length;
    if (vis === true) els = els.filter(visible);
    if (vis === false) els = els.filter((e) => !visible(e));
    if (attributes) els = els.filter((e) => Object.entries(attributes).every(([k, v]) => e.getAttribute(k) === v));
    if (properties) els = els.filter((e) => deepEqualPartial(e, properties));
    const first = r.els[0];
    let seen = null;
    if (first) {
      seen = { tag: first.localName, text: norm(textOf(first)).slice(0, 80), visible: visible(first) };
      if (attributes) seen.attributes = Object.fromEntries(Object.keys(attributes).map((k) => [k, first.getAttribute(k)]));
      if (properties) seen.properties = Object.fromEntries(Object.keys(properties).map((k) => {
        const v = first[k];
        return [k, v !== null && typeof v === "object" ? String(v) : v];
      }));
    }
    return { index: r.index, raw, count: els.length, seen, tried: r.tried };
  }

  function scroll({ locators, prefix, x, y }) {
    if (!locators || !locators.length) {
      window.scrollTo(x, y);
      return { ok: true, index: 0, tried: [] };
    }
    const r = run(locators, prefix);
    if (r.index < 0) return { ok: false, index: -1, tried: r.tried };
    r.els[0].scrollTo(x, y);
    return { ok: true, index: r.index, tried: r.tried };
  }

  function pageText(q) {
    q = norm(q);
    const parts = [document.body ? document.body.innerText : ""];
    for (const h of deepAll(document)) {
      if (!h.shadowRoot) continue;
      for (let c = h.shadowRoot.firstElementChild; c; c = c.nextElementSibling) {
        if (!SKIP.has(c.localName)) parts.push(c.innerText || "");
      }
    }
    const all = norm(parts.join(" "));
    return { found: all.includes(q), sample: all.slice(0, 200) };
  }

  // ---------------------------------------------------------------- capture --

  function stableId(id) {
    return !!id && id.length < 64 && !/\d{4,}/.test(id) && !/^[0-9]/.test(id) && !/[:]/.test(id);
  }

  function uniqueIn(root, sel, el) {
    try {
      const m = root.querySelectorAll(sel);
      return m.length === 1 && m[0] === el;
    } catch (e) {
      return false;
    }
  }

  function anchor(el, root) {
    if (el.id && stableId(el.id)) {
      const s = "#" + CSS.escape(el.id);
      if (uniqueIn(root, s, el)) return s;
    }
    for (const a of STABLE_ATTRS) {
      const v = el.getAttribute(a);
      if (!v) continue;
      const s = el.localName + "[" + a + "=" + JSON.stringify(v) + "]";
      if (uniqueIn(root, s, el)) return s;
    }
    return null;
  }

  function cssIn(el) {
    const root = el.getRootNode();
    const own = anchor(el, root);
    if (own) return own;
    const parts = [];
    for (let cur = el; cur; ) {
      const parent = cur.parentElement;
      let part = cur.localName;
      if (parent) {
        const same = [...parent.children].filter((c) => c.localName === cur.localName);
        if (same.length > 1) part += ":nth-of-type(" + (same.indexOf(cur) + 1) + ")";
      }
      parts.unshift(part);
      let sel = parts.join(" > ");
      if (uniqueIn(root, sel, el)) return sel;
      if (!parent) return sel;
      const a = anchor(parent, root);
      if (a) {
        sel = a + " > " + sel;
        if (uniqueIn(root, sel, el)) return sel;
      }
      cur = parent;
    }
    return parts.join(" > ");
  }

  function cssPath(el) {
    const root = el.getRootNode();
    const here = cssIn(el);
    if (root && root.host) {
      const outer = cssPath(root.host);
      return (Array.isArray(outer) ? outer : [outer]).concat([here]);
    }
    return here;
  }

  function xpathOf(el) {
    if (el.id && stableId(el.id)) return "//*[@id=" + JSON.stringify(el.id) + "]";
    const parts = [];
    for (let cur = el; cur && cur.nodeType === 1; cur = cur.parentElement) {
      const parent = cur.parentElement;
      let part = cur.localName;
      if (parent) {
        const same = [...parent.children].filter((c) => c.localName === cur.localName);
        if (same.length > 1) part += "[" + (same.indexOf(cur) + 1) + "]";
      }
      parts.unshift(part);
    }
    return "/" + parts.join("/");
  }

  function capture(el) {
    const t = tw();
    let role = null, name = null;
    const line = t && t.lineOf ? t.lineOf(el) : null;
    if (line) {
      const m = line.match(/^- ([a-z]+)(?: ("(?:[^"\\]|\\.)*"))?/);
      if (m) {
        role = m[1];
        if (m[2]) { try { name = JSON.parse(m[2]); } catch (e) { name = null; } }
      }
    }
    if (role === "generic" || role === "text") role = null;
    if (name && name.length >= 200) name = null;
    // Is role+name unique in this frame? (The walker's refs carry the frame's prefix.)
    let nameUnique = false;
    if (role && name && line) {
      const r = line.match(/\[((?:f\d+)?e\d+)\]/);
      const prefix = r ? r[1].replace(/\d+$/, "") : null;
      if (prefix) nameUnique = ariaQuery(role, name, document, prefix).length === 1;
    }
    let text = null;
    if (!["input", "textarea", "select"].includes(el.localName)) {
      const s = norm(el.innerText || textOf(el));
      // Only text that leads back to this element (not to a heading with the same words).
      if (s && s.length <= 80) {
        const hits = textQuery(s, document);
        if (hits.length === 1 && (hits[0] === el || el.contains(hits[0]))) text = s;
      }
    }
    const inShadow = !!(el.getRootNode() && el.getRootNode().host);
    const box = el.getBoundingClientRect();
    return {
      offset: [Math.round(box.width / 2), Math.round(box.height / 2)],
      role, name, text, nameUnique,
      css: cssPath(el),
      xpath: inShadow ? null : xpathOf(el),
      tag: el.localName,
      type: el.type || null,
      password: el.localName === "input" && el.type === "password",
      editable: el.isContentEditable || ["input", "textarea"].includes(el.localName),
    };
  }

  function frames(doc) {
    return deepAll(doc).filter((e) => e.localName === "iframe" || e.localName === "frame");
  }

  function frameInfo(el) {
    const c = cssPath(el);
    return { css: Array.isArray(c) ? c[c.length - 1] : c, index: frames(document).indexOf(el) };
  }

  function frameOwner({ sel, prefix }) {
    let el = null;
    if (typeof sel === "number") el = frames(document)[sel] || null;
    else {
      el = document.querySelector(sel);
      if (!el) el = frames(document).find((f) => f.matches(sel)) || null;
    }
    const t = tw();
    return el && t ? t.refOf(el, prefix) : null;
  }

  const api = Object.freeze({ capture, frameInfo, find, frameOwner, check, scroll, pageText });
  Object.defineProperty(globalThis, "__twLocate", { value: api, configurable: false, enumerable: false, writable: false });
  return api;
})()
