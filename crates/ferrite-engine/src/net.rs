//! A Ferrite CNN on the engine: built from the same [`ArchSpec`] as the burn model, with the
//! same weights, run forward (training or inference) and backward on NHWC buffers.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use ferrite_data::NUM_CLASSES;
use ferrite_model::ArchSpec;

use crate::buffers::BufferPool;
use crate::inference::InferenceNet;
use crate::layers::batchnorm::{BatchNorm, BnCache};
use crate::layers::conv::{ConvGrads, ConvShape, Scratch};
use crate::layers::dense::DenseGrads;
use crate::layers::{conv, dense, dropout, pool};

/// A 3x3 conv (weights `[(ky, kx, cin), cout]`) followed by batch norm and ReLU.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvLayer {
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Weights, `[9 * cin, cout]`.
    pub weight: Vec<f32>,
    /// The batch norm after the conv.
    pub bn: BatchNorm,
}

/// A dense layer without bias (`[in, out]`), then batch norm, ReLU and dropout.
#[derive(Debug, Clone, PartialEq)]
pub struct HiddenLayer {
    /// Input features (the first layer's rows are in NHWC flatten order).
    pub inp: usize,
    /// Output features.
    pub out: usize,
    /// Weights, `[in, out]`.
    pub weight: Vec<f32>,
    /// The batch norm after the product.
    pub bn: BatchNorm,
}

/// The whole network.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// The architecture it implements.
    pub arch: ArchSpec,
    /// Conv layers per block.
    pub blocks: Vec<Vec<ConvLayer>>,
    /// Hidden dense layers.
    pub hidden: Vec<HiddenLayer>,
    /// Classifier weights, `[in, 7]`.
    pub classifier_weight: Vec<f32>,
    /// Classifier bias.
    pub classifier_bias: Vec<f32>,
}

/// Intermediate values a training forward pass keeps for the backward pass.
#[derive(Debug, Default)]
pub struct Trace {
    n: usize,
    conv_inputs: Vec<Vec<f32>>,
    conv_bn: Vec<BnCache>,
    pool_inputs: Vec<Vec<f32>>,
    pool_args: Vec<Vec<u8>>,
    block_masks: Vec<Vec<f32>>,
    hidden_inputs: Vec<Vec<f32>>,
    hidden_bn: Vec<BnCache>,
    hidden_masks: Vec<Vec<f32>>,
    classifier_input: Vec<f32>,
    /// The im2col buffers, kept between steps.
    scratch: Scratch,
    /// Activation and gradient buffers recycled between steps.
    pool: BufferPool,
}

impl Trace {
    /// Starts a step on `n` images: the last step's buffers go back to the pool.
    fn start_step(&mut self, n: usize) {
        let old = std::mem::take(self);
        self.n = n;
        self.scratch = old.scratch;
        self.pool = old.pool;
        self.pool.give(
            old.conv_inputs
                .into_iter()
                .chain(old.conv_bn.into_iter().map(|c| c.xhat))
                .chain(old.pool_inputs)
                .chain(old.block_masks)
                .chain(old.hidden_inputs)
                .chain(old.hidden_bn.into_iter().map(|c| c.xhat))
                .chain(old.hidden_masks)
                .chain([old.classifier_input]),
        );
    }

    /// A cache for a batch norm over `len` elements, its buffer from the pool.
    fn bn_cache(&mut self, len: usize) -> BnCache {
        BnCache {
            xhat: self.pool.take(len),
            inv_std: Vec::new(),
        }
    }
}

/// Gradients of every parameter tensor, in [`Network::params_mut`] order.
pub type Grads = Vec<Vec<f32>>;

impl Network {
    /// A network with He-uniform initialised weights (as burn's Kaiming-uniform default).
    pub fn new(arch: &ArchSpec, seed: u64) -> Network {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut uniform = |fan_in: usize, len: usize| -> Vec<f32> {
            let bound = (1.0 / fan_in as f32).sqrt();
            (0..len).map(|_| rng.gen_range(-bound..bound)).collect()
        };
        let mut cin = 1;
        let blocks = arch
            .blocks
            .iter()
            .map(|spec| {
                (0..spec.convs)
                    .map(|_| {
                        let layer = ConvLayer {
                            cin,
                            cout: spec.channels,
                            weight: uniform(9 * cin, 9 * cin * spec.channels),
                            bn: BatchNorm::new(spec.channels),
                        };
                        cin = spec.channels;
                        layer
                    })
                    .collect()
            })
            .collect();
        let mut inp = arch.flat_features();
        let hidden = arch
            .hidden
            .iter()
            .map(|&out| {
                let layer = HiddenLayer {
                    inp,
                    out,
                    weight: uniform(inp, inp * out),
                    bn: BatchNorm::new(out),
                };
                inp = out;
                layer
            })
            .collect();
        Network {
            arch: arch.clone(),
            blocks,
            hidden,
            classifier_weight: uniform(inp, inp * NUM_CLASSES),
            classifier_bias: uniform(inp, NUM_CLASSES),
        }
    }

    /// Every trainable tensor, in a fixed order (conv weights and BN per layer, then hidden,
    /// then the classifier). [`Grads`] follow the same order.
    pub fn params_mut(&mut self) -> Vec<&mut [f32]> {
        let mut out: Vec<&mut [f32]> = Vec::new();
        for layer in self.blocks.iter_mut().flatten() {
            out.push(&mut layer.weight);
            out.push(&mut layer.bn.gamma);
            out.push(&mut layer.bn.beta);
        }
        for layer in &mut self.hidden {
            out.push(&mut layer.weight);
            out.push(&mut layer.bn.gamma);
            out.push(&mut layer.bn.beta);
        }
        out.push(&mut self.classifier_weight);
        out.push(&mut self.classifier_bias);
        out
    }

    /// Training forward pass on `n` inputs (`x` is `n` squares of the architecture's input
    /// side, scaled to `[0, 1]`): batch statistics, running statistics updated, dropout drawn
    /// from `seed`. Returns the logits.
    pub fn forward_train(&mut self, x: &[f32], n: usize, seed: u64, trace: &mut Trace) -> Vec<f32> {
        self.check_input(x, n);
        trace.start_step(n);
        let mut act = trace.pool.take(x.len());
        act.copy_from_slice(x);
        let mut side = self.arch.input_size;
        let mut mask_seed = seed;
        let mut next_seed = || {
            mask_seed = mask_seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            mask_seed
        };
        for block in &mut self.blocks {
            for layer in block.iter_mut() {
                let shape = ConvShape {
                    n,
                    side,
                    cin: layer.cin,
                    cout: layer.cout,
                };
                let mut y = trace.pool.take(n * side * side * layer.cout);
                conv::forward(&act, &layer.weight, &shape, &mut y, &mut trace.scratch);
                let mut cache = trace.bn_cache(y.len());
                let mut out = trace.pool.take(y.len());
                layer.bn.forward_train(&y, &mut out, &mut cache);
                trace.pool.give([y]);
                trace.conv_inputs.push(std::mem::replace(&mut act, out));
                trace.conv_bn.push(cache);
            }
            let c = block.last().map_or(1, |l| l.cout);
            let half = side / 2;
            let mut pooled = trace.pool.take(n * half * half * c);
            let mut arg = vec![0u8; pooled.len()];
            pool::forward(&act, n, side, c, &mut pooled, &mut arg);
            trace.pool_inputs.push(std::mem::replace(&mut act, pooled));
            trace.pool_args.push(arg);
            let mut mask = trace.pool.take(act.len());
            dropout::forward(&mut act, self.arch.conv_dropout, next_seed(), &mut mask);
            trace.block_masks.push(mask);
            side = half;
        }
        for layer in &mut self.hidden {
            let mut y = trace.pool.take(n * layer.out);
            dense::forward(&act, &layer.weight, None, n, layer.inp, &mut y);
            let mut cache = trace.bn_cache(y.len());
            let mut out = trace.pool.take(y.len());
            layer.bn.forward_train(&y, &mut out, &mut cache);
            trace.pool.give([y]);
            trace.hidden_inputs.push(std::mem::take(&mut act));
            trace.hidden_bn.push(cache);
            act = out;
            let mut mask = trace.pool.take(act.len());
            dropout::forward(&mut act, self.arch.fc_dropout, next_seed(), &mut mask);
            trace.hidden_masks.push(mask);
        }
        let logits = self.classify(&act, n);
        trace.classifier_input = act;
        logits
    }

    /// Backward pass from `dlogits` through the trace of the last training forward pass.
    pub fn backward(&self, trace: &mut Trace, dlogits: &[f32]) -> Grads {
        let n = trace.n;
        let mut conv_grads: Vec<[Vec<f32>; 3]> = Vec::new();
        let mut hidden_grads: Vec<[Vec<f32>; 3]> = Vec::new();
        let inp = trace.classifier_input.len() / n;
        let mut dw_cls = vec![0.0; self.classifier_weight.len()];
        let mut db_cls = vec![0.0; NUM_CLASSES];
        let mut d = trace.pool.take(n * inp);
        dense::backward(
            &trace.classifier_input,
            &self.classifier_weight,
            dlogits,
            n,
            inp,
            DenseGrads {
                dw: &mut dw_cls,
                db: Some(&mut db_cls),
                dx: Some(&mut d),
            },
        );
        for (i, layer) in self.hidden.iter().enumerate().rev() {
            dropout::backward(&mut d, &trace.hidden_masks[i]);
            let mut dgamma = vec![0.0; layer.out];
            let mut dbeta = vec![0.0; layer.out];
            layer
                .bn
                .backward(&mut d, &trace.hidden_bn[i], &mut dgamma, &mut dbeta);
            let mut dw = vec![0.0; layer.weight.len()];
            let mut dx = trace.pool.take(n * layer.inp);
            dense::backward(
                &trace.hidden_inputs[i],
                &layer.weight,
                &d,
                n,
                layer.inp,
                DenseGrads {
                    dw: &mut dw,
                    db: None,
                    dx: Some(&mut dx),
                },
            );
            trace.pool.give([std::mem::replace(&mut d, dx)]);
            hidden_grads.push([dw, dgamma, dbeta]);
        }
        hidden_grads.reverse();
        let mut conv_index = trace.conv_inputs.len();
        let sides = self.arch.block_sides();
        for (b, block) in self.blocks.iter().enumerate().rev() {
            dropout::backward(&mut d, &trace.block_masks[b]);
            let c = block.last().map_or(1, |l| l.cout);
            let side = sides[b];
            let mut dconv = trace.pool.take(n * side * side * c);
            pool::backward(&d, &trace.pool_args[b], n, side, c, &mut dconv);
            trace.pool.give([std::mem::replace(&mut d, dconv)]);
            for layer in block.iter().rev() {
                conv_index -= 1;
                let mut dgamma = vec![0.0; layer.cout];
                let mut dbeta = vec![0.0; layer.cout];
                layer
                    .bn
                    .backward(&mut d, &trace.conv_bn[conv_index], &mut dgamma, &mut dbeta);
                let shape = ConvShape {
                    n,
                    side,
                    cin: layer.cin,
                    cout: layer.cout,
                };
                let mut dw = vec![0.0; layer.weight.len()];
                let first = conv_index == 0;
                let mut dx = if first {
                    Vec::new()
                } else {
                    trace.pool.take(n * side * side * layer.cin)
                };
                conv::backward(
                    &trace.conv_inputs[conv_index],
                    &layer.weight,
                    &d,
                    &shape,
                    ConvGrads {
                        dw: &mut dw,
                        dx: (!first).then_some(dx.as_mut_slice()),
                    },
                    &mut trace.scratch,
                );
                trace.pool.give([std::mem::replace(&mut d, dx)]);
                conv_grads.push([dw, dgamma, dbeta]);
            }
        }
        conv_grads.reverse();
        let mut grads: Grads = conv_grads
            .into_iter()
            .chain(hidden_grads)
            .flat_map(|g| g.into_iter())
            .collect();
        grads.push(dw_cls);
        grads.push(db_cls);
        grads
    }

    /// Inference: logits for `n` faces, batch norm from running statistics, no dropout
    /// (through an [`InferenceNet`] prepared for this call; keep one to classify often).
    pub fn forward_infer(&self, x: &[f32], n: usize) -> Vec<f32> {
        InferenceNet::new(self).logits(x, n)
    }

    /// Panics unless `x` holds `n` inputs of the architecture's side.
    fn check_input(&self, x: &[f32], n: usize) {
        let side = self.arch.input_size;
        assert_eq!(
            x.len(),
            n * side * side,
            "input must be n x {side} x {side}"
        );
    }

    /// The classifier layer: logits from the last features of `n` faces.
    fn classify(&self, features: &[f32], n: usize) -> Vec<f32> {
        let mut logits = vec![0.0; n * NUM_CLASSES];
        dense::forward(
            features,
            &self.classifier_weight,
            Some(&self.classifier_bias),
            n,
            features.len() / n,
            &mut logits,
        );
        logits
    }
}
