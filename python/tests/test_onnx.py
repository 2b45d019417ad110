"""`ferrite export --format onnx` gives files ONNX Runtime runs with the engine's results: both
shipped models on real FER2013 faces (drawn ones without FER2013_DIR), max abs difference of
the probabilities <= 1e-4, the labels in the metadata. Needs onnxruntime (.ci/run installs it)
and FERRITE_BIN."""

import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import ferrite
from reference import needs_cli

ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime (.ci/run installs it)")


def faces(count=200):
    """Nx48x48 uint8 faces: FER2013 PublicTest crops where FER2013_DIR is set."""
    data = os.environ.get("FER2013_DIR")
    if data:
        Image = pytest.importorskip("PIL.Image", reason="needs Pillow to read FER2013's JPEGs")
        paths = sorted(pathlib.Path(data, "test").glob("*/PublicTest_*"))[::17][:count]
        return np.stack([np.asarray(Image.open(p).convert("L")) for p in paths])
    y, x = np.mgrid[0:48, 0:48]
    return np.stack([((x * (3 + k % 7) + y * (5 + k % 11) + 13 * k) % 251).astype(np.uint8) for k in range(count)])


@needs_cli
@pytest.mark.parametrize("model", ["accurate", "fast"])
def test_onnx_runtime_gives_the_engines_probabilities(tmp_path, model):
    path = tmp_path / f"{model}.onnx"
    subprocess.run([os.environ["FERRITE_BIN"], "export", "--model", model, "--format", "onnx",
                    "--out", str(path)], check=True, capture_output=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape) for i in session.get_inputs()] == [("input", ["N", 1, 48, 48])]
    assert [(o.name, o.shape) for o in session.get_outputs()] == [("probabilities", ["N", 7])]
    metadata = session.get_modelmeta().custom_metadata_map
    assert json.loads(metadata["labels"]) == ferrite.LABELS
    assert json.loads(metadata["card"])["arch"]["name"] == {"accurate": "wide", "fast": "fast-deep"}[model]

    crops = faces()
    (theirs,) = session.run(None, {"input": (crops.astype(np.float32) / 255.0)[:, None]})
    ours = ferrite.Predictor(model=model).classify_faces(crops)
    assert theirs.shape == ours.shape == (len(crops), 7)
    assert np.abs(theirs - ours).max() <= 1e-4
    assert (theirs.argmax(1) == ours.argmax(1)).all()


@needs_cli
def test_a_folder_that_is_not_a_model_is_refused_by_name(tmp_path):
    out = subprocess.run([os.environ["FERRITE_BIN"], "export", "--model", str(tmp_path / "nothing"),
                          "--out", str(tmp_path / "x.onnx")], capture_output=True, text=True)
    assert out.returncode != 0 and "nothing" in out.stderr
    assert not (tmp_path / "x.onnx").exists()


@needs_cli
def test_opencv_dnn_reads_the_file_as_readme_shows(tmp_path):
    cv2 = pytest.importorskip("cv2", reason="needs opencv-python-headless (.ci/run installs it)")
    path = tmp_path / "fast.onnx"
    subprocess.run([os.environ["FERRITE_BIN"], "export", "--model", "fast", "--out", str(path)],
                   check=True, capture_output=True)
    net = cv2.dnn.readNetFromONNX(str(path))
    crops = faces(8)
    blob = cv2.dnn.blobFromImages(list(crops), scalefactor=1 / 255.0, size=(48, 48))
    net.setInput(blob)
    probabilities = net.forward()
    ours = ferrite.Predictor(model="fast").classify_faces(crops)
    assert np.abs(probabilities - ours).max() <= 1e-4


def drawn_dataset(root):
    """A Kaggle-layout folder of drawn faces, four per class in train/ and test/."""
    Image = pytest.importorskip("PIL.Image", reason="needs Pillow to write the drawn faces")
    y, x = np.mgrid[0:48, 0:48]
    for split, prefix in [("train", "Training_"), ("test", "PublicTest_")]:
        for c, label in enumerate(ferrite.LABELS):
            folder = root / split / label
            folder.mkdir(parents=True)
            for k in range(4):
                face = ((x * (c + 1) + y * (k + 2) + 17 * c) % 251).astype(np.uint8)
                Image.fromarray(face).save(folder / f"{prefix}{k}.png")
    return root


@needs_cli
def test_a_model_trained_on_crops_exports_its_window(tmp_path):
    data = drawn_dataset(tmp_path / "data")
    model = tmp_path / "crops"
    subprocess.run([os.environ["FERRITE_BIN"], "train", "--arch", "fast", "--crop", "40",
                    "--data", str(data), "--out", str(model), "--epochs", "1",
                    "--batch-size", "8"], check=True, capture_output=True)
    path = tmp_path / "crops.onnx"
    subprocess.run([os.environ["FERRITE_BIN"], "export", "--model", str(model), "--out", str(path)],
                   check=True, capture_output=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape) for i in session.get_inputs()] == [("input", ["N", 1, 40, 40])]
    assert "centre 40x40 window" in session.get_modelmeta().custom_metadata_map["preprocessing"]

    crops = faces(50)
    window = crops[:, 4:44, 4:44]
    (theirs,) = session.run(None, {"input": (window.astype(np.float32) / 255.0)[:, None]})
    ours = ferrite.Predictor(model=str(model)).classify_faces(crops)
    assert np.abs(theirs - ours).max() <= 1e-4
    ten = ferrite.Predictor(model=str(model), tta="crops").classify_faces(crops)
    assert np.abs(ten.sum(1) - 1).max() < 1e-5 and np.abs(ten - ours).max() > 1e-6
    with pytest.raises(ValueError, match="crops"):
        ferrite.Predictor(model=str(model), tta="ten")
