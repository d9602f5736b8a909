//! One whois exchange (RFC 3912): connect, send one line, read until the
//! server closes — bounded in time by a deadline and in size by a byte limit
//! (a longer answer is cut, not refused, and says so).

use std::net::SocketAddr;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::dns::io_text;

/// The bytes a server sent.
#[derive(Debug)]
pub struct Received {
    /// The answer, at most the byte limit.
    pub bytes: Vec<u8>,
    /// True when the server sent more than the limit.
    pub truncated: bool,
}

/// Why an exchange gave no answer.
#[derive(Debug, PartialEq, Eq)]
pub enum ExchangeError {
    /// The deadline passed.
    Timeout,
    /// Anything else, said plainly.
    Failed(String),
}

/// Sends `request` to `host:port` and reads the answer.
pub async fn exchange(
    host: &str,
    port: u16,
    request: &str,
    deadline: Instant,
    max_bytes: usize,
) -> Result<Received, ExchangeError> {
    let work = async {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| ExchangeError::Failed(format!("cannot resolve {host}: {e}")))?
            .collect();
        let mut last_error = None;
        let mut connected = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    connected = Some(stream);
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let mut stream = connected.ok_or_else(|| {
            ExchangeError::Failed(match last_error {
                Some(e) => format!("cannot connect: {}", io_text(&e)),
                None => format!("{host} has no address"),
            })
        })?;
        stream.write_all(request.as_bytes()).await.map_err(|e| {
            ExchangeError::Failed(format!("cannot send the query: {}", io_text(&e)))
        })?;
        let mut bytes = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        let mut truncated = false;
        loop {
            let n = stream.read(&mut chunk).await.map_err(|e| {
                ExchangeError::Failed(format!("reading the answer failed: {}", io_text(&e)))
            })?;
            if n == 0 {
                break;
            }
            let room = max_bytes - bytes.len();
            if n > room {
                bytes.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            bytes.extend_from_slice(&chunk[..n]);
        }
        Ok(Received { bytes, truncated })
    };
    match tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), work).await {
        Ok(result) => result,
        Err(_) => Err(ExchangeError::Timeout),
    }
}
