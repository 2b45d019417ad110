"""Type stubs of the ferrite package."""

from os import PathLike
from typing import Any, Optional, Union

from ._ferrite import LABELS as LABELS
from ._ferrite import FerriteError as FerriteError
from ._ferrite import Predictor as Predictor
from ._ferrite import __version__ as __version__

def analyze_video(
    path: Union[str, PathLike[str]],
    fps: Optional[float] = None,
    model: str = "accurate",
    *,
    detect_every: int = 5,
    smoothing: float = 0.3,
    min_face: int = 40,
    tta: bool | str = False,
    as_dataframe: Optional[bool] = None,
) -> Any: ...
