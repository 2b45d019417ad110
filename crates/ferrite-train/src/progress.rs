//! Progress without a terminal: a hidden bar (a log file, a background run) gets a plain line
//! each time another tenth of its length is done, from one rule for every long loop.

use indicatif::ProgressBar;

/// Where a hidden `bar` stands when the last step (of `step` units) took it past another tenth
/// of its length (the end excepted): `(done, len, seconds so far, seconds left)`.
pub(crate) fn tenth_crossed(bar: &ProgressBar, step: u64) -> Option<(u64, u64, f64, f64)> {
    let (done, len) = (bar.position(), bar.length().unwrap_or(0));
    let tenth = (len / 10).max(1);
    if !bar.is_hidden() || done == len || done / tenth == done.saturating_sub(step) / tenth {
        return None;
    }
    let elapsed = bar.elapsed().as_secs_f64();
    Some((
        done,
        len,
        elapsed,
        elapsed / done as f64 * (len - done) as f64,
    ))
}
