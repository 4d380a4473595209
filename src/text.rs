//! Every sentence the user reads about the worker's state, in one place.
//!
//! The log keeps the old daemon's shape (`2026-01-26 10:00:08 - ✅ Worker connected to the
//! cluster with 10 CPUs`): one line per change of state, never one per probe.

use crate::supervisor::{Notice, Phase, Status};

/// One line that says where things stand, for `status`, the tray's tooltip and the log.
pub fn summary(status: &Status) -> String {
    let head = status.head.as_deref().unwrap_or("no head");
    let cpus = status.worker_cpus.unwrap_or(status.cpus);
    let why = status
        .unreachable
        .as_ref()
        .map(|u| u.to_string())
        .unwrap_or_else(|| "no answer".to_string());
    match status.phase {
        Phase::Checking => format!("Checking whether the head {head} is reachable"),
        Phase::Starting => format!("Joining {head} with {cpus} CPUs"),
        Phase::Connected => format!("Connected to {head} · {cpus} CPUs"),
        Phase::Disconnecting => {
            format!("Head unreachable — {why} · keeping the worker for a moment")
        }
        Phase::Disconnected => format!("Head unreachable — {why} · retrying"),
        Phase::Reconnecting => format!("Reconnecting to {head}"),
        Phase::Stopping => "Stopping the worker".to_string(),
        Phase::Paused => "Paused".to_string(),
        Phase::Error => match &status.fault {
            Some(fault) => format!("Error: {}", fault.user_message()),
            None => "Error".to_string(),
        },
        Phase::ShuttingDown => "Shutting down".to_string(),
    }
}

/// The log line for a change from `previous` to `next`, or `None` when nothing worth a line
/// changed (the same phase, the same fault).
pub fn transition_line(previous: Option<&Status>, next: &Status) -> Option<String> {
    if let Some(previous) = previous {
        let same = previous.phase == next.phase
            && previous.fault == next.fault
            && previous.worker_cpus == next.worker_cpus
            && previous.head == next.head
            && (next.phase != Phase::Disconnected || previous.unreachable == next.unreachable);
        if same {
            return None;
        }
    }
    let head = next.head.as_deref().unwrap_or("no head");
    let cpus = next.worker_cpus.unwrap_or(next.cpus);
    let line = match next.phase {
        Phase::Checking => format!("🔎 Checking the head {head}"),
        Phase::Starting => format!("🚀 Starting the worker: {cpus} CPUs for {head}"),
        Phase::Connected => format!("✅ Worker connected to the cluster with {cpus} CPUs"),
        Phase::Disconnecting => format!("⚠️ {}", summary(next)),
        Phase::Disconnected => format!("🔌 {}", summary(next)),
        Phase::Reconnecting => format!("🔄 Reconnecting to {head}"),
        Phase::Stopping => "🛑 Stopping the worker".to_string(),
        Phase::Paused => "⏸️ Paused: not contributing".to_string(),
        Phase::Error => format!("❌ {}", summary(next)),
        Phase::ShuttingDown => "👋 Shutting down".to_string(),
    };
    Some(line)
}

/// A notification's title and body.
pub fn notice(notice: &Notice) -> (String, String) {
    match notice {
        Notice::HeadLost { why } => (
            "Worker disconnected".to_string(),
            match why {
                Some(why) => format!("The head is unreachable ({why}); the worker was stopped. It will rejoin by itself."),
                None => "The head is unreachable; the worker was stopped. It will rejoin by itself.".to_string(),
            },
        ),
        Notice::Reconnected { away_secs } => (
            "Worker reconnected".to_string(),
            format!("Back in the cluster after {}.", duration_words(*away_secs)),
        ),
        Notice::NeedsAttention { fault } => {
            ("BitTrader Worker needs you".to_string(), fault.user_message())
        }
    }
}

/// "45 s", "3 min", "2 h 5 min".
pub fn duration_words(secs: u64) -> String {
    if secs < 60 {
        format!("{secs} s")
    } else if secs < 3600 {
        format!("{} min", secs / 60)
    } else {
        format!("{} h {} min", secs / 3600, (secs % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::Unreachable;

    fn status(phase: Phase) -> Status {
        Status {
            phase,
            head: Some("100.64.0.1:6379".into()),
            cpus: 10,
            worker_cpus: Some(10),
            paused: false,
            unreachable: None,
            fault: None,
            recent_failures: 0,
        }
    }

    #[test]
    fn the_connected_line_keeps_the_old_daemons_words() {
        let line = transition_line(None, &status(Phase::Connected));
        assert_eq!(
            line.as_deref(),
            Some("✅ Worker connected to the cluster with 10 CPUs")
        );
    }

    #[test]
    fn no_line_when_nothing_changed() {
        let a = status(Phase::Connected);
        assert_eq!(transition_line(Some(&a), &a.clone()), None);
    }

    #[test]
    fn a_new_reason_while_disconnected_is_logged() {
        let mut a = status(Phase::Disconnected);
        a.unreachable = Some(Unreachable::TimedOut);
        let mut b = a.clone();
        b.unreachable = Some(Unreachable::Refused);
        let line = transition_line(Some(&a), &b).expect("a line");
        assert!(line.contains("Ray is not running"), "{line}");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_words(42), "42 s");
        assert_eq!(duration_words(180), "3 min");
        assert_eq!(duration_words(7500), "2 h 5 min");
    }
}
