"""Imported models in let form compile to the same program as their dataflow form.

A model family from the zoo (attention, layer norms, values used many times) is put through
``relay-to-a-normal-form`` and built (the pipelines start with ``relay-to-graph-normal-form``
and ``relay-inline-functions``): the results must be bit-identical to the dataflow build and
match onnxruntime.
"""

from __future__ import annotations

import numpy as np

import xtvm
from xtvm.dialects import relay
from xtvm.passes.relay.to_a_normal_form import to_a_normal_form
from xtvm.testing.model_zoo import FAMILIES, make_model, random_inputs


def test_bert_like_in_let_form(ort_run) -> None:
    name = "bert_like"
    model = make_model(name, "tiny")
    mod = xtvm.from_onnx(model, shape_dict=FAMILIES[name].shape_dict("tiny"))
    anf = mod.clone()
    assert to_a_normal_form(anf) > 50
    anf.verify()
    assert any(isinstance(op, relay.LetOp) for op in anf.walk())
    feeds = random_inputs(name, "tiny")
    got = xtvm.build(anf, cache=False).run(feeds)
    plain = xtvm.build(mod, cache=False).run(feeds)
    want = ort_run(model, feeds)
    for g, p, w in zip(got, plain, want, strict=True):
        np.testing.assert_array_equal(g, p)
        np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-4)
