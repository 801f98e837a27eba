#!/bin/bash
# Run every fuzz target (or those named) for a bounded time, one after
# the other, and print per target the executions, the coverage reached
# (libFuzzer's cov/ft) and the crashes. Exits non-zero on any crash.
#
#   tests/fuzz/run.sh [-t SECONDS-PER-TARGET] [-b BUILDDIR] [TARGET...]
#
# The build directory (default: build-fuzz at the top of the tree) is
# configured with CC=clang --enable-fuzzing when it has no fuzz targets
# yet. Each target keeps the inputs it finds in BUILDDIR/fuzz-corpus/NAME,
# so that runs add up; a crash is saved under
# tests/fuzz/regressions/candidates/NAME/ (minimise it, fix the parser,
# then move it to tests/fuzz/regressions/NAME/ so that make check replays
# it). Each target also writes BUILDDIR/tests/fuzz/run_NAME.log, ending
# with "1 passed, 0 failed" or "0 passed, 1 failed" for tests/summary.sh.
#
# FUZZ_TIMEOUT (seconds, default 1) is libFuzzer's limit for one input; on
# a machine shared with other work, raise it for long runs, or a stall of
# the whole machine is reported as a hang of the parser.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=60
build=$top/build-fuzz
while getopts t:b: opt; do
	case $opt in
	t) secs=$OPTARG ;;
	b) build=$OPTARG ;;
	*) echo "usage: $0 [-t SECONDS] [-b BUILDDIR] [TARGET...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
all="conf_lex conf proxy_proto admin units sockaddr check_answer inspect dns"
targets=${*:-$all}

# A build that fails is one failed test in the summary, not none.
build_failed() {
	mkdir -p "$build/tests/fuzz"
	echo "0 passed, 1 failed" >"$build/tests/fuzz/run_build.log"
	exit 1
}
rm -f "$build/tests/fuzz/run_build.log"

# Build what is missing (configure once; make is a no-op when up to date).
if ! grep -q '^FUZZ_LDFLAGS = -fsanitize=fuzzer' "$build/Makefile" 2>/dev/null; then
	[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null 2>&1) || build_failed
	mkdir -p "$build"
	(cd "$build" && CC=clang "$top/configure" --enable-fuzzing --disable-bpf >configure.out 2>&1) ||
		{ tail -20 "$build/configure.out"; build_failed; }
	# Objects of an earlier configuration lack the instrumentation.
	make -C "$build" clean >/dev/null 2>&1
fi
progs=
for t in $targets; do progs="$progs tests/fuzz/fuzz_$t"; done
make -C "$build" -j2 $progs >"$build/fuzz-make.out" 2>&1 || { tail -30 "$build/fuzz-make.out"; build_failed; }

status=0
mkdir -p "$build/tests/fuzz"
for t in $targets; do
	work=$build/fuzz-corpus/$t
	crashes=$top/tests/fuzz/regressions/candidates/$t
	log=$build/tests/fuzz/run_$t.log
	mkdir -p "$work" "$crashes"
	seeds="$top/tests/fuzz/corpus/$t"
	# The lexer learns from the configuration files too.
	[ "$t" = conf_lex ] && seeds="$seeds $top/tests/fuzz/corpus/conf"
	[ -d "$top/tests/fuzz/regressions/$t" ] && seeds="$seeds $top/tests/fuzz/regressions/$t"
	dict=$top/tests/fuzz/dict/${t/conf_lex/conf}.dict
	dictarg=
	[ -f "$dict" ] && dictarg=-dict=$dict
	before=$(ls "$crashes" | wc -l)
	# shellcheck disable=SC2086
	nice -n "${FUZZ_NICE:-10}" "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" \
		-timeout=${FUZZ_TIMEOUT:-1} -rss_limit_mb=512 -print_final_stats=1 $dictarg \
		-artifact_prefix="$crashes/" "$work" $seeds >"$log.out" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log.out" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log.out" | tail -1)
	found=$(( $(ls "$crashes" | wc -l) - before ))
	[ "$rc" -ne 0 ] && [ "$found" -eq 0 ] && found=1	# died without an artifact
	line="fuzz_$t: ${execs:-0} executions, ${cov:-no coverage line}, $found crashes in ${secs}s"
	echo "$line"
	{ cat "$log.out"; echo "$line"; } >"$log"
	if [ "$found" -ne 0 ]; then
		grep -E 'ERROR|runtime error|property failed|SUMMARY' "$log.out" | head -5
		echo "  saved in $crashes/"
		echo "0 passed, 1 failed" >>"$log"
		status=1
	else
		rmdir "$crashes" 2>/dev/null
		echo "1 passed, 0 failed" >>"$log"
	fi
	rm -f "$log.out"
done
rmdir "$top/tests/fuzz/regressions/candidates" 2>/dev/null
exit $status
