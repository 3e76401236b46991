//! The one way out: every fetch the server makes on someone else's say-so (a portal's
//! `jwks_uri`, sector document and back-channel logout URI; an upstream provider's endpoints; the
//! OCSP and CRL addresses inside certificates) goes through a client that refuses loopback,
//! private, link-local, CGNAT, multicast, unspecified, reserved and documentation addresses,
//! IPv6 unique-local and link-local, and IPv4 hidden in IPv6 forms, unless `[outbound] allow`
//! names them. Names are resolved once, by our resolver, and the connection goes to an address
//! that passed the check (no DNS rebinding between check and connect); addresses written into
//! URLs are checked before the request. No redirects; bounded time. Callers show registrants a
//! generic error; the log has the detail.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

/// The allow-list and the client built with it.
#[derive(Clone)]
pub struct Outbound {
    allow: Arc<Vec<IpNet>>,
    client: reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{0:?} is not an http(s) URL")]
    NotHttp(String),
    #[error("the address {0} is not reachable from this server (loopback, private or reserved)")]
    Forbidden(IpAddr),
}

impl Outbound {
    /// Built at start-up. A client without the guard must never stand in for it, so failing to
    /// build one (no TLS roots, say) stops the start.
    #[allow(clippy::expect_used)] // start-up only
    pub fn new(allow: Vec<IpNet>) -> Self {
        let allow = Arc::new(allow);
        let client = builder(&allow).build().expect("the guarded HTTP client can be built");
        Self { allow, client }
    }

    /// A client builder with the guard (the resolver, no redirects), for callers that need their
    /// own timeouts (upstream providers).
    pub fn builder(&self) -> reqwest::ClientBuilder {
        builder(&self.allow)
    }

    /// The guarded client, after checking an address written into the URL.
    pub fn client_for(&self, url: &str) -> Result<&reqwest::Client, Refused> {
        self.check_url(url)?;
        Ok(&self.client)
    }

    pub fn check_url(&self, url: &str) -> Result<(), Refused> {
        let parsed = url::Url::parse(url).map_err(|_| Refused::NotHttp(url.into()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Refused::NotHttp(url.into()));
        }
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(Refused::NotHttp(url.into())),
        };
        match literal {
            Some(ip) if !allowed(&self.allow, ip) => Err(Refused::Forbidden(ip)),
            _ => Ok(()),
        }
    }
}

fn builder(allow: &Arc<Vec<IpNet>>) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { allow: allow.clone() }))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("nixa/", env!("CARGO_PKG_VERSION")))
}

fn allowed(allow: &[IpNet], ip: IpAddr) -> bool {
    allow.iter().any(|n| n.contains(&ip)) || !forbidden(ip)
}

/// Addresses no outside party may make us call.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            // IPv4 inside IPv6 (mapped, compatible, NAT64): judged as the IPv4 address.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return forbidden_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
        }
    }
}

fn forbidden_v4(v4: Ipv4Addr) -> bool {
    let o = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local() // 169.254/16, the cloud metadata address among them
        || v4.is_unspecified()
        || v4.is_multicast()
        || v4.is_broadcast()
        || v4.is_documentation()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT 100.64/10
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18/15
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || o[0] >= 240 // reserved
}

struct GuardedResolver {
    allow: Arc<Vec<IpNet>>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ok: Vec<SocketAddr> = found.iter().copied().filter(|a| allowed(&allow, a.ip())).collect();
            if ok.is_empty() {
                let why: Box<dyn std::error::Error + Send + Sync> = match found.first() {
                    Some(a) => Box::new(Refused::Forbidden(a.ip())),
                    None => format!("{host} has no address").into(),
                };
                return Err(why);
            }
            let addrs: reqwest::dns::Addrs = Box::new(ok.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_addresses_an_attacker_would_aim_at() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
        ] {
            assert!(forbidden(bad.parse().unwrap()), "{bad}");
        }
        for good in ["8.8.8.8", "203.162.4.191", "2001:4860:4860::8888", "::ffff:8.8.8.8"] {
            assert!(!forbidden(good.parse().unwrap()), "{good}");
        }
    }

    #[test]
    fn urls_with_addresses_are_checked_and_the_allow_list_opens_them() {
        let guard = Outbound::new(Vec::new());
        assert!(matches!(guard.check_url("http://169.254.169.254/latest/meta-data"), Err(Refused::Forbidden(_))));
        assert!(matches!(guard.check_url("http://[::ffff:127.0.0.1]:8080/x"), Err(Refused::Forbidden(_))));
        assert!(matches!(guard.check_url("file:///etc/passwd"), Err(Refused::NotHttp(_))));
        assert!(guard.check_url("https://portal.gov.vn/jwks").is_ok(), "names are checked when resolved");
        let opened = Outbound::new(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(opened.check_url("http://127.0.0.1:9000/cb").is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_forbidden_addresses_are_refused() {
        let guard = Outbound::new(Vec::new());
        let err = guard.client.get("http://localhost:9/").send().await.unwrap_err();
        let chain = format!("{err:?}");
        assert!(chain.contains("Forbidden(127.0.0.1)") || chain.contains("Forbidden(::1)"), "{chain}");
    }
}
