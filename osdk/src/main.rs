//! `osdk`: the host tool of the kernel project. It builds the kernel, packs
//! an initramfs, boots both in QEMU and turns what the guest reports into an
//! exit status (see `doc/runner-protocol.md`).
//!
//! ```text
//! osdk build [--ktest] [--profile release|dev] [--workspace DIR]
//! osdk run [options]
//! osdk test-apps --manifest FILE [options]
//! osdk session --script FILE [options]
//! ```
//!
//! `osdk help` lists every option.

mod builder;
mod cli;
mod commands;
mod cpio;
mod initramfs;
mod manifest;
mod qemu;
mod runner;
mod session;
mod status;
mod summary;
mod test_apps;
#[cfg(test)]
mod testutil;

use std::process::ExitCode;

/// Exit status for a command line that cannot be understood.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    let mut args = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(arg) => args.push(arg),
            Err(arg) => {
                eprintln!("osdk: error: argument {arg:?} is not valid UTF-8");
                return ExitCode::from(USAGE_ERROR);
            }
        }
    }
    let command = match cli::parse(args) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("osdk: error: {e}\n(see `osdk help`)");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let result = match &command {
        cli::Command::Help => {
            print!("{}", cli::USAGE);
            Ok(0)
        }
        cli::Command::Build(args) => commands::build(args),
        cli::Command::Run(args) => commands::run(args),
        cli::Command::TestApps(args) => test_apps::run(args),
        cli::Command::Session(args) => session::run(args),
    };
    match result {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            eprintln!("osdk: error: {e}");
            ExitCode::from(1)
        }
    }
}
