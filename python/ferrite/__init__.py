"""Facial emotion recognition on the CPU with Ferrite's Rust engine and its shipped models.

    >>> import ferrite
    >>> predictor = ferrite.Predictor()            # or Predictor(model="fast")
    >>> predictor.predict("photo.jpg")             # [{'box': [x, y, w, h], 'label': 'happy', ...}]

`Predictor.predict` takes a path, bytes or a uint8 numpy array (HxW gray, HxWx3 RGB);
`predict_batch` many at once; `classify_faces` an Nx48x48 array of face crops (Nx7 out).
`analyze_video` gives a video's rows, one per face per analysed frame.
"""

from ._ferrite import LABELS, FerriteError, Predictor, __version__
from ._ferrite import analyze_video as _analyze_video

__all__ = ["LABELS", "FerriteError", "Predictor", "analyze_video", "__version__"]


def analyze_video(path, fps=None, model="accurate", *, detect_every=5, smoothing=0.3,
                  min_face=40, tta=False, as_dataframe=None):
    """The emotions over time in a video: one row per face per analysed frame.

    Rows have the columns of ``ferrite video --format csv``: file, frame, time_s, track, x, y,
    width, height, label, confidence, one probability per emotion, smoothed_label,
    smoothed_confidence. ``fps`` samples that many frames a second (default: every frame).
    Returns a pandas DataFrame when pandas is installed (or ``as_dataframe=True``), else a
    list of dicts (``as_dataframe=False`` asks for the list).
    """
    import os

    rows = _analyze_video(os.fspath(path), fps, model, detect_every, smoothing, min_face, tta)
    if as_dataframe is False:
        return rows
    try:
        import pandas
    except ImportError:
        if as_dataframe:
            raise
        return rows
    columns = ["file", "frame", "time_s", "track", "x", "y", "width", "height", "label",
               "confidence", *LABELS, "smoothed_label", "smoothed_confidence"]
    return pandas.DataFrame(rows, columns=columns)
