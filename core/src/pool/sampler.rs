//! A dynamic weighted sampler over `u64` weights.
//!
//! # Layout
//!
//! A 16-ary sum tree, cut to the cache:
//!
//! - **Leaves** hold the weights themselves, sixteen to a node. While every
//!   weight fits in 32 bits (stocks and weights of real pools do), a leaf
//!   node is sixteen `u32`s: one 64-byte cache line, and a million weights
//!   take 4 MB, within reach of the TLB. The first weight past `u32::MAX`
//!   widens every leaf to `u64` (two cache lines per node), once.
//! - **Inner nodes** hold the sums of their sixteen children as `u64`s, 128
//!   bytes aligned to 128 (the two lines the adjacent-line prefetcher
//!   fetches together). All inner levels are packed in one array, root level
//!   first, so a descent walks forward through memory.
//!
//! Finding the weight that owns a point walks down from the root, scanning
//! each node from its first child and subtracting the sums it passes; a
//! million weights take five nodes, the upper three of which stay in the L1
//! cache. Changing a weight adds the difference to one counter per level.
//! The textbook binary layouts (Fenwick trees, heap-ordered sum trees) touch
//! twenty nodes whose power-of-two strides land in a different cache line,
//! and often a different page, at every level, which is why they lose as
//! soon as the weights leave the L1 cache.
//!
//! Indices are `u32` and sums `u64` throughout: the sampler gives the same
//! answers on 32-bit and 64-bit targets.

use rand_core::RngCore;

use crate::pool::rules::uniform_below;

/// Children per node.
pub const LANES: usize = 16;

/// The most weights a sampler holds: 2³⁰, so that leaf positions, padded to
/// whole nodes, stay far inside a 32-bit `usize`.
pub const MAX_WEIGHTS: u32 = 1 << 30;

#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct NarrowLeaf([u32; LANES]);

#[derive(Clone, Copy, Debug)]
#[repr(C, align(128))]
struct WideLeaf([u64; LANES]);

#[derive(Clone, Copy, Debug)]
#[repr(C, align(128))]
struct Inner([u64; LANES]);

#[derive(Clone, Debug)]
enum Leaves {
    Narrow(Vec<NarrowLeaf>),
    Wide(Vec<WideLeaf>),
}

// The child of a node that owns `rest`, and what is left of `rest` inside
// it. The last child is taken without a comparison: `rest` is below the
// node's sum, so it cannot be past it.
#[inline(always)]
fn descend<T: Copy + Into<u64>>(children: &[T; LANES], mut rest: u64) -> (usize, u64) {
    let mut lane = 0;
    while lane < LANES - 1 {
        let weight = children[lane].into();
        if rest < weight {
            break;
        }
        rest -= weight;
        lane += 1;
    }
    (lane, rest)
}

/// Errors from building or updating a [`Sampler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SamplerError {
    /// The weights would add up to more than `u64::MAX`.
    #[error("the total weight would exceed u64::MAX")]
    TotalOverflow,
    /// More than [`MAX_WEIGHTS`] weights.
    #[error("more than {MAX_WEIGHTS} weights")]
    TooManyWeights,
}

/// A weighted sampler over a fixed number of `u64` weights.
///
/// Invariant: the total of all weights fits in a `u64`; every operation that
/// could break this checks first and leaves the sampler unchanged on error.
/// Two samplers are equal when they hold the same weights.
///
/// ```
/// use tombola_core::pool::sampler::Sampler;
///
/// let mut sampler = Sampler::new(&[3, 0, 5])?;
/// assert_eq!(sampler.total(), 8);
/// // Points 0..3 fall on index 0, points 3..8 on index 2.
/// assert_eq!(sampler.find(2), Some(0));
/// assert_eq!(sampler.find(3), Some(2));
/// sampler.decrease(2, 5);
/// assert_eq!(sampler.find(3), None);
/// # Ok::<(), tombola_core::pool::sampler::SamplerError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Sampler {
    leaves: Leaves,
    // All inner levels, root level first; `starts[level]` is where a level
    // begins. The last level holds the sums of the leaf nodes.
    inner: Vec<Inner>,
    starts: Vec<u32>,
    len: u32,
    total: u64,
}

impl Sampler {
    /// Builds a sampler over `weights`, in O(n).
    ///
    /// # Errors
    ///
    /// [`SamplerError::TotalOverflow`] if the weights add up to more than
    /// `u64::MAX`, [`SamplerError::TooManyWeights`] past [`MAX_WEIGHTS`].
    pub fn new(weights: &[u64]) -> Result<Sampler, SamplerError> {
        Sampler::from_weights(weights.iter().copied())
    }

    /// As [`Sampler::new`], from weights an iterator gives, in one pass, so
    /// that a caller need not collect them first.
    ///
    /// # Errors
    ///
    /// As [`Sampler::new`].
    pub fn from_weights<I>(weights: I) -> Result<Sampler, SamplerError>
    where
        I: ExactSizeIterator<Item = u64>,
    {
        let len = u32::try_from(weights.len())
            .ok()
            .filter(|&len| len <= MAX_WEIGHTS)
            .ok_or(SamplerError::TooManyWeights)?;
        // The leaves, sixteen weights to a node, narrow until a weight does
        // not fit in 32 bits; and each node's sum.
        let nodes = weights.len().div_ceil(LANES);
        let mut sums: Vec<u64> = vec![0; nodes];
        let mut leaves = Leaves::Narrow(vec![NarrowLeaf([0; LANES]); nodes]);
        let mut total = 0u64;
        for (index, weight) in weights.enumerate() {
            total = total
                .checked_add(weight)
                .ok_or(SamplerError::TotalOverflow)?;
            let (node, lane) = (index / LANES, index % LANES);
            sums[node] += weight;
            if let Leaves::Narrow(narrow) = &mut leaves {
                match u32::try_from(weight) {
                    Ok(fits) => {
                        narrow[node].0[lane] = fits;
                        continue;
                    }
                    Err(_) => leaves = Leaves::Wide(widened(narrow)),
                }
            }
            if let Leaves::Wide(wide) = &mut leaves {
                wide[node].0[lane] = weight;
            }
        }

        // The inner levels, from the one above the leaves up to a single
        // root; none when one leaf node holds every weight, so that small
        // pools scan a single cache line.
        let mut levels: Vec<Vec<Inner>> = Vec::new();
        while sums.len() > 1 {
            let level: Vec<Inner> = sums
                .chunks(LANES)
                .map(|chunk| {
                    let mut node = Inner([0; LANES]);
                    node.0[..chunk.len()].copy_from_slice(chunk);
                    node
                })
                .collect();
            sums = level.iter().map(|node| node.0.iter().sum()).collect();
            levels.push(level);
        }
        let mut inner = Vec::with_capacity(levels.iter().map(Vec::len).sum());
        let mut starts = Vec::with_capacity(levels.len());
        for level in levels.iter().rev() {
            // At most MAX_WEIGHTS / 16 + levels nodes: fits in u32.
            starts.push(inner.len() as u32);
            inner.extend_from_slice(level);
        }
        Ok(Sampler {
            leaves,
            inner,
            starts,
            len,
            total,
        })
    }

    /// How many weights the sampler holds.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the sampler holds no weights at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The sum of all weights.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The weight at `index`, or `None` past the end.
    #[inline]
    pub fn weight(&self, index: u32) -> Option<u64> {
        if index >= self.len {
            return None;
        }
        let (node, lane) = (index as usize / LANES, index as usize % LANES);
        Some(match &self.leaves {
            Leaves::Narrow(leaves) => u64::from(leaves[node].0[lane]),
            Leaves::Wide(leaves) => leaves[node].0[lane],
        })
    }

    /// The index whose share of `0..total()` contains `point`: index `i` owns
    /// the points from the sum of the weights before it, for its weight.
    /// `None` if `point >= total()`.
    ///
    /// Weights of zero own no points and are never returned.
    #[inline]
    pub fn find(&self, point: u64) -> Option<u32> {
        if point >= self.total {
            return None;
        }
        let mut rest = point;
        let mut position = 0usize;
        for &start in &self.starts {
            let (lane, left) = descend(&self.inner[start as usize + position].0, rest);
            rest = left;
            position = position * LANES + lane;
        }
        let (lane, _) = match &self.leaves {
            Leaves::Narrow(leaves) => descend(&leaves[position].0, rest),
            Leaves::Wide(leaves) => descend(&leaves[position].0, rest),
        };
        // `point < total` keeps every lane taken above on a real weight, so
        // the index is below `len`, a u32.
        u32::try_from(position * LANES + lane).ok()
    }

    /// Draws an index with probability `weight / total()`, using one
    /// unbiased uniform draw below `total()`; `None` if the total is zero.
    #[inline]
    pub fn sample<R: RngCore + ?Sized>(&self, rng: &mut R) -> Option<u32> {
        if self.total == 0 {
            return None;
        }
        self.find(uniform_below(rng, self.total))
    }

    /// Sets the weight at `index`.
    ///
    /// # Errors
    ///
    /// [`SamplerError::TotalOverflow`] if the new total would not fit in a
    /// `u64`; the sampler is unchanged.
    ///
    /// # Panics
    ///
    /// If `index >= len()`, like slice indexing.
    pub fn set(&mut self, index: u32, weight: u64) -> Result<(), SamplerError> {
        let old = self
            .weight(index)
            .unwrap_or_else(|| out_of_range(index, self.len));
        let total = (self.total - old)
            .checked_add(weight)
            .ok_or(SamplerError::TotalOverflow)?;
        self.total = total;
        self.store(index, weight, weight.wrapping_sub(old));
        Ok(())
    }

    /// Lowers the weight at `index` by `by`. This cannot overflow, so unlike
    /// [`Sampler::set`] it cannot fail.
    ///
    /// # Panics
    ///
    /// If `index >= len()` or `by` exceeds the weight at `index`.
    #[inline]
    pub fn decrease(&mut self, index: u32, by: u64) {
        if index >= self.len {
            out_of_range(index, self.len);
        }
        let (node, lane) = (index as usize / LANES, index as usize % LANES);
        // A lower weight always fits the leaf it is in.
        let fits = match &mut self.leaves {
            Leaves::Narrow(leaves) => {
                let leaf = &mut leaves[node].0[lane];
                let fits = by <= u64::from(*leaf);
                *leaf = leaf.wrapping_sub(by as u32);
                fits
            }
            Leaves::Wide(leaves) => {
                let leaf = &mut leaves[node].0[lane];
                let fits = by <= *leaf;
                *leaf = leaf.wrapping_sub(by);
                fits
            }
        };
        assert!(fits, "decrease by {by} below zero at index {index}");
        self.total -= by;
        self.add_to_sums(node, by.wrapping_neg());
    }

    // Writes a leaf and adds the difference to the sums above it.
    fn store(&mut self, index: u32, weight: u64, delta: u64) {
        let (node, lane) = (index as usize / LANES, index as usize % LANES);
        if let Leaves::Narrow(leaves) = &mut self.leaves {
            match u32::try_from(weight) {
                Ok(narrow) => leaves[node].0[lane] = narrow,
                Err(_) => self.widen(),
            }
        }
        if let Leaves::Wide(leaves) = &mut self.leaves {
            leaves[node].0[lane] = weight;
        }
        self.add_to_sums(node, delta);
    }

    // Adds `delta` (two's complement, so it may stand for a subtraction) to
    // the sum above leaf node `node` at every level.
    #[inline]
    fn add_to_sums(&mut self, node: usize, delta: u64) {
        let mut position = node;
        for &start in self.starts.iter().rev() {
            let sum = &mut self.inner[start as usize + position / LANES].0[position % LANES];
            *sum = sum.wrapping_add(delta);
            position /= LANES;
        }
    }

    // Switches every leaf to u64, for the first weight past u32::MAX.
    fn widen(&mut self) {
        if let Leaves::Narrow(leaves) = &self.leaves {
            self.leaves = Leaves::Wide(widened(leaves));
        }
    }
}

fn widened(leaves: &[NarrowLeaf]) -> Vec<WideLeaf> {
    leaves
        .iter()
        .map(|leaf| WideLeaf(leaf.0.map(u64::from)))
        .collect()
}

impl PartialEq for Sampler {
    fn eq(&self, other: &Sampler) -> bool {
        self.len == other.len
            && (0..self.len).all(|index| self.weight(index) == other.weight(index))
    }
}

impl Eq for Sampler {}

fn out_of_range(index: u32, len: u32) -> ! {
    panic!("sampler index {index} out of range for {len} weights")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_find(weights: &[u64], point: u64) -> Option<u32> {
        let mut running = 0u64;
        for (index, &weight) in weights.iter().enumerate() {
            running += weight;
            if point < running {
                return u32::try_from(index).ok();
            }
        }
        None
    }

    #[test]
    fn finds_every_point_like_a_cumulative_scan() {
        for len in [0usize, 1, 2, 15, 16, 17, 255, 256, 257, 4097] {
            let weights: Vec<u64> = (0..len as u64).map(|i| (i * 7919) % 5).collect();
            let sampler = Sampler::new(&weights).unwrap();
            let total: u64 = weights.iter().sum();
            assert_eq!(sampler.total(), total, "len {len}");
            assert_eq!(sampler.len() as usize, len);
            for point in 0..=total {
                assert_eq!(
                    sampler.find(point),
                    naive_find(&weights, point),
                    "len {len} point {point}"
                );
            }
        }
    }

    #[test]
    fn updates_keep_every_prefix() {
        let mut weights: Vec<u64> = (0..300u64).map(|i| i % 4).collect();
        let mut sampler = Sampler::new(&weights).unwrap();
        for step in 0..600u64 {
            let index = ((step * 37) % 300) as u32;
            let weight = (step * 13) % 9;
            sampler.set(index, weight).unwrap();
            weights[index as usize] = weight;
            if step % 50 == 0 {
                let total: u64 = weights.iter().sum();
                for point in 0..total {
                    assert_eq!(sampler.find(point), naive_find(&weights, point));
                }
            }
        }
        for (index, &weight) in weights.iter().enumerate() {
            assert_eq!(sampler.weight(index as u32), Some(weight));
        }
        assert_eq!(
            sampler,
            Sampler::new(&weights).unwrap(),
            "an updated tree equals a rebuilt one"
        );
    }

    #[test]
    fn decrease_lowers_one_weight() {
        let mut sampler = Sampler::new(&[4, 4, 4]).unwrap();
        sampler.decrease(1, 3);
        assert_eq!(sampler.weight(1), Some(1));
        assert_eq!(sampler.total(), 9);
        assert_eq!(sampler.find(4), Some(1));
        assert_eq!(sampler.find(5), Some(2));
    }

    #[test]
    #[should_panic(expected = "below zero at index 0")]
    fn decrease_below_zero_panics() {
        let mut sampler = Sampler::new(&[1]).unwrap();
        sampler.decrease(0, 2);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn set_out_of_range_panics() {
        let mut sampler = Sampler::new(&[1]).unwrap();
        let _ = sampler.set(1, 1);
    }

    #[test]
    fn overflow_is_refused_and_changes_nothing() {
        assert_eq!(
            Sampler::new(&[u64::MAX, 1]),
            Err(SamplerError::TotalOverflow)
        );
        let mut sampler = Sampler::new(&[u64::MAX - 1, 0]).unwrap();
        let before = sampler.clone();
        assert_eq!(sampler.set(1, 2), Err(SamplerError::TotalOverflow));
        assert_eq!(sampler, before);
        sampler.set(1, 1).unwrap();
        assert_eq!(sampler.total(), u64::MAX);
        assert_eq!(sampler.find(u64::MAX - 1), Some(1));
    }

    #[test]
    fn weight_and_find_past_the_end_are_none() {
        let sampler = Sampler::new(&[2, 3]).unwrap();
        assert_eq!(sampler.weight(2), None);
        assert_eq!(sampler.find(5), None);
        assert!(!sampler.is_empty());
        assert!(Sampler::new(&[]).unwrap().is_empty());
    }

    #[test]
    fn a_zero_total_samples_nothing() {
        let sampler = Sampler::new(&[0, 0]).unwrap();
        let mut rng = rand_pcg::Pcg64Mcg::new(7);
        assert_eq!(sampler.sample(&mut rng), None);
    }

    #[test]
    fn levels_shrink_to_one_root() {
        let sampler = Sampler::new(&vec![1; 70_000]).unwrap();
        // 70 000 weights: 4375 leaf nodes, then inner levels of 274, 18, 2
        // and the root.
        assert_eq!(sampler.starts, vec![0, 1, 3, 21]);
        assert_eq!(sampler.inner.len(), 21 + 274);
        assert!(matches!(&sampler.leaves, Leaves::Narrow(leaves) if leaves.len() == 4375));
        assert_eq!(sampler.total(), 70_000);
        // Sixteen weights or fewer: one leaf node and no inner level.
        let tiny = Sampler::new(&[5; 16]).unwrap();
        assert_eq!((tiny.starts.len(), tiny.inner.len()), (0, 0));
        assert_eq!(tiny.find(79), Some(15));
        let two = Sampler::new(&[5; 17]).unwrap();
        assert_eq!((two.starts.len(), two.inner.len()), (1, 1));
    }

    #[test]
    fn a_weight_past_u32_widens_the_leaves() {
        let mut weights: Vec<u64> = (0..40).collect();
        let mut sampler = Sampler::new(&weights).unwrap();
        assert!(matches!(sampler.leaves, Leaves::Narrow(_)));
        sampler.set(17, 1 << 40).unwrap();
        weights[17] = 1 << 40;
        assert!(matches!(sampler.leaves, Leaves::Wide(_)));
        assert_eq!(sampler, Sampler::new(&weights).unwrap());
        let total: u64 = weights.iter().sum();
        for point in [
            0,
            135,
            136,
            137,
            (1 << 40) + 135,
            (1 << 40) + 136,
            total - 1,
        ] {
            assert_eq!(
                sampler.find(point),
                naive_find(&weights, point),
                "point {point}"
            );
        }
        // Wide from the start too.
        assert!(matches!(
            Sampler::new(&[u64::from(u32::MAX) + 1]).unwrap().leaves,
            Leaves::Wide(_)
        ));
        assert!(matches!(
            Sampler::new(&[u64::from(u32::MAX)]).unwrap().leaves,
            Leaves::Narrow(_)
        ));
    }
}
