//! The head's Ray dashboard (port 8265): its Ray version and nodes, by a plain HTTP GET with one
//! timeout. It listens on 127.0.0.1 unless told otherwise, so callers expect no answer.

use std::time::Duration;

use serde::Deserialize;

use crate::http::HttpError;

pub const DASHBOARD_PORT: u16 = 8265;

/// The nodes of a large cluster fit many times over.
const BODY_LIMIT: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// No connection or no answer in time (or the name does not resolve).
    #[error("the head's dashboard did not answer: {0}")]
    Unreachable(#[from] ureq::Error),
    #[error("the head's dashboard answered {0}")]
    Http(String),
    #[error("the head's dashboard sent something unexpected: {0}")]
    Json(#[from] serde_json::Error),
}

impl From<HttpError> for DashboardError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Unreachable(e) => DashboardError::Unreachable(e),
            HttpError::Status(code) => DashboardError::Http(code.to_string()),
        }
    }
}

/// The body of a 200 answer; `timeout` bounds the whole exchange, name lookup included.
pub fn http_get(
    host: &str,
    port: u16,
    path: &str,
    timeout: Duration,
) -> Result<String, DashboardError> {
    let url = url(host, port, path);
    Ok(crate::http::get(
        &url,
        "application/json",
        timeout,
        BODY_LIMIT,
    )?)
}

/// A bare IPv6 address in brackets.
pub fn url(host: &str, port: u16, path: &str) -> String {
    if host.contains(':') {
        format!("http://[{host}]:{port}{path}")
    } else {
        format!("http://{host}:{port}{path}")
    }
}

/// What "Open Ray dashboard" opens.
pub fn page_url(host: &str) -> String {
    url(host, DASHBOARD_PORT, "")
}

#[derive(Deserialize)]
struct VersionBody {
    ray_version: String,
}

/// `GET /api/version`.
pub fn parse_version(body: &str) -> Result<String, DashboardError> {
    Ok(serde_json::from_str::<VersionBody>(body)?.ray_version)
}

pub fn head_ray_version(host: &str, timeout: Duration) -> Result<String, DashboardError> {
    parse_version(&http_get(host, DASHBOARD_PORT, "/api/version", timeout)?)
}

/// The head's Python minor version (3.X) from `GET /nodes?view=summary`: its raylet runs from
/// `…/lib/python3.X/site-packages/ray/…`, the only place the dashboard says it.
pub fn parse_head_python_minor(body: &str) -> Option<u32> {
    let summary: serde_json::Value = serde_json::from_str(body).ok()?;
    let head = summary["data"]["summary"]
        .as_array()?
        .iter()
        .find(|node| node["raylet"]["isHeadNode"] == true)?;
    head["cmdline"].as_array()?.iter().find_map(|arg| {
        let (_, rest) = arg.as_str()?.split_once("/lib/python3.")?;
        rest.split_once('/')?.0.parse().ok()
    })
}

pub fn head_python_minor(host: &str, timeout: Duration) -> Option<u32> {
    let body = http_get(host, DASHBOARD_PORT, "/nodes?view=summary", timeout).ok()?;
    parse_head_python_minor(&body)
}

/// One node as the head sees it (the fields read).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Node {
    pub state: String,
    #[serde(default)]
    pub resources_total: std::collections::BTreeMap<String, f64>,
}

/// `GET /api/v0/nodes`.
pub fn parse_nodes(body: &str) -> Result<Vec<Node>, DashboardError> {
    let mut answer: serde_json::Value = serde_json::from_str(body)?;
    let nodes = answer
        .pointer_mut("/data/result/result")
        .map(serde_json::Value::take)
        .unwrap_or_default();
    Ok(serde_json::from_value(nodes)?)
}

/// The alive nodes' CPUs and count: "22 CPUs on 2 nodes".
pub fn alive_totals(nodes: &[Node]) -> (f64, usize) {
    let alive: Vec<&Node> = nodes.iter().filter(|n| n.state == "ALIVE").collect();
    let cpus = |n: &&Node| n.resources_total.get("CPU").copied().unwrap_or(0.0);
    (alive.iter().map(cpus).sum(), alive.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version_of_a_real_260_head() {
        let body = include_str!("../tests/fixtures/ray260_dashboard_api_version.json");
        assert_eq!(parse_version(body).expect("parse"), "2.60.0");
    }

    #[test]
    fn reads_the_nodes_of_a_real_260_head() {
        let body = include_str!("../tests/fixtures/ray260_dashboard_api_v0_nodes.json");
        let nodes = parse_nodes(body).expect("parse");
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].state, "ALIVE");
        assert_eq!(alive_totals(&nodes), (2.0, 1));
    }

    /// A one-shot server on loopback that answers `reply` to the first request.
    fn serve_once(reply: &'static [u8]) -> (u16, std::thread::JoinHandle<()>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            if let Ok((mut conn, _)) = listener.accept() {
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(reply);
            }
        });
        (port, server)
    }

    #[test]
    fn a_200_answer_gives_the_body() {
        let (port, server) = serve_once(
            b"HTTP/1.1 200 OK\r\nContent-Length: 25\r\n\r\n{\"ray_version\": \"2.60.0\"}",
        );
        let body =
            http_get("127.0.0.1", port, "/api/version", Duration::from_secs(2)).expect("200");
        assert_eq!(parse_version(&body).expect("parse"), "2.60.0");
        let _ = server.join();
    }

    #[test]
    fn a_silent_server_times_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let start = std::time::Instant::now();
        let err = http_get("127.0.0.1", port, "/", Duration::from_millis(300)).expect_err("silent");
        assert!(matches!(err, DashboardError::Unreachable(_)), "{err}");
        assert!(start.elapsed() < Duration::from_secs(3));
        drop(listener);
    }

    #[test]
    fn a_non_200_answer_is_an_error() {
        let (port, server) = serve_once(b"HTTP/1.1 404 Not Found\r\n\r\nnope");
        let err =
            http_get("127.0.0.1", port, "/api/version", Duration::from_secs(2)).expect_err("404");
        assert!(err.to_string().contains("404"), "{err}");
        let _ = server.join();
    }

    /// Recorded from a real Ray 2.60.0 head (`GET /nodes?view=summary`; the steering repo's
    /// shared fixtures list it as a real response).
    #[test]
    fn the_heads_python_is_read_from_its_raylet_path() {
        let body = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/ray260_dashboard_nodes_view_summary.json"
        ))
        .expect("fixture");
        assert_eq!(parse_head_python_minor(&body), Some(11));
        assert_eq!(parse_head_python_minor("{}"), None);
        assert_eq!(
            parse_head_python_minor(
                r#"{"data":{"summary":[{"raylet":{"isHeadNode":true},"cmdline":["/x/lib/python3.1x/y"]}]}}"#
            ),
            None,
            "not a version"
        );
    }
}
