//! Columns of fixed-width numbers read in place from a snapshot's bytes.
//!
//! A large pool's snapshot (format version 4, see [`snapshot`]) keeps each
//! item's numbers in columns of little-endian integers one, two, four or
//! eight bytes wide, so that reading the snapshot borrows them instead of
//! parsing every item; a column's all-ones value stands for "none"
//! (unlimited stock).
//!
//! [`snapshot`]: crate::pool::snapshot

use std::sync::Arc;

/// The widths a column may have, narrowest first.
pub(crate) const WIDTHS: [u8; 4] = [1, 2, 4, 8];

/// The all-ones value of a width: the column's "none".
pub(crate) fn ones(width: u8) -> u64 {
    u64::MAX >> (64 - 8 * u32::from(width))
}

/// The narrowest width that holds every value up to `max`, below the
/// all-ones value when the column needs it for "none"; `None` when not
/// even eight bytes do.
pub(crate) fn width_for(max: u64, with_none: bool) -> Option<u8> {
    WIDTHS
        .into_iter()
        .find(|&width| max < ones(width) || (!with_none && max == ones(width)))
}

/// Appends `value` in `width` bytes.
pub(crate) fn put(out: &mut Vec<u8>, value: u64, width: u8) {
    out.extend_from_slice(&value.to_le_bytes()[..usize::from(width)]);
}

/// `len` numbers of `width` bytes from byte `at` of shared bytes.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    bytes: Arc<[u8]>,
    at: usize,
    width: u8,
    len: u32,
}

impl Column {
    /// The column at `at`, or `None` when `len` numbers of `width` bytes do
    /// not fit in the bytes from there.
    pub(crate) fn new(bytes: &Arc<[u8]>, at: usize, width: u8, len: u32) -> Option<Column> {
        let size = usize::try_from(len).ok()?.checked_mul(usize::from(width))?;
        (at.checked_add(size)? <= bytes.len()).then(|| Column {
            bytes: Arc::clone(bytes),
            at,
            width,
            len,
        })
    }

    /// The byte just past the column.
    pub(crate) fn end(&self) -> usize {
        self.at + self.len as usize * usize::from(self.width)
    }

    /// How many numbers the column holds.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// The number at `index`; `index` must be below [`Column::len`].
    #[inline]
    pub(crate) fn get(&self, index: u32) -> u64 {
        let width = usize::from(self.width);
        let start = self.at + index as usize * width;
        let bytes = &self.bytes[start..start + width];
        // One fixed-size read per width, not a copy of a variable length.
        match *bytes {
            [a] => u64::from(a),
            [a, b] => u64::from(u16::from_le_bytes([a, b])),
            [a, b, c, d] => u64::from(u32::from_le_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => u64::from_le_bytes([a, b, c, d, e, f, g, h]),
            // Columns are built with one of `WIDTHS` only.
            _ => 0,
        }
    }

    /// The number at `index`, `None` for the all-ones value.
    #[inline]
    pub(crate) fn get_some(&self, index: u32) -> Option<u64> {
        Some(self.get(index)).filter(|&value| value != ones(self.width))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_the_narrowest_that_hold_the_values() {
        assert_eq!(width_for(0, true), Some(1));
        assert_eq!(width_for(254, true), Some(1));
        assert_eq!(width_for(255, true), Some(2));
        assert_eq!(width_for(255, false), Some(1));
        assert_eq!(width_for(u64::from(u32::MAX), true), Some(8));
        assert_eq!(width_for(u64::MAX - 1, true), Some(8));
        assert_eq!(width_for(u64::MAX, true), None);
        assert_eq!(width_for(u64::MAX, false), Some(8));
    }

    #[test]
    fn a_column_reads_what_was_put() {
        let mut bytes = vec![0xAA];
        for (value, width) in [(7, 1), (0x1234, 2), (ones(4), 4), (u64::MAX - 1, 8)] {
            put(&mut bytes, value, width);
        }
        let bytes: Arc<[u8]> = Arc::from(bytes);
        let narrow = Column::new(&bytes, 1, 1, 1).unwrap();
        assert_eq!(
            (narrow.get(0), narrow.get_some(0), narrow.end()),
            (7, Some(7), 2)
        );
        let wide = Column::new(&bytes, 4, 4, 1).unwrap();
        assert_eq!((wide.get(0), wide.get_some(0)), (u64::from(u32::MAX), None));
        assert_eq!(Column::new(&bytes, 8, 8, 1).unwrap().get(0), u64::MAX - 1);
        assert!(Column::new(&bytes, 8, 8, 2).is_none());
        assert!(Column::new(&bytes, usize::MAX, 1, 1).is_none());
    }
}
