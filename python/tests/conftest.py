"""The folder of faces the tests of the Ray and Spark jobs score."""

import os
import pathlib

import numpy as np
import pytest

IMAGES = 300


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    """A few hundred lossless images: real FER2013 test faces where FER2013_DIR is set, else
    drawn ones; PNG so that any decoder reads the same pixels."""
    Image = pytest.importorskip("PIL.Image", reason="needs Pillow (.ci/run installs it)")
    folder = tmp_path_factory.mktemp("photos")
    data = os.environ.get("FER2013_DIR")
    if data:
        sources = sorted(pathlib.Path(data, "test").glob("*/PublicTest_*"))[::10][:IMAGES]
        images = [np.asarray(Image.open(s).convert("L")) for s in sources]
    else:
        y, x = np.mgrid[0:48, 0:48]
        images = [((x * (3 + k % 17) + y * (5 + k % 13) + k) % 251).astype(np.uint8) for k in range(IMAGES)]
    for k, image in enumerate(images):
        Image.fromarray(image).save(folder / f"face{k:03d}.png")
    return folder
