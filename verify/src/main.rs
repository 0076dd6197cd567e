//! `tombola-verify draw <proof.json>` or `tombola-verify log <log.json>`:
//! exit status 0 when everything matches, 1 when an entry does not, 2 on
//! bad usage or an unreadable file.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use tombola_verify::{Kind, report, verify};

const USAGE: &str = "usage: tombola-verify draw <proof.json> | log <log.json>";

fn run() -> anyhow::Result<bool> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, path] = args.as_slice() else {
        bail!("{USAGE}");
    };
    let kind = match kind.as_str() {
        "draw" => Kind::Draw,
        "log" => Kind::Log,
        other => bail!("unknown kind {other:?}; {USAGE}"),
    };
    let json = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let verdict = verify(kind, &json).with_context(|| path.clone())?;
    print!("{}", report(&verdict));
    Ok(verdict.is_clean())
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("{error:#}");
            ExitCode::from(2)
        }
    }
}
