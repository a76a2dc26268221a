"""xDSL ``llvm`` dialect -> llvmlite IR.

We reuse xDSL's per-op ``convert_op``/``convert_type`` but drive the module ourselves
(the structure follows ``xdsl.backend.llvm.convert.convert_module``) because upstream
drops linkage, turns MB-sized weight globals into Python float lists, and lacks or
mis-handles several ops. Our fixes live in ``EXTRA_CONVERTERS`` (by op class) and
``EXTRA_CONVERTERS_BY_NAME`` (by op name, for ops xDSL's llvm dialect lacks),
consulted before ``convert_op``; ``register_converter`` lets other packages add to them.
"""

from __future__ import annotations

from collections.abc import Callable

import llvmlite.ir as ir
import numpy as np
from xdsl.backend.llvm.convert_op import convert_op, create_constant, declare_intrinsic
from xdsl.backend.llvm.convert_type import convert_type
from xdsl.dialects import llvm
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    UnregisteredOp,
)
from xdsl.ir import Block, Operation, SSAValue
from xdsl.utils.exceptions import LLVMTranslationException

from xtvm.backends.llvm.target import Target
from xtvm.errors import CompileError

__all__ = [
    "EXTRA_CONVERTERS",
    "EXTRA_CONVERTERS_BY_NAME",
    "add_metadata_global",
    "register_converter",
    "translate_module",
]

# As upstream's _declare_func, limited to what llvmlite's ArgumentAttributes knows
# (type-valued attrs like byval are not part of our ABI).
_ARG_ATTR_FLAGS = {
    f"llvm.{n}": n
    for n in ("inreg", "noalias", "nofree", "nonnull", "noundef", "returned", "signext", "zeroext")
}
_ARG_ATTR_FLAGS["llvm.nocapture"] = "captures(none)"
_ARG_ATTR_INTS = {f"llvm.{n}": n for n in ("align", "dereferenceable", "dereferenceable_or_null")}
# Weight globals get at least this alignment so that vector loads from them are fast.
_WEIGHT_ALIGN = 64


def _op_name(op: Operation) -> str:
    """The op's name, looking through xDSL's UnregisteredOp wrapper."""
    if isinstance(op, UnregisteredOp):
        return op.op_name.data
    return op.name


# --- converters for what upstream lacks -----------------------------------------------

ValMap = dict[SSAValue, ir.Value]
BlockMap = dict[Block, ir.Block]
Converter = Callable[[Operation, ir.IRBuilder, ValMap, BlockMap], None]

EXTRA_CONVERTERS: dict[type[Operation], Converter] = {}
EXTRA_CONVERTERS_BY_NAME: dict[str, Converter] = {}


def register_converter(*keys: type[Operation] | str) -> Callable[[Converter], Converter]:
    """Register ``fn(op, builder, val_map, block_map)`` for op classes and/or op names."""

    def deco(fn: Converter) -> Converter:
        for key in keys:
            if isinstance(key, str):
                EXTRA_CONVERTERS_BY_NAME[key] = fn
            else:
                EXTRA_CONVERTERS[key] = fn
        return fn

    return deco


_FLOATS = (ir.HalfType, ir.FloatType, ir.DoubleType)


def _fastmath(op: Operation) -> list[str]:
    flags = getattr(op, "fastmathFlags", None)
    return [f.value for f in flags.data] if flags is not None else []


def _is_float(ty: ir.Type) -> bool:
    return isinstance(ty.element if isinstance(ty, ir.VectorType) else ty, _FLOATS)


# Upstream declares these unmangled ("llvm.fabs"), so one module cannot use an
# intrinsic at f32 and at <16 x f32>; upstream also drops their fastmath flags.
_UNARY_INTRINSICS = {
    llvm.FAbsOp: "llvm.fabs",
    llvm.FExpOp: "llvm.exp",
    llvm.FCeilOp: "llvm.ceil",
    llvm.FSinOp: "llvm.sin",
    llvm.FFloorOp: "llvm.floor",
    llvm.FExp2Op: "llvm.exp2",
    llvm.FSqrtOp: "llvm.sqrt",
    llvm.FLogOp: "llvm.log",
    llvm.FCosOp: "llvm.cos",
    llvm.FLog2Op: "llvm.log2",
}
_NARY_INTRINSICS = {
    llvm.FPowOp: "llvm.pow",
    llvm.VectorFMaxOp: "llvm.maxnum",
    llvm.VectorFMinOp: "llvm.minnum",
    llvm.FCopySignOp: "llvm.copysign",
    # Upstream raises on fma with fastmath flags.
    llvm.FMAOp: "llvm.fma",
}


def _mangled_intrinsic(op: Operation, b: ir.IRBuilder, vm: ValMap, _: BlockMap) -> None:
    args = [vm[v] for v in op.operands]
    ty = args[0].type
    name = {**_UNARY_INTRINSICS, **_NARY_INTRINSICS}[type(op)]
    fn = declare_intrinsic(b.module, name, ty, ir.FunctionType(ty, [a.type for a in args]))
    vm[op.results[0]] = b.call(fn, args, fastmath=_fastmath(op))


for _cls in (*_UNARY_INTRINSICS, *_NARY_INTRINSICS):
    EXTRA_CONVERTERS[_cls] = _mangled_intrinsic


def _predicate(op: Operation) -> str:
    """The fcmp predicate as LLVM spells it (xDSL stores an index, '_false'/'_true')."""
    attr = op.properties.get("predicate") or op.attributes.get("predicate")
    if isinstance(attr, StringAttr):
        return attr.data.lstrip("_")
    if isinstance(attr, IntegerAttr):
        return llvm.FCmpPredicateFlag.from_int(attr.value.data).value.lstrip("_")
    raise CompileError(f"'{_op_name(op)}' has no predicate")


@register_converter(llvm.FCmpOp, "llvm.fcmp", "llvmx.fcmp")
def _fcmp(op: Operation, b: ir.IRBuilder, vm: ValMap, _: BlockMap) -> None:
    # Upstream raises on _false/_true and drops fastmath; the xDSL op's verifier also
    # rejects vector operands, hence the by-name entries for a project-defined op.
    lhs, rhs = vm[op.operands[0]], vm[op.operands[1]]
    instr = ir.instructions.FCMPInstr(b.block, _predicate(op), lhs, rhs, flags=_fastmath(op))
    b._insert(instr)
    vm[op.results[0]] = instr


@register_converter(llvm.SelectOp, "llvm.select", "llvmx.select")
def _select(op: Operation, b: ir.IRBuilder, vm: ValMap, _: BlockMap) -> None:
    # llvmlite accepts an <N x i1> condition; xDSL's SelectOp verifier insists on i1.
    cond, lhs, rhs = (vm[v] for v in op.operands)
    flags = _fastmath(op) if _is_float(lhs.type) else []
    vm[op.results[0]] = b.select(cond, lhs, rhs, flags=flags)


_MISSING_CASTS = {
    "fptosi": "fptosi",
    "fptoui": "fptoui",
    "uitofp": "uitofp",
    "sitofp": "sitofp",
    "fpext": "fpext",
    "fptrunc": "fptrunc",
}


def _cast_by_name(op: Operation, b: ir.IRBuilder, vm: ValMap, _: BlockMap) -> None:
    # xDSL 0.74's llvm dialect has no fptosi/fptoui/uitofp.
    kind = _MISSING_CASTS[_op_name(op).split(".", 1)[1]]
    vm[op.results[0]] = getattr(b, kind)(vm[op.operands[0]], convert_type(op.results[0].type))


def _extractelement(op: Operation, b: ir.IRBuilder, vm: ValMap, _: BlockMap) -> None:
    # xDSL 0.74's llvm dialect has insertelement but no extractelement.
    vm[op.results[0]] = b.extract_element(vm[op.operands[0]], vm[op.operands[1]])


for _prefix in ("llvm", "llvmx"):
    for _name in ("fptosi", "fptoui", "uitofp"):
        EXTRA_CONVERTERS_BY_NAME[f"{_prefix}.{_name}"] = _cast_by_name
    EXTRA_CONVERTERS_BY_NAME[f"{_prefix}.extractelement"] = _extractelement


@register_converter(llvm.CallIntrinsicOp)
def _call_intrinsic(op: llvm.CallIntrinsicOp, b: ir.IRBuilder, vm: ValMap, _: BlockMap) -> None:
    # Upstream raises on fastmath flags.
    args = [vm[a] for a in op.args]
    ret = convert_type(op.ress.type) if op.ress is not None else ir.VoidType()
    name = op.intrin.data
    fn = b.module.globals.get(name)
    if fn is None:
        fn = ir.Function(b.module, ir.FunctionType(ret, [a.type for a in args]), name=name)
    flags = _fastmath(op) if _is_float(ret) else []
    result = b.call(fn, args, fastmath=flags)
    if op.ress is not None:
        vm[op.ress] = result


@register_converter(llvm.VectorReduceFAddOp, llvm.VectorReduceFMulOp)
def _vector_reduce(op: Operation, b: ir.IRBuilder, vm: ValMap, _: BlockMap) -> None:
    # Upstream ignores fastmath: without 'reassoc' the reduction is strictly ordered.
    start, vec = vm[op.operands[0]], vm[op.operands[1]]
    base = "fadd" if isinstance(op, llvm.VectorReduceFAddOp) else "fmul"
    fnty = ir.FunctionType(vec.type.element, [vec.type.element, vec.type])
    fn = declare_intrinsic(b.module, f"llvm.vector.reduce.{base}", vec.type, fnty)
    vm[op.results[0]] = b.call(fn, [start, vec], fastmath=_fastmath(op))


@register_converter(llvm.StackSaveOp, llvm.StackRestoreOp)
def _stack(op: Operation, b: ir.IRBuilder, vm: ValMap, _: BlockMap) -> None:
    # Not converted upstream.
    save = isinstance(op, llvm.StackSaveOp)
    name = "llvm.stacksave.p0" if save else "llvm.stackrestore.p0"
    fnty = (
        ir.FunctionType(ir.PointerType(), [])
        if save
        else ir.FunctionType(ir.VoidType(), [ir.PointerType()])
    )
    fn = b.module.globals.get(name) or ir.Function(b.module, fnty, name=name)
    result = b.call(fn, [vm[v] for v in op.operands])
    if save:
        vm[op.results[0]] = result


def _default_align(ty: ir.Type) -> int | None:
    """Element alignment for vectors: LLVM assumes the full vector size otherwise,
    which faults on numpy buffers. Scalars keep LLVM's (safe) ABI alignment."""
    return _byte_size(ty.element) if isinstance(ty, ir.VectorType) else None


@register_converter(llvm.LoadOp)
def _load(op: llvm.LoadOp, b: ir.IRBuilder, vm: ValMap, _: BlockMap) -> None:
    ty = convert_type(op.results[0].type)
    instr = b.load(vm[op.ptr], typ=ty)
    instr.align = op.alignment.value.data if op.alignment else _default_align(ty)
    vm[op.results[0]] = instr


@register_converter(llvm.StoreOp)
def _store(op: llvm.StoreOp, b: ir.IRBuilder, vm: ValMap, _: BlockMap) -> None:
    value = vm[op.value]
    instr = b.store(value, vm[op.ptr])
    instr.align = op.alignment.value.data if op.alignment else _default_align(value.type)


@register_converter(llvm.ConstantOp)
def _constant(op: llvm.ConstantOp, b: ir.IRBuilder, vm: ValMap, _: BlockMap) -> None:
    # Upstream passes a one-element splat straight to a <N x T> constant.
    ty = convert_type(op.result.type)
    if isinstance(op.value, DenseIntOrFPElementsAttr) and isinstance(
        ty, (ir.VectorType, ir.ArrayType)
    ):
        values = list(op.value.get_values())
        if len(values) == 1 and ty.count > 1:
            values = values * ty.count
        vm[op.result] = ir.Constant(ty, values)
    else:
        vm[op.result] = create_constant(op.result.type, op.value)


# --- raw-byte constants -------------------------------------------------------------

# (256, 3) table: byte b -> the three ASCII characters "\XX" of an LLVM c"" literal.
_HEX_TABLE = np.frombuffer(
    b"".join(f"\\{b:02X}".encode() for b in range(256)), dtype=np.uint8
).reshape(256, 3)


class RawBytesConstant(ir.Constant):
    """An ``[N x i8]`` constant printed straight from bytes.

    llvmlite's bytearray constants escape byte by byte in Python; numpy table lookup
    is ~100x faster, which matters for MB-sized weights.
    """

    def __init__(self, data: bytes):
        super().__init__(ir.ArrayType(ir.IntType(8), len(data)), None)
        self.raw = bytes(data)

    def _get_reference(self) -> str:
        arr = np.frombuffer(self.raw, dtype=np.uint8)
        if not arr.any():
            return "zeroinitializer"
        return 'c"' + _HEX_TABLE[arr].tobytes().decode("ascii") + '"'


_SCALAR_BYTES = {ir.HalfType: 2, ir.FloatType: 4, ir.DoubleType: 8}


def _byte_size(ty: ir.Type) -> int:
    """Storage size of a scalar/array/vector type (no struct padding rules needed)."""
    if isinstance(ty, (ir.ArrayType, ir.VectorType)):
        return ty.count * _byte_size(ty.element)
    if isinstance(ty, ir.IntType):
        return max(1, (ty.width + 7) // 8)
    if type(ty) in _SCALAR_BYTES:
        return _SCALAR_BYTES[type(ty)]
    raise CompileError(f"cannot size global of type {ty} from dense bytes")


def _dense_bytes(value: DenseIntOrFPElementsAttr, nbytes: int, name: str) -> bytes:
    """The global's initial bytes, expanding a one-element (splat) payload."""
    raw = value.data.data
    if len(raw) == nbytes:
        return raw
    if raw and nbytes % len(raw) == 0 and len(raw) <= 16:
        return raw * (nbytes // len(raw))
    raise CompileError(
        f"global @{name}: initializer has {len(raw)} bytes but its type needs {nbytes}"
    )


# --- module driver --------------------------------------------------------------------


def _convert_global(op: llvm.GlobalOp, module: ir.Module) -> None:
    """Like upstream, but dense payloads become raw byte arrays (fast for MBs)."""
    name = op.sym_name.data
    gtype = convert_type(op.global_type)
    init: ir.Constant | None = None
    if isinstance(op.value, DenseIntOrFPElementsAttr):
        # Opaque pointers make the byte type invisible to users of the global.
        init = RawBytesConstant(_dense_bytes(op.value, _byte_size(gtype), name))
        gtype = init.type
    elif isinstance(op.value, StringAttr):
        raw = op.value.data.encode("utf-8")
        init = ir.Constant(ir.ArrayType(ir.IntType(8), len(raw)), bytearray(raw))
    elif op.value is not None:
        init = create_constant(op.global_type, op.value)
    gvar = ir.GlobalVariable(module, gtype, name=name, addrspace=op.addr_space.value.data)
    gvar.linkage = op.linkage.linkage.data
    gvar.global_constant = op.constant is not None
    if init is not None:
        gvar.initializer = init
    align = op.alignment.value.data if op.alignment is not None else None
    if isinstance(op.value, DenseIntOrFPElementsAttr):
        align = max(align or 0, _WEIGHT_ALIGN)
    if align:
        gvar.align = align
    if op.section is not None:
        gvar.section = op.section.data


def _declare_func(op: llvm.FuncOp, module: ir.Module) -> None:
    """Declare with linkage, arg attributes (noalias, ...) and simple fn attributes."""
    ret = convert_type(op.function_type.output)
    args = [convert_type(t) for t in op.function_type.inputs]
    fnty = ir.FunctionType(ret, args, var_arg=op.function_type.is_variadic)
    fn = ir.Function(module, fnty, name=op.sym_name.data)
    # Upstream drops linkage; a declaration must stay external.
    linkage = op.linkage.linkage.data
    if op.body.blocks and linkage != "external":
        fn.linkage = linkage
    if op.CConv.cconv_name not in ("ccc", ""):
        fn.calling_convention = op.CConv.cconv_name
    if op.no_inline is not None:
        fn.attributes.add("noinline")
    if op.no_unwind is not None:
        fn.attributes.add("nounwind")
    for item in op.passthrough.data if op.passthrough is not None else ():
        if isinstance(item, StringAttr):
            try:
                fn.attributes.add(item.data)
            except ValueError:
                pass  # llvmlite only knows a fixed set of keyword attributes
    if op.arg_attrs is None:
        return
    for arg, attr_dict in zip(fn.args, op.arg_attrs):
        for key, value in attr_dict.data.items():
            if key in _ARG_ATTR_FLAGS:
                arg.add_attribute(_ARG_ATTR_FLAGS[key])
            elif key in _ARG_ATTR_INTS and isinstance(value, IntegerAttr):
                setattr(arg.attributes, _ARG_ATTR_INTS[key], value.value.data)


def _convert_one(
    op: Operation,
    builder: ir.IRBuilder,
    val_map: dict[SSAValue, ir.Value],
    block_map: dict[Block, ir.Block],
) -> None:
    """Our table first (by class, then by name), then upstream's convert_op."""
    conv: Callable[..., None] | None = EXTRA_CONVERTERS.get(type(op))
    if conv is None:
        conv = EXTRA_CONVERTERS_BY_NAME.get(_op_name(op))
    if conv is not None:
        conv(op, builder, val_map, block_map)
    else:
        convert_op(op, builder, val_map, block_map)


def _convert_func(op: llvm.FuncOp, module: ir.Module) -> None:
    """Blocks first (forward branches), phis for block args, then the ops."""
    func = module.get_global(op.sym_name.data)
    block_map: dict[Block, ir.Block] = {}
    val_map: dict[SSAValue, ir.Value] = {}
    for i, block in enumerate(op.body.blocks):
        block_map[block] = func.append_basic_block(name=block.name_hint or "")
        if i == 0:
            for arg, llvm_arg in zip(block.args, func.args):
                val_map[arg] = llvm_arg
    for i, block in enumerate(op.body.blocks):
        if i and block.args:
            builder = ir.IRBuilder(block_map[block])
            for arg in block.args:
                val_map[arg] = builder.phi(convert_type(arg.type))
    for block in op.body.blocks:
        builder = ir.IRBuilder(block_map[block])
        if block_map[block].instructions:
            builder.position_after(block_map[block].instructions[-1])
        for inner in block.ops:
            try:
                _convert_one(inner, builder, val_map, block_map)
            except CompileError:
                raise
            except (
                NotImplementedError,
                LLVMTranslationException,
                KeyError,
                TypeError,
                ValueError,
                AssertionError,
            ) as exc:
                detail = (
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                )
                raise CompileError(
                    f"cannot translate '{_op_name(inner)}' in @{op.sym_name.data}: {detail}"
                ) from exc


def translate_module(module: ModuleOp, target: Target) -> ir.Module:
    """Translate an llvm-dialect ModuleOp into an llvmlite module for ``target``."""
    out = ir.Module(name=module.sym_name.data if module.sym_name else "xtvm")
    out.triple = target.triple
    out.data_layout = target.data_layout()
    globals_: list[llvm.GlobalOp] = []
    funcs: list[llvm.FuncOp] = []
    for op in module.ops:
        if isinstance(op, llvm.GlobalOp):
            globals_.append(op)
        elif isinstance(op, llvm.FuncOp):
            funcs.append(op)
        else:
            raise CompileError(
                f"cannot translate top-level '{_op_name(op)}': only llvm.func and "
                "llvm.mlir.global may remain after lowering to llvm"
            )
    try:
        for g in globals_:
            _convert_global(g, out)
        for f in funcs:
            _declare_func(f, out)
    except (LLVMTranslationException, KeyError, TypeError, ValueError) as exc:
        raise CompileError(f"cannot translate module: {str(exc).strip() or exc!r}") from exc
    for f in funcs:
        if f.body.blocks:
            _convert_func(f, out)
    return out


def add_metadata_global(ir_module: ir.Module, name: str, text: str) -> ir.GlobalVariable:
    """Add ``name`` as an external constant null-terminated string (read via dlsym)."""
    raw = text.encode("utf-8") + b"\0"
    gvar = ir.GlobalVariable(ir_module, ir.ArrayType(ir.IntType(8), len(raw)), name=name)
    gvar.global_constant = True
    gvar.initializer = ir.Constant(gvar.value_type, bytearray(raw))
    return gvar
