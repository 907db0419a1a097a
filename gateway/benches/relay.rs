//! Run with `cargo bench -p consult-gateway --bench relay --profile native` (add `-- --quick` for
//! a short check of the instrument, `-- --help` for its options); `cargo xtask bench` runs it too.
//!
//! The launcher of the gateway section of the benches. It installs the load generator's npm
//! packages (pinned in `benches/load/package-lock.json`) when they are missing, then runs
//! `benches/load/run.mjs` against the `consult` binary cargo built for this bench, in the same
//! profile. The generator starts `consult serve` and the two peers (a Node `ws` relay and a
//! socket.io relay, both storing nothing), drives them and prints one table; run.mjs says what is
//! measured and how. Every process it starts ends with it.
//!
//! With `-- --counsel` it runs `benches/load/counsel.mjs` instead: Counsel API replies beside desk
//! replies, and webhook deliveries (that file says what is measured).

use std::path::PathBuf;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/load");
    let installed = ["ws", "socket.io", "socket.io-client"].iter().all(|p| dir.join("node_modules").join(p).is_dir());
    if !installed {
        eprintln!("$ npm ci (in {})", dir.display());
        match Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir).status() {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!("relay bench: npm ci failed ({s}) in {}", dir.display());
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("relay bench: cannot run npm ({e}); install Node.js 20 or later with npm");
                return ExitCode::FAILURE;
            }
        }
    }
    // `cargo bench` passes `--bench` to every bench binary; the rest is for the generator.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let script = if args.iter().any(|a| a == "--counsel") { "counsel.mjs" } else { "run.mjs" };
    let args = args.into_iter().filter(|a| a != "--counsel");
    let status = Command::new("node").arg(dir.join(script)).arg("--consult").arg(env!("CARGO_BIN_EXE_consult")).args(args).status();
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => {
            eprintln!("relay bench: the load generator failed ({s})");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("relay bench: cannot run node ({e}); install Node.js 20 or later");
            ExitCode::FAILURE
        }
    }
}
