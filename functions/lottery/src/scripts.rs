//! The Lua scripts, one per round trip, and calling them.
//!
//! Redis runs a script atomically: a push's records and the client's last
//! mutation id are one step, a read sees one instant. Every script starts
//! with `scripts/prelude.lua`; calling them is
//! [`tombola_edge::redis::Script`]'s.

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
    reading GAMES = "games.lua";
    writing GAME_PUT = "game_put.lua";
    writing REGISTER = "register.lua";
    writing ROTATE = "rotate.lua";
    reading STORE = "store.lua";
    writing PUSH = "push.lua";
    writing BIN_PUT = "bin_put.lua";
    writing SETTLE = "settle.lua";
    writing DIRECTORY = "directory.lua";
}
