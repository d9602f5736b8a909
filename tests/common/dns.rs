//! A real DNS server for tests: hickory-server in its own thread, serving the
//! zone files of `tests/data/dns/` on 127.0.0.1 (UDP and TCP on one port),
//! plus a server that takes queries and never answers.
//!
//! Zones: `termbridge.test.` (every common record type), the reverse zones
//! of 192.0.2.0/24 and 2001:db8::/32. Point a lookup at
//! [`TestDnsServer::server`], or configure `dns_servers` with
//! [`TestDnsServer::addr`] to make it the default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::proto::rr::{LowerName, Name};
use hickory_server::proto::serialize::txt::Parser;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};

/// Which transports a test server listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transports {
    /// UDP and TCP on the same port.
    Both,
    /// UDP only (a TCP connection to the port is refused).
    UdpOnly,
    /// TCP only (UDP queries to the port are not answered).
    TcpOnly,
}

/// A running DNS server; stopped when dropped.
pub struct TestDnsServer {
    /// `127.0.0.1:PORT`.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// The directory of the test zones.
pub fn zone_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/dns")
}

/// Every zone file of `tests/data/dns/` in a catalog.
fn catalog() -> Catalog {
    let mut catalog = Catalog::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(zone_dir())
        .expect("tests/data/dns exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "zone"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let (origin, records) = Parser::new(text, Some(path.clone()), None)
            .parse()
            .unwrap_or_else(|e| panic!("zone file {}: {e}", path.display()));
        let handler: InMemoryZoneHandler =
            InMemoryZoneHandler::new(origin.clone(), records, ZoneType::Primary, AxfrPolicy::Deny)
                .unwrap_or_else(|e| panic!("zone {origin}: {e}"));
        let handler: Arc<dyn ZoneHandler> = Arc::new(handler);
        catalog.upsert(LowerName::new(&origin), vec![handler]);
    }
    catalog
}

/// Binds UDP and/or TCP on one free port of 127.0.0.1.
fn bind(transports: Transports) -> (Option<std::net::UdpSocket>, Option<std::net::TcpListener>) {
    for _ in 0..50 {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        match transports {
            Transports::UdpOnly => return (Some(udp), None),
            Transports::TcpOnly => {
                let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                return (None, Some(tcp));
            }
            Transports::Both => {
                if let Ok(tcp) = std::net::TcpListener::bind(("127.0.0.1", port)) {
                    return (Some(udp), Some(tcp));
                }
            }
        }
    }
    panic!("no port of 127.0.0.1 was free for both UDP and TCP");
}

impl TestDnsServer {
    /// Serves the test zones over UDP and TCP.
    pub fn start() -> TestDnsServer {
        Self::start_with(Transports::Both)
    }

    /// Serves the test zones over the given transports.
    pub fn start_with(transports: Transports) -> TestDnsServer {
        let (udp, tcp) = bind(transports);
        let addr = match (&udp, &tcp) {
            (Some(udp), _) => udp.local_addr().unwrap(),
            (None, Some(tcp)) => tcp.local_addr().unwrap(),
            (None, None) => unreachable!(),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, is_ready) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let mut server = Server::new(catalog());
                if let Some(udp) = udp {
                    udp.set_nonblocking(true).unwrap();
                    server.register_socket(tokio::net::UdpSocket::from_std(udp).unwrap());
                }
                if let Some(tcp) = tcp {
                    tcp.set_nonblocking(true).unwrap();
                    server.register_listener(
                        tokio::net::TcpListener::from_std(tcp).unwrap(),
                        Duration::from_secs(10),
                        64 * 1024,
                    );
                }
                ready.send(()).unwrap();
                let _ = stopped.await;
                let _ = server.shutdown_gracefully().await;
            });
        });
        is_ready.recv().expect("the DNS test server starts");
        TestDnsServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`, as `dns_lookup`'s `server` takes it.
    pub fn server(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for TestDnsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A DNS server that never answers: its UDP socket is never read and its
/// TCP listener accepts connections and keeps them open without a word.
pub struct SilentDnsServer {
    /// `127.0.0.1:PORT` (UDP and TCP).
    pub addr: SocketAddr,
    _udp: std::net::UdpSocket,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SilentDnsServer {
    /// Binds UDP and TCP on one port and stays silent.
    pub fn start() -> SilentDnsServer {
        let (udp, tcp) = bind(Transports::Both);
        let (udp, tcp) = (udp.unwrap(), tcp.unwrap());
        let addr = udp.local_addr().unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in tcp.incoming() {
                if flag.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    held.push(stream);
                }
            }
        });
        SilentDnsServer {
            addr,
            _udp: udp,
            stop,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn server(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for SilentDnsServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The origin of the main test zone.
pub fn test_zone() -> Name {
    Name::from_ascii("termbridge.test.").unwrap()
}
