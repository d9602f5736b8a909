//! termbridge's subsystems as actors: terminals, network tools, DNS, whois and
//! documentation search, started and restarted by one supervisor.
//!
//! This crate knows nothing of HTTP or JSON-RPC: callers send typed messages
//! (verb-named structs) and get `Result<T, ActorError>` back.

pub mod dns;
pub mod docs;
pub mod error;
pub mod net;
pub mod supervisor;
pub mod terminal;
pub mod whois;

pub use error::{ActorError, ActorResult};
pub use supervisor::{Subsystem, SubsystemState, SubsystemStatus, SubsystemsConfig, Supervisor};
