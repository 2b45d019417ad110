use serde::{Deserialize, Serialize};

/// One VGG-style block: `convs` x [conv3x3 + batch norm + ReLU], then 2x2 max pool and dropout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockSpec {
    /// Output channels of every conv in the block.
    pub channels: usize,
    /// Number of conv layers in the block.
    pub convs: usize,
}

/// The architecture of a Ferrite CNN. Both engines build the same network from this spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchSpec {
    /// A short name for the preset (`reference`, `wide`, ...).
    pub name: String,
    /// The convolutional blocks, from the input on.
    pub blocks: Vec<BlockSpec>,
    /// Hidden fully-connected layers (linear + batch norm + ReLU + dropout) before the classifier.
    pub hidden: Vec<usize>,
    /// Dropout after each conv block.
    pub conv_dropout: f32,
    /// Dropout after each hidden fully-connected layer.
    pub fc_dropout: f32,
    /// Side of the square the network reads: 48 (the whole face), or less for a network
    /// trained on random crops of the face (`ferrite train --crop`), which classifies its
    /// centre crop (or ten crops, `--tta crops`). Cards without it read the whole face.
    #[serde(default = "whole_face", skip_serializing_if = "reads_the_whole_face")]
    pub input_size: usize,
}

fn whole_face() -> usize {
    ferrite_data::FACE_SIZE
}

fn reads_the_whole_face(side: &usize) -> bool {
    *side == ferrite_data::FACE_SIZE
}

impl ArchSpec {
    /// The reference CNN of the benchmarks: 3 blocks of 2 convs (32, 64, 128), FC 256, FC 7.
    pub fn reference() -> ArchSpec {
        Self::vgg("reference", &[32, 64, 128], 2, &[256])
    }

    /// A wider variant of the reference (64, 128, 256 channels).
    pub fn wide() -> ArchSpec {
        Self::vgg("wide", &[64, 128, 256], 2, &[256])
    }

    /// A slim 4-block VGG for speed (49 MFLOP per face, a fourteenth of `wide`; the shipped
    /// `fast` model's network until session 20): one conv of 16 channels at full resolution,
    /// then 2 convs each of 32, 64 and 128 channels, FC 256.
    pub fn fast() -> ArchSpec {
        let mut arch = Self::vgg("fast", &[16, 32, 64, 128], 2, &[256]);
        arch.blocks[0].convs = 1;
        arch
    }

    /// `fast` with a third 128-channel conv at 6x6 (60 MFLOP per face, issue 18's whole
    /// budget; the shipped `fast` model's network since session 20): the one place where a
    /// conv costs little and sees the most of the face.
    pub fn fast_deep() -> ArchSpec {
        let mut arch = Self::fast();
        arch.name = "fast-deep".to_string();
        arch.blocks[3].convs = 3;
        arch
    }

    /// A 4-block VGG (64-512), the shape of the best published FER2013 single CNNs.
    pub fn vgg4() -> ArchSpec {
        Self::vgg("vgg4", &[64, 128, 256, 512], 2, &[512])
    }

    fn vgg(name: &str, channels: &[usize], convs: usize, hidden: &[usize]) -> ArchSpec {
        ArchSpec {
            name: name.to_string(),
            blocks: channels
                .iter()
                .map(|&channels| BlockSpec { channels, convs })
                .collect(),
            hidden: hidden.to_vec(),
            conv_dropout: 0.25,
            fc_dropout: 0.5,
            input_size: whole_face(),
        }
    }

    /// This architecture reading `side`-pixel crops of the face (`--crop`).
    pub fn with_input_size(self, side: usize) -> ArchSpec {
        ArchSpec {
            input_size: side,
            ..self
        }
    }

    /// Looks up a preset by name.
    pub fn preset(name: &str) -> Option<ArchSpec> {
        match name {
            "reference" => Some(Self::reference()),
            "wide" => Some(Self::wide()),
            "fast" => Some(Self::fast()),
            "fast-deep" => Some(Self::fast_deep()),
            "vgg4" => Some(Self::vgg4()),
            _ => None,
        }
    }

    /// Whether a model of this architecture has the same weights, layer by layer, as one of
    /// `other` (blocks, hidden layers and input side alike), so that either can start from the
    /// other's weights (`--init`). Dropout is a training choice, not a weight: it may differ.
    pub fn has_the_weights_of(&self, other: &ArchSpec) -> bool {
        self.blocks == other.blocks
            && self.hidden == other.hidden
            && self.input_size == other.input_size
    }

    /// Names of the presets, for help texts.
    pub fn preset_names() -> &'static [&'static str] {
        &["reference", "wide", "fast", "fast-deep", "vgg4"]
    }

    /// Side of the feature map entering each block: the input side, halved (rounding down,
    /// as 2x2 max pooling does) once per block before it.
    pub fn block_sides(&self) -> Vec<usize> {
        (0..self.blocks.len())
            .map(|b| self.input_size >> b)
            .collect()
    }

    /// Side of the feature map after all blocks (the input side halved once per block).
    pub fn final_side(&self) -> usize {
        self.input_size >> self.blocks.len()
    }

    /// Floats of one input image (`input_size` squared).
    pub fn input_pixels(&self) -> usize {
        self.input_size * self.input_size
    }

    /// Number of features entering the first fully-connected layer.
    pub fn flat_features(&self) -> usize {
        let side = self.final_side();
        self.blocks.last().map_or(1, |b| b.channels) * side * side
    }

    /// Multiply-accumulate operations of one forward pass on one face.
    pub fn forward_macs(&self) -> u64 {
        let mut macs = 0u64;
        let mut side = self.input_size as u64;
        let mut in_ch = 1u64;
        for block in &self.blocks {
            for _ in 0..block.convs {
                macs += side * side * 9 * in_ch * block.channels as u64;
                in_ch = block.channels as u64;
            }
            side /= 2;
        }
        let mut features = self.flat_features() as u64;
        for &h in self
            .hidden
            .iter()
            .chain(std::iter::once(&ferrite_data::NUM_CLASSES))
        {
            macs += features * h as u64;
            features = h as u64;
        }
        macs
    }

    /// Checks that the spec describes a buildable network.
    pub fn validate(&self) -> Result<(), String> {
        if self.blocks.is_empty() || self.blocks.len() > 4 {
            return Err(format!(
                "needs 1 to 4 conv blocks, has {}",
                self.blocks.len()
            ));
        }
        if self.blocks.iter().any(|b| b.channels == 0 || b.convs == 0) {
            return Err("every block needs at least one conv and one channel".into());
        }
        let smallest = 2usize << self.blocks.len();
        if !(smallest..=ferrite_data::FACE_SIZE).contains(&self.input_size) {
            return Err(format!(
                "an input of {} pixels does not suit {} blocks: it must be {smallest} to {}",
                self.input_size,
                self.blocks.len(),
                ferrite_data::FACE_SIZE
            ));
        }
        if self.hidden.contains(&0) {
            return Err("hidden layers need at least one unit".into());
        }
        for p in [self.conv_dropout, self.fc_dropout] {
            if !(0.0..1.0).contains(&p) {
                return Err(format!("dropout {p} is not in [0, 1)"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_cnn_costs_173_mflop() {
        let arch = ArchSpec::reference();
        assert_eq!(arch.flat_features(), 128 * 6 * 6);
        let mflop = arch.forward_macs() as f64 * 2.0 / 1e6;
        assert!((mflop - 173.0).abs() < 2.0, "{mflop}");
    }

    #[test]
    fn dropout_is_not_part_of_the_weights() {
        let fast = ArchSpec::fast();
        let without_dropout = ArchSpec {
            conv_dropout: 0.0,
            fc_dropout: 0.1,
            ..fast.clone()
        };
        assert!(without_dropout.has_the_weights_of(&fast));
        assert!(!fast.has_the_weights_of(&ArchSpec::reference()));
        assert!(!fast.has_the_weights_of(&fast.clone().with_input_size(40)));
    }

    #[test]
    fn the_fast_cnn_costs_under_60_mflop() {
        let arch = ArchSpec::fast();
        assert_eq!(arch.flat_features(), 128 * 3 * 3);
        let mflop = arch.forward_macs() as f64 * 2.0 / 1e6;
        let wide = ArchSpec::wide().forward_macs() as f64 * 2.0 / 1e6;
        assert!(mflop < 60.0 && mflop < wide / 10.0, "{mflop} vs {wide}");
    }

    #[test]
    fn the_deeper_fast_cnn_spends_the_rest_of_the_budget() {
        let fast = ArchSpec::fast().forward_macs() as f64 * 2.0 / 1e6;
        let deep = ArchSpec::fast_deep().forward_macs() as f64 * 2.0 / 1e6;
        assert!(deep <= 60.0 && deep - fast > 10.0, "{deep} vs {fast}");
        assert_eq!(ArchSpec::fast_deep().flat_features(), 128 * 3 * 3);
    }

    #[test]
    fn presets_validate_and_round_trip_through_json() {
        for name in ArchSpec::preset_names() {
            let arch = ArchSpec::preset(name).unwrap();
            arch.validate().unwrap();
            let json = serde_json::to_string(&arch).unwrap();
            assert_eq!(serde_json::from_str::<ArchSpec>(&json).unwrap(), arch);
        }
        assert!(ArchSpec::preset("nope").is_none());
    }

    #[test]
    fn a_cropped_input_shrinks_every_map_and_is_kept_in_json() {
        let arch = ArchSpec::vgg4().with_input_size(40);
        arch.validate().unwrap();
        assert_eq!(arch.block_sides(), [40, 20, 10, 5]);
        assert_eq!(arch.final_side(), 2);
        assert_eq!(arch.flat_features(), 512 * 2 * 2);
        let json = serde_json::to_string(&arch).unwrap();
        assert!(json.contains(r#""input_size":40"#), "{json}");
        assert_eq!(serde_json::from_str::<ArchSpec>(&json).unwrap(), arch);
        let whole = serde_json::to_string(&ArchSpec::vgg4()).unwrap();
        assert!(
            !whole.contains("input_size"),
            "cards of whole-face models stay as they were"
        );
        let ratio = arch.forward_macs() as f64 / ArchSpec::vgg4().forward_macs() as f64;
        assert!(
            ratio < 0.75,
            "a 40-pixel crop costs about (40/48)^2 of the face: {ratio}"
        );
    }

    #[test]
    fn inputs_too_small_or_too_large_are_refused() {
        for side in [31, 49] {
            let err = ArchSpec::vgg4()
                .with_input_size(side)
                .validate()
                .unwrap_err();
            assert!(err.contains(&side.to_string()), "{err}");
        }
        ArchSpec::vgg4().with_input_size(32).validate().unwrap();
    }

    #[test]
    fn invalid_specs_are_refused() {
        let mut arch = ArchSpec::reference();
        arch.conv_dropout = 1.0;
        assert!(arch.validate().is_err());
        arch = ArchSpec::reference();
        arch.blocks.clear();
        assert!(arch.validate().is_err());
    }
}
