//! Large working buffers and outputs: asking the kernel to map them in 2 MiB pages.
//!
//! A buffer of tens of megabytes that is written once — the rows partitioned by customer, a
//! column of a million scores, the summaries themselves — costs about as much in page faults
//! as in the writing: Linux maps fresh memory 4 KiB at a time, one fault and one zeroed page
//! each, and frees it page by page. Profiles of the columnar summaries and scoring put 30–40 %
//! of their time in the kernel for that reason. Where transparent huge pages are enabled for
//! `madvise` (the common default) or always, a hint on the buffer before it is first touched
//! lets the kernel map it 2 MiB at a time: 512 times fewer faults.
//!
//! The hint changes no value and no behaviour, only how the memory is backed; it is skipped
//! for small buffers and on other systems, and a refusal is ignored.

/// The size of a transparent huge page on x86-64 and the usual arm64 configurations.
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// Buffers smaller than this are not worth a system call (they are faulted in within a
/// fraction of a millisecond, and the allocator may serve them from memory already mapped).
#[cfg(target_os = "linux")]
const MIN_BYTES: usize = 8 * HUGE_PAGE;

/// A vector with room for `n` items whose memory the kernel is asked to map in huge pages.
/// Fill it (`extend`, `collect_into_vec`, `par_extend`) before anything else touches it.
pub(crate) fn with_capacity<T>(n: usize) -> Vec<T> {
    let v: Vec<T> = Vec::with_capacity(n);
    advise(
        v.as_ptr().cast(),
        v.capacity().saturating_mul(size_of::<T>()),
    );
    v
}

/// `n` zeros of a plain number type, mapped in huge pages where the system allows: the
/// allocator hands over fresh zeroed memory without writing it, so the pages are first touched
/// (and faulted in) by whoever fills the buffer, often several threads at once.
pub(crate) fn zeros<T: Zero>(n: usize) -> Vec<T> {
    let v = T::zeros(n);
    advise(v.as_ptr().cast(), v.len().saturating_mul(size_of::<T>()));
    v
}

/// Makes `v` hold at least `n` items for a caller that overwrites the ones it uses: `v` as it
/// is when it holds enough (a buffer kept from an earlier call), otherwise fresh [`zeros`].
/// The old memory is let go before the new is taken, so the two are never held at once.
pub(crate) fn grow_zeros<T: Zero>(v: &mut Vec<T>, n: usize) {
    if v.len() < n {
        *v = Vec::new();
        *v = zeros(n);
    }
}

/// Makes `v` empty with room for at least `n` items: its own memory when it has enough (a
/// buffer kept from an earlier call), otherwise fresh memory as from [`with_capacity`], the
/// old let go first.
pub(crate) fn reserve_fresh<T>(v: &mut Vec<T>, n: usize) {
    v.clear();
    if v.capacity() < n {
        *v = Vec::new();
        *v = with_capacity(n);
    }
}

/// Number types whose `vec![0; n]` the standard library allocates zeroed, untouched.
pub(crate) trait Zero: Sized {
    /// `vec![0; n]`.
    fn zeros(n: usize) -> Vec<Self>;
}

macro_rules! zero {
    ($($t:ty),*) => {$(
        impl Zero for $t {
            fn zeros(n: usize) -> Vec<Self> {
                vec![0 as $t; n]
            }
        }
    )*};
}
zero!(u32, f64);

impl<const N: usize> Zero for [u64; N] {
    fn zeros(n: usize) -> Vec<Self> {
        vec![[0u64; N]; n]
    }
}

/// Hints that the whole 2 MiB pages inside `[start, start + len)` be huge pages.
#[cfg(target_os = "linux")]
fn advise(start: *const u8, len: usize) {
    if len < MIN_BYTES {
        return;
    }
    let addr = start as usize;
    let lo = addr.next_multiple_of(HUGE_PAGE);
    let hi = (addr + len) / HUGE_PAGE * HUGE_PAGE;
    if hi <= lo {
        return;
    }
    // SAFETY: [lo, hi) lies inside one live allocation that this crate owns (the vector just
    // allocated, of `len` bytes from `start`), and MADV_HUGEPAGE only changes how the kernel
    // backs those pages — never their contents, their lifetime or who owns them. The call
    // reads and writes no memory; its result is a hint's acceptance, ignored on purpose.
    unsafe {
        libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_start: *const u8, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_hold_what_is_written_whatever_their_pages() {
        // Large enough to be advised, small and odd enough to end mid-page.
        let n = (40 << 20) / 8 + 3;
        let mut z: Vec<f64> = zeros(n);
        assert!(z.iter().all(|&v| v == 0.0));
        z.iter_mut().enumerate().for_each(|(i, v)| *v = i as f64);
        assert_eq!(z[n - 1], (n - 1) as f64);
        let mut w: Vec<u32> = with_capacity(n);
        assert!(w.capacity() >= n && w.is_empty());
        w.extend((0..n).map(|i| i as u32));
        assert_eq!((w[0], w[n - 1]), (0, (n - 1) as u32));
        // Kept when large enough, replaced when not.
        let at = z.as_ptr();
        grow_zeros(&mut z, n - 1);
        assert_eq!((z.as_ptr(), z.len()), (at, n));
        grow_zeros(&mut z, n + 1);
        assert_eq!(z.len(), n + 1);
        let at = w.as_ptr();
        reserve_fresh(&mut w, n);
        assert_eq!((w.as_ptr(), w.len()), (at, 0));
        reserve_fresh(&mut w, 2 * n);
        assert!(w.capacity() >= 2 * n && w.is_empty());
        // Small ones are left alone and behave the same.
        assert_eq!(zeros::<u32>(5), vec![0u32; 5]);
        assert_eq!(zeros::<[u64; 3]>(2), vec![[0u64; 3]; 2]);
    }
}
