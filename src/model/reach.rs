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
    /// No route to a head on the local network, where the OS asks the user before an app may
    /// reach it (macOS 15 and later): most likely that permission.
    LocalNetworkDenied,
    /// The head's name does not resolve.
    NameNotResolved,
    /// Tailscale explains it.
    Tailscale { problem: TailscaleProblem },
    /// The app's own practice head has ended: it never comes back, and its port is anyone's to
    /// take, so nothing is sent there again (not even a probe).
    PracticeHeadGone,
    /// As the OS said it.
    Other { detail: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TailscaleProblem {
    /// Turned off here.
    Stopped,
    /// A login (or an admin's approval) is needed here.
    NeedsLogin,
    /// The head's machine is offline in the tailnet.
    HeadOffline { peer: String },
    /// The head's address is no machine of this tailnet: what answers there is not the user's head.
    HeadNotInTailnet,
    /// A Tailscale head, and no `tailscale` command here.
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
    /// It is not, and why.
    Problem { problem: TailscaleProblem },
}
