//! Small helpers for deterministic data-parallel work over customer-grouped (CSR) arrays.

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
