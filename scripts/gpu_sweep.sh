#!/bin/bash
# How README "Results", run 1, was produced on a lent GPU machine: the sweep at the largest --budget that fits a
# time limit. Not needed with a normal GPU box: there, run `nvib-hf reproduce --config ... --budget B --jobs 9`.
#
#   bash scripts/gpu_sweep.sh CONFIG DEADLINE_SECONDS [OUTPUT_DIR]   (default results-gpu; logs and runs.tgz to $OUT)
#
# Steps: install wheels carried in .whl/ when the machine lacks datasets or transformers 5.24 (build that folder
# with `pip download --no-deps --python-version 3.12 ... transformers==5.24.0 datasets==5.2.0 dill multiprocess`);
# rehearse the sweep at budget 0.1 without validations (every code path on the GPU, and the bare step time); pick
# the budget whose training fits the time left, counting the rehearsal's fixed costs twice; run the sweep into
# OUTPUT_DIR (a fresh one: the sweep resumes from what a directory holds); pack it (without weights) into $OUT.
set -u
CFG=$1
DEADLINE=$2
RESULTS=${3:-results-gpu}
T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false HF_DATASETS_DISABLE_PROGRESS_BARS=1
# The GPU image has transformers 5.17 and no datasets: install the tested versions (wheels carried in .whl).
if ! python3 -c "import datasets, transformers, sys; sys.exit(transformers.__version__ != '5.24.0')" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 3
  if ! python3 -c "import pyarrow,sys; print('pyarrow', pyarrow.__version__); sys.exit(int(pyarrow.__version__.split('.')[0]) < 24)"; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/pyarrow/*.whl || exit 3
  fi
fi
export PYTHONPATH=/tmp/site:$PWD
python3 -c "import torch, transformers, datasets, nvib_hf; print(torch.__version__, transformers.__version__, datasets.__version__, torch.cuda.is_available() and torch.cuda.get_device_name())" || exit 4
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
JOBS=${JOBS:-9}
CLI="python3 -m nvib_hf.cli reproduce --config $CFG --jobs $JOBS"
echo "== rehearsal at $(elapsed) s"
R=/tmp/rehearsal
rm -rf $R  # a fresh rehearsal: the sweep would resume from an old one
# No validation or checkpoint inside the rehearsal's training, so that its steps per second are the bare step time.
python3 -c "import yaml,sys; c=yaml.safe_load(open('$CFG')); c['interval_steps']=100000; yaml.safe_dump(c, open('/tmp/rehearsal.yaml','w'))"
START=$(elapsed)
timeout 240 python3 -m nvib_hf.cli reproduce --config /tmp/rehearsal.yaml --jobs $JOBS --budget ${REHEARSAL_BUDGET:-0.1} --output-dir $R > $OUT/rehearsal.log 2>&1
RC=$?
echo "rehearsal rc=$RC at $(elapsed) s"
tail -n 25 $OUT/rehearsal.log
REH=$(( $(elapsed) - START ))
if [ $RC -ne 0 ]; then
  tar czf $OUT/runs.tgz $R/runs/*/worker.log $R/lm/worker.log 2>/dev/null
  exit 5
fi
# Largest budget whose training fits: the rehearsal's fixed costs (start-up, evaluation) are counted twice as a margin.
BUDGET=$(python3 - "$R" "$DEADLINE" "$REH" "$(elapsed)" "${REHEARSAL_BUDGET:-0.1}" <<'EOF'
import json, re, sys
from pathlib import Path
out, deadline, rehearsal, now = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rates = []
for log in out.glob("runs/*/worker.log"):
    found = re.findall(r"'train_steps_per_second': '?([0-9.]+)", log.read_text())
    if found:
        rates.append(float(found[-1]))
step = 1.0 / min(rates)  # the slowest model sets the pace (all train at once)
fixed = rehearsal - 1800 * float(sys.argv[5]) * step  # start-up, evaluation, language models
left = deadline - now - 2.0 * fixed - 40
budget = max(0.1, min(8.0, left / (1800 * step * 1.2)))
print(f"{budget:.2f}")
print(f"step {step*1000:.1f} ms (slowest of {len(rates)}), time left {left:.0f} s", file=sys.stderr)
EOF
)
echo "== budget $BUDGET at $(elapsed) s"
LEFT=$(( DEADLINE - $(elapsed) - 25 ))
timeout $LEFT $CLI --budget $BUDGET --output-dir $RESULTS > $OUT/sweep.log 2>&1
echo "sweep rc=$? at $(elapsed) s"
tail -n 40 $OUT/sweep.log
tar czf $OUT/runs.tgz --exclude='*.safetensors' --exclude='*.py' --exclude='checkpoints' --exclude='tokenizer*' \
  --exclude='rppl_lm' --exclude='reference' --exclude='events.out*' $RESULTS $R/results.md $R/run_info.json 2>/dev/null
ls -la $OUT
echo "done at $(elapsed) s"
