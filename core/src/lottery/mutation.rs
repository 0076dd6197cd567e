//! The store's changes as mutations the cloud can apply: a name and its
//! arguments, serialized as `{"name": ..., "args": {...}}`.
//!
//! The store writes one mutation into its outbox in the same transaction
//! as the change it describes, and pushes the outbox to the cloud in order.
//! The arguments are what the change was asked with, so the cloud can run
//! the same rules over its own copy of the store's packs and days.
//!
//! ```
//! use tombola_core::lottery::{Mutation, PackKey, PackNumber};
//!
//! let pack = PackKey { game: "050".parse()?, number: PackNumber::new(1234567)? };
//! let mutation = Mutation::SettlePack { pack };
//! let json = serde_json::to_value(&mutation)?;
//! assert_eq!(json, serde_json::json!({
//!     "name": "settlePack", "args": {"pack": {"game": "050", "number": 1234567}}
//! }));
//! assert_eq!(Mutation::from_parts("settlePack", json["args"].clone())?, mutation);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::bin::BinNumber;
use super::close::PreparedClose;
use super::pack::{Displace, PackKey};
use super::sales::{Reading, Serial};

/// A change made at the store, as it goes to the cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "name",
    content = "args",
    rename_all = "camelCase",
    deny_unknown_fields
)]
pub enum Mutation {
    /// Bins created at the store (on first setup).
    #[serde(rename_all = "snake_case")]
    CreateBins {
        /// Their numbers.
        bins: Vec<BinNumber>,
    },
    /// A pack received into stock.
    #[serde(rename_all = "snake_case")]
    ReceivePack {
        /// The pack; its game says what it is.
        pack: PackKey,
    },
    /// A pack activated into a bin.
    #[serde(rename_all = "snake_case")]
    ActivatePack {
        /// The pack.
        pack: PackKey,
        /// The bin.
        bin: BinNumber,
        /// The first ticket it sells from.
        opening: Serial,
        /// What became of the pack that was in the bin.
        displaced: Option<Displace>,
    },
    /// A pack settled: sold out.
    #[serde(rename_all = "snake_case")]
    SettlePack {
        /// The pack.
        pack: PackKey,
    },
    /// A pack returned to the distributor.
    #[serde(rename_all = "snake_case")]
    ReturnPack {
        /// The pack.
        pack: PackKey,
        /// Where it stood, for a pack returned from its bin.
        reading: Option<Reading>,
    },
    /// A business day closed, with its close as committed.
    #[serde(rename_all = "snake_case")]
    CloseDay {
        /// The close.
        close: PreparedClose,
    },
}

/// The name of every mutation, as it appears on the wire.
pub const MUTATION_NAMES: [&str; 6] = [
    "createBins",
    "receivePack",
    "activatePack",
    "settlePack",
    "returnPack",
    "closeDay",
];

/// Why a name and arguments are not a mutation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MutationError {
    /// A name no mutation has.
    #[error("name: {name:?} is not a mutation")]
    UnknownName {
        /// The name.
        name: String,
    },
    /// Arguments that do not fit the mutation.
    #[error("args: {name}: {reason}")]
    BadArgs {
        /// The mutation's name.
        name: String,
        /// What the JSON reader said, naming the field.
        reason: String,
    },
}

impl Mutation {
    /// The mutation's name on the wire.
    pub const fn name(&self) -> &'static str {
        match self {
            Mutation::CreateBins { .. } => MUTATION_NAMES[0],
            Mutation::ReceivePack { .. } => MUTATION_NAMES[1],
            Mutation::ActivatePack { .. } => MUTATION_NAMES[2],
            Mutation::SettlePack { .. } => MUTATION_NAMES[3],
            Mutation::ReturnPack { .. } => MUTATION_NAMES[4],
            Mutation::CloseDay { .. } => MUTATION_NAMES[5],
        }
    }

    /// The arguments alone, as JSON.
    pub fn args(&self) -> Value {
        let mut whole = serde_json::to_value(self).expect("a mutation is always JSON");
        whole["args"].take()
    }

    /// Reads a mutation from its name and arguments, as a push carries
    /// them, telling an unknown name from bad arguments so the cloud can
    /// report each.
    ///
    /// # Errors
    ///
    /// [`MutationError::UnknownName`] for a name not in
    /// [`MUTATION_NAMES`]; [`MutationError::BadArgs`] when the arguments do
    /// not read as that mutation's, or break a rule of their types.
    pub fn from_parts(name: &str, args: Value) -> Result<Mutation, MutationError> {
        if !MUTATION_NAMES.contains(&name) {
            return Err(MutationError::UnknownName { name: name.into() });
        }
        let whole = serde_json::json!({ "name": name, "args": args });
        serde_json::from_value(whole).map_err(|error| MutationError::BadArgs {
            name: name.into(),
            reason: error.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lottery::game::GameCode;
    use crate::lottery::pack::{DisplaceAction, PackNumber};
    use serde_json::json;

    fn pack(number: u32) -> PackKey {
        PackKey {
            game: GameCode::new(50).unwrap(),
            number: PackNumber::new(number).unwrap(),
        }
    }

    fn bin(number: u32) -> BinNumber {
        BinNumber::new(number).unwrap()
    }

    fn every_mutation() -> Vec<Mutation> {
        let close = serde_json::from_value(json!({
            "date": "2025-06-02", "lines": [], "bins": [], "tickets": 0, "amount": 0,
            "variances": []
        }))
        .unwrap();
        vec![
            Mutation::CreateBins {
                bins: vec![bin(1), bin(2)],
            },
            Mutation::ReceivePack { pack: pack(1) },
            Mutation::ActivatePack {
                pack: pack(2),
                bin: bin(1),
                opening: Serial::new(0),
                displaced: Some(Displace {
                    pack: pack(1),
                    action: DisplaceAction::Return {
                        reading: Reading::Next(Serial::new(9)),
                    },
                }),
            },
            Mutation::SettlePack { pack: pack(2) },
            Mutation::ReturnPack {
                pack: pack(3),
                reading: None,
            },
            Mutation::CloseDay { close },
        ]
    }

    #[test]
    fn every_mutation_round_trips_as_name_and_args() {
        let mutations = every_mutation();
        assert_eq!(mutations.len(), MUTATION_NAMES.len());
        for (mutation, name) in mutations.into_iter().zip(MUTATION_NAMES) {
            assert_eq!(mutation.name(), name);
            let json = serde_json::to_value(&mutation).unwrap();
            assert_eq!(json["name"], name);
            assert_eq!(json["args"], mutation.args());
            assert_eq!(
                Mutation::from_parts(name, mutation.args()).unwrap(),
                mutation
            );
            assert_eq!(serde_json::from_value::<Mutation>(json).unwrap(), mutation);
        }
    }

    #[test]
    fn activation_args_spell_every_field() {
        let activation = &every_mutation()[2];
        assert_eq!(
            activation.args(),
            json!({
                "pack": {"game": "050", "number": 2}, "bin": 1, "opening": 0,
                "displaced": {"pack": {"game": "050", "number": 1}, "action": "return",
                    "reading": {"next": 9}}
            })
        );
    }

    #[test]
    fn an_unknown_name_is_told_from_bad_args() {
        assert_eq!(
            Mutation::from_parts("dropTable", json!({})),
            Err(MutationError::UnknownName {
                name: "dropTable".into()
            })
        );
        let error =
            Mutation::from_parts("settlePack", json!({"pack": {"game": "05", "number": 1}}))
                .unwrap_err();
        let MutationError::BadArgs { name, reason } = &error else {
            panic!("expected bad args, got {error:?}");
        };
        assert_eq!(name, "settlePack");
        assert!(reason.contains("3 or 4 digits"), "{reason}");
        let error = Mutation::from_parts("createBins", json!({"bins": [0]})).unwrap_err();
        assert!(
            error.to_string().starts_with("args: createBins: bin: 0"),
            "{error}"
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let error = Mutation::from_parts(
            "settlePack",
            json!({"pack": {"game": "050", "number": 1}, "x": 1}),
        );
        let Err(MutationError::BadArgs { reason, .. }) = error else {
            panic!("expected bad args, got {error:?}");
        };
        assert!(reason.contains("unknown field `x`"), "{reason}");
    }
}
