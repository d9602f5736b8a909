//! Network namespaces made by a test and removed by it (in `Drop`, so also
//! when the test panics): a chain client -> router1 -> router2 -> target
//! joined by veth pairs, IPv4 and IPv6, addressed from the documentation
//! ranges only (198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32; not
//! 192.0.2.0/24, which this machine's own eth0 uses). Nothing is added to
//! the host's namespace: the veth pairs are created inside the namespaces.
//!
//! The probing side runs inside the client namespace too: [`inside`] runs
//! a closure on a fresh thread that has `setns(2)`-entered the namespace.
//! Sockets that thread opens live in the namespace, and so do the threads it
//! starts (a thread inherits its creator's namespaces), so a `TestServer`,
//! a `TestDnsServer` and an HTTP client started there all see only the
//! client namespace's loopback and routes, and the test thread itself
//! never leaves the host namespace.

use std::fs::File;
use std::process::Command;

/// A network namespace, deleted when dropped.
pub struct Netns {
    /// Its name under /run/netns.
    pub name: String,
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Deletes namespaces left by earlier test runs that were killed before
/// their `Drop` ran (their process is gone).
fn remove_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(pid) = name
            .strip_prefix("tb-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = run("ip", &["netns", "del", &name]);
        }
    }
}

impl Netns {
    /// Creates a namespace named `tb-<pid>-<random>-<role>` with loopback up.
    pub fn create(role: &str) -> Result<Netns, String> {
        let tag: u32 = rand::random();
        let name = format!("tb-{}-{:08x}-{role}", std::process::id(), tag);
        run("ip", &["netns", "add", &name])?;
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        Ok(ns)
    }

    /// `ip -n <ns> <args>`; panics with ip's message on failure.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        run("ip", &all).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Sets a sysctl inside the namespace.
    pub fn sysctl(&self, key: &str, value: &str) {
        let setting = format!("{key}={value}");
        run(
            "ip",
            &["netns", "exec", &self.name, "sysctl", "-q", "-w", &setting],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = run("ip", &["netns", "del", &self.name]) {
            eprintln!("could not remove network namespace {}: {e}", self.name);
        }
    }
}

/// True when this kernel lets us create network namespaces. When it denies
/// them, says so loudly (the namespace tests are then skipped); any other
/// failure is a test failure.
pub fn namespaces_allowed() -> bool {
    remove_stale();
    match Netns::create("probe") {
        Ok(_) => true,
        Err(e) if e.contains("Operation not permitted") || e.contains("Permission denied") => {
            eprintln!(
                "\n*** SKIPPED: the kernel denies network namespaces here ({e}); the multi-hop \
                 tests of tests/netns.rs did not run ***\n"
            );
            false
        }
        Err(e) => panic!("cannot create a network namespace: {e}"),
    }
}

/// Runs `f` on a new thread inside `ns` (see the module comment) and
/// returns its result; a panic in `f` is re-raised here.
pub fn inside<R: Send + 'static>(ns: &Netns, f: impl FnOnce() -> R + Send + 'static) -> R {
    let path = format!("/run/netns/{}", ns.name);
    let thread = std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("setns({path}): {e}"));
        f()
    });
    match thread.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Addresses of the chain (see [`Chain`]).
pub mod addr {
    /// The client, on the link to router 1.
    pub const CLIENT_V4: &str = "198.51.100.2";
    /// Router 1, facing the client.
    pub const R1_V4: &str = "198.51.100.1";
    /// Router 2, facing router 1.
    pub const R2_V4: &str = "198.51.100.6";
    /// The target.
    pub const TARGET_V4: &str = "203.0.113.10";
    /// Router 1 answers "host unreachable" for this address.
    pub const UNREACHABLE_V4: &str = "203.0.113.200";
    /// Router 1 answers "communication administratively prohibited" for this address.
    pub const PROHIBITED_V4: &str = "203.0.113.201";
    /// An address on the client's `void` link: nothing is behind it, nothing answers.
    pub const SILENT_V4: &str = "198.51.100.200";
    /// The client (IPv6).
    pub const CLIENT_V6: &str = "2001:db8:100:1::2";
    /// Router 1 (IPv6), facing the client.
    pub const R1_V6: &str = "2001:db8:100:1::1";
    /// Router 2 (IPv6), facing router 1.
    pub const R2_V6: &str = "2001:db8:100:2::2";
    /// The target (IPv6).
    pub const TARGET_V6: &str = "2001:db8:100:3::10";
    /// Router 1 answers "no route to destination" (ICMPv6 unreachable, code 0).
    pub const UNREACHABLE_V6: &str = "2001:db8:100:3::200";
    /// Router 1 answers "communication administratively prohibited" (code 1).
    pub const PROHIBITED_V6: &str = "2001:db8:100:3::201";
    /// On the client's `void` link (IPv6): nothing answers.
    pub const SILENT_V6: &str = "2001:db8:100:f::200";
}

/// client -> router1 -> router2 -> target, each its own namespace:
///
/// ```text
/// client eth0 198.51.100.2/30  2001:db8:100:1::2/64
///   r1 west  198.51.100.1/30  2001:db8:100:1::1/64
///   r1 east  198.51.100.5/30  2001:db8:100:2::1/64
///   r2 west  198.51.100.6/30  2001:db8:100:2::2/64
///   r2 east  203.0.113.1/24   2001:db8:100:3::1/64
/// target eth0 203.0.113.10/24 2001:db8:100:3::10/64
/// client void 198.51.100.128/25, 2001:db8:100:f::/64: a link with nobody behind it
/// r1: 203.0.113.200 and 2001:db8:100:3::200 "unreachable", .201 / ::201 "prohibit"
/// ```
///
/// ICMP error rate limits are off in every namespace, so each probe gets
/// its answer. One limit cannot be lifted from inside a namespace: a Linux
/// router sends at most 5 IPv4 "unreachable"s for `unreachable`/`prohibit`
/// routes in a burst per source, then one a second
/// (`net.ipv4.route.error_cost`/`error_burst` exist only in the host's
/// namespace), and its time-exceeded answers to the same source use up
/// that budget for a second; tests stay within it (IPv6 has no such limit).
pub struct Chain {
    /// Where the probing side runs.
    pub client: Netns,
    /// The first router.
    pub r1: Netns,
    /// The second router.
    pub r2: Netns,
    /// The destination.
    pub target: Netns,
}

impl Chain {
    /// Builds the chain, or `None` (said loudly) when namespaces are denied.
    pub fn build() -> Option<Chain> {
        if !namespaces_allowed() {
            return None;
        }
        let make = |role| Netns::create(role).unwrap_or_else(|e| panic!("{e}"));
        let chain = Chain {
            client: make("client"),
            r1: make("r1"),
            r2: make("r2"),
            target: make("target"),
        };
        let (c, r1, r2, t) = (&chain.client, &chain.r1, &chain.r2, &chain.target);
        for ns in [c, r1, r2, t] {
            ns.sysctl("net.ipv4.icmp_ratelimit", "0");
            ns.sysctl("net.ipv6.icmp.ratelimit", "0");
            // Link-local addresses usable at once: neighbour discovery
            // needs one, and duplicate address detection would hold it
            // back for a second or two.
            ns.sysctl("net.ipv6.conf.all.accept_dad", "0");
            ns.sysctl("net.ipv6.conf.default.accept_dad", "0");
        }
        for router in [r1, r2] {
            router.sysctl("net.ipv4.ip_forward", "1");
            router.sysctl("net.ipv6.conf.all.forwarding", "1");
        }
        // veth pairs, created inside the namespaces (never in the host's).
        c.ip(&[
            "link", "add", "eth0", "type", "veth", "peer", "name", "west", "netns", &r1.name,
        ]);
        r1.ip(&[
            "link", "add", "east", "type", "veth", "peer", "name", "west", "netns", &r2.name,
        ]);
        r2.ip(&[
            "link", "add", "east", "type", "veth", "peer", "name", "eth0", "netns", &t.name,
        ]);
        // A link with nobody behind it: a veth pair with both ends in the
        // client, the far end without addresses, and the silent addresses'
        // neighbours pinned to a MAC nobody has (no ARP, no unreachable).
        c.ip(&[
            "link", "add", "void", "type", "veth", "peer", "name", "void-end",
        ]);
        c.ip(&["link", "set", "void-end", "up"]);
        let address = |ns: &Netns, dev: &str, v4: &str, v6: &str| {
            ns.ip(&["addr", "add", v4, "dev", dev]);
            ns.ip(&["-6", "addr", "add", v6, "dev", dev, "nodad"]);
            ns.ip(&["link", "set", dev, "up"]);
        };
        address(c, "eth0", "198.51.100.2/30", "2001:db8:100:1::2/64");
        address(c, "void", "198.51.100.129/25", "2001:db8:100:f::1/64");
        address(r1, "west", "198.51.100.1/30", "2001:db8:100:1::1/64");
        address(r1, "east", "198.51.100.5/30", "2001:db8:100:2::1/64");
        address(r2, "west", "198.51.100.6/30", "2001:db8:100:2::2/64");
        address(r2, "east", "203.0.113.1/24", "2001:db8:100:3::1/64");
        address(t, "eth0", "203.0.113.10/24", "2001:db8:100:3::10/64");
        c.ip(&[
            "neigh",
            "add",
            addr::SILENT_V4,
            "lladdr",
            "02:00:5e:00:53:01",
            "dev",
            "void",
            "nud",
            "permanent",
        ]);
        c.ip(&[
            "-6",
            "neigh",
            "add",
            addr::SILENT_V6,
            "lladdr",
            "02:00:5e:00:53:01",
            "dev",
            "void",
            "nud",
            "permanent",
        ]);
        c.ip(&["route", "add", "default", "via", "198.51.100.1"]);
        c.ip(&["-6", "route", "add", "default", "via", "2001:db8:100:1::1"]);
        r1.ip(&["route", "add", "203.0.113.0/24", "via", "198.51.100.6"]);
        r1.ip(&[
            "-6",
            "route",
            "add",
            "2001:db8:100:3::/64",
            "via",
            "2001:db8:100:2::2",
        ]);
        r1.ip(&["route", "add", "unreachable", "203.0.113.200/32"]);
        r1.ip(&["route", "add", "prohibit", "203.0.113.201/32"]);
        r1.ip(&[
            "-6",
            "route",
            "add",
            "unreachable",
            "2001:db8:100:3::200/128",
        ]);
        r1.ip(&["-6", "route", "add", "prohibit", "2001:db8:100:3::201/128"]);
        r2.ip(&["route", "add", "198.51.100.0/30", "via", "198.51.100.5"]);
        r2.ip(&[
            "-6",
            "route",
            "add",
            "2001:db8:100:1::/64",
            "via",
            "2001:db8:100:2::1",
        ]);
        t.ip(&["route", "add", "default", "via", "203.0.113.1"]);
        t.ip(&["-6", "route", "add", "default", "via", "2001:db8:100:3::1"]);
        Some(chain)
    }
}
