use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::PaddingConfig2d;
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use ferrite_model::ArchSpec;

/// Conv 3x3 (no bias) + batch norm + ReLU.
#[derive(Module, Debug)]
pub struct ConvBnRelu {
    conv: Conv2d,
    bn: BatchNorm,
}

/// A VGG-style block: conv layers, 2x2 max pool, dropout.
#[derive(Module, Debug)]
pub struct ConvBlock {
    layers: Vec<ConvBnRelu>,
    pool: MaxPool2d,
    dropout: Dropout,
}

/// Linear (no bias) + batch norm + ReLU + dropout.
#[derive(Module, Debug)]
pub struct DenseBnRelu {
    linear: Linear,
    bn: BatchNorm,
    dropout: Dropout,
}

/// Ferrite's CNN on burn: the reference implementation of an [`ArchSpec`].
///
/// Input `[batch, 1, 48, 48]` scaled to `[0, 1]`; output `[batch, 7]` logits in label order.
#[derive(Module, Debug)]
pub struct FerNet {
    blocks: Vec<ConvBlock>,
    hidden: Vec<DenseBnRelu>,
    classifier: Linear,
}

impl FerNet {
    /// Builds a freshly initialised network for `arch` on `device`.
    pub fn new(arch: &ArchSpec, device: &Device) -> FerNet {
        let mut in_ch = 1;
        let blocks = arch
            .blocks
            .iter()
            .map(|spec| {
                let layers = (0..spec.convs)
                    .map(|_| {
                        let conv = Conv2dConfig::new([in_ch, spec.channels], [3, 3])
                            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                            .with_bias(false)
                            .init(device);
                        in_ch = spec.channels;
                        ConvBnRelu {
                            conv,
                            bn: BatchNormConfig::new(spec.channels).init(device),
                        }
                    })
                    .collect();
                ConvBlock {
                    layers,
                    pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
                    dropout: DropoutConfig::new(arch.conv_dropout as f64).init(),
                }
            })
            .collect();
        let mut features = arch.flat_features();
        let hidden = arch
            .hidden
            .iter()
            .map(|&units| {
                let linear = LinearConfig::new(features, units)
                    .with_bias(false)
                    .init(device);
                features = units;
                DenseBnRelu {
                    linear,
                    bn: BatchNormConfig::new(units).init(device),
                    dropout: DropoutConfig::new(arch.fc_dropout as f64).init(),
                }
            })
            .collect();
        let classifier = LinearConfig::new(features, ferrite_data::NUM_CLASSES).init(device);
        FerNet {
            blocks,
            hidden,
            classifier,
        }
    }

    /// Forward pass: `[batch, 1, side, side]` (the arch's input side) to `[batch, 7]` logits.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<2> {
        let mut x = input;
        for block in &self.blocks {
            for layer in &block.layers {
                x = relu(layer.bn.forward(layer.conv.forward(x)));
            }
            x = block.dropout.forward(block.pool.forward(x));
        }
        let [batch, c, h, w] = x.dims();
        let mut x: Tensor<2> = x.reshape([batch, c * h * w]);
        for layer in &self.hidden {
            x = layer
                .dropout
                .forward(relu(layer.bn.forward(layer.linear.forward(x))));
        }
        self.classifier.forward(x)
    }
}
