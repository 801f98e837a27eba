#!/bin/bash
# splicer benchmark: installs the peers (as root on Debian), builds splicer
# if needed, then runs compare.py: direct, the minimal splice loop (the
# physical reference), splicer's engines (splice, copy, sockmap, auto),
# HAProxy by default and with forced splice, and nginx stream, side by
# side, interleaved, in one run; then a local upstream (TCP in, unix out)
# against TCP out and direct. Arguments are passed to compare.py
# (--rounds N --seconds S --idle N --out DIR --targets ... --only
# throughput,latency,connect,idle,local,checks). "bench.sh shaping
# [--rounds N --seconds S]" runs shaping.py instead: splicer's bandwidth
# limits against nginx's proxy_upload_rate / proxy_download_rate.
set -eu
cd "$(dirname "$0")/../.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends build-essential autoconf automake \
		libtool pkg-config libevent-dev libbpf-dev clang llvm bpftool check python3 iperf3 haproxy nginx \
		libnginx-mod-stream python3-matplotlib >/dev/null
fi
if [ ! -x build/src/splicer ]; then
	autoreconf -fi >/dev/null 2>&1
	mkdir -p build
	(cd build && ../configure -q && make -j"$(nproc)" >/dev/null)
fi
# Debian's python3 (with python3-matplotlib), not another one first in PATH.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
if [ "${1:-}" = shaping ]; then
	shift
	exec "$PY" contrib/bench/shaping.py --splicer build/src/splicer "$@"
fi
exec "$PY" contrib/bench/compare.py --splicer build/src/splicer "$@"
