#!/usr/bin/env bash
# The GPU run (issue 26), on a lent GPU machine: install the kit (.whl/, from `make gpu-kit`, carried
# by the device tool), then experiments/gpu/run_gpu.py within RUN_S seconds of wall-clock time in all.
#
#   bash experiments/gpu/run.sh [OUT_DIR]          # OUT_DIR: default $OUT, else results/gpu_run_<time>
#   RUN_S=480 SAMKIT_FROM=checkout bash experiments/gpu/run.sh
#
# RUN_S (default 480): the whole script's budget; the driver gets what the install left, less a margin.
# SAMKIT_KIT (default .whl/), SAMKIT_SITE (default /tmp/site): the kit and where it is installed.
# SAMKIT_FROM=checkout (default): samkit from this checkout (it travels with every call, so it is the
#   newest code), the kit's other packages from /tmp/site; SAMKIT_FROM=wheel: the kit's samkit wheel.
# Extra arguments after OUT_DIR go to run_gpu.py (e.g. --parts env,tests,perf --models 'sam2').
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
START=$(date +%s)
RUN_S=${RUN_S:-480}
if [ $# -gt 0 ] && [[ "$1" != --* ]]; then OUT_DIR=$1; shift; else OUT_DIR=${OUT:-$ROOT/results/gpu_run_$(date -u +%Y%m%dT%H%M%SZ)}; fi
SITE=${SAMKIT_SITE:-/tmp/site}
KIT=${SAMKIT_KIT:-$ROOT/.whl}
WORK=${SAMKIT_GPU_WORK:-/tmp/samkit_gpu_work}
PY=${PYTHON:-python3}
mkdir -p "$OUT_DIR" && rm -f "$OUT_DIR/summary.md"
exec > >(tee -a "$OUT_DIR/run.log") 2>&1
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg

echo "[run.sh] $(date -u +%FT%TZ) root $ROOT, out $OUT_DIR, budget ${RUN_S}s"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | sed 's/^/[run.sh] gpu: /'
"$PY" --version
shopt -s nullglob
WHEELS=("$KIT"/*.whl)
if [ ${#WHEELS[@]} -eq 0 ]; then
    echo "[run.sh] no wheels in $KIT: run 'make gpu-kit' here first and carry [\".whl\"] in the device call"
    exit 2
fi
if [ -f "$KIT/MANIFEST.txt" ] && command -v sha256sum >/dev/null; then
    bad=$(cd "$KIT" && awk '!/^#/ && NF == 5 {print $4 "  " $5}' MANIFEST.txt | sha256sum --check --quiet 2>&1)
    [ -n "$bad" ] && echo "[run.sh] WARNING: wheels differ from $KIT/MANIFEST.txt: $bad"
fi
echo "[run.sh] installing ${#WHEELS[@]} wheels into $SITE"
rm -rf "$SITE" "$WORK"
"$PY" -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check --target "$SITE" "${WHEELS[@]}" \
    || { echo "[run.sh] pip install failed"; exit 3; }
if [ "${SAMKIT_FROM:-checkout}" = wheel ]; then
    export PYTHONPATH="$SITE"
else
    export PYTHONPATH="$ROOT:$SITE"
fi
echo "[run.sh] installed in $(( $(date +%s) - START ))s; PYTHONPATH=$PYTHONPATH"

LEFT=$(( RUN_S - ($(date +%s) - START) ))
BUDGET=$(( LEFT - 30 ))  # margin: start-up, the last model past its part's end, the outputs
[ "$BUDGET" -lt 60 ] && BUDGET=60
# SIGINT at the budget's end + 20 s (the driver writes what it has), SIGKILL 15 s later
timeout -s INT -k 15 $(( BUDGET + 20 )) "$PY" -P experiments/gpu/run_gpu.py "$OUT_DIR" --budget-s "$BUDGET" --work "$WORK" "$@"
rc=$?
if [ $rc -ne 0 ] && [ ! -f "$OUT_DIR/summary.md" ]; then  # killed before its outputs: write them from its saved state
    echo "[run.sh] driver exit $rc without outputs: writing them from $WORK"
    "$PY" -P experiments/gpu/run_gpu.py "$OUT_DIR" --work "$WORK" --finalize-only
fi
echo "[run.sh] done in $(( $(date +%s) - START ))s (driver exit $rc; 124: stopped at the time limit); files in $OUT_DIR:"
ls -la "$OUT_DIR"
[ -f "$OUT_DIR/summary.md" ] && exit 0  # partial results are results: summary.md says which parts ran
exit $(( rc == 0 ? 1 : rc ))
