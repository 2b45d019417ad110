"""Type stubs of Ferrite's native module."""

from os import PathLike
from typing import Iterable, Literal, Optional, TypedDict, Union, overload

import numpy as np
import numpy.typing as npt

LABELS: list[str]
__version__: str

class FerriteError(ValueError):
    """An input Ferrite cannot read, a setting it refuses, or a model it cannot load."""

class Face(TypedDict):
    box: list[int]
    label: str
    confidence: float
    probabilities: dict[str, float]

ImageInput = Union[str, PathLike[str], bytes, npt.NDArray[np.uint8]]

class Predictor:
    """Finds every face in images and reads its emotion."""

    def __init__(self, model: str = "accurate", tta: bool | str = False, min_face: int = 40) -> None: ...
    @property
    def model(self) -> str: ...
    def predict(self, image: ImageInput) -> list[Face]: ...
    @overload
    def predict_batch(
        self, images: Iterable[ImageInput], return_errors: Literal[False] = False
    ) -> list[list[Face]]: ...
    @overload
    def predict_batch(
        self, images: Iterable[ImageInput], return_errors: Literal[True]
    ) -> list[Union[list[Face], FerriteError]]: ...
    def classify_faces(self, faces: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]: ...

def analyze_video(
    path: Union[str, PathLike[str]],
    fps: Optional[float] = None,
    model: str = "accurate",
    detect_every: int = 5,
    smoothing: float = 0.3,
    min_face: int = 40,
    tta: bool | str = False,
    partial: bool = False,
) -> Union[
    list[dict[str, Union[str, int, float]]],
    tuple[list[dict[str, Union[str, int, float]]], Optional[str]],
]: ...
