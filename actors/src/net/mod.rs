//! NetActor: the network subsystem (interface addresses; ping and traceroute
//! arrive with the network-tools work).

mod addresses;

use std::sync::Arc;

use actix::{Actor, Context, Handler, Message, Supervised};

pub use addresses::{AddressFamily, AddressScope, IfAddress, Interface, list_interfaces};

use crate::error::ActorResult;
use crate::supervisor::{Health, guarded};

/// The network subsystem actor.
pub struct NetActor {
    health: Arc<Health>,
}

impl NetActor {
    /// A new actor reporting its lifecycle into `health`.
    pub fn new(health: Arc<Health>) -> Self {
        NetActor { health }
    }
}

impl Actor for NetActor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        self.health.mark_running();
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> actix::Running {
        self.health.mark_down();
        actix::Running::Stop
    }
}

impl Supervised for NetActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.health.count_restart();
    }
}

/// List the machine's network interfaces and their addresses.
#[derive(Debug, Clone, Default, Message)]
#[rtype(result = "ActorResult<Vec<Interface>>")]
pub struct ListAddresses {}

impl Handler<ListAddresses> for NetActor {
    type Result = ActorResult<Vec<Interface>>;

    fn handle(&mut self, _msg: ListAddresses, ctx: &mut Self::Context) -> Self::Result {
        guarded(ctx, "listing interfaces", list_interfaces)
    }
}

crate::fault_injection!(NetActor, "the net subsystem");
