//! Who a request comes from: the client's address as the trusted ingress saw it, for the rate
//! limits keyed by address.
//!
//! Behind the ingress (nginx locally, ingress-nginx in Kubernetes) the TCP peer of every request
//! is the ingress. nginx writes the peer it saw into `X-Real-IP`, replacing whatever the client
//! sent, and appends it to `X-Forwarded-For`. So, with `TRUSTED_PROXY` on (the default), the
//! client's address is:
//!
//! 1. `X-Real-IP`; without it, the last entry of `X-Forwarded-For`; without either, the TCP peer;
//! 2. while that address is one of `TRUSTED_FORWARDERS` (our own web client, which calls the API
//!    through the ingress for a browser and forwards the browser's headers), the entry before it
//!    in `X-Forwarded-For`.
//!
//! Entries further left are what the client wrote itself and are never believed, so a client
//! cannot pick its address. Believing `X-Real-IP` is safe only because nothing but the ingress
//! reaches the services (NetworkPolicies in Kubernetes, the loopback interface locally); a
//! service reached directly runs with `TRUSTED_PROXY=false` and takes the TCP peer, which
//! [`crate::server::serve`] hands every request ([`axum::extract::ConnectInfo`]).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::config::{self, ConfigError};
use crate::error::ApiError;

/// Where client addresses are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddressSettings {
    /// `TRUSTED_PROXY` (default true): believe the ingress's `X-Real-IP` / `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// `TRUSTED_FORWARDERS` (default none): comma-separated addresses or CIDR ranges of our own
    /// services that call the API through the ingress on a client's behalf.
    pub trusted_forwarders: Arc<[AddressRange]>,
}

impl Default for ClientAddressSettings {
    /// Behind the ingress, no forwarders.
    fn default() -> Self {
        ClientAddressSettings {
            trust_proxy: true,
            trusted_forwarders: Arc::new([]),
        }
    }
}

impl ClientAddressSettings {
    /// Reads `TRUSTED_PROXY` and `TRUSTED_FORWARDERS`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let trust_proxy = config::flag("TRUSTED_PROXY", true)?;
        let forwarders = std::env::var("TRUSTED_FORWARDERS").unwrap_or_default();
        let trusted_forwarders =
            parse_ranges(&forwarders).map_err(|reason| ConfigError::Invalid {
                name: "TRUSTED_FORWARDERS",
                reason,
            })?;
        Ok(ClientAddressSettings {
            trust_proxy,
            trusted_forwarders,
        })
    }

    /// The client address of a request with `headers` from the TCP peer `peer`.
    pub fn address_of(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<ClientAddress> {
        if !self.trust_proxy {
            return peer.map(ClientAddress::new);
        }
        let mut hops: Vec<Option<IpAddr>> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(parse_hop)
            .collect();
        let real_ip = headers
            .get("x-real-ip")
            .and_then(|value| value.to_str().ok())
            .and_then(parse_hop);
        let mut address = match real_ip {
            Some(real_ip) => {
                // nginx appended the same address to X-Forwarded-For.
                if hops.last() == Some(&Some(real_ip)) {
                    hops.pop();
                }
                real_ip
            }
            None => match hops.pop() {
                Some(Some(last)) => last,
                _ => peer?,
            },
        };
        while self.is_forwarder(address) {
            match hops.pop() {
                Some(Some(before)) => address = before,
                _ => break,
            }
        }
        Some(ClientAddress::new(address))
    }

    fn is_forwarder(&self, address: IpAddr) -> bool {
        let address = ClientAddress::new(address).0;
        self.trusted_forwarders
            .iter()
            .any(|range| range.contains(address))
    }
}

/// One `X-Forwarded-For` entry or `X-Real-IP`: an address, maybe bracketed or with a port.
fn parse_hop(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| {
            let inner = text.strip_prefix('[')?.strip_suffix(']')?;
            inner.parse().ok()
        })
}

fn parse_ranges(text: &str) -> Result<Arc<[AddressRange]>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|range| !range.is_empty())
        .map(str::parse)
        .collect()
}

/// The address a request comes from (see the module docs). An extractor, given the service's
/// [`ClientAddressSettings`] by `FromRef`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    /// `address`, an IPv4-mapped IPv6 address being its IPv4 address.
    pub fn new(address: IpAddr) -> ClientAddress {
        match address {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientAddress(IpAddr::V4(v4)),
                None => ClientAddress(address),
            },
            IpAddr::V4(_) => ClientAddress(address),
        }
    }

    /// What rate limits key on: the IPv4 address, or the IPv6 address's /64 network, as one
    /// IPv6 subscriber is given a whole /64 and could otherwise take a new address per request.
    pub fn limit_key(&self) -> IpAddr {
        match self.0 {
            IpAddr::V4(_) => self.0,
            IpAddr::V6(v6) => {
                let network = u128::from(v6) & !(u128::MAX >> 64);
                IpAddr::V6(Ipv6Addr::from(network))
            }
        }
    }
}

impl<S> FromRequestParts<S> for ClientAddress
where
    S: Send + Sync,
    ClientAddressSettings: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip());
        ClientAddressSettings::from_ref(state)
            .address_of(&parts.headers, peer)
            .ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!(
                    "no client address: no proxy header and no peer address (is the service \
                     served with connect info?)"
                ))
            })
    }
}

/// An address, or a CIDR range of addresses: `10.0.0.0/8`, `fd00::/8`, `127.0.0.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    network: IpAddr,
    prefix: u8,
}

impl AddressRange {
    /// Whether `address` is in the range (an IPv4 range holds no IPv6 address, and back).
    pub fn contains(&self, address: IpAddr) -> bool {
        let (network, address, bits) = match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => (
                u128::from(u32::from(network)),
                u128::from(u32::from(address)),
                32,
            ),
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                (u128::from(network), u128::from(address), 128)
            }
            _ => return false,
        };
        let host_bits = bits - u32::from(self.prefix);
        let mask = u128::MAX.checked_shl(host_bits).unwrap_or(0);
        network & mask == address & mask
    }
}

impl FromStr for AddressRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("{text:?} is not an address or a CIDR range");
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network = ClientAddress::new(address.trim().parse().map_err(|_| invalid())?).0;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.trim().parse::<u8>().map_err(|_| invalid())?,
            None => bits,
        };
        if prefix > bits {
            return Err(invalid());
        }
        Ok(AddressRange { network, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    const PEER: &str = "10.1.1.1";

    fn address(settings: &ClientAddressSettings, pairs: &[(&'static str, &'static str)]) -> IpAddr {
        settings
            .address_of(&headers(pairs), Some(ip(PEER)))
            .unwrap()
            .0
    }

    fn with_forwarders(ranges: &str) -> ClientAddressSettings {
        ClientAddressSettings {
            trusted_forwarders: parse_ranges(ranges).unwrap(),
            ..ClientAddressSettings::default()
        }
    }

    #[test]
    fn behind_the_ingress_x_real_ip_wins_then_the_last_forwarded_hop_then_the_peer() {
        let settings = ClientAddressSettings::default();
        let real = [
            ("x-forwarded-for", "6.6.6.6, 1.2.3.4"),
            ("x-real-ip", "1.2.3.4"),
        ];
        assert_eq!(address(&settings, &real), ip("1.2.3.4"));
        let forwarded = [
            ("x-forwarded-for", "6.6.6.6, 7.7.7.7"),
            ("x-forwarded-for", "1.2.3.4"),
        ];
        assert_eq!(address(&settings, &forwarded), ip("1.2.3.4"));
        assert_eq!(address(&settings, &[]), ip(PEER));
        assert_eq!(address(&settings, &[("x-real-ip", "garbage")]), ip(PEER));
    }

    #[test]
    fn the_client_cannot_choose_its_address_with_forwarded_for() {
        let settings = ClientAddressSettings::default();
        for spoofed in ["1.1.1.1", "2.2.2.2, 3.3.3.3", "unknown"] {
            let mut map = HeaderMap::new();
            map.insert(
                "x-forwarded-for",
                format!("{spoofed}, 5.5.5.5").parse().unwrap(),
            );
            map.insert("x-real-ip", HeaderValue::from_static("5.5.5.5"));
            let address = settings.address_of(&map, Some(ip(PEER))).unwrap();
            assert_eq!(address.0, ip("5.5.5.5"), "{spoofed}");
        }
    }

    #[test]
    fn without_trust_only_the_peer_counts() {
        let settings = ClientAddressSettings {
            trust_proxy: false,
            ..ClientAddressSettings::default()
        };
        let pairs = [("x-real-ip", "1.2.3.4"), ("x-forwarded-for", "1.2.3.4")];
        assert_eq!(address(&settings, &pairs), ip(PEER));
        assert_eq!(settings.address_of(&HeaderMap::new(), None), None);
    }

    #[test]
    fn a_trusted_forwarder_is_looked_through_to_the_hop_before_it() {
        // Browser 8.8.8.8 (which claimed 6.6.6.6) → ingress → web client 10.0.3.7 → ingress.
        let settings = with_forwarders("10.0.0.0/16, 127.0.0.1");
        let pairs = [
            ("x-forwarded-for", "6.6.6.6, 8.8.8.8, 10.0.3.7"),
            ("x-real-ip", "10.0.3.7"),
        ];
        assert_eq!(address(&settings, &pairs), ip("8.8.8.8"));
        // Only our own hops are looked through.
        let stranger = [
            ("x-forwarded-for", "6.6.6.6, 10.1.3.7"),
            ("x-real-ip", "10.1.3.7"),
        ];
        assert_eq!(address(&settings, &stranger), ip("10.1.3.7"));
        // A forwarder with nothing before it is the address.
        assert_eq!(
            address(&settings, &[("x-real-ip", "127.0.0.1")]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn addresses_are_read_with_ports_and_brackets_and_mapped_to_ipv4() {
        assert_eq!(parse_hop(" 1.2.3.4:5678 "), Some(ip("1.2.3.4")));
        assert_eq!(parse_hop("[2001:db8::1]:443"), Some(ip("2001:db8::1")));
        assert_eq!(parse_hop("[2001:db8::1]"), Some(ip("2001:db8::1")));
        assert_eq!(parse_hop("unknown"), None);
        assert_eq!(ClientAddress::new(ip("::ffff:1.2.3.4")).0, ip("1.2.3.4"));
    }

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        let one = ClientAddress::new(ip("2001:db8:1:2:aaaa::1"));
        let same_network = ClientAddress::new(ip("2001:db8:1:2:bbbb::2"));
        let other_network = ClientAddress::new(ip("2001:db8:1:3::1"));
        assert_eq!(one.limit_key(), ip("2001:db8:1:2::"));
        assert_eq!(one.limit_key(), same_network.limit_key());
        assert_ne!(one.limit_key(), other_network.limit_key());
        assert_eq!(ClientAddress::new(ip("1.2.3.4")).limit_key(), ip("1.2.3.4"));
    }

    #[test]
    fn ranges_are_addresses_or_cidr() {
        let range: AddressRange = "10.0.0.0/8".parse().unwrap();
        assert!(range.contains(ip("10.255.0.1")) && !range.contains(ip("11.0.0.1")));
        assert!(!range.contains(ip("::1")));
        let single: AddressRange = "127.0.0.1".parse().unwrap();
        assert!(single.contains(ip("127.0.0.1")) && !single.contains(ip("127.0.0.2")));
        let all: AddressRange = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let v6: AddressRange = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        for bad in ["10.0.0.0/33", "::/129", "nope", "10.0.0.0/x"] {
            assert!(bad.parse::<AddressRange>().is_err(), "{bad}");
        }
        assert_eq!(parse_ranges(" , ").unwrap().len(), 0);
        assert!(parse_ranges("10.0.0.0/8, bad").is_err());
    }
}
