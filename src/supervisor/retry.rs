//! What a worker's failure means for the next start, in one table.

use crate::model::WorkerFailure;

/// How the supervisor reacts to one failure of the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Restarting cannot fix it (a version skew, auth refused, Ray's multi-node switch off):
    /// go to Error and say what to do.
    Never,
    /// The network, not the worker: start again as soon as the head answers after an outage.
    /// If the head answered all along (it keeps marking the node dead, or something other
    /// than Ray listens on its port), restart after a growing delay that never gives up.
    WhenHeadAnswers,
    /// The worker itself failed: restart after the backoff delay; it counts towards the breaker.
    AfterBackoff,
}

pub fn retry_for(failure: &WorkerFailure) -> Retry {
    match failure {
        WorkerFailure::VersionMismatch { .. }
        | WorkerFailure::VersionSkewSuspected { .. }
        | WorkerFailure::MultiNodeDisabled
        | WorkerFailure::AuthRefused => Retry::Never,
        WorkerFailure::HeadUnreachable | WorkerFailure::NodeMarkedDead => Retry::WhenHeadAnswers,
        WorkerFailure::DidNotJoin { .. }
        | WorkerFailure::ExitedSilently { .. }
        | WorkerFailure::Crashed { .. } => Retry::AfterBackoff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_has_its_reaction() {
        let never = [
            WorkerFailure::VersionMismatch {
                cluster: Some("2.60.0".into()),
                this_machine: Some("2.51.2".into()),
            },
            WorkerFailure::VersionSkewSuspected { this_machine: None },
            WorkerFailure::MultiNodeDisabled,
            WorkerFailure::AuthRefused,
        ];
        for failure in never {
            assert_eq!(retry_for(&failure), Retry::Never, "{failure:?}");
        }
        for failure in [
            WorkerFailure::HeadUnreachable,
            WorkerFailure::NodeMarkedDead,
        ] {
            assert_eq!(retry_for(&failure), Retry::WhenHeadAnswers, "{failure:?}");
        }
        let crashed = WorkerFailure::Crashed {
            last_line: "boom".into(),
        };
        assert_eq!(retry_for(&crashed), Retry::AfterBackoff);
    }
}
