//! ICMP echo probes to one target over one [`IcmpChannel`]: each probe
//! waits for the answer that carries its sequence number, while one
//! receive loop ([`IcmpProber::pump`]) reads the socket and hands answers
//! out. Both run in the same task (the caller selects over them), so no
//! thread or spawned task is involved and dropping the caller's future
//! stops everything.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::oneshot;

use super::sock::{IcmpChannel, IcmpEvent, Probed};

/// Echo probes to one target.
pub struct IcmpProber {
    channel: IcmpChannel,
    target: IpAddr,
    waiters: RefCell<HashMap<u16, oneshot::Sender<IcmpEvent>>>,
}

/// Removes a probe's waiter however the probe ends (answer, timeout, or
/// its future dropped).
struct Waiting<'a> {
    waiters: &'a RefCell<HashMap<u16, oneshot::Sender<IcmpEvent>>>,
    seq: u16,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.waiters.borrow_mut().remove(&self.seq);
    }
}

impl IcmpProber {
    /// Probes to `target` over `channel`.
    pub fn new(channel: IcmpChannel, target: IpAddr) -> IcmpProber {
        IcmpProber {
            channel,
            target,
            waiters: RefCell::new(HashMap::new()),
        }
    }

    /// Sends echo request `seq` with `ttl` and waits at most `timeout` for
    /// what comes back. Only completes while [`IcmpProber::pump`] runs.
    pub async fn probe(&self, seq: u16, ttl: Option<u8>, timeout: Duration) -> Probed {
        let (tx, rx) = oneshot::channel();
        self.waiters.borrow_mut().insert(seq, tx);
        let _waiting = Waiting {
            waiters: &self.waiters,
            seq,
        };
        let sent = match self.channel.send(self.target, seq, ttl).await {
            Ok(at) => at,
            Err(answer) => {
                return Probed { answer, rtt: None };
            }
        };
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(event)) => Probed {
                answer: event.answer,
                rtt: Some(event.at.saturating_duration_since(sent)),
            },
            _ => Probed::timeout(),
        }
    }

    /// Reads answers and hands each to the probe waiting for it; returns
    /// only when reading fails.
    pub async fn pump(&self) -> std::io::Error {
        loop {
            match self.channel.recv().await {
                Ok(event) => {
                    // Raw sockets see everybody's ICMP: keep only answers
                    // about requests that went to our target.
                    if event.original_dest.is_some_and(|dest| dest != self.target) {
                        continue;
                    }
                    if let Some(waiter) = self.waiters.borrow_mut().remove(&event.seq) {
                        let _ = waiter.send(event);
                    }
                }
                Err(e) => return e,
            }
        }
    }
}
