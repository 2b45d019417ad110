"""PyTorch reference for `ferrite bench`: the same reference CNN, batch sizes and measurements.

Not part of the product; used to state Ferrite's engine speed relative to PyTorch on the same
machine. Run:  python bench/pytorch_reference.py [--arch reference|wide] [--seconds 10] [--threads 2]
Prints train img/s (batch 64, Adam), inference img/s (batch 256), batch-1 latency and peak RSS.
"""
import argparse
import resource
import time

import torch
from torch import nn


CHANNELS = {"reference": (32, 64, 128), "wide": (64, 128, 256)}


def cnn(channels: tuple) -> nn.Module:
    """Ferrite's presets: 3 blocks of [conv3x3+BN+ReLU]x2 + maxpool + dropout, FC 256, FC 7."""
    layers, cin = [], 1
    for cout in channels:
        for _ in range(2):
            layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
            cin = cout
        layers += [nn.MaxPool2d(2), nn.Dropout(0.25)]
    layers += [nn.Flatten(), nn.Linear(cin * 6 * 6, 256, bias=False), nn.BatchNorm1d(256), nn.ReLU(),
               nn.Dropout(0.5), nn.Linear(256, 7)]
    return nn.Sequential(*layers)


def rate(budget: float, step, batch: int) -> float:
    step()
    start, images = time.perf_counter(), 0
    while time.perf_counter() - start < budget:
        step()
        images += batch
    return images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--arch", choices=sorted(CHANNELS), default="reference")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = cnn(CHANNELS[args.arch])
    optim = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    x = torch.rand(64, 1, 48, 48)
    y = torch.arange(64) % 7

    def train_step():
        optim.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        optim.step()

    net.train()
    train = rate(args.seconds, train_step, 64)
    net.eval()
    xb, x1 = torch.rand(256, 1, 48, 48), torch.rand(1, 1, 48, 48)
    with torch.inference_mode():
        infer = rate(args.seconds, lambda: net(xb), 256)
        single = rate(min(args.seconds, 3.0), lambda: net(x1), 1)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pytorch {torch.__version__} {args.arch} threads {args.threads}: train {train:.1f} img/s, "
          f"infer {infer:.1f} img/s (batch 256), batch-1 {1000 / single:.2f} ms, peak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
