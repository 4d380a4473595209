//! The releases feed: GitHub's "latest release" of the project (or any address answering the
//! same JSON), asked once a day for the newest version. One GET with one timeout; the answer is
//! read into a [`Release`], nothing is downloaded or installed.

use std::time::Duration;

use serde::Deserialize;

use crate::model::{release_version, Release};

/// A release's JSON is a few kilobytes (its notes included); anything far larger is not one.
const BODY_LIMIT: u64 = 1024 * 1024;

/// The fields read of GitHub's release object.
#[derive(Deserialize)]
struct LatestRelease {
    tag_name: String,
    html_url: String,
}

/// The newest release `feed` names (`None`: a pre-release or a tag that is not a version), or
/// why it could not be read, in a line for the log. `timeout` bounds the whole exchange.
pub fn newest_release(feed: &str, timeout: Duration) -> Result<Option<Release>, String> {
    let body = crate::http::get(feed, "application/vnd.github+json", timeout, BODY_LIMIT)
        .map_err(|e| format!("{feed}: {e}"))?;
    parse_latest(&body).map_err(|e| format!("{feed}: {e}"))
}

/// GitHub's `GET /repos/OWNER/REPO/releases/latest`; a page that is not `https://` is no
/// release (the desktop's opener would run whatever it names).
pub fn parse_latest(body: &str) -> Result<Option<Release>, serde_json::Error> {
    let latest: LatestRelease = serde_json::from_str(body)?;
    let page = Some(latest.html_url).filter(|page| page.starts_with("https://"));
    Ok(release_version(&latest.tag_name)
        .zip(page)
        .map(|(version, page)| Release { version, page }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_tag_and_page_of_githubs_latest_release() {
        // The fields of GitHub's documented example, trimmed.
        let body = r#"{"url":"https://api.github.com/repos/octocat/Hello-World/releases/1",
            "html_url":"https://github.com/octocat/Hello-World/releases/v1.0.0",
            "id":1,"tag_name":"v1.0.0","name":"v1.0.0","draft":false,"prerelease":false}"#;
        let release = parse_latest(body).expect("parses").expect("a release");
        assert_eq!(release.version.to_string(), "1.0.0");
        assert_eq!(
            release.page,
            "https://github.com/octocat/Hello-World/releases/v1.0.0"
        );
        let pre = body.replace("\"v1.0.0\",\"name\"", "\"v1.1.0-rc.1\",\"name\"");
        assert_eq!(parse_latest(&pre).expect("parses"), None);
        assert!(parse_latest("{\"message\":\"Not Found\"}").is_err());
        let elsewhere = body.replace("https://github.com", "file:///Applications/Calculator.app?");
        assert_eq!(
            parse_latest(&elsewhere).expect("parses"),
            None,
            "not a web page"
        );
        assert!(parse_latest("<html>").is_err());
    }
}
