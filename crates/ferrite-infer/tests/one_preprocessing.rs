//! Training/evaluation and inference see the same 48x48 face for the same file: the dataset
//! reader, the predictor's whole-image path and the crop of a detection that covers the whole
//! image all go through `face_from_image`.

use ferrite_data::{decode_file, load_dataset, Split, DEFAULT_MAX_PIXELS};
use ferrite_infer::{crop_face, EmotionModel, Frame, PredictOptions, Predictor, Tta};
use image::{Rgb, RgbImage};

#[test]
fn dataset_reader_and_predictor_agree_on_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let class = dir.path().join("happy");
    std::fs::create_dir(&class).unwrap();
    let path = class.join("face.png");
    // Colour and larger than 48x48, so conversion and resizing both happen.
    RgbImage::from_fn(96, 96, |x, y| {
        Rgb([(x * 2) as u8, (y * 2) as u8, ((x + y) % 256) as u8])
    })
    .save(&path)
    .unwrap();

    let set = load_dataset(dir.path(), Split::All).unwrap();
    let training_face = &set.samples[0].pixels;

    let image = decode_file(&path, DEFAULT_MAX_PIXELS).unwrap();
    let cropped = crop_face(
        &image.to_luma8(),
        &Frame {
            x: 0.0,
            y: 0.0,
            side: 96.0,
        },
    );
    assert_eq!(
        &cropped, training_face,
        "a full-image crop must equal the training face"
    );

    let options = PredictOptions {
        whole_image: true,
        ..PredictOptions::default()
    };
    let predictor = Predictor::new(EmotionModel::shipped(), options).unwrap();
    let predicted = predictor.predict(&image).faces[0].probabilities;
    let evaluated = predictor
        .model()
        .classify(&[training_face.as_slice()], Tta::Off)[0];
    assert_eq!(predicted, evaluated);
}
