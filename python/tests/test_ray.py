"""Scoring on a local Ray cluster (two CPUs, two actors) gives the CLI's results for the same
files: from paths, from Ray's own image column, and with bad files kept as errors. Videos
through `VideoEmotions`. Needs Ray Data and Pillow (.ci/run installs them) and, for the
comparison, FERRITE_BIN; uses the real FER2013 faces when FER2013_DIR is set."""

import shutil
import subprocess

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="needs ray[data] (.ci/run installs it)")
pytest.importorskip("PIL", reason="needs Pillow for ray.data.read_images (.ci/run installs it)")

import ferrite  # noqa: E402
from reference import assert_rows_match_cli, cli_faces, needs_cli  # noqa: E402
from ferrite.ray import EmotionPredictor, VideoEmotions  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@needs_cli
def test_two_actors_on_paths_give_the_clis_results(cluster, photos):
    paths = sorted(str(p) for p in photos.iterdir())
    scored = ray.data.from_items([{"path": p} for p in paths]).map_batches(
        EmotionPredictor, fn_constructor_kwargs={"model": "fast"}, compute=ray.data.ActorPoolStrategy(size=2), num_cpus=1, batch_size=32,
    )
    assert_rows_match_cli(scored.take_all(), cli_faces(photos, "fast"))


@needs_cli
def test_read_images_column_and_pandas_batches_give_the_clis_results(cluster, photos):
    # Reading is a Ray task that needs a CPU of its own: two actors of one CPU each would hold
    # both and wait for it forever.
    images = ray.data.read_images(str(photos), mode="L", include_paths=True)
    scored = images.map_batches(EmotionPredictor, compute=ray.data.ActorPoolStrategy(size=2), num_cpus=0.5, batch_size=50, batch_format="pandas")
    assert_rows_match_cli(scored.drop_columns(["image"]).take_all(), cli_faces(photos, "accurate"))


def test_bad_files_are_rows_with_their_error(cluster, photos, tmp_path):
    notes = tmp_path / "notes.jpg"
    notes.write_text("not an image")
    rows = [{"path": str(next(photos.iterdir()))}, {"path": str(notes)}, {"path": str(tmp_path / "gone.png")}]
    scored = ray.data.from_items(rows).map_batches(EmotionPredictor, compute=ray.data.ActorPoolStrategy(size=1), num_cpus=1).take_all()
    good, bad, gone = scored
    assert good["error"] is None and good["label"] in ferrite.LABELS
    assert bad["label"] is None and bad["faces"] is None and "notes.jpg: not an image" in bad["error"]
    assert gone["label"] is None and "gone.png" in gone["error"]


def test_batches_outside_ray_and_bad_columns(photos):
    predictor = EmotionPredictor(model="fast", threads=1)
    batch = {"bytes": np.array([p.read_bytes() for p in sorted(photos.iterdir())[:3]], dtype=object)}
    out = predictor(batch)
    assert set(out) == {"bytes", "label", "confidence", "faces", "error"}
    assert all(label in ferrite.LABELS for label in out["label"])
    with pytest.raises(KeyError, match="path"):
        predictor({"url": np.array(["x"])})
    with pytest.raises(ValueError, match="threads"):
        EmotionPredictor(threads=0)


def test_videos_give_rows_or_their_error(cluster, tmp_path):
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("needs ffmpeg to make the test video (.ci/run installs it)")
    from PIL import Image

    for k in range(10):
        Image.fromarray(((np.mgrid[0:120, 0:160][1] + 3 * k) % 200).astype(np.uint8)).save(tmp_path / f"f{k:02d}.png")
    clip = tmp_path / "clip.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-framerate", "10", "-i", str(tmp_path / "f%02d.png"),
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)], check=True)
    videos = ray.data.from_items([{"path": str(clip)}, {"path": str(tmp_path / "gone.mp4")}])
    rows = videos.flat_map(VideoEmotions, fn_constructor_kwargs={"model": "fast"}, compute=ray.data.ActorPoolStrategy(size=1), num_cpus=1).take_all()
    assert len(rows) == 1  # no faces in the clip; one error row for the missing file
    assert rows[0]["file"].endswith("gone.mp4") and "gone.mp4" in rows[0]["error"]
    assert set(rows[0]) == set(VideoEmotions.COLUMNS) | {"error"}
