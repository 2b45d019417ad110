//! `--tta`, the same in every subcommand that classifies faces: parsed once into a [`Tta`].

use clap::Args;

use ferrite_data::Tta;

/// The test-time augmentation a subcommand uses.
#[derive(Args, Clone, Copy, Debug)]
pub struct TtaArg {
    /// Test-time augmentation: a bare --tta (or --tta=flip) averages each face with its
    /// mirror image; --tta=crops averages ten crops (the four corners and the centre, each
    /// mirrored) for a model trained on crops (`train --crop`), and is the flip for a model
    /// that reads the whole face, as the shipped ones do; --tta=zoom averages the face and a
    /// closer view of it (its central 46 of 48 pixels, enlarged), each mirrored: four passes,
    /// the most accurate for the shipped models. Slower, slightly more accurate.
    #[arg(
        long = "tta",
        value_name = "KIND",
        num_args = 0..=1,
        require_equals = true,
        default_value = "off",
        default_missing_value = "flip"
    )]
    tta: Tta,
}

impl TtaArg {
    /// The augmentation asked for.
    pub fn get(self) -> Tta {
        self.tta
    }
}
