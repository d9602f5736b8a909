//! The sockets behind ping and traceroute, and what each probe came back
//! with.
//!
//! - ICMP echo through an unprivileged ICMP socket (`SOCK_DGRAM`, allowed
//!   by `net.ipv4.ping_group_range`) or a raw socket (needs `CAP_NET_RAW`):
//!   [`IcmpChannel`]. Datagram sockets report ICMP errors through the
//!   socket error queue (`IP_RECVERR`); raw sockets see the error messages
//!   themselves.
//! - UDP and TCP probes with a chosen TTL, one socket each, which learn
//!   about routers and unreachable destinations from the error queue
//!   (`IP_RECVERR` / `IPV6_RECVERR`), as tracepath does: no privilege
//!   needed.
//!
//! Everything is non-blocking on tokio's reactor (`AsyncFd`); nothing here
//! waits without a deadline set by the caller.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockProtocol, SockType,
    SockaddrStorage, connect, getpeername, getsockopt, recvmsg, sendto, setsockopt, socket,
    sockopt,
};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::icmp::{self, IcmpError, Parsed};

/// Bytes of payload in an ICMP echo request (as ping(8): 64 bytes of ICMP).
const ECHO_PAYLOAD: &[u8] = b"termbridge ping/traceroute probe, 56 bytes of payload...";
/// Bytes of payload in a UDP probe.
const UDP_PAYLOAD: &[u8] = b"termbridge traceroute probe";

/// `SO_EE_ORIGIN_LOCAL`: the error was found on this host.
const ORIGIN_LOCAL: u8 = 1;
/// `SO_EE_ORIGIN_ICMP`.
const ORIGIN_ICMP: u8 = 2;
/// `SO_EE_ORIGIN_ICMP6`.
const ORIGIN_ICMP6: u8 = 3;

fn io_err(errno: Errno) -> io::Error {
    io::Error::from(errno)
}

/// An errno in words, lower case, without the `(os error N)` tail.
pub fn errno_text(errno: Errno) -> String {
    crate::dns::io_text(&io::Error::from(errno))
}

/// What came back for one probe.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The destination answered: an echo reply, a TCP connection (SYN-ACK),
    /// or, for a UDP probe, "port unreachable" from the destination itself.
    Reply {
        /// Who answered.
        from: IpAddr,
        /// TTL / hop limit of the answer, when the socket reports it.
        ttl: Option<u8>,
        /// How it answered (`echo reply`, `connected`, `port unreachable`).
        how: &'static str,
    },
    /// The destination refused a TCP connection (RST): it is there.
    Refused {
        /// Who refused.
        from: IpAddr,
    },
    /// A router on the way said the TTL ran out.
    TimeExceeded {
        /// The router.
        from: IpAddr,
    },
    /// The destination cannot be reached.
    Unreachable {
        /// Who said so; `None` when this host found it out (no route…).
        from: Option<IpAddr>,
        /// Why (`host unreachable`, `communication administratively prohibited`…).
        reason: String,
    },
    /// Some other error.
    Error {
        /// Who reported it, if anyone.
        from: Option<IpAddr>,
        /// What happened.
        reason: String,
    },
    /// Nothing came back in time.
    Timeout,
}

/// An answer with the time it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Probed {
    /// The answer.
    pub answer: Answer,
    /// From sending to the answer; `None` for timeouts and local errors.
    pub rtt: Option<Duration>,
}

impl Probed {
    fn at(answer: Answer, sent: Instant, at: Instant) -> Probed {
        Probed {
            answer,
            rtt: Some(at.saturating_duration_since(sent)),
        }
    }

    fn local(answer: Answer) -> Probed {
        Probed { answer, rtt: None }
    }

    /// Nothing came back.
    pub fn timeout() -> Probed {
        Probed::local(Answer::Timeout)
    }
}

/// Maps a send error to an answer: no route and the like are
/// "unreachable", found on this host.
fn local_failure(error: Errno) -> Answer {
    match error {
        Errno::ENETUNREACH | Errno::EHOSTUNREACH | Errno::EADDRNOTAVAIL => Answer::Unreachable {
            from: None,
            reason: format!("{} (on this host)", errno_text(error)),
        },
        other => Answer::Error {
            from: None,
            reason: errno_text(other),
        },
    }
}

/// One entry of a socket's error queue.
#[derive(Debug, Clone)]
struct QueuedError {
    errno: i32,
    origin: u8,
    icmp_type: u8,
    code: u8,
    offender: Option<IpAddr>,
    /// The start of what we sent (the ICMP header for ICMP sockets).
    payload: Vec<u8>,
}

impl QueuedError {
    /// The ICMP meaning of this entry, if it came from an ICMP message.
    fn icmp(&self) -> Option<IcmpError> {
        match self.origin {
            ORIGIN_ICMP => Some(IcmpError::classify(false, self.icmp_type, self.code)),
            ORIGIN_ICMP6 => Some(IcmpError::classify(true, self.icmp_type, self.code)),
            _ => None,
        }
    }

    /// The answer this entry means for a probe to `target`.
    fn answer(&self, target: IpAddr, port_unreachable_is_reply: bool) -> Answer {
        match self.icmp() {
            Some(IcmpError::TimeExceeded) => match self.offender {
                Some(from) => Answer::TimeExceeded { from },
                None => Answer::Error {
                    from: None,
                    reason: "time exceeded from an unknown router".into(),
                },
            },
            Some(IcmpError::Unreachable { port: true, .. })
                if port_unreachable_is_reply && self.offender == Some(target) =>
            {
                Answer::Reply {
                    from: target,
                    ttl: None,
                    how: "port unreachable",
                }
            }
            Some(IcmpError::Unreachable { reason, .. }) => Answer::Unreachable {
                from: self.offender,
                reason,
            },
            Some(IcmpError::Other { reason }) => Answer::Error {
                from: self.offender,
                reason,
            },
            None if self.origin == ORIGIN_LOCAL => local_failure(Errno::from_raw(self.errno)),
            None => Answer::Error {
                from: self.offender,
                reason: errno_text(Errno::from_raw(self.errno)),
            },
        }
    }
}

fn ip_of_v4(addr: &libc::sockaddr_in) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr)))
}

fn ip_of_v6(addr: &libc::sockaddr_in6) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(addr.sin6_addr.s6_addr))
}

fn ip_of_storage(addr: &SockaddrStorage) -> Option<IpAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(IpAddr::V4(v4.ip()));
    }
    addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
}

/// Reads one entry of the error queue, without waiting.
fn read_error_queue(fd: &OwnedFd) -> io::Result<QueuedError> {
    let mut buf = [0u8; 576];
    // Room for the extended error, the offender and whatever else the
    // socket is set to report (hop limit, TTL…).
    let mut cmsg = nix::cmsg_space!(
        libc::sock_extended_err,
        libc::sockaddr_in6,
        [libc::c_int; 16]
    );
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<SockaddrStorage>(
        fd.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
    )
    .map_err(io_err)?;
    let bytes = msg.bytes;
    let mut entry = None;
    for control in msg.cmsgs().map_err(io_err)? {
        match control {
            ControlMessageOwned::Ipv4RecvErr(ee, offender) => {
                entry = Some((ee, offender.as_ref().map(ip_of_v4)));
            }
            ControlMessageOwned::Ipv6RecvErr(ee, offender) => {
                entry = Some((ee, offender.as_ref().map(ip_of_v6)));
            }
            _ => {}
        }
    }
    let (ee, offender) =
        entry.ok_or_else(|| io::Error::other("an error-queue entry without an extended error"))?;
    // The offender of a local error is meaningless (zeroed).
    let offender = offender.filter(|ip| !ip.is_unspecified());
    Ok(QueuedError {
        errno: ee.ee_errno as i32,
        origin: ee.ee_origin,
        icmp_type: ee.ee_type,
        code: ee.ee_code,
        offender,
        payload: buf[..bytes.min(buf.len())].to_vec(),
    })
}

/// Registers an owned socket with tokio's reactor.
fn register(fd: OwnedFd, interest: Interest) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an `OwnedFd` stays open, with the same number, until the
    // `AsyncFd` that owns it drops it.
    Ok(unsafe { AsyncFd::register_with_interest(fd, interest) }?)
}

fn set_ttl(fd: &OwnedFd, v6: bool, ttl: u8) -> nix::Result<()> {
    if v6 {
        setsockopt(fd, sockopt::Ipv6Ttl, &libc::c_int::from(ttl))
    } else {
        setsockopt(fd, sockopt::Ipv4Ttl, &libc::c_int::from(ttl))
    }
}

fn set_recv_err(fd: &OwnedFd, v6: bool) -> nix::Result<()> {
    if v6 {
        setsockopt(fd, sockopt::Ipv6RecvErr, &true)
    } else {
        setsockopt(fd, sockopt::Ipv4RecvErr, &true)
    }
}

fn family(v6: bool) -> AddressFamily {
    if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    }
}

fn sockaddr(addr: SocketAddr) -> SockaddrStorage {
    SockaddrStorage::from(addr)
}

/// The kind of ICMP socket in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpKind {
    /// `SOCK_RAW`: needs `CAP_NET_RAW`.
    Raw,
    /// `SOCK_DGRAM` ("ping socket"): allowed by `net.ipv4.ping_group_range`.
    Datagram,
}

/// The current `net.ipv4.ping_group_range`, as text (it governs IPv6 ping
/// sockets too).
pub fn ping_group_range() -> String {
    std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Opens an ICMP socket of `kind`.
fn open_icmp_socket(v6: bool, kind: IcmpKind) -> nix::Result<OwnedFd> {
    let protocol = if v6 {
        SockProtocol::IcmpV6
    } else {
        SockProtocol::Icmp
    };
    let ty = match kind {
        IcmpKind::Raw => SockType::Raw,
        IcmpKind::Datagram => SockType::Datagram,
    };
    socket(
        family(v6),
        ty,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        protocol,
    )
}

/// Why ICMP cannot be used here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcmpDenied {
    /// Both attempts and their errors, in words.
    pub reason: String,
}

/// Opens the best ICMP socket this process may have: an unprivileged
/// datagram socket if `net.ipv4.ping_group_range` allows our group, else a
/// raw socket if we have `CAP_NET_RAW`. Says which and why.
pub fn open_icmp(v6: bool) -> Result<(IcmpChannel, String), IcmpDenied> {
    let range = ping_group_range();
    // SAFETY: getegid has no preconditions and cannot fail.
    let gid = unsafe { libc::getegid() };
    let datagram_error = match open_icmp_socket(v6, IcmpKind::Datagram) {
        Ok(fd) => {
            let channel = IcmpChannel::new(fd, IcmpKind::Datagram, v6).map_err(|e| IcmpDenied {
                reason: format!("cannot set up an unprivileged ICMP socket: {e}"),
            })?;
            return Ok((
                channel,
                format!(
                    "unprivileged ICMP socket: net.ipv4.ping_group_range ({range}) includes \
                     group {gid}"
                ),
            ));
        }
        Err(e) => e,
    };
    let datagram_why = match datagram_error {
        Errno::EACCES | Errno::EPERM => format!(
            "unprivileged ICMP sockets are not allowed for group {gid} \
             (net.ipv4.ping_group_range = {range})"
        ),
        other => format!("unprivileged ICMP sockets fail: {}", errno_text(other)),
    };
    match open_icmp_socket(v6, IcmpKind::Raw) {
        Ok(fd) => {
            let channel = IcmpChannel::new(fd, IcmpKind::Raw, v6).map_err(|e| IcmpDenied {
                reason: format!("cannot set up a raw ICMP socket: {e}"),
            })?;
            Ok((
                channel,
                format!("raw ICMP socket (termbridge has CAP_NET_RAW); {datagram_why}"),
            ))
        }
        Err(raw_error) => {
            let raw_why = match raw_error {
                Errno::EPERM | Errno::EACCES => {
                    "raw sockets need CAP_NET_RAW, which termbridge does not have".to_string()
                }
                other => format!("raw ICMP sockets fail: {}", errno_text(other)),
            };
            Err(IcmpDenied {
                reason: format!("ICMP is not available: {datagram_why}, and {raw_why}"),
            })
        }
    }
}

/// What an ICMP socket read: an answer about one of our echo requests.
#[derive(Debug, Clone)]
pub struct IcmpEvent {
    /// The sequence number of the request it is about.
    pub seq: u16,
    /// Where that request was going, when known (errors quote it).
    pub original_dest: Option<IpAddr>,
    /// The answer.
    pub answer: Answer,
    /// When it was read.
    pub at: Instant,
}

/// One ICMP socket sending echo requests to one target and reading what
/// comes back.
pub struct IcmpChannel {
    fd: AsyncFd<OwnedFd>,
    kind: IcmpKind,
    v6: bool,
    /// Our identifier (raw sockets; the kernel picks it for datagram ones).
    ident: u16,
}

impl IcmpChannel {
    fn new(fd: OwnedFd, kind: IcmpKind, v6: bool) -> io::Result<IcmpChannel> {
        match (kind, v6) {
            (IcmpKind::Datagram, false) => {
                setsockopt(&fd, sockopt::Ipv4RecvErr, &true).map_err(io_err)?;
                setsockopt(&fd, sockopt::Ipv4RecvTtl, &true).map_err(io_err)?;
            }
            (IcmpKind::Datagram, true) => {
                setsockopt(&fd, sockopt::Ipv6RecvErr, &true).map_err(io_err)?;
                setsockopt(&fd, sockopt::Ipv6RecvHopLimit, &true).map_err(io_err)?;
            }
            (IcmpKind::Raw, true) => {
                setsockopt(&fd, sockopt::Ipv6RecvHopLimit, &true).map_err(io_err)?;
            }
            (IcmpKind::Raw, false) => {}
        }
        Ok(IcmpChannel {
            fd: register(
                fd,
                Interest::READABLE | Interest::WRITABLE | Interest::ERROR,
            )?,
            kind,
            v6,
            ident: rand::random(),
        })
    }

    /// Which kind of socket this is.
    pub fn kind(&self) -> IcmpKind {
        self.kind
    }

    /// Sends echo request `seq` to `target` with `ttl` (the system default
    /// when `None`); returns when it left, or why it could not.
    pub async fn send(&self, target: IpAddr, seq: u16, ttl: Option<u8>) -> Result<Instant, Answer> {
        let packet = icmp::echo_request(self.v6, self.ident, seq, ECHO_PAYLOAD);
        let addr = sockaddr(SocketAddr::new(target, 0));
        // A datagram ICMP socket keeps the last ICMP error (a router's "time
        // exceeded" for an earlier probe) as a pending socket error, and
        // the next send fails with it instead of sending; that failure
        // clears it. So a send that fails is tried again, a few times.
        let mut pending_errors = if self.kind == IcmpKind::Datagram {
            3
        } else {
            0
        };
        loop {
            let mut guard = self.fd.writable().await.map_err(|e| Answer::Error {
                from: None,
                reason: e.to_string(),
            })?;
            let sent = guard.try_io(|fd| {
                // Set the TTL right before sending: no other probe can send
                // in between, so each packet leaves with its own TTL.
                if let Some(ttl) = ttl {
                    set_ttl(fd.get_ref(), self.v6, ttl).map_err(io_err)?;
                }
                sendto(fd.as_raw_fd(), &packet, &addr, MsgFlags::empty()).map_err(io_err)
            });
            match sent {
                Ok(Ok(_)) => return Ok(Instant::now()),
                Ok(Err(_)) if pending_errors > 0 => pending_errors -= 1,
                Ok(Err(e)) => {
                    let errno = e.raw_os_error().map(Errno::from_raw).unwrap_or(Errno::EIO);
                    return Err(local_failure(errno));
                }
                Err(_would_block) => continue,
            }
        }
    }

    /// Waits for the next answer about one of our requests (anything else
    /// the socket sees is skipped).
    pub async fn recv(&self) -> io::Result<IcmpEvent> {
        loop {
            let mut guard = self.fd.ready(Interest::READABLE | Interest::ERROR).await?;
            if self.kind == IcmpKind::Datagram {
                match read_error_queue(self.fd.get_ref()) {
                    Ok(entry) => {
                        if let Some(event) = self.queued_event(&entry) {
                            return Ok(event);
                        }
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // One entry that cannot be read is skipped, not fatal.
                    Err(e) => {
                        log::debug!("skipping an unreadable ICMP error-queue entry: {e}");
                        continue;
                    }
                }
            }
            match self.read_message() {
                Ok(Some(event)) => return Ok(event),
                Ok(None) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
                // A datagram socket reports a pending ICMP error here too
                // (the queue entry carries the details); a message that
                // cannot be read is skipped.
                Err(e) => log::debug!("skipping an unreadable ICMP message: {e}"),
            }
        }
    }

    fn queued_event(&self, entry: &QueuedError) -> Option<IcmpEvent> {
        let seq = icmp::quoted_seq(&entry.payload)?;
        let answer = match entry.icmp() {
            Some(IcmpError::TimeExceeded) => Answer::TimeExceeded {
                from: entry.offender?,
            },
            Some(IcmpError::Unreachable { reason, .. }) => Answer::Unreachable {
                from: entry.offender,
                reason,
            },
            Some(IcmpError::Other { reason }) => Answer::Error {
                from: entry.offender,
                reason,
            },
            None if entry.origin == ORIGIN_LOCAL => local_failure(Errno::from_raw(entry.errno)),
            None => return None,
        };
        Some(IcmpEvent {
            seq,
            original_dest: None,
            answer,
            at: Instant::now(),
        })
    }

    /// Reads one message from the socket; `Ok(None)` when it was not about
    /// one of our requests.
    fn read_message(&self) -> io::Result<Option<IcmpEvent>> {
        let mut buf = [0u8; 1500];
        let mut cmsg = nix::cmsg_space!([libc::c_int; 16]);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<SockaddrStorage>(
            self.fd.get_ref().as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_DONTWAIT,
        )
        .map_err(io_err)?;
        let at = Instant::now();
        let bytes = msg.bytes;
        let sender = msg.address.as_ref().and_then(ip_of_storage);
        let mut ttl = None;
        if let Ok(controls) = msg.cmsgs() {
            for control in controls {
                match control {
                    ControlMessageOwned::Ipv4Ttl(t) => ttl = u8::try_from(t).ok(),
                    ControlMessageOwned::Ipv6HopLimit(t) => ttl = u8::try_from(t).ok(),
                    _ => {}
                }
            }
        }
        let data = &buf[..bytes.min(buf.len())];
        let parsed = match (self.kind, self.v6) {
            (IcmpKind::Raw, false) => icmp::parse_v4_raw(data),
            (IcmpKind::Datagram, false) => icmp::parse_v4_icmp(data),
            (_, true) => icmp::parse_v6_icmp(data),
        };
        let Some(parsed) = parsed else {
            return Ok(None);
        };
        let check_ident = self.kind == IcmpKind::Raw;
        Ok(match parsed {
            Parsed::Reply {
                ident,
                seq,
                ttl: header_ttl,
                from,
            } => {
                if check_ident && ident != self.ident {
                    return Ok(None);
                }
                let Some(from) = from.or(sender) else {
                    return Ok(None);
                };
                Some(IcmpEvent {
                    seq,
                    original_dest: Some(from),
                    answer: Answer::Reply {
                        from,
                        ttl: header_ttl.or(ttl),
                        how: "echo reply",
                    },
                    at,
                })
            }
            Parsed::Error {
                ident,
                seq,
                original_dest,
                icmp_type,
                code,
                from,
            } => {
                if check_ident && ident != self.ident {
                    return Ok(None);
                }
                let from = from.or(sender);
                let answer = match IcmpError::classify(self.v6, icmp_type, code) {
                    IcmpError::TimeExceeded => match from {
                        Some(from) => Answer::TimeExceeded { from },
                        None => return Ok(None),
                    },
                    IcmpError::Unreachable { reason, .. } => Answer::Unreachable { from, reason },
                    IcmpError::Other { reason } => Answer::Error { from, reason },
                };
                Some(IcmpEvent {
                    seq,
                    original_dest,
                    answer,
                    at,
                })
            }
        })
    }
}

/// Sends one UDP datagram to `target` with `ttl` and waits for the error
/// queue to say what became of it: a router's "time exceeded", the
/// destination's "port unreachable" (a reply, for traceroute), or another
/// unreachable. Needs no privilege.
pub async fn udp_probe(target: SocketAddr, ttl: u8, timeout: Duration) -> Probed {
    let v6 = target.is_ipv6();
    let fd = match socket(
        family(v6),
        SockType::Datagram,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        SockProtocol::Udp,
    ) {
        Ok(fd) => fd,
        Err(e) => return Probed::local(local_failure(e)),
    };
    if let Err(e) = set_recv_err(&fd, v6).and_then(|_| set_ttl(&fd, v6, ttl)) {
        return Probed::local(local_failure(e));
    }
    if let Err(e) = connect(fd.as_raw_fd(), &sockaddr(target)) {
        return Probed::local(local_failure(e));
    }
    let fd = match register(fd, Interest::READABLE | Interest::ERROR) {
        Ok(fd) => fd,
        Err(e) => {
            return Probed::local(Answer::Error {
                from: None,
                reason: e.to_string(),
            });
        }
    };
    let sent = Instant::now();
    if let Err(e) = nix::sys::socket::send(fd.get_ref().as_raw_fd(), UDP_PAYLOAD, MsgFlags::empty())
    {
        return Probed::local(local_failure(e));
    }
    let deadline = sent + timeout;
    let interest = Interest::READABLE | Interest::ERROR;
    loop {
        let mut guard = match tokio::time::timeout_at(deadline.into(), fd.ready(interest)).await {
            Ok(Ok(guard)) => guard,
            _ => return Probed::timeout(),
        };
        match read_error_queue(fd.get_ref()) {
            Ok(entry) => {
                return Probed::at(entry.answer(target.ip(), true), sent, Instant::now());
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => {
                return Probed::local(Answer::Error {
                    from: None,
                    reason: e.to_string(),
                });
            }
        }
        // A UDP answer from the destination itself also means "reached".
        let mut buf = [0u8; 512];
        match nix::sys::socket::recv(fd.get_ref().as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
            Ok(_) => {
                return Probed::at(
                    Answer::Reply {
                        from: target.ip(),
                        ttl: None,
                        how: "udp reply",
                    },
                    sent,
                    Instant::now(),
                );
            }
            Err(Errno::EAGAIN) => guard.clear_ready(),
            // The pending error that the queue entry also carries: look again.
            Err(_) => {}
        }
    }
}

/// Opens a TCP connection to `target` with `ttl` (the default when
/// `None`): connected or refused means the destination answered; a
/// router's "time exceeded" or an unreachable comes from the error queue.
/// Needs no privilege. The connection is closed right away.
pub async fn tcp_probe(target: SocketAddr, ttl: Option<u8>, timeout: Duration) -> Probed {
    let v6 = target.is_ipv6();
    let fd = match socket(
        family(v6),
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        SockProtocol::Tcp,
    ) {
        Ok(fd) => fd,
        Err(e) => return Probed::local(local_failure(e)),
    };
    let setup = set_recv_err(&fd, v6).and_then(|_| match ttl {
        Some(ttl) => set_ttl(&fd, v6, ttl),
        None => Ok(()),
    });
    if let Err(e) = setup {
        return Probed::local(local_failure(e));
    }
    let sent = Instant::now();
    let deadline = sent + timeout;
    match connect(fd.as_raw_fd(), &sockaddr(target)) {
        Ok(()) => {
            return Probed::at(
                Answer::Reply {
                    from: target.ip(),
                    ttl: None,
                    how: "connected",
                },
                sent,
                Instant::now(),
            );
        }
        Err(Errno::EINPROGRESS) => {}
        Err(Errno::ECONNREFUSED) => {
            return Probed::at(Answer::Refused { from: target.ip() }, sent, Instant::now());
        }
        Err(e) => return Probed::local(local_failure(e)),
    }
    let fd = match register(fd, Interest::WRITABLE | Interest::ERROR) {
        Ok(fd) => fd,
        Err(e) => {
            return Probed::local(Answer::Error {
                from: None,
                reason: e.to_string(),
            });
        }
    };
    let interest = Interest::WRITABLE | Interest::ERROR;
    loop {
        let mut guard = match tokio::time::timeout_at(deadline.into(), fd.ready(interest)).await {
            Ok(Ok(guard)) => guard,
            _ => return Probed::timeout(),
        };
        let at = Instant::now();
        match read_error_queue(fd.get_ref()) {
            Ok(entry) => return Probed::at(entry.answer(target.ip(), false), sent, at),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => {
                return Probed::local(Answer::Error {
                    from: None,
                    reason: e.to_string(),
                });
            }
        }
        match getsockopt(fd.get_ref(), sockopt::SocketError) {
            Ok(0) => {}
            Ok(code) => {
                return match Errno::from_raw(code) {
                    Errno::ECONNREFUSED => {
                        Probed::at(Answer::Refused { from: target.ip() }, sent, at)
                    }
                    other => Probed::at(local_failure(other), sent, at),
                };
            }
            Err(e) => return Probed::local(local_failure(e)),
        }
        if getpeername::<SockaddrStorage>(fd.get_ref().as_raw_fd()).is_ok() {
            return Probed::at(
                Answer::Reply {
                    from: target.ip(),
                    ttl: None,
                    how: "connected",
                },
                sent,
                at,
            );
        }
        // Woken without news: wait for the next readiness change.
        guard.clear_ready();
    }
}
