"""Reference for bench/fullsize.ts: full Xception (Chollet 2017, as Keras builds it, no top) plus
the study's head, one training step per iteration (forward, backward, SGD with momentum) at
299 x 299, in PyTorch on the CPU with a fixed number of threads. Prints images/s.

Usage: /usr/bin/python3 bench/torch-xception.py [--batch 4] [--steps 3] [--threads 1]
"""
import argparse
import time

import torch
import torch.nn as nn


def sep(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout, eps=1e-3),
    )


class Down(nn.Module):
    """Entry/exit-flow block: two separable convs, max-pool, 1x1 strided residual."""

    def __init__(self, cin, c1, c2, first_relu=True):
        super().__init__()
        self.body = nn.Sequential(
            *( [nn.ReLU()] if first_relu else [] ),
            sep(cin, c1), nn.ReLU(), sep(c1, c2),
            nn.MaxPool2d(3, 2, padding=1),
        )
        self.skip = nn.Sequential(nn.Conv2d(cin, c2, 1, stride=2, bias=False), nn.BatchNorm2d(c2, eps=1e-3))

    def forward(self, x):
        return self.body(x) + self.skip(x)


class Middle(nn.Module):
    def __init__(self, c=728):
        super().__init__()
        self.body = nn.Sequential(*[m for _ in range(3) for m in (nn.ReLU(), sep(c, c))])

    def forward(self, x):
        return self.body(x) + x


def xception(classes=12):
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, stride=2, bias=False), nn.BatchNorm2d(32, eps=1e-3), nn.ReLU(),
        nn.Conv2d(32, 64, 3, bias=False), nn.BatchNorm2d(64, eps=1e-3), nn.ReLU(),
        Down(64, 128, 128, first_relu=False), Down(128, 256, 256), Down(256, 728, 728),
        *[Middle() for _ in range(8)],
        Down(728, 728, 1024),
        sep(1024, 1536), nn.ReLU(), sep(1536, 2048), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(2048, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, classes),
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = xception()
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    x = torch.rand(a.batch, 3, 299, 299) * 2 - 1
    y = torch.arange(a.batch) % 12
    times = []
    cpu = []
    for _ in range(a.steps + 1):
        t = time.time()
        c = time.process_time()
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        times.append(time.time() - t)
        cpu.append(time.process_time() - c)
    rest = times[1:]
    cpu_rest = sum(cpu[1:])
    print(
        f"torch {torch.__version__}, {a.threads} thread(s), full Xception 299 px, batch {a.batch}: "
        f"first step {times[0]:.1f} s, then {sum(rest) / len(rest):.1f} s/step, "
        f"{a.batch * len(rest) / sum(rest):.3f} images/s; "
        f"{a.batch * len(rest) / cpu_rest:.3f} images per CPU-second"
    )


if __name__ == "__main__":
    main()
