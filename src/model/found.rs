//! Heads found on the tailnet: machines of the user's tailnet whose Ray port answered.

use serde::{Deserialize, Serialize};

use super::{HeadAddress, TailscaleProblem};

/// A machine of the tailnet whose Ray port (6379) accepted a connection: a head the user may
/// choose with one click.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundHead {
    pub name: String,
    pub address: HeadAddress,
}

/// What one search found: the heads that answered, and how many machines were asked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TailnetFinds {
    /// The heads that answered (possibly none).
    pub heads: Vec<FoundHead>,
    /// How many machines were asked.
    pub asked: usize,
    /// How many machines were worth asking: more than `asked` when the search was cut at
    /// `FIND_HEADS_MAX_PEERS` (`supervisor::settings`).
    pub machines: usize,
}

impl TailnetFinds {
    /// The search asked fewer machines than it could have.
    pub fn was_cut(&self) -> bool {
        self.asked < self.machines
    }
}

/// The search for heads on the tailnet ("Find heads on my tailnet", `find-heads`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HeadSearch {
    /// Asking Tailscale and knocking on its peers' Ray ports.
    Searching,
    /// What it found.
    Found(TailnetFinds),
    /// Tailscale could not list the tailnet.
    Failed { problem: TailscaleProblem },
}
