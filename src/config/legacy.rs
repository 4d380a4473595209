//! The one-time import of the old shell install's `config.env` (`HEAD_IP=...`) and `current_cpus`.

use super::{read_text, Config, ConfigError, Paths};
use crate::model::HeadAddress;

impl Config {
    /// Never fails on their content: what cannot be used is skipped with a note, since the old
    /// install worked with it and refusing to start now would be worse.
    pub(super) fn import_legacy(
        paths: &Paths,
        env_text: &str,
        machine_cpus: u32,
    ) -> Result<(Config, Vec<String>), ConfigError> {
        let mut config = Config::with_defaults(machine_cpus);
        let mut notes = Vec::new();
        let env_path = paths.legacy_env().display().to_string();
        match legacy_head_ip(env_text).map(|value| value.parse::<HeadAddress>()) {
            Some(Ok(head)) => config.head = Some(head),
            Some(Err(e)) => notes.push(format!("{env_path}: HEAD_IP: {e}; no head set")),
            None => notes.push(format!("{env_path}: no HEAD_IP line; no head set")),
        }
        let cpus_path = paths.legacy_cpus();
        if let Some(text) = read_text(&cpus_path)? {
            let max = machine_cpus.max(1);
            match text.trim().parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) => config.cpus = n,
                parsed => {
                    config.cpus = if parsed == Ok(0) { 1 } else { max };
                    notes.push(format!(
                        "{}: `{}` is not a CPU count from 1 to {max}; using {}",
                        cpus_path.display(),
                        crate::ray_output::shorten(text.trim(), 40),
                        config.cpus
                    ));
                }
            }
        }
        Ok((config, notes))
    }
}

/// The last `HEAD_IP=` value in a shell-style env file, as the shell reads it (unquoted).
/// A comment's key starts with `#`, so it never matches.
fn legacy_head_ip(text: &str) -> Option<String> {
    text.lines().rev().find_map(|line| {
        let line = line.trim();
        let line = line
            .strip_prefix("export")
            .filter(|rest| rest.starts_with(char::is_whitespace))
            .map_or(line, str::trim_start);
        let (key, value) = line.split_once('=')?;
        (key.trim() == "HEAD_IP").then(|| shell_value(value.trim_start()))
    })
}

/// One shell word: `"quoted"` / `'quoted'` up to the closing quote, else up to whitespace.
fn shell_value(v: &str) -> String {
    for quote in ['"', '\''] {
        if let Some(rest) = v.strip_prefix(quote) {
            return match rest.find(quote) {
                Some(end) => rest[..end].trim().to_string(),
                None => rest.trim().to_string(),
            };
        }
    }
    v.split(char::is_whitespace)
        .next()
        .unwrap_or("")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{head, setup};
    use std::fs;

    #[test]
    fn legacy_import_variants() {
        let cases: &[(&str, Option<HeadAddress>)] = &[
            ("HEAD_IP=100.64.0.1\n", Some(head("100.64.0.1", 6379))),
            ("HEAD_IP=\"100.64.0.1\"\n", Some(head("100.64.0.1", 6379))),
            ("HEAD_IP='desktop.tail1234.ts.net'\n", Some(head("desktop.tail1234.ts.net", 6379))),
            ("export HEAD_IP=100.64.0.7\n", Some(head("100.64.0.7", 6379))),
            (
                "# old install\n\n  # HEAD_IP=1.1.1.1\nOTHER=x\nexport   HEAD_IP=\"100.64.0.9\"  # desktop\n",
                Some(head("100.64.0.9", 6379)),
            ),
            ("HEAD_IP=100.64.0.1 # the desktop\n", Some(head("100.64.0.1", 6379))),
            ("HEAD_IP=100.64.0.1\nHEAD_IP=100.64.0.2\n", Some(head("100.64.0.2", 6379))),
            ("HEAD_IP=100.64.0.1:6380\r\n", Some(head("100.64.0.1", 6380))),
            ("HEAD_IP=\n", None),
            ("HEAD_IP=http://nope\n", None),
            ("SOMETHING=else\n", None),
            ("exportHEAD_IP=1.2.3.4\n", None),
        ];
        for (env, want) in cases {
            let (_dir, paths) = setup();
            fs::write(paths.legacy_env(), env).unwrap();
            let out = Config::load_or_import(&paths, 4).unwrap();
            assert!(paths.config_file().exists(), "imported: {env:?}");
            assert_eq!(&out.config.head, want, "{env:?}");
            assert_eq!(
                out.notes.is_empty(),
                want.is_some(),
                "{env:?}: {:?}",
                out.notes
            );
            // config.toml was written and reads back the same.
            let again = Config::load_or_import(&paths, 4).unwrap();
            assert!(again.notes.is_empty(), "read from config.toml: {env:?}");
            assert_eq!(again.config, out.config);
            // The legacy file is left alone.
            assert_eq!(fs::read_to_string(paths.legacy_env()).unwrap(), *env);
        }
    }

    #[test]
    fn legacy_import_current_cpus() {
        let cases: &[(&str, u32, bool)] = &[
            ("3\n", 3, false),
            ("  6  ", 6, false),
            ("64\n", 8, true),
            ("0\n", 1, true),
            ("abc\n", 8, true),
            ("-2", 8, true),
            ("", 8, true),
            ("99999999999999999999999", 8, true),
        ];
        for &(content, want, noted) in cases {
            let (_dir, paths) = setup();
            fs::write(paths.legacy_env(), "HEAD_IP=100.64.0.1\n").unwrap();
            fs::write(paths.legacy_cpus(), content).unwrap();
            let out = Config::load_or_import(&paths, 8).unwrap();
            assert_eq!(out.config.cpus, want, "{content:?}");
            assert_eq!(!out.notes.is_empty(), noted, "{content:?}: {:?}", out.notes);
            if noted {
                assert!(out.notes[0].contains("current_cpus"), "{:?}", out.notes);
            }
        }
    }
}
