//! Live watchers of one session (the web viewer's stream). A watcher gets
//! the screen painted once, then the raw output as it comes and every
//! change of the session or of its commands, through a bounded queue.
//!
//! A watcher that reads too slowly never slows the session: once its queue
//! is full its output is dropped, and when it has drained half the queue it
//! gets a fresh painting of the screen (which covers everything dropped)
//! and the current state instead.

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::commands::CommandSummary;
use super::types::SessionInfo;

/// Events queued per watcher before it counts as behind.
pub const WATCH_QUEUE: usize = 256;
/// Watchers one session accepts at a time.
pub const MAX_WATCHERS: usize = 16;
/// Commands a watcher is told about when it starts or catches up.
pub const RECENT_COMMANDS: usize = 32;

/// Escape sequences that paint a screen on a freshly reset terminal of
/// `cols` x `rows`: contents, attributes, cursor and input modes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenPaint {
    /// Width.
    pub cols: u16,
    /// Height.
    pub rows: u16,
    /// The escape sequences.
    pub data: String,
}

impl ScreenPaint {
    /// The painting of `screen`.
    pub fn of(screen: &vt100::Screen) -> ScreenPaint {
        let (rows, cols) = screen.size();
        let mut data = String::new();
        // The painting must land where the program draws: a full-screen
        // program's later output addresses the alternate screen.
        if screen.alternate_screen() {
            data.push_str("\x1b[?1049h");
        }
        data.push_str(&screen.state_formatted());
        ScreenPaint {
            cols: cols.get(),
            rows: rows.get(),
            data,
        }
    }
}

/// What a watcher receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// Paint this on a reset terminal. `resync` when it replaces output
    /// the watcher was too slow for.
    Paint {
        /// The screen.
        paint: ScreenPaint,
        /// True after dropped output.
        resync: bool,
    },
    /// Raw output, continuing from the last paint.
    Output(Vec<u8>),
    /// The session changed (status, command, size, title…).
    Session(Box<SessionInfo>),
    /// A command was accepted or changed state.
    Command(CommandSummary),
}

/// A new watcher's start: the state now, then `events`.
#[derive(Debug)]
pub struct Watching {
    /// The session.
    pub session: SessionInfo,
    /// Recent commands, oldest first.
    pub commands: Vec<CommandSummary>,
    /// The screen now.
    pub paint: ScreenPaint,
    /// Everything after; ends when the session is closed.
    pub events: mpsc::Receiver<WatchEvent>,
}

/// What a watcher is sent when it catches up: everything it may have missed.
pub struct CatchUp {
    /// The screen now.
    pub paint: ScreenPaint,
    /// The session now.
    pub session: SessionInfo,
    /// Recent commands.
    pub commands: Vec<CommandSummary>,
}

struct Watcher {
    tx: mpsc::Sender<WatchEvent>,
    behind: bool,
}

/// The watchers of one session.
#[derive(Default)]
pub struct Watchers {
    list: Vec<Watcher>,
    /// The session as last sent, to send only changes.
    last_session: Option<SessionInfo>,
}

impl Watchers {
    /// True when nobody watches (the session then does no watch work).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Adds a watcher; `None` when the session has too many already.
    pub fn add(&mut self, session: &SessionInfo) -> Option<mpsc::Receiver<WatchEvent>> {
        self.list.retain(|w| !w.tx.is_closed());
        if self.list.len() >= MAX_WATCHERS {
            return None;
        }
        let (tx, rx) = mpsc::channel(WATCH_QUEUE);
        self.list.push(Watcher { tx, behind: false });
        self.last_session = Some(comparable(session));
        Some(rx)
    }

    /// Sends raw output to every watcher that keeps up; `catch_up` makes
    /// the state for the ones that were behind and have room again.
    pub fn output(&mut self, bytes: &[u8], catch_up: impl FnOnce() -> CatchUp) {
        self.deliver(Some(bytes), catch_up);
    }

    /// True when a watcher waits to be caught up (the session then calls
    /// [`Watchers::retry_behind`] now and then: no output may come to
    /// trigger it).
    pub fn any_behind(&self) -> bool {
        self.list.iter().any(|w| w.behind)
    }

    /// Catches up the watchers that were behind and have room again.
    pub fn retry_behind(&mut self, catch_up: impl FnOnce() -> CatchUp) {
        self.deliver(None, catch_up);
    }

    fn deliver(&mut self, bytes: Option<&[u8]>, catch_up: impl FnOnce() -> CatchUp) {
        let mut catch_up = Some(catch_up);
        let mut made: Option<CatchUp> = None;
        self.list.retain_mut(|w| {
            if !w.behind {
                return match bytes {
                    Some(bytes) => send(w, WatchEvent::Output(bytes.to_vec())),
                    None => !w.tx.is_closed(),
                };
            }
            if w.tx.capacity() < WATCH_QUEUE / 2 {
                return !w.tx.is_closed();
            }
            let state = made.get_or_insert_with(|| (catch_up.take().expect("made once"))());
            send_state(w, state, true)
        });
    }

    /// The session's program was replaced: every watcher starts over from
    /// `state` (a blank screen, usually).
    pub fn restart(&mut self, state: CatchUp) {
        self.last_session = Some(comparable(&state.session));
        self.list.retain_mut(|w| send_state(w, &state, false));
    }

    /// Tells every watcher the session now looks like `session`, unless
    /// that is what they saw last.
    pub fn session(&mut self, session: &SessionInfo) {
        let now = comparable(session);
        if self.last_session.as_ref() == Some(&now) {
            return;
        }
        self.last_session = Some(now);
        self.broadcast(|| WatchEvent::Session(Box::new(session.clone())));
    }

    /// Tells every watcher about a command's new state.
    pub fn command(&mut self, command: CommandSummary) {
        self.broadcast(|| WatchEvent::Command(command.clone()));
    }

    fn broadcast(&mut self, event: impl Fn() -> WatchEvent) {
        // One that is behind gets the whole state when it catches up.
        self.list.retain_mut(|w| w.behind || send(w, event()));
    }
}

/// Queues the whole `state` for `w` (no longer behind).
fn send_state(w: &mut Watcher, state: &CatchUp, resync: bool) -> bool {
    w.behind = false;
    let mut events = vec![
        WatchEvent::Paint {
            paint: state.paint.clone(),
            resync,
        },
        WatchEvent::Session(Box::new(state.session.clone())),
    ];
    events.extend(state.commands.iter().cloned().map(WatchEvent::Command));
    events.into_iter().all(|e| send(w, e))
}

/// Queues `event` for `w`; marks it behind when its queue is full. False
/// when the watcher is gone.
fn send(w: &mut Watcher, event: WatchEvent) -> bool {
    match w.tx.try_send(event) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            w.behind = true;
            true
        }
        Err(TrySendError::Closed(_)) => false,
    }
}

/// `session` without what changes by itself (a running command's duration,
/// a recording's size): a change there is not worth an event.
fn comparable(session: &SessionInfo) -> SessionInfo {
    let mut s = session.clone();
    s.recording = None;
    if let Some(c) = &mut s.last_command {
        c.duration_ms = 0;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::commands::CommandStatus;
    use crate::terminal::types::{SessionKind, SessionStatus};

    fn info() -> SessionInfo {
        SessionInfo {
            id: "s".into(),
            name: "n".into(),
            kind: SessionKind::Shell,
            status: SessionStatus::Running,
            exit_code: None,
            cols: 80,
            rows: 24,
            title: String::new(),
            cwd: None,
            created_at: "2026-11-26T00:00:00Z".into(),
            restarted: false,
            command: vec!["bash".into()],
            pid: Some(1),
            shell_integration: true,
            running_command: None,
            read_only: false,
            ready: true,
            prompt_hint: None,
            last_command: None,
            recording: None,
        }
    }

    fn command(status: CommandStatus) -> CommandSummary {
        CommandSummary {
            id: "cmd_1".into(),
            command: "echo x".into(),
            status,
            exit_code: None,
            accepted_at: "2026-11-26T00:00:00Z".into(),
            duration_ms: 0,
            prompt_hint: None,
        }
    }

    fn catch_up() -> CatchUp {
        CatchUp {
            paint: ScreenPaint {
                cols: 80,
                rows: 24,
                data: "PAINT".into(),
            },
            session: info(),
            commands: vec![command(CommandStatus::Completed)],
        }
    }

    fn drain(rx: &mut mpsc::Receiver<WatchEvent>) -> Vec<WatchEvent> {
        let mut out = Vec::new();
        while let Ok(e) = rx.try_recv() {
            out.push(e);
        }
        out
    }

    #[test]
    fn output_and_changes_arrive_in_order() {
        let mut w = Watchers::default();
        let mut rx = w.add(&info()).unwrap();
        w.output(b"hello", || unreachable!("nobody is behind"));
        w.command(command(CommandStatus::Running));
        w.session(&info()); // unchanged: not sent
        let mut changed = info();
        changed.running_command = Some("echo x".into());
        w.session(&changed);
        assert_eq!(
            drain(&mut rx),
            vec![
                WatchEvent::Output(b"hello".to_vec()),
                WatchEvent::Command(command(CommandStatus::Running)),
                WatchEvent::Session(Box::new(changed)),
            ]
        );
    }

    #[test]
    fn durations_and_recording_size_are_not_changes() {
        let mut w = Watchers::default();
        let mut running = info();
        running.last_command = Some(command(CommandStatus::Running));
        let mut rx = w.add(&running).unwrap();
        running.last_command.as_mut().unwrap().duration_ms = 1500;
        w.session(&running);
        assert!(drain(&mut rx).is_empty());
    }

    #[test]
    fn a_slow_watcher_is_caught_up_with_a_paint_and_never_blocks() {
        let mut w = Watchers::default();
        let mut slow = w.add(&info()).unwrap();
        let mut fast = w.add(&info()).unwrap();
        // Far more output than the queue holds: every call returns at once.
        for i in 0..WATCH_QUEUE * 4 {
            w.output(format!("{i}\n").as_bytes(), catch_up);
            drain(&mut fast);
        }
        w.command(command(CommandStatus::Completed));
        assert_eq!(slow.len(), WATCH_QUEUE, "the queue is bounded");
        // Still behind with a little room: nothing sent yet.
        for _ in 0..10 {
            slow.try_recv().unwrap();
        }
        w.output(b"more", catch_up);
        assert_eq!(slow.len(), WATCH_QUEUE - 10);
        // With half the queue free it gets the state, then output again,
        // whether more output comes or the session looks on its own.
        drain(&mut slow);
        assert!(w.any_behind());
        w.output(b"dropped: already in the paint", catch_up);
        assert!(!w.any_behind());
        w.output(b"next", catch_up);
        assert_eq!(
            drain(&mut slow),
            vec![
                WatchEvent::Paint {
                    paint: catch_up().paint,
                    resync: true
                },
                WatchEvent::Session(Box::new(info())),
                WatchEvent::Command(command(CommandStatus::Completed)),
                WatchEvent::Output(b"next".to_vec()),
            ]
        );
    }

    #[test]
    fn a_slow_watcher_is_caught_up_without_more_output() {
        let mut w = Watchers::default();
        let mut slow = w.add(&info()).unwrap();
        for _ in 0..=WATCH_QUEUE {
            w.output(b"x", catch_up);
        }
        assert!(w.any_behind());
        w.retry_behind(catch_up);
        assert!(w.any_behind(), "no room yet");
        drain(&mut slow);
        w.retry_behind(catch_up);
        assert!(!w.any_behind());
        assert!(matches!(
            slow.try_recv().unwrap(),
            WatchEvent::Paint { resync: true, .. }
        ));
    }

    #[test]
    fn gone_watchers_are_forgotten_and_the_number_is_bounded() {
        let mut w = Watchers::default();
        let receivers: Vec<_> = (0..MAX_WATCHERS).map(|_| w.add(&info()).unwrap()).collect();
        assert!(w.add(&info()).is_none());
        drop(receivers);
        w.output(b"x", catch_up);
        assert!(w.is_empty());
        assert!(w.add(&info()).is_some());
    }

    #[test]
    fn a_paint_reproduces_the_screen() {
        let mut parser = vt100::Parser::new(
            std::num::NonZeroU16::new(5).unwrap(),
            std::num::NonZeroU16::new(20).unwrap(),
            0,
        );
        parser.process(b"\x1b[31mred\x1b[m plain\r\nsecond line\x1b[2;4H");
        let paint = ScreenPaint::of(parser.screen());
        assert_eq!((paint.cols, paint.rows), (20, 5));
        let mut copy = vt100::Parser::new(
            std::num::NonZeroU16::new(5).unwrap(),
            std::num::NonZeroU16::new(20).unwrap(),
            0,
        );
        copy.process(paint.data.as_bytes());
        assert_eq!(copy.screen().contents(), parser.screen().contents());
        assert_eq!(
            copy.screen().cursor_position(),
            parser.screen().cursor_position()
        );
        assert_eq!(
            copy.screen().cell(0, 0).unwrap().fgcolor(),
            vt100::Color::Idx(1)
        );
        // A full-screen program's screen is painted on the alternate screen.
        parser.process(b"\x1b[?1049hvim");
        let paint = ScreenPaint::of(parser.screen());
        assert!(paint.data.starts_with("\x1b[?1049h"));
    }
}
