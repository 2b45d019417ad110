use std::str::FromStr;

use serde::{Deserialize, Serialize};

use ferrite_data::NUM_CLASSES;

/// How to weight classes in the loss against FER2013's imbalance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeighting {
    /// All classes weigh 1.
    None,
    /// scikit-learn's `balanced`: `n / (k * count)`, as the report used.
    Balanced,
    /// The square root of `balanced`: a milder correction that costs less accuracy.
    Sqrt,
}

impl FromStr for ClassWeighting {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(ClassWeighting::None),
            "balanced" => Ok(ClassWeighting::Balanced),
            "sqrt" => Ok(ClassWeighting::Sqrt),
            other => Err(format!(
                "unknown class weighting `{other}` (none, balanced, sqrt)"
            )),
        }
    }
}

impl ClassWeighting {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            ClassWeighting::None => "none",
            ClassWeighting::Balanced => "balanced",
            ClassWeighting::Sqrt => "sqrt",
        }
    }
}

/// Class weights for the given per-class counts. Classes with no samples get weight 0.
pub fn class_weights(counts: &[usize; NUM_CLASSES], mode: ClassWeighting) -> [f32; NUM_CLASSES] {
    let n: usize = counts.iter().sum();
    let present = counts.iter().filter(|&&c| c > 0).count().max(1);
    counts.map(|c| {
        if c == 0 {
            return 0.0;
        }
        let balanced = n as f32 / (present as f32 * c as f32);
        match mode {
            ClassWeighting::None => 1.0,
            ClassWeighting::Balanced => balanced,
            ClassWeighting::Sqrt => balanced.sqrt(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_matches_sklearn_on_fer2013_counts() {
        // FER2013 train counts: angry, disgust, fear, happy, neutral, sad, surprise.
        let counts = [3995, 436, 4097, 7215, 4965, 4830, 3171];
        let w = class_weights(&counts, ClassWeighting::Balanced);
        assert!((w[1] - 9.4066).abs() < 1e-3, "{w:?}");
        assert!((w[3] - 0.5684).abs() < 1e-3, "{w:?}");
        let s = class_weights(&counts, ClassWeighting::Sqrt);
        assert!((s[1] - w[1].sqrt()).abs() < 1e-6);
        assert_eq!(class_weights(&counts, ClassWeighting::None), [1.0; 7]);
    }

    #[test]
    fn missing_classes_get_zero_weight() {
        let w = class_weights(&[10, 0, 10, 0, 0, 0, 0], ClassWeighting::Balanced);
        assert_eq!(w, [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    }
}
