"""``relay.einsum``: Einstein summation over any number of operands.

The equation is kept in explicit, ellipsis-free form (``"bij,bjk->bik"``); frontends expand
``...`` and implicit outputs with :func:`normalize_equation`. A letter's size is the largest
of its occurrences, and size-1 occurrences broadcast (what ONNX allows for ellipsis dims).
Letters missing from the output are summed over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import StringAttr, TensorType
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, prop_def, result_def, traits_def, var_operand_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.base import RelayOp, elt_of, shape_of, tensor_type


def parse_equation(equation: str) -> tuple[list[str], str]:
    """Split an explicit, ellipsis-free equation into its input terms and output term."""
    eq = equation.replace(" ", "")
    if "->" not in eq or "." in eq:
        raise ValueError(f"equation {equation!r} must be explicit and ellipsis-free")
    lhs, out = eq.split("->")
    terms = lhs.split(",")
    for t in [*terms, out]:
        if not all(ch.isalpha() for ch in t):
            raise ValueError(f"equation {equation!r} has a term {t!r} with non-letters")
    if len(set(out)) != len(out):
        raise ValueError(f"equation {equation!r} repeats a letter in its output")
    used = set("".join(terms))
    if any(ch not in used for ch in out):
        raise ValueError(f"equation {equation!r} has an output letter no input has")
    return terms, out


def normalize_equation(equation: str, ranks: Sequence[int]) -> str:
    """ONNX/numpy equation (implicit output, ``...``) -> explicit ellipsis-free form."""
    eq = equation.replace(" ", "")
    lhs, _, out = eq.partition("->")
    explicit = "->" in eq
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise ValueError(f"equation {equation!r} has {len(terms)} inputs, got {len(ranks)}")
    letters = set(ch for ch in eq if ch.isalpha())
    free = [
        ch for ch in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if ch not in letters
    ]
    n_ell = 0
    for t, r in zip(terms, ranks):
        if "..." in t:
            n_ell = max(n_ell, r - (len(t) - 3))
        elif len(t) != r:
            raise ValueError(f"term {t!r} does not match an operand of rank {r}")
    if n_ell > len(free):
        raise ValueError(f"equation {equation!r} needs too many ellipsis dims")
    ell = "".join(free[:n_ell])
    new_terms = []
    for t, r in zip(terms, ranks):
        if "..." in t:
            k = r - (len(t) - 3)
            if k < 0:
                raise ValueError(f"term {t!r} does not match an operand of rank {r}")
            t = t.replace("...", ell[n_ell - k :])
        new_terms.append(t)
    if explicit:
        out = out.replace("...", ell)
    else:  # numpy's implicit output: ellipsis dims, then letters seen once, sorted
        joined = "".join(new_terms)
        once = sorted(ch for ch in set(joined) if joined.count(ch) == 1 and ch not in ell)
        out = ell + "".join(once)
    return ",".join(new_terms) + "->" + out


def letter_sizes(terms: Sequence[str], shapes: Sequence[Sequence[int]]) -> dict[str, int]:
    """Size of every letter (size-1 occurrences broadcast); ValueError on a conflict."""
    sizes: dict[str, int] = {}
    for t, s in zip(terms, shapes):
        if len(t) != len(s):
            raise ValueError(f"term {t!r} does not match an operand of shape {list(s)}")
        for ch, n in zip(t, s):
            old = sizes.get(ch)
            if old is None or old == 1:
                sizes[ch] = n
            elif n not in (1, old):
                raise ValueError(f"letter {ch!r} has sizes {old} and {n}")
    return sizes


@irdl_op_definition
class EinsumOp(RelayOp):
    """``out[output letters] = sum over the other letters of prod_k operand_k[term_k]``."""

    name = "relay.einsum"
    FUSE_PATTERN: ClassVar[str] = "out_elemwise_fusable"
    inputs = var_operand_def(TensorType)
    equation = prop_def(StringAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$inputs attr-dict `:` functional-type(operands, results)"

    def __init__(self, inputs: Sequence[SSAValue], equation: str):
        super().__init__(
            operands=[list(inputs)],
            result_types=[inputs[0].type],
            properties={"equation": StringAttr(equation)},
        )
        self._set_result_type(self.infer_type())

    @property
    def terms(self) -> tuple[list[str], str]:
        return parse_equation(self.equation.data)

    def infer_type(self) -> TensorType:
        if not self.inputs:
            raise VerifyException(f"{self.name}: needs at least one operand")
        try:
            terms, out = self.terms
            if len(terms) != len(self.inputs):
                raise ValueError(f"equation has {len(terms)} inputs, got {len(self.inputs)}")
            sizes = letter_sizes(terms, [shape_of(v) for v in self.inputs])
        except ValueError as e:
            raise VerifyException(f"{self.name}: {e}") from None
        elt = elt_of(self.inputs[0])
        if any(elt_of(v) != elt for v in self.inputs):
            raise VerifyException(f"{self.name}: operand element types differ")
        return tensor_type([sizes[ch] for ch in out], elt)
