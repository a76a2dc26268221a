"""x86 schedule of the ``rnn_cell`` stage: split the packed state axis at the hidden size.

An LSTM's new state is ``[h | c]`` along one axis of ``2 H``: the compute tells the halves
apart with ``j // H`` and reads gates at ``j % H``. Split by ``H`` first, then by the lane
count, those become the outer loop and the vector loop's offset (``tir-simplify``), so the
gate math (``sigmoid``, ``tanh``: inline vector code) runs on whole vectors instead of one
lane at a time through libm. The recurrent products keep the default schedule.
"""

from __future__ import annotations

from xdsl.dialects.builtin import TensorType

from xtvm.topi.schedule import Schedule, Stage
from xtvm.topi.x86.default import DefaultScheduleConfig, schedule_stage, vector_factor
from xtvm.topi.x86.registry import register_schedule


@register_schedule("rnn_cell")
def schedule_rnn_cell(
    s: Schedule, cell: Stage, epilogue: Stage | None, cfg: DefaultScheduleConfig
) -> None:
    if epilogue is not None:
        schedule_stage(epilogue, cfg)
    assert cell.compute is not None
    t = cell.compute.result.type
    assert isinstance(t, TensorType)
    hid = _hidden(s, cell)
    j = cell.axes[-1]
    f = vector_factor(hid, cfg.lanes(t.element_type), cfg.min_vector_factor) if hid else None
    if hid is None or f is None or j.extent % hid:
        schedule_stage(cell, cfg)
        return
    _, ji = cell.split(j, hid)
    _, lane = cell.split(ji, f)
    cell.vectorize(lane)


def _hidden(s: Schedule, cell: Stage) -> int | None:
    """H: the reduction extent of the cell's recurrent product (stage ``<cell>_rec``)."""
    for c in s.kernel.computes:
        if c.stage_name.data.startswith(f"{cell.name}_rec"):
            extents = s.stage(c).reduce_extents
            return extents[0] if len(extents) == 1 else None
    return None
