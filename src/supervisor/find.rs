//! The search for heads on the tailnet: one at a time, and on a first run (no head of the
//! user's) a single find is offered in a notification.

use crate::model::{FoundHead, HeadAddress, HeadSearch, Notice, TailnetFinds, TailscaleProblem};

/// The search's state.
#[derive(Debug, Default)]
pub struct HeadFinder {
    /// The last search, or the one under way.
    search: Option<HeadSearch>,
    /// What the last search that ended found: kept while another one runs, so the heads stay
    /// on show and choosable; dropped when a search fails.
    finds: Option<TailnetFinds>,
    /// The search under way was started because no head of the user's is set.
    first_run: bool,
}

impl HeadFinder {
    /// Starts a search unless one is under way; `true` when the driver must run it.
    pub fn start(&mut self, first_run: bool) -> bool {
        if self.search == Some(HeadSearch::Searching) {
            return false;
        }
        self.search = Some(HeadSearch::Searching);
        self.first_run = first_run;
        true
    }

    /// The search ended. A first-run search that found exactly one head, while the user
    /// still has none (`needs_a_head`), offers it in a notification.
    pub fn ended(
        &mut self,
        outcome: Result<TailnetFinds, TailscaleProblem>,
        needs_a_head: bool,
    ) -> Option<Notice> {
        if self.search != Some(HeadSearch::Searching) {
            return None;
        }
        let first_run = std::mem::take(&mut self.first_run);
        let (search, notice) = match outcome {
            Ok(finds) => {
                let notice = match finds.heads.as_slice() {
                    [only] if first_run && needs_a_head => {
                        Some(Notice::HeadFound { head: only.clone() })
                    }
                    _ => None,
                };
                self.finds = Some(finds.clone());
                (HeadSearch::Found(finds), notice)
            }
            Err(problem) => {
                self.finds = None;
                (HeadSearch::Failed { problem }, None)
            }
        };
        self.search = Some(search);
        notice
    }

    /// What the status shows.
    pub fn status(&self) -> Option<HeadSearch> {
        self.search.clone()
    }

    /// The heads the last search found (also while the next one runs).
    pub fn found_heads(&self) -> Vec<FoundHead> {
        self.finds
            .as_ref()
            .map(|finds| finds.heads.clone())
            .unwrap_or_default()
    }

    /// Whether the last search found a head at `address`.
    pub fn has_found(&self, address: &HeadAddress) -> bool {
        self.finds
            .as_ref()
            .is_some_and(|finds| finds.heads.iter().any(|head| &head.address == address))
    }
}
