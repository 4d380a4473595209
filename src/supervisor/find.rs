//! The search for heads on the tailnet: one at a time; a first run's single find is notified.

use crate::model::{FoundHead, HeadAddress, HeadSearch, Notice, TailnetFinds, TailscaleProblem};

#[derive(Debug, Default)]
pub struct HeadFinder {
    /// The search under way: `Some(first_run)`, where a first run's single find is offered.
    under_way: Option<bool>,
    /// What the last finished search found: its heads stay choosable while another one runs.
    last: Option<Result<TailnetFinds, TailscaleProblem>>,
}

impl HeadFinder {
    /// Starts a search unless one is under way; `true` when the driver must run it.
    pub fn start(&mut self, first_run: bool) -> bool {
        let start = self.under_way.is_none();
        self.under_way.get_or_insert(first_run);
        start
    }

    /// The search ended; a first run's single find is offered while the user `needs_a_head`.
    pub fn ended(
        &mut self,
        outcome: Result<TailnetFinds, TailscaleProblem>,
        needs_a_head: bool,
    ) -> Option<Notice> {
        let first_run = self.under_way.take()?;
        let notice = match outcome.as_ref().map(|finds| finds.heads.as_slice()) {
            Ok([only]) if first_run && needs_a_head => {
                Some(Notice::HeadFound { head: only.clone() })
            }
            _ => None,
        };
        self.last = Some(outcome);
        notice
    }

    pub fn status(&self) -> Option<HeadSearch> {
        match (self.under_way, &self.last) {
            (Some(_), _) => Some(HeadSearch::Searching),
            (None, Some(Ok(finds))) => Some(HeadSearch::Found(finds.clone())),
            (None, Some(Err(problem))) => Some(HeadSearch::Failed {
                problem: problem.clone(),
            }),
            (None, None) => None,
        }
    }

    /// The heads the last search found (also while the next one runs).
    pub fn found_heads(&self) -> Vec<FoundHead> {
        match &self.last {
            Some(Ok(finds)) => finds.heads.clone(),
            _ => Vec::new(),
        }
    }

    pub fn has_found(&self, address: &HeadAddress) -> bool {
        let found = self.found_heads();
        found.iter().any(|head| &head.address == address)
    }
}
