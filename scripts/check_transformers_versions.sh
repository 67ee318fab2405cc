#!/usr/bin/env bash
# Run the test suite against given transformers versions, each in its own fresh virtual environment.
#
#   scripts/check_transformers_versions.sh 5.24.0 5.25.0            # the whole suite
#   TESTS="tests/test_modeling_nvae.py tests/test_generation.py" scripts/check_transformers_versions.sh 5.25.0
#
# The supported range is pyproject.toml's `transformers>=5.24,<5.40`: 5.24.0 is the lowest (5.23 and older lack the
# `cache` field of the decoder outputs, which this package uses) and 5.25.0 the newest released when this was written.
# transformers 5.25 depends on `kernels>=0.19.1`, and enables hub kernels in `from_pretrained` by default; where that
# package is not on the index (this project's machine), transformers is installed without its dependencies and
# `USE_HUB_KERNELS=0` (transformers' own switch) turns the hub kernels off. Our model uses none of them.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
tests="${TESTS:-tests}"
[ "$#" -gt 0 ] || { echo "usage: $0 VERSION [VERSION ...]" >&2; exit 2; }
for version in "$@"; do
    work="$(mktemp -d)"
    python -m venv "$work/venv"
    pip="$work/venv/bin/pip"
    "$pip" install -q torch==2.13.0
    "$pip" install -q -e "$repo[dev]" "transformers==$version" 2>/dev/null || {
        echo "transformers $version: its dependencies do not resolve here; installing it with --no-deps"
        "$pip" install -q -e "$repo[dev]"
        "$pip" install -q --no-deps "transformers==$version"
        "$pip" install -q "huggingface-hub>=2.4,<3" 2>/dev/null || true
    }
    echo "== transformers $("$work/venv/bin/python" -c 'import transformers; print(transformers.__version__)')"
    # shellcheck disable=SC2086
    (cd "$repo" && USE_HUB_KERNELS=0 "$work/venv/bin/python" -m pytest -q -p no:cacheprovider $tests)
    rm -rf "$work"
done
