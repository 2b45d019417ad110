"""Checks the tests of the Ray and Spark jobs share: the CLI's answers for a folder, and
scored rows compared with them."""

import json
import os
import pathlib
import subprocess

import pytest

import ferrite

needs_cli = pytest.mark.skipif(
    "FERRITE_BIN" not in os.environ, reason="needs FERRITE_BIN, the ferrite binary (.ci/run sets it)"
)


def cli_faces(folder, model):
    """`ferrite predict FOLDER --format json` by file name."""
    out = subprocess.run(
        [os.environ["FERRITE_BIN"], "predict", str(folder), "--format", "json", "--model", model],
        check=True, capture_output=True, text=True,
    ).stdout
    return {pathlib.Path(r["file"]).name: r for r in json.loads(out)}


def assert_same_faces(ours, theirs):
    assert [f["box"] for f in ours] == [f["box"] for f in theirs]
    for a, b in zip(ours, theirs):
        assert a["label"] == b["label"]
        for label in ferrite.LABELS:
            assert abs(a["probabilities"][label] - b["probabilities"][label]) < 1e-4


def assert_rows_match_cli(rows, cli):
    """Rows of `EmotionPredictor` (path, label, confidence, faces, error) against the CLI's."""
    assert len(rows) == len(cli)
    for row in rows:
        theirs = cli[pathlib.Path(row["path"]).name]
        assert row["error"] is None
        faces = json.loads(row["faces"])
        assert_same_faces(faces, theirs["faces"])
        largest = max(faces, key=lambda f: f["box"][2] * f["box"][3])
        assert row["label"] == largest["label"]
        assert row["confidence"] == pytest.approx(largest["confidence"], abs=1e-6)
