//! A recipe: training runs (stages) one after another, each starting from the model the one
//! before it made, run by one command across as many sittings as it takes. Each stage trains in
//! its own folder (`OUT/stages/N-NAME`) with its own checkpoint, so a stopped recipe continues
//! where it stopped: finished stages are skipped, the unfinished one resumes, and the last
//! stage's model is copied to `OUT` when it is done.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use ferrite_model::{write_atomically, ModelSource};

use crate::checkpoint::{self, checkpoint_dir};
use crate::{train, TrainConfig, TrainError, TrainOutcome};

/// One stage of a recipe.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// A short name (`distil`, `fine-tune`), used in the stage's folder name.
    pub name: String,
    /// The run. A stage after the first without `init` starts from the previous stage's model;
    /// its teacher (or init) names an earlier stage's model as `@NAME`, the one before's as
    /// `@previous`.
    pub config: TrainConfig,
}

/// A named list of stages.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedRecipe {
    /// The recipe's name, recorded in each stage's card.
    pub name: String,
    /// The stages, in order.
    pub stages: Vec<Stage>,
}

/// What a recipe run did in this sitting.
#[derive(Debug, Clone)]
pub struct RecipeOutcome {
    /// The last stage run in this sitting and its outcome (`None` if every stage was already
    /// done).
    pub last: Option<(usize, TrainOutcome)>,
    /// True when every stage is done and the model is in the output folder.
    pub finished: bool,
}

/// How far a stage's folder has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StageProgress {
    NotStarted,
    Started,
    Done,
}

impl StagedRecipe {
    /// The folder stage `index` (0-based) trains in.
    pub fn stage_dir(&self, out: &Path, index: usize) -> PathBuf {
        out.join("stages")
            .join(format!("{}-{}", index + 1, self.stages[index].name))
    }

    /// Checks every stage's configuration and name before anything runs.
    pub fn validate(&self) -> Result<(), String> {
        if self.stages.is_empty() {
            return Err(format!("recipe `{}` has no stages", self.name));
        }
        for (i, stage) in self.stages.iter().enumerate() {
            let valid_name = !stage.name.is_empty()
                && stage
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid_name {
                return Err(format!(
                    "stage {} of recipe `{}`: the name `{}` must be letters, digits, - or _",
                    i + 1,
                    self.name,
                    stage.name
                ));
            }
            let taken = stage.name == ModelSource::PREVIOUS_STAGE
                || self.stages[..i].iter().any(|s| s.name == stage.name);
            if taken {
                return Err(format!(
                    "stage {} of recipe `{}`: the name `{}` is taken (by an earlier stage, or by \
                     @previous), and `@NAME` must name one stage",
                    i + 1,
                    self.name,
                    stage.name
                ));
            }
            self.stage_config(Path::new("OUT"), i)
                .and_then(|config| config.validate())
                .map_err(|e| format!("stage {} ({}): {e}", i + 1, stage.name))?;
        }
        Ok(())
    }

    /// The configuration stage `index` runs with: its own, starting from the previous stage's
    /// model unless it names one, each `@NAME` resolved to the folder of the earlier stage it
    /// names (`@previous`: the stage before), and recording the recipe and the stage.
    fn stage_config(&self, out: &Path, index: usize) -> Result<TrainConfig, String> {
        let stage = &self.stages[index];
        let mut config = stage.config.clone();
        if index > 0 && config.init.is_none() {
            config.init = Some(ModelSource::Stage(ModelSource::PREVIOUS_STAGE.into()));
        }
        let teachers = config.distill.iter_mut().flat_map(|d| &mut d.teachers);
        for source in config.init.iter_mut().chain(teachers) {
            if let ModelSource::Stage(name) = source {
                let earlier = self.earlier_stage(index, name)?;
                *source = ModelSource::Dir(self.stage_dir(out, earlier));
            }
        }
        config.recipe_stage = Some(format!(
            "{} {}/{} ({})",
            self.name,
            index + 1,
            self.stages.len(),
            stage.name
        ));
        Ok(config)
    }

    /// The stage before stage `index` that `@name` names.
    fn earlier_stage(&self, index: usize, name: &str) -> Result<usize, String> {
        let found = if name == ModelSource::PREVIOUS_STAGE {
            index.checked_sub(1)
        } else {
            self.stages[..index].iter().position(|s| s.name == name)
        };
        found.ok_or_else(|| {
            let earlier: Vec<&str> = self.stages[..index]
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            match earlier.is_empty() {
                true => format!("@{name}: no stage comes before the first"),
                false => format!(
                    "@{name} names no stage before this one (before it: {})",
                    earlier.join(", ")
                ),
            }
        })
    }

    /// Runs the stages not yet done into `out`. Without `resume`, a folder where a recipe run
    /// has started is refused; with it, finished stages are skipped and the stopped one
    /// resumes. Setting `stop` saves the running stage's checkpoint and returns.
    pub fn run(
        &self,
        data: &Path,
        out: &Path,
        resume: bool,
        stop: &AtomicBool,
    ) -> Result<RecipeOutcome, TrainError> {
        self.validate().map_err(TrainError::Config)?;
        if !resume && out.join("stages").exists() {
            return Err(TrainError::Config(format!(
                "{} holds a recipe run already started: continue it with --resume, or choose \
                 another --out",
                out.display()
            )));
        }
        let mut last = None;
        for index in 0..self.stages.len() {
            let dir = self.stage_dir(out, index);
            let progress = progress(&dir)?;
            let label = format!(
                "stage {}/{} ({})",
                index + 1,
                self.stages.len(),
                self.stages[index].name
            );
            if progress == StageProgress::Done {
                println!("{label}: done earlier, in {}", dir.display());
                continue;
            }
            println!("{label}: training in {}", dir.display());
            let config = self.stage_config(out, index).map_err(TrainError::Config)?;
            let outcome = train(
                data,
                &dir,
                &config,
                progress == StageProgress::Started,
                stop,
            )?;
            let interrupted = outcome.interrupted;
            last = Some((index, outcome));
            if interrupted {
                return Ok(RecipeOutcome {
                    last,
                    finished: false,
                });
            }
        }
        copy_model(&self.stage_dir(out, self.stages.len() - 1), out)?;
        Ok(RecipeOutcome {
            last,
            finished: true,
        })
    }
}

/// Whether the run in `dir` has not started, is under way, or has run all its epochs.
fn progress(dir: &Path) -> Result<StageProgress, TrainError> {
    let checkpoint = checkpoint_dir(dir);
    if !checkpoint.join(checkpoint::STATE).is_file() {
        return Ok(StageProgress::NotStarted);
    }
    let state = checkpoint::load_state(&checkpoint).map_err(TrainError::Io)?;
    Ok(if state.next_epoch > state.config.epochs {
        StageProgress::Done
    } else {
        StageProgress::Started
    })
}

/// Copies the model, its card and its curves (every file, not the checkpoint) from `from`
/// to `to`, each written under a temporary name and renamed, so a stop half way leaves no
/// broken model (the next `--resume` copies again).
fn copy_model(from: &Path, to: &Path) -> Result<(), TrainError> {
    let io = |path: &Path, e: std::io::Error| TrainError::Io(format!("{}: {e}", path.display()));
    for entry in std::fs::read_dir(from).map_err(|e| io(from, e))? {
        let entry = entry.map_err(|e| io(from, e))?;
        let path = entry.path();
        if path.is_file() {
            let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
            write_atomically(&to.join(entry.file_name()), &bytes)
                .map_err(|e| TrainError::Io(e.to_string()))?;
        }
    }
    println!("recipe done: model in {}", to.display());
    Ok(())
}
