//! A dynamic weighted sampler over `u64` weights.
//!
//! # Layout
//!
//! A 16-ary sum tree stored level by level in one array, root level first.
//! Each node is a block of [`LANES`] counters aligned to 128 bytes (two cache
//! lines that the adjacent-line prefetcher fetches together). A node does not
//! hold its children's sums but their *inclusive prefix* sums, so:
//!
//! - finding the child that contains a point is a count of the lanes whose
//!   prefix is `<= point`, with no early exit and no data-dependent branch;
//! - changing a weight adds the same delta to the lanes at and after the
//!   child's lane, also without a branch, in every node on the path.
//!
//! Both are O(log₁₆ n): five nodes for a million weights. The textbook
//! binary layouts (Fenwick trees, heap-ordered sum trees) touch twenty nodes
//! whose power-of-two strides land in a different cache line at every level,
//! which is why they lose to this layout as soon as the weights leave the L1
//! cache.
//!
//! Lanes past the last weight hold the node's total, which is exactly what a
//! prefix of zero weights would hold, so they are never selected.
//!
//! Indices and arithmetic are `u32` and `u64` throughout: the sampler gives
//! the same answers on 32-bit and 64-bit targets.

use rand_core::RngCore;

use crate::rules::uniform_below;

/// Children per node.
pub const LANES: usize = 16;

/// The most weights a sampler holds: 2³⁰, so that leaf positions, padded to
/// whole nodes, stay far inside a 32-bit `usize`.
pub const MAX_WEIGHTS: u32 = 1 << 30;

// One node: inclusive prefix sums of its children's totals.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(C, align(128))]
struct Node([u64; LANES]);

impl Node {
    const ZERO: Node = Node([0; LANES]);

    fn total(&self) -> u64 {
        self.0[LANES - 1]
    }

    // The lane holding `point`, given `point < self.total()`. The `min`
    // keeps the result in range when that precondition does not hold
    // (it compiles to a conditional move, not a branch).
    #[inline(always)]
    fn lane_of(&self, point: u64) -> usize {
        let below = self
            .0
            .iter()
            .map(|&prefix| usize::from(prefix <= point))
            .sum::<usize>();
        below.min(LANES - 1)
    }

    #[inline(always)]
    fn before(&self, lane: usize) -> u64 {
        if lane == 0 { 0 } else { self.0[lane - 1] }
    }

    // Adds `delta` (two's complement, so it may stand for a subtraction) to
    // the lanes from `lane` on.
    #[inline(always)]
    fn shift_from(&mut self, lane: usize, delta: u64) {
        for (index, prefix) in self.0.iter_mut().enumerate() {
            let mask = 0u64.wrapping_sub(u64::from(index >= lane));
            *prefix = prefix.wrapping_add(delta & mask);
        }
    }
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
///
/// ```
/// use tombola_core::sampler::Sampler;
///
/// let mut sampler = Sampler::new(&[3, 0, 5])?;
/// assert_eq!(sampler.total(), 8);
/// // Points 0..3 fall on index 0, points 3..8 on index 2.
/// assert_eq!(sampler.find(2), Some(0));
/// assert_eq!(sampler.find(3), Some(2));
/// sampler.decrease(2, 5);
/// assert_eq!(sampler.find(3), None);
/// # Ok::<(), tombola_core::sampler::SamplerError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Sampler {
    // All levels, root level first; `starts[level]` is where a level begins,
    // level 0 being the root.
    nodes: Vec<Node>,
    starts: Vec<u32>,
    len: u32,
}

impl Sampler {
    /// Builds a sampler over `weights`, in O(n).
    ///
    /// # Errors
    ///
    /// [`SamplerError::TotalOverflow`] if the weights add up to more than
    /// `u64::MAX`, [`SamplerError::TooManyWeights`] past [`MAX_WEIGHTS`].
    pub fn new(weights: &[u64]) -> Result<Sampler, SamplerError> {
        let len = u32::try_from(weights.len())
            .ok()
            .filter(|&len| len <= MAX_WEIGHTS)
            .ok_or(SamplerError::TooManyWeights)?;
        // Node counts from the leaves up.
        let mut widths = vec![weights.len().div_ceil(LANES).max(1)];
        while let Some(&width) = widths.last().filter(|&&width| width > 1) {
            widths.push(width.div_ceil(LANES));
        }
        let mut starts = Vec::with_capacity(widths.len());
        let mut start = 0u32;
        for &width in widths.iter().rev() {
            starts.push(start);
            start += u32::try_from(width).map_err(|_| SamplerError::TooManyWeights)?;
        }
        let mut nodes = vec![Node::ZERO; start as usize];

        // Fill the leaf level, then each level from the totals of the one below.
        let mut sums: Vec<u64> = weights.to_vec();
        for depth in (0..starts.len()).rev() {
            let first = starts[depth] as usize;
            let mut totals = Vec::with_capacity(sums.len().div_ceil(LANES));
            for (offset, chunk) in sums.chunks(LANES).enumerate() {
                let node = &mut nodes[first + offset];
                let mut running = 0u64;
                for lane in 0..LANES {
                    let value = chunk.get(lane).copied().unwrap_or(0);
                    running = running
                        .checked_add(value)
                        .ok_or(SamplerError::TotalOverflow)?;
                    node.0[lane] = running;
                }
                totals.push(running);
            }
            sums = totals;
        }
        Ok(Sampler { nodes, starts, len })
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
        self.nodes[0].total()
    }

    /// The weight at `index`, or `None` past the end.
    pub fn weight(&self, index: u32) -> Option<u64> {
        if index >= self.len {
            return None;
        }
        let node = &self.nodes[self.leaf_start() + index as usize / LANES];
        let lane = index as usize % LANES;
        Some(node.0[lane] - node.before(lane))
    }

    /// The index whose share of `0..total()` contains `point`: index `i` owns
    /// the points from the sum of the weights before it, for its weight.
    /// `None` if `point >= total()`.
    ///
    /// Weights of zero own no points and are never returned.
    pub fn find(&self, point: u64) -> Option<u32> {
        if point >= self.total() {
            return None;
        }
        let mut rest = point;
        let mut position = 0usize;
        for &start in &self.starts {
            let node = &self.nodes[start as usize + position];
            let lane = node.lane_of(rest);
            rest -= node.before(lane);
            position = position * LANES + lane;
        }
        // `point < total` makes every lane chosen above real, so the leaf
        // position is below `len`, which is a u32.
        u32::try_from(position).ok()
    }

    /// Draws an index with probability `weight / total()`, using one
    /// unbiased uniform draw below `total()`; `None` if the total is zero.
    pub fn sample<R: RngCore + ?Sized>(&self, rng: &mut R) -> Option<u32> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        self.find(uniform_below(rng, total))
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
        if weight > old {
            let grown = weight - old;
            self.total()
                .checked_add(grown)
                .ok_or(SamplerError::TotalOverflow)?;
        }
        self.shift(index, weight.wrapping_sub(old));
        Ok(())
    }

    /// Lowers the weight at `index` by `by`. This cannot overflow, so unlike
    /// [`Sampler::set`] it cannot fail.
    ///
    /// # Panics
    ///
    /// If `index >= len()` or `by` exceeds the weight at `index`.
    pub fn decrease(&mut self, index: u32, by: u64) {
        let old = self
            .weight(index)
            .unwrap_or_else(|| out_of_range(index, self.len));
        assert!(
            by <= old,
            "decrease by {by} below zero: weight {old} at index {index}"
        );
        self.shift(index, by.wrapping_neg());
    }

    fn leaf_start(&self) -> usize {
        self.starts.last().map_or(0, |&start| start as usize)
    }

    // Adds a two's-complement delta to the weight at `index` and to every
    // prefix above it.
    fn shift(&mut self, index: u32, delta: u64) {
        let mut position = index as usize;
        for &start in self.starts.iter().rev() {
            let node = &mut self.nodes[start as usize + position / LANES];
            node.shift_from(position % LANES, delta);
            position /= LANES;
        }
    }
}

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
    #[should_panic(expected = "below zero")]
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
        // 70 000 leaves: 4375 leaf nodes, 274, 18, 2, then the root.
        assert_eq!(sampler.starts, vec![0, 1, 3, 21, 295]);
        assert_eq!(sampler.nodes.len(), 295 + 4375);
        assert_eq!(sampler.total(), 70_000);
    }
}
