/*
 * Tabwright in-page accessibility-outline walker.
 *
 * Job: compute ARIA roles and accessible names ourselves (CDP's
 * Accessibility.getFullAXTree is far too slow on big pages) and print the page
 * as a compact, indented outline in which every rendered element carries a
 * stable ref the host can act on.
 *
 * How it is run: the host injects this file with
 * Page.addScriptToEvaluateOnNewDocument({worldName: "tabwright", runImmediately: true})
 * and with Runtime.evaluate into existing contexts, so it runs in an ISOLATED
 * world of every frame: it shares the DOM with the page but none of its JS
 * globals, and may run at document_start (before <body> exists). Installing is
 * idempotent and touches no DOM; all DOM work happens inside the API calls.
 *
 * API (globalThis.__tabwright):
 *   snapshot({prefix, filter: "all"|"interactive", root: ref|null, depth: n|null, maxChars})
 *       -> {text, frames: [{ref, line}], nodes, chars, tooBig}
 *       throws Error("stale ref X") when root is not a live ref.
 *   element(ref) -> Element|null        (null when unknown, collected or disconnected)
 *   refOf(element, prefix) -> ref       (assigns one if needed)
 *   candidates({prefix}) -> [{ref, role, name, value, description, context,
 *                             nearby, interactive, order, line}]
 *   candidatesJson({prefix}) -> JSON text of {ctx: [context…], rows: [[ref, role, name, value,
 *       description, ctx index, nearby, interactive 0|1, line|null]…]}: candidates() packed
 *       for the host (arrays, shared contexts); on pages with over 500 candidates the lines are
 *       left out and kept for linesOf()
 *   linesOf([ref…]) -> [line|null…]     (the lines the last candidatesJson() kept)
 *   lineOf(element, prefix?) -> line    (extra: one element's line, no indentation)
 *   focusLine(prefix) -> line | null    (extra: the focused element's line)
 *   appeared(prefix, max) -> {lines, more} (extra: the lines of interactive or popup elements
 *                                        that appeared since the last call, at most max)
 *   holdSubmits()                       (extra: from now on, form submissions are stopped and
 *                                        noted: a fill must not submit its form)
 *   releaseSubmits() -> [text…]         (ends the hold; what it stopped, one line each)
 *
 * Outline grammar (public contract, host/src/outline/GRAMMAR.md), one node per
 * line, two spaces per level:
 *   - ROLE "NAME" [REF] [state]… : content           (written "…]: content")
 *   - text: some text                                (text runs between lines, no ref)
 * content is text with inline elements written in place as
 *   [ROLE "NAME" REF state…: content]
 * e.g. `- paragraph [e7]: Call [link "repr()" e8 url=/f.html#repr] on [emphasis e9: x].`
 * A node that holds running text (FLOW_ROLES: paragraph, heading, listitem,
 * cell…) writes its children on its line when every one of them is a text run
 * or an inline element (INLINE_ROLES, and a lone paragraph); a row writes its
 * cells on its line when their content can be; anything else gets lines.
 * States, in this order: [checked]/[checked=mixed] [disabled]
 *   [expanded]/[expanded=false] [selected] [pressed]/[pressed=mixed] [level=N]
 *   [value="…"] [url=…] [placeholder=…] [required] [readonly] [focused] [invalid]
 * (inside an inline element without the brackets: `checked url=…`).
 * A line whose children were cut by `depth` ends with " [+N]" (N direct child
 * items dropped).
 *
 * Roles and names follow Playwright's injected roleUtils (HTML-AAM + accname
 * 1.2 as Playwright implements them) so that every element Playwright's
 * ariaSnapshot({mode: "ai"}) would give a ref (every visible element with a
 * role other than nameless generic) appears here with the same role and the
 * same accessible name (Playwright's printed snapshot sometimes drops a name
 * its children repeat; we print the real name unless child lines show all of it). Deliberate differences:
 *  - nameless generics (div/span/b/i/u/label/...) fold into the surrounding
 *    text instead of getting lines;
 *  - aria-hidden="true" and inert subtrees are left out even when visible;
 *  - contenteditable hosts are textboxes; <summary> carries [expanded];
 *  - iframes are named from title/aria-label;
 *  - values, urls and placeholders are inline [key=value] states;
 *  - text already shown in an uncut name computed from content (a link's or
 *    a cell's text) is not repeated below it; and a name computed from
 *    content with elements below it (a row over its cells, a link over its
 *    code) is not printed: the children say it;
 *  - ::before/::after content (icon fonts) is read only for empty controls.
 *
 * Speed: one flat-tree walk reading getComputedStyle once per element (no
 * layout: no getBoundingClientRect), with per-call caches that the accessible
 * name computation reuses. Names, states and refs are computed only for the
 * lines actually printed.
 */
(() => {
  "use strict";
  if (globalThis.__tabwright) return;

  // ---------------------------------------------------------------- tables --

  const VALID_ROLES = new Set(("alert alertdialog application article banner blockquote button caption cell " +
    "checkbox code columnheader combobox complementary contentinfo definition deletion dialog directory document " +
    "emphasis feed figure form generic grid gridcell group heading img insertion link list listbox listitem log main " +
    "mark marquee math meter menu menubar menuitem menuitemcheckbox menuitemradio navigation none note option " +
    "paragraph presentation progressbar radio radiogroup region row rowgroup rowheader scrollbar search searchbox " +
    "separator slider spinbutton status strong subscript superscript switch tab table tablist tabpanel term textbox " +
    "time timer toolbar tooltip tree treegrid treeitem").split(" "));

  // Elements whose subtree is never rendered.
  const SKIP_TAGS = new Set(["script", "style", "template", "noscript", "head", "link", "meta", "title", "base",
    "desc", "metadata", "defs", "clippath", "clipPath", "mask", "symbol", "lineargradient", "linearGradient",
    "radialgradient", "radialGradient", "pattern", "marker", "filter"]);
  // Tags Playwright ignores entirely for names (isElementIgnoredForAria).
  const IGNORED_FOR_ARIA = new Set(["style", "script", "noscript", "template"]);
  // Elements whose DOM children are not rendered content (replaced elements / fallback content).
  const NO_CHILDREN = new Set(["input", "textarea", "img", "iframe", "frame", "video", "audio", "canvas", "object",
    "embed", "select", "meter", "progress"]);

  const INTERACTIVE_ROLES = new Set(["link", "button", "textbox", "searchbox", "checkbox", "radio", "switch", "slider",
    "spinbutton", "combobox", "listbox", "option", "menuitem", "menuitemcheckbox", "menuitemradio", "tab", "treeitem"]);
  // Kept as structure lines by filter "interactive" when they contain something interactive.
  const STRUCTURE_ROLES = new Set(["banner", "complementary", "contentinfo", "form", "main", "navigation", "region",
    "search", "dialog", "alertdialog", "heading"]);
  // Ancestors reported in candidates().context.
  const CONTEXT_ROLES = new Set(["banner", "complementary", "contentinfo", "form", "main", "navigation", "region",
    "search", "dialog", "alertdialog", "heading", "list", "listbox", "menu", "menubar", "tablist", "toolbar", "table",
    "grid", "treegrid", "row", "group", "radiogroup", "tree"]);
  const VALUE_ROLES = new Set(["textbox", "searchbox", "combobox", "spinbutton", "slider", "progressbar", "meter"]);

  // accname: roles that take their name from their content (Playwright's allowsNameFromContent).
  const NAME_FROM_CONTENT = new Set(["button", "cell", "checkbox", "columnheader", "gridcell", "heading", "link",
    "menuitem", "menuitemcheckbox", "menuitemradio", "option", "radio", "row", "rowheader", "switch", "tab", "tooltip",
    "treeitem"]);
  // ...and roles whose content is included when they are a *descendant* of the element being named.
  // "" is "no role" (div, span, ...); note an explicit role="generic" is not in the list (Playwright quirk).
  const NAME_FROM_CONTENT_DESC = new Set(["", "caption", "code", "contentinfo", "definition", "deletion", "emphasis",
    "insertion", "list", "listitem", "mark", "none", "paragraph", "presentation", "region", "row", "rowgroup",
    "section", "strong", "subscript", "superscript", "table", "term", "time"]);
  // Roles that prohibit naming: their accessible name is always empty.
  const NAME_PROHIBITED = new Set(["caption", "code", "definition", "deletion", "emphasis", "generic", "insertion",
    "mark", "paragraph", "presentation", "strong", "subscript", "suggestion", "superscript", "term", "time"]);

  // Roles whose empty name is retried with ::before/::after content (icon-font controls).
  const ICON_ROLES = new Set(["button", "link", "menuitem", "menuitemcheckbox", "menuitemradio", "option", "radio",
    "checkbox", "switch", "tab", "treeitem", "tooltip"]);
  const CHECKED_ROLES = new Set(["checkbox", "menuitemcheckbox", "option", "radio", "switch", "menuitemradio", "treeitem"]);
  const DISABLED_ROLES = new Set(["application", "button", "composite", "gridcell", "group", "input", "link", "menuitem",
    "scrollbar", "separator", "tab", "checkbox", "columnheader", "combobox", "grid", "listbox", "menu", "menubar",
    "menuitemcheckbox", "menuitemradio", "option", "radio", "radiogroup", "row", "rowheader", "searchbox", "select",
    "slider", "spinbutton", "switch", "tablist", "textbox", "toolbar", "tree", "treegrid", "treeitem"]);
  const EXPANDED_ROLES = new Set(["application", "button", "checkbox", "combobox", "gridcell", "link", "listbox",
    "menuitem", "row", "rowheader", "tab", "treeitem", "columnheader", "menuitemcheckbox", "menuitemradio", "switch"]);
  const SELECTED_ROLES = new Set(["gridcell", "option", "row", "tab", "rowheader", "columnheader", "treeitem"]);
  const LEVEL_ROLES = new Set(["heading", "listitem", "row", "treeitem"]);
  const READONLY_ROLES = new Set(["checkbox", "combobox", "grid", "gridcell", "listbox", "radiogroup", "slider",
    "spinbutton", "textbox", "columnheader", "rowheader", "searchbox", "switch", "treegrid"]);
  const INVALID_ROLES = new Set(["application", "checkbox", "columnheader", "combobox", "gridcell", "listbox",
    "radiogroup", "rowheader", "searchbox", "slider", "spinbutton", "switch", "textbox", "tree"]);

  // Global ARIA attributes (with the roles for which they do not count): an element carrying one
  // cannot be made presentational (role=none conflict resolution), and <img alt=""> stays an img.
  const GLOBAL_ARIA = [["aria-atomic"], ["aria-busy"], ["aria-controls"], ["aria-current"], ["aria-describedby"],
    ["aria-details"], ["aria-dropeffect"], ["aria-flowto"], ["aria-grabbed"], ["aria-hidden"], ["aria-keyshortcuts"],
    ["aria-label", NAME_PROHIBITED], ["aria-labelledby", NAME_PROHIBITED], ["aria-live"], ["aria-owns"],
    ["aria-relevant"], ["aria-roledescription", new Set(["generic"])]];

  const INPUT_ROLES = { button: "button", checkbox: "checkbox", image: "button", number: "spinbutton", radio: "radio",
    range: "slider", reset: "button", submit: "button", file: "button" };
  const TEXT_INPUT_TYPES = new Set(["email", "search", "tel", "text", "url", ""]);

  // header/footer are landmarks only outside these (HTML-AAM "scoped to body").
  const NOT_LANDMARK_ANCESTOR = "article:not([role]), aside:not([role]), main:not([role]), nav:not([role]), " +
    "section:not([role]), [role=article], [role=complementary], [role=main], [role=navigation], [role=region]";

  const IMPLICIT = {
    a: (e) => e.hasAttribute("href") ? "link" : null,
    area: (e) => e.hasAttribute("href") ? "link" : null,
    address: () => "group",
    article: () => "article",
    aside: () => "complementary",
    blockquote: () => "blockquote",
    button: () => "button",
    caption: () => "caption",
    code: () => "code",
    datalist: () => "listbox",
    dd: () => "definition",
    del: () => "deletion",
    s: () => "deletion",
    details: () => "group",
    dfn: () => "term",
    dialog: () => "dialog",
    dt: () => "term",
    em: () => "emphasis",
    fieldset: () => "group",
    figure: () => "figure",
    footer: (e) => closestCrossShadow(e, NOT_LANDMARK_ANCESTOR) ? null : "contentinfo",
    form: (e) => hasExplicitName(e) ? "form" : null,
    h1: () => "heading", h2: () => "heading", h3: () => "heading",
    h4: () => "heading", h5: () => "heading", h6: () => "heading",
    header: (e) => closestCrossShadow(e, NOT_LANDMARK_ANCESTOR) ? null : "banner",
    hr: () => "separator",
    iframe: () => "iframe",
    frame: () => "iframe",
    // <img alt=""> is presentational unless something forces it to stay exposed.
    img: (e) => e.getAttribute("alt") === "" && !e.getAttribute("title") && !hasGlobalAria(e, "") &&
      !hasTabIndex(e) ? "presentation" : "img",
    input: (e) => {
      const type = e.type.toLowerCase();
      if (TEXT_INPUT_TYPES.has(type)) {
        const list = idRefs(e, e.getAttribute("list"))[0];
        if (list && list.localName === "datalist") return "combobox";
        return type === "search" ? "searchbox" : "textbox";
      }
      if (type === "hidden") return null;
      // Playwright (and Chromium) expose date/time/color/password/... as plain textboxes.
      return INPUT_ROLES[type] || "textbox";
    },
    ins: () => "insertion",
    li: () => "listitem",
    main: () => "main",
    mark: () => "mark",
    math: () => "math",
    menu: () => "list",
    meter: () => "meter",
    nav: () => "navigation",
    ol: () => "list",
    optgroup: () => "group",
    option: () => "option",
    output: () => "status",
    p: () => "paragraph",
    progress: () => "progressbar",
    search: () => "search",
    section: (e) => hasExplicitName(e) ? "region" : null,
    select: (e) => e.multiple || e.size > 1 ? "listbox" : "combobox",
    strong: () => "strong",
    sub: () => "subscript",
    sup: () => "superscript",
    svg: () => "img",
    table: () => "table",
    tbody: () => "rowgroup",
    thead: () => "rowgroup",
    tfoot: () => "rowgroup",
    td: (e) => {
      const table = closestCrossShadow(e, "table");
      const r = table ? explicitRole(table) : null;
      return r === "grid" || r === "treegrid" ? "gridcell" : "cell";
    },
    th: thRole,
    textarea: () => "textbox",
    time: () => "time",
    tr: () => "row",
    ul: () => "list",
  };

  // Tags whose implicit role needs no look at attributes or ancestors (null: no role). Tags not
  // listed here go through IMPLICIT and the presentation-inheritance check.
  const CONST_ROLE = Object.assign(Object.create(null), {
    div: null, span: null, b: null, i: null, u: null, small: null, font: null, label: null, abbr: null,
    cite: null, kbd: null, samp: null, var: null, q: null, bdi: null, bdo: null, data: null, big: null,
    center: null, legend: null, figcaption: null, summary: null, hgroup: null, body: null, html: null,
    picture: null, source: null, wbr: null, br: null, slot: null, nobr: null, tt: null, strike: null,
    article: "article", aside: "complementary", blockquote: "blockquote", button: "button", caption: "caption",
    code: "code", datalist: "listbox", del: "deletion", s: "deletion", details: "group", dfn: "term",
    dialog: "dialog", em: "emphasis", fieldset: "group", figure: "figure", h1: "heading", h2: "heading",
    h3: "heading", h4: "heading", h5: "heading", h6: "heading", hr: "separator", iframe: "iframe", frame: "iframe",
    ins: "insertion", main: "main", mark: "mark", math: "math", menu: "list", meter: "meter", nav: "navigation",
    ol: "list", optgroup: "group", option: "option", output: "status", p: "paragraph", progress: "progressbar",
    search: "search", strong: "strong", sub: "subscript", sup: "superscript", svg: "img", table: "table",
    textarea: "textbox", time: "time", ul: "list", address: "group",
  });

  // role=none/presentation on these parents is inherited by the listed children (li in ul, td in tr...).
  const PRESENTATION_PARENTS = { dd: ["dl", "div"], div: ["dl"], dt: ["dl", "div"], li: ["ol", "ul"],
    tbody: ["table"], td: ["tr"], tfoot: ["table"], th: ["tr"], thead: ["table"], tr: ["thead", "tbody", "tfoot", "table"] };

  // ------------------------------------------------------------------ refs --

  const refByEl = new WeakMap();     // Element -> ref
  const elByRef = new Map();         // ref -> WeakRef(Element)
  let refCounter = 0;
  let pruneAt = 20000;

  function refOf(el, prefix) {
    prefix = prefix == null ? "e" : String(prefix);
    const old = refByEl.get(el);
    // A ref keeps naming its element while it lives; if the frame's prefix changed we issue a new
    // one (the old ref keeps resolving to the same element, refs are never reused).
    if (old !== undefined && old.length > prefix.length && old.startsWith(prefix) &&
        isDigits(old, prefix.length)) return old;
    const ref = prefix + (++refCounter);
    refByEl.set(el, ref);
    elByRef.set(ref, new WeakRef(el));
    return ref;
  }

  function isDigits(s, from) {
    for (let i = from; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) return false;
    }
    return true;
  }

  function element(ref) {
    const w = elByRef.get(String(ref));
    const el = w && w.deref();
    return el && el.isConnected ? el : null;
  }

  // Drop entries whose element was collected, so a long-lived SPA does not grow the map forever.
  function pruneRefs() {
    if (elByRef.size < pruneAt) return;
    for (const [ref, w] of elByRef) if (!w.deref()) elByRef.delete(ref);
    pruneAt = Math.max(20000, elByRef.size * 2);
  }

  // ------------------------------------------------- per-call DOM caches --
  // Valid only during one snapshot()/candidates() call (the DOM cannot change under us).

  // Plain strings and small ints only: no per-element allocation on the hot path.
  let DISP = null;      // Element -> computed display
  let STATE = null;     // Element -> bit set of the S_* flags below
  let ROLES = null;     // Element -> role for name computation (null = no role)
  let DISABLED = null;  // Element -> aria-disabled chain result
  let FOCUSED = null;   // deepest document.activeElement
  let LOC_BASE = null;  // "scheme://host" of the document when links can be shown relative
  let LOC_PATHQ = "";   // path + query of the document
  let FRAG_OK = false;  // document base URL is the document URL
  const S_INVIS = 1;    // own visibility is hidden/collapse
  const S_HIDDEN = 2;   // hidden subtree: display:none, aria-hidden, inert, not slotted (self or ancestor)
  const S_SHOWN = 4;    // known not to be in a hidden subtree
  const S_WALKED = 8;   // visited by the main walk (so every hiding ancestor was already checked)

  function begin() {
    DISP = new Map();
    STATE = new Map();
    CONTENT = new Map();
    LABELS = new Map();
    PSEUDO = false;
    ROLES = new Map();
    DISABLED = new Map();
    FOCUSED = deepestActive(document);
    LOC_BASE = null;
    const loc = document.location;
    // "#frag" hrefs can be printed as-is when they resolve against this very document.
    FRAG_OK = !!loc && document.baseURI.split("#")[0] === loc.href.split("#")[0] &&
      (loc.protocol === "http:" || loc.protocol === "https:" || loc.protocol === "file:");
    if (loc && (loc.protocol === "http:" || loc.protocol === "https:" || loc.protocol === "file:")) {
      LOC_BASE = loc.protocol + "//" + loc.host;
      LOC_PATHQ = loc.pathname + loc.search;
    }
  }

  function end() {
    DISP = STATE = ROLES = DISABLED = FOCUSED = CONTENT = LABELS = null;
  }

  function deepestActive(doc) {
    let a = doc.activeElement;
    while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
    return a;
  }

  // Style info, computed lazily for elements the main walk did not visit.
  function lazyStyle(el) {
    const cs = getComputedStyle(el);
    DISP.set(el, cs.display);
    const st = cs.visibility === "visible" ? 0 : S_INVIS;
    STATE.set(el, st);
    return st;
  }

  function displayOf(el) {
    const d = DISP.get(el);
    if (d !== undefined) return d;
    lazyStyle(el);
    return DISP.get(el);
  }

  function stateOf(el) {
    const st = STATE.get(el);
    return st !== undefined ? st : lazyStyle(el);
  }

  function parentOrHost(el) {
    if (el.parentElement) return el.parentElement;
    const p = el.parentNode;
    return p && p.nodeType === 11 && p.host ? p.host : null;
  }

  function closestCrossShadow(el, sel) {
    while (el) {
      const c = el.closest(sel);
      if (c) return c;
      let top = el;
      while (top.parentElement) top = top.parentElement;
      el = parentOrHost(top);
    }
    return null;
  }

  // Hidden by display:none / aria-hidden / not slotted, on the element or an ancestor.
  function subtreeHidden(el) {
    const st = stateOf(el);
    if (st & S_HIDDEN) return true;
    if (st & S_SHOWN) return false;
    let h = DISP.get(el) === "none" || isTrue(el.getAttribute("aria-hidden"));
    if (!h) {
      const p = el.parentElement;
      if (p && p.shadowRoot && !el.assignedSlot) h = true;
    }
    if (!h) {
      const p = parentOrHost(el);
      if (p) h = subtreeHidden(p);
    }
    STATE.set(el, st | (h ? S_HIDDEN : S_SHOWN));
    return h;
  }

  // Playwright's isElementHiddenForAria, using the walk's caches where possible.
  function hiddenForAria(el) {
    const tag = el.localName;
    if (IGNORED_FOR_ARIA.has(tag)) return true;
    const st = stateOf(el);
    if (st & S_HIDDEN) return true;
    if (st & S_WALKED) return (st & S_INVIS) !== 0 && tag !== "slot" && !(tag === "option" && el.closest("select"));
    if (DISP.get(el) === "contents" && tag !== "slot") {
      for (let c = el.firstChild; c; c = c.nextSibling) {
        if (c.nodeType === 1 && !hiddenForAria(c)) return false;
        if (c.nodeType === 3 && c.data.trim()) return false;
      }
      return true;
    }
    if (tag !== "slot" && !(tag === "option" && el.closest("select"))) {
      // checkVisibility() covers display:none ancestors, closed <details> and content-visibility:hidden.
      if ((st & S_INVIS) || (el.checkVisibility && !el.checkVisibility())) return true;
    }
    return subtreeHidden(el);
  }

  function isTrue(v) {
    return v !== null && v.length === 4 && v.toLowerCase() === "true";
  }

  // ----------------------------------------------------------------- roles --

  function explicitRole(el) {
    const r = el.getAttribute("role");
    if (!r) return null;
    for (const t of r.toLowerCase().split(" ")) {
      const tt = t.trim();
      if (VALID_ROLES.has(tt)) return tt;
    }
    return null;
  }

  function implicitRole(el) {
    const f = IMPLICIT[el.localName];
    const role = f ? f(el) : null;
    if (!role) return null;
    // Presentational role inheritance: <ul role=none><li> makes the li presentational too.
    let a = el;
    for (;;) {
      const parents = PRESENTATION_PARENTS[a.localName];
      const parent = parentOrHost(a);
      if (!parents || !parent || !parents.includes(parent.localName)) break;
      const pr = explicitRole(parent);
      if ((pr === "none" || pr === "presentation") && !presentationConflict(parent, pr)) return pr;
      a = parent;
    }
    return role;
  }

  function hasExplicitName(el) {
    return el.hasAttribute("aria-label") || el.hasAttribute("aria-labelledby");
  }

  function hasGlobalAria(el, forRole) {
    if (!el.hasAttributes()) return false;
    for (const [attr, prohibited] of GLOBAL_ARIA) {
      if (prohibited && prohibited.has(forRole || "")) continue;
      if (el.hasAttribute(attr)) return true;
    }
    return false;
  }

  function hasTabIndex(el) {
    return !Number.isNaN(Number(String(el.getAttribute("tabindex"))));
  }

  function nativelyFocusable(el) {
    const t = el.localName;
    if (t === "button" || t === "details" || t === "select" || t === "textarea") return true;
    if (t === "a" || t === "area") return el.hasAttribute("href");
    if (t === "input") return !el.hidden;
    return false;
  }

  function focusable(el) {
    return !nativelyDisabled(el) && (nativelyFocusable(el) || hasTabIndex(el));
  }

  // role=none/presentation is ignored on focusable elements or ones with global ARIA attributes.
  function presentationConflict(el, role) {
    return hasGlobalAria(el, role) || focusable(el);
  }

  // The role as Playwright's getAriaRole returns it: null when the element has none.
  function rawRole(el) {
    // Fast path without cache traffic: no role attribute and a tag whose implicit role is a
    // constant (or none at all: div, span, ...).
    if (!el.hasAttribute("role")) {
      const c = CONST_ROLE[el.localName];
      if (c !== undefined) return c;
    }
    let r = ROLES.get(el);
    if (r !== undefined) return r;
    const ex = explicitRole(el);
    if (!ex) r = implicitRole(el);
    else if (ex === "none" || ex === "presentation") {
      const im = implicitRole(el);
      r = presentationConflict(el, im) ? im : ex;
    } else r = ex;
    ROLES.set(el, r);
    return r;
  }

  function thRole(e) {
    const scope = e.getAttribute("scope");
    if (scope === "col" || scope === "colgroup") return "columnheader";
    if (scope === "row" || scope === "rowgroup") return "rowheader";
    const next = e.nextElementSibling;
    const prev = e.previousElementSibling;
    const row = e.parentElement && e.parentElement.localName === "tr" ? e.parentElement : null;
    if (!next && !prev) {
      if (row) {
        const table = closestCrossShadow(row, "table");
        if (table && table.rows && table.rows.length <= 1) return null;
      }
      return "columnheader";
    }
    const isTh = (x) => !!x && x.localName === "th";
    const dataCell = (x) => !!x && x.localName === "td" && !!((x.textContent || "").trim() || x.children.length);
    if (isTh(next) && isTh(prev)) return "columnheader";
    if (dataCell(next) || dataCell(prev)) return "rowheader";
    return "columnheader";
  }

  // ------------------------------------------------------------ text utils --

  const ZW = /[\u200b\u00ad]/g;
  const WS = /\s+/g;
  const WS_START = /^\s/;
  const WS_END = /\s$/;

  function norm(s) {
    if (!s) return "";
    if (s.indexOf("\u200b") >= 0 || s.indexOf("\u00ad") >= 0) s = s.replace(ZW, "");
    return s.replace(WS, " ").trim();
  }

  function cut(s, n) {
    return s.length > n ? s.slice(0, n) + "\u2026" : s;
  }

  function idRefs(el, attr) {
    if (!attr) return [];
    const root = el.getRootNode();
    if (!root || !root.getElementById) return [];
    const out = [];
    for (const id of attr.split(/[ \t\n\f\r]+/)) {
      if (!id) continue;
      const t = root.getElementById(id);
      if (t && !out.includes(t)) out.push(t);
    }
    return out;
  }

  function labelledByEls(el) {
    const attr = el.getAttribute("aria-labelledby");
    if (attr === null) return null;
    const r = idRefs(el, attr);
    return r.length ? r : null;
  }

  // CSS generated content of a pseudo element, as a string (or undefined). Parsing covers strings,
  // attr() and the "/ alt text" form; anything else (counters, images without alt) yields undefined.
  function pseudoContent(el, pseudo) {
    let cs;
    try { cs = getComputedStyle(el, pseudo); } catch { return undefined; }
    const c = cs.content;
    if (!c || c === "none" || c === "normal" || cs.display === "none" || cs.visibility === "hidden") return undefined;
    const s = parseContent(el, c);
    if (s === undefined) return undefined;
    return cs.display !== "inline" ? " " + s + " " : s;
  }

  function parseContent(el, c) {
    const slash = c.lastIndexOf("/");
    let i = 0, out = "";
    if (slash > 0 && !/["']/.test(c.slice(slash))) {
      // no quotes after the last slash: not an alt-text separator
    } else if (slash > 0 && /^\s*["']/.test(c.slice(slash + 1))) {
      i = slash + 1;
    }
    while (i < c.length) {
      const ch = c[i];
      if (ch === " " || ch === "\t" || ch === "\n") { i++; continue; }
      if (ch === "\"" || ch === "'") {
        let j = i + 1;
        while (j < c.length && c[j] !== ch) {
          if (c[j] === "\\" && j + 1 < c.length) {
            const m = /^[0-9a-fA-F]{1,6} ?/.exec(c.slice(j + 1, j + 8));
            if (m) { out += String.fromCodePoint(parseInt(m[0], 16) || 0xfffd); j += 1 + m[0].length; continue; }
            out += c[j + 1]; j += 2; continue;
          }
          out += c[j++];
        }
        i = j + 1;
        continue;
      }
      const m = /^attr\(\s*([-\w]+)\s*\)/.exec(c.slice(i));
      if (m) { out += el.getAttribute(m[1]) || ""; i += m[0].length; continue; }
      return undefined;
    }
    return out;
  }

  // ------------------------------------------------------ accessible names --
  // A port of Playwright's getTextAlternativeInternal (accname 1.2) reading the walk's caches.
  // Options: tgt 1 = the element being named, 2 = a descendant of it, 0 = neither;
  // lby/label/native/descr = embedded in aria-labelledby / <label> / legend-caption-figcaption /
  // aria-describedby traversal; hid = that traversal started at a hidden element (hidden content counts).

  const NAME_TEXT_CAP = 4000;  // stop accumulating content text for a name beyond this (names print cut to 200)

  // The plain "descendant of the element being named" options: content text computed under them
  // is cached per element (a row's name and then each of its cells' names reuse it).
  const DESC = Object.freeze({ tgt: 2, lby: false, label: false, native: false, descr: false, hid: false,
    child: null, out: null });
  let CONTENT = null;   // Element -> content text under DESC (per call)
  let LABELS = null;    // tree scope (Document/ShadowRoot) -> Map(control -> [label]) (per call)
  let PSEUDO = false;   // read ::before/::after of empty elements (second pass for empty names)

  function childOpts(o) {
    // Only "the element itself" changes for children (to "descendant"); other options are inherited
    // unchanged, so the same object serves the whole subtree.
    if (o.tgt !== 1) return o;
    if (!o.lby && !o.label && !o.native && !o.descr && !o.hid) return DESC;
    if (!o.child) o.child = { tgt: 2, lby: o.lby, label: o.label, native: o.native, descr: o.descr, hid: o.hid,
      child: null, out: null };
    return o.child;
  }

  function textAlt(el, o, visited) {
    if (visited.has(el)) return "";
    const tag = el.localName;
    if (IGNORED_FOR_ARIA.has(tag) || (!o.hid && hiddenForAria(el))) {
      visited.add(el);
      return "";
    }
    const lby = el.hasAttributes() ? labelledByEls(el) : null;
    if (!o.lby && lby) {
      const parts = [];
      for (const r of lby) parts.push(textAlt(r, { tgt: 0, lby: true, label: false, native: false, descr: false,
        hid: hiddenForAria(r), child: null, out: null }, visited));
      const s = parts.join(" ");
      if (s) return s;
    }
    const role = rawRole(el) || "";

    // Embedded controls contribute their value rather than their label.
    if (o.label || o.lby || o.tgt === 2) {
      if (!(lby && lby.includes(el))) {
        if (role === "textbox" || role === "searchbox") {
          visited.add(el);
          return tag === "input" || tag === "textarea" ? el.value : (el.textContent || "");
        }
        if (role === "combobox" || role === "listbox") {
          visited.add(el);
          let sel;
          if (tag === "select") {
            sel = [...el.selectedOptions];
            if (!sel.length && el.options.length) sel.push(el.options[0]);
          } else {
            const lb = role === "combobox" ? [...el.querySelectorAll("*")].find((e) => rawRole(e) === "listbox") : el;
            sel = lb ? [...lb.querySelectorAll('[aria-selected="true" i]')].filter((e) => rawRole(e) === "option") : [];
          }
          if (!sel.length && tag === "input") return el.value;
          const co = childOpts(o);
          return sel.map((x) => textAlt(x, co, visited)).join(" ");
        }
        if (role === "progressbar" || role === "scrollbar" || role === "slider" || role === "spinbutton" || role === "meter") {
          visited.add(el);
          return el.getAttribute("aria-valuetext") ?? el.getAttribute("aria-valuenow") ?? el.getAttribute("value") ?? "";
        }
        if (role === "menu") {
          visited.add(el);
          return "";
        }
      }
    }

    const ariaLabel = el.getAttribute("aria-label") || "";
    if (ariaLabel.trim()) {
      visited.add(el);
      return ariaLabel;
    }

    if (role !== "presentation" && role !== "none") {
      if (tag === "input") {
        const type = el.type;
        if (type === "button" || type === "submit" || type === "reset") {
          visited.add(el);
          const v = el.value || "";
          if (v.trim()) return v;
          if (type === "submit") return "Submit";
          if (type === "reset") return "Reset";
          return el.getAttribute("title") || "";
        }
        if (type === "file") {
          visited.add(el);
          if (!o.lby) { const ls = labelsOf(el); if (ls.length) return fromLabels(ls, visited); }
          return "Choose File";
        }
        if (type === "image") {
          visited.add(el);
          if (!o.lby) { const ls = labelsOf(el); if (ls.length) return fromLabels(ls, visited); }
          const alt = el.getAttribute("alt") || "";
          if (alt.trim()) return alt;
          const title = el.getAttribute("title") || "";
          if (title.trim()) return title;
          return "Submit";
        }
      }
      if (!lby && tag === "button") {
        visited.add(el);
        { const ls = labelsOf(el); if (ls.length) return fromLabels(ls, visited); }
      }
      if (!lby && tag === "output") {
        visited.add(el);
        { const ls = labelsOf(el); if (ls.length) return fromLabels(ls, visited); }
        return el.getAttribute("title") || "";
      }
      if (!lby && (tag === "textarea" || tag === "select" || tag === "input" || tag === "meter" || tag === "progress")) {
        visited.add(el);
        { const ls = labelsOf(el); if (ls.length) return fromLabels(ls, visited); }
        const usePlaceholder = (tag === "input" && ["text", "password", "number", "search", "tel", "email", "url"].includes(el.type)) ||
          tag === "textarea";
        const placeholder = el.getAttribute("placeholder") || "";
        const title = el.getAttribute("title") || "";
        if (!usePlaceholder || title) return title;
        return placeholder;
      }
      if (!lby && (tag === "fieldset" || tag === "figure")) {
        visited.add(el);
        const want = tag === "fieldset" ? "legend" : "figcaption";
        for (let c = el.firstElementChild; c; c = c.nextElementSibling) {
          if (c.localName === want) return nativeAlt(c, o, visited);
        }
        return el.getAttribute("title") || "";
      }
      if (tag === "img" || tag === "area") {
        visited.add(el);
        const alt = el.getAttribute("alt") || "";
        if (alt.trim()) return alt;
        return el.getAttribute("title") || "";
      }
      if (tag === "table") {
        visited.add(el);
        for (let c = el.firstElementChild; c; c = c.nextElementSibling) {
          if (c.localName === "caption") return nativeAlt(c, o, visited);
        }
        const summary = el.getAttribute("summary") || "";
        if (summary) return summary;
      }
      if (tag === "svg" || el.ownerSVGElement) {
        visited.add(el);
        for (let c = el.firstElementChild; c; c = c.nextElementSibling) {
          if (c.localName === "title" && c.ownerSVGElement) {
            const co = childOpts(o);
            return textAlt(c, { tgt: co.tgt, lby: true, label: co.label, native: co.native, descr: co.descr,
              hid: co.hid || hiddenForAria(c), child: null, out: null }, visited);
          }
        }
        if (tag === "a") {
          const t = el.getAttribute("xlink:title") || "";
          if (t.trim()) return t;
        }
      }
    }

    const summary = tag === "summary" && role !== "presentation" && role !== "none";
    if (NAME_FROM_CONTENT.has(role) || (o.tgt === 2 && NAME_FROM_CONTENT_DESC.has(role)) || summary ||
        o.lby || o.descr || o.label || o.native) {
      visited.add(el);
      const t = contentText(el, childOpts(o), visited);
      if (o.tgt === 1 ? t.trim() : t) {
        if (o.out && o.tgt === 1) o.out.fromContent = true;
        return t;
      }
    }
    if ((role !== "presentation" && role !== "none") || tag === "iframe" || tag === "frame") {
      visited.add(el);
      const title = el.getAttribute("title") || "";
      if (title.trim()) return title;
    }
    visited.add(el);
    return "";
  }

  function nativeAlt(c, o, visited) {
    const co = childOpts(o);
    return textAlt(c, { tgt: co.tgt, lby: co.lby, label: co.label, native: true, descr: co.descr,
      hid: co.hid || hiddenForAria(c), child: null, out: null }, visited);
  }

  // <label>s of a control. Not el.labels: Chromium's live LabelsNodeList walks the whole tree
  // scope on first use, per control, which is quadratic on pages with many buttons/inputs. One
  // querySelectorAll('label') per tree scope (document or shadow root) builds the same lists.
  const NO_LABELS = Object.freeze([]);

  function labelsOf(el) {
    const root = el.getRootNode();
    let idx = LABELS.get(root);
    if (idx === undefined) {
      idx = new Map();
      if (root.querySelectorAll) {
        for (const l of root.querySelectorAll("label")) {
          const c = l.control;
          if (!c) continue;
          const a = idx.get(c);
          if (a) a.push(l); else idx.set(c, [l]);
        }
      }
      LABELS.set(root, idx);
    }
    return idx.get(el) || NO_LABELS;
  }

  function fromLabels(labels, visited) {
    const parts = [];
    for (const l of labels) {
      const s = textAlt(l, { tgt: 0, lby: false, label: true, native: false, descr: false, hid: hiddenForAria(l),
        child: null, out: null }, visited);
      if (s) parts.push(s);
    }
    return parts.join(" ");
  }

  // innerAccumulatedElementText: the element's flat-tree content, block children padded with spaces.
  function contentText(el, o, visited) {
    if (o === DESC && !PSEUDO) {
      let t = CONTENT.get(el);
      if (t === undefined) CONTENT.set(el, t = contentText1(el, o, visited));
      return t;
    }
    return contentText1(el, o, visited);
  }

  function contentText1(el, o, visited) {
    const tag = el.localName;
    const sr = el.shadowRoot;
    if (!sr && tag !== "slot") {
      if (!el.hasChildNodes()) {
        // Empty element: icon fonts put their glyph in ::before/::after. Reading pseudo styles is
        // slow (tens of µs), so it is only done when a name came out empty without it (PSEUDO).
        if (!PSEUDO) return "";
        const b = pseudoContent(el, "::before"), a = pseudoContent(el, "::after");
        return (b || "") + (a || "");
      }
      // Text-only element: one textContent read instead of touching every text node.
      if (el.firstElementChild === null) return !o.hid && tag === "details" && !el.open ? "" : el.textContent;
    }
    const tokens = [];
    let len = 0;
    const first = sr ? sr.firstChild : el.firstChild;
    const visit = (n) => {
      if (len > NAME_TEXT_CAP) return;
      if (n.nodeType === 1) {
        let t = textAlt(n, o, visited);
        if (n.localName === "br" || displayOf(n) !== "inline") t = " " + t + " ";
        tokens.push(t);
        len += t.length;
      } else if (n.nodeType === 3) {
        // Text directly inside a closed <details> (outside <summary>) is not rendered.
        if (!o.hid && el.localName === "details" && !el.open) return;
        tokens.push(n.data);
        len += n.data.length;
      }
    };
    if (el.localName === "slot") {
      const assigned = el.assignedNodes({ flatten: true });
      if (assigned.length) {
        for (const n of assigned) visit(n);
        return tokens.join("");
      }
    }
    for (let c = first; c; c = c.nextSibling) visit(c);
    return tokens.join("");
  }

  // The accessible name of an element with the given role; out.fromContent tells whether it came
  // from the element's own content.
  function accName(el, role, out) {
    if (NAME_PROHIBITED.has(role)) return "";
    return selfName(el, out);
  }

  function selfName(el, out) {
    const opts = () => ({ tgt: 1, lby: false, label: false, native: false, descr: false, hid: false, child: null, out });
    let name = norm(textAlt(el, opts(), new Set()));
    if (!name && (ICON_ROLES.has(rawRole(el) || "") || el.localName === "summary")) {
      // Icon-only controls: retry with CSS generated content of empty descendants (not for empty
      // table cells and the like: pseudo-element styles cost tens of µs each).
      PSEUDO = true;
      try { name = norm(textAlt(el, opts(), new Set())); } finally { PSEUDO = false; }
    }
    return name;
  }

  // Names for lines Playwright never names (generic, iframe): labelledby > aria-label > title.
  function plainName(el) {
    const lby = labelledByEls(el);
    if (lby) {
      const visited = new Set();
      const s = norm(lby.map((r) => textAlt(r, { tgt: 0, lby: true, label: false, native: false, descr: false,
        hid: hiddenForAria(r), child: null, out: null }, visited)).join(" "));
      if (s) return s;
    }
    return norm(el.getAttribute("aria-label") || "") || norm(el.getAttribute("title") || "");
  }

  function description(el, name) {
    const db = el.getAttribute("aria-describedby");
    if (db) {
      const visited = new Set();
      const s = norm(idRefs(el, db).map((r) => textAlt(r, { tgt: 0, lby: false, label: false, native: false,
        descr: true, hid: hiddenForAria(r), child: null, out: null }, visited)).join(" "));
      if (s) return s;
    }
    const d = el.getAttribute("aria-description");
    if (d) return norm(d);
    const t = norm(el.getAttribute("title") || "");
    return t !== name ? t : "";
  }

  // ------------------------------------------------------------- the walk --
  // Builds a tree of nodes: {el, role, kids: [string | node], ia, iad, ...}. Elements with role
  // generic/none/presentation and no name are folded (their content goes to the parent); text
  // nodes are pushed as raw strings and merged into runs when a node is finished.

  // Early abort: with filter "all" and no depth limit every node becomes a line of at least
  // MIN_LINE chars, so once NODE_BUDGET nodes exist the text cannot fit in maxChars anyway.
  const MIN_LINE = 12;
  const TOO_BIG = { tooBig: true };
  let NODE_BUDGET = Infinity;

  // Icon-only controls (a span with a background image, an icon-font glyph or an inline SVG, and
  // no text) are images to a person: they get role img, and when the page gives them no name,
  // one from the words it does give (data-* attributes that name actions, class and id words).
  const ICON_NOISE = new Set(["icon", "icons", "ico", "fa", "fas", "far", "fab", "fal", "fad", "bi", "glyphicon",
    "glyphicons", "material", "symbols", "outlined", "rounded", "sharp", "mdi", "svg", "img", "image", "btn",
    "button", "js", "ui", "sm", "md", "lg", "xl", "xs", "fw", "left", "right", "active", "small", "large", "pull",
    "inline", "block", "hidden", "visible", "clickable", "control", "ctrl", "item", "el", "act", "action",
    "actions", "toolbar", "tool", "row", "cell", "col", "hover", "focus", "selected", "disabled", "is", "has",
    "lucide", "feather", "octicon", "ion", "ri", "ti", "bx", "la", "las", "ms", "mi"]);
  const ICON_DATA = ["data-action", "data-title", "data-tooltip", "data-original-title", "data-bs-original-title",
    "data-label", "data-name", "data-command", "data-icon", "data-testid", "data-test", "data-cy"];
  function iconWords(el) {
    const words = [];
    const add = (v) => {
      if (!v) return;
      for (const w of String(v).replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z]+/)) {
        if (w.length > 1 && !ICON_NOISE.has(w) && !words.includes(w)) words.push(w);
      }
    };
    for (const a of ICON_DATA) {
      add(el.getAttribute(a));
      if (words.length) return words.slice(0, 3).join(" ");
    }
    add(el.getAttribute("class"));
    add(el.id);
    const svg = el.localName === "svg" ? el : el.querySelector("svg");
    if (!words.length && svg) {
      const use = svg.querySelector("use");
      const href = use && (use.getAttribute("href") || use.getAttribute("xlink:href"));
      if (href) add(href.split("#").pop());
      add(svg.getAttribute("class"));
    }
    return words.slice(0, 3).join(" ");
  }
  // No text of its own (icon-font glyphs in the Private Use Area do not count), and something
  // drawn: a background image, generated content, an image or SVG inside.
  function iconLike(el, cs) {
    const text = (el.textContent || "").replace(/[\ue000-\uf8ff\s]/g, "");
    if (text) {
      // Material-style ligature icons: one lowercase word set in an icon font.
      return /^[a-z_]{2,30}$/.test(text) && /icon|symbol/i.test(cs.fontFamily || "");
    }
    if (cs.backgroundImage && cs.backgroundImage !== "none") return true;
    if (el.querySelector("svg, img, canvas")) return true;
    for (const p of ["::before", "::after"]) {
      const c = getComputedStyle(el, p).content;
      if (c && c !== "none" && c !== "normal" && c !== '""') return true;
    }
    return false;
  }

  // The text around `el` in its row: the nearest of its first four ancestors that holds text
  // besides `el`'s own, as long as that is short (at most 200 characters); "" otherwise.
  function rowText(el) {
    let a = el;
    for (let depth = 0; depth < 4; depth++) {
      a = a.parentElement;
      if (!a || a === document.body || a === document.documentElement) return "";
      const all = a.textContent || "";
      if (all.length > 400) return "";
      const parts = [];
      let size = 0;
      const w = document.createTreeWalker(a, NodeFilter.SHOW_TEXT);
      for (let t = w.nextNode(); t; t = w.nextNode()) {
        if (el.contains(t)) continue;
        const v = t.nodeValue.trim();
        if (!v) continue;
        parts.push(v);
        size += v.length;
        if (size > 200) return "";
      }
      if (parts.length) return norm(parts.join(" "));
    }
    return "";
  }

  const SLIDER_HANDLE = /(^|\s)(ui-slider-handle|noUi-handle|slider-handle|rc-slider-handle|slider-thumb|MuiSlider-thumb)(\s|$)/;
  // A handle's value and bounds: from its library (asked in the page's main world, see
  // timers.js), else its position along the track as a percentage.
  function handleValue(el) {
    let got = null;
    const on = (e) => { got = e.detail; };
    document.addEventListener("tabwright-widget-value-state", on, true);
    try {
      el.dispatchEvent(new CustomEvent("tabwright-widget-value", { bubbles: true, composed: true }));
    } catch (e) { /* the page's world is not there */ } finally {
      document.removeEventListener("tabwright-widget-value-state", on, true);
    }
    if (typeof got === "string") {
      try {
        const o = JSON.parse(got);
        if (o && (typeof o.value === "number" || typeof o.value === "string")) {
          return { value: String(o.value), min: o.min == null ? null : String(o.min), max: o.max == null ? null : String(o.max) };
        }
      } catch (e) { /* not JSON: ignore */ }
    }
    const pos = el.style.left || el.style.bottom || el.style.insetInlineStart || "";
    if (/^-?[\d.]+%$/.test(pos)) return { value: Math.round(parseFloat(pos) * 10) / 10 + "%", min: null, max: null };
    return null;
  }

  // Input types whose value has a format the model must follow (form_input checks it).
  const TYPED_INPUTS = new Set(["date", "time", "datetime-local", "month", "week", "number", "range", "color",
    "email", "url", "tel"]);
  // How much of a control's value a line shows: all of it when one element's subtree is read.
  let VALUE_CAP = 200;

  function makeNode(el, role) {
    if (--NODE_BUDGET < 0) throw TOO_BIG;
    return { el, role, kids: [], ia: false, iad: false, icon: false, handle: false, hv: undefined, name: undefined, fc: false, ctl: false, frame: false,
      sb: false, sa: false, inl: undefined, free: undefined };
  }

  // Walk the flat-tree children of `el` into `items`. vis: whether `el` itself is visible (its text
  // nodes are rendered); ptr: whether `el` has cursor:pointer (for click-target roots).
  function walkChildren(el, items, vis, ptr) {
    const sr = el.shadowRoot;
    if (sr) {
      for (let c = sr.firstChild; c; c = c.nextSibling) walkNode(c, items, vis, ptr);
      return;
    }
    const tag = el.localName;
    if (tag === "slot") {
      const assigned = el.assignedNodes({ flatten: true });
      if (assigned.length) {
        for (const c of assigned) walkNode(c, items, vis, ptr);
        return;
      }
    } else if (tag === "details" && !el.open) {
      // Closed <details>: only its first <summary> is rendered.
      for (let c = el.firstElementChild; c; c = c.nextElementSibling) {
        if (c.localName === "summary") { walkElement(c, items, ptr); break; }
      }
      return;
    }
    if (el.firstElementChild === null) {
      // Text-only element: in an isolated world every DOM node touched costs a wrapper, so read the
      // text in one go instead of visiting each text node.
      if (vis) {
        const t = el.textContent;
        if (t) items.push(t);
      }
      return;
    }
    for (let c = el.firstChild; c; c = c.nextSibling) {
      const t = c.nodeType;
      if (t === 1) walkElement(c, items, ptr);
      else if (t === 3 && vis) items.push(c.data);
    }
  }

  function walkNode(n, items, vis, ptr) {
    const t = n.nodeType;
    if (t === 3) {
      if (vis) items.push(n.data);
    } else if (t === 1) {
      walkElement(n, items, ptr);
    }
  }

  function walkElement(el, items, pptr) {
    const tag = el.localName;
    if (SKIP_TAGS.has(tag)) return;
    const cs = getComputedStyle(el);
    const d = cs.display;
    DISP.set(el, d);
    if (d === "none") {
      STATE.set(el, S_HIDDEN | S_WALKED);
      return;
    }
    const hasAttrs = el.hasAttributes();
    // aria-hidden="true" and inert subtrees are left out entirely.
    if (hasAttrs && (isTrue(el.getAttribute("aria-hidden")) || el.hasAttribute("inert"))) {
      STATE.set(el, S_HIDDEN | S_WALKED);
      return;
    }
    const v = cs.visibility === "visible";
    STATE.set(el, v ? S_SHOWN | S_WALKED : S_SHOWN | S_WALKED | S_INVIS);
    // cursor is inherited: below a pointer element nothing can be a click-target root, skip the read.
    const ptr = pptr || cs.cursor === "pointer";
    const block = d !== "inline" || tag === "br";
    // content-visibility:hidden: the element renders, its content does not (it only applies to
    // non-inline boxes, so inline elements skip the style read).
    const noKids = NO_CHILDREN.has(tag) || (block && canContain(d) && cs.contentVisibility === "hidden");

    let role = rawRole(el);

    if (!v) {
      // visibility:hidden/collapse: no line and no own text, but visible descendants still render.
      if (block) items.push(" ");
      if (!noKids) walkChildren(el, items, false, ptr);
      if (block) items.push(" ");
      return;
    }

    if (tag === "iframe" || tag === "frame") {
      const node = makeNode(el, "iframe");
      node.frame = true;
      node.iad = true;  // the child frame may hold interactive content: keep the path to it

      items.push(node);
      return;
    }

    // contenteditable hosts are textboxes (unless they have an explicit role); children not rendered.
    // (Name computation keeps seeing it as role-less, as Playwright does.)
    if (role === null && hasAttrs && el.hasAttribute("contenteditable") && el.isContentEditable &&
        !(el.parentElement && el.parentElement.isContentEditable)) {
      role = "textbox";
    }

    if (role === null || role === "generic" || role === "none" || role === "presentation") {
      // Generic: folded unless it has a name, is focusable/clickable, or is a click-target root.
      let keep = 0;  // 1: named or focusable/onclick, 2: only a cursor:pointer root
      if (role !== "none" && role !== "presentation" && tag !== "body" && tag !== "html") {
        if (tag === "summary") keep = 1;
        else if (hasAttrs && (el.hasAttribute("aria-label") || el.hasAttribute("aria-labelledby") ||
            el.hasAttribute("onclick") || tabIndexNonNegative(el) || el.getAttribute("draggable") === "true" ||
            (el.hasAttribute("title") && el.getAttribute("title").trim()))) keep = 1;
        else if (ptr && !pptr && tag !== "label") keep = 2;
      }
      if (!keep) {
        if (block) items.push(" ");
        if (!noKids) {
          if (tag === "legend" || tag === "figcaption" || tag === "label") foldCaption(el, tag, items, ptr);
          else walkChildren(el, items, true, ptr);
        }
        if (block) items.push(" ");
        return;
      }
      // A slider library's handle without ARIA (jQuery UI, noUiSlider, rc-slider …) is a slider.
      const handle = hasAttrs && SLIDER_HANDLE.test(el.getAttribute("class") || "");
      const icon = !handle && tag !== "summary" && iconLike(el, cs);
      const node = makeNode(el, handle ? "slider" : icon ? "img" : "generic");
      if (handle) {
        node.handle = true;
        node.ia = true;
        finish(node);
        items.push(node);
        return;
      }
      if (block) node.sb = node.sa = true;
      // Draggable elements are things a person acts on (drag and drop), so they get a line.
      node.ia = keep === 2 || tag === "summary" || (ptr && !pptr && tag !== "label") ||
        (hasAttrs && (el.hasAttribute("onclick") || tabIndexNonNegative(el) || el.getAttribute("draggable") === "true"));
      if (icon) {
        // An icon someone can click is one line with its own ref, whatever it contains.
        node.icon = true;
        node.ia = true;
        finish(node);
        items.push(node);
        return;
      }
      if (!noKids) walkChildren(el, node.kids, true, ptr);
      finish(node);
      // A pointer-cursor wrapper around exactly one element line adds nothing (Playwright unwraps it).
      if (keep === 2 && node.kids.length === 1 && typeof node.kids[0] !== "string") {
        items.push(node.kids[0]);
        return;
      }
      items.push(node);
      return;
    }

    const node = makeNode(el, role);
    if (block) node.sb = node.sa = true;
    node.ia = INTERACTIVE_ROLES.has(role) || (hasAttrs && (el.hasAttribute("onclick") || tabIndexNonNegative(el))) ||
      (ptr && !pptr);
    if (tag === "input" || tag === "textarea" || ((role === "textbox" || role === "searchbox") && tag !== "select")) {
      node.ctl = true;            // controls: internal children are not rendered
    } else if (tag === "select") {
      node.ctl = true;
      walkOptions(el, node.kids);
    } else if (tag === "img") {
      // Nameless images are dropped (Playwright's removeNamelessImages) unless they are click targets.
      if (!(ptr && !pptr) && !accName(el, role, null)) return;
    } else if (!noKids) {
      walkChildren(el, node.kids, true, ptr);
      if (role === "img" && !node.kids.length && !(ptr && !pptr) && !accName(el, role, null)) return;
    }
    finish(node);
    items.push(node);
  }

  // Size containment (hence content-visibility) has no effect on table parts, inline or ruby boxes.
  function canContain(d) {
    const c = d.charCodeAt(0);
    return !(c === 116 /* table* */ || c === 114 /* ruby* */ || d === "inline" || d === "contents");
  }

  function tabIndexNonNegative(el) {
    const t = el.getAttribute("tabindex");
    if (t === null) return false;
    const n = Number(t);
    return Number.isInteger(n) && n >= 0;
  }

  // <legend>/<figcaption> name their fieldset/figure and a <label> names its control: when their
  // content is plain text that already appears as that name, it is not repeated as a text line.
  function foldCaption(el, tag, items, ptr) {
    const tmp = [];
    walkChildren(el, tmp, true, ptr);
    let nodes = 0, only = null;
    for (const x of tmp) if (typeof x !== "string") { nodes++; only = x; }
    let redundant = false;
    const p = el.parentElement;
    if (tag === "legend") {
      redundant = !nodes && !!p && p.localName === "fieldset" && !hasExplicitName(p) && firstChildTag(p, "legend") === el;
    } else if (tag === "figcaption") {
      redundant = !nodes && !!p && p.localName === "figure" && !hasExplicitName(p) && firstChildTag(p, "figcaption") === el;
    } else if (nodes <= 1) {
      // <label for=x>Text</label> (text only, control rendered elsewhere) or <label>Text <input></label>
      // (the control is its only line): the text is the control's name.
      const c = el.control;
      redundant = !!c && (nodes ? only.el === c : !!c.checkVisibility && c.checkVisibility({ visibilityProperty: true })) &&
        !c.hasAttribute("aria-labelledby") && !(c.getAttribute("aria-label") || "").trim() &&
        !(c.localName === "input" && (c.type === "button" || c.type === "submit" || c.type === "reset" || c.type === "image"));
    }
    if (!redundant) for (const x of tmp) items.push(x);
    else if (nodes) items.push(only);
  }

  function firstChildTag(p, tag) {
    for (let c = p.firstElementChild; c; c = c.nextElementSibling) if (c.localName === tag) return c;
    return null;
  }

  // <select>: options (and optgroups as groups) are its child lines.
  function walkOptions(sel, items) {
    for (let c = sel.firstElementChild; c; c = c.nextElementSibling) {
      const t = c.localName;
      if (t !== "option" && t !== "optgroup") continue;
      const d = getComputedStyle(c).display;
      DISP.set(c, d);
      if (d === "none") { STATE.set(c, S_HIDDEN | S_WALKED); continue; }
      STATE.set(c, S_SHOWN | S_WALKED);
      const node = makeNode(c, t === "option" ? "option" : "group");
      node.ctl = true;
      node.ia = t === "option";
      if (t === "optgroup") walkOptions(c, node.kids);
      finish(node);
      items.push(node);
    }
  }

  // Merge adjacent text into normalized runs and compute "has interactive descendant".
  // Whether an element had white space before (sb) and after (sa) it is kept on the element, so
  // that a line writing its children inline joins them as the page does ("[code e3: x], y").
  // Page text that looks like an element of the outline grammar (`[button "Pay now" e3]`,
  // `[e3]`) is written with its brackets escaped (`\[button "Pay now" e3\]`): text cannot
  // pose as an element with a ref. Other brackets stay as they are.
  const FORGED = /\[([^\[\]\n]*\b(?:f\d+)?e\d+\b[^\[\]\n]*)\]/g;
  function defang(s) {
    return s.indexOf("[") < 0 ? s : s.replace(FORGED, "\\[$1\\]");
  }

  function finish(node) {
    const kids = node.kids;
    let iad = node.ia;
    let w = 0;
    let buf = null;
    let prev = null;
    for (let i = 0; i < kids.length; i++) {
      const k = kids[i];
      if (typeof k === "string") {
        buf = buf === null ? k : buf + k;
        continue;
      }
      if (buf !== null) {
        if (prev !== null && WS_START.test(buf)) prev.sa = true;
        if (WS_END.test(buf)) k.sb = true;
        const s = defang(norm(buf));
        if (s) kids[w++] = s;
        buf = null;
      }
      if (k.iad) iad = true;
      kids[w++] = k;
      prev = k;
    }
    if (buf !== null) {
      if (prev !== null && WS_START.test(buf)) prev.sa = true;
      const s = defang(norm(buf));
      if (s) kids[w++] = s;
    }
    kids.length = w;
    node.iad = iad;
  }

  // Build the tree for the whole document (or for `rootEl`), returning the top-level items.
  function build(rootEl) {
    const top = makeNode(null, "fragment");
    if (!rootEl) {
      const de = document.documentElement;
      if (de) walkElement(de, top.kids, false);
    } else {
      // Ancestor state the subtree walk cannot see: hidden ancestors, inherited pointer cursor.
      const p = parentOrHost(rootEl);
      if (p && subtreeHidden(p)) return top;
      if (rootEl.closest("[inert]")) return top;
      if (rootEl.checkVisibility && !rootEl.checkVisibility() && getComputedStyle(rootEl).display !== "contents") return top;
      const pptr = p ? getComputedStyle(p).cursor === "pointer" : false;
      walkElement(rootEl, top.kids, pptr);
    }
    finish(top);
    return top;
  }

  // ------------------------------------------------------------ rendering --

  function nodeName(node) {
    if (node.name !== undefined) return node.name;
    const el = node.el;
    let name;
    const out = { fromContent: false };
    // Role-less elements (div, span, summary...) are named like Playwright does (aria-label,
    // title, summary content); explicit role=generic prohibits naming, iframes use title/aria-label.
    if (node.role === "iframe" || (node.role === "generic" && rawRole(el) !== null)) name = plainName(el);
    else if (node.role === "generic") name = selfName(el, out);
    else if (node.ctl && node.role === "option") {
      name = norm(el.getAttribute("aria-label") || "") || norm(el.textContent || "") || norm(el.getAttribute("title") || "");
    } else if (node.ctl && node.role === "group" && el.localName === "optgroup") {
      name = norm(el.getAttribute("aria-label") || "") || norm(el.getAttribute("label") || "");
    } else name = accName(el, node.role, out);
    if (!name && node.icon) {
      name = plainName(el);
      if (!name) {
        PSEUDO = true;
        try { name = norm(textAlt(el, { tgt: 1, lby: false, label: false, native: false, descr: false, hid: false, child: null, out }, new Set())); } finally { PSEUDO = false; }
        // A lone symbol (★, ✕, +) says less than the page's own words for it.
        if (name.length <= 1 || !/[A-Za-z0-9]/.test(name)) name = iconWords(el) || name;
      }
    }
    node.fc = out.fromContent;
    node.cutName = name.length > 200;
    node.name = name;
    return name;
  }

  // Text runs inside an element named from its own content repeat the name: they are not printed.
  function textIsName(node) {
    nodeName(node);
    return node.fc && !node.cutName;
  }

  const URL_NEEDS_PARSE = /[\s"'<>`\\^{}|]|[^\x21-\x7e]/;

  function urlOf(el) {
    const raw = el.getAttribute("href") ?? el.getAttribute("xlink:href");
    if (raw === null) return null;
    // Fast paths that skip the (slow) href getter: in-page fragments and absolute http(s) URLs.
    if (FRAG_OK && raw.charCodeAt(0) === 35 && !URL_NEEDS_PARSE.test(raw)) return raw;
    let href = null;
    if ((raw.startsWith("https://") || raw.startsWith("http://")) && !URL_NEEDS_PARSE.test(raw) && raw.indexOf("/", 8) > 0) {
      href = raw;
    } else if (typeof el.href === "string") href = el.href;
    if (href === null) {
      try { href = new URL(raw, document.baseURI).href; } catch { return raw; }
    }
    if (href.startsWith("data:")) return cut(href, 60);
    // Same origin: path+query+hash, or just the #fragment on the same path+query. Plain string
    // work on the already-resolved href (new URL() per link is measurably slow on big pages).
    if (LOC_BASE === null || !href.startsWith(LOC_BASE) || href.charCodeAt(LOC_BASE.length) !== 47) return href;
    const rest = href.slice(LOC_BASE.length);
    if (rest.startsWith(LOC_PATHQ) && rest.charCodeAt(LOC_PATHQ.length) === 35) return rest.slice(LOC_PATHQ.length);
    return rest;
  }

  function valueOf(node) {
    const el = node.el, role = node.role, tag = el.localName;
    if (!VALUE_ROLES.has(role)) return null;
    if (tag === "input") {
      const v = el.value;
      // Passwords: never the value, only its length (capped at 8).
      if (el.type === "password") return v ? "\u2022".repeat(Math.min(v.length, 8)) : "";
      // Values as they are (spaces kept); whole when one element's subtree is read.
      return cut(v, VALUE_CAP);
    }
    if (tag === "textarea") return cut(el.value, VALUE_CAP);
    if (tag === "select") {
      if (role === "listbox") return "";
      const o = el.selectedOptions[0];
      return o ? norm(o.text) : "";
    }
    if (node.handle && el.getAttribute("aria-valuenow") === null) {
      if (node.hv === undefined) node.hv = handleValue(el);
      return node.hv ? node.hv.value : "";
    }
    const vt = el.getAttribute("aria-valuetext");
    if (vt !== null) return vt;
    const vn = el.getAttribute("aria-valuenow");
    if (vn !== null) return vn;
    if (tag === "progress") return el.hasAttribute("value") ? String(el.value) : "";
    if (tag === "meter") return String(el.value);
    if (role === "textbox" || role === "searchbox" || role === "combobox") {
      if (role === "combobox") return "";
      return cut(norm(el.textContent || ""), 200);
    }
    return "";
  }

  function nativelyDisabled(el) {
    const t = el.localName;
    if (!(t === "button" || t === "input" || t === "select" || t === "textarea" || t === "option" || t === "optgroup")) return false;
    if (el.hasAttribute("disabled")) return true;
    if (t === "option" && el.closest("optgroup[disabled]")) return true;
    const fs = el.closest("fieldset[disabled]");
    if (!fs) return false;
    const legend = fs.querySelector(":scope > legend");
    return !legend || !legend.contains(el);
  }

  function ariaDisabledChain(el) {
    let r = DISABLED.get(el);
    if (r === undefined) {
      const a = (el.getAttribute("aria-disabled") || "").toLowerCase();
      if (a === "true") r = true;
      else if (a === "false") r = false;
      else {
        const p = parentOrHost(el);
        r = p ? ariaDisabledChain(p) : false;
      }
      DISABLED.set(el, r);
    }
    return r;
  }

  // The states of a node: " [checked] [url=…]" on a line, " checked url=…" inside an inline element.
  function states(node, inline) {
    const el = node.el, role = node.role, tag = el.localName;
    const s = [];
    if (CHECKED_ROLES.has(role)) {
      let c = false;
      if (tag === "input" && el.indeterminate) c = "mixed";
      else if (tag === "input" && (el.type === "checkbox" || el.type === "radio")) c = el.checked;
      else {
        const a = (el.getAttribute("aria-checked") || "").toLowerCase();
        c = a === "true" ? true : a === "mixed" ? "mixed" : false;
      }
      if (c === "mixed") s.push("checked=mixed");
      else if (c) s.push("checked");
    }
    if (nativelyDisabled(el) || (DISABLED_ROLES.has(role) && ariaDisabledChain(el))) s.push("disabled");
    if (tag === "summary") {
      // Our addition: a <summary> shows whether its <details> is open.
      const p = el.parentElement;
      if (p && p.localName === "details") s.push(p.open ? "expanded" : "expanded=false");
    } else if (EXPANDED_ROLES.has(role)) {
      const a = el.getAttribute("aria-expanded");
      if (a !== null) s.push(a.toLowerCase() === "true" ? "expanded" : "expanded=false");
    }
    if (tag === "option" ? el.selected : (SELECTED_ROLES.has(role) && isTrue(el.getAttribute("aria-selected")))) s.push("selected");
    if (role === "button") {
      const p = (el.getAttribute("aria-pressed") || "").toLowerCase();
      if (p === "true") s.push("pressed");
      else if (p === "mixed") s.push("pressed=mixed");
    }
    let level = 0;
    if (role === "heading" && /^h[1-6]$/.test(tag)) level = +tag[1];
    if (!level && LEVEL_ROLES.has(role)) {
      const n = Number(el.getAttribute("aria-level"));
      if (Number.isInteger(n) && n >= 1) level = n;
    }
    if (level) s.push("level=" + level);
    // What the control is, where the outline's role says too little: a multi-line text box, an
    // input whose value has a format, a slider's or number's bounds, a popup it opens.
    if (tag === "textarea" || (role === "textbox" && isTrue(el.getAttribute("aria-multiline")))) s.push("multiline");
    if (tag === "input" && TYPED_INPUTS.has(el.type)) s.push("type=" + el.type);
    if (tag === "input" && (el.type === "range" || el.type === "number")) {
      if (el.min !== "") s.push("min=" + el.min);
      if (el.max !== "") s.push("max=" + el.max);
      if (el.step !== "" && el.step !== "1" && el.step !== "any") s.push("step=" + el.step);
    } else if (role === "slider" || role === "spinbutton" || role === "scrollbar") {
      let mn = el.getAttribute("aria-valuemin"), mx = el.getAttribute("aria-valuemax");
      if (node.handle && mn === null && mx === null) {
        if (node.hv === undefined) node.hv = handleValue(el);
        if (node.hv) { mn = node.hv.min; mx = node.hv.max; }
      }
      if (mn !== null) s.push("min=" + mn);
      if (mx !== null) s.push("max=" + mx);
    }
    const pop = el.getAttribute("aria-haspopup");
    if (pop !== null && pop.trim() && pop.trim().toLowerCase() !== "false") {
      const p = pop.trim().toLowerCase();
      s.push(p === "true" ? "haspopup=menu" : "haspopup=" + p);
    }
    const value = valueOf(node);
    if (value) s.push("value=" + JSON.stringify(value));
    if (role === "link") {
      const u = urlOf(el);
      if (u !== null) s.push("url=" + u);
    }
    const ph = el.getAttribute("placeholder");
    if (ph !== null && (tag === "input" || tag === "textarea" || role === "textbox" || role === "searchbox" || role === "combobox")) {
      const p = norm(ph);
      if (p && p !== nodeName(node)) s.push("placeholder=" + p);
    }
    if (el.required === true || isTrue(el.getAttribute("aria-required"))) s.push("required");
    if ((tag === "input" || tag === "textarea") ? el.readOnly === true && el.type !== "checkbox" && el.type !== "radio" :
        (READONLY_ROLES.has(role) && isTrue(el.getAttribute("aria-readonly")))) s.push("readonly");
    if (el === FOCUSED) s.push("focused");
    const inv = el.getAttribute("aria-invalid");
    if (inv !== null && INVALID_ROLES.has(role)) {
      const t = inv.trim().toLowerCase();
      if (t && t !== "false") s.push("invalid");
    }
    if (!s.length) return "";
    return inline ? " " + s.join(" ") : " [" + s.join("] [") + "]";
  }

  function quoteName(name) {
    return JSON.stringify(cut(name, 200));
  }

  // The line for a node (without indentation / [+N]), its inline content included.
  function headLine(node, ref, inlineText, noName) {
    const name = noName ? "" : nodeName(node);
    let line = "- " + node.role;
    if (name) line += " " + quoteName(name);
    line += " [" + ref + "]" + states(node, false);
    if (inlineText) line += ": " + inlineText;
    return line;
  }

  // Child items of a node for the given filter: nodes that get a line and text runs.
  // filter "interactive" lifts the children of nodes it drops and drops all text.
  // covered: an ancestor line's name was computed from its content (and printed uncut), so text
  // below it is already on screen and is not repeated (names of descendants still are).
  function childItems(node, interactive, covered, outArr) {
    const out = outArr || [];
    const kids = node.kids;
    if (interactive) {
      for (const k of kids) {
        if (typeof k === "string" || !k.iad) continue;
        if (keptInteractive(k)) out.push(k);
        else childItems(k, true, covered, out);
      }
      return out;
    }
    for (const k of kids) {
      if (typeof k === "string" && covered) continue;
      out.push(k);
    }
    return out;
  }

  function coversText(node, covered) {
    return covered || textIsName(node);
  }

  function keptInteractive(n) {
    return n.ia || n.frame || (n.iad && STRUCTURE_ROLES.has(n.role));
  }

  // Children that are a single text run are printed on the element's own line (also with filter
  // "interactive", which otherwise drops text), unless that text is the name or already covered.
  function inlineTextOf(node, covered) {
    const kids = node.kids;
    if (covered || kids.length !== 1 || typeof kids[0] !== "string") return null;
    const t = kids[0];
    return t === nodeName(node) ? "" : t;
  }

  // Controls whose DOM children are never rendered as lines (select keeps its options).
  function leafControl(n) {
    return n.frame || (n.ctl && n.role !== "combobox" && n.role !== "listbox" && n.role !== "group");
  }

  // Roles whose line says nothing when it has no name, no state, no text and no informative
  // children (e.g. an empty code element). Such lines are left out: they cost the model tokens
  // and offer nothing to act on. Structure that carries meaning even when empty (cells, rows,
  // separators, live regions, landmarks, controls) is kept.
  const DROPPABLE_ROLES = new Set([
    "code", "paragraph", "term", "definition", "listitem", "list", "emphasis", "strong",
    "blockquote", "caption", "figure", "time", "mark", "deletion", "insertion", "subscript",
    "superscript", "generic", "group", "note",
  ]);

  // Roles an element may have to be written inside its parent's line (phrasing content: links,
  // code, emphasis, buttons in running text…), when everything below it may be too.
  const INLINE_ROLES = new Set(["link", "code", "emphasis", "strong", "generic", "img", "button", "mark", "time",
    "subscript", "superscript", "deletion", "insertion"]);
  const CELL_ROLES = new Set(["cell", "gridcell", "columnheader", "rowheader"]);
  // Roles whose line may carry its children inline: elements that hold running text. Containers
  // (landmarks, regions, lists, forms, toolbars, named generics…) keep one child per line even
  // when every child could be inline: a row of buttons reads better as lines.
  const FLOW_ROLES = new Set(["paragraph", "heading", "listitem", "cell", "gridcell", "columnheader", "rowheader",
    "term", "definition", "caption", "blockquote", "note", "tooltip", "link", "button", "code", "emphasis", "strong",
    "mark", "time", "subscript", "superscript", "deletion", "insertion"]);

  // Says nothing (see DROPPABLE_ROLES): no name, no state, no text anywhere below.
  function infoFree(it) {
    if (typeof it === "string") return false;
    if (it.free !== undefined) return it.free;
    let free = false;
    if (!it.frame && !it.ia && DROPPABLE_ROLES.has(it.role) && !leafControl(it) && !nodeName(it) && !states(it, false)) {
      free = it.kids.every(infoFree);
    }
    it.free = free;
    return free;
  }

  // What a node's line shows below it (filter "all"): its children, except that a name computed
  // from content stands for the text under it. When element children are below too, the name is
  // left out and the children say it all (as Playwright does: `link [e5]: [code e6: repr()]`), so
  // every element below keeps its line or inline place, and its ref.
  // Returns {kids, noName}; kids are the child items still to show (dropped ones left out).
  function shownKids(node) {
    if (leafControl(node)) return { kids: [], noName: false };
    const all = node.kids.filter((k) => !infoFree(k));
    if (!textIsName(node)) return { kids: all, noName: false };
    const els = all.filter((k) => typeof k !== "string");
    if (!els.length) return { kids: [], noName: false };
    return { kids: all, noName: true };
  }

  // Whether an element can be written inside its parent's line. `sole`: it is its parent's only
  // child (then a paragraph may be inline too, as in `cell [e4]: [paragraph e5: text]`).
  function inlineable(it, sole) {
    if (typeof it === "string") return true;
    if (it.frame) return false;
    if (!INLINE_ROLES.has(it.role) && !(sole && it.role === "paragraph")) return false;
    if (it.inl === undefined) it.inl = kidsInlineable(shownKids(it).kids);
    return it.inl;
  }

  function kidsInlineable(kids) {
    if (kids.length === 1) return inlineable(kids[0], true);
    return kids.every((k) => inlineable(k, false));
  }

  // A row writes its cells inline when each cell's content can be.
  function rowInline(kids) {
    return kids.length > 0 && kids.every((k) => typeof k !== "string" && CELL_ROLES.has(k.role) &&
      kidsInlineable(shownKids(k).kids));
  }

  // Inline content: text runs as they are, elements as `[ROLE "NAME" REF state…: content]`,
  // spaced as on the page (`cells`: always one space, between a row's cells).
  function flow(kids, cells, prefix) {
    let out = "";
    let prev = null;
    for (const k of kids) {
      const str = typeof k === "string";
      if (prev !== null) {
        const space = cells || (str ? prev.sa : typeof prev === "string" ? k.sb : prev.sa || k.sb);
        if (space) out += " ";
      }
      out += str ? k : inlineElement(k, prefix);
      prev = k;
    }
    return out;
  }

  function inlineElement(it, prefix) {
    const { kids, noName } = shownKids(it);
    const name = noName ? "" : nodeName(it);
    let s = "[" + it.role;
    if (name) s += " " + quoteName(name);
    s += " " + refOf(it.el, prefix) + states(it, true);
    if (kids.length === 1 && typeof kids[0] === "string" && kids[0] === name) return s + "]";
    if (kids.length) s += ": " + flow(kids, false, prefix);
    return s + "]";
  }

  // What a line shows after ": " for a node whose shown children are `kids`: null for nothing,
  // the content when it goes on the line (one text run, running text, a row's cells), undefined
  // when the children need lines of their own.
  function lineContent(it, kids, prefix) {
    if (!kids.length) return null;
    if (kids.length === 1 && typeof kids[0] === "string") return kids[0] === nodeName(it) ? null : kids[0];
    const cells = it.role === "row" && rowInline(kids);
    if (cells || (FLOW_ROLES.has(it.role) && kidsInlineable(kids))) return flow(kids, cells, prefix);
    return undefined;
  }

  function render(top, opts) {
    const prefix = opts.prefix == null ? "e" : String(opts.prefix);
    const interactive = opts.filter === "interactive";
    const maxDepth = opts.depth == null || opts.depth === "" ? Infinity : Number(opts.depth);
    const maxChars = opts.maxChars == null ? Infinity : Number(opts.maxChars);
    const lines = [];
    const frames = [];
    let chars = 0;
    let tooBig = false;
    const indents = [""];
    const ind = (lvl) => {
      while (indents.length <= lvl) indents.push(indents[indents.length - 1] + "  ");
      return indents[lvl];
    };
    const emit = (s) => {
      chars += s.length + (lines.length ? 1 : 0);
      lines.push(s);
      if (chars > maxChars) tooBig = true;
    };
    const visitInteractive = (items, lvl, covered) => {
      for (const it of items) {
        if (tooBig) return;
        if (infoFree(it)) continue;
        if (typeof it === "string") continue;
        const ref = refOf(it.el, prefix);
        if (it.frame) {
          frames.push({ ref, line: lines.length });
          emit(ind(lvl) + headLine(it, ref, null));
          continue;
        }
        const cov = coversText(it, covered);
        const inline = inlineTextOf(it, cov);
        const kids = inline !== null || leafControl(it) ? [] : childItems(it, true, cov);
        if (inline !== null) {
          emit(ind(lvl) + headLine(it, ref, inline));
          continue;
        }
        if (kids.length && lvl >= maxDepth) {
          emit(ind(lvl) + headLine(it, ref, null) + " [+" + kids.length + "]");
          continue;
        }
        emit(ind(lvl) + headLine(it, ref, null));
        visitInteractive(kids, lvl + 1, cov);
      }
    };
    const visit = (items, lvl) => {
      for (const it of items) {
        if (tooBig) return;
        if (infoFree(it)) continue;
        if (typeof it === "string") {
          emit(ind(lvl) + "- text: " + it);
          continue;
        }
        const ref = refOf(it.el, prefix);
        if (it.frame) {
          frames.push({ ref, line: lines.length });
          emit(ind(lvl) + headLine(it, ref, null));
          continue;
        }
        const { kids, noName } = shownKids(it);
        if (lvl >= maxDepth && kids.length && !(kids.length === 1 && typeof kids[0] === "string")) {
          emit(ind(lvl) + headLine(it, ref, null, noName) + " [+" + kids.length + "]");
          continue;
        }
        const content = lineContent(it, kids, prefix);
        if (content !== undefined) {
          emit(ind(lvl) + headLine(it, ref, content, noName));
          continue;
        }
        emit(ind(lvl) + headLine(it, ref, null, noName));
        visit(kids, lvl + 1);
      }
    };
    if (maxDepth >= 0) {
      if (interactive) visitInteractive(childItems(top, true, false), 0, false);
      else visit(top.kids, 0);
    }
    return { text: lines.join("\n"), frames, nodes: lines.length, chars, tooBig };
  }

  // ------------------------------------------------------------------- API --

  function resolveRoot(root) {
    if (root == null || root === "") return null;
    const el = element(root);
    if (!el) throw new Error("stale ref " + root);
    return el;
  }

  function snapshot(opts) {
    opts = opts || {};
    pruneRefs();
    changed = new Set(); // what a read shows has not "appeared" for the next action
    read = true;
    const rootEl = resolveRoot(opts.root);
    const maxChars = opts.maxChars == null ? Infinity : Number(opts.maxChars);
    begin();
    NODE_BUDGET = opts.filter !== "interactive" && (opts.depth == null || opts.depth === "") ?
      Math.floor(maxChars / MIN_LINE) + 1 : Infinity;
    VALUE_CAP = rootEl ? Infinity : 200;
    try {
      const top = build(rootEl);
      return render(top, opts);
    } catch (e) {
      if (e !== TOO_BIG) throw e;
      return { text: "", frames: [], nodes: 0, chars: 0, tooBig: true };
    } finally {
      NODE_BUDGET = Infinity;
      VALUE_CAP = 200;
      end();
    }
  }

  // Roles whose own text says what they are when they have no name: find matches a query
  // against it ("the paragraph about refunds"), as a description.
  const TEXT_ROLES = new Set([...FLOW_ROLES, "generic", "status", "alert", "log"]);

  // The text a node shows, elements' text included, at least `max` characters of it when there
  // is that much.
  function plainText(node, max) {
    let out = "";
    const visit = (n) => {
      for (const k of n.kids) {
        if (out.length >= max) return;
        if (typeof k === "string") out = out ? out + " " + k : k;
        else if (!k.frame) visit(k);
      }
    };
    visit(node);
    return out;
  }

  // The item of a run of alike siblings (three or more with the same tag and class: search
  // results, cards, rows of a list) that `el` is in, within four levels, outside page chrome
  // (navigation, header, footer); and its place in the run (1-based).
  function seriesItem(el) {
    if (el.closest && el.closest("nav, header, footer, [role=navigation], [role=banner], [role=contentinfo], [role=menu], [role=menubar], [role=tablist]")) return null;
    let a = el;
    for (let depth = 0; depth < 5 && a && a.parentElement; depth++, a = a.parentElement) {
      const p = a.parentElement;
      if (p === document.body || p === document.documentElement) break;
      const sig = a.localName + "." + (a.getAttribute("class") || "");
      let same = 0, place = 0;
      for (const k of p.children) {
        if (k.localName + "." + (k.getAttribute("class") || "") !== sig) continue;
        same++;
        if (k === a) place = same;
      }
      if (same >= 3) return { item: a, place };
    }
    return null;
  }

  function candidates(opts) {
    read = true;
    opts = opts || {};
    const prefix = opts.prefix == null ? "e" : String(opts.prefix);
    pruneRefs();
    begin();
    try {
      const top = build(null);
      const out = [];
      const ctx = [];
      let lastHeading = "";
      const led = new Set();
      // The same children read_page shows (shownKids), so find offers exactly the elements the
      // outline has.
      // The first thing to act on in an item of a run leads it: "the 9th result" is the ninth
      // lead.
      const leadPlace = (it) => {
        if (!it.ia) return 0;
        const s = seriesItem(it.el);
        if (!s || led.has(s.item)) return 0;
        led.add(s.item);
        return s.place;
      };
      const visit = (items) => {
        let prevText = "";
        for (const it of items) {
          if (typeof it === "string") {
            prevText = it;
            continue;
          }
          const ref = refOf(it.el, prefix);
          const name = nodeName(it);
          const value = valueOf(it);
          // The element's line as read_page prints it (its children's lines are not part of it).
          const shown = shownKids(it);
          const content = lineContent(it, shown.kids, prefix);
          // An icon is also found by the words its class gives it ("trash" for a "Delete" icon).
          const words = it.icon ? iconWords(it.el) : "";
          const near = norm(prevText);
          // What a control belongs to is often the text of its row (the mail it deletes):
          // added to the text just before it.
          const row = it.ia ? rowText(it.el) : "";
          const nearby = row && !near.includes(row) ? (row.includes(near) ? row : near + " " + row) : near;
          // A clickable role-less element is known by its text, as a button is by its name.
          const shownName = name || (it.ia && it.role === "generic" ? cut(plainText(it, 150), 150) : "");
          out.push({
            ref, role: it.role, name: cut(shownName, 200), value: value || "", description: description(it.el, name) ||
              (words && !name.toLowerCase().includes(words) ? words : "") ||
              (!name && TEXT_ROLES.has(it.role) ? cut(plainText(it, 150), 150) : ""),
            context: ctx.slice(), nearby: cut(nearby || lastHeading, 120), interactive: !!it.ia, order: out.length,
            item: leadPlace(it),
            line: content === undefined ? headLine(it, ref, null) : headLine(it, ref, content, shown.noName),
          });
          if (it.role === "heading") lastHeading = name || norm(it.el.textContent || "");
          if (shown.kids.some((k) => typeof k !== "string")) {
            const isCtx = CONTEXT_ROLES.has(it.role) && (it.role !== "group" || name);
            if (isCtx) ctx.push(name ? it.role + " " + cut(name, 80) : it.role);
            visit(shown.kids);
            if (isCtx) ctx.pop();
          }
          prevText = "";
        }
      };
      visit(top.kids.filter((k) => !infoFree(k)));
      return out;
    } finally {
      end();
    }
  }

  // The lines of the last candidatesJson() call that left them out (a big page).
  let keptLines = null;

  function candidatesJson(opts) {
    const list = candidates(opts);
    const withLines = list.length <= 500;
    keptLines = withLines ? null : new Map();
    const ctxIndex = new Map();
    const ctx = [];
    const rows = new Array(list.length);
    for (let i = 0; i < list.length; i++) {
      const c = list[i];
      const key = c.context.join("\u0000");
      let ci = ctxIndex.get(key);
      if (ci === undefined) {
        ci = ctx.length;
        ctx.push(c.context);
        ctxIndex.set(key, ci);
      }
      if (!withLines) keptLines.set(c.ref, c.line);
      rows[i] = [c.ref, c.role, c.name, c.value, c.description, ci, c.nearby, c.interactive ? 1 : 0, withLines ? c.line : null, c.item || 0];
    }
    return JSON.stringify({ ctx, rows });
  }

  function linesOf(refs) {
    return refs.map((r) => (keptLines && keptLines.get(r)) || null);
  }

  // Extras the host probes for (optional): the outline line of one element, as snapshot would
  // print it without indentation (a folded or hidden element still gets a line for its own role),
  // and the line of the focused element (null when nothing but the body has focus).
  function lineOf(el, prefix) {
    if (!el || el.nodeType !== 1) return null;
    begin();
    try {
      const p = parentOrHost(el);
      const items = [];
      walkElement(el, items, p ? getComputedStyle(p).cursor === "pointer" : false);
      let node = items.length === 1 && typeof items[0] !== "string" && items[0].el === el ? items[0] : null;
      if (!node) {
        let role = rawRole(el) || "generic";
        if (role === "none" || role === "presentation") role = "generic";
        node = makeNode(el, el.localName === "iframe" || el.localName === "frame" ? "iframe" : role);
        node.ctl = el.localName === "input" || el.localName === "textarea" || el.localName === "select";
        if (!node.ctl) {
          node.kids = items;  // what the walk produced in its place: its text (and any child lines)
          finish(node);
        }
      }
      const ref = refByEl.get(el) || refOf(el, prefix);
      const inline = node.frame || (node.ctl && !leafControl(node)) ? null : inlineTextOf(node, coversText(node, false));
      return headLine(node, ref, inline || null);
    } finally {
      end();
    }
  }

  function focusLine(prefix) {
    const a = deepestActive(document);
    if (!a || a === document.body || a === document.documentElement) return null;
    return lineOf(a, prefix);
  }

  // Submissions a fill set off. The listener is added when this world is made, at document
  // start, before any page script can add one, so it runs first: in the capture phase on the
  // window, ahead of the page's own submit handlers (which it stops with the submission).
  let held = null;
  addEventListener("submit", (e) => {
    if (!held) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    const form = e.target;
    const by = e.submitter;
    const name = (el) => el && ((el.getAttribute && (el.getAttribute("aria-label") || el.getAttribute("title"))) ||
      (el.value && el.localName === "input" ? el.value : "") || (el.textContent || "")).trim().replace(/\s+/g, " ").slice(0, 80);
    const button = by || (form && form.querySelector && form.querySelector("button:not([type=button]):not([type=reset]), input[type=submit]"));
    const action = form && form.getAttribute ? (form.getAttribute("action") || "") : "";
    held.push((button ? 'its form ("' + name(button) + '")' : "its form") + (action ? " to " + action : ""));
  }, true);
  // What appeared since it was last asked (appeared()): elements added to the page, and ones
  // a style, `hidden`, `open` or `aria-hidden` change showed (a class change counts on popup
  // roles). Watched from the world's start, so what an action shows at once and what its
  // timers show later are both seen; at most MAX_CHANGED roots are kept.
  const MAX_CHANGED = 400;
  const POPUP_ROLES = new Set(["menu", "listbox", "dialog", "alertdialog", "tooltip", "alert", "tree", "grid"]);
  const ITEM_ROLES = new Set(["listitem", "row", "treeitem", "gridcell"]);
  let changed = new Set();
  let read = false; // whether snapshot() or candidates() ran in this document
  const HIDING = /display:\s*none|visibility:\s*hidden/;
  const watch = new MutationObserver((records) => {
    for (const r of records) {
      if (changed.size >= MAX_CHANGED) return;
      if (r.type === "childList") {
        for (const n of r.addedNodes) if (n.nodeType === 1) changed.add(n);
        continue;
      }
      const t = r.target, a = r.attributeName, old = r.oldValue;
      if ((a === "style" && old && HIDING.test(old)) || (a === "hidden" && old !== null) ||
          (a === "aria-hidden" && old === "true") || (a === "open" && old === null)) changed.add(t);
      else if (a === "class") {
        const role = t.getAttribute && t.getAttribute("role");
        if (role && POPUP_ROLES.has(role)) changed.add(t);
      }
    }
  });
  try {
    watch.observe(document, { subtree: true, childList: true, attributes: true, attributeOldValue: true,
      attributeFilter: ["style", "hidden", "aria-hidden", "open", "class"] });
  } catch (e) { /* no document yet: nothing to watch */ }
  function appeared(prefix, max) {
    const roots = [...changed];
    changed = new Set();
    // Only news to a model that has read this document (and no refs handed out before).
    if (!read) return { lines: [], more: 0 };
    const found = [];
    const seen = new Set();
    let more = 0;
    begin();
    try {
      for (const r of roots) {
        if (!r.isConnected) continue;
        const list = [r];
        const inner = r.querySelectorAll ? r.querySelectorAll("*") : [];
        for (let i = 0; i < inner.length && i < 400; i++) list.push(inner[i]);
        for (const el of list) {
          if (seen.has(el)) continue;
          seen.add(el);
          const role = rawRole(el);
          const item = ITEM_ROLES.has(role) || (el === r && role === "list") || hasTabIndex(el);
          if (!INTERACTIVE_ROLES.has(role) && !POPUP_ROLES.has(role) && !item) continue;
          if ((el.checkVisibility && !el.checkVisibility({ visibilityProperty: true })) || !el.getClientRects().length) continue;
          const b = el.getBoundingClientRect();
          if (b.width <= 0 || b.height <= 0) continue;
          found.push([el, role]);
          if (found.length >= 200) break;
        }
      }
    } finally {
      end();
    }
    // A container stays (a menu, a list); an item gives way to a control inside it (a list
    // item to its menu item), and an item's own parts (the focusable wrapper of a suggestion)
    // are not listed again.
    const container = (role) => POPUP_ROLES.has(role) || role === "list";
    const control = (role) => INTERACTIVE_ROLES.has(role);
    const kept = found.filter(([el, role]) => {
      if (container(role) || control(role)) return true;
      if (found.some(([d, dr]) => d !== el && el.contains(d) && control(dr))) return false;
      return !found.some(([a, ar]) => a !== el && a.contains(el) && !container(ar));
    });
    const limit = max || 10;
    more = Math.max(0, kept.length - limit);
    return { lines: kept.slice(0, limit).map(([el]) => lineOf(el, prefix)).filter(Boolean), more };
  }

  function holdSubmits() { held = held || []; }
  function releaseSubmits() { const h = held || []; held = null; return h; }

  Object.defineProperty(globalThis, "__tabwright", {
    value: Object.freeze({ snapshot, element, refOf, candidates, candidatesJson, linesOf, lineOf, focusLine, appeared, holdSubmits, releaseSubmits, version: 1 }),
    configurable: false, enumerable: false, writable: false,
  });
})();
