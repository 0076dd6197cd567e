//! A request id's record: where its entry is, what it asked, and the outcome
//! once computed. It is what makes every request exactly-once: the append
//! script refuses a request id that has a record, and a retry is answered
//! from it.
//!
//! # Format
//!
//! ```text
//! record      = seq SP fingerprint [SP outcome]
//! seq         = u64                  ; decimal, the entry's position
//! fingerprint = "draw:" count ":" ("all" / "partial")
//!             / "chunk:" count
//!             / "rollback"
//!             / "restock:" item-id ":" quantity
//!             / "close"
//!             / "rotate"             ; an operator's rotation of a
//!                                    ; rules-2 pool's server seed
//! outcome     = the outcome's JSON (see [`Outcome`])
//! ```
//!
//! The append script writes the pending record, `seq SP fingerprint`, from
//! the sequence number RPUSH returned and the fingerprint it is given; the
//! integration tests read back every record it writes through
//! [`Record::decode`].
//!
//! ```
//! use tombola_core::pool::{draw_entry, Fingerprint, Record, RequestId};
//!
//! let entry = draw_entry(RequestId::new("r-1")?, 3, false, 7)?;
//! let fingerprint = Fingerprint::of(&entry).expect("a draw has a request id");
//! assert_eq!(fingerprint.to_string(), "draw:3:partial");
//! let record = Record::decode(r#"12 draw:3:partial {"kind":"draw","drawn":[],"failed":3,"reason":"out_of_stock"}"#)?;
//! assert_eq!(record.seq, 12);
//! assert!(record.answers(&fingerprint));
//! assert_eq!(Record::decode(&record.encode())?, record);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::pool::entry::{DrawCount, Entry};
use crate::pool::id::ItemId;
use crate::pool::outcome::Outcome;

/// What a request asked, as its record keeps it, so that a request id used
/// again with another body is caught. It is derived from the entry, so
/// every command has exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fingerprint {
    /// A client's draw.
    Draw {
        /// How many draws.
        count: u32,
        /// Whether all-or-nothing.
        all_or_nothing: bool,
    },
    /// A chunk of an operation.
    Chunk {
        /// How many draws.
        count: u32,
    },
    /// An operation's rollback.
    Rollback,
    /// A restock.
    Restock {
        /// The item.
        item: ItemId,
        /// How many units.
        quantity: u64,
    },
    /// A close.
    Close,
    /// An operator's rotation of a rules-2 pool's server seed (its ROTATE
    /// entry carries no request id: the rotation's script writes this
    /// record with it).
    Rotate,
}

impl Fingerprint {
    /// The fingerprint of the request that appends `entry`; `None` for a
    /// CREATE or a given DRAW line, which no request of this engine
    /// appends with a record.
    pub fn of(entry: &Entry) -> Option<Fingerprint> {
        Some(match entry {
            Entry::Draw(draw) => Fingerprint::Draw {
                count: draw.count.get(),
                all_or_nothing: draw.all_or_nothing,
            },
            Entry::FairDraw(draw) => Fingerprint::Draw {
                count: draw.count.get(),
                all_or_nothing: draw.all_or_nothing,
            },
            Entry::FairChunk(chunk) => Fingerprint::Chunk {
                count: chunk.count.get(),
            },
            Entry::Chunk(chunk) => Fingerprint::Chunk {
                count: chunk.count.get(),
            },
            Entry::Rollback(_) | Entry::Return(_) => Fingerprint::Rollback,
            Entry::Restock(restock) => Fingerprint::Restock {
                item: restock.item.clone(),
                quantity: restock.quantity.get(),
            },
            Entry::Close => Fingerprint::Close,
            Entry::Create(_) | Entry::GivenDraw(_) | Entry::Commit(_) | Entry::Rotate(_) => {
                return None;
            }
        })
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fingerprint::Draw {
                count,
                all_or_nothing,
            } => {
                let fill = if *all_or_nothing { "all" } else { "partial" };
                write!(f, "draw:{count}:{fill}")
            }
            Fingerprint::Chunk { count } => write!(f, "chunk:{count}"),
            Fingerprint::Rollback => f.write_str("rollback"),
            Fingerprint::Restock { item, quantity } => write!(f, "restock:{item}:{quantity}"),
            Fingerprint::Close => f.write_str("close"),
            Fingerprint::Rotate => f.write_str("rotate"),
        }
    }
}

impl FromStr for Fingerprint {
    type Err = RecordError;

    fn from_str(text: &str) -> Result<Fingerprint, RecordError> {
        let bad = || RecordError::Fingerprint(text.to_owned());
        let count = |text: &str| {
            text.parse::<u32>()
                .ok()
                .and_then(DrawCount::new)
                .map(DrawCount::get)
                .filter(|count| count.to_string() == text)
                .ok_or_else(bad)
        };
        let mut parts = text.split(':');
        let fingerprint = match (parts.next(), parts.next(), parts.next()) {
            (Some("draw"), Some(n), Some(fill)) => Fingerprint::Draw {
                count: count(n)?,
                all_or_nothing: match fill {
                    "all" => true,
                    "partial" => false,
                    _ => return Err(bad()),
                },
            },
            (Some("chunk"), Some(n), None) => Fingerprint::Chunk { count: count(n)? },
            (Some("rollback"), None, None) => Fingerprint::Rollback,
            (Some("restock"), Some(item), Some(quantity)) => Fingerprint::Restock {
                item: ItemId::new(item).map_err(|_| bad())?,
                quantity: quantity
                    .parse::<u64>()
                    .ok()
                    .filter(|q| *q > 0 && q.to_string() == quantity)
                    .ok_or_else(bad)?,
            },
            (Some("close"), None, None) => Fingerprint::Close,
            (Some("rotate"), None, None) => Fingerprint::Rotate,
            _ => return Err(bad()),
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(fingerprint)
    }
}

/// Why a stored record cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// No sequence number, or not a decimal one.
    #[error("request record {0:?} has no valid sequence number")]
    Seq(String),
    /// A fingerprint that is not one of the format's.
    #[error("request record fingerprint {0:?} is not valid")]
    Fingerprint(String),
    /// An outcome that is not an outcome's JSON.
    #[error("request record outcome does not parse: {0}")]
    Outcome(String),
}

/// A request id's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The entry's sequence number.
    pub seq: u64,
    /// What the request asked.
    pub fingerprint: Fingerprint,
    /// The outcome, once recorded.
    pub outcome: Option<Outcome>,
}

impl Record {
    /// Reads a stored record.
    ///
    /// # Errors
    ///
    /// A [`RecordError`] naming the part that is not in the format.
    pub fn decode(text: &str) -> Result<Record, RecordError> {
        let mut parts = text.splitn(3, ' ');
        let seq = parts
            .next()
            .filter(|seq| !seq.starts_with('0') || *seq == "0")
            .and_then(|seq| seq.parse().ok())
            .ok_or_else(|| RecordError::Seq(text.to_owned()))?;
        let fingerprint = parts.next().unwrap_or_default().parse()?;
        let outcome = parts
            .next()
            .map(|json| {
                serde_json::from_str(json).map_err(|error| RecordError::Outcome(error.to_string()))
            })
            .transpose()?;
        Ok(Record {
            seq,
            fingerprint,
            outcome,
        })
    }

    /// The record as it is stored before its outcome is known.
    pub fn pending(&self) -> String {
        format!("{} {}", self.seq, self.fingerprint)
    }

    /// The record as it is stored.
    pub fn encode(&self) -> String {
        match &self.outcome {
            Some(outcome) => format!(
                "{} {}",
                self.pending(),
                serde_json::to_string(outcome).expect("outcomes serialize")
            ),
            None => self.pending(),
        }
    }

    /// Whether this record belongs to a request that asked `fingerprint`:
    /// when it does not, the request id was used for another request and
    /// the caller gets a conflict.
    pub fn answers(&self, fingerprint: &Fingerprint) -> bool {
        &self.fingerprint == fingerprint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_have_one_spelling() {
        for text in [
            "draw:1:partial",
            "draw:1000:all",
            "chunk:10",
            "rollback",
            "restock:gold:5",
            "close",
            "rotate",
        ] {
            assert_eq!(text.parse::<Fingerprint>().unwrap().to_string(), text);
        }
        for bad in [
            "",
            "draw:0:all",
            "draw:1001:all",
            "draw:01:all",
            "draw:1:some",
            "draw:1",
            "chunk:1:x",
            "rollback:1",
            "restock:gold:0",
            "restock:FAILED:1",
            "restock:gold:05",
            "close:",
            "rotate:1",
            "open",
        ] {
            assert_eq!(
                bad.parse::<Fingerprint>(),
                Err(RecordError::Fingerprint(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn records_round_trip_and_refuse_garbage() {
        let pending = Record::decode("12 chunk:10").unwrap();
        assert_eq!(pending.outcome, None);
        assert_eq!(pending.encode(), "12 chunk:10");
        let done = Record {
            outcome: Some(Outcome::Close),
            ..pending.clone()
        };
        assert_eq!(Record::decode(&done.encode()).unwrap(), done);
        assert_eq!(
            Record::decode("x close"),
            Err(RecordError::Seq("x close".into()))
        );
        assert_eq!(
            Record::decode("012 close"),
            Err(RecordError::Seq("012 close".into()))
        );
        assert_eq!(
            Record::decode("12"),
            Err(RecordError::Fingerprint(String::new()))
        );
        assert!(matches!(
            Record::decode("12 close {\"kind\":\"nope\"}"),
            Err(RecordError::Outcome(_))
        ));
    }

    #[test]
    fn a_record_answers_only_its_own_request() {
        let record = Record::decode("3 draw:2:all").unwrap();
        assert!(record.answers(&Fingerprint::Draw {
            count: 2,
            all_or_nothing: true
        }));
        assert!(!record.answers(&Fingerprint::Draw {
            count: 2,
            all_or_nothing: false
        }));
        assert!(!record.answers(&Fingerprint::Chunk { count: 2 }));
    }
}
