//! Training on burn, the reference implementation: the Flex CPU backend, or a GPU through the
//! wgpu backend on Vulkan (the `vulkan` feature).

use std::path::Path;

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::store::ModuleRecord;
use burn::tensor::{Device, Tensor, TensorData};

use ferrite_burn::{load_net, net_to_safetensors, FerNet};
use ferrite_model::{ArchSpec, Optimizer, UpdateRule};

use super::burn_loss::{distillation, weighted_cross_entropy};
use super::{io, Learner, LossSpec, ADAM_EPSILON};
use crate::TrainDevice;

/// burn's network, its optimizer and the devices it trains and validates on.
pub(crate) struct BurnLearner {
    arch: ArchSpec,
    net: FerNet,
    optim: ModuleOptimizer,
    /// The autodiff device the network trains on.
    device: Device,
    /// The same processor without autodiff, for validation.
    infer_device: Device,
}

impl BurnLearner {
    /// A freshly initialised network for `arch` on `device`.
    pub(crate) fn new(
        arch: &ArchSpec,
        seed: u64,
        device: TrainDevice,
        rule: &UpdateRule,
    ) -> Result<BurnLearner, String> {
        let infer_device = burn_device(device)?;
        let device = infer_device.clone().autodiff();
        device.seed(seed);
        Ok(BurnLearner {
            arch: arch.clone(),
            net: FerNet::new(arch, &device),
            optim: optimizer(rule),
            device,
            infer_device,
        })
    }
}

/// burn's optimizer for `rule`, with the gemm engine's settings (PyTorch's: SGD's dampening
/// 0, weight decay as an L2 term in the gradient).
fn optimizer(rule: &UpdateRule) -> ModuleOptimizer {
    let decay = (rule.weight_decay > 0.0).then_some(WeightDecayConfig {
        penalty: rule.weight_decay,
    });
    match rule.optimizer {
        Optimizer::Adam => AdamConfig::new()
            .with_epsilon(ADAM_EPSILON)
            .with_weight_decay(decay)
            .init(),
        Optimizer::Sgd | Optimizer::Nesterov => SgdConfig::new()
            .with_momentum(Some(MomentumConfig {
                momentum: rule.momentum as f64,
                dampening: 0.0,
                nesterov: rule.optimizer == Optimizer::Nesterov,
            }))
            .with_weight_decay(decay)
            .init(),
    }
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

/// `n` inputs of `side` pixels square as a `[n, 1, side, side]` tensor.
fn input_tensor(input: Vec<f32>, n: usize, side: usize, device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(input, [n, 1, side, side]), device)
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
        let x = input_tensor(input, labels.len(), self.arch.input_size, &self.device);
        let logits = self.net.forward(x);
        let cross_entropy = |labels: &[usize]| {
            weighted_cross_entropy(
                logits.clone(),
                labels,
                loss.class_weights,
                loss.smoothing,
                &self.device,
            )
        };
        let mut value = cross_entropy(labels);
        if let Some(mix) = &loss.mix {
            value = value.mul_scalar(mix.lambda)
                + cross_entropy(mix.partners).mul_scalar(1.0 - mix.lambda);
        }
        if let Some(soft) = &loss.soft {
            let soft_value =
                distillation(logits.clone(), soft.logits, soft.temperature, &self.device);
            value = value.mul_scalar(1.0 - soft.weight) + soft_value.mul_scalar(soft.weight);
        }
        let loss_value: f32 = value.clone().into_scalar();
        let logits: Vec<f32> = logits.into_data().try_to_vec().expect("f32 logits");
        let grads = GradientsParams::from_grads(value.backward(), &self.net);
        self.net = self.optim.step(lr, self.net.clone(), grads);
        (loss_value, logits)
    }

    fn logits(&self, input: Vec<f32>, n: usize) -> Vec<f32> {
        self.net
            .valid()
            .forward(input_tensor(
                input,
                n,
                self.arch.input_size,
                &self.infer_device,
            ))
            .into_data()
            .try_to_vec()
            .expect("f32 logits")
    }

    fn weights(&self) -> Result<Vec<u8>, String> {
        net_to_safetensors(&self.net.valid())
    }

    fn set_weights(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.net = load_net(&self.arch, bytes, &self.device)?;
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
