//! The whois server list: which server to ask first for a domain (by its
//! TLD or a longer suffix), for an IP address and for an AS number.
//!
//! The format is whois-rust's (that of node-whois' `servers.json`) with one
//! addition: next to `"_": {"ip": …}` an optional `"asn"` server (default:
//! the `ip` one). Keys are domain suffixes (`"com"`, `"co.uk"`), `""` is the
//! server for anything else; values are `"host"`, `"host:port"` or
//! `{"host": …, "query": "… $addr\r\n", "punycode": false}`. The built-in
//! list is `actors/data/whois-servers.json`; the `whois_servers_file` setting
//! replaces it.

use std::net::IpAddr;

use serde_json::{Map, Value};
use whois_rust::validators::models::Host;
use whois_rust::{WhoIs, WhoIsServerValue};

/// The built-in server list.
pub const BUILTIN_SERVERS_JSON: &str = include_str!("../../data/whois-servers.json");

/// The port whois servers listen on unless told otherwise.
pub const WHOIS_PORT: u16 = 43;

/// A parsed server list.
#[derive(Debug, Clone)]
pub struct ServerList {
    tlds: WhoIs,
    ip: Server,
    asn: Server,
    known: Vec<Server>,
}

/// One whois server and how to phrase a query for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Query template (`$addr` is replaced by the query); `None`: the query
    /// alone.
    pub query: Option<String>,
    /// Send domains as punycode (true) or as Unicode.
    pub punycode: bool,
}

impl Server {
    fn from_value(value: &WhoIsServerValue) -> Server {
        let host = match value.host.host() {
            Host::Domain(name) => name.to_ascii_lowercase(),
            Host::IPv4(ip) => ip.to_string(),
            Host::IPv6(ip) => ip.to_string(),
        };
        Server {
            host,
            port: value.host.port().unwrap_or(WHOIS_PORT),
            query: value.query.clone(),
            punycode: value.punycode,
        }
    }

    /// A server given as `host` or `host:port` (IPv6 as `[addr]:port`).
    pub fn parse(text: &str) -> Option<Server> {
        if text.is_empty() || text.len() > 260 || text.chars().any(|c| c.is_whitespace()) {
            return None;
        }
        // A bare IPv6 address is a host, not `host:port`.
        if let Ok(IpAddr::V6(ip)) = text.parse::<IpAddr>() {
            return Some(Server {
                host: ip.to_string(),
                port: WHOIS_PORT,
                query: None,
                punycode: true,
            });
        }
        let value = WhoIsServerValue::from_string(text).ok()?;
        if value.host.port() == Some(0) {
            return None;
        }
        Some(Server::from_value(&value))
    }

    /// `host:port`, IPv6 in brackets: how the chain names the server.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The request line for `text` (ends with CRLF).
    pub fn request(&self, text: &str) -> String {
        let template = self.query.as_deref().unwrap_or("$addr\r\n");
        let mut request = template.replace("$addr", text);
        while request.ends_with(['\r', '\n']) {
            request.pop();
        }
        request.push_str("\r\n");
        request
    }

    fn same_place(&self, other: &Server) -> bool {
        self.host.eq_ignore_ascii_case(&other.host) && self.port == other.port
    }
}

impl ServerList {
    /// The built-in list.
    pub fn builtin() -> ServerList {
        ServerList::from_json(BUILTIN_SERVERS_JSON).expect("the built-in whois server list parses")
    }

    /// Parses a server list (see the module documentation for the format).
    pub fn from_json(text: &str) -> Result<ServerList, String> {
        let map: Map<String, Value> =
            serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))?;
        let defaults = map.get("_").and_then(Value::as_object).ok_or(
            "it needs a \"_\" object with the \"ip\" server: {\"_\": {\"ip\": \"whois.iana.org\"}}",
        )?;
        let server = |key: &str| -> Result<Option<Server>, String> {
            match defaults.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(value) => WhoIsServerValue::from_value(value)
                    .map(|v| Some(Server::from_value(&v)))
                    .map_err(|e| format!("\"_\".\"{key}\": {e}")),
            }
        };
        let ip = server("ip")?.ok_or("\"_\" needs an \"ip\" server")?;
        let asn = server("asn")?.unwrap_or_else(|| ip.clone());
        let tlds = WhoIs::from_string(text).map_err(|e| e.to_string())?;
        let mut known = vec![ip.clone(), asn.clone()];
        for (key, value) in &map {
            if key == "_" || value.is_null() {
                continue;
            }
            let value = WhoIsServerValue::from_value(value).map_err(|e| format!("{key:?}: {e}"))?;
            known.push(Server::from_value(&value));
        }
        Ok(ServerList {
            tlds,
            ip,
            asn,
            known,
        })
    }

    /// The first server for a domain (ASCII), by its longest listed suffix.
    pub fn for_domain(&self, domain: &str) -> Option<Server> {
        self.tlds
            .get_server_by_tld(&domain.to_ascii_lowercase())
            .map(Server::from_value)
    }

    /// The first server for an IP address.
    pub fn for_ip(&self) -> Server {
        self.ip.clone()
    }

    /// The first server for an AS number.
    pub fn for_asn(&self) -> Server {
        self.asn.clone()
    }

    /// A referral target, with the query settings of the list's entry for
    /// the same server when there is one.
    pub fn known(&self, server: Server) -> Server {
        self.known
            .iter()
            .find(|k| k.same_place(&server))
            .cloned()
            .unwrap_or(server)
    }
}

impl Default for ServerList {
    fn default() -> Self {
        ServerList::builtin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_list_routes_by_suffix_ip_and_asn() {
        let list = ServerList::builtin();
        assert_eq!(
            list.for_domain("example.COM").unwrap().address(),
            "whois.verisign-grs.com:43"
        );
        assert_eq!(
            list.for_domain("example.co.uk").unwrap().host,
            "whois.nic.uk"
        );
        assert_eq!(
            list.for_domain("example.unlisted").unwrap().host,
            "whois.iana.org"
        );
        assert_eq!(list.for_ip().host, "whois.iana.org");
        assert_eq!(list.for_asn().host, "whois.iana.org");
    }

    #[test]
    fn custom_lists_with_ports_templates_and_asn() {
        let list = ServerList::from_json(
            r#"{"_": {"ip": "127.0.0.1:4301", "asn": {"host": "127.0.0.1:4302", "query": "-r $addr\n"}},
                "test": "127.0.0.1:4303", "co.test": {"host": "whois.co.test", "punycode": false}}"#,
        )
        .unwrap();
        assert_eq!(list.for_ip().address(), "127.0.0.1:4301");
        assert_eq!(list.for_asn().request("AS64500"), "-r AS64500\r\n");
        assert_eq!(
            list.for_domain("a.b.test").unwrap().address(),
            "127.0.0.1:4303"
        );
        let co = list.for_domain("x.co.test").unwrap();
        assert!(!co.punycode);
        assert!(list.for_domain("example.com").is_none());
        // A referral to a listed server keeps that entry's template.
        let referred = Server::parse("127.0.0.1:4302").unwrap();
        assert_eq!(list.known(referred).query.as_deref(), Some("-r $addr\n"));
    }

    #[test]
    fn bad_lists_say_why() {
        let err = ServerList::from_json("[]").unwrap_err();
        assert!(err.starts_with("not a JSON object"), "{err}");
        let err = ServerList::from_json(r#"{"com": "whois.example"}"#).unwrap_err();
        assert!(err.contains("\"_\""), "{err}");
        let err = ServerList::from_json(r#"{"_": {"ip": "bad host!"}}"#).unwrap_err();
        assert!(err.starts_with("\"_\".\"ip\""), "{err}");
    }

    #[test]
    fn servers_parse_and_print() {
        let s = Server::parse("Whois.Example.NET").unwrap();
        assert_eq!(s.address(), "whois.example.net:43");
        assert_eq!(
            Server::parse("127.0.0.2:4343").unwrap().address(),
            "127.0.0.2:4343"
        );
        assert_eq!(
            Server::parse("2001:db8::43").unwrap().address(),
            "[2001:db8::43]:43"
        );
        assert_eq!(
            Server::parse("[2001:db8::43]:4343").unwrap().address(),
            "[2001:db8::43]:4343"
        );
        assert!(Server::parse("a b").is_none());
        assert!(Server::parse("").is_none());
        assert!(Server::parse("host:0").is_none());
        assert!(Server::parse("exa$mple.com").is_none());
        assert_eq!(Server::parse("x.test").unwrap().request("q"), "q\r\n");
    }
}
