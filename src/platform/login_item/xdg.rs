//! The Linux login item: `$XDG_CONFIG_HOME/autostart/com.bittrader.worker.desktop`. The Desktop
//! Entry quoting is written here: the crates that read entries do not write them, and none quotes
//! an `Exec` argument.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use super::{
    io_error, program_text, read_entry, remove_if_there, write_atomically, LoginItem,
    LoginItemError, LoginStatus, LAUNCH_AGENT_LABEL,
};

pub fn xdg_autostart_entry(exe: &Path) -> Result<String, LoginItemError> {
    let exec = exec_value(program_text(exe)?);
    Ok(format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=BitTrader Worker\n\
         Comment=Keeps this machine contributing CPUs to your Ray cluster\n\
         Exec={exec}\n\
         Terminal=false\n\
         X-GNOME-Autostart-enabled=true\n"
    ))
}

/// `Exec` as the Desktop Entry spec has it: an argument with a reserved character goes in double
/// quotes with `"`, `` ` ``, `$` and `\` backslash-escaped; `%` is doubled; then the whole value
/// gets the string escapes (`\` → `\\`; [`program_text`] refuses the control characters), which
/// the spec undoes first, so a literal `$` ends up as `\\$`.
fn exec_value(program: &str) -> String {
    const RESERVED: &[char] = &[
        ' ', '\t', '\n', '"', '\'', '\\', '>', '<', '~', '|', '&', ';', '$', '*', '?', '#', '(',
        ')', '`',
    ];
    let arg = program.replace('%', "%%");
    let quoted = if arg.contains(RESERVED) {
        let mut quoted = String::from('"');
        for c in arg.chars() {
            if matches!(c, '"' | '`' | '$' | '\\') {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted + "\""
    } else {
        arg
    };
    quoted.replace('\\', "\\\\")
}

/// The `[Desktop Entry]` group's keys (unlocalised), values with string escapes still in.
fn desktop_entry_keys(text: &str) -> BTreeMap<&str, &str> {
    let mut keys = BTreeMap::new();
    let mut in_group = false;
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with('[') {
            in_group = line.trim_end() == "[Desktop Entry]";
        } else if in_group && !line.starts_with('#') {
            if let Some((key, value)) = line.split_once('=') {
                keys.insert(key.trim_end(), value.trim_start());
            }
        }
    }
    keys
}

/// `$XDG_CONFIG_HOME/autostart`, or `$HOME/.config/autostart` when that is unset, empty or relative
/// (which the Base Directory spec says to ignore).
fn autostart_dir_from(
    xdg_config_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let config = xdg_config_home
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| Some(PathBuf::from(home.filter(|home| !home.is_empty())?).join(".config")))?;
    Some(config.join("autostart"))
}

#[derive(Debug, Clone)]
pub struct XdgAutostart {
    autostart_dir: PathBuf,
    exe: PathBuf,
}

impl XdgAutostart {
    pub fn for_current_user(exe: PathBuf) -> Result<Self, LoginItemError> {
        let autostart_dir = autostart_dir_from(
            std::env::var_os("XDG_CONFIG_HOME"),
            std::env::var_os("HOME"),
        )
        .ok_or(LoginItemError::NoHome)?;
        Ok(XdgAutostart { autostart_dir, exe })
    }

    fn entry_path(&self) -> PathBuf {
        self.autostart_dir
            .join(format!("{LAUNCH_AGENT_LABEL}.desktop"))
    }
}

impl LoginItem for XdgAutostart {
    fn status(&self) -> LoginStatus {
        let text = match read_entry(&self.entry_path()) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(status) => return status,
        };
        let keys = desktop_entry_keys(&text);
        // What the desktop's "startup applications" settings write to switch an entry off.
        if keys.get("Hidden") == Some(&"true")
            || keys.get("X-GNOME-Autostart-enabled") == Some(&"false")
        {
            return LoginStatus::Disabled;
        }
        let Some(exec) = keys.get("Exec") else {
            return LoginStatus::Unrecognized {
                detail: "an autostart entry without an Exec line".to_string(),
            };
        };
        // Only this program writes the entry: one starting this program reads exactly as written,
        // another copy's is shown as it stands.
        match program_text(&self.exe).map(exec_value) {
            Ok(ours) if ours == *exec => LoginStatus::Enabled {
                program: self.exe.to_string_lossy().into_owned(),
                is_this_program: true,
            },
            _ => LoginStatus::Enabled {
                program: exec.to_string(),
                is_this_program: false,
            },
        }
    }

    /// There is no legacy autostart on Linux.
    fn enable(&self, _replace_legacy: bool) -> Result<(), LoginItemError> {
        let entry = xdg_autostart_entry(&self.exe)?;
        fs::create_dir_all(&self.autostart_dir).map_err(io_error("create", &self.autostart_dir))?;
        write_atomically(&self.entry_path(), entry.as_bytes())
    }

    fn disable(&self) -> Result<(), LoginItemError> {
        remove_if_there(&self.entry_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::login_item::tests::NASTY_EXE;

    // --- XDG autostart ------------------------------------------------------------------------

    #[test]
    fn xdg_entry_reads_back_for_nasty_paths() {
        let home = tempfile::tempdir().expect("tempdir");
        for exe in [
            "/usr/bin/bittrader-worker",
            "/home/me/Bit Trader/bittrader-worker",
            NASTY_EXE,
            r#"/home/me/we"ird $HOME `x` back\slash 100%/bin"#,
            "/home/me/~tilde;semi'quote'#(x)*?|<in>&bin",
        ] {
            let entry = xdg_autostart_entry(Path::new(exe)).expect("entry");
            let keys = desktop_entry_keys(&entry);
            assert_eq!(keys.get("Type"), Some(&"Application"));
            assert_eq!(keys.get("Name"), Some(&"BitTrader Worker"));
            assert_eq!(keys.get("X-GNOME-Autostart-enabled"), Some(&"true"));
            assert_eq!(entry.lines().count(), 7, "one line per key: {entry}");
            let item = XdgAutostart {
                autostart_dir: home.path().to_path_buf(),
                exe: PathBuf::from(exe),
            };
            item.enable(false).expect("enable");
            assert_eq!(
                item.status(),
                LoginStatus::Enabled {
                    program: exe.to_string(),
                    is_this_program: true
                },
                "{entry}"
            );
            let other_copy = XdgAutostart {
                exe: PathBuf::from("/opt/other/bittrader-worker"),
                ..item
            };
            assert!(matches!(
                other_copy.status(),
                LoginStatus::Enabled { program, is_this_program: false } if program == keys["Exec"]
            ));
        }
    }

    #[test]
    fn xdg_exec_quoting_is_the_specs() {
        let exec = |exe: &str| {
            let entry = xdg_autostart_entry(Path::new(exe)).expect("entry");
            desktop_entry_keys(&entry)
                .get("Exec")
                .expect("Exec")
                .to_string()
        };
        assert_eq!(
            exec("/usr/bin/bittrader-worker"),
            "/usr/bin/bittrader-worker"
        );
        assert_eq!(exec("/opt/Bit Trader/w"), r#""/opt/Bit Trader/w""#);
        // The spec's own examples: `$` in a quoted argument is `\\$` in the file, a literal
        // backslash is four; `"` becomes `\\"` after both rules.
        assert_eq!(exec("/a b/$x"), r#""/a b/\\$x""#);
        assert_eq!(exec(r"/a\b"), r#""/a\\\\b""#);
        assert_eq!(exec(r#"/a"b"#), r#""/a\\"b""#);
        assert_eq!(exec("/a/100%"), "/a/100%%");
        // Control characters (a tab, a newline) are refused rather than escaped.
        assert!(matches!(
            xdg_autostart_entry(Path::new("/a\tb")),
            Err(LoginItemError::UnusableProgramPath { .. })
        ));
    }

    #[test]
    fn xdg_autostart_dir_follows_the_base_directory_spec() {
        let dir = |xdg: Option<&str>, home: Option<&str>| {
            autostart_dir_from(xdg.map(OsString::from), home.map(OsString::from))
        };
        assert_eq!(
            dir(Some("/x/config"), Some("/home/me")),
            Some(PathBuf::from("/x/config/autostart"))
        );
        assert_eq!(
            dir(None, Some("/home/me")),
            Some(PathBuf::from("/home/me/.config/autostart"))
        );
        assert_eq!(
            dir(Some(""), Some("/home/me")),
            Some(PathBuf::from("/home/me/.config/autostart"))
        );
        assert_eq!(
            dir(Some("relative/config"), Some("/home/me")),
            Some(PathBuf::from("/home/me/.config/autostart"))
        );
        assert_eq!(dir(None, None), None);
    }

    #[test]
    fn xdg_enable_status_disable() {
        let home = tempfile::tempdir().expect("tempdir");
        let dir = home.path().join("config/autostart");
        let exe = PathBuf::from("/home/me/My Apps/bittrader-worker");
        let item = XdgAutostart {
            autostart_dir: dir.clone(),
            exe: exe.clone(),
        };
        assert_eq!(item.status(), LoginStatus::Disabled);
        item.enable(false).expect("enable");
        assert_eq!(item.entry_path(), dir.join("com.bittrader.worker.desktop"));
        assert_eq!(
            item.status(),
            LoginStatus::Enabled {
                program: exe.to_string_lossy().into_owned(),
                is_this_program: true
            }
        );
        // Switched off by the desktop's settings (they add one of these keys).
        let text = fs::read_to_string(item.entry_path()).expect("read");
        fs::write(
            item.entry_path(),
            text.replace(
                "X-GNOME-Autostart-enabled=true",
                "X-GNOME-Autostart-enabled=false",
            ),
        )
        .expect("write");
        assert_eq!(item.status(), LoginStatus::Disabled);
        fs::write(item.entry_path(), format!("{text}Hidden=true\n")).expect("write");
        assert_eq!(item.status(), LoginStatus::Disabled);

        item.disable().expect("disable");
        assert!(!item.entry_path().exists());
        item.disable().expect("idempotent");
        assert_eq!(item.status(), LoginStatus::Disabled);
    }
}
