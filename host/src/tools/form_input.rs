//! `form_input`: set a control's value the way a person's edit does (input and change events).

use serde::Deserialize;
use serde_json::{json, Value};

use super::args::{object, tab_id};
use super::inspect::{self, Aim};
use super::report::{act_overlapped, no_dialog, SubmitHold};
use super::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::browser::settle::Limits;
use crate::browser::TabId;
use crate::outline::element::resolve;
use crate::policy::{Effects, Interaction};
use crate::runtime::trace::ActionTrace;
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<FormInput>(r);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    #[serde(rename = "ref")]
    target: String,
    value: Value,
    tab_id: Option<TabId>,
}

tool!(
    FormInput,
    Args,
    ToolSpec::new(
        "form_input",
        "Set the value of a form control by ref: text-like inputs and textareas (string), select (option text or value; \
                      an array for multiple selects), checkbox/radio/switch (true/false), range/number (number), date/time (ISO string), \
                      contenteditable (string). Fires the input and change events a person's edit fires. Returns the control's new value.",
        object(
            json!({
                "ref": {"type": "string", "description": "The control's ref from read_page or find."},
                "value": {"description": "The new value.", "anyOf": [
                    {"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "array", "items": {"type": "string"}}]},
                "tab_id": tab_id(),
            }),
            &["ref", "value"]
        ),
        ActionClass::Act,
    ),
    form_input,
    effects
);

/// A `form_input` call fills the control behind its ref: judged by the field it fills.
async fn effects(ctx: &ToolContext, a: &Args) -> Effects {
    inspect::on_page(ctx, a.tab_id, Some(Aim::Ref(&a.target)), Interaction::Fill).await
}

const SET_JS: &str = r#"(el, value) => {
  const fire = (t) => el.dispatchEvent(new Event(t, {bubbles: true, composed: true}));
  const tag = el.tagName;
  const show = () => __tabwright.lineOf ? __tabwright.lineOf(el) : tag.toLowerCase();
  if (el.disabled) throw new Error('the control is disabled');
  if (tag === 'SELECT') {
    const wanted = (Array.isArray(value) ? value : [value]).map(v => String(v));
    if (!el.multiple && wanted.length > 1) throw new Error('this select takes one option, not a list');
    const opts = [...el.options];
    const match = w => opts.find(o => o.value === w) || opts.find(o => o.text.trim() === w.trim()) ||
      opts.find(o => o.text.trim().toLowerCase() === w.trim().toLowerCase());
    const picked = wanted.map(w => { const o = match(w); if (!o) throw new Error('no option "' + w + '"; the options are: ' + opts.map(o => o.text.trim()).join(', ')); return o; });
    for (const o of opts) o.selected = picked.includes(o);
    fire('input'); fire('change');
    return {line: show(), value: el.multiple ? picked.map(o => o.text.trim()) : picked[0].text.trim()};
  }
  if (tag === 'INPUT' && (el.type === 'checkbox' || el.type === 'radio')) {
    if (typeof value !== 'boolean') {
      if (value === 'true' || value === 'false') value = value === 'true'; else throw new Error('a ' + el.type + ' takes true or false');
    }
    if (el.type === 'radio' && !value && el.checked) throw new Error('a radio button cannot be unchecked; choose another option of the group');
    if (el.checked !== value) el.click();
    return {line: show(), value: el.checked};
  }
  const role = (el.getAttribute('role') || '').toLowerCase();
  if (['checkbox', 'switch', 'radio'].includes(role)) {
    const want = value === true || value === 'true';
    if ((el.getAttribute('aria-checked') === 'true') !== want) el.click();
    return {line: show(), value: el.getAttribute('aria-checked') === 'true'};
  }
  if (tag === 'INPUT' || tag === 'TEXTAREA') {
    if (el.type === 'file') throw new Error('file inputs take files: use upload_image');
    if (el.readOnly) throw new Error('the control is read-only');
    if (Array.isArray(value)) throw new Error('this control takes a single value, not a list');
    const text = String(value);
    const old = el.value;
    const numeric = el.type === 'number' || el.type === 'range';
    const same = (a) => a === text || (numeric && a !== '' && Number(a) === Number(text));
    // Inputs whose value has a format: checked on a detached input of the same type first, so
    // a wrong value never reaches the page (and the error says what the format is).
    const FORMATS = {date: 'YYYY-MM-DD (e.g. 2026-12-05)', time: 'HH:MM or HH:MM:SS, 24-hour (e.g. 14:30)',
      'datetime-local': 'YYYY-MM-DDTHH:MM (e.g. 2026-12-05T14:30)', month: 'YYYY-MM (e.g. 2026-12)',
      week: 'YYYY-Www (e.g. 2026-W49)', color: '#rrggbb, lowercase hex (e.g. #ff8800)', number: 'a number',
      range: 'a number'};
    if (tag === 'INPUT' && FORMATS[el.type]) {
      const probe = document.createElement('input');
      probe.type = el.type;
      for (const a of ['min', 'max', 'step']) if (el.hasAttribute(a)) probe.setAttribute(a, el.getAttribute(a));
      probe.value = text;
      const v = probe.validity;
      if (!same(probe.value) || v.rangeOverflow || v.rangeUnderflow || v.stepMismatch || v.badInput) {
        const bounds = (el.min !== '' || el.max !== '') ? ' from ' + (el.min || '…') + ' to ' + (el.max || '…') + (numeric && el.step && el.step !== 'any' ? ' in steps of ' + el.step : '') : '';
        throw new Error('a ' + el.type + ' input takes ' + FORMATS[el.type] + bounds + '; "' + text + '" is not one. Its value is unchanged ("' + old + '")');
      }
    }
    // A person cannot type past maxlength; neither does form_input.
    if (el.maxLength > 0 && [...text].length > el.maxLength)
      throw new Error('the control takes at most ' + el.maxLength + ' characters; "' + text + '" has ' + [...text].length + '. Its value is unchanged ("' + old + '")');
    el.focus();
    const proto = tag === 'INPUT' ? HTMLInputElement.prototype : HTMLTextAreaElement.prototype;
    const setter = Object.getOwnPropertyDescriptor(proto, 'value').set;
    setter.call(el, text);
    if (!same(el.value)) {
      // Not taken (maxlength, a pattern the browser enforces): put the old value back.
      const got = el.value;
      setter.call(el, old);
      throw new Error('the control did not take "' + text + '" (it would hold "' + got + '"); its value is unchanged ("' + old + '")' + (el.maxLength > 0 ? '; it takes at most ' + el.maxLength + ' characters' : ''));
    }
    fire('input'); fire('change');
    return {line: show(), value: el.type === 'password' ? '•'.repeat(Math.min(el.value.length, 8)) : el.value};
  }
  if (el.isContentEditable) {
    el.focus();
    const sel = getSelection(); const range = document.createRange(); range.selectNodeContents(el);
    sel.removeAllRanges(); sel.addRange(range);
    if (!document.execCommand('insertText', false, String(value))) { el.textContent = String(value); fire('input'); }
    return {line: show(), value: el.innerText};
  }
  throw new Error('it is not a form control (' + tag.toLowerCase() + '); use computer to click or type');
}"#;

async fn form_input(ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    let tab = session.tab(args.tab_id).await?;
    no_dialog(&tab)?;
    let el = resolve(&tab, &args.target).await?;
    if ctx.observed() {
        // For recorders: the control's locators, captured before its value changes.
        let mut located = super::capture(&el, &tab, None).await;
        if let Some(Value::Object(m)) = &mut located {
            m.insert("_value".into(), args.value.clone());
        }
        let fact = |k: &str| located.as_ref().and_then(|t| t.get(k)).cloned();
        let name = fact("_name")
            .and_then(|n| n.as_str().map(str::to_string))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "the control".into());
        let shown = match &args.value {
            _ if fact("_password") == Some(Value::Bool(true)) => "••••••".to_string(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        ctx.note(ActionTrace {
            label: format!("Set “{name}” to “{shown}”"),
            target: located,
            ..Default::default()
        });
    }
    let hold = SubmitHold::start(&tab, Some(&el.world)).await;
    let t = &tab;
    let el = &el;
    let value = &args.value;
    let result = act_overlapped(session, &tab, Limits::default(), move || async move {
        let v = el
            .call(t, SET_JS, std::slice::from_ref(value))
            .await
            .map_err(|e| ToolError(format!("form_input on {}", e.0)))?;
        let line = v
            .get("line")
            .and_then(|l| l.as_str())
            .unwrap_or(&el.r#ref)
            .to_string();
        Ok(format!(
            "Set {line}\nNew value: {}",
            v.get("value").cloned().unwrap_or(Value::Null)
        ))
    })
    .await;
    let note = hold.end(&tab).await;
    let mut text = result?;
    if let Some(note) = note {
        text.push('\n');
        text.push_str(&note);
    }
    Ok(ToolOutput::text(text))
}
