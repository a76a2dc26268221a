"""``relay-inline-functions``: calls of known functions and projections of known tuples go.

Expects: relay in ``func.func`` bodies; the pipelines run it after
``relay-to-graph-normal-form``, and it dissolves any ``relay.let`` left itself first (a bound
function must be seen at its call).
Guarantees, so that the lowering (which compiles dataflow of tensor ops) can take the
program: no ``relay.let``, and
- ``relay.call`` of a ``relay.fn`` value becomes the function's body, its parameters replaced
  by the arguments (captured outer values stay as they are: the definition dominates the call);
  ``func.call`` of a ``func.func`` of this module with a body likewise; repeated until no call
  is left, so functions returned by or passed to functions are inlined too;
- ``relay.tuple_get`` of a ``relay.tuple`` becomes the field;
- tuple parameters and results of a public function (``@main``) become one per tensor leaf
  (an ``xtvm.name`` ``"t"`` gives ``"t_0"``, ``"t_1"``, ... in leaf order);
- ``relay.fn``/``relay.tuple`` values left unused, and private functions no longer called,
  are erased.
A call of a function value not known at compile time (a parameter, chosen by ``relay.if``),
a recursive function, or a tuple that stays a tuple is a ``CompileError`` naming it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, ModuleOp, StringAttr, TupleType
from xdsl.dialects.func import CallOp as FuncCallOp
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects.relay.functional import CallOp, FnOp, LetOp, TupleGetOp, TupleOp
from xtvm.errors import CompileError
from xtvm.passes.registry import register_pass
from xtvm.passes.relay.to_graph_normal_form import to_graph_normal_form, walk_ops

_LANGUAGE_OPS = frozenset((CallOp, FuncCallOp, FnOp, TupleOp, TupleGetOp, LetOp))
_MAX_INLINED = 100_000  # a guard: every call site is finite unless something recursed


def _splice(body: Block, args: Sequence[SSAValue], before: Operation) -> list[SSAValue]:
    """Clone ``body`` in front of ``before`` with its arguments bound to ``args``; the values
    its terminator returns."""
    mapping: dict[SSAValue, SSAValue] = dict(zip(body.args, args))
    term = body.last_op
    assert term is not None
    for op in body.ops:
        if op is term:
            break
        Rewriter.insert_op(op.clone(value_mapper=mapping), InsertPoint.before(before))
    return [mapping.get(v, v) for v in term.operands]


def _symbols(module: ModuleOp) -> dict[str, FuncOp]:
    return {f.sym_name.data: f for f in module.ops if isinstance(f, FuncOp)}


def _check_not_recursive(funcs: dict[str, FuncOp]) -> None:
    """Raise if a ``func.call`` cycle exists (inlining would never end)."""
    calls = {
        name: {c.callee.string_value() for c in walk_ops(f) if isinstance(c, FuncCallOp)}
        for name, f in funcs.items()
    }
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for start in calls:
        stack = [(start, iter(sorted(calls[start])))]
        state.setdefault(start, 1)
        while stack:
            name, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[name] = 2
                stack.pop()
            elif nxt in calls and state.get(nxt) == 1:
                raise CompileError(f"relay-inline-functions: @{nxt} is recursive; cannot inline")
            elif nxt in calls and nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(sorted(calls[nxt]))))


def _rewrite_once(module: ModuleOp, funcs: dict[str, FuncOp]) -> int:
    """One sweep over the module; how many calls and projections went."""
    changed = 0
    for op in list(walk_ops(module)):
        if op.parent is None:  # erased with a region already handled this sweep
            continue
        new: list[SSAValue] | None = None
        if isinstance(op, CallOp):
            fn = op.callee.owner
            if isinstance(fn, FnOp):
                new = _splice(fn.block, op.args, op)
        elif isinstance(op, FuncCallOp):
            callee = funcs.get(op.callee.string_value())
            if callee is not None and len(callee.body.blocks) == 1:
                new = _splice(callee.body.block, op.arguments, op)
        elif isinstance(op, TupleGetOp):
            tup = op.tuple.owner
            if isinstance(tup, TupleOp):
                new = [tup.fields[op.position]]
        if new is not None:
            Rewriter.replace_op(op, [], new)
            changed += 1
    return changed


def _flatten(value: SSAValue, before: Operation) -> list[SSAValue]:
    """The tensors of a (nested) tuple value, by projections where it is not a relay.tuple."""
    t = value.type
    if not isinstance(t, TupleType):
        return [value]
    owner = value.owner
    if isinstance(owner, TupleOp):
        fields = list(owner.fields)
    else:
        gets = [TupleGetOp(value, i) for i in range(len(t.types))]
        Rewriter.insert_op(gets, InsertPoint.before(before))
        fields = [g.result for g in gets]
    return [leaf for f in fields for leaf in _flatten(f, before)]


def _flatten_results(func: FuncOp) -> None:
    """Tuple results of a public function become one result per tensor."""
    if len(func.body.blocks) != 1:  # a declaration
        return
    ret = func.body.block.last_op
    if not isinstance(ret, ReturnOp) or not any(
        isinstance(v.type, TupleType) for v in ret.operands
    ):
        return
    values: list[SSAValue] = []
    attrs: list[Attribute] = []
    old_attrs = list(func.res_attrs.data) if func.res_attrs else [None] * len(ret.operands)
    for v, a in zip(ret.operands, old_attrs):
        leaves = _flatten(v, ret)
        values += leaves
        for i, _ in enumerate(leaves):
            attrs.append(_suffixed(a, i) if len(leaves) > 1 or v.type != leaves[0].type else a)
    Rewriter.replace_op(ret, ReturnOp(*values))
    func.function_type = func.function_type.from_lists(
        list(func.function_type.inputs.data), [v.type for v in values]
    )
    if func.res_attrs is not None:
        func.res_attrs = ArrayAttr([a or DictionaryAttr({}) for a in attrs])


def _leaf_types(t: Attribute) -> list[Attribute]:
    if not isinstance(t, TupleType):
        return [t]
    return [leaf for f in t.types for leaf in _leaf_types(f)]


def _rebuild(t: TupleType, leaves: Iterator[SSAValue], ops: list[Operation]) -> SSAValue:
    """A ``relay.tuple`` (nest) of type ``t`` over the next leaf values."""
    fields = [
        _rebuild(f, leaves, ops) if isinstance(f, TupleType) else next(leaves) for f in t.types
    ]
    ops.append(TupleOp(fields))
    return ops[-1].results[0]


def _flatten_params(func: FuncOp) -> None:
    """Tuple parameters of a public function become one parameter per tensor; the body gets
    the tuple back from a ``relay.tuple`` (whose projections then fold)."""
    if len(func.body.blocks) != 1:
        return
    block = func.body.block
    if not any(isinstance(a.type, TupleType) for a in block.args):
        return
    old_attrs = list(func.arg_attrs.data) if func.arg_attrs else [None] * len(block.args)
    attrs: list[Attribute | None] = []
    ops: list[Operation] = []
    for arg, a in zip(list(block.args), old_attrs):
        if not isinstance(arg.type, TupleType):
            attrs.append(a)
            continue
        types = _leaf_types(arg.type)
        leaves = [block.insert_arg(t, arg.index + 1 + i) for i, t in enumerate(types)]
        attrs += [_suffixed(a, i) for i in range(len(leaves))]
        arg.replace_all_uses_with(_rebuild(arg.type, iter(leaves), ops))
        block.erase_arg(arg)
    Rewriter.insert_op(ops, InsertPoint.at_start(block))
    func.function_type = func.function_type.from_lists(
        [a.type for a in block.args], list(func.function_type.outputs.data)
    )
    if func.arg_attrs is not None:
        func.arg_attrs = ArrayAttr([a or DictionaryAttr({}) for a in attrs])


def _suffixed(attrs: Attribute | None, i: int) -> Attribute | None:
    if not isinstance(attrs, DictionaryAttr) or "xtvm.name" not in attrs.data:
        return attrs
    name = attrs.data["xtvm.name"]
    assert isinstance(name, StringAttr)
    return DictionaryAttr({**attrs.data, "xtvm.name": StringAttr(f"{name.data}_{i}")})


def _erase_dead(module: ModuleOp) -> None:
    """Unused fn/tuple values (innermost first) and private functions no longer called."""
    for op in reversed(list(walk_ops(module))):
        if isinstance(op, FnOp | TupleOp) and not op.result.uses and op.parent is not None:
            Rewriter.erase_op(op)
    called = {c.callee.string_value() for c in walk_ops(module) if isinstance(c, FuncCallOp)}
    for f in list(module.ops):
        if isinstance(f, FuncOp) and f.sym_visibility is not None:
            if f.sym_visibility.data == "private" and f.sym_name.data not in called:
                Rewriter.erase_op(f)


def _leftover(module: ModuleOp) -> None:
    for op in walk_ops(module):
        if isinstance(op, FuncCallOp):
            raise CompileError(
                f"relay-inline-functions: cannot inline func.call @{op.callee.string_value()}: "
                "it has no single-block body in this module"
            )
        if isinstance(op, CallOp | TupleGetOp | FnOp | TupleOp):
            raise CompileError(
                f"relay-inline-functions: cannot remove {op.name} (a function or tuple value "
                "not known at compile time); only known functions and tuples compile"
            )


def inline_functions(module: ModuleOp) -> int:
    """Inline calls and projections to a fixed point (see the module docstring); the count."""
    if not any(type(o) in _LANGUAGE_OPS for o in walk_ops(module)) and not any(
        isinstance(t, TupleType)
        for f in module.ops
        if isinstance(f, FuncOp)
        for t in (*f.function_type.inputs, *f.function_type.outputs)
    ):
        return 0  # plain dataflow (every imported model): one walk and done
    to_graph_normal_form(module)
    funcs = _symbols(module)
    _check_not_recursive(funcs)
    public = [
        f for f in funcs.values() if f.sym_visibility is None or f.sym_visibility.data != "private"
    ]
    for f in public:
        _flatten_params(f)
    total = 0
    while (n := _rewrite_once(module, funcs)) > 0:
        total += n
        if total > _MAX_INLINED:
            raise CompileError("relay-inline-functions: too many calls inlined (recursion?)")
    for f in public:
        _flatten_results(f)
    while _rewrite_once(module, funcs):  # projections the flattening added
        pass
    _erase_dead(module)
    _leftover(module)
    return total


@register_pass
@dataclass(frozen=True)
class RelayInlineFunctionsPass(ModulePass):
    """Inline known functions and tuples (see the module docstring)."""

    name = "relay-inline-functions"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        inline_functions(op)
