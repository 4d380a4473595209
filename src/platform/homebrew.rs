//! Whether this copy was installed with Homebrew's cask (`Casks/`): its folder in the Caskroom
//! exists. Homebrew lives in /opt/homebrew on Apple silicon and /usr/local on Intel Macs; Linux
//! has no casks, so there the answer is always no. A stat of two paths, no process.

use std::path::Path;

/// The cask's folders, one per Homebrew prefix.
pub const CASKROOMS: [&str; 2] = [
    "/opt/homebrew/Caskroom/bittrader-worker",
    "/usr/local/Caskroom/bittrader-worker",
];

pub fn installed_with_homebrew() -> bool {
    CASKROOMS.iter().any(|folder| Path::new(folder).is_dir())
}
