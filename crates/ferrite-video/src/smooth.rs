//! Each track's emotions smoothed over time: an exponential moving average of its
//! probabilities, kept apart from the tracker so that faces can be classified (and smoothed,
//! in frame order) some frames after the tracker has moved on, even past the end of a track.

use std::collections::HashMap;

use ferrite_data::NUM_CLASSES;

/// The moving average of each track's probabilities.
#[derive(Debug, Clone)]
pub struct Smoother {
    /// Weight of the newest frame (1: no smoothing).
    alpha: f32,
    averages: HashMap<usize, [f32; NUM_CLASSES]>,
}

impl Smoother {
    /// Averages where the newest frame weighs `alpha` (in (0, 1], checked by
    /// [`crate::TrackerConfig::validate`]).
    pub fn new(alpha: f32) -> Smoother {
        Smoother {
            alpha,
            averages: HashMap::new(),
        }
    }

    /// Folds this frame's probabilities of track `id` into its average; returns the average.
    pub fn smooth(&mut self, id: usize, p: &[f32; NUM_CLASSES]) -> [f32; NUM_CLASSES] {
        let alpha = self.alpha;
        let average = self
            .averages
            .entry(id)
            .and_modify(|old| *old = std::array::from_fn(|k| alpha * p[k] + (1.0 - alpha) * old[k]))
            .or_insert(*p);
        *average
    }

    /// Forgets the tracks `followed` says have ended (their ids never come back), so that
    /// memory does not grow with the number of people a long video has shown.
    pub fn forget_ended(&mut self, followed: impl Fn(usize) -> bool) {
        self.averages.retain(|&id, _| followed(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_is_an_exponential_moving_average_per_track() {
        let mut smoother = Smoother::new(0.5);
        let a = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let b = [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(smoother.smooth(1, &a), a);
        assert_eq!(smoother.smooth(2, &b), b, "each track has its own average");
        let s = smoother.smooth(1, &b);
        assert_eq!((s[0], s[1]), (0.5, 0.5));
        let s = smoother.smooth(1, &b);
        assert_eq!((s[0], s[1]), (0.25, 0.75));
        smoother.forget_ended(|id| id == 2);
        assert_eq!(
            smoother.smooth(1, &b),
            b,
            "an ended track's average is gone"
        );
    }
}
