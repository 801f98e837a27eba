#!/bin/sh
# Sum the results of a "make check" run from its per-test logs.
# Usage: tests/summary.sh BUILDDIR...   Prints "N passed, N failed, N skipped".
# A check program reports "Checks: N, Failures: F, Errors: E"; an
# integration script, a fuzz replay (make check) and a fuzz run
# (tests/fuzz/run.sh) end with "N passed, N failed[, N skipped]". A test log with
# neither line (a crash, a missing tool) counts as one failure.
passed=0
failed=0
skipped=0
for dir in "$@"; do
	for log in "$dir"/tests/check_*.log "$dir"/tests/integration/test_*.log "$dir"/tests/fuzz/*.log; do
		[ -f "$log" ] || continue
		line=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -n 1)
		if [ -n "$line" ]; then
			n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
			f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
			e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
			passed=$((passed + n - f - e))
			failed=$((failed + f + e))
			continue
		fi
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -n 1)
		if [ -n "$line" ]; then
			passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
			failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
			skipped=$((skipped + $(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped$/\1/p' | grep . || echo 0)))
			continue
		fi
		echo "no result line in $log" >&2
		failed=$((failed + 1))
	done
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
