# Branchline: `make run` and `make test` each set themselves up on a fresh Debian machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES_BUILD := pyproject.toml setup.py $(wildcard dsp/*.pyx dsp/*.pxd hw/*/*.pyx)

.PHONY: run test soak lint bench build clean deb check-arm64

$(STAMP): $(SOURCES_BUILD) scripts/install-system-deps
	scripts/install-system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

build: $(STAMP)

run: $(STAMP)
	$(BIN)/branchline run --listen 127.0.0.1:8080

lint: $(STAMP)
	$(BIN)/ruff check .

test: lint
	$(BIN)/pytest -m "not soak"

# An hour of a busy branch on the board emulator with every kind of fault (5-10 minutes).
soak: $(STAMP)
	$(BIN)/pytest -m soak

bench: $(STAMP)
	PYTHONPATH=tests/support ONLY=$(ONLY) $(BIN)/python -m bench

# The Debian package from the committed tree, checked in a fresh Debian 12 root
# (docs/install.md). DEB_ARCH=arm64 builds it under qemu-user-static: slow.
deb:
	deb=$$(nice -n 19 scripts/build-deb $(DEB_ARCH)) && nice -n 19 scripts/check-deb "$$deb"

# The kernels built and the DSP, IVR, ACD and runtime tests run in a Debian arm64 root under
# qemu-user-static, and its DSP digest compared with this machine's (docs/install.md).
check-arm64: $(STAMP)
	nice -n 19 scripts/check-arm64

clean:
	rm -rf $(VENV) build *.egg-info dsp/*.c dsp/*.so hw/*/*.c hw/*/*.so
