//! Log entries: the one kind of change a pool's log records.

use std::num::NonZeroU64;
use std::sync::Arc;

use crate::config::ValidConfig;
use crate::id::{ItemId, OperationId, RequestId};
use crate::outcome::ItemCount;

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

/// A RETURN entry: units given back because the operation that drew them
/// was rolled back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Return {
    /// The operation rolled back.
    pub operation_id: OperationId,
    /// The units, applied in order.
    pub items: Vec<ItemCount>,
}

/// A RESTOCK entry: an operator adds units of a limited item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restock {
    /// The item.
    pub item: ItemId,
    /// How many units.
    pub quantity: NonZeroU64,
}

/// A DRAW line of the seed's log, whose outcome was decided when it was
/// written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedDraw {
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
/// entry      = create / draw / return / restock / close / seed-draw
///
/// create     = "CREATE/1" SP pool-id SP rules SP mode SP every SP name 1*(SP item)
/// item       = item-id ":" weight ":" stock
/// draw       = "DRAW/1" SP request-id SP count SP seed SP fill
/// return     = "RETURN/1" SP operation-id *(SP item-id ":" quantity)
/// restock    = "RESTOCK/1" SP item-id SP quantity
/// close      = "CLOSE/1"
/// seed-draw  = "DRAW" SP request-id SP (item-id / "FAILED")
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
/// seed       = 16(DIGIT / %x61-66)  ; the u64 seed in lowercase hex
/// fill       = "partial" / "all"    ; "all" is all-or-nothing
/// quantity   = u64                  ; at least 1
/// u64, u32   = "0" / %x31-39 *DIGIT ; decimal, no sign, no leading zero,
///                                   ; within range
/// HEX        = DIGIT / %x41-46      ; uppercase
/// ```
///
/// Ids are as [`crate::id`] describes (request ids may hold one `#`), so
/// they never contain a space, `:` or `%`. Every line has exactly one
/// spelling: decoding a line and encoding the entry gives the same line
/// back, so the log and a re-encoded log compare byte for byte.
///
/// A CREATE line is decoded into a [`ValidConfig`], so a line with a pool
/// configuration that breaks a rule does not decode.
///
/// ```
/// use tombola_core::Entry;
///
/// let line = "DRAW/1 op-7#0 10 00000000deadbeef partial";
/// let entry = Entry::decode(line)?;
/// assert_eq!(entry.encode(), line);
/// assert!(Entry::decode("DRAW r-1 FAILED").is_ok());
/// assert!(Entry::decode("DRAW/1 r-1 0 00000000deadbeef all").is_err());
/// # Ok::<(), tombola_core::CodecError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Starts a pool. Shared, so that applying it does not copy the items.
    Create(Arc<ValidConfig>),
    /// Draws items.
    Draw(Draw),
    /// Gives units back.
    Return(Return),
    /// Adds units of a limited item.
    Restock(Restock),
    /// Closes the pool for draws.
    Close,
    /// A seed DRAW line, with its outcome given.
    SeedDraw(SeedDraw),
}

impl Entry {
    /// The request id the entry was appended for, when the entry carries
    /// one: a DRAW's, a seed DRAW's, and a RETURN's (the rolled-back
    /// operation's `<operation>#rollback`). The audit checks the outcome
    /// recorded under it.
    ///
    /// ```
    /// use tombola_core::Entry;
    ///
    /// let draw = Entry::decode("DRAW/1 op-7#0 10 00000000deadbeef partial")?;
    /// assert_eq!(draw.request_id().map(|r| r.to_string()), Some("op-7#0".into()));
    /// assert_eq!(Entry::Close.request_id(), None);
    /// # Ok::<(), tombola_core::CodecError>(())
    /// ```
    pub fn request_id(&self) -> Option<RequestId> {
        match self {
            Entry::Draw(draw) => Some(draw.request_id.clone()),
            Entry::SeedDraw(draw) => Some(draw.request_id.clone()),
            Entry::Return(ret) => Some(RequestId::rollback(&ret.operation_id)),
            Entry::Create(_) | Entry::Restock(_) | Entry::Close => None,
        }
    }
}
