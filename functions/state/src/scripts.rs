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
