//! Ferrite's models as ONNX files, for ONNX Runtime, OpenCV's dnn module and every other ONNX
//! reader. The graph takes `input`, float32 `[N, 1, 48, 48]`: the 48x48 gray face Ferrite's
//! preprocessing makes, scaled to [0, 1] (`[N, 1, S, S]`, its centre window, for a network
//! trained on S-pixel crops); and gives `probabilities`, `[N, 7]` in label order,
//! softmax included. Each batch norm is folded into its conv's or dense layer's weight and a
//! bias; dropout, which inference skips, is left out; the card's temperature (`ferrite
//! calibrate`) divides the logits, folded into the classifier. The model's metadata holds the
//! labels (`labels`, a JSON list), the preprocessing, the temperature and the model card.
//! Operator set 13, IR version 7.

mod proto;

use prost::Message;

use ferrite_data::{Emotion, FACE_SIZE, NUM_CLASSES};
use ferrite_engine::layers::conv::weight_to_oihw;
use ferrite_engine::layers::fused::fold_batch_norm;
use ferrite_engine::{dense_rows_to_nchw, Network};
use ferrite_model::ModelCard;

use proto::{
    AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TensorTypeProto, TypeProto,
    ValueInfoProto, ATTRIBUTE_INT, ATTRIBUTE_INTS, FLOAT,
};

/// The operator set the graph is written for.
pub const OPSET: i64 = 13;
/// The ONNX IR version of the file (the one that goes with [`OPSET`]).
const IR_VERSION: i64 = 7;
/// The graph's input.
pub const INPUT: &str = "input";
/// The graph's output.
pub const OUTPUT: &str = "probabilities";

/// How a face is prepared before it is given to the graph, as the metadata says it (a model
/// trained on crops then reads the centre window of that face: [`preprocessing`]).
pub const PREPROCESSING: &str =
    "the face found by the detector, framed as FER2013 frames its faces, \
     converted to gray, resized to 48x48, each pixel divided by 255; NCHW, one channel";

/// The preprocessing of a network whose input is `side` pixels square.
pub fn preprocessing(side: usize) -> String {
    if side == FACE_SIZE {
        PREPROCESSING.to_string()
    } else {
        let at = (FACE_SIZE - side) / 2;
        format!(
            "{PREPROCESSING}; then the centre {side}x{side} window of that face (rows and \
             columns {at} to {})",
            at + side - 1
        )
    }
}

/// The ONNX file (its bytes) of `net`, the model of `card`.
pub fn export(net: &Network, card: &ModelCard) -> Vec<u8> {
    model(net, card).encode_to_vec()
}

fn model(net: &Network, card: &ModelCard) -> ModelProto {
    let temperature = card.calibration.as_ref().map_or(1.0, |c| c.temperature);
    let labels: Vec<&str> = Emotion::ALL.iter().map(|e| e.name()).collect();
    let side = card.arch.input_size;
    let metadata = [
        (
            "labels",
            serde_json::to_string(&labels).expect("strings serialise"),
        ),
        ("preprocessing", preprocessing(card.arch.input_size)),
        ("input", card.input.to_string()),
        ("architecture", card.arch.name.clone()),
        ("temperature", temperature.to_string()),
        (
            "card",
            serde_json::to_string(card).expect("a card serialises"),
        ),
    ];
    ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "ferrite".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: format!(
            "Ferrite facial emotion recognition, the `{}` CNN: {INPUT} [N, 1, {side}, {side}] in \
             [0, 1] -> {OUTPUT} [N, 7] ({})",
            card.arch.name,
            labels.join(", ")
        ),
        graph: Some(GraphBuilder::default().build(net, temperature)),
        metadata_props: metadata
            .into_iter()
            .map(|(key, value)| StringStringEntryProto {
                key: key.into(),
                value,
            })
            .collect(),
    }
}

/// Builds the graph one layer at a time: each step adds its nodes and weights and moves the
/// name of the current value on.
#[derive(Default)]
struct GraphBuilder {
    nodes: Vec<NodeProto>,
    weights: Vec<TensorProto>,
    current: String,
}

impl GraphBuilder {
    /// The graph of `net`, its logits divided by `temperature` (the card's calibration) before
    /// the softmax: folded into the classifier's weight and bias.
    fn build(mut self, net: &Network, temperature: f32) -> GraphProto {
        let side = net.arch.input_size;
        self.current = INPUT.into();
        for (b, block) in net.blocks.iter().enumerate() {
            for (l, layer) in block.iter().enumerate() {
                let name = format!("block{}_conv{}", b + 1, l + 1);
                let (folded, bias) = fold_batch_norm(&layer.weight, &layer.bn, layer.cout);
                let weight = weight_to_oihw(&folded, layer.cin, layer.cout);
                let dims = [layer.cout, layer.cin, 3, 3];
                self.conv(&name, weight, &dims, bias);
                self.unary("Relu", &format!("{name}_relu"));
            }
            self.max_pool(&format!("block{}_pool", b + 1));
        }
        self.unary("Flatten", "flatten");
        for (k, layer) in net.hidden.iter().enumerate() {
            let rows = if k == 0 {
                dense_rows_to_nchw(&net.arch, &layer.weight, layer.out)
            } else {
                layer.weight.clone()
            };
            let (weight, bias) = fold_batch_norm(&rows, &layer.bn, layer.out);
            let name = format!("dense{}", k + 1);
            self.gemm(&name, weight, [layer.inp, layer.out], bias);
            self.unary("Relu", &format!("{name}_relu"));
        }
        let classifier = if net.hidden.is_empty() {
            dense_rows_to_nchw(&net.arch, &net.classifier_weight, NUM_CLASSES)
        } else {
            net.classifier_weight.clone()
        };
        let classifier: Vec<f32> = classifier.iter().map(|w| w / temperature).collect();
        let inp = classifier.len() / NUM_CLASSES;
        let bias = net
            .classifier_bias
            .iter()
            .map(|b| b / temperature)
            .collect();
        self.gemm("classifier", classifier, [inp, NUM_CLASSES], bias);
        self.node("Softmax", "softmax", vec![int("axis", 1)], OUTPUT);
        GraphProto {
            node: self.nodes,
            name: "ferrite".into(),
            initializer: self.weights,
            input: vec![value_info(
                INPUT,
                &[1, side, side],
                &format!("{side}x{side} gray faces in [0, 1]"),
            )],
            output: vec![value_info(
                OUTPUT,
                &[NUM_CLASSES],
                "probabilities in label order",
            )],
        }
    }

    /// Adds a node of `op` on the current value (and `extra` inputs) with output `out`.
    fn node_with(
        &mut self,
        op: &str,
        name: &str,
        extra: &[String],
        attrs: Vec<AttributeProto>,
        out: &str,
    ) {
        let mut input = vec![std::mem::take(&mut self.current)];
        input.extend_from_slice(extra);
        self.nodes.push(NodeProto {
            input,
            output: vec![out.into()],
            name: name.into(),
            op_type: op.into(),
            attribute: attrs,
        });
        self.current = out.into();
    }

    fn node(&mut self, op: &str, name: &str, attrs: Vec<AttributeProto>, out: &str) {
        self.node_with(op, name, &[], attrs, out);
    }

    fn unary(&mut self, op: &str, name: &str) {
        self.node(op, name, Vec::new(), name);
    }

    fn weight(&mut self, name: String, dims: &[usize], data: Vec<f32>) -> String {
        self.weights.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: FLOAT,
            float_data: data,
            name: name.clone(),
        });
        name
    }

    fn conv(&mut self, name: &str, weight: Vec<f32>, dims: &[usize; 4], bias: Vec<f32>) {
        let w = self.weight(format!("{name}.weight"), dims, weight);
        let b = self.weight(format!("{name}.bias"), &[dims[0]], bias);
        let attrs = vec![
            ints("kernel_shape", &[3, 3]),
            ints("pads", &[1, 1, 1, 1]),
            ints("strides", &[1, 1]),
        ];
        self.node_with("Conv", name, &[w, b], attrs, name);
    }

    fn max_pool(&mut self, name: &str) {
        let attrs = vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])];
        self.node("MaxPool", name, attrs, name);
    }

    fn gemm(&mut self, name: &str, weight: Vec<f32>, [inp, out]: [usize; 2], bias: Vec<f32>) {
        let w = self.weight(format!("{name}.weight"), &[inp, out], weight);
        let b = self.weight(format!("{name}.bias"), &[out], bias);
        self.node_with("Gemm", name, &[w, b], Vec::new(), name);
    }
}

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: ATTRIBUTE_INTS,
        ints: values.to_vec(),
        ..AttributeProto::default()
    }
}

fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: ATTRIBUTE_INT,
        i: value,
        ..AttributeProto::default()
    }
}

/// A float tensor of shape `[N, dims...]` (N: the batch, named).
fn value_info(name: &str, dims: &[usize], doc: &str) -> ValueInfoProto {
    let batch = Dimension {
        dim_value: None,
        dim_param: Some("N".into()),
    };
    let rest = dims.iter().map(|&d| Dimension {
        dim_value: Some(d as i64),
        dim_param: None,
    });
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto {
                    dim: std::iter::once(batch).chain(rest).collect(),
                }),
            }),
        }),
        doc_string: doc.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrite_model::ArchSpec;

    #[test]
    fn the_graph_is_the_network_layer_by_layer_with_its_weights() {
        let arch = ArchSpec::fast();
        let net = Network::new(&arch, 7);
        let model = ModelProto::decode(export(&net, &ModelCard::new(arch.clone())).as_slice())
            .expect("the file parses back");
        assert_eq!(
            (model.ir_version, model.opset_import[0].version),
            (7, OPSET)
        );
        let graph = model.graph.expect("a graph");
        let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
        let mut expected = Vec::new();
        for block in &arch.blocks {
            expected.extend(std::iter::repeat_n(["Conv", "Relu"], block.convs).flatten());
            expected.push("MaxPool");
        }
        expected.push("Flatten");
        expected.extend(std::iter::repeat_n(["Gemm", "Relu"], arch.hidden.len()).flatten());
        expected.extend(["Gemm", "Softmax"]);
        assert_eq!(ops, expected);
        // Each node reads what the one before wrote; the last writes the output.
        for pair in graph.node.windows(2) {
            assert_eq!(pair[1].input[0], pair[0].output[0]);
        }
        assert_eq!(graph.node[0].input[0], INPUT);
        assert_eq!(graph.node.last().unwrap().output, [OUTPUT]);
        let first = &graph.initializer[0];
        let c1 = arch.blocks[0].channels as i64;
        assert_eq!(
            (first.name.as_str(), first.dims.as_slice()),
            ("block1_conv1.weight", &[c1, 1, 3, 3][..])
        );
        let labels = model
            .metadata_props
            .iter()
            .find(|e| e.key == "labels")
            .unwrap();
        assert_eq!(
            labels.value,
            r#"["angry","disgust","fear","happy","neutral","sad","surprise"]"#
        );
    }
}
