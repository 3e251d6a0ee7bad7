//! The extension bridge: lets every browser tool drive a person's own Chrome tabs (the tabs of
//! the "Tabwright" tab group) exactly as it drives the headless launch backend.
//!
//! Owns: the native-messaging codec ([`native`]), the versioned extension protocol
//! ([`protocol`], documented in `extension/PROTOCOL.md`), the CDP relay that looks like a
//! browser endpoint to the browser layer's CDP client and also carries the extension's fast channel,
//! a WebSocket the service worker opens because Chrome delivers native-messaging frames late
//! after idle time ([`relay`]), the runtime files through which a
//! terminal `tabwright` finds connected browsers ([`runtime`]), the native host process
//! ([`host`]) and `install` / `doctor` ([`install`]).
//!
//! May touch: stdin/stdout of the native host process, files in the runtime directory and the
//! browsers' `NativeMessagingHosts` directories, and a loopback TCP port. It knows nothing of
//! tools; the browser layer reaches it only through [`runtime`] (`Backend::Extension`). The
//! live round trip of `tabwright doctor` lives with the CLI, which may use the browser.
//!
//! May use: nothing else of the crate.

pub mod host;
pub mod install;
pub mod native;
pub mod protocol;
pub mod relay;
pub mod runtime;
