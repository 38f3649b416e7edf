"""One owner for each fact: the copies that must agree with their owner do."""

import ast
import inspect
from pathlib import Path

import skimdb
import skimdb.persistence
from skimdb.network._params import DEFAULTS, PARAMETER_CONSTRAINTS


def _defaults(cls):
    return {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self"
    }


def test_imdbnet_signature_is_its_tensorflow_free_defaults_table():
    from skimdb.network import IMDBNet

    assert _defaults(IMDBNet) == DEFAULTS
    assert set(DEFAULTS) == set(PARAMETER_CONSTRAINTS)


def _string_constants(path):
    """The str constants of a module, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    }


def test_persistence_names_no_estimators_attribute_or_parameter():
    from skimdb import MultiHotVectorizer, NBLogCountRatio, ReviewEncoder
    from skimdb._preprocessing_state import _MULTI_HOT_STATE, _RATIO_STATE
    from skimdb._text_state import _ENCODER_STATE

    names = set(DEFAULTS) | set(_MULTI_HOT_STATE) | set(_RATIO_STATE)
    names |= set(_ENCODER_STATE) | {"model_", "weights_", "history_", "X_dtype_"}
    for cls in (MultiHotVectorizer, NBLogCountRatio, ReviewEncoder):
        names |= set(_defaults(cls))
    # a Pipeline's own fields, and the codec's "dtype" of an array
    names -= {"verbose", "dtype"}
    folder = Path(skimdb.persistence.__file__).parent
    for path in folder.glob("*.py"):
        found = names & _string_constants(path)
        assert not found, f"{path.name} names {sorted(found)}"
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in (
                "isinstance",
                "issubclass",
            ):
                kinds = ast.unparse(node.args[1])
                assert not any(
                    cls in kinds
                    for cls in ("IMDBNet", "MultiHot", "NBLog", "ReviewEncoder")
                ), f"{path.name}: {ast.unparse(node)}"


def _code_lines(node, lines):
    body = node.body
    skip = set()
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
    ):
        skip = set(range(body[0].lineno, body[0].end_lineno + 1))
    return sum(
        1
        for i in range(node.lineno, node.end_lineno + 1)
        if i not in skip
        and lines[i - 1].strip()
        and not lines[i - 1].strip().startswith("#")
    )


def test_modules_and_functions_stay_small():
    # the bound: a module of at most 900 lines, a function of at most 80
    # lines of code (blank lines, comments and docstrings not counted)
    root = Path(skimdb.__file__).parent
    too_long = []
    for path in sorted(root.rglob("*.py")):
        lines = path.read_text().splitlines()
        if len(lines) > 900:
            too_long.append(f"{path.relative_to(root)}: {len(lines)} lines")
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if (n := _code_lines(node, lines)) > 80:
                    too_long.append(f"{path.relative_to(root)}:{node.name}: {n}")
    assert not too_long
