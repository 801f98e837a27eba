#!/bin/bash
# splicer benchmark: installs the peers (as root on Debian), builds splicer
# if needed, then runs bench.py: direct, splicer (splice, copy,
# sockmap, auto), HAProxy and nginx stream side by side, interleaved, in one run.
# Arguments are passed to bench.py (--rounds N --seconds S --idle N
# --only throughput,latency,connect,idle). "bench.sh shaping [--rounds N
# --seconds S]" runs shaping.py instead: splicer's bandwidth limits against
# nginx's proxy_upload_rate / proxy_download_rate.
set -eu
cd "$(dirname "$0")/../.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends build-essential autoconf automake \
		libtool pkg-config libevent-dev libbpf-dev clang llvm bpftool check python3 iperf3 haproxy nginx \
		libnginx-mod-stream sockperf wrk >/dev/null
fi
if [ ! -x build/src/splicer ]; then
	autoreconf -fi >/dev/null 2>&1
	mkdir -p build
	(cd build && ../configure -q && make -j"$(nproc)" >/dev/null)
fi
if [ "${1:-}" = shaping ]; then
	shift
	exec python3 contrib/bench/shaping.py --splicer build/src/splicer "$@"
fi
exec python3 contrib/bench/bench.py --splicer build/src/splicer "$@"
