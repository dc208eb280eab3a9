"""PyTorch side of the training-speed benchmark (bench/train/run.sh).

Same models, batch sizes, optimizer (AdamW lr 1e-3, wd 0.01) and input shapes as models.exp;
8 pre-generated random batches used in turn; 20 warm-up steps, then STEPS timed steps.
Usage: `torch_train.py MODEL THREADS STEPS [DEVICE]` (DEVICE `cpu`, the default, or `cuda`).
Prints one line: `<model> <threads> <steps/s>`.
"""

import sys
import time

import torch
from torch import nn

model_name, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
device = torch.device(sys.argv[4] if len(sys.argv) > 4 else "cpu")
torch.set_num_threads(threads)
torch.manual_seed(0)

if model_name == "mlp":
    model, batch = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)), 128
elif model_name == "tiny":
    model, batch = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10)), 64
elif model_name == "cnn":
    model = nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )
    batch = 64
else:
    model = nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )
    batch = 64

model = model.to(device)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
loss_fn = nn.CrossEntropyLoss()
xs = [torch.randn(batch, 784).to(device) for _ in range(8)]
ys = [torch.randint(0, 10, (batch,)).to(device) for _ in range(8)]


def sync():
    if device.type == "cuda":
        torch.cuda.synchronize()


def step(i):
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(xs[i % 8]), ys[i % 8])
    loss.backward()
    opt.step()


for i in range(20):
    step(i)
sync()
t = time.perf_counter()
for i in range(steps):
    step(i)
sync()
print(model_name, threads, steps / (time.perf_counter() - t))
