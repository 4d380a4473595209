//! Heads found on the tailnet: its machines whose Ray port answered.

use serde::{Deserialize, Serialize};

use super::{HeadAddress, TailscaleProblem};

/// A head the user may choose with one click.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundHead {
    pub name: String,
    pub address: HeadAddress,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TailnetFinds {
    pub heads: Vec<FoundHead>,
    pub asked: usize,
    /// More than `asked` when the search was cut at `FIND_HEADS_MAX_PEERS`.
    pub machines: usize,
}

impl TailnetFinds {
    pub fn was_cut(&self) -> bool {
        self.asked < self.machines
    }
}

/// "Find heads on my tailnet" / `find-heads`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HeadSearch {
    Searching,
    Found(TailnetFinds),
    Failed { problem: TailscaleProblem },
}
