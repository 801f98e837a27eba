#!/bin/bash
# Install what splicer needs on Debian 12, build it twice (release with
# warnings as errors, then ASan+UBSan), run every test in both builds,
# build without BPF, fuzz a while, run "make distcheck" (unit tests and a
# few integration files: see DISTCHECK_INTEGRATION) and print
# "N passed, N failed, N skipped" last. Run as root from the source tree.
#
#   tests/run-all.sh [--cpu-hog] [--repeat N] [--release-only] [--only FILE...]
#
#   --cpu-hog       run the tests while one busy loop per core (nice -5)
#                   keeps every core busy; the loops are started and ended
#                   by this script (by pid, also on failure or ^C)
#   --repeat N      run each build's "make check" N times in a row; the
#                   summary counts every round
#   --release-only  only the release build's tests: no sanitizer build, no
#                   build without BPF, no fuzzing, no distcheck
#   --only FILE...  only these integration files (test_relay.py, relay or
#                   tests/integration/test_relay.py), no unit tests, in the
#                   builds that run; implies no fuzzing and no distcheck
set -u
cd "$(dirname "$0")/.."
top=$(pwd)

usage() { sed -n '8,19p' "$0" >&2; exit 2; }
hog=0 rounds=1 release_only=0 only=""
while [ $# -gt 0 ]; do
	case $1 in
	--cpu-hog) hog=1 ;;
	--repeat) [ $# -ge 2 ] && [ "$2" -ge 1 ] 2>/dev/null || usage; rounds=$2; shift ;;
	--release-only) release_only=1 ;;
	--only)
		shift
		[ $# -gt 0 ] || usage
		while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do
			f=${1##*/}; f=${f%.py}; f=tests/integration/test_${f#test_}.py
			[ -f "$f" ] || { echo "no integration file $f" >&2; exit 2; }
			only="$only $f"; shift
		done
		continue ;;
	*) usage ;;
	esac
	shift
done

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends \
		build-essential autoconf automake libtool pkg-config \
		libevent-dev libbpf-dev check clang libclang-rt-14-dev llvm bpftool \
		python3 iproute2 util-linux procps socat iperf3 haproxy prometheus prometheus-haproxy-exporter \
		systemd libsystemd-dev libcap-ng-dev python3-yaml \
		devscripts debhelper lintian dpkg-dev mandoc adduser \
		redis-server postgresql mariadb-server slapd openssl nftables >/dev/null || {
		echo "apt-get install failed"; echo "0 passed, 1 failed"; exit 1; }
fi

log() { printf '\n=== %s\n' "$*"; }
status=0

# The CPU hog: one busy loop per core, at a higher priority than the tests
# (nice -5; as non-root, nice cannot go below 0 and they run at 0).
hog_pids=""
hog_start() {
	[ "$hog" = 1 ] || return 0
	local i
	for i in $(seq "$(nproc)"); do
		nice -n -5 sh -c 'while :; do :; done' 2>/dev/null &
		hog_pids="$hog_pids $!"
	done
	echo "cpu hog: busy loops$hog_pids"
}
hog_stop() {
	local p
	for p in $hog_pids; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	hog_pids=""
}
trap hog_stop EXIT
trap 'exit 130' INT TERM

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
	local rc=0 round
	for round in $(seq "$rounds"); do
		check_round "$dir" "$round" || rc=1
	done
	return $rc
}

# One "make check" in DIR, under the hog if asked; its logs are kept in
# DIR/rounds/N (what tests/summary.sh counts) and its failures shown.
check_round() {  # check_round DIR N
	local dir=$1 round=$2 rc
	log "make check ($dir, round $round of $rounds)"
	hog_start
	if [ -n "$only" ]; then
		make -C "$dir" -j1 check TESTS="${only# }" >"$dir/check.out" 2>&1
	else
		make -C "$dir" -j1 check >"$dir/check.out" 2>&1
	fi
	rc=$?
	hog_stop
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
	rm -rf "$dir/rounds/$round"
	mkdir -p "$dir/rounds/$round/tests/integration"
	(cd "$dir" && find tests -name '*.log' ! -name test-suite.log -exec cp --parents {} "rounds/$round/" \;)
	# make check failing before any test ran (a check program that does
	# not build) leaves no log to count: one failure.
	if [ $rc != 0 ] && tests/summary.sh "$dir/rounds/$round" >/dev/null 2>&1; then
		echo "0 passed, 1 failed" >"$dir/rounds/$round/tests/integration/test_make_check.log"
	fi
	echo "round $round ($dir): $(tests/summary.sh "$dir/rounds/$round" 2>&1 | tail -n 1)"
	return $rc
}

build build --enable-werror --enable-bpf || status=1
dirs="build/rounds/*"

# make distcheck: the tarball builds, its tests pass, it installs and
# uninstalls cleanly, from a read-only source tree. The whole suite runs
# in each build above already (the release build's make check took 17.5
# minutes on the shared 2-core machine, load 9; ASan's is slower), a
# third run would not fit in CI's hour, so distcheck runs the unit tests,
# the fuzz replays and the integration files below (2.5 minutes with
# its build and install): those that read the
# source tree's files (configs, man pages, the HAProxy corpus) and the
# basic relay, what a tarball missing a file would break. One test per
# test program in the summary.
DISTCHECK_INTEGRATION="tests/integration/test_cli.py tests/integration/test_man.py
	tests/integration/test_relay.py"
distcheck() {
	local tests out=build/distcheck.out
	log "make distcheck (unit tests, fuzz replays, $(echo $DISTCHECK_INTEGRATION))"
	tests=$(make -s -C build -f Makefile -f - print-tests <<-'EOF' | tr ' ' '\n' | grep -v '^tests/integration/'
	print-tests: ; @echo $(TESTS)
	EOF
	)
	mkdir -p build-distcheck/tests/integration
	make -C build -j"$(nproc)" distcheck TESTS="$(echo $tests $DISTCHECK_INTEGRATION)" >"$out" 2>&1
	local rc=$?
	grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS): ' "$out"
	[ $rc = 0 ] || tail -40 "$out"
	# automake's own summary: "# PASS:  N" and so on, per test program.
	local p f s
	p=$(sed -n 's/^# PASS: *//p' "$out" | tail -n 1)
	f=$(sed -n 's/^# \(FAIL\|XPASS\|ERROR\): *//p' "$out" | awk '{ n += $1 } END { print n + 0 }')
	s=$(sed -n 's/^# SKIP: *//p' "$out" | tail -n 1)
	# A distcheck that failed outside the tests is one failure more.
	[ $rc = 0 ] || f=$((f + 1))
	echo "${p:-0} passed, $f failed, ${s:-0} skipped" >build-distcheck/tests/integration/test_distcheck.log
	return $rc
}

if [ "$release_only" = 0 ]; then
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
	dirs="$dirs build-asan/rounds/* build-nobpf"
fi

if [ "$release_only" = 0 ] && [ -z "$only" ]; then
	# Fuzzing: each libFuzzer target for FUZZ_SECONDS (30 s) from the seed
	# corpus, in its own clang build (tests/fuzz/run.sh). Every build above
	# already replayed the corpus and the regressions in make check; this
	# looks for new inputs. One passed or failed test per target.
	log "fuzz, ${FUZZ_SECONDS:-30} s per target (build-fuzz)"
	rm -rf build-fuzz
	FUZZ_NICE=0 tests/fuzz/run.sh -t "${FUZZ_SECONDS:-30}" -b "$top/build-fuzz" || status=1
	distcheck || status=1
	dirs="$dirs build-fuzz build-distcheck"
fi

log "summary ($rounds round(s)${only:+, only$only}$([ $hog = 1 ] && echo ", under a cpu hog"))"
# shellcheck disable=SC2086  # the round directories are globs
tests/summary.sh $dirs || status=1
exit $status
