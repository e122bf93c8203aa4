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
