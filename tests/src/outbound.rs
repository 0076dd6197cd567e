//! `allowed_outbound_hosts`: which addresses a component may connect to.
//!
//! Follows Spin's form `<scheme>://<host>[:<port>]`, with `*` allowed for
//! the scheme, the host or the port, and a scheme's well-known port when
//! none is written.

use anyhow::{Context, Result, bail, ensure};

/// One allowed-host entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: Option<String>,
    host: Option<String>,
    port: Option<u16>,
}

fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "redis" | "rediss" => Some(6379),
        "http" => Some(80),
        "https" => Some(443),
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "mqtt" => Some(1883),
        _ => None,
    }
}

impl AllowedHost {
    /// Parses an entry after its templates were rendered.
    ///
    /// Fails on a missing scheme, a path, or a port that is not a number.
    pub fn parse(entry: &str) -> Result<Self> {
        let entry = entry.trim();
        let (scheme, rest) = entry
            .split_once("://")
            .with_context(|| format!("{entry:?} has no scheme (for example redis://)"))?;
        let rest = rest.trim_end_matches('/');
        ensure!(
            !rest.contains('/'),
            "{entry:?} has a path but is not allowed to"
        );
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        let scheme = (scheme != "*").then(|| scheme.to_owned());
        let port = match (port, &scheme) {
            (Some("*"), _) => None,
            (Some(port), _) => Some(
                port.parse()
                    .with_context(|| format!("port {port:?} in {entry:?} is not a number"))?,
            ),
            (None, Some(scheme)) => Some(
                well_known_port(scheme)
                    .with_context(|| format!("{entry:?} needs a port: {scheme} has no default"))?,
            ),
            (None, None) => bail!("{entry:?} needs a port when the scheme is '*'"),
        };
        Ok(Self {
            scheme,
            host: (host != "*").then(|| host.to_owned()),
            port,
        })
    }

    /// Whether this entry allows connecting to `address` (a URL such as
    /// `redis://user:pass@host:6379/0`).
    pub fn allows(&self, address: &str) -> bool {
        let Some((scheme, host, port)) = split_address(address) else {
            return false;
        };
        self.scheme.as_deref().is_none_or(|s| s == scheme)
            && self.host.as_deref().is_none_or(|h| h == host)
            && self
                .port
                .is_none_or(|p| Some(p) == port.or(well_known_port(scheme)))
    }
}

/// Splits an address URL into scheme, host and port.
fn split_address(address: &str) -> Option<(&str, &str, Option<u16>)> {
    let (scheme, rest) = address.split_once("://")?;
    let authority = rest.split('/').next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    match host_port.rsplit_once(':') {
        Some((host, port)) => Some((scheme, host, Some(port.parse().ok()?))),
        None => Some((scheme, host_port, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_entry_allows_its_address_only() {
        let allowed = AllowedHost::parse("redis://127.0.0.1:6379").unwrap();
        assert!(allowed.allows("redis://127.0.0.1:6379"));
        assert!(allowed.allows("redis://127.0.0.1:6379/1"));
        assert!(allowed.allows("redis://:secret@127.0.0.1:6379"));
        assert!(allowed.allows("redis://127.0.0.1"));
        assert!(!allowed.allows("redis://127.0.0.1:6380"));
        assert!(!allowed.allows("redis://10.0.0.1:6379"));
        assert!(!allowed.allows("rediss://127.0.0.1:6379"));
        assert!(!allowed.allows("not a url"));
    }

    #[test]
    fn wildcards_widen_each_part() {
        let allowed = AllowedHost::parse("redis://*:*").unwrap();
        assert!(allowed.allows("redis://example.com:1234"));
        assert!(!allowed.allows("http://example.com:1234"));
        let any = AllowedHost::parse("*://127.0.0.1:*").unwrap();
        assert!(any.allows("http://127.0.0.1:8080"));
    }

    #[test]
    fn malformed_entries_are_refused() {
        assert!(AllowedHost::parse("127.0.0.1:6379").is_err());
        assert!(AllowedHost::parse("redis://127.0.0.1:6379/1").is_err());
        assert!(AllowedHost::parse("redis://host:port").is_err());
        assert!(AllowedHost::parse("foo://host").is_err());
    }
}
