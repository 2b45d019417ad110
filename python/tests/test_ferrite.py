"""The Python package end to end: inputs of every kind, batches, face crops, both shipped
models, videos, bad input; and, where the `ferrite` binary is given (FERRITE_BIN, as .ci/run
does), the same results as the CLI on the same files."""

import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

import ferrite

FACE_KEYS = {"box", "label", "confidence", "probabilities"}


def drawn_face(seed: int) -> np.ndarray:
    """A 48x48 gray image (classified whole: no face is found in a crop this small)."""
    y, x = np.mgrid[0:48, 0:48]
    return ((x * (3 + seed) + y * (5 + 2 * seed)) % 251).astype(np.uint8)


def write_pgm(path: pathlib.Path, image: np.ndarray) -> pathlib.Path:
    h, w = image.shape
    path.write_bytes(f"P5 {w} {h} 255\n".encode() + image.tobytes())
    return path


@pytest.fixture(scope="module")
def predictor():
    return ferrite.Predictor()


def test_three_lines_give_labelled_faces(tmp_path, predictor):
    photo = write_pgm(tmp_path / "face.pgm", drawn_face(0))
    faces = predictor.predict(photo)
    assert len(faces) == 1
    face = faces[0]
    assert set(face) == FACE_KEYS
    assert face["box"] == [0, 0, 48, 48]
    assert face["label"] in ferrite.LABELS
    assert list(face["probabilities"]) == ferrite.LABELS
    assert abs(sum(face["probabilities"].values()) - 1) < 1e-4
    assert face["confidence"] == max(face["probabilities"].values())
    assert predictor.model == "accurate"


def test_paths_bytes_and_arrays_agree(tmp_path, predictor):
    image = drawn_face(1)
    path = write_pgm(tmp_path / "face.pgm", image)
    rgb = np.repeat(image[:, :, None], 3, axis=2)
    answers = [
        predictor.predict(str(path)),
        predictor.predict(path),
        predictor.predict(path.read_bytes()),
        predictor.predict(image),
        predictor.predict(rgb),
        predictor.predict(np.asfortranarray(image)),  # not C-contiguous
    ]
    for other in answers[1:]:
        assert other[0]["label"] == answers[0][0]["label"]
        for label in ferrite.LABELS:
            assert abs(other[0]["probabilities"][label] - answers[0][0]["probabilities"][label]) < 1e-5


def test_batches_and_face_crops_match_single_predictions(predictor):
    images = [drawn_face(k) for k in range(5)]
    batch = predictor.predict_batch(images)
    assert len(batch) == 5
    crops = predictor.classify_faces(np.stack(images))
    assert crops.shape == (5, 7) and crops.dtype == np.float32
    for image, faces, row in zip(images, batch, crops):
        single = predictor.predict(image)[0]["probabilities"]
        for k, label in enumerate(ferrite.LABELS):
            assert abs(faces[0]["probabilities"][label] - single[label]) < 1e-4
            assert abs(row[k] - single[label]) < 1e-4


def test_both_shipped_models_and_folders(tmp_path):
    fast = ferrite.Predictor(model="fast")
    accurate = ferrite.Predictor(model="accurate", tta=True)
    assert fast.model == "fast"
    image = drawn_face(2)
    assert fast.predict(image)[0]["probabilities"] != accurate.predict(image)[0]["probabilities"]
    with pytest.raises(ferrite.FerriteError, match="no-such-model"):
        ferrite.Predictor(model=str(tmp_path / "no-such-model"))


def test_bad_input_raises_with_the_clis_messages(tmp_path, predictor):
    with pytest.raises(ferrite.FerriteError, match="missing.jpg"):
        predictor.predict(tmp_path / "missing.jpg")
    notes = tmp_path / "notes.jpg"
    notes.write_text("not an image")
    with pytest.raises(ferrite.FerriteError, match="notes.jpg: not an image"):
        predictor.predict(notes)
    with pytest.raises(ferrite.FerriteError, match="not an image"):
        predictor.predict(b"neither")
    with pytest.raises(ferrite.FerriteError, match="missing.png"):
        predictor.predict_batch([drawn_face(0), tmp_path / "missing.png"])
    with pytest.raises(ValueError, match="shape"):
        predictor.predict(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(TypeError, match="uint8 numpy array"):
        predictor.predict(42)
    with pytest.raises(ValueError, match="Nx48x48"):
        predictor.classify_faces(np.zeros((2, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="min_face"):
        ferrite.Predictor(min_face=2)


def test_videos_give_their_rows(tmp_path):
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("needs ffmpeg to make the test video (.ci/run installs it)")
    for k in range(10):
        background = ((np.mgrid[0:120, 0:160][1] + 3 * k) % 200).astype(np.uint8)
        write_pgm(tmp_path / f"frame{k:02d}.pgm", background)
    clip = tmp_path / "clip.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-framerate", "10", "-i", str(tmp_path / "frame%02d.pgm"),
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
    )
    rows = ferrite.analyze_video(clip, model="fast", as_dataframe=False)
    assert rows == []  # no faces in these frames
    with pytest.raises(ferrite.FerriteError, match="missing.mp4"):
        ferrite.analyze_video(tmp_path / "missing.mp4")
    with pytest.raises(ferrite.FerriteError, match="fps"):
        ferrite.analyze_video(clip, fps=0)


@pytest.mark.skipif("FERRITE_BIN" not in os.environ, reason="needs FERRITE_BIN, the ferrite binary (.ci/run sets it)")
def test_results_equal_the_clis(tmp_path, predictor):
    folder = tmp_path / "photos"
    folder.mkdir()
    paths = [write_pgm(folder / f"face{k}.pgm", drawn_face(k)) for k in range(4)]
    data = os.environ.get("FER2013_DIR")
    if data:
        real = sorted(pathlib.Path(data, "test", "happy").glob("PublicTest_*"))[:4]
        for k, source in enumerate(real):
            paths.append(folder / f"real{k}.jpg")
            shutil.copy(source, paths[-1])
    out = subprocess.run(
        [os.environ["FERRITE_BIN"], "predict", str(folder), "--format", "json"],
        check=True, capture_output=True, text=True,
    ).stdout
    cli = {pathlib.Path(r["file"]).name: r["faces"] for r in json.loads(out)}
    ours = predictor.predict_batch(paths)
    assert len(cli) == len(paths)
    for path, faces in zip(paths, ours):
        theirs = cli[path.name]
        assert [f["box"] for f in faces] == [f["box"] for f in theirs]
        for a, b in zip(faces, theirs):
            assert a["label"] == b["label"]
            for label in ferrite.LABELS:
                assert abs(a["probabilities"][label] - b["probabilities"][label]) < 1e-4
