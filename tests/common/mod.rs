//! What the integration tests share that needs bittrader-worker's own types: the simulated
//! world around the pure supervisor ([`sim`]). A test brings it in with `mod common;`.
//!
//! The IO harness (data folders for the real binary, the fake head, processes, the two-host
//! lab) is the `bittrader-test-support` crate in `tests/support/` instead: a library, so no test
//! needs `allow(dead_code)` for the helpers it does not use, and one that does not depend on
//! bittrader-worker (that would link a second copy of it into the tests).

pub mod sim;
