#!/bin/bash
# splicer demo: install, build, then measure iperf3 on loopback directly
# and through splicer (splice engine), and print both in Gbit/s.
# Run as root on Debian 12 from the source tree.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends build-essential autoconf automake \
		libtool pkg-config libevent-dev check python3 iperf3 >/dev/null
fi
if [ ! -x build/src/splicer ]; then
	autoreconf -fi >/dev/null 2>&1
	mkdir -p build
	(cd build && ../configure -q && make -j"$(nproc)" >/dev/null)
fi
SPLICER=$(pwd)/build/src/splicer
SECONDS_EACH=${SECONDS_EACH:-5}
PORT_SRV=15201 PORT_SPL=15202
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

iperf3 -s -B 127.0.0.1 -p $PORT_SRV >/dev/null 2>&1 & pids+=($!)
"$SPLICER" --listen 127.0.0.1:$PORT_SPL --upstream 127.0.0.1:$PORT_SRV --engine splice \
	2>/tmp/splicer-demo.log & pids+=($!)
sleep 1

gbps() {  # gbps PORT [iperf3 args]: receiver-side Gbit/s
	local port=$1; shift
	iperf3 -c 127.0.0.1 -p "$port" -t "$SECONDS_EACH" -J "$@" |
		python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'
}
echo "iperf3 over loopback, ${SECONDS_EACH}s each, 1 stream (receiver side):"
d=$(gbps $PORT_SRV); echo "  direct:                 $d Gbit/s"
s=$(gbps $PORT_SPL); echo "  through splicer:        $s Gbit/s"
d8=$(gbps $PORT_SRV -P 8); echo "  direct, 8 streams:      $d8 Gbit/s"
s8=$(gbps $PORT_SPL -P 8); echo "  through splicer, 8 str: $s8 Gbit/s"
python3 -c "print('  splicer / direct: %.2f (1 stream), %.2f (8 streams)' % ($s/$d, $s8/$d8))"
