//! The terminal subsystem: a manager actor and one actor per session, on top
//! of a PTY-free screen model (`screen`), a clean output log (`output`) and
//! the key-name parser (`keys`).

pub mod keys;
pub mod output;
pub mod screen;
