//! `ferrite bench --engine burn`: burn's training and inference speed, measured like the
//! engine's (builds with the `burn` feature).

use std::time::{Duration, Instant};

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Distribution, Tensor, TensorData};

use ferrite_burn::FerNet;
use ferrite_data::{FACE_SIZE, NUM_CLASSES};
use ferrite_model::ArchSpec;

/// Training img/s (none when `train_batch` is `None`), batched inference img/s and batch-1
/// inferences per second of `arch` on burn's Flex CPU backend.
pub fn measure(
    arch: &ArchSpec,
    train_batch: Option<usize>,
    infer_batch: usize,
    budget: Duration,
    short: Duration,
) -> anyhow::Result<(Option<f64>, f64, f64)> {
    let train = train_batch.map(|batch| train_throughput(arch, batch, budget));
    let net = FerNet::new(arch, &Device::flex()).valid();
    Ok((
        train,
        infer_throughput(&net, infer_batch, budget),
        infer_throughput(&net, 1, short),
    ))
}

fn random_batch(n: usize, device: &Device) -> Tensor<4> {
    Tensor::random(
        [n, 1, FACE_SIZE, FACE_SIZE],
        Distribution::Uniform(0.0, 1.0),
        device,
    )
}

/// Images per second of full training steps (forward, loss, backward, Adam update).
fn train_throughput(arch: &ArchSpec, batch: usize, budget: Duration) -> f64 {
    let device = Device::flex().autodiff();
    let mut net = FerNet::new(arch, &device);
    let mut optim = AdamConfig::new().init();
    let labels: Vec<i64> = (0..batch).map(|i| (i % NUM_CLASSES) as i64).collect();
    let mut onehot = vec![0.0f32; batch * NUM_CLASSES];
    for (i, &l) in labels.iter().enumerate() {
        onehot[i * NUM_CLASSES + l as usize] = 1.0;
    }
    let targets = Tensor::<2>::from_data(TensorData::new(onehot, [batch, NUM_CLASSES]), &device);
    let mut step = |net: FerNet| {
        let logits = net.forward(random_batch(batch, &device));
        let loss = (log_softmax(logits, 1) * targets.clone())
            .sum()
            .neg()
            .div_scalar(batch as f32);
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        optim.step(1e-3, net, grads)
    };
    net = step(net);
    let start = Instant::now();
    let mut images = 0;
    while start.elapsed() < budget {
        net = step(net);
        images += batch;
    }
    images as f64 / start.elapsed().as_secs_f64()
}

/// Images per second of inference at a batch size.
fn infer_throughput(net: &FerNet, batch: usize, budget: Duration) -> f64 {
    let device = Device::flex();
    let input = random_batch(batch, &device);
    let _ = net.forward(input.clone()).into_data();
    let start = Instant::now();
    let mut images = 0;
    while start.elapsed() < budget {
        let _ = net.forward(input.clone()).into_data();
        images += batch;
    }
    images as f64 / start.elapsed().as_secs_f64()
}
