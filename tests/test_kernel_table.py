"""One list of kernels: the C table (kernels/fg_kernels.h) is the only place a kernel is
listed; the ufuncs, _ufuncs.KERNELS, the exports and the docstrings follow it, and the
hand-written pieces (the type stubs, the public C kernels) agree with it."""
from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import numpy as np

import fastgelu
from fastgelu import _ufuncs
from fastgelu._docs import UFUNC_DOCS

PACKAGE = Path(fastgelu.__file__).parent
NAMES = [k.name for k in _ufuncs.KERNELS]
# (inputs, outputs) of each shape of fg_kernels.h
SHAPES = {"UNARY": (1, 1), "BINARY": (2, 1), "TERNARY2": (3, 2)}


def c_table():
    """The rows X(c, name, SHAPE) of FG_KERNELS, as (name, nin, nout)."""
    text = (PACKAGE / "kernels" / "fg_kernels.h").read_text()
    body = text[text.index("#define FG_KERNELS(X, c)"):].split("\n\n")[0]
    rows = re.findall(r"X\(c, (\w+), (\w+)\)", body)
    assert rows
    return [(name, *SHAPES[shape]) for name, shape in rows]


def c_tiers():
    """The tiers X(tier) of FG_TIERS and each one's kernel prefix FG_PREFIX_<tier>."""
    text = (PACKAGE / "kernels" / "fg_kernels.h").read_text()
    tiers = re.findall(r"X\((\w+)\)", re.search(r"#define FG_TIERS\(X\) (.*)", text)[1])
    return {t: re.search(rf"#define FG_PREFIX_{t} (\w+)", text)[1] for t in tiers}


# Where each tier's public C kernels are written out, per precision.
C_KERNEL_FILES = {("exact", "f"): "fg_math.h", ("exact", "d"): "fg_math.h",
                  ("fast", "f"): "fg_fast_f32.h", ("fast", "d"): "fg_fast_f64.h"}


def test_kernels_follow_the_c_table():
    assert [tuple(k) for k in _ufuncs.KERNELS] == c_table()
    assert len(set(NAMES)) == len(NAMES)


def test_tiers_follow_the_c_table():
    assert list(_ufuncs.TIERS) == list(c_tiers()) == ["exact", "fast"]
    assert set(_ufuncs.UFUNCS) == set(_ufuncs.TIER_MODULES) == set(_ufuncs.TIERS)
    for tier, module in _ufuncs.TIER_MODULES.items():
        mod = importlib.import_module(module)
        assert list(_ufuncs.UFUNCS[tier]) == NAMES
        for name, uf in _ufuncs.UFUNCS[tier].items():
            assert getattr(mod, name) is uf and uf.__module__ == module
            assert uf.types == getattr(fastgelu, name).types
    # one ufunc object per name and tier
    every = [uf for t in _ufuncs.TIERS for uf in _ufuncs.UFUNCS[t].values()]
    assert len({id(uf) for uf in every}) == 2 * len(NAMES)
    assert fastgelu.fast.__all__ == NAMES


def test_one_ufunc_per_kernel():
    for k in _ufuncs.KERNELS:
        uf = getattr(_ufuncs, k.name)
        assert isinstance(uf, np.ufunc)
        assert getattr(fastgelu, k.name) is uf
        assert uf.__name__ == k.name
        assert (uf.nin, uf.nout) == (k.nin, k.nout)
        # every operand of a loop has the loop's dtype: float16, float32, float64
        assert uf.types == [c * k.nin + "->" + c * k.nout for c in "efd"]
        assert UFUNC_DOCS[k.name] in uf.__doc__


def test_exports_are_the_table():
    assert _ufuncs.__all__ == NAMES
    assert set(NAMES) <= set(fastgelu.__all__)
    assert set(UFUNC_DOCS) == set(NAMES)


def test_fast_stubs_reexport_the_table():
    """fast.pyi re-exports every ufunc of _ufuncs.pyi (typed alike) under its name: a star
    import from a stub re-exports that stub's __all__, the table's names (checked by
    test_stubs_list_the_table), and fast.pyi takes the same __all__."""
    tree = ast.parse((PACKAGE / "fast.pyi").read_text())
    imports = [
        [(a.name, a.asname) for a in node.names]
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "_ufuncs" and node.level == 1
    ]
    assert sorted(imports) == [[("*", None)], [("__all__", "__all__")]]
    assert all(isinstance(node, ast.ImportFrom) for node in tree.body)


def test_stubs_list_the_table():
    """_ufuncs.pyi is written by hand: its __all__ and its `name: _<Shape>UFunc` lines,
    each typed with the class of its row's shape."""
    tree = ast.parse((PACKAGE / "_ufuncs.pyi").read_text())
    classes = {"_UnaryUFunc": (1, 1), "_BinaryUFunc": (2, 1), "_Ternary2UFunc": (3, 2)}
    declared, exported = {}, None
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and ast.unparse(node.annotation) in classes:
            declared[node.target.id] = classes[ast.unparse(node.annotation)]
        elif isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "__all__":
            exported = ast.literal_eval(node.value)
    assert sorted(exported) == sorted(declared) == sorted(NAMES)
    assert declared == {k.name: (k.nin, k.nout) for k in _ufuncs.KERNELS}


def test_public_c_kernels_are_written_out():
    """<prefix><name>_f and _d of every row and tier (fg_gelu_f, fg_fast_gelu_f, ...) are
    defined by name in their tier's header (so that grep finds them), not made by token
    pasting."""
    for tier, prefix in c_tiers().items():
        for sfx in "fd":
            text = (PACKAGE / "kernels" / C_KERNEL_FILES[tier, sfx]).read_text()
            for name in NAMES:
                assert re.search(rf"^FG_INLINE \w+ {prefix}{name}_{sfx}\(", text, re.M), (
                    tier, name, sfx)
