//! The `nixa` executable: logging, then the command line (`cli/`, one file per subcommand).
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
