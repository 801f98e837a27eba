#!/bin/bash
# Which tune.pipesize serves best? iperf3 (1 stream) through splicer's
# splice engine for several pipe sizes, in a private network namespace
# whose loopback MTU is MTU (default 65536; 1500 makes segments MSS-sized
# as on a real network, where a 64 KiB pipe fills its 16 slots with ~23 KiB).
# Prints Gbit/s at the receiver and splicer's CPU seconds per GB.
# usage: contrib/bench/pipesize.sh [MTU] [SECONDS]   (root: unshare --net)
set -eu
MTU=${1:-65536} SECS=${2:-4}
cd "$(dirname "$0")/../.."
SPLICER=$(pwd)/build/src/splicer
if [ -z "${IN_NETNS:-}" ]; then
	exec unshare --net -- env IN_NETNS=1 bash "$0" "$MTU" "$SECS"
fi
ip link set lo up
ip link set lo mtu "$MTU"
d=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$d"' EXIT
iperf3 -s -B 127.0.0.1 -p 5201 >/dev/null 2>&1 & pids+=($!)
sleep 0.3
echo "loopback MTU $MTU, ${SECS}s per run, 2 runs per size"
for size in 64k 256k 1m; do
	printf 'global\n  log stderr local0 err\n  nbthread 1\n  tune.pipesize %s\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\nlisten l\n  bind 127.0.0.1:5202\n  engine splice\n  server s 127.0.0.1:5201\n' "$size" >"$d/s.cfg"
	"$SPLICER" -f "$d/s.cfg" & sp=$!; pids+=($sp)
	sleep 0.3
	for run in 1 2; do
		c0=$(awk '{print $14+$15}' /proc/$sp/stat)
		out=$(iperf3 -c 127.0.0.1 -p 5202 -t "$SECS" -J)
		c1=$(awk '{print $14+$15}' /proc/$sp/stat)
		python3 -c 'import json,sys
j=json.loads(sys.argv[1]); r=j["end"]["sum_received"]
import os; cpu=(int(sys.argv[3])-int(sys.argv[2]))/os.sysconf("SC_CLK_TCK")
print("  tune.pipesize %-5s %6.2f Gbit/s  %.2f CPU s/GB" % (sys.argv[4], r["bits_per_second"]/1e9, cpu/(r["bytes"]/1e9)))' "$out" "$c0" "$c1" "$size"
	done
	kill $sp; wait $sp 2>/dev/null || true
done
