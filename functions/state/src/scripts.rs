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
    ($name:ident, $file:literal) => {
        #[doc = concat!("`", $file, "`.")]
        pub const $name: Script =
            Script::new($file, PRELUDE, include_str!(concat!("scripts/", $file)));
    };
}

script!(GET, "get.lua");
script!(PUT, "put.lua");
script!(DELETE, "delete.lua");
script!(KEYS, "keys.lua");
script!(STATS, "stats.lua");
script!(EVENTS, "events.lua");
script!(SNAPSHOT, "snapshot.lua");
script!(SNAPSHOTS, "snapshots.lua");
script!(RESTORE, "restore.lua");
