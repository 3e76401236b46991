//! The client's network address, as the throttles count it.
//!
//! IPv6 addresses are counted by their /64 (one household or phone gets a whole /64, so single
//! addresses would give an attacker billions of fresh counters). The throttling layer
//! (`web::throttle`) works it out once per request, from the TCP peer or, behind a trusted
//! proxy, from `X-Forwarded-For`, and leaves it in the request for handlers.

use std::convert::Infallible;
use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr(pub String);

impl ClientAddr {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => ClientAddr(v4.to_string()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientAddr(v4.to_string()),
                None => {
                    let s = v6.segments();
                    ClientAddr(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
                }
            },
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Left by the throttling layer, which every route passes through.
        Ok(parts.extensions.get::<ClientAddr>().cloned().unwrap_or_else(|| ClientAddr("unknown".into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(ClientAddr::of("2001:db8:1:2:aaaa::1".parse().unwrap()).0, "2001:db8:1:2::/64");
        assert_eq!(ClientAddr::of("2001:db8:1:2:bbbb::9".parse().unwrap()).0, "2001:db8:1:2::/64");
        assert_eq!(ClientAddr::of("::ffff:192.0.2.7".parse().unwrap()).0, "192.0.2.7");
        assert_eq!(ClientAddr::of("192.0.2.7".parse().unwrap()).0, "192.0.2.7");
    }
}
