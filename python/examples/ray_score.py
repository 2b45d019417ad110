"""Scores folders of images and video files on Ray and writes the results as Parquet.

    python examples/ray_score.py INPUT... --out DIR [--model fast] [--actors 2] [--fps 5]
                                 [--address ADDRESS]

INPUT is a folder (its images, searched recursively), an image, or a video file. Images go
through `ferrite.ray.EmotionPredictor` (one row per image: path, label, confidence, faces as
JSON, error) into DIR/images/; videos through `ferrite.ray.VideoEmotions` (one row per face
per analysed frame, the columns of `ferrite video --format csv`) into DIR/videos/.

Without --address, Ray starts on this machine; `--address auto` joins the cluster this
machine is part of (`ray start --head` on one machine, `ray start --address HEAD:6379` on
the others), and then every file must be readable at the same path on every node.
"""

import argparse
import os
import pathlib

import ray

from ferrite.ray import EmotionPredictor, VideoEmotions

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi"}


def inputs(arguments):
    """The image and video files named, folders searched recursively."""
    images, videos = [], []
    for argument in map(pathlib.Path, arguments):
        files = sorted(p for p in argument.rglob("*") if p.is_file()) if argument.is_dir() else [argument]
        for path in files:
            suffix = path.suffix.lower()
            if suffix in VIDEO_SUFFIXES:
                videos.append(str(path.resolve()))
            elif suffix in IMAGE_SUFFIXES or not argument.is_dir():
                images.append(str(path.resolve()))  # a file named directly is always tried
    return images, videos


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--out", required=True, type=pathlib.Path)
    parser.add_argument("--model", default="accurate")
    parser.add_argument("--actors", type=int, default=2, help="model replicas (actors) at once")
    parser.add_argument("--fps", type=float, default=None, help="video frames analysed a second")
    parser.add_argument("--address", default=None, help="a Ray cluster to join (auto: this machine's)")
    args = parser.parse_args()

    images, videos = inputs(args.inputs)
    ray.init(address=args.address)
    # The actors share the cluster's CPUs (each sizes its Rust threads to its share); writing
    # Parquet is light, and asks for no CPU so that it never waits for an actor's.
    per_actor = ray.cluster_resources().get("CPU", os.cpu_count()) / args.actors
    write = {"ray_remote_args": {"num_cpus": 0}}
    if images:
        ray.data.from_items([{"path": p} for p in images]).map_batches(
            EmotionPredictor, fn_constructor_kwargs={"model": args.model},
            compute=ray.data.ActorPoolStrategy(size=args.actors), num_cpus=per_actor, batch_size=128,
        ).write_parquet(str(args.out / "images"), **write)
    if videos:
        ray.data.from_items([{"path": p} for p in videos], override_num_blocks=len(videos)).flat_map(
            VideoEmotions, fn_constructor_kwargs={"model": args.model, "fps": args.fps},
            compute=ray.data.ActorPoolStrategy(size=args.actors), num_cpus=per_actor,
        ).write_parquet(str(args.out / "videos"), **write)
    print(f"{len(images)} images and {len(videos)} videos scored into {args.out}")


if __name__ == "__main__":
    main()
