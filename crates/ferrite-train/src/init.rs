//! Where a new run's weights come from when it does not start from random ones: a trained
//! model (`--init`), whole, or only its first conv blocks (`--init-blocks`), the rest of the
//! network freshly initialised.

use std::borrow::Cow;

use ferrite_engine::Network;
use ferrite_model::{ArchSpec, ModelBundle, ModelCard, ModelSource};

use crate::learner::Learner;
use crate::{TrainConfig, TrainError};

/// Loads the weights of the model `source` into `learner`, after checking that they fit the
/// architecture being trained: all of them, or with `--init-blocks N` its first N conv blocks
/// (the learner's own fresh weights kept for the rest). Returns the model's card (its training
/// record is the run's past).
pub(crate) fn start_from(
    learner: &mut dyn Learner,
    source: &ModelSource,
    config: &TrainConfig,
) -> Result<ModelCard, TrainError> {
    let bundle = source
        .load()
        .map_err(|e| TrainError::Config(e.to_string()))?;
    let (theirs, ours) = (&bundle.card.arch, &config.arch);
    let (weights, started) = match config.init_blocks {
        None => (
            whole(source, theirs, ours, &bundle)?,
            format!("starting from the weights of {source}"),
        ),
        Some(blocks) => (
            Cow::Owned(leading_blocks(learner, source, &bundle, ours, blocks)?),
            format!(
                "starting from the first {blocks} conv blocks of {source}; the rest of `{}` is \
                 new",
                ours.name
            ),
        ),
    };
    if (theirs.conv_dropout, theirs.fc_dropout) != (ours.conv_dropout, ours.fc_dropout) {
        println!(
            "{source} trained with dropout {} / {}; this run uses {} / {} (--conv-dropout, \
             --fc-dropout)",
            theirs.conv_dropout, theirs.fc_dropout, ours.conv_dropout, ours.fc_dropout
        );
    }
    learner
        .set_weights(&weights)
        .map_err(|e| TrainError::Io(format!("{source}: {e}")))?;
    println!("{started}");
    Ok(bundle.card)
}

/// All of the model's weights, when its layers are those being trained.
fn whole<'a>(
    source: &ModelSource,
    theirs: &ArchSpec,
    ours: &ArchSpec,
    bundle: &'a ModelBundle,
) -> Result<Cow<'a, [u8]>, TrainError> {
    if !theirs.has_the_weights_of(ours) {
        return Err(TrainError::Config(format!(
            "cannot start from {source}: its layers (architecture `{}`, {} pixels) are not those \
             of `{}` at {} pixels (--init-blocks takes only its first conv blocks)",
            theirs.name, theirs.input_size, ours.name, ours.input_size
        )));
    }
    Ok(Cow::Borrowed(&bundle.weights))
}

/// The learner's fresh weights with the first `blocks` conv blocks replaced by the model's.
/// A conv block's weights do not depend on the input side, so the model may have read
/// another window.
fn leading_blocks(
    learner: &dyn Learner,
    source: &ModelSource,
    bundle: &ModelBundle,
    ours: &ArchSpec,
    blocks: usize,
) -> Result<Vec<u8>, TrainError> {
    let theirs = &bundle.card.arch;
    if let Some(b) = (0..blocks).find(|&b| theirs.blocks.get(b) != ours.blocks.get(b)) {
        let describe = |arch: &ArchSpec| match arch.blocks.get(b) {
            Some(block) => format!("{}x{}", block.convs, block.channels),
            None => "missing".into(),
        };
        return Err(TrainError::Config(format!(
            "cannot take {blocks} conv blocks from {source}: its block {} is {} (`{}`), this \
             run's {} (`{}`)",
            b + 1,
            describe(theirs),
            theirs.name,
            describe(ours),
            ours.name
        )));
    }
    let donor = Network::from_safetensors(theirs, &bundle.weights)
        .map_err(|e| TrainError::Config(format!("{source}: {e}")))?;
    let fresh = learner.weights().map_err(TrainError::Io)?;
    let mut grown = Network::from_safetensors(ours, &fresh)
        .map_err(|e| TrainError::Io(format!("the new network's weights: {e}")))?;
    grown.blocks[..blocks].clone_from_slice(&donor.blocks[..blocks]);
    Ok(grown.to_safetensors())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learner::{new_learner, LearnerSpec};
    use ferrite_model::{BlockSpec, Engine, TrainDevice, UpdateRule};

    /// Two conv blocks of 4 and 8 channels and a dense layer of 16.
    fn shallow() -> ArchSpec {
        let mut arch = ArchSpec::reference();
        arch.name = "shallow".into();
        arch.blocks.truncate(2);
        arch.blocks[0].channels = 4;
        arch.blocks[1].channels = 8;
        arch.hidden = vec![16];
        arch
    }

    /// `shallow` with a third block of 16 channels and a wider dense layer.
    fn deeper() -> ArchSpec {
        let mut arch = shallow();
        arch.name = "deeper".into();
        arch.blocks.push(BlockSpec {
            channels: 16,
            convs: 2,
        });
        arch.hidden = vec![32];
        arch
    }

    fn learner(arch: &ArchSpec) -> Box<dyn Learner> {
        new_learner(&LearnerSpec {
            engine: Engine::Ferrite,
            device: TrainDevice::Cpu,
            arch,
            seed: 2,
            update: &UpdateRule::default(),
        })
        .unwrap()
    }

    fn weights(learner: &dyn Learner, arch: &ArchSpec) -> Network {
        Network::from_safetensors(arch, &learner.weights().unwrap()).unwrap()
    }

    #[test]
    fn init_blocks_takes_the_first_blocks_and_keeps_the_rest_fresh() {
        let donor = Network::new(&shallow(), 1);
        let dir = tempfile::tempdir().unwrap();
        let card = ModelCard::new(shallow());
        ModelBundle::new(card, Cow::Owned(donor.to_safetensors()))
            .unwrap()
            .save(dir.path())
            .unwrap();
        let source = ModelSource::Dir(dir.path().to_path_buf());
        let config = |init_blocks| TrainConfig {
            arch: deeper(),
            init: Some(source.clone()),
            init_blocks,
            ..TrainConfig::default()
        };

        let mut grown = learner(&deeper());
        let fresh = weights(grown.as_ref(), &deeper());
        start_from(grown.as_mut(), &source, &config(Some(2))).unwrap();
        let grown = weights(grown.as_ref(), &deeper());
        assert_eq!(grown.blocks[..2], donor.blocks[..]);
        assert_ne!(fresh.blocks[..2], donor.blocks[..]);
        assert_eq!(grown.blocks[2], fresh.blocks[2]);
        assert_eq!(grown.hidden, fresh.hidden);
        assert_eq!(grown.classifier_weight, fresh.classifier_weight);

        // Without --init-blocks the whole model must fit; a block it lacks is named.
        let err = start_from(learner(&deeper()).as_mut(), &source, &config(None)).unwrap_err();
        assert!(err.to_string().contains("--init-blocks"), "{err}");
        let err = start_from(learner(&deeper()).as_mut(), &source, &config(Some(3))).unwrap_err();
        assert!(err.to_string().contains("its block 3 is missing"), "{err}");
        let mut other = deeper();
        other.blocks[1].channels = 12;
        let err = start_from(
            learner(&other).as_mut(),
            &source,
            &TrainConfig {
                arch: other.clone(),
                ..config(Some(2))
            },
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("its block 2 is 2x8 (`shallow`), this run's 2x12"),
            "{err}"
        );
    }
}
