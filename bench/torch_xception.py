"""PyTorch reference for bench/train.ts: the same network and training step, timed.

Xception (lib/models/xception.ts: Keras layer topology, channel widths scaled by the width
multiplier exactly as lib/models/width.ts scaleChannels) under the study's head
(lib/models/classifier.ts: global average pool -> Dense(units, relu, L2) -> Dropout(0.5) ->
Dense(classes, softmax)), categorical cross-entropy, SGD with momentum, batch norm as Keras
(epsilon 1e-3, moving-average momentum 0.99). One training step per batch; images/s is the batch
size over the median step time after warm-up steps; images per CPU-second is the images of the
steps after warm-up over their process CPU time (the fair figure on a loaded machine).

Prints one JSON line: {"images_per_s": ..., "images_per_cpu_s": ..., "ms_per_step": ...,
"threads": ..., "torch": ...}. The reference of bench/train.ts (teaching size) and of
bench/fullsize.ts (--input 299 --width 1: full Xception, every block trains).

  /usr/bin/python3 bench/torch_xception.py --input 96 --width 0.25 --batch 16 --threads 1
"""
import argparse
import json
import resource
import statistics
import time

import torch
from torch import nn


def scale(c, width):
    return max(8, int(round(c * width / 8)) * 8)


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class SepConv(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(
            nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
            nn.Conv2d(cin, cout, 1, bias=False),
        )


class Block(nn.Module):
    """A downsampling block: [relu] sepconv bn relu sepconv bn maxpool + 1x1/2 projection."""

    def __init__(self, cin, cmid, cout, relu_first):
        super().__init__()
        layers = [nn.ReLU()] if relu_first else []
        layers += [SepConv(cin, cmid), bn(cmid), nn.ReLU(), SepConv(cmid, cout), bn(cout)]
        layers += [nn.MaxPool2d(3, 2, padding=1)]
        self.body = nn.Sequential(*layers)
        self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False), bn(cout))

    def forward(self, x):
        return self.body(x) + self.skip(x)


class Middle(nn.Module):
    def __init__(self, c):
        super().__init__()
        layers = []
        for _ in range(3):
            layers += [nn.ReLU(), SepConv(c, c), bn(c)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x) + x


def xception_classifier(width, classes, units):
    ch = lambda c: scale(c, width)
    return nn.Sequential(
        nn.Conv2d(3, ch(32), 3, stride=2, bias=False), bn(ch(32)), nn.ReLU(),
        nn.Conv2d(ch(32), ch(64), 3, bias=False), bn(ch(64)), nn.ReLU(),
        Block(ch(64), ch(128), ch(128), relu_first=False),
        Block(ch(128), ch(256), ch(256), relu_first=True),
        Block(ch(256), ch(728), ch(728), relu_first=True),
        *[Middle(ch(728)) for _ in range(8)],
        Block(ch(728), ch(728), ch(1024), relu_first=True),
        SepConv(ch(1024), ch(1536)), bn(ch(1536)), nn.ReLU(),
        SepConv(ch(1536), ch(2048)), bn(ch(2048)), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(ch(2048), units), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(units, classes),
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--input", type=int, default=96)
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--units", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--momentum", type=float, default=0.9)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = xception_classifier(a.width, a.classes, a.units)
    model.train()
    fc1 = model[-4]
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    x = torch.rand(a.batch, 3, a.input, a.input) * 2 - 1
    y = torch.randint(0, a.classes, (a.batch,))
    loss_fn = nn.CrossEntropyLoss()
    times = []
    cpu = 0.0
    for step in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        c0 = time.process_time()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y) + 0.0075 * fc1.weight.pow(2).sum()
        loss.backward()
        opt.step()
        loss.item()
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)
            cpu += time.process_time() - c0
    ms = statistics.median(times) * 1000
    print(json.dumps({
        "images_per_s": a.batch * 1000 / ms,
        "images_per_cpu_s": a.batch * len(times) / cpu if cpu > 0 else None,
        "ms_per_step": ms,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
