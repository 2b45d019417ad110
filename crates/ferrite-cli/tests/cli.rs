//! The `ferrite` binary end to end: a quick train + eval on drawn data, bad input, and the
//! shipped model on the real FER2013 when FER2013_DIR is set.

mod common;

use common::{ferrite, text};
use std::path::Path;
use std::process::{Command, Output};

use image::{GrayImage, Luma};

/// A Kaggle-layout dataset of all 7 classes, each a different brightness band.
fn drawn_dataset(root: &Path) {
    for split in ["train", "test"] {
        for (k, class) in ferrite_data::Emotion::names().iter().enumerate() {
            let dir = root.join(split).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..4u32 {
                let img = GrayImage::from_fn(48, 48, |x, y| {
                    Luma([(k as u32 * 35 + (x * y + i) % 20) as u8])
                });
                let prefix = if split == "train" {
                    "Training_"
                } else if i % 2 == 0 {
                    "PublicTest_"
                } else {
                    "PrivateTest_"
                };
                img.save(dir.join(format!("{prefix}{i}.png"))).unwrap();
            }
        }
    }
}

#[test]
fn quick_train_then_eval_json_has_the_documented_fields() {
    let data = tempfile::tempdir().unwrap();
    drawn_dataset(data.path());
    let model = tempfile::tempdir().unwrap();
    let out = ferrite(&[
        "train",
        "--data",
        data.path().to_str().unwrap(),
        "--out",
        model.path().to_str().unwrap(),
        "--epochs",
        "1",
        "--limit",
        "20",
        "--batch-size",
        "8",
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("class weights"), "{stdout}");
    assert!(stdout.contains("Epoch 1/1"), "{stdout}");

    let out = ferrite(&[
        "eval",
        "--model",
        model.path().to_str().unwrap(),
        "--data",
        data.path().to_str().unwrap(),
        "--split",
        "private-test",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "accuracy",
        "macro_f1",
        "weighted_f1",
        "n",
        "labels",
        "per_class",
        "confusion",
    ] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    assert_eq!(report["n"], 14);
    assert_eq!(report["labels"][6], "surprise");
    assert_eq!(report["confusion"].as_array().unwrap().len(), 7);
    assert!(report["per_class"]["happy"]["support"].as_u64().unwrap() == 2);

    // The ensemble of the model and itself classifies as the model does; an ensemble is
    // reported as one, and never recorded in a card.
    let dir = model.path().to_str().unwrap();
    let json_with = |extra: &[&str]| {
        let mut args = vec!["eval", "--model", dir, "--data"];
        args.extend([data.path().to_str().unwrap(), "--split", "private-test"]);
        args.extend(["--uncalibrated", "--format", "json"]);
        args.extend(extra);
        let out = ferrite(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let alone = json_with(&[]);
    let with_itself = json_with(&["--with", dir]);
    assert_eq!(alone["confusion"], with_itself["confusion"]);
    // Against itself a model differs by nothing; against `fast`, by the two accuracies.
    let against_itself = &json_with(&["--against", dir])["comparison"];
    assert_eq!(against_itself["difference"], 0.0);
    assert_eq!(against_itself["p_value"], 1.0);
    let against_fast = json_with(&["--against", "fast"]);
    let comparison = &against_fast["comparison"];
    assert_eq!(comparison["against"], "fast");
    assert_eq!(comparison["faces"], 14);
    assert_eq!(comparison["accuracy"], against_fast["accuracy"]);
    let difference =
        comparison["accuracy"].as_f64().unwrap() - comparison["against_accuracy"].as_f64().unwrap();
    assert!((comparison["difference"].as_f64().unwrap() - difference).abs() < 1e-12);
    let out = ferrite(&[
        "eval",
        "--model",
        dir,
        "--with",
        "fast",
        "--data",
        data.path().to_str().unwrap(),
        "--split",
        "private-test",
        "--plot",
        model.path().join("ensemble.png").to_str().unwrap(),
        "--reliability",
        model
            .path()
            .join("ensemble-reliability.png")
            .to_str()
            .unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("the ensemble of model "), "{stdout}");
    assert!(
        stdout.contains("+ fast (shipped, embedded in the binary) (fast-deep)"),
        "{stdout}"
    );
    let out = ferrite(&[
        "eval",
        "--model",
        dir,
        "--with",
        dir,
        "--data",
        data.path().to_str().unwrap(),
        "--save-to-card",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("ensemble"),
        "{}",
        text(&out.stderr)
    );
    fails_naming(
        &[
            "eval",
            "--model",
            dir,
            "--against",
            "fast",
            "--data",
            ".",
            "--save-to-card",
        ],
        "--against compares two",
    );

    let plot = model.path().join("cm.png");
    let out = ferrite(&[
        "eval",
        "--model",
        model.path().to_str().unwrap(),
        "--data",
        data.path().to_str().unwrap(),
        "--split",
        "test",
        "--tta",
        "--plot",
        plot.to_str().unwrap(),
        "--reliability",
        model.path().join("reliability.png").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("macro avg") && stdout.contains("Row-normalised"),
        "{stdout}"
    );
    let png = image::open(&plot).unwrap();
    assert!(png.width() > 400);
}

#[test]
fn bad_input_gives_one_clear_error_and_a_failure_code() {
    let data = tempfile::tempdir().unwrap();
    drawn_dataset(data.path());
    let missing = data.path().join("no-such-dir");

    let missing = missing.to_str().unwrap();
    let data = data.path().to_str().unwrap();
    fails_naming(&["eval", "--data", missing], "no-such-dir");
    fails_naming(
        &["eval", "--model", missing, "--data", data],
        "model directory not found",
    );
    fails_naming(
        &["train", "--data", missing, "--out", "/tmp/x"],
        "does not exist",
    );
    fails_naming(
        &["eval", "--data", ".", "--split", "nonsense"],
        "unknown split",
    );
}

/// Runs ferrite, expecting a failure whose message contains `needle`.
fn fails_naming(args: &[&str], needle: &str) {
    let out = ferrite(args);
    assert!(!out.status.success(), "{args:?} succeeded");
    let stderr = text(&out.stderr);
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
}

#[test]
fn every_spelling_of_a_held_out_split_is_refused_before_any_data_is_read() {
    for split in [
        "private-test",
        "PrivateTest",
        "private_test",
        "private",
        "test",
        "all",
    ] {
        // The data folder does not exist: the refusal must come first, from the option itself.
        let out = ferrite(&[
            "train",
            "--data",
            "/nonexistent",
            "--out",
            "/nonexistent/out",
            "--val-split",
            split,
        ]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "--val-split {split} was accepted"
        );
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("cannot be a validation split") && stderr.contains("PrivateTest"),
            "--val-split {split}: {stderr}"
        );
        // A temperature is fitted on a validation split too.
        let out = ferrite(&[
            "calibrate",
            "--model",
            "/nonexistent/model",
            "--data",
            "/nonexistent",
            "--split",
            split,
        ]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "calibrate --split {split} was accepted"
        );
        assert!(text(&out.stderr).contains("cannot be a validation split"));
    }
}

#[test]
fn the_shipped_model_card_cannot_be_written_to() {
    let data = tempfile::tempdir().unwrap();
    drawn_dataset(data.path());
    fails_naming(
        &[
            "eval",
            "--model",
            "accurate",
            "--data",
            data.path().to_str().unwrap(),
            "--save-to-card",
        ],
        "give --model DIR",
    );
    fails_naming(
        &[
            "calibrate",
            "--model",
            "fast",
            "--data",
            data.path().to_str().unwrap(),
        ],
        "give --model DIR",
    );
}

/// A copy of the shipped `fast` model's folder in `dir`, for commands that write its card.
fn copy_of_fast(dir: &Path) {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/fast");
    for file in ["card.json", "model.safetensors"] {
        std::fs::copy(shipped.join(file), dir.join(file)).unwrap();
    }
}

/// The card of the model folder `dir`, as JSON.
fn card_in(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("card.json")).unwrap()).unwrap()
}

#[test]
fn calibration_records_its_objective_and_refuses_an_unknown_one() {
    let data = tempfile::tempdir().unwrap();
    drawn_dataset(data.path());
    let model = tempfile::tempdir().unwrap();
    copy_of_fast(model.path());
    let args = |objective: &'static str| {
        [
            "calibrate",
            "--model",
            model.path().to_str().unwrap(),
            "--data",
            data.path().to_str().unwrap(),
            "--objective",
            objective,
        ]
        .map(String::from)
    };
    let nope = args("accuracy");
    fails_naming(&nope.each_ref().map(String::as_str), "objective");
    for objective in ["ece", "likelihood"] {
        let run = args(objective);
        let out = ferrite(&run.each_ref().map(String::as_str));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let card = card_in(model.path());
        assert_eq!(card["calibration"]["objective"], objective);
        let t = card["calibration"]["temperature"].as_f64().unwrap();
        assert!(t > 0.0 && t.is_finite(), "temperature {t}");
    }
}

#[test]
fn each_augmentation_can_have_its_own_temperature() {
    let data = tempfile::tempdir().unwrap();
    drawn_dataset(data.path());
    let model = tempfile::tempdir().unwrap();
    copy_of_fast(model.path());
    let mut card = card_in(model.path());
    card["calibration"] = serde_json::Value::Null;
    let card_path = model.path().join("card.json");
    std::fs::write(&card_path, serde_json::to_vec(&card).unwrap()).unwrap();
    let read_card = || card_in(model.path());
    let (model, data) = (
        model.path().to_str().unwrap(),
        data.path().to_str().unwrap(),
    );
    let calibrate = |tta: &str| {
        let tta = format!("--tta={tta}");
        ferrite(&["calibrate", "--model", model, "--data", data, &tta])
    };
    fails_naming(
        &["calibrate", "--model", model, "--data", data, "--tta=zoom"],
        "without --tta first",
    );
    assert!(calibrate("off").status.success());
    let single = read_card()["calibration"]["temperature"].as_f64().unwrap();
    let out = calibrate("zoom");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("for zoom TTA"),
        "{}",
        text(&out.stdout)
    );
    // Ten crops of a whole-face model are the flip, and are recorded as the flip.
    assert!(calibrate("crops").status.success());
    let card = read_card();
    let with_tta = &card["calibration"]["with_tta"];
    let keys: Vec<&String> = with_tta.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["flip", "zoom"]);
    assert_eq!(card["calibration"]["temperature"].as_f64(), Some(single));
    let zoom = with_tta["zoom"]["temperature"].as_f64().unwrap();
    let eval = |tta: &str| {
        let tta = format!("--tta={tta}");
        let out = ferrite(&[
            "eval",
            "--model",
            model,
            "--data",
            data,
            "--split",
            "public-test",
            &tta,
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let said = |t: f64| format!("temperature {t:.3} from the card");
    assert!(eval("zoom").contains(&said(zoom)));
    assert!(eval("off").contains(&said(single)));
}

#[test]
#[ignore = "needs FER2013_DIR, the real data set (.ci/run sets it and runs ignored tests)"]
fn shipped_models_meet_their_cards_on_real_private_test() {
    let dir = std::env::var_os("FER2013_DIR")
        .expect("FER2013_DIR must name FER2013 in the Kaggle layout for this test");
    for (model, (tta, entry)) in ferrite_model::ShippedModel::ALL
        .into_iter()
        .flat_map(|m| [("off", "private-test"), ("zoom", "private-test+zoom")].map(|t| (m, t)))
    {
        let out = ferrite(&[
            "eval",
            "--model",
            model.name(),
            "--data",
            dir.to_str().unwrap(),
            "--split",
            "private-test",
            &format!("--tta={tta}"),
            "--format",
            "json",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["n"], 3589);
        // The figures recorded in the shipped card must be what the model really gives.
        let recorded = &model.card().evaluation[entry];
        for key in ["accuracy", "macro_f1"] {
            let (card, measured) = (recorded[key].as_f64(), report[key].as_f64());
            assert!(
                (card.unwrap() - measured.unwrap()).abs() < 1e-9,
                "{} {entry}: {key} in the card {card:?}, measured {measured:?}",
                model.name()
            );
        }
        // And each must beat the seed report's 51% by a wide margin.
        let measured = report["accuracy"].as_f64().unwrap();
        assert!(measured > 0.55, "{}: accuracy {measured}", model.name());
    }
}

/// A copy of the binary in a folder of its own, run from another folder with no model named
/// anywhere: every subcommand that uses a model must find the one inside the binary.
#[test]
fn an_installed_binary_works_from_any_folder() {
    let install = tempfile::tempdir().unwrap();
    let binary = install.path().join("ferrite");
    std::fs::copy(env!("CARGO_BIN_EXE_ferrite"), &binary).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let data = elsewhere.path().join("data");
    drawn_dataset(&data);
    let face = data.join("test/happy/PublicTest_0.png");
    let run = |args: &[&str]| {
        let out = Command::new(&binary)
            .args(args)
            .current_dir(elsewhere.path())
            .env_remove("FERRITE_MODEL")
            .output()
            .expect("the copied binary runs");
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    };
    let data = data.to_str().unwrap();
    let shown = run(&["model"]);
    assert!(shown.contains("accurate (shipped, embedded"), "{shown}");
    assert!(
        shown.contains("leg") && shown.contains("--engine"),
        "{shown}"
    );
    let card: serde_json::Value = serde_json::from_str(&run(&["model", "--json"])).unwrap();
    assert_eq!(card["arch"]["name"], "wide");
    let report: serde_json::Value = serde_json::from_str(&run(&[
        "eval", "--data", data, "--split", "test", "--format", "json",
    ]))
    .unwrap();
    assert_eq!(report["n"], 28);
    let faces: serde_json::Value = serde_json::from_str(&run(&[
        "predict",
        face.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(faces[0]["faces"].as_array().unwrap().len(), 1);
    run(&["model", "--model", "accurate"]);
    let fast = run(&["model", "--model", "fast"]);
    assert!(fast.contains("fast"), "{fast}");
    let fast_faces: serde_json::Value = serde_json::from_str(&run(&[
        "predict",
        face.to_str().unwrap(),
        "--format",
        "json",
        "--model",
        "fast",
    ]))
    .unwrap();
    assert_eq!(fast_faces[0]["faces"].as_array().unwrap().len(), 1);
    assert_ne!(
        fast_faces[0]["faces"][0]["probabilities"],
        faces[0]["faces"][0]["probabilities"]
    );
    // Without --model, the pipeline bench measures both shipped models.
    let bench = run(&["bench", "--pipeline", "--seconds", "0.05"]);
    assert!(bench.contains("accurate (shipped"), "{bench}");
    assert!(bench.contains("fast (shipped"), "{bench}");
    // Without training, the engine bench shows a dash where the training rate would be.
    let bench = run(&[
        "bench",
        "--arch",
        "reference",
        "--engine",
        "ferrite",
        "--seconds",
        "0.05",
        "--no-train",
    ]);
    let row = bench.lines().last().unwrap_or_default();
    assert!(
        row.starts_with("ferrite") && row.contains(" - ") && !row.contains("NaN"),
        "{bench}"
    );
    let out = elsewhere.path().join("tuned");
    let trained = run(&[
        "train",
        "--data",
        data,
        "--out",
        out.to_str().unwrap(),
        "--arch",
        "wide",
        "--init",
        "accurate",
        "--epochs",
        "1",
        "--limit",
        "16",
        "--batch-size",
        "8",
    ]);
    assert!(
        trained.contains("starting from the weights of accurate"),
        "{trained}"
    );
    let card = ferrite_model::ModelBundle::read_card(&out).unwrap();
    let shipped = ferrite_model::ShippedModel::Accurate.card();
    assert_eq!(card.training.legs.len(), shipped.training.legs.len() + 1);
    assert_eq!(serve_health(&binary, elsewhere.path())["status"], "ok");

    // Nothing in the binary points back at the source tree (as `env!("CARGO_MANIFEST_DIR")`
    // in a crate's code would).
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let needle = crates.to_str().unwrap().as_bytes();
    let bytes = std::fs::read(&binary).unwrap();
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle),
        "the binary holds the path {}",
        crates.display()
    );
}

/// Starts `ferrite serve --port 0` from `dir` and returns its `GET /api/health` answer.
fn serve_health(binary: &Path, dir: &Path) -> serde_json::Value {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut child = Command::new(binary)
        .args(["serve", "--port", "0"])
        .current_dir(dir)
        .env_remove("FERRITE_MODEL")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("ferrite serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "GET /api/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

/// `eval --engine burn` agrees with the engine in a full build, and a lean build refuses it
/// saying how to get it.
#[test]
fn eval_on_burn_agrees_with_the_engine_or_is_refused_by_a_lean_build() {
    let data = tempfile::tempdir().unwrap();
    drawn_dataset(data.path());
    let data = data.path().to_str().unwrap();
    let eval = |engine: &str| {
        ferrite(&[
            "eval", "--data", data, "--format", "json", "--engine", engine,
        ])
    };
    let engine = eval("ferrite");
    assert!(engine.status.success(), "{}", text(&engine.stderr));
    let burn = eval("burn");
    if cfg!(feature = "burn") {
        assert!(burn.status.success(), "{}", text(&burn.stderr));
        let report =
            |out: &Output| serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
        assert_eq!(report(&engine)["confusion"], report(&burn)["confusion"]);
    } else {
        assert!(!burn.status.success());
        assert!(
            text(&burn.stderr).contains("no burn engine"),
            "{}",
            text(&burn.stderr)
        );
    }
}

/// `ferrite export --format web`: the static site's files, the module and the model it loads,
/// and a refusal for a model it does not run.
#[test]
fn web_export_writes_a_static_site() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    let out = ferrite(&["export", "--format", "web", "--out", site.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("static site"),
        "{}",
        text(&out.stdout)
    );
    let page = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(page.contains("data-static"), "the page is marked static");
    let wasm = std::fs::read(site.join("assets/private/ferrite.wasm")).unwrap();
    assert_eq!(&wasm[..4], b"\0asm");
    let weights = std::fs::read(site.join("assets/private/model/model.safetensors")).unwrap();
    assert_eq!(weights, ferrite_model::ShippedModel::Fast.weights());
    fails_naming(
        &[
            "export",
            "--format",
            "web",
            "--model",
            "accurate",
            "--out",
            site.to_str().unwrap(),
        ],
        "runs the `fast` model",
    );
}

/// `ferrite export --format float16`: a float32 model folder becomes the same model stored in
/// half the bytes, as the shipped models are (narrowing a widened float16 file is exact, so
/// the shipped `fast` model's float32 copy comes back as its embedded bytes).
#[test]
fn float16_export_stores_a_model_in_half_the_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let model = ferrite_model::ShippedModel::Fast;
    let wide = tmp.path().join("float32");
    std::fs::create_dir_all(&wide).unwrap();
    std::fs::write(wide.join("card.json"), model.card_json()).unwrap();
    let widened = ferrite_model::widen_to_f32(model.weights()).unwrap();
    std::fs::write(wide.join("model.safetensors"), &widened).unwrap();

    let half = tmp.path().join("float16");
    let export = [
        "export",
        "--format",
        "float16",
        "--model",
        wide.to_str().unwrap(),
        "--out",
        half.to_str().unwrap(),
    ];
    let out = ferrite(&export);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("float16 weights"));
    let weights = std::fs::read(half.join("model.safetensors")).unwrap();
    assert!(weights.len() < widened.len() * 6 / 10);
    assert_eq!(weights, model.weights());
    let card = std::fs::read_to_string(half.join("card.json")).unwrap();
    assert_eq!(
        ferrite_model::ModelCard::parse(&card).unwrap().arch,
        model.card().arch
    );

    std::fs::write(wide.join("model.safetensors"), b"not weights").unwrap();
    fails_naming(&export, "not a safetensors file");
}

/// `ferrite predict DIR | head -1`: the reader leaves after a line, and predict ends as `cat`
/// would (by SIGPIPE), not with an error (before: `error: Broken pipe`, exit 1) or, in the
/// commands that print with `println!` (`ferrite model`), a panic on the failed write.
#[cfg(unix)]
#[test]
fn predict_ends_quietly_when_its_reader_leaves() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;

    let faces = tempfile::tempdir().unwrap();
    for i in 0..400u32 {
        GrayImage::from_fn(48, 48, |x, y| Luma([((x * 5 + y * 3 + i) % 256) as u8]))
            .save(faces.path().join(format!("face{i}.png")))
            .unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .args([
            "predict",
            "--whole-image",
            "--model",
            "fast",
            "--format",
            "json",
        ])
        .arg(faces.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    // The reader is gone; the rest of the output (400 faces of JSON, over a pipe's 64 KiB) has
    // nowhere to go.
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{stderr}"
    );
    assert_eq!(out.status.signal(), Some(13), "SIGPIPE: {:?}", out.status);
}
