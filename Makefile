# Two commands do all set-up on a fresh Debian machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Xvfb and GL for Kivy under a virtual screen (tests, headless demo windows); DejaVu has the Sámi and
# Cyrillic letters receipts need.
APT_PACKAGES := xvfb xauth libgl1 libegl1 libmtdev1 libgles2 fonts-dejavu-core espeak-ng alsa-utils pcscd vsmartcard-vpcd libpcsclite-dev swig postgresql xdotool
# kiosk-flash and first boot's tests (tests/deploy): partition tables, FAT without mounting, growpart, RAUC
# bundles (signed with openssl, squashfs inside), the boot menu's syntax (grub-script-check) and its
# choices (grub-emu).
APT_PACKAGES += fdisk dosfstools mtools cloud-guest-utils rauc squashfs-tools openssl grub-common grub-emu
# The boot test's own SSH helper against a port that never answers (tests/deploy/test_boot_updates.py).
APT_PACKAGES += openssh-client
# The staff console's browser tests (tests/console): Debian's Chromium, driven by Selenium.
APT_PACKAGES += chromium chromium-driver

.PHONY: demo demo-headless test test-long lint format typecheck system-packages clean

$(STAMP): pyproject.toml
	@deploy/scripts/ensure-system-packages.sh $(APT_PACKAGES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[ui,dev]'
	$(BIN)/python -m kiosk.i18n compile
	@touch $(STAMP)

system-packages:
	@deploy/scripts/ensure-system-packages.sh $(APT_PACKAGES)

# The whole system on its embedded defaults. With a screen: the kiosk window with its simulator panel.
# Without one (a server, CI): the scripted scenarios, headless.
demo: $(STAMP)
	@if [ -n "$$DISPLAY" ]; then \
		$(BIN)/kiosk demo; \
	else \
		echo "No DISPLAY: running the scripted demo scenarios headless (set DISPLAY for the window)."; \
		$(BIN)/kiosk demo --headless --scenario borrow-return && \
		$(BIN)/kiosk demo --headless --scenario transit; \
	fi

demo-headless: $(STAMP)
	$(BIN)/kiosk demo --headless --scenario borrow-return
	$(BIN)/kiosk demo --headless --scenario transit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pylint --rcfile=pyproject.toml kiosk

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

# Two pytest workers by default (pytest-xdist): most tests wait on processes, sockets and timeouts, so
# one worker's waits overlap the other's work. A test file runs on one worker (--dist loadfile), so the
# tests of a file that share something machine-wide (pcscd's one socket) never run at once.
# PYTEST_WORKERS=0 runs everything in this process.
PYTEST_WORKERS ?= 2
test: $(STAMP) lint typecheck
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

# The runs of many minutes: 1,000 kills of a working station (about 17 min), and what else is marked `long`.
test-long: $(STAMP)
	$(BIN)/pytest -q -m long

# Memory, file descriptors, threads and the journal over 1,000 patron visits through the real station
# (bench/soak.py, JSON; about 10-30 min). Not part of `make test`: figures in docs/PERFORMANCE.md.
.PHONY: soak
soak: $(STAMP)
	$(BIN)/python bench/soak.py

# The kiosk's disk image from Debian packages (deploy/image/build.sh, as root): ARCH=amd64|arm64, into
# IMAGE_OUT. A foreign ARCH needs qemu-user in binfmt_misc (the packages below; build.sh checks it).
ARCH ?= amd64
IMAGE_OUT ?= build/image
IMAGE_PACKAGES := mmdebstrap fdisk dosfstools mtools e2fsprogs openssl $(if $(filter arm64,$(ARCH)),qemu-user-static binfmt-support arch-test)
.PHONY: image test-image inspect-image boot-arm64
image: $(STAMP)
	@deploy/scripts/ensure-system-packages.sh $(IMAGE_PACKAGES)
	nice -n 19 deploy/image/build.sh --arch $(ARCH) --out $(IMAGE_OUT)

# Boots the amd64 image in QEMU (KVM when it works, else TCG) and checks the running kiosk over SSH, its
# watchdog, an update and a rollback. BOOT_TEST_ARGS="--keep DIR" keeps the serial logs and the card.
TEST_IMAGE_PACKAGES := qemu-system-x86 ovmf openssh-client
test-image: $(STAMP)
	@deploy/scripts/ensure-system-packages.sh $(TEST_IMAGE_PACKAGES)
	@test -f $(IMAGE_OUT)/kiosk-amd64.img || $(MAKE) image ARCH=amd64
	$(BIN)/python deploy/image/boot_test.py $(IMAGE_OUT)/kiosk-amd64.img $(BOOT_TEST_ARGS)

# Looks inside an image without booting or mounting it (partitions, boot files, units, fstab, venv; a
# line per check). make test runs the same checks on small images, and on built ones when there are some.
inspect-image: $(STAMP)
	$(BIN)/python deploy/image/inspect_image.py $(IMAGE_OUT)/kiosk-$(ARCH).img

# Boots the arm64 image's root on QEMU's virt board (TCG; the card's own kernel, initramfs and command line,
# as the Pi's firmware would load them) and checks first boot and the station as test-image does, with
# the time of each step (deploy/image/boot_arm64.py; BOOT_TEST_ARGS="--keep DIR" keeps the serial log).
boot-arm64: $(STAMP)
	@deploy/scripts/ensure-system-packages.sh qemu-system-arm openssh-client
	$(BIN)/python deploy/image/boot_arm64.py $(IMAGE_OUT)/kiosk-arm64.img $(BOOT_TEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
