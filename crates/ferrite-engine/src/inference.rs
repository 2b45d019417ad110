//! The network prepared for inference ([`InferenceNet`]): each conv and hidden layer fused
//! with its batch norm and ReLU ([`crate::layers::fused`]), pooling that records no winners,
//! and activation buffers kept between calls instead of allocated (and zeroed) for every
//! layer of every call.

use std::sync::Mutex;

use ferrite_data::NUM_CLASSES;

use crate::layers::conv::Scratch;
use crate::layers::fused::{FusedConv, FusedDense};
use crate::layers::{dense, pool};
use crate::worker::on_worker;
use crate::Network;

/// A caller's buffers holding more floats than this (42 MB) are dropped after its call rather
/// than kept for the next. `wide`'s largest activation is 48x48x64 a face, so its two buffers
/// take 295k floats a face: video's batches of 32 faces (9.4M) are kept, and so are a server's
/// micro-batches; an evaluation's batches of 256 (75M, 300 MB) are not, so that no process
/// holds on to them after the one large call. A caller that makes such calls again and again
/// keeps them all ([`InferenceNet::keeping_all_buffers`]).
const KEEP_FLOATS: usize = 10 << 20;

/// One caller's buffers: the activations in and out of the current layer, and the convs'.
#[derive(Debug, Default)]
struct Buffers {
    act: Vec<f32>,
    next: Vec<f32>,
    conv: Scratch,
}

impl Buffers {
    fn floats(&self) -> usize {
        self.act.capacity() + self.next.capacity()
    }
}

/// `v` grown to at least `len` elements; contents unspecified (every user overwrites them).
fn at_least(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if v.len() < len {
        v.resize(len, 0.0);
    }
    &mut v[..len]
}

/// A [`Network`] ready to classify: batch norm folded, Winograd weights transformed once.
/// Shared between threads; each call borrows a set of buffers of its own.
#[derive(Debug)]
pub struct InferenceNet {
    input_size: usize,
    blocks: Vec<Vec<FusedConv>>,
    hidden: Vec<FusedDense>,
    classifier_weight: Vec<f32>,
    classifier_bias: Vec<f32>,
    idle: Mutex<Vec<Buffers>>,
    /// Buffers holding more floats than this are dropped after their call.
    keep_floats: usize,
}

impl InferenceNet {
    /// `net` with its running statistics folded in.
    pub fn new(net: &Network) -> InferenceNet {
        let blocks = net
            .blocks
            .iter()
            .map(|block| {
                block
                    .iter()
                    .map(|l| FusedConv::new(&l.weight, &l.bn, l.cin, l.cout))
                    .collect()
            })
            .collect();
        let hidden = net
            .hidden
            .iter()
            .map(|l| FusedDense::new(&l.weight, &l.bn, l.inp, l.out))
            .collect();
        InferenceNet {
            input_size: net.arch.input_size,
            blocks,
            hidden,
            classifier_weight: net.classifier_weight.clone(),
            classifier_bias: net.classifier_bias.clone(),
            idle: Mutex::new(Vec::new()),
            keep_floats: KEEP_FLOATS,
        }
    }

    /// This network keeping every call's buffers for the next, however large: for a caller
    /// that classifies large batches again and again, as a distillation teacher does on every
    /// training step (four views of 64 faces of `wide`, 300 MB, would otherwise be mapped and
    /// zeroed afresh each time).
    pub fn keeping_all_buffers(self) -> InferenceNet {
        InferenceNet {
            keep_floats: usize::MAX,
            ..self
        }
    }

    /// Side of the square input the network reads (48: the whole face).
    pub fn input_size(&self) -> usize {
        self.input_size
    }

    /// Logits (`n x 7`) for `n` inputs (`n` squares of [`InferenceNet::input_size`], scaled
    /// as [`ferrite_data::face_to_input`]).
    pub fn logits(&self, x: &[f32], n: usize) -> Vec<f32> {
        let side = self.input_size;
        assert_eq!(
            x.len(),
            n * side * side,
            "input must be n x {side} x {side}"
        );
        if n == 0 {
            return Vec::new();
        }
        let popped = self.idle.lock().expect("buffer list").pop();
        let mut buffers = popped.unwrap_or_default();
        let logits = on_worker(|| self.forward(x, n, &mut buffers));
        if buffers.floats() <= self.keep_floats {
            self.idle.lock().expect("buffer list").push(buffers);
        }
        logits
    }

    fn forward(&self, x: &[f32], n: usize, buffers: &mut Buffers) -> Vec<f32> {
        let Buffers { act, next, conv } = buffers;
        act.clear();
        act.extend_from_slice(x);
        let (mut side, mut len) = (self.input_size, x.len());
        for block in &self.blocks {
            let mut channels = 1;
            for layer in block {
                channels = layer.cout();
                let out = n * side * side * channels;
                layer.forward(&act[..len], n, side, at_least(next, out), conv);
                std::mem::swap(act, next);
                len = out;
            }
            let half = side / 2;
            let out = n * half * half * channels;
            pool::forward_infer(&act[..len], n, side, channels, at_least(next, out));
            std::mem::swap(act, next);
            (side, len) = (half, out);
        }
        for layer in &self.hidden {
            let out = n * layer.out();
            layer.forward(&act[..len], n, at_least(next, out));
            std::mem::swap(act, next);
            len = out;
        }
        let mut logits = vec![0.0; n * NUM_CLASSES];
        let features = &act[..len];
        let inp = len / n;
        let bias = Some(&self.classifier_bias[..]);
        dense::forward(features, &self.classifier_weight, bias, n, inp, &mut logits);
        logits
    }
}

#[cfg(test)]
mod tests {
    use ferrite_model::{ArchSpec, BlockSpec};

    use super::*;

    /// One block of one 64-channel conv: the conv's output (48x48x64 floats a face) and the
    /// pool's (24x24x64), so that 64 faces (11.8M floats) pass [`KEEP_FLOATS`] at little cost.
    fn one_wide_conv() -> Network {
        let arch = ArchSpec {
            name: "one-conv".to_string(),
            blocks: vec![BlockSpec {
                channels: 64,
                convs: 1,
            }],
            hidden: vec![],
            ..ArchSpec::reference()
        };
        Network::new(&arch, 5)
    }

    fn kept(net: &InferenceNet) -> usize {
        net.idle.lock().expect("buffer list").len()
    }

    #[test]
    fn large_calls_drop_their_buffers_unless_all_are_kept() {
        let net = one_wide_conv();
        let n = 64;
        let x: Vec<f32> = (0..n * 48 * 48).map(|i| (i % 251) as f32 / 251.0).collect();
        let small = InferenceNet::new(&net);
        small.logits(&x[..48 * 48], 1);
        assert_eq!(kept(&small), 1, "a one-face call's buffers are kept");
        let default = InferenceNet::new(&net);
        let dropped = default.logits(&x, n);
        assert_eq!(
            kept(&default),
            0,
            "a call over KEEP_FLOATS drops its buffers"
        );
        let keeping = InferenceNet::new(&net).keeping_all_buffers();
        let first = keeping.logits(&x, n);
        assert_eq!(kept(&keeping), 1);
        let again = keeping.logits(&x, n);
        assert_eq!(
            kept(&keeping),
            1,
            "the kept buffers are reused, not added to"
        );
        assert_eq!(first, dropped);
        assert_eq!(again, dropped);
    }
}
