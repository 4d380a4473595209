//! Finding `ray` the way an app opened from Finder must: its PATH is
//! `/usr/bin:/bin:/usr/sbin:/sbin`, so `ray` in `~/.local/bin` is found among the well-known
//! places, and `ray` anywhere else only through the login shell's PATH (a fake `$SHELL` here,
//! which prints a banner as rc files do).

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use bittrader_worker::platform::tool_search::{
    find_ray, login_shell_path, parse_login_shell_output, ToolSearch,
};

/// What an app started by Finder or launchd gets.
const GUI_PATH: &str = "/usr/bin:/bin:/usr/sbin:/sbin";

fn executable(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    std::fs::write(path, body).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn gui_search(home: &Path, login_path: Option<OsString>) -> ToolSearch {
    ToolSearch {
        home: Some(home.to_path_buf()),
        path: Some(OsString::from(GUI_PATH)),
        login_path,
    }
}

#[test]
fn ray_in_local_bin_is_found_with_a_gui_path() {
    let home = tempfile::tempdir().expect("home");
    let ray = home.path().join(".local/bin/ray");
    executable(&ray, "#!/bin/sh\necho 'ray, version 2.60.0'\n");
    let venv_ray = home.path().join(".bittrader_worker/.venv/bin/ray");
    assert_eq!(
        find_ray(None, &venv_ray, &gui_search(home.path(), None)),
        Some(ray)
    );
}

#[test]
fn the_apps_own_venv_comes_before_the_well_known_places_and_config_before_both() {
    let home = tempfile::tempdir().expect("home");
    executable(&home.path().join(".local/bin/ray"), "#!/bin/sh\n");
    let venv_ray = home.path().join(".bittrader_worker/.venv/bin/ray");
    executable(&venv_ray, "#!/bin/sh\n");
    let search = gui_search(home.path(), None);
    assert_eq!(find_ray(None, &venv_ray, &search), Some(venv_ray.clone()));
    let configured = PathBuf::from("/nowhere/ray");
    assert_eq!(
        find_ray(Some(&configured), &venv_ray, &search),
        Some(configured),
        "a configured path is kept even when missing, so the error names it"
    );
}

#[test]
fn ray_only_behind_the_login_shell_path_is_found_once_the_shell_was_asked() {
    let home = tempfile::tempdir().expect("home");
    let hidden = home.path().join("work/rayenv/bin");
    executable(&hidden.join("ray"), "#!/bin/sh\n");
    let venv_ray = home.path().join(".bittrader_worker/.venv/bin/ray");
    assert_eq!(
        find_ray(None, &venv_ray, &gui_search(home.path(), None)),
        None
    );

    // A login shell: its rc files print a banner and extend PATH, then it runs the command.
    let shell = home.path().join("fake-zsh");
    executable(
        &shell,
        &format!(
            "#!/bin/sh\n[ \"$1\" = -l ] || exit 64\necho 'Last login: Mon Jan 26 on ttys000'\n\
             PATH='{}:{GUI_PATH}'; export PATH\nexec /bin/sh -c \"$3\"\n",
            hidden.display()
        ),
    );
    let login_path = login_shell_path(&shell).expect("login shell PATH");
    assert_eq!(
        find_ray(None, &venv_ray, &gui_search(home.path(), Some(login_path))),
        Some(hidden.join("ray"))
    );
}

/// Recorded on this Linux machine (bash 5.2.15): `env -i HOME=… PATH=/usr/bin:/bin:/usr/sbin:/sbin
/// bash -l -c "printf '\n_BITTRADER_LOGIN_PATH_=%s\n' \"$PATH\""` with a `.bash_profile` that
/// echoes a line and prepends `/Users/ana/miniforge3/bin`.
#[test]
fn a_real_login_shells_output_gives_its_path() {
    let out = include_str!("fixtures/login_shell_path_bash5_linux_profile_banner.txt");
    let path = parse_login_shell_output(out).expect("path");
    assert!(path.starts_with("/Users/ana/miniforge3/bin:"), "{path}");
    assert!(path.ends_with(":/bin"), "{path}");
}
