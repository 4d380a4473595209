//! `install-cli --dir DIR`: a link named `bittrader-worker` to this binary in DIR, made again
//! harmlessly, replacing only a link of ours, and refused where it would clobber something or
//! where the folder cannot be written.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `install-cli --dir DIR` in English, with a PATH that does not hold DIR.
fn install_cli(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("install-cli")
        .arg("--dir")
        .arg(dir)
        .env("LC_ALL", "en_US.UTF-8")
        .env("PATH", "/usr/bin:/bin");
    command
}

fn run(mut command: Command) -> Output {
    command.output().expect("run bittrader-worker install-cli")
}

fn said(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

fn this_binary() -> PathBuf {
    fs::canonicalize(BIN).expect("the binary's real path")
}

#[test]
fn the_link_is_made_points_at_this_binary_and_answers_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    let out = run(install_cli(&bin));
    let words = said(&out);
    assert!(out.status.success(), "{words}");
    let link = bin.join("bittrader-worker");
    assert_eq!(fs::read_link(&link).expect("a link"), this_binary());
    // Where it is, and (the folder not being on PATH) how to put it there.
    assert!(words.contains(&link.display().to_string()), "{words}");
    assert!(words.contains("not on your PATH"), "{words}");
    assert!(
        words.contains(&format!("export PATH=\"{}:$PATH\"", bin.display())),
        "{words}"
    );
    let version = Command::new(&link)
        .arg("--version")
        .output()
        .expect("run the link");
    assert!(version.status.success(), "{}", said(&version));
    let line = text(&version.stdout);
    assert!(line.starts_with("bittrader-worker "), "{line}");

    // Again: nothing to undo, the same link; with the folder on PATH, no advice about it.
    let mut again = install_cli(&bin);
    again.env("PATH", format!("/usr/bin:{}:/bin", bin.display()));
    let out = run(again);
    let words = said(&out);
    assert!(out.status.success(), "{words}");
    assert_eq!(fs::read_link(&link).expect("a link"), this_binary());
    assert!(!words.contains("PATH"), "{words}");
}

#[test]
fn spanish_says_where_the_link_is_in_spanish() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = install_cli(dir.path());
    command.env("LC_ALL", "es_ES.UTF-8");
    let out = run(command);
    let words = said(&out);
    assert!(out.status.success(), "{words}");
    assert!(words.contains("no está en tu PATH"), "{words}");
}

#[test]
fn a_stale_link_of_ours_is_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("bittrader-worker");
    // Another copy of the app, since moved or deleted.
    let old = "/Volumes/Old Disk/BitTrader Worker.app/Contents/MacOS/bittrader-worker";
    symlink(old, &link).expect("the old link");
    let out = run(install_cli(dir.path()));
    let words = said(&out);
    assert!(out.status.success(), "{words}");
    assert_eq!(fs::read_link(&link).expect("a link"), this_binary());
    assert!(words.contains(old), "says what it replaced: {words}");
}

#[test]
fn a_regular_file_is_left_alone_and_the_refusal_says_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("bittrader-worker");
    fs::write(&link, "#!/bin/sh\necho mine\n").expect("a file of the user's");
    let out = run(install_cli(dir.path()));
    let words = text(&out.stderr);
    assert!(!out.status.success(), "{}", said(&out));
    assert_eq!(
        fs::read_to_string(&link).expect("still a file"),
        "#!/bin/sh\necho mine\n"
    );
    assert!(words.contains(&link.display().to_string()), "{words}");
    assert!(words.contains("not a link to BitTrader Worker"), "{words}");
    assert!(words.contains("--dir"), "says what to do: {words}");
}

#[test]
fn a_link_to_something_else_is_left_alone_and_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("bittrader-worker");
    symlink("/bin/sh", &link).expect("a foreign link");
    let out = run(install_cli(dir.path()));
    let words = text(&out.stderr);
    assert!(!out.status.success(), "{}", said(&out));
    assert_eq!(fs::read_link(&link).expect("a link"), Path::new("/bin/sh"));
    assert!(words.contains("points to /bin/sh"), "{words}");
    assert!(words.contains(&format!("rm {}", link.display())), "{words}");
}

/// Linux: a folder the user may not write is refused, with no password asked (that is macOS's
/// way, through its own prompt). As root every folder is writable, so the command runs as
/// `nobody` there.
#[cfg(target_os = "linux")]
#[test]
fn a_folder_that_cannot_be_written_is_refused_with_a_permission_message() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let locked = dir.path().join("locked");
    fs::create_dir(&locked).expect("mkdir");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).expect("chmod 555");
    let mut command = install_cli(&locked);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        const NOBODY: u32 = 65534;
        command.uid(NOBODY).gid(NOBODY).env("HOME", dir.path());
    }
    let out = match command.output() {
        Ok(out) => out,
        Err(e) => {
            bittrader_test_support::skip::skip_or_fail(
                "unwritable-folder test",
                &format!("could not run the binary as nobody: {e}"),
                Some("run it as a user other than root, or from a folder nobody may read"),
                "BITTRADER_REQUIRE_UNPRIVILEGED",
            );
            return;
        }
    };
    let words = text(&out.stderr);
    assert!(!out.status.success(), "{}", said(&out));
    assert!(!locked.join("bittrader-worker").exists());
    assert!(words.contains("permission"), "{words}");
    assert!(words.contains(&locked.display().to_string()), "{words}");
    assert!(words.contains("--dir"), "says what to do: {words}");
}
