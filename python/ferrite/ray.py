"""Scoring at scale on Ray Data: images with `EmotionPredictor`, videos with `VideoEmotions`.

    >>> import ray
    >>> from ferrite.ray import EmotionPredictor
    >>> ds = ray.data.from_items([{"path": p} for p in paths])
    >>> scored = ds.map_batches(EmotionPredictor, compute=ray.data.ActorPoolStrategy(size=2), num_cpus=1)
    >>> scored.write_parquet("scores/")

The model is loaded once per actor; each actor's Rust threads match the CPUs Ray gave it.
Nothing here needs Ray to be imported: both classes are plain callables, so they also run
on a pandas DataFrame or a dict of numpy arrays outside Ray.
"""

import json
import math
import os

from ._ferrite import FerriteError, Predictor, analyze_video

__all__ = ["EmotionPredictor", "VideoEmotions", "INPUT_COLUMNS"]

#: The columns an image can come from, in the order they are looked for: decoded uint8 arrays
#: (what `ray.data.read_images` gives), encoded bytes (JPEG, PNG, ...: what
#: `ray.data.read_binary_files` gives), or file paths. The first is used, so a `path` column
#: that Ray adds beside the pixels (`include_paths=True`) is kept, not read again.
INPUT_COLUMNS = ("image", "bytes", "path")


def _use_assigned_cpus(threads):
    """Sizes the Rust thread pool of this process before its first use: `threads`, or the
    CPUs Ray assigned to this actor, or (outside Ray) all cores."""
    if threads is None and "RAYON_NUM_THREADS" not in os.environ:
        try:
            import ray

            if ray.is_initialized():
                cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
                if cpus:
                    threads = max(1, math.floor(cpus))
        except ImportError:
            pass
    if threads is not None:
        if int(threads) < 1:
            raise ValueError(f"threads is at least 1, not {threads}")
        os.environ["RAYON_NUM_THREADS"] = str(int(threads))


def _largest(faces):
    return max(faces, key=lambda f: f["box"][2] * f["box"][3], default=None)


class EmotionPredictor:
    """A callable class for `ray.data.Dataset.map_batches`: reads every face in each row's
    image and adds the columns `label` (the largest face's label, or None when no face is
    found or the image cannot be read), `confidence` (its probability, or None), `faces` (all
    faces as `ferrite predict --format json` gives them, a JSON string: `json.loads` it) and
    `error` (None, or the CLI's message naming the file).

    The image comes from `column`, or the first of `image` (Ray's `read_images` column),
    `bytes` (`read_binary_files`') and `path` that the batch has. Batches may be dicts of numpy arrays (Ray's
    default) or pandas DataFrames; the answer has the same kind. `model`, `tta` and
    `min_face` are `ferrite.Predictor`'s; `threads` sizes Rust's thread pool (default: the
    CPUs Ray gave the actor, so give it `num_cpus=` in `map_batches`).
    """

    def __init__(self, model="accurate", tta=False, min_face=40, column=None, threads=None):
        _use_assigned_cpus(threads)
        self.column = column
        self.predictor = Predictor(model=model, tta=tta, min_face=min_face)

    def _input_column(self, batch):
        if self.column is not None:
            if self.column not in batch:
                raise KeyError(f"the batch has no column {self.column!r} (it has {list(batch)})")
            return self.column
        for name in INPUT_COLUMNS:
            if name in batch:
                return name
        raise KeyError(f"a batch needs one of the columns {list(INPUT_COLUMNS)} (it has {list(batch)})")

    def __call__(self, batch):
        column = self._input_column(batch)
        images = list(batch[column])
        answers = self.predictor.predict_batch(images, return_errors=True)
        labels, confidences, faces, errors = [], [], [], []
        for answer in answers:
            if isinstance(answer, FerriteError):
                labels.append(None)
                confidences.append(None)
                faces.append(None)
                errors.append(str(answer))
                continue
            largest = _largest(answer)
            labels.append(None if largest is None else largest["label"])
            confidences.append(None if largest is None else largest["confidence"])
            faces.append(json.dumps(answer))
            errors.append(None)
        return _with_columns(batch, {"label": labels, "confidence": confidences, "faces": faces, "error": errors})


class VideoEmotions:
    """A callable class for `ray.data.Dataset.flat_map` over rows with a `path` to a video:
    one row per face per analysed frame, with the columns of `ferrite video --format csv`
    (`file`, `frame`, `time_s`, `track`, `x`, ..., `smoothed_confidence`) and `error` (None).
    A video that cannot be read gives one row with its `file` and the error, the other
    columns None; one that stops early gives its frames, then that row.

    `fps` samples that many frames a second (default: every frame); the other arguments are
    `ferrite.analyze_video`'s.
    """

    COLUMNS = ["file", "frame", "time_s", "track", "x", "y", "width", "height", "label",
               "confidence", "angry", "disgust", "fear", "happy", "neutral", "sad", "surprise",
               "smoothed_label", "smoothed_confidence"]

    def __init__(self, model="accurate", fps=None, detect_every=5, smoothing=0.3, min_face=40,
                 tta=False, threads=None):
        _use_assigned_cpus(threads)
        self.model = model
        self.settings = dict(fps=fps, detect_every=detect_every, smoothing=smoothing,
                             min_face=min_face, tta=tta)

    def __call__(self, row):
        path = os.fspath(row["path"])
        rows, error = analyze_video(path, model=self.model, partial=True, **self.settings)
        for r in rows:
            r["error"] = None
            yield r
        if error is not None:
            failed = dict.fromkeys(self.COLUMNS)
            failed["file"] = path
            failed["error"] = error
            yield failed


def _with_columns(batch, columns):
    """The batch with these columns added (or replaced), of the batch's own kind."""
    if hasattr(batch, "assign"):  # a pandas DataFrame
        return batch.assign(**columns)
    import numpy as np

    out = dict(batch)
    for name, values in columns.items():
        out[name] = np.array(values, dtype=object)
    return out
