//! A hand edit of config.toml while the app runs, diffed against its last reading and what is
//! wanted now: a changed setting that differs from the one in force is applied; settings read
//! only at start are named; an invalid or removed file is reported once and changes nothing.

use crate::config::{Config, FileReading};
use crate::model::ConfigEdit;

use super::events::UserCommand;
use super::Wanted;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigEdits {
    /// What the file said when last read.
    file: Config,
    /// The problem last said ([`ConfigEdit::Invalid`], [`ConfigEdit::Removed`]), said once.
    problem: Option<ConfigEdit>,
}

impl ConfigEdits {
    /// The file as read at start.
    pub fn new(file: Config) -> ConfigEdits {
        ConfigEdits {
            file,
            problem: None,
        }
    }

    /// What `reading` changes: the commands to apply, and what to say in the log.
    pub fn on_reading(
        &mut self,
        reading: FileReading,
        running: &Wanted,
    ) -> (Vec<UserCommand>, Vec<ConfigEdit>) {
        let new = match reading {
            FileReading::Valid(config) => config,
            FileReading::Invalid(problem) => return self.problem(ConfigEdit::Invalid(problem)),
            FileReading::Missing => return self.problem(ConfigEdit::Removed),
        };
        let (mut commands, mut notes) = (Vec::new(), Vec::new());
        if self.problem.take().is_some() {
            notes.push(ConfigEdit::ReadableAgain);
        }
        let old = std::mem::replace(&mut self.file, new.clone());
        let mut applied = Vec::new();
        if new.head != old.head && new.head != running.head {
            match &new.head {
                Some(head) => {
                    applied.push(format!("head = {head}"));
                    commands.push(UserCommand::SetHead(head.clone()));
                }
                None => notes.push(ConfigEdit::HeadRemoved),
            }
        }
        if new.cpus != old.cpus && new.cpus != running.cpus {
            applied.push(format!("cpus = {}", new.cpus));
            commands.push(UserCommand::SetCpus(new.cpus));
        }
        if new.paused != old.paused && new.paused != running.paused {
            applied.push(format!("paused = {}", new.paused));
            commands.push(match new.paused {
                true => UserCommand::Pause,
                false => UserCommand::Resume,
            });
        }
        if !applied.is_empty() {
            notes.push(ConfigEdit::Applied(applied.join(", ")));
        }
        let at_restart = read_at_start_changed(&old, &new);
        if !at_restart.is_empty() {
            notes.push(ConfigEdit::AtRestart(at_restart.join(", ")));
        }
        (commands, notes)
    }

    /// A file that does not read: said once until it changes again; nothing is applied.
    fn problem(&mut self, problem: ConfigEdit) -> (Vec<UserCommand>, Vec<ConfigEdit>) {
        let said = self.problem.replace(problem.clone()).as_ref() == Some(&problem);
        (Vec::new(), if said { Vec::new() } else { vec![problem] })
    }
}

/// The settings read only at start that differ between `old` and `new`, by key.
fn read_at_start_changed(old: &Config, new: &Config) -> Vec<&'static str> {
    [
        ("mode", old.mode != new.mode),
        ("ray_path", old.ray_path != new.ray_path),
        ("node_ip", old.node_ip != new.node_ip),
        (
            "auth_token_file",
            old.auth_token_file != new.auth_token_file,
        ),
        ("[timing]", old.timing != new.timing),
        ("[battery]", old.battery != new.battery),
        ("keep_awake", old.keep_awake != new.keep_awake),
        (
            "pause_at_thermal",
            old.pause_at_thermal != new.pause_at_thermal,
        ),
        (
            "only_when_idle_minutes",
            old.only_when_idle_minutes != new.only_when_idle_minutes,
        ),
        ("[ray]", old.ray != new.ray),
        ("check_updates", old.check_updates != new.check_updates),
        ("updates_feed", old.updates_feed != new.updates_feed),
    ]
    .into_iter()
    .filter_map(|(key, changed)| changed.then_some(key))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mode;
    use crate::model::HeadAddress;

    fn head(address: &str) -> HeadAddress {
        address.parse().expect("a head address")
    }

    /// The file at start: a head, two CPUs, not paused.
    fn at_start() -> Config {
        Config {
            head: Some(head("100.64.0.1")),
            cpus: 2,
            ..Config::with_defaults(4)
        }
    }

    fn running(config: &Config) -> Wanted {
        Wanted {
            head: config.head.clone(),
            demo: None,
            cpus: config.cpus,
            paused: config.paused,
        }
    }

    #[test]
    fn what_the_user_changed_by_hand_is_applied_and_said_once() {
        let start = at_start();
        let mut edits = ConfigEdits::new(start.clone());
        let edited = Config {
            cpus: 1,
            paused: true,
            head: Some(head("100.64.0.7:6380")),
            ..start.clone()
        };
        let (commands, notes) =
            edits.on_reading(FileReading::Valid(edited.clone()), &running(&start));
        assert_eq!(
            commands,
            [
                UserCommand::SetHead(head("100.64.0.7:6380")),
                UserCommand::SetCpus(1),
                UserCommand::Pause
            ]
        );
        assert_eq!(
            notes,
            [ConfigEdit::Applied(
                "head = 100.64.0.7:6380, cpus = 1, paused = true".into()
            )]
        );
        // The same file read again (our own write, a touch): nothing.
        let again = edits.on_reading(FileReading::Valid(edited.clone()), &running(&edited));
        assert_eq!(again, (vec![], vec![]));
        let resumed = Config {
            paused: false,
            ..edited.clone()
        };
        let (commands, _) = edits.on_reading(FileReading::Valid(resumed), &running(&edited));
        assert_eq!(commands, [UserCommand::Resume]);
    }

    #[test]
    fn our_own_write_of_a_change_already_in_force_is_no_edit() {
        let start = at_start();
        let mut edits = ConfigEdits::new(start.clone());
        // The user paused from the menu; the writer saved `paused = true`.
        let in_force = Config {
            paused: true,
            ..start.clone()
        };
        let outcome = edits.on_reading(FileReading::Valid(in_force.clone()), &running(&in_force));
        assert_eq!(outcome, (vec![], vec![]));
    }

    #[test]
    fn settings_read_at_start_are_named_and_a_removed_head_is_kept() {
        let start = at_start();
        let mut edits = ConfigEdits::new(start.clone());
        let edited = Config {
            mode: Mode::Mobile,
            head: None,
            only_when_idle_minutes: Some(5),
            ..start.clone()
        };
        let (commands, notes) = edits.on_reading(FileReading::Valid(edited), &running(&start));
        assert!(commands.is_empty(), "{commands:?}");
        assert_eq!(
            notes,
            [
                ConfigEdit::HeadRemoved,
                ConfigEdit::AtRestart("mode, only_when_idle_minutes".into())
            ]
        );
    }

    #[test]
    fn an_invalid_or_removed_file_is_said_once_and_changes_nothing() {
        let start = at_start();
        let mut edits = ConfigEdits::new(start.clone());
        let invalid = || FileReading::Invalid("`paused` must be true or false".into());
        let (commands, notes) = edits.on_reading(invalid(), &running(&start));
        assert!(commands.is_empty());
        assert_eq!(
            notes,
            [ConfigEdit::Invalid("`paused` must be true or false".into())]
        );
        assert_eq!(
            edits.on_reading(invalid(), &running(&start)),
            (vec![], vec![])
        );
        assert_eq!(
            edits.on_reading(FileReading::Missing, &running(&start)).1,
            [ConfigEdit::Removed]
        );
        assert_eq!(
            edits.on_reading(FileReading::Missing, &running(&start)),
            (vec![], vec![])
        );
        // Readable again, as it was: said, and nothing to apply.
        assert_eq!(
            edits.on_reading(FileReading::Valid(start.clone()), &running(&start)),
            (vec![], vec![ConfigEdit::ReadableAgain])
        );
    }
}
