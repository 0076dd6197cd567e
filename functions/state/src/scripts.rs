//! The Lua scripts, one per operation, and calling them.
//!
//! Redis runs a script atomically, so a write, its revision bump and its
//! event are one step no other request can split, and a read sees one
//! revision. Every script starts with the prelude (`scripts/prelude.lua`),
//! which names the keys and removes expired entries first. Scripts are
//! called by SHA-1 (`EVALSHA`) and sent in full only when Redis does not
//! have them cached.

pub use tombola_edge::redis::{Reply, Script};

const PRELUDE: &str = include_str!("scripts/prelude.lua");

macro_rules! script {
    ($name:ident, $kind:ident, $file:literal) => {
        #[doc = concat!("`", $file, "`.")]
        pub const $name: Script =
            Script::$kind($file, PRELUDE, include_str!(concat!("scripts/", $file)));
    };
}

script!(GET, reading, "get.lua");
script!(PUT, writing, "put.lua");
script!(DELETE, writing, "delete.lua");
script!(KEYS, reading, "keys.lua");
script!(STATS, reading, "stats.lua");
script!(EVENTS, reading, "events.lua");
script!(SNAPSHOT, writing, "snapshot.lua");
script!(SNAPSHOTS, reading, "snapshots.lua");
script!(RESTORE, writing, "restore.lua");

#[cfg(test)]
mod tests {
    use tombola_core::state::{EventKind, STORED_EVENT_TAG};

    use super::*;

    fn body(script: &Script) -> String {
        let source = script.source();
        source[PRELUDE.len() + 1..].to_owned()
    }

    /// The kinds the scripts emit, as `emit(key, '<kind>', ...)` spells them.
    fn emitted(source: &str) -> Vec<String> {
        source
            .split("emit(")
            .skip(1)
            .filter_map(|call| {
                let (key, rest) = call.split_once(", '")?;
                let kind = rest.split_once('\'')?.0;
                (!key.contains([',', '\n', ')'])).then(|| kind.to_owned())
            })
            .collect()
    }

    #[test]
    fn events_are_stored_in_the_cores_format() {
        assert!(
            PRELUDE.contains(&format!(
                "table.concat({{'{STORED_EVENT_TAG}', rev, kind, NOW,"
            )),
            "emit does not start an event with the core's tag"
        );
        let mut kinds: Vec<String> = [&PUT, &DELETE, &RESTORE, &GET]
            .iter()
            .map(|script| script.source())
            .flat_map(|source| emitted(&source))
            .collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds, ["delete", "expire", "put"]);
        for kind in &kinds {
            assert!(EventKind::from_name(kind).is_some(), "{kind}");
        }
    }

    #[test]
    fn every_write_answers_through_its_record() {
        for script in [&PUT, &DELETE, &SNAPSHOT, &RESTORE] {
            let body = body(script);
            assert!(body.contains("return answer("), "{}", script.name);
            assert!(!body.contains("return {'OK'"), "{}", script.name);
        }
        for script in [&GET, &KEYS, &STATS, &EVENTS, &SNAPSHOTS] {
            assert!(!body(script).contains("answer("), "{}", script.name);
        }
    }
}
