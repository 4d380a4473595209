//! Releases of this app: the newest the project's feed names, and what the menu offers when it
//! is newer than this build.

use serde::{Deserialize, Serialize};

/// A published release, as the feed names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: semver::Version,
    /// Its page, for the user to download it from.
    pub page: String,
}

/// One look at the releases feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateCheck {
    /// The newest release (`None`: the feed names none this build could update to, such as a
    /// pre-release), or why the feed could not be read.
    pub newest: Result<Option<Release>, String>,
    /// This copy was installed with Homebrew's cask, which must also do the update.
    pub homebrew: bool,
}

/// A release newer than this build, offered in the menu and `status --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateAvailable {
    /// `MAJOR.MINOR.PATCH`.
    pub version: String,
    pub page: String,
    /// Update with `brew upgrade --cask bittrader-worker`, not from the page.
    pub homebrew: bool,
}

/// This build's version, as Cargo gives it.
pub fn this_build() -> semver::Version {
    // Cargo refuses a manifest whose version is not semantic: this cannot fail.
    semver::Version::parse(env!("CARGO_PKG_VERSION")).unwrap_or(semver::Version::new(0, 0, 0))
}

/// A release tag (`v0.2.0`, `0.2.0`) as a version this build could update to: `None` for a
/// pre-release, build metadata aside, or anything that is not a version.
pub fn release_version(tag: &str) -> Option<semver::Version> {
    let tag = tag.trim();
    let version = semver::Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()?;
    version.pre.is_empty().then_some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_build_has_a_version() {
        assert_eq!(this_build().to_string(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn tags_are_read_as_versions_and_pre_releases_and_garbage_are_not() {
        let v = |s: &str| release_version(s).map(|v| v.to_string());
        assert_eq!(v("v0.2.0").as_deref(), Some("0.2.0"));
        assert_eq!(v("1.10.3").as_deref(), Some("1.10.3"));
        assert_eq!(v("v1.0.0+build.5").as_deref(), Some("1.0.0+build.5"));
        for tag in [
            "v0.3.0-rc.1",
            "nightly",
            "",
            "v1",
            "v1.2",
            "vv1.2.3",
            "1.2.3.4",
        ] {
            assert_eq!(v(tag), None, "{tag:?}");
        }
        assert!(release_version("v0.10.0") > release_version("v0.9.9"));
    }
}
