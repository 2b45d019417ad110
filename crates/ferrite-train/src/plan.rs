//! `--time-limit`: how many epochs a wall-clock budget holds.

/// The last epoch that a budget of `limit` seconds reaches when `elapsed` have gone and epochs
/// take `pace` seconds; never earlier than `done`, the epoch just finished, and never later than
/// `planned`, the current plan. A plan is only ever shortened: lengthening it again after a
/// slow epoch would send the cosine schedule's learning rate back up (seen on a CPU run whose
/// plan went 8 -> 7 -> 8 epochs).
pub(crate) fn replanned_epochs(
    limit: f64,
    elapsed: f64,
    pace: f64,
    done: usize,
    planned: usize,
) -> usize {
    let left = ((limit - elapsed) / pace.max(1e-9)).floor().max(0.0);
    (done + left.min(1e6) as usize).min(planned)
}

#[cfg(test)]
mod tests {
    use super::replanned_epochs;

    #[test]
    fn a_time_limit_keeps_the_epochs_that_fit() {
        // 100 s used by 2 epochs of 40 s (plus loading); 300 s budget: 5 more fit.
        assert_eq!(replanned_epochs(300.0, 100.0, 40.0, 2, 30), 7);
        // Budget spent: the run ends with the epoch just done.
        assert_eq!(replanned_epochs(300.0, 310.0, 40.0, 4, 30), 4);
        assert_eq!(replanned_epochs(300.0, 299.0, 40.0, 4, 30), 4);
    }

    #[test]
    fn a_plan_is_only_ever_shortened() {
        // Room for 9 more epochs, but the plan (or --epochs) says 6.
        assert_eq!(replanned_epochs(1000.0, 100.0, 100.0, 2, 6), 6);
        // A plan cut to 7 after a slow epoch stays 7 when a faster epoch would fit 8.
        assert_eq!(replanned_epochs(800.0, 500.0, 90.0, 5, 7), 7);
    }
}
