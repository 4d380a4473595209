//! BitTrader Worker: keeps this machine contributing CPUs to a home Ray cluster.
//!
//! The architecture, in a few lines:
//! - [`supervisor`] is a pure state machine. Events and time go in (`handle_event`,
//!   `handle_timeout`), actions come out (`poll_action`), and `poll_timeout` says when it next
//!   needs the clock. It owns every decision: when to start, stop, wait, back off, give up.
//! - [`runtime`] is the thin tokio driver around it: it probes the head, owns the `ray start
//!   --block` child, serves the control socket, writes the log, and feeds facts back as events.
//! - [`service`] runs one supervisor per user (lock, socket, signals); the daemon, the demo and
//!   the tray all start there.
//! - [`config`] is the on-disk configuration (with the legacy `config.env` import).
//! - [`tailscale`], [`ray_output`] and [`dashboard`] turn command output and HTTP answers into
//!   facts; they are tested on recorded real outputs under `tests/fixtures/`.
//! - [`platform`] holds the OS facts (processes) behind small traits.
//! - [`text`] holds every sentence the user reads about the state.

pub mod atomic_file;
pub mod config;
pub mod dashboard;
pub mod demo;
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
