"""Writes the ONNX backend node test cases of the pinned onnx package into a folder.

Layout per case (the same as onnx's own backend test data):
  DIR/<case>/model.onnx
  DIR/<case>/tolerance.txt                                  ("rtol atol" that the suite states)
  DIR/<case>/test_data_set_<k>/input_<j>.pb, output_<j>.pb   (TensorProto)
An input or output that is not a plain tensor (sequence, optional) is written as <name>.unsupported, which the
Swift runner reports as a skip.
"""
import os
import sys
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.test.case.node import collect_testcases


def write_value(path_base, name, value):
    if isinstance(value, (np.ndarray, np.generic)):
        tensor = numpy_helper.from_array(np.asarray(value), name)
        with open(path_base + ".pb", "wb") as f:
            f.write(tensor.SerializeToString())
    else:
        with open(path_base + ".unsupported", "w") as f:
            f.write(type(value).__name__ + "\n")


def main(out):
    warnings.simplefilter("ignore")
    count = 0
    for case in collect_testcases(None):
        case_dir = os.path.join(out, case.name)
        os.makedirs(case_dir, exist_ok=True)
        onnx.save(case.model, os.path.join(case_dir, "model.onnx"))
        # The suite states a tolerance per case (rtol, atol as in numpy.testing.assert_allclose).
        with open(os.path.join(case_dir, "tolerance.txt"), "w") as f:
            f.write(f"{case.rtol!r} {case.atol!r}\n")
        inputs = [i.name for i in case.model.graph.input]
        outputs = [o.name for o in case.model.graph.output]
        for k, (ins, outs) in enumerate(case.data_sets):
            data_dir = os.path.join(case_dir, f"test_data_set_{k}")
            os.makedirs(data_dir, exist_ok=True)
            for j, value in enumerate(ins):
                write_value(os.path.join(data_dir, f"input_{j}"), inputs[j] if j < len(inputs) else f"input_{j}", value)
            for j, value in enumerate(outs):
                write_value(os.path.join(data_dir, f"output_{j}"), outputs[j] if j < len(outputs) else f"output_{j}", value)
        count += 1
    print(f"wrote {count} node test cases to {out} (onnx {onnx.__version__})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "conformance-data/node")
