//! The head's Ray dashboard (port 8265): its Ray version and its nodes.
//!
//! A tiny HTTP/1.0 GET over a TCP stream with a timeout is all it takes; the dashboard binds to
//! 127.0.0.1 unless the head was started with `--dashboard-host`, so callers must expect no
//! answer and carry on without one.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde::Deserialize;

/// The dashboard's port.
pub const DASHBOARD_PORT: u16 = 8265;

/// Why the dashboard gave nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// No connection or no answer in time.
    #[error("the head's dashboard did not answer: {0}")]
    Io(#[from] io::Error),
    /// An answer, but not a 200 with JSON.
    #[error("the head's dashboard answered {0}")]
    Http(String),
    /// JSON of another shape.
    #[error("the head's dashboard sent something unexpected: {0}")]
    Json(#[from] serde_json::Error),
}

/// `GET http://host:port/path` and the body, for a 200 answer.
pub fn http_get(
    host: &str,
    port: u16,
    path: &str,
    timeout: Duration,
) -> Result<String, DashboardError> {
    let addr = (host, port).to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("{host} does not resolve"))
    })?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    // One write: a server may answer (and close) as soon as it has the request line.
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.take(16 * 1024 * 1024).read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| DashboardError::Http("a truncated response".to_string()))?;
    let status_line = head.lines().next().unwrap_or_default();
    if status_line.split_whitespace().nth(1) != Some("200") {
        return Err(DashboardError::Http(status_line.to_string()));
    }
    Ok(body.to_string())
}

#[derive(Deserialize)]
struct VersionBody {
    ray_version: String,
}

/// The Ray version of the head, from `GET /api/version`.
pub fn parse_version(body: &str) -> Result<String, DashboardError> {
    Ok(serde_json::from_str::<VersionBody>(body)?.ray_version)
}

/// Asks the head's dashboard for its Ray version.
pub fn head_ray_version(host: &str, timeout: Duration) -> Result<String, DashboardError> {
    parse_version(&http_get(host, DASHBOARD_PORT, "/api/version", timeout)?)
}

/// One node as the head sees it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Node {
    /// Ray's node id.
    pub node_id: String,
    /// The node's address.
    pub node_ip: String,
    /// `ALIVE` or `DEAD`.
    pub state: String,
    /// Whether it is the head.
    #[serde(default)]
    pub is_head_node: bool,
    /// Its resources (`CPU`, memory, …).
    #[serde(default)]
    pub resources_total: std::collections::BTreeMap<String, f64>,
}

impl Node {
    /// CPUs it offers.
    pub fn cpus(&self) -> f64 {
        self.resources_total.get("CPU").copied().unwrap_or(0.0)
    }
}

#[derive(Deserialize)]
struct NodesBody {
    data: NodesData,
}
#[derive(Deserialize)]
struct NodesData {
    result: NodesResult,
}
#[derive(Deserialize)]
struct NodesResult {
    result: Vec<Node>,
}

/// The nodes, from `GET /api/v0/nodes`.
pub fn parse_nodes(body: &str) -> Result<Vec<Node>, DashboardError> {
    Ok(serde_json::from_str::<NodesBody>(body)?.data.result.result)
}

/// The cluster's alive nodes and their CPUs: "22 CPUs on 2 nodes".
pub fn alive_totals(nodes: &[Node]) -> (f64, usize) {
    let alive: Vec<&Node> = nodes.iter().filter(|n| n.state == "ALIVE").collect();
    (alive.iter().map(|n| n.cpus()).sum(), alive.len())
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
        assert!(nodes[0].is_head_node);
        assert_eq!(nodes[0].state, "ALIVE");
        assert_eq!(alive_totals(&nodes), (2.0, 1));
    }

    #[test]
    fn a_non_200_answer_is_an_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            if let Ok((mut conn, _)) = listener.accept() {
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(b"HTTP/1.1 404 Not Found\r\n\r\nnope");
            }
        });
        let err =
            http_get("127.0.0.1", port, "/api/version", Duration::from_secs(2)).expect_err("404");
        assert!(err.to_string().contains("404"), "{err}");
        let _ = server.join();
    }
}
