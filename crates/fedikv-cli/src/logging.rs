//! `RUST_LOG`: the command's diagnostics, to standard error.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Installs a subscriber that prints what `RUST_LOG` selects, in
/// tracing-subscriber's `EnvFilter` syntax (`RUST_LOG=fedikv=debug` shows
/// every store operation's span with its attributes when it closes, and
/// how long it took), to standard error. Without `RUST_LOG` nothing is
/// installed: nothing is printed and the stores' spans cost nothing. A
/// `RUST_LOG` that cannot be parsed is reported on stderr and ignored.
pub fn init() {
    let Some(directives) = std::env::var_os("RUST_LOG") else {
        return;
    };
    let directives = directives.to_string_lossy();
    let filter = match EnvFilter::try_new(&*directives) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!("fedikv: ignoring RUST_LOG={directives:?}: {e}");
            return;
        }
    };
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    if let Err(e) = installed {
        eprintln!("fedikv: cannot install the RUST_LOG subscriber: {e}");
    }
}
