//! A few loaded copies of one model, shared by an engine's threads. One ONNX Runtime session
//! answers one call at a time; a server's workers that all need the sentence encoder (every
//! distinct query does) each get a copy, up to a limit, instead of queueing on one.

use std::sync::{Condvar, Mutex};

use crate::{lock, Result};

type Make<T> = Box<dyn Fn() -> Result<T> + Send + Sync>;

pub(crate) struct Sessions<T> {
    state: Mutex<State<T>>,
    returned: Condvar,
    most: usize,
    make: Make<T>,
}

struct State<T> {
    idle: Vec<T>,
    /// Copies made so far (idle or lent).
    made: usize,
}

/// A copy lent to one call; it goes back when dropped, even by a panic.
struct Lent<'a, T> {
    sessions: &'a Sessions<T>,
    copy: Option<T>,
}

impl<T> Drop for Lent<'_, T> {
    fn drop(&mut self) {
        if let Some(copy) = self.copy.take() {
            lock(&self.sessions.state).idle.push(copy);
            self.sessions.returned.notify_one();
        }
    }
}

impl<T> Sessions<T> {
    /// At most `most` copies (at least one), each made by `make` when a call finds none idle.
    pub(crate) fn new(most: usize, make: Make<T>) -> Self {
        Self {
            state: Mutex::new(State {
                idle: Vec::new(),
                made: 0,
            }),
            returned: Condvar::new(),
            most: most.max(1),
            make,
        }
    }

    /// Make the first copy now, so that a model that cannot load says so at once.
    pub(crate) fn with_first(self) -> Result<Self> {
        let first = (self.make)()?;
        {
            let mut state = lock(&self.state);
            state.idle.push(first);
            state.made = 1;
        }
        Ok(self)
    }

    /// Run `call` on an idle copy, a new one while fewer than the limit exist, or the first one
    /// given back.
    pub(crate) fn with<R>(&self, call: impl FnOnce(&mut T) -> R) -> Result<R> {
        let idle = {
            let mut state = lock(&self.state);
            loop {
                if let Some(copy) = state.idle.pop() {
                    break Some(copy);
                }
                if state.made < self.most {
                    state.made += 1;
                    break None;
                }
                state = self
                    .returned
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        };
        let copy = match idle {
            Some(copy) => copy,
            None => match (self.make)() {
                Ok(copy) => copy,
                Err(e) => {
                    lock(&self.state).made -= 1;
                    self.returned.notify_one();
                    return Err(e);
                }
            },
        };
        let mut lent = Lent {
            sessions: self,
            copy: Some(copy),
        };
        Ok(call(lent.copy.as_mut().expect("lent until dropped")))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::Sessions;

    #[test]
    fn calls_share_at_most_the_limit_of_copies_and_a_panic_loses_only_its_own() {
        let made = Arc::new(AtomicUsize::new(0));
        let counter = made.clone();
        let sessions = Sessions::new(2, Box::new(move || Ok(counter.fetch_add(1, Ordering::SeqCst))))
            .with_first()
            .unwrap();
        let busy = AtomicUsize::new(0);
        let most_busy = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..6 {
                scope.spawn(|| {
                    sessions
                        .with(|_| {
                            let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                            most_busy.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(50));
                            busy.fetch_sub(1, Ordering::SeqCst);
                        })
                        .unwrap();
                });
            }
        });
        assert_eq!(made.load(Ordering::SeqCst), 2, "two copies made for six calls");
        assert_eq!(most_busy.load(Ordering::SeqCst), 2, "two calls at once, never more");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            sessions.with(|_| panic!("a model call failed")).unwrap();
        }));
        assert!(panicked.is_err());
        // The copy in use came back (dropped by the unwinding), so no new one is needed.
        sessions.with(|_| ()).unwrap();
        assert_eq!(made.load(Ordering::SeqCst), 2);
    }
}
