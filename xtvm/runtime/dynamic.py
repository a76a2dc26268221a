"""Outputs with a data-dependent length: bounded buffers sliced to their real size.

A compiled model writes such an output into a buffer of its static bound and its real
length along one axis into an extra int64 scalar output named ``xtvm.count:<axis>:<name>``
(the signature metadata carries it like any output, so the ABI is unchanged). This module
hides those count outputs and slices each bounded output to its real length after a call.
numpy only, like the rest of the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from xtvm.errors import XTVMError

COUNT_PREFIX = "xtvm.count:"


class DynamicOutputs:
    """Which outputs a caller sees, and which of them get sliced by which count output."""

    def __init__(self, outputs: Sequence[Mapping[str, Any]]):
        index = {str(o["name"]): k for k, o in enumerate(outputs)}
        self.visible: list[int] = []
        self.counts: dict[int, tuple[int, int]] = {}  # output -> (count output, axis)
        for k, o in enumerate(outputs):
            name = str(o["name"])
            if not name.startswith(COUNT_PREFIX):
                self.visible.append(k)
                continue
            axis_text, _, target = name[len(COUNT_PREFIX) :].partition(":")
            t = index.get(target)
            if t is None or not axis_text.isdigit() or int(axis_text) >= len(outputs[t]["shape"]):
                raise XTVMError(f"bad count output '{name}' in the module's metadata")
            self.counts[t] = (k, int(axis_text))

    def info(self, outputs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The visible outputs' info; a bounded one has ``dynamic_axis`` (its shape is the
        bound)."""
        out = []
        for k in self.visible:
            d = dict(outputs[k])
            if k in self.counts:
                d["dynamic_axis"] = self.counts[k][1]
            out.append(d)
        return out

    def finish(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The visible outputs of one call, bounded ones sliced to their real length."""
        if not self.counts:
            return list(arrays)
        result = []
        for k in self.visible:
            arr = arrays[k]
            if k in self.counts:
                c, axis = self.counts[k]
                n = int(arrays[c].reshape(-1)[0])
                if not 0 <= n <= arr.shape[axis]:
                    raise XTVMError(f"output {k}: real length {n} outside [0, {arr.shape[axis]}]")
                index = (slice(None),) * axis + (slice(0, n),)
                arr = arr[index] if axis == 0 else np.ascontiguousarray(arr[index])
            result.append(arr)
        return result
