"""Tuning records: round trip, strict validation naming the line, no code execution, and
the choice of the best compatible record per workload."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from xtvm.autotune.records import (
    MAX_LINE_BYTES,
    BestRecords,
    MeasureRecord,
    append_records,
    best_records,
    load_records,
    target_dict,
    version_compatible,
)
from xtvm.backends.llvm.target import Target
from xtvm.errors import RecordsError, XTVMError

TARGET = {"triple": "x86_64-unknown-linux-gnu", "cpu": "znver3", "features": "+avx2,+fma,+sse4.2"}


def rec(workload: str = "ab12", cost: float | None = 1e-3, **kw) -> MeasureRecord:
    fields = dict(
        workload=workload,
        task="dense_pack [1,1024]x[1024,1024] f32",
        target=dict(TARGET),
        config={"tile_m": 4, "order": "mkn", "block": [2, 1], "pack": True},
        costs=[cost, cost * 1.1, cost * 0.9] if cost is not None else [],
        error=None if cost is not None else "timeout",
        timestamp=1_700_000_000.5,
        version="0.1.0",
        seed=7,
        tuner="xgb",
        extra={"flops": 2.0e9, "trial": 3},
    )
    fields.update(kw)
    return MeasureRecord(**fields)


def good_line() -> str:
    return rec().to_json()


# -- round trip -------------------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    first = [rec("a"), rec("b", cost=None)]
    second = [rec("c", cost=2e-3, seed=None, tuner="", extra={})]
    append_records(path, first)
    append_records(path, second)
    append_records(path, [])  # nothing to write, file untouched
    loaded = load_records(path)
    assert loaded == first + second
    assert path.read_text().count("\n") == 3


def test_to_json_is_one_line_and_from_json_inverts_it() -> None:
    r = rec(error=None, task="line\nbreak")
    line = r.to_json()
    assert "\n" not in line
    assert MeasureRecord.from_json(line, 1, "r.json") == r


def test_cost_is_median_and_inf_on_error() -> None:
    assert rec(costs=[3.0, 1.0, 2.0, 100.0, 1.5]).cost == 2.0
    assert rec(cost=None).cost == math.inf
    assert math.isinf(rec(error="wrong output: max error 3.5", costs=[1.0]).cost)


def test_to_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        rec(costs=[float("nan")]).to_json()


def test_empty_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("\n" + good_line() + "\n   \n\n" + good_line() + "\n")
    assert len(load_records(path)) == 2


# -- malformed lines ----------------------------------------------------------------------


def _edit(**changes) -> str:
    obj = json.loads(good_line())
    for key, value in changes.items():
        if value is _DELETE:
            del obj[key]
        else:
            obj[key] = value
    return json.dumps(obj)


_DELETE = object()

MALFORMED = {
    "bad json": ('{"workload": "ab", ', "bad JSON"),
    "not an object": ("[1, 2, 3]", "must be a JSON object"),
    "missing workload": (_edit(workload=_DELETE), "missing field 'workload'"),
    "missing costs": (_edit(costs=_DELETE), "missing field 'costs'"),
    "missing error": (_edit(error=_DELETE), "missing field 'error'"),
    "missing version": (_edit(version=_DELETE), "missing field 'version'"),
    "workload not a string": (_edit(workload=12), "'workload' must be a string"),
    "empty workload": (_edit(workload=""), "'workload' is empty"),
    "target not an object": (_edit(target="x86_64"), "'target' must be an object"),
    "target without cpu": (_edit(target={"triple": "x", "features": ""}), "target.cpu"),
    "config not an object": (_edit(config=[1, 2]), "'config' must be an object"),
    "config value an object": (_edit(config={"tile_m": {"a": 1}}), "config['tile_m']"),
    "config value nested object": (_edit(config={"b": [1, {"a": 1}]}), "config['b'][1]"),
    "config value out of range": (
        good_line().replace('"tile_m": 4', '"tile_m": 1e999'),
        "config['tile_m'] is not a finite number",
    ),
    "costs not a list": (_edit(costs=0.1), "'costs' must be a list"),
    "cost a string": (_edit(costs=[0.1, "0.2"]), "costs[1] must be a number"),
    "cost a boolean": (_edit(costs=[True]), "costs[0] must be a number"),
    "cost negative": (_edit(costs=[0.1, -0.2]), "costs[1] is negative"),
    "cost NaN": (good_line().replace('"costs": [', '"costs": [NaN, '), "bad JSON"),
    "cost Infinity": (good_line().replace('"costs": [', '"costs": [Infinity, '), "bad JSON"),
    "cost overflowing to inf": (good_line().replace('"costs": [', '"costs": [1e999, '), "finite"),
    "success without costs": (_edit(costs=[]), "needs at least one cost"),
    "error not a string": (_edit(error=3), "'error' must be a string or null"),
    "empty error": (_edit(error=""), "'error' is empty"),
    "timestamp a string": (_edit(timestamp="today"), "'timestamp' must be a number"),
    "seed a float": (_edit(seed=1.5), "'seed' must be an integer or null"),
    "seed a boolean": (_edit(seed=True), "'seed' must be an integer or null"),
    "tuner not a string": (_edit(tuner=None), "'tuner' must be a string"),
    "extra not an object": (_edit(extra=[1]), "'extra' must be an object"),
    "deeply nested": ("[" * 100_000 + "]" * 100_000, "JSON"),
    "huge integer": ('{"workload": ' + "9" * 5000 + "}", "bad JSON"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_line_names_the_line(tmp_path: Path, name: str) -> None:
    bad, what = MALFORMED[name]
    path = tmp_path / "r.json"
    # line 2 is empty: it is skipped but still counts
    path.write_text(good_line() + "\n\n" + bad + "\n" + good_line() + "\n")
    with pytest.raises(RecordsError) as info:
        load_records(path)
    message = str(info.value)
    assert message.startswith(f"{path} line 3: "), message
    assert what in message
    assert "\n" not in message


def test_line_over_one_megabyte(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    huge = _edit(task="x" * (MAX_LINE_BYTES + 10))
    path.write_text(good_line() + "\n" + huge + "\n")
    with pytest.raises(RecordsError, match=r"line 2: line longer than"):
        load_records(path)
    with pytest.raises(RecordsError, match=r"line 5: line longer than"):
        MeasureRecord.from_json(huge, 5, "r.json")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_bytes(good_line().encode() + b"\n\xff\xfe{}\n")
    with pytest.raises(RecordsError, match="line 2: not UTF-8"):
        load_records(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(RecordsError, match="nope.json does not exist"):
        load_records(path)


def test_records_error_is_an_xtvm_error() -> None:
    assert issubclass(RecordsError, XTVMError)


def test_unknown_keys_are_ignored() -> None:
    line = _edit(future_field={"x": 1})
    assert MeasureRecord.from_json(line, 1, "r.json") == rec()


# -- torn tails (a writer killed mid-line) ---------------------------------------------------


def test_torn_tail_is_dropped_on_request_and_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    append_records(path, [rec("a")])
    with open(path, "a") as f:
        f.write(rec("b").to_json()[:40])  # killed mid-line
    with pytest.raises(RecordsError, match="line 2: bad JSON"):
        load_records(path)
    assert [r.workload for r in load_records(path, drop_torn_tail=True)] == ["a"]
    append_records(path, [rec("c")])  # --resume goes on writing
    assert [r.workload for r in load_records(path)] == ["a", "c"]


def test_valid_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(rec("a").to_json())  # edited by hand, no final newline
    append_records(path, [rec("b")])
    assert [r.workload for r in load_records(path)] == ["a", "b"]


# -- nothing executes --------------------------------------------------------------------


def test_crafted_record_cannot_execute_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {marker}')"
    obj = json.loads(good_line())
    obj["config"] = {"tile_m": payload, "order": [payload]}
    obj["task"] = payload
    obj["extra"] = {"py/object": "os.system", "__reduce__": payload, "!!python/object": payload}
    obj["workload"] = "${" + payload + "}"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(obj) + "\n")
    (r,) = load_records(path)
    assert not marker.exists()
    assert r.config == {"tile_m": payload, "order": [payload]}
    assert r.task == payload
    assert r.extra["py/object"] == "os.system"
    assert type(r.extra) is dict and all(type(v) is str for v in r.extra.values())


# -- targets, versions, the best record --------------------------------------------------------


def test_target_dict_from_target() -> None:
    t = Target(triple="x86_64-unknown-linux-gnu", cpu="znver3", features="+avx2,+fma")
    assert target_dict(t) == {
        "triple": "x86_64-unknown-linux-gnu",
        "cpu": "znver3",
        "features": "+avx2,+fma",
    }
    assert target_dict(target_dict(t)) == target_dict(t)


@pytest.mark.parametrize(
    ("written", "running", "ok"),
    [
        ("0.1.0", "0.1.0", True),
        ("0.1.3", "0.1.0", True),
        ("0.1.0.dev4+g1234", "0.1.2", True),
        ("0.0.9", "0.1.0", False),
        ("1.1.0", "0.1.0", False),
        ("0.10.0", "0.1.0", False),
        ("0+unknown", "0+unknown", True),
        ("0+unknown", "0.1.0", False),
    ],
)
def test_version_rule(written: str, running: str, ok: bool) -> None:
    assert version_compatible(written, running) is ok


def test_best_records_filters_and_summarises() -> None:
    other_cpu = dict(TARGET, cpu="skylake")
    reordered = dict(TARGET, features="+sse4.2, +fma,+avx2")  # same set, other order
    records = [
        rec("w1", 3e-3),
        rec("w1", 1e-3, target=reordered),
        rec("w1", 2e-3),
        rec("w1", 0.5e-3, target=other_cpu),  # faster, but another machine
        rec("w1", 0.1e-3, version="0.0.9"),  # faster, but another version
        rec("w2", None),  # a failed measurement
        rec("w2", 4e-3, version="0.1.7"),
        rec("w3", None),
        rec("w4", 1e-3, target=dict(TARGET, triple="aarch64-linux-gnu")),
        rec("w5", 1e-3, version="0.2.0"),
    ]
    best = best_records(records, TARGET, "0.1.0")
    assert isinstance(best, BestRecords)
    assert sorted(best.best) == ["w1", "w2"]
    assert best.best["w1"] is records[1]
    assert best.best["w2"] is records[6]
    assert (best.total, best.skipped_target, best.skipped_version, best.errors) == (10, 2, 2, 2)
    assert best.summary() == (
        "tuning records: 4 used for 2 workloads; 2 skipped (another target), "
        "2 skipped (xtvm 0.0.9, 0.2.0), 2 failed measurements"
    )


def test_summary_of_clean_records() -> None:
    best = best_records([rec("w1"), rec("w1", 2e-3)], TARGET, "0.1.0")
    assert best.summary() == "tuning records: 2 used for 1 workload"


def test_best_records_ties_keep_the_first() -> None:
    a, b = rec("w", 1e-3), rec("w", 1e-3)
    assert best_records([a, b], TARGET, "0.1.0").best["w"] is a


def test_verified_records_win_over_lucky_single_measurements() -> None:
    lucky = rec(cost=1e-4)
    verified = [rec(cost=3e-3, tuner="verify"), rec(cost=2e-3, tuner="verify")]
    best = best_records([lucky, *verified], TARGET, "0.1.0").best["ab12"]
    assert best.tuner == "verify" and best.cost == 2e-3
    other = rec(workload="cd34", cost=5e-4)
    assert best_records([other, *verified], TARGET, "0.1.0").best["cd34"] is other
