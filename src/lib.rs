//! BitTrader Worker: keeps this machine contributing CPUs to a home Ray cluster.
//!
//! - [`model`] is the shared vocabulary (head address, power, failures, status): no IO, and no
//!   import of the rest of the crate, so everything may speak it.
//! - [`supervisor`] is a pure state machine holding every rule and timing constant: events and
//!   time in (`handle_event`, `handle_timeout`), actions out (`poll_action`), and `poll_timeout`
//!   says when it next needs the clock (one timer table). It words nothing.
//! - [`runtime`] is the thin tokio driver around it, generic over a `Platform`: it carries out
//!   actions, spawns every slow operation and feeds its result back as an event.
//! - [`service`] runs one supervisor per user (signals, lock, leftovers, socket) for the
//!   daemon, the [`demo`] and the menu-bar app (`tray`); [`local_head`] is their throwaway head.
//! - [`config`] is the on-disk configuration (with the legacy `config.env` import).
//! - [`tailscale`], [`ray_output`] and [`dashboard`] turn command output and HTTP answers into
//!   model facts, tested on recorded real outputs under `tests/fixtures/`.
//! - [`platform`] holds the OS facts behind small traits, one implementation per OS.
//! - [`history`] is what the worker gave (`history.json`) and the page that shows it.
//! - [`text`] holds every sentence the user reads, in English and Spanish.

pub mod atomic_file;
pub mod cli_link;

/// The app's bundle identifier (Info.plist's `CFBundleIdentifier`), also its LaunchAgent's label.
pub const BUNDLE_ID: &str = "com.bittrader.worker";
/// The commit this binary was built from (see build.rs).
pub const COMMIT: &str = env!("BTW_COMMIT");

pub mod config;
pub mod dashboard;
pub mod demo;
pub mod doctor;
pub mod history;
pub mod http;
pub mod local_head;
pub mod model;
pub mod platform;
pub mod ray_output;
pub mod runtime;
pub mod service;
pub mod setup;
pub mod supervisor;
pub mod tailscale;
pub mod text;
#[cfg(feature = "tray")]
pub mod tray;
pub mod uninstall;
pub mod updates;
