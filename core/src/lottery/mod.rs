//! The lottery back office's rules: what a store's instant-ticket inventory
//! may do, pure and free of I/O.
//!
//! The store's app (`functions/backoffice`) reads rows, calls these
//! functions with them, and writes back the values they return; a refusal
//! is a typed error naming the field at fault, and leaves nothing to write.
//!
//! # Layout
//!
//! - [`money`]: [`Cents`], whole cents, never floating point.
//! - [`game`]: [`Game`], [`GameCode`], ticket [`Numbering`] and the
//!   [`PackTerms`] a pack copies from its game.
//! - [`barcode`]: [`BarcodeLayout`] as data, the named defaults, and
//!   reading a [`Barcode`] through one.
//! - [`bin`]: [`BinNumber`] and bins created in bulk.
//! - [`pack`]: [`Pack`] and its lifecycle RECEIVED -> ACTIVE -> SETTLED or
//!   RETURNED, one active pack per bin.
//! - [`sales`]: [`Serial`], [`Reading`] and the tickets sold between two
//!   readings, [`sold_between`].
//! - [`date`]: the [`BusinessDate`] a day is for.
//! - [`day`]: the business [`Day`], OPEN -> PENDING_CLOSE -> CLOSED or back
//!   to OPEN, one open day per store.
//! - [`close`]: the [`PreparedClose`] a day keeps while pending: closing
//!   serials, sales per pack and bin, totals and [`Variance`]s.
//! - [`mutation`]: each change as a [`Mutation`], `{name, args}`, for the
//!   outbox the store pushes to the cloud.
//! - [`backoff`]: whether a push answer is retried ([`classify`]) and when
//!   ([`retry_delay`], [`parse_retry_after`]).
//! - [`sync`]: a [`Push`] of mutations from a store and the cloud's
//!   [`plan_push`] for it, after Replicache's rules.
//! - [`sync_pull`]: the [`Cookie`] a store pulls with and the
//!   [`pull_page`] it gets.
//! - [`sync_merge`]: who wins a conflict: the cloud for games and bins
//!   ([`apply_pull`], [`merge_store_bins`]), the store for packs and day
//!   closes ([`merge_pack`], [`merge_close`]).
//! - [`sync_outbox`]: the store's queue: the [`next_batch`] to push and the
//!   [`settle_rows`] a push's outcome gives each row.
//! - [`cloud`]: the cloud's [`StoreCopy`] of a store and what a push does
//!   to it ([`decide_push`]).
//! - [`cloud_keys`]: [`StoreId`], API keys kept as hashes, and the lottery
//!   cloud's Redis keys.

pub mod backoff;
pub mod barcode;
pub mod bin;
pub mod close;
pub mod cloud;
pub mod cloud_keys;
pub mod date;
pub mod day;
pub mod game;
pub mod money;
pub mod mutation;
pub mod pack;
pub mod sales;
pub mod sync;
pub mod sync_merge;
pub mod sync_outbox;
pub mod sync_pull;

pub use backoff::{
    Delivery, FIRST_DELAY, MAX_DELAY, PushAnswer, base_delay, classify, next_attempt_at,
    parse_retry_after, retry_delay,
};
pub use barcode::{
    Barcode, BarcodeError, BarcodeField, BarcodeLayout, DEFAULT_LAYOUT, LayoutError, LayoutRecord,
    Span,
};
pub use bin::{BinError, BinNumber, new_bins};
pub use close::{
    BinTotal, CloseError, CloseLine, Count, Opening, PreparedClose, Variance, VarianceKind,
};
pub use cloud::{
    BinChange, CloudBin, PushDecision, PushReads, PushWrites, StoreCopy, bin_change, decide_push,
    on_counter, push_reads,
};
pub use cloud_keys::{
    API_KEY_PREFIX, DEFAULT_STORE_PAGE, GAMES, GAMES_REVISION, MAX_STORE_NAME_CHARS,
    MAX_STORE_PAGE, STORE_IDS, StoreId, StoreIdError, StoreKeys, StoreNameError, StorePage,
    api_key, check_store_name, key_hash, key_matches, store_keys, store_page,
};
pub use date::{BusinessDate, DateError};
pub use day::{Day, DayError, DayState, DayStatus, open_day};
pub use game::{CodeError, Game, GameCode, GameError, GameSpec, GameStatus, Numbering, PackTerms};
pub use money::Cents;
pub use mutation::{MUTATION_NAMES, Mutation, MutationError};
pub use pack::{
    Activation, Displace, DisplaceAction, Pack, PackError, PackKey, PackNumber, PackState,
    PackStatus, ReturnedFrom,
};
pub use sales::{Reading, ReadingRole, Sale, SalesError, Serial, sold_between};
pub use sync::{
    ClientId, ClientIdError, Conflict, MAX_CLIENT_ID_LEN, MAX_PUSH_MUTATIONS, MutationId,
    MutationReply, MutationStatus, Push, PushError, PushPlan, PushReply, PushedMutation, Step,
    Verdict, plan_push,
};
pub use sync_merge::{
    BinMerge, CloseMerge, CloudPack, LotterySettlement, apply_pull, merge_close, merge_pack,
    merge_store_bins, record_settlement,
};
pub use sync_outbox::{
    OutboxPlan, OutboxRow, PushOutcome, RowStatus, RowUpdate, assign_ids, next_batch, settle_rows,
};
pub use sync_pull::{Change, Cookie, CookieError, MAX_PULL_PAGE, PullPage, pull_page};
