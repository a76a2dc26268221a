"""x86 schedules of the blocked-layout convolutions (``conv2d_nchwc`` and its depthwise form).

Register blocking as in TVM's x86 ``conv2d_NCHWc`` schedule. One iteration of the output
loops produces a tile of ``oh_block`` rows x ``ow_block`` columns x ``oc_blocks`` channel
blocks (each ``vec_block`` SIMD vectors wide); its accumulators live in a small local
buffer (the epilogue's ``compute_at`` region, or the ``cache_write`` stage when the
convolution is the kernel output) whose loops are unrolled, so every accumulator access
has a constant index and LLVM keeps the tile in vector registers. The accumulator nest is

    fused(n, oc_block, oh), ow_outer        (parallel outside, when the work is large)
      ic_block, kh, kw, ic_inner            (reduction)
        [oc_block_inner, oh_inner], ow_inner, [oc_vector]   (unrolled: the register tile)
          oc_lane                           (vectorized: one SIMD register)

so each reduction step loads one weight vector per channel vector of the tile and
broadcasts one input element per output pixel: ``accumulators`` independent FMAs. The
epilogue (bias, batch norm, activation, residual add) then runs on the tile while it is
in registers. The depthwise form has no channel reduction, loads its inputs as vectors
and tiles pixels only. Lanes and the register count come from the target
(:class:`~xtvm.topi.x86.default.DefaultScheduleConfig`); :func:`pick_tile` sizes the tile.
A grouped convolution has the same compute (and tag); its tile spans channel blocks of one
group only (:func:`conv_groups`), so they all reduce over the same input blocks and share
each broadcast, and a chunk of input channels (:func:`channel_chunk`) is one of the group's.

The zero-padded input gets its own buffer: inlined, every input read in the hot loop would
carry the pad's clamps and select.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects.builtin import TensorType

from xtvm.dialects.te import ComputeInlineOp, ComputeOp, ReadOp
from xtvm.topi.schedule import Axis, Schedule, Stage
from xtvm.topi.x86.default import DefaultScheduleConfig, schedule_stage
from xtvm.topi.x86.registry import register_schedule

# A coarse model of a current x86 core, enough to rank register tiles.
FMA_LATENCY = 4  # cycles before an FMA's result can feed the next FMA into it
FMA_PORTS = 2  # vector FMAs issued per cycle
LOAD_PORTS = 2  # vector loads or broadcasts per cycle


@dataclass(frozen=True)
class ConvTile:
    """The register block: ``oh_block`` rows times ``ow_block`` columns times ``oc_blocks``
    channel blocks times ``vec_block`` vectors of ``lanes`` channels per block. A channel
    block ``ob`` is ``vectors`` vectors (``split_oc``: whole ones); ``vec_block < vectors``
    leaves the other vectors of the block to an outer loop."""

    oh_block: int
    ow_block: int
    oc_blocks: int
    vec_block: int
    vectors: int
    lanes: int
    split_oc: bool

    @property
    def channel_vectors(self) -> int:
        return self.oc_blocks * self.vec_block

    @property
    def accumulators(self) -> int:
        return self.oh_block * self.ow_block * self.channel_vectors


def _blocks(n: int, b: int) -> int:
    return -(-n // b)


def tile_efficiency(t: ConvTile, oh: int, ow: int, depthwise: bool) -> float:
    """Estimated fraction of peak FMA throughput: the reduction step is bound by the FMA
    ports, the load ports or the FMA latency of one accumulator, and ragged tiles (extents
    that do not divide the output's) recompute the overlap of the last tile."""
    pixels = t.oh_block * t.ow_block
    loads = pixels * t.channel_vectors if depthwise else pixels
    loads += t.channel_vectors
    fmas = t.accumulators
    cycles = max(fmas / FMA_PORTS, loads / LOAD_PORTS, FMA_LATENCY)
    computed = _blocks(oh, t.oh_block) * t.oh_block * _blocks(ow, t.ow_block) * t.ow_block
    useful = oh * ow / computed
    return useful * fmas / (FMA_PORTS * cycles)


RAGGED_GAIN = 1.5
"""A ragged tile (extents not dividing the output's) must be estimated this much faster
than the best exact one to be used: prime extents such as 19 or 17."""


def _extents(n: int, limit: int, ragged: bool) -> list[int]:
    return [d for d in range(1, min(n, limit) + 1) if ragged or n % d == 0]


def _tile_options(
    oh: int, ow: int, oblocks: int, ob: int, lanes: int, registers: int, depthwise: bool
) -> list[tuple[bool, tuple, ConvTile]]:
    """Every register tile within the budget, as ``(ragged, rank key, tile)`` (see
    :func:`pick_tile` for the key and the budget)."""
    split_oc = ob > lanes and ob % lanes == 0
    width = lanes if split_oc else ob
    vectors = ob // lanes if split_oc else -(-ob // lanes)
    if split_oc:
        chans = [(1, vb) for vb in range(1, vectors + 1) if vectors % vb == 0]
    else:
        chans = [(1, vectors)]
    if not depthwise:  # a depthwise tile reads different inputs per channel block
        chans += [(m, vectors) for m in range(2, oblocks + 1) if oblocks % m == 0]
    target = registers // 2
    out: list[tuple[bool, tuple, ConvTile]] = []
    for ragged in (False, True):
        for m, vb in chans:
            c = m * vb
            if depthwise:
                room = registers // 4 // c
            else:
                room = (registers - c - 2) // c  # weights, a broadcast, a spare
            for hb in _extents(oh, room, ragged):
                for wb in _extents(ow, room // hb, ragged):
                    if ragged and oh % hb == 0 and ow % wb == 0:
                        continue  # an exact tile, listed already
                    t = ConvTile(hb, wb, m, vb, vectors, width, split_oc)
                    eff = round(tile_efficiency(t, oh, ow, depthwise), 3)
                    key = (eff, -abs(t.accumulators - target), -(hb * wb + c), -c, -hb)
                    out.append((ragged, key, t))
    return out


def pick_tile(
    oh: int, ow: int, oblocks: int, ob: int, lanes: int, registers: int, depthwise: bool
) -> ConvTile:
    """The most efficient register tile (:func:`tile_efficiency`) of up to ``oblocks``
    channel blocks (the output's, or one group's); among equals, the one
    whose accumulators come closest to half the registers, then the fewest loads per
    step, channel vectors and rows.

    Half, not all: LLVM unrolls short reduction loops around the tile and then keeps the
    input elements that neighbouring kernel taps share in registers too; tiles that fill
    the register file spill in the hot loop once it does. Depthwise tiles, whose short
    reduction (the kernel window) LLVM always unrolls, get a quarter. Exact tiles (dividing the
    output) are preferred (:data:`RAGGED_GAIN`): every tile is full and no iteration
    pays for the guarded, clamped last tile."""
    found: dict[bool, tuple[tuple, ConvTile]] = {}
    for ragged, key, t in _tile_options(oh, ow, oblocks, ob, lanes, registers, depthwise):
        if ragged not in found or key > found[ragged][0]:
            found[ragged] = (key, t)
    if False not in found:
        split_oc = ob > lanes and ob % lanes == 0
        vectors = ob // lanes if split_oc else -(-ob // lanes)
        return ConvTile(1, 1, 1, vectors, vectors, lanes if split_oc else ob, split_oc)
    exact, ragged_best = found[False], found.get(True)
    if ragged_best is not None and ragged_best[0][0] > RAGGED_GAIN * exact[0][0]:
        return ragged_best[1]
    return exact[1]


MAX_TILE_CANDIDATES = 32


def tile_candidates(
    oh: int, ow: int, oblocks: int, ob: int, lanes: int, registers: int, depthwise: bool
) -> list[ConvTile]:
    """The ``tile`` knob's candidates: the :data:`MAX_TILE_CANDIDATES` best-ranked tiles
    (exact and ragged, by :func:`tile_efficiency`, then :func:`pick_tile`'s tie-breaks)."""
    opts = _tile_options(oh, ow, oblocks, ob, lanes, registers, depthwise)
    opts.sort(key=lambda o: o[1], reverse=True)
    return [t for _, _, t in opts[:MAX_TILE_CANDIDATES]]


def _tile_knob(t: ConvTile) -> list[int]:
    return [t.oh_block, t.ow_block, t.oc_blocks, t.vec_block]


def _padded_input(s: Schedule, conv: Stage) -> Stage | None:
    """The stage of the pad the convolution reads its data through, if any."""
    assert conv.compute is not None
    for op in conv.compute.walk():
        if isinstance(op, ReadOp) and isinstance(op.tensor.owner, ComputeOp):
            src = op.tensor.owner
            if src.tag is not None and "pad" in src.tag.data.split(","):
                return s.stage(src)
    return None


def conv_groups(conv: Stage) -> int:
    """Groups of a blocked convolution: its data's channel blocks over the input blocks
    one output block reduces (1 for a depthwise one, which has no channel reduction)."""
    assert conv.compute is not None
    if len(conv.reduce_extents) != 4:
        return 1
    for op in conv.compute.walk():
        if isinstance(op, ReadOp) and isinstance(op.tensor.type, TensorType):
            shape = op.tensor.type.get_shape()
            if len(shape) == 5:
                return max(1, shape[1] // conv.reduce_extents[0])
    return 1


def _materialize(s: Schedule, st: Stage, cfg: DefaultScheduleConfig) -> None:
    """Take back the default rules' ``compute_inline`` of ``st``: it gets a root buffer,
    vectorized and parallel like any elementwise stage."""
    if not st.inlined:
        return  # a kernel output: the default rules schedule it
    assert s.op is not None
    for op in list(s.op.block.ops):
        if isinstance(op, ComputeInlineOp) and op.stage is st.handle:
            s.op.block.detach_op(op).erase()
    st.inlined = False
    schedule_stage(st, cfg)


def _split_channels(st: Stage, oc: Axis, tile: ConvTile) -> tuple[Axis | None, list[Axis]]:
    """``oc`` as ``[oc_outer], [oc_mid], oc_lane``: the outer vectors beyond the register
    block, the vectors of the block (unrolled), the lanes (vectorized)."""
    if not tile.split_oc:
        return None, [oc]
    outer = None
    if tile.vec_block < tile.vectors:
        outer, oc = st.split(oc, tile.vec_block * tile.lanes)
    if tile.vec_block == 1:
        return outer, [oc]
    mid, lane = st.split(oc, tile.lanes)
    return outer, [mid, lane]


def _annotate_tile(st: Stage, inner: list[Axis], cfg: DefaultScheduleConfig) -> None:
    """Unroll the register block's loops, vectorize the innermost (channel lanes) loop."""
    *unrolled, vec = inner
    for ax in unrolled:
        if ax.extent > 1:
            st.unroll(ax)
    if cfg.vectorize and vec.extent > 1:
        st.vectorize(vec)


def _tile_output(
    out: Stage, tile: ConvTile, cfg: DefaultScheduleConfig, work: int, fuse_ow: bool = False
) -> tuple[Axis, Axis]:
    """Loops of the output (or epilogue) stage: ``fused(n, oc_block_outer, oh_outer),
    [oc_outer], ow_outer, [oc_block_inner], [oh_inner], ow_inner, [oc_mid], oc_lane``;
    returns ``ow_outer``, where the accumulator tile is computed, and the loop just outside
    it, where a whole row of tiles is (see :func:`channel_chunk`)."""
    n, ocb, oh, ow, oc = out.axes
    tile_loops: list[Axis] = []
    if tile.oc_blocks > 1:
        ocb, ocbi = out.split(ocb, tile.oc_blocks)
        tile_loops.append(ocbi)
    if tile.oh_block > 1:
        oh, ohi = out.split(oh, tile.oh_block)
        tile_loops.append(ohi)
    owo, owi = out.split(ow, tile.ow_block)
    oco, inner = _split_channels(out, oc, tile)
    tile_loops += [owi, *inner]
    out.reorder(n, ocb, oh, *([oco] if oco is not None else []), owo, *tile_loops)
    if fuse_ow and oco is None:
        # one loop over every tile: the accumulators (and a chunk's row) are per tile
        owo = outer = out.fuse(n, ocb, oh, owo)
    else:
        outer = out.fuse(n, ocb, oh)
    if cfg.parallel and work >= cfg.min_parallel_work and outer.extent > 1:
        out.parallel(outer)
    _annotate_tile(out, tile_loops, cfg)
    return owo, oco if oco is not None else outer


# Weights of one input-channel chunk for one tile's output channels should stay in L1
# (half of a 32 KiB L1d) while the chunk sweeps a whole row of tiles.
WEIGHT_CHUNK_BYTES = 16 * 1024


def channel_chunk(conv: Stage, tile: ConvTile) -> int | None:
    """Input-channel blocks per chunk when the tile's weights overflow L1, else ``None``.

    Each tile otherwise streams all ``C_in * KH * KW`` weights of its output channels and
    reuses each only ``ow_block`` times: with hundreds of input channels that is an L2
    stream per tile. Chunked, a row of tiles accumulates one chunk of input channels at a
    time, so each weight is reused across the whole row."""
    if len(conv.reduce_extents) != 4:
        return None  # depthwise: no channel reduction
    icb, kh, kw, cb = conv.reduce_extents
    per_block = cb * kh * kw * tile.channel_vectors * tile.lanes * 4
    chunk = max(1, WEIGHT_CHUNK_BYTES // per_block)
    if chunk >= icb:
        return None
    while icb % chunk:
        chunk -= 1
    return chunk


def _schedule_accumulator(
    acc: Stage, tile: ConvTile, cfg: DefaultScheduleConfig, chunk: int | None = None
) -> None:
    """Loops of the accumulator stage (spanning one tile): the reduction outside (channel
    blocks, kernel rows, kernel columns, channels of a block), then the register block.
    With ``chunk`` it spans a row of tiles: ``icb_outer, ow_outer, icb_inner, kh, kw, ic,
    tile`` (the lowering initializes the row, then accumulates chunk by chunk)."""
    n, ocb, oh, ow, oc = acc.axes
    _, inner = _split_channels(acc, oc, tile)
    tile_loops = [ocb] if tile.oc_blocks > 1 else []
    tile_loops += [oh] if tile.oh_block > 1 else []
    outer = [a for a in (n, ocb, oh) if a not in tile_loops]
    red = acc.reduce_axes
    if chunk is None:
        tile_loops += [ow, *inner]
        acc.reorder(*outer, *red, *tile_loops)
    else:
        owo, owi = acc.split(ow, tile.ow_block)
        ico, ici = acc.split(red[0], chunk)
        tile_loops += [owi, *inner]
        acc.reorder(*outer, ico, owo, ici, *red[1:], *tile_loops)
    _annotate_tile(acc, tile_loops, cfg)


def chunk_candidates(conv: Stage) -> list[int]:
    """``ic_chunk`` candidates: 0 (no chunking) and the proper divisors of the input
    channel blocks one output block reduces (none for a depthwise convolution)."""
    if len(conv.reduce_extents) != 4:
        return [0]
    icb = conv.reduce_extents[0]
    return [0, *(d for d in range(1, icb) if icb % d == 0)]


@register_schedule("conv2d_nchwc", "depthwise_conv2d_nchwc")
def schedule_conv2d_nchwc(
    s: Schedule, conv: Stage, epilogue: Stage | None, cfg: DefaultScheduleConfig
) -> None:
    """Register-blocked schedule of a blocked-layout convolution and its epilogue.

    Knobs (:mod:`xtvm.autotune.space`; defaults: the hand-picked schedule):

    - ``tile``: the register tile ``[oh_block, ow_block, oc_blocks, vec_block]``, one of
      :func:`tile_candidates` (default :func:`pick_tile`'s);
    - ``ic_chunk``: input-channel blocks per chunk, 0 for none (default
      :func:`channel_chunk`'s);
    - ``fuse_ow``: also fuse the column-tile loop into the parallel loop (more, smaller
      shares; default False);
    - ``pad_buffer``: materialize the zero-padded input (default True: no clamps and
      selects on the hot loop's reads).
    """
    assert conv.compute is not None
    t = conv.compute.result.type
    assert isinstance(t, TensorType)
    lanes = cfg.lanes(t.element_type)
    _, oblocks, oh, ow, ob = conv.shape
    depthwise = conv.compute.tag is not None and conv.compute.tag.data.startswith("depthwise")
    # channel blocks of one tile stay within a group: they share its input broadcasts
    per_group = oblocks // conv_groups(conv)
    args = (oh, ow, per_group, ob, lanes, cfg.registers(), depthwise)
    best = pick_tile(*args)
    kn = cfg.tuning()
    picked = kn.knob("tile", [_tile_knob(c) for c in tile_candidates(*args)], _tile_knob(best))
    hb, wb, m, vb = picked
    tile = ConvTile(hb, wb, m, vb, best.vectors, best.lanes, best.split_oc)
    chunk = channel_chunk(conv, tile) if cfg.conv_channel_chunks else None
    chunk = kn.knob("ic_chunk", chunk_candidates(conv), chunk or 0) or None
    fuse_ow = kn.knob("fuse_ow", [False, True], False)
    pad = _padded_input(s, conv)
    if pad is not None and kn.knob("pad_buffer", [True, False], True):
        _materialize(s, pad, cfg)
    work = 1
    for e in [*conv.shape, *conv.reduce_extents]:
        work *= e
    if epilogue is None:
        acc = conv.cache_write()
        out = conv
    else:
        acc, out = conv, epilogue
    owo, row = _tile_output(out, tile, cfg, work, fuse_ow)
    acc.compute_at(out, owo if chunk is None else row)
    _schedule_accumulator(acc, tile, cfg, chunk)
