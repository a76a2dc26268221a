"""A numpy interpreter for relay as a language: the reference for let-form programs.

``evaluate_function`` (evaluate.py) runs dataflow; this runs what the language adds without
rewriting the program first: ``relay.let`` (the variable is bound in a new scope),
``relay.fn`` values as closures over the scope they were made in, ``relay.call`` and
``func.call`` (a recursive function runs as long as its ``relay.if`` stops it),
``relay.tuple``/``relay.tuple_get`` as Python tuples, ``relay.if`` and ``relay.loop``. Every
other op goes to
the dataflow evaluator. So the passes that rewrite the language (normal forms, inlining, and
later differentiation) can be checked against the program as written.

Let nests are walked with an explicit stack (they are thousands deep in let form); calls and
branches recurse, as deep as the program's own call depth.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import CallOp as FuncCallOp
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, SSAValue

from xtvm.dialects import relay
from xtvm.errors import CompileError, InputError
from xtvm.passes.relay.evaluate import evaluate_fused, evaluate_op

Env = ChainMap[SSAValue, Any]


def _scalar(value: Any) -> Any:
    return np.asarray(value).reshape(-1)[0]


@dataclass(frozen=True)
class Closure:
    """A ``relay.fn`` value: its op and the scope it was made in."""

    fn: relay.FnOp
    env: Env


class Interpreter:
    """Runs the functions of one module (see the module docstring)."""

    def __init__(self, module: ModuleOp):
        self.funcs = {f.sym_name.data: f for f in module.ops if isinstance(f, FuncOp)}

    def call_function(self, name: str, args: Sequence[Any]) -> list[Any]:
        func = self.funcs.get(name)
        if func is None or not func.body.blocks:
            raise InputError(f"interpret: no function @{name} with a body")
        block = func.body.block
        if len(args) != len(block.args):
            raise InputError(f"@{name} takes {len(block.args)} inputs, got {len(args)}")
        return self.run_block(block, ChainMap(dict(zip(block.args, args))))

    def run_block(self, block: Block, env: Env) -> list[Any]:
        """The values ``block``'s terminator returns; a let's body runs in a child scope
        pushed on an explicit stack, so nesting depth costs no Python frames."""
        pending: list[tuple[relay.LetOp, list, int, Env]] = []
        ops, i = list(block.ops), 0
        while True:
            op = ops[i]
            if isinstance(op, relay.YieldOp | ReturnOp):
                values = [env[v] for v in op.operands]
                if not pending:
                    return values
                let, ops, i, env = pending.pop()
                env.update(zip(let.results, values))
                i += 1
            elif isinstance(op, relay.LetOp):
                pending.append((op, ops, i, env))
                env = env.new_child({op.var: env[op.value]})
                ops, i = list(op.block.ops), 0
            else:
                env.update(zip(op.results, self._run_op(op, env)))
                i += 1

    def _run_op(self, op: Any, env: Env) -> list[Any]:
        args = [env[v] for v in op.operands]
        if isinstance(op, relay.FnOp):
            return [Closure(op, env)]
        if isinstance(op, relay.CallOp):
            closure = args[0]
            assert isinstance(closure, Closure)
            scope = closure.env.new_child(dict(zip(closure.fn.block.args, args[1:])))
            return self.run_block(closure.fn.block, scope)
        if isinstance(op, FuncCallOp):
            return self.call_function(op.callee.string_value(), args)
        if isinstance(op, relay.TupleOp):
            return [tuple(args)]
        if isinstance(op, relay.TupleGetOp):
            return [args[0][op.position]]
        if isinstance(op, relay.IfOp):
            taken = bool(np.asarray(args[0]).reshape(-1)[0])
            return self.run_block(op.branch(taken), env.new_child())
        if isinstance(op, relay.LoopOp):
            return self._run_loop(op, env)
        if isinstance(op, relay.FusedOp):
            return evaluate_fused(op, args)
        if len(op.results) != 1:
            raise CompileError(f"interpret: no evaluator for {op.name}")
        try:
            return [evaluate_op(op, args)]
        except NotImplementedError as e:
            raise CompileError(f"interpret: {e}") from None

    def _run_loop(self, op: relay.LoopOp, env: Env) -> list[Any]:
        """Iterate the body while ``i < trip count`` (and the condition holds, when the loop has
        one); the condition argument is true at first, then what the body yielded."""
        trip = op.static_trips if op.trip is None else int(_scalar(env[op.trip]))
        c = True if op.cond is None else bool(_scalar(env[op.cond]))
        n = len(op.inits)
        state = [env[v] for v in op.inits]
        rows: list[list[Any]] = [[] for _ in op.stacked]
        i = 0
        while (trip is None or i < trip) and (c or op.cond is None):
            args = [np.array(i, np.int64), np.array(c), *state]
            out = self.run_block(op.block, env.new_child(dict(zip(op.block.args, args))))
            c = bool(_scalar(out[0]))
            state = out[1 : 1 + n]
            for r, v in zip(rows, out[1 + n :]):
                r.append(v)
            i += 1
        stacked = []  # rows of iterations an early exit skipped are zero
        for r, res in zip(rows, op.stacked):
            full = np.zeros(relay.shape_of(res), relay.numpy_dtype_of(relay.elt_of(res)))
            full[: len(r)] = r
            stacked.append(full)
        return [*state, *stacked]


def interpret(module: ModuleOp, inputs: Sequence[Any], entry: str = "main") -> list[Any]:
    """Run ``@entry`` of ``module`` on ``inputs`` (numpy arrays, tuples of them, or
    :class:`Closure` values); its results, tuples as Python tuples."""
    try:
        return Interpreter(module).call_function(entry, list(inputs))
    except RecursionError:
        raise CompileError("interpret: calls nest too deeply (unbounded recursion?)") from None
