//! Loops compiled twice: for the baseline CPU and for AVX2, the wider build chosen at run
//! time where the CPU has it.
//!
//! The crate is built for plain x86-64 (two 64-bit lanes a vector register) so that one
//! binary runs everywhere; the hot loops over millions of rows or points are worth a second
//! build with four lanes a register and the 64-bit compares and blends that plain x86-64
//! lacks. A loop to build twice is written as a [`Kernel`] and run through [`wide`]. Rust
//! never fuses a multiplication and an addition on its own and never reorders a float sum,
//! so both builds give the same bits: only the speed depends on the CPU.

/// A loop worth compiling for wider vectors: [`wide`] runs it. `run` is `#[inline(always)]`
/// in every implementation, so each build compiles the loop itself (a closure would be
/// compiled once, for the baseline CPU, and only called from the wide build).
pub(crate) trait Kernel {
    /// What the loop returns.
    type Out;
    /// The loop.
    fn run(self) -> Self::Out;
}

/// Runs a kernel compiled for AVX2 where the CPU has it (x86-64), as it is elsewhere. The
/// check is made once per call, and a kernel is a loop over thousands of items.
#[inline(always)]
pub(crate) fn wide<K: Kernel>(kernel: K) -> K::Out {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the one requirement of a `target_feature` function is that the CPU has the
        // feature, checked on the line above.
        return unsafe { avx2(kernel) };
    }
    kernel.run()
}

/// A kernel compiled for AVX2 (see [`wide`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn avx2<K: Kernel>(kernel: K) -> K::Out {
    kernel.run()
}
