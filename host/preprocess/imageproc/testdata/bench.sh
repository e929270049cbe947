#!/usr/bin/env bash
# Go vs HF (Python) preprocessing of a 1024x768 JPEG for 224x224 models, in one run.
# Usage (from the repository root): host/preprocess/imageproc/testdata/bench.sh [count]
# Go runs twice: with the default GOMAXPROCS (row-parallel passes use the
# machine's cores) and with GOMAXPROCS=1 (one core, as HF's Python here).
# GO_HOST=dir benchmarks the imageproc package of another copy of the host
# module (e.g. an older commit's, for before/after figures).
set -euo pipefail
count=${1:-10}
venv=$(tools/fixtures/setup-venv.sh)
host=${GO_HOST:-host}
summarize() {
  "$venv/bin/python" -c '
import re, statistics, sys
tag = sys.argv[1]
runs, cpus = {}, {}
for line in sys.stdin:
    m = re.match(r"^(Benchmark\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op", line)
    if m:
        runs.setdefault(m.group(1), []).append(float(m.group(3)) / 1e6)
        c = re.search(r"([\d.]+) cpu-ms/op", line)
        if c:
            cpus.setdefault(m.group(1), []).append(float(c.group(1)))
for name, v in sorted(runs.items()):
    print(f"{tag} {name} median_ms={statistics.median(v):.3f} min_ms={min(v):.3f} "
          f"median_cpu_ms={statistics.median(cpus.get(name, [0])):.3f} runs={len(v)}")
' "$1"
}
echo "load average before: $(cat /proc/loadavg)"
(cd "$host" && go test -run '^$' -bench 'JPEG1024x768' -benchtime 20x -count "$count" ./preprocess/imageproc/) | summarize go
(cd "$host" && GOMAXPROCS=1 go test -run '^$' -bench 'JPEG1024x768' -benchtime 20x -count "$count" ./preprocess/imageproc/) | summarize go-1cpu
OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 "$venv/bin/python" host/preprocess/imageproc/testdata/bench_hf.py 50
echo "load average after: $(cat /proc/loadavg)"
