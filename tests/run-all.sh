#!/bin/bash
# Install what splicer needs on Debian 12, build it twice (release with
# warnings as errors, then ASan+UBSan), run every test in both builds and
# print "N passed, N failed" last. Run as root from the source tree.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends \
		build-essential autoconf automake libtool pkg-config \
		libevent-dev libbpf-dev check clang libclang-rt-14-dev llvm bpftool \
		python3 iproute2 util-linux procps socat iperf3 haproxy prometheus \
		systemd libsystemd-dev libcap-ng-dev python3-yaml \
		devscripts debhelper lintian dpkg-dev mandoc adduser \
		redis-server postgresql mariadb-server slapd openssl nftables >/dev/null || {
		echo "apt-get install failed"; echo "0 passed, 1 failed"; exit 1; }
fi

log() { printf '\n=== %s\n' "$*"; }
status=0

log "autoreconf"
autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; echo "0 passed, 1 failed"; exit 1; }

build() {  # build DIR CONFIGURE-ARGS...
	local dir=$1; shift
	rm -rf "$dir"
	mkdir -p "$dir"
	log "configure $* ($dir)"
	(cd "$dir" && "$top/configure" "$@" >configure.out 2>&1) || { cat "$dir/configure.out"; return 1; }
	sed -n '/^splicer .* configured:/,$p' "$dir/configure.out"
	log "make ($dir)"
	make -C "$dir" -j"$(nproc)" >"$dir/make.out" 2>&1 || { tail -50 "$dir/make.out"; return 1; }
	log "make check ($dir)"
	make -C "$dir" -j1 check >"$dir/check.out" 2>&1
	local rc=$?
	grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS): ' "$dir/check.out"
	for f in "$dir"/tests/*.log "$dir"/tests/integration/*.log "$dir"/tests/fuzz/*.log; do
		[ -f "$f" ] || continue
		case "$f" in */test-suite.log) continue;; esac
		# A failure with the lines that follow it (a traceback), up to 25.
		# A fuzz replay that crashed has no result line: its sanitizer report.
		case "$f" in */tests/fuzz/replay_*.log) grep -q ' passed, ' "$f" ||
			{ echo "--- $f"; tail -25 "$f" | cut -c1-2000; }; continue;; esac
		grep -qE '^(FAIL|.*:F:|.*:E:)' "$f" && { echo "--- $f"; awk '
			/^(FAIL|.*:F:|.*:E:)/ { n = 25; print; next }
			/^(PASS|SKIP) / { n = 0 }
			n > 0 { n--; print }' "$f" | cut -c1-2000; }
	done
	return $rc
}

build build --enable-werror --enable-bpf || status=1
# Without BPF nor libsystemd (./configure --disable-bpf --without-systemd):
# it must build, and say so.
log "build without BPF nor libsystemd (build-nobpf)"
rm -rf build-nobpf && mkdir -p build-nobpf/tests/integration
if (cd build-nobpf && "$top/configure" --enable-werror --disable-bpf --without-systemd >configure.out 2>&1 &&
    make -j"$(nproc)" src/splicer contrib/systemd/splicer.service >make.out 2>&1 &&
    ./src/splicer -V | grep -q "built without BPF" &&
    ./src/splicer -V | grep -q "built without libsystemd" &&
    grep -q "^Type=simple$" contrib/systemd/splicer.service); then
	echo "PASS: build without BPF"
	echo "1 passed, 0 failed" >build-nobpf/tests/integration/test_nobpf.log
else
	echo "FAIL: build without BPF"; tail -30 build-nobpf/configure.out build-nobpf/make.out 2>/dev/null
	echo "0 passed, 1 failed" >build-nobpf/tests/integration/test_nobpf.log
	status=1
fi
# Second build: AddressSanitizer + UndefinedBehaviorSanitizer over the
# whole suite; the integration harness fails a test on any report.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	build build-asan --enable-werror --enable-sanitizers --enable-bpf || status=1

# Fuzzing: each libFuzzer target for FUZZ_SECONDS (30 s) from the seed
# corpus, in its own clang build (tests/fuzz/run.sh). Every build above
# already replayed the corpus and the regressions in make check; this
# looks for new inputs. One passed or failed test per target.
log "fuzz, ${FUZZ_SECONDS:-30} s per target (build-fuzz)"
rm -rf build-fuzz
FUZZ_NICE=0 tests/fuzz/run.sh -t "${FUZZ_SECONDS:-30}" -b "$top/build-fuzz" || status=1

log "summary (release + sanitizers + fuzzing)"
tests/summary.sh build build-asan build-nobpf build-fuzz || status=1
exit $status
