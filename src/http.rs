//! A plain HTTP(S) GET with one timeout and a bound on the body: the head's dashboard and the
//! releases feed. Blocking: callers run it off the driver's loop.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// No connection or no answer in time (or the name does not resolve, or TLS failed).
    #[error("{0}")]
    Unreachable(#[from] ureq::Error),
    /// An answer other than 200.
    #[error("answered {0}")]
    Status(u16),
}

/// The body of a 200 answer to `GET url` (at most `limit` bytes); `timeout` bounds the whole
/// exchange, name lookup and TLS included.
pub fn get(url: &str, accept: &str, timeout: Duration, limit: u64) -> Result<String, HttpError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(concat!("bittrader-worker/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut response = agent.get(url).header("Accept", accept).call()?;
    if response.status() != 200 {
        return Err(HttpError::Status(response.status().as_u16()));
    }
    Ok(response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_string()?)
}
