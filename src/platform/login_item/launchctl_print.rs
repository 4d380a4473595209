//! Reads what `launchctl print gui/UID/LABEL` says about a loaded job.
//!
//! The output is meant for people, not programs (Apple says its format may change), so only
//! the few `key = value` lines at the job's own level are read, and anything else is ignored.
//! A job launchd does not know makes `launchctl print` fail ("Could not find service"); that
//! is judged from the exit status by the caller, not here.

/// What `launchctl print` says about a loaded job.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadedJob {
    /// `path`: the plist launchd loaded the job from.
    pub plist_path: Option<String>,
    /// `program`: what launchd runs (as loaded: a plist rewritten since says something else).
    pub program: Option<String>,
    /// `state`: `running`, `not running`, `waiting`, ...
    pub state: Option<String>,
    /// `pid`, while it runs.
    pub pid: Option<u32>,
}

/// Parses the job's own `key = value` lines: those one level inside the outer
/// `LABEL = {` block, outside any nested `name = { ... }` block (`arguments`, `environment`).
/// Indentation is not trusted (tabs or spaces); the braces are counted instead.
pub fn parse_launchctl_print(text: &str) -> LoadedJob {
    let mut job = LoadedJob::default();
    let mut depth = 0usize;
    for line in text.lines() {
        let line = line.trim();
        if line == "}" {
            depth = depth.saturating_sub(1);
            continue;
        }
        let opens_block = line.ends_with('{');
        if depth == 1 && !opens_block {
            if let Some((key, value)) = line.split_once(" = ") {
                let value = value.trim().to_string();
                match key.trim() {
                    "path" => job.plist_path = Some(value),
                    "program" => job.program = Some(value),
                    "state" => job.state = Some(value),
                    "pid" => job.pid = value.parse().ok(),
                    _ => {}
                }
            }
        }
        if opens_block {
            depth += 1;
        }
    }
    job
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `launchctl print system/com.wazuh.agent` on macOS Mojave, as posted in
    /// wazuh/wazuh-packages#2206 (c-bordon, 2023-05-30); the excerpt stops inside the job's
    /// block (see /work/shared/fixtures/README.md, section 7). No recorded `gui/UID/...`
    /// output was found; the grammar is the same.
    const WAZUH: &str = include_str!(
        "../../../tests/fixtures/macos_launchctl_print_system_com.wazuh.agent_mojave_PARTIAL.txt"
    );

    #[test]
    fn reads_the_jobs_own_keys_from_a_recorded_print() {
        assert_eq!(
            parse_launchctl_print(WAZUH),
            LoadedJob {
                plist_path: Some("/Library/LaunchDaemons/com.wazuh.agent.plist".into()),
                program: Some("/Library/StartupItems/WAZUH/Wazuh-launcher".into()),
                state: Some("running".into()),
                pid: Some(1486),
            }
        );
    }

    #[test]
    fn nested_blocks_and_tabs_do_not_confuse_it() {
        // Constructed from the recorded one: tabs instead of spaces, and a nested `program`
        // key that must not win over the job's own.
        let text = WAZUH.replace("        ", "\t").replace(
            "\tdefault environment = {",
            "\tspawn = {\n\t\tprogram = /nested\n\t}\n\tdefault environment = {",
        );
        let job = parse_launchctl_print(&text);
        assert_eq!(
            job.program.as_deref(),
            Some("/Library/StartupItems/WAZUH/Wazuh-launcher")
        );
        assert_eq!(job.pid, Some(1486));
    }

    #[test]
    fn nothing_useful_gives_nothing() {
        assert_eq!(parse_launchctl_print(""), LoadedJob::default());
        assert_eq!(
            parse_launchctl_print(
                "Could not find service \"com.bittrader.worker\" in domain for port"
            ),
            LoadedJob::default()
        );
    }
}
