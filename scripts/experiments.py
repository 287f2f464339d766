#!/usr/bin/env python3
"""Reads experiments.json (the catalogue of named models, designs, suites, searches and sweeps) for make.

  experiments.py suite NAME        NAME:MODEL[:GENERATE OPTIONS] per design of the suite (the runners' arguments)
  experiments.py compressed        the compressed models' paths (build/accelerator-models/NAME.c.json)
  experiments.py compress NAME     the source model's path and the compress options of one compressed model
  experiments.py slim              MODEL:REDUCTIONS:BUDGET per budget search
  experiments.py slim-cycles       MODEL:BUDGET:TN:EPOCHS per budget search by accelerator cycles
  experiments.py sweep NAME        the sweep's arguments, shell-quoted
A name that is not in the catalogue is an error naming the file and the section.
"""
import json
import shlex
import sys
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parent.parent / "experiments.json"
COMPRESSED = "build/accelerator-models/{}.c.json"


def fail(message):
    sys.exit(f"{CATALOGUE.name}: {message}")


def model_path(catalogue, name):
    if name in catalogue["quantized"]:
        return catalogue["quantized"][name]
    if name in catalogue["compressed"]:
        return COMPRESSED.format(name)
    fail(f"model '{name}' is neither quantized nor compressed")


def entry(catalogue, section, name):
    if name not in catalogue[section]:
        fail(f"no '{name}' in {section} (known: {', '.join(sorted(catalogue[section]))})")
    return catalogue[section][name]


def main(arguments):
    catalogue = json.loads(CATALOGUE.read_text())
    command, rest = (arguments[0], arguments[1:]) if arguments else ("", [])
    if command == "suite" and len(rest) == 1:
        for name in entry(catalogue, "suites", rest[0]):
            design = entry(catalogue, "designs", name)
            options = design.get("generate", "")
            print(f"{name}:{model_path(catalogue, design['model'])}" + (f":{options}" if options else ""))
    elif command == "compressed" and not rest:
        for name in catalogue["compressed"]:
            print(COMPRESSED.format(name))
    elif command == "compress" and len(rest) == 1:
        model = entry(catalogue, "compressed", rest[0])
        print(model_path(catalogue, model["from"]), model["compress"])
    elif command == "slim" and not rest:
        for model, reductions, budget in catalogue["slim"]:
            print(f"{model}:{reductions}:{budget}")
    elif command == "slim-cycles" and not rest:
        for model, budget, tn, epochs in catalogue["slim-cycles"]:
            print(f"{model}:{budget}:{tn}:{epochs}")
    elif command == "sweep" and len(rest) == 1:
        sweep = entry(catalogue, "sweeps", rest[0])
        words = [model_path(catalogue, sweep["model"]), "--title", sweep["title"], "-o", sweep["output"], "--force"]
        print(" ".join(shlex.quote(word) for word in words + shlex.split(sweep["grid"])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
