# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Running a model in evaluation mode for a while and giving it back in the mode it had."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["evaluation_mode"]


@contextmanager
def evaluation_mode(model: Any) -> Iterator[Any]:
    """``model.eval()`` inside the block (NVIB: posterior means and pruning, no dropout), then ``model.train(mode)``
    with the mode it had before, also when the block raises."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
