use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};

use ferrite_data::{face_to_input, FACE_PIXELS, FACE_SIZE, NUM_CLASSES};

use crate::FerNet;

/// Classifies 48x48 grayscale faces with a trained network (inference mode).
pub struct Classifier {
    net: FerNet,
    device: Device,
    batch_size: usize,
}

impl Classifier {
    /// Wraps a trained network for inference on `device`.
    pub fn new(net: FerNet, device: Device) -> Classifier {
        Classifier {
            net: net.valid(),
            device,
            batch_size: 256,
        }
    }

    /// Probabilities for each face (`FACE_PIXELS` bytes each), in label order. With `tta`, the
    /// probabilities of the face and its mirror image are averaged.
    pub fn predict(&self, faces: &[&[u8]], tta: bool) -> Vec<[f32; NUM_CLASSES]> {
        let mut out = Vec::with_capacity(faces.len());
        for chunk in faces.chunks(self.batch_size) {
            let input = faces_to_tensor(chunk, &self.device);
            let mut probs = softmax(self.net.forward(input.clone()), 1);
            if tta {
                let mirrored = softmax(self.net.forward(input.flip([3])), 1);
                probs = (probs + mirrored).mul_scalar(0.5);
            }
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

/// Packs faces into a `[n, 1, 48, 48]` input tensor scaled to `[0, 1]`.
pub fn faces_to_tensor(faces: &[&[u8]], device: &Device) -> Tensor<4> {
    let mut data = vec![0.0f32; faces.len() * FACE_PIXELS];
    for (face, out) in faces.iter().zip(data.chunks_exact_mut(FACE_PIXELS)) {
        face_to_input(face, out);
    }
    Tensor::from_data(
        TensorData::new(data, [faces.len(), 1, FACE_SIZE, FACE_SIZE]),
        device,
    )
}
