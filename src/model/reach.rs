//! Why the head cannot be reached: what the probe and Tailscale found.

use serde::{Deserialize, Serialize};

/// Why the head did not answer a probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Unreachable {
    /// No answer within the probe's timeout (the network is gone or the host is asleep).
    TimedOut,
    /// The head's machine answered but nothing listens on the port (Ray is not running there).
    Refused,
    /// This machine has no route to the head (no network, or the VPN is down).
    NoRoute,
    /// The head's name does not resolve.
    NameNotResolved,
    /// Tailscale explains it.
    Tailscale { problem: TailscaleProblem },
    /// Anything else, as the OS said it.
    Other { detail: String },
}

/// Something about Tailscale that explains why the head cannot be reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TailscaleProblem {
    /// Tailscale is turned off on this machine.
    Stopped,
    /// Tailscale needs a login (or an admin's approval) on this machine.
    NeedsLogin,
    /// The head's machine is offline in the tailnet.
    HeadOffline { peer: String },
    /// Tailscale runs, but the head's address is no machine of this tailnet: whatever answers
    /// there is not the user's head.
    HeadNotInTailnet,
    /// The head is a Tailscale address and this machine has no `tailscale` command.
    NotInstalled,
    /// `tailscale status` did not answer, or says it is still starting.
    NotAnswering,
}

/// What Tailscale says about a head whose address is a Tailscale one (see
/// `HeadAddress::is_tailscale`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TailscaleCheck {
    /// Tailscale is Running and the head is an online machine of the tailnet (or this one).
    OnlinePeer,
    /// It is not, and why.
    Problem { problem: TailscaleProblem },
}
