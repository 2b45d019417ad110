//! Entering rayon's thread pool once per pass instead of once per parallel step.
//!
//! A parallel iterator started on a thread outside the pool (the caller's main thread, a
//! server's worker) hands that thread's work to the pool and blocks until it is done, with a
//! wake-up each way. An inference pass has a dozen such steps; at batch 1 the hand-offs cost
//! more than the arithmetic (the `fast` model: 0.72-0.84 ms a face with them, 0.36-0.38 ms
//! without, on a 2-core AMD EPYC). A training step has more steps but far more arithmetic
//! between them: entering the pool once per pass measured no faster there, so only
//! [`crate::InferenceNet`] uses this.

/// Runs `f` on one of rayon's worker threads (at once when already on one), so that the
/// parallel steps inside it split work between the pool's threads without the calling
/// thread's hand-offs.
pub(crate) fn on_worker<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}
