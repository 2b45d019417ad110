use std::fmt;

/// Number of emotion classes.
pub const NUM_CLASSES: usize = 7;

/// The seven FER2013 emotions, in Ferrite's label order (alphabetical, as in the Kaggle layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Emotion {
    /// Angry.
    Angry,
    /// Disgust.
    Disgust,
    /// Fear.
    Fear,
    /// Happy.
    Happy,
    /// Neutral.
    Neutral,
    /// Sad.
    Sad,
    /// Surprise.
    Surprise,
}

impl Emotion {
    /// All emotions in label order; `Emotion::ALL[i].index() == i`.
    pub const ALL: [Emotion; NUM_CLASSES] = [
        Emotion::Angry,
        Emotion::Disgust,
        Emotion::Fear,
        Emotion::Happy,
        Emotion::Neutral,
        Emotion::Sad,
        Emotion::Surprise,
    ];

    /// The position of this emotion in the model's output vector.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The emotion with the highest score (probability or logit) in `scores`, in label order;
    /// of equal highest, the later one.
    pub fn most_likely(scores: &[f32; NUM_CLASSES]) -> Emotion {
        let best = (0..NUM_CLASSES)
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
            .unwrap_or(0);
        Self::ALL[best]
    }

    /// The emotion at position `index` of the model's output, if any.
    pub fn from_index(index: usize) -> Option<Emotion> {
        Self::ALL.get(index).copied()
    }

    /// The canonical lower-case name (`"angry"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Emotion::Angry => "angry",
            Emotion::Disgust => "disgust",
            Emotion::Fear => "fear",
            Emotion::Happy => "happy",
            Emotion::Neutral => "neutral",
            Emotion::Sad => "sad",
            Emotion::Surprise => "surprise",
        }
    }

    /// The canonical names in label order.
    pub fn names() -> [&'static str; NUM_CLASSES] {
        Self::ALL.map(Emotion::name)
    }

    /// Parses a class name case-insensitively, accepting the usual aliases of other datasets
    /// (`anger`, `disgusted`, `fearful`, `happiness`, `sadness`, `surprised`, ...).
    pub fn from_name(name: &str) -> Option<Emotion> {
        let lower = name.trim().to_ascii_lowercase();
        let emotion = match lower.as_str() {
            "angry" | "anger" | "mad" => Emotion::Angry,
            "disgust" | "disgusted" | "disgusting" | "contempt" => Emotion::Disgust,
            "fear" | "fearful" | "afraid" | "scared" => Emotion::Fear,
            "happy" | "happiness" | "joy" | "smile" => Emotion::Happy,
            "neutral" | "calm" | "none" => Emotion::Neutral,
            "sad" | "sadness" | "unhappy" => Emotion::Sad,
            "surprise" | "surprised" | "surprising" => Emotion::Surprise,
            _ => return None,
        };
        Some(emotion)
    }

    /// Maps the emotion code of the original `fer2013.csv`
    /// (0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral).
    pub fn from_fer_code(code: u8) -> Option<Emotion> {
        let emotion = match code {
            0 => Emotion::Angry,
            1 => Emotion::Disgust,
            2 => Emotion::Fear,
            3 => Emotion::Happy,
            4 => Emotion::Sad,
            5 => Emotion::Surprise,
            6 => Emotion::Neutral,
            _ => return None,
        };
        Some(emotion)
    }
}

impl fmt::Display for Emotion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_round_trips() {
        for (i, e) in Emotion::ALL.iter().enumerate() {
            assert_eq!(e.index(), i);
            assert_eq!(Emotion::from_index(i), Some(*e));
        }
        assert_eq!(Emotion::from_index(7), None);
    }

    #[test]
    fn the_highest_score_wins_and_ties_go_to_the_later_class() {
        let scores = [0.1, 0.05, 0.2, 0.4, 0.1, 0.1, 0.05];
        assert_eq!(Emotion::most_likely(&scores), Emotion::Happy);
        let logits = [-1.0, 3.0, 3.0, 0.0, -2.0, 1.0, 2.0];
        assert_eq!(Emotion::most_likely(&logits), Emotion::Fear);
    }

    #[test]
    fn names_and_aliases_parse_case_insensitively() {
        assert_eq!(Emotion::from_name("Happy"), Some(Emotion::Happy));
        assert_eq!(Emotion::from_name("ANGER"), Some(Emotion::Angry));
        assert_eq!(Emotion::from_name("disgusted"), Some(Emotion::Disgust));
        assert_eq!(Emotion::from_name("Fearful"), Some(Emotion::Fear));
        assert_eq!(Emotion::from_name("sadness"), Some(Emotion::Sad));
        assert_eq!(Emotion::from_name("surprised"), Some(Emotion::Surprise));
        assert_eq!(Emotion::from_name("bored"), None);
        for e in Emotion::ALL {
            assert_eq!(Emotion::from_name(e.name()), Some(e));
        }
    }

    #[test]
    fn fer_csv_codes_map_to_the_right_labels() {
        assert_eq!(Emotion::from_fer_code(4), Some(Emotion::Sad));
        assert_eq!(Emotion::from_fer_code(6), Some(Emotion::Neutral));
        assert_eq!(Emotion::from_fer_code(7), None);
    }
}
