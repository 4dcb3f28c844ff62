//! [`Now`]: the current time of one operation, read from the clock at most
//! once and only if the operation needs it.

use std::cell::OnceCell;
use std::time::Instant;

/// The time of one operation: the clock is read the first time
/// [`get`](Self::get) is called, and every later call returns that reading.
/// A point operation on entries without expiry never reads the clock.
#[derive(Debug, Default)]
pub(super) struct Now(OnceCell<Instant>);

impl Now {
    /// A time not read yet.
    pub fn lazy() -> Self {
        Self::default()
    }

    /// The time of the operation: `Instant::now()` at the first call.
    pub fn get(&self) -> Instant {
        *self.0.get_or_init(Instant::now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_is_read_once() {
        let now = Now::lazy();
        let first = now.get();
        std::thread::sleep(std::time::Duration::from_millis(1));
        assert_eq!(now.get(), first);
        assert!(Instant::now() > first);
    }
}
