//! Integration tests of the dataset readers on fixtures drawn in code, and on the real FER2013
//! when FER2013_DIR is set.

use std::path::Path;

use ferrite_data::{load_dataset, DataError, Emotion, Split, FACE_PIXELS};
use image::{GrayImage, Luma, Rgb, RgbImage};

fn face(value: u8) -> GrayImage {
    GrayImage::from_fn(48, 48, |x, y| Luma([value.wrapping_add((x + y) as u8)]))
}

/// A small Kaggle-layout tree: train/{happy,sad,Anger}, test/{happy,sad} with PublicTest_ and
/// PrivateTest_ files, a corrupt JPEG, a text file and an empty class folder.
fn kaggle_fixture(root: &Path) {
    for (split, class, names) in [
        ("train", "happy", vec!["a.png", "b.png", "c.jpg"]),
        ("train", "sad", vec!["d.png"]),
        ("train", "Anger", vec!["e.bmp"]),
        (
            "test",
            "happy",
            vec!["PublicTest_1.png", "PrivateTest_2.png"],
        ),
        (
            "test",
            "sad",
            vec!["PublicTest_3.png", "PrivateTest_4.png", "PrivateTest_5.png"],
        ),
    ] {
        let dir = root.join(split).join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, name) in names.iter().enumerate() {
            face(i as u8 * 40).save(dir.join(name)).unwrap();
        }
    }
    // A colour image of another size goes through the same conversion.
    RgbImage::from_fn(96, 64, |x, _| Rgb([x as u8, 10, 10]))
        .save(root.join("train/happy/colour.png"))
        .unwrap();
    std::fs::write(
        root.join("train/sad/broken.jpg"),
        b"\xff\xd8\xff\xe0 not a jpeg",
    )
    .unwrap();
    std::fs::write(root.join("train/sad/notes.txt"), b"ignored").unwrap();
    std::fs::create_dir_all(root.join("train/fear")).unwrap();
}

#[test]
fn kaggle_layout_splits_and_skips_corrupt_files() {
    let dir = tempfile::tempdir().unwrap();
    kaggle_fixture(dir.path());

    let train = load_dataset(dir.path(), Split::Train).unwrap();
    assert_eq!(train.samples.len(), 6);
    assert_eq!(train.skipped.len(), 1, "{:?}", train.skipped);
    assert!(train.skipped[0].source.ends_with("broken.jpg"));
    assert!(
        train.warnings.iter().any(|w| w.contains("fear")),
        "{:?}",
        train.warnings
    );
    let counts = train.class_counts();
    assert_eq!(counts[Emotion::Happy.index()], 4);
    assert_eq!(
        counts[Emotion::Angry.index()],
        1,
        "the `Anger` alias maps to angry"
    );
    assert!(train.samples.iter().all(|s| s.pixels.len() == FACE_PIXELS));
    assert!(train.summary("train").contains("skipped 1"));

    let public = load_dataset(dir.path(), Split::PublicTest).unwrap();
    let private = load_dataset(dir.path(), Split::PrivateTest).unwrap();
    let test = load_dataset(dir.path(), Split::Test).unwrap();
    let all = load_dataset(dir.path(), Split::All).unwrap();
    assert_eq!(public.samples.len(), 2);
    assert_eq!(private.samples.len(), 3);
    assert_eq!(test.samples.len(), 5);
    assert_eq!(all.samples.len(), 11);
    assert!(private
        .samples
        .iter()
        .all(|s| s.source.contains("PrivateTest_")));
}

/// A data set made of links into another tree is read like the tree itself; a broken link is
/// named in a warning and the rest is read.
#[cfg(unix)]
#[test]
fn linked_images_are_read_and_a_broken_link_is_named() {
    let real = tempfile::tempdir().unwrap();
    kaggle_fixture(real.path());
    let linked = tempfile::tempdir().unwrap();
    for class in ["happy", "sad"] {
        let from = real.path().join("train").join(class);
        let to = linked.path().join("train").join(class);
        std::fs::create_dir_all(&to).unwrap();
        for item in std::fs::read_dir(&from).unwrap() {
            let item = item.unwrap();
            std::os::unix::fs::symlink(item.path(), to.join(item.file_name())).unwrap();
        }
    }
    let dangling = linked.path().join("train/sad/gone.png");
    std::os::unix::fs::symlink(real.path().join("nowhere.png"), &dangling).unwrap();

    let original = load_dataset(real.path(), Split::Train).unwrap();
    let through_links = load_dataset(linked.path(), Split::Train).unwrap();
    let pixels = |set: &ferrite_data::Dataset, class: Emotion| -> Vec<Vec<u8>> {
        let mut faces: Vec<Vec<u8>> = set
            .samples
            .iter()
            .filter(|s| s.label == class)
            .map(|s| s.pixels.clone())
            .collect();
        faces.sort();
        faces
    };
    for class in [Emotion::Happy, Emotion::Sad] {
        assert!(!pixels(&original, class).is_empty());
        assert_eq!(pixels(&through_links, class), pixels(&original, class));
    }
    assert!(
        through_links
            .warnings
            .iter()
            .any(|w| w.contains("gone.png") && w.contains("skipped")),
        "{:?}",
        through_links.warnings
    );
}

#[test]
fn loading_is_deterministic_and_hash_sensitive() {
    let dir = tempfile::tempdir().unwrap();
    kaggle_fixture(dir.path());
    let a = load_dataset(dir.path(), Split::Train).unwrap();
    let b = load_dataset(dir.path(), Split::Train).unwrap();
    assert_eq!(a.samples, b.samples);
    assert_eq!(a.content_hash(), b.content_hash());
    let test = load_dataset(dir.path(), Split::Test).unwrap();
    assert_ne!(a.content_hash(), test.content_hash());
}

#[test]
fn plain_class_folder_has_only_split_all() {
    let dir = tempfile::tempdir().unwrap();
    for class in ["Happiness", "SURPRISED"] {
        let d = dir.path().join(class);
        std::fs::create_dir_all(&d).unwrap();
        face(1).save(d.join("x.png")).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("bored")).unwrap();
    let all = load_dataset(dir.path(), Split::All).unwrap();
    assert_eq!(all.samples.len(), 2);
    assert!(all.warnings.iter().any(|w| w.contains("bored")));
    let err = load_dataset(dir.path(), Split::Train).unwrap_err();
    assert!(matches!(err, DataError::SplitUnavailable { .. }), "{err}");
}

#[test]
fn fer2013_csv_is_read_with_usage_splits_and_bad_rows_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let pixels = vec!["7"; FACE_PIXELS].join(" ");
    let csv = format!(
        "emotion,pixels,Usage\n3,{pixels},Training\n6,{pixels},Training\n4,{pixels},PublicTest\n\
         0,{pixels},PrivateTest\n9,{pixels},Training\n1,1 2 3,Training\n"
    );
    let path = dir.path().join("fer2013.csv");
    std::fs::write(&path, csv).unwrap();
    let train = load_dataset(dir.path(), Split::Train).unwrap();
    assert_eq!(train.samples.len(), 2);
    assert_eq!(train.samples[0].label, Emotion::Happy);
    assert_eq!(train.samples[1].label, Emotion::Neutral);
    assert_eq!(train.skipped.len(), 2);
    assert!(train
        .skipped
        .iter()
        .any(|s| s.source.ends_with(":6") && s.reason.contains("0-6")));
    assert!(train
        .skipped
        .iter()
        .any(|s| s.reason.contains("expected 2304 pixels")));
    assert_eq!(train.samples[0].pixels, vec![7u8; FACE_PIXELS]);
    let public = load_dataset(&path, Split::PublicTest).unwrap();
    assert_eq!(public.samples[0].label, Emotion::Sad);
    assert_eq!(load_dataset(&path, Split::Test).unwrap().samples.len(), 2);
}

#[test]
fn bad_paths_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = load_dataset(&missing, Split::Train).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = load_dataset(&empty, Split::All).unwrap_err();
    assert!(err.to_string().contains("no class subfolders"), "{err}");

    let bad_csv = dir.path().join("bad.csv");
    std::fs::write(&bad_csv, "a,b\n1,2\n").unwrap();
    let err = load_dataset(&bad_csv, Split::All).unwrap_err();
    assert!(err.to_string().contains("row 1"), "{err}");

    let only_empty_class = dir.path().join("only");
    std::fs::create_dir_all(only_empty_class.join("train/happy")).unwrap();
    let err = load_dataset(&only_empty_class, Split::Train).unwrap_err();
    assert!(err.to_string().contains("no readable images"), "{err}");
}

#[test]
#[ignore = "needs FER2013_DIR, the real data set (.ci/run sets it and runs ignored tests)"]
fn real_fer2013_has_the_published_split_sizes() {
    let dir = std::env::var_os("FER2013_DIR")
        .expect("FER2013_DIR must name FER2013 in the Kaggle layout for this test");
    let dir = Path::new(&dir);
    let train = load_dataset(dir, Split::Train).unwrap();
    assert_eq!(train.samples.len() + train.skipped.len(), 28_709);
    let counts = train.class_counts();
    assert_eq!(counts[Emotion::Disgust.index()], 436);
    assert_eq!(
        load_dataset(dir, Split::PublicTest).unwrap().samples.len(),
        3_589
    );
    assert_eq!(
        load_dataset(dir, Split::PrivateTest).unwrap().samples.len(),
        3_589
    );
}
