//! Why the head cannot be reached, from the probe and Tailscale.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Unreachable {
    /// The network is gone or the host is asleep.
    TimedOut,
    /// Nothing listens on the port (Ray is not running there).
    Refused,
    /// No network, or the VPN is down.
    NoRoute,
    NameNotResolved,
    Tailscale {
        problem: TailscaleProblem,
    },
    /// As the OS said it.
    Other {
        detail: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TailscaleProblem {
    Stopped,
    /// A login (or an admin's approval) is needed here.
    NeedsLogin,
    HeadOffline {
        peer: String,
    },
    /// The head's address is no machine of this tailnet: what answers there is not the user's head.
    HeadNotInTailnet,
    NotInstalled,
    /// `tailscale status` did not answer, or is still starting.
    NotAnswering,
}

/// What Tailscale says about a head at a Tailscale address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TailscaleCheck {
    /// Running, and the head is an online machine of the tailnet (or this one).
    OnlinePeer,
    Problem {
        problem: TailscaleProblem,
    },
}
