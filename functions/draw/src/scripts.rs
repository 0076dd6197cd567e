//! The Lua scripts that persist a pool.
//!
//! Every change to a pool is one script call: Redis runs a script
//! atomically, so the append, the request-id check and the read of the
//! snapshot and tail are one step that concurrent requests cannot split.
//! Each starts with `scripts/prelude.lua`; calling them is
//! [`tombola_edge::redis::Script`]'s.

pub use tombola_edge::redis::{Reply, Script};

const PRELUDE: &str = include_str!("scripts/prelude.lua");

macro_rules! script {
    ($name:ident, $file:literal) => {
        #[doc = concat!("`", $file, "`.")]
        pub const $name: Script =
            Script::new($file, PRELUDE, include_str!(concat!("scripts/", $file)));
    };
}

script!(CREATE, "create.lua");
script!(APPEND, "append.lua");
script!(READ, "read.lua");
script!(RECORD, "record.lua");
script!(HISTORY, "history.lua");
script!(ROTATE, "rotate.lua");
