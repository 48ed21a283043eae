//! `kruispunt`: the broker's command line. A thin shell over the library: parse arguments, set up
//! logging and a runtime, call the library.

mod cli;

/// Exit code when a command fails (1 is kept for "the ledger does not verify").
const EXIT_FAILURE: i32 = 2;

fn main() {
    if let Err(error) = cli::main() {
        match error.downcast_ref::<tonic::Status>() {
            // The broker's refusal, as gRPC code name and message.
            Some(status) => eprintln!("error: {:?}: {}", status.code(), status.message()),
            None => eprintln!("error: {error:#}"),
        }
        std::process::exit(EXIT_FAILURE);
    }
}
