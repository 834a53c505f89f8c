//! Panics of third-party code that must not end a run. cel-interpreter and its parser panic on
//! some input they do not support (`todo!` for a comprehension over a number, antlr on some
//! malformed text); rules come from users and data from anywhere, so those calls run through
//! [`quietly`], which turns the panic into an error message.
//!
//! The report a panic normally prints on stderr is left out for those calls (it would tear the
//! dashboard's screen and alarm a cron log over a handled error): a process-wide hook, installed
//! once, skips the report of a panic raised while the current thread is inside [`quietly`] and
//! passes every other panic to the hook that was there before. The dashboard's own hook, which
//! restores the terminal, asks [`is_quiet`] first for the same reason.

use std::cell::Cell;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is inside [`quietly`] (a panic now is caught and handled).
pub fn is_quiet() -> bool {
    QUIET.with(Cell::get)
}

/// Runs `f`; a panic inside it comes back as its message.
pub fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !is_quiet() {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panicked".to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_the_flag_is_restored() {
        assert!(!is_quiet());
        assert_eq!(quietly(|| 7), Ok(7));
        let caught = quietly(|| -> u8 { panic!("unsupported {}", 42) });
        assert_eq!(caught, Err("unsupported 42".to_string()));
        let nested = quietly(|| {
            let inner = quietly(|| -> u8 { panic!("inner") });
            (inner, is_quiet())
        });
        assert_eq!(nested, Ok((Err("inner".to_string()), true)));
        assert!(!is_quiet());
    }
}
