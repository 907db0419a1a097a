//! Run with `cargo run -p consult-gateway --bin consult -- --help`.
//!
//! One binary fronts Consult: `demo`, `serve`, and the sdk's `keygen`, `sign`, `verify`, `qr`.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "consult", version, about = "Consult: consult buttons, signed launches and the gateway")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate an Ed25519 signing key for a channel.
    Keygen(cli::KeygenArgs),
    /// Sign claims (JSON on stdin or in a file) into a token.
    Sign(cli::SignArgs),
    /// Verify a token and print its claims as JSON.
    Verify(cli::VerifyArgs),
    /// Render a launch URL as an SVG QR code.
    Qr(cli::QrArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::Keygen(a) => cli::keygen(a),
        Command::Sign(a) => cli::sign(a),
        Command::Verify(a) => cli::verify(a),
        Command::Qr(a) => cli::qr(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("consult: {e:#}");
            ExitCode::FAILURE
        }
    }
}
