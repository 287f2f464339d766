"""Makes the committed Keras fixture models/keras/keras_cnn.onnx once, with tf2onnx (never run in CI).

A small Keras CNN (channels-last: Conv2D 8 5x5 same, max pool, Conv2D 16 5x5, max pool, Flatten, Dense 64, Dense 10)
trained two epochs on Fashion-MNIST's 60,000 training images, exported by tf2onnx with the input as NCHW
(`inputs_as_nchw`): the convolutions become NCHW, and Keras' channels-last Flatten stays a Transpose before the
Reshape, which approxrtl folds into the dense layer's weights. tf2onnx's `from_keras` does not run with Keras 3, so
the model goes through a tf.function (`from_function`), as its README suggests.

Usage (in a virtualenv with tensorflow-cpu and tf2onnx, not the project's .venv):
    python tools/make_keras_fixture.py --data /usr/share/datasets/fashion-mnist --out models/keras
Tested with TensorFlow 2.21 and tf2onnx 1.17.
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import tensorflow as tf
import tf2onnx

from fmnist import locate, read_idx


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--out", default="models/keras")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    x = read_idx(locate(args.data, "train-images-idx3-ubyte")).astype(np.float32)[:, :, :, None] / 255
    y = read_idx(locate(args.data, "train-labels-idx1-ubyte")).astype(np.int64)
    tf.keras.utils.set_random_seed(1)
    layers = tf.keras.layers
    model = tf.keras.Sequential([
        tf.keras.Input((28, 28, 1), name="input"),
        layers.Conv2D(8, 5, padding="same", activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(16, 5, activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dense(10)])
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=128, verbose=0)
    spec = (tf.TensorSpec((None, 28, 28, 1), tf.float32, name="input"),)
    function = tf.function(lambda t: model(t, training=False), input_signature=spec)
    path = os.path.join(args.out, "keras_cnn.onnx")
    tf2onnx.convert.from_function(function, input_signature=spec, opset=13, inputs_as_nchw=["input"], output_path=path)
    print(f"TensorFlow {tf.__version__}, tf2onnx {tf2onnx.__version__}: wrote {path}")


if __name__ == "__main__":
    main()
