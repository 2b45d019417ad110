"""The documented jobs run as a user would run them: `examples/ray_score.py` on a folder and
a video, `examples/spark_score.py` on a folder, each writing Parquet with the CLI's results.
Need Ray Data / PySpark (with Java) and Pillow (.ci/run installs them) and FERRITE_BIN."""

import io
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from reference import assert_rows_match_cli, cli_faces, needs_cli

pandas = pytest.importorskip("pandas", reason="needs pandas (.ci/run installs it)")
EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"


def run_example(name, *args):
    subprocess.run([sys.executable, str(EXAMPLES / name), *map(str, args)], check=True,
                   capture_output=True, timeout=600)


@needs_cli
def test_ray_example_scores_a_folder_and_a_video_into_parquet(photos, tmp_path):
    pytest.importorskip("ray", reason="needs ray[data] (.ci/run installs it)")
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg to make the test video (.ci/run installs it)")
    clip = tmp_path / "faces.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-framerate", "10", "-pattern_type", "glob",
                    "-i", str(photos / "face00*.png"), "-vf", "pad=96:96:24:24",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)], check=True)
    out = tmp_path / "scores"
    run_example("ray_score.py", photos, clip, "--out", out, "--model", "fast")
    images = pandas.read_parquet(out / "images")
    rows = images.astype(object).where(images.notna(), None).to_dict("records")
    assert_rows_match_cli(rows, cli_faces(photos, "fast"))
    videos = pandas.read_parquet(out / "videos").sort_values(["frame", "track"])
    csv = subprocess.run([os.environ["FERRITE_BIN"], "video", str(clip.resolve()), "--format", "csv",
                          "--model", "fast"], check=True, capture_output=True, text=True).stdout
    cli = pandas.read_csv(io.StringIO(csv)).sort_values(["frame", "track"])
    assert len(videos) == len(cli) > 0
    assert list(videos["label"]) == list(cli["label"])
    assert (videos["file"] == str(clip.resolve())).all() and videos["error"].isna().all()


@needs_cli
def test_spark_example_scores_a_folder_into_parquet(photos, tmp_path):
    pytest.importorskip("pyspark", reason="needs pyspark (.ci/run installs it)")
    if shutil.which("java") is None:
        pytest.skip("needs Java for Spark (.ci/run installs it)")
    out = tmp_path / "scores"
    run_example("spark_score.py", photos, "--out", out, "--model", "fast", "--master", "local[2]")
    scored = pandas.read_parquet(out)
    rows = scored.astype(object).where(scored.notna(), None).to_dict("records")
    assert_rows_match_cli(rows, cli_faces(photos, "fast"))
