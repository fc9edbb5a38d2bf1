# pgshift — top-level entry points. Each target installs what it needs first, so any of them
# works as the first command on a fresh Debian 12 machine.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: all deps build test unit integration e2e package image demo demo-console bench clean

all: build

deps:
	@scripts/install-deps

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Every test: unit, integration (real PostgreSQL clusters) and e2e (real clients).
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L unit

integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L integration

e2e: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L e2e

# build/packages/pgshift_<version>_<arch>.deb (stripped) and its -dbgsym .ddeb (packaging/).
package: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target pgshift
	packaging/build-deb $(BUILD_DIR)

# build/packages/pgshift-image_<version>_<arch>.oci.tar: the OCI image, from an mmdebstrap root,
# Debian's packages and the .deb (load it with `podman load -i` or `docker load -i`).
image: package
	PGSHIFT_CONTAINERS_DIR=$(BUILD_DIR)/packaging/containers packaging/build-image \
	  $(BUILD_DIR)/packages/pgshift_*.deb $(BUILD_DIR)/packages $(BUILD_DIR)/packaging

# Starts local clusters, runs the main job on them, stops everything it started.
demo: build
	$(BUILD_DIR)/pgshift demo

# The same, then the read-only web console on the migrated target until Ctrl+C.
demo-console: build
	$(BUILD_DIR)/pgshift demo --console

bench: build
	@for b in bench/*/run; do echo "== $$b"; $$b || exit 1; done

clean:
	rm -rf $(BUILD_DIR)
