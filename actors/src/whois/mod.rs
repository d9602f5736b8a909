//! WhoisActor: the whois subsystem. One message, [`WhoisLookup`], asks
//! about a domain name, an IP address or an AS number: first the server the
//! server list names for it, then each server the answers refer to
//! (registry → registrar, IANA → RIR), and returns every hop's raw answer
//! plus the common fields of the last one.
//!
//! whois-rust supplies the server-list format and the suffix routing; the
//! hops are done here, one exchange per server, so that the whole chain is
//! visible, a referral loop is caught, every answer is cut at a size limit
//! (and says so) and one deadline covers the whole lookup.

mod exchange;
mod parse;
mod servers;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, Context, Handler, Message, ResponseActFuture, Supervised};
use hickory_resolver::proto::rr::Name;
use schemars::JsonSchema;
use serde::Serialize;

pub use parse::{TextEncoding, WhoisFields};
pub use servers::{BUILTIN_SERVERS_JSON, Server, ServerList, WHOIS_PORT};

use self::exchange::{ExchangeError, exchange};
use crate::dns::{NameRules, check_domain_name};
use crate::error::{ActorError, ActorResult};
use crate::supervisor::{Health, guarded, guarded_future};

/// The default time a lookup may take, all hops together.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// The longest time a lookup may be given.
pub const MAX_TIMEOUT_MS: u64 = 120_000;
/// The most servers one lookup asks.
pub const MAX_HOPS: usize = 5;
/// The default size limit of one answer.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 256 * 1024;

/// Settings of the whois subsystem.
#[derive(Debug, Clone)]
pub struct WhoisConfig {
    /// Which server to ask first.
    pub servers: ServerList,
    /// Answers longer than this many bytes are cut.
    pub max_answer_bytes: usize,
}

impl Default for WhoisConfig {
    fn default() -> Self {
        WhoisConfig {
            servers: ServerList::builtin(),
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
        }
    }
}

/// Ask who holds a domain name, IP address or AS number.
#[derive(Debug, Clone, Message)]
#[rtype(result = "ActorResult<WhoisAnswer>")]
pub struct WhoisLookup {
    /// A domain name (Unicode allowed), an IPv4/IPv6 address or `AS64500`.
    pub query: String,
    /// `host` or `host:port` to ask first instead of the server list's choice.
    pub server: Option<String>,
    /// Follow referrals to further servers.
    pub follow_referrals: bool,
    /// Time budget for all hops together, in milliseconds.
    pub timeout_ms: u64,
}

/// What a query is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum QueryKind {
    /// A domain name.
    Domain,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// An autonomous system number.
    Asn,
}

/// One server asked, and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WhoisHop {
    /// The server, as `host:port`.
    pub server: String,
    /// The query line sent (without the final CRLF).
    pub query: String,
    /// The answer as the server sent it, decoded as `encoding` says.
    pub raw: String,
    /// Bytes received (at most the size limit).
    pub bytes: u64,
    /// True when the answer was longer than the size limit and was cut.
    pub truncated: bool,
    /// How the bytes were decoded: `utf-8`, or `latin-1` for answers that
    /// are not UTF-8.
    pub encoding: TextEncoding,
    /// The referral to another server this answer carries, as written
    /// (followed unless a warning says otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub referral: Option<String>,
    /// Milliseconds this exchange took.
    pub duration_ms: u64,
}

/// The answer to a whois lookup.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WhoisAnswer {
    /// The query as sent: domains in punycode, `AS` numbers upper-case.
    pub query: String,
    /// What the query is about: `domain`, `ipv4`, `ipv6` or `asn`.
    pub query_type: QueryKind,
    /// Every server asked, in order, with its raw answer.
    pub chain: Vec<WhoisHop>,
    /// Common fields parsed from the last answer of the chain, where present.
    pub fields: WhoisFields,
    /// True when a referral pointed back to a server already asked (the
    /// chain stops there).
    pub referral_loop: bool,
    /// What limited the answer: a referral loop, an answer cut at the size
    /// limit, a referral not followed, a later server that failed.
    pub warnings: Vec<String>,
    /// Milliseconds the whole lookup took.
    pub duration_ms: u64,
}

/// The whois subsystem actor.
pub struct WhoisActor {
    health: Arc<Health>,
    config: WhoisConfig,
}

impl WhoisActor {
    /// A new actor reporting its lifecycle into `health`.
    pub fn new(health: Arc<Health>, config: WhoisConfig) -> Self {
        WhoisActor { health, config }
    }
}

impl Actor for WhoisActor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        self.health.mark_running();
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> actix::Running {
        self.health.mark_down();
        actix::Running::Stop
    }
}

impl Supervised for WhoisActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.health.count_restart();
    }
}

impl Handler<WhoisLookup> for WhoisActor {
    type Result = ResponseActFuture<Self, ActorResult<WhoisAnswer>>;

    fn handle(&mut self, msg: WhoisLookup, ctx: &mut Self::Context) -> Self::Result {
        let config = self.config.clone();
        let plan = guarded(ctx, "planning a whois lookup", || plan(msg, &config));
        let max_bytes = self.config.max_answer_bytes;
        guarded_future(self, "a whois lookup", async move {
            run(plan?, &config.servers, max_bytes).await
        })
    }
}

/// A checked lookup, ready to send.
#[derive(Debug)]
struct Plan {
    /// The query in the form sent to punycode servers.
    query: String,
    kind: QueryKind,
    first: Server,
    follow: bool,
    timeout: Duration,
}

/// Recognizes the query and picks the first server.
fn plan(msg: WhoisLookup, config: &WhoisConfig) -> ActorResult<Plan> {
    if msg.timeout_ms == 0 || msg.timeout_ms > MAX_TIMEOUT_MS {
        return Err(ActorError::InvalidInput(format!(
            "timeout_ms: must be between 1 and {MAX_TIMEOUT_MS}, got {}",
            msg.timeout_ms
        )));
    }
    let (query, kind) = classify(&msg.query)?;
    let list = &config.servers;
    let first = match &msg.server {
        Some(text) => Server::parse(text).ok_or_else(|| {
            ActorError::InvalidInput(format!(
                "server: {text:?} is not a host name or IP address with an optional port \
                 (examples: whois.example.net, whois.example.net:43, 192.0.2.1:4343)"
            ))
        })?,
        None => match kind {
            QueryKind::Domain => list.for_domain(&query).ok_or_else(|| {
                ActorError::InvalidInput(format!(
                    "query: no whois server is known for {query:?}: the server list has no \
                     entry for its suffix and no \"\" default; pass `server`"
                ))
            })?,
            QueryKind::Ipv4 | QueryKind::Ipv6 => list.for_ip(),
            QueryKind::Asn => list.for_asn(),
        },
    };
    Ok(Plan {
        query,
        kind,
        first,
        follow: msg.follow_referrals,
        timeout: Duration::from_millis(msg.timeout_ms),
    })
}

/// What a query is: an IP address, `AS<number>` or a domain name.
fn classify(raw: &str) -> ActorResult<(String, QueryKind)> {
    let invalid = |message: String| ActorError::InvalidInput(format!("query: {message}"));
    if raw.is_empty() {
        return Err(invalid("must not be empty".into()));
    }
    match raw.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => return Ok((ip.to_string(), QueryKind::Ipv4)),
        Ok(IpAddr::V6(ip)) => return Ok((ip.to_string(), QueryKind::Ipv6)),
        Err(_) => {}
    }
    if let Some(digits) = raw.strip_prefix("AS").or_else(|| raw.strip_prefix("as"))
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        return match digits.parse::<u32>() {
            Ok(number) => Ok((format!("AS{number}"), QueryKind::Asn)),
            Err(_) => Err(invalid(format!(
                "{raw:?} is not a valid AS number (AS0 to AS4294967295)"
            ))),
        };
    }
    if raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!(
            "{raw:?} is not a domain name, IP address or AS number; write AS numbers as AS{raw}"
        )));
    }
    let ascii = check_domain_name("query", raw, NameRules::Host)?;
    Ok((ascii.to_ascii_lowercase(), QueryKind::Domain))
}

/// The text of the query for one server: Unicode for servers that do not
/// take punycode.
fn query_text(plan: &Plan, server: &Server) -> String {
    if plan.kind == QueryKind::Domain
        && !server.punycode
        && let Ok(name) = Name::from_ascii(&plan.query)
    {
        return name.to_utf8().trim_end_matches('.').to_string();
    }
    plan.query.clone()
}

/// Asks the first server, then follows referrals within the deadline.
async fn run(plan: Plan, list: &ServerList, max_bytes: usize) -> ActorResult<WhoisAnswer> {
    let started = Instant::now();
    let deadline = started + plan.timeout;
    let mut chain: Vec<WhoisHop> = Vec::new();
    let mut warnings = Vec::new();
    let mut referral_loop = false;
    let mut asked: Vec<Server> = Vec::new();
    let mut server = plan.first.clone();
    loop {
        let address = server.address();
        let request = server.request(&query_text(&plan, &server));
        let hop_started = Instant::now();
        let received = match exchange(&server.host, server.port, &request, deadline, max_bytes)
            .await
        {
            Ok(received) => received,
            Err(error) => {
                let why = match &error {
                    ExchangeError::Timeout => format!(
                        "{address} did not answer within the {} ms budget",
                        plan.timeout.as_millis()
                    ),
                    ExchangeError::Failed(why) => format!("{address}: {why}"),
                };
                let Some(last) = chain.last() else {
                    return Err(match error {
                        ExchangeError::Timeout => {
                            ActorError::Timeout(format!("whois lookup of {}: {why}", plan.query))
                        }
                        ExchangeError::Failed(_) => {
                            ActorError::Upstream(format!("whois lookup of {}: {why}", plan.query))
                        }
                    });
                };
                warnings.push(format!(
                    "{why}; the chain ends with the answer of {}",
                    last.server
                ));
                break;
            }
        };
        let (raw, encoding) = parse::decode(&received.bytes, received.truncated);
        if received.truncated {
            warnings.push(format!(
                "the answer of {address} was longer than {max_bytes} bytes and was cut"
            ));
        }
        let referral = parse::find_referral(&raw);
        chain.push(WhoisHop {
            server: address.clone(),
            query: request.trim_end_matches(['\r', '\n']).to_string(),
            raw,
            bytes: received.bytes.len() as u64,
            truncated: received.truncated,
            encoding,
            referral: referral.clone(),
            duration_ms: hop_started.elapsed().as_millis() as u64,
        });
        asked.push(server.clone());
        let Some(referral) = referral else { break };
        if !plan.follow {
            break;
        }
        let next = match parse::referral_server(&referral) {
            Ok(next) => list.known(next),
            Err(why) => {
                warnings.push(format!(
                    "{address} refers to {referral:?}, which is not followed: {why}"
                ));
                break;
            }
        };
        if next.host.eq_ignore_ascii_case(&server.host) && next.port == server.port {
            // A server naming itself: the chain is complete.
            break;
        }
        if asked
            .iter()
            .any(|s| s.host.eq_ignore_ascii_case(&next.host) && s.port == next.port)
        {
            referral_loop = true;
            warnings.push(format!(
                "referral loop: {address} refers back to {}, which was already asked; \
                 the chain stops here",
                next.address()
            ));
            break;
        }
        if chain.len() >= MAX_HOPS {
            warnings.push(format!(
                "stopped after {MAX_HOPS} servers; {address} refers further to {}",
                next.address()
            ));
            break;
        }
        server = next;
    }
    let fields = chain
        .last()
        .map(|hop| parse::parse_fields(&hop.raw))
        .unwrap_or_default();
    Ok(WhoisAnswer {
        query: plan.query,
        query_type: plan.kind,
        chain,
        fields,
        referral_loop,
        warnings,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(query: &str) -> String {
        match classify(query) {
            Err(ActorError::InvalidInput(message)) => message,
            other => panic!("expected InvalidInput for {query:?}, got {other:?}"),
        }
    }

    #[test]
    fn queries_are_recognized_and_normalized() {
        assert_eq!(
            classify("Example.COM").unwrap(),
            ("example.com".into(), QueryKind::Domain)
        );
        assert_eq!(
            classify("münchen.de").unwrap(),
            ("xn--mnchen-3ya.de".into(), QueryKind::Domain)
        );
        assert_eq!(
            classify("192.0.2.1").unwrap(),
            ("192.0.2.1".into(), QueryKind::Ipv4)
        );
        assert_eq!(
            classify("2001:DB8::1").unwrap(),
            ("2001:db8::1".into(), QueryKind::Ipv6)
        );
        assert_eq!(
            classify("as64500").unwrap(),
            ("AS64500".into(), QueryKind::Asn)
        );
        assert_eq!(classify("AS4294967295").unwrap().0, "AS4294967295");
    }

    #[test]
    fn bad_queries_say_why() {
        assert_eq!(invalid(""), "query: must not be empty");
        assert_eq!(
            invalid("AS4294967296"),
            "query: \"AS4294967296\" is not a valid AS number (AS0 to AS4294967295)"
        );
        assert_eq!(
            invalid("64500"),
            "query: \"64500\" is not a domain name, IP address or AS number; write AS numbers as AS64500"
        );
        assert_eq!(
            invalid("example.com\r\nsecond query"),
            "query: \"example.com\\r\\nsecond query\" contains '\\r'; a domain name has no spaces or control characters"
        );
    }

    /// A message whose handler panics, as a bug in a lookup would.
    #[derive(Message)]
    #[rtype(result = "ActorResult<()>")]
    struct Explode;

    impl Handler<Explode> for WhoisActor {
        type Result = ResponseActFuture<Self, ActorResult<()>>;

        fn handle(&mut self, _msg: Explode, _ctx: &mut Self::Context) -> Self::Result {
            guarded_future(self, "a whois lookup", async { panic!("bug in a lookup") })
        }
    }

    #[actix::test]
    async fn a_panicking_lookup_is_an_error_and_the_actor_restarts() {
        let health = Arc::new(Health::default());
        let for_actor = health.clone();
        let addr =
            actix::Supervisor::start(move |_| WhoisActor::new(for_actor, WhoisConfig::default()));
        let answer = addr.send(Explode).await.expect("the caller gets an answer");
        assert_eq!(
            answer,
            Err(ActorError::Internal(
                "a whois lookup failed inside termbridge; the subsystem is restarting".into()
            ))
        );
        let answer = addr
            .send(WhoisLookup {
                query: String::new(),
                server: None,
                follow_referrals: true,
                timeout_ms: 1000,
            })
            .await
            .expect("the restarted actor answers");
        assert_eq!(
            answer,
            Err(ActorError::InvalidInput("query: must not be empty".into()))
        );
        assert_eq!(health.restarts(), 1);
    }

    #[test]
    fn unicode_goes_to_servers_that_want_it() {
        let plan = Plan {
            query: "xn--mnchen-3ya.de".into(),
            kind: QueryKind::Domain,
            first: Server::parse("whois.test").unwrap(),
            follow: true,
            timeout: Duration::from_secs(1),
        };
        let mut server = Server::parse("whois.test").unwrap();
        assert_eq!(query_text(&plan, &server), "xn--mnchen-3ya.de");
        server.punycode = false;
        assert_eq!(query_text(&plan, &server), "münchen.de");
    }
}

crate::fault_injection!(WhoisActor, "the whois subsystem");
