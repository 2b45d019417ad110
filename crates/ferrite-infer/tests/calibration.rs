//! A model's card temperature reaches every probability `EmotionModel` gives: a copy of the
//! fast model with a temperature of 2 (and 1.5 for zoom TTA) classifies faces as the
//! uncalibrated copy does, each face's probabilities tempered (softer, same order).

use ferrite_infer::{EmotionModel, ModelSource, Tta};
use ferrite_model::{
    temper, CalibrationObjective, ModelBundle, ShippedModel, TemperatureScaling, TtaTemperature,
    WEIGHTS_FILE,
};

fn copy_with(dir: &std::path::Path, calibration: Option<TemperatureScaling>) -> EmotionModel {
    let bundle = ShippedModel::Fast.bundle();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(WEIGHTS_FILE), &bundle.weights).unwrap();
    let mut card = bundle.card;
    card.calibration = calibration;
    ModelBundle::save_card(dir, &card).unwrap();
    EmotionModel::from_source(&ModelSource::Dir(dir.to_path_buf())).unwrap()
}

#[test]
fn the_cards_temperature_tempers_every_probability() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = copy_with(&tmp.path().join("raw"), None);
    let scaling = TemperatureScaling {
        temperature: 2.0,
        fitted_on: "public-test".into(),
        objective: Default::default(),
        ece_before: 0.1,
        ece_after: 0.05,
        with_tta: [(
            Tta::Zoom.name().to_string(),
            TtaTemperature {
                temperature: 1.5,
                objective: CalibrationObjective::Likelihood,
                ece_before: 0.1,
                ece_after: 0.05,
            },
        )]
        .into(),
    };
    let warm = copy_with(&tmp.path().join("warm"), Some(scaling));
    let faces: Vec<Vec<u8>> = (0..4u8)
        .map(|k| {
            (0..48 * 48)
                .map(|i| ((i * (3 + k as usize)) % 251) as u8)
                .collect()
        })
        .collect();
    let faces: Vec<&[u8]> = faces.iter().map(Vec::as_slice).collect();
    for (tta, temperature) in [(Tta::Off, 2.0), (Tta::Flip, 2.0), (Tta::Zoom, 1.5)] {
        for (mut p, q) in raw
            .classify(&faces, tta)
            .into_iter()
            .zip(warm.classify(&faces, tta))
        {
            let top = |v: &[f32; 7]| (0..7).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
            assert_eq!(top(&p), top(&q), "the most probable emotion stays");
            assert!(q[top(&q)] <= p[top(&p)], "a temperature above 1 softens");
            temper(&mut p, temperature);
            assert!(p.iter().zip(&q).all(|(a, b)| (a - b).abs() < 1e-6));
        }
    }
}
