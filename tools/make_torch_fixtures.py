"""Makes the committed PyTorch fixtures in models/pytorch/ once, with torch's own exporters (never run in CI).

Each is a small network trained for two epochs on Fashion-MNIST's 60,000 training images the way a user would write
it, exported the way a user would export it:

- view_cnn.onnx: conv-pool-conv-pool-fc with `x.view(x.size(0), -1)`, TorchScript exporter with a dynamic batch
  (Shape -> Gather -> Unsqueeze -> Concat -> Reshape).
- dynamo_cnn.onnx (+ dynamo_cnn.onnx.data): a CNN ending in AdaptiveAvgPool2d(1), the dynamo exporter (ReduceMean,
  weights in the external data file beside the model).
- residual_cnn.onnx: a ResNet-style block, `x + conv(relu(conv(x)))` (Add of two activations).
- mlp.onnx: Flatten, Linear 784 -> 64, ReLU, Linear 64 -> 10.
- normalized_cnn.onnx: the view CNN trained on transforms.Normalize((0.2860,), (0.3530,)), the normalization not in
  the model (give it with --input-mean 0.2860 --input-std 0.3530).

Usage (in a virtualenv with torch, onnx and onnxscript, not the project's .venv):
    python tools/make_torch_fixtures.py --data /usr/share/datasets/fashion-mnist --out models/pytorch
Prints each model's test top-1 in torch (on pixel / 255, normalized for normalized_cnn).
"""
import argparse
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from fmnist import locate, read_idx

MEAN, STD = 0.2860, 0.3530


class ViewCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5, padding=2)
        self.conv2 = nn.Conv2d(8, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc2(F.relu(self.fc1(x)))


class GapCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(self.pool(x), 1))


class ResidualCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, padding=1)
        self.conv_a = nn.Conv2d(16, 16, 3, padding=1)
        self.conv_b = nn.Conv2d(16, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.stem(x)), 2)
        x = F.relu(x + self.conv_b(F.relu(self.conv_a(x))))
        x = F.max_pool2d(x, 2)
        return self.fc(torch.flatten(x, 1))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)


def load(directory, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(locate(directory, f"{prefix}-images-idx3-ubyte")).astype(np.float32) / 255
    labels = read_idx(locate(directory, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
    return torch.from_numpy(images[:, None]), torch.from_numpy(labels)


def train(model, images, labels, normalize, epochs=2, seed=1):
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(epochs):
        order = torch.randperm(len(images))
        for start in range(0, len(images), 128):
            batch = order[start:start + 128]
            x = (images[batch] - MEAN) / STD if normalize else images[batch]
            optimizer.zero_grad()
            F.cross_entropy(model(x), labels[batch]).backward()
            optimizer.step()
    return model.eval()


def accuracy(model, images, labels, normalize):
    with torch.no_grad():
        x = (images - MEAN) / STD if normalize else images
        return (model(x).argmax(1) == labels).float().mean().item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--out", default="models/pytorch")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(2)
    train_x, train_y = load(args.data, "train")
    test_x, test_y = load(args.data, "test")
    example = test_x[:2]
    batch = {"input": {0: "N"}, "logits": {0: "N"}}
    fixtures = [
        ("view_cnn", ViewCNN, False, "torchscript"),
        ("dynamo_cnn", GapCNN, False, "dynamo"),
        ("residual_cnn", ResidualCNN, False, "torchscript"),
        ("mlp", MLP, False, "torchscript"),
        ("normalized_cnn", ViewCNN, True, "torchscript"),
    ]
    for name, make, normalize, exporter in fixtures:
        model = train(make(), train_x, train_y, normalize)
        path = os.path.join(args.out, name + ".onnx")
        if exporter == "dynamo":
            program = torch.onnx.export(model, (example,), dynamo=True, input_names=["input"],
                                        output_names=["logits"], dynamic_shapes={"x": {0: torch.export.Dim("N")}})
            program.save(path, external_data=True)
        else:
            torch.onnx.export(model, (example,), path, dynamo=False, input_names=["input"], output_names=["logits"],
                              dynamic_axes=batch, opset_version=13)
        print(f"{name}: torch test top-1 {100 * accuracy(model, test_x, test_y, normalize):.2f}% -> {path}")


if __name__ == "__main__":
    main()
