"""Scores a folder of images on Spark with `predict_batch_udf` and writes Parquet.

    python examples/spark_score.py FOLDER --out DIR [--model fast] [--master local[2]]

Each Spark Python worker loads the model once (`make_predict_fn`) and scores the paths of
its partition in batches through `ferrite.ray.EmotionPredictor`, which is a plain callable
and needs no Ray here. The `emotion` column is a struct: label (the largest face's), confidence,
faces (the CLI's JSON) and error. On a cluster, give `--master` (or run it with spark-submit)
and keep the images at the same path on every worker.
"""

import argparse
import os
import pathlib
import sys

from pyspark.ml.functions import predict_batch_udf
from pyspark.sql import SparkSession
from pyspark.sql.types import FloatType, StringType, StructField, StructType

EMOTION = StructType([
    StructField("label", StringType()),
    StructField("confidence", FloatType()),
    StructField("faces", StringType()),
    StructField("error", StringType()),
])


def emotion_udf(model="accurate", batch_size=128):
    """A Spark column function from a column of image paths to the `EMOTION` struct."""

    def make_predict_fn():
        from ferrite.ray import EmotionPredictor

        scorer = EmotionPredictor(model=model)

        def predict(paths):
            out = scorer({"path": paths})
            return {name: out[name] for name in EMOTION.fieldNames()}

        return predict

    return predict_batch_udf(make_predict_fn, return_type=EMOTION, batch_size=batch_size)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=pathlib.Path)
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", default="accurate")
    parser.add_argument("--master", default="local[*]")
    args = parser.parse_args()

    # Local workers run this interpreter, the one with ferrite installed (a cluster's own
    # setting wins).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = SparkSession.builder.master(args.master).appName("ferrite").getOrCreate()
    paths = [(str(p.resolve()),) for p in sorted(args.folder.rglob("*")) if p.is_file()]
    images = spark.createDataFrame(paths, ["path"])
    scored = images.withColumn("emotion", emotion_udf(args.model)("path"))
    scored.select("path", "emotion.*").write.mode("overwrite").parquet(args.out)
    print(f"{len(paths)} images scored into {args.out}")
    spark.stop()


if __name__ == "__main__":
    main()
