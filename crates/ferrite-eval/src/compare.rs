//! Whether one model is really more accurate than another on the same faces: their predictions
//! compared face by face. Only the faces exactly one of the two gets right tell them apart;
//! McNemar's exact test asks whether those split more unevenly than a fair coin would (a binomial
//! test, two-sided), and the accuracy difference gets a 95% confidence interval from the paired
//! variance (Wald). On 3,589 faces (a FER2013 test split) a difference of half a point is
//! usually inside the interval: two models' epoch-to-epoch figures are not a ranking.

use serde::{Deserialize, Serialize};

use ferrite_data::Emotion;

/// The normal quantile of a two-sided 95% interval.
const Z_95: f64 = 1.959_964;

/// Two models' predictions on the same faces, compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedComparison {
    /// The model compared against, as it was named.
    pub against: String,
    /// Faces both models classified.
    pub faces: usize,
    /// The evaluated model's accuracy.
    pub accuracy: f64,
    /// The other model's accuracy on the same faces.
    pub against_accuracy: f64,
    /// Faces the evaluated model got right and the other wrong.
    pub only_this_right: usize,
    /// Faces the other model got right and the evaluated one wrong.
    pub only_against_right: usize,
    /// `accuracy - against_accuracy`.
    pub difference: f64,
    /// The difference's 95% confidence interval, low and high.
    pub difference_ci95: [f64; 2],
    /// McNemar's exact test, two-sided: the chance of a split of the disagreeing faces at least
    /// this uneven if both models were equally accurate.
    pub p_value: f64,
}

impl PairedComparison {
    /// Compares `predicted` (the evaluated model's) with `against_predicted` (the model named
    /// `against`) on faces whose true labels are `labels`; the three are in the same face order.
    pub fn measure(
        against: &str,
        labels: &[Emotion],
        predicted: &[Emotion],
        against_predicted: &[Emotion],
    ) -> PairedComparison {
        assert!(
            labels.len() == predicted.len() && labels.len() == against_predicted.len(),
            "one prediction of each model per face"
        );
        let faces = labels.len();
        let (mut this_right, mut against_right) = (0, 0);
        let (mut only_this_right, mut only_against_right) = (0, 0);
        for ((label, this), other) in labels.iter().zip(predicted).zip(against_predicted) {
            let (a, b) = (this == label, other == label);
            this_right += a as usize;
            against_right += b as usize;
            only_this_right += (a && !b) as usize;
            only_against_right += (b && !a) as usize;
        }
        let share = |count: usize| count as f64 / faces.max(1) as f64;
        let difference = share(only_this_right) - share(only_against_right);
        let variance = (share(only_this_right + only_against_right) - difference * difference)
            / faces.max(1) as f64;
        let half_width = Z_95 * variance.max(0.0).sqrt();
        PairedComparison {
            against: against.to_string(),
            faces,
            accuracy: share(this_right),
            against_accuracy: share(against_right),
            only_this_right,
            only_against_right,
            difference,
            difference_ci95: [difference - half_width, difference + half_width],
            p_value: exact_mcnemar(only_this_right, only_against_right),
        }
    }

    /// Whether the difference is significant at the 5% level.
    pub fn significant(&self) -> bool {
        self.p_value < 0.05
    }

    /// The comparison in a few lines of text.
    pub fn text(&self) -> String {
        let [low, high] = self.difference_ci95;
        format!(
            "against {}, the same {} faces: accuracy {:.4} against {:.4}, difference {:+.4} \
             (95% CI {:+.4} to {:+.4})\n\
             faces only this model got right: {}, only {}: {}; McNemar's exact test p = {:.3}: {}",
            self.against,
            self.faces,
            self.accuracy,
            self.against_accuracy,
            self.difference,
            low,
            high,
            self.only_this_right,
            self.against,
            self.only_against_right,
            self.p_value,
            if self.significant() {
                "a significant difference at the 5% level"
            } else {
                "not a significant difference at the 5% level"
            }
        )
    }
}

/// McNemar's exact test, two-sided: twice the chance that a fair coin tossed `b + c` times shows
/// at most `min(b, c)` heads, capped at 1.
fn exact_mcnemar(b: usize, c: usize) -> f64 {
    let tosses = b + c;
    let fewer = b.min(c);
    // ln C(tosses, k) built up term by term; each probability is C(tosses, k) / 2^tosses.
    let ln_half = -(tosses as f64) * std::f64::consts::LN_2;
    let mut ln_choose = 0.0;
    let mut tail = ln_half.exp();
    for k in 1..=fewer {
        ln_choose += ((tosses - k + 1) as f64 / k as f64).ln();
        tail += (ln_choose + ln_half).exp();
    }
    (2.0 * tail).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Emotion::{Angry, Happy, Sad};

    #[test]
    fn the_exact_test_matches_the_binomial_tail() {
        // 10 against 2: 2 x (1 + 12 + 66) / 4096 (R: binom.test(2, 12)$p.value = 0.03857).
        assert!((exact_mcnemar(10, 2) - 2.0 * 79.0 / 4096.0).abs() < 1e-12);
        assert!((exact_mcnemar(2, 10) - exact_mcnemar(10, 2)).abs() < 1e-15);
        assert_eq!(exact_mcnemar(5, 5), 1.0);
        assert_eq!(exact_mcnemar(0, 0), 1.0);
        // Thousands of tosses stay finite: 120 against 80 of 200 (R: 0.005685).
        assert!((exact_mcnemar(120, 80) - 0.005685).abs() < 2e-6);
    }

    #[test]
    fn only_the_faces_one_model_gets_right_count() {
        let labels = [Happy, Happy, Sad, Sad, Angry, Angry];
        let this = [Happy, Happy, Sad, Happy, Angry, Sad];
        let other = [Happy, Sad, Happy, Happy, Angry, Sad];
        let c = PairedComparison::measure("other", &labels, &this, &other);
        assert_eq!(
            (c.faces, c.only_this_right, c.only_against_right),
            (6, 2, 0)
        );
        assert!((c.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert!((c.against_accuracy - 2.0 / 6.0).abs() < 1e-12);
        assert!((c.difference - 2.0 / 6.0).abs() < 1e-12);
        let [low, high] = c.difference_ci95;
        assert!(low < c.difference && c.difference < high);
        assert!((c.p_value - 0.5).abs() < 1e-12, "2 of 2 tosses: 2 x 1/4");
        assert!(!c.significant());
        assert!(c.text().contains("only other: 0"), "{}", c.text());
    }

    #[test]
    fn a_model_against_itself_differs_by_nothing() {
        let labels = [Happy, Sad, Angry, Sad];
        let predicted = [Happy, Happy, Angry, Sad];
        let c = PairedComparison::measure("itself", &labels, &predicted, &predicted);
        assert_eq!(
            (c.difference, c.difference_ci95, c.p_value),
            (0.0, [0.0, 0.0], 1.0)
        );
    }

    #[test]
    fn a_large_consistent_gain_is_significant_and_its_interval_excludes_zero() {
        // 1,000 faces: the evaluated model alone right on 60, the other alone on 20.
        let labels = vec![Happy; 1000];
        let mut this = vec![Happy; 1000];
        let mut other = vec![Happy; 1000];
        other[..60].fill(Sad);
        this[60..80].fill(Sad);
        this[900..].fill(Sad);
        other[900..].fill(Sad);
        let c = PairedComparison::measure("other", &labels, &this, &other);
        assert_eq!((c.only_this_right, c.only_against_right), (60, 20));
        assert!((c.difference - 0.04).abs() < 1e-12);
        assert!(c.difference_ci95[0] > 0.0, "{:?}", c.difference_ci95);
        assert!(c.significant(), "p = {}", c.p_value);
    }
}
