# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""``python -m nvib_hf.cli COMMAND ...``: the same as ``nvib-hf COMMAND ...`` (used by scripts/gpu_sweep.sh)."""

import sys

from nvib_hf.cli.main import main

sys.exit(main())
