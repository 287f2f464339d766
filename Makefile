# approxrtl: the two commands are `make demo` and `make test`; both install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

APT_PACKAGES := verilator iverilog yosys nextpnr-ice40 fpga-icestorm protobuf-compiler dataset-fashion-mnist zlib1g-dev ccache
VENV := .venv
PYTHON := $(VENV)/bin/python
SWIFT_FLAGS ?=
RELEASE_BIN := .build/release
# One optimized build serves the tools, the checks and the Swift tests: the test targets are built with it
# (-enable-testing, so that the tests' @testable imports link) and `swift test --skip-build` runs them. (Left to
# build for itself, `swift test -c release` compiles every module a second time, with flags of its own.)
RELEASE_FLAGS := -c release -Xswiftc -enable-testing
NODE_TESTS := conformance-data/node
# The bundled trained models (docs/models.md) and the 500-image test subset that ships with them.
MODELS := models/lenet5-fmnist.onnx models/vgg-small-fmnist.onnx models/lenet5-tanh-fmnist.onnx
# Models trained and exported by torch and by tf2onnx from Keras (tools/make_torch_fixtures.py,
# tools/make_keras_fixture.py): checked against onnxruntime too.
TORCH_MODELS := $(wildcard models/pytorch/*.onnx models/keras/*.onnx)
TEST_SUBSET := data/fashion-mnist-test500
FMNIST := /usr/share/datasets/fashion-mnist
# Verilator builds go through ccache (approxrtl sim uses it when installed); the checks keep its cache here, where
# make clean finds it, unless CCACHE_DIR says otherwise.
CCACHE_DIR ?= $(CURDIR)/build/ccache
export CCACHE_DIR
# Regression floor for the node suite: the number of cases that pass today (raise it when support grows).
CONFORMANCE_MIN_PASSED := 88

.PHONY: help deps venv build build-release test format lint swift-test conformance conformance-data ort-check golden-check rtl-check accelerator-check hostile-check hostile-full fuzz fuzz-check accelerator-10k results-accelerator results-fpga sim demo proto bench retrain clean results results-lenet results-vgg results-rtl results-slim results-slim-cycles results-doc

help:
	@echo "make demo   - the main job on the bundled default model"
	@echo "make test   - every test (Swift tests, ONNX node conformance, onnxruntime cross-checks of float and integer models)"
	@echo "make bench  - throughput figures, each against a baseline measured in the same run"
	@echo "make retrain - retrain the bundled models (about 30 min) and check they come out byte-identical"
	@echo "make results - regenerate docs/results.md: compression sweeps, layer RTL, budget searches, the accelerator, ECP5 place and route (about 4.5 h; each part alone: results-lenet, results-vgg, results-rtl, results-slim, results-slim-cycles, results-accelerator, results-fpga)"
	@echo "make proto  - regenerate Sources/Import/OnnxProto/onnx.pb.swift from the pinned onnx package"

# Debian packages, installed only when one is missing (root on the project's machines).
deps: venv
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# Pinned Python packages for the independent oracles (onnx, onnxruntime), in a venv.
venv: $(VENV)/.installed
$(VENV)/.installed: tools/requirements.txt
	@command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
	@python3 -m venv $(VENV) 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && python3 -m venv $(VENV); }
	$(VENV)/bin/pip install -q --disable-pip-version-check -r tools/requirements.txt
	@touch $@

build: deps
	swift build $(SWIFT_FLAGS)

build-release: deps
	swift build $(RELEASE_FLAGS) --build-tests $(SWIFT_FLAGS)

test: build-release lint swift-test conformance ort-check golden-check hostile-check fuzz-check rtl-check accelerator-check
	@echo "make test: all suites passed"

# Test processes in parallel, one per core (each suite makes its own temporary folders); most of the time goes to
# the simulations, which an optimized build does not shorten.
swift-test: build-release
	swift test $(RELEASE_FLAGS) --skip-build --parallel $(SWIFT_FLAGS)

# The Swift sources formatted by swift-format (.swift-format: 4 spaces, 120 columns; the generated protobuf code
# aside), and every hand-written RTL module lint-clean under Verilator -Wall (no waivers) and accepted by Icarus.
SWIFT_SOURCES = Package.swift Fuzz/Package.swift $(shell find Sources Tests Plugins Fuzz/Sources -name '*.swift' ! -name onnx.pb.swift | sort)
format:
	swift format format -i $(SWIFT_SOURCES)
lint: deps
	@swift format lint --strict $(SWIFT_SOURCES)
	@echo "lint: Swift sources formatted (make format rewrites them)"
	@for f in rtl/*.v; do \
	  top=$$(basename $$f .v); \
	  verilator --lint-only -Wall --top-module $$top rtl/*.v || exit 1; \
	  out=$$(iverilog -g2005 -Wall -s $$top -o /dev/null rtl/*.v 2>&1); \
	  if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	done
	@echo "lint: rtl/*.v clean"

conformance-data: $(NODE_TESTS)/.generated
$(NODE_TESTS)/.generated: tools/gen_node_tests.py tools/requirements.txt | venv
	rm -rf $(NODE_TESTS)
	$(PYTHON) tools/gen_node_tests.py $(NODE_TESTS)
	@touch $@

conformance: build-release conformance-data
	$(RELEASE_BIN)/onnx-conformance $(NODE_TESTS) --min-passed $(CONFORMANCE_MIN_PASSED)

ort-check: build-release
	$(PYTHON) tools/ort_check.py --approxrtl $(RELEASE_BIN)/approxrtl --work build/ort-check --models $(MODELS) $(TORCH_MODELS) --data $(TEST_SUBSET)

# The bundled models quantized at 8/8 bits (calibrated on the first 2,000 training images).
QUANTIZED := $(MODELS:models/%.onnx=build/quantized/%.q.json)
build/quantized/%.q.json: models/%.onnx build-release
	@mkdir -p $(dir $@)
	$(RELEASE_BIN)/approxrtl quantize $< -o $@ --force $(QUANTIZE_OPTIONS)
# The exported fixtures too (the normalized one with the normalization it was trained with).
TORCH_QUANTIZED := $(TORCH_MODELS:models/%.onnx=build/quantized/%.q.json)
build/quantized/pytorch/normalized_cnn.q.json: QUANTIZE_OPTIONS = --input-mean 0.2860 --input-std 0.3530

# Every conv and dense layer of the bundled LeNet-5: linear, quadratic and SWC, reuse and baseline arrays, lint-clean
# and bit-exact against the golden model under Verilator (64 vectors) and Icarus (the first 16) (docs/rtl.md).
RTL_CHECK_VECTORS ?= 64
RTL_CHECK_ICARUS_VECTORS ?= 16
rtl-check: build-release build/quantized/lenet5-fmnist.q.json
	scripts/rtl_check.sh $(RELEASE_BIN)/approxrtl build/quantized/lenet5-fmnist.q.json build/rtl-check $(RTL_CHECK_VECTORS) $(RTL_CHECK_ICARUS_VECTORS)

# The experiments by name (models, designs, suites, searches, sweeps) are data: experiments.json.
EXPERIMENTS := python3 scripts/experiments.py
suite = $(shell $(EXPERIMENTS) suite $(1))
ACCEL_MODELS := $(shell $(EXPERIMENTS) compressed)
build/accelerator-models/%.c.json: $(QUANTIZED)
	@mkdir -p $(@D)
	$(RELEASE_BIN)/approxrtl compress $$($(EXPERIMENTS) compress $*) -o $@ --force >/dev/null

# The whole network on the DianNao-style accelerator, bit-exact on every logit (docs/accelerator.md): LeNet-5,
# vanilla, with each extension and with tanh (NFU-3's tables), on 1,000 test images under Verilator and one under
# Icarus; VGG-small on 200 under Verilator. Quadratic M1 on the reuse lanes and DianNao's own first-layer mapping
# run in accelerator-10k (make test covers both on random networks under both simulators).
ACCEL_IMAGES ?= 1000
ACCEL_ICARUS_IMAGES ?= 1
accelerator-check: build-release $(QUANTIZED) $(ACCEL_MODELS)
	scripts/accelerator_check.sh $(RELEASE_BIN)/approxrtl build/accelerator-check $(ACCEL_IMAGES) $(ACCEL_ICARUS_IMAGES) $(call suite,accelerator-check)
	scripts/accelerator_check.sh $(RELEASE_BIN)/approxrtl build/accelerator-check-more 200 0 $(call suite,accelerator-check-more)

# docs/results.md's accelerator section: LeNet-5's designs on all 10,000 test images (the extensions, the tanh model
# beside its ReLU twin), M1 with its own baseline, the Tn = 4 ones and VGG-small on 1,000 (the scanning reuse lanes
# take 16x vanilla's cycles: 10,000 images would take over an hour each); about 50 minutes, two designs at a time.
RESULTS_ACCEL = scripts/accelerator_results.sh $(RELEASE_BIN)/approxrtl build/$(1) $(2) docs/results/accelerator/$(3).md $(call suite,$(1))
# RESULTS_IMAGES: the LeNet-5 and tanh suites' images (all 10,000 by default; 1000 for a quicker run).
RESULTS_IMAGES ?= 10000
results-accelerator: build-release $(QUANTIZED) $(ACCEL_MODELS)
	$(call RESULTS_ACCEL,results-accelerator,$(RESULTS_IMAGES),lenet5) & \
	{ $(call RESULTS_ACCEL,results-accelerator-reuse,1000,lenet5-reuse) && \
	  $(call RESULTS_ACCEL,results-accelerator-tn4,1000,lenet5-tn4) && \
	  $(call RESULTS_ACCEL,results-accelerator-vgg,1000,vgg-small) && \
	  $(call RESULTS_ACCEL,results-accelerator-tanh,$(RESULTS_IMAGES),lenet5-tanh); }; \
	wait

# docs/results.md's FPGA section: LeNet-5, vanilla and with SWC lanes, at Tn = 4 and 16, and M1 with constant
# segments on the factored lanes at Tn = 16, generated for the
# LFE5U-85F, simulated on 1,000 test images and placed and routed with nextpnr-ecp5 (about an hour).
results-fpga: build-release $(QUANTIZED) $(ACCEL_MODELS)
	scripts/fpga_results.sh $(RELEASE_BIN)/approxrtl build/results-fpga 1000 85k docs/results/fpga/lenet5.md $(call suite,results-fpga)

# All 10,000 Fashion-MNIST test images through every accelerator design under Verilator (wall time per run).
accelerator-10k: build-release $(QUANTIZED) $(ACCEL_MODELS)
	scripts/accelerator_check.sh $(RELEASE_BIN)/approxrtl build/accelerator-10k 10000 0 $(call suite,accelerator-check) $(call suite,accelerator-10k-only) $(call suite,accelerator-check-more)

# One generated design's bench: make sim DESIGN=build/conv1 SIM=verilator (or iverilog; both when SIM is empty).
sim: build-release
	@test -n "$(DESIGN)" || { echo "usage: make sim DESIGN=<folder from approxrtl generate> [SIM=iverilog|verilator]"; exit 2; }
	$(RELEASE_BIN)/approxrtl sim $(DESIGN) $(if $(SIM),--simulator $(SIM),)

# Hostile inputs through the real commands: every number of a model file (and of its compressions) set to
# extremes, ONNX files with NaN weights and absurd dims and attributes, IDX and .npy files that overflow or lie,
# a gzip bomb, bad options. Each run must exit 1 or 2 naming the file, field or option; a trap, a signal, a hang
# or over 4 GB of memory fails. hostile-check tries two extreme values per field; hostile-full seven, and every
# compression method (about a minute).
hostile-check: build-release build/quantized/lenet5-fmnist.q.json
	$(PYTHON) tools/hostile_check.py --approxrtl $(RELEASE_BIN)/approxrtl --quantized build/quantized/lenet5-fmnist.q.json --onnx models/lenet5-fmnist.onnx --work build/hostile-check

hostile-full: build-release build/quantized/lenet5-fmnist.q.json
	$(PYTHON) tools/hostile_check.py --approxrtl $(RELEASE_BIN)/approxrtl --quantized build/quantized/lenet5-fmnist.q.json --onnx models/lenet5-fmnist.onnx --work build/hostile-full --full

# libFuzzer on the readers of outside input (Sources/Tools/FuzzEntry: the ONNX importer, the model-file decoder,
# .npy, IDX), built by the package in Fuzz/ with -sanitize=fuzzer. Seeds: small valid files and structurally valid
# files with extreme numbers (tools/fuzz_seeds.py), and every crash ever found (Fuzz/crashes/, which swift test
# also replays). `make fuzz` runs each target FUZZ_SECONDS (600), two at a time, on an optimized build. make test's
# fuzz-check runs each for 10 s on an unoptimized build of its own (Fuzz/.build-check): it builds in about 40% of
# the time and runs half to four fifths as many inputs. A crash stops with its input in build/fuzz/crash-<target>-*;
# copy it to Fuzz/crashes/<target>/ once fixed.
FUZZ_SECONDS ?= 600
FUZZ_SCRATCH ?= .build
FUZZ_OPTIMIZE ?=
fuzz: build-release build/fuzz/seeds/.made
	@mkdir -p build/fuzz
	@# The log is shown only on failure: SwiftPM also tries to link the root package's plugin tool with the fuzzer
	@# runtime, which fails without harm (that tool is not needed here) but prints errors.
	@cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer $(FUZZ_OPTIMIZE) --scratch-path $(FUZZ_SCRATCH) \
	  $(SWIFT_FLAGS) > ../build/fuzz/build.log 2>&1 || { tail -30 ../build/fuzz/build.log; exit 1; }
	scripts/fuzz.sh Fuzz/$(FUZZ_SCRATCH)/release/approxrtl-fuzz $(FUZZ_SECONDS) onnx model npy idx

fuzz-check:
	$(MAKE) fuzz FUZZ_SECONDS=10 FUZZ_SCRATCH=.build-check FUZZ_OPTIMIZE="-Xswiftc -Onone"

build/fuzz/seeds/.made: tools/fuzz_seeds.py tools/hostile_check.py build-release
	rm -rf build/fuzz/seeds
	cd tools && ../$(PYTHON) fuzz_seeds.py --approxrtl ../$(RELEASE_BIN)/approxrtl --data $(FMNIST) --out ../build/fuzz/seeds
	@touch $@

# The integer golden model against onnxruntime running the same network as integer ONNX ops, bit for bit.
golden-check: build-release $(QUANTIZED) $(TORCH_QUANTIZED)
	$(PYTHON) tools/golden_ort_check.py --approxrtl $(RELEASE_BIN)/approxrtl --models $(QUANTIZED) $(TORCH_QUANTIZED) --data $(TEST_SUBSET) --work build/golden-ort-check

# The main job on the bundled LeNet-5: quantize, compress with SWC (5-bit codes), compile the network for the
# DianNao-style accelerator (vanilla, and with SWC lanes for the compressed model), simulate both whole-network
# on the 500 bundled test images under Verilator (every logit against the golden model), estimate resources with
# Yosys, and compare them. Handoff folders with report.html in build/demo/.
DEMO := build/demo
demo: build-release build/quantized/lenet5-fmnist.q.json
	$(RELEASE_BIN)/approxrtl inspect models/lenet5-fmnist.onnx
	$(RELEASE_BIN)/approxrtl eval build/quantized/lenet5-fmnist.q.json --dataset fashion-mnist
	$(RELEASE_BIN)/approxrtl compress build/quantized/lenet5-fmnist.q.json --method swc --code-bits 5 -o build/compressed/lenet5-fmnist-swc5.c.json --force
	$(RELEASE_BIN)/approxrtl report build/compressed/lenet5-fmnist-swc5.c.json --eval
	$(RELEASE_BIN)/approxrtl generate build/quantized/lenet5-fmnist.q.json --arch diannao --images 500 --data $(TEST_SUBSET) -o $(DEMO)/lenet5-vanilla --force
	$(RELEASE_BIN)/approxrtl generate build/compressed/lenet5-fmnist-swc5.c.json --arch diannao --extensions swc --images 500 --data $(TEST_SUBSET) -o $(DEMO)/lenet5-swc5 --force
	$(RELEASE_BIN)/approxrtl sim $(DEMO)/lenet5-vanilla --simulator verilator
	$(RELEASE_BIN)/approxrtl sim $(DEMO)/lenet5-swc5 --simulator verilator
	$(RELEASE_BIN)/approxrtl synth $(DEMO)/lenet5-vanilla $(DEMO)/lenet5-swc5 --target generic
	$(RELEASE_BIN)/approxrtl compare $(DEMO)/lenet5-vanilla $(DEMO)/lenet5-swc5
	@echo "demo: bit-exact whole-network RTL; handoff folders and reports: $(DEMO)/lenet5-vanilla/report.html $(DEMO)/lenet5-swc5/report.html"

# Every speed figure against a baseline measured in the same run: training and SGEMM, the golden model's engines
# and the budget search (approxrtl-bench), inference against onnxruntime and compressed models against the
# uncompressed golden model (tools/bench_float.py), whole-network simulation (tools/bench_sim.py). The output goes
# to docs/results/bench/bench.md, which `make results-doc` puts into docs/results.md.
bench: build-release $(QUANTIZED)
	@mkdir -p build/bench docs/results/bench
	set -o pipefail; { \
	  $(RELEASE_BIN)/approxrtl-bench $(FMNIST) build/quantized/lenet5-fmnist.q.json build/quantized/vgg-small-fmnist.q.json || exit 1; \
	  for model in $(MODELS); do \
	    name=$$(basename $$model .onnx); compressed=""; \
	    for setting in linear12-layer swc5 linear3-channel; do \
	      case $$setting in \
	        linear12-layer) flags="--method linear --segments 12";; \
	        linear3-channel) flags="--method linear --segments 3 --group channel";; \
	        swc5) flags="--method swc --code-bits 5";; \
	      esac; \
	      $(RELEASE_BIN)/approxrtl compress build/quantized/$$name.q.json $$flags -o build/compressed/$$name-$$setting.c.json --force >/dev/null || exit 1; \
	      compressed="$$compressed build/compressed/$$name-$$setting.c.json"; \
	    done; \
	    $(PYTHON) tools/bench_float.py --approxrtl $(RELEASE_BIN)/approxrtl --model $$model \
	      --quantized build/quantized/$$name.q.json --compressed $$compressed || exit 1; \
	  done; \
	  $(PYTHON) tools/bench_sim.py --approxrtl $(RELEASE_BIN)/approxrtl --quantized build/quantized/lenet5-fmnist.q.json --work build/bench/sim || exit 1; \
	} 2>&1 | tee build/bench/bench.txt
	{ echo "## Speed (make bench)"; echo; \
	  echo "Measured by \`make bench\` on $$(nproc) cores of $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $$(date -u +%Y-%m-%d); each figure against a baseline measured in the same run."; \
	  echo; echo '```'; cat build/bench/bench.txt; echo '```'; } > docs/results/bench/bench.md
	@echo "wrote docs/results/bench/bench.md"

# Reruns the commands recorded in docs/models.md and compares the results with the bundled files byte for byte.
retrain: build-release
	@mkdir -p build/retrain
	$(RELEASE_BIN)/approxrtl train --arch lenet5 --dataset fashion-mnist --epochs 20 --seed 1 -o build/retrain/lenet5-fmnist.onnx --force
	cmp build/retrain/lenet5-fmnist.onnx models/lenet5-fmnist.onnx
	$(RELEASE_BIN)/approxrtl train --arch vgg-small --dataset fashion-mnist --epochs 15 --seed 1 -o build/retrain/vgg-small-fmnist.onnx --force
	cmp build/retrain/vgg-small-fmnist.onnx models/vgg-small-fmnist.onnx
	$(RELEASE_BIN)/approxrtl train --arch lenet5-tanh --dataset fashion-mnist --epochs 20 --seed 1 -o build/retrain/lenet5-tanh-fmnist.onnx --force
	cmp build/retrain/lenet5-tanh-fmnist.onnx models/lenet5-tanh-fmnist.onnx
	@echo "retrain: the three models reproduced byte for byte"

# protoc from Debian, protoc-gen-swift built from the swift-protobuf dependency (its own scratch folder).
proto: venv
	@command -v protoc >/dev/null || { apt-get update -qq && apt-get install -y -qq protobuf-compiler >/dev/null; }
	swift build -c release --product protoc-gen-swift --scratch-path .build-proto
	@tmp=$$(mktemp -d) && cp $(VENV)/lib/python3*/site-packages/onnx/onnx.proto $$tmp/ && \
	protoc --plugin=protoc-gen-swift=.build-proto/release/protoc-gen-swift --swift_opt=Visibility=Public \
	  --swift_out=Sources/Import/OnnxProto -I $$tmp $$tmp/onnx.proto && rm -rf $$tmp
	@echo "regenerated Sources/Import/OnnxProto/onnx.pb.swift"

clean:
	rm -rf .build build conformance-data Fuzz/.build Fuzz/.build-check

# docs/results.md: retraining-free and fine-tuned compression sweeps of both bundled models (docs/results/*/).
SWEEP := $(RELEASE_BIN)/approxrtl sweep
RESULT_PARTS := docs/results/lenet5 docs/results/lenet5-finetuned docs/results/vgg-small docs/results/vgg-small-finetuned
results: results-lenet results-vgg results-rtl results-slim results-slim-cycles results-accelerator results-fpga
	$(MAKE) results-doc

comma := ,
# The accuracy-budget search on both bundled models (experiments.json, "slim": M4 alone, M3 alone and both,
# within 1 and within 0.5 points, and VGG-small's M3 and both within 0.25; about 2 hours, most of it VGG-small).
SLIM_RUNS = $(shell $(EXPERIMENTS) slim)
results-slim: build-release $(QUANTIZED)
	@mkdir -p build/results-slim docs/results/slim
	@for run in $(SLIM_RUNS); do \
	  model=$$(echo $$run | cut -d: -f1); kinds=$$(echo $$run | cut -d: -f2); budget=$$(echo $$run | cut -d: -f3); \
	  tag=$$(echo $$run | tr :, -+); echo "budget search: $$model, $$kinds, within $$budget"; \
	  $(RELEASE_BIN)/approxrtl compress build/quantized/$$model-fmnist.q.json --method slim --budget $$budget --reductions $$kinds \
	    -o build/results-slim/$$tag.c.json --force --json > build/results-slim/$$tag.json || exit 1; \
	done
	python3 scripts/slim_results.py --output docs/results/slim/slim.md $(foreach r,$(SLIM_RUNS),build/results-slim/$(subst :,-,$(subst $(comma),+,$(r))).json)

# The budget search by accelerator cycles, fine-tuned, each result run on the accelerator under Verilator
# (experiments.json, "slim-cycles"; about 1 hour, most of it VGG-small's fine-tuning).
results-slim-cycles: build-release $(QUANTIZED)
	scripts/slim_cycles.sh $(RELEASE_BIN)/approxrtl build/results-slim-cycles 200 docs/results/slim/cycles.md $(shell $(EXPERIMENTS) slim-cycles)

# LeNet-5's layers as reuse and baseline arrays through Yosys and nextpnr-ice40 (about 15 minutes).
results-rtl: build-release build/quantized/lenet5-fmnist.q.json
	scripts/rtl_results.sh $(RELEASE_BIN)/approxrtl build/quantized/lenet5-fmnist.q.json build/results-rtl docs/results/hardware "LeNet-5 / Fashion-MNIST"

# Assembles docs/results.md from the stored sweeps (`approxrtl sweep --replot DIR` re-renders one of them).
results-doc:
	{ cat docs/results/intro.md; for part in $(RESULT_PARTS); do \
	    echo; sed 's/^### /## /' $$part/sweep.md; echo; \
	    echo "![accuracy vs parameters]($${part#docs/}/pareto-params.svg) ![accuracy vs multiplications]($${part#docs/}/pareto-multiplies.svg)"; \
	  done; echo; cat docs/results/slim/slim.md; \
	  if [ -f docs/results/slim/cycles.md ]; then echo; cat docs/results/slim/cycles.md; fi; \
	  echo; cat docs/results/hardware/rtl.md; \
	  echo; cat docs/results/accelerator/intro.md; \
	  for part in "lenet5:LeNet-5, Tn = 16" "lenet5-reuse:LeNet-5, Tn = 16, M1 on the reuse and factored lanes" "lenet5-tn4:LeNet-5, Tn = 4" "vgg-small:VGG-small, Tn = 16" "lenet5-tanh:LeNet-5 with tanh, Tn = 16, NFU-3 activation tables"; do \
	    echo; echo "### $${part#*:}"; echo; cat docs/results/accelerator/$${part%%:*}.md; done; \
	  if [ -f docs/results/fpga/lenet5.md ]; then echo; echo "## On an FPGA: LeNet-5 placed and routed on an LFE5U-85F"; \
	    echo; cat docs/results/fpga/lenet5.md; fi; \
	  if [ -f docs/results/bench/bench.md ]; then echo; cat docs/results/bench/bench.md; fi; \
	} > docs/results.md.tmp && mv docs/results.md.tmp docs/results.md
	@echo "wrote docs/results.md"

results-lenet: build-release build/quantized/lenet5-fmnist.q.json
	eval $(SWEEP) $$($(EXPERIMENTS) sweep lenet5)
	eval $(SWEEP) $$($(EXPERIMENTS) sweep lenet5-finetuned)

results-vgg: build-release build/quantized/vgg-small-fmnist.q.json
	eval $(SWEEP) $$($(EXPERIMENTS) sweep vgg-small)
	eval $(SWEEP) $$($(EXPERIMENTS) sweep vgg-small-finetuned)
