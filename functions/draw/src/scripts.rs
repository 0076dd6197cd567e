//! The Lua scripts that persist a pool.
//!
//! Every change to a pool is one script call: Redis runs a script
//! atomically, so the append, the request-id check and the read of the
//! snapshot and tail are one step that concurrent requests cannot split.
//! Each starts with `scripts/prelude.lua`; calling them is
//! [`tombola_edge::redis::Script`]'s.

pub use tombola_edge::redis::{Reply, Script};

/// The Lua shared by every script: the snapshot's sequence number, read
/// from the format [`tombola_core::pool::Snapshot`] writes (a test in the
/// integration suite holds the two together), and the tail reply.
pub const PRELUDE: &str = include_str!("scripts/prelude.lua");

macro_rules! script {
    ($name:ident, $kind:ident, $file:literal) => {
        #[doc = concat!("`", $file, "`.")]
        pub const $name: Script =
            Script::$kind($file, PRELUDE, include_str!(concat!("scripts/", $file)));
    };
}

script!(CREATE, writing, "create.lua");
script!(APPEND, writing, "append.lua");
script!(FAIR_APPEND, writing, "fair_append.lua");
script!(RESEED, writing, "reseed.lua");
script!(READ, reading, "read.lua");
script!(RECORD, writing, "record.lua");
script!(HISTORY, reading, "history.lua");
script!(ROTATE, writing, "rotate.lua");
script!(CATALOG_ADD, writing, "catalog_add.lua");
script!(CATALOG_LIST, reading, "catalog_list.lua");
