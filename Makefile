# Thin wrapper over meson: the real build description is meson.build.
#
#   make            build everything into build/
#   make check      build and run every test (unit, sanitizer tree, iotests)
#   make demo       build and run the live-mirror demo
#   make bench-micro   micro-benchmarks (coroutines, HBitmap)
#   make bench-io   the block layer's I/O beside fio (IO_BENCH_ARGS=...)
#   make bench-mirror  qblockd's mirror beside qemu-storage-daemon and dd
#                   (MIRROR_BENCH_ARGS=...)
#   make bench-nbd  qblockd's NBD server beside qemu-nbd and
#                   qemu-storage-daemon, with fio (NBD_BENCH_ARGS=...)
#   make bench-qcow2  qblock-img bench beside qemu-img bench on qcow2
#                   (QCOW2_BENCH_ARGS=...)
#   make fuzz       build the libFuzzer targets with clang and run each
#
# A missing build dependency is installed by scripts/install-deps.sh when
# make runs as root; otherwise the apt-get line to run is printed.

BUILD     ?= build
SAN_BUILD ?= build-san
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
MESON     ?= meson
NINJA     ?= ninja

.PHONY: all deps build build-san check check-unit demo bench-micro bench-io \
	bench-mirror bench-nbd bench-qcow2 \
	fuzz clean distclean

all: build

deps:
	@scripts/install-deps.sh --ensure

$(BUILD)/build.ninja: | deps
	$(MESON) setup $(BUILD) . --buildtype=debugoptimized

$(SAN_BUILD)/build.ninja: | deps
	$(MESON) setup $(SAN_BUILD) . --buildtype=debug \
	    -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dc_args=-fno-sanitize-recover=undefined

build: $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

build-san: $(SAN_BUILD)/build.ninja
	$(NINJA) -C $(SAN_BUILD)

check: build build-san
	@python3 scripts/check.py --build $(BUILD) --san-build $(SAN_BUILD)

check-unit: build
	@python3 scripts/check.py --build $(BUILD) --no-san

demo: build
	@python3 scripts/demo.py --build $(BUILD)

bench-micro: $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD) bench/bench-micro
	$(BUILD)/bench/bench-micro

# BlockBackend -> io.c -> file node (cache.direct=on, aio=io_uring) beside
# fio on a 1 GiB file in $TMPDIR; e.g. IO_BENCH_ARGS="--repeat 3 --dir /var/tmp"
bench-io: $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD) bench/io-bench
	python3 bench/io-bench.py --build $(BUILD) $(IO_BENCH_ARGS)

# The same blockdev-mirror of 2 GiB images with qblockd and the real
# qemu-storage-daemon, alternating, beside dd; needs about 7 GiB in
# $TMPDIR; e.g. MIRROR_BENCH_ARGS="--repeat 3 --only direct direct-1m"
bench-mirror: build
	python3 bench/mirror-bench --build $(BUILD) $(MIRROR_BENCH_ARGS)

# The NBD server beside qemu-nbd and qemu-storage-daemon serving the same
# 1 GiB raw file over a unix socket, fio's nbd engine at queue depth 1 and
# 16; e.g. NBD_BENCH_ARGS="--repeat 5 --only read-qd16"
bench-nbd: build
	python3 bench/nbd-bench --build $(BUILD) $(NBD_BENCH_ARGS)

# qblock-img bench and qemu-img bench on fresh, preallocated and
# fragmented 256 MiB qcow2 images in $TMPDIR, cache.direct=on and the
# page cache; e.g. QCOW2_BENCH_ARGS="--repeat 5 --only rand-w4-qd16"
bench-qcow2: build
	python3 bench/qcow2-bench --build $(BUILD) $(QCOW2_BENCH_ARGS)

# libFuzzer targets, built with clang, ASan and UBSan (a UBSan report
# stops the run, as a crash does); each of FUZZ_TARGETS runs for
# FUZZ_SECONDS from the seed corpus in tests/fuzz/corpus/<target> and
# the seeds that tests/fuzz/gen-<target>-corpus.py writes (with the
# dictionary tests/fuzz/<target>.dict if there is one), an input that
# takes over 10 s counting as a hang.  One target for ten minutes:
# make fuzz FUZZ_TARGETS=qcow2-open FUZZ_SECONDS=600
FUZZ_TARGETS ?= qmp qcow2-open nbd-server

$(FUZZ_BUILD)/build.ninja: | deps
	CC=clang $(MESON) setup $(FUZZ_BUILD) . --buildtype=debugoptimized \
	    -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false \
	    "-Dc_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined"

fuzz: $(FUZZ_BUILD)/build.ninja
	$(NINJA) -C $(FUZZ_BUILD) $(FUZZ_TARGETS:%=tests/fuzz/fuzz-%)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus-$$t && \
	    if [ -d tests/fuzz/corpus/$$t ]; then \
	        cp tests/fuzz/corpus/$$t/* $(FUZZ_BUILD)/corpus-$$t/; fi && \
	    if [ -f tests/fuzz/gen-$$t-corpus.py ]; then \
	        python3 tests/fuzz/gen-$$t-corpus.py \
	            $(FUZZ_BUILD)/corpus-$$t; fi && \
	    dict=; if [ -f tests/fuzz/$$t.dict ]; then \
	        dict=-dict=tests/fuzz/$$t.dict; fi && \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	    $(FUZZ_BUILD)/tests/fuzz/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) $$dict \
	        -max_len=65536 -timeout=10 -artifact_prefix=$(FUZZ_BUILD)/ \
	        $(FUZZ_BUILD)/corpus-$$t || exit 1; \
	done

clean:
	-$(NINJA) -C $(BUILD) clean
	-$(NINJA) -C $(SAN_BUILD) clean

distclean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)
