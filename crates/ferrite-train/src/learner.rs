//! The two engines a run can train on, behind one interface: burn (the reference) and
//! Ferrite's gemm engine. Each keeps its own network and optimizer state.

use std::path::Path;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::store::ModuleRecord;
use burn::tensor::{Device, Tensor, TensorData};

use ferrite_data::{FACE_SIZE, NUM_CLASSES};
use ferrite_engine::{softmax_cross_entropy, Adam, Network, Trace};
use ferrite_model::{
    write_atomically, ArchSpec, Engine, FerNet, ModelBundle, ModelCard, WEIGHTS_FILE,
};

use crate::loss::weighted_cross_entropy;
use crate::TrainDevice;

/// The loss settings of a step.
pub(crate) struct LossSpec<'a> {
    pub class_weights: &'a [f32; NUM_CLASSES],
    pub smoothing: f32,
}

/// A network and its optimizer on one engine.
pub(crate) trait Learner {
    /// One optimisation step on `input` (`labels.len()` faces in `[0, 1]`); returns the loss and
    /// the training-mode logits.
    fn step(
        &mut self,
        input: Vec<f32>,
        labels: &[usize],
        loss: &LossSpec,
        lr: f64,
        seed: u64,
    ) -> (f32, Vec<f32>);
    /// Inference-mode logits for `n` faces.
    fn logits(&self, input: Vec<f32>, n: usize) -> Vec<f32>;
    /// Writes `model.safetensors` and `card.json` to `dir`.
    fn save_model(&self, dir: &Path, card: ModelCard) -> Result<(), String>;
    /// Replaces the network's weights with those of the model folder `dir` (same architecture).
    fn load_weights(&mut self, dir: &Path) -> Result<(), String>;
    /// Writes network and optimizer state into the checkpoint folder.
    fn save_checkpoint(&self, dir: &Path) -> Result<(), String>;
    /// Restores network and optimizer state from the checkpoint folder.
    fn load_checkpoint(&mut self, dir: &Path) -> Result<(), String>;
}

/// Builds the learner for `engine` on `device`, initialised from `seed`.
pub(crate) fn new_learner(
    engine: Engine,
    device: TrainDevice,
    arch: &ArchSpec,
    seed: u64,
) -> Result<Box<dyn Learner>, String> {
    Ok(match engine {
        Engine::Burn => Box::new(BurnLearner::new(arch, seed, burn_device(device)?)),
        Engine::Ferrite => Box::new(EngineLearner {
            net: Network::new(arch, seed),
            adam: Adam::new(ADAM_EPSILON),
            trace: Trace::default(),
        }),
    })
}

/// The burn (inference-mode) device for `device`.
fn burn_device(device: TrainDevice) -> Result<Device, String> {
    match device {
        TrainDevice::Cpu => Ok(Device::flex()),
        TrainDevice::Vulkan => vulkan_device(),
    }
}

#[cfg(feature = "vulkan")]
fn vulkan_device() -> Result<Device, String> {
    Ok(Device::vulkan(burn::tensor::DeviceKind::DefaultDevice))
}

#[cfg(not(feature = "vulkan"))]
fn vulkan_device() -> Result<Device, String> {
    Err(
        "this build has no GPU support; rebuild with `cargo build --release --features vulkan`"
            .into(),
    )
}

const ADAM_EPSILON: f32 = 1e-7;

fn io(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

struct BurnLearner {
    net: FerNet,
    optim: ModuleOptimizer,
    /// The autodiff device the network trains on.
    device: Device,
    /// The same processor without autodiff, for validation.
    infer_device: Device,
}

impl BurnLearner {
    fn new(arch: &ArchSpec, seed: u64, infer_device: Device) -> BurnLearner {
        let device = infer_device.clone().autodiff();
        device.seed(seed);
        BurnLearner {
            net: FerNet::new(arch, &device),
            // Plain Adam, as the report used.
            optim: AdamConfig::new().with_epsilon(ADAM_EPSILON).init(),
            device,
            infer_device,
        }
    }
}

fn input_tensor(input: Vec<f32>, n: usize, device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(input, [n, 1, FACE_SIZE, FACE_SIZE]), device)
}

impl Learner for BurnLearner {
    fn step(
        &mut self,
        input: Vec<f32>,
        labels: &[usize],
        loss: &LossSpec,
        lr: f64,
        _seed: u64,
    ) -> (f32, Vec<f32>) {
        let x = input_tensor(input, labels.len(), &self.device);
        let logits = self.net.forward(x);
        let value = weighted_cross_entropy(
            logits.clone(),
            labels,
            loss.class_weights,
            loss.smoothing,
            &self.device,
        );
        let loss_value: f32 = value.clone().into_scalar();
        let logits: Vec<f32> = logits.into_data().try_to_vec().expect("f32 logits");
        let grads = GradientsParams::from_grads(value.backward(), &self.net);
        self.net = self.optim.step(lr, self.net.clone(), grads);
        (loss_value, logits)
    }

    fn logits(&self, input: Vec<f32>, n: usize) -> Vec<f32> {
        self.net
            .valid()
            .forward(input_tensor(input, n, &self.infer_device))
            .into_data()
            .try_to_vec()
            .expect("f32 logits")
    }

    fn save_model(&self, dir: &Path, card: ModelCard) -> Result<(), String> {
        ModelBundle {
            card,
            net: self.net.valid(),
        }
        .save(dir)
        .map_err(|e| e.to_string())
    }

    fn load_weights(&mut self, dir: &Path) -> Result<(), String> {
        self.net = ModelBundle::load(dir, &self.device)
            .map_err(|e| e.to_string())?
            .net;
        Ok(())
    }

    fn save_checkpoint(&self, dir: &Path) -> Result<(), String> {
        let net = dir.join("net.bpk");
        let tmp = dir.join("net.bpk.tmp");
        self.net
            .clone()
            .into_record()
            .save(&tmp)
            .map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &net).map_err(|e| io(&net, e))?;
        let optim = dir.join("optim.bpk");
        let tmp = dir.join("optim.bpk.tmp");
        self.optim.save(&tmp).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &optim).map_err(|e| io(&optim, e))
    }

    fn load_checkpoint(&mut self, dir: &Path) -> Result<(), String> {
        let net = dir.join("net.bpk");
        let record = ModuleRecord::load(&net).map_err(|e| io(&net, e))?;
        self.net = self
            .net
            .clone()
            .try_load_record(record)
            .map_err(|e| io(&net, e))?;
        let optim = dir.join("optim.bpk");
        self.optim = self.optim.clone().load(&optim).map_err(|e| io(&optim, e))?;
        Ok(())
    }
}

struct EngineLearner {
    net: Network,
    adam: Adam,
    trace: Trace,
}

impl Learner for EngineLearner {
    fn step(
        &mut self,
        input: Vec<f32>,
        labels: &[usize],
        loss: &LossSpec,
        lr: f64,
        seed: u64,
    ) -> (f32, Vec<f32>) {
        let logits = self
            .net
            .forward_train(&input, labels.len(), seed, &mut self.trace);
        let (value, dlogits) =
            softmax_cross_entropy(&logits, labels, loss.class_weights, loss.smoothing);
        let grads = self.net.backward(&mut self.trace, &dlogits);
        self.adam.step(lr as f32, self.net.params_mut(), &grads);
        (value, logits)
    }

    fn logits(&self, input: Vec<f32>, n: usize) -> Vec<f32> {
        self.net.forward_infer(&input, n)
    }

    fn save_model(&self, dir: &Path, card: ModelCard) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        write_atomically(&dir.join(WEIGHTS_FILE), &self.net.to_safetensors())
            .map_err(|e| e.to_string())?;
        ModelBundle::save_card(dir, &card).map_err(|e| e.to_string())
    }

    fn load_weights(&mut self, dir: &Path) -> Result<(), String> {
        let path = dir.join(WEIGHTS_FILE);
        let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
        self.net = Network::from_safetensors(&self.net.arch, &bytes).map_err(|e| io(&path, e))?;
        Ok(())
    }

    fn save_checkpoint(&self, dir: &Path) -> Result<(), String> {
        write_atomically(&dir.join("net.safetensors"), &self.net.to_safetensors())
            .map_err(|e| e.to_string())?;
        write_atomically(&dir.join("adam.safetensors"), &self.adam.to_safetensors())
            .map_err(|e| e.to_string())
    }

    fn load_checkpoint(&mut self, dir: &Path) -> Result<(), String> {
        let path = dir.join("net.safetensors");
        let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
        self.net = Network::from_safetensors(&self.net.arch, &bytes).map_err(|e| io(&path, e))?;
        let path = dir.join("adam.safetensors");
        let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
        self.adam = Adam::from_safetensors(&bytes, ADAM_EPSILON).map_err(|e| io(&path, e))?;
        Ok(())
    }
}
