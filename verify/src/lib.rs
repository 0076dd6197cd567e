//! Tombola's offline verifier: recomputes a rules-2 draw from its proof, or
//! a whole exported log, with nothing but the core, and names each entry
//! that does not match. It opens no connection.
//!
//! The formats and the checks are the core's
//! ([`tombola_core::pool::proof`]); this crate reads the files and prints
//! the verdict.
//!
//! ```
//! use tombola_verify::{verify, Kind};
//!
//! let verdict = verify(Kind::Log, r#"{"pool":"p","entries":[
//!     {"seq":1,"line":"CREATE/1 p 2 stock 32 P a:1:5"}]}"#)?;
//! assert!(verdict.is_clean());
//! # Ok::<(), anyhow::Error>(())
//! ```

use anyhow::Context as _;
use tombola_core::pool::proof::{self, LogExport, Proof, Verdict};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One draw's proof.
    Draw,
    /// An exported log.
    Log,
}

/// Parses `json` as a proof or an exported log and recomputes it.
///
/// # Errors
///
/// When `json` is not a proof or a log export of the documented shape.
pub fn verify(kind: Kind, json: &str) -> anyhow::Result<Verdict> {
    Ok(match kind {
        Kind::Draw => {
            let proof: Proof = serde_json::from_str(json).context("not a draw proof")?;
            proof::verify_proof(&proof)
        }
        Kind::Log => {
            let export: LogExport = serde_json::from_str(json).context("not an exported log")?;
            proof::verify_log(&export)
        }
    })
}

/// The verdict as lines a person reads: one per entry that does not match,
/// then a summary.
pub fn report(verdict: &Verdict) -> String {
    let mut out = String::new();
    for finding in &verdict.findings {
        out.push_str(&format!("entry {}: {}\n", finding.seq, finding.problem));
    }
    out.push_str(&format!(
        "{} draw(s) verified, {} pending a server seed's reveal, {} mismatch(es)\n",
        verdict.verified,
        verdict.pending,
        verdict.findings.len()
    ));
    out
}
