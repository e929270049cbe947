#!/usr/bin/env bash
# Go vs HF (Python) preprocessing of a 1024x768 JPEG for 224x224 models, in one run.
# Usage (from the repository root): host/preprocess/imageproc/testdata/bench.sh [count]
set -euo pipefail
count=${1:-10}
venv=$(tools/fixtures/setup-venv.sh)
(cd host && go test -run '^$' -bench 'JPEG1024x768' -benchtime 20x -count "$count" ./preprocess/imageproc/) |
  "$venv/bin/python" -c '
import re, statistics, sys
runs, cpus = {}, {}
for line in sys.stdin:
    m = re.match(r"^(Benchmark\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op", line)
    if m:
        runs.setdefault(m.group(1), []).append(float(m.group(3)) / 1e6)
        c = re.search(r"([\d.]+) cpu-ms/op", line)
        if c:
            cpus.setdefault(m.group(1), []).append(float(c.group(1)))
for name, v in sorted(runs.items()):
    print(f"go {name} median_ms={statistics.median(v):.3f} min_ms={min(v):.3f} "
          f"median_cpu_ms={statistics.median(cpus.get(name, [0])):.3f} runs={len(v)}")
'
OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 "$venv/bin/python" host/preprocess/imageproc/testdata/bench_hf.py 50
