//! Heads found on the tailnet: machines of the user's tailnet whose Ray port answered.

use serde::{Deserialize, Serialize};

use super::{HeadAddress, TailscaleProblem};

/// A machine of the tailnet whose Ray port (6379) accepted a connection: a head the user may
/// choose with one click.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundHead {
    /// Its name in Tailscale ("desktop").
    pub name: String,
    /// Where its Ray port answered.
    pub address: HeadAddress,
}

/// The search for heads on the tailnet ("Find heads on my tailnet", `find-heads`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HeadSearch {
    /// Asking Tailscale and knocking on its peers' Ray ports.
    Searching,
    /// The heads that answered (possibly none).
    Found { heads: Vec<FoundHead> },
    /// Tailscale could not list the tailnet.
    Failed { problem: TailscaleProblem },
}
