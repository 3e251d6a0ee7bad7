/*
 * Tabwright's timer watch, installed in the MAIN world of every frame at document start
 * (the page's own setTimeout and requestAnimationFrame are only reachable there).
 *
 * Job: let the settle wait after an action also wait, bounded, for the short timers and
 * animation frames the action set off (a debounced autocomplete, a submenu's hover delay, a
 * tooltip) — never a fixed sleep. It counts pending timeouts of at most MAX_MS and pending
 * frames; the host's wait (in the isolated world) asks through DOM events, which cross worlds:
 *   document.dispatchEvent(new CustomEvent("tabwright-timers", {detail: "snap"|"busy"}))
 * and the answer comes back, synchronously, as a "tabwright-timers-state" event whose
 * `detail` is the count.
 * "snap" starts a watch: the timers pending now (the action's) are watched; timers and frames
 * a watched callback schedules are watched too, up to MAX_GEN generations (a loop that
 * re-arms itself is waited for a few rounds, not for ever). "busy" is how many watched ones
 * are still pending. A hostile page can answer for it; the host's wait is bounded anyway.
 */
(() => {
  const KEY = Symbol.for("tabwright.timers");
  if (window[KEY]) return;
  const MAX_MS = 600;
  const MAX_GEN = 3;
  const st = setTimeout, ct = clearTimeout, raf = requestAnimationFrame, caf = cancelAnimationFrame;
  let epoch = 0;
  // Pending timers and frames: id -> {epoch, gen} (epoch 0: not watched).
  const timers = new Map();
  const frames = new Map();
  let running = null; // the watched entry whose callback runs now
  const child = () => (running && running.epoch === epoch && running.gen < MAX_GEN)
    ? { epoch, gen: running.gen + 1 } : { epoch: 0, gen: 0 };
  const wrap = (map, fn, getId) => function () {
    const id = getId();
    const e = map.get(id);
    map.delete(id);
    const prev = running;
    running = e || null;
    try { return fn.apply(this, arguments); } finally { running = prev; }
  };
  window.setTimeout = function (fn, ms, ...args) {
    if (typeof fn !== "function" || !(Number(ms) <= MAX_MS)) return st.call(this, fn, ms, ...args);
    let id = 0;
    id = st.call(this, wrap(timers, fn, () => id), ms, ...args);
    timers.set(id, child());
    return id;
  };
  window.clearTimeout = function (id) { timers.delete(id); return ct.call(this, id); };
  window.requestAnimationFrame = function (fn) {
    if (typeof fn !== "function") return raf.call(this, fn);
    let id = 0;
    id = raf.call(this, wrap(frames, fn, () => id));
    frames.set(id, child());
    return id;
  };
  window.cancelAnimationFrame = function (id) { frames.delete(id); return caf.call(this, id); };
  const count = () => {
    let n = 0;
    for (const e of timers.values()) if (e.epoch === epoch) n++;
    for (const e of frames.values()) if (e.epoch === epoch) n++;
    return n;
  };
  Object.defineProperty(window, KEY, { value: true });
  document.addEventListener("tabwright-timers", (ev) => {
    if (ev.detail === "snap") {
      epoch++;
      for (const e of timers.values()) { e.epoch = epoch; e.gen = 0; }
      for (const e of frames.values()) { e.epoch = epoch; e.gen = 0; }
    }
    document.dispatchEvent(new CustomEvent("tabwright-timers-state", { detail: count() }));
  }, true);
  // A widget's value that only its library knows (a jQuery UI slider's handle has no ARIA):
  // asked with a "tabwright-widget-value" event dispatched on the element, answered with a
  // "tabwright-widget-value-state" event whose detail is JSON {value, min, max}, or null.
  document.addEventListener("tabwright-widget-value", (ev) => {
    let out = null;
    try {
      const h = ev.target, $ = window.jQuery;
      const slider = h && h.closest ? h.closest(".ui-slider") : null;
      const inst = $ && slider && $.fn.slider ? $(slider).slider("instance") : null;
      if (inst) {
        const o = inst.options;
        const handles = Array.prototype.slice.call(slider.querySelectorAll(".ui-slider-handle"));
        const many = o.range === true || (Array.isArray(o.values) && o.values.length > 1);
        const value = many ? $(slider).slider("values", Math.max(0, handles.indexOf(h))) : $(slider).slider("value");
        out = JSON.stringify({ value, min: o.min, max: o.max });
      }
    } catch (e) { out = null; }
    document.dispatchEvent(new CustomEvent("tabwright-widget-value-state", { detail: out }));
  }, true);
})();
