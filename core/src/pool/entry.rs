//! Log entries: the one kind of change a pool's log records.

use std::num::NonZeroU64;
use std::sync::Arc;

use crate::pool::config::ValidConfig;
use crate::pool::fair::{Commitment, ServerSeed};
use crate::pool::id::{ClientSeed, ItemId, OperationId, RequestId};
use crate::pool::outcome::ItemCount;

/// The most draws one DRAW entry holds; larger multi-draws run in chunks.
pub const MAX_DRAW_COUNT: u32 = 1000;

/// How many draws a DRAW entry asks for: 1 to [`MAX_DRAW_COUNT`].
///
/// The bound is part of the type so that no entry, however it was made,
/// asks `apply` for an unbounded amount of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DrawCount(u32);

impl DrawCount {
    /// One draw.
    pub const ONE: DrawCount = DrawCount(1);

    /// A count, `None` unless `1 <= count <= MAX_DRAW_COUNT`.
    pub fn new(count: u32) -> Option<DrawCount> {
        (1..=MAX_DRAW_COUNT)
            .contains(&count)
            .then_some(DrawCount(count))
    }

    /// The count.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// A DRAW entry: what was asked and the randomness drawn for it, not its
/// outcome, which `apply` computes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draw {
    /// The request, appended at most once per id.
    pub request_id: RequestId,
    /// How many draws.
    pub count: DrawCount,
    /// The 64-bit seed from the host's CSPRNG that the pool's rules version
    /// turns into a random stream.
    pub seed: u64,
    /// Whether to draw nothing at all when the stock cannot fill the count;
    /// by default a draw fills what it can.
    pub all_or_nothing: bool,
}

/// A DRAW entry of a rules-2 pool: what was asked, the client seed and the
/// nonce its stream is made of (see [`fair`](super::fair)); the server seed
/// is the one committed where the entry lands in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FairDraw {
    /// The request, appended at most once per id.
    pub request_id: RequestId,
    /// How many draws.
    pub count: DrawCount,
    /// The player's client seed, or the one the server picked.
    pub client_seed: ClientSeed,
    /// The draw's number under the current server seed: one more than the
    /// last draw's, 0 after a commitment. `apply` fails any other.
    pub nonce: u64,
    /// Whether to draw nothing at all when the stock cannot fill the count.
    pub all_or_nothing: bool,
}

/// A COMMIT entry: the first commitment of a rules-2 pool, published before
/// any draw uses its server seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// `SHA-256` of the server seed kept secret in Redis.
    pub commitment: Commitment,
    /// Rotate after this many draws under one server seed; 0 rotates only
    /// when the operator asks.
    pub rotate_every: u32,
}

/// A ROTATE entry: reveals the server seed in force and commits the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotate {
    /// The server seed in force until this entry, now public.
    pub revealed: ServerSeed,
    /// The commitment to the next server seed.
    pub next: Commitment,
}

/// A CHUNK entry: one chunk of a multi-draw operation. It draws like a
/// partial DRAW, and what it draws is held for the operation until
/// `until`, so a rollback can give exactly that back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The operation.
    pub operation_id: OperationId,
    /// The chunk's index in the operation, from 0: its request id is
    /// `<operation>#<index>`.
    pub index: u32,
    /// How many draws.
    pub count: DrawCount,
    /// The 64-bit seed from the host's CSPRNG.
    pub seed: u64,
    /// When the chunk was appended, in milliseconds since the Unix epoch
    /// (the host's clock). Holdings whose `until` is before it are
    /// forgotten before the chunk applies.
    pub at: u64,
    /// Until when the operation can be rolled back, in the same clock.
    pub until: u64,
}

impl Chunk {
    /// The chunk's request id, `<operation>#<index>`.
    pub fn request_id(&self) -> RequestId {
        RequestId::chunk(&self.operation_id, self.index)
    }
}

/// A CHUNK entry of a rules-2 pool: one chunk of a multi-draw operation,
/// whose stream is made of a client seed and a nonce as a
/// [`FairDraw`]'s; the nonce follows the same order as the pool's draws.
/// What it draws is held for the operation as a [`Chunk`]'s is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FairChunk {
    /// The operation.
    pub operation_id: OperationId,
    /// The chunk's index in the operation, from 0.
    pub index: u32,
    /// How many draws.
    pub count: DrawCount,
    /// The player's client seed, or the one the server picked.
    pub client_seed: ClientSeed,
    /// The chunk's number under the current server seed, shared with the
    /// pool's draws.
    pub nonce: u64,
    /// When the chunk was appended (milliseconds since the Unix epoch).
    pub at: u64,
    /// Until when the operation can be rolled back, in the same clock.
    pub until: u64,
}

impl FairChunk {
    /// The chunk's request id, `<operation>#<index>`.
    pub fn request_id(&self) -> RequestId {
        RequestId::chunk(&self.operation_id, self.index)
    }
}

/// A RETURN entry of the first format: gives back the units it lists, as a
/// saved DrawState listed them. Logs keep their meaning, so these still
/// replay; new rollbacks are [`Rollback`] entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Return {
    /// The operation rolled back.
    pub operation_id: OperationId,
    /// The units, applied in order.
    pub items: Vec<ItemCount>,
}

/// A rollback: a RETURN entry that names only the operation. Applying it
/// gives back exactly what the operation's chunks took before it in the
/// log, and every chunk of the operation after it fails and changes
/// nothing; the log decides, not what any caller read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    /// The operation rolled back.
    pub operation_id: OperationId,
    /// When it was appended (milliseconds since the Unix epoch).
    pub at: u64,
    /// Until when later chunks of the operation are known to fail.
    pub until: u64,
}

/// A RESTOCK entry: an operator adds units of a limited item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restock {
    /// The item.
    pub item: ItemId,
    /// How many units.
    pub quantity: NonZeroU64,
}

/// A DRAW line of the original processing model, whose outcome was given
/// when it was written (`DRAW <request_id> <item>` or `FAILED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenDraw {
    /// The request.
    pub request_id: RequestId,
    /// The item drawn, or `None` for `FAILED`.
    pub item: Option<ItemId>,
}

/// One entry of a pool's write-ahead log, encoded as one line of text.
///
/// # Grammar
///
/// A line is UTF-8, without a line terminator, of fields separated by single
/// spaces (`SP`); the verb comes first. Tombola's own verbs carry a format
/// version after a `/`; the seed's DRAW lines carry none.
///
/// ```text
/// entry      = create / draw / chunk / rollback / return / restock / close
///              / given-draw / fair-draw / fair-chunk / commit / rotate
///
/// create     = "CREATE/1" SP pool-id SP rules SP mode SP every SP name 1*(SP item)
/// item       = item-id ":" weight ":" stock
/// draw       = "DRAW/1" SP request-id SP count SP seed SP fill
/// fair-draw  = "DRAW/2" SP request-id SP count SP client-seed SP nonce SP fill
/// commit     = "COMMIT/1" SP digest SP rotate-every
/// rotate     = "ROTATE/1" SP secret SP digest
/// chunk      = "CHUNK/1" SP operation-id SP index SP count SP seed SP at SP until
/// fair-chunk = "CHUNK/2" SP operation-id SP index SP count SP client-seed SP nonce
///              SP at SP until
/// rollback   = "RETURN/2" SP operation-id SP at SP until
/// return     = "RETURN/1" SP operation-id *(SP item-id ":" quantity)
/// restock    = "RESTOCK/1" SP item-id SP quantity
/// close      = "CLOSE/1"
/// given-draw = "DRAW" SP request-id SP (item-id / "FAILED")
///
/// rules      = u32                  ; a released rules version
/// every      = u32                  ; the snapshot interval
/// mode       = "stock" / "weight"
/// name       = 1*(%x21-24 / %x26-7E / "%" HEX HEX)
///              ; UTF-8, percent-encoded: exactly the bytes outside
///              ; 0x21-0x7E, and "%" itself, are written %XX
/// weight     = u64                  ; at least 1
/// stock      = u64 / "*"            ; "*" is unlimited
/// count      = u32                  ; 1 to 1000
/// index      = u32                  ; the chunk's index in its operation
/// at, until  = u64                  ; milliseconds since the Unix epoch
/// seed       = 16(DIGIT / %x61-66)  ; the u64 seed in lowercase hex
/// fill       = "partial" / "all"    ; "all" is all-or-nothing
/// client-seed = 1*64(ALPHA / DIGIT / "_" / "." / "-")   ; a plain id
/// nonce      = u64
/// rotate-every = u32                ; 0: only when the operator rotates
/// digest     = 64(DIGIT / %x61-66)  ; SHA-256 of a server seed, lowercase hex
/// secret     = 64(DIGIT / %x61-66)  ; a revealed server seed, lowercase hex
/// quantity   = u64                  ; at least 1
/// u64, u32   = "0" / %x31-39 *DIGIT ; decimal, no sign, no leading zero,
///                                   ; within range
/// HEX        = DIGIT / %x41-46      ; uppercase
/// ```
///
/// Ids are as [`crate::pool::id`] describes, so they never contain a space,
/// `:` or `%`. A DRAW/1 line's request id may hold one `#`: the chunks of
/// logs written before CHUNK/1 existed, and the client ids of that time;
/// such lines replay as the plain draws they were. Every line has exactly one
/// spelling: decoding a line and encoding the entry gives the same line
/// back, so the log and a re-encoded log compare byte for byte.
///
/// A CREATE line is decoded into a [`ValidConfig`], so a line with a pool
/// configuration that breaks a rule does not decode.
///
/// ```
/// use tombola_core::pool::Entry;
///
/// let line = "DRAW/1 op-7#0 10 00000000deadbeef partial";
/// let entry = Entry::decode(line)?;
/// assert_eq!(entry.encode(), line);
/// assert!(Entry::decode("DRAW r-1 FAILED").is_ok());
/// assert!(Entry::decode("DRAW/1 r-1 0 00000000deadbeef all").is_err());
/// # Ok::<(), tombola_core::pool::CodecError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Starts a pool. Shared, so that applying it does not copy the items.
    Create(Arc<ValidConfig>),
    /// Draws items.
    Draw(Draw),
    /// One chunk of a multi-draw operation.
    Chunk(Chunk),
    /// Rolls an operation back: gives back what its chunks hold.
    Rollback(Rollback),
    /// Gives listed units back (the first RETURN format).
    Return(Return),
    /// Adds units of a limited item.
    Restock(Restock),
    /// Closes the pool for draws.
    Close,
    /// A DRAW line with its outcome given.
    GivenDraw(GivenDraw),
    /// Draws items from a rules-2 pool.
    FairDraw(FairDraw),
    /// Commits a rules-2 pool's first server seed.
    Commit(Commit),
    /// Reveals a rules-2 pool's server seed and commits the next.
    Rotate(Rotate),
    /// One chunk of a multi-draw operation on a rules-2 pool.
    FairChunk(FairChunk),
}

impl Entry {
    /// The request id the entry was appended for, when the entry carries
    /// one: a DRAW's, a given DRAW's, a CHUNK's (`<operation>#<index>`), and
    /// a RETURN's (the rolled-back operation's `<operation>#rollback`). The
    /// audit checks the outcome recorded under it.
    ///
    /// ```
    /// use tombola_core::pool::Entry;
    ///
    /// let draw = Entry::decode("DRAW/1 op-7#0 10 00000000deadbeef partial")?;
    /// assert_eq!(draw.request_id().map(|r| r.to_string()), Some("op-7#0".into()));
    /// assert_eq!(Entry::Close.request_id(), None);
    /// # Ok::<(), tombola_core::pool::CodecError>(())
    /// ```
    pub fn request_id(&self) -> Option<RequestId> {
        match self {
            Entry::Draw(draw) => Some(draw.request_id.clone()),
            Entry::FairDraw(draw) => Some(draw.request_id.clone()),
            Entry::GivenDraw(draw) => Some(draw.request_id.clone()),
            Entry::Chunk(chunk) => Some(chunk.request_id()),
            Entry::FairChunk(chunk) => Some(chunk.request_id()),
            Entry::Rollback(rollback) => Some(RequestId::rollback(&rollback.operation_id)),
            Entry::Return(ret) => Some(RequestId::rollback(&ret.operation_id)),
            Entry::Create(_)
            | Entry::Restock(_)
            | Entry::Close
            | Entry::Commit(_)
            | Entry::Rotate(_) => None,
        }
    }

    /// The nonce of a rules-2 draw or chunk (DRAW/2 or CHUNK/2).
    pub fn nonce(&self) -> Option<u64> {
        match self {
            Entry::FairDraw(draw) => Some(draw.nonce),
            Entry::FairChunk(chunk) => Some(chunk.nonce),
            _ => None,
        }
    }

    /// The operation a chunk (CHUNK/1 or CHUNK/2) belongs to.
    pub fn chunk_operation(&self) -> Option<&OperationId> {
        match self {
            Entry::Chunk(chunk) => Some(&chunk.operation_id),
            Entry::FairChunk(chunk) => Some(&chunk.operation_id),
            _ => None,
        }
    }
}
