//! Ctrl-C (and SIGTERM) for `watch`: a small thread that waits for the signal, cancels the
//! model's requests and wakes the watch loop, which then stops between passes. A second
//! Ctrl-C ends the process at once, for a pass that takes too long to finish: writes are
//! atomic and the state database is transactional, so nothing is left half-done.

use super::notifications::Wake;
use crate::llm::CancellationToken;
use std::sync::mpsc;

/// Listens for Ctrl-C and SIGTERM from now on. On either, `cancel` (the `--llm` session's
/// requests and backoff sleeps) is cancelled and the loop behind `waker` is woken. Returns
/// once the signal handlers are installed, so a Ctrl-C right after is never lost to the
/// default handler (which would kill the process mid-write).
pub fn listen_for_interrupt(
    waker: mpsc::Sender<Wake>,
    cancel: Option<CancellationToken>,
) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut interrupt, mut terminate) = runtime.block_on(async {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        ))
    })?;
    // The first signal ends the running commands (crate::verify::stop), not the process.
    let graceful = crate::verify::stop::graceful();
    std::thread::Builder::new()
        .name("testsmith-interrupt".to_owned())
        .spawn(move || {
            let _graceful = graceful;
            runtime.block_on(next_signal(&mut interrupt, &mut terminate));
            if let Some(cancel) = cancel {
                cancel.cancel();
            }
            let _ = waker.send(Wake::Interrupted);
            runtime.block_on(next_signal(&mut interrupt, &mut terminate));
            std::process::exit(crate::errors::Outcome::Interrupted.code().into());
        })?;
    Ok(())
}

async fn next_signal(
    interrupt: &mut tokio::signal::unix::Signal,
    terminate: &mut tokio::signal::unix::Signal,
) {
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
}
