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

/// One [`Script`] per Lua file of `scripts/`, each run after the prelude.
macro_rules! scripts {
    ($($kind:ident $name:ident = $file:literal;)*) => {$(
        #[doc = concat!("`", $file, "`.")]
        pub const $name: Script =
            Script::$kind($file, PRELUDE, include_str!(concat!("scripts/", $file)));
    )*};
}

scripts! {
    reading GET = "get.lua";
    writing PUT = "put.lua";
    writing DELETE = "delete.lua";
    reading KEYS = "keys.lua";
    reading STATS = "stats.lua";
    reading METRICS = "metrics.lua";
    reading EVENTS = "events.lua";
    reading READ = "read.lua";
    writing TXN = "txn.lua";
    writing SNAPSHOT = "snapshot.lua";
    reading SNAPSHOTS = "snapshots.lua";
    writing RESTORE = "restore.lua";
}

#[cfg(test)]
mod tests {
    use tombola_core::state::{EventKind, STORED_EVENT_TAG, STORED_GROUP_TAG};

    use super::*;

    fn body(script: &Script) -> String {
        let source = script.source();
        source[PRELUDE.len() + 1..].to_owned()
    }

    /// The kinds the scripts record, as `emit(key, '<kind>', ...)` and
    /// `change(group, key, '<kind>', ...)` spell them.
    fn emitted(source: &str) -> Vec<String> {
        source
            .replace("change(group, ", "emit(")
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
        let mut kinds: Vec<String> = [&PUT, &DELETE, &RESTORE, &TXN, &GET]
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
    fn the_timed_snapshot_keeps_the_cores_rule() {
        // tombola_core::state::snapshot_due, in the prelude's Lua.
        assert!(PRELUDE.contains("if SNAPSHOT_INTERVAL == 0 then\n    return"));
        assert!(PRELUDE.contains("elseif NOW - tonumber(since) >= SNAPSHOT_INTERVAL * 1000 then"));
        assert!(PRELUDE.contains("local function answer(reply)\n  timed_snapshot()"));
    }

    #[test]
    fn a_transactions_revision_is_stored_in_the_cores_format() {
        assert!(PRELUDE.contains(&format!(
            "push(table.concat({{'{STORED_GROUP_TAG}', #events, table.concat(lengths, ','), table.concat(events)}}, '\\n'))"
        )));
    }

    #[test]
    fn every_write_answers_through_its_record() {
        for script in [&PUT, &DELETE, &SNAPSHOT, &RESTORE, &TXN] {
            let body = body(script);
            assert!(body.contains("return answer("), "{}", script.name);
            assert!(!body.contains("return {'OK'"), "{}", script.name);
        }
        for script in [&GET, &KEYS, &STATS, &EVENTS, &SNAPSHOTS, &READ] {
            assert!(!body(script).contains("answer("), "{}", script.name);
        }
    }
}
