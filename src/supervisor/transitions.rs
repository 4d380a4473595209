//! Which changes of state are worth a line in `worker.log`: one per change a reader of the log
//! cares about (a new phase, fault, kind of pause or head, the CPUs of a worker in the cluster,
//! a new reason while disconnected), never one per probe. The text words the line.

use crate::model::{Phase, Status};

/// Whether going from `previous` (`None`: nothing said yet) to `next` is worth a line.
pub fn worth_a_line(previous: Option<&Status>, next: &Status) -> bool {
    let Some(previous) = previous else {
        return true;
    };
    // The worker's CPUs matter only while it is part of the cluster; a worker that is going
    // away changes nothing worth a line.
    let cpus_matter = matches!(next.phase, Phase::Starting | Phase::Connected);
    let kind = |status: &Status| status.auto_pause.map(|a| std::mem::discriminant(&a));
    previous.phase != next.phase
        || previous.fault != next.fault
        || kind(previous) != kind(next)
        || (cpus_matter && previous.worker_cpus != next.worker_cpus)
        || previous.head != next.head
        || (next.phase == Phase::Disconnected && previous.unreachable != next.unreachable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AutoPause, Unreachable};

    fn status(phase: Phase) -> Status {
        Status {
            phase,
            head: Some("100.64.0.1:6379".parse().expect("head")),
            worker_cpus: Some(10),
            ..Status::default()
        }
    }

    #[test]
    fn no_line_when_nothing_changed() {
        let a = status(Phase::Connected);
        assert!(worth_a_line(None, &a), "the first state is said");
        assert!(!worth_a_line(Some(&a), &a.clone()));
        let busier = Status {
            worker_busy_percent: Some(80),
            recent_failures: 1,
            ..a.clone()
        };
        assert!(!worth_a_line(Some(&a), &busier), "not every figure");
    }

    #[test]
    fn a_new_reason_while_disconnected_is_logged() {
        let mut a = status(Phase::Disconnected);
        a.unreachable = Some(Unreachable::TimedOut);
        let mut b = a.clone();
        b.unreachable = Some(Unreachable::Refused);
        assert!(worth_a_line(Some(&a), &b));
        let (mut c, mut d) = (status(Phase::Disconnecting), status(Phase::Disconnecting));
        c.unreachable = Some(Unreachable::TimedOut);
        d.unreachable = Some(Unreachable::Refused);
        assert!(!worth_a_line(Some(&c), &d), "only once disconnected");
    }

    #[test]
    fn the_cpus_count_only_in_the_cluster_and_a_pause_by_its_kind() {
        let mut a = status(Phase::Stopping);
        let mut b = a.clone();
        b.worker_cpus = Some(4);
        assert!(!worth_a_line(Some(&a), &b), "a worker going away");
        a.phase = Phase::Connected;
        b.phase = Phase::Connected;
        assert!(worth_a_line(Some(&a), &b));
        let low = |percent| Status {
            auto_pause: Some(AutoPause::LowBattery { percent }),
            ..status(Phase::Paused)
        };
        assert!(!worth_a_line(Some(&low(9)), &low(8)), "the same kind");
        assert!(worth_a_line(Some(&status(Phase::Paused)), &low(8)));
    }
}
