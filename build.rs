//! Names the commit the binary is built from, for the About panel and `doctor`: `BTW_COMMIT`
//! when the release build sets it, else what `git` says here, else "unknown" (a source tarball).
//! A few lines of `git` rather than vergen: its git backends are a large build for one string.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let said = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !said.trim().is_empty()).then(|| said.trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=BTW_COMMIT");
    // A new commit moves the branch's ref (or packed-refs after a gc); a checkout moves HEAD.
    // Only files that exist are named: cargo reruns a script whose named file is missing on
    // every build.
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    for name in ["HEAD", "packed-refs"].into_iter().chain(branch.as_deref()) {
        let path = git(&["rev-parse", "--path-format=absolute", "--git-path", name]);
        if let Some(path) = path.filter(|path| std::path::Path::new(path).exists()) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let commit = std::env::var("BTW_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BTW_COMMIT={commit}");
}
