//! DnsActor: the DNS subsystem. One message, [`Lookup`], asks one question
//! of one DNS server (or the configured/system servers in turn) and answers
//! with what the server said: response code, records with their TTLs as
//! served, typed fields, time taken.
//!
//! Lookups go through hickory-resolver's name-server pool, one pool per
//! lookup: no cache, no search list, no CNAME chasing, so the answer is the
//! server's own (a truncated UDP answer is retried over TCP, as `dig`
//! does). NXDOMAIN and empty answers are answers, not errors; a server that
//! does not answer in time is a `Timeout`.

mod names;
mod records;
mod resolve;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, Context, Handler, Message, ResponseActFuture, Supervised};
use futures::StreamExt;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverOpts, ServerOrderingStrategy,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::xfer::DnsHandle;
use hickory_resolver::net::{DnsError, NetError, NoRecords};
use hickory_resolver::proto::op::{DnsRequestOptions, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::{NameServerPool, PoolContext, TlsConfig};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use names::{
    DNS_PORT, MAX_LABEL_LEN, MAX_NAME_LEN, NameRules, check_domain_name, parse_record_type,
    parse_server, type_name,
};
pub use records::{DnsRecord, RecordFields};
pub use resolve::{Family, MAX_RESOLVE_TIMEOUT_MS, ResolveHost, ReverseName};

use crate::error::{ActorError, ActorResult};
use crate::supervisor::{Health, guarded, guarded_future};

/// The default time a lookup may take.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;
/// The longest time a lookup may be given.
pub const MAX_TIMEOUT_MS: u64 = 60_000;

/// Settings of the DNS subsystem.
#[derive(Debug, Clone, Default)]
pub struct DnsConfig {
    /// Servers asked when a lookup names none, in order. Empty: the system's
    /// (resolv.conf), read at each lookup.
    pub servers: Vec<SocketAddr>,
}

/// The transport a lookup uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DnsProtocol {
    /// UDP; an answer truncated by the server is asked again over TCP.
    #[default]
    Udp,
    /// TCP only.
    Tcp,
}

impl DnsProtocol {
    fn as_str(self) -> &'static str {
        match self {
            DnsProtocol::Udp => "udp",
            DnsProtocol::Tcp => "tcp",
        }
    }
}

/// Look a name up: one question to one DNS server.
#[derive(Debug, Clone, Message)]
#[rtype(result = "ActorResult<LookupAnswer>")]
pub struct Lookup {
    /// A domain name, or an IP address for a reverse lookup.
    pub name: String,
    /// Record type name (`A`, `MX`, `TYPE65`…), any case.
    pub record_type: String,
    /// `ip` or `ip:port`; `None` = the configured or system servers.
    pub server: Option<String>,
    /// UDP (with TCP fallback on truncation) or TCP.
    pub protocol: DnsProtocol,
    /// Time budget for the whole lookup, in milliseconds.
    pub timeout_ms: u64,
}

/// What a DNS server answered.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct LookupAnswer {
    /// The name asked for, fully qualified with the final dot; for a reverse
    /// lookup the `in-addr.arpa` or `ip6.arpa` name.
    pub name: String,
    /// The record type asked for (`PTR` for a reverse lookup).
    pub record_type: String,
    /// For a reverse lookup: the IP address that was given as `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub reverse_of: Option<String>,
    /// The server that answered, as `ip:port`.
    pub server: String,
    /// The transport asked for.
    pub protocol: DnsProtocol,
    /// The DNS response code: `NoError`, `NXDomain` (no such name),
    /// `ServFail`, `Refused`, `FormErr`, `NotImp`…
    pub response_code: String,
    /// The answer section, in the order served; empty for NXDOMAIN or when
    /// the name has no records of this type.
    pub records: Vec<DnsRecord>,
    /// The authority section (e.g. the zone's SOA on NXDOMAIN or an empty
    /// answer), when the server sent one.
    pub authority: Vec<DnsRecord>,
    /// Milliseconds from sending the question to the answer.
    pub duration_ms: u64,
}

/// The DNS subsystem actor.
pub struct DnsActor {
    health: Arc<Health>,
    config: DnsConfig,
}

impl DnsActor {
    /// A new actor reporting its lifecycle into `health`.
    pub fn new(health: Arc<Health>, config: DnsConfig) -> Self {
        DnsActor { health, config }
    }
}

impl Actor for DnsActor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        self.health.mark_running();
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> actix::Running {
        self.health.mark_down();
        actix::Running::Stop
    }
}

impl Supervised for DnsActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.health.count_restart();
    }
}

impl Handler<Lookup> for DnsActor {
    type Result = ResponseActFuture<Self, ActorResult<LookupAnswer>>;

    fn handle(&mut self, msg: Lookup, ctx: &mut Self::Context) -> Self::Result {
        let config = self.config.clone();
        let plan = guarded(ctx, "planning a DNS lookup", || plan(msg, &config));
        guarded_future(self, "a DNS lookup", async move { run(plan?).await })
    }
}

/// A checked lookup, ready to send.
#[derive(Debug)]
struct Plan {
    name: Name,
    reverse_of: Option<IpAddr>,
    record_type: RecordType,
    servers: Vec<SocketAddr>,
    protocol: DnsProtocol,
    timeout: Duration,
}

fn plan(msg: Lookup, config: &DnsConfig) -> ActorResult<Plan> {
    if msg.timeout_ms == 0 || msg.timeout_ms > MAX_TIMEOUT_MS {
        return Err(ActorError::InvalidInput(format!(
            "timeout_ms: must be between 1 and {MAX_TIMEOUT_MS}, got {}",
            msg.timeout_ms
        )));
    }
    let mut record_type = parse_record_type(&msg.record_type)?;
    let (name, reverse_of) = match msg.name.parse::<IpAddr>() {
        Ok(ip) => {
            // An address asks for its PTR unless another type was named.
            if record_type == RecordType::A {
                record_type = RecordType::PTR;
            }
            (Name::from(ip), Some(ip))
        }
        Err(_) => {
            let ascii = check_domain_name("name", &msg.name, NameRules::Dns)?;
            let name = if ascii.is_empty() {
                Name::root()
            } else {
                Name::from_ascii(format!("{ascii}.")).map_err(|e| {
                    ActorError::InvalidInput(format!("name: {:?} is not valid: {e}", msg.name))
                })?
            };
            (name, None)
        }
    };
    let servers = match &msg.server {
        Some(raw) => vec![parse_server(raw)?],
        None => default_servers(config)?,
    };
    Ok(Plan {
        name,
        reverse_of,
        record_type,
        servers,
        protocol: msg.protocol,
        timeout: Duration::from_millis(msg.timeout_ms),
    })
}

/// The configured servers, else the system's.
pub(crate) fn default_servers(config: &DnsConfig) -> ActorResult<Vec<SocketAddr>> {
    if !config.servers.is_empty() {
        return Ok(config.servers.clone());
    }
    let (system, _) = hickory_resolver::system_conf::read_system_conf().map_err(|e| {
        ActorError::Upstream(format!(
            "no server was given and the system DNS configuration cannot be read ({e}); \
             pass `server`"
        ))
    })?;
    let mut servers: Vec<SocketAddr> = Vec::new();
    for ns in system.name_servers() {
        let port = ns.connections.first().map(|c| c.port).unwrap_or(DNS_PORT);
        let addr = SocketAddr::new(ns.ip, port);
        if !servers.contains(&addr) {
            servers.push(addr);
        }
    }
    if servers.is_empty() {
        return Err(ActorError::Upstream(
            "no server was given and the system DNS configuration lists none; pass `server`"
                .to_string(),
        ));
    }
    Ok(servers)
}

/// What one server said.
struct Reply {
    code: ResponseCode,
    answers: Vec<Record>,
    authority: Vec<Record>,
}

/// Why one server gave no reply.
enum Failure {
    Timeout,
    Other(String),
}

/// Asks the plan's servers in turn until one replies, sharing the time
/// budget between them.
async fn run(plan: Plan) -> ActorResult<LookupAnswer> {
    let deadline = Instant::now() + plan.timeout;
    let question = format!("{} {}", plan.name.to_ascii(), type_name(plan.record_type));
    let mut failures = Vec::new();
    let mut only_timeouts = true;
    let count = plan.servers.len();
    for (n, &server) in plan.servers.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let budget = left / (count - n) as u32;
        let started = Instant::now();
        match ask(server, &plan, budget).await {
            Ok(reply) => {
                return Ok(LookupAnswer {
                    name: plan.name.to_ascii(),
                    record_type: type_name(plan.record_type),
                    reverse_of: plan.reverse_of.map(|ip| ip.to_string()),
                    server: server.to_string(),
                    protocol: plan.protocol,
                    response_code: code_name(reply.code),
                    records: reply.answers.iter().map(records::to_dns_record).collect(),
                    authority: reply.authority.iter().map(records::to_dns_record).collect(),
                    duration_ms: started.elapsed().as_millis() as u64,
                });
            }
            Err(Failure::Timeout) => failures.push(format!(
                "{server} ({}) did not answer within {} ms",
                plan.protocol.as_str(),
                budget.as_micros().div_ceil(1000)
            )),
            Err(Failure::Other(why)) => {
                only_timeouts = false;
                failures.push(format!("{server} ({}): {why}", plan.protocol.as_str()));
            }
        }
    }
    if failures.is_empty() {
        failures.push("no time was left to ask a server".to_string());
    }
    let details = failures.join("; ");
    if only_timeouts {
        Err(ActorError::Timeout(format!(
            "no answer for {question} within {} ms: {details}",
            plan.timeout.as_millis()
        )))
    } else {
        Err(ActorError::Upstream(format!(
            "the lookup of {question} failed: {details}"
        )))
    }
}

/// One question to one server through a fresh hickory name-server pool.
async fn ask(server: SocketAddr, plan: &Plan, budget: Duration) -> Result<Reply, Failure> {
    let mut options = ResolverOpts::default();
    options.timeout = budget;
    options.attempts = 1;
    options.num_concurrent_reqs = 1;
    options.cache_size = 0;
    options.use_hosts_file = ResolveHosts::Never;
    options.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
    let connection = |mut config: ConnectionConfig| {
        config.port = server.port();
        config
    };
    let connections = match plan.protocol {
        DnsProtocol::Udp => vec![
            connection(ConnectionConfig::udp()),
            connection(ConnectionConfig::tcp()),
        ],
        DnsProtocol::Tcp => vec![connection(ConnectionConfig::tcp())],
    };
    let tls = TlsConfig::new().map_err(|e| Failure::Other(e.to_string()))?;
    let context = Arc::new(PoolContext::new(options, tls));
    let pool = NameServerPool::from_config(
        [NameServerConfig::new(server.ip(), true, connections)],
        context,
        TokioRuntimeProvider::default(),
    );
    let mut request = DnsRequestOptions::default();
    request.use_edns = true;
    request.recursion_desired = true;
    let mut responses = pool.lookup(Query::query(plan.name.clone(), plan.record_type), request);
    match tokio::time::timeout(budget, responses.next()).await {
        Err(_) => Err(Failure::Timeout),
        Ok(None) => Err(Failure::Other(
            "the resolver ended without an answer".into(),
        )),
        Ok(Some(Ok(response))) => Ok(Reply {
            code: response.response_code,
            answers: response.answers.clone(),
            authority: response.authorities.clone(),
        }),
        Ok(Some(Err(error))) => classify(error),
    }
}

/// hickory reports NXDOMAIN, empty answers and error codes as errors; they
/// are answers here.
fn classify(error: NetError) -> Result<Reply, Failure> {
    match error {
        NetError::Dns(DnsError::NoRecordsFound(NoRecords {
            response_code,
            soa,
            authorities,
            ..
        })) => {
            let authority = match (authorities, soa) {
                (Some(records), _) => records.to_vec(),
                (None, Some(soa)) => vec![Record::from_rdata(
                    soa.name.clone(),
                    soa.ttl,
                    RData::SOA(soa.data.clone()),
                )],
                (None, None) => Vec::new(),
            };
            Ok(Reply {
                code: response_code,
                answers: Vec::new(),
                authority,
            })
        }
        NetError::Dns(DnsError::ResponseCode(code)) => Ok(Reply {
            code,
            answers: Vec::new(),
            authority: Vec::new(),
        }),
        NetError::Timeout => Err(Failure::Timeout),
        NetError::Io(e) => Err(Failure::Other(io_text(&e))),
        // The pool keeps this over the I/O error it hides.
        NetError::NoConnections => Err(Failure::Other(
            "cannot connect (connection refused or network unreachable)".to_string(),
        )),
        other => Err(Failure::Other(other.to_string())),
    }
}

/// An I/O error without the `(os error N)` tail.
pub(crate) fn io_text(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_lowercase(),
        None => text,
    }
}

/// The usual mnemonic of a response code (`NXDomain`, `RCODE23`).
fn code_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::Unknown(n) => format!("RCODE{n}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str, record_type: &str) -> Lookup {
        Lookup {
            name: name.into(),
            record_type: record_type.into(),
            server: Some("127.0.0.1:5353".into()),
            protocol: DnsProtocol::Udp,
            timeout_ms: 1000,
        }
    }

    #[test]
    fn addresses_become_reverse_lookups() {
        let config = DnsConfig::default();
        let plan = plan(lookup("192.0.2.10", "A"), &config).unwrap();
        assert_eq!(plan.name.to_ascii(), "10.2.0.192.in-addr.arpa.");
        assert_eq!(plan.record_type, RecordType::PTR);
        assert_eq!(plan.reverse_of, Some("192.0.2.10".parse().unwrap()));
        let plan = plan_of("2001:db8::10", "NS");
        assert_eq!(
            plan.name.to_ascii(),
            "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
        );
        assert_eq!(plan.record_type, RecordType::NS);
    }

    fn plan_of(name: &str, record_type: &str) -> Plan {
        plan(lookup(name, record_type), &DnsConfig::default()).unwrap()
    }

    #[test]
    fn names_are_absolute_and_timeouts_bounded() {
        assert_eq!(
            plan_of("www.example.com", "a").name.to_ascii(),
            "www.example.com."
        );
        assert_eq!(plan_of(".", "NS").name.to_ascii(), ".");
        let mut msg = lookup("example.com", "A");
        msg.timeout_ms = 0;
        assert_eq!(
            plan(msg, &DnsConfig::default()).unwrap_err(),
            ActorError::InvalidInput("timeout_ms: must be between 1 and 60000, got 0".into())
        );
    }

    #[test]
    fn configured_servers_replace_the_system_ones() {
        let config = DnsConfig {
            servers: vec!["127.0.0.1:5300".parse().unwrap()],
        };
        let mut msg = lookup("example.com", "A");
        msg.server = None;
        assert_eq!(plan(msg, &config).unwrap().servers, config.servers);
    }

    /// A message whose handler panics, as a bug in a lookup would.
    #[derive(Message)]
    #[rtype(result = "ActorResult<()>")]
    struct Explode;

    impl Handler<Explode> for DnsActor {
        type Result = ResponseActFuture<Self, ActorResult<()>>;

        fn handle(&mut self, _msg: Explode, _ctx: &mut Self::Context) -> Self::Result {
            guarded_future(self, "a DNS lookup", async { panic!("bug in a lookup") })
        }
    }

    #[actix::test]
    async fn a_panicking_lookup_is_an_error_and_the_actor_restarts() {
        let health = Arc::new(Health::default());
        let for_actor = health.clone();
        let addr =
            actix::Supervisor::start(move |_| DnsActor::new(for_actor, DnsConfig::default()));
        let answer = addr.send(Explode).await.expect("the caller gets an answer");
        assert_eq!(
            answer,
            Err(ActorError::Internal(
                "a DNS lookup failed inside termbridge; the subsystem is restarting".into()
            ))
        );
        // The same address works again after the restart.
        let mut bad = lookup("", "A");
        bad.server = None;
        let answer = addr.send(bad).await.expect("the restarted actor answers");
        assert_eq!(
            answer,
            Err(ActorError::InvalidInput("name: must not be empty".into()))
        );
        assert_eq!(health.restarts(), 1);
        assert_eq!(health.state(), crate::SubsystemState::Running);
    }

    #[test]
    fn response_codes_have_their_mnemonics() {
        assert_eq!(code_name(ResponseCode::NXDomain), "NXDomain");
        assert_eq!(code_name(ResponseCode::ServFail), "ServFail");
        assert_eq!(code_name(ResponseCode::Refused), "Refused");
        assert_eq!(code_name(ResponseCode::NoError), "NoError");
    }
}

crate::fault_injection!(DnsActor, "the dns subsystem");
