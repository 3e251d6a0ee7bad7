//! The browser tools of TOOLS.md and `update_plan`, as entries of the one tool registry
//! ([`crate::runtime`]).
//!
//! One file per tool group, each with its schema and the effects a call declares next to its
//! handler. Tools reach the browser through the call's [`ToolContext`] only; they never know
//! which backend is in use. A tool's failure is a [`ToolError`] whose message tells the model
//! what to do next.
//!
//! May use: [`crate::runtime`], [`crate::browser`], [`crate::bridge`] (`switch_browser`),
//! [`crate::outline`], [`crate::find`], [`crate::recording`], [`crate::shortcuts`],
//! [`crate::frontend`], [`crate::policy`] (effects, facts), [`crate::sandbox`] and
//! [`crate::egress`] (the shell and the web tools).

mod args;
mod computer;
mod files;
mod find;
mod form_input;
mod gif;
pub mod inspect;
mod javascript;
mod logs;
mod navigate;
mod page_text;
mod plan;
mod read_page;
mod report;
mod resize;
mod search;
mod shell;
mod shortcuts;
mod switch_browser;
mod tabs;
mod upload;
pub mod web;
pub mod workspace;

use std::sync::Arc;

use serde_json::Value;

use crate::browser::tab::Tab;
use crate::outline::{Element, PageError};
use crate::runtime::Typed;
pub(crate) use crate::runtime::{
    ActionClass, Image, Registry, ToolContext, ToolError, ToolOutput, ToolSpec,
};

impl From<PageError> for ToolError {
    fn from(e: PageError) -> ToolError {
        ToolError(e.0)
    }
}

/// The element's locators for recorders ([`crate::shortcuts::locate::capture`]); `None` when
/// it cannot be described.
pub(crate) async fn capture(el: &Element, tab: &Tab, point: Option<(f64, f64)>) -> Option<Value> {
    let id = el.object_id(tab).await.ok()?;
    crate::shortcuts::locate::capture(tab, &el.frame_id, &el.world, id, point).await
}

/// Locks `m`, taking the value of a poisoned lock as it is (state of tools is plain data).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Adds handler `H` to `r`.
pub(crate) fn add<H: crate::runtime::Handler>(r: &mut Registry) {
    r.add(Arc::new(Typed::<H>::new()));
}

/// The browser tools of TOOLS.md.
pub fn browser() -> Registry {
    let mut r = Registry::new();
    tabs::register(&mut r);
    navigate::register(&mut r);
    read_page::register(&mut r);
    find::register(&mut r);
    computer::register(&mut r);
    form_input::register(&mut r);
    page_text::register(&mut r);
    javascript::register(&mut r);
    logs::register(&mut r);
    resize::register(&mut r);
    upload::register(&mut r);
    switch_browser::register(&mut r);
    gif::register(&mut r);
    shortcuts::register(&mut r);
    r
}

/// The workspace tools: the sandboxed shell, the file tools, the web tools, and the two that
/// involve the person (`request_directory`, `present_files`).
pub fn workspace() -> Registry {
    let mut r = Registry::new();
    shell::register(&mut r);
    files::register(&mut r);
    search::register(&mut r);
    web::register(&mut r);
    workspace::register(&mut r);
    r
}

/// The browser tools and `update_plan`: what a front end with a policy offers.
pub fn browser_with_plan() -> Registry {
    let mut r = browser();
    plan::register(&mut r);
    r
}
