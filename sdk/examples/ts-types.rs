//! Run with `cargo run -p consult-sdk --features ts --example ts-types -- <out.d.ts>` (or
//! `cargo xtask types`): writes the TypeScript declarations of the wire types.

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: ts-types <out.d.ts>");
        std::process::exit(2);
    };
    let path = std::path::PathBuf::from(path);
    let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, consult_sdk::ts::declarations()));
    if let Err(e) = written {
        eprintln!("ts-types: cannot write {}: {e}", path.display());
        std::process::exit(1);
    }
}
