//! `ferrite bench --engine burn` in a lean build (no `burn` feature): refused, saying how to
//! get it.

use std::time::Duration;

use ferrite_model::ArchSpec;

/// Always an error: this build has no burn.
pub fn measure(
    _arch: &ArchSpec,
    _train_batch: Option<usize>,
    _infer_batch: usize,
    _budget: Duration,
    _short: Duration,
) -> anyhow::Result<(Option<f64>, f64, f64)> {
    anyhow::bail!(ferrite_train::NO_BURN)
}
