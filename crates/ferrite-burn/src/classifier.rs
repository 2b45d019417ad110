use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};

use ferrite_data::{FaceView, Tta, NUM_CLASSES};

use crate::FerNet;

/// Classifies 48x48 grayscale faces with a trained network (inference mode).
pub struct Classifier {
    net: FerNet,
    device: Device,
    input_size: usize,
    batch_size: usize,
}

impl Classifier {
    /// Wraps a trained network, which reads `input_size`-pixel windows of the face (its
    /// `ArchSpec::input_size`), for inference on `device`.
    pub fn new(net: FerNet, input_size: usize, device: Device) -> Classifier {
        Classifier {
            net: net.valid(),
            device,
            input_size,
            batch_size: 256,
        }
    }

    /// Probabilities for each face (`FACE_PIXELS` bytes each), in label order: of the centre
    /// window, or averaged over the views of `tta`, as the engine's `InferenceNet::predict`.
    pub fn predict(&self, faces: &[&[u8]], tta: Tta) -> Vec<[f32; NUM_CLASSES]> {
        let views = tta.views(self.input_size);
        let mut out = Vec::with_capacity(faces.len());
        for chunk in faces.chunks(self.batch_size) {
            let mut probs: Option<Tensor<2>> = None;
            for &view in &views {
                let input = faces_to_tensor(chunk, view, self.input_size, &self.device);
                let p = softmax(self.net.forward(input), 1);
                probs = Some(match probs {
                    Some(sum) => sum + p,
                    None => p,
                });
            }
            let probs = probs
                .expect("every augmentation has a view")
                .div_scalar(views.len() as f32);
            let values: Vec<f32> = probs
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 probabilities");
            out.extend(values.chunks_exact(NUM_CLASSES).map(|row| {
                let mut p = [0.0; NUM_CLASSES];
                p.copy_from_slice(row);
                p
            }));
        }
        out
    }
}

/// Packs the `view` of each face into a `[n, 1, side, side]` input tensor scaled to `[0, 1]`.
pub fn faces_to_tensor(faces: &[&[u8]], view: FaceView, side: usize, device: &Device) -> Tensor<4> {
    let pixels = side * side;
    let mut data = vec![0.0f32; faces.len() * pixels];
    for (face, out) in faces.iter().zip(data.chunks_exact_mut(pixels)) {
        view.write_input(face, side, out);
    }
    Tensor::from_data(TensorData::new(data, [faces.len(), 1, side, side]), device)
}
