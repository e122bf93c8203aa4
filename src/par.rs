//! Small helpers for deterministic data-parallel work: the crate's one ordered parallel sum,
//! and splitting customer-grouped (CSR) arrays.

use rayon::prelude::*;

use crate::special::Real;

/// Σ f(i) over 0..n in parallel: fixed chunks of `chunk` indices, each summed in index order,
/// then the chunk sums in chunk order. The chunks do not depend on the thread count, so
/// neither does the floating-point result (a work-stealing `sum` would regroup the additions
/// with the threads). Every parallel reduction of floats in the crate goes through here.
pub(crate) fn ordered_sum<R: Real + Send + Sync>(
    n: usize,
    chunk: usize,
    f: impl Fn(usize) -> R + Sync,
) -> R {
    let chunk = chunk.max(1);
    if n <= chunk {
        // One chunk: summed here, in the same order and from the same zero as below, without
        // a round trip through the thread pool (which an optimiser's thousands of evaluations
        // of a small data set's likelihood paid each time, up to seconds in all).
        return R::cst(0.0) + (0..n).fold(R::cst(0.0), |acc, i| acc + f(i));
    }
    let partial: Vec<R> = (0..n.div_ceil(chunk))
        .into_par_iter()
        .map(|c| {
            let lo = c * chunk;
            let hi = (lo + chunk).min(n);
            (lo..hi).fold(R::cst(0.0), |acc, i| acc + f(i))
        })
        .collect();
    partial.into_iter().fold(R::cst(0.0), |a, b| a + b)
}

/// `items.iter().map(f).collect()`, in parallel when there are enough items to share: below
/// [`SERIAL_BELOW`] the thread pool's round trip (a sleep and a wake-up for the calling
/// thread) costs more than the work. A likelihood maps its data's distinct values this way on
/// every evaluation, and an optimiser's thousands of evaluations on a handful of rows spent
/// seconds waiting on the pool. The values are the same either way.
pub(crate) fn map_collect<T: Sync, U: Send>(
    items: &[T],
    f: impl Fn(&T) -> U + Sync + Send,
) -> Vec<U> {
    if items.len() < SERIAL_BELOW {
        items.iter().map(f).collect()
    } else {
        items.par_iter().map(f).collect()
    }
}

/// Items below which [`map_collect`] maps on the calling thread: the pool's round trip is
/// ~10–20 µs here, a few hundred of the likelihoods' cheapest items (a logarithm of a dual
/// number) and a few dozen of their dearest; at and above it the map is shared as before.
const SERIAL_BELOW: usize = 128;

/// Splits `data` into consecutive mutable pieces at `offsets` (`offsets[0] == 0`,
/// non-decreasing, last == `data.len()`), so each customer's rows can be handed to a different
/// rayon task. The caller guarantees the offsets' shape; a shape error only shortens the output.
pub(crate) fn split_by_offsets_mut<'a, T>(
    mut data: &'a mut [T],
    offsets: &[usize],
) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(offsets.len().saturating_sub(1));
    for w in offsets.windows(2) {
        let len = w[1].saturating_sub(w[0]).min(data.len());
        let (head, tail) = std::mem::take(&mut data).split_at_mut(len);
        out.push(head);
        data = tail;
    }
    out
}

/// Exclusive prefix sum of `counts` into CSR offsets (length `counts.len() + 1`).
pub(crate) fn offsets_from_counts(counts: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let counts = counts.into_iter();
    let mut offsets = Vec::with_capacity(counts.size_hint().0 + 1);
    let mut acc = 0usize;
    offsets.push(0);
    for c in counts {
        acc += c;
        offsets.push(acc);
    }
    offsets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_offsets() {
        let mut v = [1, 2, 3, 4, 5];
        let offs = offsets_from_counts([2, 0, 3]);
        assert_eq!(offs, vec![0, 2, 2, 5]);
        let parts = split_by_offsets_mut(&mut v, &offs);
        assert_eq!(parts.len(), 3);
        assert_eq!(&*parts[0], &[1, 2]);
        assert!(parts[1].is_empty());
        assert_eq!(&*parts[2], &[3, 4, 5]);
    }
}
