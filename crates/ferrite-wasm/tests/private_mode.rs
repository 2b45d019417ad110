//! The private mode's Rust side, run natively: the same answers as the server's pipeline, the
//! live session's tracks, and bad input refused with a message. (The module itself runs in
//! Chromium in `ferrite-cli/tests/dashboard.rs`.)

use ferrite_infer::{EmotionModel, PredictOptions, Predictor, ShippedModel, Tta};
use ferrite_wasm::{Photo, PrivateMode};
use image::{GrayImage, Luma, RgbaImage};

fn fast() -> PrivateMode {
    let model = ShippedModel::Fast;
    PrivateMode::load(model.card_json().as_bytes(), model.weights()).expect("the fast model loads")
}

/// A 48x48 drawn face crop, as PNG bytes.
fn crop_png() -> Vec<u8> {
    let face = GrayImage::from_fn(48, 48, |x, y| Luma([(x * 4 + y * 2) as u8]));
    let mut bytes = Vec::new();
    face.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .unwrap();
    bytes
}

#[test]
fn a_photo_gets_the_servers_report() {
    let mode = fast();
    let bytes = crop_png();
    let Photo::Report(report) = mode.predict("crop.png", &bytes, Tta::Off) else {
        panic!("PNG is decoded by the module");
    };
    let server = Predictor::new(EmotionModel::fast(), PredictOptions::default()).unwrap();
    let expected =
        ferrite_infer::ImageReport::ok("crop.png", &server.predict_bytes(&bytes).unwrap());
    assert_eq!(
        serde_json::to_value(&report).unwrap(),
        serde_json::to_value(&expected).unwrap()
    );
    assert_eq!(report.faces.len(), 1, "a face crop is classified whole");
}

#[test]
fn decoded_pixels_give_the_same_report_as_the_file() {
    let mode = fast();
    let bytes = crop_png();
    let Photo::Report(from_file) = mode.predict("crop.png", &bytes, Tta::Flip) else {
        panic!("PNG is decoded by the module");
    };
    let rgba = image::load_from_memory(&bytes).unwrap().to_rgba8();
    let from_pixels = mode
        .predict_pixels("crop.png", rgba.as_raw(), 48, 48, Tta::Flip)
        .unwrap();
    assert_eq!(
        serde_json::to_value(&from_file).unwrap(),
        serde_json::to_value(&from_pixels).unwrap()
    );
}

#[test]
fn bad_input_is_an_error_that_says_what() {
    let mode = fast();
    match mode.predict("notes.jpg", b"not an image", Tta::Off) {
        Photo::Report(report) => {
            assert!(report.error.is_some(), "{report:?}");
            assert_eq!(report.file, "notes.jpg");
        }
        Photo::NeedsPixels(format) => panic!("text is not {format}"),
    }
    let err = mode
        .predict_pixels("x.png", &[0; 10], 2, 2, Tta::Off)
        .unwrap_err();
    assert!(err.contains("10 bytes for 2x2 RGBA (16 expected)"), "{err}");
    assert!(mode.predict_pixels("x.png", &[], 0, 0, Tta::Off).is_err());
    let huge = mode.predict_pixels("huge.png", &[0; 4], 100_000, 100_000, Tta::Off);
    assert!(huge.unwrap_err().contains("over the limit"));
    assert!(
        PrivateMode::load(b"{}", b"").is_err(),
        "a card without fields"
    );
    let weights = ShippedModel::Fast.weights();
    let card = ShippedModel::Accurate.card_json();
    let mismatch = PrivateMode::load(card.as_bytes(), weights).err().unwrap();
    assert!(mismatch.contains("weights"), "{mismatch}");
}

#[test]
fn a_live_session_follows_its_faces() {
    let mut mode = fast();
    assert!(
        mode.live_frame(&[0; 16], 2, 2, 0.0).is_err(),
        "no session yet"
    );
    mode.live_start(48).unwrap();
    assert!(
        mode.live_start(0).is_err(),
        "a minimum face size of 0 is refused"
    );
    let frame = RgbaImage::from_pixel(96, 72, image::Rgba([90, 100, 110, 255]));
    for k in 0..3 {
        let report = mode
            .live_frame(frame.as_raw(), 96, 72, k as f64 / 25.0)
            .unwrap();
        assert_eq!((report.frame, report.width, report.height), (k, 96, 72));
        assert!(report.faces.is_empty(), "a blank frame has no face");
    }
    assert!(mode.live_frame(&frame, 95, 72, 0.2).is_err(), "wrong size");
}
