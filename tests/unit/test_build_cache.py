"""The whole-build cache: a rebuild of an unchanged model is loaded, any change misses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from xdsl.dialects.builtin import BytesAttr, DenseIntOrFPElementsAttr, ModuleOp
from xdsl.parser import Parser

import xtvm
import xtvm.runtime
from xtvm.context import make_context
from xtvm.driver import build_cache
from xtvm.driver.build_cache import module_fingerprint

SHAPES = {"x": (1, 3, 32, 32)}


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets an empty cache folder, with the cache switched on."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("XTVM_CACHE_DIR", str(folder))
    monkeypatch.delenv("XTVM_CACHE", raising=False)
    return folder


@pytest.fixture(scope="module")
def relay(model_dir: Path) -> ModuleOp:
    return xtvm.from_onnx(str(model_dir / "resnet_block.onnx"), shape_dict=SHAPES)


@pytest.fixture()
def x() -> np.ndarray:
    return np.random.default_rng(5).standard_normal(SHAPES["x"]).astype(np.float32)


def stage_names(lib) -> list[str]:
    return [name for name, _ in lib.time_passes]


def test_second_build_is_a_hit_and_runs_the_same(relay, x, cache: Path) -> None:
    first = xtvm.build(relay)
    assert first.cache_status.startswith("miss")
    assert "relay-fuse-ops" in stage_names(first)
    assert len(list((cache / "builds").glob("*.json"))) == 1
    second = xtvm.build(relay)
    assert second.cache_status.startswith("hit")
    assert stage_names(second) == ["setup", "build-cache-key", "build-cache-load"]
    report = second.pass_timing_report()
    assert report.splitlines()[0].startswith("build cache: hit")
    np.testing.assert_array_equal(second(x), first(x))
    assert second.metadata == first.metadata
    assert second.build_key == first.build_key


def test_hit_rebuilds_ir_on_demand_and_exports(relay, x, tmp_path: Path) -> None:
    first = xtvm.build(relay)
    hit = xtvm.build(relay)
    assert hit.cache_status.startswith("hit")
    for level in ("relay", "te", "tir", "llvm", "ll"):
        assert hit.get_source(level) == first.get_source(level)
    path = hit.export_library(tmp_path / "hit.so")
    np.testing.assert_array_equal(xtvm.runtime.load(path)(x), first(x))


def test_export_of_a_hit_reuses_the_cached_object(relay, x, tmp_path: Path) -> None:
    first = xtvm.build(relay)
    first.export_library(tmp_path / "a.so")
    hit = xtvm.build(relay)
    hit.export_library(tmp_path / "b.so")
    assert hit._ir_module is None  # linked from the cache: nothing was compiled again
    np.testing.assert_array_equal(xtvm.runtime.load(tmp_path / "b.so")(x), first(x))


def test_thread_count_global_survives_a_hit(relay, x) -> None:
    first = xtvm.build(relay, num_threads=1)
    hit = xtvm.build(relay, num_threads=1)
    assert hit.cache_status.startswith("hit") and hit.num_threads == first.num_threads == 1
    hit.num_threads = 2
    np.testing.assert_array_equal(hit(x), first(x))


def changed_weights(relay: ModuleOp) -> ModuleOp:
    """``relay`` with one bit of one weight flipped."""
    mod = relay.clone()
    for op in mod.walk():
        value = op.properties.get("value") or op.attributes.get("value")
        if isinstance(value, DenseIntOrFPElementsAttr) and value.get_shape():
            data = np.frombuffer(value.data.data, np.uint8).copy()
            data[-1] ^= 1
            new = DenseIntOrFPElementsAttr(value.type, BytesAttr(data.tobytes()))
            if "value" in op.properties:
                op.properties["value"] = new
            else:
                op.attributes["value"] = new
            return mod
    raise AssertionError("no constant to change")


@pytest.mark.parametrize(
    "change",
    [
        "weights",
        "opt_level",
        "pipeline",
        "target",
        "num_threads",
        "profile",
        "compiler",
    ],
)
def test_any_change_misses(relay, change: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert xtvm.build(relay).cache_status.startswith("miss")
    kwargs: dict = {}
    mod = relay
    if change == "weights":
        mod = changed_weights(relay)
    elif change == "opt_level":
        kwargs["opt_level"] = 1  # (O2 is the same pipeline as O3: a hit)
    elif change == "pipeline":
        from xtvm.passes.registry import PIPELINES

        kwargs["pipeline"] = PIPELINES["O3"].replace("relay-cse,", "")
    elif change == "target":
        kwargs["target"] = "llvm -opt-level=2"
    elif change == "num_threads":
        kwargs["num_threads"] = 1
    elif change == "profile":
        kwargs["profile"] = True
    else:
        monkeypatch.setattr(build_cache, "compiler_fingerprint", lambda: "another compiler")
    assert xtvm.build(mod, **kwargs).cache_status.startswith("miss")


def test_cache_off(relay, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = xtvm.build(relay, cache=False)
    assert lib.cache_status == "off" and lib.build_key is None
    assert "build-cache-key" not in stage_names(lib)
    monkeypatch.setenv("XTVM_CACHE", "0")
    assert xtvm.build(relay).cache_status == "off"
    assert not (cache / "builds").exists()
    monkeypatch.setenv("XTVM_CACHE", "1")
    assert xtvm.build(relay).cache_status.startswith("miss")
    assert xtvm.build(relay, cache=False).cache_status == "off"
    monkeypatch.setenv("XTVM_CACHE_DIR", "")
    assert xtvm.build(relay).cache_status == "off"


def test_lost_object_or_corrupt_entry_builds_again(relay, x, cache: Path) -> None:
    first = xtvm.build(relay)
    for obj in (cache / "objects").glob("*.o"):
        obj.unlink()
    again = xtvm.build(relay)
    assert again.cache_status.startswith("miss")
    np.testing.assert_array_equal(again(x), first(x))
    (entry,) = (cache / "builds").glob("*.json")
    entry.write_text("{not json")
    assert xtvm.build(relay).cache_status.startswith("miss")
    data = json.loads(entry.read_text())
    assert data["metadata"] == first.metadata
    assert xtvm.build(relay).cache_status.startswith("hit")


def test_caller_may_change_the_module_after_a_build(relay, x) -> None:
    mod = relay.clone()
    first = xtvm.build(mod)
    hit = xtvm.build(mod)
    for op in list(mod.body.block.ops):
        op.detach()  # the caller reuses its module; the hit's rebuild must not see this
    assert "tir.prim_func" in hit.get_source("tir")
    np.testing.assert_array_equal(hit(x), first(x))


CONST = """
func.func @main(%x: tensor<{n}xf32>) -> tensor<{n}xf32> {{
  %w = relay.constant {value} : tensor<{n}xf32>
  %y = relay.add %x, %w : (tensor<{n}xf32>, tensor<{n}xf32>) -> tensor<{n}xf32>
  func.return %y : tensor<{n}xf32>
}}
"""


def const_module(values: np.ndarray) -> ModuleOp:
    hexdata = values.astype("<f4").tobytes().hex().upper()
    text = CONST.format(n=values.size, value=f'dense<"0x{hexdata}">')
    return Parser(make_context(), text).parse_module()


@settings(max_examples=40, deadline=None)
@given(
    a=arrays(np.float32, st.integers(1, 12), elements=st.floats(-4, 4, width=32)),
    b=arrays(np.float32, st.integers(1, 12), elements=st.floats(-4, 4, width=32)),
)
def test_fingerprint_is_equal_exactly_for_equal_weights(a: np.ndarray, b: np.ndarray) -> None:
    same = a.shape == b.shape and a.tobytes() == b.tobytes()
    fa, fb = module_fingerprint(const_module(a)), module_fingerprint(const_module(b))
    assert (fa == fb) == same
    assert module_fingerprint(const_module(a).clone()) == fa


HIT_IN_NEW_PROCESS = """
import sys
import xtvm
mod = xtvm.from_onnx(sys.argv[1], shape_dict={"x": (1, 3, 32, 32)})
lib = xtvm.build(mod)
print(lib.cache_status.split()[0], "xtvm.lowering.tir_to_llvm.convert" in sys.modules)
"""


def test_a_hit_in_a_new_process_imports_no_pass(model_dir: Path) -> None:
    import subprocess
    import sys

    args = [sys.executable, "-c", HIT_IN_NEW_PROCESS, str(model_dir / "resnet_block.onnx")]
    first = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert first.stdout.split() == ["miss", "True"], first.stderr
    second = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert second.stdout.split() == ["hit", "False"], second.stderr
