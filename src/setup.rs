//! `bittrader-worker setup`: a private Python venv with the Ray this cluster needs.
//!
//! The version matters: a worker whose Ray differs from the head's fails cryptically, so the
//! default is the head's own version when its dashboard answers, else the newest.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::config::{Config, Paths};
use crate::dashboard;

/// Creates `~/.bittrader_worker/.venv` (if needed) and installs Ray into it, showing pip's
/// progress.
pub fn run(paths: &Paths, config: &Config, ray_version: Option<&str>) -> anyhow::Result<()> {
    paths.ensure_home().context("creating the data folder")?;
    let version = match ray_version {
        Some(v) => Some(validate_version(v)?),
        None => match &config.head {
            Some(head) => match dashboard::head_ray_version(&head.host, Duration::from_secs(3)) {
                Ok(v) => {
                    println!("The head {} runs Ray {v}: installing the same.", head.host);
                    Some(v)
                }
                Err(e) => {
                    println!(
                        "Could not ask the head for its Ray version ({e}); installing the newest Ray. \
                         If the head runs another version, run `bittrader-worker setup --ray-version X`."
                    );
                    None
                }
            },
            None => None,
        },
    };
    let venv = paths.venv_dir();
    if !venv.join("bin").join("python").exists() {
        println!("Creating {} …", venv.display());
        run_visible(Command::new("python3").args(["-m", "venv"]).arg(&venv))
            .context("python3 is needed to install Ray: install Python 3.9 or newer")?;
    }
    let spec = match &version {
        Some(v) => format!("ray[default]=={v}"),
        None => "ray[default]".to_string(),
    };
    println!("Installing {spec} (this takes a minute) …");
    run_visible(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--upgrade", "--progress-bar", "on"])
            .arg(&spec),
    )?;
    let ray = venv.join("bin").join("ray");
    check_ray(&ray)?;
    println!("Ray is ready at {}.", ray.display());
    Ok(())
}

/// Accepts versions like `2.60.0` and nothing that could smuggle other pip arguments.
pub fn validate_version(version: &str) -> anyhow::Result<String> {
    let ok = !version.is_empty()
        && version.len() <= 32
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.')
        && version.starts_with(|c: char| c.is_ascii_digit());
    if !ok {
        bail!("`{version}` is not a Ray version: use digits and dots, e.g. 2.60.0");
    }
    Ok(version.to_string())
}

fn run_visible(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("could not run {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{:?} failed ({status})", command.get_program());
    }
    Ok(())
}

fn check_ray(ray: &Path) -> anyhow::Result<()> {
    let output = Command::new(ray)
        .arg("--version")
        .output()
        .with_context(|| format!("could not run {}", ray.display()))?;
    println!("{}", String::from_utf8_lossy(&output.stdout).trim());
    if !output.status.success() {
        bail!("{} --version failed", ray.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_versions_are_accepted() {
        assert_eq!(validate_version("2.60.0").expect("ok"), "2.60.0");
        assert!(validate_version("2.60.0rc1").is_ok());
        for bad in ["", "latest", "2.60; rm -rf", "--index-url=x", "2.60.0 ray"] {
            assert!(validate_version(bad).is_err(), "{bad}");
        }
    }
}
