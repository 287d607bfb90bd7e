# MLE — `make demo` runs the main job, `make test` runs every test.
# Everything builds from this repository's own files (Go modules, CMake).

GO      ?= go
BUILD   := build
# libmle.so.N (N: the C ABI version, the SONAME) and the libmle.so link to it.
ABI     := $(shell sed -n 's/^\#define MLE_ABI_VERSION \([0-9]*\)u$$/\1/p' include/mle.h)
SONAME  := libmle.so.$(ABI)
LIB     := $(BUILD)/libmle.so
CLI     := $(BUILD)/mle
CMAKE_DIR := $(BUILD)/cmake
FUZZTIME ?= 60s
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline exceeded" when -fuzztime ends while a
# worker is busy (go.dev/issue/75804, fixed in 1.27). The fuzz runs alone use 1.27.3, which the go command fetches
# from the module proxy on first use; everything else builds with the go.mod toolchain.
FUZZGO  ?= GOTOOLCHAIN=go1.27.3 $(GO)
# The Go runtime inside libmle handles its own signals (SIGSEGV for nil checks,
# SIGURG for preemption): let it.
ASAN_OPTIONS ?= handle_segv=0:handle_sigbus=0:allow_user_segv_handler=1:detect_leaks=1
VENV    := .venv
PY      := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed

# Only the documented mle_* symbols are exported (capi/libmle.map); the
# library is never unloaded (-z nodelete: the Go runtime cannot be).
# capi/glibc_compat.h binds glibc's pthread functions to their oldest versions, and netgo/osusergo keep
# the resolver's and os/user's cgo out: one libmle for glibc 2.17 and later (the manylinux_2_28 wheel).
LIB_CGO_CFLAGS := -O2 -g -include $(CURDIR)/capi/glibc_compat.h
LIB_LDFLAGS := -s -extldflags '-Wl,--version-script=$(CURDIR)/capi/libmle.map -Wl,-z,nodelete -Wl,-soname,$(SONAME)'

GO_SRC := $(shell find capi core kernels cmd -name '*.go' -o -name '*.s' -o -name '*.c' -o -name '*.h' -o -name '*.map') go.mod go.sum include/mle.h

.PHONY: dist test-dist jre browser proto loadgen all lib cli check-abi cmake test-asan test-rust test-node conformance examples venv python test test-go test-fuzz test-c test-python demo bench bench-python clean

all: lib cli check-abi

lib: $(LIB)

$(LIB): $(GO_SRC)
	@mkdir -p $(BUILD)
	CGO_CFLAGS="$(LIB_CGO_CFLAGS)" $(GO) build -buildmode=c-shared -trimpath -tags netgo,osusergo \
	  -ldflags="$(LIB_LDFLAGS)" -o $(BUILD)/$(SONAME).tmp ./capi
	@mv -f $(BUILD)/$(SONAME).tmp $(BUILD)/$(SONAME)  # replaced atomically: processes using the old one keep their mapping
	@ln -sfn $(SONAME) $@
	@rm -f $(BUILD)/$(SONAME).h $(BUILD)/$(SONAME).tmp.h $(BUILD)/libmle.h  # cgo's generated header is internal; include/mle.h is public

cli: $(CLI)

$(CLI): $(GO_SRC)
	@mkdir -p $(BUILD)
	$(GO) build -trimpath -o $@ ./cmd/mle

# The bounded load generator of bench/serve.sh.
loadgen: $(BUILD)/mle-loadgen

$(BUILD)/mle-loadgen: $(GO_SRC)
	@mkdir -p $(BUILD)
	$(GO) build -trimpath -o $@ ./cmd/mle-loadgen

# Regenerates the assembly kernels from their avo programs (kernels/asmgen, a
# module of its own); TestGemmAsmGenerated checks the GEMM file is current.
.PHONY: asm
asm:
	cd kernels/asmgen/gemm && $(GO) run . -out ../../gemm_amd64.s -stubs ../../gemm_stub_amd64.go -pkg kernels
	cd kernels/asmgen/conv && $(GO) run . -out ../../conv_amd64.s -stubs ../../conv_stub_amd64.go -pkg kernels
	cd kernels/asmgen/vmath && $(GO) run . -out ../../vmath/vmath_amd64.s -stubs ../../vmath/vmath_stub_amd64.go -pkg vmath

# Rewrites the status-code, dtype and version tables of every language from
# cmd/mle-gentables/tables.go (`go test ./cmd/mle-gentables` checks them).
.PHONY: gen
gen:
	$(GO) run ./cmd/mle-gentables

# The exported symbols must equal the golden list and the functions that
# include/mle.h declares.
check-abi: $(LIB)
	capi/check_abi.sh $(LIB) capi/symbols.txt include/mle.h

cmake: $(LIB) $(CLI)
	cmake -S . -B $(CMAKE_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMLE_PREBUILT_LIB=$(CURDIR)/$(LIB) -DMLE_CLI=$(CURDIR)/$(CLI) \
	  -DMLE_CONFORMANCE_DIR=$(CURDIR)/$(BUILD)/conformance >/dev/null
	cmake --build $(CMAKE_DIR) -j2

# The cross-language conformance suite (tests/conformance/README.md).
conformance: $(BUILD)/conformance/manifest.json

$(BUILD)/conformance/manifest.json: $(GO_SRC) $(shell find tests/conformance/gen -name '*.go')
	$(GO) run ./tests/conformance/gen -out $(BUILD)/conformance

# The project's Python environment: pinned test and benchmark dependencies
# (torch included: a large download, done once and reused).
venv: $(VENV_STAMP)

$(VENV_STAMP): bindings/python/requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r bindings/python/requirements-dev.txt
	touch $@

# mle_runtime installed (editable) into the venv, with the libmle just built.
python: $(LIB) venv
	MLE_PREBUILT_LIB=$(CURDIR)/$(LIB) $(VENV)/bin/pip install --quiet --no-build-isolation --no-deps -e bindings/python

test: all test-go test-fuzz test-c test-asan test-python test-rust test-node test-dist

# Every release artifact into dist/ (scripts/dist.sh), and each installed outside the checkout and run.
dist: all cmake python conformance
	scripts/dist.sh dist

test-dist: dist
	scripts/test-dist.sh dist

# Debian's Chromium, for the model viewer's browser test (core/serve, TestViewerInBrowser).
browser:
	@command -v chromium >/dev/null || apt-get install -y chromium || (apt-get update && apt-get install -y chromium)

# A JRE for the Spark tests (bindings/python/tests/test_scale_out.py): Debian's, unless java is there.
jre:
	@command -v java >/dev/null || apt-get install -y openjdk-17-jre-headless || (apt-get update && apt-get install -y openjdk-17-jre-headless)

test-go: browser
	@test -z "$$(gofmt -l capi core kernels cmd tests)" || { echo "gofmt needed:"; gofmt -l capi core kernels cmd tests; exit 1; }
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# Each fuzz target runs FUZZTIME (default 60 s; the tree-array and metadata JSON fuzzers 30 s, the codec, signature and
# decryption parsers 20 s), seeded from tests/fuzz and f.Add. FuzzHostile builds graphs from the bytes and runs them under a
# memory cap (tests/hostile). FuzzOpen of core/format opens signed, compressed, quantized and encrypted seeds with their keys.
test-fuzz:
	$(FUZZGO) test -run '^$$' -fuzz '^FuzzOpen$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./core/format
	$(FUZZGO) test -run '^$$' -fuzz '^FuzzDecodeGraph$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./core/format
	$(FUZZGO) test -run '^$$' -fuzz '^FuzzMetadataJSON$$' -fuzztime 30s -fuzzminimizetime 5s ./core/format
	$(FUZZGO) test -run '^$$' -fuzz '^FuzzHostile$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./tests/hostile
	$(FUZZGO) test -run '^$$' -fuzz '^FuzzTreeEnsemble$$' -fuzztime 30s -fuzzminimizetime 5s ./core/engine
	$(FUZZGO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 20s -fuzzminimizetime 5s ./core/codec
	$(FUZZGO) test -run '^$$' -fuzz '^FuzzRoundTrip$$' -fuzztime 20s -fuzzminimizetime 5s ./core/codec
	$(FUZZGO) test -run '^$$' -fuzz '^FuzzDecodeManifest$$' -fuzztime 20s -fuzzminimizetime 5s ./core/sign
	$(FUZZGO) test -run '^$$' -fuzz '^FuzzDecodeSection$$' -fuzztime 20s -fuzzminimizetime 5s ./core/sign
	$(FUZZGO) test -run '^$$' -fuzz '^FuzzOpen$$' -fuzztime 20s -fuzzminimizetime 5s ./core/seal
	$(FUZZGO) test -run '^$$' -fuzz '^FuzzDecodeRequest$$' -fuzztime 20s -fuzzminimizetime 5s ./core/serve
	$(FUZZGO) test -run '^$$' -fuzz '^FuzzDecodeGRPC$$' -fuzztime 20s -fuzzminimizetime 5s ./core/serve
	$(FUZZGO) test -run '^$$' -fuzz '^FuzzParseURI$$' -fuzztime 10s -fuzzminimizetime 5s ./core/registry

# Regenerate core/serve/oippb (the OIP v2 gRPC service) from its .proto: protoc from Debian's
# protobuf-compiler, the Go plugins at pinned versions. The generated files are committed.
proto:
	command -v protoc >/dev/null || apt-get install -y protobuf-compiler
	GOBIN=$(CURDIR)/$(BUILD)/bin $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	GOBIN=$(CURDIR)/$(BUILD)/bin $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.0
	PATH=$(CURDIR)/$(BUILD)/bin:$$PATH protoc -I core/serve/oippb --go_out=core/serve/oippb --go_opt=paths=source_relative \
	  --go-grpc_out=core/serve/oippb --go-grpc_opt=paths=source_relative core/serve/oippb/oip.proto

test-c: cmake conformance
	ctest --test-dir $(CMAKE_DIR) --output-on-failure

# The C/C++ tests again under AddressSanitizer + LeakSanitizer: handle abuse,
# double frees and leaks on the C side must all be clean.
test-asan: $(LIB) conformance
	cmake -S . -B $(BUILD)/cmake-asan -DCMAKE_BUILD_TYPE=Debug -DMLE_SANITIZE=address \
	  -DMLE_PREBUILT_LIB=$(CURDIR)/$(LIB) -DMLE_CONFORMANCE_DIR=$(CURDIR)/$(BUILD)/conformance >/dev/null
	cmake --build $(BUILD)/cmake-asan -j2
	ASAN_OPTIONS=$(ASAN_OPTIONS) ctest --test-dir $(BUILD)/cmake-asan --output-on-failure -E cmake_consumer

# Rust: mle-sys + mle (bindings/rust); links build/libmle.so with an rpath.
test-rust: lib conformance
	cd bindings/rust && MLE_CONFORMANCE_DIR=$(CURDIR)/$(BUILD)/conformance CARGO_BUILD_JOBS=2 cargo test --locked
	cd bindings/rust && cargo fmt --check
	cd bindings/rust && CARGO_BUILD_JOBS=2 cargo clippy --locked --all-targets -- -D warnings
	cd bindings/rust && cargo run --locked -q --example predict -- $(CURDIR)/$(BUILD)/conformance/models/mlp_classifier.mle
	MLE_LIB_DIR=$(CURDIR)/$(BUILD) MLE_CONFORMANCE_DIR=$(CURDIR)/$(BUILD)/conformance CARGO_BUILD_JOBS=2 bindings/rust/scripts/install-test.sh

# Node.js: the N-API addon (bindings/node), built by npm ci against build/libmle.so.
test-node: lib conformance
	cd bindings/node && npm ci --no-audit --no-fund
	cd bindings/node && MLE_CONFORMANCE_DIR=$(CURDIR)/$(BUILD)/conformance npm test
	cd bindings/node && node ../../examples/node/predict.js $(CURDIR)/$(BUILD)/conformance/models/mlp_classifier.mle

test-python: python conformance cli jre
	cd bindings/python && MLE_CONFORMANCE_DIR=$(CURDIR)/$(BUILD)/conformance MLE_CLI=$(CURDIR)/$(CLI) ../../$(PY) -m pytest -q

demo: all cmake python
	@scripts/demo.sh $(BUILD) $(CMAKE_DIR)
	@$(PY) examples/complete_workflow.py --out $(BUILD)/demo
	@$(MAKE) --no-print-directory examples

# The models the Python workflow wrote, run without Python from C, C++, Rust
# and Node.js (a conformance model stands in when the workflow has not run).
DEMO_MODEL = $(firstword $(wildcard $(BUILD)/demo/torch_mlp.mle) $(BUILD)/conformance/models/mlp_classifier.mle)
examples: cmake conformance
	@printf '\n\033[1m== Without Python: C, C++, Rust and Node.js run %s\033[0m\n' $(DEMO_MODEL)
	$(CMAKE_DIR)/bin/predict $(DEMO_MODEL)
	$(CMAKE_DIR)/bin/predict_cpp $(DEMO_MODEL)
	cd bindings/rust && cargo run --locked -q --example predict -- $(CURDIR)/$(DEMO_MODEL)
	test -d bindings/node/node_modules || (cd bindings/node && npm ci --no-audit --no-fund)
	node examples/node/predict.js $(CURDIR)/$(DEMO_MODEL)

bench: all python
	@bench/run.sh

# The Python package next to joblib, pickle, skops and onnxruntime (~10 min);
# rewrites section 6 of docs/BENCHMARKS.md.
bench-python: python
	$(PY) bench/mle_vs_joblib.py --write-docs

# MLE, onnxruntime, torch and scikit-learn side by side in one process, and
# GEMM next to numpy (~6 min); rewrites section 8 of docs/BENCHMARKS.md.
# PyTorch architectures next to onnxruntime and torch eager (docs/BENCHMARKS.md
# section 15); bench/torch_models.sh --write-docs rewrites the section.
.PHONY: bench-torch
bench-torch: python
	bench/torch_models.sh

.PHONY: bench-sidebyside
bench-sidebyside: python
	bench/sidebyside.sh

clean:
	rm -rf dist rm -rf $(BUILD) bindings/python/mle_runtime/libmle.so bindings/python/build bindings/python/*.egg-info bindings/rust/target bindings/node/build bindings/node/node_modules
