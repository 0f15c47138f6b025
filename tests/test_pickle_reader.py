"""The pickle reader: models come back inert and complete, hostile files are refused unrun.

Real scikit-learn models are pickled (protocols 2-5) and dumped with joblib
(uncompressed and with every stdlib compressor) and read back: the estimator's
class path, its fitted arrays and its trees must survive, object arrays too
(gradient boosting's ``estimators_``, the ``feature_names_in_`` of a model fitted
on a DataFrame). Hostile files (built with ``pickle.dumps`` of objects whose
``__reduce__`` names a command, or written opcode by opcode) must be refused with
every disallowed global named, also inside a joblib object-array payload, and
the command they carry must never run: each one would create a marker file.
Malformed streams (every truncation, random bytes, bad operands) must raise
``SdcInputError`` and nothing else.
"""

from __future__ import annotations

import builtins
import collections
import io
import os
import pickle
import pickletools
import struct
import subprocess
import time
import zlib
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from sdc.exceptions import SdcInputError, SdcRefusedFile
from sdc.models.pickle_reader import (
    ALLOWED,
    Inert,
    PickleContents,
    _Global,
    allowed,
    read_joblib,
    read_pickle,
)

try:
    from numpy._core.multiarray import _reconstruct, scalar
    from numpy._core.numeric import _frombuffer  # type: ignore[attr-defined]
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct, scalar  # type: ignore[no-redef]
    from numpy.core.numeric import _frombuffer  # type: ignore[no-redef]

# --------------------------------------------------------------------------------------
# Fitted models, fitted once


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 4))
    y = (x[:, 0] + 0.5 * rng.normal(size=120) > 0).astype(int)
    return x, y


def _frame() -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Numbers under named columns, and text columns: fitted on, they give object arrays."""
    x, y = _data()
    numbers = pd.DataFrame(x, columns=["age", "income", "height", "weight"])
    rng = np.random.default_rng(5)
    text = pd.DataFrame(
        {
            "colour": rng.choice(["red", "green", "blue"], size=len(y)),
            "size": rng.choice(["S", "M", "L", "XL"], size=len(y)),
        }
    )
    return numbers, text, y


def _fit(name: str) -> Any:
    x, y = _data()
    if name == "tree_clf":
        return DecisionTreeClassifier(max_depth=4, random_state=0).fit(x, y)
    if name == "tree_reg":
        return DecisionTreeRegressor(max_depth=4, random_state=0).fit(x, x[:, 1])
    if name == "forest":
        return RandomForestClassifier(5, max_depth=4, random_state=0).fit(x, y)
    if name == "logistic":
        return LogisticRegression().fit(x, y)
    if name == "scaler":
        return StandardScaler().fit(x)
    if name == "onehot":
        return OneHotEncoder().fit(np.random.default_rng(0).integers(0, 3, size=(40, 2)))
    if name == "svc":
        return SVC().fit(x, y)
    if name == "knn":
        return KNeighborsClassifier(3, algorithm="kd_tree").fit(x, y)
    if name == "pipeline":
        return Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())]).fit(x, y)
    if name == "boosting":
        return GradientBoostingClassifier(n_estimators=3, max_depth=2).fit(x, y)
    if name == "boosting_reg":
        return GradientBoostingRegressor(n_estimators=3, max_depth=2).fit(x, x[:, 1])
    if name == "forest_df":
        numbers, _, y = _frame()
        return RandomForestClassifier(3, max_depth=3, random_state=0).fit(numbers, y)
    if name == "onehot_df":
        return OneHotEncoder().fit(_frame()[1])
    raise AssertionError(name)


MODELS = (
    "tree_clf",
    "tree_reg",
    "forest",
    "logistic",
    "scaler",
    "onehot",
    "svc",
    "knn",
    "pipeline",
    "boosting",
    "boosting_reg",
    "forest_df",
    "onehot_df",
)
_FITTED: dict[str, Any] = {}


def model(name: str) -> Any:
    if name not in _FITTED:
        _FITTED[name] = _fit(name)
    return _FITTED[name]


def class_path(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def joblib_bytes(obj: Any, compress: Any) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=compress)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------
# Comparing a real object with what the reader rebuilt


def assert_tree(real: Any, stub: Any) -> None:
    """A fitted ``tree_``: its arrays, node by node, and its constructor arguments."""
    assert isinstance(stub, Inert)
    assert stub.cls == "sklearn.tree._tree.Tree"
    n_features, n_classes, n_outputs = stub.args
    assert n_features == real.n_features
    assert np.array_equal(n_classes, real.n_classes)
    assert n_outputs == real.n_outputs
    nodes = stub.state["nodes"]
    assert nodes.dtype.names is not None and nodes.shape == (real.node_count,)
    assert np.array_equal(nodes["left_child"], real.children_left)
    assert np.array_equal(nodes["right_child"], real.children_right)
    assert np.array_equal(nodes["feature"], real.feature)
    assert np.array_equal(nodes["threshold"], real.threshold)
    assert np.array_equal(nodes["n_node_samples"], real.n_node_samples)
    assert np.array_equal(nodes["weighted_n_node_samples"], real.weighted_n_node_samples)
    assert np.array_equal(stub.state["values"], real.value)
    assert stub.state["node_count"] == real.node_count
    assert stub.state["max_depth"] == real.max_depth


def assert_same(real: Any, rebuilt: Any, path: str = "root") -> None:
    """The rebuilt value matches the real one: estimators attribute by attribute."""
    if type(real).__name__ == "Tree":
        assert_tree(real, rebuilt)
    elif isinstance(real, np.random.RandomState):
        # pickled through numpy's constructor function, with the generator's state
        assert isinstance(rebuilt, Inert), path
        assert rebuilt.cls == "numpy.random._pickle.__randomstate_ctor", path
        state = real.get_state(legacy=False)
        assert rebuilt.state["bit_generator"] == state["bit_generator"], path
        assert np.array_equal(rebuilt.state["state"]["key"], state["state"]["key"]), path
        assert rebuilt.state["state"]["pos"] == state["state"]["pos"], path
    elif isinstance(rebuilt, Inert):
        assert rebuilt.cls == class_path(real), path
        # what pickling saved: a dict for estimators, a tuple for Cython objects
        assert_same(real.__getstate__(), rebuilt.state, f"{path}.__getstate__()")
    elif isinstance(rebuilt, _Global):
        assert rebuilt.name == f"{real.__module__}.{real.__qualname__}", path
    elif isinstance(real, np.ndarray) and real.dtype == object:
        # rebuilt from inert elements, compared element by element
        assert isinstance(rebuilt, np.ndarray) and rebuilt.dtype == object, path
        assert rebuilt.shape == real.shape, path
        for i, (a, b) in enumerate(zip(real.flat, rebuilt.flat, strict=True)):
            assert_same(a, b, f"{path}.flat[{i}]")
    elif isinstance(real, np.ndarray):
        assert isinstance(rebuilt, np.ndarray), path
        # numpy's own unpickler swaps protocol 2-4 arrays to native order; the reader keeps it
        assert real.dtype in (rebuilt.dtype, rebuilt.dtype.newbyteorder("=")), path
        assert rebuilt.shape == real.shape, path
        assert np.array_equal(rebuilt, real, equal_nan=real.dtype.kind in "fcmM"), path
    elif isinstance(real, list | tuple):
        assert type(rebuilt) is type(real) and len(rebuilt) == len(real), path
        for i, (a, b) in enumerate(zip(real, rebuilt, strict=True)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(real, dict):
        assert set(rebuilt) == set(real), path
        for key in real:
            assert_same(real[key], rebuilt[key], f"{path}[{key!r}]")
    else:
        assert type(rebuilt) is type(real), path
        assert rebuilt == real or (rebuilt != rebuilt and real != real), path


def check_model(name: str, contents: PickleContents) -> None:
    real = model(name)
    root = contents.root
    assert isinstance(root, Inert)
    assert root.cls == class_path(real)
    assert class_path(real) in contents.globals
    assert all(allowed(g) for g in contents.globals)
    assert len(set(contents.globals)) == len(contents.globals)
    assert contents.n_opcodes > 0
    assert_same(real, root)
    if name in ("tree_clf", "tree_reg"):
        assert_tree(real.tree_, root.state["tree_"])
        assert "sklearn.tree._tree.Tree" in contents.globals
    if name == "forest":
        stubs = root.state["estimators_"]
        assert isinstance(stubs, list) and len(stubs) == 5
        for est, stub in zip(real.estimators_, stubs, strict=True):
            assert stub.cls == "sklearn.tree._classes.DecisionTreeClassifier"
            assert_tree(est.tree_, stub.state["tree_"])
    if name == "scaler":
        assert np.array_equal(root.state["mean_"], real.mean_)
        assert np.array_equal(root.state["scale_"], real.scale_)
    if name == "onehot":
        assert root.state["dtype"] == _Global("numpy.float64")
        for cats, got in zip(real.categories_, root.state["categories_"], strict=True):
            assert np.array_equal(cats, got)
    if name == "knn":
        kd_tree = root.state["_tree"]
        assert kd_tree.cls == "sklearn.neighbors._kd_tree.KDTree"
        assert np.array_equal(kd_tree.state[0], real._fit_X)
    if name == "pipeline":
        steps = root.state["steps"]
        assert [step[0] for step in steps] == ["scale", "model"]
        assert steps[1][1].cls == "sklearn.linear_model._logistic.LogisticRegression"
    if name in ("boosting", "boosting_reg"):
        stubs = root.state["estimators_"]
        assert isinstance(stubs, np.ndarray) and stubs.dtype == object
        assert stubs.shape == real.estimators_.shape == (3, 1)
        for est, stub in zip(real.estimators_.flat, stubs.flat, strict=True):
            assert isinstance(stub, Inert)
            assert stub.cls == "sklearn.tree._classes.DecisionTreeRegressor"
            assert_tree(est.tree_, stub.state["tree_"])
        assert np.array_equal(root.state["train_score_"], real.train_score_)
    if name == "forest_df":
        names = root.state["feature_names_in_"]
        assert isinstance(names, np.ndarray) and names.dtype == object
        assert list(names) == list(real.feature_names_in_) == ["age", "income", "height", "weight"]
    if name == "onehot_df":
        assert list(root.state["feature_names_in_"]) == ["colour", "size"]
        for cats, got in zip(real.categories_, root.state["categories_"], strict=True):
            assert cats.dtype == object and got.dtype == object
            assert list(got) == list(cats)


# --------------------------------------------------------------------------------------
# Real models


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("name", MODELS)
def test_pickled_models_come_back_inert_and_complete(name: str, protocol: int) -> None:
    contents = read_pickle(pickle.dumps(model(name), protocol=protocol))
    assert contents.protocol == protocol
    check_model(name, contents)


@pytest.mark.parametrize(
    "compress", [0, 3, ("gzip", 3), ("bz2", 3), ("xz", 3), ("lzma", 3)], ids=str
)
@pytest.mark.parametrize("name", MODELS)
def test_joblib_models_come_back_inert_and_complete(name: str, compress: Any) -> None:
    check_model(name, read_joblib(joblib_bytes(model(name), compress)))


def test_old_protocols_and_memoryview_input_are_read() -> None:
    for protocol in (0, 1):
        check_model("forest", read_pickle(pickle.dumps(model("forest"), protocol=protocol)))
    for protocol in (0, 4):  # a view of part of a buffer: text opcodes search it in steps
        data = pickle.dumps(model("tree_clf"), protocol=protocol)
        check_model("tree_clf", read_pickle(memoryview(bytearray(b"xx" + data))[2:]))


PLAIN: dict[Any, Any] = {
    "none": None,
    "bools": [True, False],
    "ints": [0, 1, -1, 255, 256, 65535, 65536, -(2**31), 2**31, 2**100, -(2**70)],
    "floats": [0.0, -1.5, 1e300, float("inf")],
    "text": ["", "a", "é\u2603", "x" * 300, "line\nbreak"],
    "bytes": [b"", b"\x00\xff", b"y" * 300],
    "bytearray": bytearray(b"abc"),
    "tuples": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
    "set": {1, "a", (2, 3)},
    "frozenset": frozenset({"x", 4}),
    "slice": slice(1, None, 2),
    "complex": 1 + 2j,
    "nested": {"a": [{"b": (1, [2])}]},
    ("tuple", "key"): 1,
    "f_order": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    "big_endian": np.arange(5, dtype=">i4"),
    "unicode": np.array(["ab", "c"]),
    "bytes_array": np.array([b"x", b"yz"]),
    "dates": np.array(["2020-01-01", "NaT"], dtype="M8[D]"),
    "durations": np.array([3], dtype="m8[3ms]"),
    "empty": np.zeros((0, 3)),
    "zero_d": np.array(5),
    "strided": np.arange(10)[::2],
    "records": np.zeros(3, dtype=[("a", "<i8"), ("b", ">f4", (2, 3))]),
    "scalars": [np.float64(3.5), np.int32(-2), np.complex64(1 + 2j), np.bool_(True)],
}


@pytest.mark.parametrize("protocol", range(6))
def test_plain_values_and_arrays_match_the_real_unpickler(protocol: int) -> None:
    data = pickle.dumps(PLAIN, protocol=protocol)
    got = read_pickle(data).root
    expected = pickle.loads(data)  # safe: the test built this data itself
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert_same(value, got[key], repr(key))
    assert got["f_order"].flags.f_contiguous


def test_ordered_dict_becomes_a_dict_with_its_items() -> None:
    data = pickle.dumps(collections.OrderedDict([("b", 1), ("a", 2)]), protocol=2)
    root = read_pickle(data).root
    assert type(root) is dict and list(root.items()) == [("b", 1), ("a", 2)]


def test_persistent_ids_go_to_the_given_loader() -> None:
    data = b"\x80\x02]q\x00(X\x03\x00\x00\x00pidQK\x01e."
    assert read_pickle(data, persistent_load=lambda pid: ("loaded", pid)).root == [
        ("loaded", "pid"),
        1,
    ]
    with pytest.raises(SdcInputError, match="loader fails"):
        read_pickle(data, persistent_load=lambda pid: 1 / 0)


OBJECTS = np.array([1, "a", None, (2.5, "b"), b"c", np.arange(3), np.float64(0.5)], dtype=object)


@pytest.mark.parametrize("protocol", range(6))
def test_object_arrays_hold_the_inert_values_of_their_elements(protocol: int) -> None:
    grid = np.empty((2, 3), dtype=object, order="F")
    for i in range(2):
        for j in range(3):
            grid[i, j] = f"{i}{j}"
    value = {"objects": OBJECTS, "grid": grid, "empty": np.empty((0, 2), dtype=object)}
    root = read_pickle(pickle.dumps(value, protocol=protocol)).root
    assert_same(value, root)
    assert root["grid"].flags.f_contiguous
    assert root["objects"][3] == (2.5, "b")
    assert isinstance(root["objects"][5], np.ndarray)


@pytest.mark.parametrize("compress", [0, 3], ids=str)
def test_joblib_object_array_payloads_are_read_in_place(compress: Any) -> None:
    """The nested pickle after the wrapper is read, and the outer stream goes on after it."""
    value = {"before": np.arange(4.0), "objects": OBJECTS, "after": [np.ones(2), "end"]}
    contents = read_joblib(joblib_bytes(value, compress))
    assert_same(value, contents.root)
    whole = read_joblib(joblib_bytes(np.arange(4.0), compress))
    assert contents.n_opcodes > whole.n_opcodes


def test_the_corpus_joblib_object_array_reads_as_data(tmp_path: Path) -> None:
    from tests import model_corpus as corpus

    root = read_joblib(corpus.joblib_object_array(tmp_path).read_bytes()).root
    assert isinstance(root["x"], np.ndarray) and root["x"].dtype == object
    assert list(root["x"]) == [1, "a"]


# --------------------------------------------------------------------------------------
# The allow-list


@pytest.mark.parametrize(
    "name",
    [
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.utils._bunch.Bunch",
        "scipy.sparse._csr.csr_matrix",
        "scipy.sparse._coo.CooThing",
        "numpy.dtype",
        "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "_codecs.encode",
        "copy_reg._reconstructor",
        "__builtin__.set",
        "builtins.object",
        "numpy.float64",
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "numpy.random._pickle.__randomstate_ctor",
    ],
)
def test_allowed_globals(name: str) -> None:
    assert allowed(name)


@pytest.mark.parametrize(
    "name",
    [
        "os.system",
        "posix.system",
        "nt.system",
        "subprocess.Popen",
        "builtins.eval",
        "builtins.exec",
        "builtins.getattr",
        "builtins.__import__",
        "builtins.open",
        "__builtin__.eval",
        "sys.modules",
        "runpy._run_code",
        "importlib.import_module",
        "functools.partial",
        "operator.attrgetter",
        "torch._utils._rebuild_tensor_v2",
        "pickle.loads",
        "marshal.loads",
        "types.FunctionType",
        "numpy.load",
        "numpy.testing._private.utils.runstring",
        "webbrowser.open",
        "shutil.rmtree",
        "sklearn.utils.estimator_checks.check_estimator",
        "sklearn.x.Foo.__reduce__",
        "sklearn.Foo",
        "sklearnx.Foo",
        "scipy.sparse.linalg.eigsh",
        "sklearn.x.Foo\nbar",
    ],
)
def test_disallowed_globals(name: str) -> None:
    assert not allowed(name)
    assert name not in ALLOWED


# --------------------------------------------------------------------------------------
# Hostile files


class Reduces:
    """An object that pickles as a call of ``func(*args)``: dumping it runs nothing."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple[Any, tuple]:
        return self.func, self.args


def u(text: str) -> bytes:
    """SHORT_BINUNICODE of ``text``."""
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def system_name() -> str:
    return f"{os.system.__module__}.system"


def hostile_cases(marker: Path) -> dict[str, tuple[bytes, list[str]]]:
    touch = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').close()"
    return {
        "os.system": (pickle.dumps(Reduces(os.system, touch)), [system_name()]),
        "posix.system by hand": (
            b"\x80\x02cposix\nsystem\nX"
            + struct.pack("<I", len(touch))
            + touch.encode()
            + b"\x85R.",
            ["posix.system"],
        ),
        "subprocess.Popen": (
            pickle.dumps(Reduces(subprocess.Popen, ["touch", str(marker)]), protocol=4),
            ["subprocess.Popen"],
        ),
        "builtins.eval": (pickle.dumps(Reduces(eval, code), protocol=4), ["builtins.eval"]),
        "__builtin__.eval, protocol 2": (
            pickle.dumps(Reduces(eval, code), protocol=2),
            ["__builtin__.eval"],
        ),
        "builtins.exec": (pickle.dumps(Reduces(exec, code), protocol=5), ["builtins.exec"]),
        "builtins.__import__": (
            pickle.dumps(Reduces(builtins.__import__, "os"), protocol=3),
            ["builtins.__import__"],
        ),
        "getattr chain": (
            b"\x80\x04"
            + u("builtins")
            + u("getattr")
            + b"\x93"
            + u("builtins")
            + u("__import__")
            + b"\x93"
            + u("os")
            + b"\x85R"
            + u("system")
            + b"\x86R"
            + u(touch)
            + b"\x85R.",
            ["builtins.getattr", "builtins.__import__"],
        ),
        "__builtin__.eval, protocol 0": (
            b"c__builtin__\neval\n(V" + code.encode() + b"\ntR.",
            ["__builtin__.eval"],
        ),
        "STACK_GLOBAL from the memo": (
            b"\x80\x04"
            + u("posix")
            + b"\x94"
            + u("system")
            + b"\x94"
            + b"00h\x00h\x01\x93"
            + u(touch)
            + b"\x85R.",
            ["posix.system"],
        ),
        "INST": (b"(V" + touch.encode() + b"\nios\nsystem\n.", ["os.system"]),
        "OBJ": (b"(cos\nsystem\nV" + touch.encode() + b"\no.", ["os.system"]),
        "NEWOBJ_EX": (
            b"\x80\x04" + u("os") + u("system") + b"\x93" + u(touch) + b"\x85}\x92.",
            ["os.system"],
        ),
        "several": (
            pickle.dumps([Reduces(eval, code), {"k": Reduces(os.system, touch)}], protocol=4),
            ["builtins.eval", system_name()],
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "os.system",
        "posix.system by hand",
        "subprocess.Popen",
        "builtins.eval",
        "__builtin__.eval, protocol 2",
        "builtins.exec",
        "builtins.__import__",
        "getattr chain",
        "__builtin__.eval, protocol 0",
        "STACK_GLOBAL from the memo",
        "INST",
        "OBJ",
        "NEWOBJ_EX",
        "several",
    ],
)
def test_hostile_globals_are_refused_named_and_never_run(tmp_path: Path, case: str) -> None:
    marker = tmp_path / "pwned"
    data, names = hostile_cases(marker)[case]
    with pytest.raises(SdcRefusedFile) as info:
        read_pickle(data)
    message = str(info.value)
    assert "outside the allow-list" in message and "nothing in it was run" in message
    for name in names:
        assert name in message
    assert "\n" not in message
    assert not marker.exists()


def test_a_global_hidden_deep_inside_a_model_is_found(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    tree = _fit("tree_clf")
    tree.extra_ = {"a": [1, (2, {"b": Reduces(os.system, f"touch {marker}")})]}
    for protocol in (2, 5):
        with pytest.raises(SdcRefusedFile, match=system_name()):
            read_pickle(pickle.dumps(tree, protocol=protocol))
    with pytest.raises(SdcRefusedFile, match=system_name()):
        read_joblib(joblib_bytes(tree, 3))
    assert not marker.exists()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x80\x02\x82\x01\x85.", "extension"),
        (b"\x80\x02\x83\x01\x00.", "extension"),
        (b"\x80\x02\x84\x01\x00\x00\x00.", "extension"),
        (b"Pabc\n.", "persistent id"),
        (b"\x80\x02X\x03\x00\x00\x00abcQ.", "persistent id"),
        (b"\x80\x05\x97.", "out-of-band"),
        (b"\x80\x05N\x98.", "out-of-band"),
        (b"\x80\x02N.junk", "follow the end"),
    ],
)
def test_unsafe_opcodes_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(SdcRefusedFile, match=reason):
        read_pickle(data)


def test_a_refusal_still_names_the_globals_seen_before_it() -> None:
    data = b"\x80\x02cos\nsystem\n\x82\x01."
    with pytest.raises(SdcRefusedFile, match=r"os\.system.*extension"):
        read_pickle(data)


class Builds:
    """An object that pickles as ``func(*args)`` followed by BUILD with ``state``."""

    def __init__(self, func: Any, args: tuple, state: Any) -> None:
        self.func = func
        self.args = args
        self.state = state

    def __reduce__(self) -> tuple[Any, tuple, Any]:
        return self.func, self.args, self.state


def _array_state(dtype: Any, data: Any, shape: tuple = (1,)) -> Builds:
    return Builds(_reconstruct, (np.ndarray, (0,), b"b"), (1, shape, np.dtype(dtype), False, data))


def test_a_hostile_object_array_is_refused_named_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = np.array([Reduces(os.system, f"touch {marker}")], dtype=object)
    for protocol in (2, 3, 4, 5):
        with pytest.raises(SdcRefusedFile, match=system_name()):
            read_pickle(pickle.dumps({"x": evil}, protocol=protocol))
    for compress in (0, 3):
        with pytest.raises(SdcRefusedFile, match=system_name()) as info:
            read_joblib(joblib_bytes({"x": evil}, compress))
        assert "outside the allow-list" in str(info.value)
    # globals outside and inside the payload are all named, the outer ones read after it too
    code = f"open({str(marker)!r}, 'w').close()"
    mixed = {"weights": np.ones(3), "x": evil, "later": Reduces(eval, code)}
    with pytest.raises(SdcRefusedFile, match=rf"{system_name()}, builtins\.eval;"):
        read_joblib(joblib_bytes(mixed, 0))
    assert not marker.exists()


@pytest.mark.parametrize(
    "value",
    [
        np.zeros(2, dtype=[("a", "f8"), ("b", "O")]),  # object dtype in a record dtype
        np.zeros(2, dtype=[("a", "f8"), ("b", "O", (2,))]),  # ... in a sub-array field
        Reduces(_frombuffer, b"\x00" * 8, np.dtype(object), (1,), "C"),  # object dtype, raw bytes
        _array_state(object, b"\x00" * 8),  # the array state, with bytes for its data
        Reduces(scalar, np.dtype(object), b"\x00" * 8),  # an object scalar from bytes
    ],
    ids=["record", "sub-array", "frombuffer", "reconstruct-bytes", "scalar"],
)
def test_the_object_dtype_is_refused_outside_a_list_of_elements(value: Any) -> None:
    for protocol in (2, 5):
        with pytest.raises(SdcRefusedFile, match="object"):
            read_pickle(pickle.dumps(value, protocol=protocol))
    if isinstance(value, np.ndarray):
        with pytest.raises(SdcRefusedFile, match="object"):
            read_joblib(joblib_bytes(value, 0))


def test_an_object_array_state_that_does_not_add_up_is_an_input_error() -> None:
    cases = {
        "lists 2 elements": _array_state(object, [1, 2], shape=(3,)),
        "holds a list": _array_state("f8", [1.0]),
        "order flag": Builds(
            _reconstruct, (np.ndarray, (0,), b"b"), (1, (1,), np.dtype(object), 2, [1])
        ),
    }
    for reason, value in cases.items():
        with pytest.raises(SdcInputError, match=reason) as info:
            read_pickle(pickle.dumps(value, protocol=4))
        assert not isinstance(info.value, SdcRefusedFile)


def test_object_arrays_count_against_the_array_budget_and_the_nesting_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    many = np.array([None] * 1000, dtype=object)
    with pytest.raises(SdcRefusedFile, match="max_array_bytes"):
        read_pickle(pickle.dumps(many, protocol=5), max_array_bytes=4000)
    # the payload shares the budget with the arrays around it: 3,200 + 8,000 bytes
    data = joblib_bytes({"a": np.zeros(400), "x": many}, 0)
    assert read_pickle(data, max_array_bytes=11_200, joblib_arrays=True).root["x"].shape == (1000,)
    with pytest.raises(SdcRefusedFile, match="max_array_bytes"):
        read_pickle(data, max_array_bytes=11_199, joblib_arrays=True)
    nested: Any = None
    for _ in range(30):
        outer = np.empty(1, dtype=object)
        outer[0] = nested
        nested = outer
    assert read_pickle(pickle.dumps(nested, protocol=4)).root.shape == (1,)
    monkeypatch.setattr("sdc.models.pickle_reader.MAX_NESTING", 20)
    with pytest.raises(SdcRefusedFile, match="nest"):
        read_pickle(pickle.dumps(nested, protocol=4))


def _inner(array: np.ndarray) -> bytes:
    """The nested pickle joblib writes after an object array's wrapper."""
    return pickle.dumps(array, protocol=5)


def test_a_payload_inside_a_payload_is_refused(tmp_path: Path) -> None:
    """joblib reads a payload with a plain unpickler: a wrapper in it never reads array bytes."""
    from joblib.numpy_pickle import NumpyArrayWrapper

    marker = tmp_path / "pwned"
    outer = np.array([1, "a"], dtype=object)
    data = joblib_bytes({"x": outer}, 0)
    assert data.count(_inner(outer)) == 1
    wrapper = NumpyArrayWrapper(np.ndarray, (1,), "C", np.dtype(object))
    deeper = np.array([wrapper], dtype=object)
    evil = np.array([Reduces(os.system, f"touch {marker}")], dtype=object)
    hostile = data.replace(_inner(outer), _inner(deeper) + _inner(evil))
    with pytest.raises(SdcRefusedFile, match="payload holds a joblib array wrapper of its own"):
        read_joblib(hostile)
    assert not marker.exists()


def _last_frame_before_build(data: bytes) -> int:
    """Where the FRAME that holds the first BUILD starts."""
    frame = -1
    for opcode, _, pos in pickletools.genops(data):
        if opcode.name == "FRAME" and pos is not None:
            frame = pos
        if opcode.name == "BUILD":
            return frame
    raise AssertionError("no BUILD")


def _grow_frame(data: bytes, at: int, extra: int) -> bytes:
    size = int.from_bytes(data[at + 1 : at + 9], "little")
    return data[: at + 1] + (size + extra).to_bytes(8, "little") + data[at + 9 :]


def test_joblib_array_data_inside_a_pickle_frame_is_refused() -> None:
    """joblib reads array data from the file after the current frame: data inside it is not read."""
    for value in (np.arange(4.0), OBJECTS):
        data = joblib_bytes(value, 0)
        at = _last_frame_before_build(data)
        assert at >= 0
        with pytest.raises(SdcRefusedFile, match="inside a pickle frame"):
            read_joblib(_grow_frame(data, at, 8))
    # a payload whose last frame runs past its STOP: joblib would resume elsewhere
    data = joblib_bytes({"x": OBJECTS}, 0)
    inner = _inner(OBJECTS)
    assert data.count(inner) == 1 and inner[2:3] == b"\x95"
    with pytest.raises(SdcRefusedFile, match="inside its last pickle frame"):
        read_joblib(data.replace(inner, _grow_frame(inner, 2, 1)))


def test_every_truncation_of_a_joblib_object_array_is_an_input_error() -> None:
    data = joblib_bytes({"x": np.array([1, "a", (2,)], dtype=object), "y": np.arange(3.0)}, 0)
    for end in range(1, len(data)):
        with pytest.raises(SdcInputError) as info:
            read_joblib(data[:end])
        assert not isinstance(info.value, SdcRefusedFile)


def test_a_zlib_bomb_is_refused_without_inflating_it() -> None:
    engine = zlib.compressobj(9)
    zeros = bytes(1 << 20)
    bomb = b"".join(engine.compress(zeros) for _ in range(200)) + engine.flush()  # 200 MB
    assert len(bomb) < 1 << 20
    start = time.perf_counter()
    with pytest.raises(SdcRefusedFile, match="max_bytes"):
        read_joblib(bomb, max_bytes=1 << 20)
    assert time.perf_counter() - start < 2


def test_decompression_is_capped_against_the_files_size() -> None:
    """Without a max_bytes of its own, a bomb stops at a multiple of its compressed size
    (a 1.8 MB file no longer inflates to 4 GB before it is refused)."""
    from sdc.models.format import Limits
    from sdc.models.pickle_reader import inflate_budget

    engine = zlib.compressobj(9)
    zeros = bytes(1 << 20)
    bomb = b"".join(engine.compress(zeros) for _ in range(200)) + engine.flush()  # 200 MB
    budget = inflate_budget(len(bomb), 2**31)
    assert budget == int(Limits().max_ratio * len(bomb)) and budget < 200 << 20
    with pytest.raises(SdcRefusedFile, match="decompression bomb") as info:
        read_joblib(bomb)
    assert f"more than {budget:,} bytes" in str(info.value)
    assert inflate_budget(1_800_000, 2**31) < 4 << 30
    # A small honest file still reads: its budget is at least ratio_min_bytes.
    assert read_joblib(joblib_bytes(np.zeros(1000), 3)).root is not None


def test_size_limits_are_enforced(monkeypatch: pytest.MonkeyPatch) -> None:
    data = pickle.dumps(np.zeros(1000), protocol=5)
    with pytest.raises(SdcRefusedFile, match="max_array_bytes"):
        read_pickle(data, max_array_bytes=4000)
    with pytest.raises(SdcRefusedFile, match="max_bytes"):
        read_joblib(joblib_bytes(np.zeros(1000), 0), max_bytes=4000)
    monkeypatch.setattr("sdc.models.pickle_reader.MAX_STACK", 1000)
    with pytest.raises(SdcRefusedFile, match="stack"):
        read_pickle(b"\x80\x02" + b"N" * 5000 + b".")
    with pytest.raises(SdcRefusedFile, match="stack"):
        read_pickle(b"\x80\x02" + b"(" * 5000 + b"N.")


def test_deep_nesting_is_refused_before_it_can_overflow() -> None:
    deep = b"\x80\x04)" + b"\x85" * 100_000
    with pytest.raises(SdcRefusedFile, match="nest"):
        read_pickle(deep + b".")
    with pytest.raises(SdcRefusedFile, match="nest"):
        read_pickle(b"\x80\x04}" + deep + b"Ns.")  # as a dict key, which is hashed
    assert read_pickle(b"\x80\x04)" + b"\x85" * 50 + b".").root is not None


def test_deeply_nested_record_dtypes_are_refused() -> None:
    dtype = np.dtype([("leaf", "f8")])
    for _ in range(40):
        dtype = np.dtype([("inner", dtype)])
    with pytest.raises(SdcRefusedFile, match="record dtypes nest"):
        read_pickle(pickle.dumps(dtype, protocol=4))


def test_a_refusal_naming_very_many_globals_stays_one_readable_line() -> None:
    names = b"".join(b"cm%d\nf\n0" % i for i in range(300))
    with pytest.raises(SdcRefusedFile, match=r"m0\.f, m1\.f, .* and 201 more;") as info:
        read_pickle(b"c\x00bad\nx\n0" + names + b"N.")
    message = str(info.value)
    assert message.isprintable() and "\\x00bad.x, m0.f" in message


def test_old_and_lz4_joblib_formats_are_refused() -> None:
    with pytest.raises(SdcRefusedFile, match=r"0\.9\.3"):
        read_joblib(b"ZF0x00000010\nxxxx")
    try:
        import lz4  # noqa: F401
    except ImportError:
        with pytest.raises(SdcRefusedFile, match="lz4"):
            read_joblib(b"\x04\x22\x4d\x18" + bytes(20))


# --------------------------------------------------------------------------------------
# Malformed streams


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_every_truncation_is_an_input_error(protocol: int) -> None:
    data = pickle.dumps(
        {"scaler": model("scaler"), "x": [1.5, "é", b"b", (None, True)], "n": 2**70},
        protocol=protocol,
    )
    for end in range(len(data)):
        with pytest.raises(SdcInputError) as info:
            read_pickle(data[:end])
        assert not isinstance(info.value, SdcRefusedFile)
        assert "at byte" in str(info.value)


@pytest.mark.parametrize("compress", [3, ("gzip", 3), ("bz2", 3), ("xz", 3), ("lzma", 3)], ids=str)
def test_truncated_or_padded_compressed_files_are_input_errors(compress: Any) -> None:
    data = joblib_bytes(model("scaler"), compress)
    for end in range(1, len(data), max(1, len(data) // 40)):
        with pytest.raises(SdcInputError):
            read_joblib(data[:end])
    with pytest.raises(SdcRefusedFile, match="follow the end"):
        read_joblib(data + b"hidden")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\x80\x02\xff.", "unknown opcode 0xff at byte 2"),
        (b"\x80\x06N.", "unsupported pickle protocol"),
        (b"\x80\x04K\x01K\x02\x93.", "STACK_GLOBAL"),
        (b"\x80\x04\x8c\x02osK\x02\x93.", "STACK_GLOBAL"),
        (b"\x80\x02.", "empty stack"),
        (b"\x80\x02R.", "too few values"),
        (b"\x80\x02h\x05.", "memo key 5"),
        (b"\x80\x02e.", "MARK"),
        (b"\x80\x02N\x8b\xff\xff\xff\xff.", "negative"),
        (b"\x80\x02B\xff\xff\xff\x00ab.", "announces"),
        (b"\x80\x02(K\x01d.", "key without a value"),
        (b"\x80\x02K\x01K\x02a.", "not a list"),
        (b"\x80\x02(]]d.", "DICT"),
        (b"S'abc\n.", "not quoted"),
        (b"I12x\n.", "INT"),
        (
            b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00\x95\x01\x00\x00\x00\x00\x00\x00\x00N.",
            "frame",
        ),
    ],
)
def test_malformed_streams_are_input_errors(data: bytes, reason: str) -> None:
    with pytest.raises(SdcInputError, match=reason):
        read_pickle(data)


def test_an_array_shape_that_does_not_match_its_data_is_an_input_error() -> None:
    short = Reduces(_frombuffer, b"\x00" * 8, np.dtype("f8"), (3,), "C")
    with pytest.raises(SdcInputError, match="needs 24 bytes"):
        read_pickle(pickle.dumps(short, protocol=4))
    negative = Reduces(_frombuffer, b"", np.dtype("f8"), (-1,), "C")
    with pytest.raises(SdcInputError, match="shape"):
        read_pickle(pickle.dumps(negative, protocol=4))
    # the _reconstruct form: patch the length of a protocol 3 array's data
    data = pickle.dumps(np.arange(4, dtype="<i8"), protocol=3)
    raw = np.arange(4, dtype="<i8").tobytes()
    patched = data.replace(b"C" + bytes([len(raw)]) + raw, b"C\x08" + raw[:8])
    assert patched != data
    with pytest.raises(SdcInputError, match="needs 32 bytes"):
        read_pickle(patched)


def _read_or_input_error(data: bytes) -> None:
    try:
        contents = read_pickle(data)
    except SdcInputError:
        return
    assert isinstance(contents, PickleContents)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    _read_or_input_error(data)
    _read_or_input_error(b"\x80\x04" + data)


FRAGMENTS = [
    b"(",
    b".",
    b"0",
    b"1",
    b"2",
    b"N",
    b"\x88",
    b")",
    b"]",
    b"}",
    b"\x8f",
    b"t",
    b"l",
    b"d",
    b"a",
    b"e",
    b"s",
    b"u",
    b"\x90",
    b"\x91",
    b"\x85",
    b"\x86",
    b"\x87",
    b"R",
    b"b",
    b"\x81",
    b"\x92",
    b"o",
    b"\x93",
    b"\x94",
    b"h\x00",
    b"h\x01",
    b"q\x00",
    b"K\x07",
    b"J\xff\xff\xff\xff",
    b"G\x3f\xf0\x00\x00\x00\x00\x00\x00",
    b"\x8a\x02\x01\x80",
    b"C\x02ab",
    b"\x8c\x01a",
    u("numpy"),
    u("dtype"),
    u("f8"),
    u("V8"),
    u("O8"),
    u("C"),
    b"cnumpy\ndtype\n",
    b"cnumpy._core.numeric\n_frombuffer\n",
    b"cnumpy._core.multiarray\n_reconstruct\n",
    b"cnumpy\nndarray\n",
    b"c_codecs\nencode\n",
    b"c__builtin__\nset\n",
    b"ccollections\nOrderedDict\n",
    b"ccopy_reg\n_reconstructor\n",
    b"csklearn.tree._tree\nTree\n",
    b"cos\nsystem\n",
]


_JOBLIB_OBJECTS = joblib_bytes({"x": np.array([1, "a", (2,)], dtype=object), "y": np.ones(2)}, 0)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(_JOBLIB_OBJECTS) - 1), st.integers(0, 255))
def test_a_changed_byte_in_a_joblib_object_array_never_raises_anything_else(
    at: int, byte: int
) -> None:
    data = _JOBLIB_OBJECTS[:at] + bytes([byte]) + _JOBLIB_OBJECTS[at + 1 :]
    try:
        read_joblib(data)
    except SdcInputError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_random_opcode_sequences_never_raise_anything_else(fragments: list[bytes]) -> None:
    _read_or_input_error(b"\x80\x04" + b"".join(fragments) + b".")


def test_private_scikit_learn_classes_are_stubs_too() -> None:
    assert allowed("sklearn.ensemble._hist_gradient_boosting.binning._BinMapper")
    assert not allowed("sklearn.utils._private_function")
    assert not allowed("sklearn.__import__")
