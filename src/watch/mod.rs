//! `testsmith watch`'s machinery: which paths count ([`filter`]), what a batch of
//! notifications says happened ([`changes`]), how a save is told from an echo of testsmith's
//! own write ([`known`]), the notifications themselves and their quiet window
//! ([`notifications`]), and Ctrl-C ([`interrupt`]). The front door is
//! [`crate::commands::watch`].

mod changes;
mod filter;
mod interrupt;
mod known;
mod notifications;

pub use changes::Changes;
pub use filter::{PathFilter, WatchRoot};
pub use interrupt::listen_for_interrupt;
pub use known::{KnownSources, Reading};
pub use notifications::FolderWatcher;
