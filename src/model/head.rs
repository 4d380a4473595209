//! The Ray head's address: parsed from what a user types, displayed as `host:port`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The Ray GCS port a head listens on unless told otherwise.
pub const DEFAULT_HEAD_PORT: u16 = 6379;

/// In every head-address error, so the user sees a correct example.
pub const HEAD_ADDRESS_HINT: &str =
    "use host or host:port, e.g. 100.64.0.1 or desktop.tailnet.ts.net:6379";

/// The Ray head to join, parsed from `host`, `host:port`, `[v6]:port` or a bare IPv6 address (port
/// 6379 by default) and shown (and stored) as `host:port`, IPv6 in brackets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HeadAddress {
    /// IPv6 without brackets, a DNS name without a trailing dot.
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{given}` is not a head address: {why}")]
pub struct HeadAddressError {
    pub given: String,
    pub why: String,
}

impl HeadAddress {
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// Whether the head's address says Tailscale (its ranges, or a MagicDNS `….ts.net` name).
    pub fn is_tailscale(&self) -> bool {
        match self.ip() {
            Some(ip) => is_tailscale_ip(ip),
            None => self.host.to_ascii_lowercase().ends_with(".ts.net"),
        }
    }

    /// Whether the head, its name `resolved` to that address, is reached through Tailscale:
    /// joined only while Tailscale vouches, since anyone can answer on 100.64.0.1 in a café, and
    /// any name may resolve there (MagicDNS short names do).
    pub fn through_tailscale(&self, resolved: Option<IpAddr>) -> bool {
        self.is_tailscale() || resolved.is_some_and(is_tailscale_ip)
    }

    /// Whether the head may turn out to be reached through Tailscale: a name may resolve there.
    pub fn may_be_tailscale(&self) -> bool {
        self.ip().is_none_or(is_tailscale_ip)
    }
}

/// 100.64.0.0/10 (CGNAT) or fd7a:115c:a1e0::/48.
pub fn is_tailscale_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            o[0] == 100 && (o[1] & 0xc0) == 64
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            s[0] == 0xfd7a && s[1] == 0x115c && s[2] == 0xa1e0
        }
    }
}

impl FromStr for HeadAddress {
    type Err = HeadAddressError;

    /// Surrounding whitespace (a pasted value's) is ignored; inside it is refused.
    fn from_str(given: &str) -> Result<Self, Self::Err> {
        let (host, port) = host_and_port(given.trim()).map_err(|why| HeadAddressError {
            given: given.to_string(),
            why,
        })?;
        Ok(HeadAddress { host, port })
    }
}

fn host_and_port(s: &str) -> Result<(String, u16), String> {
    let hint = || HEAD_ADDRESS_HINT.to_string();
    if s.is_empty() {
        return Err(format!("it is empty; {HEAD_ADDRESS_HINT}"));
    }
    if s.chars().any(char::is_whitespace) {
        return Err(format!("it contains spaces; {HEAD_ADDRESS_HINT}"));
    }
    // A URL or a path.
    if s.contains('/') {
        return Err(hint());
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or_else(hint)?;
        let ip: Ipv6Addr = inside.parse().map_err(|_| {
            "the part in brackets must be an IPv6 address, e.g. [fd7a:115c:a1e0::1]:6379"
        })?;
        let port = match after {
            "" => DEFAULT_HEAD_PORT,
            _ => parse_port(after.strip_prefix(':').ok_or_else(hint)?)?,
        };
        return Ok((ip.to_string(), port));
    }
    if let Ok(ip) = s.parse::<Ipv6Addr>() {
        return Ok((ip.to_string(), DEFAULT_HEAD_PORT));
    }
    match s.rsplit_once(':') {
        Some((host, _)) if host.contains(':') => Err(
            "an IPv6 address with a port needs brackets, e.g. [fd7a:115c:a1e0::1]:6379".to_string(),
        ),
        Some((host, port)) => {
            let port = parse_port(port)?;
            Ok((check_host(host)?, port))
        }
        None => Ok((check_host(s)?, DEFAULT_HEAD_PORT)),
    }
}

fn parse_port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(port) if port > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(port),
        _ => Err(format!(
            "the port must be a number from 1 to 65535; {HEAD_ADDRESS_HINT}"
        )),
    }
}

/// An IPv4 address or an RFC 1123 host name, without a trailing dot.
fn check_host(host: &str) -> Result<String, String> {
    if host.is_empty() {
        return Err(format!("the host is missing; {HEAD_ADDRESS_HINT}"));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(ip.to_string());
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(format!(
            "the host must be an IP address or a name made of letters, digits, hyphens and dots \
             (each part 1 to 63 characters, not starting or ending with a hyphen); {HEAD_ADDRESS_HINT}"
        ));
    }
    // A last part all digits is a mistyped IPv4 address (`300.1.1.1`, `100.64.0`), not a TLD.
    if name
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "`{host}` is not a valid IPv4 address (four numbers 0 to 255, e.g. 100.64.0.1)"
        ));
    }
    Ok(name.to_string())
}

impl fmt::Display for HeadAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl TryFrom<String> for HeadAddress {
    type Error = HeadAddressError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<HeadAddress> for String {
    fn from(h: HeadAddress) -> String {
        h.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tailscale_heads_are_its_ranges_and_magicdns_names() {
        let tailscale = [
            "100.64.0.1",
            "100.127.255.254:6380",
            "[fd7a:115c:a1e0::1]:6379",
            "fd7a:115c:a1e0:ab12::9",
            "desktop.tail1234.ts.net",
            "Desktop.Tail1234.TS.NET.",
        ];
        let other = [
            "100.63.255.255",
            "100.128.0.1",
            "192.168.1.10",
            "127.0.0.1",
            "[fd7a:115c:a1e1::1]:6379",
            "::1",
            "desktop",
            "desktop.local",
            "ts.net.example.com",
            "notts.net",
        ];
        let cases = tailscale.map(|h| (h, true)).into_iter();
        for (given, expected) in cases.chain(other.map(|h| (h, false))) {
            let head: HeadAddress = given.parse().expect("valid");
            assert_eq!(head.is_tailscale(), expected, "{given}");
        }
    }
}
