//! Run-time choice of the instruction set for the engine's own loops.
//!
//! The build targets baseline x86-64, where the compiler may use only 128-bit SSE. The loops
//! that the engine writes itself (Winograd's tile transforms, batch norm's passes) run inside
//! [`vectorized`], which compiles them again for AVX-512 and for AVX2 + FMA and picks the
//! best this processor has. gemm's micro-kernels choose for themselves.

/// Runs `f` with the best instruction set this CPU has (AVX-512, or AVX2 and FMA, on x86-64
/// where available), detected at run time. Everything `f` does must be inlined into it to
/// benefit: `f` itself must be an `#[inline(always)]` closure (`vectorized(#[inline(always)] ||
/// ...)`: left to itself, the compiler kept the larger closures as functions of their own,
/// compiled for baseline SSE, and Winograd's transforms and batch norm's passes ran on 128-bit
/// and scalar instructions), and the functions it calls need `#[inline(always)]` too.
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}
