//! MTCNN's three networks (P-Net, R-Net, O-Net) on the engine's valid-convolution layers, with
//! the weights embedded from `assets/mtcnn.safetensors` (see `scripts/mtcnn_weights.py`).
//!
//! The detector reads gray images, which MTCNN's RGB networks see as R = G = B: each first
//! convolution's weights are summed over the three colour channels at load, which gives the
//! same output for a third of the work.

use std::sync::OnceLock;

use ferrite_engine::layers::dense;
use ferrite_engine::layers::valid::{max_pool, Map, ValidConv};
use ferrite_model::widen_to_f32;
use safetensors::{Dtype, SafeTensors};

/// MTCNN's weights (MIT licence, see assets/MTCNN-LICENSE), PyTorch layouts, stored as
/// float16 (half the size in the binary and the WebAssembly module) and widened at load by
/// `ferrite_model::widen_to_f32`, as the emotion models are.
const WEIGHTS: &[u8] = include_bytes!("../../../assets/mtcnn.safetensors");

/// What every network's head gives for a window: the probability that it is a face and four
/// corrections of its box (left, top, right, bottom, in widths and heights of the window).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WindowOutput {
    pub(crate) face: f32,
    pub(crate) regression: [f32; 4],
}

impl WindowOutput {
    /// From a head's six values: two class logits (background, face) and four corrections.
    fn from_head(values: &[f32]) -> WindowOutput {
        WindowOutput {
            face: 1.0 / (1.0 + (values[0] - values[1]).exp()),
            regression: [values[2], values[3], values[4], values[5]],
        }
    }
}

/// The three networks, loaded once and shared by every thread.
pub(crate) struct Nets {
    pub(crate) proposal: ProposalNet,
    pub(crate) refine: WindowNet,
    pub(crate) output: WindowNet,
}

impl Nets {
    /// The embedded networks.
    pub(crate) fn shared() -> &'static Nets {
        static NETS: OnceLock<Nets> = OnceLock::new();
        NETS.get_or_init(|| {
            let wide = widen_to_f32(WEIGHTS).expect("the embedded MTCNN weights parse");
            let w = Weights(SafeTensors::deserialize(&wide).expect("widened weights parse"));
            Nets {
                proposal: ProposalNet::load(&w),
                refine: WindowNet::load_refine(&w),
                output: WindowNet::load_output(&w),
            }
        })
    }
}

/// Tensors of the widened weight file by name, as `f32`s.
struct Weights<'a>(SafeTensors<'a>);

impl Weights<'_> {
    fn get(&self, name: &str) -> Vec<f32> {
        let view = self
            .0
            .tensor(name)
            .unwrap_or_else(|_| panic!("the embedded MTCNN weights hold {name}"));
        assert_eq!(view.dtype(), Dtype::F32, "{name} is widened to float32");
        view.data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    /// A convolution with its PReLU, `net.convN` + `net.preluN`.
    fn conv(&self, net: &str, layer: usize, cin: usize, kernel: usize) -> ValidConv {
        let slopes = self.get(&format!("{net}.prelu{layer}.weight"));
        ValidConv::from_oihw(
            &self.get(&format!("{net}.conv{layer}.weight")),
            &self.get(&format!("{net}.conv{layer}.bias")),
            Some(&slopes),
            cin,
            kernel,
        )
    }

    /// The first convolution, its weights summed over R, G and B for gray input.
    fn gray_conv(&self, net: &str) -> ValidConv {
        let rgb = self.get(&format!("{net}.conv1.weight"));
        let gray: Vec<f32> = rgb
            .chunks_exact(27)
            .flat_map(|out| (0..9).map(move |i| out[i] + out[9 + i] + out[18 + i]))
            .collect();
        let slopes = self.get(&format!("{net}.prelu1.weight"));
        ValidConv::from_oihw(
            &gray,
            &self.get(&format!("{net}.conv1.bias")),
            Some(&slopes),
            1,
            3,
        )
    }

    /// Two heads on the same input as one, in PyTorch's `[out, in]` layout: the two class
    /// logits' rows, then the four box corrections' rows (for P-Net's 1x1 convolutions this is
    /// their OIHW weight as it stands), and the bias.
    fn head(&self, class: &str, boxes: &str) -> (Vec<f32>, Vec<f32>) {
        let mut rows = self.get(&format!("{class}.weight"));
        rows.extend(self.get(&format!("{boxes}.weight")));
        let mut bias = self.get(&format!("{class}.bias"));
        bias.extend(self.get(&format!("{boxes}.bias")));
        (rows, bias)
    }
}

/// P-Net: a fully convolutional net whose every output pixel judges a 12x12 window, 2 pixels
/// apart, of its input.
pub(crate) struct ProposalNet {
    convs: [ValidConv; 3],
    head: ValidConv,
}

impl ProposalNet {
    fn load(w: &Weights) -> ProposalNet {
        let (oihw, bias) = w.head("pnet.conv4_1", "pnet.conv4_2");
        ProposalNet {
            convs: [
                w.gray_conv("pnet"),
                w.conv("pnet", 2, 10, 3),
                w.conv("pnet", 3, 16, 3),
            ],
            head: ValidConv::from_oihw(&oihw, &bias, None, 32, 1),
        }
    }

    /// Every window's output over a gray image (values already normalised, one channel), as a
    /// grid of `height x width` windows, row by row.
    pub(crate) fn windows(&self, image: &Map) -> (usize, usize, Vec<WindowOutput>) {
        let x = self.convs[0].forward(image);
        let x = max_pool(&x, 2, 2);
        let x = self.convs[1].forward(&x);
        let x = self.convs[2].forward(&x);
        let y = self.head.forward(&x);
        let outputs = y
            .data
            .chunks_exact(6)
            .map(WindowOutput::from_head)
            .collect();
        (y.height, y.width, outputs)
    }
}

/// R-Net (24x24 windows) or O-Net (48x48): convolutions and pooling, a dense layer, the head.
pub(crate) struct WindowNet {
    /// Each convolution with the pooling after it (window, stride), if any.
    convs: Vec<(ValidConv, Option<(usize, usize)>)>,
    /// `[in, hidden]`, rows in the engine's NHWC flatten order.
    dense: Vec<f32>,
    dense_bias: Vec<f32>,
    dense_slopes: Vec<f32>,
    /// The two heads as one dense layer, `[in, 6]`, and its bias.
    head: (Vec<f32>, Vec<f32>),
    /// The side of the window the network reads.
    pub(crate) side: usize,
}

impl WindowNet {
    fn load_refine(w: &Weights) -> WindowNet {
        WindowNet::load(
            w,
            "rnet",
            24,
            vec![
                (w.gray_conv("rnet"), Some((3, 2))),
                (w.conv("rnet", 2, 28, 3), Some((3, 2))),
                (w.conv("rnet", 3, 48, 2), None),
            ],
            ("dense4", "prelu4", "dense5_1", "dense5_2"),
            (3, 64),
        )
    }

    fn load_output(w: &Weights) -> WindowNet {
        WindowNet::load(
            w,
            "onet",
            48,
            vec![
                (w.gray_conv("onet"), Some((3, 2))),
                (w.conv("onet", 2, 32, 3), Some((3, 2))),
                (w.conv("onet", 3, 64, 3), Some((2, 2))),
                (w.conv("onet", 4, 64, 2), None),
            ],
            ("dense5", "prelu5", "dense6_1", "dense6_2"),
            (3, 128),
        )
    }

    /// `names`: the dense layer, its PReLU, the class head and the box head; `last`: the side
    /// and channels of the last convolution's map.
    fn load(
        w: &Weights,
        net: &str,
        side: usize,
        convs: Vec<(ValidConv, Option<(usize, usize)>)>,
        names: (&str, &str, &str, &str),
        (last_side, channels): (usize, usize),
    ) -> WindowNet {
        let (dense, prelu, class, boxes) = names;
        let torch = w.get(&format!("{net}.{dense}.weight"));
        let inp = last_side * last_side * channels;
        let hidden = torch.len() / inp;
        // facenet-pytorch flattens the map as (x, y, channel) (the original Caffe networks
        // were trained on transposed images); the engine's maps are (y, x, channel).
        let mut rows = vec![0.0; inp * hidden];
        for y in 0..last_side {
            for x in 0..last_side {
                for c in 0..channels {
                    let ours = (y * last_side + x) * channels + c;
                    let theirs = (x * last_side + y) * channels + c;
                    for o in 0..hidden {
                        rows[ours * hidden + o] = torch[o * inp + theirs];
                    }
                }
            }
        }
        WindowNet {
            convs,
            dense: rows,
            dense_bias: w.get(&format!("{net}.{dense}.bias")),
            dense_slopes: w.get(&format!("{net}.{prelu}.weight")),
            head: {
                // The engine's dense layers take `[in, out]`.
                let (rows, bias) = w.head(&format!("{net}.{class}"), &format!("{net}.{boxes}"));
                let inp = rows.len() / 6;
                let columns = (0..inp)
                    .flat_map(|i| rows.iter().skip(i).step_by(inp).copied())
                    .collect();
                (columns, bias)
            },
            side,
        }
    }

    /// The output for each window of `windows` (`n x side x side x 1`, normalised).
    pub(crate) fn classify(&self, windows: Map) -> Vec<WindowOutput> {
        assert_eq!((windows.height, windows.width), (self.side, self.side));
        let n = windows.n;
        let mut x = windows;
        for (conv, pool) in &self.convs {
            x = conv.forward(&x);
            if let Some((window, stride)) = pool {
                x = max_pool(&x, *window, *stride);
            }
        }
        let inp = x.height * x.width * x.channels;
        let hidden = self.dense_bias.len();
        let mut h = vec![0.0; n * hidden];
        dense::forward(&x.data, &self.dense, Some(&self.dense_bias), n, inp, &mut h);
        for row in h.chunks_exact_mut(hidden) {
            for (v, a) in row.iter_mut().zip(&self.dense_slopes) {
                if *v < 0.0 {
                    *v *= a;
                }
            }
        }
        let mut out = vec![0.0; n * 6];
        dense::forward(&h, &self.head.0, Some(&self.head.1), n, hidden, &mut out);
        out.chunks_exact(6).map(WindowOutput::from_head).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each network's outputs on fixed gray patterns, computed by facenet-pytorch's own modules
    /// (`scripts/mtcnn_weights.py`).
    const FIXTURE: &str = include_str!("../../../tests/fixtures/mtcnn_parity.json");

    fn case(net: &str) -> serde_json::Value {
        let all: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        all[net].clone()
    }

    fn floats(v: &serde_json::Value) -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    }

    fn input(case: &serde_json::Value) -> Map {
        let (h, w) = (
            case["height"].as_u64().unwrap() as usize,
            case["width"].as_u64().unwrap() as usize,
        );
        let images = case["inputs"].as_array().unwrap();
        let data: Vec<f32> = images
            .iter()
            .flat_map(|i| floats(i).into_iter().map(|v| (v - 127.5) * 0.0078125))
            .collect();
        Map::new(data, images.len(), h, w, 1)
    }

    fn assert_close(ours: &[f32], theirs: &[f32], what: &str) {
        assert_eq!(ours.len(), theirs.len(), "{what}: count");
        for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
            assert!((a - b).abs() < 1e-4, "{what}[{i}]: {a} vs PyTorch's {b}");
        }
    }

    #[test]
    fn proposal_net_matches_pytorch() {
        let case = case("pnet");
        let (h, w, outputs) = Nets::shared().proposal.windows(&input(&case));
        // PyTorch's maps are [1, C, H, W]: channel-major.
        let regression = floats(&case["regression"]);
        let ours: Vec<f32> = (0..4)
            .flat_map(|c| outputs.iter().map(move |o| o.regression[c]))
            .collect();
        assert_eq!(outputs.len(), h * w);
        assert_close(&ours, &regression, "P-Net box corrections");
        let faces: Vec<f32> = outputs.iter().map(|o| o.face).collect();
        assert_close(&faces, &floats(&case["face_probability"]), "P-Net faces");
    }

    #[test]
    fn window_nets_match_pytorch() {
        let nets = Nets::shared();
        for (name, net) in [("rnet", &nets.refine), ("onet", &nets.output)] {
            let case = case(name);
            let outputs = net.classify(input(&case));
            let regression: Vec<f32> = outputs.iter().flat_map(|o| o.regression).collect();
            assert_close(&regression, &floats(&case["regression"]), name);
            let faces: Vec<f32> = outputs.iter().map(|o| o.face).collect();
            assert_close(&faces, &floats(&case["face_probability"]), name);
        }
    }
}
