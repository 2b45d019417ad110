"""Images/s through Ray Data with 1 and 2 `ferrite.ray.EmotionPredictor` actors against
`ferrite predict` on the same files, side by side: the figures of README's Ray section.

    python bench/ray_throughput.py [--model accurate|fast] [--images N] [--repeat R]

Uses the first N (12,000) training images of FER2013_DIR (48x48 faces: classification, not
detection, is the work; a job large enough that the actors' start-up, about a second, is a
small part of it). Each figure is the best of R
runs (3), timed from submitting the job to having every row back (`materialize`), the actors'
start included; Ray's own start (`ray.init`) is not. `ferrite predict` is timed from start to
exit (its model load included) with `--format json`. Needs the package installed with Ray Data
(`pip install ./python "ray[data]"`), FER2013_DIR, and the binary (FERRITE_BIN, default
target/release/ferrite).
"""

import argparse
import os
import pathlib
import subprocess
import time

import ray

from ferrite.ray import EmotionPredictor


def cli_seconds(binary, paths, model):
    start = time.perf_counter()
    subprocess.run([binary, "predict", *paths, "--format", "json", "--model", model],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def ray_seconds(paths, model, actors, cpus):
    ds = ray.data.from_items([{"path": p} for p in paths], override_num_blocks=8 * actors)
    start = time.perf_counter()
    out = ds.map_batches(EmotionPredictor, fn_constructor_kwargs={"model": model},
                         compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=cpus / actors, batch_size=128).materialize()
    seconds = time.perf_counter() - start
    assert out.count() == len(paths)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="accurate")
    parser.add_argument("--images", type=int, default=12000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = pathlib.Path(os.environ["FER2013_DIR"])
    paths = sorted(str(p) for p in data.glob("train/*/*.jpg"))[: args.images]
    binary = os.environ.get("FERRITE_BIN", "target/release/ferrite")
    cpus = os.cpu_count()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    print(f"{cpus} cores, {len(paths)} images, model {args.model}, best of {args.repeat}")
    cli = min(cli_seconds(binary, paths, args.model) for _ in range(args.repeat))
    print(f"ferrite predict:      {len(paths) / cli:7.0f} images/s ({cli:.2f} s)")
    for actors in (1, 2):
        seconds = min(ray_seconds(paths, args.model, actors, cpus) for _ in range(args.repeat))
        overhead = seconds / cli - 1
        print(f"Ray, {actors} actor{'s' if actors > 1 else ' '}:        {len(paths) / seconds:7.0f} images/s "
              f"({seconds:.2f} s, {overhead:+.0%} against ferrite predict)")
    ray.shutdown()


if __name__ == "__main__":
    main()
